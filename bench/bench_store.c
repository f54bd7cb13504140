/* bench/bench_store.c — durable puts per second through store/ (sealed,
 * group-committed, WAL + synchronous=FULL) with 1 and 16 threads, against
 * the peer: a plain SQLite loop of one INSERT per COMMIT with WAL and
 * synchronous=FULL (each of 16 threads on its own connection, as an
 * application without group commit would do). Both in a fresh folder under
 * $TMPDIR (default /tmp), which should be on the disk under test.
 * Then the same on PostgreSQL (a server started for the run, fsync on, no
 * standby; tests/lib/pgtest.c), against a plain libpq loop of one INSERT
 * per COMMIT on a connection per thread. */
#include <libpq-fe.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "keygen/keygen.h"
#include "store/store.h"
#include "tests/lib/pgtest.h"

#define THREADS_MAX 16

struct job {
	struct store *s;
	const char *db;
	double seconds;
	uint64_t done, failed;
	int tid;
	uint64_t run; /* the run's start: ids unique across runs on one table */
};

static void *fount_job(void *p)
{
	struct job *j = p;
	uint8_t key[32] = {1};
	char id[STORE_ID_MAX + 1];
	uint64_t end = now_ns() + (uint64_t)(j->seconds * 1e9);
	while (now_ns() < end) {
		struct store_new_object n = {0};
		n.tenant = "bench";
		n.type = STORE_OBJ_SYMMETRIC_KEY;
		n.alg = STORE_ALG_AES;
		n.length = 256;
		n.material = key;
		n.material_len = sizeof(key);
		if (store_put(j->s, &n, id) == ERR_OK)
			j->done++;
		else
			j->failed++;
	}
	return NULL;
}

static void *peer_job(void *p)
{
	struct job *j = p;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	uint8_t blob[60] = {2};
	char id[48];
	if (sqlite3_open(j->db, &db) != SQLITE_OK)
		return NULL;
	sqlite3_busy_timeout(db, 10000);
	sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL, NULL);
	if (sqlite3_prepare_v2(db, "INSERT INTO t(id, v) VALUES (?, ?)", -1, &st, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return NULL;
	}
	uint64_t end = now_ns() + (uint64_t)(j->seconds * 1e9), i = 0;
	while (now_ns() < end) {
		snprintf(id, sizeof(id), "%llu-%d-%llu", (unsigned long long)j->run, j->tid, (unsigned long long)i++);
		sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_blob(st, 2, blob, sizeof(blob), SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_DONE) /* autocommit: one COMMIT each */
			j->done++;
		else
			j->failed++;
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return NULL;
}

/* the PostgreSQL peer: |db| is its URL */
static void *peer_pg_job(void *p)
{
	struct job *j = p;
	PGconn *c = PQconnectdb(j->db);
	uint8_t blob[60] = {2};
	char id[48];
	if (PQstatus(c) != CONNECTION_OK) {
		PQfinish(c);
		return NULL;
	}
	PQclear(PQprepare(c, "ins", "INSERT INTO t(id, v) VALUES ($1, $2)", 0, NULL));
	uint64_t end = now_ns() + (uint64_t)(j->seconds * 1e9), i = 0;
	while (now_ns() < end) {
		snprintf(id, sizeof(id), "%llu-%d-%llu", (unsigned long long)j->run, j->tid, (unsigned long long)i++);
		const char *v[2] = {id, (const char *)blob};
		const int len[2] = {0, sizeof(blob)}, fmt[2] = {0, 1};
		PGresult *r = PQexecPrepared(c, "ins", 2, v, len, fmt, 0); /* autocommit: one COMMIT each */
		if (PQresultStatus(r) == PGRES_COMMAND_OK)
			j->done++;
		else
			j->failed++;
		PQclear(r);
	}
	PQfinish(c);
	return NULL;
}

static double run(void *(*fn)(void *), struct store *s, const char *db, int threads,
		  double seconds, uint64_t *failed)
{
	pthread_t th[THREADS_MAX];
	struct job j[THREADS_MAX];
	uint64_t t0 = now_ns(), total = 0;
	*failed = 0;
	for (int i = 0; i < threads; i++) {
		j[i] = (struct job){s, db, seconds, 0, 0, i, t0};
		if (pthread_create(&th[i], NULL, fn, &j[i]) != 0)
			threads = i;
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(th[i], NULL);
		total += j[i].done;
		*failed += j[i].failed;
	}
	return (double)total / ((double)(now_ns() - t0) / 1e9);
}

static void bench_store_pg(const char *dir, const char *kek, double seconds)
{
	char parent[64], url[256];
	struct pgtest pg;
	printf("Key store on PostgreSQL (a local server for the run: fsync on, no standby)\n");
	if (!pgtest_available()) {
		printf("  skipped: PostgreSQL is not installed (make deps)\n\n");
		return;
	}
	(void)dir;
	if (pgtest_parent(parent, "bench") != 0 || pgtest_primary(&pg, parent, "p1", NULL) != 0 ||
	    pgtest_sql(&pg, NULL, "CREATE DATABASE fount", NULL, 0) != 0 ||
	    pgtest_sql(&pg, "fount", "CREATE TABLE t(id TEXT PRIMARY KEY, v BYTEA)", NULL, 0) != 0) {
		printf("  skipped: cannot start a PostgreSQL server\n\n");
		pgtest_remove(&pg);
		return;
	}
	pgtest_url(&pg, "fount", url, sizeof(url));
	struct store_options o = {.path = "", .kek = kek, .url = url};
	struct store *s = NULL;
	char eb[384];
	/* the SQLite case's KEK file: the same KEK, a new database */
	if (store_open(&o, &s, eb, sizeof(eb)) != ERR_OK) {
		printf("  skipped: %s\n\n", eb);
		pgtest_remove(&pg);
		return;
	}
	printf("%-4s %-46s %12s\n", "thr", "implementation", "puts/s");
	static const int threads[] = {1, 16};
	for (size_t i = 0; i < ARRAY_SIZE(threads); i++) {
		uint64_t f1 = 0, f2 = 0;
		struct store_stats a, b;
		store_stats(s, &a);
		double fr = run(fount_job, s, NULL, threads[i], seconds, &f1);
		store_stats(s, &b);
		double pr = run(peer_pg_job, NULL, url, threads[i], seconds, &f2);
		uint64_t commits = b.commits - a.commits, reqs = b.requests - a.requests;
		printf("%-4d %-46s %12.0f  (%.1f puts per COMMIT%s)\n", threads[i], "fount store_put", fr,
		       commits ? (double)reqs / (double)commits : 0.0, f1 ? ", FAILURES" : "");
		printf("%-4d %-46s %12.0f%s\n", threads[i], "libpq INSERT per COMMIT", pr, f2 ? "  (failures)" : "");
		printf("%-4d   fount/libpq loop = %.2fx\n\n", threads[i], pr > 0 ? fr / pr : 0.0);
	}
	store_close(s);
	pgtest_remove(&pg);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", parent);
	if (system(cmd) != 0)
		printf("  (could not remove %s)\n", parent);
}

void bench_store(double seconds)
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char dir[256], db[300], kek[310], peer[300], cmd[300];
	snprintf(dir, sizeof(dir), "%s/fount-bench-store-XXXXXX", base);
	if (seconds < 0.5)
		seconds = 0.5; /* fsync rates need a longer window than the CPU cases */
	printf("Key store (store/: sealed AES-256-GCM, group commit, WAL + synchronous=FULL; %s)\n", base);
	if (mkdtemp(dir) == NULL) {
		printf("  skipped: cannot make a folder under %s\n\n", base);
		return;
	}
	snprintf(db, sizeof(db), "%s/fount.db", dir);
	snprintf(kek, sizeof(kek), "file:%s/store.kek", dir);
	snprintf(peer, sizeof(peer), "%s/peer.db", dir);
	struct store_options o = {.path = db, .kek = kek};
	struct store *s = NULL;
	char eb[256];
	err_t r = store_open(&o, &s, eb, sizeof(eb));
	if (r != ERR_OK) {
		printf("  skipped: %s\n\n", eb);
		goto out;
	}
	sqlite3 *pdb = NULL;
	if (sqlite3_open(peer, &pdb) != SQLITE_OK ||
	    sqlite3_exec(pdb, "PRAGMA journal_mode=WAL; CREATE TABLE t(id TEXT PRIMARY KEY, v BLOB);",
			 NULL, NULL, NULL) != SQLITE_OK) {
		printf("  skipped: cannot create the peer database\n\n");
		sqlite3_close(pdb);
		store_close(s);
		goto out;
	}
	sqlite3_close(pdb);

	printf("%-4s %-46s %12s\n", "thr", "implementation", "puts/s");
	static const int threads[] = {1, 16};
	for (size_t i = 0; i < ARRAY_SIZE(threads); i++) {
		uint64_t f1 = 0, f2 = 0;
		struct store_stats a, b;
		store_stats(s, &a);
		double fr = run(fount_job, s, NULL, threads[i], seconds, &f1);
		store_stats(s, &b);
		double pr = run(peer_job, NULL, peer, threads[i], seconds, &f2);
		uint64_t commits = b.commits - a.commits, reqs = b.requests - a.requests;
		printf("%-4d %-46s %12.0f  (%.1f puts per COMMIT%s)\n", threads[i], "fount store_put",
		       fr, commits ? (double)reqs / (double)commits : 0.0, f1 ? ", FAILURES" : "");
		printf("%-4d %-46s %12.0f%s\n", threads[i], "SQLite INSERT per COMMIT (WAL, FULL)", pr,
		       f2 ? "  (some BUSY failures)" : "");
		printf("%-4d   fount/SQLite loop = %.2fx\n\n", threads[i], pr > 0 ? fr / pr : 0.0);
	}
	store_close(s);
	bench_store_pg(dir, kek, seconds);
out:
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("  (could not remove %s)\n", dir);
}
