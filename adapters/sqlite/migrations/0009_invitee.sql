-- enlist SQLite schema, version 6: the invitee's inbox (issue 14).
--
-- An invitation may be bound to an existing account of the host
-- (`user_ref`, also in `body`): only that account may accept it. The
-- inbox (`person_invitations`) finds one person's pending invitations
-- across organizations, newest first, through two partial indexes: by
-- recipient key (their verified email) and by bound account. Rows
-- written before this version are bound to no account (NULL).

ALTER TABLE invitations ADD COLUMN user_ref TEXT;

CREATE INDEX invitations_person_key ON invitations
    (recipient_key, created_s, created_ns, org_id, invitation_id)
    WHERE status = 'pending';
CREATE INDEX invitations_person_account ON invitations
    (user_ref, created_s, created_ns, org_id, invitation_id)
    WHERE status = 'pending' AND user_ref IS NOT NULL;
