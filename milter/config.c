/*
 * config.c - the hosted-milter.conf schema, and a load from text to a
 * validated struct config.
 *
 * Owns the libconfuse schema (one row per option, with its range or its
 * check), the checks of single values, the daemon settings and their
 * places, and the order of a load: text (config_lex.c), parse, sections
 * (config_sections.c), `table` / `mailbox_table` files (virtual_map.c),
 * validation (validate.c).  A load yields a complete, validated struct
 * config or nothing.  Every workaround for libconfuse 3.3 is in
 * config_lex.c.
 */
#include "config.h"

#include <confuse.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "addr.h"
#include "config_lex.h"
#include "config_sections.h"
#include "config_sources.h"
#include "metrics_addr.h"
#include "table.h"
#include "util.h"
#include "validate.h"
#include "virtual_map.h"

#define DEFAULT_SOCKET "unix:/run/hosted-milter/hosted-milter.sock"
#define DEFAULT_SOCKET_MODE "0660"
#define DEFAULT_TIMEOUT 300

/* The daemon settings whose place struct config_where keeps. */
static const struct {
    const char *name;
    size_t off;
} where_fields[] = {
    {"socket", offsetof(struct config_where, socket)},
    {"user", offsetof(struct config_where, user)},
    {"group", offsetof(struct config_where, group)},
    {"pidfile", offsetof(struct config_where, pidfile)},
    {"socket_mode", offsetof(struct config_where, socket_mode)},
    {"socket_group", offsetof(struct config_where, socket_group)},
    {"timeout", offsetof(struct config_where, timeout)},
    {"socketmap", offsetof(struct config_where, socketmap)},
    {"metrics", offsetof(struct config_where, metrics)},
};
#define NWHERE (sizeof(where_fields) / sizeof(where_fields[0]))

/* A `table` or `mailbox_table` file to load, and the line that names it. */
struct table_file {
    char *path; /* joined to the configuration's directory */
    struct config_pos pos;
    bool mailboxes;
};

/* Everything one load needs; lives on load's stack.  The parse callbacks
 * find it with config_lex_user. */
struct load {
    struct config_lex *lex;
    struct config_build cb;          /* cb.oom: the one sticky out-of-memory flag */
    struct config *conf;             /* being filled */
    struct config_pos postmaster;    /* of the global postmaster; line 0: unset */
    struct config_pos where[NWHERE]; /* of the daemon settings; line 0: unset */
    struct table_file *tables;       /* mailbox_table files first, then table files */
    size_t ntables;
    enum config_sources_mode mode;
};

/* ------------------------------------------------------------------ */
/* checks of single values (libconfuse parse callbacks) */

/* parse_located - an address-valued option: keep the text and its place. */
static int parse_located(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    size_t n = strlen(value);
    struct config_located *lv = malloc(sizeof(*lv) + n + 1);

    (void)opt;
    if (lv == NULL) {
        config_lex_nomem(cfg);
        return -1;
    }
    lv->pos = config_lex_pos(cfg);
    memcpy(lv->text, value, n + 1);
    *(void **)result = lv;
    return 0;
}

/* parse_located_file - a table file name: not empty, kept with its place
 * so that a file that cannot be read is reported at the line naming it. */
static int parse_located_file(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    if (value[0] == '\0')
        cfg_error(cfg, "%s must not be empty", opt->name);
    return parse_located(cfg, opt, value, result);
}

/* note_where - remember where a daemon setting is assigned (the last
 * assignment is the one that counts, for libconfuse as for us). */
static void note_where(cfg_t *cfg, const cfg_opt_t *opt)
{
    struct load *ld = config_lex_user(cfg);

    for (size_t i = 0; ld != NULL && i < NWHERE; i++)
        if (strcmp(opt->name, where_fields[i].name) == 0)
            ld->where[i] = config_lex_pos(cfg);
}

/*
 * The checks below report a bad value and still accept it (return 0), so
 * that parsing goes on and every problem is reported; the load fails
 * because an error was added.
 */
static int parse_socket(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    static const char *const prefixes[] = {"unix:", "local:", "inet:", "inet6:"};
    bool ok = false;

    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        size_t pl = strlen(prefixes[i]);
        if (strncmp(value, prefixes[i], pl) == 0 && value[pl] != '\0')
            ok = true;
    }
    if (!ok)
        cfg_error(cfg,
                  "%s \"%s\": must be unix:PATH, local:PATH, inet:PORT@HOST or inet6:PORT@HOST",
                  opt->name, value);
    note_where(cfg, opt);
    *(const char **)result = value;
    return 0;
}

/* parse_socketmap - "unix:" and an absolute path that fits a unix socket
 * address (sun_path: 108 bytes with its NUL on Linux, 104 on the BSDs). */
static int parse_socketmap(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    if (strncmp(value, "unix:", 5) != 0 || value[5] != '/')
        cfg_error(cfg, "%s \"%s\": must be unix:/ABSOLUTE/PATH", opt->name, value);
    else if (strlen(value + 5) > CONFIG_SOCKETMAP_PATH_MAX)
        cfg_error(cfg, "%s: the path is longer than %d bytes", opt->name,
                  CONFIG_SOCKETMAP_PATH_MAX);
    note_where(cfg, opt);
    *(const char **)result = value;
    return 0;
}

/* parse_metrics - where the metrics server listens (metrics_addr.h). */
static int parse_metrics(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    struct metrics_addr a;
    const char *why = metrics_addr_parse(value, &a);

    if (why != NULL)
        cfg_error(cfg, "%s \"%s\": %s", opt->name, value, why);
    note_where(cfg, opt);
    *(const char **)result = value;
    return 0;
}

static int parse_nonempty(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    if (value[0] == '\0')
        cfg_error(cfg, "%s must not be empty", opt->name);
    note_where(cfg, opt);
    *(const char **)result = value;
    return 0;
}

static int parse_delimiter(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    for (const char *p = value; *p != '\0'; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch <= 0x20 || ch >= 0x7f || ch == '@' || ch == '"' || ch == '\\') {
            cfg_error(cfg,
                      "%s: character 0x%02x cannot be a delimiter (printable ASCII other than "
                      "space, '@', '\"' and '\\')",
                      opt->name, ch);
            break;
        }
    }
    *(const char **)result = value;
    return 0;
}

static int parse_socket_mode(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    size_t n = strspn(value, "01234567");

    if (n == 0 || value[n] != '\0' || strtoul(value, NULL, 8) > 0777)
        cfg_error(cfg, "%s \"%s\": expected octal permission bits, at most 0777", opt->name, value);
    note_where(cfg, opt);
    *(const char **)result = value;
    return 0;
}

static int parse_role(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    if (!addr_is_dot_atom(value, strlen(value))) {
        cfg_error(cfg, "%s: \"%s\" is not a local part (a dot-atom without '@')", opt->name, value);
    } else if (strcasecmp(value, "postmaster") == 0) {
        config_lex_warn(cfg, "%s: postmaster is always a role; listing it changes nothing",
                        opt->name);
    } else {
        /* the new value's slot is already counted, with no string yet */
        for (unsigned i = 0; i + 1 < opt->nvalues; i++) {
            const char *prev = opt->values[i]->string;
            if (prev != NULL && strcasecmp(prev, value) == 0) {
                config_lex_warn(cfg, "%s: \"%s\" is listed twice", opt->name, value);
                break;
            }
        }
    }
    *(const char **)result = value;
    return 0;
}

struct word {
    const char *name;
    long value;
};

static const struct word unknown_words[] = {
    {"reject", UNKNOWN_REJECT}, {"tempfail", UNKNOWN_TEMPFAIL}, {"pass", UNKNOWN_PASS}, {NULL, 0}};
static const struct word level_words[] = {
    {"err", LOG_LEVEL_ERR},   {"warning", LOG_LEVEL_WARNING}, {"notice", LOG_LEVEL_NOTICE},
    {"info", LOG_LEVEL_INFO}, {"debug", LOG_LEVEL_DEBUG},     {NULL, 0}};

static int parse_word(cfg_t *cfg, cfg_opt_t *opt, const char *value, long *result,
                      const struct word *words, const char *expected)
{
    for (const struct word *w = words; w->name != NULL; w++) {
        if (strcmp(value, w->name) == 0) {
            *result = w->value;
            return 0;
        }
    }
    cfg_error(cfg, "%s: \"%s\" is not one of %s", opt->name, value, expected);
    *result = opt->def.number;
    return 0;
}

static int parse_unknown(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    return parse_word(cfg, opt, value, result, unknown_words, "reject, tempfail, pass");
}

static int parse_log_level(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    return parse_word(cfg, opt, value, result, level_words, "err, warning, notice, info, debug");
}

/* parse_bounded - a whole number from min to max. */
static int parse_bounded(cfg_t *cfg, cfg_opt_t *opt, const char *value, long *result, long min,
                         long max)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(value, &end, 10);
    if (value[0] == '\0' || *end != '\0' || errno != 0 || v < min || v > max) {
        cfg_error(cfg, "%s \"%s\": expected a whole number from %ld to %ld", opt->name, value, min,
                  max);
        v = opt->def.number;
    }
    note_where(cfg, opt);
    *result = v;
    return 0;
}

/*
 * CFG_RANGE - a schema row for a whole number from lo to hi: libconfuse's
 * parse callback has no room for the range, so each range used gets its
 * callback from RANGE_CB, and the row names it by the same two numbers.
 */
#define RANGE_CB(lo, hi)                                                                           \
    static int parse_range_##lo##_##hi(cfg_t *cfg, cfg_opt_t *opt, const char *value,              \
                                       void *result)                                               \
    {                                                                                              \
        return parse_bounded(cfg, opt, value, result, lo, hi);                                     \
    }
#define CFG_RANGE(name, def, lo, hi) CFG_INT_CB(name, def, CFGF_NONE, parse_range_##lo##_##hi)

RANGE_CB(1, 86400)
RANGE_CB(1, 1000)
RANGE_CB(1, 100000)

/* ------------------------------------------------------------------ */
/* the daemon settings and the table, from a parsed cfg */

/* fill_settings - the daemon settings of conf from cfg.  Returns -1 when
 * out of memory. */
static int fill_settings(struct load *ld, cfg_t *cfg, struct config *conf)
{
    static const struct {
        const char *name;
        size_t off;
    } strs[] = {
        {"socket", offsetof(struct config, socket)},
        {"user", offsetof(struct config, user)},
        {"group", offsetof(struct config, group)},
        {"pidfile", offsetof(struct config, pidfile)},
        {"socket_group", offsetof(struct config, socket_group)},
        {"socketmap", offsetof(struct config, socketmap)},
        {"metrics", offsetof(struct config, metrics)},
    };

    if ((conf->path = strdup(config_lex_file(ld->lex, 0))) == NULL)
        return -1;
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        const char *v = cfg_getstr(cfg, strs[i].name);
        char **field = (char **)((char *)conf + strs[i].off);
        if (v != NULL && (*field = strdup(v)) == NULL)
            return -1;
    }
    for (size_t i = 0; i < NWHERE; i++) {
        const char *file = config_lex_file(ld->lex, ld->where[i].file);
        char **field = (char **)((char *)&conf->where + where_fields[i].off);
        int n = ld->where[i].line > 0 && file != NULL
                    ? snprintf(NULL, 0, "%s:%u", file, ld->where[i].line)
                    : -1;
        if (n >= 0 && ((*field = malloc((size_t)n + 1)) == NULL))
            return -1;
        if (n >= 0)
            snprintf(*field, (size_t)n + 1, "%s:%u", file, ld->where[i].line);
    }
    conf->socket_mode = (unsigned)strtoul(cfg_getstr(cfg, "socket_mode"), NULL, 8);
    conf->timeout = (unsigned)cfg_getint(cfg, "timeout");
    conf->log_level = (enum log_level)cfg_getint(cfg, "log_level");
    conf->dry_run = cfg_getbool(cfg, "dry_run") == cfg_true;
    return 0;
}

/* new_builder - ld->cb.b, a table builder with the global settings of
 * cfg, and its copies of the file names.  Returns -1 when out of memory. */
static int new_builder(struct load *ld, cfg_t *cfg)
{
    struct table_settings s = {0};
    const struct config_located *pm = cfg_getptr(cfg, "postmaster");
    char pmbuf[ADDR_TEXT_MAX + 1];
    unsigned nroles = cfg_size(cfg, "roles");
    const char **roles = nroles > 0 ? calloc(nroles, sizeof(*roles)) : NULL;
    size_t nfiles = config_lex_nfiles(ld->lex);

    if (pm != NULL) {
        const char *why = config_canon_address(pm->text, false, pmbuf);
        if (why != NULL)
            diag_add_loc(ld->cb.d, DIAG_ERROR, config_lex_loc(ld->lex, pm->pos),
                         "postmaster \"%s\": %s", pm->text, why);
        else
            s.postmaster = pmbuf;
        ld->postmaster = pm->pos;
    }
    if (nroles > 0 && roles == NULL)
        return -1;
    for (unsigned i = 0; i < nroles; i++)
        roles[i] = cfg_getnstr(cfg, "roles", i);
    s.roles = roles;
    s.nroles = nroles;
    s.delimiters = cfg_getstr(cfg, "recipient_delimiter");
    s.unknown = (enum unknown_action)cfg_getint(cfg, "unknown_recipient");
    s.max_depth = (unsigned)cfg_getint(cfg, "max_depth");
    s.max_targets = (unsigned)cfg_getint(cfg, "max_targets");
    ld->cb.b = table_builder_new(&s);
    free(roles);
    if (ld->cb.b == NULL || (ld->cb.interned = calloc(nfiles, sizeof(*ld->cb.interned))) == NULL)
        return -1;
    for (size_t i = 0; i < nfiles; i++)
        if ((ld->cb.interned[i] = table_builder_intern_file(
                 ld->cb.b, config_lex_file(ld->lex, (unsigned)i))) == NULL)
            return -1;
    return 0;
}

/* list_tables - the mailbox_table then the table files of cfg into
 * ld->tables (they outlive cfg).  Returns -1 when out of memory. */
static int list_tables(struct load *ld, cfg_t *cfg)
{
    size_t nmailbox = cfg_size(cfg, "mailbox_table");

    ld->ntables = nmailbox + cfg_size(cfg, "table");
    if (ld->ntables > 0 && (ld->tables = calloc(ld->ntables, sizeof(*ld->tables))) == NULL) {
        ld->ntables = 0;
        return -1;
    }
    for (size_t i = 0; i < ld->ntables; i++) {
        const struct config_located *lv = i < nmailbox
                                              ? cfg_getnptr(cfg, "mailbox_table", (unsigned)i)
                                              : cfg_getnptr(cfg, "table", (unsigned)(i - nmailbox));
        ld->tables[i].pos = lv->pos;
        ld->tables[i].mailboxes = i < nmailbox;
        if ((ld->tables[i].path = config_lex_path(ld->lex, lv->text)) == NULL)
            return -1;
    }
    return 0;
}

/*
 * use_parsed - config_lex_parse's use: fill the settings and the builder
 * from a parsed cfg, and list the table files.  Problems are reported;
 * returns -1 only when the load must stop at once (out of memory: ld->cb.oom).
 */
static int use_parsed(cfg_t *cfg, void *user)
{
    struct load *ld = user;

    if (fill_settings(ld, cfg, ld->conf) != 0 || new_builder(ld, cfg) != 0 ||
        config_sections_add(&ld->cb, cfg) != 0 || list_tables(ld, cfg) != 0 ||
        config_sources_read(&ld->cb, cfg, ld->conf->sources) != 0) {
        ld->cb.oom = true;
        return -1;
    }
    return 0;
}

/* parse - the schema, and the parse of ld's text under it.  Returns 0, or
 * -1 when the load must stop (reported, or ld->cb.oom set). */
static int parse(struct load *ld)
{
    cfg_opt_t domain_opts[] = {
        CFG_PTR_CB("postmaster", 0, CFGF_NONE, parse_located, free),
        CFG_PTR_CB("alias_domain", 0, CFGF_NONE, parse_located, free),
        CFG_PTR_CB("catch_all", 0, CFGF_NONE, parse_located, free),
        CFG_INT_CB("unknown_recipient", CONFIG_UNKNOWN_INHERIT, CFGF_NONE, parse_unknown),
        CFG_END(),
    };
    cfg_opt_t mailbox_opts[] = {
        CFG_PTR_LIST_CB("addresses", 0, CFGF_NONE, parse_located, free),
        CFG_END(),
    };
    cfg_opt_t alias_opts[] = {
        CFG_PTR_LIST_CB("to", 0, CFGF_NONE, parse_located, free),
        CFG_END(),
    };
    cfg_opt_t source_opts[] = CONFIG_SOURCE_OPTS;
    const cfg_flag_t sec_flags = CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES;
    cfg_opt_t opts[] = {
        CFG_STR_CB("socket", DEFAULT_SOCKET, CFGF_NONE, parse_socket),
        CFG_PTR_CB("postmaster", 0, CFGF_NONE, parse_located, free),
        CFG_STR_LIST_CB("roles", 0, CFGF_NONE, parse_role),
        CFG_STR_CB("recipient_delimiter", "+", CFGF_NONE, parse_delimiter),
        CFG_INT_CB("unknown_recipient", UNKNOWN_REJECT, CFGF_NONE, parse_unknown),
        CFG_STR_CB("user", 0, CFGF_NONE, parse_nonempty),
        CFG_STR_CB("group", 0, CFGF_NONE, parse_nonempty),
        CFG_STR_CB("pidfile", 0, CFGF_NONE, parse_nonempty),
        CFG_STR_CB("socket_group", 0, CFGF_NONE, parse_nonempty),
        CFG_STR_CB("socket_mode", DEFAULT_SOCKET_MODE, CFGF_NONE, parse_socket_mode),
        CFG_RANGE("timeout", DEFAULT_TIMEOUT, 1, 86400),
        CFG_STR_CB("socketmap", 0, CFGF_NONE, parse_socketmap),
        CFG_STR_CB("metrics", 0, CFGF_NONE, parse_metrics),
        CFG_INT_CB("log_level", LOG_LEVEL_INFO, CFGF_NONE, parse_log_level),
        CFG_BOOL("dry_run", cfg_false, CFGF_NONE),
        CFG_RANGE("max_depth", TABLE_DEFAULT_MAX_DEPTH, 1, 1000),
        CFG_RANGE("max_targets", TABLE_DEFAULT_MAX_TARGETS, 1, 100000),
        CFG_PTR_LIST_CB("table", 0, CFGF_NONE, parse_located_file, free),
        CFG_PTR_LIST_CB("mailbox_table", 0, CFGF_NONE, parse_located_file, free),
        CFG_SEC("domain", domain_opts, sec_flags),
        CFG_SEC("mailbox", mailbox_opts, sec_flags),
        CFG_SEC("alias", alias_opts, sec_flags),
        CFG_STR_CB("state_dir", 0, CFGF_NONE, parse_nonempty),
        CFG_SEC("source", source_opts, sec_flags),
        CFG_END(),
    };

    return config_lex_parse(ld->lex, opts, ld, use_parsed);
}

/* ------------------------------------------------------------------ */
/* a load */

/*
 * load_table_file - add one `table` / `mailbox_table` file to b.  A file
 * that cannot be read is reported at the configuration line naming it;
 * what is wrong inside it, at its own file:line (virtual_map.c).
 */
static void load_table_file(struct load *ld, const struct table_file *tf)
{
    const char *kind = tf->mailboxes ? "mailbox_table" : "table", *what;
    size_t len = 0;
    char *text;
    int err = util_read_file(tf->path, &text, &len, &what);

    if (err != 0) {
        diag_add_loc(ld->cb.d, DIAG_ERROR, config_lex_loc(ld->lex, tf->pos), "%s file %s: %s", kind,
                     tf->path, strerror(err));
        return;
    }
    virtual_map_load_owned(ld->cb.b, tf->path, text, len, tf->mailboxes, ld->cb.d);
    free(text);
}

/* finish - the table files, the table and its validation, once the
 * configuration itself has parsed without error.  The table goes to
 * ld->conf only when no error was added since errors0. */
static double seconds_since(struct timespec *t0)
{
    struct timespec t;
    double s;

    clock_gettime(CLOCK_MONOTONIC, &t);
    s = (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
    *t0 = t;
    return s;
}

static void finish(struct load *ld, size_t errors0)
{
    struct diag *d = ld->cb.d;
    struct validate_where where = {.settings_file = ld->conf->path};
    struct table *t;
    struct timespec t0;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (size_t i = 0; i < ld->ntables; i++)
        load_table_file(ld, &ld->tables[i]);
    ld->conf->took_read = seconds_since(&t0);
    if (diag_count(d, DIAG_ERROR) != errors0)
        return;
    if (ld->mode != CONFIG_SOURCES_SKIP &&
        config_sources_load(&ld->cb, ld->conf->sources, ld->mode == CONFIG_SOURCES_START) != 0)
        return;
    ld->conf->took_sources = seconds_since(&t0);
    if (diag_count(d, DIAG_ERROR) != errors0)
        return;
    if ((t = table_builder_finish(ld->cb.b)) == NULL) {
        ld->cb.oom = true;
        return;
    }
    virtual_map_report_captures(ld->cb.b, t, d);
    ld->conf->took_build = seconds_since(&t0);
    where.postmaster = config_build_loc(&ld->cb, ld->postmaster);
    if (validate_table_at(t, ld->cb.b, &where, d) > 0 || diag_count(d, DIAG_ERROR) != errors0) {
        table_unref(t);
        return;
    }
    ld->conf->took_validate = seconds_since(&t0);
    ld->conf->table = t;
}

/*
 * load - config_load and config_load_buffer: the main file is read from
 * path when text is NULL, else it is the len bytes at text.
 */
static struct config *load(const char *path, const char *text, size_t len,
                           enum config_sources_mode mode, struct diag *d)
{
    struct load ld = {.cb = {.d = d}, .mode = mode};
    size_t errors0 = diag_count(d, DIAG_ERROR);

    if ((ld.conf = calloc(1, sizeof(*ld.conf))) == NULL ||
        (ld.conf->sources = calloc(1, sizeof(*ld.conf->sources))) == NULL) {
        free(ld.conf);
        diag_add(d, DIAG_ERROR, path, 0, "out of memory");
        return NULL;
    }
    if ((ld.lex = config_lex_new(path, text, len, d)) == NULL)
        goto out;
    ld.cb.lex = ld.lex;
    if (parse(&ld) == 0)
        finish(&ld, errors0);
    if (ld.cb.oom)
        diag_add(d, DIAG_ERROR, path, 0, "out of memory");

out:
    for (size_t i = 0; i < ld.ntables; i++)
        free(ld.tables[i].path);
    free(ld.tables);
    table_builder_free(ld.cb.b);
    free(ld.cb.interned);
    config_lex_free(ld.lex);
    if (ld.conf->table == NULL) {
        config_free(ld.conf);
        ld.conf = NULL;
    } else {
        ld.conf->loaded_at = time(NULL);
    }
    return ld.conf;
}

struct config *config_load(const char *path, struct diag *d)
{
    return load(path, NULL, 0, CONFIG_SOURCES_READ, d);
}

struct config *config_load_mode(const char *path, enum config_sources_mode mode, struct diag *d)
{
    return load(path, NULL, 0, mode, d);
}

struct config *config_load_buffer(const char *name, const char *buf, size_t len, struct diag *d)
{
    return load(name, buf != NULL ? buf : "", buf != NULL ? len : 0, CONFIG_SOURCES_SKIP, d);
}

bool config_stale(const struct config *c)
{
    return c->sources->stale;
}

unsigned config_refresh(const struct config *c)
{
    unsigned best = 0;

    for (size_t i = 0; i < c->sources->n; i++) {
        unsigned r = c->sources->defs[i].refresh;
        if (r > 0 && (best == 0 || r < best))
            best = r;
    }
    return best;
}

size_t config_source_count(const struct config *c)
{
    return c->sources->n;
}

const struct source_def *config_source_at(const struct config *c, size_t i)
{
    return i < c->sources->n ? &c->sources->defs[i] : NULL;
}

size_t config_write_snapshots(const struct config *c, struct diag *d)
{
    return config_sources_write_snapshots(c->sources, d);
}

void config_free(struct config *c)
{
    if (c == NULL)
        return;
    free(c->path);
    free(c->socket);
    free(c->user);
    free(c->group);
    free(c->pidfile);
    free(c->socket_group);
    free(c->socketmap);
    free(c->metrics);
    for (size_t i = 0; i < NWHERE; i++)
        free(*(char **)((char *)&c->where + where_fields[i].off));
    table_unref(c->table);
    config_sources_free(c->sources);
    free(c->sources);
    free(c);
}
