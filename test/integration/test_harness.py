#!/usr/bin/python3
"""Tests of the integration harness itself, with no milter involved.

Checks the sink (ESMTP parameters, pipelining, RSET, several transactions
per connection, many concurrent connections), the SMTP client, and the
private Postfix lifecycle on the virtual(5) oracle instance: start, relay
to the sink, a 100-recipient message split by Postfix and collected again,
stop by PID, and cleanup when the process that started it dies on an
exception.  Useful on its own (no daemon needed) and when a suite fails, to
tell a harness problem from a product one.

    test_harness.py        exit 0 pass, 1 fail, 77 skip (no Postfix / not root)
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import cases  # noqa: E402
import postfix_instance  # noqa: E402
import sink as sinkmod  # noqa: E402
import smtp_client  # noqa: E402
import util  # noqa: E402


class SinkTests(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="hm-sink-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.log = os.path.join(self.dir, "sink.jsonl")
        self.sink = sinkmod.Sink(log_path=self.log).start()
        self.addCleanup(self.sink.stop)

    def test_params_and_headers(self):
        o = smtp_client.send_message(
            "127.0.0.1", self.sink.port, "s@x.example",
            [("a@b.example", ["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;o+2Bx@b.example"]),
             ("postmaster", [])], "sink-1", mail_params=["BODY=8BITMIME", "SIZE=100"])
        self.assertTrue(o.delivered_ok(), o.as_dict())
        recs = self.sink.wait_for("sink-1", 2, timeout=5)
        self.assertEqual(len(recs), 1)
        r = recs[0]
        self.assertEqual(r["mail_from"], "s@x.example")
        self.assertEqual(r["mail_params"], {"BODY": "8BITMIME", "SIZE": "100"})
        self.assertEqual(r["rcpts"][0]["rcpt"], "a@b.example")
        self.assertEqual(r["rcpts"][0]["params"],
                         {"NOTIFY": "SUCCESS,FAILURE", "ORCPT": "rfc822;o+2Bx@b.example"})
        self.assertEqual(r["rcpts"][1], {"rcpt": "postmaster", "params": {},
                                         "raw": "RCPT TO:<postmaster>"})
        self.assertEqual(r["headers"]["X-Test-Id"], "sink-1")
        self.assertTrue(r["headers"]["Message-Id"].startswith("<sink-1."))
        self.assertEqual(sinkmod.xtext_decode("rfc822;o+2Bx@b.example"), "rfc822;o+x@b.example")
        # the JSON log holds the same record
        self.assertEqual(sinkmod.read_log(self.log)[-1]["rcpts"], r["rcpts"])

    def test_ehlo_announces(self):
        with smtp_client.SmtpClient("127.0.0.1", self.sink.port) as c:
            for ext in ("DSN", "PIPELINING", "8BITMIME", "SIZE"):
                self.assertIn(ext, c.extensions)

    def test_rset_and_several_transactions(self):
        with smtp_client.SmtpClient("127.0.0.1", self.sink.port) as c:
            self.assertEqual(c.mail("a@x.example").code, 250)
            self.assertEqual(c.rcpt("dropped@x.example").code, 250)
            self.assertEqual(c.rset().code, 250)
            o1 = smtp_client.send_on(c, "a@x.example", ["one@x.example"], "multi-1")
            o2 = smtp_client.send_on(c, "a@x.example", ["two@x.example", "three@x.example"],
                                     "multi-2")
        self.assertTrue(o1.delivered_ok() and o2.delivered_ok())
        self.assertEqual([x["rcpt"] for x in smtp_client.delivered_rcpts(
            self.sink.records("multi-1"))], ["one@x.example"])
        self.assertEqual(len(smtp_client.delivered_rcpts(self.sink.records("multi-2"))), 2)
        self.assertFalse([r for r in self.sink.records()
                          if "dropped@x.example" in json.dumps(r)])

    def test_pipelined_commands(self):
        s = socket.create_connection(("127.0.0.1", self.sink.port), timeout=10)
        f = s.makefile("rb")
        f.readline()
        s.sendall(b"EHLO p.test\r\nMAIL FROM:<a@x.example>\r\nRCPT TO:<b@x.example>\r\n"
                  b"RCPT TO:<c@x.example> NOTIFY=NEVER\r\nDATA\r\n")
        lines = []
        while not (lines and lines[-1].startswith(b"354")):
            lines.append(f.readline())
        s.sendall(b"X-Test-Id: piped\r\n\r\n..dot\r\n.\r\nQUIT\r\n")
        self.assertTrue(f.readline().startswith(b"250"))
        self.assertTrue(f.readline().startswith(b"221"))
        s.close()
        rec = self.sink.wait_for("piped", 2, timeout=5)[0]
        self.assertEqual(rec["rcpts"][1]["params"], {"NOTIFY": "NEVER"})

    def test_concurrent_connections(self):
        errors = []

        def worker(n):
            try:
                o = smtp_client.send_message("127.0.0.1", self.sink.port, "a@x.example",
                                             ["r%d@x.example" % n], "conc-%d" % n)
                if not o.delivered_ok():
                    errors.append(o.as_dict())
            except Exception as exc:  # noqa: BLE001
                errors.append(str(exc))
        threads = [threading.Thread(target=worker, args=(n,)) for n in range(80)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(errors, [])
        self.assertEqual(len([r for r in self.sink.records()
                              if r["headers"].get("X-Test-Id", "").startswith("conc-")]), 80)

    def test_wait_from_log_file(self):
        smtp_client.send_message("127.0.0.1", self.sink.port, "a@x.example", ["z@x.example"],
                                 "from-log")
        recs = smtp_client.wait_for_message(self.log, "from-log", 1, timeout=5)
        self.assertEqual(recs[0]["rcpts"][0]["rcpt"], "z@x.example")


class OraclePostfixTests(unittest.TestCase):
    """The no-milter Postfix with virtual_alias_maps: lifecycle and relay."""

    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix="hm-harness-")
        cls.addClassCleanup(shutil.rmtree, cls.root, True)
        cls.sink = sinkmod.Sink(log_path=os.path.join(cls.root, "sink.jsonl")).start()
        cls.addClassCleanup(cls.sink.stop)
        cls.pf = postfix_instance.PostfixInstance(
            cls.root, "oracle", cls.sink.port, relay_domains=cases.ORACLE_RELAY_DOMAINS,
            virtual_lines=cases.ORACLE_VIRTUAL)
        cls.addClassCleanup(cls.pf.destroy)
        cls.pf.create()
        cls.pf.start()

    def send(self, rcpts, tid, n=None):
        o = smtp_client.send_message("127.0.0.1", self.pf.port, cases.SENDER, rcpts, tid)
        self.assertTrue(o.delivered_ok(), o.as_dict())
        recs = smtp_client.wait_for_message(self.sink, tid, n or len(rcpts), timeout=30,
                                            settle=lambda: self.pf.wait_queue_empty(20))
        return o, smtp_client.delivered_rcpts(recs)

    def test_virtual_expansion(self):
        _, got = self.send([("sales+q4@example.org", ["NOTIFY=SUCCESS,FAILURE"])], "v-alias", 2)
        self.assertEqual(sorted(g["rcpt"] for g in got),
                         ["bob+q4@corp.example", "carol+q4@corp.example"])
        self.assertEqual({g["params"]["ORCPT"] for g in got}, {"rfc822;sales+2Bq4@example.org"})
        self.assertEqual({g["params"]["NOTIFY"] for g in got}, {"FAILURE"})

    def test_relay_denied_outside(self):
        o = smtp_client.send_message("127.0.0.1", self.pf.port, cases.SENDER,
                                     ["x@not-relayed.example"], "v-denied")
        self.assertEqual(o.rcpts[0][2].code, 554)
        self.assertIsNone(o.data)

    def test_hundred_recipients_split_and_collected(self):
        rcpts = ["u%03d@corp.example" % i for i in range(100)]
        _, got = self.send(rcpts, "v-hundred")
        self.assertEqual(sorted(g["rcpt"] for g in got), rcpts)
        # Postfix splits at smtp_destination_recipient_limit (50)
        self.assertGreaterEqual(len(self.sink.records("v-hundred")), 2)

    def test_postconf_and_reload(self):
        self.pf.postconf("smtpd_banner = $myhostname ESMTP harness-reload")
        self.pf.reload()
        self.assertEqual(self.pf.postconf_get("smtpd_banner"), "$myhostname ESMTP harness-reload")
        with smtp_client.SmtpClient("127.0.0.1", self.pf.port) as c:
            self.assertIn("harness-reload", c.greeting.lines[0])

    def test_milter_warnings_filter(self):
        text = ("x postfix/cleanup[1]: warning: A: ignoring ESMTP argument from Milter: x\n"
                "x postfix/smtpd[2]: warning: hostname foo does not resolve\n")
        self.assertEqual(len(postfix_instance.PostfixInstance.milter_warnings(text)), 1)


class LifecycleTests(unittest.TestCase):
    def test_stop_kills_master(self):
        root = tempfile.mkdtemp(prefix="hm-life-")
        self.addCleanup(shutil.rmtree, root, True)
        pf = postfix_instance.PostfixInstance(root, "life", util.free_port(), relay_domains=[])
        self.addCleanup(pf.destroy)
        pf.create()
        pf.start()
        pid = pf.master_pid
        self.assertTrue(util.pid_alive(pid))
        pf.stop()
        self.assertFalse(util.pid_alive(pid))
        self.assertTrue(util.port_is_free(pf.port))
        pf.stop()   # idempotent

    def test_cleanup_when_the_starter_dies(self):
        """A process that starts an instance and then raises still stops it
        (atexit), so a crashing test leaves no Postfix behind."""
        root = tempfile.mkdtemp(prefix="hm-crash-")
        self.addCleanup(shutil.rmtree, root, True)
        script = textwrap.dedent("""
            import sys
            sys.path.insert(0, %r)
            import postfix_instance, util
            pf = postfix_instance.PostfixInstance(%r, "crash", util.free_port())
            pf.create(); pf.start()
            print(pf.master_pid, pf.port, flush=True)
            raise RuntimeError("test blew up")
        """) % (HERE, root)
        p = subprocess.run([sys.executable, "-c", script], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=120)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("test blew up", p.stderr)
        pid, port = (int(x) for x in p.stdout.split())
        deadline = time.monotonic() + 15
        while util.pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertFalse(util.pid_alive(pid), "master %d survived its starter" % pid)
        self.assertTrue(util.port_is_free(port))


def main():
    ok, why = postfix_instance.available()
    loader = unittest.TestLoader()
    classes = [SinkTests] + ([OraclePostfixTests, LifecycleTests] if ok else [])
    if not ok:
        print("SKIP: %s (the Postfix classes; the sink tests still run)" % why)
    suite = unittest.TestSuite(loader.loadTestsFromTestCase(c) for c in classes)
    result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(suite)
    failed = len(result.failures) + len(result.errors)
    print("%d passed, %d failed" % (result.testsRun - failed - len(result.skipped), failed))
    if failed:
        return 1
    return 0 if ok else 77


if __name__ == "__main__":
    sys.exit(main())
