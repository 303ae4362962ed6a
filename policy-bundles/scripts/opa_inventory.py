#!/usr/bin/env python3
"""Evaluate a policy bundle over an inventory (JSON Lines of configuration items) with the OPA CLI.

Every control is evaluated for every item whose resourceType is one of its target_kinds, with the
input document of docs/bundle-format.md (manifest inputs as params, the evaluation time given by --at).
All evaluations run in one `opa eval` (see opa_vectors.py). Prints a per-control table of results;
--json writes every decision. Exit status: 0, or 1 when a decision is undefined or malformed, or when
--expect-pass-and-fail is given and a control lacks a pass or a fail.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from opa_vectors import RESULTS, Runner, find_opa, load_json, rfc3339_to_ns, shape_problem  # noqa: E402


class Inventory:
    """Quacks like opa_vectors.Bundle for the Runner: controls, inputs, root and id."""

    def __init__(self, root: Path, items: list[dict], at: str):
        self.root = root
        self.manifest = load_json(root / "manifest.json")
        self.id = self.manifest["id"]
        self.controls = {c["id"]: c for c in self.manifest["controls"]}
        self.items: dict[str, list[dict]] = {}
        self.inputs: dict[str, list[dict]] = {}
        at_ns = rfc3339_to_ns(at)
        for cid, control in self.controls.items():
            kinds = set(control.get("target_kinds", []))
            chosen = [it for it in items if it.get("resourceType") in kinds]
            self.items[cid] = chosen
            self.inputs[cid] = [
                {
                    "resource": it,
                    "params": dict(control.get("inputs", {})),
                    "context": {
                        "evaluation_time": at,
                        "evaluation_time_ns": at_ns,
                        "bundle": self.id,
                        "control_id": cid,
                    },
                }
                for it in chosen
            ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bundle", type=Path)
    parser.add_argument("inventory", type=Path, help="JSON Lines, one configuration item per line")
    parser.add_argument("--at", default="2026-11-23T12:00:00Z", help="evaluation time (RFC 3339)")
    parser.add_argument("--json", type=Path, help="write every decision to this file")
    parser.add_argument("--expect-pass-and-fail", action="store_true")
    parser.add_argument("--repeat", type=int, default=1, help="evaluate the inventory N times (benchmark)")
    args = parser.parse_args()

    items = [json.loads(line) for line in args.inventory.read_text(encoding="utf-8").splitlines() if line.strip()]
    if args.repeat > 1:
        items = items * args.repeat
    inv = Inventory(args.bundle.resolve(), items, args.at)
    opa = find_opa(Path(__file__).resolve().parent)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="seg-opa-inventory-") as tmp:
        runner = Runner(opa, inv, Path(tmp), strict=True)
        outcomes = runner.run()
    elapsed = time.monotonic() - started

    status = 0
    records = []
    width = max(len(c) for c in inv.controls)
    print(f"{'control':<{width}}  " + "  ".join(f"{r:>14}" for r in RESULTS))
    evaluations = 0
    for cid in inv.controls:
        counts: Counter = Counter()
        for item, (kind, payload) in zip(inv.items[cid], outcomes.get(cid, [])):
            evaluations += 1
            if kind == "decision" and not shape_problem(payload):
                result, message = payload["result"], payload["message"]
            else:
                result, message = "error", (payload if kind == "runtime_error" else f"{kind}: {shape_problem(payload) if kind == 'decision' else 'undefined'}")
                status = 1
            counts[result] += 1
            records.append({"control": cid, "resourceType": item.get("resourceType"), "resourceId": item.get("resourceId"),
                            "accountId": item.get("accountId"), "awsRegion": item.get("awsRegion"), "result": result, "message": message})
        print(f"{cid:<{width}}  " + "  ".join(f"{counts[r]:>14}" for r in RESULTS))
        if args.expect_pass_and_fail and not (counts["pass"] and counts["fail"]):
            print(f"  {cid}: no pass or no fail", file=sys.stderr)
            status = 1
    total = Counter(r["result"] for r in records)
    print("total: " + ", ".join(f"{total[r]} {r}" for r in RESULTS))
    print(f"{len(items)} items, {evaluations} evaluations, {runner.evals} opa eval process(es), {elapsed:.2f}s")
    if args.json:
        args.json.write_text(json.dumps(records, indent=1) + "\n", encoding="utf-8")
    return status


if __name__ == "__main__":
    sys.exit(main())
