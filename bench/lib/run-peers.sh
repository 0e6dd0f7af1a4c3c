#!/usr/bin/env bash
# Common runner of the peer benchmarks: run-peers.sh SCRIPT.py [--build DIR]
# [OPTIONS...]. Installs mosquitto and nats-server when missing (through
# scripts/setup.sh), finds lwmid, makes a temporary directory, runs SCRIPT.py
# with /usr/bin/python3 under an overall time bound, and whatever happens
# ends every process the benchmark started (the Python side does so itself;
# this trap is for when it was killed outright) and removes the directory.
set -euo pipefail
cd "$(dirname "$0")/../.."

script=$1
shift
build=
args=()
while [[ $# -gt 0 ]]; do
    case $1 in
    --build) build=$2; shift 2 ;;
    --build=*) build=${1#--build=}; shift ;;
    *) args+=("$1"); shift ;;
    esac
done
if [[ -z $build ]]; then
    for candidate in build/gcc build; do
        if [[ -x $candidate/src/daemon/lwmid ]]; then
            build=$candidate
            break
        fi
    done
fi
lwmid=${build:-build}/src/daemon/lwmid
[[ -x $lwmid ]] || { echo "$script: $lwmid is not built (meson setup build && ninja -C build)" >&2; exit 2; }

if ! command -v mosquitto >/dev/null || ! command -v nats-server >/dev/null; then
    scripts/setup.sh mosquitto nats-server >&2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lwmi-peers.XXXXXX")
cleanup() {
    # Only processes this run started: their pids are in $tmp/pids and their
    # command lines name $tmp.
    if [[ -f $tmp/pids ]]; then
        while read -r kind pid; do
            [[ -r /proc/$pid/cmdline ]] || continue
            tr '\0' ' ' </proc/"$pid"/cmdline | grep -qF "$tmp" || continue
            if [[ $kind == server ]]; then
                kill -CONT "$pid" 2>/dev/null || true
                kill -TERM "$pid" 2>/dev/null || true
                for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            fi
            kill -CONT "$pid" 2>/dev/null || true
            kill -KILL "$pid" 2>/dev/null || true
        done <"$tmp/pids"
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

status=0
KB_TMP=$tmp timeout --signal=TERM --kill-after=30 "${PEERS_TIMEOUT:-5400}" \
    /usr/bin/python3 "$script" --lwmid "$lwmid" "${args[@]}" || status=$?
exit $status
