#!/usr/bin/python3
"""Stress: thousands of messages through a private Postfix while the table is reloaded.

Builds on suite_common's reload-under-traffic test, at scale: a sink, the
milter and a private Postfix (suite_common.Env), then --messages messages
(default 20000) from --clients concurrent SMTP connections (default 24), each
message with 3-7 recipients drawn from a set whose routing differs between
two configurations A and B (an alias retargeted, a secondary address moved
to another mailbox, an alias fan-out changed, an address that is rejected in
A and an alias in B) plus recipients routed alike in both.  Meanwhile the
configuration is swapped A <-> B every 0.3-0.5 s by SIGUSR1, each reload
confirmed by its "reloaded configuration" line.  Then, once the queue has
drained, one test per property:

  - the model of A and B in this file agrees with `hosted-milter -q`;
  - no 4xx anywhere (greeting, MAIL, RCPT, DATA), no broken dialogue;
  - every accepted message reached the sink, each final recipient exactly
    once; nothing arrived that was not sent; no delivery report;
  - every message routed entirely per A or entirely per B (RCPT replies and
    deliveries alike), and per a table that was live while it was sent;
    both tables seen; Postfix's queue empty;
  - every SIGUSR1 confirmed, one "reloaded configuration" line each;
  - the milter's VmRSS (sampled all along and printed) stable after a
    warm-up: the last samples at most a small bound above the median of
    the middle ones;
  - no error/warning in the milter log, no milter trouble in Postfix's;
  - the milter exits 0 on SIGTERM (LeakSanitizer makes a leak nonzero) and
    no sanitizer report appeared: in its log, or as a new file under the
    ASAN/UBSAN/LSAN_OPTIONS log_path that contrib/run-tests.sh sets.

The whole run is capped (--max-seconds); reaching the cap fails with the
phase it was in.  Loopback only; everything is stopped by PID.

    test_stress.py --milter build/hosted-milter [--messages N] [--clients N]
                   [--max-seconds S] [--seed N] [--keep]

Exit status 0 all passed, 1 something failed, 77 skipped (no Postfix, or
not root).  The last line of output is "N passed, N failed".
"""

import argparse
import collections
import glob
import os
import random
import re
import statistics
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cases  # noqa: E402
import milter_process  # noqa: E402
import postfix_instance  # noqa: E402
import smtp_client  # noqa: E402
import suite_common  # noqa: E402
from util import SANITIZER_TEXT  # noqa: E402


class Opts:
    """The knobs (set by main from the command line)."""
    messages = 20000
    clients = 24
    max_seconds = 400.0
    seed = None
    reload_min = 0.3
    reload_max = 0.5


# --- the two configurations and what they must do -------------------------

CORP = "corp.example"
ORG = "example.org"
MAILBOXES = ["admin", "alice", "bob", "carol", "dave", "erin", "frank", "gina", "henry",
             "ivan", "judy", "kim", "leo"]


def c(user):
    return "%s@%s" % (user, CORP)


# (secondary addresses of alice, erin) and aliases per version.
VERSIONS = {
    "A": {
        "secondaries": {"alice": ["alice@example.org", "a.smith@example.org"],
                        "erin": ["erin@example.org"],
                        "leo": ["leo@example.org"]},
        "aliases": {"sales@example.org": [c("bob")],
                    "team@example.org": [c("dave"), c("frank")],
                    "support@example.org": [c("ivan"), c("judy")]},
    },
    "B": {
        "secondaries": {"alice": ["alice@example.org"],
                        "erin": ["erin@example.org", "a.smith@example.org"],
                        "leo": ["leo@example.org"]},
        "aliases": {"sales@example.org": [c("carol")],
                    "team@example.org": [c("dave"), c("frank"), c("gina")],
                    "support@example.org": [c("ivan"), c("judy")],
                    "new@example.org": [c("henry")]},
    },
}

# Recipient slots: a message takes at most one path from a slot.  Within
# one version the targets of different slots never overlap, so each final
# recipient is expected exactly once.  DIFFERING slots route differently in
# A and B; SAME slots alike.
DIFFERING = [
    ["sales@example.org", "sales+promo@example.org"],   # alias retargeted (and +ext)
    ["a.smith@example.org"],                            # secondary moved alice -> erin
    ["team@example.org"],                               # fan-out 2 -> 3
    ["new@example.org"],                                # 550 in A, alias in B
]
SAME = [
    ["support@example.org"],                            # alias, unchanged
    ["kim@corp.example", "Kim@Corp.Example"],           # mailbox, kept
    ["postmaster@example.org"],                         # role -> global postmaster
    ["leo@example.org", "leo+x@example.org"],           # secondary, unchanged
    ["nobody@corp.example"],                            # 550 in both
]


# Mailboxes with a secondary address each, alike in A and B, that no message
# uses: they make each table some hundreds of kB, so that a table kept
# alive (leaked) by a reload shows in the milter's RSS.
FILLER = 2000


def conf_text(v):
    spec = VERSIONS[v]
    out = ["# test_stress.py: configuration version %s (generated)" % v,
           'postmaster = "%s"' % c("admin"),
           'recipient_delimiter = "+"',
           "unknown_recipient = reject",
           'socket_mode = "0666"',
           'domain "%s" { }' % CORP,
           'domain "%s" { }' % ORG]
    for user in MAILBOXES:
        sec = spec["secondaries"].get(user)
        if sec:
            out.append('mailbox "%s" { addresses = { %s } }'
                       % (c(user), ", ".join('"%s"' % a for a in sec)))
        else:
            out.append('mailbox "%s" { }' % c(user))
    for i in range(FILLER):
        out.append('mailbox "filler%04d@%s" { addresses = { "f%04d@%s" } }' % (i, CORP, i, ORG))
    for alias, targets in spec["aliases"].items():
        out.append('alias "%s" { to = { %s } }' % (alias, ", ".join('"%s"' % t for t in targets)))
    return "\n".join(out) + "\n"


def resolve(v, path):
    """What version v does with path: ("keep", [path]), ("rewrite",
    [targets]) or ("reject", [])."""
    spec = VERSIONS[v]
    local, _, domain = path.lower().partition("@")
    user, plus, ext = local.partition("+")
    ext = plus + ext

    def with_ext(addr):
        u, _, d = addr.partition("@")
        return "%s%s@%s" % (u, ext, d)
    base = "%s@%s" % (user, domain)
    if domain == CORP and user in MAILBOXES:
        return "keep", [path]
    if base in spec["aliases"]:
        return "rewrite", [with_ext(t) for t in spec["aliases"][base]]
    for owner, secs in spec["secondaries"].items():
        if base in secs:
            return "rewrite", [with_ext(c(owner))]
    if user == "postmaster":
        return "rewrite", [with_ext(c("admin"))]
    return "reject", []


def all_paths():
    return [p for slot in DIFFERING + SAME for p in slot]


def expected(v, rcpts):
    """(RCPT reply classes, Counter of final recipients) of a message."""
    replies, deliv = [], collections.Counter()
    for p in rcpts:
        action, targets = resolve(v, p)
        replies.append("reject" if action == "reject" else "accept")
        deliv.update(t.lower() for t in targets)
    return replies, deliv


def explain(rcpts, replies, delivered):
    """One line on a message that fits neither version: per recipient, its
    reply or the deliveries among its A and B targets, and the versions
    that fit; then whatever was delivered beyond that (or twice)."""
    parts, shown_all = [], collections.Counter()
    for p, rep in zip(rcpts, replies):
        fits = []
        for v in VERSIONS:
            action, targets = resolve(v, p)
            want = "reject" if action == "reject" else "accept"
            if rep == want and all(delivered[t.lower()] > 0 for t in targets):
                fits.append(v)
        mine = {t.lower() for v in VERSIONS for t in resolve(v, p)[1]}
        shown = sorted(t for t in delivered if t in mine)
        shown_all.update(shown)
        what = rep if rep != "accept" else ",".join(shown) or "nothing delivered"
        parts.append("%s->%s (%s)" % (p, what, "/".join(fits) or "neither"))
    extra = delivered - shown_all
    return "fits neither A nor B: %s%s" % ("; ".join(parts), "; also delivered %s"
                                          % sorted(extra.elements()) if extra else "")


def model_vs_query(binary, root):
    """Problems where `hosted-milter -q` disagrees with resolve()."""
    problems = []
    for v in VERSIONS:
        path = os.path.join(root, "query-%s.conf" % v)
        with open(path, "w") as f:
            f.write(conf_text(v))
        chk = milter_process.run_tool(binary, path, "-t")
        if chk.returncode != 0:
            problems.append("version %s: -t failed: %s" % (v, chk.stderr.strip()))
            continue
        q = milter_process.query(binary, path, all_paths())
        for p in all_paths():
            action, targets = resolve(v, p)
            got = q.get(p)
            if got is None:
                problems.append("%s: -q printed nothing for %s" % (v, p))
                continue
            if got[0] != action:
                problems.append("%s: -q %s -> %s %r, model says %s" % (v, p, got[0], got[1],
                                                                      action))
            elif action == "rewrite":
                have = sorted(t.strip().lower() for t in got[1].split(",") if t.strip())
                if have != sorted(t.lower() for t in targets):
                    problems.append("%s: -q %s -> %s, model says %s" % (v, p, have, targets))
    return problems


# --- sanitizer reports --------------------------------------------------------



def sanitizer_log_paths():
    """The log_path prefixes of the sanitizer options in the environment
    (contrib/run-tests.sh sets them; reports go to PREFIX.PID)."""
    out = set()
    for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        for opt in re.split(r"[:,\s]+", os.environ.get(var, "")):
            k, _, val = opt.partition("=")
            if k == "log_path" and val and val not in ("stderr", "stdout"):
                out.add(val)
    return sorted(out)


def sanitizer_report_files():
    return {f for p in sanitizer_log_paths() for f in glob.glob(glob.escape(p) + ".*")}


def is_sanitized(binary):
    try:
        with open(binary, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


def rss_kb(pid):
    """VmRSS of pid in kB, None when gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


# --- the run ----------------------------------------------------------------

class Run:
    """One stress run over an Env; the results the tests then check."""

    def __init__(self, env, opts):
        self.env = env
        self.opts = opts
        self.t_start = time.monotonic()
        self.deadline = self.t_start + opts.max_seconds
        self.seed = opts.seed if opts.seed is not None else int(time.time())
        self.lock = threading.Lock()
        self.next_msg = 0
        self.results = []         # dicts: tid, rcpts, t0, t1, outcome | error
        self.marks = [("A", float("-inf"), float("-inf"))]  # (version, signalled, confirmed)
        self.reload_problems = []
        self.rss = []             # (seconds since start, messages answered, kB)
        self.phase = "start"
        self.capped = None
        self.timings = {}
        self.done = threading.Event()
        self.milter_log_start = env.milter.log_size()
        self.mta_log_start = env.mta.log_size()

    def left(self):
        return self.deadline - time.monotonic()

    def cap(self, what):
        if self.capped is None:
            self.capped = ("wall-clock cap of %.0f s reached while %s (%d of %d messages "
                           "answered, %d reloads)" % (self.opts.max_seconds, what,
                                                      len(self.results), self.opts.messages,
                                                      len(self.marks) - 1))

    # --- senders ---
    def take(self, n):
        with self.lock:
            k = min(n, self.opts.messages - self.next_msg)
            first = self.next_msg
            self.next_msg += k
            return range(first, first + k)

    def make_rcpts(self, rnd):
        rcpts = [rnd.choice(s) for s in rnd.sample(DIFFERING, rnd.randint(2, 4))]
        rcpts += [rnd.choice(s) for s in rnd.sample(SAME, rnd.randint(1, 3))]
        rnd.shuffle(rcpts)
        return rcpts

    def sender(self, w):
        rnd = random.Random(self.seed * 1000 + w)
        port = self.env.mta.port
        while self.left() > 0:
            batch = list(self.take(rnd.randint(1, 8)))
            if not batch:
                return
            msgs = [("stress-%05d" % i, self.make_rcpts(rnd)) for i in batch]
            done = 0
            try:
                with smtp_client.SmtpClient("127.0.0.1", port, timeout=30) as cl:
                    if cl.greeting.code != 220:
                        raise smtp_client.SmtpError("greeting %r" % cl.greeting.line)
                    for tid, rcpts in msgs:
                        t0 = time.monotonic()
                        o = smtp_client.send_on(cl, cases.SENDER, rcpts, tid)
                        t1 = time.monotonic()
                        with self.lock:
                            self.results.append({"tid": tid, "rcpts": rcpts, "t0": t0,
                                                 "t1": t1, "outcome": o})
                        done += 1
            except (smtp_client.SmtpError, OSError) as exc:
                t1 = time.monotonic()
                with self.lock:
                    for tid, rcpts in msgs[done:]:
                        self.results.append({"tid": tid, "rcpts": rcpts, "t0": t1, "t1": t1,
                                             "error": str(exc)})
        self.cap("sending")

    # --- RSS ---
    def sampler(self):
        pid = self.env.milter.pid
        while not self.done.wait(0.5):
            kb = rss_kb(pid)
            if kb is not None:
                self.rss.append((time.monotonic() - self.t_start, len(self.results), kb))

    # --- reloads, in the calling thread, while the senders run ---
    def reload_loop(self, threads):
        m = self.env.milter
        rnd = random.Random(self.seed)
        current = "A"
        while any(t.is_alive() for t in threads):
            time.sleep(rnd.uniform(self.opts.reload_min, self.opts.reload_max))
            if self.left() <= 0:
                self.cap("reloading")
                return
            if not m.alive():
                self.reload_problems.append("the milter died during the run")
                return
            if not any(t.is_alive() for t in threads):
                return
            nxt = "B" if current == "A" else "A"
            m.write_conf(conf_text(nxt))
            t_sig = time.monotonic()
            try:
                ok, text = m.reload(timeout=min(30.0, max(1.0, self.left())))
            except (TimeoutError, RuntimeError) as exc:
                self.reload_problems.append("reload %d (to %s): %s"
                                            % (len(self.marks), nxt, str(exc)[:2000]))
                return
            t_ok = time.monotonic()
            if not ok:
                self.reload_problems.append("reload %d (to %s) failed:\n%s"
                                            % (len(self.marks), nxt, text[-2000:]))
                return
            self.marks.append((nxt, t_sig, t_ok))
            current = nxt

    def wait_drained(self):
        """Until the queue is empty and every accepted message is at the sink."""
        want = {r["tid"] for r in self.results if "outcome" in r and r["outcome"].delivered_ok()}
        while True:
            have = {rec["headers"].get("X-Test-Id") for rec in self.env.sink.records()}
            if want <= have and not self.env.mta.queue():
                return
            if self.left() <= 0:
                self.cap("waiting for the queue to drain (%d accepted messages not at the "
                         "sink, %d queued)" % (len(want - have), len(self.env.mta.queue())))
                return
            time.sleep(0.5)

    def run(self):
        self.phase = "sending"
        sampler = threading.Thread(target=self.sampler, name="rss", daemon=True)
        sampler.start()
        threads = [threading.Thread(target=self.sender, args=(w,), name="smtp-%d" % w,
                                    daemon=True) for w in range(self.opts.clients)]
        try:
            for t in threads:
                t.start()
            self.reload_loop(threads)
            for t in threads:
                while t.is_alive():
                    t.join(1.0)
            self.timings["send"] = time.monotonic() - self.t_start
            self.phase = "draining"
            self.wait_drained()
            self.timings["drain"] = time.monotonic() - self.t_start - self.timings["send"]
        finally:
            self.done.set()
            sampler.join(5)


class Stress(suite_common.EnvTestCase):
    """One stress run (in setUpClass), then one test per property."""

    mta_factory = staticmethod(lambda root, name, sink_port, relay, sock:
                               postfix_instance.PostfixInstance(root, name, sink_port,
                                                                relay_domains=relay,
                                                                milter_socket=sock))
    env_label = "stress"
    run_ = None
    run_error = None
    model_problems = None
    reports_before = set()

    @classmethod
    def setUpClass(cls):
        cls.reports_before = sanitizer_report_files()
        tmp = tempfile.mkdtemp(prefix="hm-stress-conf-")
        try:
            conf = os.path.join(tmp, "hosted-milter.conf")
            with open(conf, "w") as f:
                f.write(conf_text("A"))
            cls.env = suite_common.Env(cls.mta_factory, conf=conf, label=cls.env_label)
            cls.addClassCleanup(cls.env.stop)
            cls.env.start()
        finally:
            os.unlink(conf)
            os.rmdir(tmp)
        env = cls.env
        cls.model_problems = model_vs_query(env.milter.binary, env.root)
        if cls.model_problems:
            cls.run_error = "the model of A and B disagrees with -q; no traffic sent"
            return
        sys.stderr.write("stress: %d messages, %d clients, cap %.0f s, milter pid %d%s, "
                         "Postfix port %d, sink port %d\n"
                         % (Opts.messages, Opts.clients, Opts.max_seconds, env.milter.pid,
                            " (sanitized build)" if is_sanitized(env.milter.binary) else "",
                            env.mta.port, env.sink.port))
        run = Run(env, Opts)
        cls.run_ = run
        try:
            run.run()
        except Exception as exc:  # noqa: BLE001 -- every test reports it
            cls.run_error = "the run failed: %r" % exc
            return
        sys.stderr.write("stress: seed %d; %d messages answered in %.1f s (%.0f/s), %d "
                         "reloads; drained in %.1f s\n"
                         % (run.seed, len(run.results), run.timings.get("send", 0),
                            len(run.results) / max(run.timings.get("send", 1), 0.001),
                            len(run.marks) - 1, run.timings.get("drain", 0)))
        if run.capped:
            cls.run_error = run.capped

    def setUp(self):
        if self.run_error and self._testMethodName not in ("test_0_model",
                                                           "test_7_exit_clean"):
            self.fail(self.run_error)

    def fail_list(self, what, problems, n=30):
        if problems:
            self.fail("%d %s:\n  %s%s" % (len(problems), what, "\n  ".join(problems[:n]),
                                          "\n  ..." if len(problems) > n else ""))

    # ---------------------------------------------------------------------
    def test_0_model(self):
        """the test's model of A and B agrees with `hosted-milter -q`"""
        self.fail_list("differences", self.model_problems)

    def test_1_no_tempfail(self):
        """no 4xx to greeting, MAIL, RCPT or DATA; no broken dialogue"""
        problems = []
        for r in self.run_.results:
            if "error" in r:
                problems.append("%s: SMTP dialogue failed: %s" % (r["tid"], r["error"]))
                continue
            o = r["outcome"]
            replies = [o.mail] + [x for _, _, x in o.rcpts] + [o.data]
            bad = [x.line for x in replies if x is not None and 400 <= x.code < 500]
            if bad:
                problems.append("%s: %s" % (r["tid"], bad))
            elif o.data is None or not o.delivered_ok():
                problems.append("%s: not accepted: %s" % (r["tid"], o.as_dict()))
        self.assertEqual(len(self.run_.results), Opts.messages, "not every message was sent")
        self.fail_list("messages with a tempfail or failed dialogue", problems)

    def test_2_delivered_once(self):
        """every accepted message at the sink, each recipient once; nothing
        unknown, no delivery report"""
        sent = {r["tid"]: r for r in self.run_.results
                if "outcome" in r and r["outcome"].delivered_ok()}
        by_id = collections.defaultdict(list)
        problems = []
        for rec in self.env.sink.records():
            tid = rec["headers"].get("X-Test-Id")
            if rec["mail_from"] == "" or tid is None:
                problems.append("unexpected message (MAIL FROM:<%s>, X-Test-Id %s) to %s, "
                                "quoting %s" % (rec["mail_from"], tid,
                                                [x["rcpt"] for x in rec["rcpts"]],
                                                rec.get("body_test_ids")))
                continue
            by_id[tid].append(rec)
        lost = sorted(set(sent) - set(by_id))
        unknown = sorted(set(by_id) - set(sent))
        if lost:
            problems.append("%d accepted messages never arrived: %s" % (len(lost), lost[:20]))
        if unknown:
            problems.append("%d messages arrived that were not accepted: %s"
                            % (len(unknown), unknown[:20]))
        for tid, recs in sorted(by_id.items()):
            cnt = collections.Counter(x["rcpt"].lower() for rec in recs for x in rec["rcpts"])
            dups = {k: n for k, n in cnt.items() if n > 1}
            if dups:
                problems.append("%s: delivered more than once: %s" % (tid, dups))
        sys.stderr.write("(%d messages, %d deliveries) "
                         % (len(sent), sum(len(v) for v in by_id.values())))
        self.fail_list("delivery problems", problems)

    def test_3_routing_per_version(self):
        """each message routed entirely per A or per B, by a table live while
        it was sent; both tables seen; queue empty"""
        run = self.run_
        by_id = collections.defaultdict(list)
        for rec in self.env.sink.records():
            by_id[rec["headers"].get("X-Test-Id")].append(rec)
        problems = []
        seen = collections.Counter()
        for r in run.results:
            if "outcome" not in r or not r["outcome"].delivered_ok():
                continue
            o = r["outcome"]
            got_replies = ["accept" if x is not None and x.ok() else
                           "reject" if x is not None and x.code >= 500 else "other"
                           for _, _, x in o.rcpts]
            got = collections.Counter(x["rcpt"].lower() for rec in by_id.get(r["tid"], [])
                                      for x in rec["rcpts"])
            exp = {v: expected(v, r["rcpts"]) for v in VERSIONS}
            match = {v for v, (rep, deliv) in exp.items() if rep == got_replies and deliv == got}
            if not match:
                problems.append("%s: %s" % (r["tid"], explain(r["rcpts"], got_replies, got)))
                continue
            # Live during [t0, t1]: the table confirmed last before t0, and
            # the new one of every reload whose window overlaps.
            prev = "A"
            allowed = set()
            for v, t_sig, t_ok in run.marks:
                if t_ok < r["t0"]:
                    prev = v
                elif t_sig <= r["t1"]:
                    allowed.add(v)
            allowed.add(prev)
            if not match & allowed:
                problems.append("%s (sent %.3f-%.3f s) routed per %s, but only %s was live"
                                % (r["tid"], r["t0"] - run.t_start, r["t1"] - run.t_start,
                                   sorted(match), sorted(allowed)))
            if len(match) == 1:
                seen.update(match)
        sys.stderr.write("(per A %d, per B %d) " % (seen["A"], seen["B"]))
        queued = self.env.mta.queue()
        if queued:
            problems.append("Postfix's queue is not empty: %d messages, e.g. %s"
                            % (len(queued), queued[:3]))
        if seen["A"] == 0 or seen["B"] == 0:
            problems.append("one table was never seen: per A %d, per B %d"
                            % (seen["A"], seen["B"]))
        self.fail_list("routing problems", problems)

    def test_4_reloads(self):
        """many reloads, every SIGUSR1 confirmed by exactly one line"""
        run = self.run_
        n = len(run.marks) - 1
        problems = list(run.reload_problems)
        lines = self.env.milter.log_text(run.milter_log_start).count(
            milter_process.RELOAD_OK)
        if lines != n:
            problems.append("%d reloads confirmed, but %d \"%s\" lines"
                            % (n, lines, milter_process.RELOAD_OK))
        waits = sorted(t_ok - t_sig for _, t_sig, t_ok in run.marks[1:])
        # The reloader waits for each confirmation, then sleeps at most
        # reload_max: half of what that allows must have happened (a
        # loaded machine confirms more slowly; that is no failure here).
        cycle = run.opts.reload_max + (statistics.median(waits) if waits else 0)
        need = max(2, int(run.timings.get("send", 0) / cycle) // 2)
        if n < need:
            problems.append("only %d reloads in %.1f s of traffic (want >= %d)"
                            % (n, run.timings.get("send", 0), need))
        if waits:
            sys.stderr.write("(%d reloads, confirmed in median %.0f ms, max %.0f ms) "
                             % (n, 1000 * statistics.median(waits), 1000 * waits[-1]))
        self.fail_list("reload problems", problems)

    def test_5_rss_stable(self):
        """the milter's VmRSS: after a warm-up quarter of the traffic, the last
        samples at most a small bound above the median of the middle half"""
        samples = self.run_.rss
        end = self.run_.timings.get("send", 0)
        print("\nVmRSS samples (s since start, messages answered, kB):")
        for i in range(0, len(samples), 8):
            print("  " + "  ".join("%5.1f %6d %7d" % s for s in samples[i:i + 8]))
        traffic = [s for s in samples if s[0] <= end]
        self.assertGreaterEqual(len(traffic), 20, "too few RSS samples during the traffic "
                                "to judge (%d); send more messages" % len(traffic))
        n = len(traffic)
        middle = [kb for _, _, kb in traffic[n // 4:(3 * n) // 4]]
        last = [kb for _, _, kb in traffic[-max(3, n // 10):]] + [samples[-1][2]]
        med = statistics.median(middle)
        bound = max(RSS_SLACK_KB, med * RSS_SLACK_FRACTION)
        print("  median of the middle half %d kB; last tenth and final %d..%d kB; bound "
              "median + %d kB; peak %d kB" % (med, min(last), max(last), bound,
                                              max(kb for _, _, kb in samples)))
        self.assertLessEqual(max(last), med + bound,
                             "RSS grew: the last samples reach %d kB, more than %d kB above "
                             "the middle median %d kB" % (max(last), bound, med))

    def test_6_logs_clean(self):
        """no error or warning in the milter log; no milter trouble in Postfix's"""
        problems = []
        for line in self.env.milter.log_text(self.run_.milter_log_start).splitlines():
            if re.search(r"\b(error|warning|fatal|crit|alert|emerg):", line) or \
                    SANITIZER_TEXT.search(line):
                problems.append("milter log: " + line.strip())
        for line in self.env.mta.milter_warnings(self.env.mta.log_text(self.run_.mta_log_start)):
            problems.append("postfix log: " + line.strip())
        self.fail_list("log lines", problems)

    def test_7_exit_clean(self):
        """the milter exits 0 on SIGTERM, no sanitizer report anywhere"""
        m = self.env.milter
        alive = m.alive()
        off = m.log_size()
        rc = m.stop()
        problems = []
        if not alive:
            problems.append("the milter was not running at the end (exit status %r)" % rc)
        elif rc != 0:
            problems.append("exit status %r after SIGTERM, expected 0 (a sanitizer "
                            "report at exit makes it nonzero)" % rc)
        if SANITIZER_TEXT.search(m.log_text()):
            problems.append("sanitizer report in the milter log:\n"
                            + m.log_text(max(0, off - 2000))[-6000:])
        for f in sorted(sanitizer_report_files() - self.reports_before):
            try:
                with open(f, errors="replace") as fh:
                    text = fh.read()
            except OSError as exc:
                text = str(exc)
            problems.append("sanitizer report %s%s:\n%s"
                            % (f, " (the milter's)" if f.endswith(".%d" % (m.pid or -1)) else "",
                               text[:6000]))
        self.fail_list("problems at exit", problems)


# RSS bound: the last samples may exceed the middle median by this much.
RSS_SLACK_KB = 2048
RSS_SLACK_FRACTION = 0.10


def main(argv=None):
    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("--messages", type=int, default=Opts.messages)
    ap.add_argument("--clients", type=int, default=Opts.clients)
    ap.add_argument("--max-seconds", type=float, default=Opts.max_seconds)
    ap.add_argument("--seed", type=int)
    args, rest = ap.parse_known_args(argv)
    if "-h" in rest or "--help" in rest:
        print(__doc__)
        return 0
    Opts.messages, Opts.clients = args.messages, args.clients
    Opts.max_seconds, Opts.seed = args.max_seconds, args.seed
    return suite_common.run_main(__doc__.splitlines()[1], [Stress],
                                 postfix_instance.available, rest)


if __name__ == "__main__":
    sys.exit(main())
