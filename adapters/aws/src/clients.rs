//! SDK configuration (credentials, retries, timeouts, endpoint) and per-service clients, each with
//! its own evidence [`Recorder`].

use std::sync::{Arc, Mutex, PoisonError};

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_smithy_types::endpoint::Endpoint;

use crate::capture::Recorder;
use crate::error::AwsError;
use crate::AwsScanConfig;

/// Builds the clients of one collection and keeps every recorder they use.
#[derive(Debug, Clone)]
pub(crate) struct Clients {
    sdk: SdkConfig,
    endpoint_url: Option<String>,
    recorders: Arc<Mutex<Vec<Recorder>>>,
}

/// The base SDK configuration: region, retries, timeouts, endpoint and credentials (assuming
/// `role_arn` when set). `assume_role_note` receives `sts:AssumeRole` when a role was assumed.
pub(crate) async fn load(
    cfg: &AwsScanConfig,
    credentials: Option<SharedCredentialsProvider>,
    note: &Recorder,
) -> Result<Clients, AwsError> {
    let home = cfg.regions.first().cloned().unwrap_or_default();
    let attempts = cfg.max_attempts.max(1);
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(cfg.timeout)
        .operation_attempt_timeout(cfg.timeout)
        .operation_timeout(cfg.timeout.saturating_mul(attempts))
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(home.clone()))
        .retry_config(RetryConfig::standard().with_max_attempts(attempts))
        .timeout_config(timeouts);
    if let Some(url) = &cfg.endpoint_url {
        loader = loader.endpoint_url(url.clone());
    }
    if let Some(c) = credentials {
        loader = loader.credentials_provider(c);
    }
    let mut sdk = loader.load().await;
    if let Some(role) = &cfg.role_arn {
        let mut b = aws_config::sts::AssumeRoleProvider::builder(role.clone())
            .session_name(cfg.session_name.clone().unwrap_or_else(|| "seg-scan".into()))
            .region(Region::new(home.clone()))
            .configure(&sdk);
        if let Some(x) = &cfg.external_id {
            b = b.external_id(x.clone());
        }
        let provider = b.build().await;
        note.note_call("sts:AssumeRole");
        // Assume the role now: a failure here means nothing can be read.
        provider.provide_credentials().await.map_err(|e| AwsError::Auth {
            action: "sts:AssumeRole".into(),
            region: home.clone(),
            message: format!(
                "{role}: {}",
                aws_smithy_types::error::display::DisplayErrorContext(&e)
            ),
        })?;
        sdk = sdk
            .into_builder()
            .credentials_provider(SharedCredentialsProvider::new(provider))
            .build();
    }
    Ok(Clients {
        sdk,
        endpoint_url: cfg.endpoint_url.clone(),
        recorders: Arc::new(Mutex::new(vec![note.clone()])),
    })
}

/// An S3 Control endpoint resolver for a simulator: the fixed URL, without the `<account>.` host
/// prefix the standard rules add.
#[derive(Debug)]
struct FixedS3ControlEndpoint(String);

impl aws_sdk_s3control::config::endpoint::ResolveEndpoint for FixedS3ControlEndpoint {
    fn resolve_endpoint<'a>(
        &'a self,
        _params: &'a aws_sdk_s3control::config::endpoint::Params,
    ) -> aws_sdk_s3control::config::endpoint::EndpointFuture<'a> {
        aws_sdk_s3control::config::endpoint::EndpointFuture::ready(Ok(Endpoint::builder()
            .url(self.0.clone())
            .build()))
    }
}

macro_rules! client_fn {
    ($name:ident, $krate:ident, $service:literal) => {
        pub fn $name(&self, region: &str) -> ($krate::Client, Recorder) {
            let rec = self.recorder($service, region);
            let conf = $krate::config::Builder::from(&self.sdk)
                .region(Region::new(region.to_string()))
                .interceptor(rec.clone())
                .build();
            ($krate::Client::from_conf(conf), rec)
        }
    };
}

impl Clients {
    /// A new recorder for one client, kept for [`Clients::take_recorders`].
    pub fn recorder(&self, service: &'static str, region: &str) -> Recorder {
        let rec = Recorder::new(service, region);
        self.recorders
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(rec.clone());
        rec
    }

    /// Every recorder made so far.
    pub fn take_recorders(&self) -> Vec<Recorder> {
        std::mem::take(&mut *self.recorders.lock().unwrap_or_else(PoisonError::into_inner))
    }

    client_fn!(sts, aws_sdk_sts, "sts");
    client_fn!(iam, aws_sdk_iam, "iam");
    client_fn!(ec2, aws_sdk_ec2, "ec2");
    client_fn!(kms, aws_sdk_kms, "kms");
    client_fn!(rds, aws_sdk_rds, "rds");
    client_fn!(efs, aws_sdk_efs, "elasticfilesystem");
    client_fn!(cloudtrail, aws_sdk_cloudtrail, "cloudtrail");
    client_fn!(config, aws_sdk_config, "config");
    client_fn!(access_analyzer, aws_sdk_accessanalyzer, "access-analyzer");
    client_fn!(securityhub, aws_sdk_securityhub, "securityhub");

    /// S3 (path-style addressing when an endpoint URL is set).
    pub fn s3(&self, region: &str) -> (aws_sdk_s3::Client, Recorder) {
        let rec = self.recorder("s3", region);
        let conf = aws_sdk_s3::config::Builder::from(&self.sdk)
            .region(Region::new(region.to_string()))
            .force_path_style(self.endpoint_url.is_some())
            .interceptor(rec.clone())
            .build();
        (aws_sdk_s3::Client::from_conf(conf), rec)
    }

    /// S3 Control.
    pub fn s3control(&self, region: &str) -> (aws_sdk_s3control::Client, Recorder) {
        let rec = self.recorder("s3control", region);
        let mut b = aws_sdk_s3control::config::Builder::from(&self.sdk)
            .region(Region::new(region.to_string()))
            .interceptor(rec.clone());
        if let Some(url) = &self.endpoint_url {
            b = b.endpoint_resolver(FixedS3ControlEndpoint(url.clone()));
        }
        (aws_sdk_s3control::Client::from_conf(b.build()), rec)
    }
}
