#!/usr/bin/env bash
# bench.sh - the benchmark suite (never part of ctest): builds Release into
# its own build dir, then runs test/bench/bench.py, which measures every
# figure beside its baseline in the same run (resolution, load vs postmap,
# reload under traffic, milter protocol vs a null milter, end to end through
# Postfix vs native virtual_alias_maps and vs a null milter (e), and the same
# through a private Sendmail 8.17 vs native virtusertable (f; every round
# checked: each message delivered once, to the rewritten target), writes
# test/bench/results-<date>.md and prints it.  Needs root and Postfix for the
# Postfix parts, root and the Sendmail packages of the integration suite for
# f (fetched with apt-get download like test_sendmail); about 30 minutes
# (f alone about 13 at the defaults: Sendmail forks per session and per
# delivery and ran at ~80 msg/s on a busy 2-core box).
#
#   contrib/bench.sh [--quick] [--reps N] [--only abcdef] [--e2e-messages N] [--e2e-reuse] [--keep]
#   BUILD_DIR=... (default: build-bench in the source tree)  OUT=... (results file)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build-bench}
out=${OUT:-$top/test/bench/results-$(date +%Y-%m-%d).md}

cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Release -DWERROR=ON >/dev/null
cmake --build "$build" -j2 --target hosted-milter bench_resolve null_milter milter_driver
# bench.py stops everything it started by PID (also on errors and SIGTERM).
exec /usr/bin/python3 "$top/test/bench/bench.py" --build "$build" --out "$out" "$@"
