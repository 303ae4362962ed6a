//! Time as an input: the engine never reads the clock.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

use crate::error::EngineError;

/// An instant, always rendered as RFC 3339 in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    /// Parse an RFC 3339 timestamp (any offset; stored in UTC).
    pub fn parse(s: &str) -> Result<Timestamp, EngineError> {
        let t = OffsetDateTime::parse(s, &Rfc3339)
            .map(|t| Timestamp(t.to_offset(UtcOffset::UTC)))
            .map_err(|e| EngineError::Schema(format!("not an RFC 3339 time: {s:?}: {e}")))?;
        if i64::try_from(t.unix_nanos()).is_err() {
            return Err(EngineError::Schema(format!(
                "time {s:?} is outside 1677..2262, which policies cannot represent in nanoseconds"
            )));
        }
        Ok(t)
    }

    /// From nanoseconds since the Unix epoch.
    pub fn from_unix_nanos(ns: i128) -> Result<Timestamp, EngineError> {
        OffsetDateTime::from_unix_timestamp_nanos(ns)
            .map(Timestamp)
            .map_err(|e| EngineError::Schema(format!("time out of range: {e}")))
    }

    pub fn from_offset_date_time(t: OffsetDateTime) -> Timestamp {
        Timestamp(t.to_offset(UtcOffset::UTC))
    }

    pub fn unix_nanos(self) -> i128 {
        self.0.unix_timestamp_nanos()
    }

    /// Nanoseconds since the epoch as policies see them (saturating outside 1677..2262; parsed
    /// timestamps are always inside).
    pub fn unix_nanos_i64(self) -> i64 {
        i64::try_from(self.0.unix_timestamp_nanos()).unwrap_or(if self.0.year() < 1970 {
            i64::MIN
        } else {
            i64::MAX
        })
    }

    pub fn unix_millis(self) -> i64 {
        (self.0.unix_timestamp_nanos() / 1_000_000) as i64
    }

    /// RFC 3339 text, e.g. `2026-11-23T10:00:00Z`.
    pub fn to_rfc3339(self) -> String {
        // Formatting a UTC OffsetDateTime within years 0..=9999 cannot fail; fall back to the
        // Unix form rather than panic if it ever does.
        self.0
            .format(&Rfc3339)
            .unwrap_or_else(|_| format!("@{}", self.0.unix_timestamp()))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_offsets_into_utc() {
        let t = Timestamp::parse("2026-11-23T12:00:00+02:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-23T10:00:00Z");
        assert_eq!(Timestamp::from_unix_nanos(t.unix_nanos()).unwrap(), t);
    }

    #[test]
    fn rejects_non_rfc3339() {
        let e = Timestamp::parse("23/11/2026").unwrap_err();
        assert!(e.to_string().contains("23/11/2026"));
    }
}
