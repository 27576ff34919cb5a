-- enlist PostgreSQL schema, version 1: the tables, columns and indexes of
-- the SQLite store (adapters/sqlite/migrations/0001_initial.sql) in
-- PostgreSQL's dialect, plus `org_heads` for concurrency control.
--
-- Every entity is one row: real columns for what the store looks up,
-- filters, sorts or counts, and `body`, the entity as JSON (serde), which is
-- what reads return. Columns are written from the same value as the body, in
-- the same statement, so they cannot drift from it. Keys are `text COLLATE
-- "C"`: they sort byte by byte, as Rust strings (and MemoryStore) do.
--
-- Times that are sorted or compared are two integer columns: whole seconds
-- since 1970 (`*_s`) and nanoseconds (`*_ns`), exact for any chrono time.
-- Statuses are the snake_case names of the Rust enums.
--
-- Distribution (Citus): every table has org_id, every primary key and every
-- unique index starts with it. Three non-unique indexes do not: they serve
-- the lookups the Store trait makes across organizations (an outbox message
-- by id, the due invitations and the due messages of every organization).
-- See docs/src/deploy-postgres.md.

-- One row per organization that was ever written: the row every writer of
-- the organization locks first (see docs/src/adr/0007-*.md). `version` goes
-- up by one in every transaction that writes the organization; `event_seq`
-- is the seq of its last event.
CREATE TABLE org_heads (
    org_id     text COLLATE "C" NOT NULL PRIMARY KEY,
    version    bigint NOT NULL DEFAULT 0,
    event_seq  bigint NOT NULL DEFAULT 0
);

CREATE TABLE organizations (
    org_id  text COLLATE "C" NOT NULL PRIMARY KEY,
    body    json NOT NULL
);

CREATE TABLE groups (
    org_id    text COLLATE "C" NOT NULL,
    group_id  text COLLATE "C" NOT NULL,
    body      json NOT NULL,            -- member_count stored as 0, derived on read
    PRIMARY KEY (org_id, group_id)
);

CREATE TABLE members (
    org_id        text COLLATE "C" NOT NULL,
    member_id     text COLLATE "C" NOT NULL,
    contact_key   text COLLATE "C" NOT NULL,  -- the normalized contact: sort and uniqueness key
    user_ref      text COLLATE "C",
    status        text COLLATE "C" NOT NULL CHECK (status IN ('active', 'inactive', 'removed')),
    role          text COLLATE "C" NOT NULL,
    license_type  text COLLATE "C" NOT NULL,
    kind          text COLLATE "C" NOT NULL,
    body          json NOT NULL,
    PRIMARY KEY (org_id, member_id)
);
-- One live (non-removed) member per contact key and per user_ref.
CREATE UNIQUE INDEX members_live_contact ON members (org_id, contact_key)
    WHERE status <> 'removed';
CREATE UNIQUE INDEX members_live_user_ref ON members (org_id, user_ref)
    WHERE status <> 'removed' AND user_ref IS NOT NULL;
-- The member list (sorted by contact key, then id), per status and per role.
CREATE INDEX members_list ON members (org_id, status, contact_key, member_id);
CREATE INDEX members_by_role ON members (org_id, role, status, contact_key, member_id);

-- Group memberships, derived from members.body by the store: the member
-- list of a group.
CREATE TABLE member_groups (
    org_id       text COLLATE "C" NOT NULL,
    group_id     text COLLATE "C" NOT NULL,
    status       text COLLATE "C" NOT NULL,
    contact_key  text COLLATE "C" NOT NULL,
    member_id    text COLLATE "C" NOT NULL,
    PRIMARY KEY (org_id, group_id, status, contact_key, member_id)
);

CREATE TABLE invitations (
    org_id         text COLLATE "C" NOT NULL,
    invitation_id  text COLLATE "C" NOT NULL,
    batch_id       text COLLATE "C" NOT NULL,
    recipient_key  text COLLATE "C" NOT NULL,  -- the normalized recipient: uniqueness key
    status         text COLLATE "C" NOT NULL CHECK (status IN
                       ('staged', 'pending', 'accepted', 'declined', 'revoked', 'expired')),
    role           text COLLATE "C" NOT NULL,
    kind           text COLLATE "C" NOT NULL,
    license_type   text COLLATE "C" NOT NULL,
    secret_hash    bytea,                      -- SHA-256 of the current secret, 32 bytes
    created_s      bigint NOT NULL,
    created_ns     integer NOT NULL,
    expires_s      bigint,
    expires_ns     integer,
    body           json NOT NULL,
    PRIMARY KEY (org_id, invitation_id)
);
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
    org_id  text COLLATE "C" NOT NULL PRIMARY KEY,
    body    json NOT NULL
);

CREATE TABLE events (
    org_id  text COLLATE "C" NOT NULL,
    seq     bigint NOT NULL,            -- 1, 2, 3... per organization
    body    json NOT NULL,
    PRIMARY KEY (org_id, seq)
);

CREATE TABLE outbox (
    org_id         text COLLATE "C" NOT NULL,
    message_id     text COLLATE "C" NOT NULL,
    invitation_id  text COLLATE "C" NOT NULL,
    status         text COLLATE "C" NOT NULL CHECK (status IN ('queued', 'sent', 'failed', 'superseded')),
    next_s         bigint NOT NULL,     -- next_attempt_at
    next_ns        integer NOT NULL,
    created_s      bigint NOT NULL,
    created_ns     integer NOT NULL,
    body           json NOT NULL,
    PRIMARY KEY (org_id, message_id)
);
-- A message by id alone (mark sent, mark failed): not unique, because a
-- unique index must start with the distribution column; ids are 128 random
-- bits, and the store refuses to read an id it finds twice.
CREATE INDEX outbox_id ON outbox (message_id);
CREATE INDEX outbox_due ON outbox (org_id, next_s, next_ns, message_id)
    WHERE status = 'queued';
CREATE INDEX outbox_due_all ON outbox (next_s, next_ns, message_id)
    WHERE status = 'queued';
CREATE INDEX outbox_queued ON outbox (org_id, invitation_id, created_s, created_ns, message_id)
    WHERE status = 'queued';

-- Counters kept exact by the store, in the statement that changes what they
-- count, so that counts never scan:
--   ('member', '', status)                  members per status
--   ('member_role', role, status)           members per role and status
--   ('member_license', license, status)     members per license type and status
--   ('member_group', group_id, status)      group memberships per status
--   ('invitation_license', license, status) invitations per license type and stored status
-- A counter that falls to 0 stays as a row with n = 0.
CREATE TABLE counts (
    org_id  text COLLATE "C" NOT NULL,
    what    text COLLATE "C" NOT NULL,
    key     text COLLATE "C" NOT NULL,
    status  text COLLATE "C" NOT NULL,
    n       bigint NOT NULL,
    PRIMARY KEY (org_id, what, key, status)
);
