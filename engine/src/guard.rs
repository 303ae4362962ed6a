//! Bounds on what one policy evaluation may allocate
//! ([`crate::policy::LoadOptions::memory_limit_bytes`]).
//!
//! regorus 0.14 measures memory only with its `allocator-memory-limits` feature, and that feature
//! is not usable here:
//!
//! - it installs regorus' own `#[global_allocator]` (regorus `src/lib.rs:131`,
//!   `mimalloc::assign_global!()`, defined in the `regorus-mimalloc` crate's `src/lib.rs`), which
//!   conflicts with the one the `seg` binary declares (`operator/src/main.rs`); a crate graph can
//!   have only one;
//! - its limit is process-global (`GLOBAL_MEMORY_LIMIT` in regorus `src/utils/limits/memory.rs`
//!   compares the whole process's live bytes), shared by every tenant's evaluations and by
//!   everything else in the operator;
//! - it checks after an allocation succeeded, every few builtin steps: `numbers.range` reserves
//!   its whole result (`Vec::with_capacity`, regorus `src/builtins/numbers.rs:109`) before the
//!   first check, so `numbers.range(1, 10000000000)` asks the allocator for 240 GB at once, and
//!   a failed allocation aborts the process whatever the limit says.
//!
//! The engine therefore bounds allocations *before* they happen: every builtin whose result can
//! be much larger than the memory its arguments occupy (because a small number sets its size, or
//! because it serializes a value whose parts are shared, or multiplies one string by another) is
//! replaced by a guard that estimates the result's size from the arguments, refuses the call when
//! the estimate is over the limit, and otherwise calls regorus' own implementation. The
//! interpreter reaches the guards as extensions (which it resolves before builtins); in a
//! compiled program, the guards replace the builtins in the program's table of resolved builtin
//! functions (a plain function pointer each, reading the limit from a thread-local set by the
//! evaluator). A refusal raises regorus' `LimitError` (which regorus never turns into an
//! undefined value) and leaves its description in a thread-local for the evaluator.
//!
//! regorus' implementations are reached through `regorus::unstable::BUILTINS` and the public
//! `resolved_builtins` table of a compiled program: interfaces regorus may change in a minor
//! release (the dependency is pinned to 0.14; an upgrade that changes them fails to compile).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::sync::{Arc, OnceLock};

use regorus::rvm::program::Program;
use regorus::unstable::{BuiltinFcn, Expr, Ref, Span, BUILTINS};
use regorus::{LimitError, Source, Value};

/// Bytes of one value slot (an element of an array, a key or value of an object).
const VALUE_BYTES: u64 = std::mem::size_of::<Value>() as u64;
/// Bytes of one element that is a new string or collection: its slot, the reference-counted
/// allocation's header and the allocator's rounding.
const BOXED_BYTES: u64 = VALUE_BYTES + 32;

/// Builtins evaluated through a size guard when a memory limit is set.
pub const GUARDED_BUILTINS: &[&str] = &[
    "numbers.range",
    "numbers.range_step",
    "net.cidr_expand",
    "bits.lsh",
    "format_int",
    "concat",
    "sprintf",
    "array.concat",
    "json.marshal",
    "json.marshal_with_options",
    "json.unmarshal",
    "urlquery.encode_object",
    "replace",
    "strings.replace_n",
    "regex.replace",
    "split",
    "regex.split",
    "regex.find_n",
    "indexof_n",
    "walk",
];

/// Builtins whose result the engine cannot bound from their arguments (the number of paths of a
/// graph grows exponentially with its size): a policy calling one does not load while a memory
/// limit is set.
pub const UNBOUNDED_BUILTINS: &[&str] = &["graph.reachable_paths"];

/// A guard's refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refused {
    pub message: String,
    /// The estimated size of the refused result.
    pub bytes: u64,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

fn too_large(name: &str, what: fmt::Arguments<'_>, bytes: u64, limit: u64) -> Refused {
    Refused {
        message: format!(
            "{name}: {what}: an estimated {bytes} bytes, too large for the memory limit of {limit} bytes per value"
        ),
        bytes,
    }
}

/// What a guard decided about one call.
enum Verdict {
    /// Run regorus' implementation.
    Call,
    /// Answer without running it (arguments regorus' implementation would panic on).
    Answer(Value),
}

thread_local! {
    /// The limit of the compiled program running on this thread (`u64::MAX`: none).
    static VM_LIMIT: Cell<u64> = const { Cell::new(u64::MAX) };
    /// The last refusal on this thread.
    static REFUSAL: RefCell<Option<Refused>> = const { RefCell::new(None) };
}

/// Set the limit the guards of compiled programs apply on this thread, and forget the last
/// refusal. Called before every evaluation.
pub(crate) fn begin_evaluation(limit: Option<u64>) {
    VM_LIMIT.set(limit.unwrap_or(u64::MAX));
    REFUSAL.with_borrow_mut(|r| *r = None);
}

/// The refusal that made the evaluation on this thread fail, if one did.
pub(crate) fn take_refusal() -> Option<Refused> {
    REFUSAL.with_borrow_mut(Option::take)
}

/// regorus' implementation of `GUARDED_BUILTINS[i]` (`None` if this build does not have it).
fn original(i: usize) -> Option<BuiltinFcn> {
    static ORIGINALS: OnceLock<Vec<Option<BuiltinFcn>>> = OnceLock::new();
    ORIGINALS
        .get_or_init(|| {
            GUARDED_BUILTINS
                .iter()
                .map(|name| BUILTINS.get(name).copied())
                .collect()
        })
        .get(i)
        .copied()
        .flatten()
}

/// Check the call `GUARDED_BUILTINS[i](args)` against `limit`, then run regorus'
/// implementation. A refusal is recorded for the evaluator and raised as `LimitError`.
fn run(
    i: usize,
    span: &Span,
    params: &[Ref<Expr>],
    args: &[Value],
    strict: bool,
    limit: u64,
) -> anyhow::Result<Value> {
    let (Some(name), Some(fcn)) = (GUARDED_BUILTINS.get(i), original(i)) else {
        return Ok(Value::Undefined);
    };
    if args.contains(&Value::Undefined) {
        return Ok(Value::Undefined);
    }
    match check(name, args, limit) {
        Ok(Verdict::Call) => (fcn.0)(span, params, args, strict),
        Ok(Verdict::Answer(v)) => Ok(v),
        Err(r) => {
            let usage = r.bytes;
            REFUSAL.with_borrow_mut(|slot| *slot = Some(r));
            Err(anyhow::Error::new(LimitError::MemoryLimitExceeded {
                usage,
                limit,
            }))
        }
    }
}

/// The guard of `GUARDED_BUILTINS[I]` as a builtin function of a compiled program.
fn vm_guard<const I: usize>(
    span: &Span,
    params: &[Ref<Expr>],
    args: &[Value],
    strict: bool,
) -> anyhow::Result<Value> {
    let limit = VM_LIMIT.get();
    if limit == u64::MAX {
        return match original(I) {
            Some(fcn) => (fcn.0)(span, params, args, strict),
            None => Ok(Value::Undefined),
        };
    }
    run(I, span, params, args, strict, limit)
}

type BuiltinFn = fn(&Span, &[Ref<Expr>], &[Value], bool) -> anyhow::Result<Value>;

/// The guards for compiled programs, in the order of [`GUARDED_BUILTINS`].
const VM_GUARDS: [BuiltinFn; 20] = [
    vm_guard::<0>,
    vm_guard::<1>,
    vm_guard::<2>,
    vm_guard::<3>,
    vm_guard::<4>,
    vm_guard::<5>,
    vm_guard::<6>,
    vm_guard::<7>,
    vm_guard::<8>,
    vm_guard::<9>,
    vm_guard::<10>,
    vm_guard::<11>,
    vm_guard::<12>,
    vm_guard::<13>,
    vm_guard::<14>,
    vm_guard::<15>,
    vm_guard::<16>,
    vm_guard::<17>,
    vm_guard::<18>,
    vm_guard::<19>,
];

// One guard per guarded builtin.
const _: () = assert!(VM_GUARDS.len() == GUARDED_BUILTINS.len());

/// Replace the guarded builtins of a compiled program by their guards.
pub(crate) fn guard_program(program: &mut regorus::rvm::program::Program) -> Result<(), String> {
    if !program.has_resolved_builtins() {
        program
            .initialize_resolved_builtins()
            .map_err(|e| e.to_string())?;
    }
    let Program {
        builtin_info_table,
        resolved_builtins,
        ..
    } = program;
    for (info, slot) in builtin_info_table.iter().zip(resolved_builtins.iter_mut()) {
        if let Some(i) = GUARDED_BUILTINS.iter().position(|n| *n == info.name) {
            if let Some(g) = VM_GUARDS.get(i) {
                slot.0 = *g;
            }
        }
    }
    Ok(())
}

/// Inputs regorus' builtins need besides the arguments: a span and one expression per argument,
/// used only in their error messages.
#[derive(Debug)]
struct Dummies {
    span: Span,
    exprs: Vec<Ref<Expr>>,
}

/// The guards as extensions of the interpreter.
#[derive(Debug, Clone)]
pub(crate) struct Guards {
    limit: u64,
    dummies: Option<Arc<Dummies>>,
}

impl Guards {
    pub fn new(limit: u64) -> Guards {
        let dummies = Source::from_contents("<builtin>".to_string(), String::new())
            .ok()
            .map(|source| {
                let span = Span {
                    source,
                    line: 1,
                    col: 1,
                    start: 0,
                    end: 0,
                };
                let exprs = (0..4)
                    .map(|_| {
                        Ref::new(Expr::Null {
                            span: span.clone(),
                            value: Value::Null,
                            eidx: 0,
                        })
                    })
                    .collect();
                Arc::new(Dummies { span, exprs })
            });
        Guards { limit, dummies }
    }

    /// Register every guard as an extension of the interpreter, which resolves extensions before
    /// builtins. Errors are those of regorus' non-strict mode: an error makes the call undefined,
    /// except a limit error.
    pub fn install(&self, engine: &mut regorus::Engine) -> Result<(), String> {
        let Some(dummies) = &self.dummies else {
            return Err("cannot create the guards of builtins".to_string());
        };
        for (i, name) in GUARDED_BUILTINS.iter().enumerate() {
            let Some(fcn) = original(i) else { continue };
            let d = dummies.clone();
            let limit = self.limit;
            engine
                .add_extension(
                    name.to_string(),
                    fcn.1,
                    Box::new(move |args: Vec<Value>| -> anyhow::Result<Value> {
                        let exprs = d.exprs.get(..args.len()).unwrap_or(&[]);
                        match run(i, &d.span, exprs, &args, false, limit) {
                            Err(e) if e.downcast_ref::<LimitError>().is_none() => Ok(Value::Undefined),
                            r => r,
                        }
                    }),
                )
                .map_err(|e| format!("cannot guard {name}: {e}"))?;
        }
        Ok(())
    }
}

/// Size of a value once materialized (every shared part counted as often as it is reachable),
/// as JSON text, with its number of nodes and its depth.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Size {
    bytes: u64,
    nodes: u64,
    depth: u64,
}

/// Measure `v`, stopping as soon as the byte count passes `cap` (the result is then over `cap`).
/// The work is bounded by `cap` (every node adds at least one byte), the memory by the depth.
fn measure(v: &Value, cap: u64) -> Size {
    type Items<'a> = Box<dyn Iterator<Item = &'a Value> + 'a>;
    let mut size = Size::default();
    let mut stack: Vec<(Items<'_>, u64)> = Vec::new();
    let mut next = Some((v, 1));
    loop {
        let (v, depth) = match next.take() {
            Some(item) => item,
            None => {
                let Some((items, depth)) = stack.last_mut() else {
                    break;
                };
                match items.next() {
                    Some(v) => (v, *depth),
                    None => {
                        stack.pop();
                        continue;
                    }
                }
            }
        };
        size.nodes += 1;
        size.depth = size.depth.max(depth);
        let bytes = match v {
            Value::Null => 4,
            Value::Bool(_) => 5,
            Value::Undefined => 1,
            Value::Number(_) => number_bytes(v),
            Value::String(s) => s.len() as u64 + 2,
            Value::Array(a) => {
                stack.push((Box::new(a.iter()), depth + 1));
                a.len() as u64 + 2
            }
            Value::Set(s) => {
                stack.push((Box::new(s.iter()), depth + 1));
                s.len() as u64 + 2
            }
            Value::Object(o) => {
                stack.push((Box::new(o.iter().flat_map(|(k, x)| [k, x])), depth + 1));
                2 * o.len() as u64 + 2
            }
        };
        size.bytes = size.bytes.saturating_add(bytes);
        if size.bytes > cap {
            break;
        }
    }
    size
}

/// Upper bound of a number's length as text in any base regorus formats it in (2 to 16).
fn number_bytes(v: &Value) -> u64 {
    let Value::Number(n) = v else { return 0 };
    if n.as_i64().is_some() || n.as_u64().is_some() {
        return 66;
    }
    if !n.is_integer() {
        return 32;
    }
    n.as_big().map_or(32, |b| b.bits().saturating_add(2))
}

fn string(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(&**s),
        _ => None,
    }
}

fn int(v: &Value) -> Option<i128> {
    match v {
        Value::Number(n) if n.is_integer() => {
            n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from))
        }
        _ => None,
    }
}

/// Number of bits of a big integer (`None` if `v` is not an integer number).
fn int_bits(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) if n.is_integer() => n.as_big().map(|b| b.bits()),
        _ => None,
    }
}

/// Occurrences of `pat` in `s` as Go and regorus replace them (an empty pattern matches before
/// every character and at the end).
fn occurrences(s: &str, pat: &str) -> u64 {
    if pat.is_empty() {
        s.chars().count() as u64 + 1
    } else {
        s.matches(pat).count() as u64
    }
}

/// Sum of the width and precision numbers of a `sprintf` format (`%5d`, `%.3f`); `None` for a
/// digit that is not ASCII (regorus parses widths as `u32` digit by digit and panics on one).
fn format_widths(fmt: &str) -> Option<u64> {
    let mut total: u64 = 0;
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            continue;
        }
        let mut run: u64 = 0;
        while let Some(&c) = chars.peek() {
            if c == '.' {
                total = total.saturating_add(run);
                run = 0;
            } else if c.is_ascii_digit() {
                run = run
                    .saturating_mul(10)
                    .saturating_add(u64::from(c) - u64::from('0'));
            } else if c.is_numeric() {
                return None;
            } else {
                break;
            }
            chars.next();
        }
        total = total.saturating_add(run);
    }
    Some(total)
}

/// Estimate the size of the result of `name(args)` and refuse it when over `limit`.
fn check(name: &'static str, args: &[Value], limit: u64) -> Result<Verdict, Refused> {
    let over = |what: fmt::Arguments<'_>, bytes: u64| -> Result<Verdict, Refused> {
        if bytes > limit {
            Err(too_large(name, what, bytes, limit))
        } else {
            Ok(Verdict::Call)
        }
    };
    // Materialized size, capped a little over the limit (enough to decide).
    let size = |v: &Value| measure(v, limit.saturating_add(1));
    match (name, args) {
        ("numbers.range", [a, b]) | ("numbers.range_step", [a, b, _]) => {
            let step = match args.get(2) {
                None => 1,
                Some(step) => match int(step) {
                    Some(n) if n > 0 => n,
                    // regorus divides by the step (a panic for 0) and sizes its result from a
                    // negative count (a capacity overflow panic); OPA refuses both.
                    _ if matches!(step, Value::Number(_)) => return Ok(Verdict::Answer(Value::Undefined)),
                    _ => return Ok(Verdict::Call),
                },
            };
            let count = match (int(a), int(b)) {
                (Some(a), Some(b)) => (b - a).unsigned_abs() / step.unsigned_abs() + 1,
                _ => match (int_bits(a), int_bits(b)) {
                    // A big integer bound: the count is at least 2^(bits - 1) - 2^63.
                    (Some(x), Some(y)) if x.max(y) > 64 => u128::MAX,
                    _ => return Ok(Verdict::Call),
                },
            };
            let bytes = u64::try_from(count.saturating_mul(u128::from(VALUE_BYTES))).unwrap_or(u64::MAX);
            let count = u64::try_from(count).unwrap_or(u64::MAX);
            over(format_args!("{count} elements"), bytes)
        }
        ("net.cidr_expand", [cidr]) => {
            let Some((addr, prefix)) = string(cidr).and_then(|c| c.split_once('/')) else {
                return Ok(Verdict::Call);
            };
            let Ok(prefix) = prefix.trim().parse::<u32>() else {
                return Ok(Verdict::Call);
            };
            let (bits, text) = if addr.contains(':') {
                (128u32, 39u64)
            } else {
                (32, 15)
            };
            let Some(host_bits) = bits.checked_sub(prefix) else {
                return Ok(Verdict::Call);
            };
            let count = 1u128.checked_shl(host_bits).unwrap_or(u128::MAX);
            let bytes =
                u64::try_from(count.saturating_mul(u128::from(BOXED_BYTES + text))).unwrap_or(u64::MAX);
            let count = u64::try_from(count).unwrap_or(u64::MAX);
            over(format_args!("{count} addresses"), bytes)
        }
        ("bits.lsh", [x, shift]) => {
            let (Some(bits), Some(shift)) = (int_bits(x), int(shift)) else {
                return Ok(Verdict::Call);
            };
            let bytes = bits.saturating_add(u64::try_from(shift).unwrap_or(0)) / 8;
            over(format_args!("shift by {shift} bits"), bytes)
        }
        ("format_int", [n, _]) => over(format_args!("number of that size"), number_bytes(n)),
        ("concat", [delim, coll]) => {
            let Some(delim) = string(delim) else {
                return Ok(Verdict::Call);
            };
            let items: Box<dyn Iterator<Item = &Value>> = match coll {
                Value::Array(a) => Box::new(a.iter()),
                Value::Set(s) => Box::new(s.iter()),
                _ => return Ok(Verdict::Call),
            };
            let mut bytes: u64 = 0;
            let mut count: u64 = 0;
            for item in items {
                let Some(s) = string(item) else {
                    return Ok(Verdict::Call);
                };
                bytes = bytes.saturating_add(s.len() as u64);
                if count > 0 {
                    bytes = bytes.saturating_add(delim.len() as u64);
                }
                count += 1;
            }
            over(format_args!("joining {count} strings"), bytes)
        }
        ("sprintf", [fmt, values]) => {
            let (Some(fmt), Value::Array(values)) = (string(fmt), values) else {
                return Ok(Verdict::Call);
            };
            let Some(widths) = format_widths(fmt) else {
                return Ok(Verdict::Answer(Value::Undefined));
            };
            let mut bytes = (fmt.len() as u64).saturating_add(widths);
            for v in values.iter() {
                // Quoting (%q) can turn one character into six.
                bytes = bytes.saturating_add(size(v).bytes.saturating_mul(6));
                if bytes > limit {
                    break;
                }
            }
            over(format_args!("formatted text"), bytes)
        }
        ("array.concat", [a, b]) => {
            let (Value::Array(a), Value::Array(b)) = (a, b) else {
                return Ok(Verdict::Call);
            };
            let count = (a.len() + b.len()) as u64;
            over(
                format_args!("{count} elements"),
                count.saturating_mul(VALUE_BYTES),
            )
        }
        ("json.marshal", [v]) => over(format_args!("JSON text"), size(v).bytes.saturating_mul(6)),
        ("json.marshal_with_options", [v, opts]) => {
            let Value::Object(o) = opts else {
                return Ok(Verdict::Call);
            };
            let opt = |k: &str| {
                o.iter()
                    .find(|(key, _)| string(key) == Some(k))
                    .and_then(|(_, v)| string(v))
                    .map_or(0, |s| s.len() as u64)
            };
            let m = size(v);
            let per_line = opt("prefix")
                .saturating_add(opt("indent").saturating_mul(m.depth))
                .saturating_add(2);
            let bytes = m
                .bytes
                .saturating_mul(6)
                .saturating_add(m.nodes.saturating_mul(per_line));
            over(format_args!("JSON text"), bytes)
        }
        ("json.unmarshal", [s]) => {
            let Some(s) = string(s) else {
                return Ok(Verdict::Call);
            };
            // Each JSON token of two or three bytes ("[]," or "0,") can become a value slot and
            // an allocation.
            over(format_args!("parsed JSON"), (s.len() as u64).saturating_mul(32))
        }
        ("urlquery.encode_object", [v]) => {
            over(format_args!("encoded query"), size(v).bytes.saturating_mul(3))
        }
        ("replace", [s, old, new]) => {
            let (Some(s), Some(old), Some(new)) = (string(s), string(old), string(new)) else {
                return Ok(Verdict::Call);
            };
            let bytes = (s.len() as u64).saturating_add(occurrences(s, old).saturating_mul(new.len() as u64));
            over(format_args!("replaced text"), bytes)
        }
        ("strings.replace_n", [patterns, s]) => {
            let (Value::Object(patterns), Some(s)) = (patterns, string(s)) else {
                return Ok(Verdict::Call);
            };
            let mut bytes = s.len() as u64;
            for (old, new) in patterns.iter() {
                let (Some(old), Some(new)) = (string(old), string(new)) else {
                    return Ok(Verdict::Call);
                };
                bytes = bytes.saturating_add(occurrences(s, old).saturating_mul(new.len() as u64));
            }
            over(format_args!("replaced text"), bytes)
        }
        ("regex.replace", [s, _, new]) => {
            let (Some(s), Some(new)) = (string(s), string(new)) else {
                return Ok(Verdict::Call);
            };
            // At most one match per position; `$n` references copy matched text (all matches
            // together are at most the input).
            let len = s.len() as u64;
            let refs = new.matches('$').count() as u64;
            let bytes = len
                .saturating_add((len + 1).saturating_mul(new.len() as u64))
                .saturating_add(refs.saturating_mul(len));
            over(format_args!("replaced text"), bytes)
        }
        ("split", [s, delim]) => {
            let (Some(s), Some(delim)) = (string(s), string(delim)) else {
                return Ok(Verdict::Call);
            };
            let parts = if delim.is_empty() {
                s.chars().count() as u64
            } else {
                occurrences(s, delim) + 1
            };
            let bytes = (s.len() as u64).saturating_add(parts.saturating_mul(BOXED_BYTES));
            over(format_args!("{parts} parts"), bytes)
        }
        ("regex.split", [_, s]) | ("regex.find_n", [_, s, _]) => {
            let Some(s) = string(s) else {
                return Ok(Verdict::Call);
            };
            let mut parts = s.len() as u64 + 2;
            if let Some(n) = args.get(2).and_then(int) {
                if n >= 0 {
                    parts = parts.min(u64::try_from(n).unwrap_or(u64::MAX));
                }
            }
            let bytes = (s.len() as u64).saturating_add(parts.saturating_mul(BOXED_BYTES));
            over(format_args!("up to {parts} parts"), bytes)
        }
        ("indexof_n", [s, _]) => {
            let Some(s) = string(s) else {
                return Ok(Verdict::Call);
            };
            let count = s.chars().count() as u64 + 1;
            over(
                format_args!("up to {count} positions"),
                count.saturating_mul(VALUE_BYTES),
            )
        }
        ("walk", [v]) => {
            // One [path, value] pair per node, each path as long as the node's depth.
            let m = size(v);
            let per_node = m
                .depth
                .saturating_mul(VALUE_BYTES)
                .saturating_add(3 * BOXED_BYTES);
            let bytes = m.nodes.saturating_mul(per_node).max(m.bytes);
            over(format_args!("paths of {} nodes", m.nodes), bytes)
        }
        _ => Ok(Verdict::Call),
    }
}

/// Check a decision value before it is converted to JSON (every shared part is copied then).
pub(crate) fn check_decision(v: &Value, limit: u64) -> Result<(), Refused> {
    let bytes = measure(v, limit.saturating_add(1)).bytes;
    if bytes > limit {
        return Err(too_large("decision", format_args!("as JSON"), bytes, limit));
    }
    Ok(())
}

/// Uses of [`UNBOUNDED_BUILTINS`] in a policy's code (calls, and names in `with ... as`):
/// (1-based line, builtin).
pub(crate) fn unbounded_calls(text: &str) -> Vec<(usize, String)> {
    crate::lint::mentions_of(text, UNBOUNDED_BUILTINS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(json: &str) -> Value {
        Value::from_json_str(json).unwrap()
    }

    #[test]
    fn measuring_counts_shared_parts_each_time_and_stops_at_the_cap() {
        let s = Value::from("x".repeat(1000));
        let arr = Value::from(vec![s.clone(), s.clone(), s]);
        let m = measure(&arr, u64::MAX);
        assert_eq!(m.bytes, 3 * 1002 + 5);
        assert_eq!(m.nodes, 4);
        assert_eq!(m.depth, 2);
        assert!(measure(&arr, 10).bytes > 10);
        assert!(measure(&arr, 10).nodes < 4);
    }

    #[test]
    fn sprintf_widths_are_summed_and_non_ascii_digits_detected() {
        assert_eq!(format_widths("%d %5s %.3f %%10d %05d"), Some(13));
        assert!(format_widths("%99999999999999999999999d").unwrap() > u64::from(u32::MAX));
        assert_eq!(format_widths("%\u{0663}d"), None);
    }

    #[test]
    fn each_guard_refuses_a_call_over_the_limit_and_allows_a_small_one() {
        let limit = 1 << 20;
        let big = "y".repeat(100_000);
        let many = format!("[{}]", vec![format!("{big:?}"); 20].join(","));
        let cases: Vec<(&str, Vec<Value>, Vec<Value>)> = vec![
            (
                "numbers.range",
                vec![v("1"), v("10000000000")],
                vec![v("1"), v("10")],
            ),
            (
                "numbers.range_step",
                vec![v("1"), v("10000000000"), v("2")],
                vec![v("1"), v("10"), v("2")],
            ),
            (
                "net.cidr_expand",
                vec![v("\"10.0.0.0/8\"")],
                vec![v("\"10.0.0.0/30\"")],
            ),
            ("bits.lsh", vec![v("1"), v("100000000")], vec![v("1"), v("10")]),
            (
                "concat",
                vec![v("\"\""), v(&many)],
                vec![v("\",\""), v("[\"a\", \"b\"]")],
            ),
            (
                "sprintf",
                vec![v("\"%s\""), v(&format!("[{many}]"))],
                vec![v("\"%s-%d\""), v("[\"a\", 1]")],
            ),
            (
                "sprintf",
                vec![v("\"%2000000d\""), v("[1]")],
                vec![v("\"%20d\""), v("[1]")],
            ),
            ("json.marshal", vec![v(&many)], vec![v("{\"a\": [1, 2]}")]),
            (
                "replace",
                vec![Value::from(big.clone()), v("\"y\""), Value::from(big.clone())],
                vec![v("\"aba\""), v("\"b\""), v("\"c\"")],
            ),
            (
                "split",
                vec![Value::from(big.clone()), v("\"\"")],
                vec![v("\"a.b\""), v("\".\"")],
            ),
        ];
        for (name, over, under) in cases {
            let e = match check(name, &over, limit) {
                Err(e) => e,
                Ok(_) => panic!("{name} {over:?} was allowed"),
            };
            assert!(e.message.contains("too large for the memory limit"), "{e}");
            assert!(e.message.starts_with(name), "{e}");
            assert!(
                matches!(check(name, &under, limit), Ok(Verdict::Call)),
                "{name} {under:?}"
            );
        }
    }

    #[test]
    fn a_step_regorus_would_panic_on_is_undefined() {
        for step in ["0", "-1"] {
            let r = check("numbers.range_step", &[v("1"), v("10"), v(step)], 1 << 20);
            assert!(matches!(r, Ok(Verdict::Answer(Value::Undefined))), "{step}");
        }
    }

    #[test]
    fn a_guard_runs_regorus_implementation_and_records_a_refusal() {
        let d = Guards::new(1 << 20).dummies.unwrap();
        let call = |name: &str, args: &[Value]| {
            let i = GUARDED_BUILTINS.iter().position(|n| *n == name).unwrap();
            run(i, &d.span, &d.exprs[..args.len()], args, false, 1 << 20)
        };
        begin_evaluation(Some(1 << 20));
        assert_eq!(call("numbers.range", &[v("1"), v("3")]).unwrap(), v("[1, 2, 3]"));
        assert_eq!(
            call("sprintf", &[v("\"%s=%d\""), v("[\"a\", 4]")]).unwrap(),
            v("\"a=4\"")
        );
        assert!(take_refusal().is_none());
        let e = call("numbers.range", &[v("1"), v("10000000000")]).unwrap_err();
        assert!(e.downcast_ref::<LimitError>().is_some(), "{e}");
        let r = take_refusal().unwrap();
        assert!(r.message.contains("10000000000 elements"), "{r}");
        assert!(take_refusal().is_none());
    }
}
