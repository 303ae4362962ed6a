#!/usr/bin/env bash
# cargo with the test command's settings, for working on the repository by hand:
#
#   bash e2e/scripts/cargo.sh test -p seg-controllers
#
# - the target directory is outside the clone ($SEG_CACHE_DIR/target, default ~/.cache/seg/target),
#   shared by every clone on the machine;
# - clippy is the compiler of the workspace's own crates (RUSTC_WORKSPACE_WRAPPER, as
#   `cargo clippy` sets it up), with -D warnings: every build is also the lint, and builds by hand
#   reuse the artifacts of the test command instead of overwriting them.
# e2e/test-all.sh sources this file for the same settings.
set -euo pipefail

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${SEG_CACHE_DIR:-$HOME/.cache/seg}/target}"
mkdir -p "$CARGO_TARGET_DIR"
if [ -z "${RUSTC_WORKSPACE_WRAPPER:-}" ]; then
    cargo_bin="$(rustup which cargo 2>/dev/null || command -v cargo)"
    driver="$(dirname "$cargo_bin")/clippy-driver"
    if [ ! -x "$driver" ]; then
        driver="$(command -v clippy-driver || true)"
    fi
    if [ -z "$driver" ] || [ ! -x "$driver" ]; then
        echo "cargo.sh: clippy-driver not found (rustup component add clippy)" >&2
        exit 1
    fi
    export RUSTC_WORKSPACE_WRAPPER="$driver"
fi
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"

# Sourced: export the settings only.
if [ "${BASH_SOURCE[0]}" != "$0" ]; then
    return 0
fi
exec cargo "$@"
