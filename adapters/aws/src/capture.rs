//! The SDK interceptor that records every call: the IAM action name of each operation and the raw
//! HTTP response body of each attempt (the evidence the operator stores content-addressed).
//!
//! Every service client gets its own [`Recorder`] (one per service and region), and the calls
//! made through one client are sequential, so "the responses recorded since this mark" are
//! exactly the responses of the calls in between.

use std::sync::{Arc, Mutex, PoisonError};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    AfterDeserializationInterceptorContextRef, BeforeSerializationInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use sha2::{Digest, Sha256};

/// One recorded response body.
#[derive(Debug, Clone)]
pub(crate) struct Captured {
    pub operation: String,
    pub status: u16,
    pub sha256: String,
    pub body: Vec<u8>,
}

#[derive(Debug, Default)]
struct Log {
    calls: Vec<String>,
    responses: Vec<Captured>,
}

/// Records the calls and response bodies of one service client.
#[derive(Debug, Clone)]
pub(crate) struct Recorder {
    /// The IAM service prefix (`iam`, `s3`, `ec2`, ...).
    pub service: &'static str,
    pub region: String,
    log: Arc<Mutex<Log>>,
}

impl Recorder {
    pub fn new(service: &'static str, region: &str) -> Self {
        Recorder {
            service,
            region: region.to_string(),
            log: Arc::new(Mutex::new(Log::default())),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Log) -> R) -> R {
        let mut guard = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut guard)
    }

    /// The number of responses recorded so far.
    pub fn mark(&self) -> usize {
        self.with(|l| l.responses.len())
    }

    /// The sha256 (hex) of every response recorded since `mark`, in order.
    pub fn since(&self, mark: usize) -> Vec<String> {
        self.with(|l| l.responses.iter().skip(mark).map(|c| c.sha256.clone()).collect())
    }

    /// Records a call made outside an SDK client of this recorder (e.g. AssumeRole).
    pub fn note_call(&self, action: &str) {
        self.with(|l| l.calls.push(action.to_string()));
    }

    /// Everything recorded: (IAM action names of the calls, responses).
    pub fn take(&self) -> (Vec<String>, Vec<Captured>) {
        self.with(|l| (std::mem::take(&mut l.calls), std::mem::take(&mut l.responses)))
    }
}

fn operation_name(cfg: &ConfigBag) -> String {
    cfg.load::<Metadata>()
        .map(|m| m.name().to_string())
        .unwrap_or_else(|| "Unknown".to_string())
}

/// The IAM action that authorizes an operation: the operation name, except where IAM names the
/// permission differently.
pub(crate) fn iam_action(service: &str, operation: &str) -> String {
    let action = match (service, operation) {
        ("s3", "ListBuckets") => "ListAllMyBuckets",
        ("s3", "GetPublicAccessBlock") => "GetBucketPublicAccessBlock",
        ("s3", "GetBucketEncryption") => "GetEncryptionConfiguration",
        ("s3control", "GetPublicAccessBlock") => return "s3:GetAccountPublicAccessBlock".into(),
        (_, op) => op,
    };
    let prefix = match service {
        "s3control" => "s3",
        other => other,
    };
    format!("{prefix}:{action}")
}

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "SegEvidenceRecorder"
    }

    // Not `read_before_execution`: client interceptors run it before the operation's
    // configuration (and its `Metadata`) is in the bag.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let action = iam_action(self.service, &operation_name(cfg));
        self.with(|l| l.calls.push(action));
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response();
        let body = response.body().bytes().unwrap_or_default().to_vec();
        let captured = Captured {
            operation: operation_name(cfg),
            status: response.status().as_u16(),
            sha256: hex::encode(Sha256::digest(&body)),
            body,
        };
        self.with(|l| l.responses.push(captured));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iam_actions_follow_the_service_authorization_names() {
        assert_eq!(iam_action("iam", "GetAccountSummary"), "iam:GetAccountSummary");
        assert_eq!(iam_action("s3", "ListBuckets"), "s3:ListAllMyBuckets");
        assert_eq!(
            iam_action("s3", "GetBucketEncryption"),
            "s3:GetEncryptionConfiguration"
        );
        assert_eq!(
            iam_action("s3control", "GetPublicAccessBlock"),
            "s3:GetAccountPublicAccessBlock"
        );
        assert_eq!(
            iam_action("s3", "GetPublicAccessBlock"),
            "s3:GetBucketPublicAccessBlock"
        );
    }
}
