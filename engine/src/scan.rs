//! A scan: every selected control on every asset of its target kinds, in parallel, with a
//! deterministic result.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

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
}

impl ScanOptions {
    pub fn new(evaluation_time: Timestamp) -> ScanOptions {
        ScanOptions {
            evaluation_time,
            scope: Scope::default(),
            workers: 1,
            overrides: BTreeMap::new(),
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

struct Produced {
    control: usize,
    finding: Finding,
    evidence: Vec<(EvidencePointer, Box<str>)>,
}

/// Evaluate the bundle's controls over the items.
pub fn scan(bundle: &CompiledBundle, items: &[InventoryItem], opts: &ScanOptions) -> ScanReport {
    let next = AtomicUsize::new(0);
    const CHUNK: usize = 128;
    let workers = opts.workers.max(1).min(items.len().div_ceil(CHUNK).max(1));
    let worker = || {
        let mut ev = bundle.evaluator();
        let mut out: Vec<Produced> = Vec::new();
        loop {
            let start = next.fetch_add(CHUNK, Ordering::Relaxed);
            if start >= items.len() {
                break;
            }
            for item in &items[start..(start + CHUNK).min(items.len())] {
                let controls = bundle.controls_for_kind(&item.asset.kind);
                if controls.is_empty() {
                    continue;
                }
                let resource = PreparedResource::from_json(item.config.body.get());
                let mut resource_hash: Option<String> = None;
                for &ci in controls {
                    let spec = &bundle.controls[ci];
                    let d = match &resource {
                        Ok(r) => ev.evaluate(ci, r, opts.overrides.get(&spec.id), opts.evaluation_time),
                        Err(e) => Decision::error(e.to_string()),
                    };
                    let mut evidence = Vec::with_capacity(d.evidence.len());
                    for stub in d.evidence {
                        let rh = resource_hash
                            .get_or_insert_with(|| sha256_hex(item.config.body.get().as_bytes()));
                        let body = serde_json::json!({
                            "control_id": spec.id,
                            "asset": item.asset.asset_ref.urn,
                            "captured_at": item.config.captured_at.to_rfc3339(),
                            "resource_sha256": rh,
                            "stub": stub,
                        });
                        let text = canonical_json(&body);
                        let hash = format!("sha256:{}", sha256_hex(text.as_bytes()));
                        evidence.push((
                            EvidencePointer {
                                hash,
                                uri: None,
                                media_type: EVIDENCE_MEDIA_TYPE.into(),
                            },
                            text.into_boxed_str(),
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
                    out.push(Produced {
                        control: ci,
                        finding,
                        evidence,
                    });
                }
            }
        }
        out
    };
    let mut produced: Vec<Produced> = if workers == 1 {
        worker()
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..workers).map(|_| s.spawn(worker)).collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        })
    };
    produced.sort_by(|a, b| {
        a.control
            .cmp(&b.control)
            .then_with(|| a.finding.asset.urn.cmp(&b.finding.asset.urn))
    });

    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for r in CheckResult::ALL {
        counts.insert(r.as_str().to_string(), 0);
    }
    let mut evidence_bodies = BTreeMap::new();
    let mut pointers = Vec::new();
    let mut findings = Vec::with_capacity(produced.len());
    for p in produced {
        *counts.entry(p.finding.result.as_str().to_string()).or_default() += 1;
        if p.finding.result == CheckResult::Fail {
            *counts.entry(format!("fail.{}", p.finding.severity)).or_default() += 1;
        }
        for (ptr, body) in p.evidence {
            if evidence_bodies.insert(ptr.hash.clone(), body).is_none() {
                pointers.push(ptr);
            }
        }
        findings.push(p.finding);
    }
    pointers.sort();
    let assets: BTreeMap<String, Asset> = items
        .iter()
        .filter(|i| !bundle.controls_for_kind(&i.asset.kind).is_empty())
        .map(|i| (i.asset.asset_ref.urn.clone(), i.asset.clone()))
        .collect();
    counts.insert("assets".into(), assets.len() as u64);
    counts.insert("evaluations".into(), findings.len() as u64);

    let mut inventory_key = String::new();
    for item in items {
        inventory_key.push_str(&item.asset.asset_ref.urn);
        inventory_key.push('@');
        inventory_key.push_str(&item.config.captured_at.to_rfc3339());
        inventory_key.push('\n');
    }
    let run_hash = hash_fields(&[
        "seg.run.v1",
        &bundle.digest,
        &sha256_hex(inventory_key.as_bytes()),
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
        let mut opts = self.options.clone();
        opts.scope = request.scope.clone();
        if request.control_ids.is_empty() {
            return Ok(scan(self.bundle, &items, &opts));
        }
        let mut narrowed = self.bundle.clone();
        narrowed
            .retain_controls(&request.control_ids)
            .map_err(PortError::from)?;
        Ok(scan(&narrowed, &items, &opts))
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
