-- roster PostgreSQL schema 8: message templates stored per organisation (docs/templates.md).
-- content_json is what a message says, in the shapes of a Courier definition's content
-- ({"title","body"} or elemental {"version","elements"}); core checks it before writing.
-- Never edit a released migration: add NNNN_<what>.sql instead.
CREATE TABLE templates (
    org_num BIGINT NOT NULL REFERENCES orgs (num_id),
    name TEXT COLLATE "C" NOT NULL,
    content_json TEXT NOT NULL,
    updated_ms BIGINT NOT NULL,
    PRIMARY KEY (org_num, name)
);
