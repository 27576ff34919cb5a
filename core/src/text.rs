//! [`Text`]: an immutable text shared by its copies.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// An immutable text whose copies share one allocation: cloning it copies
/// a pointer and counts a reference, as cloning an id does.
///
/// The fields an invitation repeats into everything issuing it writes
/// (its recipient's key, role and license type, kept by the store, the
/// audit event, the batch report and the queued email) are `Text`, so
/// that one text serves them all: a `String` each was an allocation and
/// a copy per place, and most of the memory an issued invitation keeps.
///
/// It reads as a `&str` (`Deref`, `AsRef<str>`, `Borrow<str>`), compares
/// with `str`, `&str` and `String`, prints as its text, and is made from
/// either with `into()`. It serializes as a plain string, and crosses to
/// Python, Kotlin and Swift as one.
///
/// ```
/// use enlist::Text;
///
/// let role = Text::from("admin");
/// let copy = role.clone(); // no new allocation
/// assert_eq!(copy, "admin");
/// assert!(role.starts_with("ad"));
/// assert_eq!(String::from(role), "admin");
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Text(Arc<str>);

impl Text {
    /// The text, borrowed.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text as a new `String`.
    pub fn into_string(self) -> String {
        String::from(&*self.0)
    }
}

impl Default for Text {
    fn default() -> Self {
        Self::from("")
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Text {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Self(Arc::from(s))
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Self(Arc::from(s))
    }
}

impl From<&String> for Text {
    fn from(s: &String) -> Self {
        Self(Arc::from(s.as_str()))
    }
}

impl From<Arc<str>> for Text {
    fn from(s: Arc<str>) -> Self {
        Self(s)
    }
}

impl From<Text> for String {
    fn from(t: Text) -> Self {
        t.into_string()
    }
}

impl From<Text> for Arc<str> {
    fn from(t: Text) -> Self {
        t.0
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<Text> for str {
    fn eq(&self, other: &Text) -> bool {
        self == &*other.0
    }
}

impl PartialEq<Text> for &str {
    fn eq(&self, other: &Text) -> bool {
        *self == &*other.0
    }
}

impl PartialEq<Text> for String {
    fn eq(&self, other: &Text) -> bool {
        **self == *other.0
    }
}

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(TextVisitor)
    }
}

struct TextVisitor;

impl serde::de::Visitor<'_> for TextVisitor {
    type Value = Text;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Text, E> {
        Ok(Text::from(v))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Text, E> {
        Ok(Text::from(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_share_one_allocation() {
        let a = Text::from(String::from("member"));
        let b = a.clone();
        assert!(std::ptr::eq(a.as_str().as_ptr(), b.as_str().as_ptr()));
    }

    #[test]
    fn reads_and_compares_as_its_text() {
        let t = Text::from("admin");
        assert_eq!(t, "admin");
        assert_eq!("admin", t);
        assert_eq!(t, String::from("admin"));
        assert_eq!(String::from("admin"), t);
        assert_ne!(t, "Admin");
        assert_eq!(t.len(), 5);
        assert_eq!(format!("{t} {t:?}"), "admin \"admin\"");
        assert_eq!(Text::default(), "");
        // Ordered and hashed as the text: a `str` finds it in a set.
        let set: std::collections::BTreeSet<Text> = ["b", "a"].map(Text::from).into();
        assert!(set.contains("a"));
        assert_eq!(set.iter().next().map(Text::as_str), Some("a"));
    }

    #[test]
    fn serializes_as_a_plain_string() {
        let t = Text::from("a \"quoted\" text");
        let json = serde_json::to_string(&t).expect("json");
        assert_eq!(json, r#""a \"quoted\" text""#);
        let back: Text = serde_json::from_str(&json).expect("back");
        assert_eq!(back, t);
        // From an owned string too (a reader that hands over `String`s).
        let owned: Text = serde_json::from_value(serde_json::json!("x")).expect("owned");
        assert_eq!(owned, "x");
        assert!(serde_json::from_str::<Text>("1").is_err());
    }
}
