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

/* Where the settings that are not in the builder were written.  Strings
 * are borrowed for the duration of the call. */
struct validate_where {
    const char *settings_file;   /* the file of the global settings (the main
                                  * configuration file); NULL: unknown */
    struct table_loc postmaster; /* the global postmaster setting */
};

/*
 * validate_table - add every problem of t to d, with locations from b (the
 * builder that made t; NULL: none).  Returns the number of errors added.
 * Problems of the global settings have no location here: see
 * validate_table_at.
 */
int validate_table(const struct table *t, const struct table_builder *b, struct diag *d);

/*
 * validate_table_at - the same, with the places of the global settings
 * (w may be NULL).  Besides validate_table's checks, when w names the
 * settings file, warns there that a bare RCPT TO:<postmaster> will be
 * passed to the MTA when t hosts a domain and has no global postmaster.
 */
int validate_table_at(const struct table *t, const struct table_builder *b,
                      const struct validate_where *w, struct diag *d);

#endif
