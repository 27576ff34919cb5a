-- enlist SQLite schema, version 3: the dead letters.
--
-- An organization's failed messages, newest first (`failed_outbox`, the
-- admins' dead-letter page): without this index the page reads every
-- message the organization ever sent. Partial: only failed messages,
-- which stay few.

CREATE INDEX outbox_failed ON outbox (org_id, created_s, created_ns, message_id)
    WHERE status = 'failed';
