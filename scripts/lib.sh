# shellcheck shell=bash
# Shared by scripts/run.sh and scripts/test.sh (sourced, not run): the
# repository root, the build directories and how to configure one.

# Every path below is relative to the repository root.
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

# ninja's parallelism; the project targets 2-core machines.
JOBS=${JOBS:-2}

# The ordinary build (gcc, -Werror); scripts/run.sh starts lwmid from here.
# shellcheck disable=SC2034 # used by the scripts that source this file
BUILD_GCC=build/gcc

# configure DIR COMPILER [MESON-OPTION...]: sets up DIR with COMPILER, or
# re-applies the options if DIR was set up before (a stale or half-written
# directory is simply configured again).
configure() {
    local dir=$1 compiler=$2
    shift 2
    if [[ -f $dir/meson-private/coredata.dat ]]; then
        meson setup --reconfigure "$dir" "$@" >"$dir.setup.log" 2>&1 ||
            { cat "$dir.setup.log"; return 1; }
    else
        mkdir -p "$(dirname "$dir")"
        CC=$compiler meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 ||
            { cat "$dir.setup.log"; return 1; }
    fi
    echo "configured $dir ($compiler${*:+, $*})"
}

# build DIR: compiles everything in a configured DIR.
build() {
    ninja -C "$1" -j "$JOBS"
}
