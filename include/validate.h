/*
 * validate.h - semantic checks over a whole finished table.
 *
 * Owns the rules that a configuration must satisfy beyond its syntax:
 * every hosted domain's postmaster reaches a mailbox, every alias, catch-all
 * and postmaster target resolves to a mailbox (a declared one, an address in
 * a `pass` domain, or one outside every hosted domain), no alias loops, no
 * alias_domain chain loops, and warnings for entries that can never match
 * (outside every hosted domain).  Uses policy_resolve, so a check says
 * exactly what the milter would do.  Reports every problem, not the first.
 */
#ifndef HOSTED_MILTER_VALIDATE_H
#define HOSTED_MILTER_VALIDATE_H

#include "diag.h"
#include "table.h"

/* validate_table - add every problem of t to d, with locations from b (the
 * builder that made t).  Returns the number of errors added. */
int validate_table(const struct table *t, const struct table_builder *b, struct diag *d);

#endif
