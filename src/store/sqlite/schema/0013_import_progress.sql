-- roster SQLite schema 13: the progress of `roster import` runs that commit as they go
-- (modes skip and overwrite): rows of a file (file_key: its path, size and modification
-- time) applied so far and the counts of their actions, written in the transaction of
-- those rows, so that the same command after a crash continues after them. Removed when
-- the import ends.
-- Never edit a released migration: add NNNN_<what>.sql instead.
CREATE TABLE import_progress (
    org_num INTEGER NOT NULL,
    file_key TEXT NOT NULL,
    rows_done INTEGER NOT NULL,
    counts TEXT NOT NULL,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (org_num, file_key)
);
