/*
 * rcpt_plan.c - the end-of-message recipient edits of one message: dedupe,
 * self-map, ORCPT xtext, NOTIFY without SUCCESS, route-free deletes.
 *
 * Owns copies of everything recorded for the current message; see
 * rcpt_plan.h for the rules and why they exist.
 */
#include "rcpt_plan.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

/* A set of case-folded strings (open addressing, linear probing over
 * util_hash, as the table's index). */
struct strset {
    char **slots;
    size_t cap; /* power of two, or 0 */
    size_t used;
};

struct rcpt_plan {
    struct strset present; /* folded addresses delivered in this message */
    struct strset wanted;  /* folded targets of all rewrites (finish only) */
    struct rcpt_rewrite *rw;
    size_t nrw, caprw;
    struct rcpt_edit *ed;
    size_t ned, caped;
    char **owned; /* edit strings to free at reset */
    size_t nowned, capowned;
};

static char *copy_folded(const char *s)
{
    size_t n = strlen(s);
    char *out = malloc(n + 1);

    if (out == NULL)
        return NULL;
    for (size_t i = 0; i <= n; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    return out;
}

/* strset_slot - the slot holding folded, or the empty one where it goes
 * (set->cap > 0). */
static size_t strset_slot(const struct strset *set, const char *folded)
{
    size_t i = util_hash(folded, strlen(folded)) & (set->cap - 1);

    while (set->slots[i] != NULL && strcmp(set->slots[i], folded) != 0)
        i = (i + 1) & (set->cap - 1);
    return i;
}

/* Whether s (compared case-insensitively) is in set; -1 when out of memory. */
static int strset_contains(const struct strset *set, const char *s)
{
    char *folded;
    int rc;

    if (set->cap == 0)
        return 0;
    if ((folded = copy_folded(s)) == NULL)
        return -1;
    rc = set->slots[strset_slot(set, folded)] != NULL;
    free(folded);
    return rc;
}

/* Twice the slots, the strings placed again; -1 when out of memory. */
static int strset_grow(struct strset *set)
{
    size_t ncap = set->cap == 0 ? 16 : set->cap * 2;
    char **nslots = calloc(ncap, sizeof *nslots);
    struct strset old = *set;

    if (nslots == NULL)
        return -1;
    set->slots = nslots;
    set->cap = ncap;
    for (size_t i = 0; i < old.cap; i++)
        if (old.slots[i] != NULL)
            set->slots[strset_slot(set, old.slots[i])] = old.slots[i];
    free(old.slots);
    return 0;
}

/* Adds s (folded copy) unless present.  Returns 1 added, 0 present, -1 ENOMEM. */
static int strset_add(struct strset *set, const char *s)
{
    char *folded = copy_folded(s);
    int rc = -1;

    if (folded == NULL)
        return -1;
    if (set->cap > 0 && set->slots[strset_slot(set, folded)] != NULL) {
        rc = 0;
        goto out;
    }
    if ((set->used + 1) * 2 > set->cap && strset_grow(set) < 0)
        goto out;
    set->slots[strset_slot(set, folded)] = folded;
    set->used++;
    folded = NULL;
    rc = 1;
out:
    free(folded);
    return rc;
}

static void strset_clear(struct strset *set)
{
    for (size_t i = 0; i < set->cap; i++) {
        free(set->slots[i]);
        set->slots[i] = NULL;
    }
    set->used = 0;
}

static void strset_free(struct strset *set)
{
    strset_clear(set);
    free(set->slots);
    set->slots = NULL;
    set->cap = 0;
}

enum rcpt_mta rcpt_plan_mta(const char *v)
{
    if (v == NULL || *v == '\0')
        return RCPT_MTA_UNKNOWN;
    if (strncmp(v, "Postfix", 7) == 0)
        return RCPT_MTA_POSTFIX;
    if (isdigit((unsigned char)v[0]))
        return RCPT_MTA_SENDMAIL;
    return RCPT_MTA_UNKNOWN;
}

struct rcpt_plan *rcpt_plan_new(void)
{
    return calloc(1, sizeof(struct rcpt_plan));
}

static void rewrite_free(struct rcpt_rewrite *r)
{
    free(r->rcpt);
    free(r->address);
    free(r->rule);
    for (size_t i = 0; i < r->ntargets; i++)
        free(r->targets[i]);
    free(r->targets);
    free(r->args);
    memset(r, 0, sizeof *r);
}

void rcpt_plan_reset(struct rcpt_plan *p)
{
    if (p == NULL)
        return;
    strset_clear(&p->present);
    strset_clear(&p->wanted);
    for (size_t i = 0; i < p->nrw; i++)
        rewrite_free(&p->rw[i]);
    p->nrw = 0;
    for (size_t i = 0; i < p->nowned; i++)
        free(p->owned[i]);
    p->nowned = 0;
    p->ned = 0;
}

void rcpt_plan_free(struct rcpt_plan *p)
{
    if (p == NULL)
        return;
    rcpt_plan_reset(p);
    strset_free(&p->present);
    strset_free(&p->wanted);
    free(p->rw);
    free(p->ed);
    free(p->owned);
    free(p);
}

int rcpt_plan_keep(struct rcpt_plan *p, const char *address)
{
    if (address == NULL || *address == '\0')
        return 0;
    return strset_add(&p->present, address) < 0 ? -1 : 0;
}

/*
 * Where the source route of an RCPT argument is: rcpt[*start, *end) is
 * "@a,@b:" (empty when there is none).  *start is just after a leading '<'.
 * A ':' inside an address literal ("@[IPv6:::1]") does not end the route.
 */
static void find_route(const char *rcpt, size_t *start, size_t *end)
{
    size_t i = rcpt[0] == '<' ? 1 : 0;
    int depth = 0;

    *start = *end = i;
    if (rcpt[i] != '@')
        return;
    for (; rcpt[i] != '\0' && rcpt[i] != '>'; i++) {
        if (rcpt[i] == '[')
            depth++;
        else if (rcpt[i] == ']' && depth > 0)
            depth--;
        else if (rcpt[i] == ':' && depth == 0) {
            *end = i + 1;
            return;
        }
    }
}

/* rcpt with rcpt[start, end) cut out; NULL when out of memory. */
static char *cut(const char *rcpt, size_t start, size_t end)
{
    size_t n = strlen(rcpt);
    char *out = malloc(n - (end - start) + 1);

    if (out == NULL)
        return NULL;
    memcpy(out, rcpt, start);
    memcpy(out + start, rcpt + end, n - end + 1);
    return out;
}

/* xtext (RFC 3461 4): '+', '=' and bytes outside '!'..'~' as +XX. */
static size_t xtext(char *dst, const char *src, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c == '+' || c == '=' || c < '!' || c > '~') {
            dst[n++] = '+';
            dst[n++] = hex[c >> 4];
            dst[n++] = hex[c & 0xf];
        } else {
            dst[n++] = (char)c;
        }
    }
    dst[n] = '\0';
    return n;
}

/* "ORCPT=rfc822;" + xtext of rcpt without brackets, route and the white
 * space around the address (Sendmail hands "<a@b >" over as sent). */
static char *default_orcpt(const char *rcpt)
{
    static const char prefix[] = "ORCPT=rfc822;";
    size_t start, end, len, n = strlen(rcpt);
    char *out;

    find_route(rcpt, &start, &end);
    len = n - end;
    if (rcpt[0] == '<' && len > 0 && rcpt[n - 1] == '>')
        len--;
    while (len > 0 && (rcpt[end] == ' ' || rcpt[end] == '\t')) {
        end++;
        len--;
    }
    while (len > 0 && (rcpt[end + len - 1] == ' ' || rcpt[end + len - 1] == '\t'))
        len--;
    if ((out = malloc(sizeof prefix - 1 + 3 * len + 1)) == NULL)
        return NULL;
    memcpy(out, prefix, sizeof prefix - 1);
    xtext(out + sizeof prefix - 1, rcpt + end, len);
    return out;
}

/*
 * valid_orcpt - whether "ORCPT=" + value is what RFC 3461 allows: an atom,
 * ';', and xtext ('!'..'~' but '+' and '=', or "+" and two upper-case hex
 * digits), at most 500 characters.  The MTA checked it already; the milter
 * passes on no bytes from the wire that it has not checked itself.
 */
static bool valid_orcpt(const char *arg)
{
    const char *v = arg + 6, *semi = strchr(v, ';');
    size_t n = strlen(v);

    if (semi == NULL || semi == v || n > 500)
        return false;
    for (const char *p = v; p < semi; p++)
        if (!isalnum((unsigned char)*p) && *p != '-')
            return false;
    for (const char *p = semi + 1; *p != '\0'; p++) {
        if (*p == '+') {
            if (!isxdigit((unsigned char)p[1]) || !isxdigit((unsigned char)p[2]) ||
                islower((unsigned char)p[1]) || islower((unsigned char)p[2]))
                return false;
            p += 2;
        } else if (*p < '!' || *p > '~' || *p == '=') {
            return false;
        }
    }
    return semi[1] != '\0';
}

/* "NOTIFY=" + the client's list without SUCCESS, or NEVER. */
static char *notify_without_success(const char *value)
{
    size_t n = strlen(value);
    char *out = malloc(sizeof "NOTIFY=" - 1 + (n > 5 ? n : 5) + 1);
    size_t len = sizeof "NOTIFY=" - 1;
    const char *s = value;

    if (out == NULL)
        return NULL;
    memcpy(out, "NOTIFY=", len);
    while (*s != '\0') {
        size_t k = strcspn(s, ",");
        if (k > 0 && !(k == 7 && strncasecmp(s, "SUCCESS", 7) == 0)) {
            if (len > sizeof "NOTIFY=" - 1)
                out[len++] = ',';
            memcpy(out + len, s, k);
            len += k;
        }
        s += k;
        if (*s == ',')
            s++;
    }
    if (len == sizeof "NOTIFY=" - 1) {
        memcpy(out + len, "NEVER", 5);
        len += 5;
    }
    out[len] = '\0';
    return out;
}

/* The addrcpt_par arguments for a rewrite of rcpt with the client's args. */
static char *build_args(const char *rcpt, char *const *args)
{
    const char *orcpt = NULL, *notify = NULL;
    char *o = NULL, *nt = NULL, *out = NULL;
    size_t lo, ln;

    for (size_t i = 0; args != NULL && args[i] != NULL; i++) {
        if (strncasecmp(args[i], "ORCPT=", 6) == 0 && orcpt == NULL)
            orcpt = args[i];
        else if (strncasecmp(args[i], "NOTIFY=", 7) == 0 && notify == NULL)
            notify = args[i] + 7;
    }
    /* only the first ORCPT counts, as for the MTA; a malformed one is
     * replaced, not searched past */
    o = orcpt != NULL && valid_orcpt(orcpt) ? strdup(orcpt) : default_orcpt(rcpt);
    if (o == NULL)
        goto out;
    if (notify != NULL && (nt = notify_without_success(notify)) == NULL)
        goto out;
    lo = strlen(o);
    ln = nt != NULL ? strlen(nt) : 0;
    if ((out = malloc(lo + 1 + ln + 1)) == NULL)
        goto out;
    memcpy(out, o, lo + 1);
    if (nt != NULL) {
        out[lo] = ' ';
        memcpy(out + lo + 1, nt, ln + 1);
    }
out:
    free(o);
    free(nt);
    return out;
}

int rcpt_plan_rewrite(struct rcpt_plan *p, const char *rcpt, const char *address, char *const *args,
                      const char *rule, const char *const *targets, size_t ntargets)
{
    struct rcpt_rewrite r = {0};

    if (util_grow((void **)&p->rw, &p->caprw, p->nrw + 1, sizeof *p->rw) < 0)
        return -1;
    r.rcpt = strdup(rcpt);
    r.address = strdup(address);
    r.rule = strdup(rule != NULL ? rule : "");
    r.args = build_args(rcpt, args);
    r.targets = calloc(ntargets > 0 ? ntargets : 1, sizeof *r.targets);
    if (r.rcpt == NULL || r.address == NULL || r.rule == NULL || r.args == NULL ||
        r.targets == NULL)
        goto fail;
    for (; r.ntargets < ntargets; r.ntargets++)
        if ((r.targets[r.ntargets] = strdup(targets[r.ntargets])) == NULL)
            goto fail;
    p->rw[p->nrw++] = r;
    return 0;
fail:
    rewrite_free(&r);
    return -1;
}

/* Appends an edit; s becomes owned by the plan (freed even on failure). */
static int add_edit(struct rcpt_plan *p, enum rcpt_edit_kind kind, char *s, char *args,
                    size_t rewrite)
{
    if (s == NULL)
        return -1;
    if (util_grow((void **)&p->owned, &p->capowned, p->nowned + 1, sizeof *p->owned) < 0) {
        free(s);
        return -1;
    }
    p->owned[p->nowned++] = s;
    if (util_grow((void **)&p->ed, &p->caped, p->ned + 1, sizeof *p->ed) < 0)
        return -1;
    p->ed[p->ned++] = (struct rcpt_edit){kind, s, args, rewrite};
    return 0;
}

static char *bracketed(const char *target)
{
    size_t n = strlen(target);
    char *out = malloc(n + 3);

    if (out == NULL)
        return NULL;
    out[0] = '<';
    memcpy(out + 1, target, n);
    out[n + 1] = '>';
    out[n + 2] = '\0';
    return out;
}

static bool already_deleted(const struct rcpt_plan *p, const char *s)
{
    for (size_t i = 0; i < p->ned; i++)
        if (p->ed[i].kind == RCPT_EDIT_DELETE && strcmp(p->ed[i].rcpt, s) == 0)
            return true;
    return false;
}

static int add_delete(struct rcpt_plan *p, const char *s, size_t rewrite)
{
    if (already_deleted(p, s))
        return 0;
    return add_edit(p, RCPT_EDIT_DELETE, strdup(s), NULL, rewrite);
}

int rcpt_plan_finish(struct rcpt_plan *p, enum rcpt_mta mta)
{
    size_t i, j;

    /* An original that some rewrite of this message targets stays. */
    for (i = 0; i < p->nrw; i++)
        for (j = 0; j < p->rw[i].ntargets; j++)
            if (strset_add(&p->wanted, p->rw[i].targets[j]) < 0)
                return -1;
    for (i = 0; i < p->nrw; i++) {
        int wanted = strset_contains(&p->wanted, p->rw[i].address);
        if (wanted < 0)
            return -1;
        p->rw[i].keep_original = wanted;
        p->rw[i].nadded = 0;
        if (p->rw[i].keep_original && strset_add(&p->present, p->rw[i].address) < 0)
            return -1;
    }
    for (i = 0; i < p->nrw; i++) {
        for (j = 0; j < p->rw[i].ntargets; j++) {
            int added = strset_add(&p->present, p->rw[i].targets[j]);
            if (added < 0)
                return -1;
            if (added == 0)
                continue;
            if (add_edit(p, RCPT_EDIT_ADD, bracketed(p->rw[i].targets[j]), p->rw[i].args, i) < 0)
                return -1;
            p->rw[i].nadded++;
        }
    }
    for (i = 0; i < p->nrw; i++) {
        const char *rcpt = p->rw[i].rcpt;
        size_t start, end;

        if (p->rw[i].keep_original)
            continue;
        find_route(rcpt, &start, &end);
        if (mta != RCPT_MTA_POSTFIX && add_delete(p, rcpt, i) < 0)
            return -1;
        if (mta != RCPT_MTA_SENDMAIL && (mta == RCPT_MTA_POSTFIX || end > start)) {
            char *stripped = cut(rcpt, start, end);
            int rc;

            if (stripped == NULL)
                return -1;
            rc = add_delete(p, stripped, i);
            free(stripped);
            if (rc < 0)
                return -1;
        }
    }
    return 0;
}

size_t rcpt_plan_rewrite_count(const struct rcpt_plan *p)
{
    return p->nrw;
}

const struct rcpt_rewrite *rcpt_plan_rewrite_at(const struct rcpt_plan *p, size_t i)
{
    return i < p->nrw ? &p->rw[i] : NULL;
}

size_t rcpt_plan_edit_count(const struct rcpt_plan *p)
{
    return p->ned;
}

const struct rcpt_edit *rcpt_plan_edit_at(const struct rcpt_plan *p, size_t i)
{
    return i < p->ned ? &p->ed[i] : NULL;
}
