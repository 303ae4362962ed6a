//! The Scan controller: a pure [`decide`](decide::decide) from the Scan, what the operator
//! observed and the time; then reconcile starts, observes or cancels a run ([`run`], outside
//! reconcile, one task per Scan UID). Findings are owned by their Scan (ownerReference) and removed
//! through a finalizer with the Scan's export.

pub mod bounded;
pub mod decide;
pub(crate) mod run;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{finalizer, Event as FinalizerEvent};
use kube::runtime::reflector::ObjectRef;
use kube::{Api, Resource, ResourceExt};
use seg_adapter_file::JsonlInventory;
use seg_crds::{
    EvidenceReference, Finding, FindingState, FindingStatus, InventoryError, Provider, ResultCounts, Scan,
    ScanPhase, ScanProgress, ScanStatus, SeverityCounts,
};
use seg_engine::model::{EvalRequest, Scope};
use seg_engine::policy::CompiledBundle;
use seg_engine::scan::{PolicyEvaluator, Progress, ProgressSnapshot, ScanOptions, ScanReport};
use seg_engine::time::Timestamp;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::conditions::{stalled, Want};
use crate::error::Error;
use crate::findings::{Observed, State};
use crate::runner::CancelReason;
use crate::Context;
use decide::{decide, Next};

/// Label that ties a Finding to its Scan.
pub const SCAN_LABEL: &str = "seg.neurocipher.io/scan";
/// Finalizer that removes a Scan's Findings before the Scan goes.
pub const FINALIZER: &str = "seg.neurocipher.io/findings";

fn conv<A: Serialize, B: DeserializeOwned>(a: &A) -> Option<B> {
    serde_json::to_value(a)
        .ok()
        .and_then(|v| serde_json::from_value(v).ok())
}

/// Status counts of a report (pure).
pub fn counts(report: &ScanReport) -> (ResultCounts, SeverityCounts) {
    let c = |k: &str| report.count(k) as i64;
    (
        ResultCounts {
            pass: c("pass"),
            fail: c("fail"),
            warn: c("warn"),
            error: c("error"),
            not_applicable: c("not_applicable"),
        },
        SeverityCounts {
            critical: c("fail.critical"),
            high: c("fail.high"),
            medium: c("fail.medium"),
            low: c("fail.low"),
            info: c("fail.info"),
        },
    )
}

fn observed_of(status: Option<&FindingStatus>) -> Option<Observed> {
    let s = status?;
    let ts = |t: &Option<String>| t.as_deref().and_then(|t| Timestamp::parse(t).ok());
    Some(Observed {
        result: conv(&s.result?)?,
        message: s.message.clone().unwrap_or_default(),
        // Only the policies' evidence stubs take part in "did it change": raw API responses are
        // pointers to what was read when the Finding last changed.
        evidence: s
            .evidence
            .iter()
            .filter(|e| e.media_type == seg_engine::scan::EVIDENCE_MEDIA_TYPE)
            .map(|e| e.hash.clone())
            .collect(),
        state: match s.state? {
            FindingState::Open => State::Open,
            FindingState::Resolved => State::Resolved,
        },
        first_seen: ts(&s.first_seen)?,
        last_seen: ts(&s.last_seen)?,
    })
}

/// Evidence references a Finding's status holds at most (the CRD's limit).
const MAX_EVIDENCE: usize = 32;

fn status_of_finding(
    o: &Observed,
    run_id: &str,
    media_type: &str,
    raw: &[EvidenceReference],
) -> FindingStatus {
    FindingStatus {
        result: conv(&o.result),
        message: Some(o.message.clone()),
        evidence: o
            .evidence
            .iter()
            .map(|h| EvidenceReference {
                hash: h.clone(),
                uri: None,
                media_type: media_type.to_string(),
            })
            .chain(raw.iter().cloned())
            .take(MAX_EVIDENCE)
            .collect(),
        first_seen: Some(o.first_seen.to_rfc3339()),
        last_seen: Some(o.last_seen.to_rfc3339()),
        state: Some(match o.state {
            State::Open => FindingState::Open,
            State::Resolved => FindingState::Resolved,
        }),
        last_run_id: Some(run_id.to_string()),
    }
}

/// A Warning Event on the Scan (best effort: a failure to publish must not hide the status).
async fn warn(ctx: &Context, scan: &Scan, reason: &str, message: &str) {
    let ev = kube::runtime::events::Event {
        type_: kube::runtime::events::EventType::Warning,
        reason: reason.into(),
        note: Some(bounded::truncate(message, 1000).into_owned()),
        action: "Scan".into(),
        secondary: None,
    };
    let _ = ctx.recorder.publish(&ev, &scan.object_ref(&())).await;
}

/// The value of [`SCAN_LABEL`] on the Findings of Scan `name`: the name itself when it is a valid
/// label value (at most 63 characters), else `h-` and 40 hex characters of its sha256, so that a
/// Scan of any valid name can label its Findings.
pub fn label_value(name: &str) -> String {
    if name.len() <= 63 {
        name.to_string()
    } else {
        format!("h-{}", &seg_engine::ids::sha256_hex(name.as_bytes())[..40])
    }
}

/// Reconcile one Scan (through the finalizer helper).
#[tracing::instrument(skip_all, fields(namespace = scan.metadata.namespace.as_deref().unwrap_or(""), scan = scan.metadata.name.as_deref().unwrap_or("")))]
pub async fn reconcile(scan: Arc<Scan>, ctx: Arc<Context>) -> Result<Action, Error> {
    let ns = scan.namespace().ok_or(Error::MissingMetadata("namespace"))?;
    let key = scan.uid().unwrap_or_default();
    let api: Api<Scan> = Api::namespaced(ctx.client.clone(), &ns);
    let done = finalizer(&api, FINALIZER, scan, |event| async {
        match event {
            FinalizerEvent::Apply(scan) => apply(scan, ctx.clone()).await,
            FinalizerEvent::Cleanup(scan) => cleanup(scan, ctx.clone()).await,
        }
    })
    .await
    .map_err(Error::from);
    if done.is_ok() {
        ctx.reconcile_backoff.reset(&key);
    }
    done
}

/// The Scan is going: cancel its run, delete its Findings and its export.
async fn cleanup(scan: Arc<Scan>, ctx: Arc<Context>) -> Result<Action, Error> {
    let ns = scan.namespace().ok_or(Error::MissingMetadata("namespace"))?;
    let uid = scan.uid().unwrap_or_default();
    if !ctx
        .runs
        .cancel(&uid, CancelReason::Deleted, Duration::from_secs(3))
        .await
    {
        tracing::warn!("the run of a deleted Scan did not stop within 3 s; its late writes are removed with the Findings");
    }
    let findings: Api<Finding> = Api::namespaced(ctx.client.clone(), &ns);
    let lp = ListParams::default().labels(&format!("{SCAN_LABEL}={}", label_value(&scan.name_any())));
    findings.delete_collection(&DeleteParams::default(), &lp).await?;
    if let Some(e) = &scan.spec.export {
        remove_export(&ctx, &ns, &format!("{ns}/{}", e.path));
    }
    if let Some(loc) = scan.status.as_ref().and_then(|s| s.export_location.as_deref()) {
        remove_export(&ctx, &ns, loc);
    }
    ctx.forget(&uid);
    Ok(Action::await_change())
}

/// Remove an export `<namespace>/<path>` of namespace `ns` (best effort: never blocks deletion).
pub(crate) fn remove_export(ctx: &Context, ns: &str, location: &str) {
    let Some(dir) = &ctx.export_dir else { return };
    let Some(rel) = location.strip_prefix(ns).and_then(|r| r.strip_prefix('/')) else {
        return;
    };
    if let Err(e) = dir.remove(ns, rel) {
        tracing::warn!(namespace = ns, path = rel, error = %e, "could not remove an export");
    }
}

async fn write_status(api: &Api<Scan>, name: &str, status: &ScanStatus) -> Result<(), Error> {
    let patch = serde_json::json!({ "apiVersion": seg_crds::API_VERSION, "kind": "Scan", "status": status });
    api.patch_status(
        name,
        &PatchParams::apply(crate::FIELD_MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await?;
    Ok(())
}

fn with_conditions(
    mut status: ScanStatus,
    prev: Option<&ScanStatus>,
    want: &[Want],
    generation: Option<i64>,
    now: &str,
) -> ScanStatus {
    status.conditions = crate::conditions::merge(
        prev.map(|p| p.conditions.as_slice()).unwrap_or(&[]),
        want,
        generation,
        now,
    );
    status.observed_generation = generation;
    status
}

/// Decide, then act: start, observe or cancel the run, or record why nothing runs.
async fn apply(scan: Arc<Scan>, ctx: Arc<Context>) -> Result<Action, Error> {
    let ns = scan.namespace().ok_or(Error::MissingMetadata("namespace"))?;
    let name = scan.name_any();
    let uid = scan.uid().ok_or(Error::MissingMetadata("uid"))?;
    let now = (ctx.clock)();
    let at = Timestamp::parse(&now).map_err(|e| Error::invalid("ClockInvalid", e.to_string()))?;
    let observed = |scan: &Scan| decide::Observed {
        running: ctx.runs.running(&uid),
        bundle_ready: ctx.bundles.get(&ns, &scan.spec.benchmark_ref.name).is_some(),
        older_in_namespace: ctx.older_scans(scan),
        not_before: ctx.not_before(&uid),
    };
    let api: Api<Scan> = Api::namespaced(ctx.client.clone(), &ns);
    let mut next = decide(&scan, &observed(&scan), &ctx.limits, at);
    let mut scan = scan;
    if matches!(next, Next::Run { .. }) {
        // The Scan comes from the controller's cache, which a watch fills: the status this
        // operator has just written (the end of the previous run) may not be in it yet. Deciding
        // from that copy (still Running, no run in this process) would start a run the written
        // status rules out, and the run would write on top of the outdated status. A run starts
        // only from a fresh read, which is also the base of its status writes.
        let fresh = Arc::new(api.get(&name).await?);
        next = decide(&fresh, &observed(&fresh), &ctx.limits, at);
        scan = fresh;
    }
    tracing::debug!(?next, "decided");
    let generation = scan.meta().generation;
    let prev = scan.status.as_ref();
    match next {
        Next::Observe | Next::AwaitChange => Ok(Action::await_change()),
        Next::Suspended => {
            // A run cancelled by the suspension (or one that never started) must not leave the
            // status saying it runs.
            let stale = prev.is_some_and(|p| {
                matches!(p.phase, Some(ScanPhase::Running | ScanPhase::Pending))
                    || p.observed_generation != generation
            });
            if stale {
                let st = with_conditions(
                    ScanStatus {
                        phase: prev.and_then(|p| p.phase).map(|p| match p {
                            ScanPhase::Running => ScanPhase::Pending,
                            other => other,
                        }),
                        ..prev.cloned().unwrap_or_default()
                    },
                    prev,
                    &[Want {
                        type_: seg_crds::condition_type::RECONCILING,
                        status: seg_crds::ConditionStatus::False,
                        reason: "Suspended".into(),
                        message: "spec.suspend is true: no run starts".into(),
                    }],
                    generation,
                    &now,
                );
                if prev != Some(&st) {
                    write_status(&api, &name, &st).await?;
                }
            }
            Ok(Action::await_change())
        }
        Next::Cancel => {
            // The run's end triggers the next reconcile, which starts the new generation's run.
            ctx.runs
                .cancel(&uid, CancelReason::SpecChanged, Duration::from_secs(3))
                .await;
            Ok(Action::await_change())
        }
        Next::WaitUntil(t) => Ok(Action::requeue(until(at, t))),
        Next::Stalled { reason, message } => {
            // Over the namespace's Scan limit is not the Scan's fault: it stays Pending (so that it
            // runs once older Scans are gone) and is looked at again now and then.
            let over_limit = reason == "NamespaceScanLimit";
            let st = with_conditions(
                ScanStatus {
                    phase: Some(if over_limit {
                        ScanPhase::Pending
                    } else {
                        ScanPhase::Failed
                    }),
                    next_run_time: None,
                    ..prev.cloned().unwrap_or_default()
                },
                prev,
                &stalled(reason, message.clone()),
                generation,
                &now,
            );
            if prev != Some(&st) {
                warn(&ctx, &scan, reason, &message).await;
                write_status(&api, &name, &st).await?;
            }
            Ok(if over_limit {
                Action::requeue(Duration::from_secs(300))
            } else {
                Action::await_change()
            })
        }
        Next::PendingBenchmark => {
            let st = with_conditions(
                ScanStatus {
                    phase: Some(ScanPhase::Pending),
                    ..prev.cloned().unwrap_or_default()
                },
                prev,
                &[Want {
                    type_: seg_crds::condition_type::RECONCILING,
                    status: seg_crds::ConditionStatus::True,
                    reason: "BenchmarkNotReady".into(),
                    message: format!(
                        "waiting for Benchmark {ns}/{} to be Ready",
                        scan.spec.benchmark_ref.name
                    ),
                }],
                generation,
                &now,
            );
            if prev != Some(&st) {
                write_status(&api, &name, &st).await?;
            }
            // The Benchmark's changes trigger this Scan (watched).
            Ok(Action::await_change())
        }
        Next::Run { next_run } => {
            let reference = ObjectRef::new(&name).within(&ns);
            let started = ctx.runs.start(&uid, generation, reference, {
                let (ctx, scan) = (ctx.clone(), scan.clone());
                move |token| run::run(ctx, scan, token, next_run)
            });
            tracing::info!(started, generation, "run");
            Ok(Action::await_change())
        }
    }
}

/// How many retry intervals a run waits after a failure that will not pass by itself (access
/// denied, a role that cannot be assumed): long enough not to hammer the API, short enough that
/// fixing the cloud side (a trust policy) needs no change of the Scan.
pub const PERSISTENT_FAILURE_RETRY_FACTOR: u32 = 10;

/// `now + after`, or `next_run` when that comes first (pure).
pub(crate) fn retry_at(now: Timestamp, after: Duration, next_run: Option<Timestamp>) -> Option<Timestamp> {
    let after = i128::try_from(after.as_nanos()).unwrap_or(i128::MAX);
    let at = Timestamp::from_unix_nanos(now.unix_nanos().saturating_add(after)).ok()?;
    Some(match next_run {
        Some(n) if n < at => n,
        _ => at,
    })
}

/// Time from `now` to `then` (at least one second).
fn until(now: Timestamp, then: Timestamp) -> Duration {
    let ns = (then.unix_nanos() - now.unix_nanos()).max(1_000_000_000);
    Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
}

/// The inventory of a run: JSONL text, and the cloud calls that failed (a degraded run).
pub(crate) struct Gathered {
    pub(crate) text: String,
    pub(crate) errors: Vec<InventoryError>,
    /// Stored raw API responses behind each asset, by asset URN.
    pub(crate) evidence: BTreeMap<String, Vec<EvidenceReference>>,
}

/// Why no inventory could be gathered.
pub(crate) enum Gather {
    /// The spec or what it references is wrong: wait for a change.
    Invalid {
        reason: &'static str,
        message: String,
    },
    /// The cloud could not be read at all; `retry` when the cause may pass.
    Cloud {
        error: InventoryError,
        retry: bool,
    },
    Kube(Error),
    /// The inventory file could not be read.
    Path(seg_adapter_tenantfs::TenantFsError),
}

impl From<Error> for Gather {
    fn from(e: Error) -> Gather {
        match e {
            Error::Invalid { reason, message } => Gather::Invalid { reason, message },
            other => Gather::Kube(other),
        }
    }
}

async fn gather(ctx: &Context, ns: &str, scan: &Scan, at: Timestamp) -> Result<Gathered, Gather> {
    match scan.spec.provider {
        Provider::Inventory => Ok(Gathered {
            text: inventory_text(ctx, ns, scan).await?,
            errors: Vec::new(),
            evidence: BTreeMap::new(),
        }),
        Provider::Aws => crate::aws::gather(ctx, ns, scan, at).await,
        // decide() stalls these before a run starts.
        other => Err(Gather::Invalid {
            reason: "ProviderNotAvailable",
            message: format!(
                "spec.provider: {other:?} scans need a cloud adapter that this operator build does not include yet; use aws or inventory"
            ),
        }),
    }
}

async fn inventory_text(ctx: &Context, ns: &str, scan: &Scan) -> Result<String, Gather> {
    let Some(src) = &scan.spec.inventory else {
        return Err(Error::invalid("InventoryNotFound", "spec.inventory is not set").into());
    };
    if let Some(k) = &src.config_map_key_ref {
        let api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), ns);
        return api
            .get_opt(&k.name)
            .await
            .map_err(|e| Gather::Kube(e.into()))?
            .and_then(|cm| cm.data.and_then(|d| d.get(&k.key).cloned()))
            .ok_or_else(|| {
                Error::invalid(
                    "InventoryNotFound",
                    format!(
                        "spec.inventory.configMapKeyRef: ConfigMap {ns}/{} key {} not found",
                        k.name, k.key
                    ),
                )
                .into()
            });
    }
    if let Some(p) = &src.path {
        let Some(dir) = ctx.inventory_dir.clone() else {
            return Err(Gather::Invalid {
                reason: "InventoryNotFound",
                message: "spec.inventory.path: the operator has no inventory directory (--inventory-dir)"
                    .into(),
            });
        };
        // Under <inventory dir>/<namespace>/ only, never through a symlink, regular files only,
        // size-capped; read on a blocking thread (a slow volume must not stall the runtime).
        let (ns, p) = (ns.to_string(), p.clone());
        return tokio::task::spawn_blocking(move || dir.read_to_string(&ns, &p))
            .await
            .map_err(|e| Gather::Invalid {
                reason: "Internal",
                message: format!("inventory read task: {e}"),
            })?
            .map_err(Gather::Path);
    }
    Err(Error::invalid(
        "InventoryNotFound",
        "spec.inventory: neither configMapKeyRef nor path is set",
    )
    .into())
}

/// Status progress of a running evaluation (pure).
pub fn progress_of(p: &ProgressSnapshot) -> ScanProgress {
    let known = p.evaluations_total > 0 || p.assets_total > 0;
    let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    ScanProgress {
        assets_discovered: n(p.assets_total),
        assets_evaluated: n(p.assets_done),
        assets_total: known.then(|| n(p.assets_total)),
        controls_evaluated: n(p.evaluations_done),
        controls_total: known.then(|| n(p.evaluations_total)),
    }
}

/// Parse and evaluate an inventory (blocking: run it on a blocking thread).
fn evaluate(
    bundle: &CompiledBundle,
    text: &str,
    at: Timestamp,
    ns: &str,
    tags: BTreeMap<String, String>,
    progress: Arc<Progress>,
) -> Result<(ScanReport, usize), String> {
    let inventory = JsonlInventory::from_text(text);
    let mut options = ScanOptions::new(at);
    options.workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    options.progress = Some(progress);
    let ev = PolicyEvaluator {
        bundle,
        inventory: &inventory,
        options,
    };
    let request = EvalRequest {
        scope: Scope {
            org_id: ns.to_string(),
            tags,
            ..Scope::default()
        },
        control_ids: Vec::new(),
        assets: None,
        since: None,
    };
    ev.scan(&request)
        .map(|r| (r, inventory.problems.len()))
        .map_err(|e| e.to_string())
}

/// Transient errors back off exponentially (per Scan); an invalid spec was written to status
/// and waits for a change.
pub fn error_policy(scan: Arc<Scan>, err: &Error, ctx: Arc<Context>) -> Action {
    let key = scan.uid().unwrap_or_default();
    tracing::warn!(
        namespace = scan.metadata.namespace.as_deref().unwrap_or(""),
        name = scan.metadata.name.as_deref().unwrap_or(""),
        category = err.category().as_str(),
        error = %err,
        "scan reconcile failed"
    );
    if err.transient() {
        Action::requeue(ctx.reconcile_backoff.fail(&key))
    } else {
        Action::await_change()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_failed_run_is_retried_after_the_interval_or_at_the_scheduled_run_if_sooner() {
        let t = |s: &str| Timestamp::parse(s).unwrap();
        let now = t("2026-12-01T10:00:00Z");
        let minute = Duration::from_secs(60);
        assert_eq!(retry_at(now, minute, None), Some(t("2026-12-01T10:01:00Z")));
        assert_eq!(
            retry_at(now, minute * PERSISTENT_FAILURE_RETRY_FACTOR, None),
            Some(t("2026-12-01T10:10:00Z"))
        );
        let soon = t("2026-12-01T10:00:30Z");
        assert_eq!(retry_at(now, minute, Some(soon)), Some(soon));
        let later = t("2026-12-01T11:00:00Z");
        assert_eq!(
            retry_at(now, minute, Some(later)),
            Some(t("2026-12-01T10:01:00Z"))
        );
    }
}
