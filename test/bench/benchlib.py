"""Helpers shared by the benchmark modules (bench.py, bench_e2e.py).

Owns the list of child processes the benchmark started (stopped by PID at
the end, also on errors: kill_children), the progress log on stderr, and
the small statistics and formatting used by every section's report:
medians, "median (min-max)" cells, medians of per-round ratios.
"""

import statistics
import sys
import time

# Every subprocess.Popen the benchmark starts itself (not the harness's
# instances, which stop themselves): kill_children() stops them by PID.
children = []


def kill_children():
    for p in children:
        if p.poll() is None:
            try:
                p.terminate()
                p.wait(10)
            except Exception:  # noqa: BLE001 -- last-chance cleanup
                try:
                    p.kill()
                except Exception:  # noqa: BLE001
                    pass


def log(msg):
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def med(v):
    v = [x for x in v if x is not None]
    return statistics.median(v) if v else None


def fmt(x, spec=".1f"):
    return "n/a" if x is None else format(x, spec)


def ratio(a, b):
    return None if a is None or not b else a / b


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def spread(v, spec=".0f"):
    """'median (min-max)' of the values that are not None, or 'n/a'."""
    v = [x for x in v if x is not None]
    return "%s (%s-%s)" % (fmt(med(v), spec), fmt(min(v), spec),
                           fmt(max(v), spec)) if v else "n/a"


def round_ratios(a, b):
    """Per-round ratios a[i] / b[i] (rounds where either is missing left out)."""
    return [x / y for x, y in zip(a, b) if x is not None and y]


def ratio_cell(a, b, spec=".3f"):
    """'**median** (min-max)' of the per-round ratios a / b."""
    rr = round_ratios(a, b)
    return "**%s** (%s-%s)" % (fmt(med(rr), spec), fmt(min(rr) if rr else None, ".2f"),
                               fmt(max(rr) if rr else None, ".2f"))
