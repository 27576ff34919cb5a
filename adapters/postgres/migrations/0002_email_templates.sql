-- enlist PostgreSQL schema, version 2: invitation email templates.
--
-- An organization's email settings (default locale and personal message)
-- and its templates, one per locale tag (normalized BCP 47). Keys are
-- `text COLLATE "C"` as in version 1, so templates list in byte order,
-- like every other store. `body` is the entity as JSON.

CREATE TABLE email_settings (
    org_id  text COLLATE "C" NOT NULL PRIMARY KEY,
    body    json NOT NULL
);

CREATE TABLE email_templates (
    org_id  text COLLATE "C" NOT NULL,
    locale  text COLLATE "C" NOT NULL,
    body    json NOT NULL,
    PRIMARY KEY (org_id, locale)
);
