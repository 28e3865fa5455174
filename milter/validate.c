/*
 * validate.c - semantic checks over a whole finished table (see validate.h).
 *
 * Owns the rules a configuration must satisfy beyond its syntax, checked
 * with policy_resolve so that a verdict is what the milter would do: loops
 * among aliases (an explicit iterative DFS) and among alias domains, targets
 * and postmasters that reach no mailbox, and entries that can never match.
 * One problem is reported once where that is easy: a failure explained by
 * a loop or by an already reported entry is not reported again upstream.
 */
#include "validate.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "policy.h"

/* Longest cycle printed in full; longer ones show the first few. */
#define CYCLE_SHOW 12
/* Alias-domain hops followed when mapping a target to an entry. */
#define MAX_HOPS 32

/* Per-entry flags. */
enum {
    E_GRAY = 1 << 0,    /* on the DFS stack */
    E_BLACK = 1 << 1,   /* finished */
    E_TAINT = 1 << 2,   /* in an alias loop or leads into one */
    E_TRIVIAL = 1 << 3, /* every target is plainly fine (a mailbox, not hosted, itself) */
    E_BAD = 1 << 4,     /* an error was reported for it (or for what it leads to) */
};

/* Per-domain flags. */
enum {
    D_ONPATH = 1 << 0, /* on the current alias_domain walk */
    D_DONE = 1 << 1,
    D_TAINT = 1 << 2,  /* in an alias_domain loop or leads into one */
    D_PM_BAD = 1 << 3, /* its postmaster setting was reported */
};

/* What follow() found for a target. */
struct follow {
    size_t node;    /* entry index, or NONE */
    bool self;      /* the target is the entry's own key (self-map) */
    bool trivial;   /* plainly fine: a mailbox, or not hosted */
    bool dom_taint; /* passed through a looping alias domain */
};

#define NONE SIZE_MAX

struct frame {
    size_t node;
    unsigned next; /* next target to look at */
};

struct vctx {
    const struct table *t;
    const struct table_builder *b;
    struct diag *d;
    const struct table_settings *s;
    const struct validate_where *w; /* NULL: no places for global settings */
    int errors;
    size_t nent, ndom;
    unsigned char *eflag, *dflag;
    size_t *pos; /* stack position of a gray entry */
    struct frame *stack;
    struct policy_result r;
    bool global_pm_bad;
    /* one-entry cache of the last domain lookup */
    char dc_name[ADDR_DOMAIN_MAX + 1];
    size_t dc_len;
    const struct table_domain *dc_dom;
    bool dc_valid;
};

static void report(struct vctx *c, enum diag_level level, struct table_loc loc, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));

static void report(struct vctx *c, enum diag_level level, struct table_loc loc, const char *fmt,
                   ...)
{
    char msg[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    diag_add(c->d, level, loc.file, loc.line, "%s", msg);
    if (level == DIAG_ERROR)
        c->errors++;
}

static struct table_loc entry_loc(const struct vctx *c, size_t i)
{
    struct table_loc none = {NULL, 0};

    return c->b != NULL ? table_builder_entry_loc(c->b, i) : none;
}

static struct table_loc domain_loc(const struct vctx *c, size_t i)
{
    struct table_loc none = {NULL, 0};

    return c->b != NULL ? table_builder_domain_loc(c->b, i) : none;
}

/* setting_loc - where a setting of the i-th domain was made (its own line
 * in a domain section, or a table file's @domain line), else where the
 * domain was declared. */
static struct table_loc setting_loc(const struct vctx *c, size_t i, enum table_domain_setting which)
{
    struct table_loc loc = {NULL, 0};

    if (c->b != NULL)
        loc = table_builder_setting_loc(c->b, i, which);
    return loc.file != NULL && loc.line > 0 ? loc : domain_loc(c, i);
}

/* The index of an entry or domain returned by a lookup. */
static size_t entry_index(const struct vctx *c, const struct table_entry *e)
{
    size_t i = table_entry_index(c->t, e);

    return i == (size_t)-1 ? NONE : i;
}

static size_t domain_index(const struct vctx *c, const struct table_domain *d)
{
    size_t i = table_domain_index(c->t, d);

    return i == (size_t)-1 ? NONE : i;
}

/* lookup_domain - table_domain_lookup with a one-entry cache: entries and
 * targets come in runs of one domain. */
static const struct table_domain *lookup_domain(struct vctx *c, const char *name, size_t len)
{
    const struct table_domain *d = NULL;

    if (c->dc_valid && c->dc_len == len && memcmp(c->dc_name, name, len) == 0)
        return c->dc_dom;
    if (table_domain_lookup(c->t, name, len, &d) != 1)
        d = NULL;
    if (len < sizeof(c->dc_name)) {
        memcpy(c->dc_name, name, len);
        c->dc_len = len;
        c->dc_dom = d;
        c->dc_valid = true;
    }
    return d;
}

static bool fails(enum policy_action a)
{
    return a == POLICY_REJECT || a == POLICY_TEMPFAIL;
}

static const char *reason(const struct policy_result *r)
{
    return r->reason != NULL ? r->reason : policy_rule_name(r->rule);
}

/*
 * follow - the entry that target leads to first, as policy would find it:
 * exact key, the key without extension, then through alias domains.  key
 * is the folded key of the entry the target belongs to (NULL: none), for
 * the self-map idiom.  Roles and catch-alls are not followed.
 */
static struct follow follow(struct vctx *c, const char *key, const char *target)
{
    struct follow f = {NONE, false, false, false};
    char text[ADDR_TEXT_MAX + 1], fkey[ADDR_TEXT_MAX + 1];
    const struct table_entry *e;
    struct addr a;

    size_t len = strlen(target);
    if (len >= sizeof(text))
        return f;
    memcpy(text, target, len + 1);
    for (unsigned hop = 0; hop < MAX_HOPS; hop++) {
        addr_fold(fkey, text, len);
        fkey[len] = '\0';
        if (hop == 0 && key != NULL && strcmp(fkey, key) == 0) {
            f.self = f.trivial = true;
            return f;
        }
        const char *at = strrchr(fkey, '@');
        if (at == NULL)
            return f;
        size_t llen = (size_t)(at - fkey);
        const struct table_domain *d = lookup_domain(c, at + 1, len - llen - 1);
        if (d == NULL) {
            f.trivial = hop == 0; /* pass: delivered elsewhere */
            return f;
        }
        size_t di = domain_index(c, d);
        if (di != NONE && (c->dflag[di] & D_TAINT))
            f.dom_taint = true;
        if (table_lookup(c->t, fkey, len, &e) == 1) {
            f.node = entry_index(c, e);
            f.trivial = hop == 0 && e->kind == TABLE_MAILBOX;
            return f;
        }
        if (c->s->delimiters[0] != '\0' && addr_parse(&a, text, len, c->s->delimiters) == ADDR_OK &&
            a.base_len < a.local_len) {
            size_t klen = addr_format(&a, false, true, fkey, sizeof(fkey));
            if (klen > 0 && table_lookup(c->t, fkey, klen, &e) == 1) {
                f.node = entry_index(c, e);
                return f;
            }
        }
        if (d->alias_domain == NULL)
            return f;
        /* user(+ext)@alias_domain, case of the local part kept */
        size_t dlen = strlen(d->alias_domain);
        if (llen + 1 + dlen >= sizeof(text))
            return f;
        memcpy(text + llen + 1, d->alias_domain, dlen + 1);
        len = llen + 1 + dlen;
    }
    return f;
}

/* Whether a failing target is explained by a problem reported elsewhere:
 * it leads into a loop or to an entry already reported. */
static bool explained(struct vctx *c, const char *key, const char *target)
{
    struct follow f = follow(c, key, target);

    if (f.dom_taint)
        return true;
    return f.node != NONE && (c->eflag[f.node] & (E_TAINT | E_BAD));
}

/* ---- alias_domain chains (check 4) ------------------------------------ */

static size_t alias_next(struct vctx *c, size_t i)
{
    const struct table_domain *d = table_domain_at(c->t, i), *n;

    if (d->alias_domain == NULL ||
        table_domain_lookup(c->t, d->alias_domain, strlen(d->alias_domain), &n) != 1)
        return NONE;
    return domain_index(c, n);
}

static void report_domain_cycle(struct vctx *c, size_t start)
{
    char msg[1536];
    size_t o = 0, n = 0, i = start;

    o += (size_t)snprintf(msg, sizeof(msg), "alias_domain loop: %s",
                          table_domain_at(c->t, start)->name);
    do {
        i = alias_next(c, i);
        if (i == NONE) /* cannot happen: the walk found the cycle */
            break;
        if (++n <= CYCLE_SHOW || i == start) {
            if (o < sizeof(msg))
                o += (size_t)snprintf(msg + o, sizeof(msg) - o, " -> %s",
                                      table_domain_at(c->t, i)->name);
        } else if (n == CYCLE_SHOW + 1 && o < sizeof(msg)) {
            o += (size_t)snprintf(msg + o, sizeof(msg) - o, " -> ...");
        }
    } while (i != start);
    report(c, DIAG_ERROR, setting_loc(c, start, TABLE_SETTING_ALIAS_DOMAIN), "%s", msg);
}

/* Each domain has at most one alias_domain: walk every chain once, report
 * each cycle once, taint what is in or leads into a cycle. */
static void check_alias_domains(struct vctx *c)
{
    for (size_t i = 0; i < c->ndom; i++) {
        size_t j = i;
        bool taint = false;

        while (j != NONE) {
            if (c->dflag[j] & D_ONPATH) {
                report_domain_cycle(c, j);
                taint = true;
                break;
            }
            if (c->dflag[j] & D_DONE) {
                taint = (c->dflag[j] & D_TAINT) != 0;
                break;
            }
            c->dflag[j] |= D_ONPATH;
            j = alias_next(c, j);
        }
        for (j = i; j != NONE && !(c->dflag[j] & D_DONE); j = alias_next(c, j))
            c->dflag[j] =
                (unsigned char)((c->dflag[j] & ~D_ONPATH) | D_DONE | (taint ? D_TAINT : 0));

        const struct table_domain *d = table_domain_at(c->t, i);
        if (d->alias_domain != NULL && d->ncatch_all > 0)
            report(c, DIAG_WARNING, setting_loc(c, i, TABLE_SETTING_CATCH_ALL),
                   "domain %s: catch_all is never used, alias_domain %s takes precedence", d->name,
                   d->alias_domain);
    }
}

/* ---- alias loops and targets (checks 2 and 3) -------------------------- */

/* The cycle stack[from .. top-1] closed by an edge back to stack[from]. */
static void report_cycle(struct vctx *c, size_t from, size_t top)
{
    char msg[1536];
    size_t o = 0, n = top - from;

    for (size_t k = 0; k < n && o < sizeof(msg); k++) {
        if (n > CYCLE_SHOW && k == CYCLE_SHOW - 2) {
            o += (size_t)snprintf(msg + o, sizeof(msg) - o, " -> ... (%zu more)",
                                  n - CYCLE_SHOW + 1);
            k = n - 2; /* then the last one */
            continue;
        }
        const char *key = table_entry_at(c->t, c->stack[from + k].node)->key;
        o += (size_t)snprintf(msg + o, sizeof(msg) - o, "%s%s", k ? " -> " : "", key);
    }
    size_t start = c->stack[from].node;
    report(c, DIAG_ERROR, entry_loc(c, start), "alias loop: %s -> %s", msg,
           table_entry_at(c->t, start)->key);
}

static const char *kind_name(enum table_kind k)
{
    return k == TABLE_MAILBOX ? "mailbox" : k == TABLE_SECONDARY ? "secondary address" : "alias";
}

/*
 * check_entry - check 2 for one finished entry: each target resolves to a
 * mailbox, then (when they all do and it is in no loop) the entry itself,
 * which catches depth and fan-out bounds that no single target reaches.
 */
static void check_entry(struct vctx *c, size_t i)
{
    const struct table_entry *e = table_entry_at(c->t, i);
    bool bad = false;

    if (c->eflag[i] & E_TRIVIAL)
        return;
    for (unsigned k = 0; k < e->ntargets; k++) {
        const char *target = e->targets[k];
        if (!fails(policy_resolve(c->t, target, strlen(target), &c->r)))
            continue;
        struct follow f = follow(c, e->key, target);
        if (f.self)
            continue; /* "a -> a, copy": a is delivered as is */
        bad = true;
        /* a gray target is still on the DFS stack: a loop through this entry */
        if (f.dom_taint || (f.node != NONE && (c->eflag[f.node] & (E_GRAY | E_TAINT | E_BAD))))
            continue;
        report(c, DIAG_ERROR, entry_loc(c, i), "%s %s: target %s reaches no mailbox (%s: %s)",
               kind_name(e->kind), e->key, target, policy_action_name(c->r.action), reason(&c->r));
    }
    if (!bad && !(c->eflag[i] & E_TAINT) &&
        fails(policy_resolve(c->t, e->key, strlen(e->key), &c->r))) {
        bad = true;
        report(c, DIAG_ERROR, entry_loc(c, i), "%s %s reaches no mailbox (%s: %s)",
               kind_name(e->kind), e->key, policy_action_name(c->r.action), reason(&c->r));
    }
    if (bad)
        c->eflag[i] |= E_BAD;
}

/*
 * check_entries - an iterative DFS over the entries, an edge being a target
 * whose address leads to another entry (follow).  A back edge is a loop,
 * reported once; taint flows from successors to predecessors as nodes
 * finish, and each entry's targets are checked when it finishes, so an
 * entry that only leads to a reported one is not reported again.
 */
static void check_entries(struct vctx *c)
{
    for (size_t root = 0; root < c->nent; root++) {
        size_t sp = 0;

        if (c->eflag[root] & (E_GRAY | E_BLACK))
            continue;
        c->eflag[root] |= E_GRAY | E_TRIVIAL;
        c->pos[root] = sp;
        c->stack[sp++] = (struct frame){root, 0};
        while (sp > 0) {
            struct frame *fr = &c->stack[sp - 1];
            size_t u = fr->node;
            const struct table_entry *e = table_entry_at(c->t, u);

            if (fr->next < e->ntargets) {
                struct follow f = follow(c, e->key, e->targets[fr->next++]);
                if (!f.trivial)
                    c->eflag[u] &= (unsigned char)~E_TRIVIAL;
                if (f.dom_taint)
                    c->eflag[u] |= E_TAINT;
                if (f.self || f.node == NONE)
                    continue;
                size_t v = f.node;
                if (c->eflag[v] & E_GRAY) {
                    report_cycle(c, c->pos[v], sp);
                    c->eflag[u] |= E_TAINT;
                } else if (c->eflag[v] & E_BLACK) {
                    c->eflag[u] |= c->eflag[v] & E_TAINT;
                } else {
                    c->eflag[v] |= E_GRAY | E_TRIVIAL;
                    c->pos[v] = sp;
                    c->stack[sp++] = (struct frame){v, 0};
                }
                continue;
            }
            /* u is finished */
            c->eflag[u] = (unsigned char)((c->eflag[u] & ~E_GRAY) | E_BLACK);
            check_entry(c, u);
            sp--;
            if (sp > 0)
                c->eflag[c->stack[sp - 1].node] |= c->eflag[u] & E_TAINT;
        }
    }
}

/* ---- domains (checks 1 and 2) ----------------------------------------- */

/* check_target - resolve one configured target; report when it fails and
 * the failure is not explained elsewhere.  Returns whether it failed. */
static bool check_target(struct vctx *c, struct table_loc loc, const char *what, const char *target)
{
    enum policy_action a = policy_resolve(c->t, target, strlen(target), &c->r);

    /* A target kept by the role rule came back to itself (postmaster =
     * "postmaster@d" with no such mailbox): only the MTA's next hop is
     * behind it.  (A catch-all that leads back to its target is Postfix's
     * way to a captured mailbox_table mailbox, and stays allowed.) */
    if (a == POLICY_KEEP && c->r.rule == RULE_ROLE) {
        report(c, DIAG_ERROR, loc,
               "%s %s reaches no mailbox (the role rule leads back to it; declare it as a "
               "mailbox)",
               what, target);
        return true;
    }
    if (!fails(a))
        return false;
    if (!explained(c, NULL, target))
        report(c, DIAG_ERROR, loc, "%s %s reaches no mailbox (%s: %s)", what, target,
               policy_action_name(c->r.action), reason(&c->r));
    return true;
}

/* pm_source_bad - whether the postmaster that postmaster@D falls back to
 * (D's own, along the alias_domain chain, else the global one) was found
 * bad already. */
static bool pm_source_bad(struct vctx *c, size_t i)
{
    for (unsigned hop = 0; i != NONE && hop < MAX_HOPS; hop++) {
        const struct table_domain *d = table_domain_at(c->t, i);
        if (c->dflag[i] & D_TAINT)
            return true;
        if (d->postmaster != NULL)
            return (c->dflag[i] & D_PM_BAD) != 0;
        if (d->alias_domain == NULL)
            break;
        i = alias_next(c, i);
    }
    return c->global_pm_bad;
}

static void check_domains(struct vctx *c)
{
    char what[ADDR_DOMAIN_MAX + 64], addr[ADDR_DOMAIN_MAX + 16];
    struct table_loc none = {NULL, 0};

    if (c->s->postmaster != NULL)
        c->global_pm_bad = check_target(c, c->w != NULL ? c->w->postmaster : none,
                                        "global postmaster", c->s->postmaster);

    for (size_t i = 0; i < c->ndom; i++) {
        const struct table_domain *d = table_domain_at(c->t, i);

        if (d->postmaster != NULL) {
            snprintf(what, sizeof(what), "domain %s: postmaster", d->name);
            if (check_target(c, setting_loc(c, i, TABLE_SETTING_POSTMASTER), what, d->postmaster))
                c->dflag[i] |= D_PM_BAD;
        }
        for (unsigned k = 0; k < d->ncatch_all; k++) {
            snprintf(what, sizeof(what), "domain %s: catch_all target", d->name);
            check_target(c, setting_loc(c, i, TABLE_SETTING_CATCH_ALL), what, d->catch_all[k]);
        }
    }

    /* check 1: postmaster@D, unless the reason was reported above */
    for (size_t i = 0; i < c->ndom; i++) {
        const struct table_domain *d = table_domain_at(c->t, i);
        int n = snprintf(addr, sizeof(addr), "postmaster@%s", d->name);

        if (n < 0 || (size_t)n >= sizeof(addr))
            continue;
        if (!fails(policy_resolve(c->t, addr, (size_t)n, &c->r)))
            continue;
        if (pm_source_bad(c, i) || explained(c, NULL, addr))
            continue;
        report(c, DIAG_ERROR, domain_loc(c, i),
               "domain %s: %s reaches no mailbox (%s: %s); set postmaster for the domain, "
               "a global postmaster, or a mailbox or alias %s",
               d->name, addr, policy_action_name(c->r.action), reason(&c->r), addr);
    }
}

/* check_bare_postmaster - RCPT TO:<postmaster> goes to the global
 * postmaster only; without one the MTA decides.  Said at line 1 of the
 * settings file: the setting is missing, so there is no line of its own. */
static void check_bare_postmaster(struct vctx *c)
{
    struct table_loc loc = {NULL, 1};

    if (c->w == NULL || c->w->settings_file == NULL || c->s->postmaster != NULL || c->ndom == 0)
        return;
    loc.file = c->w->settings_file;
    report(c, DIAG_WARNING, loc,
           "no global postmaster: RCPT TO:<postmaster> (without a domain) will be passed to "
           "the MTA; set postmaster = \"mailbox\" among the global settings of %s",
           c->w->settings_file);
}

/* ---- entries that never match (check 5) -------------------------------- */

static void check_outside(struct vctx *c)
{
    for (size_t i = 0; i < c->nent; i++) {
        const struct table_entry *e = table_entry_at(c->t, i);
        const char *at = strrchr(e->key, '@');

        if (at != NULL && lookup_domain(c, at + 1, strlen(at + 1)) != NULL)
            continue;
        report(c, DIAG_WARNING, entry_loc(c, i),
               "%s %s is outside every hosted domain; it never matches a recipient",
               kind_name(e->kind), e->key);
    }
}

int validate_table(const struct table *t, const struct table_builder *b, struct diag *d)
{
    return validate_table_at(t, b, NULL, d);
}

int validate_table_at(const struct table *t, const struct table_builder *b,
                      const struct validate_where *w, struct diag *d)
{
    struct vctx c;

    memset(&c, 0, sizeof(c));
    c.t = t;
    c.b = b;
    c.w = w;
    c.d = d;
    c.s = table_settings(t);
    c.nent = table_entry_count(t);
    c.ndom = table_domain_count(t);
    policy_result_init(&c.r);
    c.eflag = calloc(c.nent + 1, 1);
    c.dflag = calloc(c.ndom + 1, 1);
    c.pos = malloc((c.nent + 1) * sizeof(*c.pos));
    c.stack = malloc((c.nent + 1) * sizeof(*c.stack));
    if (c.eflag == NULL || c.dflag == NULL || c.pos == NULL || c.stack == NULL) {
        diag_add(d, DIAG_ERROR, w != NULL ? w->settings_file : NULL, 0,
                 "out of memory while validating the table");
        c.errors++;
        goto out;
    }
    check_alias_domains(&c);
    check_entries(&c);
    check_domains(&c);
    check_bare_postmaster(&c);
    check_outside(&c);
out:
    policy_result_free(&c.r);
    free(c.eflag);
    free(c.dflag);
    free(c.pos);
    free(c.stack);
    return c.errors;
}
