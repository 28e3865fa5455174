#!/usr/bin/python3
"""A small SMTP client for the integration tests (standard library only).

Owns: sending messages with several recipients over one connection (and
several messages per connection) with RCPT parameters sent verbatim
(NOTIFY=, ORCPT=) and the recipient path sent exactly as given (bare
"postmaster", source routes, quoted local parts: smtplib would rewrite
those), returning every reply; and waiting until a sink has recorded the
message with a given X-Test-Id.

    python3 smtp_client.py --port 2525 --id t1 [--notify SUCCESS] rcpt...
sends one message and prints the replies as JSON.
"""

import argparse
import email.utils
import json
import socket
import sys
import time


class SmtpError(Exception):
    """The connection failed or closed in the middle of a dialogue."""


class Reply:
    """One SMTP reply: code (int), lines (without the code), enhanced
    status code (xcode, "" when absent) and text (after the xcode)."""

    def __init__(self, code, lines):
        self.code = code
        self.lines = lines
        first = lines[0] if lines else ""
        parts = first.split(" ", 1)
        if len(parts[0].split(".")) == 3 and parts[0][:1] in "245" and parts[0].replace(".", "").isdigit():
            self.xcode = parts[0]
            self.text = parts[1] if len(parts) > 1 else ""
        else:
            self.xcode = ""
            self.text = first

    @property
    def line(self):
        """The first line as sent: "550 5.1.1 <a@b>: ..."."""
        return "%d %s" % (self.code, self.lines[0] if self.lines else "")

    def ok(self):
        return 200 <= self.code < 400

    def __repr__(self):
        return "Reply(%r)" % self.line

    def as_dict(self):
        return {"code": self.code, "xcode": self.xcode, "text": self.text, "line": self.line}


class SmtpClient:
    def __init__(self, host="127.0.0.1", port=25, helo="client.test", timeout=60.0):
        self.host = host
        self.port = port
        self.helo = helo
        self.timeout = timeout
        self.sock = None
        self.rfile = None
        self.greeting = None
        self.extensions = {}

    # --- transport -----------------------------------------------------
    def connect(self):
        try:
            self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as exc:
            raise SmtpError("connect %s:%d: %s" % (self.host, self.port, exc)) from exc
        self.rfile = self.sock.makefile("rb")
        self.greeting = self.read_reply()
        return self.greeting

    def close(self):
        if self.rfile is not None:
            self.rfile.close()
            self.rfile = None
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def __enter__(self):
        self.connect()
        if self.greeting.code == 220:
            self.ehlo()
        return self

    def __exit__(self, *exc):
        try:
            if self.sock is not None:
                self.quit()
        except SmtpError:
            pass
        self.close()

    def send_line(self, line):
        try:
            self.sock.sendall(line.encode("utf-8", "surrogateescape") + b"\r\n")
        except OSError as exc:
            raise SmtpError("send %r: %s" % (line[:60], exc)) from exc

    def read_reply(self):
        lines = []
        code = None
        while True:
            try:
                raw = self.rfile.readline(65536)
            except OSError as exc:
                raise SmtpError("read: %s" % exc) from exc
            if not raw:
                raise SmtpError("connection closed by server (after %r)" % lines)
            s = raw.decode("utf-8", "replace").rstrip("\r\n")
            if len(s) < 3 or not s[:3].isdigit():
                raise SmtpError("bad reply line %r" % s)
            code = int(s[:3])
            lines.append(s[4:])
            if s[3:4] != "-":
                return Reply(code, lines)

    def command(self, line):
        self.send_line(line)
        return self.read_reply()

    # --- commands ------------------------------------------------------
    def ehlo(self):
        r = self.command("EHLO " + self.helo)
        if r.code == 250:
            self.extensions = {}
            for l in r.lines[1:]:
                k, _, v = l.partition(" ")
                self.extensions[k.upper()] = v
        return r

    def mail(self, sender, params=()):
        return self.command("MAIL FROM:<%s>%s" % (sender, "".join(" " + p for p in params)))

    def rcpt(self, path, params=()):
        """path is sent verbatim between angle brackets."""
        return self.command("RCPT TO:<%s>%s" % (path, "".join(" " + p for p in params)))

    def data(self, message):
        r = self.command("DATA")
        if r.code != 354:
            return r
        text = message.replace("\r\n", "\n").split("\n")
        if text and text[-1] == "":
            text.pop()
        out = []
        for l in text:
            out.append(("." + l) if l.startswith(".") else l)
        payload = "\r\n".join(out) + "\r\n.\r\n"
        try:
            self.sock.sendall(payload.encode("utf-8", "surrogateescape"))
        except OSError as exc:
            raise SmtpError("send DATA: %s" % exc) from exc
        return self.read_reply()

    def rset(self):
        return self.command("RSET")

    def quit(self):
        try:
            return self.command("QUIT")
        finally:
            self.close()


def make_message(sender, test_id, rcpts=(), subject=None, body=None):
    """A small RFC 5322 message with an X-Test-Id header."""
    to = ", ".join("<%s>" % r for r in rcpts[:3]) or "undisclosed-recipients:;"
    if len(rcpts) > 3:
        to += ", ..."
    lines = [
        "From: <%s>" % sender,
        "To: %s" % to,
        "Subject: %s" % (subject or "hosted-milter test " + test_id),
        "Date: %s" % email.utils.formatdate(localtime=True),
        "Message-Id: <%s.%d@client.test>" % (test_id.replace(" ", "_"), int(time.time() * 1e6)),
        "X-Test-Id: %s" % test_id,
        "",
        body or "Test message %s.\n.leading dot line\nend." % test_id,
    ]
    return "\n".join(lines) + "\n"


class Outcome:
    """What happened to one message: the MAIL reply, the (path, params,
    Reply) of each RCPT (Reply None when not sent), the DATA reply (None
    when no recipient was accepted), and its test id."""

    def __init__(self, test_id, mail, rcpts, data):
        self.test_id = test_id
        self.mail = mail
        self.rcpts = rcpts
        self.data = data

    def accepted(self):
        return [p for p, _, r in self.rcpts if r is not None and r.ok()]

    def delivered_ok(self):
        return self.data is not None and self.data.code == 250

    def as_dict(self):
        return {
            "test_id": self.test_id,
            "mail": self.mail.as_dict() if self.mail else None,
            "rcpts": [{"rcpt": p, "params": list(pa), "reply": r.as_dict() if r else None}
                      for p, pa, r in self.rcpts],
            "data": self.data.as_dict() if self.data else None,
        }


def send_on(client, sender, rcpts, test_id, mail_params=(), message=None):
    """One transaction on an open client.  rcpts: list of path strings or
    (path, [params]) tuples.  Leaves the connection ready for the next
    transaction (RSET after a failure)."""
    norm = [(r, ()) if isinstance(r, str) else (r[0], tuple(r[1])) for r in rcpts]
    mail = client.mail(sender, mail_params)
    results = []
    if not mail.ok():
        results = [(p, pa, None) for p, pa in norm]
        client.rset()
        return Outcome(test_id, mail, results, None)
    for p, pa in norm:
        results.append((p, pa, client.rcpt(p, pa)))
    if not any(r.ok() for _, _, r in results):
        client.rset()
        return Outcome(test_id, mail, results, None)
    if message is None:
        message = make_message(sender, test_id, [p for p, _ in norm])
    data = client.data(message)
    return Outcome(test_id, mail, results, data)


def send_message(host, port, sender, rcpts, test_id, mail_params=(), helo="client.test",
                 timeout=60.0):
    """Connect, send one message, quit.  Returns an Outcome.  A greeting
    other than 220 gives an Outcome whose mail reply is the greeting."""
    with SmtpClient(host, port, helo=helo, timeout=timeout) as c:
        if c.greeting.code != 220:
            norm = [(r, ()) if isinstance(r, str) else (r[0], tuple(r[1])) for r in rcpts]
            return Outcome(test_id, c.greeting, [(p, pa, None) for p, pa in norm], None)
        return send_on(c, sender, rcpts, test_id, mail_params)


def send_messages(host, port, messages, helo="client.test", timeout=60.0):
    """Several messages over one connection.  messages: list of dicts with
    keys sender, rcpts, test_id (and optional mail_params).  Returns the
    list of Outcomes."""
    out = []
    with SmtpClient(host, port, helo=helo, timeout=timeout) as c:
        for m in messages:
            out.append(send_on(c, m["sender"], m["rcpts"], m["test_id"],
                               m.get("mail_params", ())))
    return out


def delivered_rcpts(records):
    """Flatten sink records into their recipient dicts."""
    return [r for rec in records for r in rec["rcpts"]]


def wait_for_message(sink, test_id, nrcpts=1, timeout=20.0, settle=None):
    """Wait until the sink holds the message with X-Test-Id test_id carrying
    at least nrcpts recipients in total, then (if settle is a callable, e.g.
    an MTA's wait_queue_empty) let delivery finish and read again, so that
    extra copies are seen too.  sink is a sink.Sink or the path of a sink's
    JSON log.  Returns the list of records (maybe short on timeout)."""
    if isinstance(sink, str):
        import sink as sinkmod
        deadline = time.monotonic() + timeout
        while True:
            recs = [r for r in sinkmod.read_log(sink) if r["headers"].get("X-Test-Id") == test_id]
            if sum(len(r["rcpts"]) for r in recs) >= nrcpts or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        if settle is not None:
            settle()
            recs = [r for r in sinkmod.read_log(sink) if r["headers"].get("X-Test-Id") == test_id]
        return recs
    recs = sink.wait_for(test_id, nrcpts, timeout)
    if settle is not None:
        settle()
        recs = sink.records(test_id)
    return recs


def main(argv=None):
    ap = argparse.ArgumentParser(description="send one test message")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--from", dest="sender", default="sender@client.example")
    ap.add_argument("--id", default="manual-%d" % int(time.time()))
    ap.add_argument("--notify", help="NOTIFY= value for every RCPT")
    ap.add_argument("--orcpt", help="ORCPT= value for every RCPT")
    ap.add_argument("--sink-log", help="then wait for the message in this sink log")
    ap.add_argument("rcpt", nargs="+")
    args = ap.parse_args(argv)
    params = []
    if args.notify:
        params.append("NOTIFY=" + args.notify)
    if args.orcpt:
        params.append("ORCPT=" + args.orcpt)
    o = send_message(args.host, args.port, args.sender, [(r, params) for r in args.rcpt], args.id)
    print(json.dumps(o.as_dict(), indent=1))
    if args.sink_log and o.delivered_ok():
        recs = wait_for_message(args.sink_log, args.id, len(o.accepted()), timeout=20)
        print(json.dumps(recs, indent=1))
    return 0 if o.mail and o.mail.ok() else 1


if __name__ == "__main__":
    sys.exit(main())
