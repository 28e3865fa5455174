/*
 * rcpt_plan.h - the end-of-message recipient edits of one message.
 *
 * Owns the per-message record of what RCPT decided (recipients kept as
 * they are, recipients to rewrite with their ESMTP arguments and targets)
 * and turns it, at end of message, into the ordered list of milter edits:
 * every add first, then every delete, so that a failed add can never
 * leave a recipient deleted.  The rules (see mta-integration-facts.md
 * §2, §7, §8) live here, pure and unit-tested, so that the libmilter glue
 * only replays the list:
 *   - a target already delivered in this message (a kept recipient, an
 *     original that stays, an earlier added target; case-insensitive) is
 *     not added again;
 *   - an original that is itself among the message's targets (the
 *     virtual(5) self-map) is not deleted, and not re-added;
 *   - ORCPT= is the client's own when it is well-formed (RFC 3461: type,
 *     ';', xtext, at most 500 characters), else "rfc822;" + xtext(original
 *     address without brackets and source route);
 *   - NOTIFY= is the client's with SUCCESS removed (NEVER when nothing is
 *     left), so that delivery reports never disclose the target; none
 *     given, none passed;
 *   - the delete string is the RCPT argument verbatim, except that Postfix
 *     stores a recipient without its source route, so for Postfix the route
 *     is cut out (the rest kept byte for byte); for an unknown MTA both
 *     forms are deleted.
 * No libmilter here.  Not thread-safe: one plan belongs to one connection.
 */
#ifndef HOSTED_MILTER_RCPT_PLAN_H
#define HOSTED_MILTER_RCPT_PLAN_H

#include <stdbool.h>
#include <stddef.h>

enum rcpt_mta {
    RCPT_MTA_UNKNOWN = 0,
    RCPT_MTA_POSTFIX,
    RCPT_MTA_SENDMAIL,
};

/* rcpt_plan_mta - the MTA named by the milter macro v: "Postfix 3.7.11" is
 * Postfix, a version number ("8.17.1.9") is Sendmail; NULL, "" or anything
 * else is unknown. */
enum rcpt_mta rcpt_plan_mta(const char *v);

/* One rewritten recipient, as recorded at RCPT; read-only for callers. */
struct rcpt_rewrite {
    char *rcpt;     /* the RCPT argument exactly as the MTA sent it (argv[0]) */
    char *address;  /* its canonical form (policy_result.address) */
    char *rule;     /* the rule that decided, for the log */
    char **targets; /* canonical targets, in order */
    size_t ntargets;
    char *args; /* "ORCPT=... [NOTIFY=...]" for smfi_addrcpt_par */
    /* Set by rcpt_plan_finish: */
    bool keep_original; /* the original stays (self-map): not deleted */
    size_t nadded;      /* targets actually added (after dedupe) */
};

enum rcpt_edit_kind {
    RCPT_EDIT_ADD,
    RCPT_EDIT_DELETE,
};

struct rcpt_edit {
    enum rcpt_edit_kind kind;
    char *rcpt;     /* add: "<target>"; delete: the string to delete (do not modify) */
    char *args;     /* add: the ESMTP arguments; delete: NULL (do not modify) */
    size_t rewrite; /* index of the rewrite it belongs to */
};

struct rcpt_plan;

/* rcpt_plan_new - an empty plan, or NULL when out of memory. */
struct rcpt_plan *rcpt_plan_new(void);

/* rcpt_plan_free - release the plan and everything it copied; NULL is safe. */
void rcpt_plan_free(struct rcpt_plan *p);

/* rcpt_plan_reset - forget the message (at MAIL FROM, after EOM, at abort);
 * keeps the allocated capacity for the next message. */
void rcpt_plan_reset(struct rcpt_plan *p);

/*
 * rcpt_plan_keep - record a recipient that is delivered as is (keep or
 * pass), by its canonical address, so that no rewrite adds it a second
 * time.  "" (an unparseable address) is ignored.  Returns 0, or -1 when out
 * of memory (the plan stays usable; the recipient is then not deduplicated).
 */
int rcpt_plan_keep(struct rcpt_plan *p, const char *address);

/*
 * rcpt_plan_rewrite - record a recipient to rewrite.  rcpt is argv[0]
 * verbatim; address its canonical form; args the ESMTP arguments
 * (argv + 1, NULL-terminated; NULL for none): only ORCPT= and NOTIFY= are
 * used; rule a name for the log; targets the ntargets final targets
 * (canonical, without brackets).  Everything is copied.  Returns 0, or -1
 * when out of memory (nothing recorded).
 */
int rcpt_plan_rewrite(struct rcpt_plan *p, const char *rcpt, const char *address, char *const *args,
                      const char *rule, const char *const *targets, size_t ntargets);

/*
 * rcpt_plan_finish - compute the edits for the message as recorded, for
 * that MTA.  Call once, after the last RCPT; then read the edits.  Returns
 * 0, or -1 when out of memory (then the message must be tempfailed).
 */
int rcpt_plan_finish(struct rcpt_plan *p, enum rcpt_mta mta);

/* The rewrites in RCPT order, and the edits in the order to apply them
 * (all adds, then all deletes).  Borrowed from p until the next reset. */
size_t rcpt_plan_rewrite_count(const struct rcpt_plan *p);
const struct rcpt_rewrite *rcpt_plan_rewrite_at(const struct rcpt_plan *p, size_t i);
size_t rcpt_plan_edit_count(const struct rcpt_plan *p);
const struct rcpt_edit *rcpt_plan_edit_at(const struct rcpt_plan *p, size_t i);

#endif
