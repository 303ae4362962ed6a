use std::path::{Path, PathBuf};

use super::*;

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn committed_yaml_matches_the_types() {
    let mut drifted = Vec::new();
    for (name, text) in crd_files().unwrap() {
        let path = crate_dir().join(&name);
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed != text {
            drifted.push(name);
        }
    }
    assert!(
        drifted.is_empty(),
        "crds/{} differ from the Rust types in crds/src; regenerate them with \
         `cargo run -p seg -- crds --write crds` and commit the result",
        drifted.join(", crds/")
    );
}

#[test]
fn yaml_files_are_every_yaml_of_the_folder_in_order() {
    let mut on_disk: Vec<String> = std::fs::read_dir(crate_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    on_disk.sort();
    let generated: Vec<String> = crd_files().unwrap().into_iter().map(|(n, _)| n).collect();
    assert_eq!(on_disk, generated);
    let all = all_crds_yaml().unwrap();
    assert_eq!(all.matches("\n---\n").count() + 1, 3);
    assert!(all.starts_with("---\n"));
}

#[test]
fn crds_have_group_version_names_and_subresources() {
    for crd in crds() {
        assert_eq!(crd.spec.group, GROUP);
        assert_eq!(crd.spec.scope, "Namespaced");
        assert_eq!(crd.spec.names.categories, Some(vec![CATEGORY.to_owned()]));
        assert_eq!(crd.spec.names.short_names.as_ref().map(Vec::len), Some(1));
        assert_eq!(crd.spec.versions.len(), 1);
        let version = &crd.spec.versions[0];
        assert_eq!(version.name, VERSION);
        assert!(version.served && version.storage);
        let status = version.subresources.as_ref().and_then(|s| s.status.as_ref());
        assert!(
            status.is_some(),
            "{} has no status subresource",
            crd.spec.names.kind
        );
        assert!(version
            .additional_printer_columns
            .as_ref()
            .is_some_and(|c| c.len() >= 5));
    }
}

/// Every property of the schemas has a description (it is what `kubectl explain` shows).
#[test]
fn every_field_is_documented() {
    fn walk(path: &str, schema: &serde_json::Value, missing: &mut Vec<String>) {
        if let Some(props) = schema.get("properties").and_then(|p| p.as_object()) {
            for (name, sub) in props {
                let p = format!("{path}.{name}");
                let top = matches!(p.as_str(), ".apiVersion" | ".kind" | ".metadata");
                if sub
                    .get("description")
                    .and_then(|d| d.as_str())
                    .is_none_or(str::is_empty)
                    && !top
                {
                    missing.push(p.clone());
                }
                walk(&p, sub, missing);
            }
        }
        if let Some(items) = schema.get("items") {
            walk(&format!("{path}[]"), items, missing);
        }
    }
    for crd in crds() {
        let schema = serde_json::to_value(&crd.spec.versions[0].schema).unwrap();
        let mut missing = Vec::new();
        walk("", &schema["openAPIV3Schema"], &mut missing);
        assert!(
            missing.is_empty(),
            "{}: undocumented {missing:?}",
            crd.spec.names.kind
        );
    }
}

#[test]
fn finding_name_is_a_stable_dns_1123_name() {
    let fp = "3b0c4f5e8a9d1c2b7e6f5a4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b";
    assert_eq!(finding_name("demo", fp), finding_name("demo", fp));
    assert_eq!(
        finding_name("demo", &fp.to_ascii_uppercase()),
        finding_name("demo", fp)
    );
    assert_ne!(
        finding_name("demo", fp),
        finding_name("nightly", fp),
        "two Scans never share a Finding"
    );
    assert_ne!(finding_name("ab", "c"), finding_name("a", "bc"));
    for input in [fp, "", "NOT-HEX/../x", "ä"] {
        let name = finding_name("s", input);
        assert_eq!(name.len(), 2 + FINDING_NAME_HEX, "{input}");
        assert!(name.starts_with("f-"));
        assert!(name
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase() || b == b'-'));
    }
}

fn example(name: &str) -> PathBuf {
    crate_dir().join("../examples").join(name)
}

/// The documents of an example file, as JSON values.
fn documents(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap();
    let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(&text).unwrap();
    docs.into_iter().filter(|d| !d.is_null()).collect()
}

/// Every example of a kind of ours parses into the Rust type and serializes back to the same
/// document (no field lost or renamed on the way).
#[test]
fn examples_round_trip_through_the_types() {
    let mut seen = std::collections::BTreeMap::<String, usize>::new();
    let dir = crate_dir().join("../examples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    for path in files {
        for doc in documents(&path) {
            let kind = doc["kind"].as_str().unwrap_or_default().to_owned();
            let mut expected = doc.clone();
            let back = match kind.as_str() {
                "Benchmark" => round_trip::<Benchmark>(&doc),
                "Scan" => {
                    // The defaults that the apiserver fills in are filled in by serde too.
                    let spec = expected["spec"].as_object_mut().unwrap();
                    spec.entry("suspend").or_insert(serde_json::json!(false));
                    spec.entry("limits")
                        .or_insert(serde_json::json!({"maxFindings": DEFAULT_MAX_FINDINGS}));
                    round_trip::<Scan>(&doc)
                }
                "Finding" => round_trip::<Finding>(&doc),
                _ => continue,
            };
            assert_eq!(back, expected, "{} ({kind}) does not round-trip", path.display());
            assert_eq!(doc["apiVersion"], API_VERSION);
            *seen.entry(kind).or_default() += 1;
        }
    }
    for kind in ["Benchmark", "Scan", "Finding"] {
        assert!(seen.contains_key(kind), "no example of {kind}: {seen:?}");
    }
}

fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(
    doc: &serde_json::Value,
) -> serde_json::Value {
    let typed: T = serde_json::from_value(doc.clone()).unwrap();
    serde_json::to_value(&typed).unwrap()
}

#[test]
fn examples_use_defaults_and_references_as_documented() {
    let scan: Scan = serde_json::from_value(documents(&example("scan-aws.yaml"))[0].clone()).unwrap();
    assert_eq!(scan.spec.provider, Provider::Aws);
    assert!(scan.spec.aws.is_some() && scan.spec.credentials.is_some());
    assert!(scan.spec.schedule.is_some());

    let scan: Scan = serde_json::from_value(
        documents(&example("scan-inventory.yaml"))
            .into_iter()
            .find(|d| d["kind"] == "Scan")
            .unwrap(),
    )
    .unwrap();
    assert_eq!(scan.spec.provider, Provider::Inventory);
    assert!(scan.spec.credentials.is_none());

    let finding: Finding =
        serde_json::from_value(documents(&example("finding-example.yaml"))[0].clone()).unwrap();
    assert_eq!(
        finding.metadata.name.as_deref(),
        Some(finding_name(&finding.spec.scan_ref.name, &finding.spec.fingerprint).as_str())
    );

    // A Scan without limits gets the default.
    let minimal: ScanSpec = serde_json::from_value(serde_json::json!({
        "benchmarkRef": {"name": "b"},
        "provider": "inventory",
        "inventory": {"path": "a.jsonl"}
    }))
    .unwrap();
    assert_eq!(minimal.limits.max_findings, DEFAULT_MAX_FINDINGS);
    assert!(!minimal.suspend);
}

#[test]
fn conditions_are_found_by_type() {
    let ready = Condition {
        type_: condition_type::READY.to_owned(),
        status: ConditionStatus::True,
        reason: "Loaded".to_owned(),
        message: String::new(),
        last_transition_time: "2026-01-01T00:00:00Z".to_owned(),
        observed_generation: Some(1),
    };
    let json = serde_json::to_value(&ready).unwrap();
    assert_eq!(json["type"], "Ready");
    assert_eq!(json["lastTransitionTime"], "2026-01-01T00:00:00Z");
    assert!(json.get("message").is_none());
    let conditions = vec![ready];
    assert!(find_condition(&conditions, condition_type::READY).is_some());
    assert!(find_condition(&conditions, condition_type::STALLED).is_none());
}
