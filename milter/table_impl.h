/*
 * table_impl.h - the insides of the recipient table, shared by table.c
 * (lookups, reference counting) and table_builder.c (building): the bump
 * arena, the open-addressing index and the record layouts.  Private to
 * those two files; everything else goes through table.h.
 */
#ifndef HOSTED_MILTER_TABLE_IMPL_H
#define HOSTED_MILTER_TABLE_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "table.h"

/* ---- arena ------------------------------------------------------------ */

#define ARENA_BLOCK (1u << 20)
/* The size of a transparent huge page on x86-64 and arm64 (4 KiB base
 * pages).  A table of a million addresses spans some 150 MiB; in 4 KiB
 * pages nearly every lookup also misses the TLB and waits for a page walk,
 * in 2 MiB pages the walk is mostly cached. */
#define HUGE_PAGE ((size_t)2 << 20)

/* table_big_alloc - n bytes for free(); from HUGE_PAGE up aligned to it and
 * advised to the kernel as huge pages.  NULL when out of memory. */
void *table_big_alloc(size_t n);

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

/* table_arena_alloc - n bytes aligned to align (a power of two), living
 * until table_arena_free; NULL when out of memory. */
void *table_arena_alloc(struct arena *a, size_t n, size_t align);
/* table_arena_strndup - a NUL-terminated copy of n bytes at s. */
char *table_arena_strndup(struct arena *a, const char *s, size_t n);
/* table_arena_free - release every block; the arena is empty again. */
void table_arena_free(struct arena *a);

/* ---- hash index ------------------------------------------------------- */

/*
 * A slot holds the item itself with its key's hash (util_hash) and
 * length, so a probe compares a key only when both match, and a hit costs
 * the slot and the item (whose key is stored inline): two cache lines.
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
static inline struct slot *index_probe(const struct index *ix, const char *key, size_t len,
                                       uint32_t h, key_of_fn key_of)
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

static inline void index_fill(struct index *ix, struct slot *s, uint32_t h, size_t len,
                              const void *item)
{
    s->hash = h;
    s->len = (uint32_t)len;
    s->item = item;
    ix->used++;
}

/* table_index_reserve - make room for one more item, keeping the load at
 * most one half.  Returns 0, or -1 when out of memory. */
int table_index_reserve(struct index *ix);

/* ---- entry records ----------------------------------------------------- */

/*
 * Entry records live in one region of their own, addressed by 32-bit
 * offsets (in units of 8 bytes, so up to 32 GiB; 0 means none), because
 * the entry index is then small enough to stay in the CPU's caches: one
 * 32-bit bucket head per entry or two, where 16-byte slots of pointers at
 * half load took 32 bytes an entry and missed the cache like the records
 * did.  A bucket's records are chained through their own `next`, each
 * record holding its key's hash, so a probe reads the bucket head from
 * cache and then, nearly always, one record: the one it looks for.
 *
 * The region grows while the table is built and may move then: records
 * are reached by offset, and the pointers inside them are set at finish,
 * after which nothing moves.
 */
struct rec_region {
    char *base;
    size_t size; /* bytes allocated */
    size_t used; /* bytes handed out; starts at 8 so that offset 0 is none */
};

#define REC_UNIT 8u
#define REC_NONE 0u

/* table_region_grow - room for need more bytes in r (the region may move;
 * offsets stay).  Returns 0, or -1 when out of memory or past the 32-bit
 * offsets (r unchanged). */
int table_region_grow(struct rec_region *r, size_t need);
/* table_region_trim - give back the room past what is used. */
void table_region_trim(struct rec_region *r);

/* An entry, its key and (inline, after the key) its targets: one record,
 * so that a hit reads one or two adjacent cache lines. */
struct entry_rec {
    struct table_entry pub; /* first: a table_entry pointer is a record pointer */
    uint32_t hash;          /* util_hash of the key */
    uint32_t next;          /* the next record of the bucket, or REC_NONE */
    uint32_t index;
    uint32_t len; /* of the key */
    char key[];
};

/* The bytes of a record with a key of len bytes and n inline targets. */
static inline size_t entry_rec_size(size_t len, size_t ntargets)
{
    size_t head =
        (offsetof(struct entry_rec, key) + len + 1 + REC_UNIT - 1) & ~(size_t)(REC_UNIT - 1);

    return head + ntargets * sizeof(const char *);
}

/* The inline target array of a record of key length len. */
static inline const char **entry_rec_targets(struct entry_rec *rec, size_t len)
{
    return (const char **)((char *)rec + entry_rec_size(len, 0));
}

static inline struct entry_rec *rec_at(const struct rec_region *r, uint32_t off)
{
    return (struct entry_rec *)(r->base + (size_t)off * REC_UNIT);
}

/* The bucket heads: mask + 1 (a power of two) 32-bit record offsets. */
struct rec_index {
    uint32_t *heads;
    size_t mask;
};

struct domain_rec {
    struct table_domain pub;
    uint32_t index;
    char name[]; /* pub.name: the key in the record, one line with it */
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
    uint32_t *entries; /* record offsets, in index order */
    size_t nentries, entries_cap;
    struct rec_region recs;
    struct rec_index entry_index;
    struct domain_rec **domains;
    size_t ndomains, domains_cap;
    struct index domain_index;
    size_t kind_count[TABLE_ALIAS + 1];
    bool extension_keys;
};

/* rec_find - the record of key (len bytes, hash h) in t, or NULL. */
static inline struct entry_rec *rec_find(const struct table *t, const char *key, size_t len,
                                         uint32_t h)
{
    if (t->entry_index.heads == NULL)
        return NULL;
    uint32_t off = t->entry_index.heads[h & t->entry_index.mask];
    while (off != REC_NONE) {
        struct entry_rec *rec = rec_at(&t->recs, off);
        if (rec->hash == h && rec->len == len && memcmp(rec->key, key, len) == 0)
            return rec;
        off = rec->next;
    }
    return NULL;
}

static inline const char *domain_key_of(const void *item)
{
    return ((const struct domain_rec *)item)->pub.name;
}

/* table_destroy - free t and everything in it, whatever its count. */
void table_destroy(struct table *t);

#endif
