//! CloudTrail trails whose home region is the region (`DescribeTrails` without shadow trails),
//! each with `GetTrailStatus` and `GetEventSelectors`.

use aws_sdk_cloudtrail::operation::get_event_selectors::GetEventSelectorsOutput;
use aws_sdk_cloudtrail::operation::get_trail_status::GetTrailStatusOutput;
use aws_sdk_cloudtrail::types::Trail;
use serde_json::Value;

use crate::clients::Clients;
use crate::collect::{call, Part};
use crate::item::{list, strs, ts, Ctx, Item, Obj};

/// `GetTrailStatus` output in lowerCamelCase.
pub(crate) fn trail_status(s: &GetTrailStatusOutput) -> Value {
    Obj::new()
        .nul("isLogging", s.is_logging())
        .opt("latestDeliveryError", s.latest_delivery_error())
        .opt("latestNotificationError", s.latest_notification_error())
        .opt("latestDeliveryTime", ts(s.latest_delivery_time()))
        .opt("latestNotificationTime", ts(s.latest_notification_time()))
        .opt("startLoggingTime", ts(s.start_logging_time()))
        .opt("stopLoggingTime", ts(s.stop_logging_time()))
        .opt(
            "latestCloudWatchLogsDeliveryError",
            s.latest_cloud_watch_logs_delivery_error(),
        )
        .opt(
            "latestCloudWatchLogsDeliveryTime",
            ts(s.latest_cloud_watch_logs_delivery_time()),
        )
        .opt("latestDigestDeliveryTime", ts(s.latest_digest_delivery_time()))
        .opt("latestDigestDeliveryError", s.latest_digest_delivery_error())
        .opt("latestDeliveryAttemptTime", s.latest_delivery_attempt_time())
        .opt(
            "latestNotificationAttemptTime",
            s.latest_notification_attempt_time(),
        )
        .opt(
            "latestNotificationAttemptSucceeded",
            s.latest_notification_attempt_succeeded(),
        )
        .opt(
            "latestDeliveryAttemptSucceeded",
            s.latest_delivery_attempt_succeeded(),
        )
        .opt("timeLoggingStarted", s.time_logging_started())
        .opt("timeLoggingStopped", s.time_logging_stopped())
        .build()
}

fn opt_strs(v: &Option<Vec<String>>) -> Option<Value> {
    v.as_ref().map(|v| strs(v))
}

/// `GetEventSelectors` output without `trailARN`: `eventSelectors` and/or
/// `advancedEventSelectors`, whichever the trail uses (`{"eventSelectors": []}` when neither).
pub(crate) fn event_selectors(s: &GetEventSelectorsOutput) -> Value {
    let mut o = Obj::new();
    if let Some(sel) = s.event_selectors.as_ref() {
        o = o.set(
            "eventSelectors",
            list(sel, |e| {
                Obj::new()
                    .nul("readWriteType", e.read_write_type().map(|r| r.as_str()))
                    .nul("includeManagementEvents", e.include_management_events())
                    .set(
                        "dataResources",
                        list(e.data_resources(), |d| {
                            Obj::new()
                                .nul("type", d.r#type())
                                .set("values", strs(d.values()))
                                .build()
                        }),
                    )
                    .set(
                        "excludeManagementEventSources",
                        strs(e.exclude_management_event_sources()),
                    )
                    .build()
            }),
        );
    }
    if let Some(adv) = s.advanced_event_selectors.as_ref() {
        o = o.set(
            "advancedEventSelectors",
            list(adv, |a| {
                Obj::new()
                    .nul("name", a.name())
                    .set(
                        "fieldSelectors",
                        list(a.field_selectors(), |f| {
                            Obj::new()
                                .set("field", f.field())
                                .opt("equals", opt_strs(&f.equals))
                                .opt("startsWith", opt_strs(&f.starts_with))
                                .opt("endsWith", opt_strs(&f.ends_with))
                                .opt("notEquals", opt_strs(&f.not_equals))
                                .opt("notStartsWith", opt_strs(&f.not_starts_with))
                                .opt("notEndsWith", opt_strs(&f.not_ends_with))
                                .build()
                        }),
                    )
                    .build()
            }),
        );
    }
    let v = o.build();
    if v.as_object().is_some_and(|m| m.is_empty()) {
        Obj::new().set("eventSelectors", Value::Array(Vec::new())).build()
    } else {
        v
    }
}

/// `AWS::CloudTrail::Trail` with `TrailStatus` and `EventSelectors` (`snsTopicName` is deprecated
/// in the API but still recorded by AWS Config).
#[allow(deprecated)]
pub(crate) fn trail(
    ctx: &Ctx,
    region: &str,
    t: &Trail,
    status: &GetTrailStatusOutput,
    selectors: &GetEventSelectorsOutput,
) -> Option<Item> {
    let name = t.name()?;
    let configuration = Obj::new()
        .set("name", name)
        .nul("s3BucketName", t.s3_bucket_name())
        .nul("s3KeyPrefix", t.s3_key_prefix())
        .nul("snsTopicName", t.sns_topic_name())
        .nul("snsTopicARN", t.sns_topic_arn())
        .nul("includeGlobalServiceEvents", t.include_global_service_events())
        .nul("isMultiRegionTrail", t.is_multi_region_trail())
        .nul("homeRegion", t.home_region())
        .nul("trailARN", t.trail_arn())
        .nul("logFileValidationEnabled", t.log_file_validation_enabled())
        .nul("cloudWatchLogsLogGroupArn", t.cloud_watch_logs_log_group_arn())
        .nul("cloudWatchLogsRoleArn", t.cloud_watch_logs_role_arn())
        .nul("kmsKeyId", t.kms_key_id())
        .nul("hasCustomEventSelectors", t.has_custom_event_selectors())
        .nul("hasInsightSelectors", t.has_insight_selectors())
        .nul("isOrganizationTrail", t.is_organization_trail())
        .build();
    Some(
        Item::new(
            ctx,
            "AWS::CloudTrail::Trail",
            region,
            name,
            Some(name),
            t.trail_arn(),
            configuration,
        )
        .supp("TrailStatus", trail_status(status))
        .supp("EventSelectors", event_selectors(selectors)),
    )
}

/// Collects the trails of one region.
pub(crate) async fn collect(ctx: &Ctx, clients: &Clients, region: &str) -> Part {
    let (c, rec) = clients.cloudtrail(region);
    let mut part = Part::default();
    let (r, list_ev) = call(
        &rec,
        "DescribeTrails",
        c.describe_trails().include_shadow_trails(false).send(),
    )
    .await;
    let trails = match r {
        Ok(out) => out.trail_list().to_vec(),
        Err(e) => {
            part.fail(&rec, &e.error);
            return part;
        }
    };
    for t in trails {
        if t.home_region().is_some_and(|h| h != region) {
            continue;
        }
        let Some(id) = t.trail_arn().or(t.name()).map(str::to_string) else {
            continue;
        };
        let (s, ev1) = call(&rec, "GetTrailStatus", c.get_trail_status().name(&id).send()).await;
        let (e, ev2) = call(
            &rec,
            "GetEventSelectors",
            c.get_event_selectors().trail_name(&id).send(),
        )
        .await;
        match (s, e) {
            (Ok(s), Ok(e)) => {
                if let Some(it) = trail(ctx, region, &t, &s, &e) {
                    part.push(it.with_evidence(&list_ev).with_evidence(&ev1).with_evidence(&ev2));
                }
            }
            (s, e) => {
                for err in [s.err().map(|x| x.error), e.err().map(|x| x.error)]
                    .into_iter()
                    .flatten()
                {
                    part.fail(&rec, &err);
                }
            }
        }
    }
    part
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudtrail::types::{
        AdvancedEventSelector, AdvancedFieldSelector, DataResource, EventSelector, ReadWriteType,
    };

    #[test]
    fn trails_carry_status_and_selectors() {
        let ctx = Ctx::test();
        let t = Trail::builder()
            .name("main")
            .home_region("us-east-1")
            .is_multi_region_trail(true)
            .log_file_validation_enabled(false)
            .trail_arn("arn:aws:cloudtrail:us-east-1:111122223333:trail/main")
            .build();
        let s = GetTrailStatusOutput::builder().is_logging(true).build();
        let e = GetEventSelectorsOutput::builder()
            .event_selectors(
                EventSelector::builder()
                    .read_write_type(ReadWriteType::All)
                    .include_management_events(true)
                    .data_resources(
                        DataResource::builder()
                            .r#type("AWS::S3::Object")
                            .values("arn:aws:s3")
                            .build(),
                    )
                    .build(),
            )
            .build();
        let v = Value::Object(trail(&ctx, "us-east-1", &t, &s, &e).unwrap().body);
        assert_eq!(v["resourceId"], "main");
        assert_eq!(v["configuration"]["isMultiRegionTrail"], true);
        assert_eq!(v["configuration"]["kmsKeyId"], Value::Null);
        assert_eq!(v["supplementaryConfiguration"]["TrailStatus"]["isLogging"], true);
        let sel = &v["supplementaryConfiguration"]["EventSelectors"]["eventSelectors"][0];
        assert_eq!(sel["readWriteType"], "All");
        assert_eq!(sel["dataResources"][0]["values"][0], "arn:aws:s3");
    }

    #[test]
    fn advanced_selectors_keep_only_the_operators_set() {
        let e = GetEventSelectorsOutput::builder()
            .advanced_event_selectors(
                AdvancedEventSelector::builder()
                    .name("s3")
                    .field_selectors(
                        AdvancedFieldSelector::builder()
                            .field("eventCategory")
                            .equals("Data")
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .build();
        let v = event_selectors(&e);
        assert_eq!(
            v,
            serde_json::json!({"advancedEventSelectors": [{"name": "s3", "fieldSelectors": [{"field": "eventCategory", "equals": ["Data"]}]}]})
        );
        assert_eq!(
            event_selectors(&GetEventSelectorsOutput::builder().build()),
            serde_json::json!({"eventSelectors": []})
        );
    }
}
