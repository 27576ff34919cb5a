//! `parse_token` reads what arrives on the accept URL (a bare token, or a
//! whole link pasted by a person), from anyone, before any account exists.
//! On any text it returns a token or nothing, never panics, and costs time
//! linear in its input, which is at most `MAX_TOKEN_INPUT_BYTES`:
//!
//! - longer input is refused (`None`) without being read;
//! - a token it returns is really in the text: `org.random` (or
//!   `org.inv.random` for one that names its invitation) appears there,
//!   and the hash is the hash of that random part;
//! - it agrees with the naive reference (the quadratic parser before issue
//!   10, whose answers define the format).
//!
//! Run it with large inputs, where a quadratic parser shows:
//! `cargo +nightly fuzz run token -- -max_len=65536 -timeout=1
//! -rss_limit_mb=256 -malloc_limit_mb=256`. Under that command the old
//! parser timed out on a 64 KB run of `org_` (seed such inputs into the
//! corpus: `python3 -c "print('org_'*16384, end='')" > corpus/token/flood`).

#![no_main]

use enlist::{InvitationId, OrgId, ParsedToken};
use enlist::{MAX_TOKEN_INPUT_BYTES, SecretHash, TOKEN_RANDOM_CHARS, parse_token};
use libfuzzer_sys::fuzz_target;

fn is_invitation_part(s: &str) -> bool {
    s.starts_with("inv_")
        && s.len() <= 64
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn naive_bare(token: &str) -> Option<ParsedToken> {
    let (head, random) = token.rsplit_once('.')?;
    if random.len() != TOKEN_RANDOM_CHARS
        || !random
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return None;
    }
    let hash = SecretHash::of(random.as_bytes());
    if let Some((org, inv)) = head.rsplit_once('.') {
        if org.starts_with("org_") && org.len() <= 64 && is_invitation_part(inv) {
            return Some(ParsedToken {
                org: OrgId::from(org),
                invitation: Some(InvitationId::from(inv)),
                hash,
            });
        }
    }
    if !head.starts_with("org_") || head.len() > 64 {
        return None;
    }
    Some(ParsedToken {
        org: OrgId::from(head),
        invitation: None,
        hash,
    })
}

/// The parser before issue 10, with the invitation part of ADR 0019:
/// quadratic, but the definition of the format.
fn naive(token: &str) -> Option<ParsedToken> {
    let token = token.trim();
    if let Some(found) = naive_bare(token) {
        return Some(found);
    }
    let is_token_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    token.match_indices("org_").find_map(|(i, _)| {
        let rest = &token[i..];
        let end = rest.find(|c: char| !is_token_char(c)).unwrap_or(rest.len());
        naive_bare(&rest[..end])
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let found = parse_token(text);
    if text.len() > MAX_TOKEN_INPUT_BYTES {
        assert!(found.is_none(), "oversized input was parsed");
        return;
    }
    if let Some(ParsedToken {
        org,
        invitation,
        hash,
    }) = &found
    {
        // Every position, overlapping ones included (`match_indices` skips
        // overlapping occurrences: `o.x.o.x.<43>` has two of `o.x.`).
        let prefix = match invitation {
            Some(inv) => format!("{org}.{inv}."),
            None => format!("{org}."),
        };
        let present = (0..text.len())
            .filter(|&i| text.get(i..).is_some_and(|t| t.starts_with(&prefix)))
            .any(|i| {
                text.get(i + prefix.len()..i + prefix.len() + TOKEN_RANDOM_CHARS)
                    .is_some_and(|random| SecretHash::of(random.as_bytes()) == *hash)
            });
        assert!(
            present,
            "parse_token returned a token that is not in the text"
        );
    }
    assert_eq!(found, naive(text), "linear and naive parsers disagree");
});
