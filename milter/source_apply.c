/*
 * source_apply.c - a source's records into a table builder (see
 * source_records_apply in source_records.h): the locations interned as
 * "SOURCE: ORIGIN", the order of the additions, the one merge (a mailbox
 * and its own alias) and the messages that name both sides of a duplicate.
 * Owns nothing beyond the call; the builder owns what is added.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "source_records.h"
#include "util.h"

struct apply {
    const struct source_records *r;
    struct table_builder *b;
    struct diag *d;
    const char *name;
    size_t prefix;       /* bytes of "NAME: " before each interned origin */
    const char **locs;   /* per record: "NAME: ORIGIN", interned in b */
    unsigned char *skip; /* per record: left out (a duplicate, or merged) */
    enum source_precedence precedence;
    bool oom;
};

static const struct source_record *rec_at(const struct apply *a, size_t i)
{
    return source_records_at(a->r, i);
}

/* The builder's origin for what record i adds (source_records_apply). */
static void origin_for(const struct apply *a, size_t i)
{
    enum table_origin o = TABLE_ORIGIN_CONFIG;

    if (a->precedence == SOURCE_PRECEDENCE_POSTFIX)
        o = rec_at(a, i)->kind == SOURCE_MAILBOX ? TABLE_ORIGIN_MAILBOXES : TABLE_ORIGIN_VIRTUAL;
    table_builder_set_origin(a->b, o);
}

static struct table_loc loc_at(const struct apply *a, size_t i)
{
    return (struct table_loc){a->locs[i], 0};
}

/* intern_locs - every record's location, shared between neighbours with
 * one origin.  Returns 0 or -1 (out of memory). */
static int intern_locs(struct apply *a)
{
    struct util_buf buf = {0};
    size_t n = source_records_count(a->r);
    int rc = -1;

    a->prefix = a->name[0] != '\0' ? strlen(a->name) + 2 : 0;
    for (size_t i = 0; i < n; i++) {
        const char *origin = rec_at(a, i)->origin;
        if (i > 0 && origin == rec_at(a, i - 1)->origin) {
            a->locs[i] = a->locs[i - 1];
            continue;
        }
        util_buf_reset(&buf);
        if ((a->prefix > 0 && (util_buf_append(&buf, a->name, a->prefix - 2) < 0 ||
                               util_buf_append(&buf, ": ", 2) < 0)) ||
            util_buf_append(&buf, origin, strlen(origin)) < 0 ||
            (a->locs[i] = table_builder_intern_file(a->b, buf.p)) == NULL)
            goto out;
    }
    rc = 0;
out:
    util_buf_free(&buf);
    return rc;
}

/* describe - what a record defines, for messages: "mailbox a@b",
 * "secondary address c@b of a@b", "alias d@b". */
static void describe(const struct source_record *rec, char *out, size_t outsz)
{
    switch (rec->kind) {
    case SOURCE_SECONDARY:
        snprintf(out, outsz, "secondary address %s of %s", rec->key, rec->targets[0]);
        break;
    case SOURCE_ALIAS:
        snprintf(out, outsz, "alias %s", rec->key);
        break;
    case SOURCE_ALIAS_DOMAIN:
        snprintf(out, outsz, "alias domain %s", rec->key);
        break;
    case SOURCE_CATCH_ALL:
        snprintf(out, outsz, "catch-all of %s", rec->key);
        break;
    default:
        snprintf(out, outsz, "%s %s", source_kind_name(rec->kind), rec->key);
        break;
    }
}

/* A description's room: two addresses and the words around them. */
#define WHAT_SIZE (2 * ADDR_TEXT_MAX + 64)

/*
 * report_taken - the builder said that what record i defines is already
 * defined at prev: an error at the record naming prev, by its origin when
 * prev is this source's ("... by cn=a"), else by its place ("... at
 * file:12", "... at other: cn=a").
 */
static void report_taken(struct apply *a, size_t i, struct table_loc prev)
{
    char what[WHAT_SIZE];
    const char *pf = prev.file != NULL ? prev.file : "?";

    describe(rec_at(a, i), what, sizeof(what));
    if (a->prefix > 0 && strncmp(pf, a->locs[i], a->prefix) == 0 && prev.line == 0)
        diag_add(a->d, DIAG_ERROR, a->locs[i], 0, "%s is already defined by %s", what,
                 pf + a->prefix);
    else if (a->prefix == 0 && prev.line == 0 && prev.file != NULL)
        diag_add(a->d, DIAG_ERROR, a->locs[i], 0, "%s is already defined by %s", what, pf);
    else if (prev.line > 0)
        diag_add(a->d, DIAG_ERROR, a->locs[i], 0, "%s is already defined at %s:%u", what, pf,
                 prev.line);
    else
        diag_add(a->d, DIAG_ERROR, a->locs[i], 0, "%s is already defined at %s", what, pf);
}

/* outcome - a builder call's result rc for record i (prev as it set it). */
static void outcome(struct apply *a, size_t i, int rc, struct table_loc prev)
{
    if (rc == 1)
        report_taken(a, i, prev);
    else if (rc < 0)
        a->oom = true;
}

/* add_domains - declare every domain and alias domain hosted, then set
 * each alias domain and catch-all. */
static void add_domains(struct apply *a)
{
    size_t n = source_records_count(a->r);

    for (size_t i = 0; i < n && !a->oom; i++) {
        const struct source_record *rec = rec_at(a, i);
        if ((rec->kind == SOURCE_DOMAIN || rec->kind == SOURCE_ALIAS_DOMAIN) &&
            table_builder_add_domain(a->b, rec->key, loc_at(a, i)) < 0)
            a->oom = true;
    }
    for (size_t i = 0; i < n && !a->oom; i++) {
        const struct source_record *rec = rec_at(a, i);
        struct table_loc prev = {NULL, 0};
        int rc;

        origin_for(a, i);
        if (rec->kind == SOURCE_ALIAS_DOMAIN) {
            rc = table_builder_set_alias_domain(a->b, rec->key, rec->targets[0], loc_at(a, i),
                                                &prev);
            outcome(a, i, rc, prev);
        } else if (rec->kind == SOURCE_CATCH_ALL) {
            rc = table_builder_set_catch_all(a->b, rec->key, rec->targets, rec->ntargets,
                                             loc_at(a, i), &prev);
            if (rc == -2)
                diag_add(a->d, DIAG_WARNING, a->locs[i], 0,
                         "catch-all of %s, a domain that is not hosted: ignored", rec->key);
            else
                outcome(a, i, rc, prev);
        }
    }
}

static bool is_entry(enum source_kind kind)
{
    return kind == SOURCE_MAILBOX || kind == SOURCE_SECONDARY || kind == SOURCE_ALIAS;
}

/* An entry record's key, to sort by folded key and then record order. */
struct keyed {
    const char *key;
    size_t index;
};

static int fold_byte(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static int cmp_keyed(const void *x, const void *y)
{
    const struct keyed *p = x, *q = y;
    const unsigned char *s = (const unsigned char *)p->key, *t = (const unsigned char *)q->key;

    for (; fold_byte(*s) == fold_byte(*t) && *s != '\0'; s++, t++)
        ;
    if (fold_byte(*s) != fold_byte(*t))
        return fold_byte(*s) - fold_byte(*t);
    return (p->index > q->index) - (p->index < q->index);
}

static bool same_key(const struct keyed *p, const struct keyed *q)
{
    struct keyed p0 = {p->key, 0}, q0 = {q->key, 0};

    return cmp_keyed(&p0, &q0) == 0;
}

/*
 * settle_run - records run[0..n) define one address (in record order).
 * The first is kept; a mailbox and an alias are merged into the alias;
 * any other is a duplicate of the one kept, reported at itself.
 */
static void settle_run(struct apply *a, const struct keyed *run, size_t n)
{
    size_t kept = run[0].index;
    bool merged = false;

    for (size_t j = 1; j < n; j++) {
        size_t i = run[j].index;
        enum source_kind have = rec_at(a, kept)->kind, kind = rec_at(a, i)->kind;
        char what[WHAT_SIZE], first[WHAT_SIZE];

        if (!merged && ((have == SOURCE_MAILBOX && kind == SOURCE_ALIAS) ||
                        (have == SOURCE_ALIAS && kind == SOURCE_MAILBOX))) {
            merged = true;
            a->skip[have == SOURCE_MAILBOX ? kept : i] = 1;
            kept = have == SOURCE_MAILBOX ? i : kept;
            continue;
        }
        a->skip[i] = 1;
        describe(rec_at(a, i), what, sizeof(what));
        describe(rec_at(a, kept), first, sizeof(first));
        diag_add(a->d, DIAG_ERROR, a->locs[i], 0, "%s is already defined by %s (%s)", what,
                 rec_at(a, kept)->origin, first);
    }
}

/* settle_entries - mark what add_entries leaves out.  Returns 0 or -1. */
static int settle_entries(struct apply *a)
{
    size_t n = source_records_count(a->r), m = 0;
    struct keyed *v = malloc((n > 0 ? n : 1) * sizeof(*v));

    if (v == NULL)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (is_entry(rec_at(a, i)->kind))
            v[m++] = (struct keyed){rec_at(a, i)->key, i};
    qsort(v, m, sizeof(*v), cmp_keyed);
    for (size_t i = 0, j; i < m; i = j) {
        for (j = i + 1; j < m && same_key(&v[i], &v[j]); j++)
            ;
        if (j - i > 1)
            settle_run(a, v + i, j - i);
    }
    free(v);
    return 0;
}

static void add_entries(struct apply *a)
{
    static const enum table_kind table_kind[] = {
        [SOURCE_MAILBOX] = TABLE_MAILBOX,
        [SOURCE_SECONDARY] = TABLE_SECONDARY,
        [SOURCE_ALIAS] = TABLE_ALIAS,
    };
    size_t n = source_records_count(a->r);

    for (size_t i = 0; i < n && !a->oom; i++) {
        const struct source_record *rec = rec_at(a, i);
        struct table_loc prev = {NULL, 0};

        if (!is_entry(rec->kind) || a->skip[i])
            continue;
        origin_for(a, i);
        outcome(a, i,
                table_builder_add_entry(a->b, table_kind[rec->kind], rec->key, rec->targets,
                                        rec->ntargets, loc_at(a, i), &prev),
                prev);
    }
}

int source_records_apply(const struct source_records *r, struct table_builder *b,
                         const char *source_name, enum source_precedence precedence, struct diag *d)
{
    size_t n = source_records_count(r), errors = diag_count(d, DIAG_ERROR);
    struct apply a = {r,    b,    d,    source_name != NULL ? source_name : source_records_name(r),
                      0,    NULL, NULL, precedence,
                      false};
    enum table_origin was = table_builder_set_origin(b, TABLE_ORIGIN_CONFIG);
    int rc = -1;

    if (source_records_oom(r))
        goto out;
    a.locs = malloc((n > 0 ? n : 1) * sizeof(*a.locs));
    a.skip = calloc(n > 0 ? n : 1, 1);
    if (a.locs == NULL || a.skip == NULL || intern_locs(&a) < 0)
        goto out;
    add_domains(&a);
    if (a.oom || settle_entries(&a) < 0)
        goto out;
    add_entries(&a);
    if (!a.oom)
        rc = (int)(diag_count(d, DIAG_ERROR) - errors);
out:
    table_builder_set_origin(b, was);
    free(a.locs);
    free(a.skip);
    return rc;
}
