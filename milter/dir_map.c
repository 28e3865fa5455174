/*
 * dir_map.c - directory entries to source records (see dir_map.h).
 *
 * dir_map_add keeps, of each entry, its DN and the values of the few
 * attributes its schema reads (struct item).  dir_map_finish sorts the
 * items by DN, so that a group's members and a list's users are found by
 * binary search, and then maps each item by its schema's rules.  Values
 * from the wire are counted bytes until source_records_add checks them.
 */
#include "dir_map.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

/* The attributes read, by schema; an item's values are tagged with these. */
enum attr_id {
    A_OBJECTCLASS,
    A_PROXY,      /* ad: proxyAddresses */
    A_MAIL,       /* mail (ad, iredmail) */
    A_TARGET,     /* ad: targetAddress */
    A_MEMBER,     /* ad: member */
    A_STATUS,     /* iredmail: accountStatus */
    A_DOMAIN,     /* iredmail: domainName; custom: domain_attribute */
    A_DOMALIAS,   /* iredmail: domainAliasName */
    A_SHADOW,     /* iredmail: shadowAddress; custom: secondary_attribute */
    A_FORWARD,    /* iredmail: mailForwardingAddress; custom: target_attribute */
    A_MEMBEROF,   /* iredmail: memberOfGroup */
    A_CUSTOM_KEY, /* custom: mailbox_attribute or alias_attribute */
    A_COUNT
};

static const char *const ad_attrs[A_COUNT] = {
    [A_OBJECTCLASS] = "objectClass", [A_PROXY] = "proxyAddresses", [A_MAIL] = "mail",
    [A_TARGET] = "targetAddress",    [A_MEMBER] = "member",
};

static const char *const iredmail_attrs[A_COUNT] = {
    [A_OBJECTCLASS] = "objectClass",
    [A_STATUS] = "accountStatus",
    [A_DOMAIN] = "domainName",
    [A_DOMALIAS] = "domainAliasName",
    [A_MAIL] = "mail",
    [A_SHADOW] = "shadowAddress",
    [A_FORWARD] = "mailForwardingAddress",
    [A_MEMBEROF] = "memberOfGroup",
};

struct value {
    enum attr_id attr;
    char *p; /* copied, NUL-terminated for convenience; may hold NULs */
    size_t len;
};

struct item {
    char *dn;  /* as sent (for messages) */
    char *key; /* the DN folded, white space after ',' dropped: for lookups */
    enum dir_role role;
    struct value *values;
    size_t nvalues, cap;
};

/* iredmail: one memberOfGroup value of an active mailUser. */
struct membership {
    const char *group; /* the value, as sent */
    size_t len;
    const struct value *mail; /* the user's mail */
};

struct dir_map {
    enum dir_schema schema;
    const struct dir_custom *custom;
    struct item *items;
    size_t nitems, cap;
    /* finish-time state */
    struct membership *members; /* iredmail, sorted by group (folded) */
    size_t nmembers, mcap;
    struct source_records *r;
    struct diag *d;
    int errors;
    bool oom;
};

enum dir_schema dir_schema_from_name(const char *name)
{
    if (strcmp(name, "ad") == 0)
        return DIR_SCHEMA_AD;
    if (strcmp(name, "iredmail") == 0)
        return DIR_SCHEMA_IREDMAIL;
    if (strcmp(name, "custom") == 0)
        return DIR_SCHEMA_CUSTOM;
    return 0;
}

const char *dir_map_search(enum dir_schema schema, const struct dir_custom *c, const char **attrs)
{
    static const char *const ad_list[] = {"objectClass",   "proxyAddresses", "mail",
                                          "targetAddress", "member",         NULL};
    static const char *const iredmail_list[] = {
        "objectClass",           "accountStatus", "domainName",
        "domainAliasName",       "mail",          "shadowAddress",
        "mailForwardingAddress", "memberOfGroup", NULL};
    size_t n = 0;

    _Static_assert(sizeof(ad_list) / sizeof(ad_list[0]) <= DIR_MAP_ATTRS, "DIR_MAP_ATTRS");
    _Static_assert(sizeof(iredmail_list) / sizeof(iredmail_list[0]) <= DIR_MAP_ATTRS,
                   "DIR_MAP_ATTRS");
    _Static_assert(5 + 1 <= DIR_MAP_ATTRS, "DIR_MAP_ATTRS: the custom names and NULL");
    switch (schema) {
    case DIR_SCHEMA_AD:
        memcpy(attrs, ad_list, sizeof(ad_list));
        return "(|(objectClass=user)(objectClass=person)(objectClass=group)"
               "(objectClass=contact))";
    case DIR_SCHEMA_IREDMAIL:
        memcpy(attrs, iredmail_list, sizeof(iredmail_list));
        return "(|(objectClass=mailDomain)(objectClass=mailUser)(objectClass=mailList)"
               "(objectClass=mailAlias))";
    case DIR_SCHEMA_CUSTOM:
        break;
    }
    const char *names[] = {c->mailbox_attribute, c->secondary_attribute, c->alias_attribute,
                           c->target_attribute, c->domain_attribute};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i] != NULL)
            attrs[n++] = names[i];
    attrs[n] = NULL;
    return NULL;
}

struct dir_map *dir_map_new(enum dir_schema schema, const struct dir_custom *c)
{
    struct dir_map *m = calloc(1, sizeof(*m));

    if (m == NULL)
        return NULL;
    m->schema = schema;
    m->custom = c;
    return m;
}

static void item_free(struct item *it)
{
    for (size_t i = 0; i < it->nvalues; i++)
        free(it->values[i].p);
    free(it->values);
    free(it->dn);
    free(it->key);
}

void dir_map_free(struct dir_map *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->nitems; i++)
        item_free(&m->items[i]);
    free(m->items);
    free(m->members);
    free(m);
}

/* The lookup form of a DN: ASCII folded, no blanks after a ','.  Good
 * enough to match the member values a server writes to the DNs it
 * returns; not a full RFC 4514 normalisation. */
static char *dn_key(const char *dn)
{
    size_t n = strlen(dn), o = 0;
    char *k = malloc(n + 1);

    if (k == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (dn[i] == ' ' && o > 0 && k[o - 1] == ',')
            continue;
        k[o++] = (dn[i] >= 'A' && dn[i] <= 'Z') ? (char)(dn[i] - 'A' + 'a') : dn[i];
    }
    k[o] = '\0';
    return k;
}

/* The attribute name the schema reads for id in role; NULL: not read. */
static const char *attr_name(const struct dir_map *m, enum dir_role role, enum attr_id id)
{
    const struct dir_custom *c = m->custom;

    if (m->schema == DIR_SCHEMA_AD)
        return ad_attrs[id];
    if (m->schema == DIR_SCHEMA_IREDMAIL)
        return iredmail_attrs[id];
    switch (id) {
    case A_CUSTOM_KEY:
        return role == DIR_ROLE_MAILBOX ? c->mailbox_attribute
               : role == DIR_ROLE_ALIAS ? c->alias_attribute
                                        : NULL;
    case A_SHADOW:
        return role == DIR_ROLE_MAILBOX ? c->secondary_attribute : NULL;
    case A_FORWARD:
        return role == DIR_ROLE_ALIAS ? c->target_attribute : NULL;
    case A_DOMAIN:
        return role == DIR_ROLE_DOMAIN ? c->domain_attribute : NULL;
    default:
        return NULL;
    }
}

static int add_value(struct item *it, enum attr_id id, const struct dir_value *v)
{
    char *p;

    if (util_grow((void **)&it->values, &it->cap, it->nvalues + 1, sizeof(*it->values)) != 0 ||
        (p = malloc(v->len + 1)) == NULL)
        return -1;
    if (v->len > 0)
        memcpy(p, v->p, v->len);
    p[v->len] = '\0';
    it->values[it->nvalues++] = (struct value){id, p, v->len};
    return 0;
}

int dir_map_add(struct dir_map *m, enum dir_role role, const struct dir_entry *e)
{
    struct item it = {0};

    it.role = role;
    if ((it.dn = strdup(e->dn != NULL ? e->dn : "")) == NULL || (it.key = dn_key(it.dn)) == NULL)
        goto oom;
    for (int id = 0; id < A_COUNT; id++) {
        const char *name = attr_name(m, role, (enum attr_id)id);
        const struct dir_attr *a = name != NULL ? dir_entry_attr(e, name) : NULL;
        for (size_t i = 0; a != NULL && i < a->nvalues; i++)
            if (add_value(&it, (enum attr_id)id, &a->values[i]) != 0)
                goto oom;
    }
    if (util_grow((void **)&m->items, &m->cap, m->nitems + 1, sizeof(*m->items)) != 0)
        goto oom;
    m->items[m->nitems++] = it;
    return 0;
oom:
    item_free(&it);
    return -1;
}

/* ---- finish: helpers ---------------------------------------------------- */

static bool has_value(const struct item *it, enum attr_id id, const char *lit)
{
    size_t n = strlen(lit);

    for (size_t i = 0; i < it->nvalues; i++)
        if (it->values[i].attr == id && it->values[i].len == n &&
            strncasecmp(it->values[i].p, lit, n) == 0)
            return true;
    return false;
}

/* The first value of id, or NULL. */
static const struct value *first(const struct item *it, enum attr_id id)
{
    for (size_t i = 0; i < it->nvalues; i++)
        if (it->values[i].attr == id)
            return &it->values[i];
    return NULL;
}

static void problem(struct dir_map *m, enum diag_level level, const struct item *it,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* A diagnostic "SOURCE: DN: message", as source_records_add words them. */
static void problem(struct dir_map *m, enum diag_level level, const struct item *it,
                    const char *fmt, ...)
{
    char dn[512], msg[1024];
    va_list ap;

    util_escape(dn, sizeof(dn), it->dn, strlen(it->dn));
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    diag_add(m->d, level, source_records_name(m->r), 0, "%s: %s", dn, msg);
    if (level == DIAG_ERROR)
        m->errors++;
}

/* One record; a refusal was reported by source_records_add. */
static void put(struct dir_map *m, enum source_kind kind, const struct item *it, const char *key,
                size_t klen, const struct source_text *targets, size_t ntargets)
{
    struct source_text k = {key, klen};
    int rc = source_records_add(m->r, kind, it->dn, k, targets, ntargets, m->d);

    if (rc < 0)
        m->oom = true;
    else if (rc > 0)
        m->errors++;
}

static int cmp_item(const void *a, const void *b)
{
    return strcmp(((const struct item *)a)->key, ((const struct item *)b)->key);
}

/* The item whose DN is dn (a member value), or NULL. */
static const struct item *find_dn(const struct dir_map *m, const char *dn)
{
    struct item probe = {0};
    const struct item *found;

    if ((probe.key = dn_key(dn)) == NULL)
        return NULL;
    found =
        m->nitems > 0 ? bsearch(&probe, m->items, m->nitems, sizeof(*m->items), cmp_item) : NULL;
    free(probe.key);
    return found;
}

/* ---- ad ---------------------------------------------------------------- */

/* A proxyAddresses value: 2 primary ("SMTP:"), 1 secondary (any other
 * case of "smtp:"), 0 another address type. */
static int smtp_kind(const struct value *v)
{
    if (v->len < 5 || strncasecmp(v->p, "smtp:", 5) != 0)
        return 0;
    return strncmp(v->p, "SMTP:", 5) == 0 ? 2 : 1;
}

/* The primary address of an ad user: its one "SMTP:" value, else mail;
 * NULL when it has none, or (reported) more than one. */
static const char *ad_primary(struct dir_map *m, const struct item *it, size_t *len, bool report)
{
    const struct value *primary = NULL;

    for (size_t i = 0; i < it->nvalues; i++) {
        const struct value *v = &it->values[i];
        if (v->attr != A_PROXY || smtp_kind(v) != 2)
            continue;
        if (primary != NULL) {
            if (report)
                problem(m, DIAG_ERROR, it, "two primary addresses (SMTP:) in proxyAddresses");
            return NULL;
        }
        primary = v;
    }
    if (primary != NULL) {
        *len = primary->len - 5;
        return primary->p + 5;
    }
    if ((primary = first(it, A_MAIL)) == NULL)
        return NULL;
    *len = primary->len;
    return primary->p;
}

enum ad_class { AD_NONE, AD_USER, AD_CONTACT, AD_GROUP };

static enum ad_class ad_class(const struct item *it)
{
    if (has_value(it, A_OBJECTCLASS, "contact"))
        return AD_CONTACT;
    if (has_value(it, A_OBJECTCLASS, "group"))
        return AD_GROUP;
    if (has_value(it, A_OBJECTCLASS, "computer"))
        return AD_NONE;
    if (has_value(it, A_OBJECTCLASS, "user") || has_value(it, A_OBJECTCLASS, "person"))
        return AD_USER;
    return AD_NONE;
}

static void ad_user(struct dir_map *m, const struct item *it)
{
    size_t plen;
    const char *primary = ad_primary(m, it, &plen, true);
    struct source_text target = {primary, plen};

    if (primary == NULL)
        return;
    put(m, SOURCE_MAILBOX, it, primary, plen, NULL, 0);
    for (size_t i = 0; i < it->nvalues; i++) {
        const struct value *v = &it->values[i];
        if (v->attr != A_PROXY || smtp_kind(v) != 1)
            continue;
        if (v->len - 5 == plen && strncasecmp(v->p + 5, primary, plen) == 0)
            continue; /* the primary listed again as secondary */
        put(m, SOURCE_SECONDARY, it, v->p + 5, v->len - 5, &target, 1);
    }
}

/* The one address an ad contact forwards to: targetAddress without its
 * "SMTP:" prefix, else mail; NULL (reported) when it has none. */
static const char *ad_contact_target(struct dir_map *m, const struct item *it, size_t *len,
                                     bool report)
{
    const struct value *t = first(it, A_TARGET);

    if (t != NULL) {
        if (smtp_kind(t) != 0) {
            *len = t->len - 5;
            return t->p + 5;
        }
        if (memchr(t->p, ':', t->len) == NULL) {
            *len = t->len;
            return t->p;
        }
        if (report)
            problem(m, DIAG_ERROR, it, "targetAddress is not an SMTP address");
        return NULL;
    }
    if ((t = first(it, A_MAIL)) == NULL) {
        if (report)
            problem(m, DIAG_WARNING, it, "contact without targetAddress or mail: ignored");
        return NULL;
    }
    *len = t->len;
    return t->p;
}

/* Each SMTP address of it (proxyAddresses smtp:/SMTP:, and mail), other
 * than skip, as an alias to the targets. */
static void ad_alias_keys(struct dir_map *m, const struct item *it, const char *skip,
                          size_t skiplen, const struct source_text *targets, size_t ntargets)
{
    for (size_t i = 0; i < it->nvalues; i++) {
        const struct value *v = &it->values[i];
        const char *p = v->p;
        size_t n = v->len;
        if (v->attr == A_PROXY && smtp_kind(v) != 0) {
            p += 5;
            n -= 5;
        } else if (v->attr != A_MAIL) {
            continue;
        }
        if (skip != NULL && n == skiplen && strncasecmp(p, skip, n) == 0)
            continue;
        /* mail repeated in proxyAddresses: one alias */
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++) {
            const struct value *w = &it->values[j];
            size_t off = w->attr == A_PROXY && smtp_kind(w) != 0 ? 5 : 0;
            seen = (w->attr == A_MAIL || off == 5) && w->len - off == n &&
                   strncasecmp(w->p + off, p, n) == 0;
        }
        if (!seen)
            put(m, SOURCE_ALIAS, it, p, n, targets, ntargets);
    }
}

static void ad_contact(struct dir_map *m, const struct item *it)
{
    size_t tlen;
    const char *t = ad_contact_target(m, it, &tlen, true);
    struct source_text target = {t, tlen};

    if (t != NULL)
        ad_alias_keys(m, it, t, tlen, &target, 1);
}

/* The members of a group, flattened (depth-first, nested groups followed)
 * into *out.  stack holds the groups being expanded, for loop detection. */
struct expansion {
    struct source_text *out;
    size_t n, cap;
    const struct item *stack[32];
    size_t depth;
};

static int ad_expand(struct dir_map *m, const struct item *g, struct expansion *x)
{
    if (x->depth == sizeof(x->stack) / sizeof(x->stack[0])) {
        problem(m, DIAG_ERROR, g, "groups nested more than %zu deep", x->depth);
        return -1;
    }
    x->stack[x->depth++] = g;
    for (size_t i = 0; i < g->nvalues; i++) {
        const struct value *v = &g->values[i];
        const struct item *mem;
        struct source_text t = {NULL, 0};
        if (v->attr != A_MEMBER)
            continue;
        if (memchr(v->p, '\0', v->len) != NULL || (mem = find_dn(m, v->p)) == NULL) {
            char dn[512];
            util_escape(dn, sizeof(dn), v->p, v->len);
            problem(m, DIAG_WARNING, x->stack[0],
                    "member %s is not a directory entry read: skipped", dn);
            continue;
        }
        switch (ad_class(mem)) {
        case AD_GROUP:
            for (size_t k = 0; k < x->depth; k++)
                if (x->stack[k] == mem) {
                    problem(m, DIAG_ERROR, x->stack[0], "group loop: %s is a member of %s", mem->dn,
                            g->dn);
                    x->depth--;
                    return -1;
                }
            if (ad_expand(m, mem, x) != 0) {
                x->depth--;
                return -1;
            }
            continue;
        case AD_USER:
            t.p = ad_primary(m, mem, &t.len, false);
            break;
        case AD_CONTACT:
            t.p = ad_contact_target(m, mem, &t.len, false);
            break;
        case AD_NONE:
            break;
        }
        if (t.p == NULL)
            continue; /* a member without an address receives nothing */
        if (util_grow((void **)&x->out, &x->cap, x->n + 1, sizeof(*x->out)) != 0) {
            m->oom = true;
            x->depth--;
            return -1;
        }
        x->out[x->n++] = t;
    }
    x->depth--;
    return 0;
}

static void ad_group(struct dir_map *m, const struct item *it)
{
    struct expansion x = {0};

    if (first(it, A_PROXY) == NULL && first(it, A_MAIL) == NULL)
        return; /* a security group without mail */
    if (ad_expand(m, it, &x) == 0) {
        if (x.n == 0)
            problem(m, DIAG_WARNING, it, "group without members that receive mail: ignored");
        else
            ad_alias_keys(m, it, NULL, 0, x.out, x.n);
    }
    free(x.out);
}

static void map_ad(struct dir_map *m, const struct item *it)
{
    switch (ad_class(it)) {
    case AD_USER:
        ad_user(m, it);
        break;
    case AD_CONTACT:
        ad_contact(m, it);
        break;
    case AD_GROUP:
        ad_group(m, it);
        break;
    case AD_NONE:
        break;
    }
}

/* ---- iredmail ----------------------------------------------------------- */

static bool active(const struct item *it)
{
    return has_value(it, A_STATUS, "active");
}

/* Every value of id as targets (borrowed from it), appended to *x. */
static int collect(const struct item *it, enum attr_id id, struct expansion *x)
{
    for (size_t i = 0; i < it->nvalues; i++) {
        if (it->values[i].attr != id)
            continue;
        if (util_grow((void **)&x->out, &x->cap, x->n + 1, sizeof(*x->out)) != 0)
            return -1;
        x->out[x->n++] = (struct source_text){it->values[i].p, it->values[i].len};
    }
    return 0;
}

/* ASCII case-insensitive order of counted strings. */
static int cmp_folded(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = strncasecmp(a, b, alen < blen ? alen : blen);

    return c != 0 ? c : alen < blen ? -1 : alen > blen;
}

static int cmp_membership(const void *a, const void *b)
{
    const struct membership *x = a, *y = b;

    return cmp_folded(x->group, x->len, y->group, y->len);
}

/* The membership index: every memberOfGroup of an active mailUser with a
 * mail, sorted, so that each list finds its users by binary search. */
static int index_members(struct dir_map *m)
{
    for (size_t i = 0; i < m->nitems; i++) {
        const struct item *u = &m->items[i];
        const struct value *mail = first(u, A_MAIL);
        if (mail == NULL || !has_value(u, A_OBJECTCLASS, "mailUser") || !active(u))
            continue;
        for (size_t k = 0; k < u->nvalues; k++) {
            if (u->values[k].attr != A_MEMBEROF)
                continue;
            if (util_grow((void **)&m->members, &m->mcap, m->nmembers + 1, sizeof(*m->members)) !=
                0)
                return -1;
            m->members[m->nmembers++] = (struct membership){u->values[k].p, u->values[k].len, mail};
        }
    }
    if (m->nmembers > 1)
        qsort(m->members, m->nmembers, sizeof(*m->members), cmp_membership);
    return 0;
}

/* The mail of every active mailUser whose memberOfGroup names list. */
static int list_members(const struct dir_map *m, const struct value *list, struct expansion *x)
{
    size_t lo = 0, hi = m->nmembers;

    while (lo < hi) { /* the first membership not below list */
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_folded(m->members[mid].group, m->members[mid].len, list->p, list->len) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < m->nmembers &&
           cmp_folded(m->members[lo].group, m->members[lo].len, list->p, list->len) == 0;
         lo++) {
        const struct value *mail = m->members[lo].mail;
        if (util_grow((void **)&x->out, &x->cap, x->n + 1, sizeof(*x->out)) != 0)
            return -1;
        x->out[x->n++] = (struct source_text){mail->p, mail->len};
    }
    return 0;
}

static void iredmail_domain(struct dir_map *m, const struct item *it)
{
    const struct value *name = first(it, A_DOMAIN);
    struct source_text target;

    if (name == NULL) {
        problem(m, DIAG_ERROR, it, "mailDomain without domainName");
        return;
    }
    put(m, SOURCE_DOMAIN, it, name->p, name->len, NULL, 0);
    target = (struct source_text){name->p, name->len};
    for (size_t i = 0; i < it->nvalues; i++)
        if (it->values[i].attr == A_DOMALIAS)
            put(m, SOURCE_ALIAS_DOMAIN, it, it->values[i].p, it->values[i].len, &target, 1);
}

static void iredmail_user(struct dir_map *m, const struct item *it)
{
    const struct value *mail = first(it, A_MAIL);
    struct source_text primary;
    struct expansion x = {0};

    if (mail == NULL) {
        problem(m, DIAG_ERROR, it, "mailUser without mail");
        return;
    }
    primary = (struct source_text){mail->p, mail->len};
    put(m, SOURCE_MAILBOX, it, mail->p, mail->len, NULL, 0);
    for (size_t i = 0; i < it->nvalues; i++)
        if (it->values[i].attr == A_SHADOW)
            put(m, SOURCE_SECONDARY, it, it->values[i].p, it->values[i].len, &primary, 1);
    if (collect(it, A_FORWARD, &x) != 0)
        m->oom = true;
    else if (x.n > 0) /* with itself among them it keeps the mailbox */
        put(m, SOURCE_ALIAS, it, mail->p, mail->len, x.out, x.n);
    free(x.out);
}

static void iredmail_list(struct dir_map *m, const struct item *it, bool is_list)
{
    const struct value *mail = first(it, A_MAIL);
    struct expansion x = {0};

    if (mail == NULL) {
        problem(m, DIAG_ERROR, it, "%s without mail", is_list ? "mailList" : "mailAlias");
        return;
    }
    if (collect(it, A_FORWARD, &x) != 0 || (is_list && list_members(m, mail, &x) != 0)) {
        m->oom = true;
    } else if (x.n == 0) {
        problem(m, DIAG_WARNING, it, "%s without members or forwarding addresses: ignored",
                is_list ? "mailList" : "mailAlias");
    } else {
        for (size_t i = 0; i < it->nvalues; i++)
            if (it->values[i].attr == A_MAIL || it->values[i].attr == A_SHADOW)
                put(m, SOURCE_ALIAS, it, it->values[i].p, it->values[i].len, x.out, x.n);
    }
    free(x.out);
}

static void map_iredmail(struct dir_map *m, const struct item *it)
{
    if (!active(it))
        return; /* inactive: its addresses are unknown, its domain not hosted */
    if (has_value(it, A_OBJECTCLASS, "mailDomain"))
        iredmail_domain(m, it);
    else if (has_value(it, A_OBJECTCLASS, "mailUser"))
        iredmail_user(m, it);
    else if (has_value(it, A_OBJECTCLASS, "mailList"))
        iredmail_list(m, it, true);
    else if (has_value(it, A_OBJECTCLASS, "mailAlias"))
        iredmail_list(m, it, false);
}

/* ---- custom ------------------------------------------------------------- */

static void map_custom(struct dir_map *m, const struct item *it)
{
    struct expansion x = {0};
    const struct value *key = first(it, A_CUSTOM_KEY);

    switch (it->role) {
    case DIR_ROLE_DOMAIN:
        for (size_t i = 0; i < it->nvalues; i++)
            if (it->values[i].attr == A_DOMAIN)
                put(m, SOURCE_DOMAIN, it, it->values[i].p, it->values[i].len, NULL, 0);
        return;
    case DIR_ROLE_MAILBOX:
        if (key == NULL) {
            problem(m, DIAG_ERROR, it, "no %s", m->custom->mailbox_attribute);
            return;
        }
        if (collect(it, A_CUSTOM_KEY, &x) != 0) {
            m->oom = true;
        } else if (x.n > 1) {
            problem(m, DIAG_ERROR, it, "more than one %s", m->custom->mailbox_attribute);
        } else {
            struct source_text primary = {key->p, key->len};
            put(m, SOURCE_MAILBOX, it, key->p, key->len, NULL, 0);
            for (size_t i = 0; i < it->nvalues; i++)
                if (it->values[i].attr == A_SHADOW)
                    put(m, SOURCE_SECONDARY, it, it->values[i].p, it->values[i].len, &primary, 1);
        }
        break;
    case DIR_ROLE_ALIAS:
        if (collect(it, A_FORWARD, &x) != 0) {
            m->oom = true;
        } else if (x.n == 0) {
            problem(m, DIAG_WARNING, it, "alias without %s: ignored", m->custom->target_attribute);
        } else {
            for (size_t i = 0; i < it->nvalues; i++)
                if (it->values[i].attr == A_CUSTOM_KEY)
                    put(m, SOURCE_ALIAS, it, it->values[i].p, it->values[i].len, x.out, x.n);
        }
        break;
    case DIR_ROLE_ANY:
        break;
    }
    free(x.out);
}

int dir_map_finish(struct dir_map *m, struct source_records *r, struct diag *d)
{
    m->r = r;
    m->d = d;
    m->errors = 0;
    if (m->nitems > 1)
        qsort(m->items, m->nitems, sizeof(*m->items), cmp_item);
    if (m->schema == DIR_SCHEMA_IREDMAIL && index_members(m) != 0)
        m->oom = true;
    for (size_t i = 0; i < m->nitems && !m->oom; i++) {
        const struct item *it = &m->items[i];
        if (i > 0 && strcmp(it->key, m->items[i - 1].key) == 0 && it->role == m->items[i - 1].role)
            continue; /* the same entry found twice (overlapping searches) */
        if (m->schema == DIR_SCHEMA_AD)
            map_ad(m, it);
        else if (m->schema == DIR_SCHEMA_IREDMAIL)
            map_iredmail(m, it);
        else
            map_custom(m, it);
    }
    return m->oom || source_records_oom(r) ? -1 : m->errors;
}
