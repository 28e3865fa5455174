#!/usr/bin/python3
"""A recording SMTP sink on loopback for the integration tests.

Owns: an ESMTP server that accepts every transaction (announcing DSN,
8BITMIME, SIZE, PIPELINING, ENHANCEDSTATUSCODES so an MTA relays ORCPT= and
NOTIFY= and pipelines) and records one JSON line per message: the MAIL FROM
with its parameters, every RCPT with its parsed parameters and raw line, and
selected headers (X-Test-Id, Message-Id), plus any X-Test-Id quoted in the
body (delivery reports quote the original headers there).

Use in-process (class Sink: records in memory, wait_for()) or as a program:
    sink.py [--host 127.0.0.1] [--port N|0] --log FILE [--no-dsn] [--save-dir DIR]
which prints "listening on HOST:PORT" and runs until SIGTERM/SIGINT.
Standard library only.
"""

import argparse
import json
import os
import re
import signal
import socketserver
import sys
import threading
import time

MAX_LINE = 1 << 20          # longest command or text line we read
MAX_MESSAGE = 64 << 20      # larger messages are refused (SIZE says so)

_PATH_RE = re.compile(r"^\s*(<[^>]*>|[^\s<>]+)(.*)$", re.S)
_TEST_ID_RE = re.compile(r"^X-Test-Id:[ \t]*(\S+)", re.I | re.M)
RECORDED_HEADERS = ("X-Test-Id", "Message-Id")


def xtext_decode(value):
    """RFC 3461 xtext: "+XX" is a hex-encoded byte."""
    out = bytearray()
    i = 0
    raw = value.encode("utf-8", "surrogateescape")
    while i < len(raw):
        c = raw[i]
        if c == 0x2B and re.fullmatch(rb"[0-9A-Fa-f]{2}", raw[i + 1:i + 3]):
            out.append(int(raw[i + 1:i + 3], 16))
            i += 3
        else:
            out.append(c)
            i += 1
    return out.decode("utf-8", "replace")


def parse_path_and_params(arg):
    """Split "<path> K=V K2" into (path without brackets, {K: V}, error).
    Parameter names are upper-cased; values are kept verbatim."""
    m = _PATH_RE.match(arg)
    if not m:
        return None, {}, "syntax error in path"
    path = m.group(1)
    if path.startswith("<"):
        path = path[1:-1]
    params = {}
    for word in m.group(2).split():
        key, sep, val = word.partition("=")
        params[key.upper()] = val if sep else None
    return path, params, None


def parse_headers(lines):
    """Selected headers from the header section (list of str lines)."""
    headers = {}
    current = None
    for line in lines:
        if line == "":
            break
        if line[:1] in (" ", "\t") and current:
            headers[current] += " " + line.strip()
            continue
        name, sep, value = line.partition(":")
        if not sep:
            current = None
            continue
        canon = None
        for h in RECORDED_HEADERS:
            if name.strip().lower() == h.lower():
                canon = h
        current = canon
        if canon and canon not in headers:
            headers[canon] = value.strip()
    return headers


class _Handler(socketserver.StreamRequestHandler):
    timeout = 300

    def reply(self, text):
        self.wfile.write(text.encode("ascii", "replace") + b"\r\n")

    def readline(self):
        line = self.rfile.readline(MAX_LINE)
        if not line:
            return None
        return line.rstrip(b"\r\n").decode("utf-8", "surrogateescape")

    def reset(self):
        self.mail = None
        self.rcpts = []

    def handle(self):
        sink = self.server.sink
        self.helo = None
        self.reset()
        try:
            self.reply("220 %s ESMTP recording sink" % sink.hostname)
            while True:
                line = self.readline()
                if line is None:
                    return
                verb, _, arg = line.partition(" ")
                verb = verb.upper()
                if verb in ("EHLO", "HELO"):
                    self.helo = arg.strip()
                    self.reset()
                    if verb == "HELO":
                        self.reply("250 %s" % sink.hostname)
                        continue
                    # SMTPUTF8: the MTA may relay UTF-8 addresses here
                    ext = ["PIPELINING", "SIZE %d" % MAX_MESSAGE, "8BITMIME",
                           "ENHANCEDSTATUSCODES", "SMTPUTF8"]
                    if sink.dsn:
                        ext.append("DSN")
                    lines = [sink.hostname] + ext
                    for i, l in enumerate(lines):
                        self.reply("250%s%s" % (" " if i == len(lines) - 1 else "-", l))
                elif verb == "MAIL":
                    if not arg.upper().startswith("FROM:"):
                        self.reply("501 5.5.4 Syntax: MAIL FROM:<address>")
                    elif self.mail is not None:
                        self.reply("503 5.5.1 Error: nested MAIL command")
                    else:
                        path, params, err = parse_path_and_params(arg[5:])
                        if err:
                            self.reply("501 5.1.7 " + err)
                            continue
                        self.mail = {"addr": path, "params": params, "raw": line}
                        self.reply("250 2.1.0 Ok")
                elif verb == "RCPT":
                    if not arg.upper().startswith("TO:"):
                        self.reply("501 5.5.4 Syntax: RCPT TO:<address>")
                    elif self.mail is None:
                        self.reply("503 5.5.1 Error: need MAIL command")
                    else:
                        path, params, err = parse_path_and_params(arg[3:])
                        if err:
                            self.reply("501 5.1.3 " + err)
                            continue
                        self.rcpts.append({"rcpt": path, "params": params, "raw": line})
                        self.reply("250 2.1.5 Ok")
                elif verb == "DATA":
                    if self.mail is None or not self.rcpts:
                        self.reply("503 5.5.1 Error: need RCPT command")
                        continue
                    self.reply("354 End data with <CR><LF>.<CR><LF>")
                    body = []
                    size = 0
                    while True:
                        l = self.readline()
                        if l is None:
                            return
                        if l == ".":
                            break
                        if l.startswith("."):
                            l = l[1:]
                        size += len(l) + 2
                        if size <= MAX_MESSAGE:
                            body.append(l)
                    if size > MAX_MESSAGE:
                        self.reply("552 5.3.4 Message too big")
                    else:
                        seq = sink.record(self, body, size)
                        self.reply("250 2.0.0 Ok: queued as S%d" % seq)
                    self.reset()
                elif verb == "RSET":
                    self.reset()
                    self.reply("250 2.0.0 Ok")
                elif verb == "NOOP":
                    self.reply("250 2.0.0 Ok")
                elif verb == "VRFY":
                    self.reply("252 2.0.0 Send some mail, I'll try my best")
                elif verb == "QUIT":
                    self.reply("221 2.0.0 Bye")
                    return
                else:
                    self.reply("502 5.5.2 Error: command not recognized")
        except (OSError, ValueError):
            return


class _Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


class Sink:
    """In-process recording sink.  start() binds and serves on a thread;
    stop() shuts down.  Records are kept in memory and appended as JSON
    lines to log_path (if given)."""

    def __init__(self, host="127.0.0.1", port=0, log_path=None, dsn=True, save_dir=None,
                 hostname="sink.test", on_record=None):
        self.host = host
        self.req_port = port
        self.log_path = log_path
        self.dsn = dsn
        self.save_dir = save_dir
        self.hostname = hostname
        self.on_record = on_record      # called with each new record (sink thread)
        self._records = []
        self._cond = threading.Condition()
        self._server = None
        self._thread = None
        self._log = None

    @property
    def port(self):
        return self._server.server_address[1]

    def start(self):
        self._server = _Server((self.host, self.req_port), _Handler)
        self._server.sink = self
        if self.log_path:
            self._log = open(self.log_path, "a", encoding="utf-8")
        if self.save_dir:
            os.makedirs(self.save_dir, exist_ok=True)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1},
                                        name="sink", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def record(self, handler, body, size):
        headers = parse_headers(body)
        text = "\n".join(body)
        hdr_end = body.index("") if "" in body else len(body)
        quoted_ids = _TEST_ID_RE.findall("\n".join(body[hdr_end:]))
        with self._cond:
            seq = len(self._records) + 1
            rec = {
                "seq": seq,
                "time": time.time(),
                "peer": "%s:%d" % handler.client_address[:2],
                "helo": handler.helo,
                "mail_from": handler.mail["addr"],
                "mail_params": handler.mail["params"],
                "mail_raw": handler.mail["raw"],
                "rcpts": handler.rcpts,
                "headers": headers,
                "body_test_ids": quoted_ids,
                "size": size,
            }
            if self.save_dir:
                name = os.path.join(self.save_dir, "msg-%06d.eml" % seq)
                with open(name, "w", encoding="utf-8", errors="surrogateescape") as f:
                    f.write(text + "\n")
                rec["saved"] = name
            self._records.append(rec)
            if self._log is not None:
                self._log.write(json.dumps(rec, sort_keys=True) + "\n")
                self._log.flush()
            self._cond.notify_all()
        if self.on_record is not None:
            self.on_record(rec)
        return seq

    def records(self, test_id=None):
        """All records so far, or those whose X-Test-Id header is test_id."""
        with self._cond:
            recs = list(self._records)
        if test_id is None:
            return recs
        return [r for r in recs if r["headers"].get("X-Test-Id") == test_id]

    def reports_about(self, test_id):
        """Records that quote test_id in their body: delivery reports."""
        with self._cond:
            return [r for r in self._records if test_id in r.get("body_test_ids", [])]

    def wait_for(self, test_id, nrcpts=1, timeout=20.0):
        """Wait until the records with that X-Test-Id carry at least nrcpts
        recipients in total (a message may arrive in several transactions
        when the MTA splits it).  Returns the records (possibly fewer
        recipients on timeout: the caller asserts)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                recs = [r for r in self._records if r["headers"].get("X-Test-Id") == test_id]
                if sum(len(r["rcpts"]) for r in recs) >= nrcpts:
                    return recs
                left = deadline - time.monotonic()
                if left <= 0:
                    return recs
                self._cond.wait(min(left, 0.5))


def read_log(path):
    """The records of a sink's JSON log file (for a sink in another process)."""
    out = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line:
                    out.append(json.loads(line))
    except FileNotFoundError:
        pass
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0: choose a free port")
    ap.add_argument("--log", required=True, help="JSON-lines file to append to")
    ap.add_argument("--no-dsn", action="store_true", help="do not announce DSN")
    ap.add_argument("--save-dir", help="also save each message as a file here")
    ap.add_argument("--port-file", help="write the chosen port here")
    args = ap.parse_args(argv)
    sink = Sink(args.host, args.port, args.log, dsn=not args.no_dsn, save_dir=args.save_dir)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    sink.start()
    if args.port_file:
        with open(args.port_file, "w") as f:
            f.write("%d\n" % sink.port)
    print("listening on %s:%d" % (args.host, sink.port), flush=True)
    while not stop.wait(0.5):
        pass
    sink.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
