/*
 * check_live.c - unit tests of live.c: installing, acquiring and releasing
 * the live configuration, and the swap (a replaced configuration is freed
 * after its last reference, not before, and by live_reap or live_install --
 * the reload thread -- never by the release that drops it).
 *
 * Each test runs in its own process (check forks), so each starts with
 * nothing live.  When a configuration is freed live_reap logs it at
 * debug; the fixture sends the log to a temporary file, and freed() reads
 * it to see which configurations are gone.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "diag.h"
#include "live.h"
#include "log.h"
#include "table.h"

static char log_path[64];
static int saved_stderr = -1;

static void setup(void)
{
    int fd;

    snprintf(log_path, sizeof log_path, "/tmp/check_live.XXXXXX");
    fd = mkstemp(log_path);

    ck_assert_int_ge(fd, 0);
    saved_stderr = dup(STDERR_FILENO);
    ck_assert_int_ge(saved_stderr, 0);
    fflush(stderr);
    ck_assert_int_ge(dup2(fd, STDERR_FILENO), 0);
    close(fd);
    log_open("check_live", true, LOG_LEVEL_DEBUG);
}

static void teardown(void)
{
    /* nothing live for the next test (CK_FORK=no, as under valgrind, runs
     * them all in this one process) */
    live_install(NULL);
    live_reap();
    log_close();
    fflush(stderr);
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    unlink(log_path);
}

/* freed - whether the configuration called name has been freed (its
 * "freeing configuration" line is in the log). */
static bool freed(const char *name)
{
    static char text[65536];
    char line[256];
    FILE *f;
    size_t n;

    fflush(stderr);
    f = fopen(log_path, "r");
    ck_assert_ptr_nonnull(f);
    n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    snprintf(line, sizeof line, "freeing configuration %s: ", name);
    return strstr(text, line) != NULL;
}

/* config_named - a small valid configuration (one hosted domain) whose
 * path is name. */
static struct config *config_named(const char *name)
{
    static const char text[] = "postmaster = \"pm@a.example\"\n"
                               "domain \"a.example\" { }\n"
                               "mailbox \"pm@a.example\" { }\n";
    struct diag *d = diag_new();
    struct config *c;

    ck_assert_ptr_nonnull(d);
    c = config_load_buffer(name, text, sizeof text - 1, d);
    ck_assert_ptr_nonnull(c);
    diag_free(d);
    return c;
}

START_TEST(test_nothing_live)
{
    ck_assert_ptr_null(live_acquire());
    live_release(NULL); /* safe */
    ck_assert_int_eq(live_install(NULL), 0);
    ck_assert_ptr_null(live_acquire());
}
END_TEST

START_TEST(test_install_acquire_release)
{
    struct live_ref *r1, *r2;

    ck_assert_int_eq(live_install(config_named("a.conf")), 0);
    r1 = live_acquire();
    r2 = live_acquire();
    ck_assert_ptr_nonnull(r1);
    ck_assert_ptr_eq(r1, r2); /* one reference counted twice */
    ck_assert_str_eq(live_get(r1)->path, "a.conf");
    live_release(r1);
    live_release(r2);
    /* the live pointer's own reference keeps it */
    ck_assert(!freed("a.conf"));
    r1 = live_acquire();
    ck_assert_ptr_nonnull(r1);
    ck_assert_str_eq(live_get(r1)->path, "a.conf");
    live_release(r1);
}
END_TEST

START_TEST(test_swap_unheld_frees_now)
{
    struct live_ref *r;

    ck_assert_int_eq(live_install(config_named("a.conf")), 0);
    ck_assert_int_eq(live_install(config_named("b.conf")), 0);
    ck_assert(freed("a.conf"));
    r = live_acquire();
    ck_assert_str_eq(live_get(r)->path, "b.conf");
    live_release(r);
    ck_assert(!freed("b.conf"));
}
END_TEST

START_TEST(test_swap_held_frees_with_last)
{
    struct live_ref *a1, *a2, *b;
    const struct config *old;

    ck_assert_int_eq(live_install(config_named("a.conf")), 0);
    a1 = live_acquire();
    a2 = live_acquire();
    ck_assert_int_eq(live_install(config_named("b.conf")), 0);
    /* new messages see b; the held ones keep a, whole and usable */
    b = live_acquire();
    ck_assert_str_eq(live_get(b)->path, "b.conf");
    old = live_get(a1);
    ck_assert_str_eq(old->path, "a.conf");
    ck_assert_uint_eq(table_domain_count(old->table), 1);
    ck_assert(!freed("a.conf"));
    live_release(a1);
    ck_assert(!freed("a.conf"));
    ck_assert_uint_eq(live_reap(), 0); /* a2 still holds it */
    ck_assert(!freed("a.conf"));
    ck_assert_uint_eq(live_pending(), 1);
    live_release(a2);
    /* the last release only queues it: the freeing is live_reap's */
    ck_assert(!freed("a.conf"));
    ck_assert_uint_eq(live_pending(), 1);
    ck_assert_uint_eq(live_reap(), 1);
    ck_assert(freed("a.conf"));
    ck_assert_uint_eq(live_pending(), 0);
    ck_assert_uint_eq(live_reap(), 0);
    live_release(b);
    ck_assert(!freed("b.conf"));
}
END_TEST

START_TEST(test_install_null_clears)
{
    struct live_ref *a;

    ck_assert_int_eq(live_install(config_named("a.conf")), 0);
    a = live_acquire();
    ck_assert_int_eq(live_install(NULL), 0);
    ck_assert_ptr_null(live_acquire());
    ck_assert_str_eq(live_get(a)->path, "a.conf");
    ck_assert(!freed("a.conf"));
    live_release(a);
    ck_assert(!freed("a.conf"));
    ck_assert_uint_eq(live_reap(), 1);
    ck_assert(freed("a.conf"));
}
END_TEST

/* ---- the last release on a message's thread frees nothing there */

static void *release_on_thread(void *arg)
{
    live_release(arg);
    return NULL;
}

START_TEST(test_last_release_off_thread)
{
    struct live_ref *a[3];
    pthread_t t[3];

    ck_assert_int_eq(live_install(config_named("a.conf")), 0);
    for (int i = 0; i < 3; i++)
        a[i] = live_acquire();
    ck_assert_int_eq(live_install(config_named("b.conf")), 0);
    ck_assert_uint_eq(live_pending(), 1);
    /* three "messages" finish on their own threads, concurrently */
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, release_on_thread, a[i]), 0);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(pthread_join(t[i], NULL), 0);
    ck_assert(!freed("a.conf"));
    ck_assert_uint_eq(live_pending(), 1);
    /* the next install reaps what is queued, too */
    ck_assert_int_eq(live_install(config_named("c.conf")), 0);
    ck_assert(freed("a.conf"));
    ck_assert(freed("b.conf")); /* unheld: freed by the install itself */
    ck_assert(!freed("c.conf"));
    ck_assert_uint_eq(live_pending(), 0);
}
END_TEST

/* ---- many holders while the configuration is swapped (run under ASan) */

#define READERS 4
#define SWAPS 40

static atomic_bool stop_readers;

static void *reader(void *arg)
{
    unsigned long n = 0;

    (void)arg;
    while (!atomic_load(&stop_readers) || n == 0) {
        struct live_ref *r = live_acquire();
        if (r == NULL)
            continue;
        /* what a message reads: the path and the table, valid until release */
        if (live_get(r)->path[0] != 's' || table_domain_count(live_get(r)->table) != 1)
            abort();
        live_release(r);
        n++;
    }
    return NULL;
}

START_TEST(test_swaps_under_readers)
{
    pthread_t threads[READERS];
    char name[32];

    for (int i = 0; i < READERS; i++)
        ck_assert_int_eq(pthread_create(&threads[i], NULL, reader, NULL), 0);
    for (int i = 0; i < SWAPS; i++) {
        snprintf(name, sizeof name, "swap%d.conf", i);
        ck_assert_int_eq(live_install(config_named(name)), 0);
    }
    atomic_store(&stop_readers, true);
    for (int i = 0; i < READERS; i++)
        ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
    ck_assert_int_eq(live_install(NULL), 0);
    ck_assert_uint_eq(live_pending(), 0);
    for (int i = 0; i < SWAPS; i++) {
        snprintf(name, sizeof name, "swap%d.conf", i);
        ck_assert_msg(freed(name), "%s not freed", name);
    }
}
END_TEST

static Suite *live_suite(void)
{
    Suite *s = suite_create("live");
    struct {
        const char *name;
        const TTest *test;
    } cases[] = {
        {"nothing_live", test_nothing_live},
        {"install_acquire_release", test_install_acquire_release},
        {"swap_unheld_frees_now", test_swap_unheld_frees_now},
        {"swap_held_frees_with_last", test_swap_held_frees_with_last},
        {"install_null_clears", test_install_null_clears},
        {"last_release_off_thread", test_last_release_off_thread},
        {"swaps_under_readers", test_swaps_under_readers},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TCase *tc = tcase_create(cases[i].name);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, cases[i].test);
        suite_add_tcase(s, tc);
    }
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(live_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
