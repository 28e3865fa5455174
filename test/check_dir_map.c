/*
 * check_dir_map.c - unit tests of dir_map.c: the ad, iredmail and custom
 * schemas rule by rule, on directory entries made up in memory, and what
 * bad values become (a diagnostic naming the DN, never a crash).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "dir_map.h"
#include "source_records.h"

/* An entry written as text: "dn" then "attr=value" items, NULL-ended. */
#define MAX_VALUES 16
struct fake {
    struct dir_entry e;
    struct dir_attr attrs[MAX_VALUES];
    struct dir_value values[MAX_VALUES][MAX_VALUES];
    char names[MAX_VALUES][64];
};

static void fake_entry(struct fake *f, const char *dn, const char *const *items)
{
    memset(f, 0, sizeof(*f));
    f->e.dn = dn;
    f->e.attrs = f->attrs;
    for (; *items != NULL; items++) {
        const char *eq = strchr(*items, '=');
        size_t n = (size_t)(eq - *items), a;
        for (a = 0; a < f->e.nattrs; a++)
            if (strlen(f->names[a]) == n && strncmp(f->names[a], *items, n) == 0)
                break;
        if (a == f->e.nattrs) {
            memcpy(f->names[a], *items, n);
            f->attrs[a].name = f->names[a];
            f->attrs[a].values = f->values[a];
            f->e.nattrs++;
        }
        f->values[a][f->attrs[a].nvalues++] = (struct dir_value){eq + 1, strlen(eq + 1)};
    }
}

/* Records as "kind key -> t1,t2" lines, sorted, joined by '\n'. */
static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *dump(const struct source_records *r)
{
    size_t n = source_records_count(r), total = 1;
    char **lines = calloc(n + 1, sizeof(*lines));
    char *out;

    for (size_t i = 0; i < n; i++) {
        const struct source_record *rec = source_records_at(r, i);
        char buf[2048];
        int k = snprintf(buf, sizeof(buf), "%s %s", source_kind_name(rec->kind), rec->key);
        for (size_t t = 0; t < rec->ntargets; t++)
            k += snprintf(buf + k, sizeof(buf) - (size_t)k, "%s%s", t == 0 ? " -> " : ",",
                          rec->targets[t]);
        lines[i] = strdup(buf);
        total += strlen(buf) + 1;
    }
    qsort(lines, n, sizeof(*lines), cmp_str);
    out = calloc(1, total);
    for (size_t i = 0; i < n; i++) {
        strcat(out, lines[i]);
        strcat(out, "\n");
        free(lines[i]);
    }
    free(lines);
    return out;
}

/* All diagnostics joined by '\n'. */
static char *messages(const struct diag *d)
{
    size_t total = 1;
    char *out;

    for (size_t i = 0; i < diag_size(d); i++)
        total += strlen(diag_text(d, i)) + 12;
    out = calloc(1, total);
    for (size_t i = 0; i < diag_size(d); i++) {
        strcat(out, diag_level_at(d, i) == DIAG_ERROR ? "E " : "W ");
        strcat(out, diag_text(d, i));
        strcat(out, "\n");
    }
    return out;
}

struct entry_spec {
    enum dir_role role;
    const char *dn;
    const char *items[MAX_VALUES + 1];
};

struct map_case {
    const char *name;
    enum dir_schema schema;
    struct entry_spec entries[8];
    const char *records; /* dump() of the result */
    const char *diags;   /* messages(), "" for none */
};

#define S "ldap://test"

static const struct dir_custom inet_local = {
    .mailbox_attribute = "mail",
    .secondary_attribute = "mailLocalAddress",
    .alias_attribute = "mailLocalAddress",
    .target_attribute = "mailRoutingAddress",
    .domain_attribute = "associatedDomain",
};

static const struct map_case cases[] = {
    {"ad user: SMTP primary, smtp secondaries, other types ignored",
     DIR_SCHEMA_AD,
     {{0,
       "cn=Bob,dc=x",
       {"objectClass=top", "objectClass=person", "objectClass=user",
        "proxyAddresses=SMTP:bob@corp.example", "proxyAddresses=smtp:bob@example.org",
        "proxyAddresses=X500:/o=x/cn=bob", "proxyAddresses=SIP:bob@corp.example",
        "proxyAddresses=smtp:BOB@corp.example", "mail=other@corp.example", NULL}}},
     "mailbox bob@corp.example\nsecondary bob@example.org -> bob@corp.example\n",
     ""},
    {"ad user without SMTP: mail is the primary",
     DIR_SCHEMA_AD,
     {{0, "cn=Carol,dc=x", {"objectClass=user", "mail=carol@corp.example", NULL}}},
     "mailbox carol@corp.example\n",
     ""},
    {"ad computer and objects without addresses give nothing",
     DIR_SCHEMA_AD,
     {{0,
       "cn=pc1,dc=x",
       {"objectClass=user", "objectClass=computer", "mail=pc1@corp.example", NULL}},
      {0, "cn=nomail,dc=x", {"objectClass=user", NULL}}},
     "",
     ""},
    {"ad two primaries: an error naming the DN, the entry left out",
     DIR_SCHEMA_AD,
     {{0,
       "cn=Twice,dc=x",
       {"objectClass=user", "proxyAddresses=SMTP:a@corp.example",
        "proxyAddresses=SMTP:b@corp.example", NULL}}},
     "",
     "E " S ": cn=Twice,dc=x: two primary addresses (SMTP:) in proxyAddresses\n"},
    {"ad contact (a person too): alias to targetAddress, its own primary not an alias",
     DIR_SCHEMA_AD,
     {{0,
       "cn=Ext,dc=x",
       {"objectClass=person", "objectClass=contact", "targetAddress=SMTP:ext@partner.example",
        "proxyAddresses=SMTP:ext@partner.example", "proxyAddresses=smtp:ext@corp.example",
        "mail=ext@partner.example", NULL}}},
     "alias ext@corp.example -> ext@partner.example\n",
     ""},
    {"ad contact without targetAddress: to mail",
     DIR_SCHEMA_AD,
     {{0,
       "cn=Ext2,dc=x",
       {"objectClass=contact", "mail=x@partner.example", "proxyAddresses=smtp:x@corp.example",
        NULL}}},
     "alias x@corp.example -> x@partner.example\n",
     ""},
    {"ad group: members' primaries, nested groups followed, contacts' targets",
     DIR_SCHEMA_AD,
     {{0,
       "cn=Sales,dc=x",
       {"objectClass=group", "mail=sales@corp.example", "member=cn=Bob,dc=x",
        "member=CN=Inner, DC=x", NULL}},
      {0,
       "cn=Inner,dc=x",
       {"objectClass=group", "member=cn=Carol,dc=x", "member=cn=Ext,dc=x", NULL}},
      {0, "cn=Bob,dc=x", {"objectClass=user", "proxyAddresses=SMTP:bob@corp.example", NULL}},
      {0, "cn=Carol,dc=x", {"objectClass=user", "mail=carol@corp.example", NULL}},
      {0, "cn=Ext,dc=x", {"objectClass=contact", "targetAddress=ext@partner.example", NULL}}},
     "alias sales@corp.example -> bob@corp.example,carol@corp.example,ext@partner.example\n"
     "mailbox bob@corp.example\nmailbox carol@corp.example\n",
     ""},
    {"ad group loop: an error naming both DNs",
     DIR_SCHEMA_AD,
     {{0, "cn=A,dc=x", {"objectClass=group", "mail=a@corp.example", "member=cn=B,dc=x", NULL}},
      {0, "cn=B,dc=x", {"objectClass=group", "mail=b@corp.example", "member=cn=A,dc=x", NULL}}},
     "",
     "E " S ": cn=A,dc=x: group loop: cn=A,dc=x is a member of cn=B,dc=x\n"
     "E " S ": cn=B,dc=x: group loop: cn=B,dc=x is a member of cn=A,dc=x\n"},
    {"ad group member not read: a warning, the rest kept",
     DIR_SCHEMA_AD,
     {{0,
       "cn=G,dc=x",
       {"objectClass=group", "mail=g@corp.example", "member=cn=Gone,dc=x", "member=cn=Bob,dc=x",
        NULL}},
      {0, "cn=Bob,dc=x", {"objectClass=user", "mail=bob@corp.example", NULL}}},
     "alias g@corp.example -> bob@corp.example\nmailbox bob@corp.example\n",
     "W " S ": warning: cn=G,dc=x: member cn=Gone,dc=x is not a directory entry read: skipped\n"},
    {"ad bad values: named with their DN, never a crash",
     DIR_SCHEMA_AD,
     {{0, "cn=Bad,dc=x", {"objectClass=user", "proxyAddresses=SMTP:", NULL}},
      {0,
       "cn=Bad2,dc=x",
       {"objectClass=user", "proxyAddresses=SMTP:ok@corp.example", "proxyAddresses=smtp:no-domain",
        NULL}}},
     "mailbox ok@corp.example\n",
     NULL},
    {"iredmail: active domain with alias domain, users, forwarding, shadow addresses",
     DIR_SCHEMA_IREDMAIL,
     {{0,
       "domainName=corp.example,o=domains",
       {"objectClass=mailDomain", "accountStatus=active", "domainName=corp.example",
        "domainAliasName=corp.example.net", NULL}},
      {0,
       "domainName=old.example,o=domains",
       {"objectClass=mailDomain", "accountStatus=disabled", "domainName=old.example", NULL}},
      {0,
       "mail=bob@corp.example,ou=Users",
       {"objectClass=mailUser", "accountStatus=active", "mail=bob@corp.example",
        "shadowAddress=robert@corp.example", NULL}},
      {0,
       "mail=fwd@corp.example,ou=Users",
       {"objectClass=mailUser", "accountStatus=active", "mail=fwd@corp.example",
        "mailForwardingAddress=fwd@corp.example", "mailForwardingAddress=x@elsewhere.example",
        NULL}},
      {0,
       "mail=gone@corp.example,ou=Users",
       {"objectClass=mailUser", "accountStatus=disabled", "mail=gone@corp.example", NULL}}},
     "alias fwd@corp.example -> fwd@corp.example,x@elsewhere.example\n"
     "alias_domain corp.example.net -> corp.example\ndomain corp.example\n"
     "mailbox bob@corp.example\nmailbox fwd@corp.example\n"
     "secondary robert@corp.example -> bob@corp.example\n",
     ""},
    {"iredmail list: forwarding addresses and active members by memberOfGroup",
     DIR_SCHEMA_IREDMAIL,
     {{0,
       "mail=team@corp.example,ou=Groups",
       {"objectClass=mailList", "accountStatus=active", "mail=team@corp.example",
        "shadowAddress=crew@corp.example", "mailForwardingAddress=boss@elsewhere.example", NULL}},
      {0,
       "mail=a@corp.example,ou=Users",
       {"objectClass=mailUser", "accountStatus=active", "mail=a@corp.example",
        "memberOfGroup=TEAM@corp.example", NULL}},
      {0,
       "mail=b@corp.example,ou=Users",
       {"objectClass=mailUser", "accountStatus=disabled", "mail=b@corp.example",
        "memberOfGroup=team@corp.example", NULL}},
      {0,
       "mail=info@corp.example,ou=Aliases",
       {"objectClass=mailAlias", "accountStatus=active", "mail=info@corp.example",
        "mailForwardingAddress=a@corp.example", NULL}}},
     "alias crew@corp.example -> boss@elsewhere.example,a@corp.example\n"
     "alias info@corp.example -> a@corp.example\n"
     "alias team@corp.example -> boss@elsewhere.example,a@corp.example\n"
     "mailbox a@corp.example\n",
     ""},
    {"custom (misc.schema inetLocalMailRecipient): mailboxes, aliases, domains by role",
     DIR_SCHEMA_CUSTOM,
     {{DIR_ROLE_MAILBOX,
       "uid=bob,dc=x",
       {"mail=bob@corp.example", "mailLocalAddress=b@corp.example", NULL}},
      {DIR_ROLE_ALIAS,
       "cn=fwd,dc=x",
       {"mailLocalAddress=fwd@corp.example", "mailRoutingAddress=bob@corp.example", NULL}},
      {DIR_ROLE_DOMAIN, "dc=corp,dc=example", {"associatedDomain=corp.example", NULL}},
      {DIR_ROLE_MAILBOX, "uid=two,dc=x", {"mail=t1@corp.example", "mail=t2@corp.example", NULL}}},
     "alias fwd@corp.example -> bob@corp.example\ndomain corp.example\n"
     "mailbox bob@corp.example\nsecondary b@corp.example -> bob@corp.example\n",
     "E " S ": uid=two,dc=x: more than one mail\n"},
};

START_TEST(test_map)
{
    const struct map_case *c = &cases[_i];
    struct dir_map *m = dir_map_new(c->schema, c->schema == DIR_SCHEMA_CUSTOM ? &inet_local : NULL);
    struct source_records *r = source_records_new(S);
    struct diag *d = diag_new();
    char *got, *msgs;

    ck_assert_ptr_nonnull(m);
    for (size_t i = 0; i < 8 && c->entries[i].dn != NULL; i++) {
        struct fake f;
        fake_entry(&f, c->entries[i].dn, c->entries[i].items);
        ck_assert_int_eq(dir_map_add(m, c->entries[i].role, &f.e), 0);
    }
    ck_assert_int_ge(dir_map_finish(m, r, d), 0);
    got = dump(r);
    msgs = messages(d);
    ck_assert_msg(strcmp(got, c->records) == 0, "%s: records\n%s\nwant\n%s", c->name, got,
                  c->records);
    if (c->diags != NULL)
        ck_assert_msg(strcmp(msgs, c->diags) == 0, "%s: diagnostics\n%s\nwant\n%s", c->name, msgs,
                      c->diags);
    else
        ck_assert_msg(diag_count(d, DIAG_ERROR) >= 2 && strstr(msgs, "cn=Bad,dc=x") &&
                          strstr(msgs, "cn=Bad2,dc=x"),
                      "%s: %s", c->name, msgs);
    free(got);
    free(msgs);
    diag_free(d);
    source_records_free(r);
    dir_map_free(m);
}
END_TEST

/* Values no schema expects: NULs, 8-bit, overlong; each only a diagnostic. */
START_TEST(test_hostile_values)
{
    static const char nul[] = "SMTP:a\0b@corp.example";
    char big[5000];
    struct dir_value proxy[] = {
        {nul, sizeof(nul) - 1}, {"smtp:\xff@corp.example", 19}, {big, sizeof(big)}};
    struct dir_value oc[] = {{"user", 4}};
    struct dir_attr attrs[] = {{"objectClass", oc, 1}, {"proxyAddresses;binary", proxy, 3}};
    struct dir_entry e = {"cn=\x01hostile\n,dc=x", attrs, 2};
    struct dir_map *m = dir_map_new(DIR_SCHEMA_AD, NULL);
    struct source_records *r = source_records_new(S);
    struct diag *d = diag_new();

    memset(big, 'x', sizeof(big));
    memcpy(big, "smtp:", 5);
    ck_assert_int_eq(dir_map_add(m, DIR_ROLE_ANY, &e), 0);
    ck_assert_int_ge(dir_map_finish(m, r, d), 1);
    ck_assert_uint_eq(source_records_count(r), 0);
    for (size_t i = 0; i < diag_size(d); i++) {
        ck_assert_ptr_nonnull(strstr(diag_text(d, i), "cn=\\x01hostile\\n,dc=x"));
        ck_assert_ptr_null(strchr(diag_text(d, i), '\n'));
    }
    diag_free(d);
    source_records_free(r);
    dir_map_free(m);
}
END_TEST

START_TEST(test_search)
{
    const char *attrs[DIR_MAP_ATTRS];

    ck_assert_ptr_nonnull(strstr(dir_map_search(DIR_SCHEMA_AD, NULL, attrs), "contact"));
    ck_assert_str_eq(attrs[1], "proxyAddresses");
    ck_assert_ptr_nonnull(strstr(dir_map_search(DIR_SCHEMA_IREDMAIL, NULL, attrs), "mailUser"));
    ck_assert_ptr_null(dir_map_search(DIR_SCHEMA_CUSTOM, &inet_local, attrs));
    ck_assert_str_eq(attrs[0], "mail");
    ck_assert_ptr_null(attrs[5]);
    ck_assert_int_eq(dir_schema_from_name("ad"), DIR_SCHEMA_AD);
    ck_assert_int_eq(dir_schema_from_name("AD"), 0);
}
END_TEST

/* Each schema's list fits in DIR_MAP_ATTRS pointers, NULL included: a
 * guard after them stays untouched (the iredmail list of 8 names once
 * overflowed ldap_source_load's attrs[8] by its NULL). */
START_TEST(test_search_fits)
{
    static const char guard[] = "guard";
    const enum dir_schema schemas[] = {DIR_SCHEMA_AD, DIR_SCHEMA_IREDMAIL, DIR_SCHEMA_CUSTOM};
    const struct dir_custom all = {"m", "s", "a", "t", "d"};

    for (size_t k = 0; k < sizeof(schemas) / sizeof(schemas[0]); k++) {
        const char *attrs[DIR_MAP_ATTRS + 1];
        size_t n = 0;

        attrs[DIR_MAP_ATTRS] = guard;
        dir_map_search(schemas[k], &all, attrs);
        ck_assert_ptr_eq(attrs[DIR_MAP_ATTRS], guard);
        while (n < DIR_MAP_ATTRS && attrs[n] != NULL)
            n++;
        ck_assert_uint_lt(n, DIR_MAP_ATTRS);
        if (schemas[k] == DIR_SCHEMA_IREDMAIL)
            ck_assert_str_eq(attrs[n - 1], "memberOfGroup");
        if (schemas[k] == DIR_SCHEMA_CUSTOM)
            ck_assert_uint_eq(n, 5);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dir_map");
    TCase *tc = tcase_create("schemas");
    SRunner *sr;
    int failed;

    tcase_add_loop_test(tc, test_map, 0, (int)(sizeof(cases) / sizeof(cases[0])));
    tcase_add_test(tc, test_hostile_values);
    tcase_add_test(tc, test_search);
    tcase_add_test(tc, test_search_fits);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
