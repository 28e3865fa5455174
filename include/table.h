/*
 * table.h - the immutable in-memory recipient table.
 *
 * Owns the hosted domains, the address entries (mailboxes, secondary
 * addresses, aliases and virtual(5) lines) and the resolution settings, all
 * in one arena.  A table is built once through a table_builder and is then
 * read-only: any number of threads may look things up without locks.  A
 * reference count lets a reload swap tables while messages still hold the
 * old one.
 *
 * Keys are the folded canonical form of addr_format(..., fold=true); every
 * address handed to the builder must already be canonical (see addr.h).
 */
#ifndef HOSTED_MILTER_TABLE_H
#define HOSTED_MILTER_TABLE_H

#include <stdbool.h>
#include <stddef.h>

enum table_kind {
    TABLE_MAILBOX = 1, /* delivered as is; no targets */
    TABLE_SECONDARY,   /* a proxy address: one target, its primary mailbox */
    TABLE_ALIAS,       /* alias section or virtual(5) line: one or more targets */
};

enum unknown_action {
    UNKNOWN_REJECT = 0,
    UNKNOWN_TEMPFAIL,
    UNKNOWN_PASS,
};

struct table_entry {
    const char *key;            /* folded address */
    const char *const *targets; /* canonical addresses, case as configured */
    unsigned ntargets;
    enum table_kind kind;
};

struct table_domain {
    const char *name;             /* folded, no trailing dot */
    const char *postmaster;       /* NULL: inherit (alias domain, then global) */
    const char *alias_domain;     /* NULL: not an alias domain */
    const char *const *catch_all; /* NULL when ncatch_all is 0 */
    unsigned ncatch_all;
    enum unknown_action unknown;
};

/* What resolution needs besides domains and entries.  Strings are copied
 * into the table by table_builder_new. */
struct table_settings {
    const char *postmaster;   /* server-wide postmaster; NULL if unset */
    const char *const *roles; /* role local parts besides "postmaster" */
    unsigned nroles;
    const char *delimiters;      /* recipient_delimiter characters; "" none */
    enum unknown_action unknown; /* default for domains that do not say */
    unsigned max_depth;          /* nesting bound of target resolution */
    unsigned max_targets;        /* fan-out bound per recipient */
};

#define TABLE_DEFAULT_MAX_DEPTH 20
#define TABLE_DEFAULT_MAX_TARGETS 1000

/* Where something was defined, for diagnostics.  file is owned by the
 * builder (or is NULL). */
struct table_loc {
    const char *file;
    unsigned line;
};

struct table;
struct table_builder;

/*
 * table_builder_new - start a table with these settings (copied).  Returns
 * NULL when out of memory.
 */
struct table_builder *table_builder_new(const struct table_settings *settings);

/* table_builder_free - release a builder; NULL is safe.  A table returned
 * by table_builder_finish is not affected. */
void table_builder_free(struct table_builder *b);

/*
 * table_builder_add_domain - declare name (folded, canonical) hosted, with
 * unknown_recipient taken from the settings.  Declaring it again is not an
 * error (a domain block and a virtual(5) domain line may both name it); the
 * first location is kept.  Returns 0, or -1 when out of memory.
 */
int table_builder_add_domain(struct table_builder *b, const char *name, struct table_loc loc);

/*
 * table_builder_set_* - set one attribute of a declared domain.  Return 0
 * on success, 1 when the attribute was already set (*prev, if not NULL,
 * tells where; nothing changes), -1 when out of memory, -2 when the domain
 * was never declared.
 */
int table_builder_set_postmaster(struct table_builder *b, const char *domain, const char *address,
                                 struct table_loc loc, struct table_loc *prev);
int table_builder_set_alias_domain(struct table_builder *b, const char *domain,
                                   const char *target_domain, struct table_loc loc,
                                   struct table_loc *prev);
int table_builder_set_catch_all(struct table_builder *b, const char *domain,
                                const char *const *targets, size_t ntargets, struct table_loc loc,
                                struct table_loc *prev);
int table_builder_set_unknown(struct table_builder *b, const char *domain,
                              enum unknown_action action, struct table_loc loc,
                              struct table_loc *prev);

/*
 * Where the additions to a builder come from.  Between the two kinds of
 * Postfix file the builder applies Postfix's precedence (virtual_alias_maps
 * is looked up before virtual_mailbox_maps); hosted-milter's own sections
 * keep the resolution order (hosted-milter.conf(5)), and any other repeat is a duplicate.
 */
enum table_origin {
    TABLE_ORIGIN_CONFIG = 0, /* hosted-milter's own sections */
    TABLE_ORIGIN_VIRTUAL,    /* a `table` file: virtual(5), virtual_alias_maps */
    TABLE_ORIGIN_MAILBOXES,  /* a `mailbox_table` file: virtual_mailbox_maps */
};

/*
 * table_builder_set_origin - the origin of the entries, catch-alls and
 * alias domains added from now on (TABLE_ORIGIN_CONFIG until set).
 * Returns the previous origin, so that a loader can restore it.
 */
enum table_origin table_builder_set_origin(struct table_builder *b, enum table_origin origin);

/*
 * table_builder_add_entry - add one address entry.  address is canonical
 * (case kept; the builder folds it for the key); targets are copied.  A
 * mailbox takes no targets, a secondary address exactly one.  Returns 0, 1
 * when the folded address is already an entry (*prev says where; nothing
 * changes), -1 when out of memory.
 *
 * Postfix's precedence, where both sides come from Postfix files: an alias
 * from a virtual(5) file replaces a mailbox from a mailbox_table file for
 * the same address (its location becomes the alias line; a self-reference
 * among the targets still delivers to the mailbox, as virtual(5) does),
 * and a mailbox_table mailbox added after such an alias is dropped; both
 * return 0.  A second mailbox_table line for an address already taken
 * this way is a duplicate (*prev is then the entry's location).
 */
int table_builder_add_entry(struct table_builder *b, enum table_kind kind, const char *address,
                            const char *const *targets, size_t ntargets, struct table_loc loc,
                            struct table_loc *prev);

/* table_builder_intern_file - a copy of a file name that lives as long as
 * the builder, for struct table_loc; NULL when out of memory. */
const char *table_builder_intern_file(struct table_builder *b, const char *file);

/*
 * table_builder_finish - build the hash and return the table (reference
 * count 1), or NULL when out of memory (the builder then still owns what
 * was added).  The builder stays valid for table_builder_entry_loc /
 * _domain_loc / _captured and must still be freed; it accepts no more
 * additions.
 *
 * A virtual(5) @domain line captures the mailbox_table mailboxes of its
 * domain: Postfix matches "@domain" in virtual_alias_maps before it looks
 * at virtual_mailbox_maps, so a mailbox without a virtual(5) entry of its
 * own gets the catch-all's mail (or, for "@domain @other", moves to the
 * other domain).  Those mailboxes are left out of the table here.  This
 * applies only when the @domain line is what resolution uses for the
 * domain (an alias domain before a catch-all) and came from a virtual(5)
 * file; mailboxes of hosted-milter's own sections are never captured.
 */
struct table *table_builder_finish(struct table_builder *b);

/*
 * table_builder_captured - after finish: how many mailbox_table mailboxes
 * the @domain line of the index-th domain captured (0: none).  When not 0,
 * *at is that line's location and *example one of the captured addresses
 * (folded; lives as long as the builder).
 */
size_t table_builder_captured(const struct table_builder *b, size_t index, struct table_loc *at,
                              const char **example);

/* Locations of the i-th entry / domain of the finished table, in the
 * index order of table_entry_at / table_domain_at. */
struct table_loc table_builder_entry_loc(const struct table_builder *b, size_t index);
struct table_loc table_builder_domain_loc(const struct table_builder *b, size_t index);

/* The settings of a domain whose place the builder keeps. */
enum table_domain_setting {
    TABLE_SETTING_POSTMASTER,
    TABLE_SETTING_ALIAS_DOMAIN,
    TABLE_SETTING_CATCH_ALL,
};

/* table_builder_setting_loc - after finish: where that setting of the
 * index-th domain was made; {NULL, 0} when it was not (or before finish). */
struct table_loc table_builder_setting_loc(const struct table_builder *b, size_t index,
                                           enum table_domain_setting which);

/*
 * table_lookup - find the entry for a folded address key of keylen bytes.
 * Returns 1 and sets *out (borrowed, lives as long as the table), 0 when
 * absent.  (Never -1: the table is in memory; the tri-state is kept so a
 * future backend can fail.)
 */
int table_lookup(const struct table *t, const char *key, size_t keylen,
                 const struct table_entry **out);

/*
 * A lookup split in two, so that the memory it waits for can be asked for
 * early: table_key_prepare hashes key (len bytes, borrowed until the
 * lookup) and prefetches the index slot it will probe; table_lookup_key
 * then does what table_lookup does.  Resolution prepares the address and
 * its extension-less form together, so that both probes wait for memory
 * at the same time, not one after the other.
 */
struct table_key {
    const char *key;
    size_t len;
    unsigned hash;
};

void table_key_prepare(const struct table *t, struct table_key *k, const char *key, size_t len);
/* table_key_hint - only ask for the index memory of key, without waiting
 * for it (table_key_prepare waits for the index to ask for the record). */
void table_key_hint(const struct table *t, const char *key, size_t len);
int table_lookup_key(const struct table *t, const struct table_key *k,
                     const struct table_entry **out);

/* table_domain_lookup - the same for a folded domain name. */
int table_domain_lookup(const struct table *t, const char *name, size_t len,
                        const struct table_domain **out);

/*
 * What a target string is known to resolve to, decided once at finish so
 * that resolution can skip its lookups: a declared mailbox in a hosted
 * domain, or an address outside every hosted domain (both resolve to
 * themselves), or anything else (to be resolved).
 */
enum table_target_class {
    TARGET_UNCLASSIFIED = 0,
    TARGET_MAILBOX,
    TARGET_ELSEWHERE,
};

/* table_target_class - the class of a target string borrowed from a
 * finished table (entry targets, postmasters, catch-alls, the settings'
 * postmaster); any other string is undefined behaviour. */
enum table_target_class table_target_class(const char *target);

/* table_extension_keys - whether some entry's local part holds a
 * recipient_delimiter character after its first byte, so that a target
 * with an extension appended could itself be an entry. */
bool table_extension_keys(const struct table *t);

/* Read-only views; all borrowed from the table. */
const struct table_settings *table_settings(const struct table *t);
size_t table_entry_count(const struct table *t);
const struct table_entry *table_entry_at(const struct table *t, size_t index);
/* table_entry_index - the index of an entry of t (as from table_lookup),
 * or (size_t)-1 for a pointer that is not one of t's entries. */
size_t table_entry_index(const struct table *t, const struct table_entry *e);
size_t table_domain_count(const struct table *t);
const struct table_domain *table_domain_at(const struct table *t, size_t index);
size_t table_domain_index(const struct table *t, const struct table_domain *d);
size_t table_count_kind(const struct table *t, enum table_kind kind);

/* Bytes the table holds in its arena, hash and arrays (for benchmarks). */
size_t table_memory(const struct table *t);

/* table_ref - take one more reference; returns t. */
struct table *table_ref(struct table *t);

/* table_unref - drop one reference, freeing the table at zero; NULL is
 * safe.  Thread-safe. */
void table_unref(struct table *t);

#endif
