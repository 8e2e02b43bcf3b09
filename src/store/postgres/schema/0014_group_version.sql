-- roster PostgreSQL schema 14: a version per group (SCIM ETags, W/"<version>"). The store
-- bumps it in the transaction of every write to the group or its membership; a user's
-- deletion, which takes the user out of its groups through ON DELETE CASCADE, bumps them here.

ALTER TABLE groups ADD COLUMN version BIGINT NOT NULL DEFAULT 1;

CREATE FUNCTION roster_group_version_on_user_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE groups SET version = version + 1
    WHERE num_id IN (SELECT group_num FROM group_members WHERE user_num = OLD.num_id);
    RETURN OLD;
END
$$;
CREATE TRIGGER users_delete_group_version BEFORE DELETE ON users FOR EACH ROW
    EXECUTE FUNCTION roster_group_version_on_user_delete();
