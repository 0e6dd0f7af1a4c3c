#!/usr/bin/env bash
# Installs what lwmi needs (Debian packages), builds it, and starts the
# service in the foreground on its embedded defaults; arguments are passed to
# lwmid. Until the daemon exists, it runs the engine's test suite instead, as
# a demonstration of what is built.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

bash scripts/setup.sh
configure "$BUILD_GCC" gcc
build "$BUILD_GCC"

lwmid=$BUILD_GCC/src/daemon/lwmid
if [[ -x $lwmid ]]; then
    echo "starting $lwmid $*"
    exec "$lwmid" "$@"
fi

cat <<MSG

The daemon (lwmid) is not built yet: it is not part of this tree so far.
As a demonstration, here is the engine's own test suite instead.

MSG
exec meson test -C "$BUILD_GCC" --print-errorlogs
