-- enlist SQLite schema, version 18: one index for a member's account
-- (issue 15).
--
-- Since version 8 a live member with an account had two entries of the
-- same rows, under the same condition: `members_live_user_ref` (org_id,
-- user_ref), unique (one live member per account in an organization), and
-- `members_by_account` (user_ref, org_id), the organizations of an account
-- in order. A unique index on (user_ref, org_id) is both: the rule is on
-- the pair whatever its order, a member is found by both columns, and an
-- account's organizations are one range of it in org_id order. Every
-- member written (each accept, join, role change or removal) writes one
-- index entry, and one page, less. The rows already stored kept the rule
-- under the old index, so the new one is built without a conflict.
DROP INDEX members_by_account;
DROP INDEX members_live_user_ref;
CREATE UNIQUE INDEX members_live_user_ref ON members (user_ref, org_id)
    WHERE status <> 'removed' AND user_ref IS NOT NULL;
