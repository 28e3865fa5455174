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
#include "config.h"
#include "diag.h"
#include "table.h"

#define MAX_PATHS 32

/* The per-test temporary directory and what was created in it. */
static char tmpdir[256];
static char *created[MAX_PATHS];
static bool created_dir[MAX_PATHS];
static size_t ncreated;

static void remember(const char *path, bool dir)
{
    ck_assert_uint_lt(ncreated, MAX_PATHS);
    created[ncreated] = strdup(path);
    ck_assert_ptr_nonnull(created[ncreated]);
    created_dir[ncreated++] = dir;
}

static void setup(void)
{
    const char *base = getenv("TMPDIR");

    snprintf(tmpdir, sizeof(tmpdir), "%s/check_config.XXXXXX", base && *base ? base : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    ncreated = 0;
}

static void teardown(void)
{
    while (ncreated > 0) {
        ncreated--;
        if (created_dir[ncreated])
            rmdir(created[ncreated]);
        else
            unlink(created[ncreated]);
        free(created[ncreated]);
    }
    rmdir(tmpdir);
}

/* tmp_path - tmpdir/name in a static buffer (one of two, alternating). */
static const char *tmp_path(const char *name)
{
    static char bufs[2][512];
    static int which;
    char *p = bufs[which ^= 1];

    snprintf(p, sizeof(bufs[0]), "%s/%s", tmpdir, name);
    return p;
}

static void make_dir(const char *name)
{
    const char *p = tmp_path(name);

    ck_assert_int_eq(mkdir(p, 0700), 0);
    remember(p, true);
}

/* write_file - tmpdir/name with text; returns the full path (static). */
static const char *write_file(const char *name, const char *text)
{
    const char *p = tmp_path(name);
    FILE *fp = fopen(p, "w");

    ck_assert_ptr_nonnull(fp);
    ck_assert_int_eq(fputs(text, fp) >= 0, 1);
    ck_assert_int_eq(fclose(fp), 0);
    remember(p, false);
    return p;
}

/* One load and its diagnostics. */
struct load {
    struct config *c;
    struct diag *d;
};

static void load_path(struct load *l, const char *path)
{
    l->d = diag_new();
    ck_assert_ptr_nonnull(l->d);
    l->c = config_load(path, l->d);
    /* the verdict and the diagnostics agree */
    ck_assert_int_eq(l->c == NULL, diag_count(l->d, DIAG_ERROR) > 0);
}

static void load_text(struct load *l, const char *text)
{
    load_path(l, write_file("main.conf", text));
}

static void load_done(struct load *l)
{
    config_free(l->c);
    diag_free(l->d);
}

/* has_message - whether d holds exactly text (expanded from fmt). */
static bool has_message(const struct diag *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static bool has_message(const struct diag *d, const char *fmt, ...)
{
    char want[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(want, sizeof(want), fmt, ap);
    va_end(ap);
    for (size_t i = 0; i < diag_size(d); i++)
        if (strcmp(diag_text(d, i), want) == 0)
            return true;
    return false;
}

static void dump(const struct diag *d)
{
    for (size_t i = 0; i < diag_size(d); i++)
        fprintf(stderr, "  diag[%zu] = %s\n", i, diag_text(d, i));
}

/* expect_message - d has "tmpdir/<rel>" exactly, else show what it has. */
static void expect_message(const struct diag *d, const char *rel)
{
    bool ok = has_message(d, "%s/%s", tmpdir, rel);

    if (!ok) {
        fprintf(stderr, "missing: %s/%s\n", tmpdir, rel);
        dump(d);
    }
    ck_assert_msg(ok, "missing diagnostic %s", rel);
}

static const struct table_entry *lookup(const struct config *c, const char *key)
{
    const struct table_entry *e = NULL;

    if (table_lookup(c->table, key, strlen(key), &e) != 1)
        return NULL;
    return e;
}

static const struct table_domain *lookup_domain(const struct config *c, const char *name)
{
    const struct table_domain *dom = NULL;

    if (table_domain_lookup(c->table, name, strlen(name), &dom) != 1)
        return NULL;
    return dom;
}

/* ------------------------------------------------------------------ */
/* settings and defaults */

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

/* The files of a row, written into tmpdir; NULL: not written. */
struct place_files {
    const char *main, *inc, *virtual, *mailboxes;
};

static const struct {
    struct place_files f;
    bool loads;          /* a warning only */
    const char *message; /* the start of a diagnostic, after "tmpdir/"; {TMP} is tmpdir */
} places[] = {
    /* a global setting, after comments of each kind (libconfuse 3.3
     * counts a comment line more than once; the pre-lexer must not) */
    {{"# c\n// c\n/* c\n */\npostmaster = \"ghost@a.example\"\ndomain \"a.example\" { }\n", NULL,
      NULL, NULL},
     false,
     "main.conf:5: global postmaster ghost@a.example reaches no mailbox ("},
    /* a global setting in an included file */
    {{"domain \"a.example\" { }\n# c\ninclude(\"inc.conf\")\nmailbox \"pm@a.example\" { }\n",
      "# c\n\npostmaster = \"ghost@a.example\"\n", NULL, NULL},
     false,
     "inc.conf:3: global postmaster ghost@a.example reaches no mailbox ("},
    {{"include(\"inc.conf\")\n", "// c\ntimeout = 0\n", NULL, NULL},
     false,
     "inc.conf:2: timeout \"0\": expected a whole number from 1 to 86400"},
    {{"include(\"inc.conf\")\n", "\n/* c */\npostmaster = \"pm\"\n", NULL, NULL},
     false,
     "inc.conf:3: postmaster \"pm\": address needs a domain"},
    /* a domain setting in an included file, and the domain's own check */
    {{"postmaster = \"pm@b.example\"\ninclude(\"inc.conf\")\n",
      "domain \"a.example\" {\n  # c\n  catch_all = \"x\"\n}\n", NULL, NULL},
     false,
     "inc.conf:3: domain a.example: catch_all \"x\": address needs a domain"},
    {{"include(\"inc.conf\")\n", "\n# c\ndomain \"a.example\" { }\n", NULL, NULL},
     false,
     "inc.conf:3: domain a.example: postmaster@a.example reaches no mailbox ("},
    /* a domain's settings at their own lines, not the section's */
    {{"postmaster = \"pm@b.example\"\ninclude(\"inc.conf\")\n",
      "domain \"a.example\" {\n  # c\n  postmaster = \"nobody@a.example\"\n}\n", NULL, NULL},
     false,
     "inc.conf:3: domain a.example: postmaster nobody@a.example reaches no mailbox ("},
    {{"postmaster = \"pm@b.example\"\ndomain \"a.example\" {\n\n  alias_domain = \"b.example\"\n}\n"
      "domain \"b.example\" { alias_domain = \"a.example\" }\n",
      NULL, NULL, NULL},
     false,
     "main.conf:4: alias_domain loop: a.example -> b.example -> a.example"},
    /* a catch-all from a table file for a domain of the configuration */
    {{"postmaster = \"pm@b.example\"\ndomain \"a.example\" { }\ndomain \"b.example\" { }\n"
      "mailbox \"pm@b.example\" { }\ntable = { \"virtual\" }\n",
      NULL, "# c\n@a.example nobody@b.example\n", NULL},
     false,
     "virtual:2: domain a.example: catch_all target nobody@b.example reaches no mailbox ("},
    /* an entry in an included file, warning and error */
    {{"postmaster = \"pm@a.example\"\ndomain \"a.example\" { }\ninclude(\"inc.conf\")\n",
      "mailbox \"pm@a.example\" {\n  addresses = {\n    # c\n    \"pm@b.example\"\n  }\n}\n", NULL,
      NULL},
     true,
     "inc.conf:4: warning: secondary address pm@b.example is outside every hosted domain"},
    {{"postmaster = \"pm@b.example\"\ndomain \"a.example\" { }\ninclude(\"inc.conf\")\n",
      "\nalias \"s@a.example\" { to = { \"nobody@a.example\" } }\n", NULL, NULL},
     false,
     "inc.conf:2: alias s@a.example: target nobody@a.example reaches no mailbox ("},
    /* the including file's lines are right again after the include */
    {{"include(\"inc.conf\")\n\nbogus = 1\n", "# c\n# c\n# c\n", NULL, NULL},
     false,
     "main.conf:3: no such option 'bogus'"},
    /* table files that cannot be read: the line that names them */
    {{"postmaster = \"pm@b.example\"\n# c\ntable = { \"virtual\" }\n", NULL, NULL, NULL},
     false,
     "main.conf:3: table file {TMP}/virtual: No such file or directory"},
    {{"postmaster = \"pm@b.example\"\ntable = { \"virtual\" }\ntable += \"other\"\n", NULL,
      "a.example hosted\n", NULL},
     false,
     "main.conf:3: table file {TMP}/other: No such file or directory"},
    {{"include(\"inc.conf\")\n", "mailbox_table = {\n  // c\n  \"mailboxes\"\n}\n", NULL, NULL},
     false,
     "inc.conf:3: mailbox_table file {TMP}/mailboxes: No such file or directory"},
    {{"table = { \".\" }\n", NULL, NULL, NULL},
     false,
     "main.conf:1: table file {TMP}/.: Is a directory"},
    /* inside table files: their own file:line */
    {{"postmaster = \"pm@b.example\"\ntable = { \"virtual\" }\n", NULL,
      "a.example hosted\n# c\n\nx@a.example\n", NULL},
     false,
     "virtual:4: x@a.example has no value"},
    {{"postmaster = \"pm@b.example\"\ntable = { \"virtual\" }\n", NULL,
      "a.example hosted\n# c\nsales@a.example nobody@a.example\n", NULL},
     false,
     "virtual:3: alias sales@a.example: target nobody@a.example reaches no mailbox ("},
    {{"postmaster = \"pm@a.example\"\nmailbox_table = { \"mailboxes\" }\n", NULL, NULL,
      "a.example hosted\npm@a.example x\n\n  # c\nbob@b.example x\n"},
     true,
     "mailboxes:5: warning: mailbox bob@b.example is outside every hosted domain"},
    {{"mailbox_table = { \"mailboxes\" }\n", NULL, NULL, "# c\na.example hosted\n"},
     false,
     "mailboxes:2: domain a.example: postmaster@a.example reaches no mailbox ("},
    /* the end of the file is its last line, not the one after */
    {{"\n\ntimeout =\n", NULL, NULL, NULL}, false, "main.conf:3: premature end of file"},
    {{"roles = {\n  \"abuse\",\n", NULL, NULL, NULL}, false, "main.conf:1: '{' is never closed"},
    /* the same place twice: say why */
    {{"include(\"inc.conf\")\n# c\ninclude(\"inc.conf\")\n", "\nmailbox \"pm@a.example\" { }\n",
      NULL, NULL},
     false,
     "inc.conf:2: mailbox \"pm@a.example\" is already defined at {TMP}/inc.conf:2 (that file is "
     "included more than once)"},
    /* an included file is whole: it does not end inside a statement */
    {{"include(\"inc.conf\")\n\nsocket = \"unix:/x\"\n", "# c\n\ntimeout =\n", NULL, NULL},
     false,
     "inc.conf:3: value missing at the end of the file"},
    {{"include(\"inc.conf\")\n}\n", "domain \"a.example\" {\n  # c\n", NULL, NULL},
     false,
     "inc.conf:1: '{' is never closed"},
    /* what libconfuse fails on without a word */
    {{"\n\n${HOSTED_MILTER_TEST_UNSET}\n", NULL, NULL, NULL},
     false,
     "main.conf:3: cannot parse the configuration"},
    /* a value spanning lines: one diagnostic, one line, at its start */
    {{"\ndomain \"a\nb\" { }\n", NULL, NULL, NULL},
     false,
     "main.conf:2: domain \"a\\nb\": not a domain name"},
    /* no global postmaster: the bare <postmaster> goes to the MTA */
    {{"\n\ninclude(\"inc.conf\")\n",
      "domain \"a.example\" { postmaster = \"pm@a.example\" }\nmailbox \"pm@a.example\" { }\n",
      NULL, NULL},
     true,
     "main.conf:1: warning: no global postmaster: RCPT TO:<postmaster> (without a domain) will be "
     "passed to the MTA; set postmaster = \"mailbox\" among the global settings of "
     "{TMP}/main.conf"},
};

/* expand_tmp - s with the first "{TMP}" replaced by tmpdir, into out. */
static void expand_tmp(char *out, size_t size, const char *s)
{
    const char *tmp = strstr(s, "{TMP}");

    if (tmp != NULL)
        snprintf(out, size, "%.*s%s%s", (int)(tmp - s), s, tmpdir, tmp + 5);
    else
        snprintf(out, size, "%s", s);
}

/* has_prefix - whether some diagnostic starts with want. */
static bool has_prefix(const struct diag *d, const char *want)
{
    for (size_t i = 0; i < diag_size(d); i++)
        if (strncmp(diag_text(d, i), want, strlen(want)) == 0)
            return true;
    return false;
}

START_TEST(test_places)
{
    const struct place_files *f = &places[_i].f;
    struct load l;
    char rel[1024], want[1600];

    if (f->inc != NULL)
        write_file("inc.conf", f->inc);
    if (f->virtual != NULL)
        write_file("virtual", f->virtual);
    if (f->mailboxes != NULL)
        write_file("mailboxes", f->mailboxes);
    load_text(&l, f->main);
    expand_tmp(rel, sizeof(rel), places[_i].message);
    snprintf(want, sizeof(want), "%s/%s", tmpdir, rel);
    if (!has_prefix(l.d, want)) {
        fprintf(stderr, "missing: %s\n", want);
        dump(l.d);
    }
    ck_assert_msg(has_prefix(l.d, want), "missing diagnostic %s", want);
    ck_assert_int_eq(l.c != NULL, places[_i].loads);
    /* and every diagnostic of the load has its file and line */
    for (size_t i = 0; i < diag_size(l.d); i++) {
        const char *text = diag_text(l.d, i), *colon;
        ck_assert_msg(strncmp(text, tmpdir, strlen(tmpdir)) == 0, "no file: %s", text);
        colon = strchr(text + strlen(tmpdir), ':');
        ck_assert_msg(colon != NULL && colon[1] >= '1' && colon[1] <= '9', "no line: %s", text);
    }
    load_done(&l);
}
END_TEST

/* No warning about the bare <postmaster> when it has somewhere to go, or
 * when nothing is hosted. */
START_TEST(test_bare_postmaster_quiet)
{
    struct load l;

    load_text(&l, "postmaster = \"pm@elsewhere.example\"\ndomain \"a.example\" { }\n");
    ck_assert_ptr_nonnull(l.c);
    ck_assert_uint_eq(diag_size(l.d), 0);
    load_done(&l);
    load_text(&l, "timeout = 5\n");
    ck_assert_ptr_nonnull(l.c);
    ck_assert_uint_eq(diag_size(l.d), 0);
    load_done(&l);
}
END_TEST

/* The daemon settings keep their place, for the daemon's own messages. */
START_TEST(test_setting_places)
{
    struct load l;
    char want[600];

    write_file("inc.conf", "# c\n\nuser = \"nobody\"\ntimeout = 9\ntimeout = 10\n");
    load_text(&l, "socket = \"unix:/x\"\n// c\ninclude(\"inc.conf\")\nsocket_mode = \"0600\"\n"
                  "metrics = \"127.0.0.1:9487\"\n");
    if (l.c == NULL)
        dump(l.d);
    ck_assert_ptr_nonnull(l.c);
    snprintf(want, sizeof(want), "%s/main.conf:1", tmpdir);
    ck_assert_str_eq(l.c->where.socket, want);
    snprintf(want, sizeof(want), "%s/main.conf:4", tmpdir);
    ck_assert_str_eq(l.c->where.socket_mode, want);
    snprintf(want, sizeof(want), "%s/main.conf:5", tmpdir);
    ck_assert_str_eq(l.c->where.metrics, want);
    snprintf(want, sizeof(want), "%s/inc.conf:3", tmpdir);
    ck_assert_str_eq(l.c->where.user, want);
    /* the assignment that counts is the last */
    snprintf(want, sizeof(want), "%s/inc.conf:5", tmpdir);
    ck_assert_str_eq(l.c->where.timeout, want);
    ck_assert_uint_eq(l.c->timeout, 10);
    /* not set: the default, no place */
    ck_assert_ptr_null(l.c->where.group);
    ck_assert_ptr_null(l.c->where.pidfile);
    ck_assert_ptr_null(l.c->where.socket_group);
    load_done(&l);
}
END_TEST

/* ------------------------------------------------------------------ */
/* complete files */

START_TEST(test_shipped_config)
{
    struct load l;

    load_path(&l, SOURCE_DIR "/etc/hosted-milter.conf");
    if (diag_size(l.d) > 0)
        dump(l.d);
    ck_assert_ptr_nonnull(l.c);
    ck_assert_uint_eq(diag_size(l.d), 0);
    ck_assert_str_eq(l.c->socket, "unix:/var/spool/postfix/hosted-milter/hosted-milter.sock");
    ck_assert_uint_ge(table_domain_count(l.c->table), 3);
    ck_assert_ptr_nonnull(lookup_domain(l.c, "example.net"));
    load_done(&l);
}
END_TEST

static const struct {
    const char *file;    /* under test/data/config */
    const char *message; /* NULL: loads without any diagnostic */
    bool loads;          /* with message: loads all the same (a warning) */
} data_files[] = {
    {"good.conf", NULL, false},
    {"bad-secondary-twice.conf",
     "bad-secondary-twice.conf:13: secondary address "
     "bob@example.org of mailbox carol@corp.example is already "
     "claimed by mailbox bob@corp.example at " TEST_DATA_DIR "/config/bad-secondary-twice.conf:9",
     false},
    {"bad-include.conf",
     "bad-include.d/broken.conf:4: domain corp.example: catch_all "
     "\"info@@corp.example\": malformed local part",
     false},
    {"bad-global-postmaster.conf",
     "bad-global-postmaster.d/settings.conf:4: global postmaster "
     "ghost@corp.example reaches no mailbox (reject: User unknown)",
     false},
    {"bad-table-file.conf",
     "bad-table-file.conf:9: table file " TEST_DATA_DIR
     "/config/bad-table-file.d/missing: No such file or directory",
     false},
    {"warn-bare-postmaster.conf",
     "warn-bare-postmaster.conf:1: warning: no global postmaster: RCPT TO:<postmaster> (without "
     "a domain) will be passed to the MTA; set postmaster = \"mailbox\" among the global "
     "settings of " TEST_DATA_DIR "/config/warn-bare-postmaster.conf",
     true},
};

START_TEST(test_data_files)
{
    struct load l;

    char path[1024];

    snprintf(path, sizeof(path), "%s/config/%s", TEST_DATA_DIR, data_files[_i].file);
    load_path(&l, path);
    if (data_files[_i].message == NULL) {
        if (diag_size(l.d) > 0)
            dump(l.d);
        ck_assert_ptr_nonnull(l.c);
        ck_assert_uint_eq(diag_size(l.d), 0);
    } else {
        bool ok = has_message(l.d, "%s/config/%s", TEST_DATA_DIR, data_files[_i].message);
        if (!ok)
            dump(l.d);
        ck_assert_int_eq(l.c != NULL, data_files[_i].loads);
        ck_assert(ok);
    }
    load_done(&l);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Semantic checks belong to validate.c; these only show that they reach
 * the caller of config_load (they need validate.c and policy.c). */

START_TEST(test_semantic_postmaster)
{
    struct load l;

    load_text(&l, "domain \"a.example\" { }\n");
    ck_assert_ptr_null(l.c);
    ck_assert_uint_ge(diag_count(l.d, DIAG_ERROR), 1);
    ck_assert_ptr_nonnull(strstr(diag_text(l.d, 0), "main.conf:1: "));
    ck_assert_ptr_nonnull(strstr(diag_text(l.d, 0), "postmaster"));
    load_done(&l);
}
END_TEST

START_TEST(test_semantic_alias_loop)
{
    struct load l;

    load_text(&l, "postmaster = \"pm@elsewhere.example\"\n"
                  "domain \"a.example\" { }\n"
                  "alias \"x@a.example\" { to = { \"y@a.example\" } }\n"
                  "alias \"y@a.example\" { to = { \"x@a.example\" } }\n");
    ck_assert_ptr_null(l.c);
    ck_assert_uint_ge(diag_count(l.d, DIAG_ERROR), 1);
    ck_assert_ptr_nonnull(strstr(diag_text(l.d, 0), "loop"));
    load_done(&l);
}
END_TEST

START_TEST(test_semantic_alias_domain_loop)
{
    struct load l;

    load_text(&l, "postmaster = \"pm@elsewhere.example\"\n"
                  "domain \"b.example\" { alias_domain = \"c.example\" }\n"
                  "domain \"c.example\" { alias_domain = \"b.example\" }\n");
    ck_assert_ptr_null(l.c);
    ck_assert_uint_ge(diag_count(l.d, DIAG_ERROR), 1);
    ck_assert_ptr_nonnull(strstr(diag_text(l.d, 0), "loop"));
    load_done(&l);
}
END_TEST

/* ------------------------------------------------------------------ */
/* config_load_buffer */

static void load_buffer(struct load *l, const char *name, const char *buf, size_t len)
{
    l->d = diag_new();
    ck_assert_ptr_nonnull(l->d);
    l->c = config_load_buffer(name, buf, len, l->d);
    ck_assert_int_eq(l->c == NULL, diag_count(l->d, DIAG_ERROR) > 0);
}

START_TEST(test_buffer_loads)
{
    /* the bytes after len are not part of the text */
    static const char text[] = "postmaster = \"pm@a.example\"\n"
                               "domain \"a.example\" { }\n"
                               "mailbox \"pm@a.example\" { }\n"
                               "}}} not read";
    struct load l;

    load_buffer(&l, "mem.conf", text, sizeof(text) - 1 - strlen("}}} not read"));
    if (l.c == NULL)
        dump(l.d);
    ck_assert_ptr_nonnull(l.c);
    ck_assert_str_eq(l.c->path, "mem.conf");
    ck_assert_ptr_nonnull(lookup(l.c, "pm@a.example"));
    load_done(&l);

    /* NULL and empty text are the empty configuration */
    load_buffer(&l, "empty.conf", NULL, 0);
    ck_assert_ptr_nonnull(l.c);
    ck_assert_uint_eq(table_domain_count(l.c->table), 0);
    load_done(&l);
}
END_TEST

START_TEST(test_buffer_relative_names)
{
    struct load l;
    char name[512];
    static const char text[] = "postmaster = \"pm@a.example\"\n"
                               "include(\"inc.conf\")\n"
                               "table = { \"virtual\" }\n";

    /* include() and table resolve against the directory of the name */
    write_file("inc.conf", "domain \"a.example\" { }\nmailbox \"pm@a.example\" { }\n");
    write_file("virtual", "v@a.example pm@a.example\n");
    snprintf(name, sizeof(name), "%s/not-a-file.conf", tmpdir);
    load_buffer(&l, name, text, sizeof(text) - 1);
    if (l.c == NULL)
        dump(l.d);
    ck_assert_ptr_nonnull(l.c);
    ck_assert_ptr_nonnull(lookup(l.c, "v@a.example"));
    load_done(&l);
}
END_TEST

START_TEST(test_buffer_errors)
{
    static const char nul[] = "domain \"a.example\" { }\n\0\n";
    struct load l;

    /* diagnostics name the buffer's name and line */
    load_buffer(&l, "mem.conf", "timeout = 0\nbogus = 1\n", strlen("timeout = 0\nbogus = 1\n"));
    ck_assert_ptr_null(l.c);
    ck_assert_uint_ge(diag_size(l.d), 1);
    ck_assert_msg(strncmp(diag_text(l.d, 0), "mem.conf:", 9) == 0, "got %s", diag_text(l.d, 0));
    load_done(&l);

    /* a NUL byte is an error, not the end of the text */
    load_buffer(&l, "nul.conf", nul, sizeof(nul) - 1);
    ck_assert_ptr_null(l.c);
    ck_assert(has_message(l.d, "nul.conf:2: NUL byte in configuration file"));
    load_done(&l);

    /* an unclosed section */
    load_buffer(&l, "open.conf", "domain \"a.example\" {\n", strlen("domain \"a.example\" {\n"));
    ck_assert_ptr_null(l.c);
    ck_assert_uint_ge(diag_count(l.d, DIAG_ERROR), 1);
    load_done(&l);
}
END_TEST

/* Found by fuzz_config: an unquoted include name running to the end of
 * the text read one byte past it (looking for a comment after a '/'). */
START_TEST(test_buffer_include_at_end)
{
    static const char *const texts[] = {"include(/", "include(a/", "include( x/"};
    struct load l;

    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        size_t len = strlen(texts[i]);
        char *exact = malloc(len); /* no NUL after it: a read past len is caught */

        ck_assert_ptr_nonnull(exact);
        memcpy(exact, texts[i], len);
        load_buffer(&l, "end.conf", exact, len);
        ck_assert_ptr_null(l.c);
        if (!has_message(l.d, "end.conf:1: malformed include: expected include(\"file\")"))
            dump(l.d);
        ck_assert(has_message(l.d, "end.conf:1: malformed include: expected include(\"file\")"));
        load_done(&l);
        free(exact);
    }
}
END_TEST

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
        {"places", test_places, sizeof(places) / sizeof(places[0])},
        {"bare_postmaster_quiet", test_bare_postmaster_quiet, 0},
        {"setting_places", test_setting_places, 0},
        {"shipped_config", test_shipped_config, 0},
        {"data_files", test_data_files, sizeof(data_files) / sizeof(data_files[0])},
        {"semantic_postmaster", test_semantic_postmaster, 0},
        {"semantic_alias_loop", test_semantic_alias_loop, 0},
        {"semantic_alias_domain_loop", test_semantic_alias_domain_loop, 0},
        {"buffer_loads", test_buffer_loads, 0},
        {"buffer_relative_names", test_buffer_relative_names, 0},
        {"buffer_errors", test_buffer_errors, 0},
        {"buffer_include_at_end", test_buffer_include_at_end, 0},
    };

    check_add_cases(s, cases, sizeof cases / sizeof cases[0], setup, teardown, 0);
    return s;
}

int main(void)
{
    return check_run(config_suite());
}
