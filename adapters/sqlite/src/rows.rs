//! Rows of one table written together: one multi-row `INSERT` for many
//! rows instead of one statement each (issue 15).
//!
//! A statement that inserts one row opens a cursor on the table and on
//! each of its indexes, descends every b-tree from its root, and closes
//! them all when it ends. One that inserts many rows opens them once and
//! keeps them where the last row went: an index whose new entries come at
//! its end (the feed's positions, an organization's event numbers, the
//! time-ordered ids) takes each next entry without descending again
//! (SQLite's `cursorOnLastPage` skip). Callgrind, the layout bench's rows
//! of 5,000 invitations: their events and queued emails written 100 at a
//! time, SQLite's instructions -6 %; see docs/src/performance.md.
//!
//! The rows go in `INSERT OR FAIL` statements of [`CHUNKS`] rows (100 rows: 64 + 16 + 16 +
//! 4), so a connection keeps four statements per table, whatever the
//! number of rows.

use crate::store_err;
use enlist::{StoreError, StoreResult};
use rusqlite::{Connection, ToSql};

/// The sizes of the statements, largest first; the last is 1, so every
/// count of rows is written.
pub(crate) const CHUNKS: [usize; 4] = [64, 16, 4, 1];

/// The text of the statements of one table: `head VALUES tuple, tuple, ...
/// tail` for each size of [`CHUNKS`].
pub(crate) struct RowsSql {
    sql: [String; 4],
    /// Values per row (the `?` of `tuple`).
    width: usize,
}

impl RowsSql {
    /// The statements `head VALUES <tuple> x n tail`. `tuple` is one row's
    /// values with `?` for each bound one (numbered in order), e.g.
    /// `"(?, ?, 'queued')"`.
    pub(crate) fn new(head: &str, tuple: &str, tail: &str) -> Self {
        debug_assert!(head.starts_with("INSERT OR FAIL "), "see `insert`");
        let width = tuple.matches('?').count();
        let sql = CHUNKS.map(|n| {
            let mut s = String::with_capacity(head.len() + tail.len() + n * (tuple.len() + 1) + 8);
            s.push_str(head);
            s.push_str(" VALUES ");
            for i in 0..n {
                if i > 0 {
                    s.push(',');
                }
                s.push_str(tuple);
            }
            s.push(' ');
            s.push_str(tail);
            s
        });
        Self { sql, width }
    }

    /// Inserts the rows whose values are `values` (`width` a row, in
    /// order). On an error, the rows before the one that failed are
    /// written and their number comes with the error: `head` begins with
    /// `INSERT OR FAIL`, so that a row refused leaves the rows before it
    /// (and nothing of its own: SQLite checks a row's constraints before
    /// it writes any of it). With `OR ABORT` (the default) a statement of
    /// many rows could leave none of them, which SQLite can only do by
    /// copying every page the statement changes into a statement journal
    /// first: 3.5 % of issuing's instructions when it did.
    pub(crate) fn insert(
        &self,
        conn: &Connection,
        values: &[&dyn ToSql],
    ) -> Result<(), (usize, StoreError)> {
        debug_assert_eq!(values.len() % self.width, 0, "whole rows");
        let rows = values.len() / self.width;
        let mut done = 0;
        for (sql, &n) in self.sql.iter().zip(CHUNKS.iter()) {
            while rows - done >= n {
                let chunk = &values[done * self.width..(done + n) * self.width];
                conn.prepare_cached(sql)
                    .and_then(|mut s| s.execute(chunk))
                    .map_err(|e| {
                        // The rows of this statement before the refused one.
                        let before = usize::try_from(conn.changes()).unwrap_or(0).min(n - 1);
                        (done + before, store_err(e))
                    })?;
                done += n;
            }
        }
        Ok(())
    }
}

/// `insert`'s error without the count, for callers that drop every row
/// on an error.
pub(crate) fn no_count<T>(r: Result<T, (usize, StoreError)>) -> StoreResult<T> {
    r.map_err(|(_, e)| e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Connection {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT NOT NULL UNIQUE, c TEXT)")
            .unwrap();
        c
    }

    #[test]
    fn every_count_of_rows_is_written_in_order() {
        let rows = RowsSql::new("INSERT OR FAIL INTO t (a, b, c)", "(?, ?, 'x')", "");
        for n in [0usize, 1, 3, 4, 5, 16, 21, 63, 64, 65, 100, 151] {
            let c = table();
            let keys: Vec<i64> = (0..n as i64).collect();
            let names: Vec<String> = (0..n).map(|i| format!("n{i}")).collect();
            let mut values: Vec<&dyn ToSql> = Vec::new();
            for i in 0..n {
                values.push(&keys[i]);
                values.push(&names[i]);
            }
            rows.insert(&c, &values).unwrap();
            let got: Vec<(i64, String, String)> = c
                .prepare("SELECT a, b, c FROM t ORDER BY a")
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let want: Vec<(i64, String, String)> = (0..n)
                .map(|i| (i as i64, format!("n{i}"), "x".to_owned()))
                .collect();
            assert_eq!(got, want, "{n} rows");
        }
    }

    #[test]
    fn a_failed_statement_reports_the_rows_written_before_it() {
        let rows = RowsSql::new("INSERT OR FAIL INTO t (a, b)", "(?, ?)", "");
        let c = table();
        // 70 rows: a statement of 64, then 4, then 1 and 1. Row 66 repeats
        // row 0's name, so the statement of 4 (rows 64-67) fails at its
        // third row, after writing two.
        let keys: Vec<i64> = (0..70).collect();
        let names: Vec<String> = (0..70)
            .map(|i| {
                if i == 66 {
                    "n0".into()
                } else {
                    format!("n{i}")
                }
            })
            .collect();
        let mut values: Vec<&dyn ToSql> = Vec::new();
        for i in 0..70 {
            values.push(&keys[i]);
            values.push(&names[i]);
        }
        let (done, e) = rows.insert(&c, &values).unwrap_err();
        assert_eq!(done, 66);
        assert!(matches!(e, StoreError::Unique(_)), "{e:?}");
        let n: i64 = c
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 66, "the rows before the refused one, and none after");
        let last: String = c
            .query_row("SELECT b FROM t ORDER BY a DESC LIMIT 1", [], |r| r.get(0))
            .unwrap();
        assert_eq!(last, "n65");
    }

    #[test]
    fn a_tail_follows_every_statement() {
        let rows = RowsSql::new(
            "INSERT OR FAIL INTO t (a, b, c)",
            "(?, ?, ?)",
            "ON CONFLICT (b) DO UPDATE SET c = excluded.c",
        );
        let c = table();
        c.execute("INSERT INTO t (a, b, c) VALUES (100, 'n1', 'old')", [])
            .unwrap();
        let (k, n, v) = ([1i64, 2], ["n1", "n2"], ["new1", "new2"]);
        let values: Vec<&dyn ToSql> = vec![&k[0], &n[0], &v[0], &k[1], &n[1], &v[1]];
        rows.insert(&c, &values).unwrap();
        let got: Vec<(i64, String)> = c
            .prepare("SELECT a, c FROM t ORDER BY b")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(got, vec![(100, "new1".into()), (2, "new2".into())]);
        // A row that conflicts with one of the same statement replaces it
        // (the outbox writes a message put twice this way).
        let (k, n, v) = ([3i64, 4, 5], ["n3", "n4", "n3"], ["a", "b", "c"]);
        let values: Vec<&dyn ToSql> = vec![
            &k[0], &n[0], &v[0], &k[1], &n[1], &v[1], &k[2], &n[2], &v[2],
        ];
        rows.insert(&c, &values).unwrap();
        let got: Vec<(i64, String)> = c
            .prepare("SELECT a, c FROM t WHERE b IN ('n3', 'n4') ORDER BY b")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(got, vec![(3, "c".into()), (4, "b".into())]);
    }
}
