//! Validation: the checks of one address (local part, domain, IDNA) and the key it is found by.

use super::*;

/// A checked domain that needed IDNA (cached per paste).
#[derive(Clone, Debug)]
pub(super) struct SlowDomain {
    ascii: String,
    /// The domain as [`Mailbox::address`] shows it: the UTS #46 Unicode
    /// form for a domain typed with non-ASCII characters, the ASCII
    /// lowercase for one typed in ASCII (with `xn--` labels).
    lower: String,
    confusable: bool,
    /// Whether `ascii` passes `email_address::EmailAddress::is_valid_domain`
    /// (set when cached).
    crate_ok: bool,
}

/// The validator, with a per-paste cache of internationalized domains.
#[derive(Default)]
pub(super) struct Validator<'t> {
    domains: HashMap<&'t str, Result<SlowDomain, AddressError>, RandomState>,
}

impl<'t> Validator<'t> {
    /// One fragment whose first `<...>` is `angle` (what [`find_angle`]
    /// returns); error positions are characters in `text`.
    pub(super) fn entry(
        &mut self,
        text: &'t str,
        angle: Option<(usize, usize)>,
    ) -> Result<Mailbox<'t>, AddressError> {
        self.entry_bytes(text, angle).map_err(|e| e.in_chars(text))
    }

    /// One fragment whose first `<...>` is `angle`; error positions are
    /// bytes in `text`.
    pub(super) fn entry_bytes(
        &mut self,
        text: &'t str,
        angle: Option<(usize, usize)>,
    ) -> Result<Mailbox<'t>, AddressError> {
        let Some((lt, gt)) = angle else {
            return self.address(text, 0);
        };
        let rest = trim_blank_start(&text[gt + 1..]);
        if !rest.is_empty() {
            return Err(if rest.starts_with('(') {
                AddressError::Comment
            } else if let Some((second, _)) = find_angle(rest) {
                AddressError::TwoAddresses {
                    position: text.len() - rest.len() + second,
                }
            } else {
                AddressError::TrailingText
            });
        }
        let raw_name = &text[..lt];
        // Most names are a slice of the entry and need no more checks.
        let verbatim = verbatim_name(raw_name);
        let inner = &text[lt + 1..gt];
        let trimmed = trim_blank_start(inner);
        let lead = inner.len() - trimmed.len();
        let mut m = self.address(trim_blank_end(trimmed), lt + 1 + lead)?;
        m.display_name = match verbatim {
            Some(name) => {
                debug_assert_eq!(
                    display_name(raw_name, &m.key)
                        .as_ref()
                        .map(|n| n.as_deref()),
                    Ok(Some(name)),
                    "{raw_name:?}"
                );
                Some(Cow::Borrowed(name))
            }
            None => display_name(raw_name, &m.key)?,
        };
        Ok(m)
    }

    /// A bare address starting at byte `base` of the entry.
    pub(super) fn address(
        &mut self,
        addr: &'t str,
        base: usize,
    ) -> Result<Mailbox<'t>, AddressError> {
        let Some(at) = plain_address(addr.as_bytes()) else {
            return self.any_address(addr, base);
        };
        // What `any_address` makes of a plain address, in one pass: no
        // warnings, the domain lowercased, the key all lowercase; each a
        // slice of `addr` when it is already so (each part looked at once
        // for capitals).
        let (local, domain) = (&addr[..at], &addr[at + 1..]);
        let upper_domain = has_ascii_uppercase(domain);
        let upper = upper_domain || has_ascii_uppercase(local);
        let m = Mailbox {
            display_name: None,
            address: if upper_domain {
                Cow::Owned(joined(local, &domain.to_ascii_lowercase()))
            } else {
                Cow::Borrowed(addr)
            },
            key: if upper {
                Cow::Owned(addr.to_ascii_lowercase())
            } else {
                Cow::Borrowed(addr)
            },
            ascii_domain: if upper_domain {
                Cow::Owned(domain.to_ascii_lowercase())
            } else {
                Cow::Borrowed(domain)
            },
            warnings: Vec::new(),
        };
        debug_assert_eq!(Ok(&m), self.any_address(addr, base).as_ref(), "{addr:?}");
        Ok(m)
    }

    /// [`Self::address`] for any text.
    fn any_address(&mut self, addr: &'t str, base: usize) -> Result<Mailbox<'t>, AddressError> {
        let b = addr.as_bytes();
        if b.is_empty() {
            return Err(AddressError::Empty);
        }
        let mut at = None;
        let mut second_at = None;
        let mut non_ascii = false;
        let (mut space, mut quote, mut paren, mut lt, mut gt) = (None, None, None, None, None);
        let mut i = 0;
        loop {
            i = skip_to(b, i, ADDRESS_STOP);
            let Some(&c) = b.get(i) else {
                break;
            };
            match c {
                0..=0x1F | 0x7F => {
                    return Err(AddressError::ControlCharacter {
                        character: char::from(c),
                        position: base + i,
                    });
                }
                b'@' => {
                    if at.is_none() {
                        at = Some(i);
                    } else if second_at.is_none() {
                        second_at = Some(i);
                    }
                }
                b' ' => {
                    space.get_or_insert(i);
                }
                b'"' => {
                    quote.get_or_insert(i);
                }
                b'(' | b')' => {
                    paren.get_or_insert(i);
                }
                b'<' => {
                    lt.get_or_insert(i);
                }
                b'>' => {
                    gt.get_or_insert(i);
                }
                0x80.. => non_ascii = true,
                _ => {}
            }
            i += 1;
        }
        // No Latin-1 letter is unsafe
        // (`tests::latin1_local_parts_take_the_short_path`).
        if non_ascii && !is_latin1_letters(b) {
            if let Some((i, c)) = addr
                .char_indices()
                .find(|&(_, c)| !c.is_ascii() && is_unsafe_in_address(c))
            {
                return Err(if c.is_control() {
                    AddressError::ControlCharacter {
                        character: c,
                        position: base + i,
                    }
                } else {
                    AddressError::UnsafeCharacter {
                        character: c,
                        position: base + i,
                    }
                });
            }
        }
        let Some(at) = at else {
            if let Some((i, c)) = addr
                .char_indices()
                .find(|&(_, c)| matches!(c, '\u{FF20}' | '\u{FE6B}'))
            {
                return Err(AddressError::LookalikeAt {
                    character: c,
                    position: base + i,
                });
            }
            return Err(AddressError::MissingAt);
        };
        if let Some(q) = quote {
            return Err(if q < at || second_at.is_some() {
                AddressError::QuotedLocalPart
            } else {
                AddressError::InvalidCharacter {
                    character: '"',
                    position: base + q,
                    part: AddressPart::Domain,
                }
            });
        }
        if paren.is_some() {
            return Err(AddressError::Comment);
        }
        if lt.is_some() {
            return Err(AddressError::MissingClosingBracket);
        }
        if let Some(p) = gt {
            return Err(AddressError::UnexpectedBracket {
                character: '>',
                position: base + p,
            });
        }
        if let Some(p) = space {
            return Err(AddressError::Whitespace { position: base + p });
        }
        if let Some(p) = second_at {
            return Err(AddressError::MultipleAt { position: base + p });
        }
        let (local, domain) = (&addr[..at], &addr[at + 1..]);
        if local.is_empty() {
            return Err(AddressError::EmptyLocalPart);
        }
        if domain.is_empty() {
            return Err(AddressError::EmptyDomain);
        }
        if domain.starts_with('[') {
            return Err(AddressError::DomainLiteral);
        }
        let mut warnings = Vec::new();
        let local_ascii = check_local(local, base, &mut warnings)?;

        // The domain: ASCII fast path, IDNA (cached) otherwise. `crate_ok`
        // is whether `ascii_domain` passes the email_address crate, when that
        // is already known.
        let dbase = base + at + 1;
        let mut crate_ok = None;
        let (address, ascii_domain) = if domain.is_ascii() {
            let plain = is_plain_ascii_domain(domain.as_bytes());
            if !plain {
                for (i, &c) in domain.as_bytes().iter().enumerate() {
                    if c != b'.' && ASCII_CLASS[usize::from(c)] & LDH == 0 {
                        return Err(AddressError::InvalidCharacter {
                            character: char::from(c),
                            position: dbase + i,
                            part: AddressPart::Domain,
                        });
                    }
                }
            }
            let lower = ascii_lowercase(domain);
            if plain {
                // Letters, digits, hyphens and well-formed labels: see
                // `is_plain_ascii_domain` for why the crate accepts it.
                debug_assert_eq!(check_labels(&lower, domain), Ok(false));
                crate_ok = Some(true);
            } else if check_labels(&lower, domain)? {
                let slow = self.slow_domain(domain).map_err(|e| e.shifted(dbase))?;
                push_domain_warnings(&mut warnings, slow);
                // `slow.ascii` is `lower` for an ASCII domain.
                crate_ok = Some(slow.crate_ok);
            }
            (with_lower_domain(addr, at), lower)
        } else {
            let slow = self.slow_domain(domain).map_err(|e| e.shifted(dbase))?;
            push_domain_warnings(&mut warnings, slow);
            crate_ok = Some(slow.crate_ok);
            let address = if slow.lower == domain {
                Cow::Borrowed(addr)
            } else {
                Cow::Owned(joined(local, &slow.lower))
            };
            (address, Cow::Owned(slow.ascii.clone()))
        };

        // Lengths as typed, as shown (the mapped domain may be longer than
        // the typed one: `㍻` is `平成`) and in ASCII form.
        let typed = local.len() + 1 + domain.len();
        let ascii_len = local.len() + 1 + ascii_domain.len();
        let longest = typed.max(ascii_len).max(address.len());
        if longest > MAX_ADDRESS_LEN {
            return Err(AddressError::AddressTooLong {
                len: longest,
                max: MAX_ADDRESS_LEN,
            });
        }

        // The key: lowercase local part (its length may change), ASCII
        // domain; `addr` itself when it is already that.
        let key = if local_ascii && !has_ascii_uppercase(local) && ascii_domain.as_ref() == domain {
            Cow::Borrowed(addr)
        } else {
            let mut key = String::with_capacity(ascii_len);
            if local_ascii {
                key.push_str(local);
                key.make_ascii_lowercase();
            } else {
                local_key(local, &mut key);
                if key.len() > MAX_LOCAL_PART_LEN {
                    return Err(AddressError::LocalPartTooLong {
                        len: key.len(),
                        max: MAX_LOCAL_PART_LEN,
                    });
                }
            }
            key.push('@');
            key.push_str(&ascii_domain);
            Cow::Owned(key)
        };
        if key.len() > MAX_ADDRESS_LEN {
            return Err(AddressError::AddressTooLong {
                len: key.len(),
                max: MAX_ADDRESS_LEN,
            });
        }

        // The email_address crate as a safety net, on what it reads reliably:
        // an ASCII local part and the ASCII domain.
        //
        // An ASCII local part that passed `check_local` always passes the
        // crate: 1 to 64 octets, dot-separated non-empty runs of RFC 5322
        // `atext`, which is the crate's ASCII `atext` character for
        // character, and no `"` (so not read as quoted). Not asked again.
        debug_assert!(
            !local_ascii || email_address::EmailAddress::is_valid_local_part(local),
            "{local:?}"
        );
        let domain_ok =
            crate_ok.unwrap_or_else(|| email_address::EmailAddress::is_valid_domain(&ascii_domain));
        debug_assert_eq!(
            domain_ok,
            email_address::EmailAddress::is_valid_domain(&ascii_domain),
            "{ascii_domain:?}"
        );
        if !domain_ok {
            return Err(rejected(&key));
        }

        Ok(Mailbox {
            display_name: None,
            address,
            key,
            ascii_domain,
            warnings,
        })
    }

    /// A domain that needs IDNA: non-ASCII, or with `xn--` labels. Error
    /// positions are bytes in `domain`.
    fn slow_domain(&mut self, domain: &'t str) -> Result<&SlowDomain, AddressError> {
        let slot = match self.domains.entry(domain) {
            Entry::Occupied(o) => o.into_mut(),
            Entry::Vacant(v) => v.insert(
                if domain.is_ascii() {
                    punycode_domain(&domain.to_ascii_lowercase())
                } else {
                    unicode_domain(domain)
                }
                .map(|mut d| {
                    d.crate_ok = email_address::EmailAddress::is_valid_domain(&d.ascii);
                    d
                }),
            ),
        };
        slot.as_ref().map_err(Clone::clone)
    }
}

pub(super) fn rejected(address: &str) -> AddressError {
    let reason = match email_address::EmailAddress::parse_with_options(
        address,
        email_address::Options::default()
            .without_display_text()
            .without_domain_literal(),
    ) {
        Ok(_) => "refused by the email_address crate".to_owned(),
        Err(e) => e.to_string(),
    };
    AddressError::Rejected { reason }
}

/// `s` in ASCII lowercase: `s` itself when it has no ASCII capital.
pub(super) fn ascii_lowercase(s: &str) -> Cow<'_, str> {
    if has_ascii_uppercase(s) {
        Cow::Owned(s.to_ascii_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

/// Whether `s` has an ASCII capital. Without an early exit, so that the
/// loop is vectorized: the strings are short, and most have no capital.
pub(super) fn has_ascii_uppercase(s: &str) -> bool {
    s.bytes()
        .fold(0u8, |up, c| up | u8::from(c.wrapping_sub(b'A') < 26))
        != 0
}

/// The address `addr` (with its `@` at byte `at`) with its ASCII domain
/// lowercased: `addr` itself when the domain has no capital.
pub(super) fn with_lower_domain(addr: &str, at: usize) -> Cow<'_, str> {
    let domain = &addr[at + 1..];
    if has_ascii_uppercase(domain) {
        Cow::Owned(joined(&addr[..at], &domain.to_ascii_lowercase()))
    } else {
        Cow::Borrowed(addr)
    }
}

/// `local@domain`, allocated once.
pub(super) fn joined(local: &str, domain: &str) -> String {
    let mut s = String::with_capacity(local.len() + 1 + domain.len());
    s.push_str(local);
    s.push('@');
    s.push_str(domain);
    s
}

pub(super) fn push_domain_warnings(warnings: &mut Vec<AddressWarning>, d: &SlowDomain) {
    warnings.push(AddressWarning::InternationalDomain);
    if d.confusable && !warnings.contains(&AddressWarning::Confusable) {
        warnings.push(AddressWarning::Confusable);
    }
}

/// Checks a local part; returns whether it is ASCII.
pub(super) fn check_local(
    local: &str,
    base: usize,
    warnings: &mut Vec<AddressWarning>,
) -> Result<bool, AddressError> {
    let b = local.as_bytes();
    if b.len() > MAX_LOCAL_PART_LEN {
        return Err(AddressError::LocalPartTooLong {
            len: b.len(),
            max: MAX_LOCAL_PART_LEN,
        });
    }
    let part = AddressPart::LocalPart;
    if b[0] == b'.' {
        return Err(AddressError::LeadingDot { part });
    }
    if b[b.len() - 1] == b'.' {
        return Err(AddressError::TrailingDot { part });
    }
    let mut ascii = true;
    let mut equals = false;
    let mut i = 0;
    loop {
        // Step over `atext`; stop at dots, `=`, non-ASCII and anything
        // else.
        i = skip_to(b, i, LOCAL_STOP);
        let Some(&c) = b.get(i) else {
            break;
        };
        if c == b'.' {
            // Not the last byte (checked above).
            if b.get(i + 1) == Some(&b'.') {
                return Err(AddressError::ConsecutiveDots { part });
            }
        } else if c >= 0x80 {
            ascii = false;
        } else if c == b'=' {
            equals = true;
        } else {
            return Err(AddressError::InvalidCharacter {
                character: char::from(c),
                position: base + i,
                part,
            });
        }
        i += 1;
    }
    if equals {
        if let Some(p) = encoded_word(local) {
            return Err(AddressError::EncodedWord { position: base + p });
        }
    }
    if !ascii {
        if is_latin1_letters(b) {
            // `müller`, `josé`: no combining mark, nothing canonically
            // special, one script and no compatibility form, so what
            // `non_ascii_local` finds is the warning alone
            // (`tests::latin1_local_parts_take_the_short_path` checks it).
            warnings.push(AddressWarning::InternationalLocalPart);
        } else {
            non_ascii_local(local, base, warnings)?;
        }
    }
    Ok(ascii)
}

/// The checks of a local part with non-ASCII characters that the ASCII
/// ones leave: no leading combining mark, no character canonically `;`,
/// `<` or `>`; its warnings.
pub(super) fn non_ascii_local(
    local: &str,
    base: usize,
    warnings: &mut Vec<AddressWarning>,
) -> Result<(), AddressError> {
    let first = char_at(local, 0);
    if is_leading_mark(first) {
        return Err(AddressError::LeadingCombiningMark {
            character: first,
            position: base,
        });
    }
    if let Some((i, c)) = local
        .char_indices()
        .find(|&(_, c)| is_canonically_special(c))
    {
        return Err(AddressError::InvalidCharacter {
            character: c,
            position: base + i,
            part: AddressPart::LocalPart,
        });
    }
    warnings.push(AddressWarning::InternationalLocalPart);
    if is_confusable(local) {
        warnings.push(AddressWarning::Confusable);
    }
    Ok(())
}

/// Whether `b` holds nothing but ASCII and Latin-1 letters (`À`..`ÿ` but
/// `×` and `÷`, that is U+00C0..=U+00FF but U+00D7 and U+00F7), as in
/// `müller`, `josé` or `université.fr`.
pub(super) fn is_latin1_letters(b: &[u8]) -> bool {
    let mut k = 0;
    while k < b.len() {
        match b[k] {
            0..0x80 => k += 1,
            // U+00C0..=U+00FF is C3 80..=C3 BF; U+00D7 is C3 97, U+00F7 C3 B7.
            0xC3 if matches!(b.get(k + 1), Some(&t) if (0x80..0xC0).contains(&t) && t != 0x97 && t != 0xB7) =>
            {
                k += 2;
            }
            _ => return false,
        }
    }
    true
}

/// Appends the normalized form of a non-ASCII local part to `out`: UTS #46
/// mapping (lowercase, NFC, compatibility forms folded, as for domain
/// labels) when the result is still a valid local part, plain lowercasing
/// otherwise (for example `＠`, which would map to `@`, or a dot-separated
/// piece that looks like punycode).
pub(super) fn local_key(local: &str, out: &mut String) {
    if latin1_local_key(local, out) {
        debug_assert_eq!(out.as_str(), uts46_local_key(local), "{local:?}");
        return;
    }
    out.push_str(&uts46_local_key(local));
}

/// [`local_key`] through the `idna` crate.
pub(super) fn uts46_local_key(local: &str) -> String {
    let xn = |s: &str| {
        s.split('.')
            .any(|p| p.len() >= 4 && p.as_bytes()[..4].eq_ignore_ascii_case(b"xn--"))
    };
    if !xn(local) {
        let (mapped, result) =
            Uts46::new().to_unicode(local.as_bytes(), AsciiDenyList::EMPTY, Hyphens::Allow);
        if result.is_ok() && !xn(&mapped) && is_local_form(&mapped) {
            return mapped.into_owned();
        }
    }
    // Character by character, not `str::to_lowercase`, whose final-sigma
    // rule depends on the neighbours: `ΑΣ＠` and `ΑΣ＠x` would lowercase
    // their Σ differently, and a key must not depend on what follows.
    local.chars().flat_map(char::to_lowercase).collect()
}

/// [`local_key`] without the `idna` crate for a checked local part whose
/// non-ASCII characters are all Latin-1 letters (`À`..`ÿ` but `×` and `÷`),
/// as in `müller` or `josé`: appends it lowercased to `out` and returns
/// true, or returns false (and appends nothing) for any other local part.
///
/// For such text UTS #46 maps the uppercase letters (ASCII and `À`..`Þ`) to
/// lowercase and keeps everything else (`ß` too: non-transitional), the
/// result is already NFC (Latin-1 letters are precomposed starters that
/// never compose with a neighbour), it has no right-to-left or joiner
/// characters (so no bidi or CONTEXTJ rule applies), and it is still a
/// valid local part with no `xn--` piece if the input was one and had none.
/// `tests::latin1_local_key_agrees_with_uts46` checks it against the crate.
pub(super) fn latin1_local_key(local: &str, out: &mut String) -> bool {
    let b = local.as_bytes();
    if !is_latin1_letters(b) {
        return false;
    }
    // A piece starting with `xn--` would be decoded as punycode.
    if b.split(|&c| c == b'.')
        .any(|p| p.len() >= 4 && p[..4].eq_ignore_ascii_case(b"xn--"))
    {
        return false;
    }
    out.reserve(b.len());
    for c in local.chars() {
        out.push(match c {
            'A'..='Z' | '\u{C0}'..='\u{DE}' => char::from_u32(u32::from(c) + 0x20).unwrap_or(c),
            _ => c,
        });
    }
    true
}

/// Whether `s` passes the local-part character and dot rules.
pub(super) fn is_local_form(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0] != b'.'
        && b[b.len() - 1] != b'.'
        && !s.contains("..")
        && b.iter()
            .all(|&c| c >= 0x80 || c == b'.' || ASCII_CLASS[usize::from(c)] & ATEXT != 0)
        && !is_leading_mark(char_at(s, 0))
        && !s
            .chars()
            .any(|c| !c.is_ascii() && (is_unsafe_in_address(c) || is_canonically_special(c)))
}

/// The `@` of a plain ASCII address: at most [`MAX_ADDRESS_LEN`] octets, a
/// local part of at most [`MAX_LOCAL_PART_LEN`] octets made of non-empty
/// runs of RFC 5322 `atext` other than `=` separated by single dots, one
/// `@`, and a plain domain ([`is_plain_ascii_domain`]).
///
/// Such an address passes every check of `Validator::any_address` without
/// a warning (no control, space, quote, parenthesis, bracket or second `@`;
/// the local part checks; the domain checks without IDNA; the key is as
/// long as the address), and the `email_address` crate accepts its local
/// part and domain (see `any_address` and [`is_plain_ascii_domain`]).
pub(super) fn plain_address(b: &[u8]) -> Option<usize> {
    if b.len() > MAX_ADDRESS_LEN {
        return None;
    }
    let mut i = 0;
    let at = loop {
        let j = skip_to(b, i, LOCAL_STOP);
        if j == i {
            // Empty: a leading, trailing or doubled dot, or no local part.
            return None;
        }
        match b.get(j) {
            Some(b'.') => i = j + 1,
            Some(b'@') => break j,
            // Anything else, `=` too (a possible encoded word), is left to
            // `Validator::any_address`.
            _ => return None,
        }
    };
    (at <= MAX_LOCAL_PART_LEN && is_plain_ascii_domain(&b[at + 1..])).then_some(at)
}

/// Whether an ASCII domain is plain: letters, digits, hyphens and dots
/// only, at most [`MAX_DOMAIN_LEN`] octets, at least two labels of 1 to
/// [`MAX_LABEL_LEN`] octets, none starting or ending with a hyphen or with
/// hyphens in its 3rd and 4th positions (so no punycode), and the last
/// ending with a letter.
///
/// These are exactly the domains that pass the letter-digit-hyphen check
/// and for which [`check_labels`] returns `Ok(false)` (no error, no
/// punycode), in one pass. Such a domain, lowercased, also passes
/// `email_address::EmailAddress::is_valid_domain`: it is not empty, at most
/// 254 octets, not a `[literal]`, and every label is 1 to 63 octets of
/// `atext` (letters, digits, hyphens) starting and ending with a letter or
/// digit.
pub(super) fn is_plain_ascii_domain(d: &[u8]) -> bool {
    fn plain_label(l: &[u8]) -> bool {
        match (l.first(), l.last()) {
            (Some(&first), Some(&last)) => {
                l.len() <= MAX_LABEL_LEN
                    && first != b'-'
                    && last != b'-'
                    && !(l.len() >= 4 && l[2] == b'-' && l[3] == b'-')
            }
            _ => false,
        }
    }
    if d.len() > MAX_DOMAIN_LEN {
        return false;
    }
    let mut start = 0;
    loop {
        // A label: letters, digits and hyphens up to a dot, the end, or
        // anything else (refused).
        let end = skip_to(d, start, DOMAIN_STOP);
        let label = &d[start..end];
        if !plain_label(label) {
            return false;
        }
        match d.get(end) {
            Some(b'.') => start = end + 1,
            Some(_) => return false,
            None => return start > 0 && label.last().is_some_and(u8::is_ascii_alphabetic),
        }
    }
}

/// Structure of an ASCII (or IDNA-encoded) domain; returns whether it has
/// punycode (`xn--`) labels. `typed` is the domain as typed, for messages.
pub(super) fn check_labels(ascii: &str, typed: &str) -> Result<bool, AddressError> {
    let b = ascii.as_bytes();
    let part = AddressPart::Domain;
    if b.len() > MAX_DOMAIN_LEN {
        return Err(AddressError::DomainTooLong {
            len: b.len(),
            max: MAX_DOMAIN_LEN,
        });
    }
    match (b.first(), b.last()) {
        (Some(b'.'), _) => return Err(AddressError::LeadingDot { part }),
        (_, Some(b'.')) => return Err(AddressError::TrailingDot { part }),
        (None, _) => return Err(AddressError::EmptyDomain),
        _ => {}
    }
    let mut labels = 0;
    let mut punycode = false;
    let mut all_numeric = true;
    let mut last = "";
    for label in ascii.split('.') {
        let l = label.as_bytes();
        if l.is_empty() {
            return Err(AddressError::ConsecutiveDots { part });
        }
        if l.len() > MAX_LABEL_LEN {
            return Err(AddressError::LabelTooLong {
                label: label.to_owned(),
                len: l.len(),
                max: MAX_LABEL_LEN,
            });
        }
        if l[0] == b'-' || l[l.len() - 1] == b'-' {
            return Err(AddressError::LabelHyphen {
                label: label.to_owned(),
            });
        }
        if l.len() >= 4 && l[2] == b'-' && l[3] == b'-' {
            if l[..2].eq_ignore_ascii_case(b"xn") {
                punycode = true;
            } else {
                return Err(AddressError::ReservedLabel {
                    label: label.to_owned(),
                });
            }
        }
        all_numeric &= l.iter().all(u8::is_ascii_digit);
        labels += 1;
        last = label;
    }
    if labels < 2 {
        return Err(AddressError::DomainNoDot {
            domain: typed.to_owned(),
        });
    }
    if last.bytes().all(|c| c.is_ascii_digit()) {
        return Err(if labels == 4 && all_numeric {
            AddressError::IpAddressDomain
        } else {
            AddressError::NumericTld {
                tld: last.to_owned(),
            }
        });
    }
    if !last.as_bytes()[last.len() - 1].is_ascii_alphabetic() {
        return Err(AddressError::InvalidTld {
            tld: last.to_owned(),
        });
    }
    Ok(punycode)
}

/// An ASCII domain with `xn--` labels (lowercase, structure checked).
pub(super) fn punycode_domain(lower: &str) -> Result<SlowDomain, AddressError> {
    let uts46 = Uts46::new();
    let (unicode, result) = uts46.to_unicode(lower.as_bytes(), AsciiDenyList::STD3, Hyphens::Allow);
    if result.is_err() {
        let bad = lower
            .split('.')
            .find(|l| {
                l.starts_with("xn--")
                    && uts46
                        .to_unicode(l.as_bytes(), AsciiDenyList::STD3, Hyphens::Allow)
                        .1
                        .is_err()
            })
            .or_else(|| lower.split('.').find(|l| l.starts_with("xn--")))
            .unwrap_or(lower);
        return Err(AddressError::InvalidPunycode {
            label: bad.to_owned(),
        });
    }
    check_unicode_labels(unicode.split('.').zip(lower.split('.')))?;
    check_decoded_labels(&unicode, lower)?;
    Ok(SlowDomain {
        ascii: lower.to_owned(),
        lower: lower.to_owned(),
        confusable: unicode.split('.').any(is_confusable),
        crate_ok: false,
    })
}

/// A domain with non-ASCII characters; error positions are bytes in it.
pub(super) fn unicode_domain(domain: &str) -> Result<SlowDomain, AddressError> {
    if domain.len() > MAX_DOMAIN_UTF8_LEN {
        return Err(AddressError::DomainTooLong {
            len: domain.len(),
            max: MAX_DOMAIN_UTF8_LEN,
        });
    }
    for (i, &c) in domain.as_bytes().iter().enumerate() {
        if c < 0x80 && c != b'.' && ASCII_CLASS[usize::from(c)] & LDH == 0 {
            return Err(AddressError::InvalidCharacter {
                character: char::from(c),
                position: i,
                part: AddressPart::Domain,
            });
        }
    }
    let uts46 = Uts46::new();
    let to_ascii = |s: &str| {
        uts46
            .to_ascii(
                s.as_bytes(),
                AsciiDenyList::STD3,
                Hyphens::Allow,
                DnsLength::Ignore,
            )
            .map(|c| c.into_owned())
    };
    // A character that IDNA refuses on its own, or that turns into a dot
    // (`⒈` is "1."), is reported as such.
    let bad_char = || {
        domain.char_indices().find(|&(_, c)| {
            !c.is_ascii()
                && !is_dot_like(c)
                && !to_ascii(c.encode_utf8(&mut [0; 4])).is_ok_and(|a| !a.contains('.'))
        })
    };
    let Ok(ascii) = to_ascii(domain) else {
        return Err(match bad_char() {
            Some((i, c)) => AddressError::InvalidCharacter {
                character: c,
                position: i,
                part: AddressPart::Domain,
            },
            None => AddressError::InvalidInternationalDomain,
        });
    };
    if domain.split(is_dot_like).count() != ascii.split('.').count() {
        return Err(match bad_char() {
            Some((i, c)) => AddressError::InvalidCharacter {
                character: c,
                position: i,
                part: AddressPart::Domain,
            },
            None => AddressError::InvalidInternationalDomain,
        });
    }
    check_labels(&ascii, domain)?;
    // The domain as shown is the Unicode form of the same mapping, not
    // `str::to_lowercase`: lowercasing is context-dependent (a capital
    // sigma ending a word becomes a final sigma, which UTS #46 keeps as a
    // distinct letter, while the mapping turns every capital sigma into σ),
    // so the address would parse again to another key.
    let unicode = mapped_domain(&uts46, domain, &ascii)?;
    // Hyphen rules on the mapped labels, as the address will be read again
    // (`㍻--a` is `平成--a`).
    check_unicode_labels(unicode.split('.').zip(ascii.split('.')))?;
    check_decoded_labels(&unicode, domain)?;
    if unicode.len() > MAX_DOMAIN_UTF8_LEN {
        return Err(AddressError::DomainTooLong {
            len: unicode.len(),
            max: MAX_DOMAIN_UTF8_LEN,
        });
    }
    Ok(SlowDomain {
        // As typed (fullwidth forms) and as shown (labels typed as
        // punycode, decoded).
        confusable: domain.split(is_dot_like).any(is_confusable)
            || unicode.split('.').any(is_confusable),
        lower: unicode,
        ascii,
        crate_ok: false,
    })
}

/// The UTS #46 Unicode form of a domain whose ASCII form is `ascii`
/// (mapped: lowercase, NFC, compatibility forms folded, full stops turned
/// into dots; punycode labels decoded), in one pass of the `idna` crate
/// that also checks it yields `ascii` again.
pub(super) fn mapped_domain(
    uts46: &Uts46,
    domain: &str,
    ascii: &str,
) -> Result<String, AddressError> {
    let mut unicode = String::with_capacity(domain.len());
    let mut ascii_again = String::new();
    let done = uts46.process(
        domain.as_bytes(),
        AsciiDenyList::STD3,
        Hyphens::Allow,
        ErrorPolicy::FailFast,
        |_, _, _| true,
        &mut unicode,
        Some(&mut ascii_again),
    );
    let ascii_again = match done {
        Ok(ProcessingSuccess::Passthrough) => domain,
        Ok(ProcessingSuccess::WroteToSink) if ascii_again.is_empty() => unicode.as_str(),
        Ok(ProcessingSuccess::WroteToSink) => ascii_again.as_str(),
        Err(_) => return Err(AddressError::InvalidInternationalDomain),
    };
    if ascii_again != ascii {
        // Not expected: both come from the same mapping.
        return Err(AddressError::InvalidInternationalDomain);
    }
    Ok(match done {
        Ok(ProcessingSuccess::Passthrough) => domain.to_owned(),
        _ => unicode,
    })
}

/// Refuses a domain whose Unicode form holds a character refused in a
/// typed address (invisible, blank, private-use...): a punycode label
/// (`xn--...`) decodes to characters the typed-character checks never saw
/// (found by the paste fuzz target: a label decoding to U+2800 BRAILLE
/// PATTERN BLANK). `typed` is the domain as typed; the position is the
/// start of the label there.
pub(super) fn check_decoded_labels(unicode: &str, typed: &str) -> Result<(), AddressError> {
    let mut offset = 0;
    for (label, typed_label) in unicode.split('.').zip(typed.split(is_dot_like)) {
        if let Some(c) = label
            .chars()
            .find(|&c| !c.is_ascii() && is_unsafe_in_address(c))
        {
            return Err(AddressError::UnsafeCharacter {
                character: c,
                position: offset,
            });
        }
        offset += typed_label.len()
            + typed[offset + typed_label.len()..]
                .chars()
                .next()
                .map_or(0, char::len_utf8);
    }
    Ok(())
}

/// Hyphen rules on the Unicode form of `xn--` labels (`(unicode, ascii)`
/// pairs): no hyphen first or last, none in both 3rd and 4th positions.
pub(super) fn check_unicode_labels<'a>(
    pairs: impl Iterator<Item = (&'a str, &'a str)>,
) -> Result<(), AddressError> {
    for (unicode, ascii) in pairs {
        if !ascii.starts_with("xn--") {
            continue;
        }
        let mut chars = unicode.chars();
        let first = chars.next();
        if first.is_some_and(is_hyphen_like) || unicode.chars().last().is_some_and(is_hyphen_like) {
            return Err(AddressError::LabelHyphen {
                label: unicode.to_owned(),
            });
        }
        let mut rest = chars.skip(1);
        if rest.next().is_some_and(is_hyphen_like) && rest.next().is_some_and(is_hyphen_like) {
            return Err(AddressError::ReservedLabel {
                label: unicode.to_owned(),
            });
        }
    }
    Ok(())
}
