#!/usr/bin/python3
"""The README's demo: a sink, the milter and a private Postfix, wired up.

Owns the demo's wiring and what it tells the user; contrib/demo.sh installs
and builds, then runs this.  It starts, under one temp dir:
  - a recording sink on a free loopback port (one JSON line per message),
  - hosted-milter on the given configuration (through a wrapper that
    includes it and sets socket_mode = "0666", since Postfix's smtpd runs
    as user postfix, and user/group to the demo's own, since the service
    user need not exist) with its socket and pid file in the temp dir,
  - a private Postfix on 127.0.0.1:2525 (or a free port) using that milter,
    relay_domains from `hosted-milter -D`, delivering everything to the sink,
prints ready-to-paste swaks commands and where results and logs are, shows
each delivered envelope as it arrives, and stops everything (by PID) on
Ctrl-C or SIGTERM.  With --check it sends the two messages itself, prints
what happened and exits 0 when the rewrite and the reject both worked.
"""

import argparse
import grp
import os
import pwd
import shutil
import signal
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import milter_process  # noqa: E402
import postfix_instance  # noqa: E402
import sink as sinkmod  # noqa: E402
import smtp_client  # noqa: E402
import util  # noqa: E402

SENDER = "you@client.example"


def pick_addresses(milter, domains):
    """A rewrite example (postmaster@ a hosted domain) and a reject example
    (an unknown local part), chosen with -q so that any configuration works."""
    cands = ["postmaster@" + d for d in domains] + ["nosuch-demo@" + d for d in domains]
    q = milter.query(cands)
    rewrite = next(((a, q[a][1]) for a in cands if q.get(a, ("",))[0] == "rewrite"), None)
    reject = next(((a, q[a][1]) for a in cands if q.get(a, ("",))[0] == "reject"), None)
    return rewrite, reject


def show_record(rec):
    rcpts = ", ".join("<%s>%s" % (r["rcpt"], "".join(" %s=%s" % kv for kv in
                                                      sorted(r["params"].items())))
                      for r in rec["rcpts"])
    print("  [sink] delivered: MAIL FROM:<%s> -> %s  (X-Test-Id: %s)"
          % (rec["mail_from"], rcpts, rec["headers"].get("X-Test-Id", "-")), flush=True)


def check(pf, sink, rewrite, reject):
    """Send the two demo messages; print and judge the outcome."""
    ok = True
    if rewrite:
        addr, targets = rewrite
        o = smtp_client.send_message("127.0.0.1", pf.port, SENDER, [addr], "demo-rewrite")
        print("RCPT TO:<%s>  ->  %s" % (addr, o.rcpts[0][2].line if o.rcpts[0][2] else
                                         o.mail.line))
        recs = smtp_client.wait_for_message(sink, "demo-rewrite", 1, timeout=30,
                                            settle=lambda: pf.wait_queue_empty(20))
        got = sorted(r["rcpt"].lower() for r in smtp_client.delivered_rcpts(recs))
        want = sorted(t.lower() for t in targets.split(","))
        print("  delivered to %s (expected %s)" % (got, want))
        ok = ok and o.delivered_ok() and got == want
    else:
        print("no hosted domain with a postmaster rewrite in this configuration")
        ok = False
    if reject:
        addr, reply = reject
        o = smtp_client.send_message("127.0.0.1", pf.port, SENDER, [addr], "demo-reject")
        r = o.rcpts[0][2]
        print("RCPT TO:<%s>  ->  %s" % (addr, r.line if r else o.mail.line))
        ok = ok and r is not None and r.line == reply and o.data is None
    else:
        print("no hosted domain rejects unknown recipients in this configuration")
    return ok


def main(argv=None):
    ap = argparse.ArgumentParser(description="run hosted-milter behind a private Postfix")
    ap.add_argument("--milter", required=True, help="the hosted-milter binary")
    ap.add_argument("--conf", required=True, help="the configuration to run")
    ap.add_argument("--port", type=int, default=2525,
                    help="Postfix's port (default 2525; a free one when taken)")
    ap.add_argument("--check", action="store_true",
                    help="send a rewrite and a reject, print the results, stop")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir afterwards")
    args = ap.parse_args(argv)

    ok, why = postfix_instance.available()
    if not ok:
        print("demo: cannot run a private Postfix: %s" % why, file=sys.stderr)
        return 1
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())

    root = tempfile.mkdtemp(prefix="hosted-milter-demo-")
    os.chmod(root, 0o755)
    sink = milter = pf = None
    status = 1
    try:
        sink = sinkmod.Sink(log_path=os.path.join(root, "sink.jsonl"),
                            on_record=None if args.check else show_record).start()
        wrapper = os.path.join(root, "demo.conf")
        # The shipped configuration drops privileges to the service user
        # hosted-milter, which a development machine need not have: the
        # demo's milter stays the user the demo runs as (socket and pid
        # file are moved into the temp dir by -s and -p).
        me = pwd.getpwuid(os.geteuid()).pw_name
        my_group = grp.getgrgid(os.getegid()).gr_name
        with open(wrapper, "w") as f:
            f.write('# demo wrapper: the real configuration, plus a socket Postfix can use\n'
                    'include("%s")\nsocket_mode = "0666"\nuser = "%s"\ngroup = "%s"\n'
                    % (os.path.abspath(args.conf), me, my_group))
        milter = milter_process.MilterProcess(args.milter, wrapper, root)
        milter.start()
        domains = milter.domains()
        port = args.port if util.port_is_free(args.port) else util.free_port()
        pf = postfix_instance.PostfixInstance(root, "postfix", sink.port, relay_domains=domains,
                                              milter_socket=milter.socket, port=port)
        pf.create()
        pf.start()
        rewrite, reject = pick_addresses(milter, domains)

        print("hosted-milter demo (everything under %s)" % root)
        print("  Postfix   127.0.0.1:%d  (relay_domains: %s)" % (pf.port, " ".join(domains)))
        print("  milter    pid %d, unix:%s, configuration %s"
              % (milter.pid, milter.socket, os.path.abspath(args.conf)))
        print("  sink      127.0.0.1:%d" % sink.port)
        if args.check:
            status = 0 if check(pf, sink, rewrite, reject) else 1
            print("demo check: %s" % ("OK" if status == 0 else "FAILED"))
            if status:
                print("--- milter log ---\n" + milter.log_text()[-3000:])
                print("--- postfix log ---\n" + pf.log_tail(30))
            return status
        print()
        print("Send a test message (paste into another terminal):")
        if rewrite:
            print("  swaks --server 127.0.0.1:%d --from %s --to %s --header 'X-Test-Id: t1'"
                  % (pf.port, SENDER, rewrite[0]))
            print("      -> accepted, delivered to %s instead" % rewrite[1])
        if reject:
            print("  swaks --server 127.0.0.1:%d --from %s --to %s"
                  % (pf.port, SENDER, reject[0]))
            print("      -> refused at RCPT: %s" % reject[1])
        print()
        print("Delivered envelopes, one JSON line per message: %s" % sink.log_path)
        print("Milter log: %s" % milter.log)
        print("Postfix log: %s" % pf.maillog)
        print("What would it do with an address:  %s -c %s -q ADDRESS"
              % (milter.binary, os.path.abspath(args.conf)))
        print("After editing the configuration:   kill -USR1 %d" % milter.pid)
        print("Ctrl-C stops everything.")
        print(flush=True)
        while not stop.wait(1.0):
            if not milter.alive():
                print("demo: the milter exited; log:\n" + milter.log_text()[-2000:])
                return 1
        status = 0
        return 0
    except Exception as exc:  # noqa: BLE001 -- report, then clean up below
        print("demo: %s" % exc, file=sys.stderr)
        return 1
    finally:
        print("stopping ...", flush=True)
        for obj in (pf, milter, sink):
            if obj is not None:
                try:
                    obj.stop()
                except Exception as exc:  # noqa: BLE001
                    print("demo: stop: %s" % exc, file=sys.stderr)
        if args.keep or status != 0:
            print("kept %s" % root)
        else:
            shutil.rmtree(root, ignore_errors=True)
        print("stopped.", flush=True)


if __name__ == "__main__":
    sys.exit(main())
