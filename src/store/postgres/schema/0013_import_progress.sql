-- roster PostgreSQL schema 13: the progress of `roster import` runs that commit as they go
-- (modes skip and overwrite): rows of a file (file_key: its path, size and modification
-- time) applied so far and the counts of their actions, written in the transaction of
-- those rows, so that the same command after a crash continues after them. Removed when
-- the import ends.
-- Never edit a released migration: add NNNN_<what>.sql instead.
CREATE TABLE import_progress (
    org_num BIGINT NOT NULL REFERENCES orgs (num_id),
    file_key TEXT COLLATE "C" NOT NULL,
    rows_done BIGINT NOT NULL,
    counts TEXT NOT NULL,
    updated_ms BIGINT NOT NULL,
    PRIMARY KEY (org_num, file_key)
);
