//! `Finding`: one failing (control, asset) pair of a Scan.
// The `printcolumn(...)` arguments of `#[kube]` repeat keys such as `type_` by design.
#![allow(clippy::duplicated_attributes)]

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::common::{CheckResult, LocalObjectReference, Severity, ID_PATTERN};

/// Hex characters of the hash used in a Finding's name.
pub const FINDING_NAME_HEX: usize = 40;

/// The name of the Finding object of a Scan's result: `f-` and the first 40 hex characters of
/// sha256(scan name, fingerprint). Stable across runs, a valid DNS-1123 name of 42 characters, and
/// distinct for two Scans of one namespace that evaluate the same (benchmark, control, asset).
pub fn finding_name(scan: &str, fingerprint: &str) -> String {
    let mut h = Sha256::new();
    h.update((scan.len() as u64).to_be_bytes());
    h.update(scan.as_bytes());
    h.update(fingerprint.to_ascii_lowercase().as_bytes());
    format!("f-{}", &hex::encode(h.finalize())[..FINDING_NAME_HEX])
}

/// What failed where. Immutable: the operator sets it when it creates the Finding.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "seg.neurocipher.io",
    version = "v1alpha1",
    kind = "Finding",
    namespaced,
    status = "FindingStatus",
    derive = "PartialEq",
    shortname = "fnd",
    category = "seg",
    doc = "A finding: one control that failed on one asset in a Scan. The name is derived from the Scan and the fingerprint (f- and 40 hex characters of their sha256), so each (Scan, benchmark, control, asset) has at most one Finding; the spec is immutable and the status follows the latest runs (result, evidence, first and last seen, open or resolved).",
    printcolumn(
        name = "Control",
        type_ = "string",
        json_path = ".spec.controlId",
        description = "The control that failed"
    ),
    printcolumn(
        name = "Severity",
        type_ = "string",
        json_path = ".spec.severity",
        description = "Severity of the control"
    ),
    printcolumn(
        name = "State",
        type_ = "string",
        json_path = ".status.state",
        description = "Open or Resolved"
    ),
    printcolumn(
        name = "Asset",
        type_ = "string",
        json_path = ".spec.assetUrn",
        description = "The asset"
    ),
    printcolumn(
        name = "Scan",
        type_ = "string",
        json_path = ".spec.scanRef.name",
        description = "The Scan that found it",
        priority = 1
    ),
    printcolumn(
        name = "Last Seen",
        type_ = "date",
        json_path = ".status.lastSeen",
        description = "When a run last changed the status"
    ),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self == oldSelf").message("spec is immutable"))]
pub struct FindingSpec {
    /// The Scan (in this namespace) that found the failure.
    pub scan_ref: LocalObjectReference,
    /// Id of the bundle the control belongs to, for example `cis-aws-foundations`.
    #[schemars(length(min = 1, max = 128), regex(pattern = ID_PATTERN))]
    pub bundle_id: String,
    /// Id of the control, as in the bundle's manifest.
    #[schemars(length(min = 1, max = 128), regex(pattern = ID_PATTERN))]
    pub control_id: String,
    /// Version of the control (semantic version).
    #[schemars(length(min = 1, max = 64))]
    pub control_version: String,
    /// The asset, as `urn:asset:{provider}:{type}:{id}`.
    #[schemars(length(min = 1, max = 2048), regex(pattern = r"^urn:asset:[a-z]+:[^:]+:.+$"))]
    pub asset_urn: String,
    /// Severity of the control: `critical`, `high`, `medium`, `low` or `info`.
    pub severity: Severity,
    /// sha256 (lowercase hex) of (bundle id, control id, asset URN): the same for every run, so
    /// that a failure seen again updates the same Finding.
    #[schemars(regex(pattern = r"^[0-9a-f]{64}$"))]
    pub fingerprint: String,
}

/// Open while the control fails on the asset; resolved once a run sees it pass (or no longer
/// apply).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum FindingState {
    Open,
    Resolved,
}

/// A content-addressed pointer to the evidence of a result.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EvidenceReference {
    /// `sha256:<hex>` of the evidence body.
    #[schemars(regex(pattern = r"^sha256:[0-9a-f]{64}$"))]
    pub hash: String,
    /// Where the evidence body is stored, when it is stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// Media type of the evidence body, for example `application/json`.
    pub media_type: String,
}

/// What the runs of the Scan have seen of the failure.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct FindingStatus {
    /// Result of the control on the asset: `fail` while open, `pass` once resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<CheckResult>,
    /// The policy's message for that result, naming the offending value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Pointers to the evidence of that result.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    #[x_kube(merge_strategy = ListMerge::Atomic)]
    pub evidence: Vec<EvidenceReference>,
    /// When a run first saw the failure (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub first_seen: Option<String>,
    /// When a run last changed this status (result, message, evidence or state), RFC 3339. A run
    /// that sees the same failure again writes nothing, so an open Finding is current as of its
    /// Scan's `status.lastRunTime`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub last_seen: Option<String>,
    /// `Open` while the control fails on the asset. `Resolved` once a run evaluates the control
    /// on the asset again and it passes or no longer applies; an `error` result or an asset
    /// missing from a run does not resolve it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<FindingState>,
    /// Id of the last run that evaluated the control on the asset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run_id: Option<String>,
}
