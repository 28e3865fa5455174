/*
 * fuzz_virtual_map.c - libFuzzer target for the virtual(5) loader
 * (virtual_map.c) and what runs on its result: the input is one table
 * file, loaded into a builder, finished, validated, and then the words of
 * the input are resolved against the table (fuzz_common.h checks each).
 * An input that starts with "#mailboxes" (a comment either way) is loaded
 * as a virtual_mailbox_maps file (mailbox_table) instead.
 */
#include <stdbool.h>

#include "diag.h"
#include "fuzz_common.h"
#include "validate.h"
#include "virtual_map.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const roles[] = {"abuse", "hostmaster"};
    struct table_settings s = {
        .postmaster = "pm@elsewhere.example",
        .roles = roles,
        .nroles = 2,
        .delimiters = "+-",
        .unknown = UNKNOWN_REJECT,
        .max_depth = TABLE_DEFAULT_MAX_DEPTH,
        .max_targets = 100,
    };
    struct table_builder *b = table_builder_new(&s);
    struct diag *d = diag_new();
    struct table *t = NULL;
    int errors, verrors;

    CHECK(b != NULL && d != NULL);
    if (size >= 10 && memcmp(data, "#mailboxes", 10) == 0)
        errors = virtual_map_load_mailboxes_buffer(b, "fuzz.virtual", (const char *)data, size, d);
    else
        errors = virtual_map_load_buffer(b, "fuzz.virtual", (const char *)data, size, d);
    CHECK(errors >= 0 && (size_t)errors == diag_count(d, DIAG_ERROR));
    for (size_t i = 0; i < diag_size(d); i++)
        CHECK(diag_text(d, i) != NULL && strncmp(diag_text(d, i), "fuzz.virtual", 12) == 0);
    t = table_builder_finish(b);
    CHECK(t != NULL);
    verrors = validate_table(t, b, d);
    CHECK(verrors >= 0);
    for (size_t i = 0; i < table_entry_count(t); i++) {
        const struct table_entry *e = table_entry_at(t, i), *found = NULL;
        CHECK(table_lookup(t, e->key, strlen(e->key), &found) == 1 && found == e);
        CHECK(table_entry_index(t, e) == i);
    }
    fuzz_resolve_tokens(t, data, size, errors == 0 && verrors == 0);
    table_unref(t);
    table_builder_free(b);
    diag_free(d);
    return 0;
}
