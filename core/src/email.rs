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
    let estimate = text.len() / 40 + 1;
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
    let t = entry.trim_matches(is_blank);
    let lead = &entry[..entry.len() - entry.trim_start_matches(is_blank).len()];
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

// ---------------------------------------------------------------------------
// Splitting a paste into fragments.

/// Separators that always end an entry, even after a name.
fn is_hard_separator_byte(c: u8) -> bool {
    matches!(c, b',' | b';' | b'\n' | b'\r')
}

/// ASCII characters that end a word.
fn is_separator_byte(c: u8) -> bool {
    matches!(c, b',' | b';' | b'\n' | b'\r' | b' ' | b'\t' | 0x0B | 0x0C)
}

/// NEL, LINE SEPARATOR, PARAGRAPH SEPARATOR: line breaks beyond ASCII.
fn is_line_separator(c: char) -> bool {
    matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// Whether a non-ASCII line break starts at `b[k]`.
fn line_separator_at(b: &[u8], k: usize) -> bool {
    match b.get(k) {
        Some(0xC2) => b.get(k + 1) == Some(&0x85),
        Some(0xE2) => b.get(k + 1) == Some(&0x80) && matches!(b.get(k + 2), Some(0xA8 | 0xA9)),
        _ => false,
    }
}

/// Spaces that separate words and are trimmed: space, tab and non-ASCII
/// white space other than line breaks.
fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t' || (!c.is_ascii() && c.is_whitespace() && !is_line_separator(c))
}

/// The character starting at byte `i` (a char boundary).
fn char_at(s: &str, i: usize) -> char {
    s.get(i..)
        .and_then(|r| r.chars().next())
        .unwrap_or('\u{FFFD}')
}

/// Byte classes for the scanners: each flag marks the bytes a scanner must
/// look at; it steps over the others at once.
static BYTE_STOPS: [u8; 256] = byte_stops();

/// [`scan_word`]: separators, `"`, `\\`, `<`, `@`, and non-ASCII.
const WORD_STOP: u8 = 1;
/// [`angle_close`]: `>`, `<`, `,`, `;`, CR, LF, and the first bytes of
/// NEL, LINE and PARAGRAPH SEPARATOR.
const ANGLE_STOP: u8 = 2;
/// [`closing_quote`]: `"`, `\\`, CR, LF, and the first bytes of NEL, LINE
/// and PARAGRAPH SEPARATOR.
const QUOTE_STOP: u8 = 4;
/// [`find_angle`]: `"`, `\\`, `<`.
const FIND_STOP: u8 = 8;
/// `Validator::address`: controls, `@`, space, `"`, `(`, `)`, `<`, `>`, and
/// non-ASCII.
const ADDRESS_STOP: u8 = 16;
/// [`check_local`]: everything but RFC 5322 `atext`, and `=` (so dots,
/// `=`, which may start an encoded word, non-ASCII and refused ASCII).
const LOCAL_STOP: u8 = 32;

const fn byte_stops() -> [u8; 256] {
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
        i += 1;
    }
    t
}

/// The first offset from `from` whose byte has the `stop` class, or the
/// length of `b`.
fn skip_to(b: &[u8], from: usize, stop: u8) -> usize {
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
fn closing_quote(b: &[u8], from: usize) -> Result<usize, usize> {
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
fn angle_close(b: &[u8], from: usize) -> Option<usize> {
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
fn backslash_len(b: &[u8], j: usize) -> usize {
    match b.get(j + 1) {
        Some(&c) if c < 0x80 && !is_separator_byte(c) => 2,
        _ => 1,
    }
}

/// The first `<...>` outside quotes in an entry: (`<`, `>`) byte offsets.
fn find_angle(t: &str) -> Option<(usize, usize)> {
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
type Angle = Option<(usize, usize)>;

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
fn split_entries(text: &str, mut emit: impl FnMut(usize, usize, Angle)) {
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
fn scan_word(text: &str, mut j: usize, dead: &mut usize) -> (usize, bool, Option<(usize, usize)>) {
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

// ---------------------------------------------------------------------------
// Display names.

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
fn display_name<'s>(s: &'s str, key: &str) -> Result<Option<Cow<'s, str>>, AddressError> {
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
fn encoded_word(s: &str) -> Option<usize> {
    let start = s.find("=?")?;
    let end = s.rfind("?=")?;
    (end >= start + 2).then_some(start)
}

/// Characters that end an address-like word in a name.
fn ends_name_word(c: char) -> bool {
    c.is_whitespace() || matches!(c, '"' | '<' | '>' | '(' | ')' | ',' | ';' | ':' | '[' | ']')
}

/// Checks the address-like words of a name (an `@` with text on both
/// sides, like `ada@example.com`): each must be the address the entry goes
/// to (key `key`), or the name poses as another address. Returns whether
/// the name is nothing but that address. Positions are bytes in `s`.
///
/// Linear: each `@` looks back no further than the previous word's end.
fn name_is_the_address(s: &str, key: &str) -> Result<bool, AddressError> {
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
fn verbatim_name(s: &str) -> Option<&str> {
    let t = s.trim_matches(is_blank);
    // Whether the characters of `t[from..to]` are all kept as they are
    // (with single spaces between words when `spaces`, and `specials`
    // allowed when quoted).
    let verbatim = |from: usize, to: usize, quoted: bool| {
        let b = t.as_bytes();
        let mut i = from;
        let mut space = !quoted;
        while i < to {
            let c = b[i];
            if c == b' ' {
                if space && !quoted {
                    return false;
                }
                space = true;
                i += 1;
            } else if c < 0x80 {
                // `@` and `=` may start an address or an encoded word, `<`
                // and `>` are refused: all left to `display_name`.
                let ok = if quoted {
                    (0x21..0x7F).contains(&c)
                        && !matches!(c, b'"' | b'\\' | b'@' | b'=' | b'<' | b'>')
                } else {
                    is_plain_name_byte(c) && c != b'='
                };
                if !ok {
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
fn owned_display_name(s: &str) -> Result<Option<String>, AddressError> {
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
fn is_plain_name_byte(c: u8) -> bool {
    (0x20..0x7F).contains(&c)
        && !matches!(c, b' ' | b'"' | b'\\' | b'@' | b',' | b';' | b'<' | b'>')
}

/// Appends the content of the quoted string `s[from..to]`, unescaped.
fn unquote(s: &str, from: usize, to: usize, out: &mut String) -> Result<(), AddressError> {
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

// ---------------------------------------------------------------------------
// Character classes.

const ATEXT: u8 = 1;
const LDH: u8 = 2;

/// ASCII classes: RFC 5322 `atext` (local part) and letter-digit-hyphen
/// (domain labels).
static ASCII_CLASS: [u8; 128] = ascii_classes();

const fn ascii_classes() -> [u8; 128] {
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

fn is_noncharacter(u: u32) -> bool {
    (0xFDD0..=0xFDEF).contains(&u) || (u & 0xFFFE) == 0xFFFE
}

/// Non-ASCII characters refused anywhere in an address: controls, white
/// space, invisible and format characters (including bidi controls,
/// zero-width characters, soft hyphen, variation selectors, tags),
/// private-use code points, non-characters and replacement characters.
fn is_unsafe_in_address(c: char) -> bool {
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
fn is_leading_mark(c: char) -> bool {
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
fn is_canonically_special(c: char) -> bool {
    matches!(c, '\u{037E}' | '\u{226E}' | '\u{226F}')
}

/// Full stops that UTS #46 maps to `.`.
fn is_dot_like(c: char) -> bool {
    matches!(c, '.' | '\u{3002}' | '\u{FF0E}' | '\u{FF61}')
}

/// Hyphens that UTS #46 maps to `-`.
fn is_hyphen_like(c: char) -> bool {
    matches!(c, '-' | '\u{FF0D}' | '\u{FE63}')
}

/// Compatibility forms that imitate ASCII: fullwidth forms, letter-like
/// symbols, enclosed and mathematical alphanumerics, ligatures,
/// super/subscripts, squared CJK abbreviations.
fn is_compat_lookalike(c: char) -> bool {
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
enum Script {
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

fn script(c: char) -> Script {
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
fn looks_latin(c: char) -> bool {
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
fn is_confusable(s: &str) -> bool {
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

// ---------------------------------------------------------------------------
// Validation.

/// A checked domain that needed IDNA (cached per paste).
#[derive(Clone, Debug)]
struct SlowDomain {
    ascii: String,
    /// The domain as [`Mailbox::address`] shows it: the UTS #46 Unicode
    /// form for a domain typed with non-ASCII characters, the ASCII
    /// lowercase for one typed in ASCII (with `xn--` labels).
    lower: String,
    confusable: bool,
    /// Whether `ascii` passes `email_address::EmailAddress::is_valid_domain`
    /// (set when cached).
    crate_ok: bool,
}

/// The validator, with a per-paste cache of internationalized domains.
#[derive(Default)]
struct Validator<'t> {
    domains: HashMap<&'t str, Result<SlowDomain, AddressError>, RandomState>,
}

impl<'t> Validator<'t> {
    /// One fragment whose first `<...>` is `angle` (what [`find_angle`]
    /// returns); error positions are characters in `text`.
    fn entry(
        &mut self,
        text: &'t str,
        angle: Option<(usize, usize)>,
    ) -> Result<Mailbox<'t>, AddressError> {
        self.entry_bytes(text, angle).map_err(|e| e.in_chars(text))
    }

    /// One fragment whose first `<...>` is `angle`; error positions are
    /// bytes in `text`.
    fn entry_bytes(
        &mut self,
        text: &'t str,
        angle: Option<(usize, usize)>,
    ) -> Result<Mailbox<'t>, AddressError> {
        let Some((lt, gt)) = angle else {
            return self.address(text, 0);
        };
        let rest = text[gt + 1..].trim_start_matches(is_blank);
        if !rest.is_empty() {
            return Err(if rest.starts_with('(') {
                AddressError::Comment
            } else if let Some((second, _)) = find_angle(rest) {
                AddressError::TwoAddresses {
                    position: text.len() - rest.len() + second,
                }
            } else {
                AddressError::TrailingText
            });
        }
        let raw_name = &text[..lt];
        // Most names are a slice of the entry and need no more checks.
        let verbatim = verbatim_name(raw_name);
        let inner = &text[lt + 1..gt];
        let lead = inner.len() - inner.trim_start_matches(is_blank).len();
        let mut m = self.address(inner.trim_matches(is_blank), lt + 1 + lead)?;
        m.display_name = match verbatim {
            Some(name) => {
                debug_assert_eq!(
                    display_name(raw_name, &m.key)
                        .as_ref()
                        .map(|n| n.as_deref()),
                    Ok(Some(name)),
                    "{raw_name:?}"
                );
                Some(Cow::Borrowed(name))
            }
            None => display_name(raw_name, &m.key)?,
        };
        Ok(m)
    }

    /// A bare address starting at byte `base` of the entry.
    fn address(&mut self, addr: &'t str, base: usize) -> Result<Mailbox<'t>, AddressError> {
        let Some(at) = plain_address(addr.as_bytes()) else {
            return self.any_address(addr, base);
        };
        // What `any_address` makes of a plain address, in one pass: no
        // warnings, the domain lowercased, the key all lowercase; each a
        // slice of `addr` when it is already so.
        let m = Mailbox {
            display_name: None,
            address: with_lower_domain(addr, at),
            key: ascii_lowercase(addr),
            ascii_domain: ascii_lowercase(&addr[at + 1..]),
            warnings: Vec::new(),
        };
        debug_assert_eq!(Ok(&m), self.any_address(addr, base).as_ref(), "{addr:?}");
        Ok(m)
    }

    /// [`Self::address`] for any text.
    fn any_address(&mut self, addr: &'t str, base: usize) -> Result<Mailbox<'t>, AddressError> {
        let b = addr.as_bytes();
        if b.is_empty() {
            return Err(AddressError::Empty);
        }
        let mut at = None;
        let mut second_at = None;
        let mut non_ascii = false;
        let (mut space, mut quote, mut paren, mut lt, mut gt) = (None, None, None, None, None);
        let mut i = 0;
        loop {
            i = skip_to(b, i, ADDRESS_STOP);
            let Some(&c) = b.get(i) else {
                break;
            };
            match c {
                0..=0x1F | 0x7F => {
                    return Err(AddressError::ControlCharacter {
                        character: char::from(c),
                        position: base + i,
                    });
                }
                b'@' => {
                    if at.is_none() {
                        at = Some(i);
                    } else if second_at.is_none() {
                        second_at = Some(i);
                    }
                }
                b' ' => {
                    space.get_or_insert(i);
                }
                b'"' => {
                    quote.get_or_insert(i);
                }
                b'(' | b')' => {
                    paren.get_or_insert(i);
                }
                b'<' => {
                    lt.get_or_insert(i);
                }
                b'>' => {
                    gt.get_or_insert(i);
                }
                0x80.. => non_ascii = true,
                _ => {}
            }
            i += 1;
        }
        if non_ascii {
            if let Some((i, c)) = addr
                .char_indices()
                .find(|&(_, c)| !c.is_ascii() && is_unsafe_in_address(c))
            {
                return Err(if c.is_control() {
                    AddressError::ControlCharacter {
                        character: c,
                        position: base + i,
                    }
                } else {
                    AddressError::UnsafeCharacter {
                        character: c,
                        position: base + i,
                    }
                });
            }
        }
        let Some(at) = at else {
            if let Some((i, c)) = addr
                .char_indices()
                .find(|&(_, c)| matches!(c, '\u{FF20}' | '\u{FE6B}'))
            {
                return Err(AddressError::LookalikeAt {
                    character: c,
                    position: base + i,
                });
            }
            return Err(AddressError::MissingAt);
        };
        if let Some(q) = quote {
            return Err(if q < at || second_at.is_some() {
                AddressError::QuotedLocalPart
            } else {
                AddressError::InvalidCharacter {
                    character: '"',
                    position: base + q,
                    part: AddressPart::Domain,
                }
            });
        }
        if paren.is_some() {
            return Err(AddressError::Comment);
        }
        if lt.is_some() {
            return Err(AddressError::MissingClosingBracket);
        }
        if let Some(p) = gt {
            return Err(AddressError::UnexpectedBracket {
                character: '>',
                position: base + p,
            });
        }
        if let Some(p) = space {
            return Err(AddressError::Whitespace { position: base + p });
        }
        if let Some(p) = second_at {
            return Err(AddressError::MultipleAt { position: base + p });
        }
        let (local, domain) = (&addr[..at], &addr[at + 1..]);
        if local.is_empty() {
            return Err(AddressError::EmptyLocalPart);
        }
        if domain.is_empty() {
            return Err(AddressError::EmptyDomain);
        }
        if domain.starts_with('[') {
            return Err(AddressError::DomainLiteral);
        }
        let mut warnings = Vec::new();
        let local_ascii = check_local(local, base, &mut warnings)?;

        // The domain: ASCII fast path, IDNA (cached) otherwise. `crate_ok`
        // is whether `ascii_domain` passes the email_address crate, when that
        // is already known.
        let dbase = base + at + 1;
        let mut crate_ok = None;
        let (address, ascii_domain) = if domain.is_ascii() {
            let plain = is_plain_ascii_domain(domain.as_bytes());
            if !plain {
                for (i, &c) in domain.as_bytes().iter().enumerate() {
                    if c != b'.' && ASCII_CLASS[usize::from(c)] & LDH == 0 {
                        return Err(AddressError::InvalidCharacter {
                            character: char::from(c),
                            position: dbase + i,
                            part: AddressPart::Domain,
                        });
                    }
                }
            }
            let lower = ascii_lowercase(domain);
            if plain {
                // Letters, digits, hyphens and well-formed labels: see
                // `is_plain_ascii_domain` for why the crate accepts it.
                debug_assert_eq!(check_labels(&lower, domain), Ok(false));
                crate_ok = Some(true);
            } else if check_labels(&lower, domain)? {
                let slow = self.slow_domain(domain).map_err(|e| e.shifted(dbase))?;
                push_domain_warnings(&mut warnings, slow);
                // `slow.ascii` is `lower` for an ASCII domain.
                crate_ok = Some(slow.crate_ok);
            }
            (with_lower_domain(addr, at), lower)
        } else {
            let slow = self.slow_domain(domain).map_err(|e| e.shifted(dbase))?;
            push_domain_warnings(&mut warnings, slow);
            crate_ok = Some(slow.crate_ok);
            let address = if slow.lower == domain {
                Cow::Borrowed(addr)
            } else {
                Cow::Owned(joined(local, &slow.lower))
            };
            (address, Cow::Owned(slow.ascii.clone()))
        };

        // Lengths as typed, as shown (the mapped domain may be longer than
        // the typed one: `㍻` is `平成`) and in ASCII form.
        let typed = local.len() + 1 + domain.len();
        let ascii_len = local.len() + 1 + ascii_domain.len();
        let longest = typed.max(ascii_len).max(address.len());
        if longest > MAX_ADDRESS_LEN {
            return Err(AddressError::AddressTooLong {
                len: longest,
                max: MAX_ADDRESS_LEN,
            });
        }

        // The key: lowercase local part (its length may change), ASCII
        // domain; `addr` itself when it is already that.
        let key = if local_ascii && !has_ascii_uppercase(local) && ascii_domain.as_ref() == domain {
            Cow::Borrowed(addr)
        } else {
            let mut key = String::with_capacity(ascii_len);
            if local_ascii {
                key.push_str(local);
                key.make_ascii_lowercase();
            } else {
                local_key(local, &mut key);
                if key.len() > MAX_LOCAL_PART_LEN {
                    return Err(AddressError::LocalPartTooLong {
                        len: key.len(),
                        max: MAX_LOCAL_PART_LEN,
                    });
                }
            }
            key.push('@');
            key.push_str(&ascii_domain);
            Cow::Owned(key)
        };
        if key.len() > MAX_ADDRESS_LEN {
            return Err(AddressError::AddressTooLong {
                len: key.len(),
                max: MAX_ADDRESS_LEN,
            });
        }

        // The email_address crate as a safety net, on what it reads reliably:
        // an ASCII local part and the ASCII domain.
        //
        // An ASCII local part that passed `check_local` always passes the
        // crate: 1 to 64 octets, dot-separated non-empty runs of RFC 5322
        // `atext`, which is the crate's ASCII `atext` character for
        // character, and no `"` (so not read as quoted). Not asked again.
        debug_assert!(
            !local_ascii || email_address::EmailAddress::is_valid_local_part(local),
            "{local:?}"
        );
        let domain_ok =
            crate_ok.unwrap_or_else(|| email_address::EmailAddress::is_valid_domain(&ascii_domain));
        debug_assert_eq!(
            domain_ok,
            email_address::EmailAddress::is_valid_domain(&ascii_domain),
            "{ascii_domain:?}"
        );
        if !domain_ok {
            return Err(rejected(&key));
        }

        Ok(Mailbox {
            display_name: None,
            address,
            key,
            ascii_domain,
            warnings,
        })
    }

    /// A domain that needs IDNA: non-ASCII, or with `xn--` labels. Error
    /// positions are bytes in `domain`.
    fn slow_domain(&mut self, domain: &'t str) -> Result<&SlowDomain, AddressError> {
        let slot = match self.domains.entry(domain) {
            Entry::Occupied(o) => o.into_mut(),
            Entry::Vacant(v) => v.insert(
                if domain.is_ascii() {
                    punycode_domain(&domain.to_ascii_lowercase())
                } else {
                    unicode_domain(domain)
                }
                .map(|mut d| {
                    d.crate_ok = email_address::EmailAddress::is_valid_domain(&d.ascii);
                    d
                }),
            ),
        };
        slot.as_ref().map_err(Clone::clone)
    }
}

fn rejected(address: &str) -> AddressError {
    let reason = match email_address::EmailAddress::parse_with_options(
        address,
        email_address::Options::default()
            .without_display_text()
            .without_domain_literal(),
    ) {
        Ok(_) => "refused by the email_address crate".to_owned(),
        Err(e) => e.to_string(),
    };
    AddressError::Rejected { reason }
}

/// `s` in ASCII lowercase: `s` itself when it has no ASCII capital.
fn ascii_lowercase(s: &str) -> Cow<'_, str> {
    if has_ascii_uppercase(s) {
        Cow::Owned(s.to_ascii_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

fn has_ascii_uppercase(s: &str) -> bool {
    s.bytes().any(|c| c.is_ascii_uppercase())
}

/// The address `addr` (with its `@` at byte `at`) with its ASCII domain
/// lowercased: `addr` itself when the domain has no capital.
fn with_lower_domain(addr: &str, at: usize) -> Cow<'_, str> {
    let domain = &addr[at + 1..];
    if has_ascii_uppercase(domain) {
        Cow::Owned(joined(&addr[..at], &domain.to_ascii_lowercase()))
    } else {
        Cow::Borrowed(addr)
    }
}

/// `local@domain`, allocated once.
fn joined(local: &str, domain: &str) -> String {
    let mut s = String::with_capacity(local.len() + 1 + domain.len());
    s.push_str(local);
    s.push('@');
    s.push_str(domain);
    s
}

fn push_domain_warnings(warnings: &mut Vec<AddressWarning>, d: &SlowDomain) {
    warnings.push(AddressWarning::InternationalDomain);
    if d.confusable && !warnings.contains(&AddressWarning::Confusable) {
        warnings.push(AddressWarning::Confusable);
    }
}

/// Checks a local part; returns whether it is ASCII.
fn check_local(
    local: &str,
    base: usize,
    warnings: &mut Vec<AddressWarning>,
) -> Result<bool, AddressError> {
    let b = local.as_bytes();
    if b.len() > MAX_LOCAL_PART_LEN {
        return Err(AddressError::LocalPartTooLong {
            len: b.len(),
            max: MAX_LOCAL_PART_LEN,
        });
    }
    let part = AddressPart::LocalPart;
    if b[0] == b'.' {
        return Err(AddressError::LeadingDot { part });
    }
    if b[b.len() - 1] == b'.' {
        return Err(AddressError::TrailingDot { part });
    }
    let mut ascii = true;
    let mut equals = false;
    let mut i = 0;
    loop {
        // Step over `atext`; stop at dots, `=`, non-ASCII and anything
        // else.
        i = skip_to(b, i, LOCAL_STOP);
        let Some(&c) = b.get(i) else {
            break;
        };
        if c == b'.' {
            // Not the last byte (checked above).
            if b.get(i + 1) == Some(&b'.') {
                return Err(AddressError::ConsecutiveDots { part });
            }
        } else if c >= 0x80 {
            ascii = false;
        } else if c == b'=' {
            equals = true;
        } else {
            return Err(AddressError::InvalidCharacter {
                character: char::from(c),
                position: base + i,
                part,
            });
        }
        i += 1;
    }
    if equals {
        if let Some(p) = encoded_word(local) {
            return Err(AddressError::EncodedWord { position: base + p });
        }
    }
    if !ascii {
        let first = char_at(local, 0);
        if is_leading_mark(first) {
            return Err(AddressError::LeadingCombiningMark {
                character: first,
                position: base,
            });
        }
        if let Some((i, c)) = local
            .char_indices()
            .find(|&(_, c)| is_canonically_special(c))
        {
            return Err(AddressError::InvalidCharacter {
                character: c,
                position: base + i,
                part,
            });
        }
        warnings.push(AddressWarning::InternationalLocalPart);
        if is_confusable(local) {
            warnings.push(AddressWarning::Confusable);
        }
    }
    Ok(ascii)
}

/// Appends the normalized form of a non-ASCII local part to `out`: UTS #46
/// mapping (lowercase, NFC, compatibility forms folded, as for domain
/// labels) when the result is still a valid local part, plain lowercasing
/// otherwise (for example `＠`, which would map to `@`, or a dot-separated
/// piece that looks like punycode).
fn local_key(local: &str, out: &mut String) {
    if latin1_local_key(local, out) {
        debug_assert_eq!(out.as_str(), uts46_local_key(local), "{local:?}");
        return;
    }
    out.push_str(&uts46_local_key(local));
}

/// [`local_key`] through the `idna` crate.
fn uts46_local_key(local: &str) -> String {
    let xn = |s: &str| {
        s.split('.')
            .any(|p| p.len() >= 4 && p.as_bytes()[..4].eq_ignore_ascii_case(b"xn--"))
    };
    if !xn(local) {
        let (mapped, result) =
            Uts46::new().to_unicode(local.as_bytes(), AsciiDenyList::EMPTY, Hyphens::Allow);
        if result.is_ok() && !xn(&mapped) && is_local_form(&mapped) {
            return mapped.into_owned();
        }
    }
    // Character by character, not `str::to_lowercase`, whose final-sigma
    // rule depends on the neighbours: `ΑΣ＠` and `ΑΣ＠x` would lowercase
    // their Σ differently, and a key must not depend on what follows.
    local.chars().flat_map(char::to_lowercase).collect()
}

/// [`local_key`] without the `idna` crate for a checked local part whose
/// non-ASCII characters are all Latin-1 letters (`À`..`ÿ` but `×` and `÷`),
/// as in `müller` or `josé`: appends it lowercased to `out` and returns
/// true, or returns false (and appends nothing) for any other local part.
///
/// For such text UTS #46 maps the uppercase letters (ASCII and `À`..`Þ`) to
/// lowercase and keeps everything else (`ß` too: non-transitional), the
/// result is already NFC (Latin-1 letters are precomposed starters that
/// never compose with a neighbour), it has no right-to-left or joiner
/// characters (so no bidi or CONTEXTJ rule applies), and it is still a
/// valid local part with no `xn--` piece if the input was one and had none.
/// `tests::latin1_local_key_agrees_with_uts46` checks it against the crate.
fn latin1_local_key(local: &str, out: &mut String) -> bool {
    let b = local.as_bytes();
    let mut k = 0;
    while k < b.len() {
        match b[k] {
            0..0x80 => k += 1,
            // U+00C0..=U+00FF is C3 80..=C3 BF; U+00D7 is C3 97, U+00F7 C3 B7.
            0xC3 if matches!(b.get(k + 1), Some(&t) if (0x80..0xC0).contains(&t) && t != 0x97 && t != 0xB7) =>
            {
                k += 2;
            }
            _ => return false,
        }
    }
    // A piece starting with `xn--` would be decoded as punycode.
    if b.split(|&c| c == b'.')
        .any(|p| p.len() >= 4 && p[..4].eq_ignore_ascii_case(b"xn--"))
    {
        return false;
    }
    out.reserve(b.len());
    for c in local.chars() {
        out.push(match c {
            'A'..='Z' | '\u{C0}'..='\u{DE}' => char::from_u32(u32::from(c) + 0x20).unwrap_or(c),
            _ => c,
        });
    }
    true
}

/// Whether `s` passes the local-part character and dot rules.
fn is_local_form(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0] != b'.'
        && b[b.len() - 1] != b'.'
        && !s.contains("..")
        && b.iter()
            .all(|&c| c >= 0x80 || c == b'.' || ASCII_CLASS[usize::from(c)] & ATEXT != 0)
        && !is_leading_mark(char_at(s, 0))
        && !s
            .chars()
            .any(|c| !c.is_ascii() && (is_unsafe_in_address(c) || is_canonically_special(c)))
}

/// The `@` of a plain ASCII address: at most [`MAX_ADDRESS_LEN`] octets, a
/// local part of at most [`MAX_LOCAL_PART_LEN`] octets made of non-empty
/// runs of RFC 5322 `atext` other than `=` separated by single dots, one
/// `@`, and a plain domain ([`is_plain_ascii_domain`]).
///
/// Such an address passes every check of `Validator::any_address` without
/// a warning (no control, space, quote, parenthesis, bracket or second `@`;
/// the local part checks; the domain checks without IDNA; the key is as
/// long as the address), and the `email_address` crate accepts its local
/// part and domain (see `any_address` and [`is_plain_ascii_domain`]).
fn plain_address(b: &[u8]) -> Option<usize> {
    if b.len() > MAX_ADDRESS_LEN {
        return None;
    }
    let mut i = 0;
    let at = loop {
        let j = skip_to(b, i, LOCAL_STOP);
        if j == i {
            // Empty: a leading, trailing or doubled dot, or no local part.
            return None;
        }
        match b.get(j) {
            Some(b'.') => i = j + 1,
            Some(b'@') => break j,
            // Anything else, `=` too (a possible encoded word), is left to
            // `Validator::any_address`.
            _ => return None,
        }
    };
    (at <= MAX_LOCAL_PART_LEN && is_plain_ascii_domain(&b[at + 1..])).then_some(at)
}

/// Whether an ASCII domain is plain: letters, digits, hyphens and dots
/// only, at most [`MAX_DOMAIN_LEN`] octets, at least two labels of 1 to
/// [`MAX_LABEL_LEN`] octets, none starting or ending with a hyphen or with
/// hyphens in its 3rd and 4th positions (so no punycode), and the last
/// ending with a letter.
///
/// These are exactly the domains that pass the letter-digit-hyphen check
/// and for which [`check_labels`] returns `Ok(false)` (no error, no
/// punycode), in one pass. Such a domain, lowercased, also passes
/// `email_address::EmailAddress::is_valid_domain`: it is not empty, at most
/// 254 octets, not a `[literal]`, and every label is 1 to 63 octets of
/// `atext` (letters, digits, hyphens) starting and ending with a letter or
/// digit.
fn is_plain_ascii_domain(d: &[u8]) -> bool {
    fn plain_label(l: &[u8]) -> bool {
        match (l.first(), l.last()) {
            (Some(&first), Some(&last)) => {
                l.len() <= MAX_LABEL_LEN
                    && first != b'-'
                    && last != b'-'
                    && !(l.len() >= 4 && l[2] == b'-' && l[3] == b'-')
            }
            _ => false,
        }
    }
    if d.len() > MAX_DOMAIN_LEN {
        return false;
    }
    let mut start = 0;
    for (i, &c) in d.iter().enumerate() {
        if c == b'.' {
            if !plain_label(&d[start..i]) {
                return false;
            }
            start = i + 1;
        } else if c >= 0x80 || ASCII_CLASS[usize::from(c)] & LDH == 0 {
            return false;
        }
    }
    let last = &d[start..];
    start > 0 && plain_label(last) && last.last().is_some_and(u8::is_ascii_alphabetic)
}

/// Structure of an ASCII (or IDNA-encoded) domain; returns whether it has
/// punycode (`xn--`) labels. `typed` is the domain as typed, for messages.
fn check_labels(ascii: &str, typed: &str) -> Result<bool, AddressError> {
    let b = ascii.as_bytes();
    let part = AddressPart::Domain;
    if b.len() > MAX_DOMAIN_LEN {
        return Err(AddressError::DomainTooLong {
            len: b.len(),
            max: MAX_DOMAIN_LEN,
        });
    }
    match (b.first(), b.last()) {
        (Some(b'.'), _) => return Err(AddressError::LeadingDot { part }),
        (_, Some(b'.')) => return Err(AddressError::TrailingDot { part }),
        (None, _) => return Err(AddressError::EmptyDomain),
        _ => {}
    }
    let mut labels = 0;
    let mut punycode = false;
    let mut all_numeric = true;
    let mut last = "";
    for label in ascii.split('.') {
        let l = label.as_bytes();
        if l.is_empty() {
            return Err(AddressError::ConsecutiveDots { part });
        }
        if l.len() > MAX_LABEL_LEN {
            return Err(AddressError::LabelTooLong {
                label: label.to_owned(),
                len: l.len(),
                max: MAX_LABEL_LEN,
            });
        }
        if l[0] == b'-' || l[l.len() - 1] == b'-' {
            return Err(AddressError::LabelHyphen {
                label: label.to_owned(),
            });
        }
        if l.len() >= 4 && l[2] == b'-' && l[3] == b'-' {
            if l[..2].eq_ignore_ascii_case(b"xn") {
                punycode = true;
            } else {
                return Err(AddressError::ReservedLabel {
                    label: label.to_owned(),
                });
            }
        }
        all_numeric &= l.iter().all(u8::is_ascii_digit);
        labels += 1;
        last = label;
    }
    if labels < 2 {
        return Err(AddressError::DomainNoDot {
            domain: typed.to_owned(),
        });
    }
    if last.bytes().all(|c| c.is_ascii_digit()) {
        return Err(if labels == 4 && all_numeric {
            AddressError::IpAddressDomain
        } else {
            AddressError::NumericTld {
                tld: last.to_owned(),
            }
        });
    }
    if !last.as_bytes()[last.len() - 1].is_ascii_alphabetic() {
        return Err(AddressError::InvalidTld {
            tld: last.to_owned(),
        });
    }
    Ok(punycode)
}

/// An ASCII domain with `xn--` labels (lowercase, structure checked).
fn punycode_domain(lower: &str) -> Result<SlowDomain, AddressError> {
    let uts46 = Uts46::new();
    let (unicode, result) = uts46.to_unicode(lower.as_bytes(), AsciiDenyList::STD3, Hyphens::Allow);
    if result.is_err() {
        let bad = lower
            .split('.')
            .find(|l| {
                l.starts_with("xn--")
                    && uts46
                        .to_unicode(l.as_bytes(), AsciiDenyList::STD3, Hyphens::Allow)
                        .1
                        .is_err()
            })
            .or_else(|| lower.split('.').find(|l| l.starts_with("xn--")))
            .unwrap_or(lower);
        return Err(AddressError::InvalidPunycode {
            label: bad.to_owned(),
        });
    }
    check_unicode_labels(unicode.split('.').zip(lower.split('.')))?;
    check_decoded_labels(&unicode, lower)?;
    Ok(SlowDomain {
        ascii: lower.to_owned(),
        lower: lower.to_owned(),
        confusable: unicode.split('.').any(is_confusable),
        crate_ok: false,
    })
}

/// A domain with non-ASCII characters; error positions are bytes in it.
fn unicode_domain(domain: &str) -> Result<SlowDomain, AddressError> {
    if domain.len() > MAX_DOMAIN_UTF8_LEN {
        return Err(AddressError::DomainTooLong {
            len: domain.len(),
            max: MAX_DOMAIN_UTF8_LEN,
        });
    }
    for (i, &c) in domain.as_bytes().iter().enumerate() {
        if c < 0x80 && c != b'.' && ASCII_CLASS[usize::from(c)] & LDH == 0 {
            return Err(AddressError::InvalidCharacter {
                character: char::from(c),
                position: i,
                part: AddressPart::Domain,
            });
        }
    }
    let uts46 = Uts46::new();
    let to_ascii = |s: &str| {
        uts46
            .to_ascii(
                s.as_bytes(),
                AsciiDenyList::STD3,
                Hyphens::Allow,
                DnsLength::Ignore,
            )
            .map(|c| c.into_owned())
    };
    // A character that IDNA refuses on its own, or that turns into a dot
    // (`⒈` is "1."), is reported as such.
    let bad_char = || {
        domain.char_indices().find(|&(_, c)| {
            !c.is_ascii()
                && !is_dot_like(c)
                && !to_ascii(c.encode_utf8(&mut [0; 4])).is_ok_and(|a| !a.contains('.'))
        })
    };
    let Ok(ascii) = to_ascii(domain) else {
        return Err(match bad_char() {
            Some((i, c)) => AddressError::InvalidCharacter {
                character: c,
                position: i,
                part: AddressPart::Domain,
            },
            None => AddressError::InvalidInternationalDomain,
        });
    };
    if domain.split(is_dot_like).count() != ascii.split('.').count() {
        return Err(match bad_char() {
            Some((i, c)) => AddressError::InvalidCharacter {
                character: c,
                position: i,
                part: AddressPart::Domain,
            },
            None => AddressError::InvalidInternationalDomain,
        });
    }
    check_labels(&ascii, domain)?;
    // The domain as shown is the Unicode form of the same mapping, not
    // `str::to_lowercase`: lowercasing is context-dependent (a capital
    // sigma ending a word becomes a final sigma, which UTS #46 keeps as a
    // distinct letter, while the mapping turns every capital sigma into σ),
    // so the address would parse again to another key.
    let unicode = mapped_domain(&uts46, domain, &ascii)?;
    // Hyphen rules on the mapped labels, as the address will be read again
    // (`㍻--a` is `平成--a`).
    check_unicode_labels(unicode.split('.').zip(ascii.split('.')))?;
    check_decoded_labels(&unicode, domain)?;
    if unicode.len() > MAX_DOMAIN_UTF8_LEN {
        return Err(AddressError::DomainTooLong {
            len: unicode.len(),
            max: MAX_DOMAIN_UTF8_LEN,
        });
    }
    Ok(SlowDomain {
        // As typed (fullwidth forms) and as shown (labels typed as
        // punycode, decoded).
        confusable: domain.split(is_dot_like).any(is_confusable)
            || unicode.split('.').any(is_confusable),
        lower: unicode,
        ascii,
        crate_ok: false,
    })
}

/// The UTS #46 Unicode form of a domain whose ASCII form is `ascii`
/// (mapped: lowercase, NFC, compatibility forms folded, full stops turned
/// into dots; punycode labels decoded), in one pass of the `idna` crate
/// that also checks it yields `ascii` again.
fn mapped_domain(uts46: &Uts46, domain: &str, ascii: &str) -> Result<String, AddressError> {
    let mut unicode = String::with_capacity(domain.len());
    let mut ascii_again = String::new();
    let done = uts46.process(
        domain.as_bytes(),
        AsciiDenyList::STD3,
        Hyphens::Allow,
        ErrorPolicy::FailFast,
        |_, _, _| true,
        &mut unicode,
        Some(&mut ascii_again),
    );
    let ascii_again = match done {
        Ok(ProcessingSuccess::Passthrough) => domain,
        Ok(ProcessingSuccess::WroteToSink) if ascii_again.is_empty() => unicode.as_str(),
        Ok(ProcessingSuccess::WroteToSink) => ascii_again.as_str(),
        Err(_) => return Err(AddressError::InvalidInternationalDomain),
    };
    if ascii_again != ascii {
        // Not expected: both come from the same mapping.
        return Err(AddressError::InvalidInternationalDomain);
    }
    Ok(match done {
        Ok(ProcessingSuccess::Passthrough) => domain.to_owned(),
        _ => unicode,
    })
}

/// Refuses a domain whose Unicode form holds a character refused in a
/// typed address (invisible, blank, private-use...): a punycode label
/// (`xn--...`) decodes to characters the typed-character checks never saw
/// (found by the paste fuzz target: a label decoding to U+2800 BRAILLE
/// PATTERN BLANK). `typed` is the domain as typed; the position is the
/// start of the label there.
fn check_decoded_labels(unicode: &str, typed: &str) -> Result<(), AddressError> {
    let mut offset = 0;
    for (label, typed_label) in unicode.split('.').zip(typed.split(is_dot_like)) {
        if let Some(c) = label
            .chars()
            .find(|&c| !c.is_ascii() && is_unsafe_in_address(c))
        {
            return Err(AddressError::UnsafeCharacter {
                character: c,
                position: offset,
            });
        }
        offset += typed_label.len()
            + typed[offset + typed_label.len()..]
                .chars()
                .next()
                .map_or(0, char::len_utf8);
    }
    Ok(())
}

/// Hyphen rules on the Unicode form of `xn--` labels (`(unicode, ascii)`
/// pairs): no hyphen first or last, none in both 3rd and 4th positions.
fn check_unicode_labels<'a>(
    pairs: impl Iterator<Item = (&'a str, &'a str)>,
) -> Result<(), AddressError> {
    for (unicode, ascii) in pairs {
        if !ascii.starts_with("xn--") {
            continue;
        }
        let mut chars = unicode.chars();
        let first = chars.next();
        if first.is_some_and(is_hyphen_like) || unicode.chars().last().is_some_and(is_hyphen_like) {
            return Err(AddressError::LabelHyphen {
                label: unicode.to_owned(),
            });
        }
        let mut rest = chars.skip(1);
        if rest.next().is_some_and(is_hyphen_like) && rest.next().is_some_and(is_hyphen_like) {
            return Err(AddressError::ReservedLabel {
                label: unicode.to_owned(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Mailbox<'_> {
        match parse_address(s) {
            Ok(m) => m,
            Err(e) => panic!("{s:?} refused: {e} ({e:?})"),
        }
    }

    fn err(s: &str) -> AddressError {
        match parse_address(s) {
            Ok(m) => panic!("{s:?} accepted: {m:?}"),
            Err(e) => e,
        }
    }

    fn texts<'a>(p: &'a ParsedRecipients<'_>) -> Vec<&'a str> {
        p.entries.iter().map(|e| e.text.as_ref()).collect()
    }

    #[test]
    fn three_formats() {
        let m = ok("ada@example.com");
        assert_eq!(m.display_name, None);
        assert_eq!(m.address, "ada@example.com");
        let m = ok("Ada Lovelace <ada@example.com>");
        assert_eq!(m.display_name.as_deref(), Some("Ada Lovelace"));
        let m = ok("\"Lovelace, Ada\" <ada@example.com>");
        assert_eq!(m.display_name.as_deref(), Some("Lovelace, Ada"));
        let m = ok("Ada<ada@example.com>");
        assert_eq!(m.display_name.as_deref(), Some("Ada"));
        let m = ok("<ada@example.com>");
        assert_eq!(m.display_name, None);
        let m = ok("  \"\" < ada@example.com >  ");
        assert_eq!(m.display_name, None);
        assert_eq!(m.key, "ada@example.com");
    }

    #[test]
    fn display_names_are_unquoted_and_trimmed() {
        assert_eq!(
            ok("\"A \\'B\\'\" <a@b.com>").display_name.as_deref(),
            Some("A 'B'")
        );
        assert_eq!(
            ok("\"  Ada  \" <a@b.com>").display_name.as_deref(),
            Some("Ada")
        );
        assert_eq!(
            ok("\"The Foo of Bar\" Course   Staff <a@b.com>")
                .display_name
                .as_deref(),
            Some("The Foo of Bar Course Staff")
        );
        assert_eq!(
            ok("Joe Q. Public <a@b.com>").display_name.as_deref(),
            Some("Joe Q. Public")
        );
        assert_eq!(
            ok("Ada\tLovelace <a@b.com>").display_name.as_deref(),
            Some("Ada Lovelace")
        );
    }

    #[test]
    fn normalization() {
        let m = ok("Ada@Example.COM");
        assert_eq!(m.address, "Ada@example.com");
        assert_eq!(m.key, "ada@example.com");
        assert_eq!(m.ascii_domain, "example.com");
        assert!(m.warnings.is_empty());
        assert_eq!(
            normalize_email("ADA@example.com"),
            Ok("ada@example.com".into())
        );
        let m = ok("Élodie@Université.FR");
        assert_eq!(m.address, "Élodie@université.fr");
        assert_eq!(m.key, "élodie@xn--universit-j4a.fr");
        assert_eq!(m.ascii_domain, "xn--universit-j4a.fr");
        assert!(m.has_warning(&AddressWarning::InternationalDomain));
        assert!(m.has_warning(&AddressWarning::InternationalLocalPart));
        assert!(!m.has_warning(&AddressWarning::Confusable));
        assert_eq!(m.local_part(), "Élodie");
        assert_eq!(m.domain(), "université.fr");
        // The punycode form is the same key.
        assert_eq!(ok("élodie@xn--universit-j4a.fr").key, m.key);
    }

    /// Found by the paste fuzz target after 22 minutes: the domain was
    /// shown lowercased by `str::to_lowercase` (a capital sigma ending a
    /// word became a final sigma ς) while its key came from UTS #46 (which
    /// maps Σ to σ), so the stored address parsed again to another key.
    #[test]
    fn final_sigma_domain_parses_again_to_the_same_key() {
        let m = ok("ЕOAtpp@YgA.ΧgaOOOΣ");
        assert_eq!(m.address, "ЕOAtpp@yga.χgaoooσ");
        assert_eq!(m.key, "еoatpp@yga.xn--gaooo-kdew");
        let again = ok(&m.address);
        assert_eq!(again.key, m.key);
        assert_eq!(again.address, m.address);
        assert_eq!(ok(&m.key).key, m.key);
        // ς is its own letter for IDNA 2008: typed, it stays.
        assert_ne!(ok("ada@χgaoooς.gr").key, ok("ada@χgaoooσ.gr").key);
        assert_eq!(ok("ada@ΧGAOOOΣ.gr").key, ok("ada@χgaoooσ.gr").key);
        // Found by `keys_are_fixed_points`: the hyphen rules apply to the
        // mapped label (`㍻--a` is `平成--a`), which the address shows.
        assert_eq!(err("ada@㍻--a.jp").code(), "reserved_label");
    }

    /// Found by the paste fuzz target (with the fixed-point assertion): a
    /// punycode label decoding to U+2800 BRAILLE PATTERN BLANK, an invisible
    /// character the typed-character checks never saw; in a domain with
    /// non-ASCII labels the shown (decoded) address then failed to parse.
    #[test]
    fn punycode_labels_cannot_smuggle_invisible_characters() {
        let blank = AddressError::UnsafeCharacter {
            character: '\u{2800}',
            position: 4,
        };
        assert_eq!(err("ada@xn--ab-10y.com"), blank);
        assert_eq!(err("ada@XN--6ii.com"), blank);
        assert_eq!(
            err("ada@α.xn--ab-10y.com"),
            AddressError::UnsafeCharacter {
                character: '\u{2800}',
                position: 6
            }
        );
        let crash = "p@IIEg.xn--gIIIpyga5dxxxxxxxxxxxxxyxyA.\u{3b1}.comevil.9.\u{3b1}.comevil.9.com.exYgwA.\u{3a7}g\u{3b1}aOxxxxxxA.\u{3b1}.comevil.9.\u{3b1}.comevil.9.com.exYgwA.\u{3a7}g\u{3b1}aOxxxxxxxx";
        assert_eq!(err(crash).code(), "unsafe_character");
        // A punycode label typed among Unicode ones is checked for
        // look-alikes as it is shown (decoded).
        let m = ok("ada@α.xn--80ak6aa92e.com");
        assert!(m.has_warning(&AddressWarning::Confusable), "{m:?}");
        assert_eq!(ok(&m.address).key, m.key);
    }

    #[test]
    fn domains_are_shown_as_uts46_maps_them() {
        // Fullwidth letters and the ideographic full stop fold to what they
        // imitate (still flagged as confusable).
        let m = ok("ada@ＥＸＡＭＰＬＥ。com");
        assert_eq!(m.address, "ada@example.com");
        assert!(m.has_warning(&AddressWarning::Confusable));
        assert_eq!(ok("ada@STRAẞE.de").address, "ada@straße.de");
        assert_eq!(
            ok("ada@İstanbul.tr").address,
            ok(&ok("ada@İstanbul.tr").address).address
        );
        // A domain typed in ASCII stays ASCII.
        assert_eq!(
            ok("ada@XN--Universit-J4A.fr").address,
            "ada@xn--universit-j4a.fr"
        );
    }

    /// The local part's key does not depend on a neighbour: `Σ` is `σ`
    /// wherever it stands, whether the key goes through UTS #46 (`ΑΣ`) or
    /// plain lowercasing (`ΑΣ＠`, where the mapping would make a `@`).
    #[test]
    fn local_part_key_lowercases_sigma_without_context() {
        assert_eq!(ok("ΑΣ@example.com").key, ok("Ασ@example.com").key);
        assert_eq!(ok("ΑΣ＠@example.com").key, ok("Ασ＠@example.com").key);
        let m = ok("ΑΣ＠@example.com");
        assert_eq!(ok(&m.key).key, m.key);
    }

    #[test]
    fn fullwidth_domain_is_the_same_key_and_flagged() {
        let m = ok("ada@ｅｘａｍｐｌｅ.com");
        assert_eq!(m.key, "ada@example.com");
        assert!(m.has_warning(&AddressWarning::Confusable));
        let p = parse_recipients("ada@example.com ada@ｅｘａｍｐｌｅ.com");
        assert_eq!(p.recognized(), 1);
        assert_eq!(p.duplicates().count(), 1);
    }

    #[test]
    fn confusables_are_flagged() {
        // Cyrillic "аррӏе" imitating "apple".
        assert!(ok("ada@аррӏе.com").has_warning(&AddressWarning::Confusable));
        assert!(ok("ada@xn--80ak6aa92e.com").has_warning(&AddressWarning::Confusable));
        // Latin and Cyrillic mixed in one label.
        assert!(ok("ada@pаypal.com").has_warning(&AddressWarning::Confusable));
        assert!(ok("pаypal@example.com").has_warning(&AddressWarning::Confusable));
        assert!(ok("＠@fullwidth.at").has_warning(&AddressWarning::Confusable));
        // Ordinary international addresses are not.
        for a in [
            "jeff葉@臺網中心.tw",
            "юзер@екзампл.ком",
            "θσερ@εχαμπλε.ψομ",
            "राम@मोहन.ईन्फो",
            "甲斐黒川日本@example.tld",
            "ñoñó@example.tld",
        ] {
            let m = ok(a);
            assert!(!m.has_warning(&AddressWarning::Confusable), "{a}");
        }
    }

    #[test]
    fn refusals_are_precise() {
        use AddressError as E;
        let part = AddressPart::LocalPart;
        let dom = AddressPart::Domain;
        assert_eq!(err(""), E::Empty);
        assert_eq!(err("   "), E::Empty);
        assert_eq!(err("ada.example.com"), E::MissingAt);
        assert_eq!(
            err("hello＠world"),
            E::LookalikeAt {
                character: '＠',
                position: 5
            }
        );
        assert_eq!(err("a@b@c.com"), E::MultipleAt { position: 3 });
        assert_eq!(err("a@b.com c@d.com"), E::MultipleEntries { count: 2 });
        assert_eq!(err("@example.com"), E::EmptyLocalPart);
        assert_eq!(err("ada@"), E::EmptyDomain);
        assert_eq!(
            err(&format!("{}@example.com", "a".repeat(65))),
            E::LocalPartTooLong { len: 65, max: 64 }
        );
        assert_eq!(err(".ada@x.com"), E::LeadingDot { part });
        assert_eq!(err("ada.@x.com"), E::TrailingDot { part });
        assert_eq!(err("a..da@x.com"), E::ConsecutiveDots { part });
        assert_eq!(err("ada@.x.com"), E::LeadingDot { part: dom });
        assert_eq!(err("ada@x.com."), E::TrailingDot { part: dom });
        assert_eq!(err("ada@x..com"), E::ConsecutiveDots { part: dom });
        assert_eq!(
            err("a,da@x.com"),
            E::MultipleEntries { count: 2 },
            "a comma separates entries"
        );
        assert_eq!(
            err("a\\da@x.com"),
            E::InvalidCharacter {
                character: '\\',
                position: 1,
                part
            }
        );
        assert_eq!(
            err("ada@exa_mple.com"),
            E::InvalidCharacter {
                character: '_',
                position: 7,
                part: dom
            }
        );
        assert_eq!(
            err("ada@x.com\n"),
            E::ControlCharacter {
                character: '\n',
                position: 9
            }
        );
        assert_eq!(
            err("a\u{0}da@x.com"),
            E::ControlCharacter {
                character: '\0',
                position: 1
            }
        );
        assert_eq!(
            err("a\u{200B}da@x.com"),
            E::UnsafeCharacter {
                character: '\u{200B}',
                position: 1
            }
        );
        assert_eq!(
            err("ad\u{202E}a@x.com"),
            E::UnsafeCharacter {
                character: '\u{202E}',
                position: 2
            }
        );
        assert_eq!(
            err("\u{300}@x.com"),
            E::LeadingCombiningMark {
                character: '\u{300}',
                position: 0
            }
        );
        assert_eq!(err("<a b@x.com>"), E::Whitespace { position: 2 });
        assert_eq!(err("\"ada\"@x.com"), E::QuotedLocalPart);
        assert_eq!(err("ada(x)@x.com"), E::Comment);
        assert_eq!(err("<ada@x.com> (Ada)"), E::Comment);
        assert_eq!(err("ada@[192.0.2.1]"), E::DomainLiteral);
        assert_eq!(err("ada@[IPv6:::1]"), E::DomainLiteral);
        assert_eq!(err("ada@192.0.2.1"), E::IpAddressDomain);
        assert_eq!(
            err("ada@localhost"),
            E::DomainNoDot {
                domain: "localhost".into()
            }
        );
        assert_eq!(err("ada@-x.com"), E::LabelHyphen { label: "-x".into() });
        assert_eq!(
            err("ada@yy--0.tld"),
            E::ReservedLabel {
                label: "yy--0".into()
            }
        );
        assert_eq!(
            err("me@yy－－0.tld"),
            E::ReservedLabel {
                label: "yy--0".into()
            }
        );
        assert_eq!(
            err("ada@xn--0.tld"),
            E::InvalidPunycode {
                label: "xn--0".into()
            }
        );
        assert_eq!(err("ada@x.123"), E::NumericTld { tld: "123".into() });
        assert_eq!(
            err("me@⒈wouldbeinvalid.com"),
            E::InvalidCharacter {
                character: '⒈',
                position: 3,
                part: dom
            }
        );
        assert_eq!(
            err("Ada\u{202E} <a@b.com>"),
            E::DisplayNameControl {
                character: '\u{202E}',
                position: 3
            }
        );
        assert_eq!(
            err("foo\r\n <wok@example.com>"),
            E::DisplayNameControl {
                character: '\r',
                position: 3
            }
        );
        assert_eq!(
            err("\"\u{0}\" <null@example.net>"),
            E::DisplayNameControl {
                character: '\0',
                position: 1
            }
        );
        assert_eq!(
            err("a@b <a@b.com>"),
            E::AddressInName {
                found: "a@b".into(),
                position: 0
            }
        );
        assert_eq!(
            err("Ada@Home<a@b.com>"),
            E::AddressInName {
                found: "Ada@Home".into(),
                position: 0
            }
        );

        assert_eq!(err("\"Ada <a@b.com>"), E::UnbalancedQuote);
        assert_eq!(err("Ada \"x\"y\" <a@b.com>"), E::UnbalancedQuote);
        assert_eq!(err("<a@b.com"), E::MissingClosingBracket);
        assert_eq!(
            err("a@b.com>"),
            E::UnexpectedBracket {
                character: '>',
                position: 7
            }
        );
        assert_eq!(err("<a@b.com>x"), E::TrailingText);
        assert_eq!(
            err("  a\u{0}@b.com"),
            E::ControlCharacter {
                character: '\0',
                position: 3
            },
            "positions count from the start of the input"
        );
    }

    #[test]
    fn lengths() {
        let label = "a".repeat(63);
        let domain = format!("{label}.{label}.{label}.{}", "a".repeat(57)); // 249
        assert_eq!(domain.len(), 249);
        assert!(parse_address(&format!("abc@{domain}")).is_ok());
        assert_eq!(
            err(&format!("abcd@{domain}x")),
            AddressError::AddressTooLong { len: 255, max: 254 }
        );
        assert_eq!(
            err(&format!("a@{label}.{label}.{label}.{label}")),
            AddressError::DomainTooLong { len: 255, max: 253 }
        );
        assert_eq!(
            err(&format!("abcdefgh@{domain}")),
            AddressError::AddressTooLong { len: 258, max: 254 }
        );
        assert_eq!(
            err(&format!("ada@{}.com", "a".repeat(64))),
            AddressError::LabelTooLong {
                label: "a".repeat(64),
                len: 64,
                max: 63
            }
        );
        // Lowercasing İ (2 bytes) gives i + U+0307 (3 bytes): the key must
        // still fit the limit.
        let local = "İ".repeat(30);
        assert_eq!(local.len(), 60);
        assert_eq!(
            err(&format!("{local}@example.com")),
            AddressError::LocalPartTooLong { len: 90, max: 64 }
        );
    }

    #[test]
    fn latin1_local_key_agrees_with_uts46() {
        // Every code point of the Latin-1 letter block, alone and among
        // ASCII (upper and lower case, digits, dots, atext symbols).
        for u in 0xA0u32..=0x17F {
            let c = char::from_u32(u).expect("a scalar value");
            for local in [
                format!("{c}"),
                format!("A{c}b"),
                format!("{c}.Z9"),
                format!("x+{c}{c}'Q"),
                format!("{c}~XN-{c}"),
            ] {
                let mut fast = String::from("kept:");
                let used = latin1_local_key(&local, &mut fast);
                let expected = (0xC0..=0xFF).contains(&u) && u != 0xD7 && u != 0xF7;
                assert_eq!(used, expected, "{local:?}");
                if used {
                    assert_eq!(fast, format!("kept:{}", uts46_local_key(&local)));
                } else {
                    assert_eq!(fast, "kept:", "nothing appended for {local:?}");
                }
            }
        }
        // A piece that reads as punycode takes the general path.
        let mut out = String::new();
        assert!(!latin1_local_key("xN--é", &mut out));
        assert!(!latin1_local_key("é.Xn--abc", &mut out));
        assert!(out.is_empty());
        assert!(latin1_local_key("é.xn-abc", &mut out));
        assert_eq!(out, "é.xn-abc");
    }

    #[test]
    fn plain_ascii_domains_are_the_ones_check_labels_passes_without_punycode() {
        let label = "a".repeat(63);
        let domains = [
            "example.com".to_owned(),
            "Example.COM".to_owned(),
            "a.b".to_owned(),
            "a-b.c-d.ef".to_owned(),
            "x.y1".to_owned(),
            "x.1y".to_owned(),
            "x.123".to_owned(),
            "1.2.3.4".to_owned(),
            "localhost".to_owned(),
            ".x.com".to_owned(),
            "x.com.".to_owned(),
            "x..com".to_owned(),
            "-x.com".to_owned(),
            "x-.com".to_owned(),
            "ab--c.com".to_owned(),
            "xn--bcher-kva.com".to_owned(),
            "XN--0.com".to_owned(),
            "ab-c.com".to_owned(),
            "x_y.com".to_owned(),
            "x y.com".to_owned(),
            String::new(),
            format!("{label}.com"),
            format!("{label}a.com"),
            format!("{label}.{label}.{label}.{}", "a".repeat(61)),
            format!("{label}.{label}.{label}.{}", "a".repeat(62)),
        ];
        for d in &domains {
            let ldh = d
                .bytes()
                .all(|c| c == b'.' || ASCII_CLASS[usize::from(c)] & LDH != 0);
            let labels = check_labels(&d.to_ascii_lowercase(), d);
            assert_eq!(
                is_plain_ascii_domain(d.as_bytes()),
                ldh && labels == Ok(false),
                "{d:?}: {labels:?}"
            );
        }
    }

    #[test]
    fn paste_separators() {
        let p = parse_recipients("a@x.com,b@x.com;c@x.com\nd@x.com\r\ne@x.com f@x.com\tg@x.com");
        assert_eq!(
            texts(&p),
            [
                "a@x.com", "b@x.com", "c@x.com", "d@x.com", "e@x.com", "f@x.com", "g@x.com"
            ]
        );
        assert_eq!(p.recognized(), 7);
        let p = parse_recipients(" , ,, \n\n ;");
        assert!(p.entries.is_empty());
    }

    #[test]
    fn paste_formats_and_spans() {
        let text = "Ada Lovelace <ada@x.com>, \"Hopper, Grace\" <grace@x.com>\nbob@x.com Carol<carol@x.com>";
        let p = parse_recipients(text);
        assert_eq!(
            texts(&p),
            [
                "Ada Lovelace <ada@x.com>",
                "\"Hopper, Grace\" <grace@x.com>",
                "bob@x.com",
                "Carol<carol@x.com>"
            ]
        );
        for e in &p.entries {
            assert_eq!(e.span.slice(text), e.text);
        }
        let names: Vec<_> = p.mailboxes().map(|m| m.display_name.clone()).collect();
        assert_eq!(
            names,
            [
                Some("Ada Lovelace".into()),
                Some("Hopper, Grace".into()),
                None,
                Some("Carol".into())
            ]
        );
    }

    #[test]
    fn paste_reports_broken_fragments() {
        let p = parse_recipients(
            "ada@x.com\nbob at example.com\n<carol@x.com\ndan@@x.com\neve@x.com.\nfrank@",
        );
        let codes: Vec<_> = p
            .entries
            .iter()
            .map(|e| match &e.outcome {
                EntryOutcome::Invalid { error } => error.code(),
                _ => "ok",
            })
            .collect();
        assert_eq!(
            codes,
            [
                "ok",
                "missing_at",
                "missing_closing_bracket",
                "multiple_at",
                "trailing_dot",
                "empty_domain"
            ]
        );
        assert_eq!(p.recognized(), 1);
        assert_eq!(p.invalid().count(), 5);
    }

    #[test]
    fn stray_quote_spoils_one_entry_only() {
        let p = parse_recipients("\"Smith, John <js@x.com>, ada@x.com");
        assert_eq!(texts(&p), ["\"Smith", "John <js@x.com>", "ada@x.com"]);
        assert_eq!(p.recognized(), 2);
        let p = parse_recipients("Ada <ada@x.com Bob <bob@x.com>");
        assert_eq!(texts(&p), ["Ada", "<ada@x.com", "Bob <bob@x.com>"]);
        assert_eq!(p.recognized(), 1);
    }

    #[test]
    fn duplicates() {
        let p = parse_recipients("Ada@X.com, ada@x.com, \"A\" <ADA@x.COM>, bob@x.com");
        assert_eq!(p.recognized(), 2);
        let d: Vec<_> = p.duplicates().map(|(_, f)| f).collect();
        assert_eq!(d, [0, 0]);
        assert!(matches!(
            &p.entries[2].outcome,
            EntryOutcome::Duplicate { mailbox, first: 0 } if mailbox.display_name.as_deref() == Some("A")
        ));
    }

    /// Whether `c` is a slice of `text` (not a copy).
    #[allow(clippy::ptr_arg)] // the Cow is the point: borrowed or owned
    fn within(c: &Cow<'_, str>, text: &str) -> bool {
        let range = text.as_bytes().as_ptr_range();
        matches!(c, Cow::Borrowed(s) if range.contains(&s.as_ptr()))
    }

    #[test]
    fn what_was_typed_as_is_is_borrowed_and_what_changed_is_owned() {
        let text = "ada@example.com, Ada Lovelace <ada.l@example.com>\n\
                    \"Lovelace, Ada\" <al@example.com>; Bob <BOB@Example.COM>\n\
                    \"O\\'Neil\" <o@example.com> eve@université.fr";
        let p = parse_recipients(text);
        let m: Vec<&Mailbox<'_>> = p
            .entries
            .iter()
            .filter_map(|e| e.outcome.mailbox())
            .collect();
        assert_eq!(m.len(), 6);
        for e in &p.entries {
            assert!(within(&e.text, text), "{:?}", e.text);
        }
        // Typed in lowercase, names without escapes: nothing copied.
        for mb in &m[..3] {
            assert!(within(&mb.address, text) && within(&mb.key, text));
            assert!(within(&mb.ascii_domain, text));
            assert!(mb.display_name.as_ref().is_none_or(|n| within(n, text)));
        }
        assert_eq!(m[2].display_name.as_deref(), Some("Lovelace, Ada"));
        // An uppercase domain: address, key and domain are new strings.
        assert_eq!(
            (m[3].address.as_ref(), m[3].key.as_ref()),
            ("BOB@example.com", "bob@example.com")
        );
        assert!(matches!(m[3].address, Cow::Owned(_)) && matches!(m[3].key, Cow::Owned(_)));
        assert!(m[3].display_name.as_ref().is_some_and(|n| within(n, text)));
        // An escaped character in the name: unescaped into a new string.
        assert_eq!(m[4].display_name.as_deref(), Some("O'Neil"));
        assert!(matches!(m[4].display_name, Some(Cow::Owned(_))));
        // An international domain: the address as typed, the key in ASCII.
        assert!(within(&m[5].address, text));
        assert_eq!(m[5].key, "eve@xn--universit-j4a.fr");
        // Detached, the same values.
        let owned = p.clone().into_owned();
        assert_eq!(owned, p);
        assert!(
            owned
                .entries
                .iter()
                .all(|e| matches!(e.text, Cow::Owned(_)))
        );
    }

    #[test]
    fn duplicates_are_found_through_colliding_hashes() {
        let valid = |key: &'static str| PasteEntry {
            span: Span { start: 0, end: 0 },
            text: key.into(),
            outcome: EntryOutcome::Valid(Mailbox {
                display_name: None,
                address: key.into(),
                key: key.into(),
                ascii_domain: "x.com".into(),
                warnings: Vec::new(),
            }),
        };
        let keys = [
            "a@x.com", "b@x.com", "a@x.com", "-", "b@x.com", "c@x.com", "c@x.com", "b@x.com",
            "d@x.com", "a@x.com",
        ];
        let mut entries: Vec<PasteEntry> = keys
            .iter()
            .map(|&k| match k {
                "-" => PasteEntry {
                    span: Span { start: 0, end: 0 },
                    text: k.into(),
                    outcome: EntryOutcome::Invalid {
                        error: AddressError::MissingAt,
                    },
                },
                _ => valid(k),
            })
            .collect();
        let mut hashes = KeyHashes::new(100, 0);
        for (i, k) in keys.iter().enumerate() {
            match *k {
                "-" => {}
                // a, b and c share one hash, d has its own.
                "d@x.com" => hashes.push(i, k),
                _ => hashes.push_hash(i, 42 << 40),
            }
        }
        hashes.mark_duplicates(&mut entries);
        let got: Vec<String> = entries
            .iter()
            .map(|e| match &e.outcome {
                EntryOutcome::Valid(m) => format!("valid {}", m.key),
                EntryOutcome::Duplicate { mailbox, first } => {
                    format!("dup {} of {first}", mailbox.key)
                }
                EntryOutcome::Invalid { error } => error.code().to_owned(),
            })
            .collect();
        assert_eq!(
            got,
            [
                "valid a@x.com",
                "valid b@x.com",
                "dup a@x.com of 0",
                "missing_at",
                "dup b@x.com of 1",
                "valid c@x.com",
                "dup c@x.com of 5",
                "dup b@x.com of 1",
                "valid d@x.com",
                "dup a@x.com of 0",
            ]
        );
    }

    #[test]
    fn many_copies_of_one_address_point_at_the_first() {
        let text = "ada@example.com\n".repeat(100_000);
        let p = parse_recipients(&text);
        assert_eq!(p.recognized(), 1);
        assert_eq!(p.duplicates().count(), 99_999);
        assert!(p.duplicates().all(|(_, first)| first == 0));
    }

    #[test]
    fn hostile_display_names_in_pastes_never_reach_a_mailbox() {
        let p = parse_recipients("foo\r\nBcc: evil@x.com <wok@example.com>");
        for m in p.mailboxes() {
            let name = m.display_name.as_deref().unwrap_or("");
            assert!(!name.contains(['\r', '\n']), "{m:?}");
        }
        let p = parse_recipients("\"A\u{202E}B\" <a@b.com>, \"x\u{0}\" <c@d.com>");
        assert_eq!(p.recognized(), 0);
    }

    #[test]
    fn an_address_cannot_pose_as_a_name() {
        let posing = |s: &str, found: &str, position: usize| {
            assert_eq!(
                err(s),
                AddressError::AddressInName {
                    found: found.into(),
                    position
                },
                "{s}"
            );
        };
        posing(
            "\"Alice <alice@example.com>\" <evil@evil.example>",
            "alice@example.com",
            8,
        );
        posing(
            "\"alice@example.com\" <evil@evil.example>",
            "alice@example.com",
            1,
        );
        posing(
            "alice@example.com <evil@evil.example>",
            "alice@example.com",
            0,
        );
        posing(
            "alice@example.com<evil@evil.example>",
            "alice@example.com",
            0,
        );
        posing(
            "\"Alice, alice@example.org\" <bob@example.com>",
            "alice@example.org",
            8,
        );
        // In a paste: one refused entry, not two invitations.
        let p = parse_recipients("alice@example.com <evil@evil.example>, bob@example.com");
        assert_eq!(
            texts(&p),
            ["alice@example.com <evil@evil.example>", "bob@example.com"]
        );
        assert_eq!(p.recognized(), 1);
        assert_eq!(
            p.invalid().map(|(_, e)| e.code()).collect::<Vec<_>>(),
            ["address_in_name"]
        );
        // Its own address as its name is no imitation: kept, with no name.
        for s in [
            "ada@example.com <ADA@example.com>",
            "\"ada@example.com\" <ada@example.com>",
            "'ada@example.com' <ada@example.com>",
        ] {
            let m = ok(s);
            assert_eq!((m.key.as_ref(), m.display_name), ("ada@example.com", None));
        }
        assert_eq!(
            ok("\"Ada (ada@example.com)\" <ada@example.com>")
                .display_name
                .as_deref(),
            Some("Ada (ada@example.com)")
        );
        // An @ that is not inside a word is an ordinary character of a name.
        assert_eq!(
            ok("\"Ada @ Home\" <ada@example.com>")
                .display_name
                .as_deref(),
            Some("Ada @ Home")
        );
    }

    #[test]
    fn two_addresses_in_one_entry_are_refused() {
        assert_eq!(
            err("Alice <alice@example.com> <evil@evil.example>"),
            AddressError::TwoAddresses { position: 26 }
        );
        assert_eq!(
            err("<alice@example.com><evil@evil.example>"),
            AddressError::TwoAddresses { position: 19 }
        );
        let p = parse_recipients(
            "Alice <alice@example.com> <evil@evil.example>\n<a@x.com> <b@y.com> <c@z.com>\nbob@example.com",
        );
        assert_eq!(p.entries.len(), 3);
        assert_eq!(p.recognized(), 1);
        assert!(p.invalid().all(|(_, e)| e.code() == "two_addresses"));
        // Separated, they are two entries as always.
        assert_eq!(parse_recipients("<a@x.com>, <b@y.com>").recognized(), 2);
        assert_eq!(
            parse_recipients("Al <a@x.com> Bo <b@y.com>").recognized(),
            2
        );
        assert_eq!(parse_recipients("a@x.com b@y.com").recognized(), 2);
        assert_eq!(parse_recipients("a@x.com Bo <b@y.com>").recognized(), 2);
    }

    #[test]
    fn encoded_words_are_refused() {
        assert_eq!(
            err("=?utf-8?q?=C3=89ric?= <foo@example.com>"),
            AddressError::EncodedWord { position: 0 }
        );
        assert_eq!(
            err("\"Götz =?utf-8?q?C?=\" <g@c.de>"),
            AddressError::EncodedWord { position: 6 }
        );
        // In the local part, where some mail software decodes it into
        // another address (`=40` is `@`).
        assert_eq!(
            err("=?utf-8?q?eve=40evil.example?=@example.com"),
            AddressError::EncodedWord { position: 0 }
        );
        assert_eq!(
            err("Ada <a=?x?q?y?=b@example.com>"),
            AddressError::EncodedWord { position: 6 }
        );
        let p = parse_recipients("=?utf-8?b?QWRh?= <ada@example.com>; =?x?q?y?=@example.com");
        assert_eq!(p.recognized(), 0);
        // `=` alone is an ordinary character.
        assert_eq!(
            ok("prvs=1234=ada@example.com").key,
            "prvs=1234=ada@example.com"
        );
        assert_eq!(ok("a=?b@example.com").key, "a=?b@example.com");
        assert_eq!(
            ok("Ada = Countess <ada@example.com>")
                .display_name
                .as_deref(),
            Some("Ada = Countess")
        );
    }

    #[test]
    fn display_names_are_bounded() {
        let max = MAX_DISPLAY_NAME_CHARS;
        for name in [
            "A".repeat(max),
            "é".repeat(max),
            format!("{} Z", "a".repeat(max - 2)),
        ] {
            let entry = format!("{name} <a@b.com>");
            let m = ok(&entry);
            assert_eq!(m.display_name.as_deref(), Some(name.as_str()));
            assert_eq!(
                ok(&format!("\"{name}\" <a@b.com>")).display_name,
                m.display_name
            );
        }
        let too_long = AddressError::DisplayNameTooLong { len: max + 1, max };
        for name in ["A".repeat(max + 1), "é".repeat(max + 1)] {
            assert_eq!(err(&format!("{name} <a@b.com>")), too_long);
            assert_eq!(err(&format!("\"{name}\" <a@b.com>")), too_long);
            assert_eq!(
                err(&format!("\"{name}\" Z <a@b.com>")).code(),
                "display_name_too_long"
            );
        }
        // Spaces between words count once, as the name keeps them.
        let spaced = format!("{}     {}", "a".repeat(100), "b".repeat(99));
        assert_eq!(
            ok(&format!("{spaced} <a@b.com>"))
                .display_name
                .map(|n| n.len()),
            Some(200)
        );
        // In a paste, the entry is refused and the rest goes on.
        let text = format!("{} <a@b.com>, ada@example.com", "A".repeat(max + 1));
        let p = parse_recipients(&text);
        assert_eq!(p.recognized(), 1);
        assert_eq!(p.invalid().next().map(|(_, e)| e.clone()), Some(too_long));
    }

    #[test]
    fn quotes_brackets_and_invisible_characters_stay_out_of_names() {
        use AddressError as E;
        let forbidden = |character, position| E::DisplayNameCharacter {
            character,
            position,
        };
        assert_eq!(err("\"Ada \\\"x\\\"\" <a@b.com>"), forbidden('"', 6));
        assert_eq!(err("\"Ada <x>\" <a@b.com>"), forbidden('<', 5));
        assert_eq!(err("\"Ada >\" <a@b.com>"), forbidden('>', 5));
        assert_eq!(err("Ada\\<x <a@b.com>"), forbidden('<', 4));
        assert_eq!(err("Ada\\\"x <a@b.com>"), forbidden('"', 4));
        for c in [
            '\u{2028}', '\u{2029}', '\u{200B}', '\u{FEFF}', '\u{2060}', '\u{202E}', '\u{2066}',
            '\u{200E}', '\u{061C}', '\u{AD}', '\u{3164}', '\u{115F}', '\u{180E}', '\u{206A}',
        ] {
            for entry in [
                format!("\"Ada{c}\" <a@b.com>"),
                format!("Ada{c}x <a@b.com>"),
            ] {
                assert!(
                    matches!(err(&entry), E::DisplayNameControl { character, .. } if character == c),
                    "{entry:?}"
                );
                let p = parse_recipients(&entry);
                assert!(
                    p.mailboxes()
                        .all(|m| !m.display_name.as_deref().unwrap_or("").contains(c)),
                    "{entry:?}: {p:?}"
                );
            }
        }
        // What names keep: letters of any script, marks, joiners in the
        // scripts that need them, emoji.
        for name in [
            "Zoë O'Brien-Łukasz",
            "محمد‌علی",
            "田中 太郎",
            "Ada 👩\u{200D}💻",
        ] {
            assert_eq!(
                ok(&format!("\"{name}\" <a@b.com>")).display_name.as_deref(),
                Some(name)
            );
        }
    }

    #[test]
    fn error_codes_match_serde_tags() {
        let errors = [
            err(""),
            err("x"),
            err("a@b@c.com"),
            err("ada@localhost"),
            err("a\u{0}@b.com"),
            err("\"q\"@b.com"),
            err("ada@[1.2.3.4]"),
            err("ada@x.123"),
        ];
        for e in errors {
            let json = serde_json::to_value(&e).expect("serializes");
            assert_eq!(json["code"], e.code(), "{json}");
            let back: AddressError = serde_json::from_value(json).expect("deserializes");
            assert_eq!(back, e);
            assert!(!e.to_string().is_empty());
        }
        for w in [
            AddressWarning::InternationalDomain,
            AddressWarning::Confusable,
            AddressWarning::InternationalLocalPart,
        ] {
            assert_eq!(serde_json::to_value(&w).expect("serializes"), w.code());
        }
    }

    #[test]
    fn bounded_time_on_pathological_input() {
        let inputs = [
            "\"".repeat(100_000),
            "\"\\".repeat(50_000),
            "<".repeat(100_000),
            "<a".repeat(50_000) + ">",
            "a@".repeat(50_000),
            "(".repeat(100_000),
            format!("user@example.com {}", "(".repeat(10_000)),
            "=?utf-8?q?hello?= ".repeat(10_000),
        ];
        for s in &inputs {
            let start = std::time::Instant::now();
            let p = parse_recipients(s);
            let _ = parse_address(s);
            assert!(
                start.elapsed() < std::time::Duration::from_secs(2),
                "{} entries took {:?}",
                p.entries.len(),
                start.elapsed()
            );
        }
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        fn local() -> impl Strategy<Value = String> {
            "[A-Za-z0-9]{1,8}([._+'-][a-z0-9]{1,8}){0,2}"
        }

        fn domain() -> impl Strategy<Value = String> {
            prop_oneof![
                "[a-z0-9]{1,10}(-[a-z0-9]{1,5})?(\\.[a-z0-9]{1,8}){0,2}\\.[a-z]{2,6}",
                Just("université.fr".to_owned()),
                Just("Example.COM".to_owned()),
            ]
        }

        fn address() -> impl Strategy<Value = String> {
            (local(), domain()).prop_map(|(l, d)| format!("{l}@{d}"))
        }

        /// Characters whose case mapping or UTS #46 mapping is tricky.
        const TRICKY: &str = "A-Za-z0-9ΣσςΑαΧχİıIiẞßＡａＢｂＫ\u{212A}µΜÉéÖöКкᎠꭰǄǅǆ㍻";

        fn tricky_address() -> impl Strategy<Value = String> {
            let local = format!("[{TRICKY}＠'+_]{{1,8}}(\\.[{TRICKY}]{{1,6}}){{0,2}}");
            let label = format!("[{TRICKY}-]{{1,8}}");
            let tld = format!("([a-zA-Z]{{2,4}}|[{TRICKY}]{{2,5}})");
            let dot = "(\\.|。|．)";
            let re = |r: &str| proptest::string::string_regex(r).expect("a valid regex");
            (
                re(&local),
                proptest::collection::vec((re(&label), re(dot)), 1..3),
                re(&tld),
            )
                .prop_map(|(local, labels, tld)| {
                    let mut s = local;
                    s.push('@');
                    for (label, dot) in labels {
                        s.push_str(&label);
                        s.push_str(&dot);
                    }
                    s.push_str(&tld);
                    s
                })
        }

        fn name() -> impl Strategy<Value = String> {
            "[A-Z][a-z]{0,8}( [A-Z][a-z.]{0,8}){0,2}"
        }

        fn wrap() -> impl Strategy<Value = u8> {
            0u8..4
        }

        fn wrapped(addr: &str, how: u8, first: &str, last: &str) -> String {
            match how {
                0 => addr.to_owned(),
                1 => format!("{first} {last} <{addr}>"),
                2 => format!("\"{last}, {first}\" <{addr}>"),
                _ => format!("{first}<{addr}>"),
            }
        }

        proptest! {
            #[test]
            fn never_panics(s in "\\PC*") {
                let p = parse_recipients(&s);
                for e in &p.entries {
                    prop_assert!(s.get(e.span.start..e.span.end).is_some());
                }
                let _ = parse_address(&s);
            }

            #[test]
            fn never_panics_on_specials(s in "[a-z@<>\",;: \n\r\t\\\\.()\\[\\]＠é\u{0}\u{202E}-]{0,40}") {
                let p = parse_recipients(&s);
                let mut end = 0;
                for e in &p.entries {
                    prop_assert!(e.span.start >= end && e.span.start < e.span.end);
                    end = e.span.end;
                    prop_assert_eq!(&s[e.span.start..e.span.end], e.text.as_ref());
                }
                if let Ok(m) = parse_address(&s) {
                    prop_assert_eq!(parse_address(&m.key).map(|k| k.key), Ok(m.key.clone()));
                }
            }

            /// The uniqueness key is a fixed point: what a mailbox stores
            /// (its address, its key) parses again to the same key, the
            /// same address and the same ASCII domain, for addresses whose
            /// case mapping is tricky (Greek sigma, Turkish dotted and
            /// dotless I, German ß and ẞ, fullwidth forms, the Kelvin sign,
            /// Cherokee, squared CJK, titlecase digraphs, full stops).
            #[test]
            fn keys_are_fixed_points(s in tricky_address(), how in wrap()) {
                let entry = wrapped(&s, how, "Ada", "Lovelace");
                if let Ok(m) = parse_address(&entry) {
                    let again = parse_address(&m.address);
                    prop_assert!(again.is_ok(), "{:?} -> {:?}: {:?}", entry, m.address, again);
                    let again = again.unwrap_or_else(|_| m.clone());
                    prop_assert_eq!(&again.key, &m.key, "{:?}", entry);
                    prop_assert_eq!(&again.address, &m.address, "{:?}", entry);
                    prop_assert_eq!(&again.ascii_domain, &m.ascii_domain, "{:?}", entry);
                    let by_key = parse_address(&m.key).map(|k| k.key);
                    prop_assert_eq!(by_key, Ok(m.key.clone()), "{:?}", entry);
                    let pasted = parse_recipients(&entry);
                    prop_assert_eq!(pasted.mailboxes().next().map(|p| &p.key), Some(&m.key));
                }
            }

            #[test]
            fn latin1_local_keys_match_uts46(local in "[A-Za-z0-9'+_\u{C0}-\u{FF}\u{100}-\u{17F}]{1,8}(\\.[A-Za-z0-9\u{C0}-\u{FF}-]{1,8}){0,2}") {
                let mut fast = String::new();
                if latin1_local_key(&local, &mut fast) {
                    prop_assert_eq!(fast, uts46_local_key(&local));
                } else {
                    prop_assert!(fast.is_empty());
                }
            }

            #[test]
            fn accepted_addresses_pass_the_email_address_crate(
                s in prop_oneof![
                    "[A-Za-z0-9.!#$%&'*+/=?^_`{|}~@-]{1,12}@[A-Za-z0-9._-]{1,16}",
                    "[a-zé.+]{1,8}@[a-zé0-9.-]{1,10}\\.[a-zé0-9-]{1,6}",
                    "(xn--[a-z0-9-]{1,8}|[a-z]{1,4})@(xn--[a-z0-9-]{1,12}|[A-Za-z0-9-]{1,8})\\.[a-zA-Z0-9-]{1,6}",
                    address(),
                ]
            ) {
                // The promise of the module doc: the bare local part (when
                // ASCII) and the ASCII domain pass the crate.
                if let Ok(m) = parse_address(&s) {
                    let local = m.local_part();
                    prop_assert!(
                        !local.is_ascii() || email_address::EmailAddress::is_valid_local_part(local),
                        "{:?}", m
                    );
                    prop_assert!(email_address::EmailAddress::is_valid_domain(&m.ascii_domain), "{:?}", m);
                    if local.is_ascii() {
                        let bare = format!("{local}@{}", m.ascii_domain);
                        prop_assert!(email_address::EmailAddress::is_valid(&bare), "{}", bare);
                    }
                }
            }

            #[test]
            fn generated_addresses_are_recognized_in_every_format(
                addr in address(), how in wrap(), first in "[A-Z][a-z]{1,8}", last in "[A-Z][a-z]{1,8}"
            ) {
                let alone = parse_address(&addr);
                prop_assert!(alone.is_ok(), "{:?}: {:?}", addr, alone);
                let key = alone.map(|m| m.key).unwrap_or_default();
                let entry = wrapped(&addr, how, &first, &last);
                let single = parse_address(&entry).map(|m| m.key);
                prop_assert_eq!(single, Ok(key.clone()), "{}", entry);
                let p = parse_recipients(&entry);
                prop_assert_eq!(p.entries.len(), 1);
                prop_assert_eq!(p.mailboxes().next().map(|m| m.key.clone()), Some(key.clone()));
                if how != 0 {
                    let expected = if how == 2 { format!("{last}, {first}") } else if how == 1 { format!("{first} {last}") } else { first.clone() };
                    prop_assert_eq!(p.mailboxes().next().and_then(|m| m.display_name.as_deref()), Some(expected.as_str()));
                }
            }

            #[test]
            fn joined_lists_have_one_entry_per_address(
                items in prop::collection::vec((address(), wrap(), name(), name()), 1..12),
                seps in prop::collection::vec(prop_oneof![
                    Just(", "), Just(","), Just(";"), Just("; "), Just("\n"), Just("\r\n"), Just(" "), Just("\n\n"), Just(" ,\t")
                ], 12)
            ) {
                let mut text = String::new();
                let mut keys = Vec::new();
                for (i, (addr, how, first, last)) in items.iter().enumerate() {
                    if i > 0 {
                        text.push_str(seps[i]);
                    }
                    let first = first.split(' ').next().unwrap_or("A");
                    text.push_str(&wrapped(addr, *how, first, last));
                    keys.push(parse_address(addr).map(|m| m.key).unwrap_or_default());
                }
                let p = parse_recipients(&text);
                prop_assert_eq!(p.entries.len(), items.len(), "{:?}", text);
                let got: Vec<_> = p.entries.iter().map(|e| match &e.outcome {
                    EntryOutcome::Valid(m) | EntryOutcome::Duplicate { mailbox: m, .. } => m.key.to_string(),
                    EntryOutcome::Invalid { error } => format!("invalid: {error}"),
                }).collect();
                prop_assert_eq!(&got, &keys);
                let mut distinct = keys.clone();
                distinct.sort();
                distinct.dedup();
                prop_assert_eq!(p.recognized(), distinct.len());
            }
        }
    }
}
