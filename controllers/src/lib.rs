//! Reconcilers of seg's custom resources.
//!
//! Each reconcile is a pipeline: a pure decision from the object and what was observed, then
//! steps that each fail with a typed error whose [`Category`] decides requeue, Events and status.
//! Long work (a Scan's run) happens outside reconcile ([`runner`]).

pub mod aws;
pub mod benchmark;
pub mod conditions;
pub mod error;
pub mod findings;
pub mod lease;
pub mod runner;
pub mod scan;
pub mod schedule;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use ed25519_dalek::VerifyingKey;
use futures::channel::mpsc::{unbounded, UnboundedReceiver};
use futures::StreamExt;
use kube::core::error_boundary::{DeserializeGuard, InvalidObject};
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{reflector, watcher, Controller, PredicateConfig, WatchStreamExt};
use kube::{Api, Client, Resource, ResourceExt};
use seg_adapter_tenantfs::TenantDir;
use seg_crds::{Benchmark, Finding, Scan};
use seg_engine::bundle::BundleFiles;
use seg_engine::time::Timestamp;

pub use error::{Category, Error};

/// The one field manager of every write the operator makes.
pub const FIELD_MANAGER: &str = "seg-operator";

/// Scans evaluated at the same time unless the operator is told otherwise.
pub const DEFAULT_CONCURRENT_SCANS: usize = 1;

/// A reference to a Scan, as the Scan controller's trigger takes it.
pub type ScanRef = ObjectRef<DeserializeGuard<Scan>>;

/// Shared by every reconcile.
pub struct Context {
    pub client: Client,
    pub recorder: Recorder,
    /// Bundles built into the operator image, by name.
    pub builtins: BTreeMap<String, BundleFiles>,
    /// Keys the built-in bundles are signed with: they verify built-in bundles only.
    pub builtin_keys: Vec<VerifyingKey>,
    /// Keys a ConfigMap bundle may be signed with (`--trusted-bundle-key`). A Benchmark's own
    /// `publicKeys` can only narrow this list; without any, ConfigMap bundles are refused.
    pub trusted_bundle_keys: Vec<VerifyingKey>,
    pub bundles: benchmark::BundleCache,
    /// How long loading (and testing) one bundle may take.
    pub bundle_load_timeout: Duration,
    /// Where `spec.inventory.path` of Scans is read, under `<dir>/<namespace>/`.
    pub inventory_dir: Option<Arc<TenantDir>>,
    /// Where `spec.export.path` of Scans is written, under `<dir>/<namespace>/`.
    pub export_dir: Option<Arc<TenantDir>>,
    /// The current time as RFC 3339 (an input, so that tests can fix it).
    pub clock: Box<dyn Fn() -> String + Send + Sync>,
    /// Runs that may read and evaluate their inventory at the same time, shared fairly between
    /// namespaces. Evaluation already uses every core, so more at once only adds memory; the
    /// others wait, `Queued`.
    pub slots: Arc<runner::FairSlots>,
    /// The runs in progress, by Scan UID.
    pub runs: Arc<runner::Runs<ScanRef>>,
    done: Mutex<Option<UnboundedReceiver<ScanRef>>>,
    /// A Benchmark whose bundle was (re)loaded, by (namespace, name): its Scans are reconciled
    /// (the Benchmark object itself may not change, e.g. after the operator restarts).
    bundle_loaded: futures::channel::mpsc::UnboundedSender<(String, String)>,
    bundle_loaded_rx: Mutex<Option<UnboundedReceiver<(String, String)>>>,
    /// How often a running Scan's `status.progress` is written.
    pub progress_interval: Duration,
    /// When a run whose cloud inventory could not be read (wholly or partly) is tried again
    /// first; later failures in a row double it, up to [`MAX_RETRY_FACTOR`] times.
    pub retry_interval: Duration,
    /// Longest evaluation of one run.
    pub evaluation_timeout: Duration,
    /// Per-namespace limits.
    pub limits: scan::decide::Limits,
    /// Findings of all the Scans of one namespace together.
    pub max_findings_per_namespace: usize,
    /// Settings of `provider: aws` Scans.
    pub aws: aws::AwsSettings,
    /// Where the raw cloud API responses behind Findings are stored (content-addressed); none:
    /// Findings carry only the evidence stubs of the policies.
    pub evidence: Option<Arc<seg_adapter_evidence::EvidenceStore>>,
    /// Back-off of failed reconciles, per object.
    pub reconcile_backoff: error::Backoff,
    /// Back-off of runs whose outcome could not be recorded, per Scan UID.
    pub hold_back: error::Backoff,
    not_before: Mutex<HashMap<String, Timestamp>>,
    run_failures: Mutex<HashMap<String, u32>>,
    scans: OnceLock<Store<DeserializeGuard<Scan>>>,
}

/// Failed runs in a row wait `retry_interval * 2^(n-1)`, at most this many retry intervals.
pub const MAX_RETRY_FACTOR: u32 = 16;

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("builtins", &self.builtins.keys().collect::<Vec<_>>())
            .field("runs", &self.runs)
            .finish()
    }
}

impl Context {
    pub fn new(
        client: Client,
        builtins: BTreeMap<String, BundleFiles>,
        builtin_keys: Vec<VerifyingKey>,
    ) -> Context {
        let recorder = Recorder::new(client.clone(), Reporter::from(FIELD_MANAGER));
        let (tx, rx) = unbounded();
        let (loaded_tx, loaded_rx) = unbounded();
        Context {
            client,
            recorder,
            builtins,
            builtin_keys,
            trusted_bundle_keys: Vec::new(),
            bundles: benchmark::BundleCache::default(),
            bundle_load_timeout: Duration::from_secs(60),
            inventory_dir: None,
            export_dir: None,
            clock: Box::new(|| k8s_openapi::jiff::Timestamp::now().to_string()),
            slots: runner::FairSlots::new(DEFAULT_CONCURRENT_SCANS),
            runs: Arc::new(runner::Runs::new(tx)),
            done: Mutex::new(Some(rx)),
            bundle_loaded: loaded_tx,
            bundle_loaded_rx: Mutex::new(Some(loaded_rx)),
            progress_interval: Duration::from_secs(2),
            retry_interval: Duration::from_secs(60),
            evaluation_timeout: Duration::from_secs(1800),
            limits: scan::decide::Limits::default(),
            max_findings_per_namespace: 10_000,
            aws: aws::AwsSettings::default(),
            evidence: None,
            reconcile_backoff: error::Backoff::new(Duration::from_secs(5), Duration::from_secs(300)),
            hold_back: error::Backoff::new(Duration::from_secs(5), Duration::from_secs(600)),
            not_before: Mutex::new(HashMap::new()),
            run_failures: Mutex::new(HashMap::new()),
            scans: OnceLock::new(),
        }
    }

    /// Scans of the same namespace created before `scan` (by creation time, then name).
    pub fn older_scans(&self, scan: &Scan) -> usize {
        let Some(store) = self.scans.get() else { return 0 };
        let key = |s: &Scan| (s.metadata.creation_timestamp.clone(), s.name_any());
        let mine = key(scan);
        store
            .state()
            .iter()
            .filter_map(|g| g.0.as_ref().ok())
            .filter(|s| s.metadata.namespace == scan.metadata.namespace && key(s) < mine)
            .count()
    }

    /// A run held back until then (its outcome could not be recorded).
    pub fn not_before(&self, uid: &str) -> Option<Timestamp> {
        self.not_before.lock().ok().and_then(|m| m.get(uid).copied())
    }

    pub(crate) fn set_not_before(&self, uid: &str, wait: Duration) {
        let Ok(now) = Timestamp::parse(&(self.clock)()) else {
            return;
        };
        let wait = i128::try_from(wait.as_nanos()).unwrap_or(i128::MAX);
        if let (Ok(t), Ok(mut m)) = (
            Timestamp::from_unix_nanos(now.unix_nanos().saturating_add(wait)),
            self.not_before.lock(),
        ) {
            m.insert(uid.to_string(), t);
        }
    }

    /// How long to wait after one more failed run of `uid` (exponential back-off).
    pub(crate) fn backoff_run(&self, uid: &str) -> Duration {
        let n = match self.run_failures.lock() {
            Ok(mut m) => {
                let n = m.entry(uid.to_string()).or_insert(0);
                *n = n.saturating_add(1);
                *n
            }
            Err(_) => 1,
        };
        error::delay(
            self.retry_interval,
            self.retry_interval.saturating_mul(MAX_RETRY_FACTOR),
            n,
        )
    }

    pub(crate) fn reset_run_backoff(&self, uid: &str) {
        if let Ok(mut m) = self.run_failures.lock() {
            m.remove(uid);
        }
    }

    /// Tell the Scan controller that a Benchmark's bundle is loaded.
    pub(crate) fn bundle_loaded(&self, ns: &str, name: &str) {
        let _ = self
            .bundle_loaded
            .unbounded_send((ns.to_string(), name.to_string()));
    }

    /// Forget everything held about a Scan that is gone.
    pub(crate) fn forget(&self, uid: &str) {
        self.reset_run_backoff(uid);
        self.hold_back.reset(uid);
        self.reconcile_backoff.reset(uid);
        if let Ok(mut m) = self.not_before.lock() {
            m.remove(uid);
        }
    }
}

/// An object that does not deserialize into its type (the API server's schema let something through
/// that our types reject) gets a Warning Event and is skipped: it cannot stall the watch.
async fn report_invalid<K: kube::Resource<DynamicType = ()>>(ctx: &Context, invalid: &InvalidObject) {
    let m = &invalid.metadata;
    let reference = k8s_openapi::api::core::v1::ObjectReference {
        api_version: Some(K::api_version(&()).into_owned()),
        kind: Some(K::kind(&()).into_owned()),
        name: m.name.clone(),
        namespace: m.namespace.clone(),
        uid: m.uid.clone(),
        resource_version: m.resource_version.clone(),
        ..Default::default()
    };
    let ev = kube::runtime::events::Event {
        type_: kube::runtime::events::EventType::Warning,
        reason: "InvalidObject".into(),
        note: Some(invalid.error.chars().take(1000).collect()),
        action: "Decode".into(),
        secondary: None,
    };
    let _ = ctx.recorder.publish(&ev, &reference).await;
    tracing::warn!(
        kind = %K::kind(&()),
        namespace = m.namespace.as_deref().unwrap_or(""),
        name = m.name.as_deref().unwrap_or(""),
        error = %invalid.error,
        "skipping an object that does not decode"
    );
}

async fn guarded_scan(
    obj: Arc<DeserializeGuard<seg_crds::Scan>>,
    ctx: Arc<Context>,
) -> Result<kube::runtime::controller::Action, Error> {
    match &obj.0 {
        Ok(scan) => scan::reconcile(Arc::new(scan.clone()), ctx).await,
        Err(invalid) => {
            report_invalid::<seg_crds::Scan>(&ctx, invalid).await;
            Ok(kube::runtime::controller::Action::await_change())
        }
    }
}

fn guarded_scan_policy(
    obj: Arc<DeserializeGuard<seg_crds::Scan>>,
    err: &Error,
    ctx: Arc<Context>,
) -> kube::runtime::controller::Action {
    match &obj.0 {
        Ok(scan) => scan::error_policy(Arc::new(scan.clone()), err, ctx),
        Err(_) => kube::runtime::controller::Action::await_change(),
    }
}

async fn guarded_benchmark(
    obj: Arc<DeserializeGuard<Benchmark>>,
    ctx: Arc<Context>,
) -> Result<kube::runtime::controller::Action, Error> {
    match &obj.0 {
        Ok(b) => benchmark::reconcile(Arc::new(b.clone()), ctx).await,
        Err(invalid) => {
            report_invalid::<Benchmark>(&ctx, invalid).await;
            Ok(kube::runtime::controller::Action::await_change())
        }
    }
}

fn guarded_benchmark_policy(
    obj: Arc<DeserializeGuard<Benchmark>>,
    err: &Error,
    ctx: Arc<Context>,
) -> kube::runtime::controller::Action {
    match &obj.0 {
        Ok(b) => benchmark::error_policy(Arc::new(b.clone()), err, ctx),
        Err(_) => kube::runtime::controller::Action::await_change(),
    }
}

/// What of a Scan starts work: its generation (the spec), its deletion and its finalizers. Status
/// writes (the runs' own) do not.
fn scan_predicate(s: &DeserializeGuard<Scan>) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let m = s.meta();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    m.generation.hash(&mut h);
    m.deletion_timestamp.is_some().hash(&mut h);
    m.finalizers.hash(&mut h);
    Some(h.finish())
}

/// Run the Scan controller until shutdown (SIGINT/SIGTERM); then cancel the runs in progress,
/// which record themselves as interrupted for the next leader.
pub async fn run_scans(ctx: Arc<Context>) {
    let client = ctx.client.clone();
    let api: Api<DeserializeGuard<Scan>> = Api::all(client.clone());
    let (reader, writer) = reflector::store();
    let _ = ctx.scans.set(reader.clone());
    let scans = watcher(api, watcher::Config::default())
        .default_backoff()
        .reflect(writer)
        .applied_objects()
        .predicate_filter(scan_predicate, PredicateConfig::default());
    let scans_of = {
        let store = reader.clone();
        move |ns: Option<String>, name: String| {
            store
                .state()
                .into_iter()
                .filter(|g| {
                    g.0.as_ref()
                        .is_ok_and(|s| s.metadata.namespace == ns && s.spec.benchmark_ref.name == name)
                })
                .map(|g| ObjectRef::from_obj(g.as_ref()))
                .collect::<Vec<_>>()
        }
    };
    let loaded_scans = scans_of.clone();
    let mut controller = Controller::for_stream(scans, reader)
        .owns(Api::<Finding>::all(client.clone()), watcher::Config::default())
        .watches(
            Api::<Benchmark>::all(client),
            watcher::Config::default(),
            move |bm: Benchmark| scans_of(bm.namespace(), bm.name_any()),
        );
    // Runs that ended, and Benchmarks whose bundle was loaded, trigger their Scans.
    let done = ctx.done.lock().ok().and_then(|mut d| d.take());
    let loaded = ctx.bundle_loaded_rx.lock().ok().and_then(|mut d| d.take());
    if let (Some(done), Some(loaded)) = (done, loaded) {
        let loaded = loaded
            .map(move |(ns, name)| futures::stream::iter(loaded_scans(Some(ns), name)))
            .flatten();
        controller = controller.reconcile_on(futures::stream::select(done, loaded));
    }
    controller
        .shutdown_on_signal()
        .run(guarded_scan, guarded_scan_policy, ctx.clone())
        .for_each(|r| {
            if let Err(e) = r {
                tracing::debug!(error = %e, "scan reconcile");
            }
            futures::future::ready(())
        })
        .await;
    let n = ctx.runs.shutdown(Duration::from_secs(10)).await;
    if n > 0 {
        tracing::info!(runs = n, "runs in progress were interrupted and recorded as such");
    }
}

/// Run the Benchmark controller until shutdown (SIGINT/SIGTERM), and keep the bundle cache equal
/// to the Benchmarks that exist: a deleted Benchmark's bundle is evicted at once.
pub async fn run_benchmarks(ctx: Arc<Context>) {
    let api: Api<DeserializeGuard<Benchmark>> = Api::all(ctx.client.clone());
    let janitor = benchmark::evict_deleted(ctx.clone());
    let controller = Controller::new(api, watcher::Config::default())
        .shutdown_on_signal()
        .run(guarded_benchmark, guarded_benchmark_policy, ctx)
        .for_each(|r| {
            if let Err(e) = r {
                tracing::debug!(error = %e, "benchmark reconcile");
            }
            futures::future::ready(())
        });
    tokio::select! {
        () = controller => {}
        () = janitor => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_malformed_object_decodes_into_an_error_not_a_failed_watch() {
        let bad = serde_json::json!({
            "apiVersion": "seg.neurocipher.io/v1alpha1",
            "kind": "Scan",
            "metadata": { "name": "odd", "namespace": "t" },
            "spec": { "benchmarkRef": { "name": "b" }, "provider": "mainframe" }
        });
        let guarded: DeserializeGuard<seg_crds::Scan> = serde_json::from_value(bad).unwrap();
        let invalid = guarded.0.unwrap_err();
        assert_eq!(invalid.metadata.name.as_deref(), Some("odd"));
        assert!(invalid.error.contains("mainframe"), "{}", invalid.error);
    }
}
