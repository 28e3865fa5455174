/*
 * config.c - the hosted-milter.conf schema, its parsing and the table it builds.
 *
 * Owns the libconfuse schema, a small pre-lexer that removes comments and
 * splices include() files before libconfuse sees the text (see "Why a
 * pre-lexer" below), the mapping of libconfuse's line numbers back to
 * file:line, and the translation of the parsed sections into a table_builder.
 * A load yields a complete, validated struct config or nothing.
 *
 * Why a pre-lexer: libconfuse 3.3 (Debian 12) counts three lines for every
 * '#' or '//' comment line, rejects a comment inside a list ("unexpected
 * token"), and leaves its global include stack pushed when a parse error
 * happens inside an included file (after ten such failures every include
 * fails with "includes nested too deeply" for the rest of the process - a
 * daemon that reloads would hit it).  So libconfuse is only ever given one
 * comment-free buffer: comments become blank space (newlines kept), and
 * include("file") is replaced by the file's text on lines of its own.  A
 * segment table maps a line of that buffer back to the file and line it
 * came from.  The same scan records where each top-level section's title
 * is, because libconfuse keeps only a section's *end* line.
 *
 * libconfuse has no user-data pointer in its callbacks and its lexer is
 * global state, so every use of it runs under confuse_lock, and the
 * callbacks find the load in progress through `active` (set only while
 * the lock is held).
 */
#include "config.h"

#include <confuse.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "table.h"
#include "validate.h"
#include "virtual_map.h"

#define DEFAULT_SOCKET "unix:/run/hosted-milter/hosted-milter.sock"
#define DEFAULT_SOCKET_MODE "0660"
#define DEFAULT_TIMEOUT 300
#define MAX_INCLUDE_DEPTH 16
/* domain-level unknown_recipient when the section does not set it */
#define UNKNOWN_INHERIT (-1)

/* A buffer line's origin: segment i covers buffer lines from buf_line up
 * to the next segment's start, and buffer line buf_line is line file_line
 * of files[file]. */
struct segment {
    unsigned buf_line;
    unsigned file;
    unsigned file_line;
};

struct srcpos {
    unsigned file; /* index into parse_ctx.files */
    unsigned line; /* 0: unknown */
};

/* The daemon settings whose place struct config_where keeps. */
static const struct {
    const char *name;
    size_t off;
} where_fields[] = {
    {"socket", offsetof(struct config_where, socket)},
    {"user", offsetof(struct config_where, user)},
    {"group", offsetof(struct config_where, group)},
    {"pidfile", offsetof(struct config_where, pidfile)},
    {"socket_mode", offsetof(struct config_where, socket_mode)},
    {"socket_group", offsetof(struct config_where, socket_group)},
    {"timeout", offsetof(struct config_where, timeout)},
};
#define NWHERE (sizeof(where_fields) / sizeof(where_fields[0]))

/* A string value of the configuration with where it was written (the
 * value type of every address-valued option, a CFG_PTR). */
struct located {
    struct srcpos pos;
    char text[];
};

/* Everything one config_load needs; lives on config_load's stack. */
struct parse_ctx {
    struct diag *d;
    char *base_dir; /* directory of the main file; NULL: it has none */
    char **files;   /* file names as shown in diagnostics */
    size_t nfiles, capfiles;
    unsigned *last_line; /* of each file: its last line (1 when empty) */
    size_t caplast;
    const char **interned; /* files[] interned in the builder */
    struct segment *segs;
    size_t nsegs, capsegs;
    char *out; /* the comment-free, include-spliced text */
    size_t outlen, outcap;
    unsigned out_line; /* current line of out, from 1 */
    /* buffer line of the title of each top-level section, in order */
    unsigned *sec_lines;
    size_t nsec, capsec;
    size_t sec_seen;
    int depth;                   /* brace depth of the scan */
    struct srcpos open;          /* where the outermost open brace is */
    int prev_tok;                /* last significant token (TOK_*) */
    unsigned prev_line;          /* and its buffer line */
    struct srcpos postmaster;    /* of the global postmaster; line 0: unset */
    struct srcpos where[NWHERE]; /* of the daemon settings; line 0: unset */
};

/* A `table` or `mailbox_table` file to load, and the line that names it. */
struct table_file {
    char *path; /* joined to the configuration's directory */
    struct srcpos pos;
    bool mailboxes;
};

enum { TOK_NONE, TOK_WORD, TOK_EQ, TOK_OTHER };

static pthread_mutex_t confuse_lock = PTHREAD_MUTEX_INITIALIZER;
/* The load holding confuse_lock, for libconfuse's callbacks; NULL otherwise. */
static struct parse_ctx *active;

/* ------------------------------------------------------------------ */
/* small helpers */

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    size_t ncap;
    void *p;

    if (need <= *cap)
        return 0;
    ncap = *cap ? *cap * 2 : 16;
    while (ncap < need)
        ncap *= 2;
    if ((p = realloc(*arr, ncap * elem)) == NULL)
        return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

/* ctx_vadd - add one message at file index/line to the diag list. */
static void ctx_vadd(struct parse_ctx *c, enum diag_level level, struct srcpos pos, const char *fmt,
                     va_list ap) __attribute__((format(printf, 4, 0)));
static void ctx_vadd(struct parse_ctx *c, enum diag_level level, struct srcpos pos, const char *fmt,
                     va_list ap)
{
    const char *file = pos.file < c->nfiles ? c->files[pos.file] : NULL;
    char small[512];
    char *msg = small;
    va_list ap2;
    int n;

    va_copy(ap2, ap);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    if (n >= (int)sizeof(small) && (msg = malloc((size_t)n + 1)) != NULL)
        vsnprintf(msg, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    if (n < 0 || msg == NULL)
        diag_add(c->d, level, file, pos.line, "out of memory");
    else
        diag_add(c->d, level, file, pos.line, "%s", msg);
    if (msg != small)
        free(msg);
}

static void ctx_add(struct parse_ctx *c, enum diag_level level, struct srcpos pos, const char *fmt,
                    ...) __attribute__((format(printf, 4, 5)));
static void ctx_add(struct parse_ctx *c, enum diag_level level, struct srcpos pos, const char *fmt,
                    ...)
{
    va_list ap;

    va_start(ap, fmt);
    ctx_vadd(c, level, pos, fmt, ap);
    va_end(ap);
}

#define ctx_error(c, pos, ...) ctx_add((c), DIAG_ERROR, (pos), __VA_ARGS__)
#define ctx_warn(c, pos, ...) ctx_add((c), DIAG_WARNING, (pos), __VA_ARGS__)

/* ctx_map - where line buf_line of the spliced buffer came from. */
static struct srcpos ctx_map(const struct parse_ctx *c, int buf_line)
{
    struct srcpos pos = {0, 0};
    size_t lo = 0, hi = c->nsegs;

    if (buf_line <= 0 || c->nsegs == 0)
        return pos;
    /* last segment with buf_line <= the line */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->segs[mid].buf_line <= (unsigned)buf_line)
            lo = mid;
        else
            hi = mid;
    }
    pos.file = c->segs[lo].file;
    pos.line = c->segs[lo].file_line + ((unsigned)buf_line - c->segs[lo].buf_line);
    /* libconfuse's "premature end of file" is on the line after the last
     * newline, the one load() adds: say the file's last line instead */
    if (pos.file < c->nfiles && c->last_line != NULL && pos.line > c->last_line[pos.file])
        pos.line = c->last_line[pos.file];
    return pos;
}

/* ctx_loc - a table_loc for pos, with the builder's copy of the name. */
static struct table_loc ctx_loc(const struct parse_ctx *c, struct srcpos pos)
{
    struct table_loc loc = {NULL, pos.line};

    if (c->interned != NULL && pos.file < c->nfiles)
        loc.file = c->interned[pos.file];
    return loc;
}

/* again - " (...included more than once)" when a duplicate at pos is the
 * same file and line as the first one (file, line) read a second time,
 * which "already defined at" the same place would not explain. */
static const char *again(const struct parse_ctx *c, struct srcpos pos, const char *file,
                         unsigned line)
{
    size_t reads = 0;

    if (pos.file >= c->nfiles || file == NULL || pos.line != line ||
        strcmp(c->files[pos.file], file) != 0)
        return "";
    for (size_t i = 0; i < c->nfiles; i++)
        reads += strcmp(c->files[i], file) == 0;
    return reads > 1 ? " (that file is included more than once)" : "";
}

/* join_path - name relative to dir (NULL: as is); a new string or NULL. */
static char *join_path(const char *dir, const char *name)
{
    size_t dl, nl;
    char *p;

    if (dir == NULL || name[0] == '/')
        return strdup(name);
    dl = strlen(dir);
    nl = strlen(name);
    if ((p = malloc(dl + nl + 2)) == NULL)
        return NULL;
    memcpy(p, dir, dl);
    if (dl == 0 || dir[dl - 1] != '/')
        p[dl++] = '/';
    memcpy(p + dl, name, nl + 1);
    return p;
}

/* ------------------------------------------------------------------ */
/* the pre-lexer */

static int out_put(struct parse_ctx *c, const char *s, size_t n)
{
    if (grow((void **)&c->out, &c->outcap, c->outlen + n + 1, 1) != 0)
        return -1;
    memcpy(c->out + c->outlen, s, n);
    c->outlen += n;
    c->out[c->outlen] = '\0';
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\n')
            c->out_line++;
    return 0;
}

static int add_segment(struct parse_ctx *c, unsigned file, unsigned file_line)
{
    if (grow((void **)&c->segs, &c->capsegs, c->nsegs + 1, sizeof(*c->segs)) != 0)
        return -1;
    c->segs[c->nsegs++] = (struct segment){c->out_line, file, file_line};
    return 0;
}

static int add_file(struct parse_ctx *c, const char *name, unsigned *idx)
{
    if (grow((void **)&c->files, &c->capfiles, c->nfiles + 1, sizeof(*c->files)) != 0 ||
        grow((void **)&c->last_line, &c->caplast, c->nfiles + 1, sizeof(*c->last_line)) != 0)
        return -1;
    if ((c->files[c->nfiles] = strdup(name)) == NULL)
        return -1;
    c->last_line[c->nfiles] = UINT_MAX; /* until the file has been read */
    *idx = (unsigned)c->nfiles++;
    return 0;
}

/* read_all - the whole file in a new NUL-terminated buffer; errno on failure. */
static char *read_all(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "r");
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int err = 0;

    if (fp == NULL)
        return NULL;
    for (;;) {
        if (grow((void **)&buf, &cap, n + 4096 + 1, 1) != 0) {
            err = ENOMEM;
            break;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, fp);
        n += r;
        if (r == 0) {
            if (ferror(fp))
                err = errno ? errno : EIO;
            break;
        }
    }
    fclose(fp);
    if (err != 0) {
        free(buf);
        errno = err;
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static int is_word_char(char ch)
{
    return ch != '\0' && strchr(" \t\r\n#\"'={}()+,", ch) == NULL;
}

/* scan_string - the end (index after the closing quote) of the quoted
 * string at text[i], or 0 when it is unterminated; counts its newlines.
 * A backslash always takes the next byte, as in libconfuse's lexer. */
static size_t scan_string(const char *text, size_t len, size_t i, unsigned *newlines)
{
    char q = text[i++];

    while (i < len && text[i] != q) {
        if (text[i] == '\\' && i + 1 < len)
            i++;
        if (text[i] == '\n')
            (*newlines)++;
        i++;
    }
    return i < len ? i + 1 : 0;
}

/* unquote - the value of a quoted string or bare word text[i..end): a
 * backslash takes the next byte literally (enough for file names). */
static char *unquote(const char *text, size_t i, size_t end)
{
    char *p, *o;

    if (text[i] == '"' || text[i] == '\'') {
        i++;
        end--;
    }
    if ((p = malloc(end - i + 1)) == NULL)
        return NULL;
    for (o = p; i < end; i++) {
        if (text[i] == '\\' && i + 1 < end)
            i++;
        *o++ = text[i];
    }
    *o = '\0';
    return p;
}

static int pp_file(struct parse_ctx *c, const char *path, const struct srcpos *from, int level);

/*
 * pp_include - text[*ip] starts the word "include" at top level: parse
 * `include ( "file" )`, splice the file, and leave *ip after ')'.
 * Returns 0, or -1 after reporting the problem.
 */
static int pp_include(struct parse_ctx *c, const char *text, size_t len, size_t *ip, unsigned file,
                      unsigned *line, int level)
{
    struct srcpos at = {file, *line};
    size_t i = *ip + strlen("include"), start, end;
    unsigned nl = 0;
    char *name = NULL, *path = NULL;
    int rc = -1;

    while (i < len && (text[i] == ' ' || text[i] == '\t'))
        i++;
    if (i >= len || text[i] != '(')
        goto syntax;
    i++;
    while (i < len && (text[i] == ' ' || text[i] == '\t'))
        i++;
    start = i;
    if (i < len && (text[i] == '"' || text[i] == '\'')) {
        if ((end = scan_string(text, len, i, &nl)) == 0 || nl != 0)
            goto syntax;
    } else {
        end = i;
        while (
            end < len && is_word_char(text[end]) &&
            !(text[end] == '/' && end + 1 < len && (text[end + 1] == '/' || text[end + 1] == '*')))
            end++;
    }
    if (end == start)
        goto syntax;
    i = end;
    while (i < len && (text[i] == ' ' || text[i] == '\t'))
        i++;
    if (i >= len || text[i] != ')')
        goto syntax;
    if ((name = unquote(text, start, end)) == NULL || name[0] == '\0') {
        if (name != NULL)
            goto syntax;
        ctx_error(c, at, "out of memory");
        goto out;
    }
    if ((path = join_path(c->base_dir, name)) == NULL) {
        ctx_error(c, at, "out of memory");
        goto out;
    }
    /* the included text starts on a buffer line of its own ... */
    if (out_put(c, "\n", 1) != 0) {
        ctx_error(c, at, "out of memory");
        goto out;
    }
    if (pp_file(c, path, &at, level + 1) != 0)
        goto out;
    /* ... and the rest of the including line continues on the next one */
    if (c->outlen > 0 && c->out[c->outlen - 1] != '\n' && out_put(c, "\n", 1) != 0) {
        ctx_error(c, at, "out of memory");
        goto out;
    }
    if (add_segment(c, file, *line) != 0) {
        ctx_error(c, at, "out of memory");
        goto out;
    }
    c->prev_tok = TOK_NONE;
    *ip = i + 1;
    rc = 0;
    goto out;

syntax:
    ctx_error(c, at, "malformed include: expected include(\"file\")");
out:
    free(name);
    free(path);
    return rc;
}

/*
 * pp_text - append text (one file's content) to c->out without comments,
 * splicing include() calls and recording section titles.  Returns 0, or
 * -1 after reporting the problem.
 */
static int pp_text(struct parse_ctx *c, const char *text, size_t len, unsigned file, int level)
{
    unsigned line = 1;
    size_t i = 0;

    while (i < len) {
        char ch = text[i];
        struct srcpos at = {file, line};
        size_t end;
        unsigned nl = 0;

        if (ch == '\0') {
            ctx_error(c, at, "NUL byte in configuration file");
            return -1;
        }
        if (ch == '#' || (ch == '/' && i + 1 < len && text[i + 1] == '/')) {
            while (i < len && text[i] != '\n')
                i++;
            continue;
        }
        if (ch == '/' && i + 1 < len && text[i + 1] == '*') {
            /* a block comment becomes one space plus its newlines */
            if (out_put(c, " ", 1) != 0)
                goto oom;
            for (i += 2; i < len && !(text[i] == '*' && i + 1 < len && text[i + 1] == '/'); i++) {
                if (text[i] == '\n') {
                    line++;
                    if (out_put(c, "\n", 1) != 0)
                        goto oom;
                }
            }
            if (i >= len) {
                ctx_error(c, at, "unterminated /* comment");
                return -1;
            }
            i += 2;
            continue;
        }
        if (ch == '"' || ch == '\'') {
            if ((end = scan_string(text, len, i, &nl)) == 0) {
                ctx_error(c, at, "unterminated string");
                return -1;
            }
            c->prev_tok = TOK_WORD;
            c->prev_line = c->out_line;
            if (out_put(c, text + i, end - i) != 0)
                goto oom;
            line += nl;
            i = end;
            continue;
        }
        if (ch == '$' && i + 1 < len && text[i + 1] == '{' &&
            memchr(text + i, '}', len - i) != NULL) {
            end = (size_t)((const char *)memchr(text + i, '}', len - i) - text);
            /* ${VAR}: libconfuse substitutes it; a word for us */
            for (size_t k = i; k < end; k++)
                nl += text[k] == '\n';
            c->prev_tok = TOK_WORD;
            c->prev_line = c->out_line;
            if (out_put(c, text + i, end + 1 - i) != 0)
                goto oom;
            line += nl;
            i = end + 1;
            continue;
        }
        if (is_word_char(ch)) {
            end = i;
            while (end < len && is_word_char(text[end]) &&
                   !(text[end] == '/' && end + 1 < len &&
                     (text[end + 1] == '/' || text[end + 1] == '*')))
                end++;
            if (end == i)
                end++; /* a lone '/' before another comment opener */
            if (c->depth == 0 && c->prev_tok != TOK_EQ && end - i == 7 &&
                memcmp(text + i, "include", 7) == 0) {
                if (pp_include(c, text, len, &i, file, &line, level) != 0)
                    return -1;
                continue;
            }
            c->prev_tok = TOK_WORD;
            c->prev_line = c->out_line;
            if (out_put(c, text + i, end - i) != 0)
                goto oom;
            i = end;
            continue;
        }
        switch (ch) {
        case '\n':
            line++;
            break;
        case ' ':
        case '\t':
        case '\r':
            break;
        case '{':
            /* at top level, a brace not after '=' / '+=' opens a section */
            if (c->depth == 0 && c->prev_tok == TOK_WORD) {
                if (grow((void **)&c->sec_lines, &c->capsec, c->nsec + 1, sizeof(*c->sec_lines)) !=
                    0)
                    goto oom;
                c->sec_lines[c->nsec++] = c->prev_line;
            }
            if (c->depth++ == 0)
                c->open = at;
            c->prev_tok = TOK_OTHER;
            break;
        case '}':
            if (c->depth > 0)
                c->depth--;
            c->prev_tok = TOK_OTHER;
            break;
        case '=':
            c->prev_tok = TOK_EQ;
            break;
        case '+':
            if (i + 1 < len && text[i + 1] == '=') {
                if (out_put(c, "+=", 2) != 0)
                    goto oom;
                c->prev_tok = TOK_EQ;
                i += 2;
                continue;
            }
            break;
        default:
            c->prev_tok = TOK_OTHER;
            break;
        }
        if (out_put(c, &ch, 1) != 0)
            goto oom;
        i++;
    }
    return 0;

oom:
    ctx_error(c, ((struct srcpos){file, line}), "out of memory");
    return -1;
}

/*
 * pp_source - append len bytes of text, the content of the file named
 * path, to c->out.  at is where it was included ({0, 0} for the main
 * file).  Returns 0, or -1 after reporting.
 */
static int pp_source(struct parse_ctx *c, const char *path, const char *text, size_t len,
                     struct srcpos at, int level)
{
    unsigned file;
    int rc;

    if (add_file(c, path, &file) != 0 || add_segment(c, file, 1) != 0) {
        ctx_error(c, at, "out of memory");
        return -1;
    }
    rc = pp_text(c, text, len, file, level);
    c->last_line[file] = 1;
    for (size_t i = 0; i < len; i++)
        if (text[i] == '\n' && i + 1 < len)
            c->last_line[file]++;
    /* libconfuse itself accepts a section left open at the end */
    if (rc == 0 && level == 0 && c->depth > 0) {
        ctx_error(c, c->open, "'{' is never closed");
        rc = -1;
    }
    return rc;
}

/*
 * pp_file - read path and append it to c->out.  from is where it was
 * included (NULL for the main file).  Returns 0, or -1 after reporting.
 */
static int pp_file(struct parse_ctx *c, const char *path, const struct srcpos *from, int level)
{
    struct srcpos at = from ? *from : (struct srcpos){0, 0};
    size_t len = 0;
    char *text;
    unsigned inc;
    int rc;

    if (level > MAX_INCLUDE_DEPTH) {
        ctx_error(c, at, "include(\"%s\"): includes nested too deeply (a loop?)", path);
        return -1;
    }
    if ((text = read_all(path, &len)) == NULL) {
        int err = errno;
        if (from == NULL)
            diag_add(c->d, DIAG_ERROR, path, 0, "cannot open: %s", strerror(err));
        else
            ctx_error(c, at, "include(\"%s\"): cannot open: %s", path, strerror(err));
        return -1;
    }
    inc = (unsigned)c->nfiles; /* the index pp_source gives it */
    rc = pp_source(c, path, text, len, at, level);
    free(text);
    if (rc != 0 || from == NULL)
        return rc;
    /* an included file is whole: a statement it leaves open would take its
     * end from the including file, and the error the wrong place */
    if (c->depth > 0) {
        ctx_error(c, c->open, "'{' is never closed");
        return -1;
    }
    if (c->prev_tok == TOK_EQ) {
        ctx_error(c, ((struct srcpos){inc, c->last_line[inc]}),
                  "value missing at the end of the file");
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* libconfuse callbacks */

static struct srcpos cfg_pos(const cfg_t *cfg)
{
    return active ? ctx_map(active, cfg ? cfg->line : 0) : (struct srcpos){0, 0};
}

/*
 * dup_title - say where the first of two sections with the same title is
 * (libconfuse only names the title).  Returns false when that is not clear
 * (the title is used by sections of several kinds).
 */
static bool dup_title(cfg_t *cfg, const char *title)
{
    static const char *const kinds[] = {"domain", "mailbox", "alias"};
    const char *kind = NULL;
    cfg_t *first = NULL;

    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        cfg_t *sec = cfg_gettsec(cfg, kinds[k], title);
        if (sec != NULL) {
            if (first != NULL)
                return false;
            first = sec;
            kind = kinds[k];
        }
    }
    if (first == NULL)
        return false;
    struct srcpos fp = ctx_map(active, first->line);
    const char *ff = fp.file < active->nfiles ? active->files[fp.file] : "?";
    ctx_error(active, cfg_pos(cfg), "%s \"%s\" is already defined at %s:%u%s", kind, title, ff,
              fp.line, again(active, cfg_pos(cfg), ff, fp.line));
    return true;
}

/* on_error - every libconfuse message becomes "file:line: message". */
static void on_error(cfg_t *cfg, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void on_error(cfg_t *cfg, const char *fmt, va_list ap)
{
    if (active == NULL)
        return;
    /* the untranslated text of libconfuse's CFGF_NO_TITLE_DUPES error */
    if (cfg != NULL && strcmp(fmt, "found duplicate title '%s'") == 0) {
        va_list ap2;
        const char *title;
        bool done;

        va_copy(ap2, ap);
        title = va_arg(ap2, const char *);
        done = title != NULL && dup_title(cfg, title);
        va_end(ap2);
        if (done)
            return;
    }
    ctx_vadd(active, DIAG_ERROR, cfg_pos(cfg), fmt, ap);
}

static void cb_error(cfg_t *cfg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void cb_error(cfg_t *cfg, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    on_error(cfg, fmt, ap);
    va_end(ap);
}

static void cb_warn(cfg_t *cfg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void cb_warn(cfg_t *cfg, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    if (active != NULL)
        ctx_vadd(active, DIAG_WARNING, cfg_pos(cfg), fmt, ap);
    va_end(ap);
}

/* parse_located - an address-valued option: keep the text and its place. */
static int parse_located(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    size_t n = strlen(value);
    struct located *lv = malloc(sizeof(*lv) + n + 1);

    if (lv == NULL) {
        cb_error(cfg, "%s: out of memory", opt->name);
        return -1;
    }
    lv->pos = cfg_pos(cfg);
    memcpy(lv->text, value, n + 1);
    *(void **)result = lv;
    return 0;
}

/* parse_located_file - a table file name: not empty, kept with its place
 * so that a file that cannot be read is reported at the line naming it. */
static int parse_located_file(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    if (value[0] == '\0')
        cb_error(cfg, "%s must not be empty", opt->name);
    return parse_located(cfg, opt, value, result);
}

/* note_where - remember where a daemon setting is assigned (the last
 * assignment is the one that counts, for libconfuse as for us). */
static void note_where(cfg_t *cfg, const cfg_opt_t *opt)
{
    for (size_t i = 0; active != NULL && i < NWHERE; i++)
        if (strcmp(opt->name, where_fields[i].name) == 0)
            active->where[i] = cfg_pos(cfg);
}

/*
 * The checks below report a bad value and still accept it (return 0), so
 * that parsing goes on and every problem is reported; config_load fails
 * because an error was added.
 */
static int parse_socket(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    static const char *const prefixes[] = {"unix:", "local:", "inet:", "inet6:"};
    bool ok = false;

    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        size_t pl = strlen(prefixes[i]);
        if (strncmp(value, prefixes[i], pl) == 0 && value[pl] != '\0')
            ok = true;
    }
    if (!ok)
        cb_error(cfg, "%s \"%s\": must be unix:PATH, local:PATH, inet:PORT@HOST or inet6:PORT@HOST",
                 opt->name, value);
    note_where(cfg, opt);
    *(const char **)result = value;
    return 0;
}

static int parse_nonempty(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    if (value[0] == '\0')
        cb_error(cfg, "%s must not be empty", opt->name);
    note_where(cfg, opt);
    *(const char **)result = value;
    return 0;
}

static int parse_delimiter(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    for (const char *p = value; *p != '\0'; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch <= 0x20 || ch >= 0x7f || ch == '@' || ch == '"' || ch == '\\') {
            cb_error(cfg,
                     "%s: character 0x%02x cannot be a delimiter (printable ASCII other than "
                     "space, '@', '\"' and '\\')",
                     opt->name, ch);
            break;
        }
    }
    *(const char **)result = value;
    return 0;
}

static int parse_socket_mode(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    size_t n = strspn(value, "01234567");

    if (n == 0 || value[n] != '\0' || strtoul(value, NULL, 8) > 0777)
        cb_error(cfg, "%s \"%s\": expected octal permission bits, at most 0777", opt->name, value);
    note_where(cfg, opt);
    *(const char **)result = value;
    return 0;
}

static bool is_atext(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", ch) != NULL);
}

/* is_dot_atom - RFC 5322 dot-atom of at most ADDR_LOCAL_MAX octets. */
static bool is_dot_atom(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > ADDR_LOCAL_MAX || s[0] == '.' || s[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.' ? s[i + 1] == '.' : !is_atext((unsigned char)s[i]))
            return false;
    }
    return true;
}

static int parse_role(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    if (!is_dot_atom(value)) {
        cb_error(cfg, "%s: \"%s\" is not a local part (a dot-atom without '@')", opt->name, value);
    } else if (strcasecmp(value, "postmaster") == 0) {
        cb_warn(cfg, "%s: postmaster is always a role; listing it changes nothing", opt->name);
    } else {
        /* the new value's slot is already counted, with no string yet */
        for (unsigned i = 0; i + 1 < opt->nvalues; i++) {
            const char *prev = opt->values[i]->string;
            if (prev != NULL && strcasecmp(prev, value) == 0) {
                cb_warn(cfg, "%s: \"%s\" is listed twice", opt->name, value);
                break;
            }
        }
    }
    *(const char **)result = value;
    return 0;
}

struct word {
    const char *name;
    long value;
};

static const struct word unknown_words[] = {
    {"reject", UNKNOWN_REJECT}, {"tempfail", UNKNOWN_TEMPFAIL}, {"pass", UNKNOWN_PASS}, {NULL, 0}};
static const struct word level_words[] = {
    {"err", LOG_LEVEL_ERR},   {"warning", LOG_LEVEL_WARNING}, {"notice", LOG_LEVEL_NOTICE},
    {"info", LOG_LEVEL_INFO}, {"debug", LOG_LEVEL_DEBUG},     {NULL, 0}};

static int parse_word(cfg_t *cfg, cfg_opt_t *opt, const char *value, long *result,
                      const struct word *words, const char *expected)
{
    for (const struct word *w = words; w->name != NULL; w++) {
        if (strcmp(value, w->name) == 0) {
            *result = w->value;
            return 0;
        }
    }
    cb_error(cfg, "%s: \"%s\" is not one of %s", opt->name, value, expected);
    *result = opt->def.number;
    return 0;
}

static int parse_unknown(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    return parse_word(cfg, opt, value, result, unknown_words, "reject, tempfail, pass");
}

static int parse_log_level(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    return parse_word(cfg, opt, value, result, level_words, "err, warning, notice, info, debug");
}

struct int_range {
    const char *name;
    long min, max;
};

static const struct int_range int_ranges[] = {
    {"timeout", 1, 86400},
    {"max_depth", 1, 1000},
    {"max_targets", 1, 100000},
};

static int parse_bounded(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    long min = 1, max = LONG_MAX, v;
    char *end;

    for (size_t i = 0; i < sizeof(int_ranges) / sizeof(int_ranges[0]); i++) {
        if (strcmp(opt->name, int_ranges[i].name) == 0) {
            min = int_ranges[i].min;
            max = int_ranges[i].max;
        }
    }
    errno = 0;
    v = strtol(value, &end, 10);
    if (value[0] == '\0' || *end != '\0' || errno != 0 || v < min || v > max) {
        cb_error(cfg, "%s \"%s\": expected a whole number from %ld to %ld", opt->name, value, min,
                 max);
        v = opt->def.number;
    }
    note_where(cfg, opt);
    *(long *)result = v;
    return 0;
}

/* on_section_end - libconfuse leaves a section's line at its closing brace;
 * put the line of its title there instead (the k-th top-level section to
 * end is the k-th the pre-lexer saw open). */
static int on_section_end(cfg_t *cfg, cfg_opt_t *opt)
{
    unsigned n = cfg_opt_size(opt);
    cfg_t *sec = n > 0 ? cfg_opt_getnsec(opt, n - 1) : NULL;

    (void)cfg;
    if (active == NULL || sec == NULL)
        return 0;
    if (active->sec_seen < active->nsec)
        sec->line = (int)active->sec_lines[active->sec_seen];
    active->sec_seen++;
    return 0;
}

/* ------------------------------------------------------------------ */
/* the schema */

static cfg_t *schema_new(void)
{
    cfg_opt_t domain_opts[] = {
        CFG_PTR_CB("postmaster", 0, CFGF_NONE, parse_located, free),
        CFG_PTR_CB("alias_domain", 0, CFGF_NONE, parse_located, free),
        CFG_PTR_CB("catch_all", 0, CFGF_NONE, parse_located, free),
        CFG_INT_CB("unknown_recipient", UNKNOWN_INHERIT, CFGF_NONE, parse_unknown),
        CFG_END(),
    };
    cfg_opt_t mailbox_opts[] = {
        CFG_PTR_LIST_CB("addresses", 0, CFGF_NONE, parse_located, free),
        CFG_END(),
    };
    cfg_opt_t alias_opts[] = {
        CFG_PTR_LIST_CB("to", 0, CFGF_NONE, parse_located, free),
        CFG_END(),
    };
    const cfg_flag_t sec_flags = CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES;
    cfg_opt_t opts[] = {
        CFG_STR_CB("socket", DEFAULT_SOCKET, CFGF_NONE, parse_socket),
        CFG_PTR_CB("postmaster", 0, CFGF_NONE, parse_located, free),
        CFG_STR_LIST_CB("roles", 0, CFGF_NONE, parse_role),
        CFG_STR_CB("recipient_delimiter", "+", CFGF_NONE, parse_delimiter),
        CFG_INT_CB("unknown_recipient", UNKNOWN_REJECT, CFGF_NONE, parse_unknown),
        CFG_STR_CB("user", 0, CFGF_NONE, parse_nonempty),
        CFG_STR_CB("group", 0, CFGF_NONE, parse_nonempty),
        CFG_STR_CB("pidfile", 0, CFGF_NONE, parse_nonempty),
        CFG_STR_CB("socket_group", 0, CFGF_NONE, parse_nonempty),
        CFG_STR_CB("socket_mode", DEFAULT_SOCKET_MODE, CFGF_NONE, parse_socket_mode),
        CFG_INT_CB("timeout", DEFAULT_TIMEOUT, CFGF_NONE, parse_bounded),
        CFG_INT_CB("log_level", LOG_LEVEL_INFO, CFGF_NONE, parse_log_level),
        CFG_BOOL("dry_run", cfg_false, CFGF_NONE),
        CFG_INT_CB("max_depth", TABLE_DEFAULT_MAX_DEPTH, CFGF_NONE, parse_bounded),
        CFG_INT_CB("max_targets", TABLE_DEFAULT_MAX_TARGETS, CFGF_NONE, parse_bounded),
        CFG_PTR_LIST_CB("table", 0, CFGF_NONE, parse_located_file, free),
        CFG_PTR_LIST_CB("mailbox_table", 0, CFGF_NONE, parse_located_file, free),
        CFG_SEC("domain", domain_opts, sec_flags),
        CFG_SEC("mailbox", mailbox_opts, sec_flags),
        CFG_SEC("alias", alias_opts, sec_flags),
        CFG_END(),
    };
    cfg_t *cfg = cfg_init(opts, CFGF_NONE);

    if (cfg == NULL)
        return NULL;
    cfg_set_error_function(cfg, on_error);
    cfg_set_validate_func(cfg, "domain", on_section_end);
    cfg_set_validate_func(cfg, "mailbox", on_section_end);
    cfg_set_validate_func(cfg, "alias", on_section_end);
    return cfg;
}

/* ------------------------------------------------------------------ */
/* from sections to the table */

/* canon_address - the canonical text (case kept) of an address that must
 * have a domain, into out[ADDR_TEXT_MAX + 1]; fold also gives the key.
 * Returns NULL, or why it is not acceptable. */
static const char *canon_address(const char *text, bool fold, char *out)
{
    struct addr a;
    enum addr_error err = addr_parse(&a, text, strlen(text), NULL);

    if (err != ADDR_OK)
        return addr_strerror(err);
    if (a.domain_len == 0)
        return "address needs a domain";
    if (addr_format(&a, true, fold, out, ADDR_TEXT_MAX + 1) == 0)
        return "address too long";
    return NULL;
}

/* canon_domain - a hosted domain name, folded, without trailing dot, into
 * out[ADDR_DOMAIN_MAX + 1].  Returns NULL or why it is not one. */
static const char *canon_domain(const char *text, char *out)
{
    char buf[ADDR_DOMAIN_MAX + 8];
    struct addr a;
    enum addr_error err;
    int n;

    if (text[0] == '\0')
        return "empty domain name";
    if (text[0] == '[')
        return "an address literal cannot be a hosted domain";
    for (const char *p = text; *p != '\0'; p++) {
        if (*p == '@' || *p == '<' || *p == '>' || *p == ':' || *p == ',' || *p == '"' ||
            *p == '\\' || (unsigned char)*p <= ' ')
            return "not a domain name";
    }
    n = snprintf(buf, sizeof(buf), "x@%s", text);
    if (n < 0 || (size_t)n >= sizeof(buf))
        return addr_strerror(ADDR_ERR_DOMAIN_LONG);
    if ((err = addr_parse(&a, buf, (size_t)n, NULL)) != ADDR_OK)
        return addr_strerror(err);
    if (a.domain_len == 0)
        return "empty domain name";
    memcpy(out, a.domain, a.domain_len + 1);
    return NULL;
}

/* Where an address entry came from, to name the first owner of a key. */
struct owner {
    const char *kind; /* "mailbox" / "alias" */
    const char *title;
};

/* alias_ok - whether an alias section has targets, all acceptable. */
static bool alias_ok(cfg_t *sec)
{
    char buf[ADDR_TEXT_MAX + 1];
    unsigned n = cfg_size(sec, "to");

    for (unsigned j = 0; j < n; j++) {
        const struct located *lv = cfg_getnptr(sec, "to", j);
        if (canon_address(lv->text, false, buf) != NULL)
            return false;
    }
    return n > 0;
}

/*
 * first_owner - the first mailbox/secondary/alias of cfg whose folded
 * canonical form is key (what the builder kept).  Only called when the
 * builder reports a duplicate, so a linear scan is fine.
 */
static bool first_owner(cfg_t *cfg, const char *key, struct owner *o)
{
    static const struct {
        const char *kind, *list;
    } kinds[] = {{"mailbox", "addresses"}, {"alias", NULL}};
    char buf[ADDR_TEXT_MAX + 1];

    for (size_t k = 0; k < 2; k++) {
        for (unsigned i = 0; i < cfg_size(cfg, kinds[k].kind); i++) {
            cfg_t *sec = cfg_getnsec(cfg, kinds[k].kind, i);
            const char *title = cfg_title(sec);
            bool hit;

            /* only what was added: a valid title, and for an alias valid targets */
            if (canon_address(title, true, buf) != NULL ||
                (kinds[k].list == NULL && !alias_ok(sec)))
                continue;
            hit = strcmp(buf, key) == 0;
            for (unsigned j = 0; !hit && kinds[k].list && j < cfg_size(sec, kinds[k].list); j++) {
                const struct located *lv = cfg_getnptr(sec, kinds[k].list, j);
                hit = canon_address(lv->text, true, buf) == NULL && strcmp(buf, key) == 0;
            }
            if (hit) {
                *o = (struct owner){kinds[k].kind, title};
                return true;
            }
        }
    }
    return false;
}

/* add_entry - add one address entry and report a duplicate; what names it
 * ("secondary address x of mailbox y").  Returns -1 only when out of memory. */
static int add_entry(struct parse_ctx *c, cfg_t *cfg, struct table_builder *b, enum table_kind kind,
                     const char *canon, const char *const *targets, size_t ntargets,
                     struct srcpos pos, const char *what)
{
    struct table_loc prev = {NULL, 0};
    char key[ADDR_TEXT_MAX + 1];
    struct owner o;
    int rc = table_builder_add_entry(b, kind, canon, targets, ntargets, ctx_loc(c, pos), &prev);

    if (rc < 0) {
        ctx_error(c, pos, "out of memory");
        return -1;
    }
    if (rc == 0)
        return 0;
    if (canon_address(canon, true, key) == NULL && first_owner(cfg, key, &o))
        ctx_error(c, pos, "%s is already claimed by %s %s at %s:%u%s", what, o.kind, o.title,
                  prev.file ? prev.file : "?", prev.line, again(c, pos, prev.file, prev.line));
    else
        ctx_error(c, pos, "%s is already defined at %s:%u%s", what, prev.file ? prev.file : "?",
                  prev.line, again(c, pos, prev.file, prev.line));
    return 0;
}

static struct srcpos sec_pos(const struct parse_ctx *c, const cfg_t *sec)
{
    return ctx_map(c, sec->line);
}

/* report_set - the outcome of a table_builder_set_* call. */
static int report_set(struct parse_ctx *c, int rc, struct srcpos pos, const char *domain,
                      const char *what, const struct table_loc *prev)
{
    if (rc == 1)
        ctx_error(c, pos, "domain %s: %s is already set at %s:%u", domain, what,
                  prev->file ? prev->file : "?", prev->line);
    else if (rc == -2)
        ctx_error(c, pos, "domain %s: not declared", domain);
    else if (rc < 0) {
        ctx_error(c, pos, "out of memory");
        return -1;
    }
    return 0;
}

/* Folded name of a domain section, for the duplicate check. */
struct domain_ref {
    char name[ADDR_DOMAIN_MAX + 1];
    unsigned index;
    bool ok, dup;
};

static int cmp_domain_ref(const void *a, const void *b)
{
    const struct domain_ref *x = a, *y = b;
    int r = strcmp(x->name, y->name);

    return r != 0 ? r : (x->index > y->index) - (x->index < y->index);
}

static int build_domains(struct parse_ctx *c, cfg_t *cfg, struct table_builder *b)
{
    unsigned n = cfg_size(cfg, "domain");
    struct domain_ref *refs = n ? calloc(n, sizeof(*refs)) : NULL, *sorted = NULL;
    int rc = -1;

    if (n > 0 && (refs == NULL || (sorted = malloc(n * sizeof(*sorted))) == NULL)) {
        ctx_error(c, ((struct srcpos){0, 0}), "out of memory");
        goto out;
    }
    for (unsigned i = 0; i < n; i++) {
        cfg_t *sec = cfg_getnsec(cfg, "domain", i);
        const char *why = canon_domain(cfg_title(sec), refs[i].name);

        refs[i].index = i;
        refs[i].ok = why == NULL;
        if (why != NULL)
            ctx_error(c, sec_pos(c, sec), "domain \"%s\": %s", cfg_title(sec), why);
    }
    /* "Example.ORG" and "example.org." are distinct titles to libconfuse;
     * sorted by (name, index), each run's first member is the original */
    if (n > 0) {
        memcpy(sorted, refs, n * sizeof(*sorted));
        qsort(sorted, n, sizeof(*sorted), cmp_domain_ref);
    }
    for (unsigned i = 0, j; i < n; i = j) {
        struct srcpos first = sec_pos(c, cfg_getnsec(cfg, "domain", sorted[i].index));

        for (j = i + 1;
             j < n && sorted[i].ok && sorted[j].ok && strcmp(sorted[i].name, sorted[j].name) == 0;
             j++) {
            cfg_t *sec = cfg_getnsec(cfg, "domain", sorted[j].index);
            const char *ff = first.file < c->nfiles ? c->files[first.file] : "?";

            refs[sorted[j].index].dup = true;
            ctx_error(c, sec_pos(c, sec), "domain \"%s\" is already defined at %s:%u%s",
                      cfg_title(sec), ff, first.line, again(c, sec_pos(c, sec), ff, first.line));
        }
    }
    for (unsigned i = 0; i < n; i++) {
        cfg_t *sec = cfg_getnsec(cfg, "domain", i);
        struct srcpos pos = sec_pos(c, sec);
        const char *name = refs[i].name, *why;
        const struct located *lv;
        struct table_loc prev;
        char buf[ADDR_TEXT_MAX + 1];
        long unknown;

        if (!refs[i].ok || refs[i].dup)
            continue;
        if (table_builder_add_domain(b, name, ctx_loc(c, pos)) != 0) {
            ctx_error(c, pos, "out of memory");
            goto out;
        }
        if ((lv = cfg_getptr(sec, "postmaster")) != NULL) {
            if ((why = canon_address(lv->text, false, buf)) != NULL)
                ctx_error(c, lv->pos, "domain %s: postmaster \"%s\": %s", name, lv->text, why);
            else if (report_set(
                         c, table_builder_set_postmaster(b, name, buf, ctx_loc(c, lv->pos), &prev),
                         lv->pos, name, "postmaster", &prev) != 0)
                goto out;
        }
        if ((lv = cfg_getptr(sec, "alias_domain")) != NULL) {
            char target[ADDR_DOMAIN_MAX + 1];
            if ((why = canon_domain(lv->text, target)) != NULL)
                ctx_error(c, lv->pos, "domain %s: alias_domain \"%s\": %s", name, lv->text, why);
            else if (report_set(c,
                                table_builder_set_alias_domain(b, name, target, ctx_loc(c, lv->pos),
                                                               &prev),
                                lv->pos, name, "alias_domain", &prev) != 0)
                goto out;
        }
        if ((lv = cfg_getptr(sec, "catch_all")) != NULL) {
            const char *target = buf;
            if ((why = canon_address(lv->text, false, buf)) != NULL)
                ctx_error(c, lv->pos, "domain %s: catch_all \"%s\": %s", name, lv->text, why);
            else if (report_set(c,
                                table_builder_set_catch_all(b, name, &target, 1,
                                                            ctx_loc(c, lv->pos), &prev),
                                lv->pos, name, "catch_all", &prev) != 0)
                goto out;
        }
        if ((unknown = cfg_getint(sec, "unknown_recipient")) != UNKNOWN_INHERIT &&
            report_set(c,
                       table_builder_set_unknown(b, name, (enum unknown_action)unknown,
                                                 ctx_loc(c, pos), &prev),
                       pos, name, "unknown_recipient", &prev) != 0)
            goto out;
    }
    rc = 0;
out:
    free(refs);
    free(sorted);
    return rc;
}

static int build_mailboxes(struct parse_ctx *c, cfg_t *cfg, struct table_builder *b)
{
    for (unsigned i = 0; i < cfg_size(cfg, "mailbox"); i++) {
        cfg_t *sec = cfg_getnsec(cfg, "mailbox", i);
        const char *title = cfg_title(sec), *why;
        struct srcpos pos = sec_pos(c, sec);
        char mbox[ADDR_TEXT_MAX + 1], buf[ADDR_TEXT_MAX + 1];
        char what[2 * ADDR_TEXT_MAX + 64];
        const char *target = mbox;
        bool ok;

        if ((why = canon_address(title, false, mbox)) != NULL)
            ctx_error(c, pos, "mailbox \"%s\": %s", title, why);
        ok = why == NULL;
        snprintf(what, sizeof(what), "mailbox %s", title);
        if (ok && add_entry(c, cfg, b, TABLE_MAILBOX, mbox, NULL, 0, pos, what) != 0)
            return -1;
        for (unsigned j = 0; j < cfg_size(sec, "addresses"); j++) {
            const struct located *lv = cfg_getnptr(sec, "addresses", j);

            if ((why = canon_address(lv->text, false, buf)) != NULL) {
                ctx_error(c, lv->pos, "mailbox %s: secondary address \"%s\": %s", title, lv->text,
                          why);
                continue;
            }
            if (!ok)
                continue;
            snprintf(what, sizeof(what), "secondary address %s of mailbox %s", lv->text, title);
            if (add_entry(c, cfg, b, TABLE_SECONDARY, buf, &target, 1, lv->pos, what) != 0)
                return -1;
        }
    }
    return 0;
}

static int build_aliases(struct parse_ctx *c, cfg_t *cfg, struct table_builder *b)
{
    char(*targets)[ADDR_TEXT_MAX + 1] = NULL;
    const char **ptrs = NULL;
    int rc = -1;

    for (unsigned i = 0; i < cfg_size(cfg, "alias"); i++) {
        cfg_t *sec = cfg_getnsec(cfg, "alias", i);
        const char *title = cfg_title(sec), *why;
        struct srcpos pos = sec_pos(c, sec);
        unsigned n = cfg_size(sec, "to"), good = 0;
        char addr[ADDR_TEXT_MAX + 1];
        char what[ADDR_TEXT_MAX + 64];
        bool ok;

        if ((why = canon_address(title, false, addr)) != NULL)
            ctx_error(c, pos, "alias \"%s\": %s", title, why);
        ok = why == NULL;
        if (n == 0) {
            ctx_error(c, pos, "alias %s: needs at least one target in `to`", title);
            continue;
        }
        free(targets);
        free(ptrs);
        targets = malloc(n * sizeof(*targets));
        ptrs = malloc(n * sizeof(*ptrs));
        if (targets == NULL || ptrs == NULL) {
            ctx_error(c, pos, "out of memory");
            goto out;
        }
        for (unsigned j = 0; j < n; j++) {
            const struct located *lv = cfg_getnptr(sec, "to", j);

            if ((why = canon_address(lv->text, false, targets[good])) != NULL) {
                ctx_error(c, lv->pos, "alias %s: target \"%s\": %s", title, lv->text, why);
                ok = false;
                continue;
            }
            ptrs[good] = targets[good];
            good++;
        }
        snprintf(what, sizeof(what), "alias %s", title);
        if (ok && add_entry(c, cfg, b, TABLE_ALIAS, addr, ptrs, good, pos, what) != 0)
            goto out;
    }
    rc = 0;
out:
    free(targets);
    free(ptrs);
    return rc;
}

/* fill_config - the daemon settings of conf from cfg.  Returns -1 when out
 * of memory (reported). */
static int fill_config(struct parse_ctx *c, cfg_t *cfg, struct config *conf, const char *path)
{
    static const struct {
        const char *name;
        size_t off;
    } strs[] = {
        {"socket", offsetof(struct config, socket)},
        {"user", offsetof(struct config, user)},
        {"group", offsetof(struct config, group)},
        {"pidfile", offsetof(struct config, pidfile)},
        {"socket_group", offsetof(struct config, socket_group)},
    };

    if ((conf->path = strdup(path)) == NULL)
        goto oom;
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        const char *v = cfg_getstr(cfg, strs[i].name);
        char **field = (char **)((char *)conf + strs[i].off);
        if (v != NULL && (*field = strdup(v)) == NULL)
            goto oom;
    }
    for (size_t i = 0; i < NWHERE; i++) {
        struct srcpos pos = c->where[i];
        char **field = (char **)((char *)&conf->where + where_fields[i].off);
        int n = pos.line > 0 && pos.file < c->nfiles
                    ? snprintf(NULL, 0, "%s:%u", c->files[pos.file], pos.line)
                    : -1;
        if (n >= 0 && ((*field = malloc((size_t)n + 1)) == NULL))
            goto oom;
        if (n >= 0)
            snprintf(*field, (size_t)n + 1, "%s:%u", c->files[pos.file], pos.line);
    }
    conf->socket_mode = (unsigned)strtoul(cfg_getstr(cfg, "socket_mode"), NULL, 8);
    conf->timeout = (unsigned)cfg_getint(cfg, "timeout");
    conf->log_level = (enum log_level)cfg_getint(cfg, "log_level");
    conf->dry_run = cfg_getbool(cfg, "dry_run") == cfg_true;
    return 0;
oom:
    ctx_error(c, ((struct srcpos){0, 0}), "out of memory");
    return -1;
}

/*
 * build - fill conf's settings and b's contents from a parsed cfg.  On
 * return *bp is the builder (NULL if it could not be made).  The table
 * files (relative names joined to the configuration's directory) outlive
 * cfg, for the loaders that run after cfg_free: *tables holds the
 * mailbox_table files first, then the table files.  Problems are
 * reported; returns -1 only when the load must stop at once.
 */
static int build(struct parse_ctx *c, cfg_t *cfg, struct config *conf, struct table_builder **bp,
                 struct table_file **tables, size_t *ntables)
{
    struct table_settings s = {0};
    const struct located *pm = cfg_getptr(cfg, "postmaster");
    char pmbuf[ADDR_TEXT_MAX + 1];
    const char **roles = NULL;
    unsigned nroles = cfg_size(cfg, "roles");
    struct table_builder *b = NULL;
    int rc = -1;

    if (fill_config(c, cfg, conf, c->files[0]) != 0)
        goto out;
    if (pm != NULL) {
        const char *why = canon_address(pm->text, false, pmbuf);
        if (why != NULL)
            ctx_error(c, pm->pos, "postmaster \"%s\": %s", pm->text, why);
        else
            s.postmaster = pmbuf;
        c->postmaster = pm->pos;
    }
    if (nroles > 0 && (roles = calloc(nroles, sizeof(*roles))) == NULL)
        goto oom;
    for (unsigned i = 0; i < nroles; i++)
        roles[i] = cfg_getnstr(cfg, "roles", i);
    s.roles = roles;
    s.nroles = nroles;
    s.delimiters = cfg_getstr(cfg, "recipient_delimiter");
    s.unknown = (enum unknown_action)cfg_getint(cfg, "unknown_recipient");
    s.max_depth = (unsigned)cfg_getint(cfg, "max_depth");
    s.max_targets = (unsigned)cfg_getint(cfg, "max_targets");
    if ((b = table_builder_new(&s)) == NULL)
        goto oom;
    *bp = b;
    if ((c->interned = calloc(c->nfiles, sizeof(*c->interned))) == NULL)
        goto oom;
    for (size_t i = 0; i < c->nfiles; i++)
        if ((c->interned[i] = table_builder_intern_file(b, c->files[i])) == NULL)
            goto oom;
    if (build_domains(c, cfg, b) != 0 || build_mailboxes(c, cfg, b) != 0 ||
        build_aliases(c, cfg, b) != 0)
        goto out;
    size_t nmailbox = cfg_size(cfg, "mailbox_table");
    *ntables = nmailbox + cfg_size(cfg, "table");
    if (*ntables > 0 && (*tables = calloc(*ntables, sizeof(**tables))) == NULL)
        goto oom;
    for (size_t i = 0; i < *ntables; i++) {
        const struct located *lv = i < nmailbox
                                       ? cfg_getnptr(cfg, "mailbox_table", (unsigned)i)
                                       : cfg_getnptr(cfg, "table", (unsigned)(i - nmailbox));
        (*tables)[i].pos = lv->pos;
        (*tables)[i].mailboxes = i < nmailbox;
        if (((*tables)[i].path = join_path(c->base_dir, lv->text)) == NULL)
            goto oom;
    }
    rc = 0;
    goto out;
oom:
    ctx_error(c, ((struct srcpos){0, 0}), "out of memory");
out:
    free(roles);
    return rc;
}

/* ------------------------------------------------------------------ */

static void ctx_free(struct parse_ctx *c)
{
    for (size_t i = 0; i < c->nfiles; i++)
        free(c->files[i]);
    free(c->files);
    free(c->last_line);
    free(c->interned);
    free(c->segs);
    free(c->out);
    free(c->sec_lines);
    free(c->base_dir);
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t n;
    char *dir;

    if (slash == NULL)
        return NULL;
    n = slash == path ? 1 : (size_t)(slash - path);
    if ((dir = malloc(n + 1)) != NULL) {
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    return dir;
}

/*
 * load_table_file - add one `table` / `mailbox_table` file to b.  A file
 * that cannot be read is reported at the configuration line naming it;
 * what is wrong inside it, at its own file:line (virtual_map.c).
 */
static void load_table_file(struct parse_ctx *c, struct table_builder *b,
                            const struct table_file *tf)
{
    const char *kind = tf->mailboxes ? "mailbox_table" : "table";
    size_t len = 0;
    char *text = read_all(tf->path, &len);

    if (text == NULL) {
        ctx_error(c, tf->pos, "%s file %s: %s", kind, tf->path, strerror(errno));
        return;
    }
    if (tf->mailboxes)
        virtual_map_load_mailboxes_buffer(b, tf->path, text, len, c->d);
    else
        virtual_map_load_buffer(b, tf->path, text, len, c->d);
    free(text);
}

/*
 * load - config_load and config_load_buffer: the main file is read from
 * path when text is NULL, else it is the len bytes at text.
 */
static struct config *load(const char *path, const char *text, size_t len, struct diag *d)
{
    struct parse_ctx c = {.d = d, .out_line = 1};
    size_t errors0 = diag_count(d, DIAG_ERROR);
    struct config *conf = NULL;
    struct table_builder *b = NULL;
    struct table *t = NULL;
    struct table_file *tables = NULL;
    size_t ntables = 0;
    struct validate_where where = {.settings_file = path};
    cfg_t *cfg = NULL;
    FILE *fp = NULL;
    bool ok = false;
    int rc;

    if ((conf = calloc(1, sizeof(*conf))) == NULL) {
        diag_add(d, DIAG_ERROR, path, 0, "out of memory");
        return NULL;
    }
    if (strchr(path, '/') != NULL && (c.base_dir = dir_of(path)) == NULL) {
        diag_add(d, DIAG_ERROR, path, 0, "out of memory");
        goto out;
    }
    if ((text == NULL ? pp_file(&c, path, NULL, 0)
                      : pp_source(&c, path, text, len, (struct srcpos){0, 0}, 0)) != 0)
        goto out;
    /* a final newline: no token ends at EOF, and fmemopen gets a non-empty buffer */
    if (out_put(&c, "\n", 1) != 0) {
        diag_add(d, DIAG_ERROR, path, 0, "out of memory");
        goto out;
    }

    pthread_mutex_lock(&confuse_lock);
    active = &c;
    if ((cfg = schema_new()) == NULL || (fp = fmemopen(c.out, c.outlen, "r")) == NULL) {
        diag_add(d, DIAG_ERROR, path, 0, "out of memory");
    } else {
        free(cfg->filename);
        if ((cfg->filename = strdup(path)) == NULL) {
            diag_add(d, DIAG_ERROR, path, 0, "out of memory");
        } else {
            rc = cfg_parse_fp(cfg, fp);
            /* libconfuse said nothing (an empty ${VAR} as an option name): say
             * where its lexer stopped */
            if (rc != CFG_SUCCESS && diag_count(d, DIAG_ERROR) == errors0)
                ctx_error(&c, ctx_map(&c, cfg->line), "cannot parse the configuration");
            /* a syntax error leaves sections half-read: build nothing from them */
            if (rc == CFG_SUCCESS)
                ok = build(&c, cfg, conf, &b, &tables, &ntables) == 0;
        }
    }
    if (fp != NULL)
        fclose(fp);
    if (cfg != NULL)
        cfg_free(cfg);
    active = NULL;
    pthread_mutex_unlock(&confuse_lock);
    if (!ok)
        goto out;

    for (size_t i = 0; i < ntables; i++)
        load_table_file(&c, b, &tables[i]);
    if (diag_count(d, DIAG_ERROR) != errors0)
        goto out;
    if ((t = table_builder_finish(b)) == NULL) {
        diag_add(d, DIAG_ERROR, path, 0, "out of memory");
        goto out;
    }
    virtual_map_report_captures(b, t, d);
    where.postmaster = ctx_loc(&c, c.postmaster);
    if (validate_table_at(t, b, &where, d) > 0 || diag_count(d, DIAG_ERROR) != errors0) {
        table_unref(t);
        t = NULL;
        goto out;
    }
    conf->table = t;

out:
    for (size_t i = 0; i < ntables; i++)
        free(tables[i].path);
    free(tables);
    table_builder_free(b);
    ctx_free(&c);
    if (conf->table == NULL) {
        config_free(conf);
        conf = NULL;
    }
    return conf;
}

struct config *config_load(const char *path, struct diag *d)
{
    return load(path, NULL, 0, d);
}

struct config *config_load_buffer(const char *name, const char *buf, size_t len, struct diag *d)
{
    return load(name, buf != NULL ? buf : "", buf != NULL ? len : 0, d);
}

void config_free(struct config *c)
{
    if (c == NULL)
        return;
    free(c->path);
    free(c->socket);
    free(c->user);
    free(c->group);
    free(c->pidfile);
    free(c->socket_group);
    for (size_t i = 0; i < NWHERE; i++)
        free(*(char **)((char *)&c->where + where_fields[i].off));
    table_unref(c->table);
    free(c);
}
