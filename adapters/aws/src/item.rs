//! Configuration items: the AWS Config envelope (version 1.3) and small JSON helpers used by the
//! normalization code.

use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use seg_engine::time::Timestamp;
use serde_json::{Map, Value};

/// What every item of one collection shares: the account, its partition and the time of the run.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub account: String,
    pub partition: String,
    pub captured_at: Timestamp,
}

impl Ctx {
    /// A test context: account 111122223333, partition `aws`, 2026-11-23T12:00:00Z.
    #[cfg(test)]
    pub fn test() -> Ctx {
        Ctx {
            account: "111122223333".into(),
            partition: "aws".into(),
            captured_at: Timestamp::parse("2026-11-23T12:00:00Z").unwrap(),
        }
    }

    /// The `arn:<partition>:iam::<account>:root` ARN of account-scoped synthesized items.
    pub fn root_arn(&self) -> String {
        format!("arn:{}:iam::{}:root", self.partition, self.account)
    }
}

/// One configuration item under construction, with the sha256 of the raw responses it was built
/// from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Item {
    pub resource_type: String,
    pub region: String,
    pub resource_id: String,
    pub body: Map<String, Value>,
    pub evidence: Vec<String>,
}

impl Item {
    /// An `OK` item with the envelope defaults of synthesized types (`availabilityZone` "Not
    /// Applicable", no creation time, no tags or relationships, empty supplementary configuration).
    pub fn new(
        ctx: &Ctx,
        resource_type: &str,
        region: &str,
        resource_id: &str,
        resource_name: Option<&str>,
        arn: Option<&str>,
        configuration: Value,
    ) -> Item {
        let mut m = Map::new();
        m.insert("version".into(), "1.3".into());
        m.insert("accountId".into(), ctx.account.clone().into());
        m.insert(
            "configurationItemCaptureTime".into(),
            ctx.captured_at.to_rfc3339().into(),
        );
        m.insert("configurationItemStatus".into(), "OK".into());
        m.insert(
            "configurationStateId".into(),
            ctx.captured_at.unix_millis().to_string().into(),
        );
        m.insert("arn".into(), opt_str(arn));
        m.insert("resourceType".into(), resource_type.into());
        m.insert("resourceId".into(), resource_id.into());
        m.insert("resourceName".into(), opt_str(resource_name));
        m.insert("awsRegion".into(), region.into());
        m.insert("availabilityZone".into(), "Not Applicable".into());
        m.insert("resourceCreationTime".into(), Value::Null);
        m.insert("tags".into(), Value::Object(Map::new()));
        m.insert("relationships".into(), Value::Array(Vec::new()));
        m.insert("configuration".into(), configuration);
        m.insert("supplementaryConfiguration".into(), Value::Object(Map::new()));
        Item {
            resource_type: resource_type.to_string(),
            region: region.to_string(),
            resource_id: resource_id.to_string(),
            body: m,
            evidence: Vec::new(),
        }
    }

    /// Sets an envelope field.
    pub fn set(mut self, key: &str, value: impl Into<Value>) -> Item {
        self.body.insert(key.to_string(), value.into());
        self
    }

    /// Adds a `supplementaryConfiguration` entry.
    pub fn supp(mut self, key: &str, value: Value) -> Item {
        self.put_supp(key, value);
        self
    }

    pub fn put_supp(&mut self, key: &str, value: Value) {
        if let Some(Value::Object(s)) = self.body.get_mut("supplementaryConfiguration") {
            s.insert(key.to_string(), value);
        }
    }

    /// Records raw responses this item was built from.
    pub fn with_evidence(mut self, shas: &[String]) -> Item {
        self.add_evidence(shas);
        self
    }

    pub fn add_evidence(&mut self, shas: &[String]) {
        for s in shas {
            if !self.evidence.contains(s) {
                self.evidence.push(s.clone());
            }
        }
    }

    /// The sort and evidence key: `resourceType|awsRegion|resourceId`.
    pub fn key(&self) -> String {
        item_key(&self.resource_type, &self.region, &self.resource_id)
    }
}

/// `resourceType|awsRegion|resourceId`, the key of [`crate::Collection::evidence`].
pub fn item_key(resource_type: &str, region: &str, resource_id: &str) -> String {
    format!("{resource_type}|{region}|{resource_id}")
}

fn opt_str(s: Option<&str>) -> Value {
    s.map_or(Value::Null, |s| Value::String(s.to_string()))
}

/// A timestamp as RFC 3339 text.
pub(crate) fn ts(t: Option<&DateTime>) -> Option<String> {
    t.and_then(|t| t.fmt(Format::DateTime).ok())
}

/// A JSON object built member by member; `opt` leaves absent members out, `nul` writes `null`.
#[derive(Debug, Default)]
pub(crate) struct Obj(Map<String, Value>);

impl Obj {
    pub fn new() -> Obj {
        Obj(Map::new())
    }

    pub fn set(mut self, k: &str, v: impl Into<Value>) -> Obj {
        self.0.insert(k.to_string(), v.into());
        self
    }

    pub fn opt<T: Into<Value>>(mut self, k: &str, v: Option<T>) -> Obj {
        if let Some(v) = v {
            self.0.insert(k.to_string(), v.into());
        }
        self
    }

    pub fn nul<T: Into<Value>>(mut self, k: &str, v: Option<T>) -> Obj {
        self.0.insert(k.to_string(), v.map_or(Value::Null, Into::into));
        self
    }

    pub fn build(self) -> Value {
        Value::Object(self.0)
    }
}

/// Strings as a JSON array.
pub(crate) fn strs<S: AsRef<str>>(v: &[S]) -> Value {
    Value::Array(v.iter().map(|s| Value::String(s.as_ref().to_string())).collect())
}

/// A list mapped to a JSON array.
pub(crate) fn list<T>(v: &[T], f: impl Fn(&T) -> Value) -> Value {
    Value::Array(v.iter().map(f).collect())
}

/// Tags (`[{key, value}]` in the APIs) as the envelope's `tags` map.
pub(crate) fn tag_map<'a>(pairs: impl IntoIterator<Item = (Option<&'a str>, Option<&'a str>)>) -> Value {
    let mut m = Map::new();
    for (k, v) in pairs {
        if let Some(k) = k {
            m.insert(k.to_string(), v.unwrap_or("").into());
        }
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_has_the_documented_defaults() {
        let ctx = Ctx::test();
        let it = Item::new(
            &ctx,
            "AWS::EC2::RegionSettings",
            "us-east-1",
            "111122223333:us-east-1",
            Some("us-east-1"),
            Some("arn:aws:ec2:us-east-1:111122223333:seg-region-settings"),
            serde_json::json!({}),
        );
        let v = Value::Object(it.body.clone());
        assert_eq!(v["version"], "1.3");
        assert_eq!(v["configurationItemCaptureTime"], "2026-11-23T12:00:00Z");
        assert_eq!(v["configurationStateId"], "1795435200000");
        assert_eq!(v["availabilityZone"], "Not Applicable");
        assert_eq!(v["resourceCreationTime"], Value::Null);
        assert_eq!(v["tags"], serde_json::json!({}));
        assert_eq!(v["relationships"], serde_json::json!([]));
        assert_eq!(v["supplementaryConfiguration"], serde_json::json!({}));
        assert_eq!(
            it.key(),
            "AWS::EC2::RegionSettings|us-east-1|111122223333:us-east-1"
        );
    }

    #[test]
    fn timestamps_are_rfc3339() {
        let t = DateTime::from_secs(1_795_435_200);
        assert_eq!(ts(Some(&t)).as_deref(), Some("2026-11-23T12:00:00Z"));
        assert_eq!(ts(None), None);
    }
}
