/*
 * null_milter.c - the benchmark's baseline milter: negotiates exactly like
 * hosted-milter (same actions as milter/filter.c; protocol flags, "no
 * reply" stages and macro lists from milter/negotiate.c, which it is
 * built with) and continues everywhere, so that
 * the cost measured against it is hosted-milter's own work.  With -e it
 * also sends, at end of message, the edits hosted-milter sends for a
 * rewrite of every recipient (add with ORCPT, then delete), without any
 * lookup or logging: the like-for-like protocol baseline.  Not a product
 * binary.
 *
 *   null_milter -s unix:/path [-T timeout] [-e]
 */
#include <stdbool.h> /* before mfapi.h, which otherwise typedefs bool */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "negotiate.h"

/* -e: the edits hosted-milter sends for a rewrite of every RCPT. */
static bool edits;

/* Per connection (smfi_setpriv): the negotiated NR flags and, with -e,
 * this message's recipients as the client sent them. */
struct conn {
    struct negotiated neg; /* first: negotiate.c's callbacks read it */
    char **rcpts;
    size_t n, cap;
};

static void conn_reset(struct conn *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->rcpts[i]);
    c->n = 0;
}

static sfsistat on_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
                             unsigned long f3, unsigned long *pf0, unsigned long *pf1,
                             unsigned long *pf2, unsigned long *pf3)
{
    const unsigned long need = SMFIF_ADDRCPT | SMFIF_DELRCPT;
    struct conn *c = smfi_getpriv(ctx);

    (void)f2;
    (void)f3;
    if ((f0 & need) != need)
        return SMFIS_REJECT;
    if (c == NULL && ((c = calloc(1, sizeof *c)) == NULL || smfi_setpriv(ctx, c) != MI_SUCCESS)) {
        free(c);
        return SMFIS_REJECT;
    }
    *pf0 = need | (f0 & (SMFIF_ADDRCPT_PAR | SMFIF_SETSYMLIST));
    *pf1 = negotiate_protocol(f1, &c->neg);
    *pf2 = 0;
    *pf3 = 0;
    /* Failure only means the MTA's default macros are used; go on. */
    if ((f0 & SMFIF_SETSYMLIST) != 0)
        (void)negotiate_symlists(ctx);
    return SMFIS_CONTINUE;
}

static sfsistat on_envfrom(SMFICTX *ctx, char **argv)
{
    struct conn *c = smfi_getpriv(ctx);

    (void)argv;
    if (c != NULL)
        conn_reset(c);
    return negotiate_pass(ctx, SMFIP_NR_MAIL);
}

static sfsistat on_envrcpt(SMFICTX *ctx, char **argv)
{
    struct conn *c = smfi_getpriv(ctx);

    if (!edits || c == NULL || argv[0] == NULL)
        return SMFIS_CONTINUE;
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 4;
        char **p = realloc(c->rcpts, cap * sizeof *p);
        if (p == NULL)
            return SMFIS_TEMPFAIL;
        c->rcpts = p, c->cap = cap;
    }
    if ((c->rcpts[c->n] = strdup(argv[0])) == NULL)
        return SMFIS_TEMPFAIL;
    c->n++;
    return SMFIS_CONTINUE;
}

/* -e: what hosted-milter sends for "<NNNrcpt@dK.example>" rewritten to
 * mNNN@corp.example: the add (with the ORCPT) and then the delete. */
static sfsistat on_eom(SMFICTX *ctx)
{
    struct conn *c = smfi_getpriv(ctx);
    sfsistat rc = SMFIS_CONTINUE;

    for (size_t i = 0; c != NULL && i < c->n; i++) {
        const char *r = c->rcpts[i] + (c->rcpts[i][0] == '<');
        size_t digits = strspn(r, "0123456789");
        char target[600], orcpt[600];

        snprintf(target, sizeof target, "m%.*s@corp.example", (int)digits, r);
        snprintf(orcpt, sizeof orcpt, "ORCPT=rfc822;%.*s", (int)strcspn(r, ">"), r);
        if (smfi_addrcpt_par(ctx, target, orcpt) != MI_SUCCESS ||
            smfi_delrcpt(ctx, c->rcpts[i]) != MI_SUCCESS) {
            rc = SMFIS_TEMPFAIL;
            break;
        }
    }
    if (c != NULL)
        conn_reset(c);
    return rc;
}

static sfsistat on_abort(SMFICTX *ctx)
{
    struct conn *c = smfi_getpriv(ctx);

    if (c != NULL)
        conn_reset(c);
    return SMFIS_CONTINUE;
}

static sfsistat on_close(SMFICTX *ctx)
{
    struct conn *c = smfi_getpriv(ctx);

    if (c != NULL) {
        conn_reset(c);
        free(c->rcpts);
        free(c);
        smfi_setpriv(ctx, NULL);
    }
    return SMFIS_CONTINUE;
}

int main(int argc, char **argv)
{
    char name[] = "null-milter";
    const char *conn = NULL;
    int timeout = 300, opt;
    struct smfiDesc d = {
        .xxfi_name = name,
        .xxfi_version = SMFI_VERSION,
        .xxfi_flags = SMFIF_ADDRCPT | SMFIF_DELRCPT | SMFIF_ADDRCPT_PAR | SMFIF_SETSYMLIST,
        .xxfi_envfrom = on_envfrom,
        .xxfi_envrcpt = on_envrcpt,
        .xxfi_eom = on_eom,
        .xxfi_abort = on_abort,
        .xxfi_close = on_close,
        .xxfi_negotiate = on_negotiate,
    };

    negotiate_stage_callbacks(&d);
    while ((opt = getopt(argc, argv, "s:T:e")) != -1) {
        switch (opt) {
        case 'e':
            edits = true;
            break;
        case 's':
            conn = optarg;
            break;
        case 'T':
            timeout = atoi(optarg);
            break;
        default:
            fprintf(stderr, "usage: %s -s unix:/path [-T timeout] [-e]\n", argv[0]);
            return 2;
        }
    }
    if (conn == NULL) {
        fprintf(stderr, "usage: %s -s unix:/path [-T timeout] [-e]\n", argv[0]);
        return 2;
    }
    if (smfi_setconn((char *)conn) != MI_SUCCESS || smfi_settimeout(timeout) != MI_SUCCESS ||
        smfi_register(d) != MI_SUCCESS || smfi_opensocket(true) != MI_SUCCESS) {
        fprintf(stderr, "null_milter: cannot set up %s\n", conn);
        return 1;
    }
    /* The same line hosted-milter -f prints, for the harness to wait on. */
    fprintf(stderr, "null_milter: listening on %s\n", conn);
    return smfi_main() == MI_SUCCESS ? 0 : 1;
}
