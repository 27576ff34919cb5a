//! Metadata on an invitation, carried over to the member (issue 14's
//! per-invitation settings; Clerk's `public_metadata` / `private_metadata`,
//! Auth0's `app_metadata`).
//!
//! A [`Metadata`] is a small JSON object: at most
//! [`MAX_METADATA_BYTES`] bytes serialized, [`MAX_METADATA_DEPTH`] levels
//! of nesting and [`MAX_METADATA_VALUES`] values in all, each key at most
//! [`MAX_METADATA_KEY_CHARS`] characters. Text is measured before it is
//! parsed ([`Metadata::from_json`]), so an oversized upload costs one
//! length check.

use crate::error::{Error, LimitKind, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// At most this many bytes in a [`Metadata`] object, serialized as compact
/// JSON (4 KiB, as Clerk's limit on its metadata).
pub const MAX_METADATA_BYTES: usize = 4096;
/// At most this many levels of nesting below the top-level object (the
/// object's own values are level 1).
pub const MAX_METADATA_DEPTH: usize = 5;
/// At most this many values (keys of objects and items of arrays, at every
/// level) in one [`Metadata`] object.
pub const MAX_METADATA_VALUES: usize = 200;
/// At most this many characters in one key.
pub const MAX_METADATA_KEY_CHARS: usize = 128;

/// A small JSON object on an invitation and the member it creates. Empty
/// by default. Values built in Rust are checked by the engine
/// ([`Metadata::validated`]) wherever they arrive; text from elsewhere is
/// read with [`Metadata::from_json`], which bounds it before parsing.
///
/// ```
/// let m = enlist::Metadata::from_json(r#"{"plan": "pro", "seats": 3}"#)?;
/// assert_eq!(m.get("plan").and_then(|v| v.as_str()), Some("pro"));
/// assert!(enlist::Metadata::from_json("[1, 2]").is_err(), "objects only");
/// assert!(enlist::Metadata::from_json(&"x".repeat(5000)).is_err(), "bounded before parsing");
/// # Ok::<(), enlist::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Map<String, Value>", into = "Map<String, Value>")]
pub struct Metadata {
    map: Map<String, Value>,
    /// Why a text that crossed from Kotlin or Swift was not metadata
    /// ([`Metadata::refused`]): the engine's check reports it as an
    /// invalid input, so a caller there gets the binding's own error, not
    /// a failure to convert the argument. Never stored (serialized as the
    /// empty map). Boxed (one pointer, almost always `None`): every
    /// invitation and member carries two metadata objects, and each byte
    /// here is a byte of every copy of them.
    #[allow(
        clippy::box_collection,
        reason = "one thin pointer: a Box<str> would be two words in every copy"
    )]
    refused: Option<Box<String>>,
}

impl From<Map<String, Value>> for Metadata {
    fn from(map: Map<String, Value>) -> Self {
        Self { map, refused: None }
    }
}

impl From<Metadata> for Map<String, Value> {
    fn from(m: Metadata) -> Self {
        m.map
    }
}

impl Metadata {
    /// An empty object.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads a JSON object from text: its length is checked against
    /// [`MAX_METADATA_BYTES`] before anything is parsed, then the parsed
    /// object against every bound ([`Metadata::validated`]). An empty or
    /// blank text is the empty object.
    pub fn from_json(text: &str) -> Result<Self> {
        Self::from_json_for("metadata", text)
    }

    /// [`Metadata::from_json`], naming `field` in its errors.
    pub fn from_json_for(field: &str, text: &str) -> Result<Self> {
        if text.len() > MAX_METADATA_BYTES {
            return Err(too_big(field, text.len()));
        }
        if text.trim().is_empty() {
            return Ok(Self::new());
        }
        let value: Value = serde_json::from_str(text)
            .map_err(|e| Error::invalid(field, format!("is not JSON: {e}")))?;
        match value {
            Value::Object(map) => Self::from(map).validated_for(field),
            _ => Err(Error::invalid(field, "must be a JSON object")),
        }
    }

    /// Builds metadata from a map, checked against every bound.
    pub fn from_map(map: Map<String, Value>) -> Result<Self> {
        Self::from(map).validated()
    }

    /// Checks the bounds (depth and number of values first, walking no
    /// deeper than allowed; then keys; then the serialized size) and
    /// returns the object unchanged.
    pub fn validated(self) -> Result<Self> {
        self.validated_for("metadata")
    }

    /// Metadata that stands for a text refused where it crossed into
    /// Rust without an error channel (a Kotlin or Swift record field): any
    /// check of it ([`Metadata::validated`]) fails with this reason.
    #[cfg(feature = "uniffi")]
    pub(crate) fn refused(reason: String) -> Self {
        Self {
            map: Map::new(),
            refused: Some(Box::new(reason)),
        }
    }

    pub(crate) fn validated_for(self, field: &str) -> Result<Self> {
        if let Some(reason) = &self.refused {
            return Err(Error::invalid(field, String::clone(reason)));
        }
        let mut values = 0usize;
        walk(field, &self.map, 1, &mut values)?;
        let bytes = self.to_json().len();
        if bytes > MAX_METADATA_BYTES {
            return Err(too_big(field, bytes));
        }
        Ok(self)
    }

    /// Whether the object has no key.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// A value by key.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.map.get(key)
    }

    /// The object.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.map
    }

    /// The object, owned.
    pub fn into_map(self) -> Map<String, Value> {
        self.map
    }

    /// The object as compact JSON text.
    pub fn to_json(&self) -> String {
        // A map of JSON values always serializes.
        serde_json::to_string(&self.map).unwrap_or_else(|_| "{}".to_owned())
    }
}

fn too_big(field: &str, actual: usize) -> Error {
    Error::LimitExceeded {
        limit: LimitKind::FieldLength,
        max: MAX_METADATA_BYTES as u64,
        actual: actual as u64,
        detail: Some(format!("{field} (bytes of JSON)")),
    }
}

/// Checks the keys and values of `map` at `depth`, counting values in
/// `values`; never descends past [`MAX_METADATA_DEPTH`].
fn walk(field: &str, map: &Map<String, Value>, depth: usize, values: &mut usize) -> Result<()> {
    for (k, v) in map {
        if k.is_empty() || k.chars().count() > MAX_METADATA_KEY_CHARS {
            return Err(Error::invalid(
                field,
                format!("keys must have 1 to {MAX_METADATA_KEY_CHARS} characters"),
            ));
        }
        if let Some(c) = k.chars().find(|c| c.is_control()) {
            return Err(Error::invalid(
                field,
                format!(
                    "keys must not contain control characters (found U+{:04X})",
                    c as u32
                ),
            ));
        }
        value(field, v, depth, values)?;
    }
    Ok(())
}

fn value(field: &str, v: &Value, depth: usize, values: &mut usize) -> Result<()> {
    *values += 1;
    if *values > MAX_METADATA_VALUES {
        return Err(Error::invalid(
            field,
            format!("at most {MAX_METADATA_VALUES} values in all"),
        ));
    }
    let empty = match v {
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => return Ok(()),
    };
    if depth >= MAX_METADATA_DEPTH && !empty {
        return Err(Error::invalid(
            field,
            format!("at most {MAX_METADATA_DEPTH} levels of nesting"),
        ));
    }
    match v {
        Value::Object(m) => walk(field, m, depth + 1, values),
        Value::Array(items) => {
            for item in items {
                value(field, item, depth + 1, values)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A map and one pointer: an invitation holds two of these, and every
    /// copy of it (the store's, the report's) carries them (issue 15).
    #[test]
    fn metadata_is_a_map_and_a_pointer() {
        assert_eq!(std::mem::size_of::<Metadata>(), 32);
    }

    /// Metadata is written and read back on every store round trip: a
    /// number must not drift by a digit each time (found by the `settings`
    /// fuzz target; serde_json parses floats exactly only with its
    /// `float_roundtrip` feature).
    #[test]
    fn numbers_read_back_as_they_were_written() {
        let first = Metadata::from_json(r#"{"x": 0.11111111101111055527555, "y": 1e-7}"#).unwrap();
        let again = Metadata::from_json(&first.to_json()).unwrap();
        assert_eq!(again, first);
        assert_eq!(Metadata::from_json(&again.to_json()).unwrap(), first);
    }

    #[test]
    fn objects_only_and_bounded_before_parsing() {
        assert!(Metadata::from_json(r#"{"a": 1}"#).is_ok());
        assert_eq!(Metadata::from_json("").unwrap(), Metadata::new());
        for bad in ["[]", "1", "\"x\"", "null", "{", "{\"a\":}"] {
            assert_eq!(
                Metadata::from_json(bad).map_err(|e| e.code()),
                Err("invalid_input"),
                "{bad}"
            );
        }
        // Over the size: refused whatever the text (not even JSON).
        let big = format!("{{\"a\": \"{}\"}}", "x".repeat(MAX_METADATA_BYTES));
        assert_eq!(
            Metadata::from_json(&big).map_err(|e| e.code()),
            Err("limit_exceeded")
        );
        let garbage = "[".repeat(MAX_METADATA_BYTES + 1);
        assert_eq!(
            Metadata::from_json(&garbage).map_err(|e| e.code()),
            Err("limit_exceeded")
        );
    }

    #[test]
    fn depth_values_and_keys_are_bounded() {
        let nest = |n: usize| {
            let mut s = String::from("1");
            for _ in 0..n {
                s = format!("{{\"k\": {s}}}");
            }
            s
        };
        // The top-level object plus MAX_METADATA_DEPTH levels of values.
        assert!(Metadata::from_json(&nest(MAX_METADATA_DEPTH)).is_ok());
        assert!(Metadata::from_json(&nest(MAX_METADATA_DEPTH + 1)).is_err());
        // Deep arrays, far past serde_json's own recursion limit, within
        // the byte bound.
        let deep = format!("{{\"k\": {}{}}}", "[".repeat(1000), "]".repeat(1000));
        assert!(Metadata::from_json(&deep).is_err());
        let many = format!(
            "{{{}}}",
            (0..=MAX_METADATA_VALUES)
                .map(|i| format!("\"{i}\":0"))
                .collect::<Vec<_>>()
                .join(",")
        );
        assert!(many.len() < MAX_METADATA_BYTES);
        assert!(Metadata::from_json(&many).is_err());
        let long_key = format!("{{\"{}\": 1}}", "k".repeat(MAX_METADATA_KEY_CHARS + 1));
        assert!(Metadata::from_json(&long_key).is_err());
        assert!(Metadata::from_json("{\"\": 1}").is_err());
        assert!(Metadata::from_json("{\"a\\u0000\": 1}").is_err());
        // Built in Rust: the same bounds.
        let mut map = Map::new();
        map.insert("a".into(), Value::String("x".repeat(MAX_METADATA_BYTES)));
        assert!(Metadata::from_map(map).is_err());
    }

    #[test]
    fn serializes_as_the_object_itself() {
        let m = Metadata::from_json(r#"{"b": [1, {"c": null}], "a": "x"}"#).unwrap();
        assert_eq!(m.to_json(), r#"{"a":"x","b":[1,{"c":null}]}"#);
        let back: Metadata = serde_json::from_str(&m.to_json()).unwrap();
        assert_eq!(back, m);
    }
}
