-- enlist SQLite schema, version 2: invitation email templates.
--
-- An organization's email settings (default locale and personal message)
-- and its templates, one per locale tag (normalized BCP 47, compared
-- byte for byte). `body` is the entity as JSON, as in version 1.

CREATE TABLE email_settings (
    org_id  TEXT PRIMARY KEY NOT NULL,
    body    TEXT NOT NULL
);

CREATE TABLE email_templates (
    org_id  TEXT NOT NULL,
    locale  TEXT NOT NULL,
    body    TEXT NOT NULL,
    PRIMARY KEY (org_id, locale)
) WITHOUT ROWID;
