//! An in-memory backend for tests, counting its writes.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::backend::ObjectStore;
use crate::error::EvidenceError;

/// Objects in a map shared by clones; [`MemoryBackend::writes`] counts every write call.
#[derive(Debug, Clone, Default)]
pub struct MemoryBackend {
    objects: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
    writes: Arc<AtomicUsize>,
}

impl MemoryBackend {
    pub fn new() -> MemoryBackend {
        MemoryBackend::default()
    }

    fn map(&self) -> MutexGuard<'_, BTreeMap<String, Vec<u8>>> {
        self.objects
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Number of write calls so far.
    pub fn writes(&self) -> usize {
        self.writes.load(Ordering::SeqCst)
    }

    /// Keys of the stored objects, sorted.
    pub fn keys(&self) -> Vec<String> {
        self.map().keys().cloned().collect()
    }

    /// The raw bytes under `key`.
    pub fn raw(&self, key: &str) -> Option<Vec<u8>> {
        self.map().get(key).cloned()
    }

    /// Replace the bytes under `key` without any check (to simulate corruption). Not counted.
    pub fn overwrite_raw(&self, key: &str, bytes: Vec<u8>) {
        self.map().insert(key.to_owned(), bytes);
    }
}

impl ObjectStore for MemoryBackend {
    async fn head(&self, key: &str) -> Result<bool, EvidenceError> {
        Ok(self.map().contains_key(key))
    }

    async fn read(&self, key: &str) -> Result<Vec<u8>, EvidenceError> {
        self.map()
            .get(key)
            .cloned()
            .ok_or_else(|| EvidenceError::NotFound {
                key: self.location(key),
            })
    }

    async fn write(&self, key: &str, bytes: &[u8], _media_type: &str) -> Result<(), EvidenceError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.map().insert(key.to_owned(), bytes.to_vec());
        Ok(())
    }

    fn location(&self, key: &str) -> String {
        format!("memory:sha256/{key}")
    }
}
