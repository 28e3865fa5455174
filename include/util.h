/*
 * util.h - the small things every module needs once: growable arrays and
 * byte buffers, reading a whole file, escaping bytes for messages, and
 * unix socket paths (address, connect, stale socket, removal).
 *
 * Owns no state.  Every function reports failure by its return value and
 * leaves its arguments usable (an array or buffer that could not grow
 * keeps what it held), so a caller can keep one sticky "out of memory"
 * flag and report it once.
 */
#ifndef HOSTED_MILTER_UTIL_H
#define HOSTED_MILTER_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * util_grow - make room for need elements of elem bytes in the array *arr
 * of capacity *cap (elements), doubling from 16.  Returns 0 (then
 * *cap >= need), or -1 when out of memory or when need * elem overflows
 * (*arr and *cap unchanged).
 */
int util_grow(void **arr, size_t *cap, size_t need, size_t elem);

/* A growable byte string, always NUL-terminated once it holds anything;
 * {0} is an empty one.  Free with util_buf_free. */
struct util_buf {
    char *p;
    size_t len;  /* bytes held, without the NUL */
    size_t size; /* bytes allocated */
};

/* util_buf_append - append n bytes of s (may hold NULs).  Returns 0, or -1
 * when out of memory (the buffer keeps what it had). */
int util_buf_append(struct util_buf *b, const char *s, size_t n);

/* util_buf_reset - forget the contents, keep the allocation. */
void util_buf_reset(struct util_buf *b);

/* util_buf_free - release the buffer; it is then {0} again. */
void util_buf_free(struct util_buf *b);

/*
 * util_read_file - the whole file at path into a new NUL-terminated buffer
 * (*out, *len without the NUL; the caller frees *out).  Returns 0, or an
 * errno value (ENOMEM included) with *out NULL; *what then says which step
 * failed ("cannot open", "cannot read"), for messages.
 */
int util_read_file(const char *path, char **out, size_t *len, const char **what);

/*
 * util_escape - the len bytes at src made safe for a log line or a
 * message: printable ASCII as is; CR, LF and TAB as \r \n \t; other
 * control bytes, DEL, backslash and every byte >= 0x80 as \xHH (lower-case
 * hex).  Written into dst (dstsz bytes, NUL-terminated); when it does not
 * fit, as many whole escapes as leave room for "..." are written, then
 * "...".  Returns the length written (0 when dstsz is too small even for
 * "...", dst then "" if dstsz > 0).
 */
size_t util_escape(char *dst, size_t dstsz, const char *src, size_t len);

/* util_escape_hex - util_escape with CR, LF and TAB as \xHH too (\x0d
 * \x0a \x09), for texts whose form is fixed that way (SMTP replies,
 * table-file messages). */
size_t util_escape_hex(char *dst, size_t dstsz, const char *src, size_t len);

struct sockaddr_un;

/* util_unix_addr - *sa set to the unix socket address of path.  Returns 0,
 * or -1 with errno ENAMETOOLONG when path does not fit sun_path. */
int util_unix_addr(struct sockaddr_un *sa, const char *path);

/* util_unix_connect - a blocking stream connection (close-on-exec) to the
 * unix socket at path.  Returns the descriptor (the caller closes it), or
 * -1 with errno set. */
int util_unix_connect(const char *path);

/*
 * util_unix_clear_stale - make path free for bind: a socket file nothing
 * accepts on (left by a crash) is removed.  Returns 0 when nothing is at
 * path or the stale socket is gone; -1 with errno EADDRINUSE (something
 * accepts there), ENOTSOCK (something not a socket is there) or the errno
 * of the failed lstat/socket/unlink.
 */
int util_unix_clear_stale(const char *path);

/* util_unix_remove - unlink path if it is a socket (what a server leaves
 * behind), never anything else.  Returns 0 (also when nothing or no socket
 * is there), or -1 with errno from unlink. */
int util_unix_remove(const char *path);

/* UTIL_ESCAPE_SIZE - bytes that always hold the escape of len bytes. */
#define UTIL_ESCAPE_SIZE(len) (4 * (len) + 1)

/*
 * util_hash - a 32-bit hash of n bytes, for open-addressing tables.  Fast
 * (8 bytes a round) and well mixed in its low bits, so a table may take
 * hash & mask; not for anything an attacker must not predict collisions
 * of beyond what linear probing absorbs.  Inline: it is on the lookup path.
 */
static inline uint32_t util_hash(const char *s, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (n * 0xff51afd7ed558ccdull);
    uint64_t v;

    while (n >= 8) {
        memcpy(&v, s, 8);
        h = (h ^ v) * 0xbf58476d1ce4e5b9ull;
        h ^= h >> 31;
        s += 8;
        n -= 8;
    }
    if (n > 0) {
        v = 0;
        memcpy(&v, s, n);
        h = (h ^ v) * 0x94d049bb133111ebull;
        h ^= h >> 29;
    }
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ull;
    return (uint32_t)(h ^ (h >> 32));
}

#endif
