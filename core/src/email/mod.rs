//! The paste-box parser and the address validator.
//!
//! One parser for everything a person types or pastes into a recipients
//! field: [`parse_recipients`] reads a whole paste, [`parse_address`] reads
//! one entry (a single-address form field, an accepted invitation, a CSV
//! cell). Both share the same grammar and the same validator, so an entry
//! means the same thing wherever it is typed.
//!
//! # What a person can type
//!
//! Entries are separated by commas, semicolons, line breaks (the Enter key)
//! or white space, and each entry is one of
//!
//! * `ada@example.com`
//! * `Ada Lovelace <ada@example.com>` (also `Ada<ada@example.com>` or
//!   `<ada@example.com>`)
//! * `"Lovelace, Ada" <ada@example.com>`: a comma or semicolon inside double
//!   quotes is part of the name, not a separator.
//!
//! Spaces between the words of a name do not separate entries: words
//! without an `@` that are followed by `<address>` are its display name.
//! Words without an `@` that are not followed by an `<address>` form one
//! fragment that is reported as invalid (for example `ada at example.com`).
//! A stray double quote or `<` with no partner on the same line is read as
//! an ordinary character, so one typo spoils one entry, not the rest of the
//! paste. A `<address>` that follows an address or another `<address>` with
//! only spaces between belongs to the same entry, which is refused
//! ([`AddressError::AddressInName`], [`AddressError::TwoAddresses`]): in
//! `ada@example.com <eve@evil.example>` a mail client shows Ada's address
//! as the name of Eve's, and reading it as two entries would invite Eve
//! unnoticed.
//!
//! Every fragment is reported with its byte [`Span`] and either a
//! [`Mailbox`] or a precise [`AddressError`]; duplicates (same
//! [`Mailbox::key`]) are reported as [`EntryOutcome::Duplicate`] and do not
//! count as recognized again.
//!
//! # Rules for addresses
//!
//! * Dot-atom local parts only (RFC 5322 `atext` plus dots, no leading,
//!   trailing or doubled dot). Internationalized local parts (RFC 6531) are
//!   accepted with [`AddressWarning::InternationalLocalPart`], except
//!   invisible, control, bidi, private-use and non-characters, a leading
//!   combining mark, and `;` `≮` `≯` (U+037E, U+226E, U+226F: canonically
//!   `;`, `<`, `>`).
//! * Domains: letters, digits and hyphens in dot-separated labels (at least
//!   two labels), no label starting or ending with a hyphen, no `ab--cd`
//!   label unless it is valid punycode (`xn--`), and a top-level label that
//!   ends with a letter, as every top-level domain does (so never all
//!   digits).
//!   Internationalized domains are accepted with
//!   [`AddressWarning::InternationalDomain`] and converted with UTS #46
//!   (STD3 rules, non-transitional) through the `idna` crate.
//! * RFC 5321 lengths: local part ≤ 64 octets, domain ≤ 255 octets as typed
//!   and ≤ 253 in ASCII form, labels ≤ 63, whole address ≤ 254 octets
//!   (as typed, in ASCII form and in normalized form).
//! * No control characters anywhere; no CR, LF, NUL, other controls, line
//!   separators or bidi overrides in display names either (header
//!   injection, spoofing).
//! * No RFC 2047 encoded word (`=?utf-8?q?...?=`) in a local part or a
//!   display name: mail software may decode it, after every check here,
//!   into another address or a line break.
//! * Display names: at most [`MAX_DISPLAY_NAME_CHARS`] characters once
//!   unquoted (the limit of every name field), no double quote or angle
//!   bracket inside (escaped or quoted), no invisible character (zero-width
//!   and format characters, soft hyphen, blank fillers), and no address
//!   other than the entry's own (`"ada@example.com" <eve@evil.example>`).
//!   A name that is just the entry's own address is dropped.
//! * Look-alikes are flagged with [`AddressWarning::Confusable`]: fullwidth
//!   and other compatibility forms, labels mixing scripts (beyond the
//!   Latin + CJK combinations of UTS #39), and Cyrillic/Greek labels made
//!   only of letters that look Latin (`аррӏе`).
//! * Every accepted address also passes the `email_address` crate (bare
//!   local part and ASCII domain; the crate's display-name handling and its
//!   Unicode character class are not used, see
//!   `tests/email_data/EMAIL_ADDRESS_CRATE.md`).
//!
//! # Deliberate divergences from RFC 5322
//!
//! Refused although RFC 5322 allows them, because an invitation address
//! must be something a person can read, retype and receive mail at:
//! quoted local parts (`"john doe"@example.com`), comments
//! (`ada(x)@example.com`), domain literals and IP literals
//! (`ada@[192.0.2.1]`), bare IP addresses and dotless domains
//! (`ada@localhost`, `test@io`), obsolete folding white space and routes,
//! groups (`Team: a@x.com;`), and RFC 2047 encoded words (refused, not
//! decoded).
//! Surrounding white space of an entry is trimmed.
//!
//! # Normalization
//!
//! [`Mailbox::address`] is the local part as typed, `@`, and the domain as
//! UTS #46 maps it: lowercased in ASCII if typed in ASCII, otherwise its
//! Unicode form (lowercase, NFC, compatibility forms folded, `。` read as a
//! dot), the very form its key encodes. Never `str::to_lowercase`, whose
//! final-sigma rule made `Σ` ending a word a `ς`, which IDNA keeps as a
//! letter of its own: the stored address parsed again to another key.
//! [`Mailbox::key`] (the uniqueness key) is the local part lowercased, `@`,
//! and the domain IDNA-encoded, so `Ada@Example.COM`, `ada@example.com` and
//! `ADA@ＥＸＡＭＰＬＥ.com` share one key. A non-ASCII local part is
//! normalized for the key like a domain label (UTS #46 mapping: lowercase,
//! NFC, compatibility forms folded) when the result is still a valid local
//! part, and otherwise lowercased character by character (`Σ` is `σ`
//! wherever it stands); the length limits apply to the key too.
//!
//! The key is a fixed point: the address and the key of a mailbox parse
//! again to the same key (and the address to itself), so what a store
//! keeps finds the same person ("already invited", "already a member").
//! Property tests and the paste fuzz target assert it.

use std::borrow::Cow;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::hash::BuildHasher;

use crate::wire_names;
use foldhash::fast::RandomState;
use idna::uts46::{AsciiDenyList, DnsLength, ErrorPolicy, Hyphens, ProcessingSuccess, Uts46};
use serde::{Deserialize, Serialize};

/// Longest local part, in UTF-8 octets (RFC 5321 §4.5.3.1.1).
pub const MAX_LOCAL_PART_LEN: usize = 64;
/// Longest domain in its ASCII (IDNA) form, in octets (DNS: 253 without
/// the root dot).
pub const MAX_DOMAIN_LEN: usize = 253;
/// Longest domain as typed, in UTF-8 octets (RFC 5321 §4.5.3.1.2).
pub const MAX_DOMAIN_UTF8_LEN: usize = 255;
/// Longest domain label, in octets of its ASCII form (RFC 1035).
pub const MAX_LABEL_LEN: usize = 63;
/// Longest address, in octets (RFC 5321 path limit of 256 minus the angle
/// brackets).
pub const MAX_ADDRESS_LEN: usize = 254;
/// Longest display name, in characters once unquoted: the limit of every
/// other name field.
pub const MAX_DISPLAY_NAME_CHARS: usize = 200;

const _: () = assert!(MAX_DISPLAY_NAME_CHARS == crate::engine::MAX_NAME_CHARS);

/// Byte offsets of a fragment in the parsed text (`text[start..end]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// The fragment in `text`, the string this span was computed on (empty
    /// if the span does not fit it).
    pub fn slice<'a>(&self, text: &'a str) -> &'a str {
        text.get(self.start..self.end).unwrap_or("")
    }
}

/// Something suspicious about an address that is still valid: a form
/// should show it, an invitation may still go out.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AddressWarning {
    /// The domain has non-ASCII characters or punycode (`xn--`) labels (an
    /// internationalized domain).
    InternationalDomain,
    /// Characters of several scripts, or look-alike characters, that may
    /// imitate another address.
    Confusable,
    /// The part before the `@` has non-ASCII characters: only mail servers
    /// with SMTPUTF8 (RFC 6531) can deliver to it.
    InternationalLocalPart,
}

wire_names! {
    AddressWarning {
        InternationalDomain => "international_domain",
        Confusable => "confusable",
        InternationalLocalPart => "international_local_part",
    } without Display
}

impl AddressWarning {
    /// A stable snake_case code.
    pub fn code(&self) -> &'static str {
        self.as_str()
    }
}

impl fmt::Display for AddressWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AddressWarning::InternationalDomain => {
                "the domain is internationalized (non-ASCII): check it is the one you meant"
            }
            AddressWarning::Confusable => {
                "the address mixes scripts or uses look-alike characters: check it is not an imitation"
            }
            AddressWarning::InternationalLocalPart => {
                "the part before the @ has non-ASCII characters: some mail servers cannot deliver to it"
            }
        })
    }
}

/// Which part of an address a problem is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AddressPart {
    /// The part before the `@` (the mailbox name).
    LocalPart,
    /// The part after the `@`.
    Domain,
}

wire_names! {
    AddressPart {
        LocalPart => "local_part",
        Domain => "domain",
    } without Display
}

impl fmt::Display for AddressPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AddressPart::LocalPart => "part before the @",
            AddressPart::Domain => "domain (the part after the @)",
        })
    }
}

/// A code point written as `U+XXXX`.
struct CodePoint(char);

fn cp(c: &char) -> CodePoint {
    CodePoint(*c)
}

impl fmt::Display for CodePoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "U+{:04X}", u32::from(self.0))
    }
}

/// Why a fragment is not an address enlist accepts.
///
/// Every `position` is a 0-based character index in the entry: in
/// [`PasteEntry::text`] for [`parse_recipients`], in the string given to
/// [`parse_address`]. Messages count characters from 1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case", tag = "code", content = "detail")]
#[non_exhaustive]
pub enum AddressError {
    /// Nothing there.
    #[error("nothing to read here: type an address such as ada@example.com")]
    Empty,
    /// No `@`.
    #[error(
        "there is no @: an address looks like ada@example.com or Ada Lovelace <ada@example.com>"
    )]
    MissingAt,
    /// A character that looks like `@` (fullwidth `＠`, small `﹫`) and no
    /// real `@`.
    #[error("'{character}' (character {}) looks like @ but is not one: type a plain @", .position + 1)]
    LookalikeAt {
        /// The look-alike.
        character: char,
        /// Where it is.
        position: usize,
    },
    /// More than one `@` outside quotes.
    #[error(
        "more than one @ (another one at character {}): an address has exactly one; separate two addresses with a comma",
        .position + 1
    )]
    MultipleAt {
        /// Where the second `@` is.
        position: usize,
    },
    /// [`parse_address`] was given several entries (separated by commas,
    /// semicolons, line breaks or spaces).
    #[error(
        "{count} entries where one address was expected: enter one address; a name with a comma must be quoted, like \"Lovelace, Ada\" <ada@example.com>"
    )]
    MultipleEntries {
        /// How many fragments the text splits into.
        count: usize,
    },
    /// Nothing before the `@`.
    #[error("nothing before the @: add the mailbox name, like ada@example.com")]
    EmptyLocalPart,
    /// Nothing after the `@`.
    #[error("nothing after the @: add the domain, like ada@example.com")]
    EmptyDomain,
    /// The local part is longer than RFC 5321 allows.
    #[error("the part before the @ is {len} bytes long, the limit is {max}: check the address")]
    LocalPartTooLong {
        /// Its length in UTF-8 octets.
        len: usize,
        /// The limit ([`MAX_LOCAL_PART_LEN`]).
        max: usize,
    },
    /// The domain is longer than DNS allows.
    #[error("the domain is {len} bytes long, the limit is {max}: check the address")]
    DomainTooLong {
        /// Its length in octets (as typed, or in ASCII form).
        len: usize,
        /// The limit ([`MAX_DOMAIN_UTF8_LEN`] as typed, [`MAX_DOMAIN_LEN`]
        /// in ASCII form).
        max: usize,
    },
    /// A domain label is longer than DNS allows.
    #[error(
        "the domain label \"{label}\" is {len} bytes long, the limit is {max}: check the domain"
    )]
    LabelTooLong {
        /// The label (in ASCII form).
        label: String,
        /// Its length in octets.
        len: usize,
        /// The limit ([`MAX_LABEL_LEN`]).
        max: usize,
    },
    /// The whole address is longer than RFC 5321 allows.
    #[error("the address is {len} bytes long, the limit is {max}: check the address")]
    AddressTooLong {
        /// Its length in octets (as typed, in ASCII form or normalized,
        /// whichever is over).
        len: usize,
        /// The limit ([`MAX_ADDRESS_LEN`]).
        max: usize,
    },
    /// A part starts with a dot.
    #[error("the {part} starts with a dot: remove it")]
    LeadingDot {
        /// Which part.
        part: AddressPart,
    },
    /// A part ends with a dot.
    #[error("the {part} ends with a dot: remove it")]
    TrailingDot {
        /// Which part.
        part: AddressPart,
    },
    /// A part has two dots in a row.
    #[error("the {part} has two dots in a row: remove one")]
    ConsecutiveDots {
        /// Which part.
        part: AddressPart,
    },
    /// A character that is not allowed in that part of an address.
    #[error(
        "the {part} contains '{}' ({}, character {}), which is not allowed there: remove it",
        .character.escape_debug(), cp(.character), .position + 1
    )]
    InvalidCharacter {
        /// The character.
        character: char,
        /// Where it is.
        position: usize,
        /// Which part.
        part: AddressPart,
    },
    /// A control character (line break, tab, NUL, ...) in an address.
    #[error(
        "contains the control character {} (character {}): remove it; a line break separates entries, it cannot be inside one",
        cp(.character), .position + 1
    )]
    ControlCharacter {
        /// The character.
        character: char,
        /// Where it is.
        position: usize,
    },
    /// An invisible, formatting, bidi, private-use or non-character code
    /// point, or a non-ASCII space, in an address.
    #[error(
        "contains the invisible or unsafe character {} (character {}), which can disguise an address: remove it",
        cp(.character), .position + 1
    )]
    UnsafeCharacter {
        /// The character.
        character: char,
        /// Where it is.
        position: usize,
    },
    /// A space inside an address.
    #[error(
        "contains a space (character {}): remove it, or write a name as Ada Lovelace <ada@example.com>",
        .position + 1
    )]
    Whitespace {
        /// Where it is.
        position: usize,
    },
    /// The local part starts with a combining mark.
    #[error(
        "the part before the @ starts with the combining mark {} (character {}): remove it",
        cp(.character), .position + 1
    )]
    LeadingCombiningMark {
        /// The mark.
        character: char,
        /// Where it is.
        position: usize,
    },
    /// A quoted local part (`"john doe"@example.com`): valid RFC 5322, but
    /// refused for invitations.
    #[error(
        "quoted addresses like \"john doe\"@example.com are not accepted: use an address without double quotes"
    )]
    QuotedLocalPart,
    /// A comment in parentheses: valid RFC 5322, but refused.
    #[error(
        "comments in parentheses are not accepted: remove the ( ) text, or write a name as Ada <ada@example.com>"
    )]
    Comment,
    /// A domain literal (`ada@[192.0.2.1]`, `ada@[IPv6:...]`): valid RFC
    /// 5321, but refused.
    #[error(
        "addresses with a bracketed IP or literal domain (like ada@[192.0.2.1]) are not accepted: use an address with a domain name"
    )]
    DomainLiteral,
    /// The domain is an IPv4 address (`ada@192.0.2.1`).
    #[error("the domain is an IP address: use an address with a domain name")]
    IpAddressDomain,
    /// The domain has a single label (`ada@localhost`, `test@io`).
    #[error("the domain \"{domain}\" has no dot: use a full domain such as example.com")]
    DomainNoDot {
        /// The domain as typed.
        domain: String,
    },
    /// A domain label starts or ends with a hyphen.
    #[error("the domain label \"{label}\" starts or ends with a hyphen: check the domain")]
    LabelHyphen {
        /// The label.
        label: String,
    },
    /// A domain label has hyphens in its 3rd and 4th positions and is not
    /// valid punycode (reserved by IDNA 2008).
    #[error(
        "the domain label \"{label}\" has hyphens in its 3rd and 4th positions, which is reserved: check the domain"
    )]
    ReservedLabel {
        /// The label.
        label: String,
    },
    /// An `xn--` label that is not valid punycode of an IDNA label.
    #[error("the domain label \"{label}\" is not valid punycode (xn--): check the domain")]
    InvalidPunycode {
        /// The label.
        label: String,
    },
    /// An internationalized domain that IDNA (UTS #46) refuses for a reason
    /// not covered by another variant (bidi rule, joiners, ...).
    #[error("the domain is not a valid internationalized domain name (IDNA): check its characters")]
    InvalidInternationalDomain,
    /// The top-level label is all digits (`ada@example.123`).
    #[error(
        "the domain ends with the all-digit label \"{tld}\", which is not a top-level domain: check the domain"
    )]
    NumericTld {
        /// The last label.
        tld: String,
    },
    /// The top-level label does not end with a letter (`ada@example.tld-2`);
    /// every top-level domain does.
    #[error(
        "the domain ends with \"{tld}\", which is not a top-level domain (they end with a letter): check the domain"
    )]
    InvalidTld {
        /// The last label (in ASCII form).
        tld: String,
    },
    /// A control, line-break, invisible or bidi-override character in the
    /// display name (refused: header injection, spoofing).
    #[error(
        "the name contains the control, invisible or direction character {} (character {}), which is refused: retype the name",
        cp(.character), .position + 1
    )]
    DisplayNameControl {
        /// The character.
        character: char,
        /// Where it is.
        position: usize,
    },
    /// `@`, `,`, `;`, `<`, `>` in a display name outside quotes.
    #[error(
        "the name contains '{character}' (character {}) outside quotes: put the name in double quotes, like \"Lovelace, Ada\" <ada@example.com>",
        .position + 1
    )]
    DisplayNameSpecial {
        /// The character.
        character: char,
        /// Where it is.
        position: usize,
    },
    /// A double quote is not closed.
    #[error("a double quote is not closed: close it, like \"Lovelace, Ada\" <ada@example.com>")]
    UnbalancedQuote,
    /// A `<` without its `>`.
    #[error("'<' without a closing '>': write Ada Lovelace <ada@example.com>")]
    MissingClosingBracket,
    /// A `>` without `<`, or a `<` inside `<...>`.
    #[error(
        "unexpected '{character}' (character {}): write Ada Lovelace <ada@example.com>",
        .position + 1
    )]
    UnexpectedBracket {
        /// The bracket.
        character: char,
        /// Where it is.
        position: usize,
    },
    /// Text after the closing `>`.
    #[error("text after the closing '>': put the name before the <address>")]
    TrailingText,
    /// A second `<address>` in the same entry (`Ada <ada@example.com>
    /// <eve@evil.example>`, or two `<...>` with only spaces between): which
    /// one is meant cannot be told, and the second would ride along.
    #[error(
        "a second <address> (character {}) follows the first without a comma: separate two addresses with a comma",
        .position + 1
    )]
    TwoAddresses {
        /// Where the second `<` is.
        position: usize,
    },
    /// The name holds an address other than the one in `<...>`
    /// (`"Ada <ada@example.com>" <eve@evil.example>`, or
    /// `ada@example.com <eve@evil.example>`): a form or a mail client would
    /// show one address while the invitation goes to another.
    #[error(
        "the name contains \"{found}\" (character {}), which looks like an address, but the invitation would go to the address in <...>: remove it from the name, or separate two addresses with a comma",
        .position + 1
    )]
    AddressInName {
        /// The address-like text in the name.
        found: String,
        /// Where it starts.
        position: usize,
    },
    /// An RFC 2047 encoded word (`=?utf-8?q?...?=`) in the name or before
    /// the `@`: mail software may decode it into other characters (another
    /// address, a line break) after every check here.
    #[error(
        "contains a MIME encoded word (=?...?=, character {}): type the text itself, not its mail-header encoding",
        .position + 1
    )]
    EncodedWord {
        /// Where the `=?` is.
        position: usize,
    },
    /// A double quote or angle bracket inside the name (escaped, or in
    /// quotes): it would let the name pose as an address in a mail header.
    #[error(
        "the name contains '{character}' (character {}), which a name cannot hold: remove it",
        .position + 1
    )]
    DisplayNameCharacter {
        /// The character.
        character: char,
        /// Where it is.
        position: usize,
    },
    /// The name is longer than [`MAX_DISPLAY_NAME_CHARS`].
    #[error("the name is {len} characters long, the limit is {max}: shorten it")]
    DisplayNameTooLong {
        /// Its length in characters, unquoted.
        len: usize,
        /// The limit ([`MAX_DISPLAY_NAME_CHARS`]).
        max: usize,
    },
    /// Refused by the `email_address` crate after passing enlist's own
    /// rules (a safety net; not expected to happen).
    #[error("not a valid address ({reason}): check the address")]
    Rejected {
        /// The crate's reason.
        reason: String,
    },
}

impl AddressError {
    /// A stable snake_case code (the serde tag).
    pub fn code(&self) -> &'static str {
        match self {
            AddressError::Empty => "empty",
            AddressError::MissingAt => "missing_at",
            AddressError::LookalikeAt { .. } => "lookalike_at",
            AddressError::MultipleAt { .. } => "multiple_at",
            AddressError::MultipleEntries { .. } => "multiple_entries",
            AddressError::EmptyLocalPart => "empty_local_part",
            AddressError::EmptyDomain => "empty_domain",
            AddressError::LocalPartTooLong { .. } => "local_part_too_long",
            AddressError::DomainTooLong { .. } => "domain_too_long",
            AddressError::LabelTooLong { .. } => "label_too_long",
            AddressError::AddressTooLong { .. } => "address_too_long",
            AddressError::LeadingDot { .. } => "leading_dot",
            AddressError::TrailingDot { .. } => "trailing_dot",
            AddressError::ConsecutiveDots { .. } => "consecutive_dots",
            AddressError::InvalidCharacter { .. } => "invalid_character",
            AddressError::ControlCharacter { .. } => "control_character",
            AddressError::UnsafeCharacter { .. } => "unsafe_character",
            AddressError::Whitespace { .. } => "whitespace",
            AddressError::LeadingCombiningMark { .. } => "leading_combining_mark",
            AddressError::QuotedLocalPart => "quoted_local_part",
            AddressError::Comment => "comment",
            AddressError::DomainLiteral => "domain_literal",
            AddressError::IpAddressDomain => "ip_address_domain",
            AddressError::DomainNoDot { .. } => "domain_no_dot",
            AddressError::LabelHyphen { .. } => "label_hyphen",
            AddressError::ReservedLabel { .. } => "reserved_label",
            AddressError::InvalidPunycode { .. } => "invalid_punycode",
            AddressError::InvalidInternationalDomain => "invalid_international_domain",
            AddressError::NumericTld { .. } => "numeric_tld",
            AddressError::InvalidTld { .. } => "invalid_tld",
            AddressError::DisplayNameControl { .. } => "display_name_control",
            AddressError::DisplayNameSpecial { .. } => "display_name_special",
            AddressError::UnbalancedQuote => "unbalanced_quote",
            AddressError::MissingClosingBracket => "missing_closing_bracket",
            AddressError::UnexpectedBracket { .. } => "unexpected_bracket",
            AddressError::TrailingText => "trailing_text",
            AddressError::TwoAddresses { .. } => "two_addresses",
            AddressError::AddressInName { .. } => "address_in_name",
            AddressError::EncodedWord { .. } => "encoded_word",
            AddressError::DisplayNameCharacter { .. } => "display_name_character",
            AddressError::DisplayNameTooLong { .. } => "display_name_too_long",
            AddressError::Rejected { .. } => "rejected",
        }
    }

    /// The 0-based character index the problem is at, when there is one.
    pub fn position(&self) -> Option<usize> {
        match *self {
            AddressError::LookalikeAt { position, .. }
            | AddressError::MultipleAt { position }
            | AddressError::InvalidCharacter { position, .. }
            | AddressError::ControlCharacter { position, .. }
            | AddressError::UnsafeCharacter { position, .. }
            | AddressError::Whitespace { position }
            | AddressError::LeadingCombiningMark { position, .. }
            | AddressError::DisplayNameControl { position, .. }
            | AddressError::DisplayNameSpecial { position, .. }
            | AddressError::UnexpectedBracket { position, .. }
            | AddressError::TwoAddresses { position }
            | AddressError::AddressInName { position, .. }
            | AddressError::EncodedWord { position }
            | AddressError::DisplayNameCharacter { position, .. } => Some(position),
            _ => None,
        }
    }

    fn position_mut(&mut self) -> Option<&mut usize> {
        match self {
            AddressError::LookalikeAt { position, .. }
            | AddressError::MultipleAt { position }
            | AddressError::InvalidCharacter { position, .. }
            | AddressError::ControlCharacter { position, .. }
            | AddressError::UnsafeCharacter { position, .. }
            | AddressError::Whitespace { position }
            | AddressError::LeadingCombiningMark { position, .. }
            | AddressError::DisplayNameControl { position, .. }
            | AddressError::DisplayNameSpecial { position, .. }
            | AddressError::UnexpectedBracket { position, .. }
            | AddressError::TwoAddresses { position }
            | AddressError::AddressInName { position, .. }
            | AddressError::EncodedWord { position }
            | AddressError::DisplayNameCharacter { position, .. } => Some(position),
            _ => None,
        }
    }

    /// Moves a byte position by `by` bytes (positions are bytes inside the
    /// parser).
    fn shifted(mut self, by: usize) -> Self {
        if let Some(p) = self.position_mut() {
            *p += by;
        }
        self
    }

    /// Turns a byte position in `text` into a character index.
    fn in_chars(mut self, text: &str) -> Self {
        if let Some(p) = self.position_mut() {
            *p = text.get(..*p).map_or(*p, |s| s.chars().count());
        }
        self
    }
}

/// A valid address with its display name.
///
/// Its text borrows from what was parsed wherever it can (an address typed
/// in lowercase, a name without quotes or escapes: most of a paste), so
/// reading a paste of 100,000 entries allocates almost nothing per entry.
/// [`Mailbox::into_owned`] detaches it from the input.
///
/// ```
/// use enlist::email::parse_address;
/// use std::borrow::Cow;
///
/// let typed = String::from("Ada <ada@example.com>");
/// let m = parse_address(&typed).unwrap();
/// assert!(matches!(m.address, Cow::Borrowed("ada@example.com")));
/// let kept: enlist::Mailbox<'static> = m.into_owned();
/// drop(typed);
/// assert_eq!(kept.key, "ada@example.com");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Mailbox<'a> {
    /// The display name, unquoted and trimmed, if one was given: at most
    /// [`MAX_DISPLAY_NAME_CHARS`] characters, no quote, angle bracket,
    /// control or invisible character, and no address but this one.
    pub display_name: Option<Cow<'a, str>>,
    /// The address as typed: the local part as typed, the domain as UTS #46
    /// maps it (see the module doc).
    pub address: Cow<'a, str>,
    /// The normalized form: the uniqueness key (local part lowercased,
    /// domain lowercased and IDNA-encoded).
    pub key: Cow<'a, str>,
    /// The domain, lowercase and IDNA-encoded (for allowed-domain checks).
    pub ascii_domain: Cow<'a, str>,
    /// Things worth showing the person who typed it.
    pub warnings: Vec<AddressWarning>,
}

impl Mailbox<'_> {
    /// The part before the `@`, as typed.
    pub fn local_part(&self) -> &str {
        self.address
            .rsplit_once('@')
            .map_or(self.address.as_ref(), |(l, _)| l)
    }

    /// The domain as shown: lowercase, in Unicode if it was typed so.
    pub fn domain(&self) -> &str {
        self.address.rsplit_once('@').map_or("", |(_, d)| d)
    }

    /// Whether [`Self::warnings`] has `w`.
    pub fn has_warning(&self, w: &AddressWarning) -> bool {
        self.warnings.contains(w)
    }

    /// The same mailbox, owning its text.
    pub fn into_owned(self) -> Mailbox<'static> {
        Mailbox {
            display_name: self.display_name.map(owned),
            address: owned(self.address),
            key: owned(self.key),
            ascii_domain: owned(self.ascii_domain),
            warnings: self.warnings,
        }
    }
}

/// `c` owning its text.
fn owned(c: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(c.into_owned())
}

/// What became of one fragment of the paste.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum EntryOutcome<'a> {
    /// A valid address, the first time it appears.
    Valid(Mailbox<'a>),
    /// A valid address already seen at entry `first`.
    Duplicate {
        /// The address.
        mailbox: Mailbox<'a>,
        /// The index of its first appearance in `entries`.
        first: usize,
    },
    /// Not an address enlist accepts.
    Invalid {
        /// Why.
        error: AddressError,
    },
}

impl<'a> EntryOutcome<'a> {
    /// The mailbox of a valid or duplicate entry.
    pub fn mailbox(&self) -> Option<&Mailbox<'a>> {
        match self {
            EntryOutcome::Valid(m) | EntryOutcome::Duplicate { mailbox: m, .. } => Some(m),
            EntryOutcome::Invalid { .. } => None,
        }
    }

    /// The same outcome, owning its text.
    pub fn into_owned(self) -> EntryOutcome<'static> {
        match self {
            EntryOutcome::Valid(m) => EntryOutcome::Valid(m.into_owned()),
            EntryOutcome::Duplicate { mailbox, first } => EntryOutcome::Duplicate {
                mailbox: mailbox.into_owned(),
                first,
            },
            EntryOutcome::Invalid { error } => EntryOutcome::Invalid { error },
        }
    }
}

/// One fragment of the paste.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasteEntry<'a> {
    /// Where it is in the text.
    pub span: Span,
    /// The fragment as typed (trimmed): `&paste[span.start..span.end]`.
    pub text: Cow<'a, str>,
    /// What it is.
    pub outcome: EntryOutcome<'a>,
}

impl PasteEntry<'_> {
    /// The same entry, owning its text.
    pub fn into_owned(self) -> PasteEntry<'static> {
        PasteEntry {
            span: self.span,
            text: owned(self.text),
            outcome: self.outcome.into_owned(),
        }
    }
}

/// Everything found in a paste, in the order typed.
///
/// It borrows the paste's text; [`ParsedRecipients::into_owned`] keeps it
/// beyond the text.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedRecipients<'a> {
    /// Every fragment, in order.
    pub entries: Vec<PasteEntry<'a>>,
}

impl<'a> ParsedRecipients<'a> {
    /// Distinct valid addresses: the "9 recognized" a form shows.
    pub fn recognized(&self) -> usize {
        self.mailboxes().count()
    }

    /// The distinct valid addresses, in order.
    pub fn mailboxes(&self) -> impl Iterator<Item = &Mailbox<'a>> {
        self.entries.iter().filter_map(|e| match &e.outcome {
            EntryOutcome::Valid(m) => Some(m),
            _ => None,
        })
    }

    /// The fragments that are not valid addresses.
    pub fn invalid(&self) -> impl Iterator<Item = (&PasteEntry<'a>, &AddressError)> {
        self.entries.iter().filter_map(|e| match &e.outcome {
            EntryOutcome::Invalid { error } => Some((e, error)),
            _ => None,
        })
    }

    /// The repeated addresses, with the index of their first appearance.
    pub fn duplicates(&self) -> impl Iterator<Item = (&PasteEntry<'a>, usize)> {
        self.entries.iter().filter_map(|e| match &e.outcome {
            EntryOutcome::Duplicate { first, .. } => Some((e, *first)),
            _ => None,
        })
    }

    /// The same result, owning its text.
    pub fn into_owned(self) -> ParsedRecipients<'static> {
        ParsedRecipients {
            entries: self
                .entries
                .into_iter()
                .map(PasteEntry::into_owned)
                .collect(),
        }
    }
}

/// Parses what a person typed or pasted into a recipients field.
///
/// Never fails: every fragment is reported, valid, duplicate or invalid,
/// with its position.
///
/// ```
/// use enlist::email::{parse_recipients, EntryOutcome};
///
/// let paste = "ada@example.com, \"Lovelace, Ada\" <ADA@Example.com>\n\
///              Grace Hopper <grace@navy.mil>; bob at example.com";
/// let parsed = parse_recipients(paste);
/// assert_eq!(parsed.entries.len(), 4);
/// assert_eq!(parsed.recognized(), 2);
/// assert!(matches!(parsed.entries[1].outcome, EntryOutcome::Duplicate { first: 0, .. }));
/// let names: Vec<_> = parsed.mailboxes().map(|m| m.display_name.as_deref()).collect();
/// assert_eq!(names, [None, Some("Grace Hopper")]);
/// let (bad, error) = parsed.invalid().next().unwrap();
/// assert_eq!(bad.text, "bob at example.com");
/// assert_eq!(&paste[bad.span.start..bad.span.end], "bob at example.com");
/// assert_eq!(error.code(), "missing_at");
/// ```
pub fn parse_recipients(text: &str) -> ParsedRecipients<'_> {
    let mut validator = Validator::default();
    // Room for an entry every 32 bytes: an address and its separator are
    // rarely shorter (a paste with names averages about 40), and growing
    // the vector once copies every entry parsed so far.
    let estimate = text.len() / 32 + 1;
    let mut entries: Vec<PasteEntry> = Vec::with_capacity(estimate);
    let mut hashes = KeyHashes::new(text.len(), estimate);
    split_entries(text, |start, end, angle| {
        let fragment = &text[start..end];
        let angle = angle.map(|(lt, gt)| (lt - start, gt - start));
        debug_assert_eq!(angle, find_angle(fragment), "{fragment:?}");
        let outcome = match validator.entry(fragment, angle) {
            Ok(m) => {
                hashes.push(entries.len(), &m.key);
                EntryOutcome::Valid(m)
            }
            Err(error) => EntryOutcome::Invalid { error },
        };
        entries.push(PasteEntry {
            span: Span { start, end },
            text: Cow::Borrowed(fragment),
            outcome,
        });
    });
    hashes.mark_duplicates(&mut entries);
    ParsedRecipients { entries }
}

/// How many entries [`parse_recipients`] would report for `text`, found
/// by the same splitter without validating, copying or storing any: one
/// linear pass with no allocation, so a caller can refuse a paste with too
/// many fragments before parsing it.
pub(crate) fn count_entries(text: &str) -> usize {
    let mut n = 0usize;
    split_entries(text, |_, _, _| n += 1);
    n
}

/// Parses one entry: a bare address, `Name <address>` or
/// `"Last, First" <address>`, surrounded by optional spaces.
///
/// Refuses text that [`parse_recipients`] would split into several
/// entries ([`AddressError::MultipleEntries`]) and any control character,
/// line breaks included.
///
/// ```
/// use enlist::email::{parse_address, AddressError, AddressWarning};
///
/// let m = parse_address("\"Lovelace, Ada\" <Ada@Example.COM>").unwrap();
/// assert_eq!(m.display_name.as_deref(), Some("Lovelace, Ada"));
/// assert_eq!(m.address, "Ada@example.com");
/// assert_eq!(m.key, "ada@example.com");
///
/// let m = parse_address("ada@université.fr").unwrap();
/// assert_eq!(m.ascii_domain, "xn--universit-j4a.fr");
/// assert!(m.warnings.contains(&AddressWarning::InternationalDomain));
///
/// assert_eq!(parse_address("ada@localhost").unwrap_err().code(), "domain_no_dot");
/// assert!(matches!(
///     parse_address("Ada\r\nBcc: x@evil.com <ada@example.com>"),
///     Err(AddressError::DisplayNameControl { .. })
/// ));
/// ```
pub fn parse_address(entry: &str) -> Result<Mailbox<'_>, AddressError> {
    let t = trim_blank(entry);
    let lead = &entry[..entry.len() - trim_blank_start(entry).len()];
    parse_trimmed(t).map_err(|e| {
        let mut e = e.in_chars(t);
        if let Some(p) = e.position_mut() {
            *p += lead.chars().count();
        }
        e
    })
}

/// The normalized uniqueness key of one entry ([`Mailbox::key`]).
///
/// ```
/// assert_eq!(enlist::email::normalize_email("Ada <ADA@Example.COM>").unwrap(), "ada@example.com");
/// ```
pub fn normalize_email(entry: &str) -> Result<String, AddressError> {
    parse_address(entry).map(|m| m.key.into_owned())
}

/// `parse_address` on trimmed text; positions are bytes.
fn parse_trimmed(t: &str) -> Result<Mailbox<'_>, AddressError> {
    if t.is_empty() {
        return Err(AddressError::Empty);
    }
    // One entry never holds a control character or a line break: report it
    // before the splitter turns a line break into two entries.
    if let Some((i, c)) = first_control(t) {
        let in_name = find_angle(t).is_some_and(|(lt, _)| i < lt);
        return Err(if in_name {
            AddressError::DisplayNameControl {
                character: c,
                position: i,
            }
        } else {
            AddressError::ControlCharacter {
                character: c,
                position: i,
            }
        });
    }
    let mut count = 0;
    let mut comment = false;
    let mut whole = None;
    split_entries(t, |start, end, angle| {
        comment |= count > 0 && t[start..].starts_with('(');
        count += 1;
        whole = (start == 0 && end == t.len()).then_some(angle);
    });
    if comment {
        // `ada@example.com (Ada)`: a comment, not a second entry.
        return Err(AddressError::Comment);
    }
    if count > 1 {
        return Err(AddressError::MultipleEntries { count });
    }
    // The splitter found the `<...>` of a fragment that is all of `t`.
    let angle = match whole {
        Some(angle) => angle,
        None => find_angle(t),
    };
    debug_assert_eq!(angle, find_angle(t), "{t:?}");
    Validator::default().entry_bytes(t, angle)
}

/// The first control character (tab aside) or line break in `t`, with its
/// byte offset.
fn first_control(t: &str) -> Option<(usize, char)> {
    let b = t.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c < 0x80 {
            if (c < 0x20 && c != b'\t') || c == 0x7F {
                return Some((i, char::from(c)));
            }
            i += 1;
        } else {
            let ch = char_at(t, i);
            if ch.is_control() || is_line_separator(ch) {
                return Some((i, ch));
            }
            i += ch.len_utf8();
        }
    }
    None
}

/// Finds the repeated keys of a paste without a hash table (whose random
/// accesses miss the cache on a large paste): each valid entry leaves its
/// key's hash (upper bits) and its index (lower bits) in one `u64`, taken
/// while the key is still in cache; sorting them brings equal hashes
/// together, in entry order, and only those are compared.
///
/// The hash is foldhash with a random seed: fast on short keys, and a paste
/// cannot aim at a seed it never sees (colliding hashes only cost key
/// comparisons, never a wrong answer).
struct KeyHashes {
    hasher: RandomState,
    /// Bits holding the index.
    index_bits: u32,
    packed: Vec<u64>,
}

impl KeyHashes {
    /// For a paste of `len` bytes (it has fewer entries than bytes).
    fn new(len: usize, capacity: usize) -> Self {
        KeyHashes {
            hasher: RandomState::default(),
            index_bits: (usize::BITS - len.leading_zeros()).min(63),
            packed: Vec::with_capacity(capacity),
        }
    }

    /// Records the key of valid entry `index`.
    fn push(&mut self, index: usize, key: &str) {
        self.push_hash(index, self.hasher.hash_one(key));
    }

    fn push_hash(&mut self, index: usize, hash: u64) {
        let low = (1u64 << self.index_bits) - 1;
        debug_assert!(index as u64 <= low);
        self.packed.push((hash & !low) | (index as u64 & low));
    }

    /// Turns the second and later appearances of a key into `Duplicate`s
    /// of the first.
    fn mark_duplicates(mut self, entries: &mut [PasteEntry<'_>]) {
        let low = (1u64 << self.index_bits) - 1;
        self.packed.sort_unstable();
        let mut firsts: Vec<usize> = Vec::new();
        for run in self.packed.chunk_by(|a, b| (a & !low) == (b & !low)) {
            if run.len() < 2 {
                continue;
            }
            // Entries with the same hash, in order: the distinct keys among
            // them, each with its first entry.
            firsts.clear();
            for &p in run {
                let i = (p & low) as usize;
                let first = firsts.iter().copied().find(|&f| same_key(entries, f, i));
                match first {
                    Some(first) => make_duplicate(entries, i, first),
                    None => firsts.push(i),
                }
            }
        }
    }
}

/// Whether entries `a` and `b` are valid (or duplicate) with the same key.
fn same_key(entries: &[PasteEntry<'_>], a: usize, b: usize) -> bool {
    let key = |i: usize| {
        entries
            .get(i)
            .and_then(|e| e.outcome.mailbox())
            .map(|m| m.key.as_ref())
    };
    matches!((key(a), key(b)), (Some(x), Some(y)) if x == y)
}

/// Turns valid entry `i` into a duplicate of entry `first`.
fn make_duplicate(entries: &mut [PasteEntry<'_>], i: usize, first: usize) {
    let Some(e) = entries.get_mut(i) else {
        return;
    };
    let outcome = &mut e.outcome;
    if let EntryOutcome::Valid(mailbox) = std::mem::replace(
        outcome,
        EntryOutcome::Invalid {
            error: AddressError::Empty,
        },
    ) {
        *outcome = EntryOutcome::Duplicate { mailbox, first };
    }
}

mod chars;
mod name;
mod split;
#[cfg(test)]
mod tests;
mod validate;

use chars::*;
use name::*;
use split::*;
use validate::*;
