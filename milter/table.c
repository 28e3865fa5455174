/*
 * table.c - the immutable recipient table: arena, open-addressing hash,
 * builder.
 *
 * Why a hand-written table: the lookup is the whole hot path of the milter
 * and the table must hold a million addresses in little memory.  Strings
 * and target arrays live in one bump arena (no per-entry malloc header),
 * entries in one array, and the index is linear probing over 8-byte slots
 * (32-bit hash tag + 32-bit entry number) kept at most half full, so a
 * lookup touches one or two cache lines and compares a string only when
 * the tag matches.  Nothing changes after table_builder_finish, so readers
 * need no locks.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "table.h"

/* ---- arena ------------------------------------------------------------ */

#define ARENA_BLOCK (1u << 20)

struct arena_block {
    struct arena_block *next;
    size_t used, size;
    /* data follows, max_align_t aligned */
    _Alignas(max_align_t) char data[];
};

struct arena {
    struct arena_block *head;
    size_t total;
};

static void *arena_alloc(struct arena *a, size_t n, size_t align)
{
    struct arena_block *b = a->head;
    size_t off;

    if (b != NULL) {
        off = (b->used + align - 1) & ~(align - 1);
        if (off <= b->size && n <= b->size - off) {
            b->used = off + n;
            return b->data + off;
        }
    }
    size_t size = n > ARENA_BLOCK / 4 ? n : ARENA_BLOCK;
    b = malloc(sizeof(*b) + size);
    if (b == NULL)
        return NULL;
    b->size = size;
    b->used = n;
    /* A large one-off block goes behind the head so the head keeps its
     * free space for the small strings that follow. */
    if (a->head != NULL && size > ARENA_BLOCK) {
        b->next = a->head->next;
        a->head->next = b;
    } else {
        b->next = a->head;
        a->head = b;
    }
    a->total += sizeof(*b) + size;
    return b->data;
}

static char *arena_strndup(struct arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1, 1);

    if (p != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static void arena_free(struct arena *a)
{
    struct arena_block *b = a->head, *next;

    for (; b != NULL; b = next) {
        next = b->next;
        free(b);
    }
    a->head = NULL;
    a->total = 0;
}

/* ---- hash index ------------------------------------------------------- */

static uint32_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (n * 0xff51afd7ed558ccdull);
    uint64_t v;

    while (n >= 8) {
        memcpy(&v, s, 8);
        h = (h ^ v) * 0xbf58476d1ce4e5b9ull;
        h ^= h >> 31;
        s += 8;
        n -= 8;
    }
    if (n > 0) {
        v = 0;
        memcpy(&v, s, n);
        h = (h ^ v) * 0x94d049bb133111ebull;
        h ^= h >> 29;
    }
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ull;
    return (uint32_t)(h ^ (h >> 32));
}

/*
 * A slot holds the item itself with its key's hash and length, so a probe
 * compares a key only when both match, and a hit costs the slot and the
 * item (whose key is stored inline): two cache lines.
 */
struct slot {
    uint32_t hash;
    uint32_t len;
    const void *item; /* NULL: empty */
};

struct index {
    struct slot *slots;
    size_t mask; /* capacity - 1; capacity is a power of two */
    size_t used;
};

typedef const char *(*key_of_fn)(const void *item);

/* Find key; returns the slot holding it, or the empty slot where it would
 * go. */
static struct slot *index_probe(const struct index *ix, const char *key, size_t len, uint32_t h,
                                key_of_fn key_of)
{
    size_t i = h & ix->mask;

    for (;;) {
        struct slot *s = &ix->slots[i];
        if (s->item == NULL)
            return s;
        if (s->hash == h && s->len == len && memcmp(key_of(s->item), key, len) == 0)
            return s;
        i = (i + 1) & ix->mask;
    }
}

/* Make room for one more item, keeping the load at most one half. */
static int index_reserve(struct index *ix)
{
    if (ix->slots != NULL && (ix->used + 1) * 2 <= ix->mask + 1)
        return 0;
    size_t cap = ix->slots == NULL ? 64 : (ix->mask + 1) * 2;
    struct slot *slots = calloc(cap, sizeof(*slots));
    if (slots == NULL)
        return -1;
    for (size_t i = 0; ix->slots != NULL && i <= ix->mask; i++) {
        if (ix->slots[i].item == NULL)
            continue;
        size_t j = ix->slots[i].hash & (cap - 1);
        while (slots[j].item != NULL)
            j = (j + 1) & (cap - 1);
        slots[j] = ix->slots[i];
    }
    free(ix->slots);
    ix->slots = slots;
    ix->mask = cap - 1;
    return 0;
}

static void index_fill(struct index *ix, struct slot *s, uint32_t h, size_t len, const void *item)
{
    s->hash = h;
    s->len = (uint32_t)len;
    s->item = item;
    ix->used++;
}

static size_t index_bytes(const struct index *ix)
{
    return ix->slots != NULL ? (ix->mask + 1) * sizeof(struct slot) : 0;
}

/* ---- the table -------------------------------------------------------- */

/* An entry and its key in one arena record. */
struct entry_rec {
    struct table_entry pub; /* first: a table_entry pointer is a record pointer */
    uint32_t index;
    char key[];
};

struct domain_rec {
    struct table_domain pub;
    uint32_t index;
};

/*
 * Target strings are stored after one class byte (enum table_target_class),
 * set at finish, so that resolution can skip the lookups of a target that
 * is plainly a mailbox or plainly elsewhere.
 */
#define TARGET_CLASS(s) (((const unsigned char *)(s))[-1])

struct table {
    _Atomic unsigned refs;
    struct arena arena;
    struct table_settings settings;
    struct entry_rec **entries;
    size_t nentries, entries_cap;
    struct index entry_index;
    struct domain_rec **domains;
    size_t ndomains, domains_cap;
    struct index domain_index;
    size_t kind_count[TABLE_ALIAS + 1];
    bool extension_keys;
};

static const char *entry_key_of(const void *item)
{
    return ((const struct entry_rec *)item)->key;
}

static const char *domain_key_of(const void *item)
{
    return ((const struct domain_rec *)item)->pub.name;
}

int table_lookup(const struct table *t, const char *key, size_t keylen,
                 const struct table_entry **out)
{
    if (t->entry_index.slots == NULL)
        return 0;
    struct slot *s =
        index_probe(&t->entry_index, key, keylen, hash_bytes(key, keylen), entry_key_of);
    if (s->item == NULL)
        return 0;
    *out = s->item;
    return 1;
}

int table_domain_lookup(const struct table *t, const char *name, size_t len,
                        const struct table_domain **out)
{
    if (t->domain_index.slots == NULL)
        return 0;
    struct slot *s = index_probe(&t->domain_index, name, len, hash_bytes(name, len), domain_key_of);
    if (s->item == NULL)
        return 0;
    *out = s->item;
    return 1;
}

const struct table_settings *table_settings(const struct table *t)
{
    return &t->settings;
}

size_t table_entry_count(const struct table *t)
{
    return t->nentries;
}

const struct table_entry *table_entry_at(const struct table *t, size_t index)
{
    return index < t->nentries ? &t->entries[index]->pub : NULL;
}

size_t table_entry_index(const struct table *t, const struct table_entry *e)
{
    size_t i = ((const struct entry_rec *)e)->index;

    return i < t->nentries && &t->entries[i]->pub == e ? i : (size_t)-1;
}

size_t table_domain_count(const struct table *t)
{
    return t->ndomains;
}

const struct table_domain *table_domain_at(const struct table *t, size_t index)
{
    return index < t->ndomains ? &t->domains[index]->pub : NULL;
}

size_t table_domain_index(const struct table *t, const struct table_domain *d)
{
    size_t i = ((const struct domain_rec *)d)->index;

    return i < t->ndomains && &t->domains[i]->pub == d ? i : (size_t)-1;
}

size_t table_count_kind(const struct table *t, enum table_kind kind)
{
    return kind >= TABLE_MAILBOX && kind <= TABLE_ALIAS ? t->kind_count[kind] : 0;
}

enum table_target_class table_target_class(const char *target)
{
    return (enum table_target_class)TARGET_CLASS(target);
}

bool table_extension_keys(const struct table *t)
{
    return t->extension_keys;
}

size_t table_memory(const struct table *t)
{
    return sizeof(*t) + t->arena.total + t->entries_cap * sizeof(*t->entries) +
           t->domains_cap * sizeof(*t->domains) + index_bytes(&t->entry_index) +
           index_bytes(&t->domain_index);
}

static void table_destroy(struct table *t)
{
    arena_free(&t->arena);
    free(t->entries);
    free(t->entry_index.slots);
    free(t->domains);
    free(t->domain_index.slots);
    free(t);
}

struct table *table_ref(struct table *t)
{
    atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
    return t;
}

void table_unref(struct table *t)
{
    if (t == NULL)
        return;
    if (atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1)
        table_destroy(t);
}

/* ---- builder ---------------------------------------------------------- */

/* Where each attribute of a domain was set, to report conflicts. */
struct domain_locs {
    struct table_loc decl, postmaster, alias_domain, catch_all, unknown;
    int unknown_set;
};

/* Target strings are interned: a million secondary addresses pointing at
 * a few hundred thousand mailboxes share one copy of each mailbox text. */
struct intern {
    const char **strs;
    size_t n, cap;
    struct index index;
};

struct table_builder {
    struct table *t; /* not owned once finished: the caller may free it */
    int finished;
    size_t nentries, ndomains; /* snapshot at finish, for the *_loc calls */
    struct table_loc *entry_locs;
    struct domain_locs *domain_locs;
    struct intern intern;
    struct arena files; /* interned file names, outlive the table */
};

static const char *intern_key_of(const void *item)
{
    return item;
}

static const char *intern_string(struct table_builder *b, const char *s)
{
    struct intern *in = &b->intern;
    size_t len = strlen(s);

    if (index_reserve(&in->index) < 0)
        return NULL;
    uint32_t h = hash_bytes(s, len);
    struct slot *slot = index_probe(&in->index, s, len, h, intern_key_of);
    if (slot->item != NULL)
        return slot->item;
    if (in->n == in->cap) {
        size_t cap = in->cap ? in->cap * 2 : 256;
        const char **strs = realloc(in->strs, cap * sizeof(*strs));
        if (strs == NULL)
            return NULL;
        in->strs = strs;
        in->cap = cap;
    }
    char *copy = arena_alloc(&b->t->arena, len + 2, 1);
    if (copy == NULL)
        return NULL;
    copy[0] = TARGET_UNCLASSIFIED;
    memcpy(copy + 1, s, len + 1);
    in->strs[in->n++] = copy + 1;
    index_fill(&in->index, slot, h, len, copy + 1);
    return copy + 1;
}

/* A copy of n target strings (interned) as an arena array. */
static const char *const *copy_targets(struct table_builder *b, const char *const *targets,
                                       size_t n)
{
    if (n == 0)
        return NULL;
    const char **v = arena_alloc(&b->t->arena, n * sizeof(*v), _Alignof(const char *));
    if (v == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if ((v[i] = intern_string(b, targets[i])) == NULL)
            return NULL;
    return v;
}

static char *fold_copy(struct arena *a, const char *s)
{
    size_t len = strlen(s);
    char *p = arena_strndup(a, s, len);

    if (p != NULL)
        addr_fold(p, p, len);
    return p;
}

struct table_builder *table_builder_new(const struct table_settings *settings)
{
    struct table_builder *b = calloc(1, sizeof(*b));
    struct table *t = calloc(1, sizeof(*t));
    struct table_settings *s;

    if (b == NULL || t == NULL)
        goto fail;
    b->t = t;
    atomic_init(&t->refs, 1);
    s = &t->settings;
    *s = *settings;
    s->postmaster = NULL;
    s->roles = NULL;
    if (settings->postmaster != NULL &&
        (s->postmaster = intern_string(b, settings->postmaster)) == NULL)
        goto fail;
    s->delimiters = arena_strndup(&t->arena, settings->delimiters ? settings->delimiters : "",
                                  settings->delimiters ? strlen(settings->delimiters) : 0);
    if (s->delimiters == NULL)
        goto fail;
    if (settings->nroles > 0) {
        const char **roles =
            arena_alloc(&t->arena, settings->nroles * sizeof(*roles), _Alignof(const char *));
        if (roles == NULL)
            goto fail;
        for (unsigned i = 0; i < settings->nroles; i++)
            if ((roles[i] = fold_copy(&t->arena, settings->roles[i])) == NULL)
                goto fail;
        s->roles = roles;
    }
    if (s->max_depth == 0)
        s->max_depth = TABLE_DEFAULT_MAX_DEPTH;
    if (s->max_targets == 0)
        s->max_targets = TABLE_DEFAULT_MAX_TARGETS;
    return b;

fail:
    if (b != NULL) {
        b->t = NULL;
        table_builder_free(b);
    }
    if (t != NULL)
        table_destroy(t);
    return NULL;
}

void table_builder_free(struct table_builder *b)
{
    if (b == NULL)
        return;
    if (b->t != NULL && !b->finished)
        table_destroy(b->t);
    free(b->entry_locs);
    free(b->domain_locs);
    free(b->intern.strs);
    free(b->intern.index.slots);
    arena_free(&b->files);
    free(b);
}

const char *table_builder_intern_file(struct table_builder *b, const char *file)
{
    return arena_strndup(&b->files, file, strlen(file));
}

static int grow_array(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 64;
    while (ncap < need)
        ncap *= 2;
    void *p = realloc(*arr, ncap * elem);
    if (p == NULL)
        return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

static struct table_domain *find_domain(struct table_builder *b, const char *name, size_t *idx)
{
    const struct table_domain *d;
    char key[ADDR_DOMAIN_MAX + 2];
    size_t len = strlen(name);

    if (len >= sizeof(key))
        return NULL;
    addr_fold(key, name, len);
    key[len] = '\0';
    if (table_domain_lookup(b->t, key, len, &d) != 1)
        return NULL;
    *idx = ((const struct domain_rec *)d)->index;
    return (struct table_domain *)d;
}

int table_builder_add_domain(struct table_builder *b, const char *name, struct table_loc loc)
{
    struct table *t = b->t;
    size_t idx, cap = t->domains_cap, len = strlen(name);

    if (b->finished || len > ADDR_DOMAIN_MAX)
        return -1;
    if (find_domain(b, name, &idx) != NULL)
        return 0;
    if (index_reserve(&t->domain_index) < 0 ||
        grow_array((void **)&t->domains, &t->domains_cap, t->ndomains + 1, sizeof(*t->domains)) < 0)
        return -1;
    if (t->domains_cap != cap) {
        struct domain_locs *locs =
            realloc(b->domain_locs, t->domains_cap * sizeof(*b->domain_locs));
        if (locs == NULL)
            return -1;
        b->domain_locs = locs;
    }
    struct domain_rec *rec = arena_alloc(&t->arena, sizeof(*rec), _Alignof(struct domain_rec));
    if (rec == NULL)
        return -1;
    memset(rec, 0, sizeof(*rec));
    if ((rec->pub.name = fold_copy(&t->arena, name)) == NULL)
        return -1;
    rec->pub.unknown = t->settings.unknown;
    rec->index = (uint32_t)t->ndomains;
    memset(&b->domain_locs[t->ndomains], 0, sizeof(b->domain_locs[0]));
    b->domain_locs[t->ndomains].decl = loc;
    t->domains[t->ndomains++] = rec;

    uint32_t h = hash_bytes(rec->pub.name, len);
    struct slot *s = index_probe(&t->domain_index, rec->pub.name, len, h, domain_key_of);
    index_fill(&t->domain_index, s, h, len, rec);
    return 0;
}

/* Common prologue of the setters: the domain and its locations, or the
 * setter's error code. */
static int domain_for_set(struct table_builder *b, const char *domain, struct table_domain **d,
                          struct domain_locs **locs)
{
    size_t idx;

    if (b->finished)
        return -1;
    if ((*d = find_domain(b, domain, &idx)) == NULL)
        return -2;
    *locs = &b->domain_locs[idx];
    return 0;
}

static int already_set(struct table_loc have, struct table_loc *prev)
{
    if (prev != NULL)
        *prev = have;
    return 1;
}

int table_builder_set_postmaster(struct table_builder *b, const char *domain, const char *address,
                                 struct table_loc loc, struct table_loc *prev)
{
    struct table_domain *d;
    struct domain_locs *locs;
    int rc = domain_for_set(b, domain, &d, &locs);

    if (rc != 0)
        return rc;
    if (d->postmaster != NULL)
        return already_set(locs->postmaster, prev);
    if ((d->postmaster = intern_string(b, address)) == NULL)
        return -1;
    locs->postmaster = loc;
    return 0;
}

int table_builder_set_alias_domain(struct table_builder *b, const char *domain,
                                   const char *target_domain, struct table_loc loc,
                                   struct table_loc *prev)
{
    struct table_domain *d;
    struct domain_locs *locs;
    int rc = domain_for_set(b, domain, &d, &locs);

    if (rc != 0)
        return rc;
    if (d->alias_domain != NULL)
        return already_set(locs->alias_domain, prev);
    if ((d->alias_domain = fold_copy(&b->t->arena, target_domain)) == NULL)
        return -1;
    locs->alias_domain = loc;
    return 0;
}

int table_builder_set_catch_all(struct table_builder *b, const char *domain,
                                const char *const *targets, size_t ntargets, struct table_loc loc,
                                struct table_loc *prev)
{
    struct table_domain *d;
    struct domain_locs *locs;
    int rc = domain_for_set(b, domain, &d, &locs);

    if (rc != 0)
        return rc;
    if (d->ncatch_all > 0)
        return already_set(locs->catch_all, prev);
    if (ntargets == 0)
        return 0;
    if ((d->catch_all = copy_targets(b, targets, ntargets)) == NULL)
        return -1;
    d->ncatch_all = (unsigned)ntargets;
    locs->catch_all = loc;
    return 0;
}

int table_builder_set_unknown(struct table_builder *b, const char *domain,
                              enum unknown_action action, struct table_loc loc,
                              struct table_loc *prev)
{
    struct table_domain *d;
    struct domain_locs *locs;
    int rc = domain_for_set(b, domain, &d, &locs);

    if (rc != 0)
        return rc;
    if (locs->unknown_set)
        return already_set(locs->unknown, prev);
    d->unknown = action;
    locs->unknown = loc;
    locs->unknown_set = 1;
    return 0;
}

int table_builder_add_entry(struct table_builder *b, enum table_kind kind, const char *address,
                            const char *const *targets, size_t ntargets, struct table_loc loc,
                            struct table_loc *prev)
{
    struct table *t = b->t;
    char key[ADDR_TEXT_MAX + 1];
    size_t len = strlen(address), cap = t->entries_cap;

    if (b->finished || len >= sizeof(key) || kind < TABLE_MAILBOX || kind > TABLE_ALIAS ||
        ntargets > UINT32_MAX || t->nentries >= UINT32_MAX)
        return -1;
    addr_fold(key, address, len);
    key[len] = '\0';
    if (index_reserve(&t->entry_index) < 0)
        return -1;
    uint32_t h = hash_bytes(key, len);
    struct slot *s = index_probe(&t->entry_index, key, len, h, entry_key_of);
    if (s->item != NULL) {
        if (prev != NULL)
            *prev = b->entry_locs[((const struct entry_rec *)s->item)->index];
        return 1;
    }
    if (grow_array((void **)&t->entries, &t->entries_cap, t->nentries + 1, sizeof(*t->entries)) < 0)
        return -1;
    if (t->entries_cap != cap) {
        struct table_loc *locs = realloc(b->entry_locs, t->entries_cap * sizeof(*locs));
        if (locs == NULL)
            return -1;
        b->entry_locs = locs;
    }
    struct entry_rec *rec =
        arena_alloc(&t->arena, sizeof(*rec) + len + 1, _Alignof(struct entry_rec));
    if (rec == NULL)
        return -1;
    memcpy(rec->key, key, len + 1);
    rec->pub.key = rec->key;
    rec->pub.kind = kind;
    rec->pub.ntargets = (unsigned)ntargets;
    rec->pub.targets = NULL;
    if (ntargets > 0 && (rec->pub.targets = copy_targets(b, targets, ntargets)) == NULL)
        return -1;
    rec->index = (uint32_t)t->nentries;
    b->entry_locs[t->nentries] = loc;
    t->entries[t->nentries++] = rec;
    index_fill(&t->entry_index, s, h, len, rec);
    t->kind_count[kind]++;
    return 0;
}

/* Whether some key's local part holds a delimiter after its first byte,
 * i.e. whether "target + extension" could itself be a key. */
static bool find_extension_keys(const struct table *t)
{
    const char *delims = t->settings.delimiters;

    if (delims[0] == '\0')
        return false;
    for (size_t i = 0; i < t->nentries; i++) {
        const char *key = t->entries[i]->key, *at = strrchr(key, '@');
        size_t local = at != NULL ? (size_t)(at - key) : strlen(key);
        if (local > 1 && strcspn(key + 1, delims) < local - 1)
            return true;
    }
    return false;
}

/* Classify every interned target: a declared mailbox in a hosted domain,
 * or outside every hosted domain.  Both resolve to themselves. */
static void classify_targets(struct table_builder *b)
{
    const struct table *t = b->t;
    char key[ADDR_TEXT_MAX + 1];

    for (size_t i = 0; i < b->intern.n; i++) {
        const char *target = b->intern.strs[i], *at = strrchr(target, '@');
        const struct table_domain *d;
        const struct table_entry *e;
        size_t len = strlen(target);

        if (at == NULL || len >= sizeof(key))
            continue;
        addr_fold(key, target, len);
        key[len] = '\0';
        const char *domain = key + (at - target);
        if (table_domain_lookup(t, domain + 1, strlen(domain + 1), &d) != 1)
            ((unsigned char *)target)[-1] = TARGET_ELSEWHERE;
        else if (table_lookup(t, key, len, &e) == 1 && e->kind == TABLE_MAILBOX)
            ((unsigned char *)target)[-1] = TARGET_MAILBOX;
    }
}

struct table *table_builder_finish(struct table_builder *b)
{
    if (b->finished)
        return NULL;
    b->finished = 1;
    b->nentries = b->t->nentries;
    b->ndomains = b->t->ndomains;
    classify_targets(b);
    b->t->extension_keys = find_extension_keys(b->t);
    /* The intern index is only needed while adding. */
    free(b->intern.strs);
    free(b->intern.index.slots);
    memset(&b->intern, 0, sizeof(b->intern));
    return b->t;
}

struct table_loc table_builder_entry_loc(const struct table_builder *b, size_t index)
{
    struct table_loc none = {NULL, 0};

    return b->finished && index < b->nentries ? b->entry_locs[index] : none;
}

struct table_loc table_builder_domain_loc(const struct table_builder *b, size_t index)
{
    struct table_loc none = {NULL, 0};

    return b->finished && index < b->ndomains ? b->domain_locs[index].decl : none;
}
