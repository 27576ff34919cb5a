-- enlist SQLite schema, version 4: the people view (members and staged,
-- pending and expired invitations in one list).
--
-- `people` holds one row per member and per invitation of the view, derived
-- by the store from the member's or the invitation's body in the same
-- statement sequence as the write (see `people.rs`): `body` is the Person as
-- serde writes it, labelled by stored status; `status` is that label.
-- Pending vs Expired is decided at the reader's `now` from `expires_*`.
-- Each sort of the view walks one index in order; ties are broken by `pid`
-- ('m.' || member id, 'i.' || invitation id). The store writes these rows
-- for the rows that exist when this migration runs, in the same
-- transaction (SQL cannot case-fold names as Rust does).
CREATE TABLE people (
    rid           INTEGER PRIMARY KEY,
    org_id        TEXT NOT NULL,
    pid           TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN
                      ('active', 'inactive', 'removed', 'staged', 'pending', 'expired')),
    expires_s     INTEGER,
    expires_ns    INTEGER,
    name_key      TEXT NOT NULL,        -- the case-folded name, or the contact key
    contact_key   TEXT NOT NULL,
    role          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    license_type  TEXT NOT NULL,
    since_s       INTEGER NOT NULL,     -- joined or invited
    since_ns      INTEGER NOT NULL,
    last_s        INTEGER NOT NULL,     -- last active; never: the smallest integer
    last_ns       INTEGER NOT NULL,
    body          TEXT NOT NULL
);
CREATE UNIQUE INDEX people_id ON people (org_id, pid);
CREATE INDEX people_name ON people (org_id, name_key, pid);
CREATE INDEX people_email ON people (org_id, contact_key, pid);
CREATE INDEX people_label ON people (org_id, status, name_key, pid);
CREATE INDEX people_role ON people (org_id, role, name_key, pid);
CREATE INDEX people_since ON people (org_id, since_s, since_ns, pid);
CREATE INDEX people_last ON people (org_id, last_s, last_ns, pid);

-- The search terms of each person (case-folded first name, last name,
-- full name and contact key): a prefix search is a range of this index.
CREATE TABLE people_terms (
    org_id  TEXT NOT NULL,
    term    TEXT NOT NULL,
    pid     TEXT NOT NULL,
    PRIMARY KEY (org_id, term, pid)
) WITHOUT ROWID;

-- The groups of each person (the group filter).
CREATE TABLE people_groups (
    org_id    TEXT NOT NULL,
    group_id  TEXT NOT NULL,
    pid       TEXT NOT NULL,
    PRIMARY KEY (org_id, group_id, pid)
) WITHOUT ROWID;
