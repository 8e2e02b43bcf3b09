-- roster SQLite schema 2: scheduled user state changes and the message outbox
-- (include/roster/schedule.h). Applied once, in one transaction, after 0001_init.
-- Never edit a released migration: add NNNN_<what>.sql instead.

-- One row per "set user U to state S at time T". status: 0 pending, 1 applied, 2 failed,
-- 3 cancelled (enum roster_sched_status); only pending rows are listed, claimed or
-- cancelled, so every index below is partial on status = 0 and finished rows leave them.
CREATE TABLE schedules (
    num_id INTEGER PRIMARY KEY,
    id TEXT NOT NULL,                    -- 24 hex, unique per organisation
    org_num INTEGER NOT NULL REFERENCES orgs (num_id),
    user_id TEXT NOT NULL,               -- no foreign key: the user may be deleted first
    state INTEGER NOT NULL,              -- enum roster_state to set
    due_ms INTEGER NOT NULL,
    send_activation_email INTEGER NOT NULL DEFAULT 0,
    email_override TEXT,
    status INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL,
    done_ms INTEGER,                     -- NULL while pending
    outcome TEXT NOT NULL DEFAULT '',
    message_id TEXT,                     -- the activation e-mail in messages, or NULL
    lease_token INTEGER,                 -- set by a claim, checked by finish
    lease_until_ms INTEGER
);
CREATE UNIQUE INDEX schedules_org_id ON schedules (org_num, id);
-- schedule_list: one organisation's pending rows in (due, id) order, keyset or offset
CREATE INDEX schedules_org_due ON schedules (org_num, due_ms, id) WHERE status = 0;
-- schedule_claim_due and schedule_next_due: every organisation's pending rows by due time
CREATE INDEX schedules_due ON schedules (due_ms, id) WHERE status = 0;
-- schedule_next (a user's next change per state) and user_id filters of schedule_list.
-- User ids are random, so each new row lands on its own page of this index: it is the
-- largest cost of a bulk insert (measured ~60% at 100,000 pending rows); id is left out
-- to keep it narrow (ties on due_ms are rare and sorted after the look-up).
CREATE INDEX schedules_org_user ON schedules (org_num, user_id, state, due_ms)
    WHERE status = 0;

-- The outbox: every message roster "sends" (activation e-mails, bulk messages). Written once.
CREATE TABLE messages (
    id TEXT PRIMARY KEY,                 -- "1-<8 hex seconds>-<24 hex>"
    org_num INTEGER NOT NULL REFERENCES orgs (num_id),
    kind TEXT NOT NULL,
    source_id TEXT,                      -- the schedule or job that made it
    user_id TEXT,
    recipient TEXT,
    content_json TEXT,
    status TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE INDEX messages_org_id ON messages (org_num, id);
