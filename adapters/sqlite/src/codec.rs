//! How values become columns and back: JSON bodies, split times, enum
//! names, and the page cursors (the same format as `MemoryStore`'s).

use chrono::{DateTime, Utc};
use enlist::{InvitationId, StoreResult};
use enlist::{InvitationStatus, MemberId, MemberKind, MemberStatus, OutboxStatus, StoreError};
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

pub(crate) fn member_status(s: MemberStatus) -> &'static str {
    s.as_str()
}

pub(crate) fn invitation_status(s: InvitationStatus) -> &'static str {
    s.as_str()
}

/// The stored name back to the status.
pub(crate) fn parse_invitation_status(s: &str) -> StoreResult<InvitationStatus> {
    Ok(match s {
        "staged" => InvitationStatus::Staged,
        "pending" => InvitationStatus::Pending,
        "accepted" => InvitationStatus::Accepted,
        "declined" => InvitationStatus::Declined,
        "revoked" => InvitationStatus::Revoked,
        "expired" => InvitationStatus::Expired,
        other => {
            return Err(StoreError::Corrupt(format!(
                "unknown invitation status {other:?}"
            )));
        }
    })
}

pub(crate) fn member_kind(k: MemberKind) -> &'static str {
    match k {
        MemberKind::Member => "member",
        MemberKind::Guest => "guest",
    }
}

pub(crate) fn outbox_status(s: OutboxStatus) -> &'static str {
    match s {
        OutboxStatus::Queued => "queued",
        OutboxStatus::Sent => "sent",
        OutboxStatus::Failed => "failed",
        OutboxStatus::Superseded => "superseded",
    }
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

pub(crate) fn to_hex(s: &str) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(s.len() * 2);
    for b in s.bytes() {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

pub(crate) fn from_hex(s: &str) -> Option<String> {
    fn digit(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        }
    }
    let bytes = s.as_bytes();
    if bytes.len() % 2 != 0 {
        return None;
    }
    let raw = bytes
        .chunks_exact(2)
        .map(|p| Some((digit(p[0])? << 4) | digit(p[1])?))
        .collect::<Option<Vec<u8>>>()?;
    String::from_utf8(raw).ok()
}

fn invalid_cursor(list: &str) -> StoreError {
    StoreError::InvalidCursor {
        list: list.to_owned(),
    }
}

/// `m.<hex contact key>.<hex member id>`.
pub(crate) fn member_cursor(contact_key: &str, id: &str) -> String {
    format!("m.{}.{}", to_hex(contact_key), to_hex(id))
}

pub(crate) fn parse_member_cursor(cursor: &str) -> StoreResult<(String, MemberId)> {
    let parse = || {
        let (contact, id) = cursor.strip_prefix("m.")?.split_once('.')?;
        Some((from_hex(contact)?, MemberId(from_hex(id)?)))
    };
    parse().ok_or_else(|| invalid_cursor("member"))
}

/// `i.<seconds>.<nanoseconds>.<hex invitation id>` of `created_at`.
pub(crate) fn invitation_cursor(created: Split, id: &str) -> String {
    format!("i.{}.{}.{}", created.0, created.1, to_hex(id))
}

pub(crate) fn parse_invitation_cursor(cursor: &str) -> StoreResult<(Split, InvitationId)> {
    let parse = || {
        let mut parts = cursor.strip_prefix("i.")?.splitn(3, '.');
        let secs: i64 = parts.next()?.parse().ok()?;
        let nanos: u32 = parts.next()?.parse().ok()?;
        let id = from_hex(parts.next()?)?;
        let at = DateTime::from_timestamp(secs, nanos)?;
        Some((split(at), InvitationId(id)))
    };
    parse().ok_or_else(|| invalid_cursor("invitation"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        for s in [
            "",
            "a",
            "Ünïcödé\u{1f}.m",
            "\u{10ffff}",
            "x'; DROP TABLE members; --",
        ] {
            assert_eq!(from_hex(&to_hex(s)).as_deref(), Some(s));
        }
        assert_eq!(from_hex("abc"), None);
        assert_eq!(from_hex("AB"), None);
        assert_eq!(from_hex("ff"), None); // not UTF-8
    }

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

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let c = member_cursor("a.b@x.test", "mem_1");
        assert_eq!(
            parse_member_cursor(&c).expect("parses"),
            ("a.b@x.test".to_owned(), MemberId("mem_1".into()))
        );
        let c = invitation_cursor((1_700_000_000, 42), "inv_.x");
        assert_eq!(
            parse_invitation_cursor(&c).expect("parses"),
            ((1_700_000_000, 42), InvitationId("inv_.x".into()))
        );
        for bad in [
            "", "m.", "m.zz.00", "m.6", "i.1.2.00", "m.ff.00", "i.x.0.00",
        ] {
            let err = parse_member_cursor(bad).expect_err(bad);
            assert!(matches!(&err, StoreError::InvalidCursor { list } if list == "member"));
        }
        for bad in ["", "i.", "i.1.2", "i.1.-2.00", "m.00.00", "i.1.2.zz"] {
            let err = parse_invitation_cursor(bad).expect_err(bad);
            assert!(matches!(&err, StoreError::InvalidCursor { list } if list == "invitation"));
        }
    }
}
