//! AWS inventory adapter: collects an account's inventory with the AWS SDK and normalizes it into
//! AWS Config configuration items (envelope version 1.3), the input of the `cis-aws-foundations`
//! bundle (see `docs/bundles/cis-aws-foundations.md`, "Resource shapes").
//!
//! ```no_run
//! # async fn run() -> Result<(), seg_adapter_aws::AwsError> {
//! use seg_adapter_aws::{collect, AwsScanConfig};
//! use seg_engine::time::Timestamp;
//!
//! let at = Timestamp::parse("2026-11-23T12:00:00Z").map_err(|e| seg_adapter_aws::AwsError::Config(e.to_string()))?;
//! let cfg = AwsScanConfig::new(vec!["us-east-1".into(), "eu-west-1".into()], at);
//! let collection = collect(&cfg).await?;
//! for d in &collection.degraded {
//!     eprintln!("{} {} {}: {}", d.code, d.region, d.operation, d.message);
//! }
//! print!("{}", collection.to_jsonl());
//! # Ok(())
//! # }
//! ```
//!
//! - **Sources.** AWS Config (`ListDiscoveredResources` + `BatchGetResourceConfig`) for the types a
//!   recording recorder records in a region; the service APIs for everything else, for the
//!   supplementary fields AWS Config does not record, and for the synthesized types
//!   (`AWS::IAM::AccountSummary`, `AWS::<Service>::RegionSettings`, ...). See README.md.
//! - **Identity.** The SDK's default credential chain (environment, web identity / IRSA, ECS,
//!   instance profile, ...); with [`AwsScanConfig::role_arn`], STS `AssumeRole` (session name
//!   `seg-scan`, optional external id) and those credentials for every call. No key material is
//!   ever part of the configuration.
//! - **Failure isolation.** A call that fails becomes a [`Degradation`] (SEG-001 §14 code) and the
//!   items it would have fed are not emitted; everything else goes on. [`collect`] fails only
//!   when nothing can be read at all (see [`collect`]).
//! - **Evidence.** An SDK interceptor records every raw response body ([`RawResponse`]) and the IAM
//!   action of every call ([`Collection::calls`]); [`Collection::evidence`] says which responses
//!   built which item.
//! - **Determinism.** Items are sorted by (resourceType, awsRegion, resourceId); the capture
//!   time is [`AwsScanConfig::captured_at`], never the clock.

mod capture;
mod clients;
mod collect;
mod error;
mod item;
mod services;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::Value;

pub use error::AwsError;
pub use item::item_key;
use seg_engine::time::Timestamp;

pub use aws_credential_types::provider::SharedCredentialsProvider;

/// What to scan and how.
#[derive(Debug, Clone, PartialEq)]
pub struct AwsScanConfig {
    /// The account expected behind the credentials; the scan fails if STS names another one.
    /// `None`: whatever `GetCallerIdentity` says.
    pub account_id: Option<String>,
    /// The regions to scan (the first one is the home region: IAM, STS, S3 listing and the
    /// account-level S3 Block Public Access are read there, once). At least one.
    pub regions: Vec<String>,
    /// A role to assume (in the scanned account) before any call.
    pub role_arn: Option<String>,
    /// The external id the role's trust policy requires.
    pub external_id: Option<String>,
    /// The role session name (CloudTrail shows it with every call made in the session): who
    /// asked for the scan. `seg-scan` when not set.
    pub session_name: Option<String>,
    /// One endpoint for every service (an API simulator); `None` for the real AWS endpoints.
    pub endpoint_url: Option<String>,
    /// Time limit of one attempt of one call (also the connect timeout); the whole call, retries
    /// included, may take `timeout * max_attempts`.
    pub timeout: Duration,
    /// Attempts per call (standard retry mode: exponential backoff with jitter on throttling and
    /// transient errors). At least 1.
    pub max_attempts: u32,
    /// The collection time, written into every item as `configurationItemCaptureTime`.
    pub captured_at: Timestamp,
}

impl AwsScanConfig {
    /// Defaults: the account behind the credentials, no role, real endpoints, 20 s per attempt,
    /// 3 attempts.
    pub fn new(regions: Vec<String>, captured_at: Timestamp) -> Self {
        AwsScanConfig {
            account_id: None,
            regions,
            role_arn: None,
            external_id: None,
            session_name: None,
            endpoint_url: None,
            timeout: Duration::from_secs(20),
            max_attempts: 3,
            captured_at,
        }
    }

    fn validate(&self) -> Result<(), AwsError> {
        if self.regions.is_empty() {
            return Err(AwsError::Config("at least one region is required".into()));
        }
        let mut seen = BTreeSet::new();
        for r in &self.regions {
            let ok = !r.is_empty()
                && r.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !ok {
                return Err(AwsError::Config(format!("region {r:?} is not a region name")));
            }
            if !seen.insert(r) {
                return Err(AwsError::Config(format!("region {r} is listed twice")));
            }
        }
        if self.max_attempts == 0 {
            return Err(AwsError::Config("max_attempts must be at least 1".into()));
        }
        if self.timeout.is_zero() {
            return Err(AwsError::Config("timeout must be positive".into()));
        }
        if let Some(a) = &self.account_id {
            if a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()) {
                return Err(AwsError::Config(format!(
                    "account id {a:?} is not a 12-digit AWS account id"
                )));
            }
        }
        if self.external_id.is_some() && self.role_arn.is_none() {
            return Err(AwsError::Config("external_id is set but role_arn is not".into()));
        }
        Ok(())
    }
}

/// A part of the inventory that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Degradation {
    /// IAM service prefix: `iam`, `s3`, `ec2`, `config`, `access-analyzer`, ...
    pub service: String,
    /// The region of the client that made the call (IAM, STS and the S3 listing: the home
    /// region).
    pub region: String,
    /// The IAM action of the failed call, e.g. `ec2:DescribeSecurityGroups`.
    pub operation: String,
    /// SEG-001 §14 code: `SEG_ADAPTER_TIMEOUT`, `SEG_ADAPTER_UNAVAILABLE`, `SEG_ADAPTER_AUTH`,
    /// `SEG_SCHEMA_VIOLATION`.
    pub code: &'static str,
    pub message: String,
}

impl Degradation {
    pub(crate) fn from_error(service: &str, region: &str, e: &AwsError) -> Self {
        Degradation {
            service: service.to_string(),
            region: region.to_string(),
            operation: e.action().to_string(),
            code: e.code(),
            message: e.message().to_string(),
        }
    }
}

/// One raw HTTP response body, as the service sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawResponse {
    /// IAM service prefix of the client (`s3control` for S3 Control).
    pub service: String,
    /// The API operation name, e.g. `DescribeSecurityGroups`.
    pub operation: String,
    pub region: String,
    /// HTTP status code.
    pub status: u16,
    /// sha256 of `body`, lowercase hex.
    pub sha256: String,
    pub body: Vec<u8>,
}

/// The result of [`collect`].
#[derive(Debug, Clone, PartialEq)]
pub struct Collection {
    /// The scanned account.
    pub account_id: String,
    /// Configuration items, sorted by (resourceType, awsRegion, resourceId).
    pub items: Vec<Value>,
    /// What could not be read, sorted.
    pub degraded: Vec<Degradation>,
    /// Every raw response body, per client (clients ordered by service and region), in call order.
    pub responses: Vec<RawResponse>,
    /// For each item ([`item_key`]: `resourceType|awsRegion|resourceId`), the sha256 of the
    /// responses it was built from (see [`RawResponse::sha256`]).
    pub evidence: BTreeMap<String, Vec<String>>,
    /// IAM action names of every call made, e.g. `iam:GetAccountSummary`.
    pub calls: BTreeSet<String>,
}

impl Collection {
    /// The items as JSONL (one configuration item per line), the input of `seg scan` and of
    /// `seg_engine::inventory::parse_jsonl`.
    pub fn to_jsonl(&self) -> String {
        let mut out = String::new();
        for item in &self.items {
            out.push_str(&item.to_string());
            out.push('\n');
        }
        out
    }
}

/// Collects the inventory of the account behind the default credential chain (or the role of
/// [`AwsScanConfig::role_arn`]).
///
/// Returns `Err` only when nothing can be read: the configuration is invalid, `AssumeRole` fails,
/// or the first call (STS `GetCallerIdentity`, which needs no permission) fails — no credentials,
/// credentials the service rejects, no connection, a time-out — or names another account than
/// [`AwsScanConfig::account_id`]. Every later failure is a [`Degradation`].
pub async fn collect(cfg: &AwsScanConfig) -> Result<Collection, AwsError> {
    collect::run(cfg, None).await
}

/// [`collect`] with an explicit credentials provider instead of the default chain (for callers
/// that build their own, e.g. a web identity provider with a custom token file, and for tests).
/// `role_arn` is still assumed with these credentials when set.
pub async fn collect_with_credentials(
    cfg: &AwsScanConfig,
    credentials: SharedCredentialsProvider,
) -> Result<Collection, AwsError> {
    collect::run(cfg, Some(credentials)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> Timestamp {
        Timestamp::parse("2026-11-23T12:00:00Z").unwrap()
    }

    #[test]
    fn invalid_configurations_are_rejected() {
        let ok = AwsScanConfig::new(vec!["us-east-1".into()], at());
        assert!(ok.validate().is_ok());
        let mut c = ok.clone();
        c.regions.clear();
        assert_eq!(c.validate().unwrap_err().code(), "SEG_ADAPTER_CONFIG");
        let mut c = ok.clone();
        c.regions.push("us-east-1".into());
        assert!(c.validate().is_err());
        let mut c = ok.clone();
        c.max_attempts = 0;
        assert!(c.validate().is_err());
        let mut c = ok.clone();
        c.account_id = Some("12".into());
        assert!(c.validate().is_err());
        let mut c = ok;
        c.external_id = Some("x".into());
        assert!(c.validate().is_err());
    }
}
