//! The Scan pipeline on a real kube-apiserver: a run that fails on an invalid spec stalls and
//! waits for a change instead of running again and again (runs and API requests counted over a
//! minute); results that a Finding could not hold become `error` results instead of refused
//! writes; a Scan deleted while its AWS run is held at the API proxy is gone, with its Findings
//! and its export, within 5 s; a run interrupted by SIGTERM is recorded as `Interrupted` and run
//! again by the next operator.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use seg_e2e::{ApiProxy, ControlPlane, Fault, Moto, User};
use serde_json::Value;

fn status(cp: &ControlPlane, ns: &str, name: &str) -> Value {
    let text = cp
        .kubectl_ok(
            User::Admin,
            ["get", "scan", name, "-n", ns, "-o", "jsonpath={.status}"],
        )
        .unwrap_or_default();
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

fn condition<'a>(s: &'a Value, type_: &str) -> &'a Value {
    s["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == type_))
        .unwrap_or(&Value::Null)
}

fn wait_for(what: &str, log: &Path, timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        if start.elapsed() > timeout {
            panic!(
                "{what}: not reached in {timeout:?}\noperator log:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The API server's request counters (`apiserver_request_total`) by (verb, resource,
/// subresource), summed over the other labels.
fn requests(cp: &ControlPlane) -> BTreeMap<(String, String, String), f64> {
    let text = cp.kubectl_ok(User::Admin, ["get", "--raw", "/metrics"]).unwrap();
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with("apiserver_request_total{")) {
        let Some((labels, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let label = |k: &str| {
            labels
                .split(&format!("{k}=\""))
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap_or("")
                .to_string()
        };
        if label("group") != "seg.neurocipher.io" {
            continue;
        }
        *out.entry((label("verb"), label("resource"), label("subresource")))
            .or_insert(0.0) += value.parse::<f64>().unwrap_or(0.0);
    }
    out
}

/// Requests of the operator's kinds between two readings, leaving out the reads the test itself
/// makes (GET of scans).
fn operator_requests(
    before: &BTreeMap<(String, String, String), f64>,
    after: &BTreeMap<(String, String, String), f64>,
) -> BTreeMap<String, f64> {
    after
        .iter()
        .filter(|((verb, resource, _), _)| !(verb == "GET" && resource == "scans") && verb != "WATCH")
        .map(|(k, v)| {
            (
                format!("{} {}/{}", k.0, k.1, k.2),
                v - before.get(k).copied().unwrap_or(0.0),
            )
        })
        .filter(|(_, d)| *d > 0.0)
        .collect()
}

const LONG_URN_ITEM: &str = "long-urn.jsonl";

#[test]
fn an_invalid_run_stalls_once_and_nothing_runs_again_for_a_minute() {
    let cp = ControlPlane::start().unwrap();
    let root = seg_e2e::repo_root();
    cp.install_seg("tenant-a").unwrap();
    let demo = std::fs::read_to_string(root.join("operator/demo/aws-demo-account.jsonl")).unwrap();
    // One demo item with a resource id of 3,000 bytes: its URN is longer than a Finding allows.
    let first: Value =
        serde_json::from_str(demo.lines().find(|l| l.contains("AWS::S3::Bucket")).unwrap()).unwrap();
    let mut long = first.clone();
    let id = format!("b{}", "x".repeat(3000));
    long["resourceId"] = Value::String(id.clone());
    long["resourceName"] = Value::String(id.clone());
    long["ARN"] = Value::String(format!("arn:aws:s3:::{id}"));
    let long_inventory = format!("{demo}{}\n", serde_json::to_string(&long).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join(LONG_URN_ITEM);
    std::fs::write(&inventory, &long_inventory).unwrap();
    for (cm, file) in [
        ("demo", root.join("operator/demo/aws-demo-account.jsonl")),
        ("long", inventory),
    ] {
        cp.kubectl_ok(
            User::Admin,
            [
                "create",
                "configmap",
                cm,
                "-n",
                "tenant-a",
                &format!("--from-file=items.jsonl={}", file.display()),
            ],
        )
        .unwrap();
    }
    let export = tempfile::tempdir().unwrap();
    let (_operator, log) = cp
        .start_operator(
            Path::new(env!("CARGO_BIN_EXE_seg")),
            "seg-operator",
            &["--export-dir", &export.path().display().to_string()],
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
metadata: {name: dot, namespace: tenant-a}
spec:
  benchmarkRef: {name: cis}
  provider: inventory
  inventory: {configMapKeyRef: {name: demo, key: items.jsonl}}
  export: {path: '.'}
---
apiVersion: seg.neurocipher.io/v1alpha1
kind: Scan
metadata: {name: long, namespace: tenant-a}
spec:
  benchmarkRef: {name: cis}
  provider: inventory
  inventory: {configMapKeyRef: {name: long, key: items.jsonl}}
",
    )
    .unwrap();

    // The export to "." fails once: Failed, Stalled with the reason, a Warning Event.
    wait_for("the Scan 'dot' stalled", &log, Duration::from_secs(60), || {
        let s = status(&cp, "tenant-a", "dot");
        s["phase"] == "Failed" && condition(&s, "Stalled")["status"] == "True"
    });
    let dot = status(&cp, "tenant-a", "dot");
    assert_eq!(condition(&dot, "Stalled")["reason"], "ExportFailed", "{dot}");
    assert!(dot["nextRunTime"].is_null(), "only a change can mend it: {dot}");
    assert_eq!(dot["observedGeneration"], 1, "{dot}");

    // The long URN becomes an error result; the rest is recorded.
    wait_for("the Scan 'long' succeeded", &log, Duration::from_secs(60), || {
        status(&cp, "tenant-a", "long")["phase"] == "Succeeded"
    });
    let long_status = status(&cp, "tenant-a", "long");
    assert!(
        long_status["resultCounts"]["error"].as_i64().unwrap() >= 1,
        "{long_status}"
    );
    assert!(
        condition(&long_status, "Ready")["message"]
            .as_str()
            .unwrap()
            .contains("turned into errors"),
        "{long_status}"
    );
    wait_for(
        "a Warning Event ExportFailed",
        &log,
        Duration::from_secs(30),
        || {
            cp.kubectl_ok(
                User::Admin,
                [
                    "get",
                    "events",
                    "-n",
                    "tenant-a",
                    "-o",
                    "jsonpath={.items[*].reason}",
                ],
            )
            .unwrap_or_default()
            .contains("ExportFailed")
        },
    );

    // A minute of quiet: no run starts again, and the operator makes (almost) no requests.
    let runs = |name: &str| status(&cp, "tenant-a", name)["lastRunTime"].clone();
    let (dot_run, long_run) = (runs("dot"), runs("long"));
    let findings = cp
        .kubectl_ok(
            User::Admin,
            [
                "get",
                "findings",
                "-n",
                "tenant-a",
                "-o",
                "jsonpath={.items[*].metadata.resourceVersion}",
            ],
        )
        .unwrap();
    let before = requests(&cp);
    let start = Instant::now();
    let mut seen_runs = 0;
    while start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_secs(2));
        if runs("dot") != dot_run {
            seen_runs += 1;
        }
        if runs("long") != long_run {
            seen_runs += 1;
        }
    }
    let after = requests(&cp);
    let made = operator_requests(&before, &after);
    assert_eq!(seen_runs, 0, "no run in a minute; requests: {made:?}");
    let total: f64 = made.values().sum();
    assert!(
        total <= 2.0,
        "the operator was quiet for a minute, but made {made:?}"
    );
    let findings_after = cp
        .kubectl_ok(
            User::Admin,
            [
                "get",
                "findings",
                "-n",
                "tenant-a",
                "-o",
                "jsonpath={.items[*].metadata.resourceVersion}",
            ],
        )
        .unwrap();
    assert_eq!(findings, findings_after, "no Finding was rewritten");

    // A change of the spec is what starts the next run.
    cp.kubectl_ok(
        User::Admin,
        [
            "patch",
            "scan",
            "dot",
            "-n",
            "tenant-a",
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"export":{"path":"dot.jsonl"}}}"#,
        ],
    )
    .unwrap();
    wait_for("the fixed Scan succeeded", &log, Duration::from_secs(60), || {
        let s = status(&cp, "tenant-a", "dot");
        s["phase"] == "Succeeded" && s["observedGeneration"] == 2
    });
    let dot = status(&cp, "tenant-a", "dot");
    assert_eq!(dot["exportLocation"], "tenant-a/dot.jsonl", "{dot}");
    assert!(export.path().join("tenant-a/dot.jsonl").is_file());
    assert_eq!(condition(&dot, "Stalled")["status"], "False", "{dot}");
}

/// The proxy's answers for the calls moto lacks (see aws_scan.rs).
fn answer_what_moto_lacks(proxy: &ApiProxy) {
    proxy.answer(
        "access-analyzer",
        None,
        "GET /analyzer",
        "application/json",
        r#"{"analyzers":[]}"#,
    );
    proxy.answer(
        "ec2",
        None,
        "Action=GetEbsDefaultKmsKeyId",
        "text/xml;charset=UTF-8",
        r#"<?xml version="1.0" encoding="UTF-8"?>
<GetEbsDefaultKmsKeyIdResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
    <requestId>5f1c1a2e-0000-4000-8000-000000000001</requestId>
    <kmsKeyId>alias/aws/ebs</kmsKeyId>
</GetEbsDefaultKmsKeyIdResponse>"#,
    );
}

fn aws_scan(name: &str, max_findings: u32) -> String {
    format!(
        "apiVersion: seg.neurocipher.io/v1alpha1
kind: Scan
metadata: {{name: {name}, namespace: tenant-a}}
spec:
  benchmarkRef: {{name: cis}}
  provider: aws
  aws: {{accountId: '{}', regions: [us-east-1]}}
  credentials: {{secretRef: {{name: aws-audit}}}}
  limits: {{maxFindings: {max_findings}}}
  export: {{path: {name}.jsonl}}
",
        seg_e2e::DEFAULT_ACCOUNT_ID
    )
}

fn findings_of(cp: &ControlPlane, scan: &str) -> usize {
    cp.kubectl_ok(
        User::Admin,
        [
            "get",
            "findings",
            "-n",
            "tenant-a",
            "-l",
            &format!("seg.neurocipher.io/scan={scan}"),
            "-o",
            "name",
        ],
    )
    .unwrap_or_default()
    .lines()
    .count()
}

#[test]
fn runs_held_at_the_cloud_api_end_with_their_scan_or_with_the_operator() {
    let moto = Moto::start().unwrap();
    let proxy = ApiProxy::start(moto.port()).unwrap();
    answer_what_moto_lacks(&proxy);
    let cp = ControlPlane::start().unwrap();
    cp.install_seg("tenant-a").unwrap();
    let export = tempfile::tempdir().unwrap();
    let export_dir = export.path().display().to_string();
    let args = [
        "--aws-endpoint-url",
        &proxy.endpoint(),
        "--aws-timeout-seconds",
        "300",
        "--aws-max-attempts",
        "1",
        "--export-dir",
        &export_dir,
    ];
    let bin = Path::new(env!("CARGO_BIN_EXE_seg"));
    let (mut operator, log) = cp.start_operator(bin, "seg-operator", &args).unwrap();
    cp.apply(
        User::Admin,
        &format!(
            "apiVersion: v1
kind: Secret
metadata: {{name: aws-audit, namespace: tenant-a}}
stringData: {{AWS_ACCESS_KEY_ID: testing, AWS_SECRET_ACCESS_KEY: testing}}
---
apiVersion: seg.neurocipher.io/v1alpha1
kind: Benchmark
metadata: {{name: cis, namespace: tenant-a}}
spec:
  source: {{builtin: cis-aws-foundations}}
---
{}",
            aws_scan("doomed", 500)
        ),
    )
    .unwrap();
    // A first, complete run: Findings and an export exist.
    wait_for("the first run", &log, Duration::from_secs(120), || {
        matches!(
            status(&cp, "tenant-a", "doomed")["phase"].as_str(),
            Some("Succeeded" | "Failed")
        )
    });
    let first = status(&cp, "tenant-a", "doomed");
    assert!(first["resultCounts"]["fail"].as_i64().unwrap() > 0, "{first}");
    assert!(findings_of(&cp, "doomed") > 0);
    assert!(export.path().join("tenant-a/doomed.jsonl").is_file());

    // The next run (a new generation) holds at EC2; the Scan is deleted meanwhile.
    proxy.fail("ec2", Fault::Hold);
    cp.kubectl_ok(
        User::Admin,
        [
            "patch",
            "scan",
            "doomed",
            "-n",
            "tenant-a",
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"limits":{"maxFindings":400}}}"#,
        ],
    )
    .unwrap();
    proxy.wait_held("ec2", Duration::from_secs(60)).unwrap();
    let deleted = Instant::now();
    cp.kubectl_ok(
        User::Admin,
        ["delete", "scan", "doomed", "-n", "tenant-a", "--wait=false"],
    )
    .unwrap();
    wait_for("the Scan gone", &log, Duration::from_secs(5), || {
        cp.kubectl_ok(User::Admin, ["get", "scans", "-n", "tenant-a", "-o", "name"])
            .unwrap_or_default()
            .trim()
            .is_empty()
    });
    assert_eq!(findings_of(&cp, "doomed"), 0, "its Findings went with it");
    assert!(
        !export.path().join("tenant-a/doomed.jsonl").exists(),
        "and its export"
    );
    assert!(
        deleted.elapsed() <= Duration::from_secs(5),
        "{:?}",
        deleted.elapsed()
    );

    // A run held at EC2 when the operator gets SIGTERM: recorded as interrupted, and the next
    // operator runs it again.
    let held = proxy.held("ec2");
    cp.apply(User::Admin, &aws_scan("survivor", 500)).unwrap();
    wait_for(
        "the survivor's run held at EC2",
        &log,
        Duration::from_secs(60),
        || {
            let s = status(&cp, "tenant-a", "survivor");
            condition(&s, "Reconciling")["reason"] == "Collecting" && proxy.held("ec2") > held
        },
    );
    operator.terminate(Duration::from_secs(30)).unwrap();
    let s = status(&cp, "tenant-a", "survivor");
    assert_eq!(
        condition(&s, "Reconciling")["reason"],
        "Interrupted",
        "{s}\noperator log:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert_eq!(s["phase"], "Pending", "{s}");
    proxy.clear();
    proxy.release();
    answer_what_moto_lacks(&proxy);
    let (_next, log2) = cp.start_operator(bin, "seg-operator", &args).unwrap();
    wait_for(
        "the interrupted run done by the next operator",
        &log2,
        Duration::from_secs(120),
        || {
            let s = status(&cp, "tenant-a", "survivor");
            matches!(s["phase"].as_str(), Some("Succeeded" | "Failed")) && s["resultCounts"].is_object()
        },
    );
    let s = status(&cp, "tenant-a", "survivor");
    assert_eq!(s["resultCounts"], first["resultCounts"], "{s}");
}
