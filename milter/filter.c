/*
 * filter.c - the libmilter glue: negotiate, RCPT (the first of a message
 * takes the live config; resolve; reply or record), EOM (replay the
 * rcpt_plan edits), abort and close.  Decisions live in policy.c and
 * rcpt_plan.c, not here.
 *
 * Round trips: only RCPT and end of message need an answer, so every other
 * stage is negotiated away (SMFIP_NO*), MAIL included; a stage the MTA
 * cannot leave out is answered with "no reply" (SMFIP_NR_*).
 *
 * Owns struct conn, the private data of one MTA connection.
 */
#include "filter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "live.h"
#include "log.h"
#include "metrics.h"
#include "negotiate.h"
#include "policy.h"
#include "rcpt_plan.h"

/* A queue id kept to tell messages apart (longer ones compare by prefix). */
#define QID_KEEP 64

/* A logged RCPT argument: escaped, bounded (a longer one ends in "..."). */
#define RCPT_LOG_MAX 1024
/* A logged list of targets. */
#define TARGETS_LOG_MAX 1536

struct conn {
    struct negotiated neg;       /* first: negotiate.c's callbacks read it */
    bool addrcpt_par;            /* the MTA granted SMFIF_ADDRCPT_PAR */
    enum rcpt_mta mta;           /* from macro v, at the first RCPT */
    char qid[QID_KEEP];          /* macro i of this message ("" not yet) */
    struct live_ref *cfg;        /* held from the first RCPT to EOM / abort */
    struct rcpt_plan *plan;      /* this message's recipients */
    struct policy_result result; /* reused for every RCPT */
};

static struct conn *conn_new(void)
{
    struct conn *c = calloc(1, sizeof *c);

    if (c == NULL)
        return NULL;
    if ((c->plan = rcpt_plan_new()) == NULL) {
        free(c);
        return NULL;
    }
    policy_result_init(&c->result);
    return c;
}

/* Forgets the current message and lets go of its configuration. */
static void conn_reset(struct conn *c)
{
    rcpt_plan_reset(c->plan);
    live_release(c->cfg);
    c->cfg = NULL;
    c->qid[0] = '\0';
}

static void conn_free(struct conn *c)
{
    if (c == NULL)
        return;
    conn_reset(c);
    rcpt_plan_free(c->plan);
    policy_result_free(&c->result);
    free(c);
}

/* The queue id (macro i), escaped, or NOQUEUE (Postfix's first RCPT). */
static const char *queue_id(SMFICTX *ctx, char *buf, size_t bufsz)
{
    char name[] = "i";
    const char *qid = smfi_getsymval(ctx, name);

    if (qid == NULL || *qid == '\0')
        return "NOQUEUE";
    log_escape(buf, bufsz, qid, strlen(qid));
    return buf;
}

/* Sets an SMTP reply; '%' doubled (Sendmail formats the text, Postfix undoes
 * "%%").  Failure is logged: the MTA then uses its own generic reply. */
static void set_reply(SMFICTX *ctx, const char *qid, const char *status, const char *xstatus,
                      const char *text)
{
    char code[4], xcode[16], msg[2 * 1024 + 1];
    size_t n = 0;

    snprintf(code, sizeof code, "%s", status);
    snprintf(xcode, sizeof xcode, "%s", xstatus);
    for (; *text != '\0' && n + 2 < sizeof msg; text++) {
        if (*text == '%')
            msg[n++] = '%';
        msg[n++] = *text;
    }
    msg[n] = '\0';
    if (smfi_setreply(ctx, code, xcode, msg) != MI_SUCCESS)
        log_warning("%s: smfi_setreply(%s %s) failed; the MTA uses its default reply", qid, code,
                    xcode);
}

/* A transient failure of ours: 451 4.3.0, for a RCPT or the message;
 * counted by cause. */
static sfsistat tempfail(SMFICTX *ctx, const char *qid, enum metrics_tempfail cause)
{
    metrics_tempfail(cause);
    set_reply(ctx, qid, "451", "4.3.0",
              "Temporary failure in recipient processing, try again later");
    return SMFIS_TEMPFAIL;
}

/* The connection's state, made on first use (at negotiate, or at RCPT for
 * an MTA without negotiation); NULL when out of memory. */
static struct conn *conn_of(SMFICTX *ctx)
{
    struct conn *c = smfi_getpriv(ctx);

    if (c != NULL)
        return c;
    if ((c = conn_new()) == NULL)
        return NULL;
    if (smfi_setpriv(ctx, c) != MI_SUCCESS) {
        conn_free(c);
        return NULL;
    }
    return c;
}

static sfsistat on_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
                             unsigned long f3, unsigned long *pf0, unsigned long *pf1,
                             unsigned long *pf2, unsigned long *pf3)
{
    const unsigned long need = SMFIF_ADDRCPT | SMFIF_DELRCPT;
    struct conn *c;

    (void)f2;
    (void)f3;
    if ((f0 & need) != need) {
        log_err("the MTA does not offer to add and delete recipients (actions 0x%lx); "
                "refusing the connection",
                f0);
        return SMFIS_REJECT;
    }
    if ((c = conn_of(ctx)) == NULL) {
        log_err("out of memory for a new connection; refusing it");
        return SMFIS_REJECT;
    }
    c->addrcpt_par = (f0 & SMFIF_ADDRCPT_PAR) != 0;
    *pf0 = need | (f0 & (SMFIF_ADDRCPT_PAR | SMFIF_SETSYMLIST));
    *pf1 = negotiate_protocol(f1, &c->neg);
    *pf2 = 0;
    *pf3 = 0;
    if ((f0 & SMFIF_SETSYMLIST) != 0 && negotiate_symlists(ctx) != MI_SUCCESS)
        log_warning("smfi_setsymlist failed; relying on the MTA's default macros");
    log_debug("negotiated: MTA offers actions 0x%lx protocol 0x%lx; asked for 0x%lx 0x%lx", f0, f1,
              *pf0, *pf1);
    return SMFIS_CONTINUE;
}

/* MAIL, from an MTA that cannot leave it out: a new message begins. */
static sfsistat on_envfrom(SMFICTX *ctx, char **argv)
{
    struct conn *c = smfi_getpriv(ctx);

    (void)argv;
    if (c != NULL)
        conn_reset(c);
    return negotiate_pass(ctx, SMFIP_NR_MAIL);
}

/*
 * Called at every RCPT.  The first RCPT of a message (none since the last
 * EOM, abort or MAIL) takes the live configuration, held until EOM or
 * abort, and reads which MTA this is (macro v).  A RCPT with another queue
 * id than its message's starts a new message: Sendmail sends no abort to a
 * milter that skipped MAIL when a transaction ends before DATA (RSET, every
 * recipient refused), but each transaction has its own queue id.
 * (Postfix's is unset at the first RCPT; Postfix always sends abort.)
 * Returns -1 when no configuration is loaded.
 */
static int begin_message(SMFICTX *ctx, struct conn *c)
{
    char i[] = "i", v[] = "v";
    const char *qid = smfi_getsymval(ctx, i);

    if (qid == NULL)
        qid = "";
    if (c->cfg != NULL && c->qid[0] != '\0' && *qid != '\0' &&
        strncmp(c->qid, qid, sizeof c->qid - 1) != 0)
        conn_reset(c);
    if (c->cfg == NULL) {
        if ((c->cfg = live_acquire()) == NULL)
            return -1;
        c->mta = rcpt_plan_mta(smfi_getsymval(ctx, v));
    }
    if (c->qid[0] == '\0')
        snprintf(c->qid, sizeof c->qid, "%s", qid);
    return 0;
}

/* The reply for a reject/tempfail result; the address in it once. */
static sfsistat refuse(SMFICTX *ctx, struct conn *c, const char *qid, const char *rcpt,
                       bool dry_run)
{
    const struct policy_result *r = &c->result;
    char logged[1024], reply[1024];
    const char *text = "Recipient address rejected";
    bool reject = r->action == POLICY_REJECT;
    const char *status = r->status != NULL ? r->status : reject ? "550" : "451";
    const char *xstatus = r->xstatus != NULL ? r->xstatus : reject ? "5.1.1" : "4.3.0";
    size_t prefix = strlen(status) + 1 + strlen(xstatus) + 1;
    /* Sendmail prefixes "<addr>... " itself; Postfix shows the text as is. */
    bool with_address = c->mta != RCPT_MTA_SENDMAIL;

    if (policy_format_reply(r, true, logged, sizeof logged) == 0)
        snprintf(logged, sizeof logged, "%s %s %s", status, xstatus, text);
    log_info("%s: %s%s: rcpt=%s rule=%s: %s", qid, dry_run ? "dry-run: would " : "",
             policy_action_name(r->action), rcpt, policy_rule_name(r->rule), logged);
    if (dry_run)
        return SMFIS_CONTINUE;
    if (policy_format_reply(r, with_address, reply, sizeof reply) > prefix)
        text = reply + prefix;
    set_reply(ctx, qid, status, xstatus, text);
    if (!reject)
        metrics_tempfail(METRICS_TEMPFAIL_POLICY);
    return reject ? SMFIS_REJECT : SMFIS_TEMPFAIL;
}

/*
 * A reject/tempfail result for a RCPT that Postfix's cleanup emulated
 * (non_smtpd_milters): the recipient is left as it is and the MTA routes
 * it (an unknown address then bounces to the local sender, which is not
 * backscatter).  Logged at info, like a refusal.
 */
static sfsistat keep_emulated(struct conn *c, const char *qid, const char *rcpt)
{
    const struct policy_result *r = &c->result;
    char reply[1024];

    if (policy_format_reply(r, true, reply, sizeof reply) == 0)
        snprintf(reply, sizeof reply, "%s", policy_action_name(r->action));
    log_info("%s: non-smtp: kept: rcpt=%s rule=%s: not refused in a non-SMTP submission "
             "(would be: %s)",
             qid, rcpt, policy_rule_name(r->rule), reply);
    /* Out of memory only costs deduplication; refusing would defer. */
    if (rcpt_plan_keep(c->plan, r->address) < 0)
        log_warning("%s: out of memory recording rcpt=%s", qid, rcpt);
    return SMFIS_CONTINUE;
}

static sfsistat on_envrcpt(SMFICTX *ctx, char **argv)
{
    struct conn *c;
    char mailer_name[] = "{rcpt_mailer}", addr_name[] = "{rcpt_addr}", qbuf[64], rcpt[RCPT_LOG_MAX];
    const char *mailer = smfi_getsymval(ctx, mailer_name);
    /* The MTA's own reading of the recipient: what it will deliver. */
    const char *mta_addr = smfi_getsymval(ctx, addr_name);
    const char *qid = queue_id(ctx, qbuf, sizeof qbuf);
    const struct config *cfg;
    struct policy_result *r;
    const char **targets = NULL;
    sfsistat rc = SMFIS_CONTINUE;
    bool emulated;

    if (argv == NULL || argv[0] == NULL)
        return SMFIS_CONTINUE;
    log_escape(rcpt, sizeof rcpt, argv[0], strlen(argv[0]));
    if ((c = conn_of(ctx)) == NULL) {
        log_err("%s: tempfail: out of memory for a new connection: rcpt=%s", qid, rcpt);
        return tempfail(ctx, qid, METRICS_TEMPFAIL_NO_MEMORY);
    }
    if (begin_message(ctx, c) < 0) {
        log_err("%s: tempfail: no configuration is loaded: rcpt=%s", qid, rcpt);
        return tempfail(ctx, qid, METRICS_TEMPFAIL_NO_CONFIG);
    }
    /* Recipients the MTA already refused (SMFIP_RCPT_REJ) are not ours. */
    if (mailer != NULL && strcmp(mailer, "error") == 0)
        return SMFIS_CONTINUE;
    /* Postfix's cleanup emulates RCPT for non_smtpd_milters (sendmail(1),
     * qmqpd) and sends no {rcpt_mailer} there, while smtpd always does (we
     * ask for it).  A refusal of an emulated RCPT defers the whole message
     * as a "configuration error", so such recipients are never refused. */
    emulated = c->mta == RCPT_MTA_POSTFIX && mailer == NULL;
    cfg = live_get(c->cfg);
    r = &c->result;
    policy_resolve_rcpt(cfg->table, argv[0], mta_addr, r);
    metrics_recipient(r->action, r->rule);
    switch (r->action) {
    case POLICY_KEEP:
    case POLICY_PASS:
        log_debug("%s: %s: rcpt=%s rule=%s%s%s", qid, policy_action_name(r->action), rcpt,
                  policy_rule_name(r->rule), r->reason != NULL ? ": " : "",
                  r->reason != NULL ? r->reason : "");
        if (rcpt_plan_keep(c->plan, r->address) < 0) {
            log_err("%s: tempfail: out of memory recording rcpt=%s", qid, rcpt);
            rc = tempfail(ctx, qid, METRICS_TEMPFAIL_NO_MEMORY);
        }
        break;
    case POLICY_REWRITE:
        if ((targets = calloc(r->ntargets > 0 ? r->ntargets : 1, sizeof *targets)) == NULL) {
            log_err("%s: tempfail: out of memory recording rcpt=%s", qid, rcpt);
            rc = tempfail(ctx, qid, METRICS_TEMPFAIL_NO_MEMORY);
            break;
        }
        for (size_t i = 0; i < r->ntargets; i++)
            targets[i] = policy_target(r, i);
        if (rcpt_plan_rewrite(c->plan, argv[0], r->address, argv + 1, policy_rule_name(r->rule),
                              targets, r->ntargets) < 0) {
            log_err("%s: tempfail: out of memory recording rcpt=%s", qid, rcpt);
            rc = tempfail(ctx, qid, METRICS_TEMPFAIL_NO_MEMORY);
            break;
        }
        log_debug("%s: rewrite planned: rcpt=%s rule=%s targets=%zu", qid, rcpt,
                  policy_rule_name(r->rule), r->ntargets);
        break;
    case POLICY_REJECT:
    case POLICY_TEMPFAIL:
        if (emulated)
            rc = keep_emulated(c, qid, rcpt);
        else
            rc = refuse(ctx, c, qid, rcpt, cfg->dry_run);
        break;
    }
    free(targets);
    return rc;
}

/* "a@x,b@y" into buf, "..." when it does not fit. */
static void join_targets(const struct rcpt_rewrite *rw, char *buf, size_t bufsz)
{
    size_t n = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < rw->ntargets; i++) {
        size_t k = strlen(rw->targets[i]);
        if (n + k + 1 + 4 >= bufsz) {
            snprintf(buf + n, bufsz - n, "%s...", i > 0 ? "," : "");
            return;
        }
        n += (size_t)snprintf(buf + n, bufsz - n, "%s%s", i > 0 ? "," : "", rw->targets[i]);
    }
}

static void log_rewrites(const struct rcpt_plan *plan, const char *qid, bool dry_run)
{
    char rcpt[RCPT_LOG_MAX], targets[TARGETS_LOG_MAX];

    for (size_t i = 0; i < rcpt_plan_rewrite_count(plan); i++) {
        const struct rcpt_rewrite *rw = rcpt_plan_rewrite_at(plan, i);
        log_escape(rcpt, sizeof rcpt, rw->rcpt, strlen(rw->rcpt));
        join_targets(rw, targets, sizeof targets);
        if (dry_run)
            log_info("%s: dry-run: would rewrite: rcpt=%s rule=%s targets=%s", qid, rcpt, rw->rule,
                     targets);
        else
            log_info("%s: rewrite: rcpt=%s rule=%s targets=%s added=%zu%s", qid, rcpt, rw->rule,
                     targets, rw->nadded, rw->keep_original ? " original=kept" : "");
    }
}

/* Applies the plan's edits: every add (checked), then every delete. */
static sfsistat apply_edits(SMFICTX *ctx, struct conn *c, const char *qid)
{
    char rcpt[RCPT_LOG_MAX], edit[RCPT_LOG_MAX], args[RCPT_LOG_MAX];

    for (size_t i = 0; i < rcpt_plan_edit_count(c->plan); i++) {
        const struct rcpt_edit *e = rcpt_plan_edit_at(c->plan, i);
        bool par = e->kind == RCPT_EDIT_ADD && c->addrcpt_par;
        const char *call;
        int ret;

        if (par) {
            call = "smfi_addrcpt_par";
            ret = smfi_addrcpt_par(ctx, e->rcpt, e->args);
        } else if (e->kind == RCPT_EDIT_ADD) {
            call = "smfi_addrcpt";
            ret = smfi_addrcpt(ctx, e->rcpt);
        } else {
            call = "smfi_delrcpt";
            ret = smfi_delrcpt(ctx, e->rcpt);
        }
        /* Deletes and the client's ORCPT carry bytes from the wire. */
        log_escape(edit, sizeof edit, e->rcpt, strlen(e->rcpt));
        log_escape(args, sizeof args, par ? e->args : "", par ? strlen(e->args) : 0);
        log_debug("%s: %s(%s%s%s) -> %d", qid, call, edit, par ? ", " : "", args, ret);
        if (ret == MI_SUCCESS)
            metrics_edit(e->kind == RCPT_EDIT_ADD ? METRICS_EDIT_ADD : METRICS_EDIT_DELETE);
        if (ret != MI_SUCCESS) {
            const struct rcpt_rewrite *rw = rcpt_plan_rewrite_at(c->plan, e->rewrite);
            log_escape(rcpt, sizeof rcpt, rw->rcpt, strlen(rw->rcpt));
            log_err("%s: tempfail: %s(%s) failed for rcpt=%s; message deferred%s", qid, call, edit,
                    rcpt, e->kind == RCPT_EDIT_ADD ? ", nothing deleted" : "");
            return tempfail(ctx, qid, METRICS_TEMPFAIL_EDIT);
        }
    }
    return SMFIS_CONTINUE;
}

static sfsistat on_eom(SMFICTX *ctx)
{
    struct conn *c = smfi_getpriv(ctx);
    char qbuf[64];
    const char *qid = queue_id(ctx, qbuf, sizeof qbuf);
    sfsistat rc = SMFIS_CONTINUE;
    const struct config *cfg;

    if (c == NULL || c->cfg == NULL)
        return SMFIS_CONTINUE;
    cfg = live_get(c->cfg);
    metrics_message();
    if (rcpt_plan_rewrite_count(c->plan) == 0)
        goto out;
    if (cfg->dry_run) {
        log_rewrites(c->plan, qid, true);
        goto out;
    }
    if (rcpt_plan_finish(c->plan, c->mta) < 0) {
        log_err("%s: tempfail: out of memory planning the recipient edits", qid);
        rc = tempfail(ctx, qid, METRICS_TEMPFAIL_NO_MEMORY);
        goto out;
    }
    if ((rc = apply_edits(ctx, c, qid)) == SMFIS_CONTINUE) {
        metrics_rewrites(rcpt_plan_rewrite_count(c->plan));
        log_rewrites(c->plan, qid, false);
    }
out:
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
        smfi_setpriv(ctx, NULL);
        conn_free(c);
    }
    return SMFIS_CONTINUE;
}

struct smfiDesc filter_description(void)
{
    static char name[] = FILTER_NAME;
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
    return d;
}
