#!/usr/bin/python3
"""hosted-milter in Postfix's non_smtpd_milters: local submissions never refused.

Postfix's cleanup emulates MAIL/RCPT for mail from sendmail(1) (and qmqpd)
and, when a milter refuses an emulated RCPT, logs "milter configuration
error" and defers the whole message.  The milter recognises those sessions
(no {rcpt_mailer} macro, which smtpd always sends) and keeps recipients it
would refuse, while still rewriting the others.  These tests submit through
the private instance's sendmail(1) and check the sink, the Postfix log and
the milter log; one test checks that SMTP through the same instance still
refuses.

    test_nonsmtpd.py --milter build/hosted-milter [-k NAME] [--keep]

Exit status 0 all passed, 1 something failed, 77 skipped (no Postfix, or
not root).  The last line of output is "N passed, N failed".
"""

import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cases  # noqa: E402
import postfix_instance  # noqa: E402
import smtp_client  # noqa: E402
import suite_common  # noqa: E402

SENDMAIL = shutil.which("sendmail", path="/usr/sbin:/usr/lib:/usr/bin") or "/usr/sbin/sendmail"
UNKNOWN = "nobody-here@corp.example"  # reject (550 5.1.1) over SMTP
ROLE = "postmaster@example.net"       # rewritten (role of an alias domain)
PLAIN = "bob@corp.example"            # a mailbox: kept


def nonsmtpd_factory(root, name, sink_port, relay_domains, milter_socket):
    inst = postfix_instance.PostfixInstance(root, name, sink_port, relay_domains=relay_domains,
                                            milter_socket=milter_socket)
    inst.extra["non_smtpd_milters"] = "unix:%s" % milter_socket
    return inst


class NonSmtpdMilters(suite_common.EnvTestCase):
    mta_factory = staticmethod(nonsmtpd_factory)
    env_label = "nonsmtpd"

    def submit(self, test_id, rcpts):
        """Submit a message with the instance's sendmail(1); returns once it
        is handed over (the pickup daemon then feeds it to cleanup)."""
        msg = smtp_client.make_message(cases.SENDER, test_id, rcpts)
        p = subprocess.run([SENDMAIL, "-C", self.env.mta.etc, "-f", cases.SENDER, "-i", "--"]
                           + list(rcpts), input=msg, text=True, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        self.assertEqual(p.returncode, 0, "sendmail(1) failed: %s" % p.stdout)

    def expect(self, addresses):
        """What -q says each address becomes: {address: (action, targets)}."""
        return {addr: (action, detail.split(",") if action == "rewrite" else [addr])
                for addr, (action, detail) in self.env.milter.query(addresses).items()}

    def test_local_submission_kept_and_rewritten(self):
        q = self.expect([UNKNOWN, ROLE, PLAIN])
        self.assertEqual(q[UNKNOWN][0], "reject", "test premise: %s" % q)
        self.assertEqual(q[ROLE][0], "rewrite", "test premise: %s" % q)
        marks = self.env.log_marks()
        self.submit("nonsmtpd-1", [UNKNOWN, ROLE, PLAIN])
        want = sorted(a.lower() for addr in (UNKNOWN, ROLE, PLAIN) for a in q[addr][1])
        recs = smtp_client.wait_for_message(self.env.sink, "nonsmtpd-1", nrcpts=len(want),
                                            timeout=suite_common.DELIVERY_TIMEOUT,
                                            settle=self.env.mta.wait_queue_empty)
        got = sorted(r["rcpt"].lower() for r in smtp_client.delivered_rcpts(recs))
        logs = self.env.logs(since=marks)
        self.assertEqual(got, want, logs)
        mta_log = self.env.mta.log_text(marks[1])
        self.assertNotIn("milter configuration error", mta_log, logs)
        milter_log = self.env.milter.log_text(marks[0])
        self.assertIn("non-smtp: kept: rcpt=%s" % UNKNOWN, milter_log, logs)
        self.assertIn("rewrite: rcpt=%s" % ROLE, milter_log, logs)

    def test_smtp_still_refused(self):
        """The same instance over SMTP: the unknown address gets 550 5.1.1."""
        o = smtp_client.send_message("127.0.0.1", self.env.mta.port, cases.SENDER,
                                     [UNKNOWN, PLAIN], "nonsmtpd-smtp")
        replies = {p: r for p, _, r in o.rcpts}
        self.assertEqual((replies[UNKNOWN].code, replies[UNKNOWN].xcode), cases.REJECT,
                         repr(o.as_dict()))
        self.assertEqual(replies[PLAIN].code, 250, repr(o.as_dict()))


def main(argv=None):
    return suite_common.run_main(__doc__.splitlines()[1], [NonSmtpdMilters],
                                 postfix_instance.available, argv)


if __name__ == "__main__":
    sys.exit(main())
