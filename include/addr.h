/*
 * addr.h - envelope address parsing and normalisation.
 *
 * Owns the rules that turn the bytes an MTA hands over (RCPT TO argument,
 * {rcpt_addr} macro, configuration string) into a struct addr: brackets
 * and source route dropped, quoted local part reduced to its dot-atom form
 * when it is one, domain case-folded without its trailing dot, RFC 5321
 * length limits enforced, the address extension located.
 *
 * SMTPUTF8 (RFC 6531) and IDN: bytes >= 0x80 must be well-formed UTF-8.  A
 * UTF-8 local part is kept in Unicode NFC (so that composed and decomposed
 * forms are one key; only ASCII letters are case-folded).  A domain with
 * non-ASCII characters is converted to its A-label form (IDNA2008 with
 * UTS #46 mapping, libidn2), so that "bücher.example" and
 * "xn--bcher-kva.example" are one domain and every canonical address is
 * deliverable by an MTA without SMTPUTF8.  struct addr holds fixed-size
 * buffers; only the rare non-ASCII path allocates (inside libidn2 and
 * libunistring), and fails with ADDR_ERR_RESOURCE when memory runs out.
 * The plain ASCII "<local@domain>" of nearly every recipient takes a
 * one-pass fast path (addr_fast.h) with exactly the same results.
 */
#ifndef HOSTED_MILTER_ADDR_H
#define HOSTED_MILTER_ADDR_H

#include <stdbool.h>
#include <stddef.h>

/* RFC 5321 4.5.3.1: local part 64 octets, domain 255 octets. */
#define ADDR_LOCAL_MAX 64
#define ADDR_DOMAIN_MAX 255
/* local@domain, the longest canonical text (a quoted local part may need
 * two quotes and backslashes beyond the 64 octets, see addr_parse). */
#define ADDR_TEXT_MAX (2 * ADDR_LOCAL_MAX + 2 + 1 + ADDR_DOMAIN_MAX)

enum addr_error {
    ADDR_OK = 0,
    ADDR_ERR_EMPTY,       /* "", "<>" (the null path is no recipient) */
    ADDR_ERR_BRACKETS,    /* unbalanced or misplaced angle brackets */
    ADDR_ERR_ROUTE,       /* malformed source route "@a,@b:" */
    ADDR_ERR_LOCAL,       /* local part neither dot-atom nor quoted string */
    ADDR_ERR_DOMAIN,      /* domain neither a host name nor an address literal */
    ADDR_ERR_LOCAL_LONG,  /* local part over 64 octets */
    ADDR_ERR_DOMAIN_LONG, /* domain over 255 octets */
    ADDR_ERR_CONTROL,     /* NUL, CR, LF or another control byte */
    ADDR_ERR_UTF8,        /* bytes >= 0x80 that are not well-formed UTF-8 */
    ADDR_ERR_IDN,         /* a non-ASCII domain that IDNA2008/UTS #46 refuses */
    ADDR_ERR_RESOURCE,    /* out of memory converting a non-ASCII address */
};
/* The last code, for tables indexed by it. */
#define ADDR_ERR_LAST ADDR_ERR_RESOURCE

struct addr {
    /*
     * Canonical local part, case as written: the unquoted form when the
     * quoted string is a plain dot-atom ("john.doe" -> john.doe), else the
     * quoted form with only the necessary backslashes ("john doe").
     */
    char local[2 * ADDR_LOCAL_MAX + 3];
    /* Lower-case domain without trailing dot; "" for a bare local part
     * (RCPT TO:<postmaster>).  An address literal is kept as "[...]". */
    char domain[ADDR_DOMAIN_MAX + 1];
    size_t local_len;
    size_t domain_len;
    /*
     * Bytes of local[] before the extension; equal to local_len when there
     * is none.  local[base_len] is then the delimiter character and the
     * extension is local + base_len (delimiter included, case kept).
     */
    size_t base_len;
};

/*
 * addr_parse - parse one address of len bytes (need not be NUL-terminated).
 *
 * Accepts "<...>" or a bare address, an optional source route before ':'
 * (ignored), a dot-atom or quoted local part, and a host name (trailing dot
 * dropped) or address literal as domain.  A missing domain is allowed (bare
 * "postmaster"); domain_len is then 0.  delimiters is the set of
 * recipient_delimiter characters ("" or NULL: no extensions); the split
 * follows Postfix split_addr(): first delimiter character, never for
 * postmaster / MAILER-DAEMON, never when the base would be empty, and with
 * '-' in the set never for owner-* or *-request.
 *
 * Returns ADDR_OK and fills *out, or an error code with *out unspecified.
 * Reads at most len bytes; any byte string is safe input.  Thread-safe.
 *
 * Details that callers may rely on:
 * - Checks run in this order, and the first failing one decides the code:
 *   control bytes anywhere (so CR/LF injection is always ADDR_ERR_CONTROL),
 *   UTF-8 well-formedness, brackets, emptiness, source route, local part,
 *   domain.
 *   Within the local part and the domain, syntax is checked before length.
 * - Nothing is trimmed: white space outside a quoted string is an error.
 * - The local part is strict RFC 5321: a leading, trailing or doubled dot
 *   in an unquoted local part ("a..b", ".a", "a.") is ADDR_ERR_LOCAL, even
 *   though some MTAs accept it; quote it ("a..b"@d) to use it.  The empty
 *   quoted string ""@d is valid.  The 64-octet limit applies to the
 *   unquoted content, after NFC normalisation.
 * - atext and quoted-string text include every non-ASCII character
 *   (RFC 6531 UTF8-non-ascii).
 * - The domain follows the last '@' outside the quoted local part; the
 *   local part before it must be one dot-atom or one quoted string.
 * - "@domain" (a leading '@' and no ',' or ':' after the first hop) has no
 *   local part: ADDR_ERR_LOCAL, not ADDR_ERR_ROUTE.  Route hops must be
 *   valid domains (any length or syntax fault there is ADDR_ERR_ROUTE).
 * - A host name label is letters, digits, '-' and '_', 1 to 63 octets, not
 *   starting or ending with '-'; the 255-octet limit applies after the
 *   trailing dot is dropped.  An address literal "[...]" needs at least
 *   one byte inside, printable and not space, '[', ']' or '\'.
 * - The base left by an extension split may end with a dot ("a.+x" gives
 *   base "a."): it is a lookup key, not an address to re-parse.
 *   "double-bounce" is not protected from splitting (Postfix's
 *   double_bounce_sender is not known here).
 */
enum addr_error addr_parse(struct addr *out, const char *text, size_t len, const char *delimiters);

/*
 * addr_parse_domain - a domain name of len bytes as written after an '@'
 * ('@' not included; a trailing dot allowed), checked and made canonical
 * as addr_parse does the domain of "x@text" (folded, U-labels converted to
 * A-labels, no trailing dot) into out, NUL-terminated; out is "" on error.
 * This is the one domain check of configuration and table files.  Returns
 * ADDR_OK, or the first failing check's code, in this order:
 *   ADDR_ERR_EMPTY        len is 0;
 *   ADDR_ERR_DOMAIN_LONG  over 4 * ADDR_DOMAIN_MAX bytes, whatever they hold;
 *   ADDR_ERR_DOMAIN       an '@' anywhere;
 *   then addr_parse's order: ADDR_ERR_CONTROL, ADDR_ERR_UTF8, and the domain
 *   checks (ADDR_ERR_DOMAIN, also for angle brackets; ADDR_ERR_DOMAIN_LONG
 *   over 255 octets once canonical; ADDR_ERR_IDN; ADDR_ERR_RESOURCE).
 * An address literal ("[192.0.2.1]") is accepted and kept as written; a
 * caller for whom it is no domain name tests text[0] == '['.  Reads at most
 * len bytes; thread-safe.
 */
enum addr_error addr_parse_domain(const char *text, size_t len, char out[ADDR_DOMAIN_MAX + 1]);

/*
 * addr_is_dot_atom - whether n bytes at s are an RFC 5322 dot-atom of
 * ASCII atext, 1 to ADDR_LOCAL_MAX octets: a local part that needs neither
 * quoting nor SMTPUTF8 (a role name, say).  No trailing NUL needed.
 */
bool addr_is_dot_atom(const char *s, size_t n);

/* addr_strerror - a short static English description of an addr_error. */
const char *addr_strerror(enum addr_error err);

/*
 * addr_is_syntax_error - whether err says that the address is malformed
 * (a 5.1.3 "bad destination mailbox address syntax"), as opposed to
 * ADDR_OK or ADDR_ERR_RESOURCE (a transient failure of ours).
 */
bool addr_is_syntax_error(enum addr_error err);

/*
 * addr_domain_guess - the domain of a recipient that addr_parse refused,
 * read as leniently as an MTA might: the text after the last '@', without
 * trailing '>', white space, control bytes or dot, canonicalised like a
 * parsed domain (folded, A-label) into out (ADDR_DOMAIN_MAX + 1 bytes).
 * This is how a malformed address in a hosted domain is still recognised
 * as ours, and refused rather than passed.  Returns ADDR_OK, or an error
 * when no domain can be read (out is then "").
 */
enum addr_error addr_domain_guess(const char *text, size_t len, char *out);

/*
 * addr_domain_to_unicode - the U-label form of the canonical (A-label)
 * domain into out (outsz bytes, NUL-terminated).  Returns 1 when the
 * domain has A-labels and out differs from it, 0 when the domain is plain
 * ASCII (out is then a copy), -1 when it cannot be converted or does not
 * fit (out is then "").
 */
int addr_domain_to_unicode(const char *domain, char *out, size_t outsz);

/*
 * addr_format - write the canonical "local@domain" (or "local" when bare)
 * into buf of size bufsz, NUL-terminated.  With with_extension false the
 * extension is left out.  With fold true, ASCII letters are lower-cased:
 * that is the form the table is keyed on.  Returns the length written, or
 * 0 when bufsz is too small (buf then holds "").
 */
size_t addr_format(const struct addr *a, bool with_extension, bool fold, char *buf, size_t bufsz);

/* addr_extension - the extension (delimiter included) or "" when none;
 * borrowed from a, valid while a is. */
const char *addr_extension(const struct addr *a);

/* addr_fold - ASCII lower-case len bytes from src into dst (may alias). */
void addr_fold(char *dst, const char *src, size_t len);

#endif
