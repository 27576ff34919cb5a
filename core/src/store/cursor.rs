//! The page-cursor format every store shares, so that a cursor means the
//! same position whichever store made it (the conformance suite compares
//! stores page by page).
//!
//! Cursors are opaque to callers: the sort key of the last item of a page,
//! hex-encoded so that any text (dots, quotes, NUL-free unicode) survives.
//! - members: `m.<hex contact key>.<hex member id>`;
//! - invitations: `i.<seconds>.<nanoseconds>.<hex invitation id>` of
//!   `created_at`;
//! - outbox messages (the dead letters): `o.<seconds>.<nanoseconds>.<hex
//!   message id>` of `created_at`.
//!
//! A cursor that does not parse is [`StoreError::InvalidCursor`] (which the
//! engine reports as invalid input on field `cursor`).
//!
//! ```
//! use enlist::store::cursor;
//! let c = cursor::member("ada@acme.test", "mem_1");
//! let (contact, id) = cursor::parse_member(&c)?;
//! assert_eq!((contact.as_str(), id.as_str()), ("ada@acme.test", "mem_1"));
//! assert!(cursor::parse_member("m.zz.00").is_err());
//! # Ok::<(), enlist::StoreError>(())
//! ```

use super::StoreResult;
use crate::error::StoreError;
use crate::id::{InvitationId, MemberId, MembershipRequestId, MessageId};
use chrono::{DateTime, Utc};

/// The cursor after the member with this contact key and id.
pub fn member(contact_key: &str, member_id: &str) -> String {
    format!("m.{}.{}", to_hex(contact_key), to_hex(member_id))
}

/// The contact key and member id of a [`member`] cursor.
pub fn parse_member(cursor: &str) -> StoreResult<(String, MemberId)> {
    let parse = || {
        let (contact, id) = cursor.strip_prefix("m.")?.split_once('.')?;
        Some((from_hex(contact)?, MemberId::from(from_hex(id)?)))
    };
    parse().ok_or_else(|| invalid("member"))
}

/// The cursor after the invitation created at `created_secs` +
/// `created_nanos` (Unix time) with this id.
pub fn invitation(created_secs: i64, created_nanos: i64, invitation_id: &str) -> String {
    format!("i.{created_secs}.{created_nanos}.{}", to_hex(invitation_id))
}

/// The creation time (any time chrono accepts) and id of an
/// [`invitation`] cursor.
pub fn parse_invitation(cursor: &str) -> StoreResult<(DateTime<Utc>, InvitationId)> {
    let parse = || {
        let mut parts = cursor.strip_prefix("i.")?.splitn(3, '.');
        let secs: i64 = parts.next()?.parse().ok()?;
        let nanos: u32 = parts.next()?.parse().ok()?;
        let id = from_hex(parts.next()?)?;
        Some((
            DateTime::from_timestamp(secs, nanos)?,
            InvitationId::from(id),
        ))
    };
    parse().ok_or_else(|| invalid("invitation"))
}

/// The cursor after the outbox message created at `created_secs` +
/// `created_nanos` (Unix time) with this id.
pub fn message(created_secs: i64, created_nanos: i64, message_id: &str) -> String {
    format!("o.{created_secs}.{created_nanos}.{}", to_hex(message_id))
}

/// The creation time and id of a [`message`] cursor.
pub fn parse_message(cursor: &str) -> StoreResult<(DateTime<Utc>, MessageId)> {
    let parse = || {
        let mut parts = cursor.strip_prefix("o.")?.splitn(3, '.');
        let secs: i64 = parts.next()?.parse().ok()?;
        let nanos: u32 = parts.next()?.parse().ok()?;
        let id = from_hex(parts.next()?)?;
        Some((DateTime::from_timestamp(secs, nanos)?, MessageId::from(id)))
    };
    parse().ok_or_else(|| invalid("outbox"))
}

/// The cursor after the organization with this slug (the list of all
/// organizations).
pub fn organization(slug: &str) -> String {
    format!("g.{}", to_hex(slug))
}

/// The slug of an [`organization`] cursor.
pub fn parse_organization(cursor: &str) -> StoreResult<String> {
    cursor
        .strip_prefix("g.")
        .and_then(from_hex)
        .ok_or_else(|| invalid("organization"))
}

/// The cursor after an account's membership in this organization (the
/// organizations of an account).
pub fn account(org_id: &str) -> String {
    format!("a.{}", to_hex(org_id))
}

/// The organization id of an [`account`] cursor.
pub fn parse_account(cursor: &str) -> StoreResult<crate::id::OrgId> {
    cursor
        .strip_prefix("a.")
        .and_then(from_hex)
        .map(crate::id::OrgId::from)
        .ok_or_else(|| invalid("account"))
}

/// The cursor after the membership request created at `created_secs` +
/// `created_nanos` (Unix time) with this id.
pub fn request(created_secs: i64, created_nanos: i64, request_id: &str) -> String {
    format!("r.{created_secs}.{created_nanos}.{}", to_hex(request_id))
}

/// The creation time and id of a [`request`] cursor.
pub fn parse_request(cursor: &str) -> StoreResult<(DateTime<Utc>, MembershipRequestId)> {
    let parse = || {
        let mut parts = cursor.strip_prefix("r.")?.splitn(3, '.');
        let secs: i64 = parts.next()?.parse().ok()?;
        let nanos: u32 = parts.next()?.parse().ok()?;
        let id = from_hex(parts.next()?)?;
        Some((
            DateTime::from_timestamp(secs, nanos)?,
            MembershipRequestId::from(id),
        ))
    };
    parse().ok_or_else(|| invalid("membership request"))
}

/// The error for a cursor this store did not hand out for `list`.
pub fn invalid(list: &str) -> StoreError {
    StoreError::InvalidCursor {
        list: list.to_owned(),
    }
}

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
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    let raw = bytes
        .chunks_exact(2)
        .map(|p| Some((digit(p[0])? << 4) | digit(p[1])?))
        .collect::<Option<Vec<u8>>>()?;
    String::from_utf8(raw).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every store's cursors are these: they round-trip, and anything
    /// else (another list's cursor, bad hex, a bad number) is refused as
    /// a cursor of its list.
    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let c = member("a.b@x.test", "mem_1");
        assert_eq!(
            parse_member(&c).expect("parses"),
            ("a.b@x.test".to_owned(), MemberId::from("mem_1"))
        );
        let c = invitation(1_700_000_000, 42, "inv_.x");
        let (at, id) = parse_invitation(&c).expect("parses");
        assert_eq!(
            (at.timestamp(), at.timestamp_subsec_nanos()),
            (1_700_000_000, 42)
        );
        assert_eq!(id, InvitationId::from("inv_.x"));
        for bad in ["", "m.", "m.zz.00", "m.616", "i.1.2.00", "x.00.00"] {
            let err = parse_member(bad).expect_err(bad);
            assert!(matches!(&err, StoreError::InvalidCursor { list } if list == "member"));
        }
        for bad in ["", "i.", "i.x.0.00", "i.1.2.0g", "i.1.-2.00", "m.00.00"] {
            let err = parse_invitation(bad).expect_err(bad);
            assert!(matches!(&err, StoreError::InvalidCursor { list } if list == "invitation"));
        }
    }

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
}
