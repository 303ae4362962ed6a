#!/usr/bin/env bash
# Runs every vector case of every control of a policy bundle through `opa eval` and compares the
# decisions with the expectations in tests/<control>.json.
#
#   policy-bundles/scripts/opa-vectors.sh policy-bundles/cis-aws-foundations [--control ID] [-v]
#
# OPA comes from $OPA when set, otherwise from install-opa.sh (installed on first use).
# All cases are evaluated by a single `opa eval` through a generated wrapper query; see
# opa_vectors.py for the details. Exits non-zero on any mismatch.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ $# -lt 1 ]]; then
	echo "usage: $0 <bundle-dir> [--control ID]... [-v]" >&2
	exit 2
fi
exec python3 "$here/opa_vectors.py" "$@"
