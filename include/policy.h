/*
 * policy.h - resolution of one envelope recipient against a table.
 *
 * Owns the resolution rules (hosted-milter.conf(5), RESOLUTION): bare postmaster,
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
    POLICY_REJECT,   /* 550 5.1.1 (unknown) or 550 5.1.3 (bad syntax) at RCPT */
    POLICY_TEMPFAIL, /* 450 4.1.1 (domain choice) or 451 4.3.0 (limit, error) */
    POLICY_PASS,     /* not ours: the MTA decides */
};
/* How many actions there are (the metrics count each; keep PASS last). */
#define POLICY_ACTION_COUNT (POLICY_PASS + 1)

/* The step that decided, for logs and -q debugging. */
enum policy_rule {
    RULE_UNPARSEABLE,     /* pass: the address did not parse and names no
                             hosted domain (or a pass domain) */
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
    RULE_BAD_SYNTAX,      /* reject 5.1.3: malformed address in a hosted domain */
};
/* How many rules there are (the metrics count each; keep BAD_SYNTAX last). */
#define POLICY_RULE_COUNT (RULE_BAD_SYNTAX + 1)

struct policy_result {
    enum policy_action action;
    enum policy_rule rule;
    /* For reject/tempfail: "550"/"5.1.1", "450"/"4.1.1" or "451"/"4.3.0";
     * NULL otherwise.  Static strings. */
    const char *status;
    const char *xstatus;
    /* Static English text: why rejected/tempfailed, or why passed. */
    const char *reason;
    /* The recipient in canonical form, case kept, extension included, the
     * domain in A-label form; "" when it did not parse.  It holds no
     * control bytes, but may hold UTF-8 (SMTPUTF8): escape it for logs. */
    char address[ADDR_TEXT_MAX + 1];
    /* The recipient as a reply names it: the canonical form, or for an
     * address that did not parse the text as given (bounded, brackets
     * dropped); raw bytes, escaped by policy_format_reply. */
    char shown[ADDR_TEXT_MAX + 1];
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
 * table t.  Fills *r and returns r->action.  Never fails: an address that
 * does not parse (or has an empty local part) is refused with 550 5.1.3
 * (rule RULE_BAD_SYNTAX) when its domain, read leniently, is hosted and
 * not a pass domain, else it is POLICY_PASS (RULE_UNPARSEABLE); reason
 * says why.  An internal failure is POLICY_TEMPFAIL, never a keep or a
 * reject by accident.  Thread-safe for distinct results over a shared
 * table.
 */
enum policy_action policy_resolve(const struct table *t, const char *text, size_t len,
                                  struct policy_result *r);

/*
 * policy_resolve_rcpt - the same for a recipient as an MTA hands it over:
 * rcpt is the RCPT argument (argv[0]), mta_addr the MTA's own reading of
 * it (the {rcpt_addr} macro; NULL when not sent).  The address of record
 * is the MTA's reading, because that is what the MTA delivers: Postfix
 * has already removed comments, spaces and backslashes there.  The RCPT
 * argument decides instead when it is the bare <postmaster> (Postfix
 * reports that as postmaster@$myorigin) and when mta_addr has no domain
 * (Sendmail's local mailer).  A malformed address is refused when either
 * text names a hosted domain.
 */
enum policy_action policy_resolve_rcpt(const struct table *t, const char *rcpt,
                                       const char *mta_addr, struct policy_result *r);

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
 * leaves out "<address>: " (Sendmail prefixes the address itself).  The
 * address is r->shown with control, non-ASCII and backslash bytes as
 * \xHH, so a reply is always printable ASCII; when the escaped address
 * does not fit in bufsz, the reply leaves it out.  Returns the length, or
 * 0 for other actions or a buffer too small even for that.
 */
size_t policy_format_reply(const struct policy_result *r, bool with_address, char *buf,
                           size_t bufsz);

/* policy_action_name, policy_rule_name - "keep", "rewrite", ...; "exact",
 * "extension", ... Static strings. */
const char *policy_action_name(enum policy_action a);
const char *policy_rule_name(enum policy_rule rule);

#endif
