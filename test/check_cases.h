/*
 * check_cases.h - what the table-driven unit tests share: a row per test
 * case (name, test, loop rows) made into check's test cases with one
 * fixture and time limit, and the runner's main.  Header-only: each
 * check_*.c is its own program.
 */
#ifndef HOSTED_MILTER_CHECK_CASES_H
#define HOSTED_MILTER_CHECK_CASES_H

#include <check.h>
#include <stddef.h>
#include <stdlib.h>

struct check_case {
    const char *name;
    const TTest *test;
    int loop; /* rows of a table the test loops over, or 0 */
};

/*
 * check_add_cases - a test case in s for each of the n rows: a loop test
 * over its rows or a plain test, with the checked fixture setup/teardown
 * (both NULL: none) and timeout seconds (0: check's default).
 */
static inline void check_add_cases(Suite *s, const struct check_case *cases, size_t n, SFun setup,
                                   SFun teardown, double timeout)
{
    for (size_t i = 0; i < n; i++) {
        TCase *tc = tcase_create(cases[i].name);
        if (setup != NULL || teardown != NULL)
            tcase_add_checked_fixture(tc, setup, teardown);
        if (timeout > 0)
            tcase_set_timeout(tc, timeout);
        if (cases[i].loop > 0)
            tcase_add_loop_test(tc, cases[i].test, 0, cases[i].loop);
        else
            tcase_add_test(tc, cases[i].test);
        suite_add_tcase(s, tc);
    }
}

/* check_run - runs s; the exit status of a test program. */
static inline int check_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
