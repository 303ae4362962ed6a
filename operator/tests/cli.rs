//! The `seg` binary against the repository's own bundle and demo inventory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn seg(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_seg"))
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn bundle_dir() -> PathBuf {
    repo().join("policy-bundles/cis-aws-foundations")
}

/// The public half of the development key, passed explicitly: without `--key` a bundle from disk is
/// refused, even the one the repository ships.
fn dev_pub() -> String {
    repo()
        .join("policy-bundles/keys/seg-dev.pub")
        .to_str()
        .unwrap()
        .to_string()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

const AT: &str = "2026-11-23T12:00:00Z";

#[test]
fn demo_prints_passes_and_failures_and_writes_ocsf() {
    let dir = tempfile::tempdir().unwrap();
    let out = seg(&["scan", "--demo", "--at", AT], dir.path());
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("signature verified"), "{stdout}");
    let total = stdout.lines().find(|l| l.starts_with("total:")).unwrap();
    let count = |word: &str| -> u64 {
        total
            .split(',')
            .find(|p| p.contains(word))
            .unwrap()
            .split_whitespace()
            .find_map(|w| w.parse().ok())
            .unwrap()
    };
    assert!(count("pass") > 0 && count("fail") > 0, "{total}");
    assert_eq!(count("error"), 0, "{stdout}");
    let ocsf = std::fs::read_to_string(dir.path().join("seg-demo.ocsf.jsonl")).unwrap();
    let events: Vec<serde_json::Value> = ocsf.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(
        events.len() as u64,
        count("pass") + count("fail") + count("warn") + count("error") + count("not applicable")
    );
    assert!(events
        .iter()
        .all(|e| e["class_uid"] == 2003 && e["metadata"]["version"] == "1.8.0"));
    // The asset's tags travel with its events (OCSF resource_details.tags), in key order.
    let site: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["resources"][0]["name"] == "acme-public-site")
        .collect();
    assert!(!site.is_empty());
    for e in site {
        assert_eq!(
            e["resources"][0]["tags"],
            serde_json::json!([{"name": "data-class", "value": "public"}, {"name": "owner", "value": "web"}]),
            "{e}"
        );
    }
    assert!(events.iter().any(|e| e["resources"][0].get("tags").is_none()));
}

#[test]
fn every_control_has_a_pass_and_a_fail_in_the_demo() {
    let dir = tempfile::tempdir().unwrap();
    let out = seg(
        &[
            "scan", "--demo", "--at", AT, "--format", "json", "--output", "r.json",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.json")).unwrap()).unwrap();
    let findings = report["findings"].as_array().unwrap();
    for control in report["run"]["controls"].as_array().unwrap() {
        let results: Vec<&str> = findings
            .iter()
            .filter(|f| f["control_id"] == *control)
            .map(|f| f["result"].as_str().unwrap())
            .collect();
        assert!(
            results.contains(&"pass") && results.contains(&"fail"),
            "{control}: {results:?}"
        );
    }
}

#[test]
fn tags_select_the_assets_that_carry_them() {
    let dir = tempfile::tempdir().unwrap();
    let demo = std::fs::read_to_string(repo().join("operator/demo/aws-demo-account.jsonl")).unwrap();
    // Every other item is tagged env=prod (and team=a every fourth).
    let tagged: Vec<String> = demo
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            if i % 2 == 0 {
                v["tags"] = serde_json::json!({"env": "prod"});
            }
            if i % 4 == 0 {
                v["tags"]["team"] = "a".into();
            }
            v.to_string()
        })
        .collect();
    std::fs::write(dir.path().join("inv.jsonl"), tagged.join("\n")).unwrap();
    let b = bundle_dir();
    let key = dev_pub();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "scan",
            "--bundle",
            b.to_str().unwrap(),
            "--key",
            key.as_str(),
            "--inventory",
            "inv.jsonl",
            "--format",
            "json",
            "--at",
            AT,
        ];
        args.extend_from_slice(extra);
        let out = seg(&args, dir.path());
        assert!(out.status.success(), "{}", text(&out.stderr));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut results: Vec<(String, String, String)> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let s = |v: &serde_json::Value| v.as_str().unwrap().to_string();
                (s(&f["asset"]["urn"]), s(&f["control_id"]), s(&f["result"]))
            })
            .collect();
        results.sort();
        results
    };
    let urns_with = |min: usize| -> std::collections::BTreeSet<String> {
        tagged
            .iter()
            .enumerate()
            .filter(|(i, _)| i % min == 0)
            .map(|(_, l)| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                let kind = v["resourceType"]
                    .as_str()
                    .unwrap()
                    .to_lowercase()
                    .replace("::", ".");
                format!(
                    "urn:asset:aws:{kind}:{}/{}/{}",
                    v["accountId"].as_str().unwrap(),
                    v["awsRegion"].as_str().unwrap(),
                    v["resourceId"].as_str().unwrap()
                )
            })
            .collect()
    };
    let all = run(&[]);
    for (tags, every) in [
        (&["--tag", "env=prod"][..], 2),
        (&["--tag", "env=prod", "--tag", "team=a"][..], 4),
    ] {
        let selected = urns_with(every);
        let want: Vec<_> = all
            .iter()
            .filter(|(u, _, _)| selected.contains(u))
            .cloned()
            .collect();
        assert!(!want.is_empty() && want.len() < all.len(), "{tags:?}");
        assert_eq!(run(tags), want, "{tags:?}");
    }
    assert!(run(&["--tag", "env=dev"]).is_empty());
    let bad = seg(&["scan", "--demo", "--tag", "novalue"], dir.path());
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("KEY=VALUE"), "{}", text(&bad.stderr));
}

#[test]
fn ocsf_output_is_byte_identical_across_runs() {
    let dir = tempfile::tempdir().unwrap();
    let inv = repo().join("operator/demo/aws-demo-account.jsonl");
    let b = bundle_dir();
    for (name, workers) in [("a.jsonl", "1"), ("b.jsonl", "2")] {
        let out = seg(
            &[
                "scan",
                "--bundle",
                b.to_str().unwrap(),
                "--key",
                &dev_pub(),
                "--inventory",
                inv.to_str().unwrap(),
                "--format",
                "ocsf",
                "--at",
                AT,
                "--workers",
                workers,
                "--output",
                name,
            ],
            dir.path(),
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let a = std::fs::read(dir.path().join("a.jsonl")).unwrap();
    assert!(!a.is_empty());
    assert_eq!(a, std::fs::read(dir.path().join("b.jsonl")).unwrap());
}

#[test]
fn the_shipped_bundle_verifies_and_a_tampered_copy_fails_naming_the_file() {
    let key = dev_pub();
    let ok = seg(
        &["bundle", "verify", bundle_dir().to_str().unwrap(), "--key", &key],
        &repo(),
    );
    assert!(ok.status.success(), "{}", text(&ok.stderr));

    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("cis-aws-foundations");
    copy_dir(&bundle_dir(), &copy);
    let victim = std::fs::read_dir(copy.join("policies"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let rel = format!("policies/{}", victim.file_name().unwrap().to_str().unwrap());
    let mut bytes = std::fs::read(&victim).unwrap();
    // One byte changed, and the policy still compiles: only the checksum can tell.
    let last = bytes.len() - 1;
    assert_eq!(bytes[last], b'\n');
    bytes[last] = b' ';
    std::fs::write(&victim, bytes).unwrap();

    let verify = seg(
        &["bundle", "verify", copy.to_str().unwrap(), "--key", &key],
        dir.path(),
    );
    assert!(!verify.status.success());
    assert!(text(&verify.stderr).contains(&rel), "{}", text(&verify.stderr));

    let inv = repo().join("operator/demo/aws-demo-account.jsonl");
    let scan = seg(
        &[
            "scan",
            "--bundle",
            copy.to_str().unwrap(),
            "--key",
            &key,
            "--inventory",
            inv.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert!(!scan.status.success());
    assert!(text(&scan.stderr).contains(&rel), "{}", text(&scan.stderr));

    let forced = seg(
        &[
            "scan",
            "--bundle",
            copy.to_str().unwrap(),
            "--inventory",
            inv.to_str().unwrap(),
            "--allow-unsigned",
            "--key",
            &key,
            "--at",
            AT,
            "--format",
            "ocsf",
        ],
        dir.path(),
    );
    assert!(forced.status.success(), "{}", text(&forced.stderr));
    assert!(
        text(&forced.stderr).contains("not verified"),
        "{}",
        text(&forced.stderr)
    );
    // Output produced from an unverified bundle says so in every event.
    let events: Vec<serde_json::Value> = text(&forced.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!events.is_empty());
    assert!(events
        .iter()
        .all(|e| e["unmapped"]["seg"]["bundle_signature"] == "unverified"));
}

#[test]
fn malformed_inventory_lines_are_reported_counted_and_make_the_run_incomplete() {
    let dir = tempfile::tempdir().unwrap();
    let demo = std::fs::read_to_string(repo().join("operator/demo/aws-demo-account.jsonl")).unwrap();
    let mut lines: Vec<String> = demo.lines().map(String::from).collect();
    lines.insert(2, "{not json".into());
    lines.insert(5, r#"{"resourceType":"AWS::S3::Bucket"}"#.into());
    std::fs::write(dir.path().join("inv.jsonl"), lines.join("\n")).unwrap();
    let out = seg(
        &[
            "scan",
            "--bundle",
            bundle_dir().to_str().unwrap(),
            "--key",
            &dev_pub(),
            "--inventory",
            "inv.jsonl",
            "--format",
            "json",
            "--at",
            AT,
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("inv.jsonl:3: skipped: not valid JSON"),
        "{stderr}"
    );
    assert!(
        stderr.contains("inv.jsonl:6: skipped: field resourceId is missing"),
        "{stderr}"
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["run"]["counts"]["invalid_inventory_lines"], 2);
    assert_eq!(report["inventory_problems"][0]["line"], 3);
}

/// What every command that loads a bundle from disk says when it is refused for want of a key.
fn assert_refused_for_want_of_a_key(out: &Output, bundle: &Path) {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("{}: no trusted key", bundle.display())),
        "{stderr}"
    );
    assert!(stderr.contains("--key <public key file>"), "{stderr}");
    assert!(!text(&out.stdout).contains("verified"), "{}", text(&out.stdout));
}

/// `seg bundle verify`, `seg bundle test` and `seg scan --bundle` over `bundle`, with `extra`.
fn load_commands(bundle: &Path, extra: &[&str]) -> Vec<Vec<String>> {
    let inv = repo().join("operator/demo/aws-demo-account.jsonl");
    let b = bundle.to_str().unwrap();
    [
        vec!["bundle", "verify", b],
        vec!["bundle", "test", b],
        vec![
            "scan",
            "--bundle",
            b,
            "--inventory",
            inv.to_str().unwrap(),
            "--at",
            AT,
            "--format",
            "json",
        ],
    ]
    .into_iter()
    .map(|mut args| {
        args.extend_from_slice(extra);
        args.into_iter().map(String::from).collect()
    })
    .collect()
}

fn seg_args(args: &[String], cwd: &Path) -> Output {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    seg(&args, cwd)
}

#[test]
fn a_bundle_from_disk_signed_with_the_dev_key_is_refused_without_key_and_accepted_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("dev-signed");
    copy_dir(&bundle_dir(), &copy);
    let key = dev_pub();
    for args in load_commands(&copy, &[]) {
        let out = seg_args(&args, dir.path());
        assert_refused_for_want_of_a_key(&out, &copy);
    }
    // The path is named as it was given.
    let relative = seg(&["bundle", "verify", "dev-signed"], dir.path());
    assert_refused_for_want_of_a_key(&relative, Path::new("dev-signed"));
    for args in load_commands(&copy, &["--key", &key]) {
        let out = seg_args(&args, dir.path());
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    }
    let verify = seg(
        &["bundle", "verify", copy.to_str().unwrap(), "--key", &key],
        dir.path(),
    );
    assert!(
        text(&verify.stdout).contains(": verified: bundle cis-aws-foundations"),
        "{}",
        text(&verify.stdout)
    );
}

#[test]
fn allow_unsigned_without_key_never_reports_the_dev_signed_bundle_as_verified() {
    let dir = tempfile::tempdir().unwrap();
    let inv = repo().join("operator/demo/aws-demo-account.jsonl");
    let b = bundle_dir();
    let scan = seg(
        &[
            "scan",
            "--bundle",
            b.to_str().unwrap(),
            "--inventory",
            inv.to_str().unwrap(),
            "--at",
            AT,
            "--allow-unsigned",
        ],
        dir.path(),
    );
    let stdout = text(&scan.stdout);
    assert!(scan.status.success(), "{}", text(&scan.stderr));
    assert!(stdout.contains("SIGNATURE NOT VERIFIED"), "{stdout}");
    assert!(!stdout.contains("signature verified"), "{stdout}");
    assert!(
        text(&scan.stderr).contains("bundle signature not verified"),
        "{}",
        text(&scan.stderr)
    );

    let test = seg(
        &["bundle", "test", b.to_str().unwrap(), "--allow-unsigned"],
        dir.path(),
    );
    let stdout = text(&test.stdout);
    assert!(test.status.success(), "{}", text(&test.stderr));
    assert!(stdout.contains(" 0 failed; SIGNATURE NOT VERIFIED"), "{stdout}");

    // With the key chosen explicitly, the same bundle is reported verified.
    let test = seg(
        &[
            "bundle",
            "test",
            b.to_str().unwrap(),
            "--allow-unsigned",
            "--key",
            &dev_pub(),
        ],
        dir.path(),
    );
    assert!(
        text(&test.stdout).contains(" 0 failed; signature verified (key "),
        "{}",
        text(&test.stdout)
    );
}

#[test]
fn bundle_test_refuses_a_modified_bundle_unless_allow_unsigned() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("edited");
    copy_dir(&bundle_dir(), &copy);
    // A policy edited after signing (a comment added): the bundle is being worked on.
    let mut policies: Vec<PathBuf> = std::fs::read_dir(copy.join("policies"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    policies.sort();
    let victim = &policies[0];
    let rel = format!("policies/{}", victim.file_name().unwrap().to_str().unwrap());
    let mut policy = std::fs::read_to_string(victim).unwrap();
    policy.push_str("# edited\n");
    std::fs::write(victim, policy).unwrap();
    let key = dev_pub();
    let refused = seg(
        &["bundle", "test", copy.to_str().unwrap(), "--key", &key],
        dir.path(),
    );
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused.stdout));
    assert!(text(&refused.stderr).contains(&rel), "{}", text(&refused.stderr));
    let allowed = seg(
        &[
            "bundle",
            "test",
            copy.to_str().unwrap(),
            "--key",
            &key,
            "--allow-unsigned",
        ],
        dir.path(),
    );
    assert!(allowed.status.success(), "{}", text(&allowed.stderr));
    assert!(
        text(&allowed.stdout).contains("SIGNATURE NOT VERIFIED"),
        "{}",
        text(&allowed.stdout)
    );
}

#[test]
fn sign_then_verify_with_a_fresh_key_and_reject_the_dev_key() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("cis-aws-foundations");
    copy_dir(&bundle_dir(), &copy);
    assert!(seg(&["bundle", "keygen", "--out", "k"], dir.path())
        .status
        .success());
    let signed = seg(
        &["bundle", "sign", copy.to_str().unwrap(), "--key", "k.key"],
        dir.path(),
    );
    assert!(signed.status.success(), "{}", text(&signed.stderr));
    for args in load_commands(&copy, &["--key", "k.pub"]) {
        let out = seg_args(&args, dir.path());
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    }
    let key = dev_pub();
    for args in load_commands(&copy, &["--key", &key]) {
        let out = seg_args(&args, dir.path());
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", text(&out.stdout));
        assert!(
            text(&out.stderr).contains("trusted"),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    for args in load_commands(&copy, &[]) {
        let out = seg_args(&args, dir.path());
        assert_refused_for_want_of_a_key(&out, &copy);
    }
}

#[test]
fn the_demo_and_the_builtin_bundle_need_no_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = seg(&["scan", "--demo", "--at", AT, "--format", "json"], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["bundle"]["signature"]["state"], "verified", "{report}");
    assert!(!text(&out.stderr).contains("warning"), "{}", text(&out.stderr));
    // A key given explicitly replaces the development key, for the built-in bundle too.
    assert!(seg(&["bundle", "keygen", "--out", "k"], dir.path())
        .status
        .success());
    let other = seg(&["scan", "--demo", "--at", AT, "--key", "k.pub"], dir.path());
    assert_eq!(other.status.code(), Some(1), "{}", text(&other.stdout));
    assert!(text(&other.stderr).contains("trusted"), "{}", text(&other.stderr));
}

#[test]
fn bundle_test_runs_every_vector_of_the_shipped_bundle() {
    let out = seg(
        &[
            "bundle",
            "test",
            bundle_dir().to_str().unwrap(),
            "--key",
            &dev_pub(),
        ],
        &repo(),
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains(" 0 failed"), "{stdout}");
    assert!(stdout.contains("signature verified"), "{stdout}");
    let lint = seg(&["bundle", "lint", bundle_dir().to_str().unwrap()], &repo());
    assert!(lint.status.success(), "{}", text(&lint.stderr));
}
