//! AWS Config: the region's recorder setup (`AWS::Config::RegionSettings`) and, where a recorder
//! is recording, the configuration items it has for the bundle's resource types
//! (`ListDiscoveredResources` + `BatchGetResourceConfig`, 100 keys per batch).
//!
//! A `BatchGetResourceConfig` answer (HTTP 2xx) that the SDK cannot deserialize is read again
//! from its raw body by [`batch_from_body`], which is exactly as strict as the SDK except for
//! timestamps (see [`wire_time`]): AWS sends epoch seconds, but one odd timestamp must not cost the
//! whole batch. Every item must answer one of the keys asked for.

use std::collections::BTreeSet;

use aws_sdk_config::types::{
    BaseConfigurationItem, ConfigurationItemStatus, ConfigurationRecorder, ConfigurationRecorderStatus,
    DeliveryChannel, RecordingFrequency, ResourceKey, ResourceType,
};
use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use serde_json::{Map, Value};

use crate::clients::Clients;
use crate::collect::{call, Part};
use crate::item::{list, ts, Ctx, Item, Obj};
use crate::services::{region_settings, MAX_PAGES};
use crate::AwsError;

/// Target kinds of the bundle that AWS Config records, regional ones first.
pub(crate) const REGIONAL_TYPES: &[&str] = &[
    "AWS::S3::Bucket",
    "AWS::S3::AccountPublicAccessBlock",
    "AWS::RDS::DBInstance",
    "AWS::EFS::FileSystem",
    "AWS::CloudTrail::Trail",
    "AWS::KMS::Key",
    "AWS::EC2::VPC",
    "AWS::EC2::SecurityGroup",
    "AWS::EC2::NetworkAcl",
    "AWS::EC2::Instance",
    "AWS::EC2::Volume",
];

/// Global (IAM) kinds, recorded where `includeGlobalResourceTypes` (or an explicit list) says.
pub(crate) const GLOBAL_TYPES: &[&str] = &[
    "AWS::IAM::User",
    "AWS::IAM::Group",
    "AWS::IAM::Role",
    "AWS::IAM::Policy",
    "AWS::IAM::ServerCertificate",
];

fn recorder(r: &ConfigurationRecorder) -> Value {
    let group = r.recording_group().map(|g| {
        Obj::new()
            .set("allSupported", g.all_supported())
            .set("includeGlobalResourceTypes", g.include_global_resource_types())
            .set(
                "resourceTypes",
                list(g.resource_types(), |t| Value::from(t.as_str())),
            )
            .set(
                "exclusionByResourceTypes",
                Obj::new()
                    .set(
                        "resourceTypes",
                        list(
                            g.exclusion_by_resource_types()
                                .map(|e| e.resource_types())
                                .unwrap_or_default(),
                            |t| Value::from(t.as_str()),
                        ),
                    )
                    .build(),
            )
            .nul(
                "recordingStrategy",
                g.recording_strategy().map(|s| {
                    Obj::new()
                        .nul("useOnly", s.use_only().map(|u| u.as_str()))
                        .build()
                }),
            )
            .build()
    });
    let mode = r.recording_mode().map(|m| {
        Obj::new()
            .set("recordingFrequency", m.recording_frequency().as_str())
            .set(
                "recordingModeOverrides",
                list(m.recording_mode_overrides(), |o| {
                    Obj::new()
                        .nul("description", o.description())
                        .set(
                            "resourceTypes",
                            list(o.resource_types(), |t| Value::from(t.as_str())),
                        )
                        .set("recordingFrequency", o.recording_frequency().as_str())
                        .build()
                }),
            )
            .build()
    });
    Obj::new()
        .opt("arn", r.arn())
        .nul("name", r.name())
        .nul("roleARN", r.role_arn())
        .nul("recordingGroup", group)
        .opt("recordingMode", mode)
        .opt("recordingScope", r.recording_scope().map(|s| s.as_str()))
        .opt("servicePrincipal", r.service_principal())
        .build()
}

fn recorder_status(s: &ConfigurationRecorderStatus) -> Value {
    Obj::new()
        .opt("arn", s.arn())
        .nul("name", s.name())
        .opt("lastStartTime", ts(s.last_start_time()))
        .opt("lastStopTime", ts(s.last_stop_time()))
        .set("recording", s.recording())
        .opt("lastStatus", s.last_status().map(|x| x.as_str()))
        .opt("lastErrorCode", s.last_error_code())
        .opt("lastErrorMessage", s.last_error_message())
        .opt("lastStatusChangeTime", ts(s.last_status_change_time()))
        .opt("servicePrincipal", s.service_principal())
        .build()
}

fn delivery_channel(d: &DeliveryChannel) -> Value {
    Obj::new()
        .nul("name", d.name())
        .opt("s3BucketName", d.s3_bucket_name())
        .opt("s3KeyPrefix", d.s3_key_prefix())
        .opt("s3KmsKeyArn", d.s3_kms_key_arn())
        .opt("snsTopicARN", d.sns_topic_arn())
        .opt(
            "configSnapshotDeliveryProperties",
            d.config_snapshot_delivery_properties().map(|p| {
                Obj::new()
                    .nul("deliveryFrequency", p.delivery_frequency().map(|f| f.as_str()))
                    .build()
            }),
        )
        .build()
}

/// `AWS::Config::RegionSettings`.
pub(crate) fn region_settings_item(
    ctx: &Ctx,
    region: &str,
    recorders: &[ConfigurationRecorder],
    statuses: &[ConfigurationRecorderStatus],
    channels: &[DeliveryChannel],
) -> Item {
    let configuration = Obj::new()
        .set("configurationRecorders", list(recorders, recorder))
        .set("configurationRecordersStatus", list(statuses, recorder_status))
        .set("deliveryChannels", list(channels, delivery_channel))
        .build();
    region_settings(
        ctx,
        "AWS::Config::RegionSettings",
        "config",
        region,
        configuration,
    )
}

/// The bundle's resource types that a recording recorder of the region records.
pub(crate) fn recorded_types(
    recorders: &[ConfigurationRecorder],
    statuses: &[ConfigurationRecorderStatus],
) -> BTreeSet<&'static str> {
    let mut out = BTreeSet::new();
    for r in recorders {
        let recording = statuses.iter().any(|s| s.name() == r.name() && s.recording());
        let Some(g) = r.recording_group().filter(|_| recording) else {
            continue;
        };
        let excluded: BTreeSet<&str> = g
            .exclusion_by_resource_types()
            .map(|e| e.resource_types().iter().map(|t| t.as_str()).collect())
            .unwrap_or_default();
        let listed: BTreeSet<&str> = g.resource_types().iter().map(|t| t.as_str()).collect();
        let strategy = g
            .recording_strategy()
            .and_then(|s| s.use_only())
            .map(|u| u.as_str());
        for t in REGIONAL_TYPES.iter().chain(GLOBAL_TYPES) {
            let global = GLOBAL_TYPES.contains(t);
            let yes = if strategy == Some("EXCLUSION_BY_RESOURCE_TYPES") {
                !excluded.contains(t)
            } else if g.all_supported() {
                !global || g.include_global_resource_types()
            } else {
                listed.contains(t)
            };
            if yes {
                out.insert(*t);
            }
        }
    }
    out
}

fn parse_json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.to_string()))
}

/// An AWS Config item in the envelope: `configuration` and every supplementary value parsed.
pub(crate) fn config_item(ctx: &Ctx, c: &BaseConfigurationItem) -> Result<Item, String> {
    let rt = c
        .resource_type()
        .map(|t| t.as_str())
        .ok_or("item without resourceType")?;
    let id = c.resource_id().ok_or("item without resourceId")?;
    let region = c.aws_region().ok_or("item without awsRegion")?;
    let status = c
        .configuration_item_status()
        .map_or("OK", |s| s.as_str())
        .to_string();
    let configuration = if status.starts_with("ResourceDeleted") {
        Value::Null
    } else {
        match c.configuration() {
            Some(text) => serde_json::from_str(text)
                .map_err(|e| format!("{rt} {id}: configuration is not JSON: {e}"))?,
            None => Value::Null,
        }
    };
    let mut supp = Map::new();
    if let Some(m) = c.supplementary_configuration() {
        for (k, v) in m {
            supp.insert(k.clone(), parse_json(v));
        }
    }
    let mut it = Item::new(ctx, rt, region, id, c.resource_name(), c.arn(), configuration)
        .set("configurationItemStatus", status)
        .set("supplementaryConfiguration", Value::Object(supp));
    if let Some(v) = c.version() {
        it = it.set("version", v);
    }
    if let Some(s) = c.configuration_state_id() {
        it = it.set("configurationStateId", s);
    }
    if let Some(az) = c.availability_zone() {
        it = it.set("availabilityZone", az);
    }
    it = it.set("resourceCreationTime", ts(c.resource_creation_time()));
    Ok(it)
}

/// A timestamp member of a configuration item as sent: epoch seconds (a JSON number, the AWS JSON
/// protocol's wire form) or an RFC 3339 string with a UTC offset, also with a space instead of the
/// `T` (RFC 3339 §5.6 allows it; the SDK does not). A string without an offset names no instant
/// and is left out (`Ok(None)`) rather than guessed; anything else is an error.
fn wire_time(v: Option<&Value>, member: &str) -> Result<Option<DateTime>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|f| f.is_finite())
            .map(|f| Some(DateTime::from_secs_f64(f)))
            .ok_or_else(|| format!("{member} is not a finite number of seconds: {n}")),
        Some(Value::String(t)) => {
            let mut t = t.clone();
            if t.as_bytes().get(10) == Some(&b' ') {
                t.replace_range(10..11, "T");
            }
            if let Ok(d) = DateTime::from_str(&t, Format::DateTimeWithOffset) {
                return Ok(Some(d));
            }
            // A date-time without an offset: valid, but no instant.
            if DateTime::from_str(&format!("{t}Z"), Format::DateTimeWithOffset).is_ok() {
                return Ok(None);
            }
            Err(format!("{member} is not a date-time: {t:?}"))
        }
        Some(other) => Err(format!("{member} is not a timestamp: {other}")),
    }
}

/// A string member (absent or `null`: `None`).
fn wire_str<'a>(o: &'a Map<String, Value>, member: &str) -> Result<Option<&'a str>, String> {
    match o.get(member) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(format!("{member} is not a string: {other}")),
    }
}

/// One `BaseConfigurationItem` of a raw `BatchGetResourceConfig` body.
fn wire_item(v: &Value) -> Result<BaseConfigurationItem, String> {
    let o = v
        .as_object()
        .ok_or_else(|| format!("a configuration item is not an object: {v}"))?;
    let supplementary = match o.get("supplementaryConfiguration") {
        None | Some(Value::Null) => None,
        Some(Value::Object(m)) => {
            let mut out = std::collections::HashMap::new();
            for (k, v) in m {
                match v {
                    Value::String(s) => {
                        out.insert(k.clone(), s.clone());
                    }
                    Value::Null => {}
                    other => return Err(format!("supplementaryConfiguration.{k} is not a string: {other}")),
                }
            }
            Some(out)
        }
        Some(other) => return Err(format!("supplementaryConfiguration is not an object: {other}")),
    };
    Ok(BaseConfigurationItem::builder()
        .set_version(wire_str(o, "version")?.map(str::to_string))
        .set_account_id(wire_str(o, "accountId")?.map(str::to_string))
        .set_configuration_item_capture_time(wire_time(
            o.get("configurationItemCaptureTime"),
            "configurationItemCaptureTime",
        )?)
        .set_configuration_item_status(
            wire_str(o, "configurationItemStatus")?.map(ConfigurationItemStatus::from),
        )
        .set_configuration_state_id(wire_str(o, "configurationStateId")?.map(str::to_string))
        .set_arn(wire_str(o, "arn")?.map(str::to_string))
        .set_resource_type(wire_str(o, "resourceType")?.map(ResourceType::from))
        .set_resource_id(wire_str(o, "resourceId")?.map(str::to_string))
        .set_resource_name(wire_str(o, "resourceName")?.map(str::to_string))
        .set_aws_region(wire_str(o, "awsRegion")?.map(str::to_string))
        .set_availability_zone(wire_str(o, "availabilityZone")?.map(str::to_string))
        .set_resource_creation_time(wire_time(o.get("resourceCreationTime"), "resourceCreationTime")?)
        .set_configuration(wire_str(o, "configuration")?.map(str::to_string))
        .set_supplementary_configuration(supplementary)
        .set_recording_frequency(wire_str(o, "recordingFrequency")?.map(RecordingFrequency::from))
        .set_configuration_item_delivery_time(wire_time(
            o.get("configurationItemDeliveryTime"),
            "configurationItemDeliveryTime",
        )?)
        .build())
}

/// A `BatchGetResourceConfig` answer read from its raw body: the items and the number of
/// unprocessed keys.
fn batch_from_body(body: &[u8]) -> Result<(Vec<BaseConfigurationItem>, usize), String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("the answer is not JSON: {e}"))?;
    let o = v.as_object().ok_or("the answer is not a JSON object")?;
    let items = match o.get("baseConfigurationItems") {
        Some(Value::Array(a)) => a.iter().map(wire_item).collect::<Result<_, _>>()?,
        None => return Err("the answer has no baseConfigurationItems".into()),
        Some(other) => return Err(format!("baseConfigurationItems is not a list: {other}")),
    };
    let unprocessed = match o.get("unprocessedResourceKeys") {
        None | Some(Value::Null) => 0,
        Some(Value::Array(a)) => a.len(),
        Some(other) => return Err(format!("unprocessedResourceKeys is not a list: {other}")),
    };
    Ok((items, unprocessed))
}

/// Whether a returned item answers one of the keys asked for (type `rt`, ids `asked`).
fn answers(ci: &BaseConfigurationItem, rt: &str, asked: &[String]) -> bool {
    ci.resource_type().map(|t| t.as_str()) == Some(rt)
        && ci.resource_id().is_some_and(|id| asked.iter().any(|a| a == id))
}

/// The region's `AWS::Config::RegionSettings` (in the part) and the AWS Config items of the
/// types its recorders record.
pub(crate) async fn collect(ctx: &Ctx, clients: &Clients, region: &str) -> (Part, Vec<Item>) {
    let (c, rec) = clients.config(region);
    let mut part = Part::default();
    let (r1, mut ev) = call(
        &rec,
        "DescribeConfigurationRecorders",
        c.describe_configuration_recorders().send(),
    )
    .await;
    let (r2, ev2) = call(
        &rec,
        "DescribeConfigurationRecorderStatus",
        c.describe_configuration_recorder_status().send(),
    )
    .await;
    let (r3, ev3) = call(
        &rec,
        "DescribeDeliveryChannels",
        c.describe_delivery_channels().send(),
    )
    .await;
    ev.extend(ev2);
    ev.extend(ev3);
    let (recorders, statuses, channels) = match (r1, r2, r3) {
        (Ok(a), Ok(b), Ok(c)) => (
            a.configuration_recorders().to_vec(),
            b.configuration_recorders_status().to_vec(),
            c.delivery_channels().to_vec(),
        ),
        (a, b, c) => {
            for e in [
                a.err().map(|e| e.error),
                b.err().map(|e| e.error),
                c.err().map(|e| e.error),
            ]
            .into_iter()
            .flatten()
            {
                part.fail(&rec, &e);
            }
            return (part, Vec::new());
        }
    };
    part.push(region_settings_item(ctx, region, &recorders, &statuses, &channels).with_evidence(&ev));

    let mut items = Vec::new();
    for rt in recorded_types(&recorders, &statuses) {
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        let mut ok = true;
        for _ in 0..MAX_PAGES {
            let (r, _) = call(
                &rec,
                "ListDiscoveredResources",
                c.list_discovered_resources()
                    .resource_type(ResourceType::from(rt))
                    .limit(100)
                    .set_next_token(token.clone())
                    .send(),
            )
            .await;
            match r {
                Ok(out) => {
                    keys.extend(
                        out.resource_identifiers()
                            .iter()
                            .filter_map(|i| i.resource_id().map(str::to_string)),
                    );
                    token = out.next_token().map(str::to_string);
                    if token.is_none() {
                        break;
                    }
                }
                Err(e) => {
                    part.fail(&rec, &e.error);
                    ok = false;
                    break;
                }
            }
        }
        if !ok {
            continue;
        }
        for chunk in keys.chunks(100) {
            let rks: Vec<ResourceKey> = chunk
                .iter()
                .filter_map(|id| {
                    ResourceKey::builder()
                        .resource_type(ResourceType::from(rt))
                        .resource_id(id)
                        .build()
                        .ok()
                })
                .collect();
            let (r, ev) = call(
                &rec,
                "BatchGetResourceConfig",
                c.batch_get_resource_config().set_resource_keys(Some(rks)).send(),
            )
            .await;
            let batch = match r {
                Ok(out) => Ok((
                    out.base_configuration_items().to_vec(),
                    out.unprocessed_resource_keys().len(),
                )),
                // A successful answer the SDK could not deserialize: read its body (the recorded
                // evidence); if that fails too, the SDK's error stands.
                Err(e) => match (e.status, e.code.as_deref(), e.body.as_deref()) {
                    (Some(200..=299), None, Some(body)) => batch_from_body(body).map_err(|why| {
                        AwsError::response(
                            "config:BatchGetResourceConfig",
                            region,
                            format!("{}; reading the answer's body: {why}", e.error),
                        )
                    }),
                    _ => Err(e.error),
                },
            };
            let (cis, left) = match batch {
                Ok(b) => b,
                Err(e) => {
                    part.fail(&rec, &e);
                    continue;
                }
            };
            for ci in &cis {
                if !answers(ci, rt, chunk) {
                    part.fail(
                        &rec,
                        &AwsError::response(
                            "config:BatchGetResourceConfig",
                            region,
                            format!(
                                "an item of {} {} answers none of the {} {rt} keys asked for",
                                ci.resource_type().map_or("?", |t| t.as_str()),
                                ci.resource_id().unwrap_or("?"),
                                chunk.len(),
                            ),
                        ),
                    );
                    continue;
                }
                match config_item(ctx, ci) {
                    Ok(it) => items.push(it.with_evidence(&ev)),
                    Err(m) => part.fail(
                        &rec,
                        &AwsError::response("config:BatchGetResourceConfig", region, m),
                    ),
                }
            }
            if left > 0 {
                part.fail(
                    &rec,
                    &AwsError::Unavailable {
                        action: "config:BatchGetResourceConfig".into(),
                        region: region.to_string(),
                        message: format!("{left} {rt} keys were not processed"),
                    },
                );
            }
        }
    }
    (part, items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_config::types::{ConfigurationItemStatus, RecordingGroup};
    use std::collections::HashMap;

    fn recorder_all(global: bool) -> ConfigurationRecorder {
        ConfigurationRecorder::builder()
            .name("default")
            .role_arn("arn:aws:iam::111122223333:role/config")
            .recording_group(
                RecordingGroup::builder()
                    .all_supported(true)
                    .include_global_resource_types(global)
                    .build(),
            )
            .build()
    }

    #[test]
    fn region_settings_lists_recorders_status_and_channels() {
        let ctx = Ctx::test();
        let st = ConfigurationRecorderStatus::builder()
            .name("default")
            .recording(true)
            .last_status(aws_sdk_config::types::RecorderStatus::from("SUCCESS"))
            .build();
        let ch = DeliveryChannel::builder()
            .name("default")
            .s3_bucket_name("b")
            .build();
        let v =
            Value::Object(region_settings_item(&ctx, "us-east-1", &[recorder_all(true)], &[st], &[ch]).body);
        let c = &v["configuration"];
        assert_eq!(
            c["configurationRecorders"][0]["recordingGroup"]["allSupported"],
            true
        );
        assert_eq!(
            c["configurationRecorders"][0]["roleARN"],
            "arn:aws:iam::111122223333:role/config"
        );
        assert_eq!(c["configurationRecordersStatus"][0]["recording"], true);
        assert_eq!(c["configurationRecordersStatus"][0]["lastStatus"], "SUCCESS");
        assert_eq!(c["deliveryChannels"][0]["s3BucketName"], "b");
        let v = Value::Object(region_settings_item(&ctx, "us-east-1", &[], &[], &[]).body);
        assert_eq!(
            v["configuration"],
            serde_json::json!({"configurationRecorders": [], "configurationRecordersStatus": [], "deliveryChannels": []})
        );
    }

    #[test]
    fn recorded_types_follow_the_recording_group_and_status() {
        let on = ConfigurationRecorderStatus::builder()
            .name("default")
            .recording(true)
            .build();
        let off = ConfigurationRecorderStatus::builder()
            .name("default")
            .recording(false)
            .build();
        let t = recorded_types(&[recorder_all(false)], std::slice::from_ref(&on));
        assert!(t.contains("AWS::S3::Bucket"));
        assert!(!t.contains("AWS::IAM::User"));
        let t = recorded_types(&[recorder_all(true)], &[on]);
        assert!(t.contains("AWS::IAM::User"));
        assert!(recorded_types(&[recorder_all(true)], &[off]).is_empty());
    }

    #[test]
    fn config_items_are_parsed_into_the_envelope() {
        let ctx = Ctx::test();
        let mut supp = HashMap::new();
        supp.insert(
            "BucketPolicy".to_string(),
            "{\"policyText\":\"{\\\"Statement\\\":[]}\"}".to_string(),
        );
        supp.insert("Odd".to_string(), "not json".to_string());
        let ci = BaseConfigurationItem::builder()
            .version("1.3")
            .resource_type(ResourceType::from("AWS::S3::Bucket"))
            .resource_id("logs")
            .resource_name("logs")
            .aws_region("us-east-1")
            .configuration_state_id("42")
            .configuration_item_status(ConfigurationItemStatus::Ok)
            .configuration("{\"name\":\"logs\"}")
            .set_supplementary_configuration(Some(supp))
            .build();
        let v = Value::Object(config_item(&ctx, &ci).unwrap().body);
        assert_eq!(v["configuration"]["name"], "logs");
        assert_eq!(v["configurationStateId"], "42");
        assert_eq!(
            v["supplementaryConfiguration"]["BucketPolicy"]["policyText"],
            "{\"Statement\":[]}"
        );
        assert_eq!(v["supplementaryConfiguration"]["Odd"], "not json");
        assert_eq!(v["configurationItemCaptureTime"], "2026-11-23T12:00:00Z");
        let bad = BaseConfigurationItem::builder()
            .resource_type(ResourceType::from("AWS::S3::Bucket"))
            .resource_id("x")
            .aws_region("us-east-1")
            .configuration("{")
            .build();
        assert!(config_item(&ctx, &bad).is_err());
    }

    #[test]
    fn wire_times_are_epoch_seconds_or_rfc3339_with_an_offset() {
        let t = |v: Value| wire_time(Some(&v), "t").map(|d| ts(d.as_ref()));
        assert_eq!(
            t(serde_json::json!(1_795_435_200.5)),
            Ok(Some("2026-11-23T12:00:00.5Z".into()))
        );
        assert_eq!(
            t(serde_json::json!(1_795_435_200)),
            Ok(Some("2026-11-23T12:00:00Z".into()))
        );
        assert_eq!(
            t(Value::from("2026-11-23T12:00:00Z")),
            Ok(Some("2026-11-23T12:00:00Z".into()))
        );
        // A space for the `T` (RFC 3339 §5.6) and an offset.
        assert_eq!(
            t(Value::from("2026-11-23 13:00:00.123456+01:00")),
            Ok(Some("2026-11-23T12:00:00.123456Z".into()))
        );
        // No offset: no instant, left out.
        assert_eq!(t(Value::from("2026-11-23 12:00:00.123456")), Ok(None));
        assert!(t(Value::from("yesterday")).is_err());
        assert_eq!(wire_time(None, "t"), Ok(None));
        assert_eq!(wire_time(Some(&Value::Null), "t"), Ok(None));
        assert!(t(Value::Bool(true)).is_err());
        assert!(t(serde_json::json!({"at": 1})).is_err());
    }

    /// A `BatchGetResourceConfig` body with the timestamps as some simulators write them (Python
    /// `str(datetime)`, with and without an offset), which the SDK rejects.
    const ODD_BODY: &str = r#"{
        "baseConfigurationItems": [
            {"version": "1.3", "accountId": "111122223333",
             "configurationItemCaptureTime": "2026-11-20 08:00:00.250000+00:00",
             "configurationItemStatus": "ResourceDiscovered", "configurationStateId": "1795435100",
             "configurationItemMD5Hash": "", "arn": "arn:aws:s3:::logs",
             "resourceType": "AWS::S3::Bucket", "resourceId": "logs", "resourceName": "logs",
             "awsRegion": "us-east-1", "availabilityZone": "Regional",
             "resourceCreationTime": "2026-11-20 08:00:00.250000+00:00",
             "relatedEvents": [], "relationships": [], "tags": {"team": "platform"},
             "configuration": "{\"name\": \"logs\"}",
             "supplementaryConfiguration": {"BucketPolicy": "{\"policyText\": null}", "Gone": null}},
            {"version": "1.3", "configurationItemCaptureTime": "2026-11-20 08:00:00.250000",
             "configurationItemStatus": "OK", "resourceType": "AWS::IAM::Policy",
             "resourceId": "ANPAEXAMPLE", "resourceName": "admin", "awsRegion": "global",
             "resourceCreationTime": "2026-11-20 08:00:00.250000", "tags": [],
             "configuration": "{\"policyName\": \"admin\"}", "supplementaryConfiguration": {}}
        ],
        "unprocessedResourceKeys": [{"resourceType": "AWS::S3::Bucket", "resourceId": "later"}]
    }"#;

    #[test]
    fn an_answer_the_sdk_rejects_is_read_from_its_body() {
        let ctx = Ctx::test();
        let (items, left) = batch_from_body(ODD_BODY.as_bytes()).unwrap();
        assert_eq!((items.len(), left), (2, 1));
        let b = &items[0];
        assert_eq!(b.resource_type().map(|t| t.as_str()), Some("AWS::S3::Bucket"));
        assert_eq!(
            b.configuration_item_status(),
            Some(&ConfigurationItemStatus::ResourceDiscovered)
        );
        assert_eq!(
            ts(b.configuration_item_capture_time()).as_deref(),
            Some("2026-11-20T08:00:00.25Z")
        );
        let v = Value::Object(config_item(&ctx, b).unwrap().body);
        assert_eq!(v["resourceId"], "logs");
        assert_eq!(v["arn"], "arn:aws:s3:::logs");
        assert_eq!(v["availabilityZone"], "Regional");
        assert_eq!(v["configurationStateId"], "1795435100");
        assert_eq!(v["configurationItemStatus"], "ResourceDiscovered");
        assert_eq!(v["resourceCreationTime"], "2026-11-20T08:00:00.25Z");
        // The envelope's capture time is the collection's.
        assert_eq!(v["configurationItemCaptureTime"], "2026-11-23T12:00:00Z");
        assert_eq!(v["configuration"]["name"], "logs");
        assert_eq!(
            v["supplementaryConfiguration"],
            serde_json::json!({"BucketPolicy": {"policyText": null}})
        );
        // A time without an offset is left out, the rest of the item is kept.
        let p = Value::Object(config_item(&ctx, &items[1]).unwrap().body);
        assert_eq!(p["resourceId"], "ANPAEXAMPLE");
        assert_eq!(p["resourceCreationTime"], Value::Null);
        assert_eq!(p["configuration"]["policyName"], "admin");
    }

    #[test]
    fn the_body_is_as_strict_as_the_sdk_except_for_timestamps() {
        let bad = [
            "not json",
            "[]",
            r#"{"unprocessedResourceKeys": []}"#,
            r#"{"baseConfigurationItems": {}}"#,
            r#"{"baseConfigurationItems": [1]}"#,
            r#"{"baseConfigurationItems": [{"resourceId": 7}]}"#,
            r#"{"baseConfigurationItems": [{"configuration": {"name": "x"}}]}"#,
            r#"{"baseConfigurationItems": [{"supplementaryConfiguration": {"BucketPolicy": {}}}]}"#,
            r#"{"baseConfigurationItems": [{"supplementaryConfiguration": []}]}"#,
            r#"{"baseConfigurationItems": [{"resourceCreationTime": true}]}"#,
            r#"{"baseConfigurationItems": [], "unprocessedResourceKeys": 3}"#,
        ];
        for b in bad {
            assert!(batch_from_body(b.as_bytes()).is_err(), "{b}");
        }
        let (items, left) = batch_from_body(br#"{"baseConfigurationItems": []}"#).unwrap();
        assert!(items.is_empty());
        assert_eq!(left, 0);
    }

    #[test]
    fn items_must_answer_a_key_that_was_asked_for() {
        let item = |rt: &str, id: &str| {
            BaseConfigurationItem::builder()
                .resource_type(ResourceType::from(rt))
                .resource_id(id)
                .build()
        };
        let asked = vec!["AROAEXAMPLE".to_string(), "AROAOTHER".to_string()];
        assert!(answers(
            &item("AWS::IAM::Role", "AROAEXAMPLE"),
            "AWS::IAM::Role",
            &asked
        ));
        // An item under the role's name although its id was asked for.
        assert!(!answers(
            &item("AWS::IAM::Role", "my-role"),
            "AWS::IAM::Role",
            &asked
        ));
        assert!(!answers(
            &item("AWS::IAM::User", "AROAEXAMPLE"),
            "AWS::IAM::Role",
            &asked
        ));
        assert!(!answers(
            &BaseConfigurationItem::builder().build(),
            "AWS::IAM::Role",
            &asked
        ));
    }
}
