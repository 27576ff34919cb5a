//! Time, as a trait, so tests control it.

use chrono::{DateTime, Duration, Utc};
use std::sync::Mutex;

/// A source of the current time. The engine never reads the system clock
/// directly; it asks its clock.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock: the default.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to: for tests and simulations.
///
/// ```
/// use enlist::{Clock, ManualClock};
/// use chrono::Duration;
/// let clock = ManualClock::at_epoch_seconds(1_700_000_000);
/// let t0 = clock.now();
/// clock.advance(Duration::days(8));
/// assert_eq!(clock.now() - t0, Duration::days(8));
/// ```
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    /// A clock standing at `now`.
    pub fn new(now: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(now),
        }
    }

    /// A clock standing at the given Unix time (seconds); out-of-range values
    /// fall back to the Unix epoch.
    pub fn at_epoch_seconds(secs: i64) -> Self {
        Self::new(DateTime::from_timestamp(secs, 0).unwrap_or_default())
    }

    /// Moves the clock forward (or backward, with a negative duration),
    /// stopping at the ends of chrono's range rather than overflowing.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now = now
            .checked_add_signed(by)
            .unwrap_or(if by > Duration::zero() {
                DateTime::<Utc>::MAX_UTC
            } else {
                DateTime::<Utc>::MIN_UTC
            });
    }

    /// Sets the clock to `to`.
    pub fn set(&self, to: DateTime<Utc>) {
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}
