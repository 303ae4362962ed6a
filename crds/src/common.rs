//! Types shared by the custom resources: conditions, references, enums of the domain.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Pattern of a Kubernetes object name (DNS-1123 subdomain).
pub(crate) const NAME_PATTERN: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

/// Pattern of a ConfigMap or Secret key.
pub(crate) const KEY_PATTERN: &str = r"^[-._a-zA-Z0-9]+$";

/// Pattern of a bundle or control id: lowercase kebab-case.
pub(crate) const ID_PATTERN: &str = r"^[a-z0-9]+(-[a-z0-9]+)*$";

/// Condition types, following kstatus: `Ready` is the normal-true condition; `Reconciling` and
/// `Stalled` are abnormal-true conditions that are only present (or `True`) while they apply.
pub mod condition_type {
    /// The resource is up to date: its status describes the current generation and nothing is
    /// in progress or failing.
    pub const READY: &str = "Ready";
    /// Work is in progress (loading a bundle, running a scan).
    pub const RECONCILING: &str = "Reconciling";
    /// Progress is not possible without a change: the reason and message say what is wrong.
    pub const STALLED: &str = "Stalled";
}

/// The status of a condition.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ConditionStatus {
    True,
    False,
    Unknown,
}

/// One observation of the state of a resource (kstatus).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Kind of condition: `Ready`, `Reconciling` or `Stalled`.
    #[serde(rename = "type")]
    #[schemars(length(min = 1, max = 316))]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: ConditionStatus,
    /// Why the condition has this status, as one CamelCase word, for example `SignatureInvalid`
    /// or `BenchmarkNotFound`.
    #[schemars(
        length(min = 1, max = 1024),
        regex(pattern = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")
    )]
    pub reason: String,
    /// Human-readable details, for example the file whose checksum did not match.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(length(max = 32768))]
    pub message: String,
    /// When the condition last changed from one status to another (RFC 3339).
    #[schemars(extend("format" = "date-time"))]
    pub last_transition_time: String,
    /// The `metadata.generation` that the condition was computed for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub observed_generation: Option<i64>,
}

/// The condition of `type_` in `conditions`, if present.
pub fn find_condition<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// A reference to an object of the same namespace by name.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
pub struct LocalObjectReference {
    /// Name of the object, in the same namespace.
    #[schemars(length(min = 1, max = 253), regex(pattern = NAME_PATTERN))]
    pub name: String,
}

/// A key of a ConfigMap or Secret of the same namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
pub struct KeyReference {
    /// Name of the ConfigMap or Secret, in the same namespace.
    #[schemars(length(min = 1, max = 253), regex(pattern = NAME_PATTERN))]
    pub name: String,
    /// The key whose value is used.
    #[schemars(length(min = 1, max = 253), regex(pattern = KEY_PATTERN))]
    pub key: String,
}

/// Severity of a control and of its findings.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
    Info,
}

/// Outcome of one control on one asset.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckResult {
    Pass,
    Warn,
    Fail,
    Error,
    NotApplicable,
}
