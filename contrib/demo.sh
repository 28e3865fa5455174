#!/bin/sh
# contrib/demo.sh - see hosted-milter work, on a fresh Debian machine, in a minute.
#
# Installs what is missing (apt-get; Postfix preseeded "No configuration", so
# no system MTA is set up or started), builds into build/, then runs
# test/integration/demo.py: a recording sink, the milter on
# etc/hosted-milter.conf (socket in a temp dir) and a private Postfix on
# 127.0.0.1:2525 (or a free port) wired to it.  It prints swaks commands to
# try and where the results are; Ctrl-C stops everything.
#
#   contrib/demo.sh            run until Ctrl-C
#   contrib/demo.sh --check    send a rewrite and a reject, print, stop (CI)
#   contrib/demo.sh --keep     keep the temp dir with the logs afterwards
#
# Needs root (apt-get, and `postfix start` for the private instance).
set -eu

cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        exec sudo -- "$0" "$@"
    fi
    echo "demo.sh: run as root (it installs packages and starts a private Postfix)" >&2
    exit 1
fi

# Missing packages (apt-get; Postfix preseeded "No configuration").
contrib/install-deps.sh

cmake -S . -B build
cmake --build build --target hosted-milter -j "$(nproc 2>/dev/null || echo 2)"

/usr/bin/python3 test/integration/demo.py --milter build/hosted-milter \
    --conf etc/hosted-milter.conf "$@" &
pid=$!
# Ctrl-C reaches only this shell (a background job ignores SIGINT): pass it
# on as SIGTERM, then wait until demo.py has stopped Postfix, milter and sink.
trap 'kill -TERM "$pid" 2>/dev/null || true' INT TERM
status=0
wait "$pid" || status=$?
while kill -0 "$pid" 2>/dev/null; do
    status=0
    wait "$pid" || status=$?
done
exit "$status"
