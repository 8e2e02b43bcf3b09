-- roster SQLite schema 9: webhook endpoints (docs/webhooks.md). Each organisation registers
-- endpoints (url, secret whsec_..., the event types it takes: a comma-separated list, NULL
-- for all); an endpoint answered 410 Gone is disabled (disabled_ms, disabled_reason) and no
-- message is written for it any more. Events are outbox messages of kind 'webhook' whose
-- recipient is the endpoint's id, in the channel 'webhook' (schema 11: the channel column
-- and its claim index).
-- Never edit a released migration: add NNNN_<what>.sql instead.
CREATE TABLE webhooks (
    num_id INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,             -- 24 hex
    org_num INTEGER NOT NULL REFERENCES orgs (num_id),
    url TEXT NOT NULL,
    secret TEXT NOT NULL,                -- whsec_<base64>
    events TEXT,                         -- "job.completed,message.sent", NULL: every type
    disabled_ms INTEGER,                 -- NULL: enabled
    disabled_reason TEXT,
    created_ms INTEGER NOT NULL
);
CREATE INDEX webhooks_org ON webhooks (org_num, num_id);
