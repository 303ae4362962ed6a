//! A running Scan reports its progress, and Scans beyond `--max-concurrent-scans` wait `Queued`
//! instead of evaluating at once (bounded memory), on a real kube-apiserver.
//!
//! Two Scans over the same inventory (the demo account repeated with new resource ids, large
//! enough that a debug build evaluates it for several seconds) are created together. Every state
//! they pass through is recorded by a `kubectl get --watch` stream, and the test checks that:
//! - some recorded state of each is `Running` with `0 < controlsEvaluated < controlsTotal`;
//! - one of them was `Pending` with reason `Queued` while the other ran;
//! - at no point were both `Running`;
//! - both end `Succeeded` with every evaluation counted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use seg_e2e::{repo_root, ControlPlane, ManagedProcess, User};
use serde_json::Value;

/// Copies of the demo account in the inventory.
const COPIES: usize = 450;

fn big_inventory(dir: &Path) -> usize {
    let demo = std::fs::read_to_string(repo_root().join("operator/demo/aws-demo-account.jsonl")).unwrap();
    let mut out = String::new();
    let mut n = 0;
    for copy in 0..COPIES {
        for line in demo.lines().filter(|l| !l.trim().is_empty()) {
            let mut item: Value = serde_json::from_str(line).unwrap();
            let id = format!("{}-c{copy}", item["resourceId"].as_str().unwrap());
            item["resourceId"] = Value::String(id);
            if let Some(arn) = item["arn"].as_str() {
                item["arn"] = Value::String(format!("{arn}-c{copy}"));
            }
            out.push_str(&item.to_string());
            out.push('\n');
            n += 1;
        }
    }
    std::fs::write(dir.join("big.jsonl"), out).unwrap();
    n
}

/// The watch stream: `{"type": ..., "object": {...}}` documents, one after another.
fn recorded_states(log: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    serde_json::Deserializer::from_str(&text)
        .into_iter::<Value>()
        .map_while(Result::ok)
        .map(|ev| ev["object"].clone())
        .collect()
}

fn condition_reason(scan: &Value, type_: &str) -> Option<String> {
    scan["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_ && c["status"] == "True")
        .and_then(|c| c["reason"].as_str().map(str::to_string))
}

#[test]
fn running_scans_report_progress_and_extra_scans_wait_queued() {
    let cp = ControlPlane::start().unwrap();
    cp.install_seg("tenant-a").unwrap();
    let inventory = tempfile::tempdir().unwrap();
    // Inventories of namespace N are read from <inventory dir>/N/.
    std::fs::create_dir_all(inventory.path().join("tenant-a")).unwrap();
    let items = big_inventory(&inventory.path().join("tenant-a"));
    let inventory_dir = inventory.path().display().to_string();
    let (_operator, log) = cp
        .start_operator(
            Path::new(env!("CARGO_BIN_EXE_seg")),
            "seg-operator",
            &[
                "--inventory-dir",
                &inventory_dir,
                "--progress-seconds",
                "1",
                "--max-concurrent-scans",
                "1",
            ],
        )
        .unwrap();
    cp.apply(
        User::Admin,
        "apiVersion: seg.neurocipher.io/v1alpha1
kind: Benchmark
metadata: {name: cis, namespace: tenant-a}
spec:
  source: {builtin: cis-aws-foundations}
",
    )
    .unwrap();
    let start = Instant::now();
    while cp
        .kubectl_ok(
            User::Admin,
            [
                "get",
                "benchmark",
                "cis",
                "-n",
                "tenant-a",
                "-o",
                "jsonpath={.status.controlCount}",
            ],
        )
        .unwrap_or_default()
        .trim()
        .is_empty()
    {
        assert!(start.elapsed() < Duration::from_secs(60), "Benchmark not Ready");
        std::thread::sleep(Duration::from_millis(200));
    }

    let watch_log = cp.dir().join("scan-watch.log");
    let mut watch = cp.kubectl_command(User::Admin);
    watch.args([
        "get",
        "scans",
        "-n",
        "tenant-a",
        "--watch",
        "--output-watch-events",
        "-o",
        "json",
    ]);
    let _watch = ManagedProcess::spawn("scan-watch", watch, watch_log.clone()).unwrap();
    std::thread::sleep(Duration::from_millis(500));

    let scan = |name: &str| {
        format!(
            "apiVersion: seg.neurocipher.io/v1alpha1
kind: Scan
metadata: {{name: {name}, namespace: tenant-a}}
spec:
  benchmarkRef: {{name: cis}}
  provider: inventory
  inventory: {{path: big.jsonl}}
  limits: {{maxFindings: 100}}
"
        )
    };
    cp.apply(User::Admin, &format!("{}---\n{}", scan("first"), scan("second")))
        .unwrap();

    let start = Instant::now();
    let finished = |states: &[Value]| {
        let mut latest: BTreeMap<String, Value> = BTreeMap::new();
        for s in states {
            latest.insert(
                s["metadata"]["name"].as_str().unwrap_or("").to_string(),
                s.clone(),
            );
        }
        latest.len() == 2 && latest.values().all(|s| s["status"]["phase"] == "Succeeded")
    };
    loop {
        if finished(&recorded_states(&watch_log)) {
            break;
        }
        if start.elapsed() > Duration::from_secs(240) {
            let watched = std::fs::read_to_string(&watch_log).unwrap_or_default();
            let tail: String = watched
                .chars()
                .rev()
                .take(3000)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            panic!(
                "the Scans did not both succeed in 240 s\nstates: {:?}\nwatch log tail:\n{tail}\noperator log:\n{}",
                recorded_states(&watch_log)
                    .iter()
                    .map(|s| format!("{} {}", s["metadata"]["name"], s["status"]["phase"]))
                    .collect::<Vec<_>>(),
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }

    let states = recorded_states(&watch_log);
    let mut latest: BTreeMap<String, Value> = BTreeMap::new();
    let mut both_running = false;
    let mut queued_while_other_ran = false;
    let mut progressed: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for s in &states {
        let name = s["metadata"]["name"].as_str().unwrap().to_string();
        latest.insert(name.clone(), s.clone());
        let running: Vec<&Value> = latest
            .values()
            .filter(|v| v["status"]["phase"] == "Running")
            .collect();
        both_running |= running.len() == 2;
        let queued = latest
            .values()
            .filter(|v| {
                v["status"]["phase"] == "Pending"
                    && condition_reason(v, "Reconciling").as_deref() == Some("Queued")
            })
            .count();
        queued_while_other_ran |= queued == 1 && running.len() == 1;
        let p = &s["status"]["progress"];
        if s["status"]["phase"] == "Running" {
            if let (Some(done), Some(total)) = (p["controlsEvaluated"].as_i64(), p["controlsTotal"].as_i64())
            {
                if done > 0 && done < total {
                    progressed.insert(name, (done, total));
                }
            }
        }
    }
    let summary = || {
        states
            .iter()
            .map(|s| {
                format!(
                    "{} {} {}",
                    s["metadata"]["name"], s["status"]["phase"], s["status"]["progress"]
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(!both_running, "both Scans were Running at once:\n{}", summary());
    assert!(
        queued_while_other_ran,
        "no Scan was seen Queued while the other ran:\n{}",
        summary()
    );
    assert_eq!(
        progressed.len(),
        2,
        "each Scan should be seen Running part way through:\n{}",
        summary()
    );
    for (name, s) in &latest {
        let p = &s["status"]["progress"];
        assert_eq!(p["controlsEvaluated"], p["controlsTotal"], "{name}: {p}");
        assert_eq!(p["assetsEvaluated"], p["assetsTotal"], "{name}: {p}");
        let assets = p["assetsTotal"].as_u64().unwrap() as usize;
        assert!(
            assets > items / 2 && assets <= items,
            "{name}: {assets} of {items}: {p}"
        );
        assert_eq!(
            s["status"]["resultCounts"]["fail"].as_i64().unwrap()
                + s["status"]["resultCounts"]["pass"].as_i64().unwrap()
                + s["status"]["resultCounts"]["warn"].as_i64().unwrap()
                + s["status"]["resultCounts"]["error"].as_i64().unwrap()
                + s["status"]["resultCounts"]["notApplicable"].as_i64().unwrap(),
            p["controlsTotal"].as_i64().unwrap(),
            "{name}"
        );
    }
    // The queued Scan says why it waits: its condition message names the flag.
    let queued_message = states
        .iter()
        .filter_map(|s| s["status"]["conditions"].as_array())
        .flatten()
        .find(|c| c["reason"] == "Queued")
        .and_then(|c| c["message"].as_str().map(str::to_string))
        .unwrap();
    assert!(
        queued_message.contains("--max-concurrent-scans"),
        "{queued_message}"
    );
}
