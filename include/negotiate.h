/*
 * negotiate.h - what hosted-milter asks of the MTA in the milter protocol
 * negotiation, and the callbacks of the stages it does not need.
 *
 * Owns the protocol stages left out (SMFIP_NO*) or taken without a reply
 * (SMFIP_NR_*), and the macro lists asked for with smfi_setsymlist.  Only
 * RCPT and end of message need an answer.  The benchmark's null milter
 * uses this module too, so that it negotiates exactly alike.
 */
#ifndef HOSTED_MILTER_NEGOTIATE_H
#define HOSTED_MILTER_NEGOTIATE_H

#include <stdbool.h> /* before mfapi.h, which otherwise typedefs bool */

#include <libmilter/mfapi.h>

/*
 * What one connection negotiated.  The private data (smfi_setpriv) of a
 * milter that uses negotiate_stage_callbacks must begin with it: the
 * callbacks read it there.
 */
struct negotiated {
    unsigned long noreply; /* the SMFIP_NR_* flags granted */
};

/*
 * negotiate_protocol - the protocol flags to answer an MTA offering
 * `offered` (xxfi_negotiate's f1): every stage but RCPT and end of message
 * left out where the MTA can, else taken without a reply; n->noreply gets
 * the latter.  libmilter offers every NR flag and answers by itself for an
 * MTA that lacks one.
 */
unsigned long negotiate_protocol(unsigned long offered, struct negotiated *n);

/*
 * negotiate_symlists - ask for the macros the milter reads (smfi_setsymlist,
 * when the MTA offered SMFIF_SETSYMLIST): i at MAIL (the MTA sends the
 * macros of a stage it leaves out), i v {rcpt_addr} {rcpt_mailer} at RCPT,
 * i at end of message.  Returns MI_SUCCESS or MI_FAILURE (the MTA's
 * default macros are used then).
 */
int negotiate_symlists(SMFICTX *ctx);

/*
 * negotiate_stage_callbacks - set d's CONNECT, HELO, DATA, header, EOH and
 * UNKNOWN callbacks: "no reply" where that was negotiated (libmilter logs
 * an answer there as an error), else continue (an MTA that sends a stage
 * it was asked to leave out still gets an answer).
 */
void negotiate_stage_callbacks(struct smfiDesc *d);

/* negotiate_pass - the answer of such a stage (for a callback of the
 * caller's own, e.g. MAIL): SMFIS_NOREPLY or SMFIS_CONTINUE. */
sfsistat negotiate_pass(SMFICTX *ctx, unsigned long noreply);

#endif
