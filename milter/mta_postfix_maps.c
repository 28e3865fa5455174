/*
 * mta_postfix_maps.c - part of the Postfix check (mta_postfix_impl.h):
 * running postconf/postmap with fork and execvp (no shell, bounded output,
 * a time limit), and Postfix domain lists: inline names, /files, tables
 * looked up with `postmap -q -` and listed with `postmap -s`, socketmap
 * tables queried directly with the netstring protocol.
 */
#include "mta_postfix_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define RUN_TIMEOUT_MS 60000
#define ERR_MAX (64u << 10)
#define SOCKETMAP_TIMEOUT_S 3

/* ---- running a tool ------------------------------------------------------- */

static void child(const char *const argv[], const char *stdin_path, int out, int err)
{
    char path[MTA_PATH_MAX];
    int in = open(stdin_path != NULL ? stdin_path : "/dev/null", O_RDONLY);

    if (in < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
        _exit(127);
    execvp(argv[0], (char *const *)argv);
    /* Postfix's tools live in /usr/sbin, often not in a user's PATH. */
    snprintf(path, sizeof path, "/usr/sbin/%s", argv[0]);
    execv(path, (char *const *)argv);
    dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

/* Reads what is there on fd into b (up to max, the rest counted in
 * *lost); returns 0 at end of file, 1 when more may come. */
static int drain(int fd, struct util_buf *b, size_t max, size_t *lost)
{
    char chunk[8192];
    ssize_t n = read(fd, chunk, sizeof chunk);

    if (n < 0)
        return errno == EINTR || errno == EAGAIN ? 1 : 0;
    if (n == 0)
        return 0;
    if (b->len + (size_t)n > max || util_buf_append(b, chunk, (size_t)n) < 0)
        *lost += (size_t)n;
    return 1;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads the child's stdout (fd o) and stderr (fd e) to their ends or
 * the time limit; true when it had to kill the child. */
static bool collect(pid_t pid, int o, int e, struct util_buf *ob, struct util_buf *eb, size_t *lost)
{
    long long deadline = now_ms() + RUN_TIMEOUT_MS;

    for (bool o_open = true, e_open = true; o_open || e_open;) {
        struct pollfd fds[2] = {{o_open ? o : -1, POLLIN, 0}, {e_open ? e : -1, POLLIN, 0}};
        long long left = deadline - now_ms();
        /* past the limit, or poll broken: never wait for a child nobody reads */
        if (left <= 0 || (poll(fds, 2, (int)left) < 0 && errno != EINTR)) {
            kill(pid, SIGKILL);
            return true;
        }
        if (fds[0].revents != 0)
            o_open = drain(o, ob, MTA_READ_MAX, lost) == 1;
        if (fds[1].revents != 0)
            e_open = drain(e, eb, ERR_MAX, lost) == 1;
    }
    return false;
}

int pf_run(const char *const argv[], const char *stdin_path, char **out, char **err)
{
    struct util_buf ob = {0}, eb = {0};
    int po[2] = {-1, -1}, pe[2] = {-1, -1}, status = -1, wst = 0;
    size_t lost = 0;
    bool killed = false;
    pid_t pid = -1, w;
    /* SIGCHLD ignored (a disposition inherited across exec) would reap
     * the child by itself and leave waitpid nothing but ECHILD; -C runs
     * single-threaded, so changing it here for the while is safe */
    struct sigaction dfl = {.sa_handler = SIG_DFL}, old;

    *out = *err = NULL;
    sigemptyset(&dfl.sa_mask);
    sigaction(SIGCHLD, &dfl, &old);
    if (pipe(po) < 0 || pipe(pe) < 0)
        goto out;
    for (int i = 0; i < 2; i++)
        if (fcntl(po[i], F_SETFD, FD_CLOEXEC) < 0 || fcntl(pe[i], F_SETFD, FD_CLOEXEC) < 0)
            goto out;
    if ((pid = fork()) < 0)
        goto out;
    if (pid == 0)
        child(argv, stdin_path, po[1], pe[1]);
    close(po[1]);
    close(pe[1]);
    po[1] = pe[1] = -1;
    killed = collect(pid, po[0], pe[0], &ob, &eb, &lost);
    while ((w = waitpid(pid, &wst, 0)) < 0 && errno == EINTR)
        ;
    if (w != pid)
        util_buf_append(&eb, " (lost track of it)", 19);
    else if (!killed && lost == 0 && WIFEXITED(wst))
        status = WEXITSTATUS(wst);
    else if (killed)
        util_buf_append(&eb, " (killed: no answer within 60 s)", 32);
    else if (lost > 0)
        util_buf_append(&eb, " (output too large)", 19);
out:
    for (int i = 0; i < 2; i++) {
        if (po[i] >= 0)
            close(po[i]);
        if (pe[i] >= 0)
            close(pe[i]);
    }
    sigaction(SIGCHLD, &old, NULL);
    util_buf_append(&ob, "", 1);
    util_buf_append(&eb, "", 1);
    *out = ob.p;
    *err = eb.p;
    if (*out == NULL || *err == NULL) {
        free(ob.p);
        free(eb.p);
        *out = *err = NULL;
        return -1;
    }
    return status;
}

/* The first line of a tool's complaint, for one report line. */
static const char *first_line(char *text)
{
    text[strcspn(text, "\n")] = '\0';
    return text[0] != '\0' ? text : "(no message)";
}

/* ---- lists ---------------------------------------------------------------- */

void pf_list_free(struct pf_list *l)
{
    mta_list_free(&l->names);
    mta_list_free(&l->tables);
}

int pf_list_load(struct pf_env *env, const char *param, const char *value, bool parent_matches,
                 struct pf_list *l)
{
    struct mta_list raw = {0};
    int rc = -1;

    memset(l, 0, sizeof *l);
    l->param = param;
    l->parent_matches = parent_matches;
    if (mta_list_split(value, false, &raw) < 0)
        goto out;
    for (size_t i = 0; i < raw.n; i++) {
        const char *e = raw.v[i];
        if (e[0] == '/') {
            char *text;
            size_t len;
            const char *why;
            if (mta_read_file(e, &text, &len, &why) < 0) {
                mta_error(env->rep, "%s: %s: %s (Postfix cannot read it either)", param, e, why);
                continue;
            }
            rc = mta_list_words(text, &l->names);
            free(text);
            if (rc < 0)
                goto out;
            rc = -1;
        } else if (e[0] == '!') {
            mta_warn(env->rep, "%s: %s: exclusions are not evaluated by this check", param, e);
        } else if (strchr(e, ':') != NULL) {
            if (mta_list_split(e, true, &l->tables) < 0)
                goto out;
        } else if (mta_list_split(e, false, &l->names) < 0) {
            goto out;
        }
    }
    rc = 0;
out:
    mta_list_free(&raw);
    return rc;
}

/* socketmap:unix:PATH:NAME or socketmap:inet:HOST:PORT:NAME (after the
 * "socketmap:"): 1 found, 0 not found, -1 cannot ask (*why set).
 * *trapped: the path is absolute and trivial-rewrite chrooted, so Postfix
 * opens it under the queue directory (where then names that path). */
static int socketmap_query(struct pf_env *env, const char *spec, const char *key, const char **why,
                           char *where, size_t wheresz, bool *trapped)
{
    const char *name = strrchr(spec, ':');
    char req[2048], reply[4096];
    struct mta_sock s;
    struct timeval tv = {SOCKETMAP_TIMEOUT_S, 0};
    size_t got = 0;
    int fd = -1, rc = -1;

    *why = "malformed socketmap table";
    *trapped = false;
    if (name == NULL || name == spec || (size_t)(name - spec) >= wheresz)
        return -1;
    memcpy(where, spec, (size_t)(name - spec));
    where[name - spec] = '\0';
    name++;
    if (mta_sock_parse_postfix(where, &s) < 0 || s.kind != MTA_SOCK_UNIX)
        return *why = "only unix: socketmap tables are queried", -1;
    *trapped = env->rewrite_chrooted && s.path[0] == '/';
    if (mta_chroot_path(env->queue_dir, env->rewrite_chrooted, s.path, where, wheresz) < 0)
        return -1;
    struct sockaddr_un sa;
    int n = snprintf(req, sizeof req, "%zu:%s %s,", strlen(name) + 1 + strlen(key), name, key);
    if (util_unix_addr(&sa, where) < 0 || n < 0 || (size_t)n >= sizeof req)
        return *why = "path or request too long", -1;
    *why = "cannot connect";
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
        goto out;
    *why = "no answer";
    if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n)
        goto out;
    for (;;) {
        const char *data;
        size_t dlen;
        ssize_t r = recv(fd, reply + got, sizeof reply - got, 0);
        if (r <= 0)
            goto out;
        got += (size_t)r;
        long used = mta_netstring_parse(reply, got, &data, &dlen);
        if (used < 0 || (used == 0 && got == sizeof reply)) {
            *why = "malformed answer";
            goto out;
        }
        if (used == 0)
            continue;
        if (dlen >= 3 && memcmp(data, "OK ", 3) == 0)
            rc = 1;
        else if (dlen >= 8 && memcmp(data, "NOTFOUND", 8) == 0)
            rc = 0;
        else
            *why = "answer neither OK nor NOTFOUND";
        break;
    }
out:
    if (fd >= 0)
        close(fd);
    return rc;
}

static int socketmap_match(struct pf_env *env, struct pf_list *l, const char *table,
                           const char *const *keys, size_t n, bool *found)
{
    const char *why = NULL, *name = strrchr(table, ':') + 1;
    char where[MTA_PATH_MAX];
    bool trapped;

    for (size_t i = 0; i < n; i++) {
        int rc = socketmap_query(env, table + strlen("socketmap:"), keys[i], &why, where,
                                 sizeof where, &trapped);
        if (rc < 0) {
            if (trapped) {
                /* Postfix fails every lookup there: 451 for every message. */
                mta_error(env->rep,
                          "%s: %s: trivial-rewrite runs chrooted (master.cf) and opens %s: %s: "
                          "put the socket under queue_directory %s and name it relative to it",
                          l->param, table, where, why, env->queue_dir);
                for (size_t j = 0; j < n; j++)
                    found[j] = true;
            } else if (strcmp(name, "domains") == 0) {
                /* A socketmap named "domains" is hosted-milter's own live list. */
                mta_warn(env->rep,
                         "%s: %s: %s; assuming hosted-milter serves the hosted domains there",
                         l->param, table, why);
                for (size_t j = 0; j < n; j++)
                    found[j] = true;
            } else {
                mta_error(env->rep, "%s: %s: %s", l->param, table, why);
            }
            return 0;
        }
        found[i] = found[i] || rc == 1;
    }
    return 0;
}

/* Writes keys one per line into a temp file for postmap's stdin. */
static int keys_file(const char *const *keys, size_t n, char *path, size_t pathsz)
{
    const char *tmp = getenv("TMPDIR");
    FILE *f;
    int fd;

    snprintf(path, pathsz, "%s/hosted-milter-keys.XXXXXX",
             tmp != NULL && tmp[0] == '/' ? tmp : "/tmp");
    if ((fd = mkstemp(path)) < 0)
        return -1;
    if ((f = fdopen(fd, "w")) == NULL) {
        close(fd);
        unlink(path);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s\n", keys[i]);
    if (fclose(f) != 0) {
        unlink(path);
        return -1;
    }
    return 0;
}

static int postmap_match(struct pf_env *env, struct pf_list *l, const char *table,
                         const char *const *keys, size_t n, bool *found)
{
    const char *argv[] = {"postmap", "-c", env->config_dir, "-q", "-", table, NULL};
    char path[MTA_PATH_MAX], *out = NULL, *err = NULL;
    int rc;

    if (keys_file(keys, n, path, sizeof path) < 0)
        return -1;
    rc = pf_run(argv, path, &out, &err);
    unlink(path);
    if (out == NULL)
        return -1;
    if ((rc != 0 && rc != 1) || strstr(err, "fatal:") != NULL) {
        mta_error(env->rep, "%s: %s: cannot look up: %s", l->param, table, first_line(err));
    } else {
        /* "key<TAB>value" for each key found */
        for (char *line = out, *next; *line != '\0'; line = next) {
            next = line + strcspn(line, "\n");
            if (*next == '\n')
                *next++ = '\0';
            line[strcspn(line, "\t ")] = '\0';
            for (size_t i = 0; i < n; i++)
                if (strcasecmp(line, keys[i]) == 0)
                    found[i] = true;
        }
    }
    free(out);
    free(err);
    return 0;
}

/*
 * The keys Postfix's match_list looks up in a table for each name: the
 * name, then each parent ("b.c", "c" when the list is in
 * parent_domain_matches_subdomains, else ".b.c", ".c"); pattern tables
 * (regexp, pcre, cidr) get the name only.  Appends to ext; owner[j] is the
 * index in keys of ext->v[j].  Returns 0 or -1.
 */
static int table_keys(const char *table, const char *const *keys, size_t n, bool parent,
                      struct mta_list *ext, size_t **owner)
{
    bool fixed = strncmp(table, "regexp:", 7) != 0 && strncmp(table, "pcre:", 5) != 0 &&
                 strncmp(table, "cidr:", 5) != 0;

    for (size_t i = 0; i < n; i++) {
        for (const char *k = keys[i]; k != NULL; k = fixed ? strchr(k + 1, '.') : NULL) {
            const char *key = k == keys[i] ? k : parent ? k + 1 : k;
            size_t *o;
            if (key[0] == '\0' || (key[0] == '.' && key[1] == '\0'))
                continue; /* a trailing dot: no parent there */
            if ((o = realloc(*owner, (ext->n + 1) * sizeof *o)) == NULL)
                return -1;
            *owner = o;
            o[ext->n] = i;
            if (mta_list_add(ext, key) < 0)
                return -1;
        }
    }
    return 0;
}

static int table_match(struct pf_env *env, struct pf_list *l, const char *table,
                       const char *const *keys, size_t n, bool *found)
{
    struct mta_list ext = {0};
    size_t *owner = NULL;
    bool *efound = NULL;
    int rc = -1;

    if (table_keys(table, keys, n, l->parent_matches, &ext, &owner) < 0 ||
        (efound = calloc(ext.n + 1, sizeof *efound)) == NULL)
        goto out;
    if (strncmp(table, "socketmap:", 10) == 0)
        rc = socketmap_match(env, l, table, (const char *const *)ext.v, ext.n, efound);
    else
        rc = postmap_match(env, l, table, (const char *const *)ext.v, ext.n, efound);
    for (size_t j = 0; rc == 0 && j < ext.n; j++)
        found[owner[j]] = found[owner[j]] || efound[j];
out:
    mta_list_free(&ext);
    free(owner);
    free(efound);
    return rc;
}

int pf_list_match(struct pf_env *env, struct pf_list *l, const char *const *keys, size_t n,
                  bool *found)
{
    for (size_t i = 0; i < n; i++) {
        found[i] = false;
        for (size_t j = 0; j < l->names.n && !found[i]; j++)
            found[i] = mta_pattern_match(l->names.v[j], keys[i], l->parent_matches);
    }
    for (size_t t = 0; t < l->tables.n; t++) {
        const char *table = l->tables.v[t];
        /* proxymap needs a running Postfix; look the table up directly. */
        if (strncmp(table, "proxy:", 6) == 0)
            table += 6;
        if (table_match(env, l, table, keys, n, found) < 0)
            return -1;
    }
    return 0;
}

/* Table types whose keys `postmap -s` lists. */
static bool listable(const char *table)
{
    static const char *const types[] = {
        "hash:", "btree:", "lmdb:", "cdb:", "dbm:", "sdbm:", "texthash:"};

    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strncmp(table, types[i], strlen(types[i])) == 0)
            return true;
    return false;
}

int pf_list_names(struct pf_env *env, struct pf_list *l, struct mta_list *out)
{
    for (size_t i = 0; i < l->names.n; i++)
        if (mta_list_split(l->names.v[i], false, out) < 0)
            return -1;
    for (size_t t = 0; t < l->tables.n; t++) {
        const char *table = l->tables.v[t];
        if (strncmp(table, "proxy:", 6) == 0)
            table += 6;
        if (!listable(table))
            continue;
        const char *argv[] = {"postmap", "-c", env->config_dir, "-s", table, NULL};
        char *text = NULL, *err = NULL;
        int rc = pf_run(argv, NULL, &text, &err);
        if (text == NULL)
            return -1;
        if (rc == 0) {
            for (char *line = text, *next; *line != '\0'; line = next) {
                next = line + strcspn(line, "\n");
                if (*next == '\n')
                    *next++ = '\0';
                line[strcspn(line, "\t ")] = '\0';
                if (line[0] != '\0' && mta_list_split(line, false, out) < 0)
                    rc = -2;
            }
        }
        free(text);
        free(err);
        if (rc == -2)
            return -1;
    }
    return 0;
}
