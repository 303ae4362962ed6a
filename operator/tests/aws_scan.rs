//! AWS scans end to end against the moto server: `seg scan --provider aws` and a `provider: aws`
//! Scan through the operator give the expected result per control and resource for a seeded
//! account; when the simulator is killed while a run is reading EC2, the Scan reports a SEG_
//! error code and exactly the partial counts of an account read without EC2, and the next run
//! after it is back recovers.
//!
//! The account is seeded by `e2e/scripts/seed-aws-adapter.py`, whose JSON summary names the
//! compliant and non-compliant resource of each pair, in two regions (us-east-1 compliant for the
//! region settings, us-west-2 not).
//!
//! Every client talks to moto through an [`ApiProxy`], which can refuse or hold the requests of
//! one service: that is how the kill lands at a known point of a run (all EC2 calls waiting, every
//! other service answered). The proxy also answers the two calls moto 5.2.5 does not implement
//! (IAM Access Analyzer `ListAnalyzers`, and EC2 `GetEbsDefaultKmsKeyId`, which it answers with
//! HTTP 500), in the response shapes of their API references, so that a run is complete.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use seg_e2e::{ApiProxy, ControlPlane, Fault, Moto, User, WatchLag};
use serde_json::Value;
use sha2::Digest;

const AT: &str = "2026-11-23T12:00:00Z";
const REGIONS: &str = "us-east-1,us-west-2";
const RETRY_SECONDS: u64 = 6;
/// How late the operator's watch delivers what the API server pushes, in the test that makes it
/// late on purpose.
const WATCH_LAG: Duration = Duration::from_secs(3);

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

fn start_moto() -> (Moto, Value) {
    std::env::set_var("MOTO_IAM_LOAD_MANAGED_POLICIES", "true");
    let moto = Moto::start().unwrap();
    let out = moto
        .run_script("seed-aws-adapter.py", Vec::<&str>::new())
        .unwrap();
    let summary = serde_json::from_str(&out).unwrap();
    // EBS encryption by default: on in us-east-1, off (moto's default) in us-west-2.
    let out = moto
        .run_python(&format!(
            "import boto3; boto3.client('ec2', endpoint_url='{}', region_name='us-east-1')\
             .enable_ebs_encryption_by_default()",
            moto.endpoint()
        ))
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (moto, summary)
}

/// The proxy's answers for the calls moto lacks, shaped as their API references document:
/// IAM Access Analyzer `ListAnalyzers` (`GET /analyzer`, JSON; an active account analyzer in
/// us-east-1, none in us-west-2) and EC2 `GetEbsDefaultKmsKeyId` (query protocol, XML).
fn answer_what_moto_lacks(proxy: &ApiProxy) {
    let account = seg_e2e::DEFAULT_ACCOUNT_ID;
    proxy.answer(
        "access-analyzer",
        Some("us-east-1"),
        "GET /analyzer",
        "application/json",
        &format!(
            r#"{{"analyzers":[{{"arn":"arn:aws:access-analyzer:us-east-1:{account}:analyzer/seg-e2e","createdAt":"2026-11-01T08:00:00Z","name":"seg-e2e","status":"ACTIVE","tags":{{}},"type":"ACCOUNT"}}]}}"#
        ),
    );
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
        &format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<GetEbsDefaultKmsKeyIdResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
    <requestId>5f1c1a2e-0000-4000-8000-000000000001</requestId>
    <kmsKeyId>arn:aws:kms:us-east-1:{account}:alias/aws/ebs</kmsKeyId>
</GetEbsDefaultKmsKeyIdResponse>"#
        ),
    );
}

/// (control, resource id) → result, from `seg scan --format json` findings.
fn results(findings: &[Value]) -> BTreeMap<(String, String), String> {
    findings
        .iter()
        .map(|f| {
            let urn = f["asset"]["urn"].as_str().unwrap();
            let id = urn.rsplit('/').next().unwrap().to_string();
            (
                (f["control_id"].as_str().unwrap().to_string(), id),
                f["result"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// What the seeded account must give, resource by resource.
fn expected(s: &Value, ids_by_name: &BTreeMap<String, String>) -> Vec<(&'static str, String, &'static str)> {
    let id = |p: &str| s.pointer(p).and_then(Value::as_str).unwrap().to_string();
    // Region settings items are `<account>:<region>`.
    let region = |r: &str| format!("{}:{r}", seg_e2e::DEFAULT_ACCOUNT_ID);
    // IAM user ids are made up by the simulator: look them up by name in the inventory.
    let user = |n: &str| {
        ids_by_name
            .get(n)
            .cloned()
            .unwrap_or_else(|| panic!("no IAM user {n}"))
    };
    vec![
        ("s3-bucket-deny-insecure-transport", id("/buckets/open"), "fail"),
        ("s3-bucket-deny-insecure-transport", id("/buckets/tls"), "pass"),
        ("s3-bucket-public-access-block", id("/buckets/open"), "fail"),
        ("s3-bucket-public-access-block", id("/buckets/tls"), "pass"),
        (
            "ec2-sg-no-admin-ingress-ipv4",
            id("/security_groups/ssh_open"),
            "fail",
        ),
        (
            "ec2-sg-no-admin-ingress-ipv4",
            id("/security_groups/rdp_open"),
            "fail",
        ),
        (
            "ec2-sg-no-admin-ingress-ipv4",
            id("/security_groups/closed"),
            "pass",
        ),
        ("ec2-instance-imdsv2-required", id("/instances/imdsv1"), "fail"),
        ("ec2-instance-imdsv2-required", id("/instances/imdsv2"), "pass"),
        ("kms-key-rotation-enabled", id("/kms_keys/unrotated"), "fail"),
        ("kms-key-rotation-enabled", id("/kms_keys/rotated"), "pass"),
        ("vpc-flow-logs-enabled", id("/vpcs/unlogged"), "fail"),
        ("vpc-flow-logs-enabled", id("/vpcs/logged"), "pass"),
        ("ebs-volume-encrypted", id("/volumes/plain"), "fail"),
        ("ebs-volume-encrypted", id("/volumes/encrypted"), "pass"),
        ("efs-file-system-encrypted", id("/efs/plain"), "fail"),
        ("efs-file-system-encrypted", id("/efs/encrypted"), "pass"),
        ("iam-user-console-mfa", user("seg-console-nomfa"), "fail"),
        ("iam-user-console-mfa", user("seg-console-mfa"), "pass"),
        ("iam-root-mfa-enabled", id("/account_id"), "fail"),
        ("iam-root-access-key-absent", id("/account_id"), "pass"),
        ("ec2-nacl-no-admin-ingress", id("/network_acl"), "fail"),
        ("cloudtrail-log-file-validation", id("/trail"), "fail"),
        (
            "rds-instance-not-publicly-accessible",
            id("/rds/resource_id"),
            "fail",
        ),
        ("access-analyzer-enabled", region("us-east-1"), "pass"),
        ("access-analyzer-enabled", region("us-west-2"), "fail"),
        ("ebs-encryption-by-default", region("us-east-1"), "pass"),
        ("ebs-encryption-by-default", region("us-west-2"), "fail"),
    ]
}

fn assert_expected(
    got: &BTreeMap<(String, String), String>,
    summary: &Value,
    ids_by_name: &BTreeMap<String, String>,
    what: &str,
) {
    let mut wrong = Vec::new();
    for (control, resource, want) in expected(summary, ids_by_name) {
        let found = got
            .iter()
            .find(|((c, r), _)| c == control && r.ends_with(&resource));
        match found {
            Some((_, result)) if result == want => {}
            other => wrong.push(format!("{control} {resource}: want {want}, got {other:?}")),
        }
    }
    assert!(
        wrong.is_empty(),
        "{what}:\n{}\nall results: {got:#?}",
        wrong.join("\n")
    );
}

/// `seg scan --provider aws`: the JSON report, stderr, the exit code and the collected inventory.
fn offline_scan(endpoint: &str) -> (Value, String, i32, String) {
    let saved = tempfile::NamedTempFile::new().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_seg"))
        .args([
            "scan",
            "--provider",
            "aws",
            "--aws-region",
            REGIONS,
            "--aws-account-id",
        ])
        .arg(seg_e2e::DEFAULT_ACCOUNT_ID)
        .args(["--aws-endpoint-url", endpoint, "--format", "json", "--at", AT])
        .arg("--save-inventory")
        .arg(saved.path())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    let inventory = std::fs::read_to_string(saved.path()).unwrap();
    (report, stderr, out.status.code().unwrap_or(-1), inventory)
}

fn scan_status(cp: &ControlPlane) -> Value {
    let text = cp
        .kubectl_ok(
            User::Admin,
            ["get", "scan", "aws", "-n", "tenant-a", "-o", "jsonpath={.status}"],
        )
        .unwrap_or_default();
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Every status the Scan `aws` goes through, one line each (`kubectl get --watch`), kept in the
/// control plane's folder.
const STATUS_HISTORY: &str = "scan-aws-status.log";

fn watch_status(cp: &ControlPlane) -> seg_e2e::ManagedProcess {
    let mut cmd = cp.kubectl_command(User::Admin);
    cmd.args([
        "get",
        "scan",
        "aws",
        "-n",
        "tenant-a",
        "--watch",
        "-o",
        "jsonpath=rv={.metadata.resourceVersion} gen={.status.observedGeneration} \
         phase={.status.phase} lastRun={.status.lastRunTime} \
         lastCompletion={.status.lastCompletionTime} next={.status.nextRunTime} \
         fail={.status.resultCounts.fail} \
         reason={.status.conditions[?(@.type==\"Ready\")].reason}/\
         {.status.conditions[?(@.type==\"Reconciling\")].reason} \
         errors={.status.inventoryErrors[*].service}{\"\\n\"}",
    ]);
    seg_e2e::ManagedProcess::spawn("scan-watch", cmd, cp.dir().join(STATUS_HISTORY)).unwrap()
}

fn status_history(cp: &ControlPlane) -> String {
    std::fs::read_to_string(cp.dir().join(STATUS_HISTORY)).unwrap_or_default()
}

/// The Secret, Benchmark and Scan `aws` (two regions, no schedule) of the tests.
fn apply_scan(cp: &ControlPlane) {
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
apiVersion: seg.neurocipher.io/v1alpha1
kind: Scan
metadata: {{name: aws, namespace: tenant-a}}
spec:
  benchmarkRef: {{name: cis}}
  provider: aws
  aws: {{accountId: '{}', regions: [us-east-1, us-west-2]}}
  credentials: {{secretRef: {{name: aws-audit}}}}
  limits: {{maxFindings: 500}}
",
            seg_e2e::DEFAULT_ACCOUNT_ID
        ),
    )
    .unwrap();
}

/// Poll the Scan's status until `f` holds, and return that status.
fn wait_status(cp: &ControlPlane, what: &str, log: &Path, mut f: impl FnMut(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let s = scan_status(cp);
        if f(&s) {
            return s;
        }
        if start.elapsed() > Duration::from_secs(120) {
            panic!(
                "{what}: not reached in 120 s\nlast status: {s}\noperator log:\n{}\nstatus history:\n{}",
                std::fs::read_to_string(log).unwrap_or_default(),
                status_history(cp)
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn codes(status: &Value) -> BTreeSet<(String, String)> {
    status["inventoryErrors"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    (
                        e["code"].as_str().unwrap_or("").to_string(),
                        e["service"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// ((control, asset URN), result) of a `seg scan --format json` finding.
fn by_urn(f: &Value) -> ((String, String), String) {
    let s = |v: &Value| v.as_str().unwrap().to_string();
    ((s(&f["control_id"]), s(&f["asset"]["urn"])), s(&f["result"]))
}

/// Whether the status reports a failed EC2 read.
fn ec2_reads_failed(status: &Value) -> bool {
    codes(status)
        .iter()
        .any(|(c, svc)| c.starts_with("SEG_ADAPTER_") && svc == "ec2")
}

fn ready_reason(status: &Value) -> String {
    status["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"))
        .and_then(|c| c["reason"].as_str())
        .unwrap_or("")
        .to_string()
}

#[test]
fn aws_scans_give_the_expected_result_per_resource_and_survive_the_api_going_away() {
    let (moto, summary) = start_moto();
    let proxy = ApiProxy::start(moto.port()).unwrap();
    answer_what_moto_lacks(&proxy);

    // Offline: seg scan --provider aws.
    let (report, stderr, code, inventory) = offline_scan(&proxy.endpoint());
    let ids_by_name: BTreeMap<String, String> = inventory
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|i| i["resourceType"] == "AWS::IAM::User")
        .map(|i| {
            (
                i["resourceName"].as_str().unwrap().to_string(),
                i["resourceId"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(code, 0, "a complete run: {stderr}");
    assert!(!stderr.contains("SEG_"), "nothing degraded: {stderr}");
    let findings = report["findings"].as_array().unwrap();
    let offline = results(findings);
    assert_expected(&offline, &summary, &ids_by_name, "seg scan --provider aws");
    assert_eq!(report["run"]["counts"]["error"], 0, "{stderr}");

    // Offline with EC2 refused: a degraded run that evaluates exactly the non-EC2 results. These
    // are the partial counts expected from the operator when EC2 goes away mid-run.
    proxy.fail("ec2", Fault::Refuse);
    let (partial, stderr, code, _) = offline_scan(&proxy.endpoint());
    proxy.clear();
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("SEG_ADAPTER_UNAVAILABLE ec2"),
        "EC2 refused: {stderr}"
    );
    let without_ec2: BTreeMap<_, _> = findings
        .iter()
        .filter(|f| !f["asset"]["urn"].as_str().unwrap().contains(":aws.ec2."))
        .map(by_urn)
        .collect();
    let got: BTreeMap<_, _> = partial["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(by_urn)
        .collect();
    assert_eq!(got, without_ec2, "without EC2: every other result unchanged");
    let partial_counts = partial["run"]["counts"].clone();
    assert!(
        partial_counts["fail"].as_i64().unwrap() > 0
            && partial_counts["fail"].as_i64() < report["run"]["counts"]["fail"].as_i64(),
        "partial: {partial_counts} of {}",
        report["run"]["counts"]
    );

    // Through the operator.
    let cp = ControlPlane::start().unwrap();
    cp.install_seg("tenant-a").unwrap();
    let evidence = tempfile::tempdir().unwrap();
    let evidence_dir = evidence.path().display().to_string();
    let (_operator, log) = cp
        .start_operator(
            Path::new(env!("CARGO_BIN_EXE_seg")),
            "seg-operator",
            &[
                "--aws-endpoint-url",
                &proxy.endpoint(),
                "--retry-seconds",
                &RETRY_SECONDS.to_string(),
                // Well above the time EC2 calls are held below.
                "--aws-timeout-seconds",
                "120",
                "--aws-max-attempts",
                "2",
                "--evidence-dir",
                &evidence_dir,
            ],
        )
        .unwrap();
    apply_scan(&cp);
    let _history = watch_status(&cp);
    let status = wait_status(&cp, "a finished AWS run", &log, |s| {
        matches!(s["phase"].as_str(), Some("Succeeded" | "Failed")) && s["resultCounts"].is_object()
    });
    assert_eq!(status["phase"], "Succeeded", "{status}");
    let first_completion = status["lastCompletionTime"].clone();
    assert!(codes(&status).is_empty(), "{status}");
    assert_eq!(ready_reason(&status), "ScanSucceeded", "{status}");
    for r in ["pass", "fail", "warn", "error"] {
        assert_eq!(
            status["resultCounts"][r], report["run"]["counts"][r],
            "{r}: {status}"
        );
    }
    // One Finding per failing (control, resource), the same set as offline.
    let mut want: Vec<String> = findings
        .iter()
        .filter(|f| f["result"] == "fail")
        .map(|f| seg_crds::finding_name("aws", f["fingerprint"].as_str().unwrap()))
        .collect();
    want.sort();
    let names = cp
        .kubectl_ok(
            User::Admin,
            [
                "get",
                "findings",
                "-n",
                "tenant-a",
                "-l",
                "seg.neurocipher.io/scan=aws",
                "-o",
                "jsonpath={range .items[*]}{.metadata.name}{\"\\n\"}{end}",
            ],
        )
        .unwrap();
    let mut got: Vec<String> = names.lines().map(str::to_string).collect();
    got.sort();
    assert_eq!(got, want);

    // The Finding of the security group open on SSH points to the stored raw EC2 answer that
    // shows it, content-addressed.
    let ssh_open = summary["security_groups"]["ssh_open"].as_str().unwrap();
    let sg_finding = findings
        .iter()
        .find(|f| {
            f["control_id"] == "ec2-sg-no-admin-ingress-ipv4"
                && f["asset"]["urn"].as_str().unwrap().ends_with(ssh_open)
        })
        .unwrap();
    let fname = seg_crds::finding_name("aws", sg_finding["fingerprint"].as_str().unwrap());
    let status: Value = serde_json::from_str(
        &cp.kubectl_ok(
            User::Admin,
            [
                "get",
                "finding",
                &fname,
                "-n",
                "tenant-a",
                "-o",
                "jsonpath={.status}",
            ],
        )
        .unwrap(),
    )
    .unwrap();
    let raw: Vec<&Value> = status["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["mediaType"] == "application/xml")
        .collect();
    assert!(!raw.is_empty(), "no raw evidence: {status}");
    let mut shown = false;
    for e in raw {
        let uri = e["uri"].as_str().unwrap();
        let path = uri.strip_prefix("file://").unwrap();
        let body = std::fs::read(path).unwrap();
        let hex: String = sha256_hex(&body);
        assert_eq!(e["hash"].as_str().unwrap(), format!("sha256:{hex}"), "{uri}");
        assert!(path.starts_with(evidence.path().to_str().unwrap()), "{path}");
        shown |= String::from_utf8_lossy(&body).contains(ssh_open);
    }
    assert!(shown, "no stored response names {ssh_open}: {status}");

    // The simulator is killed while a run is reading EC2: EC2 calls are held at the proxy until
    // every other service has answered, moto is killed, and the held calls go on to a dead port.
    // The run ends Failed with a SEG_ code for EC2 and exactly the partial counts.
    //
    // A new generation of the Scan starts the run.
    proxy.fail("ec2", Fault::Hold);
    cp.kubectl_ok(
        User::Admin,
        [
            "patch",
            "scan",
            "aws",
            "-n",
            "tenant-a",
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"limits":{"maxFindings":499}}}"#,
        ],
    )
    .unwrap();
    proxy
        .wait_held("ec2", Duration::from_secs(60))
        .unwrap_or_else(|e| {
            panic!(
                "{e}\noperator log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            )
        });
    proxy
        .wait_quiet(Duration::from_secs(2), Duration::from_secs(60))
        .unwrap();
    drop(moto);
    let killed_at = Instant::now();
    let sts_at_kill = proxy.seen("sts");
    proxy.release();
    let killed = wait_status(&cp, "the run that lost EC2", &log, |s| {
        s["observedGeneration"] == 2
            && s["lastCompletionTime"].is_string()
            && s["lastCompletionTime"] != first_completion
    });
    assert_eq!(killed["phase"], "Failed", "{killed}");
    assert!(
        ec2_reads_failed(&killed),
        "a SEG_ code for the EC2 reads: {killed}"
    );
    for r in ["pass", "fail", "warn", "error"] {
        assert_eq!(
            killed["resultCounts"][r], partial_counts[r],
            "{r}: {killed}\npartial offline: {partial_counts}\nfull: {}\nproxy: {proxy:?}",
            report["run"]["counts"]
        );
    }
    let time = |v: &Value| seg_engine::time::Timestamp::parse(v.as_str().unwrap()).unwrap();
    assert!(
        time(&killed["nextRunTime"]) > time(&killed["lastCompletionTime"]),
        "a failed run says when it is retried: {killed}"
    );

    // While the simulator is down nothing can be read: the Scan says so and keeps the counts.
    let down = wait_status(&cp, "a run that cannot reach the API", &log, |s| {
        codes(s)
            .iter()
            .any(|(c, svc)| c.starts_with("SEG_ADAPTER_") && svc == "sts")
    });
    assert_eq!(ready_reason(&down), "InventoryUnavailable", "{down}");
    assert_eq!(
        down["resultCounts"], killed["resultCounts"],
        "counts kept: {down}"
    );

    // Runs are retried every RETRY_SECONDS, not in a loop: each makes at most two STS attempts
    // (--aws-max-attempts 2).
    let runs = killed_at.elapsed().as_secs() / RETRY_SECONDS + 2;
    let sts = proxy.seen("sts") - sts_at_kill;
    assert!(sts <= 2 * runs, "{sts} STS calls in {:?}", killed_at.elapsed());

    // Back (empty, seeded again): the next run recovers the full result.
    let (moto, _) = start_moto();
    proxy.set_upstream(moto.port());
    let back = wait_status(&cp, "a run that reads the account again", &log, |s| {
        s["phase"] == "Succeeded"
    });
    assert!(codes(&back).is_empty(), "{back}");
    for r in ["pass", "fail", "warn", "error"] {
        assert_eq!(back["resultCounts"][r], report["run"]["counts"][r], "{r}: {back}");
    }
    let event_reasons = cp
        .kubectl_ok(
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
        .unwrap();
    assert!(event_reasons.contains("InventoryIncomplete"), "{event_reasons}");

    // A Scan whose credentials Secret is missing fails, says why, and stays put until it is
    // re-checked (no loop of status writes, which would each start it again).
    cp.apply(
        User::Admin,
        &format!(
            "apiVersion: seg.neurocipher.io/v1alpha1
kind: Scan
metadata: {{name: aws-nosecret, namespace: tenant-a}}
spec:
  benchmarkRef: {{name: cis}}
  provider: aws
  aws: {{accountId: '{}', regions: [us-east-1]}}
  credentials: {{secretRef: {{name: not-there}}}}
",
            seg_e2e::DEFAULT_ACCOUNT_ID
        ),
    )
    .unwrap();
    let get = |path: &str| {
        cp.kubectl_ok(
            User::Admin,
            [
                "get",
                "scan",
                "aws-nosecret",
                "-n",
                "tenant-a",
                "-o",
                &format!("jsonpath={path}"),
            ],
        )
        .unwrap_or_default()
    };
    let start = Instant::now();
    while get("{.status.phase}") != "Failed" {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "not Failed: {}",
            get("{.status}")
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let version = get("{.metadata.resourceVersion}");
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        get("{.metadata.resourceVersion}"),
        version,
        "{}",
        get("{.status}")
    );
    let message = get("{.status.conditions[?(@.type==\"Ready\")].message}");
    assert!(message.contains("not-there"), "{message}");
}

/// The operator decides from its cache of Scans, which a watch fills, whether a Scan needs a run.
/// On a busy API server the watch event of a status the operator has just written can arrive
/// after the reconcile that follows the write has read the cache. That outdated copy (phase
/// `Running`) must not start another run: the status the run wrote says none is due (here:
/// `Succeeded` without a schedule; after a failed run, not before `nextRunTime`), and a run
/// started from it writes the outdated fields back (`lastCompletionTime`, `resultCounts`). Here
/// the operator's watches are late on purpose ([`WatchLag`]), so that this happens at every run.
#[test]
fn a_finished_run_is_not_started_again_from_a_cache_that_has_not_seen_its_status() {
    let (moto, _) = start_moto();
    let proxy = ApiProxy::start(moto.port()).unwrap();
    answer_what_moto_lacks(&proxy);
    let cp = ControlPlane::start().unwrap();
    cp.install_seg("tenant-a").unwrap();
    let lag = WatchLag::start(cp.port(), WATCH_LAG).unwrap();
    let kubeconfig = cp.kubeconfig_via(User::Operator, lag.port()).unwrap();
    let (_operator, log) = cp
        .start_operator_with(
            Path::new(env!("CARGO_BIN_EXE_seg")),
            "seg-operator",
            &[
                "--aws-endpoint-url",
                &proxy.endpoint(),
                "--retry-seconds",
                &RETRY_SECONDS.to_string(),
                "--aws-max-attempts",
                "2",
            ],
            &kubeconfig,
        )
        .unwrap();
    apply_scan(&cp);
    let _history = watch_status(&cp);
    let done = wait_status(&cp, "a completed run", &log, |s| {
        s["lastCompletionTime"].is_string()
    });
    // Until every late event of the run has arrived and been acted on.
    std::thread::sleep(WATCH_LAG * 3);
    let after = scan_status(&cp);
    let runs = proxy.seen("sts");
    assert!(
        runs == 1 && after["lastRunTime"] == done["lastRunTime"],
        "{runs} runs (sts:GetCallerIdentity calls) of an unchanged Scan without a schedule\n\
         first completed: {done}\nnow: {after}\nstatus history:\n{}",
        status_history(&cp)
    );
    assert_eq!(after["phase"], "Succeeded", "{after}");
    assert_eq!(after["lastCompletionTime"], done["lastCompletionTime"], "{after}");
}
