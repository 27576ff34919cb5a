//! Migration 0013 (its second part): the status CHECK constraints as comparisons joined by
//! `OR`.
//!
//! SQLite evaluates `status IN ('a', 'b', 'c')`, a constant list of more
//! than two values, by building a temporary b-tree of the list, once for
//! every run of a statement that checks it: each `INSERT` and `UPDATE` of
//! `members`, `invitations`, `outbox`, `people` and `membership_requests`
//! opened a throwaway database, filled it and closed it again (three per
//! invitation issued, six per accept, about 13,000 instructions each).
//! `status = 'a' OR status = 'b' OR status = 'c'` accepts exactly the same
//! values and is compiled into plain comparisons.
//!
//! A CHECK constraint's text does not change anything stored, so SQLite's
//! documented procedure for such changes applies
//! (<https://www.sqlite.org/lang_altertable.html#otheralter>): the tables'
//! `CREATE` statements are rewritten in `sqlite_schema` under
//! `writable_schema`, in the migration's transaction, and the schema
//! version is bumped so that every connection (this one too) reads the new
//! schema before its next statement. No row is read or copied, whatever
//! the size of the file.

use crate::store_err;
use enlist::StoreResult;
use rusqlite::Connection;

/// Each table's CHECK as the earlier migrations wrote it (`old`, verbatim),
/// with its column and its values.
pub(crate) struct Check {
    /// The table.
    pub(crate) table: &'static str,
    /// The constraint's text in the table's `CREATE` statement.
    pub(crate) old: &'static str,
    /// The column it checks.
    pub(crate) column: &'static str,
    /// The values it allows.
    pub(crate) values: &'static [&'static str],
}

impl Check {
    /// The constraint as migration 0013 writes it.
    pub(crate) fn new_text(&self) -> String {
        let tests: Vec<String> = self
            .values
            .iter()
            .map(|v| format!("{} = '{v}'", self.column))
            .collect();
        format!("CHECK ({})", tests.join(" OR "))
    }
}

/// The constraints with a list of more than two values (SQLite compiles
/// `IN` with one or two constants into comparisons already).
pub(crate) const CHECKS: &[Check] = &[
    Check {
        table: "members",
        old: "CHECK (status IN ('active', 'inactive', 'removed'))",
        column: "status",
        values: &["active", "inactive", "removed"],
    },
    Check {
        table: "invitations",
        old: "CHECK (status IN\n                       \
              ('staged', 'pending', 'accepted', 'declined', 'revoked', 'expired'))",
        column: "status",
        values: &[
            "staged", "pending", "accepted", "declined", "revoked", "expired",
        ],
    },
    Check {
        table: "outbox",
        old: "CHECK (status IN ('queued', 'sent', 'failed', 'superseded'))",
        column: "status",
        values: &["queued", "sent", "failed", "superseded"],
    },
    Check {
        table: "people",
        old: "CHECK (status IN\n                      \
              ('active', 'inactive', 'removed', 'staged', 'pending', 'expired'))",
        column: "status",
        values: &[
            "active", "inactive", "removed", "staged", "pending", "expired",
        ],
    },
    Check {
        table: "membership_requests",
        old: "CHECK (status IN ('pending', 'approved', 'declined'))",
        column: "status",
        values: &["pending", "approved", "declined"],
    },
];

/// Rewrites the constraints, `old` to new text (`undo`: back, which is
/// what a test does to make a version-12 file). A table whose statement
/// does not hold the text (changed by hand) keeps what it has: its check
/// still holds, only slower. Runs inside the caller's transaction.
pub(crate) fn rewrite(conn: &Connection, undo: bool) -> StoreResult<()> {
    with_writable_schema(conn, || {
        for check in CHECKS {
            let new = check.new_text();
            let (from, to) = if undo {
                (new.as_str(), check.old)
            } else {
                (check.old, new.as_str())
            };
            conn.execute(
                "UPDATE sqlite_schema SET sql = replace(sql, ?1, ?2)
                 WHERE type = 'table' AND name = ?3 AND instr(sql, ?1) > 0",
                rusqlite::params![from, to, check.table],
            )
            .map_err(store_err)?;
        }
        Ok(())
    })
}

/// Runs `edit` (writes to `sqlite_schema`) with `writable_schema` on, then
/// bumps the schema version, so that other connections reload the schema
/// when they see it, and turns writing off with `RESET`, which makes this
/// connection reload it now (also after a failed edit).
fn with_writable_schema(
    conn: &Connection,
    edit: impl FnOnce() -> StoreResult<()>,
) -> StoreResult<()> {
    let version: i64 = conn
        .query_row("PRAGMA schema_version", [], |r| r.get(0))
        .map_err(store_err)?;
    conn.execute_batch("PRAGMA writable_schema = ON")
        .map_err(store_err)?;
    let result = edit();
    let bumped = conn.execute_batch(&format!(
        "PRAGMA schema_version = {};\nPRAGMA writable_schema = RESET;",
        version + 1
    ));
    result?;
    bumped.map_err(store_err)
}

/// The column definition `ALTER TABLE ... ADD COLUMN org INTEGER` leaves
/// at the end of a table's `CREATE` statement (migrations 0019 to 0021).
const ORG_COLUMN: &str = ", org INTEGER)";

/// Migrations 0019 to 0021 (their second part): the organization's number
/// is required (`NOT NULL`) in each of `tables`, once every row holds one.
/// The per-organization uniqueness rules (one open invitation per
/// recipient, one live member per contact key, one id, one secret) are
/// unique indexes on `(org, ...)`, and SQLite takes two `NULL`s for
/// different values: a row written without its number would slip past
/// them. `ALTER TABLE` adds a `NOT NULL` column only with a default, which
/// here would be a wrong number, so the constraint is added to the
/// column's text by the documented procedure as in [`rewrite`] (no row is
/// read or copied; every row was checked first). A row without a number
/// fails the migration instead.
pub(crate) fn require_org_numbers(conn: &Connection, tables: &[&str]) -> StoreResult<()> {
    for table in tables {
        let missing: i64 = conn
            .query_row(
                &format!("SELECT COUNT(*) FROM {table} WHERE org IS NULL"),
                [],
                |r| r.get(0),
            )
            .map_err(store_err)?;
        if missing > 0 {
            return Err(enlist::StoreError::Corrupt(format!(
                "{missing} rows of {table} belong to no numbered organization"
            )));
        }
    }
    with_writable_schema(conn, || {
        for table in tables {
            let changed = conn
                .execute(
                    "UPDATE sqlite_schema
                     SET sql = substr(sql, 1, length(sql) - length(?1)) || ?2
                     WHERE type = 'table' AND name = ?3 AND substr(sql, -length(?1)) = ?1",
                    rusqlite::params![ORG_COLUMN, ", org INTEGER NOT NULL)", table],
                )
                .map_err(store_err)?;
            if changed != 1 {
                return Err(enlist::StoreError::Corrupt(format!(
                    "the schema of {table} does not end with its organization number"
                )));
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each `old` text is verbatim what its migration created, once.
    #[test]
    fn each_old_text_is_in_its_migration_once() {
        let sources = [
            include_str!("../migrations/0001_initial.sql"),
            include_str!("../migrations/0004_people.sql"),
            include_str!("../migrations/0010_domains.sql"),
        ]
        .concat();
        for check in CHECKS {
            assert_eq!(
                sources.matches(check.old).count(),
                1,
                "{}: {}",
                check.table,
                check.old
            );
            let quoted: Vec<String> = check.values.iter().map(|v| format!("'{v}'")).collect();
            assert!(
                check.old.ends_with(&format!("({}))", quoted.join(", "))),
                "{}: the values are the old list's",
                check.table
            );
        }
    }

    /// The number is required only once every row holds one, and only in
    /// a table whose statement ends as `ADD COLUMN org INTEGER` left it.
    #[test]
    fn numbers_are_required_once_every_row_has_one() {
        let conn = Connection::open_in_memory().expect("open");
        conn.execute_batch(
            "CREATE TABLE t (a TEXT);
             ALTER TABLE t ADD COLUMN org INTEGER;
             INSERT INTO t (a, org) VALUES ('x', 1), ('y', NULL);
             CREATE TABLE u (a TEXT, org INTEGER NOT NULL DEFAULT 0);",
        )
        .expect("schema");
        let refused = require_org_numbers(&conn, &["t"]).expect_err("a row without one");
        assert!(refused.to_string().contains("1 rows of t"), "{refused}");
        conn.execute_batch("UPDATE t SET org = 2 WHERE org IS NULL")
            .expect("numbered");
        require_org_numbers(&conn, &["t"]).expect("required");
        let sql: String = conn
            .query_row("SELECT sql FROM sqlite_schema WHERE name = 't'", [], |r| {
                r.get(0)
            })
            .expect("schema");
        assert!(sql.ends_with(", org INTEGER NOT NULL)"), "{sql}");
        let err = conn
            .execute("INSERT INTO t (a) VALUES ('z')", [])
            .expect_err("NOT NULL");
        assert!(err.to_string().contains("NOT NULL"), "{err}");
        assert!(
            require_org_numbers(&conn, &["u"]).is_err(),
            "not as 0019 left it"
        );
    }

    #[test]
    fn the_new_text_is_comparisons_joined_by_or() {
        assert_eq!(
            CHECKS[0].new_text(),
            "CHECK (status = 'active' OR status = 'inactive' OR status = 'removed')"
        );
    }
}
