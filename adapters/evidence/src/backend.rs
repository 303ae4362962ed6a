//! Object backends: where the store's objects live. Keys are hex sha256 digests.

use std::future::Future;

use crate::error::EvidenceError;
use crate::local::LocalBackend;
use crate::memory::MemoryBackend;
use crate::s3::S3Backend;

/// A flat key-value store of immutable objects, keyed by hex sha256.
///
/// Backends move bytes only: hashing, chunking and verification are the store's
/// ([`crate::EvidenceStore`]). Errors name the object by [`ObjectStore::location`].
pub trait ObjectStore: Send + Sync {
    /// Whether an object exists under `key`.
    fn head(&self, key: &str) -> impl Future<Output = Result<bool, EvidenceError>> + Send;

    /// The bytes of the object under `key`; [`EvidenceError::NotFound`] when there is none.
    fn read(&self, key: &str) -> impl Future<Output = Result<Vec<u8>, EvidenceError>> + Send;

    /// Store `bytes` under `key`, atomically: the object is either absent or complete.
    /// Writing an existing key again with the same bytes is harmless.
    fn write(
        &self,
        key: &str,
        bytes: &[u8],
        media_type: &str,
    ) -> impl Future<Output = Result<(), EvidenceError>> + Send;

    /// Where the object under `key` lives: a `file://` or `s3://` URI (`memory:` for tests).
    fn location(&self, key: &str) -> String;
}

/// One of the backends, chosen at run time.
#[derive(Debug, Clone)]
pub enum Backend {
    Local(LocalBackend),
    S3(S3Backend),
    Memory(MemoryBackend),
}

impl From<LocalBackend> for Backend {
    fn from(b: LocalBackend) -> Self {
        Backend::Local(b)
    }
}

impl From<S3Backend> for Backend {
    fn from(b: S3Backend) -> Self {
        Backend::S3(b)
    }
}

impl From<MemoryBackend> for Backend {
    fn from(b: MemoryBackend) -> Self {
        Backend::Memory(b)
    }
}

impl ObjectStore for Backend {
    async fn head(&self, key: &str) -> Result<bool, EvidenceError> {
        match self {
            Backend::Local(b) => b.head(key).await,
            Backend::S3(b) => b.head(key).await,
            Backend::Memory(b) => b.head(key).await,
        }
    }

    async fn read(&self, key: &str) -> Result<Vec<u8>, EvidenceError> {
        match self {
            Backend::Local(b) => b.read(key).await,
            Backend::S3(b) => b.read(key).await,
            Backend::Memory(b) => b.read(key).await,
        }
    }

    async fn write(&self, key: &str, bytes: &[u8], media_type: &str) -> Result<(), EvidenceError> {
        match self {
            Backend::Local(b) => b.write(key, bytes, media_type).await,
            Backend::S3(b) => b.write(key, bytes, media_type).await,
            Backend::Memory(b) => b.write(key, bytes, media_type).await,
        }
    }

    fn location(&self, key: &str) -> String {
        match self {
            Backend::Local(b) => b.location(key),
            Backend::S3(b) => b.location(key),
            Backend::Memory(b) => b.location(key),
        }
    }
}
