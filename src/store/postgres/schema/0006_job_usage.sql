-- roster PostgreSQL schema 6: the unfinished bulk jobs of each organisation, for the
-- quotas --max-open-jobs and --max-pending-items (job_usage counts them before a job is
-- created or items are added): an index of just those rows, so the count reads the
-- organisation's open jobs, not every job it ever had.
-- Never edit a released migration: add NNNN_<what>.sql instead.
CREATE INDEX jobs_org_open ON jobs (org_id) WHERE status <> 2;
