//! The adapter's error type and the classification of SDK errors into SEG-001 §14 codes.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Why an AWS call (or the whole collection) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AwsError {
    /// The scan configuration is unusable (no region, zero attempts, ...).
    #[error("invalid AWS scan configuration: {0}")]
    Config(String),
    /// The call did not complete within the configured time (attempt or operation timeout).
    #[error("{action} in {region} timed out: {message}")]
    Timeout {
        action: String,
        region: String,
        message: String,
    },
    /// Connection refused, DNS failure, a 5xx answer, throttling after all retries, or an
    /// operation the endpoint does not implement.
    #[error("{action} in {region} unavailable: {message}")]
    Unavailable {
        action: String,
        region: String,
        message: String,
    },
    /// Access denied, or credentials the service rejects.
    #[error("{action} in {region} denied: {message}")]
    Auth {
        action: String,
        region: String,
        message: String,
    },
    /// The service answered with something the adapter cannot use (malformed credential report,
    /// a configuration item whose `configuration` is not JSON, ...).
    #[error("{action} in {region} returned an unusable response: {message}")]
    Response {
        action: String,
        region: String,
        message: String,
    },
}

impl AwsError {
    /// The SEG-001 §14 code.
    pub fn code(&self) -> &'static str {
        match self {
            AwsError::Config(_) => "SEG_ADAPTER_CONFIG",
            AwsError::Timeout { .. } => "SEG_ADAPTER_TIMEOUT",
            AwsError::Unavailable { .. } => "SEG_ADAPTER_UNAVAILABLE",
            AwsError::Auth { .. } => "SEG_ADAPTER_AUTH",
            AwsError::Response { .. } => "SEG_SCHEMA_VIOLATION",
        }
    }

    /// A short category for metrics and Kubernetes events.
    pub fn category(&self) -> &'static str {
        match self {
            AwsError::Config(_) => "config",
            AwsError::Timeout { .. } => "timeout",
            AwsError::Unavailable { .. } => "unavailable",
            AwsError::Auth { .. } => "auth",
            AwsError::Response { .. } => "schema",
        }
    }

    /// Whether trying again later may succeed.
    pub fn retryable(&self) -> bool {
        matches!(self, AwsError::Timeout { .. } | AwsError::Unavailable { .. })
    }

    /// The IAM action of the failed call (`""` for configuration errors).
    pub fn action(&self) -> &str {
        match self {
            AwsError::Config(_) => "",
            AwsError::Timeout { action, .. }
            | AwsError::Unavailable { action, .. }
            | AwsError::Auth { action, .. }
            | AwsError::Response { action, .. } => action,
        }
    }

    /// The region of the failed call.
    pub fn region(&self) -> &str {
        match self {
            AwsError::Config(_) => "",
            AwsError::Timeout { region, .. }
            | AwsError::Unavailable { region, .. }
            | AwsError::Auth { region, .. }
            | AwsError::Response { region, .. } => region,
        }
    }

    /// The message without the action and region.
    pub fn message(&self) -> &str {
        match self {
            AwsError::Config(m) => m,
            AwsError::Timeout { message, .. }
            | AwsError::Unavailable { message, .. }
            | AwsError::Auth { message, .. }
            | AwsError::Response { message, .. } => message,
        }
    }

    pub(crate) fn response(action: &str, region: &str, message: impl Into<String>) -> Self {
        AwsError::Response {
            action: action.to_string(),
            region: region.to_string(),
            message: message.into(),
        }
    }
}

/// Error codes of services that mean "not allowed" or "not authenticated".
const AUTH_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnauthorizedAccess",
    "AuthFailure",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "ExpiredToken",
    "ExpiredTokenException",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "MissingAuthenticationToken",
    "InvalidAccessKeyId",
    "AllAccessDisabled",
];

/// The error code of a service error, if the call reached the service and got one.
pub(crate) fn service_code<E: ProvideErrorMetadata>(err: &SdkError<E, Response>) -> Option<&str> {
    match err {
        SdkError::ServiceError(s) => s.err().code(),
        _ => None,
    }
}

/// Messages are kept short: an error's context can carry a whole response.
fn truncate(mut s: String) -> String {
    const MAX: usize = 600;
    if s.len() > MAX {
        let mut cut = MAX;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("...");
    }
    s
}

/// Classifies a failed SDK call.
pub(crate) fn classify<E>(action: &str, region: &str, err: &SdkError<E, Response>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let message = truncate(DisplayErrorContext(err).to_string());
    let (action, region) = (action.to_string(), region.to_string());
    match err {
        SdkError::TimeoutError(_) => AwsError::Timeout {
            action,
            region,
            message,
        },
        SdkError::DispatchFailure(d) if d.is_timeout() => AwsError::Timeout {
            action,
            region,
            message,
        },
        SdkError::ConstructionFailure(_) => AwsError::Config(format!("{action}: {message}")),
        SdkError::ServiceError(s) => {
            let status = s.raw().status().as_u16();
            let code = s.err().code().unwrap_or("");
            let message = match s.err().message() {
                Some(m) if !code.is_empty() => format!("{code}: {m} (HTTP {status})"),
                _ if !code.is_empty() => format!("{code} (HTTP {status})"),
                // No error code: an answer that is not the protocol's (HTML, another root
                // element); the error chain without the raw response.
                _ => format!("HTTP {status}: {}", DisplayErrorContext(s.err())),
            };
            if AUTH_CODES.contains(&code) || status == 401 || status == 403 {
                AwsError::Auth {
                    action,
                    region,
                    message: truncate(message),
                }
            } else {
                AwsError::Unavailable {
                    action,
                    region,
                    message: truncate(message),
                }
            }
        }
        // Connection refused, DNS, TLS, a response that is not the protocol's (e.g. an endpoint
        // that does not implement the service).
        _ => AwsError::Unavailable {
            action,
            region,
            message,
        },
    }
}
