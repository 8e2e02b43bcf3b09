-- roster SQLite schema 6: an index behind every filter and order a dialect offers, and
-- the change records that keep lists held in memory exact (docs/lists.md).
-- Never edit a released migration: add NNNN_<what>.sql instead.

-- Usernames and e-mail addresses stay unique regardless of ASCII case, now through lower()
-- (which folds ASCII only, like NOCASE did): the same order as PostgreSQL's lower()
-- indexes, so both stores list by the same expression, and an index comparison is a
-- memcmp instead of a case-folding one (measured: 6% of the instructions of an insert).
DROP INDEX users_org_username;
DROP INDEX users_org_email;
CREATE UNIQUE INDEX users_org_username ON users (org_num, lower(username));
CREATE UNIQUE INDEX users_org_email ON users (org_num, lower(email));

-- Fields most users have: eq, in, prefix and ranges in id order, and their own order.
CREATE INDEX users_org_last ON users (org_num, last_name, id);
CREATE INDEX users_org_first ON users (org_num, first_name, id);
CREATE INDEX users_org_created ON users (org_num, created_ms, id);
-- user_id (num_id) order: Voximplant GetUsers order_by=user_id without an application
CREATE INDEX users_org_num ON users (org_num);
-- The inactive states only: most users are ACTIVATED, which the id order serves with the
-- state checked per row; an insert of an active user writes nothing here.
CREATE INDEX users_org_state ON users (org_num, state, id) WHERE state <> 1;

-- The fields few users have, copied for the users that have any of them: an index on
-- users costs every insert (opening its cursor alone is ~700 instructions), set or not;
-- a row here costs only the users that have such a field. Written by the store with the
-- users row (sqlite_lists.c); deleted with it.
CREATE TABLE user_sparse (
    num_id INTEGER PRIMARY KEY REFERENCES users (num_id) ON DELETE CASCADE,
    org_num INTEGER NOT NULL,
    id TEXT NOT NULL,
    middle_name TEXT,
    display_name TEXT,
    department TEXT,
    cost_center TEXT,
    company TEXT,
    job_title TEXT,
    location TEXT,
    manager TEXT,
    country_code TEXT,
    alternate_email TEXT,
    description TEXT,
    employee_type TEXT
);
CREATE INDEX user_sparse_middle ON user_sparse (org_num, middle_name, id) WHERE middle_name IS NOT NULL;
CREATE INDEX user_sparse_display ON user_sparse (org_num, display_name, id) WHERE display_name IS NOT NULL;
CREATE INDEX user_sparse_department ON user_sparse (org_num, department, id) WHERE department IS NOT NULL;
CREATE INDEX user_sparse_cost_center ON user_sparse (org_num, cost_center, id) WHERE cost_center IS NOT NULL;
CREATE INDEX user_sparse_company ON user_sparse (org_num, company, id) WHERE company IS NOT NULL;
CREATE INDEX user_sparse_job_title ON user_sparse (org_num, job_title, id) WHERE job_title IS NOT NULL;
CREATE INDEX user_sparse_location ON user_sparse (org_num, location, id) WHERE location IS NOT NULL;
CREATE INDEX user_sparse_manager ON user_sparse (org_num, manager, id) WHERE manager IS NOT NULL;
CREATE INDEX user_sparse_country_code ON user_sparse (org_num, country_code, id) WHERE country_code IS NOT NULL;
CREATE INDEX user_sparse_alternate_email ON user_sparse (org_num, alternate_email, id) WHERE alternate_email IS NOT NULL;
CREATE INDEX user_sparse_description ON user_sparse (org_num, description, id) WHERE description IS NOT NULL;
CREATE INDEX user_sparse_employee_type ON user_sparse (org_num, employee_type, id) WHERE employee_type IS NOT NULL;
INSERT INTO user_sparse (num_id, org_num, id, middle_name, display_name, department, cost_center,
                         company, job_title, location, manager, country_code, alternate_email,
                         description, employee_type)
SELECT num_id, org_num, id, middle_name, display_name, department, cost_center, company,
       job_title, location, manager, country_code, alternate_email, description, employee_type
FROM users
WHERE coalesce(middle_name, display_name, department, cost_center, company, job_title, location,
               manager, country_code, alternate_email, description, employee_type) IS NOT NULL;

-- The members of a group in Voximplant's orders (user_name, display name; user_id is the
-- primary key's): each membership carries its user's sort keys, rewritten by the store
-- when a user's username or display name changes.
ALTER TABLE group_members ADD COLUMN uname TEXT;  -- lower(username)
ALTER TABLE group_members ADD COLUMN dname TEXT;  -- display_name
ALTER TABLE group_members ADD COLUMN uid TEXT;    -- the user's id (the tiebreak)
UPDATE group_members SET (uname, dname, uid) =
    (SELECT lower(u.username), u.display_name, u.id FROM users AS u WHERE u.num_id = user_num);
CREATE INDEX group_members_uname ON group_members (group_num, uname, uid);
CREATE INDEX group_members_dname ON group_members (group_num, dname, uid);

-- List versions and change records: every write that can change a user list bumps its
-- organisation's version and records what changed (a user before and after, or "reset"),
-- in its own transaction. A reader that holds a list at version v reads the records after
-- v in its snapshot and brings the list up to date (src/core/lists.c). Old records are
-- pruned; a reader whose records are gone starts the list afresh.
CREATE TABLE list_versions (
    org_num INTEGER PRIMARY KEY,
    v INTEGER NOT NULL
);
CREATE TABLE list_changes (
    org_num INTEGER NOT NULL,
    v INTEGER NOT NULL,
    kind INTEGER NOT NULL,               -- enum roster_change_kind
    payload TEXT,                        -- src/store/store_changes.c (NULL for a reset)
    PRIMARY KEY (org_num, v)
) WITHOUT ROWID;

-- A user's new username or display name goes to its memberships in the same statement.
CREATE TRIGGER users_member_keys AFTER UPDATE OF username, display_name ON users
WHEN old.username IS NOT new.username OR old.display_name IS NOT new.display_name
BEGIN
    UPDATE group_members SET uname = lower(new.username), dname = new.display_name
    WHERE user_num = new.num_id;
END;
