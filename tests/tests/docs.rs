//! The book and the README against the code: what they say is checked
//! here, so that it cannot drift.
//!
//! - no feature row calls a crate of the workspace "planned";
//! - every ADR is in the ADR index and in `SUMMARY.md`, and every chapter
//!   in `SUMMARY.md`;
//! - the lifecycle diagrams are the code's transition tables
//!   (`InvitationStatus::LIFECYCLE`, `MemberStatus::LIFECYCLE`);
//! - the architecture diagram names every crate of the workspace.
//!
//! On drift, each test says what to change (and prints the corrected
//! diagram).

use enlist::{InvitationStatus, MemberStatus};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_owned()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The workspace's members, as `(directory, package name)`.
fn members() -> Vec<(String, String)> {
    let manifest = read("Cargo.toml");
    let list = manifest
        .lines()
        .find_map(|l| l.trim().strip_prefix("members = ["))
        .expect("workspace members");
    list.trim_end_matches(']')
        .split(',')
        .map(|dir| dir.trim().trim_matches('"').to_owned())
        .filter(|dir| !dir.is_empty())
        .map(|dir| {
            let member = read(&format!("{dir}/Cargo.toml"));
            let package = member
                .lines()
                .find_map(|l| l.strip_prefix("name = "))
                .unwrap_or_else(|| panic!("{dir}: no package name"))
                .trim_matches('"')
                .to_owned();
            (dir, package)
        })
        .collect()
}

/// The names a page may call a crate of the workspace by: its package name,
/// its directory (`adapters/sqlite`) and the directory's last part when it
/// is not a plain word (`bindings-python`).
fn workspace_crates() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (dir, package) in members() {
        if let Some(last) = dir.rsplit('/').next().filter(|l| l.contains('-')) {
            names.insert(last.to_owned());
        }
        names.insert(dir);
        names.insert(package);
    }
    names
}

/// The table rows of `text` whose status cell says "planned" and that name
/// (in backticks) a crate of `crates`, as `(line number, row)`.
fn planned_rows_naming(text: &str, crates: &BTreeSet<String>) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if !line.starts_with('|') {
            continue;
        }
        let planned = line
            .split('|')
            .any(|cell| cell.trim().to_lowercase().starts_with("planned"));
        if !planned {
            continue;
        }
        let named = line
            .split('`')
            .skip(1)
            .step_by(2)
            .any(|code| crates.contains(code));
        if named {
            found.push((n + 1, line.to_owned()));
        }
    }
    found
}

#[test]
fn no_feature_row_calls_an_existing_crate_planned() {
    let crates = workspace_crates();
    assert!(
        crates.contains("enlist-postgres") && crates.contains("bindings-python"),
        "{crates:?}"
    );
    // The check itself: a row as the introduction had it is caught.
    let old = "| Postgres store (shardable by organization) | `enlist-postgres` | planned |";
    assert_eq!(planned_rows_naming(old, &crates).len(), 1);
    assert!(planned_rows_naming("| MySQL store | `enlist-mysql` | planned |", &crates).is_empty());

    let mut wrong = Vec::new();
    let mut pages = vec![PathBuf::from("README.md")];
    pages.extend(markdown_under("docs/src"));
    for page in &pages {
        let text = read(&page.to_string_lossy());
        for (line, row) in planned_rows_naming(&text, &crates) {
            wrong.push(format!("{}:{line}: {row}", page.display()));
        }
    }
    assert!(
        wrong.is_empty(),
        "these rows call a crate that exists \"planned\"; say what works today:\n{}",
        wrong.join("\n")
    );
}

/// Every `.md` file under `dir` (relative to the workspace root).
fn markdown_under(dir: &str) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(root.join(dir)).expect("docs dir") {
            let path = dir.join(entry.expect("entry").file_name());
            if root.join(&path).is_dir() {
                walk(root, &path, out);
            } else if path.extension().is_some_and(|e| e == "md") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&root(), Path::new(dir), &mut out);
    out.sort();
    out
}

#[test]
fn every_adr_is_indexed_and_every_chapter_is_in_the_summary() {
    let summary = read("docs/src/SUMMARY.md");
    let index = read("docs/src/adr/README.md");
    let mut missing = Vec::new();
    let chapters = markdown_under("docs/src");
    assert!(chapters.len() > 20, "{chapters:?}");
    for path in &chapters {
        let rel = path
            .strip_prefix("docs/src")
            .expect("under docs/src")
            .to_string_lossy()
            .replace('\\', "/");
        if rel == "SUMMARY.md" {
            continue;
        }
        if !summary.contains(&format!("]({rel})")) {
            missing.push(format!("docs/src/SUMMARY.md lacks {rel}"));
        }
        if let Some(adr) = rel.strip_prefix("adr/").filter(|f| *f != "README.md") {
            if !index.contains(&format!("]({adr})")) {
                missing.push(format!("docs/src/adr/README.md lacks {adr}"));
            }
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

/// The first mermaid block of `page` that contains `kind`.
fn mermaid_block(page: &str, kind: &str) -> String {
    let text = read(page);
    text.split("```mermaid\n")
        .skip(1)
        .filter_map(|rest| rest.split_once("```").map(|(block, _)| block))
        .find(|block| block.contains(kind))
        .unwrap_or_else(|| panic!("{page}: no ```mermaid block with {kind}"))
        .to_owned()
}

fn check_diagram(page: &str, what: &str, generated: String) {
    let in_book = mermaid_block(page, "stateDiagram");
    assert!(
        in_book == generated,
        "the {what} diagram in {page} is not the code's transition table; replace the \
         block with:\n\n```mermaid\n{generated}```\n"
    );
}

#[test]
fn the_invitation_lifecycle_diagram_is_the_code_table() {
    check_diagram(
        "docs/src/concepts/invitations.md",
        "invitation lifecycle",
        InvitationStatus::LIFECYCLE.mermaid(),
    );
}

#[test]
fn the_member_lifecycle_diagram_is_the_code_table() {
    check_diagram(
        "docs/src/concepts/members.md",
        "member lifecycle",
        MemberStatus::LIFECYCLE.mermaid(),
    );
}

#[test]
fn the_architecture_diagram_names_every_crate() {
    let diagram = mermaid_block("docs/src/architecture.md", "flowchart");
    let missing: Vec<String> = members()
        .into_iter()
        .map(|(_, package)| package)
        .filter(|package| !diagram.contains(package.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/src/architecture.md: the diagram lacks {missing:?}"
    );
}
