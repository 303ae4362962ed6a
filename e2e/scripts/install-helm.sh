#!/usr/bin/env bash
# Builds (once) the Helm v3 command line used by the chart's end-to-end test, from source through
# the Go module proxy (`go install helm.sh/helm/v3/cmd/helm@<version>`); nothing is downloaded as
# a binary.
#
#   bash e2e/scripts/install-helm.sh             # prints the path of the helm binary on its last line
#   SEG_HELM_VERSION=v3.21.4 bash e2e/scripts/install-helm.sh
#
# The binary lives outside the clone, in $SEG_CACHE_DIR/helm-<version>/helm (default
# ~/.cache/seg), so fresh clones reuse it; another version gets its own folder. Concurrent runs
# serialise on a lock file in the cache folder. Like `make build` of Helm itself, the build
# stamps the version and the Kubernetes version of its client-go modules (which `helm template`
# and `helm lint` report as .Capabilities.KubeVersion).
set -euo pipefail

VERSION="${SEG_HELM_VERSION:-v3.21.4}"
CACHE_DIR="${SEG_CACHE_DIR:-$HOME/.cache/seg}"
DEST="$CACHE_DIR/helm-$VERSION"
BIN="$DEST/helm"

log() { echo "install-helm: $*" >&2; }

case "$VERSION" in
    v3.*) ;;
    *)
        log "SEG_HELM_VERSION must be a Helm v3 release tag such as v3.21.4 (got '$VERSION')"
        exit 1
        ;;
esac

mkdir -p "$CACHE_DIR"
exec 9>"$CACHE_DIR/.helm.lock"
if command -v flock >/dev/null 2>&1; then
    flock 9
fi

# A binary is only moved into place after it built and ran, so its presence means it is complete.
if [ -x "$BIN" ]; then
    log "cached $BIN"
    echo "$BIN"
    exit 0
fi

if ! command -v go >/dev/null 2>&1; then
    if [ -x /usr/local/go/bin/go ]; then
        export PATH="$PATH:/usr/local/go/bin"
    else
        log "the Go toolchain (go) is required to build helm"
        exit 1
    fi
fi
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
export CGO_ENABLED=0
# `go install pkg@version` builds outside any module; flags meant for module builds would fail it.
unset GOFLAGS

log "building helm $VERSION with go install (a couple of minutes on a cold Go cache)"
start=$SECONDS

# The Kubernetes version helm assumes when no cluster is asked: one more than the major of its
# k8s.io/client-go v0.x requirement, and its minor (as Helm's Makefile computes it).
gomod="$(go mod download -json "helm.sh/helm/v3@$VERSION" | awk -F'"' '$2 == "GoMod" {print $4}')"
client_go="$(awk '$1 == "k8s.io/client-go" {print $2; exit}' "$gomod")"
if [ -z "$client_go" ]; then
    log "cannot find the k8s.io/client-go requirement in $gomod"
    exit 1
fi
k8s_minor="$(echo "$client_go" | cut -d. -f2)"
k8s_major="$(($(echo "${client_go#v}" | cut -d. -f1) + 1))"

ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$VERSION"
ldflags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
    ldflags+=" -X $pkg.k8sVersionMajor=$k8s_major -X $pkg.k8sVersionMinor=$k8s_minor"
done

tmp="$(mktemp -d "$CACHE_DIR/.helm-build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
GOBIN="$tmp" go install -trimpath -buildvcs=false -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$VERSION"
reported="$("$tmp/helm" version --short)"
case "$reported" in
    "$VERSION"*) ;;
    *)
        log "the built helm reports '$reported', expected $VERSION"
        exit 1
        ;;
esac
mkdir -p "$DEST"
mv -f "$tmp/helm" "$BIN"
log "built $BIN ($reported, Kubernetes v$k8s_major.$k8s_minor) in $((SECONDS - start))s"
echo "$BIN"
