-- roster SQLite schema 4: service-account keys (Voximplant JWTs), typed groups
-- (applications, skills, ACD queues) with their memberships, and user password hashes.

CREATE TABLE service_keys (
    num_id INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,             -- 24 hex: the JWT kid / credentials.json key_id
    org_id TEXT NOT NULL REFERENCES orgs (id),
    name TEXT,
    public_key TEXT NOT NULL,            -- PEM SubjectPublicKeyInfo; no private key is kept
    created_ms INTEGER NOT NULL,
    revoked_ms INTEGER                   -- NULL = active
);

-- AUTOINCREMENT: a deleted group's number is never given to a new one (clients keep ids)
CREATE TABLE groups (
    num_id INTEGER PRIMARY KEY AUTOINCREMENT, -- application_id / skill_id / acd_queue_id
    org_num INTEGER NOT NULL REFERENCES orgs (num_id),
    kind INTEGER NOT NULL,               -- enum roster_group_kind
    name TEXT NOT NULL,
    parent_num INTEGER REFERENCES groups (num_id) ON DELETE CASCADE, -- a queue's application
    extra TEXT,                          -- JSON object
    created_ms INTEGER NOT NULL,
    modified_ms INTEGER NOT NULL
);
CREATE UNIQUE INDEX groups_org_kind_name ON groups (org_num, kind, name);
CREATE INDEX groups_parent ON groups (parent_num);

CREATE TABLE group_members (
    group_num INTEGER NOT NULL REFERENCES groups (num_id) ON DELETE CASCADE,
    user_num INTEGER NOT NULL REFERENCES users (num_id) ON DELETE CASCADE,
    PRIMARY KEY (group_num, user_num)
) WITHOUT ROWID;
CREATE INDEX group_members_user ON group_members (user_num, group_num);

CREATE TABLE user_secrets (
    user_num INTEGER PRIMARY KEY REFERENCES users (num_id) ON DELETE CASCADE,
    password_hash TEXT NOT NULL          -- crypt(3) string ($y$: yescrypt)
);
