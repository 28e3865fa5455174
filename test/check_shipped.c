/*
 * check_shipped.c - the shipped files agree with each other: the socket of
 * etc/hosted-milter.conf is where contrib/postfix/main.cf.snippet's active
 * smtpd_milters line points, for Debian's chrooted Postfix.
 *
 * Postfix names a relative unix: milter path relative to its queue
 * directory (/var/spool/postfix on Debian), where its daemons run whether
 * chrooted or not; the milter must create its socket at that absolute path,
 * give it to group postfix and let the group write.  Used together as
 * shipped, a mismatch makes every message "451 4.7.1": these tests keep the
 * two files from drifting apart again.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "diag.h"

#define SNIPPET SOURCE_DIR "/contrib/postfix/main.cf.snippet"
#define CONF SOURCE_DIR "/etc/hosted-milter.conf"
#define QUEUE_DIRECTORY "/var/spool/postfix" /* Debian's queue_directory */

/* snippet_value - the value of the one active (uncommented) "name = value"
 * line of the snippet, in out; fails the test when there is none or more
 * than one. */
static void snippet_value(const char *name, char *out, size_t outlen)
{
    FILE *f = fopen(SNIPPET, "r");
    char line[1024];
    size_t len = strlen(name);
    int found = 0;

    ck_assert_msg(f != NULL, "cannot open %s", SNIPPET);
    while (fgets(line, sizeof line, f) != NULL) {
        char *v = line + len;
        if (strncmp(line, name, len) != 0 || (*v != ' ' && *v != '='))
            continue;
        while (*v == ' ')
            v++;
        ck_assert_msg(*v == '=', "%s: malformed line %s", SNIPPET, line);
        v++;
        while (*v == ' ')
            v++;
        v[strcspn(v, " \t\r\n#")] = '\0';
        ck_assert_uint_lt(strlen(v), outlen);
        strcpy(out, v);
        found++;
    }
    fclose(f);
    ck_assert_msg(found == 1, "%s: %d active %s lines, expected 1", SNIPPET, found, name);
}

static struct config *load_shipped(struct diag **d)
{
    struct config *c;

    *d = diag_new();
    ck_assert_ptr_nonnull(*d);
    c = config_load(CONF, *d);
    ck_assert_msg(c != NULL && diag_size(*d) == 0, "%s does not load cleanly", CONF);
    return c;
}

/* The snippet's smtpd_milters, resolved against the queue directory, is
 * the shipped socket. */
START_TEST(test_socket_agrees)
{
    struct diag *d;
    struct config *c = load_shipped(&d);
    char milters[512], want[600];

    snippet_value("smtpd_milters", milters, sizeof milters);
    ck_assert_msg(strncmp(milters, "unix:", 5) == 0, "smtpd_milters %s: not unix:", milters);
    if (milters[5] == '/')
        snprintf(want, sizeof want, "%s", milters);
    else
        snprintf(want, sizeof want, "unix:%s/%s", QUEUE_DIRECTORY, milters + 5);
    ck_assert_str_eq(c->socket, want);
    config_free(c);
    diag_free(d);
}
END_TEST

/* The socket is reachable by user postfix (group postfix, group-writable)
 * and the daemon does not keep running as root. */
START_TEST(test_socket_access)
{
    struct diag *d;
    struct config *c = load_shipped(&d);

    ck_assert_ptr_nonnull(c->socket_group);
    ck_assert_str_eq(c->socket_group, "postfix");
    ck_assert_uint_eq(c->socket_mode & 0060, 0060);
    ck_assert_uint_eq(c->socket_mode & 0007, 0);
    ck_assert_ptr_nonnull(c->user);
    ck_assert_str_eq(c->user, "hosted-milter");
    ck_assert_ptr_nonnull(c->pidfile);
    ck_assert_str_eq(c->pidfile, "/run/hosted-milter/hosted-milter.pid");
    config_free(c);
    diag_free(d);
}
END_TEST

/* An unreachable milter means tempfail, never accept (backscatter). */
START_TEST(test_default_action)
{
    char v[64];

    snippet_value("milter_default_action", v, sizeof v);
    ck_assert_str_eq(v, "tempfail");
    snippet_value("milter_protocol", v, sizeof v);
    ck_assert_str_eq(v, "6");
}
END_TEST

static Suite *shipped_suite(void)
{
    Suite *s = suite_create("shipped");
    TCase *tc = tcase_create("agree");

    tcase_add_test(tc, test_socket_agrees);
    tcase_add_test(tc, test_socket_access);
    tcase_add_test(tc, test_default_action);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(shipped_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
