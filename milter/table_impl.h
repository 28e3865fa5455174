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

/* table_index_reserve - make room for more items, keeping the load at
 * most one half.  Returns 0, or -1 when out of memory. */
int table_index_reserve(struct index *ix, size_t more);

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
    char name[]; /* pub.name, in the record: a probe reads one line */
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

static inline const char *entry_key_of(const void *item)
{
    return ((const struct entry_rec *)item)->key;
}

static inline const char *domain_key_of(const void *item)
{
    return ((const struct domain_rec *)item)->pub.name;
}

/* table_destroy - free t and everything in it, whatever its count. */
void table_destroy(struct table *t);

#endif
