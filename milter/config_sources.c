/*
 * config_sources.c - `source` sections and state_dir (see config_sources.h).
 *
 * A definition is checked whole when read, so that a reload or -t reports
 * every missing or contradictory option at its section; reading the
 * source itself happens only once the rest of the configuration parsed.
 */
#include "config_sources.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "metrics.h"
#include "snapshot.h"
#include "util.h"

/* A copy of cfg's string option name (NULL stays NULL); -1 when out of memory. */
static int copy_opt(cfg_t *sec, const char *name, const char **out)
{
    const char *v = cfg_getstr(sec, name);

    *out = NULL;
    if (v == NULL)
        return 0;
    return (*out = strdup(v)) == NULL ? -1 : 0;
}

void config_source_error(struct config_build *cb, cfg_t *sec, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    diag_add_loc(cb->d, DIAG_ERROR, config_lex_loc(cb->lex, config_lex_pos(sec)),
                 "source \"%s\": %s", cfg_title(sec), msg);
}

/* The options of an ldap source into def->ldap; problems reported. */
static int read_ldap(struct config_build *cb, cfg_t *sec, struct source_def *def)
{
    struct ldap_source_cfg *l = &def->ldap;
    const char *schema = cfg_getstr(sec, "schema");
    static const char *const names[] = {"uri",
                                        "base",
                                        "bind_dn",
                                        "bind_password_file",
                                        "mailbox_filter",
                                        "alias_filter",
                                        "domain_filter",
                                        "mailbox_attribute",
                                        "secondary_attribute",
                                        "alias_attribute",
                                        "target_attribute",
                                        "domain_attribute"};
    const char **fields[] = {&l->uri,
                             &l->base,
                             &l->bind_dn,
                             &l->bind_password_file,
                             &l->mailbox_filter,
                             &l->alias_filter,
                             &l->domain_filter,
                             &l->custom.mailbox_attribute,
                             &l->custom.secondary_attribute,
                             &l->custom.alias_attribute,
                             &l->custom.target_attribute,
                             &l->custom.domain_attribute};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (copy_opt(sec, names[i], fields[i]) != 0)
            return -1;
    l->timeout = (unsigned)cfg_getint(sec, "timeout");
    if (l->uri == NULL)
        config_source_error(cb, sec, "%s", "uri is missing");
    if (l->base == NULL)
        config_source_error(cb, sec, "%s", "base is missing");
    if (schema == NULL || (l->schema = dir_schema_from_name(schema)) == 0)
        config_source_error(cb, sec, "schema must be ad, iredmail or custom%s",
                            schema ? "" : " (missing)");
    if (l->bind_dn != NULL && l->bind_password_file == NULL)
        config_source_error(cb, sec, "%s",
                            "bind_dn needs bind_password_file (never a password inline)");
    if (l->bind_dn == NULL && l->bind_password_file != NULL)
        config_source_error(cb, sec, "%s", "bind_password_file without bind_dn");
    if (cfg_getint(sec, "timeout") < 1 || cfg_getint(sec, "timeout") > 3600)
        config_source_error(cb, sec, "%s", "timeout must be 1 to 3600 seconds");
    if (l->schema == DIR_SCHEMA_CUSTOM) {
        if ((l->mailbox_filter == NULL) != (l->custom.mailbox_attribute == NULL))
            config_source_error(cb, sec, "%s", "mailbox_filter and mailbox_attribute go together");
        if ((l->alias_filter == NULL) !=
                (l->custom.alias_attribute == NULL || l->custom.target_attribute == NULL) ||
            (l->alias_filter == NULL && l->custom.alias_attribute != NULL))
            config_source_error(cb, sec, "%s",
                                "alias_filter, alias_attribute and target_attribute go together");
        if ((l->domain_filter == NULL) != (l->custom.domain_attribute == NULL))
            config_source_error(cb, sec, "%s", "domain_filter and domain_attribute go together");
        if (l->mailbox_filter == NULL && l->alias_filter == NULL && l->domain_filter == NULL)
            config_source_error(cb, sec, "%s", "a custom schema needs at least one *_filter");
    } else if (l->mailbox_filter || l->alias_filter || l->domain_filter ||
               l->custom.mailbox_attribute || l->custom.secondary_attribute ||
               l->custom.alias_attribute || l->custom.target_attribute ||
               l->custom.domain_attribute) {
        config_source_error(cb, sec, "%s", "filters and attribute names are for schema = custom");
    }
    return 0;
}

/* A title names a file in state_dir: letters, digits, '.', '-', '_'. */
static bool good_title(const char *t)
{
    if (t[0] == '\0' || t[0] == '.')
        return false;
    for (; *t != '\0'; t++)
        if (!((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') || (*t >= '0' && *t <= '9') ||
              *t == '.' || *t == '-' || *t == '_'))
            return false;
    return true;
}

static int read_one(struct config_build *cb, cfg_t *sec, struct source_def *def)
{
    struct diag_loc at = config_lex_loc(cb->lex, config_lex_pos(sec));
    const char *type = cfg_getstr(sec, "type");
    int n;

    n = snprintf(NULL, 0, "%s:%u", at.file ? at.file : "", at.line);
    if ((def->title = strdup(cfg_title(sec))) == NULL || n < 0 ||
        (def->where = malloc((size_t)n + 1)) == NULL)
        return -1;
    snprintf(def->where, (size_t)n + 1, "%s:%u", at.file ? at.file : "", at.line);
    if (!good_title(def->title))
        config_source_error(
            cb, sec, "%s", "the title names its snapshot file: use letters, digits, '.', '-', '_'");
    def->refresh = (unsigned)cfg_getint(sec, "refresh");
    def->persist = cfg_getbool(sec, "persist") == cfg_true;
    if (cfg_getint(sec, "refresh") < 0 || cfg_getint(sec, "refresh") > 86400 * 7)
        config_source_error(cb, sec, "%s", "refresh must be 0 to 604800 seconds");
    if (type == NULL || (def->type = source_type_from_name(type)) == 0) {
        config_source_error(cb, sec, "type must be ldap, postgresql or mysql%s",
                            type ? "" : " (missing)");
        return 0;
    }
    config_sql_check_foreign(cb, sec, def->type);
    if (def->type != SOURCE_TYPE_LDAP)
        return config_sql_read(cb, sec, def);
    return read_ldap(cb, sec, def);
}

int config_sources_read(struct config_build *cb, cfg_t *cfg, struct config_sources *s)
{
    const char *state_dir = cfg_getstr(cfg, "state_dir");
    unsigned n = cfg_size(cfg, "source");

    if (state_dir != NULL && (s->state_dir = strdup(state_dir)) == NULL)
        goto oom;
    if (n == 0)
        return 0;
    if ((s->defs = calloc(n, sizeof(*s->defs))) == NULL ||
        (s->fresh = calloc(n, sizeof(*s->fresh))) == NULL)
        goto oom;
    s->n = n;
    for (unsigned i = 0; i < n; i++)
        if (read_one(cb, cfg_getnsec(cfg, "source", i), &s->defs[i]) != 0)
            goto oom;
    return 0;
oom:
    cb->oom = true;
    return -1;
}

/* state_dir/TITLE.snapshot, or NULL (no state_dir, or out of memory). */
static char *snapshot_path(const struct config_sources *s, const struct source_def *def)
{
    size_t n;
    char *p;

    if (s->state_dir == NULL)
        return NULL;
    n = strlen(s->state_dir) + strlen(def->title) + sizeof("/.snapshot");
    if ((p = malloc(n)) != NULL)
        snprintf(p, n, "%s/%s.snapshot", s->state_dir, def->title);
    return p;
}

/* The snapshot of a source that cannot be read, at start: a warning, or
 * an error when there is none.  Returns the records, or NULL. */
static struct source_records *from_snapshot(struct config_build *cb, struct config_sources *s,
                                            const struct source_def *def)
{
    char *path = snapshot_path(s, def);
    struct source_records *r = NULL;

    if (path == NULL) {
        diag_add(cb->d, DIAG_ERROR, def->where, 0,
                 "source \"%s\" cannot be read and there is no state_dir with a snapshot of it",
                 def->title);
        return NULL;
    }
    if ((r = source_records_new(source_name(def))) == NULL) {
        cb->oom = true;
    } else if (snapshot_read(path, r, cb->d) != 0) {
        diag_add(cb->d, DIAG_ERROR, def->where, 0,
                 "source \"%s\" cannot be read and its snapshot %s cannot be used", def->title,
                 path);
        source_records_free(r);
        r = NULL;
    } else {
        diag_add(cb->d, DIAG_WARNING, def->where, 0,
                 "source \"%s\" cannot be read: serving its last snapshot %s until it can",
                 def->title, path);
        s->stale = true;
    }
    free(path);
    return r;
}

/* Read one source; the diagnostics of a failed read are kept aside at
 * start, where the snapshot may stand in (and are then warnings). */
static struct source_records *fetch_one(struct config_build *cb, struct config_sources *s, size_t i,
                                        bool at_start)
{
    const struct source_def *def = &s->defs[i];
    struct source_records *r = source_records_new(source_name(def));
    struct diag *d = at_start ? diag_new() : cb->d;
    unsigned data_errors = 0;
    int rc;

    if (r == NULL || d == NULL) {
        cb->oom = true;
        source_records_free(r);
        if (at_start)
            diag_free(d);
        return NULL;
    }
    rc = source_fetch(def, r, &data_errors, d);
    metrics_source_read(def->title, rc == 0, rc == 0 ? source_records_count(r) : 0);
    if (at_start) { /* the reasons: errors when read, else warnings before the snapshot's */
        for (size_t k = 0; k < diag_size(d); k++)
            diag_add(cb->d, rc == 0 ? diag_level_at(d, k) : DIAG_WARNING, NULL, 0, "%s",
                     diag_text(d, k));
        diag_free(d);
    }
    if (rc == 0) {
        s->fresh[i] = r;
        return r;
    }
    source_records_free(r);
    return at_start ? from_snapshot(cb, s, def) : NULL;
}

int config_sources_load(struct config_build *cb, struct config_sources *s, bool at_start)
{
    for (size_t i = 0; i < s->n && !cb->oom; i++) {
        struct source_records *r = fetch_one(cb, s, i, at_start);
        if (r == NULL)
            continue;
        if (source_records_apply(r, cb->b, NULL, source_precedence(&s->defs[i]), cb->d) < 0)
            cb->oom = true;
        if (s->fresh[i] != r)
            source_records_free(r);
    }
    return cb->oom ? -1 : 0;
}

size_t config_sources_write_snapshots(const struct config_sources *s, struct diag *d)
{
    size_t failed = 0;

    if (s == NULL || s->state_dir == NULL)
        return 0;
    for (size_t i = 0; i < s->n; i++) {
        struct diag *why;
        char *path;
        if (s->fresh[i] == NULL)
            continue;
        why = diag_new();
        path = snapshot_path(s, &s->defs[i]);
        if (why == NULL || path == NULL || snapshot_write(s->fresh[i], path, why) != 0) {
            /* the table is live all the same: a warning, with the reason */
            for (size_t k = 0; why != NULL && k < diag_size(why); k++)
                diag_add(d, DIAG_WARNING, NULL, 0, "%s", diag_text(why, k));
            diag_add(d, DIAG_WARNING, s->defs[i].where, 0,
                     "source \"%s\": its snapshot could not be written", s->defs[i].title);
            failed++;
        }
        diag_free(why);
        free(path);
    }
    return failed;
}

void config_sources_free(struct config_sources *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n; i++) {
        source_def_free(&s->defs[i]);
        source_records_free(s->fresh[i]);
    }
    free(s->defs);
    free(s->fresh);
    free(s->state_dir);
    memset(s, 0, sizeof(*s));
}
