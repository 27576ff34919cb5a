-- enlist SQLite schema, version 6: verified domains and membership requests.
--
-- `org_domains` holds each organization's claims on email domains; the
-- partial unique index is the rule that one organization at a time holds
-- a domain verified (a second verified row for the domain fails with
-- UNIQUE on `org_domains.domain`), and serves `verified_domain`, the one
-- lookup across organizations (a person's email finds the organization).
-- `membership_requests` holds people's requests to join, one per account
-- and organization (`membership_requests_account`), listed oldest first
-- through `membership_requests_by_age`. `body` is the entity as JSON, as
-- for the other tables.

CREATE TABLE org_domains (
    org_id    TEXT NOT NULL,
    domain    TEXT NOT NULL,
    verified  INTEGER NOT NULL CHECK (verified IN (0, 1)),
    body      TEXT NOT NULL,
    PRIMARY KEY (org_id, domain)
) WITHOUT ROWID;

CREATE UNIQUE INDEX org_domains_verified ON org_domains (domain) WHERE verified = 1;

CREATE TABLE membership_requests (
    org_id      TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    user_ref    TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'declined')),
    created_s   INTEGER NOT NULL,
    created_ns  INTEGER NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (org_id, request_id)
) WITHOUT ROWID;

CREATE UNIQUE INDEX membership_requests_account ON membership_requests (org_id, user_ref);
CREATE INDEX membership_requests_by_age
    ON membership_requests (org_id, created_s, created_ns, request_id);
