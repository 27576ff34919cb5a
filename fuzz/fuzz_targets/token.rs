//! `parse_token` reads what arrives on the accept URL (a bare token, or a
//! whole link pasted by a person): on any text it returns a token or
//! nothing and never panics. A token it returns is really in the text:
//! `org.random` appears there, and the hash is the hash of that random part.

#![no_main]

use enlist::secret::{SecretHash, TOKEN_RANDOM_CHARS, parse_token};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some((org, hash)) = parse_token(text) {
        let prefix = format!("{org}.");
        let found = text.match_indices(&prefix).any(|(i, _)| {
            text.get(i + prefix.len()..i + prefix.len() + TOKEN_RANDOM_CHARS)
                .is_some_and(|random| SecretHash::of(random.as_bytes()) == hash)
        });
        assert!(found, "parse_token returned a token that is not in the text");
    }
});
