//! Errors of the reconcilers, with a category for metrics and Events.

/// Everything a reconcile can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The spec (or what it references) is invalid: wait for a change, do not retry.
    #[error("{reason}: {message}")]
    Invalid { reason: &'static str, message: String },
    /// The API server failed or was unreachable: retry with backoff.
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// The finalizer helper failed (adding/removing the finalizer or the cleanup).
    #[error("finalizer: {0}")]
    Finalizer(String),
    /// The object has no namespace or name (never for namespaced objects from the API server).
    #[error("object without {0}")]
    MissingMetadata(&'static str),
}

impl Error {
    pub fn invalid(reason: &'static str, message: impl Into<String>) -> Error {
        Error::Invalid {
            reason,
            message: message.into(),
        }
    }

    /// Short category for metrics and Events.
    pub fn category(&self) -> &'static str {
        match self {
            Error::Invalid { .. } => "invalid_spec",
            Error::Kube(_) => "api",
            Error::MissingMetadata(_) => "invalid_object",
            Error::Finalizer(_) => "api",
        }
    }

    /// Whether retrying later can succeed without a spec change.
    pub fn transient(&self) -> bool {
        matches!(self, Error::Kube(_) | Error::Finalizer(_))
    }
}
