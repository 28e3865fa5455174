/*
 * check_mta_check.c - unit tests of the -C modules' pure parts: socket specs
 * in both syntaxes and their comparison, path normalisation and chroot
 * resolution, Postfix list splitting and domain patterns, netstrings, the
 * report's escaping, the -C argument, sendmail.cf reading
 * (test/data/mta: a correct file, one of odd lines, one with a NUL byte;
 * a class file written at run time), and running a tool (pf_run: exit
 * status and output, also when SIGCHLD is ignored).
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mta_check.h"
/* the -C Postfix files' private header, for pf_run */
#include "../milter/mta_postfix_impl.h"

#define N(table) ((int)(sizeof(table) / sizeof(*(table))))

/* ---- socket specs: text to kind/path/host/port, or refusal ---------------- */

static const struct {
    bool postfix;
    const char *spec;
    int rc;
    enum mta_sock_kind kind;
    const char *path, *host, *port;
} sock_cases[] = {
    {false, "unix:/run/hm.sock", 0, MTA_SOCK_UNIX, "/run/hm.sock", "", ""},
    {false, "local:/run/hm.sock", 0, MTA_SOCK_UNIX, "/run/hm.sock", "", ""},
    {false, "/run/hm.sock", 0, MTA_SOCK_UNIX, "/run/hm.sock", "", ""},
    {false, "inet:10025@127.0.0.1", 0, MTA_SOCK_INET, "", "127.0.0.1", "10025"},
    {false, "inet:10025", 0, MTA_SOCK_INET, "", "", "10025"},
    {false, "inet6:10025@[::1]", 0, MTA_SOCK_INET6, "", "::1", "10025"},
    {false, "unix:", -1, 0, NULL, NULL, NULL},
    {false, "inet:@127.0.0.1", -1, 0, NULL, NULL, NULL},
    {false, "inet:", -1, 0, NULL, NULL, NULL},
    {false, "tcp:1@x", -1, 0, NULL, NULL, NULL},
    {false, "hm.sock", -1, 0, NULL, NULL, NULL},
    {true, "unix:hosted-milter/hm.sock", 0, MTA_SOCK_UNIX, "hosted-milter/hm.sock", "", ""},
    {true, "inet:127.0.0.1:10025", 0, MTA_SOCK_INET, "", "127.0.0.1", "10025"},
    {true, "inet:[::1]:10025", 0, MTA_SOCK_INET, "", "::1", "10025"},
    {true, "inet:localhost:smtp", 0, MTA_SOCK_INET, "", "localhost", "smtp"},
    {true, "inet:10025", -1, 0, NULL, NULL, NULL},
    {true, "inet::10025", -1, 0, NULL, NULL, NULL},
    {true, "inet:127.0.0.1:", -1, 0, NULL, NULL, NULL},
    {true, "/run/hm.sock", -1, 0, NULL, NULL, NULL}, /* Postfix needs the type */
    {true, "inet:h:1 2", -1, 0, NULL, NULL, NULL},
};

START_TEST(test_sock_parse)
{
    struct mta_sock s;
    int rc = sock_cases[_i].postfix ? mta_sock_parse_postfix(sock_cases[_i].spec, &s)
                                    : mta_sock_parse_libmilter(sock_cases[_i].spec, &s);

    ck_assert_msg(rc == sock_cases[_i].rc, "%s: rc %d", sock_cases[_i].spec, rc);
    if (rc < 0)
        return;
    ck_assert_int_eq(s.kind, sock_cases[_i].kind);
    ck_assert_str_eq(s.path, sock_cases[_i].path);
    ck_assert_str_eq(s.host, sock_cases[_i].host);
    ck_assert_str_eq(s.port, sock_cases[_i].port);
}
END_TEST

START_TEST(test_sock_too_long)
{
    char spec[MTA_PATH_MAX + 16] = "unix:/";
    struct mta_sock s;

    memset(spec + 6, 'a', sizeof spec - 7);
    spec[sizeof spec - 1] = '\0';
    ck_assert_int_eq(mta_sock_parse_libmilter(spec, &s), -1);
    ck_assert_int_eq(mta_sock_parse_postfix(spec, &s), -1);
}
END_TEST

/* ours (libmilter form) against theirs (Postfix form, path as resolved) */
static const struct {
    const char *ours, *theirs;
    int same;
} same_cases[] = {
    {"unix:/var/spool/postfix/hm/x.sock", "unix:/var/spool/postfix/hm/x.sock", 1},
    {"unix:/var/spool/postfix/hm/x.sock", "unix:/var/spool/postfix//hm/./x.sock", 1},
    {"unix:/var/spool/postfix/hm/x.sock", "unix:/var/spool/postfix/other/../hm/x.sock", 1},
    {"unix:/var/spool/postfix/hm/x.sock", "unix:/var/spool/postfix/hm/y.sock", 0},
    {"unix:/run/x.sock", "inet:127.0.0.1:10025", 0},
    {"inet:10025@127.0.0.1", "inet:127.0.0.1:10025", 1},
    {"inet:10025@127.0.0.1", "inet:127.0.0.1:10026", 0},
    {"inet:10025@127.0.0.1", "inet:127.0.0.2:10025", 0},
    {"inet:10025", "inet:127.0.0.2:10025", 1}, /* listening on every address */
    {"inet:10025@0.0.0.0", "inet:192.0.2.1:10025", 1},
    {"inet6:10025@::1", "inet:[::1]:10025", 1},
    {"inet:10025@127.0.0.1", "unix:/run/x.sock", 0},
};

START_TEST(test_sock_same)
{
    struct mta_sock a, b;

    ck_assert_int_eq(mta_sock_parse_libmilter(same_cases[_i].ours, &a), 0);
    ck_assert_int_eq(mta_sock_parse_postfix(same_cases[_i].theirs, &b), 0);
    ck_assert_msg(mta_sock_same(&a, &b) == same_cases[_i].same, "%s vs %s", same_cases[_i].ours,
                  same_cases[_i].theirs);
}
END_TEST

/* the same directory reached through a symbolic link is the same socket */
START_TEST(test_sock_same_symlink)
{
    char dir[] = "/tmp/check-mta-XXXXXX", link[64], a[128], b[128];
    struct mta_sock s1, s2;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(link, sizeof link, "%s.link", dir);
    ck_assert_int_eq(symlink(dir, link), 0);
    snprintf(a, sizeof a, "unix:%s/x.sock", dir);
    snprintf(b, sizeof b, "unix:%s/x.sock", link);
    ck_assert_int_eq(mta_sock_parse_libmilter(a, &s1), 0);
    ck_assert_int_eq(mta_sock_parse_postfix(b, &s2), 0);
    ck_assert_int_eq(mta_sock_same(&s1, &s2), 1);
    snprintf(b, sizeof b, "unix:%s/y.sock", link);
    ck_assert_int_eq(mta_sock_parse_postfix(b, &s2), 0);
    ck_assert_int_eq(mta_sock_same(&s1, &s2), 0);
    unlink(link);
    rmdir(dir);
}
END_TEST

START_TEST(test_sock_format)
{
    struct mta_sock s;
    char out[MTA_PATH_MAX + 8];

    ck_assert_int_eq(mta_sock_parse_postfix("inet:[::1]:25", &s), 0);
    mta_sock_format(&s, out, sizeof out);
    ck_assert_str_eq(out, "inet:25@::1");
    ck_assert_int_eq(mta_sock_parse_libmilter("local:/x", &s), 0);
    mta_sock_format(&s, out, sizeof out);
    ck_assert_str_eq(out, "unix:/x");
}
END_TEST

/* ---- paths ---------------------------------------------------------------- */

static const struct {
    const char *in, *out;
} norm_cases[] = {
    {"/a/b/c", "/a/b/c"}, {"/a//b/./c/", "/a/b/c"}, {"/a/b/../c", "/a/c"}, {"/../a", "/a"},
    {"/", "/"},           {"a/../..", ".."},        {"a/b/../../c", "c"},  {"../../a", "../../a"},
    {".", "."},           {"/a/b/c/../../..", "/"},
};

START_TEST(test_path_normalize)
{
    char out[MTA_PATH_MAX];

    ck_assert_int_eq(mta_path_normalize(norm_cases[_i].in, out, sizeof out), 0);
    ck_assert_str_eq(out, norm_cases[_i].out);
}
END_TEST

static const struct {
    const char *queue;
    bool chrooted;
    const char *p, *out;
} chroot_cases[] = {
    /* Debian: chrooted smtpd, relative name: under the queue directory */
    {"/var/spool/postfix", true, "hosted-milter/hm.sock",
     "/var/spool/postfix/hosted-milter/hm.sock"},
    /* chrooted, absolute: the chroot is prefixed (the trap) */
    {"/var/spool/postfix", true, "/run/hm/hm.sock", "/var/spool/postfix/run/hm/hm.sock"},
    /* not chrooted: absolute as is, relative from the queue directory */
    {"/var/spool/postfix", false, "/run/hm/hm.sock", "/run/hm/hm.sock"},
    {"/var/spool/postfix", false, "hm/hm.sock", "/var/spool/postfix/hm/hm.sock"},
    {"/var/spool/postfix/", true, "/../../etc/x", "/var/spool/postfix/etc/x"},
    {"/var/spool/postfix", false, "../../run/x", "/var/run/x"},
};

START_TEST(test_chroot_path)
{
    char out[MTA_PATH_MAX];

    ck_assert_int_eq(mta_chroot_path(chroot_cases[_i].queue, chroot_cases[_i].chrooted,
                                     chroot_cases[_i].p, out, sizeof out),
                     0);
    ck_assert_str_eq(out, chroot_cases[_i].out);
}
END_TEST

START_TEST(test_chroot_path_too_long)
{
    char p[MTA_PATH_MAX], out[MTA_PATH_MAX];

    memset(p, 'a', sizeof p - 1);
    p[sizeof p - 1] = '\0';
    ck_assert_int_eq(mta_chroot_path("/q", true, p, out, sizeof out), -1);
    ck_assert_int_eq(mta_path_normalize(p, out, 10), -1);
}
END_TEST

/* ---- lists ---------------------------------------------------------------- */

static const struct {
    const char *in;
    bool commas_only;
    int rc;
    const char *joined; /* elements joined with '|' */
} split_cases[] = {
    {"", false, 0, ""},
    {"a, b c,,d\te", false, 0, "a|b|c|d|e"},
    {"unix:a, { inet:h:1, default_action=accept } unix:b", false, 0,
     "unix:a|{ inet:h:1, default_action=accept }|unix:b"},
    {"{ a, {b} } c", false, 0, "{ a, {b} }|c"},
    {" inet:h:1 ,  default_action = accept ", true, 0, "inet:h:1|default_action = accept"},
    {"a, { b", false, -1, "a"}, /* unclosed brace: refused, what came before kept */
};

static void joined(const struct mta_list *l, char *out, size_t outsz)
{
    out[0] = '\0';
    for (size_t i = 0; i < l->n; i++) {
        if (i > 0)
            strncat(out, "|", outsz - strlen(out) - 1);
        strncat(out, l->v[i], outsz - strlen(out) - 1);
    }
}

START_TEST(test_list_split)
{
    struct mta_list l = {0};
    char out[512];

    ck_assert_int_eq(mta_list_split(split_cases[_i].in, split_cases[_i].commas_only, &l),
                     split_cases[_i].rc);
    joined(&l, out, sizeof out);
    ck_assert_str_eq(out, split_cases[_i].joined);
    mta_list_free(&l);
    ck_assert_uint_eq(l.n, 0);
}
END_TEST

START_TEST(test_list_words)
{
    struct mta_list l = {0};
    char out[512];

    ck_assert_int_eq(mta_list_words("# comment, x\na.example b.example # c.example\n\n"
                                    "d.example,e.example\r\nlast",
                                    &l),
                     0);
    joined(&l, out, sizeof out);
    ck_assert_str_eq(out, "a.example|b.example|d.example|e.example|last");
    mta_list_free(&l);
}
END_TEST

START_TEST(test_list_unique)
{
    struct mta_list l = {0};
    char out[512];

    mta_list_unique(&l); /* empty: nothing to do */
    ck_assert_int_eq(
        mta_list_split("b.example A.example a.example b.example a.EXAMPLE c", false, &l), 0);
    mta_list_unique(&l);
    joined(&l, out, sizeof out);
    ck_assert_str_eq(out, "A.example|b.example|c");
    mta_list_free(&l);
}
END_TEST

static const struct {
    const char *pat, *name;
    bool parent, match;
} pattern_cases[] = {
    {"hosted.example", "hosted.example", false, true},
    {"Hosted.Example.", "hosted.example", false, true},
    {"hosted.example", "HOSTED.EXAMPLE.", false, true},
    {"example", "hosted.example", false, false},
    {"example", "hosted.example", true, true},
    {"xample", "hosted.example", true, false}, /* a label, not a suffix */
    {".example", "hosted.example", false, true},
    {".example", "example", false, false},
    {".hosted.example", "hosted.example", true, false},
    {"sub.hosted.example", "hosted.example", true, false},
    {"", "hosted.example", true, false},
    {".", "hosted.example", true, false},
};

START_TEST(test_pattern)
{
    ck_assert_msg(mta_pattern_match(pattern_cases[_i].pat, pattern_cases[_i].name,
                                    pattern_cases[_i].parent) == pattern_cases[_i].match,
                  "%s ~ %s", pattern_cases[_i].pat, pattern_cases[_i].name);
}
END_TEST

/* ---- netstrings ----------------------------------------------------------- */

static const struct {
    const char *in;
    long rc;
    const char *data;
} net_cases[] = {
    {"2:OK,", 5, "OK"},    {"9:NOTFOUND ,rest", 12, "NOTFOUND "},
    {"0:,", 3, ""},        {"", 0, NULL},
    {"12", 0, NULL},       {"3:OK", 0, NULL},
    {"2:OK;", -1, NULL},   {":OK,", -1, NULL},
    {"x:OK,", -1, NULL},   {"02:OK,", -1, NULL},
    {"123456:", -1, NULL}, /* more than 5 digits */
};

START_TEST(test_netstring)
{
    const char *data = NULL;
    size_t dlen = 0;
    long rc = mta_netstring_parse(net_cases[_i].in, strlen(net_cases[_i].in), &data, &dlen);

    ck_assert_msg(rc == net_cases[_i].rc, "%s: %ld", net_cases[_i].in, rc);
    if (rc > 0) {
        ck_assert_uint_eq(dlen, strlen(net_cases[_i].data));
        ck_assert(memcmp(data, net_cases[_i].data, dlen) == 0);
    }
}
END_TEST

/* ---- the report and the -C argument --------------------------------------- */

START_TEST(test_report_escapes)
{
    char *text = NULL;
    size_t len = 0;
    struct mta_report r = {.out = open_memstream(&text, &len)};

    mta_ok(&r, "a %s", "b\x1b[31m\nc");
    mta_warn(&r, "bücher\x7f");
    mta_error(&r, "x");
    fclose(r.out);
    ck_assert_str_eq(text, "ok: a b\\x1b[31m\\x0ac\nwarning: bücher\\x7f\nerror: x\n");
    ck_assert_uint_eq(r.nok + r.nwarn + r.nerr, 3);
    free(text);
}
END_TEST

START_TEST(test_target)
{
    const char *w = NULL;

    ck_assert_int_eq(mta_check_target("postfix", &w), 'p');
    ck_assert_str_eq(w, "/etc/postfix");
    ck_assert_int_eq(mta_check_target("postfix:/x/y", &w), 'p');
    ck_assert_str_eq(w, "/x/y");
    ck_assert_int_eq(mta_check_target("sendmail", &w), 's');
    ck_assert_str_eq(w, "/etc/mail/sendmail.cf");
    ck_assert_int_eq(mta_check_target("sendmail:my.cf", &w), 's');
    ck_assert_str_eq(w, "my.cf");
    ck_assert_int_eq(mta_check_target("postfix:", &w), 0);
    ck_assert_int_eq(mta_check_target("postfixx", &w), 0);
    ck_assert_int_eq(mta_check_target("exim", &w), 0);
    ck_assert_int_eq(mta_check_target("", &w), 0);
}
END_TEST

/* ---- sendmail.cf ---------------------------------------------------------- */

/* Runs the Sendmail check of cf against socket and the two test domains;
 * returns the report text (caller frees) and the check's status. */
static char *sendmail_report(const char *cf, const char *socket, int *rc)
{
    char *text = NULL;
    size_t len = 0;
    struct mta_ctx c = {.rep = {.out = open_memstream(&text, &len)}, .socket = socket};

    ck_assert_int_eq(mta_ctx_add_domain(&c, "hosted.example"), 0);
    ck_assert_int_eq(mta_ctx_add_domain(&c, "xn--bcher-kva.example"), 0);
    ck_assert_str_eq(c.domains[1].ulabel, "bücher.example");
    *rc = mta_sendmail_check(&c, cf);
    fprintf(c.rep.out, "%u/%u/%u\n", c.rep.nok, c.rep.nwarn, c.rep.nerr);
    fclose(c.rep.out);
    mta_ctx_free_domains(&c);
    return text;
}

START_TEST(test_sendmail_good)
{
    const char *cf = TEST_DATA_DIR "/mta/good.cf";
    char want[4096], *got;
    int rc;

    got = sendmail_report(cf, "unix:/run/hosted-milter/hm.sock", &rc);
    snprintf(want, sizeof want,
             "ok: %s: filter hosted-milter: S=local:/run//hosted-milter/./hm.sock is this "
             "configuration's socket\n"
             "ok: %s: filter hosted-milter: F=T (tempfail while hosted-milter cannot be "
             "reached)\n"
             "ok: %s: InputMailFilters: hosted-milter is the last filter\n"
             "ok: %s: class R: all 2 hosted domains are listed (1 in both IDN forms)\n"
             "ok: %s: class w: no hosted domain\n5/0/0\n",
             cf, cf, cf, cf, cf);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(got, want);
    free(got);
}
END_TEST

START_TEST(test_sendmail_faults)
{
    const char *cf = TEST_DATA_DIR "/mta/faults.cf";
    char want[4096], *got;
    int rc;

    got = sendmail_report(cf, "unix:/run/hosted-milter/hm.sock", &rc);
    snprintf(want, sizeof want,
             "warning: %s: class file : not evaluated by this check\n"
             "warning: %s: class file : not evaluated by this check\n"
             "warning: %s: class file |/bin/cat: not evaluated by this check\n"
             "warning: %s: class file relative-file: not evaluated by this check\n"
             "ok: %s: filter hm: S=/run/hosted-milter/hm.sock is this configuration's socket\n"
             "error: %s: filter hm: no F=T: while hosted-milter cannot be reached, mail is "
             "accepted unfiltered (use F=T)\n"
             "ok: %s: InputMailFilters: hm is the last filter\n"
             "ok: %s: class R: all 2 hosted domains are listed (1 in both IDN forms)\n"
             "error: %s: class w lists hosted domain HOSTED.EXAMPLE. (conflicting routes: "
             "Sendmail delivers it locally, aliases and virtusertable apply again)\n"
             "3/4/2\n",
             cf, cf, cf, cf, cf, cf, cf, cf, cf);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(got, want);
    free(got);
}
END_TEST

START_TEST(test_sendmail_unreadable)
{
    int rc;
    char *got = sendmail_report(TEST_DATA_DIR "/mta/nul.cf", "unix:/x", &rc);

    ck_assert_int_eq(rc, MTA_EXIT_CANNOT);
    ck_assert_str_eq(got, "0/0/0\n");
    free(got);
    got = sendmail_report(TEST_DATA_DIR "/mta/missing.cf", "unix:/x", &rc);
    ck_assert_int_eq(rc, MTA_EXIT_CANNOT);
    free(got);
    got = sendmail_report(TEST_DATA_DIR "/mta", "unix:/x", &rc); /* a directory */
    ck_assert_int_eq(rc, MTA_EXIT_CANNOT);
    free(got);
}
END_TEST

/* FR files: read (words, comments), optional (-o) or not; inet socket;
 * a filter missing from InputMailFilters; the U-label form missing. */
START_TEST(test_sendmail_class_file)
{
    char dir[] = "/tmp/check-mta-XXXXXX", cf[128], rd[128], want[4096], *got;
    FILE *f;
    int rc;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(cf, sizeof cf, "%s/sendmail.cf", dir);
    snprintf(rd, sizeof rd, "%s/relay-domains", dir);
    ck_assert_ptr_nonnull(f = fopen(rd, "w"));
    fputs("# relay\nhosted.example xn--bcher-kva.example # bücher.example\nother.example\n", f);
    fclose(f);
    ck_assert_ptr_nonnull(f = fopen(cf, "w"));
    fprintf(f,
            "FR-o %s\nFw%s/local-host-names\nFw-o %s/absent\n"
            "Xhm, S=inet:10025@127.0.0.1, F=T\nO InputMailFilters=other\n",
            rd, dir, dir);
    fclose(f);
    got = sendmail_report(cf, "inet:10025@127.0.0.1", &rc);
    snprintf(want, sizeof want,
             "warning: %s: class file %s/local-host-names: cannot open\n"
             "ok: %s: filter hm: S=inet:10025@127.0.0.1 is this configuration's socket\n"
             "ok: %s: filter hm: F=T (tempfail while hosted-milter cannot be reached)\n"
             "error: %s: InputMailFilters does not name filter hm: Sendmail never calls it\n"
             "error: %s: class R: bücher.example (the U-label form of xn--bcher-kva.example) "
             "is not listed (names are compared as text: its mail is refused, Relaying "
             "denied)\n"
             "warning: %s: class R: other.example is not a hosted domain\n"
             "ok: %s: class w: no hosted domain\n3/2/2\n",
             cf, dir, cf, cf, cf, cf, cf, cf);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(got, want);
    free(got);
    unlink(cf);
    unlink(rd);
    rmdir(dir);
}
END_TEST

/* ---- running a tool: status and output ------------------------------------ */

/* With SIGCHLD ignored (inherited so from a parent), the kernel reaps the
 * child and waitpid finds none: pf_run must still see its exit status. */
START_TEST(test_run_status)
{
    const char *const argv[] = {"sh", "-c", "echo out; echo err >&2; exit 3", NULL};
    char *out, *err;

    if (_i == 1)
        ck_assert(signal(SIGCHLD, SIG_IGN) != SIG_ERR);
    ck_assert_int_eq(pf_run(argv, NULL, &out, &err), 3);
    ck_assert_str_eq(out, "out\n");
    ck_assert_str_eq(err, "err\n");
    free(out);
    free(err);
    /* the caller's disposition is back as it was */
    ck_assert(signal(SIGCHLD, SIG_DFL) == (_i == 1 ? SIG_IGN : SIG_DFL));
}
END_TEST

static Suite *mta_suite(void)
{
    Suite *s = suite_create("mta_check");
    TCase *tc;

    tc = tcase_create("sock");
    tcase_add_loop_test(tc, test_sock_parse, 0, N(sock_cases));
    tcase_add_test(tc, test_sock_too_long);
    tcase_add_loop_test(tc, test_sock_same, 0, N(same_cases));
    tcase_add_test(tc, test_sock_same_symlink);
    tcase_add_test(tc, test_sock_format);
    suite_add_tcase(s, tc);

    tc = tcase_create("paths");
    tcase_add_loop_test(tc, test_path_normalize, 0, N(norm_cases));
    tcase_add_loop_test(tc, test_chroot_path, 0, N(chroot_cases));
    tcase_add_test(tc, test_chroot_path_too_long);
    suite_add_tcase(s, tc);

    tc = tcase_create("lists");
    tcase_add_loop_test(tc, test_list_split, 0, N(split_cases));
    tcase_add_test(tc, test_list_words);
    tcase_add_test(tc, test_list_unique);
    tcase_add_loop_test(tc, test_pattern, 0, N(pattern_cases));
    tcase_add_loop_test(tc, test_netstring, 0, N(net_cases));
    suite_add_tcase(s, tc);

    tc = tcase_create("report");
    tcase_add_test(tc, test_report_escapes);
    tcase_add_test(tc, test_target);
    suite_add_tcase(s, tc);

    tc = tcase_create("sendmail");
    tcase_add_test(tc, test_sendmail_good);
    tcase_add_test(tc, test_sendmail_faults);
    tcase_add_test(tc, test_sendmail_unreadable);
    tcase_add_test(tc, test_sendmail_class_file);
    suite_add_tcase(s, tc);

    tc = tcase_create("run");
    tcase_add_loop_test(tc, test_run_status, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(mta_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
