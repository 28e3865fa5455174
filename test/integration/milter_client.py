#!/usr/bin/python3
"""A milter protocol (version 6) client: the MTA side, over a unix socket.

Owns the wire format of libmilter's protocol (libmilter/mfdef.h): a packet
is a 32-bit big-endian length, a command byte and data; strings are
NUL-terminated.  The client sends what an MTA sends (OPTNEG, MACRO, MAIL,
RCPT, EOM, ABORT, QUIT, and anything raw for hostile tests), and checks
every reply it reads: a known response code for that point of the
conversation, data of the right shape, a plausible length.  A reply that
is not a valid milter response raises ProtocolError; a closed connection
raises Closed.  Standard library only; knows nothing of hosted-milter.
"""

import re
import socket
import struct
import time

PROT_VERSION = 6

# Commands (MTA -> milter).
SMFIC_ABORT = b"A"
SMFIC_BODY = b"B"
SMFIC_CONNECT = b"C"
SMFIC_MACRO = b"D"
SMFIC_BODYEOB = b"E"
SMFIC_HELO = b"H"
SMFIC_QUIT_NC = b"K"
SMFIC_HEADER = b"L"
SMFIC_MAIL = b"M"
SMFIC_EOH = b"N"
SMFIC_OPTNEG = b"O"
SMFIC_QUIT = b"Q"
SMFIC_RCPT = b"R"
SMFIC_DATA = b"T"
SMFIC_UNKNOWN = b"U"

# Replies (milter -> MTA).
SMFIR_ADDRCPT = b"+"
SMFIR_DELRCPT = b"-"
SMFIR_ADDRCPT_PAR = b"2"
SMFIR_SHUTDOWN = b"4"
SMFIR_ACCEPT = b"a"
SMFIR_REPLBODY = b"b"
SMFIR_CONTINUE = b"c"
SMFIR_DISCARD = b"d"
SMFIR_CHGFROM = b"e"
SMFIR_CONN_FAIL = b"f"
SMFIR_ADDHEADER = b"h"
SMFIR_INSHEADER = b"i"
SMFIR_SETSYMLIST = b"l"
SMFIR_CHGHEADER = b"m"
SMFIR_PROGRESS = b"p"
SMFIR_QUARANTINE = b"q"
SMFIR_REJECT = b"r"
SMFIR_SKIP = b"s"
SMFIR_TEMPFAIL = b"t"
SMFIR_REPLYCODE = b"y"

# Actions the MTA may offer (SMFIF_*).
SMFIF_ADDHDRS = 0x001
SMFIF_CHGBODY = 0x002
SMFIF_ADDRCPT = 0x004
SMFIF_DELRCPT = 0x008
SMFIF_CHGHDRS = 0x010
SMFIF_QUARANTINE = 0x020
SMFIF_CHGFROM = 0x040
SMFIF_ADDRCPT_PAR = 0x080
SMFIF_SETSYMLIST = 0x100
SMFI_V1_ACTS = 0x00F
SMFI_CURR_ACTS = 0x1FF

# Protocol steps (SMFIP_*).
SMFIP_NOCONNECT = 0x001
SMFIP_NOHELO = 0x002
SMFIP_NOMAIL = 0x004
SMFIP_NORCPT = 0x008
SMFIP_NOBODY = 0x010
SMFIP_NOHDRS = 0x020
SMFIP_NOEOH = 0x040
SMFIP_NOUNKNOWN = 0x100
SMFIP_NODATA = 0x200
SMFIP_RCPT_REJ = 0x800
SMFIP_NR_HDR = 0x080
SMFIP_NR_CONN = 0x1000
SMFIP_NR_HELO = 0x2000
SMFIP_NR_MAIL = 0x4000
SMFIP_NR_RCPT = 0x8000
SMFIP_NR_DATA = 0x10000
SMFIP_NR_UNKN = 0x20000
SMFIP_NR_EOH = 0x40000
SMFIP_NR_BODY = 0x80000
SMFI_CURR_PROT = 0x1FFFFF

# The replies a final answer to a command may be (besides progress).
FINAL = {SMFIR_CONTINUE, SMFIR_ACCEPT, SMFIR_REJECT, SMFIR_TEMPFAIL, SMFIR_DISCARD,
         SMFIR_REPLYCODE, SMFIR_SKIP, SMFIR_CONN_FAIL, SMFIR_SHUTDOWN}
# What may precede the final answer to end-of-message.
EOM_EDITS = {SMFIR_ADDRCPT, SMFIR_DELRCPT, SMFIR_ADDRCPT_PAR, SMFIR_ADDHEADER, SMFIR_INSHEADER,
             SMFIR_CHGHEADER, SMFIR_CHGFROM, SMFIR_REPLBODY, SMFIR_QUARANTINE, SMFIR_PROGRESS}
# Longest reply accepted (libmilter's largest data size, 1 MiB).
MAX_REPLY = 1024 * 1024

_REPLYCODE = re.compile(rb"^[45][0-9][0-9][ -][\x20-\x7e\r\n\t]*\x00$", re.S)


class Closed(Exception):
    """The milter closed the connection."""


class ProtocolError(Exception):
    """The milter sent something that is not a valid milter response."""


def strings(data):
    """NUL-terminated strings of data -> list of bytes (the last NUL
    required)."""
    if not data.endswith(b"\x00"):
        raise ProtocolError("string data without a final NUL: %r" % data[:80])
    return data[:-1].split(b"\x00")


def cstr(*parts):
    """Each part (bytes or str) followed by a NUL."""
    out = b""
    for p in parts:
        out += (p.encode("latin-1") if isinstance(p, str) else p) + b"\x00"
    return out


class Reply:
    """One reply packet: code (one byte) and data."""

    def __init__(self, code, data):
        self.code = code
        self.data = data

    def __repr__(self):
        return "Reply(%r, %r)" % (self.code, self.data[:120])

    @property
    def smtp(self):
        """For SMFIR_REPLYCODE: the reply text without the NUL."""
        return self.data[:-1].decode("latin-1") if self.code == SMFIR_REPLYCODE else None


class Negotiated:
    """The milter's answer to OPTNEG."""

    def __init__(self, version, actions, protocol, macros):
        self.version = version
        self.actions = actions
        self.protocol = protocol
        self.macros = macros  # {stage: "macro names"} from SMFIF_SETSYMLIST


class MilterClient:
    """One connection to a milter.  Every method that reads checks what it
    reads; timeout bounds each read (a milter that does not answer is a
    failure, raised as socket.timeout)."""

    def __init__(self, path, timeout=15.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.negotiated = None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- raw packets ---

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, cmd, data=b""):
        self.sock.sendall(struct.pack(">I", len(data) + 1) + cmd + data)

    def _recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise Closed("connection closed after %d of %d bytes" % (len(buf), n))
            buf += chunk
        return buf

    def read(self):
        """One reply packet, checked for shape."""
        (length,) = struct.unpack(">I", self._recv_exact(4))
        if length < 1 or length > MAX_REPLY:
            raise ProtocolError("reply length %d" % length)
        body = self._recv_exact(length)
        reply = Reply(body[:1], body[1:])
        check_reply_shape(reply)
        return reply

    def at_eof(self, timeout=5.0):
        """True when the milter closed the connection (reads nothing else;
        any data instead raises ProtocolError)."""
        old = self.sock.gettimeout()
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(1)
        except (ConnectionResetError, BrokenPipeError):
            return True
        finally:
            self.sock.settimeout(old)
        if data:
            raise ProtocolError("unexpected data %r" % data)
        return True

    def reply_or_silence(self, timeout=2.0):
        """A final reply (see final), or None when nothing at all arrives
        within timeout: libmilter silently ignores a command that cannot
        follow the current state (RCPT or EOM outside a transaction)."""
        old = self.sock.gettimeout()
        self.sock.settimeout(timeout)
        try:
            first = self.sock.recv(1, socket.MSG_PEEK)
        except socket.timeout:
            return None
        finally:
            self.sock.settimeout(old)
        if not first:
            raise Closed("connection closed")
        return self.final()

    def final(self, allowed=FINAL):
        """Read until a final reply (skipping progress); checks it is in
        allowed."""
        while True:
            r = self.read()
            if r.code == SMFIR_PROGRESS:
                continue
            if r.code not in allowed:
                raise ProtocolError("reply %r where one of %s was expected"
                                    % (r, sorted(allowed)))
            return r

    # --- the conversation ---

    def optneg(self, version=PROT_VERSION, actions=SMFI_CURR_ACTS, protocol=SMFI_CURR_PROT):
        """OPTNEG; returns Negotiated, or raises Closed when the milter
        refuses the connection."""
        self.send(SMFIC_OPTNEG, struct.pack(">III", version, actions, protocol))
        r = self.read()
        if r.code != SMFIC_OPTNEG:
            raise ProtocolError("OPTNEG answered by %r" % r)
        if len(r.data) < 12:
            raise ProtocolError("OPTNEG reply of %d bytes" % len(r.data))
        v, a, p = struct.unpack(">III", r.data[:12])
        # 0 offered means "the version 1 actions" to libmilter
        if a & ~(actions or SMFI_V1_ACTS):
            raise ProtocolError("milter asks for actions 0x%x not offered (0x%x)" % (a, actions))
        # No check of p against protocol: libmilter itself adds SMFIP_NO*
        # for the callbacks a filter lacks, offered or not.
        macros = {}
        rest = r.data[12:]
        while rest:
            if len(rest) < 5:
                raise ProtocolError("truncated macro list %r" % rest)
            (stage,) = struct.unpack(">I", rest[:4])
            end = rest.find(b"\x00", 4)
            if end < 0:
                raise ProtocolError("macro list without NUL %r" % rest)
            macros[stage] = rest[4:end].decode("latin-1")
            rest = rest[end + 1:]
        self.negotiated = Negotiated(v, a, p, macros)
        return self.negotiated

    def macro(self, cmd, pairs):
        """MACRO for the command cmd (e.g. SMFIC_MAIL): pairs of
        (name, value); no reply."""
        data = cmd
        for name, value in pairs:
            data += cstr(name, value)
        self.send(SMFIC_MACRO, data)

    def command(self, cmd, args):
        """A command with string arguments (bytes or str); the final reply."""
        self.send(cmd, cstr(*args))
        return self.final()

    def mail(self, sender="<sender@example.com>", *args, macros=()):
        if macros:
            self.macro(SMFIC_MAIL, macros)
        return self.command(SMFIC_MAIL, (sender,) + args)

    def rcpt(self, rcpt, *args, macros=()):
        if macros:
            self.macro(SMFIC_RCPT, macros)
        return self.command(SMFIC_RCPT, (rcpt,) + args)

    def eom(self, macros=()):
        """End of message: (edits, final reply); edits are Reply objects
        (recipient edits, headers, ...) in the order received."""
        if macros:
            self.macro(SMFIC_BODYEOB, macros)
        self.send(SMFIC_BODYEOB)
        edits = []
        while True:
            r = self.read()
            if r.code == SMFIR_PROGRESS:
                continue
            if r.code in EOM_EDITS:
                edits.append(r)
                continue
            if r.code not in FINAL:
                raise ProtocolError("reply %r at end of message" % r)
            return edits, r

    def abort(self):
        self.send(SMFIC_ABORT)

    def quit(self):
        self.send(SMFIC_QUIT)


def check_reply_shape(r):
    """Raise ProtocolError unless r is a known reply with well-formed data."""
    code, data = r.code, r.data
    if code == SMFIC_OPTNEG:
        return
    if code in (SMFIR_CONTINUE, SMFIR_ACCEPT, SMFIR_REJECT, SMFIR_TEMPFAIL, SMFIR_DISCARD,
                SMFIR_SKIP, SMFIR_PROGRESS, SMFIR_CONN_FAIL, SMFIR_SHUTDOWN):
        if data:
            raise ProtocolError("reply %r carries data" % r)
        return
    if code == SMFIR_REPLYCODE:
        if not _REPLYCODE.match(data):
            raise ProtocolError("malformed reply code text %r" % data[:200])
        return
    if code in (SMFIR_ADDRCPT, SMFIR_DELRCPT):
        s = strings(data)
        if len(s) != 1 or not s[0]:
            raise ProtocolError("recipient edit %r: want one non-empty string" % r)
        return
    if code == SMFIR_ADDRCPT_PAR:
        s = strings(data)
        if len(s) not in (1, 2) or not s[0]:
            raise ProtocolError("addrcpt_par %r: want recipient and arguments" % r)
        return
    if code in (SMFIR_ADDHEADER, SMFIR_INSHEADER, SMFIR_CHGHEADER, SMFIR_CHGFROM,
                SMFIR_QUARANTINE, SMFIR_REPLBODY, SMFIR_SETSYMLIST):
        return
    raise ProtocolError("unknown reply code %r" % r)


# --- one RCPT, as a test of a running milter asks it --------------------------

# The macros Postfix sends (facts: milter_mail_macros, milter_rcpt_macros).
POSTFIX_MAIL_MACROS = [("i", "4XyZ1"), ("v", "Postfix 3.7.11"), ("{daemon_name}", "smtpd")]
POSTFIX_RCPT_MACROS = [("i", "4XyZ1"), ("{rcpt_mailer}", "smtp"), ("{rcpt_addr}", "x")]


def rcpt_answer(socket_path, address, sender="sender@client.example"):
    """One message over the milter protocol (Postfix macros): MAIL, RCPT
    address.  Returns "continue", or the SMTP reply text of a reject /
    tempfail ("550 5.1.1 ..."), or "reject"/"tempfail" without text."""
    with MilterClient(socket_path, timeout=10) as c:
        c.optneg()
        r = c.mail("<%s>" % sender, macros=POSTFIX_MAIL_MACROS)
        if r.code != SMFIR_CONTINUE:
            return "MAIL: %r" % r
        r = c.rcpt("<%s>" % address, macros=POSTFIX_RCPT_MACROS)
        c.abort()
        c.quit()
    if r.code == SMFIR_CONTINUE:
        return "continue"
    if r.code == SMFIR_REPLYCODE:
        return r.smtp
    return {SMFIR_REJECT: "reject", SMFIR_TEMPFAIL: "tempfail"}.get(r.code, repr(r))


def accepted(answer):
    return answer == "continue"


def refused_unknown(answer):
    return answer.startswith("550 5.1.1")


def wait_answer(socket_path, address, want, timeout, interval=0.02):
    """Poll rcpt_answer until want(answer) holds; returns (seconds, last
    answer, ok)."""
    t0 = time.monotonic()
    while True:
        last = rcpt_answer(socket_path, address)
        if want(last):
            return time.monotonic() - t0, last, True
        if time.monotonic() - t0 > timeout:
            return time.monotonic() - t0, last, False
        time.sleep(interval)
