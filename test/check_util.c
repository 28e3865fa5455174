/*
 * check_util.c - unit tests of util.c: array growth and its refusals, byte
 * buffers (NULs included), whole-file reads (empty, missing, a directory,
 * larger than one read, a pipe), both escapers (every class of byte,
 * truncation, tiny buffers), the hash and the unix socket helpers (stale
 * socket, a live one, a file that is no socket, a path too long).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util.h"

#define N(table) ((int)(sizeof(table) / sizeof(*(table))))

/* ---- util_grow: (capacity, need, element size) to capacity or refusal -- */

static const struct {
    size_t cap, need, elem;
    int rc;
    size_t want_cap;
} grow_cases[] = {
    {0, 0, 4, 0, 0},     /* nothing needed: nothing allocated */
    {0, 1, 4, 0, 16},    /* from empty: 16 */
    {0, 16, 4, 0, 16},   /* exactly 16 */
    {0, 17, 4, 0, 32},   /* doubled until it fits */
    {0, 100, 1, 0, 128}, /* several doublings at once */
    {16, 16, 8, 0, 16},  /* enough: unchanged */
    {16, 17, 8, 0, 32},
    {3, 4, 2, 0, 6}, /* from any capacity, by doubling */
    {0, SIZE_MAX / 2 + 1, 1, -1, 0},
    {0, SIZE_MAX / 2 / 8 + 1, 8, -1, 0},    /* need * elem would overflow */
    {0, SIZE_MAX, 16, -1, 0},               /* far beyond */
    {0, 1, 0, -1, 0},                       /* no element size */
    {16, SIZE_MAX / 2 / 64 + 1, 64, -1, 16} /* refused: capacity kept */
};

START_TEST(test_grow)
{
    size_t cap = grow_cases[_i].cap;
    void *arr = cap > 0 ? malloc(cap * grow_cases[_i].elem) : NULL;
    void *before = arr;
    int rc = util_grow(&arr, &cap, grow_cases[_i].need, grow_cases[_i].elem);

    ck_assert_int_eq(rc, grow_cases[_i].rc);
    ck_assert_uint_eq(cap, grow_cases[_i].want_cap);
    if (rc < 0 || grow_cases[_i].need <= grow_cases[_i].cap)
        ck_assert_ptr_eq(arr, before); /* untouched */
    if (cap > 0) {
        ck_assert_ptr_nonnull(arr);
        memset(arr, 0xa5, cap * grow_cases[_i].elem); /* all of it is ours */
    }
    free(arr);
}
END_TEST

START_TEST(test_grow_keeps_contents)
{
    int *arr = NULL;
    size_t cap = 0;

    for (int i = 0; i < 1000; i++) {
        ck_assert_int_eq(util_grow((void **)&arr, &cap, (size_t)i + 1, sizeof(*arr)), 0);
        ck_assert_uint_ge(cap, (size_t)i + 1);
        arr[i] = i * 7;
    }
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(arr[i], i * 7);
    ck_assert_uint_eq(cap, 1024);
    free(arr);
}
END_TEST

/* ---- util_buf ------------------------------------------------------------ */

START_TEST(test_buf_append)
{
    struct util_buf b = {0};

    ck_assert_int_eq(util_buf_append(&b, "", 0), 0); /* empty, but a string */
    ck_assert_ptr_nonnull(b.p);
    ck_assert_str_eq(b.p, "");
    ck_assert_uint_eq(b.len, 0);
    ck_assert_int_eq(util_buf_append(&b, "abc", 3), 0);
    ck_assert_int_eq(util_buf_append(&b, "defgh", 2), 0); /* only n bytes */
    ck_assert_str_eq(b.p, "abcde");
    ck_assert_uint_eq(b.len, 5);
    ck_assert_uint_gt(b.size, b.len);
    util_buf_free(&b);
    ck_assert_ptr_null(b.p);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_uint_eq(b.size, 0);
    util_buf_free(&b); /* twice is safe */
}
END_TEST

START_TEST(test_buf_nuls)
{
    static const char bytes[] = {'a', '\0', 'b', '\0', '\0', 'c'};
    struct util_buf b = {0};

    ck_assert_int_eq(util_buf_append(&b, bytes, sizeof(bytes)), 0);
    ck_assert_int_eq(util_buf_append(&b, bytes, sizeof(bytes)), 0);
    ck_assert_uint_eq(b.len, 2 * sizeof(bytes));
    ck_assert_int_eq(memcmp(b.p, bytes, sizeof(bytes)), 0);
    ck_assert_int_eq(memcmp(b.p + sizeof(bytes), bytes, sizeof(bytes)), 0);
    ck_assert_int_eq(b.p[b.len], '\0'); /* terminated after the last byte */
    util_buf_free(&b);
}
END_TEST

START_TEST(test_buf_large)
{
    struct util_buf b = {0};
    char chunk[1000];

    for (size_t i = 0; i < sizeof(chunk); i++)
        chunk[i] = (char)(i % 251);
    for (int i = 0; i < 300; i++)
        ck_assert_int_eq(util_buf_append(&b, chunk, sizeof(chunk)), 0);
    ck_assert_uint_eq(b.len, 300 * sizeof(chunk));
    for (int i = 0; i < 300; i++)
        ck_assert_int_eq(memcmp(b.p + (size_t)i * sizeof(chunk), chunk, sizeof(chunk)), 0);
    util_buf_free(&b);
}
END_TEST

START_TEST(test_buf_reset)
{
    struct util_buf b = {0};
    char *p;
    size_t size;

    util_buf_reset(&b); /* of an empty one: nothing to do */
    ck_assert_ptr_null(b.p);
    ck_assert_int_eq(util_buf_append(&b, "hello", 5), 0);
    p = b.p;
    size = b.size;
    util_buf_reset(&b);
    ck_assert_ptr_eq(b.p, p); /* the allocation is kept */
    ck_assert_uint_eq(b.size, size);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_str_eq(b.p, "");
    ck_assert_int_eq(util_buf_append(&b, "xy", 2), 0);
    ck_assert_str_eq(b.p, "xy");
    util_buf_free(&b);
}
END_TEST

START_TEST(test_buf_overflow)
{
    struct util_buf b = {0};

    ck_assert_int_eq(util_buf_append(&b, "abc", 3), 0);
    /* sizes that cannot be held are refused before any byte is read */
    ck_assert_int_eq(util_buf_append(&b, "x", SIZE_MAX), -1);
    ck_assert_int_eq(util_buf_append(&b, "x", SIZE_MAX / 2), -1);
    ck_assert_int_eq(util_buf_append(&b, "x", SIZE_MAX / 2 - 3), -1);
    ck_assert_str_eq(b.p, "abc"); /* kept what it had */
    ck_assert_uint_eq(b.len, 3);
    util_buf_free(&b);
}
END_TEST

/* ---- util_read_file ------------------------------------------------------ */

static char tmpdir[64];

static void tmpdir_setup(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_util.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void tmpdir_teardown(void)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

/* A file in the test's directory holding n bytes of data; its path. */
static const char *write_file(const char *name, const char *data, size_t n)
{
    static char path[128];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
    return path;
}

START_TEST(test_read_empty)
{
    const char *path = write_file("empty", "", 0), *what = NULL;
    char *out = NULL;
    size_t len = 99;

    ck_assert_int_eq(util_read_file(path, &out, &len, &what), 0);
    ck_assert_ptr_nonnull(out); /* a string, even when empty */
    ck_assert_str_eq(out, "");
    ck_assert_uint_eq(len, 0);
    free(out);
}
END_TEST

START_TEST(test_read_missing)
{
    char path[128], *out = (char *)"untouched";
    const char *what = NULL;
    size_t len = 99;

    snprintf(path, sizeof(path), "%s/no-such-file", tmpdir);
    ck_assert_int_eq(util_read_file(path, &out, &len, &what), ENOENT);
    ck_assert_ptr_null(out);
    ck_assert_uint_eq(len, 0);
    ck_assert_str_eq(what, "cannot open");
}
END_TEST

START_TEST(test_read_directory)
{
    char *out = (char *)"untouched";
    const char *what = NULL;
    size_t len = 99;

    /* opening a directory read-only works; reading it does not */
    ck_assert_int_eq(util_read_file(tmpdir, &out, &len, &what), EISDIR);
    ck_assert_ptr_null(out);
    ck_assert_str_eq(what, "cannot read");
}
END_TEST

/* A file of n bytes (NULs and every byte value among them), read back. */
static void check_round_trip(size_t n)
{
    char *data = malloc(n + 1), *out = NULL;
    const char *path, *what = NULL;
    size_t len = 0;

    ck_assert_ptr_nonnull(data);
    for (size_t i = 0; i < n; i++)
        data[i] = (char)((i * 31 + i / 256) % 256);
    path = write_file("data", data, n);
    ck_assert_int_eq(util_read_file(path, &out, &len, &what), 0);
    ck_assert_uint_eq(len, n);
    ck_assert_int_eq(memcmp(out, data, n), 0);
    ck_assert_int_eq(out[n], '\0');
    free(out);
    free(data);
}

START_TEST(test_read_sizes)
{
    static const size_t sizes[] = {1, 4095, 4096, 4097, 65536, 65537, 300000};

    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        check_round_trip(sizes[i]);
}
END_TEST

/* A pipe has no size: the reader grows its buffer as the data comes. */
struct writer {
    int fd;
    size_t n;
};

static void *write_pipe(void *arg)
{
    struct writer *w = arg;
    char chunk[1000];

    for (size_t i = 0; i < sizeof(chunk); i++)
        chunk[i] = (char)('a' + i % 26);
    for (size_t done = 0; done < w->n;) {
        size_t k = w->n - done < sizeof(chunk) ? w->n - done : sizeof(chunk);
        ssize_t r = write(w->fd, chunk, k);
        if (r <= 0)
            break;
        done += (size_t)r;
    }
    close(w->fd);
    return NULL;
}

START_TEST(test_read_pipe)
{
    int fds[2];
    pthread_t th;
    struct writer w;
    char path[64], *out = NULL;
    const char *what = NULL;
    size_t len = 0;

    ck_assert_int_eq(pipe(fds), 0);
    w.fd = fds[1];
    w.n = 100000; /* far beyond the first 4096 bytes */
    ck_assert_int_eq(pthread_create(&th, NULL, write_pipe, &w), 0);
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[0]);
    ck_assert_int_eq(util_read_file(path, &out, &len, &what), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    close(fds[0]);
    ck_assert_uint_eq(len, w.n);
    for (size_t i = 0; i < len; i++)
        if (out[i] != (char)('a' + (i % 1000) % 26))
            ck_abort_msg("byte %zu: %d", i, out[i]);
    ck_assert_int_eq(out[len], '\0');
    free(out);
}
END_TEST

/* ---- util_escape / util_escape_hex: bytes and a size to text ------------- */

#define BIG 256

static const struct escape_case {
    const char *in;
    size_t len;
    size_t dstsz;
    const char *c_forms; /* util_escape */
    const char *hex;     /* util_escape_hex */
} escape_cases[] = {
    {"", 0, BIG, "", ""},
    {"plain text", 10, BIG, "plain text", "plain text"},
    {" !\"#~", 5, BIG, " !\"#~", " !\"#~"}, /* printable ASCII, space included */
    {"a\rb\nc\td", 7, BIG, "a\\rb\\nc\\td", "a\\x0db\\x0ac\\x09d"},
    {"a\0b", 3, BIG, "a\\x00b", "a\\x00b"}, /* NUL inside: len counts */
    {"\x01\x1f\x7f", 3, BIG, "\\x01\\x1f\\x7f", "\\x01\\x1f\\x7f"},
    {"\x0b\x0c\x1b", 3, BIG, "\\x0b\\x0c\\x1b", "\\x0b\\x0c\\x1b"}, /* VT FF ESC */
    {"back\\slash", 10, BIG, "back\\x5cslash", "back\\x5cslash"},
    {"\x80\xe9\xff", 3, BIG, "\\x80\\xe9\\xff", "\\x80\\xe9\\xff"},
    {"j\xc3\xb6rg", 5, BIG, "j\\xc3\\xb6rg", "j\\xc3\\xb6rg"}, /* UTF-8 is bytes */
    {"abcdef", 3, BIG, "abc", "abc"},                          /* only len bytes */
    /* fits exactly: the escape plus the NUL */
    {"abcde", 5, 6, "abcde", "abcde"},
    {"a\r", 2, 4, "a\\r", "..."},
    {"a\r", 2, 6, "a\\r", "a\\x0d"},
    /* truncated: whole escapes, then "..." within dstsz */
    {"abcdef", 6, 6, "ab...", "ab..."},
    {"abcdef", 6, 5, "a...", "a..."},
    {"a\x01z", 3, 6, "a...", "a..."},
    {"a\x01z", 3, 7, "a\\x01z", "a\\x01z"},
    {"a\x01zzzz", 6, 8, "a...", "a..."},
    {"a\x01zzzz", 6, 9, "a\\x01...", "a\\x01..."},
    {"\n\nxx", 4, 6, "\\n...", "..."},
    {"\n\nxx", 4, 9, "\\n\\nxx", "\\x0a..."},
    /* tiny buffers */
    {"abcdef", 6, 4, "...", "..."},
    {"abcdef", 6, 3, "", ""},
    {"abcdef", 6, 1, "", ""},
    {"a", 1, 2, "a", "a"},
    {"ab", 2, 2, "", ""},
    {"", 0, 1, "", ""},
    {"\x01", 1, 4, "...", "..."},
};

static void check_escape(const struct escape_case *c, bool hex)
{
    char buf[BIG + 8];
    const char *want = hex ? c->hex : c->c_forms;
    size_t n;

    memset(buf, 'Z', sizeof(buf));
    n = hex ? util_escape_hex(buf, c->dstsz, c->in, c->len)
            : util_escape(buf, c->dstsz, c->in, c->len);
    ck_assert_msg(strcmp(buf, want) == 0, "case %d (%s): got \"%s\", want \"%s\"",
                  (int)(c - escape_cases), hex ? "hex" : "c forms", buf, want);
    ck_assert_uint_eq(n, strlen(want));
    ck_assert_uint_lt(n, c->dstsz);
    ck_assert_int_eq(buf[c->dstsz], 'Z'); /* nothing written past dstsz */
}

START_TEST(test_escape)
{
    check_escape(&escape_cases[_i], false);
}
END_TEST

START_TEST(test_escape_hex)
{
    check_escape(&escape_cases[_i], true);
}
END_TEST

START_TEST(test_escape_zero_size)
{
    char buf[4] = "xyz";

    ck_assert_uint_eq(util_escape(buf, 0, "abc", 3), 0);
    ck_assert_uint_eq(util_escape_hex(buf, 0, "abc", 3), 0);
    ck_assert_str_eq(buf, "xyz"); /* nothing written, not even a NUL */
    ck_assert_uint_eq(util_escape(buf, sizeof(buf), NULL, 0), 0);
    ck_assert_str_eq(buf, "");
}
END_TEST

/* Every byte value, alone, against its class written out here. */
START_TEST(test_escape_every_byte)
{
    for (int c = 0; c < 256; c++) {
        char in = (char)c, want[8], hexwant[8], got[8], hexgot[8];

        if (c >= 0x20 && c < 0x7f && c != '\\')
            snprintf(want, sizeof(want), "%c", c);
        else
            snprintf(want, sizeof(want), "\\x%02x", c);
        memcpy(hexwant, want, sizeof(want));
        if (c == '\r' || c == '\n' || c == '\t')
            snprintf(want, sizeof(want), "\\%c", c == '\r' ? 'r' : c == '\n' ? 'n' : 't');
        util_escape(got, sizeof(got), &in, 1);
        util_escape_hex(hexgot, sizeof(hexgot), &in, 1);
        ck_assert_msg(strcmp(got, want) == 0, "byte 0x%02x: %s", c, got);
        ck_assert_msg(strcmp(hexgot, hexwant) == 0, "byte 0x%02x (hex): %s", c, hexgot);
    }
}
END_TEST

START_TEST(test_escape_size_suffices)
{
    char src[256], dst[UTIL_ESCAPE_SIZE(256)];

    for (int i = 0; i < 256; i++)
        src[i] = (char)(0x80 + (i % 128)); /* all worst case: \xHH */
    ck_assert_uint_eq(util_escape(dst, sizeof(dst), src, sizeof(src)), 4 * 256);
    ck_assert_ptr_null(strstr(dst, "..."));
    ck_assert_uint_eq(util_escape_hex(dst, sizeof(dst), src, sizeof(src)), 4 * 256);
    ck_assert_uint_eq(util_escape(dst, sizeof(dst) - 1, src, sizeof(src)), 4 * 255 + 3);
}
END_TEST

/* ---- util_hash ----------------------------------------------------------- */

START_TEST(test_hash)
{
    static const char text[] = "postmaster@corp.example and some more bytes";
    char copy[sizeof(text)];
    uint32_t seen[sizeof(text)];

    memcpy(copy, text, sizeof(text));
    for (size_t n = 0; n < sizeof(text); n++) {
        seen[n] = util_hash(text, n);
        /* a function of the n bytes only: the rest does not matter */
        copy[n] = 'X';
        ck_assert_uint_eq(util_hash(copy, n), seen[n]);
        copy[n] = text[n];
        for (size_t m = 0; m < n; m++)
            ck_assert_msg(seen[m] != seen[n], "prefixes %zu and %zu collide", m, n);
    }
    /* every byte counts, in every position of the last partial word */
    for (size_t i = 0; i < 20; i++) {
        copy[i] ^= 1;
        ck_assert_uint_ne(util_hash(copy, 20), util_hash(text, 20));
        copy[i] ^= 1;
    }
}
END_TEST

START_TEST(test_hash_low_bits)
{
    /* keys that differ in one digit spread over a small table */
    unsigned buckets[64] = {0}, used = 0;
    char key[32];

    for (int i = 0; i < 640; i++) {
        int n = snprintf(key, sizeof(key), "user%d@corp.example", i);
        buckets[util_hash(key, (size_t)n) & 63]++;
    }
    for (int b = 0; b < 64; b++) {
        used += buckets[b] > 0;
        ck_assert_uint_lt(buckets[b], 40); /* 10 on average */
    }
    ck_assert_uint_eq(used, 64);
}
END_TEST

/* ---- unix socket paths --------------------------------------------------- */

/* A unix socket bound at tmpdir/name; listening when listening.  Its fd. */
static int bound_socket(const char *name, bool listening, char *path, size_t pathsz)
{
    struct sockaddr_un sa;
    int fd;

    snprintf(path, pathsz, "%s/%s", tmpdir, name);
    ck_assert_int_eq(util_unix_addr(&sa, path), 0);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    if (listening)
        ck_assert_int_eq(listen(fd, 1), 0);
    return fd;
}

START_TEST(test_unix_stale)
{
    char path[128];
    struct stat st;
    int fd;

    /* nothing there: nothing to do */
    snprintf(path, sizeof path, "%s/none.sock", tmpdir);
    ck_assert_int_eq(util_unix_clear_stale(path), 0);
    /* bound, never listening: what a crash leaves; removed */
    fd = bound_socket("stale.sock", false, path, sizeof path);
    ck_assert_int_lt(util_unix_connect(path), 0);
    ck_assert_int_eq(errno, ECONNREFUSED);
    ck_assert_int_eq(util_unix_clear_stale(path), 0);
    ck_assert_int_lt(lstat(path, &st), 0);
    close(fd);
}
END_TEST

START_TEST(test_unix_live)
{
    char path[128];
    struct stat st;
    int fd = bound_socket("live.sock", true, path, sizeof path), c;

    /* someone accepts there: kept, EADDRINUSE */
    ck_assert_int_lt(util_unix_clear_stale(path), 0);
    ck_assert_int_eq(errno, EADDRINUSE);
    ck_assert_int_eq(lstat(path, &st), 0);
    c = util_unix_connect(path);
    ck_assert_int_ge(c, 0);
    ck_assert_int_eq(fcntl(c, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    close(c);
    /* removal takes a socket */
    ck_assert_int_eq(util_unix_remove(path), 0);
    ck_assert_int_lt(lstat(path, &st), 0);
    ck_assert_int_eq(util_unix_remove(path), 0); /* and nothing is fine */
    close(fd);
}
END_TEST

/* A live server whose backlog is full: in use, answered at once (a
 * blocking connect would wait for the server to accept). */
START_TEST(test_unix_backlog_full)
{
    char path[128];
    struct stat st;
    int fd = bound_socket("busy.sock", true, path, sizeof path), c[64], n = 0;
    struct sockaddr_un sa;

    ck_assert_int_eq(util_unix_addr(&sa, path), 0);
    for (; n < 64; n++) {
        c[n] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
        ck_assert_int_ge(c[n], 0);
        if (connect(c[n], (struct sockaddr *)&sa, sizeof sa) < 0) {
            ck_assert_int_eq(errno, EAGAIN);
            close(c[n]);
            break;
        }
    }
    ck_assert_int_lt(n, 64); /* the backlog filled */
    ck_assert_int_lt(util_unix_clear_stale(path), 0);
    ck_assert_int_eq(errno, EADDRINUSE);
    ck_assert_int_eq(lstat(path, &st), 0);
    while (n-- > 0)
        close(c[n]);
    close(fd);
}
END_TEST

START_TEST(test_unix_not_socket)
{
    const char *path = write_file("plain", "data", 4);
    struct stat st;

    ck_assert_int_lt(util_unix_clear_stale(path), 0);
    ck_assert_int_eq(errno, ENOTSOCK);
    /* a file that is no socket is never removed */
    ck_assert_int_eq(util_unix_remove(path), 0);
    ck_assert_int_eq(lstat(path, &st), 0);
    ck_assert(S_ISREG(st.st_mode));
}
END_TEST

START_TEST(test_unix_too_long)
{
    struct sockaddr_un sa;
    char path[sizeof sa.sun_path + 8];

    memset(path, 'a', sizeof path - 1);
    path[0] = '/';
    path[sizeof path - 1] = '\0';
    ck_assert_int_lt(util_unix_addr(&sa, path), 0);
    ck_assert_int_eq(errno, ENAMETOOLONG);
    ck_assert_int_lt(util_unix_connect(path), 0);
    ck_assert_int_eq(errno, ENAMETOOLONG);
    /* exactly one byte short of the limit fits */
    path[sizeof sa.sun_path - 1] = '\0';
    ck_assert_int_eq(util_unix_addr(&sa, path), 0);
    ck_assert_str_eq(sa.sun_path, path);
}
END_TEST

static Suite *util_suite(void)
{
    Suite *s = suite_create("util");
    TCase *tc;

    tc = tcase_create("grow");
    tcase_add_loop_test(tc, test_grow, 0, N(grow_cases));
    tcase_add_test(tc, test_grow_keeps_contents);
    suite_add_tcase(s, tc);
    tc = tcase_create("buf");
    tcase_add_test(tc, test_buf_append);
    tcase_add_test(tc, test_buf_nuls);
    tcase_add_test(tc, test_buf_large);
    tcase_add_test(tc, test_buf_reset);
    tcase_add_test(tc, test_buf_overflow);
    suite_add_tcase(s, tc);
    tc = tcase_create("read_file");
    tcase_add_checked_fixture(tc, tmpdir_setup, tmpdir_teardown);
    tcase_add_test(tc, test_read_empty);
    tcase_add_test(tc, test_read_missing);
    tcase_add_test(tc, test_read_directory);
    tcase_add_test(tc, test_read_sizes);
    tcase_add_test(tc, test_read_pipe);
    suite_add_tcase(s, tc);
    tc = tcase_create("escape");
    tcase_add_loop_test(tc, test_escape, 0, N(escape_cases));
    tcase_add_loop_test(tc, test_escape_hex, 0, N(escape_cases));
    tcase_add_test(tc, test_escape_zero_size);
    tcase_add_test(tc, test_escape_every_byte);
    tcase_add_test(tc, test_escape_size_suffices);
    suite_add_tcase(s, tc);
    tc = tcase_create("unix_socket");
    tcase_add_checked_fixture(tc, tmpdir_setup, tmpdir_teardown);
    tcase_add_test(tc, test_unix_stale);
    tcase_add_test(tc, test_unix_live);
    tcase_add_test(tc, test_unix_backlog_full);
    tcase_add_test(tc, test_unix_not_socket);
    tcase_add_test(tc, test_unix_too_long);
    suite_add_tcase(s, tc);
    tc = tcase_create("hash");
    tcase_add_test(tc, test_hash);
    tcase_add_test(tc, test_hash_low_bits);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(util_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
