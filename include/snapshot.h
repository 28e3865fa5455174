/*
 * snapshot.h - the last good records of a source, kept in state_dir so
 * that hosted-milter can start while the directory or database is down.
 *
 * Owns the file format and its atomic replacement; the records belong to
 * the caller (source_records.h).  Records hold no secrets (no bind
 * password, no connection string), so neither does a snapshot.
 *
 * Format, version 1: UTF-8-friendly text, one record a line, each line
 * ending in LF; fields separated by one space:
 *
 *     hosted-milter-snapshot 1 source=NAME
 *     domain ORIGIN DOMAIN
 *     alias_domain ORIGIN DOMAIN TARGET-DOMAIN
 *     mailbox ORIGIN ADDRESS
 *     secondary ORIGIN ADDRESS PRIMARY
 *     alias ORIGIN ADDRESS TARGET...
 *     catch_all ORIGIN DOMAIN TARGET...
 *     end COUNT
 *
 * NAME, ORIGIN and the values are escaped: bytes 0x21-0x7e other than
 * backslash, and every byte from 0x80 up, stand for themselves; any other
 * byte (space, control bytes, DEL, backslash) is written \xHH with two
 * lower-case hex digits, and only such bytes may be escaped, so that each
 * value has one spelling.  A NUL (\x00) is refused.  A field is never
 * empty, except NAME.  COUNT is the number of record lines, in decimal
 * without leading zeros; the "end" line must be the last line.  A file
 * without it (cut short, a copy interrupted) is refused whole, as is one
 * whose first line has another magic, version or source name.  Values are
 * checked again on reading exactly as source_records_add checks them.
 */
#ifndef HOSTED_MILTER_SNAPSHOT_H
#define HOSTED_MILTER_SNAPSHOT_H

#include <stddef.h>

#include "diag.h"
#include "source_records.h"
#include "util.h"

/* The first word of a snapshot and the version this code writes and reads. */
#define SNAPSHOT_MAGIC "hosted-milter-snapshot"
#define SNAPSHOT_VERSION 1

/*
 * snapshot_write - write r to path atomically: a temporary file beside it
 * (path.XXXXXX, mode 0640), written, fsync'ed, renamed over path, and the
 * directory fsync'ed.  On any failure the temporary file is removed and
 * the old file at path, if any, is left as it was.  Returns 0, or -1 with
 * one error in d ("path: cannot create a temporary file: Permission
 * denied"); an incomplete r (source_records_oom) is refused, never written.
 */
int snapshot_write(const struct source_records *r, const char *path, struct diag *d);

/* snapshot_format - append the text snapshot_write writes to b.  Returns 0,
 * or -1 when out of memory or r is incomplete (b may hold part of it). */
int snapshot_format(const struct source_records *r, struct util_buf *b);

/*
 * snapshot_read - read the snapshot at path into r, whose name must be
 * the source name the file was written with.  Every malformed line is an
 * error at "path:line: message", and all are reported (up to 50); a bad
 * first line stops the reading there.  Returns 0 when the whole file was
 * good; -1 otherwise, also when out of memory (an error says so).  After
 * -1, r holds what it held before the call: a refused file adds nothing.
 */
int snapshot_read(const char *path, struct source_records *r, struct diag *d);

/* snapshot_read_buffer - the same for the len bytes at buf (any bytes),
 * with path only naming them in messages. */
int snapshot_read_buffer(const char *path, const char *buf, size_t len, struct source_records *r,
                         struct diag *d);

#endif
