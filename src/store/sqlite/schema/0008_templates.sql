-- roster SQLite schema 8: message templates stored per organisation (docs/templates.md).
-- content_json is what a message says, in the shapes of a Courier definition's content
-- ({"title","body"} or elemental {"version","elements"}); core checks it before writing.
-- Never edit a released migration: add NNNN_<what>.sql instead.
CREATE TABLE templates (
    org_num INTEGER NOT NULL REFERENCES orgs (num_id),
    name TEXT NOT NULL,
    content_json TEXT NOT NULL,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (org_num, name)
) WITHOUT ROWID;
