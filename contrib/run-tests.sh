#!/usr/bin/env bash
# run-tests.sh - the whole test suite from a fresh checkout: installs what
# is missing (as root), builds with -Werror, runs every ctest label (unit,
# postfix, ...).  Extra arguments go to ctest (e.g. -L unit).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build-test}

"$top/contrib/install-deps.sh"
cmake -S "$top" -B "$build" -DWERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)"
cd "$build"
ctest --output-on-failure "$@"
