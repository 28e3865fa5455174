/*
 * source_records.c - the records one source yielded (see source_records.h):
 * their checks and canonical forms, the messages that name a bad value's
 * origin, and the arena that holds every string.  Feeding them into a
 * table builder is source_apply.c.
 */
#include "source_records.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "util.h"

/* Arena chunks: strings and target arrays never move once written. */
struct chunk {
    struct chunk *next;
    size_t used, size;
    /* the bytes follow */
};
#define CHUNK_SIZE (64 * 1024 - sizeof(struct chunk))

struct source_records {
    char *name;
    struct source_record *recs;
    size_t n, cap;
    struct chunk *chunks;
    bool oom;
};

/* What each kind takes and how messages name its parts. */
static const struct kind_info {
    const char *keyword;     /* in snapshots */
    const char *key_word;    /* "invalid KEY_WORD "x"" */
    const char *what;        /* "WHAT key: ..." */
    const char *target_word; /* "invalid TARGET_WORD "y"" */
    size_t min, max;         /* number of targets */
    bool key_domain, target_domain;
} kinds[] = {
    [SOURCE_DOMAIN] = {"domain", "domain", "domain", NULL, 0, 0, true, false},
    [SOURCE_ALIAS_DOMAIN] = {"alias_domain", "alias domain", "alias domain", "target domain", 1, 1,
                             true, true},
    [SOURCE_MAILBOX] = {"mailbox", "primary address", "mailbox", NULL, 0, 0, false, false},
    [SOURCE_SECONDARY] = {"secondary", "secondary address", "secondary address", "primary address",
                          1, 1, false, false},
    [SOURCE_ALIAS] = {"alias", "alias address", "alias", "target", 1, SIZE_MAX, false, false},
    [SOURCE_CATCH_ALL] = {"catch_all", "catch-all domain", "catch-all of", "target", 1, SIZE_MAX,
                          true, false},
};

const char *source_kind_name(enum source_kind kind)
{
    return kind >= SOURCE_DOMAIN && kind <= SOURCE_KIND_LAST ? kinds[kind].keyword : NULL;
}

enum source_kind source_kind_from_name(const char *s, size_t n)
{
    for (int k = SOURCE_DOMAIN; k <= SOURCE_KIND_LAST; k++)
        if (strlen(kinds[k].keyword) == n && memcmp(kinds[k].keyword, s, n) == 0)
            return (enum source_kind)k;
    return 0;
}

/* ---- arena ------------------------------------------------------------ */

static void *arena_alloc(struct source_records *r, size_t n, size_t align)
{
    struct chunk *c = r->chunks;

    if (c != NULL) {
        size_t at = (c->used + align - 1) & ~(align - 1);
        if (at <= c->size && n <= c->size - at) {
            c->used = at + n;
            return (char *)(c + 1) + at;
        }
    }
    size_t size = n > CHUNK_SIZE ? n : CHUNK_SIZE;
    if (size > SIZE_MAX - sizeof(*c) || (c = malloc(sizeof(*c) + size)) == NULL) {
        r->oom = true;
        return NULL;
    }
    c->next = r->chunks;
    c->size = size;
    c->used = n;
    r->chunks = c;
    return c + 1;
}

static char *arena_strdup(struct source_records *r, const char *s)
{
    size_t len = strlen(s);
    char *p = arena_alloc(r, len + 1, 1);

    if (p != NULL)
        memcpy(p, s, len + 1);
    return p;
}

/* ---- the set ---------------------------------------------------------- */

struct source_records *source_records_new(const char *name)
{
    struct source_records *r = calloc(1, sizeof(*r));

    if (r == NULL || (r->name = strdup(name != NULL ? name : "")) == NULL) {
        free(r);
        return NULL;
    }
    return r;
}

void source_records_free(struct source_records *r)
{
    if (r == NULL)
        return;
    for (struct chunk *c = r->chunks, *next; c != NULL; c = next) {
        next = c->next;
        free(c);
    }
    free(r->recs);
    free(r->name);
    free(r);
}

const char *source_records_name(const struct source_records *r)
{
    return r->name;
}

size_t source_records_count(const struct source_records *r)
{
    return r->n;
}

const struct source_record *source_records_at(const struct source_records *r, size_t index)
{
    return index < r->n ? &r->recs[index] : NULL;
}

void source_records_truncate(struct source_records *r, size_t n)
{
    if (n < r->n)
        r->n = n;
}

bool source_records_oom(const struct source_records *r)
{
    return r->oom;
}

/* ---- checks ----------------------------------------------------------- */

/* Bytes of a value shown in a message, at most (then "..."). */
#define SHOW_MAX 200

/* shown - v for a message, into buf: at most SHOW_MAX bytes, cut at a
 * UTF-8 boundary, with "..." when cut; a NUL byte as \x00 (diag escapes
 * the other control bytes itself). */
static const char *shown(struct source_text v, char buf[4 * SHOW_MAX + 4])
{
    size_t n = v.len, o = 0;

    if (n > SHOW_MAX) {
        n = SHOW_MAX;
        while (n > 0 && ((unsigned char)v.p[n] & 0xc0) == 0x80)
            n--;
    }
    for (size_t i = 0; i < n; i++) {
        if (v.p[i] == '\0') {
            memcpy(buf + o, "\\x00", 4);
            o += 4;
        } else
            buf[o++] = v.p[i];
    }
    if (n < v.len) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}

/* canon_domain - a domain name (hosted, or the target of an alias domain)
 * folded, A-label, without trailing dot, into out.  NULL, or why not. */
static const char *canon_domain(struct source_text v, char out[ADDR_TEXT_MAX + 1])
{
    enum addr_error err = addr_parse_domain(v.p, v.len, out);

    if (err != ADDR_OK)
        return err == ADDR_ERR_EMPTY ? "empty domain name" : addr_strerror(err);
    if (out[0] == '[')
        return "an address literal cannot be a hosted domain";
    return NULL;
}

/* canon_address - an address with a domain in canonical form, case of the
 * local part kept, into out.  NULL, or why not. */
static const char *canon_address(struct source_text v, char out[ADDR_TEXT_MAX + 1])
{
    struct addr a;
    enum addr_error err = addr_parse(&a, v.p, v.len, NULL);

    if (err != ADDR_OK)
        return addr_strerror(err);
    if (a.domain_len == 0)
        return "address needs a domain";
    if (addr_format(&a, true, false, out, ADDR_TEXT_MAX + 1) == 0)
        return "address too long";
    return NULL;
}

static const char *canon(bool domain, struct source_text v, char out[ADDR_TEXT_MAX + 1])
{
    return domain ? canon_domain(v, out) : canon_address(v, out);
}

/* check_shape - the origin and the number of targets; 0, or 1 after an
 * error in d. */
static int check_shape(const struct kind_info *k, const char *origin, struct source_text key,
                       size_t ntargets, struct diag_loc at, struct diag *d)
{
    char show[4 * SHOW_MAX + 4];

    if (origin == NULL || origin[0] == '\0') {
        diag_add_loc(d, DIAG_ERROR, at, "%s \"%s\" without an origin", k->what, shown(key, show));
        return 1;
    }
    if (ntargets >= k->min && ntargets <= k->max)
        return 0;
    if (k->max == 0)
        diag_add_loc(d, DIAG_ERROR, at, "%s: %s \"%s\" takes no target, not %zu", origin, k->what,
                     shown(key, show), ntargets);
    else if (k->min == k->max)
        diag_add_loc(d, DIAG_ERROR, at, "%s: %s \"%s\" needs exactly one target, not %zu", origin,
                     k->what, shown(key, show), ntargets);
    else
        diag_add_loc(d, DIAG_ERROR, at, "%s: %s \"%s\" needs at least one target", origin, k->what,
                     shown(key, show));
    return 1;
}

/*
 * canon_targets - the targets checked, their canonical forms in the arena
 * (into *out, an arena array); every bad one reported.  Returns 0, 1 when
 * one was bad, -1 when out of memory.
 */
static int canon_targets(struct source_records *r, const struct kind_info *k, const char *origin,
                         const char *key_shown, const struct source_text *targets, size_t n,
                         const char ***out, struct diag_loc at, struct diag *d)
{
    char buf[ADDR_TEXT_MAX + 1], show[4 * SHOW_MAX + 4];
    const char **v = NULL;
    int rc = 0;

    if (n == 0)
        return 0;
    if (n > SIZE_MAX / sizeof(*v) ||
        (v = arena_alloc(r, n * sizeof(*v), _Alignof(const char *))) == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const char *why = canon(k->target_domain, targets[i], buf);
        if (why != NULL) {
            diag_add_loc(d, DIAG_ERROR, at, "%s: %s %s: invalid %s \"%s\": %s", origin, k->what,
                         key_shown, k->target_word, shown(targets[i], show), why);
            rc = 1;
        } else if (rc == 0 && (v[i] = arena_strdup(r, buf)) == NULL)
            return -1;
    }
    *out = v;
    return rc;
}

/* keep_origin - origin in the arena, shared with the previous record when
 * equal (a DN yields a mailbox and its secondary addresses in a row). */
static const char *keep_origin(struct source_records *r, const char *origin)
{
    if (r->n > 0 && strcmp(r->recs[r->n - 1].origin, origin) == 0)
        return r->recs[r->n - 1].origin;
    return arena_strdup(r, origin);
}

int source_records_add_at(struct source_records *r, enum source_kind kind, const char *origin,
                          struct source_text key, const struct source_text *targets,
                          size_t ntargets, struct diag_loc at, struct diag *d)
{
    char buf[ADDR_TEXT_MAX + 1], show[4 * SHOW_MAX + 4];
    const struct kind_info *k;
    struct source_record rec = {kind, NULL, NULL, ntargets, NULL};
    const char **v = NULL, *why;
    int rc;

    if (r->oom)
        return -1;
    if (kind < SOURCE_DOMAIN || kind > SOURCE_KIND_LAST) {
        diag_add_loc(d, DIAG_ERROR, at, "%s: record of unknown kind %d", origin ? origin : "?",
                     (int)kind);
        return 1;
    }
    k = &kinds[kind];
    if (check_shape(k, origin, key, ntargets, at, d) != 0)
        return 1;
    if ((why = canon(k->key_domain, key, buf)) != NULL)
        diag_add_loc(d, DIAG_ERROR, at, "%s: invalid %s \"%s\": %s", origin, k->key_word,
                     shown(key, show), why);
    else if ((rec.key = arena_strdup(r, buf)) == NULL)
        return -1;
    rc = canon_targets(r, k, origin, rec.key != NULL ? rec.key : shown(key, show), targets,
                       ntargets, &v, at, d);
    if (rc < 0)
        return -1;
    if (rc > 0 || why != NULL)
        return 1;
    rec.targets = v;
    if ((rec.origin = keep_origin(r, origin)) == NULL ||
        util_grow((void **)&r->recs, &r->cap, r->n + 1, sizeof(*r->recs)) < 0) {
        r->oom = true;
        return -1;
    }
    r->recs[r->n++] = rec;
    return 0;
}

int source_records_add(struct source_records *r, enum source_kind kind, const char *origin,
                       struct source_text key, const struct source_text *targets, size_t ntargets,
                       struct diag *d)
{
    struct diag_loc at = {r->name[0] != '\0' ? r->name : NULL, 0};

    return source_records_add_at(r, kind, origin, key, targets, ntargets, at, d);
}
