#!/usr/bin/python3
"""A private Postfix instance on loopback: the Postfix adapter of the harness.

Owns everything Postfix-specific in the integration tests: the main.cf and
master.cf of a throw-away instance under a temp dir (own config, queue and
data directories, no chroot unless asked, inet_interfaces = 127.0.0.1 on a free port,
mynetworks empty, all mail relayed to the sink, maillog_file in the temp
dir, short queue times), its lifecycle (start/reload/stop by absolute -c
path, the master killed by PID if `postfix stop` is not enough), postconf
and postmap helpers, queue inspection, and how Postfix words the replies a
test compares (reply_parts, MILTER_DOWN).  Two flavours:

  milter instance:  smtpd_milters = unix:SOCKET, milter_default_action =
                    tempfail, relay_domains given (from `hosted-milter -D`);
  oracle instance:  no milter, the same table as virtual_alias_maps
                    (hash:, built with postmap -c) -- see cases.ORACLE_VIRTUAL.

Every started instance is also registered with atexit, so an interpreter
that dies on an exception still stops it.
"""

import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import time

import util

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"
POSTCONF = shutil.which("postconf") or "/usr/sbin/postconf"
POSTMAP = shutil.which("postmap") or "/usr/sbin/postmap"
POSTQUEUE = shutil.which("postqueue") or "/usr/sbin/postqueue"



def available():
    """(True, "") when a private Postfix can run here, else (False, why)."""
    if not os.path.exists(POSTFIX) or not os.path.exists(POSTCONF):
        return False, "postfix is not installed"
    if os.geteuid() != 0:
        return False, "a private Postfix needs root (postfix start)"
    try:
        pwd.getpwnam("postfix")
    except KeyError:
        return False, "no 'postfix' user"
    return True, ""


MASTER_CF = """\
# service type  private unpriv  chroot  wakeup  maxproc command
{listen} inet  n       -       {chroot}       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       {chroot}       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class PostfixError(RuntimeError):
    pass


class PostfixInstance:
    """One private Postfix.  Construct, then create() and start(); always
    stop() (also safe when never started, and idempotent)."""

    mta_name = "postfix"
    # How Postfix answers when the milter cannot be reached
    # (milter_default_action = tempfail).
    MILTER_DOWN = (451, "4.7.1")

    def __init__(self, root, name, sink_port, relay_domains=(), milter_socket=None,
                 virtual_lines=None, port=None, extra=None, chroot=False):
        self.root = os.path.abspath(os.path.join(root, name))
        self.name = name
        self.sink_port = sink_port
        self.relay_domains = list(relay_domains)
        self.milter_socket = milter_socket
        self.virtual_lines = virtual_lines
        self.port = port or util.free_port()
        self.extra = dict(extra or {})
        # smtpd and cleanup chrooted to the queue directory, as Debian's
        # master.cf has them (test_shipped.py); unix: milter paths are then
        # resolved inside it.
        self.chroot = chroot
        self.etc = os.path.join(self.root, "etc")
        self.spool = os.path.join(self.root, "spool")
        self.data = os.path.join(self.root, "data")
        self.maillog = os.path.join(self.root, "maillog")
        self.virtual_path = os.path.join(self.etc, "virtual")
        self.master_pid = None
        self.started = False

    # --- configuration ---------------------------------------------------
    def main_cf(self):
        s = {
            "compatibility_level": "3.6",
            "config_directory": self.etc,
            "queue_directory": self.spool,
            "data_directory": self.data,
            "syslog_name": "postfix-hm-%s" % self.name,
            "myhostname": "%s.hm.test" % self.name,
            "mydomain": "hm.test",
            "myorigin": "$myhostname",
            "mydestination": "",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "mynetworks": "",
            "relay_domains": " ".join(self.relay_domains),
            "smtpd_relay_restrictions": "reject_unauth_destination",
            "smtpd_recipient_restrictions": "",
            "default_transport": "smtp:[127.0.0.1]:%d" % self.sink_port,
            "relay_transport": "smtp:[127.0.0.1]:%d" % self.sink_port,
            "local_transport": "smtp:[127.0.0.1]:%d" % self.sink_port,
            "alias_maps": "",
            "alias_database": "",
            "local_recipient_maps": "",
            "virtual_alias_domains": "",
            "recipient_delimiter": "+",
            # SMTPUTF8 (the default, said here because the IDN and UTF-8
            # cases depend on it)
            "smtputf8_enable": "yes",
            "biff": "no",
            "smtp_dns_support_level": "disabled",
            "smtpd_tls_security_level": "none",
            "smtp_tls_security_level": "none",
            "maillog_file": self.maillog,
            "maillog_file_prefixes": self.root,
            "minimal_backoff_time": "5s",
            "maximal_backoff_time": "10s",
            "queue_run_delay": "5s",
            # Tests send many rejected RCPTs per connection on purpose.
            "smtpd_error_sleep_time": "0",
            "smtpd_soft_error_limit": "1000",
            "smtpd_hard_error_limit": "1000",
            "smtpd_junk_command_limit": "1000",
            "smtpd_client_connection_count_limit": "0",
        }
        if self.milter_socket:
            s.update({
                "smtpd_milters": "unix:%s" % self.milter_socket,
                "milter_default_action": "tempfail",
                "milter_protocol": "6",
            })
        if self.virtual_lines is not None:
            s["virtual_alias_maps"] = "hash:%s" % self.virtual_path
        s.update(self.extra)
        return "".join("%s = %s\n" % kv for kv in s.items())

    def create(self):
        """Write the instance's files and let `postfix check` make the queue."""
        for d in (self.etc, self.spool, self.data):
            os.makedirs(d, exist_ok=True)
        # The postfix user must traverse the tree (the milter socket lives
        # beside it); mkdtemp made the parents 0700.
        for d in (os.path.dirname(self.root), self.root):
            os.chmod(d, 0o755)
        pw = pwd.getpwnam("postfix")
        os.chown(self.data, pw.pw_uid, pw.pw_gid)
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(self.main_cf())
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(listen="127.0.0.1:%d" % self.port,
                                     chroot="y" if self.chroot else "n"))
        if self.virtual_lines is not None:
            self.write_virtual(self.virtual_lines)
        self._run([POSTFIX, "-c", self.etc, "check"])
        return self

    def write_virtual(self, lines):
        with open(self.virtual_path, "w") as f:
            f.write("".join(l + "\n" for l in lines))
        self.postmap("hash:%s" % self.virtual_path)

    def postconf(self, *settings):
        """postconf -c ETC -e 'name = value' ...; reload() to apply."""
        self._run([POSTCONF, "-c", self.etc, "-e"] + list(settings))

    def postconf_get(self, name):
        out = self._run([POSTCONF, "-c", self.etc, "-h", name])
        return out.strip()

    def postmap(self, spec):
        self._run([POSTMAP, "-c", self.etc, spec])

    def _run(self, argv, check=True, timeout=60):
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if check and p.returncode != 0:
            raise PostfixError("%s failed (rc=%d): %s\nmaillog tail:\n%s"
                               % (" ".join(argv), p.returncode, p.stdout.strip(),
                                  self.log_tail()))
        return p.stdout

    # --- lifecycle -------------------------------------------------------
    def _read_master_pid(self):
        try:
            with open(os.path.join(self.spool, "pid", "master.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def start(self, timeout=30):
        util.stop_at_exit(self)
        self.started = True
        self._run([POSTFIX, "-c", self.etc, "start"])
        deadline = time.monotonic() + timeout
        while self.master_pid is None and time.monotonic() < deadline:
            self.master_pid = self._read_master_pid()
            if self.master_pid is None:
                time.sleep(0.05)
        if self.master_pid is None:
            raise PostfixError("no master.pid after start\n" + self.log_tail())
        util.wait_for_port(self.port, timeout=timeout,
                           alive=lambda: util.pid_alive(self.master_pid))
        return self

    def reload(self):
        off = util.file_size(self.maillog)
        self._run([POSTFIX, "-c", self.etc, "reload"])
        try:
            util.wait_for_text(self.maillog, "reload", offset=off, timeout=10)
        except TimeoutError:
            pass
        util.wait_for_port(self.port, timeout=20)

    def stop(self, timeout=15):
        """Stop the instance: `postfix stop`, then the master's PID by force
        if it is still there.  Idempotent; never raises for a dead instance."""
        if not self.started:
            util.stopped(self)
            return
        pid = self.master_pid or self._read_master_pid()
        try:
            self._run([POSTFIX, "-c", self.etc, "stop"], check=False, timeout=30)
        except subprocess.TimeoutExpired:
            pass
        if pid is not None:
            deadline = time.monotonic() + timeout
            while util.pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if util.pid_alive(pid):
                util.stop_pid(pid, timeout=5, sig=signal.SIGKILL)
        self.started = False
        util.stopped(self)

    def destroy(self):
        """stop() and remove the instance's directory."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    # --- queue and log ---------------------------------------------------
    def queue(self):
        """The queued messages (postqueue -j records)."""
        out = self._run([POSTQUEUE, "-c", self.etc, "-j"], check=False)
        recs = []
        for line in out.splitlines():
            line = line.strip()
            if line.startswith("{"):
                recs.append(json.loads(line))
        return recs

    def wait_queue_empty(self, timeout=20.0):
        """True once nothing is queued (delivery finished or bounced)."""
        return util.wait_until(lambda: not self.queue(), timeout)

    def flush(self):
        self._run([POSTQUEUE, "-c", self.etc, "-f"], check=False)

    def log_size(self):
        return util.file_size(self.maillog)

    def log_text(self, offset=0):
        return util.read_from(self.maillog, offset)

    def log_tail(self, n=40):
        return "\n".join(self.log_text().splitlines()[-n:])

    # --- how Postfix words replies (adapter interface) ---------------------
    @staticmethod
    def reply_parts(reply):
        """Split a milter reject/tempfail reply text as Postfix shows it
        ("<addr>: rest", verbatim from smfi_setreply) into (addr, rest);
        addr None when the text does not start with an address."""
        m = re.match(r"^<([^>]*)>: (.*)$", reply.text, re.S)
        if not m:
            return None, reply.text
        return m.group(1), m.group(2)

    @staticmethod
    def expected_reply_line(q_detail, path):
        """The RCPT reply line Postfix shows for a milter reply that
        `hosted-milter -q` reports as q_detail: verbatim (path unused)."""
        return q_detail

    @staticmethod
    def milter_warnings(text):
        """Log lines that show trouble between Postfix and a milter: any
        warning/error/fatal naming the milter, or ESMTP arguments, ORCPT or
        NOTIFY that a milter handed over and Postfix refused."""
        out = []
        for line in text.splitlines():
            if not re.search(r"\b(warning|error|fatal|panic):", line):
                continue
            if re.search(r"milter|Milter|ORCPT|NOTIFY|ESMTP argument", line):
                out.append(line)
        return out

    def __repr__(self):
        return "PostfixInstance(%s, port %d)" % (self.name, self.port)
