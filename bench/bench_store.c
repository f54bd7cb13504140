/* bench/bench_store.c — durable puts per second through store/ (sealed,
 * group-committed, WAL + synchronous=FULL) with 1 and 16 threads, against
 * the peer: a plain SQLite loop of one INSERT per COMMIT with WAL and
 * synchronous=FULL (each of 16 threads on its own connection, as an
 * application without group commit would do). Both in a fresh folder under
 * $TMPDIR (default /tmp), which should be on the disk under test. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "keygen/keygen.h"
#include "store/store.h"

#define THREADS_MAX 16

struct job {
	struct store *s;
	const char *db;
	double seconds;
	uint64_t done, failed;
	int tid;
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
		snprintf(id, sizeof(id), "%d-%llu", j->tid, (unsigned long long)i++);
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

static double run(void *(*fn)(void *), struct store *s, const char *db, int threads,
		  double seconds, uint64_t *failed)
{
	pthread_t th[THREADS_MAX];
	struct job j[THREADS_MAX];
	uint64_t t0 = now_ns(), total = 0;
	*failed = 0;
	for (int i = 0; i < threads; i++) {
		j[i] = (struct job){s, db, seconds, 0, 0, i};
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
out:
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("  (could not remove %s)\n", dir);
}
