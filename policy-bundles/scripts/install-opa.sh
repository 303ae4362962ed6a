#!/usr/bin/env bash
# Installs the Open Policy Agent CLI (v1.x) under $SEG_CACHE_DIR/opa/<version>/opa (default
# ~/.cache/seg/opa/<version>/opa) and prints its path.
#
#   policy-bundles/scripts/install-opa.sh            # the pinned default, v1.22.2
#   policy-bundles/scripts/install-opa.sh v1.21.4    # a given v1.x version (or OPA_VERSION=v1.21.4)
#   policy-bundles/scripts/install-opa.sh latest     # the newest v1.x tag on the Go module proxy
#
# The default is pinned to the newest v1.x release when the bundle's vectors were last checked, so
# that runs are reproducible and need no look-up.
#
# Requires Go (go install builds it from the module proxy, about two minutes). Nothing is installed
# when the binary is already present; progress goes to standard error, the path to standard output.
set -euo pipefail

module=github.com/open-policy-agent/opa
default_version=v1.22.2
version="${1:-${OPA_VERSION:-$default_version}}"

if [[ "$version" == latest ]]; then
	# The last v1.x release (not pre-release) tag known to the module proxy.
	version="$(go list -m -versions "$module" | tr ' ' '\n' | grep -E '^v1\.[0-9]+\.[0-9]+$' | sort -V | tail -n 1)"
	if [[ -z "$version" ]]; then
		echo "install-opa: no v1.x version of $module found" >&2
		exit 1
	fi
fi
if [[ ! "$version" =~ ^v1\.[0-9]+\.[0-9]+$ ]]; then
	echo "install-opa: expected a v1.x.y version, got '$version'" >&2
	exit 2
fi

dir="${SEG_CACHE_DIR:-$HOME/.cache/seg}/opa/$version"
bin="$dir/opa"

if [[ ! -x "$bin" ]]; then
	mkdir -p "$dir"
	echo "install-opa: installing $module@$version into $dir" >&2
	GOBIN="$dir" CGO_ENABLED=0 go install "$module@$version"
fi

"$bin" version >/dev/null
echo "$bin"
