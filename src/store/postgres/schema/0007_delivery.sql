-- roster PostgreSQL schema 7: outbox delivery (src/core/delivery.c). A message waits in status
-- ENQUEUED until due_ms; a claim moves due_ms to the end of its lease and sets
-- lease_token (0: not claimed), and the outcome of the attempt either ends the message
-- (SENT with sent_ms, or UNDELIVERABLE with reason) or sets the next due_ms. attempts
-- counts the attempts whose outcome was recorded. messages_due holds only the messages
-- still to deliver, in due order: the claim reads its head.
-- Never edit a released migration: add NNNN_<what>.sql instead.
ALTER TABLE messages ADD COLUMN due_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN lease_token BIGINT NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN sent_ms BIGINT;
ALTER TABLE messages ADD COLUMN reason TEXT COLLATE "C";
CREATE INDEX messages_due ON messages (due_ms) WHERE status = 'ENQUEUED';
