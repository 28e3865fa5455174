#!/usr/bin/python3
"""Postfix files through hosted-milter vs the same files in a native Postfix.

The pair under test/data/postfix-files (`virtual`, a virtual(5) file, and
`vmailbox`, a virtual_mailbox_maps file, in the style of a real server:
self-maps, an alias over a mailbox, a catch-all with and without
self-maps, domain aliases) is given

  - to a private Postfix as virtual_alias_maps + virtual_mailbox_maps
    (virtual_mailbox_domains, virtual_alias_domains; virtual_transport
    relays to the recording sink): the oracle;
  - to hosted-milter as `table` + `mailbox_table`, behind a second private
    Postfix that relays the hosted domains to the same sink.

Every address of ADDRESSES is sent alone to both: the RCPT reply (accept,
or 550 5.1.1) and the recipients the sink receives must be the same.
KNOWN_DIFFERENCES lists where the milter knowingly refuses what Postfix
accepts and would bounce later.  `hosted-milter -t` must warn about each
virtual(5) @domain line that captures mailboxes, with its file:line.

    test_postfix_files.py --milter build/hosted-milter [-k NAME] [--keep]

Exit status 0 all passed, 1 something failed, 77 skipped (no Postfix, or
not root).  The last line of output is "N passed, N failed".
"""

import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cases  # noqa: E402
import milter_process  # noqa: E402
import postfix_instance  # noqa: E402
import smtp_client  # noqa: E402
import suite_common  # noqa: E402

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "postfix-files")
DATA = os.path.normpath(DATA)

# main.cf of the server these files come from.
MAILBOX_DOMAINS = ["gradtrak.example", "domain.example", "catchall.example", "old.example"]
ALIAS_DOMAINS = ["alias.example"]
OUTSIDE = ["elsewhere.example"]

ADDRESSES = [
    # mailboxes, aliases over mailboxes, self-references (+ extensions)
    "alice@gradtrak.example", "Alice@GradTrak.Example", "alice+news@gradtrak.example",
    "bryan@gradtrak.example", "bryan+tag@gradtrak.example", "carol@gradtrak.example",
    "carol+x@gradtrak.example", "dave@gradtrak.example", "helpdesk@gradtrak.example",
    "sales@gradtrak.example", "team@gradtrak.example", "postmaster@gradtrak.example",
    "abuse@gradtrak.example", "nobody@gradtrak.example", "nobody+x@gradtrak.example",
    # catch-all with self-maps; bob has none and is captured
    "bob@domain.example", "bob+x@domain.example", "eve@domain.example", "eve+x@domain.example",
    "frank@domain.example", "parseword@domain.example", "postmaster@domain.example",
    "random@domain.example", "random+x@domain.example",
    # catch-all without self-maps: every mailbox captured
    "info@catchall.example", "jim@catchall.example", "kim+x@catchall.example",
    "postmaster@catchall.example", "zzz@catchall.example",
    # domain aliases, one of them over a leftover mailbox
    "alice@old.example", "bryan@old.example", "postmaster@old.example", "dave@alias.example",
    "sales@alias.example", "bryan+tag@alias.example",
    # not hosted
    "someone@elsewhere.example",
]

# {address: why}: the milter refuses at RCPT (550 5.1.1) what native Postfix
# accepts: an alias domain move onto an unknown address (README, "decisions
# the contract left open").  Postfix's virtual(8) would bounce it later;
# here the oracle relays it to the sink.
KNOWN_DIFFERENCES = {
    "nobody@alias.example": "alias domain onto an unknown address",
    "nobody@old.example": "alias domain onto an unknown address",
}

REFUSED = (550, "5.1.1")


def write_conf(directory):
    """The data directory's hosted-milter.conf with absolute table paths
    (the harness copies the configuration into a temp dir)."""
    with open(os.path.join(DATA, "hosted-milter.conf")) as f:
        text = f.read()
    for name in ("vmailbox", "virtual"):
        text = text.replace('"%s"' % name, '"%s"' % os.path.join(DATA, name))
    path = os.path.join(directory, "hosted-milter.conf")
    with open(path, "w") as f:
        f.write(text)
    return path


def file_lines(name):
    with open(os.path.join(DATA, name)) as f:
        return f.read().splitlines()


def line_of(name, prefix):
    """1-based number of the line of the data file that starts with prefix."""
    for i, line in enumerate(file_lines(name), 1):
        if line.startswith(prefix):
            return i
    raise LookupError("%s: no line starts with %r" % (name, prefix))


def milter_factory(root, name, sink_port, relay_domains, milter_socket):
    return postfix_instance.PostfixInstance(root, name, sink_port, relay_domains=relay_domains,
                                            milter_socket=milter_socket)


def start_oracle(root, sink_port):
    """A native Postfix with the two files as its virtual tables."""
    oracle = postfix_instance.PostfixInstance(
        root, "oracle", sink_port, relay_domains=OUTSIDE, virtual_lines=file_lines("virtual"),
        extra={
            "virtual_mailbox_domains": " ".join(MAILBOX_DOMAINS),
            "virtual_alias_domains": " ".join(ALIAS_DOMAINS),
            "virtual_mailbox_maps": "hash:%s" % os.path.join(root, "oracle", "etc", "vmailbox"),
            "virtual_transport": "smtp:[127.0.0.1]:%d" % sink_port,
        })
    try:
        os.makedirs(oracle.etc, exist_ok=True)
        shutil.copyfile(os.path.join(DATA, "vmailbox"), os.path.join(oracle.etc, "vmailbox"))
        oracle.create()
        oracle.postmap("hash:%s" % os.path.join(oracle.etc, "vmailbox"))
        oracle.start()
    except Exception:
        oracle.stop()
        raise
    return oracle


class PostfixFiles(suite_common.EnvTestCase):
    """One milter instance and one oracle instance, the same sink."""

    env_label = "pffiles"
    results = None

    @classmethod
    def setUpClass(cls):
        cls.confdir = tempfile.mkdtemp(prefix="hm-it-pffiles-conf-")
        cls.addClassCleanup(shutil.rmtree, cls.confdir, True)
        cls.conf = write_conf(cls.confdir)
        cls.env = suite_common.Env(milter_factory, conf=cls.conf, label=cls.env_label)
        cls.addClassCleanup(cls.env.stop)
        cls.env.start()
        cls.oracle = start_oracle(cls.env.root, cls.env.sink.port)
        cls.addClassCleanup(cls.oracle.stop)

    @classmethod
    def collect(cls):
        """Send every address alone to both instances (once per class).
        Returns {address: {"m": (reply, rcpts), "v": (reply, rcpts)}}; rcpts
        is the sorted list of delivered recipients (lower case)."""
        if cls.results is not None:
            return cls.results
        addresses = ADDRESSES + sorted(KNOWN_DIFFERENCES)
        res = {a: {} for a in addresses}
        for side, mta in (("m", cls.env.mta), ("v", cls.oracle)):
            msgs = [{"sender": cases.SENDER, "test_id": "pffiles-%s-%d" % (side, i),
                     "rcpts": [a]} for i, a in enumerate(addresses)]
            outcomes = smtp_client.send_messages("127.0.0.1", mta.port, msgs)
            mta.wait_queue_empty(60)
            for m, a, o in zip(msgs, addresses, outcomes):
                reply = o.rcpts[0][2]
                rcpts = []
                if o.delivered_ok():
                    recs = smtp_client.wait_for_message(
                        cls.env.sink, m["test_id"], 1, timeout=suite_common.DELIVERY_TIMEOUT,
                        settle=lambda mta=mta: mta.wait_queue_empty(20))
                    rcpts = sorted(d["rcpt"].lower() for d in smtp_client.delivered_rcpts(recs))
                res[a][side] = (reply, rcpts, o)
        cls.results = res
        return res

    def _fail(self, problems):
        if problems:
            self.fail("\n  ".join([""] + problems) + "\n" + self.env.logs()
                      + "\n--- oracle log ---\n" + self.oracle.log_tail(30))

    def test_check_warns_about_captures(self):
        """-t: OK, and a warning at each capturing @domain line with the count"""
        p = milter_process.run_tool(self.env.milter.binary, self.conf, "-t")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(": OK: ", p.stdout)
        virtual = os.path.join(DATA, "virtual")
        for domain, n, what in (("domain.example", 1, "mailbox"),
                                ("catchall.example", 3, "mailboxes"),
                                ("old.example", 1, "mailbox")):
            line = line_of("virtual", "@" + domain)
            want = "%s:%d: warning: @%s captures %d %s of the mailbox_table" % (
                virtual, line, domain, n, what)
            self.assertIn(want, p.stderr)
        self.assertEqual(len(re.findall(r"captures \d+ mailbox", p.stderr)), 3, p.stderr)
        self.assertIn('self-map line "bob@domain.example bob@domain.example"', p.stderr)
        self.assertNotIn("duplicate", p.stderr)

    def test_same_accept_refuse(self):
        """every address: accepted by both, or refused by both with 550 5.1.1"""
        problems = []
        for a in ADDRESSES:
            got = self.collect()[a]
            (mr, _, mo), (vr, _, vo) = got["m"], got["v"]
            if mr is None or vr is None:
                problems.append("%s: no RCPT reply: milter %s, native %s" % (a, mo.as_dict(),
                                                                           vo.as_dict()))
                continue
            if mr.ok() != vr.ok():
                problems.append("%s: milter %r, native Postfix %r" % (a, mr.line, vr.line))
            elif not mr.ok() and ((mr.code, mr.xcode) != REFUSED or
                                  (vr.code, vr.xcode) != REFUSED):
                problems.append("%s: refused as %r / %r, expected %d %s by both"
                                % (a, mr.line, vr.line, REFUSED[0], REFUSED[1]))
        self._fail(problems)

    def test_same_recipients(self):
        """every accepted address: the sink gets the same recipients from both"""
        problems = []
        for a in ADDRESSES:
            got = self.collect()[a]
            (mr, mrc, mo), (vr, vrc, vo) = got["m"], got["v"]
            if mr is None or not mr.ok():
                continue
            if not mo.delivered_ok() or not vo.delivered_ok():
                problems.append("%s: DATA milter %s, native %s" % (a, mo.as_dict(),
                                                                  vo.as_dict()))
            elif not mrc or mrc != vrc:
                problems.append("%s: milter delivered %s, native Postfix %s" % (a, mrc, vrc))
        self._fail(problems)

    def test_known_differences(self):
        """where the milter refuses at RCPT what Postfix accepts (and bounces)"""
        problems = []
        for a, why in sorted(KNOWN_DIFFERENCES.items()):
            got = self.collect()[a]
            mr, vr = got["m"][0], got["v"][0]
            if mr is None or (mr.code, mr.xcode) != REFUSED:
                problems.append("%s (%s): milter %r, expected 550 5.1.1"
                                % (a, why, mr.line if mr else None))
            if vr is None or not vr.ok():
                problems.append("%s (%s): native Postfix %r, expected it to accept"
                                % (a, why, vr.line if vr else None))
        self._fail(problems)

    def test_nothing_left_queued(self):
        """no bounce, nothing left in either queue"""
        self.collect()
        problems = []
        for mta in (self.env.mta, self.oracle):
            if not mta.wait_queue_empty(20):
                problems.append("%s: queue %s" % (mta, mta.queue()))
        for i in range(len(ADDRESSES) + len(KNOWN_DIFFERENCES)):
            for side in ("m", "v"):
                if self.env.sink.reports_about("pffiles-%s-%d" % (side, i)):
                    problems.append("a delivery report about pffiles-%s-%d" % (side, i))
        self._fail(problems)


def main(argv=None):
    return suite_common.run_main(__doc__.splitlines()[1], [PostfixFiles],
                                 postfix_instance.available, argv)


if __name__ == "__main__":
    sys.exit(main())
