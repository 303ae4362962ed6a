//! The five ports of SEG-001 §6, as traits. Adapters implement them; the core calls them.
//!
//! Ports are synchronous by contract; an async caller wraps them (e.g. `spawn_blocking`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::inventory::InventoryItem;
use crate::model::{
    ApplyResult, Asset, AssetRef, Attestation, ConfigDoc, ControlSpec, EvalRequest, EvalResult,
    EvidencePointer, Finding, Mode, RemediationPlan, RollbackResult, RunSummary, Scope, ValidationReport,
};
use crate::time::Timestamp;

/// Error of a port call, carrying its SEG-001 §14 code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    #[error("{adapter}.{operation} timed out: {message}")]
    Timeout {
        adapter: String,
        operation: String,
        message: String,
    },
    #[error("{adapter}.{operation} unavailable: {message}")]
    Unavailable {
        adapter: String,
        operation: String,
        message: String,
    },
    #[error("schema violation: {0}")]
    Schema(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("policy load failed: {0}")]
    PolicyLoad(String),
    #[error("evidence write failed: {0}")]
    EvidenceWrite(String),
    #[error("apply partially failed: {0}")]
    ApplyPartial(String),
    #[error("attestation verification failed: {0}")]
    AttestVerify(String),
}

impl PortError {
    pub fn code(&self) -> &'static str {
        match self {
            PortError::Timeout { .. } => "SEG_ADAPTER_TIMEOUT",
            PortError::Unavailable { .. } => "SEG_ADAPTER_UNAVAILABLE",
            PortError::Schema(_) => "SEG_SCHEMA_VIOLATION",
            PortError::NotFound(_) => "SEG_NOT_FOUND",
            PortError::PolicyLoad(_) => "SEG_POLICY_LOAD_FAILED",
            PortError::EvidenceWrite(_) => "SEG_EVIDENCE_WRITE_FAILED",
            PortError::ApplyPartial(_) => "SEG_APPLY_PARTIAL",
            PortError::AttestVerify(_) => "SEG_ATTEST_VERIFY_FAILED",
        }
    }

    pub fn retryable(&self) -> bool {
        matches!(
            self,
            PortError::Timeout { .. } | PortError::Unavailable { .. } | PortError::EvidenceWrite(_)
        )
    }
}

impl From<crate::error::EngineError> for PortError {
    fn from(e: crate::error::EngineError) -> Self {
        use crate::error::EngineError as E;
        match e {
            E::Schema(m) => PortError::Schema(m),
            E::BundleVerify(m) | E::PolicyLoad(m) => PortError::PolicyLoad(m),
            E::PolicyEval(m) => PortError::Schema(m),
            E::AttestVerify(m) | E::Key(m) => PortError::AttestVerify(m),
        }
    }
}

/// A page request; cursors are opaque and stable for the same inventory.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PageRequest {
    pub cursor: Option<String>,
    /// Maximum assets per page; 0 means the adapter's default (1000).
    pub limit: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssetPage {
    pub assets: Vec<Asset>,
    pub next_cursor: Option<String>,
}

/// Inventory search.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct InventoryQuery {
    #[serde(default)]
    pub kinds: Vec<String>,
    #[serde(default)]
    pub name_contains: Option<String>,
    /// Asset properties that must match exactly.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

/// SEG-001 §6.1: enumerate assets and fetch point-in-time configs.
pub trait InventoryPort {
    fn list_assets(
        &self,
        scope: &Scope,
        kinds: &[String],
        since: Option<Timestamp>,
        page: &PageRequest,
    ) -> Result<AssetPage, PortError>;
    fn get_config(&self, asset: &AssetRef, at: Option<Timestamp>) -> Result<ConfigDoc, PortError>;
    fn search(&self, query: &InventoryQuery) -> Result<Vec<Asset>, PortError>;
    /// An in-memory inventory's items that `list_assets` would list (same selection, same
    /// order), with their configurations, lent instead of copied. `None`, the default, makes
    /// callers page through `list_assets` and `get_config`.
    fn borrow_items(
        &self,
        _scope: &Scope,
        _kinds: &[String],
        _since: Option<Timestamp>,
    ) -> Option<Vec<&InventoryItem>> {
        None
    }
}

/// SEG-001 §6.2: apply controls to assets and produce findings.
pub trait EvaluationPort {
    fn evaluate(&self, request: &EvalRequest) -> Result<EvalResult, PortError>;
    fn validate_control(&self, control: &ControlSpec) -> ValidationReport;
}

/// A change window: start and end of the period in which applies are allowed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeWindow {
    pub start: Timestamp,
    pub end: Timestamp,
}

/// SEG-001 §6.3: plan and apply changes with dry-run safety.
pub trait RemediationPort {
    fn plan(&self, finding: &Finding, mode: Mode) -> Result<RemediationPlan, PortError>;
    /// Apply a plan; with `dry_run` nothing is changed and the result says what would be.
    fn apply(
        &self,
        plan: &RemediationPlan,
        window: Option<&ChangeWindow>,
        dry_run: bool,
    ) -> Result<ApplyResult, PortError>;
    fn rollback(&self, plan_id: &str) -> Result<RollbackResult, PortError>;
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendResult {
    pub written: u64,
    /// Records that were already present unchanged (idempotent re-commit).
    pub unchanged: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    pub run_id: String,
}

/// SEG-001 §6.4: write findings and evidence, emit events.
pub trait FindingIngestPort {
    fn commit(&self, findings: &[Finding], evidence: &[EvidencePointer]) -> Result<AppendResult, PortError>;
    fn ack(&self, run_id: &str) -> Result<Ack, PortError>;
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    pub valid: bool,
    pub signer: Option<String>,
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttestationTarget {
    pub kind: String,
    pub location: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishReport {
    pub published: Vec<String>,
    pub failed: Vec<String>,
}

/// SEG-001 §6.5: sign and publish attestations.
pub trait AttestationPort {
    fn sign(&self, run: &RunSummary, scope: &Scope) -> Result<Attestation, PortError>;
    fn verify(&self, attestation: &Attestation) -> Result<VerifyReport, PortError>;
    fn publish(
        &self,
        attestation: &Attestation,
        targets: &[AttestationTarget],
    ) -> Result<PublishReport, PortError>;
}
