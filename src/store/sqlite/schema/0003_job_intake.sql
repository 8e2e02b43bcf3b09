-- roster SQLite schema 3: a job's definition and input move to the intake file
-- (<store>.jobs, attached as "intake" while this runs); the main file keeps what the job
-- workers write: each job's progress and each done chunk's results.
--
-- Why: SQLite has one write lock per file. With job input in the main file, every
-- POST /api/v2/bulk/users waited behind the job applier's transaction (100-250 ms under
-- load), and every such commit emptied the applier's page cache. Now submitters write only
-- the intake file and the applier only the main file.
--
-- The intake tables exist already (sqlite_store.c creates them before migrating). The
-- copies are INSERT OR IGNORE: the two files do not commit atomically together, so after a
-- crash between them this migration runs again over what was already copied.

INSERT OR IGNORE INTO intake.job_inputs (seq, id, org_id, kind, total, nchunks, params_json,
                                         created_ms)
SELECT j.seq, j.id, j.org_id, j.kind, j.total,
       (SELECT count(*) FROM chunks AS c WHERE c.job_id = j.id), j.params_json, j.created_ms
FROM jobs AS j;

INSERT OR IGNORE INTO intake.chunk_inputs (job_id, chunk_no, first_idx, count, items_json)
SELECT c.job_id, c.chunk_no, c.first_idx, c.count, i.items_json
FROM chunks AS c JOIN chunk_items AS i ON i.job_id = c.job_id AND i.chunk_no = c.chunk_no;

-- progress of a job: no row until its first chunk is done
CREATE TABLE job_progress (
    job_id TEXT PRIMARY KEY,
    done INTEGER NOT NULL,               -- items with a result
    ok INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    next_chunk INTEGER NOT NULL,         -- the lowest chunk not done yet
    updated_ms INTEGER NOT NULL
) WITHOUT ROWID;

-- one row per done chunk, written once in the transaction that applied its items
CREATE TABLE chunk_results (
    job_id TEXT NOT NULL,
    chunk_no INTEGER NOT NULL,
    done_ms INTEGER NOT NULL,
    results_json TEXT NOT NULL,
    PRIMARY KEY (job_id, chunk_no)
);

INSERT INTO job_progress (job_id, done, ok, failed, next_chunk, updated_ms)
SELECT id, done, ok, failed, next_chunk, updated_ms FROM jobs WHERE done > 0;

INSERT INTO chunk_results (job_id, chunk_no, done_ms, results_json)
SELECT job_id, chunk_no, coalesce(done_ms, 0), results_json FROM chunks
WHERE done = 1 AND results_json IS NOT NULL;

DROP TABLE chunk_items;
DROP TABLE chunks;
DROP TABLE jobs;
