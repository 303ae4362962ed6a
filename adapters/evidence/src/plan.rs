//! The pure parts of the store: hashes, chunk planning, the manifest and the key layout. No I/O.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::ops::Range;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::EvidenceError;

/// Default chunk size: 8 MiB.
pub const DEFAULT_CHUNK_SIZE: usize = 8 * 1024 * 1024;

/// `schema` field of every manifest.
pub const MANIFEST_SCHEMA: &str = "seg.evidence.manifest/v1";

/// Media type of a manifest object (for backends that record one).
pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.seg.evidence.manifest.v1+json";

/// Media type of a chunk object (for backends that record one).
pub const CHUNK_MEDIA_TYPE: &str = "application/octet-stream";

/// Prefix of a content hash.
pub const HASH_PREFIX: &str = "sha256:";

/// A stored (or, in dry run, planned) blob.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BlobRef {
    /// `sha256:<hex>` of the whole content.
    pub hash: String,
    /// Size of the whole content in bytes.
    pub size: u64,
    pub media_type: String,
    /// Number of data objects: 1 for a blob stored as one object (including the empty blob),
    /// else the number of chunks its manifest lists.
    pub chunks: usize,
}

impl BlobRef {
    /// The 64 hex digits of [`BlobRef::hash`].
    pub fn hex(&self) -> &str {
        self.hash.strip_prefix(HASH_PREFIX).unwrap_or(&self.hash)
    }

    /// Whether the blob is stored as chunks plus a manifest.
    pub fn is_chunked(&self) -> bool {
        self.chunks > 1
    }

    /// The engine's evidence pointer for this blob.
    pub fn pointer(&self, uri: Option<String>) -> seg_engine::model::EvidencePointer {
        seg_engine::model::EvidencePointer {
            hash: self.hash.clone(),
            uri,
            media_type: self.media_type.clone(),
        }
    }
}

/// What an object of a blob is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    /// The whole content, for a blob up to the chunk size.
    Blob,
    /// One chunk of a larger blob (index of its first occurrence).
    Chunk { index: usize },
    /// The manifest of a chunked blob, stored under the whole content's hash.
    Manifest,
}

/// One object a put stores, in write order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedObject<'a> {
    /// Hex sha256 the object is stored under.
    pub key: String,
    pub kind: ObjectKind,
    /// Media type recorded with the object where the backend supports it.
    pub media_type: String,
    pub bytes: Cow<'a, [u8]>,
}

/// Everything a put of one blob stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutPlan<'a> {
    pub blob: BlobRef,
    /// Chunks in order (each distinct chunk once), then the manifest; or the one blob object.
    /// The object under the blob's own key always comes last, so that it exists only once
    /// everything it refers to does.
    pub objects: Vec<PlannedObject<'a>>,
}

/// The manifest of a chunked blob. Its encoding is canonical JSON (sorted keys, no whitespace),
/// so the same content and chunk size always give the same manifest bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`MANIFEST_SCHEMA`].
    pub schema: String,
    pub media_type: String,
    /// Size of the whole content in bytes.
    pub size: u64,
    /// Size of every chunk but the last (which has 1 to `chunk_size` bytes).
    pub chunk_size: u64,
    /// `sha256:<hex>` of each chunk, in content order (a repeated chunk is listed each time).
    pub chunks: Vec<String>,
}

impl Manifest {
    pub fn new(media_type: &str, size: u64, chunk_size: u64, chunks: Vec<String>) -> Manifest {
        Manifest {
            schema: MANIFEST_SCHEMA.to_owned(),
            media_type: media_type.to_owned(),
            size,
            chunk_size,
            chunks,
        }
    }

    /// Canonical JSON bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut chunks = String::from("[");
        for (i, c) in self.chunks.iter().enumerate() {
            if i > 0 {
                chunks.push(',');
            }
            chunks.push_str(&json_string(c));
        }
        chunks.push(']');
        // Keys in sorted order: chunk_size, chunks, media_type, schema, size.
        format!(
            "{{\"chunk_size\":{},\"chunks\":{},\"media_type\":{},\"schema\":{},\"size\":{}}}",
            self.chunk_size,
            chunks,
            json_string(&self.media_type),
            json_string(&self.schema),
            self.size
        )
        .into_bytes()
    }

    /// Parse and check a manifest: known schema, canonical encoding, well-formed chunk hashes,
    /// and a chunk count that matches the size and chunk size. The error is a reason.
    pub fn decode(bytes: &[u8]) -> Result<Manifest, String> {
        let m: Manifest = serde_json::from_slice(bytes).map_err(|e| format!("not a manifest: {e}"))?;
        if m.schema != MANIFEST_SCHEMA {
            return Err(format!("unknown manifest schema {:?}", m.schema));
        }
        if m.encode() != bytes {
            return Err("manifest is not in canonical form".into());
        }
        if m.chunk_size == 0 {
            return Err("manifest chunk_size is 0".into());
        }
        for c in &m.chunks {
            parse_hash(c).map_err(|e| format!("manifest chunk: {e}"))?;
        }
        let expected = m.size.div_ceil(m.chunk_size);
        if m.chunks.len() < 2 || m.chunks.len() as u64 != expected {
            return Err(format!(
                "manifest lists {} chunks, but {} bytes in chunks of {} make {}",
                m.chunks.len(),
                m.size,
                m.chunk_size,
                expected
            ));
        }
        Ok(m)
    }

    /// Expected length of chunk `index`.
    pub fn chunk_len(&self, index: usize) -> u64 {
        let start = self.chunk_size.saturating_mul(index as u64);
        self.size.saturating_sub(start).min(self.chunk_size)
    }
}

fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// Hex sha256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// `sha256:<hex>` of bytes.
pub fn content_hash(bytes: &[u8]) -> String {
    format!("{HASH_PREFIX}{}", sha256_hex(bytes))
}

/// Check a content hash (`sha256:<64 lowercase hex>`; bare hex is accepted too) and return its
/// hex digits.
pub fn parse_hash(hash: &str) -> Result<&str, EvidenceError> {
    let hex = hash.strip_prefix(HASH_PREFIX).unwrap_or(hash);
    if hex.len() == 64
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(hex)
    } else {
        Err(EvidenceError::Invalid(format!(
            "not a content hash (sha256:<64 lowercase hex digits>): {hash:?}"
        )))
    }
}

/// Check a media type: not empty, at most 255 characters, no control characters.
pub fn check_media_type(media_type: &str) -> Result<(), EvidenceError> {
    if media_type.is_empty() || media_type.len() > 255 || media_type.chars().any(char::is_control) {
        return Err(EvidenceError::Invalid(format!(
            "media type must be 1 to 255 characters without control characters: {media_type:?}"
        )));
    }
    Ok(())
}

/// Byte ranges of the chunks of `len` bytes. Content up to `chunk_size` is one range (the empty
/// content is one empty range); a chunk size of 0 is taken as 1.
pub fn chunk_ranges(len: usize, chunk_size: usize) -> Vec<Range<usize>> {
    let chunk_size = chunk_size.max(1);
    if len <= chunk_size {
        return std::iter::once(0..len).collect();
    }
    (0..len.div_ceil(chunk_size))
        .map(|i| i * chunk_size..((i + 1) * chunk_size).min(len))
        .collect()
}

/// Plan the objects that store `content`.
pub fn plan_put<'a>(content: &'a [u8], media_type: &str, chunk_size: usize) -> PutPlan<'a> {
    let whole = sha256_hex(content);
    let ranges = chunk_ranges(content.len(), chunk_size);
    let blob = BlobRef {
        hash: format!("{HASH_PREFIX}{whole}"),
        size: content.len() as u64,
        media_type: media_type.to_owned(),
        chunks: ranges.len(),
    };
    if ranges.len() == 1 {
        return PutPlan {
            blob,
            objects: vec![PlannedObject {
                key: whole,
                kind: ObjectKind::Blob,
                media_type: media_type.to_owned(),
                bytes: Cow::Borrowed(content),
            }],
        };
    }
    let mut objects = Vec::with_capacity(ranges.len() + 1);
    let mut seen = BTreeSet::new();
    let mut hashes = Vec::with_capacity(ranges.len());
    for (index, range) in ranges.into_iter().enumerate() {
        let bytes = &content[range];
        let key = sha256_hex(bytes);
        hashes.push(format!("{HASH_PREFIX}{key}"));
        if seen.insert(key.clone()) {
            objects.push(PlannedObject {
                key,
                kind: ObjectKind::Chunk { index },
                media_type: CHUNK_MEDIA_TYPE.to_owned(),
                bytes: Cow::Borrowed(bytes),
            });
        }
    }
    let manifest = Manifest::new(media_type, blob.size, chunk_size.max(1) as u64, hashes);
    objects.push(PlannedObject {
        key: whole,
        kind: ObjectKind::Manifest,
        media_type: MANIFEST_MEDIA_TYPE.to_owned(),
        bytes: Cow::Owned(manifest.encode()),
    });
    PutPlan { blob, objects }
}

/// Path of an object relative to a local store's directory: `sha256/<first 2 hex>/<hex>`.
pub fn local_relative_path(hex: &str) -> PathBuf {
    let shard = hex.get(..2).unwrap_or(hex);
    PathBuf::from("sha256").join(shard).join(hex)
}

/// Normalize an S3 key prefix: no leading or trailing `/`.
pub fn normalize_prefix(prefix: &str) -> String {
    prefix.trim_matches('/').to_owned()
}

/// S3 key of an object: `<prefix>/sha256/<hex>` (`sha256/<hex>` without a prefix).
pub fn s3_key(prefix: &str, hex: &str) -> String {
    let prefix = prefix.trim_matches('/');
    if prefix.is_empty() {
        format!("sha256/{hex}")
    } else {
        format!("{prefix}/sha256/{hex}")
    }
}

/// A `file://` URI for an absolute path, percent-encoding everything but unreserved characters
/// and `/`.
pub fn file_uri(path: &std::path::Path) -> String {
    let mut out = String::from("file://");
    for b in path.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::single_range_in_vec_init)]
mod tests {
    use super::*;

    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn chunk_ranges_at_the_boundaries() {
        assert_eq!(chunk_ranges(0, 4), vec![0..0]);
        assert_eq!(chunk_ranges(1, 4), vec![0..1]);
        assert_eq!(chunk_ranges(4, 4), vec![0..4]);
        assert_eq!(chunk_ranges(5, 4), vec![0..4, 4..5]);
        assert_eq!(chunk_ranges(8, 4), vec![0..4, 4..8]);
        assert_eq!(chunk_ranges(9, 4), vec![0..4, 4..8, 8..9]);
        assert_eq!(chunk_ranges(3, 0), vec![0..1, 1..2, 2..3]);
        let n = DEFAULT_CHUNK_SIZE;
        assert_eq!(chunk_ranges(n, n).len(), 1);
        assert_eq!(chunk_ranges(n + 1, n), vec![0..n, n..n + 1]);
        assert_eq!(chunk_ranges(3 * n, n).len(), 3);
    }

    #[test]
    fn empty_content_is_one_object() {
        let plan = plan_put(b"", "application/json", 4);
        assert_eq!(plan.blob.hash, format!("sha256:{EMPTY}"));
        assert_eq!(plan.blob.size, 0);
        assert_eq!(plan.blob.chunks, 1);
        assert_eq!(plan.objects.len(), 1);
        assert_eq!(plan.objects[0].kind, ObjectKind::Blob);
        assert_eq!(plan.objects[0].key, EMPTY);
        assert!(plan.objects[0].bytes.is_empty());
    }

    #[test]
    fn exactly_one_chunk_is_one_object() {
        let plan = plan_put(b"abcd", "text/plain", 4);
        assert_eq!(plan.blob.chunks, 1);
        assert!(!plan.blob.is_chunked());
        assert_eq!(plan.objects.len(), 1);
        assert_eq!(plan.objects[0].key, sha256_hex(b"abcd"));
        assert_eq!(&*plan.objects[0].bytes, b"abcd");
        assert_eq!(plan.objects[0].media_type, "text/plain");
    }

    #[test]
    fn one_byte_over_is_two_chunks_and_a_manifest() {
        let plan = plan_put(b"abcde", "text/plain", 4);
        assert_eq!(plan.blob.chunks, 2);
        assert_eq!(plan.blob.size, 5);
        assert_eq!(plan.blob.hash, content_hash(b"abcde"));
        let kinds: Vec<ObjectKind> = plan.objects.iter().map(|o| o.kind).collect();
        assert_eq!(
            kinds,
            vec![
                ObjectKind::Chunk { index: 0 },
                ObjectKind::Chunk { index: 1 },
                ObjectKind::Manifest
            ]
        );
        assert_eq!(plan.objects[0].key, sha256_hex(b"abcd"));
        assert_eq!(plan.objects[1].key, sha256_hex(b"e"));
        assert_eq!(plan.objects[2].key, sha256_hex(b"abcde"));
        let m = Manifest::decode(&plan.objects[2].bytes).unwrap();
        assert_eq!(m.size, 5);
        assert_eq!(m.chunk_size, 4);
        assert_eq!(m.media_type, "text/plain");
        assert_eq!(m.chunks, vec![content_hash(b"abcd"), content_hash(b"e")]);
        assert_eq!(m.chunk_len(0), 4);
        assert_eq!(m.chunk_len(1), 1);
    }

    #[test]
    fn several_chunks_and_repeated_chunks_are_written_once() {
        let content = b"aaaabbbbaaaac";
        let plan = plan_put(content, "application/octet-stream", 4);
        assert_eq!(plan.blob.chunks, 4);
        // "aaaa" appears twice but is written once; the manifest lists it twice.
        let keys: Vec<&str> = plan.objects.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(
            keys,
            vec![
                sha256_hex(b"aaaa").as_str(),
                sha256_hex(b"bbbb").as_str(),
                sha256_hex(b"c").as_str(),
                sha256_hex(content).as_str()
            ]
        );
        let m = Manifest::decode(&plan.objects[3].bytes).unwrap();
        assert_eq!(m.chunks.len(), 4);
        assert_eq!(m.chunks[0], m.chunks[2]);
    }

    #[test]
    fn manifest_round_trip_and_canonical_bytes() {
        let m = Manifest::new(
            "application/json; charset=\"utf-8\"",
            10,
            4,
            vec![content_hash(b"1"), content_hash(b"2"), content_hash(b"3")],
        );
        let bytes = m.encode();
        assert_eq!(Manifest::decode(&bytes).unwrap(), m);
        // Canonical: equal to the engine's canonical JSON of the same value.
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(seg_engine::ids::canonical_json(&value).as_bytes(), &bytes[..]);
        let text = String::from_utf8(bytes).unwrap();
        assert!(
            text.starts_with("{\"chunk_size\":4,\"chunks\":[\"sha256:"),
            "{text}"
        );
        assert!(
            text.ends_with("\"schema\":\"seg.evidence.manifest/v1\",\"size\":10}"),
            "{text}"
        );
    }

    #[test]
    fn manifest_decode_rejects_bad_manifests() {
        let good = Manifest::new("t", 5, 4, vec![content_hash(b"1"), content_hash(b"2")]);
        assert!(Manifest::decode(&good.encode()).is_ok());
        // Not canonical (whitespace).
        let pretty = serde_json::to_vec_pretty(&good).unwrap();
        assert!(Manifest::decode(&pretty).unwrap_err().contains("canonical"));
        // Wrong schema.
        let mut m = good.clone();
        m.schema = "other".into();
        assert!(Manifest::decode(&m.encode()).unwrap_err().contains("schema"));
        // Chunk count does not match size.
        let mut m = good.clone();
        m.size = 9;
        assert!(Manifest::decode(&m.encode()).unwrap_err().contains("chunks"));
        // One chunk is never a manifest.
        let m = Manifest::new("t", 3, 4, vec![content_hash(b"1")]);
        assert!(Manifest::decode(&m.encode()).is_err());
        // Bad chunk hash.
        let m = Manifest::new("t", 5, 4, vec!["sha256:xyz".into(), content_hash(b"2")]);
        assert!(Manifest::decode(&m.encode()).unwrap_err().contains("chunk"));
        // Unknown field, garbage.
        assert!(Manifest::decode(br#"{"chunk_size":4,"chunks":[],"extra":1}"#).is_err());
        assert!(Manifest::decode(b"\x00\x01garbage").is_err());
    }

    #[test]
    fn plans_are_deterministic() {
        let content: Vec<u8> = (0..100u32).map(|i| (i * 7 % 251) as u8).collect();
        let a = plan_put(&content, "application/json", 16);
        let copy = content.clone();
        let b = plan_put(&copy, "application/json", 16);
        assert_eq!(a, b);
        assert_eq!(a.blob.chunks, 7);
        // A different chunk size gives a different manifest but the same blob hash.
        let c = plan_put(&content, "application/json", 32);
        assert_eq!(a.blob.hash, c.blob.hash);
        assert_ne!(a.objects.last().unwrap().bytes, c.objects.last().unwrap().bytes);
    }

    #[test]
    fn hashes_are_checked() {
        assert_eq!(parse_hash(&format!("sha256:{EMPTY}")).unwrap(), EMPTY);
        assert_eq!(parse_hash(EMPTY).unwrap(), EMPTY);
        assert!(parse_hash("sha256:abc").is_err());
        assert!(parse_hash(&format!("sha256:{}", EMPTY.to_uppercase())).is_err());
        assert!(parse_hash(&format!("sha256:../{}", &EMPTY[3..])).is_err());
        assert_eq!(parse_hash("md5:0").unwrap_err().code(), "SEG_SCHEMA_VIOLATION");
        assert!(check_media_type("application/json").is_ok());
        assert!(check_media_type("").is_err());
        assert!(check_media_type("a\nb").is_err());
    }

    #[test]
    fn key_layout() {
        assert_eq!(
            local_relative_path(EMPTY),
            PathBuf::from(format!("sha256/e3/{EMPTY}"))
        );
        assert_eq!(s3_key("", EMPTY), format!("sha256/{EMPTY}"));
        assert_eq!(s3_key("evidence", EMPTY), format!("evidence/sha256/{EMPTY}"));
        assert_eq!(s3_key("/a/b/", EMPTY), format!("a/b/sha256/{EMPTY}"));
        assert_eq!(normalize_prefix("/a/b/"), "a/b");
        assert_eq!(
            file_uri(std::path::Path::new("/var/lib/seg evidence/x")),
            "file:///var/lib/seg%20evidence/x"
        );
    }

    #[test]
    fn blob_ref_pointer() {
        let plan = plan_put(b"{}", "application/json", 4);
        let p = plan.blob.pointer(Some("file:///x".into()));
        assert_eq!(p.hash, content_hash(b"{}"));
        assert_eq!(p.media_type, "application/json");
        assert_eq!(p.uri.as_deref(), Some("file:///x"));
        assert_eq!(plan.blob.hex(), sha256_hex(b"{}"));
    }
}
