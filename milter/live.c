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
    atomic_uint refs; /* the live pointer's own, plus one per holder */
};

/* The lock makes "read the pointer, count a reference" one step, so a
 * concurrent install cannot free what was just read. */
static struct {
    pthread_mutex_t lock;
    struct live_ref *current;
} live = {PTHREAD_MUTEX_INITIALIZER, NULL};

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

void live_release(struct live_ref *ref)
{
    if (ref == NULL)
        return;
    if (atomic_fetch_sub(&ref->refs, 1) == 1) {
        log_debug("freeing configuration %s: its last message has finished", ref->cfg->path);
        config_free(ref->cfg);
        free(ref);
    }
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
    live_release(old);
    return 0;
}
