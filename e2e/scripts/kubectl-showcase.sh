#!/usr/bin/env bash
# Prints what kubectl shows of seg's resources with the operator running, for docs/crds.md:
# starts the test control plane, applies crds/, the operator's RBAC and examples/ (namespace,
# built-in Benchmark, inventory Scan), runs `seg operator` until the Scan has succeeded, then runs
# `kubectl get seg -A`, `kubectl describe scan`, `kubectl explain finding.spec` and
# `kubectl get events`.
#
#   bash e2e/scripts/kubectl-showcase.sh > showcase.txt
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
say() { echo "kubectl-showcase: $*" >&2; }

cargo build -q -p seg
cargo build -q -p seg-e2e --example control-plane
SEG_E2E_BIN_DIR="$(bash e2e/scripts/build-tools.sh | tail -n 1)"
export SEG_E2E_BIN_DIR
work="$(mktemp -d "${TMPDIR:-/tmp}/seg-showcase-XXXXXX")"
export SEG_E2E_RUN_DIR="$work"
cp_pid=""
op_pid=""
cleanup() {
    local status=$?
    set +e
    if [ -n "$op_pid" ]; then kill -TERM "$op_pid" 2>/dev/null; wait "$op_pid" 2>/dev/null; fi
    if [ -n "$cp_pid" ]; then
        exec 3>&-
        for _ in $(seq 100); do kill -0 "$cp_pid" 2>/dev/null || break; sleep 0.2; done
        kill -0 "$cp_pid" 2>/dev/null && kill -TERM "$cp_pid"
        wait "$cp_pid" 2>/dev/null
    fi
    [ "$status" -eq 0 ] && rm -rf "$work" || say "failed; logs in $work"
    exit "$status"
}
trap cleanup EXIT

mkfifo "$work/cp.in"
target/debug/examples/control-plane < "$work/cp.in" > "$work/cp.out" 2> "$work/cp.err" &
cp_pid=$!
exec 3> "$work/cp.in"
for _ in $(seq 600); do
    grep -q '^press Enter to stop' "$work/cp.out" 2>/dev/null && break
    kill -0 "$cp_pid" 2>/dev/null || { cat "$work/cp.err" >&2; exit 1; }
    sleep 0.2
done
admin="$(awk '$1 == "admin" {print $2}' "$work/cp.out")"
operator="$(awk '$1 == "operator" {print $2}' "$work/cp.out")"
k() { kubectl --kubeconfig "$admin" "$@"; }
k apply -f crds/ > /dev/null
k wait --for=condition=Established --timeout=60s crd/benchmarks.seg.neurocipher.io \
    crd/scans.seg.neurocipher.io crd/findings.seg.neurocipher.io > /dev/null
k apply -f e2e/fixtures/operator-rbac.yaml > /dev/null
KUBECONFIG="$operator" target/debug/seg operator --export-dir "$work/export" > "$work/operator.log" 2>&1 &
op_pid=$!
k apply -f examples/00-namespace.yaml -f examples/benchmark-cis-aws.yaml -f examples/scan-inventory.yaml > /dev/null
for _ in $(seq 300); do
    [ "$(k get scan inventory-demo -n tenant-a -o jsonpath='{.status.phase}')" = Succeeded ] && break
    sleep 0.3
done
[ "$(k get scan inventory-demo -n tenant-a -o jsonpath='{.status.phase}')" = Succeeded ] ||
    { say "the Scan did not succeed"; cat "$work/operator.log" >&2; exit 1; }
run() { echo "\$ kubectl $*"; k "$@"; echo; }
run get seg -A
run describe scan inventory-demo -n tenant-a
run explain finding.spec
run get events -n tenant-a --sort-by=.lastTimestamp
