"""The end-to-end cases, as data shared by every MTA suite.

Owns what the product must do with each envelope, independent of the MTA:
the recipients a client sends (path exactly as on the wire, ESMTP params),
the decision `hosted-milter -q` must report for each, the reply class the
client must get (accept / reject / tempfail, with the address the reply
text names), and the recipients the next hop must receive with their
ORCPT= and NOTIFY=.  All of it against e2e.conf.  How an MTA words a reply
or lays out a delivery is the adapter's business (postfix_instance.py,
later a Sendmail one), never this file's.

A Case is a list of Messages sent over one SMTP connection.  Expected
deliveries are a multiset compared case-insensitively by address; ORCPT and
NOTIFY are compared where a Delivery names them (ANY: not checked, because
that value is the MTA's own business, e.g. the ORCPT of a kept recipient).
Case.tags lets a suite skip a case its MTA cannot run (CasesBase.skip_tags):
postfix-reading and sendmail-reading mark what depends on that MTA's own
reading of a malformed RCPT argument (Postfix drops a backslash and quotes
a local part that is no dot-atom; Sendmail keeps both as sent), smtputf8
what needs SMTPUTF8, which Debian's Sendmail 8.17 does not offer (MAIL
FROM ... SMTPUTF8 gets 555 5.5.4).
"""

from dataclasses import dataclass, field
import os

HERE = os.path.dirname(os.path.abspath(__file__))
E2E_CONF = os.path.join(HERE, "e2e.conf")

SENDER = "sender@client.example"
# Not hosted, but the MTA relays it (the milter must `pass` it).
EXTRA_RELAY_DOMAINS = ["elsewhere.example"]

REJECT = (550, "5.1.1")
BAD_SYNTAX = "5.1.3"
TEMPFAIL = (450, "4.1.1")
REJECT_REASON = "Recipient address rejected: "


class _Any:
    def __repr__(self):
        return "ANY"


ANY = _Any()


def xtext(s):
    """RFC 3461 xtext encoding ('+', '=' and bytes outside '!'..'~')."""
    out = []
    for b in s.encode("utf-8"):
        if b < 0x21 or b > 0x7E or b in (0x2B, 0x3D):
            out.append("+%02X" % b)
        else:
            out.append(chr(b))
    return "".join(out)


def strip_route(path):
    """"@a,@b:user@d" -> "user@d" (what the MTA stores as the recipient)."""
    if path.startswith("@") and ":" in path:
        return path.split(":", 1)[1]
    return path


def notify_without_success(value):
    """The NOTIFY a rewrite target must carry: SUCCESS removed, NEVER when
    nothing is left; None when the client gave none."""
    if value is None:
        return None
    words = [w for w in value.upper().split(",") if w and w != "SUCCESS"]
    return ",".join(words) if words else "NEVER"


def param(params, name):
    for p in params:
        k, _, v = p.partition("=")
        if k.upper() == name:
            return v
    return None


@dataclass
class Rcpt:
    path: str                 # sent verbatim as RCPT TO:<path>
    params: tuple = ()        # ESMTP params, verbatim ("NOTIFY=SUCCESS")
    # What -q must say: keep rewrite reject tempfail pass; None when -q,
    # which has only the raw text, cannot know the MTA's reading of it.
    action: str = "keep"
    targets: tuple = ()       # rewrite: the final targets -q must list
    # accept | reject | tempfail | refuse (any 5xx, from the MTA or the
    # milter: forms an MTA may refuse itself)
    reply: str = "accept"
    reply_addr: str = None    # reject/tempfail: the address the text names (None: any)
    xcode: str = None         # reject: the enhanced code when not 5.1.1


@dataclass
class Delivery:
    rcpt: str                 # the next hop's RCPT TO address
    orcpt: object = ANY       # "rfc822;..." | None (absent) | ANY
    notify: object = ANY      # "FAILURE" | None (absent) | ANY


@dataclass
class Message:
    rcpts: list
    delivered: list           # the multiset of Delivery the sink must get
    mail_params: tuple = ()   # ESMTP params of MAIL FROM ("SMTPUTF8")


@dataclass
class Case:
    id: str
    doc: str
    messages: list
    tags: set = field(default_factory=set)


# --- builders: one recipient and what it must become ------------------------

def keep(path, *params, action="keep"):
    """Delivered as is (keep, or pass for an address not ours)."""
    rcpt = strip_route(path)
    if rcpt.startswith('"'):
        rcpt = rcpt.replace('"', "")
    r = Rcpt(path, tuple(params), action=action)
    return r, [Delivery(rcpt, orcpt=ANY if param(params, "ORCPT") is None
                        else param(params, "ORCPT"),
                        notify=param(params, "NOTIFY"))]


def passed(path, *params):
    return keep(path, *params, action="pass")


def rewrite(path, targets, *params, orcpt=None):
    """Rewritten: every target delivered with ORCPT = the client's own, else
    rfc822;xtext(original without route), and NOTIFY without SUCCESS."""
    if isinstance(targets, str):
        targets = [targets]
    if orcpt is None:
        orcpt = param(params, "ORCPT") or "rfc822;" + xtext(strip_route(path))
    notify = notify_without_success(param(params, "NOTIFY"))
    r = Rcpt(path, tuple(params), action="rewrite", targets=tuple(targets))
    return r, [Delivery(t, orcpt=orcpt, notify=notify) for t in targets]


def reject(path, addr, *params):
    return Rcpt(path, tuple(params), action="reject", reply="reject", reply_addr=addr), []


def tempfail(path, addr, *params):
    return Rcpt(path, tuple(params), action="tempfail", reply="tempfail", reply_addr=addr), []


def msg(*items, delivered=None, mail_params=()):
    """A message from builder results; delivered overrides the sum of the
    items' deliveries (the dedupe cases say explicitly what survives)."""
    rcpts = [r for r, _ in items]
    if delivered is None:
        delivered = [d for _, ds in items for d in ds]
    return Message(rcpts, delivered, tuple(mail_params))


def utf8_msg(*items):
    """A message sent with MAIL FROM:<...> SMTPUTF8 (RFC 6531)."""
    return msg(*items, mail_params=("SMTPUTF8",))


# --- the MTA's reading of a recipient ----------------------------------------
#
# Postfix reads RCPT TO as RFC 822 does: comments, spaces and backslashes
# go, and what it stores and relays is that reading (handed to milters as
# {rcpt_addr}).  Every such form must be resolved as the address it is
# read as; -q sees only the raw text (there it is malformed: 5.1.3).

def read_as_kept(path, address, action=None):
    """A form the MTA reads as address, a recipient delivered as is."""
    return Rcpt(path, action=action), [Delivery(address)]


def read_as_rewrite(path, targets):
    """A form the MTA reads as an address that is rewritten to targets; the
    ORCPT is the client's text (the original recipient as sent)."""
    # the milter's default ORCPT leaves out white space around the address
    r, ds = rewrite(path, targets, orcpt="rfc822;" + xtext(strip_route(path).strip()))
    r.action = None
    return r, ds


def read_as_reject(path, addr, xcode=None):
    """A form refused at RCPT (addr None: the MTA may name it either way)."""
    return Rcpt(path, action=None, reply="reject", reply_addr=addr, xcode=xcode), []


def bad_syntax(path, addr=None):
    """Malformed in a hosted domain, as the MTA reads it too: 550 5.1.3."""
    return Rcpt(path, action="reject", reply="reject", reply_addr=addr, xcode=BAD_SYNTAX), []


def refused(path, action=None):
    """Refused with some 5xx, by the MTA or the milter; never delivered."""
    return Rcpt(path, action=action, reply="refuse"), []


# The spellings of one local part L at domain D that Postfix and Sendmail
# both read as L@D: an RFC 822 comment, a space before '@', a space before
# the closing bracket.
def _reading_forms(local, domain):
    return ["%s(x)@%s" % (local, domain), "%s @%s" % (local, domain),
            "%s@%s " % (local, domain)]


def _backslash(local, domain):
    """L with a backslash after its first letter: Postfix reads L@D,
    Sendmail keeps the backslash (no address of the table: 5.1.3)."""
    return "%s\\%s@%s" % (local[:1], local[1:], domain)


def _reading_case(kind, local, domain, build, doc, sendmail=None):
    """One case per MTA reading: the shared forms and Postfix's reading of
    the backslash form (tag postfix-reading); with sendmail given, a second
    case with Sendmail's reading of it (tag sendmail-reading)."""
    out = [case("reading-" + kind, "%s in every form the MTA rewrites: %s" % (kind, doc),
                *[msg(build(form)) for form in _reading_forms(local, domain)]),
           case("reading-backslash-" + kind, "%s with a backslash, as Postfix reads it" % kind,
                msg(build(_backslash(local, domain))), tags=("postfix-reading",))]
    if sendmail is None:
        sendmail = lambda p: bad_syntax(p, p)  # noqa: E731
    out.append(case("reading-backslash-sendmail-" + kind,
                    "%s with a backslash, as Sendmail reads it" % kind,
                    msg(sendmail(_backslash(local, domain))), tags=("sendmail-reading",)))
    return out


def case(cid, doc, *messages, tags=()):
    return Case(cid, doc, list(messages), set(tags))


# --- the cases --------------------------------------------------------------

HM = "hostmaster@corp.example"
ADMIN = "admin@corp.example"


def _many():
    items = []
    for i in range(1, 51):
        items.append(rewrite("alice+t%03d@example.org" % i, "alice+t%03d@corp.example" % i))
        items.append(rewrite("bob+t%03d@example.net" % i, "bob+t%03d@corp.example" % i))
    return msg(*items)


CASES = [
    # keep / pass
    case("keep-mailbox", "a declared mailbox is delivered as is",
         msg(keep("bob@corp.example"))),
    case("keep-mailbox-extension", "mailbox with an extension: kept, extension intact",
         msg(keep("bob+news@corp.example"))),
    case("pass-not-hosted", "a domain that is not hosted is passed to the MTA untouched",
         msg(passed("someone@elsewhere.example"))),
    case("pass-domain-unknown", "unknown local part in an unknown_recipient=pass domain",
         msg(passed("unknown@legacy.example"))),
    # rewrite rules
    case("exact-secondary", "a secondary address goes to its primary mailbox",
         msg(rewrite("alice@example.org", "alice@corp.example"))),
    case("exact-secondary-case", "lookup is case-insensitive; ORCPT keeps the client's case",
         msg(rewrite("A.Smith@Example.ORG", "alice@corp.example"))),
    case("secondary-other-domain", "secondary address in a third domain, mixed case configured",
         msg(rewrite("alice.smith@shop.example", "alice@corp.example"))),
    case("extension-secondary", "user+ext@ on a secondary: the extension follows to the target",
         msg(rewrite("alice+news@example.org", "alice+news@corp.example"))),
    case("extension-alias", "an extension follows to every target of an alias",
         msg(rewrite("sales+q4@example.org", ["bob+q4@corp.example", "carol+q4@corp.example"]))),
    case("distribution-alias", "an alias with two targets delivers to both",
         msg(rewrite("sales@example.org", ["bob@corp.example", "carol@corp.example"]))),
    case("nested-alias", "an alias target that is itself an alias is expanded",
         msg(rewrite("team@shop.example",
                     ["bob@corp.example", "carol@corp.example", "dave@corp.example"]))),
    case("alias-domain", "alias_domain: user@example.net -> user@corp.example",
         msg(rewrite("bob@example.net", "bob@corp.example"))),
    case("alias-domain-extension", "alias_domain keeps the extension",
         msg(rewrite("bob+x@example.net", "bob+x@corp.example"))),
    case("alias-domain-to-alias", "alias_domain target resolved again (an alias there)",
         msg(rewrite("flip@example.net", "bob@corp.example"))),
    case("catch-all", "unknown local part in a catch_all domain",
         msg(rewrite("random@example.org", "info@corp.example"))),
    case("catch-all-extension", "catch_all does not propagate an extension (as virtual(5))",
         msg(rewrite("random+tag@example.org", "info@corp.example"))),
    case("catch-all-exact-wins", "an exact secondary beats the catch_all",
         msg(rewrite("a.smith@example.org", "alice@corp.example"))),
    # postmaster and roles
    case("postmaster-per-domain", "postmaster@ a domain with its own postmaster",
         msg(rewrite("postmaster@corp.example", HM))),
    case("postmaster-global", "postmaster@ a domain without one: the global postmaster",
         msg(rewrite("postmaster@shop.example", ADMIN))),
    case("postmaster-alias-domain", "an alias domain uses its target domain's postmaster",
         msg(rewrite("postmaster@example.net", HM))),
    case("postmaster-catch-all-domain", "the role rule beats the catch_all",
         msg(rewrite("postmaster@example.org", ADMIN))),
    case("postmaster-pass-domain", "roles apply in an unknown_recipient=pass domain",
         msg(rewrite("postmaster@legacy.example", ADMIN))),
    case("postmaster-tempfail-domain", "roles apply in an unknown_recipient=tempfail domain",
         msg(rewrite("postmaster@tempfail.example", ADMIN))),
    case("postmaster-case", "PostMaster@Corp.Example: deleted although the case differs",
         msg(rewrite("PostMaster@Corp.Example", HM))),
    case("postmaster-extension", "postmaster+x@: the extension follows to the postmaster",
         msg(rewrite("postmaster+x@shop.example", "admin+x@corp.example"))),
    case("bare-postmaster", "RCPT TO:<postmaster> goes to the global postmaster",
         msg(rewrite("postmaster", ADMIN))),
    case("role-abuse-domain", "a configured role uses the domain's postmaster",
         msg(rewrite("abuse@corp.example", HM))),
    case("role-abuse-global", "a configured role in a domain without postmaster",
         msg(rewrite("abuse@example.org", ADMIN))),
    case("role-explicit-wins", "an explicit alias for a role address beats the role rule",
         msg(rewrite("abuse@shop.example", "carol@corp.example"))),
    # reject / tempfail
    case("reject-unknown", "unknown local part: 550 5.1.1 with the address in the text",
         msg(reject("nobody@corp.example", "nobody@corp.example"))),
    case("reject-case", "the reply names the address in canonical form (domain folded)",
         msg(reject("NoBody@Corp.Example", "NoBody@corp.example"))),
    case("reject-alias-domain", "alias_domain to an unknown user: rejected, original named",
         msg(reject("nosuch@example.net", "nosuch@example.net"))),
    case("reject-mixed", "one bad recipient does not spoil the others",
         msg(reject("nobody@corp.example", "nobody@corp.example"),
             keep("bob@corp.example"),
             rewrite("postmaster@shop.example", ADMIN))),
    case("tempfail-domain", "unknown local part in a tempfail domain: 450 4.1.1",
         msg(tempfail("anyone@tempfail.example", "anyone@tempfail.example"),
             keep("carol@corp.example"))),
    # dedupe
    case("dedupe-two-to-one", "two recipients rewritten to one mailbox: delivered once",
         msg(rewrite("postmaster@corp.example", HM), rewrite("abuse@corp.example", HM),
             delivered=[Delivery(HM, orcpt="rfc822;postmaster@corp.example")])),
    case("dedupe-rewrite-then-kept", "a rewrite target that is also a kept recipient: once",
         msg(rewrite("bob@example.net", "bob@corp.example"), keep("bob@corp.example"),
             delivered=[Delivery("bob@corp.example")])),
    case("dedupe-kept-then-rewrite", "a kept recipient, then a rewrite onto it: once",
         msg(keep("bob@corp.example"), rewrite("bob@example.net", "bob@corp.example"),
             delivered=[Delivery("bob@corp.example")])),
    case("dedupe-alias-overlap", "alias targets overlapping a direct recipient: once each",
         msg(rewrite("sales@example.org", ["bob@corp.example", "carol@corp.example"]),
             keep("carol@corp.example"),
             delivered=[Delivery("bob@corp.example", orcpt="rfc822;sales@example.org"),
                        Delivery("carol@corp.example")])),
    # ORCPT / NOTIFY
    case("orcpt-client-given", "the client's own ORCPT is kept on the target",
         msg(rewrite("postmaster@corp.example", HM, "ORCPT=rfc822;client-orig@x.example"))),
    case("orcpt-xtext", "ORCPT of an address with '+' is xtext-encoded",
         msg(rewrite("postmaster+a=b@shop.example", "admin+a=b@corp.example"))),
    case("notify-success-failure", "NOTIFY=SUCCESS,FAILURE -> FAILURE on the target",
         msg(rewrite("postmaster@corp.example", HM, "NOTIFY=SUCCESS,FAILURE"))),
    case("notify-success", "NOTIFY=SUCCESS -> NEVER on the target",
         msg(rewrite("postmaster@corp.example", HM, "NOTIFY=SUCCESS"))),
    case("notify-never", "NOTIFY=NEVER stays NEVER",
         msg(rewrite("postmaster@corp.example", HM, "NOTIFY=NEVER"))),
    case("notify-failure-delay", "NOTIFY=FAILURE,DELAY passes unchanged",
         msg(rewrite("alice@example.org", "alice@corp.example", "NOTIFY=FAILURE,DELAY"))),
    case("notify-orcpt-both", "ORCPT and NOTIFY together on a two-target alias",
         msg(rewrite("sales@example.org", ["bob@corp.example", "carol@corp.example"],
                     "NOTIFY=SUCCESS,DELAY", "ORCPT=rfc822;list@client.example"))),
    case("notify-kept-untouched", "a kept recipient's NOTIFY is the MTA's business",
         msg(keep("bob@corp.example", "NOTIFY=SUCCESS"))),
    # address forms
    case("source-route", "<@relay.example:user@hosted>: the route is ignored, original deleted",
         msg(rewrite("@relay.example:alice@example.org", "alice@corp.example"))),
    case("quoted-local-part", "a quoted dot-atom local part equals its unquoted form",
         msg(rewrite('"alice"@example.org', "alice@corp.example",
                     orcpt='rfc822;"alice"@example.org'))),
    case("trailing-dot", "the domain's trailing dot is ignored",
         msg(rewrite("alice@example.org.", "alice@corp.example"))),
    case("self-map", "an alias that includes itself keeps the original and adds the rest",
         msg((Rcpt("self@legacy.example", action="rewrite",
                   targets=("self@legacy.example", "copy@corp.example")), []),
             delivered=[Delivery("self@legacy.example"),
                        Delivery("copy@corp.example", orcpt="rfc822;self@legacy.example",
                                 notify=None)])),
    # volume and connection reuse
    case("many-recipients", "100 recipients in one message, each rewritten", _many()),
    case("several-messages", "messages on one connection do not share recipient state",
         msg(rewrite("postmaster@corp.example", HM), keep("bob@corp.example")),
         msg(reject("nobody@corp.example", "nobody@corp.example")),
         msg(rewrite("alice@example.org", "alice@corp.example"),
             rewrite("bob@example.net", "bob@corp.example")),
         msg(keep("carol@corp.example"))),
]

# Every hosted-domain kind, in the forms of the table, through the
# MTA: refused, or rewritten to exactly the configured targets, no bounce.
READING_CASES = [
    ("unknown", "nobody", "corp.example", lambda p: read_as_reject(p, None),
     "refused 5.1.1, never relayed"),
    ("mailbox", "bob", "corp.example", lambda p: read_as_kept(p, "bob@corp.example"), "kept"),
    ("secondary", "alice", "example.org", lambda p: read_as_rewrite(p, "alice@corp.example"),
     "to the primary"),
    ("alias", "sales", "example.org",
     lambda p: read_as_rewrite(p, ["bob@corp.example", "carol@corp.example"]),
     "to both targets"),
    ("role", "postmaster", "corp.example", lambda p: read_as_rewrite(p, HM),
     "to the domain's postmaster"),
    ("alias-domain", "bob", "example.net", lambda p: read_as_rewrite(p, "bob@corp.example"),
     "moved to corp.example"),
]
CASES += [c for kind, local, domain, build, doc in READING_CASES
          for c in _reading_case(kind, local, domain, build, doc)]
CASES += _reading_case("catch-all", "random", "example.org",
                       lambda p: read_as_rewrite(p, "info@corp.example"), "to the catch-all")
CASES += _reading_case("pass-domain", "unknown", "legacy.example",
                       lambda p: read_as_kept(p, "unknown@legacy.example"), "passed as read",
                       sendmail=lambda p: read_as_kept(p, p))
CASES += [
    case("malformed-local", "local parts no dot-atom can spell: refused, never relayed",
         msg(refused(".bob@corp.example")), msg(refused("bob..x@corp.example")),
         msg(refused("bob.@corp.example")),
         msg(refused("@corp.example")),
         msg(bad_syntax("x" * 65 + "@corp.example")),
         msg(bad_syntax("postmaster" + "x" * 60 + "@example.net"))),
    case("malformed-catch-all", "what Postfix reads as a quoted local part goes to the "
         "catch-all, as in Postfix", msg(read_as_rewrite("bob.@example.org", "info@corp.example")),
         tags=("postfix-reading",)),
    case("malformed-catch-all-sendmail", "Sendmail reads bob.@ unquoted: refused 5.1.3",
         msg(bad_syntax("bob.@example.org", "bob.@example.org")), tags=("sendmail-reading",)),
    case("malformed-pass-domain", "a malformed local part in a pass domain is the MTA's",
         msg(read_as_kept(".odd@legacy.example", '".odd"@legacy.example')),
         tags=("postfix-reading",)),
    case("malformed-pass-domain-sendmail", "the same, as Sendmail reads it",
         msg(read_as_kept(".odd@legacy.example", ".odd@legacy.example")),
         tags=("sendmail-reading",)),
    # SMTPUTF8 and IDN (e2e.conf: bücher.example, anna@, info@, jörg@)
    case("utf8-mailbox", "a UTF-8 local part is an address like any other",
         utf8_msg(keep("jörg@corp.example")), tags=("smtputf8",)),
    case("utf8-mailbox-case", "ASCII letters of a UTF-8 local part fold",
         utf8_msg(read_as_kept("Jörg@Corp.Example", "Jörg@Corp.Example", action="keep")),
         tags=("smtputf8",)),
    case("utf8-unknown", "an unknown UTF-8 local part: 550 5.1.1",
         utf8_msg(reject("jürgen@corp.example", None)), tags=("smtputf8",)),
    case("utf8-invalid", "invalid UTF-8 in a hosted domain: refused",
         utf8_msg(refused("j\udcffrg@corp.example", action="reject")), tags=("smtputf8",)),
    case("idn-ulabel", "a hosted IDN domain in U-label form",
         utf8_msg(keep("anna@bücher.example")), tags=("smtputf8",)),
    case("idn-alabel", "the same domain in A-label form",
         msg(keep("anna@xn--bcher-kva.example"))),
    case("idn-alias-ulabel", "an alias reached by the U-label; the target added as A-label",
         utf8_msg(rewrite("info@bücher.example", "anna@xn--bcher-kva.example")),
         tags=("smtputf8",)),
    case("idn-alias-alabel", "the same alias by the A-label, in a plain message",
         msg(rewrite("info@xn--bcher-kva.example", "anna@xn--bcher-kva.example"))),
    case("idn-unknown", "unknown in an IDN domain: 550 5.1.1",
         utf8_msg(reject("nobody@bücher.example", None)), tags=("smtputf8",)),
    case("idn-postmaster", "postmaster@ an IDN domain",
         utf8_msg(rewrite("postmaster@bücher.example", ADMIN)), tags=("smtputf8",)),
]

# --- the reload tests' switch -------------------------------------------------

# In e2e.conf the alias flip@corp.example has exactly this target line; the
# reload tests swap it for the second one.
RELOAD_FLIP_RCPT = "flip@corp.example"
RELOAD_FLIP_LINE = '    to = { "bob@corp.example" }'
RELOAD_FLIP_TARGETS = ("bob@corp.example", "carol@corp.example")


def reload_variant(conf_text, index):
    """e2e.conf with flip@ pointing at RELOAD_FLIP_TARGETS[index]."""
    assert conf_text.count(RELOAD_FLIP_LINE) == 1, "e2e.conf lost the flip@ line"
    return conf_text.replace(RELOAD_FLIP_LINE,
                             '    to = { "%s" }' % RELOAD_FLIP_TARGETS[index])


# --- the virtual(5) oracle ----------------------------------------------------

# e2e.conf as Postfix virtual_alias_maps, for an MTA with every domain in
# relay_domains (so mailboxes and pass addresses are relayed as they are).
# Roles, bare postmaster and unknown-recipient rejection have no virtual(5)
# equivalent and stay out of the comparison.
ORACLE_VIRTUAL = [
    "alice@example.org          alice@corp.example",
    "a.smith@example.org        alice@corp.example",
    "Alice.Smith@shop.example   alice@corp.example",
    "sales@example.org          bob@corp.example, carol@corp.example",
    "team@shop.example          sales@example.org, dave@corp.example",
    "abuse@shop.example         carol@corp.example",
    "self@legacy.example        self@legacy.example, copy@corp.example",
    "flip@corp.example          bob@corp.example",
    "@example.org               info@corp.example",
    "@example.net               @corp.example",
]
ORACLE_RELAY_DOMAINS = ["corp.example", "example.net", "example.org", "shop.example",
                        "legacy.example", "tempfail.example"] + EXTRA_RELAY_DOMAINS

# Each is sent alone, with NOTIFY=SUCCESS,FAILURE, to both instances.
ORACLE_ADDRESSES = [
    "bob@corp.example", "bob+news@corp.example", "frank@shop.example",
    "alice@example.org", "A.Smith@Example.ORG", "alice.smith@shop.example",
    "alice+news@example.org", "sales@example.org", "sales+q4@example.org",
    "team@shop.example", "abuse@shop.example", "bob@example.net", "bob+x@example.net",
    "flip@example.net", "flip@corp.example", "random@example.org", "random+tag@example.org",
    "someone@elsewhere.example", "unknown@legacy.example", "self@legacy.example",
    '"alice"@example.org',
]
ORACLE_PARAMS = ("NOTIFY=SUCCESS,FAILURE",)

# Where the milter knowingly differs from virtual(5) in ORCPT/NOTIFY:
# {address sent: {recipient delivered: (ORCPT, NOTIFY) the milter gives}}.
# self-map: virtual(5) "expands" self@ into itself, so its NOTIFY loses
# SUCCESS; the milter leaves the original recipient in place (deleting and
# re-adding it loses it on Postfix, facts §8), so the client's NOTIFY stays.
# A success report for it names only the address the client used.
ORACLE_DSN_EXCEPTIONS = {
    "self@legacy.example": {
        "self@legacy.example": ("rfc822;self@legacy.example", "SUCCESS,FAILURE"),
    },
}


# Hostile RCPT arguments (sent verbatim inside <...>, all in one message):
# each must get a decision from MTA or milter, never a crash, and nothing may
# be delivered that is neither an accepted original nor named in e2e.conf.
HOSTILE_RCPTS = [
    "a" * 300 + "@corp.example",
    "bob@" + "d" * 300 + ".example",
    "<bob@corp.example",
    "bob@corp.example>",
    "@a.example,@b.example:postmaster@corp.example",
    "@a.example:",
    '"bob smith"@corp.example',
    '"bob\\"@corp.example',
    "bob@[127.0.0.1]",
    "bob%elsewhere.example@corp.example",
    "b\udce9b@corp.example",     # a raw 0xE9 byte (not UTF-8)
    "b\u00e9b@corp.example",
    "postmaster+" + "x" * 60 + "@corp.example",
    "bob@corp.example\x01",
    "nobody@@corp.example",
    ".bob@corp.example",
    "bob.@corp.example",
    "postmaster@corp.example.",
    "PostMaster",
]


def config_addresses(path=E2E_CONF):
    """Every address named in e2e.conf (lower-cased)."""
    import re
    with open(path) as f:
        return {m.lower() for m in re.findall(r'"([^"\s]+@[^"\s]+)"', f.read())}


def all_paths():
    """Every distinct RCPT path of all cases (for one -q call)."""
    seen = []
    for c in CASES:
        for m in c.messages:
            for r in m.rcpts:
                if r.path not in seen:
                    seen.append(r.path)
    return seen
