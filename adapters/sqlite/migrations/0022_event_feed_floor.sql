-- enlist SQLite schema, version 22: the event feed's head is a floor,
-- written when events are deleted, not at every commit (issue 15).
--
-- Since version 6 the store gave each event the position after
-- `event_feed_head.last` and wrote the head back once per transaction
-- that appended events: one page more in every such commit (an accept
-- writes about 31). A position is now one more than the larger of the
-- newest event's `rid` and the head, which only this trigger moves: a
-- deleted event at or past the head (an organization purged, or a row
-- deleted by hand) raises it to its `rid`, so a position deleted is never
-- given again, as before. The head as it is holds at least every
-- position given so far.
CREATE TRIGGER events_feed_floor AFTER DELETE ON events
    WHEN old.rid > COALESCE((SELECT last FROM event_feed_head WHERE id = 1), 0)
BEGIN
    INSERT INTO event_feed_head (id, last) VALUES (1, old.rid)
        ON CONFLICT (id) DO UPDATE SET last = excluded.last;
END;
