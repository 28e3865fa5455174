/*
 * addr_fast.h - the one-pass parse of the common envelope address.
 *
 * Owns the fast path of addr_parse (addr.h): nearly every recipient, and
 * every line of a large table, is "<local@domain>" in plain ASCII, with a
 * dot-atom local part and a host name domain.  addr_parse_fast reads such
 * an address in a single pass, copying as it checks, without the general
 * path's separate scans for control bytes, brackets, route, quotes and
 * '@', and without its NFC and IDN steps (the NFC form of ASCII is
 * itself; an ASCII host name has no U-label).  Anything else it leaves to
 * the general path, which alone decides every error: the fast path either
 * produces exactly the general path's result or declines.
 */
#ifndef HOSTED_MILTER_ADDR_FAST_H
#define HOSTED_MILTER_ADDR_FAST_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"

/*
 * addr_parse_fast - parse len bytes at text when they are "<L@D>" or
 * "L@D" with L an ASCII dot-atom of 1 to ADDR_LOCAL_MAX octets and D an
 * ASCII host name (labels of letters, digits, '-' and '_', 1 to 63 octets,
 * no '-' at either end, an optional trailing dot, at most ADDR_DOMAIN_MAX
 * octets with the trailing dot); fills local, local_len, domain (folded,
 * trailing dot dropped) and domain_len of *out exactly as addr_parse
 * would, and returns true.  base_len is left to the caller (the extension
 * split is the same for both paths).  Returns false for any other input,
 * valid or not, with *out unspecified.  Reads at most len bytes.
 */
bool addr_parse_fast(struct addr *out, const char *text, size_t len);

/*
 * addr_parse_general - addr_parse without its fast path: the reference
 * that the differential unit test and fuzz target compare the fast path
 * with.  Not for production callers (it is only slower).
 */
enum addr_error addr_parse_general(struct addr *out, const char *text, size_t len,
                                   const char *delimiters);

#endif
