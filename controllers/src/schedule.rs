//! Cron schedules of Scans (pure): the next run time after a given time, in UTC.

use croner::Cron;
use seg_engine::time::Timestamp;

/// The first time matching `schedule` strictly after `after` (UTC, minute precision).
/// `schedule` is five cron fields (minute hour day-of-month month day-of-week) or `@hourly`,
/// `@daily`, `@weekly`, `@monthly`, `@yearly`/`@annually`.
pub fn next_run(schedule: &str, after: Timestamp) -> Result<Timestamp, String> {
    let cron: Cron = schedule
        .parse()
        .map_err(|e| format!("spec.schedule {schedule:?}: {e}"))?;
    let secs = i64::try_from(after.unix_nanos().div_euclid(1_000_000_000)).map_err(|e| e.to_string())?;
    let start = jiff::Timestamp::from_second(secs)
        .map_err(|e| e.to_string())?
        .to_zoned(jiff::tz::TimeZone::UTC)
        .datetime();
    let next = cron
        .find_next_occurrence(&start, false)
        .map_err(|e| format!("spec.schedule {schedule:?}: {e}"))?;
    let ts = next
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map_err(|e| e.to_string())?
        .timestamp();
    Timestamp::from_unix_nanos(ts.as_nanosecond()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    #[test]
    fn next_runs_follow_the_cron_fields_in_utc() {
        assert_eq!(
            next_run("*/15 * * * *", t("2026-11-23T10:07:30Z")).unwrap(),
            t("2026-11-23T10:15:00Z")
        );
        assert_eq!(
            next_run("0 2 * * *", t("2026-11-23T10:00:00Z")).unwrap(),
            t("2026-11-24T02:00:00Z")
        );
        assert_eq!(
            next_run("@hourly", t("2026-11-23T10:00:00Z")).unwrap(),
            t("2026-11-23T11:00:00Z")
        );
        assert_eq!(
            next_run("0 0 * * 1", t("2026-11-23T00:00:00Z")).unwrap(),
            t("2026-11-30T00:00:00Z")
        );
    }

    #[test]
    fn a_bad_schedule_names_the_field() {
        assert!(next_run("61 * * * *", t("2026-11-23T10:00:00Z"))
            .unwrap_err()
            .contains("spec.schedule"));
    }
}
