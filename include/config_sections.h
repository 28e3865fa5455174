/*
 * config_sections.h - the domain, mailbox and alias sections of
 * hosted-milter.conf into a table builder.
 *
 * Internal to the configuration module (config.c).  Owns nothing: it
 * reads a parsed cfg_t and adds to a table_builder the caller owns,
 * reporting each problem at the file:line of the section or value.
 */
#ifndef HOSTED_MILTER_CONFIG_SECTIONS_H
#define HOSTED_MILTER_CONFIG_SECTIONS_H

#include <confuse.h>
#include <stdbool.h>

#include "addr.h"
#include "config_lex.h"
#include "diag.h"
#include "table.h"

/* The default of a domain section's unknown_recipient: not set there, the
 * global setting applies. */
#define CONFIG_UNKNOWN_INHERIT (-1)

/* The value of every address-valued option (a CFG_PTR): the text and
 * where it was written. */
struct config_located {
    struct config_pos pos;
    char text[];
};

/* One load's building state. */
struct config_build {
    struct diag *d;
    const struct config_lex *lex;
    struct table_builder *b;
    const char **interned; /* b's copy of each file name, by config_pos.file */
    bool oom;              /* sticky: an allocation failed (reported once, by the caller) */
};

/* config_build_loc - pos as a table_loc naming b's copy of the file. */
struct table_loc config_build_loc(const struct config_build *cb, struct config_pos pos);

/*
 * config_canon_address - the canonical text (case kept; fold: folded, the
 * key) of an address that must have a domain, into out.  Returns NULL, or
 * why it is not acceptable (a static string).
 */
const char *config_canon_address(const char *text, bool fold, char out[ADDR_TEXT_MAX + 1]);

/*
 * config_sections_add - add the domain, mailbox and alias sections of cfg
 * to cb->b, in that order, reporting every problem to cb->d.  Returns 0,
 * or -1 when out of memory (cb->oom set; the load must stop).
 */
int config_sections_add(struct config_build *cb, cfg_t *cfg);

#endif
