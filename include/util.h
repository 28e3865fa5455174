/*
 * util.h - the small things every module needs once: growable arrays and
 * byte buffers, reading a whole file, and escaping bytes for messages.
 *
 * Owns no state.  Every function reports failure by its return value and
 * leaves its arguments usable (an array or buffer that could not grow
 * keeps what it held), so a caller can keep one sticky "out of memory"
 * flag and report it once.
 */
#ifndef HOSTED_MILTER_UTIL_H
#define HOSTED_MILTER_UTIL_H

#include <stddef.h>

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

#endif
