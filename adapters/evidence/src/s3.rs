//! S3: objects at `<prefix>/sha256/<hex>` in one bucket.

use aws_sdk_s3::config::{BehaviorVersion, Region};
use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::backend::ObjectStore;
use crate::error::EvidenceError;
use crate::plan::{normalize_prefix, s3_key};

/// Where and how to reach the evidence bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct S3Options {
    pub bucket: String,
    /// Key prefix (`evidence`, `tenants/a/evidence`, or empty); leading and trailing `/` are
    /// ignored.
    pub prefix: String,
    /// Region; default from the environment (`AWS_REGION`, profile).
    pub region: Option<String>,
    /// Endpoint override (a local S3-compatible server in tests); implies path-style addressing.
    pub endpoint_url: Option<String>,
}

/// Objects in an S3 bucket. Each write is preceded by a HeadObject (by the store) and is a
/// single PutObject with `If-None-Match: *` and the object's SHA-256 checksum, so S3 itself
/// rejects a body damaged in transit and never replaces an existing object.
#[derive(Debug, Clone)]
pub struct S3Backend {
    client: Client,
    bucket: String,
    prefix: String,
}

impl S3Backend {
    /// A backend over an existing client.
    pub fn new(
        client: Client,
        bucket: impl Into<String>,
        prefix: impl AsRef<str>,
    ) -> Result<S3Backend, EvidenceError> {
        let bucket = bucket.into();
        if bucket.is_empty() || bucket.contains('/') {
            return Err(EvidenceError::Config(format!(
                "S3 bucket name must be non-empty and contain no '/': {bucket:?}"
            )));
        }
        Ok(S3Backend {
            client,
            bucket,
            prefix: normalize_prefix(prefix.as_ref()),
        })
    }

    /// A backend with credentials and region from the standard AWS chain (environment, profile,
    /// web identity, instance metadata), overridden by `options`.
    pub async fn from_env(options: &S3Options) -> Result<S3Backend, EvidenceError> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(region) = &options.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(endpoint) = &options.endpoint_url {
            loader = loader.endpoint_url(endpoint.clone());
        }
        let shared = loader.load().await;
        let mut conf = aws_sdk_s3::config::Builder::from(&shared);
        if options.endpoint_url.is_some() {
            conf = conf.force_path_style(true);
        }
        S3Backend::new(
            Client::from_conf(conf.build()),
            options.bucket.clone(),
            &options.prefix,
        )
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The normalized prefix (no leading or trailing `/`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The S3 key of an object.
    pub fn key(&self, key: &str) -> String {
        s3_key(&self.prefix, key)
    }
}

fn status<E, R: HttpStatus>(e: &SdkError<E, R>) -> Option<u16> {
    e.raw_response().map(HttpStatus::status_code)
}

/// The HTTP status of a raw response (kept generic so the error helpers need no HTTP crate).
trait HttpStatus {
    fn status_code(&self) -> u16;
}

impl HttpStatus for aws_sdk_s3::config::http::HttpResponse {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

/// The error of a failed call that is not one of the expected outcomes.
fn backend_error<E, R>(location: String, operation: &str, e: &SdkError<E, R>) -> EvidenceError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug + HttpStatus,
{
    let mut message = format!("{operation}: {}", DisplayErrorContext(e));
    if status(e) == Some(403) {
        message.push_str(
            " (access denied: the role needs s3:GetObject, s3:PutObject and s3:ListBucket on the \
             evidence bucket)",
        );
    }
    match e {
        SdkError::TimeoutError(_) => EvidenceError::Timeout {
            key: location,
            message,
        },
        _ => EvidenceError::Unavailable {
            key: location,
            message,
        },
    }
}

impl ObjectStore for S3Backend {
    async fn head(&self, key: &str) -> Result<bool, EvidenceError> {
        let result = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(self.key(key))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|se| se.is_not_found()) || status(&e) == Some(404) => {
                Ok(false)
            }
            Err(e) => Err(backend_error(self.location(key), "HeadObject", &e)),
        }
    }

    async fn read(&self, key: &str) -> Result<Vec<u8>, EvidenceError> {
        let result = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.key(key))
            .send()
            .await;
        let output = match result {
            Ok(output) => output,
            Err(e)
                if e.as_service_error().is_some_and(|se| se.is_no_such_key()) || status(&e) == Some(404) =>
            {
                return Err(EvidenceError::NotFound {
                    key: self.location(key),
                });
            }
            Err(e) => return Err(backend_error(self.location(key), "GetObject", &e)),
        };
        let body = output
            .body
            .collect()
            .await
            .map_err(|e| EvidenceError::Unavailable {
                key: self.location(key),
                message: format!("GetObject body: {e}"),
            })?;
        Ok(body.into_bytes().to_vec())
    }

    async fn write(&self, key: &str, bytes: &[u8], media_type: &str) -> Result<(), EvidenceError> {
        let checksum = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes));
        let result = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(self.key(key))
            .content_type(media_type)
            .content_length(bytes.len() as i64)
            .checksum_sha256(checksum)
            .if_none_match("*")
            .body(ByteStream::from(bytes.to_vec()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Someone stored the object since the HeadObject: content addressing makes it ours.
            Err(e) if status(&e) == Some(412) => Ok(()),
            Err(e) => Err(backend_error(self.location(key), "PutObject", &e).into_write()),
        }
    }

    fn location(&self, key: &str) -> String {
        format!("s3://{}/{}", self.bucket, self.key(key))
    }
}
