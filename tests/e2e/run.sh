#!/bin/sh
# Run the end-to-end tests against a built lwmid: $LWMID, else
# $LWMI_BUILD_DIR/src/daemon/lwmid, else the one in build/gcc or build (see
# lwmitest.py). Extra arguments go to unittest. Exits non-zero when a test
# fails.
set -e
here=$(dirname "$0")
if [ -z "${LWMID:-}" ] && [ -n "${LWMI_BUILD_DIR:-}" ]; then
        LWMID=$LWMI_BUILD_DIR/src/daemon/lwmid
        export LWMID
fi
exec /usr/bin/python3 -m unittest discover -s "$here" -v "$@"
