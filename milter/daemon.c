/*
 * daemon.c - running the milter: libmilter setup, the unix socket's mode and
 * group, privilege drop, detaching, the pidfile; the configuration loaded
 * at start (a source that cannot be read serves its snapshot) and handed
 * to the reload threads (refresh.h) that install each new one (live.h);
 * the socketmap server (socketmap.h) when the configuration asks for one.
 *
 * Owns everything daemon_run allocates (struct run); run_cleanup frees all
 * of it before daemon_run returns.
 */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <malloc.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
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
#include "metrics.h"
#include "metrics_http.h"
#include "refresh.h"
#include "socketmap.h"
#include "util.h"

/* The settings that only take effect at start, as the file had them. */
struct startup {
    char *socket, *user, *group, *pidfile, *socket_group, *socketmap, *metrics;
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
    free(s->socketmap);
    free(s->metrics);
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
    s->socketmap = dup_or_null(cfg->socketmap, &fail);
    s->metrics = dup_or_null(cfg->metrics, &fail);
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
    if (!same(s->socketmap, cfg->socketmap))
        log_warning(fmt, where(cfg, w->socketmap), "socketmap");
    if (!same(s->metrics, cfg->metrics))
        log_warning(fmt, where(cfg, w->metrics), "metrics");
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

/* Everything daemon_run holds between its steps; run_cleanup lets go of it. */
struct run {
    const struct daemon_options *opt;
    struct startup startup;
    struct refresher *refresher;
    struct socketmap *socketmap;  /* NULL: no `socketmap` setting */
    struct metrics_http *metrics; /* NULL: metrics off */
    double start_time;            /* for process_start_time_seconds */
    struct diag *d;
    struct config *cfg;   /* loaded, not yet live */
    struct live_ref *ref; /* held from going live until serving */
    char *conn, *pidfile; /* copies: they outlive the config */
    bool socket_opened, pid_written;
};

/* SIGUSR1 belongs to the reload thread: block it before any thread exists,
 * so every thread libmilter starts inherits the mask. */
static void block_signals(void)
{
    refresh_block_signals();
    signal(SIGPIPE, SIG_IGN);
}

/* The configuration at opt->config_path, its diagnostics logged, its log
 * level applied, its start-only settings saved for reload to compare. */
static int load_config(struct run *r)
{
    if ((r->d = diag_new()) == NULL) {
        log_err("out of memory");
        return -1;
    }
    /* a source that cannot be read serves its snapshot (and is retried) */
    if ((r->cfg = config_load_mode(r->opt->config_path, CONFIG_SOURCES_START, r->d)) == NULL) {
        refresh_log_diag(r->d);
        log_err("cannot load the configuration %s; not starting", r->opt->config_path);
        return -1;
    }
    refresh_log_diag(r->d);
    if (!r->opt->verbose)
        log_set_level(r->cfg->log_level);
    if (startup_save(&r->startup, r->cfg) < 0) {
        log_err("out of memory");
        return -1;
    }
    return 0;
}

/* The socket and pidfile to use: the command line's, else the file's. */
static int choose_paths(struct run *r)
{
    const struct daemon_options *opt = r->opt;
    const char *socket_spec = opt->socket != NULL ? opt->socket : r->cfg->socket;

    if (socket_spec == NULL || *socket_spec == '\0') {
        log_err("no socket: set `socket` in %s or use -s", opt->config_path);
        return -1;
    }
    if (opt->pidfile != NULL && *opt->pidfile == '\0') {
        log_err("pidfile: empty path");
        return -1;
    }
    if ((opt->pidfile != NULL || r->cfg->pidfile != NULL) &&
        (r->pidfile = strdup(opt->pidfile != NULL ? opt->pidfile : r->cfg->pidfile)) == NULL) {
        log_err("out of memory");
        return -1;
    }
    if ((r->conn = strdup(socket_spec)) == NULL) {
        log_err("out of memory");
        return -1;
    }
    return 0;
}

/* Installs the loaded configuration and keeps a reference for the steps up
 * to serving (a reload cannot free it under them). */
static int go_live(struct run *r)
{
    struct config *cfg = r->cfg;

    refresh_log_summary("loaded configuration", cfg);
    r->cfg = NULL; /* live_install takes it over, also when it fails */
    if (live_install(cfg) < 0) {
        log_err("out of memory");
        return -1;
    }
    if ((r->ref = live_acquire()) != NULL)
        refresh_went_live(live_get(r->ref));
    return 0;
}

/* Registers the callbacks and opens the socket, with its group and mode. */
static int open_socket(struct run *r)
{
    const struct config *cfg = live_get(r->ref);
    const char *sockpath;

    if (smfi_setconn(r->conn) != MI_SUCCESS) {
        log_err("invalid socket %s", r->conn);
        return -1;
    }
    if (cfg->timeout > 0 && smfi_settimeout((int)cfg->timeout) != MI_SUCCESS) {
        log_err("invalid timeout %u", cfg->timeout);
        return -1;
    }
    if (smfi_register(filter_description()) != MI_SUCCESS) {
        log_err("smfi_register failed");
        return -1;
    }
    /* true: remove a stale unix socket left by an earlier run. */
    if (smfi_opensocket(true) != MI_SUCCESS) {
        log_err("cannot open socket %s (in use, or no permission?)", r->conn);
        return -1;
    }
    r->socket_opened = true;
    sockpath = unix_path(r->conn);
    return sockpath != NULL ? set_socket_access(sockpath, cfg) : 0;
}

/* The socketmap's socket, with the milter socket's group and mode (both
 * are for Postfix); its thread starts after detaching. */
static int open_socketmap(struct run *r)
{
    const struct config *cfg = live_get(r->ref);
    struct socketmap_options o = {0};

    if (cfg->socketmap == NULL)
        return 0;
    o.path = cfg->socketmap + strlen("unix:");
    if (unix_path(r->conn) != NULL && strcmp(unix_path(r->conn), o.path) == 0) {
        log_err("%s: socketmap and the milter socket are both %s; give each its own",
                where(cfg, cfg->where.socketmap), o.path);
        return -1;
    }
    if ((r->socketmap = socketmap_open(&o)) == NULL)
        return -1;
    return set_socket_access(o.path, cfg);
}

static int start_socketmap(struct run *r)
{
    return r->socketmap != NULL ? socketmap_start(r->socketmap) : 0;
}

static int become_user(struct run *r)
{
    return drop_privileges(live_get(r->ref));
}

/* The metrics server's socket, as the user the daemon runs as (a unix
 * socket is then that user's, who can remove it at the end); before
 * detaching, so that an address in use fails the start visibly. */
static int open_metrics(struct run *r)
{
    const struct config *cfg = live_get(r->ref);
    char err[256];

    if (cfg->metrics == NULL)
        return 0;
    if ((r->metrics = metrics_http_open(cfg->metrics, err, sizeof err)) == NULL) {
        log_err("%s: %s", where(cfg, cfg->where.metrics), err);
        return -1;
    }
    return 0;
}

/* Its thread, after detaching (a fork keeps no thread) and with the signal
 * mask start_reloader set (libmicrohttpd's thread takes no signal). */
static int start_metrics(struct run *r)
{
    char err[256];

    if (r->metrics == NULL)
        return 0;
    if (metrics_http_start(r->metrics, r->start_time, err, sizeof err) < 0) {
        log_err("%s", err);
        return -1;
    }
    log_info("metrics on %s", live_get(r->ref)->metrics);
    return 0;
}

/* Into the background unless foreground; stderr copies stop there. */
static int detach(struct run *r)
{
    if (r->opt->foreground)
        return 0;
    if (daemon(0, 0) < 0) {
        log_err("cannot detach: %s", strerror(errno));
        return -1;
    }
    log_set_stderr_copy(false);
    return 0;
}

/* After detaching: the pid to write is the daemon's. */
static int create_pidfile(struct run *r)
{
    if (r->pidfile == NULL)
        return 0;
    if (write_pidfile(r->pidfile) < 0)
        return -1;
    r->pid_written = true;
    return 0;
}

/* warn_restart for the reload thread: settings only a restart applies. */
static void on_reload(const struct config *cfg, void *arg)
{
    warn_restart(arg, cfg);
}

static int start_reloader(struct run *r)
{
    struct refresh_options o = {r->opt->config_path, r->opt->verbose, on_reload, &r->startup};
    sigset_t set;

    /* The reload threads must not take libmilter's stop signals either
     * (libmilter blocks them the same way in smfi_main). */
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    r->refresher = refresh_start(&o, live_get(r->ref));
    return r->refresher != NULL ? 0 : -1;
}

/* Serves until libmilter stops; the messages hold their own references. */
static int serve(struct run *r)
{
    live_release(r->ref);
    r->ref = NULL;
    log_notice("listening on %s (pid %ld)", r->conn, (long)getpid());
    if (smfi_main() != MI_SUCCESS) {
        log_err("smfi_main failed");
        return 1;
    }
    log_notice("stopped");
    return 0;
}

/* Undoes whatever the steps did, in reverse; safe after any of them. */
static void run_cleanup(struct run *r)
{
    const char *sockpath;

    metrics_http_free(r->metrics);
    socketmap_free(r->socketmap);
    refresh_stop(r->refresher);
    live_release(r->ref);
    live_install(NULL);
    config_free(r->cfg);
    if (r->pid_written && unlink(r->pidfile) < 0)
        log_warning("cannot remove pidfile %s: %s", r->pidfile, strerror(errno));
    /* libmilter leaves its unix socket behind; remove it if it still is one. */
    if (r->socket_opened && r->conn != NULL && (sockpath = unix_path(r->conn)) != NULL &&
        util_unix_remove(sockpath) < 0)
        log_debug("cannot remove socket %s: %s", sockpath, strerror(errno));
    free(r->conn);
    free(r->pidfile);
    startup_free(&r->startup);
    diag_free(r->d);
    metrics_sources_clear();
    log_close();
}

/* The start, in order.  Each step logs why it fails; the first failure
 * ends the start and run_cleanup undoes what the earlier ones did. */
static int (*const start_steps[])(struct run *) = {
    load_config,     /* the file, its diagnostics, its log level */
    choose_paths,    /* socket and pidfile: the command line's, else the file's */
    go_live,         /* install the configuration, hold it until serving */
    open_socket,     /* libmilter's socket, its group and mode */
    open_socketmap,  /* the socketmap's socket, if set: the same group and mode */
    become_user,     /* user and group of the configuration */
    open_metrics,    /* the metrics socket, if any, as that user */
    detach,          /* unless foreground */
    create_pidfile,  /* with the detached pid */
    start_reloader,  /* the SIGUSR1 thread */
    start_socketmap, /* the socketmap's thread */
    start_metrics,   /* the metrics server's thread */
};

/*
 * Large blocks (a table's arena and index blocks, a table file's text)
 * must come from mmap, so that a table freed after a reload goes back to
 * the system.  glibc raises its mmap threshold to the size of the largest
 * mmapped block freed (up to 32 MiB); past that, such blocks come from
 * the heap, and the heap kept the freed tables: with a 1,000,000-address
 * table RSS grew by ~100 MB a reload (142 -> 828 MiB after five) instead of
 * falling back to one table.  A fixed threshold turns the raise off.
 */
static void return_large_blocks(void)
{
#ifdef M_MMAP_THRESHOLD
    (void)mallopt(M_MMAP_THRESHOLD, 1 << 20);
#endif
}

int daemon_run(const struct daemon_options *opt)
{
    struct run r = {.opt = opt, .start_time = metrics_now()};
    int status = 1;
    size_t i;

    return_large_blocks();
    block_signals();
    log_open(FILTER_NAME, opt->foreground, opt->verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
    log_set_stderr_copy(true); /* until detached */
    for (i = 0; i < sizeof start_steps / sizeof start_steps[0]; i++)
        if (start_steps[i](&r) < 0)
            break;
    if (i == sizeof start_steps / sizeof start_steps[0])
        status = serve(&r);
    run_cleanup(&r);
    return status;
}
