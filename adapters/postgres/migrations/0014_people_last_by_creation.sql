-- enlist PostgreSQL schema, version 14: invitations by last activity in
-- the order they were made (issue 15; SQLite's schema 27).
--
-- Every store now keys an invitation of the people view by last activity
-- with its creation time lowered by 2^62 (below every activity, above
-- members never active: `enlist::store::people::last_active_parts`)
-- instead of the one key `(i64::MIN, 0)` that every person never active
-- shared, ties broken by id. The rows of the invitations already stored
-- take their new key here; the store writes the new key from now on.
UPDATE people SET last_s = since_s - 4611686018427387904, last_ns = since_ns
WHERE status IN ('staged', 'pending', 'expired');
