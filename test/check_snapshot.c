/*
 * check_snapshot.c - unit tests of the snapshot file (snapshot.c): the
 * write/read round trip (UTF-8, IDN, origins with any byte), the format as
 * documented, every refused file with its path:line message, and the
 * atomic replacement (a failed write leaves the old file, mode 0640).
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diag.h"
#include "snapshot.h"
#include "source_fixture.h"
#include "source_records.h"
#include "table.h"
#include "util.h"
#include "validate.h"

/* ---- snapshot round trip -------------------------------------------------- */

static char tmpdir[64];

static void make_tmpdir(void)
{
    strcpy(tmpdir, "/tmp/check_snapshot.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void remove_tmpdir(void)
{
    DIR *dir = opendir(tmpdir);
    struct dirent *de;
    char path[512];

    if (dir == NULL)
        return;
    while ((de = readdir(dir)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", tmpdir, de->d_name);
        chmod(path, 0700);
        if (rmdir(path) != 0)
            unlink(path);
    }
    closedir(dir);
    chmod(tmpdir, 0700);
    rmdir(tmpdir);
}

/* Entries in tmpdir besides "." and "..". */
static int dir_entries(const char *path)
{
    DIR *dir = opendir(path);
    struct dirent *de;
    int n = 0;

    ck_assert_ptr_nonnull(dir);
    while ((de = readdir(dir)) != NULL)
        n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    closedir(dir);
    return n;
}

static char *slurp(const char *path, size_t *len)
{
    const char *what;
    char *buf = NULL;

    ck_assert_int_eq(util_read_file(path, &buf, len, &what), 0);
    return buf;
}

static const struct rec odd[] = {
    {SOURCE_DOMAIN, "dc=corp", "corp.example", {NULL}, 0},
    {SOURCE_DOMAIN, "row with spaces", "bücher.example", {NULL}, 0},
    {SOURCE_ALIAS_DOMAIN, "quote\"d 'origin'", "alias.example", {"corp.example"}, 0},
    {SOURCE_MAILBOX, "cn=Bob Smith,ou=people", "Bob@corp.example", {NULL}, 0},
    {SOURCE_SECONDARY, "cn=Bob Smith,ou=people", "bob.smith@corp.example", {"Bob@corp.example"}, 0},
    {SOURCE_MAILBOX, "line\nbreak\r\ttab\x7f del \\ back", "jörg@bücher.example", {NULL}, 0},
    {SOURCE_MAILBOX, "cn=J\xc3\xb6rg \xff\xfe raw", "\"john doe\"@corp.example", {NULL}, 0},
    {SOURCE_MAILBOX, "x", "postmaster@corp.example", {NULL}, 0},
    {SOURCE_MAILBOX, "=\\x41 end 1", "postmaster@xn--bcher-kva.example", {NULL}, 0},
    {SOURCE_ALIAS,
     "alias address=all@corp.example",
     "all@corp.example",
     {"Bob@corp.example", "jörg@xn--bcher-kva.example", "\"john doe\"@corp.example",
      "x@[192.0.2.1]"},
     0},
    {SOURCE_CATCH_ALL,
     "alias address=@bücher.example",
     "bücher.example",
     {"jörg@bücher.example"},
     0},
};

static void same_records(const struct source_records *a, const struct source_records *b)
{
    ck_assert_uint_eq(source_records_count(a), source_records_count(b));
    for (size_t i = 0; i < source_records_count(a); i++) {
        const struct source_record *x = source_records_at(a, i), *y = source_records_at(b, i);
        ck_assert_int_eq(x->kind, y->kind);
        ck_assert_str_eq(x->origin, y->origin);
        ck_assert_str_eq(x->key, y->key);
        ck_assert_uint_eq(x->ntargets, y->ntargets);
        for (size_t j = 0; j < x->ntargets; j++)
            ck_assert_str_eq(x->targets[j], y->targets[j]);
    }
}

START_TEST(test_round_trip)
{
    struct source_records *r = records("pfa \"db\"\n", odd, N(odd));
    struct source_records *back = source_records_new("pfa \"db\"\n");
    struct diag *d = diag_new();
    char path[128], *text, *again;
    size_t len, len2;
    struct stat st;
    struct build x, y;

    make_tmpdir();
    snprintf(path, sizeof(path), "%s/pfa.snapshot", tmpdir);
    ck_assert_int_eq(snapshot_write(r, path, d), 0);
    ck_assert_int_eq(snapshot_read(path, back, d), 0);
    ck_assert_uint_eq(diag_size(d), 0);
    same_records(r, back);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 07777, 0640);
    ck_assert_int_eq(dir_entries(tmpdir), 1); /* no temporary file left */

    /* written again from what was read: the same bytes */
    text = slurp(path, &len);
    ck_assert_int_eq(snapshot_write(back, path, d), 0);
    again = slurp(path, &len2);
    ck_assert_uint_eq(len, len2);
    ck_assert_mem_eq(text, again, len);

    /* and the same table */
    build(&x, r, NULL);
    build(&y, back, NULL);
    ck_assert_int_eq(x.errors, 0);
    ck_assert_int_eq(validate_table(y.t, y.b, y.d), 0);
    ck_assert_uint_eq(table_entry_count(x.t), table_entry_count(y.t));
    ck_assert_uint_eq(table_domain_count(x.t), table_domain_count(y.t));
    build_done(&x);
    build_done(&y);
    free(text);
    free(again);
    remove_tmpdir();
    diag_free(d);
    source_records_free(back);
    source_records_free(r);
}
END_TEST

/* The file as documented in snapshot.h. */
START_TEST(test_format)
{
    static const struct rec v[] = {
        {SOURCE_DOMAIN, "dc=corp", "corp.example", {NULL}, 0},
        {SOURCE_MAILBOX, "cn=Bob Smith\\, Jr", "bob@corp.example", {NULL}, 0},
        {SOURCE_SECONDARY, "cn=Bob Smith\\, Jr", "b@corp.example", {"bob@corp.example"}, 0},
        {SOURCE_ALIAS,
         "alias\taddress",
         "Jörg@Bücher.example",
         {"\"a b\"@x.example", "c@x.example"},
         0},
    };
    static const char want[] =
        "hosted-milter-snapshot 1 source=ldap://h\\x20a\n"
        "domain dc=corp corp.example\n"
        "mailbox cn=Bob\\x20Smith\\x5c,\\x20Jr bob@corp.example\n"
        "secondary cn=Bob\\x20Smith\\x5c,\\x20Jr b@corp.example bob@corp.example\n"
        "alias alias\\x09address Jörg@xn--bcher-kva.example \"a\\x20b\"@x.example c@x.example\n"
        "end 4\n";
    struct source_records *r = records("ldap://h a", v, N(v));
    struct diag *d = diag_new();
    char path[128], *text;
    size_t len;

    make_tmpdir();
    snprintf(path, sizeof(path), "%s/s", tmpdir);
    ck_assert_int_eq(snapshot_write(r, path, d), 0);
    text = slurp(path, &len);
    ck_assert_str_eq(text, want);
    free(text);
    remove_tmpdir();
    diag_free(d);
    source_records_free(r);
}
END_TEST

/* ---- refused snapshots ----------------------------------------------------- */

#define HEAD "hosted-milter-snapshot 1 source=src\n"

static const struct {
    const char *text;
    size_t len; /* 0: strlen */
    const char *diags[MAX_DIAGS];
} read_rows[] = {
    {"", 0, {"snap:1: empty file: not a snapshot"}},
    {"hosted-milter-snapshot 1 source=src",
     0,
     {"snap:1: the first line has no newline: the file is cut short"}},
    {HEAD, 0, {"snap:2: no end line: the file is cut short"}},
    {HEAD "mailbox cn=a a@x.example\n", 0, {"snap:3: no end line: the file is cut short"}},
    {HEAD "mailbox cn=a a@x.example\nend 1",
     0,
     {"snap:3: the last line has no newline: the file is cut short"}},
    {HEAD "mailbox cn=a a@x.exa",
     0,
     {"snap:2: the last line has no newline: the file is cut short"}},
    {"hosted-milter-snapshot 2 source=src\nend 0\n",
     0,
     {"snap:1: snapshot version \"2\" is not supported (this reads version 1)"}},
    {"hosted-milter-snapshot\nend 0\n",
     0,
     {"snap:1: snapshot version \"\" is not supported (this reads version 1)"}},
    {"hosted-milter-snapshot 01 source=src\nend 0\n",
     0,
     {"snap:1: snapshot version \"01\" is not supported (this reads version 1)"}},
    {"Hosted-milter-snapshot 1 source=src\nend 0\n",
     0,
     {"snap:1: not a hosted-milter snapshot (the first line is not \"hosted-milter-snapshot "
      "...\")"}},
    {"\x1f\x8b\x08\n",
     0,
     {"snap:1: not a hosted-milter snapshot (the first line is not \"hosted-milter-snapshot "
      "...\")"}},
    {"hosted-milter-snapshot 1 source=other\nend 0\n",
     0,
     {"snap:1: snapshot of source \"other\", not of \"src\""}},
    {"hosted-milter-snapshot 1 source=src x\nend 0\n",
     0,
     {"snap:1: malformed first line: \"source=NAME\" must follow the version, and nothing else"}},
    {"hosted-milter-snapshot 1 name=src\nend 0\n",
     0,
     {"snap:1: malformed first line: \"source=NAME\" must follow the version, and nothing else"}},
    {HEAD "mailbox cn=a\\x2 a@x.example\nend 1\n",
     0,
     {"snap:2: malformed escape (\\x and two lower-case hex digits) in field 2"}},
    {HEAD "mailbox cn=a\\x0A a@x.example\nend 1\n",
     0,
     {"snap:2: malformed escape (\\x and two lower-case hex digits) in field 2"}},
    {HEAD "mailbox cn=a\\n a@x.example\nend 1\n",
     0,
     {"snap:2: malformed escape (\\x and two lower-case hex digits) in field 2"}},
    {HEAD "mailbox cn=\\x41 a@x.example\nend 1\n",
     0,
     {"snap:2: escape of a byte that stands for itself in field 2"}},
    {HEAD "mailbox cn=a\ta@x.example\nend 1\n", 0, {"snap:2: unescaped control byte in field 2"}},
    {HEAD "mailbox cn=a a@x.example\r\nend 1\n", 0, {"snap:2: unescaped control byte in field 3"}},
    {HEAD "mailbox cn=a  a@x.example\nend 1\n", 0, {"snap:2: empty field in field 3"}},
    {HEAD "mailbox cn=a a@x.example \nend 1\n", 0, {"snap:2: empty field in field 4"}},
    {HEAD "\nend 1\n", 0, {"snap:2: empty field in field 1"}},
    {HEAD "mailboxes cn=a a@x.example\nend 1\n", 0, {"snap:2: unknown record type \"mailboxes\""}},
    {HEAD "mailbox cn=a\nend 1\n", 0, {"snap:2: a mailbox line needs an origin and a value"}},
    {HEAD "mailbox cn=a x@\nend 1\n",
     0,
     {"snap:2: cn=a: invalid primary address \"x@\": malformed domain"}},
    {HEAD "mailbox cn=a\\x00b a@x.example\nend 1\n", 0, {"snap:2: NUL byte in the origin"}},
    {HEAD "mailbox cn=a a\\x00@x.example\nend 1\n",
     0,
     {"snap:2: cn=a: invalid primary address \"a\\x00@x.example\": control character in address"}},
    {HEAD "mailbox cn=a a@x.example b@x.example\nend 1\n",
     0,
     {"snap:2: cn=a: mailbox \"a@x.example\" takes no target, not 1"}},
    {HEAD "mailbox cn=a a@x.example\nend 2\n",
     0,
     {"snap:3: the end line counts 2 records, the file holds 1: it is not whole"}},
    {HEAD "mailbox cn=a a@x.example\nend 01\n",
     0,
     {"snap:3: malformed end line: \"end COUNT\" expected"}},
    {HEAD "end\n", 0, {"snap:2: malformed end line: \"end COUNT\" expected"}},
    {HEAD "end 0 0\n", 0, {"snap:2: malformed end line: \"end COUNT\" expected"}},
    {HEAD "end 99999999999999999999\n", 0, {"snap:2: malformed end line: \"end COUNT\" expected"}},
    {HEAD "end 0\nmailbox cn=a a@x.example\n", 0, {"snap:3: text after the end line"}},
    {HEAD "end 0\n\n", 0, {"snap:3: text after the end line"}},
    /* every bad line is said, each at its own line */
    {HEAD "mailbox cn=a x@\nmailbox cn=b b@x.example\nalias cn=c c@x.example\nbogus\nend 4\n",
     0,
     {"snap:2: cn=a: invalid primary address \"x@\": malformed domain",
      "snap:4: cn=c: alias \"c@x.example\" needs at least one target",
      "snap:5: unknown record type \"bogus\""}},
    /* a NUL byte raw in the file */
    {HEAD "mailbox cn=a a\0@x.example\nend 1\n",
     sizeof(HEAD) + 32,
     {"snap:2: unescaped control byte in field 3"}},
};

START_TEST(test_read_refused)
{
    static const struct rec keep = {SOURCE_DOMAIN, "before", "kept.example", {NULL}, 0};
    struct source_records *r = records("src", &keep, 1);
    struct diag *d = diag_new();
    size_t len = read_rows[_i].len ? read_rows[_i].len - 1 : strlen(read_rows[_i].text);

    ck_assert_int_eq(snapshot_read_buffer("snap", read_rows[_i].text, len, r, d), -1);
    expect_diags(d, read_rows[_i].diags);
    /* nothing of a refused file stays */
    ck_assert_uint_eq(source_records_count(r), 1);
    ck_assert_str_eq(source_records_at(r, 0)->key, "kept.example");
    diag_free(d);
    source_records_free(r);
}
END_TEST

START_TEST(test_read_good)
{
    static const char text[] = HEAD "domain d x.example\n"
                                    "mailbox cn=a A@X.Example.\n"
                                    "secondary cn=a b@x.example A@x.example\n"
                                    "end 3\n";
    struct source_records *r = source_records_new("src");
    struct diag *d = diag_new();

    ck_assert_int_eq(snapshot_read_buffer("snap", text, strlen(text), r, d), 0);
    ck_assert_uint_eq(diag_size(d), 0);
    ck_assert_uint_eq(source_records_count(r), 3);
    ck_assert_str_eq(source_records_at(r, 1)->key, "A@x.example");
    ck_assert_str_eq(source_records_at(r, 2)->targets[0], "A@x.example");
    diag_free(d);
    source_records_free(r);
}
END_TEST

START_TEST(test_read_too_many_errors)
{
    struct util_buf b = {0};
    struct source_records *r = source_records_new("src");
    struct diag *d = diag_new();

    ck_assert_int_eq(util_buf_append(&b, HEAD, strlen(HEAD)), 0);
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(util_buf_append(&b, "x\n", 2), 0);
    ck_assert_int_eq(snapshot_read_buffer("snap", b.p, b.len, r, d), -1);
    ck_assert_uint_eq(diag_size(d), 51);
    ck_assert_str_eq(diag_text(d, 50), "snap:52: too many errors: the rest is not read");
    util_buf_free(&b);
    diag_free(d);
    source_records_free(r);
}
END_TEST

START_TEST(test_read_missing)
{
    struct source_records *r = source_records_new("src");
    struct diag *d = diag_new();

    ck_assert_int_eq(snapshot_read("/nonexistent/hm.snapshot", r, d), -1);
    ck_assert_str_eq(diag_text(d, 0), "/nonexistent/hm.snapshot: cannot open: No such file or "
                                      "directory");
    diag_free(d);
    source_records_free(r);
}
END_TEST

/* ---- atomic replacement ------------------------------------------------------ */

static const struct rec small[] = {{SOURCE_DOMAIN, "d", "corp.example", {NULL}, 0}};

/* write_old - a good snapshot of small at path; returns its text. */
static char *write_old(const char *path, size_t *len)
{
    struct source_records *r = records("src", small, 1);
    struct diag *d = diag_new();

    ck_assert_int_eq(snapshot_write(r, path, d), 0);
    diag_free(d);
    source_records_free(r);
    return slurp(path, len);
}

/* What a failed write must leave: the old text at path, no temporary file
 * (want_entries in the directory), one error naming path. */
static void expect_failed(const char *path, const char *old, size_t oldlen, int want_entries,
                          const struct diag *d, const char *message)
{
    char *now;
    size_t len;

    ck_assert_uint_eq(diag_size(d), 1);
    ck_assert_str_eq(diag_text(d, 0), message);
    if (old != NULL) {
        now = slurp(path, &len);
        ck_assert_uint_eq(len, oldlen);
        ck_assert_mem_eq(now, old, len);
        free(now);
    }
    ck_assert_int_eq(dir_entries(tmpdir), want_entries);
}

START_TEST(test_write_fails_file_too_large)
{
    struct source_records *r = records("ldap://h", corp, N(corp));
    struct diag *d = diag_new();
    struct rlimit was, lim;
    char path[128], want[256], *old;
    size_t oldlen;

    make_tmpdir();
    snprintf(path, sizeof(path), "%s/s", tmpdir);
    old = write_old(path, &oldlen);
    /* a file system that fills up: writes past 100 bytes fail (EFBIG) */
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &was), 0);
    lim = was;
    lim.rlim_cur = 100;
    signal(SIGXFSZ, SIG_IGN);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    ck_assert_int_eq(snapshot_write(r, path, d), -1);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &was), 0);
    signal(SIGXFSZ, SIG_DFL);
    snprintf(want, sizeof(want), "%s: cannot write a temporary file: %s", path, strerror(EFBIG));
    expect_failed(path, old, oldlen, 1, d, want);
    free(old);
    remove_tmpdir();
    diag_free(d);
    source_records_free(r);
}
END_TEST

START_TEST(test_write_fails_missing_dir)
{
    struct source_records *r = records("src", small, 1);
    struct diag *d = diag_new();
    char path[128], want[256];

    make_tmpdir();
    snprintf(path, sizeof(path), "%s/missing/s", tmpdir);
    ck_assert_int_eq(snapshot_write(r, path, d), -1);
    snprintf(want, sizeof(want), "%s: cannot create a temporary file: No such file or directory",
             path);
    expect_failed(path, NULL, 0, 0, d, want);
    remove_tmpdir();
    diag_free(d);
    source_records_free(r);
}
END_TEST

/* path names a directory: the rename fails, the directory stays. */
START_TEST(test_write_fails_rename)
{
    struct source_records *r = records("src", small, 1);
    struct diag *d = diag_new();
    char path[128], want[256];

    make_tmpdir();
    snprintf(path, sizeof(path), "%s/s", tmpdir);
    ck_assert_int_eq(mkdir(path, 0700), 0);
    ck_assert_int_eq(snapshot_write(r, path, d), -1);
    snprintf(want, sizeof(want), "%s: cannot replace the old file: %s", path, strerror(EISDIR));
    expect_failed(path, NULL, 0, 1, d, want);
    remove_tmpdir();
    diag_free(d);
    source_records_free(r);
}
END_TEST

/* A read-only directory (root writes anyway: then nothing to test). */
START_TEST(test_write_fails_read_only_dir)
{
    struct source_records *r = records("src", corp, N(corp));
    struct diag *d = diag_new();
    char path[128], want[256], *old;
    size_t oldlen;

    make_tmpdir();
    snprintf(path, sizeof(path), "%s/s", tmpdir);
    old = write_old(path, &oldlen);
    ck_assert_int_eq(chmod(tmpdir, 0500), 0);
    if (geteuid() != 0) {
        ck_assert_int_eq(snapshot_write(r, path, d), -1);
        snprintf(want, sizeof(want), "%s: cannot create a temporary file: Permission denied", path);
        expect_failed(path, old, oldlen, 1, d, want);
    }
    free(old);
    remove_tmpdir();
    diag_free(d);
    source_records_free(r);
}
END_TEST

/* The mode is 0640 whatever the umask, and a write replaces the file. */
START_TEST(test_write_mode_and_replace)
{
    struct source_records *r = records("src", corp, N(corp));
    struct diag *d = diag_new();
    char path[128], *old, *now;
    size_t oldlen, len;
    struct stat st;
    mode_t mask = umask(0077);

    make_tmpdir();
    snprintf(path, sizeof(path), "%s/s", tmpdir);
    old = write_old(path, &oldlen);
    ck_assert_int_eq(chmod(path, 0600), 0);
    ck_assert_int_eq(snapshot_write(r, path, d), 0);
    umask(mask);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 07777, 0640);
    now = slurp(path, &len);
    ck_assert_uint_gt(len, oldlen);
    ck_assert_int_eq(dir_entries(tmpdir), 1);
    free(old);
    free(now);
    remove_tmpdir();
    diag_free(d);
    source_records_free(r);
}
END_TEST

static Suite *snapshot_suite(void)
{
    Suite *s = suite_create("snapshot");
    TCase *tc;

    tc = tcase_create("round_trip");
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_format);
    suite_add_tcase(s, tc);
    tc = tcase_create("read");
    tcase_add_loop_test(tc, test_read_refused, 0, N(read_rows));
    tcase_add_test(tc, test_read_good);
    tcase_add_test(tc, test_read_too_many_errors);
    tcase_add_test(tc, test_read_missing);
    suite_add_tcase(s, tc);
    tc = tcase_create("atomic");
    tcase_add_test(tc, test_write_fails_file_too_large);
    tcase_add_test(tc, test_write_fails_missing_dir);
    tcase_add_test(tc, test_write_fails_rename);
    tcase_add_test(tc, test_write_fails_read_only_dir);
    tcase_add_test(tc, test_write_mode_and_replace);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(snapshot_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
