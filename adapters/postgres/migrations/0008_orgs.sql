-- enlist PostgreSQL schema, version 6: organizations across the store
-- (issue 14, orgs), as in SQLite's 0006_orgs.sql.
--
-- `slug` is the organization's unique slug (NULL for a body without one,
-- which the store never writes after this migration: the migration gives
-- every stored organization one, in Rust); `name_key` its name lowercased
-- in Rust (`str::to_lowercase`), for the prefix search of the admin list;
-- `deleted` is set once it was deleted with its members and history kept.
--
-- Distribution (Citus): `organizations_slug` is unique across
-- organizations, so it cannot start with the distribution column: under
-- Citus, make `organizations` a reference table (it is small: one row per
-- organization). `organizations_listed` and `members_by_account` serve the
-- lookups the Store trait makes across organizations (the list of all
-- organizations, the organizations of one account), like the three
-- cross-organization indexes of 0001.

ALTER TABLE organizations
    ADD COLUMN slug text COLLATE "C",
    ADD COLUMN name_key text NOT NULL DEFAULT '',
    ADD COLUMN deleted boolean NOT NULL DEFAULT false;

CREATE UNIQUE INDEX organizations_slug ON organizations (slug);
CREATE INDEX organizations_listed ON organizations (slug)
    WHERE NOT deleted AND slug IS NOT NULL;

CREATE INDEX members_by_account ON members (user_ref, org_id)
    WHERE status <> 'removed' AND user_ref IS NOT NULL;
