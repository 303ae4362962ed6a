//! Region-scoped settings of IAM Access Analyzer and Security Hub.

use std::collections::HashMap;

use aws_sdk_accessanalyzer::types::AnalyzerSummary;
use aws_sdk_securityhub::operation::describe_hub::DescribeHubOutput;
use aws_sdk_securityhub::types::StandardsSubscription;
use serde_json::{Map, Value};

use crate::clients::Clients;
use crate::collect::{call, Part};
use crate::item::{list, ts, Ctx, Item, Obj};
use crate::services::{region_settings, MAX_PAGES};

fn string_map(m: Option<&HashMap<String, String>>) -> Value {
    let sorted: std::collections::BTreeMap<&String, &String> = m.into_iter().flatten().collect();
    let mut out = Map::new();
    for (k, v) in sorted {
        out.insert(k.clone(), Value::String(v.clone()));
    }
    Value::Object(out)
}

/// One analyzer in lowerCamelCase.
pub(crate) fn analyzer(a: &AnalyzerSummary) -> Value {
    Obj::new()
        .set("arn", a.arn())
        .set("name", a.name())
        .set("type", a.r#type().as_str())
        .set("status", a.status().as_str())
        .nul("createdAt", ts(Some(a.created_at())))
        .opt("lastResourceAnalyzed", a.last_resource_analyzed())
        .opt("lastResourceAnalyzedAt", ts(a.last_resource_analyzed_at()))
        .set("tags", string_map(a.tags()))
        .opt(
            "statusReason",
            a.status_reason()
                .map(|r| Obj::new().set("code", r.code().as_str()).build()),
        )
        .build()
}

/// `AWS::AccessAnalyzer::RegionSettings`.
pub(crate) fn access_analyzer_item(ctx: &Ctx, region: &str, analyzers: &[AnalyzerSummary]) -> Item {
    let configuration = Obj::new().set("analyzers", list(analyzers, analyzer)).build();
    region_settings(
        ctx,
        "AWS::AccessAnalyzer::RegionSettings",
        "access-analyzer",
        region,
        configuration,
    )
}

/// `AWS::SecurityHub::RegionSettings`; `hub` `None` is Security Hub not enabled.
pub(crate) fn securityhub_item(
    ctx: &Ctx,
    region: &str,
    hub: Option<&DescribeHubOutput>,
    standards: &[StandardsSubscription],
) -> Item {
    let hub = hub.map_or(Value::Null, |h| {
        Obj::new()
            .nul("hubArn", h.hub_arn())
            .nul("subscribedAt", h.subscribed_at())
            .nul("autoEnableControls", h.auto_enable_controls())
            .nul(
                "controlFindingGenerator",
                h.control_finding_generator().map(|g| g.as_str()),
            )
            .build()
    });
    let standards = list(standards, |s| {
        Obj::new()
            .nul("standardsSubscriptionArn", s.standards_subscription_arn())
            .nul("standardsArn", s.standards_arn())
            .set("standardsInput", string_map(s.standards_input()))
            .nul("standardsStatus", s.standards_status().map(|x| x.as_str()))
            .build()
    });
    let configuration = Obj::new()
        .set("hub", hub)
        .set("enabledStandards", standards)
        .build();
    region_settings(
        ctx,
        "AWS::SecurityHub::RegionSettings",
        "securityhub",
        region,
        configuration,
    )
}

/// Collects `AWS::AccessAnalyzer::RegionSettings` (all analyzers of all types).
pub(crate) async fn access_analyzer(ctx: &Ctx, clients: &Clients, region: &str) -> Part {
    let (c, rec) = clients.access_analyzer(region);
    let mut part = Part::default();
    let mut all = Vec::new();
    let mut evidence = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let (r, ev) = call(
            &rec,
            "ListAnalyzers",
            c.list_analyzers().set_next_token(token.clone()).send(),
        )
        .await;
        evidence.extend(ev);
        match r {
            Ok(out) => {
                all.extend(out.analyzers().iter().cloned());
                token = out.next_token().map(str::to_string);
                if token.is_none() {
                    break;
                }
            }
            Err(e) => {
                part.fail(&rec, &e.error);
                return part;
            }
        }
    }
    all.sort_by(|a, b| a.arn().cmp(b.arn()));
    part.push(access_analyzer_item(ctx, region, &all).with_evidence(&evidence));
    part
}

/// Error codes of `DescribeHub` that mean "Security Hub is not enabled here".
const NOT_ENABLED: &[&str] = &["InvalidAccessException", "ResourceNotFoundException"];

/// Collects `AWS::SecurityHub::RegionSettings`.
pub(crate) async fn securityhub(ctx: &Ctx, clients: &Clients, region: &str) -> Part {
    let (c, rec) = clients.securityhub(region);
    let mut part = Part::default();
    let (r, mut evidence) = call(&rec, "DescribeHub", c.describe_hub().send()).await;
    let hub = match r {
        Ok(h) => Some(h),
        Err(e) if e.is(NOT_ENABLED) => None,
        Err(e) => {
            part.fail(&rec, &e.error);
            return part;
        }
    };
    let mut standards = Vec::new();
    if hub.is_some() {
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let (r, ev) = call(
                &rec,
                "GetEnabledStandards",
                c.get_enabled_standards().set_next_token(token.clone()).send(),
            )
            .await;
            evidence.extend(ev);
            match r {
                Ok(out) => {
                    standards.extend(out.standards_subscriptions().iter().cloned());
                    token = out.next_token().map(str::to_string);
                    if token.is_none() {
                        break;
                    }
                }
                Err(e) => {
                    part.fail(&rec, &e.error);
                    return part;
                }
            }
        }
    }
    part.push(securityhub_item(ctx, region, hub.as_ref(), &standards).with_evidence(&evidence));
    part
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_accessanalyzer::types::{AnalyzerStatus, Type};
    use aws_smithy_types::DateTime;

    #[test]
    fn analyzers_are_listed() {
        let ctx = Ctx::test();
        let a = AnalyzerSummary::builder()
            .arn("arn:aws:access-analyzer:us-east-1:111122223333:analyzer/a")
            .name("a")
            .r#type(Type::Account)
            .created_at(DateTime::from_secs(1_700_000_000))
            .status(AnalyzerStatus::Active)
            .build()
            .unwrap();
        let v = Value::Object(access_analyzer_item(&ctx, "us-east-1", &[a]).body);
        assert_eq!(v["resourceType"], "AWS::AccessAnalyzer::RegionSettings");
        assert_eq!(
            v["arn"],
            "arn:aws:access-analyzer:us-east-1:111122223333:seg-region-settings"
        );
        assert_eq!(v["configuration"]["analyzers"][0]["type"], "ACCOUNT");
        assert_eq!(v["configuration"]["analyzers"][0]["status"], "ACTIVE");
        let v = Value::Object(access_analyzer_item(&ctx, "us-east-1", &[]).body);
        assert_eq!(v["configuration"], serde_json::json!({"analyzers": []}));
    }

    #[test]
    fn a_region_without_security_hub_has_a_null_hub() {
        let ctx = Ctx::test();
        let v = Value::Object(securityhub_item(&ctx, "eu-west-1", None, &[]).body);
        assert_eq!(
            v["configuration"],
            serde_json::json!({"hub": null, "enabledStandards": []})
        );
        let h = DescribeHubOutput::builder()
            .hub_arn("arn:aws:securityhub:eu-west-1:111122223333:hub/default")
            .auto_enable_controls(true)
            .build();
        let v = Value::Object(securityhub_item(&ctx, "eu-west-1", Some(&h), &[]).body);
        assert_eq!(
            v["configuration"]["hub"]["hubArn"],
            "arn:aws:securityhub:eu-west-1:111122223333:hub/default"
        );
    }
}
