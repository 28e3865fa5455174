#!/usr/bin/python3
"""SQL sources end to end (issue 11; ctest label `sql`): Postfix Admin's
schema on PostgreSQL and on MariaDB.

Real servers only, on unix sockets and loopback: a private PostgreSQL
cluster (pg_instance.py) and a private MariaDB (mariadb_instance.py), both
with Postfix Admin's tables (sql/) and the data of sql_data.py; the
hosted-milter daemon (milter_process.py) asked over the milter protocol
(milter_client.py); private Postfix instances with a recording sink.  Every
process is stopped by PID, also when a test fails.

Covers, for each server:
  Harness*   the harness alone (no milter): start/stop by PID, cleanup when
             the starter dies, the reader reads but cannot write, a wrong
             password is refused, the data loads, Postfix Admin's documented
             *_maps queries answer as expected through postmap, stop/start
             keeps the data, 100,000 mailboxes + self-aliases bulk-loaded
  Rules*     each mapping rule of schema = postfixadmin through -q; -D;
             -t OK; -t with the server down (exit 1, the source named); a
             wrong password; a world-readable password file
  Oracle*    native Postfix with Postfix Admin's documented pgsql:/mysql:
             maps vs Postfix + hosted-milter on the same database: same
             accept/refuse and the same delivered recipients
  Live*      NOTIFY-driven refresh within 2 s of the COMMIT (PostgreSQL,
             contrib/sql/postfixadmin-notify-postgresql.sql), refresh by
             interval (MariaDB), SIGUSR1; the server down: the running
             milter keeps serving, a restarted one serves the snapshot, the
             source recovers when the server is back; a refresh that would
             break the postmaster invariant keeps the old table and logs why;
             the password in no output, log or snapshot
  Scale*     100,000 mailboxes: `hosted-milter -t` against the client
             (psql -c / mariadb -e) reading the same rows
Measured numbers are printed on lines starting with "[measure]".

The milter-side classes skip (never counted as passed) while hosted-milter
lacks SQL sources: `-t` on `source { type = postgresql }` answering
"type must be ...".

    test_sql.py --milter build/hosted-milter [-k NAME] [--keep]

Exit status 0 all passed, 1 something failed, 77 skipped (not root, neither
server installed).  The last line of output is "N passed, N failed".
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import cases  # noqa: E402
import mariadb_instance  # noqa: E402
import milter_client as mc  # noqa: E402
import milter_process  # noqa: E402
import pg_instance  # noqa: E402
import postfix_instance  # noqa: E402
import smtp_client  # noqa: E402
import sql_data  # noqa: E402
import suite_common  # noqa: E402
import util  # noqa: E402
from util import SANITIZER_TEXT  # noqa: E402
from sql_data import A, A2, C, G, N, P  # noqa: E402

SENDER = "sender@client.example"
NOTIFY_BUDGET = 2.0           # seconds from COMMIT to the milter answering differently
REFRESH_EVERY = 2             # refresh = 2 in the interval test
REFRESH_BUDGET = 4.5
RECOVER_BUDGET = 8.0          # a source serving its snapshot is retried every 5 s
SCALE_N = 100000
SCALE_CAP = 120.0             # generous: speed is reported, not tested


BACKENDS = {
    "postgresql": (pg_instance, pg_instance.PgInstance),
    "mysql": (mariadb_instance, mariadb_instance.MariadbInstance),
}


def note(msg):
    sys.stdout.write("\n    [measure] %s\n" % msg)
    sys.stdout.flush()


def available():
    if os.geteuid() != 0:
        return False, "the SQL tests run as root, like the Postfix ones"
    whys = []
    for kind, (mod, _) in BACKENDS.items():
        ok, why = mod.available()
        if ok:
            return True, ""
        whys.append("%s: %s" % (kind, why))
    return False, "; ".join(whys)


_support = {}


def sql_support(kind):
    """(True, "") when the hosted-milter binary knows `type = kind`, else
    (False, its message).  Asked once per kind."""
    if kind not in _support:
        d = tempfile.mkdtemp(prefix="hm-sql-probe-")
        try:
            conf = os.path.join(d, "probe.conf")
            with open(conf, "w") as f:
                f.write('source "probe" {\n    type = %s\n}\n' % kind)
            p = milter_process.run_tool(suite_common.MILTER_BINARY, conf, "-t")
            out = (p.stdout + p.stderr).strip()
            if "type must be" in out:
                _support[kind] = (False, "hosted-milter lacks SQL sources (-t on type = %s: %s)"
                                  % (kind, out.splitlines()[-1]))
            else:
                _support[kind] = (True, "")
        finally:
            shutil.rmtree(d, ignore_errors=True)
    return _support[kind]


def write(path, text, mode=0o644):
    tmp = path + ".new"
    with open(tmp, "w") as f:
        f.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
    return path


def source_block(db, title="pfa", refresh=0, listen=None, password_file=None, connect=None):
    if db.kind == "postgresql":
        conn = connect or db.conninfo()
    else:
        conn = connect or db.connect_string()
    lines = ['source "%s" {' % title,
             "    type = %s" % db.kind,
             '    connect = "%s"' % conn,
             '    password_file = "%s"' % (password_file or db.reader_password_file),
             "    schema = postfixadmin",
             "    refresh = %d" % refresh]
    if listen:
        lines.append('    listen = "%s"' % listen)
    lines.append("}")
    return "\n".join(lines) + "\n"


def milter_conf(db, state_dir, **kw):
    return ('socket_mode = "0666"\n'
            'recipient_delimiter = "+"\n'
            'state_dir = "%s"\n' % state_dir) + source_block(db, **kw)


def targets(detail):
    return sorted(set(t.strip().lower() for t in detail.split(",") if t.strip()))


# --- the milter protocol ----------------------------------------------------------

from milter_client import accepted, rcpt_answer, refused_unknown, wait_answer  # noqa: E402,F401


# --- fixtures ------------------------------------------------------------------------

class SqlCase(unittest.TestCase):
    """A temp root per class and one database server (self.db) loaded with
    the base data; needs_milter: skip while the binary lacks the type."""

    kind = None                 # "postgresql" | "mysql"
    label = "sql"
    needs_milter = True
    reader_sql = "contrib"      # the reader's grants: contrib/sql/ when there, else whole tables
    base_data = True

    @classmethod
    def setUpClass(cls):
        mod, klass = BACKENDS[cls.kind]
        ok, why = mod.available()
        if not ok:
            raise unittest.SkipTest(why)
        if cls.needs_milter:
            ok, why = sql_support(cls.kind)
            if not ok:
                raise unittest.SkipTest(why)
        cls.binary = suite_common.MILTER_BINARY
        cls.root = tempfile.mkdtemp(prefix="hm-sql-%s-%s-" % (cls.kind, cls.label))
        os.chmod(cls.root, 0o755)
        cls.failed_any = False
        reader_sql = None
        if cls.reader_sql == "contrib" and os.path.exists(mod.CONTRIB_READER):
            reader_sql = mod.CONTRIB_READER
        cls.db = klass(cls.root, cls.kind, reader_sql=reader_sql)
        try:
            cls.db.create()
            if cls.base_data:
                sql_data.load(cls.db)
        except Exception:
            cls.db.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.db.stop()
        if suite_common.KEEP_TMP or cls.failed_any:
            sys.stderr.write("kept %s\n" % cls.root)
        else:
            shutil.rmtree(cls.root, ignore_errors=True)

    def run(self, result=None):
        before = len(result.failures) + len(result.errors) if result else 0
        out = super().run(result)
        if result and len(result.failures) + len(result.errors) > before:
            type(self).failed_any = True
        return out

    def ensure_db_running(self):
        if not self.db.running():
            self.db.start()

    def reload_base(self):
        """Back to the base data (one transaction per statement group)."""
        self.ensure_db_running()
        self.db.reset()
        sql_data.load(self.db)

    def dir_for(self, name):
        d = os.path.join(self.root, "%s-%s" % (self._testMethodName, name))
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o755)
        return d

    def conf_file(self, text, name="hm.conf"):
        return write(os.path.join(self.dir_for("conf"), name), text)

    def tool(self, conf, *args, timeout=60):
        return milter_process.run_tool(self.binary, conf, *args, timeout=timeout)

    def milter(self, conf_text, name="milter"):
        m = milter_process.MilterProcess(self.binary, None, self.dir_for(name), name=name)
        m.write_conf(conf_text)
        self.addCleanup(self._stop_milter, m)
        m.start()
        return m

    def _stop_milter(self, m):
        m.stop()
        log = m.log_text()
        if SANITIZER_TEXT.search(log):
            raise AssertionError("sanitizer report in %s:\n%s" % (m.log, log[-4000:]))

    def add_mailbox_sql(self, address, self_alias=True):
        """Postfix Admin's two rows for a new mailbox, as SQL statements."""
        mod = BACKENDS[self.kind][0]
        lit = mod.sql_literal
        rows = ["INSERT INTO mailbox (%s) VALUES (%s)" % (
            ", ".join(sql_data.MAILBOX_COLS),
            ", ".join(lit(v) for v in sql_data.mailbox_row(address)))]
        if self_alias:
            rows.append("INSERT INTO alias (%s) VALUES (%s)" % (
                ", ".join(sql_data.ALIAS_COLS),
                ", ".join(lit(v) for v in sql_data.alias_row(address, address))))
        return rows

    def delete_mailbox_sql(self, address):
        return ["DELETE FROM alias WHERE address = '%s'" % address,
                "DELETE FROM mailbox WHERE username = '%s'" % address]


# --- the harness alone ---------------------------------------------------------------

class HarnessBase(SqlCase):
    label = "harness"
    needs_milter = False

    def test_start_stop_by_pid(self):
        """the server is our child, answers, stops by PID, starts again with its data"""
        self.ensure_db_running()
        note("%s: create (install + start + schema) then start again: start %.2f s"
             % (self.kind, self.db.start_seconds))
        pid = self.db.pid
        self.assertTrue(util.pid_alive(pid))
        self.assertTrue(self.db.answers())
        n = self.db.count("alias")
        self.db.stop()
        self.assertFalse(util.pid_alive(pid))
        self.assertFalse(self.db.answers())
        self.db.stop()     # idempotent
        t0 = time.monotonic()
        self.db.start()
        note("%s: restart %.2f s" % (self.kind, time.monotonic() - t0))
        self.assertEqual(self.db.count("alias"), n)

    def test_cleanup_when_the_starter_dies(self):
        """a process that starts a server and then raises still stops it (atexit)"""
        mod, klass = BACKENDS[self.kind]
        script = textwrap.dedent("""
            import sys
            sys.path.insert(0, %r)
            import %s as mod
            db = mod.%s(%r, "crash", schema=None).create()
            print(db.pid, flush=True)
            raise RuntimeError("test blew up")
        """) % (HERE, mod.__name__, klass.__name__, self.dir_for("crash"))
        p = subprocess.run([sys.executable, "-c", script], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=120)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("test blew up", p.stderr)
        pid = int(p.stdout.split()[0])
        self.assertTrue(util.wait_until(lambda: not util.pid_alive(pid), 10),
                        "server %d survived its starter" % pid)

    def test_reader_reads_but_cannot_write(self):
        """the read-only role: SELECTs what the milter needs, writes nothing;
        a wrong password is refused; the password file is 0600"""
        self.ensure_db_running()
        r = self.db.as_reader("SELECT username, active FROM mailbox")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("alice@%s" % P, r.stdout)
        r = self.db.as_reader("SELECT address, goto, active FROM alias WHERE address = '@%s'" % C)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.db.as_reader("DELETE FROM alias")
        self.assertNotEqual(r.returncode, 0, "the reader deleted rows")
        r = self.db.as_reader("INSERT INTO domain (domain) VALUES ('evil.example')")
        self.assertNotEqual(r.returncode, 0, "the reader inserted a row")
        r = self.db.as_reader("SELECT 1", password="wrong")
        self.assertNotEqual(r.returncode, 0)
        self.assertRegex(r.stderr, r"(?i)password|denied")
        self.assertEqual(os.stat(self.db.reader_password_file).st_mode & 0o777, 0o600)
        with open(self.db.reader_password_file) as f:
            self.assertEqual(f.read(), self.db.reader_password)

    def test_base_data(self):
        """the base data set is in: counts, the ALL row, inactive rows"""
        self.ensure_db_running()
        rows = sql_data.base_rows()
        for t in sql_data.TABLE_ORDER:
            self.assertEqual(self.db.count(t), len(rows[t][1]), t)
        got = self.db.query("SELECT domain FROM domain WHERE backupmx = '1'")
        self.assertEqual([r[0] for r in got], [sql_data.B])

    def test_oracle_maps(self):
        """Postfix Admin's documented *_maps queries, through postmap -q
        against this server, answer as the oracle needs"""
        ok, why = postfix_instance.available()
        if not ok:
            self.skipTest(why)
        self.ensure_db_running()
        d = self.dir_for("maps")
        etc = os.path.join(d, "etc")
        os.makedirs(etc, exist_ok=True)
        with open(os.path.join(etc, "main.cf"), "w") as f:
            f.write("compatibility_level = 3.6\n")
        maps = write_oracle_maps(self.db, etc)

        def pq(name, key):
            p = subprocess.run([postfix_instance.POSTMAP, "-c", etc, "-q", key, maps[name]],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               timeout=30)
            if p.returncode not in (0, 1) or "fatal" in p.stderr or "warning" in p.stderr:
                raise AssertionError("postmap -q %s %s: rc %d %s" % (key, maps[name],
                                                                    p.returncode, p.stderr))
            return p.stdout.strip() if p.returncode == 0 else None

        want = [
            ("domains", P, P), ("domains", A, A), ("domains", sql_data.B, None),
            ("domains", sql_data.O, None), ("relay_domains", sql_data.B, sql_data.B),
            ("alias", "carol@%s" % P, "carol@%s,bob@%s" % (P, P)),
            ("alias", "Carol@PFA.example", "carol@%s,bob@%s" % (P, P)),
            ("alias", "old@%s" % P, None), ("alias", "@%s" % C, "info@%s" % C),
            ("alias_domain", "sales@%s" % A, "alice@%s,bob@%s" % (P, P)),
            ("alias_domain", "alice@%s" % G, None),
            ("alias_domain_catchall", "kim@%s" % A2, "alice@%s" % P),
            ("mailbox", "kim@%s" % N, "%s/kim/" % N), ("mailbox", "dave@%s" % P, None),
            ("alias_domain_mailbox", "bob@%s" % A, "%s/bob/" % P),
        ]
        problems = []
        for name, key, value in want:
            got = pq(name, key)
            if got != value:
                problems.append("%s %s: %r, expected %r" % (name, key, got, value))
        self.assertFalse(problems, "\n".join(problems))

    def test_100k_bulk_load(self):
        """100,000 mailboxes + self-aliases by COPY / LOAD DATA (seconds printed)"""
        self.ensure_db_running()
        mod, klass = BACKENDS[self.kind]
        db = klass(self.dir_for("scale"), "scale", reader_sql=None)
        self.addCleanup(db.destroy)
        t0 = time.monotonic()
        db.create()
        t_create = time.monotonic() - t0
        secs = sql_data.load_scale(db, SCALE_N, bulk=True)
        note("%s: create %.2f s; %d mailboxes + %d aliases by %s in %.2f s"
             % (self.kind, t_create, SCALE_N, SCALE_N + 1,
                "COPY" if self.kind == "postgresql" else "LOAD DATA LOCAL", secs))
        self.assertEqual(db.count("mailbox"), SCALE_N)
        self.assertEqual(db.count("alias"), SCALE_N + 1)
        self.assertLess(secs, 120)


class HarnessPostgresql(HarnessBase):
    kind = "postgresql"

    def test_notify_trigger(self):
        """contrib's NOTIFY triggers: a LISTENing session hears 'hosted_milter'
        after an INSERT commits (the harness can drive the NOTIFY tests)"""
        if not os.path.exists(pg_instance.CONTRIB_NOTIFY):
            self.skipTest("no %s yet" % pg_instance.CONTRIB_NOTIFY)
        self.ensure_db_running()
        self.db.psql_file(pg_instance.CONTRIB_NOTIFY)
        # One psql session: LISTEN, then (in another session) an INSERT, then
        # a statement so that psql prints the notifications it received.
        listener = subprocess.Popen(
            self.db.psql_argv() + ["-A", "-t"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        try:
            listener.stdin.write("LISTEN hosted_milter;\nSELECT 'listening';\n")
            listener.stdin.flush()
            self.assertEqual(listener.stdout.readline().strip(), "listening")
            self.db.execute(self.add_mailbox_sql("notified@%s" % P))
            listener.stdin.write("SELECT pg_sleep(0.2);\nSELECT 'done';\n")
            listener.stdin.close()
            out = listener.stdout.read()
        finally:
            listener.wait(30)
        self.assertIn('Asynchronous notification "hosted_milter"', out)
        self.db.execute(self.delete_mailbox_sql("notified@%s" % P))


class HarnessMysql(HarnessBase):
    kind = "mysql"


# --- the Postfix oracle ----------------------------------------------------------------

ORACLE_QUERIES = {
    # Postfix Admin's DOCUMENTS/POSTFIX_CONF.txt (the same for pgsql and mysql;
    # active = '1' works for PostgreSQL's boolean and MySQL's tinyint)
    "domains": "SELECT domain FROM domain WHERE domain='%s' AND backupmx = '0' AND active = '1'",
    "relay_domains": "SELECT domain FROM domain WHERE domain='%s' AND backupmx = '1' "
                     "AND active = '1'",
    "alias": "SELECT goto FROM alias WHERE address='%s' AND active = '1'",
    "alias_domain": "SELECT goto FROM alias,alias_domain WHERE alias_domain.alias_domain = '%d' "
                    "AND alias.address = CONCAT('%u', '@', alias_domain.target_domain) "
                    "AND alias.active = '1' AND alias_domain.active = '1'",
    "alias_domain_catchall": "SELECT goto FROM alias,alias_domain "
                             "WHERE alias_domain.alias_domain = '%d' "
                             "AND alias.address = CONCAT('@', alias_domain.target_domain) "
                             "AND alias.active = '1' AND alias_domain.active = '1'",
    "mailbox": "SELECT maildir FROM mailbox WHERE username='%s' AND active = '1'",
    "alias_domain_mailbox": "SELECT maildir FROM mailbox,alias_domain "
                            "WHERE alias_domain.alias_domain = '%d' "
                            "AND mailbox.username = CONCAT('%u', '@', alias_domain.target_domain) "
                            "AND mailbox.active = '1' AND alias_domain.active = '1'",
}


def write_oracle_maps(db, etc):
    """One pgsql:/mysql: map file per query in etc (0640 root:postfix; the
    oracle role's password is in them).  Returns {name: "type:path"}."""
    import grp
    try:
        gid = grp.getgrnam("postfix").gr_gid
    except KeyError:
        gid = 0
    out = {}
    for name, query in ORACLE_QUERIES.items():
        path = os.path.join(etc, "sql_%s.cf" % name)
        if db.kind == "postgresql":
            text = "hosts = %s\ndbname = %s\nquery = %s\n" % (db.uri(), db.dbname, query)
            mtype = "pgsql"
        else:
            text = ("hosts = unix:%s\nuser = %s\npassword = %s\ndbname = %s\nquery = %s\n"
                    % (db.socket_path, db.oracle_user, db.oracle_password, db.dbname, query))
            mtype = "mysql"
        write(path, text, 0o640)
        os.chown(path, 0, gid)
        out[name] = "%s:%s" % (mtype, path)
    return out


class OracleBase(SqlCase):
    """hosted-milter behind one Postfix vs a native Postfix with Postfix
    Admin's maps, the same database and sink; every address sent alone."""

    label = "oracle"
    results = None

    @classmethod
    def setUpClass(cls):
        ok, why = postfix_instance.available()
        if not ok:
            raise unittest.SkipTest(why)
        super().setUpClass()
        try:
            cls.state = os.path.join(cls.root, "state")
            os.makedirs(cls.state)
            cls.conf = write(os.path.join(cls.root, "hm.conf"),
                             milter_conf(cls.db, cls.state, refresh=0))

            def factory(root, name, sink_port, relay_domains, milter_socket):
                return postfix_instance.PostfixInstance(
                    root, name, sink_port, milter_socket=milter_socket,
                    relay_domains=list(relay_domains) + [sql_data.B])
            cls.env = suite_common.Env(factory, conf=cls.conf, label="sql-%s" % cls.kind)
            cls.addClassCleanup(cls.env.stop)
            cls.env.start()
            cls.oracle = cls.start_oracle()
            cls.addClassCleanup(cls.oracle.stop)
        except Exception:
            cls.db.stop()
            raise

    @classmethod
    def start_oracle(cls):
        root = cls.env.root
        sink_port = cls.env.sink.port
        etc = os.path.join(root, "oracle", "etc")
        os.makedirs(etc, exist_ok=True)
        maps = write_oracle_maps(cls.db, etc)
        oracle = postfix_instance.PostfixInstance(
            root, "oracle", sink_port, relay_domains=[],
            extra={
                "virtual_mailbox_domains": maps["domains"],
                "virtual_alias_maps": ", ".join(maps[m] for m in (
                    "alias", "alias_domain", "alias_domain_catchall")),
                "virtual_mailbox_maps": ", ".join(maps[m] for m in (
                    "mailbox", "alias_domain_mailbox")),
                "relay_domains": "%s, %s" % (sql_data.OUTSIDE, maps["relay_domains"]),
                "virtual_transport": "smtp:[127.0.0.1]:%d" % sink_port,
            })
        try:
            oracle.create()
            oracle.start()
        except Exception:
            oracle.stop()
            raise
        return oracle

    @classmethod
    def collect(cls):
        if cls.results is not None:
            return cls.results
        addresses = sql_data.ORACLE_ADDRESSES
        res = {a: {} for a in addresses}
        for side, mta in (("m", cls.env.mta), ("v", cls.oracle)):
            msgs = [{"sender": cases.SENDER, "test_id": "sql-%s-%s-%d" % (cls.kind, side, i),
                     "rcpts": [a]} for i, a in enumerate(addresses)]
            outcomes = smtp_client.send_messages("127.0.0.1", mta.port, msgs)
            mta.wait_queue_empty(60)
            for m, a, o in zip(msgs, addresses, outcomes):
                reply = o.rcpts[0][2]
                rcpts = []
                if o.delivered_ok():
                    recs = smtp_client.wait_for_message(
                        cls.env.sink, m["test_id"], 1, timeout=suite_common.DELIVERY_TIMEOUT,
                        settle=lambda mta=mta: mta.wait_queue_empty(20))
                    rcpts = sorted(d["rcpt"].lower() for d in smtp_client.delivered_rcpts(recs))
                res[a][side] = (reply, rcpts, o)
        cls.results = res
        return res

    def _fail(self, problems):
        if problems:
            self.fail("\n  ".join([""] + problems) + "\n" + self.env.logs()
                      + "\n--- oracle log ---\n" + self.oracle.log_tail(30))

    def test_domains(self):
        """-D: the hosted domains (backup MX, inactive and ALL excluded)"""
        self.assertEqual(sorted(d.lower() for d in self.env.milter.domains()), sql_data.HOSTED)

    def test_same_accept_refuse(self):
        """every address: accepted by both, or refused by both with the same code"""
        problems = []
        for a in sql_data.ORACLE_ADDRESSES:
            (mr, _, mo), (vr, _, vo) = self.collect()[a]["m"], self.collect()[a]["v"]
            if mr is None or vr is None:
                problems.append("%s: no RCPT reply: milter %s, native %s"
                                % (a, mo.as_dict(), vo.as_dict()))
            elif mr.ok() != vr.ok():
                problems.append("%s: milter side %r, native Postfix %r" % (a, mr.line, vr.line))
            elif not mr.ok() and (mr.code, mr.xcode) != (vr.code, vr.xcode):
                problems.append("%s: refused as %r / native %r" % (a, mr.line, vr.line))
        self._fail(problems)

    def test_same_recipients(self):
        """every accepted address: the sink gets the same recipients from both"""
        problems = []
        for a in sql_data.ORACLE_ADDRESSES:
            (mr, mrc, mo), (vr, vrc, vo) = self.collect()[a]["m"], self.collect()[a]["v"]
            if mr is None or not mr.ok() or vr is None or not vr.ok():
                continue
            if not mo.delivered_ok() or not vo.delivered_ok():
                problems.append("%s: DATA milter side %s, native %s"
                                % (a, mo.as_dict(), vo.as_dict()))
            elif not mrc or mrc != vrc:
                problems.append("%s: milter side delivered %s, native Postfix %s" % (a, mrc, vrc))
        self._fail(problems)

    def test_expected_refusals(self):
        """the oracle itself refuses what sql_data says -q rejects"""
        problems = []
        for a, (action, _) in sql_data.EXPECTED_Q.items():
            if a not in self.collect():
                continue
            vr = self.collect()[a]["v"][0]
            if action == "reject" and (vr is None or vr.ok()):
                problems.append("%s: native Postfix %r, expected a refusal"
                                % (a, vr.line if vr else None))
        self._fail(problems)


class OraclePostgresql(OracleBase):
    kind = "postgresql"


class OracleMysql(OracleBase):
    kind = "mysql"


# --- the rules through -q, -t errors -------------------------------------------------

class RulesBase(SqlCase):
    label = "rules"

    def setUp(self):
        self.ensure_db_running()
        self.state = self.dir_for("state")
        self.conf = self.conf_file(milter_conf(self.db, self.state))

    def test_rules(self):
        """each postfixadmin rule, through -q (sql_data.EXPECTED_Q)"""
        got = milter_process.query(self.binary, self.conf, list(sql_data.EXPECTED_Q))
        problems = []
        for addr, (action, detail) in sql_data.EXPECTED_Q.items():
            a, d = got[addr]
            if a != action:
                problems.append("%s: %s %s, expected %s %s" % (addr, a, d, action, detail or ""))
            elif isinstance(detail, list) and targets(d) != sorted(set(t.lower() for t in detail)):
                problems.append("%s: targets %s, expected %s" % (addr, d, detail))
            elif isinstance(detail, str) and not d.startswith(detail):
                problems.append("%s: %r, expected %r" % (addr, d, detail))
        self.assertFalse(problems, "\n  ".join([""] + problems))

    def test_domains(self):
        """-D lists the hosted domains: active, not backupmx, not ALL"""
        got = sorted(d.lower() for d in milter_process.hosted_domains(self.binary, self.conf))
        self.assertEqual(got, sql_data.HOSTED)

    def test_check_ok(self):
        """-t: exit 0, OK, the password nowhere"""
        t = self.tool(self.conf, "-t")
        out = t.stdout + t.stderr
        self.assertEqual(t.returncode, 0, out)
        self.assertIn(": OK: ", t.stdout)
        self.assertNotIn(self.db.reader_password, out)
        note("%s -t: %s" % (self.kind, t.stdout.strip()))

    def test_server_down(self):
        """-t with the server down: exit 1, the message names the source"""
        self.db.stop()
        try:
            t = self.tool(self.conf, "-t")
        finally:
            self.db.start()
        out = t.stdout + t.stderr
        self.assertEqual(t.returncode, 1, out)
        self.assertIn("pfa", out, out)
        note("%s down: %s" % (self.kind, out.strip().splitlines()[-1]))

    def test_bad_password(self):
        """-t with a wrong password: exit 1, the password (right or wrong) not shown"""
        pw = write(os.path.join(self.dir_for("pw"), "wrong.secret"), "not-the-password", 0o600)
        conf = self.conf_file(milter_conf(self.db, self.state, password_file=pw), "bad.conf")
        t = self.tool(conf, "-t")
        out = t.stdout + t.stderr
        self.assertEqual(t.returncode, 1, out)
        self.assertIn("pfa", out, out)
        self.assertNotIn("not-the-password", out)
        self.assertNotIn(self.db.reader_password, out)
        note("%s bad password: %s" % (self.kind, out.strip().splitlines()[-1]))

    def test_world_readable_password_file(self):
        """a world-readable password file is refused"""
        pw = write(os.path.join(self.dir_for("pw"), "open.secret"), self.db.reader_password,
                   0o644)
        conf = self.conf_file(milter_conf(self.db, self.state, password_file=pw), "open.conf")
        t = self.tool(conf, "-t")
        out = t.stdout + t.stderr
        self.assertEqual(t.returncode, 1, out)
        self.assertRegex(out.lower(), r"world|readable|permission|mode", out)
        self.assertNotIn(self.db.reader_password, out)


class RulesPostgresql(RulesBase):
    kind = "postgresql"


class RulesMysql(RulesBase):
    kind = "mysql"


# --- the running milter ------------------------------------------------------------------

class LiveBase(SqlCase):
    label = "live"

    def setUp(self):
        self.reload_base()
        self.state = self.dir_for("state")

    def test_sigusr1(self):
        """refresh = 0, no listen: a committed change shows only after SIGUSR1"""
        m = self.milter(milter_conf(self.db, self.state, refresh=0))
        new = "signalled@%s" % P
        self.db.execute(self.add_mailbox_sql(new))
        time.sleep(1.5)
        self.assertTrue(refused_unknown(rcpt_answer(m.socket, new)), "changed without a reload")
        ok, text = m.reload()
        self.assertTrue(ok, text)
        self.assertTrue(accepted(rcpt_answer(m.socket, new)))

    def test_outage(self):
        """server stopped: the running milter serves the old table (failures
        logged naming the source); a milter restarted meanwhile serves the
        snapshot; server back: the source recovers and a new change shows"""
        m = self.milter(milter_conf(self.db, self.state, refresh=1))
        snap = os.path.join(self.state, "pfa.snapshot")
        self.assertTrue(util.wait_until(lambda: os.path.exists(snap), 5), os.listdir(self.state))
        probe = {"alice@%s" % P: accepted, "sales@%s" % P: accepted, "kim@%s" % N: accepted,
                 "alice@%s" % A: accepted, "nobody@%s" % P: refused_unknown}

        def check_probe(when):
            answers = {a: rcpt_answer(m.socket, a) for a in probe}
            bad = {a: r for a, r in answers.items() if not probe[a](r)}
            self.assertFalse(bad, "%s: %s\n%s" % (when, bad, m.log_text()[-2000:]))

        check_probe("before the outage")
        off = m.log_size()
        self.db.stop()
        t_down = time.monotonic()
        rounds = 0
        while time.monotonic() - t_down < 3.5:
            check_probe("server down, milter running")
            rounds += 1
            time.sleep(0.1)
        log = m.log_text(off)
        self.assertIn("reload failed", log, log)
        self.assertIn("pfa", log, log)
        note("%s down, milter running: %d rounds of RCPTs over 3.5 s answered from the old "
             "table; %d refresh failures logged, e.g. %s"
             % (self.kind, rounds, log.count("reload failed"),
                [l for l in log.splitlines() if "reload failed" in l][:1]))
        m.stop()
        off = m.log_size()
        m.start()
        log = m.log_text(off)
        self.assertRegex(log, r'source "pfa" cannot be read: serving its last snapshot', log)
        check_probe("restarted from the snapshot")
        note("%s down, milter restarted: served the snapshot %s" % (self.kind, snap))
        new = "after.outage@%s" % P
        self.assertTrue(refused_unknown(rcpt_answer(m.socket, new)))
        off = m.log_size()
        t0 = time.monotonic()
        self.db.start()
        self.db.execute(self.add_mailbox_sql(new))
        secs, last, ok = wait_answer(m.socket, new, accepted, RECOVER_BUDGET + 4, interval=0.1)
        note("%s back: %s accepted %.2f s after the server was started"
             % (self.kind, new, time.monotonic() - t0))
        self.assertTrue(ok, "%r after %.1f s\n%s" % (last, secs, m.log_text(off)))
        self.assertLess(secs, RECOVER_BUDGET)
        check_probe("after recovery")

    def test_postmaster_invariant(self):
        """deleting the mailbox pfa.example's postmaster goes to (admin@, and
        its self-alias, as Postfix Admin does): the refresh fails, the log
        names the table/row, the old table keeps serving"""
        m = self.milter(milter_conf(self.db, self.state, refresh=0))
        self.db.execute(self.delete_mailbox_sql("admin@%s" % P))
        ok, text = m.reload()
        self.assertFalse(ok, "postmaster's mailbox deleted, accepted:\n%s" % text)
        lines = [l for l in text.splitlines() if "admin@%s" % P in l.lower()
                 or "postmaster@%s" % P in l.lower()]
        self.assertTrue(lines, "neither admin@ nor postmaster@ named:\n%s" % text)
        self.assertTrue(any(re.search(r"\balias\b", l) for l in lines),
                        "the table (alias) is not named:\n%s" % text)
        note("%s postmaster invariant: %s" % (self.kind, lines[0].strip()))
        self.assertTrue(accepted(rcpt_answer(m.socket, "postmaster@%s" % P)))
        self.assertTrue(accepted(rcpt_answer(m.socket, "admin@%s" % P)))

    def test_consistent_read(self):
        """one consistent read per refresh: while the rows flip between A
        (mailbox flip@, fwd@ -> flip@) and B (no flip@, fwd@ -> alice@), one
        transaction per flip, each state valid, reloads every ~0.15 s never
        see a mix (fwd@ -> flip@ without the mailbox: a failed reload).
        20,000 filler mailboxes widen the gap between the SELECTs."""
        import signal
        import threading
        sql_data.load_scale(self.db, 20000)
        lit = BACKENDS[self.kind][0].sql_literal
        flip, fwd = "flip@%s" % P, "fwd@%s" % P
        self.db.execute(self.add_mailbox_sql(flip, self_alias=False) + [
            "INSERT INTO alias (%s) VALUES (%s)" % (", ".join(sql_data.ALIAS_COLS), ", ".join(
                lit(v) for v in sql_data.alias_row(fwd, flip)))])
        m = self.milter(milter_conf(self.db, self.state, refresh=0))
        to_b = ["DELETE FROM mailbox WHERE username = '%s'" % flip,
                "UPDATE alias SET goto = 'alice@%s' WHERE address = '%s'" % (P, fwd)]
        to_a = self.add_mailbox_sql(flip, self_alias=False) + [
            "UPDATE alias SET goto = '%s' WHERE address = '%s'" % (flip, fwd)]
        # the detector: the mixed state is refused
        self.db.execute(to_b[:1])
        t = self.tool(m.conf, "-t")
        self.assertEqual(t.returncode, 1, "the mixed state accepted:\n" + t.stdout + t.stderr)
        self.db.execute(self.add_mailbox_sql(flip, self_alias=False))
        stop = threading.Event()
        flips = [0]
        errors = []

        def flipper():
            try:
                while not stop.is_set():
                    self.db.execute(to_b if flips[0] % 2 == 0 else to_a)
                    flips[0] += 1
            except Exception as exc:  # noqa: BLE001 -- reported below
                errors.append(exc)
        off = m.log_size()
        th = threading.Thread(target=flipper)
        th.start()
        t0 = time.monotonic()
        sent = 0
        try:
            while time.monotonic() - t0 < 6.0:
                os.kill(m.pid, signal.SIGUSR1)
                sent += 1
                time.sleep(0.15)
        finally:
            stop.set()
            th.join(60)
        time.sleep(1.0)
        log = m.log_text(off)
        self.assertFalse(errors, errors)
        ok_n = log.count("reloaded configuration")
        failed = [l for l in log.splitlines() if "reload failed" in l or "reaches no mailbox" in l]
        note("%s consistent read: %d flips, %d SIGUSR1, %d reloads, %d failed"
             % (self.kind, flips[0], sent, ok_n, len(failed)))
        self.assertFalse(failed, "a refresh saw half a change:\n" + "\n".join(failed[:5]))
        self.assertGreater(ok_n, 5, log[-2000:])

    def test_password_never_shown(self):
        """the password appears in no -t/-q output, log or snapshot"""
        m = self.milter(milter_conf(self.db, self.state, refresh=1))
        snap = os.path.join(self.state, "pfa.snapshot")
        self.assertTrue(util.wait_until(lambda: os.path.exists(snap), 5))
        conf = m.conf
        texts = {"log": m.log_text()}
        for args in (("-t",), ("-q", "alice@%s" % P), ("-D",)):
            t = self.tool(conf, *args)
            texts[" ".join(args)] = t.stdout + t.stderr
        self.db.stop()
        time.sleep(1.5)
        self.db.start()
        texts["log"] = m.log_text()
        with open(snap, errors="replace") as f:
            texts["snapshot"] = f.read()
        for what, text in texts.items():
            self.assertNotIn(self.db.reader_password, text, what)
        self.assertEqual(os.stat(snap).st_mode & 0o007, 0, "snapshot readable by everyone")


class LivePostgresql(LiveBase):
    kind = "postgresql"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if os.path.exists(pg_instance.CONTRIB_NOTIFY):
            cls.db.psql_file(pg_instance.CONTRIB_NOTIFY)

    def test_notify(self):
        """listen = "hosted_milter", refresh = 300: an INSERT (mailbox + self-alias)
        is answered within 2 s of its COMMIT; then a DELETE"""
        self.assertTrue(os.path.exists(pg_instance.CONTRIB_NOTIFY),
                        "no %s" % pg_instance.CONTRIB_NOTIFY)
        m = self.milter(milter_conf(self.db, self.state, refresh=300, listen="hosted_milter"))
        new = "notified@%s" % P
        self.assertTrue(refused_unknown(rcpt_answer(m.socket, new)))
        time.sleep(0.5)          # LISTEN is in place
        self.db.execute(self.add_mailbox_sql(new))
        secs, last, ok = wait_answer(m.socket, new, accepted, NOTIFY_BUDGET + 3)
        note("NOTIFY add: milter accepted %s %.3f s after COMMIT returned" % (new, secs))
        self.assertTrue(ok, "still %r after %.1f s\n%s" % (last, secs, m.log_text()[-2000:]))
        self.assertLess(secs, NOTIFY_BUDGET)
        self.db.execute(self.delete_mailbox_sql(new))
        secs, last, ok = wait_answer(m.socket, new, refused_unknown, NOTIFY_BUDGET + 3)
        note("NOTIFY delete: milter refused %s %.3f s after COMMIT returned" % (new, secs))
        self.assertTrue(ok, "still %r after %.1f s" % (last, secs))
        self.assertLess(secs, NOTIFY_BUDGET)
        # the other tables notify too: a new alias domain (domain + alias_domain rows)
        lit = pg_instance.sql_literal
        # before: not hosted (passed on); after: hosted, nobody@ unknown there
        self.assertTrue(accepted(rcpt_answer(m.socket, "nobody@new-alias.example")))
        self.db.execute([
            "INSERT INTO domain (%s) VALUES (%s)" % (", ".join(sql_data.DOMAIN_COLS), ", ".join(
                lit(v) for v in sql_data.domain_row("new-alias.example"))),
            "INSERT INTO alias_domain (alias_domain, target_domain) "
            "VALUES ('new-alias.example', '%s')" % P])
        secs, last, ok = wait_answer(m.socket, "nobody@new-alias.example", refused_unknown,
                                     NOTIFY_BUDGET + 3)
        note("NOTIFY new alias domain: nobody@new-alias.example refused %.3f s after COMMIT"
             % secs)
        self.assertTrue(ok, "still %r after %.1f s\n%s" % (last, secs, m.log_text()[-2000:]))
        self.assertLess(secs, NOTIFY_BUDGET)
        self.assertTrue(accepted(rcpt_answer(m.socket, "alice@new-alias.example")))

    def test_notify_reconnects(self):
        """the server restarted: LISTEN is taken up again, a NOTIFY after the
        restart still reaches the milter"""
        m = self.milter(milter_conf(self.db, self.state, refresh=300, listen="hosted_milter"))
        self.db.stop()
        time.sleep(1.0)
        self.db.start()
        new = "after.restart@%s" % P
        t0 = time.monotonic()
        deadline = t0 + RECOVER_BUDGET + 4
        ok = False
        # keep committing until one NOTIFY lands on a re-established LISTEN
        while time.monotonic() < deadline and not ok:
            self.db.execute(self.add_mailbox_sql(new))
            _, last, ok = wait_answer(m.socket, new, accepted, 1.0, interval=0.05)
            if not ok:
                self.db.execute(self.delete_mailbox_sql(new))
        note("NOTIFY after a server restart: effective %.2f s after the restart"
             % (time.monotonic() - t0))
        self.assertTrue(ok, m.log_text()[-2000:])


class LiveMysql(LiveBase):
    kind = "mysql"

    def test_refresh_interval(self):
        """refresh = 2 (MySQL has no NOTIFY): a change is seen within ~2-4 s"""
        m = self.milter(milter_conf(self.db, self.state, refresh=REFRESH_EVERY))
        new = "refreshed@%s" % P
        self.assertTrue(refused_unknown(rcpt_answer(m.socket, new)))
        self.db.execute(self.add_mailbox_sql(new))
        secs, last, ok = wait_answer(m.socket, new, accepted, REFRESH_BUDGET + 4)
        note("refresh = %d: milter accepted %s %.3f s after COMMIT" % (REFRESH_EVERY, new, secs))
        self.assertTrue(ok, "still %r after %.1f s\n%s" % (last, secs, m.log_text()[-2000:]))
        self.assertLess(secs, REFRESH_BUDGET)


# --- 100,000 mailboxes -------------------------------------------------------------------

READ_SQL = ("SELECT domain, backupmx, active FROM domain; "
            "SELECT alias_domain, target_domain, active FROM alias_domain; "
            "SELECT username, active FROM mailbox; "
            "SELECT address, goto, active FROM alias;")


class ScaleBase(SqlCase):
    label = "scale"

    def test_100k_mailboxes(self):
        """-t on 100,000 mailboxes + self-aliases, against the client reading
        the same rows as the reader; both times and the ratio printed"""
        load = sql_data.load_scale(self.db, SCALE_N, bulk=True)
        conf = self.conf_file(milter_conf(self.db, self.dir_for("state")))
        t_client = self.client_read()
        t0 = time.monotonic()
        t = self.tool(conf, "-t", timeout=SCALE_CAP + 30)
        secs = time.monotonic() - t0
        self.assertEqual(t.returncode, 0, t.stdout + t.stderr[-2000:])
        note("%s 100k: bulk load %.2f s; hosted-milter -t %.2f s (%s); %s reading the same rows "
             "%.2f s; ratio -t / client %.1f"
             % (self.kind, load, secs, t.stdout.strip(),
                "psql -c" if self.kind == "postgresql" else "mariadb -e", t_client,
                secs / t_client if t_client else 0))
        self.assertLess(secs, SCALE_CAP)
        a = "u%05d@%s" % (SCALE_N - 1, sql_data.SCALE_DOMAIN)
        got = milter_process.query(self.binary, conf, [a, "x@%s" % sql_data.SCALE_DOMAIN])
        self.assertEqual(got[a][0], "keep")
        self.assertEqual(got["x@%s" % sql_data.SCALE_DOMAIN][0], "reject")


class ScalePostgresql(ScaleBase):
    kind = "postgresql"

    def client_read(self):
        argv = [os.path.join(self.db.bin, "psql"), "-X", "-q", "-A", "-t", "-d",
                self.db.conninfo(), "-c", READ_SQL]
        env = dict(os.environ, PGPASSWORD=self.db.reader_password)
        t0 = time.monotonic()
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                           timeout=SCALE_CAP)
        secs = time.monotonic() - t0
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertGreater(p.stdout.count(b"\n"), 2 * SCALE_N)
        return secs


class ScaleMysql(ScaleBase):
    kind = "mysql"

    def client_read(self):
        cnf = os.path.join(self.dir_for("client"), "reader.cnf")
        mariadb_instance.write_secret(cnf, "[client]\nuser=%s\nsocket=%s\npassword=%s\n"
                                      % (self.db.reader, self.db.socket_path,
                                         self.db.reader_password))
        argv = [mariadb_instance.CLIENT, "--defaults-file=%s" % cnf, "-N", "-B",
                "--database=%s" % self.db.dbname, "-e", READ_SQL]
        t0 = time.monotonic()
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=SCALE_CAP)
        secs = time.monotonic() - t0
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertGreater(p.stdout.count(b"\n"), 2 * SCALE_N)
        return secs


CLASSES = [HarnessPostgresql, HarnessMysql, RulesPostgresql, RulesMysql,
           OraclePostgresql, OracleMysql, LivePostgresql, LiveMysql,
           ScalePostgresql, ScaleMysql]


def main(argv=None):
    """suite_common.run_main's command line and exit codes, with the count
    right when whole classes skip: a class-level skip (the server or the
    product feature missing) is no test run, and never a pass."""
    import argparse
    import signal
    import traceback
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--milter", help="the hosted-milter binary (default: $HOSTED_MILTER)")
    ap.add_argument("-k", dest="patterns", action="append",
                    help="only tests whose name contains this (repeatable)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dirs")
    args = ap.parse_args(argv)
    suite_common.KEEP_TMP = suite_common.KEEP_TMP or args.keep
    ok, why = available()
    if not ok:
        print("SKIP: %s" % why)
        print("0 passed, 0 failed")
        return 77
    try:
        suite_common.MILTER_BINARY = milter_process.find_binary(args.milter)
    except FileNotFoundError as exc:
        print("ERROR: %s" % exc)
        print("0 passed, 1 failed")
        return 1

    def on_term(signum, frame):
        raise KeyboardInterrupt("signal %d" % signum)
    signal.signal(signal.SIGTERM, on_term)
    loader = unittest.TestLoader()
    if args.patterns:
        loader.testNamePatterns = ["*%s*" % p for p in args.patterns]
    suite = unittest.TestSuite(loader.loadTestsFromTestCase(c) for c in CLASSES)
    t0 = time.monotonic()
    try:
        result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(suite)
    except KeyboardInterrupt:
        traceback.print_exc()
        print("0 passed, 1 failed (interrupted)")
        return 1

    def real(entries):
        return [e for e in entries if isinstance(e[0], unittest.TestCase)]
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    passed = (result.testsRun - len(real(result.failures)) - len(real(result.errors))
              - len(result.unexpectedSuccesses) - len(real(result.skipped))
              - len(result.expectedFailures))
    skipped = [str(e[0]) for e in result.skipped]
    sys.stdout.flush()
    sys.stderr.write("(%.1f s)\n" % (time.monotonic() - t0))
    sys.stderr.flush()
    if skipped:
        print("skipped (not counted): %s" % ", ".join(skipped))
    print("%d passed, %d failed" % (max(0, passed), failed), flush=True)
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
