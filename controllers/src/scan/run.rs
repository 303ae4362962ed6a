//! One run of a Scan, outside reconcile: resolve the bundle, take an evaluation slot, gather the
//! inventory, evaluate (blocking threads, with a time budget), plan the Finding writes (pure),
//! write them, export OCSF, and record the outcome in the status. Each step has its own error
//! with a [`Category`]; every way out of a run writes status (but for a Scan being deleted).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kube::api::{DeleteParams, ListParams, Patch, PatchParams};
use kube::{Api, Resource, ResourceExt};
use seg_adapter_tenantfs::TenantFsError;
use seg_crds::{
    condition_type, ConditionStatus, EvidenceReference, Finding, FindingSpec, InventoryError,
    LocalObjectReference, Provider, Scan, ScanPhase, ScanProgress, ScanStatus,
};
use seg_engine::policy::CompiledBundle;
use seg_engine::scan::{Progress, ProgressSnapshot, ScanReport};
use seg_engine::time::Timestamp;

use super::{
    bounded, counts, label_value, observed_of, progress_of, status_of_finding, Gather, Gathered, SCAN_LABEL,
};
use crate::conditions::{merge, ready, stalled, Want};
use crate::error::Category;
use crate::findings::{self, Existing, Write};
use crate::runner::{CancelReason, RunToken};
use crate::Context;

/// Why a run did not complete, by step.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Resolve: the Benchmark's bundle is no longer loaded (deleted or failed in between).
    #[error("the Benchmark's bundle is not loaded")]
    BundleGone,
    /// Gather: the spec or what it references is wrong.
    #[error("{reason}: {message}")]
    GatherInvalid { reason: &'static str, message: String },
    /// Gather: the cloud could not be read at all.
    #[error("{}: {}", .error.code, .error.message)]
    Cloud { error: Box<InventoryError>, retry: bool },
    /// Gather: the Kubernetes API failed (reading a Secret or ConfigMap).
    #[error("reading the inventory's references: {0}")]
    GatherKube(#[source] kube::Error),
    /// Gather: the inventory file could not be read.
    #[error("spec.inventory.path: {0}")]
    InventoryPath(#[source] TenantFsError),
    /// Evaluate: the inventory is not valid.
    #[error("{0}")]
    InventoryInvalid(String),
    /// Evaluate: the evaluation took longer than its budget.
    #[error("the evaluation took longer than {0:?} (seg operator --evaluation-timeout-seconds)")]
    EvaluationTimeout(Duration),
    /// Evaluate: the evaluation thread failed.
    #[error("evaluation failed: {0}")]
    EvaluationFailed(String),
    /// Write: a Finding could not be written or listed.
    #[error("writing Findings: {0}")]
    Write(#[source] kube::Error),
    /// Export: the operator has no export directory.
    #[error("spec.export.path: the operator has no export directory (--export-dir)")]
    ExportNotConfigured,
    /// Export: the file could not be written.
    #[error("spec.export.path: {0}")]
    Export(#[source] TenantFsError),
    /// Status: a status write failed.
    #[error("writing the Scan status: {0}")]
    Status(#[source] kube::Error),
    /// The run was cancelled.
    #[error("cancelled")]
    Cancelled,
}

impl RunError {
    /// What the error means for the Scan.
    pub fn category(&self) -> Category {
        match self {
            RunError::BundleGone => Category::Transient,
            RunError::GatherInvalid { .. }
            | RunError::InventoryInvalid(_)
            | RunError::ExportNotConfigured => Category::InvalidSpec,
            RunError::Cloud { retry: true, .. } => Category::Transient,
            RunError::Cloud { retry: false, .. } => Category::Denied,
            RunError::GatherKube(e) | RunError::Write(e) | RunError::Status(e) => Category::of_kube(e),
            RunError::InventoryPath(e) | RunError::Export(e) => {
                if e.is_invalid() {
                    Category::InvalidSpec
                } else {
                    Category::Transient
                }
            }
            RunError::EvaluationTimeout(_) => Category::Transient,
            RunError::EvaluationFailed(_) => Category::Internal,
            RunError::Cancelled => Category::Transient,
        }
    }

    /// The condition reason the status shows.
    pub fn reason(&self) -> &'static str {
        match self {
            RunError::BundleGone => "BenchmarkNotReady",
            RunError::GatherInvalid { reason, .. } => reason,
            RunError::Cloud { .. } => "InventoryUnavailable",
            RunError::GatherKube(_) => "InventoryUnreadable",
            RunError::InventoryPath(_) => "InventoryNotFound",
            RunError::InventoryInvalid(_) => "InventoryInvalid",
            RunError::EvaluationTimeout(_) => "EvaluationTimeout",
            RunError::EvaluationFailed(_) => "Internal",
            RunError::Write(_) => "FindingWriteFailed",
            RunError::ExportNotConfigured => "ExportNotConfigured",
            RunError::Export(_) => "ExportFailed",
            RunError::Status(_) => "StatusWriteFailed",
            RunError::Cancelled => "Cancelled",
        }
    }
}

impl From<Gather> for RunError {
    fn from(g: Gather) -> RunError {
        match g {
            Gather::Invalid { reason, message } => RunError::GatherInvalid { reason, message },
            Gather::Cloud { error, retry } => RunError::Cloud {
                error: Box::new(error),
                retry,
            },
            Gather::Kube(crate::Error::Kube(e)) => RunError::GatherKube(e),
            Gather::Kube(other) => RunError::GatherInvalid {
                reason: "InventoryUnreadable",
                message: other.to_string(),
            },
            Gather::Path(e) => RunError::InventoryPath(e),
        }
    }
}

/// What a completed run produced, for its final status.
struct Completed {
    run_id: String,
    report: ScanReport,
    problems: usize,
    rejected: usize,
    plan: findings::Plan,
    inventory_errors: Vec<InventoryError>,
    export_location: Option<String>,
}

/// Writes the status of one run, remembering what it wrote last (the base of the next write).
pub(crate) struct StatusWriter {
    api: Api<Scan>,
    name: String,
    generation: Option<i64>,
    pub(crate) last: Option<ScanStatus>,
}

impl StatusWriter {
    pub(crate) fn new(api: Api<Scan>, scan: &Scan) -> StatusWriter {
        StatusWriter {
            api,
            name: scan.name_any(),
            generation: scan.meta().generation,
            last: scan.status.clone(),
        }
    }

    /// The status with `want` conditions merged over the last written ones.
    pub(crate) fn with(&self, status: ScanStatus, want: &[Want], now: &str) -> ScanStatus {
        let prev = self.last.as_ref().map(|p| p.conditions.as_slice()).unwrap_or(&[]);
        ScanStatus {
            conditions: merge(prev, want, self.generation, now),
            observed_generation: self.generation,
            ..status
        }
    }

    /// The last status, or an empty one.
    pub(crate) fn base(&self) -> ScanStatus {
        self.last.clone().unwrap_or_default()
    }

    /// Server-side apply of the status, unless it is what was written last.
    pub(crate) async fn write(&mut self, status: ScanStatus) -> Result<bool, kube::Error> {
        if self.last.as_ref() == Some(&status) {
            return Ok(false);
        }
        let patch =
            serde_json::json!({ "apiVersion": seg_crds::API_VERSION, "kind": "Scan", "status": status });
        self.api
            .patch_status(
                &self.name,
                &PatchParams::apply(crate::FIELD_MANAGER).force(),
                &Patch::Apply(&patch),
            )
            .await?;
        self.last = Some(status);
        Ok(true)
    }
}

fn in_progress(
    w: &StatusWriter,
    reason: &str,
    message: String,
    now: &str,
    started: Option<&str>,
) -> ScanStatus {
    w.with(
        ScanStatus {
            phase: Some(if started.is_some() {
                ScanPhase::Running
            } else {
                ScanPhase::Pending
            }),
            last_run_time: started.map(str::to_string).or(w.base().last_run_time),
            progress: started
                .map(|_| progress_of(&ProgressSnapshot::default()))
                .or(w.base().progress),
            ..w.base()
        },
        &[Want {
            type_: condition_type::RECONCILING,
            status: ConditionStatus::True,
            reason: reason.into(),
            message,
        }],
        now,
    )
}

/// Run a Scan to its end and record the outcome. Called by the runner with the run's token.
pub(crate) async fn run(ctx: Arc<Context>, scan: Arc<Scan>, token: RunToken, next_run: Option<Timestamp>) {
    let ns = scan.namespace().unwrap_or_default();
    let uid = scan.uid().unwrap_or_default();
    let api: Api<Scan> = Api::namespaced(ctx.client.clone(), &ns);
    let mut w = StatusWriter::new(api, &scan);
    let outcome = tokio::select! {
        biased;
        () = token.cancelled() => Err(RunError::Cancelled),
        r = pipeline(&ctx, &scan, &ns, &token, &mut w) => r,
    };
    let recorded = record(&ctx, &scan, &mut w, outcome, token.reason(), next_run).await;
    match recorded {
        Ok(()) => ctx.hold_back.reset(&uid),
        Err(e) => {
            // The status could not be written: hold the next run back (with back-off) so that a
            // refused write cannot make a loop of runs.
            let wait = ctx.hold_back.fail(&uid);
            ctx.set_not_before(&uid, wait);
            tracing::error!(namespace = %ns, scan = %scan.name_any(), error = %e, retry_in = ?wait,
                "could not record the outcome of a run");
        }
    }
}

async fn pipeline(
    ctx: &Context,
    scan: &Scan,
    ns: &str,
    token: &RunToken,
    w: &mut StatusWriter,
) -> Result<Completed, RunError> {
    let name = scan.name_any();
    // Resolve.
    let bundle = ctx
        .bundles
        .get(ns, &scan.spec.benchmark_ref.name)
        .ok_or(RunError::BundleGone)?;
    // One evaluation slot per running Scan (bounded memory), shared fairly between namespaces.
    let _permit = match ctx.slots.try_acquire(ns) {
        Some(p) => p,
        None => {
            let now = (ctx.clock)();
            let queued = in_progress(
                w,
                "Queued",
                "waiting for an evaluation slot (other Scans are evaluating; see --max-concurrent-scans)"
                    .into(),
                &now,
                None,
            );
            w.write(queued).await.map_err(RunError::Status)?;
            ctx.slots.acquire(ns).await
        }
    };
    let now = (ctx.clock)();
    let at = Timestamp::parse(&now).map_err(|e| RunError::EvaluationFailed(format!("clock: {e}")))?;
    // Gather.
    if scan.spec.provider != Provider::Inventory {
        let provider = format!("{:?}", scan.spec.provider).to_lowercase();
        let collecting = in_progress(
            w,
            "Collecting",
            format!("collecting the inventory from {provider}"),
            &now,
            Some(&now),
        );
        w.write(collecting).await.map_err(RunError::Status)?;
    }
    let Gathered {
        text,
        errors: inventory_errors,
        evidence: raw_evidence,
    } = super::gather(ctx, ns, scan, at).await?;
    let running = in_progress(w, "Scanning", "evaluating the inventory".into(), &now, Some(&now));
    w.write(running).await.map_err(RunError::Status)?;

    // Evaluate, on blocking threads, within the time budget; progress written as it goes.
    let progress = Arc::new(Progress::default());
    let mut job = tokio::task::spawn_blocking({
        let (bundle, progress, org) = (bundle.clone(), progress.clone(), ns.to_string());
        let tags = scan.spec.tags.clone();
        move || super::evaluate(&bundle, &text, at, &org, tags, progress)
    });
    let mut tick = tokio::time::interval(ctx.progress_interval);
    tick.tick().await;
    let deadline = tokio::time::sleep(ctx.evaluation_timeout);
    tokio::pin!(deadline);
    let cancel = progress.clone();
    let evaluated = loop {
        tokio::select! {
            done = &mut job => break done,
            () = &mut deadline => {
                cancel.cancel();
                return Err(RunError::EvaluationTimeout(ctx.evaluation_timeout));
            }
            () = token.cancelled() => {
                cancel.cancel();
                return Err(RunError::Cancelled);
            }
            _ = tick.tick() => {
                let p = progress.snapshot();
                let st = ScanStatus { progress: Some(progress_of(&p)), ..w.base() };
                w.write(st).await.map_err(RunError::Status)?;
            }
        }
    };
    let (mut report, problems) = evaluated
        .map_err(|e| RunError::EvaluationFailed(e.to_string()))?
        .map_err(RunError::InventoryInvalid)?;
    // Bounded inputs: a result whose Finding the API server would refuse becomes an error.
    let rejected = bounded::reject_unwritable(&mut report);

    // Plan the Finding writes (pure), within this Scan's and the namespace's limits.
    let findings_api: Api<Finding> = Api::namespaced(ctx.client.clone(), ns);
    let all = findings_api
        .list(&ListParams::default())
        .await
        .map_err(RunError::Write)?;
    let label = label_value(&name);
    let (mine, others): (Vec<Finding>, Vec<Finding>) = all
        .into_iter()
        .partition(|f| f.labels().get(SCAN_LABEL).map(String::as_str) == Some(label.as_str()));
    let existing: Vec<Existing> = mine
        .iter()
        .map(|f| Existing {
            name: f.name_any(),
            observed: observed_of(f.status.as_ref()),
        })
        .collect();
    let own_cap = usize::try_from(scan.spec.limits.max_findings).unwrap_or(0);
    let cap = own_cap.min(ctx.max_findings_per_namespace.saturating_sub(others.len()));
    let plan = findings::plan(&name, &existing, &report.eval.findings, cap, at);

    // Write.
    let pp = PatchParams::apply(crate::FIELD_MANAGER).force();
    let run_id = report.eval.run.run_id.clone();
    let owner = scan.controller_owner_ref(&()).map(|mut o| {
        o.block_owner_deletion = None;
        o
    });
    let urn_by_name: BTreeMap<String, &str> = if raw_evidence.is_empty() {
        BTreeMap::new()
    } else {
        report
            .eval
            .findings
            .iter()
            .map(|f| {
                (
                    seg_crds::finding_name(&name, &f.fingerprint),
                    f.asset.urn.as_str(),
                )
            })
            .collect()
    };
    let raw_for = |fname: &str| {
        urn_by_name
            .get(fname)
            .and_then(|u| raw_evidence.get(*u))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    };
    for wr in &plan.writes {
        if token.is_cancelled() {
            return Err(RunError::Cancelled);
        }
        match wr {
            Write::Create {
                name: fname,
                finding,
                observed,
            } => {
                let spec = FindingSpec {
                    scan_ref: LocalObjectReference { name: name.clone() },
                    bundle_id: bundle.manifest.id.clone(),
                    control_id: finding.control_id.clone(),
                    control_version: finding.control_version.clone(),
                    asset_urn: finding.asset.urn.clone(),
                    severity: super::conv(&finding.severity)
                        .ok_or_else(|| RunError::EvaluationFailed("severity".into()))?,
                    fingerprint: finding.fingerprint.clone(),
                };
                let obj = serde_json::json!({
                    "apiVersion": seg_crds::API_VERSION,
                    "kind": "Finding",
                    "metadata": {
                        "name": fname,
                        "labels": { SCAN_LABEL: label },
                        "ownerReferences": owner.iter().collect::<Vec<_>>(),
                    },
                    "spec": spec,
                });
                findings_api
                    .patch(fname, &pp, &Patch::Apply(&obj))
                    .await
                    .map_err(RunError::Write)?;
                apply_finding_status(&findings_api, &pp, fname, observed, &run_id, raw_for(fname)).await?;
            }
            Write::Status {
                name: fname,
                observed,
            } => {
                apply_finding_status(&findings_api, &pp, fname, observed, &run_id, raw_for(fname)).await?;
            }
            Write::Delete { name: fname } => {
                match findings_api.delete(fname, &DeleteParams::default()).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(s)) if s.code == 404 => {}
                    Err(e) => return Err(RunError::Write(e)),
                }
            }
        }
    }

    // Export.
    let (report, export_location) = match &scan.spec.export {
        Some(e) => {
            let (report, location) = export(ctx, ns, report, bundle.clone(), &e.path).await?;
            // The run replaced its export; the file of an earlier path of this Scan goes.
            if let Some(old) = w.base().export_location.filter(|o| *o != location) {
                super::remove_export(ctx, ns, &old);
            }
            (report, Some(location))
        }
        None => (report, None),
    };
    Ok(Completed {
        run_id,
        report,
        problems,
        rejected,
        plan,
        inventory_errors,
        export_location,
    })
}

async fn apply_finding_status(
    api: &Api<Finding>,
    pp: &PatchParams,
    name: &str,
    observed: &findings::Observed,
    run_id: &str,
    raw: &[EvidenceReference],
) -> Result<(), RunError> {
    let st = serde_json::json!({
        "apiVersion": seg_crds::API_VERSION,
        "kind": "Finding",
        "status": status_of_finding(observed, run_id, seg_engine::scan::EVIDENCE_MEDIA_TYPE, raw),
    });
    api.patch_status(name, pp, &Patch::Apply(&st))
        .await
        .map_err(RunError::Write)?;
    Ok(())
}

/// Write every result as OCSF JSONL to `<export dir>/<namespace>/<rel>` (streamed, atomic), on a
/// blocking thread that gets the report and gives it back. The location shown in the status is
/// `<namespace>/<rel>` on the export volume (never the operator's own paths).
async fn export(
    ctx: &Context,
    ns: &str,
    report: ScanReport,
    bundle: Arc<CompiledBundle>,
    rel: &str,
) -> Result<(ScanReport, String), RunError> {
    let Some(dir) = ctx.export_dir.clone() else {
        return Err(RunError::ExportNotConfigured);
    };
    let (ns, rel) = (ns.to_string(), rel.to_string());
    let job = tokio::task::spawn_blocking(move || {
        let producer = seg_engine::ocsf::Producer::seg(env!("CARGO_PKG_VERSION"), &bundle);
        let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let written = dir
            .write_atomic(&ns, &rel, |out| {
                seg_engine::ocsf::write_jsonl(&report, &bundle.controls, &producer, workers, out)
            })
            .map(|_| format!("{ns}/{rel}"))
            .map_err(RunError::Export);
        written.map(|location| (report, location))
    });
    job.await
        .map_err(|e| RunError::EvaluationFailed(format!("export task: {e}")))?
}

/// Record the outcome of a run in the status (and a Warning Event for failures).
async fn record(
    ctx: &Context,
    scan: &Scan,
    w: &mut StatusWriter,
    outcome: Result<Completed, RunError>,
    cancelled: Option<CancelReason>,
    next_run: Option<Timestamp>,
) -> Result<(), RunError> {
    let uid = scan.uid().unwrap_or_default();
    let now = (ctx.clock)();
    let at = Timestamp::parse(&now).map_err(|e| RunError::EvaluationFailed(format!("clock: {e}")))?;
    let next = next_run.map(|t| t.to_rfc3339());
    let status = match outcome {
        Err(RunError::Cancelled) => match cancelled {
            Some(CancelReason::Shutdown) => w.with(
                ScanStatus {
                    phase: Some(ScanPhase::Pending),
                    ..w.base()
                },
                &[Want {
                    type_: condition_type::RECONCILING,
                    status: ConditionStatus::True,
                    reason: "Interrupted".into(),
                    message: "the operator stopped during the run; the next leader runs it again".into(),
                }],
                &now,
            ),
            // Deleted, or the spec changed (the next run writes the status).
            _ => return Ok(()),
        },
        Err(RunError::BundleGone) => w.with(
            ScanStatus {
                phase: Some(ScanPhase::Pending),
                ..w.base()
            },
            &[Want {
                type_: condition_type::RECONCILING,
                status: ConditionStatus::True,
                reason: "BenchmarkNotReady".into(),
                message: format!(
                    "waiting for Benchmark {}/{} to be Ready",
                    scan.namespace().unwrap_or_default(),
                    scan.spec.benchmark_ref.name
                ),
            }],
            &now,
        ),
        Err(e) => {
            let category = e.category();
            let reason = e.reason();
            let message = bounded::message(&e.to_string());
            super::warn(ctx, scan, reason, &message).await;
            let mut st = ScanStatus {
                phase: Some(ScanPhase::Failed),
                last_completion_time: Some(now.clone()),
                ..w.base()
            };
            if let RunError::Cloud { error, .. } = &e {
                // Nothing could be read: the previous counts stay, with the call that failed.
                st.inventory_errors = vec![bounded::inventory_error((**error).clone())];
                st.inventory_errors_omitted = None;
            }
            let (want, retry) = match category {
                Category::InvalidSpec => (stalled(reason, message), None),
                Category::Denied => (
                    failing(reason, message),
                    Some(
                        ctx.retry_interval
                            .saturating_mul(super::PERSISTENT_FAILURE_RETRY_FACTOR),
                    ),
                ),
                Category::Transient | Category::Internal => {
                    (failing(reason, message), Some(ctx.backoff_run(&uid)))
                }
            };
            st.next_run_time = retry
                .and_then(|r| super::retry_at(at, r, next_run))
                .map(|t| t.to_rfc3339());
            w.with(st, &want, &now)
        }
        Ok(done) => {
            let (results, severities) = counts(&done.report);
            let evaluated = done.report.count("assets") as i64;
            let (errors, omitted) = bounded::inventory_errors(done.inventory_errors);
            let mut status = ScanStatus {
                run_id: Some(done.run_id),
                phase: Some(ScanPhase::Succeeded),
                progress: Some(ScanProgress {
                    assets_discovered: evaluated + done.problems as i64,
                    assets_evaluated: evaluated,
                    assets_total: Some(evaluated),
                    controls_evaluated: done.report.count("evaluations") as i64,
                    controls_total: Some(done.report.count("evaluations") as i64),
                }),
                result_counts: Some(results),
                severity_counts: Some(severities),
                findings_truncated: Some(done.plan.truncated),
                last_completion_time: Some(now.clone()),
                next_run_time: next.clone(),
                export_location: done.export_location,
                inventory_errors: errors,
                inventory_errors_omitted: omitted,
                ..w.base()
            };
            let message = format!(
                "{} evaluations: {} fail, {} Finding(s) recorded{}; {} inventory line(s) skipped{}",
                done.report.count("evaluations"),
                done.plan.failing,
                done.plan.recorded,
                if done.plan.truncated {
                    " (truncated at limits.maxFindings or the namespace's limit)"
                } else {
                    ""
                },
                done.problems,
                if done.rejected > 0 {
                    format!(
                        "; {} result(s) turned into errors: their Finding would be invalid",
                        done.rejected
                    )
                } else {
                    String::new()
                }
            );
            if status.inventory_errors.is_empty() {
                ctx.reset_run_backoff(&uid);
                w.with(status, &ready("ScanSucceeded", message), &now)
            } else {
                // A degraded run: what was read is evaluated and counted, the run is not
                // complete, and it is retried with back-off.
                let codes: Vec<String> = status
                    .inventory_errors
                    .iter()
                    .take(3)
                    .map(|e| {
                        format!(
                            "{} {} {} {}",
                            e.code,
                            e.service,
                            e.region,
                            e.operation.as_deref().unwrap_or("")
                        )
                    })
                    .collect();
                let total =
                    status.inventory_errors.len() + status.inventory_errors_omitted.unwrap_or(0) as usize;
                let message = bounded::message(&format!(
                    "{total} cloud call(s) failed ({}{}); counts cover what was read: {message}",
                    codes.join("; "),
                    if total > 3 { "; ..." } else { "" }
                ));
                super::warn(ctx, scan, "InventoryIncomplete", &message).await;
                status.phase = Some(ScanPhase::Failed);
                status.next_run_time = super::retry_at(at, ctx.backoff_run(&uid), next_run)
                    .map(|t| t.to_rfc3339())
                    .or(next);
                w.with(status, &failing("InventoryIncomplete", message), &now)
            }
        }
    };
    // The outcome must land: a few attempts before giving up (the caller holds the next run).
    let mut attempt = 0u32;
    loop {
        match w.write(status.clone()).await {
            Ok(_) => return Ok(()),
            Err(e) if attempt < 3 && Category::of_kube(&e) == Category::Transient => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
            }
            Err(e) => return Err(RunError::Status(e)),
        }
    }
}

/// Not ready, not stalled: the run failed and is retried at `nextRunTime`.
fn failing(reason: &str, message: String) -> Vec<Want> {
    vec![
        Want {
            type_: condition_type::READY,
            status: ConditionStatus::False,
            reason: reason.into(),
            message,
        },
        Want {
            type_: condition_type::RECONCILING,
            status: ConditionStatus::False,
            reason: reason.into(),
            message: String::new(),
        },
        Want {
            type_: condition_type::STALLED,
            status: ConditionStatus::False,
            reason: reason.into(),
            message: String::new(),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_error_has_a_category_that_decides_the_retry() {
        let fs_invalid = TenantFsError::InvalidPath {
            path: ".".into(),
            reason: "x".into(),
        };
        let cases: Vec<(RunError, Category, &str)> = vec![
            (RunError::BundleGone, Category::Transient, "BenchmarkNotReady"),
            (
                RunError::GatherInvalid {
                    reason: "CredentialsNotFound",
                    message: "x".into(),
                },
                Category::InvalidSpec,
                "CredentialsNotFound",
            ),
            (
                RunError::InventoryInvalid("bad line".into()),
                Category::InvalidSpec,
                "InventoryInvalid",
            ),
            (
                RunError::ExportNotConfigured,
                Category::InvalidSpec,
                "ExportNotConfigured",
            ),
            (
                RunError::Export(fs_invalid),
                Category::InvalidSpec,
                "ExportFailed",
            ),
            (
                RunError::EvaluationTimeout(Duration::from_secs(1)),
                Category::Transient,
                "EvaluationTimeout",
            ),
            (
                RunError::EvaluationFailed("x".into()),
                Category::Internal,
                "Internal",
            ),
        ];
        for (e, category, reason) in cases {
            assert_eq!(e.category(), category, "{e}");
            assert_eq!(e.reason(), reason, "{e}");
        }
    }
}
