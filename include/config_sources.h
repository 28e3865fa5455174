/*
 * config_sources.h - the `source` sections of hosted-milter.conf and
 * `state_dir`: definitions out of the parsed file, each source read (or,
 * at start, its snapshot when it cannot be read), its records added to
 * the table builder, and the snapshots written after a table goes live.
 *
 * Internal to the configuration module (config.c).  A source that cannot
 * be read is an error ("URI: message"), except at start (CONFIG_START):
 * then its last snapshot in state_dir serves, with a warning naming the
 * source, and the configuration says it is stale (the daemon retries).
 */
#ifndef HOSTED_MILTER_CONFIG_SOURCES_H
#define HOSTED_MILTER_CONFIG_SOURCES_H

#include <confuse.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "config_sections.h"
#include "source.h"
#include "source_records.h"

/* The rows of a `source` section (for the schema in config.c). */
#define CONFIG_SOURCE_OPTS                                                                         \
    {                                                                                              \
        CFG_STR("type", 0, CFGF_NONE), CFG_STR("uri", 0, CFGF_NONE),                               \
            CFG_STR("base", 0, CFGF_NONE), CFG_STR("schema", 0, CFGF_NONE),                        \
            CFG_STR("bind_dn", 0, CFGF_NONE), CFG_STR("bind_password_file", 0, CFGF_NONE),         \
            CFG_INT("refresh", 300, CFGF_NONE), CFG_BOOL("persist", cfg_false, CFGF_NONE),         \
            CFG_INT("timeout", 10, CFGF_NONE), CFG_STR("mailbox_filter", 0, CFGF_NONE),            \
            CFG_STR("mailbox_attribute", 0, CFGF_NONE),                                            \
            CFG_STR("secondary_attribute", 0, CFGF_NONE), CFG_STR("alias_filter", 0, CFGF_NONE),   \
            CFG_STR("alias_attribute", 0, CFGF_NONE), CFG_STR("target_attribute", 0, CFGF_NONE),   \
            CFG_STR("domain_filter", 0, CFGF_NONE), CFG_STR("domain_attribute", 0, CFGF_NONE),     \
            CONFIG_SQL_OPTS, CFG_END()                                                             \
    }

/* The rows of a `source` section that only SQL sources take (config_sql.c). */
#define CONFIG_SQL_OPTS                                                                            \
    CFG_STR("connect", 0, CFGF_NONE), CFG_STR("password_file", 0, CFGF_NONE),                      \
        CFG_STR("listen", 0, CFGF_NONE), CFG_STR("domain_query", 0, CFGF_NONE),                    \
        CFG_STR("alias_domain_query", 0, CFGF_NONE), CFG_STR("mailbox_query", 0, CFGF_NONE),       \
        CFG_STR("alias_query", 0, CFGF_NONE), CFG_STR("secondary_query", 0, CFGF_NONE)

/* Sources as one configuration holds them. */
struct config_sources {
    char *state_dir; /* NULL: no snapshots */
    struct source_def *defs;
    size_t n;
    struct source_records **fresh; /* per source: read in this load (NULL: from a snapshot) */
    bool stale;                    /* some source served from its snapshot */
};

/*
 * config_sources_read - the definitions of cfg's `source` sections and its
 * state_dir into s, every problem reported at its section's file:line.
 * Returns 0, or -1 when out of memory (cb->oom set).
 */
int config_sources_read(struct config_build *cb, cfg_t *cfg, struct config_sources *s);

/*
 * config_sources_load - read every source (at_start: a source that cannot
 * be read falls back to its snapshot) and add its records to cb->b.
 * Errors go to cb->d.  Returns -1 when out of memory (cb->oom set), else 0.
 */
int config_sources_load(struct config_build *cb, struct config_sources *s, bool at_start);

/*
 * config_sources_write_snapshots - write the snapshot of every source read
 * afresh into state_dir/TITLE.snapshot (atomically).  Returns the number
 * of snapshots that could not be written (each a warning in d).
 */
size_t config_sources_write_snapshots(const struct config_sources *s, struct diag *d);

/* config_source_error - "file:line: source "TITLE": message" at sec's
 * line, into cb->d (for config_sources.c and config_sql.c). */
void config_source_error(struct config_build *cb, cfg_t *sec, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * config_sql_read - the options of a postgresql or mysql section into
 * def->sql (config_sql.c); every problem reported at the section.  Returns
 * 0, or -1 when out of memory.
 */
int config_sql_read(struct config_build *cb, cfg_t *sec, struct source_def *def);

/* config_sql_check_foreign - an error for each option set in sec that a
 * source of type does not take (uri with postgresql, connect with ldap). */
void config_sql_check_foreign(struct config_build *cb, cfg_t *sec, enum source_type type);

/* config_sources_free - release what s holds (not s itself). */
void config_sources_free(struct config_sources *s);

#endif
