-- enlist PostgreSQL schema, version 5: batch reports.
--
-- The report of one bulk command (invite, send staged, import, bulk
-- action), kept per organization and batch id and read whole by
-- `batch_report`; `body` is the report as JSON. The index serves
-- `delete_batch_reports_before` (retention): an organization's reports
-- oldest first. Its first column is the distribution column.

CREATE TABLE batch_reports (
    org_id      text COLLATE "C" NOT NULL,
    batch_id    text COLLATE "C" NOT NULL,
    created_s   bigint NOT NULL,
    created_ns  integer NOT NULL,
    body        json NOT NULL,
    PRIMARY KEY (org_id, batch_id)
);

CREATE INDEX batch_reports_by_age ON batch_reports (org_id, created_s, created_ns, batch_id);
