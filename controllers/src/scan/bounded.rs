//! Bounded inputs (pure): what a run writes must fit the API server's schema and size limits,
//! whatever a tenant's inventory or bundle holds. A result whose Finding would be refused becomes
//! an `error` result with the reason; lists are capped with a count of the rest; messages are cut
//! by bytes at a character boundary.

use std::borrow::Cow;

use seg_crds::InventoryError;
use seg_engine::model::CheckResult;
use seg_engine::scan::ScanReport;

/// Longest message of a Finding's status (bytes).
pub const MAX_FINDING_MESSAGE: usize = 4096;
/// Longest condition or Event message written by a run (bytes).
pub const MAX_MESSAGE: usize = 4096;
/// `status.inventoryErrors` holds at most this many (the CRD's limit).
pub const MAX_INVENTORY_ERRORS: usize = 64;
/// Longest `inventoryErrors[].message` (the CRD's limit).
pub const MAX_INVENTORY_ERROR_MESSAGE: usize = 1024;
/// Longest asset URN of a Finding (the CRD's limit).
pub const MAX_URN: usize = 2048;

/// `s` cut to at most `max` bytes at a character boundary, marked with `…` when cut.
pub fn truncate(s: &str, max: usize) -> Cow<'_, str> {
    if s.len() <= max {
        return Cow::Borrowed(s);
    }
    let keep = max.saturating_sub('…'.len_utf8());
    let mut end = keep.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}…", &s[..end]))
}

/// A status or Event message, bounded.
pub fn message(s: &str) -> String {
    truncate(s, MAX_MESSAGE).into_owned()
}

/// An inventory error whose fields fit the CRD.
pub fn inventory_error(mut e: InventoryError) -> InventoryError {
    e.message = truncate(&e.message, MAX_INVENTORY_ERROR_MESSAGE).into_owned();
    e.code = truncate(&e.code, 128).into_owned();
    e.service = truncate(&e.service, 128).into_owned();
    e.region = truncate(&e.region, 128).into_owned();
    e.operation = e.operation.map(|o| truncate(&o, 256).into_owned());
    e
}

/// The inventory errors the status can hold, and how many more there were.
pub fn inventory_errors(all: Vec<InventoryError>) -> (Vec<InventoryError>, Option<i64>) {
    let rest = all.len().saturating_sub(MAX_INVENTORY_ERRORS);
    let kept = all
        .into_iter()
        .take(MAX_INVENTORY_ERRORS)
        .map(inventory_error)
        .collect();
    (kept, (rest > 0).then(|| i64::try_from(rest).unwrap_or(i64::MAX)))
}

/// Why the API server would refuse a Finding for this asset URN, if it would.
pub fn urn_problem(urn: &str) -> Option<String> {
    if urn.len() > MAX_URN {
        return Some(format!(
            "the asset URN is {} bytes long, longer than a Finding allows ({MAX_URN})",
            urn.len()
        ));
    }
    // urn:asset:{provider}:{type}:{id} with a lowercase provider, a type without ':' and an id.
    let ok = urn
        .strip_prefix("urn:asset:")
        .and_then(|r| r.split_once(':'))
        .filter(|(provider, _)| !provider.is_empty() && provider.bytes().all(|b| b.is_ascii_lowercase()))
        .and_then(|(_, r)| r.split_once(':'))
        .is_some_and(|(kind, id)| !kind.is_empty() && !id.is_empty());
    (!ok).then(|| "the asset URN is not of the form urn:asset:{provider}:{type}:{id}".to_string())
}

/// Turn every failing result whose Finding the API server would refuse into an `error` result
/// that says why (the counts follow), and cut every message to what a Finding holds. Returns how
/// many results were turned into errors.
pub fn reject_unwritable(report: &mut ScanReport) -> usize {
    let mut rejected = 0;
    let mut moved: Vec<(String, Option<String>)> = Vec::new();
    for f in &mut report.eval.findings {
        if let Cow::Owned(m) = truncate(&f.message, MAX_FINDING_MESSAGE) {
            f.message = m;
        }
        if f.result != CheckResult::Fail {
            continue;
        }
        if let Some(problem) = urn_problem(&f.asset.urn) {
            moved.push((
                f.result.as_str().to_string(),
                Some(format!("fail.{}", f.severity)),
            ));
            f.result = CheckResult::Error;
            f.message = format!("not recorded: {problem}");
            rejected += 1;
        }
    }
    let counts = &mut report.eval.run.counts;
    for (from, sub) in moved {
        for key in std::iter::once(from).chain(sub) {
            if let Some(n) = counts.get_mut(&key) {
                *n = n.saturating_sub(1);
            }
        }
        *counts.entry(CheckResult::Error.as_str().to_string()).or_default() += 1;
    }
    rejected
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn messages_are_cut_by_bytes_at_a_character_boundary() {
        assert_eq!(truncate("short", 10), "short");
        let s = "é".repeat(10); // 20 bytes
        let t = truncate(&s, 9);
        assert!(t.len() <= 9, "{}", t.len());
        assert!(t.ends_with('…'));
        assert!(std::str::from_utf8(t.as_bytes()).is_ok());
    }

    #[test]
    fn inventory_errors_are_capped_with_a_count_of_the_rest() {
        let e = |i: usize| InventoryError {
            code: "SEG_ADAPTER_UNAVAILABLE".into(),
            service: "ec2".into(),
            region: format!("r{i}"),
            operation: None,
            message: "x".repeat(5000),
        };
        let (kept, rest) = inventory_errors((0..70).map(e).collect());
        assert_eq!(kept.len(), MAX_INVENTORY_ERRORS);
        assert_eq!(rest, Some(6));
        assert!(kept
            .iter()
            .all(|k| k.message.len() <= MAX_INVENTORY_ERROR_MESSAGE));
        let (kept, rest) = inventory_errors((0..3).map(e).collect());
        assert_eq!((kept.len(), rest), (3, None));
    }

    #[test]
    fn urns_a_finding_cannot_hold_are_named() {
        assert_eq!(urn_problem("urn:asset:aws:s3-bucket:arn:aws:s3:::b"), None);
        assert!(urn_problem(&format!("urn:asset:aws:t:{}", "x".repeat(3000)))
            .unwrap()
            .contains("longer"));
        assert!(urn_problem("urn:asset:AWS:t:x").is_some());
        assert!(urn_problem("urn:asset:aws:t:").is_some());
        assert!(urn_problem("arn:aws:s3:::b").is_some());
    }
}
