//! `seg scan`: a bundle over an inventory, offline.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use seg_adapter_file::{read_bundle_dir, JsonlInventory};
use seg_engine::model::{CheckResult, EvalRequest, Scope};
use seg_engine::ocsf::{self, Producer};
use seg_engine::policy::{CompiledBundle, LoadOptions, SignatureStatus};
use seg_engine::scan::{PolicyEvaluator, ScanOptions, ScanReport};
use seg_engine::time::Timestamp;

use crate::bundle_cmd::{builtin_trust, trust_for};
use crate::error::CliError;
use crate::render::Table;
use crate::{embedded, CloudProvider, Format, ScanArgs};

/// Where `seg scan --demo` writes its OCSF events when no `--output` is given.
pub const DEMO_OCSF_FILE: &str = "seg-demo.ocsf.jsonl";
const MAX_TABLE_FAILURES: usize = 40;

pub fn producer(bundle: &CompiledBundle) -> Producer {
    Producer::seg(env!("CARGO_PKG_VERSION"), bundle)
}

pub fn run(args: ScanArgs) -> Result<ExitCode, CliError> {
    // The demo's bundle (and the default of --provider) is built into the binary and signed with the
    // development key, which is trusted for it alone. A bundle given with --bundle must be signed by
    // a key given with --key (or be loaded, reported unverified, with --allow-unsigned).
    let builtin = args.demo || (args.provider.is_some() && args.bundle.is_none());
    let trust = match (&args.bundle, builtin) {
        (_, true) => builtin_trust(&args.trust, args.allow_unsigned)?,
        (Some(dir), false) => trust_for(dir, &args.trust, args.allow_unsigned)?,
        (None, false) => {
            return Err(CliError::Usage(
                "--bundle and --inventory are required without --demo".into(),
            ))
        }
    };
    let at = match &args.at {
        Some(s) => Timestamp::parse(s)?,
        None => Timestamp::from_offset_date_time(time::OffsetDateTime::now_utc()),
    };
    let mut degraded = Vec::new();
    let (files, inventory) = if args.demo {
        (
            embedded::cis_aws_bundle()?,
            JsonlInventory::from_text(embedded::DEMO_INVENTORY),
        )
    } else if args.provider == Some(CloudProvider::Aws) {
        let files = match &args.bundle {
            Some(b) => read_bundle_dir(b)?,
            None => embedded::cis_aws_bundle()?,
        };
        let collection = crate::aws_cmd::collect(&args.aws, at)?;
        let text = collection.to_jsonl();
        if let Some(path) = &args.save_inventory {
            std::fs::write(path, &text).map_err(|e| CliError::io(path, e))?;
        }
        for d in &collection.degraded {
            eprintln!(
                "aws: {} {} {} {}: {}",
                d.code, d.service, d.region, d.operation, d.message
            );
        }
        degraded = collection.degraded;
        (files, JsonlInventory::from_text(&text))
    } else {
        let (Some(b), Some(i)) = (&args.bundle, &args.inventory) else {
            return Err(CliError::Usage(
                "--bundle and --inventory are required without --demo".into(),
            ));
        };
        (read_bundle_dir(b)?, JsonlInventory::from_path(i)?)
    };
    let mut load = LoadOptions::new(trust);
    load.time_limit = Duration::from_millis(args.time_limit_ms.max(1));
    load.controls = args.controls.clone();
    let bundle = CompiledBundle::load(&files, &load)?;
    if let SignatureStatus::Unverified { reason } = &bundle.signature {
        let name = match &args.bundle {
            Some(dir) => dir.display().to_string(),
            None => "built-in bundle".to_string(),
        };
        eprintln!("warning: --allow-unsigned: {name}: bundle signature not verified: {reason}");
    }

    let inventory_name = match (&args.inventory, args.provider) {
        (Some(p), _) => p.display().to_string(),
        (None, Some(_)) => "collected inventory".to_string(),
        (None, None) => "demo inventory".to_string(),
    };
    for p in &inventory.problems {
        eprintln!("{inventory_name}:{}: skipped: {}", p.line, p.reason);
    }

    let workers = args
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
        .max(1);
    let mut options = ScanOptions::new(at);
    options.workers = workers;
    let evaluator = PolicyEvaluator {
        bundle: &bundle,
        inventory: &inventory,
        options,
    };
    let request = EvalRequest {
        scope: Scope {
            org_id: args.org.clone(),
            tags: args.tags.iter().cloned().collect(),
            ..Scope::default()
        },
        control_ids: Vec::new(),
        assets: None,
        since: None,
    };
    let started = std::time::Instant::now();
    let mut report = evaluator
        .scan(&request)
        .map_err(|e| CliError::Usage(format!("{}: {e}", e.code())))?;
    let elapsed = started.elapsed();
    report
        .eval
        .run
        .counts
        .insert("invalid_inventory_lines".into(), inventory.problems.len() as u64);
    report
        .eval
        .run
        .counts
        .insert("deleted_resources".into(), inventory.deleted as u64);
    report
        .eval
        .run
        .counts
        .insert("superseded_records".into(), inventory.superseded as u64);
    report
        .eval
        .run
        .counts
        .insert("inventory_records".into(), inventory.items().len() as u64);
    if args.provider.is_some() {
        report
            .eval
            .run
            .counts
            .insert("inventory_errors".into(), degraded.len() as u64);
    }

    let invalid_lines = inventory.problems.len();
    let records = inventory.items().len();
    let problems_json: Vec<serde_json::Value> = inventory
        .problems
        .iter()
        .map(|p| serde_json::json!({ "line": p.line, "reason": p.reason }))
        .collect();
    // The report holds what the output needs; the inventory's bodies can go.
    drop(evaluator);
    drop(inventory);

    let ocsf_to = |out: &mut dyn Write, name: &Path| -> Result<(), CliError> {
        ocsf::write_jsonl(&report, &bundle.controls, &producer(&bundle), workers, out)
            .map_err(|e| CliError::io(name, e))
    };
    match (args.format, &args.output) {
        (Format::Ocsf, Some(path)) => with_file(path, |w| ocsf_to(w, path))?,
        (Format::Ocsf, None) => ocsf_to(&mut std::io::stdout().lock(), Path::new("<stdout>"))?,
        (format, output) => {
            let text = match format {
                Format::Table => render_table(&bundle, &report, invalid_lines, records),
                _ => json_report(&report, &bundle, problems_json)?,
            };
            match output {
                Some(path) => with_file(path, |w| {
                    w.write_all(text.as_bytes()).map_err(|e| CliError::io(path, e))
                })?,
                None => std::io::stdout()
                    .lock()
                    .write_all(text.as_bytes())
                    .map_err(|e| CliError::io(Path::new("<stdout>"), e))?,
            }
        }
    }
    if args.demo && args.output.is_none() && args.format == Format::Table {
        let path = PathBuf::from(DEMO_OCSF_FILE);
        with_file(&path, |w| ocsf_to(w, &path))?;
        println!(
            "\nOCSF 1.8.0 Compliance Findings (one per result) written to {}",
            path.display()
        );
    }
    eprintln!(
        "scanned {} assets, {} evaluations in {:.3}s with {} worker(s); {} of {} controls ran as compiled programs",
        report.count("assets"),
        report.count("evaluations"),
        elapsed.as_secs_f64(),
        workers,
        bundle.compiled_controls(),
        bundle.controls.len()
    );
    let errors = report.count(CheckResult::Error.as_str());
    if invalid_lines > 0 || errors > 0 || !degraded.is_empty() {
        eprintln!(
            "incomplete run: {invalid_lines} inventory line(s) skipped, {errors} evaluation error(s), {} failed cloud call(s)",
            degraded.len()
        );
        return Ok(ExitCode::from(3));
    }
    Ok(ExitCode::SUCCESS)
}

fn with_file(path: &Path, body: impl FnOnce(&mut dyn Write) -> Result<(), CliError>) -> Result<(), CliError> {
    let file = std::fs::File::create(path).map_err(|e| CliError::io(path, e))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
    body(&mut w)?;
    w.flush().map_err(|e| CliError::io(path, e))
}

fn json_report(
    report: &ScanReport,
    bundle: &CompiledBundle,
    problems: Vec<serde_json::Value>,
) -> Result<String, CliError> {
    let value = serde_json::json!({
        "bundle": {
            "id": bundle.manifest.id,
            "version": bundle.manifest.version,
            "digest": bundle.digest,
            "signature": bundle.signature,
        },
        "run": report.eval.run,
        "findings": report.eval.findings,
        "evidence": report.eval.evidence,
        "inventory_problems": problems,
    });
    serde_json::to_string_pretty(&value)
        .map(|s| s + "\n")
        .map_err(|e| CliError::Usage(e.to_string()))
}

fn render_table(bundle: &CompiledBundle, report: &ScanReport, invalid: usize, records: usize) -> String {
    let run = &report.eval.run;
    let mut out = String::new();
    let signature = match &bundle.signature {
        SignatureStatus::Verified { keyid } => format!("signature verified (key {keyid})"),
        SignatureStatus::Unverified { .. } => "SIGNATURE NOT VERIFIED".to_string(),
    };
    out.push_str(&format!(
        "bundle    {} {} ({} controls), {signature}\n",
        bundle.manifest.id,
        bundle.manifest.version,
        bundle.controls.len()
    ));
    out.push_str(&format!(
        "inventory {records} records: {} assets evaluated, {invalid} invalid line(s)\n",
        report.count("assets")
    ));
    out.push_str(&format!("run       {} at {}\n\n", run.run_id, run.started_at));

    let mut per: BTreeMap<&str, BTreeMap<CheckResult, u64>> = BTreeMap::new();
    for f in &report.eval.findings {
        *per.entry(f.control_id.as_str())
            .or_default()
            .entry(f.result)
            .or_default() += 1;
    }
    let mut t = Table::new(&[
        "control", "cis", "severity", "pass", "fail", "warn", "error", "n/a",
    ]);
    for c in &bundle.controls {
        let m = per.get(c.id.as_str());
        let n = |r: CheckResult| m.and_then(|m| m.get(&r)).copied().unwrap_or(0).to_string();
        t.row(vec![
            c.id.clone(),
            c.requirements.join(","),
            c.severity.to_string(),
            n(CheckResult::Pass),
            n(CheckResult::Fail),
            n(CheckResult::Warn),
            n(CheckResult::Error),
            n(CheckResult::NotApplicable),
        ]);
    }
    out.push_str(&t.render());
    out.push_str(&format!(
        "\ntotal: {} pass, {} fail, {} warn, {} error, {} not applicable\n",
        report.count("pass"),
        report.count("fail"),
        report.count("warn"),
        report.count("error"),
        report.count("not_applicable")
    ));

    let mut failing: Vec<_> = report
        .eval
        .findings
        .iter()
        .filter(|f| {
            matches!(
                f.result,
                CheckResult::Fail | CheckResult::Error | CheckResult::Warn
            )
        })
        .collect();
    failing.sort_by(|a, b| {
        a.severity
            .cmp(&b.severity)
            .then(a.control_id.cmp(&b.control_id))
            .then(a.asset.cmp(&b.asset))
    });
    if !failing.is_empty() {
        out.push_str(&format!(
            "\nfindings ({} shown of {}):\n",
            failing.len().min(MAX_TABLE_FAILURES),
            failing.len()
        ));
        let mut t = Table::new(&["severity", "result", "control", "asset", "message"]);
        for f in failing.iter().take(MAX_TABLE_FAILURES) {
            let asset = report
                .assets
                .get(&f.asset.urn)
                .and_then(|a| {
                    a.name
                        .clone()
                        .or_else(|| a.property_str("resource_id").map(str::to_string))
                })
                .unwrap_or_else(|| f.asset.urn.clone());
            t.row(vec![
                f.severity.to_string(),
                f.result.to_string(),
                f.control_id.clone(),
                asset,
                f.message.clone(),
            ]);
        }
        out.push_str(&t.render());
    }
    out
}
