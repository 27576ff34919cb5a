//! `parse_token` reads what arrives on the accept URL (a bare token, or a
//! whole link pasted by a person), from anyone, before any account exists.
//! On any text it returns a token or nothing, never panics, and costs time
//! linear in its input, which is at most `MAX_TOKEN_INPUT_BYTES`:
//!
//! - longer input is refused (`None`) without being read;
//! - a token it returns is really in the text: `org.random` appears there,
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

use enlist::OrgId;
use enlist::{MAX_TOKEN_INPUT_BYTES, SecretHash, TOKEN_RANDOM_CHARS, parse_token};
use libfuzzer_sys::fuzz_target;

fn naive_bare(token: &str) -> Option<(OrgId, SecretHash)> {
    let (org, random) = token.rsplit_once('.')?;
    if !org.starts_with("org_")
        || org.len() > 64
        || random.len() != TOKEN_RANDOM_CHARS
        || !random
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return None;
    }
    Some((OrgId::from(org), SecretHash::of(random.as_bytes())))
}

/// The parser before issue 10: quadratic, but the definition of the format.
fn naive(token: &str) -> Option<(OrgId, SecretHash)> {
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
    if let Some((org, hash)) = &found {
        // Every position, overlapping ones included (`match_indices` skips
        // overlapping occurrences: `o.x.o.x.<43>` has two of `o.x.`).
        let prefix = format!("{org}.");
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
