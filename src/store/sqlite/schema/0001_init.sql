-- roster SQLite schema 1: organisations, API keys, users, bulk jobs and their chunks.
-- Applied once, in one transaction, by src/store/sqlite/sqlite_store.c (tracked in
-- schema_version). Never edit a released migration: add NNNN_<what>.sql instead.

CREATE TABLE orgs (
    num_id INTEGER PRIMARY KEY,          -- Voximplant account_id
    id TEXT NOT NULL UNIQUE,             -- 24 hex
    name TEXT,
    address TEXT,
    city TEXT,
    region TEXT,
    zip TEXT,
    country TEXT,
    default_state_bulk INTEGER NOT NULL DEFAULT 1,        -- ROSTER_ACTIVATED
    default_state_app_import INTEGER NOT NULL DEFAULT 1,
    default_state_manual INTEGER NOT NULL DEFAULT 1,
    created_ms INTEGER NOT NULL
);

CREATE TABLE api_keys (
    num_id INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    org_id TEXT NOT NULL REFERENCES orgs (id),
    name TEXT,
    hash TEXT NOT NULL UNIQUE,           -- SHA-256 hex of the secret
    all_orgs INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL,
    revoked_ms INTEGER                   -- NULL = active
);

-- One column per entry of roster_ufields[] (src/core/user_fields.c), in that order.
CREATE TABLE users (
    num_id INTEGER PRIMARY KEY,          -- Voximplant user_id
    id TEXT NOT NULL,                    -- 24 hex
    org_id TEXT NOT NULL REFERENCES orgs (id),
    username TEXT,
    email TEXT,
    employee_id TEXT,
    first_name TEXT,
    middle_name TEXT,
    last_name TEXT,
    display_name TEXT,
    department TEXT,
    cost_center TEXT,
    company TEXT,
    job_title TEXT,
    location TEXT,
    manager TEXT,
    country_code TEXT,
    alternate_email TEXT,
    description TEXT,
    employee_type TEXT,
    custom_data TEXT,
    phones TEXT,                         -- JSON array
    attributes TEXT,                     -- JSON array
    addresses TEXT,                      -- JSON array
    extra TEXT,                          -- JSON object
    state INTEGER NOT NULL,              -- enum roster_state
    created_ms INTEGER NOT NULL,
    modified_ms INTEGER NOT NULL,
    version INTEGER NOT NULL
);
CREATE UNIQUE INDEX users_id ON users (id);
-- keyset paging and lookups inside one organisation
CREATE UNIQUE INDEX users_org_id ON users (org_id, id);
-- uniqueness per organisation; the store maps a violation to the field by index column
CREATE UNIQUE INDEX users_org_username ON users (org_id, username);
CREATE UNIQUE INDEX users_org_email ON users (org_id, email);
CREATE UNIQUE INDEX users_org_employee_id ON users (org_id, employee_id)
    WHERE employee_id IS NOT NULL;
CREATE INDEX users_org_last_name ON users (org_id, last_name);
CREATE INDEX users_org_state ON users (org_id, state);

-- Bulk jobs (include/roster/job.h). seq orders jobs first in, first out. next_chunk is the
-- lowest chunk_no not done yet: only that chunk may be claimed, so the chunks of one job
-- run in order and never two at once, and a claim looks at one chunk per open job.
CREATE TABLE jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    org_id TEXT NOT NULL REFERENCES orgs (id),
    kind INTEGER NOT NULL,               -- enum roster_job_kind
    status INTEGER NOT NULL,             -- enum roster_job_status
    total INTEGER NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    ok INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    next_chunk INTEGER NOT NULL DEFAULT 0,
    params_json TEXT,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
-- the claim scans open jobs in seq order; finished jobs leave this index
CREATE INDEX jobs_open ON jobs (seq) WHERE status < 2;
CREATE INDEX jobs_org ON jobs (org_id, seq);

-- The big JSON columns come last so that reading the small ones never loads their
-- overflow pages.
CREATE TABLE chunks (
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    chunk_no INTEGER NOT NULL,
    first_idx INTEGER NOT NULL,
    count INTEGER NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    lease_token INTEGER,
    lease_until_ms INTEGER,
    done_ms INTEGER,
    results_json TEXT,
    items_json TEXT NOT NULL,
    PRIMARY KEY (job_id, chunk_no)
);
-- result pages look chunks up by item index
CREATE INDEX chunks_job_idx ON chunks (job_id, first_idx);
-- lease_reset_all touches only the chunks still to do
CREATE INDEX chunks_todo ON chunks (job_id, chunk_no) WHERE done = 0;
