//! From driver errors to [`StoreError`]s.

use enlist::{StoreError, UniqueRule};
use postgres::error::SqlState;

/// Maps a driver error: serialization failures and deadlocks are
/// [`StoreError::Conflict`] (the engine retries the command), a broken
/// unique index is [`StoreError::Unique`], a lost or refused connection is
/// [`StoreError::Unavailable`].
pub(crate) fn db_err(e: postgres::Error) -> StoreError {
    if let Some(code) = e.code() {
        if *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED
        {
            return StoreError::Conflict;
        }
        if *code == SqlState::UNIQUE_VIOLATION {
            let constraint = e.as_db_error().and_then(|d| d.constraint());
            return StoreError::Unique(unique_rule(constraint.unwrap_or("")));
        }
        if *code == SqlState::LOCK_NOT_AVAILABLE {
            return StoreError::Unavailable(
                "waited longer than lock_timeout for another writer of the organization \
                 (is a transaction left open, or does one thread hold two transactions?)"
                    .to_owned(),
            );
        }
        let class = code.code().get(..2).unwrap_or("");
        // 08: connection exception; 53: insufficient resources (too many
        // connections, out of disk); 57: operator intervention (shutdown,
        // cannot connect now).
        if matches!(class, "08" | "53" | "57") {
            return StoreError::Unavailable(e.to_string());
        }
        return StoreError::other(e);
    }
    if e.is_closed() || std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>()) {
        return StoreError::Unavailable(e.to_string());
    }
    StoreError::other(e)
}

/// Says which rule a unique index enforces, from its name.
fn unique_rule(constraint: &str) -> UniqueRule {
    match constraint {
        "members_live_contact" => UniqueRule::MemberContactKey,
        "members_live_user_ref" => UniqueRule::MemberUserRef,
        "invitations_secret" => UniqueRule::InvitationSecret,
        "invitations_open_recipient" => UniqueRule::InvitationOpenRecipient,
        "organizations_slug" => UniqueRule::OrganizationSlug,
        "org_domains_verified" => UniqueRule::DomainVerified,
        "membership_requests_account" => UniqueRule::MembershipRequestAccount,
        _ => UniqueRule::Other,
    }
}
