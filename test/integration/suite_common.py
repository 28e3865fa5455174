"""The MTA-independent half of the end-to-end suites.

Owns: the test environment of one test class (a sink, the milter on a copy
of e2e.conf, and one MTA wired to both, always torn down), the checking of
one case from cases.py against what the client was told and what the sink
received, the reload / broken-reload / milter-down tests, and the command
line runner with its "N passed, N failed" summary and exit codes (0 pass,
1 fail, 77 skip).

An MTA adapter (postfix_instance.PostfixInstance; a Sendmail one later) is
made by a factory  factory(root, name, sink_port, relay_domains,
milter_socket) -> adapter  and provides:
    create(), start(), stop(), destroy(), port,
    wait_queue_empty(timeout) -> bool,  queue() -> list,
    log_size(), log_text(offset), log_tail(),
    milter_warnings(text) -> [lines that show milter trouble],
    expected_reply_line(q_detail, path) -> the RCPT reply line the client
        must see for a reject/tempfail that `-q` words as q_detail,
    reply_parts(reply) -> (address named in the text, rest),
    MILTER_DOWN = (code, enhanced code) when the milter is unreachable,
    mta_name.
A suite subclasses CasesBase (decorated with add_case_tests), ReloadBase and
MilterDownBase, setting mta_factory; CasesBase.skip_tags names the case
tags (cases.Case.tags) that MTA cannot run.
"""

import argparse
import collections
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
import unittest

import cases
import milter_process
import sink as sinkmod
import smtp_client

DELIVERY_TIMEOUT = 30.0
KEEP_TMP = bool(os.environ.get("HM_KEEP_TMP"))
MILTER_BINARY = None          # set by run_main from --milter / $HOSTED_MILTER


class Env:
    """One sink + one milter + one MTA, under one temp dir."""

    def __init__(self, mta_factory, conf=cases.E2E_CONF, label="env"):
        self.mta_factory = mta_factory
        self.conf_src = conf
        self.label = label
        self.root = None
        self.sink = None
        self.milter = None
        self.mta = None
        self.failed = False

    def start(self):
        self.root = tempfile.mkdtemp(prefix="hm-it-%s-" % self.label)
        os.chmod(self.root, 0o755)
        self.sink = sinkmod.Sink(log_path=os.path.join(self.root, "sink.jsonl")).start()
        self.milter = milter_process.MilterProcess(MILTER_BINARY, self.conf_src, self.root)
        self.milter.start()
        relay = self.milter.domains() + cases.EXTRA_RELAY_DOMAINS
        self.mta = self.mta_factory(self.root, "mta", self.sink.port, relay, self.milter.socket)
        self.mta.create()
        self.mta.start()
        return self

    def stop(self):
        """Stop everything that was started, whatever failed before."""
        errors = []
        for what in ("mta", "milter", "sink"):
            obj = getattr(self, what)
            if obj is None:
                continue
            try:
                obj.stop()
            except Exception as exc:  # noqa: BLE001 -- keep stopping the rest
                errors.append("%s: %s" % (what, exc))
        if self.root and not (KEEP_TMP or self.failed):
            shutil.rmtree(self.root, ignore_errors=True)
        elif self.root:
            sys.stderr.write("kept %s (logs: milter/milter.log, mta/maillog, sink.jsonl)\n"
                             % self.root)
        if errors:
            raise RuntimeError("; ".join(errors))

    def log_marks(self):
        """Current sizes of the milter and MTA logs, for logs(since=...)."""
        return (self.milter.log_size() if self.milter else 0,
                self.mta.log_size() if self.mta else 0)

    def logs(self, since=None):
        """The milter and MTA logs since log_marks() (or their tails)."""
        out = ["--- files under %s ---" % self.root]
        if self.milter:
            text = self.milter.log_text(since[0]) if since else self.milter.log_text()
            out.append("--- milter log ---\n" + text[-3000:])
        if self.mta:
            text = self.mta.log_text(since[1]) if since else self.mta.log_tail(30)
            out.append("--- %s log ---\n" % self.mta.mta_name + text[-4000:])
        return "\n".join(out)


class EnvTestCase(unittest.TestCase):
    """Base: setUpClass starts an Env, its cleanup always stops it."""

    mta_factory = None      # set by the concrete suite
    env_label = "env"

    @classmethod
    def setUpClass(cls):
        cls.env = Env(cls.mta_factory, label=cls.env_label)
        cls.addClassCleanup(cls.env.stop)
        cls.env.start()

    def run(self, result=None):
        # Remember failures so that the temp dir is kept for inspection.
        before = len(result.failures) + len(result.errors) if result else 0
        out = super().run(result)
        if result and len(result.failures) + len(result.errors) > before:
            type(self).env.failed = True
        return out


class TempRootTestCase(unittest.TestCase):
    """Base for a suite that runs its own servers: cls.root, a temp dir
    made by setUpClass, removed by the class cleanup unless a test of the
    class failed (or --keep / HM_KEEP_TMP).  A subclass starts its servers
    after calling super().setUpClass() and stops them in stop_servers()
    (called first by the cleanup, even when setUpClass failed half way)."""

    root_prefix = "hm-it-"

    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix=cls.root_prefix)
        os.chmod(cls.root, 0o755)
        cls.failed_any = False
        cls.addClassCleanup(cls._remove_root)

    @classmethod
    def stop_servers(cls):
        pass

    @classmethod
    def _remove_root(cls):
        try:
            cls.stop_servers()
        finally:
            if KEEP_TMP or cls.failed_any:
                sys.stderr.write("kept %s\n" % cls.root)
            else:
                shutil.rmtree(cls.root, ignore_errors=True)

    def run(self, result=None):
        before = len(result.failures) + len(result.errors) if result else 0
        out = super().run(result)
        if result and len(result.failures) + len(result.errors) > before:
            type(self).failed_any = True
        return out


# --- checking one case ---------------------------------------------------------

def _words(v):
    return sorted(w for w in v.upper().split(",") if w) if v is not None else None


def check_delivered(expected, records):
    """Problems (strings) comparing the expected Delivery multiset with
    what the sink recorded."""
    problems = []
    got = smtp_client.delivered_rcpts(records)
    want = collections.Counter(d.rcpt.lower() for d in expected)
    have = collections.Counter(g["rcpt"].lower() for g in got)
    if want != have:
        missing = want - have
        extra = have - want
        problems.append("delivered %s; expected %s%s%s" % (
            sorted(g["rcpt"] for g in got), sorted(d.rcpt for d in expected),
            "; missing %s" % dict(missing) if missing else "",
            "; unexpected %s" % dict(extra) if extra else ""))
    for d in expected:
        matches = [g for g in got if g["rcpt"].lower() == d.rcpt.lower()]
        if not matches:
            continue
        g = matches[0]
        params = g.get("params", {})
        if d.orcpt is not cases.ANY and params.get("ORCPT") != d.orcpt:
            problems.append("%s: ORCPT %r, expected %r  [%s]"
                            % (d.rcpt, params.get("ORCPT"), d.orcpt, g["raw"]))
        if d.notify is not cases.ANY and _words(params.get("NOTIFY")) != _words(d.notify):
            problems.append("%s: NOTIFY %r, expected %r  [%s]"
                            % (d.rcpt, params.get("NOTIFY"), d.notify, g["raw"]))
    return problems


def check_reply(mta, rcpt, reply, qmap):
    """Problems with the RCPT reply of one recipient."""
    if reply is None:
        return ["<%s>: no RCPT reply (MAIL failed?)" % rcpt.path]
    if rcpt.reply == "accept":
        if reply.code != 250:
            return ["<%s>: got %r, expected 250" % (rcpt.path, reply.line)]
        return []
    if rcpt.reply == "refuse":
        if reply.code // 100 != 5:
            return ["<%s>: got %r, expected a 5xx refusal" % (rcpt.path, reply.line)]
        return []
    code, xcode = cases.REJECT if rcpt.reply == "reject" else cases.TEMPFAIL
    xcode = rcpt.xcode or xcode
    problems = []
    if (reply.code, reply.xcode) != (code, xcode):
        problems.append("<%s>: got %r, expected %d %s" % (rcpt.path, reply.line, code, xcode))
    addr, rest = mta.reply_parts(reply)
    # Case-insensitive: Postfix shows the milter's canonical form, Sendmail
    # its own "<address as sent>... " prefix; -q pins the exact text below.
    if rcpt.reply_addr is not None and (addr or "").lower() != rcpt.reply_addr.lower():
        problems.append("<%s>: reply names %r, expected %r (%r)"
                        % (rcpt.path, addr, rcpt.reply_addr, reply.line))
    if not rest.startswith(cases.REJECT_REASON):
        problems.append("<%s>: reply text %r does not start with %r"
                        % (rcpt.path, rest, cases.REJECT_REASON))
    if qmap and rcpt.path in qmap and rcpt.action is not None:
        want = mta.expected_reply_line(qmap[rcpt.path][1], rcpt.path)
        if reply.line != want:
            problems.append("<%s>: reply %r differs from -q's %r" % (rcpt.path, reply.line, want))
    return problems


def check_query(rcpt, qmap):
    """Problems with what `-q` says about one recipient."""
    if qmap is None or rcpt.action is None:
        return []
    if rcpt.path not in qmap:
        return ["-q printed nothing for %r" % rcpt.path]
    action, detail = qmap[rcpt.path]
    problems = []
    if action != rcpt.action:
        problems.append("-q %r: action %r (%r), expected %r" % (rcpt.path, action, detail,
                                                                rcpt.action))
    elif action == "rewrite":
        got = sorted(t.strip().lower() for t in detail.split(",") if t.strip())
        want = sorted(t.lower() for t in rcpt.targets)
        if got != want:
            problems.append("-q %r: targets %s, expected %s" % (rcpt.path, got, want))
    return problems


def run_case(env, case, qmap):
    """Send the case's messages over one connection and return the list of
    problems (empty: the case passed)."""
    mta, sink = env.mta, env.sink
    log_off = mta.log_size()
    milter_off = env.milter.log_size()
    stamp = "%s-%d" % (case.id, int(time.time() * 1000) % 10**8)
    msgs = []
    for i, m in enumerate(case.messages):
        msgs.append({"sender": cases.SENDER, "test_id": "%s-m%d" % (stamp, i),
                     "rcpts": [(r.path, r.params) for r in m.rcpts],
                     "mail_params": m.mail_params})
    problems = []
    try:
        outcomes = smtp_client.send_messages("127.0.0.1", mta.port, msgs)
    except smtp_client.SmtpError as exc:
        return ["SMTP dialogue failed: %s" % exc]
    for m, spec, o in zip(msgs, case.messages, outcomes):
        tag = "[msg %s] " % m["test_id"] if len(case.messages) > 1 else ""
        if not o.mail.ok():
            problems.append(tag + "MAIL FROM: %r" % o.mail.line)
        for rcpt, (_, _, reply) in zip(spec.rcpts, o.rcpts):
            problems += [tag + p for p in check_reply(mta, rcpt, reply, qmap)]
        any_accept = any(r.reply == "accept" for r in spec.rcpts)
        if any_accept and not o.delivered_ok():
            problems.append(tag + "DATA: %r" % (o.data.line if o.data else None))
    # Deliveries: wait for the expected count, then for the queue to drain so
    # that extra copies are seen too.
    for m, spec, o in zip(msgs, case.messages, outcomes):
        tag = "[msg %s] " % m["test_id"] if len(case.messages) > 1 else ""
        if o.data is None:
            recs = sink.records(m["test_id"])
        else:
            recs = smtp_client.wait_for_message(sink, m["test_id"], len(spec.delivered),
                                                timeout=DELIVERY_TIMEOUT,
                                                settle=lambda: mta.wait_queue_empty(20))
        problems += [tag + p for p in check_delivered(spec.delivered, recs)]
        for rep in sink.reports_about(m["test_id"]):
            problems.append(tag + "a delivery report about this message went to %s "
                            "(MAIL FROM:<%s>)" % ([r["rcpt"] for r in rep["rcpts"]],
                                                  rep["mail_from"]))
    for spec in case.messages:
        for rcpt in spec.rcpts:
            problems += check_query(rcpt, qmap)
    if not mta.wait_queue_empty(5):
        problems.append("mail left in the queue: %s" % mta.queue())
    for line in mta.milter_warnings(mta.log_text(log_off)):
        problems.append("%s log: %s" % (mta.mta_name, line.strip()))
    for line in env.milter.log_text(milter_off).splitlines():
        if " error: " in line or " warning: " in line:
            problems.append("milter log: %s" % line.strip())
    return problems


def _case_test(case):
    def test(self):
        if case.tags & self.skip_tags:
            self.skipTest("tagged %s, which %s skips" % (sorted(case.tags & self.skip_tags),
                                                         type(self).__name__))
        marks = self.env.log_marks()
        problems = run_case(self.env, case, self.qmap)
        if problems:
            self.fail("%s (%s):\n  %s\n%s" % (case.id, case.doc, "\n  ".join(problems),
                                              self.env.logs(since=marks)))
    test.__doc__ = "%s: %s" % (case.id, case.doc)
    return test


class CasesBase(EnvTestCase):
    """All cases of cases.CASES, one test method each (added by
    add_case_tests), plus a check of `-q` over every address used."""

    env_label = "cases"
    skip_tags = set()       # cases with one of these tags are skipped (per MTA)
    qmap = None
    qerror = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            cls.qmap = cls.env.milter.query(cases.all_paths())
        except Exception as exc:  # noqa: BLE001 -- reported by test_query_tool
            cls.qerror = str(exc)

    def test_query_tool(self):
        """-q answers for every address of the cases, as the cases expect"""
        if self.qerror:
            self.fail("hosted-milter -q failed: %s" % self.qerror)
        problems = []
        seen = set()
        for c in cases.CASES:
            for m in c.messages:
                for r in m.rcpts:
                    if r.path not in seen:
                        seen.add(r.path)
                        problems += check_query(r, self.qmap)
        if problems:
            self.fail("\n  ".join([""] + problems))


    def test_aborted_transactions(self):
        """transactions ended before DATA (RSET after an accepted rewrite;
        every recipient refused) leave nothing for the next transaction on
        the connection: it reaches its own recipient only (the milter skips
        MAIL, and Sendmail then sends it no abort)"""
        env = self.env
        marks = env.log_marks()
        test_id = "aborted-%d" % (int(time.time() * 1000) % 10**8)
        try:
            with smtp_client.SmtpClient("127.0.0.1", env.mta.port) as c:
                self.assertEqual(c.mail(cases.SENDER).code, 250)
                self.assertEqual(c.rcpt("sales@example.org").code, 250)
                self.assertEqual(c.rset().code, 250)
                self.assertEqual(c.mail(cases.SENDER).code, 250)
                self.assertEqual(c.rcpt("nobody@corp.example").code, 550)
                self.assertEqual(c.rset().code, 250)
                o = smtp_client.send_on(c, cases.SENDER, ["dave@corp.example"], test_id)
        except smtp_client.SmtpError as exc:
            self.fail("SMTP dialogue failed: %s\n%s" % (exc, env.logs(since=marks)))
        self.assertTrue(o.delivered_ok(), o.as_dict())
        recs = smtp_client.wait_for_message(env.sink, test_id, 1, timeout=DELIVERY_TIMEOUT,
                                            settle=lambda: env.mta.wait_queue_empty(20))
        got = sorted(d["rcpt"].lower() for d in smtp_client.delivered_rcpts(recs))
        self.assertEqual(got, ["dave@corp.example"], env.logs(since=marks))


def hostile_test(self):
    """hostile RCPT arguments: every one gets a reply, the milter survives,
    nothing is delivered that the configuration does not name"""
    env = self.env
    marks = env.log_marks()
    rcpts = cases.HOSTILE_RCPTS + ["bob@corp.example"]
    try:
        o = smtp_client.send_message("127.0.0.1", env.mta.port, cases.SENDER, rcpts, "hostile")
    except smtp_client.SmtpError as exc:
        self.fail("SMTP dialogue failed: %s\n%s" % (exc, env.logs(since=marks)))
    problems = []
    accepted = set()
    for path, _, reply in o.rcpts:
        if reply is None:
            problems.append("%r: no reply" % path)
        elif reply.ok():
            accepted.add(cases.strip_route(path).lower().rstrip(">").rstrip("."))
    self.assertTrue(o.delivered_ok(), o.as_dict())
    recs = smtp_client.wait_for_message(env.sink, "hostile", 1, timeout=DELIVERY_TIMEOUT,
                                        settle=lambda: env.mta.wait_queue_empty(20))
    allowed = accepted | cases.config_addresses()
    for d in smtp_client.delivered_rcpts(recs):
        # the MTA may quote a local part it accepted bare (".bob" -> "\".bob\"")
        if d["rcpt"].replace('"', "").lower().rstrip(".") not in allowed:
            problems.append("delivered to %r, which is neither accepted nor configured"
                            % d["rcpt"])
    if "bob@corp.example" not in [d["rcpt"] for d in smtp_client.delivered_rcpts(recs)]:
        problems.append("the good recipient bob@corp.example was not delivered")
    if not env.milter.alive():
        problems.append("the milter died")
    else:
        o2 = smtp_client.send_message("127.0.0.1", env.mta.port, cases.SENDER,
                                      ["nobody@corp.example"], "hostile-after")
        if o2.rcpts[0][2] is None or o2.rcpts[0][2].code != 550:
            problems.append("after the hostile message: %s" % o2.as_dict())
    if problems:
        self.fail("\n  ".join([""] + problems + ["replies:"] +
                               ["%r -> %s" % (p[:70], r.line if r else None)
                                for p, _, r in o.rcpts]) + "\n" + env.logs(since=marks))


def add_case_tests(cls):
    cls.test_hostile_recipients = hostile_test
    for c in cases.CASES:
        setattr(cls, "test_case_" + c.id.replace("-", "_"), _case_test(c))
    return cls


# --- reload -----------------------------------------------------------------

class ReloadBase(EnvTestCase):
    env_label = "reload"

    def setUp(self):
        self.base_conf = self.env.milter.read_conf()
        self.addCleanup(self._restore)

    def _restore(self):
        m = self.env.milter
        if m.alive() and m.read_conf() != self.base_conf:
            m.write_conf(self.base_conf)
            m.reload()

    def _send_flip(self, test_id):
        return smtp_client.send_message("127.0.0.1", self.env.mta.port, cases.SENDER,
                                        [cases.RELOAD_FLIP_RCPT], test_id)

    def _delivered_to(self, test_id):
        recs = smtp_client.wait_for_message(self.env.sink, test_id, 1, timeout=DELIVERY_TIMEOUT,
                                            settle=lambda: self.env.mta.wait_queue_empty(20))
        return [r["rcpt"] for r in smtp_client.delivered_rcpts(recs)]

    def test_reload_applies(self):
        """SIGUSR1 with a changed file: the next message uses the new table"""
        m = self.env.milter
        for i in (1, 0):
            m.write_conf(cases.reload_variant(self.base_conf, i))
            ok, text = m.reload()
            self.assertTrue(ok, "reload failed:\n" + text)
            o = self._send_flip("reload-applies-%d" % i)
            self.assertTrue(o.delivered_ok(), o.as_dict())
            self.assertEqual(self._delivered_to("reload-applies-%d" % i),
                             [cases.RELOAD_FLIP_TARGETS[i]])

    def test_reload_under_traffic(self):
        """messages flow while the table is swapped: none lost, none tempfailed,
        each routed by the old or the new table"""
        m = self.env.milter
        stop = threading.Event()
        sent = []            # (test_id, t_start, t_end, Outcome or exception)
        lock = threading.Lock()

        def sender(worker):
            n = 0
            while not stop.is_set():
                batch = []
                for _ in range(5):
                    n += 1
                    batch.append({"sender": cases.SENDER, "test_id": "traffic-%d-%d" % (worker, n),
                                  "rcpts": [cases.RELOAD_FLIP_RCPT]})
                t0 = time.monotonic()
                try:
                    outs = smtp_client.send_messages("127.0.0.1", self.env.mta.port, batch)
                except smtp_client.SmtpError as exc:
                    outs = [exc] * len(batch)
                t1 = time.monotonic()
                with lock:
                    for b, o in zip(batch, outs):
                        sent.append((b["test_id"], t0, t1, o))

        threads = [threading.Thread(target=sender, args=(w,), daemon=True) for w in range(3)]
        # marks: (table index after the reload, time signalled, time confirmed)
        marks = []
        try:
            for t in threads:
                t.start()
            time.sleep(0.5)
            for k in range(6):
                idx = (k + 1) % 2
                m.write_conf(cases.reload_variant(self.base_conf, idx))
                t_sig = time.monotonic()
                ok, text = m.reload()
                t_ok = time.monotonic()
                self.assertTrue(ok, "reload %d failed:\n%s" % (k, text))
                marks.append((idx, t_sig, t_ok))
                time.sleep(0.4)
        finally:
            stop.set()
            for t in threads:
                t.join(60)
        problems = []
        self.assertGreater(len(sent), 20, "too little traffic to say anything")
        for tid, t0, t1, o in sent:
            if isinstance(o, Exception):
                problems.append("%s: %s" % (tid, o))
                continue
            replies = [o.mail] + [r for _, _, r in o.rcpts] + [o.data]
            bad = [r.line if r else None for r in replies if r is None or r.code >= 400]
            if bad:
                problems.append("%s: %s" % (tid, bad))
        self.env.mta.wait_queue_empty(60)
        for tid, t0, t1, o in sent:
            if isinstance(o, Exception) or not o.delivered_ok():
                continue
            got = self._delivered_to(tid)
            if len(got) != 1 or got[0] not in cases.RELOAD_FLIP_TARGETS:
                problems.append("%s delivered to %s" % (tid, got))
                continue
            # The tables that could have been live at its MAIL FROM, some
            # time in [t0, t1]: the one confirmed before t0, and the new one
            # of every reload whose window [signalled, confirmed] overlaps.
            prev = 0
            allowed = set()
            for idx, t_sig, t_ok in marks:
                if t_ok < t0:
                    prev = idx
                elif t_sig <= t1:
                    allowed.add(idx)
            allowed = {cases.RELOAD_FLIP_TARGETS[i] for i in allowed | {prev}}
            if got[0] not in allowed:
                problems.append("%s (sent %.3f-%.3f) went to %s, allowed %s"
                                % (tid, t0, t1, got[0], sorted(allowed)))
        sys.stderr.write("(%d messages over %d reloads) " % (len(sent), len(marks)))
        if problems:
            self.fail("%d of %d messages wrong:\n  %s\n%s"
                      % (len(problems), len(sent), "\n  ".join(problems[:30]), self.env.logs()))

    def _broken_reload(self, bad_text, what):
        m = self.env.milter
        good = self.base_conf
        bad = good.rstrip("\n") + "\n" + bad_text + "\n"
        line = bad.count("\n")           # the bad text is the last line
        m.write_conf(bad)
        ok, text = m.reload()
        self.assertFalse(ok, "a config with %s was accepted:\n%s" % (what, text))
        self.assertIn("%s:%d" % (os.path.basename(m.conf), line), text,
                      "the log does not show the file:line of %s:\n%s" % (what, text))
        self.assertTrue(m.alive(), "the milter died on a broken reload")
        # The old table keeps serving: flip@ still goes to its first target,
        # postmaster@ is still rewritten, nobody@ still rejected.
        tid = "broken-reload-%s" % what.replace(" ", "-")
        o = smtp_client.send_message("127.0.0.1", self.env.mta.port, cases.SENDER,
                                     [cases.RELOAD_FLIP_RCPT, "postmaster@corp.example",
                                      "nobody@corp.example"], tid)
        codes = [r.code if r else None for _, _, r in o.rcpts]
        self.assertEqual(codes, [250, 250, 550], o.as_dict())
        recs = smtp_client.wait_for_message(self.env.sink, tid, 2, timeout=DELIVERY_TIMEOUT,
                                            settle=lambda: self.env.mta.wait_queue_empty(20))
        self.assertEqual(sorted(r["rcpt"] for r in smtp_client.delivered_rcpts(recs)),
                         sorted([cases.RELOAD_FLIP_TARGETS[0], "hostmaster@corp.example"]))

    def test_broken_reload_syntax(self):
        """an unknown option: reload fails with file:line, the old table serves"""
        self._broken_reload("no_such_option = 1", "unknown option")

    def test_broken_reload_semantic(self):
        """a secondary address claimed twice: reload fails with file:line"""
        self._broken_reload('mailbox "zed@corp.example" { addresses = { "alice@example.org" } }',
                            "duplicate secondary")

    def test_zz_reload_after_broken(self):
        """after a failed reload, a good file reloads again"""
        m = self.env.milter
        m.write_conf(self.base_conf + "\nno_such_option = 1\n")
        ok, _ = m.reload()
        self.assertFalse(ok)
        m.write_conf(cases.reload_variant(self.base_conf, 1))
        ok, text = m.reload()
        self.assertTrue(ok, text)
        o = self._send_flip("reload-after-broken")
        self.assertTrue(o.delivered_ok(), o.as_dict())
        self.assertEqual(self._delivered_to("reload-after-broken"), [cases.RELOAD_FLIP_TARGETS[1]])


# --- milter down ---------------------------------------------------------------

class MilterDownBase(EnvTestCase):
    env_label = "down"

    def test_milter_down_tempfails(self):
        """milter stopped: the MTA tempfails, nothing is delivered or queued;
        after a restart the client's retry is delivered"""
        env = self.env
        rcpts = ["postmaster@corp.example", "bob@corp.example"]
        o = smtp_client.send_message("127.0.0.1", env.mta.port, cases.SENDER, rcpts, "down-before")
        self.assertTrue(o.delivered_ok(), o.as_dict())
        smtp_client.wait_for_message(env.sink, "down-before", 2, timeout=DELIVERY_TIMEOUT,
                                     settle=lambda: env.mta.wait_queue_empty(20))
        rc = env.milter.stop()
        self.assertFalse(env.milter.alive())
        self.assertEqual(rc, 0, "milter exit status after SIGTERM")
        o = smtp_client.send_message("127.0.0.1", env.mta.port, cases.SENDER, rcpts, "down-during")
        code, xcode = env.mta.MILTER_DOWN
        replies = [o.mail] + [r for _, _, r in o.rcpts if r is not None]
        refused = [r for r in replies if r.code >= 400]
        self.assertTrue(refused, "accepted while the milter was down: %s" % o.as_dict())
        self.assertEqual((refused[0].code, refused[0].xcode), (code, xcode), refused[0].line)
        self.assertTrue(all(400 <= r.code < 500 for r in refused),
                        "a permanent error while the milter was down: %s" % o.as_dict())
        self.assertIsNone(o.data, "DATA was accepted while the milter was down")
        self.assertTrue(env.mta.wait_queue_empty(10), env.mta.queue())
        self.assertEqual(env.sink.records("down-during"), [])
        # The client retries once the milter is back.
        env.milter.start()
        o = smtp_client.send_message("127.0.0.1", env.mta.port, cases.SENDER, rcpts, "down-retry")
        self.assertTrue(o.delivered_ok(), o.as_dict())
        recs = smtp_client.wait_for_message(env.sink, "down-retry", 2, timeout=DELIVERY_TIMEOUT,
                                            settle=lambda: env.mta.wait_queue_empty(20))
        self.assertEqual(sorted(r["rcpt"] for r in smtp_client.delivered_rcpts(recs)),
                         ["bob@corp.example", "hostmaster@corp.example"])


# --- runner -------------------------------------------------------------------

def run_main(description, test_classes, available, argv=None):
    """Parse the command line, skip (77) when the MTA cannot run, run the
    classes and print "N passed, N failed".  Returns the exit status."""
    global MILTER_BINARY
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--milter", help="the hosted-milter binary (default: $HOSTED_MILTER)")
    ap.add_argument("-k", dest="patterns", action="append",
                    help="only tests whose name contains this (repeatable)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dirs")
    ap.add_argument("-q", "--quiet", action="store_true")
    args = ap.parse_args(argv)
    global KEEP_TMP
    KEEP_TMP = KEEP_TMP or args.keep
    ok, why = available()
    if not ok:
        print("SKIP: %s" % why)
        print("0 passed, 0 failed")
        return 77
    try:
        MILTER_BINARY = milter_process.find_binary(args.milter)
    except FileNotFoundError as exc:
        print("ERROR: %s" % exc)
        print("0 passed, 1 failed")
        return 1

    # SIGTERM (a ctest timeout): unwind as for Ctrl-C.  unittest lets only
    # KeyboardInterrupt through (it would record SystemExit as an error and
    # go on); the atexit hooks of postfix_instance and milter_process then
    # stop whatever is still running.
    def on_term(signum, frame):
        raise KeyboardInterrupt("signal %d" % signum)
    signal.signal(signal.SIGTERM, on_term)

    loader = unittest.TestLoader()
    if args.patterns:
        loader.testNamePatterns = ["*%s*" % p for p in args.patterns]
    suite = unittest.TestSuite(loader.loadTestsFromTestCase(c) for c in test_classes)
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=1 if args.quiet else 2)
    t0 = time.monotonic()
    try:
        result = runner.run(suite)
    except KeyboardInterrupt:
        traceback.print_exc()
        print("0 passed, 1 failed (interrupted)")
        return 1
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    # A failed setUpClass is an error without a test run: never below 0.
    passed = max(0, result.testsRun - failed - len(result.skipped)
                 - len(result.expectedFailures))
    sys.stdout.flush()
    sys.stderr.write("(%.1f s)\n" % (time.monotonic() - t0))
    sys.stderr.flush()
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 0 if failed == 0 and result.testsRun > 0 else 1
