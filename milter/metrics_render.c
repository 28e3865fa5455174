/*
 * metrics_render.c - a view of the metrics as Prometheus text (see
 * metrics_render.h).  Names follow Prometheus's practice: the
 * hosted_milter_ prefix, _total for counters, _seconds for times, base
 * units, one family per HELP/TYPE pair.
 */
#include "metrics_render.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

struct out {
    struct util_buf *buf;
    bool oom;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    /* every format here is bounded far below the buffer; a longer line
     * would be a bug, and a cut one an invalid exposition */
    if (n < 0 || (size_t)n >= sizeof(line) || util_buf_append(o->buf, line, (size_t)n) != 0)
        o->oom = true;
}

/* A label value as the format quotes it: backslash, '"' and newline
 * escaped (config titles cannot hold them; the version is ours). */
static void put_label(struct out *o, const char *s)
{
    for (; *s != '\0'; s++) {
        const char *esc = *s == '\\' ? "\\\\" : *s == '"' ? "\\\"" : *s == '\n' ? "\\n" : NULL;
        if (util_buf_append(o->buf, esc != NULL ? esc : s, esc != NULL ? 2 : 1) != 0)
            o->oom = true;
    }
}

static void family(struct out *o, const char *name, const char *type, const char *help)
{
    put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void recipients(struct out *o, const struct metrics_counters *c)
{
    family(o, "hosted_milter_recipients_total", "counter",
           "Recipients resolved, by the action decided and the rule that decided it.");
    for (unsigned a = 0; a < POLICY_ACTION_COUNT; a++)
        for (unsigned r = 0; r < POLICY_RULE_COUNT; r++)
            if (c->recipients[a][r] != 0)
                put(o, "hosted_milter_recipients_total{action=\"%s\",rule=\"%s\"} %" PRIu64 "\n",
                    policy_action_name((enum policy_action)a),
                    policy_rule_name((enum policy_rule)r), c->recipients[a][r]);
}

static void counters(struct out *o, const struct metrics_counters *c)
{
    recipients(o, c);
    family(o, "hosted_milter_messages_total", "counter",
           "Messages that reached end of message with a configuration.");
    put(o, "hosted_milter_messages_total %" PRIu64 "\n", c->messages);
    family(o, "hosted_milter_rewrites_total", "counter",
           "Rewritten recipients whose edits were applied at end of message.");
    put(o, "hosted_milter_rewrites_total %" PRIu64 "\n", c->rewrites);
    family(o, "hosted_milter_edits_total", "counter",
           "Recipient edits the MTA accepted, by milter call.");
    for (unsigned i = 0; i < METRICS_EDIT_COUNT; i++)
        put(o, "hosted_milter_edits_total{call=\"%s\"} %" PRIu64 "\n",
            metrics_edit_name((enum metrics_edit)i), c->edits[i]);
    family(o, "hosted_milter_tempfails_total", "counter",
           "Temporary failures answered (a RCPT or a whole message), by cause.");
    for (unsigned i = 0; i < METRICS_TEMPFAIL_COUNT; i++)
        put(o, "hosted_milter_tempfails_total{cause=\"%s\"} %" PRIu64 "\n",
            metrics_tempfail_name((enum metrics_tempfail)i), c->tempfails[i]);
    family(o, "hosted_milter_reloads_total", "counter",
           "Reloads of the configuration (SIGUSR1, refresh, a source's change), by result.");
    for (unsigned i = 0; i < METRICS_RELOAD_COUNT; i++)
        put(o, "hosted_milter_reloads_total{result=\"%s\"} %" PRIu64 "\n",
            metrics_reload_name((enum metrics_reload)i), c->reloads[i]);
    family(o, "hosted_milter_last_reload_successful", "gauge",
           "Whether the last reload succeeded (1 before the first); while 0 the table "
           "loaded before keeps serving.");
    put(o, "hosted_milter_last_reload_successful %d\n", c->last_reload_failed ? 0 : 1);
}

static void table(struct out *o, const struct metrics_view *v)
{
    if (!v->live)
        return;
    family(o, "hosted_milter_table_domains", "gauge", "Hosted domains in the live table.");
    put(o, "hosted_milter_table_domains %zu\n", v->domains);
    family(o, "hosted_milter_table_addresses", "gauge", "Addresses in the live table, by kind.");
    put(o, "hosted_milter_table_addresses{kind=\"mailbox\"} %zu\n", v->mailboxes);
    put(o, "hosted_milter_table_addresses{kind=\"secondary\"} %zu\n", v->secondaries);
    put(o, "hosted_milter_table_addresses{kind=\"alias\"} %zu\n", v->aliases);
    family(o, "hosted_milter_table_last_load_timestamp_seconds", "gauge",
           "When the live configuration was loaded (start or the last successful reload).");
    put(o, "hosted_milter_table_last_load_timestamp_seconds %.3f\n", v->loaded_at);
}

/* One source family: a line per source, its value from pick. */
static void source_family(struct out *o, const struct metrics_view *v, const char *name,
                          const char *help, double (*pick)(const struct metrics_source *))
{
    family(o, name, "gauge", help);
    for (size_t i = 0; i < v->nsources; i++) {
        put(o, "%s{source=\"", name);
        put_label(o, v->sources[i].title);
        put(o, "\"} %.15g\n", pick(&v->sources[i].state));
    }
}

static double pick_up(const struct metrics_source *s)
{
    return s->up ? 1 : 0;
}

static double pick_ok(const struct metrics_source *s)
{
    return s->last_ok;
}

static double pick_error(const struct metrics_source *s)
{
    return s->last_error;
}

static double pick_entries(const struct metrics_source *s)
{
    return (double)s->entries;
}

static void sources(struct out *o, const struct metrics_view *v)
{
    if (v->nsources == 0)
        return;
    source_family(o, v, "hosted_milter_source_up",
                  "Whether the last read of the source succeeded (0: failed; the table holds "
                  "its last good data or snapshot).",
                  pick_up);
    source_family(o, v, "hosted_milter_source_last_refresh_timestamp_seconds",
                  "When the source was last read successfully (0: not since the start).", pick_ok);
    source_family(o, v, "hosted_milter_source_last_error_timestamp_seconds",
                  "When a read of the source last failed (0: not since the start).", pick_error);
    source_family(o, v, "hosted_milter_source_entries",
                  "Records the source gave at its last successful read.", pick_entries);
}

int metrics_render(const struct metrics_view *v, struct util_buf *buf)
{
    struct out o = {buf, false};

    counters(&o, &v->counters);
    table(&o, v);
    sources(&o, v);
    family(&o, "process_start_time_seconds", "gauge",
           "Start time of the process since the Unix epoch in seconds.");
    put(&o, "process_start_time_seconds %.3f\n", v->start_time);
    family(&o, "hosted_milter_build_info", "gauge", "The version of hosted-milter; always 1.");
    put(&o, "hosted_milter_build_info{version=\"");
    put_label(&o, v->version);
    put(&o, "\"} 1\n");
    return o.oom ? -1 : 0;
}
