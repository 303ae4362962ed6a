//! KMS keys (`ListKeys`, `DescribeKey`) and their rotation status (`GetKeyRotationStatus`, for
//! the enabled customer managed symmetric keys with KMS key material: the keys CIS 4.6 judges).

use std::collections::BTreeSet;

use aws_sdk_kms::types::KeyMetadata;
use serde_json::Value;

use crate::clients::Clients;
use crate::collect::{call, Part};
use crate::item::{item_key, list, ts, Ctx, Item, Obj};
use crate::services::MAX_PAGES;

/// Whether CIS 4.6 needs the key's rotation status.
pub(crate) fn needs_rotation_status(k: &KeyMetadata) -> bool {
    k.key_manager().map(|m| m.as_str()) == Some("CUSTOMER")
        && k.key_spec().map(|s| s.as_str()) == Some("SYMMETRIC_DEFAULT")
        && k.origin().map_or("AWS_KMS", |o| o.as_str()) == "AWS_KMS"
        && k.key_state().map(|s| s.as_str()) == Some("Enabled")
}

/// `AWS::KMS::Key`; `rotation` becomes `supplementaryConfiguration.KeyRotationStatus`
/// (`customerMasterKeySpec` is deprecated in the API but still recorded by AWS Config).
#[allow(deprecated)]
pub(crate) fn key(ctx: &Ctx, region: &str, k: &KeyMetadata, rotation: Option<bool>) -> Item {
    let configuration = Obj::new()
        .nul("aWSAccountId", k.aws_account_id())
        .set("keyId", k.key_id())
        .nul("arn", k.arn())
        .nul("creationDate", ts(k.creation_date()))
        .set("enabled", k.enabled())
        .nul("description", k.description())
        .nul("keyUsage", k.key_usage().map(|x| x.as_str()))
        .nul("keyState", k.key_state().map(|x| x.as_str()))
        .opt("deletionDate", ts(k.deletion_date()))
        .nul("origin", k.origin().map(|x| x.as_str()))
        .nul("keyManager", k.key_manager().map(|x| x.as_str()))
        .nul(
            "customerMasterKeySpec",
            k.customer_master_key_spec().map(|x| x.as_str()),
        )
        .nul("keySpec", k.key_spec().map(|x| x.as_str()))
        .set(
            "encryptionAlgorithms",
            list(k.encryption_algorithms(), |a| Value::from(a.as_str())),
        )
        .set(
            "signingAlgorithms",
            list(k.signing_algorithms(), |a| Value::from(a.as_str())),
        )
        .nul("multiRegion", k.multi_region())
        .build();
    let mut it = Item::new(
        ctx,
        "AWS::KMS::Key",
        region,
        k.key_id(),
        None,
        k.arn(),
        configuration,
    )
    .set("resourceCreationTime", ts(k.creation_date()));
    if let Some(r) = rotation {
        it.put_supp("KeyRotationStatus", Value::Bool(r));
    }
    it
}

/// Collects the keys of one region; keys AWS Config has an item for are not described again.
pub(crate) async fn collect(ctx: &Ctx, clients: &Clients, region: &str, known: &BTreeSet<String>) -> Part {
    let (c, rec) = clients.kms(region);
    let mut part = Part::default();
    let mut ids = Vec::new();
    let mut list_ev = Vec::new();
    let mut marker: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let (r, ev) = call(&rec, "ListKeys", c.list_keys().set_marker(marker.clone()).send()).await;
        list_ev.extend(ev);
        match r {
            Ok(out) => {
                ids.extend(out.keys().iter().filter_map(|k| k.key_id().map(str::to_string)));
                marker = out.next_marker().map(str::to_string);
                if !(out.truncated() && marker.is_some()) {
                    break;
                }
            }
            Err(e) => {
                part.fail(&rec, &e.error);
                return part;
            }
        }
    }
    for id in ids {
        if known.contains(&item_key("AWS::KMS::Key", region, &id)) {
            continue;
        }
        let (r, mut ev) = call(&rec, "DescribeKey", c.describe_key().key_id(&id).send()).await;
        let meta = match r {
            Ok(out) => match out.key_metadata {
                Some(m) => m,
                None => continue,
            },
            Err(e) => {
                part.fail(&rec, &e.error);
                continue;
            }
        };
        let rotation = if needs_rotation_status(&meta) {
            let (r, ev2) = call(
                &rec,
                "GetKeyRotationStatus",
                c.get_key_rotation_status().key_id(&id).send(),
            )
            .await;
            ev.extend(ev2);
            match r {
                Ok(out) => Some(out.key_rotation_enabled()),
                Err(e) => {
                    part.fail(&rec, &e.error);
                    continue;
                }
            }
        } else {
            None
        };
        part.push(
            key(ctx, region, &meta, rotation)
                .with_evidence(&list_ev)
                .with_evidence(&ev),
        );
    }
    part
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_kms::types::{KeyManagerType, KeySpec, KeyState, OriginType};

    fn meta(manager: KeyManagerType) -> KeyMetadata {
        KeyMetadata::builder()
            .key_id("k-1")
            .arn("arn:aws:kms:us-east-1:111122223333:key/k-1")
            .key_manager(manager)
            .key_spec(KeySpec::SymmetricDefault)
            .origin(OriginType::AwsKms)
            .key_state(KeyState::Enabled)
            .enabled(true)
            .build()
            .unwrap()
    }

    #[test]
    fn customer_keys_carry_their_rotation_status() {
        let ctx = Ctx::test();
        let m = meta(KeyManagerType::Customer);
        assert!(needs_rotation_status(&m));
        let v = Value::Object(key(&ctx, "us-east-1", &m, Some(false)).body);
        assert_eq!(v["resourceId"], "k-1");
        assert_eq!(v["configuration"]["keyManager"], "CUSTOMER");
        assert_eq!(v["configuration"]["keySpec"], "SYMMETRIC_DEFAULT");
        assert_eq!(v["configuration"]["origin"], "AWS_KMS");
        assert_eq!(v["configuration"]["keyState"], "Enabled");
        assert_eq!(v["supplementaryConfiguration"]["KeyRotationStatus"], false);
    }

    #[test]
    fn aws_managed_keys_need_no_rotation_status() {
        let ctx = Ctx::test();
        let m = meta(KeyManagerType::Aws);
        assert!(!needs_rotation_status(&m));
        let v = Value::Object(key(&ctx, "us-east-1", &m, None).body);
        assert!(v["supplementaryConfiguration"].get("KeyRotationStatus").is_none());
    }
}
