/*
 * check_validate.c - unit tests of the semantic checks (validate.c).
 *
 * Each scenario builds a small table through the builder API, as the
 * configuration parser would, runs validate_table and compares the
 * diagnostics: the exact counts and a substring of every expected message.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "diag.h"
#include "table.h"
#include "validate.h"

#define CONF "v.conf"

struct fx {
    struct table_builder *b;
    const char *file;
};

static struct table_loc at(struct fx *f, unsigned line)
{
    struct table_loc loc = {f->file, line};
    return loc;
}

static void domain(struct fx *f, const char *name, unsigned line)
{
    ck_assert_int_eq(table_builder_add_domain(f->b, name, at(f, line)), 0);
}

static void mailbox(struct fx *f, const char *address, unsigned line)
{
    ck_assert_int_eq(
        table_builder_add_entry(f->b, TABLE_MAILBOX, address, NULL, 0, at(f, line), NULL), 0);
}

static void secondary(struct fx *f, const char *address, const char *target, unsigned line)
{
    ck_assert_int_eq(
        table_builder_add_entry(f->b, TABLE_SECONDARY, address, &target, 1, at(f, line), NULL), 0);
}

/* alias with up to three targets (NULL ends the list) */
static void alias(struct fx *f, const char *address, unsigned line, const char *t1, const char *t2,
                  const char *t3)
{
    const char *v[3] = {t1, t2, t3};
    size_t n = t3 ? 3 : t2 ? 2 : 1;

    ck_assert_int_eq(table_builder_add_entry(f->b, TABLE_ALIAS, address, v, n, at(f, line), NULL),
                     0);
}

static void postmaster(struct fx *f, const char *dom, const char *address)
{
    ck_assert_int_eq(table_builder_set_postmaster(f->b, dom, address, at(f, 0), NULL), 0);
}

static void alias_domain(struct fx *f, const char *dom, const char *target)
{
    ck_assert_int_eq(table_builder_set_alias_domain(f->b, dom, target, at(f, 0), NULL), 0);
}

static void catch_all(struct fx *f, const char *dom, const char *target)
{
    ck_assert_int_eq(table_builder_set_catch_all(f->b, dom, &target, 1, at(f, 0), NULL), 0);
}

static void unknown(struct fx *f, const char *dom, enum unknown_action a)
{
    ck_assert_int_eq(table_builder_set_unknown(f->b, dom, a, at(f, 0), NULL), 0);
}

/* The usual base: corp.example with a postmaster mailbox and two users. */
static void corp(struct fx *f)
{
    domain(f, "corp.example", 1);
    mailbox(f, "admin@corp.example", 2);
    mailbox(f, "bob@corp.example", 3);
    mailbox(f, "carol@corp.example", 4);
}

/* ---- scenarios ----------------------------------------------------------- */

static void sc_clean(struct fx *f)
{
    corp(f);
    domain(f, "example.org", 5);
    secondary(f, "bob@example.org", "bob@corp.example", 6);
    secondary(f, "Robert@example.org", "Bob@Corp.Example", 7);
    alias(f, "sales@example.org", 8, "bob@corp.example", "carol@corp.example", NULL);
    alias(f, "team@example.org", 9, "sales@example.org", "admin@corp.example", NULL);
    /* a chain is fine */
    alias(f, "chain-a@corp.example", 10, "chain-b@corp.example", NULL, NULL);
    alias(f, "chain-b@corp.example", 11, "bob@corp.example", NULL, NULL);
}

static void sc_no_postmaster(struct fx *f)
{
    domain(f, "corp.example", 1);
    mailbox(f, "bob@corp.example", 2);
    domain(f, "example.org", 3);
    postmaster(f, "example.org", "bob@corp.example");
}

static void sc_no_postmaster_tempfail(struct fx *f)
{
    domain(f, "corp.example", 1);
    mailbox(f, "bob@corp.example", 2);
    unknown(f, "corp.example", UNKNOWN_TEMPFAIL);
}

/* The global postmaster is unset, but an explicit mailbox covers it. */
static void sc_postmaster_mailbox(struct fx *f)
{
    domain(f, "corp.example", 1);
    mailbox(f, "postmaster@corp.example", 2);
}

static void sc_global_postmaster_bad(struct fx *f)
{
    domain(f, "corp.example", 1);
    mailbox(f, "bob@corp.example", 2);
    domain(f, "example.org", 3);
}

static void sc_domain_postmaster_bad(struct fx *f)
{
    corp(f);
    domain(f, "example.org", 5);
    postmaster(f, "example.org", "nobody@corp.example");
}

static void sc_postmaster_alias_bad(struct fx *f)
{
    corp(f);
    domain(f, "example.org", 5);
    alias(f, "postmaster@example.org", 6, "gone@corp.example", NULL, NULL);
}

static void sc_pass_domain(struct fx *f)
{
    corp(f);
    domain(f, "legacy.example", 5);
    unknown(f, "legacy.example", UNKNOWN_PASS);
    /* and a target in it counts as a mailbox */
    alias(f, "old@corp.example", 6, "someone@legacy.example", NULL, NULL);
}

static void sc_pass_domain_no_global(struct fx *f)
{
    domain(f, "legacy.example", 1);
    unknown(f, "legacy.example", UNKNOWN_PASS);
}

static void sc_self_map(struct fx *f)
{
    corp(f);
    alias(f, "self@corp.example", 5, "self@corp.example", "carol@corp.example", NULL);
    alias(f, "Only@corp.example", 6, "only@Corp.Example", NULL, NULL);
}

static void sc_three_cycle(struct fx *f)
{
    corp(f);
    alias(f, "a@corp.example", 10, "b@corp.example", NULL, NULL);
    alias(f, "b@corp.example", 11, "c@corp.example", NULL, NULL);
    alias(f, "c@corp.example", 12, "a@corp.example", NULL, NULL);
    /* leads into the loop: not reported again */
    alias(f, "d@corp.example", 13, "a@corp.example", "bob@corp.example", NULL);
    secondary(f, "e@corp.example", "d@corp.example", 14);
}

static void sc_cycle_and_bad_target(struct fx *f)
{
    corp(f);
    alias(f, "a@corp.example", 10, "b@corp.example", "nobody@corp.example", NULL);
    alias(f, "b@corp.example", 11, "a@corp.example", NULL, NULL);
}

static void sc_two_cycles(struct fx *f)
{
    corp(f);
    alias(f, "a@corp.example", 10, "b@corp.example", NULL, NULL);
    alias(f, "b@corp.example", 11, "a@corp.example", "c@corp.example", NULL);
    alias(f, "c@corp.example", 12, "b@corp.example", NULL, NULL);
}

/* A loop through an alias domain: y@alias.example is y@corp.example. */
static void sc_cycle_via_alias_domain(struct fx *f)
{
    corp(f);
    domain(f, "alias.example", 5);
    alias_domain(f, "alias.example", "corp.example");
    alias(f, "x@corp.example", 10, "y@alias.example", NULL, NULL);
    alias(f, "y@corp.example", 11, "X@Corp.Example", NULL, NULL);
}

/* a -> a+x: with '+' a delimiter that is a -> a+x -> a+x+x ... */
static void sc_cycle_via_extension(struct fx *f)
{
    corp(f);
    alias(f, "a@corp.example", 10, "a+x@corp.example", NULL, NULL);
}

static void sc_alias_domain_loop(struct fx *f)
{
    corp(f);
    domain(f, "a.example", 5);
    domain(f, "b.example", 6);
    domain(f, "c.example", 7);
    domain(f, "d.example", 8);
    alias_domain(f, "a.example", "b.example");
    alias_domain(f, "b.example", "a.example");
    alias_domain(f, "c.example", "c.example");
    alias_domain(f, "d.example", "a.example"); /* leads into the loop */
    /* an entry whose target goes through the loop */
    alias(f, "x@corp.example", 9, "x@d.example", NULL, NULL);
}

static void sc_alias_domain_remote(struct fx *f)
{
    corp(f);
    domain(f, "old.example", 5);
    alias_domain(f, "old.example", "new.elsewhere.example");
    domain(f, "example.net", 6);
    alias_domain(f, "example.net", "corp.example");
    alias(f, "x@corp.example", 7, "bob@example.net", NULL, NULL);
}

static void sc_target_outside(struct fx *f)
{
    corp(f);
    alias(f, "sales@corp.example", 5, "partner@elsewhere.example", "bob@corp.example", NULL);
    secondary(f, "fwd@corp.example", "someone@[192.0.2.1]", 6);
}

static void sc_outside_hosted(struct fx *f)
{
    corp(f);
    secondary(f, "bob@nothosted.example", "bob@corp.example", 5);
    mailbox(f, "eve@nothosted.example", 6);
    alias(f, "list@other.example", 7, "bob@corp.example", NULL, NULL);
}

static void sc_bad_alias_target(struct fx *f)
{
    corp(f);
    alias(f, "sales@corp.example", 5, "bob@corp.example", "nobody@corp.example", NULL);
    /* only leads to the bad one: not reported again */
    alias(f, "all@corp.example", 6, "sales@corp.example", NULL, NULL);
    secondary(f, "s@corp.example", "sales@corp.example", 7);
    secondary(f, "t@corp.example", "nobody2@corp.example", 8);
}

static void sc_bad_catch_all(struct fx *f)
{
    corp(f);
    domain(f, "example.org", 5);
    catch_all(f, "example.org", "nobody@corp.example");
    domain(f, "example.net", 6);
    catch_all(f, "example.net", "bob@corp.example");
}

static void sc_catch_all_and_alias_domain(struct fx *f)
{
    corp(f);
    domain(f, "example.org", 5);
    alias_domain(f, "example.org", "corp.example");
    catch_all(f, "example.org", "bob@corp.example");
}

/* 25 aliases in a chain: deeper than the default max_depth of 20. */
static void sc_too_deep(struct fx *f)
{
    char a[64], b[64];

    corp(f);
    for (int i = 0; i < 25; i++) {
        snprintf(a, sizeof(a), "d%02d@corp.example", i);
        snprintf(b, sizeof(b), "d%02d@corp.example", i + 1);
        alias(f, a, 10 + (unsigned)i, i < 24 ? b : "bob@corp.example", NULL, NULL);
    }
}

struct scenario {
    const char *name;
    void (*build)(struct fx *f);
    const char *global_postmaster;
    const char *delimiters;
    int errors;
    size_t warnings;
    const char *expect[4]; /* substrings, each must appear */
};

static const struct scenario scenarios[] = {
    {"clean", sc_clean, "admin@corp.example", "+", 0, 0, {NULL}},
    {"no postmaster, no global",
     sc_no_postmaster,
     NULL,
     "",
     1,
     0,
     {CONF ":1: domain corp.example: postmaster@corp.example reaches no mailbox (reject: User "
           "unknown); set postmaster for the domain, a global postmaster, or a mailbox or alias "
           "postmaster@corp.example"}},
    {"no postmaster, tempfail domain",
     sc_no_postmaster_tempfail,
     NULL,
     "",
     1,
     0,
     {CONF ":1: domain corp.example: postmaster@corp.example reaches no mailbox (tempfail: User "
           "unknown, try again later)"}},
    {"postmaster mailbox", sc_postmaster_mailbox, NULL, "", 0, 0, {NULL}},
    {"global postmaster bad",
     sc_global_postmaster_bad,
     "nobody@corp.example",
     "",
     1,
     0,
     {"global postmaster nobody@corp.example reaches no mailbox (reject: User unknown)"}},
    /* postmaster@d as the global postmaster, no such mailbox: the role rule
     * would send it back to itself, and the MTA would relay it */
    {"global postmaster is its own role address",
     sc_global_postmaster_bad,
     "postmaster@corp.example",
     "",
     1,
     0,
     {"global postmaster postmaster@corp.example reaches no mailbox (the role rule leads back "
      "to it; declare it as a mailbox)"}},
    {"domain postmaster bad",
     sc_domain_postmaster_bad,
     "admin@corp.example",
     "",
     1,
     0,
     {CONF ":5: domain example.org: postmaster nobody@corp.example reaches no mailbox (reject: "
           "User unknown)"}},
    {"postmaster alias bad",
     sc_postmaster_alias_bad,
     "admin@corp.example",
     "",
     1,
     0,
     {CONF ":6: alias postmaster@example.org: target gone@corp.example reaches no mailbox"}},
    {"pass domain", sc_pass_domain, "admin@corp.example", "", 0, 0, {NULL}},
    {"pass domain, no global", sc_pass_domain_no_global, NULL, "", 0, 0, {NULL}},
    {"self-map", sc_self_map, "admin@corp.example", "+", 0, 0, {NULL}},
    {"3-cycle",
     sc_three_cycle,
     "admin@corp.example",
     "",
     1,
     0,
     {CONF ":10: alias loop: a@corp.example -> b@corp.example -> c@corp.example -> "
           "a@corp.example"}},
    {"cycle and a bad target",
     sc_cycle_and_bad_target,
     "admin@corp.example",
     "",
     2,
     0,
     {CONF ":10: alias loop: a@corp.example -> b@corp.example -> a@corp.example",
      CONF ":10: alias a@corp.example: target nobody@corp.example reaches no mailbox (reject: "
           "User unknown)"}},
    {"two cycles",
     sc_two_cycles,
     "admin@corp.example",
     "",
     2,
     0,
     {CONF ":10: alias loop: a@corp.example -> b@corp.example -> a@corp.example",
      CONF ":11: alias loop: b@corp.example -> c@corp.example -> b@corp.example"}},
    {"cycle via alias domain",
     sc_cycle_via_alias_domain,
     "admin@corp.example",
     "",
     1,
     0,
     {CONF ":10: alias loop: x@corp.example -> y@corp.example -> x@corp.example"}},
    {"cycle via extension",
     sc_cycle_via_extension,
     "admin@corp.example",
     "+",
     1,
     0,
     {CONF ":10: alias loop: a@corp.example -> a@corp.example"}},
    {"alias_domain loop",
     sc_alias_domain_loop,
     "admin@corp.example",
     "",
     2,
     0,
     {CONF ":5: alias_domain loop: a.example -> b.example -> a.example",
      CONF ":7: alias_domain loop: c.example -> c.example"}},
    {"alias_domain remote", sc_alias_domain_remote, "admin@corp.example", "", 0, 0, {NULL}},
    {"target outside hosted domains", sc_target_outside, "admin@corp.example", "", 0, 0, {NULL}},
    {"entries outside hosted domains",
     sc_outside_hosted,
     "admin@corp.example",
     "",
     0,
     3,
     {CONF ":5: warning: secondary address bob@nothosted.example is outside every hosted domain; "
           "it never matches a recipient",
      CONF ":6: warning: mailbox eve@nothosted.example is outside every hosted domain",
      CONF ":7: warning: alias list@other.example is outside every hosted domain"}},
    {"bad alias target",
     sc_bad_alias_target,
     "admin@corp.example",
     "",
     2,
     0,
     {CONF ":5: alias sales@corp.example: target nobody@corp.example reaches no mailbox (reject: "
           "User unknown)",
      CONF ":8: secondary address t@corp.example: target nobody2@corp.example reaches no "
           "mailbox"}},
    {"bad catch-all",
     sc_bad_catch_all,
     "admin@corp.example",
     "",
     1,
     0,
     {CONF ":5: domain example.org: catch_all target nobody@corp.example reaches no mailbox "
           "(reject: User unknown)"}},
    {"catch-all and alias domain",
     sc_catch_all_and_alias_domain,
     "admin@corp.example",
     "",
     0,
     1,
     {CONF ":5: warning: domain example.org: catch_all is never used, alias_domain corp.example "
           "takes precedence"}},
    {"too deep",
     sc_too_deep,
     "admin@corp.example",
     "",
     1,
     0,
     {CONF ":14: alias d04@corp.example reaches no mailbox (tempfail: Temporary lookup failure "
           "(alias expansion limit))"}},
};

static void dump(const struct diag *d)
{
    for (size_t i = 0; i < diag_size(d); i++)
        fprintf(stderr, "  diag: %s\n", diag_text(d, i));
}

START_TEST(test_scenario)
{
    const struct scenario *sc = &scenarios[_i];
    struct table_settings s = {.postmaster = sc->global_postmaster,
                               .delimiters = sc->delimiters,
                               .unknown = UNKNOWN_REJECT};
    struct fx f;
    struct diag *d = diag_new();

    f.b = table_builder_new(&s);
    ck_assert_ptr_nonnull(f.b);
    ck_assert_ptr_nonnull(d);
    f.file = table_builder_intern_file(f.b, CONF);
    sc->build(&f);
    struct table *t = table_builder_finish(f.b);
    ck_assert_ptr_nonnull(t);
    int errors = validate_table(t, f.b, d);
    if (errors != sc->errors || diag_count(d, DIAG_WARNING) != sc->warnings) {
        fprintf(stderr, "scenario %s:\n", sc->name);
        dump(d);
    }
    ck_assert_int_eq(errors, sc->errors);
    ck_assert_uint_eq(diag_count(d, DIAG_ERROR), (size_t)sc->errors);
    ck_assert_uint_eq(diag_count(d, DIAG_WARNING), sc->warnings);
    for (size_t k = 0; k < 4 && sc->expect[k] != NULL; k++) {
        bool found = false;
        for (size_t i = 0; i < diag_size(d); i++)
            found = found || strstr(diag_text(d, i), sc->expect[k]) != NULL;
        if (!found)
            dump(d);
        ck_assert_msg(found, "scenario %s: no diagnostic contains \"%s\"", sc->name, sc->expect[k]);
    }
    table_unref(t);
    table_builder_free(f.b);
    diag_free(d);
}
END_TEST

/* ---- places of what is not in the builder (validate_table_at) --------- */

static void sc_nothing(struct fx *f)
{
    (void)f;
}

/* Entries from a virtual(5) file next to the configuration's. */
static void sc_table_file(struct fx *f)
{
    struct table_loc v3 = {table_builder_intern_file(f->b, "virtual"), 3};
    const char *target = "nobody@corp.example";

    corp(f);
    ck_assert_ptr_nonnull(v3.file);
    ck_assert_int_eq(
        table_builder_add_entry(f->b, TABLE_ALIAS, "sales@corp.example", &target, 1, v3, NULL), 0);
}

/* Domain settings made on lines of their own, one from a table file. */
static void sc_setting_lines(struct fx *f)
{
    struct table_loc v4 = {table_builder_intern_file(f->b, "virtual"), 4};
    const char *gone = "nobody@corp.example";

    corp(f);
    domain(f, "example.org", 5);
    ck_assert_int_eq(
        table_builder_set_postmaster(f->b, "example.org", "gone@corp.example", at(f, 7), NULL), 0);
    ck_assert_int_eq(table_builder_set_catch_all(f->b, "example.org", &gone, 1, v4, NULL), 0);
    domain(f, "a.example", 10);
    domain(f, "b.example", 12);
    ck_assert_int_eq(
        table_builder_set_alias_domain(f->b, "a.example", "b.example", at(f, 11), NULL), 0);
    ck_assert_int_eq(
        table_builder_set_alias_domain(f->b, "b.example", "a.example", at(f, 13), NULL), 0);
}

static const struct {
    const char *name;
    void (*build)(struct fx *f);
    const char *global_postmaster;
    struct validate_where where;
    int errors;
    size_t warnings;
    const char *expect; /* the start of one diagnostic; NULL: none expected */
} places[] = {
    {"global postmaster",
     sc_global_postmaster_bad,
     "nobody@corp.example",
     {"main.conf", {"main.conf", 7}},
     1,
     0,
     "main.conf:7: global postmaster nobody@corp.example reaches no mailbox ("},
    {"global postmaster in an included file",
     sc_global_postmaster_bad,
     "nobody@corp.example",
     {"main.conf", {"inc.conf", 3}},
     1,
     0,
     "inc.conf:3: global postmaster nobody@corp.example reaches no mailbox ("},
    {"entry from a table file",
     sc_table_file,
     "admin@corp.example",
     {"main.conf", {"main.conf", 1}},
     1,
     0,
     "virtual:3: alias sales@corp.example: target nobody@corp.example reaches no mailbox ("},
    {"domain postmaster at its line",
     sc_setting_lines,
     "admin@corp.example",
     {"main.conf", {"main.conf", 1}},
     3,
     0,
     CONF ":7: domain example.org: postmaster gone@corp.example reaches no mailbox ("},
    {"catch-all at its table line",
     sc_setting_lines,
     "admin@corp.example",
     {"main.conf", {"main.conf", 1}},
     3,
     0,
     "virtual:4: domain example.org: catch_all target nobody@corp.example reaches no mailbox ("},
    {"alias_domain loop at its line",
     sc_setting_lines,
     "admin@corp.example",
     {"main.conf", {"main.conf", 1}},
     3,
     0,
     CONF ":11: alias_domain loop: a.example -> b.example -> a.example"},
    {"bare postmaster with nowhere to go",
     sc_postmaster_mailbox,
     NULL,
     {"main.conf", {NULL, 0}},
     0,
     1,
     "main.conf:1: warning: no global postmaster: RCPT TO:<postmaster> (without a domain) will be "
     "passed to the MTA; set postmaster = \"mailbox\" among the global settings of main.conf"},
    {"bare postmaster, nothing hosted", sc_nothing, NULL, {"main.conf", {NULL, 0}}, 0, 0, NULL},
    {"bare postmaster, no settings file",
     sc_postmaster_mailbox,
     NULL,
     {NULL, {NULL, 0}},
     0,
     0,
     NULL},
    {"bare postmaster to the global one",
     sc_clean,
     "admin@corp.example",
     {"main.conf", {"main.conf", 2}},
     0,
     0,
     NULL},
};

START_TEST(test_places)
{
    struct table_settings s = {.postmaster = places[_i].global_postmaster, .delimiters = "+"};
    struct fx f;
    struct diag *d = diag_new();
    bool found = places[_i].expect == NULL;

    f.b = table_builder_new(&s);
    ck_assert_ptr_nonnull(f.b);
    f.file = table_builder_intern_file(f.b, CONF);
    places[_i].build(&f);
    struct table *t = table_builder_finish(f.b);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(validate_table_at(t, f.b, &places[_i].where, d), places[_i].errors);
    for (size_t i = 0; i < diag_size(d) && !found; i++)
        found = strncmp(diag_text(d, i), places[_i].expect, strlen(places[_i].expect)) == 0;
    if (!found || diag_count(d, DIAG_WARNING) != places[_i].warnings) {
        fprintf(stderr, "places %s:\n", places[_i].name);
        dump(d);
    }
    ck_assert_msg(found, "%s: no diagnostic starts with %s", places[_i].name, places[_i].expect);
    ck_assert_uint_eq(diag_count(d, DIAG_WARNING), places[_i].warnings);
    table_unref(t);
    table_builder_free(f.b);
    diag_free(d);
}
END_TEST

/* A long loop is shown shortened, and still reported once. */
START_TEST(test_long_loop)
{
    struct table_settings s = {.postmaster = "admin@corp.example", .delimiters = ""};
    struct fx f;
    struct diag *d = diag_new();
    char a[64], b[64];

    f.b = table_builder_new(&s);
    f.file = table_builder_intern_file(f.b, CONF);
    corp(&f);
    for (int i = 0; i < 100; i++) {
        snprintf(a, sizeof(a), "l%03d@corp.example", i);
        snprintf(b, sizeof(b), "l%03d@corp.example", (i + 1) % 100);
        alias(&f, a, 10 + (unsigned)i, b, NULL, NULL);
    }
    struct table *t = table_builder_finish(f.b);
    ck_assert_int_eq(validate_table(t, f.b, d), 1);
    ck_assert_str_eq(diag_text(d, 0),
                     CONF ":10: alias loop: l000@corp.example -> l001@corp.example -> "
                          "l002@corp.example -> l003@corp.example -> l004@corp.example -> "
                          "l005@corp.example -> l006@corp.example -> l007@corp.example -> "
                          "l008@corp.example -> l009@corp.example -> ... (89 more) -> "
                          "l099@corp.example -> l000@corp.example");
    table_unref(t);
    table_builder_free(f.b);
    diag_free(d);
}
END_TEST

/* Without a builder there are no locations, but the checks still run. */
START_TEST(test_no_builder)
{
    struct table_settings s = {.delimiters = ""};
    struct fx f;
    struct diag *d = diag_new();

    f.b = table_builder_new(&s);
    f.file = NULL;
    domain(&f, "corp.example", 0);
    struct table *t = table_builder_finish(f.b);
    ck_assert_int_eq(validate_table(t, NULL, d), 1);
    ck_assert_ptr_nonnull(strstr(diag_text(d, 0), "domain corp.example: postmaster@"));
    table_unref(t);
    table_builder_free(f.b);
    diag_free(d);
}
END_TEST

/* An empty table is valid. */
START_TEST(test_empty)
{
    struct table_settings s = {.delimiters = ""};
    struct table_builder *b = table_builder_new(&s);
    struct diag *d = diag_new();
    struct table *t = table_builder_finish(b);

    ck_assert_int_eq(validate_table(t, b, d), 0);
    ck_assert_uint_eq(diag_size(d), 0);
    table_unref(t);
    table_builder_free(b);
    diag_free(d);
}
END_TEST

/* Many entries: linear, no recursion depth problem on a long chain. */
START_TEST(test_large)
{
    struct table_settings s = {.postmaster = "admin@corp.example", .delimiters = "+"};
    struct fx f;
    struct diag *d = diag_new();
    char a[64], b[64];
    const unsigned n = 200000;

    f.b = table_builder_new(&s);
    f.file = table_builder_intern_file(f.b, CONF);
    corp(&f);
    domain(&f, "example.org", 5);
    for (unsigned i = 0; i < n; i++) {
        snprintf(a, sizeof(a), "m%u@corp.example", i);
        mailbox(&f, a, 10 + i);
        snprintf(b, sizeof(b), "s%u@example.org", i);
        secondary(&f, b, a, 10 + i);
    }
    /* a loop through 50000 aliases: a DFS this deep must not recurse */
    for (unsigned i = 0; i < 50000; i++) {
        snprintf(a, sizeof(a), "c%u@corp.example", i);
        snprintf(b, sizeof(b), "c%u@corp.example", (i + 1) % 50000);
        alias(&f, a, 1000000 + i, b, NULL, NULL);
    }
    struct table *t = table_builder_finish(f.b);
    clock_t c0 = clock();
    ck_assert_int_eq(validate_table(t, f.b, d), 1);
    double secs = (double)(clock() - c0) / CLOCKS_PER_SEC;
    ck_assert_ptr_nonnull(strstr(diag_text(d, 0), "alias loop: c0@corp.example -> c1@"));
    ck_assert_ptr_nonnull(strstr(diag_text(d, 0), "(49989 more) -> c49999@corp.example -> "
                                                  "c0@corp.example"));
    fprintf(stderr, "validate: %u mailboxes + %u secondaries + 50000-alias loop: %.3f s\n", n, n,
            secs);
    table_unref(t);
    table_builder_free(f.b);
    diag_free(d);
}
END_TEST

static Suite *validate_suite(void)
{
    Suite *s = suite_create("validate");
    TCase *tc;

    tc = tcase_create("scenarios");
    tcase_add_loop_test(tc, test_scenario, 0, sizeof(scenarios) / sizeof(scenarios[0]));
    suite_add_tcase(s, tc);

    tc = tcase_create("places");
    tcase_add_loop_test(tc, test_places, 0, sizeof(places) / sizeof(places[0]));
    suite_add_tcase(s, tc);

    tc = tcase_create("loop_text");
    tcase_add_test(tc, test_long_loop);
    suite_add_tcase(s, tc);

    tc = tcase_create("edges");
    tcase_add_test(tc, test_no_builder);
    tcase_add_test(tc, test_empty);
    suite_add_tcase(s, tc);

    tc = tcase_create("large");
    tcase_add_test(tc, test_large);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(validate_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
