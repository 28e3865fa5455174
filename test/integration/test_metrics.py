#!/usr/bin/python3
"""hosted-milter's metrics (label `metrics`): scraped directly and by a real Prometheus.

One environment for the whole suite: the recording sink, hosted-milter on
e2e.conf plus `metrics = "127.0.0.1:<free port>"`, a private Postfix on
loopback, and a private Prometheus server (prometheus_instance.py)
scraping the milter every second with contrib/prometheus/
hosted-milter.rules.yml loaded.  All stopped by PID whatever happens.

  traffic       one message through Postfix with a recipient kept,
                rewritten, rejected, tempfailed and passed: the exact
                deltas of every counter in a direct scrape
  promtool      `promtool check metrics` on a live scrape
  reloads       SIGUSR1 good / broken / good: reloads_total by result,
                last_reload_successful, the table's load time; a changed
                `metrics` warns and the old address keeps serving
  prometheus    Prometheus's query API returns the counters this test
                caused (N messages: exactly +N), up == 1; a broken reload
                puts HostedMilterReloadFailing in pending, a good one
                clears it
  source        (MetricsSource, a private slapd, no MTA) a directory
                source's up / entries / last read / last error before,
                during and after slapd is down
  misbehaving   a hundred clients at once -- idle, half a request, an
                oversize URL or header, garbage, POSTs -- while mail flows:
                every recipient still resolved right, the milter alive,
                scrapes answered again once they go

    test_metrics.py --milter build/hosted-milter [-k NAME] [--keep]

Exit status 0 all passed, 1 something failed, 77 skipped (no Postfix, no
Prometheus, or not root).  The last line of output is "N passed, N failed".
"""

import os
import re
import shutil
import socket
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cases  # noqa: E402
import ldap_data  # noqa: E402
import postfix_instance  # noqa: E402
import prometheus_instance  # noqa: E402
import slapd_instance  # noqa: E402
import smtp_client  # noqa: E402
import suite_common  # noqa: E402
import test_ldap  # noqa: E402
import util  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
RULES = os.path.join(HERE, "..", "..", "contrib", "prometheus", "hosted-milter.rules.yml")

# One recipient per action (e2e.conf; cases.py says the same of each).
KEEP = "dave@corp.example"               # a mailbox: keep, rule exact
REWRITE = "sales@example.org"            # alias -> bob@, carol@: rewrite, exact
REWRITE_TARGETS = ["bob@corp.example", "carol@corp.example"]
REJECT = "nobody@corp.example"           # unknown: reject, rule unknown
TEMPFAIL = "anyone@tempfail.example"     # unknown_recipient = tempfail: 450
PASS = "someone@elsewhere.example"       # not hosted (Postfix relays it): pass

SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$")


def parse(text):
    """Exposition text -> {'name{labels}': float} (labels as printed)."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if m is None:
            raise AssertionError("not a sample line: %r" % line)
        out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out


def rcpt(action, rule):
    return 'hosted_milter_recipients_total{action="%s",rule="%s"}' % (action, rule)


def postfix_factory(root, name, sink_port, relay_domains, milter_socket):
    return postfix_instance.PostfixInstance(root, name, sink_port, relay_domains=relay_domains,
                                            milter_socket=milter_socket)


def available():
    for check in (postfix_instance.available, prometheus_instance.available):
        ok, why = check()
        if not ok:
            return ok, why
    return True, ""


class Metrics(suite_common.EnvTestCase):
    env_label = "metrics"

    @classmethod
    def setUpClass(cls):
        cls.port = util.free_port()
        conf_dir = tempfile.mkdtemp(prefix="hm-it-metrics-conf-")
        cls.addClassCleanup(shutil.rmtree, conf_dir, True)
        conf = os.path.join(conf_dir, "e2e-metrics.conf")
        with open(cases.E2E_CONF) as f:
            text = f.read()
        with open(conf, "w") as f:
            f.write(text + '\nmetrics = "127.0.0.1:%d"\n' % cls.port)
        cls.env = suite_common.Env(postfix_factory, conf=conf, label=cls.env_label)
        cls.addClassCleanup(cls.env.stop)
        cls.env.start()
        cls.base_conf = cls.env.milter.read_conf()
        cls.prom = prometheus_instance.PrometheusInstance(
            cls.env.root, ["127.0.0.1:%d" % cls.port], rule_files=[RULES])
        cls.addClassCleanup(cls.prom.stop)
        cls.prom.start()
        # runs first: the milter stops cleanly (its metrics thread too)
        cls.addClassCleanup(cls.check_milter_exit)

    @classmethod
    def check_milter_exit(cls):
        rc = cls.env.milter.stop()
        log = cls.env.milter.log_text()
        if util.SANITIZER_TEXT.search(log):
            raise AssertionError("sanitizer report in the milter log:\n%s" % log[-4000:])
        if rc != 0:
            raise AssertionError("milter exit status %s after SIGTERM:\n%s" % (rc, log[-2000:]))

    # --- helpers ---------------------------------------------------------------

    def scrape_text(self, path="/metrics", timeout=5):
        url = "http://127.0.0.1:%d%s" % (self.port, path)
        with urllib.request.urlopen(url, timeout=timeout) as r:
            self.assertEqual(r.status, 200)
            self.assertEqual(r.headers["Content-Type"], "text/plain; version=0.0.4; charset=utf-8")
            return r.read().decode("utf-8")

    def scrape(self):
        return parse(self.scrape_text())

    def deltas(self, before, after):
        """The samples that changed, by how much (new series included)."""
        return {k: v - before.get(k, 0) for k, v in after.items()
                if v != before.get(k, 0) and not k.startswith(("hosted_milter_table_last_load",
                                                               "process_"))}

    def send(self, test_id, rcpts, delivered):
        """One message; waits for delivered recipients at the sink."""
        o = smtp_client.send_message("127.0.0.1", self.env.mta.port, cases.SENDER, rcpts, test_id)
        if delivered:
            smtp_client.wait_for_message(self.env.sink, test_id, delivered,
                                         timeout=suite_common.DELIVERY_TIMEOUT,
                                         settle=lambda: self.env.mta.wait_queue_empty(20))
        return o

    def reload(self, text):
        self.env.milter.write_conf(text)
        return self.env.milter.reload()

    # --- tests -----------------------------------------------------------------

    def test_traffic(self):
        """one message, a recipient of each action: exact counter deltas"""
        before = self.scrape()
        o = self.send("metrics-traffic", [KEEP, REWRITE, REJECT, TEMPFAIL, PASS], 4)
        codes = {p: (r.code, r.xcode) for p, _, r in o.rcpts}
        self.assertEqual(codes[KEEP][0], 250, o.as_dict())
        self.assertEqual(codes[REWRITE][0], 250, o.as_dict())
        self.assertEqual(codes[REJECT], cases.REJECT, o.as_dict())
        self.assertEqual(codes[TEMPFAIL], cases.TEMPFAIL, o.as_dict())
        self.assertEqual(codes[PASS][0], 250, o.as_dict())
        self.assertTrue(o.delivered_ok(), o.as_dict())
        got = sorted(r["rcpt"] for r in smtp_client.delivered_rcpts(
            self.env.sink.records("metrics-traffic")))
        self.assertEqual(got, sorted([KEEP, PASS] + REWRITE_TARGETS))
        want = {
            rcpt("keep", "exact"): 1,
            rcpt("rewrite", "exact"): 1,
            rcpt("reject", "unknown"): 1,
            rcpt("tempfail", "unknown"): 1,
            rcpt("pass", "not_hosted"): 1,
            "hosted_milter_messages_total": 1,
            "hosted_milter_rewrites_total": 1,
            'hosted_milter_edits_total{call="addrcpt"}': 2,
            'hosted_milter_edits_total{call="delrcpt"}': 1,
            'hosted_milter_tempfails_total{cause="policy"}': 1,
        }
        self.assertEqual(self.deltas(before, self.scrape()), want, self.env.logs())

    def test_promtool(self):
        """promtool check metrics accepts a live scrape"""
        self.send("metrics-promtool", [KEEP, REJECT], 1)
        text = self.scrape_text()
        self.assertIn(rcpt("keep", "exact"), text)
        ok, out = prometheus_instance.promtool_check_metrics(text)
        self.assertTrue(ok, "promtool check metrics:\n%s\n--- scrape ---\n%s" % (out, text))

    def test_reloads(self):
        """good, broken, good reloads: counted by result, the last one's result shown"""
        before = self.scrape()
        ok, text = self.reload(self.base_conf)
        self.assertTrue(ok, text)
        mid = self.scrape()
        self.assertEqual(self.deltas(before, mid),
                         {'hosted_milter_reloads_total{result="success"}': 1})
        self.assertEqual(mid["hosted_milter_last_reload_successful"], 1)
        self.assertGreaterEqual(mid["hosted_milter_table_last_load_timestamp_seconds"],
                                before["hosted_milter_table_last_load_timestamp_seconds"])
        # e2e.conf's 7 hosted domains (-D lists bücher.example in both forms)
        self.assertEqual(mid["hosted_milter_table_domains"], 7)
        ok, text = self.reload(self.base_conf + "\nno_such_option = 1\n")
        self.assertFalse(ok, text)
        bad = self.scrape()
        self.assertEqual(self.deltas(mid, bad),
                         {'hosted_milter_reloads_total{result="failure"}': 1,
                          "hosted_milter_last_reload_successful": -1})
        # a new metrics address: a warning; the old one keeps serving
        ok, text = self.reload(self.base_conf.replace(
            "127.0.0.1:%d" % self.port, "127.0.0.1:%d" % util.free_port()))
        self.assertTrue(ok, text)
        self.assertIn("reload: metrics changed; it takes effect only after a restart", text)
        self.assertEqual(self.scrape()["hosted_milter_last_reload_successful"], 1)
        ok, text = self.reload(self.base_conf)
        self.assertTrue(ok, text)
        self.assertEqual(self.scrape()["hosted_milter_last_reload_successful"], 1)

    def wait_prom(self, expr, want, timeout=30):
        """Poll Prometheus until expr's value is want; returns the last value."""
        last = [None]

        def check():
            last[0] = self.prom.value(expr)
            return last[0] == want
        util.wait_until(check, timeout, 0.25)
        return last[0]

    def test_prometheus(self):
        """a real Prometheus returns the counters this test caused; the
        reload alert goes pending on a failed reload and away on a good one"""
        prom = self.prom
        self.assertEqual(self.wait_prom('up{job="hosted-milter"}', 1.0), 1.0, prom.log_text())
        # Prometheus's value settles on the scrape before the traffic.
        start = self.scrape()["hosted_milter_messages_total"]
        got = self.wait_prom("hosted_milter_messages_total", start)
        self.assertEqual(got, start, "Prometheus never saw messages_total = %s" % start)
        keep0 = self.scrape().get(rcpt("keep", "exact"), 0)
        n = 5
        for i in range(n):
            self.send("metrics-prom-%d" % i, [KEEP, REJECT], 1)
        got = self.wait_prom("hosted_milter_messages_total", start + n)
        self.assertEqual(got, start + n, prom.log_text()[-2000:])
        got = self.wait_prom('hosted_milter_recipients_total{action="keep",rule="exact"}',
                             keep0 + n)
        self.assertEqual(got, keep0 + n)
        self.assertEqual(self.wait_prom("hosted_milter_table_domains", 7.0), 7.0)
        # The shipped rules are loaded and evaluate.
        groups = prom.api("rules")["groups"]
        names = {r["name"]: r["health"] for g in groups for r in g["rules"]}
        self.assertEqual(names, {"HostedMilterReloadFailing": "ok",
                                 "HostedMilterSourceDown": "ok"}, groups)
        ok, text = self.reload(self.base_conf + "\nno_such_option = 1\n")
        self.assertFalse(ok, text)
        try:
            pending = util.wait_until(
                lambda: ("HostedMilterReloadFailing", "pending") in
                [(a, s) for a, s, _ in prom.alerts()], 30, 0.25)
            self.assertTrue(pending, prom.alerts())
        finally:
            ok, text = self.reload(self.base_conf)
        self.assertTrue(ok, text)
        self.assertTrue(util.wait_until(lambda: not prom.alerts(), 30, 0.25), prom.alerts())

    def test_misbehaving_clients(self):
        """a hundred misbehaving clients: mail still resolved, the server
        answers again once they go"""
        port = self.port
        opened = []
        lock = threading.Lock()
        big = b"a" * 100000

        def keep_open(s):
            with lock:
                opened.append(s)

        def client(i):
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=5)
            except OSError:
                return  # past the limit: refused or closed, as meant
            kind = i % 6
            try:
                if kind == 1:
                    s.sendall(b"GET /metr")                          # half a request line
                elif kind == 2:
                    s.sendall(b"GET /" + big + b" HTTP/1.1\r\n\r\n")    # oversize URL
                elif kind == 3:
                    s.sendall(b"GET /metrics HTTP/1.1\r\nX: " + big + b"\r\n\r\n")
                elif kind == 4:
                    s.sendall(bytes(range(256)) * 16)                  # garbage
                elif kind == 5:
                    s.sendall(b"POST /metrics HTTP/1.1\r\nContent-Length: 100000\r\n\r\nxx")
            except OSError:
                pass  # the server closed on us: fine
            keep_open(s)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(100)]
        for t in threads:
            t.start()
        try:
            for t in threads:
                t.join(30)
            # mail flows while they hold their connections
            t0 = time.monotonic()
            for i in range(5):
                o = self.send("metrics-storm-%d" % i, [KEEP, REWRITE, REJECT], 3)
                codes = [r.code for _, _, r in o.rcpts]
                self.assertEqual(codes, [250, 250, 550], o.as_dict())
                self.assertTrue(o.delivered_ok(), o.as_dict())
            elapsed = time.monotonic() - t0
            sys.stdout.write("\n    [measure] 5 messages during the storm: %.2f s\n" % elapsed)
            self.assertTrue(self.env.milter.alive())
        finally:
            with lock:
                for s in opened:
                    s.close()
        # once they are gone (the server notices closed sockets at once)
        text = None
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                text = self.scrape_text(timeout=2)
                break
            except (OSError, urllib.error.URLError):
                time.sleep(0.2)
        self.assertIsNotNone(text, "no scrape answered after the storm")
        self.assertIn("hosted_milter_messages_total", text)
        # wrong path and method still get their answers
        for path, method, status in (("/", "GET", 404), ("/metrics", "POST", 405)):
            req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), method=method,
                                         data=b"x" if method == "POST" else None)
            with self.assertRaises(urllib.error.HTTPError) as cm:
                urllib.request.urlopen(req, timeout=5)
            self.assertEqual(cm.exception.code, status)
        self.assertTrue(self.env.milter.alive())
        self.assertNotRegex(self.env.milter.log_text(), util.SANITIZER_TEXT)


class MetricsSource(test_ldap.LdapCase):
    """A directory source's metrics through an outage (a private slapd; no
    MTA).  Skipped (not passed) without slapd."""

    label = "metrics-source"

    @classmethod
    def setUpClass(cls):
        ok, why = slapd_instance.available()
        if not ok:
            raise unittest.SkipTest(why)
        super().setUpClass()

    def scrape(self, port):
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
            return parse(r.read().decode("utf-8"))

    def test_source_outage(self):
        """up, entries and the times of the last read and the last error of
        a source, before, during and after slapd is down"""
        s = self.slapd(ldap_data.ad_tree())
        port = util.free_port()
        conf = test_ldap.ad_conf(s, self.dir_for("state")) + 'metrics = "127.0.0.1:%d"\n' % port
        t0 = time.time()
        m = self.milter(conf)
        up, ok_at, err_at, entries = ('hosted_milter_source_%s{source="dir"}' % k for k in
                                      ("up", "last_refresh_timestamp_seconds",
                                       "last_error_timestamp_seconds", "entries"))
        first = self.scrape(port)
        self.assertEqual(first[up], 1)
        self.assertGreater(first[entries], 0)
        self.assertGreaterEqual(first[ok_at], int(t0))
        self.assertEqual(first[err_at], 0)
        s.stop()
        ok, text = m.reload()
        self.assertFalse(ok, text)
        down = self.scrape(port)
        self.assertEqual(down[up], 0)
        self.assertEqual(down[entries], first[entries])   # its last good read
        self.assertEqual(down[ok_at], first[ok_at])
        self.assertGreaterEqual(down[err_at], first[ok_at])
        self.assertEqual(down["hosted_milter_last_reload_successful"], 0)
        self.assertEqual(down['hosted_milter_reloads_total{result="failure"}'], 1)
        s.start()
        ok, text = m.reload()
        self.assertTrue(ok, text)
        back = self.scrape(port)
        self.assertEqual(back[up], 1)
        self.assertEqual(back[entries], first[entries])
        self.assertGreaterEqual(back[ok_at], down[err_at])
        self.assertEqual(back[err_at], down[err_at])
        self.assertEqual(back["hosted_milter_last_reload_successful"], 1)
        ok_prom, out = prometheus_instance.promtool_check_metrics(
            urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5)
            .read().decode("utf-8"))
        self.assertTrue(ok_prom, out)


def main(argv=None):
    return suite_common.run_main(__doc__.splitlines()[1], [Metrics, MetricsSource], available,
                                 argv)


if __name__ == "__main__":
    sys.exit(main())
