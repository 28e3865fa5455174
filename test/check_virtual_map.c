/*
 * check_virtual_map.c - unit tests of the virtual(5) loader (virtual_map.c).
 *
 * Each case loads text through virtual_map_load_buffer (or a file under
 * test/data/virtual) into a fresh builder and checks the finished table and
 * the exact diagnostics.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "table.h"
#include "virtual_map.h"

#define NAME "t.virtual"

/* One load: the builder, its table and the diagnostics. */
struct load {
    struct table_builder *b;
    struct table *t;
    struct diag *d;
    int errors;
};

static void load_text(struct load *l, const char *text, size_t len)
{
    struct table_settings s = {.delimiters = "+"};

    l->b = table_builder_new(&s);
    l->d = diag_new();
    ck_assert_ptr_nonnull(l->b);
    ck_assert_ptr_nonnull(l->d);
    l->errors = virtual_map_load_buffer(l->b, NAME, text, len, l->d);
    l->t = table_builder_finish(l->b);
    ck_assert_ptr_nonnull(l->t);
    ck_assert_int_eq((size_t)l->errors, diag_count(l->d, DIAG_ERROR));
}

static void load_file(struct load *l, const char *path)
{
    struct table_settings s = {.delimiters = ""};

    l->b = table_builder_new(&s);
    l->d = diag_new();
    ck_assert_ptr_nonnull(l->b);
    ck_assert_ptr_nonnull(l->d);
    l->errors = virtual_map_load(l->b, path, l->d);
    l->t = table_builder_finish(l->b);
    ck_assert_ptr_nonnull(l->t);
    ck_assert_int_eq((size_t)l->errors, diag_count(l->d, DIAG_ERROR));
}

static void load_done(struct load *l)
{
    table_unref(l->t);
    table_builder_free(l->b);
    diag_free(l->d);
}

/* Whether some diagnostic contains needle. */
static bool has_diag(const struct diag *d, const char *needle)
{
    for (size_t i = 0; i < diag_size(d); i++)
        if (strstr(diag_text(d, i), needle) != NULL)
            return true;
    return false;
}

static void dump(const struct diag *d)
{
    for (size_t i = 0; i < diag_size(d); i++)
        fprintf(stderr, "  diag: %s\n", diag_text(d, i));
}

static const struct table_entry *entry(const struct table *t, const char *key)
{
    const struct table_entry *e = NULL;

    return table_lookup(t, key, strlen(key), &e) == 1 ? e : NULL;
}

static const struct table_domain *domain(const struct table *t, const char *name)
{
    const struct table_domain *d = NULL;

    return table_domain_lookup(t, name, strlen(name), &d) == 1 ? d : NULL;
}

/* "a,b,c" of an entry's targets into buf. */
static const char *join(const char *const *v, unsigned n, char *buf, size_t size)
{
    size_t o = 0;

    buf[0] = '\0';
    for (unsigned i = 0; i < n; i++)
        o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? "," : "", v[i]);
    return buf;
}

/* ---- accepted forms: text -> (key, targets) ---------------------------- */

static const struct {
    const char *text;
    const char *key;     /* folded entry key */
    const char *targets; /* joined canonical targets */
    unsigned line;       /* where the entry is located */
} alias_rows[] = {
    {"user@example.com target@corp.example\n", "user@example.com", "target@corp.example", 1},
    {"User@Example.COM Target@Corp.Example\n", "user@example.com", "Target@corp.example", 1},
    {"a@example.com b@x.example, c@y.example\n", "a@example.com", "b@x.example,c@y.example", 1},
    {"a@example.com b@x.example,c@y.example\n", "a@example.com", "b@x.example,c@y.example", 1},
    {"a@example.com b@x.example c@y.example\n", "a@example.com", "b@x.example,c@y.example", 1},
    {"a@example.com\t,b@x.example ,, c@y.example ,\n", "a@example.com", "b@x.example,c@y.example",
     1},
    {"a@example.com <b@x.example>\n", "a@example.com", "b@x.example", 1},
    {"a@example.com b@X.Example.\n", "a@example.com", "b@x.example", 1},
    {"\"john doe\"@example.com b@x.example\n", "\"john doe\"@example.com", "b@x.example", 1},
    {"\"john.doe\"@example.com b@x.example\n", "john.doe@example.com", "b@x.example", 1},
    {"a@example.com \"Jane Roe\"@x.example\n", "a@example.com", "\"Jane Roe\"@x.example", 1},
    {"user+tag@example.com b@x.example\n", "user+tag@example.com", "b@x.example", 1},
    {"a@example.com a@example.com, copy@x.example\n", "a@example.com",
     "a@example.com,copy@x.example", 1},
    {"a@[192.0.2.1] b@x.example\n", "a@[192.0.2.1]", "b@x.example", 1},
    /* no final newline */
    {"a@example.com b@x.example", "a@example.com", "b@x.example", 1},
    /* continuation lines, with comments and blank lines in between */
    {"a@example.com b@x.example,\n  c@y.example\n", "a@example.com", "b@x.example,c@y.example", 1},
    {"a@example.com\n\tb@x.example\n", "a@example.com", "b@x.example", 1},
    {"a@example.com b@x.example\n# note\n\n  c@y.example\n", "a@example.com",
     "b@x.example,c@y.example", 1},
    {"a@example.com b@x.example\n   # indented note\n  c@y.example\n", "a@example.com",
     "b@x.example,c@y.example", 1},
    /* leading comments and blank lines shift the line number */
    {"# head\n\n   \n#x\na@example.com b@x.example\n", "a@example.com", "b@x.example", 5},
    /* CR is white space, as in Postfix */
    {"a@example.com b@x.example\r\n", "a@example.com", "b@x.example", 1},
    {"a@example.com\tb@x.example,\r\n c@y.example\r\n\r\n", "a@example.com",
     "b@x.example,c@y.example", 1},
    {"\r\n#c\r\na@example.com  b@x.example \t \r\n", "a@example.com", "b@x.example", 3},
};

START_TEST(test_alias_forms)
{
    struct load l;
    char buf[512];
    const char *text = alias_rows[_i].text;

    load_text(&l, text, strlen(text));
    if (l.errors != 0)
        dump(l.d);
    ck_assert_int_eq(l.errors, 0);
    ck_assert_uint_eq(diag_size(l.d), 0);
    ck_assert_uint_eq(table_entry_count(l.t), 1);
    const struct table_entry *e = entry(l.t, alias_rows[_i].key);
    ck_assert_msg(e != NULL, "no entry %s", alias_rows[_i].key);
    ck_assert_int_eq(e->kind, TABLE_ALIAS);
    ck_assert_str_eq(join(e->targets, e->ntargets, buf, sizeof(buf)), alias_rows[_i].targets);
    struct table_loc loc = table_builder_entry_loc(l.b, 0);
    ck_assert_str_eq(loc.file, NAME);
    ck_assert_uint_eq(loc.line, alias_rows[_i].line);
    /* a user@domain line declares no domain */
    ck_assert_uint_eq(table_domain_count(l.t), 0);
    load_done(&l);
}
END_TEST

/* ---- domain forms ---------------------------------------------------- */

static const struct {
    const char *text;
    const char *domain;
    const char *catch_all;    /* joined, or NULL */
    const char *alias_domain; /* or NULL */
} domain_rows[] = {
    {"@example.org info@corp.example\n", "example.org", "info@corp.example", NULL},
    {"@Example.ORG. info@corp.example, Other@corp.example\n", "example.org",
     "info@corp.example,Other@corp.example", NULL},
    {"@alias.example @Hosted.Example\n", "alias.example", NULL, "hosted.example"},
    {"@alias.example    @hosted.example.  \n", "alias.example", NULL, "hosted.example"},
    {"@alias.example , @hosted.example ,\n", "alias.example", NULL, "hosted.example"},
    {"example.net anything\n", "example.net", NULL, NULL},
    {"Example.NET. OK\n", "example.net", NULL, NULL},
    {"example.net whatever you like, even@garbage <<\n", "example.net", NULL, NULL},
    {"[192.0.2.1] x\n", "[192.0.2.1]", NULL, NULL},
};

START_TEST(test_domain_forms)
{
    struct load l;
    char buf[512];
    const char *text = domain_rows[_i].text;

    load_text(&l, text, strlen(text));
    if (l.errors != 0)
        dump(l.d);
    ck_assert_int_eq(l.errors, 0);
    ck_assert_uint_eq(table_entry_count(l.t), 0);
    ck_assert_uint_eq(table_domain_count(l.t), 1);
    const struct table_domain *d = domain(l.t, domain_rows[_i].domain);
    ck_assert_msg(d != NULL, "domain %s not declared", domain_rows[_i].domain);
    if (domain_rows[_i].catch_all != NULL)
        ck_assert_str_eq(join(d->catch_all, d->ncatch_all, buf, sizeof(buf)),
                         domain_rows[_i].catch_all);
    else
        ck_assert_uint_eq(d->ncatch_all, 0);
    if (domain_rows[_i].alias_domain != NULL)
        ck_assert_str_eq(d->alias_domain, domain_rows[_i].alias_domain);
    else
        ck_assert_ptr_null(d->alias_domain);
    struct table_loc loc = table_builder_domain_loc(l.b, 0);
    ck_assert_str_eq(loc.file, NAME);
    ck_assert_uint_eq(loc.line, 1);
    load_done(&l);
}
END_TEST

/* ---- errors: text -> the one exact diagnostic -------------------------- */

static const struct {
    const char *text;
    const char *message; /* the whole text of the only diagnostic */
    size_t entries;      /* entries that other lines of the text add */
} error_rows[] = {
    {"bareuser target@corp.example\n",
     NAME ":1: invalid key \"bareuser\": a key without a domain applies only to Postfix local "
          "domains, which hosted-milter does not support; write user@domain",
     0},
    {"postmaster: admin@corp.example\n",
     NAME ":1: invalid key \"postmaster:\": \"key: value\" is aliases(5) format, not virtual(5)",
     0},
    {"\"john@doe\" x@corp.example\n",
     NAME ":1: invalid key \"\"john@doe\"\": a key without a domain applies only to Postfix "
          "local domains, which hosted-milter does not support; write user@domain",
     0},
    {"a@example.com\n", NAME ":1: a@example.com has no value (expected: key whitespace value)", 0},
    {"a@example.com   \r\n", NAME ":1: a@example.com has no value (expected: key whitespace value)",
     0},
    {"@example.com ,,\n", NAME ":1: @example.com has no value (expected: key whitespace value)", 0},
    {"example.net\n", NAME ":1: example.net has no value (expected: key whitespace value)", 0},
    {"a@b@example.com x@corp.example\n",
     NAME ":1: invalid key \"a@b@example.com\": malformed local part", 0},
    {"a..b@example.com x@corp.example\n",
     NAME ":1: invalid key \"a..b@example.com\": malformed local part", 0},
    {"a@exa_mple..com x@corp.example\n",
     NAME ":1: invalid key \"a@exa_mple..com\": malformed domain", 0},
    {"<a@example.com> x@corp.example\n",
     NAME ":1: invalid key \"<a@example.com>\": a virtual(5) key is written without angle "
          "brackets",
     0},
    {"a@exa\x01mple.com x@corp.example\n",
     NAME ":1: invalid key \"a@exa\\x01mple.com\": control character in address", 0},
    {"a@ex\xc3mple.com x@corp.example\n",
     NAME ":1: invalid key \"a@ex\\xc3mple.com\": invalid UTF-8 in address", 0},
    {"a@ex\xef\xbf\xbdmple.com x@corp.example\n",
     NAME ":1: invalid key \"a@ex\\xef\\xbf\\xbdmple.com\": domain is not a valid "
          "internationalized domain name",
     0},
    {"@ x@corp.example\n", NAME ":1: invalid key \"@\": malformed domain", 0},
    {"@bad..domain x@corp.example\n", NAME ":1: invalid key \"@bad..domain\": malformed domain", 0},
    {"@a@b.example x@corp.example\n", NAME ":1: invalid key \"@a@b.example\": malformed domain", 0},
    {"bad..domain x\n", NAME ":1: invalid key \"bad..domain\": malformed domain", 0},
    {"a@example.com justuser\n",
     NAME ":1: target \"justuser\" for a@example.com has no domain (Postfix would append "
          "$myorigin, which hosted-milter does not know); write user@domain",
     0},
    {"a@example.com x@corp.example # mail for a\n",
     NAME ":1: a@example.com: \"# mail for a\" is not a comment: '#' starts a comment only at "
          "the start of a line",
     0},
    {"a@example.com x@corp.example,#old@corp.example\n",
     NAME ":1: a@example.com: \"#old@corp.example\" is not a comment: '#' starts a comment "
          "only at the start of a line",
     0},
    {"a@example.com b..c@corp.example\n",
     NAME ":1: invalid target \"b..c@corp.example\" for a@example.com: malformed local part", 0},
    {"a@example.com <b@corp.example\n",
     NAME ":1: invalid target \"<b@corp.example\" for a@example.com: unbalanced or misplaced "
          "angle brackets",
     0},
    {"a@example.com @other.example\n",
     NAME ":1: target \"@other.example\" for a@example.com: an @domain target needs an @domain "
          "key",
     0},
    {"@example.com @other.example, x@corp.example\n",
     NAME ":1: @example.com mixes an @domain target with addresses; use either one @domain "
          "(alias domain) or addresses (catch-all)",
     0},
    {"@example.com x@corp.example @other.example\n",
     NAME ":1: @example.com mixes an @domain target with addresses; use either one @domain "
          "(alias domain) or addresses (catch-all)",
     0},
    {"@example.com @a.example @b.example\n",
     NAME ":1: @example.com has more than one @domain target", 0},
    {"@example.com @bad..example\n",
     NAME ":1: invalid target \"@bad..example\" for @example.com: malformed domain", 0},
    {"@example.com @\n", NAME ":1: invalid target \"@\" for @example.com: malformed domain", 0},
    /* an orphan continuation (and its own continuation) is skipped */
    {"  a@example.com x@corp.example\n  y@corp.example\n",
     NAME ":1: line starts with white space but continues nothing; skipped (a logical line "
          "must not start with white space)",
     0},
    {"# c\n\n\tb@example.com x@corp.example\n",
     NAME ":3: line starts with white space but continues nothing; skipped (a logical line "
          "must not start with white space)",
     0},
    /* the error line is where the logical line started */
    {"ok@example.com x@corp.example\n\nbad@example.com\n  y..z@corp.example\n",
     NAME ":3: invalid target \"y..z@corp.example\" for bad@example.com: malformed local part", 1},
    {"a@example.com x@corp.example\nb@example.com x@corp.example,\n  #c\n\n  bare\n",
     NAME ":2: target \"bare\" for b@example.com has no domain (Postfix would append "
          "$myorigin, which hosted-milter does not know); write user@domain",
     1},
};

START_TEST(test_errors)
{
    struct load l;
    const char *text = error_rows[_i].text;

    load_text(&l, text, strlen(text));
    if (l.errors != 1 || diag_size(l.d) != 1)
        dump(l.d);
    ck_assert_int_eq(l.errors, 1);
    ck_assert_uint_eq(diag_size(l.d), 1);
    ck_assert_str_eq(diag_text(l.d, 0), error_rows[_i].message);
    /* a bad line adds nothing */
    ck_assert_uint_eq(table_entry_count(l.t), error_rows[_i].entries);
    load_done(&l);
}
END_TEST

/* Every bad target of a line is reported, and the line is dropped. */
START_TEST(test_every_bad_target)
{
    struct load l;
    const char *text = "a@example.com one, x@corp.example, two..x@y.example, three\n"
                       "b@example.com ok@corp.example\n";

    load_text(&l, text, strlen(text));
    ck_assert_int_eq(l.errors, 3);
    ck_assert(has_diag(l.d, NAME ":1: target \"one\" for a@example.com has no domain"));
    ck_assert(has_diag(l.d, NAME ":1: invalid target \"two..x@y.example\""));
    ck_assert(has_diag(l.d, NAME ":1: target \"three\" for a@example.com has no domain"));
    ck_assert_ptr_null(entry(l.t, "a@example.com"));
    ck_assert_ptr_nonnull(entry(l.t, "b@example.com"));
    load_done(&l);
}
END_TEST

/* ---- duplicates --------------------------------------------------------- */

static const struct {
    const char *text;
    const char *message;
} dup_rows[] = {
    {"a@example.com x@corp.example\nA@Example.com y@corp.example\n",
     NAME ":2: duplicate entry for A@example.com (first at " NAME ":1)"},
    {"a@example.com x@corp.example\n# c\n\n\"a\"@example.com y@corp.example\n",
     NAME ":4: duplicate entry for a@example.com (first at " NAME ":1)"},
    {"@example.com x@corp.example\n@Example.COM y@corp.example\n",
     NAME ":2: duplicate entry for @example.com (first at " NAME ":1)"},
    {"@example.com @a.example\n@example.com @b.example\n",
     NAME ":2: duplicate entry for @example.com (first at " NAME ":1)"},
    /* the two @domain forms are one key to Postfix */
    {"@example.com @a.example\nz@y.example q@r.example\n@example.com x@corp.example\n",
     NAME ":3: duplicate entry for @example.com (first at " NAME ":1)"},
    {"@example.com x@corp.example\n@example.com @a.example\n",
     NAME ":2: duplicate entry for @example.com (first at " NAME ":1)"},
};

START_TEST(test_duplicates)
{
    struct load l;
    const char *text = dup_rows[_i].text;

    load_text(&l, text, strlen(text));
    if (l.errors != 1)
        dump(l.d);
    ck_assert_int_eq(l.errors, 1);
    ck_assert_str_eq(diag_text(l.d, 0), dup_rows[_i].message);
    load_done(&l);
}
END_TEST

/* Three lines for one @domain, two forms: each later line reported once. */
START_TEST(test_duplicates_three)
{
    struct load l;
    const char *text = "@d.example x@corp.example\n@d.example @a.example\n"
                       "@d.example @b.example\n@d.example y@corp.example\n";

    load_text(&l, text, strlen(text));
    if (l.errors != 3)
        dump(l.d);
    ck_assert_int_eq(l.errors, 3);
    ck_assert(has_diag(l.d, NAME ":2: duplicate entry for @d.example (first at " NAME ":1)"));
    ck_assert(has_diag(l.d, NAME ":3: duplicate entry for @d.example (first at " NAME ":2)"));
    ck_assert(has_diag(l.d, NAME ":4: duplicate entry for @d.example (first at " NAME ":1)"));
    load_done(&l);
}
END_TEST

/* A duplicate of an entry made elsewhere names that location. */
START_TEST(test_duplicate_of_config_entry)
{
    struct table_settings s = {.delimiters = ""};
    struct table_builder *b = table_builder_new(&s);
    struct diag *d = diag_new();
    const char *text = "x@example.com y@corp.example\n";
    const char *conf = table_builder_intern_file(b, "main.conf");
    struct table_loc loc = {conf, 7};

    ck_assert_int_eq(table_builder_add_entry(b, TABLE_MAILBOX, "x@example.com", NULL, 0, loc, NULL),
                     0);
    ck_assert_int_eq(virtual_map_load_buffer(b, NAME, text, strlen(text), d), 1);
    ck_assert_str_eq(diag_text(d, 0),
                     NAME ":1: duplicate entry for x@example.com (first at main.conf:7)");
    table_builder_free(b);
    diag_free(d);
}
END_TEST

/* Keep going: errors on several lines are all reported, good lines kept. */
START_TEST(test_keeps_going)
{
    struct load l;
    char path[1024];

    snprintf(path, sizeof(path), "%s/virtual/errors.virtual", TEST_DATA_DIR);
    load_file(&l, path);
    if (l.errors != 3)
        dump(l.d);
    ck_assert_int_eq(l.errors, 3);
    ck_assert_uint_eq(diag_size(l.d), 3);
    ck_assert_ptr_nonnull(strstr(diag_text(l.d, 0), "errors.virtual:3: invalid key \"bareuser\""));
    ck_assert_ptr_nonnull(
        strstr(diag_text(l.d, 1), "errors.virtual:4: target \"justuser\" for nodomain@"));
    ck_assert_ptr_nonnull(strstr(diag_text(l.d, 2),
                                 "errors.virtual:5: duplicate entry for good@example.com (first "
                                 "at "));
    ck_assert_ptr_nonnull(strstr(diag_text(l.d, 2), "errors.virtual:2)"));
    ck_assert_uint_eq(table_entry_count(l.t), 1);
    load_done(&l);
}
END_TEST

/* ---- files -------------------------------------------------------------- */

START_TEST(test_file_forms)
{
    struct load l;
    char path[1024], buf[512];
    const struct table_entry *e;
    const struct table_domain *d;

    snprintf(path, sizeof(path), "%s/virtual/forms.virtual", TEST_DATA_DIR);
    load_file(&l, path);
    if (l.errors != 0)
        dump(l.d);
    ck_assert_int_eq(l.errors, 0);
    ck_assert_uint_eq(diag_size(l.d), 0);
    ck_assert_uint_eq(table_domain_count(l.t), 3);
    ck_assert_ptr_nonnull(domain(l.t, "example.net"));
    ck_assert_ptr_nonnull(d = domain(l.t, "example.org"));
    ck_assert_str_eq(join(d->catch_all, d->ncatch_all, buf, sizeof(buf)), "info@corp.example");
    ck_assert_ptr_nonnull(d = domain(l.t, "alias.example"));
    ck_assert_str_eq(d->alias_domain, "example.net");
    ck_assert_uint_eq(table_entry_count(l.t), 4);
    ck_assert_ptr_nonnull(e = entry(l.t, "sales@example.org"));
    ck_assert_str_eq(join(e->targets, e->ntargets, buf, sizeof(buf)),
                     "bob@corp.example,Carol@corp.example");
    ck_assert_ptr_nonnull(e = entry(l.t, "multi@example.org"));
    ck_assert_str_eq(join(e->targets, e->ntargets, buf, sizeof(buf)),
                     "a@x.example,b@y.example,c@z.example,d@w.example,e@v.example");
    ck_assert_ptr_nonnull(e = entry(l.t, "\"john doe\"@example.org"));
    ck_assert_str_eq(join(e->targets, e->ntargets, buf, sizeof(buf)), "\"Jane Roe\"@corp.example");
    ck_assert_ptr_nonnull(e = entry(l.t, "last@example.org"));
    ck_assert_str_eq(join(e->targets, e->ntargets, buf, sizeof(buf)), "last@corp.example");
    /* locations: the first line of each logical line; the file name as given */
    for (size_t i = 0; i < table_entry_count(l.t); i++) {
        struct table_loc loc = table_builder_entry_loc(l.b, i);
        const char *key = table_entry_at(l.t, i)->key;
        unsigned want = strcmp(key, "sales@example.org") == 0   ? 5
                        : strcmp(key, "multi@example.org") == 0 ? 6
                        : strcmp(key, "last@example.org") == 0  ? 13
                                                                : 11;
        ck_assert_str_eq(loc.file, path);
        ck_assert_uint_eq(loc.line, want);
    }
    load_done(&l);
}
END_TEST

START_TEST(test_file_crlf)
{
    struct load l;
    char path[1024], buf[512];
    const struct table_entry *e;
    const struct table_domain *d;

    snprintf(path, sizeof(path), "%s/virtual/crlf.virtual", TEST_DATA_DIR);
    load_file(&l, path);
    if (l.errors != 0)
        dump(l.d);
    ck_assert_int_eq(l.errors, 0);
    ck_assert_ptr_nonnull(e = entry(l.t, "user@example.com"));
    ck_assert_str_eq(join(e->targets, e->ntargets, buf, sizeof(buf)), "mailbox@corp.example");
    ck_assert_uint_eq(table_builder_entry_loc(l.b, 0).line, 2);
    ck_assert_ptr_nonnull(d = domain(l.t, "example.com"));
    ck_assert_str_eq(join(d->catch_all, d->ncatch_all, buf, sizeof(buf)),
                     "catch@corp.example,other@corp.example");
    ck_assert_uint_eq(table_builder_domain_loc(l.b, 0).line, 4);
    load_done(&l);
}
END_TEST

START_TEST(test_file_missing)
{
    struct load l;
    char path[1024], want[1200];

    snprintf(path, sizeof(path), "%s/virtual/no-such-file.virtual", TEST_DATA_DIR);
    load_file(&l, path);
    ck_assert_int_eq(l.errors, 1);
    snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", path);
    ck_assert_str_eq(diag_text(l.d, 0), want);
    load_done(&l);
}
END_TEST

START_TEST(test_file_directory)
{
    struct load l;
    char path[1024], want[1200];

    snprintf(path, sizeof(path), "%s/virtual", TEST_DATA_DIR);
    load_file(&l, path);
    ck_assert_int_eq(l.errors, 1);
    snprintf(want, sizeof(want), "%s: cannot read: Is a directory", path);
    ck_assert_str_eq(diag_text(l.d, 0), want);
    load_done(&l);
}
END_TEST

START_TEST(test_empty_input)
{
    static const char *const texts[] = {"", "\n", "# only a comment\n", "\n\n  \n\t\r\n# x"};
    struct load l;

    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        load_text(&l, texts[i], strlen(texts[i]));
        ck_assert_int_eq(l.errors, 0);
        ck_assert_uint_eq(diag_size(l.d), 0);
        ck_assert_uint_eq(table_entry_count(l.t), 0);
        load_done(&l);
    }
}
END_TEST

/* ---- hostile input ------------------------------------------------------ */

START_TEST(test_nul_byte)
{
    struct load l;
    static const char text[] = "a@example.com x@corp.example\n"
                               "b@example.com x@co\0rp.example\n"
                               "c@example.com x@corp.example\n";

    load_text(&l, text, sizeof(text) - 1);
    ck_assert_int_eq(l.errors, 1);
    ck_assert_str_eq(diag_text(l.d, 0), NAME ":2: line contains a NUL byte; skipped");
    ck_assert_uint_eq(table_entry_count(l.t), 2);
    ck_assert_ptr_null(entry(l.t, "b@example.com"));
    load_done(&l);
}
END_TEST

START_TEST(test_long_line)
{
    struct load l;
    size_t n = 1024 * 1024 + 100, o = 0;
    char *text = malloc(n + 200);

    ck_assert_ptr_nonnull(text);
    o += (size_t)sprintf(text, "x@example.com y@corp.example\nbig@example.com ");
    while (o < n)
        o += (size_t)sprintf(text + o, "t@corp.example,\n ");
    o += (size_t)sprintf(text + o, "z@corp.example\nlast@example.com y@corp.example\n");
    load_text(&l, text, o);
    ck_assert_int_eq(l.errors, 1);
    ck_assert_str_eq(diag_text(l.d, 0), NAME ":2: logical line longer than 1048576 bytes; skipped");
    ck_assert_uint_eq(table_entry_count(l.t), 2);
    ck_assert_ptr_nonnull(entry(l.t, "last@example.com"));
    /* the line after it keeps its physical line number */
    unsigned lines = 0;
    for (const char *p = text; (p = memchr(p, '\n', (size_t)(text + o - p))) != NULL; p++)
        lines++;
    ck_assert_uint_eq(table_builder_entry_loc(l.b, 1).line, lines);
    load_done(&l);
    free(text);
}
END_TEST

/* Any bytes: no crash, no leak (run under ASan/valgrind), and the error
 * count always matches the diagnostics. */
/* A mailbox table (virtual_mailbox_maps form): keys are mailboxes, values
 * (mailbox paths) are not addresses and are not parsed. */
START_TEST(test_mailbox_table)
{
    static const char text[] = "# mailboxes\n"
                               "Bob@Corp.Example   corp.example/bob/\n"
                               "carol@corp.example corp.example/carol/Maildir/\n"
                               "hosted.example     anything\n"
                               "@corp.example      corp.example/catchall/\n"
                               "bob@corp.example   again/\n"
                               "nobody@corp.example\n";
    struct table_settings s = {.delimiters = "+"};
    struct load l;

    l.b = table_builder_new(&s);
    l.d = diag_new();
    ck_assert_ptr_nonnull(l.b);
    l.errors = virtual_map_load_mailboxes_buffer(l.b, NAME, text, sizeof(text) - 1, l.d);
    l.t = table_builder_finish(l.b);
    if (l.errors != 3)
        dump(l.d);
    ck_assert_int_eq(l.errors, 3);
    ck_assert(has_diag(l.d, NAME ":5: @corp.example: a mailbox table declares single mailboxes"));
    ck_assert(has_diag(l.d, NAME ":6: duplicate entry for bob@corp.example (first at " NAME ":2)"));
    ck_assert(has_diag(l.d, NAME ":7: "));
    const struct table_entry *e = entry(l.t, "bob@corp.example");
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(e->kind, TABLE_MAILBOX);
    ck_assert_uint_eq(e->ntargets, 0);
    ck_assert_ptr_nonnull(entry(l.t, "carol@corp.example"));
    ck_assert_uint_eq(table_count_kind(l.t, TABLE_MAILBOX), 2);
    const struct table_domain *d;
    ck_assert_int_eq(table_domain_lookup(l.t, "hosted.example", 14, &d), 1);
    ck_assert_int_eq(table_domain_lookup(l.t, "corp.example", 12, &d), 0);
    load_done(&l);
}
END_TEST

START_TEST(test_mailbox_table_file_missing)
{
    struct table_settings s = {.delimiters = ""};
    struct table_builder *b = table_builder_new(&s);
    struct diag *d = diag_new();

    ck_assert_int_eq(virtual_map_load_mailboxes(b, TEST_DATA_DIR "/virtual/no-such-file", d), 1);
    ck_assert(has_diag(d, "no-such-file: cannot open: No such file or directory"));
    table_builder_free(b);
    diag_free(d);
}
END_TEST

START_TEST(test_random_bytes)
{
    static const char alphabet[] = "ab@.@@ \t\n\n\r,#\"\\<>:x\x01\x80\0Z+-[]";
    unsigned long long state = 0x9e3779b97f4a7c15ull + (unsigned long long)_i;
    char text[512];
    struct load l;

    for (int round = 0; round < 200; round++) {
        size_t len = 0;
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        size_t want = (size_t)(state >> 33) % sizeof(text);
        for (; len < want; len++) {
            state = state * 6364136223846793005ull + 1442695040888963407ull;
            text[len] = alphabet[(state >> 33) % (sizeof(alphabet) - 1)];
        }
        load_text(&l, text, len);
        load_done(&l);
    }
}
END_TEST

/* ---- owned text: given back as parsed, same result ---------------------- */

/* A text of n alias lines (every tenth continued on a second line), one
 * @domain line first and a duplicate of the first key last, so the checks
 * that run after the last line (at-lines, duplicates) see the whole file. */
static char *big_text(size_t n, size_t *len)
{
    size_t cap = n * 64 + 256, off = 0;
    char *t = malloc(cap);

    ck_assert_ptr_nonnull(t);
    off += (size_t)snprintf(t + off, cap - off, "@c.example @corp.example\n");
    for (size_t i = 0; i < n; i++) {
        if (i % 10 == 0)
            off += (size_t)snprintf(t + off, cap - off,
                                    "u%zu@b.example x%zu@corp.example,\n  y%zu@corp.example\n", i,
                                    i, i);
        else
            off += (size_t)snprintf(t + off, cap - off, "u%zu@b.example x%zu@corp.example\n", i, i);
    }
    off += (size_t)snprintf(t + off, cap - off, "u0@b.example z@corp.example\n");
    *len = off;
    return t;
}

START_TEST(test_owned_text)
{
    size_t len, n = 60000; /* about 2.5 MiB: a few discard steps */
    char *text = big_text(n, &len), *copy = malloc(len);
    struct table_settings s = {.delimiters = "+"};
    struct load a, o = {0};
    char ja[256], jo[256];

    ck_assert_ptr_nonnull(copy);
    memcpy(copy, text, len);
    load_text(&a, text, len);
    o.b = table_builder_new(&s);
    o.d = diag_new();
    ck_assert_ptr_nonnull(o.b);
    ck_assert_ptr_nonnull(o.d);
    o.errors = virtual_map_load_owned(o.b, NAME, copy, len, false, o.d);
    o.t = table_builder_finish(o.b);
    ck_assert_ptr_nonnull(o.t);
    /* what was parsed has been given back: it reads as zero now */
    ck_assert_int_eq(copy[8192], 0);
    ck_assert_int_ne(text[8192], 0);
    free(copy);
    ck_assert_int_eq(o.errors, a.errors);
    ck_assert_uint_eq(diag_size(o.d), diag_size(a.d));
    ck_assert_uint_ge(diag_size(o.d), 1); /* the duplicate */
    for (size_t i = 0; i < diag_size(a.d); i++)
        ck_assert_str_eq(diag_text(o.d, i), diag_text(a.d, i));
    ck_assert_uint_eq(table_entry_count(o.t), n);
    ck_assert_uint_eq(table_entry_count(o.t), table_entry_count(a.t));
    for (size_t i = 0; i < n; i += 997) {
        char key[64];
        snprintf(key, sizeof key, "u%zu@b.example", i);
        const struct table_entry *ea = entry(a.t, key), *eo = entry(o.t, key);
        ck_assert_ptr_nonnull(eo);
        ck_assert_str_eq(join(eo->targets, eo->ntargets, jo, sizeof jo),
                         join(ea->targets, ea->ntargets, ja, sizeof ja));
    }
    ck_assert_ptr_nonnull(domain(o.t, "c.example"));
    free(text);
    load_done(&a);
    load_done(&o);
}
END_TEST

static Suite *virtual_map_suite(void)
{
    Suite *s = suite_create("virtual_map");
    TCase *tc;

    tc = tcase_create("alias_forms");
    tcase_add_loop_test(tc, test_alias_forms, 0, sizeof(alias_rows) / sizeof(alias_rows[0]));
    suite_add_tcase(s, tc);

    tc = tcase_create("domain_forms");
    tcase_add_loop_test(tc, test_domain_forms, 0, sizeof(domain_rows) / sizeof(domain_rows[0]));
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_add_loop_test(tc, test_errors, 0, sizeof(error_rows) / sizeof(error_rows[0]));
    tcase_add_test(tc, test_every_bad_target);
    tcase_add_test(tc, test_keeps_going);
    suite_add_tcase(s, tc);

    tc = tcase_create("duplicates");
    tcase_add_loop_test(tc, test_duplicates, 0, sizeof(dup_rows) / sizeof(dup_rows[0]));
    tcase_add_test(tc, test_duplicates_three);
    tcase_add_test(tc, test_duplicate_of_config_entry);
    suite_add_tcase(s, tc);

    tc = tcase_create("files");
    tcase_add_test(tc, test_file_forms);
    tcase_add_test(tc, test_file_crlf);
    tcase_add_test(tc, test_file_missing);
    tcase_add_test(tc, test_file_directory);
    tcase_add_test(tc, test_empty_input);
    tcase_add_test(tc, test_owned_text);
    suite_add_tcase(s, tc);

    tc = tcase_create("hostile_input");
    tcase_add_test(tc, test_nul_byte);
    tcase_add_test(tc, test_long_line);
    tcase_add_test(tc, test_mailbox_table);
    tcase_add_test(tc, test_mailbox_table_file_missing);
    tcase_add_loop_test(tc, test_random_bytes, 0, 20);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(virtual_map_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
