#!/usr/bin/env bash
# Start lwmid on a temporary socket with an in-memory repository, run the
# benchmarks against it, stop it. Usage: bench/run-bench.sh [BUILD_DIR]
# (default build/gcc, else build). The figures go to stdout; BENCHMARKS.md
# records them with the machine they came from.
set -euo pipefail
cd "$(dirname "$0")/.."

build=${1:-}
if [[ -z $build ]]; then
    for candidate in build/gcc build; do
        if [[ -x $candidate/src/daemon/lwmid ]]; then
            build=$candidate
            break
        fi
    done
fi
lwmid=$build/src/daemon/lwmid
bench=$build/bench/bench-rpc
for f in "$lwmid" "$bench"; do
    [[ -x $f ]] || { echo "run-bench.sh: $f is not built (ninja -C $build)" >&2; exit 2; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lwmi-bench.XXXXXX")
pid=
cleanup() {
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        wait "$pid" || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

sock=$tmp/lwmid.sock
"$lwmid" --socket "$sock" --repository :memory: --log-level warning 2>"$tmp/lwmid.log" &
pid=$!
for _ in $(seq 200); do
    [[ -S $sock ]] && break
    kill -0 "$pid" 2>/dev/null || { cat "$tmp/lwmid.log" >&2; exit 1; }
    sleep 0.05
done
[[ -S $sock ]] || { echo "run-bench.sh: lwmid did not start" >&2; exit 1; }

echo "# $("$lwmid" --version), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "# $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) CPUs"

"$bench" --socket "$sock" --label Ping --requests 100000 --window 1000 --latency 10000
