//! The AWS Config inventory path against the moto server: a recorder that records, resources of
//! the types moto's AWS Config answers `ListDiscoveredResources` / `BatchGetResourceConfig` for,
//! and the adapter's items of those types taken from AWS Config (and merged with the service
//! items of the same resources).
//!
//! moto 5.2.5's AWS Config has items for S3 buckets, the account's S3 Block Public Access, IAM
//! roles, customer managed IAM policies and SNS topics, and nothing for the EC2 types. It writes
//! the timestamps of its configuration items as Python `str(datetime)` text
//! (`"2026-12-01 22:39:16.156783+00:00"`, IAM's without an offset) instead of epoch seconds,
//! which the SDK rejects ("RFC-3339 only allows `T` as a separator"); the adapter reads such an
//! answer from its raw body. Its IAM role items carry the role name as `resourceId` although
//! `ListDiscoveredResources` lists the role id (AWS uses the id in both), so the adapter rejects
//! them and keeps the IAM API's role.

// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;

use common::{config, creds, rt, seed, start_moto, AT};
use seg_adapter_aws::{collect_with_credentials, item_key, Collection};
use seg_e2e::Moto;
use seg_engine::time::Timestamp;
use serde_json::Value;

/// What moto does not implement (see `tests/moto.rs`): the only degradations expected.
const MOTO_GAPS: &[&str] = &["access-analyzer:ListAnalyzers", "ec2:GetEbsDefaultKmsKeyId"];

/// Runs `e2e/scripts/seed-aws-config.py` recording `resource_types` (`all` or a comma list).
fn seed_config(moto: &Moto, resource_types: &str) -> Value {
    seed(moto, "seed-aws-config.py", &["--resource-types", resource_types])
}

fn collect(moto: &Moto) -> Collection {
    rt().block_on(collect_with_credentials(&config(&moto.endpoint()), creds()))
        .expect("collection")
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

fn find<'a>(c: &'a Collection, resource_type: &str, id: &str) -> &'a Value {
    let found: Vec<&Value> = c
        .items
        .iter()
        .filter(|i| i["resourceType"] == resource_type && i["resourceId"] == id)
        .collect();
    assert_eq!(found.len(), 1, "{resource_type} {id}: {found:?}");
    found[0]
}

/// The sha256 of the raw responses of one operation.
fn shas<'a>(c: &'a Collection, service: &str, operation: &str) -> BTreeSet<&'a str> {
    c.responses
        .iter()
        .filter(|r| r.service == service && r.operation == operation)
        .map(|r| r.sha256.as_str())
        .collect()
}

fn evidence<'a>(c: &'a Collection, item: &Value) -> BTreeSet<&'a str> {
    let key = item_key(
        s(&item["resourceType"]),
        s(&item["awsRegion"]),
        s(&item["resourceId"]),
    );
    c.evidence
        .get(&key)
        .unwrap_or_else(|| panic!("no evidence for {key}"))
        .iter()
        .map(String::as_str)
        .collect()
}

/// Whether the item was built from a `BatchGetResourceConfig` answer.
fn from_config(c: &Collection, item: &Value) -> bool {
    !evidence(c, item).is_disjoint(&shas(c, "config", "BatchGetResourceConfig"))
}

fn instant(v: &Value) -> i128 {
    Timestamp::parse(s(v))
        .unwrap_or_else(|e| panic!("{v}: {e}"))
        .unix_nanos()
}

fn assert_only_moto_gaps_degrade(c: &Collection) {
    for d in &c.degraded {
        assert!(
            MOTO_GAPS.contains(&d.operation.as_str()),
            "unexpected degradation: {d:?}"
        );
        assert_eq!(d.code, "SEG_ADAPTER_UNAVAILABLE", "{d:?}");
    }
}

#[test]
fn recorded_items_come_from_aws_config_and_merge_with_the_service_items() {
    let moto = start_moto();
    let recorded = "AWS::S3::Bucket,AWS::S3::AccountPublicAccessBlock,AWS::EC2::SecurityGroup";
    let seeded = seed_config(&moto, recorded);
    let c = collect(&moto);
    let acct = seg_e2e::DEFAULT_ACCOUNT_ID;
    assert_eq!(c.account_id, acct);

    // AWS Config answered, nothing of it degraded, and the run reads every item.
    assert!(
        !c.degraded.iter().any(|d| d.service == "config"),
        "{:#?}",
        c.degraded
    );
    assert_only_moto_gaps_degrade(&c);
    assert!(c.calls.contains("config:ListDiscoveredResources"));
    assert!(c.calls.contains("config:BatchGetResourceConfig"));
    let unused = common::check_calls_against_policy(&c.calls);
    assert!(!unused.iter().any(|a| a.starts_with("config:")), "{unused:?}");
    // moto 5.2.5 writes `"resourceCreationTime": "2026-12-01 22:39:16.156783+00:00"`, which the
    // SDK rejects: these items went through the raw-body reading.
    let odd_time = c
        .responses
        .iter()
        .filter(|r| r.operation == "BatchGetResourceConfig")
        .any(|r| {
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            body["baseConfigurationItems"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| {
                    i["resourceCreationTime"]
                        .as_str()
                        .is_some_and(|t| t.as_bytes().get(10) == Some(&b' '))
                })
        });
    assert!(
        odd_time,
        "no simulator timestamp to tolerate: update the module docs"
    );
    let parsed = seg_engine::inventory::parse_jsonl(&c.to_jsonl());
    assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);

    // The recorder as the region settings show it.
    let settings = find(&c, "AWS::Config::RegionSettings", &format!("{acct}:us-east-1"));
    let rec = &settings["configuration"]["configurationRecorders"][0];
    assert_eq!(rec["recordingGroup"]["allSupported"], false);
    let types: BTreeSet<&str> = rec["recordingGroup"]["resourceTypes"]
        .as_array()
        .unwrap()
        .iter()
        .map(s)
        .collect();
    assert_eq!(types, recorded.split(',').collect());
    assert_eq!(
        settings["configuration"]["configurationRecordersStatus"][0]["recording"],
        true
    );

    // S3 buckets: AWS Config's items, in the envelope, none read again from S3.
    let buckets = &seeded["buckets"];
    for name in ["tls", "open", "delivery"] {
        let b = find(&c, "AWS::S3::Bucket", s(&buckets[name]));
        assert!(from_config(&c, b), "{name}: {b}");
        assert_eq!(b["version"], "1.3");
        assert_eq!(b["accountId"], acct);
        assert_eq!(b["awsRegion"], "us-east-1");
        assert_eq!(b["resourceName"], buckets[name]);
        assert_eq!(b["arn"], format!("arn:aws:s3:::{}", s(&buckets[name])));
        assert_eq!(b["configuration"]["name"], buckets[name]);
        // What AWS Config says, not what the adapter synthesizes for a service item.
        assert_eq!(b["configurationItemStatus"], "ResourceDiscovered");
        assert_eq!(b["availabilityZone"], "Regional");
        assert_ne!(b["configurationStateId"], "1795435200000");
        // The collection time, not the recorder's.
        assert_eq!(b["configurationItemCaptureTime"], AT);
        // `"2026-12-01 22:39:16.156783+00:00"` on the wire: RFC 3339 in the item, the bucket's
        // creation time.
        assert!(s(&b["resourceCreationTime"]).ends_with('Z'), "{b}");
        assert_eq!(
            instant(&b["resourceCreationTime"]),
            instant(&b["configuration"]["creationDate"])
        );
        assert!(b["supplementaryConfiguration"]["BucketPolicy"].is_object());
        assert_eq!(b["supplementaryConfiguration"]["IsRequesterPaysEnabled"], false);
    }
    // Listing and locating them is all S3 is asked (the bucket's region names its item).
    let s3_ops: BTreeSet<&str> = c
        .responses
        .iter()
        .filter(|r| r.service == "s3")
        .map(|r| r.operation.as_str())
        .collect();
    assert!(
        s3_ops.is_subset(&BTreeSet::from(["ListBuckets", "GetBucketLocation"])),
        "buckets read again: {s3_ops:?}"
    );

    let tls = &find(&c, "AWS::S3::Bucket", s(&buckets["tls"]))["supplementaryConfiguration"];
    let pab = &tls["PublicAccessBlockConfiguration"];
    for k in [
        "blockPublicAcls",
        "ignorePublicAcls",
        "blockPublicPolicy",
        "restrictPublicBuckets",
    ] {
        assert_eq!(pab[k], true, "{k}: {tls}");
    }
    assert!(s(&tls["BucketPolicy"]["policyText"]).contains("aws:SecureTransport"));
    assert_eq!(
        tls["BucketTaggingConfiguration"]["tagSets"][0]["tags"]["team"],
        "platform"
    );
    let open = &find(&c, "AWS::S3::Bucket", s(&buckets["open"]))["supplementaryConfiguration"];
    assert!(open.get("PublicAccessBlockConfiguration").is_none(), "{open}");
    assert_eq!(open["BucketPolicy"]["policyText"], Value::Null);

    // The account's Block Public Access: one item, AWS Config's content, the evidence of both
    // the AWS Config and the S3 Control answers.
    let apab = find(&c, "AWS::S3::AccountPublicAccessBlock", acct);
    assert!(from_config(&c, apab), "{apab}");
    assert_ne!(apab["configurationStateId"], "1795435200000");
    assert_eq!(apab["awsRegion"], "us-east-1");
    let conf = &apab["configuration"];
    assert_eq!(conf["blockPublicAcls"], true);
    assert_eq!(conf["ignorePublicAcls"], true);
    assert_eq!(conf["blockPublicPolicy"], false);
    assert_eq!(conf["restrictPublicBuckets"], false);
    assert!(
        !evidence(&c, apab).is_disjoint(&shas(&c, "s3control", "GetPublicAccessBlock")),
        "the S3 Control item's evidence is kept"
    );

    // Security groups: recorded, but moto's AWS Config has no items for them: the EC2 API's.
    let sg = find(&c, "AWS::EC2::SecurityGroup", s(&seeded["security_group"]));
    assert!(!from_config(&c, sg));
    assert!(!evidence(&c, sg).is_disjoint(&shas(&c, "ec2", "DescribeSecurityGroups")));
    let p = &sg["configuration"]["ipPermissions"][0];
    assert_eq!(
        (p["fromPort"].clone(), p["toPort"].clone()),
        (22.into(), 22.into())
    );
    assert_eq!(p["ipv4Ranges"][0]["cidrIp"], "0.0.0.0/0");

    // IAM is not recorded here: no AWS Config item of it.
    for i in c
        .items
        .iter()
        .filter(|i| s(&i["resourceType"]).starts_with("AWS::IAM::"))
    {
        assert!(!from_config(&c, i), "{i}");
    }
}

#[test]
fn global_types_come_from_aws_config_and_items_for_keys_not_asked_for_are_rejected() {
    let moto = start_moto();
    let seeded = seed_config(&moto, "all");
    let c = collect(&moto);

    // The customer managed policy: AWS Config's item under the policy id.
    let policy = find(&c, "AWS::IAM::Policy", s(&seeded["policy"]["id"]));
    assert!(from_config(&c, policy), "{policy}");
    assert_eq!(policy["awsRegion"], "global");
    assert_eq!(policy["resourceName"], "seg-config-admin");
    assert_eq!(policy["arn"], seeded["policy"]["arn"]);
    assert_eq!(policy["configurationItemStatus"], "OK");
    let conf = &policy["configuration"];
    assert_eq!(conf["policyName"], "seg-config-admin");
    assert_eq!(conf["policyId"], seeded["policy"]["id"]);
    assert_eq!(conf["defaultVersionId"], "v1");
    let v = &conf["policyVersionList"][0];
    assert_eq!(v["isDefaultVersion"], true);
    // AWS Config URL-encodes policy documents.
    assert!(s(&v["document"]).contains("%22Action%22%3A%20%22%2A%22"), "{v}");
    // moto writes IAM times without a UTC offset: no instant, left out.
    assert_eq!(policy["resourceCreationTime"], Value::Null);

    // Buckets still come from AWS Config with every type recorded.
    let tls = find(&c, "AWS::S3::Bucket", s(&seeded["buckets"]["tls"]));
    assert!(from_config(&c, tls));

    // moto's role item names the role (`resourceId` = role name) although its id was asked for:
    // rejected as a schema violation, and the IAM API's role stands.
    let config_degraded: Vec<_> = c.degraded.iter().filter(|d| d.service == "config").collect();
    assert_eq!(config_degraded.len(), 1, "{config_degraded:#?}");
    let d = config_degraded[0];
    assert_eq!(d.operation, "config:BatchGetResourceConfig");
    assert_eq!(d.code, "SEG_SCHEMA_VIOLATION");
    assert!(
        d.message.contains("AWS::IAM::Role seg-config-role"),
        "{}",
        d.message
    );
    let role = find(&c, "AWS::IAM::Role", s(&seeded["role"]["id"]));
    assert!(!from_config(&c, role));
    assert_eq!(role["resourceName"], "seg-config-role");
    assert!(!c
        .items
        .iter()
        .any(|i| i["resourceType"] == "AWS::IAM::Role" && i["resourceId"] == "seg-config-role"));
    for d in c.degraded.iter().filter(|d| d.service != "config") {
        assert!(MOTO_GAPS.contains(&d.operation.as_str()), "{d:?}");
    }
}
