#!/usr/bin/python3
"""A private MariaDB server on a unix socket: the MySQL half of the SQL tests
(issue 11).  Standard library only; drives Debian's mariadb-server
(mariadb-install-db, mariadbd) and the mariadb client.

Owns: a throw-away server under a temp dir -- mariadb-install-db
--auth-root-authentication-method=normal into DIR/data (owned by `mysql`),
mariadbd with --no-defaults (nothing from /etc/mysql), --skip-networking,
its socket DIR/sock/mysqld.sock and pid file beside it (DIR/sock is
owned by mysql), run in the foreground as
our child (--user=mysql: it drops root itself) and stopped by PID (SIGTERM,
wait, SIGKILL) also when a test fails (util.stop_at_exit).  InnoDB without a
flush per commit (throw-away data).

Accounts: root@localhost with a password (client options file DIR/root.cnf,
0600) for loading and changing data; the read-only `hosted_milter`@localhost
(password in reader_password_file, mode 0600, no newline) with SELECT on the
Postfix Admin tables only (or, with reader_sql = CONTRIB_READER, the column
grants of contrib/sql/); `postfix_oracle` (SELECT on the four tables) for the
Postfix oracle's maps.  Database `postfix` with Postfix Admin's tables
(sql/postfixadmin-mysql.sql).

    db = MariadbInstance(root_dir, "mariadb").create().start()
    db.connect_string()          # "socket=DIR/sock/mysqld.sock database=postfix user=hosted_milter"
    db.sql("INSERT ...")         # as root, stops at the first error
    db.query("SELECT ...")       # rows as lists of strings
    db.load_data("mailbox", columns, rows)   # LOAD DATA LOCAL INFILE (bulk)
    db.stop(); db.start()        # data kept
    db.destroy()
"""

import os
import pwd
import shutil
import signal
import subprocess
import time

import util

HERE = os.path.dirname(os.path.abspath(__file__))
SQL_DIR = os.path.join(HERE, "sql")
SCHEMA = os.path.join(SQL_DIR, "postfixadmin-mysql.sql")

MARIADBD = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
INSTALL_DB = shutil.which("mariadb-install-db") or "/usr/bin/mariadb-install-db"
CLIENT = shutil.which("mariadb") or "/usr/bin/mariadb"
OS_USER = "mysql"
READER = "hosted_milter"
ORACLE = "postfix_oracle"      # what the Postfix oracle's mysql: maps log in as
CONTRIB_READER = os.path.normpath(os.path.join(HERE, "..", "..", "contrib", "sql",
                                               "postfixadmin-reader-mysql.sql"))
DBNAME = "postfix"
TABLES = ("domain", "mailbox", "alias", "alias_domain")


def available():
    """(True, "") when a private MariaDB can run here, else (False, why)."""
    for path, pkg in ((MARIADBD, "mariadb-server"), (INSTALL_DB, "mariadb-server"),
                      (CLIENT, "mariadb-client")):
        if not os.path.exists(path):
            return False, "%s is missing (apt-get install %s; contrib/install-deps.sh)" % (path, pkg)
    try:
        pwd.getpwnam(OS_USER)
    except KeyError:
        return False, "no '%s' user (the mariadb-server package creates it)" % OS_USER
    if os.geteuid() != 0:
        return False, "the SQL tests run as root, like the Postfix ones"
    return True, ""


class SqlError(RuntimeError):
    def __init__(self, argv, rc, stdout, stderr):
        self.argv = argv
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        super().__init__("%s exited %d: %s" % (os.path.basename(argv[0]), rc,
                                               (stderr or stdout).strip()[-2000:]))


def write_secret(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


def sql_literal(value):
    """A value as a MariaDB literal (backslashes and quotes escaped)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        return str(value)
    return "'" + str(value).replace("\\", "\\\\").replace("'", "''") + "'"


def _tsv_field(value):
    """One field of LOAD DATA's default format (TAB, LF, backslash escapes)."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "1" if value else "0"
    s = str(value)
    return (s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r"))


class MariadbInstance:
    """One private MariaDB.  Construct, create() (install the system
    tables, start, accounts, database, Postfix Admin's tables); always
    stop() or destroy() (safe when never started, idempotent)."""

    kind = "mysql"

    def __init__(self, root, name="mariadb", schema=SCHEMA, reader_sql=None):
        self.root = os.path.abspath(os.path.join(root, name))
        self.name = name
        self.schema = schema
        self.data_dir = os.path.join(self.root, "data")
        self.socket_dir = os.path.join(self.root, "sock")
        self.socket_path = os.path.join(self.socket_dir, "mysqld.sock")
        self.pid_path = os.path.join(self.socket_dir, "mariadbd.pid")
        self.log_path = os.path.join(self.root, "mariadbd.log")
        self.root_cnf = os.path.join(self.root, "root.cnf")
        self.reader = READER
        self.dbname = DBNAME
        self.root_password = "root-%s-pw" % name
        self.reader_password = "rd pw'%s" % name
        self.reader_password_file = os.path.join(self.root, "reader.secret")
        self.reader_sql = reader_sql
        self.oracle_user = ORACLE
        self.oracle_password = "oracle-%s-pw" % name
        self.proc = None
        self.pid = None
        self.start_seconds = None
        self._log = None
        self._pw = pwd.getpwnam(OS_USER)
        self._root_has_password = False

    def connect_string(self, user=None, dbname=None):
        """What the milter's connect = takes for type = mysql."""
        return "socket=%s database=%s user=%s" % (self.socket_path, dbname or self.dbname,
                                                   user or self.reader)

    # --- creation ----------------------------------------------------------
    def server_argv(self):
        return [MARIADBD, "--no-defaults", "--datadir=%s" % self.data_dir,
                "--socket=%s" % self.socket_path, "--skip-networking",
                "--pid-file=%s" % self.pid_path, "--log-error=%s" % self.log_path,
                "--user=%s" % OS_USER, "--skip-log-bin", "--skip-name-resolve",
                "--innodb-buffer-pool-size=128M", "--innodb-log-file-size=64M",
                "--innodb-flush-log-at-trx-commit=0", "--innodb-doublewrite=0",
                "--max-allowed-packet=64M", "--local-infile=1",
                "--character-set-server=utf8mb4", "--collation-server=utf8mb4_general_ci",
                "--max-connections=50"]

    def create(self):
        os.makedirs(self.root, exist_ok=True)
        os.chmod(os.path.dirname(self.root), 0o755)
        os.chmod(self.root, 0o755)
        for d in (self.data_dir, self.socket_dir):
            os.makedirs(d, exist_ok=True)
            os.chown(d, self._pw.pw_uid, self._pw.pw_gid)
        os.chmod(self.socket_dir, 0o755)
        # The error log is written by mariadbd as mysql.
        open(self.log_path, "a").close()
        os.chown(self.log_path, self._pw.pw_uid, self._pw.pw_gid)
        argv = [INSTALL_DB, "--no-defaults", "--datadir=%s" % self.data_dir,
                "--user=%s" % OS_USER, "--auth-root-authentication-method=normal",
                "--skip-test-db", "--skip-name-resolve"]
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=300, stdin=subprocess.DEVNULL, cwd=self.root)
        if p.returncode != 0:
            raise SqlError(argv, p.returncode, p.stdout, p.stderr)
        self._write_root_cnf(with_password=False)
        self.start()
        self.sql("ALTER USER root@localhost IDENTIFIED BY %s;" % sql_literal(self.root_password),
                 dbname="mysql")
        self._write_root_cnf(with_password=True)
        write_secret(self.reader_password_file, self.reader_password)
        self.sql("CREATE DATABASE %s;\n"
                 "CREATE USER %s@localhost IDENTIFIED BY %s;"
                 % (self.dbname, self.reader, sql_literal(self.reader_password)), dbname="mysql")
        self.sql("CREATE USER %s@localhost IDENTIFIED BY %s;"
                 % (self.oracle_user, sql_literal(self.oracle_password)), dbname="mysql")
        if self.schema:
            with open(self.schema) as f:
                self.sql(f.read())
            self.sql("".join("GRANT SELECT ON %s.%s TO %s@localhost;\n"
                             % (self.dbname, t, self.oracle_user) for t in TABLES))
            if self.reader_sql:
                with open(self.reader_sql) as f:
                    self.sql(f.read())
            else:
                self.grant_reader()
        return self

    def grant_reader(self, tables=TABLES):
        """SELECT on the Postfix Admin tables only (as
        contrib/sql/postfixadmin-reader-mysql.sql says)."""
        self.sql("".join("GRANT SELECT ON %s.%s TO %s@localhost;\n" % (self.dbname, t, self.reader)
                         for t in tables))

    def _write_root_cnf(self, with_password):
        text = "[client]\nuser=root\nsocket=%s\n" % self.socket_path
        if with_password:
            text += "password=%s\n" % self.root_password
        write_secret(self.root_cnf, text)

    # --- lifecycle -----------------------------------------------------------
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout=60.0):
        if self.running():
            return self
        t0 = time.monotonic()
        self._log = open(os.path.join(self.root, "mariadbd.stdout"), "ab")
        argv = self.server_argv()
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     cwd=self.root)
        self.pid = self.proc.pid
        util.stop_at_exit(self)
        ok = util.wait_until(lambda: not self.running() or self.answers(), timeout, 0.05)
        if not self.running():
            rc = self.proc.returncode
            self.stop()
            raise SqlError(argv, rc, "", "mariadbd %s exited at start:\n%s"
                           % (self.name, self.log_tail()))
        if not ok:
            self.stop()
            raise TimeoutError("mariadbd %s not answering on %s after %.0fs:\n%s"
                               % (self.name, self.socket_path, timeout, self.log_tail()))
        self.start_seconds = time.monotonic() - t0
        return self

    def answers(self):
        if not os.path.exists(self.socket_path):
            return False
        try:
            p = subprocess.run([CLIENT, "--defaults-file=%s" % self.root_cnf, "-N", "-B",
                                "-e", "SELECT 1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, timeout=10)
        except subprocess.TimeoutExpired:
            return False  # a loaded machine: not yet, the caller's deadline judges
        return p.returncode == 0 and p.stdout.strip() == "1"

    def stop(self, timeout=30.0):
        """SIGTERM by PID (a clean shutdown), wait, SIGKILL.  Data stays."""
        if self.proc is not None:
            if self.proc.poll() is None:
                try:
                    self.proc.send_signal(signal.SIGTERM)
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
        if self.running():
            self.proc.kill()
            self.proc.wait()
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
    def client_argv(self, dbname=None):
        return [CLIENT, "--defaults-file=%s" % self.root_cnf, "--local-infile=1", "-N", "-B",
                "--database=%s" % (dbname or self.dbname)]

    def sql(self, sql, dbname=None, timeout=300, check=True):
        """Run SQL as root (the client stops at the first error).  Returns stdout."""
        argv = self.client_argv(dbname)
        p = subprocess.run(argv, input=sql, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise SqlError(argv, p.returncode, p.stdout, p.stderr)
        return p.stdout if check else p

    # The PostgreSQL harness's name for the same thing.
    psql = sql

    def query(self, sql, dbname=None):
        out = self.sql(sql, dbname)
        return [line.split("\t") for line in out.splitlines() if line != ""]

    def as_reader(self, sql, password=None, timeout=60):
        """Run SQL as the read-only user with its password (or another one)."""
        cnf = os.path.join(self.root, "reader-%d.cnf" % time.monotonic_ns())
        write_secret(cnf, "[client]\nuser=%s\nsocket=%s\npassword=%s\n"
                     % (self.reader, self.socket_path,
                        self.reader_password if password is None else password))
        try:
            return subprocess.run([CLIENT, "--defaults-file=%s" % cnf, "-N", "-B",
                                   "--database=%s" % self.dbname, "-e", sql],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  timeout=timeout)
        finally:
            os.unlink(cnf)

    def execute(self, statements):
        """Run statements in one transaction."""
        self.sql("START TRANSACTION;\n" + ";\n".join(s.rstrip(";") for s in statements)
                 + ";\nCOMMIT;\n")

    def insert(self, table, columns, rows, batch=5000):
        rows = list(rows)
        for i in range(0, len(rows), batch):
            chunk = rows[i:i + batch]
            values = ",\n".join("(" + ", ".join(sql_literal(v) for v in r) + ")" for r in chunk)
            self.sql("INSERT INTO %s (%s) VALUES\n%s;" % (table, ", ".join(columns), values))

    def load_data(self, table, columns, rows, timeout=600):
        """Bulk load through LOAD DATA LOCAL INFILE (a TSV file in the
        instance dir).  Returns the seconds taken by the client."""
        path = os.path.join(self.root, "load-%s-%d.tsv" % (table, time.monotonic_ns()))
        with open(path, "w") as f:
            for r in rows:
                f.write("\t".join(_tsv_field(v) for v in r) + "\n")
        t0 = time.monotonic()
        try:
            self.sql("LOAD DATA LOCAL INFILE %s INTO TABLE %s (%s);"
                     % (sql_literal(path), table, ", ".join(columns)), timeout=timeout)
        finally:
            os.unlink(path)
        return time.monotonic() - t0

    copy = load_data

    def count(self, table):
        return int(self.query("SELECT count(*) FROM %s" % table)[0][0])

    def reset(self):
        self.sql("DELETE FROM alias_domain; DELETE FROM alias; DELETE FROM mailbox; "
                 "DELETE FROM domain;")
