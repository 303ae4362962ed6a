//! The Benchmark controller end to end: the `seg operator` binary, run as the operator's service
//! account against a real kube-apiserver, loads built-in and ConfigMap bundles and reports in
//! status; a tampered bundle leaves the Benchmark not Ready with a reason naming the file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use seg_e2e::{repo_root, ControlPlane, User};

fn get(cp: &ControlPlane, name: &str, path: &str) -> String {
    cp.kubectl(
        User::Admin,
        [
            "get",
            "benchmark",
            name,
            "-n",
            "tenant-a",
            "-o",
            &format!("jsonpath={path}"),
        ],
    )
    .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
    .unwrap_or_default()
}

fn wait_for(cp: &ControlPlane, name: &str, path: &str, want: impl Fn(&str) -> bool, log: &Path) -> String {
    let start = Instant::now();
    loop {
        let got = get(cp, name, path);
        if want(&got) {
            return got;
        }
        if start.elapsed() > Duration::from_secs(60) {
            let log = std::fs::read_to_string(log).unwrap_or_default();
            panic!("benchmark {name}: {path} is {got:?} after 60 s\noperator log:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn tar_bundle(dir: &Path, out: &Path) {
    let ok = Command::new("tar")
        .arg("czf")
        .arg(out)
        .arg("-C")
        .arg(dir)
        .arg(".")
        .status()
        .unwrap();
    assert!(ok.success());
}

#[test]
fn benchmarks_load_verified_bundles_and_report_tampering() {
    let cp = ControlPlane::start().unwrap();
    let root = repo_root();
    cp.install_seg("tenant-a").unwrap();
    // ConfigMap bundles must be signed by a key the operator trusts: here the development key.
    let trusted = root.join("policy-bundles/keys/seg-dev.pub").display().to_string();
    let (mut operator, log) = cp
        .start_operator(
            Path::new(env!("CARGO_BIN_EXE_seg")),
            "seg-operator",
            &["--trusted-bundle-key", &trusted],
        )
        .unwrap();

    // A built-in bundle, verified with the key it ships with.
    cp.apply(
        User::Admin,
        "apiVersion: seg.neurocipher.io/v1alpha1
kind: Benchmark
metadata: {name: cis, namespace: tenant-a}
spec:
  source: {builtin: cis-aws-foundations}
",
    )
    .unwrap();
    wait_for(
        &cp,
        "cis",
        "{.status.conditions[?(@.type==\"Ready\")].status}",
        |s| s == "True",
        &log,
    );
    assert_eq!(get(&cp, "cis", "{.status.controlCount}"), "43");
    assert_eq!(get(&cp, "cis", "{.status.signatureVerified}"), "true");
    assert_eq!(get(&cp, "cis", "{.status.bundleId}"), "cis-aws-foundations");

    // The same bundle from a ConfigMap, with its key from another ConfigMap; then a copy with one
    // byte of one policy changed.
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("good.tar.gz");
    tar_bundle(&root.join("policy-bundles/cis-aws-foundations"), &good);
    let copy = tmp.path().join("copy");
    std::fs::create_dir_all(&copy).unwrap();
    let status = Command::new("cp")
        .arg("-r")
        .arg(root.join("policy-bundles/cis-aws-foundations/."))
        .arg(&copy)
        .status()
        .unwrap();
    assert!(status.success());
    let victim = copy.join("policies/iam-root-mfa-enabled.rego");
    let mut bytes = std::fs::read(&victim).unwrap();
    let last = bytes.len() - 1;
    bytes[last] = b' ';
    std::fs::write(&victim, bytes).unwrap();
    let bad = tmp.path().join("bad.tar.gz");
    tar_bundle(&copy, &bad);
    for (name, file) in [("good-bundle", &good), ("bad-bundle", &bad)] {
        cp.kubectl_ok(
            User::Admin,
            [
                "create",
                "configmap",
                name,
                "-n",
                "tenant-a",
                &format!("--from-file=bundle.tar.gz={}", file.display()),
            ],
        )
        .unwrap();
    }
    let key = root.join("policy-bundles/keys/seg-dev.pub");
    cp.kubectl_ok(
        User::Admin,
        [
            "create",
            "configmap",
            "bundle-keys",
            "-n",
            "tenant-a",
            &format!("--from-file=dev.pub={}", key.display()),
        ],
    )
    .unwrap();
    for (name, cm) in [("from-configmap", "good-bundle"), ("tampered", "bad-bundle")] {
        cp.apply(
            User::Admin,
            &format!(
                "apiVersion: seg.neurocipher.io/v1alpha1
kind: Benchmark
metadata: {{name: {name}, namespace: tenant-a}}
spec:
  source: {{configMap: {{name: {cm}, key: bundle.tar.gz}}}}
  publicKeys:
    - configMapKeyRef: {{name: bundle-keys, key: dev.pub}}
"
            ),
        )
        .unwrap();
    }
    wait_for(
        &cp,
        "from-configmap",
        "{.status.conditions[?(@.type==\"Ready\")].status}",
        |s| s == "True",
        &log,
    );
    assert_eq!(
        get(&cp, "from-configmap", "{.status.digest}"),
        get(&cp, "cis", "{.status.digest}")
    );

    wait_for(
        &cp,
        "tampered",
        "{.status.conditions[?(@.type==\"Ready\")].status}",
        |s| s == "False",
        &log,
    );
    assert_eq!(
        get(
            &cp,
            "tampered",
            "{.status.conditions[?(@.type==\"Stalled\")].status}"
        ),
        "True"
    );
    assert_eq!(
        get(
            &cp,
            "tampered",
            "{.status.conditions[?(@.type==\"Ready\")].reason}"
        ),
        "SignatureInvalid"
    );
    let message = get(
        &cp,
        "tampered",
        "{.status.conditions[?(@.type==\"Ready\")].message}",
    );
    assert!(
        message.contains("policies/iam-root-mfa-enabled.rego"),
        "{message}"
    );

    // An unchanged Benchmark is not rewritten by later reconciles.
    let rv = get(&cp, "cis", "{.metadata.resourceVersion}");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(get(&cp, "cis", "{.metadata.resourceVersion}"), rv);

    // The reader sees status; the outsider is refused.
    let out = cp
        .kubectl(User::Outsider, ["get", "benchmarks", "-n", "tenant-a"])
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Forbidden"));
    operator.stop();
}
