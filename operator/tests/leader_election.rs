//! `seg operator` replicas against a real kube-apiserver: only the Lease holder runs the
//! controllers and it keeps the Lease for as long as it runs; when it dies, the other takes over
//! within the lease duration; one stopped with SIGTERM releases the Lease, so that the next
//! replica leads at once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::{Duration, Instant};

use seg_e2e::{ControlPlane, User};

const LEASE_SECONDS: u64 = 4;

fn out(cp: &ControlPlane, args: &[&str]) -> String {
    cp.kubectl(User::Admin, args)
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

fn wait(what: &str, logs: &[&Path], mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        if start.elapsed() > Duration::from_secs(60) {
            let logs: Vec<String> = logs
                .iter()
                .map(|l| std::fs::read_to_string(l).unwrap_or_default())
                .collect();
            panic!("{what}: not reached after 60 s\nlogs:\n{}", logs.join("\n---\n"));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn replica(cp: &ControlPlane, id: &str) -> (seg_e2e::ManagedProcess, std::path::PathBuf) {
    cp.start_operator(
        Path::new(env!("CARGO_BIN_EXE_seg")),
        &format!("seg-operator-{id}"),
        &["--identity", id, "--lease-seconds", &LEASE_SECONDS.to_string()],
    )
    .unwrap()
}

fn benchmark(cp: &ControlPlane, name: &str) {
    cp.apply(
        User::Admin,
        &format!(
            "apiVersion: seg.neurocipher.io/v1alpha1
kind: Benchmark
metadata: {{name: {name}, namespace: tenant-a}}
spec:
  source: {{builtin: cis-aws-foundations}}
"
        ),
    )
    .unwrap();
}

#[test]
fn only_the_lease_holder_reconciles_and_a_successor_takes_over() {
    let cp = ControlPlane::start().unwrap();
    cp.install_seg("tenant-a").unwrap();
    let holder = |cp: &ControlPlane| {
        out(
            cp,
            &[
                "get",
                "lease",
                "seg-operator",
                "-n",
                "seg-system",
                "-o",
                "jsonpath={.spec.holderIdentity}",
            ],
        )
    };

    let (mut a, log_a) = replica(&cp, "replica-a");
    wait("replica-a leads", &[&log_a], || holder(&cp) == "replica-a");
    let (mut b, log_b) = replica(&cp, "replica-b");
    wait("replica-b waits", &[&log_a, &log_b], || {
        std::fs::read_to_string(&log_b)
            .unwrap_or_default()
            .contains("waiting for leadership")
    });

    benchmark(&cp, "first");
    let ready = |name: &str| {
        out(
            &cp,
            &[
                "get",
                "benchmark",
                name,
                "-n",
                "tenant-a",
                "-o",
                "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
            ],
        ) == "True"
    };
    wait("first Ready", &[&log_a, &log_b], || ready("first"));
    // Well past the lease duration, the holder has renewed its Lease: still one leader.
    std::thread::sleep(Duration::from_secs(LEASE_SECONDS * 5 / 2));
    assert_eq!(holder(&cp), "replica-a");
    assert!(
        !std::fs::read_to_string(&log_b).unwrap().contains("is the leader"),
        "the standby must not lead while the holder runs:\n{}",
        std::fs::read_to_string(&log_b).unwrap()
    );

    a.stop();
    wait("replica-b takes over", &[&log_a, &log_b], || {
        holder(&cp) == "replica-b"
    });
    benchmark(&cp, "second");
    wait("second Ready", &[&log_b], || ready("second"));

    // SIGTERM: the controllers stop, the Lease is released (no holder), the process exits 0.
    let status = b.terminate(Duration::from_secs(30)).unwrap();
    let log = std::fs::read_to_string(&log_b).unwrap();
    assert!(status.is_some_and(|s| s.success()), "{status:?}\n{log}");
    assert!(
        log.contains("released the Lease seg-system/seg-operator"),
        "{log}"
    );
    let lease = cp
        .kubectl_ok(
            User::Admin,
            ["get", "lease", "seg-operator", "-n", "seg-system", "-o", "json"],
        )
        .unwrap();
    let lease: serde_json::Value = serde_json::from_str(&lease).unwrap();
    assert!(lease["spec"]["holderIdentity"].is_null(), "released: {lease}");
    // So a new replica leads at once, without waiting for the Lease to expire.
    let (mut c, log_c) = replica(&cp, "replica-c");
    wait("replica-c leads", &[&log_c], || holder(&cp) == "replica-c");
    assert!(
        !std::fs::read_to_string(&log_c)
            .unwrap()
            .contains("waiting for leadership"),
        "a released Lease is free"
    );
    c.stop();
}
