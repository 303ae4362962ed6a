//! The Scan reconciler: fetch the bundle and inventory, evaluate (pure engine), plan Finding writes
//! (pure), apply them, export OCSF, write status. Findings are removed through a finalizer.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{finalizer, Event as FinalizerEvent};
use kube::{Api, Resource, ResourceExt};
use seg_adapter_file::JsonlInventory;
use seg_crds::{
    condition_type, ConditionStatus, EvidenceReference, Finding, FindingSpec, FindingState, FindingStatus,
    InventoryError, LocalObjectReference, Provider, ResultCounts, Scan, ScanPhase, ScanProgress, ScanStatus,
    SeverityCounts,
};
use seg_engine::model::{EvalRequest, Scope};
use seg_engine::policy::CompiledBundle;
use seg_engine::scan::{PolicyEvaluator, Progress, ProgressSnapshot, ScanOptions, ScanReport};
use seg_engine::time::Timestamp;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::conditions::{merge, ready, stalled, Want};
use crate::error::Error;
use crate::findings::{self, Existing, Observed, State, Write};
use crate::Context;

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

fn status_of(o: &Observed, run_id: &str, media_type: &str, raw: &[EvidenceReference]) -> FindingStatus {
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
        note: Some(message.chars().take(1000).collect()),
        action: "Scan".into(),
        secondary: None,
    };
    let _ = ctx.recorder.publish(&ev, &scan.object_ref(&())).await;
}

/// Server-side apply of a Finding's status (the only place Finding status is written).
async fn apply_finding_status(
    api: &Api<Finding>,
    pp: &PatchParams,
    name: &str,
    observed: &Observed,
    run_id: &str,
    raw: &[EvidenceReference],
) -> Result<(), Error> {
    let st = serde_json::json!({
        "apiVersion": seg_crds::API_VERSION,
        "kind": "Finding",
        "status": status_of(observed, run_id, seg_engine::scan::EVIDENCE_MEDIA_TYPE, raw),
    });
    api.patch_status(name, pp, &Patch::Apply(&st)).await?;
    Ok(())
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

/// Reconcile one Scan (through the finalizer helper).
pub async fn reconcile(scan: Arc<Scan>, ctx: Arc<Context>) -> Result<Action, Error> {
    let ns = scan.namespace().ok_or(Error::MissingMetadata("namespace"))?;
    let api: Api<Scan> = Api::namespaced(ctx.client.clone(), &ns);
    finalizer(&api, FINALIZER, scan, |event| async {
        match event {
            FinalizerEvent::Apply(scan) => apply(scan, ctx.clone()).await,
            FinalizerEvent::Cleanup(scan) => cleanup(scan, ctx.clone()).await,
        }
    })
    .await
    .map_err(|e| Error::Finalizer(e.to_string()))
}

async fn cleanup(scan: Arc<Scan>, ctx: Arc<Context>) -> Result<Action, Error> {
    let ns = scan.namespace().ok_or(Error::MissingMetadata("namespace"))?;
    let name = scan.name_any();
    let findings: Api<Finding> = Api::namespaced(ctx.client.clone(), &ns);
    let lp = ListParams::default().labels(&format!("{SCAN_LABEL}={name}"));
    for f in findings.list(&lp).await? {
        findings.delete(&f.name_any(), &DeleteParams::default()).await?;
    }
    Ok(Action::await_change())
}

fn with_conditions(
    mut status: ScanStatus,
    prev: Option<&ScanStatus>,
    want: &[Want],
    generation: Option<i64>,
    now: &str,
) -> ScanStatus {
    status.conditions = merge(
        prev.map(|p| p.conditions.as_slice()).unwrap_or(&[]),
        want,
        generation,
        now,
    );
    status.observed_generation = generation;
    status
}

async fn apply(scan: Arc<Scan>, ctx: Arc<Context>) -> Result<Action, Error> {
    let ns = scan.namespace().ok_or(Error::MissingMetadata("namespace"))?;
    let name = scan.name_any();
    let generation = scan.meta().generation;
    let prev = scan.status.as_ref();
    let api: Api<Scan> = Api::namespaced(ctx.client.clone(), &ns);
    let now = (ctx.clock)();

    let at = Timestamp::parse(&now).map_err(|e| Error::invalid("ClockInvalid", e.to_string()))?;
    if scan.spec.suspend {
        return Ok(Action::await_change());
    }
    // A run per generation, and on schedule: an unchanged, completed Scan is left alone until its
    // next run time. (Reconciles of one object never overlap, so a run is never started twice.)
    // A failed run of this generation is retried at its `nextRunTime`, not on every watch event
    // (its own status writes are some): a degraded cloud API is not called in a loop. Without a
    // `nextRunTime` (an invalid schedule) only a change of the Scan can help.
    let settled = prev
        .filter(|p| p.observed_generation == generation)
        .and_then(|p| p.phase);
    let next = prev
        .and_then(|p| p.next_run_time.as_deref())
        .and_then(|t| Timestamp::parse(t).ok());
    match (settled, next) {
        (Some(ScanPhase::Succeeded), _) if scan.spec.schedule.is_none() => return Ok(Action::await_change()),
        (Some(ScanPhase::Succeeded | ScanPhase::Failed), Some(n)) if n > at => {
            return Ok(Action::requeue(until(at, n)))
        }
        (Some(ScanPhase::Failed), None) => return Ok(Action::await_change()),
        _ => {}
    }
    let next_run = match &scan.spec.schedule {
        None => None,
        Some(s) => match crate::schedule::next_run(s, at) {
            Ok(t) => Some(t),
            Err(message) => {
                let st = with_conditions(
                    ScanStatus {
                        phase: Some(ScanPhase::Failed),
                        next_run_time: None,
                        ..prev.cloned().unwrap_or_default()
                    },
                    prev,
                    &stalled("ScheduleInvalid", message.clone()),
                    generation,
                    &now,
                );
                if prev != Some(&st) {
                    warn(&ctx, &scan, "ScheduleInvalid", &message).await;
                    write_status(&api, &name, &st).await?;
                }
                return Ok(Action::await_change());
            }
        },
    };
    let Some(bundle) = ctx.bundles.get(&ns, &scan.spec.benchmark_ref.name) else {
        let want = vec![Want {
            type_: condition_type::RECONCILING,
            status: ConditionStatus::True,
            reason: "BenchmarkNotReady".into(),
            message: format!(
                "waiting for Benchmark {ns}/{} to be Ready",
                scan.spec.benchmark_ref.name
            ),
        }];
        let s = with_conditions(
            ScanStatus {
                phase: Some(ScanPhase::Pending),
                ..prev.cloned().unwrap_or_default()
            },
            prev,
            &want,
            generation,
            &now,
        );
        if prev != Some(&s) {
            write_status(&api, &name, &s).await?;
        }
        return Ok(Action::requeue(Duration::from_secs(5)));
    };
    // One evaluation slot per running Scan (bounded memory); the others wait, and say so.
    let permit = match ctx.evaluation_slots.clone().try_acquire_owned() {
        Ok(p) => p,
        Err(_) => {
            let queued = with_conditions(
                ScanStatus {
                    phase: Some(ScanPhase::Pending),
                    ..prev.cloned().unwrap_or_default()
                },
                prev,
                &[Want {
                    type_: condition_type::RECONCILING,
                    status: ConditionStatus::True,
                    reason: "Queued".into(),
                    message: "waiting for an evaluation slot (other Scans are evaluating; see --max-concurrent-scans)"
                        .into(),
                }],
                generation,
                &now,
            );
            if prev != Some(&queued) {
                write_status(&api, &name, &queued).await?;
            }
            ctx.evaluation_slots
                .clone()
                .acquire_owned()
                .await
                .map_err(|e| Error::invalid("Internal", format!("evaluation slots closed: {e}")))?
        }
    };
    let now = (ctx.clock)();
    let at = Timestamp::parse(&now).map_err(|e| Error::invalid("ClockInvalid", e.to_string()))?;
    // A run in progress: started now, progress from zero, with what it is doing.
    let in_progress = |reason: &str, message: String| {
        with_conditions(
            ScanStatus {
                phase: Some(ScanPhase::Running),
                last_run_time: Some(now.clone()),
                progress: Some(progress_of(&ProgressSnapshot::default())),
                ..prev.cloned().unwrap_or_default()
            },
            prev,
            &[Want {
                type_: condition_type::RECONCILING,
                status: ConditionStatus::True,
                reason: reason.into(),
                message,
            }],
            generation,
            &now,
        )
    };
    let running = in_progress("Scanning", "evaluating the inventory".into());
    if scan.spec.provider != Provider::Inventory {
        let provider = format!("{:?}", scan.spec.provider).to_lowercase();
        let collecting = in_progress("Collecting", format!("collecting the inventory from {provider}"));
        write_status(&api, &name, &collecting).await?;
    }
    let gathered = match gather(&ctx, &ns, &scan, at).await {
        Ok(g) => g,
        Err(Gather::Invalid { reason, message }) => {
            // Re-checked after PERSISTENT_FAILURE_RETRY_FACTOR retry intervals (a referenced
            // Secret or ConfigMap may appear), or at once when the Scan changes.
            let s = with_conditions(
                ScanStatus {
                    phase: Some(ScanPhase::Failed),
                    next_run_time: retry_time(&ctx, next_run, PERSISTENT_FAILURE_RETRY_FACTOR)
                        .or_else(|| next_run.map(|t| t.to_rfc3339())),
                    ..prev.cloned().unwrap_or_default()
                },
                prev,
                &stalled(reason, message.clone()),
                generation,
                &now,
            );
            if prev != Some(&s) {
                warn(&ctx, &scan, reason, &message).await;
                write_status(&api, &name, &s).await?;
            }
            return Ok(Action::requeue(
                ctx.retry_interval.saturating_mul(PERSISTENT_FAILURE_RETRY_FACTOR),
            ));
        }
        Err(Gather::Cloud { error, retry }) => {
            // Nothing could be read: the run failed with the adapter's code; retried after the
            // retry interval when the cause may pass (a time-out, an unreachable endpoint), after
            // PERSISTENT_FAILURE_RETRY_FACTOR intervals when it needs a fix (access denied).
            let message = format!("{}: {}", error.code, error.message);
            let factor = if retry { 1 } else { PERSISTENT_FAILURE_RETRY_FACTOR };
            let s = with_conditions(
                ScanStatus {
                    phase: Some(ScanPhase::Failed),
                    last_run_time: Some(now.clone()),
                    next_run_time: retry_time(&ctx, next_run, factor)
                        .or_else(|| next_run.map(|t| t.to_rfc3339())),
                    inventory_errors: vec![error],
                    ..prev.cloned().unwrap_or_default()
                },
                prev,
                &[Want {
                    type_: condition_type::READY,
                    status: ConditionStatus::False,
                    reason: "InventoryUnavailable".into(),
                    message: message.clone(),
                }],
                generation,
                &now,
            );
            warn(&ctx, &scan, "InventoryUnavailable", &message).await;
            write_status(&api, &name, &s).await?;
            return Ok(Action::requeue(ctx.retry_interval.saturating_mul(factor)));
        }
        Err(Gather::Kube(e)) => return Err(e),
    };
    let Gathered {
        text,
        errors: inventory_errors,
        evidence: raw_evidence,
    } = gathered;
    write_status(&api, &name, &running).await?;

    let progress = Arc::new(Progress::default());
    let mut job = tokio::task::spawn_blocking({
        let (bundle, progress, org) = (bundle.clone(), progress.clone(), ns.clone());
        let tags = scan.spec.tags.clone();
        move || evaluate(&bundle, &text, at, &org, tags, progress)
    });
    let mut tick = tokio::time::interval(ctx.progress_interval);
    tick.tick().await;
    let mut last = running.clone();
    let (report, problems) = loop {
        tokio::select! {
            done = &mut job => {
                break done.map_err(|e| Error::invalid("Internal", format!("evaluation task failed: {e}")))??;
            }
            _ = tick.tick() => {
                let p = progress.snapshot();
                let st = ScanStatus { progress: Some(progress_of(&p)), ..last.clone() };
                if st != last {
                    write_status(&api, &name, &st).await?;
                    last = st;
                }
            }
        }
    };

    // Findings: plan (pure), then apply.
    let findings_api: Api<Finding> = Api::namespaced(ctx.client.clone(), &ns);
    let lp = ListParams::default().labels(&format!("{SCAN_LABEL}={name}"));
    let existing: Vec<Existing> = findings_api
        .list(&lp)
        .await?
        .into_iter()
        .map(|f| Existing {
            name: f.name_any(),
            observed: observed_of(f.status.as_ref()),
        })
        .collect();
    let cap = usize::try_from(scan.spec.limits.max_findings).unwrap_or(0);
    let plan = findings::plan(&name, &existing, &report.eval.findings, cap, at);
    let pp = PatchParams::apply(crate::FIELD_MANAGER).force();
    let run_id = report.eval.run.run_id.clone();
    // The stored raw API responses of a Finding's asset, when the run stored any.
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
    for w in &plan.writes {
        match w {
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
                    severity: conv(&finding.severity)
                        .ok_or_else(|| Error::invalid("Internal", "severity"))?,
                    fingerprint: finding.fingerprint.clone(),
                };
                let obj = serde_json::json!({
                    "apiVersion": seg_crds::API_VERSION,
                    "kind": "Finding",
                    "metadata": { "name": fname, "labels": { SCAN_LABEL: name } },
                    "spec": spec,
                });
                findings_api.patch(fname, &pp, &Patch::Apply(&obj)).await?;
                apply_finding_status(&findings_api, &pp, fname, observed, &run_id, raw_for(fname)).await?;
            }
            Write::Status {
                name: fname,
                observed,
            } => {
                apply_finding_status(&findings_api, &pp, fname, observed, &run_id, raw_for(fname)).await?;
            }
            Write::Delete { name: fname } => {
                findings_api.delete(fname, &DeleteParams::default()).await?;
            }
        }
    }

    let (report, export_location) = match &scan.spec.export {
        Some(e) => {
            let (report, location) = export(&ctx, report, bundle.clone(), &e.path).await?;
            (report, Some(location))
        }
        None => (report, None),
    };
    let (results, severities) = counts(&report);
    let evaluated = report.count("assets") as i64;
    let status = ScanStatus {
        observed_generation: generation,
        run_id: Some(run_id),
        phase: Some(ScanPhase::Succeeded),
        progress: Some(ScanProgress {
            assets_discovered: evaluated + problems as i64,
            assets_evaluated: evaluated,
            assets_total: Some(evaluated),
            controls_evaluated: report.count("evaluations") as i64,
            controls_total: Some(report.count("evaluations") as i64),
        }),
        result_counts: Some(results),
        severity_counts: Some(severities),
        findings_truncated: Some(plan.truncated),
        last_run_time: Some(now.clone()),
        last_completion_time: Some((ctx.clock)()),
        next_run_time: next_run.map(|t| t.to_rfc3339()),
        export_location,
        inventory_errors: inventory_errors.clone(),
        conditions: Vec::new(),
    };
    let message = format!(
        "{} evaluations: {} fail, {} Finding(s) recorded{}; {} inventory line(s) skipped",
        report.count("evaluations"),
        plan.failing,
        plan.recorded,
        if plan.truncated {
            " (truncated at limits.maxFindings)"
        } else {
            ""
        },
        problems
    );
    if !inventory_errors.is_empty() {
        // A degraded run: what was read is evaluated and counted, the run is not complete, and
        // the next run starts after the retry interval.
        let codes: Vec<String> = inventory_errors
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
        let message = format!(
            "{} cloud call(s) failed ({}{}); counts cover what was read: {message}",
            inventory_errors.len(),
            codes.join("; "),
            if inventory_errors.len() > 3 { "; ..." } else { "" }
        );
        let status = with_conditions(
            ScanStatus {
                phase: Some(ScanPhase::Failed),
                next_run_time: retry_time(&ctx, next_run, 1).or(status.next_run_time.clone()),
                ..status
            },
            Some(&running),
            &[Want {
                type_: condition_type::READY,
                status: ConditionStatus::False,
                reason: "InventoryIncomplete".into(),
                message: message.clone(),
            }],
            generation,
            &now,
        );
        warn(&ctx, &scan, "InventoryIncomplete", &message).await;
        write_status(&api, &name, &status).await?;
        drop(report);
        drop(permit);
        return Ok(Action::requeue(ctx.retry_interval));
    }
    let status = with_conditions(
        status,
        Some(&running),
        &ready("ScanSucceeded", message),
        generation,
        &now,
    );
    write_status(&api, &name, &status).await?;
    drop(report);
    drop(permit);
    Ok(match next_run {
        Some(next) => Action::requeue(until(at, next)),
        None => Action::await_change(),
    })
}

/// How many retry intervals a run waits after a failure that will not pass by itself (access
/// denied, a role that cannot be assumed): long enough not to hammer the API, short enough that
/// fixing the cloud side (a trust policy) needs no change of the Scan.
pub const PERSISTENT_FAILURE_RETRY_FACTOR: u32 = 10;

/// When a failed run is tried again: `factor` retry intervals after the clock's now, or the
/// schedule's next run when that comes first. `None` when the clock is unreadable.
fn retry_time(ctx: &Context, next_run: Option<Timestamp>, factor: u32) -> Option<String> {
    let now = Timestamp::parse(&(ctx.clock)()).ok()?;
    retry_at(now, ctx.retry_interval.saturating_mul(factor), next_run).map(Timestamp::to_rfc3339)
}

/// `now + after`, or `next_run` when that comes first (pure).
fn retry_at(now: Timestamp, after: Duration, next_run: Option<Timestamp>) -> Option<Timestamp> {
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
        other => Err(Gather::Invalid {
            reason: "ProviderNotAvailable",
            message: format!(
                "spec.provider: {other:?} scans need a cloud adapter that this operator build does not include yet; use aws or inventory"
            ),
        }),
    }
}

async fn inventory_text(ctx: &Context, ns: &str, scan: &Scan) -> Result<String, Error> {
    let Some(src) = &scan.spec.inventory else {
        return Err(Error::invalid("InventoryNotFound", "spec.inventory is not set"));
    };
    if let Some(k) = &src.config_map_key_ref {
        let api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), ns);
        return api
            .get_opt(&k.name)
            .await?
            .and_then(|cm| cm.data.and_then(|d| d.get(&k.key).cloned()))
            .ok_or_else(|| {
                Error::invalid(
                    "InventoryNotFound",
                    format!(
                        "spec.inventory.configMapKeyRef: ConfigMap {ns}/{} key {} not found",
                        k.name, k.key
                    ),
                )
            });
    }
    if let Some(p) = &src.path {
        let Some(dir) = &ctx.inventory_dir else {
            return Err(Error::invalid(
                "InventoryNotFound",
                "spec.inventory.path: the operator has no inventory directory (--inventory-dir)",
            ));
        };
        let path = dir.join(p);
        return tokio::fs::read_to_string(&path).await.map_err(|e| {
            Error::invalid(
                "InventoryNotFound",
                format!("spec.inventory.path: {}: {e}", path.display()),
            )
        });
    }
    Err(Error::invalid(
        "InventoryNotFound",
        "spec.inventory: neither configMapKeyRef nor path is set",
    ))
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
) -> Result<(ScanReport, usize), Error> {
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
        .map_err(|e| Error::invalid("InventoryInvalid", e.to_string()))
}

/// Write every result as OCSF JSONL to `<export dir>/<rel>`, streamed (rendered on all cores,
/// written in order) to a temporary file that is then renamed, so a reader never sees half a
/// file. Returns the report back with the location.
async fn export(
    ctx: &Context,
    report: ScanReport,
    bundle: Arc<CompiledBundle>,
    rel: &str,
) -> Result<(ScanReport, String), Error> {
    let Some(dir) = &ctx.export_dir else {
        return Err(Error::invalid(
            "ExportNotConfigured",
            "spec.export.path: the operator has no export directory (--export-dir)",
        ));
    };
    let path: PathBuf = dir.join(rel);
    tokio::task::spawn_blocking(move || {
        let result = write_export(&path, &report, &bundle);
        (report, result.map(|()| path.display().to_string()))
    })
    .await
    .map_err(|e| Error::invalid("Internal", format!("export task failed: {e}")))
    .and_then(|(report, r)| r.map(|loc| (report, loc)))
}

fn write_export(path: &std::path::Path, report: &ScanReport, bundle: &CompiledBundle) -> Result<(), Error> {
    use std::io::Write;
    let failed = |what: &std::path::Path, e: std::io::Error| {
        Error::invalid("ExportFailed", format!("{}: {e}", what.display()))
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| failed(parent, e))?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".partial");
    let tmp = PathBuf::from(tmp);
    let producer = seg_engine::ocsf::Producer::seg(env!("CARGO_PKG_VERSION"), bundle);
    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let file = std::fs::File::create(&tmp).map_err(|e| failed(&tmp, e))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    seg_engine::ocsf::write_jsonl(report, &bundle.controls, &producer, workers, &mut out)
        .and_then(|()| out.flush())
        .map_err(|e| failed(&tmp, e))?;
    drop(out);
    std::fs::rename(&tmp, path).map_err(|e| failed(path, e))
}

/// Transient errors back off; invalid input was written to status and waits for a change.
pub fn error_policy(_scan: Arc<Scan>, err: &Error, _ctx: Arc<Context>) -> Action {
    if err.transient() {
        Action::requeue(Duration::from_secs(5))
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
