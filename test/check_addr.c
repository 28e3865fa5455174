/*
 * check_addr.c - unit tests of addr.c: the address grammar, canonical
 * forms, extension split, formatting, and a deterministic fuzz loop
 * (domain names alone, IDN and dot-atoms: check_addr_domain.c).
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

/*
 * One parse: input (len 0 means strlen; explicit len for embedded NULs),
 * delimiters, the expected code and, for ADDR_OK, the canonical local part,
 * domain and extension.
 */
struct parse_case {
    const char *in;
    size_t len;
    const char *delims;
    enum addr_error err;
    const char *local;
    const char *domain;
    const char *ext;
};

/*
 * parse_exact - parse len bytes copied into a heap block of exactly len
 * bytes (no terminator), so that ASan sees any read beyond len.
 */
static enum addr_error parse_exact(struct addr *a, const char *in, size_t len, const char *delims)
{
    char *copy = malloc(len > 0 ? len : 1);
    enum addr_error err;

    ck_assert_ptr_nonnull(copy);
    memcpy(copy, in, len);
    err = addr_parse(a, copy, len, delims);
    free(copy);
    return err;
}

static void check_case(const struct parse_case *c)
{
    struct addr a;
    size_t len = c->len > 0 ? c->len : strlen(c->in);
    enum addr_error err = parse_exact(&a, c->in, len, c->delims);

    ck_assert_msg(err == c->err, "\"%s\": got %d (%s), want %d (%s)", c->in, (int)err,
                  addr_strerror(err), (int)c->err, addr_strerror(c->err));
    if (err != ADDR_OK)
        return;
    ck_assert_str_eq(a.local, c->local);
    ck_assert_uint_eq(a.local_len, strlen(c->local));
    ck_assert_str_eq(a.domain, c->domain);
    ck_assert_uint_eq(a.domain_len, strlen(c->domain));
    ck_assert_str_eq(addr_extension(&a), c->ext);
    ck_assert_uint_eq(a.base_len, a.local_len - strlen(c->ext));
}

#define OK(in, local, domain)                                                                      \
    {                                                                                              \
        in, 0, NULL, ADDR_OK, local, domain, ""                                                    \
    }
#define BAD(in, err)                                                                               \
    {                                                                                              \
        in, 0, NULL, err, NULL, NULL, NULL                                                         \
    }

static const struct parse_case error_cases[] = {
    BAD("", ADDR_ERR_EMPTY),
    BAD("<>", ADDR_ERR_EMPTY),
    {"<>xyz", 2, NULL, ADDR_ERR_EMPTY, NULL, NULL, NULL},
    BAD("<", ADDR_ERR_BRACKETS),
    BAD(">", ADDR_ERR_BRACKETS),
    BAD("<a@b.example", ADDR_ERR_BRACKETS),
    BAD("a@b.example>", ADDR_ERR_BRACKETS),
    BAD("<<a@b.example>>", ADDR_ERR_BRACKETS),
    BAD("<a@b.example>>", ADDR_ERR_BRACKETS),
    BAD("a<b@c.example", ADDR_ERR_BRACKETS),
    BAD("<a>b@c.example>", ADDR_ERR_BRACKETS),
    BAD("a@c.example<", ADDR_ERR_BRACKETS),
    BAD(" <a@b.example>", ADDR_ERR_BRACKETS),
    BAD("<a@b.example> ", ADDR_ERR_BRACKETS),
    BAD("<\"a\"<@b.example>", ADDR_ERR_BRACKETS),
    BAD("<@:u@d.example>", ADDR_ERR_ROUTE),
    BAD("<@a.example,b.example:u@d.example>", ADDR_ERR_ROUTE),
    BAD("<@a.example,:u@d.example>", ADDR_ERR_ROUTE),
    BAD("<@a.example,@b.example>", ADDR_ERR_ROUTE),
    BAD("@a b:u@d.example", ADDR_ERR_ROUTE),
    BAD("<@-a.example:u@d.example>", ADDR_ERR_ROUTE),
    BAD("<@a..example:u@d.example>", ADDR_ERR_ROUTE),
    BAD("<@[192.0.2.1]x:u@d.example>", ADDR_ERR_ROUTE),
    BAD("<@[192.0.2.1]x@b.example:u@d.example>", ADDR_ERR_ROUTE),
    BAD("<@a.example,@[192.0.2.1:u@d.example>", ADDR_ERR_ROUTE),
    BAD("<@a.example,,@b.example:u@d.example>", ADDR_ERR_ROUTE),
    BAD("a..b@c.example", ADDR_ERR_LOCAL),
    BAD(".a@c.example", ADDR_ERR_LOCAL),
    BAD("a.@c.example", ADDR_ERR_LOCAL),
    BAD(".@c.example", ADDR_ERR_LOCAL),
    BAD("a b@c.example", ADDR_ERR_LOCAL),
    BAD("a(b)@c.example", ADDR_ERR_LOCAL),
    BAD("a,b@c.example", ADDR_ERR_LOCAL),
    BAD("a:b@c.example", ADDR_ERR_LOCAL),
    BAD("a\\b@c.example", ADDR_ERR_LOCAL),
    BAD("@c.example", ADDR_ERR_LOCAL),
    BAD("<@c.example>", ADDR_ERR_LOCAL),
    BAD("@", ADDR_ERR_LOCAL),
    BAD("@[192.0.2.1", ADDR_ERR_LOCAL),
    BAD("<@a.example:>", ADDR_ERR_LOCAL),
    BAD("<@a.example:@b.example>", ADDR_ERR_LOCAL),
    BAD("a@b@c.example", ADDR_ERR_LOCAL),
    BAD("\"abc@d.example", ADDR_ERR_LOCAL),
    BAD("\"abc\\\"@d.example", ADDR_ERR_LOCAL),
    BAD("\"abc\\", ADDR_ERR_LOCAL),
    BAD("\"", ADDR_ERR_LOCAL),
    BAD("\"a\"b@c.example", ADDR_ERR_LOCAL),
    BAD("\"a\"b", ADDR_ERR_LOCAL),
    BAD("a\"b\"@c.example", ADDR_ERR_LOCAL),
    BAD("\"a\"@b@c.example", ADDR_ERR_LOCAL),
    BAD("\"a\".\"b\"@c.example", ADDR_ERR_LOCAL),
    BAD("u@", ADDR_ERR_DOMAIN),
    BAD("<u@>", ADDR_ERR_DOMAIN),
    BAD("u@.", ADDR_ERR_DOMAIN),
    BAD("u@-a.example", ADDR_ERR_DOMAIN),
    BAD("u@a-.example", ADDR_ERR_DOMAIN),
    BAD("u@a..example", ADDR_ERR_DOMAIN),
    BAD("u@.a.example", ADDR_ERR_DOMAIN),
    BAD("u@a.example..", ADDR_ERR_DOMAIN),
    BAD("u@a example", ADDR_ERR_DOMAIN),
    BAD("u@a:example", ADDR_ERR_DOMAIN),
    BAD("u@\"a\".example", ADDR_ERR_DOMAIN),
    BAD("u@a+b.example", ADDR_ERR_DOMAIN),
    BAD("u@[]", ADDR_ERR_DOMAIN),
    BAD("u@[", ADDR_ERR_DOMAIN),
    BAD("u@[192.0.2.1", ADDR_ERR_DOMAIN),
    BAD("u@[192.0.2.1].", ADDR_ERR_DOMAIN),
    BAD("u@[1[2]", ADDR_ERR_DOMAIN),
    BAD("u@[1]2]", ADDR_ERR_DOMAIN),
    BAD("u@[a b]", ADDR_ERR_DOMAIN),
    BAD("u@[a\\b]", ADDR_ERR_DOMAIN),
    BAD("u@x[1]", ADDR_ERR_DOMAIN),
    BAD("a\r\n@b.example", ADDR_ERR_CONTROL),
    BAD("<a@b.example>\r\nRCPT TO:<c@d.example>", ADDR_ERR_CONTROL),
    {"a\0b@c.example", 13, NULL, ADDR_ERR_CONTROL, NULL, NULL, NULL},
    {"a@c.example\0", 12, NULL, ADDR_ERR_CONTROL, NULL, NULL, NULL},
    BAD("a\tb@c.example", ADDR_ERR_CONTROL),
    BAD("a\x7f@c.example", ADDR_ERR_CONTROL),
    BAD("\"a\x01\"@c.example", ADDR_ERR_CONTROL),
    BAD("\x80<\n", ADDR_ERR_CONTROL),
    BAD("<a@b.example\x1b>", ADDR_ERR_CONTROL),
    /* bytes >= 0x80 must be well-formed UTF-8 */
    BAD("u@\xe4.example", ADDR_ERR_UTF8),
    BAD("\"\xff\"@b.example", ADDR_ERR_UTF8),
    BAD("<\x80>", ADDR_ERR_UTF8),
    BAD("\xff<", ADDR_ERR_UTF8),
    BAD("j\xc3@example.com", ADDR_ERR_UTF8),             /* truncated sequence */
    BAD("j\xc0\xafrg@example.com", ADDR_ERR_UTF8),       /* overlong '/' */
    BAD("j\xed\xa0\x80@example.com", ADDR_ERR_UTF8),     /* surrogate */
    BAD("j\xf4\x90\x80\x80@example.com", ADDR_ERR_UTF8), /* above U+10FFFF */
    /* a UTF-8 local part is still a dot-atom of at most 64 octets */
    BAD("j\xc3\xb6..rg@example.com", ADDR_ERR_LOCAL),
    BAD("\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6"
        "\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6"
        "\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6"
        "\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6x@d.example",
        ADDR_ERR_LOCAL_LONG),
    /* NFC turns U+037E into ';': no dot-atom any more (found by fuzz_addr) */
    BAD("Mj\xcd\xbe@d.example", ADDR_ERR_LOCAL),
    /* IDNA2008 refuses these as domain names */
    BAD("u@a\xef\xbf\xbd.example", ADDR_ERR_IDN),
    BAD("u@\xc3\xa4-.example", ADDR_ERR_IDN),
    BAD("u@\xc3\xa4..example", ADDR_ERR_IDN),
};

START_TEST(test_errors)
{
    check_case(&error_cases[_i]);
}
END_TEST

static const struct parse_case form_cases[] = {
    /* SMTPUTF8 local parts (NFC) and IDN domains (A-label, UTS #46 mapped) */
    OK("j\xc3\xb6rg@example.com", "j\xc3\xb6rg", "example.com"),
    OK("<J\xc3\x96rg@Example.COM>", "J\xc3\x96rg", "example.com"),
    OK("jo\xcc\x88rg@example.com", "j\xc3\xb6rg", "example.com"),
    OK("\"Mj\xcd\xbe\"@d.example", "\"Mj;\"", "d.example"),
    OK("\"j\xc3\xb6 rg\"@example.com", "\"j\xc3\xb6 rg\"", "example.com"),
    OK("anna@b\xc3\xbc"
       "cher.example",
       "anna", "xn--bcher-kva.example"),
    OK("anna@B\xc3\x9c"
       "CHER.Example.",
       "anna", "xn--bcher-kva.example"),
    OK("anna@bu\xcc\x88"
       "cher.example",
       "anna", "xn--bcher-kva.example"),
    OK("anna@XN--BCHER-KVA.example", "anna", "xn--bcher-kva.example"),
    OK("<@b\xc3\xbc"
       "cher.example:anna@x.example>",
       "anna", "x.example"),
    OK("\xd0\xb8\xd0\xb2\xd0\xb0\xd0\xbd@\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80."
       "\xd1\x80\xd1\x84",
       "\xd0\xb8\xd0\xb2\xd0\xb0\xd0\xbd", "xn--e1afmkfd.xn--p1ai"),
    OK("<user@Example.COM>", "user", "example.com"),
    OK("user@Example.COM", "user", "example.com"),
    OK("<User.Name@EXAMPLE.com>", "User.Name", "example.com"),
    OK("postmaster", "postmaster", ""),
    OK("<postmaster>", "postmaster", ""),
    OK("<PostMaster>", "PostMaster", ""),
    OK("a", "a", ""),
    OK("!#$%&'*+-/=?^_`{|}~@x.example", "!#$%&'*+-/=?^_`{|}~", "x.example"),
    OK("a.b.c@x.example", "a.b.c", "x.example"),
    OK("0@x.example", "0", "x.example"),
    /* source routes */
    OK("<@a.example,@b.example:user@d.example>", "user", "d.example"),
    OK("@a.example,@b.example:user@d.example", "user", "d.example"),
    OK("<@a.example:user@d.example>", "user", "d.example"),
    OK("<@[192.0.2.1]:u@d.example>", "u", "d.example"),
    OK("<@[IPv6:::1],@a.example:u@d.example>", "u", "d.example"),
    OK("<@a.example.:u@d.example>", "u", "d.example"),
    OK("<@a.example:postmaster>", "postmaster", ""),
    OK("<@a.example:\"x:y\"@d.example>", "\"x:y\"", "d.example"),
    /* quoting */
    OK("\"john.doe\"@example.com", "john.doe", "example.com"),
    OK("<\"John.Doe\"@example.com>", "John.Doe", "example.com"),
    OK("\"jo\\hn\"@example.com", "john", "example.com"),
    OK("\"\\a\\b\\.\\c\"@example.com", "ab.c", "example.com"),
    OK("\"john doe\"@example.com", "\"john doe\"", "example.com"),
    OK("\"a\\ b\"@example.com", "\"a b\"", "example.com"),
    OK("\"a\\\"b\"@example.com", "\"a\\\"b\"", "example.com"),
    OK("\"a\\\\b\"@example.com", "\"a\\\\b\"", "example.com"),
    OK("\"\"@example.com", "\"\"", "example.com"),
    OK("\"\"", "\"\"", ""),
    OK("\"a..b\"@example.com", "\"a..b\"", "example.com"),
    OK("\".a\"@example.com", "\".a\"", "example.com"),
    OK("\"a.\"@example.com", "\"a.\"", "example.com"),
    OK("\"a@b\"@example.com", "\"a@b\"", "example.com"),
    OK("\"a@b\"", "\"a@b\"", ""),
    OK("\"@a:b\"@x.example", "\"@a:b\"", "x.example"),
    OK("<\"a<b>\"@x.example>", "\"a<b>\"", "x.example"),
    OK("<\"a\\\"<\"@x.example>", "\"a\\\"<\"", "x.example"),
    OK("\"(x),[y]\"@x.example", "\"(x),[y]\"", "x.example"),
    OK("<\"postmaster\">", "postmaster", ""),
    /* domains */
    OK("u@example.com.", "u", "example.com"),
    OK("<u@Example.COM.>", "u", "example.com"),
    OK("u@x", "u", "x"),
    OK("u@a-b.example", "u", "a-b.example"),
    OK("u@a--b.example", "u", "a--b.example"),
    OK("u@_dmarc.example", "u", "_dmarc.example"),
    OK("u@a_.example", "u", "a_.example"),
    OK("u@1.2.3.4", "u", "1.2.3.4"),
    OK("u@[192.0.2.1]", "u", "[192.0.2.1]"),
    OK("<u@[IPv6:2001:DB8::1]>", "u", "[ipv6:2001:db8::1]"),
    OK("u@[x]", "u", "[x]"),
    /* not NUL-terminated: len shorter than the buffer */
    {"a@b.exampleXYZ", 11, NULL, ADDR_OK, "a", "b.example", ""},
    {"<a@b.example>", 4, NULL, ADDR_ERR_BRACKETS, NULL, NULL, NULL},
    {"\"a\"@b.example", 3, NULL, ADDR_OK, "a", "", ""},
    {"\"a\\\"", 3, NULL, ADDR_ERR_LOCAL, NULL, NULL, NULL},
    {"u@example.com..", 14, NULL, ADDR_OK, "u", "example.com", ""},
};

START_TEST(test_forms)
{
    check_case(&form_cases[_i]);
}
END_TEST

static const struct parse_case delim_cases[] = {
    {"user+ext@d.example", 0, "+", ADDR_OK, "user+ext", "d.example", "+ext"},
    {"<User+Ext@D.example>", 0, "+", ADDR_OK, "User+Ext", "d.example", "+Ext"},
    {"alice+a+b@d.example", 0, "+", ADDR_OK, "alice+a+b", "d.example", "+a+b"},
    {"user++x@d.example", 0, "+", ADDR_OK, "user++x", "d.example", "++x"},
    {"user+@d.example", 0, "+", ADDR_OK, "user+", "d.example", "+"},
    {"+user@d.example", 0, "+", ADDR_OK, "+user", "d.example", ""},
    {"+@d.example", 0, "+", ADDR_OK, "+", "d.example", ""},
    {"user-ext@d.example", 0, "+", ADDR_OK, "user-ext", "d.example", ""},
    {"user-ext@d.example", 0, "+-", ADDR_OK, "user-ext", "d.example", "-ext"},
    {"user+x-y@d.example", 0, "-+", ADDR_OK, "user+x-y", "d.example", "+x-y"},
    {"user-x+y@d.example", 0, "+-", ADDR_OK, "user-x+y", "d.example", "-x+y"},
    {"a.b@d.example", 0, ".", ADDR_OK, "a.b", "d.example", ".b"},
    {"a=b+c@d.example", 0, "=+", ADDR_OK, "a=b+c", "d.example", "=b+c"},
    {"user+x", 0, "+", ADDR_OK, "user+x", "", "+x"},
    {"user+x@d.example", 0, "", ADDR_OK, "user+x", "d.example", ""},
    {"user+x@d.example", 0, NULL, ADDR_OK, "user+x", "d.example", ""},
    {"user+x@d.example", 0, "-", ADDR_OK, "user+x", "d.example", ""},
    /* postmaster and MAILER-DAEMON are never split, whatever the set */
    {"postmaster@d.example", 0, "a", ADDR_OK, "postmaster", "d.example", ""},
    {"PostMaster@d.example", 0, "a", ADDR_OK, "PostMaster", "d.example", ""},
    {"postmasters@d.example", 0, "a", ADDR_OK, "postmasters", "d.example", "asters"},
    {"postmaster+x@d.example", 0, "+", ADDR_OK, "postmaster+x", "d.example", "+x"},
    {"MAILER-DAEMON@d.example", 0, "-", ADDR_OK, "MAILER-DAEMON", "d.example", ""},
    {"mailer-daemon@d.example", 0, "+-", ADDR_OK, "mailer-daemon", "d.example", ""},
    {"mailer-daemons@d.example", 0, "-", ADDR_OK, "mailer-daemons", "d.example", "-daemons"},
    /* owner-* and *-request only when '-' is a delimiter */
    {"owner-list@d.example", 0, "-", ADDR_OK, "owner-list", "d.example", ""},
    {"Owner-List+x@d.example", 0, "+-", ADDR_OK, "Owner-List+x", "d.example", ""},
    {"owner-list+x@d.example", 0, "+", ADDR_OK, "owner-list+x", "d.example", "+x"},
    {"owner-@d.example", 0, "-", ADDR_OK, "owner-", "d.example", ""},
    {"owner@d.example", 0, "e", ADDR_OK, "owner", "d.example", "er"},
    {"list-request@d.example", 0, "-", ADDR_OK, "list-request", "d.example", ""},
    {"list-REQUEST@d.example", 0, "+-", ADDR_OK, "list-REQUEST", "d.example", ""},
    {"list-request+x@d.example", 0, "+-", ADDR_OK, "list-request+x", "d.example", "-request+x"},
    {"x-request+y@d.example", 0, "+", ADDR_OK, "x-request+y", "d.example", "+y"},
    {"x-request@d.example", 0, "-", ADDR_OK, "x-request", "d.example", ""},
    {"-request@d.example", 0, "-", ADDR_OK, "-request", "d.example", ""},
    {"request@d.example", 0, "q", ADDR_OK, "request", "d.example", "quest"},
    /* the split is on the canonical form: only dot-atoms split */
    {"\"a+b\"@d.example", 0, "+", ADDR_OK, "a+b", "d.example", "+b"},
    {"\"a b+c\"@d.example", 0, "+", ADDR_OK, "\"a b+c\"", "d.example", ""},
    {"\"+a b\"@d.example", 0, "\"", ADDR_OK, "\"+a b\"", "d.example", ""},
};

START_TEST(test_delimiters)
{
    check_case(&delim_cases[_i]);
}
END_TEST

/* s of n copies of c, NUL-terminated; buf must hold n + 1. */
static char *repeat(char *buf, char c, size_t n)
{
    memset(buf, c, n);
    buf[n] = '\0';
    return buf;
}

/* A host name of exactly n octets (n >= 1), labels of at most 32. */
static void make_domain(char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = (i % 32 == 31 && i + 1 < n) ? '.' : 'd';
    buf[n] = '\0';
}

START_TEST(test_local_length)
{
    char local[200], in[400];
    struct addr a;

    repeat(local, 'x', 64);
    snprintf(in, sizeof(in), "<%s@d.example>", local);
    ck_assert_int_eq(addr_parse(&a, in, strlen(in), NULL), ADDR_OK);
    ck_assert_uint_eq(a.local_len, 64);
    ck_assert_str_eq(a.local, local);

    repeat(local, 'x', 65);
    snprintf(in, sizeof(in), "<%s@d.example>", local);
    ck_assert_int_eq(addr_parse(&a, in, strlen(in), NULL), ADDR_ERR_LOCAL_LONG);
    snprintf(in, sizeof(in), "%s", local);
    ck_assert_int_eq(addr_parse(&a, in, strlen(in), NULL), ADDR_ERR_LOCAL_LONG);
    /* syntax before length */
    local[10] = ' ';
    snprintf(in, sizeof(in), "%s@d.example", local);
    ck_assert_int_eq(addr_parse(&a, in, strlen(in), NULL), ADDR_ERR_LOCAL);

    /* quoted: the limit is on the content; 64 escaped quotes are 130 */
    char *p = in;
    *p++ = '"';
    for (int i = 0; i < 64; i++) {
        *p++ = '\\';
        *p++ = '"';
    }
    strcpy(p, "\"@d.example");
    ck_assert_int_eq(addr_parse(&a, in, strlen(in), NULL), ADDR_OK);
    ck_assert_uint_eq(a.local_len, 2 * ADDR_LOCAL_MAX + 2);
    ck_assert_uint_eq(strlen(a.local), a.local_len);
    ck_assert_uint_eq(sizeof(a.local), a.local_len + 1);
    /* one more escaped quote: 65 octets of content */
    memmove(in + 3, in + 1, strlen(in + 1) + 1);
    in[1] = '\\';
    in[2] = '"';
    ck_assert_int_eq(addr_parse(&a, in, strlen(in), NULL), ADDR_ERR_LOCAL_LONG);

    /* quoted dot-atom: 66 bytes with the quotes, 64 of content */
    repeat(local, 'y', 64);
    snprintf(in, sizeof(in), "\"%s\"@d.example", local);
    ck_assert_int_eq(addr_parse(&a, in, strlen(in), NULL), ADDR_OK);
    ck_assert_str_eq(a.local, local);
    /* 65 of content through quoted pairs, each pair one octet */
    snprintf(in, sizeof(in), "\"\\y%s\"@d.example", local);
    ck_assert_int_eq(addr_parse(&a, in, strlen(in), NULL), ADDR_ERR_LOCAL_LONG);
    /* 64 of content written as 128 bytes of quoted pairs */
    p = in;
    *p++ = '"';
    for (int i = 0; i < 64; i++) {
        *p++ = '\\';
        *p++ = 'z';
    }
    strcpy(p, "\"");
    ck_assert_int_eq(addr_parse(&a, in, strlen(in), NULL), ADDR_OK);
    ck_assert_str_eq(a.local, repeat(local, 'z', 64));
}
END_TEST

START_TEST(test_domain_length)
{
    char dom[400], in[500], out[ADDR_TEXT_MAX + 1];
    struct addr a;

    make_domain(dom, 255);
    snprintf(in, sizeof(in), "<u@%s>", dom);
    ck_assert_int_eq(addr_parse(&a, in, strlen(in), NULL), ADDR_OK);
    ck_assert_uint_eq(a.domain_len, 255);
    ck_assert_str_eq(a.domain, dom);
    /* the trailing dot does not count */
    snprintf(in, sizeof(in), "<u@%s.>", dom);
    ck_assert_int_eq(addr_parse(&a, in, strlen(in), NULL), ADDR_OK);
    ck_assert_str_eq(a.domain, dom);

    make_domain(dom, 256);
    snprintf(in, sizeof(in), "<u@%s>", dom);
    ck_assert_int_eq(addr_parse(&a, in, strlen(in), NULL), ADDR_ERR_DOMAIN_LONG);
    snprintf(in, sizeof(in), "u@%s.", dom);
    ck_assert_int_eq(addr_parse(&a, in, strlen(in), NULL), ADDR_ERR_DOMAIN_LONG);
    /* syntax before length */
    dom[0] = '-';
    snprintf(in, sizeof(in), "u@%s", dom);
    ck_assert_int_eq(addr_parse(&a, in, strlen(in), NULL), ADDR_ERR_DOMAIN);
    /* a long domain in a route hop is a route error */
    make_domain(dom, 256);
    snprintf(in, sizeof(in), "<@%s:u@d.example>", dom);
    ck_assert_int_eq(addr_parse(&a, in, strlen(in), NULL), ADDR_ERR_ROUTE);

    /* labels: 63 octets fine, 64 not */
    snprintf(in, sizeof(in), "u@%s.example", repeat(dom, 'l', 63));
    ck_assert_int_eq(addr_parse(&a, in, strlen(in), NULL), ADDR_OK);
    snprintf(in, sizeof(in), "u@%s.example", repeat(dom, 'l', 64));
    ck_assert_int_eq(addr_parse(&a, in, strlen(in), NULL), ADDR_ERR_DOMAIN);
    snprintf(in, sizeof(in), "u@%s", repeat(dom, 'l', 64));
    ck_assert_int_eq(addr_parse(&a, in, strlen(in), NULL), ADDR_ERR_DOMAIN);

    /* address literals: 255 with the brackets, then 256 */
    repeat(dom, '1', 255);
    dom[0] = '[';
    dom[254] = ']';
    snprintf(in, sizeof(in), "u@%s", dom);
    ck_assert_int_eq(addr_parse(&a, in, strlen(in), NULL), ADDR_OK);
    ck_assert_uint_eq(a.domain_len, 255);
    repeat(dom, '1', 256);
    dom[0] = '[';
    dom[255] = ']';
    snprintf(in, sizeof(in), "u@%s", dom);
    ck_assert_int_eq(addr_parse(&a, in, strlen(in), NULL), ADDR_ERR_DOMAIN_LONG);

    /* the longest canonical text fits ADDR_TEXT_MAX exactly */
    char *p = in;
    *p++ = '"';
    for (int i = 0; i < 64; i++) {
        *p++ = '\\';
        *p++ = '\\';
    }
    *p++ = '"';
    *p++ = '@';
    make_domain(p, 255);
    ck_assert_int_eq(addr_parse(&a, in, strlen(in), NULL), ADDR_OK);
    ck_assert_uint_eq(addr_format(&a, true, false, out, sizeof(out)), ADDR_TEXT_MAX);
    ck_assert_str_eq(out, in);
    ck_assert_uint_eq(addr_format(&a, true, false, out, sizeof(out) - 1), 0);
}
END_TEST

START_TEST(test_null_input)
{
    struct addr a;

    ck_assert_int_eq(addr_parse(&a, NULL, 0, NULL), ADDR_ERR_EMPTY);
    ck_assert_int_eq(addr_parse(&a, NULL, 5, NULL), ADDR_ERR_EMPTY);
    ck_assert_int_eq(addr_parse(&a, "a@b.example", 0, "+"), ADDR_ERR_EMPTY);
}
END_TEST

struct format_case {
    const char *in;
    const char *delims;
    bool with_extension;
    bool fold;
    const char *out;
};

static const struct format_case format_cases[] = {
    {"<Alice+News@Example.COM>", "+", true, false, "Alice+News@example.com"},
    {"<Alice+News@Example.COM>", "+", false, false, "Alice@example.com"},
    {"<Alice+News@Example.COM>", "+", true, true, "alice+news@example.com"},
    {"<Alice+News@Example.COM>", "+", false, true, "alice@example.com"},
    {"<Alice+News@Example.COM>", "", false, true, "alice+news@example.com"},
    {"<PostMaster>", "+", true, false, "PostMaster"},
    {"<PostMaster>", "+", true, true, "postmaster"},
    {"Bob+X", "+", false, true, "bob"},
    {"\"John Doe\"@X.Example", "+", true, true, "\"john doe\"@x.example"},
    {"\"John Doe\"@X.Example", "+", false, false, "\"John Doe\"@x.example"},
    {"<@r.example:\"J\\O\"@[IPv6:::1]>", NULL, true, false, "JO@[ipv6:::1]"},
    {"<@r.example:\"J\\O\"@[IPv6:::1]>", NULL, true, true, "jo@[ipv6:::1]"},
};

START_TEST(test_format)
{
    const struct format_case *c = &format_cases[_i];
    struct addr a;
    char buf[ADDR_TEXT_MAX + 1];
    size_t n;

    ck_assert_int_eq(addr_parse(&a, c->in, strlen(c->in), c->delims), ADDR_OK);
    n = addr_format(&a, c->with_extension, c->fold, buf, sizeof(buf));
    ck_assert_str_eq(buf, c->out);
    ck_assert_uint_eq(n, strlen(c->out));
    /* exactly big enough, then one byte short */
    memset(buf, 'Q', sizeof(buf));
    ck_assert_uint_eq(addr_format(&a, c->with_extension, c->fold, buf, n + 1), n);
    ck_assert_str_eq(buf, c->out);
    memset(buf, 'Q', sizeof(buf));
    ck_assert_uint_eq(addr_format(&a, c->with_extension, c->fold, buf, n), 0);
    ck_assert_str_eq(buf, "");
    /* the output parses back to itself */
    struct addr b;
    char again[ADDR_TEXT_MAX + 1];
    addr_format(&a, c->with_extension, c->fold, buf, sizeof(buf));
    ck_assert_int_eq(addr_parse(&b, buf, n, NULL), ADDR_OK);
    ck_assert_uint_eq(addr_format(&b, true, false, again, sizeof(again)), n);
    ck_assert_str_eq(again, buf);
}
END_TEST

START_TEST(test_format_small_buffer)
{
    struct addr a;
    char buf[16];

    ck_assert_int_eq(addr_parse(&a, "<ab+cdef@x.example>", 19, "+"), ADDR_OK);
    /* "ab@x.example" is 12, "ab+cdef@x.example" 17 */
    memset(buf, 'Q', sizeof(buf));
    ck_assert_uint_eq(addr_format(&a, true, false, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "");
    ck_assert_uint_eq(addr_format(&a, false, false, buf, sizeof(buf)), 12);
    ck_assert_str_eq(buf, "ab@x.example");
    ck_assert_uint_eq(addr_format(&a, false, false, buf, 13), 12);
    ck_assert_uint_eq(addr_format(&a, false, false, buf, 12), 0);
    ck_assert_str_eq(buf, "");
    memset(buf, 'Q', sizeof(buf));
    ck_assert_uint_eq(addr_format(&a, false, false, buf, 1), 0);
    ck_assert_int_eq(buf[0], '\0');
    ck_assert_int_eq(buf[1], 'Q');
    /* size 0: nothing written at all */
    memset(buf, 'Q', sizeof(buf));
    ck_assert_uint_eq(addr_format(&a, true, true, buf, 0), 0);
    ck_assert_int_eq(buf[0], 'Q');
}
END_TEST

START_TEST(test_extension)
{
    struct addr a;

    ck_assert_int_eq(addr_parse(&a, "<u+a+b@d.example>", 17, "+"), ADDR_OK);
    ck_assert_str_eq(addr_extension(&a), "+a+b");
    ck_assert_uint_eq(a.base_len, 1);
    ck_assert_int_eq(addr_parse(&a, "<u+a+b@d.example>", 17, "-"), ADDR_OK);
    ck_assert_str_eq(addr_extension(&a), "");
    ck_assert_uint_eq(a.base_len, a.local_len);
    /* borrowed from a */
    ck_assert_int_eq(addr_parse(&a, "u-x", 3, "-"), ADDR_OK);
    ck_assert_ptr_eq(addr_extension(&a), a.local + 1);
}
END_TEST

START_TEST(test_fold)
{
    char buf[32];
    const char src[] = "AbC-Z@[IPv6:X]\xc3\x80z";

    addr_fold(buf, src, sizeof(src));
    ck_assert_str_eq(buf, "abc-z@[ipv6:x]\xc3\x80z");
    strcpy(buf, "MiXeD");
    addr_fold(buf, buf, 3);
    ck_assert_str_eq(buf, "mixeD");
    addr_fold(buf, "ZZZ", 0);
    ck_assert_str_eq(buf, "mixeD");
    strcpy(buf, "@[AZaz09]`{");
    addr_fold(buf, buf, strlen(buf));
    ck_assert_str_eq(buf, "@[azaz09]`{");
}
END_TEST

START_TEST(test_strerror)
{
    const char *seen[ADDR_ERR_LAST + 1];

    for (int e = ADDR_OK; e <= ADDR_ERR_LAST; e++) {
        seen[e] = addr_strerror((enum addr_error)e);
        ck_assert_ptr_nonnull(seen[e]);
        ck_assert_uint_gt(strlen(seen[e]), 0);
        for (int f = 0; f < e; f++)
            ck_assert_str_ne(seen[e], seen[f]);
    }
    ck_assert_str_eq(addr_strerror((enum addr_error)99), "unknown address error");
    ck_assert_str_eq(addr_strerror(ADDR_ERR_CONTROL), "control character in address");
}
END_TEST

/* xorshift64: a fixed sequence, so a failure can be replayed. */
static uint64_t next_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

static const char *const fuzz_seeds[] = {
    "<user@example.com>",
    "<@a.example,@b.example:User+Ext@D.Example.>",
    "\"john doe\"@example.com",
    "\"a\\\"b\\\\c\"@[IPv6:2001:db8::1]",
    "<postmaster>",
    "owner-list-request@x.example",
    "\"jo\\hn.doe\"@x",
    "<@[192.0.2.1]:\"@:<>\"@y.example>",
};

/* Bytes a mutation inserts: mostly grammar-relevant ones. */
static const char fuzz_alphabet[] = "<>@\"\\.,:[]+- aZ0_\r\n\x7f\x80\xff\x01";

/*
 * fuzz_one - parse one input and check the invariants of a success.
 * Returns NULL when they hold, else what broke.  (Plain tests rather than
 * ck_assert: check records every passing assertion, which would dominate
 * the run time of 200,000 iterations.)
 */
static const char *fuzz_one(const char *in, size_t len, const char *delims, size_t *ok)
{
    struct addr a, b;
    char out[ADDR_TEXT_MAX + 1], again[ADDR_TEXT_MAX + 1], folded[ADDR_TEXT_MAX + 1];
    size_t n;
    enum addr_error err = parse_exact(&a, in, len, delims);

    if (err != ADDR_OK)
        return err <= ADDR_ERR_LAST ? NULL : "unknown error code";
    (*ok)++;
    if (a.local_len >= sizeof(a.local) || a.domain_len > ADDR_DOMAIN_MAX ||
        a.base_len > a.local_len)
        return "length out of range";
    if (strlen(a.local) != a.local_len || strlen(a.domain) != a.domain_len)
        return "length does not match the text";
    n = addr_format(&a, true, false, out, sizeof(out));
    if (n == 0)
        return "canonical form does not fit ADDR_TEXT_MAX";
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] == 0x7f)
            return "control byte in the canonical form";
    for (size_t i = 0; i < a.domain_len; i++)
        if ((unsigned char)a.domain[i] >= 0x80)
            return "non-ASCII byte in the canonical domain";
    /* idempotence: the canonical form is its own canonical form */
    if (parse_exact(&b, out, n, delims) != ADDR_OK)
        return "canonical form does not parse";
    if (addr_format(&b, true, false, again, sizeof(again)) != n || strcmp(again, out) != 0)
        return "canonical form is not idempotent";
    if (b.base_len != a.base_len)
        return "extension moves on re-parse";
    /* and the folded key parses to itself too */
    if (addr_format(&a, true, true, folded, sizeof(folded)) != n)
        return "folded form has another length";
    if (parse_exact(&b, folded, n, NULL) != ADDR_OK)
        return "folded form does not parse";
    if (addr_format(&b, true, false, again, sizeof(again)) != n || strcmp(again, folded) != 0)
        return "folded form is not idempotent";
    return NULL;
}

/* Printable replay of a fuzz input. */
static void escape_input(char *dst, size_t dstsz, const char *in, size_t len)
{
    size_t o = 0;

    for (size_t i = 0; i < len && o + 5 < dstsz; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c >= 0x20 && c < 0x7f && c != '\\')
            dst[o++] = (char)c;
        else
            o += (size_t)snprintf(dst + o, dstsz - o, "\\x%02x", c);
    }
    dst[o] = '\0';
}

START_TEST(test_fuzz)
{
    static const char *const delim_sets[] = {NULL, "", "+", "+-", "-", ".=\""};
    uint64_t s = 0x9e3779b97f4a7c15u;
    char buf[128];
    size_t ok = 0, mutated = 0;

    for (int iter = 0; iter < 200000; iter++) {
        const char *delims = delim_sets[next_rand(&s) % 6];
        size_t len;

        if (iter % 4 == 0) {
            /* random bytes, any value */
            len = next_rand(&s) % 48;
            for (size_t i = 0; i < len; i++)
                buf[i] = (char)(next_rand(&s) & 0xff);
        } else {
            /* a valid address with a few edits */
            const char *seed =
                fuzz_seeds[next_rand(&s) % (sizeof(fuzz_seeds) / sizeof(*fuzz_seeds))];
            int edits = (int)(next_rand(&s) % 4);
            len = strlen(seed);
            memcpy(buf, seed, len);
            mutated++;
            for (int e = 0; e < edits; e++) {
                size_t pos = len > 0 ? next_rand(&s) % len : 0;
                char c = fuzz_alphabet[next_rand(&s) % (sizeof(fuzz_alphabet) - 1)];
                switch (next_rand(&s) % 4) {
                case 0: /* replace */
                    if (len > 0)
                        buf[pos] = c;
                    break;
                case 1: /* insert */
                    if (len < sizeof(buf)) {
                        memmove(buf + pos + 1, buf + pos, len - pos);
                        buf[pos] = c;
                        len++;
                    }
                    break;
                case 2: /* delete */
                    if (len > 0) {
                        memmove(buf + pos, buf + pos + 1, len - pos - 1);
                        len--;
                    }
                    break;
                default: /* truncate */
                    len = pos;
                    break;
                }
            }
        }
        const char *why = fuzz_one(buf, len, delims, &ok);
        if (why != NULL) {
            char shown[4 * sizeof(buf) + 1];
            escape_input(shown, sizeof(shown), buf, len);
            ck_abort_msg("iteration %d, delimiters \"%s\": %s: \"%s\"", iter,
                         delims != NULL ? delims : "(null)", why, shown);
        }
    }
    /* the loop must exercise the success path, not only errors */
    ck_assert_uint_gt(ok, mutated / 5);
}
END_TEST

#define N(table) ((int)(sizeof(table) / sizeof(*(table))))

static Suite *addr_suite(void)
{
    Suite *s = suite_create("addr");
    TCase *tc;

    tc = tcase_create("errors");
    tcase_add_loop_test(tc, test_errors, 0, N(error_cases));
    suite_add_tcase(s, tc);
    tc = tcase_create("canonical_forms");
    tcase_add_loop_test(tc, test_forms, 0, N(form_cases));
    suite_add_tcase(s, tc);
    tc = tcase_create("extension_split");
    tcase_add_loop_test(tc, test_delimiters, 0, N(delim_cases));
    tcase_add_test(tc, test_extension);
    suite_add_tcase(s, tc);
    tc = tcase_create("length_limits");
    tcase_add_test(tc, test_local_length);
    tcase_add_test(tc, test_domain_length);
    suite_add_tcase(s, tc);
    tc = tcase_create("null_input");
    tcase_add_test(tc, test_null_input);
    suite_add_tcase(s, tc);
    tc = tcase_create("format");
    tcase_add_loop_test(tc, test_format, 0, N(format_cases));
    tcase_add_test(tc, test_format_small_buffer);
    suite_add_tcase(s, tc);
    tc = tcase_create("fold");
    tcase_add_test(tc, test_fold);
    suite_add_tcase(s, tc);
    tc = tcase_create("strerror");
    tcase_add_test(tc, test_strerror);
    suite_add_tcase(s, tc);
    tc = tcase_create("fuzz");
    tcase_add_test(tc, test_fuzz);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(addr_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
