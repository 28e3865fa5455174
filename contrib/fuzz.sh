#!/usr/bin/env bash
# fuzz.sh - build the libFuzzer targets (test/fuzz) with clang, ASan and
# UBSan, and run each for SECONDS (default 60) on a copy of its seed corpus
# under test/fuzz/corpus.  Fails on any crash, leak, sanitizer report or
# timeout and prints where the reproducer is.  Nothing is written into the
# repository: new corpus entries stay in the temp dir (removed on success).
#
#   contrib/fuzz.sh [SECONDS] [TARGET...]     e.g. contrib/fuzz.sh 600 fuzz_addr
#
# Environment: FUZZ_BUILD_DIR (default <repo>/build-fuzz), HM_KEEP_TMP=1
# keeps the work dir, FUZZ_ARGS adds libFuzzer flags (e.g. "-jobs=2").
# Needs clang and libclang-rt-dev (libclang_rt.fuzzer); contrib/install-deps.sh
# installs them.  Longer runs and corpus merging: test/fuzz/README.md.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD_DIR:-$top/build-fuzz}
seconds=${1:-60}
shift || true
all_targets=(fuzz_addr fuzz_virtual_map fuzz_config fuzz_rcpt_plan fuzz_snapshot fuzz_dir_map
             fuzz_sql_map fuzz_socketmap)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all_targets[@]}")

case $seconds in
'' | *[!0-9]*) echo "fuzz.sh: SECONDS must be a number, not '$seconds'" >&2; exit 2 ;;
esac
if ! command -v clang >/dev/null; then
    echo "fuzz.sh: clang not found (apt-get install clang libclang-rt-dev)" >&2
    exit 1
fi

echo "fuzz.sh: building ${targets[*]} in $build"
if ! out=$(cmake -S "$top" -B "$build" -DCMAKE_C_COMPILER=clang -DFUZZ=ON \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo 2>&1); then
    echo "$out" >&2
    echo "fuzz.sh: cmake failed" >&2
    exit 1
fi
if ! cmake --build "$build" -j"$(nproc)" --target "${targets[@]}"; then
    echo "fuzz.sh: build failed (is libclang-rt-dev installed? it holds libclang_rt.fuzzer)" >&2
    exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/hm-fuzz.XXXXXX") || exit 1
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
passed=0
failed=0
for t in "${targets[@]}"; do
    corpus="$top/test/fuzz/corpus/$t"
    mkdir -p "$work/corpus/$t" "$work/artifacts"
    [ -d "$corpus" ] && cp -r "$corpus/." "$work/corpus/$t/"
    log="$work/$t.log"
    echo "fuzz.sh: $t for ${seconds}s ($(find "$work/corpus/$t" -type f | wc -l) seeds)"
    # shellcheck disable=SC2086 # FUZZ_ARGS is a list of flags
    (cd "$work" && "$build/$t" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/artifacts/$t-" \
        ${FUZZ_ARGS:-} "$work/corpus/$t" >"$log" 2>&1)
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    repro=$(find "$work/artifacts" -name "$t-*" -type f | head -1)
    if [ $rc -eq 0 ] && [ -z "$repro" ]; then
        echo "fuzz.sh: $t ok: ${runs:-?} runs, corpus $(find "$work/corpus/$t" -type f | wc -l) files"
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "fuzz.sh: $t FAILED (exit $rc); last lines of $log:"
        grep -v '^#[0-9]' "$log" | tail -40 | sed 's/^/    /'
        if [ -n "$repro" ]; then
            echo "fuzz.sh: reproducer: $repro"
            echo "fuzz.sh: rerun with: $build/$t $repro"
        fi
    fi
done

if [ $failed -gt 0 ] || [ "${HM_KEEP_TMP:-0}" = 1 ]; then
    echo "fuzz.sh: work dir kept: $work"
else
    rm -rf "$work"
fi
echo "fuzz: $passed passed, $failed failed"
[ $failed -eq 0 ]
