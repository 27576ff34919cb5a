//! The people view: members and open invitations in one paged, sorted,
//! filterable list (seed 001's and 003's user list).

use super::Enlist;
use crate::error::{Error, LimitKind, Result};
use crate::event::Actor;
use crate::id::OrgId;
use crate::member::Page;
use crate::people::{MAX_PEOPLE_SEARCH_CHARS, PeopleQuery, Person, PersonLabel};
use crate::role::Permission;

/// More label filters than this are refused (there are six labels).
const MAX_LABELS: usize = 16;

impl Enlist {
    /// A page of the people view: the organization's members and its
    /// staged, pending and expired invitations in one list, each with its
    /// label at the engine's `now` ([`PersonLabel`]); filtered by label
    /// (every label but Removed by default), role, group, kind, license
    /// type and search text (a case-folded prefix of a first name, last
    /// name, full name or email: see [`Person::search_terms`]), sorted by
    /// [`PeopleSort`](crate::PeopleSort) either way, continued with
    /// `after`. Needs [`Permission::ViewMembers`], as
    /// [`list_members`](Enlist::list_members) does.
    ///
    /// The query is bounded before anything is read: the page size (1 to
    /// 1000), the search text ([`MAX_PEOPLE_SEARCH_CHARS`]), the cursor,
    /// the filters' lengths and the number of labels.
    pub fn people(&self, org: &OrgId, actor: &Actor, query: &PeopleQuery) -> Result<Page<Person>> {
        super::page_limit(query.limit)?;
        super::check_query_text(
            query.search.as_deref(),
            query.after.as_deref(),
            &[
                query.role.as_deref(),
                query.group.as_ref().map(|g| g.as_str()),
                query.license_type.as_deref(),
            ],
        )?;
        if let Some(search) = &query.search {
            let n = search.chars().count();
            if n > MAX_PEOPLE_SEARCH_CHARS {
                return Err(Error::LimitExceeded {
                    limit: LimitKind::FieldLength,
                    max: MAX_PEOPLE_SEARCH_CHARS as u64,
                    actual: n as u64,
                    detail: Some("search".to_owned()),
                });
            }
        }
        if query.labels.len() > MAX_LABELS {
            return Err(Error::invalid(
                "labels",
                format!(
                    "at most {MAX_LABELS} labels (there are {})",
                    PersonLabel::ALL.len()
                ),
            ));
        }
        self.run_read("people", |cx| {
            cx.authorized(org, actor, Permission::ViewMembers)?;
            Ok(cx.tx.people(org, query, cx.now)?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{InviteRequest, NewOrganization, RecipientInput, Recipients};
    use crate::people::PersonSource;

    fn setup() -> (Enlist, OrgId, Actor) {
        let engine = Enlist::in_memory();
        let created = engine
            .create_organization(NewOrganization::new("Acme", "acct-1", "ada@acme.test"))
            .expect("org");
        let owner = Actor::Member(created.owner.id);
        (engine, created.organization.id, owner)
    }

    fn code(r: Result<Page<Person>>) -> &'static str {
        r.map(|_| "ok").unwrap_or_else(|e| e.code())
    }

    /// Oversized queries are refused before anything is read: even for a
    /// caller who may not see the list, and in an organization that does
    /// not exist.
    #[test]
    fn the_query_is_bounded_before_anything_is_read() {
        let (engine, _, _) = setup();
        let nowhere = OrgId::from("org_nowhere".to_owned());
        let q = |f: &dyn Fn(&mut PeopleQuery)| {
            let mut q = PeopleQuery::default();
            f(&mut q);
            code(engine.people(&nowhere, &Actor::Anonymous, &q))
        };
        assert_eq!(q(&|q| q.limit = 0), "limit_exceeded");
        assert_eq!(q(&|q| q.limit = 1001), "limit_exceeded");
        assert_eq!(
            q(&|q| q.search = Some("x".repeat(MAX_PEOPLE_SEARCH_CHARS + 1))),
            "limit_exceeded"
        );
        assert_eq!(q(&|q| q.search = Some("é".repeat(600))), "limit_exceeded");
        assert_eq!(q(&|q| q.after = Some("p".repeat(2000))), "limit_exceeded");
        assert_eq!(q(&|q| q.role = Some("r".repeat(300))), "limit_exceeded");
        assert_eq!(
            q(&|q| q.license_type = Some("l".repeat(300))),
            "limit_exceeded"
        );
        assert_eq!(
            q(&|q| q.labels = vec![PersonLabel::Active; MAX_LABELS + 1]),
            "invalid_input"
        );
        // Within bounds, the same caller is refused for who they are.
        assert_ne!(
            q(&|q| q.search = Some("x".repeat(MAX_PEOPLE_SEARCH_CHARS))),
            "ok"
        );
    }

    /// Authorized like `list_members`: members with ViewMembers see the
    /// list; anonymous callers and other organizations' members do not. A
    /// bad cursor is the caller's invalid input.
    #[test]
    fn authorized_like_list_members() {
        let (engine, org, owner) = setup();
        engine
            .invite(
                &org,
                &owner,
                InviteRequest::new(Recipients::List(vec![RecipientInput::email(
                    "bob@acme.test",
                )])),
            )
            .expect("invite");
        let page = engine
            .people(&org, &owner, &PeopleQuery::default())
            .expect("people");
        let sources: Vec<PersonSource> = page.items.iter().map(|p| p.source).collect();
        assert_eq!(sources, [PersonSource::Member, PersonSource::Invitation]);
        let q = PeopleQuery::default();
        assert_eq!(
            code(engine.people(&org, &Actor::Anonymous, &q)),
            "permission_denied"
        );
        let other = engine
            .create_organization(NewOrganization::new("Other", "acct-2", "eve@other.test"))
            .expect("org");
        let eve = Actor::Member(other.owner.id);
        assert_ne!(code(engine.people(&org, &eve, &q)), "ok");
        let bad = PeopleQuery {
            after: Some("m.00.00".into()),
            ..PeopleQuery::default()
        };
        assert_eq!(code(engine.people(&org, &owner, &bad)), "invalid_input");
        // The view holds no secret: no field of a person is a token or hash.
        let json = serde_json::to_string(&page.items).expect("json");
        assert!(!json.contains("secret") && !json.contains("hash"), "{json}");
    }
}
