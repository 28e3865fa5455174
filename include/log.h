/*
 * log.h - leveled logging to syslog (facility mail) or stderr, and the
 * escaping of untrusted bytes before they reach a log line.
 *
 * Owns the process-wide logging settings (destination, ident, level).
 * They are, with the live configuration pointer (live.h), the only
 * process-global state: libmilter callbacks have no user context to carry
 * them.  (Besides, each thread keeps the text of the current second for
 * the stderr time stamp, so that a line costs no time zone lock.)  A line
 * is formatted once and written with one syslog(3) or write(2) call.
 * log_open is called once by the entry point before any thread starts;
 * the level may then change at any time (log_set_level is atomic, for
 * reload).  Every string that comes from the SMTP client or the MTA
 * goes through log_escape before it is logged.
 */
#ifndef HOSTED_MILTER_LOG_H
#define HOSTED_MILTER_LOG_H

#include <stdbool.h>
#include <stddef.h>

/* The levels, most severe first; a threshold lets through its own level
 * and every one before it.  The configuration's log_level is one of these. */
enum log_level {
    LOG_LEVEL_ERR = 0,
    LOG_LEVEL_WARNING,
    LOG_LEVEL_NOTICE,
    LOG_LEVEL_INFO,
    LOG_LEVEL_DEBUG,
};

/*
 * log_open - start logging as ident.  to_stderr: lines go to stderr,
 * prefixed with the local time and the level ("2024-05-01 12:00:00
 * info: ..."); otherwise to syslog, facility LOG_MAIL, with the pid.
 * Messages above level are dropped.  ident is copied.  Call before any
 * thread starts.
 */
void log_open(const char *ident, bool to_stderr, enum log_level level);

/* log_close - close syslog if it was opened; later calls go to stderr. */
void log_close(void);

/*
 * log_set_stderr_copy - while on, syslog lines are also written to stderr
 * (the daemon's start-up before it detaches, so the operator sees why it
 * did not start).  No effect when logging to stderr already.
 */
void log_set_stderr_copy(bool on);

/* log_set_level / log_get_level - the threshold; atomic, any thread. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* log_enabled - whether a message at level would be written (to skip
 * costly formatting). */
bool log_enabled(enum log_level level);

/* The levels as functions; printf format checked.  Never fail, never
 * block beyond the write itself; a line longer than 2 KiB is truncated. */
void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * log_escape - copy len bytes of src (need not be NUL-terminated, may hold
 * NULs) into dst of size dstsz as printable ASCII: CR, LF and TAB become
 * \r \n \t; other control bytes (0x00-0x1f, 0x7f), the backslash and bytes
 * >= 0x80 become \xHH (lower-case hex).  dst is always NUL-terminated when
 * dstsz > 0.  When the escaped text does not fit, as much as fits whole is
 * kept (an escape is never cut in half) and "..." marks the truncation.
 * LOG_ESCAPE_SIZE(len) bytes always suffice.  src may be NULL when len is
 * 0.  Returns the length written (excluding the NUL).
 */
#define LOG_ESCAPE_SIZE(len) (4 * (len) + 1)
size_t log_escape(char *dst, size_t dstsz, const char *src, size_t len);

#endif
