/*
 * bench_resolve.c - load and resolution benchmark of the core (not a test).
 *
 * Generates a table of N addresses (default 1,000,000) across D hosted
 * domains (default 1,000): a quarter mailboxes, the rest their secondary
 * addresses, plus alias chains and alias domains.  Reports the time to
 * build and validate it (directly through the builder, and through
 * config_load on generated files), peak RSS, bytes per address beyond the
 * address text, and the median ns per policy_resolve over several
 * repetitions of a fixed mix of hits, misses, extensions and alias chains.
 *
 * Also measures the machine's dependent-load latency on a buffer far larger
 * than the caches (a pointer chase), so that a reader can judge the ns per
 * recipient of a table that does not fit in the caches either.
 *
 *   bench_resolve [-n ADDRESSES] [-d DOMAINS] [-r REPETITIONS] [-s] [-C] [-m] [-P MIB]
 *   -s: small run for smoke testing; -C: skip the config_load measurement;
 *   -m: also print machine-readable "M key value" lines (contrib/bench.sh);
 *   -P: pointer-chase buffer in MiB (default 256; 0 skips the measurement)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench_stats.h"
#include "config.h"
#include "diag.h"
#include "policy.h"
#include "table.h"
#include "validate.h"

#define MAX_CHAINS 1000
/* Alias chains: 1,000, or fewer in a small table. */
#define NCHAINS(naddr) ((naddr) / 8 < MAX_CHAINS ? (naddr) / 8 : MAX_CHAINS)
#define NALIASDOMAINS 10

static long peak_rss_kib(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static void mailbox_name(char *buf, size_t size, long i, long ndomains)
{
    snprintf(buf, size, "user%ld@d%ld.example", i, i % ndomains);
}

static void secondary_name(char *buf, size_t size, long i, int j, long ndomains)
{
    snprintf(buf, size, "s%d.user%ld@d%ld.example", j, i, (i + j + 1) % ndomains);
}

/* Build through the builder; returns the table, text bytes in *text. */
static struct table *build(long naddr, long ndomains, size_t *text, struct table_builder **bp)
{
    struct table_settings s = {.postmaster = "user0@d0.example", .delimiters = "+"};
    struct table_builder *b = table_builder_new(&s);
    struct table_loc loc = {"generated", 1};
    char name[128], target[128];
    const char *tp = target;
    long nmailbox = naddr / 4;

    *text = 0;
    for (long d = 0; d < ndomains; d++) {
        snprintf(name, sizeof(name), "d%ld.example", d);
        if (table_builder_add_domain(b, name, loc) != 0)
            return NULL;
    }
    for (int k = 0; k < NALIASDOMAINS; k++) {
        snprintf(name, sizeof(name), "alias%d.example", k);
        snprintf(target, sizeof(target), "d%d.example", k);
        if (table_builder_add_domain(b, name, loc) != 0 ||
            table_builder_set_alias_domain(b, name, target, loc, NULL) != 0)
            return NULL;
    }
    for (long i = 0; i < nmailbox; i++) {
        mailbox_name(name, sizeof(name), i, ndomains);
        *text += strlen(name) + 1;
        if (table_builder_add_entry(b, TABLE_MAILBOX, name, NULL, 0, loc, NULL) != 0)
            return NULL;
    }
    for (long i = 0; i < nmailbox; i++) {
        mailbox_name(target, sizeof(target), i, ndomains);
        for (int j = 0; j < 3; j++) {
            secondary_name(name, sizeof(name), i, j, ndomains);
            *text += strlen(name) + 1;
            if (table_builder_add_entry(b, TABLE_SECONDARY, name, &tp, 1, loc, NULL) != 0)
                return NULL;
        }
    }
    /* chains: listK -> chainK -> a mailbox */
    for (long k = 0; k < NCHAINS(naddr); k++) {
        snprintf(name, sizeof(name), "chain%ld@d%ld.example", k, k % ndomains);
        mailbox_name(target, sizeof(target), k, ndomains);
        if (table_builder_add_entry(b, TABLE_ALIAS, name, &tp, 1, loc, NULL) != 0)
            return NULL;
        snprintf(target, sizeof(target), "%s", name);
        snprintf(name, sizeof(name), "list%ld@d%ld.example", k, k % ndomains);
        if (table_builder_add_entry(b, TABLE_ALIAS, name, &tp, 1, loc, NULL) != 0)
            return NULL;
    }
    *bp = b;
    return table_builder_finish(b);
}

enum { Q_MAILBOX, Q_SECONDARY, Q_MISS, Q_EXTENSION, Q_CHAIN, Q_ALIASDOMAIN, Q_NOTHOSTED, NQ };
static const char *const qnames[NQ] = {"mailbox hit", "secondary hit", "miss (reject)", "extension",
                                       "alias chain", "alias domain",  "not hosted"};

static const enum policy_action qexpected[NQ] = {POLICY_KEEP,    POLICY_REWRITE, POLICY_REJECT,
                                                 POLICY_REWRITE, POLICY_REWRITE, POLICY_REWRITE,
                                                 POLICY_PASS};

struct query {
    char text[160];
    int kind;
};

static struct query *make_queries(int nq, long naddr, long ndomains)
{
    struct query *q = calloc((size_t)nq, sizeof(*q));
    unsigned long long x = 88172645463325252ull;
    long nmailbox = naddr / 4;

    for (int i = 0; q && i < nq; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        long m = (long)(x % (unsigned long long)nmailbox);
        char a[128];
        int kind = i % 10 < 3   ? Q_MAILBOX
                   : i % 10 < 5 ? Q_SECONDARY
                   : i % 10 < 6 ? Q_MISS
                   : i % 10 < 7 ? Q_EXTENSION
                   : i % 10 < 8 ? Q_CHAIN
                   : i % 10 < 9 ? Q_ALIASDOMAIN
                                : Q_NOTHOSTED;
        switch (kind) {
        case Q_MAILBOX:
            mailbox_name(a, sizeof(a), m, ndomains);
            break;
        case Q_SECONDARY:
            secondary_name(a, sizeof(a), m, (int)(x >> 40) % 3, ndomains);
            break;
        case Q_MISS:
            snprintf(a, sizeof(a), "nobody%ld@d%ld.example", m, m % ndomains);
            break;
        case Q_EXTENSION:
            snprintf(a, sizeof(a), "s1.user%ld+news@d%ld.example", m, (m + 2) % ndomains);
            break;
        case Q_CHAIN:
            snprintf(a, sizeof(a), "list%ld@d%ld.example", m % NCHAINS(naddr),
                     (m % NCHAINS(naddr)) % ndomains);
            break;
        case Q_ALIASDOMAIN: {
            long k = m % NALIASDOMAINS, u = k + ndomains * (m / ndomains);
            if (u >= nmailbox)
                u = k;
            snprintf(a, sizeof(a), "user%ld@alias%ld.example", u, k);
            break;
        }
        default:
            snprintf(a, sizeof(a), "someone%ld@elsewhere.example", m);
            break;
        }
        snprintf(q[i].text, sizeof(q[i].text), "<%s>", a);
        q[i].kind = kind;
    }
    return q;
}

static int write_config(const char *dir, long naddr, long ndomains)
{
    char path[512], name[128], target[128];
    long nmailbox = naddr / 4;
    FILE *f;

    snprintf(path, sizeof(path), "%s/bench.conf", dir);
    if ((f = fopen(path, "w")) == NULL)
        return -1;
    fprintf(f, "socket = \"unix:%s/sock\"\npostmaster = \"user0@d0.example\"\n", dir);
    fprintf(f, "table = { \"%s/virtual\" }\n", dir);
    for (long d = 0; d < ndomains; d++)
        fprintf(f, "domain \"d%ld.example\" { }\n", d);
    for (long i = 0; i < nmailbox; i++) {
        mailbox_name(name, sizeof(name), i, ndomains);
        fprintf(f, "mailbox \"%s\" { addresses = {", name);
        for (int j = 0; j < 3; j++) {
            secondary_name(target, sizeof(target), i, j, ndomains);
            fprintf(f, "%s\"%s\"", j ? ", " : " ", target);
        }
        fprintf(f, " } }\n");
    }
    if (fclose(f) != 0)
        return -1;
    snprintf(path, sizeof(path), "%s/virtual", dir);
    if ((f = fopen(path, "w")) == NULL)
        return -1;
    for (long k = 0; k < NCHAINS(naddr); k++) {
        mailbox_name(target, sizeof(target), k, ndomains);
        fprintf(f, "chain%ld@d%ld.example %s\n", k, k % ndomains, target);
        fprintf(f, "list%ld@d%ld.example chain%ld@d%ld.example\n", k, k % ndomains, k,
                k % ndomains);
    }
    for (int k = 0; k < NALIASDOMAINS; k++)
        fprintf(f, "@alias%d.example @d%d.example\n", k, k);
    return fclose(f);
}

static void bench_config_load(long naddr, long ndomains)
{
    char dir[] = "/tmp/bench-resolve.XXXXXX", path[512];
    double t0, t1;
    struct diag *d = diag_new();

    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return;
    }
    t0 = now();
    if (write_config(dir, naddr, ndomains) != 0) {
        perror("write_config");
        goto out;
    }
    t1 = now();
    printf("config files written in %.2f s\n", t1 - t0);
    snprintf(path, sizeof(path), "%s/bench.conf", dir);
    t0 = now();
    struct config *c = config_load(path, d);
    t1 = now();
    if (c == NULL) {
        printf("config_load failed: %zu errors, first: %s\n", diag_count(d, DIAG_ERROR),
               diag_size(d) ? diag_text(d, 0) : "?");
    } else {
        printf("config_load (libconfuse parse + table + validate), %zu entries: %.3f s\n",
               table_entry_count(c->table), t1 - t0);
        config_free(c);
    }
out:
    snprintf(path, sizeof(path), "%s/bench.conf", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/virtual", dir);
    unlink(path);
    rmdir(dir);
    diag_free(d);
}

/*
 * Dependent-load latency: ns per load of a pointer chase through one random
 * cycle (Sattolo) over mib MiB, so every load waits for the previous one
 * and almost every load misses the caches (and the TLB, as a table lookup
 * does).  With huge, the buffer asks for transparent huge pages, which
 * shows how much of that latency is page walks.  Returns -1 when the
 * buffer cannot be allocated.
 */
static size_t *chase_new(size_t mib, int huge, size_t *np)
{
    size_t n = mib * 1048576 / sizeof(size_t), i;
    size_t *next = aligned_alloc(2097152, n * sizeof(*next));
    unsigned long long x = 0x9E3779B97F4A7C15ull;

    if (next == NULL || n < 2) {
        free(next);
        return NULL;
    }
    /* advice only: without THP the measurement is simply the 4 KiB one */
    (void)madvise(next, n * sizeof(*next), huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
    for (i = 0; i < n; i++)
        next[i] = i;
    for (i = n - 1; i > 0; i--) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t k = (size_t)(x % i), tmp = next[i];
        next[i] = next[k], next[k] = tmp;
    }
    *np = n;
    return next;
}

static double chase_run(const size_t *next, long steps)
{
    size_t j = 0;
    double t0, t1;

    for (long s = 0; s < steps / 10; s++) /* warm up the page tables */
        j = next[j];
    t0 = now();
    for (long s = 0; s < steps; s++)
        j = next[j];
    t1 = now();
    /* j depends on every load; printing nothing of it would let the
     * compiler drop the loop. */
    if (j == (size_t)-1)
        fprintf(stderr, "impossible\n");
    return (t1 - t0) * 1e9 / (double)steps;
}

static double chase_ns(size_t mib, long steps, int huge)
{
    size_t n;
    size_t *next = chase_new(mib, huge, &n);
    double ns = next != NULL ? chase_run(next, steps) : -1;

    free(next);
    return ns;
}

int main(int argc, char **argv)
{
    long naddr = 1000000, ndomains = 1000;
    int reps = 7, opt, with_config = 1, nq = 200000, machine = 0;
    long chase_mib = 256;
    struct table_builder *b = NULL;
    size_t text;
    double t0, t1, t2;

    while ((opt = getopt(argc, argv, "n:d:r:sCmP:")) != -1) {
        switch (opt) {
        case 'n':
            naddr = atol(optarg);
            break;
        case 'd':
            ndomains = atol(optarg);
            break;
        case 'r':
            reps = atoi(optarg);
            break;
        case 's':
            naddr = 20000, ndomains = 100, reps = 3, nq = 20000;
            break;
        case 'C':
            with_config = 0;
            break;
        case 'm':
            machine = 1;
            break;
        case 'P':
            chase_mib = atol(optarg);
            break;
        default:
            fprintf(stderr,
                    "usage: %s [-n addresses] [-d domains] [-r reps] [-s] [-C] [-m] [-P mib]\n",
                    argv[0]);
            return 2;
        }
    }
    if (naddr < 100 || ndomains < NALIASDOMAINS || reps < 1) {
        fprintf(stderr, "need -n >= 100, -d >= %d, -r >= 1\n", NALIASDOMAINS);
        return 2;
    }
    long rss0 = peak_rss_kib();
    t0 = now();
    struct table *t = build(naddr, ndomains, &text, &b);
    t1 = now();
    if (t == NULL) {
        fprintf(stderr, "build failed\n");
        return 1;
    }
    struct diag *d = diag_new();
    int errors = validate_table(t, b, d);
    t2 = now();
    long rss1 = peak_rss_kib();
    size_t n = table_entry_count(t), mem = table_memory(t);
    printf("table: %zu entries, %zu domains\n", n, table_domain_count(t));
    printf("build %.3f s + validate %.3f s = %.3f s (validation errors: %d)\n", t1 - t0, t2 - t1,
           t2 - t0, errors);
    printf("peak RSS %.1f MiB (%.1f MiB before build); table %.1f MiB\n", rss1 / 1024.0,
           rss0 / 1024.0, (double)mem / 1048576.0);
    printf("bytes per address: %.1f total, %.1f beyond the address text\n", (double)mem / n,
           (double)(mem - text) / n);
    if (machine)
        printf("M entries %zu\nM build_s %.4f\nM validate_s %.4f\nM load_s %.4f\n"
               "M peak_rss_kib %ld\nM rss_before_kib %ld\nM table_bytes %zu\n"
               "M bytes_per_addr %.1f\nM bytes_per_addr_beyond_text %.1f\n",
               n, t1 - t0, t2 - t1, t2 - t0, rss1, rss0, mem, (double)mem / n,
               (double)(mem - text) / n);
    diag_free(d);
    table_builder_free(b);

    struct query *q = make_queries(nq, naddr, ndomains);
    double *all = calloc((size_t)reps, sizeof(double));
    double *per = calloc((size_t)reps * NQ, sizeof(double));
    long counts[NQ] = {0}, actions[NQ][5] = {{0}};
    struct policy_result r;
    policy_result_init(&r);
    for (int i = 0; i < nq; i++) {
        counts[q[i].kind]++;
        actions[q[i].kind][policy_resolve(t, q[i].text, strlen(q[i].text), &r)]++;
    }
    /* A figure is only worth its name when every query of a kind was
     * decided as that kind must be: a broken lookup that answers fast
     * would otherwise look like a speed-up. */
    int wrong = 0;
    for (int k = 0; k < NQ; k++)
        if (counts[k] > 0 && actions[k][qexpected[k]] != counts[k]) {
            fprintf(stderr, "bench_resolve: %s: %ld of %ld queries decided otherwise than %s\n",
                    qnames[k], counts[k] - actions[k][qexpected[k]], counts[k],
                    policy_action_name(qexpected[k]));
            wrong = 1;
        }
    /* The baseline measured beside each repetition, so that a ratio
     * compares two figures of the same moment on a shared machine. */
    size_t chase_n = 0;
    size_t *chase = chase_mib > 0 ? chase_new((size_t)chase_mib, 0, &chase_n) : NULL;
    double *rep_chase = calloc((size_t)reps, sizeof(double));
    double *ratio = calloc((size_t)reps * NQ, sizeof(double));
    for (int rep = 0; rep < reps; rep++) {
        double kind_time[NQ] = {0};
        if (chase != NULL)
            rep_chase[rep] = chase_run(chase, 2000000);
        double start = now();
        for (int i = 0; i < nq; i++) {
            policy_resolve(t, q[i].text, strlen(q[i].text), &r);
        }
        all[rep] = (now() - start) * 1e9 / nq;
        /* per kind: time each kind's queries as a separate pass */
        for (int k = 0; k < NQ; k++) {
            double s = now();
            for (int i = 0; i < nq; i++)
                if (q[i].kind == k)
                    policy_resolve(t, q[i].text, strlen(q[i].text), &r);
            kind_time[k] = (now() - s) * 1e9 / (double)counts[k];
            per[k * reps + rep] = kind_time[k];
            if (chase != NULL)
                ratio[k * reps + rep] = kind_time[k] / rep_chase[rep];
        }
    }
    free(chase);
    printf("policy_resolve, %d queries x %d repetitions: median %.1f ns per recipient\n", nq, reps,
           median(all, reps));
    if (machine)
        printf("M resolve_mix_ns %.1f\n", median(all, reps));
    for (int k = 0; k < NQ; k++) {
        if (machine)
            printf("M resolve_ns.%s %.1f\n", qnames[k], median(per + k * reps, reps));
        printf("  %-14s median %6.1f ns  (%ld queries; keep %ld rewrite %ld reject %ld "
               "tempfail %ld pass %ld)\n",
               qnames[k], median(per + k * reps, reps), counts[k], actions[k][POLICY_KEEP],
               actions[k][POLICY_REWRITE], actions[k][POLICY_REJECT], actions[k][POLICY_TEMPFAIL],
               actions[k][POLICY_PASS]);
    }
    if (chase_n > 0) {
        printf("per repetition, / the dependent load measured just before it (median %.1f ns):\n",
               median(rep_chase, reps));
        if (machine)
            printf("M rep_chase_ns %.1f\n", median(rep_chase, reps));
        for (int k = 0; k < NQ; k++) {
            double m = median(ratio + k * reps, reps);
            qsort(ratio + k * reps, (size_t)reps, sizeof(double), cmp_double);
            printf("  %-14s %.2f (min %.2f, max %.2f)\n", qnames[k], m, ratio[k * reps],
                   ratio[k * reps + reps - 1]);
            if (machine)
                printf("M rep_ratio.%s %.3f\n", qnames[k], m);
        }
    }
    free(rep_chase);
    free(ratio);
    policy_result_free(&r);
    free(all);
    free(per);
    free(q);
    table_unref(t);
    if (with_config)
        bench_config_load(naddr, ndomains);
    if (chase_mib > 0) {
        double ns = chase_ns((size_t)chase_mib, 20000000, 0);
        double huge = chase_ns((size_t)chase_mib, 20000000, 1);
        printf("dependent-load latency (pointer chase over %ld MiB): %.1f ns with 4 KiB pages, "
               "%.1f ns with transparent huge pages\n",
               chase_mib, ns, huge);
        if (machine)
            printf("M chase_huge_ns %.1f\n", huge);
        if (machine)
            printf("M chase_mib %ld\nM chase_ns %.1f\n", chase_mib, ns);
    }
    return wrong;
}
