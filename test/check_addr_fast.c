/*
 * check_addr_fast.c - unit tests of addr_fast.c: the fast path of
 * addr_parse gives exactly the general path's result.
 *
 * A generated corpus (hand seeds, addresses at every length limit, every
 * one-byte deletion, replacement and insertion of them, and random byte
 * strings) is parsed three ways: addr_parse_fast alone, addr_parse and
 * addr_parse_general, with several delimiter sets.  Codes and every field
 * must agree, and whatever the fast path accepts the general path must
 * accept identically.  Inputs are copied into heap blocks of their exact
 * length so that ASan sees any read beyond it.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "addr_fast.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *const delimiter_sets[] = {NULL, "", "+", "-", "+-", "+-=_.%"};

/* Bytes that matter to the grammar, and some that must be refused. */
static const char alphabet[] = "aZ0.-_+@<>\"\\[]:, \t\x7f\x80\xc3\xbc\xff!=;()";
#define NALPHA (sizeof(alphabet) - 1)

struct tally {
    long inputs;
    long fast; /* inputs that the fast path took */
    long ok;   /* inputs that parse */
};

/* The input as C-escaped text, for a failure message. */
static const char *show(const char *s, size_t n)
{
    static char buf[4 * 600 + 1];
    size_t o = 0;

    for (size_t i = 0; i < n && o + 5 < sizeof(buf); i++) {
        unsigned char c = (unsigned char)s[i];
        o += (size_t)(c >= 0x20 && c < 0x7f && c != '\\'
                          ? snprintf(buf + o, sizeof(buf) - o, "%c", c)
                          : snprintf(buf + o, sizeof(buf) - o, "\\x%02x", c));
    }
    buf[o] = '\0';
    return buf;
}

static int same_fields(const struct addr *a, const struct addr *b)
{
    return a->local_len == b->local_len && a->domain_len == b->domain_len &&
           memcmp(a->local, b->local, a->local_len + 1) == 0 &&
           memcmp(a->domain, b->domain, a->domain_len + 1) == 0;
}

/*
 * compare - all three parses of len bytes at text agree.  ck_assert is not
 * used per parse: in fork mode each one writes to a pipe.  Returns whether
 * the fast path took the input.
 */
static int compare(const char *text, size_t len, struct tally *t)
{
    char *buf = malloc(len > 0 ? len : 1);
    struct addr f, g, p;
    int fast;

    ck_assert_ptr_nonnull(buf);
    memcpy(buf, text, len);
    memset(&f, 0xa5, sizeof(f));
    fast = addr_parse_fast(&f, buf, len);
    for (size_t k = 0; k < N(delimiter_sets); k++) {
        const char *d = delimiter_sets[k];
        enum addr_error eg = addr_parse_general(&g, buf, len, d);
        enum addr_error ep = addr_parse(&p, buf, len, d);
        if (ep != eg)
            ck_abort_msg("\"%s\": addr_parse %d, general %d", show(text, len), ep, eg);
        if (eg == ADDR_OK && (!same_fields(&p, &g) || p.base_len != g.base_len))
            ck_abort_msg("\"%s\": addr_parse gives %s@%s (base %zu), general %s@%s (base %zu)",
                         show(text, len), p.local, p.domain, p.base_len, g.local, g.domain,
                         g.base_len);
        if (fast && (eg != ADDR_OK || !same_fields(&f, &g)))
            ck_abort_msg("\"%s\": fast path took it, general gives %d", show(text, len), eg);
        if (k == 0 && eg == ADDR_OK)
            t->ok++;
    }
    free(buf);
    t->inputs++;
    t->fast += fast;
    return fast;
}

/* Every deletion, replacement by an alphabet byte and insertion of one. */
static void mutations(const char *s, size_t n, struct tally *t)
{
    char buf[600];

    ck_assert_uint_lt(n, sizeof(buf) - 1);
    for (size_t i = 0; i <= n; i++) {
        if (i < n) {
            memcpy(buf, s, i);
            memcpy(buf + i, s + i + 1, n - i - 1);
            compare(buf, n - 1, t);
        }
        for (size_t a = 0; a < NALPHA + 1; a++) {
            char c = a < NALPHA ? alphabet[a] : '\0'; /* NUL too */
            memcpy(buf, s, n);
            if (i < n) {
                buf[i] = c;
                compare(buf, n, t);
            }
            memcpy(buf, s, i);
            buf[i] = c;
            memcpy(buf + i + 1, s + i, n - i);
            compare(buf, n + 1, t);
        }
    }
}

/* Seeds: common forms, and each thing that the fast path must decline. */
static const char *const seeds[] = {
    "<user123@d45.example>",
    "user123@d45.example",
    "<s1.user123+news@d45.example>",
    "<User.Name@D45.Example.COM>",
    "<owner-list@ex.example>",
    "<list-request@ex.example>",
    "<postmaster@ex.example>",
    "<MAILER-DAEMON@ex.example>",
    "<a@b.example.>",
    "<a_b@x_y.example>",
    "<!#$%&'*+-/=?^_`{|}~@x.example>",
    "<\"john doe\"@x.example>",
    "<\"john\"@x.example>",
    "<\"\"@x.example>",
    "<a@[192.0.2.1]>",
    "<a@b\xc3\xbc"
    "cher.example>",
    "<j\xc3\xb6rg@x.example>",
    "<@r1.example,@r2.example:a@x.example>",
    "<@x.example>",
    "<postmaster>",
    "postmaster",
    "<>",
    "<",
    ">",
    "a@b",
    "a.b.c@d-e.f-g.h",
    "<a@-b.example>",
    "<a@b-.example>",
    "<a@b..example>",
    "<.a@b.example>",
    "<a.@b.example>",
    "<a..b@c.example>",
    "<a@b@c.example>",
    "<a@.>",
    "<a@>",
    "<@>",
    "<<a@b.example>>",
    "<a@b.example>>",
    "a@b.example>",
    "<a@b.example",
};

/* A host name of exactly n octets: labels of 63 and a last shorter one. */
static size_t host_name(char *out, size_t n, size_t label_max)
{
    size_t o = 0, label = 0;

    while (o < n) {
        if (label == label_max && o + 1 < n) {
            out[o++] = '.';
            label = 0;
        } else {
            out[o] = (char)('a' + (o % 26));
            o++;
            label++;
        }
    }
    return o;
}

/* Length limits: local part 63 to 65, domain 254 to 256, labels 62 to 64,
 * with and without a trailing dot and brackets. */
static void limit_inputs(struct tally *t, int mutate)
{
    static const size_t locals[] = {1, 63, 64, 65};
    static const size_t domains[] = {1, 62, 63, 64, 253, 254, 255, 256};
    static const size_t labels[] = {62, 63, 64};
    char buf[600];

    for (size_t l = 0; l < N(locals); l++)
        for (size_t d = 0; d < N(domains); d++)
            for (size_t b = 0; b < N(labels); b++)
                for (int form = 0; form < 4; form++) {
                    size_t o = 0;
                    if (form & 1)
                        buf[o++] = '<';
                    for (size_t i = 0; i < locals[l]; i++)
                        buf[o++] = i % 8 == 7 && i + 1 < locals[l] ? '.' : (char)('A' + i % 26);
                    buf[o++] = '@';
                    o += host_name(buf + o, domains[d], labels[b]);
                    if (form & 2)
                        buf[o++] = '.';
                    if (form & 1)
                        buf[o++] = '>';
                    compare(buf, o, t);
                    /* mutating all of them is slow; a few cover the ends */
                    if (mutate && d == 4 && b == 1 && form == 3)
                        mutations(buf, o, t);
                }
}

START_TEST(test_seeds_and_mutations)
{
    struct tally t = {0};

    for (size_t i = 0; i < N(seeds); i++) {
        compare(seeds[i], strlen(seeds[i]), &t);
        mutations(seeds[i], strlen(seeds[i]), &t);
    }
    limit_inputs(&t, 1);
    compare("", 0, &t);
    compare("<a\0b@c.example>", 15, &t);
    compare("<ab@c.ex\0ample>", 15, &t);
    fprintf(stderr, "check_addr_fast: %ld inputs, %ld parse, %ld by the fast path\n", t.inputs,
            t.ok, t.fast);
    /* the corpus exercises both paths, valid and invalid */
    ck_assert_int_gt(t.fast, 10000);
    ck_assert_int_gt(t.ok - t.fast, 1000);
    ck_assert_int_gt(t.inputs - t.ok, 10000);
}
END_TEST

/* Random strings over the alphabet, address-shaped more often than not. */
START_TEST(test_random)
{
    static const char *const parts[] = {
        "<",        ">",    "@",    "user", "U", ".", "..",          "-", "_", "+ext",
        "d1",       "ex",   "\"",   "\\",   "[", "]", "[192.0.2.1]", ",", ":", " ",
        "\xc3\xbc", "\x80", "\x7f", "",     "a", "0", "=",           "\0"};
    unsigned long long x = 0x9e3779b97f4a7c15ull;
    struct tally t = {0};
    char buf[200];

    for (int i = 0; i < 100000; i++) {
        size_t o = 0;
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int nparts = (int)(x % 12);
        unsigned long long y = x;
        if (x & (1ull << 20)) /* half of them start like an address */
            o += (size_t)snprintf(buf, sizeof(buf), "<u%d@d%d.example", i % 97, i % 13);
        for (int k = 0; k < nparts; k++) {
            y ^= y << 13, y ^= y >> 7, y ^= y << 17;
            const char *s = parts[y % N(parts)];
            size_t n = s[0] == '\0' && (y & 64) ? 1 : strlen(s); /* a NUL now and then */
            if (o + n < sizeof(buf)) {
                memcpy(buf + o, s, n);
                o += n;
            }
        }
        if ((x & (1ull << 21)) && o < sizeof(buf))
            buf[o++] = '>';
        compare(buf, o, &t);
    }
    fprintf(stderr, "check_addr_fast: %ld random inputs, %ld parse, %ld by the fast path\n",
            t.inputs, t.ok, t.fast);
    ck_assert_int_gt(t.fast, 1000);
    ck_assert_int_gt(t.inputs - t.ok, 10000);
}
END_TEST

/* The fast path takes what it is for, and leaves the rest. */
START_TEST(test_takes_and_declines)
{
    static const char *const taken[] = {"<user123@d45.example>", "u@d.example.", "<A.B+c@D.EX>",
                                        "<a_b@x_y.example>", "!#$%&'*+-/=?^_`{|}~@x.example"};
    static const char *const declined[] = {
        "<\"a\"@x.example>", "<a@[192.0.2.1]>", "<a@b\xc3\xbc.example>", "<@r.example:a@x.example>",
        "<postmaster>",      "postmaster",      "<a@b.example",          "a@b.example>",
        "<a..b@x.example>",  "<a@-b.example>",  "<a@b-.example>",        "<a@b..example>"};
    struct tally t = {0};
    char buf[600];
    size_t o;

    for (size_t i = 0; i < N(taken); i++)
        ck_assert_msg(compare(taken[i], strlen(taken[i]), &t), "%s declined", taken[i]);
    for (size_t i = 0; i < N(declined); i++)
        ck_assert_msg(!compare(declined[i], strlen(declined[i]), &t), "%s taken", declined[i]);
    /* the longest: 64-octet local part, 255-octet domain of 63-octet labels */
    o = 0;
    buf[o++] = '<';
    memset(buf + o, 'x', 64);
    o += 64;
    buf[o++] = '@';
    o += host_name(buf + o, 255, 63);
    buf[o++] = '>';
    ck_assert(compare(buf, o, &t));
    buf[o - 1] = '.'; /* with the trailing dot: the general path's */
    buf[o++] = '>';
    ck_assert(!compare(buf, o, &t));
}
END_TEST

static Suite *addr_fast_suite(void)
{
    Suite *s = suite_create("addr_fast");
    TCase *tc = tcase_create("differential");

    tcase_add_test(tc, test_takes_and_declines);
    tcase_add_test(tc, test_seeds_and_mutations);
    tcase_add_test(tc, test_random);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(addr_fast_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
