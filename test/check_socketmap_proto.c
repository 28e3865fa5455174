/*
 * check_socketmap_proto.c - unit tests of socketmap_proto.c: requests
 * whole, split over reads at every byte, pipelined; every malformed form
 * refused with its error at the byte that shows it; the reply formatter.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "socketmap_proto.h"

/* Feeds text in pieces of step bytes (0: whole) and collects the requests
 * as "name|key;" into out; returns the parser's last result (-1: refused,
 * 0: incomplete at the end, 1: ended with a request). */
static int feed_all(struct socketmap_parser *p, const char *text, size_t len, size_t step,
                    char *out, size_t outsz)
{
    size_t off = 0;
    int r = 0;

    out[0] = '\0';
    socketmap_parser_init(p);
    while (off < len) {
        size_t n = step == 0 || len - off < step ? len - off : step, used = 0;
        struct socketmap_request req;
        r = socketmap_parser_feed(p, text + off, n, &used, &req);
        if (r < 0)
            return r;
        ck_assert_uint_le(used, n);
        if (r == 1) {
            size_t o = strlen(out);
            snprintf(out + o, outsz - o, "%.*s|%.*s;", (int)req.name_len, req.name,
                     (int)req.key_len, req.key);
            ck_assert_uint_gt(used, 0);
        } else {
            ck_assert_uint_eq(used, n); /* 0: everything was taken */
        }
        off += used;
    }
    return r;
}

static const struct {
    const char *in;
    const char *requests; /* as feed_all writes them */
    int last;             /* feed_all's result */
} good[] = {
    {"20:domains corp.example,", "domains|corp.example;", 1},
    {"21:domains CORP.example.,", "domains|CORP.example.;", 1},
    {"9:domains x,10:virtual a@,", "domains|x;virtual|a@;", 1},
    {"11:domains a b,", "domains|a b;", 1}, /* the key is the rest */
    {"9:domains x,9:dom", "domains|x;", 0}, /* a second one not complete */
    {"9:domains", "", 0},
    {"", "", 0},
};

START_TEST(test_good)
{
    struct socketmap_parser *p = malloc(sizeof *p);
    char got[512];
    const char *in = good[_i].in;

    ck_assert_ptr_nonnull(p);
    /* the same requests whole and split at every byte */
    for (size_t step = 0; step <= 3; step++) {
        int r = feed_all(p, in, strlen(in), step, got, sizeof got);
        ck_assert_msg(r == good[_i].last, "%s step %zu: %d", in, step, r);
        ck_assert_str_eq(got, good[_i].requests);
        ck_assert_int_eq(socketmap_parser_error(p), SOCKETMAP_OK);
    }
    free(p);
}
END_TEST

static const struct {
    const char *in;
    size_t len; /* 0: strlen */
    enum socketmap_error err;
    size_t refused_at; /* bytes fed byte by byte before the refusal */
} bad[] = {
    {"x:domains a,", 0, SOCKETMAP_ERR_LENGTH, 1},
    {":domains a,", 0, SOCKETMAP_ERR_LENGTH, 1},   /* no digits */
    {"09:domains a,", 0, SOCKETMAP_ERR_LENGTH, 2}, /* leading zero */
    {"00:", 0, SOCKETMAP_ERR_LENGTH, 2},
    {"9 :domains x,", 0, SOCKETMAP_ERR_LENGTH, 2}, /* space before ':' */
    {"-9:domains x,", 0, SOCKETMAP_ERR_LENGTH, 1},
    {"9,domains x,", 0, SOCKETMAP_ERR_LENGTH, 2}, /* no colon */
    {"10001:", 0, SOCKETMAP_ERR_TOO_LONG, 5},     /* over the bound at its 5th digit */
    {"99999999999999999999:", 0, SOCKETMAP_ERR_TOO_LONG, 5},
    {"9:domains x;", 0, SOCKETMAP_ERR_COMMA, 12},
    {"9:domains xy,", 0, SOCKETMAP_ERR_COMMA, 12}, /* longer than said */
    {"9:domains x\n", 0, SOCKETMAP_ERR_COMMA, 12},
    {"9:domains\0x,", 12, SOCKETMAP_ERR_NUL, 12},
    {"9:\0omains x,", 12, SOCKETMAP_ERR_NUL, 12},
    {"7:domains,", 0, SOCKETMAP_ERR_REQUEST, 10},  /* no key */
    {"8:domains ,", 0, SOCKETMAP_ERR_REQUEST, 11}, /* empty key */
    {"2: x,", 0, SOCKETMAP_ERR_REQUEST, 5},        /* empty name */
    {"0:,", 0, SOCKETMAP_ERR_REQUEST, 3},
    {"4:\tx y,", 0, SOCKETMAP_ERR_REQUEST, 7},         /* a control byte in the name */
    {"9:dom\x01ins x,", 0, SOCKETMAP_ERR_REQUEST, 12}, /* control byte in the name */
    {"9:domains x,GET / HTTP/1.0\r\n", 0, SOCKETMAP_ERR_LENGTH, 13}, /* after a good one */
};

START_TEST(test_bad)
{
    struct socketmap_parser *p = malloc(sizeof *p);
    const char *in = bad[_i].in;
    size_t len = bad[_i].len ? bad[_i].len : strlen(in), fed = 0;
    char got[512];

    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(feed_all(p, in, len, 0, got, sizeof got), -1);
    ck_assert_msg(socketmap_parser_error(p) == bad[_i].err, "%s: error %d", in,
                  (int)socketmap_parser_error(p));
    /* byte by byte: refused at the byte that shows it, and for good */
    socketmap_parser_init(p);
    for (;;) {
        struct socketmap_request req;
        size_t used;
        int r = socketmap_parser_feed(p, in + fed, 1, &used, &req);
        ck_assert_uint_lt(fed, len);
        fed++;
        if (r < 0)
            break;
    }
    ck_assert_msg(fed == bad[_i].refused_at, "%s: refused after %zu bytes", in, fed);
    {
        struct socketmap_request req;
        size_t used;
        ck_assert_int_eq(socketmap_parser_feed(p, "9:domains x,", 12, &used, &req), -1);
    }
    ck_assert_str_ne(socketmap_strerror(bad[_i].err), "");
    free(p);
}
END_TEST

START_TEST(test_longest)
{
    struct socketmap_parser *p = malloc(sizeof *p);
    char *in = malloc(SOCKETMAP_REQUEST_MAX + 16);
    struct socketmap_request req;
    size_t used = 0;
    int n;

    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(in);
    n = snprintf(in, 16, "%d:domains ", SOCKETMAP_REQUEST_MAX);
    memset(in + n, 'a', SOCKETMAP_REQUEST_MAX - 8);
    in[n + SOCKETMAP_REQUEST_MAX - 8] = ',';
    socketmap_parser_init(p);
    ck_assert_int_eq(
        socketmap_parser_feed(p, in, (size_t)n + SOCKETMAP_REQUEST_MAX - 7, &used, &req), 1);
    ck_assert_uint_eq(req.key_len, SOCKETMAP_REQUEST_MAX - 8);
    ck_assert_uint_eq(used, (size_t)n + SOCKETMAP_REQUEST_MAX - 7);
    ck_assert(socketmap_parser_idle(p));
    free(in);
    free(p);
}
END_TEST

START_TEST(test_idle)
{
    struct socketmap_parser p;
    struct socketmap_request req;
    size_t used;

    socketmap_parser_init(&p);
    ck_assert(socketmap_parser_idle(&p));
    ck_assert_int_eq(socketmap_parser_feed(&p, "9", 1, &used, &req), 0);
    ck_assert(!socketmap_parser_idle(&p));
    ck_assert_int_eq(socketmap_parser_feed(&p, ":domains x,9", 12, &used, &req), 1);
    ck_assert_uint_eq(used, 11);
    ck_assert(socketmap_parser_idle(&p));
}
END_TEST

static const struct {
    const char *status, *data, *out;
} replies[] = {
    {"OK", "corp.example", "15:OK corp.example,"},
    {"NOTFOUND", "", "9:NOTFOUND ,"},
    {"TEMP", "no configuration loaded", "28:TEMP no configuration loaded,"},
    {"PERM", "unknown map name", "21:PERM unknown map name,"},
};

START_TEST(test_format)
{
    char buf[SOCKETMAP_REPLY_MAX];
    size_t n = socketmap_format_reply(buf, sizeof buf, replies[_i].status, replies[_i].data);

    ck_assert_uint_eq(n, strlen(replies[_i].out));
    ck_assert(memcmp(buf, replies[_i].out, n) == 0);
    /* exactly its size fits, one byte less does not */
    ck_assert_uint_eq(socketmap_format_reply(buf, n, replies[_i].status, replies[_i].data), n);
    ck_assert_uint_eq(socketmap_format_reply(buf, n - 1, replies[_i].status, replies[_i].data), 0);
}
END_TEST

START_TEST(test_format_bounds)
{
    char data[SOCKETMAP_DATA_MAX + 2], buf[SOCKETMAP_REPLY_MAX];

    memset(data, 'd', sizeof data - 1);
    data[sizeof data - 1] = '\0';
    ck_assert_uint_eq(socketmap_format_reply(buf, sizeof buf, "OK", data), 0);
    data[SOCKETMAP_DATA_MAX] = '\0';
    ck_assert_uint_gt(socketmap_format_reply(buf, sizeof buf, "NOTFOUND", data), 0);
}
END_TEST

static Suite *proto_suite(void)
{
    Suite *s = suite_create("socketmap_proto");
    TCase *tc;

    tc = tcase_create("good");
    tcase_add_loop_test(tc, test_good, 0, sizeof good / sizeof good[0]);
    suite_add_tcase(s, tc);
    tc = tcase_create("bad");
    tcase_add_loop_test(tc, test_bad, 0, sizeof bad / sizeof bad[0]);
    suite_add_tcase(s, tc);
    tc = tcase_create("bounds");
    tcase_add_test(tc, test_longest);
    tcase_add_test(tc, test_idle);
    tcase_add_test(tc, test_format_bounds);
    suite_add_tcase(s, tc);
    tc = tcase_create("format");
    tcase_add_loop_test(tc, test_format, 0, sizeof replies / sizeof replies[0]);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(proto_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
