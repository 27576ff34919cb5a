//! Timestamps on the wire: what serde writes for a `DateTime<Utc>` field.
//!
//! The text is chrono's own (RFC 3339 in UTC with a `Z`, the fraction of
//! a second in as many digits as it needs: none, 3, 6 or 9), so stored
//! rows and JSON read the same before and after. Only the way it reaches
//! the serializer differs: chrono's `Serialize` hands serde_json a
//! `Display` that writes the text one character at a time, each escaped
//! on its own (1,800 instructions a timestamp, 13 timestamps an invitation
//! on the SQLite store: 8 % of issuing one, `docs/src/performance.md`);
//! here it is written digit by digit into a buffer on the stack and given
//! whole (about 100 instructions). Reading is chrono's, unchanged.
//!
//! Fields use it with `#[serde(serialize_with = "crate::timestamp::ser")]`
//! (and [`ser_opt`] for an `Option`), which leaves their deserialization
//! to the derive, defaults and all.

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};
use serde::{Serialize, Serializer};

/// The text serde gives a timestamp (chrono's `Serialize` writes the same).
#[cfg(test)]
fn text(t: &DateTime<Utc>) -> String {
    let mut buf = [0; MAX_LEN];
    match write(t, &mut buf) {
        Some(s) => s.to_owned(),
        None => t.to_rfc3339_opts(SecondsFormat::AutoSi, true),
    }
}

/// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`, the longest text [`write`] makes.
const MAX_LEN: usize = 30;

/// Writes the text of `t` into `buf`, digit by digit, for the years 0 to
/// 9999 and no leap second (chrono's text for those: the tests compare
/// them); `None` for the others, which chrono writes.
fn write<'b>(t: &DateTime<Utc>, buf: &'b mut [u8; MAX_LEN]) -> Option<&'b str> {
    // One conversion to the date and the time of day, read field by field.
    let naive = t.naive_utc();
    let (date, time) = (naive.date(), naive.time());
    let (year, nanos) = (date.year(), time.nanosecond());
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        return None;
    }
    let put = |buf: &mut [u8; MAX_LEN], at: usize, value: u32, digits: usize| {
        let mut v = value;
        for i in (at..at + digits).rev() {
            // `v % 10` is a digit: the cast cannot truncate.
            #[allow(clippy::cast_possible_truncation)]
            let d = (v % 10) as u8;
            buf[i] = b'0' + d;
            v /= 10;
        }
    };
    // The year is checked to be 0 to 9999 above.
    #[allow(clippy::cast_sign_loss)]
    put(buf, 0, year as u32, 4);
    buf[4] = b'-';
    put(buf, 5, date.month(), 2);
    buf[7] = b'-';
    put(buf, 8, date.day(), 2);
    buf[10] = b'T';
    put(buf, 11, time.hour(), 2);
    buf[13] = b':';
    put(buf, 14, time.minute(), 2);
    buf[16] = b':';
    put(buf, 17, time.second(), 2);
    let mut len = 19;
    // As many digits of the fraction as it needs: none, 3, 6 or 9.
    let (fraction, digits) = if nanos == 0 {
        (0, 0)
    } else if nanos % 1_000_000 == 0 {
        (nanos / 1_000_000, 3)
    } else if nanos % 1_000 == 0 {
        (nanos / 1_000, 6)
    } else {
        (nanos, 9)
    };
    if digits > 0 {
        buf[len] = b'.';
        put(buf, len + 1, fraction, digits);
        len += 1 + digits;
    }
    buf[len] = b'Z';
    len += 1;
    std::str::from_utf8(&buf[..len]).ok()
}

/// Serializes a `DateTime<Utc>` field (`serialize_with`).
pub(crate) fn ser<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    let mut buf = [0; MAX_LEN];
    match write(t, &mut buf) {
        Some(text) => s.serialize_str(text),
        None => s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
    }
}

/// Serializes an `Option<DateTime<Utc>>` field (`serialize_with`).
// serde's `serialize_with` hands the field by reference.
#[allow(clippy::ref_option)]
pub(crate) fn ser_opt<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_some(&Whole(t)),
        None => s.serialize_none(),
    }
}

/// A timestamp that serializes through [`ser`].
struct Whole<'a>(&'a DateTime<Utc>);

impl Serialize for Whole<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ser(self.0, s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    #[derive(Serialize)]
    struct Ours {
        #[serde(serialize_with = "ser")]
        at: DateTime<Utc>,
        #[serde(serialize_with = "ser_opt")]
        maybe: Option<DateTime<Utc>>,
    }

    #[derive(Serialize)]
    struct Chronos {
        at: DateTime<Utc>,
        maybe: Option<DateTime<Utc>>,
    }

    fn same(at: DateTime<Utc>) {
        assert_eq!(text(&at), at.to_rfc3339_opts(SecondsFormat::AutoSi, true));
        for maybe in [None, Some(at)] {
            let ours = serde_json::to_string(&Ours { at, maybe }).expect("json");
            let chronos = serde_json::to_string(&Chronos { at, maybe }).expect("json");
            assert_eq!(ours, chronos);
        }
    }

    #[test]
    fn the_text_is_chronos_at_the_edges() {
        let epoch = Utc.timestamp_opt(0, 0).single().expect("epoch");
        same(epoch);
        for nanos in [1, 1_000, 1_000_000, 120_000_000, 999_999_999, 1_500_000_000] {
            // 1_500_000_000: a leap second's nanoseconds, as chrono allows.
            if let Some(t) = Utc.timestamp_opt(1_700_000_059, nanos).single() {
                same(t);
            }
        }
        same(DateTime::<Utc>::MAX_UTC);
        same(DateTime::<Utc>::MIN_UTC);
    }

    proptest! {
        #[test]
        fn the_text_is_chronos(secs in -70_000_000_000i64..300_000_000_000, nanos in 0u32..1_000_000_000, round in 0u8..4) {
            let nanos = match round { 0 => 0, 1 => nanos / 1_000_000 * 1_000_000, 2 => nanos / 1_000 * 1_000, _ => nanos };
            if let Some(t) = Utc.timestamp_opt(secs, nanos).single() {
                same(t);
            }
        }
    }
}
