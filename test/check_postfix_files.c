/*
 * check_postfix_files.c - unit tests of Postfix's precedence between a
 * `table` (virtual(5), virtual_alias_maps) and a `mailbox_table`
 * (virtual_mailbox_maps) file: what the two files load into, resolved with
 * policy_resolve, row by row; duplicates that stay errors; the -t warning
 * for mailboxes a virtual(5) @domain line captures; and the realistic pair
 * under test/data/postfix-files (the integration test gives the same files
 * to a native Postfix).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "policy.h"
#include "table.h"
#include "virtual_map.h"

/* Hosted in every fixture, as virtual_mailbox_domains would list them. */
static const char *const domains[] = {"d.example", "old.example", "new.example"};

/* How a fixture is loaded. */
enum order {
    MAILBOXES_FIRST, /* as config.c loads them */
    VIRTUAL_FIRST,
};

struct fx {
    struct table_builder *b;
    struct table *t;
    struct diag *d;
    int errors;
};

/* A native (configuration section) entry or catch-all, added first. */
struct native {
    const char *mailbox;   /* a mailbox section; NULL: none */
    const char *catch_all; /* d.example's catch_all target; NULL: none */
};

static void fx_load(struct fx *f, const char *vmailbox, const char *virtual, enum order order,
                    const struct native *native)
{
    struct table_settings s = {.delimiters = "+"};
    const char *conf;

    f->b = table_builder_new(&s);
    f->d = diag_new();
    ck_assert_ptr_nonnull(f->b);
    ck_assert_ptr_nonnull(f->d);
    conf = table_builder_intern_file(f->b, "main.conf");
    for (size_t i = 0; i < sizeof(domains) / sizeof(domains[0]); i++)
        ck_assert_int_eq(table_builder_add_domain(f->b, domains[i], (struct table_loc){conf, 1}),
                         0);
    if (native != NULL && native->mailbox != NULL)
        ck_assert_int_eq(table_builder_add_entry(f->b, TABLE_MAILBOX, native->mailbox, NULL, 0,
                                                 (struct table_loc){conf, 7}, NULL),
                         0);
    if (native != NULL && native->catch_all != NULL)
        ck_assert_int_eq(table_builder_set_catch_all(f->b, "d.example", &native->catch_all, 1,
                                                     (struct table_loc){conf, 9}, NULL),
                         0);
    f->errors = 0;
    for (int pass = 0; pass < 2; pass++) {
        bool mailboxes = (pass == 0) == (order == MAILBOXES_FIRST);
        const char *text = mailboxes ? vmailbox : virtual;
        if (text == NULL)
            continue;
        f->errors += mailboxes ? virtual_map_load_mailboxes_buffer(f->b, "vmailbox", text,
                                                                   strlen(text), f->d)
                               : virtual_map_load_buffer(f->b, "virtual", text, strlen(text), f->d);
    }
    f->t = table_builder_finish(f->b);
    ck_assert_ptr_nonnull(f->t);
    virtual_map_report_captures(f->b, f->t, f->d);
}

static void fx_done(struct fx *f)
{
    table_unref(f->t);
    table_builder_free(f->b);
    diag_free(f->d);
}

static void dump(const struct diag *d)
{
    for (size_t i = 0; i < diag_size(d); i++)
        fprintf(stderr, "  diag: %s\n", diag_text(d, i));
}

/* "action target,target" of one address, as -q would say it. */
static const char *resolve(const struct table *t, const char *address, char *buf, size_t size)
{
    struct policy_result r;
    size_t o;

    policy_result_init(&r);
    policy_resolve(t, address, strlen(address), &r);
    o = (size_t)snprintf(buf, size, "%s", policy_action_name(r.action));
    for (size_t i = 0; i < r.ntargets && o < size; i++)
        o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? "," : " ", policy_target(&r, i));
    policy_result_free(&r);
    return buf;
}

/* ---- resolution: (files, address) -> what is delivered ------------------- */

static const struct native native_mailbox = {"bob@d.example", NULL};
static const struct native native_catch_all = {NULL, "info@d.example"};

static const struct {
    const char *doc;
    const char *vmailbox, *virtual;
    enum order order;
    const struct native *native;
    const char *address, *want;
} rows[] = {
    /* an alias beats a mailbox for the same address */
    {"alias over mailbox", "bob@d.example bob/\n", "bob@d.example other@elsewhere.example\n",
     MAILBOXES_FIRST, NULL, "bob@d.example", "rewrite other@elsewhere.example"},
    {"alias over mailbox, virtual loaded first", "bob@d.example bob/\n",
     "bob@d.example other@elsewhere.example\n", VIRTUAL_FIRST, NULL, "bob@d.example",
     "rewrite other@elsewhere.example"},
    {"alias over mailbox to another mailbox", "bob@d.example b/\ncarol@d.example c/\n",
     "bob@d.example carol@d.example\n", MAILBOXES_FIRST, NULL, "Bob@D.example",
     "rewrite carol@d.example"},
    /* a self-reference keeps the mailbox and adds the other targets */
    {"self-reference", "bob@d.example bob/\n",
     "bob@d.example bob@d.example, other@elsewhere.example\n", MAILBOXES_FIRST, NULL,
     "bob@d.example", "rewrite bob@d.example,other@elsewhere.example"},
    {"self-reference, virtual first", "bob@d.example bob/\n",
     "bob@d.example bob@d.example, other@elsewhere.example\n", VIRTUAL_FIRST, NULL, "bob@d.example",
     "rewrite bob@d.example,other@elsewhere.example"},
    {"self-reference with an extension", "bob@d.example bob/\n",
     "bob@d.example bob@d.example, other@elsewhere.example\n", MAILBOXES_FIRST, NULL,
     "bob+x@d.example", "rewrite bob+x@d.example,other+x@elsewhere.example"},
    {"self-map only", "bob@d.example bob/\n", "bob@d.example bob@d.example\n", MAILBOXES_FIRST,
     NULL, "bob@d.example", "keep"},
    {"an alias reaching an aliased mailbox", "bob@d.example bob/\n",
     "bob@d.example bob@d.example, other@elsewhere.example\nteam@d.example bob@d.example\n",
     MAILBOXES_FIRST, NULL, "team@d.example", "rewrite bob@d.example,other@elsewhere.example"},
    {"a mailbox without a virtual line", "bob@d.example bob/\nann@d.example a/\n",
     "bob@d.example other@elsewhere.example\n", MAILBOXES_FIRST, NULL, "ann@d.example", "keep"},
    /* a virtual(5) catch-all captures the mailboxes without a line */
    {"catch-all captures a mailbox", "bob@d.example bob/\npw@d.example pw/\n",
     "@d.example pw@d.example\n", MAILBOXES_FIRST, NULL, "bob@d.example", "rewrite pw@d.example"},
    {"catch-all captures with an extension (none propagated)",
     "bob@d.example bob/\npw@d.example pw/\n", "@d.example pw@d.example\n", MAILBOXES_FIRST, NULL,
     "bob+x@d.example", "rewrite pw@d.example"},
    {"catch-all target captured by itself", "bob@d.example bob/\npw@d.example pw/\n",
     "@d.example pw@d.example\n", MAILBOXES_FIRST, NULL, "pw@d.example", "keep"},
    {"catch-all, virtual first", "bob@d.example bob/\npw@d.example pw/\n",
     "@d.example pw@d.example\n", VIRTUAL_FIRST, NULL, "bob@d.example", "rewrite pw@d.example"},
    {"a self-map exempts a mailbox", "bob@d.example bob/\npw@d.example pw/\n",
     "@d.example pw@d.example\nbob@d.example bob@d.example\n", MAILBOXES_FIRST, NULL,
     "bob@d.example", "keep"},
    {"an exempt mailbox keeps its extension", "bob@d.example bob/\npw@d.example pw/\n",
     "@d.example pw@d.example\nbob@d.example bob@d.example\n", MAILBOXES_FIRST, NULL,
     "bob+x@d.example", "keep"},
    {"an alias to a captured mailbox goes to the catch-all",
     "bob@d.example bob/\npw@d.example pw/\n",
     "@d.example pw@d.example\nteam@d.example "
     "bob@d.example, x@elsewhere.example\n",
     MAILBOXES_FIRST, NULL, "team@d.example", "rewrite pw@d.example,x@elsewhere.example"},
    {"unknown address to the catch-all", "pw@d.example pw/\n", "@d.example pw@d.example\n",
     MAILBOXES_FIRST, NULL, "nobody@d.example", "rewrite pw@d.example"},
    /* "@old @new" captures old's mailboxes too */
    {"alias domain captures a mailbox", "joe@old.example j/\njoe@new.example j/\n",
     "@old.example @new.example\n", MAILBOXES_FIRST, NULL, "joe@old.example",
     "rewrite joe@new.example"},
    {"alias domain: the other domain is not captured", "joe@old.example j/\njoe@new.example j/\n",
     "@old.example @new.example\n", MAILBOXES_FIRST, NULL, "joe@new.example", "keep"},
    /* native sections keep the resolution order: a mailbox beats catch_all */
    {"native mailbox beats a virtual catch-all", "pw@d.example pw/\n", "@d.example pw@d.example\n",
     MAILBOXES_FIRST, &native_mailbox, "bob@d.example", "keep"},
    {"a mailbox_table mailbox beats a native catch_all", "bob@d.example bob/\ninfo@d.example i/\n",
     NULL, MAILBOXES_FIRST, &native_catch_all, "bob@d.example", "keep"},
    {"native catch_all still catches the unknown", "bob@d.example bob/\ninfo@d.example i/\n", NULL,
     MAILBOXES_FIRST, &native_catch_all, "zed@d.example", "rewrite info@d.example"},
};

START_TEST(test_resolution)
{
    struct fx f;
    char got[1024];

    fx_load(&f, rows[_i].vmailbox, rows[_i].virtual, rows[_i].order, rows[_i].native);
    if (f.errors != 0)
        dump(f.d);
    ck_assert_int_eq(f.errors, 0);
    resolve(f.t, rows[_i].address, got, sizeof(got));
    if (strcmp(got, rows[_i].want) != 0)
        fprintf(stderr, "row %d (%s): %s -> %s, want %s\n", _i, rows[_i].doc, rows[_i].address, got,
                rows[_i].want);
    ck_assert_str_eq(got, rows[_i].want);
    fx_done(&f);
}
END_TEST

/* The alias is the entry: its kind, its location, the counts. */
START_TEST(test_alias_replaces_mailbox)
{
    static const char vmailbox[] = "# mailboxes\nbob@d.example b/\nann@d.example a/\n";
    static const char virtual[] = "\n\nbob@d.example bob@d.example, x@elsewhere.example\n";
    const struct table_entry *e;
    struct fx f;

    for (int order = MAILBOXES_FIRST; order <= VIRTUAL_FIRST; order++) {
        fx_load(&f, vmailbox, virtual, (enum order)order, NULL);
        ck_assert_int_eq(f.errors, 0);
        ck_assert_uint_eq(diag_size(f.d), 0);
        ck_assert_int_eq(table_lookup(f.t, "bob@d.example", 13, &e), 1);
        ck_assert_int_eq(e->kind, TABLE_ALIAS);
        ck_assert_uint_eq(e->ntargets, 2);
        struct table_loc loc = table_builder_entry_loc(f.b, table_entry_index(f.t, e));
        ck_assert_str_eq(loc.file, "virtual");
        ck_assert_uint_eq(loc.line, 3);
        ck_assert_uint_eq(table_count_kind(f.t, TABLE_MAILBOX), 1);
        ck_assert_uint_eq(table_count_kind(f.t, TABLE_ALIAS), 1);
        ck_assert_uint_eq(table_entry_count(f.t), 2);
        fx_done(&f);
    }
}
END_TEST

/* ---- duplicates that stay errors ---------------------------------------- */

static const struct {
    const char *vmailbox, *virtual;
    enum order order;
    const struct native *native;
    const char *message;
} dup_rows[] = {
    {"bob@d.example a/\nBob@d.example b/\n", NULL, MAILBOXES_FIRST, NULL,
     "vmailbox:2: duplicate entry for Bob@d.example (first at vmailbox:1)"},
    {NULL, "bob@d.example x@elsewhere.example\nbob@d.example y@elsewhere.example\n",
     MAILBOXES_FIRST, NULL, "virtual:2: duplicate entry for bob@d.example (first at virtual:1)"},
    /* a virtual(5) line over a mailbox section: the configuration decided */
    {NULL, "bob@d.example x@elsewhere.example\n", MAILBOXES_FIRST, &native_mailbox,
     "virtual:1: duplicate entry for bob@d.example (first at main.conf:7)"},
    {"bob@d.example a/\n", NULL, MAILBOXES_FIRST, &native_mailbox,
     "vmailbox:1: duplicate entry for bob@d.example (first at main.conf:7)"},
    /* two mailbox lines under one alias, either order */
    {"bob@d.example a/\nbob@d.example b/\n", "bob@d.example x@elsewhere.example\n", VIRTUAL_FIRST,
     NULL, "vmailbox:2: duplicate entry for bob@d.example (first at virtual:1)"},
    /* two @domain lines: still one key to Postfix */
    {NULL, "@d.example x@elsewhere.example\n@d.example @new.example\n", MAILBOXES_FIRST, NULL,
     "virtual:2: duplicate entry for @d.example (first at virtual:1)"},
};

START_TEST(test_duplicates)
{
    struct fx f;

    fx_load(&f, dup_rows[_i].vmailbox, dup_rows[_i].virtual, dup_rows[_i].order,
            dup_rows[_i].native);
    if (f.errors != 1)
        dump(f.d);
    ck_assert_int_eq(f.errors, 1);
    ck_assert_str_eq(diag_text(f.d, 0), dup_rows[_i].message);
    fx_done(&f);
}
END_TEST

/* ---- the warning for captured mailboxes ---------------------------------- */

START_TEST(test_capture_warning)
{
    static const char vmailbox[] = "bob@d.example b/\npw@d.example p/\nann@d.example a/\n"
                                   "joe@old.example j/\njoe@new.example j/\n";
    static const char virtual[] = "ann@d.example ann@d.example\n"
                                  "@d.example pw@d.example, boss@elsewhere.example\n"
                                  "@old.example @new.example\n";
    struct table_loc at;
    const char *example;
    const struct table_domain *dom;
    struct fx f;

    fx_load(&f, vmailbox, virtual, MAILBOXES_FIRST, NULL);
    ck_assert_int_eq(f.errors, 0);
    ck_assert_uint_eq(diag_count(f.d, DIAG_WARNING), 2);
    ck_assert_str_eq(
        diag_text(f.d, 0),
        "virtual:2: warning: @d.example captures 2 mailboxes of the mailbox_table without a line "
        "of its own in the virtual file (e.g. bob@d.example): their mail goes to the catch-all "
        "(pw@d.example, ...), as in Postfix, which looks up virtual_alias_maps (where "
        "@d.example matches) before virtual_mailbox_maps; to deliver to such a mailbox, give it "
        "a self-map line \"bob@d.example bob@d.example\" in the virtual file, as Postfix Admin "
        "does");
    ck_assert_ptr_nonnull(strstr(diag_text(f.d, 1),
                                 "virtual:3: warning: @old.example captures 1 mailbox of the "
                                 "mailbox_table without a line of its own in the virtual file "
                                 "(e.g. joe@old.example): their mail moves to new.example,"));
    ck_assert_int_eq(table_domain_lookup(f.t, "d.example", 9, &dom), 1);
    ck_assert_uint_eq(table_builder_captured(f.b, table_domain_index(f.t, dom), &at, &example), 2);
    ck_assert_str_eq(at.file, "virtual");
    ck_assert_uint_eq(at.line, 2);
    ck_assert_str_eq(example, "bob@d.example");
    ck_assert_int_eq(table_domain_lookup(f.t, "new.example", 11, &dom), 1);
    ck_assert_uint_eq(table_builder_captured(f.b, table_domain_index(f.t, dom), &at, &example), 0);
    ck_assert_uint_eq(table_count_kind(f.t, TABLE_MAILBOX), 1); /* joe@new.example */
    fx_done(&f);
}
END_TEST

/* No capture, no warning: native catch_all, or every mailbox self-mapped. */
START_TEST(test_no_capture_no_warning)
{
    struct fx f;

    fx_load(&f, "bob@d.example b/\ninfo@d.example i/\n", NULL, MAILBOXES_FIRST, &native_catch_all);
    ck_assert_uint_eq(diag_size(f.d), 0);
    fx_done(&f);
    fx_load(&f, "bob@d.example b/\n",
            "@d.example x@elsewhere.example\nbob@d.example bob@d.example\n", MAILBOXES_FIRST, NULL);
    ck_assert_uint_eq(diag_size(f.d), 0);
    fx_done(&f);
}
END_TEST

/* ---- the realistic pair under test/data/postfix-files -------------------- */

static const struct {
    const char *address, *want;
} data_rows[] = {
    {"alice@gradtrak.example", "keep"},
    {"bryan@gradtrak.example", "rewrite bryan@gradtrak.example,bryan.backup@elsewhere.example"},
    {"bryan+tag@gradtrak.example",
     "rewrite bryan+tag@gradtrak.example,bryan.backup+tag@elsewhere.example"},
    {"carol@gradtrak.example", "rewrite dave@gradtrak.example"},
    {"helpdesk@gradtrak.example",
     "rewrite helpdesk@gradtrak.example,tickets@tracker.elsewhere.example"},
    {"team@gradtrak.example", "rewrite alice@gradtrak.example,bryan@gradtrak.example,"
                              "bryan.backup@elsewhere.example,dave@gradtrak.example"},
    {"nobody@gradtrak.example", "reject"},
    {"bob@domain.example", "rewrite parseword@domain.example"},
    {"eve@domain.example", "keep"},
    {"frank@domain.example", "rewrite frank@domain.example,frank@elsewhere.example"},
    {"anything@domain.example", "rewrite parseword@domain.example"},
    {"postmaster@domain.example", "rewrite eve@domain.example"},
    {"jim@catchall.example", "rewrite info@catchall.example"},
    {"info@catchall.example", "keep"},
    {"postmaster@catchall.example", "rewrite info@catchall.example"},
    {"alice@old.example", "rewrite alice@gradtrak.example"},
    {"dave@alias.example", "rewrite dave@gradtrak.example"},
    {"sales@alias.example", "rewrite alice@gradtrak.example,bryan@gradtrak.example,"
                            "bryan.backup@elsewhere.example"},
};

START_TEST(test_data_files)
{
    static const char *const hosted[] = {"gradtrak.example", "domain.example", "catchall.example"};
    struct table_settings s = {.delimiters = "+"};
    struct table_builder *b = table_builder_new(&s);
    struct diag *d = diag_new();
    struct table *t;
    char got[1024];

    for (size_t i = 0; i < sizeof(hosted) / sizeof(hosted[0]); i++)
        ck_assert_int_eq(table_builder_add_domain(b, hosted[i], (struct table_loc){NULL, 0}), 0);
    ck_assert_int_eq(virtual_map_load_mailboxes(b, TEST_DATA_DIR "/postfix-files/vmailbox", d), 0);
    ck_assert_int_eq(virtual_map_load(b, TEST_DATA_DIR "/postfix-files/virtual", d), 0);
    ck_assert_ptr_nonnull(t = table_builder_finish(b));
    virtual_map_report_captures(b, t, d);
    ck_assert_uint_eq(diag_count(d, DIAG_ERROR), 0);
    ck_assert_uint_eq(diag_count(d, DIAG_WARNING), 3); /* domain, catchall, old */
    for (size_t i = 0; i < sizeof(data_rows) / sizeof(data_rows[0]); i++) {
        resolve(t, data_rows[i].address, got, sizeof(got));
        if (strcmp(got, data_rows[i].want) != 0)
            fprintf(stderr, "%s -> %s, want %s\n", data_rows[i].address, got, data_rows[i].want);
        ck_assert_str_eq(got, data_rows[i].want);
    }
    table_unref(t);
    table_builder_free(b);
    diag_free(d);
}
END_TEST

static Suite *postfix_files_suite(void)
{
    Suite *s = suite_create("postfix_files");
    TCase *tc;

    tc = tcase_create("precedence");
    tcase_add_loop_test(tc, test_resolution, 0, sizeof(rows) / sizeof(rows[0]));
    tcase_add_test(tc, test_alias_replaces_mailbox);
    suite_add_tcase(s, tc);

    tc = tcase_create("duplicates");
    tcase_add_loop_test(tc, test_duplicates, 0, sizeof(dup_rows) / sizeof(dup_rows[0]));
    suite_add_tcase(s, tc);

    tc = tcase_create("capture_warning");
    tcase_add_test(tc, test_capture_warning);
    tcase_add_test(tc, test_no_capture_no_warning);
    suite_add_tcase(s, tc);

    tc = tcase_create("data_files");
    tcase_add_test(tc, test_data_files);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(postfix_files_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
