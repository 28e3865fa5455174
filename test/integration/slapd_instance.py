#!/usr/bin/python3
"""Private OpenLDAP slapd servers on loopback: the directory half of the
LDAP tests (issue 10).  Standard library only; drives Debian's slapd 2.5 and
the ldap-utils clients (ldapsearch, ldapadd, ldapmodify, ldapdelete) and
slapadd.

Owns: a throw-away slapd under a temp dir -- a generated slapd.conf (the
-f form, which slapd 2.5 still reads; no cn=config), an mdb database of its
own, the schemas the tests need (core, cosine, inetorgperson, nis, misc and
the test schemas ldap/ad.schema and ldap/iredmail.schema), a suffix
(dc=corp,dc=example by default), a root DN for loading data and a read-only
bind DN for the milter (cn=reader,SUFFIX) with an ACL that lets it read and
nothing else -- on a free 127.0.0.1 port, run in the foreground (-d) as our
child, and stopped by PID (SIGTERM, wait, SIGKILL) also when a test fails
(util.stop_at_exit).  Plus a provider/consumer pair (syncprov on the
provider, syncrepl refreshAndPersist on the consumer) for the two-MX tests.

    s = SlapdInstance(root_dir, "ldap").create().start()
    s.uri                        # "ldap://127.0.0.1:PORT/"
    s.add(ldif); s.modify(ldif); s.delete(dn)
    s.search("(mail=a@b)", attrs=["mail"], who="reader")
    s.stop(); s.start()          # data kept (outage tests)
    s.destroy()

DNs come back from the server in its own spelling (slapd lowercases the
attribute types: "CN=Alice Smith,OU=Users,..." is returned as "cn=Alice
Smith,ou=Users,..."), as member values do: compare DNs case-insensitively.

Passwords: written to files (mode 0600, no trailing newline) and handed to
the clients with -y; reader_password_file is what a milter's
bind_password_file can point at.
"""

import base64
import os
import re
import shutil
import signal
import subprocess
import time

import util

HERE = os.path.dirname(os.path.abspath(__file__))
LDAP_DIR = os.path.join(HERE, "ldap")

SLAPD = "/usr/sbin/slapd"
SLAPADD = shutil.which("slapadd") or "/usr/sbin/slapadd"
LDAPSEARCH = shutil.which("ldapsearch") or "/usr/bin/ldapsearch"
LDAPADD = shutil.which("ldapadd") or "/usr/bin/ldapadd"
LDAPMODIFY = shutil.which("ldapmodify") or "/usr/bin/ldapmodify"
LDAPDELETE = shutil.which("ldapdelete") or "/usr/bin/ldapdelete"
MODULE_PATH = "/usr/lib/ldap"
SYSTEM_SCHEMA_DIR = "/etc/ldap/schema"

SYSTEM_SCHEMAS = ("core", "cosine", "inetorgperson", "nis", "misc")
TEST_SCHEMAS = ("ad", "iredmail")

DEFAULT_SUFFIX = "dc=corp,dc=example"


def available():
    """(True, "") when a private slapd can run here, else (False, why)."""
    for path, pkg in ((SLAPD, "slapd"), (SLAPADD, "slapd"), (LDAPSEARCH, "ldap-utils"),
                      (LDAPMODIFY, "ldap-utils")):
        if not os.path.exists(path):
            return False, "%s is missing (apt-get install %s; contrib/install-deps.sh)" % (path, pkg)
    if not os.path.exists(os.path.join(MODULE_PATH, "back_mdb.so")):
        return False, "no back_mdb module in %s" % MODULE_PATH
    if os.geteuid() != 0:
        return False, "the LDAP tests run as root, like the Postfix ones"
    return True, ""


class LdapError(RuntimeError):
    """An ldap-utils command failed.  rc is the LDAP result code the tools
    exit with (32 noSuchObject, 50 insufficientAccessRights, 65 objectClass
    violation, 68 alreadyExists, ...), stderr their message."""

    def __init__(self, argv, rc, stdout, stderr):
        self.argv = argv
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        super().__init__("%s exited %d: %s" % (os.path.basename(argv[0]), rc,
                                               (stderr or stdout).strip()[-2000:]))


# --- LDIF ----------------------------------------------------------------

_SAFE_INIT = re.compile(r"^[\x01-\x09\x0b-\x0c\x0e-\x1f\x21-\x39\x3b\x3d-\x7f]")
_SAFE_REST = re.compile(r"^[\x01-\x09\x0b-\x0c\x0e-\x7f]*$")


def ldif_line(attr, value):
    """One LDIF attrval line (RFC 2849), base64 ("attr:: ...") when the value
    is bytes that are not ASCII, or a string that is not a SAFE-STRING (8-bit,
    leading space/colon/'<', trailing space, NUL, CR, LF)."""
    if isinstance(value, bytes):
        raw = value
        try:
            text = value.decode("ascii")
        except UnicodeDecodeError:
            text = None
    else:
        text = str(value)
        raw = text.encode("utf-8")
    if (text is not None and text != "" and _SAFE_INIT.match(text)
            and _SAFE_REST.match(text) and not text.endswith(" ")):
        return "%s: %s" % (attr, text)
    if text == "":
        return "%s:" % attr
    return "%s:: %s" % (attr, base64.b64encode(raw).decode("ascii"))


def entry_ldif(dn, attrs):
    """LDIF of one entry.  attrs: a list of (name, value) pairs, or a dict
    name -> value or list of values.  Returns text ending in a blank line."""
    lines = [ldif_line("dn", dn)]
    items = attrs.items() if isinstance(attrs, dict) else attrs
    for name, value in items:
        values = value if isinstance(value, (list, tuple)) else [value]
        lines.extend(ldif_line(name, v) for v in values)
    return "\n".join(lines) + "\n\n"


def parse_ldif(text):
    """Entries of ldapsearch -LLL -o ldif-wrap=no output: a list of
    (dn, {attr: [values]}).  Attribute names as the server spells them;
    base64 values decoded (to str when UTF-8, else bytes)."""
    entries = []
    for block in re.split(r"\n\s*\n", text.strip()):
        dn = None
        attrs = {}
        for line in block.splitlines():
            if not line or line.startswith("#"):
                continue
            if line.startswith(" "):    # continuation (should not happen with ldif-wrap=no)
                raise ValueError("wrapped LDIF line: %r" % line)
            name, sep, rest = line.partition(":")
            if not sep:
                continue
            if rest.startswith(":"):
                raw = base64.b64decode(rest[1:].strip())
                try:
                    value = raw.decode("utf-8")
                except UnicodeDecodeError:
                    value = raw
            else:
                value = rest[1:] if rest.startswith(" ") else rest
            if name.lower() == "dn":
                dn = value
            else:
                attrs.setdefault(name, []).append(value)
        if dn is not None:
            entries.append((dn, attrs))
    return entries


def get_attr(attrs, name):
    """Values of attribute name in a parse_ldif dict, name matched
    case-insensitively (the server may spell it otherwise)."""
    for k, v in attrs.items():
        if k.lower() == name.lower():
            return v
    return []


# --- the server ----------------------------------------------------------

class SlapdInstance:
    """One private slapd.  Construct, create() (config, schemas, base
    entries loaded offline), start(); always stop() or destroy() (both safe
    when never started, idempotent).

    role: "standalone" (default), "provider" (adds the syncprov overlay) or
    "consumer" (syncrepl from provider_uri, refreshAndPersist, retry 1 s;
    its database starts empty and fills from the provider).
    """

    def __init__(self, root, name="ldap", suffix=DEFAULT_SUFFIX, port=None,
                 schemas=SYSTEM_SCHEMAS + TEST_SCHEMAS, role="standalone",
                 provider=None, sizelimit=500, anonymous_read=False,
                 log_level="stats", maxsize=2 * 1024 ** 3, rid=1, nosync=True):
        if role not in ("standalone", "provider", "consumer"):
            raise ValueError("role %r" % role)
        if role == "consumer" and provider is None:
            raise ValueError("a consumer needs its provider (a SlapdInstance)")
        self.root = os.path.abspath(os.path.join(root, name))
        self.name = name
        self.suffix = suffix
        self.port = port or util.free_port()
        self.schemas = list(schemas)
        self.role = role
        self.provider = provider
        self.sizelimit = sizelimit
        self.anonymous_read = anonymous_read
        self.log_level = log_level
        self.maxsize = maxsize
        self.rid = rid
        self.nosync = nosync
        self.rootdn = "cn=admin," + suffix
        self.reader_dn = "cn=reader," + suffix
        # Test passwords, not secrets: fixed per instance so a consumer can
        # bind to its provider with the provider's values.
        self.root_password = "root-%s-pw" % name
        self.reader_password = "reader-%s-pw" % name
        self.conf_path = os.path.join(self.root, "slapd.conf")
        self.db_dir = os.path.join(self.root, "db")
        self.pid_path = os.path.join(self.root, "slapd.pid")
        self.args_path = os.path.join(self.root, "slapd.args")
        self.log_path = os.path.join(self.root, "slapd.log")
        self.root_password_file = os.path.join(self.root, "root.secret")
        self.reader_password_file = os.path.join(self.root, "reader.secret")
        self.proc = None
        self.pid = None
        self.start_seconds = None      # how long the last start() took
        self._log = None

    # --- addresses ---------------------------------------------------
    @property
    def uri(self):
        return "ldap://127.0.0.1:%d/" % self.port

    @property
    def uri_no_slash(self):
        return "ldap://127.0.0.1:%d" % self.port

    # --- configuration -----------------------------------------------
    def schema_paths(self):
        paths = []
        for s in self.schemas:
            if os.path.isabs(s):
                paths.append(s)
            elif s in TEST_SCHEMAS:
                paths.append(os.path.join(LDAP_DIR, s + ".schema"))
            else:
                paths.append(os.path.join(SYSTEM_SCHEMA_DIR, s + ".schema"))
        return paths

    def slapd_conf(self):
        reader = self.reader_dn
        anon = "        by anonymous read\n" if self.anonymous_read else ""
        lines = ["# generated by test/integration/slapd_instance.py (%s, %s)" % (self.name, self.role)]
        lines += ["include %s" % p for p in self.schema_paths()]
        lines += [
            "pidfile %s" % self.pid_path,
            "argsfile %s" % self.args_path,
            "modulepath %s" % MODULE_PATH,
            "moduleload back_mdb",
        ]
        if self.role == "provider":
            lines.append("moduleload syncprov")
        lines += [
            # Result size cap as a real server has (slapd's default 500):
            # the milter must page (RFC 2696) to read more.
            "sizelimit %s" % self.sizelimit,
            "",
            # The root DSE and the subschema entry are readable by anyone
            # (ldapsearch -b '' -s base is how readiness is checked).
            "access to dn.base=\"\" by * read",
            "access to dn.base=\"cn=Subschema\" by * read",
            "",
            "database mdb",
            "suffix \"%s\"" % self.suffix,
            "rootdn \"%s\"" % self.rootdn,
            "rootpw %s" % self.root_password,
            "directory %s" % self.db_dir,
            "maxsize %d" % self.maxsize,
        ]
        if self.nosync:
            # No fsync per write (a throw-away database): a killed slapd
            # loses nothing it committed (the pages are in the OS), only a
            # crash of the machine would.  Online loads go ~10x faster.
            lines.append("dbnosync")
        lines += [
            "index objectClass eq",
            "index mail,proxyAddresses,shadowAddress,memberOfGroup,domainName eq",
            "index entryCSN,entryUUID eq",
            # The reader may page through everything (size.prtotal), but a
            # plain search is capped like anybody's.
            "limits dn.exact=\"%s\" size.soft=%s size.hard=%s size.prtotal=unlimited"
            % (reader, self.sizelimit, self.sizelimit),
            "access to attrs=userPassword",
            "        by anonymous auth",
            "        by * none",
            "access to *",
            "        by dn.exact=\"%s\" read" % reader,
            anon + "        by * none",
        ]
        if self.role == "provider":
            lines += [
                "overlay syncprov",
                "syncprov-checkpoint 100 1",
                "syncprov-sessionlog 1000",
            ]
        if self.role == "consumer":
            p = self.provider
            lines += [
                "syncrepl rid=%03d" % self.rid,
                "        provider=%s" % p.uri_no_slash,
                "        type=refreshAndPersist",
                "        retry=\"1 +\"",
                "        timeout=5",
                "        network-timeout=2",
                "        searchbase=\"%s\"" % p.suffix,
                "        scope=sub",
                "        schemachecking=on",
                "        bindmethod=simple",
                "        binddn=\"%s\"" % p.rootdn,
                "        credentials=%s" % p.root_password,
            ]
        return "\n".join(lines) + "\n"

    def base_ldif(self):
        """The suffix entry and the reader (loaded by create())."""
        rdn_attr, _, rdn_value = self.suffix.split(",")[0].partition("=")
        if rdn_attr.lower() == "dc":
            top = entry_ldif(self.suffix, [("objectClass", ["top", "dcObject", "organization"]),
                                           ("dc", rdn_value), ("o", rdn_value)])
        elif rdn_attr.lower() == "o":
            top = entry_ldif(self.suffix, [("objectClass", ["top", "organization"]),
                                           ("o", rdn_value)])
        else:
            raise ValueError("suffix must start with dc= or o=: %s" % self.suffix)
        reader = entry_ldif(self.reader_dn, [
            ("objectClass", ["top", "organizationalRole", "simpleSecurityObject"]),
            ("cn", "reader"),
            ("description", "read-only bind DN for hosted-milter"),
            ("userPassword", self.reader_password)])
        return top + reader

    def create(self, initial_ldif=None):
        """Write the config, password files and database dir; load the base
        entries (and initial_ldif, text or a file path) offline with
        slapadd.  A consumer loads nothing: it replicates."""
        os.makedirs(self.db_dir, exist_ok=True)
        os.chmod(self.root, 0o755)
        with open(self.conf_path, "w") as f:
            f.write(self.slapd_conf())
        for path, pw in ((self.root_password_file, self.root_password),
                         (self.reader_password_file, self.reader_password)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(pw)
            os.chmod(path, 0o600)
        self._run([SLAPD, "-Tt", "-u", "-f", self.conf_path])   # slaptest: the config parses
        if self.role != "consumer":
            self.slapadd(self.base_ldif())
            if initial_ldif is not None:
                self.slapadd(initial_ldif)
        return self

    def slapadd(self, ldif):
        """Load entries offline (server stopped): fast bulk load.  ldif is
        LDIF text or the path of an LDIF file.  Returns the seconds taken."""
        if self.running():
            raise LdapError([SLAPADD], 1, "", "slapadd while %s is running" % self.name)
        if os.path.exists(str(ldif)) and "\n" not in str(ldif):
            path = ldif
        else:
            path = os.path.join(self.root, "slapadd-%d.ldif" % time.monotonic_ns())
            with open(path, "w") as f:
                f.write(ldif)
        t0 = time.monotonic()
        # -q: quick mode (no consistency checks, one big transaction per
        # chunk); -w: write the contextCSN a provider needs.
        self._run([SLAPADD, "-f", self.conf_path, "-q", "-w", "-b", self.suffix, "-l", path])
        return time.monotonic() - t0

    # --- lifecycle -----------------------------------------------------
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout=20.0):
        """Start slapd in the foreground (our child) and wait until it
        answers a root DSE search.  Returns self."""
        if self.running():
            return self
        t0 = time.monotonic()
        self._log = open(self.log_path, "ab")
        self._log.write(b"--- start %s\n" % time.strftime("%H:%M:%S").encode())
        self._log.flush()
        argv = [SLAPD, "-d", str(self.log_level), "-h", self.uri, "-f", self.conf_path]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.pid = self.proc.pid
        util.stop_at_exit(self)
        ok = util.wait_until(lambda: not self.running() or self.answers(), timeout, 0.05)
        if not self.running():
            rc = self.proc.returncode
            self.stop()
            raise LdapError(argv, rc, "", "slapd %s exited at start:\n%s"
                            % (self.name, self.log_tail()))
        if not ok:
            self.stop()
            raise TimeoutError("slapd %s not answering on %s after %.0fs:\n%s"
                               % (self.name, self.uri, timeout, self.log_tail()))
        self.start_seconds = time.monotonic() - t0
        return self

    def answers(self):
        """True when the root DSE answers an anonymous base search.  A search
        that takes over 10 s (a loaded machine: slapd still starting) is a
        "not yet", for the caller's own deadline to judge."""
        try:
            p = subprocess.run([LDAPSEARCH, "-x", "-LLL", "-H", self.uri, "-o", "nettimeout=2",
                                "-b", "", "-s", "base", "namingContexts"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
        except subprocess.TimeoutExpired:
            return False
        return p.returncode == 0

    def stop(self, timeout=10.0):
        """SIGTERM by PID, wait, SIGKILL if it lingers.  Data stays.
        Idempotent; safe when never started."""
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
                    self.proc.wait(5)
            self.proc = None
        elif self.pid is None and os.path.exists(self.pid_path):
            # A slapd we started from an earlier object (same dir): by its pidfile.
            try:
                with open(self.pid_path) as f:
                    util.stop_pid(int(f.read().split()[0]), timeout)
            except (OSError, ValueError, IndexError):
                pass
        if self._log is not None:
            self._log.close()
            self._log = None
        util.stopped(self)
        return self

    def kill(self):
        """SIGKILL (a crash, for outage tests); data as mdb left it."""
        if self.running():
            self.proc.kill()
            self.proc.wait(5)
        return self.stop()

    def restart(self):
        return self.stop().start()

    def destroy(self, keep=False):
        """stop(); remove the directory unless keep."""
        self.stop()
        if not keep:
            shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, n=40):
        return "\n".join(util.read_from(self.log_path).splitlines()[-n:])

    # --- clients ---------------------------------------------------------
    def _bind_args(self, who):
        if who == "root":
            return ["-x", "-D", self.rootdn, "-y", self.root_password_file]
        if who == "reader":
            return ["-x", "-D", self.reader_dn, "-y", self.reader_password_file]
        if who in (None, "anonymous", "anon"):
            return ["-x"]
        dn, password = who          # (dn, password)
        pwfile = os.path.join(self.root, "bind-%d.secret" % time.monotonic_ns())
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(password)
        return ["-x", "-D", dn, "-y", pwfile]

    def _run(self, argv, input=None, check=True, timeout=120):
        p = subprocess.run(argv, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise LdapError(argv, p.returncode, p.stdout, p.stderr)
        return p

    def _client(self, tool, who, extra, input=None, check=True, timeout=120):
        argv = [tool, "-H", self.uri, "-o", "nettimeout=5"] + self._bind_args(who) + extra
        return self._run(argv, input=input, check=check, timeout=timeout)

    def add(self, ldif, who="root", check=True, continuous=False):
        """ldapadd the entries of ldif (text).  Returns the CompletedProcess
        (rc = LDAP result code); raises LdapError on failure when check."""
        return self._client(LDAPADD, who, ["-c"] if continuous else [], input=ldif, check=check)

    def add_entry(self, dn, attrs, who="root", check=True):
        return self.add(entry_ldif(dn, attrs), who=who, check=check)

    def modify(self, ldif, who="root", check=True):
        """ldapmodify with changetype records (or plain modify records)."""
        return self._client(LDAPMODIFY, who, [], input=ldif, check=check)

    def replace(self, dn, attr, values, who="root", check=True):
        """Replace all values of attr on dn (values: str or list; [] deletes)."""
        values = values if isinstance(values, (list, tuple)) else [values]
        ldif = "dn: %s\nchangetype: modify\nreplace: %s\n%s-\n" % (
            dn, attr, "".join(ldif_line(attr, v) + "\n" for v in values))
        return self.modify(ldif, who=who, check=check)

    def delete(self, *dns, who="root", check=True, recursive=False):
        return self._client(LDAPDELETE, who, (["-r"] if recursive else []) + list(dns),
                            check=check)

    def search(self, filter="(objectClass=*)", attrs=(), base=None, scope="sub",
               who="root", page=None, check=True, extra=()):
        """ldapsearch; returns [(dn, {attr: [values]})].  page=N uses the
        paged results control (RFC 2696) with N entries a page.  With
        check=False a failure returns the CompletedProcess instead."""
        args = ["-LLL", "-o", "ldif-wrap=no", "-b", base or self.suffix, "-s", scope]
        if page:
            args += ["-E", "pr=%d/noprompt" % page]
        args += list(extra) + [filter] + list(attrs)
        p = self._client(LDAPSEARCH, who, args, check=check, timeout=300)
        if p.returncode != 0:
            return p
        return parse_ldif(p.stdout)

    def get(self, dn, attrs=(), who="root"):
        """The attributes of one entry, or None when it does not exist."""
        p = self._client(LDAPSEARCH, who, ["-LLL", "-o", "ldif-wrap=no", "-b", dn, "-s", "base",
                                           "(objectClass=*)"] + list(attrs), check=False)
        if p.returncode == 32:
            return None
        if p.returncode != 0:
            raise LdapError([LDAPSEARCH], p.returncode, p.stdout, p.stderr)
        entries = parse_ldif(p.stdout)
        return entries[0][1] if entries else None

    def count(self, filter="(objectClass=*)", who="root"):
        """Entries matching filter under the suffix (paged, so no cap)."""
        return len(self.search(filter, attrs=["1.1"], who=who, page=1000))

    def context_csn(self):
        """The suffix's contextCSN values (sync state; [] before any)."""
        attrs = self.get(self.suffix, ["contextCSN"])
        return sorted(get_attr(attrs or {}, "contextCSN"))

    def __repr__(self):
        return "<slapd %s %s pid=%s>" % (self.name, self.uri, self.pid)


class ReplicatedPair:
    """A provider (syncprov) and a consumer (syncrepl refreshAndPersist,
    retry "1 +") under one root: the directory of two MX hosts.

        pair = ReplicatedPair(root).create(initial_ldif).start()
        delay = pair.add_and_wait(ldif, dn)          # seconds until visible
        delay = pair.modify_and_wait(ldif, dn, "mail", "x@y")
        pair.stop()
    """

    def __init__(self, root, suffix=DEFAULT_SUFFIX, **kw):
        self.provider = SlapdInstance(root, "provider", suffix=suffix, role="provider", **kw)
        self.consumer = SlapdInstance(root, "consumer", suffix=suffix, role="consumer",
                                      provider=self.provider, **kw)
        # The consumer replicates the reader entry, so the milter on the
        # second MX binds with the provider's reader password.
        self.consumer.reader_password = self.provider.reader_password

    def create(self, initial_ldif=None):
        self.provider.create(initial_ldif)
        self.consumer.create()
        return self

    def start(self, timeout=20.0):
        """Start both and wait until the consumer holds the provider's data
        (same contextCSN)."""
        self.provider.start(timeout)
        self.consumer.start(timeout)
        if not self.wait_in_sync(timeout):
            raise TimeoutError("consumer not in sync after %.0fs: provider %s, consumer %s\n%s"
                               % (timeout, self.provider.context_csn(),
                                  self.consumer.context_csn(), self.consumer.log_tail()))
        return self

    def stop(self):
        self.consumer.stop()
        self.provider.stop()
        return self

    def destroy(self, keep=False):
        self.consumer.destroy(keep)
        self.provider.destroy(keep)

    def in_sync(self):
        p = self.provider.context_csn()
        return bool(p) and p == self.consumer.context_csn()

    def wait_in_sync(self, timeout=10.0):
        return util.wait_until(self.in_sync, timeout, 0.05)

    def wait_visible(self, dn, attr=None, value=None, timeout=10.0, since=None,
                     gone=False, interval=0.01):
        """Poll the consumer until dn exists (or, with attr/value, has that
        value; with gone=True, no longer exists).  Returns the seconds since
        `since` (a time.monotonic() value; default: the call).  Raises
        TimeoutError."""
        since = time.monotonic() if since is None else since

        def seen():
            attrs = self.consumer.get(dn, [attr] if attr else [])
            if gone:
                return attrs is None
            if attrs is None:
                return False
            if attr is None:
                return True
            vals = [v.lower() if isinstance(v, str) else v for v in get_attr(attrs, attr)]
            return value is None or (value.lower() if isinstance(value, str) else value) in vals
        if not util.wait_until(seen, timeout, interval):
            raise TimeoutError("%s (%s=%s) not on the consumer after %.1fs\n%s"
                               % (dn, attr, value, timeout, self.consumer.log_tail()))
        return time.monotonic() - since

    def add_and_wait(self, ldif, dn, timeout=10.0):
        """ldapadd on the provider, then the replication delay until dn
        shows on the consumer (seconds, measured from before the add)."""
        t0 = time.monotonic()
        self.provider.add(ldif)
        return self.wait_visible(dn, timeout=timeout, since=t0)

    def modify_and_wait(self, ldif, dn, attr, value, timeout=10.0):
        """ldapmodify on the provider; the delay until the consumer's dn
        has attr=value."""
        t0 = time.monotonic()
        self.provider.modify(ldif)
        return self.wait_visible(dn, attr, value, timeout=timeout, since=t0)

    def delete_and_wait(self, dn, timeout=10.0):
        t0 = time.monotonic()
        self.provider.delete(dn)
        return self.wait_visible(dn, gone=True, timeout=timeout, since=t0)
