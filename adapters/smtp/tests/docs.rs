//! The book's outbox chapter shows the README's example, which only this
//! crate can compile (core compiles the chapter without enlist-smtp): the
//! two copies must not drift.
#![allow(clippy::unwrap_used)]

use std::path::Path;

#[test]
fn the_book_shows_the_readme_example_as_compiled() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    let book = std::fs::read_to_string(dir.join("../../docs/src/outbox.md")).unwrap();
    let start = readme.find("```rust,no_run\n").unwrap() + "```rust,no_run\n".len();
    let example = &readme[start..start + readme[start..].find("```").unwrap()];
    assert!(example.contains("SmtpMailer::new"));
    assert!(
        book.contains(&format!(
            "```rust,ignore\n// The enlist-smtp README's example, compiled as that crate's doctest.\n{example}```"
        )),
        "docs/src/outbox.md no longer shows adapters/smtp/README.md's example:\n{example}"
    );
}
