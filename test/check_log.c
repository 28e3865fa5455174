/*
 * check_log.c - unit tests of log.c: the escaping of bytes from the wire,
 * the level threshold, and the stderr line format.
 */
#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* ---- log_escape: a mapping from bytes (and a buffer size) to text ---- */

struct escape_case {
    const char *in;
    size_t len;
    size_t dstsz;
    const char *out;
};

#define BIG 256
static const struct escape_case escape_cases[] = {
    {"", 0, BIG, ""},
    {"alice@example.org", 17, BIG, "alice@example.org"},
    {"<a@b>", 5, BIG, "<a@b>"},
    {"a\r\nb", 4, BIG, "a\\r\\nb"},
    {"a\tb", 3, BIG, "a\\tb"},
    {"a\0b", 3, BIG, "a\\x00b"},                 /* NUL inside: len counts */
    {"\x01\x1f\x7f", 3, BIG, "\\x01\\x1f\\x7f"}, /* other control bytes, DEL */
    {"back\\slash", 10, BIG, "back\\x5cslash"},
    {"\x80\xe9\xff", 3, BIG, "\\x80\\xe9\\xff"}, /* 8-bit */
    {"100%", 4, BIG, "100%"},                    /* printable stays */
    {"abc", 2, BIG, "ab"},                       /* only len bytes read */
    /* exact fit: 5 bytes + NUL */
    {"abcde", 5, 6, "abcde"},
    /* one short: truncated, marked, as much as fits with the mark */
    {"abcdef", 6, 6, "ab..."},
    /* an escape is never cut in half */
    {"a\x01z", 3, 6, "a..."},
    {"a\x01z", 3, 7, "a\\x01z"},
    {"a\x01zzzz", 6, 8, "a..."},
    {"a\x01zzzz", 6, 9, "a\\x01..."},
    /* room for the mark only, then not even that */
    {"abcdef", 6, 4, "..."},
    {"abcdef", 6, 3, ""},
    {"abcdef", 6, 1, ""},
};

START_TEST(test_escape)
{
    const struct escape_case *c = &escape_cases[_i];
    char buf[BIG];
    size_t n;

    memset(buf, 'X', sizeof buf);
    n = log_escape(buf, c->dstsz, c->in, c->len);
    ck_assert_str_eq(buf, c->out);
    ck_assert_uint_eq(n, strlen(c->out));
    ck_assert_uint_lt(n, c->dstsz);
}
END_TEST

START_TEST(test_escape_zero_size)
{
    char buf[4] = "XYZ";

    ck_assert_uint_eq(log_escape(buf, 0, "abc", 3), 0);
    ck_assert_str_eq(buf, "XYZ"); /* untouched */
    ck_assert_uint_eq(log_escape(buf, sizeof buf, NULL, 0), 0);
    ck_assert_str_eq(buf, "");
}
END_TEST

START_TEST(test_escape_size_macro)
{
    char src[256], dst[LOG_ESCAPE_SIZE(256)];

    for (int i = 0; i < 256; i++)
        src[i] = (char)(0x80 + (i % 128)); /* all worst case: \xHH */
    ck_assert_uint_eq(log_escape(dst, sizeof dst, src, sizeof src), 4 * 256);
    ck_assert_ptr_null(strstr(dst, "..."));
}
END_TEST

/* ---- levels ---- */

START_TEST(test_levels)
{
    log_set_level(LOG_LEVEL_WARNING);
    ck_assert_int_eq(log_get_level(), LOG_LEVEL_WARNING);
    ck_assert(log_enabled(LOG_LEVEL_ERR));
    ck_assert(log_enabled(LOG_LEVEL_WARNING));
    ck_assert(!log_enabled(LOG_LEVEL_INFO));
    ck_assert(!log_enabled(LOG_LEVEL_DEBUG));
    log_set_level((enum log_level)99); /* clamped */
    ck_assert_int_eq(log_get_level(), LOG_LEVEL_DEBUG);
}
END_TEST

/* ---- the stderr format: "date time level: text", filtered by level ---- */

static char *capture_stderr(void (*emit)(void))
{
    char path[] = "/tmp/check_log.XXXXXX";
    int fd = mkstemp(path), saved = dup(STDERR_FILENO);
    static char text[4096];
    FILE *f;
    size_t n;

    ck_assert_int_ge(fd, 0);
    ck_assert_int_ge(saved, 0);
    fflush(stderr);
    dup2(fd, STDERR_FILENO);
    emit();
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    f = fdopen(fd, "r");
    ck_assert_ptr_nonnull(f);
    rewind(f);
    n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    unlink(path);
    return text;
}

static void emit_lines(void)
{
    log_open("check_log", true, LOG_LEVEL_INFO);
    log_err("e %d", 1);
    log_warning("w %s", "two");
    log_notice("n");
    log_info("i");
    log_debug("d-hidden");
    log_set_level(LOG_LEVEL_DEBUG);
    log_debug("d-shown");
    log_close();
}

START_TEST(test_stderr_format)
{
    const char *t = capture_stderr(emit_lines);
    int year, mon, day, h, m, s;
    char level[16], rest[64];

    ck_assert_int_eq(sscanf(t, "%d-%d-%d %d:%d:%d %15[a-z]: %63[^\n]", &year, &mon, &day, &h, &m,
                            &s, level, rest),
                     8);
    ck_assert_str_eq(level, "error");
    ck_assert_str_eq(rest, "e 1");
    ck_assert_ptr_nonnull(strstr(t, " warning: w two\n"));
    ck_assert_ptr_nonnull(strstr(t, " notice: n\n"));
    ck_assert_ptr_nonnull(strstr(t, " info: i\n"));
    ck_assert_ptr_null(strstr(t, "d-hidden"));
    ck_assert_ptr_nonnull(strstr(t, " debug: d-shown\n"));
}
END_TEST

/* ---- one write per line: whole lines from many threads, long ones cut ---- */

#define THREADS 4
#define LINES_PER_THREAD 300
#define FILL 1500

/* emit() with stderr on a temp file; the file's text (malloc'd). */
static char *capture_all(void (*emit)(void))
{
    char path[] = "/tmp/check_log.XXXXXX";
    int fd = mkstemp(path), saved = dup(STDERR_FILENO);
    off_t size;
    char *text;

    ck_assert_int_ge(fd, 0);
    ck_assert_int_ge(saved, 0);
    dup2(fd, STDERR_FILENO);
    emit();
    dup2(saved, STDERR_FILENO);
    close(saved);
    size = lseek(fd, 0, SEEK_END);
    ck_assert_int_ge(size, 0);
    text = malloc((size_t)size + 1);
    ck_assert_ptr_nonnull(text);
    ck_assert_int_eq(pread(fd, text, (size_t)size, 0), size);
    text[size] = '\0';
    close(fd);
    unlink(path);
    return text;
}

static void *log_many(void *arg)
{
    char fill[FILL + 1];
    int t = (int)(intptr_t)arg;

    memset(fill, 'x', FILL);
    fill[FILL] = '\0';
    for (int i = 0; i < LINES_PER_THREAD; i++)
        log_info("t%d n%d %s end", t, i, fill);
    return NULL;
}

static void emit_threads(void)
{
    pthread_t th[THREADS];

    log_open("check_log", true, LOG_LEVEL_INFO);
    for (int t = 0; t < THREADS; t++)
        ck_assert_int_eq(pthread_create(&th[t], NULL, log_many, (void *)(intptr_t)t), 0);
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    log_close();
}

START_TEST(test_stderr_threads_whole_lines)
{
    char *text = capture_all(emit_threads), *line, *save = NULL;
    int seen[THREADS] = {0}, lines = 0;

    for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        int t, n, len;
        const char *body = strstr(line, " info: ");

        ck_assert_ptr_nonnull(body);
        ck_assert_int_eq(sscanf(body, " info: t%d n%d %n", &t, &n, &len), 2);
        ck_assert(t >= 0 && t < THREADS);
        ck_assert_int_eq(n, seen[t]); /* in order, none lost or torn */
        ck_assert_int_eq(strspn(body + len, "x"), FILL);
        ck_assert_str_eq(body + len + FILL, " end");
        seen[t]++;
        lines++;
    }
    ck_assert_int_eq(lines, THREADS * LINES_PER_THREAD);
    free(text);
}
END_TEST

static void emit_long(void)
{
    static char big[5000];

    memset(big, 'y', sizeof big - 1);
    log_open("check_log", true, LOG_LEVEL_INFO);
    log_warning("%s", big);
    log_notice("after");
    log_close();
}

START_TEST(test_stderr_long_line_cut)
{
    char *text = capture_all(emit_long);
    const char *body = strstr(text, " warning: ");

    ck_assert_ptr_nonnull(body);
    body += strlen(" warning: ");
    ck_assert_uint_eq(strspn(body, "y"), 2047); /* 2 KiB with the NUL */
    ck_assert_int_eq(body[2047], '\n');
    ck_assert_ptr_nonnull(strstr(body, " notice: after\n"));
    free(text);
}
END_TEST

static Suite *log_suite(void)
{
    Suite *s = suite_create("log");
    TCase *tc;

    tc = tcase_create("escape");
    tcase_add_loop_test(tc, test_escape, 0, sizeof escape_cases / sizeof escape_cases[0]);
    tcase_add_test(tc, test_escape_zero_size);
    tcase_add_test(tc, test_escape_size_macro);
    suite_add_tcase(s, tc);

    tc = tcase_create("levels");
    tcase_add_test(tc, test_levels);
    suite_add_tcase(s, tc);

    tc = tcase_create("stderr");
    tcase_add_test(tc, test_stderr_format);
    tcase_add_test(tc, test_stderr_threads_whole_lines);
    tcase_add_test(tc, test_stderr_long_line_cut);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(log_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
