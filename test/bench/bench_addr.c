/*
 * bench_addr.c - address parsing benchmark of addr.c (not a test).
 *
 * Times addr_parse and addr_format (folded, with and without the
 * extension, as policy_resolve keys a lookup) per kind of address: plain
 * ASCII "<local@domain>", with a +extension, upper case, a quoted local
 * part, an IDN U-label domain, an address literal, and a mix weighted like
 * real traffic (mostly plain).  Each kind has 1,024 distinct addresses; a
 * repetition parses every one of them enough times to take about 20 ms.
 * Prints the median ns per call over the repetitions, and the spread.
 *
 *   bench_addr [-r REPETITIONS] [-k KIND] [-m]
 *   -k: one kind only (plain, ext, upper, quoted, idn, literal, mix), e.g.
 *       to count instructions under valgrind --tool=callgrind;
 *   -m: also print machine-readable "M key value" lines
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "bench_stats.h"

#define NADDR 1024
#define ROUNDS 64 /* passes over the NADDR addresses per repetition */
#define MAXREPS 99

enum { K_PLAIN, K_EXT, K_UPPER, K_QUOTED, K_IDN, K_LITERAL, K_MIX, NK };
static const char *const knames[NK] = {"plain", "extension", "upper case", "quoted",
                                       "IDN",   "literal",   "mix"};
static const char *const keys[NK] = {"plain", "ext", "upper", "quoted", "idn", "literal", "mix"};

struct sample {
    char text[128];
    size_t len;
};

/* One address of kind k, number i. */
static void make(struct sample *s, int k, long i)
{
    static const int mix[10] = {K_PLAIN, K_PLAIN, K_PLAIN, K_PLAIN, K_PLAIN,
                                K_PLAIN, K_PLAIN, K_EXT,   K_EXT,   K_UPPER};
    long d = i % 1000;

    if (k == K_MIX)
        k = mix[i % 10];
    switch (k) {
    case K_PLAIN:
        snprintf(s->text, sizeof(s->text), "<user%ld@d%ld.example>", i * 977, d);
        break;
    case K_EXT:
        snprintf(s->text, sizeof(s->text), "<s1.user%ld+news@d%ld.example>", i * 977, d);
        break;
    case K_UPPER:
        snprintf(s->text, sizeof(s->text), "<User%ld.Name@D%ld.Example.COM>", i * 977, d);
        break;
    case K_QUOTED:
        snprintf(s->text, sizeof(s->text), "<\"john doe%ld\"@d%ld.example>", i, d);
        break;
    case K_IDN:
        snprintf(s->text, sizeof(s->text),
                 "<user%ld@b\xc3\xbc"
                 "cher%ld.example>",
                 i, d);
        break;
    default:
        snprintf(s->text, sizeof(s->text), "<user%ld@[192.0.2.%ld]>", i, d % 256);
        break;
    }
    s->len = strlen(s->text);
}

/* ns per call of one repetition; fmt: addr_format (folded, both forms)
 * of addresses parsed beforehand instead of addr_parse. */
static double run(const struct sample *s, struct addr *parsed, int fmt, unsigned long *sink)
{
    char buf[ADDR_TEXT_MAX + 1];
    struct addr a;
    double t0 = now();

    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < NADDR; i++) {
            if (fmt) {
                *sink += addr_format(&parsed[i], true, true, buf, sizeof(buf));
                *sink += addr_format(&parsed[i], false, true, buf, sizeof(buf));
            } else {
                *sink += (unsigned long)addr_parse(&a, s[i].text, s[i].len, "+");
                *sink += a.local_len;
            }
        }
    }
    return (now() - t0) * 1e9 / ((double)ROUNDS * NADDR * (fmt ? 2 : 1));
}

int main(int argc, char **argv)
{
    static struct sample s[NADDR];
    static struct addr parsed[NADDR];
    double v[MAXREPS];
    int reps = 9, machine = 0, opt;
    const char *only = NULL;
    unsigned long sink = 0;

    while ((opt = getopt(argc, argv, "r:k:m")) != -1) {
        if (opt == 'r')
            reps = atoi(optarg);
        else if (opt == 'k')
            only = optarg;
        else if (opt == 'm')
            machine = 1;
        else
            return fprintf(stderr, "usage: bench_addr [-r REPETITIONS] [-k KIND] [-m]\n"), 2;
    }
    if (reps < 1 || reps > MAXREPS)
        return fprintf(stderr, "bench_addr: -r 1..%d\n", MAXREPS), 2;
    printf("%-12s %12s %9s %12s %9s\n", "kind", "parse ns", "spread", "format ns", "spread");
    for (int k = 0; k < NK; k++) {
        double med[2], spread[2];
        if (only != NULL && strcmp(only, keys[k]) != 0)
            continue;
        for (int i = 0; i < NADDR; i++) {
            make(&s[i], k, i);
            if (addr_parse(&parsed[i], s[i].text, s[i].len, "+") != ADDR_OK)
                return fprintf(stderr, "bench_addr: %s does not parse\n", s[i].text), 1;
        }
        for (int fmt = 0; fmt < 2; fmt++) {
            run(s, parsed, fmt, &sink); /* warm up */
            for (int r = 0; r < reps; r++)
                v[r] = run(s, parsed, fmt, &sink);
            med[fmt] = median(v, reps);
            spread[fmt] = v[reps - 1] - v[0];
        }
        printf("%-12s %12.1f %9.1f %12.1f %9.1f\n", knames[k], med[0], spread[0], med[1],
               spread[1]);
        if (machine)
            printf("M parse_ns.%s %.1f\nM format_ns.%s %.1f\n", keys[k], med[0], keys[k], med[1]);
    }
    fprintf(stderr, "(checksum %lu)\n", sink);
    return 0;
}
