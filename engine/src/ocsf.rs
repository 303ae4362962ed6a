//! OCSF 1.8.0 Compliance Finding (class 2003) events from scan results.

use serde_json::{json, Map, Value};

use crate::ids::{finding_uid, hash_fields, uuid_from_hash};
use crate::model::{Asset, CheckResult, ControlSpec, Finding, Provider, Severity};
use crate::scan::ScanReport;

pub const OCSF_VERSION: &str = "1.8.0";
pub const CLASS_UID: u32 = 2003;
pub const CATEGORY_UID: u32 = 2;
/// Activity 1 (Create).
pub const TYPE_UID: u32 = CLASS_UID * 100 + 1;

/// Who produced the events.
#[derive(Debug, Clone)]
pub struct Producer {
    pub name: String,
    pub vendor_name: String,
    pub version: String,
    /// Digest of the bundle the findings come from.
    pub bundle_digest: String,
    /// `verified:<keyid>` or `unverified` (loaded with `--allow-unsigned`).
    pub bundle_signature: String,
}

impl Producer {
    /// seg, at `version`, with the provenance of `bundle`.
    pub fn seg(version: &str, bundle: &crate::policy::CompiledBundle) -> Producer {
        Producer {
            name: "seg".into(),
            vendor_name: "Neurocipher".into(),
            version: version.into(),
            bundle_digest: bundle.digest.clone(),
            bundle_signature: bundle.signature.label(),
        }
    }
}

pub fn severity_id(s: Severity) -> u8 {
    match s {
        Severity::Info => 1,
        Severity::Low => 2,
        Severity::Medium => 3,
        Severity::High => 4,
        Severity::Critical => 5,
    }
}

fn severity_caption(s: Severity) -> &'static str {
    match s {
        Severity::Info => "Informational",
        Severity::Low => "Low",
        Severity::Medium => "Medium",
        Severity::High => "High",
        Severity::Critical => "Critical",
    }
}

/// `compliance.status_id` and `compliance.status` of a result.
pub fn compliance_status(r: CheckResult) -> (u8, &'static str) {
    match r {
        CheckResult::Pass => (1, "Pass"),
        CheckResult::Warn => (2, "Warning"),
        CheckResult::Fail => (3, "Fail"),
        CheckResult::Error => (99, "Error"),
        CheckResult::NotApplicable => (99, "Not Applicable"),
    }
}

fn provider_name(p: Provider) -> &'static str {
    match p {
        Provider::Aws => "AWS",
        Provider::Azure => "Azure",
        Provider::Gcp => "GCP",
        Provider::Onprem => "On-premises",
        Provider::Other => "Other",
    }
}

/// One event for one finding.
pub fn compliance_finding(
    finding: &Finding,
    control: &ControlSpec,
    asset: Option<&Asset>,
    evidence: &[(String, Option<Value>)],
    run_id: &str,
    producer: &Producer,
) -> Value {
    let time = finding.updated_at.unix_millis();
    let uid = finding_uid(&finding.fingerprint);
    let (status_id, status) = compliance_status(finding.result);
    let (provider, region, account) = match asset {
        Some(a) => (
            a.provider,
            a.property_str("region").map(str::to_string),
            a.property_str("account_id")
                .or_else(|| a.property_str("subscription_id"))
                .or_else(|| a.property_str("project"))
                .map(str::to_string),
        ),
        None => (
            finding.asset.parts().map(|p| p.0).unwrap_or(Provider::Other),
            None,
            None,
        ),
    };

    let mut cloud = Map::new();
    cloud.insert("provider".into(), json!(provider_name(provider)));
    if let Some(r) = &region {
        cloud.insert("region".into(), json!(r));
    }
    if let Some(a) = &account {
        cloud.insert("account".into(), json!({ "uid": a }));
    }

    let mut resource = Map::new();
    let resource_uid = asset
        .and_then(|a| a.property_str("arn").or_else(|| a.property_str("resource_id")))
        .unwrap_or(&finding.asset.urn);
    resource.insert("uid".into(), json!(resource_uid));
    resource.insert("uid_alt".into(), json!(finding.asset.urn));
    if let Some(a) = asset {
        resource.insert("type".into(), json!(a.kind));
        if let Some(n) = &a.name {
            resource.insert("name".into(), json!(n));
        }
        if let Some(r) = &region {
            resource.insert("region".into(), json!(r));
        }
        resource.insert("cloud_partition".into(), json!(provider.as_str()));
        if !a.tags.is_empty() {
            // OCSF `resource_details.tags`: key_value_object {name, value}, in key order.
            let tags: Vec<Value> = a
                .tags
                .iter()
                .map(|(k, v)| json!({ "name": k, "value": v }))
                .collect();
            resource.insert("tags".into(), Value::Array(tags));
        }
    }

    let evidences: Vec<Value> = evidence
        .iter()
        .map(|(hash, body)| {
            let mut e = Map::new();
            e.insert("uid".into(), json!(hash));
            let name = body
                .as_ref()
                .and_then(|b| b.get("path"))
                .and_then(Value::as_str)
                .unwrap_or("evidence");
            e.insert("name".into(), json!(name));
            e.insert("data".into(), body.clone().unwrap_or(json!({ "sha256": hash })));
            Value::Object(e)
        })
        .collect();

    let mut compliance = Map::new();
    compliance.insert("standards".into(), json!([control.benchmark]));
    compliance.insert("control".into(), json!(control.id));
    compliance.insert("requirements".into(), json!(control.requirements));
    compliance.insert("status_id".into(), json!(status_id));
    compliance.insert("status".into(), json!(status));
    compliance.insert("status_detail".into(), json!(finding.message));
    if !control.inputs.is_empty() {
        let params: Vec<Value> = control
            .inputs
            .iter()
            .map(|(k, v)| json!({ "name": k, "value": if let Value::String(s) = v { s.clone() } else { v.to_string() } }))
            .collect();
        compliance.insert("control_parameters".into(), Value::Array(params));
    }

    let mut finding_info = Map::new();
    finding_info.insert("uid".into(), json!(uid));
    finding_info.insert("title".into(), json!(control.title));
    finding_info.insert("desc".into(), json!(control.description));
    finding_info.insert("types".into(), json!(["Compliance"]));
    finding_info.insert("created_time".into(), json!(finding.created_at.unix_millis()));
    finding_info.insert("modified_time".into(), json!(time));
    finding_info.insert("product_uid".into(), json!(control.policy_bundle));

    let mut remediation = Map::new();
    remediation.insert(
        "desc".into(),
        json!(control
            .remediation_guidance
            .clone()
            .unwrap_or_else(|| control.title.clone())),
    );

    let mut ev = Map::new();
    ev.insert("activity_id".into(), json!(1));
    ev.insert("activity_name".into(), json!("Create"));
    ev.insert("category_uid".into(), json!(CATEGORY_UID));
    ev.insert("category_name".into(), json!("Findings"));
    ev.insert("class_uid".into(), json!(CLASS_UID));
    ev.insert("class_name".into(), json!("Compliance Finding"));
    ev.insert("type_uid".into(), json!(TYPE_UID));
    ev.insert("type_name".into(), json!("Compliance Finding: Create"));
    ev.insert("severity_id".into(), json!(severity_id(finding.severity)));
    ev.insert("severity".into(), json!(severity_caption(finding.severity)));
    ev.insert("time".into(), json!(time));
    ev.insert("status_id".into(), json!(1));
    ev.insert("status".into(), json!("New"));
    ev.insert(
        "status_code".into(),
        json!(finding.result.as_str().to_ascii_uppercase()),
    );
    ev.insert("status_detail".into(), json!(finding.message));
    ev.insert(
        "message".into(),
        json!(format!("{}: {}", control.title, finding.message)),
    );
    ev.insert(
        "metadata".into(),
        json!({
            "version": OCSF_VERSION,
            "uid": uuid_from_hash(&hash_fields(&["seg.ocsf.event.v1", run_id, &uid])),
            "correlation_uid": run_id,
            "profiles": ["cloud"],
            "log_name": "seg-findings",
            "product": { "name": producer.name, "vendor_name": producer.vendor_name, "version": producer.version },
        }),
    );
    ev.insert("cloud".into(), Value::Object(cloud));
    ev.insert("finding_info".into(), Value::Object(finding_info));
    ev.insert("compliance".into(), Value::Object(compliance));
    ev.insert("resources".into(), json!([Value::Object(resource)]));
    ev.insert("remediation".into(), Value::Object(remediation));
    if !evidences.is_empty() {
        ev.insert("evidences".into(), Value::Array(evidences));
    }
    ev.insert("unmapped".into(), json!({ "seg": { "fingerprint": finding.fingerprint, "result": finding.result.as_str(), "control_version": finding.control_version, "asset_urn": finding.asset.urn, "bundle_digest": producer.bundle_digest, "bundle_signature": producer.bundle_signature } }));
    Value::Object(ev)
}

/// One event per finding of a report, as JSON lines, in the report's (deterministic) order.
fn render(
    report: &ScanReport,
    controls: &[ControlSpec],
    producer: &Producer,
    findings: &[crate::model::Finding],
) -> String {
    let mut out = String::new();
    for f in findings {
        let Some(control) = controls.iter().find(|c| c.id == f.control_id) else {
            continue;
        };
        let evidence: Vec<(String, Option<Value>)> = f
            .evidence
            .iter()
            .map(|p| {
                let body = report
                    .evidence_bodies
                    .get(&p.hash)
                    .and_then(|t| serde_json::from_str(t).ok());
                (p.hash.clone(), body)
            })
            .collect();
        let event = compliance_finding(
            f,
            control,
            report.assets.get(&f.asset.urn),
            &evidence,
            &report.eval.run.run_id,
            producer,
        );
        out.push_str(&event.to_string());
        out.push('\n');
    }
    out
}

/// Write every finding of a report as OCSF JSONL to `out`, rendering on `workers` threads in
/// chunks that are written in order: the bytes do not depend on the number of workers.
pub fn write_jsonl(
    report: &ScanReport,
    controls: &[ControlSpec],
    producer: &Producer,
    workers: usize,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    const CHUNK: usize = 2048;
    let findings = &report.eval.findings;
    let workers = workers.max(1);
    for group in findings.chunks(CHUNK * workers) {
        let parts: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = group
                .chunks(CHUNK)
                .map(|c| s.spawn(move || render(report, controls, producer, c)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        });
        for p in parts {
            out.write_all(p.as_bytes())?;
        }
    }
    Ok(())
}

/// Every finding of a report as OCSF JSONL in one string (single-threaded).
pub fn to_jsonl(report: &ScanReport, controls: &[ControlSpec], producer: &Producer) -> String {
    render(report, controls, producer, &report.eval.findings)
}
