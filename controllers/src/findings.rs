//! Which Finding objects a scan run must create, update, resolve or delete (pure).
//!
//! A Finding object exists per failing (control, asset). A run that changes nothing writes
//! nothing: an object is written only when its result, message, evidence or state changes. So
//! `lastSeen` is the time of the last run that *changed* the Finding; an open Finding is current as
//! of its Scan's `status.lastRunTime`.

use std::collections::{BTreeMap, BTreeSet};

use seg_engine::model::{CheckResult, Finding, Severity};
use seg_engine::time::Timestamp;

pub use seg_crds::finding_name;

/// State of a Finding object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Open,
    Resolved,
}

/// The observed part of a Finding object, as the planner needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    pub result: CheckResult,
    pub message: String,
    pub evidence: Vec<String>,
    pub state: State,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
}

/// A Finding object as it exists in the cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct Existing {
    pub name: String,
    /// `None` when the status has not been written yet.
    pub observed: Option<Observed>,
}

/// One write.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// Create the object (spec) and write its status.
    Create {
        name: String,
        finding: Box<Finding>,
        observed: Observed,
    },
    /// Write the status of an existing object.
    Status { name: String, observed: Observed },
    /// Delete the object (resolved Findings make room under the cap).
    Delete { name: String },
}

/// The writes of a run and what the Scan status should say about them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    pub writes: Vec<Write>,
    /// Failing results of the run (exact, whatever the cap).
    pub failing: usize,
    /// Failing results that have an object after the plan is applied.
    pub recorded: usize,
    /// Some failing results have no object because of the cap.
    pub truncated: bool,
}

fn rank(s: Severity) -> u8 {
    match s {
        Severity::Critical => 0,
        Severity::High => 1,
        Severity::Medium => 2,
        Severity::Low => 3,
        Severity::Info => 4,
    }
}

/// Plan the writes for one run's results over the existing objects, never exceeding `cap`
/// objects. Under the cap, the most severe failures win (then by name), so which failures are
/// recorded does not depend on the order of the results.
pub fn plan(scan: &str, existing: &[Existing], results: &[Finding], cap: usize, now: Timestamp) -> Plan {
    let mut failing: Vec<&Finding> = results.iter().filter(|f| f.result == CheckResult::Fail).collect();
    failing.sort_by(|a, b| {
        rank(a.severity)
            .cmp(&rank(b.severity))
            .then_with(|| finding_name(scan, &a.fingerprint).cmp(&finding_name(scan, &b.fingerprint)))
    });
    let by_name: BTreeMap<&str, &Existing> = existing.iter().map(|e| (e.name.as_str(), e)).collect();
    let failing_names: BTreeSet<String> = failing
        .iter()
        .map(|f| finding_name(scan, &f.fingerprint))
        .collect();
    // Only a run that re-checked a (control, asset) and found it passing (or not applicable)
    // resolves its Finding: an error, a skipped inventory line or a narrower run says nothing.
    let cleared: BTreeSet<String> = results
        .iter()
        .filter(|f| matches!(f.result, CheckResult::Pass | CheckResult::NotApplicable))
        .map(|f| finding_name(scan, &f.fingerprint))
        .collect();

    let mut out = Plan {
        failing: failing.len(),
        ..Plan::default()
    };
    // Objects kept after the plan: existing ones (open or resolved) minus deletions.
    let mut objects = existing.len();

    // 1. Existing objects that no longer fail are resolved (one write, once). They, and the
    //    objects resolved by earlier runs (oldest first), can be deleted to make room.
    let mut earlier: Vec<(&Timestamp, &str)> = Vec::new();
    let mut now_resolved: Vec<(String, usize)> = Vec::new();
    for e in existing {
        if failing_names.contains(&e.name) {
            continue;
        }
        let cleared_now = cleared.contains(&e.name);
        match &e.observed {
            Some(o) if o.state == State::Resolved => earlier.push((&o.last_seen, &e.name)),
            Some(o) if cleared_now => {
                let mut r = o.clone();
                r.state = State::Resolved;
                r.result = CheckResult::Pass;
                r.last_seen = now;
                now_resolved.push((e.name.clone(), out.writes.len()));
                out.writes.push(Write::Status {
                    name: e.name.clone(),
                    observed: r,
                });
            }
            _ => {}
        }
    }
    earlier.sort();
    let mut deletable = earlier
        .into_iter()
        .map(|(_, n)| (n.to_string(), None))
        .chain(now_resolved.into_iter().map(|(n, i)| (n, Some(i))));

    // 2. Failing results: update changed objects, create missing ones while there is room.
    for f in failing {
        let name = finding_name(scan, &f.fingerprint);
        let evidence: Vec<String> = f.evidence.iter().map(|p| p.hash.clone()).collect();
        match by_name.get(name.as_str()) {
            Some(e) => {
                out.recorded += 1;
                let want = |first_seen: Timestamp| Observed {
                    result: f.result,
                    message: f.message.clone(),
                    evidence: evidence.clone(),
                    state: State::Open,
                    first_seen,
                    last_seen: now,
                };
                match &e.observed {
                    Some(o)
                        if o.state == State::Open
                            && o.result == f.result
                            && o.message == f.message
                            && o.evidence == evidence => {}
                    Some(o) => out.writes.push(Write::Status {
                        name,
                        observed: want(o.first_seen),
                    }),
                    None => out.writes.push(Write::Status {
                        name,
                        observed: want(now),
                    }),
                }
            }
            None => {
                if objects >= cap {
                    match deletable.next() {
                        Some((victim, Some(i))) => {
                            // Resolved by this run: delete it instead of writing its status.
                            if let Some(w) = out.writes.get_mut(i) {
                                *w = Write::Delete { name: victim };
                            }
                            objects -= 1;
                        }
                        Some((victim, None)) => {
                            out.writes.push(Write::Delete { name: victim });
                            objects -= 1;
                        }
                        None => {
                            out.truncated = true;
                            continue;
                        }
                    }
                }
                objects += 1;
                out.recorded += 1;
                let observed = Observed {
                    result: f.result,
                    message: f.message.clone(),
                    evidence,
                    state: State::Open,
                    first_seen: now,
                    last_seen: now,
                };
                out.writes.push(Write::Create {
                    name,
                    finding: Box::new(f.clone()),
                    observed,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use seg_engine::ids::fingerprint;
    use seg_engine::model::AssetRef;

    fn t(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn finding(control: &str, asset: &str, result: CheckResult, severity: Severity, msg: &str) -> Finding {
        let urn = format!("urn:asset:aws:x:{asset}");
        let fp = fingerprint("b", control, &urn);
        Finding {
            id: fp.clone(),
            control_id: control.into(),
            control_version: "1.0.0".into(),
            asset: AssetRef { urn },
            result,
            severity,
            message: msg.into(),
            evidence: vec![],
            created_at: t("2026-11-23T00:00:00Z"),
            updated_at: t("2026-11-23T00:00:00Z"),
            fingerprint: fp,
        }
    }

    fn apply(existing: &mut Vec<Existing>, plan: &Plan) {
        for w in &plan.writes {
            match w {
                Write::Create { name, observed, .. } => existing.push(Existing {
                    name: name.clone(),
                    observed: Some(observed.clone()),
                }),
                Write::Status { name, observed } => {
                    if let Some(e) = existing.iter_mut().find(|e| &e.name == name) {
                        e.observed = Some(observed.clone());
                    }
                }
                Write::Delete { name } => existing.retain(|e| &e.name != name),
            }
        }
    }

    #[test]
    fn first_run_creates_failures_only_and_a_rescan_writes_nothing() {
        let results = vec![
            finding("c1", "a", CheckResult::Fail, Severity::High, "bad"),
            finding("c1", "b", CheckResult::Pass, Severity::High, "ok"),
            finding("c2", "a", CheckResult::Error, Severity::Low, "?"),
        ];
        let mut existing = Vec::new();
        let p = plan("s", &existing, &results, 100, t("2026-11-23T00:00:00Z"));
        assert_eq!(p.writes.len(), 1);
        assert!(matches!(&p.writes[0], Write::Create { .. }));
        assert_eq!((p.failing, p.recorded, p.truncated), (1, 1, false));
        apply(&mut existing, &p);
        let again = plan("s", &existing, &results, 100, t("2026-11-24T00:00:00Z"));
        assert!(again.writes.is_empty(), "{:?}", again.writes);
    }

    #[test]
    fn a_fixed_failure_is_resolved_once_and_reopened_if_it_fails_again() {
        let bad = vec![finding("c1", "a", CheckResult::Fail, Severity::High, "bad")];
        let good = vec![finding("c1", "a", CheckResult::Pass, Severity::High, "ok")];
        let mut existing = Vec::new();
        let p0 = plan("s", &existing, &bad, 10, t("2026-11-23T00:00:00Z"));
        apply(&mut existing, &p0);
        let p = plan("s", &existing, &good, 10, t("2026-11-24T00:00:00Z"));
        assert_eq!(p.writes.len(), 1);
        apply(&mut existing, &p);
        let o = existing[0].observed.clone().unwrap();
        assert_eq!(
            (o.state, o.last_seen),
            (State::Resolved, t("2026-11-24T00:00:00Z"))
        );
        assert!(plan("s", &existing, &good, 10, t("2026-11-25T00:00:00Z"))
            .writes
            .is_empty());
        let p = plan("s", &existing, &bad, 10, t("2026-11-26T00:00:00Z"));
        apply(&mut existing, &p);
        let o = existing[0].observed.clone().unwrap();
        assert_eq!((o.state, o.first_seen), (State::Open, t("2026-11-23T00:00:00Z")));
    }

    #[test]
    fn an_error_or_a_missing_result_does_not_resolve_an_open_finding() {
        let mut existing = Vec::new();
        let p0 = plan(
            "s",
            &existing,
            &[finding("c", "a", CheckResult::Fail, Severity::Low, "x")],
            10,
            t("2026-11-23T00:00:00Z"),
        );
        apply(&mut existing, &p0);
        let errored = [finding("c", "a", CheckResult::Error, Severity::Low, "timeout")];
        assert!(plan("s", &existing, &errored, 10, t("2026-11-24T00:00:00Z"))
            .writes
            .is_empty());
        assert!(plan("s", &existing, &[], 10, t("2026-11-24T00:00:00Z"))
            .writes
            .is_empty());
    }

    #[test]
    fn a_changed_message_is_one_status_write() {
        let mut existing = Vec::new();
        let p0 = plan(
            "s",
            &existing,
            &[finding("c", "a", CheckResult::Fail, Severity::Low, "x")],
            10,
            t("2026-11-23T00:00:00Z"),
        );
        apply(&mut existing, &p0);
        let p = plan(
            "s",
            &existing,
            &[finding("c", "a", CheckResult::Fail, Severity::Low, "y")],
            10,
            t("2026-11-24T00:00:00Z"),
        );
        assert!(matches!(p.writes.as_slice(), [Write::Status { .. }]));
    }

    #[test]
    fn the_cap_keeps_the_most_severe_and_reports_truncation() {
        let results: Vec<Finding> = (0..5)
            .map(|i| {
                finding(
                    "c",
                    &format!("a{i}"),
                    CheckResult::Fail,
                    if i == 4 { Severity::Critical } else { Severity::Low },
                    "x",
                )
            })
            .collect();
        let p = plan("s", &[], &results, 2, t("2026-11-23T00:00:00Z"));
        assert_eq!((p.failing, p.recorded, p.truncated), (5, 2, true));
        let created: Vec<&Finding> = p
            .writes
            .iter()
            .filter_map(|w| {
                if let Write::Create { finding, .. } = w {
                    Some(finding.as_ref())
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(created.len(), 2);
        assert_eq!(created[0].severity, Severity::Critical);
    }

    #[test]
    fn resolved_findings_make_room_under_the_cap_oldest_first() {
        let f = |a: &str, r| finding("c", a, r, Severity::Low, "x");
        let (pass, fail) = (CheckResult::Pass, CheckResult::Fail);
        let mut existing = Vec::new();
        for (day, results) in [
            ("2026-11-21T00:00:00Z", vec![f("a", fail), f("b", fail)]),
            ("2026-11-22T00:00:00Z", vec![f("a", pass), f("b", fail)]),
        ] {
            let p = plan("s", &existing, &results, 3, t(day));
            apply(&mut existing, &p);
        }
        let p = plan(
            "s",
            &existing,
            &[f("b", pass), f("c", fail), f("d", fail)],
            3,
            t("2026-11-23T00:00:00Z"),
        );
        let a = finding_name("s", &f("a", pass).fingerprint);
        let deleted: Vec<&String> = p
            .writes
            .iter()
            .filter_map(|w| {
                if let Write::Delete { name } = w {
                    Some(name)
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(deleted, vec![&a], "the object resolved earliest goes first");
        assert_eq!((p.failing, p.recorded, p.truncated), (2, 2, false));
        apply(&mut existing, &p);
        assert_eq!(existing.len(), 3);
    }
}
