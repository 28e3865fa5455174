#!/usr/bin/python3
"""End-to-end tests of hosted-milter through a real, private Sendmail.

Runs every case of cases.py (shared with the Postfix suite), the hostile
RCPTs, reload under traffic, broken reloads and milter down, against
Debian's Sendmail 8.17 fetched with apt-get download and unpacked with
dpkg -x (never installed; see sendmail_instance.py).  Each test class gets
its own sink, milter and Sendmail, stopped by PID whatever happens.

    test_sendmail.py --milter build/hosted-milter [-k NAME] [--keep]

The .debs are cached in $HM_SENDMAIL_CACHE, else
$XDG_CACHE_HOME/hosted-milter/sendmail-debs (~/.cache when unset).
Exit status 0 all passed, 1 something failed, 77 skipped (not root, no
private mount namespace -- a chroot whose / is not a mount point -- or the
package mirror is unreachable).  The last line of output is
"N passed, N failed".
"""

import os
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cases  # noqa: E402
import sendmail_instance  # noqa: E402
import smtp_client  # noqa: E402
import suite_common  # noqa: E402


class SendmailPackages(unittest.TestCase):
    """The Sendmail under test itself: fetched, unpacked, runnable."""

    def test_packages(self):
        """apt-get download + dpkg -x give a sendmail that runs and has MILTER"""
        try:
            sm = sendmail_instance.prepared()
            banner = sm.check_binary()
        except Exception as exc:  # noqa: BLE001 -- the reason is the failure message
            self.fail("no usable Sendmail: %s: %s" % (type(exc).__name__, exc))
        sys.stderr.write("(%s; unpacked %s) " % (banner.split(" (")[0], ", ".join(sm.packages)))


class _NeedsSendmail:
    """Mixin: when the packages could not be prepared (test_packages says
    why), the class starts nothing and its tests are skipped, instead of
    one error per class."""

    @classmethod
    def setUpClass(cls):
        if sendmail_instance.prepare_error() is not None:
            cls.env = None
            return
        super().setUpClass()

    def setUp(self):
        if type(self).env is None:
            self.skipTest("no usable Sendmail (see test_packages)")
        super().setUp()


def sendmail_factory(root, name, sink_port, relay_domains, milter_socket):
    return sendmail_instance.SendmailInstance(root, name, sink_port,
                                              relay_domains=relay_domains,
                                              milter_socket=milter_socket)


class _ClientFrom(smtp_client.SmtpClient):
    """An SMTP client whose connection comes from another loopback address:
    Sendmail always relays for 127.0.0.1 (proto.m4), so only a client on
    127.0.0.2 sees the relay domains at work."""

    source = "127.0.0.2"

    def connect(self):
        try:
            self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout,
                                                 source_address=(self.source, 0))
        except OSError as exc:
            raise smtp_client.SmtpError("connect from %s: %s" % (self.source, exc)) from exc
        self.rfile = self.sock.makefile("rb")
        self.greeting = self.read_reply()
        return self.greeting


@suite_common.add_case_tests
class SendmailCases(_NeedsSendmail, suite_common.CasesBase):
    """The shared end-to-end cases, plus the Sendmail-only check that the
    relay domains came from `hosted-milter -D`."""
    mta_factory = staticmethod(sendmail_factory)
    # Postfix's reading of malformed arguments; SMTPUTF8, which Debian's
    # Sendmail refuses at MAIL FROM (555 5.5.4) -- see cases.py.
    skip_tags = {"postfix-reading", "smtputf8"}

    def test_relay_domains(self):
        """RELAY_DOMAIN lines from hosted-milter -D: every hosted domain is
        accepted from a non-local client, any other domain is relay-denied"""
        domains = self.env.milter.domains()
        self.assertIn("corp.example", domains)
        rcpts = ["postmaster@%s" % d for d in domains] + ["someone@not-relayed.example"]
        with _ClientFrom("127.0.0.1", self.env.mta.port) as c:
            o = smtp_client.send_on(c, cases.SENDER, rcpts, "relay-domains")
        got = {p: (r.code, r.xcode) if r else None for p, _, r in o.rcpts}
        want = {p: (250, "2.1.5") for p in rcpts[:-1]}
        want[rcpts[-1]] = (550, "5.7.1")
        self.assertEqual(got, want, o.as_dict())
        self.assertTrue(o.delivered_ok(), o.as_dict())


class SendmailReload(_NeedsSendmail, suite_common.ReloadBase):
    mta_factory = staticmethod(sendmail_factory)


class SendmailMilterDown(_NeedsSendmail, suite_common.MilterDownBase):
    mta_factory = staticmethod(sendmail_factory)


def main(argv=None):
    return suite_common.run_main(__doc__.splitlines()[1],
                                 [SendmailPackages, SendmailCases, SendmailReload,
                                  SendmailMilterDown],
                                 sendmail_instance.available, argv)


if __name__ == "__main__":
    sys.exit(main())
