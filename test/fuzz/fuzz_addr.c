/*
 * fuzz_addr.c - libFuzzer target for the envelope address parser (addr.c).
 *
 * Parses the input with several recipient_delimiter sets and checks the
 * invariants callers rely on: the parse does not depend on the delimiters
 * except for the extension split, the canonical text re-parses to itself
 * (bare and in angle brackets, folded or not), addr_format honours its
 * buffer size, and addr_parse (with its fast path) gives exactly what the
 * general path alone gives: the same code and the same fields; whatever
 * addr_parse_fast takes, the general path parses identically.  Any
 * violation aborts, which libFuzzer reports.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistr.h>

#include "addr.h"
#include "addr_fast.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static const char *const delimiter_sets[] = {NULL, "", "+", "-", "+-", "+-=_.%"};
#define NSETS (sizeof(delimiter_sets) / sizeof(delimiter_sets[0]))

static void same_parse(const struct addr *a, const struct addr *b)
{
    CHECK(a->local_len == b->local_len && a->domain_len == b->domain_len);
    CHECK(memcmp(a->local, b->local, a->local_len + 1) == 0);
    CHECK(memcmp(a->domain, b->domain, a->domain_len + 1) == 0);
}

/* What a successful parse must look like. */
static void check_shape(const struct addr *a, const char *delims)
{
    CHECK(a->local_len <= 2 * ADDR_LOCAL_MAX + 2);
    CHECK(a->domain_len <= ADDR_DOMAIN_MAX);
    CHECK(strlen(a->local) == a->local_len);
    CHECK(strlen(a->domain) == a->domain_len);
    CHECK(a->base_len <= a->local_len);
    if (a->base_len < a->local_len) {
        CHECK(a->base_len > 0);
        CHECK(delims != NULL && strchr(delims, a->local[a->base_len]) != NULL);
        CHECK(addr_extension(a) == a->local + a->base_len);
    } else {
        CHECK(*addr_extension(a) == '\0');
    }
    /* no control byte; UTF-8 only in the local part (SMTPUTF8), and there
     * well-formed; the domain is ASCII (A-labels) */
    for (size_t i = 0; i < a->local_len; i++)
        CHECK((unsigned char)a->local[i] >= 0x20 && a->local[i] != 0x7f);
    CHECK(u8_check((const uint8_t *)a->local, a->local_len) == NULL);
    for (size_t i = 0; i < a->domain_len; i++)
        CHECK((unsigned char)a->domain[i] >= 0x20 && (unsigned char)a->domain[i] < 0x7f);
    for (size_t i = 0; i < a->domain_len; i++)
        CHECK(!(a->domain[i] >= 'A' && a->domain[i] <= 'Z'));
}

/* The canonical form re-parses to the same address, with and without
 * brackets; the folded form parses too; addr_format respects bufsz. */
static void check_round_trip(const struct addr *a, const char *delims)
{
    char text[ADDR_TEXT_MAX + 3], folded[ADDR_TEXT_MAX + 1], small[ADDR_TEXT_MAX + 1];
    struct addr b;
    size_t n, nf, nb;

    n = addr_format(a, true, false, text + 1, sizeof(text) - 2);
    CHECK(n > 0 && n <= ADDR_TEXT_MAX && strlen(text + 1) == n);
    CHECK(addr_parse(&b, text + 1, n, delims) == ADDR_OK);
    same_parse(a, &b);
    CHECK(b.base_len == a->base_len);

    text[0] = '<';
    text[n + 1] = '>';
    CHECK(addr_parse(&b, text, n + 2, delims) == ADDR_OK);
    same_parse(a, &b);
    CHECK(b.base_len == a->base_len);

    nf = addr_format(a, true, true, folded, sizeof(folded));
    CHECK(nf == n);
    CHECK(addr_parse(&b, folded, nf, delims) == ADDR_OK);

    /* exactly big enough works, one byte less gives 0 and "" */
    CHECK(addr_format(a, true, false, small, n + 1) == n);
    CHECK(memcmp(small, text + 1, n) == 0 && small[n] == '\0');
    small[0] = 'x';
    CHECK(addr_format(a, true, false, small, n) == 0 && small[0] == '\0');
    CHECK(addr_format(a, true, false, small, 0) == 0);

    /* without the extension: the base, then the domain */
    nb = addr_format(a, false, false, small, sizeof(small));
    CHECK(nb == n - (a->local_len - a->base_len));
    CHECK(memcmp(small, a->local, a->base_len) == 0);
}

/* Differential: the fast path changes no result. */
static void check_general(const struct addr *a, enum addr_error err, const char *text, size_t size,
                          const char *delims)
{
    struct addr g;

    CHECK(addr_parse_general(&g, text, size, delims) == err);
    if (err == ADDR_OK) {
        same_parse(a, &g);
        CHECK(a->base_len == g.base_len);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct addr first, a, fast;
    enum addr_error err0 = ADDR_OK;

    if (addr_parse_fast(&fast, text, size)) {
        CHECK(addr_parse_general(&a, text, size, NULL) == ADDR_OK);
        same_parse(&fast, &a);
    }
    for (size_t k = 0; k < NSETS; k++) {
        enum addr_error err = addr_parse(&a, text, size, delimiter_sets[k]);
        CHECK(addr_strerror(err) != NULL);
        check_general(&a, err, text, size, delimiter_sets[k]);
        if (k == 0) {
            err0 = err;
            if (err == ADDR_OK)
                first = a;
        } else {
            /* the delimiters only move the extension split */
            CHECK(err == err0);
            if (err == ADDR_OK)
                same_parse(&first, &a);
        }
        if (err == ADDR_OK) {
            check_shape(&a, delimiter_sets[k]);
            check_round_trip(&a, delimiter_sets[k]);
        }
    }
    return 0;
}
