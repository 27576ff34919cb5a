-- enlist PostgreSQL schema, version 6: several invitation links per
-- organization (ADR 0013).
--
-- Every link, the organization's default one (link_id 'lnk_default') and
-- its named ones, in one table. `secret_hash` is the lowercase hex SHA-256
-- of the link's current secret (the secret itself is never stored), found
-- by `link_by_secret`; the creation time orders `links`. `body` is the
-- link as JSON. The first column is the distribution column.

CREATE TABLE links (
    org_id       text COLLATE "C" NOT NULL,
    link_id      text COLLATE "C" NOT NULL,
    secret_hash  text COLLATE "C",
    created_s    bigint NOT NULL,
    created_ns   integer NOT NULL,
    body         json NOT NULL,
    PRIMARY KEY (org_id, link_id)
);

CREATE INDEX links_by_secret ON links (org_id, secret_hash) WHERE secret_hash IS NOT NULL;
CREATE INDEX links_by_age ON links (org_id, created_s, created_ns, link_id);

-- The single link of each organization becomes its default link: same
-- body (a body without an id reads as the default link), its hash (a JSON
-- array of 32 bytes) as hex, its creation time to the microsecond.
INSERT INTO links (org_id, link_id, secret_hash, created_s, created_ns, body)
SELECT l.org_id,
       'lnk_default',
       (SELECT string_agg(lpad(to_hex(h.v::int), 2, '0'), '' ORDER BY h.i)
          FROM json_array_elements_text(
                 CASE WHEN json_typeof(l.body->'secret_hash') = 'array'
                      THEN l.body->'secret_hash' ELSE '[]'::json END
               ) WITH ORDINALITY AS h(v, i)),
       COALESCE(floor(extract(epoch FROM (l.body->>'created_at')::timestamptz))::bigint, 0),
       0,
       l.body
  FROM invite_links AS l;

DROP TABLE invite_links;
