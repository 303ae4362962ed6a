//! Errors of the reconcilers, each with a [`Category`] that decides what happens next: requeue
//! with back-off, wait for a change of the object, a Warning Event, and the metric label.

use std::time::Duration;

/// What an error means for the object it happened to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    /// The API server, a cloud API or a volume failed in a way that can pass: retry with
    /// exponential back-off.
    Transient,
    /// The spec, or something it references, is wrong: write `Stalled=True` with the reason and a
    /// Warning Event, and wait for a change. Never retried on a timer.
    InvalidSpec,
    /// The operator is not allowed to do what the spec asks (RBAC, a cloud role's trust policy):
    /// retried rarely (someone has to fix the permission, not the spec).
    Denied,
    /// A defect of the operator itself: back off like a transient error, and say so.
    Internal,
}

impl Category {
    /// Short name, for Events, logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Transient => "transient",
            Category::InvalidSpec => "invalid_spec",
            Category::Denied => "denied",
            Category::Internal => "internal",
        }
    }

    /// Category of an error answered by the Kubernetes API server.
    pub fn of_kube(e: &kube::Error) -> Category {
        match e {
            kube::Error::Api(s) => match s.code {
                401 | 403 => Category::Denied,
                // Our own write was refused by the schema: a defect (bounded inputs are checked
                // before writing), not something to hammer the API server with.
                400 | 422 => Category::Internal,
                _ => Category::Transient,
            },
            _ => Category::Transient,
        }
    }
}

/// Everything a reconcile can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The spec (or what it references) is invalid: wait for a change, do not retry.
    #[error("{reason}: {message}")]
    Invalid { reason: &'static str, message: String },
    /// The API server failed, was unreachable or refused a request.
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// The finalizer helper failed: adding or removing the finalizer, or the apply or cleanup it
    /// ran (kept typed, with the error of the step inside).
    #[error("finalizer: {0}")]
    Finalizer(#[source] Box<kube::runtime::finalizer::Error<Error>>),
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

    /// What the error means: retry, wait for a change, or a defect.
    pub fn category(&self) -> Category {
        use kube::runtime::finalizer::Error as F;
        match self {
            Error::Invalid { .. } => Category::InvalidSpec,
            Error::Kube(e) => Category::of_kube(e),
            Error::MissingMetadata(_) => Category::Internal,
            Error::Finalizer(f) => match f.as_ref() {
                F::ApplyFailed(e) | F::CleanupFailed(e) => e.category(),
                F::AddFinalizer(e) | F::RemoveFinalizer(e) => Category::of_kube(e),
                F::UnnamedObject | F::InvalidFinalizer => Category::Internal,
            },
        }
    }

    /// Whether retrying later can succeed without a spec change.
    pub fn transient(&self) -> bool {
        !matches!(self.category(), Category::InvalidSpec)
    }
}

impl From<kube::runtime::finalizer::Error<Error>> for Error {
    fn from(e: kube::runtime::finalizer::Error<Error>) -> Error {
        Error::Finalizer(Box::new(e))
    }
}

/// Exponential back-off of failed reconciles, per object: `base * 2^(failures - 1)`, at most
/// `max`. Reset when a reconcile of the object succeeds.
#[derive(Debug)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    failures: std::sync::Mutex<std::collections::HashMap<String, u32>>,
}

impl Backoff {
    pub fn new(base: Duration, max: Duration) -> Backoff {
        Backoff {
            base,
            max,
            failures: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    /// Record one more failure of `key` and return how long to wait.
    pub fn fail(&self, key: &str) -> Duration {
        let n = match self.failures.lock() {
            Ok(mut m) => {
                let n = m.entry(key.to_string()).or_insert(0);
                *n = n.saturating_add(1);
                *n
            }
            Err(_) => 1,
        };
        delay(self.base, self.max, n)
    }

    /// Forget the failures of `key`.
    pub fn reset(&self, key: &str) {
        if let Ok(mut m) = self.failures.lock() {
            m.remove(key);
        }
    }
}

/// `base * 2^(n - 1)`, at most `max` (pure).
pub fn delay(base: Duration, max: Duration, n: u32) -> Duration {
    let factor = 1u32.checked_shl(n.saturating_sub(1).min(20)).unwrap_or(u32::MAX);
    base.saturating_mul(factor).min(max)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn api(code: u16) -> kube::Error {
        kube::Error::Api(Box::new(kube::core::Status::failure("x", "y").with_code(code)))
    }

    #[test]
    fn kube_errors_fall_into_categories_by_status_code() {
        assert_eq!(Category::of_kube(&api(403)), Category::Denied);
        assert_eq!(Category::of_kube(&api(422)), Category::Internal);
        assert_eq!(Category::of_kube(&api(409)), Category::Transient);
        assert_eq!(Category::of_kube(&api(500)), Category::Transient);
        assert_eq!(Category::of_kube(&api(429)), Category::Transient);
        let e = Error::from(kube::runtime::finalizer::Error::ApplyFailed(Error::invalid(
            "X", "y",
        )));
        assert_eq!(
            e.category(),
            Category::InvalidSpec,
            "the step's category survives the finalizer"
        );
        assert!(!e.transient());
        let e = Error::from(kube::runtime::finalizer::Error::ApplyFailed(Error::Kube(api(
            503,
        ))));
        assert!(e.transient());
    }

    #[test]
    fn back_off_doubles_up_to_the_maximum_and_resets() {
        let s = Duration::from_secs;
        assert_eq!(delay(s(5), s(300), 1), s(5));
        assert_eq!(delay(s(5), s(300), 2), s(10));
        assert_eq!(delay(s(5), s(300), 4), s(40));
        assert_eq!(delay(s(5), s(300), 10), s(300));
        assert_eq!(delay(s(5), s(300), u32::MAX), s(300));
        let b = Backoff::new(s(5), s(300));
        assert_eq!(b.fail("a"), s(5));
        assert_eq!(b.fail("a"), s(10));
        assert_eq!(b.fail("b"), s(5));
        b.reset("a");
        assert_eq!(b.fail("a"), s(5));
    }
}
