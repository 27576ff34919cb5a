//! How values become columns and back: JSON bodies, split times and the
//! page cursors (the same format as `MemoryStore`'s). Status and kind
//! columns hold the enums' wire names, from the one table in core
//! (`as_str()` to write, `parse()` to read; see `enlist::wire`).

use chrono::{DateTime, Utc};
use enlist::store::cursor;
use enlist::{InvitationId, StoreResult};
use enlist::{InvitationStatus, OutboxMessage, OutboxStatus, StoreError};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A time as `(seconds since 1970, nanoseconds)`: exact for every chrono
/// time, and ordered like the time.
pub(crate) type Split = (i64, i64);

pub(crate) fn split(t: DateTime<Utc>) -> Split {
    (t.timestamp(), i64::from(t.timestamp_subsec_nanos()))
}

/// The time of `(seconds since 1970, nanoseconds)` as [`split`] wrote it.
pub(crate) fn time_of(s: i64, ns: i64) -> StoreResult<DateTime<Utc>> {
    u32::try_from(ns)
        .ok()
        .and_then(|ns| DateTime::from_timestamp(s, ns))
        .ok_or_else(|| StoreError::Corrupt("a stored time out of range".to_owned()))
}

/// A body's JSON text (`serde_json`'s, written by core's faster writer).
pub(crate) fn to_json<T: Serialize>(v: &T) -> StoreResult<String> {
    enlist::store::json::to_string(v).map_err(StoreError::other)
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

/// Takes the link out of a queued draft about to be written (schema
/// version 25): the message keeps the link redacted, which is what its
/// body will hold, and the link is returned for the row's `link` column.
/// A draft is what `OutboxMessage::redact` treats as one: no rendered
/// body, so its link is its only secret. `None`, and the message left as
/// it is, for anything else: a message that is not queued, whose bodies
/// are rendered (the link is in them too), or that has no link.
pub(crate) fn hold_link(msg: &mut OutboxMessage) -> Option<String> {
    let email = &mut msg.email;
    let draft = email.text_body.is_empty() && email.html_body.is_none();
    let link = !email.accept_url.is_empty() && email.accept_url != enlist::REDACTED;
    (msg.status == OutboxStatus::Queued && draft && link)
        .then(|| std::mem::replace(&mut email.accept_url, enlist::REDACTED.to_owned()))
}

/// An outbox message read from its row: the body decoded, with the
/// `status` column's status (a draft superseded since schema version 25
/// keeps the body it was queued with) and, if the `link` column holds
/// one, that link (its body holds it redacted: [`hold_link`]).
pub(crate) fn outbox_message(
    status: &str,
    link: Option<String>,
    body: &str,
) -> StoreResult<OutboxMessage> {
    let mut msg: OutboxMessage = from_json(body, "outbox message")?;
    msg.status = status
        .parse()
        .map_err(|_| StoreError::Corrupt(format!("an outbox status {status:?}")))?;
    if let Some(link) = link {
        msg.email.accept_url = link;
    }
    Ok(msg)
}

/// The stored text of a queued draft once superseded, written from the
/// text it had without decoding the message: what `OutboxMessage`'s
/// `status = Superseded` then `redact()` then [`to_json`] would write,
/// byte for byte, for the one case an accept meets (ADR 0018's draft:
/// no rendered body, so redacting only replaces its link). `None` for
/// anything else (a rendered body to scrub, a key written with escapes,
/// a field twice, text that is not an object), which the caller decodes,
/// supersedes and redacts as before.
///
/// The object's members are read as raw JSON (each value's text, found
/// by serde_json's parser, not by searching the text), and written back
/// in their order with two values replaced: the top-level `status` and
/// the email's `accept_url`. Every other value keeps the text serde_json
/// wrote, which is what it would write again.
pub(crate) fn superseded_draft(body: &str) -> Option<String> {
    use serde::de::DeserializeSeed;
    let mut de = serde_json::Deserializer::from_str(body);
    let top = Read {
        open: Some("email"),
    }
    .deserialize(&mut de)
    .ok()?;
    de.end().ok()?;
    if top.count("status") != 1 || top.count("email") != 1 {
        return None;
    }
    let Some(Member::Object(email)) = top.get("email") else {
        return None;
    };
    for key in ["accept_url", "text_body", "html_body"] {
        if email.count(key) > 1 {
            return None;
        }
    }
    // A draft: no text body and no HTML body (`None`, written `null`, or
    // not written at all).
    let draft =
        email.raw("text_body")? == r#""""# && email.raw("html_body").is_none_or(|h| h == "null");
    if !draft {
        return None;
    }
    let status = serde_json::to_string(&enlist::OutboxStatus::Superseded).ok()?;
    let link = email.raw("accept_url")?;
    // `redact` leaves an empty or already redacted link as it is.
    let redacted_link = serde_json::to_string(enlist::REDACTED).ok()?;
    let link = if link == r#""""# || link == redacted_link {
        link
    } else {
        &redacted_link
    };
    let mut out = String::with_capacity(body.len() + 16);
    top.write(&mut out, &[("status", &status)], &[("accept_url", link)]);
    Some(out)
}

/// A JSON object's members in their order: each key (written without
/// escapes) and its value, as raw text or, for the one member read as an
/// object of its own, its members.
struct Members<'a>(Vec<(&'a str, Member<'a>)>);

enum Member<'a> {
    Raw(&'a serde_json::value::RawValue),
    Object(Members<'a>),
}

impl<'a> Members<'a> {
    fn count(&self, key: &str) -> usize {
        self.0.iter().filter(|(k, _)| *k == key).count()
    }

    fn get(&self, key: &str) -> Option<&Member<'a>> {
        self.0.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The raw text of member `key`, if it has one.
    fn raw(&self, key: &str) -> Option<&'a str> {
        match self.get(key)? {
            Member::Raw(v) => Some(v.get()),
            Member::Object(_) => None,
        }
    }

    /// The object written compactly, as serde_json writes one, with the
    /// values of the keys in `here` replaced by the given text, and those
    /// of `inner` in the object read within it.
    fn write(&self, out: &mut String, here: &[(&str, &str)], inner: &[(&str, &str)]) {
        out.push('{');
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('"');
            out.push_str(k);
            out.push_str("\":");
            match (here.iter().find(|(key, _)| key == k), v) {
                (Some((_, text)), _) => out.push_str(text),
                (None, Member::Raw(raw)) => out.push_str(raw.get()),
                (None, Member::Object(o)) => o.write(out, inner, &[]),
            }
        }
        out.push('}');
    }
}

/// Reads a JSON object's members, the one named `open` (if any) as an
/// object of its own, the others as raw text: the text is parsed once.
struct Read {
    open: Option<&'static str>,
}

impl<'de> serde::de::DeserializeSeed<'de> for Read {
    type Value = Members<'de>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Members<'de>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Read {
    type Value = Members<'de>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<M: serde::de::MapAccess<'de>>(self, mut map: M) -> Result<Members<'de>, M::Error> {
        let mut out = Vec::with_capacity(map.size_hint().unwrap_or(16));
        // A key with escapes cannot be borrowed: an error, and so `None`
        // above.
        while let Some(k) = map.next_key::<&'de str>()? {
            let v = if self.open == Some(k) {
                Member::Object(map.next_value_seed(Read { open: None })?)
            } else {
                Member::Raw(map.next_value::<&'de serde_json::value::RawValue>()?)
            };
            out.push((k, v));
        }
        Ok(Members(out))
    }
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

#[cfg(test)]
mod draft_tests {
    use super::*;

    fn org_id(n: u8) -> OrgId {
        OrgId::from(format!("org_{n}"))
    }
    use enlist::OrgId;
    use enlist::testing::entities::message;
    use enlist::{OutboxMessage, OutboxStatus};
    use proptest::prelude::*;
    use serde_json::json;

    /// A queued invitation email as the engine stores it (ADR 0018): no
    /// rendered body, the link, the template variables; `edit` changes it.
    fn queued(edit: impl FnOnce(&mut serde_json::Value)) -> OutboxMessage {
        let mut v = serde_json::to_value(message(&org_id(1), "msg_1", "inv_1", 1)).expect("json");
        v["email"]["subject"] = json!("");
        v["email"]["text_body"] = json!("");
        v["draft"] = json!({
            "vars": {
                "organization": "Acme", "inviter": "Ada", "recipient_name": null,
                "role": "member", "is_guest": false, "groups": [],
                "personal_message": "Welcome", "expires_at": "2026-12-12T23:23:49.440616411Z",
                "product_name": "enlist"
            },
            "locale": null
        });
        edit(&mut v);
        serde_json::from_value(v).expect("a message")
    }

    /// What the store wrote before this path: decoded, superseded,
    /// redacted, encoded.
    fn decoded(m: &OutboxMessage) -> String {
        let mut m = m.clone();
        m.status = OutboxStatus::Superseded;
        m.redact();
        to_json(&m).expect("json")
    }

    #[test]
    fn a_draft_is_superseded_and_loses_its_link_as_decoding_would() {
        let m = queued(|_| {});
        let body = to_json(&m).expect("json");
        assert!(body.contains("https://x.test/accept?token=abc"));
        let fast = superseded_draft(&body).expect("a draft takes the fast path");
        assert_eq!(fast, decoded(&m));
        assert!(!fast.contains("https://x.test/accept"), "{fast}");
        let back: OutboxMessage = from_json(&fast, "outbox message").expect("decodes");
        assert_eq!(back.status, OutboxStatus::Superseded);
        assert_eq!(back.email.accept_url, enlist::REDACTED);
    }

    /// Text that only looks like the fields (inside a string value) is
    /// left alone: the members are found by the parser, not by a search.
    #[test]
    fn text_that_looks_like_a_field_is_not_one() {
        let m = queued(|v| {
            v["email"]["personal_message"] =
                json!(r#"","accept_url":"https://evil.test","status":"sent"#);
            v["email"]["to_name"] = json!("\"accept_url\":\"https://x.test/accept?token=abc\"");
        });
        let fast = superseded_draft(&to_json(&m).expect("json")).expect("a draft");
        assert_eq!(fast, decoded(&m));
        let back: OutboxMessage = from_json(&fast, "outbox message").expect("decodes");
        assert_eq!(
            back.email.personal_message.as_deref(),
            Some(r#"","accept_url":"https://evil.test","status":"sent"#)
        );
    }

    /// Anything but a plain draft goes the decoding way: rendered bodies
    /// (the link is in them too), a repeated field, a key with escapes,
    /// text that is no object.
    #[test]
    fn anything_else_is_left_to_decoding() {
        let rendered = message(&org_id(1), "msg_1", "inv_1", 1);
        assert!(superseded_draft(&to_json(&rendered).expect("json")).is_none());
        let html = queued(|v| v["email"]["html_body"] = json!("<a href=\"x\">x</a>"));
        assert!(superseded_draft(&to_json(&html).expect("json")).is_none());
        let body = to_json(&queued(|_| {})).expect("json");
        let twice = body.replacen(
            "\"status\":\"queued\"",
            "\"status\":\"queued\",\"status\":\"sent\"",
            1,
        );
        assert_ne!(twice, body);
        assert!(superseded_draft(&twice).is_none());
        let escaped = body.replacen("\"accept_url\"", "\"accept\\u005furl\"", 1);
        assert_ne!(escaped, body);
        assert!(superseded_draft(&escaped).is_none());
        for not_one in [
            "",
            "[]",
            "null",
            "{",
            "{\"status\":\"queued\"}",
            "{\"email\":1}",
        ] {
            assert!(superseded_draft(not_one).is_none(), "{not_one}");
        }
    }

    proptest! {
        /// For any message: a draft's fast path writes exactly what
        /// decoding, superseding, redacting and encoding writes; any
        /// other message is left to that path.
        #[test]
        fn the_fast_path_writes_what_decoding_writes(
            link in prop_oneof![Just(String::new()), Just(enlist::REDACTED.to_owned()), any::<String>()],
            text in prop_oneof![Just(String::new()), any::<String>()],
            html in proptest::option::of(any::<String>()),
            to_name in proptest::option::of(any::<String>()),
            personal in proptest::option::of(any::<String>()),
            inviter in proptest::option::of(any::<String>()),
            with_draft in any::<bool>(),
        ) {
            let m = queued(|v| {
                v["email"]["accept_url"] = json!(link);
                v["email"]["text_body"] = json!(text);
                v["email"]["html_body"] = json!(html);
                v["email"]["to_name"] = json!(to_name);
                v["email"]["personal_message"] = json!(personal);
                v["email"]["inviter_name"] = json!(inviter);
                if !with_draft {
                    v.as_object_mut().expect("object").remove("draft");
                }
            });
            let fast = superseded_draft(&to_json(&m).expect("json"));
            if m.email.text_body.is_empty() && m.email.html_body.is_none() {
                prop_assert_eq!(fast, Some(decoded(&m)));
            } else {
                prop_assert_eq!(fast, None);
            }
        }
    }
}
