//! Scenario tests, one module per seed help page: each test quotes the step
//! of the page it checks and drives the public API through it.

pub mod common;

mod caps;
mod hooks;
mod invitation_links;
mod invitation_settings;
mod invitee;
mod organizations;
mod seed_000_directory_assistant;
mod seed_000_hr_assistant;
mod seed_000_reports;
mod seed_001_003_people_view;
mod seed_001_portal_members;
mod seed_002_collaboration;
mod seed_003_paste_box;
mod seed_004_bulk_actions;
mod seed_004_employee_admin;
mod seed_dry_run_and_bulk_update;
mod verified_domains;
