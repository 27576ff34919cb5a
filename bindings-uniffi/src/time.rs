//! Times the foreign side passes in as arguments or from its [`Clock`]
//! (`java.time.Instant` in Kotlin, `Date` in Swift). Records carry core's
//! `DateTime<Utc>` as the custom type core declares
//! (`enlist::utc_from_system_time` is its conversion).
//!
//! [`Clock`]: crate::Clock

use crate::error::EnlistError;
use chrono::{DateTime, Utc};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A core time for the foreign side, for this crate's arguments and
/// errors. Every `DateTime<Utc>` fits a `SystemTime` on the platforms
/// uniffi targets.
pub(crate) fn time_out(t: DateTime<Utc>) -> SystemTime {
    SystemTime::from(t)
}

/// A foreign time for core: an error naming `field` when it is outside
/// the range core represents (about 262,000 years either side of year 0).
pub(crate) fn time_in(field: &str, t: SystemTime) -> Result<DateTime<Utc>, EnlistError> {
    enlist::utc_from_system_time(t).ok_or_else(|| {
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
        let t = DateTime::from_timestamp(1_700_000_000, 5).unwrap();
        assert_eq!(time_in("at", SystemTime::from(t)).unwrap(), t);
    }
}
