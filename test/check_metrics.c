/*
 * check_metrics.c - unit tests of the counters and sources' state
 * (metrics.c), the `metrics` address syntax (metrics_addr.c) and the
 * Prometheus text (metrics_render.c).
 *
 * The counters are process-wide and only grow, so each test looks at
 * differences (valgrind runs every test in one process).  The renderer's
 * whole output for a full view is compared with test/data/metrics/
 * sample.prom, which the `metrics-promtool` test hands to `promtool check
 * metrics`: what is checked there is exactly what the renderer writes.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_cases.h"
#include "metrics.h"
#include "metrics_addr.h"
#include "metrics_render.h"
#include "util.h"

/* ------------------------------------------------------------------ */
/* counters */

START_TEST(test_counters_count)
{
    struct metrics_counters a, b;

    metrics_counters_read(&a);
    metrics_recipient(POLICY_KEEP, RULE_EXACT);
    metrics_recipient(POLICY_KEEP, RULE_EXACT);
    metrics_recipient(POLICY_REJECT, RULE_UNKNOWN);
    metrics_recipient(POLICY_PASS, RULE_BAD_SYNTAX); /* the last slot */
    metrics_message();
    metrics_rewrites(3);
    metrics_edit(METRICS_EDIT_ADD);
    metrics_edit(METRICS_EDIT_DELETE);
    metrics_edit(METRICS_EDIT_DELETE);
    metrics_tempfail(METRICS_TEMPFAIL_EDIT);
    metrics_reload(METRICS_RELOAD_FAILURE);
    metrics_counters_read(&b);
    ck_assert(b.last_reload_failed);
    ck_assert_uint_eq(b.recipients[POLICY_KEEP][RULE_EXACT] - a.recipients[POLICY_KEEP][RULE_EXACT],
                      2);
    ck_assert_uint_eq(
        b.recipients[POLICY_REJECT][RULE_UNKNOWN] - a.recipients[POLICY_REJECT][RULE_UNKNOWN], 1);
    ck_assert_uint_eq(
        b.recipients[POLICY_PASS][RULE_BAD_SYNTAX] - a.recipients[POLICY_PASS][RULE_BAD_SYNTAX], 1);
    ck_assert_uint_eq(b.recipients[POLICY_REWRITE][RULE_EXACT],
                      a.recipients[POLICY_REWRITE][RULE_EXACT]);
    ck_assert_uint_eq(b.messages - a.messages, 1);
    ck_assert_uint_eq(b.rewrites - a.rewrites, 3);
    ck_assert_uint_eq(b.edits[METRICS_EDIT_ADD] - a.edits[METRICS_EDIT_ADD], 1);
    ck_assert_uint_eq(b.edits[METRICS_EDIT_DELETE] - a.edits[METRICS_EDIT_DELETE], 2);
    ck_assert_uint_eq(b.tempfails[METRICS_TEMPFAIL_EDIT] - a.tempfails[METRICS_TEMPFAIL_EDIT], 1);
    ck_assert_uint_eq(b.tempfails[METRICS_TEMPFAIL_POLICY], a.tempfails[METRICS_TEMPFAIL_POLICY]);
    ck_assert_uint_eq(b.reloads[METRICS_RELOAD_FAILURE] - a.reloads[METRICS_RELOAD_FAILURE], 1);
    ck_assert_uint_eq(b.reloads[METRICS_RELOAD_SUCCESS], a.reloads[METRICS_RELOAD_SUCCESS]);
    metrics_reload(METRICS_RELOAD_SUCCESS);
    metrics_counters_read(&b);
    ck_assert(!b.last_reload_failed);
}
END_TEST

/* Values outside an enumeration count nothing and touch no neighbour. */
START_TEST(test_counters_out_of_range)
{
    struct metrics_counters a, b;

    metrics_counters_read(&a);
    metrics_recipient((enum policy_action)POLICY_ACTION_COUNT, RULE_EXACT);
    metrics_recipient(POLICY_KEEP, (enum policy_rule)POLICY_RULE_COUNT);
    metrics_recipient((enum policy_action) - 1, (enum policy_rule) - 1);
    metrics_edit(METRICS_EDIT_COUNT);
    metrics_tempfail(METRICS_TEMPFAIL_COUNT);
    metrics_reload(METRICS_RELOAD_COUNT);
    metrics_counters_read(&b);
    ck_assert_mem_eq(&a, &b, sizeof(a));
}
END_TEST

#define THREADS 8
#define PER_THREAD 100000

static void *count_many(void *arg)
{
    (void)arg;
    for (int i = 0; i < PER_THREAD; i++) {
        metrics_recipient(POLICY_REWRITE, RULE_ALIAS_DOMAIN);
        metrics_edit(METRICS_EDIT_ADD);
    }
    return NULL;
}

/* Threads counting at once lose nothing (more threads than cores, some
 * sharing a stripe). */
START_TEST(test_counters_threads)
{
    struct metrics_counters a, b;
    pthread_t t[THREADS];

    metrics_counters_read(&a);
    for (int i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, count_many, NULL), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    metrics_counters_read(&b);
    ck_assert_uint_eq(b.recipients[POLICY_REWRITE][RULE_ALIAS_DOMAIN] -
                          a.recipients[POLICY_REWRITE][RULE_ALIAS_DOMAIN],
                      (uint64_t)THREADS * PER_THREAD);
    ck_assert_uint_eq(b.edits[METRICS_EDIT_ADD] - a.edits[METRICS_EDIT_ADD],
                      (uint64_t)THREADS * PER_THREAD);
}
END_TEST

START_TEST(test_names)
{
    ck_assert_str_eq(metrics_edit_name(METRICS_EDIT_ADD), "addrcpt");
    ck_assert_str_eq(metrics_edit_name(METRICS_EDIT_DELETE), "delrcpt");
    ck_assert_str_eq(metrics_edit_name(METRICS_EDIT_COUNT), "?");
    ck_assert_str_eq(metrics_tempfail_name(METRICS_TEMPFAIL_POLICY), "policy");
    ck_assert_str_eq(metrics_tempfail_name(METRICS_TEMPFAIL_EDIT), "edit_refused");
    ck_assert_str_eq(metrics_tempfail_name(METRICS_TEMPFAIL_COUNT), "?");
    ck_assert_str_eq(metrics_reload_name(METRICS_RELOAD_SUCCESS), "success");
    ck_assert_str_eq(metrics_reload_name(METRICS_RELOAD_FAILURE), "failure");
    ck_assert_str_eq(metrics_reload_name(METRICS_RELOAD_COUNT), "?");
}
END_TEST

/* ------------------------------------------------------------------ */
/* sources */

START_TEST(test_source_states)
{
    struct metrics_source s;
    double t0 = metrics_now();

    metrics_sources_clear();
    ck_assert(!metrics_source_get("dir", &s));
    ck_assert(!s.up);
    ck_assert(s.last_ok == 0 && s.last_error == 0 && s.entries == 0);
    metrics_source_read("dir", true, 42);
    ck_assert(metrics_source_get("dir", &s));
    ck_assert(s.up);
    ck_assert_uint_eq(s.entries, 42);
    ck_assert(s.last_ok >= t0 && s.last_ok <= metrics_now());
    ck_assert(s.last_error == 0);
    /* a failure keeps the last good read's time and records */
    metrics_source_read("dir", false, 0);
    ck_assert(metrics_source_get("dir", &s));
    ck_assert(!s.up);
    ck_assert_uint_eq(s.entries, 42);
    ck_assert(s.last_ok >= t0 && s.last_error >= s.last_ok);
    /* titles are exact, not prefixes */
    ck_assert(!metrics_source_get("di", &s));
    ck_assert(!metrics_source_get("dir2", &s));
    metrics_source_read("dir", true, 7);
    ck_assert(metrics_source_get("dir", &s));
    ck_assert(s.up);
    ck_assert_uint_eq(s.entries, 7);
    metrics_sources_clear();
    ck_assert(!metrics_source_get("dir", &s));
}
END_TEST

/* Past METRICS_MAX_SOURCES titles, the one read longest ago goes. */
START_TEST(test_source_bound)
{
    struct metrics_source s;
    char title[32];

    metrics_sources_clear();
    for (int i = 0; i < METRICS_MAX_SOURCES; i++) {
        snprintf(title, sizeof(title), "s%d", i);
        metrics_source_read(title, true, (size_t)i);
    }
    metrics_source_read("s0", true, 1000); /* s0 is now the newest; s1 the oldest */
    metrics_source_read("one-more", false, 0);
    ck_assert(metrics_source_get("one-more", &s));
    ck_assert(!s.up);
    ck_assert(!metrics_source_get("s1", &s));
    ck_assert(metrics_source_get("s0", &s));
    ck_assert_uint_eq(s.entries, 1000);
    snprintf(title, sizeof(title), "s%d", METRICS_MAX_SOURCES - 1);
    ck_assert(metrics_source_get(title, &s));
    metrics_sources_clear();
}
END_TEST

/* ------------------------------------------------------------------ */
/* the `metrics` address */

static const struct {
    const char *spec;
    enum metrics_addr_kind kind;
    const char *host_or_path;
    unsigned port;
} good_addrs[] = {
    {"127.0.0.1:9487", METRICS_ADDR_INET, "127.0.0.1", 9487},
    {"0.0.0.0:1", METRICS_ADDR_INET, "0.0.0.0", 1},
    {"[::1]:65535", METRICS_ADDR_INET6, "::1", 65535},
    {"[2001:db8::1]:80", METRICS_ADDR_INET6, "2001:db8::1", 80},
    {"127.0.0.1:09487", METRICS_ADDR_INET, "127.0.0.1", 9487},
    {"unix:/run/m.sock", METRICS_ADDR_UNIX, "/run/m.sock", 0},
    /* the longest path a sockaddr_un holds: '/' and 106 more */
    {"unix:/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaa",
     METRICS_ADDR_UNIX, NULL, 0},
};

START_TEST(test_addr_good)
{
    struct metrics_addr a;
    const char *why = metrics_addr_parse(good_addrs[_i].spec, &a);

    ck_assert_msg(why == NULL, "%s: %s", good_addrs[_i].spec, why);
    ck_assert_int_eq(a.kind, good_addrs[_i].kind);
    if (a.kind == METRICS_ADDR_UNIX) {
        ck_assert_str_eq(a.path, good_addrs[_i].spec + 5);
        ck_assert_uint_le(strlen(a.path), METRICS_ADDR_PATH_MAX);
    } else {
        ck_assert_str_eq(a.host, good_addrs[_i].host_or_path);
        ck_assert_uint_eq(a.port, good_addrs[_i].port);
    }
}
END_TEST

static const struct {
    const char *spec, *why;
} bad_addrs[] = {
    {"", "expected IPV4:PORT, [IPV6]:PORT or unix:/PATH"},
    {"9487", "expected IPV4:PORT, [IPV6]:PORT or unix:/PATH"},
    {":9487", "expected IPV4:PORT, [IPV6]:PORT or unix:/PATH"},
    {"localhost:9487", "not a numeric IPv4 address (a host name is not taken)"},
    {"127.0.0.1:0", "the port must be a number from 1 to 65535"},
    {"127.0.0.1:65536", "the port must be a number from 1 to 65535"},
    {"127.0.0.1:4294967297", "the port must be a number from 1 to 65535"},
    {"127.0.0.1:-1", "the port must be a number from 1 to 65535"},
    {"127.0.0.1: 80", "the port must be a number from 1 to 65535"},
    {"127.0.0.1:80 ", "the port must be a number from 1 to 65535"},
    {"127.0.0.1:http", "the port must be a number from 1 to 65535"},
    {"127.0.0.1", "expected IPV4:PORT, [IPV6]:PORT or unix:/PATH"},
    {"127.1:80", "not a numeric IPv4 address (a host name is not taken)"},
    {"::1:9487", "an IPv6 address goes in brackets: [IPV6]:PORT"},
    {"[::1]", "expected IPV4:PORT, [IPV6]:PORT or unix:/PATH"},
    {"[::1]:", "the port must be a number from 1 to 65535"},
    {"[]:80", "expected IPV4:PORT, [IPV6]:PORT or unix:/PATH"},
    {"[::g]:80", "not a numeric IPv6 address"},
    {"[0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000]:80", "not a numeric IPv6 address"},
    {"[127.0.0.1]:80", "not a numeric IPv6 address"},
    {"unix:", "the unix socket path must be absolute"},
    {"unix:m.sock", "the unix socket path must be absolute"},
    {"unix:/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaa",
     "the unix socket path is longer than 107 bytes"},
    {"inet:9487@127.0.0.1", "not a numeric IPv4 address (a host name is not taken)"},
    {"http://127.0.0.1:9487/metrics", "expected IPV4:PORT, [IPV6]:PORT or unix:/PATH"},
};

START_TEST(test_addr_bad)
{
    struct metrics_addr a;
    const char *why = metrics_addr_parse(bad_addrs[_i].spec, &a);

    ck_assert_msg(why != NULL, "accepted: %s", bad_addrs[_i].spec);
    ck_assert_str_eq(why, bad_addrs[_i].why);
}
END_TEST

/* ------------------------------------------------------------------ */
/* the text */

static char *render(const struct metrics_view *v)
{
    struct util_buf b = {0};

    ck_assert_int_eq(metrics_render(v, &b), 0);
    return b.p;
}

static char *read_data(const char *name)
{
    char path[512], *text = NULL;
    size_t len;
    const char *what;

    snprintf(path, sizeof(path), "%s/metrics/%s", TEST_DATA_DIR, name);
    ck_assert_msg(util_read_file(path, &text, &len, &what) == 0, "%s: %s", path, what);
    return text;
}

/* Every family and label with values: the whole text, byte for byte. */
START_TEST(test_render_sample)
{
    struct metrics_view_source srcs[] = {
        {"directory", {true, 1796660000.25, 0, 1234}},
        {"postfixadmin", {false, 1796650000, 1796660100.5, 99}},
        {"never-read", {false, 0, 1796660000, 0}},
    };
    struct metrics_view v = {
        .live = true,
        .domains = 12,
        .mailboxes = 340,
        .secondaries = 56,
        .aliases = 78,
        .loaded_at = 1796660000,
        .sources = srcs,
        .nsources = 3,
        .start_time = 1796659000.5,
        .version = "0.1.0",
    };
    char *got, *want = read_data("sample.prom");

    v.counters.recipients[POLICY_KEEP][RULE_EXACT] = 1000;
    v.counters.recipients[POLICY_KEEP][RULE_BARE_POSTMASTER] = 1;
    v.counters.recipients[POLICY_REWRITE][RULE_EXACT] = 20;
    v.counters.recipients[POLICY_REWRITE][RULE_CATCH_ALL] = 3;
    v.counters.recipients[POLICY_REJECT][RULE_UNKNOWN] = 300;
    v.counters.recipients[POLICY_REJECT][RULE_BAD_SYNTAX] = 4;
    v.counters.recipients[POLICY_TEMPFAIL][RULE_LIMIT] = 2;
    v.counters.recipients[POLICY_PASS][RULE_NOT_HOSTED] = UINT64_MAX;
    v.counters.messages = 900;
    v.counters.rewrites = 22;
    v.counters.edits[METRICS_EDIT_ADD] = 30;
    v.counters.edits[METRICS_EDIT_DELETE] = 21;
    v.counters.tempfails[METRICS_TEMPFAIL_POLICY] = 2;
    v.counters.tempfails[METRICS_TEMPFAIL_NO_CONFIG] = 1;
    v.counters.reloads[METRICS_RELOAD_SUCCESS] = 5;
    v.counters.reloads[METRICS_RELOAD_FAILURE] = 1;
    v.counters.last_reload_failed = true;
    got = render(&v);
    ck_assert_str_eq(got, want);
    free(got);
    free(want);
}
END_TEST

/* Nothing live, no source: no table or source family; recipients only
 * once counted; the other counters' series all present at 0. */
START_TEST(test_render_empty)
{
    struct metrics_view v = {.start_time = 1, .version = "x"};
    char *got = render(&v);

    ck_assert_ptr_null(strstr(got, "hosted_milter_table_"));
    ck_assert_ptr_null(strstr(got, "hosted_milter_source_"));
    ck_assert_ptr_nonnull(strstr(got, "# TYPE hosted_milter_recipients_total counter\n# HELP "
                                      "hosted_milter_messages_total"));
    ck_assert_ptr_nonnull(strstr(got, "\nhosted_milter_messages_total 0\n"));
    ck_assert_ptr_nonnull(strstr(got, "\nhosted_milter_tempfails_total{cause=\"no_config\"} 0\n"));
    ck_assert_ptr_nonnull(strstr(got, "\nhosted_milter_reloads_total{result=\"failure\"} 0\n"));
    ck_assert_ptr_nonnull(strstr(got, "\nhosted_milter_last_reload_successful 1\n"));
    ck_assert_ptr_nonnull(strstr(got, "\nhosted_milter_edits_total{call=\"delrcpt\"} 0\n"));
    ck_assert_ptr_nonnull(strstr(got, "\nprocess_start_time_seconds 1.000\n"));
    ck_assert_ptr_nonnull(strstr(got, "\nhosted_milter_build_info{version=\"x\"} 1\n"));
    free(got);
}
END_TEST

/* Label values are quoted as the format says, whatever they hold. */
START_TEST(test_render_label_escapes)
{
    struct metrics_view_source srcs[] = {{"a\"b\\c\nd", {true, 0, 0, 1}}};
    struct metrics_view v = {.live = true, .sources = srcs, .nsources = 1, .version = "1\"\\\n"};
    char *got = render(&v);

    ck_assert_ptr_nonnull(strstr(got, "\nhosted_milter_source_up{source=\"a\\\"b\\\\c\\nd\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(got, "\nhosted_milter_build_info{version=\"1\\\"\\\\\\n\"} 1\n"));
    free(got);
}
END_TEST

/* The text goes after what the buffer held. */
START_TEST(test_render_appends)
{
    struct metrics_view v = {.version = "x"};
    struct util_buf b = {0};

    ck_assert_int_eq(util_buf_append(&b, "head\n", 5), 0);
    ck_assert_int_eq(metrics_render(&v, &b), 0);
    ck_assert_int_eq(strncmp(b.p, "head\n# HELP hosted_milter_recipients_total ", 43), 0);
    ck_assert_uint_eq(strlen(b.p), b.len);
    util_buf_free(&b);
}
END_TEST

static Suite *metrics_suite(void)
{
    Suite *s = suite_create("metrics");
    const struct check_case cases[] = {
        {"counters_count", test_counters_count, 0},
        {"counters_out_of_range", test_counters_out_of_range, 0},
        {"counters_threads", test_counters_threads, 0},
        {"names", test_names, 0},
        {"source_states", test_source_states, 0},
        {"source_bound", test_source_bound, 0},
        {"addr_good", test_addr_good, sizeof(good_addrs) / sizeof(good_addrs[0])},
        {"addr_bad", test_addr_bad, sizeof(bad_addrs) / sizeof(bad_addrs[0])},
        {"render_sample", test_render_sample, 0},
        {"render_empty", test_render_empty, 0},
        {"render_label_escapes", test_render_label_escapes, 0},
        {"render_appends", test_render_appends, 0},
    };

    check_add_cases(s, cases, sizeof cases / sizeof cases[0], NULL, NULL, 0);
    return s;
}

int main(void)
{
    return check_run(metrics_suite());
}
