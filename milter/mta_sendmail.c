/*
 * mta_sendmail.c - `hosted-milter -C sendmail[:CF]`: reads sendmail.cf
 * (the generated file, not the .mc) and checks that a mail filter (X line,
 * INPUT_MAIL_FILTER) has this configuration's socket with F=T, that
 * InputMailFilters calls it last, that class R (relay domains: CR lines
 * and FR files) lists every hosted domain in both IDN forms, and that
 * class w (local host names) lists none.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mta_check.h"

struct sm_filter {
    char *name, *spec, *flags;
};

struct sm_cf {
    const char *path;
    struct mta_list order; /* InputMailFilters */
    bool have_order;
    struct sm_filter *x;
    size_t nx;
    struct mta_list class_r, class_w;
};

static void trim(char **s)
{
    size_t n;

    *s += strspn(*s, " \t");
    n = strlen(*s);
    while (n > 0 && ((*s)[n - 1] == ' ' || (*s)[n - 1] == '\t' || (*s)[n - 1] == '\r'))
        (*s)[--n] = '\0';
}

/* "Xname, S=spec, F=flags, T=..." */
static int parse_filter(struct sm_cf *cf, char *line)
{
    struct sm_filter *x = realloc(cf->x, (cf->nx + 1) * sizeof *x), *f;
    char *save = NULL, *field;

    if (x == NULL)
        return -1;
    cf->x = x;
    f = &x[cf->nx];
    memset(f, 0, sizeof *f);
    /* the name: up to the first comma (strtok_r would skip a leading one) */
    field = line;
    if ((save = strchr(line, ',')) != NULL)
        *save++ = '\0';
    else
        save = line + strlen(line);
    trim(&field);
    if ((f->name = strdup(field)) == NULL)
        return -1;
    cf->nx++;
    while ((field = strtok_r(save, ",", &save)) != NULL) {
        char **slot = NULL, *eq = strchr(field, '=');
        trim(&field);
        if (eq == NULL)
            continue;
        if (field[0] == 'S')
            slot = &f->spec;
        else if (field[0] == 'F')
            slot = &f->flags;
        if (slot == NULL)
            continue;
        field = eq + 1;
        trim(&field);
        free(*slot);
        if ((*slot = strdup(field)) == NULL)
            return -1;
    }
    return 0;
}

/* The class a C or F line is about ("R", "w", "{name}"), and the rest. */
static struct mta_list *class_of(struct sm_cf *cf, char *line, char **rest)
{
    size_t n = line[0] == '{' ? strcspn(line, "}") + 1 : 1;

    if (line[0] == '\0' || (line[0] == '{' && line[n - 1] != '}'))
        return NULL;
    *rest = line + n;
    if ((n == 1 && line[0] == 'R') || (n == 3 && strncmp(line, "{R}", 3) == 0))
        return &cf->class_r;
    if ((n == 1 && line[0] == 'w') || (n == 3 && strncmp(line, "{w}", 3) == 0))
        return &cf->class_w;
    return NULL;
}

/* "F<class>[-o] path [format]": the words of the file join the class. */
static int class_file(struct mta_report *r, struct sm_cf *cf, struct mta_list *cls, char *rest)
{
    bool optional = false;
    char *text;
    size_t len;
    const char *why;
    int rc;

    trim(&rest);
    if (strncmp(rest, "-o", 2) == 0) {
        optional = true;
        rest += 2;
        trim(&rest);
    }
    rest[strcspn(rest, " \t")] = '\0';
    if (rest[0] != '/') {
        mta_warn(r, "%s: class file %s: not evaluated by this check", cf->path, rest);
        return 0;
    }
    if (mta_read_file(rest, &text, &len, &why) < 0) {
        if (!optional)
            mta_warn(r, "%s: class file %s: %s", cf->path, rest, why);
        return 0;
    }
    rc = mta_list_words(text, cls);
    free(text);
    return rc;
}

static int parse_line(struct mta_report *r, struct sm_cf *cf, char *line)
{
    struct mta_list *cls;
    char *rest;

    switch (line[0]) {
    case 'O':
        rest = line + 1;
        trim(&rest);
        if (strncmp(rest, "InputMailFilters", 16) == 0 && strchr(rest, '=') != NULL) {
            mta_list_free(&cf->order);
            cf->have_order = true;
            return mta_list_split(strchr(rest, '=') + 1, false, &cf->order);
        }
        return 0;
    case 'X':
        return parse_filter(cf, line + 1);
    case 'C':
        if ((cls = class_of(cf, line + 1, &rest)) != NULL)
            return mta_list_split(rest, false, cls);
        return 0;
    case 'F':
        if ((cls = class_of(cf, line + 1, &rest)) != NULL)
            return class_file(r, cf, cls, rest);
        return 0;
    default:
        return 0;
    }
}

/* Lines starting with a space or tab continue the previous line; '#'
 * lines are comments. */
static int parse_cf(struct mta_report *r, struct sm_cf *cf, char *text)
{
    char *line = text;

    while (*line != '\0') {
        char *end = line;
        for (;;) {
            end += strcspn(end, "\n");
            if (*end == '\n' && (end[1] == ' ' || end[1] == '\t')) {
                *end = ' ';
                continue;
            }
            break;
        }
        char *next = *end == '\n' ? end + 1 : end;
        *end = '\0';
        if (line[0] != '#' && parse_line(r, cf, line) < 0)
            return -1;
        line = next;
    }
    return 0;
}

static void check_filter(struct mta_ctx *c, struct sm_cf *cf)
{
    struct mta_report *r = &c->rep;
    struct mta_sock ours, theirs;
    const struct sm_filter *f = NULL;
    size_t at = (size_t)-1;

    if (mta_sock_parse_libmilter(c->socket, &ours) < 0)
        return;
    for (size_t i = 0; i < cf->nx && f == NULL; i++)
        if (cf->x[i].spec != NULL && mta_sock_parse_libmilter(cf->x[i].spec, &theirs) == 0 &&
            mta_sock_same(&ours, &theirs))
            f = &cf->x[i];
    if (f == NULL) {
        mta_error(r,
                  "%s: no mail filter (X line, INPUT_MAIL_FILTER) has this configuration's "
                  "socket %s (mail is not filtered)",
                  cf->path, c->socket);
        return;
    }
    mta_ok(r, "%s: filter %s: S=%s is this configuration's socket", cf->path, f->name, f->spec);
    if (f->flags != NULL && strchr(f->flags, 'T') != NULL)
        mta_ok(r, "%s: filter %s: F=%s (tempfail while hosted-milter cannot be reached)", cf->path,
               f->name, f->flags);
    else if (f->flags != NULL && strchr(f->flags, 'R') != NULL)
        mta_error(r,
                  "%s: filter %s: F=%s: while hosted-milter cannot be reached, every message "
                  "is refused for good (use F=T)",
                  cf->path, f->name, f->flags);
    else
        mta_error(r,
                  "%s: filter %s: no F=T: while hosted-milter cannot be reached, mail is "
                  "accepted unfiltered (use F=T)",
                  cf->path, f->name);
    for (size_t i = 0; i < cf->order.n && at == (size_t)-1; i++)
        if (strcmp(cf->order.v[i], f->name) == 0)
            at = i;
    if (at == (size_t)-1) {
        mta_error(r, "%s: InputMailFilters does not name filter %s: Sendmail never calls it",
                  cf->path, f->name);
    } else if (at + 1 < cf->order.n) {
        for (size_t i = at + 1; i < cf->order.n; i++)
            mta_warn(r,
                     "%s: InputMailFilters: %s comes after %s: safe only if it never refuses "
                     "recipients (put hosted-milter last)",
                     cf->path, cf->order.v[i], f->name);
    } else {
        mta_ok(r, "%s: InputMailFilters: %s is the last filter", cf->path, f->name);
    }
}

static int check_classes(struct mta_ctx *c, struct sm_cf *cf)
{
    size_t n, hits = 0;
    const char **keys = mta_forms(c, &n);
    bool *found = calloc(n + 1, sizeof *found);
    char what[MTA_PATH_MAX + 32];

    if (keys == NULL || found == NULL) {
        free(keys);
        free(found);
        return -1;
    }
    /* Sendmail relays for a domain in class R and for its subdomains. */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < cf->class_r.n && !found[i]; j++)
            found[i] = mta_pattern_match(cf->class_r.v[j], keys[i], true);
    snprintf(what, sizeof what, "%s: class R", cf->path);
    mta_list_unique(&cf->class_r);
    mta_list_unique(&cf->class_w);
    mta_report_coverage(c, what, keys, found, n, "Relaying denied");
    for (size_t j = 0; j < cf->class_r.n; j++) {
        bool known = false;
        for (size_t i = 0; i < n && !known; i++)
            known = mta_pattern_match(cf->class_r.v[j], keys[i], true);
        if (!known)
            mta_warn(&c->rep, "%s: class R: %s is not a hosted domain", cf->path, cf->class_r.v[j]);
    }
    for (size_t j = 0; j < cf->class_w.n; j++)
        if (mta_is_hosted(c, cf->class_w.v[j])) {
            hits++;
            mta_error(&c->rep,
                      "%s: class w lists hosted domain %s (conflicting routes: Sendmail "
                      "delivers it locally, aliases and virtusertable apply again)",
                      cf->path, cf->class_w.v[j]);
        }
    if (hits == 0)
        mta_ok(&c->rep, "%s: class w: no hosted domain", cf->path);
    free(keys);
    free(found);
    return 0;
}

int mta_sendmail_check(struct mta_ctx *c, const char *cf_path)
{
    struct sm_cf cf = {.path = cf_path};
    char *text = NULL;
    size_t len;
    const char *why;
    int rc = MTA_EXIT_CANNOT;

    if (mta_read_file(cf_path, &text, &len, &why) < 0) {
        fprintf(stderr, "hosted-milter: %s: %s\n", cf_path, why);
        return MTA_EXIT_CANNOT;
    }
    if (parse_cf(&c->rep, &cf, text) < 0 || (check_filter(c, &cf), check_classes(c, &cf)) < 0) {
        fprintf(stderr, "hosted-milter: out of memory\n");
        goto out;
    }
    rc = 0;
out:
    for (size_t i = 0; i < cf.nx; i++) {
        free(cf.x[i].name);
        free(cf.x[i].spec);
        free(cf.x[i].flags);
    }
    free(cf.x);
    mta_list_free(&cf.order);
    mta_list_free(&cf.class_r);
    mta_list_free(&cf.class_w);
    free(text);
    return rc;
}
