"""The end-to-end sections of the benchmark (imported by bench.py).

Owns e) and f): smtp-source -> a private MTA on 127.0.0.1 -> smtp-sink,
three setups of the same MTA measured in the same run on the same
1,000,000-address table (hosted-milter, the MTA's native alias table, the
null milter with the same negotiation), interleaved rounds with the order
rotated, msg/s until smtp-source is done ("accept") and until the queue is
empty ("through"), medians and medians of per-round ratios:

  e) Postfix: virtual_alias_maps hash: as the native table;
  f) Sendmail 8.17: virtusertable hash (makemap) with the hosted domains in
     {VirtHost}; every round is checked from the maillog (each message
     delivered once, to the rewritten target): a bad round fails the
     section instead of giving figures.

The MTAs come from the integration harness (postfix_instance,
sendmail_instance), the milters from bench.py.
"""

import os
import re
import shutil
import subprocess
import time

import postfix_instance
import sendmail_instance
import util
from benchlib import children, fmt, log, ratio_cell, spread

SMTP_SOURCE = shutil.which("smtp-source") or "/usr/sbin/smtp-source"
SMTP_SINK = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
E2E_RCPT = "rcpt@d0.example"   # smtp-source -N puts a number in front: NNNrcpt@d0.example
SESSIONS = 8


class RoundFailed(RuntimeError):
    """A measured round lost or misrouted mail: the section has no figures."""


# --- shared by e) and f) ------------------------------------------------------

def start_sink(dump=None):
    """smtp-sink on a free loopback port (a child, stopped by PID); with
    dump, it appends every message with its envelope (X-Rcpt-Args: lines)
    to that file, whose directory it must be able to write (it runs as
    postfix and makes a temporary file beside it)."""
    port = util.free_port()
    if dump:
        os.makedirs(os.path.dirname(dump), exist_ok=True)
        shutil.chown(os.path.dirname(dump), "postfix")
        open(dump, "a").close()
        shutil.chown(dump, "postfix")
    argv = [SMTP_SINK, "-u", "postfix"] + (["-D", dump] if dump else [])
    sink = subprocess.Popen(argv + ["127.0.0.1:%d" % port, "1024"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    children.append(sink)
    util.wait_for_port(port, timeout=20, alive=lambda: sink.poll() is None)
    return sink, port


def stop_sink(sink):
    if sink.poll() is None:
        sink.terminate()
        sink.wait(10)


def wait_drained(queued, timeout):
    """Wait until queued() (messages still in a queue) is 0; True if it was."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if queued() == 0:
            return True
        time.sleep(0.02)
    return False


def send_round(args, port, count, queued):
    """smtp-source: SESSIONS sessions, count messages of 1 kB, one RCPT each
    (distinct recipients, -N), to 127.0.0.1:port; timed until it is done
    and until queued() is 0."""
    argv = [SMTP_SOURCE, "-4", "-s", str(SESSIONS), "-m", str(count), "-l", "1000",
            "-N", "-M", "client.test", "-f", "sender@example.org", "-t", E2E_RCPT,
            "127.0.0.1:%d" % port]
    if args.e2e_reuse:
        argv[1:1] = ["-d"]
    t0 = time.monotonic()
    p = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       text=True, timeout=600, stdin=subprocess.DEVNULL)
    t_acc = time.monotonic() - t0
    drained = wait_drained(queued, timeout=300)
    t_all = time.monotonic() - t0
    if p.returncode != 0:
        log("smtp-source to port %d rc=%d: %s" % (port, p.returncode, p.stderr[-300:]))
    return {"rc": p.returncode, "accept_s": t_acc, "through_s": t_all,
            "drained": drained, "accept_mps": count / t_acc,
            "through_mps": count / t_all if drained else None}


def run_rounds(args, section, setups, sink, check=None):
    """setups: {name: (port, queued)}.  A warm-up per setup (not counted;
    it must deliver everything), then 2 x reps rounds of every setup back
    to back, order rotated each round, all queues empty before each run.
    check(name, None) before and check(name, result) after each measured
    run, if given: it raises RoundFailed.  Returns {name: [result per
    round]}."""
    msgs = args.e2e_messages
    names = list(setups)
    queued_all = lambda: sum(q() for _p, q in setups.values())  # noqa: E731

    def sink_alive():
        if sink.poll() is not None:
            raise RoundFailed("%s: smtp-sink exited (status %s)" % (section, sink.returncode))

    for name in names:
        port, queued = setups[name]
        r = send_round(args, port, min(200, msgs), queued)
        sink_alive()
        if r["rc"] != 0 or not r["drained"]:
            raise RoundFailed("%s %s: the warm-up did not go through (smtp-source rc=%d, queue "
                              "%s)" % (section, name, r["rc"], "empty" if r["drained"] else
                                       "not empty after 300 s"))
    runs = {n: [] for n in names}
    for rep in range(2 * args.reps):
        k = rep % len(names)
        for name in names[k:] + names[:k]:
            wait_drained(queued_all, timeout=300)
            port, queued = setups[name]
            if check is not None:
                check(name, None)              # the log offset before the run
            r = send_round(args, port, msgs, queued)
            sink_alive()
            runs[name].append(r)
            log("%s %s rep %d: accept %.0f msg/s, through %s msg/s" % (
                section, name, rep, r["accept_mps"], fmt(r["through_mps"], ".0f")))
            if check is not None:
                check(name, r)
    wait_drained(queued_all, timeout=300)
    return runs


def report_rounds(add, runs, labels, native, null):
    """The two tables of an end-to-end section: msg/s per setup, then the
    per-round ratios hosted-milter / native, / null, null / native."""
    add("| setup | accept msg/s (min-max) | through msg/s (min-max) |")
    add("|---|---:|---:|")

    def col(name, key):
        return [r[key] if r["rc"] == 0 else None for r in runs[name]]

    for name in ("milter", native, null):
        add("| %s | %s | %s |" % (labels[name], spread(col(name, "accept_mps")),
                                  spread(col(name, "through_mps"))))
    add("")
    add("Ratios: median of the per-round ratios (the three setups run back to back in "
        "each round), with their min-max.")
    add("")
    add("| ratio | accept | through | target |")
    add("|---|---:|---:|---:|")
    for a, base, target in (("milter", native, ">= 0.90"), ("milter", null, ">= 0.98"),
                            (null, native, "-")):
        label = "hosted-milter" if a == "milter" else "null milter"
        add("| %s / %s%s | %s | %s | %s |"
            % (label, base, " (what any milter costs here)" if a == null else "",
               ratio_cell(col(a, "accept_mps"), col(base, "accept_mps")),
               ratio_cell(col(a, "through_mps"), col(base, "through_mps")), target))
    add("")


def _stop(insts, sink):
    for inst in insts.values():
        inst.stop()
    stop_sink(sink)


def _head(add, title, e):
    """The section's title; False (and the reason, no figures) when it failed."""
    add("## " + title)
    add("")
    if "failed" in e:
        add("**FAILED, no figures**: %s" % e["failed"])
        add("")
        return False
    return True


def _intro(args, e, mta):
    return ("smtp-source (%d sessions, %s, %d messages of 1 kB per run, one RCPT each, "
            "distinct recipients with -N) -> %s on 127.0.0.1 -> smtp-sink. Same %s-address "
            "table in all three. \"through\" = until the queue is empty; \"accept\" = until "
            "smtp-source is done. Medians of %d rounds, order rotated each round."
            % (SESSIONS, "all messages of a session over one connection (-d)"
               if args.e2e_reuse else "one connection per message", e["messages"], mta,
               format(args.naddr, ","), e["rounds"]))


# --- e) Postfix ---------------------------------------------------------------

def postfix_queued(inst):
    n = 0
    for sub in ("maildrop", "incoming", "active", "deferred", "hold"):
        for _dirpath, _dirs, files in os.walk(os.path.join(inst.spool, sub)):
            n += len(files)
    return n


def bench_postfix(args, res, work, milter, null):
    """e): Postfix + hosted-milter / native virtual_alias_maps / null milter."""
    sink, sink_port = start_sink()
    root = os.path.join(work, "pf")
    os.makedirs(root, exist_ok=True)
    vmap = "hash:" + args.virtual
    insts = {
        "milter": postfix_instance.PostfixInstance(root, "milter", sink_port,
                                                   milter_socket=milter.socket,
                                                   extra={"relay_domains": vmap}),
        "virtual": postfix_instance.PostfixInstance(root, "virtual", sink_port, extra=dict(
            smtpd_milters="", relay_domains="", virtual_alias_maps=vmap,
            virtual_alias_domains=vmap)),
        "null": postfix_instance.PostfixInstance(root, "null", sink_port,
                                                 milter_socket=null.socket,
                                                 extra={"relay_domains": vmap}),
    }
    try:
        for inst in insts.values():
            inst.create()
            inst.start()
        offsets = {n: i.log_size() for n, i in insts.items()}
        runs = run_rounds(args, "e2e", {n: (i.port, lambda i=i: postfix_queued(i))
                                        for n, i in insts.items()}, sink)
        # (the warm-up's lines are in the log too: counted from after it)
        checks = {}
        msgs, rounds = args.e2e_messages, 2 * args.reps
        warm = min(200, msgs)
        for name, inst in insts.items():
            text = inst.log_text(offsets[name])
            checks[name] = {
                "sent": len(re.findall(r"status=sent", text)),
                "deferred": len(re.findall(r"status=deferred", text)),
                "bounced": len(re.findall(r"status=bounced", text)),
                "rejects": len(re.findall(r"\breject:", text)),
                "milter_warnings": len(inst.milter_warnings(text)),
                "to_target": len(re.findall(r"to=<m\d+@corp\.example>.*status=sent", text)),
                "expected": msgs * rounds + warm,
            }
        res["e2e"] = {"runs": runs, "checks": checks, "messages": msgs, "rounds": rounds}
    finally:
        _stop(insts, sink)


def report_postfix(args, res, add):
    e = res["e2e"]
    if not _head(add, "e) End to end through a private Postfix", e):
        return
    add(_intro(args, e, "Postfix") + " Relay/alias domains from the same hash: file.")
    add("")
    report_rounds(add, e["runs"], {
        "milter": "Postfix + hosted-milter (unix socket)",
        "virtual": "Postfix, native virtual_alias_maps (hash:), no milter",
        "null": "Postfix + null milter (same negotiation)"}, "virtual", "null")
    add("Delivery check from the instances' maillogs (warm-up and measured runs): "
        "status=sent / expected, of which delivered to the rewritten target "
        "`mNNN@corp.example`; deferred; bounced; smtpd rejects; milter warnings: " +
        "; ".join("%s %d/%d (%d rewritten), %d, %d, %d, %d"
                  % (n, c["sent"], c["expected"], c["to_target"], c["deferred"],
                     c["bounced"], c["rejects"], c["milter_warnings"])
                  for n, c in e["checks"].items()) +
        ". (The null milter rewrites nothing: its mail goes to the original addresses.)")
    add("")


# --- f) Sendmail --------------------------------------------------------------

# Sendmail's defaults that would measure something other than the milter,
# on top of what the harness's .mc already sets (no ident, no DNS: hosts
# from /etc/hosts, nocanonify, SMART_HOST [127.0.0.1]; the load-average
# brakes QUEUE_LA / REFUSE_LA / DELAY_LA off, which on a 2-core box under
# load would queue or refuse mail).  LogLevel 14 (the tests') logs every
# milter step through our syslog socket; 9 is Sendmail's default and still
# logs a from= and a to= line per message, which the round check reads.
# Delivery mode stays "background" (the default: delivered at once by a
# child; "queue only" would leave "through" to the queue runner).
# And the listen backlog: Sendmail's default of 10 drops SYNs when 8
# sessions connect at once on a busy box (the client retries 1 s later:
# 11 msg/s at 32 sessions instead of 160).
LISTEN = ",Listen=1024"
SENDMAIL_TUNING = "define(`confLOG_LEVEL', `9')dnl\n"


def write_virtusertable(virtual, table, domains):
    """From the virtual(5) file: 'addr target' lines into a virtusertable
    source, 'domain hosted' lines into the {VirtHost} domain list.
    Returns the number of addresses."""
    n = 0
    with open(virtual) as src, open(table, "w") as t, open(domains, "w") as d:
        for line in src:
            key, value = line.split()
            if "@" in key:
                t.write("%s\t%s\n" % (key, value))
                n += 1
            else:
                d.write(key + "\n")
    return n


def sendmail_queued(inst):
    """Files in the instance's queue directory (qf/df/tf/xf of messages not
    yet delivered; the queue holds nothing else)."""
    try:
        return len(os.listdir(inst.mqueue))
    except OSError:
        return 0


_SENT = re.compile(r"\bto=<?([^,>\s]+)>?,.*\bstat=Sent\b")
_NOT_SENT = re.compile(r"\bstat=(?!Sent\b)|\breject=|\bSYSERR\b|\bDSN:")
_SINK_RCPT = re.compile(r"^X-Rcpt-Args: <([^>]*)>", re.M)
_ORIGINAL = re.compile(r"^(\d+)rcpt@d0\.example$")
_TARGET = re.compile(r"^m(\d+)@corp\.example$")


def settled_size(path, quiet=0.3, timeout=10):
    """The size of path once nothing was added for `quiet` seconds (the
    syslog socket's reader or the sink may still be writing the last
    run's lines)."""
    size, t_change = util.file_size(path), time.monotonic()
    deadline = t_change + timeout
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = util.file_size(path)
        if now != size:
            size, t_change = now, time.monotonic()
        elif time.monotonic() - t_change >= quiet:
            break
    return size


def _wait_count(path, offset, pattern, n, timeout=15):
    """The text of path from offset and pattern's matches in it, once there
    are n of them (or after timeout: the writer may lag the queue)."""
    deadline = time.monotonic() + timeout
    while True:
        text = util.read_from(path, offset)
        found = pattern.findall(text)
        if len(found) >= n or time.monotonic() > deadline:
            return text, found
        time.sleep(0.2)


def check_sendmail_round(name, inst, log_offset, dump, dump_offset, msgs):
    """One round of setup `name`, from the sink's dump (what arrived) and
    the instance's maillog (from the offsets taken before the round):
    the sink got msgs messages, one RCPT each, to distinct addresses:
    the target mNNN@corp.example for hosted-milter and the virtusertable,
    the original NNNrcpt@d0.example for the null milter (no edits), the
    numbers a run of msgs consecutive ones (what smtp-source -N sent); the
    log has msgs stat=Sent and no other stat=, reject, SYSERR, DSN or
    milter trouble.  Raises RoundFailed; returns msgs."""
    want = _ORIGINAL if name == "null" else _TARGET
    _dump_text, rcpts = _wait_count(dump, dump_offset, _SINK_RCPT, msgs)
    text, sent = _wait_count(inst.maillog, log_offset, _SENT, msgs)
    nums, wrong = [], []
    for addr in rcpts:
        m = want.match(addr)
        if m:
            nums.append(int(m.group(1)))
        else:
            wrong.append(addr)
    bad = [l for l in text.splitlines() if _NOT_SENT.search(l)] + inst.milter_warnings(text)
    problems = []
    if len(rcpts) != msgs:
        problems.append("the sink got %d recipients for %d messages" % (len(rcpts), msgs))
    if len(sent) != msgs:
        problems.append("the log has %d stat=Sent for %d messages" % (len(sent), msgs))
    if wrong:
        problems.append("%d delivered elsewhere than %s (e.g. %s)"
                        % (len(wrong), want.pattern, wrong[:3]))
    if nums and (len(set(nums)) != len(nums) or max(nums) - min(nums) + 1 != len(nums)):
        problems.append("recipient numbers not %d distinct consecutive ones (%d distinct, "
                        "%d..%d)" % (len(nums), len(set(nums)), min(nums), max(nums)))
    if bad:
        problems.append("%d log lines of trouble, e.g. %s" % (len(bad), bad[:2]))
    if problems:
        raise RoundFailed("f) Sendmail %s: %s" % (name, "; ".join(problems)))
    return msgs


def makemap(sm, cf, table):
    """makemap hash TABLE < TABLE with the instance's sendmail.cf (makemap
    reads its options; /etc/mail/sendmail.cf is not there).  Returns the
    wall time in seconds; raises RoundFailed when makemap fails."""
    t0 = time.monotonic()
    with open(table) as src:
        p = subprocess.run([sm.makemap, "-C", cf, "hash", table], stdin=src,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=1800, env=sm.env())
    if p.returncode != 0:
        raise RoundFailed("makemap hash %s: rc=%d %s" % (table, p.returncode, p.stdout[-500:]))
    return time.monotonic() - t0


def bench_sendmail(args, res, work, milter, null):
    """f): Sendmail + hosted-milter / native virtusertable / null milter.
    Raises RoundFailed when a round lost or misrouted mail."""
    sm = sendmail_instance.prepared()
    root = os.path.join(work, "sm")
    os.makedirs(root, exist_ok=True)
    os.chmod(root, 0o755)
    maps = os.path.join(root, "maps")
    os.makedirs(maps, exist_ok=True)
    os.chmod(maps, 0o755)
    table, domains = os.path.join(maps, "virtusertable"), os.path.join(maps, "virtuser-domains")
    naddr = write_virtusertable(args.virtual, table, domains)
    native_mc = ("FEATURE(`virtusertable', `hash -o %s')dnl\n"
                 "VIRTUSER_DOMAIN_FILE(`%s')dnl\n" % (table, domains))
    dump = os.path.join(root, "sink", "dump")
    sink, sink_port = start_sink(dump)
    insts = {
        "milter": sendmail_instance.SendmailInstance(
            root, "milter", sink_port, milter_socket=milter.socket, queue_interval="1m",
            extra_mc=SENDMAIL_TUNING, transcript=False,
            daemon_extra=LISTEN),
        "virtusertable": sendmail_instance.SendmailInstance(
            root, "virtusertable", sink_port, queue_interval="1m",
            extra_mc=SENDMAIL_TUNING + native_mc, transcript=False,
            daemon_extra=LISTEN),
        "null": sendmail_instance.SendmailInstance(
            root, "null", sink_port, milter_socket=null.socket, queue_interval="1m",
            extra_mc=SENDMAIL_TUNING, transcript=False,
            daemon_extra=LISTEN),
    }
    offsets, counted = {}, {n: 0 for n in insts}

    def check(name, r):
        inst = insts[name]
        if r is None:
            offsets[name] = (settled_size(inst.maillog), settled_size(dump))
            return
        if r["rc"] != 0 or not r["drained"]:
            raise RoundFailed("f) Sendmail %s: smtp-source rc=%d, queue %s"
                              % (name, r["rc"], "empty" if r["drained"] else
                                 "not empty after 300 s"))
        counted[name] += check_sendmail_round(name, inst, offsets[name][0], dump,
                                              offsets[name][1], args.e2e_messages)

    try:
        for inst in insts.values():
            inst.create()
        makemap_s = makemap(sm, insts["virtusertable"].cf, table)
        log("f) makemap hash of %d addresses: %.1f s" % (naddr, makemap_s))
        for inst in insts.values():
            inst.start()
        runs = run_rounds(args, "f) sendmail", {n: (i.port, lambda i=i: sendmail_queued(i))
                                                for n, i in insts.items()}, sink,
                          check=check)
        res["e2e_sendmail"] = {"runs": runs, "messages": args.e2e_messages,
                               "rounds": 2 * args.reps, "makemap_s": makemap_s,
                               "naddr": naddr, "checked": counted,
                               "version": sm.check_binary().split(" (")[0]}
    finally:
        _stop(insts, sink)


def report_sendmail(args, res, add):
    e = res["e2e_sendmail"]
    if not _head(add, "f) End to end through a private Sendmail", e):
        return
    add(_intro(args, e, e["version"]) + " Native: the same addresses as a virtusertable "
        "(`makemap hash`, %s entries: %.1f s) with the hosted domains in {VirtHost}; the "
        "milters through INPUT_MAIL_FILTER (unix socket, F=T). All deliver through "
        "SMART_HOST to smtp-sink; delivery mode background, LogLevel 9, no transcript, "
        "load-average limits off, no DNS." % (format(e["naddr"], ","), e["makemap_s"]))
    add("")
    report_rounds(add, e["runs"], {
        "milter": "Sendmail + hosted-milter (unix socket)",
        "virtusertable": "Sendmail, native virtusertable (hash), no milter",
        "null": "Sendmail + null milter (same negotiation)"}, "virtusertable", "null")
    add("Delivery check of every measured round (a failed round fails the section): the "
        "sink's dump has one message per message sent, one RCPT each, to distinct "
        "consecutive numbers: `mNNN@corp.example` (hosted-milter, virtusertable) or the "
        "original `NNNrcpt@d0.example` (null milter, no edits); the maillog has as many "
        "stat=Sent and no other status, reject, DSN or milter trouble. Checked: " +
        ", ".join("%s %d" % (n, c) for n, c in e["checked"].items()) + " messages.")
    add("")
