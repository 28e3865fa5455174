/*
 * snapshot.c - a source's records in a text file (format in snapshot.h):
 * escaping, the atomic replacement of the file, and the strict reader that
 * names path:line for every fault.  Owns the temporary file of a write and
 * the scratch buffers of a read; the records belong to the caller.
 */
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/* Errors after which a reader stops looking at more lines. */
#define MAX_ERRORS 50

/* Bytes that a field spells as \xHH (and only those). */
static bool needs_escape(unsigned char c)
{
    return c <= 0x20 || c == 0x7f || c == '\\';
}

/* ---- writing ---------------------------------------------------------- */

static int put(struct util_buf *b, const char *s)
{
    return util_buf_append(b, s, strlen(s));
}

/* put_field - " " (unless first) and s escaped. */
static int put_field(struct util_buf *b, const char *s, bool first)
{
    static const char hex[] = "0123456789abcdef";
    const char *run = s;

    if (!first && put(b, " ") < 0)
        return -1;
    for (;; s++) {
        unsigned char c = (unsigned char)*s;
        if (c != '\0' && !needs_escape(c))
            continue;
        if (util_buf_append(b, run, (size_t)(s - run)) < 0)
            return -1;
        if (c == '\0')
            return 0;
        char esc[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
        if (util_buf_append(b, esc, 4) < 0)
            return -1;
        run = s + 1;
    }
}

int snapshot_format(const struct source_records *r, struct util_buf *b)
{
    size_t n = source_records_count(r);
    char line[64];

    if (source_records_oom(r))
        return -1;
    snprintf(line, sizeof(line), "%s %d source=", SNAPSHOT_MAGIC, SNAPSHOT_VERSION);
    if (put(b, line) < 0 || put_field(b, source_records_name(r), true) < 0 || put(b, "\n") < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const struct source_record *rec = source_records_at(r, i);
        if (put(b, source_kind_name(rec->kind)) < 0 || put_field(b, rec->origin, false) < 0 ||
            put_field(b, rec->key, false) < 0)
            return -1;
        for (size_t j = 0; j < rec->ntargets; j++)
            if (put_field(b, rec->targets[j], false) < 0)
                return -1;
        if (put(b, "\n") < 0)
            return -1;
    }
    snprintf(line, sizeof(line), "end %zu\n", n);
    return put(b, line);
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* sync_dir - fsync the directory holding path, so that the rename itself
 * survives a crash.  Returns 0 or -1 (errno set). */
static int sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash == NULL ? strdup(".") : strndup(path, slash == path ? 1 : slash - path);
    int fd, rc = -1;

    if (dir == NULL)
        return -1;
    if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
        rc = fsync(fd);
        close(fd);
    }
    free(dir);
    return rc;
}

/* replace - text into a new file renamed over path.  Returns 0, or -1 after
 * an error in d (the temporary file removed, path untouched).  A directory
 * that cannot be synced after the rename is only a warning: the new file
 * is in place. */
static int replace(const char *path, const struct util_buf *text, struct diag *d)
{
    struct util_buf tmp = {0};
    const char *step = "cannot create a temporary file";
    bool created = false, renamed = false;
    int fd = -1, rc = -1, err;

    if (put(&tmp, path) < 0 || put(&tmp, ".XXXXXX") < 0) {
        errno = ENOMEM;
        goto out;
    }
    if ((fd = mkstemp(tmp.p)) < 0)
        goto out;
    created = true;
    step = "cannot write a temporary file";
    if (fchmod(fd, 0640) < 0 || write_all(fd, text->p, text->len) < 0 || fsync(fd) < 0)
        goto out;
    err = close(fd);
    fd = -1;
    if (err < 0)
        goto out;
    step = "cannot replace the old file";
    if (rename(tmp.p, path) < 0)
        goto out;
    renamed = true;
    rc = 0;
    if (sync_dir(path) < 0)
        diag_add(d, DIAG_WARNING, path, 0, "cannot sync its directory: %s", strerror(errno));
out:
    err = errno;
    if (fd >= 0)
        close(fd);
    if (created && !renamed)
        unlink(tmp.p);
    if (rc < 0)
        diag_add(d, DIAG_ERROR, path, 0, "%s: %s", step, strerror(err));
    util_buf_free(&tmp);
    return rc;
}

int snapshot_write(const struct source_records *r, const char *path, struct diag *d)
{
    struct util_buf text = {0};
    int rc = -1;

    if (source_records_oom(r)) {
        diag_add(d, DIAG_ERROR, path, 0, "not written: the records are incomplete (out of memory)");
        return -1;
    }
    if (snapshot_format(r, &text) < 0)
        diag_add(d, DIAG_ERROR, path, 0, "not written: out of memory");
    else
        rc = replace(path, &text, d);
    util_buf_free(&text);
    return rc;
}

/* ---- reading ---------------------------------------------------------- */

/* One decoded field: bytes at off in the scratch buffer, NUL after them. */
struct field {
    size_t off, len;
};

struct reader {
    const char *path;
    struct source_records *r;
    struct diag *d;
    unsigned line;
    size_t bad;              /* lines refused */
    struct util_buf scratch; /* the fields of the line, decoded */
    struct field *fields;
    size_t nfields, fieldcap;
    struct source_text *texts; /* key and targets of a record */
    size_t textcap;
};

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* bad - an error at the current line; the line counts as refused. */
static void bad(struct reader *rd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bad(struct reader *rd, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    diag_vadd_loc(rd->d, DIAG_ERROR, (struct diag_loc){rd->path, rd->line}, fmt, ap);
    va_end(ap);
    rd->bad++;
}

/* no_memory - an error at the current line; returns -1. */
static int no_memory(struct reader *rd)
{
    bad(rd, "out of memory");
    return -1;
}

/* end_field - close the field that started at off in the scratch buffer. */
static int end_field(struct reader *rd, size_t off)
{
    struct field f = {off, rd->scratch.len - off};

    if (util_buf_append(&rd->scratch, "", 1) < 0 ||
        util_grow((void **)&rd->fields, &rd->fieldcap, rd->nfields + 1, sizeof(*rd->fields)) < 0)
        return -1;
    rd->fields[rd->nfields++] = f;
    return 0;
}

/*
 * split - the n bytes of a line decoded into rd->fields.  Returns 0; 1
 * with *why set when the line is malformed (*which: the field, from 1);
 * -1 when out of memory.
 */
static int split(struct reader *rd, const char *p, size_t n, const char **why, size_t *which)
{
    size_t i = 0, off = 0, run;

    util_buf_reset(&rd->scratch);
    rd->nfields = 0;
    for (*which = 1;; (*which)++) {
        off = rd->scratch.len;
        for (run = i; i < n && p[i] != ' '; i++) {
            unsigned char c = (unsigned char)p[i];
            if (c != '\\' && !needs_escape(c))
                continue;
            if (c != '\\') {
                *why = "unescaped control byte";
                return 1;
            }
            if (n - i < 4 || p[i + 1] != 'x' || hexval(p[i + 2]) < 0 || hexval(p[i + 3]) < 0) {
                *why = "malformed escape (\\x and two lower-case hex digits)";
                return 1;
            }
            char b = (char)(hexval(p[i + 2]) * 16 + hexval(p[i + 3]));
            if (!needs_escape((unsigned char)b)) {
                *why = "escape of a byte that stands for itself";
                return 1;
            }
            if (util_buf_append(&rd->scratch, p + run, i - run) < 0 ||
                util_buf_append(&rd->scratch, &b, 1) < 0)
                return -1;
            i += 3;
            run = i + 1;
        }
        if (i == run && rd->scratch.len == off) {
            *why = "empty field";
            return 1;
        }
        if (util_buf_append(&rd->scratch, p + run, i - run) < 0 || end_field(rd, off) < 0)
            return -1;
        if (i++ == n)
            return 0;
    }
}

static struct source_text field_text(const struct reader *rd, size_t i)
{
    return (struct source_text){rd->scratch.p + rd->fields[i].off, rd->fields[i].len};
}

static bool field_is(const struct reader *rd, size_t i, const char *s)
{
    return rd->fields[i].len == strlen(s) &&
           memcmp(rd->scratch.p + rd->fields[i].off, s, rd->fields[i].len) == 0;
}

/* Bytes of a bad field quoted in a message, at most. */
#define QUOTE_MAX 64

/* read_header - the first line.  Returns 0, or -1 after an error (also
 * when out of memory). */
static int read_header(struct reader *rd, const char *p, size_t n)
{
    const char *why, *name = source_records_name(rd->r);
    size_t which;
    int rc = split(rd, p, n, &why, &which);
    struct source_text v;

    if (rc < 0)
        return no_memory(rd);
    if (rc > 0 || !field_is(rd, 0, SNAPSHOT_MAGIC)) {
        bad(rd, "not a hosted-milter snapshot (the first line is not \"%s ...\")", SNAPSHOT_MAGIC);
        return -1;
    }
    if (rd->nfields < 2 || !field_is(rd, 1, "1")) {
        v = rd->nfields < 2 ? (struct source_text){"", 0} : field_text(rd, 1);
        bad(rd, "snapshot version \"%.*s\" is not supported (this reads version %d)",
            (int)(v.len > QUOTE_MAX ? QUOTE_MAX : v.len), v.p, SNAPSHOT_VERSION);
        return -1;
    }
    v = rd->nfields == 3 ? field_text(rd, 2) : (struct source_text){"", 0};
    if (v.len < 7 || memcmp(v.p, "source=", 7) != 0) {
        bad(rd, "malformed first line: \"source=NAME\" must follow the version, and nothing else");
        return -1;
    }
    if (v.len - 7 != strlen(name) || memcmp(v.p + 7, name, v.len - 7) != 0) {
        bad(rd, "snapshot of source \"%.*s\", not of \"%s\"",
            (int)(v.len - 7 > QUOTE_MAX ? QUOTE_MAX : v.len - 7), v.p + 7, name);
        return -1;
    }
    return 0;
}

/* read_end - the "end COUNT" line, after records record lines.  Returns
 * 0 (the line checked), -1 when out of memory. */
static int read_end(struct reader *rd, const char *p, size_t n, size_t records)
{
    const char *why;
    size_t which, count = 0;
    int rc = split(rd, p, n, &why, &which);
    struct source_text v;

    if (rc < 0)
        return no_memory(rd);
    v = rc == 0 && rd->nfields == 2 ? field_text(rd, 1) : (struct source_text){"", 0};
    bool ok = v.len > 0 && v.len <= 19 && (v.p[0] != '0' || v.len == 1);
    for (size_t i = 0; ok && i < v.len; i++) {
        ok = v.p[i] >= '0' && v.p[i] <= '9';
        count = count * 10 + (size_t)(v.p[i] - '0');
    }
    if (!ok)
        bad(rd, "malformed end line: \"end COUNT\" expected");
    else if (count != records)
        bad(rd, "the end line counts %zu records, the file holds %zu: it is not whole", count,
            records);
    return 0;
}

/* read_record - one record line.  Returns 0 (the line added or reported),
 * -1 when out of memory. */
static int read_record(struct reader *rd, const char *p, size_t n)
{
    const char *why;
    size_t which;
    int rc = split(rd, p, n, &why, &which);
    enum source_kind kind;
    struct source_text v;

    if (rc < 0)
        return no_memory(rd);
    if (rc > 0) {
        bad(rd, "%s in field %zu", why, which);
        return 0;
    }
    v = field_text(rd, 0);
    if ((kind = source_kind_from_name(v.p, v.len)) == 0) {
        bad(rd, "unknown record type \"%.*s\"", (int)(v.len > QUOTE_MAX ? QUOTE_MAX : v.len), v.p);
        return 0;
    }
    if (rd->nfields < 3) {
        bad(rd, "a %s line needs an origin and a value", source_kind_name(kind));
        return 0;
    }
    v = field_text(rd, 1);
    if (memchr(v.p, '\0', v.len) != NULL) {
        bad(rd, "NUL byte in the origin");
        return 0;
    }
    if (util_grow((void **)&rd->texts, &rd->textcap, rd->nfields, sizeof(*rd->texts)) < 0)
        return no_memory(rd);
    for (size_t i = 2; i < rd->nfields; i++)
        rd->texts[i - 2] = field_text(rd, i);
    rc = source_records_add_at(rd->r, kind, v.p, rd->texts[0], rd->texts + 1, rd->nfields - 3,
                               (struct diag_loc){rd->path, rd->line}, rd->d);
    rd->bad += rc > 0;
    return rc < 0 ? no_memory(rd) : 0;
}

static bool is_end_line(const char *p, size_t n)
{
    return n >= 3 && memcmp(p, "end", 3) == 0 && (n == 3 || p[3] == ' ');
}

/*
 * read_lines - every line of buf after the header.  Returns 1 when the end
 * line was read and was the last, 0 when not (reported), -1 when out of
 * memory.
 */
static int read_lines(struct reader *rd, const char *p, const char *e)
{
    size_t records = 0;
    bool ended = false;

    for (; p < e; rd->line++) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        size_t n = nl != NULL ? (size_t)(nl - p) : 0;

        if (rd->bad >= MAX_ERRORS) {
            bad(rd, "too many errors: the rest is not read");
            return 0;
        }
        if (nl == NULL) {
            bad(rd, "the last line has no newline: the file is cut short");
            return 0;
        }
        if (ended) {
            bad(rd, "text after the end line");
            return 0;
        }
        if (is_end_line(p, n)) {
            if (read_end(rd, p, n, records) < 0)
                return -1;
            ended = true;
        } else {
            records++;
            if (read_record(rd, p, n) < 0)
                return -1;
        }
        p = nl + 1;
    }
    if (!ended)
        bad(rd, "no end line: the file is cut short");
    return ended;
}

int snapshot_read_buffer(const char *path, const char *buf, size_t len, struct source_records *r,
                         struct diag *d)
{
    struct reader rd = {.path = path, .r = r, .d = d, .line = 1};
    size_t before = source_records_count(r);
    const char *nl = memchr(buf, '\n', len);
    int rc = -1;

    if (source_records_oom(r))
        return -1;
    if (len == 0)
        bad(&rd, "empty file: not a snapshot");
    else if (nl == NULL)
        bad(&rd, "the first line has no newline: the file is cut short");
    else if (read_header(&rd, buf, (size_t)(nl - buf)) == 0) {
        rd.line++;
        if (read_lines(&rd, nl + 1, buf + len) == 1 && rd.bad == 0)
            rc = 0;
    }
    if (rc < 0)
        source_records_truncate(r, before);
    util_buf_free(&rd.scratch);
    free(rd.fields);
    free(rd.texts);
    return rc;
}

int snapshot_read(const char *path, struct source_records *r, struct diag *d)
{
    const char *what;
    char *buf;
    size_t len;
    int err = util_read_file(path, &buf, &len, &what);

    if (err != 0) {
        diag_add(d, DIAG_ERROR, path, 0, "%s: %s", what, strerror(err));
        return -1;
    }
    int rc = snapshot_read_buffer(path, buf, len, r, d);
    free(buf);
    return rc;
}
