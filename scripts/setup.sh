#!/usr/bin/env bash
# Installs the Debian 12 packages lwmi needs to build, test and fuzz. It is
# idempotent and fast when nothing is missing: apt-get runs only if some
# package is not installed yet. Runs as root (or through sudo).
#
# Usage: scripts/setup.sh [EXTRA_PACKAGE...]
# Extra packages are installed along with lwmi's own: the peer benchmarks
# (bench/kb931320, bench/fanout) ask for mosquitto and nats-server this way;
# the build and the test suite do not need them.
set -euo pipefail

packages=(
    build-essential     # gcc, make, libc headers
    meson
    ninja-build
    pkg-config
    clang               # sanitizer and fuzz builds
    libclang-rt-14-dev  # libFuzzer and the sanitizer runtimes for clang 14
    llvm                # llvm-symbolizer: readable sanitizer stack traces
    libevent-dev
    libsqlite3-dev
    libjansson-dev
    libinih-dev
    libcmocka-dev
    libsystemd-dev
    libssl-dev
    python3             # end-to-end tests, build introspection
    iproute2            # ss, ip netns and veth, for the end-to-end tests
    iptables            # the silent-network-loss test drops a namespace's traffic
    procps              # ps, pkill -P, for the end-to-end tests
    openssl             # the openssl command: test_tls.py makes a test CA
    "$@"
)

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
    [[ $status == ii* ]] || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "setup: all ${#packages[@]} packages are installed"
    exit 0
fi

echo "setup: installing ${missing[*]}"
sudo=()
if [[ $(id -u) -ne 0 ]]; then
    if ! command -v sudo >/dev/null; then
        echo "setup: not root and no sudo; as root run:" >&2
        echo "  apt-get update && apt-get install -y --no-install-recommends ${packages[*]}" >&2
        exit 1
    fi
    sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${packages[@]}"
