#!/usr/bin/python3
"""hosted-milter behind another milter that refuses recipients (milter order).

Postfix calls the milters of smtpd_milters in order for each RCPT and stops
at the first refusal.  A milter is never told that a milter after it refused
a RCPT it had accepted (the milter protocol has no such event), and its
end-of-message edits still apply.  So hosted-milter, which adds the targets
of a rewritten recipient at end of message, must be the last milter that can
refuse recipients.  This suite runs a private Postfix with two milters, the
test milter refuse_milter (refuses RCPTs whose address contains "sales" or
"blocked") and hosted-milter on e2e.conf:

  OrderRefuserFirst  smtpd_milters = refuse_milter, hosted-milter (the
      documented order): (a) recipients the first milter refuses get its
      550 5.7.1 and nothing is delivered for them -- sales@example.org's
      targets bob@ and carol@ included; hosted-milter never sees them; (b)
      the other recipients are still resolved by hosted-milter: rewritten to
      their targets, unknown ones refused with 550 5.1.1, the rest kept or
      passed; an alias that is not refused still reaches bob@ and carol@.
  OrderHostedFirst   smtpd_milters = hosted-milter, refuse_milter (the wrong
      order): shows why the documentation forbids it -- sales@example.org
      is refused by the second milter, yet bob@ and carol@ receive the
      message.  If this test ever fails because Postfix started telling
      milters about later refusals, the documentation can be relaxed.

    test_milter_order.py --milter build/hosted-milter \\
        --refuse-milter build/refuse_milter [-k NAME] [--keep]

Exit status 0 all passed, 1 something failed, 77 skipped (no Postfix, or
not root).  The last line of output is "N passed, N failed".
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cases  # noqa: E402
import milter_process  # noqa: E402
import postfix_instance  # noqa: E402
import smtp_client  # noqa: E402
import suite_common  # noqa: E402

REFUSE_MILTER = None          # set by main from --refuse-milter / $REFUSE_MILTER
REFUSE_PATTERNS = ("sales", "blocked")
REFUSED = (550, "5.7.1")      # refuse_milter's reply code


class RefuseMilter(milter_process.MilterProcess):
    """refuse_milter -s unix:SOCK -r PATTERN ... as a child; start, stop by
    PID and logs as for hosted-milter (it prints the same "listening on")."""

    def __init__(self, binary, workdir, patterns):
        super().__init__(binary, None, workdir, name="refuser")
        self.patterns = list(patterns)

    def argv(self):
        out = [self.binary, "-s", "unix:" + self.socket]
        for p in self.patterns:
            out += ["-r", p]
        return out

    def seen(self, offset=0):
        """{address: "refuse" | "continue"} for every RCPT it answered."""
        out = {}
        for line in self.log_text(offset).splitlines():
            parts = line.split(" ", 2)
            if len(parts) == 3 and parts[0] == "refuse_milter:" and parts[2].startswith("<"):
                out[parts[2].strip("<>").lower()] = parts[1]
        return out


class ChainedPostfix(postfix_instance.PostfixInstance):
    """A private Postfix whose smtpd_milters lists refuse_milter and
    hosted-milter in the given order; it starts refuse_milter before itself
    and stops it after itself."""

    def __init__(self, root, name, sink_port, relay_domains, milter_socket, refuser_first):
        super().__init__(root, name, sink_port, relay_domains=relay_domains,
                         milter_socket=milter_socket)
        self.refuser = RefuseMilter(REFUSE_MILTER, os.path.dirname(self.root), REFUSE_PATTERNS)
        chain = ["unix:" + self.refuser.socket, "unix:" + milter_socket]
        if not refuser_first:
            chain.reverse()
        self.extra["smtpd_milters"] = ", ".join(chain)

    def start(self, timeout=30):
        self.refuser.start()
        return super().start(timeout)

    def stop(self, timeout=15):
        try:
            super().stop(timeout)
        finally:
            self.refuser.stop()


def refuser_first_factory(root, name, sink_port, relay_domains, milter_socket):
    return ChainedPostfix(root, name, sink_port, relay_domains, milter_socket, True)


def hosted_first_factory(root, name, sink_port, relay_domains, milter_socket):
    return ChainedPostfix(root, name, sink_port, relay_domains, milter_socket, False)


class OrderBase(suite_common.EnvTestCase):
    def send(self, test_id, items, expect):
        """Send one message with the builders' recipients and wait for
        expect deliveries (then for the queue to drain); returns (outcome,
        {path: reply}, the sink's records, log marks)."""
        env = self.env
        marks = (env.log_marks(), env.mta.refuser.log_size())
        o = smtp_client.send_message("127.0.0.1", env.mta.port, cases.SENDER,
                                     [(r.path, r.params) for r, _ in items], test_id)
        replies = {p: r for p, _, r in o.rcpts}
        if o.delivered_ok():
            recs = smtp_client.wait_for_message(env.sink, test_id, max(expect, 1),
                                                timeout=suite_common.DELIVERY_TIMEOUT,
                                                settle=lambda: env.mta.wait_queue_empty(20))
        else:
            recs = env.sink.records(test_id)
        return o, replies, recs, marks

    def logs(self, marks):
        text = self.env.mta.refuser.log_text(marks[1])
        return "--- refuse_milter log ---\n%s\n%s" % (text[-2000:], self.env.logs(since=marks[0]))

    def refused_by_first(self, path, reply):
        """Problems unless reply is refuse_milter's refusal of path."""
        if reply is None:
            return ["<%s>: no reply" % path]
        problems = []
        if (reply.code, reply.xcode) != REFUSED:
            problems.append("<%s>: got %r, expected refuse_milter's %d %s"
                            % (path, reply.line, REFUSED[0], REFUSED[1]))
        if "refused by refuse_milter" not in reply.text:
            problems.append("<%s>: reply %r is not refuse_milter's" % (path, reply.line))
        return problems

    def common_checks(self, o, test_id, marks):
        problems = []
        for rep in self.env.sink.reports_about(test_id):
            problems.append("a delivery report went to %s" % [r["rcpt"] for r in rep["rcpts"]])
        if not self.env.mta.wait_queue_empty(5):
            problems.append("mail left in the queue: %s" % self.env.mta.queue())
        for line in self.env.mta.milter_warnings(self.env.mta.log_text(marks[0][1])):
            problems.append("postfix log: %s" % line.strip())
        for line in self.env.milter.log_text(marks[0][0]).splitlines():
            if " error: " in line or " warning: " in line:
                problems.append("milter log: %s" % line.strip())
        return problems


class OrderRefuserFirst(OrderBase):
    """smtpd_milters = refuse_milter, hosted-milter: the documented order."""

    mta_factory = staticmethod(refuser_first_factory)
    env_label = "order-first"

    def test_refused_by_first_milter_not_delivered_others_resolved(self):
        """(a) the first milter's refusals stand and nothing is delivered for
        them; (b) hosted-milter still rewrites, keeps, passes and rejects the
        rest"""
        refused = [
            # hosted-milter would rewrite it to bob@ and carol@
            cases.rewrite("sales@example.org", ["bob@corp.example", "carol@corp.example"]),
            # hosted-milter would reject it (550 5.1.1): the first milter answers first
            cases.reject("blocked@corp.example", "blocked@corp.example"),
        ]
        resolved = [
            cases.rewrite("postmaster@example.net", cases.HM),
            cases.rewrite("alice+news@example.org", "alice+news@corp.example"),
            cases.keep("dave@corp.example"),
            cases.reject("nobody@corp.example", "nobody@corp.example"),
            cases.passed("someone@elsewhere.example"),
        ]
        items = refused + resolved
        qmap = self.env.milter.query([r.path for r, _ in items])
        problems = []
        for r, _ in items:
            problems += suite_common.check_query(r, qmap)
        self.assertEqual(problems, [], "test premise (-q): %s" % problems)

        tid = "order-first"
        o, replies, recs, marks = self.send(tid, items, sum(len(ds) for _, ds in resolved))
        for r, _ in refused:
            problems += self.refused_by_first(r.path, replies.get(r.path))
        for r, _ in resolved:
            problems += suite_common.check_reply(self.env.mta, r, replies.get(r.path), qmap)
        if not o.delivered_ok():
            problems.append("DATA: %r" % (o.data.line if o.data else None))
        # Only the resolved recipients' deliveries: no bob@, carol@ (sales@'s
        # targets), no sales@ or blocked@ themselves.
        problems += suite_common.check_delivered([d for _, ds in resolved for d in ds], recs)
        problems += self.common_checks(o, tid, marks)
        # hosted-milter never saw the refused recipients; the first milter
        # saw every one and let the others through.
        hm_log = self.env.milter.log_text(marks[0][0]).lower()
        for r, _ in refused:
            if "<%s>" % r.path.lower() in hm_log:
                problems.append("hosted-milter logged %s, which the first milter refused"
                                % r.path)
        seen = self.env.mta.refuser.seen(marks[1])
        want_seen = {r.path.lower(): "refuse" for r, _ in refused}
        want_seen.update({r.path.lower(): "continue" for r, _ in resolved})
        if seen != want_seen:
            problems.append("refuse_milter saw %s, expected %s" % (seen, want_seen))
        if problems:
            self.fail("\n  ".join([""] + problems) + "\n" + self.logs(marks))

    def test_alias_not_refused_still_expanded(self):
        """control: an alias the first milter lets through (team@, whose
        targets include bob@ and carol@) is rewritten to all its targets"""
        items = [cases.rewrite("team@shop.example",
                               ["bob@corp.example", "carol@corp.example", "dave@corp.example"])]
        tid = "order-first-control"
        o, replies, recs, marks = self.send(tid, items, 3)
        problems = suite_common.check_reply(self.env.mta, items[0][0],
                                            replies.get(items[0][0].path), None)
        problems += suite_common.check_delivered(items[0][1], recs)
        problems += self.common_checks(o, tid, marks)
        if problems:
            self.fail("\n  ".join([""] + problems) + "\n" + self.logs(marks))

    def test_only_refused_recipients(self):
        """a message whose every recipient the first milter refuses: no DATA,
        nothing delivered, hosted-milter not involved"""
        items = [cases.rewrite("sales+q4@example.org",
                               ["bob+q4@corp.example", "carol+q4@corp.example"]),
                 cases.reject("blocked+x@example.net", "blocked+x@example.net")]
        tid = "order-first-all-refused"
        o, replies, recs, marks = self.send(tid, items, 0)
        problems = []
        for r, _ in items:
            problems += self.refused_by_first(r.path, replies.get(r.path))
        if o.data is not None:
            problems.append("DATA was sent: %r" % o.data.line)
        self.env.mta.wait_queue_empty(10)
        if self.env.sink.records(tid):
            problems.append("delivered: %s" % self.env.sink.records(tid))
        problems += self.common_checks(o, tid, marks)
        if problems:
            self.fail("\n  ".join([""] + problems) + "\n" + self.logs(marks))


class OrderHostedFirst(OrderBase):
    """smtpd_milters = hosted-milter, refuse_milter: the order the
    documentation forbids, and why."""

    mta_factory = staticmethod(hosted_first_factory)
    env_label = "order-last"

    def test_later_refusal_unseen_targets_still_added(self):
        """sales@ refused by the milter after hosted-milter: the client gets
        the refusal, yet sales@'s targets bob@ and carol@ get the message"""
        items = [cases.rewrite("sales@example.org", ["bob@corp.example", "carol@corp.example"]),
                 cases.keep("dave@corp.example")]
        tid = "order-last"
        o, replies, recs, marks = self.send(tid, items, 3)
        problems = self.refused_by_first("sales@example.org", replies.get("sales@example.org"))
        if not o.delivered_ok():
            problems.append("DATA: %r" % (o.data.line if o.data else None))
        got = sorted(d["rcpt"].lower() for d in smtp_client.delivered_rcpts(recs))
        # What happens in this order (the reason for the rule): the refused
        # alias's targets are delivered all the same.
        want = ["bob@corp.example", "carol@corp.example", "dave@corp.example"]
        if got != want:
            problems.append("delivered %s; this order is expected to deliver %s (if Postfix "
                            "now tells earlier milters about later refusals, revisit the "
                            "milter-order rule in the documentation)" % (got, want))
        if "rewrite: rcpt=<sales@example.org>" not in self.env.milter.log_text(marks[0][0]):
            problems.append("hosted-milter did not log the rewrite of sales@example.org")
        if problems:
            self.fail("\n  ".join([""] + problems) + "\n" + self.logs(marks))


def main(argv=None):
    global REFUSE_MILTER
    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("--refuse-milter", default=os.environ.get("REFUSE_MILTER"))
    args, rest = ap.parse_known_args(argv)
    ok, why = postfix_instance.available()
    if ok and not (args.refuse_milter and os.access(args.refuse_milter, os.X_OK)):
        print("ERROR: no refuse_milter binary: pass --refuse-milter or set REFUSE_MILTER")
        print("0 passed, 1 failed")
        return 1
    REFUSE_MILTER = os.path.abspath(args.refuse_milter) if args.refuse_milter else None
    return suite_common.run_main(__doc__.splitlines()[0], [OrderRefuserFirst, OrderHostedFirst],
                                 postfix_instance.available, rest)


if __name__ == "__main__":
    sys.exit(main())
