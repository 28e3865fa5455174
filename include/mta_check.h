/*
 * mta_check.h - `hosted-milter -C postfix[:DIR]` / `-C sendmail[:CF]`:
 * checking the MTA's side of the installation against a configuration.
 *
 * Owns the report (one "ok: ", "warning: " or "error: " line per finding,
 * counted), the hosted domains in both IDN forms, milter socket specs
 * (libmilter's and Postfix's forms) and their comparison, where a chrooted
 * Postfix daemon finds a unix socket, Postfix's list syntax and domain
 * patterns, and bounded file reads.  The MTA-specific checks are in
 * mta_postfix.c (+ mta_postfix_maps.c) and mta_sendmail.c.  Everything read
 * from the MTA's files and tools is distrusted: bounded, escaped on output.
 * No global state.
 */
#ifndef HOSTED_MILTER_MTA_CHECK_H
#define HOSTED_MILTER_MTA_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct config;

/* Exit statuses of -C: no error found, errors found, could not check. */
enum { MTA_EXIT_OK = 0, MTA_EXIT_ERRORS = 1, MTA_EXIT_CANNOT = 2 };

/* Longest path or socket spec handled; longer ones are refused. */
#define MTA_PATH_MAX 1024
/* Largest configuration file or tool output read (bytes). */
#define MTA_READ_MAX (64u << 20)

/* ---- the report ----------------------------------------------------------- */

struct mta_report {
    FILE *out;
    unsigned nok, nwarn, nerr;
};

/* mta_ok, mta_warn, mta_error - print one "ok: ", "warning: " or
 * "error: " line (control bytes escaped as \xHH, UTF-8 kept) and count it. */
void mta_ok(struct mta_report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mta_warn(struct mta_report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mta_error(struct mta_report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- what the check is about ---------------------------------------------- */

/* One hosted domain: the A-label (canonical) form and, for an IDN domain,
 * the U-label form (NULL otherwise). */
struct mta_domain {
    char *alabel;
    char *ulabel;
};

struct mta_ctx {
    struct mta_report rep;
    const char *socket; /* the configuration's socket (libmilter spec); borrowed */
    struct mta_domain *domains;
    size_t ndomains;
};

/* mta_domain_forms - the forms of domain i the MTA must list: 1 or 2
 * (forms[0] the A-label, forms[1] the U-label). */
size_t mta_domain_forms(const struct mta_ctx *c, size_t i, const char *forms[2]);

/* mta_is_hosted - whether name (ASCII case ignored, a trailing dot
 * ignored) is one of the hosted domains in either form. */
bool mta_is_hosted(const struct mta_ctx *c, const char *name);

/* mta_forms - every form of every hosted domain, A-label then U-label
 * (strings borrowed from c; the array is the caller's to free), or NULL
 * when out of memory; *n gets the count. */
const char **mta_forms(const struct mta_ctx *c, size_t *n);

/* mta_alabel_of - the A-label form of the hosted domain whose U-label form
 * is key, or NULL when key is not a U-label form (borrowed from c). */
const char *mta_alabel_of(const struct mta_ctx *c, const char *key);

/*
 * mta_report_coverage - for the list called what: an error for each
 * keys[i] not found[i] (refused says what the MTA then does), or one ok
 * line when every form is there.
 */
void mta_report_coverage(struct mta_ctx *c, const char *what, const char *const *keys,
                         const bool *found, size_t n, const char *refused);

/* mta_ctx_add_domain - add a hosted domain (canonical A-label); the U-label
 * form is derived.  Returns 0, or -1 when out of memory. */
int mta_ctx_add_domain(struct mta_ctx *c, const char *alabel);

/* mta_ctx_free_domains - release the domains of c. */
void mta_ctx_free_domains(struct mta_ctx *c);

/*
 * mta_check_target - whether arg is "postfix", "postfix:DIR", "sendmail" or
 * "sendmail:CF"; *where gets the part after ':' (borrowed from arg) or the
 * default (/etc/postfix, /etc/mail/sendmail.cf).  Returns 'p', 's', or 0
 * for anything else (a usage error).
 */
int mta_check_target(const char *arg, const char **where);

/*
 * mta_check_run - the whole -C run for cfg (loaded by the caller, sources
 * read, like -D): check the MTA named by arg, print the report to out and
 * a summary line at its end; problems that stop the check go to stderr.
 * Returns MTA_EXIT_OK, MTA_EXIT_ERRORS or MTA_EXIT_CANNOT.
 */
int mta_check_run(const struct config *cfg, const char *arg, FILE *out);

/* The two checks; each returns MTA_EXIT_CANNOT (after a message on
 * stderr) when the MTA's configuration cannot be read, else 0; findings go
 * to c->rep. */
int mta_postfix_check(struct mta_ctx *c, const char *config_dir);
int mta_sendmail_check(struct mta_ctx *c, const char *cf_path);

/* ---- milter socket specs -------------------------------------------------- */

enum mta_sock_kind { MTA_SOCK_UNIX = 1, MTA_SOCK_INET, MTA_SOCK_INET6 };

struct mta_sock {
    enum mta_sock_kind kind;
    char path[MTA_PATH_MAX]; /* unix: as written (Postfix: may be relative) */
    char host[256];          /* inet: without brackets; "" when none given */
    char port[64];           /* inet: as written */
};

/* mta_sock_parse_libmilter - libmilter's and Sendmail's S= form:
 * unix:PATH, local:PATH, /PATH, inet:PORT[@HOST], inet6:PORT[@HOST].
 * Returns 0, or -1 when malformed or too long. */
int mta_sock_parse_libmilter(const char *spec, struct mta_sock *out);

/* mta_sock_parse_postfix - Postfix's form: unix:PATH, local:PATH,
 * inet:HOST:PORT (HOST may be [v6]).  Returns 0 or -1. */
int mta_sock_parse_postfix(const char *spec, struct mta_sock *out);

/*
 * mta_sock_same - whether the MTA's spec theirs (a unix path already
 * resolved to the host's view, see mta_chroot_path) reaches the milter
 * listening on ours.  Unix paths are the same file when equal after
 * lexical normalisation, or when their directories are the same inode and
 * the names equal.  inet: same port, and the same host text (a milter
 * listening on every address, 0.0.0.0, :: or no host, matches any host).
 * Returns 1 same, 0 not.
 */
int mta_sock_same(const struct mta_sock *ours, const struct mta_sock *theirs);

/* mta_sock_format - spec back to text, in libmilter form. */
void mta_sock_format(const struct mta_sock *s, char *out, size_t outsz);

/* ---- paths ---------------------------------------------------------------- */

/* mta_path_normalize - path without "//", "/./", trailing "/" and with
 * "dir/.." folded lexically (no symlink is followed).  Returns 0, or -1 when
 * it does not fit outsz. */
int mta_path_normalize(const char *path, char *out, size_t outsz);

/*
 * mta_chroot_path - the host path a Postfix daemon opens for the unix
 * socket path p: Postfix daemons run in queue_dir, so a relative p is
 * queue_dir/p; a chrooted daemon sees queue_dir as "/", so an absolute p
 * is queue_dir + p.  Normalised.  Returns 0, or -1 when too long.
 */
int mta_chroot_path(const char *queue_dir, bool chrooted, const char *p, char *out, size_t outsz);

/* ---- lists and patterns --------------------------------------------------- */

struct mta_list {
    char **v;
    size_t n;
};

/*
 * mta_list_split - split a Postfix list value: elements separated by
 * commas and white space, "{ ... }" one element (braces kept).  When
 * commas_only, white space inside an element is kept (trimmed at its
 * ends): for the inside of braces.  Appends copies to l.  Returns 0, or -1
 * when out of memory or a brace is not closed (l then holds what came
 * before).
 */
int mta_list_split(const char *s, bool commas_only, struct mta_list *l);

/* mta_list_add - append a copy of s.  Returns 0, or -1 when out of memory. */
int mta_list_add(struct mta_list *l, const char *s);

/* mta_list_unique - sort l (ASCII case ignored) and drop repeats, so
 * that a name listed twice is reported once. */
void mta_list_unique(struct mta_list *l);

/* mta_list_free - release the elements; l is then empty. */
void mta_list_free(struct mta_list *l);

/* mta_list_words - split text into words (white space and commas), '#'
 * starting a comment to the end of the line: a Postfix /file list or a
 * Sendmail class file.  Appends copies to l; returns 0 or -1. */
int mta_list_words(const char *text, struct mta_list *l);

/*
 * mta_pattern_match - whether the domain pattern pat matches name (ASCII
 * case and a trailing dot ignored): equal, or pat ".parent" and name a
 * subdomain of it, or - with parent_matches - name a subdomain of pat.
 */
bool mta_pattern_match(const char *pat, const char *name, bool parent_matches);

/* ---- socketmap ----------------------------------------------------------- */

/*
 * mta_netstring_parse - one netstring ("LEN:DATA,", LEN at most 5 digits)
 * at the start of the len bytes at buf: *data and *dlen get its payload
 * (borrowed from buf).  Returns the bytes it takes, 0 when more are
 * needed, -1 when malformed.
 */
long mta_netstring_parse(const char *buf, size_t len, const char **data, size_t *dlen);

/* ---- files ---------------------------------------------------------------- */

/* mta_read_file - read at most MTA_READ_MAX bytes of path into *out
 * (NUL-terminated, caller frees); a NUL byte inside or a larger file is an
 * error.  Returns 0, or -1 with *why set to a static text. */
int mta_read_file(const char *path, char **out, size_t *len, const char **why);

#endif
