#!/usr/bin/python3
"""The shipped files together through a chrooted Postfix, as on Debian.

Debian's master.cf runs smtpd and cleanup chrooted to the queue directory
(/var/spool/postfix).  This suite runs a private Postfix with smtpd and
cleanup chrooted the same way, its milter settings taken verbatim from
contrib/postfix/main.cf.snippet's active lines (smtpd_milters,
milter_default_action, milter_protocol), and hosted-milter on the shipped
etc/hosted-milter.conf: its socket where the shipped `socket` names it,
moved from /var/spool/postfix into the instance's queue directory (the
directory group postfix, 2750, as ADMIN.md says), socket_group and
socket_mode as shipped.  Only user and group are overridden (the service
user hosted-milter need not exist on a test machine).

  - postmaster@corp.example is rewritten and delivered to its mailbox, an
    unknown address is refused 550 5.1.1: the shipped pair works;
  - the trap the pair avoids: the same chrooted Postfix given the socket's
    absolute path answers 451 4.7.1 and logs "connect to Milter service".

    test_shipped.py --milter build/hosted-milter [-k NAME] [--keep]

Exit status 0 all passed, 1 something failed, 77 skipped (no Postfix, or
not root).  The last line of output is "N passed, N failed".
"""

import grp
import os
import re
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cases  # noqa: E402
import milter_process  # noqa: E402
import postfix_instance  # noqa: E402
import sink as sinkmod  # noqa: E402
import smtp_client  # noqa: E402
import suite_common  # noqa: E402

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONF = os.path.join(SRC, "etc", "hosted-milter.conf")
SNIPPET = os.path.join(SRC, "contrib", "postfix", "main.cf.snippet")
QUEUE_DIRECTORY = "/var/spool/postfix"  # Debian's, which the shipped socket assumes
MILTER_SETTINGS = ("smtpd_milters", "milter_default_action", "milter_protocol")

ROLE = "postmaster@corp.example"
UNKNOWN = "nosuch-shipped@corp.example"


def snippet_settings():
    """{name: value} of the snippet's active (uncommented) lines."""
    out = {}
    with open(SNIPPET) as f:
        for line in f:
            m = re.match(r"^([a-z_]+)\s*=\s*(.*?)\s*$", line)
            if m:
                out[m.group(1)] = m.group(2)
    return out


def shipped_socket():
    """The shipped configuration's unix socket path."""
    with open(CONF) as f:
        m = re.search(r'^socket\s*=\s*"unix:([^"]+)"', f.read(), re.M)
    if not m:
        raise AssertionError("%s: no unix: socket line" % CONF)
    return m.group(1)


class ShippedPair(unittest.TestCase):
    """Sink, milter on the shipped configuration, chrooted Postfix."""

    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix="hm-it-shipped-")
        os.chmod(cls.root, 0o755)
        cls.sink = cls.milter = None
        cls.mtas = []
        cls.addClassCleanup(cls.stop_all)
        cls.sink = sinkmod.Sink(log_path=os.path.join(cls.root, "sink.jsonl")).start()
        cls.settings = snippet_settings()
        sock = shipped_socket()
        if not sock.startswith(QUEUE_DIRECTORY + "/"):
            raise AssertionError("shipped socket %s is not under %s" % (sock, QUEUE_DIRECTORY))
        cls.rel = sock[len(QUEUE_DIRECTORY) + 1:]
        wrapper = os.path.join(cls.root, "shipped.conf")
        with open(wrapper, "w") as f:
            f.write('include("%s")\nuser = "root"\ngroup = "root"\n' % CONF)
        cls.milter = milter_process.MilterProcess(suite_common.MILTER_BINARY, wrapper, cls.root)
        # The instance's queue directory stands for /var/spool/postfix.
        cls.mta = cls.new_mta("mta", {k: cls.settings[k] for k in MILTER_SETTINGS})
        sockdir = os.path.join(cls.mta.spool, os.path.dirname(cls.rel))
        os.makedirs(sockdir)
        os.chown(sockdir, 0, grp.getgrnam("postfix").gr_gid)
        os.chmod(sockdir, 0o2750)
        cls.milter.socket = os.path.join(cls.mta.spool, cls.rel)
        cls.milter.start()
        cls.mta.start()

    @classmethod
    def new_mta(cls, name, milter_settings):
        mta = postfix_instance.PostfixInstance(
            cls.root, name, cls.sink.port, relay_domains=["corp.example"],
            extra=milter_settings, chroot=True)
        cls.mtas.append(mta)
        mta.create()
        return mta

    @classmethod
    def stop_all(cls):
        for obj in cls.mtas + [cls.milter, cls.sink]:
            if obj is not None:
                obj.stop()
        if not suite_common.KEEP_TMP:
            shutil.rmtree(cls.root, ignore_errors=True)
        else:
            sys.stderr.write("kept %s\n" % cls.root)

    def logs(self):
        return "--- milter ---\n%s\n--- postfix ---\n%s" % (self.milter.log_text()[-2000:],
                                                           self.mta.log_tail(30))

    def test_snippet_is_relative(self):
        """The snippet names the socket relative to the queue directory
        (a chrooted smtpd sees nothing else), as the shipped one."""
        self.assertEqual(self.settings["smtpd_milters"], "unix:" + self.rel)
        self.assertEqual(self.settings["milter_default_action"], "tempfail")

    def test_socket_access(self):
        st = os.stat(self.milter.socket)
        self.assertEqual(st.st_gid, grp.getgrnam("postfix").gr_gid)
        self.assertEqual(st.st_mode & 0o777, 0o660)

    def test_rewrite_and_reject(self):
        o = smtp_client.send_message("127.0.0.1", self.mta.port, cases.SENDER, [ROLE, UNKNOWN],
                                     "shipped-1")
        replies = {p: r for p, _, r in o.rcpts}
        self.assertEqual(replies[ROLE].code, 250, "%r\n%s" % (o.as_dict(), self.logs()))
        self.assertEqual((replies[UNKNOWN].code, replies[UNKNOWN].xcode), cases.REJECT,
                         "%r\n%s" % (o.as_dict(), self.logs()))
        self.assertTrue(o.delivered_ok(), "%r\n%s" % (o.as_dict(), self.logs()))
        recs = smtp_client.wait_for_message(self.sink, "shipped-1", 1,
                                            timeout=suite_common.DELIVERY_TIMEOUT,
                                            settle=self.mta.wait_queue_empty)
        self.assertEqual([r["rcpt"] for r in smtp_client.delivered_rcpts(recs)],
                         ["hostmaster@corp.example"], self.logs())

    def test_absolute_path_is_the_trap(self):
        """The socket's absolute path, as a non-chrooted Postfix would use
        it: the chrooted smtpd looks for it inside the queue directory,
        finds nothing and tempfails every message."""
        settings = {k: self.settings[k] for k in MILTER_SETTINGS}
        settings["smtpd_milters"] = "unix:" + self.milter.socket
        mta = self.new_mta("trap", settings)
        mta.start()
        o = smtp_client.send_message("127.0.0.1", mta.port, cases.SENDER, [ROLE], "shipped-trap")
        first = o.mail if o.mail.code != 250 else (o.rcpts[0][2] or o.data)
        self.assertEqual((first.code, first.xcode), postfix_instance.PostfixInstance.MILTER_DOWN,
                         repr(o.as_dict()))
        self.assertIn("connect to Milter service unix:%s" % self.milter.socket, mta.log_tail(30))


def main(argv=None):
    return suite_common.run_main(__doc__.splitlines()[1], [ShippedPair],
                                 postfix_instance.available, argv)


if __name__ == "__main__":
    sys.exit(main())
