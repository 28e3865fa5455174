#!/usr/bin/python3
"""The hosted-milter daemon under test, as a child process.

Owns: locating the binary (argument, else $HOSTED_MILTER), running it in
the foreground on a configuration copied into a temp dir with a unix socket
beside it (umask 0 so that Postfix's smtpd, running as user postfix, can
connect), capturing stderr to a log file, waiting for "listening on" and
the socket, reload by SIGUSR1 (waiting for the "reloaded configuration" or
"reload failed" line), stop by PID (SIGTERM, up to 15 s -- libmilter takes
about 5 s -- then SIGKILL), and the one-shot modes -D, -q and -t.
"""

import os
import shutil
import signal
import subprocess

import util

RELOAD_OK = "reloaded configuration"
RELOAD_FAILED = "reload failed"
LISTENING = "listening on"



def find_binary(path=None):
    """The milter binary: path, else $HOSTED_MILTER.  Raises when absent."""
    path = path or os.environ.get("HOSTED_MILTER")
    if not path:
        raise FileNotFoundError("no hosted-milter binary: pass --milter or set HOSTED_MILTER")
    path = os.path.abspath(path)
    if not os.access(path, os.X_OK):
        raise FileNotFoundError("hosted-milter binary %s is not executable" % path)
    return path


def run_tool(binary, conf, *args, timeout=30):
    """Run `hosted-milter -c conf args...`; returns CompletedProcess (text)."""
    return subprocess.run([binary, "-c", conf] + list(args), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def hosted_domains(binary, conf):
    """`hosted-milter -c conf -D`: the hosted domains, one per line."""
    p = run_tool(binary, conf, "-D")
    if p.returncode != 0:
        raise RuntimeError("%s -c %s -D failed (rc=%d): %s"
                           % (binary, conf, p.returncode, p.stderr.strip()))
    return [l.strip() for l in p.stdout.splitlines() if l.strip()]


def escape(address):
    """The address as -q and the log print it: \\r \\n \\t, and \\xHH for
    other controls, backslash and every byte >= 0x80."""
    out = []
    for b in address.encode("utf-8", "surrogateescape"):
        if b in (0x0D, 0x0A, 0x09):
            out.append({0x0D: "\\r", 0x0A: "\\n", 0x09: "\\t"}[b])
        elif b < 0x20 or b == 0x7F or b == 0x5C or b >= 0x80:
            out.append("\\x%02x" % b)
        else:
            out.append(chr(b))
    return "".join(out)


def query(binary, conf, addresses):
    """`hosted-milter -c conf -q ADDR...` -> {address: (action, detail)},
    keyed by the addresses as given (-q prints them escaped).  Raises when
    the tool fails or prints an unexpected line."""
    if not addresses:
        return {}
    p = run_tool(binary, conf, "-q", *addresses)
    if p.returncode != 0:
        raise RuntimeError("-q failed (rc=%d): %s" % (p.returncode, p.stderr.strip()))
    by_escaped = {escape(a): a for a in addresses}
    out = {}
    for line in p.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) != 3:
            raise RuntimeError("-q printed a line without 3 TAB-separated fields: %r" % line)
        out[by_escaped.get(parts[0], parts[0])] = (parts[1], parts[2])
    return out


class MilterProcess:
    """hosted-milter -f -c CONF -s unix:SOCK [-p PIDFILE] as a child."""

    def __init__(self, binary, conf_src, workdir, name="milter", extra_args=()):
        self.binary = find_binary(binary)
        self.dir = os.path.abspath(os.path.join(workdir, name))
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.conf = os.path.join(self.dir, "hosted-milter.conf")
        if conf_src is not None:
            shutil.copyfile(conf_src, self.conf)
        self.socket = os.path.join(self.dir, "milter.sock")
        self.pidfile = os.path.join(self.dir, "milter.pid")
        self.log = os.path.join(self.dir, "milter.log")
        self.extra_args = list(extra_args)
        self.proc = None
        self._logf = None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def write_conf(self, text):
        """Replace the configuration file (atomically: a reload never sees
        half a file)."""
        tmp = self.conf + ".new"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.conf)

    def read_conf(self):
        with open(self.conf) as f:
            return f.read()

    def argv(self):
        return [self.binary, "-f", "-c", self.conf, "-s", "unix:" + self.socket,
                "-p", self.pidfile] + self.extra_args

    def start(self, timeout=20.0):
        if self.alive():
            return self
        self._logf = open(self.log, "ab")
        off = util.file_size(self.log)
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
                                     stdout=self._logf, stderr=subprocess.STDOUT,
                                     start_new_session=True,
                                     preexec_fn=lambda: os.umask(0))
        util.stop_at_exit(self)
        try:
            util.wait_for_text(self.log, LISTENING, offset=off, timeout=timeout,
                               alive=self.alive)
            util.wait_for_unix_socket(self.socket, timeout=timeout, alive=self.alive)
        except Exception as exc:
            self.stop()
            raise RuntimeError("milter did not start: %s\nlog:\n%s"
                               % (exc, self.log_text(off)[-3000:])) from exc
        return self

    def reload(self, timeout=20.0):
        """SIGUSR1 and wait for the verdict.  Returns (ok, log text since)."""
        off = util.file_size(self.log)
        os.kill(self.proc.pid, signal.SIGUSR1)
        needle, text = util.wait_for_text(self.log, [RELOAD_OK, RELOAD_FAILED], offset=off,
                                          timeout=timeout, alive=self.alive)
        return needle == RELOAD_OK, text

    def stop(self, timeout=15.0):
        """SIGTERM, wait up to timeout, then SIGKILL.  Returns the exit
        status (None when never started).  Idempotent."""
        rc = None
        if self.proc is not None:
            if self.proc.poll() is None:
                try:
                    self.proc.send_signal(signal.SIGTERM)
                except ProcessLookupError:
                    pass
                try:
                    rc = self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    rc = self.proc.wait()
            else:
                rc = self.proc.returncode
        if self._logf is not None:
            self._logf.close()
            self._logf = None
        util.stopped(self)
        return rc

    def log_size(self):
        return util.file_size(self.log)

    def log_text(self, offset=0):
        return util.read_from(self.log, offset)

    def domains(self):
        return hosted_domains(self.binary, self.conf)

    def query(self, addresses):
        return query(self.binary, self.conf, addresses)

    def check(self):
        return run_tool(self.binary, self.conf, "-t")
