//! Named invitation links (ADR 0013): several per organization, each with
//! its own terms, expiry, use cap and allowed domains, revocable one by
//! one; their URLs shown again to administrators when the host gave a link
//! key ([`Enlist::with_link_keys`]).

use super::link::ActivatedLink;
use super::{Auth, Enlist};
use crate::email::parse_address;
use crate::error::{EntityKind, Error, Feature, LimitKind, RegistrationField, Result};
use crate::event::{Actor, EventKind};
use crate::group::GroupGrant;
use crate::id::{LinkId, OrgId};
use crate::invitation::Registration;
use crate::link::{
    InviteLink, LinkStatus, MAX_LINK_NAME_CHARS, MAX_LINK_USES, MAX_LINKS_PER_ORG,
    StoredInviteLink, clean_domains,
};
use crate::member::{MemberKind, Page};
use crate::organization::Organization;
use crate::policy::{DEFAULT_LICENSE, MAX_DURATION_SECS};
use crate::role::Permission;
use crate::secret::{Secret, SecretHash};
use serde::{Deserialize, Serialize};

/// A named invitation link to create ([`Enlist::create_link`]).
///
/// In Kotlin and Swift `kind` is required (uniffi cannot default an enum
/// field): `kind = MemberKind.MEMBER` is Rust's default.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct NewLink {
    /// Its name, shown to administrators (1 to
    /// [`MAX_LINK_NAME_CHARS`] characters, one line).
    pub name: String,
    /// Member or guest.
    pub kind: MemberKind,
    /// The role people joining by it get (default `member`, or `guest` for
    /// guests).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub role: Option<String>,
    /// Their groups (empty: the default group, for members).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub groups: Vec<GroupGrant>,
    /// Their license type.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub license_type: Option<String>,
    /// Seconds from now until it stops working (1 to
    /// [`MAX_DURATION_SECS`]); `None`: it does not expire.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub expires_in_secs: Option<u64>,
    /// How many people may join by it (1 to [`MAX_LINK_USES`]); `None`:
    /// no cap.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub max_uses: Option<u64>,
    /// Email domains it admits, in addition to the organization's rule
    /// (at most [`MAX_LINK_DOMAINS`](crate::MAX_LINK_DOMAINS); a domain
    /// admits its subdomains). When not empty, only a verified email of one
    /// of them joins.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub allowed_domains: Vec<String>,
}

impl Default for NewLink {
    fn default() -> Self {
        Self {
            name: String::new(),
            kind: MemberKind::Member,
            role: None,
            groups: Vec::new(),
            license_type: None,
            expires_in_secs: None,
            max_uses: None,
            allowed_domains: Vec::new(),
        }
    }
}

impl NewLink {
    /// A member link named `name`, with the default terms, no expiry, no
    /// cap and no domain rule of its own.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }
}

/// A [`NewLink`] checked and bounded, before any transaction.
struct CleanLink {
    name: String,
    license_type: String,
    allowed_domains: Vec<String>,
}

fn clean(new: &NewLink) -> Result<CleanLink> {
    let name = super::required_line("name", &new.name, MAX_LINK_NAME_CHARS)?;
    if let Some(n) = new.max_uses {
        if n == 0 || n > MAX_LINK_USES {
            return Err(Error::invalid(
                "max_uses",
                format!("must be 1 to {MAX_LINK_USES}"),
            ));
        }
    }
    if let Some(s) = new.expires_in_secs {
        if s == 0 || s > MAX_DURATION_SECS {
            return Err(Error::invalid(
                "expires_in_secs",
                format!("must be 1 to {MAX_DURATION_SECS}"),
            ));
        }
    }
    if let Some(r) = &new.role {
        super::check_max_bytes("role", r, super::MAX_KEY_BYTES)?;
    }
    let license_type = match &new.license_type {
        Some(lt) => super::clean_label("license_type", lt)?,
        None => DEFAULT_LICENSE.to_owned(),
    };
    let allowed_domains = clean_domains(&new.allowed_domains)?;
    Ok(CleanLink {
        name,
        license_type,
        allowed_domains,
    })
}

impl Enlist {
    /// Creates a named invitation link and returns it with its URL. Needs
    /// what [`Enlist::activate_invite_link`] needs: [`Permission::ManageInviteLink`],
    /// the invite permission of the link's kind, the role and groups within
    /// the actor's reach, and the policy's `invite_link_enabled`. At most
    /// [`MAX_LINKS_PER_ORG`] named links per organization (revoked ones
    /// count). Without a link key the URL is shown this once; with one,
    /// [`Enlist::link_url`] shows it again.
    pub fn create_link(&self, org: &OrgId, actor: &Actor, new: NewLink) -> Result<ActivatedLink> {
        let c = clean(&new)?;
        self.run("create_link", |cx| {
            let id = LinkId::from_random(cx.id_bytes());
            let (o, auth) = cx.authorized(org, actor, Permission::ManageInviteLink)?;
            let role = new
                .role
                .clone()
                .unwrap_or_else(|| new.kind.default_role().to_owned());
            let groups = cx.link_terms(&o, &auth, new.kind, &role, &new.groups)?;
            let named = cx
                .tx
                .links(org, MAX_LINKS_PER_ORG + 2)?
                .iter()
                .filter(|l| !l.id.is_default())
                .count();
            if named >= MAX_LINKS_PER_ORG {
                return Err(Error::LimitExceeded {
                    limit: LimitKind::LinksPerOrg,
                    max: MAX_LINKS_PER_ORG as u64,
                    actual: named as u64 + 1,
                    detail: None,
                });
            }
            let expires_at = new
                .expires_in_secs
                .map(|s| super::time_after(cx.now, s, "expires_in_secs"))
                .transpose()?;
            let (secret, hash) = cx.link_keys.new_secret(cx.secrets, org, &id, 0);
            let link = InviteLink {
                org_id: org.clone(),
                role: role.clone(),
                kind: new.kind,
                groups: groups.clone(),
                license_type: c.license_type.clone(),
                active: true,
                created_by: auth.member.as_ref().map(|m| m.id.clone()),
                created_at: cx.now,
                uses: 0,
                id: id.clone(),
                name: c.name.clone(),
                expires_at,
                max_uses: new.max_uses,
                allowed_domains: c.allowed_domains.clone(),
                status: LinkStatus::Active,
            };
            let stored = StoredInviteLink::new(link, Some(hash));
            cx.tx.put_link(&stored)?;
            cx.event(
                org,
                actor,
                EventKind::LinkCreated {
                    link: id.clone(),
                    name: c.name.clone(),
                    role,
                    kind: new.kind,
                    groups,
                },
            )?;
            let url = super::render::accept_url(&o, cx.config, &secret);
            Ok(ActivatedLink {
                link: stored.link,
                url: Secret::new(url),
            })
        })
    }

    /// A page of the organization's links (the default one too), oldest
    /// first, each with its uses and its status now. Needs
    /// [`Permission::ManageInviteLink`]. `after` is the `next_cursor` of
    /// the page before; `limit` is 1 to [`MAX_PAGE`](crate::store::MAX_PAGE).
    pub fn links(
        &self,
        org: &OrgId,
        actor: &Actor,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<InviteLink>> {
        super::check_query_text(None, after, &[])?;
        let limit = super::page_limit(limit)? as usize;
        self.run_read("links", |cx| {
            cx.authorized(org, actor, Permission::ManageInviteLink)?;
            // Bounded per organization: read them all, page here.
            let all = cx.tx.links(org, MAX_LINKS_PER_ORG + 2)?;
            let start = match after {
                None => 0,
                Some(a) => {
                    all.iter()
                        .position(|l| l.id.as_str() == a)
                        .ok_or_else(|| Error::invalid("cursor", "not a cursor of this list"))?
                        + 1
                }
            };
            let items: Vec<InviteLink> = all
                .into_iter()
                .skip(start)
                .take(limit + 1)
                .map(|l| view(l, cx.now))
                .collect();
            Ok(page(items, limit))
        })
    }

    /// One link of the organization, with its uses and status now. Needs
    /// [`Permission::ManageInviteLink`].
    pub fn link(&self, org: &OrgId, actor: &Actor, id: &LinkId) -> Result<InviteLink> {
        super::check_max_bytes("link", id.as_str(), super::MAX_KEY_BYTES)?;
        self.run_read("link", |cx| {
            cx.authorized(org, actor, Permission::ManageInviteLink)?;
            let l = cx.stored_link(org, id)?;
            Ok(view(l, cx.now))
        })
    }

    /// The URL of a link again, for an administrator: derived under the
    /// host's link key ([`Enlist::with_link_keys`]), never read from the
    /// store, which keeps only its hash. Needs what creating the link
    /// needs (showing the URL hands out its role and groups). Refused with
    /// [`Error::LinkUrlNotKept`] without a key, or for a link made before
    /// the key or under a key no longer configured (regenerate it), and
    /// for a revoked link ([`Error::InvalidSecret`]: it has no working
    /// URL). Each display is an event ([`EventKind::LinkUrlShown`]).
    pub fn link_url(&self, org: &OrgId, actor: &Actor, id: &LinkId) -> Result<Secret> {
        super::check_max_bytes("link", id.as_str(), super::MAX_KEY_BYTES)?;
        self.run("link_url", |cx| {
            let (o, auth) = cx.authorized(org, actor, Permission::ManageInviteLink)?;
            let l = cx.stored_link(org, id)?;
            cx.link_terms(&o, &auth, l.kind, &l.role, &l.groups)?;
            if !l.active {
                return Err(Error::InvalidSecret);
            }
            let token =
                cx.link_keys
                    .token_of(&l)
                    .map_err(|key_configured| Error::LinkUrlNotKept {
                        link: l.id.clone(),
                        key_configured,
                    })?;
            cx.event(org, actor, EventKind::LinkUrlShown { link: l.id.clone() })?;
            Ok(Secret::new(super::render::accept_url(
                &o, cx.config, &token,
            )))
        })
    }

    /// Gives a link a new secret: its old URL stops working at once, the
    /// others' do not. Its terms, expiry, cap and uses stay. Needs what
    /// creating the link needs; a revoked link stays revoked
    /// ([`Error::InvalidSecret`]).
    pub fn regenerate_link(
        &self,
        org: &OrgId,
        actor: &Actor,
        id: &LinkId,
    ) -> Result<ActivatedLink> {
        super::check_max_bytes("link", id.as_str(), super::MAX_KEY_BYTES)?;
        self.run("regenerate_link", |cx| {
            let (o, auth) = cx.authorized(org, actor, Permission::ManageInviteLink)?;
            if !o.policy.invite_link_enabled {
                return Err(Error::Disabled {
                    feature: Feature::InviteLink,
                });
            }
            let mut l = cx.stored_link(org, id)?;
            cx.link_terms(&o, &auth, l.kind, &l.role, &l.groups)?;
            if !l.active {
                return Err(Error::InvalidSecret);
            }
            l.generation = next_generation(l.generation)?;
            let (secret, hash) = cx
                .link_keys
                .new_secret(cx.secrets, org, &l.id, l.generation);
            l.secret_hash = Some(hash);
            cx.tx.put_link(&l)?;
            cx.event(
                org,
                actor,
                EventKind::LinkRegenerated { link: l.id.clone() },
            )?;
            let url = super::render::accept_url(&o, cx.config, &secret);
            let now = cx.now;
            Ok(ActivatedLink {
                link: view(l, now),
                url: Secret::new(url),
            })
        })
    }

    /// Revokes one link: it stops working at once, for good; the others
    /// keep working. Needs [`Permission::ManageInviteLink`]. Revoking a
    /// revoked link changes nothing. Returns the link as it now stands.
    pub fn revoke_link(&self, org: &OrgId, actor: &Actor, id: &LinkId) -> Result<InviteLink> {
        super::check_max_bytes("link", id.as_str(), super::MAX_KEY_BYTES)?;
        self.run("revoke_link", |cx| {
            cx.authorized(org, actor, Permission::ManageInviteLink)?;
            let mut l = cx.stored_link(org, id)?;
            if l.active {
                l.active = false;
                cx.tx.put_link(&l)?;
                let kind = if l.id.is_default() {
                    EventKind::InviteLinkDeactivated
                } else {
                    EventKind::LinkRevoked { link: l.id.clone() }
                };
                cx.event(org, actor, kind)?;
            }
            let now = cx.now;
            Ok(view(l, now))
        })
    }
}

/// The generation after `g`.
pub(super) fn next_generation(g: u32) -> Result<u32> {
    g.checked_add(1)
        .ok_or_else(|| Error::conflict("this link has had too many secrets: create another"))
}

/// The link as a caller sees it: no hash, its status at `now`.
pub(super) fn view(l: StoredInviteLink, now: chrono::DateTime<chrono::Utc>) -> InviteLink {
    let mut link = l.link;
    link.status = link.status_at(now);
    link
}

/// A page of at most `limit` of `items` (which holds one more when there
/// is a next page), its cursor the last id.
fn page(mut items: Vec<InviteLink>, limit: usize) -> Page<InviteLink> {
    let next_cursor = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|l| l.id.as_str().to_owned())
    } else {
        None
    };
    Page { items, next_cursor }
}

impl super::Ctx<'_> {
    /// A link of the organization, or not found.
    fn stored_link(&mut self, org: &OrgId, id: &LinkId) -> Result<StoredInviteLink> {
        self.tx
            .link(org, id)?
            .ok_or_else(|| Error::not_found(EntityKind::InviteLink, id))
    }

    /// Checks that `auth` may hand out a link of these terms: the invite
    /// permission of its kind, the role within reach (and without
    /// permissions for guests), guests enabled, and the groups within
    /// reach. Returns the groups as checked.
    pub(super) fn link_terms(
        &mut self,
        o: &Organization,
        auth: &Auth,
        kind: MemberKind,
        role: &str,
        groups: &[GroupGrant],
    ) -> Result<Vec<GroupGrant>> {
        if !o.policy.invite_link_enabled {
            return Err(Error::Disabled {
                feature: Feature::InviteLink,
            });
        }
        if kind == MemberKind::Guest && !o.policy.guests_enabled {
            return Err(Error::Disabled {
                feature: Feature::Guests,
            });
        }
        auth.require(if kind == MemberKind::Guest {
            Permission::InviteGuests
        } else {
            Permission::InviteMembers
        })?;
        let r = auth.grantable_role(o, role)?;
        if kind == MemberKind::Guest && !r.permissions.is_empty() {
            return Err(Error::invalid(
                "role",
                format!("guests get a role without permissions, not {role:?}"),
            ));
        }
        self.check_grants(&o.id, auth, groups)
    }

    /// The working link whose secret hashes to `hash`: any link of the
    /// organization, the default one or a named one. Refused: no such
    /// link or a revoked one ([`Error::InvalidSecret`]), links switched
    /// off by the policy, an expired link ([`Error::LinkExpired`]), a link
    /// whose cap is reached ([`LimitKind::LinkUses`]).
    pub(super) fn live_link(
        &mut self,
        o: &Organization,
        hash: &SecretHash,
    ) -> Result<StoredInviteLink> {
        let l = match self.tx.link_by_secret(&o.id, hash)? {
            Some(l) if l.secret_hash.is_some_and(|h| h.ct_eq(hash)) => l,
            _ => return Err(Error::InvalidSecret),
        };
        match l.status_at(self.now) {
            LinkStatus::Revoked => Err(Error::InvalidSecret),
            _ if !o.policy.invite_link_enabled => Err(Error::Disabled {
                feature: Feature::InviteLink,
            }),
            LinkStatus::Expired => Err(Error::LinkExpired {
                link: l.id.clone(),
                expired_at: l.expires_at.unwrap_or(self.now),
            }),
            LinkStatus::Exhausted => Err(Error::LimitExceeded {
                limit: LimitKind::LinkUses,
                max: l.max_uses.unwrap_or_default(),
                actual: l.uses.saturating_add(1),
                detail: None,
            }),
            _ => Ok(l),
        }
    }
}

/// The link's own domain rule, on top of the organization's: when the link
/// lists domains, only an email of one of them joins, and only when the
/// host vouches for it (`verified_email`, which must be that address:
/// checked with the organization's rules afterwards).
pub(super) fn check_link_contact(
    link: &InviteLink,
    contact: &str,
    registration: &Registration,
) -> Result<()> {
    if link.allowed_domains.is_empty() {
        return Ok(());
    }
    if !contact.contains('@') {
        return Err(Error::invalid(
            "contact",
            "this invitation link admits only verified email addresses of its allowed domains",
        ));
    }
    let m = parse_address(contact).map_err(|e| Error::invalid("email", e.to_string()))?;
    if !link.domain_allowed(&m.ascii_domain) {
        return Err(Error::DomainNotAllowed {
            domain: m.ascii_domain.into_owned(),
        });
    }
    if registration.verified_email.is_none() {
        return Err(Error::RegistrationIncomplete {
            missing: vec![RegistrationField::VerifiedEmail],
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::test_support::{actor_with_role, group, org, registration};
    use crate::policy::Policy;
    use crate::secret::SecretKey;

    fn policy() -> Policy {
        Policy {
            invite_link_enabled: true,
            ..Policy::default()
        }
    }

    fn engine() -> Enlist {
        Enlist::in_memory()
    }

    fn key(b: u8) -> SecretKey {
        SecretKey::new(vec![b; 32]).unwrap()
    }

    /// A member whose role holds ManageInviteLink and InviteMembers but
    /// not the admin role's rights: links within their reach only; an
    /// admin link made by the owner is theirs to revoke, not to show or
    /// regenerate (that would hand out a role they cannot grant).
    #[test]
    fn a_link_manager_hands_out_only_what_they_may_grant() {
        let e = engine().with_link_keys(key(1), Vec::new()).unwrap();
        let (o, owner) = org(&e, "acct-owner", "owner@acme.test", policy());
        let perms = [
            Permission::ViewMembers,
            Permission::InviteMembers,
            Permission::ManageInviteLink,
        ]
        .into_iter()
        .collect();
        e.define_role(&o, &owner, "link_manager", perms).unwrap();
        let lm = actor_with_role(&e, &o, &owner, "lm@acme.test", "link_manager");
        let mine = e.create_link(&o, &lm, NewLink::new("mine")).unwrap();
        assert_eq!(mine.link.role, "member");
        let mut more = NewLink::new("admins");
        more.role = Some("admin".into());
        let err = e.create_link(&o, &lm, more.clone()).unwrap_err();
        assert_eq!(err.code(), "permission_denied");
        let mut guests = NewLink::new("guests");
        guests.kind = MemberKind::Guest;
        assert!(e.create_link(&o, &lm, guests).is_err());
        let admins = e.create_link(&o, &owner, more).unwrap();
        for r in [
            e.link_url(&o, &lm, &admins.link.id).map(|_| ()),
            e.regenerate_link(&o, &lm, &admins.link.id).map(|_| ()),
        ] {
            let err = r.unwrap_err();
            assert_eq!(err.code(), "permission_denied");
            assert!(!err.to_string().contains(admins.url.expose()));
        }
        assert!(
            e.preview_link(admins.url.expose()).is_ok(),
            "not regenerated"
        );
        let revoked = e.revoke_link(&o, &lm, &admins.link.id).unwrap();
        assert_eq!(revoked.status, LinkStatus::Revoked);
        assert_eq!(
            e.preview_link(admins.url.expose()).unwrap_err().code(),
            "invalid_secret"
        );
        assert_eq!(e.link_url(&o, &lm, &mine.link.id).unwrap(), mine.url);
    }

    #[test]
    fn a_plain_member_cannot_see_or_make_links() {
        let e = engine().with_link_keys(key(1), Vec::new()).unwrap();
        let (o, owner) = org(&e, "acct-owner", "owner@acme.test", policy());
        let made = e.create_link(&o, &owner, NewLink::new("team")).unwrap();
        let m = actor_with_role(&e, &o, &owner, "m@acme.test", "member");
        let id = &made.link.id;
        for code in [
            e.create_link(&o, &m, NewLink::new("x")).map(|_| ()),
            e.links(&o, &m, None, 10).map(|_| ()),
            e.link(&o, &m, id).map(|_| ()),
            e.link_url(&o, &m, id).map(|_| ()),
            e.regenerate_link(&o, &m, id).map(|_| ()),
            e.revoke_link(&o, &m, id).map(|_| ()),
        ]
        .map(|r| r.unwrap_err().code())
        {
            assert_eq!(code, "permission_denied");
        }
        // Another organization's link is not found from here.
        let (o2, owner2) = org(&e, "acct-o2", "o2@beta.test", policy());
        assert_eq!(e.link(&o2, &owner2, id).unwrap_err().code(), "not_found");
        assert_eq!(
            e.revoke_link(&o2, &owner2, id).unwrap_err().code(),
            "not_found"
        );
        assert!(e.preview_link(made.url.expose()).is_ok());
    }

    /// Without a key the URL is shown once; a link made before the key
    /// (or under a key no longer configured) says so; regenerating moves
    /// it under the current key; a retired key still shows its links.
    #[test]
    fn showing_a_url_again_needs_the_key_it_was_made_under() {
        let store = std::sync::Arc::new(crate::MemoryStore::new());
        let plain = Enlist::new(store.clone());
        let (o, owner) = org(&plain, "acct-owner", "owner@acme.test", policy());
        let before = plain
            .create_link(&o, &owner, NewLink::new("before"))
            .unwrap();
        match plain.link_url(&o, &owner, &before.link.id).unwrap_err() {
            Error::LinkUrlNotKept {
                link,
                key_configured,
            } => {
                assert_eq!((link, key_configured), (before.link.id.clone(), false));
            }
            other => panic!("{other:?}"),
        }
        let keyed = Enlist::new(store.clone())
            .with_link_keys(key(1), Vec::new())
            .unwrap();
        let err = keyed.link_url(&o, &owner, &before.link.id).unwrap_err();
        assert_eq!(err.code(), "link_url_not_kept");
        assert!(matches!(
            err,
            Error::LinkUrlNotKept {
                key_configured: true,
                ..
            }
        ));
        let moved = keyed.regenerate_link(&o, &owner, &before.link.id).unwrap();
        assert_eq!(
            keyed.link_url(&o, &owner, &before.link.id).unwrap(),
            moved.url
        );
        let rotated = Enlist::new(store.clone())
            .with_link_keys(key(2), vec![key(1)])
            .unwrap();
        assert_eq!(
            rotated.link_url(&o, &owner, &before.link.id).unwrap(),
            moved.url
        );
        let dropped = Enlist::new(store)
            .with_link_keys(key(2), Vec::new())
            .unwrap();
        assert_eq!(
            dropped
                .link_url(&o, &owner, &before.link.id)
                .unwrap_err()
                .code(),
            "link_url_not_kept"
        );
        // The link works whatever the key: only showing it needs one.
        assert!(dropped.preview_link(moved.url.expose()).is_ok());
        // The default link too: each activation is a new URL.
        let d1 = keyed
            .activate_invite_link(&o, &owner, Default::default())
            .unwrap();
        let id = LinkId::default_link();
        assert_eq!(keyed.link_url(&o, &owner, &id).unwrap(), d1.url);
        keyed.deactivate_invite_link(&o, &owner).unwrap();
        let d2 = keyed
            .activate_invite_link(&o, &owner, Default::default())
            .unwrap();
        assert_ne!(d1.url, d2.url);
        assert_eq!(
            keyed.preview_link(d1.url.expose()).unwrap_err().code(),
            "invalid_secret"
        );
    }

    #[test]
    fn inputs_are_bounded_before_any_work() {
        let e = engine();
        let (o, owner) = org(&e, "acct-owner", "owner@acme.test", policy());
        let with = |f: fn(&mut NewLink)| {
            let mut n = NewLink::new("ok");
            f(&mut n);
            e.create_link(&o, &owner, n).map(|_| ()).unwrap_err().code()
        };
        assert_eq!(with(|n| n.name = String::new()), "invalid_input");
        assert_eq!(with(|n| n.name = "a\nb".into()), "invalid_input");
        assert_eq!(
            with(|n| n.name = "x".repeat(MAX_LINK_NAME_CHARS + 1)),
            "limit_exceeded"
        );
        assert_eq!(with(|n| n.max_uses = Some(0)), "invalid_input");
        assert_eq!(
            with(|n| n.max_uses = Some(MAX_LINK_USES + 1)),
            "invalid_input"
        );
        assert_eq!(with(|n| n.expires_in_secs = Some(0)), "invalid_input");
        assert_eq!(
            with(|n| n.expires_in_secs = Some(MAX_DURATION_SECS + 1)),
            "invalid_input"
        );
        assert_eq!(
            with(|n| n.allowed_domains = vec!["a b".into()]),
            "invalid_input"
        );
        assert_eq!(
            with(|n| n.role = Some("x".repeat(10_000))),
            "limit_exceeded"
        );
        assert_eq!(with(|n| n.role = Some("nope".into())), "invalid_input");
        let long = "l".repeat(10_000);
        assert_eq!(
            e.link(&o, &owner, &LinkId::from(long.as_str()))
                .unwrap_err()
                .code(),
            "limit_exceeded"
        );
        assert_eq!(
            e.links(&o, &owner, Some(&long), 10).unwrap_err().code(),
            "limit_exceeded"
        );
        assert_eq!(
            e.links(&o, &owner, None, 0).unwrap_err().code(),
            "limit_exceeded"
        );
    }

    #[test]
    fn an_organization_holds_a_bounded_number_of_links() {
        let e = engine();
        let (o, owner) = org(&e, "acct-owner", "owner@acme.test", policy());
        e.activate_invite_link(&o, &owner, Default::default())
            .unwrap();
        for i in 0..MAX_LINKS_PER_ORG {
            let made = e
                .create_link(&o, &owner, NewLink::new(format!("l{i}")))
                .unwrap();
            if i % 2 == 0 {
                e.revoke_link(&o, &owner, &made.link.id).unwrap();
            }
        }
        match e
            .create_link(&o, &owner, NewLink::new("one more"))
            .unwrap_err()
        {
            Error::LimitExceeded { limit, max, .. } => {
                assert_eq!(
                    (limit, max),
                    (LimitKind::LinksPerOrg, MAX_LINKS_PER_ORG as u64)
                );
            }
            other => panic!("{other:?}"),
        }
        // The default link is not one of them.
        e.activate_invite_link(&o, &owner, Default::default())
            .unwrap();
        let mut seen = 0;
        let mut after: Option<String> = None;
        loop {
            let page = e.links(&o, &owner, after.as_deref(), 30).unwrap();
            seen += page.items.len();
            match page.next_cursor {
                Some(c) => after = Some(c),
                None => break,
            }
        }
        assert_eq!(seen, MAX_LINKS_PER_ORG + 1);
    }

    /// No returned value, error or event holds a link's secret or hash.
    #[test]
    fn no_returned_value_holds_the_secret() {
        let e = engine().with_link_keys(key(3), Vec::new()).unwrap();
        let (o, owner) = org(&e, "acct-owner", "owner@acme.test", policy());
        let made = e.create_link(&o, &owner, NewLink::new("team")).unwrap();
        let token = made.url.expose().rsplit('.').next().unwrap().to_owned();
        let hash = crate::parse_token(made.url.expose()).unwrap().hash;
        let shown = [
            format!("{made:?}"),
            serde_json::to_string(&made.link).unwrap(),
            format!("{:?}", e.links(&o, &owner, None, 10).unwrap()),
            format!("{:?}", e.link(&o, &owner, &made.link.id).unwrap()),
            format!("{:?}", e.link_url(&o, &owner, &made.link.id).unwrap()),
            format!("{:?}", e.events(&o, &Actor::System, 0, 100).unwrap()),
            format!("{e:?}"),
        ];
        for s in shown {
            assert!(!s.contains(&token), "{s}");
            assert!(!s.contains(&hash.to_hex()), "{s}");
        }
    }

    /// Deleting a group takes it off every link; the policy switch turns
    /// every link off; a guest role a named link hands out keeps no
    /// permissions (redefining it with some is refused).
    #[test]
    fn groups_policy_and_roles_apply_to_every_link() {
        let e = engine();
        let mut p = policy();
        p.guests_enabled = true;
        let (o, owner) = org(&e, "acct-owner", "owner@acme.test", p.clone());
        let g = group(&e, &o, &owner, "Sales");
        let mut n = NewLink::new("sales");
        n.groups = vec![GroupGrant::member(g.id.clone())];
        let made = e.create_link(&o, &owner, n).unwrap();
        let preview = e.preview_link(made.url.expose()).unwrap();
        assert_eq!(preview.group_names, ["Sales"]);
        e.delete_group(&o, &owner, &g.id).unwrap();
        assert!(e.link(&o, &owner, &made.link.id).unwrap().groups.is_empty());

        e.define_role(&o, &owner, "visitor", Default::default())
            .unwrap();
        let mut guests = NewLink::new("visitors");
        guests.kind = MemberKind::Guest;
        guests.role = Some("visitor".into());
        e.create_link(&o, &owner, guests).unwrap();
        let perms = [Permission::ViewMembers].into_iter().collect();
        let err = e.define_role(&o, &owner, "visitor", perms).unwrap_err();
        assert_eq!(err.code(), "conflict");
        assert!(err.to_string().contains("visitors"), "{err}");

        let mut off = p;
        off.invite_link_enabled = false;
        e.update_policy(&o, &owner, off).unwrap();
        let r = e.join_by_link(
            made.url.expose(),
            "x@acme.test",
            registration("acct-x", ("X", "Y")),
        );
        assert_eq!(r.unwrap_err().code(), "disabled");
        assert_eq!(
            e.create_link(&o, &owner, NewLink::new("no"))
                .unwrap_err()
                .code(),
            "disabled"
        );
    }
}
