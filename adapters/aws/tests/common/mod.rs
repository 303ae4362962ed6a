//! Shared helpers of the integration tests: the IAM policy check.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use aws_credential_types::Credentials;
use seg_adapter_aws::{AwsScanConfig, SharedCredentialsProvider};
use seg_e2e::Moto;
use seg_engine::time::Timestamp;
use serde_json::Value;

/// The collection time of every test.
pub const AT: &str = "2026-11-23T12:00:00Z";

/// moto's static test credentials.
pub fn creds() -> SharedCredentialsProvider {
    SharedCredentialsProvider::new(Credentials::new("testing", "testing", None, None, "seg-test"))
}

/// A one-region (us-east-1) collection against `endpoint`, 20 s per attempt, 2 attempts.
pub fn config(endpoint: &str) -> AwsScanConfig {
    let mut c = AwsScanConfig::new(vec!["us-east-1".into()], Timestamp::parse(AT).unwrap());
    c.endpoint_url = Some(endpoint.to_string());
    c.timeout = Duration::from_secs(20);
    c.max_attempts = 2;
    c
}

/// A moto server with the AWS managed policies loaded (the IAM collector reads
/// AWSSupportAccess, ...; moto loads them only when asked, and the server inherits this
/// process's environment).
pub fn start_moto() -> Moto {
    std::env::set_var("MOTO_IAM_LOAD_MANAGED_POLICIES", "true");
    Moto::start().expect("moto server (run `bash e2e/scripts/moto-venv.sh` first)")
}

/// Runs the seeding script `e2e/scripts/<script>` against `moto` and parses its JSON summary.
pub fn seed(moto: &Moto, script: &str, args: &[&str]) -> Value {
    let out = moto.run_script(script, args).unwrap();
    serde_json::from_str(&out).expect("seed summary JSON")
}

/// A two-thread runtime for the async adapter.
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Calls that need no permission of the scanned role: `GetCallerIdentity` needs none, and
/// `AssumeRole` is a permission of the caller (the operator's identity), not of the role.
pub const NOT_IN_ROLE_POLICY: &[&str] = &["sts:GetCallerIdentity", "sts:AssumeRole"];

pub fn policy_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("iam-policy.json")
}

fn as_list(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    }
}

/// Every action the policy allows.
pub fn policy_actions() -> BTreeSet<String> {
    let text = std::fs::read_to_string(policy_path()).expect("iam-policy.json");
    let doc: Value = serde_json::from_str(&text).expect("iam-policy.json is JSON");
    let mut out = BTreeSet::new();
    for st in doc["Statement"].as_array().expect("Statement list") {
        assert_eq!(st["Effect"], "Allow");
        out.extend(as_list(&st["Action"]));
    }
    out
}

/// The statements as (actions, resources).
pub fn policy_statements() -> Vec<(Vec<String>, Vec<String>)> {
    let text = std::fs::read_to_string(policy_path()).expect("iam-policy.json");
    let doc: Value = serde_json::from_str(&text).expect("iam-policy.json is JSON");
    doc["Statement"]
        .as_array()
        .expect("Statement list")
        .iter()
        .map(|st| (as_list(&st["Action"]), as_list(&st["Resource"])))
        .collect()
}

/// Fails if a call is not allowed by the policy; returns the policy's actions no call used.
pub fn check_calls_against_policy(calls: &BTreeSet<String>) -> BTreeSet<String> {
    let allowed = policy_actions();
    let missing: Vec<&String> = calls
        .iter()
        .filter(|c| !NOT_IN_ROLE_POLICY.contains(&c.as_str()) && !allowed.contains(*c))
        .collect();
    assert!(
        missing.is_empty(),
        "the adapter called actions that adapters/aws/iam-policy.json does not allow: {missing:?}"
    );
    allowed.difference(calls).cloned().collect()
}
