//! Character classes: which characters an address may hold, and which look like others.

pub(super) const ATEXT: u8 = 1;
pub(super) const LDH: u8 = 2;

/// ASCII classes: RFC 5322 `atext` (local part) and letter-digit-hyphen
/// (domain labels).
pub(super) static ASCII_CLASS: [u8; 128] = ascii_classes();

pub(super) const fn ascii_classes() -> [u8; 128] {
    let mut t = [0u8; 128];
    let mut i = 0;
    while i < 128 {
        let c = i as u8;
        if c.is_ascii_alphanumeric() || c == b'-' {
            t[i] = ATEXT | LDH;
        } else if matches!(
            c,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'/'
                | b'='
                | b'?'
                | b'^'
                | b'_'
                | b'`'
                | b'{'
                | b'|'
                | b'}'
                | b'~'
        ) {
            t[i] = ATEXT;
        }
        i += 1;
    }
    t
}

pub(super) fn is_noncharacter(u: u32) -> bool {
    (0xFDD0..=0xFDEF).contains(&u) || (u & 0xFFFE) == 0xFFFE
}

/// Non-ASCII characters refused anywhere in an address: controls, white
/// space, invisible and format characters (including bidi controls,
/// zero-width characters, soft hyphen, variation selectors, tags),
/// private-use code points, non-characters and replacement characters.
pub(super) fn is_unsafe_in_address(c: char) -> bool {
    let u = u32::from(c);
    c.is_control()
        || c.is_whitespace()
        || matches!(
            u,
            0x00AD
                | 0x034F
                | 0x0600..=0x0605
                | 0x061C
                | 0x06DD
                | 0x070F
                | 0x0890..=0x0891
                | 0x08E2
                | 0x115F..=0x1160
                | 0x17B4..=0x17B5
                | 0x180B..=0x180F
                | 0x200B..=0x200F
                | 0x202A..=0x202E
                | 0x2060..=0x206F
                | 0x2800
                | 0x3164
                | 0xE000..=0xF8FF
                | 0xFE00..=0xFE0F
                | 0xFEFF
                | 0xFFA0
                | 0xFFF0..=0xFFFD
                | 0x110BD
                | 0x110CD
                | 0x13430..=0x1343F
                | 0x1BCA0..=0x1BCA3
                | 0x1D173..=0x1D17A
                | 0xE0000..=0xE0FFF
                | 0xF0000..=0x10FFFF
        )
        || is_noncharacter(u)
}

/// Whether `c` cannot start a local part: a combining mark (common blocks,
/// and non-alphanumeric characters of the scripts whose vowel signs and
/// viramas are marks).
pub(super) fn is_leading_mark(c: char) -> bool {
    let u = u32::from(c);
    matches!(
        u,
        0x0300..=0x036F
            | 0x0483..=0x0489
            | 0x0591..=0x05C7
            | 0x0610..=0x061A
            | 0x064B..=0x065F
            | 0x0670
            | 0x06D6..=0x06ED
            | 0x1AB0..=0x1AFF
            | 0x1DC0..=0x1DFF
            | 0x20D0..=0x20FF
            | 0x302A..=0x302F
            | 0x3099..=0x309A
            | 0xFE20..=0xFE2F
    ) || (!c.is_alphanumeric()
        && matches!(u, 0x0900..=0x0DFF | 0x0E00..=0x0EFF | 0x0F00..=0x0FFF | 0x1000..=0x109F | 0x1780..=0x17FF))
}

/// Characters whose canonical (NFC) form is or starts with an ASCII
/// character not allowed in a local part: `;` (GREEK QUESTION MARK), `≮`
/// and `≯` (`<`/`>` with a combining stroke).
pub(super) fn is_canonically_special(c: char) -> bool {
    matches!(c, '\u{037E}' | '\u{226E}' | '\u{226F}')
}

/// Full stops that UTS #46 maps to `.`.
pub(super) fn is_dot_like(c: char) -> bool {
    matches!(c, '.' | '\u{3002}' | '\u{FF0E}' | '\u{FF61}')
}

/// Hyphens that UTS #46 maps to `-`.
pub(super) fn is_hyphen_like(c: char) -> bool {
    matches!(c, '-' | '\u{FF0D}' | '\u{FE63}')
}

/// Compatibility forms that imitate ASCII: fullwidth forms, letter-like
/// symbols, enclosed and mathematical alphanumerics, ligatures,
/// super/subscripts, squared CJK abbreviations.
pub(super) fn is_compat_lookalike(c: char) -> bool {
    matches!(
        u32::from(c),
        0x00B2..=0x00B3
            | 0x00B9
            | 0x2070..=0x209F
            | 0x2100..=0x214F
            | 0x2150..=0x218F
            | 0x2460..=0x24FF
            | 0x3200..=0x33FF
            | 0xFB00..=0xFB06
            | 0xFE50..=0xFE6F
            | 0xFF01..=0xFF60
            | 0xFFE0..=0xFFEE
            | 0x1D400..=0x1D7FF
            | 0x1F100..=0x1F1FF
    )
}

/// Scripts, as far as the confusable check needs them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Script {
    Common,
    Latin,
    Greek,
    Cyrillic,
    Han,
    Hiragana,
    Katakana,
    Hangul,
    Bopomofo,
    /// Another script, identified by its block.
    Other(u32),
}

pub(super) fn script(c: char) -> Script {
    let u = u32::from(c);
    match u {
        0x41..=0x5A | 0x61..=0x7A | 0xAA | 0xBA => Script::Latin,
        0..=0xBF | 0xD7 | 0xF7 => Script::Common,
        0xC0..=0x2AF
        | 0x1D00..=0x1DBF
        | 0x1E00..=0x1EFF
        | 0x2C60..=0x2C7F
        | 0xA720..=0xA7FF
        | 0xAB30..=0xAB6F
        | 0xFB00..=0xFB06
        | 0xFF21..=0xFF3A
        | 0xFF41..=0xFF5A => Script::Latin,
        0x2B0..=0x36F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF => Script::Common,
        0x370..=0x3FF | 0x1F00..=0x1FFF => Script::Greek,
        0x400..=0x52F | 0x1C80..=0x1C8F | 0x2DE0..=0x2DFF | 0xA640..=0xA69F => Script::Cyrillic,
        0x3005 | 0x3007 | 0x3021..=0x3029 | 0x3038..=0x303B => Script::Han,
        0x3040..=0x3096 | 0x309D..=0x309F => Script::Hiragana,
        0x30A1..=0x30FA | 0x30FD..=0x30FF | 0x31F0..=0x31FF | 0xFF66..=0xFF6F | 0xFF71..=0xFF9D => {
            Script::Katakana
        }
        0x3100..=0x312F | 0x31A0..=0x31BF => Script::Bopomofo,
        0x1100..=0x11FF | 0x3130..=0x318F | 0xA960..=0xA97F | 0xAC00..=0xD7FF | 0xFFA0..=0xFFDC => {
            Script::Hangul
        }
        0x2E80..=0x2FDF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xF900..=0xFAFF
        | 0x20000..=0x3FFFF => Script::Han,
        0x2000..=0x2BFF
        | 0x3000..=0x303F
        | 0x3099..=0x309C
        | 0x30A0
        | 0x30FB..=0x30FC
        | 0xFE00..=0xFE6F
        | 0xFF00..=0xFF65
        | 0xFF70
        | 0xFF9E..=0xFF9F
        | 0xFFE0..=0xFFEF
        | 0x1F000..=0x1FAFF => Script::Common,
        0x530..=0x58F | 0xFB13..=0xFB17 => Script::Other(0x530),
        0x590..=0x5FF | 0xFB1D..=0xFB4F => Script::Other(0x590),
        0x600..=0x6FF | 0x750..=0x77F | 0x870..=0x8FF | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF => {
            Script::Other(0x600)
        }
        0x10A0..=0x10FF | 0x1C90..=0x1CBF | 0x2D00..=0x2D2F => Script::Other(0x10A0),
        0x1200..=0x139F | 0x2D80..=0x2DDF | 0xAB00..=0xAB2F => Script::Other(0x1200),
        0x13A0..=0x13FF | 0xAB70..=0xABBF => Script::Other(0x13A0),
        0x1000..=0x109F | 0xA9E0..=0xA9FF | 0xAA60..=0xAA7F => Script::Other(0x1000),
        _ => Script::Other((u >> 7) << 7),
    }
}

/// Cyrillic and Greek letters that look like Latin letters.
pub(super) fn looks_latin(c: char) -> bool {
    matches!(
        c,
        'а' | 'в'
            | 'е'
            | 'к'
            | 'о'
            | 'р'
            | 'с'
            | 'у'
            | 'х'
            | 'ѕ'
            | 'і'
            | 'ј'
            | 'һ'
            | 'ԁ'
            | 'ԛ'
            | 'ԝ'
            | 'ӏ'
            | 'ү'
            | 'ѵ'
            | 'А'
            | 'В'
            | 'Е'
            | 'К'
            | 'М'
            | 'Н'
            | 'О'
            | 'Р'
            | 'С'
            | 'Т'
            | 'Х'
            | 'Ѕ'
            | 'І'
            | 'Ј'
            | 'Ү'
            | 'Ѵ'
            | 'Ӏ'
            | 'ο'
            | 'α'
            | 'ν'
            | 'ι'
            | 'κ'
            | 'ρ'
            | 'υ'
            | 'Α'
            | 'Β'
            | 'Ε'
            | 'Ζ'
            | 'Η'
            | 'Ι'
            | 'Κ'
            | 'Μ'
            | 'Ν'
            | 'Ο'
            | 'Ρ'
            | 'Τ'
            | 'Υ'
            | 'Χ'
    )
}

/// Whether a label (or local part) could imitate another: compatibility
/// look-alikes, a mix of scripts beyond the UTS #39 "highly restrictive"
/// combinations (Latin with Han and Japanese kana, Bopomofo or Hangul), or
/// a Cyrillic/Greek label made only of Latin look-alikes.
pub(super) fn is_confusable(s: &str) -> bool {
    let mut scripts: [Option<Script>; 4] = [None; 4];
    let mut count = 0;
    let mut all_lookalike = true;
    for c in s.chars() {
        if is_compat_lookalike(c) {
            return true;
        }
        let sc = script(c);
        if sc == Script::Common {
            continue;
        }
        if !looks_latin(c) {
            all_lookalike = false;
        }
        if !scripts[..count].contains(&Some(sc)) {
            if count == scripts.len() {
                return true;
            }
            scripts[count] = Some(sc);
            count += 1;
        }
    }
    let set = &scripts[..count];
    match set {
        [] => false,
        [Some(Script::Cyrillic | Script::Greek)] => all_lookalike,
        [_] => false,
        _ => {
            let within = |allowed: &[Script]| set.iter().flatten().all(|s| allowed.contains(s));
            !(within(&[
                Script::Latin,
                Script::Han,
                Script::Hiragana,
                Script::Katakana,
            ]) || within(&[Script::Latin, Script::Han, Script::Bopomofo])
                || within(&[Script::Latin, Script::Han, Script::Hangul]))
        }
    }
}
