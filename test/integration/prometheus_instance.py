#!/usr/bin/python3
"""A private Prometheus server on loopback, for the metrics test.

Owns: its prometheus.yml (one job scraping the given targets every second,
rule files evaluated every second), its data directory and log in a temp
dir, the web address 127.0.0.1:<free port>, start (waiting for /-/ready)
and stop by PID (SIGTERM, wait, SIGKILL; atexit too), and the HTTP API
calls a test makes: instant queries, alerts, rules, targets.  Debian's
`prometheus` package; its own service is never touched.
"""

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.parse
import urllib.request

import util

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


def available():
    """(True, "") when prometheus and promtool can run here, else (False, why)."""
    for path in (PROMETHEUS, PROMTOOL):
        if not os.access(path, os.X_OK):
            return False, "%s is not installed (Debian package prometheus)" % path
    return True, ""


def promtool_check_metrics(text):
    """`promtool check metrics` on text: (ok, what it printed)."""
    p = subprocess.run([PROMTOOL, "check", "metrics"], input=text, text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    return p.returncode == 0 and not p.stdout.strip(), p.stdout


class PrometheusInstance:
    """prometheus --config.file=DIR/prometheus.yml ... as our child."""

    def __init__(self, root, targets, job="hosted-milter", rule_files=()):
        self.root = os.path.abspath(os.path.join(root, "prometheus"))
        os.makedirs(self.root, exist_ok=True)
        self.config = os.path.join(self.root, "prometheus.yml")
        self.data = os.path.join(self.root, "data")
        self.log = os.path.join(self.root, "prometheus.log")
        self.port = util.free_port()
        self.targets = list(targets)
        self.job = job
        self.rule_files = [os.path.abspath(r) for r in rule_files]
        self.proc = None
        self._logf = None

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def write_config(self):
        lines = ["global:",
                 "  scrape_interval: 1s",
                 "  scrape_timeout: 1s",
                 "  evaluation_interval: 1s"]
        if self.rule_files:
            lines.append("rule_files:")
            lines += ["  - %s" % json.dumps(r) for r in self.rule_files]
        lines += ["scrape_configs:",
                  "  - job_name: %s" % json.dumps(self.job),
                  "    static_configs:",
                  "      - targets: %s" % json.dumps(self.targets)]
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout=60.0):
        self.write_config()
        self._logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [PROMETHEUS, "--config.file=" + self.config, "--storage.tsdb.path=" + self.data,
             "--web.listen-address=127.0.0.1:%d" % self.port, "--log.level=warn",
             "--storage.tsdb.retention.time=1h"],
            stdin=subprocess.DEVNULL, stdout=self._logf, stderr=subprocess.STDOUT,
            start_new_session=True, cwd=self.root)
        util.stop_at_exit(self)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                break
            try:
                with urllib.request.urlopen(self.url + "/-/ready", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.2)
        text = util.read_from(self.log)[-3000:]
        self.stop()
        raise RuntimeError("prometheus did not become ready:\n%s" % text)

    def stop(self, timeout=15.0):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._logf is not None:
            self._logf.close()
            self._logf = None
        util.stopped(self)

    def api(self, path, **params):
        """GET /api/v1/<path>?params -> its "data" (raises unless success)."""
        url = "%s/api/v1/%s" % (self.url, path)
        if params:
            url += "?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=10) as r:
            body = json.load(r)
        if body.get("status") != "success":
            raise RuntimeError("%s: %s" % (url, body))
        return body["data"]

    def query(self, expr):
        """An instant query: {frozenset(labels.items()): float value}."""
        data = self.api("query", query=expr)
        return {frozenset(s["metric"].items()): float(s["value"][1]) for s in data["result"]}

    def value(self, expr):
        """The single value of expr, or None when it has no series."""
        result = self.query(expr)
        if len(result) > 1:
            raise RuntimeError("%s: %d series" % (expr, len(result)))
        return next(iter(result.values())) if result else None

    def alerts(self):
        """[(alertname, state, labels)] of the active alerts."""
        return [(a["labels"].get("alertname"), a["state"], a["labels"])
                for a in self.api("alerts")["alerts"]]

    def log_text(self):
        return util.read_from(self.log)
