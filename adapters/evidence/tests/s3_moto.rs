//! The S3 backend against a real moto server on loopback.
//!
//! Needs the test virtualenv (`bash e2e/scripts/moto-venv.sh`, or `SEG_E2E_VENV`).

use aws_sdk_s3::config::{Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
use aws_sdk_s3::Client;
use seg_adapter_evidence::plan::sha256_hex;
use seg_adapter_evidence::{content_hash, EvidenceError, EvidenceStore, S3Backend, WriteAction};
use seg_e2e::{Moto, DEFAULT_REGION};

const BUCKET: &str = "seg-evidence";
const PREFIX: &str = "evidence/tenant-a";
const CHUNK: usize = 1024;

fn client(moto: &Moto) -> Client {
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version_latest()
        .region(Region::new(DEFAULT_REGION))
        .endpoint_url(moto.endpoint())
        .credentials_provider(Credentials::new("testing", "testing", None, None, "seg-test"))
        .force_path_style(true)
        .build();
    Client::from_conf(conf)
}

/// A bucket with versioning on, so that every PutObject leaves a version to count.
async fn versioned_bucket(client: &Client) -> Result<(), Box<dyn std::error::Error>> {
    client.create_bucket().bucket(BUCKET).send().await?;
    client
        .put_bucket_versioning()
        .bucket(BUCKET)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await?;
    Ok(())
}

/// (key, version id, last modified) of every object version in the bucket, sorted.
async fn versions(client: &Client) -> Vec<(String, String, String)> {
    let out = match client.list_object_versions().bucket(BUCKET).send().await {
        Ok(out) => out,
        Err(e) => {
            return vec![(
                "ListObjectVersions failed".into(),
                format!("{e:?}"),
                String::new(),
            )]
        }
    };
    assert_ne!(out.is_truncated(), Some(true));
    let mut v: Vec<(String, String, String)> = out
        .versions()
        .iter()
        .map(|v| {
            (
                v.key().unwrap_or_default().to_owned(),
                v.version_id().unwrap_or_default().to_owned(),
                v.last_modified().map(|t| format!("{t:?}")).unwrap_or_default(),
            )
        })
        .collect();
    v.sort();
    v
}

fn data(len: usize, seed: usize) -> Vec<u8> {
    (0..len).map(|i| ((i * 13 + seed) % 251) as u8).collect()
}

#[tokio::test]
async fn s3_put_get_idempotence_and_corruption() {
    let moto = Moto::start().unwrap();
    let client = client(&moto);
    versioned_bucket(&client).await.unwrap();
    let backend = S3Backend::new(client.clone(), BUCKET, format!("/{PREFIX}/")).unwrap();
    assert_eq!(backend.prefix(), PREFIX);
    let store = EvidenceStore::new(backend).with_chunk_size(CHUNK).unwrap();

    // A small blob: one object, with its media type recorded.
    let small = br#"{"Buckets":[{"Name":"logs"}]}"#.to_vec();
    let small_ref = store.put(&small, "application/json").await.unwrap();
    assert_eq!(small_ref.hash, content_hash(&small));
    assert_eq!(small_ref.chunks, 1);
    let small_key = format!("{PREFIX}/sha256/{}", small_ref.hex());
    assert_eq!(
        store.uri(&small_ref.hash).unwrap(),
        format!("s3://{BUCKET}/{small_key}")
    );
    let head = client
        .head_object()
        .bucket(BUCKET)
        .key(&small_key)
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_type(), Some("application/json"));
    assert_eq!(head.content_length(), Some(small.len() as i64));

    // A multi-chunk blob: 4 chunks and a manifest.
    let big = data(CHUNK * 3 + 100, 1);
    let report = store.put_with_report(&big, "application/json").await.unwrap();
    assert_eq!(report.blob.chunks, 4);
    assert_eq!(report.writes().count(), 5);
    assert!(report.objects.iter().all(|o| o.action == WriteAction::Written));

    assert_eq!(store.get(&small_ref.hash).await.unwrap(), small);
    assert_eq!(store.get(&report.blob.hash).await.unwrap(), big);
    assert!(store.exists(&report.blob.hash).await.unwrap());

    let listed = client
        .list_objects_v2()
        .bucket(BUCKET)
        .prefix(PREFIX)
        .send()
        .await
        .unwrap();
    let mut keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    keys.sort();
    let mut expected: Vec<String> = vec![small_key.clone()];
    expected.extend(
        report
            .objects
            .iter()
            .map(|o| format!("{PREFIX}/sha256/{}", o.key)),
    );
    expected.sort();
    assert_eq!(keys, expected);

    // Idempotence: the same puts again make no PutObject (no new version, same LastModified).
    let before = versions(&client).await;
    assert_eq!(before.len(), 6, "{before:?}");
    let again_small = store.put_with_report(&small, "application/json").await.unwrap();
    let again_big = store.put_with_report(&big, "application/json").await.unwrap();
    assert_eq!(again_small.blob, small_ref);
    assert_eq!(again_big.blob, report.blob);
    assert_eq!(again_small.writes().count() + again_big.writes().count(), 0);
    assert_eq!(versions(&client).await, before);

    // A blob sharing the first chunk writes only its new objects.
    let mut sharing = big[..CHUNK].to_vec();
    sharing.extend_from_slice(b"tail");
    let shared = store.put_with_report(&sharing, "application/json").await.unwrap();
    let actions: Vec<WriteAction> = shared.objects.iter().map(|o| o.action).collect();
    assert_eq!(
        actions,
        vec![
            WriteAction::AlreadyPresent,
            WriteAction::Written,
            WriteAction::Written
        ]
    );
    assert_eq!(versions(&client).await.len(), 8);

    // Corruption: overwrite the third chunk object directly.
    let chunk = sha256_hex(&big[2 * CHUNK..3 * CHUNK]);
    client
        .put_object()
        .bucket(BUCKET)
        .key(format!("{PREFIX}/sha256/{chunk}"))
        .body(ByteStream::from(vec![0u8; CHUNK]))
        .send()
        .await
        .unwrap();
    let err = store.get(&report.blob.hash).await.unwrap_err();
    assert_eq!(err.code(), "SEG_SCHEMA_VIOLATION");
    let EvidenceError::Corrupt { key, detail } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(key, &format!("s3://{BUCKET}/{PREFIX}/sha256/{chunk}"));
    assert!(detail.contains("chunk 2"), "{detail}");
    // The small blob and the blob sharing only the first chunk are unaffected.
    assert_eq!(store.get(&small_ref.hash).await.unwrap(), small);
    assert_eq!(store.get(&shared.blob.hash).await.unwrap(), sharing);
}

#[tokio::test]
async fn s3_dry_run_missing_objects_and_errors() {
    let moto = Moto::start().unwrap();
    let client = client(&moto);
    versioned_bucket(&client).await.unwrap();
    let backend = S3Backend::new(client.clone(), BUCKET, "").unwrap();
    let store = EvidenceStore::new(backend).with_chunk_size(CHUNK).unwrap();

    // Dry run: reports keys and sizes, makes no PutObject.
    let dry = store.clone().with_dry_run(true);
    let content = data(CHUNK + 1, 7);
    let report = dry
        .put_with_report(&content, "application/octet-stream")
        .await
        .unwrap();
    let planned: Vec<(String, u64)> = report.writes().map(|o| (o.location.clone(), o.size)).collect();
    assert_eq!(planned.len(), 3);
    assert_eq!(
        planned[0],
        (
            format!("s3://{BUCKET}/sha256/{}", sha256_hex(&content[..CHUNK])),
            CHUNK as u64
        )
    );
    assert_eq!(
        planned[1],
        (
            format!("s3://{BUCKET}/sha256/{}", sha256_hex(&content[CHUNK..])),
            1
        )
    );
    assert_eq!(
        planned[2].0,
        format!("s3://{BUCKET}/sha256/{}", report.blob.hex())
    );
    assert!(versions(&client).await.is_empty());
    assert!(!store.exists(&report.blob.hash).await.unwrap());

    // Missing blob.
    let err = store.get(&content_hash(b"absent")).await.unwrap_err();
    assert_eq!(err.code(), "SEG_NOT_FOUND", "{err}");

    // A bucket that does not exist: a write failure, retryable.
    let missing = EvidenceStore::new(S3Backend::new(client.clone(), "no-such-bucket", "x").unwrap());
    let err = missing.put(b"x", "text/plain").await.unwrap_err();
    assert_eq!(err.code(), "SEG_EVIDENCE_WRITE_FAILED", "{err}");
    assert!(err.retryable());

    // The real put after the dry run writes exactly what it reported.
    let real = store
        .put_with_report(&content, "application/octet-stream")
        .await
        .unwrap();
    let written: Vec<(String, u64)> = real.writes().map(|o| (o.location.clone(), o.size)).collect();
    assert_eq!(written, planned);
    assert_eq!(versions(&client).await.len(), 3);
    assert_eq!(store.get(&real.blob.hash).await.unwrap(), content);
}
