-- enlist SQLite schema, version 14: counts kept by the store, not by
-- triggers (ADR 0017, issue 15).
--
-- The `counts` table stays as it is, and so do its rows: the triggers kept
-- them exact up to this version, so a file written before keeps exact
-- counts. From this version on the store's transaction keeps the changes to
-- the counters of every row it writes to `members`, `member_groups` and
-- `invitations`, and writes each changed counter once, at commit. The
-- triggers made every write of those tables a statement that writes more
-- than one row, for which SQLite keeps a statement journal (a copy of each
-- page the statement touches): 50,000 instructions per invitation.
--
-- Rows written to these tables by anything but the store (the sqlite3
-- shell, a script) leave the counters wrong: `SqliteStore::verify_counts`
-- finds the differences and `SqliteStore::repair_counts` rewrites them.
DROP TRIGGER members_count_insert;
DROP TRIGGER members_count_delete;
DROP TRIGGER members_count_update;
DROP TRIGGER member_groups_count_insert;
DROP TRIGGER member_groups_count_delete;
DROP TRIGGER invitations_count_insert;
DROP TRIGGER invitations_count_delete;
DROP TRIGGER invitations_count_update;
