-- enlist SQLite schema, version 21: members indexed by the organization's
-- number (issue 15; migrations 0019 and 0020 did it for invitations,
-- events and queued emails).
--
-- Every accept writes a new member: nine index entries, eight of them
-- beginning with the 36-character `org_id`. Seven now begin with the
-- organization's number. `members_id` stays on (org_id, member_id): it
-- is the key `member_groups`' foreign key refers to, and the member's
-- account index (user_ref, org_id) orders an account's organizations by
-- their ids. Organizations with members and nothing numbered yet get
-- their number here.
INSERT INTO org_keys (org_id)
    SELECT DISTINCT org_id FROM members
    WHERE org_id NOT IN (SELECT org_id FROM org_keys)
    ORDER BY org_id;

ALTER TABLE members ADD COLUMN org INTEGER;
UPDATE members SET org = (SELECT k.org FROM org_keys k WHERE k.org_id = members.org_id);

DROP INDEX members_live_contact;
CREATE UNIQUE INDEX members_live_contact ON members (org, contact_key)
    WHERE status <> 'removed';
DROP INDEX members_list;
CREATE INDEX members_list ON members (org, status, contact_key, member_id);
DROP INDEX members_by_role;
CREATE INDEX members_by_role ON members (org, role, status, contact_key, member_id);
DROP INDEX members_people_name;
CREATE INDEX members_people_name ON members (org, status, name_key, member_id);
DROP INDEX members_people_role;
CREATE INDEX members_people_role ON members (org, status, role, name_key, member_id);
DROP INDEX members_people_since;
CREATE INDEX members_people_since ON members (org, status, joined_s, joined_ns, member_id);
DROP INDEX members_people_last;
CREATE INDEX members_people_last ON members (org, status, last_s, last_ns, member_id);
