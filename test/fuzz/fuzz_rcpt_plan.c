/*
 * fuzz_rcpt_plan.c - libFuzzer target for the per-message edit plan
 * (rcpt_plan.c): its parsing of the client's ESMTP arguments (ORCPT=,
 * NOTIFY=), the source-route cut of the delete string, and the dedupe.
 *
 * Input: lines, one RCPT each.  The first byte of a line chooses keep or
 * rewrite and which targets (from a small pool that includes the address
 * itself, to reach the self-map rule); the rest is argv split at spaces,
 * as libmilter hands it over (NUL-terminated strings).  The plan is
 * finished for each MTA in turn (reset and reused in between) and every
 * edit is checked against the rules of rcpt_plan.h.
 */
#include <stdbool.h>
#include <strings.h>

#include "fuzz_common.h"
#include "rcpt_plan.h"

#define MAX_RCPTS 64
#define MAX_ARGS 16

static const char *const pool[] = {"bob@corp.example", "Bob@corp.example", "carol@corp.example",
                                   "x+ext@corp.example", "\"odd one\"@corp.example"};
#define NPOOL (sizeof(pool) / sizeof(pool[0]))

struct rcpt {
    char *argv[MAX_ARGS + 1];
    char address[ADDR_TEXT_MAX + 1];
    bool rewrite;
    const char *targets[NPOOL + 1];
    size_t ntargets;
};

/* The delete string of rcpt for Postfix: the source route cut out. */
static void route_cut(const char *rcpt, char *out, size_t outsz)
{
    size_t i = rcpt[0] == '<' ? 1 : 0, end = i;
    int depth = 0;

    if (rcpt[i] == '@') {
        for (size_t k = i; rcpt[k] != '\0' && rcpt[k] != '>'; k++) {
            if (rcpt[k] == '[')
                depth++;
            else if (rcpt[k] == ']' && depth > 0)
                depth--;
            else if (rcpt[k] == ':' && depth == 0) {
                end = k + 1;
                break;
            }
        }
    }
    snprintf(out, outsz, "%.*s%s", (int)i, rcpt, rcpt + end);
}

static bool has_success(const char *notify)
{
    const char *s = notify;

    while (*s != '\0') {
        size_t k = strcspn(s, ", ");
        if (k == 7 && strncasecmp(s, "SUCCESS", 7) == 0)
            return true;
        s += k;
        if (*s != '\0')
            s++;
    }
    return false;
}

static const char *client_arg(char *const *argv, const char *name)
{
    size_t n = strlen(name);

    for (size_t i = 1; argv[i] != NULL; i++)
        if (strncasecmp(argv[i], name, n) == 0)
            return argv[i];
    return NULL;
}

static void check_plan(struct rcpt_plan *p, const struct rcpt *rc, size_t n, enum rcpt_mta mta,
                       const size_t *rw_of)
{
    size_t nedits = rcpt_plan_edit_count(p), nrw = rcpt_plan_rewrite_count(p), adds = 0;
    bool seen_delete = false;
    char cutbuf[8192];

    for (size_t i = 0; i < nedits; i++) {
        const struct rcpt_edit *e = rcpt_plan_edit_at(p, i);
        const struct rcpt_rewrite *rw;

        CHECK(e != NULL && e->rcpt != NULL && e->rewrite < nrw);
        rw = rcpt_plan_rewrite_at(p, e->rewrite);
        if (e->kind == RCPT_EDIT_ADD) {
            bool found = false;
            CHECK(!seen_delete); /* every add before every delete */
            CHECK(e->args == rw->args && e->args != NULL);
            for (size_t j = 0; j < rw->ntargets && !found; j++) {
                size_t k = strlen(rw->targets[j]);
                found = e->rcpt[0] == '<' && strncmp(e->rcpt + 1, rw->targets[j], k) == 0 &&
                        e->rcpt[k + 1] == '>' && e->rcpt[k + 2] == '\0';
            }
            CHECK(found);
            /* never twice, never what the message delivers already */
            for (size_t j = 0; j < i; j++)
                CHECK(strcasecmp(rcpt_plan_edit_at(p, j)->rcpt, e->rcpt) != 0);
            for (size_t j = 0; j < n; j++)
                if (!rc[j].rewrite && rc[j].address[0] != '\0')
                    CHECK(strncasecmp(e->rcpt + 1, rc[j].address, strlen(rc[j].address)) != 0 ||
                          e->rcpt[strlen(rc[j].address) + 1] != '>');
            adds++;
        } else {
            CHECK(e->kind == RCPT_EDIT_DELETE && e->args == NULL);
            seen_delete = true;
            CHECK(!rw->keep_original);
            route_cut(rw->rcpt, cutbuf, sizeof(cutbuf));
            if (mta == RCPT_MTA_POSTFIX)
                CHECK(strcmp(e->rcpt, cutbuf) == 0);
            else if (mta == RCPT_MTA_SENDMAIL)
                CHECK(strcmp(e->rcpt, rw->rcpt) == 0);
            else
                CHECK(strcmp(e->rcpt, cutbuf) == 0 || strcmp(e->rcpt, rw->rcpt) == 0);
        }
    }
    for (size_t i = 0; i < nrw; i++) {
        const struct rcpt_rewrite *rw = rcpt_plan_rewrite_at(p, i);
        const struct rcpt *src = &rc[rw_of[i]];
        const char *orcpt = client_arg(src->argv, "ORCPT="), *notify = strstr(rw->args, " NOTIFY=");

        adds -= rw->nadded;
        CHECK(strcmp(rw->rcpt, src->argv[0]) == 0 && strcmp(rw->address, src->address) == 0);
        CHECK(strncasecmp(rw->args, "ORCPT=", 6) == 0);
        /* the ORCPT passed on is printable ASCII: the client's own when it
         * is well-formed, else ours, rfc822 + xtext */
        size_t olen = notify != NULL ? (size_t)(notify - rw->args) : strlen(rw->args);
        for (size_t k = 0; k < olen; k++)
            CHECK(rw->args[k] > ' ' && rw->args[k] <= '~');
        if (orcpt == NULL || strlen(orcpt) != olen || strncmp(rw->args, orcpt, olen) != 0) {
            CHECK(strncmp(rw->args, "ORCPT=rfc822;", 13) == 0);
            for (size_t k = 13; k < olen; k++)
                CHECK(rw->args[k] != '=');
        }
        CHECK((notify != NULL) == (client_arg(src->argv, "NOTIFY=") != NULL));
        if (notify != NULL)
            CHECK(!has_success(notify + 8) && notify[8] != '\0');
        /* a recipient that is not kept is deleted (perhaps by an equal one) */
        if (!rw->keep_original) {
            bool deleted = false;
            route_cut(rw->rcpt, cutbuf, sizeof(cutbuf));
            for (size_t j = 0; j < nedits && !deleted; j++) {
                const struct rcpt_edit *e = rcpt_plan_edit_at(p, j);
                deleted = e->kind == RCPT_EDIT_DELETE &&
                          (strcmp(e->rcpt, mta == RCPT_MTA_POSTFIX ? cutbuf : rw->rcpt) == 0);
            }
            CHECK(deleted);
        }
    }
    CHECK(adds == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum rcpt_mta mtas[] = {RCPT_MTA_POSTFIX, RCPT_MTA_SENDMAIL, RCPT_MTA_UNKNOWN};
    struct rcpt *rc = calloc(MAX_RCPTS, sizeof(*rc));
    char *copy = malloc(size + 1);
    struct rcpt_plan *p = rcpt_plan_new();
    size_t n = 0, rw_of[MAX_RCPTS], nrw = 0;
    char *line, *save = NULL;

    CHECK(rc != NULL && copy != NULL && p != NULL);
    memcpy(copy, data, size);
    copy[size] = '\0';
    for (line = strtok_r(copy, "\n", &save); line != NULL && n < MAX_RCPTS;
         line = strtok_r(NULL, "\n", &save)) {
        struct rcpt *r = &rc[n];
        unsigned char sel = (unsigned char)line[0];
        char *arg, *asave = NULL;
        size_t argc = 0;
        struct addr a;

        if (line[1] == '\0')
            continue;
        for (arg = strtok_r(line + 1, " ", &asave); arg != NULL && argc < MAX_ARGS;
             arg = strtok_r(NULL, " ", &asave))
            r->argv[argc++] = arg;
        if (argc == 0)
            continue;
        r->argv[argc] = NULL;
        if (addr_parse(&a, r->argv[0], strlen(r->argv[0]), "+") == ADDR_OK)
            addr_format(&a, true, false, r->address, sizeof(r->address));
        r->rewrite = (sel & 1) != 0 && r->address[0] != '\0';
        for (size_t k = 0; k < NPOOL; k++)
            if (sel & (2u << k))
                r->targets[r->ntargets++] = pool[k];
        if (sel & 0x80 || r->ntargets == 0)
            r->targets[r->ntargets++] = r->address; /* self-map */
        n++;
    }

    for (size_t m = 0; m < sizeof(mtas) / sizeof(mtas[0]); m++) {
        nrw = 0;
        for (size_t i = 0; i < n; i++) {
            if (rc[i].rewrite) {
                CHECK(rcpt_plan_rewrite(p, rc[i].argv[0], rc[i].address, rc[i].argv + 1, "fuzz",
                                        rc[i].targets, rc[i].ntargets) == 0);
                rw_of[nrw++] = i;
            } else {
                CHECK(rcpt_plan_keep(p, rc[i].address) == 0);
            }
        }
        CHECK(rcpt_plan_rewrite_count(p) == nrw);
        CHECK(rcpt_plan_finish(p, mtas[m]) == 0);
        check_plan(p, rc, n, mtas[m], rw_of);
        rcpt_plan_reset(p);
        CHECK(rcpt_plan_edit_count(p) == 0 && rcpt_plan_rewrite_count(p) == 0);
    }
    rcpt_plan_free(p);
    free(copy);
    free(rc);
    return 0;
}
