/*
 * check_source_records.c - unit tests of a source's records
 * (source_records.c, source_apply.c): records through the builder to what
 * addresses resolve to, every refused value with its exact message, and
 * duplicates within a source and against the configuration.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "policy.h"
#include "source_fixture.h"
#include "source_records.h"
#include "table.h"
#include "validate.h"

/* ---- records -> builder -> resolution ---------------------------------- */

static const struct {
    const char *rcpt;
    enum policy_action action;
    const char *targets; /* joined, for a rewrite */
} resolve_rows[] = {
    {"bob@corp.example", POLICY_KEEP, ""},
    {"<BOB@Corp.Example>", POLICY_KEEP, ""},
    {"robert@corp.example", POLICY_REWRITE, "bob@corp.example"},
    {"sales@corp.example", POLICY_REWRITE, "bob@corp.example,ext@else.example"},
    /* a mailbox with its own alias: the alias, the mailbox keeping a copy */
    {"alice@corp.example", POLICY_REWRITE, "alice@corp.example,bob@corp.example"},
    /* ... or not, when the alias leaves it out (in either order) */
    {"fwd@corp.example", POLICY_REWRITE, "ext@else.example"},
    {"nobody@corp.example", POLICY_REJECT, ""},
    {"bob+tag@corp.example", POLICY_KEEP, ""},
    {"bob@alias.example", POLICY_REWRITE, "bob@corp.example"},
    {"jörg@bücher.example", POLICY_KEEP, ""},
    {"jörg@xn--bcher-kva.example", POLICY_KEEP, ""},
    /* the catch-all takes what no mailbox claims */
    {"other@xn--bcher-kva.example", POLICY_REWRITE, "jörg@xn--bcher-kva.example"},
    {"x@else.example", POLICY_PASS, ""},
};

START_TEST(test_resolve)
{
    struct source_records *r = records("ldap://127.0.0.1:3389", corp, N(corp));
    struct policy_result res;
    struct build x;
    char joined[1024];
    size_t o = 0;

    build(&x, r, NULL);
    if (diag_size(x.d) > 0)
        dump(x.d);
    ck_assert_uint_eq(diag_size(x.d), 0);
    ck_assert_int_eq(validate_table(x.t, x.b, x.d), 0);
    policy_result_init(&res);
    policy_resolve(x.t, resolve_rows[_i].rcpt, strlen(resolve_rows[_i].rcpt), &res);
    joined[0] = '\0';
    for (size_t i = 0; res.action == POLICY_REWRITE && i < res.ntargets; i++)
        o += (size_t)snprintf(joined + o, sizeof(joined) - o, "%s%s", i ? "," : "",
                              policy_target(&res, i));
    ck_assert_str_eq(policy_action_name(res.action), policy_action_name(resolve_rows[_i].action));
    ck_assert_str_eq(joined, resolve_rows[_i].targets);
    policy_result_free(&res);
    build_done(&x);
    source_records_free(r);
}
END_TEST

/* Canonical forms kept, and locations "SOURCE: ORIGIN" at line 0. */
START_TEST(test_canonical_and_locations)
{
    struct source_records *r = records("ldap://127.0.0.1:3389", corp, N(corp));
    const struct table_entry *e;
    struct build x;

    ck_assert_uint_eq(source_records_count(r), N(corp));
    ck_assert_str_eq(source_records_at(r, 0)->key, "corp.example");
    ck_assert_str_eq(source_records_at(r, 1)->key, "xn--bcher-kva.example");
    ck_assert_str_eq(source_records_at(r, 4)->key, "Robert@corp.example");
    ck_assert_str_eq(source_records_at(r, 11)->key, "jörg@xn--bcher-kva.example");
    ck_assert_ptr_eq(source_records_at(r, 3)->origin, source_records_at(r, 4)->origin);
    ck_assert_ptr_null(source_records_at(r, N(corp)));
    build(&x, r, NULL);
    ck_assert_int_eq(table_lookup(x.t, "robert@corp.example", 19, &e), 1);
    struct table_loc at = table_builder_entry_loc(x.b, table_entry_index(x.t, e));
    ck_assert_str_eq(at.file, "ldap://127.0.0.1:3389: cn=bob");
    ck_assert_uint_eq(at.line, 0);
    ck_assert_int_eq(table_lookup(x.t, "alice@corp.example", 18, &e), 1);
    ck_assert_int_eq(e->kind, TABLE_ALIAS);
    at = table_builder_entry_loc(x.b, table_entry_index(x.t, e));
    ck_assert_str_eq(at.file, "ldap://127.0.0.1:3389: alias address=alice@corp.example");
    ck_assert_uint_eq(table_count_kind(x.t, TABLE_MAILBOX), 4);
    build_done(&x);
    source_records_free(r);
}
END_TEST

/* Validation after apply names the source and the origin. */
START_TEST(test_validation_names_origin)
{
    static const struct rec v[] = {
        {SOURCE_DOMAIN, "cn=corp,dc=example", "corp.example", {NULL}, 0},
        {SOURCE_MAILBOX, "cn=pm,dc=example", "postmaster@corp.example", {NULL}, 0},
        {SOURCE_ALIAS, "cn=list,dc=example", "list@corp.example", {"gone@corp.example"}, 0},
    };
    struct source_records *r = records("ldap://h", v, N(v));
    struct build x;

    build(&x, r, NULL);
    ck_assert_int_eq(validate_table(x.t, x.b, x.d), 1);
    ck_assert_ptr_nonnull(strstr(diag_text(x.d, 0), "ldap://h: cn=list,dc=example: alias "));
    build_done(&x);
    source_records_free(r);
}
END_TEST

/* ---- refused values ----------------------------------------------------- */

#define BOB "cn=bob,ou=people,dc=corp,dc=example"
#define SRC "ldap://127.0.0.1:3389: "

static const struct {
    struct rec rec;
    const char *diags[MAX_DIAGS];
} bad_rows[] = {
    {{SOURCE_MAILBOX, BOB, "x@", {NULL}, 0},
     {SRC BOB ": invalid primary address \"x@\": malformed domain"}},
    {{SOURCE_MAILBOX, BOB, "bob", {NULL}, 0},
     {SRC BOB ": invalid primary address \"bob\": address needs a domain"}},
    {{SOURCE_MAILBOX, BOB, "", {NULL}, 0},
     {SRC BOB ": invalid primary address \"\": empty address"}},
    {{SOURCE_MAILBOX, BOB, "a\0b@x.example", {NULL}, 13},
     {SRC BOB ": invalid primary address \"a\\x00b@x.example\": control character in address"}},
    {{SOURCE_MAILBOX, BOB, "a\nb@x.example", {NULL}, 0},
     {SRC BOB ": invalid primary address \"a\\nb@x.example\": control character in address"}},
    {{SOURCE_MAILBOX, BOB, "\xff@x.example", {NULL}, 0},
     {SRC BOB ": invalid primary address \"\xff@x.example\": invalid UTF-8 in address"}},
    {{SOURCE_MAILBOX, BOB, "a b@x.example", {NULL}, 0},
     {SRC BOB ": invalid primary address \"a b@x.example\": malformed local part"}},
    {{SOURCE_MAILBOX,
      BOB,
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@x.example",
      {NULL},
      0},
     {SRC BOB ": invalid primary address "
              "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@x.example\": "
              "local part longer than 64 octets"}},
    {{SOURCE_MAILBOX, BOB, "SMTP:", {NULL}, 0},
     {SRC BOB ": invalid primary address \"SMTP:\": malformed "
              "local part"}},
    {{SOURCE_DOMAIN, BOB, "[192.0.2.1]", {NULL}, 0},
     {SRC BOB ": invalid domain \"[192.0.2.1]\": an address literal cannot be a hosted domain"}},
    {{SOURCE_DOMAIN, BOB, "", {NULL}, 0}, {SRC BOB ": invalid domain \"\": empty domain name"}},
    {{SOURCE_DOMAIN, BOB, "a..example", {NULL}, 0},
     {SRC BOB ": invalid domain \"a..example\": malformed domain"}},
    {{SOURCE_DOMAIN, BOB, "x@corp.example", {NULL}, 0},
     {SRC BOB ": invalid domain \"x@corp.example\": malformed domain"}},
    {{SOURCE_SECONDARY, BOB, "b2@corp.example", {"x@"}, 0},
     {SRC BOB ": secondary address b2@corp.example: invalid primary address \"x@\": malformed "
              "domain"}},
    {{SOURCE_ALIAS, BOB, "a@corp.example", {"ok@corp.example", "bad", "@x.example"}, 0},
     {SRC BOB ": alias a@corp.example: invalid target \"bad\": address needs a domain",
      SRC BOB ": alias a@corp.example: invalid target \"@x.example\": malformed local part"}},
    /* the key and a target both bad: both said */
    {{SOURCE_ALIAS, BOB, "a@", {"b"}, 0},
     {SRC BOB ": invalid alias address \"a@\": malformed domain",
      SRC BOB ": alias a@: invalid target \"b\": address needs a domain"}},
    {{SOURCE_ALIAS, BOB, "a@corp.example", {NULL}, 0},
     {SRC BOB ": alias \"a@corp.example\" needs at least one target"}},
    {{SOURCE_MAILBOX, BOB, "a@corp.example", {"b@corp.example"}, 0},
     {SRC BOB ": mailbox \"a@corp.example\" takes no target, not 1"}},
    {{SOURCE_SECONDARY, BOB, "a@corp.example", {"b@corp.example", "c@corp.example"}, 0},
     {SRC BOB ": secondary address \"a@corp.example\" needs exactly one target, not 2"}},
    {{SOURCE_ALIAS_DOMAIN, BOB, "a.example", {"[192.0.2.1]"}, 0},
     {SRC BOB ": alias domain a.example: invalid target domain \"[192.0.2.1]\": an address "
              "literal cannot be a hosted domain"}},
    {{SOURCE_CATCH_ALL, BOB, "@corp.example", {"x@corp.example"}, 0},
     {SRC BOB ": invalid catch-all domain \"@corp.example\": malformed domain"}},
    {{SOURCE_CATCH_ALL, BOB, "corp.example", {"@other.example"}, 0},
     {SRC BOB ": catch-all of corp.example: invalid target \"@other.example\": malformed local "
              "part"}},
    {{SOURCE_MAILBOX, "", "a@corp.example", {NULL}, 0},
     {SRC "mailbox \"a@corp.example\" without an origin"}},
    {{SOURCE_MAILBOX, NULL, "a@corp.example", {NULL}, 0},
     {SRC "mailbox \"a@corp.example\" without an origin"}},
    /* an origin's control bytes are escaped, its UTF-8 kept */
    {{SOURCE_MAILBOX, "cn=J\xc3\xb6rg\n\"x\"", "x@", {NULL}, 0},
     {SRC "cn=J\xc3\xb6rg\\n\"x\": invalid primary address \"x@\": malformed domain"}},
    {{(enum source_kind)99, BOB, "a@corp.example", {NULL}, 0},
     {SRC BOB ": record of unknown kind 99"}},
};

START_TEST(test_bad_values)
{
    struct source_records *r = source_records_new("ldap://127.0.0.1:3389");
    struct diag *d = diag_new();

    ck_assert_int_eq(add(r, &bad_rows[_i].rec, d), 1);
    ck_assert_uint_eq(source_records_count(r), 0);
    expect_diags(d, bad_rows[_i].diags);
    ck_assert(!source_records_oom(r));
    diag_free(d);
    source_records_free(r);
}
END_TEST

/* A long bad value is cut in the message, at a character boundary. */
START_TEST(test_bad_value_cut)
{
    struct source_records *r = source_records_new("s");
    struct diag *d = diag_new();
    char key[400], want[512];
    struct rec x = {SOURCE_MAILBOX, "o", key, {NULL}, 0};

    memset(key, 'a', 199);
    strcpy(key + 199, "ö@"); /* the cut falls inside "ö" */
    ck_assert_int_eq(add(r, &x, d), 1);
    snprintf(want, sizeof(want),
             "s: o: invalid primary address \"%.199s...\": local part longer than 64 octets", key);
    ck_assert_str_eq(diag_text(d, 0), want);
    diag_free(d);
    source_records_free(r);
}
END_TEST

/* ---- duplicates ---------------------------------------------------------- */

static const struct {
    struct rec recs[3];
    bool config_mailbox; /* a@corp.example already in the configuration */
    const char *diags[MAX_DIAGS];
} dup_rows[] = {
    {{{SOURCE_MAILBOX, "cn=1", "a@corp.example", {NULL}, 0},
      {SOURCE_MAILBOX, "cn=2", "A@corp.example", {NULL}, 0}},
     false,
     {"src: cn=2: mailbox A@corp.example is already defined by cn=1 (mailbox a@corp.example)"}},
    {{{SOURCE_MAILBOX, "cn=1", "a@corp.example", {NULL}, 0},
      {SOURCE_SECONDARY, "cn=2", "a@corp.example", {"b@corp.example"}, 0}},
     false,
     {"src: cn=2: secondary address a@corp.example of b@corp.example is already defined by cn=1 "
      "(mailbox a@corp.example)"}},
    {{{SOURCE_SECONDARY, "cn=2", "a@corp.example", {"b@corp.example"}, 0},
      {SOURCE_MAILBOX, "cn=1", "a@corp.example", {NULL}, 0}},
     false,
     {"src: cn=1: mailbox a@corp.example is already defined by cn=2 (secondary address "
      "a@corp.example of b@corp.example)"}},
    {{{SOURCE_ALIAS, "cn=1", "a@corp.example", {"b@corp.example"}, 0},
      {SOURCE_ALIAS, "cn=2", "a@corp.example", {"b@corp.example"}, 0}},
     false,
     {"src: cn=2: alias a@corp.example is already defined by cn=1 (alias a@corp.example)"}},
    /* a mailbox and its alias are one entry, in either order ... */
    {{{SOURCE_MAILBOX, "cn=1", "a@corp.example", {NULL}, 0},
      {SOURCE_ALIAS, "cn=2", "a@corp.example", {"a@corp.example"}, 0}},
     false,
     {NULL}},
    {{{SOURCE_ALIAS, "cn=2", "a@corp.example", {"a@corp.example"}, 0},
      {SOURCE_MAILBOX, "cn=1", "a@corp.example", {NULL}, 0}},
     false,
     {NULL}},
    /* ... but only one of each */
    {{{SOURCE_MAILBOX, "cn=1", "a@corp.example", {NULL}, 0},
      {SOURCE_ALIAS, "cn=2", "a@corp.example", {"a@corp.example"}, 0},
      {SOURCE_MAILBOX, "cn=3", "a@corp.example", {NULL}, 0}},
     false,
     {"src: cn=3: mailbox a@corp.example is already defined by cn=2 (alias a@corp.example)"}},
    {{{SOURCE_ALIAS_DOMAIN, "cn=1", "a.example", {"corp.example"}, 0},
      {SOURCE_ALIAS_DOMAIN, "cn=2", "a.example", {"b.example"}, 0}},
     false,
     {"src: cn=2: alias domain a.example is already defined by cn=1"}},
    {{{SOURCE_CATCH_ALL, "cn=1", "corp.example", {"x@corp.example"}, 0},
      {SOURCE_CATCH_ALL, "cn=2", "Corp.Example", {"y@corp.example"}, 0}},
     false,
     {"src: cn=2: catch-all of corp.example is already defined by cn=1"}},
    /* a domain declared twice is one domain */
    {{{SOURCE_DOMAIN, "cn=1", "corp.example", {NULL}, 0},
      {SOURCE_DOMAIN, "cn=2", "CORP.example.", {NULL}, 0}},
     false,
     {NULL}},
    /* against another place: its file and line */
    {{{SOURCE_MAILBOX, "cn=1", "A@corp.example", {NULL}, 0}},
     true,
     {"src: cn=1: mailbox A@corp.example is already defined at /etc/hm.conf:12"}},
    {{{SOURCE_CATCH_ALL, "cn=1", "other.example", {"x@corp.example"}, 0}},
     false,
     {"src: cn=1: warning: catch-all of other.example, a domain that is not hosted: ignored"}},
};

START_TEST(test_duplicates)
{
    static const struct rec domains[] = {
        {SOURCE_DOMAIN, "cn=corp", "corp.example", {NULL}, 0},
        {SOURCE_DOMAIN, "cn=b", "b.example", {NULL}, 0},
    };
    static const struct rec config = {SOURCE_MAILBOX, NULL, "a@corp.example", {NULL}, 0};
    struct source_records *r = records("src", domains, N(domains));
    struct diag *d = diag_new();
    struct build x;

    for (size_t i = 0; i < 3 && dup_rows[_i].recs[i].kind != 0; i++)
        ck_assert_int_eq(add(r, &dup_rows[_i].recs[i], d), 0);
    build(&x, r, dup_rows[_i].config_mailbox ? &config : NULL);
    expect_diags(x.d, dup_rows[_i].diags);
    build_done(&x);
    diag_free(d);
    source_records_free(r);
}
END_TEST

/* ---- precedence: the configuration's, or Postfix's for sources that were its maps ---- */

static const struct rec pfa[] = {
    {SOURCE_DOMAIN, "domain domain=corp.example", "corp.example", {NULL}, 0},
    {SOURCE_MAILBOX, "mailbox username=a@corp.example", "a@corp.example", {NULL}, 0},
    {SOURCE_MAILBOX, "mailbox username=b@corp.example", "b@corp.example", {NULL}, 0},
    {SOURCE_ALIAS, "alias address=b@corp.example", "b@corp.example", {"b@corp.example"}, 0},
    {SOURCE_CATCH_ALL, "alias address=@corp.example", "corp.example", {"x@else.example"}, 0},
};

static const struct {
    enum source_precedence precedence;
    const char *rcpt;
    enum policy_action action;
    const char *target;
} precedence_rows[] = {
    /* RESOLUTION: a mailbox is never captured */
    {SOURCE_PRECEDENCE_CONFIG, "a@corp.example", POLICY_KEEP, ""},
    {SOURCE_PRECEDENCE_CONFIG, "b@corp.example", POLICY_KEEP, ""},
    {SOURCE_PRECEDENCE_CONFIG, "c@corp.example", POLICY_REWRITE, "x@else.example"},
    /* Postfix: the catch-all captures the mailbox without an alias of its own */
    {SOURCE_PRECEDENCE_POSTFIX, "a@corp.example", POLICY_REWRITE, "x@else.example"},
    {SOURCE_PRECEDENCE_POSTFIX, "b@corp.example", POLICY_KEEP, ""},
    {SOURCE_PRECEDENCE_POSTFIX, "c@corp.example", POLICY_REWRITE, "x@else.example"},
};

START_TEST(test_precedence)
{
    struct source_records *r = records("src", pfa, N(pfa));
    struct policy_result res;
    struct build x;

    build_with(&x, r, NULL, precedence_rows[_i].precedence);
    ck_assert_int_eq(x.errors, 0);
    policy_result_init(&res);
    policy_resolve(x.t, precedence_rows[_i].rcpt, strlen(precedence_rows[_i].rcpt), &res);
    ck_assert_str_eq(policy_action_name(res.action),
                     policy_action_name(precedence_rows[_i].action));
    if (res.action == POLICY_REWRITE) {
        ck_assert_uint_eq(res.ntargets, 1);
        ck_assert_str_eq(policy_target(&res, 0), precedence_rows[_i].target);
    }
    policy_result_free(&res);
    build_done(&x);
    source_records_free(r);
}
END_TEST

static Suite *source_records_suite(void)
{
    Suite *s = suite_create("source_records");
    TCase *tc;

    tc = tcase_create("apply");
    tcase_add_loop_test(tc, test_resolve, 0, N(resolve_rows));
    tcase_add_test(tc, test_canonical_and_locations);
    tcase_add_test(tc, test_validation_names_origin);
    suite_add_tcase(s, tc);
    tc = tcase_create("bad_values");
    tcase_add_loop_test(tc, test_bad_values, 0, N(bad_rows));
    tcase_add_test(tc, test_bad_value_cut);
    suite_add_tcase(s, tc);
    tc = tcase_create("duplicates");
    tcase_add_loop_test(tc, test_duplicates, 0, N(dup_rows));
    suite_add_tcase(s, tc);
    tc = tcase_create("precedence");
    tcase_add_loop_test(tc, test_precedence, 0, N(precedence_rows));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(source_records_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
