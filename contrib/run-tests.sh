#!/usr/bin/env bash
# run-tests.sh - the whole test suite from a fresh checkout (what .ci/run
# runs): installs what is missing (as root), then four stages, each under
# a "===== stage" header, and a last line "N passed, N failed" over all:
#   1. build     -Werror build in BUILD_DIR, every ctest label
#   2. sanitize  ASan + UBSan + LeakSanitizer build (-DSANITIZE=ON) in
#                SAN_BUILD_DIR, every ctest label again: the integration
#                suites start this sanitized daemon.  Reports go to files
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
summary=()
stage_start=0
stage_name=

header() {
    stage_name=$1
    stage_start=$(date +%s)
    echo
    echo "===== stage $1: $2 ====="
}

# stage_done PASSED FAILED - record the counts and time of the current stage.
stage_done() {
    local secs=$(($(date +%s) - stage_start))
    total_pass=$((total_pass + $1))
    total_fail=$((total_fail + $2))
    summary+=("$(printf '%-9s %3d passed, %3d failed  %4d s' "$stage_name" "$1" "$2" "$secs")")
    echo "===== stage $stage_name: $1 passed, $2 failed, ${secs} s ====="
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

# run_ctest DIR ARGS... - ctest with its output shown; sets ct_pass, ct_fail
# from ctest's "N% tests passed, F tests failed out of T" line.
run_ctest() {
    local dir=$1 log rc line
    shift
    log=$(mktemp "${TMPDIR:-/tmp}/hm-ctest.XXXXXX")
    (cd "$dir" && ctest --output-on-failure "$@") 2>&1 | tee "$log"
    rc=$?
    line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1)
    rm -f "$log"
    if [ -n "$line" ]; then
        local failed total
        failed=$(echo "$line" | sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/')
        total=$(echo "$line" | sed -E 's/.* failed out of ([0-9]+).*/\1/')
        ct_pass=$((total - failed))
        ct_fail=$failed
        [ $rc -ne 0 ] && [ "$failed" -eq 0 ] && ct_fail=1
    else
        ct_pass=0
        ct_fail=1
    fi
}

# --- 1: the -Werror build, every label ---------------------------------------
header build "-Werror build ($build), ctest, all labels"
if build_dir "$build"; then
    run_ctest "$build" "$@"
    stage_done "$ct_pass" "$ct_fail"
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
            run_ctest "$sanbuild" "$@"
            echo "$ct_pass $ct_fail" >"$sanlog/counts"
        )
        pass=0
        fail=1
        [ -s "$sanlog/counts" ] && read -r pass fail <"$sanlog/counts"
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
        stage_done "$pass" "$fail"
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
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
