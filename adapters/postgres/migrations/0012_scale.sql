-- enlist PostgreSQL schema, version 12: flat look-ups at scale (issue 15),
-- as SQLite's 0012_scale.sql.
--
-- The admin list's prefix search (`list_organizations` with a prefix)
-- matches a slug or a lowercased name. It walked `organizations_listed`
-- by slug and tested both on every organization of the store (100,000 of
-- them took several times as long as one). Now it reads two index ranges,
-- the slugs and the names that start with the prefix, and sorts the
-- matches. `name_key` compares by bytes (`COLLATE "C"`, like `slug` and
-- SQLite's texts) so that a prefix bounds a range of its index; it holds
-- no other order (the column was only ever tested with `starts_with`).
--
-- Distribution (Citus): `organizations` is a reference table (see 0008),
-- so this index does not start with `org_id` either.

ALTER TABLE organizations ALTER COLUMN name_key TYPE text COLLATE "C";

CREATE INDEX organizations_listed_name ON organizations (name_key, slug)
    WHERE NOT deleted AND slug IS NOT NULL;
