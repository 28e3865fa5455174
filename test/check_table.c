/*
 * check_table.c - unit tests of the table builder and lookups: duplicate
 * detection with locations, attribute conflicts, folding, growth past many
 * rehashes, interning, reference counting, Postfix's precedence between
 * origins, the mailboxes a virtual(5) @domain captures at finish, and
 * exact matching behind equal hash fingerprints.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"
#include "util.h"

static struct table_builder *builder;

static void setup(void)
{
    static const char *const roles[] = {"Abuse", "HostMaster"};
    struct table_settings s = {
        .postmaster = "Admin@corp.example",
        .roles = roles,
        .nroles = 2,
        .delimiters = "+-",
        .unknown = UNKNOWN_TEMPFAIL,
    };
    builder = table_builder_new(&s);
    ck_assert_ptr_nonnull(builder);
}

static void teardown(void)
{
    table_builder_free(builder);
    builder = NULL;
}

static struct table_loc at(unsigned line)
{
    return (struct table_loc){"test.conf", line};
}

START_TEST(test_settings_copied_and_defaulted)
{
    struct table *t = table_builder_finish(builder);
    const struct table_settings *s = table_settings(t);

    ck_assert_str_eq(s->postmaster, "Admin@corp.example");
    ck_assert_uint_eq(s->nroles, 2);
    ck_assert_str_eq(s->roles[0], "abuse"); /* folded */
    ck_assert_str_eq(s->roles[1], "hostmaster");
    ck_assert_str_eq(s->delimiters, "+-");
    ck_assert_int_eq(s->unknown, UNKNOWN_TEMPFAIL);
    ck_assert_uint_eq(s->max_depth, TABLE_DEFAULT_MAX_DEPTH);
    ck_assert_uint_eq(s->max_targets, TABLE_DEFAULT_MAX_TARGETS);
    table_unref(t);
}
END_TEST

START_TEST(test_entry_lookup_folded)
{
    const char *targets[] = {"Bob@corp.example", "carol@corp.example"};
    const struct table_entry *e;

    ck_assert_int_eq(
        table_builder_add_entry(builder, TABLE_ALIAS, "Sales@Example.org", targets, 2, at(3), NULL),
        0);
    struct table *t = table_builder_finish(builder);
    ck_assert_int_eq(table_lookup(t, "sales@example.org", 17, &e), 1);
    ck_assert_str_eq(e->key, "sales@example.org");
    ck_assert_int_eq(e->kind, TABLE_ALIAS);
    ck_assert_uint_eq(e->ntargets, 2);
    ck_assert_str_eq(e->targets[0], "Bob@corp.example"); /* targets keep their case */
    ck_assert_str_eq(e->targets[1], "carol@corp.example");
    /* keys are looked up folded, by length, not by prefix */
    ck_assert_int_eq(table_lookup(t, "Sales@Example.org", 17, &e), 0);
    ck_assert_int_eq(table_lookup(t, "sales@example.orgX", 17, &e), 1);
    ck_assert_int_eq(table_lookup(t, "sales@example.or", 16, &e), 0);
    ck_assert_int_eq(table_lookup(t, "nobody@example.org", 18, &e), 0);
    table_unref(t);
}
END_TEST

START_TEST(test_duplicate_entry_reports_first_location)
{
    const char *target = "alice@corp.example";
    struct table_loc prev = {NULL, 0};

    ck_assert_int_eq(table_builder_add_entry(builder, TABLE_SECONDARY, "a@example.org", &target, 1,
                                             at(10), NULL),
                     0);
    ck_assert_int_eq(
        table_builder_add_entry(builder, TABLE_MAILBOX, "A@EXAMPLE.ORG", NULL, 0, at(20), &prev),
        1);
    ck_assert_str_eq(prev.file, "test.conf");
    ck_assert_uint_eq(prev.line, 10);
    struct table *t = table_builder_finish(builder);
    ck_assert_uint_eq(table_entry_count(t), 1);
    ck_assert_uint_eq(table_count_kind(t, TABLE_SECONDARY), 1);
    ck_assert_uint_eq(table_count_kind(t, TABLE_MAILBOX), 0);
    ck_assert_uint_eq(table_builder_entry_loc(builder, 0).line, 10);
    ck_assert_ptr_null(table_builder_entry_loc(builder, 1).file);
    table_unref(t);
}
END_TEST

START_TEST(test_domain_attributes)
{
    const struct table_domain *d;
    struct table_loc prev = {NULL, 0};
    const char *catch_all[] = {"info@corp.example"};

    ck_assert_int_eq(table_builder_add_domain(builder, "Example.ORG", at(1)), 0);
    ck_assert_int_eq(table_builder_add_domain(builder, "example.org", at(2)), 0); /* again */
    ck_assert_int_eq(
        table_builder_set_postmaster(builder, "example.org", "pm@corp.example", at(3), NULL), 0);
    ck_assert_int_eq(
        table_builder_set_postmaster(builder, "EXAMPLE.org", "x@corp.example", at(4), &prev), 1);
    ck_assert_uint_eq(prev.line, 3);
    ck_assert_int_eq(
        table_builder_set_alias_domain(builder, "example.org", "Corp.Example", at(5), NULL), 0);
    ck_assert_int_eq(
        table_builder_set_alias_domain(builder, "example.org", "x.example", at(6), &prev), 1);
    ck_assert_uint_eq(prev.line, 5);
    ck_assert_int_eq(table_builder_set_catch_all(builder, "example.org", catch_all, 1, at(7), NULL),
                     0);
    ck_assert_int_eq(
        table_builder_set_catch_all(builder, "example.org", catch_all, 1, at(8), &prev), 1);
    ck_assert_uint_eq(prev.line, 7);
    ck_assert_int_eq(table_builder_set_unknown(builder, "example.org", UNKNOWN_PASS, at(9), NULL),
                     0);
    ck_assert_int_eq(
        table_builder_set_unknown(builder, "example.org", UNKNOWN_REJECT, at(11), &prev), 1);
    ck_assert_uint_eq(prev.line, 9);
    /* never declared */
    ck_assert_int_eq(
        table_builder_set_postmaster(builder, "other.example", "pm@corp.example", at(12), NULL),
        -2);
    ck_assert_int_eq(table_builder_add_domain(builder, "plain.example", at(13)), 0);

    struct table *t = table_builder_finish(builder);
    ck_assert_uint_eq(table_domain_count(t), 2);
    ck_assert_int_eq(table_domain_lookup(t, "example.org", 11, &d), 1);
    ck_assert_str_eq(d->name, "example.org");
    ck_assert_str_eq(d->postmaster, "pm@corp.example");
    ck_assert_str_eq(d->alias_domain, "corp.example");
    ck_assert_uint_eq(d->ncatch_all, 1);
    ck_assert_str_eq(d->catch_all[0], "info@corp.example");
    ck_assert_int_eq(d->unknown, UNKNOWN_PASS);
    ck_assert_uint_eq(table_builder_domain_loc(builder, 0).line, 1);
    ck_assert_int_eq(table_domain_lookup(t, "plain.example", 13, &d), 1);
    ck_assert_ptr_null(d->postmaster);
    ck_assert_int_eq(d->unknown, UNKNOWN_TEMPFAIL); /* the default from the settings */
    ck_assert_int_eq(table_domain_lookup(t, "other.example", 13, &d), 0);
    ck_assert_ptr_eq(table_domain_at(t, 1), d);
    ck_assert_ptr_null(table_domain_at(t, 2));
    table_unref(t);
}
END_TEST

START_TEST(test_builder_closed_after_finish)
{
    struct table *t = table_builder_finish(builder);

    ck_assert_ptr_null(table_builder_finish(builder));
    ck_assert_int_eq(
        table_builder_add_entry(builder, TABLE_MAILBOX, "x@y.example", NULL, 0, at(1), NULL), -1);
    ck_assert_int_eq(table_builder_add_domain(builder, "y.example", at(1)), -1);
    table_unref(t);
}
END_TEST

/* The size hint: an index sized up front holds what is added, past the
 * hint too; an impossible hint fails and leaves the builder usable. */
START_TEST(test_expect_entries_hint)
{
    char addr[64];
    const struct table_entry *e;
    enum { N = 3000 };

    ck_assert_int_eq(table_builder_expect_entries(builder, (size_t)UINT32_MAX + 1), -1);
    ck_assert_int_eq(table_builder_expect_entries(builder, N / 2), 0);
    for (int i = 0; i < N; i++) {
        snprintf(addr, sizeof(addr), "user%d@example.org", i);
        ck_assert_int_eq(table_builder_add_entry(builder, TABLE_MAILBOX, addr, NULL, 0,
                                                 at((unsigned)i + 1), NULL),
                         0);
        if (i == N / 4)
            ck_assert_int_eq(table_builder_expect_entries(builder, N), 0);
    }
    struct table *t = table_builder_finish(builder);
    ck_assert_int_eq(table_builder_expect_entries(builder, 1), -1); /* finished */
    ck_assert_uint_eq(table_entry_count(t), N);
    for (int i = 0; i < N; i++) {
        snprintf(addr, sizeof(addr), "user%d@example.org", i);
        ck_assert_int_eq(table_lookup(t, addr, strlen(addr), &e), 1);
        ck_assert_uint_eq(table_entry_index(t, e), (size_t)i);
    }
    ck_assert_int_eq(table_lookup(t, "user3000@example.org", 20, &e), 0);
    table_unref(t);
}
END_TEST

START_TEST(test_many_entries_and_interning)
{
    char addr[64], mailbox[64];
    const char *target = mailbox;
    const struct table_entry *e, *e2;
    enum { N = 50000 };

    for (int i = 0; i < N; i++) {
        snprintf(addr, sizeof(addr), "user%d@d%d.example", i, i % 97);
        snprintf(mailbox, sizeof(mailbox), "box%d@corp.example", i % 100);
        ck_assert_int_eq(table_builder_add_entry(builder, TABLE_SECONDARY, addr, &target, 1,
                                                 at((unsigned)i + 1), NULL),
                         0);
    }
    struct table *t = table_builder_finish(builder);
    ck_assert_uint_eq(table_entry_count(t), N);
    for (int i = 0; i < N; i += 997) {
        snprintf(addr, sizeof(addr), "user%d@d%d.example", i, i % 97);
        ck_assert_int_eq(table_lookup(t, addr, strlen(addr), &e), 1);
        ck_assert_uint_eq(table_builder_entry_loc(builder, table_entry_index(t, e)).line,
                          (unsigned)i + 1);
    }
    /* the same target text is stored once */
    ck_assert_int_eq(table_lookup(t, "user1@d1.example", 16, &e), 1);
    ck_assert_int_eq(table_lookup(t, "user101@d4.example", 18, &e2), 1);
    ck_assert_ptr_eq(e->targets[0], e2->targets[0]);
    ck_assert_uint_gt(table_memory(t), (size_t)N * 24);
    table_unref(t);
}
END_TEST

START_TEST(test_reference_count)
{
    struct table *t = table_builder_finish(builder);

    ck_assert_ptr_eq(table_ref(t), t);
    table_unref(t);
    table_unref(t); /* the last reference frees; ASan/valgrind would tell otherwise */
    table_unref(NULL);
}
END_TEST

START_TEST(test_free_unfinished_builder)
{
    const char *target = "x@corp.example";

    ck_assert_int_eq(
        table_builder_add_entry(builder, TABLE_ALIAS, "a@b.example", &target, 1, at(1), NULL), 0);
    /* teardown frees the builder and with it the unfinished table */
    table_builder_free(NULL);
}
END_TEST

START_TEST(test_bad_arguments)
{
    char longaddr[400];

    memset(longaddr, 'a', sizeof(longaddr) - 1);
    longaddr[sizeof(longaddr) - 1] = '\0';
    ck_assert_int_eq(
        table_builder_add_entry(builder, TABLE_MAILBOX, longaddr, NULL, 0, at(1), NULL), -1);
    ck_assert_int_eq(
        table_builder_add_entry(builder, (enum table_kind)0, "a@b.example", NULL, 0, at(1), NULL),
        -1);
    ck_assert_int_eq(table_builder_set_unknown(builder, longaddr, UNKNOWN_PASS, at(1), NULL), -2);
}
END_TEST

/* ---- origins: Postfix's precedence between its two kinds of file --------- */

START_TEST(test_origin_set_returns_previous)
{
    ck_assert_int_eq(table_builder_set_origin(builder, TABLE_ORIGIN_VIRTUAL), TABLE_ORIGIN_CONFIG);
    ck_assert_int_eq(table_builder_set_origin(builder, TABLE_ORIGIN_MAILBOXES),
                     TABLE_ORIGIN_VIRTUAL);
    ck_assert_int_eq(table_builder_set_origin(builder, TABLE_ORIGIN_CONFIG),
                     TABLE_ORIGIN_MAILBOXES);
}
END_TEST

/* Which repeat of one address is settled by precedence (0) and which is a
 * duplicate (1): {first origin, first kind, second origin, second kind}. */
static const struct {
    enum table_origin o1;
    enum table_kind k1;
    enum table_origin o2;
    enum table_kind k2;
    int rc;
    enum table_kind kind; /* of the entry afterwards */
    unsigned line;        /* its location */
} precedence_rows[] = {
    {TABLE_ORIGIN_MAILBOXES, TABLE_MAILBOX, TABLE_ORIGIN_VIRTUAL, TABLE_ALIAS, 0, TABLE_ALIAS, 2},
    {TABLE_ORIGIN_VIRTUAL, TABLE_ALIAS, TABLE_ORIGIN_MAILBOXES, TABLE_MAILBOX, 0, TABLE_ALIAS, 1},
    {TABLE_ORIGIN_MAILBOXES, TABLE_MAILBOX, TABLE_ORIGIN_MAILBOXES, TABLE_MAILBOX, 1, TABLE_MAILBOX,
     1},
    {TABLE_ORIGIN_VIRTUAL, TABLE_ALIAS, TABLE_ORIGIN_VIRTUAL, TABLE_ALIAS, 1, TABLE_ALIAS, 1},
    {TABLE_ORIGIN_CONFIG, TABLE_MAILBOX, TABLE_ORIGIN_VIRTUAL, TABLE_ALIAS, 1, TABLE_MAILBOX, 1},
    {TABLE_ORIGIN_CONFIG, TABLE_ALIAS, TABLE_ORIGIN_MAILBOXES, TABLE_MAILBOX, 1, TABLE_ALIAS, 1},
    {TABLE_ORIGIN_MAILBOXES, TABLE_MAILBOX, TABLE_ORIGIN_CONFIG, TABLE_ALIAS, 1, TABLE_MAILBOX, 1},
    {TABLE_ORIGIN_VIRTUAL, TABLE_ALIAS, TABLE_ORIGIN_CONFIG, TABLE_MAILBOX, 1, TABLE_ALIAS, 1},
};

START_TEST(test_origin_precedence)
{
    const char *targets[] = {"x@corp.example"};
    const struct table_entry *e;
    struct table_loc prev = {NULL, 0};

    table_builder_set_origin(builder, precedence_rows[_i].o1);
    ck_assert_int_eq(table_builder_add_entry(builder, precedence_rows[_i].k1, "a@example.org",
                                             targets, precedence_rows[_i].k1 != TABLE_MAILBOX,
                                             at(1), NULL),
                     0);
    table_builder_set_origin(builder, precedence_rows[_i].o2);
    ck_assert_int_eq(table_builder_add_entry(builder, precedence_rows[_i].k2, "A@example.org",
                                             targets, precedence_rows[_i].k2 != TABLE_MAILBOX,
                                             at(2), &prev),
                     precedence_rows[_i].rc);
    if (precedence_rows[_i].rc == 1)
        ck_assert_uint_eq(prev.line, 1);
    struct table *t = table_builder_finish(builder);
    ck_assert_int_eq(table_lookup(t, "a@example.org", 13, &e), 1);
    ck_assert_int_eq(e->kind, precedence_rows[_i].kind);
    ck_assert_uint_eq(e->ntargets, precedence_rows[_i].kind == TABLE_MAILBOX ? 0 : 1);
    ck_assert_uint_eq(table_builder_entry_loc(builder, 0).line, precedence_rows[_i].line);
    ck_assert_uint_eq(table_count_kind(t, precedence_rows[_i].kind), 1);
    ck_assert_uint_eq(table_entry_count(t), 1);
    table_unref(t);
}
END_TEST

/* A virtual(5) @domain captures mailbox_table mailboxes at finish; native
 * mailboxes and other domains stay; the index still finds the rest. */
START_TEST(test_capture_at_finish)
{
    const char *catch_all[] = {"info@corp.example"};
    const struct table_entry *e;
    struct table_loc where;
    const char *example;
    char addr[64];

    ck_assert_int_eq(table_builder_add_domain(builder, "example.org", at(1)), 0);
    ck_assert_int_eq(table_builder_add_domain(builder, "corp.example", at(1)), 0);
    ck_assert_int_eq(
        table_builder_add_entry(builder, TABLE_MAILBOX, "native@example.org", NULL, 0, at(2), NULL),
        0);
    table_builder_set_origin(builder, TABLE_ORIGIN_MAILBOXES);
    for (int i = 0; i < 100; i++) {
        snprintf(addr, sizeof(addr), "u%d@%s", i, i % 2 ? "example.org" : "corp.example");
        ck_assert_int_eq(
            table_builder_add_entry(builder, TABLE_MAILBOX, addr, NULL, 0, at(10 + i), NULL), 0);
    }
    table_builder_set_origin(builder, TABLE_ORIGIN_VIRTUAL);
    ck_assert_int_eq(table_builder_set_catch_all(builder, "example.org", catch_all, 1, at(5), NULL),
                     0);
    struct table *t = table_builder_finish(builder);
    ck_assert_ptr_nonnull(t);
    ck_assert_uint_eq(table_entry_count(t), 51);
    ck_assert_uint_eq(table_count_kind(t, TABLE_MAILBOX), 51);
    ck_assert_int_eq(table_lookup(t, "u1@example.org", 14, &e), 0);
    ck_assert_int_eq(table_lookup(t, "native@example.org", 18, &e), 1);
    for (int i = 0; i < 100; i += 2) {
        int n = snprintf(addr, sizeof(addr), "u%d@corp.example", i);
        ck_assert_int_eq(table_lookup(t, addr, (size_t)n, &e), 1);
        size_t idx = table_entry_index(t, e);
        ck_assert_ptr_eq(table_entry_at(t, idx), e);
        ck_assert_uint_eq(table_builder_entry_loc(builder, idx).line, 10u + (unsigned)i);
    }
    ck_assert_uint_eq(table_builder_captured(builder, 0, &where, &example), 50);
    ck_assert_uint_eq(where.line, 5);
    ck_assert_str_eq(example, "u1@example.org");
    ck_assert_uint_eq(table_builder_captured(builder, 1, &where, &example), 0);
    table_unref(t);
}
END_TEST

/* A native catch_all captures nothing. */
START_TEST(test_native_catch_all_captures_nothing)
{
    const char *catch_all[] = {"info@corp.example"};
    const struct table_entry *e;
    struct table_loc where;
    const char *example;

    ck_assert_int_eq(table_builder_add_domain(builder, "example.org", at(1)), 0);
    ck_assert_int_eq(table_builder_set_catch_all(builder, "example.org", catch_all, 1, at(2), NULL),
                     0);
    table_builder_set_origin(builder, TABLE_ORIGIN_MAILBOXES);
    ck_assert_int_eq(
        table_builder_add_entry(builder, TABLE_MAILBOX, "bob@example.org", NULL, 0, at(3), NULL),
        0);
    struct table *t = table_builder_finish(builder);
    ck_assert_int_eq(table_lookup(t, "bob@example.org", 15, &e), 1);
    ck_assert_uint_eq(table_builder_captured(builder, 0, &where, &example), 0);
    table_unref(t);
}
END_TEST

/* ---- fingerprints: the slot's hash only points at a record ------------ */

struct hashed {
    uint32_t hash;
    uint32_t n;
};

static int cmp_hashed(const void *a, const void *b)
{
    const struct hashed *x = a, *y = b;

    return x->hash != y->hash ? (x->hash < y->hash ? -1 : 1) : (x->n > y->n) - (x->n < y->n);
}

static void colliding_name(char *buf, size_t size, uint32_t n)
{
    snprintf(buf, size, "u%07u@fp.example", (unsigned)n);
}

/* Two keys of one length and one util_hash (a birthday search), in a and b. */
static void find_collision(char *a, char *b, size_t size)
{
    const uint32_t n = 400000;
    struct hashed *h = malloc(n * sizeof(*h));
    char name[64];

    ck_assert_ptr_nonnull(h);
    for (uint32_t i = 0; i < n; i++) {
        colliding_name(name, sizeof(name), i);
        h[i] = (struct hashed){util_hash(name, strlen(name)), i};
    }
    qsort(h, n, sizeof(*h), cmp_hashed);
    for (uint32_t i = 1; i < n; i++) {
        if (h[i].hash == h[i - 1].hash) {
            colliding_name(a, size, h[i - 1].n);
            colliding_name(b, size, h[i].n);
            free(h);
            return;
        }
    }
    free(h);
    ck_abort_msg("no util_hash collision among %u keys", (unsigned)n);
}

START_TEST(test_fingerprint_collision_exact_match)
{
    char a[64], b[64], name[64];
    const struct table_entry *e;
    struct table_key k;

    find_collision(a, b, sizeof(a));
    ck_assert_uint_eq(strlen(a), strlen(b));
    ck_assert_uint_eq(util_hash(a, strlen(a)), util_hash(b, strlen(b)));
    ck_assert_str_ne(a, b);
    ck_assert_int_eq(table_builder_add_entry(builder, TABLE_MAILBOX, a, NULL, 0, at(1), NULL), 0);
    /* enough entries that the index and the arena take their huge-page
     * path (2 MiB and more) */
    for (uint32_t i = 0; i < 70000; i++) {
        snprintf(name, sizeof(name), "filler%u@fp.example", (unsigned)i);
        ck_assert_int_eq(
            table_builder_add_entry(builder, TABLE_MAILBOX, name, NULL, 0, at(2), NULL), 0);
    }
    /* the same fingerprint is a different address: no duplicate */
    ck_assert_int_eq(table_builder_add_entry(builder, TABLE_SECONDARY, b, (const char *const[]){a},
                                             1, at(3), NULL),
                     0);
    struct table *t = table_builder_finish(builder);
    ck_assert_int_eq(table_lookup(t, a, strlen(a), &e), 1);
    ck_assert_str_eq(e->key, a);
    ck_assert_int_eq(e->kind, TABLE_MAILBOX);
    ck_assert_int_eq(table_lookup(t, b, strlen(b), &e), 1);
    ck_assert_str_eq(e->key, b);
    ck_assert_int_eq(e->kind, TABLE_SECONDARY);
    /* the prepared lookup finds the same records */
    table_key_prepare(t, &k, b, strlen(b));
    ck_assert_int_eq(table_lookup_key(t, &k, &e), 1);
    ck_assert_str_eq(e->key, b);
    table_key_prepare(t, &k, "filler69999@fp.example", 22);
    ck_assert_int_eq(table_lookup_key(t, &k, &e), 1);
    table_key_prepare(t, &k, "filler70000@fp.example", 22);
    ck_assert_int_eq(table_lookup_key(t, &k, &e), 0);
    ck_assert_uint_eq(table_entry_count(t), 70002);
    table_unref(t);
}
END_TEST

START_TEST(test_fingerprint_collision_absent_key)
{
    char a[64], b[64];
    const struct table_entry *e;
    struct table_key k;

    find_collision(a, b, sizeof(a));
    ck_assert_int_eq(table_builder_add_entry(builder, TABLE_MAILBOX, a, NULL, 0, at(1), NULL), 0);
    struct table *t = table_builder_finish(builder);
    /* b's probe meets a's slot with b's fingerprint and length: only the
     * comparison of the key tells them apart */
    ck_assert_int_eq(table_lookup(t, b, strlen(b), &e), 0);
    table_key_prepare(t, &k, b, strlen(b));
    ck_assert_int_eq(table_lookup_key(t, &k, &e), 0);
    ck_assert_int_eq(table_lookup(t, a, strlen(a), &e), 1);
    table_unref(t);
}
END_TEST

static Suite *table_suite(void)
{
    Suite *s = suite_create("table");
    TCase *tc = tcase_create("builder");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_settings_copied_and_defaulted);
    tcase_add_test(tc, test_entry_lookup_folded);
    tcase_add_test(tc, test_expect_entries_hint);
    tcase_add_test(tc, test_duplicate_entry_reports_first_location);
    tcase_add_test(tc, test_domain_attributes);
    tcase_add_test(tc, test_builder_closed_after_finish);
    tcase_add_test(tc, test_many_entries_and_interning);
    tcase_add_test(tc, test_reference_count);
    tcase_add_test(tc, test_fingerprint_collision_exact_match);
    tcase_add_test(tc, test_fingerprint_collision_absent_key);
    tcase_add_test(tc, test_free_unfinished_builder);
    tcase_add_test(tc, test_bad_arguments);
    tcase_add_test(tc, test_origin_set_returns_previous);
    tcase_add_loop_test(tc, test_origin_precedence, 0,
                        sizeof(precedence_rows) / sizeof(precedence_rows[0]));
    tcase_add_test(tc, test_capture_at_finish);
    tcase_add_test(tc, test_native_catch_all_captures_nothing);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(table_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
