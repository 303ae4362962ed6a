//! Reconcilers of seg's custom resources.
//!
//! Each reconcile is a pipeline: fetch, validate, build (pure), apply, status. The pure steps live
//! in functions without a Kubernetes client so they are tested without an API server.

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
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::{watcher, Controller};
use kube::{Api, Client};
use seg_crds::Benchmark;
use seg_engine::bundle::BundleFiles;

pub use error::Error;

/// The one field manager of every write the operator makes.
pub const FIELD_MANAGER: &str = "seg-operator";

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
        }
    }
}

/// Run the Scan controller until shutdown (SIGINT/SIGTERM).
pub async fn run_scans(ctx: Arc<Context>) {
    let api: Api<seg_crds::Scan> = Api::all(ctx.client.clone());
    Controller::new(api, watcher::Config::default())
        .shutdown_on_signal()
        .run(scan::reconcile, scan::error_policy, ctx)
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
    let api: Api<Benchmark> = Api::all(ctx.client.clone());
    Controller::new(api, watcher::Config::default())
        .shutdown_on_signal()
        .run(benchmark::reconcile, benchmark::error_policy, ctx)
        .for_each(|r| {
            if let Err(e) = r {
                eprintln!("seg operator: benchmark reconcile failed: {e}");
            }
            futures::future::ready(())
        })
        .await;
}
