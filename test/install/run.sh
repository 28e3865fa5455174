#!/bin/sh
# run.sh - the installed layout: `cmake --install` into a DESTDIR, the files
# where hosted-milter(8) says they are, the installed binary checking the
# installed configuration, a second install that keeps an edited
# configuration, and both man pages rendered by groff and man without a
# warning (that part is skipped, with a note, when groff/man are absent);
# the configured paths named in the script and the man pages, and an install
# under another prefix refused.
# Usage: run.sh BUILD-DIR SOURCE-DIR SBINDIR SYSCONFDIR MANDIR DOCDIR
# (the last four absolute, as configured; ctest passes them).
set -u

BUILD=${1:?usage: run.sh BUILD-DIR SOURCE-DIR SBINDIR SYSCONFDIR MANDIR DOCDIR}
SRC=${2:?}
SBINDIR=${3:?}
SYSCONFDIR=${4:?}
MANDIR=${5:?}
DOCDIR=${6:?}
T=$(mktemp -d "${TMPDIR:-/tmp}/hosted-milter-install.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT INT TERM
D=$T/root
failures=0

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

ok() {
    echo "ok: $*"
}

install_into() {
    if ! DESTDIR=$D cmake --install "$BUILD" >"$T/install.log" 2>&1; then
        fail "cmake --install failed"
        cat "$T/install.log"
        exit 1
    fi
}

# has TYPE PATH - PATH exists as a regular file (f) or executable (x).
has() {
    if [ ! -f "$D$2" ]; then
        fail "not installed: $2"
    elif [ "$1" = x ] && [ ! -x "$D$2" ]; then
        fail "not executable: $2"
    elif [ "$1" = f ] && [ -x "$D$2" ]; then
        fail "executable, expected a plain file: $2"
    else
        ok "installed $2"
    fi
}

CONF=$SYSCONFDIR/hosted-milter/hosted-milter.conf

# --- first install -----------------------------------------------------------
install_into
has x "$SBINDIR/hosted-milter"
has f "$CONF"
has f "$MANDIR/man8/hosted-milter.8"
has f "$MANDIR/man5/hosted-milter.conf.5"
for f in README COPYING ADMIN.md hosted-milter.conf.example virtual.example \
    postfix/main.cf.snippet sendmail/hosted-milter.mc.snippet systemd/hosted-milter.service \
    prometheus/hosted-milter.rules.yml; do
    has f "$DOCDIR/$f"
done
has x "$DOCDIR/update-relay-domains.sh"

cmp -s "$SRC/etc/hosted-milter.conf" "$D$CONF" || fail "$CONF differs from etc/hosted-milter.conf"
cmp -s "$SRC/etc/hosted-milter.conf" "$D$DOCDIR/hosted-milter.conf.example" ||
    fail "hosted-milter.conf.example differs from etc/hosted-milter.conf"

# The unit names the installed paths, with no template marker left.
unit=$D$DOCDIR/systemd/hosted-milter.service
if grep -q '@HM_' "$unit"; then
    fail "hosted-milter.service still holds @HM_...@ markers"
elif ! grep -q "^ExecStart=$SBINDIR/hosted-milter -c $CONF " "$unit"; then
    fail "hosted-milter.service: ExecStart does not run $SBINDIR/hosted-milter -c $CONF"
else
    ok "systemd unit names $SBINDIR and $CONF"
fi

# The script and the man pages name the configured paths too.
script=$D$DOCDIR/update-relay-domains.sh
grep -qx "conf=$CONF" "$script" || fail "update-relay-domains.sh: default configuration is not $CONF"
grep -qF "milter=\${HOSTED_MILTER:-$SBINDIR/hosted-milter}" "$script" ||
    fail "update-relay-domains.sh: default milter is not $SBINDIR/hosted-milter"
for page in "$MANDIR/man8/hosted-milter.8" "$MANDIR/man5/hosted-milter.conf.5"; do
    grep -qF "$CONF" "$D$page" || fail "$page does not name $CONF"
done
ok "update-relay-domains.sh and the man pages name $CONF"

# The installed binary accepts the installed configuration.
if out=$("$D$SBINDIR/hosted-milter" -c "$D$CONF" -t 2>&1); then
    ok "installed hosted-milter -t: $out"
else
    fail "installed hosted-milter -t on the installed configuration: $out"
fi

# --- second install: an edited configuration is kept --------------------------
printf '\n# edited by the administrator\n' >>"$D$CONF"
cp "$D$CONF" "$T/edited.conf"
install_into
if cmp -s "$T/edited.conf" "$D$CONF"; then
    ok "second install kept the edited $CONF"
else
    fail "second install overwrote the edited $CONF"
fi
grep -q "Keeping existing" "$T/install.log" || fail "second install did not say it kept $CONF"
cmp -s "$SRC/etc/hosted-milter.conf" "$D$DOCDIR/hosted-milter.conf.example" ||
    fail "second install: the example is not the shipped one"

# --- another prefix at install time: refused before copying anything ------------
other=$T/other
if DESTDIR=$other cmake --install "$BUILD" --prefix /opt/elsewhere >"$T/prefix.log" 2>&1; then
    fail "cmake --install --prefix /opt/elsewhere was not refused"
elif ! tr -s '\n ' '  ' <"$T/prefix.log" | grep -q "configure with -DCMAKE_INSTALL_PREFIX=/opt/elsewhere"; then
    fail "cmake --install --prefix /opt/elsewhere: no advice to configure with it"
    cat "$T/prefix.log"
elif [ -n "$(find "$other" -type f 2>/dev/null)" ]; then
    fail "cmake --install --prefix /opt/elsewhere copied files before refusing"
else
    ok "cmake --install --prefix /opt/elsewhere refused, nothing copied"
fi

# --- man pages -----------------------------------------------------------------
for page in "$MANDIR/man8/hosted-milter.8" "$MANDIR/man5/hosted-milter.conf.5"; do
    if command -v groff >/dev/null 2>&1; then
        if groff -mandoc -ww -z -Tutf8 "$D$page" >"$T/groff.err" 2>&1 && [ ! -s "$T/groff.err" ]; then
            ok "groff -ww renders $page without warnings"
        else
            fail "groff warnings for $page:"
            cat "$T/groff.err"
        fi
    else
        echo "skip: groff not installed, $page not rendered"
    fi
    if command -v man >/dev/null 2>&1; then
        if MANWIDTH=80 man --warnings -l "$D$page" >"$T/man.out" 2>"$T/man.err" &&
            [ ! -s "$T/man.err" ] && [ -s "$T/man.out" ]; then
            ok "man -l renders $page ($(wc -l <"$T/man.out") lines)"
        else
            fail "man -l $page:"
            cat "$T/man.err"
        fi
    else
        echo "skip: man not installed, $page not rendered"
    fi
done

if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "all install checks passed"
