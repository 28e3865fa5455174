/*
 * socketmap_proto.h - the socketmap protocol of Postfix's socketmap_table(5)
 * (Sendmail's socket map): requests read from a byte stream, replies
 * formatted.  Pure: no I/O, no state outside the caller's parser.
 *
 * A request is one netstring "<len>:<name> <key>," and a reply one netstring
 * "<len>:OK <data>," / "NOTFOUND ," / "TEMP <reason>," / "PERM <reason>,".
 * Owns the framing rules and their bound: a request payload is at most
 * SOCKETMAP_REQUEST_MAX bytes.  Everything else is refused as malformed:
 * a length that is not decimal digits, has a leading zero or no colon, a
 * payload without its comma, a NUL byte, no name or no key.
 */
#ifndef HOSTED_MILTER_SOCKETMAP_PROTO_H
#define HOSTED_MILTER_SOCKETMAP_PROTO_H

#include <stddef.h>

/*
 * The longest request payload accepted, in bytes.  Postfix sends
 * "name key" with a key of at most a domain or an address, far below it;
 * its own client allows replies of up to 100000 bytes.
 */
#define SOCKETMAP_REQUEST_MAX 10000

/* The longest reply socketmap_format_reply writes for a status and data
 * of up to SOCKETMAP_DATA_MAX bytes (the netstring frame included). */
#define SOCKETMAP_DATA_MAX 512
#define SOCKETMAP_REPLY_MAX (SOCKETMAP_DATA_MAX + 32)

enum socketmap_error {
    SOCKETMAP_OK = 0,
    SOCKETMAP_ERR_LENGTH,   /* length not digits, a leading zero, or no ':' */
    SOCKETMAP_ERR_TOO_LONG, /* declared length over SOCKETMAP_REQUEST_MAX */
    SOCKETMAP_ERR_COMMA,    /* the payload is not followed by ',' */
    SOCKETMAP_ERR_NUL,      /* a NUL byte in the payload */
    SOCKETMAP_ERR_REQUEST,  /* not "name key": no space, empty name or key */
};

/* One parsed request; the bytes are borrowed from the parser and valid
 * until its next socketmap_parser_feed.  Not NUL-terminated. */
struct socketmap_request {
    const char *name, *key;
    size_t name_len, key_len;
};

/* The state between reads: where in the netstring the stream is, and the
 * payload so far.  Initialise with socketmap_parser_init; no resources. */
struct socketmap_parser {
    int state;                  /* private */
    size_t want;                /* declared payload length */
    size_t have;                /* payload bytes so far */
    unsigned digits;            /* length digits so far */
    enum socketmap_error error; /* sticky once malformed */
    char payload[SOCKETMAP_REQUEST_MAX];
};

/* socketmap_parser_init - a parser at the start of a stream. */
void socketmap_parser_init(struct socketmap_parser *p);

/*
 * socketmap_parser_feed - take up to len bytes of the stream.  Returns 1
 * when a request is complete: *req describes it and *used says how many
 * bytes of data were taken (the rest belongs to the next request, fed
 * again by the caller); 0 when all len bytes were taken and the request
 * is not complete yet; -1 when the stream is malformed (*used undefined,
 * socketmap_parser_error says why, and every later call returns -1 too:
 * the caller answers PERM and closes).  A malformed stream is refused at
 * the first byte that shows it: a length over the bound as soon as its
 * digits exceed it, before the payload is read.  Any bytes are safe input.
 */
int socketmap_parser_feed(struct socketmap_parser *p, const char *data, size_t len, size_t *used,
                          struct socketmap_request *req);

/* socketmap_parser_error - why the stream was refused; SOCKETMAP_OK while
 * it was not. */
enum socketmap_error socketmap_parser_error(const struct socketmap_parser *p);

/* socketmap_parser_idle - whether the parser is between requests (no
 * byte of a next request taken yet). */
int socketmap_parser_idle(const struct socketmap_parser *p);

/* socketmap_strerror - a short static English text for an error, also
 * the reason of the PERM reply that answers it. */
const char *socketmap_strerror(enum socketmap_error err);

/*
 * socketmap_format_reply - the netstring "<len>:<status> <data>," into buf
 * (bufsz bytes; not NUL-terminated).  status is "OK", "NOTFOUND", "TEMP"
 * or "PERM"; data may be "" (NOTFOUND's is).  Returns the reply's length,
 * or 0 when it does not fit in bufsz or data is over SOCKETMAP_DATA_MAX
 * bytes.  SOCKETMAP_REPLY_MAX bytes always hold a reply with data of up
 * to SOCKETMAP_DATA_MAX bytes.
 */
size_t socketmap_format_reply(char *buf, size_t bufsz, const char *status, const char *data);

#endif
