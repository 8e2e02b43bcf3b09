-- roster PostgreSQL schema 15: the job of a `roster import` (include/roster/job.h
-- ROSTER_JOB_IMPORT) in its progress, so that the same command after a crash continues the
-- same job. The job itself is a row of jobs whose chunks are inserted done, with their
-- results, in the import's transactions: the engine's claims take only chunks not done.
-- Never edit a released migration: add NNNN_<what>.sql instead.
ALTER TABLE import_progress ADD COLUMN job_id TEXT COLLATE "C";
