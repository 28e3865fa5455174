/*
 * mta_postfix_impl.h - shared by mta_postfix.c and mta_postfix_maps.c only:
 * running Postfix's tools, and Postfix domain lists (names, /files,
 * type:table lookups through postmap, socketmap queried directly).
 */
#ifndef HOSTED_MILTER_MTA_POSTFIX_IMPL_H
#define HOSTED_MILTER_MTA_POSTFIX_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include "mta_check.h"

/* What the list code needs to know about the Postfix instance. */
struct pf_env {
    struct mta_report *rep;
    const char *config_dir; /* absolute */
    const char *queue_dir;
    bool rewrite_chrooted; /* trivial-rewrite (which opens relay_domains' tables) */
};

/*
 * pf_run - run argv (argv[0] found in PATH, else in /usr/sbin) without a
 * shell, stdin from stdin_path (NULL: /dev/null), for at most 60 s.  *out
 * gets stdout, *err stderr (NUL-terminated, caller frees both; stdout
 * bounded by MTA_READ_MAX, stderr by 64 KiB).  Returns the exit status,
 * or -1 when it could not run, was killed, or said more than the bounds
 * (*err then says why when possible).
 */
int pf_run(const char *const argv[], const char *stdin_path, char **out, char **err);

/* A Postfix domain list as the check uses it. */
struct pf_list {
    const char *param;      /* parameter name, for messages */
    struct mta_list names;  /* inline patterns and the words of /files */
    struct mta_list tables; /* type:name entries */
    bool parent_matches;    /* listed in parent_domain_matches_subdomains */
};

/* pf_list_load - read the list value of param: split it, read its
 * /files (a file that cannot be read is an error in the report).  Returns
 * 0, or -1 when out of memory. */
int pf_list_load(struct pf_env *env, const char *param, const char *value, bool parent_matches,
                 struct pf_list *l);

/* pf_list_match - found[i] = whether keys[i] is matched by the list.
 * A table that cannot be queried is an error in the report (its keys count
 * as not found), except an unreachable socketmap, which is a warning and
 * counts as found (see mta_postfix.c).  Returns 0, or -1 out of memory. */
int pf_list_match(struct pf_env *env, struct pf_list *l, const char *const *keys, size_t n,
                  bool *found);

/* pf_list_names - the names the list holds, as far as they can be
 * listed: its patterns and the keys of tables postmap -s can list.
 * Appends copies to out; returns 0 or -1. */
int pf_list_names(struct pf_env *env, struct pf_list *l, struct mta_list *out);

/* pf_list_free - release l's contents. */
void pf_list_free(struct pf_list *l);

#endif
