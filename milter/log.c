/*
 * log.c - leveled logging to syslog (facility mail) or stderr, and
 * log_escape for bytes from the wire (util_escape under the name callers
 * of log.h know).
 *
 * Owns the process-wide logging settings; see log.h for why they are global.
 */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

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

static void write_stderr(enum log_level level, const char *line)
{
    char stamp[32] = "";
    time_t now = time(NULL);
    struct tm tm;

    if (localtime_r(&now, &tm) != NULL)
        strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
    /* One fprintf per line: stdio locks the stream, so lines from
     * different threads do not interleave. */
    fprintf(stderr, "%s %s: %s\n", stamp, levels[level].name, line);
}

static void vlog(enum log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void vlog(enum log_level level, const char *fmt, va_list ap)
{
    char line[LOG_LINE_MAX];

    if (!log_enabled(level))
        return;
    vsnprintf(line, sizeof line, fmt, ap);
    if (logcfg.to_stderr) {
        write_stderr(level, line);
        return;
    }
    syslog(levels[level].priority, "%s", line);
    if (atomic_load(&logcfg.stderr_copy))
        write_stderr(level, line);
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
