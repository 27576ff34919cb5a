//! Rules of the public API that the compiler does not check, read from the
//! sources so that a new type cannot forget them.
//!
//! `#[non_exhaustive]`: every public enum the engine *returns* (statuses,
//! kinds, outcomes, reasons, events, errors) may grow a variant in a minor
//! release, so it is `#[non_exhaustive]` and a caller's `match` keeps a
//! `_` arm. Two kinds stay exhaustive, listed in `EXHAUSTIVE` below: the
//! enums a caller only *builds* to ask for something (sort orders, the
//! shape of a recipient list), and the two outcomes that a binding
//! converts by hand: `SendOutcome` (Python reads it variant by variant;
//! Kotlin and Swift take core's enum as it is) and `EntryOutcome` (both
//! bindings: it borrows the input). There an exhaustive `match` makes a
//! new variant a compile error in the binding instead of a silent
//! fallback.

use std::fs;
use std::path::{Path, PathBuf};

/// Public enums that stay exhaustive (see the module docs for why).
const EXHAUSTIVE: &[&str] = &[
    // Inputs only.
    "GroupSort",
    "MemberSort",
    "Recipients",
    // What the engine hands a store to find an invitation by: a new way
    // must be a compile error in every store, not a silent fallback.
    "TokenKey",
    // Converted by hand in a binding (Python; EntryOutcome in both).
    "SendOutcome",
    "EntryOutcome",
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            // The conformance suite is test code, not API.
            if path.file_name().is_some_and(|n| n != "testing") {
                sources(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `pub enum` of core's sources: (name, file, non_exhaustive?).
fn public_enums() -> Vec<(String, PathBuf, bool)> {
    let mut files = Vec::new();
    sources(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut found = Vec::new();
    for file in files {
        let text = fs::read_to_string(&file).expect("read a source file");
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let Some(rest) = line.strip_prefix("pub enum ") else {
                continue;
            };
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            // The docs and attributes right above the enum: back to the
            // blank line or the end of the item before.
            let marked = lines[..i]
                .iter()
                .rev()
                .take_while(|l| {
                    let l = l.trim_end();
                    !(l.is_empty() || l.ends_with('}') || l.ends_with(';'))
                })
                .any(|l| l.trim() == "#[non_exhaustive]");
            found.push((name, file.clone(), marked));
        }
    }
    found
}

#[test]
fn every_returned_enum_is_non_exhaustive() {
    let enums = public_enums();
    assert!(enums.len() > 20, "the scan found too few enums: {enums:?}");
    let missing: Vec<String> = enums
        .iter()
        .filter(|(name, _, marked)| !marked && !EXHAUSTIVE.contains(&name.as_str()))
        .map(|(name, file, _)| format!("{name} ({})", file.display()))
        .collect();
    assert!(
        missing.is_empty(),
        "public enums that a command can return must be #[non_exhaustive] \
         (or be listed in EXHAUSTIVE, with the reason): {missing:?}"
    );
}

#[test]
fn the_exhaustive_enums_exist_and_stay_exhaustive() {
    let enums = public_enums();
    for name in EXHAUSTIVE {
        let found = enums.iter().find(|(n, _, _)| n == name);
        let Some((_, file, marked)) = found else {
            panic!("EXHAUSTIVE names {name}, which is not a public enum any more");
        };
        assert!(
            !marked,
            "{name} ({}) is listed in EXHAUSTIVE: keep it exhaustive, or take it off the list",
            file.display()
        );
    }
}
