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
        self.run("people", |cx| {
            cx.authorized(org, actor, Permission::ViewMembers)?;
            Ok(cx.tx.people(org, query, cx.now)?)
        })
    }
}
