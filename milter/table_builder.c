/*
 * table_builder.c - building the recipient table (see table.h): domains,
 * entries and their locations, interned targets, Postfix's precedence
 * between virtual(5) and mailbox_table files, and the work done once at
 * finish (captured mailboxes, target classes).
 *
 * Owns the builder and, until table_builder_finish hands it over, the
 * table being built.  Locations and origins stay in the builder, not in
 * the table, so the table holds only what resolution reads.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "table.h"
#include "table_impl.h"
#include "util.h"

/* ---- builder ---------------------------------------------------------- */

/* Where each attribute of a domain was set, to report conflicts, and
 * where its catch-all and alias domain came from (enum table_origin). */
struct domain_locs {
    struct table_loc decl, postmaster, alias_domain, catch_all, unknown;
    int unknown_set;
    unsigned char alias_origin, catch_all_origin;
    size_t captured;              /* mailbox_table mailboxes captured at finish */
    const char *captured_example; /* one of them, in the files arena */
};

/* An entry's origin byte: enum table_origin, plus this bit once a
 * mailbox_table line for its address has been seen (to find a second). */
#define ORIGIN_MASK 0x3f
#define ORIGIN_MAILBOX_SEEN 0x80
/* Set at finish on a mailbox that a virtual(5) @domain line captures. */
#define ORIGIN_CAPTURED 0x40

/* Target strings are interned: a million secondary addresses pointing at
 * a few hundred thousand mailboxes share one copy of each mailbox text. */
struct intern {
    struct index index; /* its slots are the list of interned strings, too */
};

struct table_builder {
    struct table *t; /* not owned once finished: the caller may free it */
    int finished;
    size_t nentries, ndomains; /* snapshot at finish, for the *_loc calls */
    enum table_origin origin;  /* of the additions that follow */
    struct table_loc *entry_locs;
    unsigned char *entry_origins; /* parallel to entry_locs */
    size_t entry_info_cap;        /* of entry_locs and entry_origins */
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

    if (table_index_reserve(&in->index, 1) < 0)
        return NULL;
    uint32_t h = util_hash(s, len);
    struct slot *slot = index_probe(&in->index, s, len, h, intern_key_of);
    if (slot->item != NULL)
        return slot->item;
    char *copy = table_arena_alloc(&b->t->arena, len + 2, 1);
    if (copy == NULL)
        return NULL;
    copy[0] = TARGET_UNCLASSIFIED;
    memcpy(copy + 1, s, len + 1);
    index_fill(&in->index, slot, h, len, copy + 1);
    return copy + 1;
}

/* A copy of n target strings (interned) as an arena array. */
static const char *const *copy_targets(struct table_builder *b, const char *const *targets,
                                       size_t n)
{
    if (n == 0)
        return NULL;
    const char **v = table_arena_alloc(&b->t->arena, n * sizeof(*v), _Alignof(const char *));
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
    char *p = table_arena_strndup(a, s, len);

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
    s->delimiters = table_arena_strndup(&t->arena, settings->delimiters ? settings->delimiters : "",
                                        settings->delimiters ? strlen(settings->delimiters) : 0);
    if (s->delimiters == NULL)
        goto fail;
    if (settings->nroles > 0) {
        const char **roles =
            table_arena_alloc(&t->arena, settings->nroles * sizeof(*roles), _Alignof(const char *));
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
    free(b->entry_origins);
    free(b->domain_locs);
    free(b->intern.index.slots);
    table_arena_free(&b->files);
    free(b);
}

const char *table_builder_intern_file(struct table_builder *b, const char *file)
{
    return table_arena_strndup(&b->files, file, strlen(file));
}

enum table_origin table_builder_set_origin(struct table_builder *b, enum table_origin origin)
{
    enum table_origin was = b->origin;

    b->origin = origin;
    return was;
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
    if (table_index_reserve(&t->domain_index, 1) < 0 ||
        util_grow((void **)&t->domains, &t->domains_cap, t->ndomains + 1, sizeof(*t->domains)) < 0)
        return -1;
    if (t->domains_cap != cap) {
        struct domain_locs *locs =
            realloc(b->domain_locs, t->domains_cap * sizeof(*b->domain_locs));
        if (locs == NULL)
            return -1;
        b->domain_locs = locs;
    }
    struct domain_rec *rec =
        table_arena_alloc(&t->arena, sizeof(*rec) + len + 1, _Alignof(struct domain_rec));
    if (rec == NULL)
        return -1;
    memset(rec, 0, sizeof(*rec));
    addr_fold(rec->name, name, len);
    rec->name[len] = '\0';
    rec->pub.name = rec->name;
    rec->pub.unknown = t->settings.unknown;
    rec->index = (uint32_t)t->ndomains;
    memset(&b->domain_locs[t->ndomains], 0, sizeof(b->domain_locs[0]));
    b->domain_locs[t->ndomains].decl = loc;
    t->domains[t->ndomains++] = rec;

    uint32_t h = util_hash(rec->pub.name, len);
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
    locs->alias_origin = (unsigned char)b->origin;
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
    locs->catch_all_origin = (unsigned char)b->origin;
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

/* Room for one more entry's location and origin. */
static int grow_entry_info(struct table_builder *b, size_t need)
{
    size_t cap = b->entry_info_cap;

    if (util_grow((void **)&b->entry_locs, &cap, need, sizeof(*b->entry_locs)) < 0)
        return -1;
    if (cap != b->entry_info_cap) {
        unsigned char *o = realloc(b->entry_origins, cap);
        if (o == NULL)
            return -1; /* entry_locs is larger than needed: harmless */
        b->entry_origins = o;
        b->entry_info_cap = cap;
    }
    return 0;
}

/*
 * postfix_precedence - an entry for the address of old is added again.
 * Between a virtual(5) alias and a mailbox_table mailbox, the alias is the
 * entry (virtual_alias_maps before virtual_mailbox_maps).  Returns 0 when
 * settled that way, 1 for a duplicate, -1 when out of memory.
 */
static int postfix_precedence(struct table_builder *b, struct entry_rec *old, enum table_kind kind,
                              const char *const *targets, size_t ntargets, struct table_loc loc)
{
    unsigned char *origin = &b->entry_origins[old->index];
    unsigned char have = *origin & ORIGIN_MASK;
    struct table *t = b->t;

    if (b->origin == TABLE_ORIGIN_MAILBOXES && kind == TABLE_MAILBOX &&
        have == TABLE_ORIGIN_VIRTUAL && !(*origin & ORIGIN_MAILBOX_SEEN)) {
        *origin |= ORIGIN_MAILBOX_SEEN; /* the alias stays */
        return 0;
    }
    if (b->origin != TABLE_ORIGIN_VIRTUAL || kind == TABLE_MAILBOX ||
        have != TABLE_ORIGIN_MAILBOXES || old->pub.kind != TABLE_MAILBOX)
        return 1;
    const char *const *copy = copy_targets(b, targets, ntargets);
    if (copy == NULL && ntargets > 0)
        return -1;
    t->kind_count[TABLE_MAILBOX]--;
    t->kind_count[kind]++;
    old->pub.kind = kind;
    old->pub.targets = copy;
    old->pub.ntargets = (unsigned)ntargets;
    b->entry_locs[old->index] = loc;
    *origin = TABLE_ORIGIN_VIRTUAL | ORIGIN_MAILBOX_SEEN;
    return 0;
}

int table_builder_expect_entries(struct table_builder *b, size_t n)
{
    struct table *t = b->t;

    if (b->finished || n > UINT32_MAX - t->nentries)
        return -1;
    if (table_index_reserve(&t->entry_index, n) < 0 ||
        util_grow((void **)&t->entries, &t->entries_cap, t->nentries + n, sizeof(*t->entries)) <
            0 ||
        grow_entry_info(b, t->nentries + n) < 0)
        return -1;
    return 0;
}

/* Whether key's local part holds a delimiter after its first byte, i.e.
 * whether "target + extension" could itself be a key. */
static bool has_extension_key(const char *key, const char *delims)
{
    const char *at = strrchr(key, '@');
    size_t local = at != NULL ? (size_t)(at - key) : strlen(key);

    return delims[0] != '\0' && local > 1 && strcspn(key + 1, delims) < local - 1;
}

int table_builder_add_entry(struct table_builder *b, enum table_kind kind, const char *address,
                            const char *const *targets, size_t ntargets, struct table_loc loc,
                            struct table_loc *prev)
{
    struct table *t = b->t;
    char key[ADDR_TEXT_MAX + 1];
    size_t len = strlen(address);

    if (b->finished || len >= sizeof(key) || kind < TABLE_MAILBOX || kind > TABLE_ALIAS ||
        ntargets > UINT32_MAX || t->nentries >= UINT32_MAX)
        return -1;
    addr_fold(key, address, len);
    key[len] = '\0';
    if (table_index_reserve(&t->entry_index, 1) < 0)
        return -1;
    uint32_t h = util_hash(key, len);
    struct slot *s = index_probe(&t->entry_index, key, len, h, entry_key_of);
    if (s->item != NULL) {
        struct entry_rec *old = (struct entry_rec *)s->item;
        int rc = postfix_precedence(b, old, kind, targets, ntargets, loc);
        if (rc == 1 && prev != NULL)
            *prev = b->entry_locs[old->index];
        return rc;
    }
    if (util_grow((void **)&t->entries, &t->entries_cap, t->nentries + 1, sizeof(*t->entries)) <
            0 ||
        grow_entry_info(b, t->nentries + 1) < 0)
        return -1;
    struct entry_rec *rec =
        table_arena_alloc(&t->arena, sizeof(*rec) + len + 1, _Alignof(struct entry_rec));
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
    b->entry_origins[t->nentries] = (unsigned char)b->origin;
    if (b->origin == TABLE_ORIGIN_MAILBOXES && kind == TABLE_MAILBOX)
        b->entry_origins[t->nentries] |= ORIGIN_MAILBOX_SEEN;
    t->entries[t->nentries++] = rec;
    index_fill(&t->entry_index, s, h, len, rec);
    /* decided here, where the key is in the cache (captured mailboxes count
     * too: true only costs resolution a lookup it could have skipped) */
    if (!t->extension_keys && has_extension_key(key, t->settings.delimiters))
        t->extension_keys = true;
    t->kind_count[kind]++;
    return 0;
}

/* Classify every interned target: a declared mailbox in a hosted domain,
 * or outside every hosted domain.  Both resolve to themselves. */
static void classify_targets(struct table_builder *b)
{
    const struct table *t = b->t;
    char key[ADDR_TEXT_MAX + 1];

    for (size_t i = 0; b->intern.index.slots != NULL && i <= b->intern.index.mask; i++) {
        const char *target = b->intern.index.slots[i].item, *at;
        if (target == NULL)
            continue;
        at = strrchr(target, '@');
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

/*
 * capturing_domain - the index of the domain whose virtual(5) @domain line
 * captures the entry at i (a mailbox_table mailbox), or (size_t)-1.  The
 * line is the one resolution uses: the alias domain, else the catch-all.
 */
static size_t capturing_domain(struct table_builder *b, size_t i)
{
    const struct entry_rec *rec = b->t->entries[i];
    const struct table_domain *d;
    const char *at;

    /* the origin first: it is in a small array, the key in the record */
    if ((b->entry_origins[i] & ORIGIN_MASK) != TABLE_ORIGIN_MAILBOXES ||
        rec->pub.kind != TABLE_MAILBOX || (at = strrchr(rec->key, '@')) == NULL ||
        table_domain_lookup(b->t, at + 1, strlen(at + 1), &d) != 1)
        return (size_t)-1;
    size_t di = ((const struct domain_rec *)d)->index;
    const struct domain_locs *locs = &b->domain_locs[di];
    if (d->alias_domain != NULL)
        return locs->alias_origin == TABLE_ORIGIN_VIRTUAL ? di : (size_t)-1;
    if (d->ncatch_all > 0)
        return locs->catch_all_origin == TABLE_ORIGIN_VIRTUAL ? di : (size_t)-1;
    return (size_t)-1;
}

/* index_refill - the entry index anew over the entries array, in slots
 * (zeroed, cap of them, a power of two over twice the entries). */
static void index_refill(struct table *t, struct slot *slots, size_t cap)
{
    free(t->entry_index.slots);
    t->entry_index.slots = slots;
    t->entry_index.mask = cap - 1;
    t->entry_index.used = 0;
    for (size_t i = 0; i < t->nentries; i++) {
        const struct entry_rec *rec = t->entries[i];
        size_t len = strlen(rec->key);
        uint32_t h = util_hash(rec->key, len);
        index_fill(&t->entry_index, index_probe(&t->entry_index, rec->key, len, h, entry_key_of), h,
                   len, rec);
    }
}

/* Whether some domain's @domain line from a virtual(5) file could capture
 * mailboxes at all (without one, finish need not look at the entries). */
static bool may_capture(const struct table_builder *b)
{
    for (size_t di = 0; di < b->t->ndomains; di++) {
        const struct table_domain *d = &b->t->domains[di]->pub;
        const struct domain_locs *locs = &b->domain_locs[di];
        if ((d->alias_domain != NULL && locs->alias_origin == TABLE_ORIGIN_VIRTUAL) ||
            (d->ncatch_all > 0 && locs->catch_all_origin == TABLE_ORIGIN_VIRTUAL))
            return true;
    }
    return false;
}

/*
 * capture_mailboxes - leave out the mailbox_table mailboxes that a
 * virtual(5) @domain line captures (see table_builder_finish), counting
 * them per domain.  Returns 0, or -1 when out of memory (then nothing
 * has been left out).
 */
static int capture_mailboxes(struct table_builder *b)
{
    struct table *t = b->t;
    size_t ncaptured = 0, kept = 0, cap = 64;

    if (!may_capture(b))
        return 0;
    for (size_t i = 0; i < t->nentries; i++) {
        size_t di = capturing_domain(b, i);
        if (di == (size_t)-1)
            continue;
        struct domain_locs *locs = &b->domain_locs[di];
        if (locs->captured++ == 0)
            locs->captured_example = t->entries[i]->key; /* copied below */
        b->entry_origins[i] |= ORIGIN_CAPTURED;
        ncaptured++;
    }
    if (ncaptured == 0)
        return 0;
    for (size_t di = 0; di < t->ndomains; di++) {
        struct domain_locs *locs = &b->domain_locs[di];
        if (locs->captured > 0 &&
            (locs->captured_example = table_builder_intern_file(b, locs->captured_example)) == NULL)
            return -1;
    }
    while (cap < (t->nentries - ncaptured) * 2 + 2)
        cap *= 2;
    struct slot *slots = table_big_alloc(cap * sizeof(*slots));
    if (slots == NULL)
        return -1;
    memset(slots, 0, cap * sizeof(*slots));
    for (size_t i = 0; i < t->nentries; i++) {
        if (b->entry_origins[i] & ORIGIN_CAPTURED)
            continue;
        t->entries[i]->index = (uint32_t)kept;
        t->entries[kept] = t->entries[i];
        b->entry_locs[kept] = b->entry_locs[i];
        b->entry_origins[kept] = b->entry_origins[i];
        kept++;
    }
    t->nentries = kept;
    t->kind_count[TABLE_MAILBOX] -= ncaptured;
    index_refill(t, slots, cap);
    return 0;
}

struct table *table_builder_finish(struct table_builder *b)
{
    if (b->finished)
        return NULL;
    if (capture_mailboxes(b) < 0)
        return NULL;
    b->finished = 1;
    b->nentries = b->t->nentries;
    b->ndomains = b->t->ndomains;
    classify_targets(b);
    /* The intern index is only needed while adding. */
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

struct table_loc table_builder_setting_loc(const struct table_builder *b, size_t index,
                                           enum table_domain_setting which)
{
    struct table_loc none = {NULL, 0};

    if (!b->finished || index >= b->ndomains)
        return none;
    switch (which) {
    case TABLE_SETTING_POSTMASTER:
        return b->domain_locs[index].postmaster;
    case TABLE_SETTING_ALIAS_DOMAIN:
        return b->domain_locs[index].alias_domain;
    case TABLE_SETTING_CATCH_ALL:
        return b->domain_locs[index].catch_all;
    }
    return none;
}

size_t table_builder_captured(const struct table_builder *b, size_t index, struct table_loc *at,
                              const char **example)
{
    if (!b->finished || index >= b->ndomains || b->domain_locs[index].captured == 0)
        return 0;
    const struct domain_locs *locs = &b->domain_locs[index];
    const struct table_domain *d = &b->t->domains[index]->pub;
    *at = d->alias_domain != NULL ? locs->alias_domain : locs->catch_all;
    *example = locs->captured_example;
    return locs->captured;
}
