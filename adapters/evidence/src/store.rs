//! The evidence store: content addressing, chunking, idempotent puts, verified gets, dry run.

use serde::{Deserialize, Serialize};

use crate::backend::{Backend, ObjectStore};
use crate::error::EvidenceError;
use crate::local::LocalBackend;
use crate::plan::{check_media_type, parse_hash, plan_put, sha256_hex, BlobRef, Manifest, ObjectKind};

/// What a put did (or, in dry run, would do) with one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteAction {
    Written,
    /// Dry run: the object is missing and would be written.
    WouldWrite,
    /// The object exists already; nothing was written.
    AlreadyPresent,
}

/// One object a put looked at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectReport {
    /// Hex sha256 the object is stored under.
    pub key: String,
    /// Its `file://` or `s3://` location.
    pub location: String,
    pub kind: ObjectKind,
    pub size: u64,
    pub action: WriteAction,
}

/// The outcome of a put.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PutReport {
    pub blob: BlobRef,
    pub dry_run: bool,
    /// The objects looked at, in write order. When the blob existed already this is only the
    /// object under the blob's key.
    pub objects: Vec<ObjectReport>,
}

impl PutReport {
    /// Objects written (or, in dry run, to be written).
    pub fn writes(&self) -> impl Iterator<Item = &ObjectReport> {
        self.objects
            .iter()
            .filter(|o| matches!(o.action, WriteAction::Written | WriteAction::WouldWrite))
    }

    /// Bytes written (or, in dry run, to be written).
    pub fn bytes_written(&self) -> u64 {
        self.writes().map(|o| o.size).sum()
    }
}

/// A content-addressed evidence store over a backend.
#[derive(Debug, Clone)]
pub struct EvidenceStore<B = Backend> {
    backend: B,
    chunk_size: usize,
    dry_run: bool,
}

impl EvidenceStore<Backend> {
    /// A store in a local directory.
    pub fn local(dir: impl AsRef<std::path::Path>) -> Result<EvidenceStore<Backend>, EvidenceError> {
        Ok(EvidenceStore::new(Backend::Local(LocalBackend::new(dir)?)))
    }
}

impl<B: ObjectStore> EvidenceStore<B> {
    /// A store with the default chunk size ([`crate::DEFAULT_CHUNK_SIZE`]), writing.
    pub fn new(backend: B) -> EvidenceStore<B> {
        EvidenceStore {
            backend,
            chunk_size: crate::DEFAULT_CHUNK_SIZE,
            dry_run: false,
        }
    }

    /// Blobs larger than `chunk_size` bytes are chunked. Must be at least 1.
    pub fn with_chunk_size(mut self, chunk_size: usize) -> Result<EvidenceStore<B>, EvidenceError> {
        if chunk_size == 0 {
            return Err(EvidenceError::Config("chunk size must be at least 1 byte".into()));
        }
        self.chunk_size = chunk_size;
        Ok(self)
    }

    /// In dry run a put checks which objects exist, reports what it would write and writes
    /// nothing.
    pub fn with_dry_run(mut self, dry_run: bool) -> EvidenceStore<B> {
        self.dry_run = dry_run;
        self
    }

    pub fn chunk_size(&self) -> usize {
        self.chunk_size
    }

    pub fn is_dry_run(&self) -> bool {
        self.dry_run
    }

    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// Store `content` and return its reference. Idempotent: content that is already stored is
    /// not written again.
    pub async fn put(&self, content: &[u8], media_type: &str) -> Result<BlobRef, EvidenceError> {
        Ok(self.put_with_report(content, media_type).await?.blob)
    }

    /// [`EvidenceStore::put`], reporting each object looked at.
    ///
    /// The existence of the blob's own key is checked first; if it is there nothing else is
    /// done. Otherwise each missing chunk is written, then the manifest (or the single object),
    /// so that the blob's key exists only once everything it refers to does.
    pub async fn put_with_report(
        &self,
        content: &[u8],
        media_type: &str,
    ) -> Result<PutReport, EvidenceError> {
        check_media_type(media_type)?;
        let plan = plan_put(content, media_type, self.chunk_size);
        let mut report = PutReport {
            blob: plan.blob.clone(),
            dry_run: self.dry_run,
            objects: Vec::with_capacity(plan.objects.len()),
        };
        let top = plan.blob.hex().to_owned();
        if self.backend.head(&top).await.map_err(EvidenceError::into_write)? {
            let size = plan.objects.last().map_or(0, |o| o.bytes.len() as u64);
            report.objects.push(ObjectReport {
                location: self.backend.location(&top),
                key: top,
                kind: plan.objects.last().map_or(ObjectKind::Blob, |o| o.kind),
                size,
                action: WriteAction::AlreadyPresent,
            });
            return Ok(report);
        }
        let last = plan.objects.len().saturating_sub(1);
        for (i, object) in plan.objects.iter().enumerate() {
            // The top object was just found missing; the chunks are checked one by one.
            let present = i != last
                && self
                    .backend
                    .head(&object.key)
                    .await
                    .map_err(EvidenceError::into_write)?;
            let action = if present {
                WriteAction::AlreadyPresent
            } else if self.dry_run {
                WriteAction::WouldWrite
            } else {
                self.backend
                    .write(&object.key, &object.bytes, &object.media_type)
                    .await
                    .map_err(EvidenceError::into_write)?;
                WriteAction::Written
            };
            report.objects.push(ObjectReport {
                key: object.key.clone(),
                location: self.backend.location(&object.key),
                kind: object.kind,
                size: object.bytes.len() as u64,
                action,
            });
        }
        Ok(report)
    }

    /// The content of a blob, every chunk and the whole checked against their hashes.
    pub async fn get(&self, hash: &str) -> Result<Vec<u8>, EvidenceError> {
        let key = parse_hash(hash)?;
        let top = self.backend.read(key).await?;
        if sha256_hex(&top) == key {
            return Ok(top);
        }
        let location = self.backend.location(key);
        let manifest = Manifest::decode(&top).map_err(|reason| EvidenceError::Corrupt {
            key: location.clone(),
            detail: format!("content does not hash to its key and is not a valid manifest ({reason})"),
        })?;
        let capacity = usize::try_from(manifest.size).unwrap_or(0).min(1 << 30);
        let mut content = Vec::with_capacity(capacity);
        for (index, chunk) in manifest.chunks.iter().enumerate() {
            let chunk_key = parse_hash(chunk)?;
            let bytes = match self.backend.read(chunk_key).await {
                Ok(bytes) => bytes,
                Err(EvidenceError::NotFound { key: missing }) => {
                    return Err(EvidenceError::Corrupt {
                        key: location,
                        detail: format!("chunk {index} is missing: {missing}"),
                    });
                }
                Err(e) => return Err(e),
            };
            if sha256_hex(&bytes) != chunk_key {
                return Err(EvidenceError::Corrupt {
                    key: self.backend.location(chunk_key),
                    detail: format!("chunk {index} of {hash} does not hash to its key"),
                });
            }
            if bytes.len() as u64 != manifest.chunk_len(index) {
                return Err(EvidenceError::Corrupt {
                    key: self.backend.location(chunk_key),
                    detail: format!(
                        "chunk {index} has {} bytes, the manifest expects {}",
                        bytes.len(),
                        manifest.chunk_len(index)
                    ),
                });
            }
            content.extend_from_slice(&bytes);
        }
        if sha256_hex(&content) != key {
            return Err(EvidenceError::Corrupt {
                key: location,
                detail: "reassembled content does not hash to the blob's key".into(),
            });
        }
        Ok(content)
    }

    /// Whether a blob is stored (its key exists; nothing is verified).
    pub async fn exists(&self, hash: &str) -> Result<bool, EvidenceError> {
        self.backend.head(parse_hash(hash)?).await
    }

    /// The `file://` or `s3://` URI of a blob (of its single object or its manifest).
    pub fn uri(&self, hash: &str) -> Result<String, EvidenceError> {
        Ok(self.backend.location(parse_hash(hash)?))
    }

    /// The engine's evidence pointer for a stored blob, with its URI.
    pub fn pointer(&self, blob: &BlobRef) -> seg_engine::model::EvidencePointer {
        blob.pointer(Some(self.backend.location(blob.hex())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryBackend;
    use crate::plan::content_hash;

    fn store(chunk_size: usize) -> (EvidenceStore<MemoryBackend>, MemoryBackend) {
        let backend = MemoryBackend::new();
        let store = EvidenceStore::new(backend.clone())
            .with_chunk_size(chunk_size)
            .unwrap();
        (store, backend)
    }

    fn content(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 253) as u8).collect()
    }

    #[tokio::test]
    async fn small_blob_round_trip() {
        let (store, backend) = store(8);
        let blob = store.put(b"hello", "text/plain").await.unwrap();
        assert_eq!(blob.hash, content_hash(b"hello"));
        assert_eq!((blob.size, blob.chunks), (5, 1));
        assert_eq!(backend.keys(), vec![blob.hex().to_owned()]);
        assert_eq!(store.get(&blob.hash).await.unwrap(), b"hello");
        assert!(store.exists(&blob.hash).await.unwrap());
        assert_eq!(
            store.uri(&blob.hash).unwrap(),
            format!("memory:sha256/{}", blob.hex())
        );
    }

    #[tokio::test]
    async fn boundaries_round_trip() {
        for (len, chunks, objects) in [(0, 1, 1), (8, 1, 1), (9, 2, 3), (8 * 5 + 3, 6, 7)] {
            let (store, backend) = store(8);
            let data = content(len);
            let report = store
                .put_with_report(&data, "application/octet-stream")
                .await
                .unwrap();
            assert_eq!(report.blob.chunks, chunks, "len {len}");
            assert_eq!(report.blob.size, len as u64);
            assert_eq!(backend.keys().len(), objects, "len {len}");
            assert_eq!(backend.writes(), objects);
            assert_eq!(report.writes().count(), objects);
            assert_eq!(store.get(&report.blob.hash).await.unwrap(), data, "len {len}");
        }
    }

    #[tokio::test]
    async fn default_chunk_size_is_8_mib() {
        let backend = MemoryBackend::new();
        let store = EvidenceStore::new(backend.clone());
        assert_eq!(store.chunk_size(), 8 * 1024 * 1024);
        let exact = vec![7u8; 8 * 1024 * 1024];
        assert_eq!(store.put(&exact, "application/json").await.unwrap().chunks, 1);
        let over = vec![7u8; 8 * 1024 * 1024 + 1];
        let blob = store.put(&over, "application/json").await.unwrap();
        assert_eq!(blob.chunks, 2);
        assert_eq!(store.get(&blob.hash).await.unwrap(), over);
    }

    #[tokio::test]
    async fn second_put_writes_nothing() {
        let (store, backend) = store(4);
        let data = content(10);
        let first = store.put_with_report(&data, "application/json").await.unwrap();
        let writes = backend.writes();
        assert_eq!(writes, 4);
        let second = store.put_with_report(&data, "application/json").await.unwrap();
        assert_eq!(backend.writes(), writes);
        assert_eq!(second.blob, first.blob);
        assert_eq!(second.writes().count(), 0);
        assert_eq!(second.objects.len(), 1);
        assert_eq!(second.objects[0].action, WriteAction::AlreadyPresent);
        assert_eq!(second.objects[0].kind, ObjectKind::Manifest);
    }

    #[tokio::test]
    async fn shared_chunks_are_not_written_again() {
        let (store, backend) = store(4);
        store.put(b"aaaabbbb", "t").await.unwrap();
        assert_eq!(backend.writes(), 3);
        // Shares the chunk "aaaa": only "cc" and the manifest are new.
        let report = store.put_with_report(b"aaaacc", "t").await.unwrap();
        let actions: Vec<WriteAction> = report.objects.iter().map(|o| o.action).collect();
        assert_eq!(
            actions,
            vec![
                WriteAction::AlreadyPresent,
                WriteAction::Written,
                WriteAction::Written
            ]
        );
        assert_eq!(backend.writes(), 5);
    }

    #[tokio::test]
    async fn an_interrupted_chunked_put_is_completed() {
        let (store, backend) = store(4);
        let data = content(9);
        // Only the first chunk made it before a crash; the blob's key is absent.
        backend.overwrite_raw(&crate::plan::sha256_hex(&data[..4]), data[..4].to_vec());
        let hash = content_hash(&data);
        assert!(!store.exists(&hash).await.unwrap());
        let report = store.put_with_report(&data, "t").await.unwrap();
        assert_eq!(report.writes().count(), 3);
        assert_eq!(store.get(&hash).await.unwrap(), data);
    }

    #[tokio::test]
    async fn dry_run_reports_and_writes_nothing() {
        let (store, backend) = store(4);
        let dry = store.clone().with_dry_run(true);
        assert!(dry.is_dry_run());
        let data = content(9);
        let report = dry.put_with_report(&data, "application/json").await.unwrap();
        assert!(report.dry_run);
        assert_eq!(backend.writes(), 0);
        assert!(backend.keys().is_empty());
        let planned: Vec<(ObjectKind, u64, WriteAction)> = report
            .objects
            .iter()
            .map(|o| (o.kind, o.size, o.action))
            .collect();
        assert_eq!(
            planned[0],
            (ObjectKind::Chunk { index: 0 }, 4, WriteAction::WouldWrite)
        );
        assert_eq!(
            planned[1],
            (ObjectKind::Chunk { index: 1 }, 4, WriteAction::WouldWrite)
        );
        assert_eq!(
            planned[2],
            (ObjectKind::Chunk { index: 2 }, 1, WriteAction::WouldWrite)
        );
        assert_eq!(planned[3].0, ObjectKind::Manifest);
        assert_eq!(report.objects[3].key, report.blob.hex());
        // Same ref as a real put; afterwards, the dry run sees everything present.
        let real = store.put(&data, "application/json").await.unwrap();
        assert_eq!(real, report.blob);
        assert_eq!(backend.writes(), 4);
        let again = dry.put_with_report(&data, "application/json").await.unwrap();
        assert_eq!(again.writes().count(), 0);
        assert_eq!(backend.writes(), 4);
    }

    #[tokio::test]
    async fn same_content_same_keys_and_bytes() {
        let data = content(21);
        let (a, backend_a) = store(4);
        let (b, backend_b) = store(4);
        a.put(&data, "application/json").await.unwrap();
        b.put(&data, "application/json").await.unwrap();
        assert_eq!(backend_a.keys(), backend_b.keys());
        for key in backend_a.keys() {
            assert_eq!(backend_a.raw(&key), backend_b.raw(&key));
        }
    }

    #[tokio::test]
    async fn corrupt_chunk_is_named() {
        let (store, backend) = store(4);
        let data = content(10);
        let blob = store.put(&data, "t").await.unwrap();
        let chunk = crate::plan::sha256_hex(&data[4..8]);
        backend.overwrite_raw(&chunk, b"XXXX".to_vec());
        let err = store.get(&blob.hash).await.unwrap_err();
        assert_eq!(err.code(), "SEG_SCHEMA_VIOLATION");
        match &err {
            EvidenceError::Corrupt { key, detail } => {
                assert_eq!(key, &format!("memory:sha256/{chunk}"));
                assert!(detail.contains("chunk 1"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().contains(&chunk));
    }

    #[tokio::test]
    async fn corrupt_small_blob_and_manifest_are_named() {
        let (store, backend) = store(4);
        let small = store.put(b"abc", "t").await.unwrap();
        backend.overwrite_raw(small.hex(), b"abd".to_vec());
        let err = store.get(&small.hash).await.unwrap_err();
        assert!(
            matches!(&err, EvidenceError::Corrupt { key, .. } if key.contains(small.hex())),
            "{err}"
        );

        let big = store.put(b"0123456789", "t").await.unwrap();
        let mut manifest = backend.raw(big.hex()).unwrap();
        manifest.retain(|b| *b != b'"');
        backend.overwrite_raw(big.hex(), manifest);
        let err = store.get(&big.hash).await.unwrap_err();
        assert!(
            matches!(&err, EvidenceError::Corrupt { key, .. } if key.contains(big.hex())),
            "{err}"
        );
    }

    #[tokio::test]
    async fn manifest_pointing_at_other_chunks_is_corrupt() {
        let (store, backend) = store(4);
        let a = store.put(b"aaaabbbb", "t").await.unwrap();
        let b = store.put(b"ccccdddd", "t").await.unwrap();
        // b's manifest stored under a's key: every chunk verifies, the whole does not.
        backend.overwrite_raw(a.hex(), backend.raw(b.hex()).unwrap());
        let err = store.get(&a.hash).await.unwrap_err();
        assert!(
            matches!(&err, EvidenceError::Corrupt { key, detail }
            if key.contains(a.hex()) && detail.contains("reassembled")),
            "{err}"
        );
    }

    #[tokio::test]
    async fn missing_chunk_is_corrupt_and_missing_blob_not_found() {
        let (store, backend) = store(4);
        let blob = store.put(b"0123456789", "t").await.unwrap();
        let chunk = crate::plan::sha256_hex(b"89");
        let kept = MemoryBackend::new();
        for key in backend.keys() {
            if key != chunk {
                kept.overwrite_raw(&key, backend.raw(&key).unwrap());
            }
        }
        let partial = EvidenceStore::new(kept).with_chunk_size(4).unwrap();
        let err = partial.get(&blob.hash).await.unwrap_err();
        assert!(
            matches!(&err, EvidenceError::Corrupt { detail, .. } if detail.contains("chunk 2 is missing"))
        );

        let err = store.get(&content_hash(b"never stored")).await.unwrap_err();
        assert_eq!(err.code(), "SEG_NOT_FOUND");
        assert!(!store.exists(&content_hash(b"never stored")).await.unwrap());
        assert_eq!(
            store.get("sha256:nope").await.unwrap_err().code(),
            "SEG_SCHEMA_VIOLATION"
        );
    }

    #[tokio::test]
    async fn bad_inputs_are_rejected() {
        assert_eq!(
            EvidenceStore::new(MemoryBackend::new())
                .with_chunk_size(0)
                .unwrap_err()
                .code(),
            "SEG_SCHEMA_VIOLATION"
        );
        let (store, backend) = store(4);
        assert_eq!(store.put(b"x", "").await.unwrap_err().category(), "invalid_input");
        assert_eq!(backend.writes(), 0);
    }

    #[tokio::test]
    async fn pointer_carries_hash_uri_and_media_type() {
        let (store, _) = store(4);
        let blob = store.put(b"{}", "application/json").await.unwrap();
        let p = store.pointer(&blob);
        assert_eq!(p.hash, blob.hash);
        assert_eq!(p.media_type, "application/json");
        assert_eq!(p.uri, Some(store.uri(&blob.hash).unwrap()));
    }
}
