-- enlist SQLite schema, version 6: organizations across the store
-- (issue 14, orgs).
--
-- `slug` is the organization's unique slug (NULL for a body without one,
-- which the store never writes after this migration: the migration gives
-- every stored organization one, in Rust, see `orgs::backfill`);
-- `name_key` its name lowercased in Rust (`str::to_lowercase`, which SQL
-- cannot reproduce), for the prefix search of the admin list; `deleted` is
-- 1 once it was deleted with its members and history kept.
--
-- Two indexes do not start with org_id: they serve the lookups the Store
-- trait makes across organizations (an organization by slug and the list
-- of all organizations; the organizations of one account).

ALTER TABLE organizations ADD COLUMN slug TEXT;
ALTER TABLE organizations ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
ALTER TABLE organizations ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;

CREATE UNIQUE INDEX organizations_slug ON organizations (slug);
CREATE INDEX organizations_listed ON organizations (slug)
    WHERE deleted = 0 AND slug IS NOT NULL;

-- The live memberships of an account, by organization id.
CREATE INDEX members_by_account ON members (user_ref, org_id)
    WHERE status <> 'removed' AND user_ref IS NOT NULL;
