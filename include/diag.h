/*
 * diag.h - a list of configuration diagnostics ("file:line: message").
 *
 * Owns the messages that the configuration parser, the table loaders and
 * the validator produce.  Those modules never print, log or exit: they add
 * here, and the caller (the -t mode, the daemon's reload) decides where the
 * text goes.  Every message is copied; nothing is borrowed from the caller.
 */
#ifndef HOSTED_MILTER_DIAG_H
#define HOSTED_MILTER_DIAG_H

#include <stdarg.h>
#include <stddef.h>

enum diag_level {
    DIAG_ERROR,
    DIAG_WARNING,
};

/* Where a message is about: file NULL for no file, line 0 for the whole
 * file (see diag_add).  The name is borrowed for the call only. */
struct diag_loc {
    const char *file;
    unsigned line;
};

struct diag;

/* diag_new - an empty list, or NULL when out of memory. */
struct diag *diag_new(void);

/* diag_free - release the list and its messages; NULL is safe. */
void diag_free(struct diag *d);

/*
 * diag_add - append one message, formatted as "file:line: text" for errors
 * and "file:line: warning: text" for warnings, on one line: control bytes
 * in it become \n, \r, \t or \xHH (bytes from 0x80 up are kept).  file
 * may be NULL (then just "text", or "warning: text"), line 0 leaves out the
 * line number ("file: text").  A level other than DIAG_WARNING counts as an
 * error.  On allocation failure (or when the format cannot be expanded)
 * the message is lost but the error count still grows, so an error is
 * never silently dropped from the verdict.  A NULL d is ignored.
 */
void diag_add(struct diag *d, enum diag_level level, const char *file, unsigned line,
              const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/*
 * diag_add_loc - diag_add at a place carried as a value: the same as
 * diag_add(d, level, at.file, at.line, fmt, ...).  diag_vadd_loc takes
 * the arguments as a va_list (for a module's own printf-like hook, such
 * as a parser's error callback); it does not va_end ap.  Modules call
 * these directly instead of formatting into a buffer of their own first.
 */
void diag_add_loc(struct diag *d, enum diag_level level, struct diag_loc at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void diag_vadd_loc(struct diag *d, enum diag_level level, struct diag_loc at, const char *fmt,
                   va_list ap) __attribute__((format(printf, 4, 0)));

/* diag_count - how many messages of that level were added. */
size_t diag_count(const struct diag *d, enum diag_level level);

/* diag_size, diag_text, diag_level_at - iterate in insertion order; the
 * text is borrowed and lives as long as d.  diag_size counts the messages
 * kept, fewer than the counts when some were lost.  An index out of range
 * gives NULL / DIAG_ERROR; a NULL d is an empty list. */
size_t diag_size(const struct diag *d);
const char *diag_text(const struct diag *d, size_t index);
enum diag_level diag_level_at(const struct diag *d, size_t index);

#endif
