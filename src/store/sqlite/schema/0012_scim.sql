-- roster SQLite schema 12: the fields of SCIM users (docs/scim.md) that roster keeps in
-- columns of their own: externalId (the identity provider's id: looked up by eq, indexed,
-- NOT unique: RFC 7643 leaves its uniqueness to the client), userType, preferredLanguage,
-- locale and timezone. E-mail becomes optional in the model (a SCIM user needs only a
-- userName): the column was always nullable, and the unique index ignores NULLs.
-- Never edit a released migration: add NNNN_<what>.sql instead.
ALTER TABLE users ADD COLUMN external_id TEXT;
ALTER TABLE users ADD COLUMN user_type TEXT;
ALTER TABLE users ADD COLUMN preferred_language TEXT;
ALTER TABLE users ADD COLUMN locale TEXT;
ALTER TABLE users ADD COLUMN timezone TEXT;

-- Rarely set fields (sg_sparse), as in migration 6: their copies and indexes live in
-- user_sparse, which costs only the users that have one of them. An identity provider
-- sets externalId on every user it pushes, and those users pay the user_sparse row; users
-- from every other dialect pay nothing (an index on users would cost every insert).
ALTER TABLE user_sparse ADD COLUMN external_id TEXT;
ALTER TABLE user_sparse ADD COLUMN user_type TEXT;
ALTER TABLE user_sparse ADD COLUMN preferred_language TEXT;
ALTER TABLE user_sparse ADD COLUMN locale TEXT;
ALTER TABLE user_sparse ADD COLUMN timezone TEXT;
CREATE INDEX user_sparse_external_id ON user_sparse (org_num, external_id, id) WHERE external_id IS NOT NULL;
CREATE INDEX user_sparse_user_type ON user_sparse (org_num, user_type, id) WHERE user_type IS NOT NULL;
CREATE INDEX user_sparse_preferred_language ON user_sparse (org_num, preferred_language, id) WHERE preferred_language IS NOT NULL;
CREATE INDEX user_sparse_locale ON user_sparse (org_num, locale, id) WHERE locale IS NOT NULL;
CREATE INDEX user_sparse_timezone ON user_sparse (org_num, timezone, id) WHERE timezone IS NOT NULL;
