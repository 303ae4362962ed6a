//! SEG-001 §7 canonical data contracts.
//!
//! Field names follow the specification so that the JSON form of each type is the contract's
//! wire form. Identifiers are content hashes (see [`crate::ids`]); timestamps are RFC 3339 in UTC.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::EngineError;
use crate::time::Timestamp;

/// Free-form JSON object used for control inputs, step parameters and configuration bodies.
pub type JsonMap = serde_json::Map<String, serde_json::Value>;

/// Severity of a control and of its findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
    Info,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
            Severity::Info => "info",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Outcome of one control on one asset (SEG-001 `Result`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckResult {
    Pass,
    Warn,
    Fail,
    Error,
    NotApplicable,
}

impl CheckResult {
    pub const ALL: [CheckResult; 5] = [
        CheckResult::Pass,
        CheckResult::Warn,
        CheckResult::Fail,
        CheckResult::Error,
        CheckResult::NotApplicable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CheckResult::Pass => "pass",
            CheckResult::Warn => "warn",
            CheckResult::Fail => "fail",
            CheckResult::Error => "error",
            CheckResult::NotApplicable => "not_applicable",
        }
    }

    pub fn parse(s: &str) -> Option<CheckResult> {
        CheckResult::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

impl fmt::Display for CheckResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Cloud provider of an asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    Aws,
    Azure,
    Gcp,
    Onprem,
    Other,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Aws => "aws",
            Provider::Azure => "azure",
            Provider::Gcp => "gcp",
            Provider::Onprem => "onprem",
            Provider::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Provider> {
        [
            Provider::Aws,
            Provider::Azure,
            Provider::Gcp,
            Provider::Onprem,
            Provider::Other,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }
}

/// Remediation mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Plan,
    Apply,
}

/// Tenant and location an operation applies to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    /// Tenant or organization id.
    pub org_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Only assets carrying all of these tags (with these values) are in scope.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// Cloud-neutral asset reference: `urn:asset:{provider}:{type}:{id}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AssetRef {
    pub urn: String,
}

impl AssetRef {
    /// Build a URN. The type segment is lower-cased with `::` turned into `.`
    /// (`AWS::S3::Bucket` becomes `aws.s3.bucket`); the id keeps its case and may contain `:`.
    pub fn new(provider: Provider, kind: &str, id: &str) -> Result<AssetRef, EngineError> {
        if id.is_empty() {
            return Err(EngineError::Schema("asset id is empty".into()));
        }
        let ty = kind_slug(kind);
        if ty.is_empty() {
            return Err(EngineError::Schema("asset type is empty".into()));
        }
        Ok(AssetRef {
            urn: format!("urn:asset:{}:{}:{}", provider.as_str(), ty, id),
        })
    }

    /// Split a URN into provider, type and id.
    pub fn parts(&self) -> Result<(Provider, &str, &str), EngineError> {
        let bad = || {
            EngineError::Schema(format!(
                "not an asset URN (urn:asset:{{provider}}:{{type}}:{{id}}): {}",
                self.urn
            ))
        };
        let rest = self.urn.strip_prefix("urn:asset:").ok_or_else(bad)?;
        let mut it = rest.splitn(3, ':');
        let provider = it.next().and_then(Provider::parse).ok_or_else(bad)?;
        let ty = it.next().filter(|t| !t.is_empty()).ok_or_else(bad)?;
        let id = it.next().filter(|i| !i.is_empty()).ok_or_else(bad)?;
        Ok((provider, ty, id))
    }
}

impl fmt::Display for AssetRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.urn)
    }
}

/// URN type segment of a provider resource type.
pub fn kind_slug(kind: &str) -> String {
    kind.replace("::", ".")
        .replace([':', '/'], ".")
        .to_ascii_lowercase()
}

/// Scalar property of an asset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PropertyValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

/// An inventoried asset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Asset {
    #[serde(rename = "ref")]
    pub asset_ref: AssetRef,
    /// Provider resource type, e.g. `AWS::S3::Bucket`.
    pub kind: String,
    pub provider: Provider,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub properties: BTreeMap<String, PropertyValue>,
    /// The provider's tags (AWS and Azure tags, GCP labels), which a [`Scope`] can select on.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    pub discovered_at: Timestamp,
}

impl Scope {
    /// Whether the asset carries every tag of the scope with the same value (no tags: all do).
    pub fn selects_tags(&self, asset: &Asset) -> bool {
        self.tags.iter().all(|(k, v)| asset.tags.get(k) == Some(v))
    }
}

impl Asset {
    pub fn property_str(&self, key: &str) -> Option<&str> {
        match self.properties.get(key) {
            Some(PropertyValue::Str(s)) => Some(s),
            _ => None,
        }
    }
}

/// Point-in-time configuration of an asset, normalized per provider.
///
/// The body is kept as the provider's JSON text, unparsed: an inventory of 100k items stays
/// small, and the policy engine parses it straight into its own value type.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConfigDoc {
    pub asset: AssetRef,
    pub captured_at: Timestamp,
    pub schema_version: String,
    pub body: Box<serde_json::value::RawValue>,
}

impl PartialEq for ConfigDoc {
    fn eq(&self, other: &Self) -> bool {
        self.asset == other.asset
            && self.captured_at == other.captured_at
            && self.schema_version == other.schema_version
            && self.body.get() == other.body.get()
    }
}

impl ConfigDoc {
    /// The body parsed as JSON.
    pub fn body_value(&self) -> Result<serde_json::Value, EngineError> {
        serde_json::from_str(self.body.get())
            .map_err(|e| EngineError::Schema(format!("{}: body: {e}", self.asset)))
    }
}

/// A reference into another framework that a control also satisfies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameworkRef {
    pub framework: String,
    pub ids: Vec<String>,
}

/// A control: one policy in a bundle plus its metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControlSpec {
    pub id: String,
    pub version: String,
    pub title: String,
    /// Benchmark name and version, e.g. `CIS AWS Foundations Benchmark v7.0.0`.
    pub benchmark: String,
    pub description: String,
    #[serde(default)]
    pub inputs: JsonMap,
    pub target_kinds: Vec<String>,
    /// Bundle id the control comes from.
    pub policy_bundle: String,
    pub severity: Severity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rationale: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation_guidance: Option<String>,
    /// Benchmark recommendation ids (e.g. CIS `2.8`).
    #[serde(default)]
    pub requirements: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(default)]
    pub references: Vec<FrameworkRef>,
}

/// Content-addressed pointer to an evidence body.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EvidencePointer {
    /// `sha256:<hex>` of the evidence body.
    pub hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    pub media_type: String,
}

/// Record of one control result on one asset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub id: String,
    pub control_id: String,
    pub control_version: String,
    pub asset: AssetRef,
    pub result: CheckResult,
    pub severity: Severity,
    pub message: String,
    #[serde(default)]
    pub evidence: Vec<EvidencePointer>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Stable key for deduplication: sha256 of (benchmark, control id, asset URN).
    pub fingerprint: String,
}

/// One change of a remediation plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemediationStep {
    pub action: String,
    pub description: String,
    #[serde(default)]
    pub params: JsonMap,
}

/// Estimated risk of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    Low,
    Medium,
    High,
}

/// Ordered change set that drives a finding toward pass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemediationPlan {
    pub id: String,
    pub finding_id: String,
    pub mode: Mode,
    pub steps: Vec<RemediationStep>,
    pub estimated_risk: Risk,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_window: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub approvals_required: Vec<String>,
    pub created_at: Timestamp,
}

/// Status of one applied step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Success,
    Skipped,
    Failed,
    Compensated,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplyChangeResult {
    pub step_index: u32,
    pub status: StepStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_change_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Overall status of an apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplyStatus {
    Success,
    Partial,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplyResult {
    pub plan_id: String,
    pub status: ApplyStatus,
    pub results: Vec<ApplyChangeResult>,
    pub started_at: Timestamp,
    pub ended_at: Timestamp,
}

/// Result of a rollback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RollbackResult {
    pub plan_id: String,
    pub status: ApplyStatus,
    pub results: Vec<ApplyChangeResult>,
}

/// Summary of an evaluation run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub run_id: String,
    pub scope: Scope,
    pub started_at: Timestamp,
    pub ended_at: Timestamp,
    pub controls: Vec<String>,
    /// Counts by result (`pass`, `warn`, `fail`, `error`, `not_applicable`) and of skipped inputs.
    pub counts: BTreeMap<String, u64>,
}

/// What an attestation attests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatementType {
    Evaluation,
    Remediation,
}

/// A signed statement describing an evaluation or remediation run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attestation {
    pub id: String,
    pub run_id: String,
    pub statement_type: StatementType,
    /// `sha256:<hex>` of the DSSE payload.
    pub payload_hash: String,
    /// Key id of the signer.
    pub signer: String,
    /// The DSSE envelope, serialized as JSON.
    pub signature: String,
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transparency_uri: Option<String>,
}

/// Request to evaluate controls over a scope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalRequest {
    pub scope: Scope,
    /// Controls to evaluate; empty means every control of the bundle.
    #[serde(default)]
    pub control_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assets: Option<Vec<AssetRef>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Timestamp>,
}

/// Result of an evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalResult {
    pub run: RunSummary,
    pub findings: Vec<Finding>,
    pub evidence: Vec<EvidencePointer>,
}

/// Outcome of validating one control.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationReport {
    pub control_id: String,
    pub valid: bool,
    pub problems: Vec<String>,
}
