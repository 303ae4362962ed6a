#!/usr/bin/env bash
# Evaluates every control of a bundle over an inventory of configuration items (JSON Lines) with OPA,
# in one `opa eval`, and prints a per-control table of results.
#
#   policy-bundles/scripts/opa-inventory.sh policy-bundles/cis-aws-foundations operator/demo/aws-demo-account.jsonl \
#       [--at 2026-11-23T12:00:00Z] [--json decisions.json] [--expect-pass-and-fail] [--repeat N]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ $# -lt 2 ]]; then
	echo "usage: $0 <bundle-dir> <inventory.jsonl> [options]" >&2
	exit 2
fi
exec python3 "$here/opa_inventory.py" "$@"
