//! The shipped IAM policy: no wildcard actions, `"Resource": "*"` only for the actions AWS
//! documents without resource-level permissions, scoped ARNs elsewhere.

// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{policy_statements, NO_RESOURCE_LEVEL};

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
fn star_resources_only_for_actions_without_resource_level_permissions() {
    let mut star_actions = Vec::new();
    for (actions, resources) in policy_statements() {
        assert!(!resources.is_empty(), "statement without Resource: {actions:?}");
        if resources.iter().any(|r| r == "*") {
            assert_eq!(
                resources,
                vec!["*".to_string()],
                "mixed resources for {actions:?}"
            );
            for a in &actions {
                assert!(
                    NO_RESOURCE_LEVEL.contains(&a.as_str()),
                    "{a} supports resource-level permissions but is granted on \"*\""
                );
            }
            star_actions.extend(actions);
        } else {
            for r in &resources {
                assert!(r.starts_with("arn:aws:"), "resource {r} is not an ARN");
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
                assert!(
                    !NO_RESOURCE_LEVEL.contains(&a.as_str()),
                    "{a} supports no resource-level permission; grant it on \"*\" in the first statement"
                );
            }
        }
    }
    star_actions.sort();
    let mut expected: Vec<String> = NO_RESOURCE_LEVEL.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(
        star_actions, expected,
        "the \"*\" statement must list exactly the documented actions"
    );
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
