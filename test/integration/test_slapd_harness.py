#!/usr/bin/python3
"""Tests of the LDAP half of the harness (label `ldap`), no milter involved:
private slapd servers (slapd_instance.py), the test schemas (ldap/*.schema)
and the test directories (ldap_data.py).

Checks: start and stop by PID (and cleanup when the starting process dies on
an exception), the schemas load and behave as AD / iRedMail do where the
tests rely on it, the reader can read (and page past the size limit) but not
write, the AD and iRedMail trees load, ldapmodify works (8-bit values
too), stop/start and a SIGKILL keep the data, provider -> consumer
replication of an add, a modify and a delete within 2 s (delays printed)
and across an outage of either side, and the 100,000-entry load (time
printed; under 60 s).  Useful on its own and when an LDAP suite fails, to
tell a harness problem from a product one.

    test_slapd_harness.py [-k NAME] [--keep]   exit 0 pass, 1 fail, 77 skip
                                               (not root / no slapd)
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import traceback
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import ldap_data  # noqa: E402
import slapd_instance  # noqa: E402
import util  # noqa: E402
from slapd_instance import get_attr  # noqa: E402

KEEP_TMP = bool(os.environ.get("HM_KEEP_TMP"))
SUFFIX = ldap_data.SUFFIX
SCALE_N = 100000
SCALE_BUDGET = 60.0          # seconds: the whole 100k test (generate, load, start, read)
REPLICATION_BUDGET = 2.0     # seconds from ldapmodify on the provider to the consumer


def note(msg):
    """A measured number, on its own line in the test output."""
    sys.stdout.write("\n    [measure] %s\n" % msg)
    sys.stdout.flush()


class TmpMixin:
    @classmethod
    def make_root(cls, label):
        cls.root = tempfile.mkdtemp(prefix="hm-ldap-%s-" % label)
        os.chmod(cls.root, 0o755)
        return cls.root

    @classmethod
    def drop_root(cls):
        if getattr(cls, "root", None) and not KEEP_TMP:
            shutil.rmtree(cls.root, ignore_errors=True)


class LifecycleTests(TmpMixin, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.make_root("life")

    @classmethod
    def tearDownClass(cls):
        cls.drop_root()

    def test_start_stop_by_pid(self):
        s = slapd_instance.SlapdInstance(self.root, "life")
        self.addCleanup(s.destroy)
        s.create().start()
        note("slapd start (to answering a root DSE search): %.3f s" % s.start_seconds)
        pid = s.pid
        self.assertTrue(util.pid_alive(pid))
        with open(s.pid_path) as f:
            self.assertEqual(int(f.read().split()[0]), pid)
        self.assertTrue(s.answers())
        self.assertFalse(util.port_is_free(s.port))
        s.stop()
        self.assertFalse(util.pid_alive(pid))
        self.assertTrue(util.port_is_free(s.port))
        self.assertFalse(s.answers())
        s.stop()   # idempotent

    def test_bad_config_is_reported(self):
        s = slapd_instance.SlapdInstance(self.root, "bad",
                                         schemas=["core", "/nonexistent/x.schema"])
        self.addCleanup(s.destroy)
        with self.assertRaises(slapd_instance.LdapError) as cm:
            s.create()
        self.assertIn("x.schema", str(cm.exception))
        self.assertFalse(s.running())

    def test_cleanup_when_the_starter_dies(self):
        """A process that starts a slapd and then raises still stops it
        (util's atexit registry)."""
        script = textwrap.dedent("""
            import sys
            sys.path.insert(0, %r)
            import slapd_instance
            s = slapd_instance.SlapdInstance(%r, "crash").create().start()
            print(s.pid, s.port, flush=True)
            raise RuntimeError("test blew up")
        """) % (HERE, self.root)
        p = subprocess.run([sys.executable, "-c", script], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=60)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("test blew up", p.stderr)
        pid, port = (int(x) for x in p.stdout.split())
        self.assertTrue(util.wait_until(lambda: not util.pid_alive(pid), 10),
                        "slapd %d survived its starter" % pid)
        self.assertTrue(util.port_is_free(port))


class DirectoryTests(TmpMixin, unittest.TestCase):
    """One slapd with the AD and the iRedMail trees."""

    @classmethod
    def setUpClass(cls):
        cls.make_root("dir")
        cls.s = slapd_instance.SlapdInstance(cls.root, "dir")
        try:
            cls.s.create(ldap_data.ad_tree()).start()
            cls.s.add(ldap_data.iredmail_tree())    # online, through ldapadd
        except Exception:
            cls.s.destroy(keep=True)
            raise
        cls.ad = ldap_data.ad_dns()
        cls.irm = ldap_data.iredmail_dns()

    @classmethod
    def tearDownClass(cls):
        cls.s.destroy(keep=KEEP_TMP)
        cls.drop_root()

    def names(self, filter, who="reader", base=None):
        return sorted(dn.lower() for dn, _ in self.s.search(filter, ["1.1"], who=who, base=base))

    def test_schemas_loaded(self):
        [(dn, attrs)] = self.s.search("(objectClass=subschema)", ["objectClasses", "attributeTypes"],
                                      base="cn=Subschema", scope="base", who="anonymous")
        text = "\n".join(get_attr(attrs, "objectClasses") + get_attr(attrs, "attributeTypes"))
        for name in ("user", "group", "contact", "computer", "proxyAddresses", "targetAddress",
                     "mailDomain", "mailUser", "mailList", "mailAlias", "domainName",
                     "domainAliasName", "accountStatus", "shadowAddress",
                     "mailForwardingAddress", "memberOfGroup",
                     "inetOrgPerson", "posixAccount", "inetLocalMailRecipient", "groupOfNames"):
            self.assertIn("NAME '%s'" % name, text)

    def test_ad_tree_loaded(self):
        self.assertEqual(len(self.names("(objectClass=group)")), 3)
        self.assertEqual(len(self.names("(objectClass=contact)")), 2)
        alice = self.s.get(self.ad["alice"], ["proxyAddresses", "mail"], who="reader")
        self.assertIn("SMTP:Alice.Smith@corp.example", get_attr(alice, "proxyAddresses"))
        self.assertIn("X500:/o=Corp/ou=Exchange/cn=Recipients/cn=alice",
                      get_attr(alice, "proxyAddresses"))
        sales = self.s.get(self.ad["sales"], ["member"], who="reader")
        self.assertEqual(sorted(m.lower() for m in get_attr(sales, "member")),
                         sorted(self.ad[k].lower() for k in ("alice", "bob", "dave", "emea")))
        emea = self.s.get(self.ad["emea"], ["member"], who="reader")
        self.assertEqual([m.lower() for m in get_attr(emea, "member")], [self.ad["carol"].lower()])

    def test_ad_schema_is_like_ad(self):
        # A computer is a user; a contact is a person; a user is a person.
        users = self.names("(objectClass=user)")
        self.assertIn(self.ad["ws01"].lower(), users)
        self.assertNotIn(self.ad["dave"].lower(), users)
        people = self.names("(objectClass=person)")
        for k in ("dave", "eve", "alice", "ws01"):
            self.assertIn(self.ad[k].lower(), people)
        self.assertEqual(self.names("(&(objectClass=user)(!(objectClass=computer)))"),
                         sorted(self.ad[k].lower() for k in
                                ("postmaster", "alice", "bob", "carol", "noaddr")))
        # proxyAddresses match case-insensitively; the stored case stays.
        self.assertEqual(self.names("(proxyAddresses=SMTP:ALICE@CORP.EXAMPLE)"),
                         [self.ad["alice"].lower()])
        self.assertEqual(self.names("(proxyAddresses=smtp:*@corp2.example)"),
                         sorted(self.ad[k].lower() for k in ("postmaster", "alice", "eve", "sales")))
        # A group takes member, mail and proxyAddresses; a contact does not take member.
        r = self.s.add_entry("CN=Bad Contact,OU=Contacts," + SUFFIX,
                             [("objectClass", ["top", "person", "organizationalPerson", "contact"]),
                              ("cn", "Bad Contact"), ("sn", "Contact"),
                              ("member", self.ad["alice"])], check=False)
        self.assertEqual(r.returncode, 65, r.stderr)     # objectClassViolation
        # SMTP:x and smtp:x are one value (AD refuses the pair as well).
        r = self.s.add_entry("CN=Dup,OU=Users," + SUFFIX,
                             [("objectClass", ["top", "person", "organizationalPerson", "user"]),
                              ("cn", "Dup"), ("sn", "Dup"),
                              ("proxyAddresses", ["SMTP:dup@corp.example", "smtp:dup@corp.example"])],
                             check=False)
        self.assertEqual(r.returncode, 20, r.stderr)     # attributeOrValueExists

    def test_iredmail_tree_loaded(self):
        doms = self.s.search("(&(objectClass=mailDomain)(accountStatus=active))",
                             ["domainName", "domainAliasName"], who="reader")
        self.assertEqual(len(doms), 1)
        self.assertEqual(get_attr(doms[0][1], "domainName"), ["example.com"])
        self.assertEqual(get_attr(doms[0][1], "domainAliasName"), ["example.net"])
        self.assertEqual(len(self.names("(&(objectClass=mailUser)(accountStatus=active))")), 6)
        self.assertEqual(self.names("(&(objectClass=mailUser)(accountStatus=disabled))"),
                         [self.irm["carol"].lower()])
        self.assertEqual(self.names("(memberOfGroup=STAFF@example.com)"),
                         sorted(self.irm[k].lower() for k in ("alice", "bob", "carol")))
        lst = self.s.get(self.irm["staff"], ["objectClass", "shadowAddress",
                                             "mailForwardingAddress"], who="reader")
        self.assertIn("mailList", get_attr(lst, "objectClass"))
        self.assertEqual(get_attr(lst, "shadowAddress"), ["team@example.com"])
        alias = self.s.get(self.irm["info"], ["objectClass", "mailForwardingAddress"], who="reader")
        self.assertIn("mailAlias", get_attr(alias, "objectClass"))
        self.assertEqual(len(get_attr(alias, "mailForwardingAddress")), 2)

    def test_reader_reads_but_cannot_write(self):
        entries = self.s.search("(objectClass=*)", who="reader")
        self.assertGreater(len(entries), 30)
        self.assertFalse(any(get_attr(a, "userPassword") for _, a in entries),
                         "the reader sees passwords")
        bob = self.ad["bob"]
        r = self.s.replace(bob, "mail", "hijack@corp.example", who="reader", check=False)
        self.assertEqual(r.returncode, 50, r.stderr)     # insufficientAccessRights
        r = self.s.add_entry("CN=Intruder,OU=Users," + SUFFIX,
                             [("objectClass", ["top", "person", "organizationalPerson", "user"]),
                              ("cn", "Intruder"), ("sn", "Intruder")], who="reader", check=False)
        self.assertEqual(r.returncode, 50, r.stderr)
        r = self.s.delete(bob, who="reader", check=False)
        self.assertEqual(r.returncode, 50, r.stderr)
        self.assertEqual(get_attr(self.s.get(bob, ["mail"]), "mail"), ["bob@corp.example"])
        # Anonymous: nothing but the root DSE; a wrong password: invalidCredentials.
        r = self.s.search("(objectClass=*)", who="anonymous", check=False)
        self.assertTrue(r == [] or r.returncode == 32, r)
        r = self.s.search("(objectClass=*)", who=(self.s.reader_dn, "wrong"), check=False)
        self.assertEqual(r.returncode, 49, r.stderr)
        self.assertEqual(os.stat(self.s.reader_password_file).st_mode & 0o777, 0o600)
        with open(self.s.reader_password_file) as f:
            self.assertEqual(f.read(), self.s.reader_password)

    def test_ldapmodify(self):
        dn = self.ad["carol"]
        self.s.modify("dn: %s\nchangetype: modify\nadd: proxyAddresses\n"
                      "proxyAddresses: smtp:c.white@corp.example\n-\n"
                      "replace: mail\nmail: carol@corp.example\n-\n" % dn)
        got = self.s.get(dn, ["proxyAddresses", "mail"], who="reader")
        self.assertEqual(sorted(get_attr(got, "proxyAddresses")),
                         ["SMTP:carol@corp.example", "smtp:c.white@corp.example"])
        self.s.replace(dn, "mail", [])
        self.assertEqual(get_attr(self.s.get(dn, ["mail"]), "mail"), [])
        # 8-bit and otherwise unsafe values travel base64 both ways.
        for value in ("Zoë Ünïcödé", " leading space", "trailing space ", ":colon", "<angle"):
            self.s.replace(dn, "displayName", value)
            self.assertEqual(get_attr(self.s.get(dn, ["displayName"], who="reader"),
                                      "displayName"), [value])
        # Delete and re-add.
        new = "CN=Temp,OU=Users," + SUFFIX
        self.s.add(ldap_data.ad_user(new, "Temp", "Temp", "temp",
                                     proxy=["SMTP:temp@corp.example"]))
        self.assertIsNotNone(self.s.get(new))
        self.s.delete(new)
        self.assertIsNone(self.s.get(new))
        r = self.s.delete(new, check=False)
        self.assertEqual(r.returncode, 32)               # noSuchObject


class OutageTests(TmpMixin, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.make_root("outage")

    @classmethod
    def tearDownClass(cls):
        cls.drop_root()

    def test_stop_start_keeps_data(self):
        s = slapd_instance.SlapdInstance(self.root, "outage")
        self.addCleanup(s.destroy)
        s.create(ldap_data.iredmail_tree()).start()
        dn = ldap_data.iredmail_dns()["alice"]
        s.replace(dn, "shadowAddress", ["alice.smith@example.com", "a@example.com"])
        port, pid = s.port, s.pid
        s.stop()
        self.assertFalse(util.pid_alive(pid))
        self.assertFalse(s.answers())
        s.start()
        self.assertEqual(s.port, port)
        self.assertNotEqual(s.pid, pid)
        self.assertEqual(sorted(get_attr(s.get(dn, ["shadowAddress"], who="reader"),
                                         "shadowAddress")),
                         ["a@example.com", "alice.smith@example.com"])
        # A crash (SIGKILL) keeps what was committed, too.
        s.replace(dn, "accountStatus", "disabled")
        s.kill()
        s.start()
        self.assertEqual(get_attr(s.get(dn, ["accountStatus"]), "accountStatus"), ["disabled"])


class ReplicationTests(TmpMixin, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.make_root("repl")
        cls.pair = slapd_instance.ReplicatedPair(cls.root)
        try:
            t0 = time.monotonic()
            cls.pair.create(ldap_data.ad_tree()).start()
            cls.pair_start = time.monotonic() - t0
        except Exception:
            cls.pair.destroy(keep=True)
            raise
        cls.ad = ldap_data.ad_dns()

    @classmethod
    def tearDownClass(cls):
        cls.pair.destroy(keep=KEEP_TMP)
        cls.drop_root()

    def setUp(self):
        for s in (self.pair.provider, self.pair.consumer):
            if not s.running():
                s.start()

    def test_initial_copy(self):
        note("provider + consumer start until in sync: %.3f s" % self.pair_start)
        c = self.pair.consumer
        self.assertEqual(self.pair.provider.count(), c.count())
        # The reader exists on the consumer with the provider's password.
        alice = c.get(self.ad["alice"], ["proxyAddresses"], who="reader")
        self.assertIn("SMTP:Alice.Smith@corp.example", get_attr(alice, "proxyAddresses"))
        r = c.add_entry("CN=Local,OU=Users," + SUFFIX,
                        [("objectClass", ["top", "person", "organizationalPerson", "user"]),
                         ("cn", "Local"), ("sn", "Local")], check=False)
        self.assertEqual(r.returncode, 53, r.stderr)     # unwillingToPerform: a shadow

    def test_add_modify_delete_within_2s(self):
        dn = "CN=Repl User,OU=Users," + SUFFIX
        d_add = self.pair.add_and_wait(
            ldap_data.ad_user(dn, "Repl User", "User", "repl", proxy=["SMTP:repl@corp.example"]), dn)
        d_mod = self.pair.modify_and_wait(
            "dn: %s\nchangetype: modify\nadd: proxyAddresses\n"
            "proxyAddresses: smtp:repl2@corp.example\n-\n" % dn,
            dn, "proxyAddresses", "smtp:repl2@corp.example")
        d_del = self.pair.delete_and_wait(dn)
        note("replication delay provider -> consumer: add %.3f s, modify %.3f s, delete %.3f s"
             % (d_add, d_mod, d_del))
        for d in (d_add, d_mod, d_del):
            self.assertLess(d, REPLICATION_BUDGET)
        self.assertTrue(self.pair.wait_in_sync(5))

    def test_provider_outage(self):
        """The consumer serves while the provider is down and catches up
        (retry 1 s) when it is back."""
        p, c = self.pair.provider, self.pair.consumer
        p.stop()
        self.assertIsNotNone(c.get(self.ad["bob"], ["mail"], who="reader"))
        p.start()
        t0 = time.monotonic()
        p.replace(self.ad["bob"], "mail", "robert@corp.example")
        d = self.pair.wait_visible(self.ad["bob"], "mail", "robert@corp.example", since=t0,
                                   timeout=10)
        note("replication delay after a provider restart (consumer retry=\"1 +\"): %.3f s" % d)
        self.assertLess(d, 1.0 + REPLICATION_BUDGET)
        p.replace(self.ad["bob"], "mail", "bob@corp.example")
        self.pair.wait_visible(self.ad["bob"], "mail", "bob@corp.example")

    def test_consumer_outage(self):
        """Changes made while the consumer is down reach it when it starts."""
        p, c = self.pair.provider, self.pair.consumer
        c.stop()
        dn = "CN=While Down,OU=Users," + SUFFIX
        p.add(ldap_data.ad_user(dn, "While Down", "Down", "down",
                                proxy=["SMTP:down@corp.example"]))
        p.replace(self.ad["carol"], "proxyAddresses", ["SMTP:carol@corp.example",
                                                       "smtp:cw@corp.example"])
        t0 = time.monotonic()
        c.start()
        self.pair.wait_visible(dn, timeout=10)
        d = self.pair.wait_visible(self.ad["carol"], "proxyAddresses", "smtp:cw@corp.example",
                                   timeout=10, since=t0)
        note("consumer restarted: caught up %.3f s after its start began" % d)
        self.assertTrue(self.pair.wait_in_sync(5))


class ScaleTests(TmpMixin, unittest.TestCase):
    """The 100,000-entry directory of the scale benchmark, loaded offline
    with slapadd (faster than ldapadd: ldap_data.py --bench)."""

    @classmethod
    def setUpClass(cls):
        cls.make_root("scale")

    @classmethod
    def tearDownClass(cls):
        cls.drop_root()

    def test_100k_entries(self):
        t_all = time.monotonic()
        s = slapd_instance.SlapdInstance(self.root, "scale", log_level="0")
        self.addCleanup(s.destroy)
        s.create()
        path = os.path.join(self.root, "scale.ldif")
        t0 = time.monotonic()
        n = ldap_data.scale_ldif(path, SCALE_N)
        t_gen = time.monotonic() - t0
        t_load = s.slapadd(path)
        s.start()
        t0 = time.monotonic()
        got = s.count("(objectClass=user)", who="reader")   # paged, 1000 a page
        t_read = time.monotonic() - t0
        total = time.monotonic() - t_all
        note("%d entries: generate %.2f s, slapadd -q %.2f s, start %.2f s, "
             "paged read as the reader %.2f s; total %.1f s"
             % (n, t_gen, t_load, s.start_seconds, t_read, total))
        self.assertEqual(got, SCALE_N)
        # Without paging the reader hits the size limit, as on a real server.
        r = s.search("(objectClass=user)", ["1.1"], who="reader", check=False)
        self.assertFalse(isinstance(r, list), "no size limit")
        self.assertEqual(r.returncode, 4, r.stderr)       # sizeLimitExceeded
        self.assertIsNotNone(s.get("CN=User 99999,OU=Scale," + SUFFIX, ["proxyAddresses"]))
        self.assertLess(total, SCALE_BUDGET)


CLASSES = [LifecycleTests, DirectoryTests, OutageTests, ReplicationTests, ScaleTests]


def main(argv=None):
    global KEEP_TMP
    ap = argparse.ArgumentParser(description="Tests of the slapd harness (label ldap).")
    ap.add_argument("-k", dest="patterns", action="append",
                    help="only tests whose name contains this (repeatable)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dirs")
    args = ap.parse_args(argv)
    KEEP_TMP = KEEP_TMP or args.keep
    ok, why = slapd_instance.available()
    if not ok:
        print("SKIP: %s" % why)
        print("0 passed, 0 failed")
        return 77

    # SIGTERM (a ctest timeout): unwind as for Ctrl-C, so the atexit hook
    # stops every slapd still running.
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
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    passed = max(0, result.testsRun - failed - len(result.skipped))
    sys.stdout.flush()
    sys.stderr.write("(%.1f s)\n" % (time.monotonic() - t0))
    sys.stderr.flush()
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 0 if failed == 0 and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
