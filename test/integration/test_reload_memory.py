#!/usr/bin/python3
"""Reloads of a large table give their memory back.

hosted-milter runs on a generated virtual(5) table of 200,000 addresses
(its large blocks: 2 MiB arena blocks, an 8 MiB index, the 9 MB file
text); it is reloaded by SIGUSR1 five times, with no traffic, so each old
table is freed as soon as the new one is installed.  VmRSS after the last
reload must be back near VmRSS after the start: before the daemon fixed
glibc's mmap threshold, each reload left the previous table in the heap
(+~100 MB a reload at 1,000,000 addresses).  VmHWM (both tables alive,
plus the builder) is printed and bounded loosely.

    test_reload_memory.py --milter build/hosted-milter [-k NAME] [--keep]

Exit status 0 all passed, 1 something failed.  Needs no MTA and no root.
The last line of output is "N passed, N failed".
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import milter_process  # noqa: E402
import suite_common  # noqa: E402

ADDRESSES = 200000
DOMAINS = 100
RELOADS = 5
# after the reloads, VmRSS within this of the start: slack for the heap
# and libmilter's threads, far below one table (~30 MB here)
RSS_SLACK_KB = 12 * 1024
RSS_SLACK_FRACTION = 0.15


def proc_status_kb(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError("no %s in /proc/%d/status" % (field, pid))


def write_table(path):
    with open(path, "w") as f:
        for d in range(DOMAINS):
            f.write("d%d.example hosted\n" % d)
        f.write("".join("u%d@d%d.example m%d@corp.example\n" % (i, i % DOMAINS, i)
                        for i in range(ADDRESSES)))


class ReloadMemory(suite_common.TempRootTestCase):
    root_prefix = "hm-relmem-"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        table = os.path.join(cls.root, "virtual")
        write_table(table)
        conf = os.path.join(cls.root, "hosted-milter.conf")
        with open(conf, "w") as f:
            f.write('postmaster = "postmaster@corp.example"\n'
                    'table = { "%s" }\n' % table)
        # A sanitized daemon: ASan's quarantine holds freed blocks by
        # design; without it ASan's allocator unmaps large blocks at once.
        opts = os.environ.get("ASAN_OPTIONS", "")
        os.environ["ASAN_OPTIONS"] = (opts + ":" if opts else "") + "quarantine_size_mb=0"
        cls.milter = milter_process.MilterProcess(suite_common.MILTER_BINARY, conf, cls.root)
        cls.milter.start(timeout=120)

    @classmethod
    def stop_servers(cls):
        if getattr(cls, "milter", None) is not None:
            cls.milter.stop()

    def test_rss_back_after_reloads(self):
        pid = self.milter.pid
        start = proc_status_kb(pid, "VmRSS")
        after = []
        for _ in range(RELOADS):
            ok, text = self.milter.reload(timeout=120)
            self.assertTrue(ok, "reload failed:\n" + text[-2000:])
            time.sleep(0.5)  # the old table is freed by the reload thread's reaper
            after.append(proc_status_kb(pid, "VmRSS"))
        peak = proc_status_kb(pid, "VmHWM")
        bound = start + max(RSS_SLACK_KB, int(start * RSS_SLACK_FRACTION))
        print("\nVmRSS after start %d kB, after each reload %s kB, VmHWM %d kB (%.2f x start); "
              "bound %d kB" % (start, " ".join(str(k) for k in after), peak, peak / start, bound))
        self.assertLessEqual(max(after), bound,
                             "RSS grew with the reloads: %s kB after them, %d kB after the start "
                             "(a freed table stays in the process)" % (after, start))
        # both tables and the builder at once, never a third table
        self.assertLess(peak, 3.5 * start, "VmHWM %d kB is more than 3.5 x the start" % peak)


def main(argv=None):
    return suite_common.run_main(__doc__.splitlines()[1], [ReloadMemory],
                                 lambda: (True, ""), argv)


if __name__ == "__main__":
    sys.exit(main())
