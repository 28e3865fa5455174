/*
 * check_diag.c - unit tests of diag.c: message formatting, levels, counts,
 * order, and the loss of a message (never of its count) when memory fails.
 * Links with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc (see
 * CMakeLists.txt) so that a test can make the next allocation fail.
 */
#include <check.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "diag.h"

/* Allocation failure injection: when fail_in is n > 0, the n-th
 * allocation from now fails.  Test-only state; each test runs alone. */
static int fail_in;

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);

static int should_fail(void)
{
    return fail_in > 0 && --fail_in == 0;
}

void *__wrap_malloc(size_t size)
{
    return should_fail() ? NULL : __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return should_fail() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size)
{
    return should_fail() ? NULL : __real_realloc(p, size);
}

struct format_case {
    enum diag_level level;
    const char *file;
    unsigned line;
    const char *want;
};

static const struct format_case format_cases[] = {
    {DIAG_ERROR, "a.conf", 12, "a.conf:12: bad thing"},
    {DIAG_WARNING, "a.conf", 12, "a.conf:12: warning: bad thing"},
    {DIAG_ERROR, "a.conf", 0, "a.conf: bad thing"},
    {DIAG_WARNING, "a.conf", 0, "a.conf: warning: bad thing"},
    {DIAG_ERROR, NULL, 7, "bad thing"},
    {DIAG_ERROR, NULL, 0, "bad thing"},
    {DIAG_WARNING, NULL, 7, "warning: bad thing"},
    {DIAG_WARNING, NULL, 0, "warning: bad thing"},
    {DIAG_ERROR, "/etc/hosted-milter/virtual", UINT_MAX,
     "/etc/hosted-milter/virtual:4294967295: bad thing"},
    {DIAG_ERROR, "", 3, ":3: bad thing"},
    {(enum diag_level)7, "f", 1, "f:1: bad thing"},
};

START_TEST(test_format)
{
    const struct format_case *c = &format_cases[_i];
    struct diag *d = diag_new();

    ck_assert_ptr_nonnull(d);
    diag_add(d, c->level, c->file, c->line, "%s %s", "bad", "thing");
    ck_assert_uint_eq(diag_size(d), 1);
    ck_assert_str_eq(diag_text(d, 0), c->want);
    ck_assert_int_eq(diag_level_at(d, 0), c->level == DIAG_WARNING ? DIAG_WARNING : DIAG_ERROR);
    ck_assert_uint_eq(diag_count(d, DIAG_ERROR), c->level == DIAG_WARNING ? 0 : 1);
    ck_assert_uint_eq(diag_count(d, DIAG_WARNING), c->level == DIAG_WARNING ? 1 : 0);
    diag_free(d);
}
END_TEST

START_TEST(test_format_arguments)
{
    struct diag *d = diag_new();
    char file[300], big[5001];
    const char *text;

    ck_assert_ptr_nonnull(d);
    diag_add(d, DIAG_ERROR, "x.conf", 3, "option '%s' needs %d value%s, got %u", "to", 1, "", 2u);
    ck_assert_str_eq(diag_text(d, 0), "x.conf:3: option 'to' needs 1 value, got 2");
    /* a message with no conversions, and a literal percent */
    diag_add(d, DIAG_WARNING, NULL, 0, "100%% plain");
    ck_assert_str_eq(diag_text(d, 1), "warning: 100% plain");
    /* long file name and long text are copied whole */
    memset(file, 'f', sizeof(file) - 1);
    file[sizeof(file) - 1] = '\0';
    memset(big, 'b', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    diag_add(d, DIAG_ERROR, file, 42, "%s", big);
    text = diag_text(d, 2);
    ck_assert_uint_eq(strlen(text), strlen(file) + strlen(":42: ") + strlen(big));
    ck_assert_int_eq(strncmp(text, file, strlen(file)), 0);
    ck_assert_int_eq(strncmp(text + strlen(file), ":42: ", 5), 0);
    ck_assert_str_eq(text + strlen(file) + 5, big);
    diag_free(d);
}
END_TEST

/* diag_add_loc and diag_vadd_loc: the same message as diag_add. */
static void vadd(struct diag *d, struct diag_loc at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void vadd(struct diag *d, struct diag_loc at, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    diag_vadd_loc(d, DIAG_WARNING, at, fmt, ap);
    va_end(ap);
}

START_TEST(test_format_loc)
{
    const struct format_case *c = &format_cases[_i];
    struct diag *d = diag_new();

    ck_assert_ptr_nonnull(d);
    diag_add_loc(d, c->level, (struct diag_loc){c->file, c->line}, "%s %s", "bad", "thing");
    ck_assert_uint_eq(diag_size(d), 1);
    ck_assert_str_eq(diag_text(d, 0), c->want);
    ck_assert_int_eq(diag_level_at(d, 0), c->level == DIAG_WARNING ? DIAG_WARNING : DIAG_ERROR);
    vadd(d, (struct diag_loc){"v.conf", 2}, "%d %s", 3, "things");
    ck_assert_str_eq(diag_text(d, 1), "v.conf:2: warning: 3 things");
    ck_assert_uint_eq(diag_count(d, DIAG_WARNING), c->level == DIAG_WARNING ? 2 : 1);
    diag_free(d);
}
END_TEST

/* One message, one line: control bytes from a value are escaped, so that
 * every line of output begins with its place. */
static const struct {
    const char *file, *text, *want;
} escape_cases[] = {
    {"a.conf", "domain \"a\nb\": bad", "a.conf:4: domain \"a\\nb\": bad"},
    {"a.conf", "cr\r tab\t", "a.conf:4: cr\\r tab\\t"},
    {"a.conf", "nul-free \x01 and \x7f", "a.conf:4: nul-free \\x01 and \\x7f"},
    {"a.conf", "caf\xc3\xa9 stays", "a.conf:4: caf\xc3\xa9 stays"},
    {"a.conf", "back\\slash stays", "a.conf:4: back\\slash stays"},
    {"new\nline.conf", "x", "new\\nline.conf:4: x"},
    {"a.conf", "\n", "a.conf:4: \\n"},
};

START_TEST(test_escape)
{
    struct diag *d = diag_new();

    ck_assert_ptr_nonnull(d);
    diag_add(d, DIAG_ERROR, escape_cases[_i].file, 4, "%s", escape_cases[_i].text);
    ck_assert_uint_eq(diag_size(d), 1);
    ck_assert_str_eq(diag_text(d, 0), escape_cases[_i].want);
    diag_free(d);
}
END_TEST

/* Escaping needs a second allocation; when it fails the message is lost,
 * its count is not. */
START_TEST(test_escape_out_of_memory)
{
    struct diag *d = diag_new();

    ck_assert_ptr_nonnull(d);
    fail_in = 2; /* the formatted text succeeds, its escaped copy fails */
    diag_add(d, DIAG_ERROR, "a.conf", 1, "two\nlines");
    fail_in = 0;
    ck_assert_uint_eq(diag_count(d, DIAG_ERROR), 1);
    ck_assert_uint_eq(diag_size(d), 0);
    diag_add(d, DIAG_ERROR, "a.conf", 2, "two\nlines");
    ck_assert_str_eq(diag_text(d, 0), "a.conf:2: two\\nlines");
    diag_free(d);
}
END_TEST

START_TEST(test_copies)
{
    struct diag *d = diag_new();
    char file[16] = "a.conf", word[16] = "first";

    ck_assert_ptr_nonnull(d);
    diag_add(d, DIAG_ERROR, file, 1, "%s", word);
    strcpy(file, "changed");
    strcpy(word, "changed");
    ck_assert_str_eq(diag_text(d, 0), "a.conf:1: first");
    diag_free(d);
}
END_TEST

START_TEST(test_order_and_counts)
{
    struct diag *d = diag_new();
    size_t errors = 0, warnings = 0;

    ck_assert_ptr_nonnull(d);
    ck_assert_uint_eq(diag_size(d), 0);
    ck_assert_uint_eq(diag_count(d, DIAG_ERROR), 0);
    ck_assert_uint_eq(diag_count(d, DIAG_WARNING), 0);
    /* enough to grow the array several times */
    for (unsigned i = 0; i < 100; i++) {
        enum diag_level level = i % 3 == 0 ? DIAG_WARNING : DIAG_ERROR;
        diag_add(d, level, "f", i + 1, "message %u", i);
        if (level == DIAG_WARNING)
            warnings++;
        else
            errors++;
    }
    ck_assert_uint_eq(diag_size(d), 100);
    ck_assert_uint_eq(diag_count(d, DIAG_ERROR), errors);
    ck_assert_uint_eq(diag_count(d, DIAG_WARNING), warnings);
    for (unsigned i = 0; i < 100; i++) {
        char want[64];
        int warn = i % 3 == 0;
        snprintf(want, sizeof(want), "f:%u: %smessage %u", i + 1, warn ? "warning: " : "", i);
        ck_assert_str_eq(diag_text(d, i), want);
        ck_assert_int_eq(diag_level_at(d, i), warn ? DIAG_WARNING : DIAG_ERROR);
    }
    /* out of range */
    ck_assert_ptr_null(diag_text(d, 100));
    ck_assert_ptr_null(diag_text(d, (size_t)-1));
    ck_assert_int_eq(diag_level_at(d, 100), DIAG_ERROR);
    diag_free(d);
}
END_TEST

START_TEST(test_null_list)
{
    diag_free(NULL);
    diag_add(NULL, DIAG_ERROR, "f", 1, "lost");
    ck_assert_uint_eq(diag_count(NULL, DIAG_ERROR), 0);
    ck_assert_uint_eq(diag_count(NULL, DIAG_WARNING), 0);
    ck_assert_uint_eq(diag_size(NULL), 0);
    ck_assert_ptr_null(diag_text(NULL, 0));
    ck_assert_int_eq(diag_level_at(NULL, 0), DIAG_ERROR);
}
END_TEST

START_TEST(test_new_out_of_memory)
{
    fail_in = 1;
    ck_assert_ptr_null(diag_new());
    ck_assert_int_eq(fail_in, 0);
    struct diag *d = diag_new();
    ck_assert_ptr_nonnull(d);
    diag_free(d);
}
END_TEST

START_TEST(test_text_out_of_memory)
{
    struct diag *d = diag_new();

    ck_assert_ptr_nonnull(d);
    diag_add(d, DIAG_ERROR, "f", 1, "kept");
    fail_in = 1; /* the message text */
    diag_add(d, DIAG_ERROR, "f", 2, "lost");
    ck_assert_int_eq(fail_in, 0);
    fail_in = 1;
    diag_add(d, DIAG_WARNING, "f", 3, "lost too");
    ck_assert_int_eq(fail_in, 0);
    ck_assert_uint_eq(diag_count(d, DIAG_ERROR), 2);
    ck_assert_uint_eq(diag_count(d, DIAG_WARNING), 1);
    ck_assert_uint_eq(diag_size(d), 1);
    diag_add(d, DIAG_ERROR, "f", 4, "kept again");
    ck_assert_uint_eq(diag_size(d), 2);
    ck_assert_str_eq(diag_text(d, 1), "f:4: kept again");
    ck_assert_uint_eq(diag_count(d, DIAG_ERROR), 3);
    diag_free(d);
}
END_TEST

START_TEST(test_array_out_of_memory)
{
    struct diag *d = diag_new();

    ck_assert_ptr_nonnull(d);
    /* the first add allocates the text, then the array */
    fail_in = 2;
    diag_add(d, DIAG_ERROR, "f", 1, "lost");
    ck_assert_int_eq(fail_in, 0);
    ck_assert_uint_eq(diag_size(d), 0);
    ck_assert_uint_eq(diag_count(d, DIAG_ERROR), 1);
    /* fill the first array (util_grow's first capacity, 16), then fail
     * its growth */
    for (unsigned i = 0; i < 16; i++)
        diag_add(d, DIAG_WARNING, NULL, 0, "w%u", i);
    ck_assert_uint_eq(diag_size(d), 16);
    fail_in = 2;
    diag_add(d, DIAG_ERROR, "f", 2, "lost");
    ck_assert_int_eq(fail_in, 0);
    ck_assert_uint_eq(diag_size(d), 16);
    ck_assert_uint_eq(diag_count(d, DIAG_ERROR), 2);
    ck_assert_uint_eq(diag_count(d, DIAG_WARNING), 16);
    /* the list is intact and grows on the next try */
    diag_add(d, DIAG_ERROR, "f", 3, "kept");
    ck_assert_uint_eq(diag_size(d), 17);
    ck_assert_str_eq(diag_text(d, 15), "warning: w15");
    ck_assert_str_eq(diag_text(d, 16), "f:3: kept");
    diag_free(d);
}
END_TEST

START_TEST(test_unformattable)
{
    struct diag *d = diag_new();
    /* not representable in the C locale: vsnprintf fails with EILSEQ */
    static const wchar_t wide[] = {0x100, 0};

    ck_assert_ptr_nonnull(d);
    diag_add(d, DIAG_ERROR, "f", 1, "bad %ls", wide);
    ck_assert_uint_eq(diag_count(d, DIAG_ERROR), 1);
    ck_assert_uint_eq(diag_size(d), 0);
    diag_add(d, DIAG_WARNING, "f", 2, "%ls", wide);
    ck_assert_uint_eq(diag_count(d, DIAG_WARNING), 1);
    ck_assert_uint_eq(diag_size(d), 0);
    diag_free(d);
}
END_TEST

#define N(table) ((int)(sizeof(table) / sizeof(*(table))))

static Suite *diag_suite(void)
{
    Suite *s = suite_create("diag");
    TCase *tc;

    tc = tcase_create("format");
    tcase_add_loop_test(tc, test_format, 0, N(format_cases));
    tcase_add_loop_test(tc, test_format_loc, 0, N(format_cases));
    tcase_add_test(tc, test_format_arguments);
    tcase_add_test(tc, test_copies);
    tcase_add_loop_test(tc, test_escape, 0, N(escape_cases));
    suite_add_tcase(s, tc);
    tc = tcase_create("order_and_counts");
    tcase_add_test(tc, test_order_and_counts);
    suite_add_tcase(s, tc);
    tc = tcase_create("null_list");
    tcase_add_test(tc, test_null_list);
    suite_add_tcase(s, tc);
    tc = tcase_create("out_of_memory");
    tcase_add_test(tc, test_new_out_of_memory);
    tcase_add_test(tc, test_text_out_of_memory);
    tcase_add_test(tc, test_array_out_of_memory);
    tcase_add_test(tc, test_unformattable);
    tcase_add_test(tc, test_escape_out_of_memory);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(diag_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
