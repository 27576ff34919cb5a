-- enlist SQLite schema, version 6: per-invitation settings (issue 14).
--
-- The per-invitation lifetime, redirect URL and metadata live in the
-- invitation's JSON body, as its other fields do: no new column. What
-- needs an index is the policy's `max_open_invitations_per_inviter`: the
-- open invitations one member issued, counted for every recipient of a
-- batch (`Transaction::open_invitations_by_inviter`). The index is on the
-- inviter as the body holds it, over open invitations only, with the
-- expiry last so the count reads only this inviter's open rows and skips
-- the expired ones within them. The store's query names it (`INDEXED BY`),
-- so SQLite fails the statement rather than fall back to a scan.

CREATE INDEX IF NOT EXISTS invitations_open_by_inviter ON invitations
    (org_id, json_extract(body, '$.inviter'), expires_s, expires_ns)
    WHERE status IN ('staged', 'pending');
