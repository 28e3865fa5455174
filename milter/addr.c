/*
 * addr.c - envelope address parsing and normalisation (see addr.h).
 *
 * Owns the address grammar: a pure function over a byte range that never
 * reads past len, never allocates and keeps no state, so it is safe to fuzz.
 */
#include "addr.h"
#include "addr_fast.h"

#include <errno.h>
#include <idn2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <uninorm.h>
#include <unistr.h>

/* A non-ASCII domain of at most this many octets is converted (each
 * character is at most 4 UTF-8 octets; its A-label is checked against
 * ADDR_DOMAIN_MAX afterwards). */
#define IDN_INPUT_MAX (4 * ADDR_DOMAIN_MAX)

/* A byte range of the input. */
struct span {
    const char *p;
    size_t n;
};

static int is_alpha(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static char fold_char(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* RFC 5321 atext: ALPHA DIGIT and the specials below, and with RFC 6531
 * every UTF8-non-ascii octet (addr_parse has checked that they form
 * well-formed UTF-8).  A switch, not strchr(): this runs for every byte of
 * every recipient. */
static int is_atext(unsigned char c)
{
    if (is_alpha(c) || is_digit(c) || c >= 0x80)
        return 1;
    switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '/':
    case '=':
    case '?':
    case '^':
    case '_':
    case '`':
    case '{':
    case '|':
    case '}':
    case '~':
        return 1;
    default:
        return 0;
    }
}

/* Host name label characters; '_' is not RFC 1123 but common in the wild. */
static int is_label_char(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || c == '-' || c == '_';
}

/* RFC 5321 dcontent: printable, no space, no '[', ']' or '\'. */
static int is_dcontent(unsigned char c)
{
    return c >= 33 && c <= 126 && c != '[' && c != ']' && c != '\\';
}

/* Whether n bytes at p are a dot-atom: atext runs separated by single dots. */
static int is_dot_atom(const char *p, size_t n)
{
    if (n == 0 || p[0] == '.' || p[n - 1] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '.') {
            if (p[i + 1] == '.') /* i + 1 < n: p[n - 1] is no dot */
                return 0;
        } else if (!is_atext((unsigned char)p[i])) {
            return 0;
        }
    }
    return 1;
}

/* Case-insensitive equality of n bytes at p with the NUL-terminated lit. */
static int equal_fold(const char *p, size_t n, const char *lit)
{
    if (strlen(lit) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (fold_char(p[i]) != lit[i])
            return 0;
    return 1;
}

static enum addr_error check_domain(const char *s, size_t n, char *out, size_t *outlen);

static int has_eightbit(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80)
            return 1;
    return 0;
}

/*
 * idn_domain - a domain of n bytes with non-ASCII characters (well-formed
 * UTF-8) to its canonical A-label form, checked by check_domain like any
 * ASCII domain.  UTS #46 non-transitional mapping (case, width, NFC) is
 * what browsers and Postfix's own IDNA support apply.
 */
static enum addr_error idn_domain(const char *s, size_t n, char *out, size_t *outlen)
{
    char in[IDN_INPUT_MAX + 1], scratch[ADDR_DOMAIN_MAX + 1];
    uint8_t *alabel = NULL;
    enum addr_error err;
    size_t len, scratch_len;
    int rc;

    if (n > 0 && s[n - 1] == '.')
        n--;
    if (n == 0 || s[0] == '.')
        return ADDR_ERR_DOMAIN;
    if (n > IDN_INPUT_MAX)
        return ADDR_ERR_DOMAIN_LONG;
    memcpy(in, s, n);
    in[n] = '\0';
    rc = idn2_lookup_u8((const uint8_t *)in, &alabel, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
    if (rc == IDN2_MALLOC)
        return ADDR_ERR_RESOURCE;
    if (rc == IDN2_TOO_BIG_DOMAIN)
        return ADDR_ERR_DOMAIN_LONG;
    if (rc != IDN2_OK)
        return ADDR_ERR_IDN;
    len = strlen((const char *)alabel);
    /* The A-label must itself be a plain host name (no '@', no '[', ...). */
    err = len == 0 || has_eightbit((const char *)alabel, len)
              ? ADDR_ERR_IDN
              : check_domain((const char *)alabel, len, out != NULL ? out : scratch,
                             out != NULL ? outlen : &scratch_len);
    idn2_free(alabel);
    return err == ADDR_ERR_DOMAIN ? ADDR_ERR_IDN : err;
}

/*
 * check_domain - validate a host name or address literal of n bytes and,
 * when out is not NULL, write its canonical form there (folded, A-label,
 * without the trailing dot, NUL-terminated; out has ADDR_DOMAIN_MAX + 1
 * bytes).
 */
static enum addr_error check_domain(const char *s, size_t n, char *out, size_t *outlen)
{
    if (n == 0)
        return ADDR_ERR_DOMAIN;
    if (s[0] != '[' && has_eightbit(s, n))
        return idn_domain(s, n, out, outlen);
    if (s[0] == '[') {
        if (n < 3 || s[n - 1] != ']')
            return ADDR_ERR_DOMAIN;
        for (size_t i = 1; i < n - 1; i++)
            if (!is_dcontent((unsigned char)s[i]))
                return ADDR_ERR_DOMAIN;
    } else {
        if (s[n - 1] == '.')
            n--;
        if (n == 0)
            return ADDR_ERR_DOMAIN;
        size_t label = 0;
        for (size_t i = 0; i <= n; i++) {
            if (i == n || s[i] == '.') {
                if (label == 0 || label > 63 || s[i - label] == '-' || s[i - 1] == '-')
                    return ADDR_ERR_DOMAIN;
                label = 0;
            } else if (is_label_char((unsigned char)s[i])) {
                label++;
            } else {
                return ADDR_ERR_DOMAIN;
            }
        }
    }
    if (n > ADDR_DOMAIN_MAX)
        return ADDR_ERR_DOMAIN_LONG;
    if (out != NULL) {
        addr_fold(out, s, n);
        out[n] = '\0';
        *outlen = n;
    }
    return ADDR_OK;
}

/*
 * skip_route - if m starts a source route "@a,@b:", advance m past it.
 * A leading '@' whose first hop runs to the end ("@example.com") is no
 * route but an address without a local part: ADDR_ERR_LOCAL.
 */
static enum addr_error skip_route(struct span *m)
{
    size_t i = 0;
    int first = 1;

    if (m->n == 0 || m->p[0] != '@')
        return ADDR_OK;
    for (;;) {
        if (i >= m->n || m->p[i] != '@')
            return ADDR_ERR_ROUTE;
        size_t start = ++i;
        if (i < m->n && m->p[i] == '[') {
            /* an address literal may itself contain ':' */
            while (i < m->n && m->p[i] != ']')
                i++;
            if (i < m->n)
                i++;
        } else {
            while (i < m->n && m->p[i] != ',' && m->p[i] != ':')
                i++;
        }
        if (i >= m->n)
            return first ? ADDR_ERR_LOCAL : ADDR_ERR_ROUTE;
        if (check_domain(m->p + start, i - start, NULL, NULL) != ADDR_OK)
            return ADDR_ERR_ROUTE;
        first = 0;
        if (m->p[i] == ':') {
            m->p += i + 1;
            m->n -= i + 1;
            return ADDR_OK;
        }
        if (m->p[i] != ',')
            return ADDR_ERR_ROUTE;
        i++;
    }
}

/*
 * quoted_end - m starts with '"': the index just past the closing quote,
 * or 0 when the string is unterminated or ends in a lone backslash.
 */
static size_t quoted_end(const char *p, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        if (p[i] == '\\') {
            if (++i >= n)
                return 0;
        } else if (p[i] == '"') {
            return i + 1;
        }
    }
    return 0;
}

/*
 * parse_quoted - canonicalise the quoted string of n bytes at p (quotes
 * included, known to be terminated) into out->local.
 */
static enum addr_error nfc(const char *in, size_t n, char out[ADDR_LOCAL_MAX], size_t *outlen);

static enum addr_error parse_quoted(struct addr *out, const char *p, size_t n)
{
    char raw[ADDR_LOCAL_MAX] = {0}, content[ADDR_LOCAL_MAX];
    size_t rlen = 0, clen;
    enum addr_error err;

    for (size_t i = 1; i < n - 1; i++) {
        char c = p[i];
        if (c == '\\')
            c = p[++i]; /* quoted_end() saw that it is there */
        /* controls were refused before: c is printable or UTF-8 */
        if (rlen < sizeof(raw))
            raw[rlen] = c;
        rlen++;
    }
    if (rlen > ADDR_LOCAL_MAX)
        return ADDR_ERR_LOCAL_LONG;
    if ((err = nfc(raw, rlen, content, &clen)) != ADDR_OK)
        return err;
    if (is_dot_atom(content, clen)) {
        memcpy(out->local, content, clen);
        out->local_len = clen;
    } else {
        size_t o = 0;
        out->local[o++] = '"';
        for (size_t i = 0; i < clen; i++) {
            if (content[i] == '"' || content[i] == '\\')
                out->local[o++] = '\\';
            out->local[o++] = content[i];
        }
        out->local[o++] = '"';
        out->local_len = o;
    }
    out->local[out->local_len] = '\0';
    return ADDR_OK;
}

/*
 * nfc - the n bytes at in (well-formed UTF-8) in Unicode NFC into out
 * (at most ADDR_LOCAL_MAX bytes), so that the composed and decomposed
 * spellings of one name are one key.  NFC may turn a non-ASCII character
 * into ASCII (U+037E into ';'), so the caller checks the grammar on the
 * result, never on the input.
 */
static enum addr_error nfc(const char *in, size_t n, char out[ADDR_LOCAL_MAX], size_t *outlen)
{
    uint8_t buf[ADDR_LOCAL_MAX];
    size_t len = sizeof(buf);
    uint8_t *r;

    if (!has_eightbit(in, n)) {
        memcpy(out, in, n);
        *outlen = n;
        return ADDR_OK;
    }
    r = u8_normalize(UNINORM_NFC, (const uint8_t *)in, n, buf, &len);
    if (r == NULL)
        return errno == ENOMEM ? ADDR_ERR_RESOURCE : ADDR_ERR_UTF8;
    if (r != buf) { /* longer than any valid local part */
        free(r);
        return ADDR_ERR_LOCAL_LONG;
    }
    memcpy(out, buf, len);
    *outlen = len;
    return ADDR_OK;
}

/* split_extension - Postfix split_addr() over the canonical local part. */
static size_t split_extension(const struct addr *a, const char *delimiters)
{
    const char *l = a->local;
    size_t n = a->local_len;

    if (delimiters == NULL || delimiters[0] == '\0' || l[0] == '"')
        return n;
    if (equal_fold(l, n, "postmaster") || equal_fold(l, n, "mailer-daemon"))
        return n;
    if (strchr(delimiters, '-') != NULL) {
        if (n >= 6 && equal_fold(l, 6, "owner-"))
            return n;
        if (n > 8 && equal_fold(l + n - 8, 8, "-request"))
            return n;
    }
    /* strcspn, not strchr per byte: one pass over a short set */
    size_t i = strcspn(l, delimiters);
    return i == 0 || i >= n ? n : i;
}

/*
 * parse_local - the local part of m (n bytes), the at bytes before the
 * domain's '@' (at == n: no domain), into out: one quoted string or one
 * dot-atom, in NFC when it has 8-bit bytes.
 */
static enum addr_error parse_local(struct addr *out, const char *p, size_t n, size_t at,
                                   int eightbit)
{
    enum addr_error err;

    if (at > 0 && p[0] == '"') {
        if (quoted_end(p, n) != at)
            return ADDR_ERR_LOCAL; /* text between the quote and the '@' */
        if ((err = parse_quoted(out, p, at)) != ADDR_OK)
            return err;
    } else {
        if (!is_dot_atom(p, at))
            return ADDR_ERR_LOCAL;
        if (at > ADDR_LOCAL_MAX)
            return ADDR_ERR_LOCAL_LONG;
        if ((err = nfc(p, at, out->local, &out->local_len)) != ADDR_OK)
            return err;
        /* still a dot-atom once normalised (U+037E is ';' in NFC) */
        if (eightbit && !is_dot_atom(out->local, out->local_len))
            return ADDR_ERR_LOCAL;
        out->local[out->local_len] = '\0';
    }
    return ADDR_OK;
}

/* parse_general - addr_parse but the extension split, for any input. */
static enum addr_error parse_general(struct addr *out, const char *text, size_t len)
{
    struct span m;
    enum addr_error err;
    size_t at, i;
    int in_quote = 0, eightbit = 0;

    if (text == NULL || len == 0)
        return ADDR_ERR_EMPTY;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c < 0x20 || c == 0x7f)
            return ADDR_ERR_CONTROL;
        if (c >= 0x80)
            eightbit = 1;
    }
    /* Control bytes win over bad UTF-8 wherever they are. */
    if (eightbit && u8_check((const uint8_t *)text, len) != NULL)
        return ADDR_ERR_UTF8;

    m.p = text;
    m.n = len;
    if (text[0] == '<') {
        if (len < 2 || text[len - 1] != '>')
            return ADDR_ERR_BRACKETS;
        m.p++;
        m.n -= 2;
    } else if (text[len - 1] == '>') {
        return ADDR_ERR_BRACKETS;
    }
    if (m.n == 0)
        return ADDR_ERR_EMPTY;
    /* Any other angle bracket is stray, unless inside a quoted string. */
    for (i = 0; i < m.n; i++) {
        char c = m.p[i];
        if (in_quote && c == '\\')
            i++;
        else if (c == '"')
            in_quote = !in_quote;
        else if (!in_quote && (c == '<' || c == '>'))
            return ADDR_ERR_BRACKETS;
    }

    err = skip_route(&m);
    if (err != ADDR_OK)
        return err;

    /* The domain follows the last '@' outside the quoted local part. */
    i = 0;
    if (m.n > 0 && m.p[0] == '"') {
        i = quoted_end(m.p, m.n);
        if (i == 0)
            return ADDR_ERR_LOCAL;
    }
    at = m.n;
    for (; i < m.n; i++)
        if (m.p[i] == '@')
            at = i;

    if ((err = parse_local(out, m.p, m.n, at, eightbit)) != ADDR_OK)
        return err;

    if (at == m.n) {
        out->domain[0] = '\0';
        out->domain_len = 0;
    } else {
        err = check_domain(m.p + at + 1, m.n - at - 1, out->domain, &out->domain_len);
        if (err != ADDR_OK)
            return err;
    }
    return ADDR_OK;
}

enum addr_error addr_parse(struct addr *out, const char *text, size_t len, const char *delimiters)
{
    enum addr_error err;

    /* The fast path decides nothing but the common valid address; every
     * other input, and every error, is the general path's. */
    if (text == NULL || !addr_parse_fast(out, text, len)) {
        err = parse_general(out, text, len);
        if (err != ADDR_OK)
            return err;
    }
    out->base_len = split_extension(out, delimiters);
    return ADDR_OK;
}

enum addr_error addr_parse_general(struct addr *out, const char *text, size_t len,
                                   const char *delimiters)
{
    enum addr_error err = parse_general(out, text, len);

    if (err == ADDR_OK)
        out->base_len = split_extension(out, delimiters);
    return err;
}

enum addr_error addr_parse_domain(const char *text, size_t len, char out[ADDR_DOMAIN_MAX + 1])
{
    /* Parsed as the domain of "x@text", so that a domain here follows the
     * very grammar (and check order) of a domain in an address. */
    char buf[2 + IDN_INPUT_MAX];
    struct addr a;
    enum addr_error err;

    out[0] = '\0';
    if (text == NULL || len == 0)
        return ADDR_ERR_EMPTY;
    if (len > IDN_INPUT_MAX)
        return ADDR_ERR_DOMAIN_LONG;
    if (memchr(text, '@', len) != NULL)
        return ADDR_ERR_DOMAIN;
    buf[0] = 'x';
    buf[1] = '@';
    memcpy(buf + 2, text, len);
    err = addr_parse(&a, buf, len + 2, NULL);
    if (err == ADDR_OK && a.domain_len == 0)
        err = ADDR_ERR_DOMAIN; /* not reached: check_domain refuses "" and "." */
    if (err != ADDR_OK)
        return err == ADDR_ERR_CONTROL || err == ADDR_ERR_UTF8 || err == ADDR_ERR_IDN ||
                       err == ADDR_ERR_RESOURCE || err == ADDR_ERR_DOMAIN_LONG
                   ? err
                   : ADDR_ERR_DOMAIN;
    memcpy(out, a.domain, a.domain_len + 1);
    return ADDR_OK;
}

bool addr_is_dot_atom(const char *s, size_t n)
{
    return n > 0 && n <= ADDR_LOCAL_MAX && !has_eightbit(s, n) && is_dot_atom(s, n);
}

const char *addr_strerror(enum addr_error err)
{
    switch (err) {
    case ADDR_OK:
        return "valid address";
    case ADDR_ERR_EMPTY:
        return "empty address";
    case ADDR_ERR_BRACKETS:
        return "unbalanced or misplaced angle brackets";
    case ADDR_ERR_ROUTE:
        return "malformed source route";
    case ADDR_ERR_LOCAL:
        return "malformed local part";
    case ADDR_ERR_DOMAIN:
        return "malformed domain";
    case ADDR_ERR_LOCAL_LONG:
        return "local part longer than 64 octets";
    case ADDR_ERR_DOMAIN_LONG:
        return "domain longer than 255 octets";
    case ADDR_ERR_CONTROL:
        return "control character in address";
    case ADDR_ERR_UTF8:
        return "invalid UTF-8 in address";
    case ADDR_ERR_IDN:
        return "domain is not a valid internationalized domain name";
    case ADDR_ERR_RESOURCE:
        return "out of memory";
    }
    return "unknown address error";
}

bool addr_is_syntax_error(enum addr_error err)
{
    return err != ADDR_OK && err != ADDR_ERR_RESOURCE;
}

/* Bytes an MTA might leave around a domain it has read past. */
static int is_domain_trailer(unsigned char c)
{
    return c == '>' || c == ' ' || c == '\t' || c == '.' || c < 0x20 || c == 0x7f;
}

enum addr_error addr_domain_guess(const char *text, size_t len, char *out)
{
    size_t at = len, start, end = len, outlen;
    enum addr_error err;

    out[0] = '\0';
    if (text == NULL)
        return ADDR_ERR_EMPTY;
    for (size_t i = 0; i < len; i++)
        if (text[i] == '@')
            at = i;
    if (at == len)
        return ADDR_ERR_DOMAIN;
    start = at + 1;
    while (end > start && is_domain_trailer((unsigned char)text[end - 1]))
        end--;
    while (start < end && (text[start] == ' ' || text[start] == '\t'))
        start++;
    if (start == end)
        return ADDR_ERR_DOMAIN;
    for (size_t i = start; i < end; i++)
        if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f)
            return ADDR_ERR_CONTROL;
    if (has_eightbit(text + start, end - start) &&
        u8_check((const uint8_t *)text + start, end - start) != NULL)
        return ADDR_ERR_UTF8;
    err = check_domain(text + start, end - start, out, &outlen);
    if (err != ADDR_OK)
        out[0] = '\0';
    return err;
}

/* Whether the folded domain has a label starting "xn--" (an A-label). */
static int has_alabel(const char *domain)
{
    const char *p = domain;

    for (;;) {
        if (strncmp(p, "xn--", 4) == 0)
            return 1;
        if ((p = strchr(p, '.')) == NULL)
            return 0;
        p++;
    }
}

int addr_domain_to_unicode(const char *domain, char *out, size_t outsz)
{
    char *ulabel = NULL;
    int rc;
    size_t n;

    if (outsz == 0)
        return -1;
    out[0] = '\0';
    if (!has_alabel(domain)) {
        if ((n = strlen(domain)) >= outsz)
            return -1;
        memcpy(out, domain, n + 1);
        return 0;
    }
    rc = idn2_to_unicode_8z8z(domain, &ulabel, 0);
    if (rc != IDN2_OK)
        return -1;
    n = strlen(ulabel);
    if (n >= outsz) {
        idn2_free(ulabel);
        return -1;
    }
    memcpy(out, ulabel, n + 1);
    idn2_free(ulabel);
    return strcmp(out, domain) != 0 ? 1 : 0;
}

size_t addr_format(const struct addr *a, bool with_extension, bool fold, char *buf, size_t bufsz)
{
    size_t llen = with_extension ? a->local_len : a->base_len;
    size_t total = llen + (a->domain_len > 0 ? 1 + a->domain_len : 0);

    if (bufsz == 0)
        return 0;
    if (total >= bufsz) {
        buf[0] = '\0';
        return 0;
    }
    memcpy(buf, a->local, llen);
    if (a->domain_len > 0) {
        buf[llen] = '@';
        memcpy(buf + llen + 1, a->domain, a->domain_len);
    }
    buf[total] = '\0';
    if (fold)
        addr_fold(buf, buf, total);
    return total;
}

const char *addr_extension(const struct addr *a)
{
    return a->local + a->base_len;
}

void addr_fold(char *dst, const char *src, size_t len)
{
    for (size_t i = 0; i < len; i++)
        dst[i] = fold_char(src[i]);
}
