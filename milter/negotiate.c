/*
 * negotiate.c - the stages hosted-milter leaves out or takes without a
 * reply, its macro lists, and the callbacks of the stages it does not
 * need (see negotiate.h).
 */
#include "negotiate.h"

#include <stddef.h>

/*
 * Each stage the milter never needs, with its "no reply" flag.  Body
 * chunks get none: libmilter skips xxfi_eom when a body callback answers
 * "no reply" to a last chunk sent with end of message.
 */
static const struct {
    unsigned long skip, noreply;
} stages[] = {
    {SMFIP_NOCONNECT, SMFIP_NR_CONN}, {SMFIP_NOHELO, SMFIP_NR_HELO},
    {SMFIP_NOMAIL, SMFIP_NR_MAIL},    {SMFIP_NODATA, SMFIP_NR_DATA},
    {SMFIP_NOHDRS, SMFIP_NR_HDR},     {SMFIP_NOEOH, SMFIP_NR_EOH},
    {SMFIP_NOUNKNOWN, SMFIP_NR_UNKN}, {SMFIP_NOBODY, 0},
};

unsigned long negotiate_protocol(unsigned long offered, struct negotiated *n)
{
    unsigned long skip = 0, noreply = 0;

    for (size_t i = 0; i < sizeof stages / sizeof stages[0]; i++) {
        if ((offered & stages[i].skip) != 0)
            skip |= stages[i].skip;
        else
            noreply |= offered & stages[i].noreply;
    }
    n->noreply = noreply;
    return skip | noreply;
}

int negotiate_symlists(SMFICTX *ctx)
{
    char mail[] = "i", rcpt[] = "i v {rcpt_addr} {rcpt_mailer}", eom[] = "i";

    if (smfi_setsymlist(ctx, SMFIM_ENVFROM, mail) != MI_SUCCESS ||
        smfi_setsymlist(ctx, SMFIM_ENVRCPT, rcpt) != MI_SUCCESS ||
        smfi_setsymlist(ctx, SMFIM_EOM, eom) != MI_SUCCESS)
        return MI_FAILURE;
    return MI_SUCCESS;
}

sfsistat negotiate_pass(SMFICTX *ctx, unsigned long noreply)
{
    const struct negotiated *n = smfi_getpriv(ctx);

    return n != NULL && (n->noreply & noreply) != 0 ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat on_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *addr)
{
    (void)host;
    (void)addr;
    return negotiate_pass(ctx, SMFIP_NR_CONN);
}

static sfsistat on_helo(SMFICTX *ctx, char *helo)
{
    (void)helo;
    return negotiate_pass(ctx, SMFIP_NR_HELO);
}

static sfsistat on_data(SMFICTX *ctx)
{
    return negotiate_pass(ctx, SMFIP_NR_DATA);
}

static sfsistat on_header(SMFICTX *ctx, char *name, char *value)
{
    (void)name;
    (void)value;
    return negotiate_pass(ctx, SMFIP_NR_HDR);
}

static sfsistat on_eoh(SMFICTX *ctx)
{
    return negotiate_pass(ctx, SMFIP_NR_EOH);
}

static sfsistat on_unknown(SMFICTX *ctx, const char *cmd)
{
    (void)cmd;
    return negotiate_pass(ctx, SMFIP_NR_UNKN);
}

void negotiate_stage_callbacks(struct smfiDesc *d)
{
    d->xxfi_connect = on_connect;
    d->xxfi_helo = on_helo;
    d->xxfi_data = on_data;
    d->xxfi_header = on_header;
    d->xxfi_eoh = on_eoh;
    d->xxfi_unknown = on_unknown;
}
