/*
 * policy.c - resolution of one envelope recipient (the rules of
 * hosted-milter.conf(5), section RESOLUTION).
 *
 * One address is looked up by lookup_step() (steps 2-8 for an address with
 * a domain); what it maps to is expanded depth-first by expand(), which
 * resolves every target in a hosted domain again, stops at an address that
 * maps to itself (as virtual(5) does) and keeps the final recipients,
 * deduplicated, in the caller's struct policy_result.  Depth and the number
 * of addresses examined are bounded; running into a bound, or into a
 * target that would be refused, makes the whole recipient a tempfail:
 * never a silent accept, never a reject by accident.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "policy.h"
#include "table.h"
#include "util.h"

/* What lookup_step found for one address. */
enum match {
    MATCH_NOT_HOSTED, /* domain not hosted: delivered elsewhere */
    MATCH_KEEP,       /* a mailbox: final */
    MATCH_TARGETS,    /* replaced by targets (+ extension) */
    MATCH_RELOCATE,   /* alias_domain: the same local part in another domain */
    MATCH_UNKNOWN,    /* no rule matched: the domain's unknown_recipient */
};

struct step {
    enum match match;
    enum policy_rule rule;
    const char *const *targets; /* MATCH_TARGETS */
    unsigned ntargets;
    const char *extension;       /* appended to each target; "" for none */
    const char *relocate_domain; /* MATCH_RELOCATE */
    enum unknown_action unknown; /* MATCH_UNKNOWN */
};

/* Why an expansion stopped short. */
enum expand_status {
    EXPAND_OK,
    EXPAND_LIMIT,
    EXPAND_BAD_TARGET,
    EXPAND_NO_MEMORY,
    /* The address is unknown where it ended up; only an alias_domain move
     * carries this up (the recipient itself is unknown), a configured
     * target turns it into EXPAND_BAD_TARGET. */
    EXPAND_UNKNOWN_REJECT,
    EXPAND_UNKNOWN_TEMPFAIL,
};

struct expansion {
    const struct table *t;
    struct policy_result *r;
    unsigned visits; /* addresses examined, bounded by max_targets */
};

static const char *const status_text[] = {
    [POLICY_KEEP] = "keep",         [POLICY_REWRITE] = "rewrite", [POLICY_REJECT] = "reject",
    [POLICY_TEMPFAIL] = "tempfail", [POLICY_PASS] = "pass",
};

static const char *const rule_text[] = {
    [RULE_UNPARSEABLE] = "unparseable",
    [RULE_NOT_HOSTED] = "not_hosted",
    [RULE_BARE_POSTMASTER] = "bare_postmaster",
    [RULE_EXACT] = "exact",
    [RULE_EXTENSION] = "extension",
    [RULE_ROLE] = "role",
    [RULE_ALIAS_DOMAIN] = "alias_domain",
    [RULE_CATCH_ALL] = "catch_all",
    [RULE_UNKNOWN] = "unknown",
    [RULE_LIMIT] = "limit",
    [RULE_BAD_TARGET] = "bad_target",
    [RULE_NO_MEMORY] = "no_memory",
    [RULE_BAD_SYNTAX] = "bad_syntax",
};
_Static_assert(sizeof(rule_text) / sizeof(rule_text[0]) == POLICY_RULE_COUNT,
               "a rule without a name (or POLICY_RULE_COUNT out of date)");
_Static_assert(sizeof(status_text) / sizeof(status_text[0]) == POLICY_ACTION_COUNT,
               "an action without a name (or POLICY_ACTION_COUNT out of date)");

const char *policy_action_name(enum policy_action a)
{
    return (unsigned)a < sizeof(status_text) / sizeof(status_text[0]) ? status_text[a] : "?";
}

const char *policy_rule_name(enum policy_rule rule)
{
    return (unsigned)rule < sizeof(rule_text) / sizeof(rule_text[0]) ? rule_text[rule] : "?";
}

void policy_result_init(struct policy_result *r)
{
    memset(r, 0, sizeof(*r));
}

void policy_result_free(struct policy_result *r)
{
    free(r->buf);
    free(r->offsets);
    policy_result_init(r);
}

const char *policy_target(const struct policy_result *r, size_t i)
{
    return i < r->ntargets ? r->buf + r->offsets[i] : NULL;
}

bool policy_target_is_original(const struct policy_result *r, size_t i)
{
    const char *target = policy_target(r, i);

    return target != NULL && r->address[0] != '\0' && strcasecmp(target, r->address) == 0;
}

/* Append a final recipient unless an equal one (case-insensitively) is
 * there already.  Returns 0, or -1 when out of memory. */
static int add_final(struct policy_result *r, const char *addr, size_t len)
{
    for (size_t i = 0; i < r->ntargets; i++) {
        const char *have = r->buf + r->offsets[i];
        if (strncasecmp(have, addr, len) == 0 && have[len] == '\0')
            return 0;
    }
    if (util_grow((void **)&r->offsets, &r->offsize, r->ntargets + 1, sizeof(*r->offsets)) < 0 ||
        util_grow((void **)&r->buf, &r->bufsize, r->buflen + len + 1, 1) < 0)
        return -1;
    memcpy(r->buf + r->buflen, addr, len);
    r->buf[r->buflen + len] = '\0';
    r->offsets[r->ntargets++] = r->buflen;
    r->buflen += len + 1;
    return 0;
}

static bool is_role(const struct table_settings *s, const char *base, size_t len)
{
    if (len == 10 && strncasecmp(base, "postmaster", 10) == 0)
        return true;
    for (unsigned i = 0; i < s->nroles; i++)
        if (strncasecmp(s->roles[i], base, len) == 0 && s->roles[i][len] == '\0')
            return true;
    return false;
}

/* domain_step - steps 5 to 8, for an address of the hosted domain d that
 * no entry matched: roles, alias domain, catch-all, unknown. */
static void domain_step(const struct table_settings *s, const struct table_domain *d,
                        const struct addr *a, struct step *st)
{
    /* 5. roles; an alias domain without its own postmaster defers to the
     * domain it aliases (step 6), where explicit entries still win. */
    if (is_role(s, a->local, a->base_len)) {
        const char *pm = d->postmaster;
        if (pm == NULL && d->alias_domain == NULL)
            pm = s->postmaster;
        if (pm != NULL) {
            st->match = MATCH_TARGETS;
            st->rule = RULE_ROLE;
            st->targets = &d->postmaster;
            if (d->postmaster == NULL)
                st->targets = &s->postmaster;
            st->ntargets = 1;
            st->extension = addr_extension(a);
            return;
        }
    }
    /* 6. alias domain: user(+ext)@target */
    if (d->alias_domain != NULL) {
        st->match = MATCH_RELOCATE;
        st->rule = RULE_ALIAS_DOMAIN;
        st->relocate_domain = d->alias_domain;
        return;
    }
    /* 7. catch-all: no extension, as virtual(5) "@domain" */
    if (d->ncatch_all > 0) {
        st->match = MATCH_TARGETS;
        st->rule = RULE_CATCH_ALL;
        st->targets = d->catch_all;
        st->ntargets = d->ncatch_all;
        return;
    }
    /* 8. */
    st->match = MATCH_UNKNOWN;
    st->rule = RULE_UNKNOWN;
    st->unknown = d->unknown;
}

/*
 * lookup_step - steps 2 to 8 for one parsed address with a domain.
 * Returns -1 when the lookup key cannot be formed (cannot happen for a
 * parsed address, kept as a guard), else 0 with *st filled.
 */
static int lookup_step(const struct table *t, const struct addr *a, struct step *st)
{
    const struct table_settings *s = table_settings(t);
    const struct table_domain *d;
    const struct table_entry *e;
    char key[ADDR_TEXT_MAX + 1], base[ADDR_TEXT_MAX + 1];
    struct table_key k, kb;
    size_t len;
    bool has_ext = a->base_len < a->local_len;

    memset(st, 0, sizeof(*st));
    st->extension = "";
    if (table_domain_lookup(t, a->domain, a->domain_len, &d) != 1) {
        st->match = MATCH_NOT_HOSTED;
        st->rule = RULE_NOT_HOSTED;
        return 0;
    }
    /* Both keys first, so that their index slots are fetched from memory
     * at the same time, not one after the other. */
    if ((len = addr_format(a, true, true, key, sizeof(key))) == 0)
        return -1;
    table_key_prepare(t, &k, key, len);
    if (has_ext) {
        if ((len = addr_format(a, false, true, base, sizeof(base))) == 0)
            return -1;
        table_key_prepare(t, &kb, base, len);
    }
    /* 3. the address as written */
    if (table_lookup_key(t, &k, &e) == 1) {
        st->rule = RULE_EXACT;
        goto found;
    }
    /* 4. without its extension; the extension follows to the targets */
    if (has_ext && table_lookup_key(t, &kb, &e) == 1) {
        st->rule = RULE_EXTENSION;
        st->extension = addr_extension(a);
        goto found;
    }
    domain_step(s, d, a, st);
    return 0;

found:
    if (e->kind == TABLE_MAILBOX) {
        st->match = MATCH_KEEP;
    } else {
        st->match = MATCH_TARGETS;
        st->targets = e->targets;
        st->ntargets = e->ntargets;
    }
    return 0;
}

/*
 * compose - target with extension ext inserted before its '@' (or the
 * local part of a moved to domain), parsed into *out.  An extension that
 * would make the address invalid or too long is dropped, as delivering to
 * the right person without it beats not delivering.  Returns 0, or -1 when
 * even the plain target does not parse (cannot happen for a validated
 * table).
 */
static int compose(const struct table_settings *s, const char *target, const char *ext,
                   struct addr *out)
{
    char buf[ADDR_TEXT_MAX + ADDR_LOCAL_MAX + 2];
    size_t tlen = strlen(target), elen = strlen(ext);
    const char *at = strrchr(target, '@');

    if (elen > 0 && at != NULL && tlen + elen < sizeof(buf)) {
        size_t llen = (size_t)(at - target);
        memcpy(buf, target, llen);
        memcpy(buf + llen, ext, elen);
        memcpy(buf + llen + elen, at, tlen - llen);
        if (addr_parse(out, buf, tlen + elen, s->delimiters) == ADDR_OK)
            return 0;
    }
    return addr_parse(out, target, tlen, s->delimiters) == ADDR_OK ? 0 : -1;
}

static int relocate(const struct table_settings *s, const struct addr *a, const char *domain,
                    struct addr *out)
{
    char buf[ADDR_TEXT_MAX + 1];
    size_t dlen = strlen(domain);

    if (a->local_len + 1 + dlen >= sizeof(buf))
        return -1;
    memcpy(buf, a->local, a->local_len);
    buf[a->local_len] = '@';
    memcpy(buf + a->local_len + 1, domain, dlen);
    return addr_parse(out, buf, a->local_len + 1 + dlen, s->delimiters) == ADDR_OK ? 0 : -1;
}

/* same_address - one address but for the case of ASCII letters (also how
 * the client's spelling is recognised in Postfix's lower-cased reading). */
static bool same_address(const struct addr *a, const struct addr *b)
{
    return a->local_len == b->local_len && a->domain_len == b->domain_len &&
           strcasecmp(a->local, b->local) == 0 && strcmp(a->domain, b->domain) == 0;
}

static enum expand_status expand_addr(struct expansion *x, const struct addr *a, unsigned depth);
static enum expand_status add_final_counted(struct expansion *x, const char *text, size_t len,
                                            unsigned depth);

/* Expand what st says a maps to. */
static enum expand_status expand_step(struct expansion *x, const struct addr *a,
                                      const struct step *st, unsigned depth)
{
    const struct table_settings *s = table_settings(x->t);
    struct addr next;
    enum expand_status rc;

    switch (st->match) {
    case MATCH_RELOCATE:
        if (relocate(s, a, st->relocate_domain, &next) < 0)
            return EXPAND_BAD_TARGET;
        return expand_addr(x, &next, depth + 1);
    case MATCH_TARGETS:
        for (unsigned i = 0; i < st->ntargets; i++) {
            const char *target = st->targets[i];
            enum table_target_class class = table_target_class(target);

            /* A target the table knows to resolve to itself needs no
             * lookup: the common secondary-address case. */
            if (class != TARGET_UNCLASSIFIED && st->extension[0] == '\0') {
                if ((rc = add_final_counted(x, target, strlen(target), depth + 1)) != EXPAND_OK)
                    return rc;
                continue;
            }
            if (compose(s, target, st->extension, &next) < 0)
                return EXPAND_BAD_TARGET;
            /* mailbox+ext resolves to itself when it splits where the
             * extension was appended and no key could hold the extension */
            if (class == TARGET_ELSEWHERE ||
                (class == TARGET_MAILBOX && !table_extension_keys(x->t) &&
                 next.base_len == (size_t)(strrchr(target, '@') - target))) {
                char text[ADDR_TEXT_MAX + 1];
                size_t len = addr_format(&next, true, false, text, sizeof(text));
                if (len == 0)
                    return EXPAND_BAD_TARGET;
                if ((rc = add_final_counted(x, text, len, depth + 1)) != EXPAND_OK)
                    return rc;
                continue;
            }
            /* An address that maps to itself is delivered as is. */
            if (same_address(&next, a))
                rc = expand_addr(x, &next, UINT32_MAX);
            else
                rc = expand_addr(x, &next, depth + 1);
            if (rc == EXPAND_UNKNOWN_REJECT || rc == EXPAND_UNKNOWN_TEMPFAIL)
                return EXPAND_BAD_TARGET;
            if (rc != EXPAND_OK)
                return rc;
        }
        return EXPAND_OK;
    default:
        return EXPAND_BAD_TARGET;
    }
}

/*
 * expand_addr - add the final recipients of a to x->r.  depth UINT32_MAX
 * marks an address that must not be expanded again (self-map).
 */
static enum expand_status expand_addr(struct expansion *x, const struct addr *a, unsigned depth)
{
    const struct table_settings *s = table_settings(x->t);
    char text[ADDR_TEXT_MAX + 1];
    size_t len;
    struct step st;

    if (++x->visits > s->max_targets)
        return EXPAND_LIMIT;
    if ((len = addr_format(a, true, false, text, sizeof(text))) == 0)
        return EXPAND_BAD_TARGET;
    if (depth == UINT32_MAX)
        goto final;
    if (depth > s->max_depth)
        return EXPAND_LIMIT;
    if (a->domain_len == 0)
        return EXPAND_BAD_TARGET;
    if (lookup_step(x->t, a, &st) < 0)
        return EXPAND_BAD_TARGET;
    switch (st.match) {
    case MATCH_NOT_HOSTED:
    case MATCH_KEEP:
        goto final;
    case MATCH_UNKNOWN:
        if (st.unknown == UNKNOWN_PASS)
            goto final;
        return st.unknown == UNKNOWN_TEMPFAIL ? EXPAND_UNKNOWN_TEMPFAIL : EXPAND_UNKNOWN_REJECT;
    default:
        return expand_step(x, a, &st, depth);
    }

final:
    if (x->r->ntargets >= s->max_targets)
        return EXPAND_LIMIT;
    return add_final(x->r, text, len) < 0 ? EXPAND_NO_MEMORY : EXPAND_OK;
}

/* A final recipient found without expand_addr, bounded the same way. */
static enum expand_status add_final_counted(struct expansion *x, const char *text, size_t len,
                                            unsigned depth)
{
    const struct table_settings *s = table_settings(x->t);

    if (++x->visits > s->max_targets || depth > s->max_depth || x->r->ntargets >= s->max_targets)
        return EXPAND_LIMIT;
    return add_final(x->r, text, len) < 0 ? EXPAND_NO_MEMORY : EXPAND_OK;
}

static enum policy_action finish(struct policy_result *r, enum policy_action action,
                                 enum policy_rule rule)
{
    r->action = action;
    r->rule = rule;
    switch (action) {
    case POLICY_REJECT:
        r->status = "550";
        if (rule == RULE_BAD_SYNTAX) {
            /* r->reason says what is wrong with it */
            r->xstatus = "5.1.3";
            break;
        }
        r->xstatus = "5.1.1";
        r->reason = "User unknown";
        break;
    case POLICY_TEMPFAIL:
        if (rule == RULE_UNKNOWN) {
            r->status = "450";
            r->xstatus = "4.1.1";
            r->reason = "User unknown, try again later";
        } else {
            r->status = "451";
            r->xstatus = "4.3.0";
            r->reason = rule == RULE_LIMIT ? "Temporary lookup failure (alias expansion limit)"
                        : rule == RULE_NO_MEMORY
                            ? "Temporary lookup failure (out of memory)"
                            : "Temporary lookup failure (undeliverable target)";
        }
        break;
    default:
        break;
    }
    if (action != POLICY_REWRITE)
        r->ntargets = 0;
    return action;
}

static enum policy_action fail_expansion(struct policy_result *r, enum expand_status rc)
{
    if (rc == EXPAND_UNKNOWN_REJECT)
        return finish(r, POLICY_REJECT, RULE_UNKNOWN);
    if (rc == EXPAND_UNKNOWN_TEMPFAIL)
        return finish(r, POLICY_TEMPFAIL, RULE_UNKNOWN);
    enum policy_rule rule = rc == EXPAND_LIMIT       ? RULE_LIMIT
                            : rc == EXPAND_NO_MEMORY ? RULE_NO_MEMORY
                                                     : RULE_BAD_TARGET;
    return finish(r, POLICY_TEMPFAIL, rule);
}

/* show - the text (len bytes) as a reply names it: without its angle
 * brackets, bounded (a longer one ends in "..."). */
static void show(struct policy_result *r, const char *text, size_t len)
{
    const size_t max = sizeof(r->shown) - 1;

    if (len > 0 && text[0] == '<') {
        text++;
        len--;
    }
    if (len > 0 && text[len - 1] == '>')
        len--;
    if (len > max) {
        memcpy(r->shown, text, max - 3);
        memcpy(r->shown + max - 3, "...", 4);
        return;
    }
    memcpy(r->shown, text, len);
    r->shown[len] = '\0';
}

/*
 * malformed - the decision for a recipient that is no usable address
 * (why says what is wrong): refused with 5.1.3 when text, or else other
 * (another reading of it, may be NULL), names a hosted domain that is not
 * a pass domain, so that the MTA never relays what the table cannot know;
 * passed otherwise.
 */
static enum policy_action malformed(const struct table *t, const char *text, size_t len,
                                    const char *other, const char *why, struct policy_result *r)
{
    char domain[ADDR_DOMAIN_MAX + 1];
    const struct table_domain *d;

    show(r, text, len);
    r->reason = why;
    if (addr_domain_guess(text, len, domain) != ADDR_OK &&
        (other == NULL || addr_domain_guess(other, strlen(other), domain) != ADDR_OK))
        return finish(r, POLICY_PASS, RULE_UNPARSEABLE);
    if (table_domain_lookup(t, domain, strlen(domain), &d) != 1 || d->unknown == UNKNOWN_PASS)
        return finish(r, POLICY_PASS, RULE_UNPARSEABLE);
    return finish(r, POLICY_REJECT, RULE_BAD_SYNTAX);
}

static enum policy_action resolve_bare(const struct table *t, const struct addr *a,
                                       struct policy_result *r)
{
    const struct table_settings *s = table_settings(t);
    struct expansion x = {t, r, 0};
    enum expand_status rc;
    struct addr pm;

    if (strcasecmp(a->local, "postmaster") != 0 || s->postmaster == NULL) {
        r->reason = "no domain";
        return finish(r, POLICY_PASS, RULE_NOT_HOSTED);
    }
    if (addr_parse(&pm, s->postmaster, strlen(s->postmaster), s->delimiters) != ADDR_OK)
        return finish(r, POLICY_TEMPFAIL, RULE_BAD_TARGET);
    if ((rc = expand_addr(&x, &pm, 1)) != EXPAND_OK)
        return fail_expansion(r, rc == EXPAND_UNKNOWN_REJECT || rc == EXPAND_UNKNOWN_TEMPFAIL
                                     ? EXPAND_BAD_TARGET
                                     : rc);
    return finish(r, POLICY_REWRITE, RULE_BARE_POSTMASTER);
}

static enum policy_action resolve_parsed(const struct table *t, const struct addr *a,
                                         struct policy_result *r)
{
    struct expansion x = {t, r, 0};
    struct step st;
    enum expand_status rc;

    if (lookup_step(t, a, &st) < 0)
        return finish(r, POLICY_TEMPFAIL, RULE_BAD_TARGET);
    switch (st.match) {
    case MATCH_NOT_HOSTED:
        r->reason = "domain not hosted";
        return finish(r, POLICY_PASS, RULE_NOT_HOSTED);
    case MATCH_KEEP:
        return finish(r, POLICY_KEEP, st.rule);
    case MATCH_UNKNOWN:
        if (st.unknown == UNKNOWN_PASS) {
            r->reason = "unknown in a pass domain";
            return finish(r, POLICY_PASS, RULE_UNKNOWN);
        }
        return finish(r, st.unknown == UNKNOWN_TEMPFAIL ? POLICY_TEMPFAIL : POLICY_REJECT,
                      RULE_UNKNOWN);
    default:
        break;
    }
    x.visits = 1;
    if ((rc = expand_step(&x, a, &st, 0)) != EXPAND_OK)
        return fail_expansion(r, rc);
    /* "a -> a" alone: the address is delivered as it is. */
    if (r->ntargets == 1 && policy_target_is_original(r, 0))
        return finish(r, POLICY_KEEP, st.rule);
    return finish(r, POLICY_REWRITE, st.rule);
}

/* decide - policy_resolve of text (len bytes), which addr_parse read as
 * *a or refused with err; other is the second reading of the same
 * recipient that malformed() may consult (or NULL). */
static enum policy_action decide(const struct table *t, const char *text, size_t len,
                                 const char *other, enum addr_error err, const struct addr *a,
                                 struct policy_result *r)
{
    r->status = r->xstatus = r->reason = NULL;
    r->ntargets = 0;
    r->buflen = 0;
    r->address[0] = '\0';
    r->shown[0] = '\0';
    if (err != ADDR_OK) {
        if (!addr_is_syntax_error(err)) {
            show(r, text, len);
            return finish(r, POLICY_TEMPFAIL, RULE_NO_MEMORY);
        }
        return malformed(t, text, len, other, addr_strerror(err), r);
    }
    /* ""@domain parses (a quoted string may be empty) but names nobody. */
    if (a->local_len == 2 && a->local[0] == '"')
        return malformed(t, text, len, other, "empty local part", r);
    if (addr_format(a, true, false, r->address, sizeof(r->address)) == 0)
        return finish(r, POLICY_TEMPFAIL, RULE_BAD_TARGET);
    memcpy(r->shown, r->address, sizeof(r->shown));
    /* 1. bare postmaster */
    if (a->domain_len == 0)
        return resolve_bare(t, a, r);
    return resolve_parsed(t, a, r);
}

/*
 * early_prefetch - ask for the index slot of text's likely key before the
 * text is parsed, so that the memory the lookup waits for arrives while
 * the parser works.  The guess is the text without its angle brackets,
 * ASCII lower-cased, which is the key of every plain address; for any
 * other text the guess is wrong or not tried and costs only the hash.
 * Only for a hosted domain (a lookup in the small domain index): a
 * prefetch for mail to elsewhere would only load the memory bus.
 */
static void early_prefetch(const struct table *t, const char *text, size_t len)
{
    char key[ADDR_TEXT_MAX + 1];
    const struct table_domain *d;
    size_t at = 0;

    if (len >= 2 && text[0] == '<' && text[len - 1] == '>') {
        text++;
        len -= 2;
    }
    if (len == 0 || len > ADDR_TEXT_MAX)
        return;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c <= ' ' || c >= 0x7f || c == '"' || c == '\\')
            return;
        key[i] = (char)c;
        if (c == '@')
            at = i;
    }
    if (at == 0 || at + 1 == len)
        return;
    addr_fold(key, key, len);
    key[len] = '\0';
    if (table_domain_lookup(t, key + at + 1, len - at - 1, &d) != 1)
        return;
    table_key_hint(t, key, len);
    /* and the key without an extension, which the lookup tries next */
    const char *delims = table_settings(t)->delimiters;
    size_t ext = delims[0] != '\0' ? strcspn(key, delims) : at;
    if (ext > 0 && ext < at) {
        memmove(key + ext, key + at, len - at);
        table_key_hint(t, key, ext + len - at);
    }
}

/* resolve - parse text, then decide. */
static enum policy_action resolve(const struct table *t, const char *text, size_t len,
                                  const char *other, struct policy_result *r)
{
    struct addr a;

    early_prefetch(t, text, len);
    enum addr_error err = addr_parse(&a, text, len, table_settings(t)->delimiters);

    return decide(t, text, len, other, err, &a, r);
}

enum policy_action policy_resolve(const struct table *t, const char *text, size_t len,
                                  struct policy_result *r)
{
    return resolve(t, text, len, NULL, r);
}

/* Whether the RCPT argument is the bare <postmaster> (any case). */
static bool is_bare_postmaster(const char *rcpt)
{
    size_t n = strlen(rcpt);

    if (n >= 2 && rcpt[0] == '<' && rcpt[n - 1] == '>') {
        rcpt++;
        n -= 2;
    }
    return n == 10 && strncasecmp(rcpt, "postmaster", 10) == 0;
}

enum policy_action policy_resolve_rcpt(const struct table *t, const char *rcpt,
                                       const char *mta_addr, struct policy_result *r)
{
    const char *delims = table_settings(t)->delimiters;
    struct addr a, m;
    enum addr_error ea, em;

    /* The MTA's reading decides when it has a domain; Sendmail's local
     * mailer gives the user name alone, and <postmaster> is special. */
    if (mta_addr == NULL || strchr(mta_addr, '@') == NULL || is_bare_postmaster(rcpt))
        return resolve(t, rcpt, strlen(rcpt), mta_addr, r);
    /* each text parsed once: the comparison and the resolution share it */
    early_prefetch(t, mta_addr, strlen(mta_addr));
    ea = addr_parse(&a, rcpt, strlen(rcpt), delims);
    em = addr_parse(&m, mta_addr, strlen(mta_addr), delims);
    if (ea == ADDR_OK && em == ADDR_OK && same_address(&a, &m))
        return decide(t, rcpt, strlen(rcpt), mta_addr, ea, &a, r);
    return decide(t, mta_addr, strlen(mta_addr), rcpt, em, &m, r);
}

size_t policy_format_reply(const struct policy_result *r, bool with_address, char *buf,
                           size_t bufsz)
{
    /* \xHH for CR and LF too: the form replies have always had */
    char shown[UTIL_ESCAPE_SIZE(sizeof(r->shown) - 1)];
    int n;

    if (r->status == NULL || bufsz == 0)
        return 0;
    n = -1;
    if (with_address && r->shown[0] != '\0' &&
        util_escape_hex(shown, sizeof(shown), r->shown, strlen(r->shown)) > 0)
        n = snprintf(buf, bufsz, "%s %s <%s>: Recipient address rejected: %s", r->status,
                     r->xstatus, shown, r->reason);
    /* An escaped address may grow fourfold past the buffer: then the reply
     * goes without it rather than without its reason. */
    if (n < 0 || (size_t)n >= bufsz)
        n = snprintf(buf, bufsz, "%s %s Recipient address rejected: %s", r->status, r->xstatus,
                     r->reason);
    if (n < 0 || (size_t)n >= bufsz) {
        buf[0] = '\0';
        return 0;
    }
    return (size_t)n;
}
