/*
 * check_addr_domain.c - unit tests of addr.c's domain side: the domain of
 * a text that does not parse (addr_domain_guess), IDN to Unicode, domain
 * names alone (addr_parse_domain) and dot-atoms (addr_is_dot_atom).  The
 * address grammar as a whole is in check_addr.c.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "check_cases.h"

/* A host name of exactly n octets (n >= 1), labels of at most 32. */
static void make_domain(char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = (i % 32 == 31 && i + 1 < n) ? '.' : 'd';
    buf[n] = '\0';
}

/* addr_domain_guess: the domain of a recipient addr_parse refused. */
static const struct {
    const char *in;
    enum addr_error err;
    const char *domain;
} guess_cases[] = {
    {"<nob ody@Corp.Example>", ADDR_OK, "corp.example"},
    {"<nobody(x)@corp.example>", ADDR_OK, "corp.example"},
    {"<nobody@corp.example >", ADDR_OK, "corp.example"},
    {"<.bob@corp.example.>", ADDR_OK, "corp.example"},
    {"<@corp.example>", ADDR_OK, "corp.example"},
    {"nobody@@corp.example", ADDR_OK, "corp.example"},
    {"\"a@b\"@corp.example", ADDR_OK, "corp.example"},
    {"j\xff\xfe@b\xc3\xbc"
     "cher.example",
     ADDR_OK, "xn--bcher-kva.example"},
    {"<bob@corp.example\x01>", ADDR_OK, "corp.example"},
    {"bob@corp\x01.example", ADDR_ERR_CONTROL, ""},
    {"bob@b\xff"
     "cher.example",
     ADDR_ERR_UTF8, ""},
    {"postmaster", ADDR_ERR_DOMAIN, ""},
    {"<bob@>", ADDR_ERR_DOMAIN, ""},
    {"bob@corp..example", ADDR_ERR_DOMAIN, ""},
    {"", ADDR_ERR_DOMAIN, ""},
};

START_TEST(test_domain_guess)
{
    char out[ADDR_DOMAIN_MAX + 1];
    const char *in = guess_cases[_i].in;
    enum addr_error err = addr_domain_guess(in, strlen(in), out);

    ck_assert_msg(err == guess_cases[_i].err, "%s: got %s", in, addr_strerror(err));
    ck_assert_str_eq(out, guess_cases[_i].domain);
}
END_TEST

START_TEST(test_domain_to_unicode)
{
    char out[ADDR_DOMAIN_MAX + 1], tiny[4];

    ck_assert_int_eq(addr_domain_to_unicode("xn--bcher-kva.example", out, sizeof(out)), 1);
    ck_assert_str_eq(out, "b\xc3\xbc"
                          "cher.example");
    ck_assert_int_eq(addr_domain_to_unicode("mail.xn--bcher-kva.example", out, sizeof(out)), 1);
    ck_assert_str_eq(out, "mail.b\xc3\xbc"
                          "cher.example");
    ck_assert_int_eq(addr_domain_to_unicode("corp.example", out, sizeof(out)), 0);
    ck_assert_str_eq(out, "corp.example");
    ck_assert_int_eq(addr_domain_to_unicode("xn--.example", out, sizeof(out)), -1);
    ck_assert_str_eq(out, "");
    ck_assert_int_eq(addr_domain_to_unicode("corp.example", tiny, sizeof(tiny)), -1);
    ck_assert_int_eq(addr_domain_to_unicode("xn--bcher-kva.example", tiny, sizeof(tiny)), -1);
}
END_TEST

/* addr_parse_domain: a domain name as written after '@', as in an address. */
static const struct {
    const char *in;
    size_t len; /* 0: strlen */
    enum addr_error err;
    const char *out;
} domain_cases[] = {
    {"Corp.Example", 0, ADDR_OK, "corp.example"},
    {"corp.example.", 0, ADDR_OK, "corp.example"}, /* trailing dot dropped */
    {"b\xc3\xbc"
     "cher.example",
     0, ADDR_OK, "xn--bcher-kva.example"}, /* U-label to A-label */
    {"B\xc3\x9c"
     "CHER.example",
     0, ADDR_OK, "xn--bcher-kva.example"},
    {"[192.0.2.1]", 0, ADDR_OK, "[192.0.2.1]"}, /* a literal is kept */
    {"a_b.example", 0, ADDR_OK, "a_b.example"},
    {"", 0, ADDR_ERR_EMPTY, ""},
    {"a@b.example", 0, ADDR_ERR_DOMAIN, ""},
    {"a@\x01", 0, ADDR_ERR_DOMAIN, ""}, /* '@' is checked first */
    {"a\x01"
     "b.example",
     0, ADDR_ERR_CONTROL, ""},
    {"a.example\x7f", 0, ADDR_ERR_CONTROL, ""},
    {"a\0b.example", 11, ADDR_ERR_CONTROL, ""},
    {"a\r\nb.example", 0, ADDR_ERR_CONTROL, ""},
    {"b\xff"
     "cher.example",
     0, ADDR_ERR_UTF8, ""},
    {"a\xef\xbf\xbd.example", 0, ADDR_ERR_IDN, ""},
    {"\xc3\xa4-.example", 0, ADDR_ERR_IDN, ""},
    {".", 0, ADDR_ERR_DOMAIN, ""},
    {"a..b", 0, ADDR_ERR_DOMAIN, ""},
    {".a.example", 0, ADDR_ERR_DOMAIN, ""},
    {"-a.example", 0, ADDR_ERR_DOMAIN, ""},
    {"a-.example", 0, ADDR_ERR_DOMAIN, ""},
    {"a b.example", 0, ADDR_ERR_DOMAIN, ""},
    {"<a.example>", 0, ADDR_ERR_DOMAIN, ""}, /* angle brackets */
    {"a.example>", 0, ADDR_ERR_DOMAIN, ""},
    {"a:b.example", 0, ADDR_ERR_DOMAIN, ""},
    {"a,b.example", 0, ADDR_ERR_DOMAIN, ""},
    {"\"a\".example", 0, ADDR_ERR_DOMAIN, ""},
    {"a\\b.example", 0, ADDR_ERR_DOMAIN, ""},
    {"[]", 0, ADDR_ERR_DOMAIN, ""},
    {"[a b]", 0, ADDR_ERR_DOMAIN, ""},
};

START_TEST(test_parse_domain)
{
    char out[ADDR_DOMAIN_MAX + 1];
    const char *in = domain_cases[_i].in;
    size_t len = domain_cases[_i].len ? domain_cases[_i].len : strlen(in);
    char *copy = malloc(len + 1); /* exactly len bytes are read */
    enum addr_error err;

    ck_assert_ptr_nonnull(copy);
    memcpy(copy, in, len);
    copy[len] = 'X';
    memset(out, 'Z', sizeof(out));
    err = addr_parse_domain(copy, len, out);
    free(copy);
    ck_assert_msg(err == domain_cases[_i].err, "\"%s\": got %s, want %s", in, addr_strerror(err),
                  addr_strerror(domain_cases[_i].err));
    ck_assert_str_eq(out, domain_cases[_i].out);
}
END_TEST

START_TEST(test_parse_domain_length)
{
    char dom[1100], out[ADDR_DOMAIN_MAX + 1];
    struct addr a;

    make_domain(dom, 255);
    ck_assert_int_eq(addr_parse_domain(dom, 255, out), ADDR_OK);
    ck_assert_str_eq(out, dom);
    strcat(dom, ".");
    ck_assert_int_eq(addr_parse_domain(dom, 256, out), ADDR_OK);
    ck_assert_uint_eq(strlen(out), 255);
    make_domain(dom, 256);
    ck_assert_int_eq(addr_parse_domain(dom, 256, out), ADDR_ERR_DOMAIN_LONG);
    ck_assert_str_eq(out, "");
    /* syntax before length, as in an address */
    dom[0] = '-';
    ck_assert_int_eq(addr_parse_domain(dom, 256, out), ADDR_ERR_DOMAIN);
    /* the same answers as the domain of an address */
    dom[0] = 'a';
    ck_assert_int_eq(addr_parse(&a, "u@a..b", 6, NULL), addr_parse_domain("a..b", 4, out));
    /* beyond what any domain can convert to: long, whatever the bytes */
    memset(dom, '-', 4 * ADDR_DOMAIN_MAX + 1);
    ck_assert_int_eq(addr_parse_domain(dom, 4 * ADDR_DOMAIN_MAX + 1, out), ADDR_ERR_DOMAIN_LONG);
    ck_assert_int_eq(addr_parse_domain(dom, 4 * ADDR_DOMAIN_MAX, out), ADDR_ERR_DOMAIN);
    ck_assert_int_eq(addr_parse_domain(NULL, 0, out), ADDR_ERR_EMPTY);
}
END_TEST

/* addr_is_dot_atom: an ASCII dot-atom of 1 to 64 octets. */
static const struct {
    const char *in;
    size_t len; /* 0: strlen */
    bool ok;
} dot_atom_cases[] = {
    {"abuse", 0, true},
    {"john.doe", 0, true},
    {"!#$%&'*+-/=?^_`{|}~", 0, true}, /* every special of atext */
    {"A9", 0, true},
    {"", 0, false},
    {".a", 0, false},
    {"a.", 0, false},
    {"a..b", 0, false},
    {"a b", 0, false},
    {"a@b", 0, false},
    {"\"a\"", 0, false},
    {"a(b)", 0, false},
    {"a,b", 0, false},
    {"a\\b", 0, false},
    {"a\x01", 0, false},
    {"a\x7f", 0, false},
    {"a\0b", 3, false},
    {"j\xc3\xb6rg", 0, false}, /* UTF-8: needs SMTPUTF8 */
    {"abc", 2, true},          /* only n bytes count */
    {"a.", 1, true},
};

START_TEST(test_is_dot_atom)
{
    const char *in = dot_atom_cases[_i].in;
    size_t len = dot_atom_cases[_i].len ? dot_atom_cases[_i].len : strlen(in);

    ck_assert_msg(addr_is_dot_atom(in, len) == dot_atom_cases[_i].ok, "\"%s\" (%zu)", in, len);
}
END_TEST

START_TEST(test_is_dot_atom_length)
{
    char s[ADDR_LOCAL_MAX + 2];

    memset(s, 'a', sizeof(s));
    ck_assert(addr_is_dot_atom(s, ADDR_LOCAL_MAX));
    ck_assert(!addr_is_dot_atom(s, ADDR_LOCAL_MAX + 1));
}
END_TEST

#define N(table) ((int)(sizeof(table) / sizeof(*(table))))

static Suite *addr_domain_suite(void)
{
    Suite *s = suite_create("addr_domain");
    TCase *tc;

    tc = tcase_create("idn");
    tcase_add_loop_test(tc, test_domain_guess, 0, N(guess_cases));
    tcase_add_test(tc, test_domain_to_unicode);
    suite_add_tcase(s, tc);
    tc = tcase_create("domain_names");
    tcase_add_loop_test(tc, test_parse_domain, 0, N(domain_cases));
    tcase_add_test(tc, test_parse_domain_length);
    suite_add_tcase(s, tc);
    tc = tcase_create("dot_atoms");
    tcase_add_loop_test(tc, test_is_dot_atom, 0, N(dot_atom_cases));
    tcase_add_test(tc, test_is_dot_atom_length);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_run(addr_domain_suite());
}
