//! Content-addressed evidence store for the raw API responses behind findings.
//!
//! A blob is stored under `sha256:<hex>` of its content, in a local directory or an S3 bucket.
//! Content larger than the chunk size (8 MiB by default) is split into chunks, each stored under
//! its own sha256, plus a small manifest (canonical JSON: media type, total size, chunk size and
//! the ordered chunk hashes) under the whole content's hash. Puts are idempotent (the existence
//! of each object is checked before it is written), gets verify every chunk and the whole
//! content, and a dry-run store reports what it would write and writes nothing.
//!
//! ```no_run
//! # async fn demo() -> Result<(), seg_adapter_evidence::EvidenceError> {
//! use seg_adapter_evidence::EvidenceStore;
//!
//! let store = EvidenceStore::local("/var/lib/seg/evidence")?;
//! let blob = store.put(br#"{"Buckets":[]}"#, "application/json").await?;
//! assert_eq!(store.get(&blob.hash).await?, br#"{"Buckets":[]}"#);
//! let pointer = store.pointer(&blob); // engine EvidencePointer with a file:// URI
//! # let _ = pointer;
//! # Ok(())
//! # }
//! ```

mod backend;
mod error;
mod local;
mod memory;
pub mod plan;
mod s3;
mod store;

pub use backend::{Backend, ObjectStore};
pub use error::EvidenceError;
pub use local::{LocalBackend, TEMP_PREFIX};
pub use memory::MemoryBackend;
pub use plan::{
    chunk_ranges, content_hash, parse_hash, plan_put, BlobRef, Manifest, ObjectKind, PlannedObject, PutPlan,
    DEFAULT_CHUNK_SIZE,
};
pub use s3::{S3Backend, S3Options};
pub use store::{EvidenceStore, ObjectReport, PutReport, WriteAction};
