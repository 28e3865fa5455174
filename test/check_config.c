/*
 * check_config.c - unit tests of the configuration loader (config.c).
 *
 * Most cases write a small configuration into a fresh temporary directory
 * and check, through config_load, the resulting settings and table or the
 * exact "file:line: message" diagnostics.  test/data/config holds a few
 * complete files (good and bad) and the shipped etc/hosted-milter.conf is
 * loaded too.  The "semantic" cases only show that validate.c's checks
 * surface through config_load; validate.c's own tests cover them in depth.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_cases.h"
#include "config_fixture.h"
#include "config.h"
#include "diag.h"
#include "table.h"

START_TEST(test_defaults)
{
    struct load l;
    const struct table_settings *s;

    load_text(&l, "");
    ck_assert_ptr_nonnull(l.c);
    ck_assert_uint_eq(diag_size(l.d), 0);
    ck_assert_str_eq(l.c->socket, "unix:/run/hosted-milter/hosted-milter.sock");
    ck_assert_ptr_null(l.c->user);
    ck_assert_ptr_null(l.c->group);
    ck_assert_ptr_null(l.c->pidfile);
    ck_assert_ptr_null(l.c->socket_group);
    ck_assert_ptr_null(l.c->metrics); /* off by default */
    ck_assert_uint_eq(l.c->socket_mode, 0660);
    ck_assert_uint_eq(l.c->timeout, 300);
    ck_assert_ptr_null(l.c->socketmap);
    ck_assert_int_eq(l.c->log_level, LOG_LEVEL_INFO);
    ck_assert(!l.c->dry_run);
    ck_assert_str_eq(l.c->path, tmp_path("main.conf"));
    s = table_settings(l.c->table);
    ck_assert_ptr_null(s->postmaster);
    ck_assert_uint_eq(s->nroles, 0);
    ck_assert_str_eq(s->delimiters, "+");
    ck_assert_int_eq(s->unknown, UNKNOWN_REJECT);
    ck_assert_uint_eq(s->max_depth, TABLE_DEFAULT_MAX_DEPTH);
    ck_assert_uint_eq(s->max_targets, TABLE_DEFAULT_MAX_TARGETS);
    ck_assert_uint_eq(table_domain_count(l.c->table), 0);
    ck_assert_uint_eq(table_entry_count(l.c->table), 0);
    load_done(&l);
}
END_TEST

START_TEST(test_every_option)
{
    struct load l;
    const struct table_settings *s;

    load_text(&l, "socket = \"inet:8891@127.0.0.1\"\n"
                  "postmaster = \"Admin@Elsewhere.Example.\"\n"
                  "roles = { \"abuse\", \"Hostmaster\" }\n"
                  "roles += \"noc\"\n"
                  "recipient_delimiter = \"+-\"\n"
                  "unknown_recipient = tempfail\n"
                  "user = \"milter\"\n"
                  "group = \"mail\"\n"
                  "pidfile = \"/run/hm.pid\"\n"
                  "socket_group = \"postfix\"\n"
                  "socket_mode = \"0600\"\n"
                  "timeout = 42\n"
                  "socketmap = \"unix:/var/spool/postfix/hm/sm.sock\"\n"
                  "log_level = debug\n"
                  "dry_run = true\n"
                  "max_depth = 7\n"
                  "max_targets = 99\n"
                  "metrics = \"[::1]:9487\"\n");
    ck_assert_ptr_nonnull(l.c);
    ck_assert_uint_eq(diag_size(l.d), 0);
    ck_assert_str_eq(l.c->socket, "inet:8891@127.0.0.1");
    ck_assert_str_eq(l.c->metrics, "[::1]:9487");
    ck_assert_str_eq(l.c->user, "milter");
    ck_assert_str_eq(l.c->group, "mail");
    ck_assert_str_eq(l.c->pidfile, "/run/hm.pid");
    ck_assert_str_eq(l.c->socket_group, "postfix");
    ck_assert_uint_eq(l.c->socket_mode, 0600);
    ck_assert_uint_eq(l.c->timeout, 42);
    ck_assert_str_eq(l.c->socketmap, "unix:/var/spool/postfix/hm/sm.sock");
    ck_assert_int_eq(l.c->log_level, LOG_LEVEL_DEBUG);
    ck_assert(l.c->dry_run);
    s = table_settings(l.c->table);
    /* canonical: domain folded, trailing dot dropped, local part as written */
    ck_assert_str_eq(s->postmaster, "Admin@elsewhere.example");
    ck_assert_uint_eq(s->nroles, 3);
    ck_assert_str_eq(s->roles[0], "abuse");
    ck_assert_str_eq(s->roles[1], "hostmaster");
    ck_assert_str_eq(s->roles[2], "noc");
    ck_assert_str_eq(s->delimiters, "+-");
    ck_assert_int_eq(s->unknown, UNKNOWN_TEMPFAIL);
    ck_assert_uint_eq(s->max_depth, 7);
    ck_assert_uint_eq(s->max_targets, 99);
    load_done(&l);
}
END_TEST

/* Every word of the two enumerations. */
static const struct {
    const char *text;
    int unknown;   /* -1: not this row's subject */
    int log_level; /* -1: not this row's subject */
} words[] = {
    {"unknown_recipient = reject\n", UNKNOWN_REJECT, -1},
    {"unknown_recipient = tempfail\n", UNKNOWN_TEMPFAIL, -1},
    {"unknown_recipient = pass\n", UNKNOWN_PASS, -1},
    {"unknown_recipient = \"pass\"\n", UNKNOWN_PASS, -1},
    {"log_level = err\n", -1, LOG_LEVEL_ERR},
    {"log_level = warning\n", -1, LOG_LEVEL_WARNING},
    {"log_level = notice\n", -1, LOG_LEVEL_NOTICE},
    {"log_level = info\n", -1, LOG_LEVEL_INFO},
    {"log_level = debug\n", -1, LOG_LEVEL_DEBUG},
};

START_TEST(test_enum_words)
{
    struct load l;

    load_text(&l, words[_i].text);
    ck_assert_ptr_nonnull(l.c);
    if (words[_i].unknown >= 0)
        ck_assert_int_eq(table_settings(l.c->table)->unknown, words[_i].unknown);
    if (words[_i].log_level >= 0)
        ck_assert_int_eq(l.c->log_level, words[_i].log_level);
    load_done(&l);
}
END_TEST

/* Values at the edges of what is accepted. */
static const char *const accepted[] = {
    "socket = \"unix:/x\"\n",
    "socket = \"local:/x\"\n",
    "socket = \"inet6:25@[::1]\"\n",
    "recipient_delimiter = \"\"\n",
    "recipient_delimiter = \"~!\"\n",
    "socket_mode = \"0\"\n",
    "socket_mode = \"777\"\n",
    "timeout = 1\n",
    "timeout = 86400\n",
    /* 103 bytes of path: the longest a BSD sun_path holds with its NUL */
    "socketmap = \"unix:/23456789012345678901234567890123456789012345678901234567890123456789"
    "0123456789012345678901234567890123\"\n",
    "max_depth = 1000\n",
    "max_targets = 100000\n",
    "roles = {}\n",
    "roles = { \"a.b-c+d\" }\n",
    "dry_run = off\n",
    "metrics = \"127.0.0.1:9487\"\n",
    "metrics = \"[::1]:9487\"\n",
    "metrics = \"0.0.0.0:1\"\n",
    "metrics = \"[2001:db8::1]:65535\"\n",
    "metrics = \"unix:/run/hosted-milter/metrics.sock\"\n",
};

START_TEST(test_accepted_values)
{
    struct load l;

    load_text(&l, accepted[_i]);
    if (l.c == NULL)
        dump(l.d);
    ck_assert_ptr_nonnull(l.c);
    ck_assert_uint_eq(diag_size(l.d), 0);
    load_done(&l);
}
END_TEST

/* ------------------------------------------------------------------ */
/* errors: one bad thing per row, and the exact message for it */

/* 107 bytes after the '/': one more than a unix socket path holds */
#define LONG_PATH                                                                                  \
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
    "aa"                                                                                           \
    "aaaaaaaaaaaaa"

static const struct {
    const char *conf;
    const char *message; /* after "tmpdir/"; {TMP} stands for tmpdir */
} errors[] = {
    /* libconfuse's own, with the right line in spite of comments */
    {"# one\n// two\n/* three\n */\nbogus = 1\n", "main.conf:5: no such option 'bogus'"},
    {"domain \"a.example\" {\n  # c\n  bogus = 1\n}\n", "main.conf:3: no such option 'bogus'"},
    {"dry_run = maybe\n", "main.conf:1: invalid boolean value for option 'dry_run'"},
    {"socket = \"unix:/a\"\nsocket += \"b\"\n",
     "main.conf:2: attempt to append to non-list option 'socket'"},
    {"domain \"a.example\" {\n", "main.conf:1: '{' is never closed"},
    {"\nmailbox \"x@a.example\" {\n  addresses = {\n}\n", "main.conf:2: '{' is never closed"},
    /* the pre-lexer */
    {"\n\nsocket = \"unix:/x\n", "main.conf:3: unterminated string"},
    {"\n/* open\n", "main.conf:2: unterminated /* comment"},
    {"include \"x.conf\"\n", "main.conf:1: malformed include: expected include(\"file\")"},
    {"\ninclude(\"a\", \"b\")\n", "main.conf:2: malformed include: expected include(\"file\")"},
    /* enumerations */
    {"\nunknown_recipient = maybe\n",
     "main.conf:2: unknown_recipient: \"maybe\" is not one of reject, tempfail, pass"},
    {"domain \"a.example\" {\n\n  unknown_recipient = Reject\n}\n",
     "main.conf:3: unknown_recipient: \"Reject\" is not one of reject, tempfail, pass"},
    {"log_level = verbose\n",
     "main.conf:1: log_level: \"verbose\" is not one of err, warning, notice, info, debug"},
    /* daemon settings */
    {"socket = \"/run/x.sock\"\n",
     "main.conf:1: socket \"/run/x.sock\": must be unix:PATH, local:PATH, inet:PORT@HOST or "
     "inet6:PORT@HOST"},
    {"socket = \"unix:\"\n", "main.conf:1: socket \"unix:\": must be unix:PATH, local:PATH, "
                             "inet:PORT@HOST or inet6:PORT@HOST"},
    {"socket_mode = \"0999\"\n",
     "main.conf:1: socket_mode \"0999\": expected octal permission bits, at most 0777"},
    {"socket_mode = \"1777\"\n",
     "main.conf:1: socket_mode \"1777\": expected octal permission bits, at most 0777"},
    {"socket_mode = \"rw\"\n",
     "main.conf:1: socket_mode \"rw\": expected octal permission bits, at most 0777"},
    {"socketmap = \"/run/sm.sock\"\n",
     "main.conf:1: socketmap \"/run/sm.sock\": must be unix:/ABSOLUTE/PATH"},
    {"socketmap = \"unix:hm/sm.sock\"\n",
     "main.conf:1: socketmap \"unix:hm/sm.sock\": must be unix:/ABSOLUTE/PATH"},
    {"socketmap = \"inet:127.0.0.1:9999\"\n",
     "main.conf:1: socketmap \"inet:127.0.0.1:9999\": must be unix:/ABSOLUTE/PATH"},
    {"socketmap = \"unix:/234567890123456789012345678901234567890123456789012345678901234567890"
     "12345678901234567890123456789012345\"\n",
     "main.conf:1: socketmap: the path is longer than 103 bytes"},
    {"timeout = 0\n", "main.conf:1: timeout \"0\": expected a whole number from 1 to 86400"},
    {"timeout = 86401\n",
     "main.conf:1: timeout \"86401\": expected a whole number from 1 to 86400"},
    {"timeout = 5s\n", "main.conf:1: timeout \"5s\": expected a whole number from 1 to 86400"},
    {"max_depth = 1001\n",
     "main.conf:1: max_depth \"1001\": expected a whole number from 1 to 1000"},
    {"max_targets = 0\n",
     "main.conf:1: max_targets \"0\": expected a whole number from 1 to 100000"},
    {"user = \"\"\n", "main.conf:1: user must not be empty"},
    /* metrics: the address of the metrics server */
    {"\nmetrics = \"9487\"\n",
     "main.conf:2: metrics \"9487\": expected IPV4:PORT, [IPV6]:PORT or unix:/PATH"},
    {"metrics = \"\"\n",
     "main.conf:1: metrics \"\": expected IPV4:PORT, [IPV6]:PORT or unix:/PATH"},
    {"metrics = \"localhost:9487\"\n",
     "main.conf:1: metrics \"localhost:9487\": not a numeric IPv4 address (a host name is not "
     "taken)"},
    {"metrics = \"127.0.0.1:0\"\n",
     "main.conf:1: metrics \"127.0.0.1:0\": the port must be a number from 1 to 65535"},
    {"metrics = \"127.0.0.1:65536\"\n",
     "main.conf:1: metrics \"127.0.0.1:65536\": the port must be a number from 1 to 65535"},
    {"metrics = \"127.0.0.1:99999999999999999999\"\n",
     "main.conf:1: metrics \"127.0.0.1:99999999999999999999\": the port must be a number from 1 "
     "to 65535"},
    {"metrics = \"127.0.0.1:+80\"\n",
     "main.conf:1: metrics \"127.0.0.1:+80\": the port must be a number from 1 to 65535"},
    {"metrics = \"127.0.0.1:\"\n",
     "main.conf:1: metrics \"127.0.0.1:\": the port must be a number from 1 to 65535"},
    {"metrics = \":9487\"\n",
     "main.conf:1: metrics \":9487\": expected IPV4:PORT, [IPV6]:PORT or unix:/PATH"},
    {"metrics = \"::1:9487\"\n",
     "main.conf:1: metrics \"::1:9487\": an IPv6 address goes in brackets: [IPV6]:PORT"},
    {"metrics = \"[::1]9487\"\n",
     "main.conf:1: metrics \"[::1]9487\": expected IPV4:PORT, [IPV6]:PORT or unix:/PATH"},
    {"metrics = \"[127.0.0.1]:9487\"\n",
     "main.conf:1: metrics \"[127.0.0.1]:9487\": not a numeric IPv6 address"},
    {"metrics = \"[::1\"\n",
     "main.conf:1: metrics \"[::1\": expected IPV4:PORT, [IPV6]:PORT or unix:/PATH"},
    {"metrics = \"unix:run/m.sock\"\n",
     "main.conf:1: metrics \"unix:run/m.sock\": the unix socket path must be absolute"},
    {"metrics = \"unix:\"\n",
     "main.conf:1: metrics \"unix:\": the unix socket path must be absolute"},
    {"metrics = \"unix:/" LONG_PATH "\"\n",
     "main.conf:1: metrics \"unix:/" LONG_PATH "\": the unix socket path is longer than 107 bytes"},
    {"metrics = \"http://127.0.0.1:9487/\"\n",
     "main.conf:1: metrics \"http://127.0.0.1:9487/\": expected IPV4:PORT, [IPV6]:PORT or "
     "unix:/PATH"},
    {"table = { \"\" }\n", "main.conf:1: table must not be empty"},
    /* recipient_delimiter */
    {"recipient_delimiter = \"+@\"\n",
     "main.conf:1: recipient_delimiter: character 0x40 cannot be a delimiter (printable ASCII "
     "other than space, '@', '\"' and '\\')"},
    {"recipient_delimiter = \"- \"\n",
     "main.conf:1: recipient_delimiter: character 0x20 cannot be a delimiter (printable ASCII "
     "other than space, '@', '\"' and '\\')"},
    {"recipient_delimiter = \"\\\"\"\n",
     "main.conf:1: recipient_delimiter: character 0x22 cannot be a delimiter (printable ASCII "
     "other than space, '@', '\"' and '\\')"},
    {"recipient_delimiter = \"\\\\\"\n",
     "main.conf:1: recipient_delimiter: character 0x5c cannot be a delimiter (printable ASCII "
     "other than space, '@', '\"' and '\\')"},
    {"recipient_delimiter = \"\\t\"\n",
     "main.conf:1: recipient_delimiter: character 0x09 cannot be a delimiter (printable ASCII "
     "other than space, '@', '\"' and '\\')"},
    {"recipient_delimiter = \"\\xe9\"\n",
     "main.conf:1: recipient_delimiter: character 0xe9 cannot be a delimiter (printable ASCII "
     "other than space, '@', '\"' and '\\')"},
    /* roles */
    {"roles = { \"abuse\",\n  \"abuse@corp.example\" }\n",
     "main.conf:2: roles: \"abuse@corp.example\" is not a local part (a dot-atom without '@')"},
    {"roles = { \"a..b\" }\n", "main.conf:1: roles: \"a..b\" is not a local part (a dot-atom "
                               "without '@')"},
    /* malformed addresses, one per position */
    {"\npostmaster = \"admin@@corp.example\"\n",
     "main.conf:2: postmaster \"admin@@corp.example\": malformed local part"},
    {"postmaster = \"admin\"\n", "main.conf:1: postmaster \"admin\": address needs a domain"},
    {"domain \"a..example\" { }\n", "main.conf:1: domain \"a..example\": malformed domain"},
    {"domain \"user@a.example\" { }\n",
     "main.conf:1: domain \"user@a.example\": not a domain name"},
    {"domain \"[192.0.2.1]\" { }\n",
     "main.conf:1: domain \"[192.0.2.1]\": an address literal cannot be a hosted domain"},
    {"domain \"a.example\" {\n  postmaster = \"pm@\"\n}\n",
     "main.conf:2: domain a.example: postmaster \"pm@\": malformed domain"},
    {"domain \"a.example\" {\n  postmaster = \"pm\"\n}\n",
     "main.conf:2: domain a.example: postmaster \"pm\": address needs a domain"},
    {"domain \"a.example\" {\n\n  alias_domain = \"b..example\"\n}\n",
     "main.conf:3: domain a.example: alias_domain \"b..example\": malformed domain"},
    {"domain \"a.example\" {\n  alias_domain = \"x@b.example\"\n}\n",
     "main.conf:2: domain a.example: alias_domain \"x@b.example\": not a domain name"},
    {"domain \"a.example\" {\n  catch_all = \"<info@b.example\"\n}\n",
     "main.conf:2: domain a.example: catch_all \"<info@b.example\": unbalanced or misplaced "
     "angle brackets"},
    {"domain \"a.example\" {\n  catch_all = \"info\"\n}\n",
     "main.conf:2: domain a.example: catch_all \"info\": address needs a domain"},
    {"\nmailbox \"alice smith@a.example\" { }\n",
     "main.conf:2: mailbox \"alice smith@a.example\": malformed local part"},
    {"mailbox \"alice\" { }\n", "main.conf:1: mailbox \"alice\": address needs a domain"},
    {"mailbox \"alice@a.example\" {\n  addresses = {\n    \"a@a.example\",\n    \"b@-a.example\"\n"
     "  }\n}\n",
     "main.conf:4: mailbox alice@a.example: secondary address \"b@-a.example\": malformed domain"},
    {"mailbox \"alice@a.example\" {\n  addresses = { \"alias\" }\n}\n",
     "main.conf:2: mailbox alice@a.example: secondary address \"alias\": address needs a domain"},
    {"alias \"sales@@a.example\" { to = { \"bob@a.example\" } }\n",
     "main.conf:1: alias \"sales@@a.example\": malformed local part"},
    {"alias \"sales\" { to = { \"bob@a.example\" } }\n",
     "main.conf:1: alias \"sales\": address needs a domain"},
    {"alias \"sales@a.example\" {\n  to = { \"bob@a.example\",\n    \"carol@a.example>\" }\n}\n",
     "main.conf:3: alias sales@a.example: target \"carol@a.example>\": unbalanced or misplaced "
     "angle brackets"},
    {"alias \"sales@a.example\" {\n  to = { \"bob\" }\n}\n",
     "main.conf:2: alias sales@a.example: target \"bob\": address needs a domain"},
    {"alias \"sales@a.example\" {\n}\n",
     "main.conf:1: alias sales@a.example: needs at least one target in `to`"},
    {"alias \"sales@a.example\" { to = {} }\n",
     "main.conf:1: alias sales@a.example: needs at least one target in `to`"},
    /* duplicates */
    {"domain \"a.example\" { }\n# c\ndomain \"a.example\" { }\n",
     "main.conf:3: domain \"a.example\" is already defined at {TMP}/main.conf:1"},
    {"mailbox \"x@a.example\" { }\n\nmailbox \"x@a.example\" { }\n",
     "main.conf:3: mailbox \"x@a.example\" is already defined at {TMP}/main.conf:1"},
    {"alias \"x@a.example\" { to = { \"y@b.example\" } }\nalias \"x@a.example\" {\n"
     "  to = { \"y@b.example\" } }\n",
     "main.conf:2: alias \"x@a.example\" is already defined at {TMP}/main.conf:1"},
    {"domain \"a.example\" { }\ndomain \"A.Example.\" { }\n",
     "main.conf:2: domain \"A.Example.\" is already defined at {TMP}/main.conf:1"},
    {"mailbox \"x@a.example\" { }\n\nmailbox \"X@A.example\" { }\n",
     "main.conf:3: mailbox X@A.example is already claimed by mailbox x@a.example at "
     "{TMP}/main.conf:1"},
    {"mailbox \"x@a.example\" { }\nalias \"X@a.example\" { to = { \"y@b.example\" } }\n",
     "main.conf:2: alias X@a.example is already claimed by mailbox x@a.example at "
     "{TMP}/main.conf:1"},
    {"mailbox \"x@a.example\" {\n  addresses = { \"x@a.example\" }\n}\n",
     "main.conf:2: secondary address x@a.example of mailbox x@a.example is already claimed by "
     "mailbox x@a.example at {TMP}/main.conf:1"},
    {"alias \"s@a.example\" { to = { \"y@b.example\" } }\nmailbox \"x@a.example\" {\n"
     "  addresses = { \"s@a.example\" } }\n",
     /* mailboxes are added first: the alias is the duplicate */
     "main.conf:1: alias s@a.example is already claimed by mailbox x@a.example at "
     "{TMP}/main.conf:3"},
};

START_TEST(test_errors)
{
    struct load l;
    char want[1024];
    const char *m = errors[_i].message, *tmp = strstr(m, "{TMP}");

    load_text(&l, errors[_i].conf);
    ck_assert_ptr_null(l.c);
    /* rows naming a second location need tmpdir there too */
    if (tmp != NULL)
        snprintf(want, sizeof(want), "%.*s%s%s", (int)(tmp - m), m, tmpdir, tmp + 5);
    else
        snprintf(want, sizeof(want), "%s", m);
    expect_message(l.d, want);
    load_done(&l);
}
END_TEST

START_TEST(test_missing_file)
{
    struct load l;

    load_path(&l, tmp_path("nonexistent.conf"));
    ck_assert_ptr_null(l.c);
    expect_message(l.d, "nonexistent.conf: cannot open: No such file or directory");
    ck_assert_uint_eq(diag_size(l.d), 1);
    load_done(&l);
}
END_TEST

/* Every problem is reported, not just the first. */
START_TEST(test_all_problems_reported)
{
    struct load l;

    load_text(&l, "socket = \"tcp:25\"\n"
                  "timeout = 0\n"
                  "domain \"a.example\" {\n"
                  "  catch_all = \"x\"\n"
                  "}\n"
                  "mailbox \"b\" { }\n"
                  "alias \"c@a.example\" { }\n");
    ck_assert_ptr_null(l.c);
    ck_assert_uint_eq(diag_count(l.d, DIAG_ERROR), 5);
    expect_message(l.d, "main.conf:4: domain a.example: catch_all \"x\": address needs a domain");
    expect_message(l.d, "main.conf:7: alias c@a.example: needs at least one target in `to`");
    load_done(&l);
}
END_TEST

START_TEST(test_duplicate_secondary)
{
    struct load l;

    load_text(&l, "postmaster = \"pm@elsewhere.example\"\n"
                  "domain \"corp.example\" { }\n"
                  "mailbox \"alice@corp.example\" {\n"
                  "    addresses = { \"a@corp.example\",\n"
                  "                  \"shared@corp.example\" }\n"
                  "}\n"
                  "mailbox \"bob@corp.example\" {\n"
                  "    addresses = { \"Shared@Corp.Example\" }\n"
                  "}\n");
    ck_assert_ptr_null(l.c);
    /* the second claim's place, and the first's */
    ck_assert(has_message(l.d,
                          "%s/main.conf:8: secondary address Shared@Corp.Example of mailbox "
                          "bob@corp.example is already claimed by mailbox alice@corp.example at "
                          "%s/main.conf:5",
                          tmpdir, tmpdir));
    ck_assert_uint_eq(diag_count(l.d, DIAG_ERROR), 1);
    load_done(&l);
}
END_TEST

/* ------------------------------------------------------------------ */
/* warnings do not fail a load */

START_TEST(test_role_warnings)
{
    struct load l;

    load_text(&l, "roles = { \"abuse\",\n \"Postmaster\",\n \"ABUSE\" }\n");
    ck_assert_ptr_nonnull(l.c);
    ck_assert_uint_eq(diag_count(l.d, DIAG_WARNING), 2);
    expect_message(l.d,
                   "main.conf:2: warning: roles: postmaster is always a role; listing it changes "
                   "nothing");
    expect_message(l.d, "main.conf:3: warning: roles: \"ABUSE\" is listed twice");
    load_done(&l);
}
END_TEST

/* ------------------------------------------------------------------ */
/* what ends up in the table */

START_TEST(test_table_contents)
{
    struct load l;
    const struct table_entry *e;
    const struct table_domain *dom;

    load_text(&l, "postmaster = \"admin@corp.example\"\n"
                  "domain \"Corp.Example.\" { postmaster = \"Hostmaster@CORP.example\" }\n"
                  "domain \"example.net\" { alias_domain = \"corp.example.\" }\n"
                  "domain \"example.org\" { catch_all = \"<info@corp.example>\" }\n"
                  "domain \"legacy.example\" { unknown_recipient = pass }\n"
                  "mailbox \"admin@corp.example\" { }\n"
                  "mailbox \"Hostmaster@corp.example\" { }\n"
                  "mailbox \"info@corp.example\" { }\n"
                  "mailbox \"Alice@Corp.Example\" {\n"
                  "  addresses = { \"A.Smith@example.org\", \"\\\"alice\\\"@legacy.example\" }\n"
                  "}\n"
                  "alias \"Sales@example.org\" {\n"
                  "  to = { \"admin@corp.example\", \"info@CORP.example\" }\n"
                  "}\n");
    if (l.c == NULL)
        dump(l.d);
    ck_assert_ptr_nonnull(l.c);

    ck_assert_uint_eq(table_domain_count(l.c->table), 4);
    ck_assert_ptr_nonnull(dom = lookup_domain(l.c, "corp.example"));
    ck_assert_str_eq(dom->postmaster, "Hostmaster@corp.example");
    ck_assert_int_eq(dom->unknown, UNKNOWN_REJECT);
    ck_assert_ptr_nonnull(dom = lookup_domain(l.c, "example.net"));
    ck_assert_str_eq(dom->alias_domain, "corp.example");
    ck_assert_ptr_null(dom->postmaster);
    ck_assert_ptr_nonnull(dom = lookup_domain(l.c, "example.org"));
    ck_assert_uint_eq(dom->ncatch_all, 1);
    ck_assert_str_eq(dom->catch_all[0], "info@corp.example");
    ck_assert_ptr_nonnull(dom = lookup_domain(l.c, "legacy.example"));
    ck_assert_int_eq(dom->unknown, UNKNOWN_PASS);

    ck_assert_ptr_nonnull(e = lookup(l.c, "alice@corp.example"));
    ck_assert_int_eq(e->kind, TABLE_MAILBOX);
    ck_assert_ptr_nonnull(e = lookup(l.c, "a.smith@example.org"));
    ck_assert_int_eq(e->kind, TABLE_SECONDARY);
    ck_assert_uint_eq(e->ntargets, 1);
    ck_assert_str_eq(e->targets[0], "Alice@corp.example");
    /* a quoted dot-atom local part is its unquoted form */
    ck_assert_ptr_nonnull(e = lookup(l.c, "alice@legacy.example"));
    ck_assert_int_eq(e->kind, TABLE_SECONDARY);
    ck_assert_ptr_nonnull(e = lookup(l.c, "sales@example.org"));
    ck_assert_int_eq(e->kind, TABLE_ALIAS);
    ck_assert_uint_eq(e->ntargets, 2);
    ck_assert_str_eq(e->targets[0], "admin@corp.example");
    ck_assert_str_eq(e->targets[1], "info@corp.example");
    ck_assert_uint_eq(table_entry_count(l.c->table), 7);
    load_done(&l);
}
END_TEST

/* Comments anywhere outside strings, also inside a list (libconfuse 3.3
 * itself rejects that), and '#' inside a string is no comment. */
START_TEST(test_comments)
{
    struct load l;
    const struct table_entry *e;

    load_text(&l, "# head\n"
                  "mailbox \"x#y@a.example\" { } // a '#' inside quotes is data\n"
                  "mailbox \"z@a.example\" {\n"
                  "  addresses = { \"z1@a.example\", # first\n"
                  "                /* second */ \"z2@a.example\" }\n"
                  "}\n"
                  "/* multi\n"
                  "   line */ bogus = 1\n");
    ck_assert_ptr_null(l.c);
    expect_message(l.d, "main.conf:8: no such option 'bogus'");
    ck_assert_uint_eq(diag_size(l.d), 1);
    load_done(&l);

    load_text(&l, "mailbox \"x#y@a.example\" { } // a '#' inside quotes is data\n"
                  "mailbox \"z@a.example\" {\n"
                  "  addresses = { \"z1@a.example\", # first\n"
                  "                /* second */ \"z2@a.example\" }\n"
                  "}\n");
    ck_assert_ptr_nonnull(l.c);
    ck_assert_ptr_nonnull(lookup(l.c, "x#y@a.example"));
    ck_assert_ptr_nonnull(e = lookup(l.c, "z2@a.example"));
    ck_assert_str_eq(e->targets[0], "z@a.example");
    load_done(&l);
}
END_TEST

/* ------------------------------------------------------------------ */
/* include() */

START_TEST(test_include_relative)
{
    struct load l;

    /* relative names resolve against the main file's directory, also in
     * an included file that sits in a subdirectory */
    make_dir("conf.d");
    write_file("conf.d/domains.conf", "# domains\n"
                                      "domain \"a.example\" { }\n"
                                      "include(\"conf.d/mailboxes.conf\")\n");
    write_file("conf.d/mailboxes.conf", "mailbox \"pm@a.example\" { }\n");
    load_text(&l, "postmaster = \"pm@a.example\"\n"
                  "include(\"conf.d/domains.conf\") mailbox \"x@a.example\" { }\n");
    if (l.c == NULL)
        dump(l.d);
    ck_assert_ptr_nonnull(l.c);
    ck_assert_ptr_nonnull(lookup_domain(l.c, "a.example"));
    ck_assert_ptr_nonnull(lookup(l.c, "pm@a.example"));
    ck_assert_ptr_nonnull(lookup(l.c, "x@a.example"));
    load_done(&l);
}
END_TEST

START_TEST(test_include_locations)
{
    struct load l;

    write_file("inc.conf", "\n// two\nmailbox \"x@a.example\" { }\n\nbogus = 1\n");
    load_text(&l, "\ninclude(\"inc.conf\")\n");
    ck_assert_ptr_null(l.c);
    expect_message(l.d, "inc.conf:5: no such option 'bogus'");
    load_done(&l);

    /* after the include, lines of the including file are right again */
    write_file("inc2.conf", "mailbox \"x@a.example\" {\n}\n");
    load_text(&l, "include(\"inc2.conf\")\n# c\nmailbox \"X@a.example\" { }\n");
    ck_assert_ptr_null(l.c);
    ck_assert(has_message(l.d,
                          "%s/main.conf:3: mailbox X@a.example is already claimed by mailbox "
                          "x@a.example at %s/inc2.conf:1",
                          tmpdir, tmpdir));
    load_done(&l);
}
END_TEST

START_TEST(test_include_missing)
{
    struct load l;

    load_text(&l, "# c\n\ninclude(\"missing.conf\")\n");
    ck_assert_ptr_null(l.c);
    ck_assert(has_message(l.d,
                          "%s/main.conf:3: include(\"%s/missing.conf\"): cannot open: No such "
                          "file or directory",
                          tmpdir, tmpdir));
    load_done(&l);
}
END_TEST

START_TEST(test_include_loop)
{
    struct load l;

    write_file("self.conf", "include(\"self.conf\")\n");
    load_text(&l, "include(\"self.conf\")\n");
    ck_assert_ptr_null(l.c);
    ck_assert(has_message(l.d,
                          "%s/self.conf:1: include(\"%s/self.conf\"): includes nested too "
                          "deeply (a loop?)",
                          tmpdir, tmpdir));
    load_done(&l);
}
END_TEST

/* libconfuse 3.3 leaves its include stack pushed after an error inside an
 * included file; after ten, every include failed.  Not with the pre-lexer. */
START_TEST(test_include_after_failures)
{
    struct load l;

    const char *bad;

    write_file("bad.conf", "bogus = 1\n");
    write_file("good.conf", "domain \"a.example\" { catch_all = \"x@b.example\" }\n");
    bad = write_file("bad-main.conf", "include(\"bad.conf\")\n");
    for (int i = 0; i < 12; i++) {
        load_path(&l, bad);
        ck_assert_ptr_null(l.c);
        expect_message(l.d, "bad.conf:1: no such option 'bogus'");
        load_done(&l);
    }
    load_text(&l, "postmaster = \"pm@b.example\"\ninclude(\"good.conf\")\n");
    if (l.c == NULL)
        dump(l.d);
    ck_assert_ptr_nonnull(l.c);
    load_done(&l);
}
END_TEST

/* ------------------------------------------------------------------ */
/* table files */

START_TEST(test_table_append)
{
    struct load l;

    make_dir("maps");
    write_file("maps/one", "a.example  hosted\nx@a.example  pm@b.example\n");
    write_file("maps/two", "y@a.example  pm@b.example\n");
    load_text(&l, "postmaster = \"pm@b.example\"\n"
                  "table = { \"maps/one\" }\n"
                  "table += \"maps/two\"\n");
    if (l.c == NULL)
        dump(l.d);
    ck_assert_ptr_nonnull(l.c);
    ck_assert_ptr_nonnull(lookup_domain(l.c, "a.example"));
    ck_assert_ptr_nonnull(lookup(l.c, "x@a.example"));
    ck_assert_ptr_nonnull(lookup(l.c, "y@a.example"));
    load_done(&l);

    /* `table =` replaces the list */
    load_text(&l, "postmaster = \"pm@b.example\"\n"
                  "table = { \"maps/one\" }\n"
                  "table = { \"maps/two\" }\n");
    ck_assert_ptr_nonnull(l.c);
    ck_assert_ptr_null(lookup(l.c, "x@a.example"));
    ck_assert_ptr_nonnull(lookup(l.c, "y@a.example"));
    load_done(&l);
}
END_TEST

/* Whether some diagnostic contains needle. */
static bool has_substring(const struct diag *d, const char *needle)
{
    for (size_t i = 0; i < diag_size(d); i++)
        if (strstr(diag_text(d, i), needle) != NULL)
            return true;
    return false;
}

START_TEST(test_mailbox_table)
{
    struct load l;

    make_dir("mbox");
    write_file("mbox/mailboxes", "a.example  hosted\npm@a.example  a.example/pm/\n"
                                 "bob@a.example  a.example/bob/\n");
    write_file("mbox/aliases", "sales@a.example  bob@a.example, pm@a.example\n");
    load_text(&l, "postmaster = \"pm@a.example\"\n"
                  "mailbox_table = { \"mbox/mailboxes\" }\n"
                  "table = { \"mbox/aliases\" }\n");
    if (l.c == NULL)
        dump(l.d);
    ck_assert_ptr_nonnull(l.c);
    ck_assert_int_eq(lookup(l.c, "bob@a.example")->kind, TABLE_MAILBOX);
    ck_assert_int_eq(lookup(l.c, "sales@a.example")->kind, TABLE_ALIAS);
    ck_assert_uint_eq(table_count_kind(l.c->table, TABLE_MAILBOX), 2);
    load_done(&l);

    /* a target that is no mailbox is still refused by validation */
    write_file("mbox/aliases2", "sales@a.example  carol@a.example\n");
    load_text(&l, "postmaster = \"pm@a.example\"\n"
                  "mailbox_table = { \"mbox/mailboxes\" }\n"
                  "table = { \"mbox/aliases2\" }\n");
    ck_assert_ptr_null(l.c);
    ck_assert(has_substring(l.d, "carol@a.example"));
    load_done(&l);

    load_text(&l, "mailbox_table = { \"mbox/none\" }\n");
    ck_assert_ptr_null(l.c);
    ck_assert(has_substring(l.d, "No such file or directory"));
    load_done(&l);
}
END_TEST

START_TEST(test_table_missing)
{
    struct load l;
    char want[600];

    load_text(&l, "table = { \"nonexistent\" }\n");
    ck_assert_ptr_null(l.c);
    ck_assert_uint_eq(diag_count(l.d, DIAG_ERROR), 1);
    /* at the line that names it, with the path that was tried */
    snprintf(want, sizeof(want), "main.conf:1: table file %s: No such file or directory",
             tmp_path("nonexistent"));
    expect_message(l.d, want);
    load_done(&l);
}
END_TEST

/* ------------------------------------------------------------------ */
/* every diagnostic has a place: one row per kind of diagnostic and place */

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    const struct check_case cases[] = {
        {"defaults", test_defaults, 0},
        {"every_option", test_every_option, 0},
        {"enum_words", test_enum_words, sizeof(words) / sizeof(words[0])},
        {"accepted_values", test_accepted_values, sizeof(accepted) / sizeof(accepted[0])},
        {"errors", test_errors, sizeof(errors) / sizeof(errors[0])},
        {"missing_file", test_missing_file, 0},
        {"all_problems_reported", test_all_problems_reported, 0},
        {"duplicate_secondary", test_duplicate_secondary, 0},
        {"role_warnings", test_role_warnings, 0},
        {"table_contents", test_table_contents, 0},
        {"comments", test_comments, 0},
        {"include_relative", test_include_relative, 0},
        {"include_locations", test_include_locations, 0},
        {"include_missing", test_include_missing, 0},
        {"include_loop", test_include_loop, 0},
        {"include_after_failures", test_include_after_failures, 0},
        {"table_append", test_table_append, 0},
        {"mailbox_table", test_mailbox_table, 0},
        {"table_missing", test_table_missing, 0},
    };

    check_add_cases(s, cases, sizeof cases / sizeof cases[0], setup, teardown, 0);
    return s;
}

int main(void)
{
    return check_run(config_suite());
}
