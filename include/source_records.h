/*
 * source_records.h - what one source (a directory, a database) yielded in
 * one load, independent of how it was read: hosted domains, alias domains,
 * mailboxes, secondary addresses, aliases and catch-alls, each with its
 * origin (a DN, a table and row) for diagnostics.
 *
 * Owns the records and every string in them, in one arena freed with the
 * set.  Values are checked and made canonical when added (addr_parse /
 * addr_parse_domain, so UTF-8 local parts are NFC and IDN domains A-labels);
 * a bad value is a diagnostic naming the source and the origin, and the
 * record is left out.  Memory failures set one sticky flag: a set that
 * missed a record is never applied or written (source_records_apply and
 * snapshot_write refuse it).  The backends fill a set; source_records_apply
 * feeds it into a table_builder; snapshot.h keeps it in state_dir.
 */
#ifndef HOSTED_MILTER_SOURCE_RECORDS_H
#define HOSTED_MILTER_SOURCE_RECORDS_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"
#include "table.h"

enum source_kind {
    SOURCE_DOMAIN = 1,   /* key: a hosted domain; no target */
    SOURCE_ALIAS_DOMAIN, /* key: a hosted alias domain; one target: the domain it aliases */
    SOURCE_MAILBOX,      /* key: a mailbox (its primary address); no target */
    SOURCE_SECONDARY,    /* key: a secondary address; one target: its primary mailbox */
    SOURCE_ALIAS,        /* key: an address; one or more target addresses */
    SOURCE_CATCH_ALL,    /* key: a domain; one or more target addresses
                          * (Postfix Admin's "@domain" alias row) */
};
#define SOURCE_KIND_LAST SOURCE_CATCH_ALL

/* Counted bytes as a backend read them: a value from the wire may hold a
 * NUL or any 8-bit byte, and is refused (not truncated) when it does. */
struct source_text {
    const char *p;
    size_t len;
};

/* One record, as kept: every string canonical and NUL-terminated.  Domains
 * are folded A-labels without a trailing dot; addresses keep the case of
 * their local part (the table folds keys itself). */
struct source_record {
    enum source_kind kind;
    const char *key;
    const char *const *targets; /* NULL when ntargets is 0 */
    size_t ntargets;
    const char *origin; /* as the backend gave it; any bytes but NUL */
};

struct source_records;

/*
 * source_records_new - an empty set for the source called name ("uri" of a
 * directory, a source's title; copied; NULL is ""), which prefixes every
 * diagnostic ("NAME: ORIGIN: message").  Returns NULL when out of memory.
 */
struct source_records *source_records_new(const char *name);

/* source_records_free - release the set and all its strings; NULL is safe. */
void source_records_free(struct source_records *r);

/* source_records_name - the name given to source_records_new; borrowed,
 * lives as long as r. */
const char *source_records_name(const struct source_records *r);

/*
 * source_records_add - check one record and keep its canonical form.
 * origin is a C string (a DN, "alias address=x@y"); key and the ntargets
 * targets are counted bytes, copied.  The number of targets must suit the
 * kind (see enum source_kind).  Checks: an address needs a local part and
 * a domain; a domain is a host name, never an address literal; NUL and
 * control bytes, bad UTF-8, IDNA failures and over-long parts are refused.
 *
 * Returns 0 when added; 1 when refused, with one error per bad value in d,
 * at {name, 0}: "NAME: ORIGIN: invalid primary address "x@": malformed
 * domain", or for a target "NAME: ORIGIN: alias a@b: invalid target "y":
 * address needs a domain"; -1 when out of memory (r's sticky flag is set,
 * nothing is added to d).  Nothing is added on refusal: an alias with one
 * bad target is left out whole, as the configuration file does.
 */
int source_records_add(struct source_records *r, enum source_kind kind, const char *origin,
                       struct source_text key, const struct source_text *targets, size_t ntargets,
                       struct diag *d);

/* source_records_add_at - the same, with the diagnostics at `at` instead
 * of {name, 0} (the snapshot reader puts them at path:line). */
int source_records_add_at(struct source_records *r, enum source_kind kind, const char *origin,
                          struct source_text key, const struct source_text *targets,
                          size_t ntargets, struct diag_loc at, struct diag *d);

/* source_records_count, source_records_at - the records in the order they
 * were added (NULL past the end).  The record is borrowed until the next
 * add, its strings until r is freed. */
size_t source_records_count(const struct source_records *r);
const struct source_record *source_records_at(const struct source_records *r, size_t index);

/* source_records_truncate - keep only the first n records (undoes a
 * partial read; the arena keeps the bytes until r is freed). */
void source_records_truncate(struct source_records *r, size_t n);

/* source_records_oom - whether an allocation ever failed in r (sticky). */
bool source_records_oom(const struct source_records *r);

/* source_kind_name - "domain", "alias_domain", "mailbox", "secondary",
 * "alias", "catch_all" (the snapshot's keywords); NULL for another value.
 * source_kind_from_name is the reverse (n bytes; 0 when unknown). */
const char *source_kind_name(enum source_kind kind);
enum source_kind source_kind_from_name(const char *s, size_t n);

/* Which resolution order a source's records follow (source_records_apply). */
enum source_precedence {
    SOURCE_PRECEDENCE_CONFIG = 0, /* the configuration file's order (RESOLUTION): a
                                   * mailbox is never captured by a catch-all */
    SOURCE_PRECEDENCE_POSTFIX,    /* Postfix's, for sources that were Postfix
                                   * maps (SQL): aliases, secondary addresses,
                                   * catch-alls and alias domains as
                                   * virtual_alias_maps, mailboxes as
                                   * virtual_mailbox_maps, so that a catch-all
                                   * captures the mailboxes of its domain that
                                   * have no alias of their own */
};

/*
 * source_records_apply - add the records to builder b, as one more place
 * that defines hosted domains and entries beside the configuration file.
 * Each record's location is {"SOURCE: ORIGIN", 0}, the text interned in b
 * (source_name; NULL: r's name), so that later messages (validation) read
 * "SOURCE: ORIGIN: message" too.  With SOURCE_PRECEDENCE_CONFIG everything
 * is added with TABLE_ORIGIN_CONFIG (the configuration's resolution order; a mailbox is
 * never captured by a catch-all); with SOURCE_PRECEDENCE_POSTFIX mailboxes
 * are added with TABLE_ORIGIN_MAILBOXES and the rest with
 * TABLE_ORIGIN_VIRTUAL (Postfix's order; see table.h).  Either way:
 *   - domains and alias domains are declared hosted first, then alias
 *     domains and catch-alls set, then mailboxes, secondary addresses and
 *     aliases added, each group in record order;
 *   - a mailbox and an alias of the same address are one entry, the alias
 *     (the mailbox forwards; with itself among the targets it keeps a
 *     copy, as Postfix and Postfix Admin's self-alias do);
 *   - any other two records for one address (folded), alias domain or
 *     catch-all are a duplicate: an error at the second naming the first
 *     ("... is already defined by ORIGIN (mailbox a@b)"), or, when the first
 *     is in the configuration or another source, its location;
 *   - a catch-all of a domain nobody declared hosted is a warning and
 *     ignored (Postfix Admin keeps rows of inactive domains).
 * Returns the number of errors added to d, or -1 when out of memory or
 * when r is incomplete (source_records_oom); then b may hold part of the
 * records and d part of the messages: discard the build.
 */
int source_records_apply(const struct source_records *r, struct table_builder *b,
                         const char *source_name, enum source_precedence precedence,
                         struct diag *d);

#endif
