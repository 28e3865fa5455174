/*
 * check_rcpt_plan.c - unit tests of rcpt_plan.c: MTA detection, the
 * ORCPT/NOTIFY arguments, the delete strings per MTA, dedupe, self-map and
 * the add-before-delete order of the end-of-message edits.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rcpt_plan.h"

static struct rcpt_plan *plan;

static void setup(void)
{
    plan = rcpt_plan_new();
    ck_assert_ptr_nonnull(plan);
}

static void teardown(void)
{
    rcpt_plan_free(plan);
    plan = NULL;
}

/* The edits as one string: "+<a@b> ORCPT=...|-<c@d>|...". */
static const char *edits(void)
{
    static char buf[8192];
    size_t n = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < rcpt_plan_edit_count(plan); i++) {
        const struct rcpt_edit *e = rcpt_plan_edit_at(plan, i);
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%c%s%s%s", i > 0 ? "|" : "",
                              e->kind == RCPT_EDIT_ADD ? '+' : '-', e->rcpt,
                              e->args != NULL ? " " : "", e->args != NULL ? e->args : "");
    }
    return buf;
}

static void rewrite(const char *rcpt, const char *address, char *const *args, const char *t1,
                    const char *t2)
{
    const char *targets[2] = {t1, t2};

    ck_assert_int_eq(
        rcpt_plan_rewrite(plan, rcpt, address, args, "exact", targets, t2 != NULL ? 2 : 1), 0);
}

/* ---- MTA detection from macro v ---- */

static const struct {
    const char *v;
    enum rcpt_mta mta;
} mta_cases[] = {
    {"Postfix 3.7.11", RCPT_MTA_POSTFIX},
    {"Postfix", RCPT_MTA_POSTFIX},
    {"8.17.1.9", RCPT_MTA_SENDMAIL},
    {NULL, RCPT_MTA_UNKNOWN},
    {"", RCPT_MTA_UNKNOWN},
    {"Exim 4.96", RCPT_MTA_UNKNOWN},
    {"postfix 3.7", RCPT_MTA_UNKNOWN},
};

START_TEST(test_mta)
{
    ck_assert_int_eq(rcpt_plan_mta(mta_cases[_i].v), mta_cases[_i].mta);
}
END_TEST

/* ---- ORCPT / NOTIFY for one rewrite ---- */

static const struct {
    const char *rcpt;
    const char *arg1, *arg2;
    const char *expect;
} args_cases[] = {
    {"<a@b.example>", NULL, NULL, "ORCPT=rfc822;a@b.example"},
    {"a@b.example", NULL, NULL, "ORCPT=rfc822;a@b.example"},
    {"<postmaster>", NULL, NULL, "ORCPT=rfc822;postmaster"},
    /* white space around the address is not part of it (Sendmail keeps it) */
    {"<a@b.example >", NULL, NULL, "ORCPT=rfc822;a@b.example"},
    {"< \ta(x) @b.example\t >", NULL, NULL, "ORCPT=rfc822;a(x)+20@b.example"},
    {"<PostMaster@Hosted.Example>", NULL, NULL, "ORCPT=rfc822;PostMaster@Hosted.Example"},
    /* xtext: '+', '=', space, 8-bit, control */
    {"<u+tag=x@d.example>", NULL, NULL, "ORCPT=rfc822;u+2Btag+3Dx@d.example"},
    {"<\"john doe\"@d.example>", NULL, NULL, "ORCPT=rfc822;\"john+20doe\"@d.example"},
    {"<\xe9t\x7f@d.example>", NULL, NULL, "ORCPT=rfc822;+E9t+7F@d.example"},
    /* the source route is not part of the original recipient */
    {"<@r1.example,@r2.example:u@d.example>", NULL, NULL, "ORCPT=rfc822;u@d.example"},
    {"<@[IPv6:::1]:u@d.example>", NULL, NULL, "ORCPT=rfc822;u@d.example"},
    /* the client's own ORCPT, verbatim, whatever its case */
    {"<a@b.example>", "ORCPT=rfc822;orig+2B@x.example", NULL, "ORCPT=rfc822;orig+2B@x.example"},
    {"<a@b.example>", "orcpt=rfc822;o@x.example", NULL, "orcpt=rfc822;o@x.example"},
    /* a malformed one is replaced by ours: raw '+', '=', 8-bit, space,
     * lower-case hex, no type, no address, an empty or odd type */
    {"<a@b.example>", "ORCPT=rfc822;we+ird@x.example", NULL, "ORCPT=rfc822;a@b.example"},
    {"<a@b.example>", "ORCPT=rfc822;a=b@x.example", NULL, "ORCPT=rfc822;a@b.example"},
    {"<a@b.example>", "ORCPT=rfc822;\xe9@x.example", NULL, "ORCPT=rfc822;a@b.example"},
    {"<a@b.example>", "ORCPT=rfc822;a b@x.example", NULL, "ORCPT=rfc822;a@b.example"},
    {"<a@b.example>", "ORCPT=rfc822;a+2b@x.example", NULL, "ORCPT=rfc822;a@b.example"},
    {"<a@b.example>", "ORCPT=rfc822;a+2@x.example", NULL, "ORCPT=rfc822;a@b.example"},
    {"<a@b.example>", "ORCPT=a@x.example", NULL, "ORCPT=rfc822;a@b.example"},
    {"<a@b.example>", "ORCPT=rfc822;", NULL, "ORCPT=rfc822;a@b.example"},
    {"<a@b.example>", "ORCPT=;a@x.example", NULL, "ORCPT=rfc822;a@b.example"},
    {"<a@b.example>", "ORCPT=rf c;a@x.example", NULL, "ORCPT=rfc822;a@b.example"},
    {"<a@b.example>", "ORCPT=utf-8;a@x.example", NULL, "ORCPT=utf-8;a@x.example"},
    {"<a@b.example>", "ORCPT=rfc822;b=d@x.example", "ORCPT=rfc822;ok@x.example",
     "ORCPT=rfc822;a@b.example"},
    /* NOTIFY without SUCCESS; NEVER when nothing is left */
    {"<a@b.example>", "NOTIFY=SUCCESS", NULL, "ORCPT=rfc822;a@b.example NOTIFY=NEVER"},
    {"<a@b.example>", "NOTIFY=SUCCESS,FAILURE", NULL, "ORCPT=rfc822;a@b.example NOTIFY=FAILURE"},
    {"<a@b.example>", "NOTIFY=FAILURE,SUCCESS,DELAY", NULL,
     "ORCPT=rfc822;a@b.example NOTIFY=FAILURE,DELAY"},
    {"<a@b.example>", "NOTIFY=success,delay", NULL, "ORCPT=rfc822;a@b.example NOTIFY=delay"},
    {"<a@b.example>", "NOTIFY=NEVER", NULL, "ORCPT=rfc822;a@b.example NOTIFY=NEVER"},
    {"<a@b.example>", "NOTIFY=FAILURE,DELAY", NULL,
     "ORCPT=rfc822;a@b.example NOTIFY=FAILURE,DELAY"},
    /* both, in either order; other arguments are not passed on */
    {"<a@b.example>", "NOTIFY=SUCCESS,DELAY", "ORCPT=rfc822;c@d.example",
     "ORCPT=rfc822;c@d.example NOTIFY=DELAY"},
    {"<a@b.example>", "FOO=bar", NULL, "ORCPT=rfc822;a@b.example"},
};

START_TEST(test_args)
{
    char *args[3] = {(char *)args_cases[_i].arg1, (char *)args_cases[_i].arg2, NULL};
    const struct rcpt_rewrite *rw;

    rewrite(args_cases[_i].rcpt, "a@b.example", args, "t@corp.example", NULL);
    ck_assert_int_eq(rcpt_plan_finish(plan, RCPT_MTA_POSTFIX), 0);
    rw = rcpt_plan_rewrite_at(plan, 0);
    ck_assert_str_eq(rw->args, args_cases[_i].expect);
    ck_assert_str_eq(rcpt_plan_edit_at(plan, 0)->args, args_cases[_i].expect);
    ck_assert_str_eq(rcpt_plan_edit_at(plan, 0)->rcpt, "<t@corp.example>");
}
END_TEST

/* ---- what is deleted, per MTA ---- */

static const struct {
    const char *rcpt;
    enum rcpt_mta mta;
    const char *expect; /* the delete edits */
} delete_cases[] = {
    {"<u@d.example>", RCPT_MTA_POSTFIX, "-<u@d.example>"},
    {"<u@d.example>", RCPT_MTA_SENDMAIL, "-<u@d.example>"},
    {"<u@d.example>", RCPT_MTA_UNKNOWN, "-<u@d.example>"},
    /* case kept: delete is case-sensitive in both MTAs */
    {"<PostMaster@Hosted.Example>", RCPT_MTA_POSTFIX, "-<PostMaster@Hosted.Example>"},
    /* Postfix stores the recipient without its route; Sendmail as sent */
    {"<@r1.example,@r2.example:U@d.example>", RCPT_MTA_POSTFIX, "-<U@d.example>"},
    {"<@r1.example,@r2.example:U@d.example>", RCPT_MTA_SENDMAIL,
     "-<@r1.example,@r2.example:U@d.example>"},
    {"<@r1.example,@r2.example:U@d.example>", RCPT_MTA_UNKNOWN,
     "-<@r1.example,@r2.example:U@d.example>|-<U@d.example>"},
    {"<@[IPv6:::1]:u@d.example>", RCPT_MTA_POSTFIX, "-<u@d.example>"},
    {"@r.example:u@d.example", RCPT_MTA_POSTFIX, "-u@d.example"},
    /* the rest exactly as sent, even odd spacing */
    {"<@r.example:u@d.example >", RCPT_MTA_POSTFIX, "-<u@d.example >"},
    {"<postmaster>", RCPT_MTA_POSTFIX, "-<postmaster>"},
};

START_TEST(test_delete)
{
    char expect[512];

    rewrite(delete_cases[_i].rcpt, "u@d.example", NULL, "t@corp.example", NULL);
    ck_assert_int_eq(rcpt_plan_finish(plan, delete_cases[_i].mta), 0);
    snprintf(expect, sizeof expect, "+<t@corp.example> %s|%s", rcpt_plan_rewrite_at(plan, 0)->args,
             delete_cases[_i].expect);
    ck_assert_str_eq(edits(), expect);
}
END_TEST

/* ---- dedupe, self-map, order ---- */

START_TEST(test_two_originals_one_target)
{
    rewrite("<postmaster@a.example>", "postmaster@a.example", NULL, "admin@corp.example", NULL);
    rewrite("<abuse@a.example>", "abuse@a.example", NULL, "Admin@corp.example", NULL);
    ck_assert_int_eq(rcpt_plan_finish(plan, RCPT_MTA_POSTFIX), 0);
    ck_assert_str_eq(edits(), "+<admin@corp.example> ORCPT=rfc822;postmaster@a.example"
                              "|-<postmaster@a.example>|-<abuse@a.example>");
    ck_assert_uint_eq(rcpt_plan_rewrite_at(plan, 0)->nadded, 1);
    ck_assert_uint_eq(rcpt_plan_rewrite_at(plan, 1)->nadded, 0);
}
END_TEST

START_TEST(test_target_already_kept)
{
    ck_assert_int_eq(rcpt_plan_keep(plan, "Bob@corp.example"), 0);
    rewrite("<sales@a.example>", "sales@a.example", NULL, "bob@corp.example", "carol@corp.example");
    ck_assert_int_eq(rcpt_plan_finish(plan, RCPT_MTA_POSTFIX), 0);
    ck_assert_str_eq(edits(), "+<carol@corp.example> ORCPT=rfc822;sales@a.example"
                              "|-<sales@a.example>");
}
END_TEST

START_TEST(test_keep_after_rewrite)
{
    /* the kept recipient comes later in the message: still deduplicated */
    rewrite("<sales@a.example>", "sales@a.example", NULL, "bob@corp.example", NULL);
    ck_assert_int_eq(rcpt_plan_keep(plan, "bob@corp.example"), 0);
    ck_assert_int_eq(rcpt_plan_finish(plan, RCPT_MTA_POSTFIX), 0);
    ck_assert_str_eq(edits(), "-<sales@a.example>");
}
END_TEST

START_TEST(test_keep_empty_ignored)
{
    ck_assert_int_eq(rcpt_plan_keep(plan, ""), 0);
    ck_assert_int_eq(rcpt_plan_keep(plan, NULL), 0);
    rewrite("<x@a.example>", "x@a.example", NULL, "t@corp.example", NULL);
    ck_assert_int_eq(rcpt_plan_finish(plan, RCPT_MTA_POSTFIX), 0);
    ck_assert_uint_eq(rcpt_plan_edit_count(plan), 2);
}
END_TEST

START_TEST(test_self_map)
{
    const struct rcpt_rewrite *rw;

    rewrite("<Self@d.example>", "Self@d.example", NULL, "self@d.example", "copy@corp.example");
    ck_assert_int_eq(rcpt_plan_finish(plan, RCPT_MTA_POSTFIX), 0);
    ck_assert_str_eq(edits(), "+<copy@corp.example> ORCPT=rfc822;Self@d.example");
    rw = rcpt_plan_rewrite_at(plan, 0);
    ck_assert(rw->keep_original);
    ck_assert_uint_eq(rw->nadded, 1);
}
END_TEST

START_TEST(test_original_targeted_by_other_rewrite)
{
    /* self@ stays (self-map); another recipient's target self@ is not re-added */
    rewrite("<other@d.example>", "other@d.example", NULL, "self@d.example", NULL);
    rewrite("<self@d.example>", "self@d.example", NULL, "self@d.example", "copy@corp.example");
    ck_assert_int_eq(rcpt_plan_finish(plan, RCPT_MTA_POSTFIX), 0);
    ck_assert_str_eq(edits(), "+<copy@corp.example> ORCPT=rfc822;self@d.example"
                              "|-<other@d.example>");
}
END_TEST

START_TEST(test_same_rcpt_twice)
{
    rewrite("<pm@a.example>", "pm@a.example", NULL, "admin@corp.example", NULL);
    rewrite("<pm@a.example>", "pm@a.example", NULL, "admin@corp.example", NULL);
    ck_assert_int_eq(rcpt_plan_finish(plan, RCPT_MTA_SENDMAIL), 0);
    ck_assert_str_eq(edits(), "+<admin@corp.example> ORCPT=rfc822;pm@a.example"
                              "|-<pm@a.example>");
}
END_TEST

START_TEST(test_adds_before_deletes)
{
    rewrite("<a@x.example>", "a@x.example", NULL, "1@corp.example", "2@corp.example");
    rewrite("<b@x.example>", "b@x.example", NULL, "3@corp.example", NULL);
    ck_assert_int_eq(rcpt_plan_finish(plan, RCPT_MTA_POSTFIX), 0);
    ck_assert_str_eq(edits(), "+<1@corp.example> ORCPT=rfc822;a@x.example"
                              "|+<2@corp.example> ORCPT=rfc822;a@x.example"
                              "|+<3@corp.example> ORCPT=rfc822;b@x.example"
                              "|-<a@x.example>|-<b@x.example>");
    ck_assert_uint_eq(rcpt_plan_edit_at(plan, 2)->rewrite, 1);
    ck_assert_uint_eq(rcpt_plan_edit_at(plan, 3)->rewrite, 0);
}
END_TEST

START_TEST(test_reset)
{
    ck_assert_int_eq(rcpt_plan_keep(plan, "t@corp.example"), 0);
    rewrite("<a@x.example>", "a@x.example", NULL, "t@corp.example", NULL);
    ck_assert_int_eq(rcpt_plan_finish(plan, RCPT_MTA_POSTFIX), 0);
    ck_assert_str_eq(edits(), "-<a@x.example>");
    rcpt_plan_reset(plan);
    ck_assert_uint_eq(rcpt_plan_rewrite_count(plan), 0);
    ck_assert_uint_eq(rcpt_plan_edit_count(plan), 0);
    ck_assert_ptr_null(rcpt_plan_rewrite_at(plan, 0));
    ck_assert_ptr_null(rcpt_plan_edit_at(plan, 0));
    /* the kept recipient of the last message no longer counts */
    rewrite("<a@x.example>", "a@x.example", NULL, "t@corp.example", NULL);
    ck_assert_int_eq(rcpt_plan_finish(plan, RCPT_MTA_POSTFIX), 0);
    ck_assert_str_eq(edits(), "+<t@corp.example> ORCPT=rfc822;a@x.example|-<a@x.example>");
}
END_TEST

START_TEST(test_copies)
{
    char rcpt[] = "<a@x.example>", target[] = "t@corp.example", arg[] = "NOTIFY=DELAY";
    char *args[] = {arg, NULL};
    const char *targets[] = {target};

    ck_assert_int_eq(rcpt_plan_rewrite(plan, rcpt, "a@x.example", args, "role", targets, 1), 0);
    memset(rcpt, 'X', sizeof rcpt - 1);
    memset(target, 'X', sizeof target - 1);
    memset(arg, 'X', sizeof arg - 1);
    ck_assert_int_eq(rcpt_plan_finish(plan, RCPT_MTA_POSTFIX), 0);
    ck_assert_str_eq(edits(), "+<t@corp.example> ORCPT=rfc822;a@x.example NOTIFY=DELAY"
                              "|-<a@x.example>");
    ck_assert_str_eq(rcpt_plan_rewrite_at(plan, 0)->rule, "role");
}
END_TEST

START_TEST(test_many)
{
    /* 3000 recipients, each to its own target and a shared one: the sets grow */
    char rcpt[64], address[64], target[64];
    size_t adds = 0, deletes = 0;

    for (int i = 0; i < 3000; i++) {
        snprintf(rcpt, sizeof rcpt, "<u%d@x.example>", i);
        snprintf(address, sizeof address, "u%d@x.example", i);
        snprintf(target, sizeof target, "T%d@corp.example", i);
        rewrite(rcpt, address, NULL, target, "shared@corp.example");
        snprintf(target, sizeof target, "k%d@corp.example", i);
        ck_assert_int_eq(rcpt_plan_keep(plan, target), 0);
    }
    ck_assert_int_eq(rcpt_plan_finish(plan, RCPT_MTA_POSTFIX), 0);
    for (size_t i = 0; i < rcpt_plan_edit_count(plan); i++) {
        if (rcpt_plan_edit_at(plan, i)->kind == RCPT_EDIT_ADD)
            adds++;
        else
            deletes++;
    }
    ck_assert_uint_eq(adds, 3001);
    ck_assert_uint_eq(deletes, 3000);
}
END_TEST

START_TEST(test_free_null)
{
    rcpt_plan_free(NULL);
    rcpt_plan_reset(NULL);
}
END_TEST

static Suite *rcpt_plan_suite(void)
{
    Suite *s = suite_create("rcpt_plan");
    TCase *tc;

    tc = tcase_create("mta");
    tcase_add_loop_test(tc, test_mta, 0, sizeof mta_cases / sizeof mta_cases[0]);
    suite_add_tcase(s, tc);

#define CASE(name)                                                                                 \
    tc = tcase_create(name);                                                                       \
    tcase_add_checked_fixture(tc, setup, teardown);                                                \
    suite_add_tcase(s, tc)

    CASE("orcpt_notify");
    tcase_add_loop_test(tc, test_args, 0, sizeof args_cases / sizeof args_cases[0]);
    CASE("delete_string");
    tcase_add_loop_test(tc, test_delete, 0, sizeof delete_cases / sizeof delete_cases[0]);
    CASE("dedupe");
    tcase_add_test(tc, test_two_originals_one_target);
    tcase_add_test(tc, test_target_already_kept);
    tcase_add_test(tc, test_keep_after_rewrite);
    tcase_add_test(tc, test_keep_empty_ignored);
    tcase_add_test(tc, test_same_rcpt_twice);
    tcase_add_test(tc, test_many);
    CASE("self_map");
    tcase_add_test(tc, test_self_map);
    tcase_add_test(tc, test_original_targeted_by_other_rewrite);
    CASE("order");
    tcase_add_test(tc, test_adds_before_deletes);
    CASE("lifecycle");
    tcase_add_test(tc, test_reset);
    tcase_add_test(tc, test_copies);
    tcase_add_test(tc, test_free_null);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(rcpt_plan_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
