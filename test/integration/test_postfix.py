#!/usr/bin/python3
"""End-to-end tests of hosted-milter through a real, private Postfix.

Runs every case of cases.py (shared with the Sendmail suite), reload under
traffic, broken reloads, milter down, and the virtual(5) oracle comparison.
Each test class gets its own sink, milter and Postfix instance, stopped by
PID whatever happens.

    test_postfix.py --milter build/hosted-milter [-k NAME] [--keep]

Exit status 0 all passed, 1 something failed, 77 skipped (no Postfix, or
not root).  The last line of output is "N passed, N failed".
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cases  # noqa: E402
import postfix_instance  # noqa: E402
import smtp_client  # noqa: E402
import suite_common  # noqa: E402


def postfix_factory(root, name, sink_port, relay_domains, milter_socket):
    return postfix_instance.PostfixInstance(root, name, sink_port, relay_domains=relay_domains,
                                            milter_socket=milter_socket)


@suite_common.add_case_tests
class PostfixCases(suite_common.CasesBase):
    """The shared end-to-end cases."""
    mta_factory = staticmethod(postfix_factory)
    skip_tags = {"sendmail-reading"}  # Sendmail's reading of malformed arguments


class PostfixReload(suite_common.ReloadBase):
    mta_factory = staticmethod(postfix_factory)


class PostfixMilterDown(suite_common.MilterDownBase):
    mta_factory = staticmethod(postfix_factory)


class PostfixOracle(suite_common.EnvTestCase):
    """The milter instance against Postfix's own virtual_alias_maps holding
    the same table (cases.ORACLE_VIRTUAL), for addresses without roles."""

    mta_factory = staticmethod(postfix_factory)
    env_label = "oracle"
    results = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.oracle = postfix_instance.PostfixInstance(
            cls.env.root, "oracle", cls.env.sink.port,
            relay_domains=cases.ORACLE_RELAY_DOMAINS, virtual_lines=cases.ORACLE_VIRTUAL)
        cls.addClassCleanup(cls.oracle.stop)
        cls.oracle.create()
        cls.oracle.start()

    @classmethod
    def collect(cls):
        """Send every oracle address, alone, to both instances (once per
        class); returns {address: (milter deliveries, oracle deliveries)}."""
        if cls.results is not None:
            return cls.results
        sink = cls.env.sink
        res = {}
        for i, addr in enumerate(cases.ORACLE_ADDRESSES):
            got = []
            for side, mta in (("m", cls.env.mta), ("v", cls.oracle)):
                tid = "oracle-%s-%d" % (side, i)
                o = smtp_client.send_message("127.0.0.1", mta.port, cases.SENDER,
                                             [(addr, cases.ORACLE_PARAMS)], tid)
                if not o.delivered_ok():
                    got.append(("not accepted", o.as_dict()))
                    continue
                recs = smtp_client.wait_for_message(
                    sink, tid, 1, timeout=suite_common.DELIVERY_TIMEOUT,
                    settle=lambda m=mta: m.wait_queue_empty(20))
                got.append(smtp_client.delivered_rcpts(recs))
            res[addr] = tuple(got)
        cls.results = res
        return res

    def test_oracle_recipients(self):
        """the final delivered recipients equal Postfix virtual(5)'s"""
        problems = []
        for addr, (mil, ora) in self.collect().items():
            if isinstance(mil, tuple) or isinstance(ora, tuple):
                problems.append("%s: milter %s / virtual %s" % (addr, mil, ora))
                continue
            m = sorted({d["rcpt"].lower() for d in mil})
            v = sorted({d["rcpt"].lower() for d in ora})
            if m != v:
                problems.append("%s: milter delivered %s, virtual(5) %s" % (addr, m, v))
        if problems:
            self.fail("\n  ".join([""] + problems))

    def test_oracle_orcpt_notify(self):
        """ORCPT and NOTIFY of each delivered recipient equal virtual(5)'s"""
        problems = []
        for addr, (mil, ora) in self.collect().items():
            if isinstance(mil, tuple) or isinstance(ora, tuple):
                continue

            def key(ds):
                return {d["rcpt"].lower(): (d["params"].get("ORCPT"), d["params"].get("NOTIFY"))
                        for d in ds}
            km, kv = key(mil), key(ora)
            for rcpt, known in cases.ORACLE_DSN_EXCEPTIONS.get(addr, {}).items():
                if km.get(rcpt) != known:
                    problems.append("%s: milter gave %s %s, the documented exception says %s"
                                    % (addr, rcpt, km.get(rcpt), known))
                elif rcpt in kv:
                    km[rcpt] = kv[rcpt]
            if km != kv:
                problems.append("%s: milter %s, virtual(5) %s" % (addr, sorted(km.items()),
                                                                   sorted(kv.items())))
        if problems:
            self.fail("\n  ".join([""] + problems))


def main(argv=None):
    return suite_common.run_main(__doc__.splitlines()[1],
                                 [PostfixCases, PostfixReload, PostfixMilterDown, PostfixOracle],
                                 postfix_instance.available, argv)


if __name__ == "__main__":
    sys.exit(main())
