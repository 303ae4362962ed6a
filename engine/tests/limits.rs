//! Resource limits of a bundle load: size guards of builtins (memory limit), caps on vector
//! cases, controls and policy size, and validation of the manifest's ids and versions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use seg_engine::bundle::{rego_ident, BundleFiles};
use seg_engine::model::CheckResult;
use seg_engine::policy::{CompiledBundle, LoadOptions, PreparedResource, Trust};
use seg_engine::time::Timestamp;
use seg_engine::vectors;
use serde_json::{json, Value};

const KIND: &str = "Test::Thing";

/// One control of a test bundle: id, the policy after its `package` and `import` lines, and
/// its vector cases (`resource.configuration` and the expected result).
struct Control {
    id: String,
    body: String,
    cases: Vec<(Value, &'static str)>,
}

fn control(id: &str, body: &str, cases: Vec<(Value, &'static str)>) -> Control {
    Control {
        id: id.to_string(),
        body: body.to_string(),
        cases,
    }
}

fn manifest(bundle_id: &str, controls: &[(&str, &str)]) -> Value {
    json!({
        "schema_version": "seg.bundle/v1",
        "id": bundle_id,
        "version": "1.0.0",
        "title": "Limits test bundle",
        "provider": "aws",
        "benchmark": { "name": "Limits", "version": "1.0.0" },
        "target_kinds": [KIND],
        "input_schema": { "type": "object" },
        "controls": controls.iter().map(|(id, version)| json!({
            "id": id,
            "version": version,
            "title": "t",
            "description": "d",
            "severity": "low",
            "target_kinds": [KIND],
        })).collect::<Vec<_>>(),
    })
}

fn files_of(controls: &[Control]) -> BundleFiles {
    let mut f = BundleFiles::new();
    let ids: Vec<(&str, &str)> = controls.iter().map(|c| (c.id.as_str(), "1.0.0")).collect();
    f.insert("manifest.json", serde_json::to_vec(&manifest("t", &ids)).unwrap())
        .unwrap();
    for c in controls {
        let policy = format!(
            "package seg.t.{}\n\nimport rego.v1\n\n{}\n",
            rego_ident(&c.id),
            c.body
        );
        f.insert(&format!("policies/{}.rego", c.id), policy.into_bytes())
            .unwrap();
        let cases: Vec<Value> = c
            .cases
            .iter()
            .enumerate()
            .map(|(i, (config, expect))| {
                json!({
                    "name": format!("case {i}"),
                    "resource": { "resourceType": KIND, "configuration": config },
                    "expect": expect,
                })
            })
            .collect();
        f.insert(
            &format!("tests/{}.json", c.id),
            serde_json::to_vec(&json!({ "control": c.id, "cases": cases })).unwrap(),
        )
        .unwrap();
    }
    f
}

fn opts() -> LoadOptions {
    LoadOptions::new(Trust::AllowUnsigned(Vec::new()))
}

fn load_err(files: &BundleFiles, opts: &LoadOptions) -> String {
    match CompiledBundle::load(files, opts) {
        Ok(_) => panic!("the bundle loaded"),
        Err(e) => e.to_string(),
    }
}

fn at() -> Timestamp {
    Timestamp::parse("2026-01-01T00:00:00Z").unwrap()
}

fn resource(config: Value) -> PreparedResource {
    PreparedResource::new(&json!({ "resourceType": KIND, "configuration": config }))
}

/// `s0 := "x"` and `s<i> := <step>` for i in 1..=n, where the step refers to `prev`.
fn chain(n: usize, first: &str, step: &str) -> String {
    let mut out = format!("s0 := {first}\n");
    for i in 1..=n {
        let prev = format!("s{}", i - 1);
        out.push_str(&format!("s{i} := {}\n", step.replace("prev", &prev)));
    }
    out
}

#[test]
fn a_vector_case_calling_a_huge_numbers_range_fails_the_load_naming_the_control() {
    let files = files_of(&[control(
        "huge-range",
        r#"decision := {"result": "pass", "message": sprintf("%d numbers", [count(numbers.range(1, 10000000000))])}"#,
        vec![(json!({}), "pass")],
    )]);
    let e = load_err(&files, &opts());
    for want in [
        "control huge-range",
        "numbers.range",
        "10000000000 elements",
        "too large",
        "memory limit",
    ] {
        assert!(e.contains(want), "{want:?} missing in: {e}");
    }
    assert!(
        e.contains("policies/huge-range.rego:"),
        "names the place in the policy: {e}"
    );
}

#[test]
fn a_huge_range_at_scan_time_is_an_error_naming_the_control_in_the_vm_and_the_interpreter() {
    let files = files_of(&[control(
        "input-range",
        r#"decision := {"result": "pass", "message": sprintf("%d numbers", [count(numbers.range(1, input.resource.configuration.n))])}"#,
        vec![(json!({"n": 3}), "pass"), (json!({"n": 10}), "pass")],
    )]);
    let mut bundle = CompiledBundle::load(&files, &opts()).unwrap();
    assert_eq!(bundle.compiled_controls(), 1, "the guarded call runs in the VM");
    for vm in [true, false] {
        if !vm {
            bundle.disable_vm();
        }
        let mut ev = bundle.evaluator();
        let small = ev
            .try_evaluate(0, &resource(json!({"n": 5})), None, at())
            .unwrap();
        assert_eq!(small.result, CheckResult::Pass, "{}", small.message);
        assert_eq!(small.message, "5 numbers");
        let e = ev
            .try_evaluate(0, &resource(json!({"n": 10_000_000_000u64})), None, at())
            .unwrap_err()
            .to_string();
        for want in [
            "control input-range",
            "numbers.range",
            "too large",
            "memory limit of 268435456 bytes",
        ] {
            assert!(e.contains(want), "vm={vm}: {want:?} missing in: {e}");
        }
        let d = ev.evaluate(0, &resource(json!({"n": 10_000_000_000u64})), None, at());
        assert_eq!(d.result, CheckResult::Error);
        assert!(d.message.contains("memory limit"), "{}", d.message);
        // The evaluator is still usable afterwards.
        let again = ev.evaluate(0, &resource(json!({"n": 2})), None, at());
        assert_eq!(again.message, "2 numbers", "vm={vm}");
    }
}

#[test]
fn a_string_doubled_by_concat_is_refused_at_the_limit() {
    // 2^40 bytes without a bound; refused once a result would pass 1 MiB (s21).
    let body = chain(40, "\"x\"", "concat(\"\", [prev, prev])")
        + "decision := {\"result\": \"pass\", \"message\": sprintf(\"%d\", [count(s40)])}";
    let files = files_of(&[control("doubling", &body, vec![(json!({}), "pass")])]);
    let mut o = opts();
    o.memory_limit_bytes = Some(1 << 20);
    let e = load_err(&files, &o);
    for want in [
        "control doubling",
        "concat: joining 2 strings",
        "an estimated 2097152 bytes",
        "memory limit of 1048576",
    ] {
        assert!(e.contains(want), "{want:?} missing in: {e}");
    }
}

#[test]
fn an_array_doubled_by_array_concat_is_refused_at_the_limit() {
    let body = chain(40, "[1]", "array.concat(prev, prev)")
        + "decision := {\"result\": \"pass\", \"message\": sprintf(\"%d\", [count(s40)])}";
    let files = files_of(&[control("array-doubling", &body, vec![(json!({}), "pass")])]);
    let mut o = opts();
    o.memory_limit_bytes = Some(1 << 20);
    let e = load_err(&files, &o);
    assert!(e.contains("control array-doubling"), "{e}");
    assert!(e.contains("array.concat") && e.contains("memory limit"), "{e}");
}

#[test]
fn joining_a_comprehension_of_shared_strings_is_refused() {
    // A 64 KiB string referenced 100,000 times costs 2.4 MB as an array, 6.5 GB once joined or
    // formatted.
    let base = chain(16, "\"x\"", "concat(\"\", [prev, prev])");
    for (id, expr) in [
        ("join", "concat(\",\", many)"),
        ("format", "sprintf(\"%v\", [many])"),
        ("marshal", "json.marshal(many)"),
    ] {
        let body = format!(
            "{base}many := [s16 | some _ in numbers.range(1, 100000)]\n\
             decision := {{\"result\": \"pass\", \"message\": sprintf(\"%d\", [count({expr})])}}"
        );
        let files = files_of(&[control(id, &body, vec![(json!({}), "pass")])]);
        let e = load_err(&files, &opts());
        assert!(e.contains(&format!("control {id}")), "{e}");
        assert!(
            e.contains("too large for the memory limit of 268435456 bytes"),
            "{e}"
        );
    }
}

#[test]
fn a_huge_sprintf_width_is_refused() {
    let files = files_of(&[control(
        "wide",
        r#"decision := {"result": "pass", "message": sprintf("%2000000000d", [1])}"#,
        vec![(json!({}), "pass")],
    )]);
    let e = load_err(&files, &opts());
    assert!(
        e.contains("control wide") && e.contains("sprintf") && e.contains("memory limit"),
        "{e}"
    );
}

#[test]
fn a_decision_that_would_copy_shared_values_is_refused() {
    let body = chain(16, "\"x\"", "concat(\"\", [prev, prev])")
        + "decision := {\"result\": \"pass\", \"message\": \"m\", \"evidence\": [s16 | some _ in numbers.range(1, 100000)]}";
    let files = files_of(&[control("fat-decision", &body, vec![(json!({}), "pass")])]);
    let e = load_err(&files, &opts());
    assert!(
        e.contains("control fat-decision") && e.contains("decision: as JSON"),
        "{e}"
    );
    assert!(e.contains("memory limit"), "{e}");
}

#[test]
fn without_a_memory_limit_the_guards_are_off() {
    // Under the default limit this is refused; without one, regorus runs it (small enough here).
    let body = chain(21, "\"x\"", "concat(\"\", [prev, prev])")
        + "decision := {\"result\": \"pass\", \"message\": sprintf(\"%d\", [count(s21)])}";
    let files = files_of(&[control("doubling", &body, vec![(json!({}), "pass")])]);
    let mut o = opts();
    o.memory_limit_bytes = Some(1 << 20);
    assert!(CompiledBundle::load(&files, &o).is_err());
    o.memory_limit_bytes = None;
    let bundle = CompiledBundle::load(&files, &o).unwrap();
    let d = bundle.evaluator().evaluate(0, &resource(json!({})), None, at());
    assert_eq!(d.message, "2097152");
}

#[test]
fn guarded_builtins_give_regorus_results_in_the_vm_and_the_interpreter() {
    let compiled = r#"
c := input.resource.configuration
decision := {"result": "pass", "message": msg} if {
	parts := split(c.s, ",")
	joined := concat("+", parts)
	n := count(numbers.range(1, c.n))
	stepped := numbers.range_step(0, 10, 5)
	both := array.concat(parts, ["z"])
	msg := sprintf("%s %d %v %v %s %s %s", [joined, n, stepped, both, json.marshal({"a": c.n}), replace(c.s, ",", ";"), format_int(c.n, 2)])
}
"#;
    // regorus does not compile `walk` with an output argument: interpreter only.
    let walked = r#"
decision := {"result": "pass", "message": sprintf("%d", [count([p | walk(input.resource, [p, _])])])}
"#;
    let cases = vec![
        (json!({"s": "a,b", "n": 3}), "pass"),
        (json!({"s": "x", "n": 1}), "pass"),
    ];
    let files = files_of(&[
        control("plain", compiled, cases.clone()),
        control("walked", walked, cases),
    ]);
    let r = resource(json!({"s": "a,b", "n": 3}));
    let mut o = opts();
    o.memory_limit_bytes = None;
    let plain = CompiledBundle::load(&files, &o).unwrap();
    assert_eq!(plain.compiled_controls(), 1);
    let want: Vec<_> = (0..2)
        .map(|i| plain.evaluator().evaluate(i, &r, None, at()))
        .collect();
    assert_eq!(want[0].result, CheckResult::Pass, "{}", want[0].message);
    assert!(
        want[0].message.starts_with("a+b 3 [0, 5, 10] "),
        "{}",
        want[0].message
    );
    assert_eq!(want[1].result, CheckResult::Pass, "{}", want[1].message);

    let mut bundle = CompiledBundle::load(&files, &opts()).unwrap();
    assert_eq!(bundle.compiled_controls(), 1, "the guarded calls run in the VM");
    for how in ["vm", "interpreter"] {
        let got: Vec<_> = (0..2)
            .map(|i| bundle.evaluator().evaluate(i, &r, None, at()))
            .collect();
        assert_eq!(got, want, "{how}");
        bundle.disable_vm();
    }
}

#[test]
fn arguments_regorus_would_panic_on_make_the_call_undefined() {
    let body = r#"
decision := {"result": "error", "message": "undefined"} if {
	not numbers.range_step(1, 10, 0)
	not numbers.range_step(1, 10, -1)
	not sprintf("%\u0663d", [1])
} else := {"result": "pass", "message": "defined"}
"#;
    let files = files_of(&[control("zero-step", body, vec![(json!({}), "error")])]);
    let mut bundle = CompiledBundle::load(&files, &opts()).unwrap();
    for _ in [true, false] {
        let d = bundle.evaluator().evaluate(0, &resource(json!({})), None, at());
        assert_eq!(d.message, "undefined");
        bundle.disable_vm();
    }
}

#[test]
fn a_policy_calling_an_unboundable_builtin_does_not_load() {
    let files = files_of(&[control(
        "paths",
        r#"decision := {"result": "pass", "message": sprintf("%d", [count(graph.reachable_paths({"a": ["b"]}, {"a"}))])}"#,
        vec![(json!({}), "pass")],
    )]);
    let e = load_err(&files, &opts());
    assert!(
        e.contains("policies/paths.rego:5: graph.reachable_paths cannot be bounded"),
        "{e}"
    );
    // Nor through a function replaced by it.
    let replaced = files_of(&[control(
        "replaced",
        "f(g, s) := {}\n\ndecision := {\"result\": \"pass\", \"message\": sprintf(\"%d\", [count(f({\"a\": [\"b\"]}, {\"a\"}) with f as graph.reachable_paths)])}",
        vec![(json!({}), "pass")],
    )]);
    let e = load_err(&replaced, &opts());
    assert!(
        e.contains("policies/replaced.rego:7: graph.reachable_paths cannot be bounded"),
        "{e}"
    );
    let mut o = opts();
    o.memory_limit_bytes = None;
    CompiledBundle::load(&files, &o).unwrap();
}

#[test]
fn the_number_of_vector_cases_is_capped_over_the_whole_bundle() {
    let ok = r#"decision := {"result": "pass", "message": "ok"}"#;
    let files = files_of(&[
        control("one", ok, vec![(json!({}), "pass"); 3]),
        control("two", ok, vec![(json!({}), "pass"); 2]),
    ]);
    let mut o = opts();
    o.max_vector_cases = 5;
    CompiledBundle::load(&files, &o).unwrap();
    o.max_vector_cases = 4;
    let e = load_err(&files, &o);
    assert!(e.contains("5 vector cases") && e.contains("limit of 4"), "{e}");
}

#[test]
fn the_number_of_controls_is_capped() {
    let ok = r#"decision := {"result": "pass", "message": "ok"}"#;
    let files = files_of(&[
        control("one", ok, vec![]),
        control("two", ok, vec![]),
        control("three", ok, vec![]),
    ]);
    let mut o = opts();
    o.max_controls = 3;
    CompiledBundle::load(&files, &o).unwrap();
    o.max_controls = 2;
    let e = load_err(&files, &o);
    assert!(
        e.contains("manifest.json: controls: 3 controls") && e.contains("limit of 2"),
        "{e}"
    );
}

#[test]
fn the_size_of_a_policy_is_capped() {
    let padding = format!("# {}\n", "x".repeat(100)).repeat(20);
    let body = padding + r#"decision := {"result": "pass", "message": "ok"}"#;
    let files = files_of(&[control("padded", &body, vec![])]);
    let size = files.get("policies/padded.rego").unwrap().len();
    let mut o = opts();
    o.max_policy_bytes = size;
    CompiledBundle::load(&files, &o).unwrap();
    o.max_policy_bytes = size - 1;
    let e = load_err(&files, &o);
    assert!(
        e.contains(&format!(
            "policies/padded.rego: {size} bytes, more than the limit of {}",
            size - 1
        )),
        "{e}"
    );
}

fn with_manifest(m: &Value) -> BundleFiles {
    let mut f = files_of(&[]);
    f.insert("manifest.json", serde_json::to_vec(m).unwrap()).unwrap();
    f
}

#[test]
fn control_ids_and_versions_are_validated_naming_the_field() {
    let long = "a".repeat(129);
    let cases: Vec<(Value, &str)> = vec![
        (
            manifest("t", &[("ok", "1.0.0"), ("Upper", "1.0.0")]),
            "controls[1].id: \"Upper\"",
        ),
        (manifest("t", &[("a/b", "1.0.0")]), "controls[0].id: \"a/b\""),
        (manifest("t", &[("-a", "1.0.0")]), "controls[0].id: \"-a\""),
        (manifest("t", &[("a.", "1.0.0")]), "controls[0].id: \"a.\""),
        (manifest("t", &[("", "1.0.0")]), "controls[0].id: \"\""),
        (
            manifest("t", &[(long.as_str(), "1.0.0")]),
            "controls[0].id: \"aaaa",
        ),
        (
            manifest("t", &[("ok", "1.0")]),
            "controls[0].version: \"1.0\" is not a semantic version",
        ),
        (
            manifest("t", &[("ok", "1.0.0"), ("ok", "2.0.0")]),
            "controls[1].id: \"ok\" is also the id of controls[0]",
        ),
        (
            manifest("t", &[("a-b", "1.0.0"), ("a.b", "1.0.0")]),
            "controls[1].id: \"a.b\" has the same Rego package segment \"a_b\" as controls[0].id \"a-b\"",
        ),
        (
            manifest("Bad_Id", &[("ok", "1.0.0")]),
            "manifest.json: id: \"Bad_Id\"",
        ),
        (
            manifest(&"b".repeat(64), &[("ok", "1.0.0")]),
            "manifest.json: id: \"bbbb",
        ),
        (
            manifest("t", &[])
                .as_object()
                .map(|m| {
                    let mut m = m.clone();
                    m.insert("version".into(), json!("v1"));
                    Value::Object(m)
                })
                .unwrap(),
            "manifest.json: version: \"v1\" is not a semantic version",
        ),
    ];
    for (m, want) in cases {
        let e = load_err(&with_manifest(&m), &opts());
        assert!(e.contains(want), "{want:?} missing in: {e}");
        if want.starts_with("controls") {
            assert!(e.contains(&format!("manifest.json: {want}")), "{e}");
        }
    }
    // The longest valid ids, dots and digits are accepted.
    let ok = "a".repeat(128);
    let m = manifest(
        &"b".repeat(63),
        &[(ok.as_str(), "1.0.0"), ("s3.bucket-1", "0.1.0-rc.1")],
    );
    seg_engine::bundle::Manifest::parse(&with_manifest(&m)).unwrap();
}

#[test]
fn the_built_in_bundle_loads_with_every_control_compiled_and_its_vectors_pass() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policy-bundles/cis-aws-foundations");
    let mut files = BundleFiles::new();
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(&root)
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .replace('\\', "/");
                files.insert(&rel, std::fs::read(&p).unwrap()).unwrap();
            }
        }
    }
    let bundle = CompiledBundle::load(&files, &opts()).unwrap();
    assert_eq!(bundle.compiled_controls(), bundle.controls.len());
    let results = vectors::run(&bundle, &files).unwrap();
    for cv in &results {
        for c in &cv.cases {
            assert!(c.failure.is_none(), "{} / {}: {:?}", c.control, c.case, c.failure);
        }
    }
}
