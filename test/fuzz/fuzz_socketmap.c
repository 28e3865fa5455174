/*
 * fuzz_socketmap.c - libFuzzer target: any byte stream into the socketmap
 * request parser, whole and cut into pieces at points the input chooses,
 * and every request it yields answered from a small fixed table.
 *
 * Input: the first byte seeds where the stream is cut; the rest is the
 * stream a client would send.
 * Invariants: no crash, leak or UB; the pieces give the same requests and
 * the same end (complete, incomplete, or refused with the same error) as
 * the whole; a request has a printable name and a key without NUL, within
 * SOCKETMAP_REQUEST_MAX; a refused stream stays refused; every reply is
 * one well-formed netstring with a known status, and an OK names a domain
 * the lookup finds again.
 */
#include "fuzz_common.h"

#include "config.h"
#include "diag.h"
#include "hosted_domains.h"
#include "socketmap.h"
#include "socketmap_proto.h"

#define MAX_REQUESTS 64

static const char conf[] = "postmaster = \"pm@corp.example\"\n"
                           "domain \"corp.example\" { }\n"
                           "domain \"example.net\" { alias_domain = \"corp.example\" }\n"
                           "domain \"bücher.example\" { }\n"
                           "mailbox \"pm@corp.example\" { }\n";

/* Built once: a fixed table for every run. */
static const struct config *fixed_config(void)
{
    static struct config *c;

    if (c == NULL) {
        struct diag *d = diag_new();
        CHECK(d != NULL);
        c = config_load_buffer("fuzz.conf", conf, sizeof conf - 1, d);
        CHECK(c != NULL);
        diag_free(d);
    }
    return c;
}

struct outcome {
    size_t n; /* requests */
    uint32_t sums[MAX_REQUESTS];
    int end; /* the last feed's result */
    enum socketmap_error err;
};

static uint32_t sum(const struct socketmap_request *r)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < r->name_len; i++)
        h = (h ^ (unsigned char)r->name[i]) * 16777619u;
    h = (h ^ ' ') * 16777619u;
    for (size_t i = 0; i < r->key_len; i++)
        h = (h ^ (unsigned char)r->key[i]) * 16777619u;
    return h;
}

/* The reply is one netstring "<len>:<STATUS> <data>," with a known status. */
static void check_reply(const char *out, size_t n, const struct config *c)
{
    size_t len = 0, i = 0;
    char canon[ADDR_DOMAIN_MAX + 1];

    CHECK(n > 0 && n <= SOCKETMAP_REPLY_MAX);
    while (i < n && out[i] >= '0' && out[i] <= '9')
        len = len * 10 + (size_t)(out[i++] - '0');
    CHECK(i > 0 && (out[0] != '0' || i == 1) && out[i] == ':');
    CHECK(i + 1 + len + 1 == n && out[n - 1] == ',');
    out += i + 1;
    if (len >= 3 && memcmp(out, "OK ", 3) == 0) {
        CHECK(len > 3 && hosted_domains_lookup(c->table, out + 3, len - 3, canon) == 1);
        CHECK(strlen(canon) == len - 3 && memcmp(canon, out + 3, len - 3) == 0);
    } else {
        CHECK((len == 9 && memcmp(out, "NOTFOUND ", 9) == 0) ||
              (len > 5 && memcmp(out, "TEMP ", 5) == 0) ||
              (len > 5 && memcmp(out, "PERM ", 5) == 0));
    }
}

static void check_request(const struct socketmap_request *r, const struct config *c)
{
    char out[SOCKETMAP_REPLY_MAX];
    const char *status;
    size_t n;

    CHECK(r->name_len > 0 && r->key_len > 0);
    CHECK(r->name_len + 1 + r->key_len <= SOCKETMAP_REQUEST_MAX);
    CHECK(r->key == r->name + r->name_len + 1);
    for (size_t i = 0; i < r->name_len; i++)
        CHECK((unsigned char)r->name[i] > 0x20 && (unsigned char)r->name[i] < 0x7f);
    CHECK(memchr(r->key, '\0', r->key_len) == NULL);
    n = socketmap_answer(c, r, out, sizeof out, &status);
    check_reply(out, n, c);
    CHECK(memcmp(strchr(out, ':') + 1, status, strlen(status)) == 0);
    check_reply(out, socketmap_answer(NULL, r, out, sizeof out, &status), c);
}

/* Feeds data in pieces: cut after (seed-chosen) 1..16 bytes each, or
 * whole when cut is 0. */
static void run(struct socketmap_parser *p, const uint8_t *data, size_t size, unsigned cut,
                struct outcome *o, const struct config *c)
{
    size_t off = 0;
    unsigned state = cut;

    socketmap_parser_init(p);
    o->n = 0;
    o->end = 0;
    while (off < size) {
        size_t piece = size - off, used = 0;
        struct socketmap_request req;
        if (cut != 0) {
            state = state * 1103515245u + 12345u;
            piece = 1 + (state >> 16) % 16;
            if (piece > size - off)
                piece = size - off;
        }
        o->end = socketmap_parser_feed(p, (const char *)data + off, piece, &used, &req);
        if (o->end < 0)
            break;
        CHECK(used <= piece);
        CHECK(o->end == 1 || used == piece);
        if (o->end == 1) {
            CHECK(used > 0);
            check_request(&req, c);
            if (o->n < MAX_REQUESTS)
                o->sums[o->n] = sum(&req);
            o->n++;
        }
        off += used;
    }
    o->err = socketmap_parser_error(p);
    CHECK((o->end < 0) == (o->err != SOCKETMAP_OK));
    if (o->end < 0) {
        size_t used;
        struct socketmap_request req;
        CHECK(socketmap_parser_feed(p, "9:domains x,", 12, &used, &req) == -1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct socketmap_parser whole, pieces;
    const struct config *c = fixed_config();
    struct outcome a, b;

    if (size == 0)
        return 0;
    run(&whole, data + 1, size - 1, 0, &a, c);
    run(&pieces, data + 1, size - 1, 1u + data[0], &b, c);
    CHECK(a.n == b.n && a.err == b.err);
    /* the end: the same, except that a stream ending with a request is
     * "complete" whole but may be "incomplete" (0) after an empty piece */
    CHECK(a.end == b.end || (a.end >= 0 && b.end >= 0));
    for (size_t i = 0; i < a.n && i < MAX_REQUESTS; i++)
        CHECK(a.sums[i] == b.sums[i]);
    return 0;
}
