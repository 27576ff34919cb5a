//! The JSON text of a stored body, written faster than `serde_json` writes
//! it and byte for byte the same: what the SQLite and Postgres stores
//! write into their `body` columns.
//!
//! Issuing an invitation writes three bodies (the invitation, its queued
//! email, its event), and callgrind put a fifth of an issue's
//! instructions on the SQLite store in `serde_json::to_string`, half of
//! those in its string escaping, which looks at one byte at a time
//! (docs/src/performance.md). This writer looks at eight bytes at a time
//! for a byte that needs escaping, and writes the common shapes of the
//! bodies (structs, maps with string keys, sequences, strings, integers,
//! booleans, options and enums) straight into one `String`.
//!
//! Anything else (a float, a 128-bit integer, bytes, a map key that is
//! not a string, an error of the value's own `Serialize`) is written by
//! `serde_json` itself, so [`to_string`] always gives `serde_json`'s text:
//! the tests compare the two, and every build with debug assertions
//! compares them again on every value written.

use serde::ser::{self, Serialize};
use std::fmt;

/// The compact JSON text of `value`: exactly what
/// `serde_json::to_string(value)` gives, faster for the shapes of stored
/// bodies (above), and `serde_json`'s error where it fails.
///
/// # Panics
///
/// With debug assertions on, when the text differs from
/// `serde_json::to_string`'s: a bug of this writer, or a value whose
/// `Serialize` writes something else each time it is called (the check
/// serializes it twice).
///
/// ```
/// # #[derive(serde::Serialize)]
/// # struct Row { id: &'static str, n: u32, note: Option<String> }
/// let row = Row { id: "inv_1", n: 2, note: Some("a \"quote\"\n".into()) };
/// let text = enlist::store::json::to_string(&row)?;
/// assert_eq!(text, serde_json::to_string(&row)?);
/// assert_eq!(text, r#"{"id":"inv_1","n":2,"note":"a \"quote\"\n"}"#);
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    match fast(value) {
        Some(text) => {
            debug_assert_eq!(
                serde_json::to_string(value).ok().as_deref(),
                Some(text.as_str()),
                "enlist's JSON writer and serde_json differ"
            );
            Ok(text)
        }
        None => serde_json::to_string(value),
    }
}

/// The text as this writer writes it; `None` where it leaves the value to
/// `serde_json` (above).
fn fast<T: Serialize + ?Sized>(value: &T) -> Option<String> {
    let mut w = Writer {
        out: String::with_capacity(1024),
    };
    value.serialize(&mut w).ok()?;
    Some(w.out)
}

/// What stops the writer: a shape it leaves to `serde_json`, or an error
/// of the value's own (which `serde_json` then reports).
#[derive(Debug)]
struct Unsupported;

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("left to serde_json")
    }
}

impl std::error::Error for Unsupported {}

impl ser::Error for Unsupported {
    fn custom<T: fmt::Display>(_msg: T) -> Self {
        Unsupported
    }
}

struct Writer {
    out: String,
}

/// Whether any of the eight bytes of `x` is below 0x20, a `"` or a `\`:
/// the bytes JSON escapes (the standard has-less-than and has-zero-byte
/// tests, exact for whether such a byte exists).
#[inline]
fn needs_escape(x: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below_space = x.wrapping_sub(ONES * 0x20) & !x & HIGH;
    let q = x ^ (ONES * u64::from(b'"'));
    let quote = q.wrapping_sub(ONES) & !q & HIGH;
    let b = x ^ (ONES * u64::from(b'\\'));
    let backslash = b.wrapping_sub(ONES) & !b & HIGH;
    below_space | quote | backslash != 0
}

/// The escape `serde_json` writes for `byte`, one that needs it.
fn escape(out: &mut String, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match byte {
        b'"' => out.push_str("\\\""),
        b'\\' => out.push_str("\\\\"),
        0x08 => out.push_str("\\b"),
        0x0c => out.push_str("\\f"),
        b'\n' => out.push_str("\\n"),
        b'\r' => out.push_str("\\r"),
        b'\t' => out.push_str("\\t"),
        _ => {
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
    }
}

/// The eight bytes of `b` from `at` as one word (`None` past its end).
#[inline]
fn word(b: &[u8], at: usize) -> Option<u64> {
    let bytes: [u8; 8] = b.get(at..at + 8)?.try_into().ok()?;
    Some(u64::from_le_bytes(bytes))
}

/// Whether `b` holds a byte that JSON escapes: eight bytes at a time, the
/// last eight overlapping the ones before; four and four for four to
/// seven bytes; one at a time below four.
fn any_escape(b: &[u8]) -> bool {
    let n = b.len();
    if n >= 8 {
        let mut at = 0;
        while at + 8 <= n {
            if word(b, at).is_none_or(needs_escape) {
                return true;
            }
            at += 8;
        }
        return at < n && word(b, n - 8).is_none_or(needs_escape);
    }
    if n >= 4 {
        let half = |at: usize| -> Option<u64> {
            let bytes: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
            Some(u64::from(u32::from_le_bytes(bytes)))
        };
        return match (half(0), half(n - 4)) {
            (Some(lo), Some(hi)) => needs_escape(lo | hi << 32),
            _ => true,
        };
    }
    b.iter().any(|&c| c < 0x20 || c == b'"' || c == b'\\')
}

/// `s` as a JSON string, quotes and all.
fn write_str(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    if any_escape(s.as_bytes()) {
        // Runs without an escape are copied whole: `start` is where the
        // run being copied begins, always on a character boundary
        // (escaped bytes are ASCII).
        let mut start = 0;
        for (i, &byte) in s.as_bytes().iter().enumerate() {
            if byte < 0x20 || byte == b'"' || byte == b'\\' {
                out.push_str(&s[start..i]);
                escape(out, byte);
                start = i + 1;
            }
        }
        out.push_str(&s[start..]);
    } else {
        out.push_str(s);
    }
    out.push('"');
}

/// `v` in decimal.
#[inline]
fn write_u64(out: &mut String, v: u64) {
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    let mut v = v;
    loop {
        at -= 1;
        // `v % 10` is a digit.
        #[allow(clippy::cast_possible_truncation)]
        let d = (v % 10) as u8;
        buf[at] = b'0' + d;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for &b in &buf[at..] {
        out.push(char::from(b));
    }
}

#[inline]
fn write_i64(out: &mut String, v: i64) {
    if v < 0 {
        out.push('-');
    }
    write_u64(out, v.unsigned_abs());
}

/// A struct, map or sequence being written: whether its first element is
/// still to come (no comma before it).
struct Compound<'a> {
    w: &'a mut Writer,
    first: bool,
    /// The characters that close it: `}` or `]`, and one `}` more for an
    /// enum variant's wrapping object.
    close: &'static str,
}

impl Compound<'_> {
    #[inline]
    fn comma(&mut self) {
        if self.first {
            self.first = false;
        } else {
            self.w.out.push(',');
        }
    }

    #[inline]
    fn key(&mut self, key: &str) {
        self.comma();
        write_str(&mut self.w.out, key);
        self.w.out.push(':');
    }
}

impl Writer {
    #[inline]
    fn open(&mut self, open: char, close: &'static str) -> Compound<'_> {
        self.out.push(open);
        Compound {
            w: self,
            first: true,
            close,
        }
    }

    /// `{"variant":` before a variant's value.
    #[inline]
    fn variant(&mut self, variant: &str) {
        self.out.push('{');
        write_str(&mut self.out, variant);
        self.out.push(':');
    }
}

type Result<T = ()> = std::result::Result<T, Unsupported>;

/// Integers narrower than 64 bits, written as their 64-bit selves.
macro_rules! widen {
    ($($method:ident: $narrow:ty => $to:ident as $wide:ty),*) => {$(
        fn $method(self, v: $narrow) -> Result {
            self.$to(<$wide>::from(v))
        }
    )*};
}

/// A unit variant written as its name, a newtype struct as what it wraps:
/// the same for values and for map keys (serde_json's rule).
macro_rules! as_str_or_inner {
    () => {
        fn serialize_unit_variant(
            self,
            _name: &'static str,
            _i: u32,
            variant: &'static str,
        ) -> Result {
            self.serialize_str(variant)
        }
        fn serialize_newtype_struct<T: ?Sized + Serialize>(
            self,
            _name: &'static str,
            value: &T,
        ) -> Result {
            value.serialize(self)
        }
    };
}

impl<'a> ser::Serializer for &'a mut Writer {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Compound<'a>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Compound<'a>;

    fn serialize_bool(self, v: bool) -> Result {
        self.out.push_str(if v { "true" } else { "false" });
        Ok(())
    }
    widen!(
        serialize_i8: i8 => serialize_i64 as i64,
        serialize_i16: i16 => serialize_i64 as i64,
        serialize_i32: i32 => serialize_i64 as i64,
        serialize_u8: u8 => serialize_u64 as u64,
        serialize_u16: u16 => serialize_u64 as u64,
        serialize_u32: u32 => serialize_u64 as u64
    );
    fn serialize_i64(self, v: i64) -> Result {
        write_i64(&mut self.out, v);
        Ok(())
    }
    fn serialize_u64(self, v: u64) -> Result {
        write_u64(&mut self.out, v);
        Ok(())
    }
    fn serialize_f32(self, _v: f32) -> Result {
        Err(Unsupported)
    }
    fn serialize_f64(self, _v: f64) -> Result {
        Err(Unsupported)
    }
    fn serialize_char(self, v: char) -> Result {
        write_str(&mut self.out, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result {
        write_str(&mut self.out, v);
        Ok(())
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result {
        Err(Unsupported)
    }
    fn serialize_none(self) -> Result {
        self.serialize_unit()
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result {
        self.out.push_str("null");
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result {
        self.serialize_unit()
    }
    as_str_or_inner!();
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _i: u32,
        variant: &'static str,
        value: &T,
    ) -> Result {
        self.variant(variant);
        value.serialize(&mut *self)?;
        self.out.push('}');
        Ok(())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'a>> {
        Ok(self.open('[', "]"))
    }
    fn serialize_tuple(self, len: usize) -> Result<Compound<'a>> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Compound<'a>> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _i: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>> {
        self.variant(variant);
        Ok(self.open('[', "]}"))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'a>> {
        Ok(self.open('{', "}"))
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Compound<'a>> {
        Ok(self.open('{', "}"))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _i: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>> {
        self.variant(variant);
        Ok(self.open('{', "}}"))
    }
}

impl Compound<'_> {
    fn element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result {
        self.comma();
        value.serialize(&mut *self.w)
    }

    #[inline]
    fn finish(self) -> Result {
        self.w.out.push_str(self.close);
        Ok(())
    }
}

/// The four kinds of sequence serde has (a sequence, a tuple, a tuple
/// struct, a tuple variant): each writes its elements the same way.
macro_rules! sequence {
    ($($kind:ident :: $method:ident),*) => {$(
        impl ser::$kind for Compound<'_> {
            type Ok = ();
            type Error = Unsupported;
            fn $method<T: ?Sized + Serialize>(&mut self, value: &T) -> Result {
                self.element(value)
            }
            fn end(self) -> Result {
                self.finish()
            }
        }
    )*};
}

sequence!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result {
        self.comma();
        key.serialize(KeyWriter(&mut *self.w))?;
        self.w.out.push(':');
        Ok(())
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result {
        value.serialize(&mut *self.w)
    }
    fn end(self) -> Result {
        self.finish()
    }
}

/// A struct and a struct variant write their fields the same way.
macro_rules! fields {
    ($($kind:ident),*) => {$(
        impl ser::$kind for Compound<'_> {
            type Ok = ();
            type Error = Unsupported;
            fn serialize_field<T: ?Sized + Serialize>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result {
                self.key(key);
                value.serialize(&mut *self.w)
            }
            fn end(self) -> Result {
                self.finish()
            }
        }
    )*};
}

fields!(SerializeStruct, SerializeStructVariant);

/// A map's key: a string (or what serializes as one); any other key is
/// left to `serde_json`, which quotes numbers and refuses the rest.
struct KeyWriter<'a>(&'a mut Writer);

impl KeyWriter<'_> {
    fn no<T>(self) -> Result<T> {
        Err(Unsupported)
    }
}

impl ser::Serializer for KeyWriter<'_> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = ser::Impossible<(), Unsupported>;
    type SerializeTuple = ser::Impossible<(), Unsupported>;
    type SerializeTupleStruct = ser::Impossible<(), Unsupported>;
    type SerializeTupleVariant = ser::Impossible<(), Unsupported>;
    type SerializeMap = ser::Impossible<(), Unsupported>;
    type SerializeStruct = ser::Impossible<(), Unsupported>;
    type SerializeStructVariant = ser::Impossible<(), Unsupported>;

    fn serialize_str(self, v: &str) -> Result {
        write_str(&mut self.0.out, v);
        Ok(())
    }
    as_str_or_inner!();
    fn serialize_bool(self, _v: bool) -> Result {
        self.no()
    }
    fn serialize_i8(self, _v: i8) -> Result {
        self.no()
    }
    fn serialize_i16(self, _v: i16) -> Result {
        self.no()
    }
    fn serialize_i32(self, _v: i32) -> Result {
        self.no()
    }
    fn serialize_i64(self, _v: i64) -> Result {
        self.no()
    }
    fn serialize_u8(self, _v: u8) -> Result {
        self.no()
    }
    fn serialize_u16(self, _v: u16) -> Result {
        self.no()
    }
    fn serialize_u32(self, _v: u32) -> Result {
        self.no()
    }
    fn serialize_u64(self, _v: u64) -> Result {
        self.no()
    }
    fn serialize_f32(self, _v: f32) -> Result {
        self.no()
    }
    fn serialize_f64(self, _v: f64) -> Result {
        self.no()
    }
    fn serialize_char(self, _v: char) -> Result {
        self.no()
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result {
        self.no()
    }
    fn serialize_none(self) -> Result {
        self.no()
    }
    fn serialize_some<T: ?Sized + Serialize>(self, _value: &T) -> Result {
        self.no()
    }
    fn serialize_unit(self) -> Result {
        self.no()
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result {
        self.no()
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _i: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result {
        self.no()
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq> {
        self.no()
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple> {
        self.no()
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct> {
        self.no()
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _i: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        self.no()
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap> {
        self.no()
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self::SerializeStruct> {
        self.no()
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _i: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant> {
        self.no()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{Value, json};
    use std::collections::BTreeMap;

    fn same<T: Serialize + ?Sized>(v: &T) {
        let expected = serde_json::to_string(v).expect("serde_json writes it");
        assert_eq!(fast(v).as_deref(), Some(expected.as_str()));
    }

    #[test]
    fn every_byte_that_json_escapes_is_escaped_as_serde_json_escapes_it() {
        for b in 0u8..=0x7f {
            let c = char::from(b);
            // The byte alone, at every place of a chunk, and after a
            // character of two, three and four bytes.
            for pad in 0..10 {
                same(&format!("{}{c}", "a".repeat(pad)));
                same(&format!("{c}{}{c}", "b".repeat(pad)));
            }
            same(&format!("é{c}€{c}𝄞{c}"));
        }
        same("");
        same("\u{7f}\u{80}\u{ffff}\u{10ffff}");
    }

    #[test]
    fn the_shapes_of_the_stores_bodies_are_written_as_serde_json_writes_them() {
        #[derive(serde::Serialize)]
        enum E {
            Unit,
            New(u8),
            Tuple(i32, String),
            Struct { a: Option<bool>, b: Vec<i64> },
        }
        #[derive(serde::Serialize)]
        struct Inner {
            x: u32,
        }
        #[derive(serde::Serialize)]
        struct S<'a> {
            name: &'a str,
            #[serde(flatten)]
            inner: Inner,
            tag: E,
            list: Vec<E>,
            map: BTreeMap<String, Value>,
            empty: Vec<u8>,
            none: Option<String>,
            unit: (),
            tuple: (u8, char, bool),
        }
        let mut map = BTreeMap::new();
        map.insert("k\"ey\n".to_owned(), json!({"a": [1, -2, null, true, "x"]}));
        map.insert(String::new(), json!({}));
        same(&S {
            name: "a \"b\" \\ c\td",
            inner: Inner { x: u32::MAX },
            tag: E::Struct {
                a: Some(false),
                b: vec![i64::MIN, 0, i64::MAX],
            },
            list: vec![E::Unit, E::New(7), E::Tuple(-1, "t".into())],
            map,
            empty: Vec::new(),
            none: None,
            unit: (),
            tuple: (0, '"', true),
        });
        same(&u64::MAX);
        same(&[i8::MIN, -1, 0, 1, i8::MAX]);
    }

    #[test]
    fn what_it_leaves_to_serde_json_makes_it_answer_none() {
        assert_eq!(fast(&1.5f64), None);
        assert_eq!(fast(&json!({"a": 0.25})), None);
        assert_eq!(fast(&1u128), None);
        let mut by_number = BTreeMap::new();
        by_number.insert(1u32, "one");
        assert_eq!(fast(&by_number), None);
        // serde_bytes-like: a byte string.
        struct Bytes;
        impl Serialize for Bytes {
            fn serialize<S: ser::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.serialize_bytes(b"ab")
            }
        }
        assert_eq!(fast(&Bytes), None);
        // A value's own error.
        struct Fails;
        impl Serialize for Fails {
            fn serialize<S: ser::Serializer>(&self, _s: S) -> std::result::Result<S::Ok, S::Error> {
                Err(ser::Error::custom("no"))
            }
        }
        assert_eq!(fast(&vec![Fails]), None);
    }

    #[test]
    fn to_string_gives_serde_jsons_text_and_errors_for_what_it_leaves_to_serde_json() {
        let v = json!({"a": 0.25, "b": [1.5e300, -0.0], "c": "x"});
        assert_eq!(
            to_string(&v).expect("json"),
            serde_json::to_string(&v).expect("json")
        );
        let mut by_number = BTreeMap::new();
        by_number.insert(7u32, "seven");
        assert_eq!(to_string(&by_number).expect("json"), r#"{"7":"seven"}"#);
        struct Fails;
        impl Serialize for Fails {
            fn serialize<S: ser::Serializer>(&self, _s: S) -> std::result::Result<S::Ok, S::Error> {
                Err(ser::Error::custom("no"))
            }
        }
        assert_eq!(
            to_string(&Fails).map_err(|e| e.to_string()),
            Err("no".to_owned())
        );
    }

    /// JSON values without floats: what this writer writes itself.
    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<String>().prop_map(Value::String),
            "[ -~\\x00-\\x1f\"\\\\é€𝄞]{0,40}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::btree_map(any::<String>(), inner, 0..8)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    #[test]
    fn the_eight_byte_test_finds_every_byte_json_escapes_at_every_place() {
        for filler in [b'a', 0x7f, 0x80, 0xff, b' ', b'!', b'#', b'[', b']'] {
            for at in 0..8 {
                for b in 0u8..=255 {
                    let mut word = [filler; 8];
                    word[at] = b;
                    let expected = b < 0x20 || b == b'"' || b == b'\\';
                    assert_eq!(
                        needs_escape(u64::from_le_bytes(word)),
                        expected,
                        "byte {b:#x} at {at} among {filler:#x}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_string_of_any_length_is_searched_whole_for_an_escape() {
        for n in 0..40 {
            let clean = "a".repeat(n);
            assert!(!any_escape(clean.as_bytes()), "{n} clean bytes");
            for at in 0..n {
                for b in [0u8, 0x1f, b'"', b'\\'] {
                    let mut v = clean.clone().into_bytes();
                    v[at] = b;
                    assert!(any_escape(&v), "byte {b:#x} at {at} of {n}");
                }
            }
        }
    }

    proptest! {
        #[test]
        fn any_json_value_without_floats_is_written_as_serde_json_writes_it(v in value()) {
            let expected = serde_json::to_string(&v).expect("serde_json writes it");
            prop_assert_eq!(fast(&v), Some(expected));
        }

        #[test]
        fn any_string_is_written_as_serde_json_writes_it(s in any::<String>()) {
            prop_assert_eq!(fast(&s), Some(serde_json::to_string(&s).expect("json")));
        }

        #[test]
        fn the_eight_byte_test_finds_exactly_the_bytes_json_escapes(word in any::<[u8; 8]>()) {
            let expected = word.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\');
            prop_assert_eq!(needs_escape(u64::from_le_bytes(word)), expected);
        }
    }
}
