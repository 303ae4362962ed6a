//! Inventory records: parsing JSONL and normalizing provider shapes into [`Asset`] + [`ConfigDoc`].
//!
//! Supported record shapes, detected per line:
//! - AWS Config configuration item (`resourceType`, `resourceId`, `accountId`, `awsRegion`,
//!   `configurationItemCaptureTime`, `configuration`, ...);
//! - Azure Resource Graph row (`id`, `type`, `subscriptionId`, `location`, `properties`);
//! - GCP Cloud Asset Inventory asset (`name`, `assetType`, `resource`, `updateTime`).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::model::{Asset, AssetRef, ConfigDoc, PropertyValue, Provider};
use crate::time::Timestamp;

/// An asset and its configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct InventoryItem {
    pub asset: Asset,
    pub config: ConfigDoc,
}

/// A line that could not be used, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryProblem {
    /// 1-based line number.
    pub line: usize,
    pub reason: String,
}

/// One usable record: an asset, or the deletion of one.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Item(Box<InventoryItem>),
    /// The resource was deleted (AWS Config `ResourceDeleted...`): a tombstone for its URN.
    Deleted {
        urn: String,
        captured: Timestamp,
    },
}

impl Record {
    fn key(&self) -> (&str, Timestamp) {
        match self {
            Record::Item(i) => (&i.asset.asset_ref.urn, i.config.captured_at),
            Record::Deleted { urn, captured } => (urn, *captured),
        }
    }
}

/// Result of parsing an inventory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedInventory {
    pub items: Vec<InventoryItem>,
    pub problems: Vec<InventoryProblem>,
    /// Resources whose newest record says they were deleted (`ResourceDeleted...`).
    pub deleted: usize,
    /// Older records of an asset that a newer record (by capture time, then line) replaced.
    pub superseded: usize,
}

/// A line number and what became of that line.
type LineOutcome = (usize, Result<Record, String>);

/// Parse JSONL: one record per line; blank lines are ignored; every unusable line is reported.
/// Lines are parsed on `workers` threads; the result does not depend on their number.
pub fn parse_jsonl_parallel(text: &str, workers: usize) -> ParsedInventory {
    let lines: Vec<&str> = text.lines().collect();
    let chunk = lines.len().div_ceil(workers.max(1)).max(1);
    let parsed: Vec<Vec<LineOutcome>> = std::thread::scope(|s| {
        let handles: Vec<_> = lines
            .chunks(chunk)
            .enumerate()
            .map(|(c, part)| {
                s.spawn(move || {
                    part.iter()
                        .enumerate()
                        .filter(|(_, l)| !l.trim().is_empty())
                        .map(|(i, l)| (c * chunk + i + 1, normalize(l)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    // The newest record of each asset wins (capture time, then line); a deletion removes it.
    let mut out = ParsedInventory::default();
    let mut winners: Vec<Record> = Vec::new();
    let mut by_urn: BTreeMap<String, usize> = BTreeMap::new();
    for (line, r) in parsed.into_iter().flatten() {
        match r {
            Err(reason) => out.problems.push(InventoryProblem { line, reason }),
            Ok(record) => {
                let (urn, captured) = record.key();
                match by_urn.get(urn) {
                    Some(&i) if winners[i].key().1 > captured => out.superseded += 1,
                    Some(&i) => {
                        out.superseded += 1;
                        winners[i] = record;
                    }
                    None => {
                        by_urn.insert(urn.to_string(), winners.len());
                        winners.push(record);
                    }
                }
            }
        }
    }
    for w in winners {
        match w {
            Record::Item(item) => out.items.push(*item),
            Record::Deleted { .. } => out.deleted += 1,
        }
    }
    out
}

/// [`parse_jsonl_parallel`] on one thread.
pub fn parse_jsonl(text: &str) -> ParsedInventory {
    parse_jsonl_parallel(text, 1)
}

/// The fields of the three record shapes that identify an asset. Everything else stays in the
/// raw text and is not materialized.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<'a> {
    // AWS Config configuration item
    resource_type: Option<Value>,
    resource_id: Option<Value>,
    account_id: Option<Value>,
    aws_region: Option<Value>,
    configuration_item_capture_time: Option<Value>,
    configuration_item_status: Option<Value>,
    arn: Option<Value>,
    resource_name: Option<Value>,
    version: Option<Value>,
    #[serde(borrow)]
    configuration: Option<&'a RawValue>,
    // AWS Config items and Azure rows: `{"key": "value"}`
    tags: Option<Value>,
    // Azure Resource Graph row
    id: Option<Value>,
    #[serde(rename = "type")]
    azure_type: Option<Value>,
    subscription_id: Option<Value>,
    location: Option<Value>,
    captured_at: Option<Value>,
    changed_time: Option<Value>,
    // GCP Cloud Asset Inventory asset
    name: Option<Value>,
    asset_type: Option<Value>,
    update_time: Option<Value>,
    ancestors: Option<Value>,
    resource: Option<GcpResource>,
}

#[derive(Debug, Default, Deserialize)]
struct GcpResource {
    location: Option<Value>,
    data: Option<GcpData>,
}

#[derive(Debug, Default, Deserialize)]
struct GcpData {
    labels: Option<Value>,
}

/// Tags as `{"key": "value"}` (AWS Config items, Azure rows, GCP labels), or as a list of
/// `{"key"|"Key": .., "value"|"Value": ..}` (the AWS service APIs' shape). Values that are not
/// strings (a malformed tag) are left out: a tag filter then does not select the asset.
fn tag_map(v: Option<&Value>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    match v {
        Some(Value::Object(m)) => {
            for (k, v) in m {
                if let Some(v) = v.as_str() {
                    out.insert(k.clone(), v.to_string());
                }
            }
        }
        Some(Value::Array(a)) => {
            for t in a {
                let get =
                    |lower: &str, upper: &str| t.get(lower).or_else(|| t.get(upper)).and_then(Value::as_str);
                if let (Some(k), Some(v)) = (get("key", "Key"), get("value", "Value")) {
                    out.insert(k.to_string(), v.to_string());
                }
            }
        }
        _ => {}
    }
    out
}

/// Normalize one JSON record; `Ok(None)` for a deleted resource.
pub fn normalize(text: &str) -> Result<Record, String> {
    let trimmed = text.trim();
    if !trimmed.starts_with('{') {
        return match serde_json::from_str::<Value>(trimmed) {
            Err(e) => Err(format!("not valid JSON: {e}")),
            Ok(_) => Err("record is not a JSON object".into()),
        };
    }
    let env: Envelope<'_> = serde_json::from_str(trimmed).map_err(|e| format!("not valid JSON: {e}"))?;
    let body = RawValue::from_string(trimmed.to_string()).map_err(|e| format!("not valid JSON: {e}"))?;
    if env.resource_type.is_some() || env.configuration_item_capture_time.is_some() {
        normalize_aws(&env, body)
    } else if env.asset_type.is_some() {
        normalize_gcp(&env, body).map(|i| Record::Item(Box::new(i)))
    } else if env.subscription_id.is_some()
        || str_of(&env.id).is_some_and(|s| s.starts_with("/subscriptions/"))
    {
        normalize_azure(&env, body).map(|i| Record::Item(Box::new(i)))
    } else {
        Err("unknown record shape: expected an AWS Config configuration item (resourceType), an Azure Resource Graph row (subscriptionId) or a GCP Cloud Asset (assetType)".into())
    }
}

fn str_of(v: &Option<Value>) -> Option<&str> {
    v.as_ref().and_then(Value::as_str)
}

fn field<'a>(v: &'a Option<Value>, name: &str) -> Result<&'a str, String> {
    match v {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(Value::String(_)) => Err(format!("field {name} is empty")),
        Some(other) => Err(format!("field {name} must be a string, got {}", type_name(other))),
        None => Err(format!("field {name} is missing")),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn time_field(v: &Option<Value>, name: &str) -> Result<Timestamp, String> {
    Timestamp::parse(field(v, name)?).map_err(|e| format!("field {name}: {e}"))
}

fn prop(s: &str) -> PropertyValue {
    PropertyValue::Str(s.to_string())
}

fn normalize_aws(env: &Envelope<'_>, body: Box<RawValue>) -> Result<Record, String> {
    let status = str_of(&env.configuration_item_status).unwrap_or("OK");
    let kind = field(&env.resource_type, "resourceType")?.to_string();
    let resource_id = field(&env.resource_id, "resourceId")?.to_string();
    let account = field(&env.account_id, "accountId")?.to_string();
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "field accountId {account:?} is not a 12-digit AWS account id"
        ));
    }
    let region = field(&env.aws_region, "awsRegion")?.to_string();
    let captured = time_field(
        &env.configuration_item_capture_time,
        "configurationItemCaptureTime",
    )?;
    let asset_ref = AssetRef::new(Provider::Aws, &kind, &format!("{account}/{region}/{resource_id}"))
        .map_err(|e| e.to_string())?;
    if status.starts_with("ResourceDeleted") {
        return Ok(Record::Deleted {
            urn: asset_ref.urn,
            captured,
        });
    }
    if let Some(c) = env.configuration {
        let t = c.get().trim_start();
        if !(t.starts_with('{') || t.starts_with("null")) {
            return Err("field configuration must be an object".into());
        }
    }
    let mut properties = BTreeMap::new();
    properties.insert("account_id".into(), prop(&account));
    properties.insert("region".into(), prop(&region));
    properties.insert("resource_id".into(), prop(&resource_id));
    if let Some(arn) = str_of(&env.arn) {
        properties.insert("arn".into(), prop(arn));
    }
    let name = str_of(&env.resource_name).map(str::to_string);
    let schema_version = format!("aws-config-ci/{}", str_of(&env.version).unwrap_or("1.3"));
    Ok(Record::Item(Box::new(InventoryItem {
        asset: Asset {
            asset_ref: asset_ref.clone(),
            kind,
            provider: Provider::Aws,
            name,
            properties,
            tags: tag_map(env.tags.as_ref()),
            discovered_at: captured,
        },
        config: ConfigDoc {
            asset: asset_ref,
            captured_at: captured,
            schema_version,
            body,
        },
    })))
}

fn normalize_azure(env: &Envelope<'_>, body: Box<RawValue>) -> Result<InventoryItem, String> {
    let id = field(&env.id, "id")?.to_string();
    let kind = field(&env.azure_type, "type")?.to_string();
    let subscription = field(&env.subscription_id, "subscriptionId")?.to_string();
    let captured = time_field(&env.captured_at, "capturedAt")
        .or_else(|_| time_field(&env.changed_time, "changedTime"))
        .map_err(|_| "field capturedAt is missing (RFC 3339 time the row was read)".to_string())?;
    let asset_ref =
        AssetRef::new(Provider::Azure, &kind, &id.to_ascii_lowercase()).map_err(|e| e.to_string())?;
    let mut properties = BTreeMap::new();
    properties.insert("subscription_id".into(), prop(&subscription));
    properties.insert("resource_id".into(), prop(&id));
    if let Some(loc) = str_of(&env.location) {
        properties.insert("region".into(), prop(loc));
    }
    let name = str_of(&env.name).map(str::to_string);
    Ok(InventoryItem {
        asset: Asset {
            asset_ref: asset_ref.clone(),
            kind,
            provider: Provider::Azure,
            name,
            properties,
            tags: tag_map(env.tags.as_ref()),
            discovered_at: captured,
        },
        config: ConfigDoc {
            asset: asset_ref,
            captured_at: captured,
            schema_version: "azure-resource-graph/2024-04-01".into(),
            body,
        },
    })
}

fn normalize_gcp(env: &Envelope<'_>, body: Box<RawValue>) -> Result<InventoryItem, String> {
    let name = field(&env.name, "name")?.to_string();
    let kind = field(&env.asset_type, "assetType")?.to_string();
    let captured = time_field(&env.update_time, "updateTime")?;
    let asset_ref =
        AssetRef::new(Provider::Gcp, &kind, name.trim_start_matches("//")).map_err(|e| e.to_string())?;
    let mut properties = BTreeMap::new();
    properties.insert("resource_id".into(), prop(&name));
    if let Some(loc) = env.resource.as_ref().and_then(|r| str_of(&r.location)) {
        properties.insert("region".into(), prop(loc));
    }
    if let Some(parent) = env
        .ancestors
        .as_ref()
        .and_then(|a| a.get(0))
        .and_then(Value::as_str)
    {
        properties.insert("project".into(), prop(parent));
    }
    let short = name.rsplit('/').next().map(str::to_string);
    Ok(InventoryItem {
        asset: Asset {
            asset_ref: asset_ref.clone(),
            kind,
            provider: Provider::Gcp,
            name: short,
            properties,
            tags: tag_map(
                env.resource
                    .as_ref()
                    .and_then(|r| r.data.as_ref())
                    .and_then(|d| d.labels.as_ref()),
            ),
            discovered_at: captured,
        },
        config: ConfigDoc {
            asset: asset_ref,
            captured_at: captured,
            schema_version: "gcp-cloudasset/v1".into(),
            body,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CI: &str = r#"{"version":"1.3","accountId":"111122223333","configurationItemCaptureTime":"2026-11-20T10:00:00.000Z","configurationItemStatus":"OK","resourceType":"AWS::S3::Bucket","resourceId":"logs","resourceName":"logs","awsRegion":"us-east-1","arn":"arn:aws:s3:::logs","configuration":{"name":"logs"}}"#;

    #[test]
    fn tags_are_read_from_aws_azure_and_gcp_records() {
        let aws = CI.replace(
            r#""configuration""#,
            r#""tags":{"env":"prod","n":1},"configuration""#,
        );
        let azure = r#"{"id":"/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a","name":"a","type":"microsoft.storage/storageaccounts","subscriptionId":"s1","location":"westeurope","capturedAt":"2026-11-20T10:00:00Z","tags":{"env":"prod"},"properties":{}}"#;
        let gcp = r#"{"name":"//storage.googleapis.com/b","assetType":"storage.googleapis.com/Bucket","updateTime":"2026-11-20T10:00:00Z","resource":{"location":"EU","data":{"name":"b","labels":{"env":"prod"}}}}"#;
        let text = [aws.as_str(), azure, gcp].join("\n");
        let p = parse_jsonl(&text);
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        let want: BTreeMap<String, String> = [("env".to_string(), "prod".to_string())].into();
        for it in &p.items {
            // A tag whose value is not a string is left out.
            assert_eq!(it.asset.tags, want, "{}", it.asset.asset_ref.urn);
        }
        let list = serde_json::json!([{"Key": "env", "Value": "prod"}, {"key": "team", "value": "a"}]);
        assert_eq!(tag_map(Some(&list)).len(), 2);
        assert!(parse_jsonl(CI).items[0].asset.tags.is_empty());
    }

    #[test]
    fn aws_items_become_assets_with_urns() {
        let p = parse_jsonl(CI);
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        let a = &p.items[0].asset;
        assert_eq!(
            a.asset_ref.urn,
            "urn:asset:aws:aws.s3.bucket:111122223333/us-east-1/logs"
        );
        assert_eq!(a.kind, "AWS::S3::Bucket");
        assert_eq!(a.property_str("arn"), Some("arn:aws:s3:::logs"));
        assert_eq!(p.items[0].config.captured_at.to_rfc3339(), "2026-11-20T10:00:00Z");
    }

    #[test]
    fn every_bad_line_is_reported_with_its_number_and_reason() {
        let text = format!(
            "{CI}\n\nnot json\n[1]\n{}\n{}\n{CI}\n{}\n",
            CI.replace("\"111122223333\"", "\"12\""),
            CI.replace(",\"resourceId\":\"logs\"", ""),
            CI.replace("\"OK\"", "\"ResourceDeleted\"")
                .replace("logs", "gone"),
        );
        let p = parse_jsonl(&text);
        assert_eq!(p.items.len(), 1);
        assert_eq!((p.deleted, p.superseded), (1, 1));
        let got: Vec<(usize, bool)> = p
            .problems
            .iter()
            .map(|x| (x.line, !x.reason.is_empty()))
            .collect();
        assert_eq!(got, vec![(3, true), (4, true), (5, true), (6, true)]);
        assert!(p.problems[0].reason.contains("not valid JSON"));
        assert!(p.problems[2].reason.contains("accountId"));
        assert!(p.problems[3].reason.contains("resourceId is missing"));
    }

    #[test]
    fn the_newest_record_of_an_asset_wins_and_a_deletion_removes_it() {
        let newer = CI
            .replace("2026-11-20T10:00:00.000Z", "2026-11-21T10:00:00Z")
            .replace("\"name\":\"logs\"", "\"name\":\"logs-v2\"");
        let p = parse_jsonl(&format!("{newer}\n{CI}\n"));
        assert_eq!((p.items.len(), p.superseded), (1, 1));
        assert!(p.items[0].config.body.get().contains("logs-v2"));
        let deleted = CI
            .replace("2026-11-20T10:00:00.000Z", "2026-11-22T10:00:00Z")
            .replace("\"OK\"", "\"ResourceDeleted\"");
        let p = parse_jsonl(&format!("{CI}\n{deleted}\n"));
        assert_eq!((p.items.len(), p.deleted), (0, 1));
    }

    #[test]
    fn parallel_parsing_keeps_line_numbers_and_order() {
        let mut text = String::new();
        for i in 0..1000 {
            if i % 97 == 0 {
                text.push_str("garbage\n");
            } else {
                text.push_str(&CI.replace("\"resourceId\":\"logs\"", &format!("\"resourceId\":\"r{i}\"")));
                text.push('\n');
            }
        }
        let one = parse_jsonl_parallel(&text, 1);
        for workers in [2, 3, 8] {
            assert_eq!(parse_jsonl_parallel(&text, workers), one);
        }
        let lines: Vec<usize> = one.problems.iter().map(|p| p.line).collect();
        assert_eq!(
            lines,
            (0..1000)
                .filter(|i| i % 97 == 0)
                .map(|i| i + 1)
                .collect::<Vec<_>>()
        );
        assert_eq!(one.items.len(), 1000 - lines.len());
    }

    #[test]
    fn azure_and_gcp_shapes_are_recognized() {
        let az = r#"{"id":"/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/Acct","name":"Acct","type":"microsoft.storage/storageaccounts","subscriptionId":"s1","location":"westeurope","capturedAt":"2026-11-20T10:00:00Z","properties":{}}"#;
        let gcp = r#"{"name":"//storage.googleapis.com/b1","assetType":"storage.googleapis.com/Bucket","updateTime":"2026-11-20T10:00:00Z","ancestors":["projects/123"],"resource":{"location":"EU","data":{}}}"#;
        let p = parse_jsonl(&format!("{az}\n{gcp}\n"));
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        assert_eq!(p.items[0].asset.provider, Provider::Azure);
        assert_eq!(
            p.items[1].asset.asset_ref.urn,
            "urn:asset:gcp:storage.googleapis.com.bucket:storage.googleapis.com/b1"
        );
    }
}
