-- roster SQLite schema 14: a version per group (SCIM ETags, W/"<version>"). The store bumps
-- it in the transaction of every write to the group or its membership; a user's deletion,
-- which takes the user out of its groups through ON DELETE CASCADE, bumps them here.

ALTER TABLE groups ADD COLUMN version INTEGER NOT NULL DEFAULT 1;

CREATE TRIGGER users_delete_group_version BEFORE DELETE ON users
BEGIN
    UPDATE groups SET version = version + 1
    WHERE num_id IN (SELECT group_num FROM group_members WHERE user_num = old.num_id);
END;
