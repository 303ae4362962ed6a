//! Vector tests of a bundle (`tests/<control>.json`).

use serde::Deserialize;

use crate::bundle::BundleFiles;
use crate::error::EngineError;
use crate::model::{CheckResult, JsonMap};
use crate::policy::{CompiledBundle, PreparedResource};
use crate::time::Timestamp;

/// Default evaluation time of a vector case.
pub const DEFAULT_CASE_TIME: &str = "2026-01-01T00:00:00Z";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VectorFile {
    pub control: String,
    pub cases: Vec<VectorCase>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VectorCase {
    pub name: String,
    #[serde(default)]
    pub evaluation_time: Option<String>,
    #[serde(default)]
    pub params: JsonMap,
    pub resource: serde_json::Value,
    pub expect: CheckResult,
    #[serde(default)]
    pub message_contains: Option<String>,
}

/// The outcome of one case.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseOutcome {
    pub control: String,
    pub case: String,
    pub expected: CheckResult,
    pub got: CheckResult,
    pub message: String,
    /// Why the case failed, if it did.
    pub failure: Option<String>,
}

/// Per-control summary.
#[derive(Debug, Clone, PartialEq)]
pub struct ControlVectors {
    pub control: String,
    pub cases: Vec<CaseOutcome>,
}

impl ControlVectors {
    pub fn passed(&self) -> usize {
        self.cases.iter().filter(|c| c.failure.is_none()).count()
    }
}

/// Parse a vector file, naming it in errors.
pub fn parse_vector_file(path: &str, text: &str) -> Result<VectorFile, EngineError> {
    serde_json::from_str(text).map_err(|e| EngineError::Schema(format!("{path}: {e}")))
}

/// Run every case of every control of the bundle.
pub fn run(bundle: &CompiledBundle, files: &BundleFiles) -> Result<Vec<ControlVectors>, EngineError> {
    let mut ev = bundle.evaluator();
    let mut out = Vec::new();
    for (index, spec) in bundle.controls.iter().enumerate() {
        let path = format!("tests/{}.json", spec.id);
        let file = parse_vector_file(&path, files.text(&path)?)?;
        if file.control != spec.id {
            return Err(EngineError::Schema(format!(
                "{path}: control is {:?}, expected {:?}",
                file.control, spec.id
            )));
        }
        let mut cases = Vec::new();
        for case in file.cases {
            let at = Timestamp::parse(case.evaluation_time.as_deref().unwrap_or(DEFAULT_CASE_TIME))
                .map_err(|e| EngineError::Schema(format!("{path}: case {:?}: {e}", case.name)))?;
            let kind = case
                .resource
                .get("resourceType")
                .and_then(|v| v.as_str())
                .unwrap_or_default();
            let d = if spec.target_kinds.iter().any(|k| k == kind) {
                ev.evaluate(
                    index,
                    &PreparedResource::new(&case.resource),
                    Some(&case.params),
                    at,
                )
            } else {
                crate::policy::Decision {
                    result: CheckResult::NotApplicable,
                    message: format!("resource type {kind:?} is not a target kind of the control"),
                    evidence: Vec::new(),
                }
            };
            let mut failure = None;
            if d.result != case.expect {
                failure = Some(format!(
                    "expected {}, got {}: {}",
                    case.expect, d.result, d.message
                ));
            } else if let Some(want) = &case.message_contains {
                if !d.message.contains(want.as_str()) {
                    failure = Some(format!("message {:?} does not contain {want:?}", d.message));
                }
            }
            cases.push(CaseOutcome {
                control: spec.id.clone(),
                case: case.name,
                expected: case.expect,
                got: d.result,
                message: d.message,
                failure,
            });
        }
        out.push(ControlVectors {
            control: spec.id.clone(),
            cases,
        });
    }
    Ok(out)
}
