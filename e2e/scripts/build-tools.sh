#!/usr/bin/env bash
# Builds kube-apiserver and etcd for the end-to-end tests from the Go tool modules in e2e/tools/.
#
#   bash e2e/scripts/build-tools.sh            # build what is missing, print the bin dir
#   SEG_CACHE_DIR=/some/dir bash e2e/scripts/build-tools.sh
#
# Binaries live outside the clone, in $SEG_CACHE_DIR/bin (default ~/.cache/seg/bin), named
# <tool>-<key> where <key> is a hash of the tool module's go.mod and go.sum plus the build recipe
# below. A fresh clone therefore reuses binaries built by an earlier clone, and a change to a tool
# module produces a new key and a rebuild. Stable names (bin/kube-apiserver, bin/etcd) are symlinks
# to the binaries of the current key. The last line printed on stdout is the bin directory.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE_DIR="${SEG_CACHE_DIR:-$HOME/.cache/seg}"
BIN_DIR="$CACHE_DIR/bin"
mkdir -p "$BIN_DIR"

if ! command -v go >/dev/null 2>&1; then
    if [ -x /usr/local/go/bin/go ]; then
        export PATH="$PATH:/usr/local/go/bin"
    else
        echo "build-tools: the Go toolchain (go) is required to build kube-apiserver and etcd" >&2
        exit 1
    fi
fi
# Build exactly from the committed go.mod/go.sum; never rewrite them during a build.
export GOFLAGS="-mod=readonly -buildvcs=false"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
export CGO_ENABLED=0

# Bump when the flags below change so that cached binaries are rebuilt.
RECIPE="recipe-1 -trimpath -s -w cgo=0"

log() { echo "build-tools: $*" >&2; }

tool_key() {
    local dir="$1"
    { cat "$dir/go.mod" "$dir/go.sum"; echo "$RECIPE"; } | sha256sum | cut -c1-16
}

# build_tool NAME PACKAGE LDFLAGS
build_tool() {
    local name="$1" pkg="$2" ldflags="$3"
    local dir="$ROOT/e2e/tools/$name"
    local key out
    key="$(tool_key "$dir")"
    out="$BIN_DIR/$name-$key"
    if [ -x "$out" ]; then
        log "$name: cached $out"
    else
        log "$name: building $pkg (key $key), this takes a few minutes on a cold cache"
        local start=$SECONDS
        (
            cd "$dir"
            go build -trimpath -ldflags "-s -w $ldflags" -o "$out.tmp.$$" "$pkg"
        )
        mv -f "$out.tmp.$$" "$out"
        log "$name: built $out in $((SECONDS - start))s"
    fi
    ln -sfn "$(basename "$out")" "$BIN_DIR/$name"
}

# Serialise concurrent runs (two clones building at once would race on the same output).
exec 9>"$BIN_DIR/.lock"
if command -v flock >/dev/null 2>&1; then
    flock 9
fi

kube_version="$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v1\./ {print $2; exit}' "$ROOT/e2e/tools/kube-apiserver/go.mod")"
if [ -z "$kube_version" ]; then
    log "cannot find the k8s.io/kubernetes requirement in e2e/tools/kube-apiserver/go.mod"
    exit 1
fi
kube_minor="${kube_version#v1.}"
kube_minor="${kube_minor%%.*}"
kube_ldflags="-X k8s.io/component-base/version.gitVersion=${kube_version}"
kube_ldflags+=" -X k8s.io/component-base/version.gitMajor=1"
kube_ldflags+=" -X k8s.io/component-base/version.gitMinor=${kube_minor}"
kube_ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"

build_tool etcd go.etcd.io/etcd/server/v3 ""
build_tool kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver "$kube_ldflags"

kube_reported="$("$BIN_DIR/kube-apiserver" --version 2>&1)"
etcd_reported="$("$BIN_DIR/etcd" --version 2>&1)"
log "${kube_reported%%$'\n'*}, ${etcd_reported%%$'\n'*}"
echo "$BIN_DIR"
