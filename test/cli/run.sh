#!/bin/sh
# run.sh - command-line tests of hosted-milter: -t, -q, -D, -V, -h and the
# exit statuses (0 ok, 1 configuration error, 2 usage error), with exact
# expected output.  Usage: run.sh PATH-TO-hosted-milter SOURCE-DIR
# Configurations are written into a mktemp directory, removed at exit.
set -u

BIN=${1:?usage: run.sh PATH-TO-hosted-milter SOURCE-DIR}
SRC=${2:?usage: run.sh PATH-TO-hosted-milter SOURCE-DIR}
T=$(mktemp -d "${TMPDIR:-/tmp}/hosted-milter-cli.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT INT TERM
TAB=$(printf '\t')
failures=0

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# check NAME EXPECTED-STATUS EXPECTED-STDOUT-FILE [EXPECTED-STDERR-FILE] -- ARGS...
# Runs $BIN ARGS, compares status and output exactly (stderr only when a
# file is given; "-" means it must be empty).
check() {
    name=$1 want=$2 out=$3 err=$4
    shift 5
    "$BIN" "$@" >"$T/stdout" 2>"$T/stderr"
    got=$?
    [ "$got" -eq "$want" ] || fail "$name: exit status $got, expected $want (stderr: $(head -c 300 "$T/stderr"))"
    if ! diff -u "$out" "$T/stdout" >"$T/diff"; then
        fail "$name: stdout differs"
        cat "$T/diff"
    fi
    case $err in
    "") ;;
    -)  [ -s "$T/stderr" ] && { fail "$name: unexpected stderr"; cat "$T/stderr"; } ;;
    *)  if ! diff -u "$err" "$T/stderr" >"$T/diff"; then
            fail "$name: stderr differs"
            cat "$T/diff"
        fi ;;
    esac
    echo "ok: $name"
}

# stderr_has NAME PATTERN - the last run's stderr matches the grep pattern.
stderr_has() {
    grep -q -e "$2" "$T/stderr" || { fail "$1: stderr lacks /$2/"; cat "$T/stderr"; }
}

: >"$T/empty"

# ---- a test configuration under our control --------------------------------
cat >"$T/t.conf" <<'CONF'
socket = "unix:/nonexistent/hosted-milter.sock"
postmaster = "admin@corp.example"
roles = { "abuse" }
recipient_delimiter = "+"
unknown_recipient = reject

domain "corp.example" {
    postmaster = "hostmaster@corp.example"
}
domain "example.net" {
    alias_domain = "corp.example"
}
domain "example.org" {
    catch_all = "info@corp.example"
}
domain "legacy.example" {
    unknown_recipient = pass
}
domain "slow.example" {
    unknown_recipient = tempfail
}
mailbox "admin@corp.example" { }
mailbox "hostmaster@corp.example" { }
mailbox "info@corp.example" { }
mailbox "bob@corp.example" { }
mailbox "carol@corp.example" { }
mailbox "alice@corp.example" {
    addresses = { "alice@example.org", "a.smith@example.org" }
}
alias "sales@example.org" {
    to = { "bob@corp.example", "carol@corp.example" }
}
table = { "virtual" }
CONF
cat >"$T/virtual" <<'VIRT'
shop.example            hosted
orders@shop.example     bob@corp.example, carol@corp.example
VIRT

printf '%s\n' "$T/t.conf: OK: 6 domains, 6 mailboxes, 2 secondary addresses, 2 aliases" >"$T/want"
check "-t summary" 0 "$T/want" - -- -c "$T/t.conf" -t

# -q: address TAB action TAB detail, one line per address, in order
{
    printf '%s\t%s\t%s\n' 'postmaster@example.net' rewrite 'hostmaster@corp.example'
    printf '%s\t%s\t%s\n' 'PostMaster@CORP.example.' rewrite 'hostmaster@corp.example'
    printf '%s\t%s\t%s\n' 'postmaster' rewrite 'admin@corp.example'
    printf '%s\t%s\t%s\n' '<abuse@example.org>' rewrite 'admin@corp.example'
    printf '%s\t%s\t%s\n' 'sales@example.org' rewrite 'bob@corp.example,carol@corp.example'
    printf '%s\t%s\t%s\n' 'alice+news@example.org' rewrite 'alice+news@corp.example'
    printf '%s\t%s\t%s\n' 'whoever@example.org' rewrite 'info@corp.example'
    printf '%s\t%s\t%s\n' 'orders@shop.example' rewrite 'bob@corp.example,carol@corp.example'
    printf '%s\t%s\t\n' 'bob@corp.example' keep
    printf '%s\t%s\t\n' 'x@elsewhere.test' pass
    printf '%s\t%s\t\n' 'someone@legacy.example' pass
    printf '%s\t%s\t%s\n' 'nobody@corp.example' reject '550 5.1.1 <nobody@corp.example>: Recipient address rejected: User unknown'
    printf '%s\t%s\t%s\n' 'nobody@slow.example' tempfail '450 4.1.1 <nobody@slow.example>: Recipient address rejected: User unknown, try again later'
    printf '%s\t%s\t%s\n' 'a\tb@corp.example' reject '550 5.1.3 <a\x09b@corp.example>: Recipient address rejected: control character in address'
    printf '%s\t%s\t%s\n' 'caf\xc3\xa9@corp.example' reject '550 5.1.1 <caf\xc3\xa9@corp.example>: Recipient address rejected: User unknown'
    printf '%s\t%s\t%s\n' 'cr\r\nlf@corp.example' reject '550 5.1.3 <cr\x0d\x0alf@corp.example>: Recipient address rejected: control character in address'
    printf '%s\t%s\t\n' 'x@elsewhere.test' pass
    printf '%s\t%s\t\n' 'nobody(x)@elsewhere.test' pass
    printf '%s\t%s\t%s\n' 'nobody(x)@corp.example' reject '550 5.1.3 <nobody(x)@corp.example>: Recipient address rejected: malformed local part'
    printf '%s\t%s\t%s\n' '<.bob@corp.example>' reject '550 5.1.3 <.bob@corp.example>: Recipient address rejected: malformed local part'
    printf '%s\t%s\t\n' '.bob@legacy.example' pass
} >"$T/want"
check "-q decisions" 0 "$T/want" - -- -c "$T/t.conf" -q \
    postmaster@example.net PostMaster@CORP.example. postmaster '<abuse@example.org>' \
    sales@example.org alice+news@example.org whoever@example.org orders@shop.example \
    bob@corp.example x@elsewhere.test someone@legacy.example \
    nobody@corp.example nobody@slow.example \
    "a${TAB}b@corp.example" "$(printf 'caf\303\251@corp.example')" \
    "$(printf 'cr\r\nlf@corp.example')" x@elsewhere.test 'nobody(x)@elsewhere.test' \
    'nobody(x)@corp.example' '<.bob@corp.example>' .bob@legacy.example

# every line has exactly three fields, even for hostile input
"$BIN" -c "$T/t.conf" -q "$(printf 'x\ty\tz\\@corp.example')" "$(printf '\001\177')" >"$T/stdout"
awk -F '\t' 'NF != 3 { bad = 1 } END { exit bad }' "$T/stdout" || { fail "-q fields"; cat "$T/stdout"; }
grep -q '^x\\ty\\tz\\x5c@corp.example	reject	550 5.1.3 <x\\x09y\\x09z\\x5c@corp.example>: ' "$T/stdout" || { fail "-q escaping"; cat "$T/stdout"; }
echo "ok: -q three fields"

printf '%s\n' corp.example example.net example.org legacy.example shop.example slow.example >"$T/want"
check "-D sorted domains" 0 "$T/want" - -- -c "$T/t.conf" -D

# ---- warnings go to stderr, the verdict stays OK ---------------------------
sed 's/"a.smith@example.org"/"a.smith@example.org", "alice@elsewhere.test"/' "$T/t.conf" >"$T/warn.conf"
printf '%s\n' "$T/warn.conf: OK: 6 domains, 6 mailboxes, 3 secondary addresses, 2 aliases" >"$T/want"
check "-t with a warning" 0 "$T/want" "" -- -c "$T/warn.conf" -t
stderr_has "-t with a warning" "^$T/warn.conf:[0-9][0-9]*: warning: "

# ---- broken configurations: file:line on stderr, exit 1 ---------------------
{ cat "$T/t.conf"; echo 'bogus_option = 1'; } >"$T/bad.conf"
line=$(wc -l <"$T/bad.conf" | tr -d ' ')
check "-t broken config" 1 "$T/empty" "" -- -c "$T/bad.conf" -t
stderr_has "-t broken config" "^$T/bad.conf:$line: "
check "-q broken config" 1 "$T/empty" "" -- -c "$T/bad.conf" -q bob@corp.example
stderr_has "-q broken config" "^$T/bad.conf:$line: "
check "-D broken config" 1 "$T/empty" "" -- -c "$T/bad.conf" -D
check "-t missing file" 1 "$T/empty" "" -- -c "$T/does-not-exist.conf" -t
stderr_has "-t missing file" "does-not-exist.conf"
check "run with broken config" 1 "$T/empty" "" -- -f -c "$T/bad.conf" -s "unix:$T/m.sock"
stderr_has "run with broken config" "$T/bad.conf:$line: "
[ -e "$T/m.sock" ] && fail "socket created despite the broken config"

# ---- metrics: a bad address at its line; a socket that cannot be opened
# stops the start (exit 1, the reason on stderr, the milter socket removed)
{ cat "$T/t.conf"; echo 'metrics = "localhost:9487"'; } >"$T/mbad.conf"
line=$(wc -l <"$T/mbad.conf" | tr -d ' ')
printf '%s\n' "$T/mbad.conf:$line: metrics \"localhost:9487\": not a numeric IPv4 address (a host name is not taken)" >"$T/want"
check "-t bad metrics address" 1 "$T/empty" "$T/want" -- -c "$T/mbad.conf" -t
{ cat "$T/t.conf"; echo "metrics = \"unix:$T/no-such-dir/metrics.sock\""; } >"$T/mdir.conf"
line=$(wc -l <"$T/mdir.conf" | tr -d ' ')
check "run with an unusable metrics socket" 1 "$T/empty" "" -- -f -c "$T/mdir.conf" -s "unix:$T/m2.sock"
stderr_has "run with an unusable metrics socket" \
    "error: $T/mdir.conf:$line: metrics unix:$T/no-such-dir/metrics.sock: cannot listen: No such file or directory"
[ -e "$T/m2.sock" ] && fail "milter socket left behind after a failed metrics start"

# ---- every diagnostic has a place: global settings, included files, table
# files, and the line that names a table file that cannot be read ----------
cat >"$T/pm-inc.conf" <<'CONF'
# the global postmaster comes from here
// and reaches no mailbox
postmaster = "ghost@corp.example"
CONF
{ grep -v '^postmaster' "$T/t.conf"; echo 'include("pm-inc.conf")'; } >"$T/pm.conf"
check "-t global postmaster in an include" 1 "$T/empty" "" -- -c "$T/pm.conf" -t
stderr_has "-t global postmaster in an include" \
    "^$T/pm-inc.conf:3: global postmaster ghost@corp.example reaches no mailbox "

{ cat "$T/t.conf"; echo 'table += "missing-virtual"'; } >"$T/tab.conf"
line=$(wc -l <"$T/tab.conf" | tr -d ' ')
printf '%s\n' "$T/tab.conf:$line: table file $T/missing-virtual: No such file or directory" >"$T/want"
check "-t missing table file" 1 "$T/empty" "$T/want" -- -c "$T/tab.conf" -t

cat >"$T/mbox-inc.conf" <<'CONF'
mailbox_table = {
    # one file per line
    "mailboxes-missing"
}
CONF
{ cat "$T/t.conf"; echo 'include("mbox-inc.conf")'; } >"$T/mbox.conf"
printf '%s\n' "$T/mbox-inc.conf:3: mailbox_table file $T/mailboxes-missing: No such file or directory" >"$T/want"
check "-t missing mailbox_table file in an include" 1 "$T/empty" "$T/want" -- -c "$T/mbox.conf" -t

printf '%s\n' 'shop.example  hosted' '# a comment' 'lost@shop.example  nobody@corp.example' >"$T/virtual-bad"
sed 's|table = { "virtual" }|table = { "virtual-bad" }|' "$T/t.conf" >"$T/vbad.conf"
check "-t table file entry" 1 "$T/empty" "" -- -c "$T/vbad.conf" -t
stderr_has "-t table file entry" \
    "^$T/virtual-bad:3: alias lost@shop.example: target nobody@corp.example reaches no mailbox "

# every line of the output starts with file:line, whatever went wrong
for conf in bad pm tab mbox vbad; do
    "$BIN" -c "$T/$conf.conf" -t >/dev/null 2>"$T/stderr"
    if grep -v '^/[^:]*:[1-9][0-9]*: ' "$T/stderr" >"$T/stray"; then
        fail "-t $conf.conf: a diagnostic without file:line"
        cat "$T/stray"
    fi
done
echo "ok: every diagnostic has file:line"

# ---- at reload (SIGUSR1) the log keeps the places ---------------------------
# wait_log PATTERN - up to 10 s for the daemon's log to match.
wait_log() {
    i=0
    while ! grep -q -e "$1" "$T/daemon.log" 2>/dev/null; do
        i=$((i + 1))
        [ "$i" -gt 100 ] && return 1
        sleep 0.1
    done
}
printf '%s\n' '# included' 'postmaster = "admin@corp.example"' >"$T/rl-inc.conf"
{ grep -v '^postmaster' "$T/t.conf"; echo 'include("rl-inc.conf")'; } >"$T/rl.conf"
"$BIN" -f -c "$T/rl.conf" -s "unix:$T/rl.sock" 2>"$T/daemon.log" &
daemon=$!
if wait_log 'listening on'; then
    printf '%s\n' '# included' 'postmaster = "ghost@corp.example"' >"$T/rl-inc.conf"
    kill -USR1 "$daemon"
    wait_log 'reload failed' || fail "reload: no failure logged"
    grep -q "error: $T/rl-inc.conf:2: global postmaster ghost@corp.example reaches no mailbox " \
        "$T/daemon.log" || { fail "reload: global postmaster without its place"; cat "$T/daemon.log"; }
    { grep -v '^postmaster' "$T/t.conf"; echo 'include("rl-inc.conf")'; echo 'table += "gone"'; } >"$T/rl.conf"
    kill -USR1 "$daemon"
    wait_log 'table file' || fail "reload: missing table file not logged"
    line=$(wc -l <"$T/rl.conf" | tr -d ' ')
    grep -q "error: $T/rl.conf:$line: table file $T/gone: No such file or directory" "$T/daemon.log" ||
        { fail "reload: missing table file without its place"; cat "$T/daemon.log"; }
    echo "ok: reload diagnostics keep file:line"
else
    fail "reload: the daemon did not start"
    cat "$T/daemon.log"
fi
kill "$daemon" 2>/dev/null
wait "$daemon" 2>/dev/null

# ---- no global postmaster: a warning, RCPT TO:<postmaster> goes to the MTA --
cat >"$T/nopm.conf" <<'CONF'
socket = "unix:/nonexistent/hosted-milter.sock"
domain "corp.example" {
    postmaster = "admin@corp.example"
}
mailbox "admin@corp.example" { }
CONF
printf '%s\n' "$T/nopm.conf: OK: 1 domain, 1 mailbox, 0 secondary addresses, 0 aliases" >"$T/want"
printf '%s\n' "$T/nopm.conf:1: warning: no global postmaster: RCPT TO:<postmaster> (without a domain) will be passed to the MTA; set postmaster = \"mailbox\" among the global settings of $T/nopm.conf" >"$T/want-err"
check "-t no global postmaster" 0 "$T/want" "$T/want-err" -- -c "$T/nopm.conf" -t
printf '%s\t%s\t\n' postmaster pass >"$T/want"
check "-q bare postmaster without a global one" 0 "$T/want" - -- -c "$T/nopm.conf" -q postmaster

# ---- the shipped configuration ----------------------------------------------
ETC="$SRC/etc/hosted-milter.conf"
"$BIN" -c "$ETC" -t >"$T/stdout" 2>"$T/stderr" || { fail "-t shipped config"; cat "$T/stderr"; }
grep -Eq "^$ETC: OK: [0-9]+ domains?, [0-9]+ mailbox(es)?, [0-9]+ secondary address(es)?, [0-9]+ alias(es)?\$" "$T/stdout" ||
    { fail "-t shipped config summary"; cat "$T/stdout"; }
[ "$(wc -l <"$T/stdout")" -eq 1 ] || fail "-t shipped config: not one line"
echo "ok: -t shipped config"
{
    printf '%s\t%s\t%s\n' 'postmaster@example.net' rewrite 'hostmaster@corp.example'
    printf '%s\t%s\t%s\n' 'postmaster' rewrite 'admin@corp.example'
    printf '%s\t%s\t%s\n' 'sales@example.org' rewrite 'bob@corp.example,carol@corp.example'
    printf '%s\t%s\t\n' 'bob@corp.example' keep
    printf '%s\t%s\t\n' 'x@elsewhere.test' pass
    printf '%s\t%s\t%s\n' 'nobody@corp.example' reject '550 5.1.1 <nobody@corp.example>: Recipient address rejected: User unknown'
} >"$T/want"
check "-q shipped config" 0 "$T/want" - -- -c "$ETC" -q postmaster@example.net postmaster \
    sales@example.org bob@corp.example x@elsewhere.test nobody@corp.example
"$BIN" -c "$ETC" -D >"$T/stdout" 2>"$T/stderr" || fail "-D shipped config"
sort -c "$T/stdout" 2>/dev/null || LC_ALL=C sort -c "$T/stdout" || fail "-D shipped config: not sorted"
grep -qx corp.example "$T/stdout" || fail "-D shipped config: corp.example missing"
echo "ok: -D shipped config"

# ---- version, help, usage errors --------------------------------------------
"$BIN" -V >"$T/stdout" 2>"$T/stderr" || fail "-V status"
grep -Eqx 'hosted-milter [0-9]+\.[0-9]+\.[0-9]+.*' "$T/stdout" || { fail "-V output"; cat "$T/stdout"; }
echo "ok: -V"
"$BIN" -h >"$T/stdout" 2>"$T/stderr" || fail "-h status"
head -n 1 "$T/stdout" | grep -q '^usage: hosted-milter ' || fail "-h: no usage line"
for opt in ' -c FILE' ' -f' ' -v' ' -s SOCKET' ' -p PIDFILE' ' -t' ' -q ADDRESS' ' -D' ' -V' ' -h'; do
    grep -q -e "^ $opt" "$T/stdout" || fail "-h does not document$opt"
done
[ -s "$T/stderr" ] && fail "-h wrote to stderr"
echo "ok: -h"

usage_error() {
    name=$1
    shift
    check "usage error: $name" 2 "$T/empty" "" -- "$@"
    head -n 1 "$T/stderr" | grep -q '^hosted-milter: ' || fail "$name: no message"
    grep -q '^usage: hosted-milter ' "$T/stderr" || fail "$name: no usage on stderr"
}
usage_error "unknown option" -x
usage_error "missing argument" -c
usage_error "-q without address" -c "$T/t.conf" -q
usage_error "two modes" -c "$T/t.conf" -t -D
usage_error "stray argument" -c "$T/t.conf" -t extra
usage_error "-s with -t" -c "$T/t.conf" -s unix:/x -t
usage_error "-C unknown MTA" -c "$T/t.conf" -C exim
usage_error "-C empty path" -c "$T/t.conf" -C postfix:
usage_error "-C with -D" -c "$T/t.conf" -C postfix -D

# -C that cannot read what it checks: 2, the reason on stderr, no report
check "-C missing sendmail.cf" 2 "$T/empty" "" -- -c "$T/t.conf" -C "sendmail:$T/none.cf"
stderr_has "-C missing sendmail.cf" "none.cf: cannot open"
check "-C broken config" 2 "$T/empty" "" -- -c "$T/bad.conf" -C "sendmail:$T/none.cf"

if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "all command-line tests passed"
