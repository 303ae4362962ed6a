#!/usr/bin/env python3
"""Validate OCSF JSONL files against the OCSF JSON Schemas of their declared version.

    validate_ocsf.py FILE.jsonl [FILE.jsonl ...]

Each event is validated against the schema of its class (`class_uid`) with the profiles it declares
(`metadata.profiles`), for the version in `metadata.version`, using the schemas shipped by the
`ocsf-json-schema` package and the `jsonschema` validator. Unknown attributes are errors (the
schemas are closed). Prints the first errors per file with line numbers; exits 1 on any error.
"""

from __future__ import annotations

import json
import sys

from jsonschema import Draft202012Validator
from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema


def main(paths: list[str]) -> int:
    validators: dict[tuple, Draft202012Validator] = {}
    schemas: dict[str, OcsfJsonSchemaEmbedded] = {}
    failed = 0
    total = 0
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                total += 1
                event = json.loads(line)
                version = event.get("metadata", {}).get("version", "")
                profiles = tuple(sorted(event.get("metadata", {}).get("profiles", [])))
                key = (version, event.get("class_uid"), profiles)
                if key not in validators:
                    if version not in schemas:
                        schemas[version] = OcsfJsonSchemaEmbedded(get_ocsf_schema(version=version))
                    s = schemas[version]
                    name = s.lookup_class_name_from_uid(event["class_uid"])
                    validators[key] = Draft202012Validator(s.get_class_schema(name, list(profiles)))
                errors = sorted(validators[key].iter_errors(event), key=lambda e: list(e.path))
                if errors:
                    failed += 1
                    if failed <= 10:
                        for e in errors[:5]:
                            where = "/".join(str(p) for p in e.path) or "(event)"
                            print(f"{path}:{n}: {where}: {e.message}", file=sys.stderr)
    print(f"ocsf: {total} events validated, {total - failed} passed, {failed} failed")
    return 1 if failed or total == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
