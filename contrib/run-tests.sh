#!/usr/bin/env bash
# run-tests.sh - the whole test suite from a fresh checkout (what .ci/run
# runs): installs what is missing, then four stages, each under a
# "===== stage" header, and a last line "N passed, N failed, N skipped"
# over all, followed by the reason of every skip:
#   1. build     -Werror build in BUILD_DIR, every ctest label
#   2. sanitize  ASan + UBSan + LeakSanitizer build (-DSANITIZE=ON) in
#                SAN_BUILD_DIR, every ctest label again but `package`
#                (it builds its own release .deb; stage 1 ran it): the
#                integration suites start this sanitized daemon.  Reports go to files
#                under a temp dir (ASAN/UBSAN log_path), which are printed
#                and count as failures; LSan suppressions: test/lsan.supp.
#   3. valgrind  every test/check_* binary of stage 1 under valgrind
#                (CK_FORK=no, --leak-check=full, any error or leak fails)
#   4. fuzz      contrib/fuzz.sh HM_FUZZ_SECONDS (each libFuzzer target)
# Extra arguments go to ctest in stages 1 and 2 (e.g. -L unit).
#
# Knobs for a quicker developer run (the default, for CI, is everything):
#   HM_QUICK=1           stage 1 only (= the three skips below)
#   HM_SKIP_SANITIZE=1   skip stage 2
#   HM_SKIP_VALGRIND=1   skip stage 3
#   HM_SKIP_FUZZ=1       skip stage 4 (also HM_FUZZ_SECONDS=0)
#   HM_FUZZ_SECONDS=N    seconds per fuzz target (default 60)
#   BUILD_DIR, SAN_BUILD_DIR, FUZZ_BUILD_DIR   build directories
#                        (default build-test, build-sanitize, build-fuzz)
# As a user: run it as yourself with sudo available.  sudo is used for
# installing packages (contrib/install-deps.sh) and for the integration
# suites that need root, and for nothing else: ctest runs as you, and each
# test it skips with a reason naming root (a private Postfix: `postfix
# start` is for root only; Sendmail under unshare; the LDAP and SQL suites,
# whose servers run as their system users next to a private Postfix) is run
# again alone through sudo, its command taken from ctest.  The build
# directories stay yours.  HM_NO_SUDO=1: no such second run (those suites
# are reported skipped).
#
# Measured on the 2-core CI VM: build 4 min, sanitize 4.5 min, valgrind 1 min,
# fuzz 4.5 min: about 14 minutes in all (HM_QUICK=1: 4 minutes).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build-test}
sanbuild=${SAN_BUILD_DIR:-$top/build-sanitize}
export FUZZ_BUILD_DIR=${FUZZ_BUILD_DIR:-$top/build-fuzz}
fuzz_seconds=${HM_FUZZ_SECONDS:-60}
if [ "${HM_QUICK:-0}" = 1 ]; then
    HM_SKIP_SANITIZE=1 HM_SKIP_VALGRIND=1 HM_SKIP_FUZZ=1
fi
[ "$fuzz_seconds" = 0 ] && HM_SKIP_FUZZ=1

"$top/contrib/install-deps.sh" || exit 1

total_pass=0
total_fail=0
total_skip=0
# One line per skipped test, "stage: test: reason", shown in the summary.
skiplog=$(mktemp "${TMPDIR:-/tmp}/hm-skips.XXXXXX")
trap 'rm -f "$skiplog"' EXIT
summary=()
stage_start=0
stage_name=

header() {
    stage_name=$1
    stage_start=$(date +%s)
    echo
    echo "===== stage $1: $2 ====="
}

# stage_done PASSED FAILED [SKIPPED] - record the counts and time of the
# current stage.
stage_done() {
    local secs=$(($(date +%s) - stage_start)) skip=${3:-0}
    total_pass=$((total_pass + $1))
    total_fail=$((total_fail + $2))
    total_skip=$((total_skip + skip))
    summary+=("$(printf '%-9s %3d passed, %3d failed, %3d skipped  %4d s' "$stage_name" "$1" "$2" \
        "$skip" "$secs")")
    echo "===== stage $stage_name: $1 passed, $2 failed, $skip skipped, ${secs} s ====="
}

skipped() {
    summary+=("$(printf '%-9s skipped (%s)' "$1" "$2")")
    echo
    echo "===== stage $1: skipped ($2) ====="
}

# build_dir DIR CMAKE-ARGS... - configure and build; returns cmake's status.
build_dir() {
    local dir=$1
    shift
    cmake -S "$top" -B "$dir" -DWERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null &&
        cmake --build "$dir" -j"$(nproc)"
}

# skip_reasons DIR - "name<TAB>reason" for each test of ctest's last run in
# DIR that exited with its SKIP_RETURN_CODE, from LastTest.log (the suites
# print "SKIP: reason"; ctest's log itself says "Test Passed." for them).
skip_reasons() {
    local names
    names=$(sed -n -E 's/^[[:space:]]*[0-9]+ - (.*) \(Skipped\)$/\1/p' "$1/hm-ctest-output")
    [ -n "$names" ] || return 0
    awk -v names="$names" '
        BEGIN { n = split(names, a, "\n"); for (i = 1; i <= n; i++) want[a[i]] = 1 }
        /^[0-9]+\/[0-9]+ Test: / { cur = $0; sub(/^[0-9]+\/[0-9]+ Test: /, "", cur) }
        /^SKIP: / && (cur in want) && !(cur in why) { why[cur] = substr($0, 7) }
        END { for (t in want) printf "%s\t%s\n", t, (t in why) ? why[t] : "no SKIP: line in its output" }
    ' "$1/Testing/Temporary/LastTest.log" | sort
}

# test_command DIR NAME - three lines for ctest's test NAME in DIR: its
# TIMEOUT, its working directory and its command, shell-quoted.
test_command() {
    (cd "$1" && ctest --show-only=json-v1) | python3 -c '
import json, shlex, sys
for t in json.load(sys.stdin)["tests"]:
    if t["name"] == sys.argv[1]:
        p = {x["name"]: x["value"] for x in t.get("properties", [])}
        print(int(p.get("TIMEOUT", 1500)))
        print(p.get("WORKING_DIRECTORY", "."))
        print(shlex.join(t["command"]))
' "$2"
}

# rerun_as_root DIR NAME - the test alone through sudo (as ctest would run
# it: its directory, command and timeout); sets rr_status (0, 77 or other)
# and rr_reason (the SKIP: line of a skip).  No .pyc files from root in the
# tree (PYTHONDONTWRITEBYTECODE); the sanitizer settings are passed on.
rerun_as_root() {
    local spec timeout wd cmd log
    spec=$(test_command "$1" "$2")
    timeout=$(sed -n 1p <<<"$spec")
    wd=$(sed -n 2p <<<"$spec")
    cmd=$(sed -n 3p <<<"$spec")
    log=$(mktemp "${TMPDIR:-/tmp}/hm-sudo.XXXXXX")
    echo "----- $2 again through sudo (it skipped: it needs root) -----"
    sudo -- env PYTHONDONTWRITEBYTECODE=1 ASAN_OPTIONS="${ASAN_OPTIONS:-}" \
        LSAN_OPTIONS="${LSAN_OPTIONS:-}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-}" \
        timeout -k 10 "$timeout" bash -c "cd $(printf %q "$wd") && exec $cmd" 2>&1 | tee "$log"
    rr_status=${PIPESTATUS[0]}
    rr_reason=$(sed -n 's/^SKIP: //p' "$log" | head -1)
    rm -f "$log"
    echo "----- $2 through sudo: exit $rr_status -----"
}

# run_ctest DIR ARGS... - ctest with its output shown; sets ct_pass,
# ct_fail, ct_skip from ctest's "N% tests passed, F tests failed out of T"
# line and its list of skipped tests (ctest counts those as passed), and
# adds each skip with its reason to $skiplog.  As a user with sudo, a test
# that skipped because it needs root is run again through sudo and counted
# by that run.
run_ctest() {
    local dir=$1 rc line name why
    shift
    (cd "$dir" && ctest --output-on-failure "$@") 2>&1 | tee "$dir/hm-ctest-output"
    rc=${PIPESTATUS[0]}
    line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$dir/hm-ctest-output" | tail -1)
    ct_skip=0
    if [ -z "$line" ]; then
        ct_pass=0
        ct_fail=1
        return
    fi
    local failed total
    failed=$(echo "$line" | sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/')
    total=$(echo "$line" | sed -E 's/.* failed out of ([0-9]+).*/\1/')
    ct_fail=$failed
    ct_pass=$((total - failed))
    [ $rc -ne 0 ] && [ "$failed" -eq 0 ] && ct_fail=1
    while IFS=$'\t' read -r name why; do
        [ -n "$name" ] || continue
        ct_pass=$((ct_pass - 1))
        if [ "$(id -u)" -ne 0 ] && [ "${HM_NO_SUDO:-0}" != 1 ] && [[ $why == *root* ]] &&
            command -v sudo >/dev/null; then
            rerun_as_root "$dir" "$name"
            case $rr_status in
            0) ct_pass=$((ct_pass + 1)); continue ;;
            77) why="${rr_reason:-no SKIP: line in its output} (also as root)" ;;
            *) ct_fail=$((ct_fail + 1)); continue ;;
            esac
        fi
        ct_skip=$((ct_skip + 1))
        echo "$stage_name: $name: $why" >>"$skiplog"
    done < <(skip_reasons "$dir")
}

# --- 1: the -Werror build, every label ---------------------------------------
header build "-Werror build ($build), ctest, all labels"
if build_dir "$build"; then
    run_ctest "$build" "$@"
    stage_done "$ct_pass" "$ct_fail" "$ct_skip"
else
    echo "run-tests: build failed"
    stage_done 0 1
fi

# --- 2: ASan + UBSan + LSan, every label -------------------------------------
if [ "${HM_SKIP_SANITIZE:-0}" = 1 ]; then
    skipped sanitize HM_SKIP_SANITIZE=1
else
    header sanitize "ASan+UBSan+LSan build ($sanbuild), ctest, all labels"
    if build_dir "$sanbuild" -DSANITIZE=ON; then
        sanlog=$(mktemp -d "${TMPDIR:-/tmp}/hm-sanitize.XXXXXX")
        chmod 0777 "$sanlog" # a daemon that drops privileges still writes here
        # halt_on_error: the first error ends the process (nonzero exit);
        # log_path: reports of the daemon (a child of the test harness)
        # cannot get lost in a log nobody reads; printed below.
        (
            export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:check_initialization_order=1:log_path=$sanlog/asan"
            export LSAN_OPTIONS="suppressions=$top/test/lsan.supp:print_suppressions=0"
            export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$sanlog/ubsan"
            run_ctest "$sanbuild" -LE package "$@"
            echo "$ct_pass $ct_fail $ct_skip" >"$sanlog/counts"
        )
        pass=0
        fail=1
        skip=0
        [ -s "$sanlog/counts" ] && read -r pass fail skip <"$sanlog/counts"
        rm -f "$sanlog/counts"
        reports=$(find "$sanlog" -name 'asan.*' -o -name 'ubsan.*' | sort)
        if [ -n "$reports" ]; then
            for f in $reports; do
                echo "--- sanitizer report $f ---"
                cat "$f"
                fail=$((fail + 1))
            done
            echo "run-tests: sanitizer reports kept in $sanlog"
        else
            echo "run-tests: no sanitizer reports"
            rm -rf "$sanlog"
        fi
        stage_done "$pass" "$fail" "$skip"
    else
        echo "run-tests: sanitizer build failed"
        stage_done 0 1
    fi
fi

# --- 3: the unit tests under valgrind ----------------------------------------
if [ "${HM_SKIP_VALGRIND:-0}" = 1 ]; then
    skipped valgrind HM_SKIP_VALGRIND=1
else
    header valgrind "test/check_* of $build under valgrind"
    pass=0
    fail=0
    if ! command -v valgrind >/dev/null; then
        echo "run-tests: valgrind not found"
        fail=1
    elif ! compgen -G "$build/check_*" >/dev/null; then
        echo "run-tests: no check_* binaries in $build (stage 1 failed?)"
        fail=1
    else
        for t in "$build"/check_*; do
            [ -x "$t" ] || continue
            vlog=$(mktemp "${TMPDIR:-/tmp}/hm-valgrind.XXXXXX")
            start=$(date +%s)
            # CK_FORK=no: check would fork each test, valgrind would follow
            # only the parent.  Every leak kind counts as an error.
            if (cd "$build" && CK_FORK=no valgrind -q --error-exitcode=99 --leak-check=full \
                    --show-leak-kinds=definite,indirect,possible \
                    --errors-for-leak-kinds=definite,indirect,possible "$t") >"$vlog" 2>&1; then
                pass=$((pass + 1))
                echo "valgrind: $(basename "$t") ok ($(($(date +%s) - start)) s)"
            else
                fail=$((fail + 1))
                echo "valgrind: $(basename "$t") FAILED:"
                sed 's/^/    /' "$vlog"
            fi
            rm -f "$vlog"
        done
    fi
    stage_done "$pass" "$fail"
fi

# --- 4: fuzzing smoke run ----------------------------------------------------
if [ "${HM_SKIP_FUZZ:-0}" = 1 ]; then
    skipped fuzz "HM_SKIP_FUZZ=1 or HM_FUZZ_SECONDS=0"
else
    header fuzz "contrib/fuzz.sh $fuzz_seconds ($FUZZ_BUILD_DIR)"
    flog=$(mktemp "${TMPDIR:-/tmp}/hm-fuzz.XXXXXX")
    "$top/contrib/fuzz.sh" "$fuzz_seconds" 2>&1 | tee "$flog"
    line=$(grep -E '^fuzz: [0-9]+ passed, [0-9]+ failed' "$flog" | tail -1)
    rm -f "$flog"
    if [ -n "$line" ]; then
        pass=$(echo "$line" | sed -E 's/^fuzz: ([0-9]+) passed.*/\1/')
        fail=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
    else
        pass=0
        fail=1
    fi
    stage_done "$pass" "$fail"
fi

echo
echo "===== summary ====="
for s in "${summary[@]}"; do
    echo "$s"
done
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
if [ -s "$skiplog" ]; then
    echo "skipped (stage: test: reason):"
    sed 's/^/  /' "$skiplog"
fi
[ "$total_fail" -eq 0 ]
