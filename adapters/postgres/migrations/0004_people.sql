-- enlist PostgreSQL schema, version 4: the people view, as in the SQLite
-- store (adapters/sqlite/migrations/0004_people.sql): one row per member and
-- per staged, pending or expired invitation, derived by the store at every
-- write; the search terms and the groups of each person. Keys are
-- `text COLLATE "C"` (byte order, as Rust sorts). The store writes the rows
-- of what is already stored in the same transaction as this file.
CREATE TABLE people (
    org_id        text COLLATE "C" NOT NULL,
    pid           text COLLATE "C" NOT NULL,
    status        text NOT NULL CHECK (status IN
                      ('active', 'inactive', 'removed', 'staged', 'pending', 'expired')),
    expires_s     bigint,
    expires_ns    bigint,
    name_key      text COLLATE "C" NOT NULL,
    contact_key   text COLLATE "C" NOT NULL,
    role          text COLLATE "C" NOT NULL,
    kind          text NOT NULL,
    license_type  text COLLATE "C" NOT NULL,
    since_s       bigint NOT NULL,
    since_ns      bigint NOT NULL,
    last_s        bigint NOT NULL,
    last_ns       bigint NOT NULL,
    body          text NOT NULL,
    PRIMARY KEY (org_id, pid)
);
CREATE INDEX people_name ON people (org_id, name_key, pid);
CREATE INDEX people_email ON people (org_id, contact_key, pid);
CREATE INDEX people_label ON people (org_id, status, name_key, pid);
CREATE INDEX people_role ON people (org_id, role, name_key, pid);
CREATE INDEX people_since ON people (org_id, since_s, since_ns, pid);
CREATE INDEX people_last ON people (org_id, last_s, last_ns, pid);

CREATE TABLE people_terms (
    org_id  text COLLATE "C" NOT NULL,
    term    text COLLATE "C" NOT NULL,
    pid     text COLLATE "C" NOT NULL,
    PRIMARY KEY (org_id, term, pid)
);

CREATE TABLE people_groups (
    org_id    text COLLATE "C" NOT NULL,
    group_id  text COLLATE "C" NOT NULL,
    pid       text COLLATE "C" NOT NULL,
    PRIMARY KEY (org_id, group_id, pid)
);
