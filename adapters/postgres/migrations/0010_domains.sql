-- enlist PostgreSQL schema, version 6: verified domains and membership
-- requests.
--
-- `org_domains` holds each organization's claims on email domains; the
-- partial unique index `org_domains_verified` is the rule that one
-- organization at a time holds a domain verified (enforced against
-- concurrent transactions: the second insert waits for the first and then
-- fails), and serves `verified_domain`, the one lookup across
-- organizations. `membership_requests` holds people's requests to join,
-- one per account and organization (`membership_requests_account`),
-- listed oldest first through `membership_requests_by_age`. The first
-- column of each table is the distribution column.

CREATE TABLE org_domains (
    org_id    text COLLATE "C" NOT NULL,
    domain    text COLLATE "C" NOT NULL,
    verified  boolean NOT NULL,
    body      json NOT NULL,
    PRIMARY KEY (org_id, domain)
);

CREATE UNIQUE INDEX org_domains_verified ON org_domains (domain) WHERE verified;

CREATE TABLE membership_requests (
    org_id      text COLLATE "C" NOT NULL,
    request_id  text COLLATE "C" NOT NULL,
    user_ref    text COLLATE "C" NOT NULL,
    status      text NOT NULL CHECK (status IN ('pending', 'approved', 'declined')),
    created_s   bigint NOT NULL,
    created_ns  integer NOT NULL,
    body        json NOT NULL,
    PRIMARY KEY (org_id, request_id)
);

CREATE UNIQUE INDEX membership_requests_account ON membership_requests (org_id, user_ref);
CREATE INDEX membership_requests_by_age
    ON membership_requests (org_id, created_s, created_ns, request_id);
