#!/usr/bin/python3
"""The socketmap server end to end (ctest label `socketmap`).

hosted-milter runs on a copy of e2e.conf with `socketmap = "unix:..."`:

  RawSession     a socketmap client in Python, byte for byte: every line of
                 `hosted-milter -D` answered OK (its canonical A-label
                 name), either IDN form, any case, a trailing dot; NOTFOUND
                 for other names (a subdomain too); an unknown map PERM with
                 the connection kept; garbage, a bad length, a missing
                 comma, a NUL and an oversize length PERM and closed;
                 requests split at every byte and pipelined; a reload seen
                 on an open connection.  No root needed.
  Misbehaving    a hundred misbehaving clients at once (idle, half
                 requests, garbage, oversize, a writer that never reads)
                 while recipients are resolved over the milter protocol and
                 a good socketmap client is answered; the daemon then exits
                 0 with no sanitizer report.  No root needed.
  PostfixRelay   a private Postfix with relay_domains =
                 socketmap:unix:hosted-milter/socketmap.sock:domains (a path
                 relative to its queue directory, as a chrooted Postfix
                 needs it), mynetworks empty and reject_unauth_destination:
                 a hosted domain (both IDN forms) is relayed, another gets
                 "Relay access denied"; a domain added to the configuration
                 and a SIGUSR1 to hosted-milter is accepted without touching
                 Postfix; with the socketmap unreachable, 451 4.3.0.  Needs
                 root and Postfix (else skipped, not passed).
  PostfixChroot  the same with smtpd, trivial-rewrite and cleanup chrooted
                 to the queue directory (Debian's master.cf): the relative
                 path is reached from the chroot, the absolute one is not
                 (451 4.3.0: the chroot trap).  Root and Postfix.

    test_socketmap.py --milter build/hosted-milter [-k NAME] [--keep]

Exit status 0 all passed, 1 something failed.  The last line of output is
"N passed, N failed".
"""

import os
import re
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cases  # noqa: E402
import milter_client as mc  # noqa: E402
import milter_process  # noqa: E402
import postfix_instance  # noqa: E402
import sink as sinkmod  # noqa: E402
import smtp_client  # noqa: E402
import suite_common  # noqa: E402
from util import SANITIZER_TEXT  # noqa: E402

REQUEST_MAX = 10000           # SOCKETMAP_REQUEST_MAX
NEW_DOMAIN = 'domain "new.example" { }\nmailbox "ann@new.example" { }\n'


def ns(payload):
    """One netstring."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8", "surrogateescape")
    return b"%d:%s," % (len(payload), payload)


def perm(reason):
    return ns("PERM " + reason)


class Client:
    """A raw socketmap connection."""

    def __init__(self, path, timeout=5.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def reply(self):
        """The next reply netstring (bytes, framing included); b"" at EOF."""
        while True:
            m = re.match(rb"^(\d+):", self.buf)
            if m and len(self.buf) >= m.end() + int(m.group(1)) + 1:
                n = m.end() + int(m.group(1)) + 1
                out, self.buf = self.buf[:n], self.buf[n:]
                return out
            chunk = self.sock.recv(65536)
            if not chunk:
                return b""
            self.buf += chunk

    def ask(self, key, name="domains"):
        self.send(ns("%s %s" % (name, key)))
        return self.reply()

    def at_eof(self, timeout=5.0):
        """True when the server closed (skipping unread replies)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True

    def close(self):
        self.sock.close()


def socketmap_conf(path, base=cases.E2E_CONF):
    with open(base, encoding="utf-8") as f:
        text = f.read()
    return text + '\nsocketmap = "unix:%s"\n' % path


class MilterWithSocketmap(suite_common.TempRootTestCase):
    """Base: the milter on e2e.conf plus a socketmap socket, per class."""

    root_prefix = "hm-it-socketmap-"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.milter = milter_process.MilterProcess(suite_common.MILTER_BINARY, None, cls.root)
        cls.sm_path = os.path.join(cls.milter.dir, "socketmap.sock")
        cls.base_conf = socketmap_conf(cls.sm_path)
        cls.milter.write_conf(cls.base_conf)
        cls.milter.start()

    @classmethod
    def stop_servers(cls):
        if getattr(cls, "milter", None) is not None:
            cls.milter.stop()

    def client(self):
        c = Client(self.sm_path)
        self.addCleanup(c.close)
        return c


class RawSession(MilterWithSocketmap):

    def test_every_listed_domain_ok(self):
        """each line of -D is OK, with the canonical (A-label) name as data"""
        listed = self.milter.domains()
        self.assertIn("bücher.example", listed)
        c = self.client()
        for name in listed:
            canon = name.encode("idna").decode() if name == "bücher.example" else name
            self.assertEqual(c.ask(name), ns("OK " + canon), name)

    def test_forms_case_trailing_dot(self):
        c = self.client()
        for key, canon in [("CORP.example", "corp.example"), ("corp.example.", "corp.example"),
                           ("Example.NET.", "example.net"),
                           ("bücher.example", "xn--bcher-kva.example"),
                           ("BÜCHER.EXAMPLE.", "xn--bcher-kva.example"),
                           ("XN--BCHER-KVA.example", "xn--bcher-kva.example")]:
            self.assertEqual(c.ask(key), ns("OK " + canon), key)

    def test_not_hosted_notfound(self):
        c = self.client()
        for key in ["elsewhere.example", "sub.corp.example", "example", ".corp.example",
                    "corp..example", "user@corp.example", "[127.0.0.1]", "b\udcfccher.example",
                    "a" * 300, "corp.example\r\n"]:
            self.assertEqual(c.ask(key), ns("NOTFOUND "), repr(key))

    def test_unknown_map_perm_connection_kept(self):
        off = self.milter.log_size()
        c = self.client()
        self.assertEqual(c.ask("corp.example", name="virtual"), perm("unknown map name"))
        self.assertEqual(c.ask("corp.example", name="DOMAINS"), perm("unknown map name"))
        self.assertEqual(c.ask("corp.example"), ns("OK corp.example"))
        # logged once per connection, escaped
        c.ask("x", name="v\x7fx")
        lines = [l for l in self.milter.log_text(off).splitlines() if "unknown map" in l]
        self.assertEqual(len(lines), 1, lines)
        self.assertIn('unknown map "virtual"; answered PERM', lines[0])

    def test_start_refused(self):
        """a socketmap that cannot be opened stops the start (exit 1)"""
        d = os.path.join(self.root, "refused")
        os.makedirs(d)
        sock = os.path.join(d, "m.sock")
        for path, why in [(sock, "socketmap and the milter socket are both"),
                          (os.path.join(d, "missing", "sm.sock"), "bind: No such file"),
                          (self.sm_path, "another process listens there")]:
            conf = os.path.join(d, "c.conf")
            with open(conf, "w", encoding="utf-8") as f:
                f.write(socketmap_conf(path))
            p = subprocess.run([self.milter.binary, "-f", "-c", conf, "-s", "unix:" + sock],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               timeout=30, stdin=subprocess.DEVNULL)
            self.assertEqual(p.returncode, 1, p.stdout)
            self.assertIn(why, p.stdout)
        # the running one still answers
        self.assertEqual(self.client().ask("corp.example"), ns("OK corp.example"))

    def test_malformed_perm_and_close(self):
        cases_ = [
            (b"GET / HTTP/1.0\r\n\r\n", "malformed netstring length"),
            (b"\x00\x01\x02", "malformed netstring length"),
            (b"020:domains corp.example,", "malformed netstring length"),
            (b"20 :domains corp.example,", "malformed netstring length"),
            (b"20:domains corp.example;", "netstring without its comma"),
            (b"10:domains corp.example,", "netstring without its comma"),
            (b"9:domains\x00x,", "NUL byte in request"),
            (b"12:corp.example,", 'request is not "name key"'),
            (b"8:domains ,", 'request is not "name key"'),
            (b"10001:", "request too long"),
            (b"99999999999999999999999:", "request too long"),
            (ns("domains corp.example") + b"x", None),
        ]
        for data, why in cases_:
            c = Client(self.sm_path)
            try:
                c.send(data)
                if why is None:
                    self.assertEqual(c.reply(), ns("OK corp.example"))
                    why = "malformed netstring length"
                self.assertEqual(c.reply(), perm(why), data)
                self.assertTrue(c.at_eof(), "%r: not closed" % data)
            finally:
                c.close()

    def test_oversize_closed_longest_served(self):
        """a request of exactly 10000 bytes is answered; 10001 is refused
        at its length, before the payload is read"""
        c = self.client()
        key = "a" * (REQUEST_MAX - len("domains "))
        self.assertEqual(c.ask(key), ns("NOTFOUND "))
        c.send(b"%d:domains %s" % (REQUEST_MAX + 1, b"a" * 100))
        self.assertEqual(c.reply(), perm("request too long"))
        self.assertTrue(c.at_eof())

    def test_split_and_pipelined(self):
        c = self.client()
        one = ns("domains corp.example")
        for b in one:
            c.send(bytes([b]))
            time.sleep(0.002)
        self.assertEqual(c.reply(), ns("OK corp.example"))
        keys = ["corp.example", "nope.example", "bücher.example"] * 40
        c.send(b"".join(ns("domains " + k) for k in keys))
        want = {"corp.example": ns("OK corp.example"), "nope.example": ns("NOTFOUND "),
                "bücher.example": ns("OK xn--bcher-kva.example")}
        for k in keys:
            self.assertEqual(c.reply(), want[k], k)

    def test_reload_seen_on_open_connection(self):
        c = self.client()
        self.assertEqual(c.ask("new.example"), ns("NOTFOUND "))
        try:
            self.milter.write_conf(self.base_conf + NEW_DOMAIN)
            ok, text = self.milter.reload()
            self.assertTrue(ok, text)
            self.assertEqual(c.ask("new.example"), ns("OK new.example"))
            self.assertIn("new.example", self.milter.domains())
        finally:
            self.milter.write_conf(self.base_conf)
            ok, text = self.milter.reload()
        self.assertTrue(ok, text)
        self.assertEqual(c.ask("new.example"), ns("NOTFOUND "))


class Misbehaving(MilterWithSocketmap):

    def misbehave(self, kind, i):
        """One misbehaving client; returns its socket (kept open)."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(self.sm_path)
        if kind == "half":
            s.sendall(b"20:domains corp")
        elif kind == "garbage":
            s.sendall(os.urandom(64) if i % 2 else b"HELO x\r\n" * 8)
        elif kind == "oversize":
            s.sendall(b"9999999:" + b"x" * 1000)
        elif kind == "flood":
            # writes requests and never reads the replies
            s.setblocking(False)
            try:
                s.send(ns("domains corp.example") * 5000)
            except BlockingIOError:
                pass
        return s

    def test_hundred_misbehaving_clients(self):
        kinds = ["idle", "half", "garbage", "oversize", "flood"]
        bad = []
        problems = []
        stop = threading.Event()
        verdicts = self.milter.query(["dave@corp.example", "nobody@corp.example"])
        answers = {"milter": 0, "socketmap": 0}

        def resolver():
            while not stop.is_set():
                a = mc.rcpt_answer(self.milter.socket, "dave@corp.example")
                b = mc.rcpt_answer(self.milter.socket, "nobody@corp.example")
                if a != "continue" or b != verdicts["nobody@corp.example"][1]:
                    problems.append("milter answered %r / %r" % (a, b))
                answers["milter"] += 1

        t = threading.Thread(target=resolver)
        t.start()
        try:
            for i in range(100):
                bad.append((kinds[i % 5], self.misbehave(kinds[i % 5], i)))
            good = self.client()
            for _ in range(50):
                if good.ask("corp.example") != ns("OK corp.example"):
                    problems.append("socketmap: the good client got no OK")
                if good.ask("nope.example") != ns("NOTFOUND "):
                    problems.append("socketmap: the good client got no NOTFOUND")
                answers["socketmap"] += 2
            # the malformed ones were answered PERM and closed at once
            for kind, s in bad:
                if kind in ("garbage", "oversize"):
                    s.settimeout(5)
                    data = b""
                    try:
                        while True:
                            chunk = s.recv(4096)
                            if not chunk:
                                break
                            data += chunk
                    except socket.timeout:
                        problems.append("%s client not closed" % kind)
                    if b"PERM " not in data:
                        problems.append("%s client got %r, not PERM" % (kind, data[:80]))
        finally:
            stop.set()
            t.join(30)
            for _, s in bad:
                s.close()
        self.assertEqual(problems, [])
        self.assertGreater(answers["milter"], 0)
        print("  (%d milter round trips, %d socketmap answers during the attack)"
              % (answers["milter"], answers["socketmap"]))
        # and the daemon is still whole
        good = self.client()
        self.assertEqual(good.ask("corp.example"), ns("OK corp.example"))

    def test_zz_clean_exit(self):
        """SIGTERM: exit 0 (under LeakSanitizer a leak would not), no
        sanitizer report, no error in the log"""
        rc = self.milter.stop()
        log = self.milter.log_text()
        self.assertEqual(rc, 0, log[-3000:])
        self.assertIsNone(SANITIZER_TEXT.search(log), log[-3000:])
        self.assertNotIn(" error: ", log)
        self.assertFalse(os.path.exists(self.sm_path), "socket file left behind")


class PostfixBase(suite_common.TempRootTestCase):
    """A sink, the milter with its socketmap under the queue directory, and
    a private Postfix whose relay_domains asks it (path relative to the
    queue directory: Postfix's daemons run there, chrooted or not)."""

    mta_class = postfix_instance.PostfixInstance
    milter_socket_in_spool = False   # the chroot needs it; else its temp dir
    extra = {}

    @classmethod
    def setUpClass(cls):
        ok, why = postfix_instance.available()
        if not ok:
            raise unittest.SkipTest(why)
        super().setUpClass()
        cls.sink = sinkmod.Sink(log_path=os.path.join(cls.root, "sink.jsonl")).start()
        cls.milter = milter_process.MilterProcess(suite_common.MILTER_BINARY, None, cls.root)
        cls.mta = cls.mta_class(
            cls.root, "mta", cls.sink.port,
            relay_domains=["socketmap:unix:hosted-milter/socketmap.sock:domains"],
            milter_socket=("hosted-milter/milter.sock" if cls.milter_socket_in_spool
                           else cls.milter.socket),
            extra=cls.extra)
        sm_dir = os.path.join(cls.mta.spool, "hosted-milter")
        os.makedirs(sm_dir)
        os.chmod(sm_dir, 0o755)
        if cls.milter_socket_in_spool:
            cls.milter.socket = os.path.join(sm_dir, "milter.sock")
        cls.sm_path = os.path.join(sm_dir, "socketmap.sock")
        cls.base_conf = socketmap_conf(cls.sm_path)
        cls.milter.write_conf(cls.base_conf)
        cls.milter.start()
        cls.mta.create()
        cls.mta.start()

    @classmethod
    def stop_servers(cls):
        for what in ("mta", "milter", "sink"):
            obj = getattr(cls, what, None)
            if obj is not None:
                try:
                    obj.stop()
                except Exception as exc:  # noqa: BLE001 -- keep stopping the rest
                    sys.stderr.write("stopping %s: %s\n" % (what, exc))

    def rcpt(self, path, utf8=False):
        with smtp_client.SmtpClient("127.0.0.1", self.mta.port) as c:
            r = c.mail(cases.SENDER, ("SMTPUTF8",) if utf8 else ())
            self.assertEqual(r.code, 250, r.line)
            return c.rcpt(path)


class PostfixRelay(PostfixBase):
    """A private Postfix asking the socketmap for relay_domains."""

    root_prefix = "hm-it-socketmap-pf-"

    def logs(self):
        return "--- maillog ---\n%s\n--- milter ---\n%s" % (
            self.mta.log_tail(30), self.milter.log_text()[-2000:])

    def test_a_hosted_relayed_others_denied(self):
        self.assertEqual(self.mta.postconf_get("mynetworks"), "")
        for path, utf8 in [("dave@corp.example", False), ("anna@xn--bcher-kva.example", False),
                           ("anna@bücher.example", True), ("Dave@CORP.Example", False)]:
            r = self.rcpt(path, utf8)
            self.assertEqual(r.code, 250, "%s: %s\n%s" % (path, r.line, self.logs()))
        # a hosted domain's unknown user: the milter answers, not the relay check
        r = self.rcpt("nobody@shop.example")
        self.assertTrue(r.line.startswith("550 5.1.1 <nobody@shop.example>: Recipient address "
                                          "rejected: User unknown"), r.line)
        r = self.rcpt("someone@elsewhere.example")
        self.assertEqual(r.code, 554, r.line)
        self.assertIn("Relay access denied", r.line)
        # a real delivery through the relay decision
        o = smtp_client.send_message("127.0.0.1", self.mta.port, cases.SENDER,
                                     ["dave@corp.example"], "sm-relay")
        self.assertTrue(o.delivered_ok(), o.as_dict())
        recs = smtp_client.wait_for_message(self.sink, "sm-relay", 1, timeout=30)
        self.assertEqual([d["rcpt"] for d in smtp_client.delivered_rcpts(recs)],
                         ["dave@corp.example"])
        self.assertNotRegex(self.mta.log_text(), r"socketmap.*(error|warning)|lookup error")

    def test_b_new_domain_after_reload_without_touching_postfix(self):
        master = self.mta.master_pid
        main_cf = os.path.join(self.mta.etc, "main.cf")
        mtime = os.stat(main_cf).st_mtime
        r = self.rcpt("ann@new.example")
        self.assertEqual(r.code, 554, r.line)
        self.assertIn("Relay access denied", r.line)
        self.milter.write_conf(self.base_conf + NEW_DOMAIN)
        ok, text = self.milter.reload()
        self.assertTrue(ok, text)
        # smtpd caches its last relay decision: ask about another address
        r = self.rcpt("postmaster@new.example")
        self.assertEqual(r.code, 250, "%s\n%s" % (r.line, self.logs()))
        r = self.rcpt("Ann.Other@new.example")
        self.assertEqual(r.code, 550, "%s\n%s" % (r.line, self.logs()))  # the milter's refusal
        self.assertEqual(self.mta.master_pid, master)
        self.assertEqual(os.stat(main_cf).st_mtime, mtime)
        self.assertTrue(postfix_instance.util.pid_alive(master))

    def test_c_socketmap_unreachable_tempfails(self):
        """no socketmap (its socket file gone, Postfix's cached connections
        dropped by a reload): 451 4.3.0, never a relay refusal or an accept"""
        os.unlink(self.sm_path)
        self.mta.reload()
        for path in ("dave@corp.example", "someone@elsewhere.example"):
            r = self.rcpt(path)
            self.assertEqual((r.code, r.line[4:9]), (451, "4.3.0"), "%s: %s" % (path, r.line))


CHROOTED = ("smtpd", "trivial-rewrite", "cleanup")


class ChrootedPostfix(postfix_instance.PostfixInstance):
    """The private Postfix with smtpd, trivial-rewrite and cleanup chrooted
    to its queue directory, as Debian's master.cf has them."""

    def create(self):
        super().create()
        path = os.path.join(self.etc, "master.cf")
        with open(path) as f:
            lines = f.read().splitlines()
        out = []
        for line in lines:
            f = line.split()
            if len(f) >= 8 and not line.startswith("#") and f[7] in CHROOTED:
                f[4] = "y"
                line = " ".join(f)
            out.append(line)
        with open(path, "w") as f:
            f.write("\n".join(out) + "\n")
        return self

    def children(self):
        """{command: [pid]} of the master's children, from /proc."""
        out = {}
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % pid) as f:
                    stat = f.read()
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    argv0 = f.read().split(b"\0")[0].decode(errors="replace")
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == self.master_pid:
                out.setdefault(os.path.basename(argv0), []).append(int(pid))
        return out


class PostfixChroot(PostfixBase):
    """The chroot rule on a chrooted private Postfix: a socketmap path
    relative to the queue directory works, an absolute one does not."""

    root_prefix = "hm-it-socketmap-chroot-"
    mta_class = ChrootedPostfix
    # the milter socket beside the socketmap: an absolute one fails there too
    milter_socket_in_spool = True
    extra = {"smtpd_peername_lookup": "no"}  # no resolver in the chroot

    def test_a_relative_path_reached_from_the_chroot(self):
        for path, code in [("dave@corp.example", 250), ("anna@bücher.example", 250),
                           ("nobody@corp.example", 550), ("someone@elsewhere.example", 554)]:
            r = self.rcpt(path, utf8=True)
            self.assertEqual(r.code, code, "%s: %s\n%s" % (path, r.line, self.mta.log_tail()))
        o = smtp_client.send_message("127.0.0.1", self.mta.port, cases.SENDER,
                                     ["sales@example.org"], "sm-chroot")
        self.assertTrue(o.delivered_ok(), o.as_dict())
        recs = smtp_client.wait_for_message(self.sink, "sm-chroot", 2, timeout=30)
        self.assertEqual(sorted(d["rcpt"] for d in smtp_client.delivered_rcpts(recs)),
                         ["bob@corp.example", "carol@corp.example"])
        # they really run chrooted to the queue directory
        kids = self.mta.children()
        for cmd in ("smtpd", "trivial-rewrite", "cleanup"):
            self.assertIn(cmd, kids, kids)
            for pid in kids[cmd]:
                self.assertEqual(os.readlink("/proc/%d/root" % pid),
                                 os.path.realpath(self.mta.spool), cmd)

    def test_b_absolute_path_is_the_chroot_trap(self):
        """the socket's absolute path, as seen outside: not found inside the
        chroot, so every relay decision is a temporary failure"""
        self.mta.postconf("relay_domains = socketmap:unix:%s:domains" % self.sm_path)
        self.mta.reload()
        r = self.rcpt("dave@corp.example")
        self.assertEqual((r.code, r.line[4:9]), (451, "4.3.0"), r.line)
        # trivial-rewrite's warning reaches the log after smtpd's reply:
        # wait for it (a sanitized run once read the log before it came)
        want = re.compile(r"connect to %s: No such file" % re.escape(self.sm_path))
        deadline = time.monotonic() + 10
        while not want.search(self.mta.log_text()) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertRegex(self.mta.log_text(), want)


def main(argv=None):
    return suite_common.run_main(__doc__.splitlines()[0],
                                 [RawSession, Misbehaving, PostfixRelay, PostfixChroot],
                                 lambda: (True, ""), argv)


if __name__ == "__main__":
    sys.exit(main())
