/*
 * source_fixture.h - what the tests of source records and snapshots share:
 * records written as C strings, adding them, building a table from them
 * (optionally after one entry of a configuration file), checking the exact
 * diagnostics, and one source's worth of records of every kind.
 */
#ifndef HOSTED_MILTER_SOURCE_FIXTURE_H
#define HOSTED_MILTER_SOURCE_FIXTURE_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "source_records.h"
#include "table.h"

#define N(table) ((int)(sizeof(table) / sizeof(*(table))))
#define MAX_TARGETS 4
#define MAX_DIAGS 4

/* One record as a test writes it: C strings, except that key_len (when
 * not 0) gives the key's length, to put a NUL inside it. */
struct rec {
    enum source_kind kind;
    const char *origin, *key;
    const char *targets[MAX_TARGETS];
    size_t key_len;
};

static inline size_t ntargets(const struct rec *x)
{
    size_t n = 0;

    while (n < MAX_TARGETS && x->targets[n] != NULL)
        n++;
    return n;
}

static inline int add(struct source_records *r, const struct rec *x, struct diag *d)
{
    struct source_text key = {x->key, x->key_len ? x->key_len : strlen(x->key)}, t[MAX_TARGETS];
    size_t n = ntargets(x);

    for (size_t i = 0; i < n; i++)
        t[i] = (struct source_text){x->targets[i], strlen(x->targets[i])};
    return source_records_add(r, x->kind, x->origin, key, t, n, d);
}

static inline void dump(const struct diag *d)
{
    for (size_t i = 0; i < diag_size(d); i++)
        fprintf(stderr, "  diag: %s\n", diag_text(d, i));
}

/* expect_diags - d holds exactly the messages of want (NULL-terminated). */
static inline void expect_diags(const struct diag *d, const char *const *want)
{
    size_t n = 0;

    while (n < MAX_DIAGS && want[n] != NULL)
        n++;
    if (diag_size(d) != n)
        dump(d);
    ck_assert_uint_eq(diag_size(d), n);
    for (size_t i = 0; i < n; i++)
        ck_assert_str_eq(diag_text(d, i), want[i]);
}

/* A built table from records, with its builder and messages. */
struct build {
    struct table_builder *b;
    struct table *t;
    struct diag *d;
    int errors;
};

static inline void build_with(struct build *x, const struct source_records *r,
                              const struct rec *before, enum source_precedence precedence)
{
    struct table_settings s = {.delimiters = "+", .unknown = UNKNOWN_REJECT};

    x->b = table_builder_new(&s);
    x->d = diag_new();
    ck_assert_ptr_nonnull(x->b);
    ck_assert_ptr_nonnull(x->d);
    if (before != NULL) { /* an entry of the configuration file, say */
        struct table_loc at = {table_builder_intern_file(x->b, "/etc/hm.conf"), 12};
        ck_assert_int_eq(
            table_builder_add_entry(x->b, TABLE_MAILBOX, before->key, NULL, 0, at, NULL), 0);
    }
    x->errors = source_records_apply(r, x->b, NULL, precedence, x->d);
    ck_assert_int_ge(x->errors, 0);
    ck_assert_uint_eq((size_t)x->errors, diag_count(x->d, DIAG_ERROR));
    x->t = table_builder_finish(x->b);
    ck_assert_ptr_nonnull(x->t);
}

static inline void build(struct build *x, const struct source_records *r, const struct rec *before)
{
    build_with(x, r, before, SOURCE_PRECEDENCE_CONFIG);
}

static inline void build_done(struct build *x)
{
    table_unref(x->t);
    table_builder_free(x->b);
    diag_free(x->d);
}

static inline struct source_records *records(const char *name, const struct rec *v, size_t n)
{
    struct source_records *r = source_records_new(name);
    struct diag *d = diag_new();

    ck_assert_ptr_nonnull(r);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(add(r, &v[i], d), 0);
    if (diag_size(d) > 0)
        dump(d);
    ck_assert_uint_eq(diag_size(d), 0);
    diag_free(d);
    return r;
}

/* A directory's worth of records: every kind, UTF-8 and IDN, a mailbox
 * with its own alias (keeping a copy, and not). */
static const struct rec corp[] = {
    {SOURCE_DOMAIN, "cn=corp", "Corp.Example.", {NULL}, 0},
    {SOURCE_DOMAIN, "cn=buecher", "bücher.example", {NULL}, 0},
    {SOURCE_ALIAS_DOMAIN, "cn=alias", "alias.example", {"corp.example"}, 0},
    {SOURCE_MAILBOX, "cn=bob", "bob@corp.example", {NULL}, 0},
    {SOURCE_SECONDARY, "cn=bob", "Robert@CORP.example", {"bob@corp.example"}, 0},
    {SOURCE_MAILBOX, "cn=pm", "postmaster@corp.example", {NULL}, 0},
    {SOURCE_ALIAS, "cn=sales", "sales@corp.example", {"bob@corp.example", "ext@else.example"}, 0},
    {SOURCE_MAILBOX, "mailbox username=alice@corp.example", "alice@corp.example", {NULL}, 0},
    {SOURCE_ALIAS,
     "alias address=alice@corp.example",
     "alice@corp.example",
     {"alice@corp.example", "bob@corp.example"},
     0},
    {SOURCE_ALIAS, "alias address=fwd@corp.example", "fwd@corp.example", {"ext@else.example"}, 0},
    {SOURCE_MAILBOX, "mailbox username=fwd@corp.example", "fwd@corp.example", {NULL}, 0},
    {SOURCE_MAILBOX, "cn=jörg", "jörg@bücher.example", {NULL}, 0},
    {SOURCE_MAILBOX, "cn=pm2", "postmaster@xn--bcher-kva.example", {NULL}, 0},
    {SOURCE_CATCH_ALL,
     "alias address=@bücher.example",
     "bücher.example",
     {"jörg@xn--bcher-kva.example"},
     0},
};

#endif
