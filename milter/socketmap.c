/*
 * socketmap.c - the socketmap server (socketmap.h): one thread, poll(2)
 * over the listening socket, a wake-up pipe and every client, all
 * non-blocking, so that no client can stall another.
 *
 * Owns struct socketmap and its clients.  A client is read only while its
 * replies are all written, and its input is parsed only while a reply
 * still fits its reply buffer, so every buffer stays bounded whatever the
 * client sends or fails to read.
 */
#include "socketmap.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "hosted_domains.h"
#include "live.h"
#include "log.h"
#include "util.h"

/* Bytes of a key shown in a log line. */
#define LOG_KEY_MAX 255

struct client {
    int fd;
    unsigned long id;  /* for log lines: the n-th connection */
    uint64_t deadline; /* ms: closed then unless a request completes */
    bool closing;      /* malformed: close once the PERM is written */
    bool told_unknown; /* an unknown map name was logged */
    size_t inlen, outoff, outlen;
    char in[4096];
    char out[4 * SOCKETMAP_REPLY_MAX];
    struct socketmap_parser parser;
};

struct socketmap {
    char *path;
    int listen_fd, wake[2];
    unsigned idle_ms, max_clients;
    bool bound, started;
    pthread_t thread;
    unsigned long next_id;
    struct client **clients; /* max_clients slots, NULL when free */
    struct pollfd *pfd;      /* wake, listen, then one per slot */
};

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
        return -1;
    return 0;
}

/* ------------------------------------------------------------------ */
/* the answer */

size_t socketmap_answer(const struct config *cfg, const struct socketmap_request *req, char *out,
                        size_t outsz, const char **status)
{
    static const char map[] = "domains";
    char canon[ADDR_DOMAIN_MAX + 1];
    char shown[LOG_ESCAPE_SIZE(LOG_KEY_MAX)];
    const char *data = "";
    int found;

    if (req->name_len != sizeof map - 1 || memcmp(req->name, map, sizeof map - 1) != 0) {
        *status = "PERM";
        return socketmap_format_reply(out, outsz, *status, "unknown map name");
    }
    if (cfg == NULL) {
        log_warning("socketmap: no configuration is live; answered TEMP");
        *status = "TEMP";
        return socketmap_format_reply(out, outsz, *status, "no configuration loaded");
    }
    found = hosted_domains_lookup(cfg->table, req->key, req->key_len, canon);
    if (found < 0) {
        *status = "TEMP";
        data = "out of memory";
        log_warning("socketmap: out of memory looking up a domain; answered TEMP");
    } else {
        *status = found ? "OK" : "NOTFOUND";
        data = found ? canon : "";
    }
    if (log_enabled(LOG_LEVEL_DEBUG)) {
        log_escape(shown, sizeof shown, req->key,
                   req->key_len < LOG_KEY_MAX ? req->key_len : LOG_KEY_MAX);
        log_debug("socketmap: domains %s: %s%s%s", shown, *status, *data != '\0' ? " " : "", data);
    }
    return socketmap_format_reply(out, outsz, *status, data);
}

/* The first unknown map name of a connection, logged (a misconfigured
 * Postfix asks it at every lookup: once is enough). */
static void log_unknown_map(struct client *c, const struct socketmap_request *req)
{
    char name[LOG_ESCAPE_SIZE(64)];

    if (c->told_unknown)
        return;
    c->told_unknown = true;
    log_escape(name, sizeof name, req->name, req->name_len < 64 ? req->name_len : 64);
    log_info("socketmap: client %lu: unknown map \"%s\"; answered PERM (logged once per "
             "connection)",
             c->id, name);
}

/* ------------------------------------------------------------------ */
/* clients */

static void client_close(struct socketmap *s, size_t slot, const char *why)
{
    struct client *c = s->clients[slot];

    log_debug("socketmap: client %lu: closed (%s)", c->id, why);
    close(c->fd);
    free(c);
    s->clients[slot] = NULL;
}

/* Parse what was read while a reply still fits.  A malformed stream gets
 * its PERM and no further parse. */
static void client_process(struct socketmap *s, struct client *c)
{
    while (c->inlen > 0 && !c->closing && c->outlen + SOCKETMAP_REPLY_MAX <= sizeof c->out) {
        struct socketmap_request req;
        struct live_ref *ref;
        const char *status;
        size_t used = 0;
        int r = socketmap_parser_feed(&c->parser, c->in, c->inlen, &used, &req);

        if (r < 0) {
            const char *why = socketmap_strerror(socketmap_parser_error(&c->parser));
            log_info("socketmap: client %lu: %s; answered PERM and closing", c->id, why);
            c->outlen +=
                socketmap_format_reply(c->out + c->outlen, sizeof c->out - c->outlen, "PERM", why);
            c->closing = true;
            c->inlen = 0;
            break;
        }
        if (r == 0) {
            c->inlen = 0;
            break;
        }
        /* the live configuration of this moment: reloads apply at once */
        ref = live_acquire();
        c->outlen += socketmap_answer(ref != NULL ? live_get(ref) : NULL, &req, c->out + c->outlen,
                                      sizeof c->out - c->outlen, &status);
        live_release(ref);
        if (strcmp(status, "PERM") == 0)
            log_unknown_map(c, &req);
        c->deadline = now_ms() + s->idle_ms;
        memmove(c->in, c->in + used, c->inlen - used);
        c->inlen -= used;
    }
}

/* Write what is pending; returns -1 when the client is gone. */
static int client_flush(struct client *c)
{
    while (c->outoff < c->outlen) {
        ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
        c->outoff += (size_t)n;
    }
    c->outoff = c->outlen = 0;
    return 0;
}

/* Read, answer and write as far as the buffers allow; -1: close it. */
static int client_serve(struct socketmap *s, struct client *c, short revents)
{
    if (c->outlen == 0 && (revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        ssize_t n = read(c->fd, c->in + c->inlen, sizeof c->in - c->inlen);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            return -1;
        if (n > 0)
            c->inlen += (size_t)n;
    }
    /* answer, write, and answer what the written replies made room for */
    for (;;) {
        client_process(s, c);
        if (c->outlen == 0)
            break;
        if (client_flush(c) < 0)
            return -1;
        if (c->outlen > 0 || c->inlen == 0)
            break;
    }
    return c->closing && c->outlen == 0 ? -1 : 0;
}

/* The slot of the client closest to its deadline (the longest idle). */
static size_t oldest(const struct socketmap *s)
{
    size_t best = 0;

    for (size_t i = 1; i < s->max_clients; i++)
        if (s->clients[i]->deadline < s->clients[best]->deadline)
            best = i;
    return best;
}

/* Takes one waiting connection; 0 when there was none. */
static int accept_client(struct socketmap *s)
{
    size_t slot = s->max_clients;
    struct client *c;
    int fd = accept(s->listen_fd, NULL, NULL);

    if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED)
            return 1;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            log_warning("socketmap: accept: %s", strerror(errno));
        return 0;
    }
    if (set_nonblock(fd) < 0 || (c = calloc(1, sizeof *c)) == NULL) {
        log_warning("socketmap: cannot take a client: %s", strerror(errno));
        close(fd);
        return 1;
    }
    for (size_t i = 0; i < s->max_clients && slot == s->max_clients; i++)
        if (s->clients[i] == NULL)
            slot = i;
    if (slot == s->max_clients) {
        slot = oldest(s);
        log_info("socketmap: %u clients, the most served at once; closing the longest idle "
                 "(client %lu)",
                 s->max_clients, s->clients[slot]->id);
        client_close(s, slot, "making room");
    }
    c->fd = fd;
    c->id = ++s->next_id;
    c->deadline = now_ms() + s->idle_ms;
    socketmap_parser_init(&c->parser);
    s->clients[slot] = c;
    log_debug("socketmap: client %lu: connected", c->id);
    return 1;
}

/* ------------------------------------------------------------------ */
/* the thread */

/* The poll set of this round; returns the poll timeout in ms. */
static int poll_set(struct socketmap *s, uint64_t now)
{
    uint64_t next = UINT64_MAX;

    s->pfd[0] = (struct pollfd){.fd = s->wake[0], .events = POLLIN};
    s->pfd[1] = (struct pollfd){.fd = s->listen_fd, .events = POLLIN};
    for (size_t i = 0; i < s->max_clients; i++) {
        struct client *c = s->clients[i];
        s->pfd[2 + i] = (struct pollfd){.fd = -1};
        if (c == NULL)
            continue;
        s->pfd[2 + i].fd = c->fd;
        s->pfd[2 + i].events = c->outlen > 0 ? POLLOUT : POLLIN;
        if (c->deadline < next)
            next = c->deadline;
    }
    if (next == UINT64_MAX)
        return -1;
    return next <= now ? 0 : (int)(next - now < 60000 ? next - now : 60000);
}

static void *serve(void *arg)
{
    struct socketmap *s = arg;

    for (;;) {
        int timeout = poll_set(s, now_ms());
        uint64_t now;

        if (poll(s->pfd, 2 + s->max_clients, timeout) < 0) {
            if (errno == EINTR)
                continue;
            log_err("socketmap: poll: %s; the socketmap stops answering", strerror(errno));
            break;
        }
        if (s->pfd[0].revents != 0)
            break; /* socketmap_free */
        now = now_ms();
        for (size_t i = 0; i < s->max_clients; i++) {
            struct client *c = s->clients[i];
            if (c == NULL)
                continue;
            if (s->pfd[2 + i].revents != 0 && client_serve(s, c, s->pfd[2 + i].revents) < 0)
                client_close(s, i, c->closing ? "malformed request" : "end of connection");
            else if (now >= c->deadline)
                client_close(s, i, "idle");
        }
        /* all that wait, so that a burst never fills the backlog (a
         * client with a connect timeout, as Postfix's, gets EAGAIN then) */
        if (s->pfd[1].revents & POLLIN)
            for (unsigned n = 0; n < s->max_clients && accept_client(s); n++)
                ;
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* the socket */

static int listen_on(struct socketmap *s)
{
    struct sockaddr_un sa;

    if (util_unix_addr(&sa, s->path) < 0) {
        log_err("socketmap %s: path too long for a unix socket", s->path);
        return -1;
    }
    /* what an earlier run left is removed; anything else stops the start */
    if (util_unix_clear_stale(s->path) < 0) {
        if (errno == EADDRINUSE)
            log_err("socketmap %s: another process listens there", s->path);
        else if (errno == ENOTSOCK)
            log_err("socketmap %s: exists and is not a socket", s->path);
        else
            log_err("socketmap %s: cannot remove the stale socket: %s", s->path, strerror(errno));
        return -1;
    }
    if ((s->listen_fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 || set_nonblock(s->listen_fd) < 0) {
        log_err("socketmap: socket: %s", strerror(errno));
        return -1;
    }
    if (bind(s->listen_fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        log_err("socketmap %s: bind: %s", s->path, strerror(errno));
        return -1;
    }
    s->bound = true;
    if (listen(s->listen_fd, SOMAXCONN) < 0) {
        log_err("socketmap %s: listen: %s", s->path, strerror(errno));
        return -1;
    }
    return 0;
}

struct socketmap *socketmap_open(const struct socketmap_options *o)
{
    struct socketmap *s = calloc(1, sizeof *s);

    if (s == NULL) {
        log_err("out of memory");
        return NULL;
    }
    s->listen_fd = s->wake[0] = s->wake[1] = -1;
    s->idle_ms = o->idle_ms > 0 ? o->idle_ms : SOCKETMAP_IDLE_MS;
    s->max_clients = o->max_clients > 0 ? o->max_clients : SOCKETMAP_MAX_CLIENTS;
    if ((s->path = strdup(o->path)) == NULL ||
        (s->clients = calloc(s->max_clients, sizeof *s->clients)) == NULL ||
        (s->pfd = calloc(2 + (size_t)s->max_clients, sizeof *s->pfd)) == NULL) {
        log_err("out of memory");
        goto fail;
    }
    if (pipe(s->wake) < 0 || set_nonblock(s->wake[0]) < 0 || set_nonblock(s->wake[1]) < 0) {
        log_err("socketmap: pipe: %s", strerror(errno));
        goto fail;
    }
    if (listen_on(s) < 0)
        goto fail;
    return s;
fail:
    socketmap_free(s);
    return NULL;
}

int socketmap_start(struct socketmap *s)
{
    sigset_t all, old;
    int err;

    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    err = pthread_create(&s->thread, NULL, serve, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err != 0) {
        log_err("socketmap: cannot start its thread: %s", strerror(err));
        return -1;
    }
    s->started = true;
    log_notice("socketmap listening on unix:%s (map \"domains\")", s->path);
    return 0;
}

void socketmap_free(struct socketmap *s)
{
    if (s == NULL)
        return;
    if (s->started) {
        ssize_t n;
        do
            n = write(s->wake[1], "x", 1);
        while (n < 0 && errno == EINTR);
        pthread_join(s->thread, NULL);
    }
    for (size_t i = 0; s->clients != NULL && i < s->max_clients; i++)
        if (s->clients[i] != NULL)
            client_close(s, i, "stopping");
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    if (s->bound && util_unix_remove(s->path) < 0)
        log_debug("cannot remove socket %s: %s", s->path, strerror(errno));
    for (int i = 0; i < 2; i++)
        if (s->wake[i] >= 0)
            close(s->wake[i]);
    free(s->clients);
    free(s->pfd);
    free(s->path);
    free(s);
}
