#!/usr/bin/env bash
# The test command of the repository: unit tests and end-to-end tests together.
#
#   bash e2e/test-all.sh
#
# Phases: build (or reuse) kube-apiserver and etcd, create (or reuse) the Python virtualenv with
# moto, cargo fmt --check, clippy -D warnings while the tests are built, cargo test --workspace (unit and e2e tests
# against a real kube-apiserver and moto), verify and test every policy bundle with the seg
# binary, check that crds/*.yaml match `seg crds`, and finally check that no process started by
# the tests survived. See docs/testing.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Processes started by the e2e crate carry SEG_E2E_CHILD_OF=<run dir>; this shell must not.
unset SEG_E2E_CHILD_OF

WORK="$ROOT/e2e/.work"
mkdir -p "$WORK"
RUN_DIR="$WORK/run-$(date +%Y%m%d-%H%M%S)-$$"
mkdir -p "$RUN_DIR"
# Keep the five most recent run folders (logs of failed tests stay there).
# shellcheck disable=SC2012
ls -1dt "$WORK"/run-* 2>/dev/null | tail -n +6 | while read -r old; do rm -rf "$old"; done

PHASES=()
CURRENT_PHASE=""
PHASE_START=0
SCRIPT_START=$SECONDS

log() { printf '\n==> %s\n' "$*"; }

begin_phase() {
    CURRENT_PHASE="$1"
    PHASE_START=$SECONDS
    log "$1"
}

end_phase() {
    local took=$((SECONDS - PHASE_START))
    PHASES+=("$(printf '%-16s %5ss' "$CURRENT_PHASE" "$took")")
    echo "--- $CURRENT_PHASE: ${took}s"
    CURRENT_PHASE=""
}

# Pids of live processes started by this run: recorded pid files whose process still carries the
# marker, plus any process whose environment carries the marker (children of children).
surviving_pids() {
    local marker="SEG_E2E_CHILD_OF=$RUN_DIR"
    local pids=() pid f
    if [ -d /proc ]; then
        for f in /proc/[0-9]*/environ; do
            pid="${f#/proc/}"
            pid="${pid%/environ}"
            [ "$pid" = "$$" ] && continue
            if { tr '\0' '\n' <"$f"; } 2>/dev/null | grep -xF "$marker" >/dev/null; then
                pids+=("$pid")
            fi
        done
    fi
    if [ -d "$RUN_DIR/pids" ]; then
        for f in "$RUN_DIR"/pids/*.pid; do
            [ -e "$f" ] || continue
            pid="$(cat "$f")"
            if kill -0 "$pid" 2>/dev/null; then
                if [ ! -r "/proc/$pid/environ" ] ||
                    { tr '\0' '\n' <"/proc/$pid/environ"; } 2>/dev/null | grep -xF "$marker" >/dev/null; then
                    pids+=("$pid")
                fi
            fi
        done
    fi
    if [ "${#pids[@]}" -gt 0 ]; then
        printf '%s\n' "${pids[@]}" | sort -un
    fi
}

describe_pid() {
    local pid="$1"
    if [ -r "/proc/$pid/cmdline" ]; then
        printf '  pid %s: %s\n' "$pid" "$({ tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | cut -c1-200)"
    else
        printf '  pid %s\n' "$pid"
    fi
}

kill_pids() {
    local pid
    for pid in "$@"; do kill -KILL "$pid" 2>/dev/null || true; done
}

on_exit() {
    local status=$?
    set +e
    local strays
    strays="$(surviving_pids)"
    if [ -n "$strays" ]; then
        echo "cleaning up processes left by the tests:"
        for pid in $strays; do describe_pid "$pid"; done
        # shellcheck disable=SC2086
        kill_pids $strays
    fi
    echo
    echo "==> timing"
    for line in "${PHASES[@]}"; do echo "  $line"; done
    if [ -n "$CURRENT_PHASE" ]; then
        echo "  $(printf '%-16s %5ss' "$CURRENT_PHASE" "$((SECONDS - PHASE_START))") (failed)"
    fi
    echo "  $(printf '%-16s %5ss' total "$((SECONDS - SCRIPT_START))")"
    echo "  run folder: $RUN_DIR"
    if [ "$status" -eq 0 ]; then
        echo "==> all tests passed"
    else
        echo "==> FAILED (exit $status)"
    fi
    exit "$status"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for tool in cargo kubectl openssl; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "test-all: '$tool' is required but not on PATH" >&2
        exit 1
    fi
done

# --- tools ---------------------------------------------------------------------------------------
begin_phase "control plane"
SEG_E2E_BIN_DIR="$(bash e2e/scripts/build-tools.sh)"
export SEG_E2E_BIN_DIR
end_phase

begin_phase "python venv"
SEG_E2E_VENV="$(bash e2e/scripts/moto-venv.sh)"
export SEG_E2E_VENV
end_phase

begin_phase "helm"
SEG_E2E_HELM="$(bash e2e/scripts/install-helm.sh | tail -n 1)"
export SEG_E2E_HELM
end_phase

export SEG_E2E_RUN_DIR="$RUN_DIR"
echo "SEG_E2E_BIN_DIR=$SEG_E2E_BIN_DIR"
echo "SEG_E2E_VENV=$SEG_E2E_VENV"
echo "SEG_E2E_RUN_DIR=$SEG_E2E_RUN_DIR"

# --- Rust ----------------------------------------------------------------------------------------
begin_phase "cargo fmt"
cargo fmt --all -- --check
end_phase

# Clippy runs as the compiler of the workspace's own crates while the tests are built
# (RUSTC_WORKSPACE_WRAPPER, exactly what `cargo clippy` sets up): every lint of
# `cargo clippy --workspace --all-targets -- -D warnings` is checked, and the dependencies are
# compiled once instead of once for clippy and once for the tests. e2e/scripts/cargo.sh exports
# these settings (and the target directory outside the clone) for every later cargo call here, and
# for builds by hand.
# shellcheck source=e2e/scripts/cargo.sh
source e2e/scripts/cargo.sh

begin_phase "clippy + build"
cargo test --workspace --all-targets --no-run
end_phase

begin_phase "cargo test"
cargo test --workspace --no-fail-fast
end_phase

# --- policy bundles ------------------------------------------------------------------------------
begin_phase "policy bundles"
cargo build -p seg
SEG_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/seg"
bundles=0
for manifest in policy-bundles/*/manifest.json; do
    [ -e "$manifest" ] || continue
    bundle="$(dirname "$manifest")"
    echo "--- bundle $bundle"
    # The repository's bundles are signed with the development key. seg trusts it by default only
    # for the bundles built into the binary, so it is named here.
    "$SEG_BIN" bundle verify "$bundle" --key policy-bundles/keys/seg-dev.pub
    "$SEG_BIN" bundle test "$bundle" --key policy-bundles/keys/seg-dev.pub
    bundles=$((bundles + 1))
done
echo "policy bundles verified and tested: $bundles"
end_phase

# The committed CustomResourceDefinitions must be exactly what the Rust types generate.
begin_phase "crd drift"
if ! "$SEG_BIN" crds | diff -u <(cat crds/*.yaml) -; then
    echo "crds/*.yaml differ from the Rust types in crds/src (diff above: - committed, + generated)." >&2
    echo "Regenerate them with: cargo run -p seg -- crds --write crds" >&2
    exit 1
fi
echo "crds/*.yaml match the types"
end_phase

# The same vectors through OPA: the policies must mean the same under both engines.
begin_phase "opa side-by-side"
for manifest in policy-bundles/*/manifest.json; do
    [ -e "$manifest" ] || continue
    bash policy-bundles/scripts/opa-vectors.sh "$(dirname "$manifest")"
done
end_phase

# Every OCSF event we emit must validate against the OCSF 1.8.0 schema of its class.
begin_phase "ocsf schema"
ocsf_out="$RUN_DIR/demo.ocsf.jsonl"
"$SEG_BIN" scan --demo --format ocsf --output "$ocsf_out" --at 2026-11-23T12:00:00Z
"$SEG_E2E_VENV/bin/python" e2e/ocsf/validate_ocsf.py "$ocsf_out"
end_phase

# --- no stray processes --------------------------------------------------------------------------
begin_phase "stray processes"
started=0
if [ -d "$RUN_DIR/pids" ]; then
    started="$(find "$RUN_DIR/pids" -name '*.pid' | wc -l | tr -d ' ')"
fi
strays="$(surviving_pids)"
if [ -n "$strays" ]; then
    echo "processes started by the tests are still running:" >&2
    for pid in $strays; do describe_pid "$pid" >&2; done
    # shellcheck disable=SC2086
    kill_pids $strays
    echo "killed them; failing the run" >&2
    exit 1
fi
echo "processes started by the tests: $started, still running: 0"
end_phase
