/*
 * virtual_map.h - loader for Postfix virtual(5) text files.
 *
 * Owns the reading of one `table` (or `mailbox_table`, below) file into a
 * table_builder: logical lines
 * (a line starting with white space continues the previous one; '#'
 * comments and blank lines are skipped), and the four forms
 *     user@domain   target, target ...   -> an alias entry
 *     @domain       target, target ...   -> the domain's catch-all
 *     @domain       @other               -> domain aliased to other
 *     domain        anything             -> domain declared hosted
 * Problems go to the diag list as "path:line: message"; nothing is printed.
 * A `table` and a `mailbox_table` file together route mail as Postfix's
 * virtual_alias_maps and virtual_mailbox_maps would (below).
 */
#ifndef HOSTED_MILTER_VIRTUAL_MAP_H
#define HOSTED_MILTER_VIRTUAL_MAP_H

#include <stddef.h>
#include <stdbool.h>

#include "diag.h"
#include "table.h"

/*
 * virtual_map_load - add the lines of the file at path to b.  Domains named
 * by `@domain` lines are declared hosted as a side effect, as Postfix's
 * virtual_alias_domains would have to list them.  Returns the number of
 * errors added to d (0 on success); a file that cannot be opened or read is
 * one error.  Warnings do not count.
 */
int virtual_map_load(struct table_builder *b, const char *path, struct diag *d);

/*
 * virtual_map_load_buffer - the same for len bytes of file text at buf
 * (need not be NUL-terminated; any bytes are safe input, for fuzzing).
 * name is the file name used in diagnostics and locations (copied into the
 * builder).  Returns the number of errors added to d.
 */
int virtual_map_load_buffer(struct table_builder *b, const char *name, const char *buf, size_t len,
                            struct diag *d);

/*
 * virtual_map_load_mailboxes, virtual_map_load_mailboxes_buffer - the same
 * for a file in Postfix virtual_mailbox_maps form: every `user@domain
 * value` line declares a mailbox (the value, Postfix's mailbox path, is not
 * used); `domain value` lines declare the domain hosted; `@domain` lines
 * are an error.  This is how a large table of mailboxes is loaded (the
 * configuration's mailbox sections are meant for hundreds, not millions).
 */
int virtual_map_load_mailboxes(struct table_builder *b, const char *path, struct diag *d);
int virtual_map_load_mailboxes_buffer(struct table_builder *b, const char *name, const char *buf,
                                      size_t len, struct diag *d);

/*
 * virtual_map_load_owned - virtual_map_load_buffer (mailboxes false) or
 * virtual_map_load_mailboxes_buffer (true) for file text the caller
 * malloc'ed and frees afterwards: its pages are given back to the system as
 * the parse passes them (their bytes read as zero afterwards), so a large
 * file does not stay resident beside the table it becomes.
 */
int virtual_map_load_owned(struct table_builder *b, const char *name, char *text, size_t len,
                           bool mailboxes, struct diag *d);

/*
 * Both kinds of file may name one address, as Postfix's virtual_alias_maps
 * and virtual_mailbox_maps may: the virtual(5) line wins (its targets may
 * include the address itself to deliver there too), and a virtual(5)
 * @domain line captures the mailbox_table mailboxes of its domain that
 * have no virtual(5) line of their own (see table_builder_finish).
 *
 * virtual_map_report_captures - after table_builder_finish(b) gave t: one
 * warning per capturing @domain line, at its file:line, with the number of
 * mailboxes it captures, why, and how to exempt one.  Adds to d only.
 */
void virtual_map_report_captures(const struct table_builder *b, const struct table *t,
                                 struct diag *d);

#endif
