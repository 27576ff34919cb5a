//! The paste-box parser and the address validator.
//!
//! PLACEHOLDER implementation: the public API below is the contract; the
//! implementation is being rewritten.

use serde::{Deserialize, Serialize};

/// Byte offsets of a fragment in the parsed text (`text[start..end]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

/// Something suspicious about an address that is still valid: a form
/// should show it, an invitation may still go out.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AddressWarning {
    /// The domain has non-ASCII characters (an internationalized domain).
    InternationalDomain,
    /// Characters of several scripts, or look-alike characters, that may
    /// imitate another address.
    Confusable,
}

/// Why a fragment is not an address enlist accepts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case", tag = "code", content = "detail")]
#[non_exhaustive]
pub enum AddressError {
    /// Nothing there.
    #[error("empty address")]
    Empty,
    /// No `@`.
    #[error("no @ in the address")]
    MissingAt,
    /// Anything else wrong with the syntax, explained.
    #[error("{0}")]
    Syntax(String),
}

impl AddressError {
    /// A stable code.
    pub fn code(&self) -> &'static str {
        match self {
            AddressError::Empty => "empty",
            AddressError::MissingAt => "missing_at",
            AddressError::Syntax(_) => "syntax",
        }
    }
}

/// A valid address with its display name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mailbox {
    /// The display name, unquoted, if one was given.
    pub display_name: Option<String>,
    /// The address as typed (local part as typed, domain lowercased).
    pub address: String,
    /// The normalized form: the uniqueness key.
    pub key: String,
    /// The domain, lowercase and IDNA-encoded (for allowed-domain checks).
    pub ascii_domain: String,
    /// Things worth showing the person who typed it.
    pub warnings: Vec<AddressWarning>,
}

/// What became of one fragment of the paste.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum EntryOutcome {
    /// A valid address, the first time it appears.
    Valid(Mailbox),
    /// A valid address already seen at entry `first`.
    Duplicate {
        /// The address.
        mailbox: Mailbox,
        /// The index of its first appearance in `entries`.
        first: usize,
    },
    /// Not an address enlist accepts.
    Invalid {
        /// Why.
        error: AddressError,
    },
}

/// One fragment of the paste.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasteEntry {
    /// Where it is in the text.
    pub span: Span,
    /// The fragment as typed (trimmed).
    pub text: String,
    /// What it is.
    pub outcome: EntryOutcome,
}

/// Everything found in a paste, in the order typed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedRecipients {
    /// Every fragment, in order.
    pub entries: Vec<PasteEntry>,
}

impl ParsedRecipients {
    /// Distinct valid addresses: the "9 recognized" a form shows.
    pub fn recognized(&self) -> usize {
        self.mailboxes().count()
    }

    /// The distinct valid addresses, in order.
    pub fn mailboxes(&self) -> impl Iterator<Item = &Mailbox> {
        self.entries.iter().filter_map(|e| match &e.outcome {
            EntryOutcome::Valid(m) => Some(m),
            _ => None,
        })
    }

    /// The fragments that are not valid addresses.
    pub fn invalid(&self) -> impl Iterator<Item = (&PasteEntry, &AddressError)> {
        self.entries.iter().filter_map(|e| match &e.outcome {
            EntryOutcome::Invalid { error } => Some((e, error)),
            _ => None,
        })
    }
}

/// Parses what a person typed or pasted into a recipients field.
pub fn parse_recipients(text: &str) -> ParsedRecipients {
    let mut out = ParsedRecipients::default();
    let mut seen = std::collections::HashMap::new();
    let mut pos = 0;
    for frag in text.split([',', ';', '\n']) {
        let start = pos;
        pos += frag.len() + 1;
        let t = frag.trim();
        if t.is_empty() {
            continue;
        }
        let outcome = match parse_address(t) {
            Ok(m) => match seen.get(&m.key) {
                Some(&first) => EntryOutcome::Duplicate { mailbox: m, first },
                None => {
                    seen.insert(m.key.clone(), out.entries.len());
                    EntryOutcome::Valid(m)
                }
            },
            Err(error) => EntryOutcome::Invalid { error },
        };
        out.entries.push(PasteEntry {
            span: Span {
                start,
                end: start + frag.len(),
            },
            text: t.to_owned(),
            outcome,
        });
    }
    out
}

/// Parses one entry: a bare address or `Name <address>`.
pub fn parse_address(entry: &str) -> Result<Mailbox, AddressError> {
    let t = entry.trim();
    if t.is_empty() {
        return Err(AddressError::Empty);
    }
    let (name, addr) = match t.rsplit_once('<') {
        Some((n, a)) => (
            Some(n.trim().trim_matches('"').to_owned()),
            a.trim_end_matches('>'),
        ),
        None => (None, t),
    };
    let (local, domain) = addr.rsplit_once('@').ok_or(AddressError::MissingAt)?;
    let ascii_domain =
        idna::domain_to_ascii(domain).map_err(|e| AddressError::Syntax(e.to_string()))?;
    if !email_address::EmailAddress::is_valid(addr) || !ascii_domain.contains('.') {
        return Err(AddressError::Syntax("not a valid address".into()));
    }
    Ok(Mailbox {
        display_name: name.filter(|n| !n.is_empty()),
        address: format!("{local}@{}", domain.to_lowercase()),
        key: format!("{}@{ascii_domain}", local.to_lowercase()),
        ascii_domain,
        warnings: Vec::new(),
    })
}
