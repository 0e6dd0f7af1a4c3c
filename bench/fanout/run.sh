#!/usr/bin/env bash
# Small events delivered per second to 1 and to 100 consumers on mosquitto,
# nats-server and lwmid; see bench/fanout/fanout.py for what is measured and
# BENCHMARKS.md for results. Not part of `meson test` (external peers).
#
# Usage: bench/fanout/run.sh [--build DIR] [--quick | --smoke] [OPTIONS...]
#   --build DIR  where lwmid and bench/fanout-client are built (default
#                build/gcc, else build)
#   --quick      fewer events, one run per case (about a minute)
#   --smoke      a few thousand events (seconds)
#   other options go to fanout.py (--help lists them)
# Installs mosquitto and nats-server (Debian packages) when missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec bench/lib/run-peers.sh bench/fanout/fanout.py "$@"
