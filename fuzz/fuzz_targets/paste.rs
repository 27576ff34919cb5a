//! The paste-box parser reads whatever a person pastes: on any text it
//! reports every fragment and never panics. Checked on each input:
//! spans lie in the text, in order, on character boundaries, and slice to
//! the fragment's text; the recognized count equals the distinct keys;
//! a duplicate points at an earlier valid entry with the same key; every
//! valid mailbox parses again on its own to the same key; every accepted
//! address passes the `email_address` crate.

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
                let again = parse_address(&m.address).expect("a valid address parses alone");
                assert_eq!(again.key, m.key);
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
    }
});

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
