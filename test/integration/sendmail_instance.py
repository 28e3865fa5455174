#!/usr/bin/python3
"""A private Sendmail on loopback: the Sendmail adapter of the harness.

Owns everything Sendmail-specific in the integration tests: fetching
Debian's Sendmail packages (apt-get download into a cache reused between
runs, `apt-get update` first when the lists are missing), unpacking them
with dpkg -x into a temp prefix without installing anything (the binary's
setgid bit dropped, or ld.so ignores LD_LIBRARY_PATH and libwrap.so.0 is
not found), the .mc -> sendmail.cf of a throw-away instance (own queue,
aliases, pid file; INPUT_MAIL_FILTER on the milter's unix socket with F=T;
RELAY_DOMAIN from `hosted-milter -D`; listening on 127.0.0.1 on a free
port; everything relayed to the sink through SMART_HOST), its lifecycle,
queue inspection, and how Sendmail words the replies a test compares.

Sendmail runs as `sendmail -bD` (foreground daemon) inside
`unshare --uts --mount`: the UTS namespace gets an FQDN host name (an
unqualified one makes every Sendmail call sleep 60 s), and the mount
namespace gets a minimal /dev whose /dev/log is a datagram socket of this
process, so Sendmail's syslog lines land in the instance's `maillog`
without a syslog daemon and without touching the machine's /dev.  The SMTP
transcript (-X) goes to `transcript.log` beside it.  The daemon is stopped
by its PID (and the leftovers of its own process group), from stop(), class
cleanups and atexit; never by name.

Differences from Postfix that the shared cases cannot express live here:
  - replies: Sendmail puts "<address as sent>... " before the milter's
    text, and the milter then leaves the address out (macro v names
    Sendmail): reply_parts / expected_reply_line normalise that;
  - milter down: F=T gives "451 4.3.2 Please try again later" at MAIL;
  - relaying: Sendmail always relays for a client on 127.0.0.1 (proto.m4),
    where the shared tests connect from, so the RELAY_DOMAIN list only
    matters for other clients (test_sendmail's test_relay_domains connects
    from 127.0.0.2 to check it).
"""

import atexit
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading

import util

# What the harness unpacks: the binary, the cf/m4 tree and m4 itself.
# sendmail-base (Debian's configuration scripts) is not needed.  Added to
# these: every library package they depend on (transitively) that this
# machine does not have installed -- with the build dependencies and
# Postfix that is libwrap0, liblockfile1 and liblockfile-bin (libwrap.so.0
# is the one the binary really loads); see fetch_debs.
BASE_PACKAGES = ("sendmail-bin", "sendmail-cf", "m4")
SENDMAIL_REL = "usr/libexec/sendmail/sendmail"
MAKEMAP_REL = "usr/libexec/sendmail/makemap"
M4_REL = "usr/bin/m4"
CF_REL = "usr/share/sendmail/cf"
HOSTNAME_SUFFIX = "hm.test"



class SendmailError(RuntimeError):
    pass


class NoMirror(SendmailError):
    """The package mirror cannot be reached (no network): a skip, not a failure."""


# --- the packages -----------------------------------------------------------

def cache_dir():
    """Where the .debs are kept between runs: $HM_SENDMAIL_CACHE, else
    $XDG_CACHE_HOME/hosted-milter/sendmail-debs (~/.cache when unset)."""
    d = os.environ.get("HM_SENDMAIL_CACHE")
    if not d:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"),
                                                               ".cache")
        d = os.path.join(base, "hosted-milter", "sendmail-debs")
    return os.path.abspath(d)


def _cached_debs(d):
    """{package: path} of the .debs in d (the newest file of a package
    when a mirror update left two versions)."""
    out = {}
    try:
        names = os.listdir(d)
    except OSError:
        return out
    for n in sorted(names, key=lambda n: os.path.getmtime(os.path.join(d, n))):
        if n.endswith(".deb"):
            out[n.split("_", 1)[0]] = os.path.join(d, n)
    return out


def _installed(pkg):
    p = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, text=True)
    return p.returncode == 0 and "install ok installed" in p.stdout


def _lib_depends(deb):
    """The library packages a .deb depends on (first alternative of each
    Depends entry whose name starts with "lib", version and arch dropped)."""
    p = subprocess.run(["dpkg-deb", "-f", deb, "Depends"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise SendmailError("dpkg-deb -f %s: %s" % (deb, p.stderr.strip()))
    out = []
    for entry in p.stdout.split(","):
        name = entry.split("|")[0].split("(")[0].strip().split(":")[0]
        if name.startswith("lib"):
            out.append(name)
    return out


_NETWORK_ERRORS = re.compile(r"Temporary failure resolving|Could not resolve|Unable to connect|"
                             r"Could not connect|Connection (?:failed|timed out|refused)|"
                             r"Network is unreachable|No route to host|Failed to fetch",
                             re.I)


def _apt(argv, cwd=None, timeout=300):
    p = subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    return p.returncode, p.stdout


def _download(d, pkgs):
    """apt-get download pkgs into d (through a scratch dir, so that a broken
    download never leaves half a .deb in the cache)."""
    if not shutil.which("apt-get"):
        raise SendmailError("apt-get is not available: the Sendmail suite needs a Debian "
                            "system to fetch %s" % " ".join(pkgs))
    os.makedirs(d, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".download-", dir=d)
    try:
        # apt's sandbox user (_apt) may not write here; root is what we want.
        argv = ["apt-get", "download", "-q", "-o", "APT::Sandbox::User=root"] + list(pkgs)
        rc, out = _apt(argv, cwd=tmp)
        if rc != 0:
            # Typically "Unable to locate package" on a machine whose lists
            # were never fetched (container images drop them).
            rc_u, out_u = _apt(["apt-get", "update", "-q"])
            if rc_u != 0 and _NETWORK_ERRORS.search(out_u):
                raise NoMirror("apt-get update failed:\n" + out_u[-1500:])
            rc, out = _apt(argv, cwd=tmp)
        if rc != 0:
            if _NETWORK_ERRORS.search(out):
                raise NoMirror("apt-get download failed:\n" + out[-1500:])
            raise SendmailError("apt-get download %s failed (rc=%d):\n%s"
                                % (" ".join(pkgs), rc, out[-1500:]))
        for n in os.listdir(tmp):
            if n.endswith(".deb"):
                os.replace(os.path.join(tmp, n), os.path.join(d, n))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def fetch_debs(d=None):
    """The .debs to unpack, from the cache (downloaded when missing):
    BASE_PACKAGES plus, transitively, the library packages they depend on
    that are not installed here.  Returns {package: path}.  Raises
    NoMirror when the mirror is out of reach, SendmailError otherwise."""
    d = d or cache_dir()
    want = list(BASE_PACKAGES)
    examined = set()
    have = _cached_debs(d)
    for _ in range(10):                      # dependency depth; a cycle ends too
        missing = [p for p in want if p not in have]
        if missing:
            _download(d, missing)
            have = _cached_debs(d)
            still = [p for p in missing if p not in have]
            if still:
                raise SendmailError("apt-get download left no .deb for %s in %s" % (still, d))
        new = []
        for p in want:
            if p in examined:
                continue
            examined.add(p)
            for dep in _lib_depends(have[p]):
                if dep not in want and dep not in new and not _installed(dep):
                    new.append(dep)
        if not new:
            break
        want += new
    return {p: have[p] for p in want}


class Unpacked:
    """The packages unpacked with dpkg -x into a temp prefix (removed at
    exit).  One per process; see prepared()."""

    def __init__(self, debs):
        self.prefix = tempfile.mkdtemp(prefix="hm-sendmail-root-")
        os.chmod(self.prefix, 0o755)
        atexit.register(shutil.rmtree, self.prefix, True)
        self.packages = sorted(debs)
        for pkg in self.packages:
            p = subprocess.run(["dpkg", "-x", debs[pkg], self.prefix], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, timeout=120)
            if p.returncode != 0:
                raise SendmailError("dpkg -x %s failed: %s" % (debs[pkg], p.stdout.strip()))
        self.sendmail = os.path.join(self.prefix, SENDMAIL_REL)
        self.makemap = os.path.join(self.prefix, MAKEMAP_REL)
        self.m4 = os.path.join(self.prefix, M4_REL)
        self.cf_dir = os.path.join(self.prefix, CF_REL)
        for f in (self.sendmail, self.m4, os.path.join(self.cf_dir, "m4", "cf.m4")):
            if not os.path.exists(f):
                raise SendmailError("%s is missing after unpacking %s" % (f, sorted(debs)))
        # setgid mail: the loader would ignore LD_LIBRARY_PATH (secure exec).
        os.chmod(self.sendmail, os.stat(self.sendmail).st_mode & 0o755)
        # Libraries unpacked from the .debs: usr/lib/<triplet> and lib/<triplet>.
        self.libdirs = []
        for base in ("usr/lib", "lib"):
            full = os.path.join(self.prefix, base)
            if os.path.isdir(full):
                self.libdirs += sorted(os.path.join(full, n) for n in os.listdir(full)
                                       if re.match(r"^[a-z0-9_]+-linux-gnu\w*$", n))
        p = subprocess.run(["ldd", self.sendmail], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, env=self.env(), timeout=60)
        lost = [l.strip() for l in p.stdout.splitlines() if "not found" in l]
        if lost:
            raise SendmailError("the unpacked sendmail lacks libraries (unpacked: %s): %s"
                                % (", ".join(self.packages), "; ".join(lost)))

    def env(self):
        e = dict(os.environ)
        e["LD_LIBRARY_PATH"] = ":".join(self.libdirs + [e.get("LD_LIBRARY_PATH", "")]).rstrip(":")
        return e


    def check_binary(self):
        """Run `sendmail -d0.1 -bt` (inside unshare --uts with an FQDN, or it
        sleeps 60 s) and return its version banner; raises SendmailError
        unless the binary runs and was compiled with MILTER."""
        script = ("echo version.%s > /proc/sys/kernel/hostname; exec %s -d0.1 -bt -C /dev/null"
                  % (HOSTNAME_SUFFIX, _shquote(self.sendmail)))
        try:
            p = subprocess.run(["unshare", "--uts", "--", "/bin/sh", "-c", script],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               timeout=90, env=self.env(), stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as exc:
            raise SendmailError("sendmail -d0.1 -bt timed out") from exc
        m = re.search(r"Version (\S+)\s+Compiled with:((?:.|\n)*?)\n\S", p.stdout + "\nX")
        if not m:
            raise SendmailError("sendmail -d0.1 did not run (rc=%d): %s"
                                % (p.returncode, p.stdout.strip()[-1500:]))
        if "MILTER" not in m.group(2).split():
            raise SendmailError("sendmail %s was compiled without MILTER" % m.group(1))
        return "Sendmail %s (%s)" % (m.group(1), " ".join(m.group(2).split()))


_prepared = None
_prepare_error = None


def prepared():
    """The unpacked Sendmail (fetched and unpacked once per process).
    Raises the error of the first attempt again on later calls."""
    global _prepared, _prepare_error
    if _prepared is None:
        if _prepare_error is not None:
            raise _prepare_error
        try:
            _prepared = Unpacked(fetch_debs())
        except Exception as exc:
            _prepare_error = exc
            raise
    return _prepared


def prepare_error():
    """The exception that made prepared() fail, or None (also when it has
    not been tried)."""
    return _prepare_error


def private_mounts_work():
    """(True, "") when `unshare --mount --propagation private` works here.
    It fails in a plain chroot, where / is not a mount point ("cannot
    change root filesystem propagation: Invalid argument"), and the mounts
    of start() must not go without it: with the chroot's parent mount
    shared, they would propagate to the machine's own mounts.  Making the
    chroot directory a mount point (mount --bind DIR DIR) before chroot(8)
    is the cure."""
    try:
        p = subprocess.run(["unshare", "--mount", "--propagation", "private", "--", "true"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           stdin=subprocess.DEVNULL, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, "unshare --mount does not run here: %s" % exc
    if p.returncode == 0:
        return True, ""
    return False, ("a private mount namespace cannot be made here (%s); in a chroot whose / "
                   "is not a mount point, bind-mount the chroot directory on itself before "
                   "entering it" % (p.stdout.strip() or "unshare exit %d" % p.returncode))


def available():
    """(True, "") when the suite must run here, else (False, why) for a
    skip.  Only "not root", "no private mount namespace" (a plain chroot)
    and "the package mirror is unreachable" skip;
    any other trouble (no apt-get, a broken package) is left for the tests
    to report as failures (the factory raises it again)."""
    if os.geteuid() != 0:
        return False, "a private Sendmail needs root (unshare, its queue, port binding as root)"
    ok, why = private_mounts_work()
    if not ok:
        return False, why
    try:
        prepared()
    except NoMirror as exc:
        return False, "no network to the package mirror: %s" % exc
    except Exception:  # noqa: BLE001 -- reported as a failure by every test class
        return True, ""
    return True, ""


# --- syslog capture -----------------------------------------------------------

class SyslogCatcher:
    """A unix datagram socket that Sendmail's syslog(3) writes to (it is
    /dev/log inside the instance's mount namespace); each message is
    appended to a log file as one line "HH:MM:SS sendmail[pid]: text"."""

    _PRI = re.compile(rb"^<\d+>")

    def __init__(self, sock_path, log_path):
        self.sock_path = sock_path
        self.log_path = log_path
        self.sock = None
        self.thread = None
        self.stopping = threading.Event()

    def start(self):
        if os.path.exists(self.sock_path):
            os.unlink(self.sock_path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.sock_path)
        os.chmod(self.sock_path, 0o666)      # mailers may run as another user
        self.sock.settimeout(0.2)
        self.thread = threading.Thread(target=self._run, daemon=True,
                                       name="syslog-" + os.path.basename(self.log_path))
        self.thread.start()
        return self

    def _run(self):
        with open(self.log_path, "ab", buffering=0) as f:
            while not self.stopping.is_set():
                try:
                    data = self.sock.recv(65536)
                except socket.timeout:
                    continue
                except OSError:
                    return
                data = self._PRI.sub(b"", data).rstrip(b"\n\0")
                # "Nov 21 09:00:00 sendmail[123]: ..." -> keep the time of day on
                m = re.match(rb"^[A-Z][a-z]{2} [ \d]\d (\d\d:\d\d:\d\d) (.*)$", data, re.S)
                if m:
                    data = m.group(1) + b" " + m.group(2)
                f.write(data.replace(b"\n", b" ") + b"\n")

    def stop(self):
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(5)
            self.thread = None
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        try:
            os.unlink(self.sock_path)
        except OSError:
            pass


# --- the instance -------------------------------------------------------------

MC_TEMPLATE = """\
divert(-1)
# sendmail.mc of a throw-away hosted-milter test instance (generated)
divert(0)dnl
VERSIONID(`hosted-milter integration test')dnl
OSTYPE(`linux')dnl
define(`confDOMAIN_NAME', `{hostname}')dnl
define(`QUEUE_DIR', `{root}/mqueue')dnl
define(`STATUS_FILE', `{root}/statistics')dnl
define(`confPID_FILE', `{root}/sendmail.pid')dnl
define(`ALIAS_FILE', `{root}/aliases')dnl
define(`confSERVICE_SWITCH_FILE', `{root}/service.switch')dnl
define(`confHOSTS_FILE', `/etc/hosts')dnl
define(`confCW_FILE', `{root}/local-host-names')dnl
define(`confDONT_PROBE_INTERFACES', `True')dnl
define(`confDONT_BLAME_SENDMAIL', `TrustStickyBit')dnl
define(`confLOG_LEVEL', `14')dnl
define(`confTO_IDENT', `0')dnl
define(`confBIND_OPTS', `-DNSRCH -DEFNAMES')dnl
dnl the load-average brakes would refuse or queue mail on a busy CI machine
define(`confQUEUE_LA', `1000')dnl
define(`confREFUSE_LA', `1000')dnl
define(`confDELAY_LA', `0')dnl
define(`confMIN_QUEUE_AGE', `0')dnl
define(`confTO_QUEUEWARN', `1h')dnl
dnl everything goes to the recording sink
define(`SMART_HOST', `esmtp:[127.0.0.1]')dnl
define(`ESMTP_MAILER_ARGS', `TCP $h {sink_port}')dnl
define(`SMTP_MAILER_ARGS', `TCP $h {sink_port}')dnl
define(`RELAY_MAILER_ARGS', `TCP $h {sink_port}')dnl
define(`LOCAL_MAILER_PATH', `/bin/false')dnl
FEATURE(`nocanonify')dnl
FEATURE(`accept_unresolvable_domains')dnl
FEATURE(`accept_unqualified_senders')dnl
FEATURE(`no_default_msa')dnl
DAEMON_OPTIONS(`Port={port},Addr=127.0.0.1,Name=MTA{daemon_extra}')dnl
{relay_domains}{milter}{extra}MAILER(`local')dnl
MAILER(`smtp')dnl
"""

# The Sendmail counterpart of Postfix's milter_default_action = tempfail.
MILTER_LINE = ("INPUT_MAIL_FILTER(`hosted-milter', "
               "`S=unix:{socket}, F=T, T=S:30s;R:30s;E:1m')dnl\n")

# A bare <postmaster> that the milter failed to delete would be aliased here:
# the sink would then show pm-alias@, which e2e.conf does not name.
ALIASES = ("postmaster: pm-alias@sendmail-alias.example\n"
           "MAILER-DAEMON: postmaster\n"
           "root: root-alias@sendmail-alias.example\n")


class SendmailInstance:
    """One private Sendmail.  Construct, then create() and start(); always
    stop() (also safe when never started, and idempotent)."""

    mta_name = "sendmail"
    # How Sendmail answers when the milter cannot be reached (F=T): at MAIL.
    MILTER_DOWN = (451, "4.3.2")

    def __init__(self, root, name, sink_port, relay_domains=(), milter_socket=None, port=None,
                 queue_interval="5s", extra_mc="", transcript=True, daemon_extra=""):
        """extra_mc: m4 lines put after the generated ones, before the
        MAILERs (FEATUREs, or a define() that overrides one above: the
        benchmark's virtusertable and log level); transcript: record the
        SMTP transcript (-X), which the benchmark leaves out; daemon_extra:
        appended to the DAEMON_OPTIONS (",Listen=N" for the benchmark)."""
        self.root = os.path.abspath(os.path.join(root, name))
        self.name = name
        self.sink_port = sink_port
        self.relay_domains = list(relay_domains)
        self.milter_socket = milter_socket
        self.port = port or util.free_port()
        self.queue_interval = queue_interval
        self.extra_mc = extra_mc
        self.daemon_extra = daemon_extra
        self.with_transcript = transcript
        self.hostname = "%s.%s" % (re.sub(r"[^a-z0-9-]", "-", name.lower()), HOSTNAME_SUFFIX)
        self.mqueue = os.path.join(self.root, "mqueue")
        self.cf = os.path.join(self.root, "sendmail.cf")
        self.mc = os.path.join(self.root, "sendmail.mc")
        self.maillog = os.path.join(self.root, "maillog")
        self.transcript = os.path.join(self.root, "transcript.log")
        self.stdout_log = os.path.join(self.root, "sendmail.out")
        self.pidfile = os.path.join(self.root, "sendmail.pid")
        self.devroot = os.path.join(self.root, "dev")
        self.syslog_sock = os.path.join(self.root, "log.sock")
        self.sm = None
        self.proc = None
        self.syslog = None
        self._outf = None
        self.started = False

    # --- configuration ---------------------------------------------------
    def mc_text(self):
        relay = "".join("RELAY_DOMAIN(`%s')dnl\n" % d for d in self.relay_domains)
        milter = MILTER_LINE.format(socket=self.milter_socket) if self.milter_socket else ""
        return MC_TEMPLATE.format(hostname=self.hostname, root=self.root, port=self.port,
                                  sink_port=self.sink_port, relay_domains=relay, milter=milter,
                                  extra=self.extra_mc, daemon_extra=self.daemon_extra)

    def create(self):
        """Write the instance's files, generate sendmail.cf with the
        unpacked m4, and build the aliases database."""
        self.sm = prepared()
        for d in (self.root, self.mqueue, self.devroot):
            os.makedirs(d, exist_ok=True)
        for d in (os.path.dirname(self.root), self.root):
            os.chmod(d, 0o755)
        os.chmod(self.mqueue, 0o700)
        with open(self.mc, "w") as f:
            f.write(self.mc_text())
        with open(os.path.join(self.root, "service.switch"), "w") as f:
            f.write("hosts files\naliases files\n")
        with open(os.path.join(self.root, "aliases"), "w") as f:
            f.write(ALIASES)
        with open(os.path.join(self.root, "local-host-names"), "w") as f:
            f.write("")
        open(os.path.join(self.root, "statistics"), "w").close()
        p = subprocess.run([self.sm.m4, "-D_CF_DIR_=%s/" % self.sm.cf_dir,
                            os.path.join(self.sm.cf_dir, "m4", "cf.m4"), self.mc],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=60, env=self.sm.env())
        if p.returncode != 0 or "InputMailFilters" not in p.stdout and self.milter_socket:
            raise SendmailError("m4 failed (rc=%d): %s" % (p.returncode, p.stderr.strip()))
        with open(self.cf, "w") as f:
            f.write(p.stdout)
        out = self._run_in_ns([self.sm.sendmail, "-C", self.cf, "-bi"], timeout=90)
        if "aliases" not in out:
            raise SendmailError("sendmail -bi did not build the aliases: %s" % out.strip())
        return self

    def _ns_script(self, argv, with_dev):
        """A /bin/sh script for unshare: set the FQDN host name (only this
        UTS namespace sees it), optionally give /dev a private view with
        /dev/log = our syslog socket, then exec argv."""
        q = " ".join(_shquote(a) for a in argv)
        lines = ["set -e",
                 "echo %s > /proc/sys/kernel/hostname" % _shquote(self.hostname)]
        if with_dev:
            dev = _shquote(self.devroot)
            lines += [
                "for n in null zero full random urandom tty; do",
                "  [ -e /dev/$n ] || continue",
                "  : > %s/$n; mount --bind /dev/$n %s/$n" % (dev, dev),
                "done",
                "ln -sfn /proc/self/fd %s/fd" % dev,
                "ln -sfn %s %s/log" % (_shquote(self.syslog_sock), dev),
                "mount --rbind %s /dev" % dev,
            ]
        lines.append("exec " + q)
        return "\n".join(lines)

    def _run_in_ns(self, argv, timeout=60):
        script = self._ns_script(argv, with_dev=False)
        try:
            p = subprocess.run(["unshare", "--uts", "--", "/bin/sh", "-c", script],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               timeout=timeout, env=self.sm.env(), stdin=subprocess.DEVNULL,
                               cwd=self.root)
        except subprocess.TimeoutExpired as exc:
            raise SendmailError("%s timed out (unqualified host name?)" % " ".join(argv)) from exc
        if p.returncode != 0:
            raise SendmailError("%s failed (rc=%d): %s" % (" ".join(argv), p.returncode,
                                                           p.stdout.strip()))
        return p.stdout

    # --- lifecycle -------------------------------------------------------
    def start(self, timeout=30):
        if self.sm is None:
            self.sm = prepared()
        util.stop_at_exit(self)
        self.started = True
        self.syslog = SyslogCatcher(self.syslog_sock, self.maillog).start()
        argv = [self.sm.sendmail, "-C", self.cf, "-bD", "-q" + self.queue_interval]
        if self.with_transcript:
            argv += ["-X", self.transcript]
        script = self._ns_script(argv, with_dev=True)
        self._outf = open(self.stdout_log, "ab")
        self.proc = subprocess.Popen(
            ["unshare", "--uts", "--mount", "--propagation", "private", "--", "/bin/sh", "-c",
             script],
            stdin=subprocess.DEVNULL, stdout=self._outf, stderr=subprocess.STDOUT,
            env=self.sm.env(), cwd=self.root, start_new_session=True)
        try:
            util.wait_for_port(self.port, timeout=timeout, alive=self.alive)
        except Exception as exc:
            out = util.read_from(self.stdout_log)
            self.stop()
            raise SendmailError("sendmail did not start: %s\noutput: %s\nlog:\n%s"
                                % (exc, out[-1500:], self.log_tail())) from exc
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=15):
        """SIGTERM to the daemon's PID, wait, then SIGKILL what is left of
        its process group (its children: SMTP servers, deliveries, queue
        runs).  Idempotent; never raises for a dead instance."""
        if self.proc is not None:
            pid = self.proc.pid
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
            # Children that outlived the daemon (a delivery in progress):
            # members of the process group that start_new_session made,
            # each stopped by its own PID.
            for child in _group_members(pid):
                util.stop_pid(child, timeout=5)
            self.proc = None
        if self._outf is not None:
            self._outf.close()
            self._outf = None
        if self.syslog is not None:
            self.syslog.stop()
            self.syslog = None
        self.started = False
        util.stopped(self)

    def destroy(self):
        """stop() and remove the instance's directory."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    # --- queue and log ---------------------------------------------------
    def queue(self):
        """The queued messages: [{"queue_id", "recipients"}] from the qf files."""
        out = []
        try:
            names = sorted(os.listdir(self.mqueue))
        except OSError:
            return out
        for n in names:
            if n[:2] not in ("qf", "Qf", "tf"):
                continue
            rcpts = []
            try:
                with open(os.path.join(self.mqueue, n), "rb") as f:
                    for line in f:
                        if line.startswith(b"R"):
                            rcpts.append(line[1:].decode("utf-8", "replace").strip())
            except OSError:
                continue
            out.append({"queue_id": n[2:], "file": n, "recipients": rcpts})
        return out

    def wait_queue_empty(self, timeout=20.0):
        """True once no message is queued (delivered or bounced)."""
        return util.wait_until(lambda: not self.queue(), timeout)

    def log_size(self):
        return util.file_size(self.maillog)

    def log_text(self, offset=0):
        return util.read_from(self.maillog, offset)

    def log_tail(self, n=40):
        return "\n".join(self.log_text().splitlines()[-n:])

    # --- how Sendmail words replies (adapter interface) ---------------------
    @staticmethod
    def reply_parts(reply):
        """Split a reply text as Sendmail shows it ("<addr>... rest": the
        address as the client sent it, then the milter's text, which then
        leaves the address out) into (addr, rest); addr None when the text
        does not start with an address."""
        m = re.match(r"^<(.*?)>\.\.\. (.*)$", reply.text, re.S)
        if not m:
            return None, reply.text
        return m.group(1), m.group(2)

    @staticmethod
    def expected_reply_line(q_detail, path):
        """The RCPT reply line Sendmail shows for a milter reply that
        `hosted-milter -q` reports as q_detail ("550 5.1.1 <addr>: text"):
        the code, then Sendmail's "<path>... " prefix, then the text
        without the milter's own "<addr>: "."""
        m = re.match(r"^(\d{3}) (\d\.\d{1,3}\.\d{1,3}) (?:<[^>]*>: )?(.*)$", q_detail, re.S)
        if not m:
            return q_detail
        return "%s %s <%s>... %s" % (m.group(1), m.group(2), path, m.group(3))

    # Sendmail's syslog lines (milter.c, LogLevel 14) that show trouble
    # between it and the milter; the routine ones ("init success", "add:
    # rcpt", "action=rcpt, reject=...", "abort filter") do not match.
    _MILTER_TROUBLE = re.compile(
        r"Milter \([^)]*\): (?:error|to error state|timeout|read returned|write\(|select\(|"
        r"socket\(|negotiate|init failed|open |local socket|empty or missing|bad address|"
        r"[Uu]nknown|Invalid|Trying to open)"
        r"|Milter read\(|milter_\w+\([^)]*\):? (?:timeout|socket|select|returned bogus|lied|"
        r"EOM ACK|failed|expecting)"
        r"|Milter: (?:initialization failed|no active filter|connect: host=)"
        r"|milter_(?:addrcpt|addrcpt_par|delrcpt): "
        # smfi_delrcpt that matched nothing.  (Legitimate only when Sendmail
        # merged two spellings of one address at RCPT, e.g. "pm@d." after
        # "@r:pm@d": the second delete then finds nothing; no shared case
        # does that, the hostile message does and is not checked for this.)
        r"|delete: rcpt .*, naddrs=0\b"
        r"|SYSERR.*[Mm]ilter"
        r"|(?:ORCPT|NOTIFY)\b.*(?:[Bb]ad|[Ii]nvalid|[Ss]yntax)")

    @classmethod
    def milter_warnings(cls, text):
        """Log lines that show trouble between Sendmail and the milter: a
        connection, protocol or timeout error, an edit Sendmail refused, a
        recipient delete that matched nothing (naddrs=0), ORCPT/NOTIFY
        arguments it did not take."""
        return [l for l in text.splitlines() if cls._MILTER_TROUBLE.search(l)]

    def __repr__(self):
        return "SendmailInstance(%s, port %d)" % (self.name, self.port)


def _group_members(pgid):
    """PIDs of the live processes whose process group is pgid (from /proc)."""
    out = []
    for n in os.listdir("/proc"):
        if not n.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % n) as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] != "Z":
            out.append(int(n))
    return out


def _shquote(s):
    return "'" + s.replace("'", "'\\''") + "'"


if __name__ == "__main__":
    # Fetch and unpack only: a quick check of the package side.
    sm = prepared()
    print("sendmail unpacked in %s (debs in %s)" % (sm.prefix, cache_dir()))
