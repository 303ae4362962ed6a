#!/usr/bin/env bash
# The operator at scale, against the real control plane of the end-to-end tests.
#
#   bash e2e/bench/operator-scale.sh [NAMESPACES] [ASSETS] [FAILING]      # default 10 10000 1000
#
# Builds seg in release mode, kube-apiserver and etcd (e2e/scripts/build-tools.sh) and the
# control-plane example, generates NAMESPACES+1 inventories of ASSETS AWS Config items with exactly
# FAILING failing (control, asset) pairs each (checked offline with `seg scan`), starts a control
# plane (`cargo run -p seg-e2e --example control-plane`), applies crds/ and
# e2e/fixtures/operator-rbac.yaml, and runs `target/release/seg operator --inventory-dir <dir>` as
# the operator's service account. Then e2e/bench/operator_scale.py measures:
#   1. one Scan (spec.inventory.path) from creation to Succeeded, its Findings, and the writes of
#      an unchanged rescan (new generation);
#   2. NAMESPACES namespaces, each with a Benchmark and a Scan of its own inventory, created at once,
#      until all have Succeeded;
#   3. the operator's peak RSS (VmHWM of /proc/<pid>/status, VmRSS sampled every 200 ms).
# Prints Markdown tables for docs/performance.md. Not part of the test command: figures are
# measured, not asserted. Every process it starts is stopped on exit; the logs and the JSON report
# stay in e2e/.work/operator-scale-*/ (the inventories are removed).
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
namespaces="${1:-10}"
assets="${2:-10000}"
failing="${3:-1000}"
max_findings=5000
bundle=policy-bundles/cis-aws-foundations
# The key the repository's bundle is signed with: seg trusts no key for a bundle from disk by default.
key=policy-bundles/keys/seg-dev.pub

say() { echo "operator-scale: $*" >&2; }

cargo build --release -q -p seg
cargo build -q -p seg-e2e --example control-plane
bin_dir="$(bash e2e/scripts/build-tools.sh | tail -n 1)"
export SEG_E2E_BIN_DIR="$bin_dir"

work="$root/e2e/.work/operator-scale-$(date -u +%Y%m%dT%H%M%SZ)-$$"
mkdir -p "$work/inventory"
# The control plane's folder and the pids of etcd and kube-apiserver go under the work folder.
export SEG_E2E_RUN_DIR="$work"

cp_pid=""
op_pid=""
py_pid=""
cleanup() {
    local status=$?
    set +e
    if [ -n "$py_pid" ] && kill -0 "$py_pid" 2>/dev/null; then
        kill -TERM "$py_pid"
        wait "$py_pid" 2>/dev/null
    fi
    if [ -n "$op_pid" ] && kill -0 "$op_pid" 2>/dev/null; then
        kill -TERM "$op_pid"
        for _ in $(seq 50); do kill -0 "$op_pid" 2>/dev/null || break; sleep 0.2; done
        kill -0 "$op_pid" 2>/dev/null && kill -KILL "$op_pid"
        wait "$op_pid" 2>/dev/null
    fi
    if [ -n "$cp_pid" ]; then
        # End of input on its stdin: the example stops kube-apiserver and etcd and removes its folder.
        exec 3>&-
        for _ in $(seq 100); do kill -0 "$cp_pid" 2>/dev/null || break; sleep 0.2; done
        kill -0 "$cp_pid" 2>/dev/null && kill -TERM "$cp_pid"
        wait "$cp_pid" 2>/dev/null
    fi
    rm -rf "$work/inventory" "$work/cp.in"
    # Keep the folders of the three most recent runs.
    ls -d "$root"/e2e/.work/operator-scale-* 2>/dev/null | sort | head -n -3 | while read -r old; do rm -rf "$old"; done
    [ "$status" -eq 0 ] || say "failed; logs in $work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "generating $((namespaces + 1)) inventories of $assets assets ($failing failing each)"
python3 e2e/bench/operator_scale.py inventory --seg target/release/seg --bundle "$bundle" --key "$key" \
    --demo operator/demo/aws-demo-account.jsonl --count "$assets" --fail "$failing" \
    --sets "$((namespaces + 1))" --out-dir "$work/inventory" > "$work/inventory.json"

say "starting the control plane"
mkfifo "$work/cp.in"
target/debug/examples/control-plane < "$work/cp.in" > "$work/cp.out" 2> "$work/cp.err" &
cp_pid=$!
exec 3> "$work/cp.in"
for _ in $(seq 600); do
    grep -q '^press Enter to stop' "$work/cp.out" 2>/dev/null && break
    kill -0 "$cp_pid" 2>/dev/null || { cat "$work/cp.err" >&2; exit 1; }
    sleep 0.2
done
grep -q '^press Enter to stop' "$work/cp.out" || { say "control plane not ready"; cat "$work/cp.err" >&2; exit 1; }
admin="$(awk '$1 == "admin" {print $2}' "$work/cp.out")"
operator="$(awk '$1 == "operator" {print $2}' "$work/cp.out")"
apiserver_pid="$(cat "$work"/pids/kube-apiserver-*.pid)"
etcd_pid="$(cat "$work"/pids/etcd-*.pid)"

kubectl --kubeconfig "$admin" apply -f crds/ > /dev/null
kubectl --kubeconfig "$admin" wait --for=condition=Established --timeout=60s \
    crd/benchmarks.seg.neurocipher.io crd/scans.seg.neurocipher.io crd/findings.seg.neurocipher.io > /dev/null
kubectl --kubeconfig "$admin" apply -f e2e/fixtures/operator-rbac.yaml > /dev/null

say "starting seg operator"
KUBECONFIG="$operator" target/release/seg operator --inventory-dir "$work/inventory" > "$work/operator.log" 2>&1 &
op_pid=$!
for _ in $(seq 300); do
    grep -q 'watching Benchmarks and Scans' "$work/operator.log" && break
    kill -0 "$op_pid" 2>/dev/null || { cat "$work/operator.log" >&2; exit 1; }
    sleep 0.1
done

say "measuring"
# In the background, so that a signal reaches the cleanup at once.
python3 e2e/bench/operator_scale.py measure --kubeconfig "$admin" --operator-pid "$op_pid" \
    --apiserver-pid "$apiserver_pid" --etcd-pid "$etcd_pid" --sets "$namespaces" --phase1-ns scale-one \
    --max-findings "$max_findings" --out "$work/report.json" &
py_pid=$!
wait "$py_pid"
py_pid=""
kill -0 "$op_pid" 2>/dev/null || { say "the operator died"; cat "$work/operator.log" >&2; exit 1; }

echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo); $(date -u +%Y-%m-%d)"
echo
python3 e2e/bench/operator_scale.py table --inventory "$work/inventory.json" --report "$work/report.json"
echo
lines="$(grep -c . "$work/operator.log" || true)"
problems="$(grep -ciE 'error|fail|panic|warn' "$work/operator.log" || true)"
echo "operator log: $lines line(s), $problems mentioning error/fail/panic/warn ($work/operator.log)"
