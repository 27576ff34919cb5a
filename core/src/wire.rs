//! One definition of each enum's wire names.
//!
//! Every public field-less enum of the crate has a stable snake_case name
//! per variant: the name serde writes and reads, the text the stores keep
//! in their status and kind columns, and the value of the matching Python
//! `str` enum. The names are written once, next to the enum, with
//! [`wire_names!`](crate::wire_names); everything else reads that table:
//!
//! - `as_str()`, [`Display`](std::fmt::Display) (unless the enum has a
//!   human-readable one of its own) and [`FromStr`](std::str::FromStr),
//!   whose error names the values allowed ([`UnknownName`]);
//! - `ALL` and `NAMES`, every variant and every name in declaration order;
//! - serde's `Serialize` and `Deserialize` (the enum derives neither);
//! - [`WireEnum`], for code generic over the enums (the store codecs, the
//!   bindings);
//! - [`ENUMS`], the whole table, which the Python binding exposes as
//!   `enlist._enlist._wire_names()` so that a test can compare it with the
//!   Python enums and print the fix on drift.
//!
//! ```
//! use enlist::{InvitationStatus, wire::WireEnum};
//! assert_eq!(InvitationStatus::Pending.as_str(), "pending");
//! assert_eq!("revoked".parse::<InvitationStatus>().ok(), Some(InvitationStatus::Revoked));
//! let err = "open".parse::<InvitationStatus>().unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "unknown InvitationStatus \"open\": expected one of staged, pending, accepted, declined, revoked, expired"
//! );
//! assert_eq!(serde_json::to_string(&InvitationStatus::Expired).unwrap(), "\"expired\"");
//! assert_eq!(<InvitationStatus as WireEnum>::TYPE_NAME, "InvitationStatus");
//! ```

use crate::error::StoreError;
use std::fmt;

#[doc(hidden)]
pub use serde as __serde;

/// An enum whose variants each have one stable wire name. Implemented by
/// [`wire_names!`](crate::wire_names) only.
pub trait WireEnum: Sized + 'static {
    /// The enum's name, as the bindings name their copy of it.
    const TYPE_NAME: &'static str;
    /// Every wire name, in declaration order.
    const NAMES: &'static [&'static str];
    /// Every variant, in declaration order (the order of [`Self::NAMES`]).
    fn all() -> &'static [Self];
    /// The variant's wire name.
    fn wire_name(&self) -> &'static str;
    /// The variant named `name`, if any (exact match: no case folding).
    fn from_wire_name(name: &str) -> Option<Self>;
}

/// A name that is not one of an enum's wire names: the error of every
/// `FromStr` that [`wire_names!`](crate::wire_names) writes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown {type_name} {value:?}: expected one of {}", allowed.join(", "))]
pub struct UnknownName {
    /// The enum.
    pub type_name: &'static str,
    /// The text given, cut to its first 64 characters (it may come from
    /// anyone: an error message must not carry a megabyte of it).
    pub value: String,
    /// The names allowed.
    pub allowed: &'static [&'static str],
}

impl UnknownName {
    /// The error for `value`, not a wire name of `T`.
    pub fn new<T: WireEnum>(value: &str) -> Self {
        const KEEP: usize = 64;
        let value = match value.char_indices().nth(KEEP) {
            Some((cut, _)) => format!("{}…", &value[..cut]),
            None => value.to_owned(),
        };
        Self {
            type_name: T::TYPE_NAME,
            value,
            allowed: T::NAMES,
        }
    }
}

/// A stored name that no variant has is a corrupt row: what a store
/// returns when a status or kind column holds anything else.
impl From<UnknownName> for StoreError {
    fn from(e: UnknownName) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

/// Writes, from one table of `Variant => "name"`, everything an enum's
/// wire names are used for (see [the module](crate::wire)). Invoke it after
/// the enum, whose derive list must not have `Serialize` or `Deserialize`:
///
/// ```
/// /// A colour.
/// #[derive(Clone, Copy, Debug, PartialEq, Eq)]
/// pub enum Colour {
///     /// Red.
///     Red,
///     /// Dark blue.
///     DarkBlue,
/// }
/// enlist::wire_names! { Colour { Red => "red", DarkBlue => "dark_blue" } }
///
/// assert_eq!(Colour::DarkBlue.to_string(), "dark_blue");
/// assert_eq!(Colour::NAMES, ["red", "dark_blue"]);
/// assert_eq!("red".parse::<Colour>().ok(), Some(Colour::Red));
/// assert_eq!(serde_json::to_string(&Colour::ALL).unwrap(), r#"["red","dark_blue"]"#);
/// ```
///
/// An enum with a human-readable `Display` of its own ends the table with
/// `without Display`.
#[macro_export]
macro_rules! wire_names {
    ($ty:ident { $($variant:ident => $name:literal),+ $(,)? } without Display) => {
        $crate::__wire_names_core! { $ty { $($variant => $name),+ } }
    };
    ($ty:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        $crate::__wire_names_core! { $ty { $($variant => $name),+ } }

        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// The part of [`wire_names!`](crate::wire_names) shared by both forms.
#[doc(hidden)]
#[macro_export]
macro_rules! __wire_names_core {
    ($ty:ident { $($variant:ident => $name:literal),+ }) => {
        impl $ty {
            #[doc = concat!("Every `", stringify!($ty), "`, in declaration order.")]
            pub const ALL: [$ty; { [$($name),+].len() }] = [$($ty::$variant),+];

            #[doc = concat!("The wire name of every `", stringify!($ty), "`, in the order of `ALL`.")]
            pub const NAMES: [&'static str; { [$($name),+].len() }] = [$($name),+];

            /// The stable snake_case name: what serde, the stores and the
            /// bindings use.
            pub const fn as_str(&self) -> &'static str {
                match self {
                    $($ty::$variant => $name),+
                }
            }
        }

        impl $crate::wire::WireEnum for $ty {
            const TYPE_NAME: &'static str = stringify!($ty);
            const NAMES: &'static [&'static str] = &$ty::NAMES;
            fn all() -> &'static [Self] {
                &$ty::ALL
            }
            fn wire_name(&self) -> &'static str {
                self.as_str()
            }
            fn from_wire_name(name: &str) -> Option<Self> {
                match name {
                    $($name => Some($ty::$variant),)+
                    _ => None,
                }
            }
        }

        impl ::std::str::FromStr for $ty {
            type Err = $crate::wire::UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                <$ty as $crate::wire::WireEnum>::from_wire_name(s)
                    .ok_or_else(|| $crate::wire::UnknownName::new::<$ty>(s))
            }
        }

        impl $crate::wire::__serde::Serialize for $ty {
            fn serialize<S: $crate::wire::__serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> $crate::wire::__serde::Deserialize<'de> for $ty {
            fn deserialize<D: $crate::wire::__serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_str($crate::wire::NameVisitor::<$ty>::new())
            }
        }
    };
}

/// The serde visitor of a [`WireEnum`]: a string that must be one of its
/// names (serde's own "unknown variant ..., expected one of ..." otherwise).
#[doc(hidden)]
pub struct NameVisitor<T>(std::marker::PhantomData<T>);

impl<T> NameVisitor<T> {
    /// The visitor.
    pub fn new() -> Self {
        Self(std::marker::PhantomData)
    }
}

impl<T> Default for NameVisitor<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: WireEnum> serde::de::Visitor<'_> for NameVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a {} name", T::TYPE_NAME)
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<T, E> {
        T::from_wire_name(v).ok_or_else(|| E::unknown_variant(v, T::NAMES))
    }
}

/// The listed enums' wire tables, and (under `cfg(test)`) a check of each.
macro_rules! registry {
    ($($ty:ty),+ $(,)?) => {
        /// Every enum of the crate with wire names, as `(type name, names)`:
        /// the table the bindings' copies are checked against.
        pub const ENUMS: &[(&str, &[&str])] = &[
            $((<$ty as WireEnum>::TYPE_NAME, <$ty as WireEnum>::NAMES)),+
        ];

        #[cfg(test)]
        fn check_every_enum() {
            $(tests::check::<$ty>();)+
        }
    };
}

registry! {
    crate::member::MemberStatus,
    crate::member::MemberKind,
    crate::member::MemberSort,
    crate::invitation::InvitationStatus,
    crate::role::GroupRole,
    crate::role::Permission,
    crate::outbox::OutboxStatus,
    crate::group::GroupSort,
    crate::import_file::ImportFormat,
    crate::error::LimitKind,
    crate::error::ErrorFamily,
    crate::error::Feature,
    crate::error::RegistrationField,
    crate::error::EntityKind,
    crate::error::UniqueRule,
    crate::email::AddressWarning,
    crate::email::AddressPart,
    crate::engine::BulkAction,
    crate::engine::BulkOutcome,
    crate::report::ReportKind,
    crate::report::RowOutcome,
    crate::engine::DirectoryField,
    crate::engine::BulkRowStatus,
    crate::people::PersonLabel,
    crate::people::PersonSource,
    crate::people::PeopleSort,
    crate::organization::DeleteMode,
    crate::domain::DomainStatus,
    crate::domain::DomainVerificationMethod,
    crate::domain::DomainEnrollment,
    crate::domain::MembershipRequestStatus,
    crate::link::LinkStatus,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde::Serialize;
    use serde::de::DeserializeOwned;
    use std::collections::BTreeSet;
    use std::fmt::Debug;
    use std::str::FromStr;

    /// Serde's form of each variant is its name, and name, serde form and
    /// `FromStr` all round-trip; names are unique snake_case.
    pub(crate) fn check<T>()
    where
        T: WireEnum + Serialize + DeserializeOwned + FromStr<Err = UnknownName> + Debug + PartialEq,
    {
        assert_eq!(T::all().len(), T::NAMES.len(), "{}", T::TYPE_NAME);
        let unique: BTreeSet<&str> = T::NAMES.iter().copied().collect();
        assert_eq!(
            unique.len(),
            T::NAMES.len(),
            "{}: duplicate names",
            T::TYPE_NAME
        );
        for (v, name) in T::all().iter().zip(T::NAMES) {
            assert_eq!(v.wire_name(), *name, "{}", T::TYPE_NAME);
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{}: {name:?} is not snake_case",
                T::TYPE_NAME
            );
            // Every enum derived serde with `rename_all = "snake_case"`
            // before the table: its names are still that rule's, so the
            // stored JSON bodies and status columns load as they did.
            assert_eq!(
                *name,
                serde_snake_case(&format!("{v:?}")),
                "{}: not the name serde gave it before",
                T::TYPE_NAME
            );
            let json = serde_json::to_value(v).expect("serializes");
            assert_eq!(json, serde_json::Value::String((*name).to_owned()));
            let back: T = serde_json::from_value(json).expect("deserializes");
            assert_eq!(&back, v);
            assert_eq!(name.parse::<T>().as_ref(), Ok(v));
            assert_eq!(T::from_wire_name(name).as_ref(), Some(v));
        }
        let err = "NoSuchName".parse::<T>().expect_err("unknown");
        assert_eq!(err.allowed, T::NAMES);
        let err = serde_json::from_str::<T>("\"NoSuchName\"").expect_err("unknown");
        assert!(err.to_string().contains(T::NAMES[0]), "{err}");
    }

    /// serde's `rename_all = "snake_case"` of a variant name (serde_derive's
    /// `RenameRule::SnakeCase`).
    fn serde_snake_case(variant: &str) -> String {
        let mut out = String::new();
        for (i, c) in variant.char_indices() {
            if c.is_uppercase() && i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        }
        out
    }

    #[test]
    fn every_enum_serializes_as_its_wire_name_and_round_trips() {
        assert_eq!(serde_snake_case("ManageInviteLink"), "manage_invite_link");
        check_every_enum();
    }

    /// Every `wire_names!` of the crate is in [`ENUMS`] (and so checked
    /// above and exposed to the bindings).
    #[test]
    fn every_wire_enum_is_registered() {
        fn scan(dir: &std::path::Path, found: &mut BTreeSet<String>) {
            for entry in std::fs::read_dir(dir).expect("source dir") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    scan(&path, found);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).expect("source");
                    for rest in text.split("\nwire_names! {").skip(1) {
                        let name: String = rest
                            .trim_start()
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        found.insert(name);
                    }
                }
            }
        }
        let mut found = BTreeSet::new();
        scan(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut found,
        );
        let listed: BTreeSet<String> = ENUMS.iter().map(|(n, _)| (*n).to_owned()).collect();
        assert!(found.len() >= 13, "scan found too little: {found:?}");
        assert_eq!(
            found, listed,
            "wire_names! enums vs the registry in wire.rs"
        );
    }

    #[test]
    fn unknown_names_are_cut_in_errors() {
        let long = "é".repeat(10_000);
        let err = long.parse::<crate::MemberStatus>().expect_err("unknown");
        assert_eq!(err.value.chars().count(), 65);
        assert!(
            err.to_string()
                .contains("expected one of active, inactive, removed")
        );
        let store: StoreError = err.into();
        assert!(matches!(store, StoreError::Corrupt(_)));
    }

    #[test]
    fn the_table_keeps_todays_names() {
        // The stored text of the SQLite and Postgres rows: changing one of
        // these breaks every database written before.
        assert_eq!(
            crate::InvitationStatus::NAMES,
            [
                "staged", "pending", "accepted", "declined", "revoked", "expired"
            ]
        );
        assert_eq!(
            crate::MemberStatus::NAMES,
            ["active", "inactive", "removed"]
        );
        assert_eq!(crate::MemberKind::NAMES, ["member", "guest"]);
        assert_eq!(
            crate::OutboxStatus::NAMES,
            ["queued", "sent", "failed", "superseded"]
        );
    }
}
