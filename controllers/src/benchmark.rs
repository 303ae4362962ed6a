//! The Benchmark reconciler: fetch the bundle and keys, verify and compile (pure), write status.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use ed25519_dalek::VerifyingKey;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType};
use kube::{Api, Resource, ResourceExt};
use seg_crds::{Benchmark, BenchmarkStatus};
use seg_engine::bundle::BundleFiles;
use seg_engine::dsse::KeyFile;
use seg_engine::policy::{CompiledBundle, LoadOptions, SignatureStatus, Trust};

use crate::conditions::{merge, ready, stalled};
use crate::error::Error;
use crate::Context;

/// Largest uncompressed bundle accepted from a ConfigMap.
const MAX_BUNDLE_BYTES: u64 = 16 << 20;

/// Unpack a gzip-compressed tar archive into bundle files (regular files only, clean paths).
pub fn untar_bundle(bytes: &[u8]) -> Result<BundleFiles, String> {
    let gz = flate2::read::GzDecoder::new(bytes).take(MAX_BUNDLE_BYTES + 1);
    let mut archive = tar::Archive::new(gz);
    let mut files = BundleFiles::new();
    let mut total: u64 = 0;
    let entries = archive
        .entries()
        .map_err(|e| format!("not a tar.gz archive: {e}"))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("not a tar.gz archive: {e}"))?;
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            continue;
        }
        let path = entry
            .path()
            .map_err(|e| format!("bad path in archive: {e}"))?
            .to_string_lossy()
            .into_owned();
        let path = path.trim_start_matches("./").to_string();
        if !kind.is_file() {
            return Err(format!(
                "{path}: only regular files are allowed in a bundle archive"
            ));
        }
        let mut bytes = Vec::new();
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| format!("{path}: {e}"))?;
        total += bytes.len() as u64;
        if total > MAX_BUNDLE_BYTES {
            return Err(format!(
                "bundle is larger than {MAX_BUNDLE_BYTES} bytes uncompressed"
            ));
        }
        files.insert(&path, bytes).map_err(|e| e.to_string())?;
    }
    Ok(files)
}

/// The status for a bundle that loaded (pure).
pub fn loaded_status(
    prev: Option<&BenchmarkStatus>,
    generation: Option<i64>,
    bundle: &CompiledBundle,
    now: &str,
) -> BenchmarkStatus {
    let (verified, keyid) = match &bundle.signature {
        SignatureStatus::Verified { keyid } => (true, Some(keyid.clone())),
        SignatureStatus::Unverified { .. } => (false, None),
    };
    let message = format!(
        "bundle {} {} loaded: {} controls, digest {}",
        bundle.manifest.id,
        bundle.manifest.version,
        bundle.controls.len(),
        bundle.digest
    );
    BenchmarkStatus {
        observed_generation: generation,
        bundle_id: Some(bundle.manifest.id.clone()),
        version: Some(bundle.manifest.version.clone()),
        digest: Some(bundle.digest.clone()),
        control_count: Some(bundle.controls.len() as i64),
        signature_verified: Some(verified),
        signer_key_id: keyid,
        conditions: merge(
            prev.map(|p| p.conditions.as_slice()).unwrap_or(&[]),
            &ready("BundleLoaded", message),
            generation,
            now,
        ),
    }
}

/// The status for a bundle that could not be loaded (pure).
pub fn failed_status(
    prev: Option<&BenchmarkStatus>,
    generation: Option<i64>,
    reason: &str,
    message: &str,
    now: &str,
) -> BenchmarkStatus {
    BenchmarkStatus {
        observed_generation: generation,
        conditions: merge(
            prev.map(|p| p.conditions.as_slice()).unwrap_or(&[]),
            &stalled(reason, message.to_string()),
            generation,
            now,
        ),
        ..BenchmarkStatus::default()
    }
}

fn engine_reason(e: &seg_engine::EngineError) -> &'static str {
    match e {
        seg_engine::EngineError::BundleVerify(_) => "SignatureInvalid",
        seg_engine::EngineError::Key(_) => "KeyInvalid",
        _ => "BundleInvalid",
    }
}

/// Fetch the bundle files named by the spec.
async fn fetch_files(ctx: &Context, ns: &str, bm: &Benchmark) -> Result<BundleFiles, Error> {
    if let Some(name) = &bm.spec.source.builtin {
        return ctx.builtins.get(name).cloned().ok_or_else(|| {
            Error::invalid(
                "BundleNotFound",
                format!(
                    "spec.source.builtin: no built-in bundle {name:?} (known: {})",
                    ctx.builtins.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            )
        });
    }
    let Some(src) = &bm.spec.source.config_map else {
        return Err(Error::invalid(
            "BundleNotFound",
            "spec.source: neither builtin nor configMap is set",
        ));
    };
    let cms: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), ns);
    let Some(cm) = cms.get_opt(&src.name).await? else {
        return Err(Error::invalid(
            "BundleNotFound",
            format!("spec.source.configMap: ConfigMap {ns}/{} not found", src.name),
        ));
    };
    let bytes = cm
        .binary_data
        .as_ref()
        .and_then(|d| d.get(&src.key))
        .map(|b| b.0.clone())
        .ok_or_else(|| {
            Error::invalid(
                "BundleNotFound",
                format!(
                    "spec.source.configMap: ConfigMap {ns}/{} has no binaryData key {:?}",
                    src.name, src.key
                ),
            )
        })?;
    untar_bundle(&bytes).map_err(|e| {
        Error::invalid(
            "BundleInvalid",
            format!("ConfigMap {ns}/{} key {}: {e}", src.name, src.key),
        )
    })
}

/// The keys a Benchmark's bundle must be signed with (the trust policy):
/// - a built-in bundle: the keys it was built with (the development key verifies nothing else);
/// - a ConfigMap bundle: the operator's `--trusted-bundle-key` keys; the Benchmark's own
///   `publicKeys` can only narrow them (a key the operator does not trust is refused), so a
///   tenant cannot make the operator run a bundle signed by a key of its own choosing.
async fn fetch_keys(ctx: &Context, ns: &str, bm: &Benchmark) -> Result<Vec<VerifyingKey>, Error> {
    if bm.spec.source.builtin.is_some() {
        return Ok(ctx.builtin_keys.clone());
    }
    if ctx.trusted_bundle_keys.is_empty() {
        return Err(Error::invalid(
            "BundleSourceNotAllowed",
            "spec.source.configMap: this operator trusts no key for bundles from ConfigMaps (seg operator --trusted-bundle-key); use a built-in bundle or ask the cluster administrator",
        ));
    }
    if bm.spec.public_keys.is_empty() {
        return Ok(ctx.trusted_bundle_keys.clone());
    }
    let mut keys = Vec::new();
    for (i, r) in bm.spec.public_keys.iter().enumerate() {
        let field = format!("spec.publicKeys[{i}]");
        let text = if let Some(k) = &r.config_map_key_ref {
            let api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), ns);
            api.get_opt(&k.name)
                .await?
                .and_then(|cm| cm.data.and_then(|d| d.get(&k.key).cloned()))
                .ok_or_else(|| {
                    Error::invalid(
                        "KeyNotFound",
                        format!("{field}: ConfigMap {ns}/{} key {} not found", k.name, k.key),
                    )
                })?
        } else if let Some(k) = &r.secret_key_ref {
            let api: Api<Secret> = Api::namespaced(ctx.client.clone(), ns);
            let bytes = api
                .get_opt(&k.name)
                .await?
                .and_then(|s| s.data.and_then(|d| d.get(&k.key).cloned()))
                .ok_or_else(|| {
                    Error::invalid(
                        "KeyNotFound",
                        format!("{field}: Secret {ns}/{} key {} not found", k.name, k.key),
                    )
                })?;
            String::from_utf8(bytes.0)
                .map_err(|_| Error::invalid("KeyInvalid", format!("{field}: key is not UTF-8")))?
        } else {
            return Err(Error::invalid(
                "KeyNotFound",
                format!("{field}: neither configMapKeyRef nor secretKeyRef is set"),
            ));
        };
        let file =
            KeyFile::parse(&text).map_err(|e| Error::invalid("KeyInvalid", format!("{field}: {e}")))?;
        let key = file
            .verifying_key()
            .map_err(|e| Error::invalid("KeyInvalid", format!("{field}: {e}")))?;
        if !ctx.trusted_bundle_keys.contains(&key) {
            return Err(Error::invalid(
                "KeyNotTrusted",
                format!(
                    "{field}: key {} is not one the operator trusts (seg operator --trusted-bundle-key)",
                    file.keyid
                ),
            ));
        }
        keys.push(key);
    }
    Ok(keys)
}

/// Verify, compile and test a bundle on a blocking thread, within the load budget (a bundle's
/// vector cases run at load: a slow or hostile bundle must not hold up the runtime, the Lease
/// renewal or other tenants).
async fn load(ctx: &Context, files: BundleFiles, opts: LoadOptions) -> Result<CompiledBundle, Error> {
    let budget = ctx.bundle_load_timeout;
    let job = tokio::task::spawn_blocking(move || CompiledBundle::load(&files, &opts));
    match tokio::time::timeout(budget, job).await {
        Ok(Ok(loaded)) => loaded.map_err(|e| Error::invalid(engine_reason(&e), e.to_string())),
        Ok(Err(e)) => Err(Error::invalid(
            "BundleInvalid",
            format!("loading the bundle failed: {e}"),
        )),
        Err(_) => Err(Error::invalid(
            "BundleLoadTimeout",
            format!("loading and testing the bundle took longer than {budget:?}"),
        )),
    }
}

/// Reconcile one Benchmark: fetch, verify and compile (off the runtime), write status.
#[tracing::instrument(skip_all, fields(namespace = bm.metadata.namespace.as_deref().unwrap_or(""), benchmark = bm.metadata.name.as_deref().unwrap_or("")))]
pub async fn reconcile(bm: Arc<Benchmark>, ctx: Arc<Context>) -> Result<Action, Error> {
    let ns = bm.namespace().ok_or(Error::MissingMetadata("namespace"))?;
    let name = bm.meta().name.clone().ok_or(Error::MissingMetadata("name"))?;
    let generation = bm.meta().generation;
    let prev = bm.status.as_ref();
    let now = (ctx.clock)();

    let outcome = match fetch_files(&ctx, &ns, &bm).await {
        Ok(files) => match fetch_keys(&ctx, &ns, &bm).await {
            Ok(keys) => {
                let mut opts = LoadOptions::new(Trust::Keys(keys));
                opts.controls = bm.spec.controls.clone();
                load(&ctx, files, opts).await.map(|b| {
                    let status = loaded_status(prev, generation, &b, &now);
                    ctx.bundles.insert(&ns, &name, b);
                    ctx.bundle_loaded(&ns, &name);
                    status
                })
            }
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    let status = match outcome {
        Ok(s) => s,
        Err(Error::Invalid { reason, message }) => {
            ctx.bundles.remove(&ns, &name);
            let message = crate::scan::bounded::message(&message);
            let s = failed_status(prev, generation, reason, &message, &now);
            if prev != Some(&s) {
                let ev = Event {
                    type_: EventType::Warning,
                    reason: reason.into(),
                    note: Some(crate::scan::bounded::truncate(&message, 1000).into_owned()),
                    action: "LoadBundle".into(),
                    secondary: None,
                };
                // An Event is best effort: a failure to publish must not hide the status.
                let _ = ctx.recorder.publish(&ev, &bm.object_ref(&())).await;
            }
            s
        }
        Err(other) => return Err(other),
    };
    if prev != Some(&status) {
        let api: Api<Benchmark> = Api::namespaced(ctx.client.clone(), &ns);
        let patch = serde_json::json!({
            "apiVersion": seg_crds::API_VERSION,
            "kind": "Benchmark",
            "status": status,
        });
        api.patch_status(
            &name,
            &PatchParams::apply(crate::FIELD_MANAGER).force(),
            &Patch::Apply(&patch),
        )
        .await?;
    }
    ctx.reconcile_backoff.reset(&bm.uid().unwrap_or_default());
    // A built-in bundle changes only with the operator. A ConfigMap bundle (or its keys) can
    // change without the Benchmark: re-read now and then (ConfigMaps are not watched: that would
    // take list/watch on every ConfigMap of the cluster).
    Ok(if bm.spec.source.builtin.is_some() {
        Action::await_change()
    } else {
        Action::requeue(Duration::from_secs(300))
    })
}

/// Transient errors back off exponentially; invalid specs were already written to status.
pub fn error_policy(bm: Arc<Benchmark>, err: &Error, ctx: Arc<Context>) -> Action {
    tracing::warn!(
        namespace = bm.metadata.namespace.as_deref().unwrap_or(""),
        name = bm.metadata.name.as_deref().unwrap_or(""),
        category = err.category().as_str(),
        error = %err,
        "benchmark reconcile failed"
    );
    if err.transient() {
        Action::requeue(ctx.reconcile_backoff.fail(&bm.uid().unwrap_or_default()))
    } else {
        Action::await_change()
    }
}

/// Keep the bundle cache equal to the Benchmarks that exist: evict a deleted Benchmark's bundle
/// when its deletion is seen, and after a (re)list, every bundle whose Benchmark is gone.
pub async fn evict_deleted(ctx: Arc<Context>) {
    use futures::StreamExt;
    use kube::runtime::watcher::Event as W;
    let api: Api<kube::core::PartialObjectMeta<Benchmark>> = Api::all(ctx.client.clone());
    let mut events = std::pin::pin!(kube::runtime::watcher(
        api,
        kube::runtime::watcher::Config::default()
    ));
    let mut listed: std::collections::BTreeSet<(String, String)> = Default::default();
    let key =
        |m: &kube::core::PartialObjectMeta<Benchmark>| (m.namespace().unwrap_or_default(), m.name_any());
    while let Some(event) = events.next().await {
        match event {
            Ok(W::Delete(m)) => {
                let (ns, name) = key(&m);
                ctx.bundles.remove(&ns, &name);
                tracing::info!(namespace = %ns, name = %name, "benchmark deleted: its bundle is evicted");
            }
            Ok(W::Init) => listed.clear(),
            Ok(W::InitApply(m)) => {
                listed.insert(key(&m));
            }
            Ok(W::InitDone) => ctx.bundles.retain(&listed),
            Ok(W::Apply(_)) => {}
            Err(e) => {
                tracing::warn!(error = %e, "watching Benchmarks for deletions");
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
    }
}

fn same_bundle(a: &CompiledBundle, b: &CompiledBundle) -> bool {
    a.digest == b.digest
        && a.signature == b.signature
        && a.controls.len() == b.controls.len()
        && a.controls.iter().zip(&b.controls).all(|(x, y)| x.id == y.id)
}

/// The compiled bundles of Ready Benchmarks, by namespace and name, for the Scan reconciler.
#[derive(Debug, Default)]
pub struct BundleCache {
    inner: std::sync::Mutex<BTreeMap<(String, String), Arc<CompiledBundle>>>,
}

impl BundleCache {
    /// Insert the compiled bundle of a Benchmark. Benchmarks that load the same bundle (same
    /// digest, signature and control selection) share one compiled copy: ten tenants on the
    /// built-in bundle hold it once.
    pub fn insert(&self, ns: &str, name: &str, b: CompiledBundle) {
        if let Ok(mut m) = self.inner.lock() {
            let shared = m.values().find(|o| same_bundle(o, &b)).cloned();
            m.insert(
                (ns.to_string(), name.to_string()),
                shared.unwrap_or_else(|| Arc::new(b)),
            );
        }
    }

    /// Number of distinct compiled bundles held.
    pub fn distinct(&self) -> usize {
        self.inner
            .lock()
            .map(|m| {
                let mut ptrs: Vec<*const CompiledBundle> = m.values().map(Arc::as_ptr).collect();
                ptrs.sort();
                ptrs.dedup();
                ptrs.len()
            })
            .unwrap_or(0)
    }

    pub fn remove(&self, ns: &str, name: &str) {
        if let Ok(mut m) = self.inner.lock() {
            m.remove(&(ns.to_string(), name.to_string()));
        }
    }

    /// Keep only the bundles of these Benchmarks (namespace, name).
    pub fn retain(&self, exist: &std::collections::BTreeSet<(String, String)>) {
        if let Ok(mut m) = self.inner.lock() {
            m.retain(|k, _| exist.contains(k));
        }
    }

    /// Number of Benchmarks with a bundle.
    pub fn len(&self) -> usize {
        self.inner.lock().map(|m| m.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, ns: &str, name: &str) -> Option<Arc<CompiledBundle>> {
        self.inner
            .lock()
            .ok()
            .and_then(|m| m.get(&(ns.to_string(), name.to_string())).cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_gz(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::default(),
        ));
        for (path, bytes) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(bytes.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            builder.append_data(&mut h, path, *bytes).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap()
    }

    fn mini_bundle(controls: &[&str]) -> CompiledBundle {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../engine/tests/fixtures/mini");
        let files = seg_adapter_file::read_bundle_dir(&dir).unwrap();
        let mut opts = LoadOptions::new(Trust::AllowUnsigned(Vec::new()));
        opts.controls = controls.iter().map(|c| c.to_string()).collect();
        CompiledBundle::load(&files, &opts).unwrap()
    }

    #[test]
    fn benchmarks_of_the_same_bundle_share_one_compiled_copy() {
        let cache = BundleCache::default();
        for ns in ["a", "b", "c"] {
            cache.insert(ns, "cis", mini_bundle(&[]));
        }
        assert_eq!(cache.distinct(), 1);
        let a = cache.get("a", "cis").unwrap();
        assert!(Arc::ptr_eq(&a, &cache.get("c", "cis").unwrap()));
        // Another control selection is another bundle.
        let first = a.controls[0].id.clone();
        cache.insert("d", "cis", mini_bundle(&[&first]));
        assert_eq!(cache.distinct(), 2);
        assert_eq!(cache.get("d", "cis").unwrap().controls.len(), 1);
        cache.remove("a", "cis");
        cache.remove("b", "cis");
        cache.remove("c", "cis");
        assert_eq!(cache.distinct(), 1);
    }

    #[test]
    fn archives_unpack_into_bundle_files() {
        let files = untar_bundle(&tar_gz(&[
            ("manifest.json", b"{}"),
            ("./policies/a.rego", b"package a"),
        ]))
        .unwrap();
        assert_eq!(
            files.paths().collect::<Vec<_>>(),
            vec!["manifest.json", "policies/a.rego"]
        );
        assert!(untar_bundle(b"not gzip").unwrap_err().contains("tar.gz"));
    }

    #[test]
    fn a_failed_load_is_stalled_with_its_reason_and_stable() {
        let a = failed_status(
            None,
            Some(3),
            "SignatureInvalid",
            "policies/x.rego: sha256 differs",
            "t1",
        );
        let b = failed_status(
            Some(&a),
            Some(3),
            "SignatureInvalid",
            "policies/x.rego: sha256 differs",
            "t2",
        );
        assert_eq!(a, b, "an unchanged failure writes nothing");
        let ready = a.conditions.iter().find(|c| c.type_ == "Ready").unwrap();
        assert!(ready.message.contains("policies/x.rego"));
        assert_eq!(ready.reason, "SignatureInvalid");
    }
}
