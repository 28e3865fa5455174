/*
 * diag.c - a list of configuration diagnostics (see diag.h).
 *
 * Owns a growable array of {level, formatted text}; every text is a copy
 * made here, one line long: control bytes (a newline inside a quoted
 * value, say) are escaped, so that every line of output starts with its
 * "file:line:".  Counts are kept apart from the array so that a message
 * lost to allocation failure still counts.
 */
#include "diag.h"

#include "util.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct diag_item {
    enum diag_level level;
    char *text;
};

struct diag {
    struct diag_item *items;
    size_t n, cap;
    size_t errors, warnings;
};

struct diag *diag_new(void)
{
    return calloc(1, sizeof(struct diag));
}

void diag_free(struct diag *d)
{
    if (d == NULL)
        return;
    for (size_t i = 0; i < d->n; i++)
        free(d->items[i].text);
    free(d->items);
    free(d);
}

/* escaped_size - the size of s with its control bytes escaped (see
 * escape_controls), or 0 when it has none. */
static size_t escaped_size(const char *s)
{
    size_t n = 0;
    bool any = false;

    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        bool ctl = *p < 0x20 || *p == 0x7f;
        bool short_form = *p == '\n' || *p == '\r' || *p == '\t';
        any = any || ctl;
        n += !ctl ? 1 : short_form ? 2 : 4;
    }
    return any ? n + 1 : 0;
}

/* escape_controls - text (freed here) with newline, CR and TAB as \n \r
 * \t and other control bytes as \xHH, in a new string; NULL when out of
 * memory.  UTF-8 and other high bytes stay as they are. */
static char *escape_controls(char *text)
{
    static const char hex[] = "0123456789abcdef";
    size_t size = escaped_size(text);
    char *out, *o;

    if (size == 0)
        return text;
    if ((out = malloc(size)) != NULL) {
        o = out;
        for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
            if (*p >= 0x20 && *p != 0x7f) {
                *o++ = (char)*p;
                continue;
            }
            *o++ = '\\';
            if (*p == '\n' || *p == '\r' || *p == '\t') {
                *o++ = *p == '\n' ? 'n' : *p == '\r' ? 'r' : 't';
            } else {
                *o++ = 'x';
                *o++ = hex[*p >> 4];
                *o++ = hex[*p & 15];
            }
        }
        *o = '\0';
    }
    free(text);
    return out;
}

/*
 * format_message - "file:line: [warning: ]text" in a new string, or NULL
 * when out of memory or when the format cannot be expanded.
 */
static char *format_message(enum diag_level level, const char *file, unsigned line, const char *fmt,
                            va_list ap) __attribute__((format(printf, 4, 0)));

static char *format_message(enum diag_level level, const char *file, unsigned line, const char *fmt,
                            va_list ap)
{
    char prefix[64];
    const char *kind = level == DIAG_WARNING ? "warning: " : "";
    char *text = NULL;
    va_list ap2;
    int plen, tlen;

    va_copy(ap2, ap);
    if (file != NULL && line > 0)
        plen = snprintf(prefix, sizeof(prefix), ":%u: %s", line, kind);
    else if (file != NULL)
        plen = snprintf(prefix, sizeof(prefix), ": %s", kind);
    else
        plen = snprintf(prefix, sizeof(prefix), "%s", kind);
    tlen = vsnprintf(NULL, 0, fmt, ap);
    if (plen < 0 || tlen < 0)
        goto out;

    size_t flen = file != NULL ? strlen(file) : 0;
    size_t size = flen + (size_t)plen + (size_t)tlen + 1;
    text = malloc(size);
    if (text == NULL)
        goto out;
    memcpy(text, file != NULL ? file : "", flen);
    memcpy(text + flen, prefix, (size_t)plen);
    if (vsnprintf(text + flen + (size_t)plen, (size_t)tlen + 1, fmt, ap2) != tlen) {
        free(text);
        text = NULL;
    } else {
        text = escape_controls(text);
    }
out:
    va_end(ap2);
    return text;
}

void diag_vadd_loc(struct diag *d, enum diag_level level, struct diag_loc at, const char *fmt,
                   va_list ap)
{
    char *text;

    if (d == NULL)
        return;
    /* Count first: whatever fails below, the verdict still sees it. */
    if (level == DIAG_WARNING)
        d->warnings++;
    else
        d->errors++;

    text = format_message(level, at.file, at.line, fmt, ap);
    if (text == NULL)
        return;
    if (util_grow((void **)&d->items, &d->cap, d->n + 1, sizeof(*d->items)) != 0) {
        free(text);
        return;
    }
    d->items[d->n].level = level == DIAG_WARNING ? DIAG_WARNING : DIAG_ERROR;
    d->items[d->n].text = text;
    d->n++;
}

void diag_add_loc(struct diag *d, enum diag_level level, struct diag_loc at, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    diag_vadd_loc(d, level, at, fmt, ap);
    va_end(ap);
}

void diag_add(struct diag *d, enum diag_level level, const char *file, unsigned line,
              const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    diag_vadd_loc(d, level, (struct diag_loc){file, line}, fmt, ap);
    va_end(ap);
}

size_t diag_count(const struct diag *d, enum diag_level level)
{
    if (d == NULL)
        return 0;
    return level == DIAG_WARNING ? d->warnings : d->errors;
}

size_t diag_size(const struct diag *d)
{
    return d == NULL ? 0 : d->n;
}

const char *diag_text(const struct diag *d, size_t index)
{
    if (d == NULL || index >= d->n)
        return NULL;
    return d->items[index].text;
}

enum diag_level diag_level_at(const struct diag *d, size_t index)
{
    if (d == NULL || index >= d->n)
        return DIAG_ERROR;
    return d->items[index].level;
}
