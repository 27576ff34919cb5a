-- enlist SQLite schema, version 12: flat look-ups at scale (issue 15).
--
-- The admin list's prefix search (`list_organizations` with a prefix)
-- matches a slug or a lowercased name. The slug side walks
-- `organizations_listed` from the prefix; this index lets the name side
-- walk from the prefix too, instead of reading every organization of the
-- store (100,000 of them took 2,000 times as long as one).

CREATE INDEX organizations_listed_name ON organizations (name_key, slug)
    WHERE deleted = 0 AND slug IS NOT NULL;
