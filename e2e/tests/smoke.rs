//! Smoke tests of the test environment: a real kube-apiserver with RBAC and test users, and the
//! moto AWS simulator. They fail (never skip) when the binaries are missing; run them through
//! `bash e2e/test-all.sh`, which builds everything first.

use std::time::Instant;

use seg_e2e::{repo_root, ControlPlane, Moto, User};

const CRD: &str = "smokechecks.seg.neurocipher.io";

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn control_plane_enforces_rbac_for_test_users() {
    let started = Instant::now();
    let cp = ControlPlane::start().unwrap();

    // The admin installs the CRD with kubectl and waits until it is served.
    let crd = repo_root().join("e2e/fixtures/smoke-crd.yaml");
    cp.kubectl_ok(User::Admin, ["apply", "-f", crd.to_str().unwrap()])
        .unwrap();
    cp.kubectl_ok(
        User::Admin,
        [
            "wait",
            "--for=condition=Established",
            &format!("crd/{CRD}"),
            "--timeout=60s",
        ],
    )
    .unwrap();

    // The admin creates and lists an object.
    cp.apply(
        User::Admin,
        "apiVersion: seg.neurocipher.io/v1alpha1
kind: SmokeCheck
metadata:
  name: hello
  namespace: default
spec:
  message: hello from the smoke test
  replicas: 1
",
    )
    .unwrap();
    let names = cp
        .kubectl_ok(
            User::Admin,
            [
                "get",
                "smokechecks",
                "-n",
                "default",
                "-o",
                "jsonpath={.items[*].metadata.name}",
            ],
        )
        .unwrap();
    assert_eq!(names.trim(), "hello");

    // The CRD's CEL rule is enforced by the real apiserver.
    let invalid = cp
        .apply(
            User::Admin,
            "apiVersion: seg.neurocipher.io/v1alpha1
kind: SmokeCheck
metadata: {name: too-many, namespace: default}
spec: {message: x, replicas: 11}
",
        )
        .unwrap_err()
        .to_string();
    assert!(
        invalid.contains("replicas must be at most 10"),
        "unexpected error: {invalid}"
    );

    // The outsider is refused by the apiserver: 403 Forbidden.
    let denied = cp
        .kubectl(User::Outsider, ["get", "smokechecks", "-n", "default", "-v=6"])
        .unwrap();
    assert!(!denied.status.success(), "outsider could list smokechecks");
    let err = stderr(&denied);
    assert!(err.contains("Forbidden"), "expected Forbidden, got: {err}");
    assert!(err.contains("403"), "expected HTTP 403, got: {err}");
    assert!(
        err.contains("User \"outsider\" cannot list resource \"smokechecks\""),
        "unexpected denial: {err}"
    );

    // The outsider cannot write either.
    let write = cp
        .kubectl(User::Outsider, ["delete", "smokecheck", "hello", "-n", "default"])
        .unwrap();
    assert!(!write.status.success());
    assert!(stderr(&write).contains("Forbidden"), "{}", stderr(&write));

    // The reader can list and get it, but not delete it.
    let listed = cp
        .kubectl_ok(
            User::Reader,
            [
                "get",
                "smokechecks",
                "-n",
                "default",
                "-o",
                "jsonpath={.items[*].metadata.name}",
            ],
        )
        .unwrap();
    assert_eq!(listed.trim(), "hello");
    let message = cp
        .kubectl_ok(
            User::Reader,
            [
                "get",
                "smokecheck",
                "hello",
                "-n",
                "default",
                "-o",
                "jsonpath={.spec.message}",
            ],
        )
        .unwrap();
    assert_eq!(message, "hello from the smoke test");
    let reader_delete = cp
        .kubectl(User::Reader, ["delete", "smokecheck", "hello", "-n", "default"])
        .unwrap();
    assert!(!reader_delete.status.success());
    assert!(stderr(&reader_delete).contains("Forbidden"));

    // The approver has the same read rights for now; the operator's service account has none
    // until the chart's RBAC is applied.
    let approver = cp
        .kubectl_ok(
            User::Approver,
            ["auth", "can-i", "list", "smokechecks.seg.neurocipher.io"],
        )
        .unwrap();
    assert_eq!(approver.trim(), "yes");
    let operator = cp
        .kubectl(
            User::Operator,
            ["auth", "can-i", "list", "smokechecks.seg.neurocipher.io"],
        )
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&operator.stdout).trim(), "no");
    let whoami = cp
        .kubectl_ok(
            User::Operator,
            ["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"],
        )
        .unwrap();
    assert_eq!(whoami, "system:serviceaccount:seg-system:seg-operator");

    eprintln!(
        "control plane smoke test took {:.1}s",
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn moto_serves_seeded_aws_resources() {
    let started = Instant::now();
    let moto = Moto::start().unwrap();

    let summary: serde_json::Value = serde_json::from_str(&moto.seed(Vec::<&str>::new()).unwrap()).unwrap();
    assert_eq!(summary["account_id"], "123456789012");
    let second: serde_json::Value =
        serde_json::from_str(&moto.seed(["--account-id", "210987654321"]).unwrap()).unwrap();
    assert_eq!(second["account_id"], "210987654321");

    // Ask the server (not the seeding script) what exists, per account.
    let out = moto
        .run_python(
            r#"
import json, boto3

def client(service, account):
    c = boto3.client(service)
    c.meta.events.register(
        "before-sign.*.*",
        lambda request, **_: request.headers.__setitem__("x-moto-account-id", account),
    )
    return c

result = {}
for account in ["123456789012", "210987654321"]:
    s3 = client("s3", account)
    ec2 = client("ec2", account)
    buckets = sorted(b["Name"] for b in s3.list_buckets()["Buckets"])
    open_ssh = sorted(
        g["GroupName"]
        for g in ec2.describe_security_groups(
            Filters=[{"Name": "ip-permission.cidr", "Values": ["0.0.0.0/0"]}]
        )["SecurityGroups"]
        if any(p.get("FromPort") == 22 for p in g["IpPermissions"])
    )
    result[account] = {
        "buckets": buckets,
        "open_ssh": open_ssh,
        "users": [u["UserName"] for u in client("iam", account).list_users()["Users"]],
        "trails": [t["Name"] for t in client("cloudtrail", account).describe_trails()["trailList"]],
    }
print(json.dumps(result))
"#,
        )
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let first = &seen["123456789012"];
    assert_eq!(
        first["buckets"],
        serde_json::json!([
            "seg-e2e-cloudtrail-logs-123456789012",
            "seg-e2e-private-123456789012",
            "seg-e2e-public-123456789012"
        ])
    );
    assert_eq!(first["open_ssh"], serde_json::json!(["seg-e2e-ssh-open"]));
    assert_eq!(first["users"], serde_json::json!(["seg-e2e-user"]));
    assert_eq!(first["trails"], serde_json::json!(["seg-e2e-trail"]));
    assert_eq!(
        seen["210987654321"]["buckets"][0],
        "seg-e2e-cloudtrail-logs-210987654321"
    );

    eprintln!("moto smoke test took {:.1}s", started.elapsed().as_secs_f64());
}
