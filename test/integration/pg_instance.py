#!/usr/bin/python3
"""A private PostgreSQL cluster on a unix socket: the PostgreSQL half of the
SQL tests (issue 11).  Standard library only; drives Debian's PostgreSQL
(initdb, postgres, psql of the newest /usr/lib/postgresql/N).

Owns: a throw-away cluster under a temp dir -- initdb run as the `postgres`
user (the tests run as root; PostgreSQL refuses root) into DIR/data, a
socket directory DIR/sock and no TCP at all (listen_addresses = ''), a free
port number only for the socket's name (.s.PGSQL.PORT), fsync off (a
throw-away cluster) -- the postmaster run in the foreground as our child
(no pg_ctl daemon: nothing here reaps orphans, a daemonized postmaster
would linger as a zombie), stopped by PID (SIGINT = pg_ctl's "fast"
shutdown, wait, SIGKILL) also when a test fails (util.stop_at_exit).

Roles: the superuser `postgres`, reached over the socket by peer
authentication from root or postgres (pg_ident map), used for loading and
changing data; the read-only role `hosted_milter` (password, scram-sha-256)
with SELECT on the Postfix Admin tables only (or, with reader_sql =
CONTRIB_READER, the column grants of contrib/sql/), whose password is in
reader_password_file (mode 0600, owner root, no newline) for the milter's
password_file; `postfix_oracle` (SELECT on the four tables) for the Postfix
oracle's maps (uri()).  Database `postfix` with Postfix Admin's tables
(sql/postfixadmin-postgresql.sql).

    pg = PgInstance(root_dir, "pg").create().start()
    pg.conninfo()                # "host=DIR/sock port=N dbname=postfix user=hosted_milter"
    pg.psql("INSERT ...")        # as the superuser, ON_ERROR_STOP
    pg.query("SELECT ...")       # rows as lists of strings
    pg.copy("mailbox", columns, rows)   # COPY FROM STDIN (bulk)
    pg.stop(); pg.start()        # data kept (outage tests)
    pg.destroy()
"""

import glob
import os
import pwd
import shutil
import signal
import subprocess
import time
import urllib.parse

import util

HERE = os.path.dirname(os.path.abspath(__file__))
SQL_DIR = os.path.join(HERE, "sql")
SCHEMA = os.path.join(SQL_DIR, "postfixadmin-postgresql.sql")

OS_USER = "postgres"
SUPERUSER = "postgres"
READER = "hosted_milter"
ORACLE = "postfix_oracle"      # what the Postfix oracle's pgsql: maps log in as
CONTRIB_READER = os.path.normpath(os.path.join(HERE, "..", "..", "contrib", "sql",
                                               "postfixadmin-reader-postgresql.sql"))
CONTRIB_NOTIFY = os.path.normpath(os.path.join(HERE, "..", "..", "contrib", "sql",
                                               "postfixadmin-notify-postgresql.sql"))
DBNAME = "postfix"
TABLES = ("domain", "mailbox", "alias", "alias_domain")


def bindir():
    """The newest /usr/lib/postgresql/N/bin with initdb and postgres."""
    best = None
    for d in glob.glob("/usr/lib/postgresql/*/bin"):
        try:
            v = int(d.split("/")[-2])
        except ValueError:
            continue
        if os.path.exists(os.path.join(d, "initdb")) and (best is None or v > best[0]):
            best = (v, d)
    return best[1] if best else None


def available():
    """(True, "") when a private cluster can run here, else (False, why)."""
    b = bindir()
    if b is None:
        return False, "PostgreSQL is not installed (apt-get install postgresql; contrib/install-deps.sh)"
    for tool in ("initdb", "postgres", "psql"):
        if not os.path.exists(os.path.join(b, tool)):
            return False, "%s/%s is missing" % (b, tool)
    try:
        pwd.getpwnam(OS_USER)
    except KeyError:
        return False, "no '%s' user (the postgresql package creates it)" % OS_USER
    if os.geteuid() != 0:
        return False, "the SQL tests run as root, like the Postfix ones"
    return True, ""


class SqlError(RuntimeError):
    """psql (or initdb) failed: rc, stderr kept."""

    def __init__(self, argv, rc, stdout, stderr):
        self.argv = argv
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        super().__init__("%s exited %d: %s" % (os.path.basename(argv[0]), rc,
                                               (stderr or stdout).strip()[-2000:]))


def write_secret(path, text):
    """A password file: mode 0600 from the start, owner root, no newline."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


def sql_literal(value):
    """A value as a standard SQL literal ('...' doubled quotes; NULL; true/false)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _copy_field(value):
    """One field of COPY's text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    s = str(value)
    return (s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r"))


class PgInstance:
    """One private cluster.  Construct, create() (initdb, roles, database,
    Postfix Admin's tables), start() is done by create(); always stop() or
    destroy() (both safe when never started, idempotent)."""

    kind = "postgresql"

    def __init__(self, root, name="pg", port=None, schema=SCHEMA, log_statements=False,
                 reader_sql=None):
        self.bin = bindir()
        self.root = os.path.abspath(os.path.join(root, name))
        self.name = name
        self.port = port or util.free_port()
        self.schema = schema
        self.log_statements = log_statements
        self.data_dir = os.path.join(self.root, "data")
        self.socket_dir = os.path.join(self.root, "sock")
        self.log_path = os.path.join(self.root, "postgres.log")
        self.reader = READER
        self.dbname = DBNAME
        # A test password, not a secret; with a quote and a space so that
        # quoting bugs show.
        self.reader_password = "rd pw'%s" % name
        self.reader_password_file = os.path.join(self.root, "reader.secret")
        # None: SELECT on the four tables; else a file (the contrib one)
        # that grants the reader what it needs, run after the tables exist.
        self.reader_sql = reader_sql
        self.oracle_user = ORACLE
        self.oracle_password = "oracle-%s-pw" % name
        self.proc = None
        self.pid = None
        self.start_seconds = None
        self._log = None
        self._pw = pwd.getpwnam(OS_USER)

    # --- addresses ---------------------------------------------------------
    @property
    def socket_path(self):
        return os.path.join(self.socket_dir, ".s.PGSQL.%d" % self.port)

    def conninfo(self, user=None, dbname=None):
        """libpq conninfo for the milter's connect = (no password)."""
        return "host=%s port=%d dbname=%s user=%s" % (self.socket_dir, self.port,
                                                      dbname or self.dbname, user or self.reader)

    def uri(self, dbname=None, credentials=True, user=None, password=None):
        """postgresql:// URI for Postfix's pgsql: hosts = (the socket dir as
        a host= parameter).  Postfix passes a URI to libpq as it is and then
        ignores the map's user/password: they go into the URI
        (percent-encoded) unless credentials is false."""
        who = ""
        if credentials:
            who = "%s:%s@" % (urllib.parse.quote(user or self.oracle_user, safe=""),
                              urllib.parse.quote(password or self.oracle_password, safe=""))
        return "postgresql://%s/%s?host=%s&port=%d" % (
            who, dbname or self.dbname, urllib.parse.quote(self.socket_dir, safe="/"), self.port)

    # --- helpers -----------------------------------------------------------
    def _tool(self, name):
        return os.path.join(self.bin, name)

    def _as_postgres(self, argv, input=None, timeout=120, check=True):
        p = subprocess.run(argv, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=timeout, user=self._pw.pw_uid,
                           group=self._pw.pw_gid, extra_groups=[], cwd=self.root,
                           env={"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"})
        if check and p.returncode != 0:
            raise SqlError(argv, p.returncode, p.stdout, p.stderr)
        return p

    def _chown(self, path):
        os.chown(path, self._pw.pw_uid, self._pw.pw_gid)

    # --- creation ----------------------------------------------------------
    def create(self):
        """initdb, configuration, start, roles, database and tables."""
        os.makedirs(self.root, exist_ok=True)
        os.chmod(os.path.dirname(self.root), 0o755)
        os.chmod(self.root, 0o755)
        self._chown(self.root)
        os.makedirs(self.socket_dir, exist_ok=True)
        self._chown(self.socket_dir)
        os.chmod(self.socket_dir, 0o755)
        self._as_postgres([self._tool("initdb"), "-D", self.data_dir, "-U", SUPERUSER,
                           "-E", "UTF8", "--locale=C.UTF-8", "--auth-local=peer",
                           "--auth-host=reject", "-N"])
        with open(os.path.join(self.data_dir, "pg_hba.conf"), "w") as f:
            f.write("# generated by test/integration/pg_instance.py\n"
                    "local all %s peer map=admin\n"
                    "local all all scram-sha-256\n" % SUPERUSER)
        with open(os.path.join(self.data_dir, "pg_ident.conf"), "w") as f:
            f.write("admin root %s\nadmin %s %s\n" % (SUPERUSER, OS_USER, SUPERUSER))
        with open(os.path.join(self.data_dir, "postgresql.auto.conf"), "a") as f:
            f.write("listen_addresses = ''\n"
                    "unix_socket_directories = '%s'\n"
                    "unix_socket_permissions = 0777\n"
                    "port = %d\n"
                    "max_connections = 40\n"
                    "shared_buffers = 64MB\n"
                    "fsync = off\n"
                    "synchronous_commit = off\n"
                    "full_page_writes = off\n"
                    "password_encryption = 'scram-sha-256'\n"
                    "log_destination = 'stderr'\n"
                    "logging_collector = off\n"
                    "log_line_prefix = '%%m [%%p] %%u@%%d '\n"
                    "log_connections = on\n"
                    "log_disconnections = on\n"
                    "log_statement = '%s'\n"
                    % (self.socket_dir, self.port, "all" if self.log_statements else "none"))
        write_secret(self.reader_password_file, self.reader_password)
        self.start()
        self.psql("CREATE DATABASE %s" % self.dbname, dbname="postgres")
        self.psql("CREATE ROLE %s LOGIN PASSWORD %s" % (self.reader,
                                                        sql_literal(self.reader_password)),
                  dbname="postgres")
        self.psql("CREATE ROLE %s LOGIN PASSWORD %s" % (self.oracle_user,
                                                        sql_literal(self.oracle_password)),
                  dbname="postgres")
        if self.schema:
            self.psql_file(self.schema)
            self.psql("GRANT CONNECT ON DATABASE %s TO %s; GRANT SELECT ON %s TO %s;"
                      % (self.dbname, self.oracle_user, ", ".join(TABLES), self.oracle_user))
            if self.reader_sql:
                self.psql_file(self.reader_sql,
                               variables={"password": sql_literal(self.reader_password)})
            else:
                self.grant_reader()
        return self

    def grant_reader(self, tables=TABLES):
        """The reader may connect and SELECT the Postfix Admin tables, nothing
        else (as contrib/sql/postfixadmin-reader-postgresql.sql says)."""
        self.psql("REVOKE ALL ON SCHEMA public FROM PUBLIC;"
                  "GRANT CONNECT ON DATABASE %s TO %s;"
                  "GRANT USAGE ON SCHEMA public TO %s;"
                  "GRANT SELECT ON %s TO %s;"
                  % (self.dbname, self.reader, self.reader, ", ".join(tables), self.reader))

    # --- lifecycle -----------------------------------------------------------
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout=30.0):
        """The postmaster in the foreground as our child (as user postgres);
        wait until it answers SELECT 1.  Returns self."""
        if self.running():
            return self
        t0 = time.monotonic()
        self._log = open(self.log_path, "ab")
        self._log.write(b"--- start %s\n" % time.strftime("%H:%M:%S").encode())
        self._log.flush()
        argv = [self._tool("postgres"), "-D", self.data_dir]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     user=self._pw.pw_uid, group=self._pw.pw_gid,
                                     extra_groups=[], cwd=self.root,
                                     env={"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"})
        self.pid = self.proc.pid
        util.stop_at_exit(self)
        ok = util.wait_until(lambda: not self.running() or self.answers(), timeout, 0.05)
        if not self.running():
            rc = self.proc.returncode
            self.stop()
            raise SqlError(argv, rc, "", "postgres %s exited at start:\n%s"
                           % (self.name, self.log_tail()))
        if not ok:
            self.stop()
            raise TimeoutError("postgres %s not answering on %s after %.0fs:\n%s"
                               % (self.name, self.socket_path, timeout, self.log_tail()))
        self.start_seconds = time.monotonic() - t0
        return self

    def answers(self):
        """True when the superuser gets an answer to SELECT 1."""
        if not os.path.exists(self.socket_path):
            return False
        try:
            p = subprocess.run([self._tool("psql"), "-X", "-q", "-A", "-t", "-h", self.socket_dir,
                                "-p", str(self.port), "-U", SUPERUSER, "-d", "postgres",
                                "-c", "SELECT 1"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               timeout=10)
        except subprocess.TimeoutExpired:
            return False  # a loaded machine: not yet, the caller's deadline judges
        return p.returncode == 0 and p.stdout.strip() == "1"

    def stop(self, timeout=15.0):
        """Fast shutdown by PID (SIGINT, as pg_ctl stop -m fast sends),
        wait, SIGKILL if it lingers.  Data stays.  Idempotent."""
        if self.proc is not None:
            if self.proc.poll() is None:
                try:
                    self.proc.send_signal(signal.SIGINT)
                except ProcessLookupError:
                    pass
                try:
                    self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None
        util.stopped(self)

    def kill(self):
        """SIGKILL the postmaster (a crash; its backends exit on their own
        when they see it gone).  Data committed so far stays."""
        if self.running():
            self.proc.kill()
            self.proc.wait()
        # The backends notice the postmaster's death within a moment; a
        # restart waits for them (the shared memory is still attached).
        self.stop()

    def destroy(self, keep=False):
        self.stop()
        if not keep:
            shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, n=40):
        lines = util.read_from(self.log_path).splitlines()
        return "\n".join(lines[-n:])

    def log_size(self):
        return util.file_size(self.log_path)

    def log_text(self, offset=0):
        return util.read_from(self.log_path, offset)

    # --- SQL -----------------------------------------------------------------
    def psql_argv(self, dbname=None, user=SUPERUSER):
        return [self._tool("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.socket_dir,
                "-p", str(self.port), "-U", user, "-d", dbname or self.dbname]

    def psql(self, sql, dbname=None, timeout=300, check=True):
        """Run SQL (one or more statements, in one session) as the superuser.
        Returns psql's stdout.  Raises SqlError on the first error."""
        argv = self.psql_argv(dbname) + ["-A", "-t", "-F", "\t"]
        p = subprocess.run(argv, input=sql, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise SqlError(argv, p.returncode, p.stdout, p.stderr)
        return p.stdout if check else p

    def psql_file(self, path, dbname=None, variables=None):
        argv = self.psql_argv(dbname) + ["-f", path]
        for k, v in (variables or {}).items():
            argv[1:1] = ["-v", "%s=%s" % (k, v)]
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=300)
        if p.returncode != 0:
            raise SqlError(argv, p.returncode, p.stdout, p.stderr)
        return p.stdout

    def query(self, sql, dbname=None):
        """Rows of one SELECT (as the superuser): lists of strings ('t'/'f'
        for booleans, '' for NULL)."""
        out = self.psql(sql, dbname)
        return [line.split("\t") for line in out.splitlines() if line != ""]

    def as_reader(self, sql, password=None, timeout=60):
        """Run SQL as the read-only role with its password (or another one).
        Returns the CompletedProcess (rc 0 ok; stderr says why not)."""
        argv = [self._tool("psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                "-d", self.conninfo(), "-c", sql]
        env = dict(os.environ, PGPASSWORD=self.reader_password if password is None else password)
        return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=timeout, env=env)

    def execute(self, statements):
        """Run statements (a list of SQL strings) in one transaction."""
        self.psql("BEGIN;\n" + ";\n".join(s.rstrip(";") for s in statements) + ";\nCOMMIT;\n")

    def insert(self, table, columns, rows):
        """Multi-row INSERT of rows (tuples in columns' order)."""
        if not rows:
            return
        values = ",\n".join("(" + ", ".join(sql_literal(v) for v in r) + ")" for r in rows)
        self.psql("INSERT INTO %s (%s) VALUES\n%s;" % (table, ", ".join(columns), values))

    def copy(self, table, columns, rows, timeout=600):
        """Bulk load: COPY table (columns) FROM STDIN, rows an iterable of
        tuples.  Returns the seconds taken by psql."""
        data = "".join("\t".join(_copy_field(v) for v in r) + "\n" for r in rows)
        sql = "COPY %s (%s) FROM STDIN;\n%s\\.\n" % (table, ", ".join(columns), data)
        t0 = time.monotonic()
        self.psql(sql, timeout=timeout)
        return time.monotonic() - t0

    def count(self, table):
        return int(self.query("SELECT count(*) FROM %s" % table)[0][0])

    def reset(self):
        """Empty the four tables (one transaction)."""
        self.psql("TRUNCATE alias_domain, alias, mailbox, domain CASCADE;")
