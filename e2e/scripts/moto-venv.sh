#!/usr/bin/env bash
# Creates (once) the Python virtualenv of the end-to-end tests: moto server, boto3 and the OCSF /
# DSSE helpers pinned in e2e/requirements.txt.
#
#   bash e2e/scripts/moto-venv.sh              # prints the virtualenv path on its last line
#
# The virtualenv lives outside the clone, in $SEG_CACHE_DIR/venv-<key> (default ~/.cache/seg),
# where <key> hashes e2e/requirements.txt and the Python version, so fresh clones reuse it and a
# change of the pins creates a new one. Set SEG_PYTHON to choose the interpreter (default python3).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE_DIR="${SEG_CACHE_DIR:-$HOME/.cache/seg}"
PYTHON="${SEG_PYTHON:-python3}"
REQS="$ROOT/e2e/requirements.txt"

log() { echo "moto-venv: $*" >&2; }

if ! command -v "$PYTHON" >/dev/null 2>&1; then
    log "Python interpreter '$PYTHON' not found (set SEG_PYTHON)"
    exit 1
fi
py_version="$("$PYTHON" -c 'import sys; print(".".join(map(str, sys.version_info[:3])))')"
key="$({ cat "$REQS"; echo "python $py_version"; } | sha256sum | cut -c1-16)"
VENV="$CACHE_DIR/venv-$key"
mkdir -p "$CACHE_DIR"

exec 9>"$CACHE_DIR/.venv.lock"
if command -v flock >/dev/null 2>&1; then
    flock 9
fi

if [ -f "$VENV/.seg-complete" ]; then
    log "cached $VENV (Python $py_version)"
else
    log "creating $VENV (Python $py_version)"
    start=$SECONDS
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
        --requirement "$REQS"
    "$VENV/bin/python" -c 'import moto.server, boto3' >/dev/null
    touch "$VENV/.seg-complete"
    log "installed in $((SECONDS - start))s"
fi
echo "$VENV"
