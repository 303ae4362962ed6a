//! Rego evaluation with regorus: one engine per bundle, cloned per worker.

use std::collections::BTreeMap;
use std::num::{NonZeroU32, NonZeroUsize};
use std::time::Duration;

use ed25519_dalek::VerifyingKey;
use regorus::languages::rego::compiler::Compiler;
use regorus::rvm::vm::RegoVM;
use regorus::utils::limits::ExecutionTimerConfig;
use regorus::{PolicyLengthConfig, Value};
use serde::Serialize;

use crate::bundle::{BundleFiles, Manifest, MANIFEST};
use crate::error::EngineError;
use crate::guard::{self, Guards};
use crate::model::{CheckResult, ControlSpec, JsonMap};
use crate::time::Timestamp;
use crate::vectors::VectorFile;

/// Which signatures a bundle must carry.
#[derive(Debug, Clone)]
pub enum Trust {
    /// The bundle must verify against one of these keys.
    Keys(Vec<VerifyingKey>),
    /// Verify against these keys if possible, but load the bundle anyway when it does not verify.
    AllowUnsigned(Vec<VerifyingKey>),
}

/// Whether the loaded bundle's signature verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SignatureStatus {
    Verified { keyid: String },
    Unverified { reason: String },
}

impl SignatureStatus {
    /// `verified:<keyid>` or `unverified`, as recorded in outputs.
    pub fn label(&self) -> String {
        match self {
            SignatureStatus::Verified { keyid } => format!("verified:{keyid}"),
            SignatureStatus::Unverified { .. } => "unverified".to_string(),
        }
    }
}

/// Default of [`LoadOptions::memory_limit_bytes`]: 256 MiB.
pub const DEFAULT_MEMORY_LIMIT_BYTES: u64 = 256 << 20;
/// Default of [`LoadOptions::max_vector_cases`].
pub const DEFAULT_MAX_VECTOR_CASES: usize = 2_000;
/// Default of [`LoadOptions::max_controls`].
pub const DEFAULT_MAX_CONTROLS: usize = 1_000;
/// Default of [`LoadOptions::max_policy_bytes`]: 1 MiB.
pub const DEFAULT_MAX_POLICY_BYTES: usize = 1 << 20;

/// Options for [`CompiledBundle::load`].
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub trust: Trust,
    /// Wall-clock limit of one evaluation of one control on one asset.
    pub time_limit: Duration,
    /// Only these controls (all when empty). Unknown ids are an error.
    pub controls: Vec<String>,
    /// Largest value, in bytes, that one builtin call or one decision of this bundle may produce
    /// (default [`DEFAULT_MEMORY_LIMIT_BYTES`]: 256 MiB); `None` turns the bound off.
    ///
    /// This is a bound the engine computes *before* a call, per call and per evaluation, not a
    /// measurement of the heap: regorus' own memory limit (feature `allocator-memory-limits`) is
    /// process-global, replaces the global allocator (which the `seg` binary sets itself) and
    /// checks after allocating, so it cannot stop a single huge allocation from aborting the
    /// process. Every builtin whose result can be far larger than its arguments
    /// ([`crate::guard::GUARDED_BUILTINS`]: `numbers.range`, `sprintf`, `concat`,
    /// `array.concat`, `json.marshal`, `split`, `replace`, ...) runs through a guard that
    /// estimates the size of its result from the arguments and refuses the call when the estimate
    /// is over this limit; the evaluation then fails with an error naming the control, the
    /// builtin and the limit (a bundle whose vector case does this does not load). A decision is
    /// checked the same way before it is converted to JSON. A policy calling a builtin whose
    /// result cannot be bounded ([`crate::guard::UNBOUNDED_BUILTINS`]) does not load.
    ///
    /// What it does not catch: memory built up step by step by many calls or iterations that are
    /// each under the limit (a comprehension over a large range, a chain of concatenations each
    /// doubling the previous one up to the limit). Those are bounded only by
    /// [`LoadOptions::time_limit`] (the evaluator checks the time between steps, not inside a
    /// builtin), so one evaluation can hold a few times this limit at worst, and every worker
    /// thread of every bundle can do so at the same time. Arithmetic on big integers is not
    /// bounded either (only by the time limit).
    ///
    /// The limit is a setting of the bundle, not of the process: bundles loaded with different
    /// limits (or none) can be evaluated side by side.
    pub memory_limit_bytes: Option<u64>,
    /// Most vector cases (`tests/*.json`) the load runs, over the whole bundle (default
    /// [`DEFAULT_MAX_VECTOR_CASES`]); a bundle with more does not load.
    pub max_vector_cases: usize,
    /// Most controls a bundle may have (default [`DEFAULT_MAX_CONTROLS`]).
    pub max_controls: usize,
    /// Largest policy file, in bytes (default [`DEFAULT_MAX_POLICY_BYTES`]).
    pub max_policy_bytes: usize,
}

impl LoadOptions {
    pub fn new(trust: Trust) -> LoadOptions {
        LoadOptions {
            trust,
            time_limit: Duration::from_millis(250),
            controls: Vec::new(),
            memory_limit_bytes: Some(DEFAULT_MEMORY_LIMIT_BYTES),
            max_vector_cases: DEFAULT_MAX_VECTOR_CASES,
            max_controls: DEFAULT_MAX_CONTROLS,
            max_policy_bytes: DEFAULT_MAX_POLICY_BYTES,
        }
    }
}

/// The decision of one control on one resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub result: CheckResult,
    pub message: String,
    /// Evidence stubs returned by the policy.
    pub evidence: Vec<serde_json::Value>,
}

impl Decision {
    pub fn error(message: impl Into<String>) -> Decision {
        Decision {
            result: CheckResult::Error,
            message: message.into(),
            evidence: Vec::new(),
        }
    }
}

/// A bundle verified, parsed and compiled, ready to evaluate.
#[derive(Debug, Clone)]
pub struct CompiledBundle {
    pub manifest: Manifest,
    /// The selected controls, in manifest order.
    pub controls: Vec<ControlSpec>,
    pub digest: String,
    pub signature: SignatureStatus,
    engine: regorus::Engine,
    /// Policy sources and data documents, to build an independent engine per worker.
    sources: Vec<(String, String)>,
    data: Vec<Value>,
    time_limit: Duration,
    max_policy_bytes: usize,
    memory_limit: Option<u64>,
    /// The size guards of the builtins, when a memory limit is set.
    guards: Option<Guards>,
    /// Per control: evaluate with a compiled VM program (checked against the interpreter).
    vm_allowed: Vec<bool>,
    rules: Vec<String>,
    by_kind: BTreeMap<String, Vec<usize>>,
}

impl CompiledBundle {
    /// Verify, parse and compile a bundle.
    pub fn load(files: &BundleFiles, opts: &LoadOptions) -> Result<CompiledBundle, EngineError> {
        let signature = match &opts.trust {
            Trust::Keys(keys) => SignatureStatus::Verified {
                keyid: files.verify(keys)?.keyid,
            },
            Trust::AllowUnsigned(keys) => match files.verify(keys) {
                Ok(v) => SignatureStatus::Verified { keyid: v.keyid },
                Err(e) => SignatureStatus::Unverified {
                    reason: e.to_string(),
                },
            },
        };
        let manifest = Manifest::parse(files)?;
        if manifest.controls.len() > opts.max_controls {
            return Err(EngineError::PolicyLoad(format!(
                "{MANIFEST}: controls: {} controls, more than the limit of {} per bundle",
                manifest.controls.len(),
                opts.max_controls
            )));
        }
        let all_specs = manifest.control_specs();

        let guards = opts.memory_limit_bytes.map(Guards::new);
        let mut engine = new_engine(opts.time_limit, opts.max_policy_bytes, guards.as_ref())?;
        let mut sources = Vec::new();
        let mut data = Vec::new();

        let mut controls = Vec::new();
        let mut rules = Vec::new();
        for spec in all_specs {
            let path = format!("policies/{}.rego", spec.id);
            let size = files.get(&path).map_or(0, <[u8]>::len);
            if size > opts.max_policy_bytes {
                return Err(EngineError::PolicyLoad(format!(
                    "{path}: {size} bytes, more than the limit of {} bytes per policy",
                    opts.max_policy_bytes
                )));
            }
            let text = files.text(&path)?;
            if let Some((line, b)) = crate::lint::forbidden_calls(text).into_iter().next() {
                return Err(EngineError::PolicyLoad(format!(
                    "{path}:{line}: forbidden builtin {b}: policies must be deterministic and offline"
                )));
            }
            if guards.is_some() {
                if let Some((line, b)) = guard::unbounded_calls(text).into_iter().next() {
                    return Err(EngineError::PolicyLoad(format!(
                        "{path}:{line}: {b} cannot be bounded by the memory limit (its result can grow \
                         exponentially with its arguments)"
                    )));
                }
            }
            let package = engine
                .add_policy(path.clone(), text.to_string())
                .map_err(|e| EngineError::PolicyLoad(format!("{path}: {e}")))?;
            sources.push((path.clone(), text.to_string()));
            let expected = format!("data.{}", manifest.package_of(&spec.id));
            if package != expected {
                return Err(EngineError::PolicyLoad(format!(
                    "{path}: package is {}, expected {}",
                    package.trim_start_matches("data."),
                    expected.trim_start_matches("data.")
                )));
            }
            rules.push(format!("{expected}.decision"));
            controls.push(spec);
        }
        let listed: Vec<String> = manifest.controls.iter().map(|c| c.policy_path()).collect();
        if let Some((extra, _)) = files
            .under("policies/", ".rego")
            .find(|(p, _)| !listed.iter().any(|l| l == p))
        {
            return Err(EngineError::PolicyLoad(format!(
                "{extra}: policy file has no control in manifest.json"
            )));
        }
        for (path, bytes) in files.under("data/", ".json") {
            let text =
                std::str::from_utf8(bytes).map_err(|e| EngineError::PolicyLoad(format!("{path}: {e}")))?;
            let value =
                Value::from_json_str(text).map_err(|e| EngineError::PolicyLoad(format!("{path}: {e}")))?;
            if value.as_object().is_err() {
                return Err(EngineError::PolicyLoad(format!("{path}: must be a JSON object")));
            }
            engine
                .add_data(value.clone())
                .map_err(|e| EngineError::PolicyLoad(format!("{path}: {e}")))?;
            data.push(value);
        }

        let mut bundle = CompiledBundle {
            digest: files.digest(),
            manifest,
            controls,
            signature,
            engine,
            sources,
            data,
            time_limit: opts.time_limit,
            max_policy_bytes: opts.max_policy_bytes,
            memory_limit: opts.memory_limit_bytes,
            guards,
            vm_allowed: Vec::new(),
            rules,
            by_kind: BTreeMap::new(),
        };
        bundle.gate_vm_on_vectors(files, opts.max_vector_cases)?;
        if opts.controls.is_empty() {
            bundle.index_kinds();
        } else {
            bundle.retain_controls(&opts.controls)?;
        }
        Ok(bundle)
    }

    fn index_kinds(&mut self) {
        self.by_kind.clear();
        for (i, c) in self.controls.iter().enumerate() {
            for k in &c.target_kinds {
                self.by_kind.entry(k.clone()).or_default().push(i);
            }
        }
    }

    /// Keep only the named controls (an unknown id is an error).
    pub fn retain_controls(&mut self, ids: &[String]) -> Result<(), EngineError> {
        if let Some(unknown) = ids.iter().find(|id| self.control_index(id).is_none()) {
            return Err(EngineError::PolicyLoad(format!(
                "control {unknown:?} is not in bundle {}",
                self.manifest.id
            )));
        }
        let keep: Vec<bool> = self.controls.iter().map(|c| ids.contains(&c.id)).collect();
        let mut flags = keep.iter();
        self.controls.retain(|_| flags.next().copied().unwrap_or(false));
        let mut flags = keep.iter();
        self.rules.retain(|_| flags.next().copied().unwrap_or(false));
        let mut flags = keep.iter();
        self.vm_allowed.retain(|_| flags.next().copied().unwrap_or(false));
        self.index_kinds();
        Ok(())
    }

    /// Indexes of the controls that target a resource kind.
    pub fn controls_for_kind(&self, kind: &str) -> &[usize] {
        self.by_kind.get(kind).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn control_index(&self, id: &str) -> Option<usize> {
        self.controls.iter().position(|c| c.id == id)
    }

    /// A worker-local evaluator.
    ///
    /// A clone of the compiled engine would share its syntax tree through atomically counted
    /// pointers, and cores touching the same counters on every evaluation slow each other
    /// down. Each worker therefore gets its own engine built from the (already validated)
    /// sources, which costs milliseconds per bundle; it falls back to a clone if that fails.
    pub fn evaluator(&self) -> Evaluator<'_> {
        let mut engine = self.rebuild().unwrap_or_else(|_| self.engine.clone());
        let vms = compile_vms(
            &mut engine,
            &self.rules,
            &self.vm_allowed,
            self.time_limit,
            self.guards.as_ref(),
        );
        Evaluator {
            bundle: self,
            engine,
            vms,
            inputs: Vec::new(),
        }
    }

    /// Number of controls evaluated by compiled programs (the rest use the interpreter).
    pub fn compiled_controls(&self) -> usize {
        self.vm_allowed.iter().filter(|a| **a).count()
    }

    /// Evaluate every control with the interpreter only.
    pub fn disable_vm(&mut self) {
        self.vm_allowed = vec![false; self.rules.len()];
    }

    /// Decide per control whether its compiled program may be used: it must give exactly the
    /// interpreter's decision on every vector case of the control. A control without vectors,
    /// or with any difference, stays on the interpreter.
    ///
    /// Every case runs on the interpreter first, even for a control without a compiled program:
    /// a case whose evaluation is refused by a size guard fails the load, as does a bundle with
    /// more than `max_cases` cases.
    fn gate_vm_on_vectors(&mut self, files: &BundleFiles, max_cases: usize) -> Result<(), EngineError> {
        let vector_files: Vec<Option<VectorFile>> = self
            .controls
            .iter()
            .map(|spec| {
                let path = format!("tests/{}.json", spec.id);
                files
                    .text(&path)
                    .and_then(|t| crate::vectors::parse_vector_file(&path, t))
                    .ok()
            })
            .collect();
        let total: usize = vector_files.iter().flatten().map(|f| f.cases.len()).sum();
        if total > max_cases {
            return Err(EngineError::PolicyLoad(format!(
                "tests/: {total} vector cases, more than the limit of {max_cases} per bundle"
            )));
        }
        self.vm_allowed = vec![true; self.rules.len()];
        let mut vm = self.evaluator();
        let mut interp = Evaluator {
            bundle: self,
            engine: vm.engine.clone(),
            vms: Vec::new(),
            inputs: Vec::new(),
        };
        let mut allowed = vec![false; self.rules.len()];
        for ((index, spec), file) in self.controls.iter().enumerate().zip(&vector_files) {
            let Some(file) = file else { continue };
            let has_vm = vm.vms.get(index).is_some_and(Option::is_some);
            let mut same = has_vm && !file.cases.is_empty();
            for case in &file.cases {
                let at = case
                    .evaluation_time
                    .as_deref()
                    .and_then(|t| Timestamp::parse(t).ok())
                    .or_else(|| Timestamp::parse(crate::vectors::DEFAULT_CASE_TIME).ok());
                let Some(at) = at else {
                    same = false;
                    continue;
                };
                let r = PreparedResource::new(&case.resource);
                let refused = |e: String| {
                    EngineError::PolicyLoad(format!(
                        "control {}: tests/{}.json: case {:?}: {e}",
                        spec.id, spec.id, case.name
                    ))
                };
                let expected = interp
                    .eval_inner(index, &r, Some(&case.params), at)
                    .map_err(refused)?;
                if same {
                    let got = vm
                        .eval_inner(index, &r, Some(&case.params), at)
                        .map_err(refused)?;
                    same = got == expected;
                }
            }
            allowed[index] = same;
        }
        drop(vm);
        drop(interp);
        self.vm_allowed = allowed;
        Ok(())
    }

    fn rebuild(&self) -> Result<regorus::Engine, EngineError> {
        let mut engine = new_engine(self.time_limit, self.max_policy_bytes, self.guards.as_ref())?;
        for (path, text) in &self.sources {
            engine
                .add_policy(path.clone(), text.clone())
                .map_err(|e| EngineError::PolicyLoad(format!("{path}: {e}")))?;
        }
        for d in &self.data {
            engine
                .add_data(d.clone())
                .map_err(|e| EngineError::PolicyLoad(e.to_string()))?;
        }
        Ok(engine)
    }
}

/// Instruction budget of one compiled evaluation (regorus' default of 25,000 is too small for
/// large IAM policies or security groups with many rules).
pub const MAX_INSTRUCTIONS: usize = 5_000_000;

fn new_engine(
    time_limit: Duration,
    max_policy_bytes: usize,
    guards: Option<&Guards>,
) -> Result<regorus::Engine, EngineError> {
    let mut engine = regorus::Engine::new();
    engine.set_rego_v0(false);
    engine.set_strict_builtin_errors(false);
    let interval = NonZeroU32::new(32).unwrap_or(NonZeroU32::MIN);
    engine.set_execution_timer_config(ExecutionTimerConfig {
        limit: time_limit,
        check_interval: interval,
    });
    // The engine checks the size of a policy itself (with a clearer error); regorus must not
    // refuse what that check allows.
    let mut lengths = PolicyLengthConfig::default();
    if let Some(n) = NonZeroUsize::new(max_policy_bytes) {
        lengths.max_file_bytes = lengths.max_file_bytes.max(n);
    }
    engine.set_policy_length_config(lengths);
    if let Some(g) = guards {
        g.install(&mut engine).map_err(EngineError::PolicyLoad)?;
    }
    Ok(engine)
}

/// Compile each control's decision rule to a program of regorus' virtual machine, which
/// evaluates several times faster than the tree-walking interpreter. A control whose policy uses
/// something the compiler does not support keeps `None` and is evaluated by the interpreter.
fn compile_vms(
    engine: &mut regorus::Engine,
    rules: &[String],
    allowed: &[bool],
    time_limit: Duration,
    guards: Option<&Guards>,
) -> Vec<Option<RegoVM>> {
    let data = engine.get_data();
    rules
        .iter()
        .zip(allowed)
        .map(|(rule, allowed)| {
            if !allowed {
                return None;
            }
            let compiled = engine
                .compile_with_entrypoint(&regorus::Rc::from(rule.as_str()))
                .ok()?;
            let mut program = Compiler::compile_from_policy(&compiled, &[rule.as_str()]).ok()?;
            if guards.is_some() {
                guard::guard_program(std::sync::Arc::make_mut(&mut program)).ok()?;
            }
            let mut vm = RegoVM::new();
            vm.load_program(program);
            vm.set_data(data.clone()).ok()?;
            // A deterministic budget: the same resource always gets the same outcome. The
            // wall-clock limit below stays as a backstop for builtins that run long.
            vm.set_max_instructions(MAX_INSTRUCTIONS);
            let interval = NonZeroU32::new(32).unwrap_or(NonZeroU32::MIN);
            vm.set_execution_timer_config(Some(ExecutionTimerConfig {
                limit: time_limit,
                check_interval: interval,
            }));
            Some(vm)
        })
        .collect()
}

/// Evaluates controls on resources; one per worker thread.
pub struct Evaluator<'b> {
    bundle: &'b CompiledBundle,
    engine: regorus::Engine,
    vms: Vec<Option<RegoVM>>,
    /// Per control: the `params` and `context` input values for the last evaluation time.
    inputs: Vec<Option<(Timestamp, Value, Value)>>,
}

impl std::fmt::Debug for Evaluator<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Evaluator")
            .field("bundle", &self.bundle.manifest.id)
            .field("compiled", &self.vms.iter().filter(|v| v.is_some()).count())
            .finish()
    }
}

/// The JSON resource converted once for all the controls that evaluate it.
#[derive(Debug, Clone)]
pub struct PreparedResource(Value);

impl PreparedResource {
    pub fn new(resource: &serde_json::Value) -> PreparedResource {
        PreparedResource(Value::from(resource.clone()))
    }

    /// Parse JSON text straight into the policy engine's value type.
    pub fn from_json(text: &str) -> Result<PreparedResource, EngineError> {
        Value::from_json_str(text)
            .map(PreparedResource)
            .map_err(|e| EngineError::Schema(format!("resource is not valid JSON: {e}")))
    }
}

impl Evaluator<'_> {
    /// Evaluate control `index` on a resource. Never fails: problems become `error` decisions.
    pub fn evaluate(
        &mut self,
        index: usize,
        resource: &PreparedResource,
        overrides: Option<&JsonMap>,
        at: Timestamp,
    ) -> Decision {
        self.try_evaluate(index, resource, overrides, at)
            .unwrap_or_else(|e| Decision::error(e.to_string()))
    }

    /// Evaluate control `index` on a resource. Policy errors are `error` decisions; an evaluation
    /// refused by the memory limit ([`LoadOptions::memory_limit_bytes`]) is an error naming the
    /// control, the builtin and the limit.
    pub fn try_evaluate(
        &mut self,
        index: usize,
        resource: &PreparedResource,
        overrides: Option<&JsonMap>,
        at: Timestamp,
    ) -> Result<Decision, EngineError> {
        self.eval_inner(index, resource, overrides, at).map_err(|e| {
            let id = self.bundle.controls.get(index).map_or("?", |c| c.id.as_str());
            EngineError::PolicyEval(format!("control {id}: {e}"))
        })
    }

    /// Evaluate; `Err` is a refusal by the memory limit, described with its place in the policy.
    fn eval_inner(
        &mut self,
        index: usize,
        resource: &PreparedResource,
        overrides: Option<&JsonMap>,
        at: Timestamp,
    ) -> Result<Decision, String> {
        let bundle = self.bundle;
        let (Some(spec), Some(rule)) = (bundle.controls.get(index), bundle.rules.get(index)) else {
            return Ok(Decision::error(format!("no control at index {index}")));
        };
        let no_overrides = overrides.is_none_or(|o| o.is_empty());
        let cached = match self.inputs.get(index) {
            Some(Some((t, p, c))) if no_overrides && *t == at => Some((p.clone(), c.clone())),
            _ => None,
        };
        let (params, context) = match cached {
            Some(pc) => pc,
            None => {
                let mut params = spec.inputs.clone();
                if let Some(o) = overrides {
                    for (k, v) in o {
                        params.insert(k.clone(), v.clone());
                    }
                }
                let context = Value::from(serde_json::json!({
                    "evaluation_time": at.to_rfc3339(),
                    "evaluation_time_ns": at.unix_nanos_i64(),
                    "bundle": bundle.manifest.id,
                    "control_id": spec.id,
                }));
                let params = Value::from(serde_json::Value::Object(params));
                if no_overrides {
                    if self.inputs.len() <= index {
                        self.inputs.resize(index + 1, None);
                    }
                    self.inputs[index] = Some((at, params.clone(), context.clone()));
                }
                (params, context)
            }
        };
        let mut input = Value::new_object();
        if let Ok(map) = input.as_object_mut() {
            map.insert(Value::from("resource"), resource.0.clone());
            map.insert(Value::from("params"), params);
            map.insert(Value::from("context"), context);
        }
        guard::begin_evaluation(bundle.memory_limit);
        let refused = |text: &str| {
            guard::take_refusal().map(|r| match location(text) {
                Some(at) => format!("{at}: {r}"),
                None => format!("{}: {r}", spec_path(spec)),
            })
        };
        let outcome = match self.vms.get_mut(index) {
            Some(Some(vm)) => {
                vm.set_input(input);
                vm.execute().map_err(|e| e.to_string())
            }
            _ => {
                self.engine.set_input(input);
                self.engine.eval_rule(rule.clone()).map_err(|e| e.to_string())
            }
        };
        match outcome {
            Ok(v) => finish(bundle, &v),
            Err(text) => match refused(&text) {
                Some(r) => Err(r),
                None => Ok(Decision::error(format!("policy error: {}", first_line(&text)))),
            },
        }
    }
}

fn spec_path(spec: &ControlSpec) -> String {
    format!("policies/{}.rego", spec.id)
}

/// Check the size of a decision, then convert it.
fn finish(bundle: &CompiledBundle, v: &Value) -> Result<Decision, String> {
    if let Some(limit) = bundle.memory_limit {
        guard::check_decision(v, limit).map_err(|r| r.message)?;
    }
    Ok(parse_decision(v))
}

/// `<file>:<line>:<col>` of a regorus error (its line `--> file:line:col`).
fn location(text: &str) -> Option<&str> {
    text.lines()
        .find_map(|l| l.trim().strip_prefix("--> "))
        .map(str::trim)
}

fn first_line(s: &str) -> String {
    let line = s.lines().find(|l| !l.trim().is_empty()).unwrap_or(s);
    line.chars().take(300).collect()
}

/// Check and convert the `decision` value of a policy.
pub fn parse_decision(v: &Value) -> Decision {
    if *v == Value::Undefined {
        return Decision::error("policy produced no decision (decision is undefined for this resource)");
    }
    let json = match serde_json::to_value(v) {
        Ok(j) => j,
        Err(e) => return Decision::error(format!("decision is not JSON: {e}")),
    };
    let Some(obj) = json.as_object() else {
        return Decision::error(format!("decision must be an object, got {json}"));
    };
    let result = match obj.get("result").and_then(|r| r.as_str()) {
        Some(r) => match CheckResult::parse(r) {
            Some(r) => r,
            None => {
                return Decision::error(format!(
                    "decision.result {r:?} is not pass|warn|fail|error|not_applicable"
                ))
            }
        },
        None => return Decision::error("decision.result is missing or not a string"),
    };
    let message = match obj.get("message") {
        Some(serde_json::Value::String(s)) => s.clone(),
        None => String::new(),
        Some(other) => return Decision::error(format!("decision.message must be a string, got {other}")),
    };
    let evidence = match obj.get("evidence") {
        None | Some(serde_json::Value::Null) => Vec::new(),
        Some(serde_json::Value::Array(items)) => items.clone(),
        Some(other) => return Decision::error(format!("decision.evidence must be an array, got {other}")),
    };
    Decision {
        result,
        message,
        evidence,
    }
}
