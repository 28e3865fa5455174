#!/usr/bin/python3
"""The benchmark suite behind contrib/bench.sh (not a test; never run by ctest).

Owns the orchestration of every figure and its baseline, measured in the
same run, interleaved (ABAB...) and summarised as medians and ratios:

  a) resolution: bench_resolve at 1k / 100k / 1M addresses, with the
     machine's dependent-load (pointer-chase) latency beside it;
  b) load: `hosted-milter -t` on a 1M-line virtual(5) table vs
     `postmap hash:` of the same file (wall time, peak RSS via wait4), and
     the libconfuse `mailbox` section path at 1k / 10k / 50k;
  c) reload: SIGUSR1 with the 1M table while milter_driver sends traffic;
  d) milter protocol: milter_driver (C, milter v6) against hosted-milter
     and null_milter at 1 / 8 / 64 connections;
  e) end to end: smtp-source -> private Postfix (hosted-milter | native
     virtual_alias_maps hash: | null milter) -> smtp-sink;
  f) the same through a private Sendmail 8.17 (hosted-milter | native
     virtusertable hash | null milter), every round checked for delivery.

e) and f) live in bench_e2e.py, the helpers all sections share in
benchlib.py.  Reuses the integration harness (postfix_instance,
sendmail_instance, milter_process, util).
Every process it starts is stopped by PID (atexit hooks of the harness,
plus its own). Writes a Markdown report and prints it.

    bench.py --build DIR --out FILE [--quick] [--reps N] [--only abcdef] [--milter-b BINARY]
"""

import argparse
import datetime
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SRC, "test", "integration"))

import bench_e2e  # noqa: E402
import milter_process  # noqa: E402
import postfix_instance  # noqa: E402
import sendmail_instance  # noqa: E402
import util  # noqa: E402
from benchlib import (children, fmt, kill_children, loadavg, log, med, ratio,  # noqa: E402
                      ratio_cell, round_ratios, spread)

POSTMAP = postfix_instance.POSTMAP
SMTP_SOURCE = bench_e2e.SMTP_SOURCE
SMTP_SINK = bench_e2e.SMTP_SINK

NDOMAINS = 1000
NADDR = 1000000
E2E_RANGE = 200000   # addresses 1..E2E_RANGE live in d0.example (smtp-source -N)


def run_measured(argv, timeout, cwd=None):
    """Run argv; returns (rc, wall seconds, peak RSS KiB of that child)."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, cwd=cwd)
    children.append(p)
    err = []
    reader = threading.Thread(target=lambda: err.append(p.stderr.read()), daemon=True)
    reader.start()
    deadline = t0 + timeout
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid == p.pid:
            break
        if time.monotonic() > deadline:
            p.kill()
            pid, status, ru = os.wait4(p.pid, 0)
            status = -1
            break
        time.sleep(0.002)
    wall = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status) if status != -1 else -1
    reader.join(5)
    children.remove(p)
    if p.returncode != 0:
        log("%s: rc=%d %s" % (" ".join(argv[:3]), p.returncode,
                              (err[0] if err else b"")[-300:].decode("utf-8", "replace")))
    return p.returncode, wall, ru.ru_maxrss


def proc_cpu(pid):
    """utime+stime of pid and its threads, in seconds."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def proc_status(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


# --- data -------------------------------------------------------------------

def write_virtual(path, naddr, ndomains=NDOMAINS, e2e_range=E2E_RANGE):
    """A virtual(5) file: ndomains 'dK.example hosted' lines (Postfix's and
    hosted-milter's way of declaring a virtual alias domain), then naddr
    'NNNrcpt@dK.example  mNNN@corp.example' lines.  Numbers 1..e2e_range are
    in d0.example so that smtp-source -N -t rcpt@d0.example hits them."""
    with open(path, "w") as f:
        for d in range(ndomains):
            f.write("d%d.example hosted\n" % d)
        buf = []
        for i in range(1, naddr + 1):
            d = 0 if i <= e2e_range else i % ndomains
            buf.append("%drcpt@d%d.example m%d@corp.example\n" % (i, d, i))
            if len(buf) >= 10000:
                f.write("".join(buf))
                buf = []
        f.write("".join(buf))


def write_conf(path, table_file, log_level="info"):
    with open(path, "w") as f:
        f.write('postmaster = "postmaster@corp.example"\n')
        f.write("log_level = %s\n" % log_level)
        f.write('socket_mode = "0666"\n')  # smtpd runs as user postfix
        f.write('table = { "%s" }\n' % table_file)


def write_sections_conf(path, n, ndomains=10):
    """n addresses as n libconfuse `mailbox` sections."""
    with open(path, "w") as f:
        f.write('postmaster = "postmaster@corp.example"\n')
        for d in range(ndomains):
            f.write('domain "d%d.example" { }\n' % d)
        for i in range(n):
            f.write('mailbox "u%d@d%d.example" { }\n' % (i, i % ndomains))


def write_rcpts(path, n, start=1):
    with open(path, "w") as f:
        for i in range(start, start + n):
            f.write("%drcpt@d0.example\n" % i)


# --- a) resolution ------------------------------------------------------------

def bench_resolution(args, res):
    sizes = [1000, 100000, 1000000] if not args.quick else [1000, 100000]
    reps = args.reps
    out = {n: [] for n in sizes}
    for rep in range(reps):
        order = sizes if rep % 2 == 0 else list(reversed(sizes))
        for n in order:
            nd = max(10, min(NDOMAINS, n // 100))
            argv = [os.path.join(args.build, "bench_resolve"), "-n", str(n), "-d", str(nd),
                    "-r", "5", "-C", "-m", "-P", "256" if n == max(sizes) else "0"]
            p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               timeout=600, stdin=subprocess.DEVNULL)
            if p.returncode != 0:
                log("bench_resolve -n %d failed: %s" % (n, p.stdout[-500:]))
                continue
            kv = {}
            for line in p.stdout.splitlines():
                if line.startswith("M "):
                    k, v = line[2:].rsplit(" ", 1)
                    kv[k] = float(v)
            out[n].append(kv)
            log("resolution n=%d rep %d: %.1f ns (mix)" % (n, rep, kv.get("resolve_mix_ns", -1)))
    res["resolution"] = out


# --- b) load ------------------------------------------------------------------

def bench_load(args, res, work):
    vdir = os.path.join(work, "load")
    etc = os.path.join(vdir, "etc")
    os.makedirs(etc, exist_ok=True)
    with open(os.path.join(etc, "main.cf"), "w") as f:
        f.write("compatibility_level = 3.6\n")
    virtual = os.path.join(vdir, "virtual")
    shutil.copyfile(args.virtual, virtual)
    conf = os.path.join(vdir, "hm.conf")
    write_conf(conf, "virtual")
    hm = os.path.join(args.build, "hosted-milter")
    rows = {"milter": [], "postmap": []}
    for rep in range(args.reps):
        pair = [("milter", [hm, "-c", conf, "-t"]),
                ("postmap", [POSTMAP, "-c", etc, "hash:" + virtual])]
        if rep % 2:
            pair.reverse()
        for name, argv in pair:
            if name == "postmap":
                try:
                    os.unlink(virtual + ".db")
                except OSError:
                    pass
            rc, wall, rss = run_measured(argv, timeout=600)
            rows[name].append((rc, wall, rss))
            log("load %s rep %d: rc=%d %.2f s %d KiB" % (name, rep, rc, wall, rss))
    res["load"] = rows
    res["naddr"] = args.naddr
    res["virtual_bytes"] = os.path.getsize(virtual)

    # The libconfuse section path against the table path, same sizes.
    scale = {}
    sizes = [1000, 10000, 50000] if not args.quick else [1000, 10000]
    for n in sizes:
        sconf = os.path.join(vdir, "sections-%d.conf" % n)
        write_sections_conf(sconf, n)
        tfile = os.path.join(vdir, "virtual-%d" % n)
        write_virtual(tfile, n, ndomains=10, e2e_range=0)
        tconf = os.path.join(vdir, "table-%d.conf" % n)
        write_conf(tconf, os.path.basename(tfile))
        s, t = [], []
        reps = args.reps if n < 50000 else max(1, min(args.reps, 3))
        for rep in range(reps):
            for kind in (("sections", "table") if rep % 2 == 0 else ("table", "sections")):
                argv = [hm, "-c", sconf if kind == "sections" else tconf, "-t"]
                rc, wall, rss = run_measured(argv, timeout=300)
                (s if kind == "sections" else t).append(wall if rc == 0 else None)
        scale[n] = (med(s), med(t))
        log("config_load n=%d: sections %.3f s, table %.3f s" % (n, scale[n][0] or -1,
                                                               scale[n][1] or -1))
    res["load_scale"] = scale


# --- milters ------------------------------------------------------------------

class NullMilter:
    """null_milter -s unix:SOCK [args] as a child, stopped by PID."""

    def __init__(self, binary, workdir, name="null", args=()):
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.socket = os.path.join(self.dir, "null.sock")
        self.log = os.path.join(self.dir, "null.log")
        self.binary = binary
        self.args = list(args)
        self.proc = None

    def start(self):
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen([self.binary, "-s", "unix:" + self.socket] + self.args,
                                     stdin=subprocess.DEVNULL, stdout=logf,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     preexec_fn=lambda: os.umask(0))
        logf.close()
        children.append(self.proc)
        util.wait_for_unix_socket(self.socket, timeout=20, alive=lambda: self.proc.poll() is None)
        return self

    @property
    def pid(self):
        return self.proc.pid

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def run_driver(args, sock, conns, seconds, rcpts, per_msg=1):
    argv = [os.path.join(args.build, "milter_driver"), "-s", "unix:" + sock, "-R", rcpts,
            "-c", str(conns), "-d", str(seconds), "-r", str(per_msg)]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         stdin=subprocess.DEVNULL)
    children.append(p)
    return p


def driver_result(p, timeout):
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    children.remove(p)
    kv = {"rc": p.returncode}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                kv[parts[0]] = float(parts[1])
            except ValueError:
                pass
    if p.returncode != 0:
        log("milter_driver rc=%d: %s" % (p.returncode, err.strip()[-400:]))
    return kv


# --- c) reload ----------------------------------------------------------------

RELOADS = 3          # SIGUSR1s per traffic run
RELOAD_GAP = 8.0     # seconds from one SIGUSR1 to the next (reload included), as before


def reload_round(args, milter, rcpts, reloads):
    """One 8-connection traffic run of fixed length against milter, with
    `reloads` SIGUSR1s in it (0: the same run's baseline). Returns the
    driver's figures, the reload times and the reloads that succeeded."""
    seconds = 3 + RELOADS * RELOAD_GAP + 2
    p = run_driver(args, milter.socket, 8, seconds, rcpts)
    time.sleep(3)
    times, oks = [], []
    for _ in range(reloads):
        t0 = time.monotonic()
        ok, _text = milter.reload(timeout=60)
        times.append(time.monotonic() - t0)
        oks.append(ok)
        log("%s: reload %s in %.2f s" % (milter.bench_name, "ok" if ok else "FAILED", times[-1]))
        time.sleep(max(0.0, RELOAD_GAP - times[-1]))
    return driver_result(p, timeout=seconds + 60), times, oks


def reload_phases(milter):
    """The daemon's own "reload took" lines (phases), as text."""
    try:
        with open(milter.log, errors="replace") as f:
            return [l.split("reload took ", 1)[1].strip() for l in f if "reload took " in l]
    except OSError:
        return []


def bench_reload(args, res, milters, rcpts):
    """c): per milter (hosted-milter, and --milter-b's), per repetition, a
    traffic run with RELOADS reloads and one of the same length without,
    interleaved and rotated; plus idle reloads and the RSS figures."""
    out = {}
    for m in milters:
        one = proc_status(m.pid, "VmRSS")
        idle = []
        for _ in range(2):
            t0 = time.monotonic()
            ok, _text = m.reload(timeout=60)
            idle.append(time.monotonic() - t0 if ok else None)
            log("%s: reload without traffic: %s in %.2f s" % (m.bench_name, "ok" if ok else "FAILED",
                                                              time.monotonic() - t0))
        out[m.bench_name] = {"one_rss_kib": one, "idle": idle, "times": [], "oks": [], "during": [],
                       "base": []}
    plan = [(m, n) for m in milters for n in (RELOADS, 0)]
    for rep in range(args.reps):
        k = rep % len(plan)
        for m, n in plan[k:] + plan[:k]:
            during, times, oks = reload_round(args, m, rcpts, n)
            o = out[m.bench_name]
            if n:
                o["during"].append(during)
                o["times"] += times
                o["oks"] += oks
            else:
                o["base"].append(during)
        log("c) repetition %d of %d done, load %s" % (rep + 1, args.reps, loadavg()))
    for m in milters:
        out[m.bench_name]["vmhwm_kib"] = proc_status(m.pid, "VmHWM")
        out[m.bench_name]["phases"] = reload_phases(m)
    res["reload"] = out
    res["reload_order"] = [m.bench_name for m in milters]


# --- d) milter protocol -------------------------------------------------------

PROTO_VARIANTS = ("milter", "nulle", "null", "quiet", "pass")


def bench_protocol(args, res, milter, nulle, null, quiet, rcpts, pass_rcpts, other=None):
    """milter: hosted-milter, every RCPT rewritten (2 edits and one log
    line per message); nulle: null_milter -e, the same negotiation and the
    same 2 edits per message, no lookup, no log (the baseline).
    Diagnostics: null = null_milter without edits; quiet = hosted-milter
    with log_level notice (no per-message log line); pass = hosted-milter
    on recipients outside every hosted domain (resolved, no edit, no log);
    other = another hosted-milter binary (--milter-b), same traffic as
    milter, for a before/after comparison in the same run."""
    secs = 1
    rounds = 3 * args.reps
    conns_list = [1, 8, 64]
    variants = PROTO_VARIANTS + (("other",) if other is not None else ())
    out = {c: {v: [] for v in variants} for c in conns_list}
    targets = {"milter": (milter, rcpts), "nulle": (nulle, rcpts), "null": (null, rcpts),
               "quiet": (quiet, rcpts), "other": (other, rcpts),
               "pass": (milter, pass_rcpts)}
    for rep in range(rounds):
        for c in conns_list:
            k = (rep + c) % len(variants)
            order = variants[k:] + variants[:k]
            for name in order:
                m, rfile = targets[name]
                cpu0 = proc_cpu(m.pid)
                kv = driver_result(run_driver(args, m.socket, c, secs, rfile),
                                   timeout=secs + 60)
                cpu1 = proc_cpu(m.pid)
                kv["milter_cpu_s"] = (cpu1 - cpu0) if cpu0 is not None and cpu1 is not None \
                    else None
                out[c][name].append(kv)
                log("protocol c=%d %s: %.0f msg/s failures %d (driver cpu %.2f s, milter cpu "
                    "%.2f s)" % (c, name, kv.get("msgs_per_s", 0), kv.get("failures", -1),
                                 kv.get("driver_cpu_s", -1), kv["milter_cpu_s"] or -1))
    res["protocol"] = out


# --- report -------------------------------------------------------------------

def report_reload(args, res, add):
    def mm(v, spec, scale=1.0):
        v = [x * scale for x in v if x is not None]
        if not v:
            return "-"
        return "%s (%s-%s)" % (fmt(med(v), spec), fmt(min(v), spec), fmt(max(v), spec))

    add("## c) Reload of the %s-address table under traffic" % format(args.naddr, ","))
    add("")
    add("Per binary and repetition: one %.0f s run of milter_driver at 8 connections (one "
        "rewrite per message) with %d SIGUSR1 reloads in it (each timed until the daemon's "
        "\"reloaded configuration\" line), and one run of the same length without reloads, "
        "interleaved, order rotated; %d repetitions. Medians (min-max) over the repetitions; "
        "latency figures are each run's p99 and max."
        % (3 + RELOADS * RELOAD_GAP + 2, RELOADS, args.reps))
    add("")
    names = res["reload_order"]
    add("| figure | " + " | ".join(names) + " |")
    add("|---|" + "---:|" * len(names))
    rows = [
        ("reload time under traffic, s", lambda o: mm(o["times"], ".2f")),
        ("reload time without traffic (2 reloads), s", lambda o: mm(o["idle"], ".2f")),
        ("reloads that succeeded", lambda o: "%d of %d" % (sum(o["oks"]), len(o["oks"]))),
        ("failed messages (non-continue answer or broken connection)",
         lambda o: "**%d**" % sum(d.get("failures", 0) + d.get("connection_errors", 0)
                                  for d in o["during"] + o["base"])),
        ("msg/s with reloads", lambda o: mm([d.get("msgs_per_s") for d in o["during"]], ".0f")),
        ("msg/s without (same length)",
         lambda o: mm([d.get("msgs_per_s") for d in o["base"]], ".0f")),
        ("latency p99 with reloads, us",
         lambda o: mm([d.get("latency_p99_us") for d in o["during"]], ".0f")),
        ("latency p99 without, us",
         lambda o: mm([d.get("latency_p99_us") for d in o["base"]], ".0f")),
        ("p99 ratio with / without (per repetition)",
         lambda o: mm([ratio(a.get("latency_p99_us"), b.get("latency_p99_us"))
                       for a, b in zip(o["during"], o["base"])], ".2f")),
        ("latency max with reloads, ms",
         lambda o: mm([d.get("latency_max_us") for d in o["during"]], ".1f", 1e-3)),
        ("latency max without, ms",
         lambda o: mm([d.get("latency_max_us") for d in o["base"]], ".1f", 1e-3)),
        ("max with minus max without (per repetition), ms",
         lambda o: mm([a.get("latency_max_us") - b.get("latency_max_us")
                       if a.get("latency_max_us") is not None
                       and b.get("latency_max_us") is not None else None
                       for a, b in zip(o["during"], o["base"])], ".1f", 1e-3)),
        ("RSS with one table (after start), MiB", lambda o: fmt((o["one_rss_kib"] or 0) / 1024)),
        ("peak RSS (VmHWM, both tables alive), MiB", lambda o: fmt((o["vmhwm_kib"] or 0) / 1024)),
        ("peak / one-table RSS", lambda o: fmt(ratio(o["vmhwm_kib"], o["one_rss_kib"]), ".2f")),
    ]
    for label, f in rows:
        add("| %s | %s |" % (label, " | ".join(f(res["reload"][n]) for n in names)))
    add("")
    for n in names:
        ph = res["reload"][n]["phases"]
        if ph:
            add("%s's own timing of its reloads (log line \"reload took\"), the last three "
                "under traffic:" % n)
            add("")
            for line in ph[-3:]:
                add("    " + line)
            add("")


def report(args, res, meta):
    L = []
    add = L.append
    add("# hosted-milter benchmark results, %s" % meta["date"])
    add("")
    add("Machine: %s, %d CPUs, %s; kernel %s; Postfix %s; load average at start %s, at end %s. "
        "Shared machine: absolute numbers are noisy; each figure was measured in the same run "
        "as its baseline, interleaved, and the ratios are the figures to read. "
        "Command: `contrib/bench.sh%s` (Release build, %d repetitions, medians)."
        % (meta["cpu"], os.cpu_count(), meta["mem"], platform.release(), meta["postfix"],
           meta["load0"], meta["load1"], "".join(" " + a for a in args.argv), args.reps))
    add("")
    if "resolution" in res:
        r = res["resolution"]
        add("## a) Resolution (`bench_resolve`, ns per recipient, median of %d runs x 5 passes)"
            % args.reps)
        add("")
        sizes = sorted(r)
        kinds = ["mailbox hit", "secondary hit", "miss (reject)", "extension", "alias chain",
                 "alias domain", "not hosted"]
        add("| recipients | " + " | ".join("%s" % k for k in ["mix"] + kinds) + " |")
        add("|---|" + "---:|" * (len(kinds) + 1))
        for n in sizes:
            cells = [fmt(med([kv.get("resolve_mix_ns") for kv in r[n]]))]
            cells += [fmt(med([kv.get("resolve_ns." + k) for kv in r[n]])) for k in kinds]
            add("| %s | %s |" % (format(n, ","), " | ".join(cells)))
        big = max(sizes)
        chase = med([kv.get("chase_ns") for kv in r[big]])
        chase_huge = med([kv.get("chase_huge_ns") for kv in r[big]])
        add("")
        add("Dependent-load latency of this machine (pointer chase over 256 MiB, same runs as "
            "the %s row): **%s ns** per load with 4 KiB pages, %s ns with transparent huge "
            "pages (the table's large blocks are advised as huge pages). A lookup in a table "
            "far larger than the caches costs at least one such miss per dependent probe."
            % (format(big, ","), fmt(chase), fmt(chase_huge)))
        add("")
        add("At %s addresses, each kind / the dependent load (issue 14 targets: hit <= 1.5, "
            "secondary and extension <= 2.5): per pass against the 4 KiB-page chase measured "
            "just before it (median of the runs' medians), and the medians against the "
            "huge-page chase:" % format(big, ","))
        add("")
        add("| / dependent load | " + " | ".join(kinds) + " |")
        add("|---|" + "---:|" * len(kinds))
        add("| 4 KiB pages, per pass | %s |"
            % " | ".join(fmt(med([kv.get("rep_ratio." + k) for kv in r[big]]), ".2f")
                         for k in kinds))
        huge = [med([kv.get("resolve_ns." + k) for kv in r[big]]) for k in kinds]
        add("| huge pages | %s |" % " | ".join(
            fmt(h / chase_huge if h and chase_huge else None, ".2f") for h in huge))
        add("")
        add("Target: <= 150 ns and flat in table size.")
        b = r[big]
        add("")
        add("Builder path (in process, %s addresses, bench_resolve): build + validate %s s, "
            "peak RSS %s MiB, %s bytes per address beyond the address text."
            % (format(big, ","), fmt(med([kv.get("load_s") for kv in b]), ".3f"),
               fmt((med([kv.get("peak_rss_kib") for kv in b]) or 0) / 1024),
               fmt(med([kv.get("bytes_per_addr_beyond_text") for kv in b]))))
        add("")
    if "load" in res:
        rows = res["load"]
        add("## b) Load of %s addresses (one virtual(5) file, %.1f MB)"
            % (format(res["naddr"], ","), res["virtual_bytes"] / 1e6))
        add("")
        add("| what | wall s (median) | peak RSS MiB | failures |")
        add("|---|---:|---:|---:|")
        m_w = med([w for rc, w, _ in rows["milter"] if rc == 0])
        p_w = med([w for rc, w, _ in rows["postmap"] if rc == 0])
        for name, label in (("milter", "`hosted-milter -t` (config_load: parse, table, "
                                       "validate)"),
                            ("postmap", "`postmap -c DIR hash:FILE` (Berkeley DB hash)")):
            ok = [(w, rss) for rc, w, rss in rows[name] if rc == 0]
            add("| %s | %s | %s | %d |" % (label, fmt(med([w for w, _ in ok]), ".3f"),
                                          fmt((med([rss for _, rss in ok]) or 0) / 1024),
                                          len(rows[name]) - len(ok)))
        add("")
        add("Ratio hosted-milter / postmap time: **%s** (target: 1M load <= 1 s)."
            % fmt(ratio(m_w, p_w), ".2f"))
        add("")
        add("libconfuse `mailbox` sections do not scale (libconfuse keeps sections in a list "
            "and searches it for every new titled section: O(n^2)); the `table` path does:")
        add("")
        add("| addresses | `mailbox` sections: config_load s | `table` virtual(5) file: "
            "config_load s |")
        add("|---:|---:|---:|")
        for n, (s, t) in sorted(res["load_scale"].items()):
            add("| %s | %s | %s |" % (format(n, ","), fmt(s, ".3f"), fmt(t, ".3f")))
        add("")
        add("Use `table` files for large tables; sections are for hand-written configurations.")
        add("")
    if "reload" in res:
        report_reload(args, res, add)
    if "protocol" in res:
        pr = res["protocol"]
        add("## d) Milter protocol: hosted-milter vs null milter with the same edits")
        add("")
        add("milter_driver (C, milter v6, unix socket, MAIL left out and its macros sent with "
            "the RCPT as Postfix does), one RCPT per message, every RCPT rewritten by "
            "hosted-milter (%s-address table; one add and one delete per message, one log "
            "line). Baseline: `null_milter -e`, the same negotiation and the same two edits "
            "per message, no lookup, no log. %d rounds of 1 s per variant, order rotated "
            "each round; msg/s are medians (min-max over the rounds), the ratio is the "
            "median of the per-round ratios (min-max)." % (format(args.naddr, ","),
                                                           3 * args.reps))
        add("")
        add("| connections | hosted-milter msg/s | null milter + edits msg/s | ratio (target "
            ">= 0.95) | hosted p99 us | failures | driver CPU / null+edits CPU per 1 s run |")
        add("|---:|---:|---:|---:|---:|---:|---:|")

        def mps(c, v):
            return [kv.get("msgs_per_s") for kv in pr[c][v]]

        for c in sorted(pr):
            p99 = med([kv.get("latency_p99_us") for kv in pr[c]["milter"]])
            fails = sum(int(kv.get("failures", 0) + kv.get("connection_errors", 0))
                        for v in pr[c] for kv in pr[c][v])
            dc = med([kv.get("driver_cpu_s") for kv in pr[c]["nulle"]])
            mc = med([kv.get("milter_cpu_s") for kv in pr[c]["nulle"]])
            add("| %d | %s | %s | %s | %s | %d | %s / %s s |"
                % (c, spread(mps(c, "milter")), spread(mps(c, "nulle")),
                   ratio_cell(mps(c, "milter"), mps(c, "nulle")),
                   fmt(p99, ".0f"), fails, fmt(dc, ".2f"), fmt(mc, ".2f")))
        add("")
        add("Where the difference goes (same runs, each / null milter + edits msg/s, median "
            "of per-round ratios): `quiet` = hosted-milter with log_level notice (rewrites, "
            "no per-message log line); `pass` = hosted-milter on recipients of no hosted "
            "domain (resolved, no edits, no log line); `null, no edits` = null_milter "
            "without -e (what the two edit packets cost).")
        add("")
        add("| connections | rewrite + log | rewrite, no log (quiet) | resolve only (pass) "
            "| null, no edits |")
        add("|---:|---:|---:|---:|---:|")
        for c in sorted(pr):
            cells = [fmt(med(round_ratios(mps(c, v), mps(c, "nulle"))), ".3f")
                     for v in ("milter", "quiet", "pass", "null")]
            add("| %d | %s |" % (c, " | ".join(cells)))
        add("")
        if "other" in pr[min(pr)]:
            add("Before/after in the same run: `%s` (--milter-b) against this build, same "
                "traffic, each / null milter + edits (median of per-round ratios, min-max), "
                "and this build / that one." % args.milter_b)
            add("")
            add("| connections | this build | --milter-b build | this / --milter-b |")
            add("|---:|---:|---:|---:|")
            for c in sorted(pr):
                cells = [ratio_cell(mps(c, a), mps(c, b_)) for a, b_ in
                         (("milter", "nulle"), ("other", "nulle"), ("milter", "other"))]
                add("| %d | %s |" % (c, " | ".join(cells)))
            add("")
    if "e2e" in res:
        bench_e2e.report_postfix(args, res, add)
    if "e2e_sendmail" in res:
        bench_e2e.report_sendmail(args, res, add)
    return "\n".join(L) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="small sizes, for trying the script")
    ap.add_argument("--only", default="abcdef")
    ap.add_argument("--e2e-messages", type=int, default=2000)
    ap.add_argument("--e2e-reuse", action="store_true",
                    help="e): send a session's messages over one SMTP connection (smtp-source "
                         "-d) instead of one connection per message")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--milter-b", help="c), d): also measure this hosted-milter binary (e.g. "
                    "a build before a change), same traffic, same run")
    args = ap.parse_args()
    args.argv = [a for a in sys.argv[1:] if a not in (args.build, args.out)
                 and a not in ("--build", "--out")]
    args.build = os.path.abspath(args.build)
    if not 1 <= args.reps <= 50 or not 10 <= args.e2e_messages <= E2E_RANGE:
        ap.error("--reps 1..50, --e2e-messages 10..%d" % E2E_RANGE)
    if args.quick:
        args.reps = min(args.reps, 3)
        args.e2e_messages = min(args.e2e_messages, 300)
    ok, why = postfix_instance.available()
    if not ok and any(x in args.only for x in "e"):
        log("skipping e): %s" % why)
        args.only = args.only.replace("e", "")
    if "f" in args.only:
        ok, why = sendmail_instance.available()
        if not ok:
            log("skipping f): %s" % why)
            args.only = args.only.replace("f", "")
    for tool in (SMTP_SOURCE, SMTP_SINK, POSTMAP):
        if not os.access(tool, os.X_OK):
            log("missing %s (apt-get install postfix)" % tool)
            return 1
    meta = {"date": datetime.date.today().isoformat(), "load0": loadavg(),
            "postfix": subprocess.run(["postconf", "-dh", "mail_version"],
                                      stdout=subprocess.PIPE, text=True).stdout.strip()}
    meta["cpu"] = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                        if l.startswith("model name")), platform.machine())
    meta["mem"] = "%.0f GiB RAM" % (os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
                                    / 2 ** 30)
    work = tempfile.mkdtemp(prefix="hm-bench-")
    os.chmod(work, 0o755)
    res = {}
    milter = null = nulle = quiet = other = None
    try:
        naddr = args.naddr = NADDR if not args.quick else 100000
        args.virtual = os.path.join(work, "virtual")
        log("writing a %d-line virtual(5) table in %s" % (naddr, work))
        write_virtual(args.virtual, naddr, e2e_range=min(E2E_RANGE, naddr // 2))
        rcpts = os.path.join(work, "rcpts")
        write_rcpts(rcpts, 10000)
        if "a" in args.only:
            bench_resolution(args, res)
        if "b" in args.only:
            bench_load(args, res, work)
        if any(x in args.only for x in "cdef"):
            mwork = os.path.join(work, "m")
            os.makedirs(mwork)
            os.chmod(mwork, 0o755)
            milter = milter_process.MilterProcess(os.path.join(args.build, "hosted-milter"),
                                                  None, mwork)
            write_conf(milter.conf, args.virtual)
            milter.start(timeout=120)
            null = NullMilter(os.path.join(args.build, "null_milter"), mwork).start()
            if "d" in args.only:
                nulle = NullMilter(os.path.join(args.build, "null_milter"), mwork,
                                   name="null-edits", args=["-e"]).start()
                quiet = milter_process.MilterProcess(
                    os.path.join(args.build, "hosted-milter"), None, mwork, name="quiet")
                write_conf(quiet.conf, args.virtual, log_level="notice")
                quiet.start(timeout=120)
                if args.milter_b:
                    other = milter_process.MilterProcess(os.path.abspath(args.milter_b), None,
                                                         mwork, name="other")
                    write_conf(other.conf, args.virtual)
                    other.start(timeout=120)
            if "e" in args.only:               # Postfix's hash: of the table
                subprocess.run([POSTMAP, "-c", _postmap_etc(work), "hash:" + args.virtual],
                               check=True, timeout=600)
            if "d" in args.only:
                pass_rcpts = os.path.join(work, "pass-rcpts")
                with open(pass_rcpts, "w") as f:
                    f.write("".join("%drcpt@elsewhere.example\n" % i for i in range(1, 10001)))
                bench_protocol(args, res, milter, nulle, null, quiet, pass_rcpts=pass_rcpts,
                               rcpts=rcpts, other=other)
                quiet.stop()
                if other is not None:
                    other.stop()
            if "c" in args.only:
                milter.bench_name = "hosted-milter"
                ms = [milter]
                if args.milter_b:
                    other = milter_process.MilterProcess(os.path.abspath(args.milter_b), None,
                                                         mwork, name="other-c")
                    write_conf(other.conf, args.virtual)
                    other.start(timeout=120)
                    other.bench_name = "--milter-b"
                    ms.append(other)
                bench_reload(args, res, ms, rcpts)
                if other is not None:
                    other.stop()
            for section, key, run in (("e", "e2e", bench_e2e.bench_postfix),
                                      ("f", "e2e_sendmail", bench_e2e.bench_sendmail)):
                if section in args.only:
                    try:
                        run(args, res, work, milter, null)
                    except bench_e2e.RoundFailed as exc:
                        log("%s) FAILED: %s" % (section, exc))
                        res[key] = {"failed": str(exc)}
    finally:
        if milter is not None:
            milter.stop()
        if null is not None:
            null.stop()
        if nulle is not None:
            nulle.stop()
        if quiet is not None:
            quiet.stop()
        if other is not None:
            other.stop()
        kill_children()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log("kept %s" % work)
    meta["load1"] = loadavg()
    text = report(args, res, meta)
    with open(args.out, "w") as f:
        f.write(text)
    print(text)
    log("wrote %s" % args.out)
    return 1 if any("failed" in res.get(k, {}) for k in ("e2e", "e2e_sendmail")) else 0


def _postmap_etc(work):
    etc = os.path.join(work, "postmap-etc")
    os.makedirs(etc, exist_ok=True)
    with open(os.path.join(etc, "main.cf"), "w") as f:
        f.write("compatibility_level = 3.6\n")
    return etc


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main())
