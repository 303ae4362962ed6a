//! Static checks of a bundle: manifest, file layout, vector coverage and forbidden builtins.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::bundle::{BundleFiles, Manifest, CHECKSUMS, MANIFEST, SIGNATURE};
use crate::model::CheckResult;
use crate::policy::{CompiledBundle, LoadOptions, Trust};
use crate::vectors::parse_vector_file;

/// Builtins that make a policy non-deterministic or reach the network.
pub const FORBIDDEN_BUILTINS: &[&str] = &[
    "time.now_ns",
    "rand.intn",
    "http.send",
    "uuid.rfc4122",
    "uuid.parse",
    "opa.runtime",
    "net.lookup_ip_addr",
    "trace",
    "print",
];

/// One problem, naming the file (and line when known).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LintProblem {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for LintProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{}: {}", self.file, l, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

fn problem(file: &str, line: Option<usize>, message: impl Into<String>) -> LintProblem {
    LintProblem {
        file: file.to_string(),
        line,
        message: message.into(),
    }
}

fn is_kebab(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('-')
        && !s.ends_with('-')
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Lint a bundle. `dir_name` is the bundle's directory name, which must equal its id.
pub fn lint(files: &BundleFiles, dir_name: Option<&str>) -> Vec<LintProblem> {
    let mut out = Vec::new();
    let manifest = match Manifest::parse(files) {
        Ok(m) => m,
        Err(e) => return vec![problem(MANIFEST, None, e.to_string())],
    };
    if !is_kebab(&manifest.id) {
        out.push(problem(
            MANIFEST,
            None,
            format!("id {:?} is not lowercase kebab-case", manifest.id),
        ));
    }
    if let Some(d) = dir_name {
        if d != manifest.id {
            out.push(problem(
                MANIFEST,
                None,
                format!("id {:?} differs from the directory name {d:?}", manifest.id),
            ));
        }
    }
    let mut ids = BTreeSet::new();
    let mut union: BTreeSet<&str> = BTreeSet::new();
    for c in &manifest.controls {
        let at = |m: String| problem(MANIFEST, None, format!("control {}: {m}", c.id));
        if !is_kebab(&c.id) {
            out.push(at("id is not lowercase kebab-case".into()));
        }
        if !ids.insert(c.id.as_str()) {
            out.push(at("id appears twice".into()));
        }
        if semver::Version::parse(&c.version).is_err() {
            out.push(at(format!("version {:?} is not semver", c.version)));
        }
        for (name, value) in [("title", &c.title), ("description", &c.description)] {
            if value.trim().is_empty() {
                out.push(at(format!("{name} is empty")));
            }
        }
        if c.target_kinds.is_empty() {
            out.push(at("target_kinds is empty".into()));
        }
        if c.requirements.is_empty() {
            out.push(at(
                "requirements is empty (name the benchmark recommendation ids)".into(),
            ));
        }
        if c.remediation.as_deref().unwrap_or("").trim().is_empty() {
            out.push(at("remediation is empty".into()));
        }
        union.extend(c.target_kinds.iter().map(String::as_str));
        lint_policy(files, &c.policy_path(), &mut out);
        lint_vectors(files, &c.test_path(), &c.id, &c.target_kinds, &mut out);
    }
    let declared: BTreeSet<&str> = manifest.target_kinds.iter().map(String::as_str).collect();
    if declared != union {
        out.push(problem(
            MANIFEST,
            None,
            format!(
                "target_kinds must be the union of the controls' target_kinds; missing {:?}, extra {:?}",
                union.difference(&declared).collect::<Vec<_>>(),
                declared.difference(&union).collect::<Vec<_>>()
            ),
        ));
    }
    for path in files.paths() {
        let known = path == MANIFEST
            || path == CHECKSUMS
            || path == SIGNATURE
            || path == "README.md"
            || (path.starts_with("data/") && path.ends_with(".json"))
            || path
                .strip_prefix("policies/")
                .and_then(|p| p.strip_suffix(".rego"))
                .is_some_and(|id| ids.contains(id))
            || path
                .strip_prefix("tests/")
                .and_then(|p| p.strip_suffix(".json"))
                .is_some_and(|id| ids.contains(id));
        if !known {
            out.push(problem(
                path,
                None,
                "file does not belong to the bundle layout (no control of that id, or unknown folder)",
            ));
        }
    }
    if out.is_empty() {
        if let Err(e) = CompiledBundle::load(files, &LoadOptions::new(Trust::AllowUnsigned(Vec::new()))) {
            out.push(problem(MANIFEST, None, e.to_string()));
        }
    }
    out.sort();
    out
}

/// The policy text line by line with comments and string literals blanked, so that only code is
/// searched. String state is carried across lines (raw strings may span lines).
fn code_lines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    let (mut in_str, mut in_raw, mut escaped, mut comment) = (false, false, false, false);
    for ch in text.chars() {
        if ch == '\n' {
            lines.push(std::mem::take(&mut cur));
            comment = false;
            escaped = false;
            continue;
        }
        if comment {
            continue;
        }
        if in_raw {
            in_raw = ch != '`';
            cur.push(' ');
        } else if in_str {
            if escaped {
                escaped = false;
            } else if ch == '\\' {
                escaped = true;
            } else if ch == '"' {
                in_str = false;
            }
            cur.push(' ');
        } else if ch == '#' {
            comment = true;
        } else if ch == '"' {
            in_str = true;
            cur.push(' ');
        } else if ch == '`' {
            in_raw = true;
            cur.push(' ');
        } else {
            cur.push(ch);
        }
    }
    lines.push(cur);
    lines
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.'
}

/// Calls of the named builtins in one line of code (with `mentions`, every use of the name, as
/// in `f(x) with f as <name>`).
fn line_calls<'a>(code: &str, names: &[&'a str], mentions: bool, out: &mut Vec<&'a str>) {
    for &b in names {
        let mut from = 0;
        while let Some(pos) = code[from..].find(b) {
            let start = from + pos;
            let end = start + b.len();
            let before = code[..start].chars().next_back();
            let after = code[end..].trim_start().chars().next();
            let called = after == Some('(');
            let bounded = !code[end..].chars().next().is_some_and(is_ident);
            if !before.is_some_and(is_ident) && (called || (mentions && bounded)) {
                out.push(b);
            }
            from = end;
        }
    }
}

/// Uses of the named builtins in a policy (comments and strings excluded): (1-based line, builtin).
pub(crate) fn mentions_of(text: &str, names: &[&str]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, code) in code_lines(text).iter().enumerate() {
        let mut found = Vec::new();
        line_calls(code, names, true, &mut found);
        out.extend(found.into_iter().map(|b| (n + 1, b.to_string())));
    }
    out
}

/// Calls of forbidden builtins in a policy: (1-based line, builtin).
pub fn forbidden_calls(text: &str) -> Vec<(usize, String)> {
    let ident = is_ident;
    let mut out = Vec::new();
    for (n, code) in code_lines(text).iter().enumerate() {
        let mut found = Vec::new();
        line_calls(code, FORBIDDEN_BUILTINS, false, &mut found);
        let mut push = |b: &str| out.push((n + 1, b.to_string()));
        for b in found {
            push(b);
        }
        let mut from = 0;
        while let Some(pos) = code[from..].find("rand.") {
            let start = from + pos;
            if !code[..start].chars().next_back().is_some_and(ident)
                && !code[start..].starts_with("rand.intn")
            {
                push("rand.*");
            }
            from = start + 5;
        }
    }
    out
}

fn lint_policy(files: &BundleFiles, path: &str, out: &mut Vec<LintProblem>) {
    let text = match files.text(path) {
        Ok(t) => t,
        Err(e) => {
            out.push(problem(path, None, e.to_string()));
            return;
        }
    };
    if !code_lines(text).iter().any(|l| l.trim() == "import rego.v1") {
        out.push(problem(path, None, "missing `import rego.v1`"));
    }
    for (line, b) in forbidden_calls(text) {
        out.push(problem(
            path,
            Some(line),
            format!("forbidden builtin {b}: policies must be deterministic and offline"),
        ));
    }
}

fn lint_vectors(files: &BundleFiles, path: &str, id: &str, kinds: &[String], out: &mut Vec<LintProblem>) {
    let text = match files.text(path) {
        Ok(t) => t,
        Err(e) => {
            out.push(problem(path, None, e.to_string()));
            return;
        }
    };
    let file = match parse_vector_file(path, text) {
        Ok(f) => f,
        Err(e) => {
            out.push(problem(path, None, e.to_string()));
            return;
        }
    };
    if file.control != id {
        out.push(problem(
            path,
            None,
            format!("control is {:?}, expected {id:?}", file.control),
        ));
    }
    let mut by_result: BTreeMap<CheckResult, usize> = BTreeMap::new();
    for case in &file.cases {
        *by_result.entry(case.expect).or_default() += 1;
        let kind = case
            .resource
            .get("resourceType")
            .and_then(|v| v.as_str())
            .unwrap_or("");
        if !kinds.iter().any(|k| k == kind) {
            out.push(problem(
                path,
                None,
                format!(
                "case {:?}: resourceType {kind:?} is not a target kind; every case must exercise the policy",
                case.name
            ),
            ));
        }
    }
    let n = |r: CheckResult| by_result.get(&r).copied().unwrap_or(0);
    if file.cases.len() < 3 {
        out.push(problem(
            path,
            None,
            format!("{} case(s); at least 3 are required", file.cases.len()),
        ));
    }
    if n(CheckResult::Pass) == 0 {
        out.push(problem(path, None, "no case expects pass"));
    }
    if n(CheckResult::Fail) == 0 {
        out.push(problem(path, None, "no case expects fail"));
    }
    if n(CheckResult::Error) + n(CheckResult::NotApplicable) == 0 {
        out.push(problem(path, None, "no case expects error or not_applicable"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_and_strings_are_not_code() {
        assert_eq!(
            code_lines(r#"x := "time.now_ns()" # time.now_ns()"#)[0].trim(),
            "x :="
        );
    }

    #[test]
    fn a_raw_string_across_lines_does_not_hide_code() {
        let text = "a := `x\ny` ; t := time.now_ns()\nb := `\ntime.now_ns()\n`\nc := operand.x + brand.y\n";
        assert_eq!(forbidden_calls(text), vec![(2, "time.now_ns".to_string())]);
    }

    #[test]
    fn forbidden_builtins_are_found_with_their_line() {
        let mut f = BundleFiles::new();
        f.insert("policies/a.rego", b"package a\nimport rego.v1\n# time.now_ns()\nt := time.now_ns()\nok := my.time.now_ns_x\nr := rand.intn(\"x\", 3)\n".to_vec()).unwrap();
        let mut out = Vec::new();
        lint_policy(&f, "policies/a.rego", &mut out);
        let lines: Vec<Option<usize>> = out.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![Some(4), Some(6)], "{out:?}");
    }
}
