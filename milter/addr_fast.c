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
#define A 1 /* atext */
#define L 2 /* label character */
#define AL (A | L)

/* Only ASCII is listed: a byte >= 0x80 has class 0 and declines. */
static const unsigned char byte_class[256] = {
    ['!'] = A,  ['#'] = A,  ['$'] = A,  ['%'] = A,  ['&'] = A,  ['\''] = A, ['*'] = A,  ['+'] = A,
    ['-'] = AL, ['/'] = A,  ['='] = A,  ['?'] = A,  ['^'] = A,  ['_'] = AL, ['`'] = A,  ['{'] = A,
    ['|'] = A,  ['}'] = A,  ['~'] = A,  ['0'] = AL, ['1'] = AL, ['2'] = AL, ['3'] = AL, ['4'] = AL,
    ['5'] = AL, ['6'] = AL, ['7'] = AL, ['8'] = AL, ['9'] = AL, ['A'] = AL, ['B'] = AL, ['C'] = AL,
    ['D'] = AL, ['E'] = AL, ['F'] = AL, ['G'] = AL, ['H'] = AL, ['I'] = AL, ['J'] = AL, ['K'] = AL,
    ['L'] = AL, ['M'] = AL, ['N'] = AL, ['O'] = AL, ['P'] = AL, ['Q'] = AL, ['R'] = AL, ['S'] = AL,
    ['T'] = AL, ['U'] = AL, ['V'] = AL, ['W'] = AL, ['X'] = AL, ['Y'] = AL, ['Z'] = AL, ['a'] = AL,
    ['b'] = AL, ['c'] = AL, ['d'] = AL, ['e'] = AL, ['f'] = AL, ['g'] = AL, ['h'] = AL, ['i'] = AL,
    ['j'] = AL, ['k'] = AL, ['l'] = AL, ['m'] = AL, ['n'] = AL, ['o'] = AL, ['p'] = AL, ['q'] = AL,
    ['r'] = AL, ['s'] = AL, ['t'] = AL, ['u'] = AL, ['v'] = AL, ['w'] = AL, ['x'] = AL, ['y'] = AL,
    ['z'] = AL,
};

/*
 * fast_local - the dot-atom from *pp up to its '@' into out->local.
 * Leaves *pp on the '@'; false when the bytes are not a dot-atom of at
 * most ADDR_LOCAL_MAX octets followed by '@'.
 */
static bool fast_local(struct addr *out, const unsigned char **pp, const unsigned char *end)
{
    const unsigned char *p = *pp;
    size_t n = 0;
    int after_dot = 1; /* at the start a dot is as wrong as after a dot */

    for (; p < end; p++) {
        unsigned char c = *p;
        if (byte_class[c] & A)
            after_dot = 0;
        else if (c == '.' && !after_dot)
            after_dot = 1;
        else
            break;
        if (n == ADDR_LOCAL_MAX)
            return false;
        out->local[n++] = (char)c;
    }
    if (p == end || *p != '@' || after_dot)
        return false; /* also n == 0: after_dot is still set */
    out->local[n] = '\0';
    out->local_len = n;
    *pp = p;
    return true;
}

/*
 * fast_domain - the host name from p to end, folded, into out->domain.
 * A trailing dot is dropped, as check_domain does.
 */
static bool fast_domain(struct addr *out, const unsigned char *p, const unsigned char *end)
{
    char *d = out->domain;
    size_t n = 0, label = 0;

    for (; p < end; p++) {
        unsigned char c = *p;
        if (n == ADDR_DOMAIN_MAX)
            return false; /* the general path decides (a trailing dot may follow) */
        if (byte_class[c] & L) {
            if ((label == 0 && c == '-') || ++label > 63)
                return false;
            d[n++] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
        } else if (c == '.' && label > 0 && d[n - 1] != '-') {
            d[n++] = '.';
            label = 0;
        } else {
            return false;
        }
    }
    if (n == 0)
        return false;
    if (label == 0) /* "x.": the one trailing dot that a host name may have */
        n--;
    else if (d[n - 1] == '-')
        return false;
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
