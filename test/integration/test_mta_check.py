#!/usr/bin/python3
"""hosted-milter -C postfix[:DIR] / -C sendmail[:CF]: checking the MTA's side.

Private Postfix configuration directories (main.cf + master.cf in a temp
dir; `postconf -c` and `postmap -c` read them without a running Postfix)
and sendmail.cf files generated with Debian's m4 and cf tree (the unpacked
packages of sendmail_instance.py), each with one fault made on purpose;
the test asserts the exact error or warning line and the exit status, and
that the correct configuration gives exit 0 and only ok lines.  A socketmap
relay_domains is queried live from a small netstring server of the test.

    test_mta_check.py --milter build/hosted-milter [-k NAME] [--keep]

Exit status 0 all passed, 1 something failed, 77 skipped (no postconf).
The Sendmail class fails (it is not skipped) when the packages cannot be
unpacked, except when the package mirror is unreachable.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import milter_process  # noqa: E402
import suite_common  # noqa: E402

CONF = """\
socket = "unix:{sock}"
postmaster = "admin@corp.example"
domain "hosted.example" {{ }}
domain "bücher.example" {{ }}
"""

MAIN_CF = {
    "compatibility_level": "3.6",
    "queue_directory": "{spool}",
    "smtpd_milters": "unix:hosted-milter/hm.sock",
    "milter_default_action": "tempfail",
    "relay_domains": "hosted.example, xn--bcher-kva.example, bücher.example",
    "mydestination": "localhost",
}

MASTER_CF = ("smtp inet n - y - - smtpd\n"
             "cleanup unix n - y - 0 cleanup\n"
             "rewrite unix - - y - - trivial-rewrite\n")

GOOD_POSTFIX = """\
ok: smtp/inet: smtpd_milters: unix:hosted-milter/hm.sock is this configuration's socket (chrooted: {spool}/hosted-milter/hm.sock)
ok: smtp/inet: smtpd_milters: {spool}/hosted-milter/hm.sock accepts connections
ok: smtp/inet: milter_default_action = tempfail
ok: smtp/inet: smtpd_milters: hosted-milter is the last milter
ok: cleanup/unix: non_smtpd_milters is empty (local submissions are not rewritten)
ok: mydestination: no hosted domain
ok: virtual_alias_domains: no hosted domain
ok: virtual_mailbox_domains: no hosted domain
ok: relay_domains: all 2 hosted domains are listed (1 in both IDN forms)
postfix {etc}: 0 errors, 0 warnings, 9 ok
"""


def run(conf, target, timeout=60):
    p = subprocess.run([suite_common.MILTER_BINARY, "-c", conf, "-C", target],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


class SocketmapServer:
    """A socketmap server (socketmap_table(5)) on a unix socket: map
    `domains` answers OK for the names given, NOTFOUND otherwise."""

    def __init__(self, path, names):
        self.path, self.names = path, set(names)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(16)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"," not in data or len(data) < int(data.split(b":")[0]) + 2:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                n, rest = data.split(b":", 1)
                name, key = rest[:int(n)].decode().split(" ", 1)
                ans = b"OK yes" if name == "domains" and key in self.names else b"NOTFOUND "
                conn.sendall(b"%d:%s," % (len(ans), ans))

    def close(self):
        self.sock.close()


class PostfixCheck(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="hm-mtacheck-")
        os.chmod(self.tmp, 0o755)  # Postfix's user must reach the socket
        self.spool = os.path.join(self.tmp, "spool")
        self.etc = os.path.join(self.tmp, "etc")
        os.makedirs(os.path.join(self.spool, "hosted-milter"))
        os.makedirs(self.etc)
        self.sock = os.path.join(self.spool, "hosted-milter", "hm.sock")
        self.conf = os.path.join(self.tmp, "hm.conf")
        self.write_conf(self.sock)
        self.servers = []
        self.listener = self.listen(self.sock)

    def listen(self, path, mode=0o666):
        """A unix socket accepting connections where the milter would."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.listen(16)
        os.chmod(path, mode)
        return s

    def tearDown(self):
        self.listener.close()
        for s in self.servers:
            s.close()
        if not suite_common.KEEP_TMP:
            shutil.rmtree(self.tmp, True)

    def write_conf(self, sock):
        with open(self.conf, "w") as f:
            f.write(CONF.format(sock=sock))

    def postfix(self, master=MASTER_CF, **changes):
        params = dict(MAIN_CF)
        params.update(changes)
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            for k, v in params.items():
                if v is not None:
                    f.write("%s = %s\n" % (k, v.format(spool=self.spool, tmp=self.tmp)))
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(master)
        return run(self.conf, "postfix:" + self.etc)

    def assertFinding(self, result, line, status):
        rc, out, err = result
        self.assertIn(line.format(spool=self.spool, tmp=self.tmp), out.splitlines(),
                      "output:\n%s\nstderr: %s" % (out, err))
        self.assertEqual(rc, status, out + err)

    def test_good(self):
        rc, out, err = self.postfix()
        self.assertEqual(out, GOOD_POSTFIX.format(spool=self.spool, etc=self.etc), err)
        self.assertEqual((rc, err), (0, ""))

    def test_chroot_trap(self):
        run_dir = os.path.join(self.tmp, "run")
        os.makedirs(run_dir)
        sock = os.path.join(run_dir, "hm.sock")
        self.write_conf(sock)
        r = self.postfix(smtpd_milters="unix:" + sock)
        self.assertFinding(
            r, "error: smtp/inet: smtpd_milters: unix:%s names this configuration's socket, but "
            "smtp/inet runs chrooted (master.cf) and opens {spool}%s: put the socket under "
            "queue_directory {spool} and name it relative to it" % (sock, sock), 1)
        # the same without the chroot: reachable
        r = self.postfix(master=MASTER_CF.replace("n - y - - smtpd", "n - n - - smtpd"),
                         smtpd_milters="unix:" + sock)
        self.assertFinding(r, "ok: smtp/inet: smtpd_milters: unix:%s is this configuration's "
                              "socket (not chrooted: %s)" % (sock, sock), 0)

    def test_socket_file(self):
        label = "{spool}/hosted-milter/hm.sock"
        os.chmod(self.sock, 0o600)
        r = self.postfix()
        self.assertFinding(r, "error: smtp/inet: smtpd_milters: user postfix cannot write to "
                              "%s (mode 0600, uid 0, gid 0): set socket_group = \"postfix\" and "
                              "socket_mode = \"0660\" in hosted-milter.conf" % label, 1)
        os.chmod(self.sock, 0o666)
        os.chmod(os.path.dirname(self.sock), 0o700)
        self.assertFinding(self.postfix(), "error: smtp/inet: smtpd_milters: user postfix cannot "
                                           "search directory {spool}/hosted-milter (mode 0700)", 1)
        os.chmod(os.path.dirname(self.sock), 0o755)
        self.listener.close()
        self.assertFinding(self.postfix(), "warning: smtp/inet: smtpd_milters: nothing accepts "
                                           "connections on %s (is hosted-milter running?)" % label,
                           0)
        os.unlink(self.sock)
        self.assertFinding(self.postfix(), "warning: smtp/inet: smtpd_milters: %s does not exist "
                                           "(is hosted-milter running?)" % label, 0)
        with open(self.sock, "w"):
            pass
        self.assertFinding(self.postfix(), "error: smtp/inet: smtpd_milters: %s is not a socket"
                           % label, 1)

    def test_other_socket(self):
        r = self.postfix(smtpd_milters="unix:other/x.sock")
        self.assertFinding(r, "error: smtp/inet: smtpd_milters: no milter is this "
                              "configuration's socket unix:%s (mail is not filtered)" % self.sock, 1)

    def test_inet_socket(self):
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        port = listener.getsockname()[1]
        with open(self.conf, "w") as f:
            f.write(CONF.format(sock="x").replace('"unix:x"', '"inet:%d@127.0.0.1"' % port))
        r = self.postfix(smtpd_milters="inet:127.0.0.1:%d" % port)
        self.assertFinding(r, "ok: smtp/inet: smtpd_milters: inet:127.0.0.1:%d is this "
                              "configuration's socket" % port, 0)
        self.assertFinding(r, "ok: smtp/inet: smtpd_milters: 127.0.0.1:%d accepts connections"
                           % port, 0)
        listener.close()
        self.assertFinding(self.postfix(smtpd_milters="inet:127.0.0.1:%d" % port),
                           "warning: smtp/inet: smtpd_milters: nothing accepts connections on "
                           "127.0.0.1:%d (is hosted-milter running?)" % port, 0)
        self.assertFinding(self.postfix(smtpd_milters="inet:127.0.0.1:%d" % (port ^ 1)),
                           "error: smtp/inet: smtpd_milters: no milter is this configuration's "
                           "socket inet:%d@127.0.0.1 (mail is not filtered)" % port, 1)

    def test_not_last(self):
        r = self.postfix(smtpd_milters="unix:hosted-milter/hm.sock, inet:127.0.0.1:9999")
        self.assertFinding(r, "warning: smtp/inet: smtpd_milters: inet:127.0.0.1:9999 comes "
                              "after hosted-milter: safe only if it never refuses recipients "
                              "(put hosted-milter last)", 0)

    def test_default_action(self):
        self.assertFinding(
            self.postfix(milter_default_action="accept"),
            "error: smtp/inet: milter_default_action = accept: while hosted-milter cannot be "
            "reached, mail is accepted unfiltered (unknown recipients accepted, nothing "
            "rewritten) (use tempfail)", 1)
        # a per-milter default_action overrides main.cf's
        self.assertFinding(
            self.postfix(smtpd_milters="{{ unix:hosted-milter/hm.sock, default_action = reject }}"),
            "error: smtp/inet: milter_default_action = reject: while hosted-milter cannot be "
            "reached, every message is refused for good (use tempfail)", 1)

    def test_service_override(self):
        master = MASTER_CF + "submission inet n - n - - smtpd -o smtpd_milters=\n"
        self.assertFinding(self.postfix(master=master),
                           "error: submission/inet: smtpd_milters: no milter is this "
                           "configuration's socket unix:%s (mail is not filtered)" % self.sock, 1)

    def test_non_smtpd_milters(self):
        self.assertFinding(self.postfix(non_smtpd_milters="$smtpd_milters"),
                           "ok: cleanup/unix: non_smtpd_milters: hosted-milter is the last "
                           "milter", 0)
        self.assertFinding(self.postfix(non_smtpd_milters="unix:other.sock"),
                           "warning: cleanup/unix: non_smtpd_milters: no milter is this "
                           "configuration's socket unix:%s (not filtered)" % self.sock, 0)

    def test_relay_missing_ulabel(self):
        r = self.postfix(relay_domains="hosted.example xn--bcher-kva.example")
        self.assertFinding(r, "error: relay_domains: bücher.example (the U-label form of "
                              "xn--bcher-kva.example) is not listed (names are compared as "
                              "text: its mail is refused, Relay access denied)", 1)

    def test_relay_missing_domain(self):
        r = self.postfix(relay_domains="xn--bcher-kva.example bücher.example")
        self.assertFinding(r, "error: relay_domains: hosted domain hosted.example is not "
                              "listed (its mail is refused, Relay access denied)", 1)

    def test_relay_extra(self):
        r = self.postfix(relay_domains=MAIN_CF["relay_domains"] + " other.example")
        self.assertFinding(r, "warning: relay_domains: other.example is not a hosted domain", 0)

    def test_relay_file_and_tables(self):
        path = os.path.join(self.etc, "hosted-domains")
        with open(path, "w") as f:
            f.write("# from hosted-milter -D\nhosted.example\nxn--bcher-kva.example\n"
                    "bücher.example\nstale.example\n")
        self.assertFinding(self.postfix(relay_domains=path),
                           "warning: relay_domains: stale.example is not a hosted domain", 0)
        with open(path, "w") as f:
            f.write("hosted.example OK\nxn--bcher-kva.example OK\n")
        p = subprocess.run(["postmap", "-c", self.etc, "hash:" + path], stderr=subprocess.PIPE,
                           text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        for table in ("hash:", "texthash:"):
            self.assertFinding(self.postfix(relay_domains=table + path),
                               "error: relay_domains: bücher.example (the U-label form of "
                               "xn--bcher-kva.example) is not listed (names are compared as "
                               "text: its mail is refused, Relay access denied)", 1)
        # a parent domain in a table covers its subdomains (relay_domains is in
        # parent_domain_matches_subdomains by default), as Postfix looks it up
        with open(path, "w") as f:
            f.write("example OK\n")
        self.assertEqual(subprocess.run(["postmap", "-c", self.etc, "hash:" + path]).returncode, 0)
        self.assertFinding(self.postfix(relay_domains="hash:" + path),
                           "ok: relay_domains: all 2 hosted domains are listed (1 in both IDN "
                           "forms)", 0)
        self.assertFinding(self.postfix(relay_domains="hash:" + path,
                                        parent_domain_matches_subdomains=""),
                           "error: relay_domains: hosted domain hosted.example is not listed "
                           "(its mail is refused, Relay access denied)", 1)
        self.assertFinding(self.postfix(relay_domains="hash:" + path + ".missing"),
                           "error: relay_domains: hash:%s.missing: cannot look up: postmap: "
                           "fatal: open database %s.missing.db: No such file or directory"
                           % (path, path), 1)

    def test_relay_socketmap(self):
        path = os.path.join(self.spool, "hosted-milter", "map.sock")
        relay = "socketmap:unix:hosted-milter/map.sock:domains"
        # not reachable: assumed to be hosted-milter's live list
        self.assertFinding(self.postfix(relay_domains=relay),
                           "warning: relay_domains: socketmap:unix:hosted-milter/map.sock:"
                           "domains: cannot connect; assuming hosted-milter serves the hosted "
                           "domains there", 0)
        server = SocketmapServer(path, ["hosted.example", "xn--bcher-kva.example"])
        self.servers.append(server)
        self.assertFinding(self.postfix(relay_domains=relay),
                           "error: relay_domains: bücher.example (the U-label form of "
                           "xn--bcher-kva.example) is not listed (names are compared as "
                           "text: its mail is refused, Relay access denied)", 1)
        server.names.add("bücher.example")
        self.assertFinding(self.postfix(relay_domains=relay),
                           "ok: relay_domains: all 2 hosted domains are listed (1 in both IDN "
                           "forms)", 0)

    def test_relay_socketmap_chroot_trap(self):
        # reachable from the host by its absolute path, not from the chroot
        # trivial-rewrite runs in (master.cf "y"): every lookup fails there
        path = os.path.join(self.tmp, "map.sock")
        self.servers.append(SocketmapServer(path, ["hosted.example", "xn--bcher-kva.example",
                                                   "bücher.example"]))
        relay = "socketmap:unix:%s:domains" % path
        r = self.postfix(relay_domains=relay)
        # the table cannot be asked: neither "all listed" nor "not listed"
        self.assertFalse([l for l in r[1].splitlines() if l.startswith(("ok: relay_domains:",
                                                                         "error: relay_domains: hosted"))],
                         r[1])
        self.assertFinding(
            r,
            "error: relay_domains: %s: trivial-rewrite runs chrooted (master.cf) and opens "
            "{spool}%s: cannot connect: put the socket under queue_directory {spool} and "
            "name it relative to it" % (relay, path), 1)
        # trivial-rewrite not chrooted: the same path is fine
        master = MASTER_CF.replace("- - y - - trivial-rewrite", "- - n - - trivial-rewrite")
        self.assertFinding(self.postfix(master=master, relay_domains=relay),
                           "ok: relay_domains: all 2 hosted domains are listed (1 in both IDN "
                           "forms)", 0)

    def test_conflicts(self):
        for param, route in (
                ("mydestination", "Postfix delivers it locally, not through the relay route"),
                ("virtual_alias_domains", "Postfix resolves it with virtual_alias_maps and "
                                          "refuses other users itself"),
                ("virtual_mailbox_domains", "Postfix delivers it to virtual mailboxes itself")):
            self.assertFinding(self.postfix(**{param: "localhost, hosted.example"}),
                               "error: %s: lists hosted domain hosted.example (conflicting "
                               "routes: %s)" % (param, route), 1)

    def test_cannot_read(self):
        rc, out, err = run(self.conf, "postfix:" + os.path.join(self.tmp, "nothing"))
        self.assertEqual((rc, out), (2, ""))
        self.assertIn("nothing: No such file or directory", err)
        rc, out, err = run(self.conf, "postfix:" + self.spool)  # no main.cf
        self.assertEqual((rc, out), (2, ""))
        self.assertIn("postconf -c %s -x: postconf: fatal: open %s/main.cf" % (self.spool,
                                                                               self.spool), err)

    def test_bad_configuration(self):
        with open(self.conf, "w") as f:
            f.write('socket = "nowhere"\n')
        rc, out, err = self.postfix()
        self.assertEqual((rc, out), (2, ""))
        self.assertIn("must be unix:PATH, local:PATH, inet:PORT@HOST or inet6:PORT@HOST", err)

    def test_usage(self):
        rc, out, err = run(self.conf, "exim")
        self.assertEqual((rc, out), (2, ""))
        self.assertTrue(err.startswith("hosted-milter: -C: expected postfix[:CONFIG_DIR] or "
                                       "sendmail[:CF_FILE]\nusage:"), err)


# --- Sendmail -------------------------------------------------------------------

MC = """\
divert(0)dnl
OSTYPE(`linux')dnl
define(`confCW_FILE', `{tmp}/local-host-names')dnl
{body}MAILER(`local')dnl
MAILER(`smtp')dnl
"""
FILTER = "INPUT_MAIL_FILTER(`{name}', `S=unix:{sock}{flags}, T=S:30s;R:30s;E:1m')dnl\n"
RELAY = ("RELAY_DOMAIN(`hosted.example')dnl\nRELAY_DOMAIN(`xn--bcher-kva.example')dnl\n"
         "RELAY_DOMAIN(`bücher.example')dnl\n")


class SendmailCheck(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import sendmail_instance
        try:
            cls.sm = sendmail_instance.prepared()
        except sendmail_instance.NoMirror as exc:
            raise unittest.SkipTest("no package mirror: %s" % exc)

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="hm-mtacheck-sm-")
        self.sock = os.path.join(self.tmp, "hm.sock")
        self.conf = os.path.join(self.tmp, "hm.conf")
        self.cf = os.path.join(self.tmp, "sendmail.cf")
        with open(self.conf, "w") as f:
            f.write(CONF.format(sock=self.sock))
        open(os.path.join(self.tmp, "local-host-names"), "w").close()

    def tearDown(self):
        if not suite_common.KEEP_TMP:
            shutil.rmtree(self.tmp, True)

    def sendmail(self, body=None, flags=", F=T"):
        if body is None:
            body = RELAY + FILTER.format(name="hosted-milter", sock=self.sock, flags=flags)
        mc = os.path.join(self.tmp, "sendmail.mc")
        with open(mc, "w") as f:
            f.write(MC.format(tmp=self.tmp, body=body))
        p = subprocess.run([self.sm.m4, "-D_CF_DIR_=%s/" % self.sm.cf_dir,
                            os.path.join(self.sm.cf_dir, "m4", "cf.m4"), mc],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env=self.sm.env(), timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(self.cf, "w") as f:
            f.write(p.stdout)
        return run(self.conf, "sendmail:" + self.cf)

    def assertFinding(self, result, line, status):
        rc, out, err = result
        self.assertIn(line.format(cf=self.cf), out.splitlines(), out + err)
        self.assertEqual(rc, status, out + err)

    def test_good(self):
        rc, out, err = self.sendmail()
        self.assertEqual(out, (
            "ok: {cf}: filter hosted-milter: S=unix:{sock} is this configuration's socket\n"
            "ok: {cf}: filter hosted-milter: F=T (tempfail while hosted-milter cannot be "
            "reached)\n"
            "ok: {cf}: InputMailFilters: hosted-milter is the last filter\n"
            "ok: {cf}: class R: all 2 hosted domains are listed (1 in both IDN forms)\n"
            "ok: {cf}: class w: no hosted domain\n"
            "sendmail {cf}: 0 errors, 0 warnings, 5 ok\n").format(cf=self.cf, sock=self.sock),
            err)
        self.assertEqual(rc, 0)

    def test_flags(self):
        self.assertFinding(self.sendmail(flags=""),
                           "error: {cf}: filter hosted-milter: no F=T: while hosted-milter "
                           "cannot be reached, mail is accepted unfiltered (use F=T)", 1)
        self.assertFinding(self.sendmail(flags=", F=R"),
                           "error: {cf}: filter hosted-milter: F=R: while hosted-milter cannot "
                           "be reached, every message is refused for good (use F=T)", 1)

    def test_order(self):
        body = (RELAY + FILTER.format(name="hosted-milter", sock=self.sock, flags=", F=T")
                + FILTER.format(name="dkim", sock="/run/dkim.sock", flags=", F=T"))
        self.assertFinding(self.sendmail(body),
                           "warning: {cf}: InputMailFilters: dkim comes after hosted-milter: "
                           "safe only if it never refuses recipients (put hosted-milter last)",
                           0)

    def test_other_socket(self):
        body = RELAY + FILTER.format(name="hosted-milter", sock="/run/x.sock", flags=", F=T")
        self.assertFinding(self.sendmail(body),
                           "error: {cf}: no mail filter (X line, INPUT_MAIL_FILTER) has this "
                           "configuration's socket unix:%s (mail is not filtered)" % self.sock, 1)

    def test_class_r(self):
        body = ("RELAY_DOMAIN(`hosted.example')dnl\nRELAY_DOMAIN(`xn--bcher-kva.example')dnl\n"
                + FILTER.format(name="hosted-milter", sock=self.sock, flags=", F=T"))
        self.assertFinding(self.sendmail(body),
                           "error: {cf}: class R: bücher.example (the U-label form of "
                           "xn--bcher-kva.example) is not listed (names are compared as text: "
                           "its mail is refused, Relaying denied)", 1)
        rfile = os.path.join(self.tmp, "relay-domains")
        with open(rfile, "w") as f:
            f.write("hosted.example\nxn--bcher-kva.example\nbücher.example\nold.example\n")
        body = ("RELAY_DOMAIN_FILE(`%s')dnl\n" % rfile
                + FILTER.format(name="hosted-milter", sock=self.sock, flags=", F=T"))
        self.assertFinding(self.sendmail(body),
                           "warning: {cf}: class R: old.example is not a hosted domain", 0)

    def test_class_w(self):
        body = RELAY + "LOCAL_DOMAIN(`hosted.example')dnl\n" + FILTER.format(
            name="hosted-milter", sock=self.sock, flags=", F=T")
        self.assertFinding(self.sendmail(body),
                           "error: {cf}: class w lists hosted domain hosted.example "
                           "(conflicting routes: Sendmail delivers it locally, aliases and "
                           "virtusertable apply again)", 1)

    def test_cannot_read(self):
        rc, out, err = run(self.conf, "sendmail:" + self.cf)
        self.assertEqual((rc, out, err), (2, "", "hosted-milter: %s: cannot open\n" % self.cf))


def available():
    if shutil.which("postconf") is None and not os.path.exists("/usr/sbin/postconf"):
        return False, "postconf (Postfix) is not installed"
    return True, ""


if __name__ == "__main__":
    os.environ["PATH"] = os.environ.get("PATH", "") + ":/usr/sbin"
    sys.exit(suite_common.run_main(__doc__.splitlines()[0], [PostfixCheck, SendmailCheck],
                                   available))
