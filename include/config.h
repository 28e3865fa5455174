/*
 * config.h - the configuration file (libconfuse schema) and what it builds.
 *
 * Owns the schema of hosted-milter.conf, its parsing (with include() and
 * `table` files), and the read-only struct config that results: daemon
 * settings plus the validated table.  Loading either yields a complete,
 * validated configuration or nothing: never a half-loaded table.  Errors
 * go to a diag list as "file:line: message"; nothing is printed or logged.
 */
#ifndef HOSTED_MILTER_CONFIG_H
#define HOSTED_MILTER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "diag.h"
#include "log.h" /* enum log_level */
#include "source.h"
#include "table.h"

struct config_sources;

/* Where each daemon setting was written, as "file:line" (for messages
 * about it after parsing: a reload that changes it, a user that does not
 * exist); NULL when no file sets it and the default applies. */
struct config_where {
    char *socket, *user, *group, *pidfile, *socket_mode, *socket_group, *timeout, *socketmap,
        *metrics;
};

/* The longest socketmap path: sun_path less its NUL on the BSDs (104). */
#define CONFIG_SOCKETMAP_PATH_MAX 103

struct config {
    char *path;       /* the file it was loaded from */
    time_t loaded_at; /* when (the metrics show it for the live one) */
    /* how long the load's phases took (seconds; the reload logs them):
     * the settings and table files read into the builder, the sources,
     * the table's index built, its validation */
    double took_read, took_sources, took_build, took_validate;
    /* daemon settings (read at start; a reload that changes them warns) */
    char *socket;         /* libmilter connection spec */
    char *user;           /* drop privileges to this user; NULL: stay */
    char *group;          /* and group; NULL: the user's primary group */
    char *pidfile;        /* NULL: none */
    unsigned socket_mode; /* permission bits of a unix socket */
    char *socket_group;   /* group of a unix socket; NULL: unchanged */
    unsigned timeout;     /* libmilter I/O timeout, seconds */
    char *socketmap;      /* the socketmap server's socket, "unix:/path"; NULL: none */
    char *metrics;        /* the metrics server's address (metrics_addr.h); NULL: off */
    struct config_where where;
    /* behaviour (may change at reload) */
    enum log_level log_level;
    bool dry_run;                   /* decide and log, never reject or rewrite */
    struct table *table;            /* one reference, owned by the config */
    struct config_sources *sources; /* `source` sections, state_dir, what was read */
};

/* How a load treats `source` sections. */
enum config_sources_mode {
    CONFIG_SOURCES_READ = 0, /* every source is read; one that cannot be is an error */
    CONFIG_SOURCES_START,    /* at start: one that cannot be read serves its snapshot */
    CONFIG_SOURCES_SKIP,     /* definitions checked, nothing read (fuzzing, unit tests) */
};

/*
 * config_load - parse and validate the file at path.  Returns a new config
 * (free with config_free) or NULL; on NULL, d holds at least one error (or
 * allocation failed).  Warnings are added to d in either case.
 *
 * File rules (see etc/hosted-milter.conf): relative names in include()
 * and in `table` resolve against the directory of the file at path (also
 * inside an included file), with no ~ or ${VAR} expansion; includes nest
 * 16 deep.  Comments (#, //, and C-style block comments) may stand
 * anywhere outside a quoted string, also inside a list.  Every
 * diagnostic names the file and line it is about: included files and
 * table files at their own lines, a table file that cannot be read at the
 * line that names it, the global settings at theirs (a missing global
 * postmaster, a warning, at line 1 of the file at path).  An included file
 * must end at the end of a statement.
 *
 * Loads are serialised by an internal lock (libconfuse keeps global lexer
 * state), so it may be called from any thread, one load at a time.
 */
struct config *config_load(const char *path, struct diag *d);

/* config_load_mode - config_load with the sources read as mode says
 * (config_load is CONFIG_SOURCES_READ). */
struct config *config_load_mode(const char *path, enum config_sources_mode mode, struct diag *d);

/*
 * config_load_buffer - the same for len bytes of configuration text at buf
 * (need not be NUL-terminated; any bytes are safe input, for fuzzing).
 * name stands for the file: it is used in diagnostics, as config->path,
 * and its directory is the base of relative include() and `table` names
 * (a name without '/': the current directory).  buf NULL is empty text.
 */
struct config *config_load_buffer(const char *name, const char *buf, size_t len, struct diag *d);

/*
 * config_load_buffer reads no source (CONFIG_SOURCES_SKIP): fuzzed text
 * must never make the process connect anywhere.
 */

/* config_stale - whether some source serves its snapshot (retry soon). */
bool config_stale(const struct config *c);

/* config_refresh - the shortest non-zero refresh of the sources, seconds;
 * 0 when no source asks for one. */
unsigned config_refresh(const struct config *c);

/* config_source_count, config_source_at - the `source` definitions;
 * borrowed, valid while c is. */
size_t config_source_count(const struct config *c);
const struct source_def *config_source_at(const struct config *c, size_t i);

/* config_write_snapshots - after c went live: the snapshot of every source
 * it read afresh, into state_dir.  Returns how many could not be written
 * (each a warning in d). */
size_t config_write_snapshots(const struct config *c, struct diag *d);

/* config_free - release everything, dropping the config's table reference;
 * NULL is safe. */
void config_free(struct config *c);

#endif
