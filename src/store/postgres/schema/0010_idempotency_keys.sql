-- roster PostgreSQL schema 10: idempotency keys (include/roster/idem.h,
-- docs/idempotency.md), written in the transaction of their request's effect. The primary
-- key makes a second request with the same key wait on the first one's uncommitted row
-- (INSERT ... ON CONFLICT) and then find it: one effect. result: what the effect produced
-- (ids), from which the answer is written again on a replay. A live key (expires_ms in
-- the future) is never replaced; an expired one is, and idem_keys_expiry serves the purge.
-- Never edit a released migration: add NNNN_<what>.sql instead.
CREATE TABLE idem_keys (
    org_id TEXT COLLATE "C" NOT NULL,
    scope TEXT COLLATE "C" NOT NULL,
    idem_key TEXT COLLATE "C" NOT NULL,
    req_hash TEXT COLLATE "C" NOT NULL,
    result TEXT COLLATE "C" NOT NULL,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    PRIMARY KEY (org_id, scope, idem_key)
);
CREATE INDEX idem_keys_expiry ON idem_keys (expires_ms);
