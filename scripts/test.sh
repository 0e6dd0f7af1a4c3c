#!/usr/bin/env bash
# Installs what lwmi needs (Debian packages), builds it and runs the whole
# test suite, in stages:
#
#   gcc    the ordinary build (gcc, -Werror) and `meson test`
#   asan   a clang build with AddressSanitizer + UndefinedBehaviorSanitizer
#          and `meson test`; leaks and undefined behaviour are failures
#   fuzz   a clang libFuzzer build (+ASan/UBSan); each fuzz target runs for
#          FUZZ_SECONDS (default 20) on a copy of its corpus
#   e2e    tests/e2e/run.sh against the gcc build; skipped when the gcc stage
#          ran in the same invocation, whose `meson test` already ran the
#          e2e suite against that very build
#
# It stops at the first failing stage with a non-zero exit, and always ends
# with "N passed, N failed", counting tests across the stages.
#
# Usage: scripts/test.sh [STAGE...]     (default: all stages, in order)
# Environment: FUZZ_SECONDS (per target), JOBS (ninja -j, default 2).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

all_stages=(gcc asan fuzz e2e)
stages=("$@")
if [[ ${#stages[@]} -eq 0 ]]; then
    stages=("${all_stages[@]}")
fi
for s in "${stages[@]}"; do
    [[ " ${all_stages[*]} " == *" $s "* ]] || {
        echo "unknown stage '$s' (stages: ${all_stages[*]})" >&2
        exit 2
    }
done

FUZZ_SECONDS=${FUZZ_SECONDS:-20}
BUILD_ASAN=build/asan
BUILD_FUZZ=build/fuzz
SAN_ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
SAN_UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

passed=0
failed=0
stage=setup
tmp=$(mktemp -d -t lwmi-test.XXXXXX)

finish() {
    local rc=$?
    rm -rf "$tmp"
    # A stage that failed without a counted test (a build error, a setup
    # error) still counts as one failure.
    if [[ $rc -ne 0 && $failed -eq 0 ]]; then
        failed=1
    fi
    echo
    if [[ $rc -eq 0 ]]; then
        echo "== all stages passed: $passed passed, $failed failed"
    else
        echo "== FAILED in stage '$stage': $passed passed, $failed failed"
    fi
}
trap finish EXIT

header() {
    stage=$1
    echo
    echo "=================================================================="
    echo "== $stage: $2"
    echo "=================================================================="
}

# meson_test DIR [ENV=VALUE...]: runs DIR's test suite and adds its counts.
meson_test() {
    local dir=$1 log=$tmp/meson-test.log rc=0
    shift
    env "$@" meson test -C "$dir" --no-rebuild --print-errorlogs --num-processes "$JOBS" 2>&1 |
        tee "$log" || rc=$?
    # meson's summary: "Ok: N", "Fail: N", "Unexpected Pass: N", "Timeout: N".
    local ok bad
    ok=$(awk '$1 == "Ok:" { n += $2 } END { print n + 0 }' "$log")
    bad=$(awk '$1 == "Fail:" || $1 == "Timeout:" || ($1 == "Unexpected" && $2 == "Pass:") \
               { n += $NF } END { print n + 0 }' "$log")
    passed=$((passed + ok))
    failed=$((failed + bad))
    return "$rc"
}

stage_gcc() {
    header gcc "gcc build (-Werror) and unit tests"
    configure "$BUILD_GCC" gcc -Dwerror=true
    build "$BUILD_GCC"
    meson_test "$BUILD_GCC"
}

stage_asan() {
    header asan "clang ASan+UBSan build and unit tests (leaks are failures)"
    configure "$BUILD_ASAN" clang -Dwerror=true -Db_sanitize=address,undefined \
        -Db_lundef=false -Dc_args=-fno-omit-frame-pointer
    build "$BUILD_ASAN"
    meson_test "$BUILD_ASAN" ASAN_OPTIONS="$SAN_ASAN_OPTIONS" UBSAN_OPTIONS="$SAN_UBSAN_OPTIONS"
}

# The fuzz targets of a configured build dir, as paths, from meson itself (a
# stale binary of a removed target in the directory is not one).
fuzz_target_paths() {
    meson introspect --targets "$1" | /usr/bin/python3 -c '
import json, sys
for t in json.load(sys.stdin):
    if t["type"] == "executable" and t["name"].startswith("fuzz-"):
        print(t["filename"][0])
'
}

# fuzz_one BINARY: fuzzes one target for FUZZ_SECONDS on a scratch copy of
# its corpus (CI never writes into the repository); on a crash, shows the
# report and the input, base64-encoded, so it can be committed from the log.
fuzz_one() {
    local exe=$1 name
    name=$(basename "$exe")
    name=${name#fuzz-}
    local corpus=$tmp/corpus/$name artifacts=$tmp/artifacts/$name log=$tmp/fuzz-$name.log
    mkdir -p "$corpus" "$artifacts"
    if [[ -d fuzz/corpus/$name ]]; then
        cp -R "fuzz/corpus/$name/." "$corpus/"
    fi
    local args=(-max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048
        -print_final_stats=1 -artifact_prefix="$artifacts/")
    if [[ -f fuzz/$name.dict ]]; then
        args+=(-dict="fuzz/$name.dict")
    fi

    echo "-- fuzz-$name: $FUZZ_SECONDS s, $(find "$corpus" -type f | wc -l) seed inputs"
    local rc=0
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS="$SAN_UBSAN_OPTIONS" \
        timeout -k 10 $((FUZZ_SECONDS + 300)) "$exe" "${args[@]}" "$corpus" >"$log" 2>&1 ||
        rc=$?
    if [[ $rc -eq 0 ]]; then
        grep '^Done' "$log" || true
        echo "-- fuzz-$name: ok, corpus now $(find "$corpus" -type f | wc -l) inputs"
        passed=$((passed + 1))
        return 0
    fi

    failed=$((failed + 1))
    echo "-- fuzz-$name: FAILED (exit $rc); the end of its log:"
    tail -n 80 "$log"
    local a found=
    for a in "$artifacts"/*; do
        [[ -f $a ]] || continue
        found=1
        echo "-- input $(basename "$a") ($(stat -c %s "$a") bytes), base64:"
        head -c 65536 "$a" | base64
    done
    if [[ -n $found ]]; then
        echo "-- fix the bug, then commit the input as fuzz/corpus/$name/<name> so the"
        echo "   fuzz-regress tests replay it ('base64 -d > file' turns the text back)."
    fi
    return 1
}

stage_fuzz() {
    header fuzz "clang libFuzzer build (+ASan/UBSan), each target $FUZZ_SECONDS s"
    configure "$BUILD_FUZZ" clang -Dfuzz=true -Dtests=false -Db_sanitize=address,undefined \
        -Db_lundef=false -Dc_args=-fno-omit-frame-pointer
    build "$BUILD_FUZZ"
    local targets
    mapfile -t targets < <(fuzz_target_paths "$BUILD_FUZZ")
    # A target file nobody listed in fuzz_targets would silently go unfuzzed.
    local src unlisted=()
    for src in fuzz/fuzz-*.c; do
        [[ -f $src && $src != fuzz/fuzz-main.c ]] || continue
        src=$(basename "$src" .c)
        [[ " ${targets[*]##*/} " == *" $src "* ]] || unlisted+=("fuzz/$src.c")
    done
    if [[ ${#unlisted[@]} -gt 0 ]]; then
        echo "not in fuzz_targets (fuzz/meson.build): ${unlisted[*]}"
        return 1
    fi
    if [[ ${#targets[@]} -eq 0 ]]; then
        echo "no fuzz targets yet (fuzz_targets in fuzz/meson.build is empty)"
        return 0
    fi
    local exe
    for exe in "${targets[@]}"; do
        fuzz_one "$exe"
    done
}

stage_e2e() {
    header e2e "end-to-end tests against a real lwmid"
    if [[ " ${stages[*]} " == *" gcc "* ]]; then
        echo "already run: the gcc stage's meson test includes the e2e suite"
        return 0
    fi
    if [[ ! -f tests/e2e/run.sh ]]; then
        echo "no end-to-end tests yet (tests/e2e/run.sh does not exist)"
        return 0
    fi
    configure "$BUILD_GCC" gcc -Dwerror=true
    build "$BUILD_GCC"
    if LWMI_BUILD_DIR="$PWD/$BUILD_GCC" bash tests/e2e/run.sh; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        return 1
    fi
}

header setup "Debian packages"
bash scripts/setup.sh
for s in "${stages[@]}"; do
    start=$SECONDS
    "stage_$s"
    echo "-- stage $s done in $((SECONDS - start)) s"
done
