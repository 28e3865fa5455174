/*
 * mta_check.c - the common half of -C: the ok/warning/error report, the
 * hosted domains, socket specs and their comparison, chroot paths, Postfix
 * list syntax and domain patterns, bounded reads.  See mta_check.h.
 */
#include "mta_check.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "config.h"
#include "table.h"
#include "util.h"

/* ---- the report ----------------------------------------------------------- */

/* Control bytes from the MTA's files must not reach the terminal as such;
 * UTF-8 (U-label domains) is kept readable. */
__attribute__((format(printf, 3, 0))) static void report(struct mta_report *r, const char *level,
                                                         const char *fmt, va_list ap)
{
    char line[4096];

    vsnprintf(line, sizeof line, fmt, ap);
    fputs(level, r->out);
    for (const unsigned char *p = (const unsigned char *)line; *p != '\0'; p++) {
        if (*p < 0x20 || *p == 0x7f)
            fprintf(r->out, "\\x%02x", *p);
        else
            fputc(*p, r->out);
    }
    fputc('\n', r->out);
}

void mta_ok(struct mta_report *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(r, "ok: ", fmt, ap);
    va_end(ap);
    r->nok++;
}

void mta_warn(struct mta_report *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(r, "warning: ", fmt, ap);
    va_end(ap);
    r->nwarn++;
}

void mta_error(struct mta_report *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(r, "error: ", fmt, ap);
    va_end(ap);
    r->nerr++;
}

/* ---- domains -------------------------------------------------------------- */

size_t mta_domain_forms(const struct mta_ctx *c, size_t i, const char *forms[2])
{
    forms[0] = c->domains[i].alabel;
    forms[1] = c->domains[i].ulabel;
    return forms[1] != NULL ? 2 : 1;
}

/* Domain names as the MTAs compare them: ASCII case and one trailing dot
 * ignored. */
static bool same_name(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);

    if (la > 0 && a[la - 1] == '.')
        la--;
    if (lb > 0 && b[lb - 1] == '.')
        lb--;
    return la == lb && strncasecmp(a, b, la) == 0;
}

bool mta_is_hosted(const struct mta_ctx *c, const char *name)
{
    for (size_t i = 0; i < c->ndomains; i++)
        if (same_name(c->domains[i].alabel, name) ||
            (c->domains[i].ulabel != NULL && same_name(c->domains[i].ulabel, name)))
            return true;
    return false;
}

const char **mta_forms(const struct mta_ctx *c, size_t *n)
{
    const char **keys = calloc(2 * c->ndomains + 1, sizeof *keys);

    *n = 0;
    for (size_t i = 0; keys != NULL && i < c->ndomains; i++)
        *n += mta_domain_forms(c, i, keys + *n);
    return keys;
}

const char *mta_alabel_of(const struct mta_ctx *c, const char *key)
{
    for (size_t i = 0; i < c->ndomains; i++)
        if (c->domains[i].ulabel != NULL && strcmp(c->domains[i].ulabel, key) == 0)
            return c->domains[i].alabel;
    return NULL;
}

void mta_report_coverage(struct mta_ctx *c, const char *what, const char *const *keys,
                         const bool *found, size_t n, const char *refused)
{
    size_t missing = 0, idn = 0;

    for (size_t i = 0; i < n; i++) {
        const char *of = mta_alabel_of(c, keys[i]);
        idn += of != NULL;
        if (found[i])
            continue;
        missing++;
        if (of != NULL)
            mta_error(&c->rep,
                      "%s: %s (the U-label form of %s) is not listed (names are compared as "
                      "text: its mail is refused, %s)",
                      what, keys[i], of, refused);
        else
            mta_error(&c->rep, "%s: hosted domain %s is not listed (its mail is refused, %s)", what,
                      keys[i], refused);
    }
    if (missing == 0)
        mta_ok(&c->rep, "%s: all %zu hosted domains are listed (%zu in both IDN forms)", what,
               c->ndomains, idn);
}

int mta_ctx_add_domain(struct mta_ctx *c, const char *alabel)
{
    char unicode[4 * ADDR_DOMAIN_MAX + 1];
    struct mta_domain *d;

    d = realloc(c->domains, (c->ndomains + 1) * sizeof *d);
    if (d == NULL)
        return -1;
    c->domains = d;
    d += c->ndomains;
    d->alabel = strdup(alabel);
    d->ulabel = NULL;
    if (d->alabel != NULL && addr_domain_to_unicode(alabel, unicode, sizeof unicode) == 1 &&
        (d->ulabel = strdup(unicode)) == NULL) {
        free(d->alabel);
        d->alabel = NULL;
    }
    if (d->alabel == NULL)
        return -1;
    c->ndomains++;
    return 0;
}

void mta_ctx_free_domains(struct mta_ctx *c)
{
    for (size_t i = 0; i < c->ndomains; i++) {
        free(c->domains[i].alabel);
        free(c->domains[i].ulabel);
    }
    free(c->domains);
    c->domains = NULL;
    c->ndomains = 0;
}

/* ---- the run -------------------------------------------------------------- */

int mta_check_target(const char *arg, const char **where)
{
    static const struct {
        const char *name, *def;
        int code;
    } mtas[] = {{"postfix", "/etc/postfix", 'p'}, {"sendmail", "/etc/mail/sendmail.cf", 's'}};

    for (size_t i = 0; i < sizeof mtas / sizeof mtas[0]; i++) {
        size_t n = strlen(mtas[i].name);
        if (strncmp(arg, mtas[i].name, n) != 0)
            continue;
        if (arg[n] == '\0') {
            *where = mtas[i].def;
            return mtas[i].code;
        }
        if (arg[n] == ':' && arg[n + 1] != '\0') {
            *where = arg + n + 1;
            return mtas[i].code;
        }
    }
    return 0;
}

static const char *plural(unsigned n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

int mta_check_run(const struct config *cfg, const char *arg, FILE *out)
{
    struct mta_ctx c = {.rep = {.out = out}, .socket = cfg->socket};
    const char *where = NULL;
    int kind = mta_check_target(arg, &where), status = MTA_EXIT_CANNOT;

    if (kind == 0)
        return MTA_EXIT_CANNOT;
    for (size_t i = 0; i < table_domain_count(cfg->table); i++)
        if (mta_ctx_add_domain(&c, table_domain_at(cfg->table, i)->name) < 0) {
            fprintf(stderr, "hosted-milter: out of memory\n");
            goto out;
        }
    if ((kind == 'p' ? mta_postfix_check(&c, where) : mta_sendmail_check(&c, where)) != 0)
        goto out;
    fprintf(out, "%s %s: %u %s, %u %s, %u ok\n", kind == 'p' ? "postfix" : "sendmail", where,
            c.rep.nerr, plural(c.rep.nerr, "error", "errors"), c.rep.nwarn,
            plural(c.rep.nwarn, "warning", "warnings"), c.rep.nok);
    status = c.rep.nerr > 0 ? MTA_EXIT_ERRORS : MTA_EXIT_OK;
out:
    if (fflush(out) != 0)
        status = MTA_EXIT_CANNOT;
    mta_ctx_free_domains(&c);
    return status;
}

/* ---- socket specs --------------------------------------------------------- */

static int copy(char *dst, size_t dstsz, const char *src, size_t n)
{
    if (n >= dstsz)
        return -1;
    memcpy(dst, src, n);
    dst[n] = '\0';
    return 0;
}

static int set_unix(struct mta_sock *out, const char *path)
{
    out->kind = MTA_SOCK_UNIX;
    return path[0] == '\0' ? -1 : copy(out->path, sizeof out->path, path, strlen(path));
}

/* host without its brackets, then the port; both must be non-empty except
 * a libmilter host, which may be left out. */
static int set_inet(struct mta_sock *out, enum mta_sock_kind kind, const char *host, size_t hlen,
                    const char *port, size_t plen)
{
    out->kind = kind;
    if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
        host++;
        hlen -= 2;
    }
    if (plen == 0 || strcspn(port, " \t,@") < plen)
        return -1;
    if (copy(out->host, sizeof out->host, host, hlen) < 0)
        return -1;
    return copy(out->port, sizeof out->port, port, plen);
}

int mta_sock_parse_libmilter(const char *spec, struct mta_sock *out)
{
    const char *at;

    memset(out, 0, sizeof *out);
    if (strncmp(spec, "unix:", 5) == 0)
        return set_unix(out, spec + 5);
    if (strncmp(spec, "local:", 6) == 0)
        return set_unix(out, spec + 6);
    if (spec[0] == '/')
        return set_unix(out, spec);
    if (strncmp(spec, "inet:", 5) == 0 || strncmp(spec, "inet6:", 6) == 0) {
        enum mta_sock_kind kind = spec[4] == '6' ? MTA_SOCK_INET6 : MTA_SOCK_INET;
        const char *p = spec + (kind == MTA_SOCK_INET6 ? 6 : 5);
        if ((at = strchr(p, '@')) == NULL)
            return set_inet(out, kind, "", 0, p, strlen(p));
        return set_inet(out, kind, at + 1, strlen(at + 1), p, (size_t)(at - p));
    }
    return -1;
}

int mta_sock_parse_postfix(const char *spec, struct mta_sock *out)
{
    const char *p, *colon;

    memset(out, 0, sizeof *out);
    if (strncmp(spec, "unix:", 5) == 0)
        return set_unix(out, spec + 5);
    if (strncmp(spec, "local:", 6) == 0)
        return set_unix(out, spec + 6);
    if (strncmp(spec, "inet:", 5) != 0)
        return -1;
    p = spec + 5;
    if ((colon = strrchr(p, ':')) == NULL || colon == p)
        return -1;
    return set_inet(out, strchr(p, ':') != colon && p[0] != '[' ? MTA_SOCK_INET6 : MTA_SOCK_INET, p,
                    (size_t)(colon - p), colon + 1, strlen(colon + 1));
}

static bool any_host(const char *h)
{
    return h[0] == '\0' || strcmp(h, "0.0.0.0") == 0 || strcmp(h, "::") == 0 || strcmp(h, "*") == 0;
}

/* Two paths name one file: equal once normalised, or names equal in one
 * directory (a symlinked or bind-mounted directory). */
static bool same_path(const char *a, const char *b)
{
    char na[MTA_PATH_MAX], nb[MTA_PATH_MAX];
    const char *ba, *bb;
    struct stat sa, sb;

    if (mta_path_normalize(a, na, sizeof na) < 0 || mta_path_normalize(b, nb, sizeof nb) < 0)
        return false;
    if (strcmp(na, nb) == 0)
        return true;
    ba = strrchr(na, '/');
    bb = strrchr(nb, '/');
    if (ba == NULL || bb == NULL || strcmp(ba, bb) != 0)
        return false;
    na[ba == na ? 1 : (size_t)(ba - na)] = '\0';
    nb[bb == nb ? 1 : (size_t)(bb - nb)] = '\0';
    return stat(na, &sa) == 0 && stat(nb, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

int mta_sock_same(const struct mta_sock *ours, const struct mta_sock *theirs)
{
    if (ours->kind == MTA_SOCK_UNIX || theirs->kind == MTA_SOCK_UNIX)
        return ours->kind == theirs->kind && same_path(ours->path, theirs->path);
    if (strcmp(ours->port, theirs->port) != 0)
        return 0;
    return any_host(ours->host) || strcasecmp(ours->host, theirs->host) == 0;
}

void mta_sock_format(const struct mta_sock *s, char *out, size_t outsz)
{
    if (s->kind == MTA_SOCK_UNIX)
        snprintf(out, outsz, "unix:%s", s->path);
    else
        snprintf(out, outsz, "%s:%s%s%s", s->kind == MTA_SOCK_INET6 ? "inet6" : "inet", s->port,
                 s->host[0] != '\0' ? "@" : "", s->host);
}

/* ---- paths ---------------------------------------------------------------- */

int mta_path_normalize(const char *path, char *out, size_t outsz)
{
    size_t o = 0, n = strlen(path);
    bool abs = path[0] == '/';

    if (n >= outsz || outsz < 2)
        return -1;
    if (abs)
        out[o++] = '/';
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && path[j] != '/')
            j++;
        size_t len = j - i;
        if (len == 0 || (len == 1 && path[i] == '.')) {
            /* "//" or "/./": nothing */
        } else if (len == 2 && path[i] == '.' && path[i + 1] == '.' && o > (abs ? 1u : 0u) &&
                   !(o >= 2 && out[o - 1] == '.' && out[o - 2] == '.' &&
                     (o == 2 || out[o - 3] == '/'))) {
            while (o > (abs ? 1u : 0u) && out[o - 1] != '/')
                o--;
            if (o > (abs ? 1u : 0u))
                o--; /* the '/' before the dropped name */
        } else if (len == 2 && path[i] == '.' && path[i + 1] == '.' && abs) {
            /* "/.." is "/" */
        } else {
            if (o > 0 && out[o - 1] != '/')
                out[o++] = '/';
            memcpy(out + o, path + i, len);
            o += len;
        }
        i = j + 1;
    }
    if (o == 0)
        out[o++] = '.';
    out[o] = '\0';
    return 0;
}

int mta_chroot_path(const char *queue_dir, bool chrooted, const char *p, char *out, size_t outsz)
{
    char joined[2 * MTA_PATH_MAX + 2], inside[MTA_PATH_MAX];

    if (chrooted) {
        /* inside the chroot, ".." stops at its root: resolve there first */
        snprintf(joined, sizeof joined, "/%s", p);
        if (strlen(joined) >= MTA_PATH_MAX || mta_path_normalize(joined, inside, sizeof inside) < 0)
            return -1;
        snprintf(joined, sizeof joined, "%s%s", queue_dir, inside);
    } else if (p[0] == '/') {
        snprintf(joined, sizeof joined, "%s", p);
    } else {
        snprintf(joined, sizeof joined, "%s/%s", queue_dir, p);
    }
    if (strlen(joined) >= MTA_PATH_MAX)
        return -1;
    return mta_path_normalize(joined, out, outsz);
}

/* ---- lists ---------------------------------------------------------------- */

static int list_add(struct mta_list *l, const char *s, size_t n);

int mta_list_add(struct mta_list *l, const char *s)
{
    return list_add(l, s, strlen(s));
}

static int list_add(struct mta_list *l, const char *s, size_t n)
{
    char **v = realloc(l->v, (l->n + 1) * sizeof *v);
    char *copy_;

    if (v == NULL)
        return -1;
    l->v = v;
    if ((copy_ = malloc(n + 1)) == NULL)
        return -1;
    memcpy(copy_, s, n);
    copy_[n] = '\0';
    l->v[l->n++] = copy_;
    return 0;
}

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

int mta_list_split(const char *s, bool commas_only, struct mta_list *l)
{
    size_t i = 0, n = strlen(s);

    while (i < n) {
        size_t start, end;
        if (s[i] == ',' || is_space(s[i])) {
            i++;
            continue;
        }
        start = i;
        if (s[i] == '{') {
            int depth = 0;
            for (; i < n; i++) {
                depth += s[i] == '{' ? 1 : s[i] == '}' ? -1 : 0;
                if (depth == 0)
                    break;
            }
            if (i == n)
                return -1;
            end = ++i;
        } else {
            while (i < n && s[i] != ',' && (commas_only || !is_space(s[i])))
                i++;
            end = i;
            while (end > start && is_space(s[end - 1]))
                end--;
        }
        if (list_add(l, s + start, end - start) < 0)
            return -1;
    }
    return 0;
}

static int cmp_nocase(const void *a, const void *b)
{
    int c = strcasecmp(*(char *const *)a, *(char *const *)b);
    return c != 0 ? c : strcmp(*(char *const *)a, *(char *const *)b);
}

void mta_list_unique(struct mta_list *l)
{
    size_t o = 0;

    if (l->n == 0)
        return;
    qsort(l->v, l->n, sizeof *l->v, cmp_nocase);
    for (size_t i = 0; i < l->n; i++) {
        if (o > 0 && strcasecmp(l->v[o - 1], l->v[i]) == 0)
            free(l->v[i]);
        else
            l->v[o++] = l->v[i];
    }
    l->n = o;
}

void mta_list_free(struct mta_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

int mta_list_words(const char *text, struct mta_list *l)
{
    const char *p = text;

    while (*p != '\0') {
        const char *eol = strchr(p, '\n');
        size_t len = eol != NULL ? (size_t)(eol - p) : strlen(p);
        size_t cut = strcspn(p, "#\n");
        char *line;
        int rc;

        if (cut > len)
            cut = len;
        if ((line = malloc(cut + 1)) == NULL)
            return -1;
        memcpy(line, p, cut);
        line[cut] = '\0';
        rc = mta_list_split(line, false, l);
        free(line);
        if (rc < 0)
            return -1;
        p += len;
        if (*p == '\n')
            p++;
    }
    return 0;
}

bool mta_pattern_match(const char *pat, const char *name, bool parent_matches)
{
    size_t lp = strlen(pat), ln = strlen(name);

    if (lp > 0 && pat[lp - 1] == '.')
        lp--;
    if (ln > 0 && name[ln - 1] == '.')
        ln--;
    if (lp == 0 || ln == 0)
        return false;
    if (pat[0] == '.')
        return ln > lp - 1 && strncasecmp(name + ln - lp, pat, lp) == 0;
    if (ln == lp)
        return strncasecmp(name, pat, lp) == 0;
    return parent_matches && ln > lp + 1 && name[ln - lp - 1] == '.' &&
           strncasecmp(name + ln - lp, pat, lp) == 0;
}

/* ---- socketmap ----------------------------------------------------------- */

long mta_netstring_parse(const char *buf, size_t len, const char **data, size_t *dlen)
{
    size_t i = 0, n = 0;

    while (i < len && buf[i] >= '0' && buf[i] <= '9') {
        if (++i > 5)
            return -1;
        n = n * 10 + (size_t)(buf[i - 1] - '0');
    }
    if (i == len)
        return 0;
    if (i == 0 || buf[i] != ':' || (i > 1 && buf[0] == '0'))
        return -1;
    if (len < i + 1 + n + 1)
        return 0;
    if (buf[i + 1 + n] != ',')
        return -1;
    *data = buf + i + 1;
    *dlen = n;
    return (long)(i + n + 2);
}

/* ---- files ---------------------------------------------------------------- */

int mta_read_file(const char *path, char **out, size_t *len, const char **why)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

    *out = NULL;
    *why = "cannot open";
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        *why = "not a regular file";
        close(fd);
        return -1;
    }
    if ((unsigned long long)st.st_size > MTA_READ_MAX) {
        *why = "too large";
        close(fd);
        return -1;
    }
    close(fd);
    if (util_read_file(path, out, len, why) != 0)
        return -1;
    if (*len > MTA_READ_MAX || memchr(*out, '\0', *len) != NULL) {
        *why = *len > MTA_READ_MAX ? "too large" : "holds a NUL byte";
        free(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}
