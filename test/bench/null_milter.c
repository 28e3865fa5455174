/*
 * null_milter.c - the benchmark's baseline milter: negotiates exactly like
 * hosted-milter (same actions, protocol flags and setsymlist macros as
 * milter/filter.c) and returns SMFIS_CONTINUE everywhere, so that the cost
 * measured against it is hosted-milter's own work.  Not a product binary.
 *
 *   null_milter -s unix:/path [-T timeout]
 */
#include <stdbool.h> /* before mfapi.h, which otherwise typedefs bool */

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

/* Keep in step with milter/filter.c. */
#define MACROS_MAIL "i v {daemon_name}"
#define MACROS_RCPT "i {rcpt_addr} {rcpt_mailer}"
#define MACROS_EOM "i"

static sfsistat on_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
                             unsigned long f3, unsigned long *pf0, unsigned long *pf1,
                             unsigned long *pf2, unsigned long *pf3)
{
    const unsigned long need = SMFIF_ADDRCPT | SMFIF_DELRCPT;
    const unsigned long skip = SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOHDRS | SMFIP_NOEOH |
                               SMFIP_NOBODY | SMFIP_NOUNKNOWN | SMFIP_NODATA;
    char mail[] = MACROS_MAIL, rcpt[] = MACROS_RCPT, eom[] = MACROS_EOM;

    (void)f2;
    (void)f3;
    if ((f0 & need) != need)
        return SMFIS_REJECT;
    *pf0 = need | (f0 & (SMFIF_ADDRCPT_PAR | SMFIF_SETSYMLIST));
    *pf1 = f1 & skip;
    *pf2 = 0;
    *pf3 = 0;
    if ((f0 & SMFIF_SETSYMLIST) != 0) {
        /* Failure only means the MTA's default macros are used; go on. */
        (void)smfi_setsymlist(ctx, SMFIM_ENVFROM, mail);
        (void)smfi_setsymlist(ctx, SMFIM_ENVRCPT, rcpt);
        (void)smfi_setsymlist(ctx, SMFIM_EOM, eom);
    }
    return SMFIS_CONTINUE;
}

static sfsistat on_envfrom(SMFICTX *ctx, char **argv)
{
    (void)ctx;
    (void)argv;
    return SMFIS_CONTINUE;
}

static sfsistat on_envrcpt(SMFICTX *ctx, char **argv)
{
    (void)ctx;
    (void)argv;
    return SMFIS_CONTINUE;
}

static sfsistat on_ctx(SMFICTX *ctx)
{
    (void)ctx;
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
        .xxfi_eom = on_ctx,
        .xxfi_abort = on_ctx,
        .xxfi_close = on_ctx,
        .xxfi_negotiate = on_negotiate,
    };

    while ((opt = getopt(argc, argv, "s:T:")) != -1) {
        switch (opt) {
        case 's':
            conn = optarg;
            break;
        case 'T':
            timeout = atoi(optarg);
            break;
        default:
            fprintf(stderr, "usage: %s -s unix:/path [-T timeout]\n", argv[0]);
            return 2;
        }
    }
    if (conn == NULL) {
        fprintf(stderr, "usage: %s -s unix:/path [-T timeout]\n", argv[0]);
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
