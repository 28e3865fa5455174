/*
 * check_sql_map.c - unit tests of sql_map.c: the postfixadmin and custom
 * schemas row by row on rows made up in memory, what bad values become (a
 * diagnostic naming the source, the set and the row key, never a crash),
 * and a Postfix Admin database's worth of rows through the builder and
 * policy_resolve (the catch-all and the self-aliases, with Postfix's
 * precedence).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "policy.h"
#include "source_fixture.h"
#include "source_records.h"
#include "sql_map.h"
#include "validate.h"

#define NUL_COL ((const char *)1) /* SQL NULL in a test row */
#define PFA SQL_SCHEMA_POSTFIXADMIN
#define CUSTOM SQL_SCHEMA_CUSTOM

/* One row of a test: columns as C strings (NUL_COL: NULL), ended by the
 * first NULL, and what it must become. */
struct row {
    enum sql_schema schema;
    enum sql_set set;
    const char *cols[4];
    int rc;
    const char *record; /* "kind key -> t1,t2", or "" for none */
    const char *diag;   /* the one message, or NULL */
};

static size_t to_values(const struct row *x, struct sql_value *v)
{
    size_t n = 0;

    for (; n < 4 && x->cols[n] != NULL; n++)
        v[n] = x->cols[n] == NUL_COL ? (struct sql_value){NULL, 0}
                                     : (struct sql_value){x->cols[n], strlen(x->cols[n])};
    return n;
}

/* The only record of r as text, or "". */
static void record_text(const struct source_records *r, char *out, size_t outsz)
{
    const struct source_record *rec = source_records_at(r, 0);
    size_t k;

    out[0] = '\0';
    if (rec == NULL)
        return;
    k = (size_t)snprintf(out, outsz, "%s %s", source_kind_name(rec->kind), rec->key);
    for (size_t t = 0; t < rec->ntargets && k < outsz; t++)
        k += (size_t)snprintf(out + k, outsz - k, "%s%s", t == 0 ? " -> " : ",", rec->targets[t]);
}

static const struct row rows[] = {
    /* postfixadmin: domain (domain, backupmx, active) */
    {PFA, SQL_SET_DOMAIN, {"Corp.Example", "f", "t"}, 0, "domain corp.example", NULL},
    {PFA, SQL_SET_DOMAIN, {"corp.example", "0", "1"}, 0, "domain corp.example", NULL},
    {PFA, SQL_SET_DOMAIN, {"corp.example", "false", "true"}, 0, "domain corp.example", NULL},
    {PFA, SQL_SET_DOMAIN, {"backup.example", "t", "t"}, 0, "", NULL},
    {PFA, SQL_SET_DOMAIN, {"off.example", "f", "f"}, 0, "", NULL},
    {PFA, SQL_SET_DOMAIN, {"off.example", "f", NUL_COL}, 0, "", NULL},
    {PFA, SQL_SET_DOMAIN, {"ALL", "f", "t"}, 0, "", NULL},
    {PFA, SQL_SET_DOMAIN, {"bücher.example", "0", "1"}, 0, "domain xn--bcher-kva.example", NULL},
    {PFA,
     SQL_SET_DOMAIN,
     {"corp.example", "f", "2"},
     1,
     "",
     "pg: domain domain=corp.example: active is not a boolean"},
    {PFA,
     SQL_SET_DOMAIN,
     {"corp.example", "maybe", "t"},
     1,
     "",
     "pg: domain domain=corp.example: backupmx is not a boolean"},
    {PFA, SQL_SET_DOMAIN, {NUL_COL, "f", "t"}, 1, "", "pg: domain domain=NULL: the key is NULL"},
    {PFA,
     SQL_SET_DOMAIN,
     {"[127.0.0.1]", "f", "t"},
     1,
     "",
     "pg: domain domain=[127.0.0.1]: invalid domain \"[127.0.0.1]\": an address literal cannot be "
     "a "
     "hosted domain"},
    /* alias_domain (alias_domain, target_domain, active) */
    {PFA,
     SQL_SET_ALIAS_DOMAIN,
     {"alias.example", "Corp.example", "t"},
     0,
     "alias_domain alias.example -> corp.example",
     NULL},
    {PFA, SQL_SET_ALIAS_DOMAIN, {"alias.example", "corp.example", "0"}, 0, "", NULL},
    {PFA,
     SQL_SET_ALIAS_DOMAIN,
     {"alias.example", NUL_COL, "1"},
     1,
     "",
     "pg: alias_domain alias_domain=alias.example: the target is NULL"},
    /* mailbox (username, active) */
    {PFA, SQL_SET_MAILBOX, {"Bob@Corp.Example", "t"}, 0, "mailbox Bob@corp.example", NULL},
    {PFA, SQL_SET_MAILBOX, {"bob@corp.example", "f"}, 0, "", NULL},
    {PFA,
     SQL_SET_MAILBOX,
     {"bob", "t"},
     1,
     "",
     "pg: mailbox username=bob: invalid primary address \"bob\": address needs a domain"},
    /* alias (address, goto, active): the goto list, trimmed, empty items out */
    {PFA,
     SQL_SET_ALIAS,
     {"sales@corp.example", " a@corp.example ,, b@else.example,", "t"},
     0,
     "alias sales@corp.example -> a@corp.example,b@else.example",
     NULL},
    {PFA,
     SQL_SET_ALIAS,
     {"a@corp.example", "a@corp.example", "1"},
     0,
     "alias a@corp.example -> a@corp.example",
     NULL},
    {PFA, SQL_SET_ALIAS, {"a@corp.example", "b@corp.example", "0"}, 0, "", NULL},
    /* an @domain address is the domain's catch-all */
    {PFA,
     SQL_SET_ALIAS,
     {"@Corp.Example", "x@corp.example", "t"},
     0,
     "catch_all corp.example -> x@corp.example",
     NULL},
    {PFA,
     SQL_SET_ALIAS,
     {"@", "x@corp.example", "t"},
     1,
     "",
     "pg: alias address=@: invalid catch-all domain \"\": empty domain name"},
    {PFA,
     SQL_SET_ALIAS,
     {"x@y.example", "z", "t"},
     1,
     "",
     "pg: alias address=x@y.example: alias x@y.example: invalid target \"z\": address needs a "
     "domain"},
    {PFA,
     SQL_SET_ALIAS,
     {"x@y.example", " , ,", "t"},
     1,
     "",
     "pg: alias address=x@y.example: the goto list is empty"},
    {PFA,
     SQL_SET_ALIAS,
     {"x@y.example", NUL_COL, "t"},
     1,
     "",
     "pg: alias address=x@y.example: goto is NULL"},
    {PFA,
     SQL_SET_ALIAS,
     {"x\ny@z.example", "a@b.example", "t"},
     1,
     "",
     "pg: alias address=x\\ny@z.example: invalid alias address \"x\\ny@z.example\": control "
     "character in address"},
    /* wrong shapes */
    {PFA, SQL_SET_MAILBOX, {"a@b.example"}, 1, "", "pg: a row of 1 columns where 2 are expected"},
    {PFA,
     SQL_SET_SECONDARY,
     {"a@b.example", "c@b.example"},
     1,
     "",
     "pg: a row of 2 columns where 0 are expected"},
    /* custom: no flags; secondary addresses */
    {CUSTOM, SQL_SET_DOMAIN, {"ALL"}, 0, "domain all", NULL},
    {CUSTOM, SQL_SET_MAILBOX, {"a@b.example"}, 0, "mailbox a@b.example", NULL},
    {CUSTOM,
     SQL_SET_SECONDARY,
     {"al@b.example", "a@b.example"},
     0,
     "secondary al@b.example -> a@b.example",
     NULL},
    {CUSTOM,
     SQL_SET_ALIAS,
     {"@b.example", "a@b.example,c@d.example"},
     0,
     "catch_all b.example -> a@b.example,c@d.example",
     NULL},
    {CUSTOM,
     SQL_SET_ALIAS_DOMAIN,
     {"x.example", "b.example"},
     0,
     "alias_domain x.example -> b.example",
     NULL},
    {CUSTOM,
     SQL_SET_SECONDARY,
     {"al@b.example", NUL_COL},
     1,
     "",
     "pg: secondary_query address=al@b.example: the target is NULL"},
};

START_TEST(test_rows)
{
    const struct row *x = &rows[_i];
    struct source_records *r = source_records_new("pg");
    struct sql_map *m = sql_map_new(x->schema, r);
    struct diag *d = diag_new();
    struct sql_value v[4];
    size_t n = to_values(x, v);
    char got[1024];

    ck_assert_int_eq(sql_map_row(m, x->set, v, n, d), x->rc);
    record_text(r, got, sizeof(got));
    ck_assert_str_eq(got, x->record);
    if (x->diag == NULL) {
        ck_assert_uint_eq(diag_size(d), 0);
    } else {
        if (diag_size(d) != 1)
            dump(d);
        ck_assert_uint_eq(diag_size(d), 1);
        ck_assert_str_eq(diag_text(d, 0), x->diag);
    }
    ck_assert_uint_eq(sql_map_errors(m), x->rc == 1 ? 1 : 0);
    sql_map_free(m);
    diag_free(d);
    source_records_free(r);
}
END_TEST

/* Bytes a C string cannot carry: a NUL inside a key, an overlong key. */
START_TEST(test_wire_bytes)
{
    struct source_records *r = source_records_new("pg");
    struct sql_map *m = sql_map_new(PFA, r);
    struct diag *d = diag_new();
    struct sql_value nul[2] = {{"a\0b@c.example", 13}, {"t", 1}};
    char *long_key = malloc(5000);
    struct sql_value big[2] = {{long_key, 5000}, {"t", 1}};

    ck_assert_int_eq(sql_map_row(m, SQL_SET_MAILBOX, nul, 2, d), 1);
    ck_assert_str_eq(diag_text(d, 0),
                     "pg: mailbox username=a\\x00b@c.example: invalid primary "
                     "address \"a\\x00b@c.example\": control character in address");
    memset(long_key, 'a', 5000);
    long_key[4000] = '@';
    ck_assert_int_eq(sql_map_row(m, SQL_SET_MAILBOX, big, 2, d), 1);
    ck_assert_uint_eq(diag_size(d), 2);
    ck_assert_ptr_nonnull(strstr(diag_text(d, 1), "pg: mailbox username=aaaa"));
    ck_assert_uint_lt(strlen(diag_text(d, 1)), 1500);
    ck_assert_uint_eq(source_records_count(r), 0);
    ck_assert_uint_eq(sql_map_errors(m), 2);
    free(long_key);
    sql_map_free(m);
    diag_free(d);
    source_records_free(r);
}
END_TEST

START_TEST(test_queries)
{
    ck_assert_int_eq(sql_schema_from_name("postfixadmin"), PFA);
    ck_assert_int_eq(sql_schema_from_name("custom"), CUSTOM);
    ck_assert_int_eq(sql_schema_from_name("mailcow"), 0);
    ck_assert_str_eq(sql_map_query(PFA, SQL_SET_DOMAIN),
                     "SELECT domain, backupmx, active FROM domain"
                     " WHERE backupmx = false AND active = true AND domain <> 'ALL'");
    ck_assert_ptr_null(sql_map_query(PFA, SQL_SET_SECONDARY));
    ck_assert_ptr_null(sql_map_query(CUSTOM, SQL_SET_DOMAIN));
    ck_assert_str_eq(sql_set_option(SQL_SET_ALIAS), "alias_query");
    ck_assert_ptr_null(sql_set_option(SQL_SET_COUNT));
    for (int s = 0; s < SQL_SET_SECONDARY; s++)
        ck_assert_uint_eq(sql_map_columns(PFA, (enum sql_set)s), s == SQL_SET_MAILBOX ? 2 : 3);
    ck_assert_uint_eq(sql_map_columns(PFA, SQL_SET_SECONDARY), 0);
    ck_assert_uint_eq(sql_map_columns(CUSTOM, SQL_SET_SECONDARY), 2);
}
END_TEST

/* ---- a Postfix Admin database through the builder and policy ---------- */

static const struct row pfa_db[] = {
    {PFA, SQL_SET_DOMAIN, {"corp.example", "f", "t"}, 0, NULL, NULL},
    {PFA, SQL_SET_DOMAIN, {"ALL", "f", "t"}, 0, NULL, NULL},
    {PFA, SQL_SET_DOMAIN, {"backup.example", "t", "t"}, 0, NULL, NULL},
    {PFA, SQL_SET_DOMAIN, {"off.example", "f", "f"}, 0, NULL, NULL},
    {PFA, SQL_SET_ALIAS_DOMAIN, {"alias.example", "corp.example", "t"}, 0, NULL, NULL},
    {PFA, SQL_SET_MAILBOX, {"postmaster@corp.example", "t"}, 0, NULL, NULL},
    {PFA, SQL_SET_MAILBOX, {"alice@corp.example", "t"}, 0, NULL, NULL},
    {PFA, SQL_SET_MAILBOX, {"bob@corp.example", "t"}, 0, NULL, NULL}, /* no self-alias */
    {PFA, SQL_SET_MAILBOX, {"fwd@corp.example", "t"}, 0, NULL, NULL},
    {PFA, SQL_SET_MAILBOX, {"carol@corp.example", "f"}, 0, NULL, NULL},
    {PFA,
     SQL_SET_ALIAS,
     {"postmaster@corp.example", "postmaster@corp.example", "t"},
     0,
     NULL,
     NULL},
    {PFA, SQL_SET_ALIAS, {"alice@corp.example", "alice@corp.example", "t"}, 0, NULL, NULL},
    {PFA, SQL_SET_ALIAS, {"fwd@corp.example", "ext@else.example", "t"}, 0, NULL, NULL},
    {PFA,
     SQL_SET_ALIAS,
     {"sales@corp.example", "alice@corp.example,ext@else.example", "t"},
     0,
     NULL,
     NULL},
    {PFA, SQL_SET_ALIAS, {"@corp.example", "postmaster@corp.example", "t"}, 0, NULL, NULL},
    {PFA, SQL_SET_ALIAS, {"old@corp.example", "alice@corp.example", "f"}, 0, NULL, NULL},
};

static const struct {
    const char *rcpt;
    enum policy_action action;
    const char *targets;
} pfa_resolve[] = {
    /* a mailbox with its self-alias is itself */
    {"alice@corp.example", POLICY_KEEP, ""},
    {"Alice@CORP.example", POLICY_KEEP, ""},
    /* a mailbox without an alias row of its own: the catch-all captures it */
    {"bob@corp.example", POLICY_REWRITE, "postmaster@corp.example"},
    /* an alias without the mailbox among its targets forwards only */
    {"fwd@corp.example", POLICY_REWRITE, "ext@else.example"},
    {"sales@corp.example", POLICY_REWRITE, "alice@corp.example,ext@else.example"},
    /* inactive rows count for nothing: the catch-all takes them */
    {"carol@corp.example", POLICY_REWRITE, "postmaster@corp.example"},
    {"old@corp.example", POLICY_REWRITE, "postmaster@corp.example"},
    {"nobody@corp.example", POLICY_REWRITE, "postmaster@corp.example"},
    /* the alias domain */
    {"alice@alias.example", POLICY_REWRITE, "alice@corp.example"},
    /* ALL, backup MX and inactive domains are not hosted */
    {"x@backup.example", POLICY_PASS, ""},
    {"x@off.example", POLICY_PASS, ""},
    {"x@all", POLICY_PASS, ""},
};

START_TEST(test_postfixadmin_resolve)
{
    struct source_records *r = source_records_new("pg");
    struct sql_map *m = sql_map_new(PFA, r);
    struct diag *d = diag_new();
    struct policy_result res;
    struct build x;
    char joined[1024];
    size_t o = 0;

    for (int i = 0; i < N(pfa_db); i++) {
        struct sql_value v[4];
        size_t n = to_values(&pfa_db[i], v);
        ck_assert_int_eq(sql_map_row(m, pfa_db[i].set, v, n, d), 0);
    }
    ck_assert_uint_eq(diag_size(d), 0);
    build_with(&x, r, NULL, SOURCE_PRECEDENCE_POSTFIX);
    if (x.errors > 0)
        dump(x.d);
    ck_assert_int_eq(x.errors, 0);
    ck_assert_int_eq(validate_table(x.t, x.b, x.d), 0);
    policy_result_init(&res);
    policy_resolve(x.t, pfa_resolve[_i].rcpt, strlen(pfa_resolve[_i].rcpt), &res);
    joined[0] = '\0';
    for (size_t i = 0; res.action == POLICY_REWRITE && i < res.ntargets; i++)
        o += (size_t)snprintf(joined + o, sizeof(joined) - o, "%s%s", i ? "," : "",
                              policy_target(&res, i));
    ck_assert_str_eq(policy_action_name(res.action), policy_action_name(pfa_resolve[_i].action));
    ck_assert_str_eq(joined, pfa_resolve[_i].targets);
    policy_result_free(&res);
    build_done(&x);
    sql_map_free(m);
    diag_free(d);
    source_records_free(r);
}
END_TEST

static Suite *sql_map_suite(void)
{
    Suite *s = suite_create("sql_map");
    TCase *tc;

    tc = tcase_create("rows");
    tcase_add_loop_test(tc, test_rows, 0, N(rows));
    tcase_add_test(tc, test_wire_bytes);
    tcase_add_test(tc, test_queries);
    suite_add_tcase(s, tc);
    tc = tcase_create("postfixadmin");
    tcase_add_loop_test(tc, test_postfixadmin_resolve, 0, N(pfa_resolve));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(sql_map_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
