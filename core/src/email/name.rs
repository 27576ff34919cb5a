//! Display names: what may stand before an address, unquoted and checked.

use super::*;

/// Characters refused in a display name: controls other than tab, line
/// separators, bidi controls and invisible characters (zero-width and
/// format characters, soft hyphen, fillers that show as nothing).
pub(crate) fn refused_in_name(c: char) -> bool {
    let u = u32::from(c);
    (c.is_control() && c != '\t')
        || matches!(
            u,
            0x00AD
                | 0x034F
                | 0x061C
                | 0x115F
                | 0x1160
                | 0x17B4
                | 0x17B5
                | 0x180E
                | 0x200B
                | 0x200E
                | 0x200F
                | 0x2028
                | 0x2029
                | 0x202A..=0x202E
                | 0x2060..=0x206F
                | 0x3164
                | 0xFEFF
                | 0xFFA0
                | 0xFFF9..=0xFFFB
                | 0x1D173..=0x1D17A
        )
        || is_noncharacter(u)
}

/// Unquotes and checks the display name of the address whose key is `key`
/// (`s` is the text before `<`); positions are bytes in `s`, which starts
/// the entry.
pub(super) fn display_name<'s>(
    s: &'s str,
    key: &str,
) -> Result<Option<Cow<'s, str>>, AddressError> {
    if let Some(name) = verbatim_name(s) {
        debug_assert_eq!(
            owned_display_name(s).as_ref().map(Option::as_deref),
            Ok(Some(name)),
            "{s:?}"
        );
        return Ok(Some(Cow::Borrowed(name)));
    }
    if let Some(position) = encoded_word(s) {
        return Err(AddressError::EncodedWord { position });
    }
    if name_is_the_address(s, key)? {
        // `ada@example.com <ada@example.com>`: nothing to show.
        return Ok(None);
    }
    Ok(owned_display_name(s)?.map(Cow::Owned))
}

/// The offset of the first `=?` of `s` when a `?=` follows it: the shape of
/// an RFC 2047 encoded word (`=?charset?encoding?text?=`). One pass each
/// way, whatever `s` holds.
pub(super) fn encoded_word(s: &str) -> Option<usize> {
    let start = s.find("=?")?;
    let end = s.rfind("?=")?;
    (end >= start + 2).then_some(start)
}

/// Characters that end an address-like word in a name.
pub(super) fn ends_name_word(c: char) -> bool {
    c.is_whitespace() || matches!(c, '"' | '<' | '>' | '(' | ')' | ',' | ';' | ':' | '[' | ']')
}

/// Checks the address-like words of a name (an `@` with text on both
/// sides, like `ada@example.com`): each must be the address the entry goes
/// to (key `key`), or the name poses as another address. Returns whether
/// the name is nothing but that address. Positions are bytes in `s`.
///
/// Linear: each `@` looks back no further than the previous word's end.
pub(super) fn name_is_the_address(s: &str, key: &str) -> Result<bool, AddressError> {
    let mut from = 0;
    let mut words = 0;
    let mut last = "";
    while let Some(k) = s.get(from..).and_then(|r| r.find('@')) {
        let at = from + k;
        let start = s[from..at]
            .rfind(ends_name_word)
            .map_or(from, |p| from + p + char_at(s, from + p).len_utf8());
        let end = s[at + 1..]
            .find(ends_name_word)
            .map_or(s.len(), |p| at + 1 + p);
        from = end;
        let word = s[start..end].trim_matches(|c| c == '\'' || c == '.');
        if !word.starts_with('@') && !word.ends_with('@') && word.contains('@') {
            let same = Validator::default()
                .address(word, 0)
                .is_ok_and(|m| m.key == key);
            if !same {
                return Err(AddressError::AddressInName {
                    found: word.to_owned(),
                    position: start
                        + (s[start..end].len()
                            - s[start..end].trim_start_matches(['\'', '.']).len()),
                });
            }
            words += 1;
            last = word;
        }
    }
    let whole = s.trim_matches(is_blank);
    let whole = whole
        .strip_prefix('"')
        .and_then(|w| w.strip_suffix('"'))
        .unwrap_or(whole)
        .trim_matches(is_blank)
        .trim_matches(|c| c == '\'' || c == '.');
    Ok(words == 1 && whole == last)
}

/// The display name in `s` when it is a slice of `s`, as most are:
/// `Ada Lovelace` (words of ordinary characters, single spaces) or
/// `"Lovelace, Ada"` (quoted, no escapes, no tab); `None` for every other
/// name, valid or not, left to [`owned_display_name`].
pub(super) fn verbatim_name(s: &str) -> Option<&str> {
    let t = trim_blank(s);
    // Whether the characters of `t[from..to]` are all kept as they are
    // (with single spaces between words when `spaces`, and `specials`
    // allowed when quoted).
    let verbatim = |from: usize, to: usize, quoted: bool| {
        let b = &t.as_bytes()[..to];
        let mut i = from;
        let mut space = !quoted;
        loop {
            // Steps over the printable ASCII kept as it is, quoted or not.
            let run = skip_to(b, i, NAME_STOP);
            if run > i {
                space = false;
                i = run;
            }
            let Some(&c) = b.get(i) else {
                break;
            };
            if c == b' ' {
                if space && !quoted {
                    return false;
                }
                space = true;
                i += 1;
            } else if c < 0x80 {
                // A comma or a semicolon is kept in quotes. `@` and `=`
                // may start an address or an encoded word, `<` and `>`
                // are refused, controls too: all left to `display_name`.
                if !(quoted && matches!(c, b',' | b';')) {
                    return false;
                }
                space = false;
                i += 1;
            } else {
                let ch = char_at(t, i);
                if is_blank(ch) || refused_in_name(ch) {
                    return false;
                }
                space = false;
                i += ch.len_utf8();
            }
        }
        quoted || !space
    };
    // At most as many bytes as the limit in characters: short enough.
    if t.len() >= 2 && t.starts_with('"') && t.ends_with('"') {
        let name = t[1..t.len() - 1].trim();
        return (!name.is_empty()
            && name.len() <= MAX_DISPLAY_NAME_CHARS
            && verbatim(1, t.len() - 1, true))
        .then_some(name);
    }
    (!t.is_empty() && t.len() <= MAX_DISPLAY_NAME_CHARS && verbatim(0, t.len(), false)).then_some(t)
}

/// [`display_name`] for any name, into a new string.
pub(super) fn owned_display_name(s: &str) -> Result<Option<String>, AddressError> {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    let mut i = 0;
    while i < b.len() {
        if is_plain_name_byte(b[i]) {
            // A run of ordinary ASCII characters, copied at once.
            let j = b[i..]
                .iter()
                .position(|&c| !is_plain_name_byte(c))
                .map_or(b.len(), |n| i + n);
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push_str(&s[i..j]);
            i = j;
            continue;
        }
        let ch = char_at(s, i);
        if ch == '"' {
            let k = closing_quote(b, i + 1).map_err(|_| AddressError::UnbalancedQuote)?;
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            unquote(s, i + 1, k, &mut out)?;
            i = k + 1;
            continue;
        }
        if is_blank(ch) {
            space = true;
            i += ch.len_utf8();
            continue;
        }
        if refused_in_name(ch) {
            return Err(AddressError::DisplayNameControl {
                character: ch,
                position: i,
            });
        }
        if matches!(ch, '@' | ',' | ';' | '<' | '>') {
            return Err(AddressError::DisplayNameSpecial {
                character: ch,
                position: i,
            });
        }
        if space && !out.is_empty() {
            out.push(' ');
        }
        space = false;
        out.push(ch);
        i += ch.len_utf8();
        if ch == '\\' && backslash_len(b, i - 1) == 2 {
            // Outside quotes a backslash is kept with the character it
            // protects (as mail clients show it).
            let next = char_at(s, i);
            if refused_in_name(next) {
                return Err(AddressError::DisplayNameControl {
                    character: next,
                    position: i,
                });
            }
            if matches!(next, '"' | '<' | '>') {
                return Err(AddressError::DisplayNameCharacter {
                    character: next,
                    position: i,
                });
            }
            out.push(next);
            i += next.len_utf8();
        }
    }
    let trimmed = out.trim();
    let len = trimmed.chars().count();
    if len > MAX_DISPLAY_NAME_CHARS {
        return Err(AddressError::DisplayNameTooLong {
            len,
            max: MAX_DISPLAY_NAME_CHARS,
        });
    }
    Ok(if trimmed.is_empty() {
        None
    } else if trimmed.len() == out.len() {
        Some(out)
    } else {
        Some(trimmed.to_owned())
    })
}

/// ASCII characters a display name keeps as they are outside quotes: not
/// a control, space, quote, backslash or one of `@` `,` `;` `<` `>`.
pub(super) fn is_plain_name_byte(c: u8) -> bool {
    (0x20..0x7F).contains(&c)
        && !matches!(c, b' ' | b'"' | b'\\' | b'@' | b',' | b';' | b'<' | b'>')
}

/// Appends the content of the quoted string `s[from..to]`, unescaped.
pub(super) fn unquote(
    s: &str,
    from: usize,
    to: usize,
    out: &mut String,
) -> Result<(), AddressError> {
    let b = s.as_bytes();
    let plain = |c: u8| (0x20..0x7F).contains(&c) && !matches!(c, b'\\' | b'<' | b'>');
    let mut escaped = false;
    let mut i = from;
    while i < to {
        if !escaped && plain(b[i]) {
            // A run of printable ASCII other than backslash, copied at once.
            let j = b[i..to]
                .iter()
                .position(|&c| !plain(c))
                .map_or(to, |n| i + n);
            out.push_str(&s[i..j]);
            i = j;
            continue;
        }
        let ch = char_at(s, i);
        i += ch.len_utf8();
        if ch == '\\' && !escaped {
            escaped = true;
            continue;
        }
        escaped = false;
        if refused_in_name(ch) {
            return Err(AddressError::DisplayNameControl {
                character: ch,
                position: i - ch.len_utf8(),
            });
        }
        if matches!(ch, '"' | '<' | '>') {
            return Err(AddressError::DisplayNameCharacter {
                character: ch,
                position: i - ch.len_utf8(),
            });
        }
        out.push(if ch == '\t' { ' ' } else { ch });
    }
    Ok(())
}
