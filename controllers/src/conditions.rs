//! kstatus-style conditions (Ready, Reconciling, Stalled) that change only when their meaning does.

use seg_crds::{condition_type, Condition, ConditionStatus};

/// A condition to set: type, status, reason, message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Want {
    pub type_: &'static str,
    pub status: ConditionStatus,
    pub reason: String,
    pub message: String,
}

/// The conditions after applying `want` to `previous`: a condition keeps its
/// `lastTransitionTime` when its status is unchanged, so an unchanged object is not rewritten.
pub fn merge(previous: &[Condition], want: &[Want], generation: Option<i64>, now: &str) -> Vec<Condition> {
    want.iter()
        .map(|w| {
            let old = previous.iter().find(|c| c.type_ == w.type_);
            let since = match old {
                Some(o) if o.status == w.status => o.last_transition_time.clone(),
                _ => now.to_string(),
            };
            Condition {
                type_: w.type_.to_string(),
                status: w.status,
                reason: w.reason.clone(),
                message: w.message.clone(),
                last_transition_time: since,
                observed_generation: generation,
            }
        })
        .collect()
}

/// Ready (and not reconciling, not stalled).
pub fn ready(reason: &str, message: String) -> Vec<Want> {
    vec![
        Want {
            type_: condition_type::READY,
            status: ConditionStatus::True,
            reason: reason.into(),
            message,
        },
        Want {
            type_: condition_type::RECONCILING,
            status: ConditionStatus::False,
            reason: reason.into(),
            message: String::new(),
        },
        Want {
            type_: condition_type::STALLED,
            status: ConditionStatus::False,
            reason: reason.into(),
            message: String::new(),
        },
    ]
}

/// Stalled: not ready, and nothing will change until the spec (or what it references) changes.
pub fn stalled(reason: &str, message: String) -> Vec<Want> {
    vec![
        Want {
            type_: condition_type::READY,
            status: ConditionStatus::False,
            reason: reason.into(),
            message: message.clone(),
        },
        Want {
            type_: condition_type::RECONCILING,
            status: ConditionStatus::False,
            reason: reason.into(),
            message: String::new(),
        },
        Want {
            type_: condition_type::STALLED,
            status: ConditionStatus::True,
            reason: reason.into(),
            message,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transition_time_moves_only_when_the_status_changes() {
        let a = merge(&[], &ready("Loaded", "ok".into()), Some(1), "t1");
        let b = merge(&a, &ready("Loaded", "ok".into()), Some(1), "t2");
        assert_eq!(a, b);
        let c = merge(&b, &stalled("BadSignature", "x".into()), Some(2), "t3");
        assert_eq!(c[0].last_transition_time, "t3");
        assert_eq!(c[0].status, ConditionStatus::False);
    }
}
