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

# A class of 10,000 instances in the repository, put through the socket.
prepare=$tmp/prepare.jsonl
{
    echo '{"jsonrpc":"2.0","id":0,"method":"PutClass","params":{"namespace":"root/cimv2","class":{"__CLASS":"Bench_Item","properties":{"Id":{"type":"uint32","key":true},"Name":{"type":"string"},"Group":{"type":"uint32"},"Size":{"type":"uint64"},"Created":{"type":"datetime"}}}}}'
    awk 'BEGIN { for (i = 1; i <= 10000; i++)
        printf "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"PutInstance\",\"params\":{\"namespace\":\"root/cimv2\",\"instance\":{\"__CLASS\":\"Bench_Item\",\"Id\":%d,\"Name\":\"item %d\",\"Group\":%d,\"Size\":\"%d\",\"Created\":\"20261126083000.000000+000\"}}}\n", i, i, i, i % 10, i * 4096 }'
} >"$prepare"
start=$(date +%s%N)
"$bench" --socket "$sock" --prepare "$prepare" --requests 0 --latency 0 --window 1000
echo "prepare: $((($(date +%s%N) - start) / 1000000)) ms for the class and 10,000 PutInstance, pipelined"

query() {
    "$bench" --socket "$sock" --method ExecQuery --label "$1" \
        --params "{\"namespace\":\"root/cimv2\",\"query\":\"$2\"}" \
        --requests "$3" --window 8 --latency "$4"
}
query "ExecQuery all" "SELECT * FROM Bench_Item" 50 20
query "ExecQuery 10%" "SELECT * FROM Bench_Item WHERE Group = 3" 200 50
query "ExecQuery one" "SELECT * FROM Bench_Item WHERE Id = 5000" 200 50
query "ExecQuery process" "SELECT Name FROM Linux_Process WHERE ProcessId = 1" 2000 1000
