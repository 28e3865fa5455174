/*
 * hosted_domains.h - the hosted domains of a table as an MTA names them:
 * the list `hosted-milter -D` prints and the lookup the socketmap answers
 * with, one definition for both so that they never disagree.
 *
 * Postfix compares relay_domains as text, so every IDN domain is listed in
 * both forms (A-label, then U-label); the lookup accepts either form, any
 * case, and a trailing dot.  Pure: no I/O, no state.
 */
#ifndef HOSTED_MILTER_HOSTED_DOMAINS_H
#define HOSTED_MILTER_HOSTED_DOMAINS_H

#include <stddef.h>

#include "addr.h"
#include "table.h"

/*
 * hosted_domains_lookup - whether the len bytes at name (need not be
 * NUL-terminated; any bytes) name a hosted domain of t.  Returns 1 and
 * writes the domain's canonical form (folded A-labels, as in the table)
 * into canon; 0 when it is not hosted or is no domain name at all; -1
 * when the name could not be converted for lack of memory.  Thread-safe.
 */
int hosted_domains_lookup(const struct table *t, const char *name, size_t len,
                          char canon[ADDR_DOMAIN_MAX + 1]);

/*
 * hosted_domains_each - call fn(name, arg) for every name of every hosted
 * domain of t: sorted by canonical form, each domain's A-label form and
 * then, for an IDN domain, its U-label form.  name is borrowed for the
 * call.  Stops at the first nonzero fn result and returns it; returns -1
 * when out of memory, 0 after the last name.
 */
int hosted_domains_each(const struct table *t, int (*fn)(const char *name, void *arg), void *arg);

#endif
