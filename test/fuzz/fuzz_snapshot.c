/*
 * fuzz_snapshot.c - libFuzzer target for the snapshot reader (snapshot.c)
 * and what runs on what it accepts: the input is one snapshot file of the
 * source "fuzz", read with snapshot_read_buffer.  A refused file must say
 * why at fuzz.snapshot:LINE and keep nothing; an accepted one must format
 * and read back to the same records (one spelling per value), and goes
 * through source_records_apply, the builder, validation and resolution of
 * the input's words (fuzz_common.h).
 */
#include <stdbool.h>

#include "diag.h"
#include "fuzz_common.h"
#include "snapshot.h"
#include "source_records.h"
#include "validate.h"

#define PATH "fuzz.snapshot"

static void same_records(const struct source_records *a, const struct source_records *b)
{
    CHECK(source_records_count(a) == source_records_count(b));
    for (size_t i = 0; i < source_records_count(a); i++) {
        const struct source_record *x = source_records_at(a, i), *y = source_records_at(b, i);
        CHECK(x->kind == y->kind && x->ntargets == y->ntargets);
        CHECK(strcmp(x->origin, y->origin) == 0 && strcmp(x->key, y->key) == 0);
        for (size_t j = 0; j < x->ntargets; j++)
            CHECK(strcmp(x->targets[j], y->targets[j]) == 0);
    }
}

/* The text of r, read back, gives r again and the same text. */
static void check_round_trip(const struct source_records *r)
{
    struct util_buf text = {0}, again = {0};
    struct source_records *back = source_records_new("fuzz");
    struct diag *d = diag_new();

    CHECK(back != NULL && d != NULL);
    CHECK(snapshot_format(r, &text) == 0);
    CHECK(snapshot_read_buffer(PATH, text.p, text.len, back, d) == 0);
    CHECK(diag_size(d) == 0);
    same_records(r, back);
    CHECK(snapshot_format(back, &again) == 0);
    CHECK(again.len == text.len && memcmp(again.p, text.p, text.len) == 0);
    util_buf_free(&text);
    util_buf_free(&again);
    source_records_free(back);
    diag_free(d);
}

/* The records into a table, validated, and the input's words resolved. */
static void check_apply(const struct source_records *r, const uint8_t *data, size_t size)
{
    struct table_settings s = {.postmaster = "pm@elsewhere.example",
                               .delimiters = "+",
                               .unknown = UNKNOWN_REJECT,
                               .max_depth = TABLE_DEFAULT_MAX_DEPTH,
                               .max_targets = 100};
    struct table_builder *b = table_builder_new(&s);
    struct diag *d = diag_new();
    struct table *t;
    int errors, verrors;

    CHECK(b != NULL && d != NULL);
    errors = source_records_apply(r, b, NULL, SOURCE_PRECEDENCE_CONFIG, d);
    CHECK(errors >= 0 && (size_t)errors == diag_count(d, DIAG_ERROR));
    for (size_t i = 0; i < diag_size(d); i++)
        CHECK(strncmp(diag_text(d, i), "fuzz: ", 6) == 0);
    CHECK((t = table_builder_finish(b)) != NULL);
    verrors = validate_table(t, b, d);
    CHECK(verrors >= 0);
    fuzz_resolve_tokens(t, data, size, errors == 0 && verrors == 0);
    table_unref(t);
    table_builder_free(b);
    diag_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct source_records *r = source_records_new("fuzz");
    struct diag *d = diag_new();
    int rc;

    CHECK(r != NULL && d != NULL);
    rc = snapshot_read_buffer(PATH, (const char *)data, size, r, d);
    CHECK(rc == 0 || rc == -1);
    for (size_t i = 0; i < diag_size(d); i++)
        CHECK(strncmp(diag_text(d, i), PATH ":", sizeof(PATH)) == 0);
    if (rc == 0) {
        CHECK(diag_count(d, DIAG_ERROR) == 0);
        for (size_t i = 0; i < source_records_count(r); i++) {
            const struct source_record *x = source_records_at(r, i);
            CHECK(source_kind_name(x->kind) != NULL && x->key[0] != '\0' && x->origin[0] != '\0');
            CHECK((x->ntargets == 0) == (x->targets == NULL));
        }
        check_round_trip(r);
        check_apply(r, data, size);
    } else {
        CHECK(diag_count(d, DIAG_ERROR) > 0 && source_records_count(r) == 0);
    }
    source_records_free(r);
    diag_free(d);
    return 0;
}
