//! The local directory backend, in a temporary directory.

use std::path::{Path, PathBuf};

use seg_adapter_evidence::plan::sha256_hex;
use seg_adapter_evidence::{content_hash, EvidenceError, EvidenceStore, LocalBackend, WriteAction};

fn files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(relative) = path.strip_prefix(root) {
                out.push(relative.to_path_buf());
            }
        }
    }
    out.sort();
    out
}

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 17 % 251) as u8).collect()
}

#[tokio::test]
async fn layout_is_sha256_shard_hex() {
    let dir = tempfile::tempdir().unwrap();
    let store = EvidenceStore::local(dir.path()).unwrap();
    let blob = store.put(b"{\"a\":1}", "application/json").await.unwrap();
    let hex = sha256_hex(b"{\"a\":1}");
    assert_eq!(blob.hash, format!("sha256:{hex}"));
    assert_eq!(
        files(dir.path()),
        vec![PathBuf::from(format!("sha256/{}/{hex}", &hex[..2]))]
    );
    assert_eq!(
        std::fs::read(dir.path().join("sha256").join(&hex[..2]).join(&hex)).unwrap(),
        b"{\"a\":1}"
    );
    let uri = store.uri(&blob.hash).unwrap();
    assert!(uri.starts_with("file:///"), "{uri}");
    assert!(uri.ends_with(&format!("/sha256/{}/{hex}", &hex[..2])), "{uri}");
    assert_eq!(store.pointer(&blob).uri, Some(uri));
}

#[tokio::test]
async fn chunked_round_trip_and_idempotence() {
    let dir = tempfile::tempdir().unwrap();
    let store = EvidenceStore::local(dir.path())
        .unwrap()
        .with_chunk_size(16)
        .unwrap();
    let content = data(16 * 3 + 5);
    let blob = store.put(&content, "application/json").await.unwrap();
    assert_eq!(blob.chunks, 4);
    assert_eq!(blob.size, content.len() as u64);
    let listed = files(dir.path());
    assert_eq!(listed.len(), 5, "{listed:?}");
    assert_eq!(store.get(&blob.hash).await.unwrap(), content);
    assert!(store.exists(&blob.hash).await.unwrap());

    let mtimes: Vec<_> = listed
        .iter()
        .map(|p| std::fs::metadata(dir.path().join(p)).unwrap().modified().unwrap())
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let again = store.put_with_report(&content, "application/json").await.unwrap();
    assert_eq!(again.blob, blob);
    assert_eq!(again.writes().count(), 0);
    assert_eq!(again.objects[0].action, WriteAction::AlreadyPresent);
    assert_eq!(files(dir.path()), listed);
    let after: Vec<_> = listed
        .iter()
        .map(|p| std::fs::metadata(dir.path().join(p)).unwrap().modified().unwrap())
        .collect();
    assert_eq!(after, mtimes);
}

#[tokio::test]
async fn corrupted_chunk_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let store = EvidenceStore::local(dir.path())
        .unwrap()
        .with_chunk_size(8)
        .unwrap();
    let content = data(20);
    let blob = store.put(&content, "text/plain").await.unwrap();
    let chunk = sha256_hex(&content[8..16]);
    let backend = LocalBackend::new(dir.path()).unwrap();
    std::fs::write(backend.object_path(&chunk), b"tampered").unwrap();
    let err = store.get(&blob.hash).await.unwrap_err();
    assert_eq!(err.code(), "SEG_SCHEMA_VIOLATION");
    assert_eq!(err.category(), "integrity");
    let EvidenceError::Corrupt { key, .. } = &err else {
        panic!("{err:?}");
    };
    assert!(key.starts_with("file://") && key.ends_with(&chunk), "{key}");
}

#[tokio::test]
async fn dry_run_creates_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("evidence");
    let store = EvidenceStore::local(&root)
        .unwrap()
        .with_chunk_size(8)
        .unwrap()
        .with_dry_run(true);
    let report = store.put_with_report(&data(20), "text/plain").await.unwrap();
    assert_eq!(report.writes().count(), 4);
    assert_eq!(report.bytes_written(), 20 + report.objects[3].size);
    assert!(report.objects.iter().all(|o| o.location.starts_with("file://")));
    assert!(!root.exists());
    assert!(!store.exists(&report.blob.hash).await.unwrap());
}

#[tokio::test]
async fn missing_blob_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let store = EvidenceStore::local(dir.path()).unwrap();
    let err = store.get(&content_hash(b"absent")).await.unwrap_err();
    assert_eq!(err.code(), "SEG_NOT_FOUND");
    assert!(err.to_string().contains(&sha256_hex(b"absent")));
}

#[tokio::test]
async fn leftover_temp_files_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let store = EvidenceStore::local(dir.path()).unwrap();
    let hex = sha256_hex(b"payload");
    // What a crash in the middle of a write leaves: a partial temp file beside the final name.
    let shard = dir.path().join("sha256").join(&hex[..2]);
    std::fs::create_dir_all(&shard).unwrap();
    std::fs::write(
        shard.join(format!("{}abc123", seg_adapter_evidence::TEMP_PREFIX)),
        b"pay",
    )
    .unwrap();
    assert!(!store.exists(&content_hash(b"payload")).await.unwrap());
    store.put(b"payload", "text/plain").await.unwrap();
    assert_eq!(store.get(&content_hash(b"payload")).await.unwrap(), b"payload");
}

#[cfg(unix)]
#[tokio::test]
async fn unwritable_directory_is_a_write_failure() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    // A regular file where the store's directory should be: creating it fails even as root.
    let root = dir.path().join("not-a-dir");
    std::fs::write(&root, b"").unwrap();
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o400)).unwrap();
    let store = EvidenceStore::local(&root).unwrap();
    let err = store.put(b"x", "text/plain").await.unwrap_err();
    assert_eq!(err.code(), "SEG_EVIDENCE_WRITE_FAILED", "{err}");
    assert!(err.retryable());
}
