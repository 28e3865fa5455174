/*
 * fuzz_sql_map.c - libFuzzer target: SQL rows with any column values
 * (8-bit, NULs, NULL, overlong keys, goto lists of empty items, "@",
 * booleans that are not) through sql_map, then the records into a table
 * builder with Postfix's precedence and the finished table through
 * validation and resolution.
 *
 * Input: the first byte picks the schema (even: postfixadmin, odd:
 * custom); then rows, one a line: the first byte of a line picks the set
 * (its value modulo 5), the rest are columns separated by TAB ("\N" alone
 * is NULL; a column is any bytes but TAB and LF).
 * Invariants: no crash or leak; every diagnostic is one line naming the
 * source "fuzz"; a record is canonical; the table answers every key.
 */
#include "fuzz_common.h"

#include "diag.h"
#include "source_records.h"
#include "sql_map.h"
#include "validate.h"

#define MAX_COLS 4

/* One line into its set and columns; returns the number of columns. */
static size_t split_row(const char *s, size_t n, enum sql_set *set, struct sql_value *cols)
{
    size_t nc = 0, start = 1;

    *set = (enum sql_set)((unsigned char)s[0] % SQL_SET_COUNT);
    if (n <= 1)
        return 0;
    for (size_t i = 1; i <= n && nc < MAX_COLS; i++) {
        if (i < n && s[i] != '\t')
            continue;
        if (i - start == 2 && s[start] == '\\' && s[start + 1] == 'N')
            cols[nc++] = (struct sql_value){NULL, 0};
        else
            cols[nc++] = (struct sql_value){s + start, i - start};
        start = i + 1;
    }
    return nc;
}

static void check_records(const struct source_records *r)
{
    for (size_t i = 0; i < source_records_count(r); i++) {
        const struct source_record *rec = source_records_at(r, i);
        struct addr a;
        CHECK(rec->key != NULL && rec->key[0] != '\0' && rec->origin != NULL);
        CHECK(strchr(rec->origin, '\n') == NULL);
        if (rec->kind == SOURCE_MAILBOX || rec->kind == SOURCE_ALIAS)
            CHECK(addr_parse(&a, rec->key, strlen(rec->key), NULL) == ADDR_OK);
        for (size_t t = 0; t < rec->ntargets; t++)
            CHECK(rec->targets[t] != NULL && rec->targets[t][0] != '\0');
    }
}

/* The records into a table with Postfix's precedence, validated, and each
 * key resolved. */
static void build_and_resolve(const struct source_records *r, struct diag *d)
{
    struct table_settings ts = {
        .postmaster = NULL, .delimiters = "+", .max_depth = 20, .max_targets = 100};
    struct table_builder *b = table_builder_new(&ts);
    struct policy_result pr, pr2;
    struct table *t = NULL;
    bool valid = false;

    if (b != NULL && source_records_apply(r, b, NULL, SOURCE_PRECEDENCE_POSTFIX, d) == 0 &&
        (t = table_builder_finish(b)) != NULL)
        valid = validate_table(t, b, d) == 0;
    else if (b != NULL)
        t = table_builder_finish(b);
    policy_result_init(&pr);
    policy_result_init(&pr2);
    for (size_t i = 0; t != NULL && i < source_records_count(r) && i < FUZZ_MAX_RESOLVE; i++) {
        const char *key = source_records_at(r, i)->key;
        fuzz_check_resolve(t, key, strlen(key), valid, &pr, &pr2);
    }
    policy_result_free(&pr);
    policy_result_free(&pr2);
    table_unref(t);
    table_builder_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    struct source_records *r;
    struct sql_map *m;
    struct diag *d;

    if (size < 1)
        return 0;
    r = source_records_new("fuzz");
    m = sql_map_new(data[0] % 2 == 0 ? SQL_SCHEMA_POSTFIXADMIN : SQL_SCHEMA_CUSTOM, r);
    d = diag_new();
    CHECK(r != NULL && m != NULL && d != NULL);
    for (size_t i = 1; i < size;) {
        const char *nl = memchr(s + i, '\n', size - i);
        size_t n = nl != NULL ? (size_t)(nl - (s + i)) : size - i;
        struct sql_value cols[MAX_COLS];
        enum sql_set set;
        size_t nc;
        if (n > 0) {
            nc = split_row(s + i, n, &set, cols);
            CHECK(sql_map_row(m, set, cols, nc, d) >= 0);
        }
        i += n + 1;
    }
    for (size_t k = 0; k < diag_size(d); k++)
        CHECK(strncmp(diag_text(d, k), "fuzz: ", 6) == 0 && strchr(diag_text(d, k), '\n') == NULL);
    check_records(r);
    build_and_resolve(r, d);
    sql_map_free(m);
    diag_free(d);
    source_records_free(r);
    return 0;
}
