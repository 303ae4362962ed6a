//! The Scan controller end to end on a real kube-apiserver: a Scan over the demo inventory (from a
//! ConfigMap) records exactly the counts and Findings that `seg scan` reports offline for the same
//! evaluation time, an unchanged rescan writes no Finding, and deleting the Scan removes its
//! Findings through the finalizer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use seg_e2e::{repo_root, ControlPlane, User};

fn kubectl(cp: &ControlPlane, args: &[&str]) -> String {
    cp.kubectl(User::Admin, args)
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

fn wait(what: &str, log: &Path, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        if start.elapsed() > Duration::from_secs(90) {
            panic!(
                "{what}: not reached after 90 s\noperator log:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn finding_versions(cp: &ControlPlane) -> BTreeMap<String, String> {
    kubectl(
        cp,
        &[
            "get",
            "findings",
            "-n",
            "tenant-a",
            "-l",
            "seg.neurocipher.io/scan=demo",
            "-o",
            "jsonpath={range .items[*]}{.metadata.name} {.metadata.resourceVersion}{\"\\n\"}{end}",
        ],
    )
    .lines()
    .filter_map(|l| l.split_once(' ').map(|(a, b)| (a.to_string(), b.to_string())))
    .collect()
}

#[test]
fn a_scan_records_what_seg_scan_reports_and_cleans_up() {
    let cp = ControlPlane::start().unwrap();
    let root = repo_root();
    cp.install_seg("tenant-a").unwrap();
    let inventory = root.join("operator/demo/aws-demo-account.jsonl");
    cp.kubectl_ok(
        User::Admin,
        [
            "create",
            "configmap",
            "demo-inventory",
            "-n",
            "tenant-a",
            &format!("--from-file=items.jsonl={}", inventory.display()),
        ],
    )
    .unwrap();

    let export = tempfile::tempdir().unwrap();
    let export_dir = export.path().display().to_string();
    let (mut operator, log) = cp
        .start_operator(
            Path::new(env!("CARGO_BIN_EXE_seg")),
            "seg-operator",
            &["--export-dir", &export_dir],
        )
        .unwrap();

    cp.apply(
        User::Admin,
        "apiVersion: seg.neurocipher.io/v1alpha1
kind: Benchmark
metadata: {name: cis, namespace: tenant-a}
spec:
  source: {builtin: cis-aws-foundations}
---
apiVersion: seg.neurocipher.io/v1alpha1
kind: Scan
metadata: {name: demo, namespace: tenant-a}
spec:
  benchmarkRef: {name: cis}
  provider: inventory
  inventory:
    configMapKeyRef: {name: demo-inventory, key: items.jsonl}
  export: {path: demo.ocsf.jsonl}
",
    )
    .unwrap();
    let phase = || {
        kubectl(
            &cp,
            &[
                "get",
                "scan",
                "demo",
                "-n",
                "tenant-a",
                "-o",
                "jsonpath={.status.phase}",
            ],
        )
    };
    wait("scan Succeeded", &log, || phase() == "Succeeded");

    // spec.tags selects assets: the demo account carries no such tag, so nothing is evaluated.
    cp.apply(
        User::Admin,
        "apiVersion: seg.neurocipher.io/v1alpha1
kind: Scan
metadata: {name: tagged, namespace: tenant-a}
spec:
  benchmarkRef: {name: cis}
  provider: inventory
  inventory:
    configMapKeyRef: {name: demo-inventory, key: items.jsonl}
  tags: {seg-e2e: selected}
",
    )
    .unwrap();
    let tagged = |path: &str| {
        kubectl(
            &cp,
            &[
                "get",
                "scan",
                "tagged",
                "-n",
                "tenant-a",
                "-o",
                &format!("jsonpath={path}"),
            ],
        )
    };
    wait("tagged scan Succeeded", &log, || {
        tagged("{.status.phase}") == "Succeeded"
    });
    assert_eq!(
        tagged("{.status.progress.assetsEvaluated}"),
        "0",
        "{}",
        tagged("{.status}")
    );
    assert_eq!(
        tagged("{.status.resultCounts.fail}"),
        "0",
        "{}",
        tagged("{.status}")
    );
    kubectl(
        &cp,
        &["delete", "scan", "tagged", "-n", "tenant-a", "--wait=true"],
    );

    // The same evaluation offline, at the Scan's evaluation time.
    let at = kubectl(
        &cp,
        &[
            "get",
            "scan",
            "demo",
            "-n",
            "tenant-a",
            "-o",
            "jsonpath={.status.lastRunTime}",
        ],
    );
    let offline = Command::new(env!("CARGO_BIN_EXE_seg"))
        .args(["scan", "--demo", "--format", "json", "--at", &at])
        .output()
        .unwrap();
    assert!(
        offline.status.success(),
        "{}",
        String::from_utf8_lossy(&offline.stderr)
    );
    let offline: serde_json::Value = serde_json::from_slice(&offline.stdout).unwrap();
    let status: serde_json::Value = serde_json::from_str(&kubectl(
        &cp,
        &[
            "get",
            "scan",
            "demo",
            "-n",
            "tenant-a",
            "-o",
            "jsonpath={.status}",
        ],
    ))
    .unwrap();
    for r in ["pass", "fail", "warn", "error"] {
        assert_eq!(
            status["resultCounts"][r], offline["run"]["counts"][r],
            "{r}: {status}"
        );
    }
    assert_eq!(
        status["resultCounts"]["notApplicable"],
        offline["run"]["counts"]["not_applicable"]
    );
    assert_eq!(status["findingsTruncated"], false);

    // One Finding per failing (control, asset), named after its fingerprint.
    let mut want: Vec<String> = offline["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["result"] == "fail")
        .map(|f| seg_crds::finding_name("demo", f["fingerprint"].as_str().unwrap()))
        .collect();
    want.sort();
    let before = finding_versions(&cp);
    assert_eq!(before.keys().cloned().collect::<Vec<_>>(), want);

    // The OCSF export has one event per result.
    let exported = std::fs::read_to_string(export.path().join("tenant-a/demo.ocsf.jsonl")).unwrap();
    assert_eq!(
        exported.lines().count() as u64,
        offline["run"]["counts"]["evaluations"].as_u64().unwrap()
    );

    // A rescan (new generation) with nothing changed writes no Finding.
    cp.kubectl_ok(
        User::Admin,
        [
            "patch",
            "scan",
            "demo",
            "-n",
            "tenant-a",
            "--type=merge",
            "-p",
            "{\"spec\":{\"tags\":{\"rescan\":\"1\"}}}",
        ],
    )
    .unwrap();
    wait("rescan Succeeded", &log, || {
        kubectl(
            &cp,
            &[
                "get",
                "scan",
                "demo",
                "-n",
                "tenant-a",
                "-o",
                "jsonpath={.status.observedGeneration}",
            ],
        ) == "2"
            && phase() == "Succeeded"
    });
    assert_eq!(
        finding_versions(&cp),
        before,
        "an unchanged rescan must not write Findings"
    );

    // Invalid input: status says why, naming the field, with a Warning Event; no retry loop.
    cp.apply(
        User::Admin,
        "apiVersion: seg.neurocipher.io/v1alpha1
kind: Scan
metadata: {name: broken, namespace: tenant-a}
spec:
  benchmarkRef: {name: cis}
  provider: inventory
  inventory:
    configMapKeyRef: {name: no-such-map, key: items.jsonl}
",
    )
    .unwrap();
    let broken = |path: &str| {
        kubectl(
            &cp,
            &[
                "get",
                "scan",
                "broken",
                "-n",
                "tenant-a",
                "-o",
                &format!("jsonpath={path}"),
            ],
        )
    };
    wait("broken Failed", &log, || broken("{.status.phase}") == "Failed");
    assert_eq!(
        broken("{.status.conditions[?(@.type==\"Stalled\")].reason}"),
        "InventoryNotFound"
    );
    assert!(broken("{.status.conditions[?(@.type==\"Ready\")].message}")
        .contains("spec.inventory.configMapKeyRef"));
    wait("warning event", &log, || {
        kubectl(
            &cp,
            &[
                "get",
                "events",
                "-n",
                "tenant-a",
                "-o",
                "jsonpath={.items[*].reason}",
            ],
        )
        .contains("InventoryNotFound")
    });

    // A scheduled Scan runs at once and then says when it runs next.
    cp.apply(
        User::Admin,
        "apiVersion: seg.neurocipher.io/v1alpha1
kind: Scan
metadata: {name: nightly, namespace: tenant-a}
spec:
  benchmarkRef: {name: cis}
  provider: inventory
  inventory:
    configMapKeyRef: {name: demo-inventory, key: items.jsonl}
  schedule: '0 3 * * *'
",
    )
    .unwrap();
    let nightly = |path: &str| {
        kubectl(
            &cp,
            &[
                "get",
                "scan",
                "nightly",
                "-n",
                "tenant-a",
                "-o",
                &format!("jsonpath={path}"),
            ],
        )
    };
    wait("nightly Succeeded", &log, || {
        nightly("{.status.phase}") == "Succeeded"
    });
    let (last, next) = (nightly("{.status.lastRunTime}"), nightly("{.status.nextRunTime}"));
    assert!(
        next.ends_with("T03:00:00Z") && next > last,
        "last {last}, next {next}"
    );

    // Deleting the Scan removes its Findings (finalizer), then the Scan.
    cp.kubectl_ok(
        User::Admin,
        ["delete", "scan", "demo", "-n", "tenant-a", "--wait=false"],
    )
    .unwrap();
    wait("findings removed", &log, || finding_versions(&cp).is_empty());
    wait("scan removed", &log, || {
        !kubectl(&cp, &["get", "scans", "-n", "tenant-a", "-o", "name"])
            .lines()
            .any(|l| l.ends_with("/demo"))
    });
    operator.stop();
}
