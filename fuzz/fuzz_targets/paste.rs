//! The paste-box parser reads whatever a person pastes: on any text it
//! reports every fragment and never panics. Checked on each input:
//! spans lie in the text, in order, on character boundaries, and slice to
//! the fragment's text; the recognized count equals the distinct keys;
//! a duplicate points at an earlier valid entry with the same key; the
//! uniqueness key is a fixed point (a valid mailbox's address parses again
//! on its own to the same key and the same address, and its key to itself);
//! display names are at most 200 characters, with no quote, angle bracket,
//! control or invisible character; every accepted address passes the
//! `email_address` crate.
//!
//! Run: `cargo +nightly fuzz run paste -- -rss_limit_mb=256
//! -malloc_limit_mb=256 -timeout=1 -max_total_time=1200`.

#![no_main]

use std::collections::HashSet;

use enlist::email::{EntryOutcome, Mailbox, parse_address, parse_recipients};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = parse_recipients(text);
    let mut last_end = 0;
    let mut keys = HashSet::new();
    for (i, e) in parsed.entries.iter().enumerate() {
        assert!(e.span.start >= last_end && e.span.start <= e.span.end);
        assert!(text.is_char_boundary(e.span.start) && text.is_char_boundary(e.span.end));
        assert_eq!(e.span.slice(text), e.text);
        last_end = e.span.end;
        match &e.outcome {
            EntryOutcome::Valid(m) => {
                assert!(keys.insert(m.key.clone()), "a key counted twice");
                assert_passes_email_address(m);
                assert_fixed_point(m);
                assert_plain_name(m);
            }
            EntryOutcome::Duplicate { mailbox, first } => {
                assert!(*first < i);
                match &parsed.entries[*first].outcome {
                    EntryOutcome::Valid(m) => assert_eq!(m.key, mailbox.key),
                    other => panic!("duplicate of a non-valid entry: {other:?}"),
                }
            }
            EntryOutcome::Invalid { error } => {
                assert!(!error.code().is_empty());
            }
        }
    }
    assert_eq!(parsed.recognized(), keys.len());
    // A single-entry field agrees with the paste box on what it accepts.
    if let Ok(m) = parse_address(text) {
        assert!(!m.key.is_empty() && m.key.len() <= enlist::email::MAX_ADDRESS_LEN);
        assert_passes_email_address(&m);
        assert_fixed_point(&m);
        assert_plain_name(&m);
    }
});

/// key(address(input)) == key(input): what a store keeps (the address, the
/// key) parses again to the same key, so two spellings of one address
/// cannot escape "already invited" or "already a member".
fn assert_fixed_point(m: &Mailbox) {
    let again = parse_address(&m.address)
        .unwrap_or_else(|e| panic!("the address of {m:?} does not parse again: {e}"));
    assert_eq!(again.key, m.key, "{m:?}");
    assert_eq!(again.address, m.address, "{m:?}");
    assert_eq!(again.ascii_domain, m.ascii_domain, "{m:?}");
    let by_key =
        parse_address(&m.key).unwrap_or_else(|e| panic!("the key of {m:?} does not parse: {e}"));
    assert_eq!(by_key.key, m.key, "{m:?}");
}

/// A display name fits a mail header's name: bounded, nothing that could
/// end the name, start an address or hide.
fn assert_plain_name(m: &Mailbox) {
    let Some(name) = m.display_name.as_deref() else {
        return;
    };
    assert!(
        name.chars().count() <= enlist::email::MAX_DISPLAY_NAME_CHARS,
        "{m:?}"
    );
    assert!(
        !name.chars().any(|c| c.is_control() && c != '\t'
            || matches!(
                c,
                '"' | '<'
                    | '>'
                    | '\u{AD}'
                    | '\u{200B}'
                    | '\u{200E}'
                    | '\u{200F}'
                    | '\u{2028}'
                    | '\u{2029}'
                    | '\u{202A}'..='\u{202E}'
                    | '\u{2060}'..='\u{206F}'
                    | '\u{FEFF}'
            )),
        "{m:?}"
    );
    // No RFC 2047 encoded word: no `=?` followed by a `?=`.
    let encoded = name
        .find("=?")
        .is_some_and(|start| name.rfind("?=").is_some_and(|end| end >= start + 2));
    assert!(!encoded, "{m:?}");
}

/// The module's promise: every accepted address also passes the
/// `email_address` crate (its ASCII local part, and its ASCII domain).
fn assert_passes_email_address(m: &Mailbox) {
    let local = m.local_part();
    assert!(
        !local.is_ascii() || email_address::EmailAddress::is_valid_local_part(local),
        "{m:?}"
    );
    assert!(
        email_address::EmailAddress::is_valid_domain(&m.ascii_domain),
        "{m:?}"
    );
}
