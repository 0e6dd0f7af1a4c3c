#!/usr/bin/env bash
# The KB 931320 scenario (a consumer lost or hung while it holds many
# registrations) on mosquitto, nats-server and lwmid side by side; see
# bench/kb931320/kb931320.py for what is measured and BENCHMARKS.md for
# results. Not part of `meson test` (minutes long, external peers).
#
# Usage: bench/kb931320/run.sh [--build DIR] [--quick | --smoke] [OPTIONS...]
#   --build DIR  where lwmid is built (default build/gcc, else build)
#   --quick      N = 1,000 and 10,000 (about 12 minutes; the full run about 20)
#   --smoke      N = 100, each fault once, short windows (about 45 s)
#   other options go to kb931320.py (--help lists them)
# Installs mosquitto and nats-server (Debian packages) when missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec bench/lib/run-peers.sh bench/kb931320/kb931320.py "$@"
