/*
 * check_socketmap.c - unit tests of hosted_domains.c (the -D list and the
 * lookup agree, forms, case, trailing dot, garbage) and socketmap.c (the
 * answers, and the server over a real unix socket: pipelining, PERM and
 * close, the idle timeout, the client limit, a reload seen at once, the
 * socket file's life).
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "check_cases.h"
#include "config.h"
#include "diag.h"
#include "hosted_domains.h"
#include "live.h"
#include "log.h"
#include "socketmap.h"
#include "util.h"

static const char conf_a[] = "postmaster = \"pm@corp.example\"\n"
                             "domain \"corp.example\" { }\n"
                             "domain \"example.net\" { alias_domain = \"corp.example\" }\n"
                             "domain \"legacy.example\" { unknown_recipient = pass }\n"
                             "domain \"bücher.example\" { }\n"
                             "mailbox \"pm@corp.example\" { }\n";
static const char conf_b[] = "postmaster = \"pm@corp.example\"\n"
                             "domain \"corp.example\" { }\n"
                             "domain \"new.example\" { }\n"
                             "mailbox \"pm@corp.example\" { }\n";

static struct config *load(const char *text)
{
    struct diag *d = diag_new();
    struct config *c;

    ck_assert_ptr_nonnull(d);
    c = config_load_buffer("t.conf", text, strlen(text), d);
    ck_assert_msg(c != NULL, "%s", diag_size(d) > 0 ? diag_text(d, 0) : "?");
    diag_free(d);
    return c;
}

static char dir[64], sock_path[96];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/check_socketmap.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(sock_path, sizeof sock_path, "%s/sm.sock", dir);
    log_open("check_socketmap", true, LOG_LEVEL_ERR);
}

static void teardown(void)
{
    live_install(NULL);
    unlink(sock_path);
    rmdir(dir);
    log_close();
}

/* ------------------------------------------------------------------ */
/* hosted_domains */

struct names {
    char text[1024];
};

static int collect(const char *name, void *arg)
{
    struct names *n = arg;
    size_t o = strlen(n->text);
    snprintf(n->text + o, sizeof n->text - o, "%s\n", name);
    return 0;
}

static int stop_at_second(const char *name, void *arg)
{
    (void)name;
    return ++*(int *)arg == 2 ? 7 : 0;
}

static int lookup_each(const char *name, void *arg)
{
    char canon[ADDR_DOMAIN_MAX + 1];
    ck_assert_msg(hosted_domains_lookup(arg, name, strlen(name), canon) == 1, "%s", name);
    return 0;
}

START_TEST(test_list_and_lookup_agree)
{
    struct config *c = load(conf_a);
    struct names n = {{0}};
    int calls = 0;

    ck_assert_int_eq(hosted_domains_each(c->table, collect, &n), 0);
    ck_assert_str_eq(n.text, "corp.example\nexample.net\nlegacy.example\n"
                             "xn--bcher-kva.example\nbücher.example\n");
    /* every name listed is found */
    ck_assert_int_eq(hosted_domains_each(c->table, lookup_each, c->table), 0);
    ck_assert_int_eq(hosted_domains_each(c->table, stop_at_second, &calls), 7);
    ck_assert_int_eq(calls, 2);
    config_free(c);
}
END_TEST

static const struct {
    const char *key;
    size_t len; /* 0: strlen */
    int found;
    const char *canon;
} keys[] = {
    {"corp.example", 0, 1, "corp.example"},
    {"CORP.Example", 0, 1, "corp.example"},
    {"corp.example.", 0, 1, "corp.example"},
    {"example.net", 0, 1, "example.net"}, /* alias domain */
    {"legacy.example", 0, 1, "legacy.example"},
    {"bücher.example", 0, 1, "xn--bcher-kva.example"},
    {"BÜCHER.example.", 0, 1, "xn--bcher-kva.example"},
    {"XN--BCHER-KVA.example", 0, 1, "xn--bcher-kva.example"},
    {"sub.corp.example", 0, 0, ""}, /* no parent-domain matching */
    {"example", 0, 0, ""},
    {".corp.example", 0, 0, ""},
    {"corp.example..", 0, 0, ""},
    {"pm@corp.example", 0, 0, ""},
    {"corp.example\0x", 14, 0, ""},
    {"corp.example\r\n", 0, 0, ""},
    {"b\xfc"
     "cher.example",
     0, 0, ""}, /* Latin-1, not UTF-8 */
    {"[192.0.2.1]", 0, 0, ""},
    {"", 0, 0, ""},
};

START_TEST(test_lookup)
{
    struct config *c = load(conf_a);
    char canon[ADDR_DOMAIN_MAX + 1];
    size_t len = keys[_i].len ? keys[_i].len : strlen(keys[_i].key);

    ck_assert_int_eq(hosted_domains_lookup(c->table, keys[_i].key, len, canon), keys[_i].found);
    ck_assert_str_eq(canon, keys[_i].canon);
    config_free(c);
}
END_TEST

START_TEST(test_lookup_long)
{
    struct config *c = load(conf_a);
    char canon[ADDR_DOMAIN_MAX + 1], *key = malloc(SOCKETMAP_REQUEST_MAX);

    ck_assert_ptr_nonnull(key);
    memset(key, 'a', SOCKETMAP_REQUEST_MAX);
    ck_assert_int_eq(hosted_domains_lookup(c->table, key, SOCKETMAP_REQUEST_MAX, canon), 0);
    free(key);
    config_free(c);
}
END_TEST

/* ------------------------------------------------------------------ */
/* socketmap_answer */

static const char *answer(const struct config *c, const char *name, const char *key, char *out)
{
    struct socketmap_request req = {name, key, strlen(name), strlen(key)};
    const char *status = NULL;
    size_t n = socketmap_answer(c, &req, out, SOCKETMAP_REPLY_MAX, &status);

    out[n] = '\0';
    /* the status word is the reply's */
    ck_assert_ptr_nonnull(status);
    ck_assert(strncmp(strchr(out, ':') + 1, status, strlen(status)) == 0);
    return out;
}

START_TEST(test_answer)
{
    struct config *c = load(conf_a);
    char out[SOCKETMAP_REPLY_MAX + 1];

    ck_assert_str_eq(answer(c, "domains", "Corp.Example.", out), "15:OK corp.example,");
    ck_assert_str_eq(answer(c, "domains", "bücher.example", out), "24:OK xn--bcher-kva.example,");
    ck_assert_str_eq(answer(c, "domains", "other.example", out), "9:NOTFOUND ,");
    ck_assert_str_eq(answer(c, "virtual", "corp.example", out), "21:PERM unknown map name,");
    ck_assert_str_eq(answer(c, "Domains", "corp.example", out), "21:PERM unknown map name,");
    ck_assert_str_eq(answer(NULL, "domains", "corp.example", out),
                     "28:TEMP no configuration loaded,");
    config_free(c);
}
END_TEST

/* ------------------------------------------------------------------ */
/* the server */

static int connect_to(const char *path)
{
    int fd = util_unix_connect(path);

    ck_assert_msg(fd >= 0, "connect %s: %s", path, strerror(errno));
    return fd;
}

static void send_text(int fd, const char *text, size_t len)
{
    ck_assert_int_eq(send(fd, text, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* Reads until want bytes came or EOF / timeout_ms; returns them, NUL
 * terminated, in buf; *eof tells whether the server closed. */
static size_t recv_text(int fd, char *buf, size_t bufsz, size_t want, int timeout_ms, bool *eof)
{
    size_t got = 0;

    *eof = false;
    while (got < want && got + 1 < bufsz) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t n;
        if (poll(&p, 1, timeout_ms) <= 0)
            break;
        n = read(fd, buf + got, bufsz - 1 - got);
        if (n <= 0) {
            *eof = true;
            break;
        }
        got += (size_t)n;
    }
    buf[got] = '\0';
    return got;
}

/* Whether the server closes fd within timeout_ms (replies still unread
 * are skipped). */
static bool closed_within(int fd, int timeout_ms)
{
    char buf[4096];
    bool eof = false;

    while (!eof && recv_text(fd, buf, sizeof buf, sizeof buf, timeout_ms, &eof) > 0)
        ;
    return eof;
}

static struct socketmap *start_server(unsigned idle_ms, unsigned max_clients)
{
    struct socketmap_options o = {sock_path, idle_ms, max_clients};
    struct socketmap *s = socketmap_open(&o);

    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(socketmap_start(s), 0);
    return s;
}

START_TEST(test_server_answers_and_follows_reload)
{
    struct socketmap *s;
    const char req[] = "20:domains corp.example,19:domains new.example,";
    char buf[256];
    bool eof;
    int fd;

    ck_assert_int_eq(live_install(load(conf_a)), 0);
    s = start_server(0, 0);
    fd = connect_to(sock_path);
    /* pipelined, and split in the middle of the second request */
    send_text(fd, req, 25);
    usleep(20000);
    send_text(fd, req + 25, sizeof req - 1 - 25);
    recv_text(fd, buf, sizeof buf, 31, 2000, &eof);
    ck_assert_str_eq(buf, "15:OK corp.example,9:NOTFOUND ,");
    /* a reload applies to the next request on the same connection */
    ck_assert_int_eq(live_install(load(conf_b)), 0);
    send_text(fd, req + 24, sizeof req - 1 - 24);
    recv_text(fd, buf, sizeof buf, 18, 2000, &eof);
    ck_assert_str_eq(buf, "14:OK new.example,");
    /* nothing live: TEMP, the connection stays */
    ck_assert_int_eq(live_install(NULL), 0);
    send_text(fd, req, 24);
    recv_text(fd, buf, sizeof buf, 32, 2000, &eof);
    ck_assert_str_eq(buf, "28:TEMP no configuration loaded,");
    ck_assert(!eof);
    close(fd);
    socketmap_free(s);
    ck_assert_int_eq(access(sock_path, F_OK), -1); /* removed */
}
END_TEST

static const struct {
    const char *in;
    const char *reply;
} garbage[] = {
    {"GET / HTTP/1.0\r\n\r\n", "31:PERM malformed netstring length,"},
    {"10001:", "21:PERM request too long,"},
    {"7:domains,", "30:PERM request is not \"name key\","},
    {"9:domains x;", "32:PERM netstring without its comma,"},
    {"20:domains corp.example,x", "15:OK corp.example,31:PERM malformed netstring length,"},
};

START_TEST(test_server_garbage_perm_and_close)
{
    struct socketmap *s;
    char buf[256];
    bool eof;
    int fd;

    ck_assert_int_eq(live_install(load(conf_a)), 0);
    s = start_server(0, 0);
    fd = connect_to(sock_path);
    send_text(fd, garbage[_i].in, strlen(garbage[_i].in));
    recv_text(fd, buf, sizeof buf, sizeof buf, 2000, &eof);
    ck_assert_str_eq(buf, garbage[_i].reply);
    ck_assert(eof);
    close(fd);
    /* and the next client is served */
    fd = connect_to(sock_path);
    send_text(fd, "20:domains corp.example,", 24);
    recv_text(fd, buf, sizeof buf, 19, 2000, &eof);
    ck_assert_str_eq(buf, "15:OK corp.example,");
    close(fd);
    socketmap_free(s);
}
END_TEST

START_TEST(test_server_idle_and_half_requests_closed)
{
    struct socketmap *s;
    int idle, half;

    ck_assert_int_eq(live_install(load(conf_a)), 0);
    s = start_server(300, 0);
    idle = connect_to(sock_path);
    half = connect_to(sock_path);
    /* a request kept incomplete does not extend the deadline */
    send_text(half, "20:domains", 10);
    usleep(150000);
    send_text(half, " corp", 5);
    ck_assert(closed_within(idle, 2000));
    ck_assert(closed_within(half, 2000));
    close(idle);
    close(half);
    socketmap_free(s);
}
END_TEST

START_TEST(test_server_client_limit_evicts_longest_idle)
{
    struct socketmap *s;
    char buf[64];
    bool eof;
    int fd[3];

    ck_assert_int_eq(live_install(load(conf_a)), 0);
    s = start_server(0, 2);
    fd[0] = connect_to(sock_path);
    usleep(50000);
    fd[1] = connect_to(sock_path);
    usleep(50000);
    /* the first has the oldest deadline, the second just asked */
    send_text(fd[1], "20:domains corp.example,", 24);
    recv_text(fd[1], buf, sizeof buf, 19, 2000, &eof);
    fd[2] = connect_to(sock_path);
    ck_assert(closed_within(fd[0], 2000));
    for (int i = 1; i < 3; i++) {
        send_text(fd[i], "20:domains corp.example,", 24);
        recv_text(fd[i], buf, sizeof buf, 19, 2000, &eof);
        ck_assert_str_eq(buf, "15:OK corp.example,");
    }
    for (int i = 0; i < 3; i++)
        close(fd[i]);
    socketmap_free(s);
}
END_TEST

START_TEST(test_server_unread_replies_bounded)
{
    struct socketmap *s;
    char *flood = malloc(24 * 20000);
    size_t sent = 0;
    int fd;

    ck_assert_ptr_nonnull(flood);
    for (int i = 0; i < 20000; i++)
        memcpy(flood + 24 * i, "20:domains corp.example,", 24);
    ck_assert_int_eq(live_install(load(conf_a)), 0);
    s = start_server(300, 0);
    fd = connect_to(sock_path);
    /* the client writes and never reads: the server stops reading, the
     * socket buffers fill, and the idle deadline closes it */
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        ssize_t n;
        if (sent == 24 * 20000 || poll(&p, 1, 1000) <= 0)
            break;
        n = send(fd, flood + sent, 24 * 20000 - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n <= 0)
            break;
        sent += (size_t)n;
    }
    ck_assert_uint_lt(sent, 24 * 20000);
    ck_assert(closed_within(fd, 3000));
    close(fd);
    free(flood);
    socketmap_free(s);
}
END_TEST

START_TEST(test_socket_file)
{
    struct socketmap_options o = {sock_path, 0, 0};
    struct socketmap *s, *s2;
    FILE *f;

    /* a stale socket is replaced */
    s = socketmap_open(&o);
    ck_assert_ptr_nonnull(s);
    /* one in use is refused */
    ck_assert_ptr_null(socketmap_open(&o));
    socketmap_free(s);
    ck_assert_int_eq(access(sock_path, F_OK), -1);
    {
        /* a socket nobody listens on: stale */
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock_path);
        ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
        close(fd);
    }
    s2 = socketmap_open(&o);
    ck_assert_ptr_nonnull(s2);
    socketmap_free(s2);
    /* a file that is no socket is left alone */
    f = fopen(sock_path, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    ck_assert_ptr_null(socketmap_open(&o));
    ck_assert_int_eq(access(sock_path, F_OK), 0);
    socketmap_free(NULL);
}
END_TEST

static Suite *socketmap_suite(void)
{
    Suite *s = suite_create("socketmap");
    const struct check_case cases[] = {
        {"list_and_lookup_agree", test_list_and_lookup_agree, 0},
        {"lookup", test_lookup, (int)(sizeof keys / sizeof keys[0])},
        {"lookup_long", test_lookup_long, 0},
        {"answer", test_answer, 0},
        {"server_answers_and_follows_reload", test_server_answers_and_follows_reload, 0},
        {"server_garbage_perm_and_close", test_server_garbage_perm_and_close,
         (int)(sizeof garbage / sizeof garbage[0])},
        {"server_idle_and_half_requests_closed", test_server_idle_and_half_requests_closed, 0},
        {"server_client_limit_evicts_longest_idle", test_server_client_limit_evicts_longest_idle,
         0},
        {"server_unread_replies_bounded", test_server_unread_replies_bounded, 0},
        {"socket_file", test_socket_file, 0},
    };

    /* the server tests wait for timeouts of their own; on a loaded
     * machine check's default 4 s is too short for them */
    check_add_cases(s, cases, sizeof cases / sizeof cases[0], setup, teardown, 30);
    return s;
}

int main(void)
{
    return check_run(socketmap_suite());
}
