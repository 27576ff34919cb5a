-- enlist PostgreSQL schema, version 13: an organization is never a key to
-- the planner (issue 15).
--
-- The store's statements are planned once per connection (generic plans)
-- with the statistics of the tables' last ANALYZE. Taken while a table
-- held a row or two, those make `org_id` look unique (ANALYZE takes a
-- column without a repeated value in its sample for unique), so that
-- `org_id = $1` looks as selective as a key. A probe by (org_id, key) then
-- ties between the key's index and any other index that starts with
-- org_id, and the planner may walk the organization's rows by the other
-- one. At each accept of the bench the invitation's queued messages were
-- read by walking the organization's messages in `outbox_pkey` (300 rows,
-- 125 buffers, instead of 3 in `outbox_queued`); on tables analyzed at a
-- row, the member write's look-up walks the organization's members in
-- `members_by_role` instead of a bitmap of three probes, and the
-- invitation by secret walks `invitations_batch`.
--
-- (A statement planned while its table holds a single row is beyond any
-- statistic: every index then reads one row. The bench's member write is
-- planned so, at the first accept, and still walks the members.)
--
-- An `n_distinct` override replaces ANALYZE's count of a column's distinct
-- values: 1 reads "an organization may hold the whole table". A key beside
-- org_id is then what selects, whatever the sample. Where ANALYZE saw
-- several organizations, the estimate of one is still capped by the most
-- common one's share (its MCV list): the biggest organization's size, the
-- safe side for this store, whose reads of an organization walk an index
-- in order and stop at the page. The override takes effect at the table's
-- next ANALYZE (autovacuum's or the host's); it changes no data and takes
-- only a SHARE UPDATE EXCLUSIVE lock (reads and writes go on).
--
-- `outbox.status` has four values (its CHECK): from a sample of one row it
-- too looked unique, so that the queued messages looked like a single row
-- and a whole walk of `outbox_due_all` (every queued message of the store,
-- by due time) tied with the probe of `outbox_queued`; the bench's accepts
-- took the walk once the organization no longer looked small.
--
-- Distribution (Citus): set on the coordinator's tables; untested there.

ALTER TABLE invitations ALTER COLUMN org_id SET (n_distinct = 1);
ALTER TABLE members ALTER COLUMN org_id SET (n_distinct = 1);
ALTER TABLE outbox ALTER COLUMN org_id SET (n_distinct = 1);
ALTER TABLE outbox ALTER COLUMN status SET (n_distinct = 4);
