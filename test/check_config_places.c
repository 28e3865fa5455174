/*
 * check_config_places.c - unit tests of the configuration loader
 * (config.c), continued from check_config.c: where each diagnostic points
 * (file:line across includes and table files), the shipped and the
 * test/data/config files, validation surfacing through config_load, and
 * loading from a buffer.
 *
 * Most cases write a small configuration into a fresh temporary directory
 * and check, through config_load, the resulting settings and table or the
 * exact "file:line: message" diagnostics.  test/data/config holds a few
 * complete files (good and bad) and the shipped etc/hosted-milter.conf is
 * loaded too.  The "semantic" cases only show that validate.c's checks
 * surface through config_load; validate.c's own tests cover them in depth.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_cases.h"
#include "config_fixture.h"
#include "config.h"
#include "diag.h"
#include "table.h"

/* The files of a row, written into tmpdir; NULL: not written. */
struct place_files {
    const char *main, *inc, *virtual, *mailboxes;
};

static const struct {
    struct place_files f;
    bool loads;          /* a warning only */
    const char *message; /* the start of a diagnostic, after "tmpdir/"; {TMP} is tmpdir */
} places[] = {
    /* a global setting, after comments of each kind (libconfuse 3.3
     * counts a comment line more than once; the pre-lexer must not) */
    {{"# c\n// c\n/* c\n */\npostmaster = \"ghost@a.example\"\ndomain \"a.example\" { }\n", NULL,
      NULL, NULL},
     false,
     "main.conf:5: global postmaster ghost@a.example reaches no mailbox ("},
    /* a global setting in an included file */
    {{"domain \"a.example\" { }\n# c\ninclude(\"inc.conf\")\nmailbox \"pm@a.example\" { }\n",
      "# c\n\npostmaster = \"ghost@a.example\"\n", NULL, NULL},
     false,
     "inc.conf:3: global postmaster ghost@a.example reaches no mailbox ("},
    {{"include(\"inc.conf\")\n", "// c\ntimeout = 0\n", NULL, NULL},
     false,
     "inc.conf:2: timeout \"0\": expected a whole number from 1 to 86400"},
    {{"include(\"inc.conf\")\n", "\n/* c */\npostmaster = \"pm\"\n", NULL, NULL},
     false,
     "inc.conf:3: postmaster \"pm\": address needs a domain"},
    /* a domain setting in an included file, and the domain's own check */
    {{"postmaster = \"pm@b.example\"\ninclude(\"inc.conf\")\n",
      "domain \"a.example\" {\n  # c\n  catch_all = \"x\"\n}\n", NULL, NULL},
     false,
     "inc.conf:3: domain a.example: catch_all \"x\": address needs a domain"},
    {{"include(\"inc.conf\")\n", "\n# c\ndomain \"a.example\" { }\n", NULL, NULL},
     false,
     "inc.conf:3: domain a.example: postmaster@a.example reaches no mailbox ("},
    /* a domain's settings at their own lines, not the section's */
    {{"postmaster = \"pm@b.example\"\ninclude(\"inc.conf\")\n",
      "domain \"a.example\" {\n  # c\n  postmaster = \"nobody@a.example\"\n}\n", NULL, NULL},
     false,
     "inc.conf:3: domain a.example: postmaster nobody@a.example reaches no mailbox ("},
    {{"postmaster = \"pm@b.example\"\ndomain \"a.example\" {\n\n  alias_domain = \"b.example\"\n}\n"
      "domain \"b.example\" { alias_domain = \"a.example\" }\n",
      NULL, NULL, NULL},
     false,
     "main.conf:4: alias_domain loop: a.example -> b.example -> a.example"},
    /* a catch-all from a table file for a domain of the configuration */
    {{"postmaster = \"pm@b.example\"\ndomain \"a.example\" { }\ndomain \"b.example\" { }\n"
      "mailbox \"pm@b.example\" { }\ntable = { \"virtual\" }\n",
      NULL, "# c\n@a.example nobody@b.example\n", NULL},
     false,
     "virtual:2: domain a.example: catch_all target nobody@b.example reaches no mailbox ("},
    /* an entry in an included file, warning and error */
    {{"postmaster = \"pm@a.example\"\ndomain \"a.example\" { }\ninclude(\"inc.conf\")\n",
      "mailbox \"pm@a.example\" {\n  addresses = {\n    # c\n    \"pm@b.example\"\n  }\n}\n", NULL,
      NULL},
     true,
     "inc.conf:4: warning: secondary address pm@b.example is outside every hosted domain"},
    {{"postmaster = \"pm@b.example\"\ndomain \"a.example\" { }\ninclude(\"inc.conf\")\n",
      "\nalias \"s@a.example\" { to = { \"nobody@a.example\" } }\n", NULL, NULL},
     false,
     "inc.conf:2: alias s@a.example: target nobody@a.example reaches no mailbox ("},
    /* the including file's lines are right again after the include */
    {{"include(\"inc.conf\")\n\nbogus = 1\n", "# c\n# c\n# c\n", NULL, NULL},
     false,
     "main.conf:3: no such option 'bogus'"},
    /* table files that cannot be read: the line that names them */
    {{"postmaster = \"pm@b.example\"\n# c\ntable = { \"virtual\" }\n", NULL, NULL, NULL},
     false,
     "main.conf:3: table file {TMP}/virtual: No such file or directory"},
    {{"postmaster = \"pm@b.example\"\ntable = { \"virtual\" }\ntable += \"other\"\n", NULL,
      "a.example hosted\n", NULL},
     false,
     "main.conf:3: table file {TMP}/other: No such file or directory"},
    {{"include(\"inc.conf\")\n", "mailbox_table = {\n  // c\n  \"mailboxes\"\n}\n", NULL, NULL},
     false,
     "inc.conf:3: mailbox_table file {TMP}/mailboxes: No such file or directory"},
    {{"table = { \".\" }\n", NULL, NULL, NULL},
     false,
     "main.conf:1: table file {TMP}/.: Is a directory"},
    /* inside table files: their own file:line */
    {{"postmaster = \"pm@b.example\"\ntable = { \"virtual\" }\n", NULL,
      "a.example hosted\n# c\n\nx@a.example\n", NULL},
     false,
     "virtual:4: x@a.example has no value"},
    {{"postmaster = \"pm@b.example\"\ntable = { \"virtual\" }\n", NULL,
      "a.example hosted\n# c\nsales@a.example nobody@a.example\n", NULL},
     false,
     "virtual:3: alias sales@a.example: target nobody@a.example reaches no mailbox ("},
    {{"postmaster = \"pm@a.example\"\nmailbox_table = { \"mailboxes\" }\n", NULL, NULL,
      "a.example hosted\npm@a.example x\n\n  # c\nbob@b.example x\n"},
     true,
     "mailboxes:5: warning: mailbox bob@b.example is outside every hosted domain"},
    {{"mailbox_table = { \"mailboxes\" }\n", NULL, NULL, "# c\na.example hosted\n"},
     false,
     "mailboxes:2: domain a.example: postmaster@a.example reaches no mailbox ("},
    /* the end of the file is its last line, not the one after */
    {{"\n\ntimeout =\n", NULL, NULL, NULL}, false, "main.conf:3: premature end of file"},
    {{"roles = {\n  \"abuse\",\n", NULL, NULL, NULL}, false, "main.conf:1: '{' is never closed"},
    /* the same place twice: say why */
    {{"include(\"inc.conf\")\n# c\ninclude(\"inc.conf\")\n", "\nmailbox \"pm@a.example\" { }\n",
      NULL, NULL},
     false,
     "inc.conf:2: mailbox \"pm@a.example\" is already defined at {TMP}/inc.conf:2 (that file is "
     "included more than once)"},
    /* an included file is whole: it does not end inside a statement */
    {{"include(\"inc.conf\")\n\nsocket = \"unix:/x\"\n", "# c\n\ntimeout =\n", NULL, NULL},
     false,
     "inc.conf:3: value missing at the end of the file"},
    {{"include(\"inc.conf\")\n}\n", "domain \"a.example\" {\n  # c\n", NULL, NULL},
     false,
     "inc.conf:1: '{' is never closed"},
    /* what libconfuse fails on without a word */
    {{"\n\n${HOSTED_MILTER_TEST_UNSET}\n", NULL, NULL, NULL},
     false,
     "main.conf:3: cannot parse the configuration"},
    /* a value spanning lines: one diagnostic, one line, at its start */
    {{"\ndomain \"a\nb\" { }\n", NULL, NULL, NULL},
     false,
     "main.conf:2: domain \"a\\nb\": not a domain name"},
    /* no global postmaster: the bare <postmaster> goes to the MTA */
    {{"\n\ninclude(\"inc.conf\")\n",
      "domain \"a.example\" { postmaster = \"pm@a.example\" }\nmailbox \"pm@a.example\" { }\n",
      NULL, NULL},
     true,
     "main.conf:1: warning: no global postmaster: RCPT TO:<postmaster> (without a domain) will be "
     "passed to the MTA; set postmaster = \"mailbox\" among the global settings of "
     "{TMP}/main.conf"},
};

/* expand_tmp - s with the first "{TMP}" replaced by tmpdir, into out. */
static void expand_tmp(char *out, size_t size, const char *s)
{
    const char *tmp = strstr(s, "{TMP}");

    if (tmp != NULL)
        snprintf(out, size, "%.*s%s%s", (int)(tmp - s), s, tmpdir, tmp + 5);
    else
        snprintf(out, size, "%s", s);
}

/* has_prefix - whether some diagnostic starts with want. */
static bool has_prefix(const struct diag *d, const char *want)
{
    for (size_t i = 0; i < diag_size(d); i++)
        if (strncmp(diag_text(d, i), want, strlen(want)) == 0)
            return true;
    return false;
}

START_TEST(test_places)
{
    const struct place_files *f = &places[_i].f;
    struct load l;
    char rel[1024], want[1600];

    if (f->inc != NULL)
        write_file("inc.conf", f->inc);
    if (f->virtual != NULL)
        write_file("virtual", f->virtual);
    if (f->mailboxes != NULL)
        write_file("mailboxes", f->mailboxes);
    load_text(&l, f->main);
    expand_tmp(rel, sizeof(rel), places[_i].message);
    snprintf(want, sizeof(want), "%s/%s", tmpdir, rel);
    if (!has_prefix(l.d, want)) {
        fprintf(stderr, "missing: %s\n", want);
        dump(l.d);
    }
    ck_assert_msg(has_prefix(l.d, want), "missing diagnostic %s", want);
    ck_assert_int_eq(l.c != NULL, places[_i].loads);
    /* and every diagnostic of the load has its file and line */
    for (size_t i = 0; i < diag_size(l.d); i++) {
        const char *text = diag_text(l.d, i), *colon;
        ck_assert_msg(strncmp(text, tmpdir, strlen(tmpdir)) == 0, "no file: %s", text);
        colon = strchr(text + strlen(tmpdir), ':');
        ck_assert_msg(colon != NULL && colon[1] >= '1' && colon[1] <= '9', "no line: %s", text);
    }
    load_done(&l);
}
END_TEST

/* No warning about the bare <postmaster> when it has somewhere to go, or
 * when nothing is hosted. */
START_TEST(test_bare_postmaster_quiet)
{
    struct load l;

    load_text(&l, "postmaster = \"pm@elsewhere.example\"\ndomain \"a.example\" { }\n");
    ck_assert_ptr_nonnull(l.c);
    ck_assert_uint_eq(diag_size(l.d), 0);
    load_done(&l);
    load_text(&l, "timeout = 5\n");
    ck_assert_ptr_nonnull(l.c);
    ck_assert_uint_eq(diag_size(l.d), 0);
    load_done(&l);
}
END_TEST

/* The daemon settings keep their place, for the daemon's own messages. */
START_TEST(test_setting_places)
{
    struct load l;
    char want[600];

    write_file("inc.conf", "# c\n\nuser = \"nobody\"\ntimeout = 9\ntimeout = 10\n");
    load_text(&l, "socket = \"unix:/x\"\n// c\ninclude(\"inc.conf\")\nsocket_mode = \"0600\"\n"
                  "metrics = \"127.0.0.1:9487\"\n");
    if (l.c == NULL)
        dump(l.d);
    ck_assert_ptr_nonnull(l.c);
    snprintf(want, sizeof(want), "%s/main.conf:1", tmpdir);
    ck_assert_str_eq(l.c->where.socket, want);
    snprintf(want, sizeof(want), "%s/main.conf:4", tmpdir);
    ck_assert_str_eq(l.c->where.socket_mode, want);
    snprintf(want, sizeof(want), "%s/main.conf:5", tmpdir);
    ck_assert_str_eq(l.c->where.metrics, want);
    snprintf(want, sizeof(want), "%s/inc.conf:3", tmpdir);
    ck_assert_str_eq(l.c->where.user, want);
    /* the assignment that counts is the last */
    snprintf(want, sizeof(want), "%s/inc.conf:5", tmpdir);
    ck_assert_str_eq(l.c->where.timeout, want);
    ck_assert_uint_eq(l.c->timeout, 10);
    /* not set: the default, no place */
    ck_assert_ptr_null(l.c->where.group);
    ck_assert_ptr_null(l.c->where.pidfile);
    ck_assert_ptr_null(l.c->where.socket_group);
    load_done(&l);
}
END_TEST

/* ------------------------------------------------------------------ */
/* complete files */

START_TEST(test_shipped_config)
{
    struct load l;

    load_path(&l, SOURCE_DIR "/etc/hosted-milter.conf");
    if (diag_size(l.d) > 0)
        dump(l.d);
    ck_assert_ptr_nonnull(l.c);
    ck_assert_uint_eq(diag_size(l.d), 0);
    ck_assert_str_eq(l.c->socket, "unix:/var/spool/postfix/hosted-milter/hosted-milter.sock");
    ck_assert_uint_ge(table_domain_count(l.c->table), 3);
    ck_assert_ptr_nonnull(lookup_domain(l.c, "example.net"));
    load_done(&l);
}
END_TEST

static const struct {
    const char *file;    /* under test/data/config */
    const char *message; /* NULL: loads without any diagnostic */
    bool loads;          /* with message: loads all the same (a warning) */
} data_files[] = {
    {"good.conf", NULL, false},
    {"bad-secondary-twice.conf",
     "bad-secondary-twice.conf:13: secondary address "
     "bob@example.org of mailbox carol@corp.example is already "
     "claimed by mailbox bob@corp.example at " TEST_DATA_DIR "/config/bad-secondary-twice.conf:9",
     false},
    {"bad-include.conf",
     "bad-include.d/broken.conf:4: domain corp.example: catch_all "
     "\"info@@corp.example\": malformed local part",
     false},
    {"bad-global-postmaster.conf",
     "bad-global-postmaster.d/settings.conf:4: global postmaster "
     "ghost@corp.example reaches no mailbox (reject: User unknown)",
     false},
    {"bad-table-file.conf",
     "bad-table-file.conf:9: table file " TEST_DATA_DIR
     "/config/bad-table-file.d/missing: No such file or directory",
     false},
    {"warn-bare-postmaster.conf",
     "warn-bare-postmaster.conf:1: warning: no global postmaster: RCPT TO:<postmaster> (without "
     "a domain) will be passed to the MTA; set postmaster = \"mailbox\" among the global "
     "settings of " TEST_DATA_DIR "/config/warn-bare-postmaster.conf",
     true},
};

START_TEST(test_data_files)
{
    struct load l;

    char path[1024];

    snprintf(path, sizeof(path), "%s/config/%s", TEST_DATA_DIR, data_files[_i].file);
    load_path(&l, path);
    if (data_files[_i].message == NULL) {
        if (diag_size(l.d) > 0)
            dump(l.d);
        ck_assert_ptr_nonnull(l.c);
        ck_assert_uint_eq(diag_size(l.d), 0);
    } else {
        bool ok = has_message(l.d, "%s/config/%s", TEST_DATA_DIR, data_files[_i].message);
        if (!ok)
            dump(l.d);
        ck_assert_int_eq(l.c != NULL, data_files[_i].loads);
        ck_assert(ok);
    }
    load_done(&l);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Semantic checks belong to validate.c; these only show that they reach
 * the caller of config_load (they need validate.c and policy.c). */

START_TEST(test_semantic_postmaster)
{
    struct load l;

    load_text(&l, "domain \"a.example\" { }\n");
    ck_assert_ptr_null(l.c);
    ck_assert_uint_ge(diag_count(l.d, DIAG_ERROR), 1);
    ck_assert_ptr_nonnull(strstr(diag_text(l.d, 0), "main.conf:1: "));
    ck_assert_ptr_nonnull(strstr(diag_text(l.d, 0), "postmaster"));
    load_done(&l);
}
END_TEST

START_TEST(test_semantic_alias_loop)
{
    struct load l;

    load_text(&l, "postmaster = \"pm@elsewhere.example\"\n"
                  "domain \"a.example\" { }\n"
                  "alias \"x@a.example\" { to = { \"y@a.example\" } }\n"
                  "alias \"y@a.example\" { to = { \"x@a.example\" } }\n");
    ck_assert_ptr_null(l.c);
    ck_assert_uint_ge(diag_count(l.d, DIAG_ERROR), 1);
    ck_assert_ptr_nonnull(strstr(diag_text(l.d, 0), "loop"));
    load_done(&l);
}
END_TEST

START_TEST(test_semantic_alias_domain_loop)
{
    struct load l;

    load_text(&l, "postmaster = \"pm@elsewhere.example\"\n"
                  "domain \"b.example\" { alias_domain = \"c.example\" }\n"
                  "domain \"c.example\" { alias_domain = \"b.example\" }\n");
    ck_assert_ptr_null(l.c);
    ck_assert_uint_ge(diag_count(l.d, DIAG_ERROR), 1);
    ck_assert_ptr_nonnull(strstr(diag_text(l.d, 0), "loop"));
    load_done(&l);
}
END_TEST

/* ------------------------------------------------------------------ */
/* config_load_buffer */

static void load_buffer(struct load *l, const char *name, const char *buf, size_t len)
{
    l->d = diag_new();
    ck_assert_ptr_nonnull(l->d);
    l->c = config_load_buffer(name, buf, len, l->d);
    ck_assert_int_eq(l->c == NULL, diag_count(l->d, DIAG_ERROR) > 0);
}

START_TEST(test_buffer_loads)
{
    /* the bytes after len are not part of the text */
    static const char text[] = "postmaster = \"pm@a.example\"\n"
                               "domain \"a.example\" { }\n"
                               "mailbox \"pm@a.example\" { }\n"
                               "}}} not read";
    struct load l;

    load_buffer(&l, "mem.conf", text, sizeof(text) - 1 - strlen("}}} not read"));
    if (l.c == NULL)
        dump(l.d);
    ck_assert_ptr_nonnull(l.c);
    ck_assert_str_eq(l.c->path, "mem.conf");
    ck_assert_ptr_nonnull(lookup(l.c, "pm@a.example"));
    load_done(&l);

    /* NULL and empty text are the empty configuration */
    load_buffer(&l, "empty.conf", NULL, 0);
    ck_assert_ptr_nonnull(l.c);
    ck_assert_uint_eq(table_domain_count(l.c->table), 0);
    load_done(&l);
}
END_TEST

START_TEST(test_buffer_relative_names)
{
    struct load l;
    char name[512];
    static const char text[] = "postmaster = \"pm@a.example\"\n"
                               "include(\"inc.conf\")\n"
                               "table = { \"virtual\" }\n";

    /* include() and table resolve against the directory of the name */
    write_file("inc.conf", "domain \"a.example\" { }\nmailbox \"pm@a.example\" { }\n");
    write_file("virtual", "v@a.example pm@a.example\n");
    snprintf(name, sizeof(name), "%s/not-a-file.conf", tmpdir);
    load_buffer(&l, name, text, sizeof(text) - 1);
    if (l.c == NULL)
        dump(l.d);
    ck_assert_ptr_nonnull(l.c);
    ck_assert_ptr_nonnull(lookup(l.c, "v@a.example"));
    load_done(&l);
}
END_TEST

START_TEST(test_buffer_errors)
{
    static const char nul[] = "domain \"a.example\" { }\n\0\n";
    struct load l;

    /* diagnostics name the buffer's name and line */
    load_buffer(&l, "mem.conf", "timeout = 0\nbogus = 1\n", strlen("timeout = 0\nbogus = 1\n"));
    ck_assert_ptr_null(l.c);
    ck_assert_uint_ge(diag_size(l.d), 1);
    ck_assert_msg(strncmp(diag_text(l.d, 0), "mem.conf:", 9) == 0, "got %s", diag_text(l.d, 0));
    load_done(&l);

    /* a NUL byte is an error, not the end of the text */
    load_buffer(&l, "nul.conf", nul, sizeof(nul) - 1);
    ck_assert_ptr_null(l.c);
    ck_assert(has_message(l.d, "nul.conf:2: NUL byte in configuration file"));
    load_done(&l);

    /* an unclosed section */
    load_buffer(&l, "open.conf", "domain \"a.example\" {\n", strlen("domain \"a.example\" {\n"));
    ck_assert_ptr_null(l.c);
    ck_assert_uint_ge(diag_count(l.d, DIAG_ERROR), 1);
    load_done(&l);
}
END_TEST

/* Found by fuzz_config: an unquoted include name running to the end of
 * the text read one byte past it (looking for a comment after a '/'). */
START_TEST(test_buffer_include_at_end)
{
    static const char *const texts[] = {"include(/", "include(a/", "include( x/"};
    struct load l;

    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        size_t len = strlen(texts[i]);
        char *exact = malloc(len); /* no NUL after it: a read past len is caught */

        ck_assert_ptr_nonnull(exact);
        memcpy(exact, texts[i], len);
        load_buffer(&l, "end.conf", exact, len);
        ck_assert_ptr_null(l.c);
        if (!has_message(l.d, "end.conf:1: malformed include: expected include(\"file\")"))
            dump(l.d);
        ck_assert(has_message(l.d, "end.conf:1: malformed include: expected include(\"file\")"));
        load_done(&l);
        free(exact);
    }
}
END_TEST

static Suite *config_places_suite(void)
{
    Suite *s = suite_create("config_places");
    const struct check_case cases[] = {
        {"places", test_places, sizeof(places) / sizeof(places[0])},
        {"bare_postmaster_quiet", test_bare_postmaster_quiet, 0},
        {"setting_places", test_setting_places, 0},
        {"shipped_config", test_shipped_config, 0},
        {"data_files", test_data_files, sizeof(data_files) / sizeof(data_files[0])},
        {"semantic_postmaster", test_semantic_postmaster, 0},
        {"semantic_alias_loop", test_semantic_alias_loop, 0},
        {"semantic_alias_domain_loop", test_semantic_alias_domain_loop, 0},
        {"buffer_loads", test_buffer_loads, 0},
        {"buffer_relative_names", test_buffer_relative_names, 0},
        {"buffer_errors", test_buffer_errors, 0},
        {"buffer_include_at_end", test_buffer_include_at_end, 0},
    };

    check_add_cases(s, cases, sizeof cases / sizeof cases[0], setup, teardown, 0);
    return s;
}

int main(void)
{
    return check_run(config_places_suite());
}
