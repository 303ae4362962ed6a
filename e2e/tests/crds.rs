//! The CustomResourceDefinitions of `crds/` and the examples of `examples/` against a real
//! kube-apiserver: they install and apply as they are, `kubectl get seg`, `kubectl explain` and the
//! status subresource work, the CEL rules reject invalid objects with messages naming the field,
//! and RBAC separates the reader from the outsider.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Output;

use seg_e2e::{repo_root, ControlPlane, User};

const NS: &str = "tenant-a";
const FINDING: &str = "f-d08ba659dd54a4b837ccdc0f70dc7781db5b6545";

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The `.yaml` files of a folder of the repository, sorted by name.
fn yaml_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo_root().join(dir))
        .unwrap_or_else(|e| panic!("reading {dir}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

/// Installs the CRDs as the admin, waits until they are served, and creates the namespace.
fn install(cp: &ControlPlane) {
    let mut args = vec!["apply".to_owned()];
    for file in yaml_files("crds") {
        args.push("-f".to_owned());
        args.push(file.display().to_string());
    }
    cp.kubectl_ok(User::Admin, &args).unwrap();
    cp.kubectl_ok(
        User::Admin,
        [
            "wait",
            "--for=condition=Established",
            "crd/benchmarks.seg.neurocipher.io",
            "crd/scans.seg.neurocipher.io",
            "crd/findings.seg.neurocipher.io",
            "--timeout=60s",
        ],
    )
    .unwrap();
    let namespace = repo_root().join("examples/00-namespace.yaml");
    cp.kubectl_ok(User::Admin, ["apply", "-f", namespace.to_str().unwrap()])
        .unwrap();
}

/// Applies `yaml` as the admin and returns the error text; panics if it was accepted.
fn rejected(cp: &ControlPlane, what: &str, yaml: &str) -> String {
    match cp.apply(User::Admin, yaml) {
        Ok(out) => panic!("{what} was accepted: {out}"),
        Err(err) => err.to_string(),
    }
}

fn scan(spec: &str) -> String {
    format!(
        "apiVersion: seg.neurocipher.io/v1alpha1
kind: Scan
metadata: {{name: invalid, namespace: {NS}}}
spec:
  benchmarkRef: {{name: cis-aws}}
{spec}"
    )
}

#[test]
fn crds_install_and_examples_apply_as_they_are() {
    let cp = ControlPlane::start().unwrap();
    install(&cp);

    // Every example applies as it is.
    for file in yaml_files("examples") {
        cp.kubectl_ok(User::Admin, ["apply", "-f", file.to_str().unwrap()])
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    }

    // `kubectl get seg` lists every kind through the category.
    let names = cp
        .kubectl_ok(User::Admin, ["get", "seg", "-n", NS, "-o", "name"])
        .unwrap();
    let mut names: Vec<String> = names.lines().map(str::to_owned).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "benchmark.seg.neurocipher.io/cis-aws".to_owned(),
            "benchmark.seg.neurocipher.io/cis-aws-iam".to_owned(),
            format!("finding.seg.neurocipher.io/{FINDING}"),
            "scan.seg.neurocipher.io/aws-production".to_owned(),
            "scan.seg.neurocipher.io/inventory-demo".to_owned(),
        ]
    );
    // The printer columns.
    let table = cp.kubectl_ok(User::Admin, ["get", "seg", "-A"]).unwrap();
    for column in [
        "BUNDLE",
        "VERIFIED",
        "BENCHMARK",
        "PROVIDER",
        "PHASE",
        "CONTROL",
        "SEVERITY",
        "STATE",
    ] {
        assert!(table.contains(column), "no column {column} in:\n{table}");
    }
    assert!(table.contains("ebs-volume-encrypted"), "{table}");
    // Short names.
    for short in ["bm", "scn", "fnd"] {
        cp.kubectl_ok(User::Admin, ["get", short, "-n", NS]).unwrap();
    }

    // `kubectl explain` shows the doc comments of the types.
    let explain = cp.kubectl_ok(User::Admin, ["explain", "finding.spec"]).unwrap();
    for text in [
        "assetUrn",
        "bundleId",
        "controlId",
        "controlVersion",
        "fingerprint",
        "scanRef",
        "severity",
        "Immutable",
    ] {
        assert!(
            explain.contains(text),
            "explain finding.spec lacks {text}:\n{explain}"
        );
    }
    let explain = cp
        .kubectl_ok(User::Admin, ["explain", "scan.spec.credentials"])
        .unwrap();
    assert!(
        explain.contains("workloadIdentity") && explain.contains("secretRef"),
        "{explain}"
    );

    // `kubectl describe scan` shows the spec.
    let describe = cp
        .kubectl_ok(User::Admin, ["describe", "scan", "aws-production", "-n", NS])
        .unwrap();
    assert!(
        describe.contains("arn:aws:iam::123456789012:role/seg-audit"),
        "{describe}"
    );

    // The status subresource: readable on its own, written only through it.
    let base = format!("/apis/seg.neurocipher.io/v1alpha1/namespaces/{NS}/scans/inventory-demo");
    let raw = cp
        .kubectl_ok(User::Admin, ["get", "--raw", &format!("{base}/status")])
        .unwrap();
    let raw: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(raw["kind"], "Scan");
    assert!(raw.get("status").is_none(), "no controller runs, yet: {raw}");
    let status = r#"{"status":{"observedGeneration":1,"phase":"Succeeded","resultCounts":{"pass":7,"fail":3},
        "severityCounts":{"medium":3},"lastRunTime":"2026-11-23T12:00:00Z",
        "conditions":[{"type":"Ready","status":"True","reason":"RunSucceeded",
        "lastTransitionTime":"2026-11-23T12:00:01Z","observedGeneration":1}]}}"#;
    cp.kubectl_ok(
        User::Admin,
        [
            "patch",
            "scan",
            "inventory-demo",
            "-n",
            NS,
            "--subresource=status",
            "--type=merge",
            "-p",
            status,
        ],
    )
    .unwrap();
    let phase = cp
        .kubectl_ok(
            User::Admin,
            [
                "get",
                "scan",
                "inventory-demo",
                "-n",
                NS,
                "-o",
                "jsonpath={.status.phase} {.status.resultCounts.fail} {.status.resultCounts.notApplicable}",
            ],
        )
        .unwrap();
    assert_eq!(phase, "Succeeded 3 0", "counts default to 0");
    // A status sent with the main resource is ignored.
    cp.kubectl_ok(
        User::Admin,
        [
            "patch",
            "scan",
            "inventory-demo",
            "-n",
            NS,
            "--type=merge",
            "-p",
            r#"{"status":{"phase":"Failed"}}"#,
        ],
    )
    .unwrap();
    let phase = cp
        .kubectl_ok(
            User::Admin,
            [
                "get",
                "scan",
                "inventory-demo",
                "-n",
                NS,
                "-o",
                "jsonpath={.status.phase}",
            ],
        )
        .unwrap();
    assert_eq!(phase, "Succeeded");
    // An invalid status is refused by the schema.
    let bad = cp
        .kubectl(
            User::Admin,
            [
                "patch",
                "scan",
                "inventory-demo",
                "-n",
                NS,
                "--subresource=status",
                "--type=merge",
                "-p",
                r#"{"status":{"phase":"Done"}}"#,
            ],
        )
        .unwrap();
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("status.phase"), "{}", stderr(&bad));
    // Defaults filled in by the apiserver.
    let limits = cp
        .kubectl_ok(
            User::Admin,
            [
                "get",
                "scan",
                "inventory-demo",
                "-n",
                NS,
                "-o",
                "jsonpath={.spec.limits.maxFindings} {.spec.suspend}",
            ],
        )
        .unwrap();
    assert_eq!(limits, "1000 false");

    // The reader can list and get, also across namespaces, but not change anything.
    let listed = cp
        .kubectl_ok(User::Reader, ["get", "seg", "-n", NS, "-o", "name"])
        .unwrap();
    assert_eq!(listed.lines().count(), 5, "{listed}");
    cp.kubectl_ok(User::Reader, ["get", "scans", "-A"]).unwrap();
    cp.kubectl_ok(User::Reader, ["get", "--raw", &format!("{base}/status")])
        .unwrap();
    let denied = cp
        .kubectl(User::Reader, ["delete", "scan", "inventory-demo", "-n", NS])
        .unwrap();
    assert!(!denied.status.success());
    assert!(stderr(&denied).contains("Forbidden"), "{}", stderr(&denied));

    // The outsider is refused with 403.
    for resource in ["scans", "benchmarks", "findings"] {
        let denied = cp
            .kubectl(User::Outsider, ["get", resource, "-n", NS, "-v=6"])
            .unwrap();
        assert!(!denied.status.success(), "outsider could list {resource}");
        let err = stderr(&denied);
        assert!(err.contains("403") && err.contains("Forbidden"), "{err}");
        assert!(
            err.contains(&format!("User \"outsider\" cannot list resource \"{resource}\"")),
            "{err}"
        );
    }
}

#[test]
fn cel_rules_reject_invalid_objects() {
    let cp = ControlPlane::start().unwrap();
    install(&cp);
    for file in [
        "benchmark-cis-aws.yaml",
        "scan-inventory.yaml",
        "finding-example.yaml",
    ] {
        let path = repo_root().join("examples").join(file);
        cp.kubectl_ok(User::Admin, ["apply", "-f", path.to_str().unwrap()])
            .unwrap();
    }

    // Scan: the scope block must match the provider.
    let err = rejected(
        &cp,
        "aws scan without spec.aws",
        &scan("  provider: aws\n  credentials: {secretRef: {name: aws-credentials}}\n"),
    );
    assert!(
        err.contains("spec.aws: Invalid value") && err.contains("spec.aws must be set when provider is aws"),
        "{err}"
    );
    let err = rejected(
        &cp,
        "inventory scan with an aws block",
        &scan(
            "  provider: inventory\n  inventory: {path: a.jsonl}\n  \
             aws: {accountId: '123456789012', regions: [us-east-1]}\n",
        ),
    );
    assert!(err.contains("spec.aws: Invalid value"), "{err}");

    // Scan: maxFindings > 0.
    let err = rejected(
        &cp,
        "maxFindings 0",
        &scan("  provider: inventory\n  inventory: {path: a.jsonl}\n  limits: {maxFindings: 0}\n"),
    );
    assert!(
        err.contains("spec.limits.maxFindings") && err.contains("must be greater than 0"),
        "{err}"
    );

    // Scan: a schedule is a cron expression, never empty.
    for schedule in ["''", "'* * *'"] {
        let err = rejected(
            &cp,
            "bad schedule",
            &scan(&format!(
                "  provider: inventory\n  inventory: {{path: a.jsonl}}\n  schedule: {schedule}\n"
            )),
        );
        assert!(
            err.contains("spec.schedule") && err.contains("cron expression"),
            "{err}"
        );
    }
    cp.apply(
        User::Admin,
        &scan("  provider: inventory\n  inventory: {path: a.jsonl}\n  schedule: '@daily'\n"),
    )
    .unwrap();
    cp.kubectl_ok(User::Admin, ["delete", "scan", "invalid", "-n", NS])
        .unwrap();

    // Scan: credentials are references, required for clouds, refused for inventories.
    let err = rejected(
        &cp,
        "aws scan without credentials",
        &scan("  provider: aws\n  aws: {accountId: '123456789012', regions: [us-east-1]}\n"),
    );
    assert!(err.contains("spec.credentials: Invalid value"), "{err}");
    let err = rejected(
        &cp,
        "inline secret",
        &scan(
            "  provider: aws\n  aws: {accountId: '123456789012', regions: [us-east-1]}\n  \
             credentials: {secretRef: {name: aws}, secretAccessKey: abc}\n",
        ),
    );
    assert!(
        err.contains("unknown field \"spec.credentials.secretAccessKey\""),
        "{err}"
    );
    let err = rejected(
        &cp,
        "azure identity on an aws scan",
        &scan(
            "  provider: aws\n  aws: {accountId: '123456789012', regions: [us-east-1]}\n  \
             credentials: {workloadIdentity: {clientId: 00000000-0000-0000-0000-000000000000}}\n",
        ),
    );
    assert!(err.contains("spec.credentials.workloadIdentity"), "{err}");

    // Scan: paths stay inside the operator's directories.
    let err = rejected(
        &cp,
        "absolute inventory path",
        &scan("  provider: inventory\n  inventory: {path: /etc/passwd}\n"),
    );
    assert!(err.contains("spec.inventory.path"), "{err}");

    // Scan: benchmarkRef is immutable.
    let err = rejected(
        &cp,
        "changed benchmarkRef",
        &format!(
            "apiVersion: seg.neurocipher.io/v1alpha1
kind: Scan
metadata: {{name: inventory-demo, namespace: {NS}}}
spec:
  benchmarkRef: {{name: another}}
  provider: inventory
  inventory: {{configMapKeyRef: {{name: inventory-demo, key: items.jsonl}}}}
"
        ),
    );
    assert!(
        err.contains("spec.benchmarkRef") && err.contains("benchmarkRef is immutable"),
        "{err}"
    );

    // Benchmark: exactly one source; a ConfigMap bundle needs a key.
    let err = rejected(
        &cp,
        "two sources",
        &format!(
            "apiVersion: seg.neurocipher.io/v1alpha1
kind: Benchmark
metadata: {{name: invalid, namespace: {NS}}}
spec: {{source: {{builtin: cis-aws-foundations, configMap: {{name: bundle}}}}}}
"
        ),
    );
    assert!(
        err.contains("exactly one of source.builtin or source.configMap must be set"),
        "{err}"
    );
    assert!(err.contains("spec.publicKeys"), "{err}");

    // Finding: the spec is immutable.
    let out = cp
        .kubectl(
            User::Admin,
            [
                "patch",
                "finding",
                FINDING,
                "-n",
                NS,
                "--type=merge",
                "-p",
                r#"{"spec":{"severity":"low"}}"#,
            ],
        )
        .unwrap();
    assert!(!out.status.success(), "finding spec was changed");
    assert!(stderr(&out).contains("spec: Invalid value") && stderr(&out).contains("spec is immutable"));
    // The status of a Finding is still writable.
    cp.kubectl_ok(
        User::Admin,
        [
            "patch",
            "finding",
            FINDING,
            "-n",
            NS,
            "--subresource=status",
            "--type=merge",
            "-p",
            r#"{"status":{"result":"fail","state":"Open","firstSeen":"2026-11-23T12:00:00Z","lastSeen":"2026-11-23T12:00:00Z"}}"#,
        ],
    )
    .unwrap();
    let state = cp
        .kubectl_ok(
            User::Admin,
            [
                "get",
                "finding",
                FINDING,
                "-n",
                NS,
                "-o",
                "jsonpath={.status.state}",
            ],
        )
        .unwrap();
    assert_eq!(state, "Open");
}
