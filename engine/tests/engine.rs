//! The core end to end on a small fixture bundle: load, verify, vectors, scan, OCSF.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::Duration;

use ed25519_dalek::SigningKey;
use seg_engine::bundle::{BundleFiles, CHECKSUMS, SIGNATURE};
use seg_engine::inventory::parse_jsonl;
use seg_engine::lint::lint;
use seg_engine::model::CheckResult;
use seg_engine::ocsf::{self, Producer};
use seg_engine::policy::{CompiledBundle, LoadOptions, SignatureStatus, Trust};
use seg_engine::scan::{scan, ScanOptions};
use seg_engine::time::Timestamp;
use seg_engine::vectors;

fn read_dir(root: &Path) -> BundleFiles {
    let mut files = BundleFiles::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_str().unwrap().replace('\\', "/");
                files.insert(&rel, std::fs::read(&p).unwrap()).unwrap();
            }
        }
    }
    files
}

fn mini() -> BundleFiles {
    read_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mini"))
}

fn key() -> SigningKey {
    SigningKey::from_bytes(&[42; 32])
}

fn signed() -> BundleFiles {
    let mut f = mini();
    let (c, s) = f.sign(&key()).unwrap();
    f.insert(CHECKSUMS, c.into_bytes()).unwrap();
    f.insert(SIGNATURE, s.into_bytes()).unwrap();
    f
}

fn load(files: &BundleFiles) -> CompiledBundle {
    CompiledBundle::load(files, &LoadOptions::new(Trust::Keys(vec![key().verifying_key()]))).unwrap()
}

fn ci(id: &str, extra: &str) -> String {
    format!(
        r#"{{"version":"1.3","accountId":"111122223333","configurationItemCaptureTime":"2026-11-20T10:00:00Z","configurationItemStatus":"OK","resourceType":"AWS::S3::Bucket","resourceId":"{id}","resourceName":"{id}","awsRegion":"us-east-1","arn":"arn:aws:s3:::{id}","configuration":{{"name":{extra}}}}}"#
    )
}

fn inventory(n: usize) -> String {
    let mut s = String::new();
    for i in 0..n {
        let line = ci(&format!("bucket-{i:04}"), &format!("\"bucket-{i:04}\""));
        if i % 3 == 0 {
            s.push_str(&line.replacen(
                r#""configuration":"#,
                r#""supplementaryConfiguration":{"ServerSideEncryptionConfiguration":{"rules":[{"applyServerSideEncryptionByDefault":{"sseAlgorithm":"AES256"}}]}},"configuration":"#,
                1,
            ));
        } else {
            s.push_str(&line);
        }
        s.push('\n');
    }
    // One asset whose policy evaluation errors must not abort the scan.
    s.push_str(&ci("broken", "7"));
    s.push('\n');
    s
}

#[test]
fn the_fixture_bundle_lints_clean_and_its_vectors_pass() {
    let files = signed();
    assert_eq!(lint(&files, Some("mini")), vec![]);
    let bundle = load(&files);
    assert!(matches!(bundle.signature, SignatureStatus::Verified { .. }));
    let results = vectors::run(&bundle, &files).unwrap();
    assert_eq!(results.len(), 2);
    for cv in &results {
        for c in &cv.cases {
            assert!(c.failure.is_none(), "{} / {}: {:?}", c.control, c.case, c.failure);
        }
    }
}

#[test]
fn a_wrong_vector_expectation_is_reported_as_a_failure() {
    let mut files = mini();
    let text = files
        .text("tests/slow-control.json")
        .unwrap()
        .replace(r#""expect": "fail""#, r#""expect": "pass""#);
    files
        .insert("tests/slow-control.json", text.into_bytes())
        .unwrap();
    let bundle = CompiledBundle::load(&files, &LoadOptions::new(Trust::AllowUnsigned(vec![]))).unwrap();
    assert!(matches!(bundle.signature, SignatureStatus::Unverified { .. }));
    let results = vectors::run(&bundle, &files).unwrap();
    let failures: Vec<_> = results
        .iter()
        .flat_map(|c| &c.cases)
        .filter(|c| c.failure.is_some())
        .collect();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].case, "zero loops fail");
}

#[test]
fn tampering_with_any_file_refuses_to_load_and_names_the_file() {
    let good = signed();
    let paths: Vec<String> = good
        .paths()
        .filter(|p| *p != CHECKSUMS && *p != SIGNATURE)
        .map(String::from)
        .collect();
    for path in paths {
        let mut bad = good.clone();
        let mut bytes = bad.get(&path).unwrap().to_vec();
        bytes[0] ^= 0x01;
        bad.insert(&path, bytes).unwrap();
        let err = CompiledBundle::load(&bad, &LoadOptions::new(Trust::Keys(vec![key().verifying_key()])))
            .unwrap_err();
        assert!(err.to_string().contains(&path), "{path}: {err}");
        assert_eq!(err.code(), "SEG_POLICY_LOAD_FAILED");
    }
    let mut bad_sig = good.clone();
    let text = bad_sig.text(SIGNATURE).unwrap().to_string();
    let flipped = if text.contains("\"sig\": \"A") {
        text.replacen("\"sig\": \"A", "\"sig\": \"B", 1)
    } else {
        text.replacen("\"sig\": \"", "\"sig\": \"A", 1)
    };
    bad_sig.insert(SIGNATURE, flipped.into_bytes()).unwrap();
    assert!(CompiledBundle::load(
        &bad_sig,
        &LoadOptions::new(Trust::Keys(vec![key().verifying_key()]))
    )
    .is_err());
}

#[test]
fn scans_are_deterministic_across_worker_counts_and_errors_do_not_abort() {
    let bundle = load(&signed());
    let inv = parse_jsonl(&inventory(3000));
    assert!(inv.problems.is_empty());
    let at = Timestamp::parse("2026-11-23T00:00:00Z").unwrap();
    let producer = Producer {
        name: "seg".into(),
        vendor_name: "test".into(),
        version: "0".into(),
        bundle_digest: bundle.digest.clone(),
        bundle_signature: "verified:test".into(),
    };
    let mut outputs = Vec::new();
    for workers in [1, 2, 4] {
        let mut opts = ScanOptions::new(at);
        opts.workers = workers;
        let report = scan(&bundle, &inv.items, &opts);
        assert_eq!(report.count("evaluations"), 3001);
        assert_eq!(report.count("pass"), 1000);
        assert_eq!(report.count("fail"), 2000);
        assert_eq!(report.count("error"), 1);
        assert_eq!(report.count("fail.high"), 2000);
        let broken = report
            .eval
            .findings
            .iter()
            .find(|f| f.asset.urn.ends_with("/broken"))
            .unwrap();
        assert_eq!(broken.result, CheckResult::Error);
        // The chunked, multi-threaded writer (chunks of 2048 events) gives the same bytes.
        let mut written = Vec::new();
        ocsf::write_jsonl(&report, &bundle.controls, &producer, workers, &mut written).unwrap();
        assert_eq!(
            String::from_utf8(written).unwrap(),
            ocsf::to_jsonl(&report, &bundle.controls, &producer)
        );
        outputs.push(ocsf::to_jsonl(&report, &bundle.controls, &producer));
    }
    assert_eq!(outputs[0], outputs[1]);
    assert_eq!(outputs[0], outputs[2]);
    let first: serde_json::Value = serde_json::from_str(outputs[0].lines().next().unwrap()).unwrap();
    assert_eq!(first["class_uid"], 2003);
    assert_eq!(first["compliance"]["standards"][0], "Mini Benchmark v1.0.0");
    assert_eq!(first["time"], at.unix_millis());
}

#[test]
fn progress_counters_reach_the_totals_and_do_not_change_the_result() {
    let bundle = load(&signed());
    let inv = parse_jsonl(&inventory(500));
    let at = Timestamp::parse("2026-11-23T00:00:00Z").unwrap();
    let plain = scan(&bundle, &inv.items, &ScanOptions::new(at));
    for workers in [1, 2] {
        let progress = std::sync::Arc::new(seg_engine::scan::Progress::default());
        let mut opts = ScanOptions::new(at);
        opts.workers = workers;
        opts.progress = Some(progress.clone());
        assert_eq!(progress.snapshot(), Default::default());
        let report = scan(&bundle, &inv.items, &opts);
        let p = progress.snapshot();
        assert_eq!(p.evaluations_total, report.count("evaluations"));
        assert_eq!(p.evaluations_done, p.evaluations_total);
        assert_eq!(p.assets_total, report.count("assets"));
        assert_eq!(p.assets_done, p.assets_total);
        assert!(p.assets_total > 0);
        assert_eq!(report, plain);
    }
}

#[test]
fn the_evaluation_time_limit_turns_a_runaway_policy_into_an_error() {
    let mut opts = LoadOptions::new(Trust::Keys(vec![key().verifying_key()]));
    opts.time_limit = Duration::from_millis(1);
    let bundle = CompiledBundle::load(&signed(), &opts).unwrap();
    let line = r#"{"accountId":"111122223333","configurationItemCaptureTime":"2026-11-20T10:00:00Z","resourceType":"Test::Slow","resourceId":"s","awsRegion":"us-east-1","configuration":{"loops":3000000}}"#;
    let inv = parse_jsonl(line);
    let report = scan(
        &bundle,
        &inv.items,
        &ScanOptions::new(Timestamp::parse("2026-11-23T00:00:00Z").unwrap()),
    );
    let f = &report.eval.findings[0];
    assert_eq!(f.result, CheckResult::Error, "{}", f.message);
}

#[test]
fn control_selection_narrows_the_scan_and_rejects_unknown_ids() {
    let files = signed();
    let mut opts = LoadOptions::new(Trust::Keys(vec![key().verifying_key()]));
    opts.controls = vec!["slow-control".into()];
    let bundle = CompiledBundle::load(&files, &opts).unwrap();
    assert_eq!(bundle.controls.len(), 1);
    assert!(bundle.controls_for_kind("AWS::S3::Bucket").is_empty());
    opts.controls = vec!["nope".into()];
    let err = CompiledBundle::load(&files, &opts).unwrap_err().to_string();
    assert!(err.contains("nope"), "{err}");
}

#[test]
fn lint_rejects_a_policy_with_a_forbidden_builtin_and_thin_vectors() {
    let mut files = mini();
    let policy = files.text("policies/slow-control.rego").unwrap().to_string() + "\nnow := time.now_ns()\n";
    files
        .insert("policies/slow-control.rego", policy.into_bytes())
        .unwrap();
    files
        .insert(
            "tests/bucket-encrypted.json",
            br#"{"control":"bucket-encrypted","cases":[]}"#.to_vec(),
        )
        .unwrap();
    files
        .insert("policies/stray.rego", b"package x".to_vec())
        .unwrap();
    let problems: Vec<String> = lint(&files, Some("mini")).iter().map(|p| p.to_string()).collect();
    let joined = problems.join("\n");
    assert!(
        joined.contains("policies/slow-control.rego:15: forbidden builtin time.now_ns"),
        "{joined}"
    );
    assert!(
        joined.contains("tests/bucket-encrypted.json: 0 case(s)"),
        "{joined}"
    );
    assert!(joined.contains("no case expects pass"), "{joined}");
    assert!(joined.contains("policies/stray.rego"), "{joined}");
}
