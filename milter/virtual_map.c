/*
 * virtual_map.c - loader for Postfix virtual(5) text files (see virtual_map.h).
 *
 * Owns the cutting of a file (or a memory buffer) into logical lines the way
 * postmap reads them, the classification of each line into one of the four
 * virtual(5) forms, and the diagnostics for lines that Postfix would read
 * differently or that hosted-milter cannot honour.  The parser never trusts
 * its input: any byte string is safe (it is fuzzed through
 * virtual_map_load_buffer).
 */
#include "virtual_map.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "addr.h"
#include "util.h"

/* Longest logical line accepted; longer ones are an error and skipped. */
#define VMAP_LINE_MAX (1024 * 1024)
/* Longest excerpt of the input quoted in a message. */
#define SHOW_MAX 80

/* The forms of a left-hand side. */
enum key_form {
    KEY_ADDRESS,   /* user@domain */
    KEY_AT_DOMAIN, /* @domain */
    KEY_DOMAIN,    /* domain */
};

/* What an @domain line set, to report a second @domain line of the other
 * form (catch-all vs alias domain), which the builder cannot see. */
enum at_form {
    AT_CATCH_ALL,
    AT_ALIAS_DOMAIN,
};

struct at_line {
    size_t name_off; /* offset of the domain in at_names */
    unsigned line;
    enum at_form form;
    bool reported; /* the builder already reported it as a duplicate */
};

struct vmap {
    struct table_builder *b;
    struct diag *d;
    const char *file; /* interned in the builder */
    bool mailboxes;   /* virtual_mailbox_maps form: every key is a mailbox */
    int errors;
    bool oom;

    /* the logical line being parsed, NUL-terminated */
    struct util_buf line;
    unsigned lineno; /* physical line where it started */
    bool too_long;   /* longer than VMAP_LINE_MAX: not all of it is in line */
    bool has_nul;    /* a NUL byte somewhere in it */
    bool orphan;     /* it starts with white space: continues nothing */

    /* canonical targets of the line: texts in tbuf at toffs */
    struct util_buf tbuf;
    size_t *toffs;
    const char **targets;
    size_t ntargets, tcap, targets_cap;

    /* @domain lines, for duplicates across the two forms */
    struct util_buf at_names;
    struct at_line *at;
    size_t nat, atcap;
};

static bool is_space(char c)
{
    /* Postfix ISSPACE in the C locale: CR is white space, so CRLF files
     * read the same as LF files. */
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/*
 * show - s (n bytes) made safe to quote in a message: util_escape_hex's
 * forms (CR and LF as \x0d \x0a), cut with "..." once SHOW_MAX
 * characters are out.  Returns out.
 */
static const char *show(char out[SHOW_MAX + 8], const char *s, size_t n)
{
    size_t o = 0;

    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (o >= SHOW_MAX) {
            memcpy(out + o, "...", 4);
            break;
        }
        o += util_escape_hex(out + o, 5, s + i, 1);
    }
    return out;
}

static void error_at(struct vmap *v, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* error_at - one error at file:line; the message is formatted here so that
 * diag_add gets a plain "%s". */
static void error_at(struct vmap *v, unsigned line, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    diag_add(v->d, DIAG_ERROR, v->file, line, "%s", msg);
    v->errors++;
}

static void out_of_memory(struct vmap *v)
{
    if (!v->oom)
        error_at(v, v->lineno, "out of memory");
    v->oom = true;
}

/* describe_loc - "file:line" of a previous definition into out. */
static const char *describe_loc(char *out, size_t size, struct table_loc loc)
{
    if (loc.file != NULL && loc.line > 0)
        snprintf(out, size, "%s:%u", loc.file, loc.line);
    else if (loc.file != NULL)
        snprintf(out, size, "%s", loc.file);
    else
        snprintf(out, size, "an earlier definition");
    return out;
}

static void duplicate(struct vmap *v, const char *what, struct table_loc prev)
{
    char where[512];

    error_at(v, v->lineno, "duplicate entry for %s (first at %s)", what,
             describe_loc(where, sizeof(where), prev));
}

/* ---- logical lines ---------------------------------------------------- */

/*
 * next_logical - read the next logical line of buf from *pos into v->line,
 * as Postfix readllines() does: comment lines ('#' after optional white
 * space) and blank lines are skipped anywhere, even between a line and its
 * continuation; a line that starts with white space continues the previous
 * one.  *phys counts the physical lines consumed.  Returns false at the
 * end of the input.
 */
static bool next_logical(struct vmap *v, const char *buf, size_t len, size_t *pos, unsigned *phys)
{
    bool started = false;

    util_buf_reset(&v->line);
    v->too_long = v->has_nul = v->orphan = false;
    while (*pos < len) {
        size_t s = *pos;
        const char *nl = memchr(buf + s, '\n', len - s);
        size_t e = nl != NULL ? (size_t)(nl - buf) : len;
        size_t next = nl != NULL ? e + 1 : len;
        size_t p = s;

        while (p < e && is_space(buf[p]))
            p++;
        if (p == e || buf[p] == '#') {
            /* blank or comment: skipped, does not end a logical line */
            (*phys)++;
            *pos = next;
            continue;
        }
        if (!is_space(buf[s])) {
            if (started)
                break; /* the start of the next logical line */
        } else if (!started) {
            v->orphan = true;
        }
        if (!started) {
            started = true;
            v->lineno = *phys + 1;
        }
        (*phys)++;
        *pos = next;
        if (memchr(buf + s, '\0', e - s) != NULL)
            v->has_nul = true;
        if (v->too_long || v->line.len + (e - s) + 1 > VMAP_LINE_MAX) {
            v->too_long = true;
            continue;
        }
        /* The newline between physical lines becomes a space. */
        if ((v->line.len > 0 && util_buf_append(&v->line, " ", 1) < 0) ||
            util_buf_append(&v->line, buf + s, e - s) < 0) {
            out_of_memory(v);
            v->too_long = true; /* what we have is incomplete: skip it */
        }
    }
    return started;
}

/* token_end - the end of the token that starts at i: white space (and with
 * commas, a comma) outside a quoted string ends it; a backslash inside
 * quotes escapes the next byte. */
static size_t token_end(const char *s, size_t i, size_t len, bool commas)
{
    bool quoted = false;

    for (; i < len; i++) {
        char c = s[i];
        if (quoted) {
            if (c == '\\' && i + 1 < len)
                i++;
            else if (c == '"')
                quoted = false;
        } else if (c == '"') {
            quoted = true;
        } else if (is_space(c) || (commas && c == ',')) {
            break;
        }
    }
    return i;
}

/* ---- addresses and domains -------------------------------------------- */

/* parse_domain - addr_parse_domain, with the codes of virtual(5) keys:
 * too long before anything else, and malformed for an empty one. */
static enum addr_error parse_domain(const char *s, size_t n, char *out)
{
    if (n > ADDR_DOMAIN_MAX + 1) /* + 1: a trailing dot */
        return ADDR_ERR_DOMAIN_LONG;
    enum addr_error err = addr_parse_domain(s, n, out);
    return err == ADDR_ERR_EMPTY ? ADDR_ERR_DOMAIN : err;
}

/* parse_address - an address of n bytes at s in canonical text (case kept,
 * extension kept) into out (ADDR_TEXT_MAX + 1 bytes); *has_domain tells
 * whether it had one. */
static enum addr_error parse_address(const char *s, size_t n, char *out, bool *has_domain)
{
    struct addr a;
    enum addr_error err = addr_parse(&a, s, n, NULL);

    if (err != ADDR_OK)
        return err;
    if (addr_format(&a, true, false, out, ADDR_TEXT_MAX + 1) == 0)
        return ADDR_ERR_LOCAL_LONG; /* cannot happen: ADDR_TEXT_MAX holds any */
    *has_domain = a.domain_len > 0;
    return ADDR_OK;
}

/* ---- one logical line ------------------------------------------------- */

static int add_target(struct vmap *v, const char *text)
{
    if (util_grow((void **)&v->toffs, &v->tcap, v->ntargets + 1, sizeof(*v->toffs)) < 0)
        return -1;
    v->toffs[v->ntargets++] = v->tbuf.len;
    return util_buf_append(&v->tbuf, text, strlen(text) + 1);
}

static void record_at_line(struct vmap *v, const char *domain, enum at_form form, bool reported)
{
    if (util_grow((void **)&v->at, &v->atcap, v->nat + 1, sizeof(*v->at)) < 0) {
        out_of_memory(v);
        return;
    }
    struct at_line *l = &v->at[v->nat];
    l->name_off = v->at_names.len;
    l->line = v->lineno;
    l->form = form;
    l->reported = reported;
    if (util_buf_append(&v->at_names, domain, strlen(domain) + 1) < 0) {
        out_of_memory(v);
        return;
    }
    v->nat++;
}

/* A bad or unsupported left-hand side; v->errors grows. */
static void bad_key(struct vmap *v, const char *key, size_t klen, const char *why)
{
    char s[SHOW_MAX + 8];

    error_at(v, v->lineno, "invalid key \"%s\": %s", show(s, key, klen), why);
}

/*
 * classify_key - the form of the key and its canonical text in canon
 * (address) or domain (folded).  Returns false after reporting an error.
 */
static bool classify_key(struct vmap *v, const char *key, size_t klen, enum key_form *form,
                         char *canon, char *domain)
{
    enum addr_error err;
    bool has_domain;

    if (key[0] == '@') {
        *form = KEY_AT_DOMAIN;
        if ((err = parse_domain(key + 1, klen - 1, domain)) != ADDR_OK) {
            bad_key(v, key, klen, addr_strerror(err));
            return false;
        }
        return true;
    }
    if (key[0] == '<') {
        bad_key(v, key, klen, "a virtual(5) key is written without angle brackets");
        return false;
    }
    if (memchr(key, '@', klen) != NULL) {
        *form = KEY_ADDRESS;
        if ((err = parse_address(key, klen, canon, &has_domain)) != ADDR_OK) {
            bad_key(v, key, klen, addr_strerror(err));
            return false;
        }
        if (has_domain)
            return true;
    } else if (memchr(key, '.', klen) != NULL) {
        *form = KEY_DOMAIN;
        if ((err = parse_domain(key, klen, domain)) != ADDR_OK) {
            bad_key(v, key, klen, addr_strerror(err));
            return false;
        }
        return true;
    }
    if (key[klen - 1] == ':')
        bad_key(v, key, klen, "\"key: value\" is aliases(5) format, not virtual(5)");
    else
        bad_key(v, key, klen,
                "a key without a domain applies only to Postfix local domains, "
                "which hosted-milter does not support; write user@domain");
    return false;
}

/* The @domain target of a right-hand side with nat of them (the first at
 * first_at) and naddr addresses: one, alone, for an @domain key, into
 * alias.  Returns false after reporting. */
static bool parse_at_target(struct vmap *v, const char *key, enum key_form form, size_t naddr,
                            size_t nat, const char *first_at, size_t first_at_len, char *alias)
{
    char s[SHOW_MAX + 8];
    enum addr_error err;

    if (form != KEY_AT_DOMAIN) {
        error_at(v, v->lineno, "target \"%s\" for %s: an @domain target needs an @domain key",
                 show(s, first_at, first_at_len), key);
        return false;
    }
    if (naddr > 0) {
        error_at(v, v->lineno,
                 "%s mixes an @domain target with addresses; use either one @domain "
                 "(alias domain) or addresses (catch-all)",
                 key);
        return false;
    }
    if (nat > 1) {
        error_at(v, v->lineno, "%s has more than one @domain target", key);
        return false;
    }
    if ((err = parse_domain(first_at + 1, first_at_len - 1, alias)) != ADDR_OK) {
        error_at(v, v->lineno, "invalid target \"%s\" for %s: %s", show(s, first_at, first_at_len),
                 key, addr_strerror(err));
        return false;
    }
    return true;
}

/* The right-hand side of an address or @domain key: addresses into
 * v->targets, or one @domain into alias.  Returns false after reporting. */
static bool parse_targets(struct vmap *v, const char *key, enum key_form form, const char *rhs,
                          size_t len, char *alias)
{
    char canon[ADDR_TEXT_MAX + 1], s[SHOW_MAX + 8];
    size_t naddr = 0, nat = 0;
    const char *first_at = NULL;
    size_t first_at_len = 0;
    bool ok = true;

    v->ntargets = 0;
    util_buf_reset(&v->tbuf);
    for (size_t i = 0; i < len;) {
        while (i < len && (is_space(rhs[i]) || rhs[i] == ','))
            i++;
        if (i >= len)
            break;
        size_t end = token_end(rhs, i, len, true);
        const char *tok = rhs + i;
        size_t tlen = end - i;
        i = end;

        if (tok[0] == '#') {
            error_at(v, v->lineno,
                     "%s: \"%s\" is not a comment: '#' starts a comment only at the start of "
                     "a line",
                     key, show(s, tok, len - (size_t)(tok - rhs)));
            return false;
        }
        if (tok[0] == '@') {
            if (nat++ == 0) {
                first_at = tok;
                first_at_len = tlen;
            }
            continue;
        }
        naddr++;
        bool has_domain = false;
        enum addr_error err = parse_address(tok, tlen, canon, &has_domain);
        if (err != ADDR_OK) {
            error_at(v, v->lineno, "invalid target \"%s\" for %s: %s", show(s, tok, tlen), key,
                     addr_strerror(err));
            ok = false;
        } else if (!has_domain) {
            error_at(v, v->lineno,
                     "target \"%s\" for %s has no domain (Postfix would append $myorigin, "
                     "which hosted-milter does not know); write user@domain",
                     show(s, tok, tlen), key);
            ok = false;
        } else if (ok && add_target(v, canon) < 0) {
            out_of_memory(v);
            ok = false;
        }
    }
    if (nat > 0)
        return parse_at_target(v, key, form, naddr, nat, first_at, first_at_len, alias);
    if (!ok)
        return false;
    if (v->ntargets == 0) {
        error_at(v, v->lineno, "%s has no target (expected: key whitespace value)", key);
        return false;
    }
    if (util_grow((void **)&v->targets, &v->targets_cap, v->ntargets, sizeof(*v->targets)) < 0) {
        out_of_memory(v);
        return false;
    }
    for (size_t t = 0; t < v->ntargets; t++)
        v->targets[t] = v->tbuf.p + v->toffs[t];
    return true;
}

/* Whether the logical line is skipped (after reporting why, once). */
static bool skipped(struct vmap *v)
{
    if (v->too_long) {
        if (!v->oom)
            error_at(v, v->lineno, "logical line longer than %d bytes; skipped", VMAP_LINE_MAX);
        return true;
    }
    if (v->has_nul) {
        error_at(v, v->lineno, "line contains a NUL byte; skipped");
        return true;
    }
    if (v->orphan) {
        error_at(v, v->lineno,
                 "line starts with white space but continues nothing; skipped "
                 "(a logical line must not start with white space)");
        return true;
    }
    return false;
}

static void parse_line(struct vmap *v)
{
    char canon[ADDR_TEXT_MAX + 1], domain[ADDR_DOMAIN_MAX + 1], alias[ADDR_DOMAIN_MAX + 1];
    char what[ADDR_TEXT_MAX + 2], s[SHOW_MAX + 8];
    const char *l = v->line.p;
    size_t len = v->line.len;
    struct table_loc loc = {v->file, v->lineno}, prev = {NULL, 0};
    enum key_form form;
    int rc;

    alias[0] = '\0';
    if (skipped(v))
        return;
    size_t kend = token_end(l, 0, len, false);
    size_t r = kend;
    while (r < len && is_space(l[r]))
        r++;
    if (!classify_key(v, l, kend, &form, canon, domain))
        return;
    if (form == KEY_ADDRESS)
        snprintf(what, sizeof(what), "%s", canon);
    else
        snprintf(what, sizeof(what), "%s%s", form == KEY_AT_DOMAIN ? "@" : "", domain);
    /* Postfix ignores trailing white space (and CR); so does token scanning. */
    bool empty = true;
    for (size_t i = r; i < len; i++)
        if (!is_space(l[i]) && l[i] != ',')
            empty = false;
    if (empty) {
        error_at(v, v->lineno, "%s has no value (expected: key whitespace value)",
                 show(s, l, kend));
        return;
    }
    if (form == KEY_DOMAIN) {
        /* "domain anything": the value is not used. */
        if (table_builder_add_domain(v->b, domain, loc) < 0)
            out_of_memory(v);
        return;
    }
    if (v->mailboxes) {
        /* "user@domain anything" (the value is Postfix's mailbox path) */
        if (form == KEY_AT_DOMAIN) {
            error_at(v, v->lineno,
                     "%s: a mailbox table declares single mailboxes; for a domain whose "
                     "every address is a mailbox use unknown_recipient = pass",
                     what);
            return;
        }
        rc = table_builder_add_entry(v->b, TABLE_MAILBOX, canon, NULL, 0, loc, &prev);
        goto added;
    }
    if (!parse_targets(v, what, form, l + r, len - r, alias))
        return;

    if (form == KEY_ADDRESS) {
        rc = table_builder_add_entry(v->b, TABLE_ALIAS, canon, v->targets, v->ntargets, loc, &prev);
    } else {
        if (table_builder_add_domain(v->b, domain, loc) < 0) {
            out_of_memory(v);
            return;
        }
        bool is_alias = alias[0] != '\0' && v->ntargets == 0;
        if (is_alias)
            rc = table_builder_set_alias_domain(v->b, domain, alias, loc, &prev);
        else
            rc = table_builder_set_catch_all(v->b, domain, v->targets, v->ntargets, loc, &prev);
        if (rc >= 0)
            record_at_line(v, domain, is_alias ? AT_ALIAS_DOMAIN : AT_CATCH_ALL, rc == 1);
    }
added:
    if (rc == 1)
        duplicate(v, what, prev);
    else if (rc == -1)
        out_of_memory(v);
    else if (rc != 0)
        error_at(v, v->lineno, "internal error: builder refused %s (%d)", what, rc);
}

/* ---- duplicates across the two @domain forms --------------------------- */

struct at_ref {
    const char *name;
    const struct at_line *l;
};

static int compare_at(const void *pa, const void *pb)
{
    const struct at_ref *a = pa, *b = pb;
    int c = strcmp(a->name, b->name);

    if (c != 0)
        return c;
    return a->l->line < b->l->line ? -1 : a->l->line > b->l->line;
}

/*
 * check_at_lines - "@d x@y" and "@d @other" in one file are one key given
 * twice (postmap would say so); the builder keeps them apart (catch-all
 * vs alias domain), so compare here.  A line the builder already reported
 * as a duplicate is not reported again.
 */
static void check_at_lines(struct vmap *v)
{
    struct at_ref *refs;
    char where[512];

    if (v->nat < 2)
        return;
    if ((refs = malloc(v->nat * sizeof(*refs))) == NULL) {
        out_of_memory(v);
        return;
    }
    for (size_t i = 0; i < v->nat; i++) {
        refs[i].name = v->at_names.p + v->at[i].name_off;
        refs[i].l = &v->at[i];
    }
    qsort(refs, v->nat, sizeof(*refs), compare_at);
    for (size_t first = 0, i = 1; i < v->nat; i++) {
        if (strcmp(refs[i].name, refs[first].name) != 0) {
            first = i;
            continue;
        }
        if (refs[i].l->reported || refs[i].l->form == refs[first].l->form)
            continue;
        struct table_loc loc = {v->file, refs[first].l->line};
        error_at(v, refs[i].l->line, "duplicate entry for @%s (first at %s)", refs[i].name,
                 describe_loc(where, sizeof(where), loc));
    }
    free(refs);
}

/* ---- entry points ----------------------------------------------------- */

/* Parsed text of an owned buffer is given back this many bytes at a time. */
#define DISCARD_STEP ((size_t)1 << 20)

/*
 * discard_parsed - give the whole pages of buf between *done and pos back
 * to the system: the parse never reads behind pos again, and a large file
 * resident beside the table built from it (beside the old table, too,
 * during a reload) is tens of megabytes of peak memory for nothing.  Only
 * for malloc'ed text the caller frees after the parse: MADV_DONTNEED on
 * private anonymous memory leaves zero pages, and only whole pages inside
 * buf are touched, never the allocator's header before it.
 */
static void discard_parsed(const char *buf, size_t pos, size_t *done)
{
    uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t from = ((uintptr_t)buf + *done + pg - 1) & ~(pg - 1);
    uintptr_t to = ((uintptr_t)buf + pos) & ~(pg - 1);

    if (to > from) {
        (void)madvise((void *)from, to - from, MADV_DONTNEED); /* only an economy */
        *done = to - (uintptr_t)buf;
    }
}

static int load_buffer(struct table_builder *b, const char *name, const char *buf, size_t len,
                       bool mailboxes, bool owned, struct diag *d)
{
    struct vmap v;
    size_t pos = 0, discarded = 0;
    unsigned phys = 0;

    memset(&v, 0, sizeof(v));
    v.b = b;
    v.d = d;
    v.mailboxes = mailboxes;
    if ((v.file = table_builder_intern_file(b, name)) == NULL) {
        diag_add(d, DIAG_ERROR, name, 0, "out of memory");
        return 1;
    }
    /* at most a line an entry: the builder sizes its index once */
    size_t lines = 0;
    for (const char *p = buf, *end = buf + len; (p = memchr(p, '\n', (size_t)(end - p))) != NULL;
         p++)
        lines++;
    (void)table_builder_expect_entries(b, lines + 1);
    /* the builder applies Postfix's precedence between the two kinds */
    enum table_origin was =
        table_builder_set_origin(b, mailboxes ? TABLE_ORIGIN_MAILBOXES : TABLE_ORIGIN_VIRTUAL);
    while (!v.oom && next_logical(&v, buf, len, &pos, &phys)) {
        parse_line(&v);
        if (owned && pos - discarded >= DISCARD_STEP)
            discard_parsed(buf, pos, &discarded);
    }
    if (!v.oom)
        check_at_lines(&v);
    table_builder_set_origin(b, was);
    util_buf_free(&v.line);
    util_buf_free(&v.tbuf);
    free(v.toffs);
    free(v.targets);
    util_buf_free(&v.at_names);
    free(v.at);
    return v.errors;
}

int virtual_map_load_buffer(struct table_builder *b, const char *name, const char *buf, size_t len,
                            struct diag *d)
{
    return load_buffer(b, name, buf, len, false, false, d);
}

int virtual_map_load_mailboxes_buffer(struct table_builder *b, const char *name, const char *buf,
                                      size_t len, struct diag *d)
{
    return load_buffer(b, name, buf, len, true, false, d);
}

int virtual_map_load_owned(struct table_builder *b, const char *name, char *text, size_t len,
                           bool mailboxes, struct diag *d)
{
    return load_buffer(b, name, text, len, mailboxes, true, d);
}

static int load_file(struct table_builder *b, const char *path, bool mailboxes, struct diag *d)
{
    char *buf = NULL;
    size_t len = 0;
    const char *what;
    int err, errors;

    if ((err = util_read_file(path, &buf, &len, &what)) != 0) {
        diag_add(d, DIAG_ERROR, path, 0, "%s: %s", what, strerror(err));
        return 1;
    }
    errors = load_buffer(b, path, buf, len, mailboxes, true, d);
    free(buf);
    return errors;
}

int virtual_map_load(struct table_builder *b, const char *path, struct diag *d)
{
    return load_file(b, path, false, d);
}

int virtual_map_load_mailboxes(struct table_builder *b, const char *path, struct diag *d)
{
    return load_file(b, path, true, d);
}

void virtual_map_report_captures(const struct table_builder *b, const struct table *t,
                                 struct diag *d)
{
    for (size_t i = 0; i < table_domain_count(t); i++) {
        const struct table_domain *dom = table_domain_at(t, i);
        struct table_loc at;
        const char *ex;
        size_t n = table_builder_captured(b, i, &at, &ex);
        char where[ADDR_DOMAIN_MAX + 64];

        if (n == 0)
            continue;
        if (dom->alias_domain != NULL)
            snprintf(where, sizeof(where), "moves to %s", dom->alias_domain);
        else
            snprintf(where, sizeof(where), "goes to the catch-all (%s%s)", dom->catch_all[0],
                     dom->ncatch_all > 1 ? ", ..." : "");
        diag_add(d, DIAG_WARNING, at.file, at.line,
                 "@%s captures %zu mailbox%s of the mailbox_table without a line of its own in "
                 "the virtual file (e.g. %s): their mail %s, as in Postfix, which looks up "
                 "virtual_alias_maps (where @%s matches) before virtual_mailbox_maps; to "
                 "deliver to such a mailbox, give it a self-map line \"%s %s\" in the virtual "
                 "file, as Postfix Admin does",
                 dom->name, n, n == 1 ? "" : "es", ex, where, dom->name, ex, ex);
    }
}
