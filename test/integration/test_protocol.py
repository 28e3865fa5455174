#!/usr/bin/python3
"""Hostile input at the milter protocol level (ctest label `protocol`).

Speaks the milter v6 wire protocol (milter_client.py) straight to the
daemon's unix socket -- no MTA -- with malformed and extreme RCPT
arguments and ESMTP parameters (overlong, unbalanced <>, 8-bit, embedded
CR/LF/NUL, hundreds of recipients, huge ORCPT, bogus NOTIFY), commands
out of order, garbage packets, connections dropped at every point of a
message, and fewer actions offered.  Asserts that the daemon stays up and
answers every command with a valid milter response, that each RCPT is
answered as `hosted-milter -q` decides it, and that at end of message it
adds only recipients the configuration names (the -q targets of this
message's accepted RCPTs, whose address without extension appears in
e2e.conf), each once, all adds before any delete, and deletes only
recipients the message had.  After every test a clean message must still
go through; at the end the daemon must exit 0 on SIGTERM (under
LeakSanitizer a leak makes that nonzero) with no sanitizer report in its
log.  Needs neither root nor an MTA.

    test_protocol.py --milter build/hosted-milter [-k NAME] [--keep]
"""

import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cases  # noqa: E402
import milter_client as mc  # noqa: E402
import milter_process  # noqa: E402
import suite_common  # noqa: E402
from util import SANITIZER_TEXT  # noqa: E402

# Macros as Postfix's smtpd sends them (an SMTP session: refusals apply).
POSTFIX_MAIL = [("i", "4XyZ1"), ("v", "Postfix 3.7.11"), ("{daemon_name}", "smtpd")]
POSTFIX_RCPT = [("i", "4XyZ1"), ("{rcpt_mailer}", "smtp"), ("{rcpt_addr}", "x")]
# Postfix's cleanup emulating RCPT for non_smtpd_milters: no {rcpt_mailer}.
POSTFIX_NONSMTP_RCPT = [("i", "4XyZ1")]
SENDMAIL_MAIL = [("i", "49ABCDEF012345"), ("v", "8.17.1.9")]
SENDMAIL_RCPT = [("i", "49ABCDEF012345"), ("{rcpt_mailer}", "esmtp")]
CONFIG_ADDRESSES = cases.config_addresses()


def b(s):
    """str -> bytes the way the suite spells raw bytes (surrogateescape)."""
    return s if isinstance(s, bytes) else s.encode("utf-8", "surrogateescape")


def argv0(rcpt):
    """What libmilter hands the filter as argv[0]: up to the first NUL."""
    return b(rcpt).split(b"\x00")[0]


def route_cut(rcpt):
    """rcpt without its source route, as rcpt_plan cuts it for Postfix."""
    i = 1 if rcpt.startswith(b"<") else 0
    if rcpt[i:i + 1] != b"@":
        return rcpt
    depth = 0
    for k in range(i, len(rcpt)):
        c = rcpt[k:k + 1]
        if c == b">":
            break
        if c == b"[":
            depth += 1
        elif c == b"]" and depth:
            depth -= 1
        elif c == b":" and depth == 0:
            return rcpt[:i] + rcpt[k + 1:]
    return rcpt


def base_address(target):
    """user+ext@domain -> user@domain (lower case): the form e2e.conf names."""
    local, _, domain = target.rpartition("@")
    if not local.startswith('"'):
        local = local.split("+", 1)[0]
    return ("%s@%s" % (local, domain)).lower()


class Verdicts:
    """`hosted-milter -q` over argv[0] strings, cached: bytes -> (action,
    detail)."""

    def __init__(self, binary, conf):
        self.binary = binary
        self.conf = conf
        self.cache = {}

    def get(self, rcpts):
        todo = [r for r in dict.fromkeys(rcpts) if r not in self.cache]
        # argv cannot hold an empty string usefully or a NUL; the milter
        # never sees either as argv[0] of a RCPT it resolves (libmilter
        # hands "" through; -q of "" is pass like the milter's).
        for chunk in [todo[i:i + 200] for i in range(0, len(todo), 200)]:
            p = subprocess.run(
                [self.binary, "-c", self.conf, "-q"] + [os.fsdecode(r) for r in chunk],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60,
                stdin=subprocess.DEVNULL)
            if p.returncode != 0:
                raise RuntimeError("-q failed (rc=%d): %r" % (p.returncode, p.stderr[:500]))
            lines = p.stdout.decode("latin-1").split("\n")[:-1]
            if len(lines) != len(chunk):
                raise RuntimeError("-q printed %d lines for %d addresses"
                                   % (len(lines), len(chunk)))
            for r, line in zip(chunk, lines):
                parts = line.split("\t")
                if len(parts) != 3:
                    raise RuntimeError("-q line %r" % line)
                self.cache[r] = (parts[1], parts[2])
        return {r: self.cache[r] for r in rcpts}


class ProtocolBase(unittest.TestCase):
    """One daemon for the whole module (started once, see setUpModule)."""

    milter = None
    verdicts = None

    def connect(self, **optneg):
        c = mc.MilterClient(self.milter.socket)
        self.addCleanup(c.close)
        c.optneg(**optneg)
        return c

    def tearDown(self):
        # Whatever the test did, the daemon is up and a clean message works.
        self.assertTrue(self.milter.alive(), "the daemon died:\n" + self.milter.log_text()[-3000:])
        self.message([b"<sales@example.org>", b"<bob@corp.example>"], mta="postfix")

    # --- one message, checked -------------------------------------------------

    def message(self, rcpts, mta="postfix", optneg=None, eom=True, conn=None):
        """Send MAIL, the RCPTs (each a list: argv[0] then ESMTP args, or a
        bytes/str argv[0]) and EOM; check every reply against -q and the
        edits against the configuration.  Returns (rcpt replies, edits)."""
        c = conn or self.connect(**(optneg or {}))
        neg = c.negotiated
        mail_macros, rcpt_macros = {
            "postfix": (POSTFIX_MAIL, POSTFIX_RCPT),
            "sendmail": (SENDMAIL_MAIL, SENDMAIL_RCPT),
            "unknown": ((), ()),
            "postfix-nonsmtp": (POSTFIX_MAIL, POSTFIX_NONSMTP_RCPT),
        }[mta]
        r = c.mail("<sender@example.com>", "BODY=8BITMIME", macros=mail_macros)
        self.assertEqual(r.code, mc.SMFIR_CONTINUE, r)
        argvs = [[b(x) for x in (rc if isinstance(rc, (list, tuple)) else [rc])] for rc in rcpts]
        firsts = [argv0(a[0]) for a in argvs]
        verdict = self.verdicts.get(firsts)
        replies = []
        accepted_rewrites = []
        for argv, first in zip(argvs, firsts):
            r = c.rcpt(*argv, macros=rcpt_macros)
            replies.append(r)
            action, detail = verdict[first]
            self.check_rcpt_reply(first, action, detail, r, mta)
            if action == "rewrite" and r.code == mc.SMFIR_CONTINUE:
                accepted_rewrites.append((first, argv, detail.split(",")))
        if not eom:
            return c, replies, None
        edits, final = c.eom(macros=[("i", "4XyZ1")])
        self.assertEqual(final.code, mc.SMFIR_CONTINUE, "EOM: %r %r" % (final, edits))
        self.check_edits(edits, accepted_rewrites, firsts, neg, mta)
        return c, replies, edits

    def check_rcpt_reply(self, first, action, detail, r, mta):
        what = "RCPT %r (-q: %s %s)" % (first[:100], action, detail[:80])
        if action in ("reject", "tempfail") and mta != "postfix-nonsmtp":
            self.assertEqual(r.code, mc.SMFIR_REPLYCODE, what + ": got %r" % r)
            code = detail[:9]  # "550 5.1.1"
            self.assertTrue(r.smtp.startswith(code), what + ": got %r" % r.smtp)
            self.assertTrue(r.smtp[0] == ("5" if action == "reject" else "4"), what)
        else:
            self.assertEqual(r.code, mc.SMFIR_CONTINUE, what + ": got %r" % r)

    def check_edits(self, edits, accepted_rewrites, firsts, neg, mta):
        allowed = {}
        for first, argv, targets in accepted_rewrites:
            for t in targets:
                allowed.setdefault(t.lower(), t)
        deletable = set()
        for first, argv, targets in accepted_rewrites:
            deletable.add(first)
            deletable.add(route_cut(first))
        par = bool(neg.actions & mc.SMFIF_ADDRCPT_PAR)
        added = set()
        seen_delete = False
        for e in edits:
            s = mc.strings(e.data)
            if e.code in (mc.SMFIR_ADDRCPT, mc.SMFIR_ADDRCPT_PAR):
                self.assertFalse(seen_delete, "an add after a delete: %r" % edits)
                self.assertEqual(e.code, mc.SMFIR_ADDRCPT_PAR if par else mc.SMFIR_ADDRCPT,
                                 "add without/with args against the negotiation: %r" % e)
                rcpt = s[0].decode("latin-1")
                self.assertTrue(rcpt.startswith("<") and rcpt.endswith(">"), e)
                target = rcpt[1:-1]
                self.assertIn(target.lower(), allowed,
                              "added %r, which no accepted RCPT of this message resolves to "
                              "(-q targets: %s)" % (target, sorted(allowed)))
                self.assertIn(base_address(target), CONFIG_ADDRESSES,
                              "added %r, which e2e.conf does not name" % target)
                self.assertNotIn(target.lower(), added, "added twice: %r" % target)
                added.add(target.lower())
                if e.code == mc.SMFIR_ADDRCPT_PAR:
                    args = s[1].decode("latin-1")
                    self.assertTrue(args.upper().startswith("ORCPT="), args)
                    notify = re.search(r"(?i)(?:^| )NOTIFY=(\S*)", args)
                    if notify:
                        self.assertNotIn("SUCCESS", notify.group(1).upper().split(","), args)
            elif e.code == mc.SMFIR_DELRCPT:
                seen_delete = True
                self.assertIn(s[0], deletable,
                              "deleted %r, not a rewritten RCPT of this message" % s[0])
            else:
                self.fail("unexpected edit %r" % e)
        return added


class WellFormed(ProtocolBase):
    def test_rewrites_as_configured(self):
        """a plain message: every RCPT answered as -q says, edits as configured"""
        _, _, edits = self.message([
            "<sales@example.org>", ["<team@shop.example>", "NOTIFY=SUCCESS,FAILURE"],
            "<bob@corp.example>", "<nobody@corp.example>", "<x@tempfail.example>",
            "<self@legacy.example>", "<alice+tag@example.org>", "<bob+x@example.net>"])
        adds = {mc.strings(e.data)[0] for e in edits if e.code != mc.SMFIR_DELRCPT}
        self.assertIn(b"<carol@corp.example>", adds)
        self.assertIn(b"<copy@corp.example>", adds)

    def test_each_mta(self):
        """Sendmail, unknown MTAs and Postfix's emulated RCPTs (never
        refused): the same checks"""
        for mta in ("sendmail", "unknown", "postfix-nonsmtp"):
            with self.subTest(mta=mta):
                self.message(["<@hop.example:sales@example.org>", "<team@shop.example>",
                              "<nobody@corp.example>"], mta=mta)


class HostileRcpt(ProtocolBase):
    EXTREME = [
        "", "<", ">", "<>", "<<bob@corp.example>>", "<bob@corp.example>>", "<<bob@corp.example>",
        "<" * 5000, ">" * 5000, "<" + "a" * 65 + "@corp.example>",
        "<" + "a" * 64 + "@corp.example>", "<bob@" + "x." * 130 + "example>",
        "<" + "a" * 60000 + "@corp.example>", "<bob@corp.example" + " " * 1000 + ">",
        "<bob\r\n@corp.example>", "<bob@corp.example>\r\nRCPT TO:<evil@elsewhere.example>",
        "<bob@corp.example\r>", "<bob@corp.example\n>", b"<bob@corp.example>\x00<evil@x.example>",
        b"<sales@example.org\x00>", b"\x00", b"<\xff\xfe@corp.example>", b"<bob@corp.\x80example>",
        "<sales@EXAMPLE.ORG.>", "<SALES@example.org>", "<\"sales\"@example.org>",
        "<@a,@b,@c:sales@example.org>", "<@[IPv6:::1]:sales@example.org>", "<@:sales@example.org>",
        "<@" + "h" * 300 + ":sales@example.org>", "<sales+" + "x" * 200 + "@example.org>",
        "<\"" + "q\\\"" * 100 + "\"@corp.example>", "<\"unterminated@corp.example>",
        "<%s>" % ("@a" * 2000 + ":bob@corp.example"), "sales@example.org", "postmaster",
        "<postmaster>", "<abuse>", "<info@example.org", "bob@corp.example>",
    ]

    def test_shared_hostile_rcpts(self):
        """cases.HOSTILE_RCPTS, bare and in brackets, in one message"""
        rcpts = list(cases.HOSTILE_RCPTS) + ["<%s>" % r for r in cases.HOSTILE_RCPTS]
        self.message(rcpts + ["<sales@example.org>"])

    def test_extreme_rcpts(self):
        """overlong, unbalanced, 8-bit, CR/LF/NUL-laden RCPT arguments"""
        for mta in ("postfix", "sendmail"):
            with self.subTest(mta=mta):
                self.message(self.EXTREME + ["<team@shop.example>"], mta=mta)

    def test_extreme_rcpts_one_per_message(self):
        """each extreme RCPT alone with a rewritten one, message by message,
        on one connection"""
        c = self.connect()
        for r in self.EXTREME:
            with self.subTest(rcpt=r[:60]):
                self.message([r, "<sales@example.org>"], conn=c)

    def test_hundreds_of_recipients(self):
        """500 RCPTs (rewrites, keeps, rejects, duplicates): each answered,
        every add once"""
        pool = ["<sales@example.org>", "<team@shop.example>", "<bob@corp.example>",
                "<alice@example.org>", "<nobody@corp.example>", "<x@tempfail.example>",
                "<self@legacy.example>", "<whoever@legacy.example>", "<abuse@example.org>",
                "<bob+%d@example.net>", "<u%d@elsewhere.example>", "<catch%d@example.org>"]
        rcpts = [(p % i if "%d" in p else p) for i, p in
                 ((i, pool[i % len(pool)]) for i in range(500))]
        self.message(rcpts)


class HostileEsmtp(ProtocolBase):
    def test_esmtp_parameters(self):
        """huge ORCPT, bogus and case-mangled NOTIFY, many and odd args"""
        huge = "ORCPT=rfc822;" + "x" * 60000 + "@example.org"
        rcpts = [
            ["<sales@example.org>", huge],
            ["<team@shop.example>", "NOTIFY=SUCCESS"],
            ["<abuse@example.org>", "notify=success,delay"],
            ["<alice@example.org>", "NOTIFY="],
            ["<a.smith@example.org>", "NOTIFY=,,,SUCCESS,,,BOGUS,"],
            ["<bob+n@example.net>", "NOTIFY=" + "SUCCESS," * 2000],
            ["<carol+x@example.net>", "ORCPT=", "ORCPT=rfc822;second", "NOTIFY=NEVER",
             "NOTIFY=SUCCESS"],
            ["<dave+y@example.net>", "ORCPT=rfc822;a\r\nb@x", "NOTIFY=FAILURE\r\nDATA"],
            ["<info+z@example.net>", b"ORCPT=rfc822;\xff\xfe@x", b"NOTIFY=\x80"],
            ["<frank+q@example.net>"] + ["X-ARG%d=%d" % (i, i) for i in range(500)],
            ["<hostmaster+e@example.net>", "", "", "="],
        ]
        for mta in ("postfix", "sendmail", "unknown"):
            with self.subTest(mta=mta):
                self.message(rcpts, mta=mta)

    def test_fewer_actions(self):
        """no ADDRCPT_PAR offered: plain adds; no ADDRCPT or no DELRCPT: the
        connection is refused cleanly and the daemon stays up"""
        self.message(["<sales@example.org>", ["<team@shop.example>", "NOTIFY=DELAY"]],
                     optneg={"actions": mc.SMFIF_ADDRCPT | mc.SMFIF_DELRCPT})
        self.message(["<sales@example.org>"],
                     optneg={"actions": mc.SMFIF_ADDRCPT | mc.SMFIF_DELRCPT, "protocol": 0})
        # 0 means "the version 1 actions" (add and delete included)
        self.message(["<sales@example.org>"], optneg={"actions": 0})
        for actions in (mc.SMFIF_ADDRCPT, mc.SMFIF_DELRCPT | mc.SMFIF_ADDRCPT_PAR,
                        mc.SMFIF_ADDHDRS | mc.SMFIF_CHGBODY):
            with self.subTest(actions=actions):
                c = mc.MilterClient(self.milter.socket)
                self.addCleanup(c.close)
                with self.assertRaises((mc.Closed, ConnectionResetError, BrokenPipeError)):
                    c.optneg(actions=actions)
                    c.mail()

    def test_other_versions(self):
        """OPTNEG with protocol versions 2, 4, 0 and 99: a valid answer or a
        closed connection, nothing else"""
        for version in (2, 4, 0, 99, 0xFFFFFFFF):
            with self.subTest(version=version):
                c = mc.MilterClient(self.milter.socket)
                self.addCleanup(c.close)
                try:
                    c.optneg(version=version)
                except (mc.Closed, ConnectionResetError, BrokenPipeError):
                    continue
                try:
                    r = c.mail()
                except (mc.Closed, ConnectionResetError, BrokenPipeError):
                    continue
                self.assertEqual(r.code, mc.SMFIR_CONTINUE)


class HostileProtocol(ProtocolBase):
    def edit_sets(self, edits):
        """(added, deleted) recipients of EOM edits, as sets of bytes."""
        adds = {mc.strings(e.data)[0] for e in edits if e.code != mc.SMFIR_DELRCPT}
        dels = {mc.strings(e.data)[0] for e in edits if e.code == mc.SMFIR_DELRCPT}
        return adds, dels

    def rewrite_of(self, *rcpts):
        """(targets, originals) the edits of these rewritten RCPTs must be,
        from -q."""
        firsts = [b(r) for r in rcpts]
        v = self.verdicts.get(firsts)
        targets = {b("<%s>" % t) for r in firsts for t in v[r][1].split(",")}
        return targets, set(firsts)

    def test_out_of_order(self):
        """MAIL is negotiated away, so a message is its RCPTs and EOM: EOM
        without a RCPT edits nothing, RCPT and EOM without MAIL are a
        message, MAIL (sent anyway) is answered, and after ABORT a RCPT
        starts a new message with nothing of the aborted one; the
        connection then still carries a normal message"""
        c = self.connect()
        self.assertTrue(c.negotiated.protocol & mc.SMFIP_NOMAIL, c.negotiated.protocol)

        def no_edits(what):
            c.send(mc.SMFIC_BODYEOB)
            while True:
                r = c.reply_or_silence()
                if r is None or r.code in mc.FINAL:
                    break
                self.assertNotIn(r.code, (mc.SMFIR_ADDRCPT, mc.SMFIR_ADDRCPT_PAR,
                                          mc.SMFIR_DELRCPT), "edit %r %s" % (r, what))

        no_edits("before any RCPT")
        self.assertEqual(c.rcpt("<sales@example.org>", macros=POSTFIX_RCPT).code,
                         mc.SMFIR_CONTINUE)
        edits, final = c.eom(macros=[("i", "4XyZ1")])
        self.assertEqual(final.code, mc.SMFIR_CONTINUE)
        self.assertEqual(self.edit_sets(edits), self.rewrite_of("<sales@example.org>"))
        no_edits("after the message")
        self.assertEqual(c.mail(macros=POSTFIX_MAIL).code, mc.SMFIR_CONTINUE)
        self.assertEqual(c.mail(macros=POSTFIX_MAIL).code, mc.SMFIR_CONTINUE)
        self.assertEqual(c.rcpt("<sales@example.org>", macros=POSTFIX_RCPT).code,
                         mc.SMFIR_CONTINUE)
        c.abort()
        self.assertEqual(c.rcpt("<team@shop.example>", macros=POSTFIX_RCPT).code,
                         mc.SMFIR_CONTINUE)
        edits, final = c.eom(macros=[("i", "4XyZ1")])
        self.assertEqual(final.code, mc.SMFIR_CONTINUE)
        self.assertEqual(self.edit_sets(edits), self.rewrite_of("<team@shop.example>"))
        self.message(["<sales@example.org>"], conn=c)

    def test_new_queue_id_new_message(self):
        """without MAIL and without ABORT (Sendmail ends a transaction before
        DATA so to a milter that skipped MAIL), a RCPT with another queue id
        starts a new message: nothing of the old one is edited; a RCPT whose
        queue id appears only from the second one on (Postfix) is one
        message"""
        c = self.connect()
        for qid, rcpt in (("Q1", "<sales@example.org>"), ("Q2", "<team@shop.example>")):
            r = c.rcpt(rcpt, macros=[("i", qid), ("v", "8.17.1.9"), ("{rcpt_mailer}", "esmtp")])
            self.assertEqual(r.code, mc.SMFIR_CONTINUE)
        edits, final = c.eom(macros=[("i", "Q2")])
        self.assertEqual(final.code, mc.SMFIR_CONTINUE)
        self.assertEqual(self.edit_sets(edits), self.rewrite_of("<team@shop.example>"))
        postfix = [("v", "Postfix 3.7.11"), ("{rcpt_mailer}", "smtp")]
        self.assertEqual(c.rcpt("<sales@example.org>", macros=postfix).code, mc.SMFIR_CONTINUE)
        self.assertEqual(c.rcpt("<team@shop.example>", macros=[("i", "P1")] + postfix).code,
                         mc.SMFIR_CONTINUE)
        edits, final = c.eom(macros=[("i", "P1")])
        self.assertEqual(final.code, mc.SMFIR_CONTINUE)
        self.assertEqual(self.edit_sets(edits),
                         self.rewrite_of("<sales@example.org>", "<team@shop.example>"))

    def test_no_reply_stages(self):
        """an MTA that cannot leave CONNECT, HELO, MAIL, DATA, headers or
        UNKNOWN out but offers "no reply" for them: asked for, and those
        stages get no answer; without the "no reply" offer libmilter
        answers them; messages work either way, MAIL starting a new one"""
        stages = {mc.SMFIP_NOCONNECT: mc.SMFIP_NR_CONN, mc.SMFIP_NOHELO: mc.SMFIP_NR_HELO,
                  mc.SMFIP_NOMAIL: mc.SMFIP_NR_MAIL, mc.SMFIP_NODATA: mc.SMFIP_NR_DATA,
                  mc.SMFIP_NOHDRS: mc.SMFIP_NR_HDR, mc.SMFIP_NOEOH: mc.SMFIP_NR_EOH,
                  mc.SMFIP_NOUNKNOWN: mc.SMFIP_NR_UNKN}
        offer = mc.SMFI_CURR_PROT & ~sum(stages)
        packets = [
            (mc.SMFIC_CONNECT, mc.cstr("client.example") + b"4" + struct.pack(">H", 25)
             + mc.cstr("192.0.2.1")),
            (mc.SMFIC_HELO, mc.cstr("client.example")),
            (mc.SMFIC_UNKNOWN, mc.cstr("XYZZY")),
        ]
        for with_nr in (True, False):
            with self.subTest(no_reply_offered=with_nr):
                c = self.connect(protocol=offer if with_nr else offer & ~sum(stages.values()))
                p = c.negotiated.protocol
                self.assertFalse(p & sum(stages), hex(p))
                self.assertEqual(p & sum(stages.values()), sum(stages.values()) if with_nr else 0,
                                 hex(p))

                def answer(cmd, data):
                    c.send(cmd, data)
                    r = c.reply_or_silence(timeout=0.5)
                    if with_nr:
                        self.assertIsNone(r, cmd)
                    else:
                        self.assertEqual(r.code, mc.SMFIR_CONTINUE, cmd)

                for cmd, data in packets:
                    answer(cmd, data)
                for rcpt in ("<sales@example.org>", "<team@shop.example>"):
                    c.macro(mc.SMFIC_MAIL, POSTFIX_MAIL)
                    answer(mc.SMFIC_MAIL, mc.cstr("<sender@example.com>"))
                    self.assertEqual(c.rcpt(rcpt, macros=POSTFIX_RCPT).code, mc.SMFIR_CONTINUE)
                    answer(mc.SMFIC_DATA, b"")
                    answer(mc.SMFIC_HEADER, mc.cstr("Subject", "x"))
                    answer(mc.SMFIC_EOH, b"")
                    edits, final = c.eom(macros=[("i", "4XyZ1")])
                    self.assertEqual(final.code, mc.SMFIR_CONTINUE)
                    self.assertEqual(self.edit_sets(edits), self.rewrite_of(rcpt))

    def test_abort_then_new_message(self):
        """a message aborted after its RCPTs leaves nothing behind"""
        c = self.connect()
        self.message(["<sales@example.org>", "<team@shop.example>"], conn=c, eom=False)
        c.abort()
        _, _, edits = self.message(["<abuse@example.org>"], conn=c)
        adds = [mc.strings(e.data)[0] for e in edits if e.code != mc.SMFIR_DELRCPT]
        self.assertEqual(adds, [b"<admin@corp.example>"])

    def test_extra_commands(self):
        """CONNECT, HELO, headers, body, DATA, UNKNOWN although skipped: valid
        answers (or none), never a crash"""
        packets = [
            (mc.SMFIC_CONNECT, mc.cstr("client.example") + b"4" + struct.pack(">H", 25)
             + mc.cstr("192.0.2.1")),
            (mc.SMFIC_HELO, mc.cstr("client.example")),
            (mc.SMFIC_MACRO, b"Q" + mc.cstr("odd", "macro", "unpaired")),
            (mc.SMFIC_HEADER, mc.cstr("Subject", "x" * 1000)),
            (mc.SMFIC_EOH, b""),
            (mc.SMFIC_BODY, b"body\r\n" * 100),
            (mc.SMFIC_DATA, b""),
            (mc.SMFIC_UNKNOWN, mc.cstr("XYZZY plugh")),
            (mc.SMFIC_QUIT_NC, b""),
            (mc.SMFIC_MACRO, b""),
        ]
        for n in range(len(packets)):
            with self.subTest(upto=packets[n][0]):
                c = self.connect()
                try:
                    for cmd, data in packets[:n + 1]:
                        c.send(cmd, data)
                    c.quit()
                    # valid replies (read checks them) until EOF
                    while True:
                        c.read()
                except (mc.Closed, ConnectionResetError, BrokenPipeError):
                    pass

    def test_garbage_packets(self):
        """unknown commands, zero and huge lengths, truncated packets: the
        daemon answers validly or closes that connection"""
        bad = [
            struct.pack(">I", 0),
            struct.pack(">I", 0x7FFFFFFF) + b"R",
            struct.pack(">I", 70000) + b"R" + b"a" * 69999,
            struct.pack(">I", 5) + b"Zabcd",
            struct.pack(">I", 1) + b"\x00",
            struct.pack(">I", 3) + b"R\x00\x00",
            struct.pack(">I", 1) + b"M",
            struct.pack(">I", 1) + b"O",
            struct.pack(">I", 9) + b"O" + b"\x00" * 8,
            b"\xff" * 64,
            b"GET / HTTP/1.0\r\n\r\n",
        ]
        # libmilter 8.17 closes the connection on most of these; it stays
        # silent on a zero length, on "R\0\0" and on OPTNEG without data
        # (until its own timeout): both are fine, a crash or junk is not.
        for raw in bad:
            with self.subTest(raw=raw[:16]):
                c = mc.MilterClient(self.milter.socket, timeout=3)
                self.addCleanup(c.close)
                try:
                    c.optneg()
                    c.mail(macros=POSTFIX_MAIL)
                    c.send_raw(raw)
                    # Whatever comes back must be valid milter replies, until
                    # EOF or silence (libmilter waiting for the rest of a
                    # packet, or ignoring a command it cannot place).
                    while True:
                        c.read()
                except (mc.Closed, ConnectionResetError, BrokenPipeError, socket.timeout):
                    pass
                c.close()

    def test_dropped_connections(self):
        """connections dropped at every point of a message, also mid-packet"""
        steps = ["connect", "optneg", "mail", "rcpt", "rcpts", "eom-sent", "half-packet",
                 "half-length"]
        for step in steps:
            with self.subTest(step=step):
                c = mc.MilterClient(self.milter.socket)
                try:
                    if step == "connect":
                        continue
                    c.optneg()
                    if step == "optneg":
                        continue
                    c.mail(macros=POSTFIX_MAIL)
                    if step == "mail":
                        continue
                    c.rcpt("<sales@example.org>", macros=POSTFIX_RCPT)
                    if step == "rcpt":
                        continue
                    for i in range(50):
                        c.rcpt("<bob+%d@example.net>" % i, macros=POSTFIX_RCPT)
                    if step == "rcpts":
                        continue
                    if step == "eom-sent":
                        c.send(mc.SMFIC_BODYEOB)
                    elif step == "half-packet":
                        c.send_raw(struct.pack(">I", 100) + b"R<sales@exa")
                    elif step == "half-length":
                        c.send_raw(b"\x00\x00")
                finally:
                    c.close()

    def test_concurrent_connections(self):
        """16 connections at once, each several messages, some dropped"""
        errors = []

        def worker(n):
            try:
                c = mc.MilterClient(self.milter.socket)
                try:
                    c.optneg()
                    for k in range(5):
                        self.message(["<sales@example.org>", "<team@shop.example>",
                                      "<bob+%d@example.net>" % k, "<nobody@corp.example>"],
                                     conn=c)
                    if n % 3 == 0:
                        c.mail(macros=POSTFIX_MAIL)
                        c.rcpt("<sales@example.org>", macros=POSTFIX_RCPT)
                finally:
                    c.close()
            except Exception as exc:  # noqa: BLE001 -- reported below
                errors.append("worker %d: %r" % (n, exc))

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(errors, [])


_tmp = None


def setUpModule():
    global _tmp
    _tmp = tempfile.mkdtemp(prefix="hm-protocol-")
    m = milter_process.MilterProcess(suite_common.MILTER_BINARY, cases.E2E_CONF, _tmp)
    m.start()
    ProtocolBase.milter = m
    ProtocolBase.verdicts = Verdicts(m.binary, m.conf)


def tearDownModule():
    m = ProtocolBase.milter
    if m is None:
        return
    rc = m.stop()
    log = m.log_text()
    problems = []
    if rc != 0:
        problems.append("the daemon exited with status %r after SIGTERM" % rc)
    if SANITIZER_TEXT.search(log):
        problems.append("sanitizer report in the daemon's log")
    if problems:
        print("kept %s" % _tmp)
        # unittest records this as an error, so the summary counts it
        raise AssertionError("%s\n--- milter log (tail) ---\n%s" % ("; ".join(problems),
                                                                      log[-6000:]))
    if suite_common.KEEP_TMP:
        print("kept %s" % _tmp)
    else:
        shutil.rmtree(_tmp, ignore_errors=True)


def main():
    classes = [WellFormed, HostileRcpt, HostileEsmtp, HostileProtocol]
    return suite_common.run_main(__doc__.split("\n")[0], classes, lambda: (True, ""))


if __name__ == "__main__":
    sys.exit(main())
