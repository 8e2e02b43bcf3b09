-- roster SQLite schema 15: jobs that their creator applies itself (a local `roster import`,
-- include/roster/job.h ROSTER_JOB_IMPORT), and the job of an import in its progress.
--
-- Such a job lives wholly in this (the main) file, not in the intake file that holds the
-- engine's jobs: its rows, progress and per-item results are written in the import's own
-- transactions, together with the users they describe, and a transaction of SQLite is
-- atomic in one file only. So after a crash the users and the job's results agree exactly,
-- and a sync or fail import that rolls back leaves no job behind. The engine never sees
-- these jobs (its claims walk the intake file's jobs). Never edit a released migration: add
-- NNNN_<what>.sql instead.
CREATE TABLE job_records (
    id TEXT PRIMARY KEY,                 -- 24 hex, unique with the intake file's job ids
    org_id TEXT NOT NULL,                -- orgs.id
    kind INTEGER NOT NULL,               -- enum roster_job_kind
    status INTEGER NOT NULL,             -- 1 running, 2 finished
    total INTEGER NOT NULL DEFAULT 0,    -- items recorded (all of them once finished)
    ok INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    params_json TEXT,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
) WITHOUT ROWID;

-- the results of items [first_idx, first_idx + count) of a job_records job, written once
CREATE TABLE record_results (
    job_id TEXT NOT NULL,
    first_idx INTEGER NOT NULL,
    count INTEGER NOT NULL,
    done_ms INTEGER NOT NULL,
    results_json TEXT NOT NULL,
    PRIMARY KEY (job_id, first_idx)
);

ALTER TABLE import_progress ADD COLUMN job_id TEXT;
