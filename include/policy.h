/*
 * policy.h - resolution of one envelope recipient against a table.
 *
 * Owns the rules of SPEC "Resolution of one recipient": bare postmaster,
 * hosted or not, exact match, extension fallback with propagation, roles,
 * alias domains, catch-all, unknown_recipient; recursion into targets with
 * dedupe, the self-map stop and bounded depth and fan-out.  Pure logic: it
 * knows nothing of libmilter and keeps no state between calls beyond the
 * caller's struct policy_result, whose buffers are reused so that a warm
 * resolution allocates nothing.
 */
#ifndef HOSTED_MILTER_POLICY_H
#define HOSTED_MILTER_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"
#include "table.h"

enum policy_action {
    POLICY_KEEP,     /* hosted, known, delivered as is */
    POLICY_REWRITE,  /* replace the recipient by the targets */
    POLICY_REJECT,   /* 550 5.1.1 at RCPT */
    POLICY_TEMPFAIL, /* 450 4.1.1 (domain choice) or 451 4.3.0 (limit, error) */
    POLICY_PASS,     /* not ours: the MTA decides */
};

/* The step that decided, for logs and -q debugging. */
enum policy_rule {
    RULE_UNPARSEABLE,     /* pass: the address did not parse */
    RULE_NOT_HOSTED,      /* pass: domain not hosted (or bare, not postmaster) */
    RULE_BARE_POSTMASTER, /* <postmaster> with no domain */
    RULE_EXACT,           /* step 3 */
    RULE_EXTENSION,       /* step 4 */
    RULE_ROLE,            /* step 5 */
    RULE_ALIAS_DOMAIN,    /* step 6 */
    RULE_CATCH_ALL,       /* step 7 */
    RULE_UNKNOWN,         /* step 8 */
    RULE_LIMIT,           /* tempfail: depth or fan-out bound exceeded */
    RULE_BAD_TARGET,      /* tempfail: a target resolved to reject/tempfail */
    RULE_NO_MEMORY,       /* tempfail: allocation failed */
};

struct policy_result {
    enum policy_action action;
    enum policy_rule rule;
    /* For reject/tempfail: "550"/"5.1.1", "450"/"4.1.1" or "451"/"4.3.0";
     * NULL otherwise.  Static strings. */
    const char *status;
    const char *xstatus;
    /* Static English text: why rejected/tempfailed, or why passed. */
    const char *reason;
    /* The recipient in canonical form, case kept, extension included; ""
     * when it did not parse.  Safe to log and to quote in a reply: a
     * parsed address holds no control or 8-bit bytes. */
    char address[ADDR_TEXT_MAX + 1];
    /* For rewrite: the final, deduplicated recipients (policy_target). */
    size_t ntargets;

    /* private: reused between calls */
    char *buf;
    size_t buflen, bufsize;
    size_t *offsets;
    size_t offsize;
};

/* policy_result_init - prepare an empty result (no allocation). */
void policy_result_init(struct policy_result *r);

/* policy_result_free - release the result's buffers; it may be re-initialised. */
void policy_result_free(struct policy_result *r);

/*
 * policy_resolve - decide what happens to the recipient text (len bytes,
 * as the MTA sent it: "<user@domain>", a source route, or bare) under
 * table t.  Fills *r and returns r->action.  Never fails: an unparseable
 * address is POLICY_PASS (rule RULE_UNPARSEABLE, reason says why), and an
 * internal failure is POLICY_TEMPFAIL, never a keep or a reject by
 * accident.  Thread-safe for distinct results over a shared table.
 */
enum policy_action policy_resolve(const struct table *t, const char *text, size_t len,
                                  struct policy_result *r);

/* policy_target - the i-th target of a rewrite (i < r->ntargets); borrowed,
 * valid until the next policy_resolve or policy_result_free on r. */
const char *policy_target(const struct policy_result *r, size_t i);

/* policy_target_is_original - whether the i-th target is the recipient
 * itself (the virtual(5) "map to itself" idiom): the glue then keeps the
 * original instead of deleting and re-adding it. */
bool policy_target_is_original(const struct policy_result *r, size_t i);

/*
 * policy_format_reply - "550 5.1.1 <address>: Recipient address rejected:
 * reason" into buf (size bufsz), for reject/tempfail; with_address false
 * leaves out "<address>: " (Sendmail prefixes the address itself).
 * Returns the length, or 0 for other actions or a too-small buffer.
 */
size_t policy_format_reply(const struct policy_result *r, bool with_address, char *buf,
                           size_t bufsz);

/* policy_action_name, policy_rule_name - "keep", "rewrite", ...; "exact",
 * "extension", ... Static strings. */
const char *policy_action_name(enum policy_action a);
const char *policy_rule_name(enum policy_rule rule);

#endif
