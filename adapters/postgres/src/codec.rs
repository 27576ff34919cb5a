//! Between Rust values and columns: times split into seconds and
//! nanoseconds, entity bodies as JSON (statuses are written by the wire
//! names of core's one table, `as_str()`; see `enlist::wire`),
//! and the page cursors (the same format as `MemoryStore`'s, so that a
//! cursor means the same position in every store).

use chrono::{DateTime, Utc};
use enlist::store::cursor;
use enlist::{InvitationId, StoreError};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A time as `(whole seconds since 1970, nanoseconds)`: the two columns
/// `*_s` and `*_ns`. Exact for every chrono time, and sorted as chrono
/// sorts (a leap second's nanoseconds run past 999,999,999).
pub(crate) type Split = (i64, i32);

/// Splits a time into its two columns.
pub(crate) fn split(t: DateTime<Utc>) -> Split {
    // Below 2 × 10^9, so it fits an i32.
    let ns = i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(i32::MAX);
    (t.timestamp(), ns)
}

/// An entity as the JSON of its `body` column (`serde_json`'s text,
/// written by core's faster writer).
pub(crate) fn to_body<T: Serialize>(value: &T) -> Result<String, StoreError> {
    enlist::store::json::to_string(value).map_err(StoreError::other)
}

/// An entity read back from its `body` column.
pub(crate) fn from_body<T: DeserializeOwned>(what: &str, body: &str) -> Result<T, StoreError> {
    serde_json::from_str(body)
        .map_err(|e| StoreError::Corrupt(format!("a stored {what} does not decode: {e}")))
}

/// Refuses text that PostgreSQL cannot keep in a `text` column (it has no
/// NUL character), naming the field. Bodies are JSON, where a NUL is the
/// escape `\u0000`: only the key columns need this check.
pub(crate) fn key_text<'a>(field: &str, value: &'a str) -> Result<&'a str, StoreError> {
    if value.contains('\0') {
        return Err(StoreError::other(NulInKey {
            field: field.to_owned(),
        }));
    }
    Ok(value)
}

/// A key column value with a NUL character, which PostgreSQL's `text`
/// cannot store.
#[derive(Debug, thiserror::Error)]
#[error("{field} contains a NUL character, which PostgreSQL cannot store in a key column")]
pub struct NulInKey {
    field: String,
}

// ---------------------------------------------------------------------------
// Cursors: the format of MemoryStore's, so that a cursor means the same
// position in every store: `m.<hex contact key>.<hex member id>` and
// `i.<seconds>.<nanoseconds>.<hex invitation id>`.

pub(crate) use enlist::store::cursor::{
    member as member_cursor, parse_member as parse_member_cursor,
};

/// The shared invitation cursor ([`enlist::store::cursor`]) of a split
/// `created_at`.
pub(crate) fn invitation_cursor(created: Split, id: &str) -> String {
    cursor::invitation(created.0, i64::from(created.1), id)
}

/// The split `created_at` and id of an invitation cursor.
pub(crate) fn parse_invitation_cursor(c: &str) -> Result<(Split, InvitationId), StoreError> {
    cursor::parse_invitation(c).map(|(at, id)| (split(at), id))
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn times_split_exactly_and_sort_like_chrono() {
        let a = DateTime::from_timestamp(-5, 999_999_999).expect("time");
        let b = DateTime::from_timestamp(-4, 0).expect("time");
        assert_eq!(split(a), (-5, 999_999_999));
        assert!(split(a) < split(b));
        assert_eq!(split(b), (-4, 0));
    }

    #[test]
    fn nul_is_refused_in_keys_only() {
        assert!(key_text("contact_key", "a\0b").is_err());
        assert_eq!(key_text("contact_key", "a'b;").expect("fine"), "a'b;");
    }
}
