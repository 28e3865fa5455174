/*
 * config_lex.c - the text libconfuse reads, and its messages at file:line
 * (see config_lex.h).  Owns a pre-pass over the configuration files and
 * the one bridge to libconfuse.  Every workaround for libconfuse 3.3's
 * bugs (Debian 12; none fixed in a release) is here; each, with the test
 * that pins it (test/check_config.c unless named otherwise):
 *
 *  1. Wrong line numbers after comments ('#' and '//' lines count two, a
 *     block comment one extra) and 2. "unexpected token" for a comment in
 *     a list: the pre-pass blanks every comment, newlines kept, so
 *     libconfuse never sees one.  test_errors (first rows), test_comments,
 *     test_include_locations, the comment rows of test_places.
 *  3. The include stack is not unwound after an error in an included
 *     file; after ten, every include fails ("includes nested too deeply")
 *     for the rest of the process, as a reloading daemon would see.
 *     libconfuse never sees include(): the pre-pass splices the files into
 *     one text, and a segment table maps its lines back to file:line.
 *     test_include_after_failures; the pre-pass's own include checks:
 *     test_include_loop, test_include_missing, test_buffer_include_at_end.
 *  4. A section's line is its closing brace's: the pre-pass records each
 *     top-level title's line and on_section_end puts it back.  The
 *     duplicate rows of test_errors; test_places.
 *  5. CFGF_NO_TITLE_DUPES only says "found duplicate title 'x'": on_error
 *     matches that text and names the first section's place.  The
 *     duplicate rows of test_errors; "included more than once" in
 *     test_places.
 *  6. A section open at the end is accepted; an empty ${VAR} as an option
 *     name fails without a word; "premature end of file" is a line past
 *     the end.  The pre-pass reports the brace, run_parse says "cannot
 *     parse the configuration", config_lex_map clamps to the last line.
 *     test_errors and test_places ("never closed", "cannot parse",
 *     "premature end of file").
 *  7. Titled sections cost quadratic time (each title is compared with
 *     every earlier one: 40k sections, 6 s).  Not worked around: bulk data
 *     belongs in table / mailbox_table files (hosted-milter.conf(5));
 *     test/bench/bench.py measures both.
 *  8. The lexer is global and callbacks get no user pointer: parses run
 *     under confuse_lock (it cannot go while the lexer is global), and a
 *     callback finds its parse from cfg->filename, which libconfuse copies
 *     into every section and never opens here.  Every test that reports a
 *     place from a callback; fuzz_config (test/fuzz), which loads again
 *     and again in one process.
 */
#include "config_lex.h"

#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define MAX_INCLUDE_DEPTH 16
/* cfg->filename during a parse: this prefix, then the config_lex's address */
#define TOKEN_PREFIX "hosted-milter-load:"

/* A buffer line's origin: segment i covers buffer lines from buf_line up
 * to the next segment's start, and buffer line buf_line is line file_line
 * of files[file]. */
struct segment {
    unsigned buf_line;
    unsigned file;
    unsigned file_line;
};

struct lex_file {
    char *name;         /* as shown in diagnostics */
    unsigned last_line; /* 1 when empty */
};

enum { TOK_NONE, TOK_WORD, TOK_EQ, TOK_OTHER };

struct config_lex {
    struct diag *d;
    struct lex_file *files; /* every file read, the main file first */
    size_t nfiles, capfiles;
    size_t base_len; /* bytes of files[0].name naming its directory; 0: none */
    struct segment *segs;
    size_t nsegs, capsegs;
    struct util_buf out; /* the comment-free, include-spliced text */
    unsigned out_line;   /* current line of out, from 1 */
    /* buffer line of the title of each top-level section, in order */
    unsigned *sec_lines;
    size_t nsec, capsec;
    size_t sec_seen;        /* sections ended so far in the parse */
    int depth;              /* brace depth of the scan */
    struct config_pos open; /* where the outermost open brace is */
    int prev_tok;           /* last significant token (TOK_*) */
    unsigned prev_line;     /* and its buffer line */
    bool oom;               /* sticky: some allocation failed */
    void *user;             /* of the parse in progress */
};

/* One file's text being scanned. */
struct scan {
    const char *text;
    size_t len, i;
    unsigned file, line;
    int level; /* include depth */
};

static pthread_mutex_t confuse_lock = PTHREAD_MUTEX_INITIALIZER;

/* ------------------------------------------------------------------ */
/* places */

struct config_pos config_lex_map(const struct config_lex *x, int buf_line)
{
    struct config_pos pos = {0, 0};
    size_t lo = 0, hi = x->nsegs;

    if (buf_line <= 0 || x->nsegs == 0)
        return pos;
    /* last segment with buf_line <= the line */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (x->segs[mid].buf_line <= (unsigned)buf_line)
            lo = mid;
        else
            hi = mid;
    }
    pos.file = x->segs[lo].file;
    pos.line = x->segs[lo].file_line + ((unsigned)buf_line - x->segs[lo].buf_line);
    /* libconfuse's "premature end of file" is on the line after the last
     * newline, the one config_lex_new adds: say the file's last line */
    if (pos.file < x->nfiles && pos.line > x->files[pos.file].last_line)
        pos.line = x->files[pos.file].last_line;
    return pos;
}

size_t config_lex_nfiles(const struct config_lex *x)
{
    return x->nfiles;
}

const char *config_lex_file(const struct config_lex *x, unsigned file)
{
    return file < x->nfiles ? x->files[file].name : NULL;
}

struct diag_loc config_lex_loc(const struct config_lex *x, struct config_pos pos)
{
    return (struct diag_loc){config_lex_file(x, pos.file), pos.line};
}

const char *config_lex_again(const struct config_lex *x, struct config_pos pos, const char *file,
                             unsigned line)
{
    size_t reads = 0;

    if (pos.file >= x->nfiles || file == NULL || pos.line != line ||
        strcmp(x->files[pos.file].name, file) != 0)
        return "";
    for (size_t i = 0; i < x->nfiles; i++)
        reads += strcmp(x->files[i].name, file) == 0;
    return reads > 1 ? " (that file is included more than once)" : "";
}

char *config_lex_path(const struct config_lex *x, const char *name)
{
    size_t dl = x->base_len, nl = strlen(name);
    char *p;

    if (dl == 0 || name[0] == '/')
        return strdup(name);
    if ((p = malloc(dl + nl + 2)) == NULL)
        return NULL;
    memcpy(p, x->files[0].name, dl);
    if (p[dl - 1] != '/')
        p[dl++] = '/';
    memcpy(p + dl, name, nl + 1);
    return p;
}

static void lex_error(struct config_lex *x, struct config_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void lex_error(struct config_lex *x, struct config_pos pos, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    diag_vadd_loc(x->d, DIAG_ERROR, config_lex_loc(x, pos), fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------------ */
/* the pre-pass: output, segments, files */

/* out_put - append n bytes to the output; 0, or -1 with x->oom set. */
static int out_put(struct config_lex *x, const char *s, size_t n)
{
    if (util_buf_append(&x->out, s, n) != 0) {
        x->oom = true;
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\n')
            x->out_line++;
    return 0;
}

static int add_segment(struct config_lex *x, unsigned file, unsigned file_line)
{
    if (util_grow((void **)&x->segs, &x->capsegs, x->nsegs + 1, sizeof(*x->segs)) != 0) {
        x->oom = true;
        return -1;
    }
    x->segs[x->nsegs++] = (struct segment){x->out_line, file, file_line};
    return 0;
}

static int add_file(struct config_lex *x, const char *name, unsigned *idx)
{
    char *copy = strdup(name);

    if (copy == NULL ||
        util_grow((void **)&x->files, &x->capfiles, x->nfiles + 1, sizeof(*x->files)) != 0) {
        free(copy);
        x->oom = true;
        return -1;
    }
    /* last_line: none until the file has been read */
    x->files[x->nfiles] = (struct lex_file){copy, UINT_MAX};
    *idx = (unsigned)x->nfiles++;
    return 0;
}

static int is_word_char(char ch)
{
    return ch != '\0' && strchr(" \t\r\n#\"'={}()+,", ch) == NULL;
}

/* word_end - the end of the bare word at text[i]: it stops before a
 * comment opener. */
static size_t word_end(const char *text, size_t len, size_t i)
{
    while (i < len && is_word_char(text[i]) &&
           !(text[i] == '/' && i + 1 < len && (text[i + 1] == '/' || text[i + 1] == '*')))
        i++;
    return i;
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

/* ------------------------------------------------------------------ */
/* the pre-pass: include() */

static int pp_file(struct config_lex *x, const char *path, const struct config_pos *from,
                   int level);

static size_t skip_blanks(const char *text, size_t len, size_t i)
{
    while (i < len && (text[i] == ' ' || text[i] == '\t'))
        i++;
    return i;
}

/* include_name - the file name of `include ( "file" )` with s->i at the
 * word "include": a new string ("" when malformed, NULL when out of
 * memory), with *after the index after ')'. */
static char *include_name(const struct scan *s, size_t *after)
{
    const char *text = s->text;
    size_t len = s->len, i = skip_blanks(text, len, s->i + strlen("include")), start, end;
    unsigned nl = 0;

    if (i >= len || text[i] != '(')
        return strdup("");
    start = i = skip_blanks(text, len, i + 1);
    if (i < len && (text[i] == '"' || text[i] == '\'')) {
        if ((end = scan_string(text, len, i, &nl)) == 0 || nl != 0)
            return strdup("");
    } else {
        end = word_end(text, len, i);
    }
    i = skip_blanks(text, len, end);
    if (end == start || i >= len || text[i] != ')')
        return strdup("");
    *after = i + 1;
    return unquote(text, start, end);
}

/*
 * pp_include - s->i is at the word "include" at top level: splice the
 * file of `include ( "file" )` and leave s->i after ')'.  Returns 0, or
 * -1 after reporting the problem (or setting x->oom).
 */
static int pp_include(struct config_lex *x, struct scan *s)
{
    struct config_pos at = {s->file, s->line};
    size_t after = 0;
    char *name = include_name(s, &after), *path = NULL;
    int rc = -1;

    if (name == NULL || (name[0] != '\0' && (path = config_lex_path(x, name)) == NULL)) {
        x->oom = true;
        goto out;
    }
    if (name[0] == '\0') {
        lex_error(x, at, "malformed include: expected include(\"file\")");
        goto out;
    }
    /* the included text starts on a buffer line of its own ... */
    if (out_put(x, "\n", 1) != 0 || pp_file(x, path, &at, s->level + 1) != 0)
        goto out;
    /* ... and the rest of the including line continues on the next one */
    if (x->out.len > 0 && x->out.p[x->out.len - 1] != '\n' && out_put(x, "\n", 1) != 0)
        goto out;
    if (add_segment(x, s->file, s->line) != 0)
        goto out;
    x->prev_tok = TOK_NONE;
    s->i = after;
    rc = 0;
out:
    free(name);
    free(path);
    return rc;
}

/* ------------------------------------------------------------------ */
/* the pre-pass: one file's text */

/* pp_block_comment - s->i at a block comment: one space plus its
 * newlines.  Returns 0 or -1 (reported). */
static int pp_block_comment(struct config_lex *x, struct scan *s)
{
    struct config_pos at = {s->file, s->line};
    const char *text = s->text;
    size_t len = s->len, i;

    if (out_put(x, " ", 1) != 0)
        return -1;
    for (i = s->i + 2; i < len && !(text[i] == '*' && i + 1 < len && text[i + 1] == '/'); i++) {
        if (text[i] == '\n') {
            s->line++;
            if (out_put(x, "\n", 1) != 0)
                return -1;
        }
    }
    if (i >= len) {
        lex_error(x, at, "unterminated /* comment");
        return -1;
    }
    s->i = i + 2;
    return 0;
}

/* pp_word - copy text[s->i..end) as a word (a quoted string, a ${VAR}, a
 * bare word) that spans nl newlines. */
static int pp_word(struct config_lex *x, struct scan *s, size_t end, unsigned nl)
{
    x->prev_tok = TOK_WORD;
    x->prev_line = x->out_line;
    if (out_put(x, s->text + s->i, end - s->i) != 0)
        return -1;
    s->line += nl;
    s->i = end;
    return 0;
}

/* pp_token - a quoted string, a ${VAR} or a bare word at s->i (include()
 * is spliced).  Returns 1 when there is none, else 0 or -1 (reported). */
static int pp_token(struct config_lex *x, struct scan *s)
{
    const char *text = s->text, *close;
    size_t len = s->len, i = s->i, end;
    unsigned nl = 0;

    if (text[i] == '"' || text[i] == '\'') {
        if ((end = scan_string(text, len, i, &nl)) == 0) {
            lex_error(x, ((struct config_pos){s->file, s->line}), "unterminated string");
            return -1;
        }
        return pp_word(x, s, end, nl);
    }
    if (text[i] == '$' && i + 1 < len && text[i + 1] == '{' &&
        (close = memchr(text + i, '}', len - i)) != NULL) {
        /* ${VAR}: libconfuse substitutes it; a word for us */
        end = (size_t)(close - text) + 1;
        for (size_t k = i; k < end; k++)
            nl += text[k] == '\n';
        return pp_word(x, s, end, nl);
    }
    if (!is_word_char(text[i]))
        return 1;
    if ((end = word_end(text, len, i)) == i)
        end++; /* a lone '/' before another comment opener */
    if (x->depth == 0 && x->prev_tok != TOK_EQ && end - i == 7 &&
        memcmp(text + i, "include", 7) == 0)
        return pp_include(x, s);
    return pp_word(x, s, end, 0);
}

/* pp_punct - one other byte at s->i: braces, '=' and '+=' steer the scan
 * state; everything is copied. */
static int pp_punct(struct config_lex *x, struct scan *s)
{
    char ch = s->text[s->i];

    switch (ch) {
    case '\n':
        s->line++;
        break;
    case ' ':
    case '\t':
    case '\r':
        break;
    case '{':
        /* at top level, a brace not after '=' / '+=' opens a section */
        if (x->depth == 0 && x->prev_tok == TOK_WORD) {
            if (util_grow((void **)&x->sec_lines, &x->capsec, x->nsec + 1, sizeof(*x->sec_lines)) !=
                0) {
                x->oom = true;
                return -1;
            }
            x->sec_lines[x->nsec++] = x->prev_line;
        }
        if (x->depth++ == 0)
            x->open = (struct config_pos){s->file, s->line};
        x->prev_tok = TOK_OTHER;
        break;
    case '}':
        if (x->depth > 0)
            x->depth--;
        x->prev_tok = TOK_OTHER;
        break;
    case '=':
        x->prev_tok = TOK_EQ;
        break;
    case '+':
        if (s->i + 1 < s->len && s->text[s->i + 1] == '=') {
            x->prev_tok = TOK_EQ;
            s->i += 2;
            return out_put(x, "+=", 2);
        }
        break;
    default:
        x->prev_tok = TOK_OTHER;
        break;
    }
    s->i++;
    return out_put(x, &ch, 1);
}

/*
 * pp_text - append one file's text to x->out without comments, splicing
 * include() calls and recording section titles.  Returns 0, or -1 after
 * reporting the problem (or setting x->oom).
 */
static int pp_text(struct config_lex *x, struct scan *s)
{
    while (s->i < s->len) {
        const char *text = s->text;
        size_t i = s->i;
        int rc;

        if (text[i] == '\0') {
            lex_error(x, ((struct config_pos){s->file, s->line}), "NUL byte in configuration file");
            return -1;
        }
        if (text[i] == '#' || (text[i] == '/' && i + 1 < s->len && text[i + 1] == '/')) {
            while (s->i < s->len && text[s->i] != '\n')
                s->i++;
            continue;
        }
        if (text[i] == '/' && i + 1 < s->len && text[i + 1] == '*')
            rc = pp_block_comment(x, s);
        else if ((rc = pp_token(x, s)) == 1)
            rc = pp_punct(x, s);
        if (rc != 0)
            return -1;
    }
    return 0;
}

/*
 * pp_source - append len bytes of text, the content of the file named
 * path, to x->out.  at is where it was included ({0, 0} for the main
 * file).  Returns 0, or -1 after reporting.
 */
static int pp_source(struct config_lex *x, const char *path, const char *text, size_t len,
                     int level)
{
    struct scan s = {text, len, 0, 0, 1, level};
    int rc;

    if (add_file(x, path, &s.file) != 0 || add_segment(x, s.file, 1) != 0)
        return -1;
    rc = pp_text(x, &s);
    x->files[s.file].last_line = 1;
    for (size_t i = 0; i < len; i++)
        if (text[i] == '\n' && i + 1 < len)
            x->files[s.file].last_line++;
    /* libconfuse itself accepts a section left open at the end */
    if (rc == 0 && level == 0 && x->depth > 0) {
        lex_error(x, x->open, "'{' is never closed");
        rc = -1;
    }
    return rc;
}

/*
 * pp_file - read path and append it to x->out.  from is where it was
 * included (NULL for the main file).  Returns 0, or -1 after reporting.
 */
static int pp_file(struct config_lex *x, const char *path, const struct config_pos *from, int level)
{
    struct config_pos at = from ? *from : (struct config_pos){0, 0};
    size_t len = 0;
    const char *what;
    char *text;
    unsigned inc;
    int rc, err;

    if (level > MAX_INCLUDE_DEPTH) {
        lex_error(x, at, "include(\"%s\"): includes nested too deeply (a loop?)", path);
        return -1;
    }
    if ((err = util_read_file(path, &text, &len, &what)) != 0) {
        if (from == NULL)
            diag_add(x->d, DIAG_ERROR, path, 0, "cannot open: %s", strerror(err));
        else
            lex_error(x, at, "include(\"%s\"): cannot open: %s", path, strerror(err));
        return -1;
    }
    inc = (unsigned)x->nfiles; /* the index pp_source gives it */
    rc = pp_source(x, path, text, len, level);
    free(text);
    if (rc != 0 || from == NULL)
        return rc;
    /* an included file is whole: a statement it leaves open would take its
     * end from the including file, and the error the wrong place */
    if (x->depth > 0) {
        lex_error(x, x->open, "'{' is never closed");
        return -1;
    }
    if (x->prev_tok == TOK_EQ) {
        lex_error(x, ((struct config_pos){inc, x->files[inc].last_line}),
                  "value missing at the end of the file");
        return -1;
    }
    return 0;
}

struct config_lex *config_lex_new(const char *path, const char *text, size_t len, struct diag *d)
{
    struct config_lex *x = calloc(1, sizeof(*x));
    const char *slash;
    int rc = -1;

    if (x == NULL) {
        diag_add(d, DIAG_ERROR, path, 0, "out of memory");
        return NULL;
    }
    x->d = d;
    x->out_line = 1;
    if ((slash = strrchr(path, '/')) != NULL)
        x->base_len = slash == path ? 1 : (size_t)(slash - path);
    if ((text == NULL ? pp_file(x, path, NULL, 0) : pp_source(x, path, text, len, 0)) == 0)
        /* a final newline: no token ends at EOF, and fmemopen gets a
         * non-empty buffer */
        rc = out_put(x, "\n", 1);
    if (x->oom)
        diag_add(d, DIAG_ERROR, path, 0, "out of memory");
    if (rc != 0) {
        config_lex_free(x);
        return NULL;
    }
    return x;
}

void config_lex_free(struct config_lex *x)
{
    if (x == NULL)
        return;
    for (size_t i = 0; i < x->nfiles; i++)
        free(x->files[i].name);
    free(x->files);
    free(x->segs);
    util_buf_free(&x->out);
    free(x->sec_lines);
    free(x);
}

/* ------------------------------------------------------------------ */
/* libconfuse callbacks */

/* lex_of - the config_lex whose parse cfg belongs to, or NULL. */
static struct config_lex *lex_of(const cfg_t *cfg)
{
    size_t n = strlen(TOKEN_PREFIX);
    void *p = NULL;

    if (cfg == NULL || cfg->filename == NULL || strncmp(cfg->filename, TOKEN_PREFIX, n) != 0 ||
        sscanf(cfg->filename + n, "%p", &p) != 1)
        return NULL;
    return p;
}

struct config_pos config_lex_pos(const cfg_t *cfg)
{
    const struct config_lex *x = lex_of(cfg);

    return x != NULL ? config_lex_map(x, cfg->line) : (struct config_pos){0, 0};
}

void *config_lex_user(const cfg_t *cfg)
{
    const struct config_lex *x = lex_of(cfg);

    return x != NULL ? x->user : NULL;
}

void config_lex_nomem(const cfg_t *cfg)
{
    struct config_lex *x = lex_of(cfg);

    if (x != NULL)
        x->oom = true;
}

/*
 * dup_title - say where the first of two top-level sections with the same
 * title is (libconfuse only names the title).  Returns false when that is
 * not clear (the title is used by sections of several kinds).
 */
static bool dup_title(struct config_lex *x, cfg_t *cfg, const char *title)
{
    const char *kind = NULL;
    cfg_t *first = NULL;

    for (const cfg_opt_t *o = cfg->opts; o->name != NULL; o++) {
        cfg_t *sec = o->type == CFGT_SEC && (o->flags & CFGF_TITLE) != 0
                         ? cfg_gettsec(cfg, o->name, title)
                         : NULL;
        if (sec != NULL) {
            if (first != NULL)
                return false;
            first = sec;
            kind = o->name;
        }
    }
    if (first == NULL)
        return false;
    struct config_pos fp = config_lex_map(x, first->line), here = config_lex_pos(cfg);
    const char *ff = fp.file < x->nfiles ? x->files[fp.file].name : "?";
    lex_error(x, here, "%s \"%s\" is already defined at %s:%u%s", kind, title, ff, fp.line,
              config_lex_again(x, here, ff, fp.line));
    return true;
}

/* on_error - every libconfuse message becomes "file:line: message". */
static void on_error(cfg_t *cfg, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void on_error(cfg_t *cfg, const char *fmt, va_list ap)
{
    struct config_lex *x = lex_of(cfg);

    if (x == NULL)
        return;
    /* the untranslated text of libconfuse's CFGF_NO_TITLE_DUPES error */
    if (strcmp(fmt, "found duplicate title '%s'") == 0) {
        va_list ap2;
        const char *title;
        bool done;

        va_copy(ap2, ap);
        title = va_arg(ap2, const char *);
        done = title != NULL && dup_title(x, cfg, title);
        va_end(ap2);
        if (done)
            return;
    }
    diag_vadd_loc(x->d, DIAG_ERROR, config_lex_loc(x, config_lex_pos(cfg)), fmt, ap);
}

void config_lex_warn(cfg_t *cfg, const char *fmt, ...)
{
    struct config_lex *x = lex_of(cfg);
    va_list ap;

    va_start(ap, fmt);
    if (x != NULL)
        diag_vadd_loc(x->d, DIAG_WARNING, config_lex_loc(x, config_lex_pos(cfg)), fmt, ap);
    va_end(ap);
}

/* on_section_end - put the line of a top-level section's title where
 * libconfuse left its closing brace's (the k-th section to end is the
 * k-th the pre-pass saw open). */
static int on_section_end(cfg_t *cfg, cfg_opt_t *opt)
{
    struct config_lex *x = lex_of(cfg);
    unsigned n = cfg_opt_size(opt);
    cfg_t *sec = n > 0 ? cfg_opt_getnsec(opt, n - 1) : NULL;

    if (x == NULL || sec == NULL)
        return 0;
    if (x->sec_seen < x->nsec)
        sec->line = (int)x->sec_lines[x->sec_seen];
    x->sec_seen++;
    return 0;
}

/* run_parse - cfg_parse_fp over x's text as the file named by the token;
 * 0 when parsed, -1 when not (reported, or out of memory). */
static int run_parse(struct config_lex *x, cfg_t *cfg)
{
    char token[sizeof(TOKEN_PREFIX) + 3 * sizeof(void *) + 8];
    size_t errors0 = diag_count(x->d, DIAG_ERROR);
    FILE *fp;
    int rc;

    snprintf(token, sizeof(token), "%s%p", TOKEN_PREFIX, (void *)x);
    free(cfg->filename);
    if ((cfg->filename = strdup(token)) == NULL ||
        (fp = fmemopen(x->out.p, x->out.len, "r")) == NULL) {
        x->oom = true;
        return -1;
    }
    cfg_set_error_function(cfg, on_error);
    for (const cfg_opt_t *o = cfg->opts; o->name != NULL; o++)
        if (o->type == CFGT_SEC)
            cfg_set_validate_func(cfg, o->name, on_section_end);
    rc = cfg_parse_fp(cfg, fp);
    fclose(fp);
    /* libconfuse said nothing (an empty ${VAR} as an option name): say
     * where its lexer stopped */
    if (rc != CFG_SUCCESS && !x->oom && diag_count(x->d, DIAG_ERROR) == errors0)
        lex_error(x, config_lex_map(x, cfg->line), "cannot parse the configuration");
    return rc == CFG_SUCCESS ? 0 : -1;
}

int config_lex_parse(struct config_lex *x, cfg_opt_t *opts, void *user,
                     int (*use)(cfg_t *cfg, void *user))
{
    cfg_t *cfg;
    int rc = -1;

    pthread_mutex_lock(&confuse_lock);
    x->user = user;
    x->sec_seen = 0;
    if ((cfg = cfg_init(opts, CFGF_NONE)) == NULL)
        x->oom = true;
    /* a syntax error leaves sections half-read: use nothing from them */
    else if (run_parse(x, cfg) == 0)
        rc = use(cfg, user);
    cfg_free(cfg);
    x->user = NULL;
    pthread_mutex_unlock(&confuse_lock);
    if (x->oom)
        diag_add(x->d, DIAG_ERROR, x->files[0].name, 0, "out of memory");
    return rc;
}
