/*
 * check_policy.c - unit tests of policy_resolve: one row per behaviour of
 * the rules of hosted-milter.conf(5) RESOLUTION, over a table built directly with the
 * builder (no configuration parser involved), plus the bounds.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "table.h"

static struct table *fixture_table;

#define LOC ((struct table_loc){"fixture", __LINE__})

static void must(int rc)
{
    ck_assert_int_eq(rc, 0);
}

static void add(struct table_builder *b, enum table_kind kind, const char *address, ...)
{
    const char *targets[16];
    size_t n = 0;
    va_list ap;

    va_start(ap, address);
    for (const char *t; (t = va_arg(ap, const char *)) != NULL;)
        targets[n++] = t;
    va_end(ap);
    must(table_builder_add_entry(b, kind, address, targets, n, LOC, NULL));
}

static void domain(struct table_builder *b, const char *name, const char *postmaster,
                   const char *alias_domain, const char *catch_all, int unknown)
{
    must(table_builder_add_domain(b, name, LOC));
    if (postmaster)
        must(table_builder_set_postmaster(b, name, postmaster, LOC, NULL));
    if (alias_domain)
        must(table_builder_set_alias_domain(b, name, alias_domain, LOC, NULL));
    if (catch_all)
        must(table_builder_set_catch_all(b, name, &catch_all, 1, LOC, NULL));
    if (unknown >= 0)
        must(table_builder_set_unknown(b, name, (enum unknown_action)unknown, LOC, NULL));
}

static struct table *build_fixture(unsigned max_depth, unsigned max_targets)
{
    static const char *const roles[] = {"Abuse"};
    struct table_settings s = {
        .postmaster = "admin@corp.example",
        .roles = roles,
        .nroles = 1,
        .delimiters = "+",
        .unknown = UNKNOWN_REJECT,
        .max_depth = max_depth,
        .max_targets = max_targets,
    };
    struct table_builder *b = table_builder_new(&s);
    ck_assert_ptr_nonnull(b);

    domain(b, "corp.example", "hostmaster@corp.example", NULL, NULL, -1);
    domain(b, "example.net", NULL, "corp.example", NULL, -1);
    domain(b, "example.org", NULL, NULL, "info@corp.example", -1);
    domain(b, "legacy.example", NULL, NULL, NULL, UNKNOWN_PASS);
    domain(b, "temp.example", NULL, NULL, NULL, UNKNOWN_TEMPFAIL);
    domain(b, "hosted.example", NULL, NULL, NULL, -1);
    domain(b, "alias.example", NULL, "hosted.example", NULL, -1);
    domain(b, "chain1.example", NULL, "chain2.example", NULL, -1);
    domain(b, "chain2.example", "bob@corp.example", "corp.example", NULL, -1);
    domain(b, "loop1.example", NULL, "loop2.example", NULL, -1);
    domain(b, "loop2.example", NULL, "loop1.example", NULL, -1);
    domain(b, "tempalias.example", NULL, "temp.example", NULL, -1);
    domain(b, "xn--bcher-kva.example", NULL, NULL, NULL, -1); /* bücher.example */

    const char *mailboxes[] = {"admin", "hostmaster", "info", "bob", "carol", "alice"};
    for (size_t i = 0; i < sizeof(mailboxes) / sizeof(mailboxes[0]); i++) {
        char a[64];
        snprintf(a, sizeof(a), "%s@corp.example", mailboxes[i]);
        add(b, TABLE_MAILBOX, a, NULL);
    }
    add(b, TABLE_MAILBOX, "j\xc3\xb6rg@corp.example", NULL);
    add(b, TABLE_MAILBOX, "anna@xn--bcher-kva.example", NULL);
    add(b, TABLE_SECONDARY, "alice@example.org", "alice@corp.example", NULL);
    add(b, TABLE_SECONDARY, "a.smith@example.org", "alice@corp.example", NULL);
    add(b, TABLE_ALIAS, "sales@example.org", "bob@corp.example", "carol@corp.example", NULL);
    add(b, TABLE_ALIAS, "abuse@example.org", "carol@corp.example", NULL);
    add(b, TABLE_ALIAS, "help@legacy.example", "bob@corp.example", NULL);
    /* the virtual(5) oracle's table, facts file section 4 */
    add(b, TABLE_ALIAS, "postmaster@hosted.example", "admin@corp.example", NULL);
    add(b, TABLE_ALIAS, "user@hosted.example", "mailbox@remote.example", NULL);
    add(b, TABLE_ALIAS, "multi@hosted.example", "b@x.example", "c@y.example", NULL);
    add(b, TABLE_ALIAS, "chain-a@hosted.example", "chain-b@hosted.example", NULL);
    add(b, TABLE_ALIAS, "chain-b@hosted.example", "chain-c@remote.example", NULL);
    add(b, TABLE_ALIAS, "loop-a@hosted.example", "loop-b@hosted.example", NULL);
    add(b, TABLE_ALIAS, "loop-b@hosted.example", "loop-a@hosted.example", NULL);
    add(b, TABLE_ALIAS, "selfloop@hosted.example", "selfloop@hosted.example", NULL);
    add(b, TABLE_ALIAS, "self@hosted.example", "self@hosted.example", "copy@remote.example", NULL);
    add(b, TABLE_ALIAS, "dup@hosted.example", "bob@corp.example", "sales@example.org",
        "BOB@corp.example", NULL);
    add(b, TABLE_ALIAS, "broken@hosted.example", "nobody@corp.example", NULL);
    add(b, TABLE_ALIAS, "wide@hosted.example", "w1@remote.example", "w2@remote.example",
        "w3@remote.example", "w4@remote.example", "w5@remote.example", NULL);
    add(b, TABLE_ALIAS, "deep1@hosted.example", "deep2@hosted.example", NULL);
    add(b, TABLE_ALIAS, "deep2@hosted.example", "deep3@hosted.example", NULL);
    add(b, TABLE_ALIAS, "deep3@hosted.example", "deep4@hosted.example", NULL);
    add(b, TABLE_ALIAS, "deep4@hosted.example", "end@remote.example", NULL);
    add(b, TABLE_ALIAS, "tagged@hosted.example", "bob+list@corp.example", NULL);
    add(b, TABLE_ALIAS, "topass@hosted.example", "anyone@legacy.example", NULL);

    struct table *t = table_builder_finish(b);
    ck_assert_ptr_nonnull(t);
    table_builder_free(b);
    return t;
}

static void setup(void)
{
    fixture_table = build_fixture(0, 0);
}

static void teardown(void)
{
    table_unref(fixture_table);
    fixture_table = NULL;
}

struct row {
    const char *input;
    enum policy_action action;
    enum policy_rule rule;
    const char *detail; /* targets joined by ",", or the reply */
};

static const struct row rows[] = {
    /* 1. bare postmaster */
    {"<postmaster>", POLICY_REWRITE, RULE_BARE_POSTMASTER, "admin@corp.example"},
    {"<PostMaster>", POLICY_REWRITE, RULE_BARE_POSTMASTER, "admin@corp.example"},
    {"postmaster", POLICY_REWRITE, RULE_BARE_POSTMASTER, "admin@corp.example"},
    {"<abuse>", POLICY_PASS, RULE_NOT_HOSTED, ""},
    /* 2. not hosted, unparseable */
    {"<someone@elsewhere.example>", POLICY_PASS, RULE_NOT_HOSTED, ""},
    {"<bob@sub.corp.example>", POLICY_PASS, RULE_NOT_HOSTED, ""},
    {"<bob@elsewhere.example", POLICY_PASS, RULE_UNPARSEABLE, ""},
    {"<nobody(x)@elsewhere.example>", POLICY_PASS, RULE_UNPARSEABLE, ""},
    {"", POLICY_PASS, RULE_UNPARSEABLE, ""},
    {"<>", POLICY_PASS, RULE_UNPARSEABLE, ""},
    {"<bob@corp.example>\r\nRCPT TO:<x@y.example>", POLICY_PASS, RULE_UNPARSEABLE, ""},
    {"<x@y.example>\r\nRCPT TO:<bob@corp.example>", POLICY_REJECT, RULE_BAD_SYNTAX,
     "550 5.1.3 <x@y.example>\\x0d\\x0aRCPT TO:<bob@corp.example>: Recipient address rejected: "
     "control character in address"},
    /* 3. exact: mailboxes, secondary addresses, aliases */
    {"<bob@corp.example>", POLICY_KEEP, RULE_EXACT, ""},
    {"<Bob@CORP.Example.>", POLICY_KEEP, RULE_EXACT, ""},
    {"<@relay.example,@r2.example:bob@corp.example>", POLICY_KEEP, RULE_EXACT, ""},
    {"<\"bob\"@corp.example>", POLICY_KEEP, RULE_EXACT, ""},
    {"<alice@example.org>", POLICY_REWRITE, RULE_EXACT, "alice@corp.example"},
    {"<A.Smith@Example.ORG>", POLICY_REWRITE, RULE_EXACT, "alice@corp.example"},
    {"<sales@example.org>", POLICY_REWRITE, RULE_EXACT, "bob@corp.example,carol@corp.example"},
    {"<user@hosted.example>", POLICY_REWRITE, RULE_EXACT, "mailbox@remote.example"},
    {"<multi@hosted.example>", POLICY_REWRITE, RULE_EXACT, "b@x.example,c@y.example"},
    {"<chain-a@hosted.example>", POLICY_REWRITE, RULE_EXACT, "chain-c@remote.example"},
    {"<dup@hosted.example>", POLICY_REWRITE, RULE_EXACT, "bob@corp.example,carol@corp.example"},
    {"<tagged@hosted.example>", POLICY_REWRITE, RULE_EXACT, "bob+list@corp.example"},
    {"<topass@hosted.example>", POLICY_REWRITE, RULE_EXACT, "anyone@legacy.example"},
    /* the self-map idiom */
    {"<selfloop@hosted.example>", POLICY_KEEP, RULE_EXACT, ""},
    {"<self@hosted.example>", POLICY_REWRITE, RULE_EXACT,
     "self@hosted.example,copy@remote.example"},
    /* 4. extensions, propagated with their case */
    {"<bob+news@corp.example>", POLICY_KEEP, RULE_EXTENSION, ""},
    {"<alice+news@example.org>", POLICY_REWRITE, RULE_EXTENSION, "alice+news@corp.example"},
    {"<A.Smith+Foo@example.org>", POLICY_REWRITE, RULE_EXTENSION, "alice+Foo@corp.example"},
    {"<sales+q3@example.org>", POLICY_REWRITE, RULE_EXTENSION,
     "bob+q3@corp.example,carol+q3@corp.example"},
    {"<User+TAG@Hosted.Example>", POLICY_REWRITE, RULE_EXTENSION, "mailbox+TAG@remote.example"},
    {"<multi+tag@hosted.example>", POLICY_REWRITE, RULE_EXTENSION,
     "b+tag@x.example,c+tag@y.example"},
    {"<alice+a+b@example.org>", POLICY_REWRITE, RULE_EXTENSION, "alice+a+b@corp.example"},
    {"<tagged+x@hosted.example>", POLICY_REWRITE, RULE_EXTENSION, "bob+list+x@corp.example"},
    {"<+x@corp.example>", POLICY_REJECT, RULE_UNKNOWN,
     "550 5.1.1 <+x@corp.example>: Recipient address rejected: User unknown"},
    /* 5. roles: per domain, via the alias chain, global; explicit wins */
    {"<postmaster@corp.example>", POLICY_REWRITE, RULE_ROLE, "hostmaster@corp.example"},
    {"<PostMaster@Corp.Example>", POLICY_REWRITE, RULE_ROLE, "hostmaster@corp.example"},
    {"<postmaster+x@corp.example>", POLICY_REWRITE, RULE_ROLE, "hostmaster+x@corp.example"},
    {"<abuse@corp.example>", POLICY_REWRITE, RULE_ROLE, "hostmaster@corp.example"},
    {"<postmaster@example.org>", POLICY_REWRITE, RULE_ROLE, "admin@corp.example"},
    {"<abuse@example.org>", POLICY_REWRITE, RULE_EXACT, "carol@corp.example"},
    {"<abuse+x@example.org>", POLICY_REWRITE, RULE_EXTENSION, "carol+x@corp.example"},
    {"<postmaster@example.net>", POLICY_REWRITE, RULE_ALIAS_DOMAIN, "hostmaster@corp.example"},
    {"<postmaster@chain1.example>", POLICY_REWRITE, RULE_ALIAS_DOMAIN, "bob@corp.example"},
    {"<postmaster@hosted.example>", POLICY_REWRITE, RULE_EXACT, "admin@corp.example"},
    {"<abuse@hosted.example>", POLICY_REWRITE, RULE_ROLE, "admin@corp.example"},
    {"<postmaster@alias.example>", POLICY_REWRITE, RULE_ALIAS_DOMAIN, "admin@corp.example"},
    {"<postmaster+x@alias.example>", POLICY_REWRITE, RULE_ALIAS_DOMAIN, "admin+x@corp.example"},
    {"<postmaster@legacy.example>", POLICY_REWRITE, RULE_ROLE, "admin@corp.example"},
    /* 6. alias domains, extension kept; unknown there is unknown here */
    {"<bob@example.net>", POLICY_REWRITE, RULE_ALIAS_DOMAIN, "bob@corp.example"},
    {"<bob+x@example.net>", POLICY_REWRITE, RULE_ALIAS_DOMAIN, "bob+x@corp.example"},
    {"<bob@chain1.example>", POLICY_REWRITE, RULE_ALIAS_DOMAIN, "bob@corp.example"},
    {"<user+t@alias.example>", POLICY_REWRITE, RULE_ALIAS_DOMAIN, "mailbox+t@remote.example"},
    {"<nobody@example.net>", POLICY_REJECT, RULE_UNKNOWN,
     "550 5.1.1 <nobody@example.net>: Recipient address rejected: User unknown"},
    {"<nobody@tempalias.example>", POLICY_TEMPFAIL, RULE_UNKNOWN,
     "450 4.1.1 <nobody@tempalias.example>: Recipient address rejected: User unknown, try "
     "again later"},
    {"<x@loop1.example>", POLICY_TEMPFAIL, RULE_LIMIT,
     "451 4.3.0 <x@loop1.example>: Recipient address rejected: Temporary lookup failure "
     "(alias expansion limit)"},
    /* 7. catch-all: no extension */
    {"<random@example.org>", POLICY_REWRITE, RULE_CATCH_ALL, "info@corp.example"},
    {"<random+tag@example.org>", POLICY_REWRITE, RULE_CATCH_ALL, "info@corp.example"},
    /* 8. unknown */
    {"<nobody@corp.example>", POLICY_REJECT, RULE_UNKNOWN,
     "550 5.1.1 <nobody@corp.example>: Recipient address rejected: User unknown"},
    {"<Nobody+x@Corp.Example>", POLICY_REJECT, RULE_UNKNOWN,
     "550 5.1.1 <Nobody+x@corp.example>: Recipient address rejected: User unknown"},
    {"<nobody@temp.example>", POLICY_TEMPFAIL, RULE_UNKNOWN,
     "450 4.1.1 <nobody@temp.example>: Recipient address rejected: User unknown, try again "
     "later"},
    {"<nobody@legacy.example>", POLICY_PASS, RULE_UNKNOWN, ""},
    {"<help@legacy.example>", POLICY_REWRITE, RULE_EXACT, "bob@corp.example"},
    /* malformed in a hosted domain: refused 5.1.3, never passed; in a pass
     * domain passed; the reply escapes what it quotes */
    {"<bob@corp.example", POLICY_REJECT, RULE_BAD_SYNTAX,
     "550 5.1.3 <bob@corp.example>: Recipient address rejected: unbalanced or misplaced angle "
     "brackets"},
    {"<nobody(x)@corp.example>", POLICY_REJECT, RULE_BAD_SYNTAX,
     "550 5.1.3 <nobody(x)@corp.example>: Recipient address rejected: malformed local part"},
    {"<nobody @corp.example>", POLICY_REJECT, RULE_BAD_SYNTAX,
     "550 5.1.3 <nobody @corp.example>: Recipient address rejected: malformed local part"},
    {"<nob\\ody@corp.example>", POLICY_REJECT, RULE_BAD_SYNTAX,
     "550 5.1.3 <nob\\x5cody@corp.example>: Recipient address rejected: malformed local part"},
    {"<nobody@corp.example >", POLICY_REJECT, RULE_BAD_SYNTAX,
     "550 5.1.3 <nobody@corp.example >: Recipient address rejected: malformed domain"},
    {"<.bob@corp.example>", POLICY_REJECT, RULE_BAD_SYNTAX,
     "550 5.1.3 <.bob@corp.example>: Recipient address rejected: malformed local part"},
    {"<bob..x@example.org>", POLICY_REJECT, RULE_BAD_SYNTAX,
     "550 5.1.3 <bob..x@example.org>: Recipient address rejected: malformed local part"},
    {"<@corp.example>", POLICY_REJECT, RULE_BAD_SYNTAX,
     "550 5.1.3 <@corp.example>: Recipient address rejected: malformed local part"},
    {"<\"\"@corp.example>", POLICY_REJECT, RULE_BAD_SYNTAX,
     "550 5.1.3 <\"\"@corp.example>: Recipient address rejected: empty local part"},
    {"<\".bob\"@corp.example>", POLICY_REJECT, RULE_UNKNOWN,
     "550 5.1.1 <\".bob\"@corp.example>: Recipient address rejected: User unknown"},
    {"<x12345678901234567890123456789012345678901234567890123456789012345@corp.example>",
     POLICY_REJECT, RULE_BAD_SYNTAX,
     "550 5.1.3 <x12345678901234567890123456789012345678901234567890123456789012345@corp.example>: "
     "Recipient address rejected: local part longer than 64 octets"},
    {"<bob@corp.example\x01>", POLICY_REJECT, RULE_BAD_SYNTAX,
     "550 5.1.3 <bob@corp.example\\x01>: Recipient address rejected: control character in "
     "address"},
    {"<.x@temp.example>", POLICY_REJECT, RULE_BAD_SYNTAX,
     "550 5.1.3 <.x@temp.example>: Recipient address rejected: malformed local part"},
    {"<.x@legacy.example>", POLICY_PASS, RULE_UNPARSEABLE, ""},
    {"<\"\"@legacy.example>", POLICY_PASS, RULE_UNPARSEABLE, ""},
    /* SMTPUTF8 local parts; IDN domains in either form */
    {"<j\xc3\xb6rg@corp.example>", POLICY_KEEP, RULE_EXACT, ""},
    {"<J\xc3\xb6rg@Corp.Example>", POLICY_KEEP, RULE_EXACT, ""},
    {"<jo\xcc\x88rg@corp.example>", POLICY_KEEP, RULE_EXACT, ""},
    {"<j\xc3\xbcrgen@corp.example>", POLICY_REJECT, RULE_UNKNOWN,
     "550 5.1.1 <j\\xc3\\xbcrgen@corp.example>: Recipient address rejected: User unknown"},
    {"<j\xffrg@corp.example>", POLICY_REJECT, RULE_BAD_SYNTAX,
     "550 5.1.3 <j\\xffrg@corp.example>: Recipient address rejected: invalid UTF-8 in address"},
    {"<anna@b\xc3\xbc"
     "cher.example>",
     POLICY_KEEP, RULE_EXACT, ""},
    {"<Anna@B\xc3\x9c"
     "CHER.example>",
     POLICY_KEEP, RULE_EXACT, ""},
    {"<anna@xn--bcher-kva.example>", POLICY_KEEP, RULE_EXACT, ""},
    {"<nobody@b\xc3\xbc"
     "cher.example>",
     POLICY_REJECT, RULE_UNKNOWN,
     "550 5.1.1 <nobody@xn--bcher-kva.example>: Recipient address rejected: User unknown"},
    {"<postmaster@b\xc3\xbc"
     "cher.example>",
     POLICY_REWRITE, RULE_ROLE, "admin@corp.example"},
    {"<.x@b\xc3\xbc"
     "cher.example>",
     POLICY_REJECT, RULE_BAD_SYNTAX,
     "550 5.1.3 <.x@b\\xc3\\xbc"
     "cher.example>: Recipient address rejected: malformed local part"},
    /* loops and broken targets are tempfails, never an accept */
    {"<loop-a@hosted.example>", POLICY_TEMPFAIL, RULE_LIMIT,
     "451 4.3.0 <loop-a@hosted.example>: Recipient address rejected: Temporary lookup failure "
     "(alias expansion limit)"},
    {"<broken@hosted.example>", POLICY_TEMPFAIL, RULE_BAD_TARGET,
     "451 4.3.0 <broken@hosted.example>: Recipient address rejected: Temporary lookup failure "
     "(undeliverable target)"},
};

/* Targets joined by ",", or the reply, or "". */
static void detail_of(const struct policy_result *r, char *buf, size_t size)
{
    buf[0] = '\0';
    if (r->action == POLICY_REWRITE) {
        for (size_t i = 0; i < r->ntargets; i++) {
            if (i > 0)
                strncat(buf, ",", size - strlen(buf) - 1);
            strncat(buf, policy_target(r, i), size - strlen(buf) - 1);
        }
    } else if (r->action == POLICY_REJECT || r->action == POLICY_TEMPFAIL) {
        ck_assert_uint_gt(policy_format_reply(r, true, buf, size), 0);
    }
}

/* policy_resolve_rcpt: the RCPT argument and the MTA's {rcpt_addr}. */
static const struct rcpt_row {
    const char *rcpt, *mta_addr;
    enum policy_action action;
    enum policy_rule rule;
    const char *detail;
} rcpt_rows[] = {
    /* Postfix: comments, spaces and backslashes are gone from its reading */
    {"<nobody(x)@corp.example>", "nobody@corp.example", POLICY_REJECT, RULE_UNKNOWN,
     "550 5.1.1 <nobody@corp.example>: Recipient address rejected: User unknown"},
    {"<nobody @corp.example>", "nobody@corp.example", POLICY_REJECT, RULE_UNKNOWN,
     "550 5.1.1 <nobody@corp.example>: Recipient address rejected: User unknown"},
    {"<postmaster(x)@corp.example>", "postmaster@corp.example", POLICY_REWRITE, RULE_ROLE,
     "hostmaster@corp.example"},
    {"<ali\\ce@example.org>", "alice@example.org", POLICY_REWRITE, RULE_EXACT,
     "alice@corp.example"},
    {"<sales @example.org>", "sales@example.org", POLICY_REWRITE, RULE_EXACT,
     "bob@corp.example,carol@corp.example"},
    /* Postfix quotes what is no dot-atom */
    {"<.bob@corp.example>", "\".bob\"@corp.example", POLICY_REJECT, RULE_UNKNOWN,
     "550 5.1.1 <\".bob\"@corp.example>: Recipient address rejected: User unknown"},
    {"<@corp.example>", "\"\"@corp.example", POLICY_REJECT, RULE_BAD_SYNTAX,
     "550 5.1.3 <\"\"@corp.example>: Recipient address rejected: empty local part"},
    /* an unquoted reading that does not parse: refused by its domain */
    {"<.bob@corp.example>", ".bob@corp.example", POLICY_REJECT, RULE_BAD_SYNTAX,
     "550 5.1.3 <.bob@corp.example>: Recipient address rejected: malformed local part"},
    {"<x(@corp.example>", "garbage", POLICY_REJECT, RULE_BAD_SYNTAX,
     "550 5.1.3 <x(@corp.example>: Recipient address rejected: malformed local part"},
    /* <postmaster>: Postfix says postmaster@$myorigin, Sendmail postmaster */
    {"<postmaster>", "postmaster@mta.example", POLICY_REWRITE, RULE_BARE_POSTMASTER,
     "admin@corp.example"},
    {"<PostMaster>", "postmaster", POLICY_REWRITE, RULE_BARE_POSTMASTER, "admin@corp.example"},
    /* Postfix appends @$myorigin to another bare name: its reading counts */
    {"<bob>", "bob@corp.example", POLICY_KEEP, RULE_EXACT, ""},
    {"<nobody>", "nobody@corp.example", POLICY_REJECT, RULE_UNKNOWN,
     "550 5.1.1 <nobody@corp.example>: Recipient address rejected: User unknown"},
    /* Sendmail's local mailer: a user name only; the argument counts */
    {"<alice@example.org>", "alice", POLICY_REWRITE, RULE_EXACT, "alice@corp.example"},
    {"<alice@example.org>", "", POLICY_REWRITE, RULE_EXACT, "alice@corp.example"},
    {"<alice@example.org>", NULL, POLICY_REWRITE, RULE_EXACT, "alice@corp.example"},
    /* IDN: Postfix hands the U-label over as the client sent it */
    {"<anna@b\xc3\xbc"
     "cher.example>",
     "anna@b\xc3\xbc"
     "cher.example",
     POLICY_KEEP, RULE_EXACT, ""},
    {"<someone@elsewhere.example>", "someone@elsewhere.example", POLICY_PASS, RULE_NOT_HOSTED, ""},
};

START_TEST(test_rcpt_rows)
{
    const struct rcpt_row *row = &rcpt_rows[_i];
    struct policy_result r;
    char detail[2048];

    policy_result_init(&r);
    enum policy_action got = policy_resolve_rcpt(fixture_table, row->rcpt, row->mta_addr, &r);
    detail_of(&r, detail, sizeof(detail));
    ck_assert_msg(got == row->action, "%s / %s: action %s, expected %s", row->rcpt,
                  row->mta_addr ? row->mta_addr : "(null)", policy_action_name(got),
                  policy_action_name(row->action));
    ck_assert_msg(r.rule == row->rule, "%s: rule %s, expected %s", row->rcpt,
                  policy_rule_name(r.rule), policy_rule_name(row->rule));
    ck_assert_msg(strcmp(detail, row->detail) == 0, "%s: detail \"%s\", expected \"%s\"", row->rcpt,
                  detail, row->detail);
    policy_result_free(&r);
}
END_TEST

START_TEST(test_resolution_rows)
{
    const struct row *row = &rows[_i];
    struct policy_result r;
    char detail[2048];

    policy_result_init(&r);
    enum policy_action got = policy_resolve(fixture_table, row->input, strlen(row->input), &r);
    detail_of(&r, detail, sizeof(detail));
    ck_assert_msg(got == row->action && r.action == got, "%s: action %s, expected %s", row->input,
                  policy_action_name(got), policy_action_name(row->action));
    ck_assert_msg(r.rule == row->rule, "%s: rule %s, expected %s", row->input,
                  policy_rule_name(r.rule), policy_rule_name(row->rule));
    ck_assert_msg(strcmp(detail, row->detail) == 0, "%s: detail \"%s\", expected \"%s\"",
                  row->input, detail, row->detail);
    policy_result_free(&r);
}
END_TEST

START_TEST(test_result_reuse)
{
    struct policy_result r;
    char detail[512];

    /* A result reused across calls carries nothing over. */
    policy_result_init(&r);
    policy_resolve(fixture_table, "<sales@example.org>", 19, &r);
    ck_assert_uint_eq(r.ntargets, 2);
    policy_resolve(fixture_table, "<nobody@corp.example>", 21, &r);
    ck_assert_uint_eq(r.ntargets, 0);
    ck_assert_ptr_null(policy_target(&r, 0));
    policy_resolve(fixture_table, "<bob@example.net>", 17, &r);
    detail_of(&r, detail, sizeof(detail));
    ck_assert_str_eq(detail, "bob@corp.example");
    ck_assert_str_eq(r.address, "bob@example.net");
    policy_result_free(&r);
    policy_result_free(&r); /* twice is safe */
}
END_TEST

START_TEST(test_self_map_flags_original)
{
    struct policy_result r;

    policy_result_init(&r);
    ck_assert_int_eq(policy_resolve(fixture_table, "<Self@hosted.example>", 21, &r),
                     POLICY_REWRITE);
    ck_assert_uint_eq(r.ntargets, 2);
    ck_assert(policy_target_is_original(&r, 0));
    ck_assert(!policy_target_is_original(&r, 1));
    ck_assert(!policy_target_is_original(&r, 2));
    policy_result_free(&r);
}
END_TEST

START_TEST(test_reply_without_address)
{
    struct policy_result r;
    char buf[256];

    policy_result_init(&r);
    policy_resolve(fixture_table, "<nobody@corp.example>", 21, &r);
    ck_assert_uint_gt(policy_format_reply(&r, false, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "550 5.1.1 Recipient address rejected: User unknown");
    /* too small a buffer: 0 and an empty string, never a truncated reply */
    ck_assert_uint_eq(policy_format_reply(&r, true, buf, 10), 0);
    ck_assert_str_eq(buf, "");
    /* no reply for other actions */
    policy_resolve(fixture_table, "<bob@corp.example>", 18, &r);
    ck_assert_uint_eq(policy_format_reply(&r, true, buf, sizeof(buf)), 0);
    policy_result_free(&r);
}
END_TEST

/* Found by fuzz_config: an address of non-ASCII bytes escapes to four
 * times its length, past a 1024-byte reply; the reply then goes without
 * the address, never without a reply. */
START_TEST(test_reply_escaped_address_too_long)
{
    struct policy_result r;
    char text[400], buf[1024];
    size_t len = 0;

    text[len++] = '<';
    memset(text + len, 0xff, 300);
    len += 300;
    memcpy(text + len, "@corp.example>", 14);
    len += 14;
    policy_result_init(&r);
    ck_assert_int_eq(policy_resolve(fixture_table, text, len, &r), POLICY_REJECT);
    ck_assert_uint_ge(strlen(r.shown), 300);
    ck_assert_uint_gt(policy_format_reply(&r, true, buf, sizeof(buf)), 0);
    ck_assert_ptr_null(strchr(buf, '<'));
    ck_assert_ptr_nonnull(strstr(buf, "Recipient address rejected: "));
    policy_result_free(&r);
}
END_TEST

START_TEST(test_fan_out_bound)
{
    struct table *t = build_fixture(0, 4);
    struct policy_result r;

    policy_result_init(&r);
    ck_assert_int_eq(policy_resolve(t, "<wide@hosted.example>", 21, &r), POLICY_TEMPFAIL);
    ck_assert_int_eq(r.rule, RULE_LIMIT);
    ck_assert_str_eq(r.status, "451");
    ck_assert_uint_eq(r.ntargets, 0);
    ck_assert_int_eq(policy_resolve(t, "<multi@hosted.example>", 22, &r), POLICY_REWRITE);
    policy_result_free(&r);
    table_unref(t);
}
END_TEST

START_TEST(test_depth_bound)
{
    struct table *t = build_fixture(3, 0);
    struct policy_result r;

    policy_result_init(&r);
    /* deep1 -> deep2 -> deep3 -> deep4 -> end: four levels */
    ck_assert_int_eq(policy_resolve(t, "<deep1@hosted.example>", 22, &r), POLICY_TEMPFAIL);
    ck_assert_int_eq(r.rule, RULE_LIMIT);
    ck_assert_int_eq(policy_resolve(t, "<deep2@hosted.example>", 22, &r), POLICY_REWRITE);
    ck_assert_str_eq(policy_target(&r, 0), "end@remote.example");
    policy_result_free(&r);
    table_unref(t);

    t = build_fixture(4, 0);
    policy_result_init(&r);
    ck_assert_int_eq(policy_resolve(t, "<deep1@hosted.example>", 22, &r), POLICY_REWRITE);
    policy_result_free(&r);
    table_unref(t);
}
END_TEST

START_TEST(test_no_global_postmaster)
{
    struct table_settings s = {.delimiters = "+"};
    struct table_builder *b = table_builder_new(&s);
    struct policy_result r;

    ck_assert_ptr_nonnull(b);
    domain(b, "lonely.example", NULL, NULL, NULL, -1);
    struct table *t = table_builder_finish(b);
    table_builder_free(b);
    policy_result_init(&r);
    /* no postmaster anywhere: the bare one is the MTA's business, a
     * domain's falls through to unknown_recipient */
    ck_assert_int_eq(policy_resolve(t, "<postmaster>", 12, &r), POLICY_PASS);
    ck_assert_int_eq(policy_resolve(t, "<postmaster@lonely.example>", 27, &r), POLICY_REJECT);
    policy_result_free(&r);
    table_unref(t);
}
END_TEST

START_TEST(test_target_classes)
{
    const struct table_entry *e;

    /* the fixture's secondary targets are mailboxes, remote ones elsewhere */
    ck_assert_int_eq(table_lookup(fixture_table, "alice@example.org", 17, &e), 1);
    ck_assert_int_eq(table_target_class(e->targets[0]), TARGET_MAILBOX);
    ck_assert_int_eq(table_lookup(fixture_table, "user@hosted.example", 19, &e), 1);
    ck_assert_int_eq(table_target_class(e->targets[0]), TARGET_ELSEWHERE);
    ck_assert_int_eq(table_lookup(fixture_table, "chain-a@hosted.example", 22, &e), 1);
    ck_assert_int_eq(table_target_class(e->targets[0]), TARGET_UNCLASSIFIED);
    ck_assert_int_eq(table_lookup(fixture_table, "topass@hosted.example", 21, &e), 1);
    ck_assert_int_eq(table_target_class(e->targets[0]), TARGET_UNCLASSIFIED);
    /* "bob+list@..." is a target, not a key: no key holds a delimiter */
    ck_assert(!table_extension_keys(fixture_table));
}
END_TEST

/* With a key that holds an extension, mailbox+ext may be an entry of its
 * own: the shortcut for mailbox targets must not be taken. */
START_TEST(test_extension_key_beats_mailbox)
{
    struct table_settings s = {.delimiters = "+", .postmaster = "bob@corp.example"};
    struct table_builder *b = table_builder_new(&s);
    struct policy_result r;
    char detail[256];

    ck_assert_ptr_nonnull(b);
    domain(b, "corp.example", NULL, NULL, NULL, -1);
    domain(b, "example.org", NULL, NULL, NULL, -1);
    add(b, TABLE_MAILBOX, "bob@corp.example", NULL);
    add(b, TABLE_MAILBOX, "carol@corp.example", NULL);
    add(b, TABLE_ALIAS, "carol+team@corp.example", "bob@corp.example", NULL);
    add(b, TABLE_ALIAS, "sales@example.org", "bob@corp.example", "carol@corp.example", NULL);
    struct table *t = table_builder_finish(b);
    table_builder_free(b);
    ck_assert(table_extension_keys(t));

    policy_result_init(&r);
    ck_assert_int_eq(policy_resolve(t, "<sales+team@example.org>", 24, &r), POLICY_REWRITE);
    detail_of(&r, detail, sizeof(detail));
    ck_assert_str_eq(detail, "bob+team@corp.example,bob@corp.example");
    ck_assert_int_eq(policy_resolve(t, "<sales+x@example.org>", 21, &r), POLICY_REWRITE);
    detail_of(&r, detail, sizeof(detail));
    ck_assert_str_eq(detail, "bob+x@corp.example,carol+x@corp.example");
    policy_result_free(&r);
    table_unref(t);
}
END_TEST

START_TEST(test_names)
{
    ck_assert_str_eq(policy_action_name(POLICY_KEEP), "keep");
    ck_assert_str_eq(policy_action_name(POLICY_REWRITE), "rewrite");
    ck_assert_str_eq(policy_action_name(POLICY_REJECT), "reject");
    ck_assert_str_eq(policy_action_name(POLICY_TEMPFAIL), "tempfail");
    ck_assert_str_eq(policy_action_name(POLICY_PASS), "pass");
    ck_assert_str_eq(policy_action_name((enum policy_action)42), "?");
    ck_assert_str_eq(policy_rule_name(RULE_ALIAS_DOMAIN), "alias_domain");
    ck_assert_str_eq(policy_rule_name((enum policy_rule)42), "?");
}
END_TEST

static Suite *policy_suite(void)
{
    Suite *s = suite_create("policy");
    TCase *tc = tcase_create("resolution");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_rcpt_rows, 0, (int)(sizeof(rcpt_rows) / sizeof(rcpt_rows[0])));
    tcase_add_loop_test(tc, test_resolution_rows, 0, (int)(sizeof(rows) / sizeof(rows[0])));
    tcase_add_test(tc, test_result_reuse);
    tcase_add_test(tc, test_self_map_flags_original);
    tcase_add_test(tc, test_reply_without_address);
    tcase_add_test(tc, test_reply_escaped_address_too_long);
    tcase_add_test(tc, test_target_classes);
    suite_add_tcase(s, tc);

    tc = tcase_create("bounds");
    tcase_add_test(tc, test_fan_out_bound);
    tcase_add_test(tc, test_depth_bound);
    tcase_add_test(tc, test_no_global_postmaster);
    tcase_add_test(tc, test_extension_key_beats_mailbox);
    tcase_add_test(tc, test_names);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(policy_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
