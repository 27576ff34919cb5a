//! Per-invitation settings (issue 14): the redirect URL an invitation
//! carries and the allowlist of prefixes the host configures; the lifetime
//! an invitation asks for; metadata; the limit of open invitations per
//! inviter.

use super::check_accept_url_base;
use crate::error::{Error, LimitKind, Result};
use crate::metadata::Metadata;

/// At most this many redirect URL prefixes in
/// [`EngineConfig::allowed_redirect_urls`](crate::EngineConfig::allowed_redirect_urls).
pub const MAX_REDIRECT_URLS: usize = 100;

/// A URL split into what the allowlist compares: the origin (scheme and
/// authority, lowercased), the path, and whether anything follows.
struct Parts<'a> {
    origin: String,
    path: &'a str,
    /// A query (`?...`), empty when none.
    query: &'a str,
}

/// The form every redirect URL and prefix shares, on top of
/// [`check_accept_url_base`] (length, no control, space or invisible
/// characters, `https` or loopback `http`, no user name or password): ASCII
/// only (a host that reads like another must come as its punycode), no
/// fragment, no backslash, no empty, `.` or `..` path segment, and no
/// percent-encoded `.`, `/` or `\` (each a way to leave a path prefix
/// after the check).
fn split<'a>(field: &str, url: &'a str) -> Result<Parts<'a>> {
    if let Some(c) = url.chars().find(|c| !c.is_ascii()) {
        return Err(Error::invalid(
            field,
            format!(
                "must be ASCII (found U+{:04X}; write an internationalized host in its xn-- form)",
                c as u32
            ),
        ));
    }
    if url.contains('#') {
        return Err(Error::invalid(field, "must not carry a fragment (#...)"));
    }
    if url.contains('\\') {
        return Err(Error::invalid(field, "must not contain a backslash"));
    }
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| Error::invalid(field, "must be an https:// URL"))?;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (path, query) = match tail.find('?') {
        Some(q) => tail.split_at(q),
        None => (tail, ""),
    };
    let lower = path.to_ascii_lowercase();
    if ["%2e", "%2f", "%5c"].iter().any(|e| lower.contains(e)) {
        return Err(Error::invalid(
            field,
            "must not percent-encode '.', '/' or '\\' in its path",
        ));
    }
    if let Some(p) = path.strip_prefix('/') {
        // A trailing slash leaves one empty last segment, which is fine.
        let segments: Vec<&str> = p.split('/').collect();
        let last = segments.len().saturating_sub(1);
        for (i, seg) in segments.iter().enumerate() {
            if (seg.is_empty() && i != last) || *seg == "." || *seg == ".." {
                return Err(Error::invalid(
                    field,
                    "must not have an empty, '.' or '..' path segment",
                ));
            }
        }
    }
    Ok(Parts {
        origin: format!(
            "{}://{}",
            scheme.to_ascii_lowercase(),
            authority.to_ascii_lowercase()
        ),
        path,
        query,
    })
}

/// Checks the host's redirect URL prefixes and returns them trimmed, without
/// duplicates: each one passes [`check_accept_url_base`] and the redirect
/// URL form (see [`check_redirect_url`]), and has no query.
pub(crate) fn check_redirect_prefixes(prefixes: &[String]) -> Result<Vec<String>> {
    let field = "allowed_redirect_urls";
    if prefixes.len() > MAX_REDIRECT_URLS {
        return Err(Error::LimitExceeded {
            limit: LimitKind::FieldLength,
            max: MAX_REDIRECT_URLS as u64,
            actual: prefixes.len() as u64,
            detail: Some(field.into()),
        });
    }
    let mut out: Vec<String> = Vec::with_capacity(prefixes.len());
    for p in prefixes {
        let p = check_accept_url_base(field, p)?;
        let parts = split(field, &p)?;
        if !parts.query.is_empty() {
            return Err(Error::invalid(field, "a prefix must not carry a query"));
        }
        if !out.contains(&p) {
            out.push(p);
        }
    }
    Ok(out)
}

/// Checks a redirect URL against the host's allowlist `allowed` (already
/// checked by [`EngineConfig::validated`](crate::EngineConfig::validated))
/// and returns it trimmed. The URL must pass [`check_accept_url_base`]
/// (at most 500 characters, `https` or loopback `http`, no user name or
/// password, no control, space or invisible character), be ASCII, carry no
/// fragment, backslash, empty, `.` or `..` path segment or percent-encoded
/// `.`, `/` or `\`, and match one prefix: the same scheme and host (and
/// port) exactly, and a path equal to the prefix's or below it (the
/// prefix's path followed by `/`, or the prefix ends with `/`). A query is
/// allowed.
///
/// ```
/// use enlist::check_redirect_url as check;
/// let allowed = vec!["https://app.acme.example/welcome".to_owned()];
/// assert!(check("redirect_url", "https://app.acme.example/welcome", &allowed).is_ok());
/// assert!(check("redirect_url", "https://app.acme.example/welcome/team?x=1", &allowed).is_ok());
/// for bad in [
///     "https://evil.example/welcome",
///     "https://app.acme.example/welcomeevil",
///     "https://app.acme.example/welcome/../admin",
///     "https://app.acme.example@evil.example/welcome",
///     "//evil.example/welcome",
///     "https://app.acme.example/welcome#frag",
///     "https://аpp.acme.example/welcome", // a Cyrillic "а"
/// ] {
///     assert!(check("redirect_url", bad, &allowed).is_err(), "{bad}");
/// }
/// ```
pub fn check_redirect_url(field: &str, url: &str, allowed: &[String]) -> Result<String> {
    let url = check_accept_url_base(field, url)?;
    let parts = split(field, &url)?;
    let inside = allowed.iter().any(|prefix| {
        let Ok(p) = split(field, prefix) else {
            return false;
        };
        if p.origin != parts.origin {
            return false;
        }
        let base = p.path.trim_end_matches('/');
        match parts.path.strip_prefix(base) {
            Some("") => true,
            Some(rest) => rest.starts_with('/'),
            None => false,
        }
    });
    if !inside {
        return Err(Error::invalid(
            field,
            if allowed.is_empty() {
                "this service allows no redirect URLs (the host lists them in EngineConfig::allowed_redirect_urls)"
                    .to_owned()
            } else {
                "is not under one of the redirect URLs this service allows (EngineConfig::allowed_redirect_urls)".to_owned()
            },
        ));
    }
    Ok(url)
}

/// Both metadata objects of a request, checked against their bounds.
pub(crate) fn check_metadata(
    public: Option<&Metadata>,
    private: Option<&Metadata>,
) -> Result<(Metadata, Metadata)> {
    let check = |field: &str, m: Option<&Metadata>| -> Result<Metadata> {
        m.cloned().unwrap_or_default().validated_for(field)
    };
    Ok((
        check("public_metadata", public)?,
        check("private_metadata", private)?,
    ))
}

/// Bounds a lifetime asked for before any policy is read: at most
/// [`MAX_DURATION_SECS`](crate::MAX_DURATION_SECS), at least one second.
pub(crate) fn bound_lifetime(field: &str, secs: Option<u64>) -> Result<Option<u64>> {
    if let Some(s) = secs {
        crate::policy::check_duration(field, s)?;
        if s == 0 {
            return Err(Error::invalid(field, "must be at least one second"));
        }
    }
    Ok(secs)
}

/// The error for a lifetime outside the organization's bounds.
pub(crate) fn lifetime_out_of_bounds(field: &str, secs: u64, (min, max): (u64, u64)) -> Error {
    Error::invalid(
        field,
        format!(
            "{secs} seconds is outside the organization's bounds: between {min} and {max} seconds \
             (min_invitation_lifetime_secs, max_invitation_lifetime_secs)"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn allowed() -> Vec<String> {
        check_redirect_prefixes(&[
            "https://app.acme.example/welcome".to_owned(),
            "https://app.acme.example:8443/".to_owned(),
            "http://localhost:3000/dev/".to_owned(),
        ])
        .expect("valid prefixes")
    }

    #[test]
    fn redirects_inside_a_prefix_pass() {
        let a = allowed();
        for ok in [
            "https://app.acme.example/welcome",
            "https://app.acme.example/welcome/",
            "https://app.acme.example/welcome/team/42",
            "https://app.acme.example/welcome?next=%2Fteam",
            "https://APP.acme.example/welcome",
            "https://app.acme.example:8443/anything",
            "http://localhost:3000/dev/x",
        ] {
            assert_eq!(
                check_redirect_url("redirect_url", ok, &a).ok().as_deref(),
                Some(ok),
                "{ok}"
            );
        }
    }

    #[test]
    fn open_redirect_attempts_are_refused() {
        let a = allowed();
        for bad in [
            // Another host, or the same host on another port or scheme.
            "https://evil.example/welcome",
            "https://app.acme.example.evil.example/welcome",
            "https://app.acme.example:444/welcome",
            "http://app.acme.example/welcome",
            "https://acme.example/welcome",
            // Scheme-relative and scheme tricks.
            "//evil.example/welcome",
            "/welcome",
            "javascript:alert(1)//app.acme.example/welcome",
            "https:/app.acme.example/welcome",
            // User info before the host.
            "https://app.acme.example@evil.example/welcome",
            "https://app.acme.example:pw@evil.example/welcome",
            // Look-alikes and invisible characters.
            "https://\u{430}pp.acme.example/welcome",
            "https://app.acme.example\u{200B}/welcome",
            "https://app.acme.example/welcome\u{202E}",
            // Out of the path prefix.
            "https://app.acme.example/welcomeevil",
            "https://app.acme.example/welcome/../admin",
            "https://app.acme.example/welcome/./x",
            "https://app.acme.example/welcome/%2e%2e/admin",
            "https://app.acme.example/welcome/%2E%2E/admin",
            "https://app.acme.example/welcome%2f..%2fadmin",
            "https://app.acme.example/welcome\\..\\admin",
            "https://app.acme.example/welcome//evil.example",
            "https://app.acme.example/admin",
            "https://app.acme.example",
            "http://localhost:3000/devx",
            "http://localhost:3001/dev/x",
            // Fragments, spaces, controls, length.
            "https://app.acme.example/welcome#x",
            "https://app.acme.example/welcome x",
            "https://app.acme.example/welcome\r\nLocation: https://evil.example",
            &format!("https://app.acme.example/welcome/{}", "a".repeat(600)),
        ] {
            assert!(
                check_redirect_url("redirect_url", bad, &a).is_err(),
                "{bad:?} was let through"
            );
        }
        assert!(
            check_redirect_url("redirect_url", "https://app.acme.example/welcome", &[]).is_err(),
            "nothing is allowed when the host lists nothing"
        );
    }

    #[test]
    fn prefixes_are_checked_when_the_config_is() {
        for bad in [
            "https://app.acme.example/welcome?x=1",
            "https://app.acme.example/../",
            "http://app.acme.example/",
            "https://user@app.acme.example/",
            "https://app.acme.example/#",
        ] {
            assert!(check_redirect_prefixes(&[bad.to_owned()]).is_err(), "{bad}");
        }
        let many: Vec<String> = (0..=MAX_REDIRECT_URLS)
            .map(|i| format!("https://a{i}.example/"))
            .collect();
        assert!(check_redirect_prefixes(&many).is_err());
    }

    proptest! {
        /// Whatever is appended to an allowed prefix, a URL that passes
        /// stays on the prefix's origin and under its path once a browser
        /// resolves it: no dot segment, no encoded separator, no
        /// backslash, no authority change.
        #[test]
        fn whatever_passes_stays_under_the_prefix(tail in "[a-zA-Z0-9./%@:?#\\\\-]{0,40}") {
            let a = allowed();
            let url = format!("https://app.acme.example/welcome{tail}");
            if let Ok(u) = check_redirect_url("redirect_url", &url, &a) {
                let (before_query, _) = u.split_once('?').unwrap_or((&u, ""));
                let path = before_query
                    .strip_prefix("https://app.acme.example")
                    .expect("same origin");
                prop_assert!(path == "/welcome" || path.starts_with("/welcome/"), "{u}");
                prop_assert!(!path.split('/').any(|s| s == ".." || s == "."), "{u}");
                prop_assert!(!u.contains('#') && !u.contains('\\'), "{u}");
                prop_assert!(!path.to_ascii_lowercase().contains("%2e"), "{u}");
            }
        }

        /// Any host other than the allowed one is refused, whatever path.
        #[test]
        fn other_hosts_are_refused(host in "[a-z0-9.-]{1,30}", path in "/[a-z/]{0,20}") {
            prop_assume!(host != "app.acme.example" && host != "localhost");
            let a = allowed();
            let url = format!("https://{host}/welcome{path}");
            prop_assert!(check_redirect_url("redirect_url", &url, &a).is_err());
        }
    }
}
