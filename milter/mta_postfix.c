/*
 * mta_postfix.c - `hosted-milter -C postfix[:DIR]`: reads main.cf and
 * master.cf through `postconf -c DIR` (-x values, -Fx fields, -Px service
 * overrides) and checks, per smtpd service, that smtpd_milters reaches
 * this configuration's socket from the chroot master.cf gives it, that
 * hosted-milter is the last milter and milter_default_action is tempfail;
 * then non_smtpd_milters, that relay_domains lists exactly the hosted
 * domains in both IDN forms, and that no hosted domain is also a local or
 * virtual domain.  Lists and tables: mta_postfix_maps.c.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "mta_postfix_impl.h"
#include "util.h"

/* The main.cf parameters the check reads (postconf -x: expanded). */
enum {
    P_QUEUE,
    P_SMTPD_MILTERS,
    P_NON_SMTPD_MILTERS,
    P_DEFAULT_ACTION,
    P_RELAY,
    P_MYDEST,
    P_VALIAS,
    P_VMAILBOX,
    P_PARENT,
    P_OWNER,
    P_COUNT
};
static const char *const param_names[P_COUNT] = {"queue_directory",
                                                 "smtpd_milters",
                                                 "non_smtpd_milters",
                                                 "milter_default_action",
                                                 "relay_domains",
                                                 "mydestination",
                                                 "virtual_alias_domains",
                                                 "virtual_mailbox_domains",
                                                 "parent_domain_matches_subdomains",
                                                 "mail_owner"};

/* One master.cf service that runs smtpd or cleanup. */
struct service {
    char *name; /* "smtp/inet" */
    bool chrooted, smtpd, cleanup;
    const char *milters, *action; /* -o overrides; NULL: main.cf's */
};

struct pf {
    struct mta_ctx *c;
    struct pf_env env;
    char *text[3]; /* postconf outputs, parsed in place */
    const char *param[P_COUNT];
    struct service *svc;
    size_t nsvc;
};

/* Runs postconf -c DIR with one option (and names); stderr and status
 * checked.  Returns the output (owned by p) or NULL after a message. */
static char *postconf(struct pf *p, int slot, const char *opt, bool with_names)
{
    const char *argv[4 + P_COUNT + 1] = {"postconf", "-c", p->env.config_dir, opt};
    char *err = NULL;
    int rc;

    for (size_t i = 0; with_names && i < P_COUNT; i++)
        argv[4 + i] = param_names[i];
    rc = pf_run(argv, NULL, &p->text[slot], &err);
    if (rc != 0 && p->text[slot] != NULL) {
        /* the line that says why (postconf warns before its fatal line) */
        char *why = strstr(err, "fatal:"), shown[1024];
        while (why != NULL && why > err && why[-1] != '\n')
            why--;
        why = why != NULL ? why : err;
        why[strcspn(why, "\n")] = '\0';
        util_escape(shown, sizeof shown, why, strlen(why));
        fprintf(stderr, "hosted-milter: postconf -c %s %s: %s\n", p->env.config_dir, opt,
                shown[0] != '\0' ? shown : "failed");
        free(p->text[slot]);
        p->text[slot] = NULL;
    } else if (p->text[slot] == NULL) {
        fprintf(stderr, "hosted-milter: cannot run postconf: out of memory\n");
    }
    free(err);
    return p->text[slot];
}

/* Splits "name = value" lines in place: *name and *value of the next line,
 * *pos advanced; returns false at the end. */
static bool next_setting(char **pos, char **name, char **value)
{
    while (**pos != '\0') {
        char *line = *pos, *eq;
        *pos += strcspn(*pos, "\n");
        if (**pos == '\n')
            *(*pos)++ = '\0';
        if ((eq = strstr(line, " = ")) != NULL) {
            *eq = '\0';
            *name = line;
            *value = eq + 3;
            return true;
        }
        if ((eq = strstr(line, " =")) != NULL && eq[2] == '\0') {
            *eq = '\0';
            *name = line;
            *value = eq + 2;
            return true;
        }
    }
    return false;
}

/* The service "svc/type" of a "svc/type/field" name, found or added. */
static struct service *service(struct pf *p, const char *name)
{
    const char *slash = strrchr(name, '/');
    size_t n = slash != NULL ? (size_t)(slash - name) : 0;
    struct service *s;

    for (size_t i = 0; i < p->nsvc; i++)
        if (strlen(p->svc[i].name) == n && strncmp(p->svc[i].name, name, n) == 0)
            return &p->svc[i];
    if (n == 0 || (s = realloc(p->svc, (p->nsvc + 1) * sizeof *s)) == NULL)
        return NULL;
    p->svc = s;
    s += p->nsvc;
    memset(s, 0, sizeof *s);
    if ((s->name = strndup(name, n)) == NULL)
        return NULL;
    p->nsvc++;
    return s;
}

static int read_postfix(struct pf *p)
{
    char *pos, *name, *value;

    if ((pos = postconf(p, 0, "-x", true)) == NULL)
        return -1;
    while (next_setting(&pos, &name, &value))
        for (size_t i = 0; i < P_COUNT; i++)
            if (strcmp(name, param_names[i]) == 0)
                p->param[i] = value;
    for (size_t i = 0; i < P_COUNT; i++)
        if (p->param[i] == NULL) {
            fprintf(stderr, "hosted-milter: postconf -c %s did not print %s\n", p->env.config_dir,
                    param_names[i]);
            return -1;
        }
    p->env.queue_dir = p->param[P_QUEUE];
    if ((pos = postconf(p, 1, "-Fx", false)) == NULL)
        return -1;
    while (next_setting(&pos, &name, &value)) {
        struct service *s = service(p, name);
        const char *field = strrchr(name, '/') + 1;
        if (s == NULL)
            continue;
        /* "-" is the compiled-in default: n since Postfix 3.0 (Debian's
         * master.cf says "y" explicitly where it chroots). */
        if (strcmp(field, "chroot") == 0)
            s->chrooted = value[0] == 'y';
        if (strcmp(field, "command") == 0) {
            size_t w = strcspn(value, " \t");
            s->smtpd = w == 5 && strncmp(value, "smtpd", 5) == 0;
            s->cleanup = w == 7 && strncmp(value, "cleanup", 7) == 0;
            if (w == 15 && strncmp(value, "trivial-rewrite", 15) == 0)
                p->env.rewrite_chrooted = s->chrooted;
        }
    }
    if ((pos = postconf(p, 2, "-Px", false)) == NULL)
        return -1;
    while (next_setting(&pos, &name, &value)) {
        struct service *s = service(p, name);
        const char *field = strrchr(name, '/') + 1;
        if (s != NULL && strcmp(field, "smtpd_milters") == 0)
            s->milters = value;
        if (s != NULL && strcmp(field, "milter_default_action") == 0)
            s->action = value;
    }
    return 0;
}

/* ---- the socket itself ---------------------------------------------------- */

/* Whether uid (with its groups) may use a file of st with the permission
 * bits want (S_IWUSR-style, owner position: 2 write, 1 search). */
static bool may(const struct stat *st, uid_t uid, const gid_t *groups, int ngroups, unsigned want)
{
    if (uid == 0)
        return true;
    if (st->st_uid == uid)
        return ((st->st_mode >> 6) & want) == want;
    for (int i = 0; i < ngroups; i++)
        if (st->st_gid == groups[i])
            return ((st->st_mode >> 3) & want) == want;
    return (st->st_mode & want) == want;
}

/*
 * A unix socket Postfix opens as mail_owner: every directory on the way
 * searchable, the socket writable, and something accepting connections.
 */
static void check_socket_file(struct pf *p, const char *label, const char *path)
{
    struct mta_report *r = &p->c->rep;
    const char *owner = p->param[P_OWNER];
    struct passwd *pw = getpwnam(owner);
    gid_t groups[256];
    int ngroups = 256;
    char dir[MTA_PATH_MAX];
    struct stat st;

    if (pw == NULL) {
        mta_warn(r, "%s: mail_owner %s: no such user; socket permissions not checked", label,
                 owner);
    } else {
        if (getgrouplist(owner, pw->pw_gid, groups, &ngroups) < 0)
            ngroups = 0;
        snprintf(dir, sizeof dir, "%s", path);
        for (char *slash = strchr(dir + 1, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
            *slash = '\0';
            if (stat(dir, &st) == 0 && !may(&st, pw->pw_uid, groups, ngroups, 1)) {
                mta_error(r, "%s: user %s cannot search directory %s (mode %04o)", label, owner,
                          dir, (unsigned)(st.st_mode & 07777));
                return;
            }
            *slash = '/';
        }
    }
    if (lstat(path, &st) < 0) {
        mta_warn(r, "%s: %s does not exist (is hosted-milter running?)", label, path);
        return;
    }
    if (!S_ISSOCK(st.st_mode)) {
        mta_error(r, "%s: %s is not a socket", label, path);
        return;
    }
    if (pw != NULL && !may(&st, pw->pw_uid, groups, ngroups, 2)) {
        mta_error(r,
                  "%s: user %s cannot write to %s (mode %04o, uid %u, gid %u): set socket_group "
                  "= \"%s\" and socket_mode = \"0660\" in hosted-milter.conf",
                  label, owner, path, (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid,
                  (unsigned)st.st_gid, owner);
        return;
    }
    int fd = util_unix_connect(path);
    if (fd >= 0)
        close(fd);
    if (fd >= 0)
        mta_ok(r, "%s: %s accepts connections", label, path);
    else
        mta_warn(r, "%s: nothing accepts connections on %s (is hosted-milter running?)", label,
                 path);
}

/* An inet milter socket given as an address: something accepting there?
 * (A host name is not resolved: the check does not depend on DNS.) */
static void check_inet(struct pf *p, const char *label, const struct mta_sock *s)
{
    struct sockaddr_storage ss = {0};
    struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    struct timeval tv = {2, 0};
    char *end;
    unsigned long port = strtoul(s->port, &end, 10);
    socklen_t len;
    int fd, ok;

    if (*end != '\0' || port == 0 || port > 65535)
        return;
    if (inet_pton(AF_INET, s->host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        len = sizeof *in4;
    } else if (inet_pton(AF_INET6, s->host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        len = sizeof *in6;
    } else {
        return;
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ok = fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0 &&
         connect(fd, (struct sockaddr *)&ss, len) == 0;
    if (fd >= 0)
        close(fd);
    if (ok)
        mta_ok(&p->c->rep, "%s: %s:%s accepts connections", label, s->host, s->port);
    else
        mta_warn(&p->c->rep, "%s: nothing accepts connections on %s:%s (is hosted-milter running?)",
                 label, s->host, s->port);
}

/* ---- milters -------------------------------------------------------------- */

/* One smtpd_milters element: its spec and its own default_action. */
static int milter_element(const char *e, struct mta_list *inner, const char **spec,
                          const char **action)
{
    *action = NULL;
    if (e[0] != '{') {
        *spec = e;
        return 0;
    }
    char *body = strndup(e + 1, strlen(e) - 2);
    int rc = body != NULL ? mta_list_split(body, true, inner) : -1;
    free(body);
    if (rc < 0 || inner->n == 0)
        return -1;
    *spec = inner->v[0];
    for (size_t i = 1; i < inner->n; i++) {
        const char *eq = strchr(inner->v[i], '=');
        size_t k = strcspn(inner->v[i], " \t=");
        if (eq != NULL && k == 14 && strncmp(inner->v[i], "default_action", 14) == 0)
            *action = eq + 1 + strspn(eq + 1, " \t");
    }
    return 0;
}

static void check_action(struct pf *p, const char *label, const char *action)
{
    static const char *const why[][2] = {
        {"accept", "mail is accepted unfiltered (unknown recipients accepted, nothing rewritten)"},
        {"reject", "every message is refused for good"},
        {"quarantine", "mail is accepted unfiltered and held"}};
    const char *what = "an unknown action";

    if (strcasecmp(action, "tempfail") == 0) {
        mta_ok(&p->c->rep, "%s: milter_default_action = tempfail", label);
        return;
    }
    for (size_t i = 0; i < sizeof why / sizeof why[0]; i++)
        if (strcasecmp(action, why[i][0]) == 0)
            what = why[i][1];
    mta_error(&p->c->rep,
              "%s: milter_default_action = %s: while hosted-milter cannot be reached, %s "
              "(use tempfail)",
              label, action, what);
}

/* Checks one milter list of one service; required: an error when ours is
 * missing (smtpd) rather than a warning (cleanup). */
static int check_milters(struct pf *p, const struct service *s, const char *param,
                         const char *value, const char *action, bool required)
{
    struct mta_report *r = &p->c->rep;
    struct mta_list l = {0};
    struct mta_sock ours;
    char label[512], own[64] = "";
    size_t found = (size_t)-1;
    bool trap = false;

    snprintf(label, sizeof label, "%s: %s", s->name, param);
    if (mta_sock_parse_libmilter(p->c->socket, &ours) < 0 || mta_list_split(value, false, &l) < 0)
        return mta_list_free(&l), -1;
    for (size_t i = 0; i < l.n && found == (size_t)-1; i++) {
        struct mta_list inner = {0};
        const char *spec, *own_action;
        struct mta_sock theirs;
        char seen[MTA_PATH_MAX];

        if (milter_element(l.v[i], &inner, &spec, &own_action) < 0 ||
            mta_sock_parse_postfix(spec, &theirs) < 0) {
            mta_warn(r, "%s: %s: not a milter address this check can read", label, l.v[i]);
        } else if (theirs.kind == MTA_SOCK_UNIX &&
                   mta_chroot_path(p->env.queue_dir, s->chrooted, theirs.path, seen, sizeof seen) <
                       0) {
            mta_warn(r, "%s: %s: path too long", label, spec);
        } else {
            struct mta_sock resolved = theirs;
            if (theirs.kind == MTA_SOCK_UNIX)
                snprintf(resolved.path, sizeof resolved.path, "%s", seen);
            if (mta_sock_same(&ours, &resolved)) {
                found = i;
                snprintf(own, sizeof own, "%s", own_action != NULL ? own_action : "");
                if (theirs.kind == MTA_SOCK_UNIX) {
                    mta_ok(r, "%s: %s is this configuration's socket (%s: %s)", label, spec,
                           s->chrooted ? "chrooted" : "not chrooted", seen);
                    check_socket_file(p, label, seen);
                } else {
                    mta_ok(r, "%s: %s is this configuration's socket", label, spec);
                    check_inet(p, label, &theirs);
                }
            } else if (theirs.kind == MTA_SOCK_UNIX && theirs.path[0] == '/' && s->chrooted &&
                       mta_sock_same(&ours, &theirs)) {
                trap = true;
                found = i;
                mta_error(r,
                          "%s: %s names this configuration's socket, but %s runs chrooted "
                          "(master.cf) and opens %s: put the socket under queue_directory %s "
                          "and name it relative to it",
                          label, spec, s->name, seen, p->env.queue_dir);
            }
        }
        mta_list_free(&inner);
    }
    if (action != NULL && (found != (size_t)-1 || trap))
        check_action(p, s->name, own[0] != '\0' ? own : action);
    if (found == (size_t)-1 && !trap) {
        if (required)
            mta_error(r, "%s: no milter is this configuration's socket %s (mail is not filtered)",
                      label, p->c->socket);
        else
            mta_warn(r, "%s: no milter is this configuration's socket %s (not filtered)", label,
                     p->c->socket);
    } else if (found != (size_t)-1 && found + 1 < l.n) {
        for (size_t i = found + 1; i < l.n; i++)
            mta_warn(r,
                     "%s: %s comes after hosted-milter: safe only if it never refuses "
                     "recipients (put hosted-milter last)",
                     label, l.v[i]);
    } else if (found != (size_t)-1) {
        mta_ok(r, "%s: hosted-milter is the last milter", label);
    }
    mta_list_free(&l);
    return 0;
}

static int check_services(struct pf *p)
{
    const char *main_action = p->param[P_DEFAULT_ACTION];
    size_t nsmtpd = 0;

    for (size_t i = 0; i < p->nsvc; i++) {
        const struct service *s = &p->svc[i];
        if (!s->smtpd)
            continue;
        nsmtpd++;
        if (check_milters(p, s, "smtpd_milters",
                          s->milters != NULL ? s->milters : p->param[P_SMTPD_MILTERS],
                          s->action != NULL ? s->action : main_action, true) < 0)
            return -1;
    }
    if (nsmtpd == 0)
        mta_error(&p->c->rep, "master.cf: no smtpd service (nothing receives mail by SMTP)");
    for (size_t i = 0; i < p->nsvc; i++) {
        if (!p->svc[i].cleanup)
            continue;
        if (p->param[P_NON_SMTPD_MILTERS][0] == '\0')
            mta_ok(&p->c->rep,
                   "%s: non_smtpd_milters is empty (local submissions are not "
                   "rewritten)",
                   p->svc[i].name);
        else if (check_milters(p, &p->svc[i], "non_smtpd_milters", p->param[P_NON_SMTPD_MILTERS],
                               NULL, false) < 0)
            return -1;
        break; /* the first cleanup service is the one sendmail(1) and pickup use */
    }
    return 0;
}

/* ---- domains -------------------------------------------------------------- */

/* Whether param is listed in parent_domain_matches_subdomains. */
static bool parent_matches(struct pf *p, const char *param)
{
    struct mta_list l = {0};
    bool yes = false;

    if (mta_list_split(p->param[P_PARENT], false, &l) == 0)
        for (size_t i = 0; i < l.n; i++)
            yes = yes || strcmp(l.v[i], param) == 0;
    mta_list_free(&l);
    return yes;
}

/* Names relay_domains holds that are no hosted domain (a name that is
 * also literally in mydestination is expected there: not reported). */
static int relay_extras(struct pf *p, struct pf_list *relay, struct pf_list *mydest)
{
    struct mta_list names = {0};
    const char **keys;
    size_t n;

    if ((keys = mta_forms(p->c, &n)) == NULL || pf_list_names(&p->env, relay, &names) < 0) {
        free(keys);
        mta_list_free(&names);
        return -1;
    }
    mta_list_unique(&names);
    for (size_t i = 0; i < names.n; i++) {
        bool known = false;
        for (size_t k = 0; k < n && !known; k++)
            known = mta_pattern_match(names.v[i], keys[k], relay->parent_matches);
        for (size_t k = 0; k < mydest->names.n && !known; k++)
            known = strcasecmp(mydest->names.v[k], names.v[i]) == 0;
        if (!known)
            mta_warn(&p->c->rep, "relay_domains: %s is not a hosted domain", names.v[i]);
    }
    free(keys);
    mta_list_free(&names);
    return 0;
}

static int check_relay(struct pf *p, struct pf_list *relay, struct pf_list *mydest)
{
    size_t n;
    const char **keys = mta_forms(p->c, &n);
    bool *found = calloc(n + 1, sizeof *found);
    unsigned errors = p->c->rep.nerr;
    int rc = -1;

    if (keys == NULL || found == NULL || pf_list_match(&p->env, relay, keys, n, found) < 0)
        goto out;
    /* A table that cannot be asked already said so: its names are unknown,
     * neither "all listed" nor "not listed". */
    if (p->c->rep.nerr == errors)
        mta_report_coverage(p->c, "relay_domains", keys, found, n, "Relay access denied");
    rc = relay_extras(p, relay, mydest);
out:
    free(keys);
    free(found);
    return rc;
}

static int check_conflicts(struct pf *p, const char *param, const char *value, const char *route,
                           struct pf_list *keep)
{
    struct pf_list l;
    size_t n, hits = 0;
    const char **keys = mta_forms(p->c, &n);
    bool *found = calloc(n + 1, sizeof *found);
    int rc = -1;

    memset(&l, 0, sizeof l);
    if (keys == NULL || found == NULL ||
        pf_list_load(&p->env, param, value, parent_matches(p, param), &l) < 0) {
        pf_list_free(&l);
        goto out;
    }
    rc = pf_list_match(&p->env, &l, keys, n, found);
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (found[i]) {
            hits++;
            mta_error(&p->c->rep, "%s: lists hosted domain %s (conflicting routes: %s)", param,
                      keys[i], route);
        }
    if (rc == 0 && hits == 0)
        mta_ok(&p->c->rep, "%s: no hosted domain", param);
    if (keep != NULL)
        *keep = l;
    else
        pf_list_free(&l);
out:
    free(keys);
    free(found);
    return rc;
}

static int check_domains(struct pf *p)
{
    struct pf_list relay, mydest = {0};
    int rc = -1;

    if (check_conflicts(p, "mydestination", p->param[P_MYDEST],
                        "Postfix delivers it locally, not through the relay route", &mydest) < 0 ||
        check_conflicts(p, "virtual_alias_domains", p->param[P_VALIAS],
                        "Postfix resolves it with virtual_alias_maps and refuses other users "
                        "itself",
                        NULL) < 0 ||
        check_conflicts(p, "virtual_mailbox_domains", p->param[P_VMAILBOX],
                        "Postfix delivers it to virtual mailboxes itself", NULL) < 0)
        goto out;
    if (pf_list_load(&p->env, "relay_domains", p->param[P_RELAY],
                     parent_matches(p, "relay_domains"), &relay) < 0)
        goto out;
    rc = check_relay(p, &relay, &mydest);
    pf_list_free(&relay);
out:
    pf_list_free(&mydest);
    return rc;
}

int mta_postfix_check(struct mta_ctx *c, const char *config_dir)
{
    struct pf p = {.c = c, .env = {.rep = &c->rep}};
    char *dir = realpath(config_dir, NULL);
    int rc = MTA_EXIT_CANNOT;

    if (dir == NULL) {
        fprintf(stderr, "hosted-milter: %s: %s\n", config_dir, strerror(errno));
        return MTA_EXIT_CANNOT;
    }
    p.env.config_dir = dir;
    if (read_postfix(&p) < 0)
        goto out;
    if (check_services(&p) < 0 || check_domains(&p) < 0) {
        fprintf(stderr, "hosted-milter: out of memory\n");
        goto out;
    }
    rc = 0;
out:
    for (size_t i = 0; i < p.nsvc; i++)
        free(p.svc[i].name);
    free(p.svc);
    for (size_t i = 0; i < 3; i++)
        free(p.text[i]);
    free(dir);
    return rc;
}
