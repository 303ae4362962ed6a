//! The one error type of the evidence store, with SEG-001 §14 codes.

use seg_engine::ports::PortError;

/// Everything the evidence store can fail with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    /// An argument is malformed (a hash that is not `sha256:<64 hex>`, an empty media type).
    #[error("invalid evidence input: {0}")]
    Invalid(String),
    /// The store was configured wrongly (chunk size 0, empty bucket name, bad directory).
    #[error("invalid evidence store configuration: {0}")]
    Config(String),
    /// No object under this key.
    #[error("evidence object not found: {key}")]
    NotFound { key: String },
    /// An object does not hash to its key, a manifest does not parse, or the reassembled content
    /// does not match the manifest.
    #[error("evidence object {key} is corrupt: {detail}")]
    Corrupt { key: String, detail: String },
    /// Storing an object failed (including the existence check that precedes the write).
    #[error("writing evidence object {key} failed: {message}")]
    Write { key: String, message: String },
    /// Reading an object failed for a reason other than its absence.
    #[error("reading evidence object {key} failed: {message}")]
    Unavailable { key: String, message: String },
    /// The backend did not answer in time.
    #[error("evidence backend timed out on {key}: {message}")]
    Timeout { key: String, message: String },
}

impl EvidenceError {
    /// SEG-001 §14 error code.
    pub fn code(&self) -> &'static str {
        match self {
            EvidenceError::Invalid(_) | EvidenceError::Config(_) | EvidenceError::Corrupt { .. } => {
                "SEG_SCHEMA_VIOLATION"
            }
            EvidenceError::NotFound { .. } => "SEG_NOT_FOUND",
            EvidenceError::Write { .. } => "SEG_EVIDENCE_WRITE_FAILED",
            EvidenceError::Unavailable { .. } => "SEG_ADAPTER_UNAVAILABLE",
            EvidenceError::Timeout { .. } => "SEG_ADAPTER_TIMEOUT",
        }
    }

    /// Short category for metrics and Kubernetes events.
    pub fn category(&self) -> &'static str {
        match self {
            EvidenceError::Invalid(_) => "invalid_input",
            EvidenceError::Config(_) => "invalid_config",
            EvidenceError::NotFound { .. } => "not_found",
            EvidenceError::Corrupt { .. } => "integrity",
            EvidenceError::Write { .. } => "write",
            EvidenceError::Unavailable { .. } | EvidenceError::Timeout { .. } => "backend",
        }
    }

    /// Whether retrying the same call can succeed.
    pub fn retryable(&self) -> bool {
        matches!(
            self,
            EvidenceError::Write { .. } | EvidenceError::Unavailable { .. } | EvidenceError::Timeout { .. }
        )
    }

    /// The same failure seen from `put`: anything that stops a write is a write failure.
    pub(crate) fn into_write(self) -> EvidenceError {
        match self {
            EvidenceError::Unavailable { key, message } | EvidenceError::Timeout { key, message } => {
                EvidenceError::Write { key, message }
            }
            other => other,
        }
    }
}

impl From<EvidenceError> for PortError {
    fn from(e: EvidenceError) -> Self {
        let message = e.to_string();
        match e {
            EvidenceError::Invalid(_) | EvidenceError::Config(_) | EvidenceError::Corrupt { .. } => {
                PortError::Schema(message)
            }
            EvidenceError::NotFound { .. } => PortError::NotFound(message),
            EvidenceError::Write { .. } => PortError::EvidenceWrite(message),
            EvidenceError::Unavailable { .. } => PortError::Unavailable {
                adapter: "evidence".into(),
                operation: "get".into(),
                message,
            },
            EvidenceError::Timeout { .. } => PortError::Timeout {
                adapter: "evidence".into(),
                operation: "get".into(),
                message,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_seg_001() {
        let write = EvidenceError::Write {
            key: "k".into(),
            message: "disk full".into(),
        };
        assert_eq!(write.code(), "SEG_EVIDENCE_WRITE_FAILED");
        assert_eq!(write.category(), "write");
        assert!(write.retryable());
        assert_eq!(
            EvidenceError::NotFound { key: "k".into() }.code(),
            "SEG_NOT_FOUND"
        );
        let corrupt = EvidenceError::Corrupt {
            key: "k".into(),
            detail: "d".into(),
        };
        assert_eq!(corrupt.code(), "SEG_SCHEMA_VIOLATION");
        assert_eq!(corrupt.category(), "integrity");
        assert!(!corrupt.retryable());
        let port: PortError = write.clone().into();
        assert_eq!(port.code(), write.code());
        let port: PortError = corrupt.clone().into();
        assert_eq!(port.code(), corrupt.code());
        let unavailable = EvidenceError::Unavailable {
            key: "k".into(),
            message: "m".into(),
        };
        assert_eq!(PortError::from(unavailable.clone()).code(), unavailable.code());
        assert_eq!(unavailable.into_write().code(), "SEG_EVIDENCE_WRITE_FAILED");
    }
}
