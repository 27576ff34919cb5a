-- enlist SQLite schema, version 1.
--
-- Every entity is one row: real columns for what the engine looks up,
-- filters, sorts or counts, and `body`, the entity as JSON (serde), which is
-- what reads return. Columns are written from the same value as the body, in
-- the same statement, so they cannot drift from it.
--
-- Times that are sorted or compared are two integer columns: whole seconds
-- since 1970 (`*_s`) and nanoseconds (`*_ns`), exact for any chrono time.
-- Statuses are the snake_case names of the Rust enums.
--
-- Every index starts with org_id, except the three that serve lookups the
-- Store trait makes across organizations (an outbox message by id, and the
-- due invitations and due messages of every organization: background jobs),
-- and `outbox_queued`, which starts with an invitation's rid (the rid belongs
-- to one organization's invitation).

CREATE TABLE organizations (
    org_id  TEXT PRIMARY KEY NOT NULL,
    body    TEXT NOT NULL
);

CREATE TABLE groups (
    org_id    TEXT NOT NULL,
    group_id  TEXT NOT NULL,
    body      TEXT NOT NULL,            -- member_count stored as 0, derived on read
    PRIMARY KEY (org_id, group_id)
) WITHOUT ROWID;

CREATE TABLE members (
    rid           INTEGER PRIMARY KEY,
    org_id        TEXT NOT NULL,
    member_id     TEXT NOT NULL,
    contact_key   TEXT NOT NULL,        -- the normalized contact: sort key and uniqueness key
    user_ref      TEXT,
    status        TEXT NOT NULL CHECK (status IN ('active', 'inactive', 'removed')),
    role          TEXT NOT NULL,
    license_type  TEXT NOT NULL,
    kind          TEXT NOT NULL,
    body          TEXT NOT NULL
);
CREATE UNIQUE INDEX members_id ON members (org_id, member_id);
-- One live (non-removed) member per contact key and per user_ref.
CREATE UNIQUE INDEX members_live_contact ON members (org_id, contact_key)
    WHERE status <> 'removed';
CREATE UNIQUE INDEX members_live_user_ref ON members (org_id, user_ref)
    WHERE status <> 'removed' AND user_ref IS NOT NULL;
-- The member list (sorted by contact key, then id), per status and per role.
CREATE INDEX members_list ON members (org_id, status, contact_key, member_id);
CREATE INDEX members_by_role ON members (org_id, role, status, contact_key, member_id);

-- Group memberships, derived from members.body by the store: the member
-- list of a group and the group member counts.
CREATE TABLE member_groups (
    org_id       TEXT NOT NULL,
    group_id     TEXT NOT NULL,
    status       TEXT NOT NULL,
    contact_key  TEXT NOT NULL,
    member_id    TEXT NOT NULL,
    PRIMARY KEY (org_id, group_id, status, contact_key, member_id),
    FOREIGN KEY (org_id, member_id) REFERENCES members (org_id, member_id) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE TABLE invitations (
    rid            INTEGER PRIMARY KEY,
    org_id         TEXT NOT NULL,
    invitation_id  TEXT NOT NULL,
    batch_id       TEXT NOT NULL,
    recipient_key  TEXT NOT NULL,       -- the normalized recipient: uniqueness key
    status         TEXT NOT NULL CHECK (status IN
                       ('staged', 'pending', 'accepted', 'declined', 'revoked', 'expired')),
    role           TEXT NOT NULL,
    kind           TEXT NOT NULL,
    license_type   TEXT NOT NULL,
    secret_hash    BLOB,                -- SHA-256 of the current secret, 32 bytes
    created_s      INTEGER NOT NULL,
    created_ns     INTEGER NOT NULL,
    expires_s      INTEGER,
    expires_ns     INTEGER,
    body           TEXT NOT NULL
);
CREATE UNIQUE INDEX invitations_id ON invitations (org_id, invitation_id);
CREATE UNIQUE INDEX invitations_secret ON invitations (org_id, secret_hash)
    WHERE secret_hash IS NOT NULL;
-- One open (staged or pending, as stored) invitation per recipient.
CREATE UNIQUE INDEX invitations_open_recipient ON invitations (org_id, recipient_key)
    WHERE status IN ('staged', 'pending');
-- The invitation list, newest first, per stored status and per batch.
CREATE INDEX invitations_list ON invitations
    (org_id, status, created_s, created_ns, invitation_id);
CREATE INDEX invitations_batch ON invitations
    (org_id, batch_id, created_s, created_ns, invitation_id);
-- Pending invitations by expiry: one organization's, and everyone's.
CREATE INDEX invitations_due ON invitations (org_id, expires_s, expires_ns, invitation_id)
    WHERE status = 'pending' AND expires_s IS NOT NULL;
CREATE INDEX invitations_due_all ON invitations (expires_s, expires_ns, org_id, invitation_id)
    WHERE status = 'pending' AND expires_s IS NOT NULL;

CREATE TABLE invite_links (
    org_id  TEXT PRIMARY KEY NOT NULL,
    body    TEXT NOT NULL
);

CREATE TABLE events (
    rid     INTEGER PRIMARY KEY,
    org_id  TEXT NOT NULL,
    seq     INTEGER NOT NULL,           -- 1, 2, 3... per organization
    body    TEXT NOT NULL
);
CREATE UNIQUE INDEX events_seq ON events (org_id, seq);

CREATE TABLE outbox (
    rid            INTEGER PRIMARY KEY,
    message_id     TEXT NOT NULL UNIQUE,
    org_id         TEXT NOT NULL,
    invitation_id  TEXT NOT NULL,
    -- For a queued message, the rid of its invitation (org_id,
    -- invitation_id) if that was stored when the message was written; else
    -- NULL. Invitations are never deleted, so the rid stays theirs (reads
    -- still check both ids).
    inv_rid        INTEGER,
    status         TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'failed', 'superseded')),
    next_s         INTEGER NOT NULL,    -- next_attempt_at
    next_ns        INTEGER NOT NULL,
    created_s      INTEGER NOT NULL,
    created_ns     INTEGER NOT NULL,
    body           TEXT NOT NULL
);
CREATE INDEX outbox_due ON outbox (org_id, next_s, next_ns, message_id)
    WHERE status = 'queued';
CREATE INDEX outbox_due_all ON outbox (next_s, next_ns, message_id)
    WHERE status = 'queued';
-- The queued messages of an invitation (a few at most: the store sorts
-- them), by the invitation's rid. Rids grow, so a new invitation's message
-- is appended at the end of this index; an index by invitation_id would put
-- each one on a random page (ids are random), and every commit would write
-- one more page per message. The store writes the message of a new
-- invitation once the invitation is stored (see `SqliteTx::deferred`); a
-- message whose invitation is absent goes to `outbox_queued_unlinked`.
CREATE INDEX outbox_queued ON outbox (inv_rid)
    WHERE status = 'queued' AND inv_rid IS NOT NULL;
CREATE INDEX outbox_queued_unlinked ON outbox (org_id, invitation_id)
    WHERE status = 'queued' AND inv_rid IS NULL;

-- Counters kept exact by the triggers below, so that counts never scan:
--   ('member', '', status)                 members per status
--   ('member_role', role, status)          members per role and status
--   ('member_license', license, status)    members per license type and status
--   ('member_group', group_id, status)     group memberships per status
--   ('invitation_license', license, status) invitations per license type and stored status
-- A counter that falls to 0 stays as a row with n = 0.
CREATE TABLE counts (
    org_id  TEXT NOT NULL,
    what    TEXT NOT NULL,
    key     TEXT NOT NULL,
    status  TEXT NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (org_id, what, key, status)
) WITHOUT ROWID;

CREATE TRIGGER members_count_insert AFTER INSERT ON members BEGIN
    INSERT INTO counts (org_id, what, key, status, n) VALUES
        (NEW.org_id, 'member', '', NEW.status, 1),
        (NEW.org_id, 'member_role', NEW.role, NEW.status, 1),
        (NEW.org_id, 'member_license', NEW.license_type, NEW.status, 1)
    ON CONFLICT (org_id, what, key, status) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER members_count_delete AFTER DELETE ON members BEGIN
    UPDATE counts SET n = n - 1
        WHERE org_id = OLD.org_id AND what = 'member' AND key = '' AND status = OLD.status;
    UPDATE counts SET n = n - 1
        WHERE org_id = OLD.org_id AND what = 'member_role' AND key = OLD.role
        AND status = OLD.status;
    UPDATE counts SET n = n - 1
        WHERE org_id = OLD.org_id AND what = 'member_license' AND key = OLD.license_type
        AND status = OLD.status;
END;

CREATE TRIGGER members_count_update AFTER UPDATE OF org_id, status, role, license_type ON members
WHEN OLD.org_id IS NOT NEW.org_id OR OLD.status IS NOT NEW.status
    OR OLD.role IS NOT NEW.role OR OLD.license_type IS NOT NEW.license_type
BEGIN
    UPDATE counts SET n = n - 1
        WHERE org_id = OLD.org_id AND what = 'member' AND key = '' AND status = OLD.status;
    UPDATE counts SET n = n - 1
        WHERE org_id = OLD.org_id AND what = 'member_role' AND key = OLD.role
        AND status = OLD.status;
    UPDATE counts SET n = n - 1
        WHERE org_id = OLD.org_id AND what = 'member_license' AND key = OLD.license_type
        AND status = OLD.status;
    INSERT INTO counts (org_id, what, key, status, n) VALUES
        (NEW.org_id, 'member', '', NEW.status, 1),
        (NEW.org_id, 'member_role', NEW.role, NEW.status, 1),
        (NEW.org_id, 'member_license', NEW.license_type, NEW.status, 1)
    ON CONFLICT (org_id, what, key, status) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER member_groups_count_insert AFTER INSERT ON member_groups BEGIN
    INSERT INTO counts (org_id, what, key, status, n)
        VALUES (NEW.org_id, 'member_group', NEW.group_id, NEW.status, 1)
    ON CONFLICT (org_id, what, key, status) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER member_groups_count_delete AFTER DELETE ON member_groups BEGIN
    UPDATE counts SET n = n - 1 WHERE org_id = OLD.org_id AND what = 'member_group'
        AND key = OLD.group_id AND status = OLD.status;
END;

CREATE TRIGGER invitations_count_insert AFTER INSERT ON invitations BEGIN
    INSERT INTO counts (org_id, what, key, status, n)
        VALUES (NEW.org_id, 'invitation_license', NEW.license_type, NEW.status, 1)
    ON CONFLICT (org_id, what, key, status) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER invitations_count_delete AFTER DELETE ON invitations BEGIN
    UPDATE counts SET n = n - 1 WHERE org_id = OLD.org_id AND what = 'invitation_license'
        AND key = OLD.license_type AND status = OLD.status;
END;

CREATE TRIGGER invitations_count_update AFTER UPDATE OF org_id, status, license_type ON invitations
WHEN OLD.org_id IS NOT NEW.org_id OR OLD.status IS NOT NEW.status
    OR OLD.license_type IS NOT NEW.license_type
BEGIN
    UPDATE counts SET n = n - 1 WHERE org_id = OLD.org_id AND what = 'invitation_license'
        AND key = OLD.license_type AND status = OLD.status;
    INSERT INTO counts (org_id, what, key, status, n)
        VALUES (NEW.org_id, 'invitation_license', NEW.license_type, NEW.status, 1)
    ON CONFLICT (org_id, what, key, status) DO UPDATE SET n = n + 1;
END;
