//! A local directory: objects under `<dir>/sha256/<first 2 hex>/<hex>`.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::backend::ObjectStore;
use crate::error::EvidenceError;
use crate::plan::{file_uri, local_relative_path};

/// Prefix of the temporary files a write goes through (in the object's own directory, so that
/// the final rename stays on one file system). Such a file left by a crash is never read.
pub const TEMP_PREFIX: &str = ".tmp-";

/// Objects in a local directory, each written to a temporary file, flushed to disk, then
/// renamed to its final name: a crash never leaves a partial object under its final name.
#[derive(Debug, Clone)]
pub struct LocalBackend {
    root: PathBuf,
}

impl LocalBackend {
    /// A store rooted at `dir` (made absolute; created on the first write).
    pub fn new(dir: impl AsRef<Path>) -> Result<LocalBackend, EvidenceError> {
        let dir = dir.as_ref();
        if dir.as_os_str().is_empty() {
            return Err(EvidenceError::Config("evidence directory is empty".into()));
        }
        let root = std::path::absolute(dir)
            .map_err(|e| EvidenceError::Config(format!("evidence directory {}: {e}", dir.display())))?;
        Ok(LocalBackend { root })
    }

    /// The store's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the object under `key` is (or would be).
    pub fn object_path(&self, key: &str) -> PathBuf {
        self.root.join(local_relative_path(key))
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("object path has no parent directory"))?;
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new().prefix(TEMP_PREFIX).tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    // Make the rename durable too; not every platform can open a directory for this.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

impl ObjectStore for LocalBackend {
    async fn head(&self, key: &str) -> Result<bool, EvidenceError> {
        let path = self.object_path(key);
        match tokio::fs::metadata(&path).await {
            Ok(meta) => Ok(meta.is_file()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(EvidenceError::Unavailable {
                key: self.location(key),
                message: e.to_string(),
            }),
        }
    }

    async fn read(&self, key: &str) -> Result<Vec<u8>, EvidenceError> {
        let path = self.object_path(key);
        match tokio::fs::read(&path).await {
            Ok(bytes) => Ok(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(EvidenceError::NotFound {
                key: self.location(key),
            }),
            Err(e) => Err(EvidenceError::Unavailable {
                key: self.location(key),
                message: e.to_string(),
            }),
        }
    }

    async fn write(&self, key: &str, bytes: &[u8], _media_type: &str) -> Result<(), EvidenceError> {
        let path = self.object_path(key);
        let bytes = bytes.to_vec();
        let write_err = |message: String| EvidenceError::Write {
            key: self.location(key),
            message,
        };
        tokio::task::spawn_blocking(move || write_atomically(&path, &bytes))
            .await
            .map_err(|e| write_err(format!("write task failed: {e}")))?
            .map_err(|e| write_err(e.to_string()))
    }

    fn location(&self, key: &str) -> String {
        file_uri(&self.object_path(key))
    }
}
