//! Errors of the core, with the SEG-001 §14 error codes.

use serde::Serialize;

/// Every error the engine returns.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Input does not match a data contract.
    #[error("schema violation: {0}")]
    Schema(String),
    /// A bundle file is missing, tampered with, or not signed by a trusted key.
    #[error("bundle verification failed: {0}")]
    BundleVerify(String),
    /// A bundle could not be loaded (manifest, policy compile, data).
    #[error("policy load failed: {0}")]
    PolicyLoad(String),
    /// A policy failed while evaluating.
    #[error("policy evaluation failed: {0}")]
    PolicyEval(String),
    /// A signature did not verify.
    #[error("attestation verification failed: {0}")]
    AttestVerify(String),
    /// A key could not be parsed.
    #[error("invalid key: {0}")]
    Key(String),
}

impl EngineError {
    /// SEG-001 §14 error code.
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::Schema(_) => "SEG_SCHEMA_VIOLATION",
            EngineError::BundleVerify(_) | EngineError::PolicyLoad(_) => "SEG_POLICY_LOAD_FAILED",
            EngineError::PolicyEval(_) => "SEG_POLICY_EVAL_FAILED",
            EngineError::AttestVerify(_) => "SEG_ATTEST_VERIFY_FAILED",
            EngineError::Key(_) => "SEG_KEY_INVALID",
        }
    }

    /// Short category for metrics and Kubernetes events.
    pub fn category(&self) -> &'static str {
        match self {
            EngineError::Schema(_) => "invalid_input",
            EngineError::BundleVerify(_) | EngineError::AttestVerify(_) | EngineError::Key(_) => "trust",
            EngineError::PolicyLoad(_) | EngineError::PolicyEval(_) => "policy",
        }
    }

    /// Whether retrying the same call can succeed. Nothing in the pure core is transient.
    pub fn retryable(&self) -> bool {
        false
    }

    /// The SEG-001 §14 JSON error shape.
    pub fn to_error_body(&self) -> ErrorBody {
        ErrorBody {
            error_code: self.code().to_string(),
            message: self.to_string(),
            retryable: self.retryable(),
            details: serde_json::Map::new(),
        }
    }
}

/// SEG-001 §14 standard error shape.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ErrorBody {
    pub error_code: String,
    pub message: String,
    pub retryable: bool,
    pub details: serde_json::Map<String, serde_json::Value>,
}
