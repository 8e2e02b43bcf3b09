-- roster PostgreSQL schema 12: the fields of SCIM users (docs/scim.md) that roster keeps in
-- columns of their own, as in the SQLite store's migration 12: externalId (looked up by eq,
-- indexed, NOT unique), userType, preferredLanguage, locale and timezone. E-mail becomes
-- optional in the model: the column was always nullable, and the unique index ignores NULLs.
-- Never edit a released migration: add NNNN_<what>.sql instead.
ALTER TABLE users ADD COLUMN external_id TEXT COLLATE "C";
ALTER TABLE users ADD COLUMN user_type TEXT COLLATE "C";
ALTER TABLE users ADD COLUMN preferred_language TEXT COLLATE "C";
ALTER TABLE users ADD COLUMN locale TEXT COLLATE "C";
ALTER TABLE users ADD COLUMN timezone TEXT COLLATE "C";
-- Partial indexes, as for the other rarely set fields (migration 5): an insert of a user
-- without the field does not touch them.
CREATE INDEX users_org_external_id ON users (org_num, external_id, id) WHERE external_id IS NOT NULL;
CREATE INDEX users_org_user_type ON users (org_num, user_type, id) WHERE user_type IS NOT NULL;
CREATE INDEX users_org_preferred_language ON users (org_num, preferred_language, id) WHERE preferred_language IS NOT NULL;
CREATE INDEX users_org_locale ON users (org_num, locale, id) WHERE locale IS NOT NULL;
CREATE INDEX users_org_timezone ON users (org_num, timezone, id) WHERE timezone IS NOT NULL;
