#!/usr/bin/env python3
"""Throughput benchmark helpers: a synthetic inventory, and the same evaluation through OPA.

    bench.py generate --bundle DIR --demo FILE --count N --out FILE
        Writes N AWS Config configuration items, cycling deterministically over templates taken
        from the demo inventory and from every vector case of the bundle (so every target kind
        is present), each with a unique resource id. Same arguments, same bytes.

    bench.py opa --opa BIN --bundle DIR --inventory FILE --at TIME --batch B --jobs J
        Evaluates every control of the bundle on every item of its target kinds with `opa eval`,
        J processes at a time over batches of B items (input prepared before timing), and prints
        a JSON line: wall seconds, evaluations and counts by result.

Standard library only.
"""

from __future__ import annotations

import argparse
import calendar
import json
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def load_json(p: Path):
    return json.loads(p.read_text(encoding="utf-8"))


def templates(bundle: Path, demo: Path) -> list[dict]:
    out = [json.loads(line) for line in demo.read_text(encoding="utf-8").splitlines() if line.strip()]
    manifest = load_json(bundle / "manifest.json")
    for c in manifest["controls"]:
        for case in load_json(bundle / "tests" / f"{c['id']}.json")["cases"]:
            if case["expect"] in ("pass", "fail") and not case.get("params"):
                out.append(case["resource"])
    kinds = set(manifest["target_kinds"])
    # Deleted items are skipped by seg (and would be evaluated by the OPA wrapper): leave them out.
    return [t for t in out if t.get("resourceType") in kinds
            and not str(t.get("configurationItemStatus", "")).startswith("ResourceDeleted")]


ENVELOPE = {
    "version": "1.3",
    "accountId": "111122223333",
    "configurationItemCaptureTime": "2026-11-20T10:00:00.000Z",
    "configurationItemStatus": "OK",
    "awsRegion": "us-east-1",
}


def generate(args) -> None:
    temps = templates(Path(args.bundle), Path(args.demo))
    regions = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2"]
    with open(args.out, "w", encoding="utf-8") as fh:
        for i in range(args.count):
            t = dict(temps[i % len(temps)])
            for k, v in ENVELOPE.items():
                t.setdefault(k, v)
            rid = f"{t.get('resourceId', 'r')}-{i:07d}"
            t["resourceId"] = rid
            t["resourceName"] = rid
            t["awsRegion"] = regions[(i // len(temps)) % len(regions)]
            t["arn"] = f"arn:aws:{t['resourceType'].split('::')[1].lower()}:{t['awsRegion']}:{t['accountId']}:{rid}"
            fh.write(json.dumps(t, separators=(",", ":"), sort_keys=True))
            fh.write("\n")
    print(f"wrote {args.count} items ({len(temps)} templates) to {args.out}", file=sys.stderr)


def rfc3339_ns(s: str) -> int:
    return calendar.timegm(time.strptime(s.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S%z")) * 1_000_000_000


def wrapper(manifest: dict) -> str:
    bid = manifest["id"].replace("-", "_")
    lines = [
        "package seg_bench",
        "",
        "import rego.v1",
        "",
        "evals := [[cid, d.result] | some item in input.items; some cid in data.seg_bench.kinds[item.resourceType]; d := decide(cid, item)]",
        "",
        'counts[r] := count([1 | some e in evals; e[1] == r]) if some r in {"pass", "fail", "warn", "error", "not_applicable"}',
        "",
        "summary := {\"evaluations\": count(evals), \"counts\": counts}",
        "",
    ]
    for c in manifest["controls"]:
        pkg = c["id"].replace("-", "_").replace(".", "_")
        ctx = '{"evaluation_time": input.context.evaluation_time, "evaluation_time_ns": input.context.evaluation_time_ns, ' \
              f'"bundle": "{manifest["id"]}", "control_id": "{c["id"]}"}}'
        lines.append(
            f'decide("{c["id"]}", item) := d if {{\n\td := data.seg.{bid}.{pkg}.decision with input as '
            f'{{"resource": item, "params": {json.dumps(c.get("inputs", {}))}, "context": {ctx}}}\n}}'
        )
    return "\n".join(lines) + "\n"


def run_opa(args) -> None:
    bundle = Path(args.bundle)
    manifest = load_json(bundle / "manifest.json")
    kinds: dict[str, list[str]] = {}
    for c in manifest["controls"]:
        for k in c["target_kinds"]:
            kinds.setdefault(k, []).append(c["id"])
    items = [json.loads(l) for l in Path(args.inventory).read_text(encoding="utf-8").splitlines() if l.strip()]
    ctx = {"evaluation_time": args.at, "evaluation_time_ns": rfc3339_ns(args.at)}
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        (tmpd / "wrapper.rego").write_text(wrapper(manifest), encoding="utf-8")
        (tmpd / "kinds.json").write_text(json.dumps({"seg_bench": {"kinds": kinds}}), encoding="utf-8")
        batches = []
        for n, start in enumerate(range(0, len(items), args.batch)):
            p = tmpd / f"batch-{n:04d}.json"
            p.write_text(json.dumps({"items": items[start:start + args.batch], "context": ctx}), encoding="utf-8")
            batches.append(p)
        data_args = ["-d", str(bundle / "policies"), "-d", str(tmpd / "wrapper.rego"), "-d", str(tmpd / "kinds.json")]
        if (bundle / "data").is_dir():
            data_args += ["-d", str(bundle / "data")]

        def one(p: Path) -> dict:
            out = subprocess.run([args.opa, "eval", *data_args, "-i", str(p), "--format", "raw", "data.seg_bench.summary"],
                                 check=True, capture_output=True, text=True)
            return json.loads(out.stdout)

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            results = list(pool.map(one, batches))
        wall = time.monotonic() - started
    counts: dict[str, int] = {}
    for r in results:
        for k, v in r["counts"].items():
            counts[k] = counts.get(k, 0) + v
    print(json.dumps({"wall_seconds": round(wall, 3), "items": len(items), "batches": len(batches),
                      "evaluations": sum(r["evaluations"] for r in results), "counts": counts}))


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate")
    g.add_argument("--bundle", required=True)
    g.add_argument("--demo", required=True)
    g.add_argument("--count", type=int, required=True)
    g.add_argument("--out", required=True)
    o = sub.add_parser("opa")
    o.add_argument("--opa", required=True)
    o.add_argument("--bundle", required=True)
    o.add_argument("--inventory", required=True)
    o.add_argument("--at", required=True)
    o.add_argument("--batch", type=int, default=10000)
    o.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    generate(args) if args.cmd == "generate" else run_opa(args)


if __name__ == "__main__":
    main()
