-- roster SQLite schema 5: the outbox loses messages_org_id. Every read of a message is by
-- its id (the primary key) and organisation, which the primary key serves alone, while a
-- Courier bulk job writes thousands of messages per transaction, each paying one more
-- B-tree insert for this index (measured: 100,000 messages written in transactions of
-- 10,000 took ~12% less CPU without it).
-- Never edit a released migration: add NNNN_<what>.sql instead.
DROP INDEX messages_org_id;
