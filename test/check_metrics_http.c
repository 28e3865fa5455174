/*
 * check_metrics_http.c - unit tests of the metrics server (metrics_http.c)
 * through real sockets: a unix socket in a temporary directory, and
 * 127.0.0.1 on a port that was free a moment ago.
 *
 * Requests are written byte for byte (no HTTP library), so the bad ones
 * are exactly as bad as meant: wrong paths and methods, an oversize
 * request line and header, garbage, idle connections beyond the limit.
 * After each, the server must still answer GET /metrics.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
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
#include "live.h"
#include "metrics.h"
#include "metrics_http.h"
#include "util.h"

static char tmpdir[64];

/* path into sun (the test's paths all fit). */
static void set_path(struct sockaddr_un *sun, const char *path)
{
    ck_assert_int_eq(util_unix_addr(sun, path), 0);
}
static char sock_path[128];
static char spec[160];
static struct metrics_http *server;

static void setup(void)
{
    char err[256];

    snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_metrics_http.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(sock_path, sizeof(sock_path), "%s/m.sock", tmpdir);
    snprintf(spec, sizeof(spec), "unix:%s", sock_path);
    server = metrics_http_open(spec, err, sizeof(err));
    ck_assert_msg(server != NULL, "%s", err);
    ck_assert_int_eq(metrics_http_start(server, 1234.5, err, sizeof(err)), 0);
}

static void teardown(void)
{
    metrics_http_free(server);
    server = NULL;
    live_install(NULL);
    rmdir(tmpdir);
}

/* A connection to the unix socket at path; nonblock: the connect may find
 * the backlog full (EAGAIN), which is no failure then (-1 is returned). */
static int connect_unix_mode(const char *path, bool nonblock)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0);

    ck_assert_int_ge(fd, 0);
    set_path(&sun, path);
    if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
        return fd;
    ck_assert_msg(nonblock && errno == EAGAIN, "connect %s: %s", path, strerror(errno));
    close(fd);
    return -1;
}

static int connect_unix(const char *path)
{
    return connect_unix_mode(path, false);
}

/* Everything the server sends until it closes (or 5 s of silence). */
static char *read_all(int fd)
{
    size_t len = 0, size = 4096;
    char *buf = malloc(size);
    struct pollfd p = {.fd = fd, .events = POLLIN};

    ck_assert_ptr_nonnull(buf);
    while (poll(&p, 1, 5000) == 1) {
        ssize_t n;
        if (len + 1024 > size) {
            size *= 2;
            ck_assert_ptr_nonnull(buf = realloc(buf, size));
        }
        n = read(fd, buf + len, size - len - 1);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    return buf;
}

/* Sends len bytes of request over a new connection to the unix socket,
 * shuts the writing side (so a server waiting for more sees the end),
 * and returns the whole answer. */
static char *ask_bytes(const char *request, size_t len)
{
    int fd = connect_unix(sock_path);
    char *answer;
    size_t off = 0;

    while (off < len) {
        /* MSG_NOSIGNAL: the server may close before it has read all */
        ssize_t n = send(fd, request + off, len - off, MSG_NOSIGNAL);
        if (n <= 0)
            break; /* the server may close early on a bad request */
        off += (size_t)n;
    }
    shutdown(fd, SHUT_WR);
    answer = read_all(fd);
    close(fd);
    return answer;
}

static char *ask(const char *request)
{
    return ask_bytes(request, strlen(request));
}

/* The status code of an answer; 0 when there is none. */
static int status_of(const char *answer)
{
    int code = 0;

    if (sscanf(answer, "HTTP/1.%*1d %d", &code) != 1)
        return 0;
    return code;
}

/* GET /metrics works and shows the metrics. */
static void assert_serving(void)
{
    char *a = ask("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");

    ck_assert_int_eq(status_of(a), 200);
    ck_assert_ptr_nonnull(strstr(a, "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8"));
    ck_assert_ptr_nonnull(strstr(a, "\nhosted_milter_build_info{version=\""));
    ck_assert_ptr_nonnull(strstr(a, "\nprocess_start_time_seconds 1234.500\n"));
    free(a);
}

START_TEST(test_get_metrics)
{
    struct stat st;

    assert_serving();
    /* HTTP/1.0, a query string: the same */
    char *a = ask("GET /metrics?x=1 HTTP/1.0\r\n\r\n");
    ck_assert_int_eq(status_of(a), 200);
    ck_assert_ptr_nonnull(strstr(a, "\nhosted_milter_messages_total "));
    free(a);
    /* HEAD: the headers, no body */
    a = ask("HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    ck_assert_int_eq(status_of(a), 200);
    ck_assert_ptr_null(strstr(a, "hosted_milter_messages_total"));
    free(a);
    /* the socket is 0660 */
    ck_assert_int_eq(stat(sock_path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0660);
}
END_TEST

static const struct {
    const char *request;
    int status;
} requests[] = {
    /* status: exact; -1: refused (4xx/5xx) or closed; 0: anything */
    {"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 404},
    {"GET /metrics/ HTTP/1.1\r\nHost: x\r\n\r\n", 404},
    {"GET /Metrics HTTP/1.1\r\nHost: x\r\n\r\n", 404},
    /* libmicrohttpd unescapes the path: a NUL ends it, the same path */
    {"GET /metrics%00 HTTP/1.1\r\nHost: x\r\n\r\n", 200},
    {"GET /%6detrics HTTP/1.1\r\nHost: x\r\n\r\n", 200},
    {"GET ../metrics HTTP/1.1\r\nHost: x\r\n\r\n", 404},
    {"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", 405},
    {"PUT /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405},
    {"DELETE /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 405},
    {"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 405},
    {"BREW /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 405},
    /* malformed: libmicrohttpd's 400, or no answer at all */
    {"GET /metrics HTTP/9.9\r\n\r\n", -1},
    {"GET\r\n\r\n", -1},
    {"\r\n\r\n\r\n", -1},
    {"GET /metrics HTTP/1.1\r\nNo colon here\r\n\r\n", -1},
    /* a body that is no chunk: answered or refused, never a crash */
    {"GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n", 0},
};

START_TEST(test_odd_requests)
{
    char *a = ask(requests[_i].request);
    int status = status_of(a);

    if (requests[_i].status > 200) {
        ck_assert_msg(status == requests[_i].status, "%s -> %s", requests[_i].request, a);
        if (status == 405)
            ck_assert_ptr_nonnull(strstr(a, "\r\nAllow: GET, HEAD\r\n"));
        ck_assert_ptr_null(strstr(a, "hosted_milter_"));
    } else if (requests[_i].status == 200) {
        ck_assert_msg(status == 200, "%s -> %s", requests[_i].request, a);
    } else if (requests[_i].status < 0) {
        ck_assert_msg(status == 0 || (status >= 400 && status < 600), "%s -> %s",
                      requests[_i].request, a);
    }
    free(a);
    assert_serving();
}
END_TEST

/* A request line or header longer than the connection's memory: refused
 * (414 / 431 or closed), the server unharmed. */
START_TEST(test_oversize)
{
    size_t big = 4 * METRICS_HTTP_MEMORY;
    char *req = malloc(big + 64), *a;

    ck_assert_ptr_nonnull(req);
    memcpy(req, "GET /", 5);
    memset(req + 5, 'a', big);
    strcpy(req + 5 + big, " HTTP/1.1\r\nHost: x\r\n\r\n");
    a = ask(req);
    ck_assert_msg(status_of(a) == 414 || status_of(a) == 0, "%.80s", a);
    free(a);
    strcpy(req, "GET /metrics HTTP/1.1\r\nX-Big: ");
    memset(req + strlen(req), 'b', big);
    strcpy(req + 30 + big, "\r\n\r\n");
    a = ask(req);
    ck_assert_msg(status_of(a) == 431 || status_of(a) == 413 || status_of(a) == 0, "%.80s", a);
    free(a);
    free(req);
    assert_serving();
}
END_TEST

/* Bytes no HTTP has: every value of a byte, NULs included. */
START_TEST(test_garbage)
{
    char junk[4096];
    char *a;

    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (char)(i * 131 + 7);
    a = ask_bytes(junk, sizeof(junk));
    ck_assert_msg(status_of(a) == 0 || status_of(a) >= 400, "%.80s", a);
    free(a);
    a = ask_bytes("GET /metrics HTTP/1.1\r\nHost: \0x\r\n\r\n", 33);
    free(a);
    assert_serving();
}
END_TEST

/* Idle connections up to the limit leave room for a scrape; past the
 * limit the extra ones are closed, and once they go, scrapes work. */
START_TEST(test_idle_connections)
{
    int fds[3 * METRICS_HTTP_CONNECTIONS];
    size_t n = sizeof(fds) / sizeof(fds[0]);

    for (int i = 0; i < METRICS_HTTP_CONNECTIONS - 1; i++)
        fds[i] = connect_unix(sock_path);
    /* a half-sent request on one of them */
    ck_assert_int_eq(send(fds[0], "GET /metr", 9, MSG_NOSIGNAL), 9);
    assert_serving();
    /* past the limit: the server takes no more, the backlog fills */
    for (size_t i = METRICS_HTTP_CONNECTIONS - 1; i < n; i++)
        fds[i] = connect_unix_mode(sock_path, true);
    for (size_t i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    usleep(200 * 1000);
    assert_serving();
}
END_TEST

/* The live configuration's table is in the scrape, and follows a swap. */
START_TEST(test_live_table)
{
    struct diag *d = diag_new();
    const char *text = "postmaster = \"pm@a.example\"\n"
                       "domain \"a.example\" { }\ndomain \"b.example\" { }\n"
                       "mailbox \"pm@a.example\" { addresses = { \"x@b.example\" } }\n"
                       "alias \"y@b.example\" { to = { \"pm@a.example\" } }\n";
    struct config *cfg = config_load_buffer("m.conf", text, strlen(text), d);
    char *a;

    ck_assert_ptr_nonnull(cfg);
    a = ask("GET /metrics HTTP/1.0\r\n\r\n");
    ck_assert_ptr_null(strstr(a, "hosted_milter_table_domains"));
    free(a);
    ck_assert_int_eq(live_install(cfg), 0);
    a = ask("GET /metrics HTTP/1.0\r\n\r\n");
    ck_assert_ptr_nonnull(strstr(a, "\nhosted_milter_table_domains 2\n"));
    ck_assert_ptr_nonnull(strstr(a, "\nhosted_milter_table_addresses{kind=\"mailbox\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(a, "\nhosted_milter_table_addresses{kind=\"secondary\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(a, "\nhosted_milter_table_addresses{kind=\"alias\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(a, "\nhosted_milter_table_last_load_timestamp_seconds "));
    free(a);
    diag_free(d);
}
END_TEST

/* A second server on the same path: refused while the first listens. */
START_TEST(test_path_in_use)
{
    char err[256];

    ck_assert_ptr_null(metrics_http_open(spec, err, sizeof(err)));
    ck_assert_msg(strstr(err, "cannot listen: Address already in use") != NULL, "%s", err);
    assert_serving(); /* the failed one did not remove the first one's file */
}
END_TEST

/* A stale socket file (nothing listening) is replaced; the file goes with
 * the server; something else at the path is left alone. */
START_TEST(test_stale_socket)
{
    char path[160], s2[200], err[256];
    struct metrics_http *h;
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    struct stat st;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    FILE *f;

    snprintf(path, sizeof(path), "%s/stale.sock", tmpdir);
    set_path(&sun, path);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    close(fd); /* bound, never listened: a crash's leftover */
    snprintf(s2, sizeof(s2), "unix:%s", path);
    h = metrics_http_open(s2, err, sizeof(err));
    ck_assert_msg(h != NULL, "%s", err);
    metrics_http_free(h);
    ck_assert_int_ne(stat(path, &st), 0);
    /* a regular file: not ours to remove */
    ck_assert_ptr_nonnull(f = fopen(path, "w"));
    fclose(f);
    ck_assert_ptr_null(metrics_http_open(s2, err, sizeof(err)));
    ck_assert_int_eq(stat(path, &st), 0);
    unlink(path);
    /* a directory that does not exist */
    snprintf(s2, sizeof(s2), "unix:%s/no/such/dir.sock", tmpdir);
    ck_assert_ptr_null(metrics_http_open(s2, err, sizeof(err)));
    ck_assert_msg(strstr(err, "No such file or directory") != NULL, "%s", err);
    /* bad syntax never reaches a socket */
    ck_assert_ptr_null(metrics_http_open("localhost:80", err, sizeof(err)));
    ck_assert_str_eq(err, "metrics \"localhost:80\": not a numeric IPv4 address (a host name is "
                          "not taken)");
}
END_TEST

/* 127.0.0.1: a port that was free; GET over TCP. */
START_TEST(test_inet)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    socklen_t len = sizeof(sin);
    char s2[64], err[256];
    struct metrics_http *h;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    char *a;

    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    close(fd);
    snprintf(s2, sizeof(s2), "127.0.0.1:%u", ntohs(sin.sin_port));
    h = metrics_http_open(s2, err, sizeof(err));
    ck_assert_msg(h != NULL, "%s", err);
    ck_assert_int_eq(metrics_http_start(h, 1, err, sizeof(err)), 0);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    ck_assert_int_eq(write(fd, "GET /metrics HTTP/1.0\r\n\r\n", 25), 25);
    a = read_all(fd);
    close(fd);
    ck_assert_int_eq(status_of(a), 200);
    ck_assert_ptr_nonnull(strstr(a, "\nprocess_start_time_seconds 1.000\n"));
    free(a);
    /* the port is taken now */
    ck_assert_ptr_null(metrics_http_open(s2, err, sizeof(err)));
    metrics_http_free(h);
}
END_TEST

static Suite *metrics_http_suite(void)
{
    Suite *s = suite_create("metrics_http");
    const struct check_case cases[] = {
        {"get_metrics", test_get_metrics, 0},
        {"odd_requests", test_odd_requests, sizeof(requests) / sizeof(requests[0])},
        {"oversize", test_oversize, 0},
        {"garbage", test_garbage, 0},
        {"idle_connections", test_idle_connections, 0},
        {"live_table", test_live_table, 0},
        {"path_in_use", test_path_in_use, 0},
        {"stale_socket", test_stale_socket, 0},
        {"inet", test_inet, 0},
    };

    check_add_cases(s, cases, sizeof cases / sizeof cases[0], setup, teardown, 30);
    return s;
}

int main(void)
{
    return check_run(metrics_http_suite());
}
