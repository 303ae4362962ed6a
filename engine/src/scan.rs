//! A scan: every selected control on every asset of its target kinds, in parallel, with a
//! deterministic result.

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::ids::{canonical_json, fingerprint, hash_fields, sha256_hex, uuid_from_hash};
use crate::inventory::InventoryItem;
use crate::model::{
    Asset, CheckResult, ControlSpec, EvalRequest, EvalResult, EvidencePointer, Finding, JsonMap, RunSummary,
    Scope, Severity, ValidationReport,
};
use crate::policy::{CompiledBundle, Decision, PreparedResource};
use crate::ports::{EvaluationPort, InventoryPort, PageRequest, PortError};
use crate::time::Timestamp;

/// Media type of an evidence stub body.
pub const EVIDENCE_MEDIA_TYPE: &str = "application/vnd.seg.evidence-stub+json";

/// How to run a scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// The evaluation time, passed to every policy. Also the time of every record produced.
    pub evaluation_time: Timestamp,
    pub scope: Scope,
    /// Worker threads (at least 1).
    pub workers: usize,
    /// Per-control parameter overrides merged over the manifest inputs.
    pub overrides: BTreeMap<String, JsonMap>,
    /// Counters a caller can read while the scan runs (from another thread), e.g. to report
    /// progress. They do not influence the result.
    pub progress: Option<Arc<Progress>>,
}

/// Live counters of a running scan. Totals are set once the layout is known, before the first
/// evaluation; the done counters grow as workers finish assets.
#[derive(Debug, Default)]
pub struct Progress {
    assets_total: AtomicU64,
    evaluations_total: AtomicU64,
    assets_done: AtomicU64,
    evaluations_done: AtomicU64,
    cancelled: std::sync::atomic::AtomicBool,
}

/// A consistent-enough reading of [`Progress`] (each counter is read once).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProgressSnapshot {
    pub assets_total: u64,
    pub evaluations_total: u64,
    pub assets_done: u64,
    pub evaluations_done: u64,
}

impl Progress {
    pub fn snapshot(&self) -> ProgressSnapshot {
        ProgressSnapshot {
            assets_total: self.assets_total.load(Ordering::Relaxed),
            evaluations_total: self.evaluations_total.load(Ordering::Relaxed),
            assets_done: self.assets_done.load(Ordering::Relaxed),
            evaluations_done: self.evaluations_done.load(Ordering::Relaxed),
        }
    }

    /// Ask the scan to stop: the assets not started yet are skipped, so the report is partial
    /// and must be discarded. Used when a run is cancelled or over its time budget.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    fn asset_done(&self, evaluations: usize) {
        self.assets_done.fetch_add(1, Ordering::Relaxed);
        self.evaluations_done
            .fetch_add(evaluations as u64, Ordering::Relaxed);
    }
}

impl ScanOptions {
    pub fn new(evaluation_time: Timestamp) -> ScanOptions {
        ScanOptions {
            evaluation_time,
            scope: Scope::default(),
            workers: 1,
            overrides: BTreeMap::new(),
            progress: None,
        }
    }
}

/// Everything a scan produced.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanReport {
    /// Run summary, one finding per (control, asset) evaluated, evidence pointers.
    pub eval: EvalResult,
    /// Evidence bodies (canonical JSON text) by pointer hash.
    pub evidence_bodies: BTreeMap<String, Box<str>>,
    /// The assets evaluated, by URN.
    pub assets: BTreeMap<String, Asset>,
}

impl ScanReport {
    pub fn count(&self, key: &str) -> u64 {
        self.eval.run.counts.get(key).copied().unwrap_or(0)
    }
}

/// The result of one (control, asset) evaluation and its place in the report.
struct Produced {
    slot: usize,
    finding: Finding,
    evidence: Vec<(EvidencePointer, Box<str>)>,
}

/// Where each evaluation goes in the report: ordered by control, then asset URN.
///
/// Computed before evaluating, so that workers can finish in any order and nothing is sorted
/// or grown afterwards: the report is filled slot by slot.
struct Layout {
    /// Per item: the index in `slots` of its first control's slot.
    item_first: Vec<usize>,
    /// Slot numbers, per item, one per control of its kind (in `controls_for_kind` order).
    slots: Vec<usize>,
    total: usize,
}

fn layout<T: Borrow<InventoryItem>>(bundle: &CompiledBundle, items: &[T]) -> Layout {
    let mut by_urn: Vec<usize> = (0..items.len()).collect();
    by_urn.sort_by(|a, b| {
        let urn = |i: usize| &items[i].borrow().asset.asset_ref.urn;
        urn(*a).cmp(urn(*b))
    });
    let mut per_control = vec![0usize; bundle.controls.len()];
    let mut item_first = Vec::with_capacity(items.len());
    let mut total = 0;
    for item in items {
        item_first.push(total);
        let controls = bundle.controls_for_kind(&item.borrow().asset.kind);
        total += controls.len();
        for &c in controls {
            per_control[c] += 1;
        }
    }
    let mut next = Vec::with_capacity(per_control.len());
    let mut acc = 0;
    for n in &per_control {
        next.push(acc);
        acc += n;
    }
    let mut slots = vec![0usize; total];
    for &i in &by_urn {
        for (k, &c) in bundle
            .controls_for_kind(&items[i].borrow().asset.kind)
            .iter()
            .enumerate()
        {
            slots[item_first[i] + k] = next[c];
            next[c] += 1;
        }
    }
    Layout {
        item_first,
        slots,
        total,
    }
}

/// Evaluate one item with every control of its kind.
fn evaluate_item(
    bundle: &CompiledBundle,
    ev: &mut crate::policy::Evaluator<'_>,
    item: &InventoryItem,
    first_slot: usize,
    lay: &Layout,
    opts: &ScanOptions,
    out: &mut impl FnMut(Produced),
) {
    let controls = bundle.controls_for_kind(&item.asset.kind);
    if controls.is_empty() || opts.progress.as_ref().is_some_and(|p| p.is_cancelled()) {
        return;
    }
    let resource = PreparedResource::from_json(item.config.body.get());
    let mut resource_hash: Option<String> = None;
    for (k, &ci) in controls.iter().enumerate() {
        let spec = &bundle.controls[ci];
        let d = match &resource {
            Ok(r) => ev.evaluate(ci, r, opts.overrides.get(&spec.id), opts.evaluation_time),
            Err(e) => Decision::error(e.to_string()),
        };
        let mut evidence = Vec::with_capacity(d.evidence.len());
        for stub in d.evidence {
            let rh = resource_hash.get_or_insert_with(|| sha256_hex(item.config.body.get().as_bytes()));
            let stub_text = canonical_json(&stub);
            // The pointer binds the stub to the control, the asset and the exact resource text.
            let hash = format!(
                "sha256:{}",
                hash_fields(&[
                    "seg.evidence.v1",
                    &spec.id,
                    &item.asset.asset_ref.urn,
                    &item.config.captured_at.to_rfc3339(),
                    rh,
                    &stub_text
                ])
            );
            evidence.push((
                EvidencePointer {
                    hash,
                    uri: None,
                    media_type: EVIDENCE_MEDIA_TYPE.into(),
                },
                stub_text.into_boxed_str(),
            ));
        }
        let fp = fingerprint(&spec.benchmark, &spec.id, &item.asset.asset_ref.urn);
        let finding = Finding {
            id: uuid_from_hash(&fp),
            control_id: spec.id.clone(),
            control_version: spec.version.clone(),
            asset: item.asset.asset_ref.clone(),
            result: d.result,
            severity: spec.severity,
            message: d.message,
            evidence: evidence.iter().map(|(p, _)| p.clone()).collect(),
            created_at: opts.evaluation_time,
            updated_at: opts.evaluation_time,
            fingerprint: fp,
        };
        out(Produced {
            slot: lay.slots[first_slot + k],
            finding,
            evidence,
        });
    }
    if let Some(p) = &opts.progress {
        p.asset_done(controls.len());
    }
}

/// Evaluate the bundle's controls over the items (owned, or borrowed from an inventory).
pub fn scan<T: Borrow<InventoryItem> + Sync>(
    bundle: &CompiledBundle,
    items: &[T],
    opts: &ScanOptions,
) -> ScanReport {
    const CHUNK: usize = 128;
    let lay = layout(bundle, items);
    if let Some(p) = &opts.progress {
        let assets = items
            .iter()
            .map(Borrow::borrow)
            .filter(|i: &&InventoryItem| !bundle.controls_for_kind(&i.asset.kind).is_empty())
            .count();
        p.assets_total.store(assets as u64, Ordering::Relaxed);
        p.evaluations_total.store(lay.total as u64, Ordering::Relaxed);
    }
    let workers = opts.workers.max(1).min(items.len().div_ceil(CHUNK).max(1));
    let mut results: Vec<Option<Finding>> = Vec::with_capacity(lay.total);
    results.resize_with(lay.total, || None);
    let mut evidence_bodies: BTreeMap<String, Box<str>> = BTreeMap::new();
    let mut pointers = Vec::new();
    let mut place = |p: Produced| {
        for (ptr, body) in p.evidence {
            if let std::collections::btree_map::Entry::Vacant(e) = evidence_bodies.entry(ptr.hash.clone()) {
                e.insert(body);
                pointers.push(ptr);
            }
        }
        if let Some(slot) = results.get_mut(p.slot) {
            *slot = Some(p.finding);
        }
    };
    if workers == 1 {
        let mut ev = bundle.evaluator();
        for (i, item) in items.iter().enumerate() {
            evaluate_item(
                bundle,
                &mut ev,
                item.borrow(),
                lay.item_first[i],
                &lay,
                opts,
                &mut place,
            );
        }
    } else {
        let next = AtomicUsize::new(0);
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Produced>>(workers * 4);
        std::thread::scope(|s| {
            for _ in 0..workers {
                let tx = tx.clone();
                let (next, lay) = (&next, &lay);
                s.spawn(move || {
                    let mut ev = bundle.evaluator();
                    loop {
                        let start = next.fetch_add(CHUNK, Ordering::Relaxed);
                        if start >= items.len() {
                            break;
                        }
                        let mut batch = Vec::new();
                        for (i, item) in items.iter().enumerate().skip(start).take(CHUNK) {
                            evaluate_item(
                                bundle,
                                &mut ev,
                                item.borrow(),
                                lay.item_first[i],
                                lay,
                                opts,
                                &mut |p| batch.push(p),
                            );
                        }
                        if tx.send(batch).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(tx);
            for batch in rx {
                for p in batch {
                    place(p);
                }
            }
        });
    }
    let findings: Vec<Finding> = results.into_iter().flatten().collect();

    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for r in CheckResult::ALL {
        counts.insert(r.as_str().to_string(), 0);
    }
    for f in &findings {
        *counts.entry(f.result.as_str().to_string()).or_default() += 1;
        if f.result == CheckResult::Fail {
            *counts.entry(format!("fail.{}", f.severity)).or_default() += 1;
        }
    }
    pointers.sort();
    let assets: BTreeMap<String, Asset> = items
        .iter()
        .map(Borrow::borrow)
        .filter(|i: &&InventoryItem| !bundle.controls_for_kind(&i.asset.kind).is_empty())
        .map(|i| (i.asset.asset_ref.urn.clone(), i.asset.clone()))
        .collect();
    counts.insert("assets".into(), assets.len() as u64);
    counts.insert("evaluations".into(), findings.len() as u64);

    let mut inventory: Vec<String> = items
        .iter()
        .map(Borrow::borrow)
        .map(|i: &InventoryItem| hash_fields(&[&i.asset.asset_ref.urn, &i.config.captured_at.to_rfc3339()]))
        .collect();
    inventory.sort();
    let controls: Vec<&str> = bundle.controls.iter().map(|c| c.id.as_str()).collect();
    let overrides = serde_json::to_value(&opts.overrides)
        .map(|v| canonical_json(&v))
        .unwrap_or_default();
    let signature = bundle.signature.label();
    let run_hash = hash_fields(&[
        "seg.run.v2",
        &bundle.digest,
        &signature,
        &controls.join(","),
        &overrides,
        &hash_fields(&inventory.iter().map(String::as_str).collect::<Vec<_>>()),
        &opts.evaluation_time.to_rfc3339(),
        &opts.scope.org_id,
    ]);
    let run = RunSummary {
        run_id: uuid_from_hash(&run_hash),
        scope: opts.scope.clone(),
        started_at: opts.evaluation_time,
        ended_at: opts.evaluation_time,
        controls: bundle.controls.iter().map(|c| c.id.clone()).collect(),
        counts,
    };
    ScanReport {
        eval: EvalResult {
            run,
            findings,
            evidence: pointers,
        },
        evidence_bodies,
        assets,
    }
}

/// Counts of failing findings by severity, most severe first.
pub fn failures_by_severity(report: &ScanReport) -> Vec<(Severity, u64)> {
    Severity::ALL
        .iter()
        .map(|s| (*s, report.count(&format!("fail.{s}"))))
        .collect()
}

/// The [`EvaluationPort`] of the core: controls of a compiled bundle over an inventory port.
#[derive(Debug)]
pub struct PolicyEvaluator<'a, I> {
    pub bundle: &'a CompiledBundle,
    pub inventory: &'a I,
    pub options: ScanOptions,
}

impl<I: InventoryPort> PolicyEvaluator<'_, I> {
    /// Fetch the request's assets through the inventory port and scan them.
    pub fn scan(&self, request: &EvalRequest) -> Result<ScanReport, PortError> {
        let mut kinds: Vec<String> = Vec::new();
        for c in &self.bundle.controls {
            if request.control_ids.is_empty() || request.control_ids.contains(&c.id) {
                kinds.extend(c.target_kinds.iter().cloned());
            }
        }
        kinds.sort();
        kinds.dedup();
        // An in-memory inventory lends its items: no copy of every configuration body.
        if let Some(mut lent) = self.inventory.borrow_items(&request.scope, &kinds, request.since) {
            if let Some(only) = &request.assets {
                lent.retain(|i| only.contains(&i.asset.asset_ref));
            }
            return self.scan_items(&lent, request);
        }
        let mut items = Vec::new();
        let mut page = PageRequest {
            cursor: None,
            limit: 1000,
        };
        loop {
            let got = self
                .inventory
                .list_assets(&request.scope, &kinds, request.since, &page)?;
            for asset in got.assets {
                if let Some(only) = &request.assets {
                    if !only.contains(&asset.asset_ref) {
                        continue;
                    }
                }
                let config = self.inventory.get_config(&asset.asset_ref, None)?;
                items.push(InventoryItem { asset, config });
            }
            match got.next_cursor {
                Some(c) => page.cursor = Some(c),
                None => break,
            }
        }
        self.scan_items(&items, request)
    }

    fn scan_items<T: Borrow<InventoryItem> + Sync>(
        &self,
        items: &[T],
        request: &EvalRequest,
    ) -> Result<ScanReport, PortError> {
        let mut opts = self.options.clone();
        opts.scope = request.scope.clone();
        if request.control_ids.is_empty() {
            return Ok(scan(self.bundle, items, &opts));
        }
        let mut narrowed = self.bundle.clone();
        narrowed
            .retain_controls(&request.control_ids)
            .map_err(PortError::from)?;
        Ok(scan(&narrowed, items, &opts))
    }
}

impl<I: InventoryPort> EvaluationPort for PolicyEvaluator<'_, I> {
    fn evaluate(&self, request: &EvalRequest) -> Result<EvalResult, PortError> {
        self.scan(request).map(|r| r.eval)
    }

    fn validate_control(&self, control: &ControlSpec) -> ValidationReport {
        let mut problems = Vec::new();
        match self.bundle.controls.iter().find(|c| c.id == control.id) {
            None => problems.push(format!(
                "control {} is not in bundle {}",
                control.id, self.bundle.manifest.id
            )),
            Some(known) if known.version != control.version => problems.push(format!(
                "control {} is at version {} in the bundle, not {}",
                control.id, known.version, control.version
            )),
            Some(_) => {}
        }
        if control.target_kinds.is_empty() {
            problems.push("target_kinds is empty".into());
        }
        if semver::Version::parse(&control.version).is_err() {
            problems.push(format!("version {:?} is not semver", control.version));
        }
        ValidationReport {
            control_id: control.id.clone(),
            valid: problems.is_empty(),
            problems,
        }
    }
}
