//! How values become columns and back: JSON bodies, split times and the
//! page cursors (the same format as `MemoryStore`'s). Status and kind
//! columns hold the enums' wire names, from the one table in core
//! (`as_str()` to write, `parse()` to read; see `enlist::wire`).

use chrono::{DateTime, Utc};
use enlist::store::cursor;
use enlist::{InvitationId, StoreResult};
use enlist::{InvitationStatus, StoreError};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A time as `(seconds since 1970, nanoseconds)`: exact for every chrono
/// time, and ordered like the time.
pub(crate) type Split = (i64, i64);

pub(crate) fn split(t: DateTime<Utc>) -> Split {
    (t.timestamp(), i64::from(t.timestamp_subsec_nanos()))
}

pub(crate) fn to_json<T: Serialize>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(StoreError::other)
}

pub(crate) fn from_json<T: DeserializeOwned>(body: &str, what: &str) -> StoreResult<T> {
    serde_json::from_str(body).map_err(|e| StoreError::Corrupt(format!("a stored {what}: {e}")))
}

/// The status of a stored invitation at `now`, from its columns (what
/// [`enlist::Invitation::status_at`] computes from the value).
pub(crate) fn status_at(
    stored: InvitationStatus,
    expires: Option<Split>,
    now: Split,
) -> InvitationStatus {
    match (stored, expires) {
        (InvitationStatus::Pending, Some(exp)) if exp <= now => InvitationStatus::Expired,
        (s, _) => s,
    }
}

/// Clamps a count or limit to SQLite's integers.
pub(crate) fn sql_int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A stored count back to `u64` (counters never go below 0).
pub(crate) fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

// ---------------------------------------------------------------------------
// Cursors: the format of MemoryStore's, so that a cursor means the same
// thing whichever store made it.

pub(crate) use enlist::store::cursor::{
    member as member_cursor, parse_member as parse_member_cursor,
};

/// The shared invitation cursor ([`enlist::store::cursor`]) of a split
/// `created_at`.
pub(crate) fn invitation_cursor(created: Split, id: &str) -> String {
    cursor::invitation(created.0, created.1, id)
}

/// The split `created_at` and id of an invitation cursor.
pub(crate) fn parse_invitation_cursor(c: &str) -> StoreResult<(Split, InvitationId)> {
    cursor::parse_invitation(c).map(|(at, id)| (split(at), id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_times_sort_like_times() {
        let times = [
            DateTime::from_timestamp(-5, 999_999_999),
            DateTime::from_timestamp(-1, 0),
            DateTime::from_timestamp(0, 0),
            DateTime::from_timestamp(0, 1),
            DateTime::from_timestamp(1_700_000_000, 5),
            DateTime::from_timestamp(253_402_300_800, 0), // year 10000
        ]
        .map(|t| t.expect("valid"));
        for w in times.windows(2) {
            assert!(split(w[0]) < split(w[1]), "{:?} {:?}", w[0], w[1]);
        }
    }

    /// The store's split form of `created_at` round-trips through the
    /// shared cursor (whose own tests are core's).
    #[test]
    fn invitation_cursors_keep_the_split_time() {
        let c = invitation_cursor((1_700_000_000, 42), "inv_.x");
        assert_eq!(
            parse_invitation_cursor(&c).expect("parses"),
            ((1_700_000_000, 42), InvitationId::from("inv_.x"))
        );
    }
}
