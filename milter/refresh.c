/*
 * refresh.c - the reload thread, its timers, and the persist watchers (see
 * refresh.h).
 *
 * The reload thread waits for SIGUSR1 (an administrator's reload) or
 * SIGUSR2 (a watcher saw a change) with sigtimedwait, its timeout the
 * nearest of: the next refresh, a second after the last announced change,
 * the next retry of a source serving its snapshot.  Watchers only set the
 * time of the change and wake it; all building happens in this one thread,
 * so reloads never overlap.
 */
#include "refresh.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "diag.h"
#include "live.h"
#include "log.h"
#include "metrics.h"
#include "source.h"

/* A source serving its snapshot is tried again this often (seconds). */
#define RETRY_STALE 5
/* A watcher whose connection failed waits this long (seconds). */
#define RETRY_WATCH 5
/* Changes are gathered this long before the reload (seconds). */
#define CHANGE_DELAY 1
/* While a replaced configuration is still held by messages, the thread
 * looks this often whether their last one has finished, to free it
 * (nanoseconds; live_release leaves the freeing to this thread). */
#define REAP_EVERY 100000000LL

struct watcher {
    struct refresher *owner;
    struct source_def def; /* a copy: the configuration that named it may go */
    pthread_t thread;
    bool started;
};

struct refresher {
    struct refresh_options o;
    pthread_t thread;
    bool thread_started;
    volatile bool stop;     /* read by the watchers' polls, too */
    atomic_llong change_at; /* monotonic ns of the first unhandled change; 0: none */
    long long last_load;    /* monotonic ns of the last reload (or the start) */
    struct watcher *watchers;
    size_t nwatchers;
};

static long long now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void refresh_block_signals(void)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static const char *plural(size_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

void refresh_log_summary(const char *what, const struct config *cfg)
{
    size_t nd = table_domain_count(cfg->table), nm = table_count_kind(cfg->table, TABLE_MAILBOX),
           ns = table_count_kind(cfg->table, TABLE_SECONDARY),
           na = table_count_kind(cfg->table, TABLE_ALIAS);

    log_notice("%s %s: %zu %s, %zu %s, %zu %s, %zu %s%s%s", what, cfg->path, nd,
               plural(nd, "domain", "domains"), nm, plural(nm, "mailbox", "mailboxes"), ns,
               plural(ns, "secondary address", "secondary addresses"), na,
               plural(na, "alias", "aliases"), cfg->dry_run ? " (dry run)" : "",
               config_stale(cfg) ? " (a source serves its snapshot)" : "");
}

void refresh_log_diag(const struct diag *d)
{
    for (size_t i = 0; i < diag_size(d); i++) {
        if (diag_level_at(d, i) == DIAG_ERROR)
            log_err("%s", diag_text(d, i));
        else
            log_warning("%s", diag_text(d, i));
    }
}

void refresh_went_live(const struct config *cfg)
{
    struct diag *d = diag_new();

    if (d == NULL) {
        log_warning("out of memory writing the snapshots");
        return;
    }
    config_write_snapshots(cfg, d);
    refresh_log_diag(d);
    diag_free(d);
}

/* One reload: why names its cause in the log ("SIGUSR1", "refresh", ...);
 * counted by result for the metrics. */
static void reload(struct refresher *r, const char *why)
{
    struct diag *d = diag_new();
    struct config *cfg = NULL;
    enum metrics_reload result = METRICS_RELOAD_FAILURE;
    long long t0, t1, t2;

    log_info("%s: reloading %s", why, r->o.config_path);
    t0 = r->last_load = now_ns();
    if (d == NULL) {
        log_err("reload failed, keeping the old configuration: out of memory");
        goto out;
    }
    cfg = config_load(r->o.config_path, d);
    t1 = now_ns();
    if (cfg == NULL) {
        refresh_log_diag(d);
        log_err("reload failed, keeping the old configuration: %zu %s in %s",
                diag_count(d, DIAG_ERROR), plural(diag_count(d, DIAG_ERROR), "error", "errors"),
                r->o.config_path);
        goto out;
    }
    refresh_log_diag(d);
    if (r->o.on_load != NULL)
        r->o.on_load(cfg, r->o.arg);
    /* Only this thread swaps, so cfg outlives its use below. */
    if (live_install(cfg) < 0) {
        log_err("reload failed, keeping the old configuration: out of memory");
        goto out;
    }
    t2 = now_ns();
    result = METRICS_RELOAD_SUCCESS;
    if (!r->o.verbose)
        log_set_level(cfg->log_level);
    log_info("reload took %.3f s: load %.3f s (table files %.3f, sources %.3f, index %.3f, "
             "validation %.3f), install %.3f s%s",
             (t2 - t0) / 1e9, (t1 - t0) / 1e9, cfg->took_read, cfg->took_sources, cfg->took_build,
             cfg->took_validate, (t2 - t1) / 1e9,
             live_pending() > 0 ? " (the previous configuration is freed after its last message)"
                                : " (the previous configuration freed)");
    refresh_log_summary("reloaded configuration", cfg);
    refresh_went_live(cfg);
out:
    metrics_reload(result);
    diag_free(d);
}

/* The next timed reason to reload, its deadline in *at (monotonic ns);
 * NULL when nothing is due by time alone. */
static const char *next_due(struct refresher *r, long long *at)
{
    struct live_ref *ref = live_acquire();
    const struct config *cfg = ref != NULL ? live_get(ref) : NULL;
    long long change = atomic_load(&r->change_at);
    const char *why = NULL;
    unsigned every = cfg != NULL ? config_refresh(cfg) : 0;

    if (every > 0) {
        *at = r->last_load + (long long)every * 1000000000LL;
        why = "refresh";
    }
    if (cfg != NULL && config_stale(cfg) &&
        (why == NULL || r->last_load + RETRY_STALE * 1000000000LL < *at)) {
        *at = r->last_load + RETRY_STALE * 1000000000LL;
        why = "retry of a source serving its snapshot";
    }
    if (change != 0 && (why == NULL || change + CHANGE_DELAY * 1000000000LL < *at)) {
        *at = change + CHANGE_DELAY * 1000000000LL;
        why = "change announced by a source";
    }
    live_release(ref);
    return why;
}

static void *reload_main(void *arg)
{
    struct refresher *r = arg;
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    while (!r->stop) {
        long long at = 0;
        const char *why = next_due(r, &at);
        long long wait = why != NULL ? at - now_ns() : 0;
        int sig;
        live_reap();
        if (why != NULL && wait <= 0) {
            atomic_store(&r->change_at, 0);
            reload(r, why);
            continue;
        }
        if (live_pending() > 0 && (why == NULL || wait > REAP_EVERY)) {
            why = "reap";
            wait = REAP_EVERY;
        }
        if (why != NULL) {
            struct timespec ts = {(time_t)(wait / 1000000000LL), (long)(wait % 1000000000LL)};
            sig = sigtimedwait(&set, NULL, &ts);
        } else {
            sig = sigwaitinfo(&set, NULL);
        }
        if (r->stop)
            break;
        if (sig == SIGUSR1) {
            atomic_store(&r->change_at, 0);
            reload(r, "SIGUSR1");
        }
        /* SIGUSR2, a timeout or EINTR: the loop looks at the clock again */
    }
    return NULL;
}

/* A watcher's callback: remember the first change and wake the reloader. */
static void changed(void *arg)
{
    struct watcher *w = arg;
    long long none = 0;

    if (atomic_compare_exchange_strong(&w->owner->change_at, &none, now_ns()))
        log_info("%s: change announced; reloading in %d s", source_name(&w->def), CHANGE_DELAY);
    pthread_kill(w->owner->thread, SIGUSR2);
}

static void *watch_main(void *arg)
{
    struct watcher *w = arg;

    while (!w->owner->stop) {
        struct diag *d = diag_new();
        int rc = d != NULL ? source_watch(&w->def, &w->owner->stop, changed, w, d) : -1;
        if (d != NULL && rc != 0)
            refresh_log_diag(d);
        diag_free(d);
        if (rc == 1) {
            log_warning("%s: the server announces no changes (RFC 4533); source \"%s\" is "
                        "read every refresh only",
                        source_name(&w->def), w->def.title);
            break;
        }
        for (int i = 0; rc != 0 && i < RETRY_WATCH && !w->owner->stop; i++)
            sleep(1);
    }
    return NULL;
}

static int start_watchers(struct refresher *r, const struct config *cfg)
{
    size_t n = config_source_count(cfg);

    if ((r->watchers = calloc(n > 0 ? n : 1, sizeof(*r->watchers))) == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const struct source_def *def = config_source_at(cfg, i);
        struct watcher *w = &r->watchers[r->nwatchers];
        if (!def->persist)
            continue;
        w->owner = r;
        r->nwatchers++;
        if (source_def_copy(&w->def, def) != 0)
            return -1;
        if ((errno = pthread_create(&w->thread, NULL, watch_main, w)) != 0) {
            log_err("cannot start the watcher of source \"%s\": %s", def->title, strerror(errno));
            return -1;
        }
        w->started = true;
    }
    return 0;
}

struct refresher *refresh_start(const struct refresh_options *o, const struct config *cfg)
{
    struct refresher *r = calloc(1, sizeof(*r));

    if (r == NULL) {
        log_err("out of memory");
        return NULL;
    }
    r->o = *o;
    atomic_init(&r->change_at, 0);
    r->last_load = now_ns();
    if ((errno = pthread_create(&r->thread, NULL, reload_main, r)) != 0) {
        log_err("cannot start the reload thread: %s", strerror(errno));
        free(r);
        return NULL;
    }
    r->thread_started = true;
    if (start_watchers(r, cfg) != 0) {
        log_err("cannot follow the sources' changes");
        refresh_stop(r);
        return NULL;
    }
    return r;
}

void refresh_stop(struct refresher *r)
{
    if (r == NULL)
        return;
    r->stop = true;
    if (r->thread_started) {
        pthread_kill(r->thread, SIGUSR1);
        pthread_join(r->thread, NULL);
    }
    for (size_t i = 0; i < r->nwatchers; i++) {
        if (r->watchers[i].started)
            pthread_join(r->watchers[i].thread, NULL);
        source_def_free(&r->watchers[i].def);
    }
    free(r->watchers);
    free(r);
}
