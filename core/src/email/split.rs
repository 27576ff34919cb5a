//! Splitting a paste into fragments: the byte-level scanner that finds where one recipient ends and the next begins.

use super::*;

/// Separators that always end an entry, even after a name.
pub(super) fn is_hard_separator_byte(c: u8) -> bool {
    matches!(c, b',' | b';' | b'\n' | b'\r')
}

/// ASCII characters that end a word.
pub(super) fn is_separator_byte(c: u8) -> bool {
    matches!(c, b',' | b';' | b'\n' | b'\r' | b' ' | b'\t' | 0x0B | 0x0C)
}

/// NEL, LINE SEPARATOR, PARAGRAPH SEPARATOR: line breaks beyond ASCII.
pub(super) fn is_line_separator(c: char) -> bool {
    matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// Whether a non-ASCII line break starts at `b[k]`.
pub(super) fn line_separator_at(b: &[u8], k: usize) -> bool {
    match b.get(k) {
        Some(0xC2) => b.get(k + 1) == Some(&0x85),
        Some(0xE2) => b.get(k + 1) == Some(&0x80) && matches!(b.get(k + 2), Some(0xA8 | 0xA9)),
        _ => false,
    }
}

/// Spaces that separate words and are trimmed: space, tab and non-ASCII
/// white space other than line breaks.
pub(super) fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t' || (!c.is_ascii() && c.is_whitespace() && !is_line_separator(c))
}

/// `s.trim_matches(is_blank)`, returning `s` itself at once when it starts
/// and ends with an ASCII character that is not blank, as nearly every
/// entry, address and name does (an ASCII byte is blank only as a space or
/// a tab).
pub(super) fn trim_blank(s: &str) -> &str {
    trim_blank_end(trim_blank_start(s))
}

/// `s.trim_start_matches(is_blank)`, with the fast path of [`trim_blank`].
pub(super) fn trim_blank_start(s: &str) -> &str {
    match s.as_bytes().first() {
        Some(&c) if c < 0x80 && c != b' ' && c != b'\t' => s,
        _ => s.trim_start_matches(is_blank),
    }
}

/// `s.trim_end_matches(is_blank)`, with the fast path of [`trim_blank`].
pub(super) fn trim_blank_end(s: &str) -> &str {
    match s.as_bytes().last() {
        Some(&c) if c < 0x80 && c != b' ' && c != b'\t' => s,
        _ => s.trim_end_matches(is_blank),
    }
}

/// The character starting at byte `i` (a char boundary).
pub(super) fn char_at(s: &str, i: usize) -> char {
    s.get(i..)
        .and_then(|r| r.chars().next())
        .unwrap_or('\u{FFFD}')
}

/// Byte classes for the scanners: each flag marks the bytes a scanner must
/// look at; it steps over the others at once.
pub(super) static BYTE_STOPS: [u8; 256] = byte_stops();

/// [`scan_word`]: separators, `"`, `\\`, `<`, `@`, and non-ASCII.
pub(super) const WORD_STOP: u8 = 1;
/// [`angle_close`]: `>`, `<`, `,`, `;`, CR, LF, and the first bytes of
/// NEL, LINE and PARAGRAPH SEPARATOR.
pub(super) const ANGLE_STOP: u8 = 2;
/// [`closing_quote`]: `"`, `\\`, CR, LF, and the first bytes of NEL, LINE
/// and PARAGRAPH SEPARATOR.
pub(super) const QUOTE_STOP: u8 = 4;
/// [`find_angle`]: `"`, `\\`, `<`.
pub(super) const FIND_STOP: u8 = 8;
/// `Validator::address`: controls, `@`, space, `"`, `(`, `)`, `<`, `>`, and
/// non-ASCII.
pub(super) const ADDRESS_STOP: u8 = 16;
/// [`check_local`]: everything but RFC 5322 `atext`, and `=` (so dots,
/// `=`, which may start an encoded word, non-ASCII and refused ASCII).
pub(super) const LOCAL_STOP: u8 = 32;
/// [`is_plain_ascii_domain`]: everything but ASCII letters, digits and
/// hyphens (so dots, non-ASCII and refused ASCII).
pub(super) const DOMAIN_STOP: u8 = 64;
/// [`verbatim_name`]: everything but the ASCII a display name keeps as it
/// is, quoted or not (so spaces, controls, `"`, `\\`, `@`, `=`, `<`, `>`,
/// `,`, `;` and non-ASCII).
pub(super) const NAME_STOP: u8 = 128;

pub(super) const fn byte_stops() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        let line_start = matches!(c, b'\n' | b'\r' | 0xC2 | 0xE2);
        if c >= 0x80
            || matches!(
                c,
                b',' | b';'
                    | b'\n'
                    | b'\r'
                    | b' '
                    | b'\t'
                    | 0x0B
                    | 0x0C
                    | b'"'
                    | b'\\'
                    | b'<'
                    | b'@'
            )
        {
            t[i] |= WORD_STOP;
        }
        if line_start || matches!(c, b'>' | b'<' | b',' | b';') {
            t[i] |= ANGLE_STOP;
        }
        if line_start || matches!(c, b'"' | b'\\') {
            t[i] |= QUOTE_STOP;
        }
        if matches!(c, b'"' | b'\\' | b'<') {
            t[i] |= FIND_STOP;
        }
        if c < 0x20 || c >= 0x7F || matches!(c, b'@' | b' ' | b'"' | b'(' | b')' | b'<' | b'>') {
            t[i] |= ADDRESS_STOP;
        }
        if c >= 0x80 || c == b'=' || ASCII_CLASS[i] & ATEXT == 0 {
            t[i] |= LOCAL_STOP;
        }
        if c >= 0x80 || ASCII_CLASS[i] & LDH == 0 {
            t[i] |= DOMAIN_STOP;
        }
        if c < 0x21
            || c >= 0x7F
            || matches!(c, b'"' | b'\\' | b'@' | b'=' | b'<' | b'>' | b',' | b';')
        {
            t[i] |= NAME_STOP;
        }
        i += 1;
    }
    t
}

/// The first offset from `from` whose byte has the `stop` class, or the
/// length of `b`.
pub(super) fn skip_to(b: &[u8], from: usize, stop: u8) -> usize {
    b.get(from..)
        .and_then(|r| {
            r.iter()
                .position(|&c| BYTE_STOPS[usize::from(c)] & stop != 0)
        })
        .map_or(b.len(), |n| from + n)
}

/// The closing quote of a quoted string whose content starts at `from`:
/// `Ok(position)`, or `Err(stop)` if the line (or text) ends first at
/// `stop`. A backslash escapes the next character, except a line break.
pub(super) fn closing_quote(b: &[u8], from: usize) -> Result<usize, usize> {
    let mut k = from;
    loop {
        k = skip_to(b, k, QUOTE_STOP);
        if k >= b.len() {
            break;
        }
        match b[k] {
            b'"' => return Ok(k),
            b'\\' => {
                k += if k + 1 < b.len()
                    && !matches!(b[k + 1], b'\n' | b'\r')
                    && !line_separator_at(b, k + 1)
                {
                    2
                } else {
                    1
                }
            }
            b'\n' | b'\r' => return Err(k),
            _ if line_separator_at(b, k) => return Err(k),
            _ => k += 1,
        }
    }
    Err(b.len())
}

/// The `>` closing a `<` whose content starts at `from`, if there is one
/// before another `<`, a comma, a semicolon or a line break.
pub(super) fn angle_close(b: &[u8], from: usize) -> Option<usize> {
    let mut k = from;
    loop {
        k = skip_to(b, k, ANGLE_STOP);
        if k >= b.len() {
            break;
        }
        match b[k] {
            b'>' => return Some(k),
            b'<' | b',' | b';' | b'\n' | b'\r' => return None,
            _ if line_separator_at(b, k) => return None,
            _ => k += 1,
        }
    }
    None
}

/// How far a backslash outside quotes reaches: it escapes the next ASCII
/// character unless that is a separator.
pub(super) fn backslash_len(b: &[u8], j: usize) -> usize {
    match b.get(j + 1) {
        Some(&c) if c < 0x80 && !is_separator_byte(c) => 2,
        _ => 1,
    }
}

/// The first `<...>` outside quotes in an entry: (`<`, `>`) byte offsets.
pub(super) fn find_angle(t: &str) -> Option<(usize, usize)> {
    let b = t.as_bytes();
    let mut j = 0;
    let mut dead = 0;
    loop {
        j = skip_to(b, j, FIND_STOP);
        if j >= b.len() {
            break;
        }
        match b[j] {
            b'"' => {
                if j >= dead {
                    match closing_quote(b, j + 1) {
                        Ok(k) => {
                            j = k + 1;
                            continue;
                        }
                        Err(stop) => dead = stop,
                    }
                }
                j += 1;
            }
            b'\\' => j += backslash_len(b, j),
            b'<' => {
                if let Some(k) = angle_close(b, j + 1) {
                    return Some((j, k));
                }
                j += 1;
            }
            _ => j += 1,
        }
    }
    None
}

/// The `<` and `>` offsets of an entry's first `<...>`, if it has one.
pub(super) type Angle = Option<(usize, usize)>;

/// Calls `emit(start, end, angle)` for every fragment of `text`, in order.
///
/// Words are runs of characters between separators (quoted strings and
/// `<...>` may contain spaces). A word with `<...>` ends an entry and takes
/// the preceding words without `@` as its display name; a word with an `@`
/// is an entry of its own; other words gather until one of those or a
/// comma, semicolon or line break. A word that starts with `<...>` right
/// after such an entry (spaces between, no separator) joins it: one entry
/// with an address as its name, or with two `<...>`, which the validator
/// refuses.
///
/// `emit` also gets the first `<...>` of the fragment (the `<` and `>`
/// offsets in `text`), which is what [`find_angle`] finds in the fragment:
/// the words before the first one with `<...>` have none, and the scan of
/// that word steps on the same bytes as `find_angle` (same quote, backslash
/// and bracket rules; a quoted string or `<...>` never crosses a line
/// break, so it never crosses the fragment's end).
pub(super) fn split_entries(text: &str, mut emit: impl FnMut(usize, usize, Angle)) {
    let b = text.as_bytes();
    let mut i = 0;
    // Words without `@` or `<...>` waiting for the `<address>` they name.
    let mut pending: Option<(usize, usize)> = None;
    // The last entry (an address word, or one with its `<...>`), held back
    // until the next word shows whether a bare `<address>` follows it with
    // only spaces between: `ada@example.com <eve@evil.example>` and
    // `<ada@example.com> <eve@evil.example>` are one entry, which the
    // validator refuses (an address posing as a name, two addresses),
    // rather than two entries that would invite `eve` unnoticed. Never
    // both `pending` and `held`.
    let mut held: Option<(usize, usize, Angle)> = None;
    // Quotes before this offset are known to have no closing quote.
    let mut dead = 0;
    while i < b.len() {
        let c = b[i];
        if c < 0x80 {
            if is_hard_separator_byte(c) {
                if let Some((s, e)) = pending.take() {
                    emit(s, e, None);
                }
                if let Some((s, e, angle)) = held.take() {
                    emit(s, e, angle);
                }
                i += 1;
                continue;
            }
            if is_separator_byte(c) {
                i += 1;
                continue;
            }
        } else {
            let ch = char_at(text, i);
            if is_line_separator(ch) {
                if let Some((s, e)) = pending.take() {
                    emit(s, e, None);
                }
                if let Some((s, e, angle)) = held.take() {
                    emit(s, e, angle);
                }
                i += ch.len_utf8();
                continue;
            }
            if ch.is_whitespace() {
                i += ch.len_utf8();
                continue;
            }
        }
        let start = i;
        let (end, has_at, angle) = scan_word(text, i, &mut dead);
        if let Some((s, e, held_angle)) = held.take() {
            if angle.is_some_and(|(lt, _)| lt == start) {
                held = Some((s, end, held_angle.or(angle)));
                i = end;
                continue;
            }
            emit(s, e, held_angle);
        }
        if angle.is_some() {
            let s = pending.take().map_or(start, |(s, _)| s);
            held = Some((s, end, angle));
        } else if has_at {
            if let Some((s, e)) = pending.take() {
                emit(s, e, None);
            }
            held = Some((start, end, None));
        } else {
            pending = Some((pending.map_or(start, |(s, _)| s), end));
        }
        i = end;
    }
    if let Some((s, e)) = pending {
        emit(s, e, None);
    }
    if let Some((s, e, angle)) = held {
        emit(s, e, angle);
    }
}

/// One word from `j`: (end, has an `@` outside quotes and brackets, its
/// `<...>` as `<` and `>` offsets).
pub(super) fn scan_word(
    text: &str,
    mut j: usize,
    dead: &mut usize,
) -> (usize, bool, Option<(usize, usize)>) {
    let b = text.as_bytes();
    let mut has_at = false;
    let mut angle = None;
    loop {
        j = skip_to(b, j, WORD_STOP);
        if j >= b.len() {
            break;
        }
        let c = b[j];
        if c >= 0x80 {
            let ch = char_at(text, j);
            if ch.is_whitespace() {
                break;
            }
            j += ch.len_utf8();
            continue;
        }
        match c {
            _ if is_separator_byte(c) => break,
            b'"' => {
                if j >= *dead {
                    match closing_quote(b, j + 1) {
                        Ok(k) => {
                            j = k + 1;
                            continue;
                        }
                        Err(stop) => *dead = stop,
                    }
                }
                j += 1;
            }
            b'\\' => j += backslash_len(b, j),
            b'<' => {
                if let Some(k) = angle_close(b, j + 1) {
                    if angle.is_some() {
                        // A second `<...>`: a new entry starts here.
                        break;
                    }
                    angle = Some((j, k));
                    j = k + 1;
                    continue;
                }
                j += 1;
            }
            b'@' => {
                has_at = true;
                j += 1;
            }
            _ => j += 1,
        }
    }
    (j, has_at, angle)
}
