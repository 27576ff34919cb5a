-- enlist SQLite schema, version 6: several invitation links per
-- organization (ADR 0013).
--
-- Every link, the organization's default one (link_id 'lnk_default') and
-- its named ones, in one table. `secret_hash` is the lowercase hex SHA-256
-- of the link's current secret (the secret itself is never stored), found
-- by `link_by_secret`; the creation time orders `links`. `body` is the
-- link as JSON, as for the other entities.

CREATE TABLE links (
    org_id       TEXT NOT NULL,
    link_id      TEXT NOT NULL,
    secret_hash  TEXT,
    created_s    INTEGER NOT NULL,
    created_ns   INTEGER NOT NULL,
    body         TEXT NOT NULL,
    PRIMARY KEY (org_id, link_id)
) WITHOUT ROWID;

CREATE INDEX links_by_secret ON links (org_id, secret_hash) WHERE secret_hash IS NOT NULL;
CREATE INDEX links_by_age ON links (org_id, created_s, created_ns, link_id);

-- The single link of each organization becomes its default link: same
-- body (a body without an id reads as the default link), its hash (a JSON
-- array of 32 bytes) as hex, its creation time to the second (the order
-- of an organization's links; the body keeps the exact time).
INSERT INTO links (org_id, link_id, secret_hash, created_s, created_ns, body)
SELECT l.org_id,
       'lnk_default',
       (SELECT group_concat(printf('%02x', h.value), '')
          FROM (SELECT value FROM json_each(l.body, '$.secret_hash') ORDER BY key) AS h),
       COALESCE(CAST(strftime('%s', json_extract(l.body, '$.created_at')) AS INTEGER), 0),
       0,
       l.body
  FROM invite_links AS l;

DROP TABLE invite_links;
