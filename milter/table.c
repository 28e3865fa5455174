/*
 * table.c - the immutable recipient table: arena, open-addressing hash,
 * lookups and reference counting (the builder is table_builder.c; the
 * layouts both share are in table_impl.h).
 *
 * Why a hand-written table: the lookup is the whole hot path of the milter
 * and the table must hold a million addresses in little memory.  Strings
 * and target arrays live in one bump arena (no per-entry malloc header),
 * entries in one array, and the index is linear probing over 16-byte
 * slots (32-bit hash tag, key length, record pointer) kept at most half
 * full, so a hit touches the slot's line and the record's, and a string is
 * compared only when tag and length match.  Large blocks are huge pages
 * (no page walk per lookup), and a caller can prefetch a slot before it
 * needs it (table_key_prepare).  Nothing changes after
 * table_builder_finish, so readers need no locks.
 */
#define _GNU_SOURCE /* mremap: the record region moves with its huge pages */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "table.h"
#include "table_impl.h"
#include "util.h"

/* ---- arena ------------------------------------------------------------ */

void *table_big_alloc(size_t n)
{
    if (n < HUGE_PAGE)
        return malloc(n);
    void *p = aligned_alloc(HUGE_PAGE, (n + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1));
#ifdef MADV_HUGEPAGE
    /* advice only: without transparent huge pages this is plain memory */
    if (p != NULL)
        (void)madvise(p, n, MADV_HUGEPAGE);
#endif
    return p;
}

void *table_arena_alloc(struct arena *a, size_t n, size_t align)
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
    /* The first block is small, so that a small table stays small; the
     * following ones fill a huge page each (see table_big_alloc). */
    size_t regular = a->head == NULL ? ARENA_BLOCK : HUGE_PAGE - sizeof(*b);
    size_t size = n > ARENA_BLOCK / 4 ? n : regular;
    b = size == HUGE_PAGE - sizeof(*b) ? table_big_alloc(HUGE_PAGE) : malloc(sizeof(*b) + size);
    if (b == NULL)
        return NULL;
    b->size = size;
    b->used = n;
    /* A large one-off block goes behind the head so the head keeps its
     * free space for the small strings that follow. */
    if (a->head != NULL && size > regular) {
        b->next = a->head->next;
        a->head->next = b;
    } else {
        b->next = a->head;
        a->head = b;
    }
    a->total += sizeof(*b) + size;
    return b->data;
}

char *table_arena_strndup(struct arena *a, const char *s, size_t n)
{
    char *p = table_arena_alloc(a, n + 1, 1);

    if (p != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

void table_arena_free(struct arena *a)
{
    struct arena_block *b = a->head, *next;

    for (; b != NULL; b = next) {
        next = b->next;
        free(b);
    }
    a->head = NULL;
    a->total = 0;
}

/* ---- record region ---------------------------------------------------- */

/* region_map - size bytes (a multiple of the page size) of fresh
 * anonymous memory; from HUGE_PAGE up aligned to it and advised as huge
 * pages.  NULL when out of memory. */
static char *region_map(size_t size)
{
    int prot = PROT_READ | PROT_WRITE, flags = MAP_PRIVATE | MAP_ANONYMOUS;
    size_t span = size >= HUGE_PAGE ? size + HUGE_PAGE : size;
    char *p = mmap(NULL, span, prot, flags, -1, 0);

    if (p == MAP_FAILED)
        return NULL;
    if (span == size)
        return p;
    char *a = (char *)(((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
    if (a > p)
        (void)munmap(p, (size_t)(a - p));
    if (p + span > a + size)
        (void)munmap(a + size, (size_t)(p + span - (a + size)));
#ifdef MADV_HUGEPAGE
    (void)madvise(a, size, MADV_HUGEPAGE);
#endif
    return a;
}

int table_region_grow(struct rec_region *r, size_t need)
{
    size_t want = r->size < 65536 ? 65536 : r->size * 2;

    while (want - r->used < need)
        want *= 2;
    if (want / REC_UNIT > UINT32_MAX)
        return -1;
    char *base = region_map(want);
    if (base == NULL)
        return -1;
    if (r->base != NULL) {
#ifdef MREMAP_FIXED
        /* The pages move, not their contents: no copy, and huge pages
         * stay huge when both places are aligned alike. */
        if (mremap(r->base, r->size, want, MREMAP_MAYMOVE | MREMAP_FIXED, base) == MAP_FAILED) {
            (void)munmap(base, want);
            return -1;
        }
#else
        memcpy(base, r->base, r->used);
        (void)munmap(r->base, r->size);
#endif
#ifdef MADV_HUGEPAGE
        /* the moved mapping keeps the old one's advice: advise it anew */
        if (want >= HUGE_PAGE)
            (void)madvise(base, want, MADV_HUGEPAGE);
#endif
    }
    r->base = base;
    r->size = want;
    return 0;
}

void table_region_trim(struct rec_region *r)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t keep = (r->used + page - 1) & ~(page - 1);

    if (r->base != NULL && keep < r->size && munmap(r->base + keep, r->size - keep) == 0)
        r->size = keep;
}

static void region_free(struct rec_region *r)
{
    if (r->base != NULL)
        (void)munmap(r->base, r->size);
    memset(r, 0, sizeof(*r));
}

/* ---- hash index ------------------------------------------------------- */

int table_index_reserve(struct index *ix)
{
    if (ix->slots != NULL && (ix->used + 1) * 2 <= ix->mask + 1)
        return 0;
    size_t cap = ix->slots == NULL ? 64 : (ix->mask + 1) * 2;
    struct slot *slots = table_big_alloc(cap * sizeof(*slots));
    if (slots == NULL)
        return -1;
    memset(slots, 0, cap * sizeof(*slots));
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

static size_t index_bytes(const struct index *ix)
{
    return ix->slots != NULL ? (ix->mask + 1) * sizeof(struct slot) : 0;
}

/* ---- the table -------------------------------------------------------- */

/* index_find - the item under key in ix, or NULL (an empty index has no
 * slots at all). */
static const void *index_find(const struct index *ix, const char *key, size_t len, uint32_t h,
                              key_of_fn key_of)
{
    if (ix->slots == NULL)
        return NULL;
    return index_probe(ix, key, len, h, key_of)->item;
}

/* The bytes of the record index, or the region's allocation. */
static size_t rec_index_bytes(const struct rec_index *ix)
{
    return ix->heads != NULL ? (ix->mask + 1) * sizeof(*ix->heads) : 0;
}

int table_lookup(const struct table *t, const char *key, size_t keylen,
                 const struct table_entry **out)
{
    struct table_key k = {key, keylen, util_hash(key, keylen)};

    return table_lookup_key(t, &k, out);
}

void table_key_prepare(const struct table *t, struct table_key *k, const char *key, size_t len)
{
    const struct rec_index *ix = &t->entry_index;

    k->key = key;
    k->len = len;
    k->hash = util_hash(key, len);
    if (ix->heads == NULL)
        return;
    /* The bucket head is (nearly always) in the cache; the record is what
     * the lookup would wait for.  Its key may run into the next line. */
    uint32_t off = ix->heads[k->hash & ix->mask];
    if (off != REC_NONE) {
        const char *rec = (const char *)rec_at(&t->recs, off);
        __builtin_prefetch(rec);
        __builtin_prefetch(rec + offsetof(struct entry_rec, key) + len);
    }
}

void table_key_hint(const struct table *t, const char *key, size_t len)
{
    const struct rec_index *ix = &t->entry_index;

    if (ix->heads != NULL)
        __builtin_prefetch(&ix->heads[util_hash(key, len) & ix->mask]);
}

int table_lookup_key(const struct table *t, const struct table_key *k,
                     const struct table_entry **out)
{
    const struct entry_rec *rec = rec_find(t, k->key, k->len, k->hash);

    if (rec != NULL)
        *out = &rec->pub;
    return rec != NULL;
}

int table_domain_lookup(const struct table *t, const char *name, size_t len,
                        const struct table_domain **out)
{
    const struct domain_rec *rec =
        index_find(&t->domain_index, name, len, util_hash(name, len), domain_key_of);

    if (rec != NULL)
        *out = &rec->pub;
    return rec != NULL;
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
    return index < t->nentries ? &rec_at(&t->recs, t->entries[index])->pub : NULL;
}

size_t table_entry_index(const struct table *t, const struct table_entry *e)
{
    size_t i = ((const struct entry_rec *)e)->index;

    return i < t->nentries && &rec_at(&t->recs, t->entries[i])->pub == e ? i : (size_t)-1;
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
           t->domains_cap * sizeof(*t->domains) + t->recs.size + rec_index_bytes(&t->entry_index) +
           index_bytes(&t->domain_index);
}

void table_destroy(struct table *t)
{
    table_arena_free(&t->arena);
    free(t->entries);
    region_free(&t->recs);
    free(t->entry_index.heads);
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
