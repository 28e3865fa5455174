/*
 * log.c - leveled logging to syslog (facility mail) or stderr, and
 * log_escape for bytes from the wire (util_escape under the name callers
 * of log.h know).
 *
 * Owns the process-wide logging settings; see log.h for why they are global.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define LOG_LINE_MAX 2048

static struct {
    char ident[64];
    bool to_stderr;
    bool syslog_open;
    atomic_bool stderr_copy;
    atomic_int level;
} logcfg = {.ident = "hosted-milter", .to_stderr = true, .level = LOG_LEVEL_INFO};

static const struct {
    const char *name;
    int priority;
} levels[] = {
    [LOG_LEVEL_ERR] = {"error", LOG_ERR},        [LOG_LEVEL_WARNING] = {"warning", LOG_WARNING},
    [LOG_LEVEL_NOTICE] = {"notice", LOG_NOTICE}, [LOG_LEVEL_INFO] = {"info", LOG_INFO},
    [LOG_LEVEL_DEBUG] = {"debug", LOG_DEBUG},
};

static enum log_level clamp(enum log_level level)
{
    if ((int)level < (int)LOG_LEVEL_ERR)
        return LOG_LEVEL_ERR;
    if (level > LOG_LEVEL_DEBUG)
        return LOG_LEVEL_DEBUG;
    return level;
}

void log_open(const char *ident, bool to_stderr, enum log_level level)
{
    if (ident != NULL)
        snprintf(logcfg.ident, sizeof logcfg.ident, "%s", ident);
    logcfg.to_stderr = to_stderr;
    atomic_store(&logcfg.level, (int)clamp(level));
    if (!to_stderr) {
        openlog(logcfg.ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
        logcfg.syslog_open = true;
    }
}

void log_close(void)
{
    if (logcfg.syslog_open)
        closelog();
    logcfg.syslog_open = false;
    logcfg.to_stderr = true;
}

void log_set_stderr_copy(bool on)
{
    atomic_store(&logcfg.stderr_copy, on);
}

void log_set_level(enum log_level level)
{
    atomic_store(&logcfg.level, (int)clamp(level));
}

enum log_level log_get_level(void)
{
    return (enum log_level)atomic_load(&logcfg.level);
}

bool log_enabled(enum log_level level)
{
    return (int)level <= atomic_load(&logcfg.level);
}

/*
 * The stderr prefix "2024-05-01 12:00:00 info: " into buf (at least
 * STAMP_MAX bytes); returns its length.  The time text is made at most
 * once a second per thread: localtime_r takes glibc's time zone lock on
 * every call, and every worker thread logs.
 */
#define STAMP_MAX 48
static size_t stderr_prefix(char *buf, enum log_level level)
{
    static _Thread_local struct {
        time_t sec;
        char text[24];
    } cache;
    time_t now = time(NULL);
    struct tm tm;

    if (now != cache.sec || cache.text[0] == '\0') {
        cache.text[0] = '\0';
        if (localtime_r(&now, &tm) != NULL)
            strftime(cache.text, sizeof cache.text, "%Y-%m-%d %H:%M:%S", &tm);
        cache.sec = now;
    }
    int n = snprintf(buf, STAMP_MAX, "%s %s: ", cache.text, levels[level].name);

    return n < 0 ? 0 : (size_t)n < STAMP_MAX ? (size_t)n : STAMP_MAX - 1;
}

/* The whole line with one write(2): no stdio lock, and lines from
 * different threads do not interleave (a write to a pipe of up to
 * PIPE_BUF bytes is atomic, an O_APPEND file gets it in one piece). */
static void write_line(const char *line, size_t len)
{
    while (len > 0) {
        ssize_t k = write(STDERR_FILENO, line, len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return;
        line += k;
        len -= (size_t)k;
    }
}

static void vlog(enum log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Formats the line once, behind the stderr prefix, and hands the same
 * buffer to syslog and/or stderr. */
static void vlog(enum log_level level, const char *fmt, va_list ap)
{
    char line[STAMP_MAX + LOG_LINE_MAX + 1];
    size_t start, len;
    int n;

    if (!log_enabled(level))
        return;
    start = stderr_prefix(line, level);
    n = vsnprintf(line + start, LOG_LINE_MAX, fmt, ap);
    len = n < 0 ? 0 : (size_t)n < LOG_LINE_MAX ? (size_t)n : LOG_LINE_MAX - 1;
    line[start + len] = '\0';
    if (!logcfg.to_stderr) {
        syslog(levels[level].priority, "%s", line + start);
        if (!atomic_load(&logcfg.stderr_copy))
            return;
    }
    line[start + len] = '\n';
    write_line(line, start + len + 1);
}

#define DEFINE_LOG(fn, level)                                                                      \
    void fn(const char *fmt, ...)                                                                  \
    {                                                                                              \
        va_list ap;                                                                                \
        va_start(ap, fmt);                                                                         \
        vlog(level, fmt, ap);                                                                      \
        va_end(ap);                                                                                \
    }

DEFINE_LOG(log_err, LOG_LEVEL_ERR)
DEFINE_LOG(log_warning, LOG_LEVEL_WARNING)
DEFINE_LOG(log_notice, LOG_LEVEL_NOTICE)
DEFINE_LOG(log_info, LOG_LEVEL_INFO)
DEFINE_LOG(log_debug, LOG_LEVEL_DEBUG)

size_t log_escape(char *dst, size_t dstsz, const char *src, size_t len)
{
    return util_escape(dst, dstsz, src, len);
}
