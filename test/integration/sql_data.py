#!/usr/bin/python3
"""Test data in Postfix Admin's tables (issue 11), for pg_instance.py and
mariadb_instance.py alike, and what hosted-milter must make of it.

The base data set (load(db)) is a small hosting server as Postfix Admin
writes it: every mailbox has its self-alias row (alias address = goto =
username), every domain its postmaster alias, plus the rows that make the
mapping rules interesting:

  pfa.example       mailboxes alice, bob, carol, admin (self-aliases), dave
                    (inactive, and so is his self-alias); bob's alias row
                    forwards to alice only (an alias over a mailbox), carol's
                    to herself and bob; sales -> alice,bob; team -> "alice, carol"
                    (hand-written spacing); ext -> outside; old (inactive
                    alias); postmaster, abuse -> admin
  catchall.example  catch-all @ -> info, mailboxes info and jim WITH their
                    self-aliases (the catch-all does not capture them)
  noself.example    catch-all @ -> alice@pfa.example, mailboxes kim and lee
                    WITHOUT self-aliases (captured, as in Postfix)
  alias.example     alias domain of pfa.example
  alias2.example    alias domain of noself.example (its catch-all applies)
  gone.example      hosted, but its alias_domain row -> pfa.example inactive
  backup.example    backupmx: relayed, not hosted
  off.example       inactive domain (its mailbox row is active: still not hosted)
  ALL               Postfix Admin's pseudo-domain row: never a domain

EXPECTED_Q is what `hosted-milter -q` must answer for each address under
`schema = postfixadmin` (action, targets); HOSTED the domains `-D` lists.
mailbox_rows(n) and friends generate the 100,000-mailbox scale data.

    sql_data.py --bench    load 100,000 mailboxes (+ self-aliases) into a
                           private PostgreSQL by COPY and by multi-row INSERT,
                           and into MariaDB by LOAD DATA and INSERT; print times
"""

import os
import sys
import time

P = "pfa.example"
C = "catchall.example"
N = "noself.example"
A = "alias.example"
A2 = "alias2.example"
G = "gone.example"
B = "backup.example"
O = "off.example"
OUTSIDE = "elsewhere.example"
SCALE_DOMAIN = "scale.example"

DOMAIN_COLS = ("domain", "description", "aliases", "mailboxes", "maxquota", "quota",
               "transport", "backupmx", "active")
MAILBOX_COLS = ("username", "password", "name", "maildir", "quota", "local_part", "domain",
                "active")
ALIAS_COLS = ("address", "goto", "domain", "active")
ALIAS_DOMAIN_COLS = ("alias_domain", "target_domain", "active")

# A Postfix Admin password hash ({SHA512-CRYPT} of "secret"): the column is
# read by nobody here, but it is never empty in a real table.
PW = "{SHA512-CRYPT}$6$hm$kF2N9yXnR0aY1Y5nZq7mU0Qm1v2s3t4u5w6x7y8z9A0B1C2D3E4F5G6H7I8J9K0L1M2N3O4P5Q6R7S8T9U0V1"

HOSTED = sorted([P, C, N, A, A2, G])


def domain_row(domain, backupmx=False, active=True, description=""):
    return (domain, description, 0, 0, 0, 0, "virtual", backupmx, active)


def mailbox_row(address, name="", active=True):
    local, _, domain = address.partition("@")
    return (address, PW, name or local.title(), "%s/%s/" % (domain, local), 0, local, domain,
            active)


def alias_row(address, goto, active=True):
    return (address, goto, address.partition("@")[2], active)


def base_rows():
    """{table: (columns, rows)} of the base data set."""
    domains = [domain_row("ALL", description="Postfix Admin's ALL row"),
               domain_row(P), domain_row(C), domain_row(N), domain_row(A), domain_row(A2),
               domain_row(G), domain_row(B, backupmx=True), domain_row(O, active=False)]
    mailboxes = []
    aliases = []

    def mbox(address, self_alias=True, active=True):
        mailboxes.append(mailbox_row(address, active=active))
        if self_alias:
            aliases.append(alias_row(address, address, active=active))

    for u in ("alice", "admin"):
        mbox("%s@%s" % (u, P))
    mbox("bob@%s" % P, self_alias=False)
    mbox("carol@%s" % P, self_alias=False)
    mbox("dave@%s" % P, active=False)
    aliases += [
        alias_row("bob@%s" % P, "alice@%s" % P),                       # alias over a mailbox
        alias_row("carol@%s" % P, "carol@%s,bob@%s" % (P, P)),         # self + a copy
        alias_row("sales@%s" % P, "alice@%s,bob@%s" % (P, P)),
        alias_row("team@%s" % P, "alice@%s, carol@%s" % (P, P)),
        alias_row("ext@%s" % P, "someone@%s" % OUTSIDE),
        alias_row("old@%s" % P, "alice@%s" % P, active=False),
        alias_row("postmaster@%s" % P, "admin@%s" % P),
        alias_row("abuse@%s" % P, "admin@%s" % P),
    ]
    # catch-all with self-aliases
    mbox("info@%s" % C)
    mbox("jim@%s" % C)
    aliases += [alias_row("@%s" % C, "info@%s" % C), alias_row("postmaster@%s" % C, "info@%s" % C)]
    # catch-all without self-aliases
    mbox("kim@%s" % N, self_alias=False)
    mbox("lee@%s" % N, self_alias=False)
    aliases += [alias_row("@%s" % N, "alice@%s" % P), alias_row("postmaster@%s" % N, "alice@%s" % P)]
    # gone.example: hosted, alias domain row inactive
    aliases.append(alias_row("postmaster@%s" % G, "admin@%s" % P))
    # off.example: inactive domain, active rows
    mbox("zed@%s" % O)
    alias_domains = [(A, P, True), (A2, N, True), (G, P, False)]
    return {"domain": (DOMAIN_COLS, domains), "mailbox": (MAILBOX_COLS, mailboxes),
            "alias": (ALIAS_COLS, aliases), "alias_domain": (ALIAS_DOMAIN_COLS, alias_domains)}


TABLE_ORDER = ("domain", "mailbox", "alias", "alias_domain")


def load(db, rows=None):
    """Insert the base data set (or rows) into db (a PgInstance or a
    MariadbInstance with Postfix Admin's tables)."""
    rows = rows or base_rows()
    for t in TABLE_ORDER:
        cols, rs = rows[t]
        db.insert(t, cols, rs)


# address -> (action, targets): what -q must say
EXPECTED_Q = {
    "alice@%s" % P: ("keep", None),
    "Alice@PFA.Example": ("keep", None),
    "alice+tag@%s" % P: ("keep", None),
    "admin@%s" % P: ("keep", None),
    "bob@%s" % P: ("rewrite", ["alice@%s" % P]),
    "carol@%s" % P: ("rewrite", ["carol@%s" % P, "alice@%s" % P]),
    "sales@%s" % P: ("rewrite", ["alice@%s" % P]),
    "team@%s" % P: ("rewrite", ["alice@%s" % P, "carol@%s" % P, "alice@%s" % P]),
    "ext@%s" % P: ("rewrite", ["someone@%s" % OUTSIDE]),
    "postmaster@%s" % P: ("rewrite", ["admin@%s" % P]),
    "abuse@%s" % P: ("rewrite", ["admin@%s" % P]),
    "dave@%s" % P: ("reject", "550 5.1.1"),          # inactive mailbox and self-alias
    "old@%s" % P: ("reject", "550 5.1.1"),           # inactive alias
    "nobody@%s" % P: ("reject", "550 5.1.1"),
    "info@%s" % C: ("keep", None),
    "jim@%s" % C: ("keep", None),                    # self-alias: not captured
    "random@%s" % C: ("rewrite", ["info@%s" % C]),
    "postmaster@%s" % C: ("rewrite", ["info@%s" % C]),
    "kim@%s" % N: ("rewrite", ["alice@%s" % P]),     # no self-alias: captured
    "lee@%s" % N: ("rewrite", ["alice@%s" % P]),
    "zzz@%s" % N: ("rewrite", ["alice@%s" % P]),
    "alice@%s" % A: ("rewrite", ["alice@%s" % P]),
    "bob@%s" % A: ("rewrite", ["alice@%s" % P]),
    "sales@%s" % A: ("rewrite", ["alice@%s" % P]),
    "postmaster@%s" % A: ("rewrite", ["admin@%s" % P]),
    "nobody@%s" % A: ("reject", "550 5.1.1"),
    "kim@%s" % A2: ("rewrite", ["alice@%s" % P]),
    "anyone@%s" % A2: ("rewrite", ["alice@%s" % P]),
    "alice@%s" % G: ("reject", "550 5.1.1"),         # inactive alias_domain row
    "postmaster@%s" % G: ("rewrite", ["admin@%s" % P]),
    "x@%s" % B: ("pass", None),                      # backup MX: not hosted
    "zed@%s" % O: ("pass", None),                    # inactive domain
    "x@ALL": ("pass", None),                         # the ALL row is no domain
    "someone@%s" % OUTSIDE: ("pass", None),
}

# Addresses sent through both Postfix instances (the oracle comparison).
ORACLE_ADDRESSES = [a for a in EXPECTED_Q if not a.endswith("@ALL")] + [
    "carol+x@%s" % P, "bob+x@%s" % P, "jim+x@%s" % C, "random+x@%s" % C, "kim+x@%s" % N,
    "Kim@NoSelf.Example", "alice+x@%s" % A, "INFO@%s" % C,
]
RELAY_ONLY = [B, OUTSIDE]    # relay_domains of both instances besides the hosted ones


# --- scale -----------------------------------------------------------------------------

def scale_domain_rows():
    return [domain_row(SCALE_DOMAIN)]


def scale_mailbox_rows(n, domain=SCALE_DOMAIN):
    for i in range(n):
        yield mailbox_row("u%05d@%s" % (i, domain))


def scale_alias_rows(n, domain=SCALE_DOMAIN):
    """A self-alias per mailbox, plus the domain's postmaster."""
    for i in range(n):
        a = "u%05d@%s" % (i, domain)
        yield (a, a, domain, True)
    yield ("postmaster@%s" % domain, "u00000@%s" % domain, domain, True)


def load_scale(db, n, bulk=True):
    """n mailboxes + self-aliases in SCALE_DOMAIN.  bulk: COPY (PostgreSQL) /
    LOAD DATA (MariaDB); else multi-row INSERTs.  Returns seconds."""
    t0 = time.monotonic()
    db.insert("domain", DOMAIN_COLS, scale_domain_rows())
    if bulk:
        db.copy("mailbox", MAILBOX_COLS, scale_mailbox_rows(n))
        db.copy("alias", ALIAS_COLS, scale_alias_rows(n))
    else:
        mb = list(scale_mailbox_rows(n))
        al = list(scale_alias_rows(n))
        for i in range(0, n, 5000):
            db.insert("mailbox", MAILBOX_COLS, mb[i:i + 5000])
        for i in range(0, len(al), 5000):
            db.insert("alias", ALIAS_COLS, al[i:i + 5000])
    return time.monotonic() - t0


def bench(n=100000):
    import tempfile
    import shutil
    import mariadb_instance
    import pg_instance
    root = tempfile.mkdtemp(prefix="hm-sql-bench-")
    os.chmod(root, 0o755)
    try:
        for mod, cls in ((pg_instance, pg_instance.PgInstance),
                         (mariadb_instance, mariadb_instance.MariadbInstance)):
            ok, why = mod.available()
            if not ok:
                print("%s: skipped (%s)" % (cls.__name__, why))
                continue
            for bulk in (True, False):
                name = "%s-%s" % (cls.kind, "bulk" if bulk else "insert")
                t0 = time.monotonic()
                db = cls(root, name).create()
                t_create = time.monotonic() - t0
                try:
                    secs = load_scale(db, n, bulk)
                    print("%-18s create+start %.2f s; %d mailboxes + %d aliases by %s: %.2f s"
                          % (name, t_create, n, n + 1,
                             ("COPY" if cls.kind == "postgresql" else "LOAD DATA") if bulk
                             else "INSERT (5,000 rows each)", secs), flush=True)
                finally:
                    db.destroy()
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    if sys.argv[1:] == ["--bench"]:
        bench()
    else:
        print(__doc__)
