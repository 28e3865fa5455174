/*
 * fuzz_dir_map.c - libFuzzer target: directory entries with any attribute
 * values (8-bit, NULs, overlong, "SMTP:" without an address, duplicate
 * primaries, member loops) through dir_map, then the records into a table
 * builder and the finished table through resolution.
 *
 * Input: the first byte picks the schema (ad, iredmail, custom); then
 * entries separated by an empty line, each a DN line and "name:value"
 * lines (a value is any bytes up to the next LF; "\0" in it stays a NUL).
 * Invariants: no crash or leak; every diagnostic is one line; a record is
 * canonical (it parses again); the table answers every key.
 */
#include "fuzz_common.h"

#include "diag.h"
#include "dir_map.h"
#include "source_records.h"

#define MAX_ATTRS 12
#define MAX_VALUES 12

static const struct dir_custom custom = {"mail", "mailLocalAddress", "mailLocalAddress",
                                         "mailRoutingAddress", "associatedDomain"};

struct parsed {
    char dn[256];
    char names[MAX_ATTRS][32];
    struct dir_attr attrs[MAX_ATTRS];
    struct dir_value values[MAX_ATTRS][MAX_VALUES];
    size_t nattrs;
};

/* One "name:value" line into p (extra attributes and values dropped). */
static void add_line(struct parsed *p, const char *s, size_t n)
{
    const char *colon = memchr(s, ':', n);
    size_t nl, a;

    if (colon == NULL)
        return;
    nl = (size_t)(colon - s) < sizeof(p->names[0]) - 1 ? (size_t)(colon - s)
                                                         : sizeof(p->names[0]) - 1;
    for (a = 0; a < p->nattrs; a++)
        if (strlen(p->names[a]) == nl && memcmp(p->names[a], s, nl) == 0)
            break;
    if (a == p->nattrs) {
        if (a == MAX_ATTRS)
            return;
        memcpy(p->names[a], s, nl);
        p->names[a][nl] = '\0';
        p->attrs[a] = (struct dir_attr){p->names[a], p->values[a], 0};
        p->nattrs++;
    }
    if (p->attrs[a].nvalues < MAX_VALUES)
        p->values[a][p->attrs[a].nvalues++] =
            (struct dir_value){colon + 1, n - (size_t)(colon - s) - 1};
}

static void check_records(const struct source_records *r)
{
    for (size_t i = 0; i < source_records_count(r); i++) {
        const struct source_record *rec = source_records_at(r, i);
        CHECK(rec->key != NULL && rec->key[0] != '\0');
        for (size_t t = 0; t < rec->ntargets; t++)
            CHECK(rec->targets[t] != NULL && rec->targets[t][0] != '\0');
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum dir_schema schemas[] = {DIR_SCHEMA_AD, DIR_SCHEMA_IREDMAIL,
                                              DIR_SCHEMA_CUSTOM};
    const char *s = (const char *)data, *end = s + size;
    struct table_settings ts = {.postmaster = NULL, .delimiters = "+", .max_depth = 20,
                                .max_targets = 100};
    enum dir_schema schema;
    struct dir_map *m;
    struct source_records *r;
    struct diag *d;
    unsigned role = 0;

    if (size == 0)
        return 0;
    schema = schemas[data[0] % 3];
    s++;
    m = dir_map_new(schema, &custom);
    r = source_records_new("ldap://fuzz");
    d = diag_new();
    if (m == NULL || r == NULL || d == NULL)
        goto out;
    while (s < end) {
        struct parsed p = {0};
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);
        memcpy(p.dn, s, n < sizeof(p.dn) - 1 ? n : sizeof(p.dn) - 1);
        s += n + (nl != NULL);
        while (s < end && *s != '\n') {
            nl = memchr(s, '\n', (size_t)(end - s));
            n = nl ? (size_t)(nl - s) : (size_t)(end - s);
            add_line(&p, s, n);
            s += n + (nl != NULL);
        }
        s += s < end; /* the empty line */
        struct dir_entry e = {p.dn, p.attrs, p.nattrs};
        enum dir_role rl = schema == DIR_SCHEMA_CUSTOM ? (enum dir_role)(1 + role++ % 3)
                                                       : DIR_ROLE_ANY;
        if (dir_map_add(m, rl, &e) != 0)
            goto out;
    }
    if (dir_map_finish(m, r, d) >= 0) {
        struct table_builder *b = table_builder_new(&ts);
        check_records(r);
        if (b != NULL && source_records_apply(r, b, NULL, SOURCE_PRECEDENCE_CONFIG, d) >= 0) {
            struct table *t = table_builder_finish(b);
            struct policy_result pr, pr2;
            policy_result_init(&pr);
            policy_result_init(&pr2);
            for (size_t i = 0; t != NULL && i < source_records_count(r) && i < FUZZ_MAX_RESOLVE;
                 i++) {
                const char *key = source_records_at(r, i)->key;
                fuzz_check_resolve(t, key, strlen(key), false, &pr, &pr2);
            }
            policy_result_free(&pr);
            policy_result_free(&pr2);
            table_unref(t);
        }
        table_builder_free(b);
    }
    for (size_t i = 0; i < diag_size(d); i++)
        CHECK(strchr(diag_text(d, i), '\n') == NULL);
out:
    diag_free(d);
    source_records_free(r);
    dir_map_free(m);
    return 0;
}
