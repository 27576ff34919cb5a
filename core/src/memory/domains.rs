//! The MemoryStore's verified domains and membership requests: the claims
//! of each organization in its shard, the verified ones also indexed by
//! domain across organizations (the rule that one organization at a time
//! holds a domain verified), and the requests in their shard.

use super::state::State;
use crate::domain::{DomainStatus, MembershipRequest, MembershipRequestQuery, StoredDomain};
use crate::error::{StoreError, UniqueRule};
use crate::id::{MembershipRequestId, OrgId};
use crate::member::Page;
use crate::store::{StoreResult, cursor, page_limit};

impl State {
    /// Puts `value` (or nothing) at `(org, domain)`, keeping the index of
    /// verified domains; returns what was there.
    pub(super) fn replace_domain(
        &mut self,
        org: &OrgId,
        domain: &str,
        value: Option<StoredDomain>,
    ) -> Option<StoredDomain> {
        let data = self.orgs.entry(org.clone()).or_default();
        let prev = match value {
            Some(v) => data.domains.insert(domain.to_owned(), v),
            None => data.domains.remove(domain),
        };
        let now_verified = data
            .domains
            .get(domain)
            .is_some_and(|d| d.status == DomainStatus::Verified);
        if now_verified {
            self.verified_domains.insert(domain.to_owned(), org.clone());
        } else if self.verified_domains.get(domain) == Some(org) {
            self.verified_domains.remove(domain);
        }
        prev
    }

    /// Whether another organization holds `domain` verified.
    pub(super) fn domain_held_by_other(&self, org: &OrgId, domain: &str) -> bool {
        self.verified_domains
            .get(domain)
            .is_some_and(|holder| holder != org)
    }

    pub(super) fn verified_domain(&self, domain: &str) -> Option<StoredDomain> {
        let org = self.verified_domains.get(domain)?;
        self.orgs.get(org)?.domains.get(domain).cloned()
    }

    /// Puts `value` (or nothing) as the request `id` of `org`; returns
    /// what was there.
    pub(super) fn replace_request(
        &mut self,
        org: &OrgId,
        id: &MembershipRequestId,
        value: Option<MembershipRequest>,
    ) -> Option<MembershipRequest> {
        let data = self.orgs.entry(org.clone()).or_default();
        match value {
            Some(v) => data.requests.insert(id.clone(), v),
            None => data.requests.remove(id),
        }
    }

    /// Whether another request of `org` has this request's account.
    pub(super) fn request_account_taken(&self, r: &MembershipRequest) -> bool {
        self.orgs.get(&r.org_id).is_some_and(|d| {
            d.requests
                .values()
                .any(|o| o.user_ref == r.user_ref && o.id != r.id)
        })
    }

    pub(super) fn request_of(&self, org: &OrgId, user_ref: &str) -> Option<MembershipRequest> {
        self.orgs
            .get(org)?
            .requests
            .values()
            .find(|r| r.user_ref == user_ref)
            .cloned()
    }

    pub(super) fn requests_page(
        &self,
        org: &OrgId,
        q: &MembershipRequestQuery,
    ) -> StoreResult<Page<MembershipRequest>> {
        let after = q.after.as_deref().map(cursor::parse_request).transpose()?;
        let limit = page_limit(q.limit);
        let mut rows: Vec<&MembershipRequest> = self
            .orgs
            .get(org)
            .map(|d| {
                d.requests
                    .values()
                    .filter(|r| q.status.is_none_or(|s| r.status == s))
                    .filter(|r| {
                        after
                            .as_ref()
                            .is_none_or(|(t, id)| (r.created_at, &r.id) > (*t, id))
                    })
                    .collect()
            })
            .unwrap_or_default();
        rows.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next_cursor = match rows.last() {
            Some(r) if more => Some(cursor::request(
                r.created_at.timestamp(),
                i64::from(r.created_at.timestamp_subsec_nanos()),
                r.id.as_str(),
            )),
            _ => None,
        };
        Ok(Page {
            items: rows.into_iter().cloned().collect(),
            next_cursor,
        })
    }
}

/// The error of a verified claim on a domain another organization holds.
pub(super) fn domain_taken() -> StoreError {
    StoreError::Unique(UniqueRule::DomainVerified)
}

/// The error of a second request of one account.
pub(super) fn request_taken() -> StoreError {
    StoreError::Unique(UniqueRule::MembershipRequestAccount)
}
