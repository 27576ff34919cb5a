//! The store conformance suite: one set of tests that every [`Store`]
//! passes, so that the engine behaves the same on each. Enabled by the
//! `testing` feature; a store crate takes it as a dev-dependency:
//!
//! ```toml
//! [dev-dependencies]
//! enlist = { version = "0.1", features = ["testing"] }
//! ```
//!
//! [`store_conformance!`](crate::store_conformance) generates a module of
//! `#[test]`s for a store, given a function that makes a fresh, empty one:
//!
//! ```ignore
//! enlist::store_conformance!(memory, || Arc::new(MemoryStore::new()) as Arc<dyn Store>);
//! ```
//!
//! A third argument, `requires = f`, names a `fn() -> bool` checked first:
//! when it returns `false` each test prints why it is skipped and passes
//! (enlist-postgres uses it when no server is configured).
//!
//! What it checks (see the book's "Stores" and "Write your own store"
//! chapters):
//! - every engine operation through the store, each scenario compared step
//!   by step with what MemoryStore (the reference) answers ([`engine_ops`],
//!   [`hostile`]);
//! - the [`Transaction`] contract directly ([`transactions`]);
//! - random sequences of writes against a naive model and against
//!   MemoryStore, read for read ([`model`]);
//! - faults: a write or commit failing in the middle of any command leaves
//!   nothing behind ([`faults`]);
//! - races between threads ([`races`]);
//! - the standing of many recipient keys in one call ([`standing`]).
//!
//! Races between processes, and a SIGKILL in the middle of a batch, need a
//! worker program and a store that lives outside the process: they stay in
//! the workspace's own test crate (`tests/tests/store/processes.rs`).
//!
//! The functions of the modules are public so that a store's own tests can
//! reuse the harness ([`harness::Env`]), the sample entities
//! ([`entities`]) and the whole-store reads ([`snapshot`]).
//!
//! [`Transaction`]: crate::Transaction
//! [`Store`]: crate::Store

// Test code: a failed expectation is a panic that names it. The suite is
// written as a store crate's tests would be, against the public API, where
// `#[non_exhaustive]` types (a `Policy`) are built from their default and
// then assigned, not by a struct literal.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::field_reassign_with_default
)]

pub mod bulk;
pub mod caps;
pub mod domains;
pub mod engine_ops;
pub mod entities;
pub mod faults;
pub mod feed;
pub mod harness;
pub mod hostile;
pub mod invitee;
pub mod links;
pub mod model;
pub mod orgs;
pub mod people;
pub mod races;
pub mod settings;
pub mod snapshot;
pub mod standing;
pub mod transactions;

/// Generates the conformance tests for one store: `store_conformance!(name,
/// make_store)` or `store_conformance!(name, make_store, requires = check)`,
/// where `make_store` is a `fn() -> Arc<dyn Store>` (a closure without
/// captures will do) returning a fresh, empty store, and `check` a
/// `fn() -> bool` that says whether the store can be made at all (each
/// test passes at once when it returns `false`, after printing why).
///
/// Expands to `mod name { #[test] fn ... }`, one test per check of
/// [`testing`](crate::testing).
#[macro_export]
macro_rules! store_conformance {
    ($name:ident, $make:expr) => {
        $crate::store_conformance!($name, $make, requires = || true);
    };
    ($name:ident, $make:expr, requires = $ready:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            fn ready() -> bool {
                let ready: fn() -> bool = $ready;
                ready()
            }

            fn make() -> ::std::sync::Arc<dyn $crate::Store> {
                let make: fn() -> ::std::sync::Arc<dyn $crate::Store> = $make;
                make()
            }

            $crate::store_conformance!(@tests
                // Every engine operation, compared with MemoryStore.
                orgs_policy_and_roles => same_as_memory engine_ops::orgs_policy_and_roles,
                groups => same_as_memory engine_ops::groups,
                issuing_invitations => same_as_memory engine_ops::issuing_invitations,
                invitation_lifecycle => same_as_memory engine_ops::invitation_lifecycle,
                link_and_self_registration => same_as_memory engine_ops::link_and_self_registration,
                members => same_as_memory engine_ops::members,
                outbox => same_as_memory engine_ops::outbox,
                organizations_are_isolated => same_as_memory engine_ops::organizations_are_isolated,
                hostile_input_through_the_engine => same_as_memory hostile::hostile_input_through_the_engine,
                email_templates => same_as_memory engine_ops::email_templates,
                bulk_actions => same_as_memory engine_ops::bulk_actions,
                batch_reports => same_as_memory engine_ops::batch_reports,
                emails_are_rendered_at_delivery => same_as_memory engine_ops::emails_are_rendered_at_delivery,
                // The Transaction contract.
                rollback_on_drop_changes_nothing => direct transactions::rollback_on_drop_changes_nothing,
                panic_inside_a_transaction_rolls_back => direct transactions::panic_inside_a_transaction_rolls_back,
                concurrent_read_modify_write_never_loses_an_update => direct transactions::concurrent_read_modify_write_never_loses_an_update,
                pages_hold_one_to_max_page_items => direct transactions::pages_hold_one_to_max_page_items,
                commit_keeps_exactly_what_the_transaction_saw => direct transactions::commit_keeps_exactly_what_the_transaction_saw,
                reads_see_the_transactions_own_writes => direct transactions::reads_see_the_transactions_own_writes,
                uniqueness_rules => direct transactions::uniqueness_rules,
                a_deferred_refusal_fails_the_rest_of_the_transaction => direct transactions::a_deferred_refusal_fails_the_rest_of_the_transaction,
                prefetched_recipients_answer_as_without_it => direct transactions::prefetched_recipients_answer_as_without_it,
                reads_after_an_invitation_by_secret_answer_as_without_it => direct transactions::reads_after_an_invitation_by_secret_answer_as_without_it,
                reads_after_an_acceptance_hint_answer_as_without_it => direct transactions::reads_after_an_acceptance_hint_answer_as_without_it,
                superseding_queued_messages_retires_them_and_rolls_back => direct transactions::superseding_queued_messages_retires_them_and_rolls_back,
                a_message_put_again_keeps_its_last_version => direct transactions::a_message_put_again_keeps_its_last_version,
                uniqueness_is_per_organization => direct transactions::uniqueness_is_per_organization,
                secret_lookups_are_by_hash_and_per_organization => direct transactions::secret_lookups_are_by_hash_and_per_organization,
                invitations_found_by_id_are_not_indexed_by_hash => direct transactions::invitations_found_by_id_are_not_indexed_by_hash,
                member_pages_in_byte_order => direct transactions::member_pages_in_byte_order,
                member_cursors_survive_changes_and_bad_ones_are_errors => direct transactions::member_cursors_survive_changes_and_bad_ones_are_errors,
                invitation_pages_newest_first_with_filters => direct transactions::invitation_pages_newest_first_with_filters,
                due_lists_oldest_first_ties_by_id => direct transactions::due_lists_oldest_first_ties_by_id,
                outbox_next_due_and_dead_letters => direct transactions::outbox_next_due_and_dead_letters,
                events_numbered_per_organization => direct transactions::events_numbered_per_organization,
                derived_counts_stay_exact => direct transactions::derived_counts_stay_exact,
                unknown_organization_reads_are_empty => direct transactions::unknown_organization_reads_are_empty,
                hostile_strings_round_trip => direct transactions::hostile_strings_round_trip,
                timestamps_round_trip_to_the_nanosecond => direct transactions::timestamps_round_trip_to_the_nanosecond,
                // Random writes: a naive model, and MemoryStore read for read.
                matches_a_naive_model => direct model::matches_a_naive_model,
                reads_like_the_memory_store => direct model::reads_like_the_memory_store,
                email_templates_are_kept_per_organization_and_locale => direct transactions::email_templates_are_kept_per_organization_and_locale,
                batch_reports_are_kept_per_organization_and_batch => direct transactions::batch_reports_are_kept_per_organization_and_batch,
                // Faults.
                a_failed_command_changes_nothing => direct faults::a_failed_command_changes_nothing,
                // Races between threads.
                one_secret_is_accepted_once => direct races::one_secret_is_accepted_once,
                overlapping_batches_never_invite_twice => direct races::overlapping_batches_never_invite_twice,
                seat_limit_holds_under_concurrent_accepts => direct races::seat_limit_holds_under_concurrent_accepts,
                seat_limit_holds_under_concurrent_joins => direct races::seat_limit_holds_under_concurrent_joins,
                concurrent_delivery_sends_each_message_once => direct races::concurrent_delivery_sends_each_message_once,
                // Issue 13, caps: sealed access codes, "Active", staged edits.
                sealed_codes_and_inactive_invitations_round_trip => direct caps::sealed_codes_and_inactive_invitations_round_trip,
                // The directory assistant's one query.
                standing_of_many_keys => direct standing::standing_of_many_keys,
                // Dry runs, attributes and the bulk update.
                attributes_round_trip => direct bulk::attributes_round_trip,
                dry_runs_and_bulk_update => same_as_memory bulk::dry_runs_and_bulk_update,
                // The people view.
                people_view_sorts_filters_and_pages => direct people::people_view_sorts_filters_and_pages,
                people_view_follows_writes => direct people::people_view_follows_writes,
                // Issue 14, per-invitation settings.
                open_invitations_by_inviter_counts_open_ones => direct settings::open_invitations_by_inviter_counts_open_ones,
                invitation_settings_round_trip => direct settings::settings_round_trip,
                per_invitation_settings_through_the_engine => direct settings::per_invitation_settings_through_the_engine,
                // The event feed for webhooks (issue 14, hooks).
                event_feed_in_commit_order => direct feed::event_feed_in_commit_order,
                event_feed_never_skips_a_late_commit => direct feed::event_feed_never_skips_a_late_commit,
                event_feed_positions_are_never_reused => direct feed::event_feed_positions_are_never_reused,
                // Issue 14, orgs: slugs, accounts, all organizations, deletion.
                slugs_are_unique_across_the_store => direct orgs::slugs_are_unique_across_the_store,
                memberships_of_an_account => direct orgs::memberships_of_an_account,
                all_organizations_by_slug => direct orgs::all_organizations_by_slug,
                organizations_through_the_engine => same_as_memory orgs::organizations_through_the_engine,
                purge_leaves_nothing => direct orgs::purge_leaves_nothing,
                an_organization_stored_again_after_a_purge_starts_afresh => direct orgs::an_organization_stored_again_after_a_purge_starts_afresh,
                slugs_hold_under_concurrent_creates => direct orgs::slugs_hold_under_concurrent_creates,
                // The invitee's inbox across organizations (issue 14).
                person_invitations_across_organizations => direct invitee::person_invitations_across_organizations,
                inbox_through_the_engine => same_as_memory invitee::inbox_through_the_engine,
                // Verified domains and membership requests (issue 14).
                domains_and_requests_round_trip => direct domains::domains_and_requests_round_trip,
                one_organization_verifies_a_domain_under_a_race => direct domains::one_organization_verifies_a_domain_under_a_race,
                domains_through_the_engine => same_as_memory domains::domains_through_the_engine,
                a_purged_organization_releases_its_domains => direct domains::a_purged_organization_releases_its_domains,
                // Several invitation links (issue 14, ADR 0013).
                links_are_kept_per_organization_and_found_by_hash => direct links::links_are_kept_per_organization_and_found_by_hash,
                named_links => same_as_memory links::named_links,
                link_use_cap_holds_under_concurrent_joins => direct links::link_use_cap_holds_under_concurrent_joins,
                // Issue 15: outbox claims.
                outbox_claims_hide_what_they_take => direct transactions::outbox_claims_hide_what_they_take,
            );
        }
    };
    (@tests $($test:ident => $how:ident $($path:ident)::+,)*) => {
        $(
            #[test]
            fn $test() {
                if !ready() {
                    return;
                }
                $crate::store_conformance!(@run $how $crate::testing::$($path)::+);
            }
        )*
    };
    (@run same_as_memory $f:path) => {
        $crate::testing::harness::same_as_memory(&make, $f)
    };
    (@run direct $f:path) => {
        $f(&make)
    };
}
