//! Scans of `provider: aws`: the inventory is collected with the AWS adapter.
//!
//! Identity: with `credentials.workloadIdentity.roleArn` the operator's own AWS identity (the
//! pod's web identity under IRSA or Pod Identity, or whatever the SDK's default chain finds)
//! assumes the role with the external id `<prefix><namespace>`. The tenant chooses the role but
//! not the external id, so a role whose trust policy requires `seg:tenant-a` can only be assumed
//! by Scans of namespace `tenant-a` (no confused deputy across tenants). With
//! `credentials.secretRef` the Secret's `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and optional
//! `AWS_SESSION_TOKEN` are used (never logged, never written anywhere).

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use seg_adapter_aws::{
    item_key, AwsError, AwsScanConfig, Collection, Degradation, SharedCredentialsProvider,
};
use seg_adapter_evidence::EvidenceStore;
use seg_crds::{EvidenceReference, InventoryError, Scan};
use seg_engine::time::Timestamp;

use crate::scan::{Gather, Gathered};
use crate::Context;

/// Operator-wide AWS settings.
#[derive(Debug, Clone)]
pub struct AwsSettings {
    /// One endpoint for every AWS service (an API simulator or a proxy); `None`: AWS itself.
    pub endpoint_url: Option<String>,
    /// The external id of an AssumeRole is this prefix and the Scan's namespace.
    pub external_id_prefix: String,
    /// Time limit of one attempt of one call.
    pub timeout: Duration,
    /// Attempts per call.
    pub max_attempts: u32,
}

impl Default for AwsSettings {
    fn default() -> Self {
        AwsSettings {
            endpoint_url: None,
            external_id_prefix: "seg:".into(),
            timeout: Duration::from_secs(20),
            max_attempts: 3,
        }
    }
}

/// The external id a Scan of namespace `ns` presents when it assumes its role: the operator's
/// prefix (which names the cluster and ends with a delimiter, so that namespace `a` of one
/// cluster is never a prefix match of namespace `ab` or of another cluster) and the namespace.
pub fn external_id(settings: &AwsSettings, ns: &str) -> String {
    format!("{}{ns}", settings.external_id_prefix)
}

/// Whether an external-id prefix ends with a delimiter (`:` or `/`), so that the namespace after
/// it cannot be confused with a longer one.
pub fn valid_external_id_prefix(prefix: &str) -> bool {
    prefix.ends_with(':') || prefix.ends_with('/')
}

/// The role session name of a Scan's AssumeRole: `seg.<namespace>.<scan>`, in the characters
/// STS allows (`[\w+=,.@-]`), at most 64 of them (a long name is cut and ends with a hash of
/// the whole, so two Scans never share one). CloudTrail shows it with every call of the run.
pub fn session_name(ns: &str, scan: &str) -> String {
    let full = format!("seg.{ns}.{scan}");
    if full.len() <= 64 {
        return full;
    }
    let hash = &seg_engine::ids::sha256_hex(full.as_bytes())[..12];
    format!("{}.{hash}", &full[..51])
}

/// The adapter's configuration for a Scan (pure).
pub(crate) fn config(
    settings: &AwsSettings,
    ns: &str,
    scan: &Scan,
    at: Timestamp,
) -> Result<AwsScanConfig, Gather> {
    let Some(scope) = &scan.spec.aws else {
        return Err(invalid("ScopeInvalid", "spec.aws: must be set for provider aws"));
    };
    let mut cfg = AwsScanConfig::new(scope.regions.clone(), at);
    cfg.account_id = Some(scope.account_id.clone());
    cfg.endpoint_url = settings.endpoint_url.clone();
    cfg.timeout = settings.timeout;
    cfg.max_attempts = settings.max_attempts.max(1);
    let role = scan
        .spec
        .credentials
        .as_ref()
        .and_then(|c| c.workload_identity.as_ref())
        .and_then(|w| w.role_arn.clone());
    if let Some(role) = role {
        cfg.role_arn = Some(role);
        cfg.external_id = Some(external_id(settings, ns));
        cfg.session_name = Some(session_name(ns, &scan.metadata.name.clone().unwrap_or_default()));
    }
    Ok(cfg)
}

fn invalid(reason: &'static str, message: impl Into<String>) -> Gather {
    Gather::Invalid {
        reason,
        message: message.into(),
    }
}

/// An adapter error or degradation as Scan status (pure).
pub fn inventory_error(code: &str, operation: &str, region: &str, message: &str) -> InventoryError {
    let service = operation.split(':').next().unwrap_or("").to_string();
    InventoryError {
        code: code.to_string(),
        service,
        region: if region.is_empty() {
            "global".into()
        } else {
            region.to_string()
        },
        operation: (!operation.is_empty()).then(|| operation.to_string()),
        message: message.chars().take(1000).collect(),
    }
}

fn degradation(d: &Degradation) -> InventoryError {
    let mut e = inventory_error(d.code, &d.operation, &d.region, &d.message);
    if e.service.is_empty() {
        e.service = d.service.clone();
    }
    e
}

async fn secret_credentials(
    ctx: &Context,
    ns: &str,
    name: &str,
) -> Result<SharedCredentialsProvider, Gather> {
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), ns);
    let secret = api
        .get_opt(name)
        .await
        .map_err(|e| Gather::Kube(e.into()))?
        .ok_or_else(|| {
            invalid(
                "CredentialsNotFound",
                format!("spec.credentials.secretRef: Secret {ns}/{name} not found"),
            )
        })?;
    let data = secret.data.unwrap_or_default();
    let get = |k: &str| {
        data.get(k)
            .and_then(|v| String::from_utf8(v.0.clone()).ok())
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let missing = |k: &str| {
        invalid(
            "CredentialsNotFound",
            format!("spec.credentials.secretRef: Secret {ns}/{name} has no key {k}"),
        )
    };
    let key = get("AWS_ACCESS_KEY_ID").ok_or_else(|| missing("AWS_ACCESS_KEY_ID"))?;
    let secret_key = get("AWS_SECRET_ACCESS_KEY").ok_or_else(|| missing("AWS_SECRET_ACCESS_KEY"))?;
    let creds = aws_credential_types::Credentials::new(
        key,
        secret_key,
        get("AWS_SESSION_TOKEN"),
        None,
        "seg-scan-secret",
    );
    Ok(SharedCredentialsProvider::new(creds))
}

/// Collect a Scan's AWS inventory.
pub(crate) async fn gather(ctx: &Context, ns: &str, scan: &Scan, at: Timestamp) -> Result<Gathered, Gather> {
    let cfg = config(&ctx.aws, ns, scan, at)?;
    let secret = scan
        .spec
        .credentials
        .as_ref()
        .and_then(|c| c.secret_ref.as_ref())
        .map(|r| r.name.clone());
    let result = match secret {
        Some(name) => {
            let creds = secret_credentials(ctx, ns, &name).await?;
            seg_adapter_aws::collect_with_credentials(&cfg, creds).await
        }
        None => seg_adapter_aws::collect(&cfg).await,
    };
    match result {
        Ok(c) => {
            let mut errors: Vec<InventoryError> = c.degraded.iter().map(degradation).collect();
            let evidence = match &ctx.evidence {
                Some(store) => match store_evidence(store, &c).await {
                    Ok(e) => e,
                    Err(e) => {
                        errors.push(inventory_error(
                            e.code(),
                            "evidence:PutObject",
                            "",
                            &e.to_string(),
                        ));
                        BTreeMap::new()
                    }
                },
                None => BTreeMap::new(),
            };
            Ok(Gathered {
                text: c.to_jsonl(),
                errors,
                evidence,
            })
        }
        Err(AwsError::Config(m)) => Err(invalid("ScopeInvalid", format!("spec.aws: {m}"))),
        Err(e) => Err(Gather::Cloud {
            error: inventory_error(e.code(), e.action(), e.region(), e.message()),
            retry: e.retryable(),
        }),
    }
}

/// Media type of a raw response body (AWS answers in JSON or XML, by service).
pub fn media_type_of(body: &[u8]) -> &'static str {
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') | Some(b'[') => "application/json",
        Some(b'<') => "application/xml",
        _ => "application/octet-stream",
    }
}

/// Store every raw response of a collection (content-addressed: a response seen before is not
/// written again) and say which stored responses each asset, by URN, was built from.
async fn store_evidence(
    store: &EvidenceStore,
    c: &Collection,
) -> Result<BTreeMap<String, Vec<EvidenceReference>>, seg_adapter_evidence::EvidenceError> {
    let mut stored: BTreeMap<&str, EvidenceReference> = BTreeMap::new();
    for r in &c.responses {
        if stored.contains_key(r.sha256.as_str()) {
            continue;
        }
        let media_type = media_type_of(&r.body);
        let blob = store.put(&r.body, media_type).await?;
        stored.insert(
            r.sha256.as_str(),
            EvidenceReference {
                uri: store.uri(&blob.hash).ok(),
                hash: blob.hash,
                media_type: media_type.to_string(),
            },
        );
    }
    let mut by_urn = BTreeMap::new();
    for item in &c.items {
        let field = |k: &str| item[k].as_str().unwrap_or("");
        let Some(hashes) = c.evidence.get(&item_key(
            field("resourceType"),
            field("awsRegion"),
            field("resourceId"),
        )) else {
            continue;
        };
        let parsed = seg_engine::inventory::parse_jsonl(&item.to_string());
        let Some(parsed) = parsed.items.first() else {
            continue;
        };
        let refs: Vec<EvidenceReference> = hashes
            .iter()
            .filter_map(|h| stored.get(h.as_str()).cloned())
            .collect();
        by_urn.insert(parsed.asset.asset_ref.urn.clone(), refs);
    }
    Ok(by_urn)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(yaml: &str) -> Scan {
        serde_saphyr::from_str(yaml).unwrap()
    }

    #[test]
    fn session_names_name_the_namespace_and_scan_within_the_sts_limit() {
        assert_eq!(session_name("tenant-a", "aws"), "seg.tenant-a.aws");
        let long = session_name("tenant-a", &"x".repeat(100));
        assert_eq!(long.len(), 64, "{long}");
        assert!(long.starts_with("seg.tenant-a.xxx"));
        assert_ne!(long, session_name("tenant-a", &"x".repeat(101)));
        assert!(long
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)));
        assert!(valid_external_id_prefix("seg:prod-eu:"));
        assert!(!valid_external_id_prefix("seg"));
    }

    #[test]
    fn a_role_is_assumed_with_the_namespace_as_external_id() {
        let s = scan(
            "apiVersion: seg.neurocipher.io/v1alpha1
kind: Scan
metadata: {name: a, namespace: tenant-a}
spec:
  benchmarkRef: {name: cis}
  provider: aws
  aws: {accountId: '123456789012', regions: [us-east-1, eu-west-1]}
  credentials:
    workloadIdentity: {roleArn: 'arn:aws:iam::123456789012:role/seg-audit'}
",
        );
        let at = Timestamp::parse("2026-11-23T00:00:00Z").unwrap();
        let settings = AwsSettings::default();
        let cfg = config(&settings, "tenant-a", &s, at).unwrap_or_else(|_| panic!("config"));
        assert_eq!(
            cfg.role_arn.as_deref(),
            Some("arn:aws:iam::123456789012:role/seg-audit")
        );
        assert_eq!(cfg.external_id.as_deref(), Some("seg:tenant-a"));
        assert_eq!(cfg.account_id.as_deref(), Some("123456789012"));
        assert_eq!(cfg.regions, vec!["us-east-1", "eu-west-1"]);
        // Another namespace presents another external id for the same role.
        let other = config(&settings, "tenant-b", &s, at).unwrap_or_else(|_| panic!("config"));
        assert_eq!(other.external_id.as_deref(), Some("seg:tenant-b"));
    }

    #[test]
    fn errors_become_status_entries_with_their_service() {
        let e = inventory_error(
            "SEG_ADAPTER_TIMEOUT",
            "ec2:DescribeSecurityGroups",
            "eu-west-1",
            "timed out",
        );
        assert_eq!(e.service, "ec2");
        assert_eq!(e.operation.as_deref(), Some("ec2:DescribeSecurityGroups"));
        let g = inventory_error("SEG_ADAPTER_UNAVAILABLE", "", "", "refused");
        assert_eq!(g.region, "global");
        assert_eq!(g.operation, None);
    }
}
