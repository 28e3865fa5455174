"""Small helpers shared by the integration harness (standard library only).

Owns: free-port selection, waiting for a TCP port or a unix socket, waiting
for a line in a growing log file, stopping a process by PID, and the
pattern of a sanitizer report in a log.  Nothing here knows about a
particular MTA.
"""

import atexit
import errno
import os
import re
import signal
import socket
import time

# What ASan, LSan or UBSan writes into a log (a sanitized build's report).
SANITIZER_TEXT = re.compile(r"AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|"
                            r"runtime error:|==\d+==ERROR")


def free_port(host="127.0.0.1"):
    """Return a TCP port on host that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_is_free(port, host="127.0.0.1"):
    """True when nothing listens on host:port and we could bind it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def wait_for_port(port, host="127.0.0.1", timeout=20.0, greeting=True, alive=None):
    """Wait until host:port accepts a connection (and, with greeting, sends
    an SMTP 220 line).  alive, if given, is a callable that returns False
    when the server process died: then give up early.  Raises TimeoutError."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            raise RuntimeError("server died while waiting for %s:%d" % (host, port))
        try:
            with socket.create_connection((host, port), timeout=2.0) as s:
                if not greeting:
                    return
                s.settimeout(5.0)
                line = s.recv(512)
                if line.startswith(b"220"):
                    try:
                        s.sendall(b"QUIT\r\n")
                    except OSError:
                        pass
                    return
                last = "unexpected greeting %r" % line[:80]
        except OSError as exc:
            last = str(exc)
        time.sleep(0.1)
    raise TimeoutError("%s:%d not ready after %.0fs (%s)" % (host, port, timeout, last))


def wait_for_unix_socket(path, timeout=20.0, alive=None):
    """Wait until a unix stream socket at path accepts a connection."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            raise RuntimeError("process died while waiting for socket %s" % path)
        if os.path.exists(path):
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.settimeout(2.0)
                    s.connect(path)
                    return
            except OSError as exc:
                last = str(exc)
        time.sleep(0.05)
    raise TimeoutError("socket %s not ready after %.0fs (%s)" % (path, timeout, last))


# Daemons a test started and has not stopped yet: stopped at interpreter
# exit as a last resort (a test that fails or is interrupted still cleans up).
_running = set()


def stop_at_exit(obj):
    """Remember obj (with a stop() method) to be stopped at exit."""
    _running.add(obj)


def stopped(obj):
    """obj was stopped: forget it."""
    _running.discard(obj)


def _stop_running():
    for obj in list(_running):
        try:
            obj.stop()
        except Exception:  # noqa: BLE001 -- last-chance cleanup, keep going
            pass


atexit.register(_stop_running)


def wait_until(predicate, timeout=20.0, interval=0.1):
    """Poll predicate() until it is true (returns True) or timeout seconds
    have passed (returns False)."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)


def file_size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def read_from(path, offset=0):
    """Text of path from byte offset (empty when missing)."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def wait_for_text(path, needles, offset=0, timeout=20.0, alive=None):
    """Wait until one of needles (strings) appears in path after offset.
    Returns (needle, text_after_offset).  Raises TimeoutError."""
    if isinstance(needles, str):
        needles = [needles]
    deadline = time.monotonic() + timeout
    while True:
        text = read_from(path, offset)
        for n in needles:
            if n in text:
                return n, text
        if time.monotonic() >= deadline:
            raise TimeoutError("none of %r in %s after %.0fs; got:\n%s"
                               % (needles, path, timeout, text[-2000:]))
        if alive is not None and not alive():
            raise RuntimeError("process died while waiting for %r in %s:\n%s"
                               % (needles, path, text[-2000:]))
        time.sleep(0.05)


def pid_alive(pid):
    """True when a process with that PID exists (zombies count as gone only
    after they are reaped by their parent)."""
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.EPERM
    return True


def stop_pid(pid, timeout=15.0, sig=signal.SIGTERM):
    """Send sig to pid, wait up to timeout for it to vanish, then SIGKILL.
    For a child of ours use subprocess.Popen.wait instead (this cannot
    reap).  Returns True when it went away without SIGKILL."""
    if pid is None or pid <= 0 or not pid_alive(pid):
        return True
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return True
    return False
