-- enlist PostgreSQL schema, version 3: the dead letters.
--
-- An organization's failed messages, newest first (`failed_outbox`, the
-- admins' dead-letter page): without this index the page walks every
-- message the organization ever sent. Partial: only failed messages,
-- which stay few. Its first column is the distribution column.

CREATE INDEX outbox_failed ON outbox (org_id, created_s DESC, created_ns DESC, message_id DESC)
    WHERE status = 'failed';
