//! Invitation email templates and settings: save (checked), read, list,
//! delete, preview. Every command needs [`Permission::ManagePolicy`]: the
//! templates are the organization's configuration, like its policy, and
//! whoever may point accept links elsewhere may word the email around
//! them.

use super::render::{self, OrgEmail, accept_url, email_vars, render_with_fallback};
use super::{Enlist, MAX_MESSAGE_CHARS, check_bytes, clean_text};
use crate::error::{Error, LimitKind, Result};
use crate::event::{Actor, EventKind};
use crate::id::OrgId;
use crate::role::Permission;
use crate::secret::Secret;
use crate::template::{
    self, EmailPreview, EmailPreviewRequest, EmailSettings, EmailTemplate, EmailVars,
    MAX_BODY_TEMPLATE_CHARS, MAX_SUBJECT_TEMPLATE_CHARS, MAX_TEMPLATES_PER_ORG, NewEmailTemplate,
    TemplateSource, normalize_locale,
};

/// What a preview's accept link carries instead of a token: never a live
/// secret.
const PREVIEW_TOKEN: &str = "PREVIEW-NOT-A-REAL-TOKEN";

/// The sizes of a template's parts, checked before any other work (a
/// template is parsed and rendered only after the actor is authorized).
fn bound(t: &NewEmailTemplate) -> Result<()> {
    check_bytes("template.locale", &t.locale, template::MAX_LOCALE_CHARS)?;
    check_bytes("template.subject", &t.subject, MAX_SUBJECT_TEMPLATE_CHARS)?;
    check_bytes("template.text_body", &t.text_body, MAX_BODY_TEMPLATE_CHARS)?;
    if let Some(h) = &t.html_body {
        check_bytes("template.html_body", h, MAX_BODY_TEMPLATE_CHARS)?;
    }
    Ok(())
}

impl Enlist {
    /// Saves the organization's invitation email template for one locale
    /// (replacing the one it had). Needs [`Permission::ManagePolicy`].
    ///
    /// The template is checked now, so that sending never fails on it: the
    /// locale is a BCP 47 tag; each part parses, stays within its size
    /// bound and uses only [`TEMPLATE_VARIABLES`](crate::TEMPLATE_VARIABLES);
    /// the subject is one line; rendered with sample data it finishes
    /// within [`TEMPLATE_FUEL`](crate::TEMPLATE_FUEL) and each body shows
    /// the accept link. A template that fails is refused with
    /// [`Error::InvalidInput`] (its `field` names the part:
    /// `template.subject`, `template.text_body`, `template.html_body`,
    /// `locale`) or [`Error::LimitExceeded`] (a part too long). At most
    /// [`MAX_TEMPLATES_PER_ORG`] locales.
    ///
    /// ```
    /// use enlist::{CreatedOrganization, Enlist, NewOrganization, NewEmailTemplate, Actor};
    /// let engine = Enlist::in_memory();
    /// let CreatedOrganization { organization: org, owner, .. } = engine.create_organization(NewOrganization::new("Acme", "o", "ada@acme.test"))?;
    /// let owner = Actor::Member(owner.id);
    /// let t = NewEmailTemplate::new("fr", "Invitation à {{ organization }}",
    ///     "Bonjour,\n\nRejoignez {{ organization }} : {{ accept_url }}\nExpire le {{ expires_at }}.");
    /// let saved = engine.set_email_template(&org.id, &owner, t)?;
    /// assert_eq!(saved.locale, "fr");
    /// let no_link = NewEmailTemplate::new("de", "Einladung", "Hallo {{ recipient_name }}");
    /// let e = engine.set_email_template(&org.id, &owner, no_link).unwrap_err();
    /// assert_eq!(e.code(), "invalid_input");
    /// # Ok::<(), enlist::Error>(())
    /// ```
    pub fn set_email_template(
        &self,
        org: &OrgId,
        actor: &Actor,
        template: NewEmailTemplate,
    ) -> Result<EmailTemplate> {
        bound(&template)?;
        self.run("set_email_template", |cx| {
            cx.authorized(org, actor, Permission::ManagePolicy)?;
            let t = template::check_template(&template)?;
            let existing = cx.tx.email_template(org, &t.locale)?;
            if existing.is_none() {
                let n = cx.tx.email_templates(org)?.len();
                if n >= MAX_TEMPLATES_PER_ORG {
                    return Err(Error::LimitExceeded {
                        limit: LimitKind::FieldLength,
                        max: MAX_TEMPLATES_PER_ORG as u64,
                        actual: n as u64 + 1,
                        detail: Some("email templates (one per locale)".into()),
                    });
                }
            }
            let saved = EmailTemplate {
                org_id: org.clone(),
                locale: t.locale,
                subject: t.subject,
                text_body: t.text_body,
                html_body: t.html_body,
                updated_at: cx.now,
            };
            if let Some(e) = &existing {
                if e.subject == saved.subject
                    && e.text_body == saved.text_body
                    && e.html_body == saved.html_body
                {
                    return Ok(e.clone());
                }
            }
            cx.tx.put_email_template(&saved)?;
            cx.event(
                org,
                actor,
                EventKind::PolicyChanged {
                    fields: vec![format!("email_template:{}", saved.locale)],
                },
            )?;
            Ok(saved)
        })
    }

    /// The organization's template for exactly this locale, if it saved
    /// one. Needs [`Permission::ManagePolicy`].
    pub fn email_template(
        &self,
        org: &OrgId,
        actor: &Actor,
        locale: &str,
    ) -> Result<Option<EmailTemplate>> {
        let locale = normalize_locale(locale)?;
        self.run_read("email_template", |cx| {
            cx.authorized(org, actor, Permission::ManagePolicy)?;
            Ok(cx.tx.email_template(org, &locale)?)
        })
    }

    /// Every template the organization saved, by locale. Needs
    /// [`Permission::ManagePolicy`].
    pub fn email_templates(&self, org: &OrgId, actor: &Actor) -> Result<Vec<EmailTemplate>> {
        self.run_read("email_templates", |cx| {
            cx.authorized(org, actor, Permission::ManagePolicy)?;
            Ok(cx.tx.email_templates(org)?)
        })
    }

    /// Deletes the organization's template for one locale; returns whether
    /// there was one. Invitations of that locale then use the next
    /// template of the fallback chain. Needs [`Permission::ManagePolicy`].
    pub fn delete_email_template(&self, org: &OrgId, actor: &Actor, locale: &str) -> Result<bool> {
        let locale = normalize_locale(locale)?;
        self.run("delete_email_template", |cx| {
            cx.authorized(org, actor, Permission::ManagePolicy)?;
            let existed = cx.tx.delete_email_template(org, &locale)?;
            if existed {
                cx.event(
                    org,
                    actor,
                    EventKind::PolicyChanged {
                        fields: vec![format!("email_template:{locale}")],
                    },
                )?;
            }
            Ok(existed)
        })
    }

    /// The organization's email settings: the locale of its invitations
    /// and the personal message of invitations whose inviter writes none
    /// ([`EmailSettings::defaults`] until set). Needs
    /// [`Permission::ManagePolicy`].
    pub fn email_settings(&self, org: &OrgId, actor: &Actor) -> Result<EmailSettings> {
        self.run_read("email_settings", |cx| {
            cx.authorized(org, actor, Permission::ManagePolicy)?;
            Ok(cx
                .tx
                .email_settings(org)?
                .unwrap_or_else(|| EmailSettings::defaults(org.clone())))
        })
    }

    /// Sets the organization's default locale (a BCP 47 tag) and default
    /// personal message (at most 2,000 characters, like an invitation's;
    /// `None` or blank: none). Needs [`Permission::ManagePolicy`].
    pub fn set_email_settings(
        &self,
        org: &OrgId,
        actor: &Actor,
        default_locale: &str,
        default_message: Option<&str>,
    ) -> Result<EmailSettings> {
        let default_locale = normalize_locale(default_locale)?;
        let default_message = clean_text("default_message", default_message, MAX_MESSAGE_CHARS)?;
        self.run("set_email_settings", |cx| {
            cx.authorized(org, actor, Permission::ManagePolicy)?;
            let settings = EmailSettings {
                org_id: org.clone(),
                default_locale: default_locale.clone(),
                default_message: default_message.clone(),
            };
            if cx.tx.email_settings(org)?.as_ref() == Some(&settings) {
                return Ok(settings);
            }
            cx.tx.put_email_settings(&settings)?;
            cx.event(
                org,
                actor,
                EventKind::PolicyChanged {
                    fields: vec!["email_settings".to_owned()],
                },
            )?;
            Ok(settings)
        })
    }

    /// Renders an invitation email without sending it: a proposed template
    /// (checked like [`Enlist::set_email_template`]) or the stored one the
    /// locale's fallback chain finds, with an invitation's data or sample
    /// data. The accept link is a placeholder, never a live token. Needs
    /// [`Permission::ManagePolicy`]. Writes nothing.
    ///
    /// ```
    /// use enlist::{CreatedOrganization, Enlist, NewOrganization, EmailPreviewRequest, Actor};
    /// let engine = Enlist::in_memory();
    /// let CreatedOrganization { organization: org, owner, .. } = engine.create_organization(NewOrganization::new("Acme", "o", "ada@acme.test"))?;
    /// let p = engine.preview_email(&org.id, &Actor::Member(owner.id), EmailPreviewRequest::default())?;
    /// assert!(p.subject.contains("Acme"));
    /// assert!(p.text_body.contains("PREVIEW-NOT-A-REAL-TOKEN"));
    /// # Ok::<(), enlist::Error>(())
    /// ```
    pub fn preview_email(
        &self,
        org: &OrgId,
        actor: &Actor,
        request: EmailPreviewRequest,
    ) -> Result<EmailPreview> {
        if let Some(t) = &request.template {
            bound(t)?;
        }
        let locale = request
            .locale
            .as_deref()
            .map(normalize_locale)
            .transpose()?;
        self.run_read("preview_email", |cx| {
            let (o, auth) = cx.authorized(org, actor, Permission::ManagePolicy)?;
            let proposed = request
                .template
                .as_ref()
                .map(template::check_template)
                .transpose()?;
            let inv = match &request.invitation {
                Some(id) => Some(
                    cx.tx
                        .invitation(org, id)?
                        .ok_or_else(|| Error::not_found(crate::error::EntityKind::Invitation, id))?
                        .invitation,
                ),
                None => None,
            };
            // The locale asked for, else the invitation's, else the
            // organization's.
            let locale = locale
                .clone()
                .or_else(|| inv.as_ref().and_then(|i| i.locale.clone()));
            let look = OrgEmail::load(cx.tx.as_mut(), org, locale.as_deref())?;
            let vars: EmailVars = match inv {
                Some(inv) => {
                    let inviter_name = match &inv.inviter {
                        Some(m) => cx.tx.member(org, m)?.map(|m| m.display_name()),
                        None => None,
                    };
                    let groups = render::group_names(cx.tx.as_mut(), &inv)?;
                    email_vars(
                        &render::Names::new(&o, cx.config, inviter_name.as_deref()),
                        &inv,
                        look.settings.default_message.as_deref(),
                        groups,
                    )
                }
                None => {
                    let mut v = EmailVars::sample(&o.name, &cx.config.product_name, true);
                    v.inviter = auth
                        .member
                        .as_ref()
                        .map(|m| crate::Text::from(m.display_name()));
                    v.expires_at = super::time_after(
                        cx.now,
                        o.policy.invitation_lifetime_secs,
                        "invitation_lifetime_secs",
                    )?;
                    if let Some(m) = &look.settings.default_message {
                        v.personal_message = Some(m.clone());
                    }
                    v
                }
            };
            let url = accept_url(&o, cx.config, &Secret::new(PREVIEW_TOKEN));
            let (template_locale, r) = match &proposed {
                Some(t) => {
                    let src = TemplateSource {
                        locale: Some(&t.locale),
                        subject: &t.subject,
                        text: &t.text_body,
                        html: t.html_body.as_deref(),
                    };
                    let r = template::render(src, &vars, &url)
                        .map_err(|(field, e)| e.into_error(field))?;
                    (Some(t.locale.clone()), r)
                }
                None => render_with_fallback(look.template.as_ref(), &vars, &url),
            };
            Ok(EmailPreview {
                template_locale,
                subject: r.subject,
                text_body: r.text,
                html_body: r.html,
            })
        })
    }
}
