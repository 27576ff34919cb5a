-- enlist SQLite schema, version 26: each organization's earliest due time
-- instead of the two indexes across organizations (issue 15, ADR 0017).
--
-- The expiry sweep and the outbox workers, when they work across
-- organizations, read the pending invitations by expiry and the queued
-- messages by next attempt in `(time, org_id, invitation_id)` and
-- `(time, message_id)` order. Two indexes kept every such row in that
-- order (`invitations_due_all`, `outbox_due_all`): an entry more in each
-- for every invitation issued and every email queued, which the layout
-- bench measured at 6 to 7 % of issuing's rows. Every organization's own
-- rows are in those orders already (`invitations_due`, `outbox_due`), so
-- the store now keeps one row per organization and kind with its
-- earliest time (`due_heads`), and a read across organizations merges the
-- ranges of the organizations whose head is due, in head order, as
-- MemoryStore merges its per-organization sets.
--
-- `kind` 0: the earliest expiry of the organization's pending invitations
-- with an expiry; 1: the earliest next attempt of its queued messages. An
-- organization with none has no row. The store writes the rows itself,
-- once per transaction at commit for each organization whose invitations
-- or messages it wrote (and only when the time changed), as it writes
-- the counters since version 14: rows written to `invitations` or
-- `outbox` by anything else leave them wrong until
-- `SqliteStore::repair_counts` (which `verify_counts` checks) sets them.
CREATE TABLE due_heads (
    kind    INTEGER NOT NULL CHECK (kind IN (0, 1)),
    org     INTEGER NOT NULL,           -- org_keys.org
    org_id  TEXT NOT NULL,
    at_s    INTEGER NOT NULL,
    at_ns   INTEGER NOT NULL,
    PRIMARY KEY (kind, org)
) WITHOUT ROWID;
CREATE INDEX due_heads_at ON due_heads (kind, at_s, at_ns, org_id);

-- The heads of the rows already stored are written by the store after
-- this file, by the statement `verify_counts` checks them with
-- (`heads_from_rows!` in counts.rs): one probe of each organization's own
-- index per kind.

DROP INDEX invitations_due_all;
DROP INDEX outbox_due_all;
