//! Invitation email templates: the crate's default (English) template, an
//! organization's overrides per locale, and the checks a template passes
//! when it is saved.
//!
//! Templates are [minijinja](https://docs.rs/minijinja) templates with
//! three parts: a subject, a plain-text body and an optional HTML body.
//! The HTML part is autoescaped; the subject and text parts are not (they
//! are not markup). A template sees only the variables of
//! [`TEMPLATE_VARIABLES`]: no includes, no macros, no loader, and a
//! reference to anything else is refused when the template is saved.
//!
//! An invitation's email is rendered from the first template found along
//! the fallback chain of its locale ([`locale_fallbacks`]): `fr-CA`, then
//! `fr`, then the organization's default locale (and its language), then
//! the crate's default template.

use crate::error::{Error, LimitKind, Result};
use crate::id::{InvitationId, OrgId};
use crate::text::Text;
use chrono::{DateTime, Utc};
use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior, Value};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

/// The crate's default subject template.
pub(crate) const DEFAULT_SUBJECT: &str = include_str!("../templates/invitation.subject.txt");
/// The crate's default plain-text template.
pub(crate) const DEFAULT_TEXT: &str = include_str!("../templates/invitation.txt");
/// The crate's default HTML template.
pub(crate) const DEFAULT_HTML: &str = include_str!("../templates/invitation.html");

/// The variables a template may use, and nothing else:
///
/// | variable | value |
/// | --- | --- |
/// | `organization` | the organization's name |
/// | `inviter` | the inviter's name, or none when the system invites |
/// | `recipient_name` | the recipient's first name or display name, or none |
/// | `role` | the organization role offered |
/// | `is_guest` | whether the invitation is a guest's |
/// | `groups` | the names of the groups offered (a list, maybe empty) |
/// | `personal_message` | the inviter's message, else the organization's default message, else none |
/// | `accept_url` | the accept link (holds the secret token) |
/// | `expires_at` | the expiry, formatted for the template's locale |
/// | `product_name` | the host's product name |
/// | `locale` | the locale of the template used (`en` for the default) |
pub const TEMPLATE_VARIABLES: &[&str] = &[
    "organization",
    "inviter",
    "recipient_name",
    "role",
    "is_guest",
    "groups",
    "personal_message",
    "accept_url",
    "expires_at",
    "product_name",
    "locale",
];

/// At most this many characters in a locale tag (BCP 47 allows longer
/// private tags; no mail template needs them).
pub const MAX_LOCALE_CHARS: usize = 35;
/// At most this many characters in a subject template.
pub const MAX_SUBJECT_TEMPLATE_CHARS: usize = 1_000;
/// At most this many characters in a text or HTML body template.
pub const MAX_BODY_TEMPLATE_CHARS: usize = 100_000;
/// At most this many characters in a rendered subject (a longer one is
/// cut).
pub const MAX_SUBJECT_CHARS: usize = 250;
/// At most this many characters in a rendered body: a template whose
/// sample renders longer is refused when saved; at send time a longer
/// body falls back to the crate's default template.
pub const MAX_RENDERED_BODY_CHARS: usize = 200_000;
/// At most this many templates (locales) per organization.
pub const MAX_TEMPLATES_PER_ORG: usize = 100;
/// The fuel of one render (minijinja counts one unit per instruction): a
/// loop that would run longer is stopped. The default template uses a few
/// hundred.
pub const TEMPLATE_FUEL: u64 = 100_000;

/// An organization's template for one locale, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(frozen, eq, get_all, module = "enlist._enlist")
)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct EmailTemplate {
    /// The organization.
    pub org_id: OrgId,
    /// The locale it is for: a BCP 47 tag, normalized (`fr-CA`).
    pub locale: String,
    /// The subject template (one line).
    pub subject: String,
    /// The plain-text body template; renders the accept link.
    pub text_body: String,
    /// The HTML body template, if any (autoescaped; renders the accept
    /// link). Without it, emails rendered from this template have no
    /// HTML part.
    pub html_body: Option<String>,
    /// When it was last saved.
    #[serde(serialize_with = "crate::timestamp::ser")]
    pub updated_at: DateTime<Utc>,
}

/// A template to save (or to preview before saving).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct NewEmailTemplate {
    /// The locale: a BCP 47 tag such as `fr` or `fr-CA`.
    pub locale: String,
    /// The subject template.
    pub subject: String,
    /// The plain-text body template.
    pub text_body: String,
    /// The HTML body template, if any.
    pub html_body: Option<String>,
}

impl NewEmailTemplate {
    /// A template with a subject and a text body, without HTML part.
    pub fn new(
        locale: impl Into<String>,
        subject: impl Into<String>,
        text_body: impl Into<String>,
    ) -> Self {
        Self {
            locale: locale.into(),
            subject: subject.into(),
            text_body: text_body.into(),
            html_body: None,
        }
    }

    /// Sets the HTML body template.
    pub fn html(mut self, html: impl Into<String>) -> Self {
        self.html_body = Some(html.into());
        self
    }
}

/// An organization's email settings, kept beside its templates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(frozen, eq, get_all, module = "enlist._enlist")
)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct EmailSettings {
    /// The organization.
    pub org_id: OrgId,
    /// The locale of its invitations (`en` until set).
    pub default_locale: String,
    /// The personal message of an invitation whose inviter writes none.
    pub default_message: Option<String>,
}

impl EmailSettings {
    /// The settings of an organization that set none: English, no
    /// default message.
    pub fn defaults(org_id: OrgId) -> Self {
        Self {
            org_id,
            default_locale: "en".to_owned(),
            default_message: None,
        }
    }
}

/// What [`Enlist::preview_email`](crate::Enlist::preview_email) renders.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EmailPreviewRequest {
    /// The locale to render for (default: the organization's).
    pub locale: Option<String>,
    /// A proposed template (checked like a saved one); default: the
    /// stored template the locale's fallback chain finds.
    pub template: Option<NewEmailTemplate>,
    /// Render with this invitation's data (default: sample data).
    pub invitation: Option<InvitationId>,
}

impl EmailPreviewRequest {
    /// Renders for this locale.
    pub fn locale(mut self, locale: impl Into<String>) -> Self {
        self.locale = Some(locale.into());
        self
    }

    /// Renders this proposed template.
    pub fn template(mut self, template: NewEmailTemplate) -> Self {
        self.template = Some(template);
        self
    }

    /// Renders with this invitation's data.
    pub fn invitation(mut self, invitation: InvitationId) -> Self {
        self.invitation = Some(invitation);
        self
    }
}

/// A rendered email that is not sent: its link is a placeholder, never a
/// live token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(frozen, eq, get_all, module = "enlist._enlist")
)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct EmailPreview {
    /// The locale of the template used; `None`: the crate's default.
    pub template_locale: Option<String>,
    /// The subject.
    pub subject: String,
    /// The plain-text body.
    pub text_body: String,
    /// The HTML body, if the template has one.
    pub html_body: Option<String>,
}

/// Checks a BCP 47 language tag and returns it in its usual case
/// (`fr-ca` -> `fr-CA`, `zh-hant-tw` -> `zh-Hant-TW`): a language of 2 to
/// 8 letters, then subtags of 1 to 8 letters or digits, at most
/// [`MAX_LOCALE_CHARS`] characters. `_` is read as `-`.
///
/// ```
/// assert_eq!(enlist::normalize_locale("fr_ca").unwrap(), "fr-CA");
/// assert!(enlist::normalize_locale("fr\r\nBcc: x").is_err());
/// ```
pub fn normalize_locale(raw: &str) -> Result<String> {
    let field = "locale";
    crate::engine::check_bytes(field, raw, MAX_LOCALE_CHARS)?;
    let raw = raw.trim();
    if raw.is_empty() || raw.chars().count() > MAX_LOCALE_CHARS {
        return Err(Error::invalid(
            field,
            format!(
                "must be a BCP 47 tag such as \"fr\" or \"fr-CA\", at most {MAX_LOCALE_CHARS} characters"
            ),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for (i, sub) in raw.split(['-', '_']).enumerate() {
        let ok = !sub.is_empty()
            && sub.len() <= 8
            && if i == 0 {
                sub.len() >= 2 && sub.chars().all(|c| c.is_ascii_alphabetic())
            } else {
                sub.chars().all(|c| c.is_ascii_alphanumeric())
            };
        if !ok {
            return Err(Error::invalid(
                field,
                format!("{raw:?} is not a BCP 47 tag such as \"fr\" or \"fr-CA\""),
            ));
        }
        let sub = if i == 0 {
            sub.to_ascii_lowercase()
        } else if sub.len() == 2 && sub.chars().all(|c| c.is_ascii_alphabetic()) {
            sub.to_ascii_uppercase()
        } else if sub.len() == 4 && sub.chars().all(|c| c.is_ascii_alphabetic()) {
            let lower = sub.to_ascii_lowercase();
            let mut cs = lower.chars();
            cs.next()
                .map(|f| f.to_ascii_uppercase().to_string() + cs.as_str())
                .unwrap_or_default()
        } else {
            sub.to_ascii_lowercase()
        };
        out.push(sub);
    }
    Ok(out.join("-"))
}

/// The locales whose templates serve `locale`, in order: the tag, then the
/// tag shortened one subtag at a time (`zh-Hant-TW`, `zh-Hant`, `zh`),
/// then the same for the organization's default locale. The crate's
/// default template comes after all of them.
///
/// ```
/// assert_eq!(enlist::locale_fallbacks("fr-CA", "de"), ["fr-CA", "fr", "de"]);
/// ```
pub fn locale_fallbacks(locale: &str, org_default: &str) -> Vec<String> {
    let mut chain: Vec<String> = Vec::new();
    for tag in [locale, org_default] {
        let mut t = tag;
        loop {
            if !t.is_empty() && !chain.iter().any(|c| c == t) {
                chain.push(t.to_owned());
            }
            match t.rfind('-') {
                Some(i) => t = &t[..i],
                None => break,
            }
        }
    }
    chain
}

/// The expiry as people of `locale`'s language write it, in UTC:
/// `2026-12-03 14:05 UTC` (English and any language without a format of
/// its own), `03/12/2026 14:05 UTC` (French, Spanish, Italian, Portuguese),
/// `03.12.2026 14:05 UTC` (German), `2026/12/03 14:05 UTC` (Japanese,
/// Chinese).
pub fn format_expiry(at: DateTime<Utc>, locale: &str) -> String {
    use chrono::{Datelike, Timelike};
    let lang = locale.split('-').next().unwrap_or_default();
    // The locale's layout: day first or year first, and the date's
    // separator.
    let (day_first, sep) = match lang {
        "fr" | "es" | "it" | "pt" => (true, '/'),
        "de" => (true, '.'),
        "ja" | "zh" => (false, '/'),
        _ => (false, '-'),
    };
    let (y, mo, d, h, mi) = (at.year(), at.month(), at.day(), at.hour(), at.minute());
    if !(0..=9999).contains(&y) {
        // chrono writes these years with their sign.
        let fmt = if day_first {
            format!("%d{sep}%m{sep}%Y %H:%M UTC")
        } else {
            format!("%Y{sep}%m{sep}%d %H:%M UTC")
        };
        return at.format(&fmt).to_string();
    }
    // Written digit by digit: `format!` costs five times as much, and
    // every invitation email shows the expiry.
    fn digits(out: &mut String, n: u32, width: u32) {
        for p in (0..width).rev() {
            let d = (n / 10u32.pow(p)) % 10;
            out.push(char::from(b'0' + d as u8));
        }
    }
    let y = y.unsigned_abs();
    let (first, last) = if day_first {
        ((d, 2), (y, 4))
    } else {
        ((y, 4), (d, 2))
    };
    let mut out = String::with_capacity(20);
    digits(&mut out, first.0, first.1);
    out.push(sep);
    digits(&mut out, mo, 2);
    out.push(sep);
    digits(&mut out, last.0, last.1);
    out.push(' ');
    digits(&mut out, h, 2);
    out.push(':');
    digits(&mut out, mi, 2);
    out.push_str(" UTC");
    out
}

/// What an email says about its invitation: the template variables,
/// before the accept link (which the renderer places itself). Kept by a
/// queued message until it is rendered ([`crate::outbox::EmailDraft`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EmailVars {
    pub organization: Text,
    pub inviter: Option<Text>,
    pub recipient_name: Option<String>,
    pub role: Text,
    pub is_guest: bool,
    pub groups: Vec<String>,
    pub personal_message: Option<String>,
    #[serde(serialize_with = "crate::timestamp::ser")]
    pub expires_at: DateTime<Utc>,
    pub product_name: Text,
}

impl EmailVars {
    /// Sample data for checks and previews; `full`: every optional
    /// variable set, else none.
    pub(crate) fn sample(organization: &str, product_name: &str, full: bool) -> Self {
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        Self {
            organization: Text::from(organization),
            inviter: full.then(|| Text::from("Ada Lovelace")),
            recipient_name: full.then(|| "Dana Doe".to_owned()),
            role: "member".into(),
            is_guest: !full,
            groups: if full {
                vec!["Engineering".to_owned(), "Design".to_owned()]
            } else {
                Vec::new()
            },
            personal_message: full.then(|| "Welcome aboard!\nSee you on Monday.".to_owned()),
            expires_at: at,
            product_name: Text::from(product_name),
        }
    }
}

/// The three parts of a template, borrowed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TemplateSource<'a> {
    /// Its locale; `None`: the crate's default.
    pub locale: Option<&'a str>,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: Option<&'a str>,
}

impl TemplateSource<'static> {
    /// The crate's default template.
    pub(crate) const DEFAULT: TemplateSource<'static> = TemplateSource {
        locale: None,
        subject: DEFAULT_SUBJECT,
        text: DEFAULT_TEXT,
        html: Some(DEFAULT_HTML),
    };
}

impl<'a> From<&'a EmailTemplate> for TemplateSource<'a> {
    fn from(t: &'a EmailTemplate) -> Self {
        Self {
            locale: Some(&t.locale),
            subject: &t.subject,
            text: &t.text_body,
            html: t.html_body.as_deref(),
        }
    }
}

/// A rendered email.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
}

/// Where the renderer puts the accept link: the templates render this
/// mark, and the link replaces it afterwards (HTML-escaped in the HTML
/// part). So the token never passes through a template's filters, a
/// template that mangles the link (slices it, changes its case) renders no
/// link at all (and is refused when saved), and the stored message's
/// redaction knows exactly what to remove. Letters only: autoescaping
/// leaves it as it is. User text cannot bring it in: it is removed from
/// every variable first.
const LINK_MARK: &str = "zQxEnlistAcceptLinkMarkQxz";

const SUBJECT_NAME: &str = "subject.txt";
const TEXT_NAME: &str = "text.txt";
const HTML_NAME: &str = "body.html";

/// The environment every template renders in: strict about undefined
/// variables, HTML autoescaping for the HTML part only, fuel-bounded, no
/// globals (no `range`, `dict` or `namespace`).
fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|name| {
        if name == HTML_NAME {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env.set_fuel(Some(TEMPLATE_FUEL));
    env.set_recursion_limit(64);
    let globals: Vec<String> = env.globals().map(|(n, _)| n.to_owned()).collect();
    for g in globals {
        env.remove_global(&g);
    }
    if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder()
        .keep_trailing_newline(true)
        .build()
    {
        env.set_syntax(syntax);
    }
    env
}

/// `&`, `<`, `>`, `"` and `'` as HTML entities.
pub(crate) fn html_escape(s: &str) -> String {
    if !s
        .bytes()
        .any(|b| matches!(b, b'&' | b'<' | b'>' | b'"' | b'\''))
    {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The searcher for [`LINK_MARK`], built once (building a substring
/// searcher costs about as much as running it over a short text).
static LINK_MARK_FINDER: LazyLock<memchr::memmem::Finder<'static>> =
    LazyLock::new(|| memchr::memmem::Finder::new(LINK_MARK));

/// `s` with every [`LINK_MARK`] replaced by `with`; `s` itself (no copy)
/// when it holds none.
fn put_link(s: String, with: &str) -> String {
    replace_found(s, &LINK_MARK_FINDER, with)
}

/// `s` with every match of `finder` replaced by `with` (left to right,
/// not overlapping, as `str::replace`); `s` itself (no copy) when nothing
/// matches.
pub(crate) fn replace_found(s: String, finder: &memchr::memmem::Finder<'_>, with: &str) -> String {
    let mut found = finder.find_iter(s.as_bytes()).peekable();
    if found.peek().is_none() {
        return s;
    }
    let needle = finder.needle().len();
    let mut out = String::with_capacity(s.len() + with.len());
    let mut last = 0;
    for at in found {
        out.push_str(&s[last..at]);
        out.push_str(with);
        last = at + needle;
    }
    out.push_str(&s[last..]);
    out
}

/// User text as a template value, without any [`LINK_MARK`] in it (also
/// none that removing one would form from the text around it).
fn text(s: &str) -> Value {
    if LINK_MARK_FINDER.find(s.as_bytes()).is_none() {
        return Value::from(s);
    }
    let mut s = s.to_owned();
    while LINK_MARK_FINDER.find(s.as_bytes()).is_some() {
        s = put_link(s, "");
    }
    Value::from(s)
}

fn opt(s: Option<&str>) -> Value {
    s.map(text).unwrap_or(Value::from(()))
}

fn context(vars: &EmailVars, locale: &str) -> Value {
    minijinja::context! {
        organization => text(&vars.organization),
        inviter => opt(vars.inviter.as_deref()),
        recipient_name => opt(vars.recipient_name.as_deref()),
        role => text(&vars.role),
        is_guest => vars.is_guest,
        groups => Value::from(vars.groups.iter().map(|g| text(g)).collect::<Vec<_>>()),
        personal_message => opt(vars.personal_message.as_deref()),
        accept_url => LINK_MARK,
        expires_at => format_expiry(vars.expires_at, locale),
        product_name => text(&vars.product_name),
        locale => locale,
    }
}

/// One line: every control or line-separating character becomes a space,
/// runs of white space one space, trimmed, at most [`MAX_SUBJECT_CHARS`].
/// A subject rendered from user text can never start another header.
pub(crate) fn fold_subject(s: &str) -> String {
    // Most subjects are printable ASCII with single spaces: nothing to
    // fold, one copy.
    let b = s.as_bytes();
    if b.len() <= MAX_SUBJECT_CHARS
        && b.first().is_none_or(|c| *c != b' ')
        && b.last().is_none_or(|c| *c != b' ')
        && b.iter().all(|c| c.is_ascii_graphic() || *c == b' ')
        && !b.windows(2).any(|w| w == b"  ")
    {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len().min(MAX_SUBJECT_CHARS * 4));
    let mut chars = 0;
    let mut space = false;
    for c in s.chars() {
        if c.is_whitespace() || c.is_control() {
            space = true;
            continue;
        }
        if space && !out.is_empty() {
            if chars == MAX_SUBJECT_CHARS {
                break;
            }
            out.push(' ');
            chars += 1;
        }
        space = false;
        if chars == MAX_SUBJECT_CHARS {
            break;
        }
        out.push(c);
        chars += 1;
    }
    out
}

/// Why a part failed to render.
#[derive(Debug)]
pub(crate) enum RenderFailure {
    /// The template ran out of fuel.
    TooMuchWork,
    /// The output is longer than allowed.
    TooLong(usize),
    /// Any other template error.
    Template(String),
}

impl RenderFailure {
    pub(crate) fn into_error(self, field: &str) -> Error {
        match self {
            RenderFailure::TooMuchWork => Error::invalid(
                field,
                format!("does too much work: rendering was stopped after {TEMPLATE_FUEL} steps"),
            ),
            RenderFailure::TooLong(n) => Error::LimitExceeded {
                limit: LimitKind::FieldLength,
                max: MAX_RENDERED_BODY_CHARS as u64,
                actual: n as u64,
                detail: Some(format!("{field} renders {n} characters")),
            },
            RenderFailure::Template(e) => Error::invalid(field, e),
        }
    }
}

fn describe(e: &minijinja::Error) -> RenderFailure {
    if e.kind() == ErrorKind::OutOfFuel {
        return RenderFailure::TooMuchWork;
    }
    RenderFailure::Template(message_of(e))
}

/// A template error in at most 300 characters.
fn message_of(e: &minijinja::Error) -> String {
    let mut s = e.to_string();
    if s.chars().count() > 300 {
        s = s.chars().take(300).collect::<String>() + "...";
    }
    s
}

fn render_part(
    env: &Environment<'_>,
    name: &'static str,
    ctx: &Value,
) -> std::result::Result<String, RenderFailure> {
    let out = env
        .get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(|e| describe(&e))?;
    let n = out.chars().count();
    if n > MAX_RENDERED_BODY_CHARS {
        return Err(RenderFailure::TooLong(n));
    }
    Ok(out)
}

/// The sources of a template's parts: what a compiled environment is
/// cached by (the whole text, compared in full on every hit: two templates
/// that differ never share an entry, whoever wrote them).
#[derive(Clone, PartialEq, Eq)]
struct Sources {
    subject: String,
    text: String,
    html: Option<String>,
}

impl Sources {
    fn is(&self, t: &TemplateSource<'_>) -> bool {
        self.subject == t.subject && self.text == t.text && self.html.as_deref() == t.html
    }
}

/// Compiled environments, at most this many (an organization's template
/// per locale, and the default). Compiling costs about 40 times what a
/// render does, and every invitation email is a render.
const COMPILED_CACHE_ENTRIES: usize = 256;

type Compiled = std::result::Result<Arc<Environment<'static>>, (&'static str, String)>;

/// The compiled environments, by a hash of their sources (then compared
/// in full); emptied when full (a host with more templates than entries
/// compiles some twice, nothing worse).
type CompiledCache = HashMap<u64, Vec<(Sources, Compiled)>>;

/// The cache itself.
static COMPILED: LazyLock<Mutex<CompiledCache>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// Compiles the parts of `t` into an environment of their own (the
/// subject, text and HTML parts under their names), or says which part
/// does not parse.
fn compile(t: &Sources) -> Compiled {
    let mut env = environment();
    let parts = [
        ("template.subject", SUBJECT_NAME, Some(&t.subject)),
        ("template.text_body", TEXT_NAME, Some(&t.text)),
        ("template.html_body", HTML_NAME, t.html.as_ref()),
    ];
    for (field, name, source) in parts {
        if let Some(source) = source {
            env.add_template_owned(name, source.clone())
                .map_err(|e| (field, message_of(&e)))?;
        }
    }
    Ok(Arc::new(env))
}

/// The compiled environment of `t`, from the cache or compiled now.
fn compiled(t: TemplateSource<'_>) -> Compiled {
    use std::hash::BuildHasher;
    let key = foldhash::fast::FixedState::default().hash_one((t.subject, t.text, t.html));
    // A poisoned lock only means another thread panicked while holding
    // it: the map is still a valid cache.
    let mut cache = COMPILED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(hit) = cache
        .get(&key)
        .and_then(|bucket| bucket.iter().find(|(s, _)| s.is(&t)))
    {
        return hit.1.clone();
    }
    let sources = Sources {
        subject: t.subject.to_owned(),
        text: t.text.to_owned(),
        html: t.html.map(str::to_owned),
    };
    let c = compile(&sources);
    if cache.values().map(Vec::len).sum::<usize>() >= COMPILED_CACHE_ENTRIES {
        cache.clear();
    }
    cache.entry(key).or_default().push((sources, c.clone()));
    c
}

/// Renders a template with the link `accept_url`. Fails (with the part
/// that failed) on a template error, fuel exhaustion or an output too
/// long; the engine falls back to the default template then.
pub(crate) fn render(
    t: TemplateSource<'_>,
    vars: &EmailVars,
    accept_url: &str,
) -> std::result::Result<Rendered, (&'static str, RenderFailure)> {
    let env = compiled(t).map_err(|(field, m)| (field, RenderFailure::Template(m)))?;
    let locale = t.locale.unwrap_or("en");
    let ctx = context(vars, locale);
    let subject = put_link(
        render_part(&env, SUBJECT_NAME, &ctx).map_err(|e| ("template.subject", e))?,
        "",
    );
    let text = put_link(
        render_part(&env, TEXT_NAME, &ctx).map_err(|e| ("template.text_body", e))?,
        accept_url,
    );
    let html = match t.html {
        Some(_) => Some(put_link(
            render_part(&env, HTML_NAME, &ctx).map_err(|e| ("template.html_body", e))?,
            &html_escape(accept_url),
        )),
        None => None,
    };
    Ok(Rendered {
        subject: fold_subject(&subject),
        text,
        html,
    })
}

/// Checks a template before it is saved and returns it normalized: the
/// locale is a BCP 47 tag; each part is within its size bound, parses,
/// uses only [`TEMPLATE_VARIABLES`]; the subject is one line; and rendered
/// with sample data (every optional variable set, and none set), it
/// finishes within [`TEMPLATE_FUEL`], stays within
/// [`MAX_RENDERED_BODY_CHARS`], and each body carries the accept link.
pub(crate) fn check_template(new: &NewEmailTemplate) -> Result<NewEmailTemplate> {
    use crate::engine::{clean_line, clean_text};
    let locale = normalize_locale(&new.locale)?;
    let subject = clean_line(
        "template.subject",
        Some(&new.subject),
        MAX_SUBJECT_TEMPLATE_CHARS,
    )?
    .ok_or_else(|| Error::invalid("template.subject", "must not be empty"))?;
    let text_body = clean_text(
        "template.text_body",
        Some(&new.text_body),
        MAX_BODY_TEMPLATE_CHARS,
    )?
    .ok_or_else(|| Error::invalid("template.text_body", "must not be empty"))?;
    let html_body = clean_text(
        "template.html_body",
        new.html_body.as_deref(),
        MAX_BODY_TEMPLATE_CHARS,
    )?;
    let env = environment();
    for (field, name, src) in [
        ("template.subject", SUBJECT_NAME, Some(&subject)),
        ("template.text_body", TEXT_NAME, Some(&text_body)),
        ("template.html_body", HTML_NAME, html_body.as_ref()),
    ] {
        let Some(src) = src else { continue };
        let tmpl = env
            .template_from_named_str(name, src)
            .map_err(|e| Error::invalid(field, format!("syntax error: {}", describe_syntax(&e))))?;
        let mut unknown: Vec<String> = tmpl
            .undeclared_variables(false)
            .into_iter()
            .filter(|v| !TEMPLATE_VARIABLES.contains(&v.as_str()))
            .collect();
        unknown.sort();
        if let Some(v) = unknown.first() {
            return Err(Error::invalid(
                field,
                format!(
                    "unknown variable `{v}`; a template may use only: {}",
                    TEMPLATE_VARIABLES.join(", ")
                ),
            ));
        }
    }
    let t = TemplateSource {
        locale: Some(&locale),
        subject: &subject,
        text: &text_body,
        html: html_body.as_deref(),
    };
    const SAMPLE_LINK: &str = "https://example.invalid/accept?token=sample";
    for full in [true, false] {
        let vars = EmailVars::sample("Example Org", "Example", full);
        let r = render(t, &vars, SAMPLE_LINK).map_err(|(field, e)| e.into_error(field))?;
        if r.subject.is_empty() {
            return Err(Error::invalid(
                "template.subject",
                "renders an empty subject",
            ));
        }
        if !r.text.contains(SAMPLE_LINK) {
            return Err(Error::invalid(
                "template.text_body",
                "must show the accept link: write {{ accept_url }} where it goes (unchanged by filters, and not only under a condition)",
            ));
        }
        if let Some(h) = &r.html {
            if !h.contains(&html_escape(SAMPLE_LINK)) {
                return Err(Error::invalid(
                    "template.html_body",
                    "must show the accept link: write {{ accept_url }} where it goes (unchanged by filters, and not only under a condition)",
                ));
            }
        }
    }
    Ok(NewEmailTemplate {
        locale,
        subject,
        text_body,
        html_body,
    })
}

fn describe_syntax(e: &minijinja::Error) -> String {
    match describe(e) {
        RenderFailure::Template(s) => s,
        RenderFailure::TooMuchWork => "too much work".to_owned(),
        RenderFailure::TooLong(_) => "too long".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> EmailVars {
        EmailVars::sample("Acme", "enlist", true)
    }

    #[test]
    fn compiled_templates_are_cached_by_their_whole_text() {
        let v = vars();
        let url = "https://a.test/a?token=live";
        let a = TemplateSource {
            locale: Some("en"),
            subject: "A {{ organization }}",
            text: "a {{ accept_url }}",
            html: None,
        };
        // Compiled once, then reused.
        let (first, again) = (
            compiled(a).expect("compiles"),
            compiled(a).expect("compiles"),
        );
        assert!(Arc::ptr_eq(&first, &again));
        // A template one character apart is another entry, and renders
        // its own text.
        let b = TemplateSource {
            subject: "B {{ organization }}",
            ..a
        };
        assert!(
            render(a, &v, url)
                .expect("renders")
                .subject
                .starts_with("A ")
        );
        assert!(
            render(b, &v, url)
                .expect("renders")
                .subject
                .starts_with("B ")
        );
        // More templates than the cache holds: each still renders its own.
        for i in 0..COMPILED_CACHE_ENTRIES + 10 {
            let subject = format!("S{i} {{{{ organization }}}}");
            let t = TemplateSource {
                subject: &subject,
                ..a
            };
            let r = render(t, &v, url).expect("renders");
            assert!(r.subject.starts_with(&format!("S{i} ")), "{}", r.subject);
        }
        // A part that does not parse is named, whether compiled now or
        // found in the cache.
        let broken = TemplateSource {
            text: "{% if %}",
            ..a
        };
        for _ in 0..2 {
            match render(broken, &v, url) {
                Err(("template.text_body", RenderFailure::Template(_))) => {}
                other => panic!("{:?}", other.map(|r| r.subject)),
            }
        }
    }

    #[test]
    fn the_default_template_passes_its_own_checks() {
        let t = NewEmailTemplate::new("en", DEFAULT_SUBJECT, DEFAULT_TEXT).html(DEFAULT_HTML);
        assert!(check_template(&t).is_ok());
    }

    #[test]
    fn locales_are_normalized_bounded_and_chained() {
        assert_eq!(normalize_locale("FR-ca").ok().as_deref(), Some("fr-CA"));
        assert_eq!(
            normalize_locale("zh_hant_tw").ok().as_deref(),
            Some("zh-Hant-TW")
        );
        for bad in [
            "",
            "f",
            "fr-",
            "fr--CA",
            "fr CA",
            "fr-ÇA",
            "123",
            "fr-abcdefghi",
            "fr\nx",
        ] {
            assert_eq!(
                normalize_locale(bad).map_err(|e| e.code()),
                Err("invalid_input"),
                "{bad:?}"
            );
        }
        let long = format!("en-{}", "a1b2c3d4-".repeat(10));
        assert!(normalize_locale(&long).is_err());
        assert!(normalize_locale(&"x".repeat(1 << 20)).is_err());
        assert_eq!(locale_fallbacks("fr-CA", "en"), ["fr-CA", "fr", "en"]);
        assert_eq!(locale_fallbacks("fr", "fr"), ["fr"]);
        assert_eq!(
            locale_fallbacks("zh-Hant-TW", "de-AT"),
            ["zh-Hant-TW", "zh-Hant", "zh", "de-AT", "de"]
        );
    }

    #[test]
    fn expiry_is_formatted_per_language() {
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        assert_eq!(format_expiry(at, "en"), "2023-11-14 22:13 UTC");
        assert_eq!(format_expiry(at, "fr-CA"), "14/11/2023 22:13 UTC");
        assert_eq!(format_expiry(at, "de"), "14.11.2023 22:13 UTC");
        assert_eq!(format_expiry(at, "es-MX"), "14/11/2023 22:13 UTC");
        assert_eq!(format_expiry(at, "ja"), "2023/11/14 22:13 UTC");
        assert_eq!(format_expiry(at, "sv"), "2023-11-14 22:13 UTC");
    }

    #[test]
    fn html_is_autoescaped_and_text_is_not() {
        let mut v = vars();
        v.recipient_name = Some("<script>alert(1)</script>".into());
        v.personal_message = Some("Tom & \"Jerry\"".into());
        let r = render(
            TemplateSource::DEFAULT,
            &v,
            "https://a.test/join?x=1&token=t",
        )
        .expect("renders");
        let html = r.html.expect("html");
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(html.contains("Tom &amp; &quot;Jerry&quot;"), "{html}");
        assert!(
            html.contains("href=\"https://a.test/join?x=1&amp;token=t\""),
            "{html}"
        );
        assert!(r.text.contains("Hello <script>alert(1)</script>,"));
        assert!(r.text.contains("\nhttps://a.test/join?x=1&token=t\n"));
    }

    #[test]
    fn a_subject_never_spans_lines() {
        let t = NewEmailTemplate::new(
            "en",
            "{{ personal_message }} from {{ organization }}",
            "{{ accept_url }}",
        );
        let t = check_template(&t).expect("valid");
        let mut v = vars();
        v.personal_message = Some("Hi\r\nBcc: spy@evil.test\n\u{2028}X-Y: z".into());
        let r = render((&stored(t)).into(), &v, "https://a.test/a").expect("renders");
        assert_eq!(r.subject, "Hi Bcc: spy@evil.test X-Y: z from Acme");
        // A subject template on several lines is refused when saved.
        let bad = NewEmailTemplate::new("en", "Hello\r\nBcc: x", "{{ accept_url }}");
        assert_eq!(
            check_template(&bad).map_err(|e| e.code()).err(),
            Some("invalid_input")
        );
        // Long subjects are cut.
        v.personal_message = Some("a".repeat(5000));
        let r = render(
            TemplateSource {
                locale: None,
                subject: "{{ personal_message }}",
                text: "{{ accept_url }}",
                html: None,
            },
            &v,
            "https://a.test/a",
        )
        .expect("renders");
        assert_eq!(r.subject.chars().count(), MAX_SUBJECT_CHARS);
    }

    fn stored(t: NewEmailTemplate) -> EmailTemplate {
        EmailTemplate {
            org_id: OrgId::from("org_1"),
            locale: t.locale,
            subject: t.subject,
            text_body: t.text_body,
            html_body: t.html_body,
            updated_at: Utc::now(),
        }
    }

    fn refused(t: NewEmailTemplate) -> Error {
        match check_template(&t) {
            Ok(_) => panic!("accepted: {t:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn templates_are_checked_when_saved() {
        // Syntax.
        let e = refused(NewEmailTemplate::new(
            "fr",
            "Bonjour {{",
            "{{ accept_url }}",
        ));
        assert!(
            matches!(&e, Error::InvalidInput { field, reason } if field == "template.subject" && reason.starts_with("syntax error")),
            "{e:?}"
        );
        // Unknown variables, including the builtin globals and attributes of
        // nothing.
        for body in [
            "{{ accept_url }} {{ token }}",
            "{{ accept_url }} {% for i in range(3) %}{% endfor %}",
            "{{ accept_url }} {{ config.secret }}",
            "{{ accept_url }} {% set ns = namespace(a=1) %}",
        ] {
            let e = refused(NewEmailTemplate::new("fr", "Bonjour", body));
            assert!(
                matches!(&e, Error::InvalidInput { field, reason } if field == "template.text_body" && reason.starts_with("unknown variable")),
                "{body}: {e:?}"
            );
        }
        // A body without the link, or with the link only sometimes, or
        // mangled.
        for body in [
            "Bonjour {{ recipient_name }}",
            "{% if inviter %}{{ accept_url }}{% endif %}",
            "{{ accept_url|lower }}",
            "{{ accept_url[:20] }}",
        ] {
            let e = refused(NewEmailTemplate::new("fr", "Bonjour", body));
            assert!(
                matches!(&e, Error::InvalidInput { field, reason } if field == "template.text_body" && reason.contains("accept link")),
                "{body}: {e:?}"
            );
        }
        let e =
            refused(NewEmailTemplate::new("fr", "Bonjour", "{{ accept_url }}").html("<p>Hi</p>"));
        assert!(
            matches!(&e, Error::InvalidInput { field, .. } if field == "template.html_body"),
            "{e:?}"
        );
        // Runtime errors with sample data (strict undefined attributes).
        let e = refused(NewEmailTemplate::new(
            "fr",
            "{{ organization.name.first }}",
            "{{ accept_url }}",
        ));
        assert_eq!(e.code(), "invalid_input");
        // Size bounds.
        let e = refused(NewEmailTemplate::new(
            "fr",
            "Bonjour",
            format!(
                "{{{{ accept_url }}}}{}",
                "x".repeat(MAX_BODY_TEMPLATE_CHARS)
            ),
        ));
        assert_eq!(e.code(), "limit_exceeded");
        let e = refused(NewEmailTemplate::new(
            "fr",
            "x".repeat(MAX_SUBJECT_TEMPLATE_CHARS + 1),
            "{{ accept_url }}",
        ));
        assert_eq!(e.code(), "limit_exceeded");
        // A bad locale.
        assert_eq!(
            refused(NewEmailTemplate::new("f r", "Bonjour", "{{ accept_url }}")).code(),
            "invalid_input"
        );
        // A good one, normalized.
        let ok = check_template(&NewEmailTemplate::new(
            "fr-ca",
            " Invitation de {{ inviter or organization }} ",
            "Bonjour,\r\n{{ accept_url }}\r\n",
        ))
        .expect("valid");
        assert_eq!(ok.locale, "fr-CA");
        assert_eq!(ok.subject, "Invitation de {{ inviter or organization }}");
        assert_eq!(ok.text_body, "Bonjour,\n{{ accept_url }}");
    }

    #[test]
    fn render_work_and_output_are_bounded() {
        // Nested loops over the groups and a string: stopped by fuel.
        let looping = "{{ accept_url }}{% for a in organization * 100 %}{% for b in organization * 100 %}{% for c in organization * 100 %}x{% endfor %}{% endfor %}{% endfor %}";
        let e = refused(NewEmailTemplate::new("en", "Hi", looping));
        assert!(
            matches!(&e, Error::InvalidInput { reason, .. } if reason.contains("too much work")),
            "{e:?}"
        );
        // At send time too, a render that runs out of fuel fails (the
        // engine then uses the default template).
        let r = render(
            TemplateSource {
                locale: None,
                subject: "Hi",
                text: looping,
                html: None,
            },
            &vars(),
            "https://a.test/a",
        );
        assert!(matches!(r, Err((_, RenderFailure::TooMuchWork))), "{r:?}");
        // Output bound: string repetition is cheap in fuel but long.
        let e = refused(NewEmailTemplate::new(
            "en",
            "Hi",
            "{{ accept_url }}{{ organization * 100000 }}",
        ));
        assert_eq!(e.code(), "limit_exceeded", "{e:?}");
    }

    #[test]
    fn user_text_cannot_form_the_link_mark_either() {
        // Removing the inner mark would join the outer halves into one.
        let (head, tail) = LINK_MARK.split_at(8);
        let mut v = vars();
        v.personal_message = Some(format!("click {head}{LINK_MARK}{tail} here"));
        v.organization = format!("{head}{head}{LINK_MARK}{tail}{tail}").into();
        let r = render(TemplateSource::DEFAULT, &v, "https://a.test/a?token=live").expect("ok");
        assert_eq!(r.text.matches("token=live").count(), 1);
        assert!(!r.text.contains(LINK_MARK));
        assert!(!r.subject.contains("token=live"));
    }

    /// The subject folding as it was first written (two passes): the fast
    /// one must agree with it on every input.
    fn fold_subject_reference(s: &str) -> String {
        let mut out = String::new();
        let mut space = false;
        for c in s.chars() {
            if c.is_whitespace() || c.is_control() {
                space = true;
            } else {
                if space && !out.is_empty() {
                    out.push(' ');
                }
                space = false;
                out.push(c);
            }
        }
        out.chars().take(MAX_SUBJECT_CHARS).collect()
    }

    fn html_escape_reference(s: &str) -> String {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#39;")
    }

    proptest::proptest! {
        #[test]
        fn fast_text_helpers_agree_with_their_plain_versions(
            s in "([a-c &<>\"'\t\r\n\u{2028}\u{0}é]|zQxEnlistAcceptLinkMarkQxz){0,400}",
            secs in -70_000_000_000i64..300_000_000_000i64,
        ) {
            proptest::prop_assert_eq!(fold_subject(&s), fold_subject_reference(&s));
            // Printable ASCII and spaces only: the one-copy path.
            let ascii: String = s.chars().filter(|c| c.is_ascii_graphic() || *c == ' ').collect();
            proptest::prop_assert_eq!(fold_subject(&ascii), fold_subject_reference(&ascii));
            proptest::prop_assert_eq!(html_escape(&s), html_escape_reference(&s));
            proptest::prop_assert_eq!(put_link(s.clone(), "<L>"), s.replace(LINK_MARK, "<L>"));
            let at = DateTime::from_timestamp(secs, 0).unwrap_or_default();
            for (locale, fmt) in [
                ("en", "%Y-%m-%d %H:%M UTC"),
                ("pt-BR", "%d/%m/%Y %H:%M UTC"),
                ("de", "%d.%m.%Y %H:%M UTC"),
                ("zh", "%Y/%m/%d %H:%M UTC"),
            ] {
                proptest::prop_assert_eq!(format_expiry(at, locale), at.format(fmt).to_string());
            }
        }
    }

    #[test]
    fn user_text_cannot_place_the_link() {
        let mut v = vars();
        v.personal_message = Some(format!("click {LINK_MARK}"));
        let r = render(TemplateSource::DEFAULT, &v, "https://a.test/a?token=live").expect("ok");
        assert_eq!(r.text.matches("token=live").count(), 1);
        assert!(!r.text.contains(LINK_MARK));
    }
}
