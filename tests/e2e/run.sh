#!/bin/sh
# Run the end-to-end tests against a built lwmid (LWMID=path, or the build
# directory's). Exits non-zero when a test fails.
set -e
here=$(dirname "$0")
exec /usr/bin/python3 -m unittest discover -s "$here" -v "$@"
