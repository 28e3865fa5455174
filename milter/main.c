/*
 * main.c - the hosted-milter command line: run the milter (daemon.c), or
 * check the configuration (-t), query addresses (-q), list the hosted
 * domains (-D), check the MTA's side (-C), print the version (-V) or the
 * usage (-h).
 *
 * Owns option parsing and the output formats of -t, -q and -D; the only
 * place that decides exit statuses (0 ok, 1 configuration or run failure,
 * 2 usage error).
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon.h"
#include "diag.h"
#include "hosted_domains.h"
#include "log.h"
#include "mta_check.h"
#include "policy.h"
#include "table.h"

#ifndef HOSTED_MILTER_CONF
#define HOSTED_MILTER_CONF "/etc/hosted-milter/hosted-milter.conf"
#endif
#ifndef HOSTED_MILTER_VERSION
#define HOSTED_MILTER_VERSION "unknown"
#endif

enum { EXIT_USAGE = 2 };

enum mode { MODE_RUN, MODE_CHECK, MODE_QUERY, MODE_DOMAINS, MODE_MTA };

static void usage(FILE *out)
{
    fprintf(out,
            "usage: hosted-milter [-f] [-v] [-c FILE] [-s SOCKET] [-p PIDFILE]\n"
            "       hosted-milter [-c FILE] -t\n"
            "       hosted-milter [-c FILE] -q ADDRESS...\n"
            "       hosted-milter [-c FILE] -D\n"
            "       hosted-milter [-c FILE] -C postfix[:CONFIG_DIR] | sendmail[:CF_FILE]\n"
            "       hosted-milter -V | -h\n"
            "\n"
            "Recipient policy milter for hosted domains (Postfix, Sendmail).\n"
            "\n"
            "  -c FILE     configuration file (default %s)\n"
            "  -f          stay in the foreground and log to stderr\n"
            "              (otherwise detach and log to syslog, facility mail)\n"
            "  -v          log at debug level\n"
            "  -s SOCKET   listen here instead of the configuration's socket\n"
            "              (unix:/path, inet:port@host, inet6:port@host)\n"
            "  -p PIDFILE  write the pid here instead of the configuration's pidfile\n"
            "  -t          check the configuration: problems as \"file:line: ...\" on\n"
            "              stderr, a one-line summary on stdout; exit 0 if valid, 1 if not\n"
            "  -q ADDRESS  for each address, print \"address<TAB>action<TAB>detail\"\n"
            "              (action keep, rewrite, reject, tempfail or pass; detail: the\n"
            "              targets for rewrite, the SMTP reply for reject and tempfail);\n"
            "              control, 8-bit and backslash bytes of the address print as \\xHH,\n"
            "              \\t, \\r, \\n\n"
            "  -D          print the hosted domains, one per line, sorted, an IDN domain\n"
            "              in A-label and then U-label form (for Postfix relay_domains\n"
            "              or Sendmail's relay-domains file)\n"
            "  -C MTA      check the MTA's configuration against this one: postfix\n"
            "              (postconf -c CONFIG_DIR, default /etc/postfix) or sendmail\n"
            "              (CF_FILE, default /etc/mail/sendmail.cf); one \"ok:\",\n"
            "              \"warning:\" or \"error:\" line per finding; exit 0 with no\n"
            "              error, 1 with errors, 2 when it cannot check\n"
            "  -V          print the version\n"
            "  -h          print this help\n"
            "\n"
            "Running: SIGUSR1 reloads the configuration; SIGTERM, SIGINT or SIGHUP stop.\n",
            HOSTED_MILTER_CONF);
}

static int usage_error(const char *msg)
{
    fprintf(stderr, "hosted-milter: %s\n", msg);
    usage(stderr);
    return EXIT_USAGE;
}

/* Loads path; prints errors (and, with warnings, warnings) to stderr. */
static struct config *load(const char *path, bool warnings)
{
    struct diag *d = diag_new();
    struct config *cfg = NULL;

    if (d == NULL) {
        fprintf(stderr, "hosted-milter: out of memory\n");
        return NULL;
    }
    cfg = config_load(path, d);
    for (size_t i = 0; i < diag_size(d); i++)
        if (cfg == NULL || warnings || diag_level_at(d, i) == DIAG_ERROR)
            fprintf(stderr, "%s\n", diag_text(d, i));
    if (cfg == NULL && diag_count(d, DIAG_ERROR) == 0)
        fprintf(stderr, "%s: cannot load the configuration (out of memory?)\n", path);
    diag_free(d);
    return cfg;
}

static const char *plural(size_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

static int run_check(const char *path)
{
    struct config *cfg = load(path, true);
    size_t nd, nm, ns, na;

    if (cfg == NULL)
        return 1;
    nd = table_domain_count(cfg->table);
    nm = table_count_kind(cfg->table, TABLE_MAILBOX);
    ns = table_count_kind(cfg->table, TABLE_SECONDARY);
    na = table_count_kind(cfg->table, TABLE_ALIAS);
    printf("%s: OK: %zu %s, %zu %s, %zu %s, %zu %s\n", path, nd, plural(nd, "domain", "domains"),
           nm, plural(nm, "mailbox", "mailboxes"), ns,
           plural(ns, "secondary address", "secondary addresses"), na,
           plural(na, "alias", "aliases"));
    config_free(cfg);
    return 0;
}

static int run_query(const char *path, char **addresses, int n)
{
    struct config *cfg = load(path, false);
    struct policy_result r;
    char reply[1024];
    int status = 0;

    if (cfg == NULL)
        return 1;
    policy_result_init(&r);
    for (int i = 0; i < n; i++) {
        size_t len = strlen(addresses[i]);
        char *shown = malloc(LOG_ESCAPE_SIZE(len));

        if (shown == NULL) {
            fprintf(stderr, "hosted-milter: out of memory\n");
            status = 1;
            break;
        }
        log_escape(shown, LOG_ESCAPE_SIZE(len), addresses[i], len);
        policy_resolve(cfg->table, addresses[i], len, &r);
        printf("%s\t%s\t", shown, policy_action_name(r.action));
        if (r.action == POLICY_REWRITE) {
            for (size_t t = 0; t < r.ntargets; t++)
                printf("%s%s", t > 0 ? "," : "", policy_target(&r, t));
        } else if (r.action == POLICY_REJECT || r.action == POLICY_TEMPFAIL) {
            if (policy_format_reply(&r, true, reply, sizeof reply) > 0)
                fputs(reply, stdout);
        }
        putchar('\n');
        free(shown);
    }
    policy_result_free(&r);
    config_free(cfg);
    if (fflush(stdout) != 0)
        status = 1;
    return status;
}

static int print_domain(const char *name, void *arg)
{
    (void)arg;
    return printf("%s\n", name) < 0 ? 1 : 0;
}

/* The list is hosted_domains.c's, which the socketmap answers from too. */
static int run_domains(const char *path)
{
    struct config *cfg = load(path, false);
    int rc;

    if (cfg == NULL)
        return 1;
    rc = hosted_domains_each(cfg->table, print_domain, NULL);
    if (rc < 0)
        fprintf(stderr, "hosted-milter: out of memory\n");
    config_free(cfg);
    return rc == 0 && fflush(stdout) == 0 ? 0 : 1;
}

/* -C: a configuration that cannot be loaded leaves nothing to check (2). */
static int run_mta(const char *path, const char *mta)
{
    struct config *cfg = load(path, false);
    int status;

    if (cfg == NULL)
        return EXIT_USAGE;
    status = mta_check_run(cfg, mta, stdout);
    config_free(cfg);
    return status;
}

/* What the command line asks for, once parsed. */
struct cmdline {
    struct daemon_options opt;
    enum mode mode;
    const char *mta;
};

/*
 * Parses the options into c; returns -1 to go on, or the exit status when
 * the command line is done (-V, -h) or wrong (2, with the usage).
 */
static int parse_options(int argc, char **argv, struct cmdline *c)
{
    int nmodes = 0, ch;
    bool run_options = false;

    opterr = 0;
    while ((ch = getopt(argc, argv, ":c:fvs:p:tqDC:Vh")) != -1) {
        switch (ch) {
        case 'c':
            c->opt.config_path = optarg;
            break;
        case 'f':
            c->opt.foreground = true;
            run_options = true;
            break;
        case 'v':
            c->opt.verbose = true;
            break;
        case 's':
            c->opt.socket = optarg;
            run_options = true;
            break;
        case 'p':
            c->opt.pidfile = optarg;
            run_options = true;
            break;
        case 't':
            c->mode = MODE_CHECK;
            nmodes++;
            break;
        case 'q':
            c->mode = MODE_QUERY;
            nmodes++;
            break;
        case 'D':
            c->mode = MODE_DOMAINS;
            nmodes++;
            break;
        case 'C':
            c->mode = MODE_MTA;
            c->mta = optarg;
            nmodes++;
            break;
        case 'V':
            printf("hosted-milter %s\n", HOSTED_MILTER_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        case ':': {
            char msg[64];
            snprintf(msg, sizeof msg, "option -%c needs an argument", optopt);
            return usage_error(msg);
        }
        default: {
            char msg[64];
            snprintf(msg, sizeof msg, "unknown option -%c", optopt);
            return usage_error(msg);
        }
        }
    }
    if (nmodes > 1)
        return usage_error("-t, -q, -D and -C exclude each other");
    if (c->mode != MODE_RUN && run_options)
        return usage_error("-f, -s and -p apply only when running the milter");
    return -1;
}

int main(int argc, char **argv)
{
    struct cmdline c = {.opt = {.config_path = HOSTED_MILTER_CONF}, .mode = MODE_RUN};
    int rc = parse_options(argc, argv, &c);

    if (rc >= 0)
        return rc;
    if (c.mode == MODE_MTA && mta_check_target(c.mta, &(const char *){NULL}) == 0)
        return usage_error("-C: expected postfix[:CONFIG_DIR] or sendmail[:CF_FILE]");
    if (c.mode == MODE_QUERY && optind >= argc)
        return usage_error("-q needs at least one address");
    if (c.mode != MODE_QUERY && optind < argc)
        return usage_error("unexpected argument");

    switch (c.mode) {
    case MODE_CHECK:
        return run_check(c.opt.config_path);
    case MODE_QUERY:
        return run_query(c.opt.config_path, argv + optind, argc - optind);
    case MODE_DOMAINS:
        return run_domains(c.opt.config_path);
    case MODE_MTA:
        return run_mta(c.opt.config_path, c.mta);
    case MODE_RUN:
        break;
    }
    return daemon_run(&c.opt);
}
