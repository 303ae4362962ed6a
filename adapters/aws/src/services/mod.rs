//! One module per service: pure normalization (SDK output → configuration item) and the async
//! collection that calls it.

pub(crate) mod cloudtrail;
pub(crate) mod config;
pub(crate) mod ec2;
pub(crate) mod efs;
pub(crate) mod iam;
pub(crate) mod kms;
pub(crate) mod rds;
pub(crate) mod regional;
pub(crate) mod s3;

/// Upper bound of pages read from one paginated listing (a guard against a service that keeps
/// returning a token).
pub(crate) const MAX_PAGES: usize = 10_000;

use crate::item::Ctx;

/// `<account>:<region>`, the resource id of region-scoped synthesized items.
pub(crate) fn region_settings_id(ctx: &Ctx, region: &str) -> String {
    format!("{}:{region}", ctx.account)
}

/// `arn:<partition>:<service>:<region>:<account>:seg-region-settings`.
pub(crate) fn region_settings_arn(ctx: &Ctx, service: &str, region: &str) -> String {
    format!(
        "arn:{}:{service}:{region}:{}:seg-region-settings",
        ctx.partition, ctx.account
    )
}

/// A region-scoped synthesized item (`AWS::<Service>::RegionSettings`).
pub(crate) fn region_settings(
    ctx: &Ctx,
    resource_type: &str,
    arn_service: &str,
    region: &str,
    configuration: serde_json::Value,
) -> crate::item::Item {
    crate::item::Item::new(
        ctx,
        resource_type,
        region,
        &region_settings_id(ctx, region),
        Some(region),
        Some(&region_settings_arn(ctx, arn_service, region)),
        configuration,
    )
}
