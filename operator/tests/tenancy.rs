//! Tenancy end to end: the real `seg operator` binary against a real kube-apiserver, with an
//! export and an inventory directory shared by two namespaces. Paths are per namespace, never
//! through a symbolic link or a FIFO; exports and Findings go with their Scan; a deleted Benchmark
//! is not evaluated any more; only trusted keys sign ConfigMap bundles; Findings are owned by their
//! Scan (also one with a 100-character name); and only spec changes start a run.
//!
//! One test per behaviour, each on its own control plane.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::{symlink, FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use seg_e2e::{repo_root, ControlPlane, ManagedProcess, User, RUN_DIR_ENV};
use serde_json::{json, Value};
use tempfile::TempDir;

const SEG: &str = env!("CARGO_BIN_EXE_seg");
const POLL: Duration = Duration::from_millis(250);
const API_VERSION: &str = "seg.neurocipher.io/v1alpha1";
const SCAN_LABEL: &str = "seg.neurocipher.io/scan";

/// A temporary folder under `<run dir>/tmp/` when the test command set a run folder.
fn run_tmp(prefix: &str) -> TempDir {
    let mut b = tempfile::Builder::new();
    b.prefix(prefix);
    match std::env::var_os(RUN_DIR_ENV) {
        Some(run) => {
            let base = PathBuf::from(run).join("tmp");
            fs::create_dir_all(&base).unwrap();
            b.tempdir_in(base).unwrap()
        }
        None => b.tempdir().unwrap(),
    }
}

/// Prints the last lines of the operator logs when the test fails (declare it after the
/// operators, so that it is dropped, and prints, first).
struct LogsOnPanic(Vec<PathBuf>);

impl Drop for LogsOnPanic {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        for log in &self.0 {
            let text = fs::read_to_string(log).unwrap_or_else(|e| format!("(cannot read: {e})"));
            let lines: Vec<&str> = text.lines().collect();
            let from = lines.len().saturating_sub(300);
            eprintln!(
                "---- operator log {} (last {} of {} lines) ----\n{}\n---- end of operator log ----",
                log.display(),
                lines.len() - from,
                lines.len(),
                lines[from..].join("\n")
            );
        }
    }
}

/// Polls `probe` every 250 ms until it returns `Ok`; panics with the last state it described
/// after `timeout`.
fn wait_until<T>(what: &str, timeout: Duration, mut probe: impl FnMut() -> Result<T, String>) -> T {
    let start = Instant::now();
    loop {
        match probe() {
            Ok(v) => return v,
            Err(state) => {
                if start.elapsed() > timeout {
                    panic!("{what}: not reached within {timeout:?}; last seen: {state}");
                }
            }
        }
        std::thread::sleep(POLL);
    }
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// `(status, reason, message)` of condition `type_` ("" when absent).
fn cond(obj: &Value, type_: &str) -> (String, String, String) {
    obj["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == type_))
        .map(|c| (s(&c["status"]), s(&c["reason"]), s(&c["message"])))
        .unwrap_or_default()
}

fn phase(obj: &Value) -> String {
    s(&obj["status"]["phase"])
}

fn generation(obj: &Value) -> i64 {
    obj["metadata"]["generation"].as_i64().unwrap_or(-1)
}

fn observed_generation(obj: &Value) -> i64 {
    obj["status"]["observedGeneration"].as_i64().unwrap_or(-1)
}

fn last_run_time(obj: &Value) -> String {
    s(&obj["status"]["lastRunTime"])
}

/// A one-line description of an object's state, for failure messages.
fn summary(obj: &Value) -> String {
    if obj.is_null() {
        return "(absent)".into();
    }
    let conditions: Vec<String> = obj["status"]["conditions"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    format!(
                        "{}={}/{}: {}",
                        s(&c["type"]),
                        s(&c["status"]),
                        s(&c["reason"]),
                        s(&c["message"])
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    format!(
        "phase {:?}, generation {}, observedGeneration {}, lastRunTime {:?}, exportLocation {:?}, conditions [{}]",
        phase(obj),
        generation(obj),
        observed_generation(obj),
        last_run_time(obj),
        s(&obj["status"]["exportLocation"]),
        conditions.join("; ")
    )
}

/// Sorted names in a directory (empty when it does not exist).
fn list_dir(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = match fs::read_dir(dir) {
        Ok(rd) => rd
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}

fn exists_no_follow(p: &Path) -> bool {
    fs::symlink_metadata(p).is_ok()
}

/// A control plane with seg installed, the namespaces tenant-a and tenant-b, a built-in Benchmark
/// `cis` and a ConfigMap `demo-inventory` (the demo account) in each, and empty export and
/// inventory directories.
struct Tenancy {
    cp: ControlPlane,
    export: TempDir,
    inventory: TempDir,
    scratch: TempDir,
}

const NAMESPACES: [&str; 2] = ["tenant-a", "tenant-b"];

impl Tenancy {
    fn start() -> Tenancy {
        let cp = ControlPlane::start().unwrap();
        cp.install_seg("tenant-a").unwrap();
        cp.kubectl_ok(User::Admin, ["create", "namespace", "tenant-b"])
            .unwrap();
        let demo = repo_root().join("operator/demo/aws-demo-account.jsonl");
        for ns in NAMESPACES {
            cp.kubectl_ok(
                User::Admin,
                [
                    "create",
                    "configmap",
                    "demo-inventory",
                    "-n",
                    ns,
                    &format!("--from-file=items.jsonl={}", demo.display()),
                ],
            )
            .unwrap();
        }
        let t = Tenancy {
            cp,
            export: run_tmp("seg-tenancy-export-"),
            inventory: run_tmp("seg-tenancy-inventory-"),
            scratch: run_tmp("seg-tenancy-scratch-"),
        };
        for ns in NAMESPACES {
            t.apply(&builtin_benchmark(ns, "cis"));
        }
        t
    }

    fn export_dir(&self) -> &Path {
        self.export.path()
    }

    fn inventory_dir(&self) -> &Path {
        self.inventory.path()
    }

    /// `seg operator --export-dir E --inventory-dir I <extra>`.
    fn operator(&self, name: &str, extra: &[&str]) -> (ManagedProcess, PathBuf) {
        let export = self.export_dir().display().to_string();
        let inventory = self.inventory_dir().display().to_string();
        let mut args = vec!["--export-dir", &export, "--inventory-dir", &inventory];
        args.extend_from_slice(extra);
        self.cp.start_operator(Path::new(SEG), name, &args).unwrap()
    }

    /// Copies the demo inventory to `<inventory dir>/<ns>/<rel>`.
    fn put_inventory(&self, ns: &str, rel: &str) -> PathBuf {
        let to = self.inventory_dir().join(ns).join(rel);
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        fs::copy(repo_root().join("operator/demo/aws-demo-account.jsonl"), &to).unwrap();
        to
    }

    fn kubectl(&self, args: &[&str]) -> String {
        self.cp.kubectl_ok(User::Admin, args).unwrap()
    }

    fn apply(&self, obj: &Value) {
        self.cp.apply(User::Admin, &obj.to_string()).unwrap();
    }

    /// The object as JSON, `Value::Null` when it does not exist.
    fn get(&self, kind: &str, ns: &str, name: &str) -> Value {
        let out = self
            .cp
            .kubectl(
                User::Admin,
                ["get", kind, name, "-n", ns, "-o", "json", "--ignore-not-found"],
            )
            .unwrap();
        assert!(
            out.status.success(),
            "kubectl get {kind} {ns}/{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        }
    }

    fn scan(&self, ns: &str, name: &str) -> Value {
        self.get("scan", ns, name)
    }

    /// Findings of a namespace, optionally with label `seg.neurocipher.io/scan=<value>`.
    fn findings(&self, ns: &str, label: Option<&str>) -> Vec<Value> {
        let selector = label.map(|l| format!("{SCAN_LABEL}={l}"));
        let mut args = vec!["get", "findings", "-n", ns, "-o", "json"];
        if let Some(sel) = &selector {
            args.extend_from_slice(&["-l", sel]);
        }
        let v: Value = serde_json::from_str(&self.kubectl(&args)).unwrap();
        v["items"].as_array().cloned().unwrap_or_default()
    }

    /// name -> resourceVersion of the Findings labelled with `label`.
    fn finding_versions(&self, ns: &str, label: &str) -> BTreeMap<String, String> {
        self.findings(ns, Some(label))
            .iter()
            .map(|f| (s(&f["metadata"]["name"]), s(&f["metadata"]["resourceVersion"])))
            .collect()
    }

    /// Waits until the Scan has Succeeded for its current generation; fails at once if it Failed
    /// for it.
    fn wait_succeeded(&self, ns: &str, name: &str, timeout: Duration) -> Value {
        wait_until(&format!("Scan {ns}/{name} Succeeded"), timeout, || {
            let v = self.scan(ns, name);
            let current = !v.is_null() && observed_generation(&v) == generation(&v);
            match phase(&v).as_str() {
                "Succeeded" if current => Ok(v),
                "Failed" if current => {
                    panic!("Scan {ns}/{name} Failed instead of Succeeded: {}", summary(&v))
                }
                _ => Err(summary(&v)),
            }
        })
    }

    /// Waits until the Scan has Failed for its current generation; fails at once if it Succeeded.
    fn wait_failed(&self, ns: &str, name: &str, timeout: Duration) -> Value {
        wait_until(&format!("Scan {ns}/{name} Failed"), timeout, || {
            let v = self.scan(ns, name);
            let current = !v.is_null() && observed_generation(&v) == generation(&v);
            match phase(&v).as_str() {
                "Failed" if current => Ok(v),
                "Succeeded" if current => {
                    panic!("Scan {ns}/{name} Succeeded instead of failing: {}", summary(&v))
                }
                _ => Err(summary(&v)),
            }
        })
    }

    fn wait_benchmark_ready(&self, ns: &str, name: &str, timeout: Duration) -> Value {
        wait_until(&format!("Benchmark {ns}/{name} Ready"), timeout, || {
            let v = self.get("benchmark", ns, name);
            if cond(&v, "Ready").0 == "True" {
                Ok(v)
            } else {
                Err(summary(&v))
            }
        })
    }

    /// Waits until the Benchmark is Ready=False with a Ready reason.
    fn wait_benchmark_refused(&self, ns: &str, name: &str, timeout: Duration) -> Value {
        wait_until(&format!("Benchmark {ns}/{name} refused"), timeout, || {
            let v = self.get("benchmark", ns, name);
            let (status, reason, _) = cond(&v, "Ready");
            match status.as_str() {
                "False" if !reason.is_empty() => Ok(v),
                "True" => panic!(
                    "Benchmark {ns}/{name} loaded but must be refused: {}",
                    summary(&v)
                ),
                _ => Err(summary(&v)),
            }
        })
    }

    fn wait_gone(&self, kind: &str, ns: &str, name: &str, timeout: Duration) {
        wait_until(&format!("{kind} {ns}/{name} deleted"), timeout, || {
            let v = self.get(kind, ns, name);
            if v.is_null() {
                Ok(())
            } else {
                Err(summary(&v))
            }
        })
    }
}

fn builtin_benchmark(ns: &str, name: &str) -> Value {
    json!({
        "apiVersion": API_VERSION,
        "kind": "Benchmark",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"source": {"builtin": "cis-aws-foundations"}},
    })
}

fn from_configmap() -> Value {
    json!({"configMapKeyRef": {"name": "demo-inventory", "key": "items.jsonl"}})
}

fn from_path(p: &str) -> Value {
    json!({"path": p})
}

/// An inventory Scan of Benchmark `cis`.
fn scan_obj(ns: &str, name: &str, inventory: Value, export: Option<&str>) -> Value {
    let mut spec = json!({
        "benchmarkRef": {"name": "cis"},
        "provider": "inventory",
        "inventory": inventory,
    });
    if let Some(p) = export {
        spec["export"] = json!({"path": p});
    }
    json!({
        "apiVersion": API_VERSION,
        "kind": "Scan",
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    })
}

/// Asserts Ready=False with `reason` and Stalled=True; returns the Ready message.
fn assert_stalled(scan: &Value, reason: &str) -> String {
    let (ready, ready_reason, message) = cond(scan, "Ready");
    assert_eq!(
        (ready.as_str(), ready_reason.as_str()),
        ("False", reason),
        "Ready condition: {}",
        summary(scan)
    );
    assert_eq!(
        cond(scan, "Stalled").0,
        "True",
        "Stalled condition: {}",
        summary(scan)
    );
    message
}

/// Non-empty lines of an export, each checked to be a JSON object.
fn export_lines(path: &Path) -> usize {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let mut n = 0;
    for (i, line) in text.lines().enumerate() {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("{} line {}: not JSON: {e}", path.display(), i + 1));
        assert!(v.is_object(), "{} line {}: not an object", path.display(), i + 1);
        n += 1;
    }
    n
}

// -------------------------------------------------------------------------------------------------

/// Item 1: `spec.export.path: p` of a Scan in namespace N writes `<export dir>/N/p` and shows `N/p`;
/// `spec.inventory.path: p` reads `<inventory dir>/N/p`: tenant-a can neither overwrite tenant-b's
/// export nor read tenant-b's inventory.
#[test]
fn export_and_inventory_paths_are_per_namespace() {
    let t = Tenancy::start();
    t.put_inventory("tenant-b", "x.jsonl");
    let (_operator, log) = t.operator("seg-operator", &[]);
    let _logs = LogsOnPanic(vec![log]);

    // tenant-b reads its own inventory file and exports.
    t.apply(&scan_obj(
        "tenant-b",
        "b-export",
        from_path("x.jsonl"),
        Some("out.jsonl"),
    ));
    let b = t.wait_succeeded("tenant-b", "b-export", Duration::from_secs(40));
    assert_eq!(
        s(&b["status"]["exportLocation"]),
        "tenant-b/out.jsonl",
        "{}",
        summary(&b)
    );
    let b_file = t.export_dir().join("tenant-b/out.jsonl");
    let b_lines = export_lines(&b_file);
    assert!(b_lines > 0, "empty export {}", b_file.display());
    assert_eq!(list_dir(&t.export_dir().join("tenant-b")), ["out.jsonl"]);
    let b_bytes = fs::read(&b_file).unwrap();
    let b_meta = fs::metadata(&b_file).unwrap();
    let b_seen = (b_meta.ino(), b_meta.mtime(), b_meta.mtime_nsec(), b_meta.len());

    // tenant-a names "tenant-b/out.jsonl": that is a file in tenant-a's own directory.
    t.apply(&scan_obj(
        "tenant-a",
        "a-export",
        from_configmap(),
        Some("tenant-b/out.jsonl"),
    ));
    let a = t.wait_succeeded("tenant-a", "a-export", Duration::from_secs(40));
    assert_eq!(
        s(&a["status"]["exportLocation"]),
        "tenant-a/tenant-b/out.jsonl",
        "{}",
        summary(&a)
    );
    let a_file = t.export_dir().join("tenant-a/tenant-b/out.jsonl");
    assert_eq!(
        export_lines(&a_file),
        b_lines,
        "both Scans evaluate the demo account: one event per result"
    );
    // Written atomically: nothing but the file is left behind.
    assert_eq!(list_dir(&t.export_dir().join("tenant-a")), ["tenant-b"]);
    assert_eq!(list_dir(&t.export_dir().join("tenant-a/tenant-b")), ["out.jsonl"]);
    assert_eq!(list_dir(t.export_dir()), ["tenant-a", "tenant-b"]);
    // tenant-b's export is untouched.
    let meta = fs::metadata(&b_file).unwrap();
    assert_eq!(
        (meta.ino(), meta.mtime(), meta.mtime_nsec(), meta.len()),
        b_seen,
        "tenant-b/out.jsonl was replaced or modified by tenant-a's Scan"
    );
    assert!(
        fs::read(&b_file).unwrap() == b_bytes,
        "tenant-b/out.jsonl changed"
    );
    assert_eq!(list_dir(&t.export_dir().join("tenant-b")), ["out.jsonl"]);

    // tenant-a cannot read tenant-b's inventory file.
    assert!(!t.inventory_dir().join("tenant-a/x.jsonl").exists());
    t.apply(&scan_obj("tenant-a", "a-steal", from_path("x.jsonl"), None));
    let steal = t.wait_failed("tenant-a", "a-steal", Duration::from_secs(30));
    let message = assert_stalled(&steal, "InventoryNotFound");
    let root = t.inventory_dir().display().to_string();
    assert!(
        !message.contains(&root),
        "the message shows the operator's inventory directory: {message}"
    );
    assert!(
        t.findings("tenant-a", Some("a-steal")).is_empty(),
        "a failed read produced Findings"
    );
}

/// Item 2: An inventory reached through a symbolic link, or a FIFO, is refused (the FIFO at once,
/// without holding the only evaluation slot), and an export directory that is a symbolic link is
/// refused without writing at its target.
#[test]
fn symlinks_and_fifos_are_refused() {
    let t = Tenancy::start();
    let target = t.put_inventory("tenant-b", "x.jsonl");
    let a_inv = t.inventory_dir().join("tenant-a");
    fs::create_dir_all(&a_inv).unwrap();
    symlink(&target, a_inv.join("link.jsonl")).unwrap();
    let fifo = a_inv.join("fifo.jsonl");
    let ok = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(ok.success(), "mkfifo failed");
    assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    let outside = t.scratch.path().join("somewhere");
    fs::create_dir_all(&outside).unwrap();
    let a_exp = t.export_dir().join("tenant-a");
    fs::create_dir_all(&a_exp).unwrap();
    symlink(&outside, a_exp.join("ln")).unwrap();

    let (_operator, log) = t.operator("seg-operator", &["--max-concurrent-scans", "1"]);
    let _logs = LogsOnPanic(vec![log]);
    for ns in NAMESPACES {
        t.wait_benchmark_ready(ns, "cis", Duration::from_secs(40));
    }

    // The FIFO first (no writer ever opens it), then a Scan of another namespace that needs the
    // one evaluation slot.
    t.apply(&scan_obj("tenant-a", "fifo", from_path("fifo.jsonl"), None));
    let created = Instant::now();
    std::thread::sleep(Duration::from_secs(1));
    t.apply(&scan_obj("tenant-b", "b-ok", from_path("x.jsonl"), None));
    let f = t.wait_failed("tenant-a", "fifo", Duration::from_secs(10));
    let took = created.elapsed();
    let message = assert_stalled(&f, "InventoryNotFound");
    assert!(
        message.contains("not a regular file"),
        "the message must say the FIFO is not a regular file: {message}"
    );
    assert!(
        took <= Duration::from_secs(10),
        "FIFO refused only after {took:?}"
    );
    t.wait_succeeded("tenant-b", "b-ok", Duration::from_secs(30));

    // A symbolic link to tenant-b's file.
    t.apply(&scan_obj("tenant-a", "link", from_path("link.jsonl"), None));
    let l = t.wait_failed("tenant-a", "link", Duration::from_secs(30));
    let message = assert_stalled(&l, "InventoryNotFound");
    assert!(
        message.contains("symbolic link") || message.contains("symlink"),
        "the message must name the symbolic link: {message}"
    );
    assert!(t.findings("tenant-a", Some("link")).is_empty());

    // The export's directory is a symbolic link out of the export volume.
    t.apply(&scan_obj(
        "tenant-a",
        "ln-export",
        from_configmap(),
        Some("ln/out.jsonl"),
    ));
    let e = t.wait_failed("tenant-a", "ln-export", Duration::from_secs(30));
    let (ready, reason, _) = cond(&e, "Ready");
    assert_eq!(
        (ready.as_str(), reason.as_str()),
        ("False", "ExportFailed"),
        "{}",
        summary(&e)
    );
    assert!(
        s(&e["status"]["exportLocation"]).is_empty(),
        "exportLocation set for a refused export: {}",
        summary(&e)
    );
    assert_eq!(
        list_dir(&outside),
        Vec::<String>::new(),
        "something was written at the symbolic link's target"
    );
    assert!(fs::symlink_metadata(a_exp.join("ln"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(fs::read_link(a_exp.join("ln")).unwrap(), outside);
    assert_eq!(list_dir(&a_exp), ["ln"]);
}

/// Item 3: Deleting a Scan removes it, its Findings and its export within 5 s.
#[test]
fn exports_are_removed_with_their_scan() {
    let t = Tenancy::start();
    let (_operator, log) = t.operator("seg-operator", &[]);
    let _logs = LogsOnPanic(vec![log]);

    t.apply(&scan_obj(
        "tenant-a",
        "gone",
        from_configmap(),
        Some("gone.jsonl"),
    ));
    let g = t.wait_succeeded("tenant-a", "gone", Duration::from_secs(40));
    assert_eq!(
        s(&g["status"]["exportLocation"]),
        "tenant-a/gone.jsonl",
        "{}",
        summary(&g)
    );
    let file = t.export_dir().join("tenant-a/gone.jsonl");
    assert!(export_lines(&file) > 0);
    let before = t.findings("tenant-a", Some("gone")).len();
    assert!(before > 0, "the demo account has failures: Findings expected");

    t.kubectl(&["delete", "scan", "gone", "-n", "tenant-a", "--wait=false"]);
    let deleted = Instant::now();
    wait_until(
        "Scan, Findings and export removed",
        Duration::from_secs(5),
        || {
            let scan = t.scan("tenant-a", "gone");
            let findings = t.findings("tenant-a", Some("gone")).len();
            let file_there = exists_no_follow(&file);
            if scan.is_null() && findings == 0 && !file_there {
                Ok(())
            } else {
                Err(format!(
                    "scan: {}; findings left: {findings} of {before}; export file still there: {file_there}",
                    summary(&scan)
                ))
            }
        },
    );
    eprintln!("removed within {:?}", deleted.elapsed());
    assert_eq!(list_dir(&t.export_dir().join("tenant-a")), Vec::<String>::new());
}

/// Item 4: After its Benchmark is deleted, a changed Scan waits (`BenchmarkNotReady`) instead of
/// evaluating the deleted bundle; recreating the Benchmark runs it without touching the Scan.
#[test]
fn deleted_benchmarks_do_not_live_on() {
    let t = Tenancy::start();
    let (_operator, log) = t.operator("seg-operator", &[]);
    let _logs = LogsOnPanic(vec![log]);

    t.apply(&scan_obj("tenant-a", "s", from_configmap(), None));
    let first = t.wait_succeeded("tenant-a", "s", Duration::from_secs(40));
    let first_run = last_run_time(&first);
    assert!(!first_run.is_empty(), "{}", summary(&first));

    t.kubectl(&[
        "delete",
        "benchmark",
        "cis",
        "-n",
        "tenant-a",
        "--wait=true",
        "--timeout=30s",
    ]);
    t.wait_gone("benchmark", "tenant-a", "cis", Duration::from_secs(10));
    // Let the operator see the deletion (a watch event) before the Scan changes.
    std::thread::sleep(Duration::from_secs(2));

    t.kubectl(&[
        "patch",
        "scan",
        "s",
        "-n",
        "tenant-a",
        "--type=merge",
        "-p",
        r#"{"spec":{"tags":{"x":"y"}}}"#,
    ]);
    let gen = generation(&t.scan("tenant-a", "s"));
    assert!(
        gen > generation(&first),
        "the patch did not change the generation"
    );
    let pending = |v: &Value| {
        observed_generation(v) == gen
            && phase(v) == "Pending"
            && cond(v, "Reconciling").0 == "True"
            && cond(v, "Reconciling").1 == "BenchmarkNotReady"
    };
    let check_not_run = |v: &Value| {
        if last_run_time(v) != first_run || (observed_generation(v) == gen && phase(v) == "Succeeded") {
            panic!(
                "the Scan ran after its Benchmark was deleted (the deleted bundle was evaluated): {}",
                summary(v)
            );
        }
    };
    wait_until(
        "Scan Pending with BenchmarkNotReady",
        Duration::from_secs(15),
        || {
            let v = t.scan("tenant-a", "s");
            check_not_run(&v);
            if pending(&v) {
                Ok(())
            } else {
                Err(summary(&v))
            }
        },
    );
    // ... and it stays so.
    let hold = Instant::now();
    while hold.elapsed() < Duration::from_secs(3) {
        let v = t.scan("tenant-a", "s");
        check_not_run(&v);
        assert!(
            pending(&v),
            "the Scan left Pending/BenchmarkNotReady: {}",
            summary(&v)
        );
        std::thread::sleep(POLL);
    }

    // The Benchmark comes back: the Scan runs without being changed (the Benchmark is watched).
    t.apply(&builtin_benchmark("tenant-a", "cis"));
    let again = wait_until(
        "Scan Succeeded after the Benchmark is recreated",
        Duration::from_secs(15),
        || {
            let v = t.scan("tenant-a", "s");
            if phase(&v) == "Succeeded" && observed_generation(&v) == gen && last_run_time(&v) != first_run {
                Ok(v)
            } else {
                Err(format!(
                    "{}; benchmark: {}",
                    summary(&v),
                    summary(&t.get("benchmark", "tenant-a", "cis"))
                ))
            }
        },
    );
    assert_eq!(generation(&again), gen, "the Scan was changed");
    assert_eq!(cond(&again, "Ready").0, "True", "{}", summary(&again));
}

/// Item 5: ConfigMap bundles load only when signed by a key the operator trusts
/// (`--trusted-bundle-key`); a Benchmark's `publicKeys` cannot add a key. Built-in bundles always
/// load.
#[test]
fn only_trusted_keys_sign_configmap_bundles() {
    let t = Tenancy::start();
    let root = repo_root();
    let bundle = t.scratch.path().join("bundle.tgz");
    let ok = Command::new("tar")
        .arg("czf")
        .arg(&bundle)
        .arg("-C")
        .arg(root.join("policy-bundles/cis-aws-foundations"))
        .arg(".")
        .status()
        .unwrap();
    assert!(ok.success(), "tar failed");
    t.kubectl(&[
        "create",
        "configmap",
        "b",
        "-n",
        "tenant-a",
        &format!("--from-file=bundle.tgz={}", bundle.display()),
    ]);
    let dev_pub = root.join("policy-bundles/keys/seg-dev.pub");
    t.kubectl(&[
        "create",
        "configmap",
        "dev-key",
        "-n",
        "tenant-a",
        &format!("--from-file=dev.pub={}", dev_pub.display()),
    ]);
    let other = t.scratch.path().join("other");
    let out = Command::new(SEG)
        .args(["bundle", "keygen", "--out"])
        .arg(&other)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "keygen: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let other_pub = other.with_extension("pub");
    assert!(other_pub.is_file());
    t.kubectl(&[
        "create",
        "configmap",
        "other-key",
        "-n",
        "tenant-a",
        &format!("--from-file=other.pub={}", other_pub.display()),
    ]);

    // The CRD requires a ConfigMap bundle to name its keys: `keys` is the ConfigMap (and key)
    // holding the one key listed in `spec.publicKeys`.
    let from_cm = |name: &str, keys: (&str, &str)| {
        json!({
            "apiVersion": API_VERSION,
            "kind": "Benchmark",
            "metadata": {"name": name, "namespace": "tenant-a"},
            "spec": {
                "source": {"configMap": {"name": "b", "key": "bundle.tgz"}},
                "publicKeys": [{"configMapKeyRef": {"name": keys.0, "key": keys.1}}],
            },
        })
    };
    let dev = ("dev-key", "dev.pub");
    let mut logs = LogsOnPanic(Vec::new());
    let timeout = Duration::from_secs(30);

    // A: no trusted key: ConfigMap bundles are not allowed at all, whatever key they list.
    let (mut op, log) = t.operator("seg-operator-a", &["--identity", "op-a", "--lease-seconds", "3"]);
    logs.0.push(log);
    t.apply(&builtin_benchmark("tenant-a", "builtin-a"));
    t.apply(&from_cm("cm-a", dev));
    let v = t.wait_benchmark_refused("tenant-a", "cm-a", timeout);
    assert_eq!(cond(&v, "Ready").1, "BundleSourceNotAllowed", "{}", summary(&v));
    assert_eq!(cond(&v, "Stalled").0, "True", "{}", summary(&v));
    t.wait_benchmark_ready("tenant-a", "builtin-a", timeout);
    let stopped = op.terminate(Duration::from_secs(10)).unwrap();
    assert!(stopped.is_some(), "operator A did not stop on SIGTERM");

    // B: another key is trusted: the development key listed by the Benchmark is refused.
    let other_arg = other_pub.display().to_string();
    let (mut op, log) = t.operator(
        "seg-operator-b",
        &[
            "--identity",
            "op-b",
            "--lease-seconds",
            "3",
            "--trusted-bundle-key",
            &other_arg,
        ],
    );
    logs.0.push(log);
    t.apply(&builtin_benchmark("tenant-a", "builtin-b"));
    t.apply(&from_cm("cm-b", dev));
    t.apply(&from_cm("cm-b-other", ("other-key", "other.pub")));
    let v = t.wait_benchmark_refused("tenant-a", "cm-b", timeout);
    assert_eq!(cond(&v, "Ready").1, "KeyNotTrusted", "{}", summary(&v));
    assert_eq!(cond(&v, "Stalled").0, "True", "{}", summary(&v));
    // Listing the trusted key does not help: it did not sign this bundle.
    let v = t.wait_benchmark_refused("tenant-a", "cm-b-other", timeout);
    assert_eq!(cond(&v, "Stalled").0, "True", "{}", summary(&v));
    t.wait_benchmark_ready("tenant-a", "builtin-b", timeout);
    let stopped = op.terminate(Duration::from_secs(10)).unwrap();
    assert!(stopped.is_some(), "operator B did not stop on SIGTERM");

    // C: the development key is trusted: the bundle loads.
    let dev_arg = dev_pub.display().to_string();
    let (_op, log) = t.operator(
        "seg-operator-c",
        &[
            "--identity",
            "op-c",
            "--lease-seconds",
            "3",
            "--trusted-bundle-key",
            &dev_arg,
        ],
    );
    logs.0.push(log);
    t.apply(&builtin_benchmark("tenant-a", "builtin-c"));
    t.apply(&from_cm("cm-c", dev));
    for name in ["builtin-c", "cm-c"] {
        let v = t.wait_benchmark_ready("tenant-a", name, timeout);
        assert_eq!(
            s(&v["status"]["signatureVerified"]),
            "true",
            "{name}: {}",
            summary(&v)
        );
        assert_eq!(s(&v["status"]["controlCount"]), "43", "{name}: {}", summary(&v));
    }
}

/// Item 6: Every Finding has exactly one ownerReference, the Scan's (controller). A Scan with a
/// 100-character name labels its Findings with a hash and removes them when deleted.
#[test]
fn findings_are_owned_by_their_scan() {
    let t = Tenancy::start();
    let (_operator, log) = t.operator("seg-operator", &[]);
    let _logs = LogsOnPanic(vec![log]);

    let check_owned = |scan: &Value, findings: &[Value]| {
        let name = s(&scan["metadata"]["name"]);
        let uid = s(&scan["metadata"]["uid"]);
        assert!(!uid.is_empty());
        for f in findings {
            let fname = s(&f["metadata"]["name"]);
            let owners = f["metadata"]["ownerReferences"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            assert_eq!(owners.len(), 1, "Finding {fname}: ownerReferences {owners:?}");
            let o = &owners[0];
            assert_eq!(s(&o["apiVersion"]), API_VERSION, "Finding {fname}: {o}");
            assert_eq!(s(&o["kind"]), "Scan", "Finding {fname}: {o}");
            assert_eq!(s(&o["name"]), name, "Finding {fname}: {o}");
            assert_eq!(s(&o["uid"]), uid, "Finding {fname}: {o}");
            assert_eq!(o["controller"], json!(true), "Finding {fname}: {o}");
            assert_eq!(s(&f["spec"]["scanRef"]["name"]), name, "Finding {fname}");
        }
    };
    let fails = |scan: &Value| scan["status"]["resultCounts"]["fail"].as_u64().unwrap_or(0) as usize;

    t.apply(&scan_obj("tenant-a", "owned", from_configmap(), None));
    let owned = t.wait_succeeded("tenant-a", "owned", Duration::from_secs(40));
    let owned_findings = t.findings("tenant-a", Some("owned"));
    assert!(
        !owned_findings.is_empty(),
        "the demo account has failures: Findings expected"
    );
    assert_eq!(
        owned["status"]["findingsTruncated"],
        json!(false),
        "{}",
        summary(&owned)
    );
    assert_eq!(owned_findings.len(), fails(&owned), "one Finding per failure");
    check_owned(&owned, &owned_findings);

    // A valid DNS subdomain of 100 characters: longer than a label value may be.
    let long = format!("{}.{}", "l".repeat(49), "m".repeat(50));
    assert_eq!(long.len(), 100);
    t.apply(&scan_obj("tenant-a", &long, from_configmap(), None));
    let l = t.wait_succeeded("tenant-a", &long, Duration::from_secs(40));
    let uid = s(&l["metadata"]["uid"]);
    let all = t.findings("tenant-a", None);
    let mine: Vec<Value> = all
        .iter()
        .filter(|f| {
            f["metadata"]["ownerReferences"]
                .as_array()
                .is_some_and(|os| os.iter().any(|o| s(&o["uid"]) == uid))
        })
        .cloned()
        .collect();
    assert!(!mine.is_empty(), "no Finding owned by the long-named Scan");
    assert_eq!(mine.len(), fails(&l), "one Finding per failure: {}", summary(&l));
    check_owned(&l, &mine);
    let labels: BTreeSet<String> = mine
        .iter()
        .map(|f| s(&f["metadata"]["labels"][SCAN_LABEL]))
        .collect();
    assert_eq!(labels.len(), 1, "label values {labels:?}");
    let label = labels.into_iter().next().unwrap();
    let hex = label.strip_prefix("h-").unwrap_or("");
    assert!(
        hex.len() == 40
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "label value {label:?} is not h-<40 hex>"
    );
    let by_label: BTreeSet<String> = t
        .findings("tenant-a", Some(&label))
        .iter()
        .map(|f| s(&f["metadata"]["name"]))
        .collect();
    let owned_names: BTreeSet<String> = mine.iter().map(|f| s(&f["metadata"]["name"])).collect();
    assert_eq!(
        by_label, owned_names,
        "the label selects exactly the Scan's Findings"
    );
    assert_eq!(
        all.len(),
        owned_findings.len() + mine.len(),
        "Findings of no Scan"
    );

    t.kubectl(&["delete", "scan", &long, "-n", "tenant-a", "--wait=false"]);
    wait_until(
        "long-named Scan and its Findings removed",
        Duration::from_secs(10),
        || {
            let scan = t.scan("tenant-a", &long);
            let left = t.findings("tenant-a", Some(&label)).len();
            if scan.is_null() && left == 0 {
                Ok(())
            } else {
                Err(format!("scan: {}; Findings left: {left}", summary(&scan)))
            }
        },
    );
    let rest = t.findings("tenant-a", None);
    assert!(
        rest.iter().all(|f| !f["metadata"]["ownerReferences"]
            .as_array()
            .is_some_and(|os| os.iter().any(|o| s(&o["uid"]) == uid))),
        "Findings of the deleted Scan are left"
    );
    assert_eq!(
        t.finding_versions("tenant-a", "owned"),
        owned_findings
            .iter()
            .map(|f| (s(&f["metadata"]["name"]), s(&f["metadata"]["resourceVersion"])))
            .collect(),
        "deleting one Scan touched another's Findings"
    );
}

/// Item 7: A metadata change (an annotation) starts no run and rewrites no Finding; a spec change
/// starts one.
#[test]
fn status_writes_do_not_trigger_work_spec_changes_do() {
    let t = Tenancy::start();
    let (_operator, log) = t.operator("seg-operator", &[]);
    let _logs = LogsOnPanic(vec![log]);

    t.apply(&scan_obj("tenant-a", "quiet", from_configmap(), None));
    let done = t.wait_succeeded("tenant-a", "quiet", Duration::from_secs(40));
    let run = last_run_time(&done);
    let gen = generation(&done);
    let versions = t.finding_versions("tenant-a", "quiet");
    assert!(
        !versions.is_empty(),
        "the demo account has failures: Findings expected"
    );

    t.kubectl(&["annotate", "scan", "quiet", "-n", "tenant-a", "seg-e2e/touched=1"]);
    let annotated = t.scan("tenant-a", "quiet");
    assert_eq!(s(&annotated["metadata"]["annotations"]["seg-e2e/touched"]), "1");
    assert_eq!(
        generation(&annotated),
        gen,
        "an annotation changed the generation"
    );
    std::thread::sleep(Duration::from_secs(5));
    let after = t.scan("tenant-a", "quiet");
    assert_eq!(
        last_run_time(&after),
        run,
        "an annotation started a run: {}",
        summary(&after)
    );
    assert_eq!(phase(&after), "Succeeded", "{}", summary(&after));
    assert_eq!(
        t.finding_versions("tenant-a", "quiet"),
        versions,
        "an annotation rewrote Findings"
    );

    t.kubectl(&[
        "patch",
        "scan",
        "quiet",
        "-n",
        "tenant-a",
        "--type=merge",
        "-p",
        r#"{"spec":{"tags":{}}}"#,
    ]);
    let new_gen = generation(&t.scan("tenant-a", "quiet"));
    assert!(
        new_gen > gen,
        "setting spec.tags to {{}} did not change the generation"
    );
    wait_until("a new run after the spec change", Duration::from_secs(30), || {
        let v = t.scan("tenant-a", "quiet");
        if phase(&v) == "Succeeded" && observed_generation(&v) == new_gen && last_run_time(&v) != run {
            Ok(())
        } else {
            Err(summary(&v))
        }
    });
}
