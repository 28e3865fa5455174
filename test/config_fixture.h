/*
 * config_fixture.h - what the configuration loader's tests share: a fresh
 * temporary directory per test (and the files written into it, removed in
 * teardown), loading a file or a text through config_load, and looking
 * at the diagnostics and the table that result.  Included by one test
 * file per executable (check_config.c, check_config_places.c).
 */
#ifndef HOSTED_MILTER_CONFIG_FIXTURE_H
#define HOSTED_MILTER_CONFIG_FIXTURE_H

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check_cases.h"
#include "config.h"
#include "diag.h"
#include "table.h"

#define MAX_PATHS 32

/* The per-test temporary directory and what was created in it. */
static char tmpdir[256];
static char *created[MAX_PATHS];
static bool created_dir[MAX_PATHS];
static size_t ncreated;

static inline void remember(const char *path, bool dir)
{
    ck_assert_uint_lt(ncreated, MAX_PATHS);
    created[ncreated] = strdup(path);
    ck_assert_ptr_nonnull(created[ncreated]);
    created_dir[ncreated++] = dir;
}

static inline void setup(void)
{
    const char *base = getenv("TMPDIR");

    snprintf(tmpdir, sizeof(tmpdir), "%s/check_config.XXXXXX", base && *base ? base : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    ncreated = 0;
}

static inline void teardown(void)
{
    while (ncreated > 0) {
        ncreated--;
        if (created_dir[ncreated])
            rmdir(created[ncreated]);
        else
            unlink(created[ncreated]);
        free(created[ncreated]);
    }
    rmdir(tmpdir);
}

/* tmp_path - tmpdir/name in a static buffer (one of two, alternating). */
static inline const char *tmp_path(const char *name)
{
    static char bufs[2][512];
    static int which;
    char *p = bufs[which ^= 1];

    snprintf(p, sizeof(bufs[0]), "%s/%s", tmpdir, name);
    return p;
}

static inline void make_dir(const char *name)
{
    const char *p = tmp_path(name);

    ck_assert_int_eq(mkdir(p, 0700), 0);
    remember(p, true);
}

/* write_file - tmpdir/name with text; returns the full path (static). */
static inline const char *write_file(const char *name, const char *text)
{
    const char *p = tmp_path(name);
    FILE *fp = fopen(p, "w");

    ck_assert_ptr_nonnull(fp);
    ck_assert_int_eq(fputs(text, fp) >= 0, 1);
    ck_assert_int_eq(fclose(fp), 0);
    remember(p, false);
    return p;
}

/* One load and its diagnostics. */
struct load {
    struct config *c;
    struct diag *d;
};

static inline void load_path(struct load *l, const char *path)
{
    l->d = diag_new();
    ck_assert_ptr_nonnull(l->d);
    l->c = config_load(path, l->d);
    /* the verdict and the diagnostics agree */
    ck_assert_int_eq(l->c == NULL, diag_count(l->d, DIAG_ERROR) > 0);
}

static inline void load_text(struct load *l, const char *text)
{
    load_path(l, write_file("main.conf", text));
}

static inline void load_done(struct load *l)
{
    config_free(l->c);
    diag_free(l->d);
}

/* has_message - whether d holds exactly text (expanded from fmt). */
static inline bool has_message(const struct diag *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline bool has_message(const struct diag *d, const char *fmt, ...)
{
    char want[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(want, sizeof(want), fmt, ap);
    va_end(ap);
    for (size_t i = 0; i < diag_size(d); i++)
        if (strcmp(diag_text(d, i), want) == 0)
            return true;
    return false;
}

static inline void dump(const struct diag *d)
{
    for (size_t i = 0; i < diag_size(d); i++)
        fprintf(stderr, "  diag[%zu] = %s\n", i, diag_text(d, i));
}

/* expect_message - d has "tmpdir/<rel>" exactly, else show what it has. */
static inline void expect_message(const struct diag *d, const char *rel)
{
    bool ok = has_message(d, "%s/%s", tmpdir, rel);

    if (!ok) {
        fprintf(stderr, "missing: %s/%s\n", tmpdir, rel);
        dump(d);
    }
    ck_assert_msg(ok, "missing diagnostic %s", rel);
}

static inline const struct table_entry *lookup(const struct config *c, const char *key)
{
    const struct table_entry *e = NULL;

    if (table_lookup(c->table, key, strlen(key), &e) != 1)
        return NULL;
    return e;
}

static inline const struct table_domain *lookup_domain(const struct config *c, const char *name)
{
    const struct table_domain *dom = NULL;

    if (table_domain_lookup(c->table, name, strlen(name), &dom) != 1)
        return NULL;
    return dom;
}

/* ------------------------------------------------------------------ */
/* settings and defaults */

#endif
