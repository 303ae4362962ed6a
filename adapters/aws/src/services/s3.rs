//! S3: buckets (`ListBuckets`, then per bucket its location, policy, Block Public Access,
//! versioning and default encryption) and the account-level Block Public Access (S3 Control).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::clients::Clients;
use crate::collect::{call, Part};
use crate::item::{item_key, list, ts, Ctx, Item, Obj};
use crate::services::MAX_PAGES;

/// The four Block Public Access settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Pab {
    pub block_public_acls: bool,
    pub ignore_public_acls: bool,
    pub block_public_policy: bool,
    pub restrict_public_buckets: bool,
}

impl Pab {
    fn json(self) -> Value {
        Obj::new()
            .set("blockPublicAcls", self.block_public_acls)
            .set("ignorePublicAcls", self.ignore_public_acls)
            .set("blockPublicPolicy", self.block_public_policy)
            .set("restrictPublicBuckets", self.restrict_public_buckets)
            .build()
    }
}

/// What the per-bucket calls returned.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct BucketDetails {
    /// `GetBucketPolicy` text; `None` without a policy.
    pub policy: Option<String>,
    /// `None` when the bucket has no Block Public Access configuration.
    pub public_access_block: Option<Pab>,
    /// `Enabled`, `Suspended` or `Off` (never enabled).
    pub versioning: String,
    pub mfa_delete: bool,
    /// `ServerSideEncryptionConfiguration` in lowerCamelCase, `None` without one.
    pub encryption: Option<Value>,
}

/// `AWS::S3::Bucket`.
pub(crate) fn bucket(
    ctx: &Ctx,
    region: &str,
    b: &aws_sdk_s3::types::Bucket,
    owner: Option<&aws_sdk_s3::types::Owner>,
    d: &BucketDetails,
) -> Option<Item> {
    let name = b.name()?;
    let arn = format!("arn:{}:s3:::{name}", ctx.partition);
    let owner = owner.map_or(Value::Null, |o| {
        Obj::new()
            .nul("displayName", o.display_name())
            .nul("id", o.id())
            .build()
    });
    let configuration = Obj::new()
        .set("name", name)
        .set("owner", owner)
        .nul("creationDate", ts(b.creation_date()))
        .build();
    let mut it = Item::new(
        ctx,
        "AWS::S3::Bucket",
        region,
        name,
        Some(name),
        Some(&arn),
        configuration,
    )
    .set("availabilityZone", "Regional")
    .set("resourceCreationTime", ts(b.creation_date()))
    .supp(
        "BucketPolicy",
        Obj::new().nul("policyText", d.policy.clone()).build(),
    )
    .supp(
        "BucketVersioningConfiguration",
        Obj::new()
            .set("status", d.versioning.clone())
            .set("isMfaDeleteEnabled", d.mfa_delete)
            .build(),
    );
    if let Some(p) = d.public_access_block {
        it.put_supp("PublicAccessBlockConfiguration", p.json());
    }
    if let Some(e) = &d.encryption {
        it.put_supp("ServerSideEncryptionConfiguration", e.clone());
    }
    Some(it)
}

/// `AWS::S3::AccountPublicAccessBlock`; `None` (no configuration) is four `false`.
pub(crate) fn account_public_access_block(ctx: &Ctx, region: &str, p: Option<Pab>) -> Item {
    Item::new(
        ctx,
        "AWS::S3::AccountPublicAccessBlock",
        region,
        &ctx.account,
        Some(&ctx.account),
        None,
        p.unwrap_or_default().json(),
    )
}

fn encryption(c: &aws_sdk_s3::types::ServerSideEncryptionConfiguration) -> Value {
    Obj::new()
        .set(
            "rules",
            list(c.rules(), |r| {
                Obj::new()
                    .nul(
                        "applyServerSideEncryptionByDefault",
                        r.apply_server_side_encryption_by_default().map(|d| {
                            Obj::new()
                                .set("sseAlgorithm", d.sse_algorithm().as_str())
                                .nul("kmsMasterKeyID", d.kms_master_key_id())
                                .build()
                        }),
                    )
                    .nul("bucketKeyEnabled", r.bucket_key_enabled())
                    .build()
            }),
        )
        .build()
}

fn xml_member<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{name}>"))?;
    Some(xml[start..start + end].trim())
}

/// `Status` and `MfaDelete` of a `GetBucketVersioning` answer whose root element the SDK did not
/// accept: (`Enabled`/`Suspended`/`Off`, MFA Delete enabled).
pub(crate) fn lenient_versioning(body: &[u8]) -> Option<(String, bool)> {
    let xml = std::str::from_utf8(body).ok()?;
    if !xml.contains("Versioning") {
        return None;
    }
    let status = xml_member(xml, "Status").unwrap_or("Off");
    if !["Enabled", "Suspended", "Off"].contains(&status) {
        return None;
    }
    Some((
        status.to_string(),
        xml_member(xml, "MfaDelete") == Some("Enabled"),
    ))
}

/// The region of a `GetBucketLocation` constraint (`""` is us-east-1, `EU` eu-west-1).
pub(crate) fn location_region(constraint: Option<&str>) -> String {
    match constraint {
        None | Some("") => "us-east-1".to_string(),
        Some("EU") => "eu-west-1".to_string(),
        Some(r) => r.to_string(),
    }
}

/// Collects the buckets located in `regions` and the account's Block Public Access. Buckets for
/// which AWS Config has an item (`known`) are not read again.
pub(crate) async fn collect(
    ctx: &Ctx,
    clients: &Clients,
    regions: &[String],
    known: &BTreeSet<String>,
) -> Part {
    let home = regions.first().cloned().unwrap_or_default();
    let mut part = Part::default();

    // Account-level Block Public Access.
    let (c, rec) = clients.s3control(&home);
    let (r, ev) = call(
        &rec,
        "GetPublicAccessBlock",
        c.get_public_access_block().account_id(&ctx.account).send(),
    )
    .await;
    let key = item_key("AWS::S3::AccountPublicAccessBlock", &home, &ctx.account);
    match r {
        Ok(out) => {
            let p = out.public_access_block_configuration().map(|p| Pab {
                block_public_acls: p.block_public_acls().unwrap_or(false),
                ignore_public_acls: p.ignore_public_acls().unwrap_or(false),
                block_public_policy: p.block_public_policy().unwrap_or(false),
                restrict_public_buckets: p.restrict_public_buckets().unwrap_or(false),
            });
            part.push(account_public_access_block(ctx, &home, p).with_evidence(&ev));
        }
        Err(e) if e.is(&["NoSuchPublicAccessBlockConfiguration"]) => {
            part.push(account_public_access_block(ctx, &home, None).with_evidence(&ev));
        }
        Err(_) if known.contains(&key) => {}
        Err(e) => part.fail(&rec, &e.error),
    }

    // Buckets.
    let (c, rec) = clients.s3(&home);
    let mut buckets = Vec::new();
    let mut list_ev = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let (r, ev) = call(
            &rec,
            "ListBuckets",
            c.list_buckets().set_continuation_token(token.clone()).send(),
        )
        .await;
        list_ev.extend(ev);
        match r {
            Ok(out) => {
                let owner = out.owner().cloned();
                buckets.extend(out.buckets().iter().cloned().map(|b| (b, owner.clone())));
                token = out.continuation_token().map(str::to_string);
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

    let mut regional: BTreeMap<String, (aws_sdk_s3::Client, crate::capture::Recorder)> = BTreeMap::new();
    for (b, owner) in buckets {
        let Some(name) = b.name().map(str::to_string) else {
            continue;
        };
        let mut evidence = list_ev.clone();
        let region = match b.bucket_region() {
            Some(r) => r.to_string(),
            None => {
                let (r, ev) = call(
                    &rec,
                    "GetBucketLocation",
                    c.get_bucket_location().bucket(&name).send(),
                )
                .await;
                evidence.extend(ev);
                match r {
                    Ok(out) => location_region(out.location_constraint().map(|l| l.as_str())),
                    Err(e) => {
                        part.fail(&rec, &e.error);
                        continue;
                    }
                }
            }
        };
        if !regions.contains(&region) || known.contains(&item_key("AWS::S3::Bucket", &region, &name)) {
            continue;
        }
        let (bc, brec) = regional
            .entry(region.clone())
            .or_insert_with(|| clients.s3(&region))
            .clone();
        match details(&bc, &brec, &name, &mut evidence).await {
            Ok(d) => {
                if let Some(it) = bucket(ctx, &region, &b, owner.as_ref(), &d) {
                    part.push(it.with_evidence(&evidence));
                }
            }
            Err(e) => part.fail(&brec, &e),
        }
    }
    part
}

async fn details(
    c: &aws_sdk_s3::Client,
    rec: &crate::capture::Recorder,
    name: &str,
    evidence: &mut Vec<String>,
) -> Result<BucketDetails, crate::AwsError> {
    let mut d = BucketDetails::default();
    let (r, ev) = call(rec, "GetBucketPolicy", c.get_bucket_policy().bucket(name).send()).await;
    evidence.extend(ev);
    match r {
        Ok(out) => d.policy = out.policy().map(str::to_string),
        Err(e) if e.is(&["NoSuchBucketPolicy"]) => {}
        Err(e) => return Err(e.error),
    }
    let (r, ev) = call(
        rec,
        "GetPublicAccessBlock",
        c.get_public_access_block().bucket(name).send(),
    )
    .await;
    evidence.extend(ev);
    match r {
        Ok(out) => {
            d.public_access_block = out.public_access_block_configuration().map(|p| Pab {
                block_public_acls: p.block_public_acls().unwrap_or(false),
                ignore_public_acls: p.ignore_public_acls().unwrap_or(false),
                block_public_policy: p.block_public_policy().unwrap_or(false),
                restrict_public_buckets: p.restrict_public_buckets().unwrap_or(false),
            })
        }
        Err(e) if e.is(&["NoSuchPublicAccessBlockConfiguration"]) => {}
        Err(e) => return Err(e.error),
    }
    let (r, ev) = call(
        rec,
        "GetBucketVersioning",
        c.get_bucket_versioning().bucket(name).send(),
    )
    .await;
    evidence.extend(ev);
    match r {
        Ok(out) => {
            d.versioning = out.status().map_or("Off".to_string(), |s| s.as_str().to_string());
            d.mfa_delete = out.mfa_delete().is_some_and(|m| m.as_str() == "Enabled");
        }
        // An S3-compatible endpoint (moto) may answer with another root element than
        // `VersioningConfiguration`, which the SDK rejects; the members are the same.
        Err(e) => match e
            .body
            .as_deref()
            .filter(|_| e.status == Some(200))
            .and_then(lenient_versioning)
        {
            Some((status, mfa)) => {
                d.versioning = status;
                d.mfa_delete = mfa;
            }
            None => return Err(e.error),
        },
    }
    let (r, ev) = call(
        rec,
        "GetBucketEncryption",
        c.get_bucket_encryption().bucket(name).send(),
    )
    .await;
    evidence.extend(ev);
    match r {
        Ok(out) => d.encryption = out.server_side_encryption_configuration().map(encryption),
        Err(e) if e.is(&["ServerSideEncryptionConfigurationNotFoundError"]) => {}
        Err(e) => return Err(e.error),
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_types::DateTime;

    #[test]
    fn buckets_carry_the_supplementary_configuration_aws_config_records() {
        let ctx = Ctx::test();
        let b = aws_sdk_s3::types::Bucket::builder()
            .name("logs")
            .creation_date(DateTime::from_secs(1_700_000_000))
            .build();
        let d = BucketDetails {
            policy: Some("{\"Statement\":[]}".into()),
            public_access_block: Some(Pab {
                block_public_acls: true,
                ignore_public_acls: true,
                block_public_policy: true,
                restrict_public_buckets: false,
            }),
            versioning: "Enabled".into(),
            mfa_delete: true,
            encryption: None,
        };
        let v = Value::Object(bucket(&ctx, "eu-west-1", &b, None, &d).unwrap().body);
        assert_eq!(v["resourceId"], "logs");
        assert_eq!(v["arn"], "arn:aws:s3:::logs");
        assert_eq!(v["awsRegion"], "eu-west-1");
        assert_eq!(v["configuration"]["name"], "logs");
        let s = &v["supplementaryConfiguration"];
        assert_eq!(s["BucketPolicy"]["policyText"], "{\"Statement\":[]}");
        assert_eq!(
            s["PublicAccessBlockConfiguration"]["restrictPublicBuckets"],
            false
        );
        assert_eq!(s["BucketVersioningConfiguration"]["status"], "Enabled");
        assert_eq!(s["BucketVersioningConfiguration"]["isMfaDeleteEnabled"], true);

        let bare = BucketDetails {
            versioning: "Off".into(),
            ..BucketDetails::default()
        };
        let v = Value::Object(bucket(&ctx, "us-east-1", &b, None, &bare).unwrap().body);
        let s = &v["supplementaryConfiguration"];
        assert_eq!(s["BucketPolicy"]["policyText"], Value::Null);
        assert!(s.get("PublicAccessBlockConfiguration").is_none());
        assert_eq!(s["BucketVersioningConfiguration"]["status"], "Off");
    }

    #[test]
    fn no_account_configuration_is_four_false_settings() {
        let ctx = Ctx::test();
        let v = Value::Object(account_public_access_block(&ctx, "us-east-1", None).body);
        assert_eq!(v["resourceId"], "111122223333");
        assert_eq!(
            v["configuration"],
            serde_json::json!({"blockPublicAcls": false, "ignorePublicAcls": false, "blockPublicPolicy": false, "restrictPublicBuckets": false})
        );
    }

    #[test]
    fn versioning_answers_with_another_root_element_are_read() {
        let moto = b"<?xml version=\"1.0\"?>\n<GetBucketVersioningResponse xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>";
        assert_eq!(lenient_versioning(moto), Some(("Off".to_string(), false)));
        let on = b"<GetBucketVersioningResponse><Status>Enabled</Status><MfaDelete>Enabled</MfaDelete></GetBucketVersioningResponse>";
        assert_eq!(lenient_versioning(on), Some(("Enabled".to_string(), true)));
        assert_eq!(lenient_versioning(b"<html>oops</html>"), None);
        assert_eq!(
            lenient_versioning(b"<VersioningConfiguration><Status>Weird</Status></VersioningConfiguration>"),
            None
        );
    }

    #[test]
    fn bucket_locations() {
        assert_eq!(location_region(None), "us-east-1");
        assert_eq!(location_region(Some("")), "us-east-1");
        assert_eq!(location_region(Some("EU")), "eu-west-1");
        assert_eq!(location_region(Some("ap-south-1")), "ap-south-1");
    }
}
