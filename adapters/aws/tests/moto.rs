//! The adapter against the moto server: a seeded account collected item by item, the IAM policy
//! checked against every call made, AssumeRole into another account, and failures (a closed
//! port, a server that goes away or hangs after the first call).
//!
//! moto 5.2.5 implements everything the adapter calls except IAM Access Analyzer (the whole
//! service: HTTP 500), EC2 `GetEbsDefaultKmsKeyId` (HTTP 500) and Security Hub
//! `GetEnabledStandards` (HTTP 404; only called when a hub exists).

// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{config, creds, rt, seed, start_moto, AT};
use seg_adapter_aws::{collect_with_credentials, Collection};
use seg_e2e::{ApiProxy, Fault};
use serde_json::Value;

fn find<'a>(c: &'a Collection, resource_type: &str, id: &str) -> &'a Value {
    c.items
        .iter()
        .find(|i| i["resourceType"] == resource_type && i["resourceId"] == id)
        .unwrap_or_else(|| panic!("no {resource_type} {id} in the collection"))
}

fn by_name<'a>(c: &'a Collection, resource_type: &str, name: &str) -> &'a Value {
    c.items
        .iter()
        .find(|i| i["resourceType"] == resource_type && i["resourceName"] == name)
        .unwrap_or_else(|| panic!("no {resource_type} named {name} in the collection"))
}

fn of_type<'a>(c: &'a Collection, resource_type: &str) -> Vec<&'a Value> {
    c.items
        .iter()
        .filter(|i| i["resourceType"] == resource_type)
        .collect()
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

#[test]
fn a_seeded_account_is_collected_item_by_item() {
    let moto = start_moto();
    let seeded = seed(&moto, "seed-aws-adapter.py", &[]);
    let cfg = config(&moto.endpoint());
    let c = rt()
        .block_on(collect_with_credentials(&cfg, creds()))
        .expect("collection");
    let acct = seg_e2e::DEFAULT_ACCOUNT_ID;
    assert_eq!(c.account_id, acct);

    // The engine reads every item.
    let jsonl = c.to_jsonl();
    let parsed = seg_engine::inventory::parse_jsonl(&jsonl);
    assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
    assert_eq!(parsed.items.len(), c.items.len());
    // Sorted by (resourceType, awsRegion, resourceId), every item at the collection time.
    let keys: Vec<(String, String, String)> = c
        .items
        .iter()
        .map(|i| {
            (
                s(&i["resourceType"]).into(),
                s(&i["awsRegion"]).into(),
                s(&i["resourceId"]).into(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    for i in &c.items {
        assert_eq!(i["configurationItemCaptureTime"], AT);
        assert_eq!(i["accountId"], acct);
        assert_eq!(i["version"], "1.3");
    }

    // IAM account items.
    let summary = find(&c, "AWS::IAM::AccountSummary", acct);
    assert_eq!(summary["awsRegion"], "global");
    assert!(summary["configuration"]["AccountMFAEnabled"].is_number());
    assert!(summary["configuration"]["AccountAccessKeysPresent"].is_number());
    let pp = &find(&c, "AWS::IAM::AccountPasswordPolicy", acct)["configuration"];
    assert_eq!(pp["minimumPasswordLength"], 8);
    assert_eq!(pp["passwordReusePrevention"], 5);

    // IAM users with their credential report rows.
    let mfa = by_name(&c, "AWS::IAM::User", "seg-console-mfa");
    let cr = &mfa["supplementaryConfiguration"]["CredentialReport"];
    assert_eq!(cr["user"], "seg-console-mfa");
    assert_eq!(cr["password_enabled"], "true");
    assert_eq!(cr["mfa_active"], "true");
    let nomfa = by_name(&c, "AWS::IAM::User", "seg-console-nomfa");
    assert_eq!(
        nomfa["supplementaryConfiguration"]["CredentialReport"]["mfa_active"],
        "false"
    );
    let keys = by_name(&c, "AWS::IAM::User", "seg-keys");
    assert_eq!(
        keys["supplementaryConfiguration"]["CredentialReport"]["access_key_1_active"],
        "true"
    );
    assert_eq!(
        keys["configuration"]["userPolicyList"][0]["policyName"],
        "inline-admin"
    );
    assert!(keys["configuration"]["userPolicyList"][0]["policyDocument"].is_string());
    assert_eq!(keys["resourceId"], keys["configuration"]["userId"]);

    // Customer managed policy and the AWS managed policies of 2.15 / 2.20.
    let gaad_body: Vec<String> = c
        .responses
        .iter()
        .filter(|r| r.operation == "GetAccountAuthorizationDetails")
        .map(|r| String::from_utf8_lossy(&r.body).chars().take(3000).collect())
        .collect();
    assert!(
        of_type(&c, "AWS::IAM::Policy")
            .iter()
            .any(|p| p["resourceName"] == "seg-full-admin"),
        "{:?} {gaad_body:?}",
        of_type(&c, "AWS::IAM::Policy")
            .iter()
            .map(|p| p["resourceName"].clone())
            .collect::<Vec<_>>()
    );
    let admin = by_name(&c, "AWS::IAM::Policy", "seg-full-admin");
    assert_eq!(admin["configuration"]["policyName"], "seg-full-admin");
    let v = &admin["configuration"]["policyVersionList"];
    assert!(v
        .as_array()
        .is_some_and(|v| v.iter().any(|x| x["isDefaultVersion"] == true)));
    let support = by_name(&c, "AWS::IAM::Policy", "AWSSupportAccess");
    assert_eq!(
        support["configuration"]["arn"],
        "arn:aws:iam::aws:policy/AWSSupportAccess"
    );
    assert_eq!(
        support["supplementaryConfiguration"]["PolicyEntities"]["policyGroups"][0]["groupName"],
        "seg-support"
    );
    let shell = by_name(&c, "AWS::IAM::Policy", "AWSCloudShellFullAccess");
    assert_eq!(
        shell["supplementaryConfiguration"]["PolicyEntities"]["policyUsers"],
        serde_json::json!([])
    );
    by_name(&c, "AWS::IAM::Group", "seg-support");

    // S3 buckets and the account's Block Public Access.
    let tls = find(&c, "AWS::S3::Bucket", s(&seeded["buckets"]["tls"]));
    let sc = &tls["supplementaryConfiguration"];
    assert_eq!(sc["PublicAccessBlockConfiguration"]["blockPublicAcls"], true);
    assert_eq!(
        sc["PublicAccessBlockConfiguration"]["restrictPublicBuckets"],
        true
    );
    assert!(s(&sc["BucketPolicy"]["policyText"]).contains("aws:SecureTransport"));
    assert_eq!(sc["BucketVersioningConfiguration"]["status"], "Enabled");
    assert_eq!(sc["BucketVersioningConfiguration"]["isMfaDeleteEnabled"], false);
    let open = find(&c, "AWS::S3::Bucket", s(&seeded["buckets"]["open"]));
    let so = &open["supplementaryConfiguration"];
    assert!(so.get("PublicAccessBlockConfiguration").is_none());
    assert_eq!(so["BucketPolicy"]["policyText"], Value::Null);
    assert_eq!(so["BucketVersioningConfiguration"]["status"], "Off");
    let apab = find(&c, "AWS::S3::AccountPublicAccessBlock", acct);
    assert_eq!(apab["configuration"]["blockPublicAcls"], true);
    assert_eq!(apab["configuration"]["restrictPublicBuckets"], false);

    // Security groups.
    let ssh = find(
        &c,
        "AWS::EC2::SecurityGroup",
        s(&seeded["security_groups"]["ssh_open"]),
    );
    let p = &ssh["configuration"]["ipPermissions"][0];
    assert_eq!(
        (
            p["ipProtocol"].clone(),
            p["fromPort"].clone(),
            p["toPort"].clone()
        ),
        ("tcp".into(), 22.into(), 22.into())
    );
    assert_eq!(p["ipv4Ranges"][0]["cidrIp"], "0.0.0.0/0");
    assert_eq!(p["ipRanges"][0], "0.0.0.0/0");
    let rdp = find(
        &c,
        "AWS::EC2::SecurityGroup",
        s(&seeded["security_groups"]["rdp_open"]),
    );
    assert_eq!(rdp["configuration"]["ipPermissions"][0]["fromPort"], 3389);
    let closed = find(
        &c,
        "AWS::EC2::SecurityGroup",
        s(&seeded["security_groups"]["closed"]),
    );
    assert_eq!(
        closed["configuration"]["ipPermissions"][0]["ipv4Ranges"][0]["cidrIp"],
        "10.0.0.0/8"
    );
    assert!(of_type(&c, "AWS::EC2::SecurityGroup")
        .iter()
        .any(|g| g["configuration"]["groupName"] == "default"));

    // Network ACL.
    let acl = find(&c, "AWS::EC2::NetworkAcl", s(&seeded["network_acl"]));
    let entries = acl["configuration"]["entries"].as_array().unwrap();
    assert!(entries.iter().any(|e| e["ruleNumber"] == 100
        && e["ruleAction"] == "allow"
        && e["egress"] == false
        && e["protocol"] == "6"
        && e["cidrBlock"] == "0.0.0.0/0"
        && e["portRange"] == serde_json::json!({"from": 22, "to": 22})));
    assert!(!acl["configuration"]["associations"]
        .as_array()
        .unwrap()
        .is_empty());

    // VPCs and flow logs.
    let logged = find(&c, "AWS::EC2::VPC", s(&seeded["vpcs"]["logged"]));
    let fl = &logged["supplementaryConfiguration"]["FlowLogs"];
    assert_eq!(fl.as_array().unwrap().len(), 1);
    assert_eq!(fl[0]["trafficType"], "ALL");
    assert_eq!(fl[0]["flowLogStatus"], "ACTIVE");
    let unlogged = find(&c, "AWS::EC2::VPC", s(&seeded["vpcs"]["unlogged"]));
    assert_eq!(
        unlogged["supplementaryConfiguration"]["FlowLogs"],
        serde_json::json!([])
    );

    // Instances and volumes.
    let v2 = find(&c, "AWS::EC2::Instance", s(&seeded["instances"]["imdsv2"]));
    assert_eq!(v2["configuration"]["metadataOptions"]["httpTokens"], "required");
    assert_eq!(v2["configuration"]["state"]["name"], "running");
    assert_eq!(v2["configuration"]["iamInstanceProfile"], Value::Null);
    let v1 = find(&c, "AWS::EC2::Instance", s(&seeded["instances"]["imdsv1"]));
    assert_eq!(v1["configuration"]["metadataOptions"]["httpTokens"], "optional");
    let enc = find(&c, "AWS::EC2::Volume", s(&seeded["volumes"]["encrypted"]));
    assert_eq!(enc["configuration"]["encrypted"], true);
    let plain = find(&c, "AWS::EC2::Volume", s(&seeded["volumes"]["plain"]));
    assert_eq!(plain["configuration"]["encrypted"], false);

    // KMS keys.
    let rot = find(&c, "AWS::KMS::Key", s(&seeded["kms_keys"]["rotated"]));
    assert_eq!(rot["configuration"]["keyManager"], "CUSTOMER");
    assert_eq!(rot["supplementaryConfiguration"]["KeyRotationStatus"], true);
    let unrot = find(&c, "AWS::KMS::Key", s(&seeded["kms_keys"]["unrotated"]));
    assert_eq!(unrot["supplementaryConfiguration"]["KeyRotationStatus"], false);

    // CloudTrail.
    let trail = find(&c, "AWS::CloudTrail::Trail", s(&seeded["trail"]));
    assert_eq!(trail["configuration"]["isMultiRegionTrail"], true);
    assert_eq!(trail["configuration"]["homeRegion"], "us-east-1");
    assert_eq!(
        trail["supplementaryConfiguration"]["TrailStatus"]["isLogging"],
        true
    );
    assert!(trail["supplementaryConfiguration"]["EventSelectors"].is_object());

    // EFS and RDS.
    let efs = find(&c, "AWS::EFS::FileSystem", s(&seeded["efs"]["encrypted"]));
    assert_eq!(efs["configuration"]["Encrypted"], true);
    let efs = find(&c, "AWS::EFS::FileSystem", s(&seeded["efs"]["plain"]));
    assert_eq!(efs["configuration"]["Encrypted"], false);
    let db = by_name(&c, "AWS::RDS::DBInstance", "seg-orders");
    assert_eq!(db["configuration"]["storageEncrypted"], false);
    assert_eq!(db["configuration"]["publiclyAccessible"], true);
    assert_eq!(db["configuration"]["multiAZ"], false);
    assert_eq!(db["configuration"]["autoMinorVersionUpgrade"], true);

    // Region settings: AWS Config not set up, Security Hub off.
    let region_id = format!("{acct}:us-east-1");
    let cfgs = find(&c, "AWS::Config::RegionSettings", &region_id);
    assert_eq!(
        cfgs["configuration"]["configurationRecorders"],
        serde_json::json!([])
    );
    let hub = find(&c, "AWS::SecurityHub::RegionSettings", &region_id);
    assert_eq!(hub["configuration"]["hub"], Value::Null);

    // What moto does not implement degrades, and nothing else does.
    let degraded: BTreeSet<(String, &str)> =
        c.degraded.iter().map(|d| (d.operation.clone(), d.code)).collect();
    let expected: BTreeSet<(String, &str)> = [
        (
            "access-analyzer:ListAnalyzers".to_string(),
            "SEG_ADAPTER_UNAVAILABLE",
        ),
        ("ec2:GetEbsDefaultKmsKeyId".to_string(), "SEG_ADAPTER_UNAVAILABLE"),
    ]
    .into_iter()
    .collect();
    assert_eq!(degraded, expected, "{:#?}", c.degraded);
    assert!(of_type(&c, "AWS::AccessAnalyzer::RegionSettings").is_empty());
    assert!(
        of_type(&c, "AWS::EC2::RegionSettings").is_empty(),
        "no item with guessed content"
    );

    // Evidence: every item names the raw responses it was built from.
    let shas: BTreeSet<&str> = c.responses.iter().map(|r| r.sha256.as_str()).collect();
    for i in &c.items {
        let key = seg_adapter_aws::item_key(s(&i["resourceType"]), s(&i["awsRegion"]), s(&i["resourceId"]));
        let ev = c
            .evidence
            .get(&key)
            .unwrap_or_else(|| panic!("no evidence for {key}"));
        assert!(!ev.is_empty(), "no evidence for {key}");
        for e in ev {
            assert!(
                shas.contains(e.as_str()),
                "{key}: evidence {e} is not a recorded response"
            );
        }
    }
    let gaad = c
        .responses
        .iter()
        .find(|r| r.operation == "GetAccountAuthorizationDetails")
        .expect("raw GetAccountAuthorizationDetails response");
    assert!(String::from_utf8_lossy(&gaad.body).contains("seg-console-mfa"));

    // Least privilege: every call is allowed by iam-policy.json.
    let unused = common::check_calls_against_policy(&c.calls);
    eprintln!("policy actions not used against moto: {unused:?}");
    let expected_unused: BTreeSet<String> = [
        // AWS Config has no recorder here, so no discovered resources are read.
        "config:BatchGetResourceConfig",
        "config:ListDiscoveredResources",
        // ListBuckets names every bucket's region.
        "s3:GetBucketLocation",
        // Security Hub is off, so no standards are read.
        "securityhub:GetEnabledStandards",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert!(
        unused.is_subset(&expected_unused),
        "unexpectedly unused policy actions: {unused:?}"
    );

    // The same account at the same time gives the same items (moto invents new CloudTrail
    // delivery times on every GetTrailStatus: those are left out of the comparison).
    let again = rt()
        .block_on(collect_with_credentials(&cfg, creds()))
        .expect("second collection");
    let strip = |c: &Collection| -> Vec<Value> {
        c.items
            .iter()
            .cloned()
            .map(|mut i| {
                if let Some(sc) = i["supplementaryConfiguration"].as_object_mut() {
                    sc.remove("TrailStatus");
                }
                i
            })
            .collect()
    };
    assert_eq!(strip(&again), strip(&c));
}

#[test]
fn aws_config_items_replace_service_items_where_a_recorder_records() {
    let moto = start_moto();
    let code = r#"
import json, sys
sys.path.insert(0, "e2e/scripts")
import importlib.util
spec = importlib.util.spec_from_file_location("seed_aws", "e2e/scripts/seed-aws.py")
m = importlib.util.module_from_spec(spec); sys.modules["seed_aws"] = m; spec.loader.exec_module(m)
ctx = m.AccountContext(sys.argv[1])
m.create_bucket(ctx, "seg-config-recorded", public_access_block=True)
cfg = ctx.client("config")
cfg.put_configuration_recorder(ConfigurationRecorder={"name": "default", "roleARN": "arn:aws:iam::123456789012:role/config", "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": False}})
cfg.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "seg-config-recorded"})
cfg.start_configuration_recorder(ConfigurationRecorderName="default")
"#;
    let out = moto
        .python_command()
        .current_dir(seg_e2e::repo_root())
        .arg("-c")
        .arg(code)
        .arg(moto.endpoint())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let c = rt()
        .block_on(collect_with_credentials(&config(&moto.endpoint()), creds()))
        .expect("collection");
    let settings = find(
        &c,
        "AWS::Config::RegionSettings",
        &format!("{}:us-east-1", seg_e2e::DEFAULT_ACCOUNT_ID),
    );
    assert_eq!(
        settings["configuration"]["configurationRecordersStatus"][0]["recording"],
        true
    );
    assert!(
        c.calls.contains("config:ListDiscoveredResources"),
        "{:?}",
        c.calls
    );
    assert!(c.calls.contains("config:BatchGetResourceConfig"), "{:?}", c.calls);
    let batch = c
        .degraded
        .iter()
        .find(|d| d.operation == "config:BatchGetResourceConfig");
    let bucket = find(&c, "AWS::S3::Bucket", "seg-config-recorded");
    let from_service = c
        .responses
        .iter()
        .any(|r| r.service == "s3" && r.operation == "GetBucketPolicy");
    // AWS Config answers (moto's non-RFC 3339 item times are read by the adapter's lenient
    // fallback, see tests/config_moto.rs): the bucket is AWS Config's item, not read again.
    assert!(batch.is_none(), "AWS Config degraded: {batch:?}");
    assert!(!from_service, "bucket read again although AWS Config has it");
    assert!(bucket["supplementaryConfiguration"]["PublicAccessBlockConfiguration"].is_object());
}

#[test]
fn assume_role_collects_the_role_account() {
    let moto = start_moto();
    moto.seed(["--account-id", "210987654321"])
        .expect("seed the second account");
    let mut cfg = config(&moto.endpoint());
    cfg.role_arn = Some("arn:aws:iam::210987654321:role/seg-scanner".into());
    cfg.external_id = Some("seg-external-id".into());
    cfg.account_id = Some("210987654321".into());
    let c = rt()
        .block_on(collect_with_credentials(&cfg, creds()))
        .expect("collection");
    assert_eq!(c.account_id, "210987654321");
    assert!(c.calls.contains("sts:AssumeRole"));
    by_name(&c, "AWS::IAM::User", "seg-e2e-user");
    by_name(&c, "AWS::EC2::SecurityGroup", "seg-e2e-ssh-open");
    find(&c, "AWS::CloudTrail::Trail", "seg-e2e-trail");
    find(&c, "AWS::S3::Bucket", "seg-e2e-private-210987654321");
    assert!(of_type(&c, "AWS::S3::Bucket")
        .iter()
        .all(|b| s(&b["resourceId"]).ends_with("210987654321")));
    // Nothing degrades but what moto lacks.
    for d in &c.degraded {
        assert!(
            ["access-analyzer:ListAnalyzers", "ec2:GetEbsDefaultKmsKeyId"].contains(&d.operation.as_str()),
            "{d:?}"
        );
        assert_eq!(d.code, "SEG_ADAPTER_UNAVAILABLE");
    }
    for i in &c.items {
        assert_eq!(i["accountId"], "210987654321");
    }
    // Another expected account fails the run.
    cfg.account_id = Some("111122223333".into());
    let err = rt()
        .block_on(collect_with_credentials(&cfg, creds()))
        .unwrap_err();
    assert_eq!(err.code(), "SEG_ADAPTER_AUTH");
}

#[test]
fn a_closed_port_fails_the_run_as_unavailable() {
    let port = seg_e2e::free_port().unwrap();
    let mut cfg = config(&format!("http://127.0.0.1:{port}"));
    cfg.max_attempts = 1;
    cfg.timeout = Duration::from_secs(5);
    let err = rt()
        .block_on(collect_with_credentials(&cfg, creds()))
        .unwrap_err();
    assert_eq!(err.code(), "SEG_ADAPTER_UNAVAILABLE", "{err}");
    assert_eq!(err.category(), "unavailable");
    assert_eq!(err.action(), "sts:GetCallerIdentity");
    assert!(err.retryable());
}

#[test]
fn a_silent_endpoint_fails_the_run_as_a_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let t = std::thread::spawn(move || {
        listener.set_nonblocking(true).unwrap();
        let mut held = Vec::new();
        while !stop2.load(Ordering::SeqCst) {
            if let Ok((s, _)) = listener.accept() {
                held.push(s);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let mut cfg = config(&format!("http://127.0.0.1:{port}"));
    cfg.max_attempts = 1;
    cfg.timeout = Duration::from_secs(1);
    let err = rt()
        .block_on(collect_with_credentials(&cfg, creds()))
        .unwrap_err();
    stop.store(true, Ordering::SeqCst);
    t.join().unwrap();
    assert_eq!(err.code(), "SEG_ADAPTER_TIMEOUT", "{err}");
}

fn assert_every_service_degraded(c: &Collection, code: &str) {
    assert!(c.items.is_empty(), "items without a server: {:?}", c.items.len());
    let services: BTreeSet<&str> = c.degraded.iter().map(|d| d.service.as_str()).collect();
    for svc in [
        "iam",
        "s3",
        "s3control",
        "ec2",
        "kms",
        "rds",
        "elasticfilesystem",
        "cloudtrail",
        "config",
        "access-analyzer",
        "securityhub",
    ] {
        assert!(
            services.contains(svc),
            "no degradation for {svc}: {:#?}",
            c.degraded
        );
    }
    for d in &c.degraded {
        assert_eq!(d.code, code, "{d:?}");
    }
}

#[test]
fn a_server_that_goes_away_after_the_first_call_degrades_every_service() {
    let moto = start_moto();
    // The caller's identity is read; every other request is closed without an answer.
    let proxy = ApiProxy::start(moto.port()).unwrap();
    proxy.fail_all_except(&["sts"], Fault::Refuse);
    let mut cfg = config(&proxy.endpoint());
    cfg.max_attempts = 1;
    cfg.timeout = Duration::from_secs(5);
    let c = rt()
        .block_on(collect_with_credentials(&cfg, creds()))
        .expect("identity worked");
    assert_eq!(c.account_id, seg_e2e::DEFAULT_ACCOUNT_ID);
    assert_every_service_degraded(&c, "SEG_ADAPTER_UNAVAILABLE");
}

#[test]
fn a_server_that_stops_answering_after_the_first_call_degrades_with_timeouts() {
    let moto = start_moto();
    // The caller's identity is read; every other request is held, unanswered.
    let proxy = ApiProxy::start(moto.port()).unwrap();
    proxy.fail_all_except(&["sts"], Fault::Hold);
    let mut cfg = config(&proxy.endpoint());
    cfg.max_attempts = 1;
    cfg.timeout = Duration::from_secs(1);
    let c = rt()
        .block_on(collect_with_credentials(&cfg, creds()))
        .expect("identity worked");
    assert_every_service_degraded(&c, "SEG_ADAPTER_TIMEOUT");
}
