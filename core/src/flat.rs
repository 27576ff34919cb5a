//! Reading a struct whose serialized map carries a few more keys beside
//! its own fields, what `#[serde(flatten)]` reads, without flatten's cost.
//!
//! `StoredInvitation` is serialized as its `Invitation`'s fields with
//! `secret_hash` and `sealed_code` beside them. Deserialized with
//! `#[serde(flatten)]`, serde first copies every key and value of the map
//! into a buffer of its own and then reads the `Invitation` from that
//! buffer: about 40,000 instructions for one invitation's JSON, four times
//! a direct read (it was 4 % of an accept on SQLite, and every invitation of
//! a listed page paid it). Here the inner struct reads the map directly;
//! the map hands it every key except the extra ones, whose values go to
//! [`Extras::take`] as they pass.

use serde::de::value::StrDeserializer;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

/// The extra keys of a map and where their values go.
pub(crate) trait Extras<'de>: Default {
    /// The extra keys.
    const KEYS: &'static [&'static str];
    /// Reads the value of `key` (one of [`Extras::KEYS`]) from `map`.
    fn take<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error>;
}

/// Reads `T` from `deserializer`'s map, and the extra keys' values into
/// `E`.
pub(crate) fn read<'de, D, T, E>(deserializer: D) -> Result<(T, E), D::Error>
where
    D: Deserializer<'de>,
    T: de::Deserialize<'de>,
    E: Extras<'de>,
{
    let mut extras = E::default();
    let inner = T::deserialize(Outer {
        inner: deserializer,
        extras: &mut extras,
    })?;
    Ok((inner, extras))
}

/// The deserializer `T` reads from: the same map, less the extra keys.
struct Outer<'a, D, E> {
    inner: D,
    extras: &'a mut E,
}

impl<'de, D: Deserializer<'de>, E: Extras<'de>> Deserializer<'de> for Outer<'_, D, E> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.inner.deserialize_map(Wrap {
            visitor,
            extras: self.extras,
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.deserialize_any(visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

/// The visitor handed to the real deserializer: gives `T`'s visitor the
/// map with the extra keys taken out.
struct Wrap<'a, V, E> {
    visitor: V,
    extras: &'a mut E,
}

impl<'de, V: Visitor<'de>, E: Extras<'de>> Visitor<'de> for Wrap<'_, V, E> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.visitor.expecting(f)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_map(Less {
            map,
            extras: self.extras,
        })
    }
}

/// The map less the extra keys.
struct Less<'a, A, E> {
    map: A,
    extras: &'a mut E,
}

impl<'de, A: MapAccess<'de>, E: Extras<'de>> MapAccess<'de> for Less<'_, A, E> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        while let Some(Key(key)) = self.map.next_key::<Key<'de>>()? {
            if E::KEYS.contains(&key.as_ref()) {
                self.extras.take(&key, &mut self.map)?;
                continue;
            }
            return seed
                .deserialize(StrDeserializer::<A::Error>::new(&key))
                .map(Some);
        }
        Ok(None)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        self.map.next_value_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.map.size_hint()
    }
}

/// A key, borrowed from the input when it can be (JSON keys without
/// escapes are).
struct Key<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_identifier(KeyVisitor)
    }
}
