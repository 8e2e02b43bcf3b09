-- roster PostgreSQL schema 5: an index behind every filter and order a dialect offers, and
-- the change records that keep lists held in memory exact (docs/lists.md), as in the
-- SQLite store's migration 6.
-- Never edit a released migration: add NNNN_<what>.sql instead.

-- Fields most users have: eq, in, prefix and ranges in id order, and their own order.
CREATE INDEX users_org_last ON users (org_num, last_name, id);
CREATE INDEX users_org_first ON users (org_num, first_name, id);
CREATE INDEX users_org_created ON users (org_num, created_ms, id);
-- user_id (num_id) order: Voximplant GetUsers order_by=user_id without an application
CREATE INDEX users_org_num ON users (org_num, num_id);
-- the inactive states only (most users are ACTIVATED; see the SQLite migration)
CREATE INDEX users_org_state ON users (org_num, state, id) WHERE state <> 1;
-- The fields few users have: partial indexes, which an insert of a user without the field
-- does not touch (measured: twelve of them cost an insert of 100,000 such users nothing).
CREATE INDEX users_org_middle ON users (org_num, middle_name, id) WHERE middle_name IS NOT NULL;
CREATE INDEX users_org_display ON users (org_num, display_name, id) WHERE display_name IS NOT NULL;
CREATE INDEX users_org_department ON users (org_num, department, id) WHERE department IS NOT NULL;
CREATE INDEX users_org_cost_center ON users (org_num, cost_center, id) WHERE cost_center IS NOT NULL;
CREATE INDEX users_org_company ON users (org_num, company, id) WHERE company IS NOT NULL;
CREATE INDEX users_org_job_title ON users (org_num, job_title, id) WHERE job_title IS NOT NULL;
CREATE INDEX users_org_location ON users (org_num, location, id) WHERE location IS NOT NULL;
CREATE INDEX users_org_manager ON users (org_num, manager, id) WHERE manager IS NOT NULL;
CREATE INDEX users_org_country_code ON users (org_num, country_code, id) WHERE country_code IS NOT NULL;
CREATE INDEX users_org_alternate_email ON users (org_num, alternate_email, id) WHERE alternate_email IS NOT NULL;
CREATE INDEX users_org_description ON users (org_num, description, id) WHERE description IS NOT NULL;
CREATE INDEX users_org_employee_type ON users (org_num, employee_type, id) WHERE employee_type IS NOT NULL;

-- the members of a group in Voximplant's orders (see the SQLite migration)
ALTER TABLE group_members ADD COLUMN uname TEXT COLLATE "C";
ALTER TABLE group_members ADD COLUMN dname TEXT COLLATE "C";
ALTER TABLE group_members ADD COLUMN uid TEXT COLLATE "C";
UPDATE group_members AS m SET uname = lower(u.username), dname = u.display_name, uid = u.id
FROM users AS u WHERE u.num_id = m.user_num;
-- covering (user_num included): a page of members is an index-only range scan
CREATE INDEX group_members_uname ON group_members (group_num, uname, uid) INCLUDE (user_num);
CREATE INDEX group_members_dname ON group_members (group_num, dname, uid) INCLUDE (user_num);

-- List versions and change records (see the SQLite migration). A write locks its
-- organisation's version row until it commits, so versions commit in order: a reader
-- that sees version v sees every record up to v.
CREATE TABLE list_versions (
    org_num BIGINT PRIMARY KEY,
    v BIGINT NOT NULL
);
CREATE TABLE list_changes (
    org_num BIGINT NOT NULL,
    v BIGINT NOT NULL,
    kind INTEGER NOT NULL,
    payload TEXT COLLATE "C",
    PRIMARY KEY (org_num, v)
);

-- A user's new username or display name goes to its memberships in the same statement.
CREATE FUNCTION roster_member_keys() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE group_members SET uname = lower(NEW.username), dname = NEW.display_name
    WHERE user_num = NEW.num_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER users_member_keys AFTER UPDATE OF username, display_name ON users FOR EACH ROW
    WHEN (OLD.username IS DISTINCT FROM NEW.username
          OR OLD.display_name IS DISTINCT FROM NEW.display_name)
    EXECUTE FUNCTION roster_member_keys();
