/*
 * config_lex.h - hosted-milter.conf text made fit for libconfuse 3.3, and
 * libconfuse's messages brought back to the file:line they are about.
 *
 * Internal to the configuration module (config.c, config_sections.c).
 * Owns every workaround for libconfuse 3.3's bugs (listed, with the tests
 * that pin them, at the top of config_lex.c): the comment-free,
 * include-spliced text libconfuse reads, the map from its lines back to
 * files and lines, the lock around libconfuse, and its error callback.
 * Nothing here knows the schema or the table.
 */
#ifndef HOSTED_MILTER_CONFIG_LEX_H
#define HOSTED_MILTER_CONFIG_LEX_H

#include <confuse.h>
#include <stddef.h>

#include "diag.h"

/* A place in the configuration: file is an index for config_lex_file
 * (0 the main file), line 0 when not known. */
struct config_pos {
    unsigned file;
    unsigned line;
};

struct config_lex;

/*
 * config_lex_new - read the file at path (text NULL) or take len bytes at
 * text as the file named path, and make the text libconfuse will parse:
 * comments blanked, include("file") spliced in (relative names against
 * path's directory, 16 deep).  Returns a new config_lex (free with
 * config_lex_free), or NULL after adding the errors to d (out of memory
 * too, reported once).  d is kept for the messages of config_lex_parse.
 */
struct config_lex *config_lex_new(const char *path, const char *text, size_t len, struct diag *d);

/* config_lex_free - release x; NULL is safe. */
void config_lex_free(struct config_lex *x);

/*
 * config_lex_parse - parse x's text with libconfuse under the schema opts
 * (copied by cfg_init), then, when that succeeded, call use(cfg, user)
 * while cfg lives.  libconfuse's messages and those of opts' callbacks
 * (cfg_error, config_lex_warn) go to x's diag list at their file:line;
 * the top-level titled sections of cfg carry the line of their title.
 * Parses are serialised by a lock (libconfuse's lexer is global state).
 * Returns use's result, or -1 when parsing failed (reported).
 */
int config_lex_parse(struct config_lex *x, cfg_opt_t *opts, void *user,
                     int (*use)(cfg_t *cfg, void *user));

/* In the callbacks of a parse: where cfg's lexer is, and the user pointer
 * given to config_lex_parse ({0, 0} and NULL outside a parse). */
struct config_pos config_lex_pos(const cfg_t *cfg);
void *config_lex_user(const cfg_t *cfg);

/* config_lex_nomem - in a callback of a parse: an allocation failed.  The
 * parse fails, and config_lex_parse reports "out of memory" once. */
void config_lex_nomem(const cfg_t *cfg);

/* config_lex_warn - a warning at cfg's place (errors: libconfuse's own
 * cfg_error, which comes back through the same hook). */
void config_lex_warn(cfg_t *cfg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* config_lex_map - the place of line `line` of libconfuse's text (a
 * cfg_t's line, a section's title line). */
struct config_pos config_lex_map(const struct config_lex *x, int line);

/* config_lex_nfiles, config_lex_file - the files read, by index (the name
 * as shown in messages, borrowed from x; NULL out of range). */
size_t config_lex_nfiles(const struct config_lex *x);
const char *config_lex_file(const struct config_lex *x, unsigned file);

/* config_lex_loc - pos as a diag place (the name borrowed from x). */
struct diag_loc config_lex_loc(const struct config_lex *x, struct config_pos pos);

/*
 * config_lex_again - " (that file is included more than once)" when a
 * duplicate at pos is the very place (file, line) of the first one, read
 * a second time, else "".  A static string.
 */
const char *config_lex_again(const struct config_lex *x, struct config_pos pos, const char *file,
                             unsigned line);

/* config_lex_path - name relative to the main file's directory (absolute
 * names as they are), in a new string; NULL when out of memory. */
char *config_lex_path(const struct config_lex *x, const char *name);

#endif
