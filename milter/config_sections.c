/*
 * config_sections.c - domain, mailbox and alias sections into the table
 * builder (see config_sections.h).  Owns the checks of section titles and
 * address values, and the messages that name a duplicate's first owner;
 * the builder owns what is added.
 */
#include "config_sections.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

struct table_loc config_build_loc(const struct config_build *cb, struct config_pos pos)
{
    struct table_loc loc = {NULL, pos.line};

    if (cb->interned != NULL && pos.file < config_lex_nfiles(cb->lex))
        loc.file = cb->interned[pos.file];
    return loc;
}

const char *config_canon_address(const char *text, bool fold, char out[ADDR_TEXT_MAX + 1])
{
    struct addr a;
    enum addr_error err = addr_parse(&a, text, strlen(text), NULL);

    if (err != ADDR_OK)
        return addr_strerror(err);
    if (a.domain_len == 0)
        return "address needs a domain";
    if (addr_format(&a, true, fold, out, ADDR_TEXT_MAX + 1) == 0)
        return "address too long";
    return NULL;
}

/* canon_domain - a hosted domain name, folded, without trailing dot, into
 * out[ADDR_DOMAIN_MAX + 1].  Returns NULL or why it is not one. */
static const char *canon_domain(const char *text, char *out)
{
    size_t n = strlen(text);
    enum addr_error err;

    if (n == 0)
        return "empty domain name";
    if (text[0] == '[')
        return "an address literal cannot be a hosted domain";
    for (const char *p = text; *p != '\0'; p++) {
        if (*p == '@' || *p == '<' || *p == '>' || *p == ':' || *p == ',' || *p == '"' ||
            *p == '\\' || (unsigned char)*p <= ' ')
            return "not a domain name";
    }
    /* too long whatever it holds, as this check has always said */
    if (n > ADDR_DOMAIN_MAX + 5)
        return addr_strerror(ADDR_ERR_DOMAIN_LONG);
    if ((err = addr_parse_domain(text, n, out)) != ADDR_OK)
        return addr_strerror(err);
    return NULL;
}

static struct config_pos sec_pos(const struct config_build *cb, const cfg_t *sec)
{
    return config_lex_map(cb->lex, sec->line);
}

/* ------------------------------------------------------------------ */
/* duplicates of address entries */

/* Where an address entry came from, to name the first owner of a key. */
struct owner {
    const char *kind; /* "mailbox" / "alias" */
    const char *title;
};

/* alias_ok - whether an alias section has targets, all acceptable. */
static bool alias_ok(cfg_t *sec)
{
    char buf[ADDR_TEXT_MAX + 1];
    unsigned n = cfg_size(sec, "to");

    for (unsigned j = 0; j < n; j++) {
        const struct config_located *lv = cfg_getnptr(sec, "to", j);
        if (config_canon_address(lv->text, false, buf) != NULL)
            return false;
    }
    return n > 0;
}

/*
 * first_owner - the first mailbox/secondary/alias of cfg whose folded
 * canonical form is key (what the builder kept).  Only called when the
 * builder reports a duplicate, so a linear scan is fine.
 */
static bool first_owner(cfg_t *cfg, const char *key, struct owner *o)
{
    static const struct {
        const char *kind, *list;
    } kinds[] = {{"mailbox", "addresses"}, {"alias", NULL}};
    char buf[ADDR_TEXT_MAX + 1];

    for (size_t k = 0; k < 2; k++) {
        for (unsigned i = 0; i < cfg_size(cfg, kinds[k].kind); i++) {
            cfg_t *sec = cfg_getnsec(cfg, kinds[k].kind, i);
            const char *title = cfg_title(sec);
            bool hit;

            /* only what was added: a valid title, and for an alias valid targets */
            if (config_canon_address(title, true, buf) != NULL ||
                (kinds[k].list == NULL && !alias_ok(sec)))
                continue;
            hit = strcmp(buf, key) == 0;
            for (unsigned j = 0; !hit && kinds[k].list && j < cfg_size(sec, kinds[k].list); j++) {
                const struct config_located *lv = cfg_getnptr(sec, kinds[k].list, j);
                hit = config_canon_address(lv->text, true, buf) == NULL && strcmp(buf, key) == 0;
            }
            if (hit) {
                *o = (struct owner){kinds[k].kind, title};
                return true;
            }
        }
    }
    return false;
}

/* add_entry - add one address entry and report a duplicate; what names it
 * ("secondary address x of mailbox y").  Returns -1 only when out of memory. */
static int add_entry(struct config_build *cb, cfg_t *cfg, enum table_kind kind, const char *canon,
                     const char *const *targets, size_t ntargets, struct config_pos pos,
                     const char *what)
{
    struct table_loc prev = {NULL, 0};
    char key[ADDR_TEXT_MAX + 1];
    struct diag_loc at = config_lex_loc(cb->lex, pos);
    struct owner o;
    const char *pf;
    int rc = table_builder_add_entry(cb->b, kind, canon, targets, ntargets,
                                     config_build_loc(cb, pos), &prev);

    if (rc < 0) {
        cb->oom = true;
        return -1;
    }
    if (rc == 0)
        return 0;
    pf = prev.file ? prev.file : "?";
    if (config_canon_address(canon, true, key) == NULL && first_owner(cfg, key, &o))
        diag_add_loc(cb->d, DIAG_ERROR, at, "%s is already claimed by %s %s at %s:%u%s", what,
                     o.kind, o.title, pf, prev.line,
                     config_lex_again(cb->lex, pos, prev.file, prev.line));
    else
        diag_add_loc(cb->d, DIAG_ERROR, at, "%s is already defined at %s:%u%s", what, pf, prev.line,
                     config_lex_again(cb->lex, pos, prev.file, prev.line));
    return 0;
}

/* ------------------------------------------------------------------ */
/* domain sections */

/* Folded name of a domain section, for the duplicate check. */
struct domain_ref {
    char name[ADDR_DOMAIN_MAX + 1];
    unsigned index;
    bool ok, dup;
};

static int cmp_domain_ref(const void *a, const void *b)
{
    const struct domain_ref *x = a, *y = b;
    int r = strcmp(x->name, y->name);

    return r != 0 ? r : (x->index > y->index) - (x->index < y->index);
}

/* check_domains - the n domain titles of cfg into refs: canonical names,
 * and every problem reported (a bad name, a duplicate after folding);
 * sorted is scratch space for n refs. */
static void check_domains(struct config_build *cb, cfg_t *cfg, struct domain_ref *refs,
                          struct domain_ref *sorted, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        cfg_t *sec = cfg_getnsec(cfg, "domain", i);
        const char *why = canon_domain(cfg_title(sec), refs[i].name);

        refs[i].index = i;
        refs[i].ok = why == NULL;
        if (why != NULL)
            diag_add_loc(cb->d, DIAG_ERROR, config_lex_loc(cb->lex, sec_pos(cb, sec)),
                         "domain \"%s\": %s", cfg_title(sec), why);
    }
    /* "Example.ORG" and "example.org." are distinct titles to libconfuse;
     * sorted by (name, index), each run's first member is the original */
    memcpy(sorted, refs, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), cmp_domain_ref);
    for (unsigned i = 0, j; i < n; i = j) {
        struct config_pos first = sec_pos(cb, cfg_getnsec(cfg, "domain", sorted[i].index));
        const char *ff = config_lex_file(cb->lex, first.file);

        for (j = i + 1;
             j < n && sorted[i].ok && sorted[j].ok && strcmp(sorted[i].name, sorted[j].name) == 0;
             j++) {
            cfg_t *sec = cfg_getnsec(cfg, "domain", sorted[j].index);
            struct config_pos pos = sec_pos(cb, sec);

            refs[sorted[j].index].dup = true;
            diag_add_loc(cb->d, DIAG_ERROR, config_lex_loc(cb->lex, pos),
                         "domain \"%s\" is already defined at %s:%u%s", cfg_title(sec),
                         ff ? ff : "?", first.line, config_lex_again(cb->lex, pos, ff, first.line));
        }
    }
}

/* report_set - the outcome rc of a table_builder_set_* call for the
 * setting `what` of domain at pos.  Returns -1 only when out of memory. */
static int report_set(struct config_build *cb, int rc, struct config_pos pos, const char *domain,
                      const char *what, const struct table_loc *prev)
{
    struct diag_loc at = config_lex_loc(cb->lex, pos);

    if (rc == 1)
        diag_add_loc(cb->d, DIAG_ERROR, at, "domain %s: %s is already set at %s:%u", domain, what,
                     prev->file ? prev->file : "?", prev->line);
    else if (rc == -2)
        diag_add_loc(cb->d, DIAG_ERROR, at, "domain %s: not declared", domain);
    else if (rc < 0) {
        cb->oom = true;
        return -1;
    }
    return 0;
}

/* domain_setting - check one address-valued setting of domain name (a
 * domain name when is_domain) and set it.  Returns -1 only when out of
 * memory. */
static int domain_setting(struct config_build *cb, cfg_t *sec, const char *name, const char *what)
{
    const struct config_located *lv = cfg_getptr(sec, what);
    bool is_domain = strcmp(what, "alias_domain") == 0;
    char buf[ADDR_TEXT_MAX + 1];
    const char *target = buf, *why;
    struct table_loc loc, prev;
    int rc;

    if (lv == NULL)
        return 0;
    why = is_domain ? canon_domain(lv->text, buf) : config_canon_address(lv->text, false, buf);
    if (why != NULL) {
        diag_add_loc(cb->d, DIAG_ERROR, config_lex_loc(cb->lex, lv->pos),
                     "domain %s: %s \"%s\": %s", name, what, lv->text, why);
        return 0;
    }
    loc = config_build_loc(cb, lv->pos);
    if (is_domain)
        rc = table_builder_set_alias_domain(cb->b, name, buf, loc, &prev);
    else if (strcmp(what, "catch_all") == 0)
        rc = table_builder_set_catch_all(cb->b, name, &target, 1, loc, &prev);
    else
        rc = table_builder_set_postmaster(cb->b, name, buf, loc, &prev);
    return report_set(cb, rc, lv->pos, name, what, &prev);
}

/* add_domain - declare one checked domain section and set what it sets.
 * Returns -1 only when out of memory. */
static int add_domain(struct config_build *cb, cfg_t *sec, const char *name)
{
    static const char *const settings[] = {"postmaster", "alias_domain", "catch_all"};
    struct config_pos pos = sec_pos(cb, sec);
    struct table_loc prev;
    long unknown;

    if (table_builder_add_domain(cb->b, name, config_build_loc(cb, pos)) != 0) {
        cb->oom = true;
        return -1;
    }
    for (size_t k = 0; k < sizeof(settings) / sizeof(settings[0]); k++)
        if (domain_setting(cb, sec, name, settings[k]) != 0)
            return -1;
    if ((unknown = cfg_getint(sec, "unknown_recipient")) == CONFIG_UNKNOWN_INHERIT)
        return 0;
    return report_set(cb,
                      table_builder_set_unknown(cb->b, name, (enum unknown_action)unknown,
                                                config_build_loc(cb, pos), &prev),
                      pos, name, "unknown_recipient", &prev);
}

static int add_domains(struct config_build *cb, cfg_t *cfg)
{
    unsigned n = cfg_size(cfg, "domain");
    struct domain_ref *refs = NULL, *sorted = NULL;
    int rc = -1;

    if (n == 0)
        return 0;
    if ((refs = calloc(n, sizeof(*refs))) == NULL ||
        (sorted = malloc(n * sizeof(*sorted))) == NULL) {
        cb->oom = true;
        goto out;
    }
    check_domains(cb, cfg, refs, sorted, n);
    for (unsigned i = 0; i < n; i++)
        if (refs[i].ok && !refs[i].dup &&
            add_domain(cb, cfg_getnsec(cfg, "domain", i), refs[i].name) != 0)
            goto out;
    rc = 0;
out:
    free(refs);
    free(sorted);
    return rc;
}

/* ------------------------------------------------------------------ */
/* mailbox and alias sections */

static int add_mailbox(struct config_build *cb, cfg_t *cfg, cfg_t *sec)
{
    const char *title = cfg_title(sec), *why;
    struct config_pos pos = sec_pos(cb, sec);
    char mbox[ADDR_TEXT_MAX + 1], buf[ADDR_TEXT_MAX + 1];
    char what[2 * ADDR_TEXT_MAX + 64];
    const char *target = mbox;
    bool ok;

    if ((why = config_canon_address(title, false, mbox)) != NULL)
        diag_add_loc(cb->d, DIAG_ERROR, config_lex_loc(cb->lex, pos), "mailbox \"%s\": %s", title,
                     why);
    ok = why == NULL;
    snprintf(what, sizeof(what), "mailbox %s", title);
    if (ok && add_entry(cb, cfg, TABLE_MAILBOX, mbox, NULL, 0, pos, what) != 0)
        return -1;
    for (unsigned j = 0; j < cfg_size(sec, "addresses"); j++) {
        const struct config_located *lv = cfg_getnptr(sec, "addresses", j);

        if ((why = config_canon_address(lv->text, false, buf)) != NULL) {
            diag_add_loc(cb->d, DIAG_ERROR, config_lex_loc(cb->lex, lv->pos),
                         "mailbox %s: secondary address \"%s\": %s", title, lv->text, why);
            continue;
        }
        if (!ok)
            continue;
        snprintf(what, sizeof(what), "secondary address %s of mailbox %s", lv->text, title);
        if (add_entry(cb, cfg, TABLE_SECONDARY, buf, &target, 1, lv->pos, what) != 0)
            return -1;
    }
    return 0;
}

/* add_alias - one alias section; targets and ptrs have room for all of
 * its `to` values.  Returns -1 only when out of memory. */
static int add_alias(struct config_build *cb, cfg_t *cfg, cfg_t *sec,
                     char (*targets)[ADDR_TEXT_MAX + 1], const char **ptrs)
{
    const char *title = cfg_title(sec), *why;
    struct config_pos pos = sec_pos(cb, sec);
    unsigned n = cfg_size(sec, "to"), good = 0;
    char addr[ADDR_TEXT_MAX + 1];
    char what[ADDR_TEXT_MAX + 64];
    bool ok;

    if ((why = config_canon_address(title, false, addr)) != NULL)
        diag_add_loc(cb->d, DIAG_ERROR, config_lex_loc(cb->lex, pos), "alias \"%s\": %s", title,
                     why);
    ok = why == NULL;
    if (n == 0) {
        diag_add_loc(cb->d, DIAG_ERROR, config_lex_loc(cb->lex, pos),
                     "alias %s: needs at least one target in `to`", title);
        return 0;
    }
    for (unsigned j = 0; j < n; j++) {
        const struct config_located *lv = cfg_getnptr(sec, "to", j);

        if ((why = config_canon_address(lv->text, false, targets[good])) != NULL) {
            diag_add_loc(cb->d, DIAG_ERROR, config_lex_loc(cb->lex, lv->pos),
                         "alias %s: target \"%s\": %s", title, lv->text, why);
            ok = false;
            continue;
        }
        ptrs[good] = targets[good];
        good++;
    }
    snprintf(what, sizeof(what), "alias %s", title);
    if (ok && add_entry(cb, cfg, TABLE_ALIAS, addr, ptrs, good, pos, what) != 0)
        return -1;
    return 0;
}

static int add_aliases(struct config_build *cb, cfg_t *cfg)
{
    char(*targets)[ADDR_TEXT_MAX + 1] = NULL;
    const char **ptrs = NULL;
    unsigned most = 0;
    int rc = -1;

    for (unsigned i = 0; i < cfg_size(cfg, "alias"); i++) {
        unsigned n = cfg_size(cfg_getnsec(cfg, "alias", i), "to");
        most = n > most ? n : most;
    }
    if (most > 0 && ((targets = malloc(most * sizeof(*targets))) == NULL ||
                     (ptrs = malloc(most * sizeof(*ptrs))) == NULL)) {
        cb->oom = true;
        goto out;
    }
    for (unsigned i = 0; i < cfg_size(cfg, "alias"); i++)
        if (add_alias(cb, cfg, cfg_getnsec(cfg, "alias", i), targets, ptrs) != 0)
            goto out;
    rc = 0;
out:
    free(targets);
    free(ptrs);
    return rc;
}

int config_sections_add(struct config_build *cb, cfg_t *cfg)
{
    if (add_domains(cb, cfg) != 0)
        return -1;
    for (unsigned i = 0; i < cfg_size(cfg, "mailbox"); i++)
        if (add_mailbox(cb, cfg, cfg_getnsec(cfg, "mailbox", i)) != 0)
            return -1;
    return add_aliases(cb, cfg);
}
