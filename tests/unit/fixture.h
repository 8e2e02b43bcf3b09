/* What the unit tests that need a real store share: a fresh SQLite store in a temp
 * directory with one connection, removed with all its files afterwards, and organisations
 * made in it. Include after test.h, from one .c file per program.
 */
#ifndef ROSTER_TEST_UNIT_FIXTURE_H
#define ROSTER_TEST_UNIT_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "roster/store.h"

struct test_store {
    char dir[64];
    struct roster_store *st;
    struct roster_conn *conn;
};

/* Opens t: 0, or non-zero with the reason on stderr. */
static inline int test_store_open(struct test_store *t, const char *tag)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->dir, sizeof(t->dir), "/tmp/roster-%s-test-XXXXXX", tag);
    if (!mkdtemp(t->dir)) {
        perror("mkdtemp");
        return -1;
    }
    char url[128];
    snprintf(url, sizeof(url), "%s/r.db", t->dir);
    struct roster_err err = {0};
    int rc = roster_store_open(url, &t->st, &err);
    if (rc == 0)
        rc = roster_conn_open(t->st, &t->conn, &err);
    if (rc)
        fprintf(stderr, "cannot open %s: %s (%s)\n", url, err.msg, err.detail);
    return rc;
}

/* Closes t and removes the store, its WAL files, its job intake file and the directory. */
static inline void test_store_close(struct test_store *t)
{
    roster_conn_close(t->conn);
    if (t->st)
        roster_store_close(t->st);
    t->conn = NULL;
    t->st = NULL;
    static const char *const files[] = {"",      "-wal",      "-shm",      "-journal",
                                        ".jobs", ".jobs-wal", ".jobs-shm", ".jobs-journal"};
    char path[128];
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/r.db%s", t->dir, files[i]);
        unlink(path);
    }
    rmdir(t->dir);
}

/* An organisation whose default states are all ACTIVATED. */
static inline void test_make_org(struct roster_conn *c, struct roster_org *o, const char *name)
{
    struct roster_err err = {0};
    memset(o, 0, sizeof(*o));
    o->name = name;
    o->default_state_bulk = o->default_state_app_import = o->default_state_manual =
        ROSTER_ACTIVATED;
    CHECK_EQ_INT(roster_store_org_create(c, o, &err), 0);
}

#endif
