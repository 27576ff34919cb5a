//! The small parsers the issue-14 features read untrusted text with: an
//! invitation's metadata (JSON), its redirect URL (against a fixed
//! allowlist), a domain to claim, an organization's slug and a
//! host-defined permission name. On any text each returns a value or an
//! error and never panics, and what it accepts keeps its promise:
//! metadata within its bounds and read back the same, a redirect under an
//! allowed prefix, a domain and a slug that read back as themselves, and
//! a slug derived from any name that is a valid slug.

#![no_main]

use enlist::{
    MAX_METADATA_BYTES, Metadata, check_custom_permission, check_redirect_url, check_slug,
    normalize_domain, slug_from_name,
};
use libfuzzer_sys::fuzz_target;

const ALLOWED: [&str; 2] = ["https://app.acme.example/welcome", "http://localhost:3000/"];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(m) = Metadata::from_json(text) {
        let json = m.to_json();
        assert!(json.len() <= MAX_METADATA_BYTES, "{} bytes", json.len());
        assert_eq!(Metadata::from_json(&json).ok(), Some(m));
    }
    let allowed: Vec<String> = ALLOWED.iter().map(|s| (*s).to_owned()).collect();
    if let Ok(url) = check_redirect_url("redirect_url", text, &allowed) {
        // Scheme and host compare without case; the path with it.
        let url = match url.split_once("://") {
            Some((scheme, rest)) => {
                let (host, path) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
                format!(
                    "{}://{}{path}",
                    scheme.to_ascii_lowercase(),
                    host.to_ascii_lowercase()
                )
            }
            None => url,
        };
        assert!(
            ALLOWED.iter().any(|p| {
                // An empty path is the root: `http://host:3000` is
                // `http://host:3000/`.
                let base = p.trim_end_matches('/');
                url == *p
                    || url == base
                    || url.starts_with(&format!("{base}/"))
                    || url.starts_with(&format!("{base}?"))
            }),
            "{url} is under no allowed prefix"
        );
        assert!(!url.contains('#') && !url.contains('\\') && !url.contains("/../"));
    }
    if let Ok(domain) = normalize_domain(text) {
        assert_eq!(
            normalize_domain(&domain).ok().as_deref(),
            Some(domain.as_str())
        );
        assert!(domain.is_ascii() && !domain.contains('*') && !domain.contains('@'));
    }
    if let Ok(slug) = check_slug(text) {
        assert_eq!(slug, text);
    }
    let derived = slug_from_name(text);
    assert!(check_slug(&derived).is_ok(), "{derived:?}");
    let _ = check_custom_permission(text);
});
