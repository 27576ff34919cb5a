-- enlist SQLite schema, version 20: events and queued emails indexed by
-- the organization's number (issue 15; migration 0019 did it for
-- invitations).
--
-- Every issued invitation also writes its queued email (an entry of
-- `outbox_due`) and its audit event (an entry of `events_seq`), both
-- beginning with the 36-character `org_id`. Organizations with events or
-- messages but no invitation get their number here (in org id order,
-- after those 0019 numbered); `org_id` stays in the rows, and the indexes
-- across organizations (`outbox_due_all`, the feed by rowid) are as they
-- were.
INSERT INTO org_keys (org_id)
    SELECT org_id FROM (SELECT org_id FROM events UNION SELECT org_id FROM outbox)
    WHERE org_id NOT IN (SELECT org_id FROM org_keys)
    ORDER BY org_id;

ALTER TABLE events ADD COLUMN org INTEGER;
UPDATE events SET org = (SELECT k.org FROM org_keys k WHERE k.org_id = events.org_id);
DROP INDEX events_seq;
CREATE UNIQUE INDEX events_seq ON events (org, seq);

ALTER TABLE outbox ADD COLUMN org INTEGER;
UPDATE outbox SET org = (SELECT k.org FROM org_keys k WHERE k.org_id = outbox.org_id);
DROP INDEX outbox_due;
CREATE INDEX outbox_due ON outbox (org, next_s, next_ns, message_id)
    WHERE status = 'queued';
DROP INDEX outbox_queued_unlinked;
CREATE INDEX outbox_queued_unlinked ON outbox (org, invitation_id)
    WHERE status = 'queued' AND inv_rid IS NULL;
DROP INDEX outbox_failed;
CREATE INDEX outbox_failed ON outbox (org, created_s, created_ns, message_id)
    WHERE status = 'failed';
