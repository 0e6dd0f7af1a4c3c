#!/usr/bin/env bash
# Linux_Process events, native (the kernel's proc connector) against WITHIN
# 1 polling: exec-to-event latency and the daemon's CPU time per 1,000
# process events. See bench/procevents/procevents.py; results in
# BENCHMARKS.md. Needs root (CAP_NET_ADMIN). Not part of `meson test`.
#
# Usage: bench/procevents/run.sh [BUILD_DIR] [OPTIONS...]
#   BUILD_DIR  where lwmid is built (default build/gcc, else build)
#   OPTIONS    go to procevents.py (--help lists them)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=
if [[ $# -gt 0 && $1 != -* ]]; then
        build=$1
        shift
fi
if [[ -z $build ]]; then
        for candidate in build/gcc build; do
                if [[ -x $candidate/src/daemon/lwmid ]]; then
                        build=$candidate
                        break
                fi
        done
fi
[[ -x $build/src/daemon/lwmid ]] || { echo "run.sh: lwmid is not built" >&2; exit 2; }
exec /usr/bin/python3 bench/procevents/procevents.py --lwmid "$build/src/daemon/lwmid" "$@"
