-- enlist SQLite schema, version 15: invitations leave the `people` table
-- (issue 15, ADR 0017, its first step).
--
-- The people view reads staged, pending and expired invitations from
-- `invitations` itself: each sort walks an index of `invitations` in the
-- sort's order, one walk per stored status, and the walks are merged with
-- the walk of `people` (now members only) by the same keys and ties ('i.'
-- || invitation id) as before (see `people.rs`). An invitation of the view
-- costs three index entries of `invitations` below instead of a `people`
-- row, its body and seven index entries. Search terms and groups stay in
-- `people_terms` and `people_groups`.
--
-- `name_key` is the case-folded name (or contact key) of an invitation of
-- the view (NULL once it is closed): the store writes it with the row, and
-- for the rows already stored in this migration's transaction (SQL cannot
-- case-fold as Rust does).
ALTER TABLE invitations ADD COLUMN name_key TEXT;

-- By name, and by label (one stored status at a time).
CREATE INDEX invitations_people_name ON invitations
    (org_id, status, name_key, invitation_id)
    WHERE status = 'staged' OR status = 'pending' OR status = 'expired';
-- By role, then name.
CREATE INDEX invitations_people_role ON invitations
    (org_id, status, role, name_key, invitation_id)
    WHERE status = 'staged' OR status = 'pending' OR status = 'expired';
-- By last activity: an invitation was never active, so all tie and go by
-- their id.
CREATE INDEX invitations_people_id ON invitations
    (org_id, status, invitation_id)
    WHERE status = 'staged' OR status = 'pending' OR status = 'expired';
-- By email: staged and pending ones walk `invitations_open_recipient`;
-- expired ones this.
CREATE INDEX invitations_expired_recipient ON invitations
    (org_id, recipient_key, invitation_id)
    WHERE status = 'expired';
-- By date: `invitations_list` (org_id, status, created_s, created_ns,
-- invitation_id), as it is.

DELETE FROM people WHERE substr(pid, 1, 2) = 'i.';
