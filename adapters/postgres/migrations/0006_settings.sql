-- enlist Postgres schema, version 6: per-invitation settings (issue 14).
--
-- The per-invitation lifetime, redirect URL and metadata live in the
-- invitation's JSON body, as its other fields do. What needs an index is
-- the policy's `max_open_invitations_per_inviter`: the open invitations
-- one member issued, counted for every recipient of a batch
-- (`Transaction::open_invitations_by_inviter`). The inviter gets its own
-- column, written with the body: an index on `body->>'inviter'` would make
-- every write of a body holding `\u0000` in any text (which `json` keeps
-- and `->>` refuses to decode) fail.
--
-- Rows written before this version get the inviter from their body's text
-- (a top-level `"inviter"` comes before any nested object that could hold
-- a key of that name, and an escaped quote never matches), so no body is
-- decoded.

ALTER TABLE invitations ADD COLUMN IF NOT EXISTS inviter_id text COLLATE "C";

UPDATE invitations
SET inviter_id = substring(body::text FROM '"inviter":(?:null|"([^"\\]*)")')
WHERE inviter_id IS NULL AND status IN ('staged', 'pending');

CREATE INDEX IF NOT EXISTS invitations_open_by_inviter ON invitations
    (org_id, inviter_id, expires_s, expires_ns)
    WHERE status IN ('staged', 'pending');
