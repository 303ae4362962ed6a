//! RDS DB instances (`DescribeDBInstances`).

use aws_sdk_rds::types::DbInstance;

use crate::clients::Clients;
use crate::collect::{call, Part};
use crate::item::{list, ts, Ctx, Item, Obj};
use crate::services::MAX_PAGES;

/// `AWS::RDS::DBInstance` (resource id: the `dbiResourceId`, as AWS Config records it).
pub(crate) fn db_instance(ctx: &Ctx, region: &str, d: &DbInstance) -> Option<Item> {
    let name = d.db_instance_identifier()?;
    let id = d.dbi_resource_id().unwrap_or(name);
    let configuration = Obj::new()
        .set("dBInstanceIdentifier", name)
        .nul("dBInstanceClass", d.db_instance_class())
        .nul("engine", d.engine())
        .nul("engineVersion", d.engine_version())
        .nul("dBInstanceStatus", d.db_instance_status())
        .nul("masterUsername", d.master_username())
        .nul("dBName", d.db_name())
        .nul(
            "endpoint",
            d.endpoint().map(|e| {
                Obj::new()
                    .nul("address", e.address())
                    .nul("port", e.port())
                    .nul("hostedZoneId", e.hosted_zone_id())
                    .build()
            }),
        )
        .nul("allocatedStorage", d.allocated_storage())
        .nul("instanceCreateTime", ts(d.instance_create_time()))
        .nul("backupRetentionPeriod", d.backup_retention_period())
        .set(
            "vpcSecurityGroups",
            list(d.vpc_security_groups(), |g| {
                Obj::new()
                    .nul("vpcSecurityGroupId", g.vpc_security_group_id())
                    .nul("status", g.status())
                    .build()
            }),
        )
        .nul("availabilityZone", d.availability_zone())
        .nul("multiAZ", d.multi_az())
        .nul("autoMinorVersionUpgrade", d.auto_minor_version_upgrade())
        .nul("publiclyAccessible", d.publicly_accessible())
        .nul("storageType", d.storage_type())
        .nul("storageEncrypted", d.storage_encrypted())
        .nul("kmsKeyId", d.kms_key_id())
        .nul("dbiResourceId", d.dbi_resource_id())
        .nul("dBInstanceArn", d.db_instance_arn())
        .nul("dBClusterIdentifier", d.db_cluster_identifier())
        .nul(
            "iAMDatabaseAuthenticationEnabled",
            d.iam_database_authentication_enabled(),
        )
        .nul("deletionProtection", d.deletion_protection())
        .build();
    let az = if d.multi_az() == Some(true) {
        "Multiple Availability Zones"
    } else {
        d.availability_zone().unwrap_or("Not Applicable")
    };
    Some(
        Item::new(
            ctx,
            "AWS::RDS::DBInstance",
            region,
            id,
            Some(name),
            d.db_instance_arn(),
            configuration,
        )
        .set("availabilityZone", az)
        .set("resourceCreationTime", ts(d.instance_create_time())),
    )
}

/// Collects the DB instances of one region.
pub(crate) async fn collect(ctx: &Ctx, clients: &Clients, region: &str) -> Part {
    let (c, rec) = clients.rds(region);
    let mut part = Part::default();
    let mut all = Vec::new();
    let mut evidence = Vec::new();
    let mut marker: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let (r, ev) = call(
            &rec,
            "DescribeDBInstances",
            c.describe_db_instances().set_marker(marker.clone()).send(),
        )
        .await;
        evidence.extend(ev);
        match r {
            Ok(out) => {
                all.extend(out.db_instances().iter().cloned());
                marker = out.marker().map(str::to_string);
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
    for d in &all {
        if let Some(it) = db_instance(ctx, region, d) {
            part.push(it.with_evidence(&evidence));
        }
    }
    part
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn db_instances_in_aws_config_shape() {
        let ctx = Ctx::test();
        let d = DbInstance::builder()
            .db_instance_identifier("orders")
            .dbi_resource_id("db-ABC")
            .storage_encrypted(false)
            .auto_minor_version_upgrade(true)
            .publicly_accessible(true)
            .multi_az(false)
            .availability_zone("us-east-1a")
            .build();
        let v = Value::Object(db_instance(&ctx, "us-east-1", &d).unwrap().body);
        assert_eq!(v["resourceId"], "db-ABC");
        assert_eq!(v["resourceName"], "orders");
        let c = &v["configuration"];
        assert_eq!(c["dBInstanceIdentifier"], "orders");
        assert_eq!(c["storageEncrypted"], false);
        assert_eq!(c["autoMinorVersionUpgrade"], true);
        assert_eq!(c["publiclyAccessible"], true);
        assert_eq!(c["multiAZ"], false);
        assert_eq!(c["dBClusterIdentifier"], Value::Null);
        assert_eq!(v["availabilityZone"], "us-east-1a");
    }
}
