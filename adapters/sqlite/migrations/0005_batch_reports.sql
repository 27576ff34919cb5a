-- enlist SQLite schema, version 5: batch reports.
--
-- The report of one bulk command (invite, send staged, import, bulk
-- action), kept per organization and batch id and read whole by
-- `batch_report`; `body` is the report as JSON, as for the other
-- entities. The index serves `delete_batch_reports_before` (retention):
-- an organization's reports oldest first, without reading the others.

CREATE TABLE batch_reports (
    org_id      TEXT NOT NULL,
    batch_id    TEXT NOT NULL,
    created_s   INTEGER NOT NULL,
    created_ns  INTEGER NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (org_id, batch_id)
) WITHOUT ROWID;

CREATE INDEX batch_reports_by_age ON batch_reports (org_id, created_s, created_ns, batch_id);
