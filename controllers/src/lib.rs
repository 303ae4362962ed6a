//! Reconcilers of seg's custom resources.
//!
//! Each reconcile is a pipeline: fetch, validate, build (pure), apply, status. The pure steps live
//! in functions without a Kubernetes client so they are tested without an API server.

pub mod aws;
pub mod benchmark;
pub mod conditions;
pub mod error;
pub mod findings;
pub mod lease;
pub mod scan;
pub mod schedule;

use std::collections::BTreeMap;
use std::sync::Arc;

use ed25519_dalek::VerifyingKey;
use futures::StreamExt;
use kube::core::error_boundary::{DeserializeGuard, InvalidObject};
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::{watcher, Controller};
use kube::{Api, Client};
use seg_crds::Benchmark;
use seg_engine::bundle::BundleFiles;

pub use error::Error;

/// The one field manager of every write the operator makes.
pub const FIELD_MANAGER: &str = "seg-operator";

/// Scans evaluated at the same time unless the operator is told otherwise.
pub const DEFAULT_CONCURRENT_SCANS: usize = 1;

/// Shared by every reconcile.
pub struct Context {
    pub client: Client,
    pub recorder: Recorder,
    /// Bundles built into the operator image, by name.
    pub builtins: BTreeMap<String, BundleFiles>,
    /// Keys trusted when a Benchmark names none (the keys the built-in bundles are signed with).
    pub default_keys: Vec<VerifyingKey>,
    pub bundles: benchmark::BundleCache,
    /// Where `spec.inventory.path` of Scans is resolved (a mounted volume).
    pub inventory_dir: Option<std::path::PathBuf>,
    /// Where `spec.export.path` of Scans is written (a mounted volume).
    pub export_dir: Option<std::path::PathBuf>,
    /// The current time as RFC 3339 (an input, so that tests can fix it).
    pub clock: Box<dyn Fn() -> String + Send + Sync>,
    /// Scans that may read and evaluate their inventory at the same time. Evaluation already
    /// uses every core, so more at once only adds memory; the others wait, `Queued`.
    pub evaluation_slots: Arc<tokio::sync::Semaphore>,
    /// How often a running Scan's `status.progress` is written.
    pub progress_interval: std::time::Duration,
    /// When a run whose cloud inventory could not be read (wholly or partly) is tried again.
    pub retry_interval: std::time::Duration,
    /// Settings of `provider: aws` Scans.
    pub aws: aws::AwsSettings,
    /// Where the raw cloud API responses behind Findings are stored (content-addressed); none:
    /// Findings carry only the evidence stubs of the policies.
    pub evidence: Option<Arc<seg_adapter_evidence::EvidenceStore>>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("builtins", &self.builtins.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Context {
    pub fn new(
        client: Client,
        builtins: BTreeMap<String, BundleFiles>,
        default_keys: Vec<VerifyingKey>,
    ) -> Context {
        let recorder = Recorder::new(client.clone(), Reporter::from(FIELD_MANAGER));
        Context {
            client,
            recorder,
            builtins,
            default_keys,
            bundles: benchmark::BundleCache::default(),
            inventory_dir: None,
            export_dir: None,
            clock: Box::new(|| k8s_openapi::jiff::Timestamp::now().to_string()),
            evaluation_slots: Arc::new(tokio::sync::Semaphore::new(DEFAULT_CONCURRENT_SCANS)),
            progress_interval: std::time::Duration::from_secs(2),
            retry_interval: std::time::Duration::from_secs(60),
            aws: aws::AwsSettings::default(),
            evidence: None,
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
    eprintln!(
        "seg operator: skipping invalid {} {}/{}: {}",
        K::kind(&()),
        m.namespace.as_deref().unwrap_or(""),
        m.name.as_deref().unwrap_or(""),
        invalid.error
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

/// Run the Scan controller until shutdown (SIGINT/SIGTERM).
pub async fn run_scans(ctx: Arc<Context>) {
    let api: Api<DeserializeGuard<seg_crds::Scan>> = Api::all(ctx.client.clone());
    Controller::new(api, watcher::Config::default())
        .shutdown_on_signal()
        .run(guarded_scan, guarded_scan_policy, ctx)
        .for_each(|r| {
            if let Err(e) = r {
                eprintln!("seg operator: scan reconcile failed: {e}");
            }
            futures::future::ready(())
        })
        .await;
}

/// Run the Benchmark controller until shutdown (SIGINT/SIGTERM).
pub async fn run_benchmarks(ctx: Arc<Context>) {
    let api: Api<DeserializeGuard<Benchmark>> = Api::all(ctx.client.clone());
    Controller::new(api, watcher::Config::default())
        .shutdown_on_signal()
        .run(guarded_benchmark, guarded_benchmark_policy, ctx)
        .for_each(|r| {
            if let Err(e) = r {
                eprintln!("seg operator: benchmark reconcile failed: {e}");
            }
            futures::future::ready(())
        })
        .await;
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
