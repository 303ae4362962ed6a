//! What a Scan needs next (pure): from the object, what the operator observed and the time.

use std::time::Duration;

use seg_crds::{Provider, Scan, ScanPhase};
use seg_engine::time::Timestamp;

/// What the operator knows beside the Scan object itself.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Observed {
    /// The generation of the run in progress in this process, if a run is in progress.
    pub running: Option<Option<i64>>,
    /// The Benchmark's bundle is loaded and verified.
    pub bundle_ready: bool,
    /// Scans of the namespace created before this one (the oldest have the namespace's quota).
    pub older_in_namespace: usize,
    /// A failure that could not be recorded in the status (the API server refused the write)
    /// holds the next run back until then.
    pub not_before: Option<Timestamp>,
}

/// Operator-wide limits per namespace.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Scans per namespace that run; the newer ones are Stalled.
    pub max_scans_per_namespace: usize,
    /// Shortest time between two scheduled runs.
    pub min_schedule_interval: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_scans_per_namespace: 50,
            min_schedule_interval: Duration::from_secs(300),
        }
    }
}

/// The decision.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// A run of the current generation is in progress: it writes its own status.
    Observe,
    /// A run of an older generation is in progress: cancel it; the new one starts after.
    Cancel,
    /// `spec.suspend`: no new run starts.
    Suspended,
    /// The spec cannot run: `Stalled=True` with this reason until the Scan changes.
    Stalled { reason: &'static str, message: String },
    /// The Benchmark is not Ready: wait for it (its changes trigger this Scan).
    PendingBenchmark,
    /// Nothing to do before this time.
    WaitUntil(Timestamp),
    /// Nothing to do until the Scan changes.
    AwaitChange,
    /// Start a run now; `next_run` is the scheduled run after it.
    Run { next_run: Option<Timestamp> },
}

/// Decide what the Scan needs now.
pub fn decide(scan: &Scan, observed: &Observed, limits: &Limits, now: Timestamp) -> Next {
    let generation = scan.metadata.generation;
    if let Some(running) = observed.running {
        return if running == generation {
            Next::Observe
        } else {
            Next::Cancel
        };
    }
    if scan.spec.suspend {
        return Next::Suspended;
    }
    if let Some(stall) = invalid(scan, observed, limits, now) {
        return stall;
    }
    let next_run = match &scan.spec.schedule {
        None => None,
        Some(s) => match crate::schedule::next_run(s, now) {
            Ok(t) => Some(t),
            Err(message) => {
                return Next::Stalled {
                    reason: "ScheduleInvalid",
                    message,
                }
            }
        },
    };
    let status = scan.status.as_ref();
    let settled = status
        .filter(|s| s.observed_generation == generation)
        .and_then(|s| s.phase);
    let planned = status
        .and_then(|s| s.next_run_time.as_deref())
        .and_then(|t| Timestamp::parse(t).ok());
    match (settled, planned) {
        (Some(ScanPhase::Succeeded), _) if scan.spec.schedule.is_none() => return Next::AwaitChange,
        (Some(ScanPhase::Succeeded | ScanPhase::Failed), Some(t)) if t > now => return Next::WaitUntil(t),
        // A failure that only a change can mend (an invalid spec) has no next run time.
        (Some(ScanPhase::Failed), None) => return Next::AwaitChange,
        // Running or Pending without a run in this process: the run was interrupted (the
        // operator stopped or lost the Lease): run it again.
        _ => {}
    }
    if let Some(t) = observed.not_before.filter(|t| *t > now) {
        return Next::WaitUntil(t);
    }
    if !observed.bundle_ready {
        return Next::PendingBenchmark;
    }
    Next::Run { next_run }
}

/// Why the spec cannot run at all, before anything is read (pure).
fn invalid(scan: &Scan, observed: &Observed, limits: &Limits, now: Timestamp) -> Option<Next> {
    let stalled = |reason, message: String| Some(Next::Stalled { reason, message });
    if matches!(scan.spec.provider, Provider::Azure | Provider::Gcp) {
        return stalled(
            "ProviderNotAvailable",
            format!(
                "spec.provider: {:?} scans need a cloud adapter that this operator build does not include yet; use aws or inventory",
                scan.spec.provider
            ),
        );
    }
    if observed.older_in_namespace >= limits.max_scans_per_namespace {
        return stalled(
            "NamespaceScanLimit",
            format!(
                "this namespace has more than {} Scans (seg operator --max-scans-per-namespace); delete older Scans or ask the cluster administrator",
                limits.max_scans_per_namespace
            ),
        );
    }
    if let Some(s) = &scan.spec.schedule {
        let first = crate::schedule::next_run(s, now);
        let second = first.clone().and_then(|t| crate::schedule::next_run(s, t));
        match (first, second) {
            (Ok(a), Ok(b)) => {
                let gap = b.unix_nanos().saturating_sub(a.unix_nanos());
                let min = i128::try_from(limits.min_schedule_interval.as_nanos()).unwrap_or(i128::MAX);
                if gap < min {
                    return stalled(
                        "ScheduleTooFrequent",
                        format!(
                            "spec.schedule {s:?}: runs {}s apart, the operator allows at least {}s (seg operator --min-schedule-interval-seconds)",
                            gap / 1_000_000_000,
                            limits.min_schedule_interval.as_secs()
                        ),
                    );
                }
            }
            (Err(message), _) | (_, Err(message)) => return stalled("ScheduleInvalid", message),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use seg_crds::{ScanSpec, ScanStatus};

    fn t(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    const NOW: &str = "2026-12-04T10:00:00Z";

    fn scan(yaml_spec: &str, status: Option<ScanStatus>) -> Scan {
        let spec: ScanSpec = serde_saphyr::from_str(yaml_spec).unwrap();
        let mut s = Scan::new("s", spec);
        s.metadata.namespace = Some("t".into());
        s.metadata.generation = Some(2);
        s.status = status;
        s
    }

    const INVENTORY: &str = "benchmarkRef: {name: b}\nprovider: inventory\ninventory: {path: x.jsonl}\n";

    fn status(generation: i64, phase: ScanPhase, next: Option<&str>) -> Option<ScanStatus> {
        Some(ScanStatus {
            observed_generation: Some(generation),
            phase: Some(phase),
            next_run_time: next.map(str::to_string),
            ..ScanStatus::default()
        })
    }

    fn ready() -> Observed {
        Observed {
            bundle_ready: true,
            ..Observed::default()
        }
    }

    fn with_schedule(s: &str) -> String {
        format!("{INVENTORY}schedule: \"{s}\"\n")
    }

    #[test]
    fn decisions_for_every_phase_and_event() {
        let now = t(NOW);
        let l = Limits::default();
        let hourly = with_schedule("@hourly");
        let cases: Vec<(&str, Scan, Observed, Next)> = vec![
            (
                "new scan, bundle ready",
                scan(INVENTORY, None),
                ready(),
                Next::Run { next_run: None },
            ),
            (
                "new scan, no bundle",
                scan(INVENTORY, None),
                Observed::default(),
                Next::PendingBenchmark,
            ),
            (
                "pending on the bundle, which became ready",
                scan(INVENTORY, status(2, ScanPhase::Pending, None)),
                ready(),
                Next::Run { next_run: None },
            ),
            (
                "run of this generation in progress",
                scan(INVENTORY, status(2, ScanPhase::Running, None)),
                Observed {
                    running: Some(Some(2)),
                    ..ready()
                },
                Next::Observe,
            ),
            (
                "run of an older generation in progress: the spec changed",
                scan(INVENTORY, status(1, ScanPhase::Running, None)),
                Observed {
                    running: Some(Some(1)),
                    ..ready()
                },
                Next::Cancel,
            ),
            (
                "Running in the status but no run here: interrupted, run again",
                scan(INVENTORY, status(2, ScanPhase::Running, None)),
                ready(),
                Next::Run { next_run: None },
            ),
            (
                "succeeded once, no schedule",
                scan(INVENTORY, status(2, ScanPhase::Succeeded, None)),
                ready(),
                Next::AwaitChange,
            ),
            (
                "succeeded for an older generation",
                scan(INVENTORY, status(1, ScanPhase::Succeeded, None)),
                ready(),
                Next::Run { next_run: None },
            ),
            (
                "scheduled, next run later",
                scan(
                    &hourly,
                    status(2, ScanPhase::Succeeded, Some("2026-12-04T11:00:00Z")),
                ),
                ready(),
                Next::WaitUntil(t("2026-12-04T11:00:00Z")),
            ),
            (
                "scheduled, next run due",
                scan(
                    &hourly,
                    status(2, ScanPhase::Succeeded, Some("2026-12-04T10:00:00Z")),
                ),
                ready(),
                Next::Run {
                    next_run: Some(t("2026-12-04T11:00:00Z")),
                },
            ),
            (
                "failed, retry later",
                scan(
                    INVENTORY,
                    status(2, ScanPhase::Failed, Some("2026-12-04T10:05:00Z")),
                ),
                ready(),
                Next::WaitUntil(t("2026-12-04T10:05:00Z")),
            ),
            (
                "failed, retry due",
                scan(
                    INVENTORY,
                    status(2, ScanPhase::Failed, Some("2026-12-04T09:59:00Z")),
                ),
                ready(),
                Next::Run { next_run: None },
            ),
            (
                "failed on an invalid spec: wait for a change, never loop",
                scan(INVENTORY, status(2, ScanPhase::Failed, None)),
                ready(),
                Next::AwaitChange,
            ),
            (
                "failed on an invalid spec, then the spec changed",
                scan(INVENTORY, status(1, ScanPhase::Failed, None)),
                ready(),
                Next::Run { next_run: None },
            ),
            (
                "a failure that could not be recorded holds the run back",
                scan(INVENTORY, status(2, ScanPhase::Running, None)),
                Observed {
                    not_before: Some(t("2026-12-04T10:00:30Z")),
                    ..ready()
                },
                Next::WaitUntil(t("2026-12-04T10:00:30Z")),
            ),
            (
                "suspended",
                scan(&format!("{INVENTORY}suspend: true\n"), None),
                ready(),
                Next::Suspended,
            ),
            (
                "suspended while a run of this generation is in progress: it finishes",
                scan(
                    &format!("{INVENTORY}suspend: true\n"),
                    status(2, ScanPhase::Running, None),
                ),
                Observed {
                    running: Some(Some(2)),
                    ..ready()
                },
                Next::Observe,
            ),
        ];
        for (what, s, o, want) in cases {
            assert_eq!(decide(&s, &o, &l, now), want, "{what}");
        }
    }

    #[test]
    fn specs_that_cannot_run_are_stalled_with_their_reason() {
        let now = t(NOW);
        let l = Limits::default();
        let reason = |s: &Scan, o: &Observed| match decide(s, o, &l, now) {
            Next::Stalled { reason, message } => (reason, message),
            other => panic!("not stalled: {other:?}"),
        };
        let (r, m) = reason(&scan(&with_schedule("61 * * * *"), None), &ready());
        assert_eq!(r, "ScheduleInvalid");
        assert!(m.contains("spec.schedule"), "{m}");
        let (r, m) = reason(&scan(&with_schedule("* * * * *"), None), &ready());
        assert_eq!(r, "ScheduleTooFrequent");
        assert!(m.contains("60s apart") && m.contains("300s"), "{m}");
        let (r, _) = reason(
            &scan(INVENTORY, None),
            &Observed {
                older_in_namespace: 50,
                ..ready()
            },
        );
        assert_eq!(r, "NamespaceScanLimit");
        let azure = "benchmarkRef: {name: b}\nprovider: azure\nazure: {subscriptionId: 00000000-0000-0000-0000-000000000000}\ncredentials: {secretRef: {name: x}}\n";
        assert_eq!(reason(&scan(azure, None), &ready()).0, "ProviderNotAvailable");
        // The 49th older Scan still runs.
        let o = Observed {
            older_in_namespace: 49,
            ..ready()
        };
        assert_eq!(
            decide(&scan(INVENTORY, None), &o, &l, now),
            Next::Run { next_run: None }
        );
    }
}
