#!/usr/bin/env python3
"""Run a policy bundle's vector tests through the OPA CLI.

The input document of every case is built exactly as docs/bundle-format.md says:

    {"resource": <case resource>,
     "params":   <manifest control inputs, case params merged over them>,
     "context":  {"evaluation_time": ..., "evaluation_time_ns": ..., "bundle": ..., "control_id": ...}}

All cases of all controls are evaluated by ONE `opa eval`: a generated wrapper module evaluates
`data.<package>.decision with input as <case>` for every case, over the cases loaded as a data
document. If that batch fails (a compile error, a conflict, a builtin error under
--strict-builtin-errors), the script falls back to one `opa eval` per control, and then to one
per case for the controls that still fail, so the report names the culprit.

Exit status: 0 when every case matches, 1 on any mismatch, 2 on usage or setup errors.
Standard library only.
"""

from __future__ import annotations

import argparse
import calendar
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_EVALUATION_TIME = "2026-01-01T00:00:00Z"
RESULTS = ("pass", "fail", "warn", "not_applicable", "error")
RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)


def rfc3339_to_ns(value: str) -> int:
    """Nanoseconds since the Unix epoch, computed exactly (no float rounding)."""
    m = RFC3339.match(value)
    if not m:
        raise ValueError(f"not an RFC 3339 timestamp: {value!r}")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    frac = m.group(7)
    nanos = int((frac[1:] + "000000000")[:9]) if frac else 0
    zone = m.group(8)
    if zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return seconds * 1_000_000_000 + nanos


def package_of(bundle_id: str, control_id: str) -> str:
    return "seg.{}.{}".format(bundle_id.replace("-", "_"), control_id.replace("-", "_"))


def find_opa(script_dir: Path) -> str:
    if os.environ.get("OPA"):
        return os.environ["OPA"]
    installer = script_dir / "install-opa.sh"
    out = subprocess.run(["bash", str(installer)], check=True, capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1]


def load_json(path: Path):
    with path.open(encoding="utf-8") as fh:
        return json.load(fh)


class Bundle:
    def __init__(self, root: Path):
        self.root = root
        self.manifest = load_json(root / "manifest.json")
        self.id = self.manifest["id"]
        self.controls = {c["id"]: c for c in self.manifest["controls"]}
        self.problems: list[str] = []
        self.cases: dict[str, list[dict]] = {}
        self.inputs: dict[str, list[dict]] = {}
        for cid, control in self.controls.items():
            path = root / "tests" / f"{cid}.json"
            if not path.exists():
                self.problems.append(f"{cid}: missing tests/{cid}.json")
                self.cases[cid], self.inputs[cid] = [], []
                continue
            vectors = load_json(path)
            if vectors.get("control") != cid:
                self.problems.append(f"{cid}: tests/{cid}.json names control {vectors.get('control')!r}")
            cases = vectors.get("cases", [])
            self.cases[cid] = cases
            self.inputs[cid] = [self.input_document(cid, control, case) for case in cases]
            self.check_coverage(cid, control, cases)
        for path in sorted((root / "tests").glob("*.json")):
            if path.stem not in self.controls:
                self.problems.append(f"tests/{path.name}: no such control in manifest.json")

    def input_document(self, cid: str, control: dict, case: dict) -> dict:
        params = dict(control.get("inputs", {}))
        params.update(case.get("params", {}))
        when = case.get("evaluation_time", DEFAULT_EVALUATION_TIME)
        return {
            "resource": case["resource"],
            "params": params,
            "context": {
                "evaluation_time": when,
                "evaluation_time_ns": rfc3339_to_ns(when),
                "bundle": self.id,
                "control_id": cid,
            },
        }

    def check_coverage(self, cid: str, control: dict, cases: list[dict]) -> None:
        expects = [c.get("expect") for c in cases]
        kinds = set(control.get("target_kinds", []))
        if len(cases) < 3:
            self.problems.append(f"{cid}: {len(cases)} cases, at least 3 required")
        if "pass" not in expects:
            self.problems.append(f"{cid}: no pass case")
        if "fail" not in expects:
            self.problems.append(f"{cid}: no fail case")
        if not ({"error", "not_applicable"} & set(expects)):
            self.problems.append(f"{cid}: no error or not_applicable case")
        for case in cases:
            if case.get("expect") not in RESULTS:
                self.problems.append(f"{cid}: case {case.get('name')!r} expects {case.get('expect')!r}")
            kind = case.get("resource", {}).get("resourceType")
            if kind not in kinds:
                self.problems.append(
                    f"{cid}: case {case.get('name')!r} has resourceType {kind!r}, not a target kind"
                )


def shape_problem(decision) -> str | None:
    if not isinstance(decision, dict):
        return "decision is not an object"
    if decision.get("result") not in RESULTS:
        return f"result {decision.get('result')!r} is not one of {', '.join(RESULTS)}"
    if not isinstance(decision.get("message"), str) or not decision["message"]:
        return "message is not a non-empty string"
    evidence = decision.get("evidence")
    if not isinstance(evidence, list):
        return "evidence is not a list"
    for stub in evidence:
        if not isinstance(stub, dict) or not isinstance(stub.get("path"), str) or "value" not in stub:
            return f"evidence stub {json.dumps(stub)[:120]} lacks path/value"
        extra = set(stub) - {"path", "value", "expected"}
        if extra:
            return f"evidence stub has unexpected keys {sorted(extra)}"
    return None


class Runner:
    def __init__(self, opa: str, bundle: Bundle, workdir: Path, strict: bool):
        self.opa = opa
        self.bundle = bundle
        self.workdir = workdir
        self.strict = strict
        self.evals = 0

    def _eval(self, cids: list[str], only_case: int | None = None):
        """Evaluate the given controls (all their cases, or one case) in one opa process.

        Returns ({cid: [decision or None per case]}, None) or (None, error text)."""
        cases_doc = {}
        lines = ["package seg_vectors", "", "import rego.v1", ""]
        for cid in cids:
            inputs = self.bundle.inputs[cid]
            if only_case is not None:
                inputs = [inputs[only_case]]
            cases_doc[cid] = inputs
            pkg = package_of(self.bundle.id, cid)
            lines += [
                f"results[{json.dumps(cid)}] := [r |",
                f"\tsome i, c in data.seg_vectors.cases[{json.dumps(cid)}]",
                f"\td := data.{pkg}.decision with input as c",
                "\tr := {\"index\": i, \"decision\": d}",
                "]",
                "",
            ]
        wrapper = self.workdir / "wrapper.rego"
        wrapper.write_text("\n".join(lines), encoding="utf-8")
        cases_file = self.workdir / "cases.json"
        cases_file.write_text(json.dumps({"seg_vectors": {"cases": cases_doc}}), encoding="utf-8")
        cmd = [self.opa, "eval", "--format", "json"]
        if self.strict:
            cmd.append("--strict-builtin-errors")
        cmd += ["-d", str(self.bundle.root / "policies")]
        if (self.bundle.root / "data").is_dir():
            cmd += ["-d", str(self.bundle.root / "data")]
        cmd += ["-d", str(wrapper), "-d", str(cases_file), "data.seg_vectors.results"]
        self.evals += 1
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            return None, (proc.stdout + proc.stderr).strip()
        out = json.loads(proc.stdout)
        if out.get("errors"):
            return None, json.dumps(out["errors"])
        try:
            value = out["result"][0]["expressions"][0]["value"]
        except (KeyError, IndexError):
            value = {}
        decisions = {}
        for cid in cids:
            n = len(cases_doc[cid])
            got: list = [None] * n
            for r in value.get(cid, []):
                got[r["index"]] = r["decision"]
            decisions[cid] = got
        return decisions, None

    def run(self) -> dict[str, list[tuple[str, object]]]:
        """{cid: [("decision", d) | ("undefined", None) | ("runtime_error", text) per case]}"""
        cids = [c for c in self.bundle.controls if self.bundle.inputs[c]]
        out: dict[str, list] = {}
        decisions, err = self._eval(cids)
        if decisions is not None:
            for cid in cids:
                out[cid] = [("decision", d) if d is not None else ("undefined", None) for d in decisions[cid]]
            return out
        print(f"batch evaluation failed, retrying control by control:\n  {err[:600]}", file=sys.stderr)
        for cid in cids:
            decisions, err = self._eval([cid])
            if decisions is not None:
                out[cid] = [("decision", d) if d is not None else ("undefined", None) for d in decisions[cid]]
                continue
            row = []
            for i in range(len(self.bundle.inputs[cid])):
                decisions, err = self._eval([cid], only_case=i)
                if decisions is None:
                    row.append(("runtime_error", err))
                else:
                    d = decisions[cid][0]
                    row.append(("decision", d) if d is not None else ("undefined", None))
            out[cid] = row
        return out


def lint(opa: str, bundle_root: Path) -> str | None:
    proc = subprocess.run(
        [opa, "check", "--strict", str(bundle_root / "policies")], capture_output=True, text=True
    )
    if proc.returncode != 0:
        return (proc.stdout + proc.stderr).strip()
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bundle", type=Path, help="bundle directory (contains manifest.json)")
    parser.add_argument("--control", action="append", default=[], help="only these control ids")
    parser.add_argument("--verbose", "-v", action="store_true", help="print every case")
    parser.add_argument(
        "--no-strict-builtin-errors",
        dest="strict",
        action="store_false",
        help="let builtin errors make expressions undefined instead of failing the evaluation",
    )
    args = parser.parse_args()

    root = args.bundle.resolve()
    if not (root / "manifest.json").exists():
        print(f"{root}: no manifest.json", file=sys.stderr)
        return 2
    try:
        bundle = Bundle(root)
    except (OSError, ValueError, KeyError) as exc:
        print(f"cannot load bundle {root}: {exc}", file=sys.stderr)
        return 2
    if args.control:
        unknown = set(args.control) - set(bundle.controls)
        if unknown:
            print(f"unknown control(s): {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
        for cid in list(bundle.controls):
            if cid not in args.control:
                del bundle.controls[cid]

    opa = find_opa(Path(__file__).resolve().parent)
    version = subprocess.run([opa, "version"], capture_output=True, text=True).stdout.splitlines()[0]
    lint_error = lint(opa, root)

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="seg-opa-vectors-") as tmp:
        runner = Runner(opa, bundle, Path(tmp), args.strict)
        outcomes = runner.run()
    elapsed = time.monotonic() - started

    width = max([len(c) for c in bundle.controls] + [7])
    print(f"{'control':<{width}}  cases  passed  failed")
    print(f"{'-' * width}  -----  ------  ------")
    total = passed = 0
    mismatches: list[str] = []
    for cid in bundle.controls:
        cases = bundle.cases[cid]
        ok = 0
        for case, (kind, payload) in zip(cases, outcomes.get(cid, [])):
            name = case.get("name", "?")
            expect = case.get("expect")
            want_msg = case.get("message_contains")
            if kind == "decision":
                problem = shape_problem(payload)
                got = payload.get("result") if isinstance(payload, dict) else None
                message = payload.get("message", "") if isinstance(payload, dict) else ""
            elif kind == "undefined":
                problem, got, message = None, "error", "decision is undefined"
            else:
                problem, got, message = None, "error", "runtime error: " + " ".join(str(payload).split())[:400]
            reasons = []
            if problem:
                reasons.append(problem)
            if got != expect:
                reasons.append(f"expected {expect}, got {got}")
            if want_msg is not None and want_msg not in (message or ""):
                reasons.append(f"message lacks {want_msg!r}")
            if reasons:
                mismatches.append(f"{cid} / {name}: {'; '.join(reasons)}\n      message: {message}")
            else:
                ok += 1
            if args.verbose:
                print(f"  {'ok ' if not reasons else 'BAD'} {cid} / {name}: {got}: {message}")
        total += len(cases)
        passed += ok
        print(f"{cid:<{width}}  {len(cases):>5}  {ok:>6}  {len(cases) - ok:>6}")
    print(f"{'-' * width}  -----  ------  ------")
    print(f"{'total':<{width}}  {total:>5}  {passed:>6}  {total - passed:>6}")
    print(f"{version}; {runner.evals} opa eval process(es); {elapsed:.2f}s")

    status = 0
    if lint_error:
        print(f"\nopa check --strict failed:\n{lint_error}")
        status = 1
    if bundle.problems:
        print("\nvector file problems:")
        for p in bundle.problems:
            print(f"  {p}")
        status = 1
    if mismatches:
        print("\nmismatches:")
        for m in mismatches:
            print(f"  {m}")
        status = 1
    print(f"\n{passed} passed, {total - passed} failed")
    return status


if __name__ == "__main__":
    sys.exit(main())
