/*
 * metrics.c - the counters (striped relaxed atomics) and the sources' read
 * state (a small mutex-guarded list); see metrics.h for why they are
 * process-global.
 */
#include "metrics.h"

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Where each counter sits in a stripe. */
enum {
    C_RECIPIENTS = 0,
    C_MESSAGES = C_RECIPIENTS + POLICY_ACTION_COUNT * POLICY_RULE_COUNT,
    C_REWRITES,
    C_EDITS,
    C_TEMPFAILS = C_EDITS + METRICS_EDIT_COUNT,
    C_RELOADS = C_TEMPFAILS + METRICS_TEMPFAIL_COUNT,
    NCOUNTERS = C_RELOADS + METRICS_RELOAD_COUNT,
};

/* More stripes than cores that run callbacks at once is enough: two
 * threads sharing a stripe still count right, only a little slower. */
#define NSTRIPES 16

/* A stripe starts on its own cache line (64 bytes on the machines this
 * runs on); its size is then a multiple of it, so stripes share no line. */
struct stripe {
    alignas(64) atomic_uint_least64_t n[NCOUNTERS];
};

/* Zero-initialised static atomics are valid (C11 7.17.2.1). */
static struct stripe stripes[NSTRIPES];
static atomic_uint next_stripe;
/* The result of the last reload (an alert wants "failing now", which
 * counters only give by comparing rates). */
static atomic_bool last_reload_failed;
/* This thread's stripe, chosen round-robin at its first count. */
static _Thread_local struct stripe *my_stripe;

static void add(unsigned counter, uint64_t n)
{
    struct stripe *s = my_stripe;

    if (s == NULL) {
        unsigned i = atomic_fetch_add_explicit(&next_stripe, 1, memory_order_relaxed);
        s = my_stripe = &stripes[i % NSTRIPES];
    }
    /* relaxed: a counter orders nothing, and a scrape may lag a count */
    atomic_fetch_add_explicit(&s->n[counter], n, memory_order_relaxed);
}

void metrics_recipient(enum policy_action action, enum policy_rule rule)
{
    if ((unsigned)action < POLICY_ACTION_COUNT && (unsigned)rule < POLICY_RULE_COUNT)
        add(C_RECIPIENTS + (unsigned)action * POLICY_RULE_COUNT + (unsigned)rule, 1);
}

void metrics_message(void)
{
    add(C_MESSAGES, 1);
}

void metrics_rewrites(size_t n)
{
    add(C_REWRITES, n);
}

void metrics_edit(enum metrics_edit kind)
{
    if ((unsigned)kind < METRICS_EDIT_COUNT)
        add(C_EDITS + (unsigned)kind, 1);
}

void metrics_tempfail(enum metrics_tempfail cause)
{
    if ((unsigned)cause < METRICS_TEMPFAIL_COUNT)
        add(C_TEMPFAILS + (unsigned)cause, 1);
}

void metrics_reload(enum metrics_reload result)
{
    if ((unsigned)result < METRICS_RELOAD_COUNT) {
        add(C_RELOADS + (unsigned)result, 1);
        atomic_store(&last_reload_failed, result == METRICS_RELOAD_FAILURE);
    }
}

static uint64_t sum(unsigned counter)
{
    uint64_t total = 0;

    for (size_t i = 0; i < NSTRIPES; i++)
        total += atomic_load_explicit(&stripes[i].n[counter], memory_order_relaxed);
    return total;
}

void metrics_counters_read(struct metrics_counters *out)
{
    memset(out, 0, sizeof(*out));
    for (unsigned a = 0; a < POLICY_ACTION_COUNT; a++)
        for (unsigned r = 0; r < POLICY_RULE_COUNT; r++)
            out->recipients[a][r] = sum(C_RECIPIENTS + a * POLICY_RULE_COUNT + r);
    out->messages = sum(C_MESSAGES);
    out->rewrites = sum(C_REWRITES);
    for (unsigned i = 0; i < METRICS_EDIT_COUNT; i++)
        out->edits[i] = sum(C_EDITS + i);
    for (unsigned i = 0; i < METRICS_TEMPFAIL_COUNT; i++)
        out->tempfails[i] = sum(C_TEMPFAILS + i);
    for (unsigned i = 0; i < METRICS_RELOAD_COUNT; i++)
        out->reloads[i] = sum(C_RELOADS + i);
    out->last_reload_failed = atomic_load(&last_reload_failed);
}

const char *metrics_edit_name(enum metrics_edit kind)
{
    static const char *const names[] = {
        [METRICS_EDIT_ADD] = "addrcpt", [METRICS_EDIT_DELETE] = "delrcpt"};

    return (unsigned)kind < METRICS_EDIT_COUNT ? names[kind] : "?";
}

const char *metrics_tempfail_name(enum metrics_tempfail cause)
{
    static const char *const names[] = {
        [METRICS_TEMPFAIL_POLICY] = "policy",
        [METRICS_TEMPFAIL_NO_CONFIG] = "no_config",
        [METRICS_TEMPFAIL_NO_MEMORY] = "no_memory",
        [METRICS_TEMPFAIL_EDIT] = "edit_refused",
    };

    return (unsigned)cause < METRICS_TEMPFAIL_COUNT ? names[cause] : "?";
}

const char *metrics_reload_name(enum metrics_reload result)
{
    static const char *const names[] = {
        [METRICS_RELOAD_SUCCESS] = "success", [METRICS_RELOAD_FAILURE] = "failure"};

    return (unsigned)result < METRICS_RELOAD_COUNT ? names[result] : "?";
}

/* ------------------------------------------------------------------ */
/* the sources' read state */

struct source_slot {
    char *title;
    struct metrics_source state;
    double touched; /* the last read of either kind: which slot to reuse */
};

static struct {
    pthread_mutex_t lock;
    struct source_slot slots[METRICS_MAX_SOURCES];
    size_t n;
} sources = {.lock = PTHREAD_MUTEX_INITIALIZER};

double metrics_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The slot of title, a new one, or the one read longest ago; NULL when
 * out of memory.  Under the lock. */
static struct source_slot *slot_for(const char *title)
{
    struct source_slot *oldest = NULL;
    char *copy;

    for (size_t i = 0; i < sources.n; i++) {
        if (strcmp(sources.slots[i].title, title) == 0)
            return &sources.slots[i];
        if (oldest == NULL || sources.slots[i].touched < oldest->touched)
            oldest = &sources.slots[i];
    }
    if ((copy = strdup(title)) == NULL)
        return NULL;
    if (sources.n < METRICS_MAX_SOURCES)
        oldest = &sources.slots[sources.n++];
    else
        free(oldest->title);
    memset(oldest, 0, sizeof(*oldest));
    oldest->title = copy;
    return oldest;
}

void metrics_source_read(const char *title, bool ok, size_t entries)
{
    double now = metrics_now();
    struct source_slot *s;

    pthread_mutex_lock(&sources.lock);
    /* out of memory only costs this read's record */
    if ((s = slot_for(title)) != NULL) {
        s->touched = now;
        s->state.up = ok;
        if (ok) {
            s->state.last_ok = now;
            s->state.entries = entries;
        } else {
            s->state.last_error = now;
        }
    }
    pthread_mutex_unlock(&sources.lock);
}

bool metrics_source_get(const char *title, struct metrics_source *out)
{
    bool found = false;

    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&sources.lock);
    for (size_t i = 0; i < sources.n && !found; i++) {
        if (strcmp(sources.slots[i].title, title) == 0) {
            *out = sources.slots[i].state;
            found = true;
        }
    }
    pthread_mutex_unlock(&sources.lock);
    return found;
}

void metrics_sources_clear(void)
{
    pthread_mutex_lock(&sources.lock);
    for (size_t i = 0; i < sources.n; i++)
        free(sources.slots[i].title);
    sources.n = 0;
    pthread_mutex_unlock(&sources.lock);
}
