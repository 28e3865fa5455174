/*
 * fuzz_common.h - what the libFuzzer targets under test/fuzz share: the
 * entry point's prototype, an invariant check that aborts (libFuzzer then
 * saves the input), and the resolution checks over a finished table.
 */
#ifndef HOSTED_MILTER_FUZZ_COMMON_H
#define HOSTED_MILTER_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "policy.h"
#include "table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Most tokens of the input resolved per run (keeps each run fast). */
#define FUZZ_MAX_RESOLVE 24

/*
 * fuzz_check_resolve - resolve text (len bytes) under t and check what
 * every caller relies on: a reply for reject/tempfail and only then, at
 * least one parseable target for a rewrite, the same answer twice, and,
 * when the table passed validation (valid), no final target that is
 * itself rejected.
 */
static inline void fuzz_check_resolve(const struct table *t, const char *text, size_t len,
                                      bool valid, struct policy_result *r, struct policy_result *r2)
{
    char reply[1024];
    enum policy_action act = policy_resolve(t, text, len, r);
    struct addr a;

    CHECK(act == r->action);
    CHECK(policy_action_name(act) != NULL && policy_rule_name(r->rule) != NULL);
    CHECK(strlen(r->address) <= ADDR_TEXT_MAX);
    if (r->rule == RULE_UNPARSEABLE)
        CHECK(act == POLICY_PASS && r->address[0] == '\0');
    switch (act) {
    case POLICY_REJECT:
    case POLICY_TEMPFAIL:
        CHECK(r->status != NULL && r->xstatus != NULL && r->reason != NULL);
        CHECK(policy_format_reply(r, true, reply, sizeof(reply)) > 0);
        CHECK(policy_format_reply(r, false, reply, sizeof(reply)) > 0);
        break;
    case POLICY_REWRITE:
        CHECK(r->ntargets > 0);
        for (size_t i = 0; i < r->ntargets; i++) {
            const char *target = policy_target(r, i);
            CHECK(target != NULL);
            CHECK(addr_parse(&a, target, strlen(target), NULL) == ADDR_OK);
        }
        break;
    case POLICY_KEEP:
    case POLICY_PASS:
        CHECK(r->status == NULL);
        CHECK(policy_format_reply(r, true, reply, sizeof(reply)) == 0);
        break;
    }

    /* deterministic, also into a result that holds something else */
    CHECK(policy_resolve(t, text, len, r2) == act);
    CHECK(r2->rule == r->rule && r2->ntargets == r->ntargets);
    CHECK(strcmp(r2->address, r->address) == 0);
    for (size_t i = 0; act == POLICY_REWRITE && i < r->ntargets; i++)
        CHECK(strcmp(policy_target(r, i), policy_target(r2, i)) == 0);

    /* a validated table never rewrites to a recipient it rejects */
    if (valid && act == POLICY_REWRITE) {
        for (size_t i = 0; i < r->ntargets; i++) {
            const char *target = policy_target(r, i);
            CHECK(policy_resolve(t, target, strlen(target), r2) != POLICY_REJECT);
        }
    }
}

/*
 * fuzz_resolve_tokens - resolve the first FUZZ_MAX_RESOLVE words of data
 * (split at white space and commas), bare and in angle brackets.
 */
static inline void fuzz_resolve_tokens(const struct table *t, const uint8_t *data, size_t size,
                                       bool valid)
{
    struct policy_result r, r2;
    char buf[ADDR_TEXT_MAX + 3];
    size_t i = 0, done = 0;

    policy_result_init(&r);
    policy_result_init(&r2);
    while (i < size && done < FUZZ_MAX_RESOLVE) {
        size_t start;
        while (i < size && strchr(" \t\r\n,", data[i]) != NULL && data[i] != '\0')
            i++;
        start = i;
        while (i < size && (data[i] == '\0' || strchr(" \t\r\n,", data[i]) == NULL))
            i++;
        if (i == start)
            continue;
        fuzz_check_resolve(t, (const char *)data + start, i - start, valid, &r, &r2);
        if (i - start <= ADDR_TEXT_MAX) {
            buf[0] = '<';
            memcpy(buf + 1, data + start, i - start);
            buf[i - start + 1] = '>';
            fuzz_check_resolve(t, buf, i - start + 2, valid, &r, &r2);
        }
        done++;
    }
    policy_result_free(&r);
    policy_result_free(&r2);
}

#endif
