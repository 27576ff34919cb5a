//! Timestamps: core's `DateTime<Utc>` crosses as [`SystemTime`]
//! (`java.time.Instant` in Kotlin, `Date` in Swift).

use crate::error::EnlistError;
use chrono::{DateTime, Utc};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A core time for the foreign side. Every `DateTime<Utc>` fits a
/// `SystemTime` on the platforms uniffi targets.
pub(crate) fn time_out(t: DateTime<Utc>) -> SystemTime {
    SystemTime::from(t)
}

/// Seconds and nanoseconds since the Unix epoch (negative seconds before
/// it, nanoseconds always counted forward), or `None` when the seconds do
/// not fit an `i64`.
fn epoch_parts(t: SystemTime) -> Option<(i64, u32)> {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => Some((i64::try_from(d.as_secs()).ok()?, d.subsec_nanos())),
        Err(before) => {
            let d = before.duration();
            let secs = i64::try_from(d.as_secs()).ok()?;
            if d.subsec_nanos() == 0 {
                Some((-secs, 0))
            } else {
                Some((-secs - 1, 1_000_000_000 - d.subsec_nanos()))
            }
        }
    }
}

/// A foreign time for core: an error naming `field` when it is outside
/// the range core represents (about 262,000 years either side of year 0).
pub(crate) fn time_in(field: &str, t: SystemTime) -> Result<DateTime<Utc>, EnlistError> {
    epoch_parts(t)
        .and_then(|(secs, nanos)| DateTime::from_timestamp(secs, nanos))
        .ok_or_else(|| {
            enlist::Error::InvalidInput {
                field: field.to_owned(),
                reason: "the time is out of the supported range".to_owned(),
            }
            .into()
        })
}

/// A foreign clock's reading for core, which cannot fail: out-of-range
/// times are clamped to the nearest time core represents.
pub(crate) fn clamp_time_in(t: SystemTime) -> DateTime<Utc> {
    time_in("now", t).unwrap_or_else(|_| {
        if t > UNIX_EPOCH + Duration::from_secs(1) {
            DateTime::<Utc>::MAX_UTC
        } else {
            DateTime::<Utc>::MIN_UTC
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_with_nanoseconds_both_sides_of_the_epoch() {
        for (secs, nanos) in [
            (1_700_000_000, 123_456_789),
            (0, 0),
            (-1, 999_999_999),
            (-86_400 * 365 * 100, 5),
        ] {
            let t = DateTime::from_timestamp(secs, nanos).unwrap();
            let back = time_in("t", time_out(t)).unwrap();
            assert_eq!(back, t, "{secs}.{nanos}");
        }
    }

    #[test]
    fn a_time_before_the_epoch_is_that_far_before() {
        let t = UNIX_EPOCH - Duration::new(10, 250_000_000);
        let dt = time_in("t", t).unwrap();
        assert_eq!(dt.timestamp(), -11);
        assert_eq!(dt.timestamp_subsec_nanos(), 750_000_000);
    }

    #[test]
    fn out_of_range_times_are_refused_with_the_field_named() {
        let far = UNIX_EPOCH + Duration::from_secs(400_000 * 366 * 86_400);
        match time_in("expires_at", far) {
            Err(e @ EnlistError::InvalidInput { .. }) => {
                assert_eq!(e.code(), "invalid_input");
                assert_eq!(e.facts()["field"], "expires_at");
            }
            other => panic!("expected InvalidInput, got {other:?}"),
        }
        assert_eq!(clamp_time_in(far), DateTime::<Utc>::MAX_UTC);
        let past = UNIX_EPOCH - Duration::from_secs(400_000 * 366 * 86_400);
        assert_eq!(clamp_time_in(past), DateTime::<Utc>::MIN_UTC);
    }
}
