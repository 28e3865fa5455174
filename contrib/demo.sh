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
# Run it as yourself, with sudo available (or as root): only installing
# packages and demo.py (a private Postfix: `postfix start` is for root only)
# run through sudo; build/ is built as, and stays owned by, the user who
# owns the tree, also under `sudo contrib/demo.sh`.
set -eu

cd "$(dirname "$0")/.."

as_root=
if [ "$(id -u)" != 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "demo.sh: run as root or install sudo (it installs packages and starts a private Postfix)" >&2
        exit 1
    fi
    as_root="sudo -n --"
fi
# Run as root through sudo by the tree's owner: build as that owner, so
# that build/ does not become root's.
as_owner=
if [ "$(id -u)" = 0 ] && [ -n "${SUDO_UID:-}" ] && [ "$SUDO_UID" != 0 ] &&
    [ "$(stat -c %u .)" = "$SUDO_UID" ]; then
    as_owner="sudo -u #$SUDO_UID -g #${SUDO_GID:-$SUDO_UID} --"
fi

# Missing packages (apt-get; Postfix preseeded "No configuration"); the
# script uses sudo itself when it has something to install.
contrib/install-deps.sh

$as_owner cmake -S . -B build
$as_owner cmake --build build --target hosted-milter -j "$(nproc 2>/dev/null || echo 2)"

# Ask for the password now, in the foreground: the demo below runs as a
# background job, which could not read it.
[ -n "$as_root" ] && sudo -v
$as_root /usr/bin/python3 -B test/integration/demo.py --milter build/hosted-milter \
    --conf etc/hosted-milter.conf "$@" &
pid=$!
# Ctrl-C reaches only this shell (a background job ignores SIGINT): pass it
# on as SIGTERM, then wait until demo.py has stopped Postfix, milter and sink.
# Through sudo, $pid is sudo's, root's: the signal is sent with sudo, and
# sudo passes it on to demo.py.
trap '$as_root kill -TERM "$pid" 2>/dev/null || true' INT TERM
status=0
wait "$pid" || status=$?
while kill -0 "$pid" 2>/dev/null; do
    status=0
    wait "$pid" || status=$?
done
exit "$status"
