//! EFS file systems (`DescribeFileSystems`), in AWS Config's CloudFormation-style names.

use aws_sdk_efs::types::FileSystemDescription;

use crate::clients::Clients;
use crate::collect::{call, Part};
use crate::item::{list, tag_map, ts, Ctx, Item, Obj};
use crate::services::MAX_PAGES;

/// `AWS::EFS::FileSystem`.
pub(crate) fn file_system(ctx: &Ctx, region: &str, f: &FileSystemDescription) -> Item {
    let id = f.file_system_id();
    let arn = f.file_system_arn().map(str::to_string).unwrap_or_else(|| {
        format!(
            "arn:{}:elasticfilesystem:{region}:{}:file-system/{id}",
            ctx.partition, ctx.account
        )
    });
    let configuration = Obj::new()
        .set("FileSystemId", id)
        .set("Arn", arn.as_str())
        .nul("Encrypted", f.encrypted())
        .opt("KmsKeyId", f.kms_key_id())
        .set("PerformanceMode", f.performance_mode().as_str())
        .nul("ThroughputMode", f.throughput_mode().map(|t| t.as_str()))
        .opt(
            "ProvisionedThroughputInMibps",
            f.provisioned_throughput_in_mibps(),
        )
        .opt("AvailabilityZoneName", f.availability_zone_name())
        .set(
            "FileSystemTags",
            list(f.tags(), |t| {
                Obj::new().set("Key", t.key()).set("Value", t.value()).build()
            }),
        )
        .build();
    Item::new(
        ctx,
        "AWS::EFS::FileSystem",
        region,
        id,
        Some(f.name().unwrap_or(id)),
        Some(&arn),
        configuration,
    )
    .set("resourceCreationTime", ts(Some(f.creation_time())))
    .set(
        "tags",
        tag_map(f.tags().iter().map(|t| (Some(t.key()), Some(t.value())))),
    )
}

/// Collects the file systems of one region.
pub(crate) async fn collect(ctx: &Ctx, clients: &Clients, region: &str) -> Part {
    let (c, rec) = clients.efs(region);
    let mut part = Part::default();
    let mut all = Vec::new();
    let mut evidence = Vec::new();
    let mut marker: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let (r, ev) = call(
            &rec,
            "DescribeFileSystems",
            c.describe_file_systems().set_marker(marker.clone()).send(),
        )
        .await;
        evidence.extend(ev);
        match r {
            Ok(out) => {
                all.extend(out.file_systems().iter().cloned());
                marker = out.next_marker().map(str::to_string);
                if marker.is_none() {
                    break;
                }
            }
            Err(e) => {
                part.fail(&rec, &e.error);
                return part;
            }
        }
    }
    for f in &all {
        part.push(file_system(ctx, region, f).with_evidence(&evidence));
    }
    part
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_efs::types::{LifeCycleState, PerformanceMode};
    use aws_smithy_types::DateTime;
    use serde_json::Value;

    #[test]
    fn file_systems_use_cloudformation_names() {
        let ctx = Ctx::test();
        let f = FileSystemDescription::builder()
            .owner_id("111122223333")
            .creation_token("t")
            .file_system_id("fs-1")
            .creation_time(DateTime::from_secs(1_700_000_000))
            .life_cycle_state(LifeCycleState::Available)
            .number_of_mount_targets(0)
            .size_in_bytes(aws_sdk_efs::types::FileSystemSize::builder().value(0).build())
            .performance_mode(PerformanceMode::GeneralPurpose)
            .encrypted(false)
            .set_tags(Some(Vec::new()))
            .build()
            .unwrap();
        let v = Value::Object(file_system(&ctx, "us-east-1", &f).body);
        assert_eq!(v["resourceId"], "fs-1");
        assert_eq!(v["configuration"]["FileSystemId"], "fs-1");
        assert_eq!(v["configuration"]["Encrypted"], false);
        assert!(v["configuration"].get("KmsKeyId").is_none());
        assert_eq!(
            v["configuration"]["Arn"],
            "arn:aws:elasticfilesystem:us-east-1:111122223333:file-system/fs-1"
        );
    }
}
