//! The RFC 5322 message of an invitation email: one builder for every
//! mailer of this crate, so a `.eml` file is byte for byte what SMTP sends
//! (the `Date` aside).
//!
//! Every header is made by lettre's typed headers and [`Mailbox`]es, which
//! quote or RFC 2047-encode what needs it (a CR or LF, quotes, `<...>`, an
//! encoded word, non-ASCII): no text a person typed (a name, the
//! organization's name in the Subject, a personal message) is ever pasted
//! into a header line.

use enlist::{MailError, OutgoingEmail};
use lettre::address::{Address, Envelope};
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, Message, SinglePart};

/// The header naming the outbox message an email is, the same on every
/// retry: a receiving system (or a person reading the headers) can tell a
/// duplicate after a lost acknowledgement from a new invitation.
pub const IDEMPOTENCY_HEADER: &str = "X-Enlist-Message-Id";

/// `X-Enlist-Message-Id: msg_…`.
#[derive(Clone, Debug)]
struct EnlistMessageId(String);

impl Header for EnlistMessageId {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str(IDEMPOTENCY_HEADER)
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.to_owned()))
    }

    fn display(&self) -> HeaderValue {
        // Encoded (and folded) by lettre like any other value; the id is
        // checked to be a plain token before it gets here.
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// A person's name as a mailbox's display name: each run of control
/// characters (CR, LF, NUL, tab, ...) becomes one space. lettre encodes
/// every other character, but its formatter fails (and `to_string`
/// panics) on a control character in a display name; a line break has no
/// place in a name anyway.
fn display_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars() {
        if c.is_control() {
            if !in_run {
                out.push(' ');
            }
            in_run = true;
        } else {
            out.push(c);
            in_run = false;
        }
    }
    out.trim().to_owned()
}

/// The longest message id accepted (ids the engine makes are far shorter).
const MAX_ID_CHARS: usize = 64;

/// The outbox message id, checked to be a token (letters, digits, `_`,
/// `-`): it names files and goes into `Message-ID`, where nothing may be
/// encoded.
pub(crate) fn checked_id(email: &OutgoingEmail) -> Result<&str, MailError> {
    let id = email.message_id.as_str();
    if id.is_empty()
        || id.len() > MAX_ID_CHARS
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(MailError::Permanent(
            "the outbox message id is not a plain token".into(),
        ));
    }
    Ok(id)
}

/// The message `email` is, from `from`: its envelope and its bytes (CRLF
/// line ends, as sent after SMTP `DATA`, before dot-stuffing).
///
/// Errors are permanent: an address lettre cannot parse will not parse on
/// a retry either.
pub(crate) fn build(
    email: &OutgoingEmail,
    from: &Mailbox,
) -> Result<(Envelope, Vec<u8>), MailError> {
    let id = checked_id(email)?;
    let to_address: Address = email
        .to
        .parse()
        .map_err(|e| MailError::Permanent(format!("the recipient address is refused: {e}")))?;
    let to = Mailbox::new(email.to_name.as_deref().map(display_name), to_address);
    let mut builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(email.subject.clone())
        .message_id(Some(format!("<{id}@{}>", from.email.domain())))
        .header(EnlistMessageId(id.to_owned()));
    if let Some(reply_to) = &email.reply_to {
        // The inviter's address was a member's contact, so it parses; if
        // it ever did not, the invitation still goes out, without Reply-To.
        if let Ok(address) = reply_to.parse::<Address>() {
            builder = builder.reply_to(Mailbox::new(
                email.inviter_name.as_deref().map(display_name),
                address,
            ));
        }
    }
    // The text part. When `OutgoingEmail` carries an HTML part, build
    // `MultiPart::alternative()` of this text part and
    // `SinglePart::html(..)` here: the rest of the message is the same.
    let body = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .body(email.text_body.clone());
    let message = builder
        .singlepart(body)
        .map_err(|e| MailError::Permanent(format!("the message cannot be built: {e}")))?;
    Ok((message.envelope().clone(), message.formatted()))
}

/// Parses the host's From (`noreply@acme.example` or
/// `Acme <noreply@acme.example>`).
pub(crate) fn parse_from(field: &str, from: &str) -> Result<Mailbox, enlist::Error> {
    from.parse::<Mailbox>()
        .map_err(|e| enlist::Error::InvalidInput {
            field: field.to_owned(),
            reason: format!("{from:?} is not a mailbox ({e})"),
        })
}

/// The `From` text (for [`SmtpConfig::from`](crate::SmtpConfig::from)
/// or [`FileMailer::new`](crate::FileMailer::new)) of a display name and
/// an address, the name quoted or encoded by lettre (control characters
/// become spaces), never pasted: `from_mailbox(Some("Acme, Inc."),
/// "noreply@acme.example")`. An address that does not parse is an
/// `InvalidInput` error on `from_address`.
pub fn from_mailbox(name: Option<&str>, address: &str) -> Result<String, enlist::Error> {
    let parsed: Address = address.parse().map_err(|e| enlist::Error::InvalidInput {
        field: "from_address".into(),
        reason: format!("{address:?} is not an email address ({e})"),
    })?;
    let name = name.map(display_name).filter(|n| !n.is_empty());
    Ok(Mailbox::new(name, parsed).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serde_json_like(name: &str) -> OutgoingEmail {
        serde_json::from_value(serde_json::json!({
            "message_id": "msg_1", "to": "bob@acme.test", "to_name": name,
            "subject": name, "text_body": name, "accept_url": "https://a.test/?token=t",
            "org_name": name, "inviter_name": name, "reply_to": "ada@acme.test",
            "personal_message": name, "expires_at": "2030-01-01T00:00:00Z",
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_from_name_is_quoted_not_pasted() {
        for name in [
            "Acme, Inc.",
            "Eve <mallory@evil.test>",
            "Zoë \"Z\"\r\nBcc: x@evil.test",
        ] {
            let text =
                from_mailbox(Some(name), "noreply@acme.test").unwrap_or_else(|e| panic!("{e}"));
            let parsed = parse_from("f", &text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(parsed.email.to_string(), "noreply@acme.test", "{text}");
            assert_eq!(
                parsed.name.as_deref(),
                Some(display_name(name).as_str()),
                "{text}"
            );
        }
        assert_eq!(
            from_mailbox(None, "noreply@acme.test").ok().as_deref(),
            Some("noreply@acme.test")
        );
        let e = from_mailbox(Some("A"), "not an address").unwrap_err();
        assert!(e.to_string().contains("from_address"), "{e}");
    }

    #[test]
    fn control_characters_in_names_become_spaces() {
        assert_eq!(
            display_name("Eve\r\nBcc: x@evil.test"),
            "Eve Bcc: x@evil.test"
        );
        assert_eq!(display_name("\0Ada\tLovelace\n"), "Ada Lovelace");
        assert_eq!(display_name("Zoë \"Z\" <z@x>"), "Zoë \"Z\" <z@x>");
    }

    #[test]
    fn a_name_with_line_breaks_does_not_make_the_builder_panic() {
        let from: Mailbox = "Acme <invites@acme.test>"
            .parse()
            .unwrap_or_else(|_| unreachable!());
        let email: OutgoingEmail = serde_json_like("Eve\r\nBcc: x@evil.test\u{0}");
        let (envelope, raw) = build(&email, &from).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(envelope.to().len(), 1);
        let raw = String::from_utf8_lossy(&raw).into_owned();
        let head = raw.split("\r\n\r\n").next().unwrap_or_default();
        assert!(!head.contains("\r\nBcc:"), "{raw}");
    }
}
