-- roster PostgreSQL schema 4: the outbox loses messages_org_id, as in the SQLite store's
-- migration 5: every read of a message is by its id (the primary key) and organisation,
-- and a Courier bulk job writes thousands of messages per transaction.
-- Never edit a released migration: add NNNN_<what>.sql instead.
DROP INDEX messages_org_id;
