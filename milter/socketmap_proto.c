/*
 * socketmap_proto.c - the socketmap netstring parser and reply formatter
 * (socketmap_proto.h); a byte at a time through a small state machine, so
 * that a request split over any number of reads parses like one read.
 *
 * Owns nothing beyond the caller's struct socketmap_parser.
 */
#include "socketmap_proto.h"

#include <stdio.h>
#include <string.h>

/* ST_DONE: a request was returned; the next feed starts another. */
enum { ST_LENGTH = 0, ST_PAYLOAD, ST_COMMA, ST_DONE, ST_ERROR };

void socketmap_parser_init(struct socketmap_parser *p)
{
    p->state = ST_LENGTH;
    p->want = 0;
    p->have = 0;
    p->digits = 0;
    p->error = SOCKETMAP_OK;
}

static int fail(struct socketmap_parser *p, enum socketmap_error err)
{
    p->state = ST_ERROR;
    p->error = err;
    return -1;
}

/* One length byte: digits without a leading zero (netstrings allow "0:"
 * alone), bounded as they come, then ':'. */
static int length_byte(struct socketmap_parser *p, unsigned char c)
{
    if (c >= '0' && c <= '9') {
        if (p->digits > 0 && p->want == 0)
            return fail(p, SOCKETMAP_ERR_LENGTH); /* "0" followed by a digit */
        p->want = p->want * 10 + (size_t)(c - '0');
        p->digits++;
        if (p->want > SOCKETMAP_REQUEST_MAX)
            return fail(p, SOCKETMAP_ERR_TOO_LONG);
        return 0;
    }
    if (c != ':' || p->digits == 0)
        return fail(p, SOCKETMAP_ERR_LENGTH);
    p->state = p->want > 0 ? ST_PAYLOAD : ST_COMMA;
    return 0;
}

/* The finished payload as "name key": the name up to the first space,
 * printable ASCII; the key the rest, not empty. */
static int split_request(struct socketmap_parser *p, struct socketmap_request *req)
{
    const char *sp = memchr(p->payload, ' ', p->have);

    if (memchr(p->payload, '\0', p->have) != NULL)
        return fail(p, SOCKETMAP_ERR_NUL);
    if (sp == NULL || sp == p->payload || (size_t)(sp - p->payload) + 1 == p->have)
        return fail(p, SOCKETMAP_ERR_REQUEST);
    for (const char *c = p->payload; c < sp; c++)
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
            return fail(p, SOCKETMAP_ERR_REQUEST);
    req->name = p->payload;
    req->name_len = (size_t)(sp - p->payload);
    req->key = sp + 1;
    req->key_len = p->have - req->name_len - 1;
    return 1;
}

int socketmap_parser_feed(struct socketmap_parser *p, const char *data, size_t len, size_t *used,
                          struct socketmap_request *req)
{
    size_t i = 0;

    if (p->state == ST_ERROR)
        return -1;
    if (p->state == ST_DONE)
        socketmap_parser_init(p);
    while (i < len) {
        unsigned char c = (unsigned char)data[i];
        if (p->state == ST_LENGTH) {
            if (length_byte(p, c) < 0)
                return -1;
            i++;
        } else if (p->state == ST_PAYLOAD) {
            size_t n = p->want - p->have < len - i ? p->want - p->have : len - i;
            memcpy(p->payload + p->have, data + i, n);
            p->have += n;
            i += n;
            if (p->have == p->want)
                p->state = ST_COMMA;
        } else {
            if (c != ',')
                return fail(p, SOCKETMAP_ERR_COMMA);
            *used = i + 1;
            if (split_request(p, req) < 0)
                return -1;
            p->state = ST_DONE;
            return 1;
        }
    }
    *used = i;
    return 0;
}

enum socketmap_error socketmap_parser_error(const struct socketmap_parser *p)
{
    return p->error;
}

int socketmap_parser_idle(const struct socketmap_parser *p)
{
    return (p->state == ST_LENGTH && p->digits == 0) || p->state == ST_DONE;
}

const char *socketmap_strerror(enum socketmap_error err)
{
    switch (err) {
    case SOCKETMAP_OK:
        return "no error";
    case SOCKETMAP_ERR_LENGTH:
        return "malformed netstring length";
    case SOCKETMAP_ERR_TOO_LONG:
        return "request too long";
    case SOCKETMAP_ERR_COMMA:
        return "netstring without its comma";
    case SOCKETMAP_ERR_NUL:
        return "NUL byte in request";
    case SOCKETMAP_ERR_REQUEST:
        return "request is not \"name key\"";
    }
    return "unknown error";
}

size_t socketmap_format_reply(char *buf, size_t bufsz, const char *status, const char *data)
{
    size_t slen = strlen(status), dlen = strlen(data), plen = slen + 1 + dlen;
    char head[24];
    int hlen;

    if (dlen > SOCKETMAP_DATA_MAX)
        return 0;
    hlen = snprintf(head, sizeof head, "%zu:", plen);
    if (hlen < 0 || (size_t)hlen + plen + 1 > bufsz)
        return 0;
    memcpy(buf, head, (size_t)hlen);
    memcpy(buf + hlen, status, slen);
    buf[(size_t)hlen + slen] = ' ';
    memcpy(buf + (size_t)hlen + slen + 1, data, dlen);
    buf[(size_t)hlen + plen] = ',';
    return (size_t)hlen + plen + 1;
}
