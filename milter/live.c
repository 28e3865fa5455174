/*
 * live.c - the live configuration reference: a mutex-guarded pointer to a
 * reference-counted wrapper around a struct config.
 *
 * Owns the live pointer and the wrappers; see live.h for why the pointer
 * is process-global.
 */
#include "live.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "log.h"

struct live_ref {
    struct config *cfg;
    atomic_uint refs;      /* the live pointer's own, plus one per holder */
    struct live_ref *next; /* on the retired stack, once unreferenced */
};

/* The lock makes "read the pointer, count a reference" one step, so a
 * concurrent install cannot free what was just read.  retired is a stack
 * of unreferenced configurations waiting for live_reap: pushed lock-free
 * by whichever thread drops the last reference, taken whole (exchange) by
 * the reaper, so no ABA.  replaced counts installs' predecessors not yet
 * freed, so the reload thread knows whether to look again. */
static struct {
    pthread_mutex_t lock;
    struct live_ref *current;
    _Atomic(struct live_ref *) retired;
    atomic_size_t replaced;
} live = {PTHREAD_MUTEX_INITIALIZER, NULL, NULL, 0};

struct live_ref *live_acquire(void)
{
    struct live_ref *ref;

    pthread_mutex_lock(&live.lock);
    ref = live.current;
    if (ref != NULL)
        atomic_fetch_add(&ref->refs, 1);
    pthread_mutex_unlock(&live.lock);
    return ref;
}

const struct config *live_get(const struct live_ref *ref)
{
    return ref->cfg;
}

/* The last reference only pushes: freeing a large table takes long
 * enough (hundreds of megabytes returned to the system) that the message
 * whose end dropped it would wait for it. */
void live_release(struct live_ref *ref)
{
    if (ref == NULL)
        return;
    if (atomic_fetch_sub(&ref->refs, 1) == 1) {
        ref->next = atomic_load(&live.retired);
        while (!atomic_compare_exchange_weak(&live.retired, &ref->next, ref))
            ;
    }
}

size_t live_reap(void)
{
    struct live_ref *ref = atomic_exchange(&live.retired, NULL), *next;
    size_t n = 0;

    for (; ref != NULL; ref = next, n++) {
        next = ref->next;
        log_debug("freeing configuration %s: its last message has finished", ref->cfg->path);
        config_free(ref->cfg);
        free(ref);
    }
    if (n > 0)
        atomic_fetch_sub(&live.replaced, n);
    return n;
}

size_t live_pending(void)
{
    return atomic_load(&live.replaced);
}

int live_install(struct config *cfg)
{
    struct live_ref *ref = NULL, *old;

    if (cfg != NULL) {
        if ((ref = malloc(sizeof *ref)) == NULL) {
            config_free(cfg);
            return -1;
        }
        ref->cfg = cfg;
        atomic_init(&ref->refs, 1);
    }
    pthread_mutex_lock(&live.lock);
    old = live.current;
    live.current = ref;
    pthread_mutex_unlock(&live.lock);
    if (old != NULL)
        atomic_fetch_add(&live.replaced, 1);
    live_release(old);
    live_reap();
    return 0;
}
