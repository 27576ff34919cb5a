//! Invitation emails: the Subject, body and accept link of the message
//! the outbox sends. Kept apart from the commands that queue it, so that
//! what a message says can change (templates, languages) without touching
//! how invitations are issued.

use super::EngineConfig;
use crate::error::Result;
use crate::id::MessageId;
use crate::id::OrgId;
use crate::invitation::Invitation;
use crate::member::MemberKind;
use crate::organization::Organization;
use crate::outbox::{EmailDraft, OutboxMessage, OutgoingEmail};
use crate::secret::Secret;
use crate::store::Transaction;
use crate::template::{
    self, EmailSettings, EmailTemplate, EmailVars, Rendered, TemplateSource, locale_fallbacks,
};
use crate::text::Text;
use std::collections::HashMap;
use std::sync::Arc;

/// A display name as one would say it: `"Doe, Dana"` (the directory
/// format people paste) reads "Dana Doe".
fn natural_name(display: &str) -> String {
    match display.split_once(',') {
        Some((last, first)) if !first.trim().is_empty() && !first.contains(',') => {
            format!("{} {}", first.trim(), last.trim())
        }
        _ => display.to_owned(),
    }
}

/// The accept link: the policy's base if the host's configuration allows
/// it (else the engine's default), with the token replacing `{token}` or
/// appended as a `token` query parameter.
pub(crate) fn accept_url(o: &Organization, config: &EngineConfig, token: &Secret) -> String {
    let base = config.accept_url_base_for(o.policy.accept_url_base.as_deref());
    if base.contains("{token}") {
        base.replace("{token}", token.expose())
    } else {
        let sep = if base.contains('?') { '&' } else { '?' };
        // Built by hand, as the token is: once per invitation.
        let token = token.expose();
        let mut url = String::with_capacity(base.len() + 7 + token.len());
        url.push_str(base);
        url.push(sep);
        url.push_str("token=");
        url.push_str(token);
        url
    }
}

/// An organization's email look: its settings (default locale and
/// message) and the template its invitations use (the first found along
/// the fallback chain of the default locale; `None`: the crate's default).
#[derive(Clone, Debug)]
pub(crate) struct OrgEmail {
    pub settings: EmailSettings,
    pub template: Option<EmailTemplate>,
}

impl OrgEmail {
    /// An organization's settings and template for `locale` (default: the
    /// organization's default locale), read from the store.
    pub(crate) fn load(
        tx: &mut dyn Transaction,
        org: &OrgId,
        locale: Option<&str>,
    ) -> Result<Self> {
        let settings = tx
            .email_settings(org)?
            .unwrap_or_else(|| EmailSettings::defaults(org.clone()));
        let locale = locale.unwrap_or(&settings.default_locale);
        let mut template = None;
        for l in locale_fallbacks(locale, &settings.default_locale) {
            if let Some(t) = tx.email_template(org, &l)? {
                template = Some(t);
                break;
            }
        }
        Ok(Self { settings, template })
    }
}

/// The names of an invitation's groups (a group deleted since is left
/// out).
pub(crate) fn group_names(tx: &mut dyn Transaction, inv: &Invitation) -> Result<Vec<String>> {
    let mut names = Vec::with_capacity(inv.groups.len());
    for g in &inv.groups {
        if let Some(group) = tx.group(&inv.org_id, &g.group_id)? {
            names.push(group.name);
        }
    }
    Ok(names)
}

/// The template variables of an invitation's email.
pub(crate) fn email_vars(
    names: &Names,
    inv: &Invitation,
    default_message: Option<&str>,
    groups: Vec<String>,
) -> EmailVars {
    EmailVars {
        organization: names.organization.clone(),
        inviter: names.inviter.clone(),
        recipient_name: inv
            .first_name
            .clone()
            .or_else(|| inv.display_name.as_deref().map(natural_name)),
        role: inv.role.clone(),
        is_guest: inv.kind == MemberKind::Guest,
        groups,
        personal_message: inv
            .message
            .clone()
            .or_else(|| default_message.map(str::to_owned)),
        expires_at: inv.expires_at.unwrap_or(inv.created_at),
        product_name: names.product.clone(),
    }
}

/// The names an invitation email shows that do not depend on its
/// recipient: the organization's, the product's and the inviter's. Made
/// once per command and shared by the drafts it queues (a batch of 100
/// held each of them 100 times).
pub(crate) struct Names {
    pub organization: Text,
    pub product: Text,
    pub inviter: Option<Text>,
}

impl Names {
    pub(crate) fn new(o: &Organization, config: &EngineConfig, inviter: Option<&str>) -> Self {
        Self {
            organization: Text::from(o.name.as_str()),
            product: Text::from(config.product_name.as_str()),
            inviter: inviter.map(Text::from),
        }
    }
}

/// Renders `template` (the crate's default if `None`, or if the stored
/// template fails on this data: sending never fails on a template).
pub(crate) fn render_with_fallback(
    template: Option<&EmailTemplate>,
    vars: &EmailVars,
    url: &str,
) -> (Option<String>, Rendered) {
    if let Some(t) = template {
        if let Ok(r) = template::render(t.into(), vars, url) {
            return (Some(t.locale.clone()), r);
        }
    }
    let r = template::render(TemplateSource::DEFAULT, vars, url).unwrap_or_else(|_| {
        // Not reached: the default template renders any data (tested).
        Rendered {
            subject: template::fold_subject(&format!(
                "{} - {}",
                vars.organization, vars.product_name
            )),
            text: format!("{url}\n"),
            html: None,
        }
    });
    (None, r)
}

/// What an invitation email is made of: the organization and the
/// engine's settings (names, the accept link's base), the invitation (who
/// it greets, with which role, until when), the address it goes to, who
/// invites, the secret its link carries, the organization's template and
/// default message, and the names of the groups offered.
pub(crate) struct InvitationEmail<'a> {
    pub org: &'a Organization,
    pub config: &'a EngineConfig,
    pub invitation: &'a Invitation,
    pub to: &'a Text,
    /// The organization's, product's and inviter's names.
    pub names: &'a Names,
    /// The inviter's address: the `Reply-To` if the policy's
    /// `reply_to_inviter` allows.
    pub inviter_email: Option<&'a str>,
    pub token: &'a Secret,
    pub message_id: &'a MessageId,
    pub email: &'a OrgEmail,
    pub groups: Vec<String>,
}

impl InvitationEmail<'_> {
    /// The email: Subject, plain-text and HTML bodies and accept link,
    /// with the fields a mailer may use to build its own.
    #[cfg(test)]
    pub(crate) fn render(self) -> OutgoingEmail {
        let look = self.email;
        let (mut email, draft) = self.draft();
        fill(&mut email, &draft.vars, look.template.as_ref());
        email
    }

    /// The email without its Subject and bodies, and what rendering them
    /// needs: what a queued message keeps until it is sent (ADR 0018).
    pub(crate) fn draft(self) -> (OutgoingEmail, EmailDraft) {
        let InvitationEmail {
            org: o,
            config,
            invitation: inv,
            to,
            names,
            inviter_email,
            token,
            message_id,
            email,
            groups,
        } = self;
        let url = accept_url(o, config, token);
        let vars = email_vars(
            names,
            inv,
            email.settings.default_message.as_deref(),
            groups,
        );
        let email = OutgoingEmail {
            message_id: message_id.clone(),
            to: to.clone(),
            to_name: inv
                .display_name
                .clone()
                .or_else(|| match (&inv.first_name, &inv.last_name) {
                    (Some(f), Some(l)) => Some(format!("{f} {l}")),
                    (Some(n), None) | (None, Some(n)) => Some(n.clone()),
                    _ => None,
                }),
            subject: String::new(),
            text_body: String::new(),
            html_body: None,
            accept_url: url,
            org_name: names.organization.clone(),
            inviter_name: names.inviter.clone(),
            reply_to: inviter_email
                .filter(|_| o.policy.reply_to_inviter)
                .map(str::to_owned),
            personal_message: vars.personal_message.clone(),
            expires_at: vars.expires_at,
        };
        let draft = EmailDraft {
            vars,
            locale: inv.locale.clone(),
        };
        (email, draft)
    }
}

/// Renders `vars` into `email`'s Subject and bodies with `template` (the
/// crate's default if `None` or if it fails on this data), the link being
/// `email.accept_url` (`[redacted]` once the message was redacted).
pub(crate) fn fill(email: &mut OutgoingEmail, vars: &EmailVars, template: Option<&EmailTemplate>) {
    let (_, r) = render_with_fallback(template, vars, &email.accept_url);
    email.subject = r.subject;
    email.text_body = r.text;
    email.html_body = r.html;
}

/// The email looks one delivery pass has read, by organization and
/// language.
pub(crate) type Looks = HashMap<(OrgId, Option<String>), Arc<OrgEmail>>;

impl super::Enlist {
    /// `m` rendered as a worker that claims it gets it (tests compare a
    /// stored message with what the engine hands out).
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn rendered_message(&self, m: OutboxMessage) -> Result<OutboxMessage> {
        self.render_with(&mut Looks::default(), m)
    }

    /// Renders a message kept as a draft with the look of its organization
    /// and language from `looks`, read (in a read-only transaction) the
    /// first time a pass meets them.
    pub(crate) fn render_with(&self, looks: &mut Looks, m: OutboxMessage) -> Result<OutboxMessage> {
        render_draft(m, |org, locale| {
            let key = (org.clone(), locale.map(str::to_owned));
            if let Some(look) = looks.get(&key) {
                return Ok(look.clone());
            }
            let look = Arc::new(self.run_read("render_email", |cx| {
                OrgEmail::load(cx.tx.as_mut(), org, locale)
            })?);
            looks.insert(key, look.clone());
            Ok(look)
        })
    }
}

impl super::Ctx<'_> {
    /// Renders a message kept as a draft (ADR 0018) with its
    /// organization's template for the invitation's language as it is
    /// now; a rendered message is left as it is.
    pub(crate) fn rendered(&mut self, m: OutboxMessage) -> Result<OutboxMessage> {
        render_draft(m, |org, locale| self.org_email(org, locale))
    }
}

/// `m` with its draft, if it keeps one, rendered with the look `look_of`
/// gives for its organization and language; a rendered message as it is.
fn render_draft(
    mut m: OutboxMessage,
    look_of: impl FnOnce(&OrgId, Option<&str>) -> Result<Arc<OrgEmail>>,
) -> Result<OutboxMessage> {
    if let Some(draft) = m.draft.take() {
        let look = look_of(&m.org_id, draft.locale.as_deref())?;
        fill(&mut m.email, &draft.vars, look.template.as_ref());
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org_with_base(base: Option<&str>) -> Organization {
        let policy = crate::policy::Policy {
            accept_url_base: base.map(str::to_owned),
            ..crate::policy::Policy::default()
        };
        Organization {
            id: OrgId::from("org_1"),
            name: "Acme".into(),
            policy,
            custom_roles: Vec::new(),
            created_at: chrono::Utc::now(),
            slug: String::new(),
            deleted_at: None,
        }
    }

    #[test]
    fn accept_url_appends_or_substitutes_the_token() {
        let cfg = EngineConfig {
            allowed_accept_url_bases: vec![
                "https://a.test/join".into(),
                "https://a.test/join?x=1".into(),
                "https://a.test/i/{token}/go".into(),
            ],
            ..EngineConfig::default()
        }
        .validated()
        .expect("valid config");
        let t = Secret::new("org_1.abc");
        // A base the host does not (or no longer) allow falls back.
        assert_eq!(
            accept_url(&org_with_base(Some("https://evil.test/join")), &cfg, &t),
            format!("{}?token=org_1.abc", cfg.default_accept_url_base)
        );
        assert_eq!(
            accept_url(&org_with_base(Some("https://a.test/join")), &cfg, &t),
            "https://a.test/join?token=org_1.abc"
        );
        assert_eq!(
            accept_url(&org_with_base(Some("https://a.test/join?x=1")), &cfg, &t),
            "https://a.test/join?x=1&token=org_1.abc"
        );
        assert_eq!(
            accept_url(
                &org_with_base(Some("https://a.test/i/{token}/go")),
                &cfg,
                &t
            ),
            "https://a.test/i/org_1.abc/go"
        );
        assert!(
            accept_url(&org_with_base(None), &cfg, &t).starts_with(&cfg.default_accept_url_base)
        );
    }

    #[test]
    fn a_stored_template_that_fails_on_real_data_falls_back_to_the_default() {
        let vars = crate::template::EmailVars::sample("Acme", "enlist", true);
        let mut t = EmailTemplate {
            org_id: OrgId::from("org_1"),
            locale: "fr".into(),
            // Passes on sample data's types only if the strict undefined
            // lookup is never reached; here it always is.
            subject: "{{ organization.nope.deeper }}".into(),
            text_body: "{{ accept_url }}".into(),
            html_body: None,
            updated_at: chrono::Utc::now(),
        };
        let (used, r) = render_with_fallback(Some(&t), &vars, "https://a.test/a");
        assert_eq!(used, None, "the default template was used");
        assert!(
            r.subject
                .starts_with("Ada Lovelace invited you to join Acme")
        );
        assert!(r.html.is_some());
        // Too much work on real data (many groups): the default too.
        t.subject = "Hi".into();
        t.text_body = "{{ accept_url }}{% for a in groups %}{% for b in groups %}{% for c in groups %}x{% endfor %}{% endfor %}{% endfor %}".into();
        let mut many = vars.clone();
        many.groups = (0..100).map(|i| format!("g{i}")).collect();
        assert_eq!(
            render_with_fallback(Some(&t), &vars, "https://a.test/a")
                .0
                .as_deref(),
            Some("fr")
        );
        let (used, r) = render_with_fallback(Some(&t), &many, "https://a.test/a");
        assert_eq!(used, None);
        assert!(r.text.contains("https://a.test/a"));
    }

    #[test]
    fn directory_names_read_naturally() {
        assert_eq!(natural_name("Doe, Dana"), "Dana Doe");
        assert_eq!(natural_name("Dana Doe"), "Dana Doe");
        assert_eq!(natural_name("Doe,"), "Doe,");
    }

    #[test]
    fn an_invitation_email_greets_names_the_inviter_and_carries_the_link() {
        let org = org_with_base(None);
        let config = EngineConfig::default();
        let created = chrono::DateTime::from_timestamp(1_700_000_000, 0).expect("a time");
        let mut inv = Invitation {
            org_id: org.id.clone(),
            id: crate::id::InvitationId::from("inv_1"),
            batch_id: crate::id::BatchId::from("b_1"),
            recipient: crate::member::Contact::Email("dana@acme.test".into()),
            recipient_key: "dana@acme.test".into(),
            display_name: Some("Doe, Dana".into()),
            first_name: None,
            last_name: None,
            kind: MemberKind::Member,
            role: "admin".into(),
            groups: Vec::new(),
            license_type: crate::policy::DEFAULT_LICENSE.into(),
            inviter: None,
            message: Some("Welcome aboard".into()),
            locale: None,
            created_at: created,
            expires_at: Some(created + chrono::Duration::days(7)),
            status: crate::invitation::InvitationStatus::Pending,
            send_count: 1,
            last_sent_at: Some(created),
            failed_attempts: 0,
            locked_until: None,
            closed_at: None,
            member_id: None,
            active: true,
            attributes: Default::default(),
            lifetime_secs: None,
            redirect_url: None,
            public_metadata: Default::default(),
            private_metadata: Default::default(),
            user_ref: None,
        };
        let token = Secret::new("org_1.secret");
        let render = |inv: &Invitation, inviter_name: Option<&str>| {
            InvitationEmail {
                org: &org,
                config: &config,
                invitation: inv,
                to: &"dana@acme.test".into(),
                names: &Names::new(&org, &config, inviter_name),
                inviter_email: inviter_name.map(|_| "ada@acme.test"),
                token: &token,
                message_id: &MessageId::from("msg_1"),
                email: &OrgEmail {
                    settings: EmailSettings::defaults(org.id.clone()),
                    template: None,
                },
                groups: Vec::new(),
            }
            .render()
        };
        let e = render(&inv, Some("Ada Lovelace"));
        assert_eq!(e.subject, "Ada Lovelace invited you to join Acme on enlist");
        // Reply-To is opt-in (see `reply_to_of_the_inviter_is_opt_in`).
        assert_eq!(e.reply_to, None);
        assert_eq!(e.to_name.as_deref(), Some("Doe, Dana"));
        assert_eq!(e.accept_url, accept_url(&org, &config, &token));
        assert!(e.text_body.starts_with(
            "Hello Dana Doe,\n\nAda Lovelace has invited you to join Acme with the role admin."
        ));
        assert!(
            e.text_body
                .contains("Message from Ada Lovelace:\n\nWelcome aboard\n")
        );
        assert!(e.text_body.contains(&format!("\n{}\n", e.accept_url)));
        assert!(e.text_body.contains("expires on 2023-11-21 22:13 UTC"));
        // The default template says word for word what the hard-coded
        // English email said before templates.
        assert_eq!(
            e.text_body,
            format!(
                "Hello Dana Doe,\n\nAda Lovelace has invited you to join Acme with the role admin.\n\n\
                 Message from Ada Lovelace:\n\nWelcome aboard\n\nAccept the invitation:\n{}\n\n\
                 This invitation expires on 2023-11-21 22:13 UTC. If you were not expecting it, \
                 you can ignore this email.\n",
                e.accept_url
            )
        );
        let html = e
            .html_body
            .as_deref()
            .expect("the default template has an HTML part");
        assert!(
            html.contains(&format!("href=\"{}\"", e.accept_url)),
            "{html}"
        );
        assert!(html.contains("Hello Dana Doe,"));
        inv.kind = MemberKind::Guest;
        inv.message = None;
        inv.display_name = None;
        let e = render(&inv, None);
        assert_eq!(e.subject, "You are invited to join Acme on enlist");
        assert!(
            e.text_body
                .starts_with("Hello,\n\nAn administrator has invited you to join Acme as a guest.")
        );
        assert!(!e.text_body.contains("Message from"));
    }

    #[test]
    fn reply_to_of_the_inviter_is_opt_in() {
        let mut org = org_with_base(None);
        let config = EngineConfig::default();
        let created = chrono::DateTime::from_timestamp(1_700_000_000, 0).expect("a time");
        let inv = Invitation {
            org_id: org.id.clone(),
            id: crate::id::InvitationId::from("inv_1"),
            batch_id: crate::id::BatchId::from("b_1"),
            recipient: crate::member::Contact::Email("dana@acme.test".into()),
            recipient_key: "dana@acme.test".into(),
            display_name: None,
            first_name: None,
            last_name: None,
            kind: MemberKind::Member,
            role: "member".into(),
            groups: Vec::new(),
            license_type: crate::policy::DEFAULT_LICENSE.into(),
            inviter: None,
            message: None,
            created_at: created,
            expires_at: Some(created + chrono::Duration::days(7)),
            status: crate::invitation::InvitationStatus::Pending,
            send_count: 1,
            last_sent_at: Some(created),
            failed_attempts: 0,
            locked_until: None,
            closed_at: None,
            member_id: None,
            attributes: Default::default(),
            lifetime_secs: None,
            redirect_url: None,
            public_metadata: Default::default(),
            private_metadata: Default::default(),
            locale: None,
            active: true,
            user_ref: None,
        };
        let token = Secret::new("org_1.secret");
        let reply_to = |org: &Organization, inviter_email| {
            InvitationEmail {
                org,
                config: &config,
                invitation: &inv,
                to: &"dana@acme.test".into(),
                names: &Names::new(org, &config, Some("Ada Lovelace")),
                inviter_email,
                token: &token,
                message_id: &MessageId::from("msg_1"),
                email: &OrgEmail {
                    settings: EmailSettings::defaults(org.id.clone()),
                    template: None,
                },
                groups: Vec::new(),
            }
            .render()
            .reply_to
        };
        assert_eq!(reply_to(&org, Some("ada@acme.test")), None);
        org.policy.reply_to_inviter = true;
        assert_eq!(
            reply_to(&org, Some("ada@acme.test")).as_deref(),
            Some("ada@acme.test")
        );
        // No inviting member (or one known by identifier): no Reply-To.
        assert_eq!(reply_to(&org, None), None);
    }
}
