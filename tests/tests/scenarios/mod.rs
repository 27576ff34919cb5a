//! Scenario tests, one module per seed help page: each test quotes the step
//! of the page it checks and drives the public API through it.

pub mod common;

mod seed_000_hr_assistant;
mod seed_001_003_people_view;
mod seed_001_portal_members;
mod seed_002_collaboration;
mod seed_003_paste_box;
mod seed_004_employee_admin;
