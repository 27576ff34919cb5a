-- enlist SQLite schema, version 6: the event feed (issue 14, hooks).
--
-- The feed reads every organization's events in `rid` order. SQLite runs
-- one writer at a time and the store numbers events inside its write
-- transaction, so `rid` order is commit order. `rid` is given by the store
-- from `event_feed_head.last` (never from MAX(rid)), so that a position is
-- never reused, even after the newest events are deleted (an organization
-- purged). `kind` is the event kind's wire name, for the kinds filter.

CREATE TABLE event_feed_head (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    last  INTEGER NOT NULL
);

INSERT INTO event_feed_head (id, last) SELECT 1, COALESCE(MAX(rid), 0) FROM events;

ALTER TABLE events ADD COLUMN kind TEXT;

UPDATE events SET kind = json_extract(body, '$.kind.type');
