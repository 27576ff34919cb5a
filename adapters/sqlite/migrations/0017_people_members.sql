-- enlist SQLite schema, version 17: members leave the `people` table too
-- (issue 15, ADR 0017, the member side of migration 0015).
--
-- The people view reads members from `members` itself, as it reads
-- invitations from `invitations` since version 15: each sort walks an
-- index of `members` in the sort's order, one walk per stored status
-- (active, inactive, removed), merged with the invitations' walks by the
-- same keys and ties ('m.' || member id). A member costs four index
-- entries of `members` below instead of a `people` row, its JSON body and
-- seven index entries. Search terms and groups stay in `people_terms` and
-- `people_groups`; `people` goes.
--
-- The columns are the view's keys the table lacked: `name_key` (the
-- case-folded name, or the contact key), `joined_s`/`joined_ns` (joined
-- at) and `last_s`/`last_ns` (last active; never: the smallest integer,
-- 0). The store writes them with the row, and for the rows already stored
-- in this migration's transaction (SQL cannot case-fold as Rust does).
ALTER TABLE members ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
ALTER TABLE members ADD COLUMN joined_s INTEGER NOT NULL DEFAULT 0;
ALTER TABLE members ADD COLUMN joined_ns INTEGER NOT NULL DEFAULT 0;
ALTER TABLE members ADD COLUMN last_s INTEGER NOT NULL DEFAULT 0;
ALTER TABLE members ADD COLUMN last_ns INTEGER NOT NULL DEFAULT 0;

-- By name, and by label (one stored status at a time).
CREATE INDEX members_people_name ON members (org_id, status, name_key, member_id);
-- By role, then name.
CREATE INDEX members_people_role ON members (org_id, status, role, name_key, member_id);
-- By date joined.
CREATE INDEX members_people_since ON members (org_id, status, joined_s, joined_ns, member_id);
-- By last activity.
CREATE INDEX members_people_last ON members (org_id, status, last_s, last_ns, member_id);
-- By email: `members_list` (org_id, status, contact_key, member_id), as it
-- is.

DROP TABLE people;
