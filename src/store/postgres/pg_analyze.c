/* Fresh planner statistics after bulk loads (struct pg_analyzer in pg_int.h).
 *
 * Why: PostgreSQL plans with the statistics of the last ANALYZE, and autovacuum runs one
 * only at its next round (a minute by default) after a tenth of the table changed. A list
 * read seconds after a bulk load met a histogram taken when the table was nearly empty:
 * the keyset page of a SCIM walk (`id > $2 ORDER BY id LIMIT 1000`) was estimated at 42
 * rows and planned as a bitmap scan of every user and a sort (98 ms a page for 100,000
 * users, EXPLAIN ANALYZE) instead of reading 1,000 entries of the index in order.
 *
 * How: the users created through user_create_many are counted; once they reach the
 * table's size at the previous ANALYZE (at least PG_ANALYZE_MIN), a thread of the store's
 * runs ANALYZE users on its own connection, so the request that crossed the threshold does
 * not wait for it. The thresholds double with the table. While users keep coming, the
 * ANALYZE waits for a pause of PG_ANALYZE_QUIET_MS (an ANALYZE samples up to 30,000 rows,
 * CPU a bulk load would otherwise share with it: bench/scim's /Bulk on PostgreSQL lost 7%
 * with an ANALYZE at each doubling), unless PG_ANALYZE_FORCE times the threshold came
 * in meanwhile: a load of 100,000 users from empty has one ANALYZE at 50,000 and one
 * when it ends.
 */
#include <stdlib.h>
#include <time.h>

#include "roster/log.h"
#include "roster/wake.h"
#include "store/postgres/pg_int.h"

#define PG_ANALYZE_MIN 10000
#define PG_ANALYZE_QUIET_MS 300
#define PG_ANALYZE_FORCE 4

void pg_analyze_init(struct pg_store *st)
{
    struct pg_analyzer *an = &st->an;
    pthread_mutex_init(&an->mu, NULL);
    pthread_cond_init(&an->cv, NULL);
    an->base = PG_ANALYZE_MIN;
}

static void *analyzer_main(void *arg)
{
    struct pg_store *st = arg;
    struct pg_analyzer *an = &st->an;
    PGconn *db = NULL;
    pthread_mutex_lock(&an->mu);
    for (;;) {
        while (!an->want && !an->stop)
            pthread_cond_wait(&an->cv, &an->mu);
        /* a pause in the creations, or enough of them to run anyway */
        while (!an->stop && roster_monotonic_ms() - an->last_ms < PG_ANALYZE_QUIET_MS &&
               an->inserted < PG_ANALYZE_FORCE * an->base) {
            struct timespec ts;
            roster_deadline_after(&ts, PG_ANALYZE_QUIET_MS / 3);
            pthread_cond_timedwait(&an->cv, &an->mu, &ts);
        }
        if (an->stop)
            break;
        an->want = false;
        an->inserted = 0;
        pthread_mutex_unlock(&an->mu);
        if (db && PQstatus(db) != CONNECTION_OK) {
            PQfinish(db);
            db = NULL;
        }
        if (!db)
            db = pg_session_open(st->url);
        int64_t rows = -1;
        PGresult *r = db && PQstatus(db) == CONNECTION_OK ? PQexec(db, "ANALYZE users") : NULL;
        bool ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok)
            roster_log(ROSTER_LOG_WARN, "ANALYZE users failed", "detail=\"%s\"",
                       db ? PQerrorMessage(db) : "out of memory");
        PQclear(r);
        r = ok ? PQexec(db, "SELECT reltuples::bigint FROM pg_class WHERE oid = 'users'::regclass")
               : NULL;
        if (r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
            rows = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
        pthread_mutex_lock(&an->mu);
        an->base = rows > PG_ANALYZE_MIN ? rows : PG_ANALYZE_MIN;
    }
    pthread_mutex_unlock(&an->mu);
    if (db)
        PQfinish(db);
    return NULL;
}

void pg_analyze_note(struct pg_store *st, int64_t n)
{
    struct pg_analyzer *an = &st->an;
    if (n <= 0)
        return;
    pthread_mutex_lock(&an->mu);
    an->inserted += n;
    an->last_ms = roster_monotonic_ms();
    if (an->inserted >= an->base && !an->stop) {
        an->want = true;
        if (!an->started)
            an->started = pthread_create(&an->th, NULL, analyzer_main, st) == 0;
        pthread_cond_signal(&an->cv);
    }
    pthread_mutex_unlock(&an->mu);
}

void pg_analyze_stop(struct pg_store *st)
{
    struct pg_analyzer *an = &st->an;
    pthread_mutex_lock(&an->mu);
    an->stop = true;
    bool started = an->started;
    pthread_cond_signal(&an->cv);
    pthread_mutex_unlock(&an->mu);
    if (started)
        pthread_join(an->th, NULL);
    pthread_cond_destroy(&an->cv);
    pthread_mutex_destroy(&an->mu);
}
