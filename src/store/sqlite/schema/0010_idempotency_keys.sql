-- roster SQLite schema 10: idempotency keys (include/roster/idem.h, docs/idempotency.md).
-- A key is written in the transaction of its request's effect, so in that effect's file:
-- the intake file (<store>.jobs, attached as "intake" while this runs) for bulk job
-- submissions and additions, the main file for scheduled state changes. result: what the
-- effect produced (ids), from which the answer is written again on a replay. A live key
-- (expires_ms in the future) is never replaced; an expired one is, and idem_keys_expiry
-- serves the purge of expired keys. The intake table is created IF NOT EXISTS: the two
-- files do not commit together, so after a crash this may run again over it.
-- Never edit a released migration: add NNNN_<what>.sql instead.
CREATE TABLE idem_keys (
    org_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    req_hash TEXT NOT NULL,
    result TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    PRIMARY KEY (org_id, scope, idem_key)
) WITHOUT ROWID;
CREATE INDEX idem_keys_expiry ON idem_keys (expires_ms);

CREATE TABLE IF NOT EXISTS intake.idem_keys (
    org_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    req_hash TEXT NOT NULL,
    result TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    PRIMARY KEY (org_id, scope, idem_key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS intake.idem_keys_expiry ON idem_keys (expires_ms);
