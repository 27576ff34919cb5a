-- enlist SQLite schema, version 13: a cheaper write path (issue 15).
--
-- 1. The inviter of an invitation is a column. The count of a member's open
--    invitations (`max_open_invitations_per_inviter`, migration 0006) was
--    served by an index on `json_extract(body, '$.inviter')`: SQLite parsed
--    the whole JSON body of every invitation inserted, and of every one
--    whose status changed, to find that index entry (16,000 instructions a
--    row). The store writes `inviter` from the same value as the body, as
--    every other column.
ALTER TABLE invitations ADD COLUMN inviter TEXT;
UPDATE invitations SET inviter = json_extract(body, '$.inviter');
DROP INDEX invitations_open_by_inviter;
CREATE INDEX invitations_open_by_inviter ON invitations
    (org_id, inviter, expires_s, expires_ns)
    WHERE status IN ('staged', 'pending');

-- 2. `status IN ('a', 'b', 'c')` (three or more constants) made SQLite
--    build, fill and drop a temporary b-tree of the list for every INSERT
--    and UPDATE of members, invitations, outbox, people and
--    membership_requests. The store rewrites these CHECK constraints as
--    `status = 'a' OR status = 'b' OR ...`, which allows exactly the same
--    values, in the tables' CREATE statements after this file has run
--    (`checks.rs`: SQLite's documented procedure for changes that alter no
--    stored row).
