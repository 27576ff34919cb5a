-- enlist SQLite schema, version 19: invitations indexed by a number per
-- organization (issue 15; ADR 0017's integer keys, first for the table
-- every command writes).
--
-- Every index of `invitations` that serves one organization began with
-- `org_id`, a 36-character text: each entry carried it, and SQLite
-- compared it in full (equal for every entry of the organization) at
-- every step of every descent before reaching the column that decides.
-- `org_keys` gives each organization a number, never reused
-- (AUTOINCREMENT), the first time an invitation of it is written; the
-- column `org` holds it and the per-organization indexes begin with it.
-- `org_id` stays in the row: the indexes across organizations
-- (`invitations_due_all`, `invitations_person_key`,
-- `invitations_person_account`) order ties by it, as every store does,
-- and the rows read back say which organization they belong to.
CREATE TABLE org_keys (
    org     INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id  TEXT NOT NULL UNIQUE
);
INSERT INTO org_keys (org_id) SELECT DISTINCT org_id FROM invitations ORDER BY org_id;
ALTER TABLE invitations ADD COLUMN org INTEGER;
UPDATE invitations SET org = (SELECT k.org FROM org_keys k WHERE k.org_id = invitations.org_id);

DROP INDEX invitations_id;
CREATE UNIQUE INDEX invitations_id ON invitations (org, invitation_id);
DROP INDEX invitations_secret;
CREATE UNIQUE INDEX invitations_secret ON invitations (org, secret_hash)
    WHERE secret_hash IS NOT NULL;
DROP INDEX invitations_open_recipient;
CREATE UNIQUE INDEX invitations_open_recipient ON invitations (org, recipient_key)
    WHERE status IN ('staged', 'pending');
DROP INDEX invitations_list;
CREATE INDEX invitations_list ON invitations
    (org, status, created_s, created_ns, invitation_id);
DROP INDEX invitations_batch;
CREATE INDEX invitations_batch ON invitations
    (org, batch_id, created_s, created_ns, invitation_id);
DROP INDEX invitations_due;
CREATE INDEX invitations_due ON invitations (org, expires_s, expires_ns, invitation_id)
    WHERE status = 'pending' AND expires_s IS NOT NULL;
DROP INDEX invitations_open_by_inviter;
CREATE INDEX invitations_open_by_inviter ON invitations
    (org, inviter, expires_s, expires_ns)
    WHERE status IN ('staged', 'pending');
DROP INDEX invitations_people_name;
CREATE INDEX invitations_people_name ON invitations
    (org, status, name_key, invitation_id)
    WHERE status = 'staged' OR status = 'pending' OR status = 'expired';
DROP INDEX invitations_people_role;
CREATE INDEX invitations_people_role ON invitations
    (org, status, role, name_key, invitation_id)
    WHERE status = 'staged' OR status = 'pending' OR status = 'expired';
DROP INDEX invitations_people_id;
CREATE INDEX invitations_people_id ON invitations
    (org, status, invitation_id)
    WHERE status = 'staged' OR status = 'pending' OR status = 'expired';
DROP INDEX invitations_expired_recipient;
CREATE INDEX invitations_expired_recipient ON invitations
    (org, recipient_key, invitation_id)
    WHERE status = 'expired';
