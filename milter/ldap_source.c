/*
 * ldap_source.c - an LDAP directory read into source records, and watched
 * for changes (see ldap_source.h).
 *
 * One load is one connection: bind, then one paged search per role of the
 * schema, each entry handed to dir_map as borrowed bytes.  The watch is a
 * second connection holding an RFC 4533 refreshAndPersist search; it only
 * says "something changed", and the caller reloads the whole directory,
 * so that every table is built and validated whole.
 */
#include "ldap_source.h"

#include <errno.h>
#include <fcntl.h>
#include <lber.h>
#include <ldap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/* Entries per page: below the 500 of AD's MaxPageSize and slapd's default
 * sizelimit, so that neither cuts a search short. */
#define PAGE_SIZE 400
/* Attributes per entry looked at; more are ignored. */
#define MAX_ATTRS 32

char *ldap_source_read_secret(const char *path, struct diag *d)
{
    struct stat st;
    const char *what;
    char *text = NULL;
    size_t len;
    int fd, err;

    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
        diag_add(d, DIAG_ERROR, path, 0, "cannot open the password file: %s", strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        diag_add(d, DIAG_ERROR, path, 0, "the password file is not a regular file");
        close(fd);
        return NULL;
    }
    close(fd);
    if ((st.st_mode & S_IROTH) != 0) {
        diag_add(d, DIAG_ERROR, path, 0,
                 "the password file is readable by everyone (mode %04o); chmod o-r it",
                 (unsigned)(st.st_mode & 07777));
        return NULL;
    }
    if ((err = util_read_file(path, &text, &len, &what)) != 0) {
        diag_add(d, DIAG_ERROR, path, 0, "%s the password file: %s", what, strerror(err));
        return NULL;
    }
    text[strcspn(text, "\r\n")] = '\0';
    return text;
}

static void wipe_free(char *s)
{
    if (s == NULL)
        return;
    for (volatile char *p = s; *p != '\0'; p++)
        *p = '\0';
    free(s);
}

/* ldap_initialize + protocol 3 + timeouts + bind; NULL (d says why). */
static LDAP *open_directory(const struct ldap_source_cfg *cfg, struct diag *d)
{
    struct timeval tv = {(time_t)cfg->timeout, 0};
    int version = LDAP_VERSION3, rc;
    struct berval cred = {0, NULL};
    char *password = NULL;
    LDAP *ld = NULL;

    if ((rc = ldap_initialize(&ld, cfg->uri)) != LDAP_SUCCESS) {
        diag_add(d, DIAG_ERROR, cfg->uri, 0, "%s", ldap_err2string(rc));
        return NULL;
    }
    ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
    ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
    ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv);
    ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
    if (cfg->bind_dn != NULL) {
        if ((password = ldap_source_read_secret(cfg->bind_password_file, d)) == NULL)
            goto fail;
        cred.bv_val = password;
        cred.bv_len = strlen(password);
    }
    rc = ldap_sasl_bind_s(ld, cfg->bind_dn != NULL ? cfg->bind_dn : "", LDAP_SASL_SIMPLE, &cred,
                          NULL, NULL, NULL);
    wipe_free(password);
    if (rc != LDAP_SUCCESS) {
        diag_add(d, DIAG_ERROR, cfg->uri, 0, "bind%s%s: %s", cfg->bind_dn ? " as " : " (anonymous)",
                 cfg->bind_dn ? cfg->bind_dn : "", ldap_err2string(rc));
        goto fail;
    }
    return ld;
fail:
    ldap_unbind_ext_s(ld, NULL, NULL);
    return NULL;
}

/* One entry of a result to dir_map; -1 when out of memory. */
static int take_entry(LDAP *ld, LDAPMessage *msg, struct dir_map *map, enum dir_role role)
{
    struct dir_attr attrs[MAX_ATTRS];
    struct dir_value *values[MAX_ATTRS];
    struct berval **bvals[MAX_ATTRS];
    size_t n = 0;
    BerElement *ber = NULL;
    char *dn = ldap_get_dn(ld, msg), *name;
    int rc = 0;

    for (name = ldap_first_attribute(ld, msg, &ber); name != NULL && rc == 0;
         name = ldap_next_attribute(ld, msg, ber)) {
        struct berval **bv = ldap_get_values_len(ld, msg, name);
        size_t k = bv != NULL ? (size_t)ldap_count_values_len(bv) : 0;
        if (n == MAX_ATTRS) {
            ldap_value_free_len(bv);
            ldap_memfree(name);
            continue;
        }
        values[n] = calloc(k > 0 ? k : 1, sizeof(**values));
        if (values[n] == NULL) {
            ldap_value_free_len(bv);
            ldap_memfree(name);
            rc = -1;
            break;
        }
        for (size_t i = 0; i < k; i++)
            values[n][i] = (struct dir_value){bv[i]->bv_val, bv[i]->bv_len};
        bvals[n] = bv;
        attrs[n] = (struct dir_attr){name, values[n], k};
        n++;
    }
    ber_free(ber, 0);
    if (rc == 0) {
        struct dir_entry e = {dn != NULL ? dn : "", attrs, n};
        rc = dir_map_add(map, role, &e);
    }
    for (size_t i = 0; i < n; i++) {
        ldap_value_free_len(bvals[i]);
        ldap_memfree((char *)attrs[i].name);
        free(values[i]);
    }
    ldap_memfree(dn);
    return rc;
}

/* The cookie of a page's response control into *cookie (freed by the
 * caller with ber_memfree); 0, or -1 when it does not parse. */
static int next_cookie(LDAP *ld, LDAPControl **ctrls, struct berval *cookie)
{
    LDAPControl *c = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, ctrls, NULL);
    ber_int_t estimate;

    cookie->bv_val = NULL;
    cookie->bv_len = 0;
    if (c == NULL)
        return 0; /* the server does not page: this was all */
    return ldap_parse_pageresponse_control(ld, c, &estimate, cookie) == LDAP_SUCCESS ? 0 : -1;
}

/* One paged subtree search with its role; -1 (d says why) on failure. */
static int search(LDAP *ld, const struct ldap_source_cfg *cfg, const char *filter,
                  const char **attrs, struct dir_map *map, enum dir_role role, struct diag *d)
{
    struct berval cookie = {0, NULL};
    struct timeval tv = {(time_t)cfg->timeout, 0};
    int rc = 0;

    do {
        LDAPControl *page = NULL, *sctrls[2] = {NULL, NULL}, **rctrls = NULL;
        LDAPMessage *res = NULL;
        int err = LDAP_SUCCESS;
        char *text = NULL;

        rc = ldap_create_page_control(ld, PAGE_SIZE, cookie.bv_len ? &cookie : NULL, 0, &page);
        ber_memfree(cookie.bv_val);
        cookie = (struct berval){0, NULL};
        if (rc != LDAP_SUCCESS) {
            diag_add(d, DIAG_ERROR, cfg->uri, 0, "paged search: %s", ldap_err2string(rc));
            return -1;
        }
        sctrls[0] = page;
        rc = ldap_search_ext_s(ld, cfg->base, LDAP_SCOPE_SUBTREE, filter, (char **)attrs, 0, sctrls,
                               NULL, &tv, LDAP_NO_LIMIT, &res);
        ldap_control_free(page);
        if (rc == LDAP_SUCCESS || res != NULL) {
            for (LDAPMessage *e = ldap_first_entry(ld, res); e != NULL && rc != -1;
                 e = ldap_next_entry(ld, e))
                if (take_entry(ld, e, map, role) != 0)
                    rc = -1;
            if (rc != -1 &&
                ldap_parse_result(ld, res, &err, NULL, &text, NULL, &rctrls, 0) != LDAP_SUCCESS)
                err = LDAP_DECODING_ERROR;
        } else {
            err = rc;
        }
        ldap_msgfree(res);
        if (rc == -1) {
            diag_add(d, DIAG_ERROR, cfg->uri, 0, "out of memory");
        } else if (err != LDAP_SUCCESS) {
            diag_add(d, DIAG_ERROR, cfg->uri, 0, "search %s under %s: %s%s%s", filter, cfg->base,
                     ldap_err2string(err), text && *text ? ": " : "", text ? text : "");
            rc = -1;
        } else if (next_cookie(ld, rctrls, &cookie) != 0) {
            diag_add(d, DIAG_ERROR, cfg->uri, 0, "paged search: bad response control");
            rc = -1;
        } else {
            rc = 0;
        }
        ldap_memfree(text);
        ldap_controls_free(rctrls);
    } while (rc == 0 && cookie.bv_len > 0);
    ber_memfree(cookie.bv_val);
    return rc;
}

int ldap_source_load(const struct ldap_source_cfg *cfg, struct source_records *r,
                     unsigned *data_errors, struct diag *d)
{
    const char *attrs[DIR_MAP_ATTRS];
    const char *filter = dir_map_search(cfg->schema, &cfg->custom, attrs);
    struct dir_map *map = dir_map_new(cfg->schema, &cfg->custom);
    LDAP *ld = NULL;
    int rc = -1, errors;

    *data_errors = 0;
    if (map == NULL) {
        diag_add(d, DIAG_ERROR, cfg->uri, 0, "out of memory");
        return -1;
    }
    if ((ld = open_directory(cfg, d)) == NULL)
        goto out;
    if (cfg->schema != DIR_SCHEMA_CUSTOM) {
        if (search(ld, cfg, filter, attrs, map, DIR_ROLE_ANY, d) != 0)
            goto out;
    } else {
        const struct {
            const char *filter;
            enum dir_role role;
        } roles[] = {{cfg->domain_filter, DIR_ROLE_DOMAIN},
                     {cfg->mailbox_filter, DIR_ROLE_MAILBOX},
                     {cfg->alias_filter, DIR_ROLE_ALIAS}};
        for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
            if (roles[i].filter != NULL &&
                search(ld, cfg, roles[i].filter, attrs, map, roles[i].role, d) != 0)
                goto out;
    }
    if ((errors = dir_map_finish(map, r, d)) < 0) {
        diag_add(d, DIAG_ERROR, cfg->uri, 0, "out of memory");
        goto out;
    }
    *data_errors = (unsigned)errors;
    rc = 0;
out:
    if (ld != NULL)
        ldap_unbind_ext_s(ld, NULL, NULL);
    dir_map_free(map);
    return rc;
}

/* The RFC 4533 Sync Request Control for refreshAndPersist, no cookie. */
static LDAPControl *sync_request(void)
{
    BerElement *ber = ber_alloc_t(LBER_USE_DER);
    LDAPControl *c = NULL;
    struct berval *value = NULL;

    if (ber == NULL)
        return NULL;
    if (ber_printf(ber, "{e}", (ber_int_t)LDAP_SYNC_REFRESH_AND_PERSIST) >= 0 &&
        ber_flatten(ber, &value) == 0 &&
        ldap_control_create(LDAP_CONTROL_SYNC, 1, value, 1, &c) != LDAP_SUCCESS)
        c = NULL;
    ber_bvfree(value);
    ber_free(ber, 1);
    return c;
}

/* Handle one message of the persist search: 1 when it announces a change
 * (after the refresh phase), 0 otherwise, -1 when the search ended. */
static int watch_message(LDAP *ld, LDAPMessage *msg, bool *refreshed, const char *uri,
                         struct diag *d)
{
    char *oid = NULL;
    int err = LDAP_SUCCESS, rc = 0;
    char *text = NULL;

    switch (ldap_msgtype(msg)) {
    case LDAP_RES_SEARCH_ENTRY:
    case LDAP_RES_SEARCH_REFERENCE:
        return *refreshed ? 1 : 0;
    case LDAP_RES_INTERMEDIATE:
        /* syncInfo: the end of the refresh phase (or a new cookie) */
        if (ldap_parse_intermediate(ld, msg, &oid, NULL, NULL, 0) == LDAP_SUCCESS && oid &&
            strcmp(oid, LDAP_SYNC_INFO) == 0) {
            if (*refreshed)
                rc = 1;
            *refreshed = true;
        }
        ldap_memfree(oid);
        return rc;
    case LDAP_RES_SEARCH_RESULT:
        ldap_parse_result(ld, msg, &err, NULL, &text, NULL, NULL, 0);
        diag_add(d, DIAG_ERROR, uri, 0, "persistent search ended: %s%s%s", ldap_err2string(err),
                 text && *text ? ": " : "", text ? text : "");
        ldap_memfree(text);
        return -1;
    default:
        return 0;
    }
}

int ldap_source_watch(const struct ldap_source_cfg *cfg, volatile const bool *stop,
                      void (*changed)(void *arg), void *arg, struct diag *d)
{
    static const char *no_attrs[] = {LDAP_NO_ATTRS, NULL};
    LDAPControl *sctrls[2] = {NULL, NULL};
    const char *attrs[DIR_MAP_ATTRS];
    const char *filter = dir_map_search(cfg->schema, &cfg->custom, attrs);
    bool refreshed = false;
    int msgid, rc = -1;
    LDAP *ld;

    if ((ld = open_directory(cfg, d)) == NULL)
        return -1;
    if ((sctrls[0] = sync_request()) == NULL) {
        diag_add(d, DIAG_ERROR, cfg->uri, 0, "out of memory");
        goto out;
    }
    if (filter == NULL)
        filter = "(objectClass=*)";
    rc = ldap_search_ext(ld, cfg->base, LDAP_SCOPE_SUBTREE, filter, (char **)no_attrs, 0, sctrls,
                         NULL, NULL, LDAP_NO_LIMIT, &msgid);
    if (rc != LDAP_SUCCESS) {
        diag_add(d, DIAG_ERROR, cfg->uri, 0, "persistent search: %s", ldap_err2string(rc));
        rc = -1;
        goto out;
    }
    rc = 0;
    while (!*stop && rc == 0) {
        struct timeval tv = {1, 0};
        LDAPMessage *msg = NULL;
        int got = ldap_result(ld, msgid, LDAP_MSG_ONE, &tv, &msg);
        if (got < 0) {
            diag_add(d, DIAG_ERROR, cfg->uri, 0, "persistent search: connection lost");
            rc = -1;
        } else if (got > 0) {
            int w = watch_message(ld, msg, &refreshed, cfg->uri, d);
            if (w < 0)
                rc = refreshed ? -1 : 1;
            else if (w > 0)
                changed(arg);
        }
        ldap_msgfree(msg);
    }
out:
    ldap_control_free(sctrls[0]);
    ldap_unbind_ext_s(ld, NULL, NULL);
    return rc;
}
