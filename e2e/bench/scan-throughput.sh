#!/usr/bin/env bash
# Throughput benchmark of `seg scan` on a synthetic inventory, side by side with OPA.
#
#   bash e2e/bench/scan-throughput.sh [COUNT]      # default 100000 assets
#
# Builds seg in release mode, generates COUNT AWS Config items across every target kind of the
# CIS AWS Foundations bundle, runs `seg scan` (all cores) under /usr/bin/time for wall time and
# peak RSS, then the same bundle and inventory through `opa eval` (batches of 10,000 items, one
# process per core), checks that both produced the same counts by result, and prints a Markdown
# table for docs/performance.md. Not part of the test command: figures are measured, not asserted.
set -euo pipefail
cd "$(dirname "$0")/../.."
count="${1:-100000}"
at="2026-11-23T00:00:00Z"
bundle=policy-bundles/cis-aws-foundations
# The key the repository's bundle is signed with: seg trusts no key for a bundle from disk by default.
key=policy-bundles/keys/seg-dev.pub
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cargo build --release -q -p seg
opa="$(bash policy-bundles/scripts/install-opa.sh "${OPA_VERSION:-v1.22.2}")"
python3 e2e/bench/bench.py generate --bundle "$bundle" --demo operator/demo/aws-demo-account.jsonl --count "$count" --out "$work/inv.jsonl"

/usr/bin/time -f '%e %M %P' -o "$work/seg.time" \
  target/release/seg scan --bundle "$bundle" --key "$key" --inventory "$work/inv.jsonl" --format ocsf --output "$work/out.ocsf.jsonl" \
  --at "$at" 2> "$work/seg.err" || [ "$?" -eq 3 ] || { cat "$work/seg.err"; exit 1; }
# Exit status 3 means "incomplete": some synthetic items make some policies return `error`.
target/release/seg scan --bundle "$bundle" --key "$key" --inventory "$work/inv.jsonl" --format json --output "$work/out.json" --at "$at" 2>/dev/null || [ "$?" -eq 3 ]
read -r seg_wall seg_rss_kb seg_cpu < <(tail -n 1 "$work/seg.time")
seg_counts="$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["run"]["counts"]; print(json.dumps({k: c[k] for k in ("pass","fail","warn","error","not_applicable")}, sort_keys=True)); print(c["evaluations"])' "$work/out.json")"
seg_eval="$(echo "$seg_counts" | tail -1)"
seg_res="$(echo "$seg_counts" | head -1)"

/usr/bin/time -f '%e %M %P' -o "$work/opa.time" \
  python3 e2e/bench/bench.py opa --opa "$opa" --bundle "$bundle" --inventory "$work/inv.jsonl" --at "$at" --batch 10000 --jobs 2 > "$work/opa.json"
opa_wall="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["wall_seconds"])' "$work/opa.json")"
opa_eval="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["evaluations"])' "$work/opa.json")"
opa_res="$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["counts"]; print(json.dumps({k: c.get(k,0) for k in ("pass","fail","warn","error","not_applicable")}, sort_keys=True))' "$work/opa.json")"

grep -E '^scanned' "$work/seg.err" || true
echo "seg counts: $seg_res"
echo "opa counts: $opa_res"
same=yes
[ "$seg_res" = "$opa_res" ] || same="NO (policies disagree between regorus and OPA)"
ratio="$(python3 -c "print(f'{($seg_eval/$seg_wall)/($opa_eval/$opa_wall):.2f}')")"
cat <<TABLE

| measure | seg (regorus) | OPA $("$opa" version | awk '/^Version/{print $2}') |
|---|---|---|
| assets | $count | $count |
| evaluations (control × asset) | $seg_eval | $opa_eval |
| wall time | ${seg_wall} s | ${opa_wall} s |
| throughput | $(python3 -c "print(round($seg_eval/$seg_wall))") evaluations/s | $(python3 -c "print(round($opa_eval/$opa_wall))") evaluations/s |
| peak RSS | $((seg_rss_kb / 1024)) MiB | (per process) |
| CPU use | ${seg_cpu} | |
| same counts by result | $same | |
| seg / OPA throughput | ${ratio}x | |
TABLE
