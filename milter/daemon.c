/*
 * daemon.c - running the milter: libmilter setup, the unix socket's mode and
 * group, privilege drop, detaching, the pidfile, and the SIGUSR1 reload
 * thread that installs a new live configuration (live.h).
 *
 * Owns everything daemon_run allocates; all of it is freed before
 * daemon_run returns.
 */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "diag.h"
#include "filter.h"
#include "live.h"
#include "log.h"

/* The settings that only take effect at start, as the file had them. */
struct startup {
    char *socket, *user, *group, *pidfile, *socket_group;
    unsigned socket_mode, timeout;
};

static char *dup_or_null(const char *s, bool *fail)
{
    char *d;

    if (s == NULL)
        return NULL;
    if ((d = strdup(s)) == NULL)
        *fail = true;
    return d;
}

static void startup_free(struct startup *s)
{
    free(s->socket);
    free(s->user);
    free(s->group);
    free(s->pidfile);
    free(s->socket_group);
    memset(s, 0, sizeof *s);
}

static int startup_save(struct startup *s, const struct config *cfg)
{
    bool fail = false;

    s->socket = dup_or_null(cfg->socket, &fail);
    s->user = dup_or_null(cfg->user, &fail);
    s->group = dup_or_null(cfg->group, &fail);
    s->pidfile = dup_or_null(cfg->pidfile, &fail);
    s->socket_group = dup_or_null(cfg->socket_group, &fail);
    s->socket_mode = cfg->socket_mode;
    s->timeout = cfg->timeout;
    if (fail)
        startup_free(s);
    return fail ? -1 : 0;
}

static bool same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* where - the place of a daemon setting for a message about it: its
 * "file:line", or the file when the setting went back to its default. */
static const char *where(const struct config *cfg, const char *at)
{
    return at != NULL ? at : cfg->path;
}

static void warn_restart(const struct startup *s, const struct config *cfg)
{
    static const char fmt[] = "%s: reload: %s changed; it takes effect only after a restart";
    const struct config_where *w = &cfg->where;

    if (!same(s->socket, cfg->socket))
        log_warning(fmt, where(cfg, w->socket), "socket");
    if (!same(s->user, cfg->user))
        log_warning(fmt, where(cfg, w->user), "user");
    if (!same(s->group, cfg->group))
        log_warning(fmt, where(cfg, w->group), "group");
    if (!same(s->pidfile, cfg->pidfile))
        log_warning(fmt, where(cfg, w->pidfile), "pidfile");
    if (!same(s->socket_group, cfg->socket_group))
        log_warning(fmt, where(cfg, w->socket_group), "socket_group");
    if (s->socket_mode != cfg->socket_mode)
        log_warning(fmt, where(cfg, w->socket_mode), "socket_mode");
    if (s->timeout != cfg->timeout)
        log_warning(fmt, where(cfg, w->timeout), "timeout");
}

static const char *plural(size_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

static void log_summary(const char *what, const struct config *cfg)
{
    size_t nd = table_domain_count(cfg->table), nm = table_count_kind(cfg->table, TABLE_MAILBOX),
           ns = table_count_kind(cfg->table, TABLE_SECONDARY),
           na = table_count_kind(cfg->table, TABLE_ALIAS);

    log_notice("%s %s: %zu %s, %zu %s, %zu %s, %zu %s%s", what, cfg->path, nd,
               plural(nd, "domain", "domains"), nm, plural(nm, "mailbox", "mailboxes"), ns,
               plural(ns, "secondary address", "secondary addresses"), na,
               plural(na, "alias", "aliases"), cfg->dry_run ? " (dry run)" : "");
}

/* Logs the diagnostics of a load; errors at err, warnings at warning. */
static void log_diag(const struct diag *d, bool all_err)
{
    for (size_t i = 0; i < diag_size(d); i++) {
        if (all_err || diag_level_at(d, i) == DIAG_ERROR)
            log_err("%s", diag_text(d, i));
        else
            log_warning("%s", diag_text(d, i));
    }
}

struct reloader {
    const struct daemon_options *opt;
    const struct startup *startup;
    pthread_t thread;
    atomic_bool stop;
};

static void reload(struct reloader *rl)
{
    struct diag *d = diag_new();
    struct config *cfg = NULL;

    log_info("SIGUSR1: reloading %s", rl->opt->config_path);
    if (d == NULL) {
        log_err("reload failed, keeping the old configuration: out of memory");
        return;
    }
    if ((cfg = config_load(rl->opt->config_path, d)) == NULL) {
        log_diag(d, true);
        log_err("reload failed, keeping the old configuration: %zu %s in %s",
                diag_count(d, DIAG_ERROR), plural(diag_count(d, DIAG_ERROR), "error", "errors"),
                rl->opt->config_path);
        goto out;
    }
    log_diag(d, false);
    warn_restart(rl->startup, cfg);
    /* Only this thread swaps, so cfg outlives its use below. */
    if (live_install(cfg) < 0) {
        log_err("reload failed, keeping the old configuration: out of memory");
        goto out;
    }
    if (!rl->opt->verbose)
        log_set_level(cfg->log_level);
    log_summary("reloaded configuration", cfg);
out:
    diag_free(d);
}

static void *reload_main(void *arg)
{
    struct reloader *rl = arg;
    sigset_t set;
    int sig;

    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    for (;;) {
        if (sigwait(&set, &sig) != 0)
            continue;
        if (atomic_load(&rl->stop))
            break;
        reload(rl);
    }
    return NULL;
}

/* The file system path of a unix socket spec, or NULL for inet. */
static const char *unix_path(const char *spec)
{
    if (strncmp(spec, "unix:", 5) == 0)
        return spec + 5;
    if (strncmp(spec, "local:", 6) == 0)
        return spec + 6;
    if (spec[0] == '/')
        return spec;
    return NULL;
}

static int set_socket_access(const char *path, const struct config *cfg)
{
    if (cfg->socket_group != NULL) {
        struct group *gr = getgrnam(cfg->socket_group);
        if (gr == NULL) {
            log_err("%s: socket_group %s: no such group", where(cfg, cfg->where.socket_group),
                    cfg->socket_group);
            return -1;
        }
        if (chown(path, (uid_t)-1, gr->gr_gid) < 0) {
            log_err("chown %s to group %s: %s", path, cfg->socket_group, strerror(errno));
            return -1;
        }
    }
    if (cfg->socket_mode != 0 && chmod(path, (mode_t)cfg->socket_mode) < 0) {
        log_err("chmod %s to %04o: %s", path, cfg->socket_mode, strerror(errno));
        return -1;
    }
    return 0;
}

/* Switches to cfg's user/group (either may be NULL).  -1 when that fails. */
static int drop_privileges(const struct config *cfg)
{
    const char *user = cfg->user, *group = cfg->group;
    uid_t uid = geteuid();
    gid_t gid = getegid();

    if (user == NULL && group == NULL)
        return 0;
    if (user != NULL) {
        struct passwd *pw = getpwnam(user);
        if (pw == NULL) {
            log_err("%s: user %s: no such user", where(cfg, cfg->where.user), user);
            return -1;
        }
        uid = pw->pw_uid;
        gid = pw->pw_gid;
    }
    if (group != NULL) {
        struct group *gr = getgrnam(group);
        if (gr == NULL) {
            log_err("%s: group %s: no such group", where(cfg, cfg->where.group), group);
            return -1;
        }
        gid = gr->gr_gid;
    }
    if (geteuid() != 0) {
        if (uid == geteuid() && gid == getegid())
            return 0; /* already there */
        log_err("cannot switch to user %s group %s: not running as root",
                user != NULL ? user : "(unchanged)", group != NULL ? group : "(default)");
        return -1;
    }
    if ((user != NULL ? initgroups(user, gid) : setgroups(1, &gid)) < 0 || setgid(gid) < 0 ||
        (user != NULL && setuid(uid) < 0)) {
        log_err("cannot switch to user %s group %s: %s", user != NULL ? user : "(unchanged)",
                group != NULL ? group : "(default)", strerror(errno));
        return -1;
    }
    if (user != NULL && uid != 0 && setuid(0) == 0) {
        log_err("dropped privileges to %s, yet root could be regained; refusing to run", user);
        return -1;
    }
    log_info("running as user %s group %s", user != NULL ? user : "(unchanged)",
             group != NULL ? group : "(default)");
    return 0;
}

static int write_pidfile(const char *path)
{
    char buf[32];
    int fd, n, rc = -1;

    if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
        log_err("pidfile %s: %s", path, strerror(errno));
        return -1;
    }
    n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    if (write(fd, buf, (size_t)n) != n)
        log_err("pidfile %s: %s", path, strerror(errno));
    else
        rc = 0;
    if (close(fd) < 0 && rc == 0) {
        log_err("pidfile %s: %s", path, strerror(errno));
        rc = -1;
    }
    return rc;
}

int daemon_run(const struct daemon_options *opt)
{
    struct reloader rl = {.opt = opt};
    struct startup startup = {0};
    struct diag *d = NULL;
    struct config *cfg = NULL;
    const struct config *running;
    struct live_ref *ref = NULL;
    struct smfiDesc desc = filter_description();
    const char *socket_spec, *sockpath = NULL;
    char *conn = NULL, *pidfile = NULL; /* copies: they outlive the config */
    bool thread_started = false, pid_written = false, socket_opened = false;
    sigset_t set;
    int status = 1;

    /* SIGUSR1 belongs to the reload thread: block it before any thread
     * exists, so every thread libmilter starts inherits the mask. */
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    log_open(FILTER_NAME, opt->foreground, opt->verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
    log_set_stderr_copy(true); /* until detached */

    if ((d = diag_new()) == NULL) {
        log_err("out of memory");
        goto out;
    }
    if ((cfg = config_load(opt->config_path, d)) == NULL) {
        log_diag(d, true);
        log_err("cannot load the configuration %s; not starting", opt->config_path);
        goto out;
    }
    log_diag(d, false);
    if (!opt->verbose)
        log_set_level(cfg->log_level);
    if (startup_save(&startup, cfg) < 0) {
        log_err("out of memory");
        goto out;
    }
    socket_spec = opt->socket != NULL ? opt->socket : cfg->socket;
    if (socket_spec == NULL || *socket_spec == '\0') {
        log_err("no socket: set `socket` in %s or use -s", opt->config_path);
        goto out;
    }
    if (opt->pidfile != NULL && *opt->pidfile == '\0') {
        log_err("pidfile: empty path");
        goto out;
    }
    if ((opt->pidfile != NULL || cfg->pidfile != NULL) &&
        (pidfile = strdup(opt->pidfile != NULL ? opt->pidfile : cfg->pidfile)) == NULL) {
        log_err("out of memory");
        goto out;
    }
    if ((conn = strdup(socket_spec)) == NULL) {
        log_err("out of memory");
        goto out;
    }
    log_summary("loaded configuration", cfg);
    if (live_install(cfg) < 0) {
        cfg = NULL;
        log_err("out of memory");
        goto out;
    }
    cfg = NULL; /* owned by the live pointer now */
    ref = live_acquire();
    running = live_get(ref);

    if (smfi_setconn(conn) != MI_SUCCESS) {
        log_err("invalid socket %s", conn);
        goto out;
    }
    if (running->timeout > 0 && smfi_settimeout((int)running->timeout) != MI_SUCCESS) {
        log_err("invalid timeout %u", running->timeout);
        goto out;
    }
    if (smfi_register(desc) != MI_SUCCESS) {
        log_err("smfi_register failed");
        goto out;
    }
    /* true: remove a stale unix socket left by an earlier run. */
    if (smfi_opensocket(true) != MI_SUCCESS) {
        log_err("cannot open socket %s (in use, or no permission?)", conn);
        goto out;
    }
    socket_opened = true;
    sockpath = unix_path(conn);
    if (sockpath != NULL && set_socket_access(sockpath, running) < 0)
        goto out;
    if (drop_privileges(running) < 0)
        goto out;
    if (!opt->foreground) {
        if (daemon(0, 0) < 0) {
            log_err("cannot detach: %s", strerror(errno));
            goto out;
        }
        log_set_stderr_copy(false);
    }
    if (pidfile != NULL) {
        if (write_pidfile(pidfile) < 0)
            goto out;
        pid_written = true;
    }
    /* The reload thread must not take libmilter's stop signals either
     * (libmilter blocks them the same way in smfi_main). */
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    atomic_init(&rl.stop, false);
    rl.startup = &startup;
    if ((errno = pthread_create(&rl.thread, NULL, reload_main, &rl)) != 0) {
        log_err("cannot start the reload thread: %s", strerror(errno));
        goto out;
    }
    thread_started = true;
    live_release(ref);
    ref = NULL;

    log_notice("listening on %s (pid %ld)", conn, (long)getpid());
    if (smfi_main() == MI_SUCCESS) {
        status = 0;
        log_notice("stopped");
    } else {
        log_err("smfi_main failed");
    }

out:
    if (thread_started) {
        atomic_store(&rl.stop, true);
        pthread_kill(rl.thread, SIGUSR1);
        pthread_join(rl.thread, NULL);
    }
    live_release(ref);
    live_install(NULL);
    config_free(cfg);
    if (pid_written && unlink(pidfile) < 0)
        log_warning("cannot remove pidfile %s: %s", pidfile, strerror(errno));
    if (socket_opened && conn != NULL && (sockpath = unix_path(conn)) != NULL) {
        struct stat st;
        /* libmilter leaves its unix socket behind; remove it if it still is one. */
        if (lstat(sockpath, &st) == 0 && S_ISSOCK(st.st_mode) && unlink(sockpath) < 0)
            log_debug("cannot remove socket %s: %s", sockpath, strerror(errno));
    }
    free(conn);
    free(pidfile);
    startup_free(&startup);
    diag_free(d);
    log_close();
    return status;
}
