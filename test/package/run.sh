#!/bin/sh
# run.sh - the Debian package as an administrator meets it: build the .deb
# (contrib/build-deb.sh), lintian (no error, no warning), the unit through
# systemd-analyze (verify clean, security exposure <= 2.0), then in a fresh
# bookworm root made by mmdebstrap (deb.debian.org only): `apt-get install
# ./hosted-milter_*.deb postfix` in one command, the printed `postconf -e`
# lines applied, the milter started as the unit's ExecStart (as its user:
# no systemd there), that Postfix on a free loopback port, mail to a hosted
# postmaster@ (rewritten) and to an unknown address (refused); an upgrade
# to a rebuilt package with another default configuration (the edited one
# stays), remove, purge (nothing of ours left, Postfix's main.cf untouched),
# install again; and Postfix installed after the package (the trigger).
# Usage: run.sh SOURCE-DIR BUILD-DIR.  Exit 0 pass, 1 fail, 77 skip (not
# root, or mmdebstrap/lintian/systemd-analyze/dpkg-shlibdeps missing).
# The bookworm root is cached as BUILD-DIR/package-test/bookworm.tar.
set -u

SRC=${1:?usage: run.sh SOURCE-DIR BUILD-DIR}
BUILD=${2:?usage: run.sh SOURCE-DIR BUILD-DIR}
MIRROR=${HM_DEBIAN_MIRROR:-http://deb.debian.org}

skip() {
    echo "SKIP: $*"
    exit 77
}
[ "$(id -u)" -eq 0 ] || skip "needs root (chroot, mmdebstrap, dpkg in the chroot)"
for tool in mmdebstrap lintian systemd-analyze dpkg-shlibdeps cpack chroot setpriv python3; do
    command -v "$tool" >/dev/null 2>&1 || skip "$tool not installed (contrib/install-deps.sh)"
done

W=$BUILD/package-test
mkdir -p "$W" || exit 1
T=$(mktemp -d "$W/run.XXXXXX") || exit 1
R=$T/root
failures=0
milter_pid=
proc_mounted=

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

ok() {
    echo "ok: $*"
}

die() {
    fail "$*"
    exit 1
}

in_root() {
    chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
        LC_ALL=C.UTF-8 "$@"
}

# alive PID - the process runs (a zombie left for a reaper does not: the
# daemons detach, and their new parent may reap late).
alive() {
    [ -n "$1" ] && [ -r "/proc/$1/stat" ] && [ "$(cut -d' ' -f3 "/proc/$1/stat")" != Z ]
}

# stop_pid PID - TERM, wait up to 30 s, then KILL; only the PID given.
stop_pid() {
    alive "$1" || return 0
    kill -TERM "$1" 2>/dev/null
    i=0
    while alive "$1" && [ $i -lt 300 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    alive "$1" && kill -KILL "$1" 2>/dev/null
    return 0
}

master_pid() {
    f=$R/var/spool/postfix/pid/master.pid
    [ -s "$f" ] && tr -d ' \n' <"$f"
}

cleanup() {
    stop_pid "$(master_pid)"
    [ -s "$R/run/hosted-milter/hosted-milter.pid" ] &&
        stop_pid "$(cat "$R/run/hosted-milter/hosted-milter.pid")"
    stop_pid "$milter_pid"
    if [ -n "$proc_mounted" ] && ! umount "$R/proc"; then
        echo "cannot unmount $R/proc; $T left in place"
        return
    fi
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# --- the package, lintian, the unit ------------------------------------------
"$SRC/contrib/build-deb.sh" "$W/deb" 1 >"$T/build.log" 2>&1 || {
    cat "$T/build.log"
    die "contrib/build-deb.sh failed"
}
DEB=$(tail -n 1 "$T/build.log")
case $DEB in
*/hosted-milter_*_*.deb) ok "built $(basename "$DEB")" ;;
*) die "build-deb.sh printed no .deb path: $DEB" ;;
esac

if lintian --info --display-experimental --pedantic --fail-on error,warning "$DEB" >"$T/lintian.out" 2>&1; then
    ok "lintian: no error or warning"
else
    fail "lintian:"
fi
grep -v 'running with root privileges' "$T/lintian.out"

X=$T/extracted
dpkg-deb -x "$DEB" "$X"
unit=$X/lib/systemd/system/hosted-milter.service
[ -f "$unit" ] || die "no /lib/systemd/system/hosted-milter.service in the package"
# verify resolves ExecStart and man: Documentation= against this machine;
# point both at the extracted package instead.
mkdir -p "$T/unit"
sed "s#/usr/sbin/hosted-milter#$X/usr/sbin/hosted-milter#g" "$unit" >"$T/unit/hosted-milter.service"
if MANPATH=$X/usr/share/man systemd-analyze verify "$T/unit/hosted-milter.service" >"$T/verify.out" 2>&1 &&
    [ ! -s "$T/verify.out" ]; then
    ok "systemd-analyze verify: clean"
else
    fail "systemd-analyze verify:"
    cat "$T/verify.out"
fi
systemd-analyze security --offline=yes "$unit" >"$T/security.out" 2>&1
score=$(sed -n 's/.*Overall exposure level for hosted-milter.service: \([0-9.]*\).*/\1/p' "$T/security.out")
if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then
    ok "systemd-analyze security exposure $score (<= 2.0)"
else
    fail "systemd-analyze security exposure '$score' (want <= 2.0):"
    cat "$T/security.out"
fi

# --- a fresh bookworm root -----------------------------------------------------
TAR=$W/bookworm.tar
if [ ! -s "$TAR" ]; then
    mmdebstrap --variant=apt bookworm "$TAR.part.tar" \
        "deb $MIRROR/debian bookworm main" \
        "deb $MIRROR/debian bookworm-updates main" \
        "deb $MIRROR/debian-security bookworm-security main" >"$T/mmdebstrap.log" 2>&1 || {
        tail -n 20 "$T/mmdebstrap.log"
        rm -f "$TAR.part.tar"
        die "mmdebstrap failed"
    }
    mv "$TAR.part.tar" "$TAR"
fi
mkdir "$R" && tar -C "$R" -xf "$TAR" || die "cannot unpack $TAR"
mount -t proc proc "$R/proc" && proc_mounted=yes || die "cannot mount /proc in the root"
# No service starts by itself in there (it shares this machine's network).
printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d"
chmod 755 "$R/usr/sbin/policy-rc.d"
cp /etc/resolv.conf "$R/etc/resolv.conf" 2>/dev/null
printf 'postfix postfix/main_mailer_type select Internet Site\npostfix postfix/mailname string mx.test.example\n' |
    in_root debconf-set-selections || die "debconf-set-selections"
cp "$DEB" "$R/tmp/"
debname=$(basename "$DEB")

# --- install with Postfix in one command -----------------------------------------
in_root apt-get update -qq >"$T/update.log" 2>&1 || {
    cat "$T/update.log"
    die "apt-get update in the root"
}
if in_root sh -c "cd /tmp && apt-get install -y ./$debname postfix" >"$T/install.log" 2>&1; then
    ok "apt-get install ./$debname postfix"
else
    cat "$T/install.log"
    die "apt-get install ./$debname postfix"
fi

# check_state WHAT - the user, the socket directory, the run/state dirs.
check_state() {
    in_root getent passwd hosted-milter >/dev/null || fail "$1: no user hosted-milter"
    st=$(in_root stat -c '%U:%G %a' /var/spool/postfix/hosted-milter 2>&1)
    [ "$st" = "hosted-milter:postfix 2750" ] ||
        fail "$1: /var/spool/postfix/hosted-milter is '$st', want hosted-milter:postfix 2750"
    st=$(in_root stat -c '%U:%G' /run/hosted-milter /var/lib/hosted-milter 2>&1 | sort -u)
    [ "$st" = "hosted-milter:hosted-milter" ] || fail "$1: /run and /var/lib/hosted-milter: $st"
    ok "$1: user, socket directory (hosted-milter:postfix 2750), run and state directories"
}
check_state "install"
in_root dpkg-query -W -f='${Conffiles}\n' hosted-milter | grep -q '/etc/hosted-milter/hosted-milter.conf' ||
    fail "hosted-milter.conf is not a conffile"
sed -n "s/^    \(postconf -e '[^']*'\)\$/\1/p" "$T/install.log" >"$T/postconf.lines"
grep -q "smtpd_milters = unix:hosted-milter/hosted-milter.sock" "$T/postconf.lines" ||
    fail "the install did not print the postconf -e smtpd_milters line"
ok "printed: $(tr '\n' ';' <"$T/postconf.lines")"

# --- configure Postfix as the admin would, on a loopback port ---------------------
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
while read -r line; do
    in_root sh -c "$line" || fail "$line"
done <"$T/postconf.lines"
in_root sh -c 'hosted-milter -c /etc/hosted-milter/hosted-milter.conf -D >/etc/postfix/hosted-domains' ||
    fail "hosted-milter -D"
# Test-only: loopback, mail kept in the queue to read its recipients.
in_root postconf -e 'relay_domains = $mydestination, /etc/postfix/hosted-domains' \
    'inet_interfaces = loopback-only' 'inet_protocols = ipv4' 'defer_transports = relay, smtp' \
    'maillog_file = /var/log/postfix.log' || fail "postconf -e"
in_root postconf -MX smtp/inet
in_root postconf -M "127.0.0.1:$PORT/inet=127.0.0.1:$PORT inet n - y - - smtpd" || fail "postconf -M"

# start_milter - ExecStartPre and ExecStart of the installed unit, as its
# User=/Group= (setpriv: no supplementary groups, like systemd).
start_milter() {
    u=$R/lib/systemd/system/hosted-milter.service
    user=$(sed -n 's/^User=//p' "$u")
    group=$(sed -n 's/^Group=//p' "$u")
    pre=$(sed -n 's/^ExecStartPre=//p' "$u")
    start=$(sed -n 's/^ExecStart=//p' "$u")
    run_as="setpriv --reuid=$user --regid=$group --clear-groups"
    # word splitting wanted: the unit's command lines hold no quotes
    in_root $run_as $pre >"$T/pre.out" 2>&1 || {
        cat "$T/pre.out"
        fail "$1: ExecStartPre ($pre)"
        return 1
    }
    in_root $run_as $start >"$T/start.out" 2>&1 || {
        cat "$T/start.out"
        fail "$1: ExecStart ($start)"
        return 1
    }
    # Type=forking: the detached child writes the pidfile (systemd waits
    # for PIDFile= the same way).
    i=0
    while [ ! -s "$R/run/hosted-milter/hosted-milter.pid" ] && [ $i -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    milter_pid=$(cat "$R/run/hosted-milter/hosted-milter.pid" 2>/dev/null)
    alive "$milter_pid" || {
        fail "$1: no running milter after ExecStart"
        return 1
    }
    st=$(in_root stat -c '%U:%G %a' /var/spool/postfix/hosted-milter/hosted-milter.sock 2>&1)
    [ "$st" = "hosted-milter:postfix 660" ] || fail "$1: socket is '$st'"
    ok "$1: milter started as $user ($start), pid $milter_pid, socket $st"
}
start_milter "first start" || exit 1
in_root postfix start >"$T/postfix.out" 2>&1 || {
    cat "$T/postfix.out"
    die "postfix start"
}

cat >"$T/smtp.py" <<'EOF'
import json, smtplib, subprocess, sys, time

port, root = int(sys.argv[1]), sys.argv[2]
deadline = time.monotonic() + 90
while True:
    try:
        s = smtplib.SMTP("127.0.0.1", port, timeout=120)
        break
    except OSError:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.2)
s.ehlo("client.test.example")
s.mail("sender@client.test.example")
unknown = s.rcpt("nobody@corp.example")
known = s.rcpt("postmaster@corp.example")
print("RCPT nobody@corp.example:", unknown[0], unknown[1].decode())
print("RCPT postmaster@corp.example:", known[0], known[1].decode())
code, text = s.data(b"Subject: package test\r\n\r\nhello\r\n")
print("DATA:", code, text.decode())
s.quit()
ok = unknown[0] == 550 and known[0] == 250 and code == 250
# The queued message's recipients (defer_transports keeps it there).
deadline = time.monotonic() + 90
rcpts = []
while time.monotonic() < deadline:
    out = subprocess.run(["chroot", root, "postqueue", "-j"], capture_output=True, text=True).stdout
    rcpts = [r["address"] for line in out.splitlines() for r in json.loads(line)["recipients"]]
    if rcpts:
        break
    time.sleep(0.3)
print("queued for:", rcpts)
ok = ok and rcpts == ["hostmaster@corp.example"]
sys.exit(0 if ok else 1)
EOF
if python3 "$T/smtp.py" "$PORT" "$R" >"$T/smtp.out" 2>&1; then
    ok "through the system's Postfix: unknown refused, postmaster@ rewritten"
    sed 's/^/    /' "$T/smtp.out"
else
    fail "through the system's Postfix:"
    cat "$T/smtp.out"
    tail -n 20 "$R/var/log/postfix.log"
fi
stop_pid "$(master_pid)"
stop_pid "$milter_pid"

# --- upgrade to a rebuilt package whose default configuration changed ----------
CONF=$R/etc/hosted-milter/hosted-milter.conf
printf '\n# the administrator'"'"'s edit\nmailbox "newbox@corp.example" { }\n' >>"$CONF"
cp "$CONF" "$T/edited.conf"
V2=$T/v2
dpkg-deb -R "$DEB" "$V2"
printf '\n# changed in release 2\n' >>"$V2/etc/hosted-milter/hosted-milter.conf"
sed -i 's/^Version: \(.*\)-1$/Version: \1-2/' "$V2/DEBIAN/control"
(cd "$V2" && find . -path ./DEBIAN -prune -o -type f -print |
    sed 's#^\./##' | sort | xargs md5sum >DEBIAN/md5sums)
deb2=$(echo "$debname" | sed 's/-1_/-2_/')
dpkg-deb --root-owner-group -b "$V2" "$R/tmp/$deb2" >/dev/null || die "dpkg-deb -b the upgrade"
if in_root sh -c "cd /tmp && apt-get install -y -o Dpkg::Options::=--force-confdef \
        -o Dpkg::Options::=--force-confold ./$deb2" >"$T/upgrade.log" 2>&1; then
    ok "upgrade to $deb2"
else
    cat "$T/upgrade.log"
    fail "upgrade to $deb2"
fi
cmp -s "$T/edited.conf" "$CONF" && ok "upgrade kept the edited hosted-milter.conf" ||
    fail "upgrade replaced the edited hosted-milter.conf"
grep -q 'changed in release 2' "$CONF.dpkg-dist" 2>/dev/null &&
    ok "the new default is beside it as hosted-milter.conf.dpkg-dist" ||
    fail "no hosted-milter.conf.dpkg-dist with the new default"
check_state "upgrade"
in_root hosted-milter -c /etc/hosted-milter/hosted-milter.conf -q newbox@corp.example | grep -q keep ||
    fail "the upgraded milter does not see the edit"

# --- remove (stops the daemon it finds by its pidfile), purge, install again ---
start_milter "after upgrade"
pid=$milter_pid
[ -n "$pid" ] || die "no milter to see removed"
in_root apt-get remove -y hosted-milter >"$T/remove.log" 2>&1 || {
    cat "$T/remove.log"
    fail "apt-get remove"
}
before=$failures
alive "$pid" && fail "remove left the milter (pid $pid) running"
[ -e "$R/usr/sbin/hosted-milter" ] && fail "remove left /usr/sbin/hosted-milter"
[ -f "$CONF" ] || fail "remove took the configuration (only purge may)"
[ "$failures" -eq "$before" ] && ok "remove: daemon stopped (prerm, by its pidfile), binary gone, configuration kept"

in_root apt-get purge -y hosted-milter >"$T/purge.log" 2>&1 || {
    cat "$T/purge.log"
    fail "apt-get purge"
}
before=$failures
in_root getent passwd hosted-milter >/dev/null && fail "purge left the user hosted-milter"
in_root getent group hosted-milter >/dev/null && fail "purge left the group hosted-milter"
for d in /etc/hosted-milter /var/spool/postfix/hosted-milter /var/lib/hosted-milter \
    /run/hosted-milter /usr/share/doc/hosted-milter /lib/systemd/system/hosted-milter.service; do
    [ -e "$R$d" ] && fail "purge left $d"
done
in_root postconf -h smtpd_milters | grep -q hosted-milter ||
    fail "purge touched Postfix's main.cf (smtpd_milters)"
in_root dpkg-query -W -f='${Status}\n' hosted-milter 2>/dev/null | grep -q installed &&
    fail "dpkg still lists hosted-milter"
[ "$failures" -eq "$before" ] && ok "purge: user, group, configuration, socket/state/run directories gone; main.cf kept"

if in_root sh -c "cd /tmp && apt-get install -y ./$debname" >"$T/again.log" 2>&1; then
    check_state "install again"
else
    cat "$T/again.log"
    fail "install again"
fi

# --- Postfix installed after the package: the file trigger makes the directory --
in_root apt-get purge -y hosted-milter postfix >"$T/purge2.log" 2>&1 || {
    cat "$T/purge2.log"
    fail "apt-get purge hosted-milter postfix"
}
if in_root sh -c "cd /tmp && apt-get install -y --no-install-recommends ./$debname" >"$T/alone.log" 2>&1 &&
    grep -q "Postfix is not installed (yet)" "$T/alone.log"; then
    ok "installed without Postfix: says the socket directory comes with it"
else
    cat "$T/alone.log"
    fail "install without Postfix"
fi
if in_root apt-get install -y postfix >"$T/later.log" 2>&1; then
    grep -q "Processing triggers for hosted-milter" "$T/later.log" ||
        fail "installing Postfix later did not trigger hosted-milter"
    check_state "Postfix installed later"
else
    cat "$T/later.log"
    fail "apt-get install postfix (later)"
fi

if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "all package checks passed"
