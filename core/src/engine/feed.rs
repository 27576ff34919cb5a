//! The event feed: every organization's events in one order, read after a
//! cursor the host keeps, for webhooks (the at-least-once feed).

use super::{Enlist, MAX_CURSOR_BYTES, page_limit};
use crate::error::{Error, LimitKind, Result};
use crate::event::{Event, EventKind};
use serde::{Deserialize, Serialize};

/// At most this many kinds in the filter of one [`Enlist::event_feed`]
/// call.
pub const MAX_FEED_KINDS: usize = 64;

/// One event of the feed and the cursor just after it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct FeedEvent {
    /// Where the feed stands just after this event: give it back as
    /// `after` to read what follows. Opaque, store-made, at most
    /// 1024 bytes.
    pub cursor: String,
    /// The event.
    pub event: Event,
}

impl FeedEvent {
    /// An event of the feed at `cursor` (for store authors).
    pub fn new(cursor: String, event: Event) -> Self {
        Self { cursor, event }
    }
}

/// A page of the feed ([`Enlist::event_feed`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct EventFeed {
    /// The events after the cursor, oldest first.
    pub events: Vec<FeedEvent>,
    /// The cursor to store once these events are delivered: the last
    /// event's, or the one given when there was nothing new (`None` only
    /// when none was given and the feed is empty).
    pub next: Option<String>,
}

impl Enlist {
    /// The events of every organization after `after` (a cursor this feed
    /// returned, `None` for the beginning), oldest first, at most `limit`
    /// (1 to 1000), only the `kinds` named (their wire names, as
    /// `"invitation_accepted"`; empty for all).
    ///
    /// This is the host's feed for webhooks, not a command of any
    /// organization's members: it takes no actor, and a host never lets an
    /// end user reach it. Deliver at least once: read a page, deliver its
    /// events, then store [`EventFeed::next`]; a crash between the two
    /// delivers those events again (each carries its organization and
    /// `seq`, which together identify it for the receiver to drop
    /// duplicates). Events are never rewritten, and the feed never skips
    /// one: an event committed after a page was read comes after that
    /// page's cursor, on every store (see the book's hooks chapter for how
    /// each store keeps that promise).
    ///
    /// ```
    /// use enlist::{Enlist, NewOrganization};
    /// let engine = Enlist::in_memory();
    /// engine.create_organization(NewOrganization::new("Acme", "acct-1", "ada@acme.test"))?;
    /// let page = engine.event_feed(None, &[], 100)?;
    /// assert!(!page.events.is_empty());
    /// engine.create_organization(NewOrganization::new("Beta", "acct-2", "bo@beta.test"))?;
    /// let next = engine.event_feed(page.next.as_deref(), &["organization_created".into()], 100)?;
    /// assert_eq!(next.events.len(), 1);
    /// assert_ne!(next.events[0].event.org_id, page.events[0].event.org_id);
    /// # Ok::<(), enlist::Error>(())
    /// ```
    pub fn event_feed(
        &self,
        after: Option<&str>,
        kinds: &[String],
        limit: u32,
    ) -> Result<EventFeed> {
        let limit = page_limit(limit)?;
        if let Some(a) = after {
            super::check_max_bytes("cursor", a, MAX_CURSOR_BYTES)?;
        }
        check_kinds(kinds)?;
        let events = self.run_read("event_feed", |cx| {
            Ok(cx
                .tx
                .event_feed(after, kinds, usize::try_from(limit).unwrap_or(usize::MAX))?)
        })?;
        let next = events
            .last()
            .map(|e| e.cursor.clone())
            .or_else(|| after.map(str::to_owned));
        Ok(EventFeed { events, next })
    }
}

/// Refuses a kinds filter that is too long or names a kind that does not
/// exist (a typo would otherwise filter everything out, silently).
fn check_kinds(kinds: &[String]) -> Result<()> {
    if kinds.len() > MAX_FEED_KINDS {
        return Err(Error::LimitExceeded {
            limit: LimitKind::FieldLength,
            max: MAX_FEED_KINDS as u64,
            actual: kinds.len() as u64,
            detail: Some("kinds".into()),
        });
    }
    for k in kinds {
        let plain = !k.is_empty()
            && k.len() <= 64
            && k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
        if !plain || !is_event_kind(k) {
            let shown: String = k.chars().take(64).collect();
            return Err(Error::invalid(
                "kinds",
                format!("{shown:?} is not the name of an event kind"),
            ));
        }
    }
    Ok(())
}

/// The wire name of an event's kind (its serde tag, as
/// `"invitation_accepted"`): what the kinds filter of
/// [`Enlist::event_feed`] names, and what a store keeps to filter on.
///
/// ```
/// use enlist::{EventKind, event_kind_name};
/// assert_eq!(event_kind_name(&EventKind::InviteLinkDeactivated), "invite_link_deactivated");
/// ```
pub fn event_kind_name(kind: &EventKind) -> String {
    // The name is the variant's: found once per variant and thread, then
    // looked up by the variant (stores call this for every event they
    // append; the serializer below costs some 2,700 instructions).
    thread_local! {
        static NAMES: std::cell::RefCell<Vec<(std::mem::Discriminant<EventKind>, Box<str>)>> =
            const { std::cell::RefCell::new(Vec::new()) };
    }
    let variant = std::mem::discriminant(kind);
    NAMES.with(|names| {
        if let Some((_, name)) = names.borrow().iter().find(|(v, _)| *v == variant) {
            return String::from(&**name);
        }
        let name = serialized_kind_name(kind);
        names
            .borrow_mut()
            .push((variant, name.clone().into_boxed_str()));
        name
    })
}

/// The name of `kind` as serde writes it: its tag.
fn serialized_kind_name(kind: &EventKind) -> String {
    // serde writes an internally tagged enum's tag first (`{"type":"name"`):
    // the writer keeps the bytes up to the tag's closing quote, then stops
    // the serializer, so the kind's fields (a whole invitation, for some)
    // are never written.
    let mut tag = TagWriter {
        buf: [0; TagWriter::CAP],
        len: 0,
    };
    let _stopped = serde_json::to_writer(&mut tag, kind);
    match tag.name() {
        Some(name) => name.to_owned(),
        // Not reached with serde's derive; kept so that a change of the
        // representation cannot give a wrong name, only a slower one.
        None => serde_json::to_value(kind)
            .ok()
            .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_owned))
            .unwrap_or_default(),
    }
}

/// The first bytes serde_json writes for an [`EventKind`], up to the end
/// of its tag; every write after that fails, which ends the serialization.
struct TagWriter {
    buf: [u8; TagWriter::CAP],
    len: usize,
}

impl TagWriter {
    /// `{"type":"` and the longest kind name, with room to spare.
    const CAP: usize = 96;
    const PREFIX: &'static [u8] = b"{\"type\":\"";

    /// The tag, once its closing quote is written.
    fn name(&self) -> Option<&str> {
        let rest = self.buf[..self.len].strip_prefix(Self::PREFIX)?;
        let end = rest.iter().position(|&b| b == b'"')?;
        std::str::from_utf8(&rest[..end]).ok()
    }
}

impl std::io::Write for TagWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if self.name().is_some() || self.len + bytes.len() > Self::CAP {
            return Err(std::io::Error::other("the tag is written"));
        }
        self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Whether `name` is the wire name (serde tag) of an [`EventKind`]: serde
/// knows the list, and says "unknown variant" for any other name.
pub(crate) fn is_event_kind(name: &str) -> bool {
    match serde_json::from_value::<EventKind>(serde_json::json!({ "type": name })) {
        Ok(_) => true,
        Err(e) => !e.to_string().contains("unknown variant"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{GroupId, MemberId};

    /// The name read from the start of the JSON is the tag serde writes,
    /// whatever the fields hold (quotes, long text) and whatever the
    /// name's length.
    #[test]
    fn a_kind_name_is_its_serde_tag() {
        let long = "x\"y".repeat(200);
        let kinds = [
            EventKind::OrganizationCreated {
                name: long.clone(),
                owner: MemberId::from("mem_1"),
            },
            EventKind::OrganizationRenamed {
                from: "\"type\":\"evil\"".into(),
                to: long,
            },
            EventKind::PolicyChanged { fields: vec![] },
            EventKind::GroupDeleted {
                group: GroupId::from("grp_1"),
                name: String::new(),
                members_detached: 3,
            },
            EventKind::InviteLinkDeactivated,
        ];
        // Twice: the second round reads the names this thread keeps.
        for _ in 0..2 {
            for kind in &kinds {
                let value = serde_json::to_value(kind).expect("json");
                let tag = value["type"].as_str().expect("a tag");
                assert_eq!(event_kind_name(kind), tag);
                assert_eq!(serialized_kind_name(kind), tag);
            }
        }
        assert_eq!(
            event_kind_name(&EventKind::OrganizationRenamed {
                from: "a".into(),
                to: "b".into()
            }),
            "organization_renamed"
        );
    }

    #[test]
    fn kind_names_are_checked_against_the_event_kinds() {
        assert!(is_event_kind("invitation_accepted"));
        assert!(is_event_kind("invite_link_deactivated"));
        assert!(!is_event_kind("invitation_acepted"));
        assert!(check_kinds(&["member_removed".into()]).is_ok());
        assert_eq!(
            check_kinds(&["Member_Removed".into()]).map_err(|e| e.code()),
            Err("invalid_input")
        );
        assert_eq!(
            check_kinds(&vec!["member_removed".to_owned(); MAX_FEED_KINDS + 1])
                .map_err(|e| e.code()),
            Err("limit_exceeded")
        );
        let engine = Enlist::in_memory();
        assert_eq!(
            engine
                .event_feed(Some(&"9".repeat(2000)), &[], 10)
                .map_err(|e| e.code()),
            Err("limit_exceeded")
        );
        assert_eq!(
            engine.event_feed(None, &[], 0).map_err(|e| e.code()),
            Err("limit_exceeded")
        );
    }
}
