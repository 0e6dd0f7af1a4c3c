#!/usr/bin/env bash
# Installs what lwmi needs (Debian packages), builds it, and starts the
# service (lwmid) in the foreground on its embedded defaults; arguments are
# passed to lwmid (scripts/run.sh --help lists them).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

bash scripts/setup.sh
configure "$BUILD_GCC" gcc
build "$BUILD_GCC"

lwmid=$BUILD_GCC/src/daemon/lwmid
echo "starting $lwmid $*"
exec "$lwmid" "$@"
