/*
 * hosted_domains.c - the hosted domains as an MTA names them: the -D list
 * and the socketmap lookup (hosted_domains.h).
 *
 * Owns nothing: every answer comes from the table and addr.c's domain
 * normalisation.
 */
#include "hosted_domains.h"

#include <stdlib.h>
#include <string.h>

int hosted_domains_lookup(const struct table *t, const char *name, size_t len,
                          char canon[ADDR_DOMAIN_MAX + 1])
{
    const struct table_domain *d;

    /* The check of configuration and table files, so a name the MTA has
     * is read exactly as a configured one: folded, A-labels, no dot. */
    switch (addr_parse_domain(name, len, canon)) {
    case ADDR_OK:
        break;
    case ADDR_ERR_RESOURCE:
        canon[0] = '\0';
        return -1;
    default:
        canon[0] = '\0';
        return 0;
    }
    if (table_domain_lookup(t, canon, strlen(canon), &d) != 1) {
        canon[0] = '\0';
        return 0;
    }
    return 1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int hosted_domains_each(const struct table *t, int (*fn)(const char *name, void *arg), void *arg)
{
    size_t n = table_domain_count(t);
    const char **names = calloc(n > 0 ? n : 1, sizeof *names);
    int rc = 0;

    if (names == NULL)
        return -1;
    for (size_t i = 0; i < n; i++)
        names[i] = table_domain_at(t, i)->name;
    qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n && rc == 0; i++) {
        char unicode[4 * ADDR_DOMAIN_MAX + 1];
        rc = fn(names[i], arg);
        if (rc == 0 && addr_domain_to_unicode(names[i], unicode, sizeof unicode) == 1)
            rc = fn(unicode, arg);
    }
    free(names);
    return rc;
}
