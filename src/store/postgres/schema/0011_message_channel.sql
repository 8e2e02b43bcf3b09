-- roster PostgreSQL schema 11: each message has a delivery channel ("email", "webhook"),
-- and each channel's workers claim only its messages (src/core/delivery.c), so
-- messages_due becomes per channel. messages_org_id (dropped by schema 4) comes back for
-- `roster outbox list` (an organisation's messages by id, newest first, paged by id), and
-- messages_undeliverable serves its --status UNDELIVERABLE: small, and written only when a
-- message fails for good.
-- Never edit a released migration: add NNNN_<what>.sql instead.
ALTER TABLE messages ADD COLUMN channel TEXT COLLATE "C" NOT NULL DEFAULT 'email';
DROP INDEX messages_due;
CREATE INDEX messages_due ON messages (channel, due_ms) WHERE status = 'ENQUEUED';
CREATE INDEX messages_org_id ON messages (org_num, id);
CREATE INDEX messages_undeliverable ON messages (org_num, id) WHERE status = 'UNDELIVERABLE';
