/*
 * util.c - growable arrays and buffers, whole-file reads, escaping, unix
 * socket paths (see util.h).  No state; nothing here logs.
 */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int util_grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    size_t ncap;
    void *p;

    if (need <= *cap)
        return 0;
    if (elem == 0 || need > SIZE_MAX / 2 / elem)
        return -1;
    ncap = *cap ? *cap * 2 : 16;
    while (ncap < need)
        ncap *= 2;
    if ((p = realloc(*arr, ncap * elem)) == NULL)
        return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

int util_buf_append(struct util_buf *b, const char *s, size_t n)
{
    if (n >= SIZE_MAX / 2 - b->len)
        return -1;
    if (util_grow((void **)&b->p, &b->size, b->len + n + 1, 1) != 0)
        return -1;
    if (n > 0)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

void util_buf_reset(struct util_buf *b)
{
    b->len = 0;
    if (b->p != NULL)
        b->p[0] = '\0';
}

void util_buf_free(struct util_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->size = 0;
}

int util_read_file(const char *path, char **out, size_t *len, const char **what)
{
    struct util_buf b = {0};
    struct stat st;
    size_t hint = 4096;
    int fd, err = 0;

    *out = NULL;
    *len = 0;
    *what = "cannot open";
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return errno;
    *what = "cannot read";
    /* A regular file of known size is read into a buffer of its size (one
     * read and the one that says EOF); anything else grows as it goes. */
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
        (uintmax_t)st.st_size < SIZE_MAX / 4)
        hint = (size_t)st.st_size + 1;
    if ((b.p = malloc(hint + 1)) == NULL)
        err = ENOMEM;
    b.size = hint + 1;
    while (err == 0) {
        if (b.size - b.len < 2 && util_grow((void **)&b.p, &b.size, b.len + 2, 1) != 0) {
            err = ENOMEM;
            break;
        }
        ssize_t r = read(fd, b.p + b.len, b.size - b.len - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            err = errno;
            break;
        }
        if (r == 0)
            break;
        b.len += (size_t)r;
    }
    close(fd);
    if (err != 0) {
        util_buf_free(&b);
        return err;
    }
    b.p[b.len] = '\0';
    *out = b.p;
    *len = b.len;
    return 0;
}

/* The escaped form of one byte into out (at most 4 bytes); its length.
 * With c_forms, CR, LF and TAB are \r \n \t; else \xHH like the rest. */
static size_t escape_byte(unsigned char c, bool c_forms, char out[4])
{
    static const char hex[] = "0123456789abcdef";

    if (c_forms && (c == '\r' || c == '\n' || c == '\t')) {
        out[0] = '\\';
        out[1] = c == '\r' ? 'r' : c == '\n' ? 'n' : 't';
        return 2;
    }
    if (c < 0x20 || c == 0x7f || c == '\\' || c >= 0x80) {
        out[0] = '\\';
        out[1] = 'x';
        out[2] = hex[c >> 4];
        out[3] = hex[c & 0xf];
        return 4;
    }
    out[0] = (char)c;
    return 1;
}

static size_t escape(char *dst, size_t dstsz, const char *src, size_t len, bool c_forms)
{
    static const char mark[] = "...";
    const size_t marklen = sizeof mark - 1;
    size_t need = 0, i, n = 0;
    char e[4];

    if (dstsz == 0)
        return 0;
    for (i = 0; i < len; i++)
        need += escape_byte((unsigned char)src[i], c_forms, e);
    if (need < dstsz) {
        for (i = 0; i < len; i++) {
            size_t k = escape_byte((unsigned char)src[i], c_forms, e);
            memcpy(dst + n, e, k);
            n += k;
        }
        dst[n] = '\0';
        return n;
    }
    /* Truncate: keep whole escapes that leave room for the mark and NUL. */
    if (dstsz <= marklen) {
        dst[0] = '\0';
        return 0;
    }
    for (i = 0; i < len; i++) {
        size_t k = escape_byte((unsigned char)src[i], c_forms, e);
        if (n + k + marklen + 1 > dstsz)
            break;
        memcpy(dst + n, e, k);
        n += k;
    }
    memcpy(dst + n, mark, marklen);
    n += marklen;
    dst[n] = '\0';
    return n;
}

size_t util_escape(char *dst, size_t dstsz, const char *src, size_t len)
{
    return escape(dst, dstsz, src, len, true);
}

size_t util_escape_hex(char *dst, size_t dstsz, const char *src, size_t len)
{
    return escape(dst, dstsz, src, len, false);
}

int util_unix_addr(struct sockaddr_un *sa, const char *path)
{
    size_t n = strlen(path);

    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    if (n >= sizeof sa->sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(sa->sun_path, path, n + 1);
    return 0;
}

/* A connection to the unix socket at path, socket(2) flags added. */
static int unix_connect(const char *path, int flags)
{
    struct sockaddr_un sa;
    int fd, err;

    if (util_unix_addr(&sa, path) < 0)
        return -1;
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | flags, 0)) < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

int util_unix_connect(const char *path)
{
    return unix_connect(path, 0);
}

int util_unix_clear_stale(const char *path)
{
    struct stat st;
    int fd;

    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISSOCK(st.st_mode)) {
        errno = ENOTSOCK;
        return -1;
    }
    /* non-blocking: a live server's full backlog answers EAGAIN at once
     * instead of holding the start up */
    if ((fd = unix_connect(path, SOCK_NONBLOCK)) >= 0 || errno == EAGAIN) {
        if (fd >= 0)
            close(fd);
        errno = EADDRINUSE;
        return -1;
    }
    /* only "nobody listens" makes it stale: a permission problem is
     * someone else's socket */
    if (errno == ENOENT)
        return 0; /* gone meanwhile */
    if (errno != ECONNREFUSED)
        return -1;
    if (unlink(path) < 0 && errno != ENOENT)
        return -1;
    return 0;
}

int util_unix_remove(const char *path)
{
    struct stat st;

    if (lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
        return 0;
    if (unlink(path) < 0 && errno != ENOENT)
        return -1;
    return 0;
}
