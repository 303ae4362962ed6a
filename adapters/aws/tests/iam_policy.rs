//! The shipped IAM policy against the Service Authorization Reference: no wildcard action,
//! `"Resource": "*"` only in statements whose every action the reference lists without a
//! resource type, and every other Resource an ARN of a resource type the reference lists for
//! every action of its statement.

// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;

use common::policy_statements;

// ARN formats of the resource types, as the "Resource types" tables of the reference give them.
const TRAIL: &str = "arn:${Partition}:cloudtrail:${Region}:${Account}:trail/${TrailName}";
const CONFIGURATION_RECORDER: &str =
    "arn:${Partition}:config:${Region}:${Account}:configuration-recorder/${RecorderName}/${RecorderId}";
const FILE_SYSTEM: &str =
    "arn:${Partition}:elasticfilesystem:${Region}:${Account}:file-system/${FileSystemId}";
const IAM_POLICY: &str = "arn:${Partition}:iam::${Account}:policy/${PolicyNameWithPath}";
const KMS_KEY: &str = "arn:${Partition}:kms:${Region}:${Account}:key/${KeyId}";
const DB_INSTANCE: &str = "arn:${Partition}:rds:${Region}:${Account}:db:${DbInstanceName}";
const S3_BUCKET: &str = "arn:${Partition}:s3:::${BucketName}";
const S3_ACCESS_POINT: &str = "arn:${Partition}:s3:${Region}:${Account}:accesspoint/${AccessPointName}";
const SECURITY_HUB: &str = "arn:${Partition}:securityhub:${Region}:${Account}:hub/default";

/// Every action of the policy with the ARN formats of the resource types that the "Actions"
/// table of the Service Authorization Reference lists for it. An empty list is an empty
/// "Resource types" column: the action supports no resource-level permission and AWS requires
/// `"Resource": "*"` for it. One page per service:
/// <https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html>.
const REFERENCE: &[(&str, &[&str])] = &[
    // list_awsiamaccessanalyzer.html
    ("access-analyzer:ListAnalyzers", &[]),
    // list_awscloudtrail.html
    ("cloudtrail:DescribeTrails", &[]),
    ("cloudtrail:GetEventSelectors", &[TRAIL]),
    ("cloudtrail:GetTrailStatus", &[TRAIL]),
    // list_awsconfig.html
    ("config:BatchGetResourceConfig", &[]),
    (
        "config:DescribeConfigurationRecorderStatus",
        &[CONFIGURATION_RECORDER],
    ),
    ("config:DescribeConfigurationRecorders", &[CONFIGURATION_RECORDER]),
    ("config:DescribeDeliveryChannels", &[]),
    ("config:ListDiscoveredResources", &[]),
    // list_amazonec2.html
    ("ec2:DescribeFlowLogs", &[]),
    ("ec2:DescribeInstances", &[]),
    ("ec2:DescribeNetworkAcls", &[]),
    ("ec2:DescribeSecurityGroups", &[]),
    ("ec2:DescribeVolumes", &[]),
    ("ec2:DescribeVpcs", &[]),
    ("ec2:GetEbsDefaultKmsKeyId", &[]),
    ("ec2:GetEbsEncryptionByDefault", &[]),
    // list_amazonelasticfilesystem.html
    ("elasticfilesystem:DescribeFileSystems", &[FILE_SYSTEM]),
    // list_awsidentityandaccessmanagementiam.html
    ("iam:GenerateCredentialReport", &[]),
    ("iam:GetAccountAuthorizationDetails", &[]),
    ("iam:GetAccountPasswordPolicy", &[]),
    ("iam:GetAccountSummary", &[]),
    ("iam:GetCredentialReport", &[]),
    ("iam:GetPolicy", &[IAM_POLICY]),
    ("iam:GetPolicyVersion", &[IAM_POLICY]),
    ("iam:ListEntitiesForPolicy", &[IAM_POLICY]),
    ("iam:ListServerCertificates", &[]),
    // list_awskeymanagementservice.html
    ("kms:DescribeKey", &[KMS_KEY]),
    ("kms:GetKeyRotationStatus", &[KMS_KEY]),
    ("kms:ListKeys", &[]),
    // list_amazonrds.html
    ("rds:DescribeDBInstances", &[DB_INSTANCE]),
    // list_amazons3.html
    ("s3:GetAccountPublicAccessBlock", &[]),
    ("s3:GetBucketLocation", &[S3_ACCESS_POINT, S3_BUCKET]),
    ("s3:GetBucketPolicy", &[S3_ACCESS_POINT, S3_BUCKET]),
    ("s3:GetBucketPublicAccessBlock", &[S3_BUCKET]),
    ("s3:GetBucketVersioning", &[S3_BUCKET]),
    ("s3:GetEncryptionConfiguration", &[S3_BUCKET]),
    ("s3:ListAllMyBuckets", &[]),
    // list_awssecurityhub.html
    ("securityhub:DescribeHub", &[SECURITY_HUB]),
    ("securityhub:GetEnabledStandards", &[SECURITY_HUB]),
];

fn reference(action: &str) -> &'static [&'static str] {
    REFERENCE
        .iter()
        .find(|(a, _)| *a == action)
        .map(|(_, formats)| *formats)
        .unwrap_or_else(|| panic!("{action} is not in REFERENCE"))
}

#[derive(Clone, Copy)]
enum Token {
    Literal(u8),
    /// A `${...}` variable of an ARN format: one or more characters, none of them `:`.
    Variable,
}

fn tokens(format: &str) -> Vec<Token> {
    let bytes = format.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' && bytes.get(i + 1) == Some(&b'{') {
            let close = format[i..].find('}').expect("unclosed ${ in an ARN format");
            out.push(Token::Variable);
            i += close + 1;
        } else {
            out.push(Token::Literal(bytes[i]));
            i += 1;
        }
    }
    out
}

/// Whether the policy ARN `pattern` (where `*` stands for any run of characters, as in IAM)
/// can name an ARN of `format`: literal parts equal, variables filled with values or wildcards,
/// and the `:`-separated segments kept (a `*` never spans a `:` of the format). That the
/// resource-type part itself is not a wildcard is checked apart.
fn fits(format: &[Token], pattern: &[u8]) -> bool {
    match (format.first(), pattern.first()) {
        (None, None) => true,
        // `*` stands for nothing more, or for one more token of the format within its segment.
        (next, Some(b'*')) => {
            let absorbs = matches!(next, Some(Token::Variable))
                || matches!(next, Some(Token::Literal(l)) if *l != b':');
            fits(format, &pattern[1..]) || (absorbs && fits(&format[1..], pattern))
        }
        (Some(Token::Variable), Some(&c)) => {
            c != b':' && (fits(format, &pattern[1..]) || fits(&format[1..], &pattern[1..]))
        }
        (Some(Token::Literal(l)), Some(c)) => l == c && fits(&format[1..], &pattern[1..]),
        _ => false,
    }
}

fn arn_fits(format: &str, pattern: &str) -> bool {
    fits(&tokens(format), pattern.as_bytes())
}

#[test]
fn the_arn_matcher_tells_resource_types_apart() {
    assert!(arn_fits(KMS_KEY, "arn:aws:kms:*:*:key/*"));
    assert!(arn_fits(KMS_KEY, "arn:aws:kms:eu-west-1:123456789012:key/*"));
    assert!(!arn_fits(KMS_KEY, "arn:aws:kms:*:*:alias/*"));
    assert!(!arn_fits(DB_INSTANCE, "arn:aws:rds:*:*"));
    assert!(arn_fits(
        CONFIGURATION_RECORDER,
        "arn:aws:config:*:*:configuration-recorder/*"
    ));
    assert!(arn_fits(DB_INSTANCE, "arn:aws:rds:*:*:db:*"));
    assert!(!arn_fits(DB_INSTANCE, "arn:aws:rds:*:*:cluster:*"));
    assert!(arn_fits(IAM_POLICY, "arn:aws:iam::aws:policy/AWSSupportAccess"));
    assert!(!arn_fits(IAM_POLICY, "arn:aws:iam::aws:role/AWSSupportAccess"));
    assert!(arn_fits(S3_BUCKET, "arn:aws:s3:::*"));
    assert!(!arn_fits(S3_ACCESS_POINT, "arn:aws:s3:::*"));
    assert!(arn_fits(SECURITY_HUB, "arn:aws:securityhub:*:*:hub/default"));
    assert!(!arn_fits(SECURITY_HUB, "arn:aws:securityhub:*:*:hub/other"));
    // A variable never swallows a `:`, so a region cannot hide an account.
    assert!(!arn_fits(TRAIL, "arn:aws:cloudtrail:eu-west-1:1:2:trail/x"));
}

#[test]
fn no_action_has_a_wildcard() {
    for (actions, _) in policy_statements() {
        for a in actions {
            assert!(!a.contains('*') && !a.contains('?'), "wildcard action {a}");
            let (svc, name) = a.split_once(':').expect("service:Action");
            assert!(!svc.is_empty() && !name.is_empty(), "{a}");
        }
    }
}

#[test]
fn the_reference_table_covers_exactly_the_policy_actions() {
    let mut in_policy = BTreeSet::new();
    for (actions, _) in policy_statements() {
        for a in actions {
            assert!(in_policy.insert(a.clone()), "{a} is granted twice");
        }
    }
    let in_table: BTreeSet<String> = REFERENCE.iter().map(|(a, _)| a.to_string()).collect();
    assert_eq!(REFERENCE.len(), in_table.len(), "REFERENCE lists an action twice");
    assert_eq!(
        in_policy, in_table,
        "the policy and the REFERENCE table must name the same actions"
    );
}

#[test]
fn star_resources_only_for_actions_without_resource_level_permissions() {
    for (actions, resources) in policy_statements() {
        assert!(!resources.is_empty(), "statement without Resource: {actions:?}");
        if !resources.iter().any(|r| r == "*") {
            continue;
        }
        assert_eq!(
            resources,
            vec!["*".to_string()],
            "mixed resources for {actions:?}"
        );
        for a in &actions {
            assert!(
                reference(a).is_empty(),
                "{a} supports resource-level permissions ({:?}) but is granted on \"*\"",
                reference(a)
            );
        }
    }
}

#[test]
fn scoped_resources_are_arns_of_the_documented_resource_types() {
    for (actions, resources) in policy_statements() {
        if resources.iter().any(|r| r == "*") {
            continue;
        }
        for r in &resources {
            assert!(
                r.starts_with("arn:aws:"),
                "resource {r} is not an ARN of the aws partition"
            );
            let parts: Vec<&str> = r.splitn(6, ':').collect();
            assert_eq!(parts.len(), 6, "{r}");
            assert!(!parts[2].contains('*'), "service of {r} is a wildcard");
            if parts[2] == "s3" {
                // Bucket ARNs have no resource-type segment: `arn:aws:s3:::<bucket>`.
                assert_eq!(r, "arn:aws:s3:::*", "S3 actions are granted on buckets only");
            } else {
                assert!(!parts[5].starts_with('*'), "resource type of {r} is a wildcard");
            }
        }
        for a in &actions {
            let formats = reference(a);
            assert!(
                !formats.is_empty(),
                "{a} supports no resource-level permission; grant it on \"*\""
            );
            for r in &resources {
                assert!(
                    formats.iter().any(|f| arn_fits(f, r)),
                    "{r} is not an ARN of a resource type of {a} ({formats:?})"
                );
            }
        }
    }
}

#[test]
fn every_action_without_resource_types_is_in_one_star_statement() {
    let star: Vec<(Vec<String>, Vec<String>)> = policy_statements()
        .into_iter()
        .filter(|(_, r)| r.iter().any(|x| x == "*"))
        .collect();
    assert_eq!(star.len(), 1, "one statement holds the \"*\" actions");
    let mut granted = star[0].0.clone();
    granted.sort();
    let mut expected: Vec<String> = REFERENCE
        .iter()
        .filter(|(_, f)| f.is_empty())
        .map(|(a, _)| a.to_string())
        .collect();
    expected.sort();
    assert_eq!(granted, expected);
}

#[test]
fn the_aws_managed_policy_reads_name_the_two_policies() {
    let managed: Vec<(Vec<String>, Vec<String>)> = policy_statements()
        .into_iter()
        .filter(|(a, _)| a.iter().any(|x| x == "iam:GetPolicy"))
        .collect();
    assert_eq!(managed.len(), 1);
    assert_eq!(
        managed[0].1,
        vec![
            "arn:aws:iam::aws:policy/AWSCloudShellFullAccess".to_string(),
            "arn:aws:iam::aws:policy/AWSSupportAccess".to_string()
        ]
    );
}
