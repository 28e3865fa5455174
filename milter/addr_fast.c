/*
 * addr_fast.c - one-pass parse of a plain ASCII "<local@domain>" (see
 * addr_fast.h).
 *
 * Every byte is classified by one table lookup and copied as it is
 * checked; the first byte that the common form does not allow ends the
 * attempt, and addr_parse starts over on the general path.  So nothing
 * here needs to know which error an input deserves.
 */
#include "addr_fast.h"

/* Byte classes: RFC 5321 atext in ASCII (the dot is separate), and host
 * name label characters (addr.c's is_atext and is_label_char). */
#define A 1    /* atext */
#define L 2    /* label character */
#define U 0x20 /* an upper-case letter: c | U is its lower case */
#define AL (A | L)
#define ALU (A | L | U)

/* Only ASCII is listed: a byte >= 0x80 has class 0 and declines. */
static const unsigned char byte_class[256] = {
    ['!'] = A,   ['#'] = A,   ['$'] = A,   ['%'] = A,   ['&'] = A,   ['\''] = A,  ['*'] = A,
    ['+'] = A,   ['-'] = AL,  ['/'] = A,   ['='] = A,   ['?'] = A,   ['^'] = A,   ['_'] = AL,
    ['`'] = A,   ['{'] = A,   ['|'] = A,   ['}'] = A,   ['~'] = A,   ['0'] = AL,  ['1'] = AL,
    ['2'] = AL,  ['3'] = AL,  ['4'] = AL,  ['5'] = AL,  ['6'] = AL,  ['7'] = AL,  ['8'] = AL,
    ['9'] = AL,  ['A'] = ALU, ['B'] = ALU, ['C'] = ALU, ['D'] = ALU, ['E'] = ALU, ['F'] = ALU,
    ['G'] = ALU, ['H'] = ALU, ['I'] = ALU, ['J'] = ALU, ['K'] = ALU, ['L'] = ALU, ['M'] = ALU,
    ['N'] = ALU, ['O'] = ALU, ['P'] = ALU, ['Q'] = ALU, ['R'] = ALU, ['S'] = ALU, ['T'] = ALU,
    ['U'] = ALU, ['V'] = ALU, ['W'] = ALU, ['X'] = ALU, ['Y'] = ALU, ['Z'] = ALU, ['a'] = AL,
    ['b'] = AL,  ['c'] = AL,  ['d'] = AL,  ['e'] = AL,  ['f'] = AL,  ['g'] = AL,  ['h'] = AL,
    ['i'] = AL,  ['j'] = AL,  ['k'] = AL,  ['l'] = AL,  ['m'] = AL,  ['n'] = AL,  ['o'] = AL,
    ['p'] = AL,  ['q'] = AL,  ['r'] = AL,  ['s'] = AL,  ['t'] = AL,  ['u'] = AL,  ['v'] = AL,
    ['w'] = AL,  ['x'] = AL,  ['y'] = AL,  ['z'] = AL,
};

/*
 * fast_local - the dot-atom from *pp up to its '@' into out->local.
 * Leaves *pp on the '@'; false when the bytes are not a dot-atom of at
 * most ADDR_LOCAL_MAX octets followed by '@'.  The dot rules are checked
 * only at dots and at the end, against the bytes already copied.
 */
static bool fast_local(struct addr *out, const unsigned char **pp, const unsigned char *end)
{
    const unsigned char *p = *pp;
    /* the '@' must come within ADDR_LOCAL_MAX bytes: no count per byte */
    const unsigned char *lim = end - p > ADDR_LOCAL_MAX ? p + ADDR_LOCAL_MAX + 1 : end;
    char *l = out->local;
    size_t n = 0;

    for (; p < lim; p++) {
        unsigned char c = *p;
        if (!(byte_class[c] & A) && (c != '.' || n == 0 || l[n - 1] == '.'))
            break;
        l[n++] = (char)c;
    }
    if (p == lim || *p != '@' || n == 0 || l[n - 1] == '.')
        return false;
    l[n] = '\0';
    out->local_len = n;
    *pp = p;
    return true;
}

/* Whether the label d[start..n) is 1 to 63 octets without '-' at an end. */
static bool label_ok(const char *d, size_t start, size_t n)
{
    return n > start && n - start <= 63 && d[start] != '-' && d[n - 1] != '-';
}

/*
 * fast_domain - the host name from p to end, folded, into out->domain.
 * A trailing dot is dropped, as check_domain does.  Labels are checked at
 * their ends, against the bytes already copied.
 */
static bool fast_domain(struct addr *out, const unsigned char *p, const unsigned char *end)
{
    char *d = out->domain;
    size_t n = 0, start = 0;

    if (end - p > ADDR_DOMAIN_MAX)
        return false; /* the general path decides (a trailing dot may be the 256th) */
    for (; p < end; p++) {
        unsigned char c = *p, k = byte_class[c];
        if (k & L) {
            d[n++] = (char)(c | (k & U));
        } else if (c == '.' && label_ok(d, start, n)) {
            d[n++] = '.';
            start = n;
        } else {
            return false;
        }
    }
    if (start == n) { /* "" or "x.": the one trailing dot that a host name may have */
        if (n == 0)
            return false;
        n--;
    } else if (!label_ok(d, start, n)) {
        return false;
    }
    d[n] = '\0';
    out->domain_len = n;
    return true;
}

bool addr_parse_fast(struct addr *out, const char *text, size_t len)
{
    const unsigned char *p = (const unsigned char *)text, *end = p + len;

    if (len == 0)
        return false;
    if (p[0] == '<') {
        /* "<" alone: p[len - 1] is the '<' itself, so no '>' */
        if (p[len - 1] != '>')
            return false;
        p++;
        end--;
    }
    /* A '>' at the end of a bare address, any '<' or '>' inside, '@' of a
     * route, '"' and every other unusual byte have class 0 and decline. */
    return fast_local(out, &p, end) && fast_domain(out, p + 1, end);
}
