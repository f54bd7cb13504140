/* store/sqlite.c — the embedded backend: SQLite 3 in WAL mode with
 * synchronous=FULL on every connection, the schema and its migrations, and
 * the group commit.
 *
 * One writer thread (store/queue.c) owns the write connection and drains
 * a queue of write requests: BEGIN IMMEDIATE, then each request inside SAVEPOINT r ...
 * RELEASE r (ROLLBACK TO r when it fails, so one request's error does not
 * fail the others), then one COMMIT, i.e. one fdatasync of the -wal for the
 * whole batch (store-ha.md §1.1-1.2). Only after COMMIT returns SQLITE_OK
 * is any request of the batch answered with success. A disk under the
 * store's reserve refuses what adds data before it starts (see "disk
 * headroom"); SQLITE_FULL at commit, should a batch still meet ENOSPC,
 * means the batch rolled back (every request gets ERR_STORE_FULL); an
 * IOERR at commit means the outcome is unknown (the commit frame may be on
 * disk, §1.3), so every request gets ERR_STORE_COMMIT_UNKNOWN and the
 * writer connection is closed and reopened. Readers have their own
 * connections and never wait for the writer (WAL).
 *
 * SQLite C API facts used here: sqlite3_open_v2 with SQLITE_OPEN_NOMUTEX
 * (each connection is used by one thread at a time), sqlite3_prepare_v3
 * with SQLITE_PREPARE_PERSISTENT for the cached statements, and
 * sqlite3_get_autocommit() to learn that an error rolled the transaction
 * back (sqlite.org/c3ref/get_autocommit.html, lang_transaction.html). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "store/internal.h"

/* ---- schema and migrations ------------------------------------------------ */

/* the columns of objects as migration 4 finds them */
#define ROW_COLS_V3                                                                     \
	"id, tenant, type, state, alg, length, usage_mask, key_format, revocation_reason," \
	" initial_date, activation_date, deactivation_date, destroy_date, compromise_date," \
	" compromise_occurrence_date, last_change_date, original_creation_date, created_ns," \
	" digest, data_type, protection"

static const char *const migrations[] = {
	/* 1: the first schema */
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value BLOB NOT NULL);"
	"CREATE TABLE objects("
	" id TEXT PRIMARY KEY, tenant TEXT NOT NULL, type INTEGER NOT NULL,"
	" state INTEGER NOT NULL, alg INTEGER NOT NULL, length INTEGER NOT NULL,"
	" usage_mask INTEGER NOT NULL, key_format INTEGER NOT NULL,"
	" revocation_reason INTEGER NOT NULL, initial_date INTEGER NOT NULL,"
	" activation_date INTEGER NOT NULL, deactivation_date INTEGER NOT NULL,"
	" destroy_date INTEGER NOT NULL, compromise_date INTEGER NOT NULL,"
	" compromise_occurrence_date INTEGER NOT NULL, last_change_date INTEGER NOT NULL,"
	" original_creation_date INTEGER NOT NULL, created_ns INTEGER NOT NULL, digest BLOB);"
	"CREATE INDEX objects_tenant_order ON objects(tenant, created_ns, id);"
	"CREATE INDEX objects_order ON objects(created_ns, id);"
	"CREATE TABLE attributes("
	" id TEXT NOT NULL REFERENCES objects(id), name TEXT NOT NULL, idx INTEGER NOT NULL,"
	" type INTEGER NOT NULL, value BLOB NOT NULL, search TEXT,"
	" PRIMARY KEY(id, name, idx)) WITHOUT ROWID;"
	"CREATE INDEX attributes_search ON attributes(name, search) WHERE search IS NOT NULL;"
	"CREATE INDEX attributes_value ON attributes(name, value);"
	"CREATE TABLE material(id TEXT PRIMARY KEY REFERENCES objects(id), sealed BLOB NOT NULL);"
	"CREATE TABLE access_log(seq INTEGER PRIMARY KEY, id TEXT NOT NULL,"
	" tenant TEXT NOT NULL, fingerprint BLOB NOT NULL, operation TEXT NOT NULL,"
	" time INTEGER NOT NULL);"
	"CREATE INDEX access_log_id ON access_log(id);",
	/* 2: Names unique per tenant (KMIP 1.4 §3.2: "Names SHALL be unique
	 * within a given key management domain"; a tenant is fount's domain).
	 * One row per live Name instance; a destroyed object's names are
	 * released. Existing duplicates: the oldest object keeps the name.
	 * Portable SQL (SQLite >= 3.24 and PostgreSQL: ON CONFLICT DO NOTHING). */
	"CREATE TABLE names(tenant TEXT NOT NULL, name TEXT NOT NULL,"
	" id TEXT NOT NULL REFERENCES objects(id), idx INTEGER NOT NULL,"
	" PRIMARY KEY(tenant, name));"
	"CREATE INDEX names_id ON names(id, idx);"
	"INSERT INTO names(tenant, name, id, idx)"
	" SELECT o.tenant, a.search, a.id, a.idx FROM attributes a JOIN objects o ON o.id = a.id"
	" WHERE a.name = 'Name' AND a.search IS NOT NULL AND o.state NOT IN (5, 6)"
	" ORDER BY o.created_ns, a.id, a.idx ON CONFLICT DO NOTHING;"
	/* and the kind of data an object without a key block holds: Secret
	 * Data Type, Opaque Data Type, Certificate Type (KMIP 1.4 §2.2) */
	"ALTER TABLE objects ADD COLUMN data_type INTEGER NOT NULL DEFAULT 0;",
	/* 3: the protection bits of KMIP 1.4 §3.34 Fresh and §3.48-§3.51
	 * Sensitive, Always Sensitive, Extractable, Never Extractable
	 * (STORE_P_*). Existing objects: Extractable, not Sensitive (the
	 * defaults of §3.48 and §3.50), Fresh unless the access log shows
	 * their material served (Get, wrapped Get). Portable SQL. */
	"ALTER TABLE objects ADD COLUMN protection INTEGER NOT NULL DEFAULT 8;"
	"UPDATE objects SET protection = protection + 1 WHERE id NOT IN"
	" (SELECT id FROM access_log WHERE operation IN ('kmip get', 'kmip get wrapped', 'get wrapped'));",
	/* 4: objects and material keyed by their identifier alone (WITHOUT
	 * ROWID): a rowid table with a TEXT PRIMARY KEY walks two B-trees per
	 * lookup (the key's index to the rowid, then the table), one does
	 * (sqlite.org/withoutrowid.html). SQLite cannot change a table's kind
	 * in place: each is rebuilt, its rows copied and its indexes made
	 * again (sqlite.org/lang_altertable.html §7, foreign keys off around
	 * it, checked before the commit: see migrate). */
	"CREATE TABLE objects_new("
	" id TEXT NOT NULL PRIMARY KEY, tenant TEXT NOT NULL, type INTEGER NOT NULL,"
	" state INTEGER NOT NULL, alg INTEGER NOT NULL, length INTEGER NOT NULL,"
	" usage_mask INTEGER NOT NULL, key_format INTEGER NOT NULL,"
	" revocation_reason INTEGER NOT NULL, initial_date INTEGER NOT NULL,"
	" activation_date INTEGER NOT NULL, deactivation_date INTEGER NOT NULL,"
	" destroy_date INTEGER NOT NULL, compromise_date INTEGER NOT NULL,"
	" compromise_occurrence_date INTEGER NOT NULL, last_change_date INTEGER NOT NULL,"
	" original_creation_date INTEGER NOT NULL, created_ns INTEGER NOT NULL, digest BLOB,"
	" data_type INTEGER NOT NULL DEFAULT 0, protection INTEGER NOT NULL DEFAULT 8) WITHOUT ROWID;"
	"INSERT INTO objects_new(" ROW_COLS_V3 ") SELECT " ROW_COLS_V3 " FROM objects;"
	"DROP TABLE objects;"
	"ALTER TABLE objects_new RENAME TO objects;"
	"CREATE INDEX objects_tenant_order ON objects(tenant, created_ns, id);"
	"CREATE INDEX objects_order ON objects(created_ns, id);"
	"CREATE TABLE material_new(id TEXT NOT NULL PRIMARY KEY REFERENCES objects(id),"
	" sealed BLOB NOT NULL) WITHOUT ROWID;"
	"INSERT INTO material_new(id, sealed) SELECT id, sealed FROM material;"
	"DROP TABLE material;"
	"ALTER TABLE material_new RENAME TO material;",
	/* 5: the access log without its index on the object's identifier.
	 * Every Get appends a record; an index on a random UUID put each one
	 * in a random leaf page, so each record cost a page of the WAL and
	 * its share of the fdatasync, where the log itself (by seq) fills
	 * one page after another. Lookups by object are an audit's, rare,
	 * and scan the log (as an audit of a log file does). */
	"DROP INDEX IF EXISTS access_log_id;",
	/* 6: leases (KMIP 1.4 §3.20 Lease Time, §4.20 Obtain Lease): the end
	 * of the lease each access granted, 0 for none (every record before
	 * leases, Encrypt and Decrypt, a revoked key's Get). Portable SQL. */
	"ALTER TABLE access_log ADD COLUMN lease_end INTEGER NOT NULL DEFAULT 0;",
	/* 7: events (store.h), one row per state change or re-key, written in
	 * the change's transaction; seq in commit order (SQLite: one writer).
	 * Portable SQL but for the key (PostgreSQL: an identity column). */
	("CREATE TABLE events(seq INTEGER PRIMARY KEY, time INTEGER NOT NULL, kind TEXT NOT NULL,"
	 " id TEXT NOT NULL, new_id TEXT NOT NULL, tenant TEXT NOT NULL, state INTEGER NOT NULL);"),
	/* 8: the leases table (store/lease.c, STORE_LEASES_FOLD_SQL) from the
	 * log so far (at once: no skipped record, so no slack), leases already
	 * over marked ended (no event for the past); the partial index finds
	 * the open ones; the events' holder (lease_end). Portable SQL but for
	 * "now". */
	("CREATE TABLE leases(id TEXT NOT NULL, tenant TEXT NOT NULL, fingerprint BLOB NOT NULL,"
	 " lease_end INTEGER NOT NULL, ended INTEGER NOT NULL, slack INTEGER NOT NULL,"
	 " PRIMARY KEY (id, tenant, fingerprint)) WITHOUT ROWID;"
	 "CREATE INDEX leases_open ON leases(lease_end) WHERE ended = 0;"
	 "CREATE TABLE lease_fold(seq INTEGER NOT NULL);"
	 "INSERT INTO lease_fold VALUES (0);"
	 STORE_LEASES_FOLD_SQL("0", "9223372036854775807", "CAST(strftime('%s', 'now') AS INTEGER)",
			       "9223372036854775807") ";"
	 STORE_LEASES_MARK_SQL("9223372036854775807") ";"
	 "ALTER TABLE events ADD COLUMN holder TEXT NOT NULL DEFAULT '';"
	 "ALTER TABLE events ADD COLUMN holder_fp BLOB;"),
};
_Static_assert(ARRAY_SIZE(migrations) == STORE_SCHEMA_VERSION, "a migration for each schema version");
static const char *extra_migration; /* tests only */

unsigned store_schema_version(void)
{
	return (unsigned)ARRAY_SIZE(migrations) + (extra_migration != NULL);
}

void store_testing_extra_migration(const char *sql)
{
	extra_migration = sql;
}

/* ---- connections and cached statements ------------------------------------- */

#define ROW_COLS                                                                        \
	"id, tenant, type, state, alg, length, usage_mask, key_format, revocation_reason," \
	" initial_date, activation_date, deactivation_date, destroy_date, compromise_date," \
	" compromise_occurrence_date, last_change_date, original_creation_date, created_ns," \
	" digest, data_type, protection"

enum stmt_id {
	S_ROW_GET, S_ROW_INSERT, S_ROW_UPDATE, S_ATTR_INSERT, S_ATTR_UPDATE, S_ATTR_DEL_ONE,
	S_ATTR_DEL_ALL, S_ATTR_COUNT, S_MAT_PUT, S_MAT_ZERO, S_MAT_DEL, S_ACCESS_INSERT,
	S_META_PUT, S_META_GET, S_ATTRS_GET, S_MAT_GET, S_ACCESS_COUNT, S_HOLDERS_OF, S_HELD_BY, S_EVENT_INSERT, S_EVENTS_OF, S_EVENTS_ALL, S_EVENTS_LATEST,
	S_LEASES_FOLD, S_LEASES_MARK, S_LEASES_ENDED, S_LEASE_DONE, S_LEASES_STATUS,
	S_NAME_CLAIM, S_NAME_RELEASE_ONE, S_NAME_RELEASE_ALL, S_BEGIN, S_BEGIN_IMMEDIATE, S_COMMIT, S_SAVEPOINT,
	S_RELEASE, S_COUNT_
};

static const char *const stmt_sql[S_COUNT_] = {
	[S_ROW_GET] = "SELECT " ROW_COLS " FROM objects WHERE id = ?1",
	[S_ROW_INSERT] = "INSERT INTO objects(" ROW_COLS ") VALUES"
			 " (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21)",
	[S_ROW_UPDATE] = "UPDATE objects SET tenant=?2, type=?3, state=?4, alg=?5, length=?6,"
			 " usage_mask=?7, key_format=?8, revocation_reason=?9, initial_date=?10,"
			 " activation_date=?11, deactivation_date=?12, destroy_date=?13,"
			 " compromise_date=?14, compromise_occurrence_date=?15,"
			 " last_change_date=?16, original_creation_date=?17, created_ns=?18,"
			 " digest=?19, data_type=?20, protection=?21 WHERE id=?1",
	[S_ATTR_INSERT] = "INSERT INTO attributes(id, name, idx, type, value, search)"
			  " VALUES (?1,?2,?3,?4,?5,?6)",
	[S_ATTR_UPDATE] = "UPDATE attributes SET type=?4, value=?5, search=?6"
			  " WHERE id=?1 AND name=?2 AND idx=?3",
	[S_ATTR_DEL_ONE] = "DELETE FROM attributes WHERE id=?1 AND name=?2 AND idx=?3",
	[S_ATTR_DEL_ALL] = "DELETE FROM attributes WHERE id=?1 AND name=?2",
	[S_ATTR_COUNT] = "SELECT count(*), coalesce(max(idx) + 1, 0) FROM attributes"
			 " WHERE id=?1 AND name=?2",
	[S_MAT_PUT] = "INSERT OR REPLACE INTO material(id, sealed) VALUES (?1, ?2)",
	[S_MAT_ZERO] = "UPDATE material SET sealed = zeroblob(length(sealed)) WHERE id=?1",
	[S_MAT_DEL] = "DELETE FROM material WHERE id=?1",
	[S_ACCESS_INSERT] = "INSERT INTO access_log(id, tenant, fingerprint, operation, time, lease_end)"
			    " VALUES (?1,?2,?3,?4,?5,?6)",
	[S_META_PUT] = "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)",
	[S_META_GET] = "SELECT value FROM meta WHERE key=?1",
	[S_ATTRS_GET] = "SELECT name, idx, type, value, search FROM attributes WHERE id=?1"
			" ORDER BY name, idx",
	[S_MAT_GET] = "SELECT sealed FROM material WHERE id=?1",
	[S_ACCESS_COUNT] = "SELECT count(*) FROM access_log WHERE id=?1",
	/* the holders: one scan of the log (it has no index by object or
	 * tenant, see migration 5) */
	[S_HOLDERS_OF] = STORE_HOLDERS_SQL("a.id", "?1", "?2", "a.tenant, a.fingerprint"),
	[S_HELD_BY] = STORE_HOLDERS_SQL("a.tenant", "?1", "?2", "a.id, a.fingerprint"),
	[S_EVENT_INSERT] = "INSERT INTO events(time, kind, id, new_id, tenant, state, holder, holder_fp)"
			   " VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
	[S_EVENTS_OF] = STORE_EVENTS_OF_SQL("?1", "?2", "?3"),
	[S_EVENTS_ALL] = STORE_EVENTS_ALL_SQL("?1", "?3"),
	[S_EVENTS_LATEST] = "SELECT coalesce(max(seq), 0) FROM events",
	/* the fold's range starts at the mark, read in the statement itself */
	[S_LEASES_FOLD] = STORE_LEASES_FOLD_SQL("(SELECT seq FROM lease_fold)", "?1", "?2", "?3"),
	[S_LEASES_MARK] = STORE_LEASES_MARK_SQL("?1"),
	[S_LEASES_ENDED] = STORE_LEASES_ENDED_SQL("?1", "?2"),
	[S_LEASE_DONE] = STORE_LEASE_DONE_SQL("?1", "?2", "?3"),
	[S_LEASES_STATUS] = STORE_LEASES_STATUS_SQL("?1"),
	[S_NAME_CLAIM] = "INSERT INTO names(tenant, name, id, idx) VALUES (?1,?2,?3,?4)",
	[S_NAME_RELEASE_ONE] = "DELETE FROM names WHERE id=?1 AND idx=?2",
	[S_NAME_RELEASE_ALL] = "DELETE FROM names WHERE id=?1",
	/* the transaction statements the writer runs per batch and per request,
	 * and a reader's snapshot, prepared once instead of parsed each time */
	[S_BEGIN] = "BEGIN",
	[S_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_SAVEPOINT] = "SAVEPOINT r",
	[S_RELEASE] = "RELEASE r",
};

struct conn {
	sqlite3 *db;
	sqlite3_stmt *st[S_COUNT_];
	bool busy; /* readers: lent out */
};

struct store_txn {
	struct conn *c;
	int fatal_rc; /* the last SQLite error a statement of this request met */
	bool low;     /* the disk is under the reserve: nothing that adds data (see headroom) */
};

struct store_backend {
	char path[4096];
	struct store_backend_params p;
	struct conn w;          /* the writer's, owned by the writer thread */
	struct conn *readers;
	pthread_mutex_t rmu;
	pthread_cond_t rcv;

	struct store_queue q; /* the group commit; its lock guards stats */
	struct store_stats stats;

	/* disk headroom (the writer thread's): see headroom() */
	int dirfd;          /* the database's folder, for fstatvfs; -1: not checked */
	int64_t frame_bytes; /* a WAL frame: a page and its 24-byte header */
	int64_t wal_pending; /* frames in the WAL not yet copied back (checkpointed) */
	atomic_bool low;     /* under the reserve (read by sq_ping too) */

	/* the checkpointer (see wal_hook): its own connection and thread;
	 * ck_mu guards the fields after it */
	struct conn ck;
	pthread_t ck_thread;
	pthread_mutex_t ck_mu;
	pthread_cond_t ck_cv;
	bool ck_started, ck_stopping, ck_wanted, checkpoint_failing;
	uint64_t ck_gen;     /* times the writer saw the WAL start over */
	int64_t ck_done;     /* frames of this generation copied back */
	int ck_last_frames;  /* the WAL's frames at the writer's last commit */
	uint64_t ck_beside, ck_writer; /* checkpoints by each (store_stats) */
};

static err_t map_rc(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE: return ERR_OK;
	case SQLITE_FULL: return ERR_STORE_FULL;
	case SQLITE_IOERR: return ERR_STORE_IO;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB: return ERR_STORE_CORRUPT;
	case SQLITE_BUSY:
	case SQLITE_LOCKED: return ERR_STORE_BUSY;
	case SQLITE_NOMEM: return ERR_NOMEM;
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:
	case SQLITE_READONLY: return ERR_IO;
	case SQLITE_CONSTRAINT: return ERR_INVALID_ARG;
	case SQLITE_TOOBIG: return ERR_TOO_LARGE;
	default: return ERR_STORE;
	}
}

static void conn_close(struct conn *c)
{
	for (size_t i = 0; i < S_COUNT_; i++) {
		sqlite3_finalize(c->st[i]);
		c->st[i] = NULL;
	}
	if (c->db != NULL)
		sqlite3_close_v2(c->db);
	c->db = NULL;
}

static int exec(struct conn *c, const char *sql)
{
	return sqlite3_exec(c->db, sql, NULL, NULL, NULL);
}

/* conn_open opens |path| with the pragmas every connection needs. */
static err_t conn_open(struct conn *c, const char *path, bool reader, char *errbuf,
		       size_t errlen)
{
	memset(c, 0, sizeof(*c));
	int rc = sqlite3_open_v2(path, &c->db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(errbuf, errlen, "store: cannot open %s: %s", path,
			 c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
		conn_close(c);
		return map_rc(rc) == ERR_STORE ? ERR_IO : map_rc(rc);
	}
	sqlite3_extended_result_codes(c->db, 1);
	sqlite3_busy_timeout(c->db, 5000);
	/* synchronous is per connection (store-ha.md §1.1): set it on every
	 * one; so are the page cache, mmap and the -wal file's size kept, the
	 * store's memory and disk (store.h). The WAL is started over once a
	 * checkpoint has copied all of it and no reader still needs it; its
	 * file keeps its size for reuse unless journal_size_limit truncates
	 * it then (sqlite.org/pragma.html#pragma_journal_size_limit). */
	char pragmas[224];
	snprintf(pragmas, sizeof pragmas,
		 "PRAGMA synchronous=FULL; PRAGMA secure_delete=ON; PRAGMA foreign_keys=ON;"
		 " PRAGMA cache_size=-%u; PRAGMA mmap_size=0; PRAGMA journal_size_limit=%u;",
		 STORE_SQLITE_CACHE_KIB, STORE_SQLITE_WAL_KEEP_BYTES);
	rc = exec(c, pragmas);
	if (rc == SQLITE_OK && !reader) {
		sqlite3_stmt *st = NULL;
		rc = sqlite3_prepare_v2(c->db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
		if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			const char *m = (const char *)sqlite3_column_text(st, 0);
			rc = m != NULL && strcmp(m, "wal") == 0 ? SQLITE_OK : SQLITE_ERROR;
		}
		sqlite3_finalize(st);
	}
	if (rc == SQLITE_OK && reader)
		rc = exec(c, "PRAGMA query_only=ON");
	if (rc != SQLITE_OK) {
		snprintf(errbuf, errlen, "store: %s: cannot set WAL mode and synchronous=FULL: %s",
			 path, sqlite3_errmsg(c->db));
		err_t r = map_rc(rc);
		conn_close(c);
		return r;
	}
	return ERR_OK;
}

static sqlite3_stmt *stmt(struct conn *c, enum stmt_id id, int *rc)
{
	if (c->st[id] == NULL) {
		*rc = sqlite3_prepare_v3(c->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
					 &c->st[id], NULL);
		if (*rc != SQLITE_OK) {
			log_error("prepare: %s", sqlite3_errmsg(c->db));
			return NULL;
		}
	}
	*rc = SQLITE_OK;
	return c->st[id];
}

static void done_stmt(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* run steps one of the cached statements that return no rows (the
 * transaction ones): SQLITE_OK or the error, as exec() returns them */
static int run(struct conn *c, enum stmt_id id)
{
	int rc;
	sqlite3_stmt *st = stmt(c, id, &rc);
	if (st == NULL)
		return rc;
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

/* ---- readers ----------------------------------------------------------------- */

static struct conn *reader_get(struct store_backend *b)
{
	pthread_mutex_lock(&b->rmu);
	for (;;) {
		for (unsigned i = 0; i < b->p.readers; i++) {
			if (!b->readers[i].busy) {
				b->readers[i].busy = true;
				pthread_mutex_unlock(&b->rmu);
				return &b->readers[i];
			}
		}
		pthread_cond_wait(&b->rcv, &b->rmu);
	}
}

static void reader_put(struct store_backend *b, struct conn *c)
{
	pthread_mutex_lock(&b->rmu);
	c->busy = false;
	pthread_cond_signal(&b->rcv);
	pthread_mutex_unlock(&b->rmu);
}

/* ---- rows ---------------------------------------------------------------------- */

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s == NULL)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

static void bind_row(sqlite3_stmt *st, const struct store_row *r)
{
	bind_text(st, 1, r->id);
	bind_text(st, 2, r->tenant);
	const int64_t v[] = {r->type, r->state, r->alg, r->length, r->usage_mask, r->key_format,
			     r->revocation_reason, r->initial_date, r->activation_date,
			     r->deactivation_date, r->destroy_date, r->compromise_date,
			     r->compromise_occurrence_date, r->last_change_date,
			     r->original_creation_date, r->created_ns};
	for (int i = 0; i < (int)ARRAY_SIZE(v); i++)
		sqlite3_bind_int64(st, 3 + i, v[i]);
	if (r->has_digest)
		sqlite3_bind_blob(st, 19, r->digest, STORE_DIGEST_LEN, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 19);
	sqlite3_bind_int64(st, 20, r->data_type);
	sqlite3_bind_int64(st, 21, r->protection);
}

static void copy_text(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
	const char *s = (const char *)sqlite3_column_text(st, col);
	snprintf(dst, cap, "%s", s ? s : "");
}

static void read_row(sqlite3_stmt *st, struct store_row *r)
{
	memset(r, 0, sizeof(*r));
	copy_text(r->id, sizeof(r->id), st, 0);
	copy_text(r->tenant, sizeof(r->tenant), st, 1);
	r->type = (uint32_t)sqlite3_column_int64(st, 2);
	r->state = (uint32_t)sqlite3_column_int64(st, 3);
	r->alg = (uint32_t)sqlite3_column_int64(st, 4);
	r->length = (uint32_t)sqlite3_column_int64(st, 5);
	r->usage_mask = (uint32_t)sqlite3_column_int64(st, 6);
	r->key_format = (uint32_t)sqlite3_column_int64(st, 7);
	r->revocation_reason = (uint32_t)sqlite3_column_int64(st, 8);
	r->initial_date = sqlite3_column_int64(st, 9);
	r->activation_date = sqlite3_column_int64(st, 10);
	r->deactivation_date = sqlite3_column_int64(st, 11);
	r->destroy_date = sqlite3_column_int64(st, 12);
	r->compromise_date = sqlite3_column_int64(st, 13);
	r->compromise_occurrence_date = sqlite3_column_int64(st, 14);
	r->last_change_date = sqlite3_column_int64(st, 15);
	r->original_creation_date = sqlite3_column_int64(st, 16);
	r->created_ns = sqlite3_column_int64(st, 17);
	if (sqlite3_column_bytes(st, 18) == STORE_DIGEST_LEN) {
		memcpy(r->digest, sqlite3_column_blob(st, 18), STORE_DIGEST_LEN);
		r->has_digest = true;
	}
	r->data_type = (uint32_t)sqlite3_column_int64(st, 19);
	r->protection = (uint32_t)sqlite3_column_int64(st, 20);
}

static err_t conn_row_get(struct conn *c, const char *id, struct store_row *out, int *rc_out)
{
	int rc;
	sqlite3_stmt *st = stmt(c, S_ROW_GET, &rc);
	err_t r;
	if (st == NULL) {
		*rc_out = rc;
		return map_rc(rc);
	}
	bind_text(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		read_row(st, out);
		r = ERR_OK;
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		r = ERR_STORE_NOT_FOUND;
		rc = SQLITE_OK;
	} else {
		r = map_rc(rc);
	}
	done_stmt(st);
	*rc_out = rc;
	return r;
}

/* ---- the writer's primitives ------------------------------------------------- */

/* run_write steps a bound statement to completion and records an error. */
static err_t run_write(struct store_txn *t, sqlite3_stmt *st, int64_t *changes)
{
	int rc = sqlite3_step(st);
	done_stmt(st);
	if (rc != SQLITE_DONE) {
		t->fatal_rc = rc;
		return map_rc(rc);
	}
	if (changes != NULL)
		*changes = sqlite3_changes64(t->c->db);
	return ERR_OK;
}

#define TXN_STMT(t, id, st)                                                            \
	int rc_;                                                                       \
	sqlite3_stmt *st = stmt((t)->c, (id), &rc_);                                   \
	if (st == NULL) {                                                              \
		(t)->fatal_rc = rc_;                                                   \
		return map_rc(rc_);                                                    \
	}

/* TXN_ROOM refuses a primitive that adds data (a new row, a larger value)
 * while the disk is under the reserve, before it writes anything; the
 * request fails alone (its savepoint rolls back), the batch goes on */
#define TXN_ROOM(t)                                                                    \
	do {                                                                           \
		if ((t)->low)                                                          \
			return ERR_STORE_FULL;                                         \
	} while (0)

static err_t txn_row_get(struct store_txn *t, const char *id, struct store_row *out)
{
	int rc = SQLITE_OK;
	err_t r = conn_row_get(t->c, id, out, &rc);
	if (rc != SQLITE_OK)
		t->fatal_rc = rc;
	return r;
}

static err_t txn_row_insert(struct store_txn *t, const struct store_row *row)
{
	TXN_ROOM(t);
	TXN_STMT(t, S_ROW_INSERT, st);
	bind_row(st, row);
	return run_write(t, st, NULL);
}

static err_t txn_row_update(struct store_txn *t, const struct store_row *row)
{
	TXN_STMT(t, S_ROW_UPDATE, st);
	bind_row(st, row);
	int64_t n = 0;
	GUARD(run_write(t, st, &n));
	return n == 1 ? ERR_OK : ERR_STORE_NOT_FOUND;
}

static void bind_attr(sqlite3_stmt *st, const char *id, const struct store_attr *a)
{
	static const uint8_t empty[1];
	bind_text(st, 1, id);
	bind_text(st, 2, a->name);
	sqlite3_bind_int64(st, 3, a->index);
	sqlite3_bind_int(st, 4, a->type);
	sqlite3_bind_blob(st, 5, a->value_len ? a->value : empty, (int)a->value_len, SQLITE_STATIC);
	if (a->search != NULL)
		bind_text(st, 6, a->search);
	else if (a->type == STORE_V_TEXT)
		sqlite3_bind_text(st, 6, a->value_len ? (const char *)a->value : "",
				  (int)a->value_len, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 6);
}

static err_t txn_attr_insert(struct store_txn *t, const char *id, const struct store_attr *a)
{
	TXN_ROOM(t);
	TXN_STMT(t, S_ATTR_INSERT, st);
	bind_attr(st, id, a);
	err_t r = run_write(t, st, NULL);
	if (r == ERR_INVALID_ARG) { /* a duplicate (name, index): not fatal */
		t->fatal_rc = SQLITE_OK;
		return ERR_STORE_ATTR_EXISTS;
	}
	return r;
}

static err_t txn_attr_update(struct store_txn *t, const char *id, const struct store_attr *a)
{
	TXN_ROOM(t);
	TXN_STMT(t, S_ATTR_UPDATE, st);
	bind_attr(st, id, a);
	int64_t n = 0;
	GUARD(run_write(t, st, &n));
	return n > 0 ? ERR_OK : ERR_STORE_ATTR_NOT_FOUND;
}

static err_t txn_attr_delete(struct store_txn *t, const char *id, const char *name,
			     uint32_t index, uint64_t *n_deleted)
{
	bool all = index == STORE_ALL_INDEXES;
	TXN_STMT(t, all ? S_ATTR_DEL_ALL : S_ATTR_DEL_ONE, st);
	bind_text(st, 1, id);
	bind_text(st, 2, name);
	if (!all)
		sqlite3_bind_int64(st, 3, index);
	int64_t n = 0;
	GUARD(run_write(t, st, &n));
	*n_deleted = (uint64_t)n;
	return ERR_OK;
}

static err_t txn_name_claim(struct store_txn *t, const char *tenant, const char *name, size_t name_len,
			     const char *id, uint32_t index)
{
	TXN_ROOM(t);
	TXN_STMT(t, S_NAME_CLAIM, st);
	bind_text(st, 1, tenant);
	sqlite3_bind_text(st, 2, name_len ? name : "", (int)name_len, SQLITE_STATIC);
	bind_text(st, 3, id);
	sqlite3_bind_int64(st, 4, index);
	err_t r = run_write(t, st, NULL);
	if (r == ERR_INVALID_ARG) { /* the tenant has that name: not fatal */
		t->fatal_rc = SQLITE_OK;
		return ERR_STORE_NAME_TAKEN;
	}
	return r;
}

static err_t txn_name_release(struct store_txn *t, const char *id, uint32_t index)
{
	bool all = index == STORE_ALL_INDEXES;
	TXN_STMT(t, all ? S_NAME_RELEASE_ALL : S_NAME_RELEASE_ONE, st);
	bind_text(st, 1, id);
	if (!all)
		sqlite3_bind_int64(st, 2, index);
	return run_write(t, st, NULL);
}

static err_t txn_attr_count(struct store_txn *t, const char *id, const char *name,
			    uint64_t *count, uint32_t *next)
{
	TXN_STMT(t, S_ATTR_COUNT, st);
	bind_text(st, 1, id);
	bind_text(st, 2, name);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*count = (uint64_t)sqlite3_column_int64(st, 0);
		int64_t nx = sqlite3_column_int64(st, 1);
		*next = nx > (int64_t)(UINT32_MAX - 1) ? UINT32_MAX : (uint32_t)nx;
		rc = SQLITE_OK;
	}
	done_stmt(st);
	if (rc != SQLITE_OK) {
		t->fatal_rc = rc;
		return map_rc(rc);
	}
	return *next == UINT32_MAX ? ERR_TOO_LARGE : ERR_OK;
}

static err_t txn_material_put(struct store_txn *t, const char *id, const uint8_t *sealed,
			      size_t len)
{
	TXN_ROOM(t);
	TXN_STMT(t, S_MAT_PUT, st);
	bind_text(st, 1, id);
	sqlite3_bind_blob(st, 2, sealed, (int)len, SQLITE_STATIC);
	return run_write(t, st, NULL);
}

static err_t txn_material_wipe(struct store_txn *t, const char *id)
{
	/* overwrite the blob in place, then delete the row; secure_delete
	 * zeroes the freed space as well */
	{
		TXN_STMT(t, S_MAT_ZERO, st);
		bind_text(st, 1, id);
		GUARD(run_write(t, st, NULL));
	}
	TXN_STMT(t, S_MAT_DEL, st2);
	bind_text(st2, 1, id);
	return run_write(t, st2, NULL);
}

static err_t txn_access_insert(struct store_txn *t, const char *id, const char *tenant,
			       const uint8_t *fp, const char *op, int64_t time_s, int64_t lease_end)
{
	TXN_STMT(t, S_ACCESS_INSERT, st);
	bind_text(st, 1, id);
	bind_text(st, 2, tenant);
	sqlite3_bind_blob(st, 3, fp, STORE_FINGERPRINT_LEN, SQLITE_STATIC);
	bind_text(st, 4, op);
	sqlite3_bind_int64(st, 5, time_s);
	sqlite3_bind_int64(st, 6, lease_end);
	return run_write(t, st, NULL);
}

static err_t txn_event_insert(struct store_txn *t, const struct store_event *e)
{
	TXN_STMT(t, S_EVENT_INSERT, st);
	sqlite3_bind_int64(st, 1, e->time);
	bind_text(st, 2, e->kind);
	bind_text(st, 3, e->id);
	bind_text(st, 4, e->new_id);
	bind_text(st, 5, e->tenant);
	sqlite3_bind_int64(st, 6, e->state);
	bind_text(st, 7, e->holder);
	if (e->holder[0] != '\0')
		sqlite3_bind_blob(st, 8, e->holder_fp, STORE_FINGERPRINT_LEN, SQLITE_STATIC);
	return run_write(t, st, NULL);
}

static void col_copy(char *out, size_t cap, sqlite3_stmt *st, int col)
{
	const char *v = (const char *)sqlite3_column_text(st, col);
	snprintf(out, cap, "%s", v != NULL ? v : "");
}

static err_t txn_events_lock(struct store_txn *t)
{
	(void)t; /* one writer: the batch's transaction orders every event */
	return ERR_OK;
}

static err_t txn_leases_fold(struct store_txn *t, uint64_t upto, int64_t ended_by, int64_t now)
{
	if (upto > INT64_MAX)
		upto = INT64_MAX;
	{
		TXN_STMT(t, S_LEASES_FOLD, st);
		sqlite3_bind_int64(st, 1, (sqlite3_int64)upto);
		sqlite3_bind_int64(st, 2, ended_by);
		sqlite3_bind_int64(st, 3, now);
		GUARD(run_write(t, st, NULL));
	}
	TXN_STMT(t, S_LEASES_MARK, st2);
	sqlite3_bind_int64(st2, 1, (sqlite3_int64)upto);
	return run_write(t, st2, NULL);
}

static err_t txn_leases_ended(struct store_txn *t, int64_t by, size_t max, struct store_lease *out, size_t *n)
{
	*n = 0;
	TXN_STMT(t, S_LEASES_ENDED, st);
	sqlite3_bind_int64(st, 1, by);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < max) {
		struct store_lease *l = &out[(*n)++];
		memset(l, 0, sizeof *l);
		col_copy(l->id, sizeof l->id, st, 0);
		col_copy(l->tenant, sizeof l->tenant, st, 1);
		if (sqlite3_column_bytes(st, 2) == STORE_FINGERPRINT_LEN)
			memcpy(l->fp, sqlite3_column_blob(st, 2), STORE_FINGERPRINT_LEN);
		l->lease_end = sqlite3_column_int64(st, 3);
		col_copy(l->owner, sizeof l->owner, st, 4);
		l->state = (uint32_t)sqlite3_column_int64(st, 5);
	}
	done_stmt(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		t->fatal_rc = rc;
		return map_rc(rc);
	}
	return ERR_OK;
}

static err_t txn_lease_done(struct store_txn *t, const struct store_lease *l)
{
	TXN_STMT(t, S_LEASE_DONE, st);
	bind_text(st, 1, l->id);
	bind_text(st, 2, l->tenant);
	sqlite3_bind_blob(st, 3, l->fp, STORE_FINGERPRINT_LEN, SQLITE_STATIC);
	return run_write(t, st, NULL);
}

static err_t txn_meta_put(struct store_txn *t, const char *key, const uint8_t *v, size_t len)
{
	TXN_ROOM(t);
	TXN_STMT(t, S_META_PUT, st);
	bind_text(st, 1, key);
	sqlite3_bind_blob(st, 2, v, (int)len, SQLITE_STATIC);
	return run_write(t, st, NULL);
}

static err_t conn_material_get(struct conn *c, const char *id, uint8_t *out, size_t cap, size_t *len);

static err_t txn_material_get(struct store_txn *t, const char *id, uint8_t *out, size_t cap, size_t *len)
{
	err_t r = conn_material_get(t->c, id, out, cap, len);
	if (r != ERR_OK && r != ERR_STORE_NOT_FOUND && r != ERR_TOO_LARGE)
		t->fatal_rc = sqlite3_extended_errcode(t->c->db);
	return r;
}

/* ---- disk headroom ---------------------------------------------------------------
 * SQLite on a full disk stays consistent (a COMMIT that meets ENOSPC
 * returns SQLITE_FULL, rolled back: store-ha.md §1.3), but it gets there by
 * writing WAL frames into the last free blocks, and the checkpoint that
 * copies the WAL back into the database file needs room for every page
 * the WAL adds to the file: a store that ran out can no longer checkpoint,
 * its WAL only grows, and then even a Get (which appends its access
 * record) fails. So before each batch the writer asks fstatvfs how much of
 * the database's file system is free (one system call). Under the reserve
 * (below) plus what the next checkpoint may add to the file (every frame
 * of the WAL not yet copied back: an upper bound), the store is "full":
 * what adds data (new objects, attributes, names, a modified value) is
 * refused with ERR_STORE_FULL before any of it is written (TXN_ROOM in the
 * primitives), and what keeps the service going runs on in the reserve:
 * Gets with their access records, state changes, destroys (reads need no
 * space). While full, the WAL is checkpointed after every commit, so it
 * restarts at its beginning and reuses its file (which keeps its size:
 * cutting it back would free space the next batch takes again, and the
 * store would flap in and out of the full state). Under FLOOR_BYTES even
 * those writes are refused, before BEGIN: SQLite never meets ENOSPC from
 * them. Once the free space is HYSTERESIS_BYTES over the need again,
 * writes work, with no restart. Entering and leaving the full state are
 * logged once each.
 *
 * The reserve is FLOOR_BYTES plus one full batch of Creates: max_batch x
 * FRAMES_PER_CREATE WAL frames, 4.2 MB at the default 128. Measured (Debian
 * 12's SQLite 3.40, this schema, a store of 50,000 objects, store_put from
 * 1, 16 and 64 threads): a Create of an AES key with a Name writes 13
 * frames alone (its row, attributes, material and name, each with its
 * indexes, in random leaves: the identifiers are random), 11 a request in
 * batches of about 14, 8.3 in batches of about 64 (at most 696 frames,
 * 2.8 MB, in one commit). So the batch that crosses into the reserve fits,
 * and so does the checkpoint after it, which the need counts. A rollback
 * needs nothing (WAL mode: its frames are never committed). A Get writes
 * about 4 frames (its access record, the row's Fresh bit): FLOOR_BYTES (256
 * frames) holds a full batch of Gets. A bigger batch (Creates of 64 KiB
 * objects) can still meet ENOSPC at COMMIT: it is rolled back
 * (SQLITE_FULL) and the next batch finds the store full. */
#define FRAMES_PER_CREATE 8
#define FLOOR_BYTES (1 << 20)
#define HYSTERESIS_BYTES (1 << 20)
/* SQLite's own wal_autocheckpoint default (sqlite.org/pragma.html): the
 * WAL is copied back from this size on */
#define CHECKPOINT_FRAMES 1000
/* the writer copies the rest itself when the checkpointer has left at most
 * this many frames (a cheap copy, after which the next transaction starts
 * the WAL over), or when the WAL reached CHECKPOINT_HARD_FRAMES anyway
 * (the checkpointer is behind or failing; 3000 frames of 4 KiB pages stay
 * under STORE_SQLITE_WAL_KEEP_BYTES, so the file is reused, not regrown) */
#define CHECKPOINT_REST_FRAMES 64
#define CHECKPOINT_HARD_FRAMES 3000

/* checkpointed records a checkpoint's outcome (ck_mu held): a failed one
 * loses nothing (the WAL keeps every frame until one succeeds, and the
 * next copies them all again), said once when they start failing, once
 * when they work again. SQLITE_BUSY is the other connection's checkpoint
 * running: not a failure. */
static void checkpointed(struct store_backend *b, int rc)
{
	if ((rc & 0xff) == SQLITE_BUSY || (rc != SQLITE_OK) == b->checkpoint_failing)
		return;
	b->checkpoint_failing = rc != SQLITE_OK;
	if (rc != SQLITE_OK)
		log_error("%s: checkpoint failed: %s (the WAL keeps the data; retried at the next commit)", b->path,
			  sqlite3_errstr(rc));
	else
		log_info("%s: checkpoints work again", b->path);
}

/* wal_hook runs after each commit of the writer (sqlite3_wal_hook, which
 * replaces the automatic checkpoint), and decides who copies the WAL back.
 * A checkpoint inside the hook delays the callers of the batch just
 * committed (they are woken after it): copying 1000 frames and the
 * database file's fsync took 10-25 ms, the p99 of Create and Get at 16
 * clients (build/bench/bench 3 kmip with the commit histogram). So from
 * CHECKPOINT_FRAMES on, the checkpointer thread copies the WAL back with
 * PASSIVE checkpoints on its own connection, beside the writer's commits,
 * and the writer copies only the last few frames itself, after which the
 * WAL starts over (a PASSIVE checkpoint running beside the commits never
 * catches up with them). While the disk is short of room the writer
 * copies everything after every commit, as it always did (see headroom).
 * b->wal_pending counts the frames still to copy. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct store_backend *b = arg;
	pthread_mutex_lock(&b->ck_mu);
	if (frames < b->ck_last_frames) { /* the WAL started over */
		b->ck_gen++;
		b->ck_done = 0;
	}
	b->ck_last_frames = frames;
	int64_t pending = frames - (b->ck_done < frames ? b->ck_done : frames);
	b->wal_pending = pending;
	bool mine = b->low ? frames >= 1
			   : frames >= CHECKPOINT_FRAMES &&
				     (!b->ck_started || pending <= CHECKPOINT_REST_FRAMES ||
				      frames >= CHECKPOINT_HARD_FRAMES);
	if (!mine && frames >= CHECKPOINT_FRAMES && !b->ck_wanted) {
		b->ck_wanted = true;
		pthread_cond_signal(&b->ck_cv);
	}
	pthread_mutex_unlock(&b->ck_mu);
	if (!mine)
		return SQLITE_OK;
	int log = -1, done = -1;
	int rc = sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
	pthread_mutex_lock(&b->ck_mu);
	if (rc == SQLITE_OK && log >= 0) {
		b->wal_pending = log > done ? log - done : 0;
		b->ck_done = done;
		b->ck_writer++;
	}
	checkpointed(b, rc);
	pthread_mutex_unlock(&b->ck_mu);
	return SQLITE_OK;
}

static void *checkpointer_main(void *arg)
{
	struct store_backend *b = arg;
	(void)pthread_setname_np(pthread_self(), "fount-store-ck");
	pthread_mutex_lock(&b->ck_mu);
	for (;;) {
		while (!b->ck_wanted && !b->ck_stopping)
			pthread_cond_wait(&b->ck_cv, &b->ck_mu);
		if (b->ck_stopping)
			break;
		b->ck_wanted = false;
		uint64_t gen = b->ck_gen;
		pthread_mutex_unlock(&b->ck_mu);
		int log = -1, done = -1;
		int rc = sqlite3_wal_checkpoint_v2(b->ck.db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
		pthread_mutex_lock(&b->ck_mu);
		/* a count of another generation than the writer's is dropped:
		 * the writer then copies more itself, never less */
		if (rc == SQLITE_OK && gen == b->ck_gen && done > b->ck_done)
			b->ck_done = done;
		if (rc == SQLITE_OK && done > 0)
			b->ck_beside++;
		checkpointed(b, rc);
	}
	pthread_mutex_unlock(&b->ck_mu);
	return NULL;
}

static void checkpointer_stop(struct store_backend *b)
{
	if (b->ck_started) {
		pthread_mutex_lock(&b->ck_mu);
		b->ck_stopping = true;
		pthread_cond_signal(&b->ck_cv);
		pthread_mutex_unlock(&b->ck_mu);
		pthread_join(b->ck_thread, NULL);
		b->ck_started = false;
	}
	conn_close(&b->ck);
}

/* headroom sets b->low from the free space before a batch (logging a
 * change), and says whether the batch may run at all */
static bool headroom(struct store_backend *b)
{
	struct statvfs sv;
	if (b->dirfd < 0 || b->w.db == NULL || fstatvfs(b->dirfd, &sv) != 0)
		return true; /* cannot tell: SQLITE_FULL at COMMIT is the answer then */
	int64_t avail = (int64_t)sv.f_bavail * (int64_t)sv.f_frsize;
	int64_t reserve = FLOOR_BYTES + (int64_t)b->p.max_batch * FRAMES_PER_CREATE * b->frame_bytes;
	int64_t need = reserve + b->wal_pending * b->frame_bytes;
	if (avail < need && b->wal_pending > 0) {
		/* short of room only for the WAL's copy back: copy it back now,
		 * while there is room for it, then look again (near a full disk
		 * the checkpoints come sooner than every CHECKPOINT_FRAMES) */
		int log = -1, done = -1;
		int rc = sqlite3_wal_checkpoint_v2(b->w.db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
		pthread_mutex_lock(&b->ck_mu);
		if (rc == SQLITE_OK && log >= 0) {
			b->wal_pending = log > done ? log - done : 0;
			b->ck_done = done;
		}
		pthread_mutex_unlock(&b->ck_mu);
		if (fstatvfs(b->dirfd, &sv) == 0)
			avail = (int64_t)sv.f_bavail * (int64_t)sv.f_frsize;
		need = reserve + b->wal_pending * b->frame_bytes;
	}
	if (!b->low && avail < need) {
		b->low = true;
		log_warn("%s: %lld KiB free, under the %lld KiB the store keeps in reserve: new objects, "
			 "attributes and names are refused (key store disk full) until space is freed; Gets, "
			 "Locate and state changes go on",
			 b->path, (long long)(avail >> 10), (long long)(need >> 10));
	} else if (b->low && avail >= need + HYSTERESIS_BYTES) {
		b->low = false;
		log_info("%s: %lld KiB free again: the store takes new objects", b->path, (long long)(avail >> 10));
	}
	return !b->low || avail >= FLOOR_BYTES;
}

/* ---- group commit --------------------------------------------------------------- */

static err_t writer_reopen(struct store_backend *b)
{
	char eb[256];
	conn_close(&b->w);
	err_t r = conn_open(&b->w, b->path, false, eb, sizeof(eb));
	if (r != ERR_OK)
		log_error("%s", eb);
	else
		sqlite3_wal_hook(b->w.db, wal_hook, b);
	return r;
}

static void run_batch(void *arg, struct store_req *list, size_t n)
{
	struct store_backend *b = arg;
	struct conn *c = &b->w;
	if (!headroom(b)) {
		/* not even the reserve's writes: refused before they start */
		for (struct store_req *q = list; q != NULL; q = q->next)
			q->result = ERR_STORE_FULL;
		return;
	}
	int rc = c->db ? run(c, S_BEGIN_IMMEDIATE) : SQLITE_CANTOPEN;
	if (rc != SQLITE_OK) {
		err_t r = map_rc(rc);
		for (struct store_req *q = list; q != NULL; q = q->next)
			q->result = r;
		if (c->db == NULL || (rc & 0xff) == SQLITE_IOERR)
			(void)writer_reopen(b);
		else if (!sqlite3_get_autocommit(c->db))
			exec(c, "ROLLBACK");
		return;
	}
	err_t fatal = ERR_OK;
	for (struct store_req *q = list; q != NULL; q = q->next) {
		if (fatal != ERR_OK) {
			q->result = fatal;
			continue;
		}
		struct store_txn t = {c, SQLITE_OK, b->low};
		rc = run(c, S_SAVEPOINT);
		if (rc != SQLITE_OK) {
			t.fatal_rc = rc;
			q->result = map_rc(rc);
		} else {
			q->result = q->fn(&t, q->ctx);
			if (q->result != ERR_OK && !sqlite3_get_autocommit(c->db))
				exec(c, "ROLLBACK TO r");
			if (!sqlite3_get_autocommit(c->db))
				(void)run(c, S_RELEASE);
		}
		if (sqlite3_get_autocommit(c->db)) {
			/* the error rolled the whole transaction back (FULL,
			 * IOERR, NOMEM...): nothing of this batch is written */
			fatal = t.fatal_rc != SQLITE_OK ? map_rc(t.fatal_rc) : ERR_STORE;
			if (q->result == ERR_OK)
				q->result = fatal;
			store_reqs_fail_ok(list, fatal);
		}
	}
	if (fatal != ERR_OK) {
		pthread_mutex_lock(&b->q.mu);
		b->stats.failed_commits++;
		pthread_mutex_unlock(&b->q.mu);
		if (fatal == ERR_STORE_IO)
			(void)writer_reopen(b);
		return;
	}
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = run(c, S_COMMIT);
	store_commit_timed(&b->q, &b->stats, &t0, rc == SQLITE_OK, n);
	if (rc == SQLITE_OK)
		return;
	bool io = (rc & 0xff) == SQLITE_IOERR;
	log_error("COMMIT of %zu requests failed: %s%s", n, sqlite3_errmsg(c->db),
		  io ? " (outcome unknown)" : "");
	/* IOERR at COMMIT: the commit frame may be on disk although the sync
	 * failed (store-ha.md §1.3): the outcome is unknown */
	store_reqs_fail_ok(list, io ? ERR_STORE_COMMIT_UNKNOWN : map_rc(rc));
	if (!sqlite3_get_autocommit(c->db))
		exec(c, "ROLLBACK");
	if (io)
		(void)writer_reopen(b);
}

static err_t sq_submit(struct store_backend *b, store_apply_fn fn, void *ctx)
{
	return store_queue_submit(&b->q, fn, ctx);
}

/* ---- migrations ------------------------------------------------------------------- */

static err_t schema_version_read(struct conn *c, unsigned *out)
{
	sqlite3_stmt *st = NULL;
	*out = 0;
	int rc = sqlite3_prepare_v2(c->db,
				    "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='meta'",
				    -1, &st, NULL);
	bool have = false;
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		have = sqlite3_column_int(st, 0) > 0;
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_OK || !have)
		return map_rc(rc);
	rc = sqlite3_prepare_v2(c->db, "SELECT value FROM meta WHERE key='schema_version'", -1,
				&st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t v = sqlite3_column_int64(st, 0);
		*out = v > 0 && v < 100000 ? (unsigned)v : 0;
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return map_rc(rc);
}

/* foreign_keys_hold: SQLITE_OK when PRAGMA foreign_key_check finds no
 * row that breaks a foreign key, SQLITE_CONSTRAINT_FOREIGNKEY when it
 * does, or the error */
static int foreign_keys_hold(struct conn *c)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(c->db, "PRAGMA foreign_key_check", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		rc = rc == SQLITE_DONE ? SQLITE_OK : rc == SQLITE_ROW ? SQLITE_CONSTRAINT_FOREIGNKEY : rc;
	}
	sqlite3_finalize(st);
	return rc;
}

static err_t migrate(struct store_backend *b, unsigned *version, char *errbuf, size_t errlen)
{
	struct conn *c = &b->w;
	unsigned have = 0, want = store_schema_version();
	err_t r = schema_version_read(c, &have);
	if (r != ERR_OK) {
		snprintf(errbuf, errlen, "store: %s: cannot read the schema version: %s (%s)",
			 b->path, err_str(r), sqlite3_errmsg(c->db));
		return r;
	}
	if (have > want) {
		snprintf(errbuf, errlen,
			 "store: %s has schema version %u, newer than this fount knows (%u): use a newer fount",
			 b->path, have, want);
		return ERR_STORE_SCHEMA;
	}
	/* a migration that rebuilds a table (4) drops a parent of foreign
	 * keys for a moment: foreign keys are off while migrating (the pragma
	 * does nothing inside a transaction) and every migration's result is
	 * checked with foreign_key_check before its commit
	 * (sqlite.org/lang_altertable.html §7, sqlite.org/pragma.html) */
	if (have < want && exec(c, "PRAGMA foreign_keys=OFF") != SQLITE_OK) {
		snprintf(errbuf, errlen, "store: %s: cannot turn foreign keys off to migrate: %s", b->path,
			 sqlite3_errmsg(c->db));
		return ERR_STORE;
	}
	for (unsigned v = have + 1; v <= want; v++) {
		const char *sql = v <= ARRAY_SIZE(migrations) ? migrations[v - 1] : extra_migration;
		char set[96];
		snprintf(set, sizeof(set),
			 "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', %u)", v);
		int rc = exec(c, "BEGIN IMMEDIATE");
		if (rc == SQLITE_OK)
			rc = exec(c, sql);
		if (rc == SQLITE_OK)
			rc = exec(c, set);
		if (rc == SQLITE_OK)
			rc = foreign_keys_hold(c);
		if (rc == SQLITE_OK)
			rc = exec(c, "COMMIT");
		if (rc != SQLITE_OK) {
			snprintf(errbuf, errlen, "store: %s: migration to schema version %u failed: %s",
				 b->path, v, rc == SQLITE_CONSTRAINT_FOREIGNKEY ? "a foreign key does not hold"
										: sqlite3_errmsg(c->db));
			if (!sqlite3_get_autocommit(c->db))
				exec(c, "ROLLBACK");
			(void)exec(c, "PRAGMA foreign_keys=ON");
			return map_rc(rc);
		}
		if (have > 0)
			log_info("%s: migrated the schema to version %u", b->path, v);
	}
	if (have < want && exec(c, "PRAGMA foreign_keys=ON") != SQLITE_OK) {
		snprintf(errbuf, errlen, "store: %s: cannot turn foreign keys back on: %s", b->path,
			 sqlite3_errmsg(c->db));
		return ERR_STORE;
	}
	*version = want;
	return ERR_OK;
}

/* ---- open and close ----------------------------------------------------------------- */

static void sq_close(struct store_backend *b)
{
	if (b == NULL)
		return;
	store_queue_stop(&b->q);
	checkpointer_stop(b);
	if (b->readers != NULL) {
		for (unsigned i = 0; i < b->p.readers; i++)
			conn_close(&b->readers[i]);
		free(b->readers);
	}
	conn_close(&b->w);
	if (b->dirfd >= 0)
		close(b->dirfd);
	pthread_mutex_destroy(&b->rmu);
	pthread_cond_destroy(&b->rcv);
	pthread_mutex_destroy(&b->ck_mu);
	pthread_cond_destroy(&b->ck_cv);
	free(b);
}

/* dir_open opens the folder of |path| for fstatvfs (-1 when it cannot:
 * the headroom is then not checked) */
static int dir_open(const char *path)
{
	char dir[sizeof(((struct store_backend *)0)->path)];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash == NULL)
		snprintf(dir, sizeof dir, ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		log_warn("%s: cannot open its folder (%s): the free space is not checked", path, strerror(errno));
	return fd;
}

/* page_size: the database's page size (PRAGMA page_size), 4096 if unknown */
static int64_t page_size(struct conn *c)
{
	sqlite3_stmt *st = NULL;
	int64_t n = 4096;
	if (sqlite3_prepare_v2(c->db, "PRAGMA page_size", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) > 0)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static err_t sq_open(const char *path, const struct store_backend_params *p,
		     struct store_backend **out, char *errbuf, size_t errlen)
{
	*out = NULL;
	ENSURE(strlen(path) < sizeof(((struct store_backend *)0)->path), ERR_TOO_LARGE);
	struct store_backend *b = calloc(1, sizeof(*b));
	if (b == NULL)
		return ERR_NOMEM;
	snprintf(b->path, sizeof(b->path), "%s", path);
	b->p = *p;
	store_queue_init(&b->q, p, run_batch, b);
	pthread_mutex_init(&b->rmu, NULL);
	pthread_cond_init(&b->rcv, NULL);
	pthread_mutex_init(&b->ck_mu, NULL);
	pthread_cond_init(&b->ck_cv, NULL);
	b->dirfd = dir_open(path);
	err_t r = conn_open(&b->w, path, false, errbuf, errlen);
	if (r == ERR_OK) {
		sqlite3_wal_hook(b->w.db, wal_hook, b);
		r = migrate(b, &b->stats.schema_version, errbuf, errlen);
	}
	if (r == ERR_OK)
		b->frame_bytes = page_size(&b->w) + 24; /* a WAL frame's header (sqlite.org/walformat.html) */
	if (r == ERR_OK) {
		b->readers = calloc(b->p.readers, sizeof(*b->readers));
		r = b->readers != NULL ? ERR_OK : ERR_NOMEM;
		for (unsigned i = 0; r == ERR_OK && i < b->p.readers; i++)
			r = conn_open(&b->readers[i], path, true, errbuf, errlen);
	}
	if (r == ERR_OK)
		r = conn_open(&b->ck, path, false, errbuf, errlen);
	if (r == ERR_OK) {
		r = pthread_create(&b->ck_thread, NULL, checkpointer_main, b) == 0 ? ERR_OK : ERR_SYSTEM;
		b->ck_started = r == ERR_OK;
		if (r != ERR_OK)
			snprintf(errbuf, errlen, "store: cannot start the checkpointer thread");
	}
	if (r == ERR_OK) {
		r = store_queue_start(&b->q);
		if (r != ERR_OK)
			snprintf(errbuf, errlen, "store: cannot start the writer thread");
	}
	if (r != ERR_OK) {
		if (b->readers == NULL)
			b->p.readers = 0;
		sq_close(b);
		return r;
	}
	*out = b;
	return ERR_OK;
}

/* ---- reads ----------------------------------------------------------------------------- */

static err_t sq_row_get(struct store_backend *b, const char *id, struct store_row *out)
{
	struct conn *c = reader_get(b);
	int rc = SQLITE_OK;
	err_t r = conn_row_get(c, id, out, &rc);
	reader_put(b, c);
	return r;
}

struct attr_off {
	size_t name, value, search, value_len;
	uint32_t index;
	uint8_t type;
	bool has_search;
};

static err_t grow(uint8_t **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return ERR_OK;
	size_t nc = *cap ? *cap : 1024;
	while (nc < need)
		nc *= 2;
	uint8_t *p = realloc(*buf, nc);
	if (p == NULL)
		return ERR_NOMEM;
	*buf = p;
	*cap = nc;
	return ERR_OK;
}

static err_t put_bytes(uint8_t **buf, size_t *cap, size_t *len, const void *p, size_t n,
		       bool nul, size_t *off)
{
	GUARD(grow(buf, cap, *len + n + 1));
	if (*buf == NULL)
		return ERR_NOMEM;
	*off = *len;
	if (n)
		memcpy(*buf + *len, p, n);
	*len += n;
	if (nul)
		(*buf)[(*len)++] = '\0';
	return ERR_OK;
}

static err_t conn_attrs_get(struct conn *c, const char *id, struct store_attr **out, size_t *n_out, void **mem)
{
	uint8_t *buf = NULL;
	size_t cap = 0, len = 0, n = 0, ocap = 0;
	struct attr_off *offs = NULL;
	err_t r = ERR_OK;
	int rc;
	*out = NULL;
	*n_out = 0;
	*mem = NULL;
	sqlite3_stmt *st = stmt(c, S_ATTRS_GET, &rc);
	if (st == NULL)
		return map_rc(rc);
	bind_text(st, 1, id);
	while (r == ERR_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == ocap) {
			size_t nc = ocap ? ocap * 2 : 16;
			struct attr_off *p = realloc(offs, nc * sizeof(*p));
			if (p == NULL) {
				r = ERR_NOMEM;
				break;
			}
			offs = p;
			ocap = nc;
		}
		struct attr_off *o = &offs[n];
		const char *name = (const char *)sqlite3_column_text(st, 0);
		o->index = (uint32_t)sqlite3_column_int64(st, 1);
		o->type = (uint8_t)sqlite3_column_int(st, 2);
		const void *v = sqlite3_column_blob(st, 3);
		o->value_len = (size_t)sqlite3_column_bytes(st, 3);
		const char *s = (const char *)sqlite3_column_text(st, 4);
		o->has_search = s != NULL;
		r = put_bytes(&buf, &cap, &len, name ? name : "", name ? strlen(name) : 0, true,
			      &o->name);
		if (r == ERR_OK)
			r = put_bytes(&buf, &cap, &len, v, o->value_len, true, &o->value);
		if (r == ERR_OK && s != NULL)
			r = put_bytes(&buf, &cap, &len, s, strlen(s), true, &o->search);
		n++;
	}
	if (r == ERR_OK && rc != SQLITE_DONE)
		r = map_rc(rc);
	done_stmt(st);
	if (r == ERR_OK && n > 0) {
		struct store_attr *a = calloc(n, sizeof(*a));
		if (a == NULL) {
			r = ERR_NOMEM;
		} else {
			for (size_t i = 0; i < n; i++) {
				a[i].name = (const char *)buf + offs[i].name;
				a[i].index = offs[i].index;
				a[i].type = offs[i].type;
				a[i].value = buf + offs[i].value;
				a[i].value_len = offs[i].value_len;
				a[i].search = offs[i].has_search ? (const char *)buf + offs[i].search : NULL;
			}
			*out = a;
			*n_out = n;
			*mem = buf;
			buf = NULL;
		}
	}
	free(offs);
	free(buf);
	return r;
}

static err_t sq_attrs_get(struct store_backend *b, const char *id, struct store_attr **out, size_t *n_out,
			  void **mem)
{
	struct conn *c = reader_get(b);
	err_t r = conn_attrs_get(c, id, out, n_out, mem);
	reader_put(b, c);
	return r;
}

static err_t conn_material_get(struct conn *c, const char *id, uint8_t *out, size_t cap, size_t *len)
{
	int rc;
	err_t r;
	sqlite3_stmt *st = stmt(c, S_MAT_GET, &rc);
	*len = 0;
	if (st == NULL)
		return map_rc(rc);
	bind_text(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		size_t n = (size_t)sqlite3_column_bytes(st, 0);
		*len = n;
		r = out == NULL || n <= cap ? ERR_OK : ERR_TOO_LARGE;
		if (r == ERR_OK && out != NULL && n)
			memcpy(out, sqlite3_column_blob(st, 0), n);
	} else {
		r = rc == SQLITE_DONE ? ERR_STORE_NOT_FOUND : map_rc(rc);
	}
	done_stmt(st);
	return r;
}

static err_t sq_material_get(struct store_backend *b, const char *id, uint8_t *out, size_t cap, size_t *len)
{
	struct conn *c = reader_get(b);
	err_t r = conn_material_get(c, id, out, cap, len);
	reader_put(b, c);
	return r;
}

/* sq_object_get reads an object's row, whether it has material (into
 * |sealed| when not NULL) and, when |attrs| is not NULL, its attributes,
 * in one read transaction on one reader: one snapshot, one reader taken
 * (a KMIP Get took five before). */
static err_t sq_object_get(struct store_backend *b, const char *id, struct store_row *row, bool *has_material,
			   uint8_t *sealed, size_t cap, size_t *sealed_len, struct store_attr **attrs, size_t *n_attrs,
			   void **mem)
{
	struct conn *c = reader_get(b);
	int rc = run(c, S_BEGIN);
	err_t r = map_rc(rc);
	size_t n = 0;
	*has_material = false;
	if (r == ERR_OK)
		r = conn_row_get(c, id, row, &rc);
	if (r == ERR_OK) {
		r = conn_material_get(c, id, sealed, cap, &n);
		*has_material = r == ERR_OK;
		if (r == ERR_STORE_NOT_FOUND)
			r = ERR_OK;
	}
	if (sealed_len != NULL)
		*sealed_len = *has_material ? n : 0;
	if (r == ERR_OK && attrs != NULL)
		r = conn_attrs_get(c, id, attrs, n_attrs, mem);
	if (!sqlite3_get_autocommit(c->db))
		(void)run(c, S_COMMIT); /* a read: nothing to keep or lose */
	reader_put(b, c);
	return r;
}

static err_t sq_meta_get(struct store_backend *b, const char *key, uint8_t *out, size_t cap,
			 size_t *len)
{
	struct conn *c = reader_get(b);
	int rc;
	err_t r;
	sqlite3_stmt *st = stmt(c, S_META_GET, &rc);
	*len = 0;
	if (st == NULL) {
		reader_put(b, c);
		return map_rc(rc);
	}
	bind_text(st, 1, key);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		size_t n = (size_t)sqlite3_column_bytes(st, 0);
		r = n <= cap ? ERR_OK : ERR_TOO_LARGE;
		if (r == ERR_OK) {
			if (n)
				memcpy(out, sqlite3_column_blob(st, 0), n);
			*len = n;
		}
	} else {
		r = rc == SQLITE_DONE ? ERR_STORE_NOT_FOUND : map_rc(rc);
	}
	done_stmt(st);
	reader_put(b, c);
	return r;
}

/* read_count runs the one-number query |which| (its ?1 = |arg| when not
 * NULL) on a reader connection */
static err_t read_count(struct store_backend *b, enum stmt_id which, const char *arg, uint64_t *out)
{
	struct conn *c = reader_get(b);
	int rc;
	sqlite3_stmt *st = stmt(c, which, &rc);
	*out = 0;
	if (st == NULL) {
		reader_put(b, c);
		return map_rc(rc);
	}
	if (arg != NULL)
		bind_text(st, 1, arg);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = (uint64_t)sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	}
	done_stmt(st);
	reader_put(b, c);
	return map_rc(rc);
}

static err_t sq_access_count(struct store_backend *b, const char *id, uint64_t *out)
{
	return read_count(b, S_ACCESS_COUNT, id, out);
}

static err_t sq_events_latest(struct store_backend *b, uint64_t *out)
{
	return read_count(b, S_EVENTS_LATEST, NULL, out);
}

static err_t sq_events(struct store_backend *b, const char *tenant, uint64_t after, size_t max,
		       struct store_events *out)
{
	out->n = 0;
	out->more = false;
	struct conn *c = reader_get(b);
	int rc;
	sqlite3_stmt *st = stmt(c, tenant != NULL ? S_EVENTS_OF : S_EVENTS_ALL, &rc);
	if (st == NULL) {
		reader_put(b, c);
		return map_rc(rc);
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)after);
	if (tenant != NULL)
		bind_text(st, 2, tenant);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)max + 1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (out->n == max) {
			out->more = true;
			continue;
		}
		struct store_event *e = &out->e[out->n++];
		e->seq = (uint64_t)sqlite3_column_int64(st, 0);
		e->time = sqlite3_column_int64(st, 1);
		col_copy(e->kind, sizeof e->kind, st, 2);
		col_copy(e->id, sizeof e->id, st, 3);
		col_copy(e->new_id, sizeof e->new_id, st, 4);
		col_copy(e->tenant, sizeof e->tenant, st, 5);
		e->state = (uint32_t)sqlite3_column_int64(st, 6);
		col_copy(e->holder, sizeof e->holder, st, 7);
		if (sqlite3_column_bytes(st, 8) == STORE_FINGERPRINT_LEN)
			memcpy(e->holder_fp, sqlite3_column_blob(st, 8), STORE_FINGERPRINT_LEN);
	}
	done_stmt(st);
	reader_put(b, c);
	return rc == SQLITE_DONE ? ERR_OK : map_rc(rc);
}

static err_t sq_leases_status(struct store_backend *b, int64_t by, uint64_t *folded, uint64_t *latest, bool *due)
{
	struct conn *c = reader_get(b);
	int rc;
	sqlite3_stmt *st = stmt(c, S_LEASES_STATUS, &rc);
	*folded = *latest = 0;
	*due = false;
	if (st == NULL) {
		reader_put(b, c);
		return map_rc(rc);
	}
	sqlite3_bind_int64(st, 1, by);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*folded = (uint64_t)sqlite3_column_int64(st, 0);
		*latest = (uint64_t)sqlite3_column_int64(st, 1);
		*due = sqlite3_column_int64(st, 2) != 0;
		rc = SQLITE_OK;
	}
	done_stmt(st);
	reader_put(b, c);
	return map_rc(rc);
}

static unsigned sq_commit_lag(const struct store_backend *b)
{
	(void)b; /* one writer: seq is commit order, a commit is seen at once */
	return 0;
}

static err_t sq_holders(struct store_backend *b, bool by_tenant, const char *key, size_t max,
			struct store_holders *out)
{
	out->n = 0;
	out->truncated = false;
	struct conn *c = reader_get(b);
	int rc;
	sqlite3_stmt *st = stmt(c, by_tenant ? S_HELD_BY : S_HOLDERS_OF, &rc);
	if (st == NULL) {
		reader_put(b, c);
		return map_rc(rc);
	}
	bind_text(st, 1, key);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)max + 1); /* one more: truncated? */
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (out->n == max) {
			out->truncated = true;
			continue;
		}
		struct store_holder *h = &out->h[out->n++];
		const char *id = (const char *)sqlite3_column_text(st, 0);
		const char *tenant = (const char *)sqlite3_column_text(st, 1);
		snprintf(h->id, sizeof h->id, "%s", id != NULL ? id : "");
		snprintf(h->tenant, sizeof h->tenant, "%s", tenant != NULL ? tenant : "");
		/* a damaged record's fingerprint of another length: zeros */
		if (sqlite3_column_bytes(st, 2) == STORE_FINGERPRINT_LEN)
			memcpy(h->fingerprint, sqlite3_column_blob(st, 2), STORE_FINGERPRINT_LEN);
		h->first = sqlite3_column_int64(st, 3);
		h->last = sqlite3_column_int64(st, 4);
		h->count = (uint64_t)sqlite3_column_int64(st, 5);
		h->lease_end = sqlite3_column_int64(st, 6);
		h->state = (uint32_t)sqlite3_column_int64(st, 7);
	}
	done_stmt(st);
	reader_put(b, c);
	return rc == SQLITE_DONE ? ERR_OK : map_rc(rc);
}

/* ---- find -------------------------------------------------------------------------------- */

static int bind_where(sqlite3_stmt *st, const struct store_where *w)
{
	for (int i = 0; i < w->n; i++) {
		const struct store_bindv *v = &w->v[i];
		int rc;
		if (v->is_int)
			rc = sqlite3_bind_int64(st, i + 1, v->i);
		else if (v->is_blob)
			rc = sqlite3_bind_blob(st, i + 1, v->p, (int)v->n, SQLITE_STATIC);
		else
			rc = sqlite3_bind_text(st, i + 1, v->p, (int)v->n, SQLITE_STATIC);
		if (rc != SQLITE_OK)
			return rc;
	}
	return SQLITE_OK;
}

static err_t sq_find(struct store_backend *b, const struct store_query *q, struct store_found *out)
{
	struct store_where *w = malloc(sizeof(*w));
	char sql[4400];
	sqlite3_stmt *st = NULL;
	err_t r = ERR_OK;
	int rc;
	memset(out, 0, sizeof(*out));
	if (w == NULL)
		return ERR_NOMEM;
	store_where_build(w, q, '?');
	if (w->overflow) {
		free(w);
		return ERR_TOO_LARGE;
	}
	struct conn *c = reader_get(b);
	/* one read transaction: the count and the page see the same snapshot */
	rc = exec(c, "BEGIN");
	if (rc == SQLITE_OK) {
		snprintf(sql, sizeof(sql), "SELECT count(*)%s", w->sql);
		rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
	}
	if (rc == SQLITE_OK)
		rc = bind_where(st, w);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		out->total = (uint64_t)sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	st = NULL;
	uint64_t want = out->total > q->offset ? out->total - q->offset : 0;
	if (q->max_items && want > q->max_items)
		want = q->max_items;
	if (rc == SQLITE_OK && want > 0) {
		out->ids = calloc((size_t)want, sizeof(*out->ids));
		if (out->ids == NULL)
			r = ERR_NOMEM;
		snprintf(sql, sizeof(sql), "SELECT o.id%s ORDER BY o.created_ns, o.id LIMIT %llu OFFSET %llu",
			 w->sql, (unsigned long long)want, (unsigned long long)q->offset);
		if (r == ERR_OK)
			rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
		if (r == ERR_OK && rc == SQLITE_OK)
			rc = bind_where(st, w);
		while (r == ERR_OK && rc == SQLITE_OK && out->n < want &&
		       (rc = sqlite3_step(st)) == SQLITE_ROW) {
			copy_text(out->ids[out->n], sizeof(out->ids[0]), st, 0);
			out->n++;
			rc = SQLITE_OK;
		}
		if (rc == SQLITE_DONE)
			rc = SQLITE_OK;
		sqlite3_finalize(st);
	}
	if (!sqlite3_get_autocommit(c->db))
		exec(c, "COMMIT");
	reader_put(b, c);
	free(w);
	if (r == ERR_OK)
		r = map_rc(rc);
	if (r != ERR_OK)
		store_found_free(out);
	return r;
}

static err_t sq_each_sealed(struct store_backend *b, store_sealed_fn fn, void *ctx)
{
	struct conn *c = reader_get(b);
	sqlite3_stmt *st = NULL;
	err_t r = ERR_OK;
	int rc = sqlite3_prepare_v2(c->db,
				    "SELECT o.id, o.tenant, o.type, o.state, o.alg, o.length, o.usage_mask,"
				    " o.key_format, o.revocation_reason, o.initial_date, o.activation_date,"
				    " o.deactivation_date, o.destroy_date, o.compromise_date,"
				    " o.compromise_occurrence_date, o.last_change_date,"
				    " o.original_creation_date, o.created_ns, o.digest, o.data_type, o.protection, m.sealed"
				    " FROM material m JOIN objects o ON o.id = m.id ORDER BY o.created_ns, o.id",
				    -1, &st, NULL);
	while (rc == SQLITE_OK && r == ERR_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_row row;
		read_row(st, &row);
		r = fn(ctx, &row, sqlite3_column_blob(st, 21), (size_t)sqlite3_column_bytes(st, 21));
		rc = SQLITE_OK;
	}
	if (rc == SQLITE_DONE)
		rc = SQLITE_OK;
	sqlite3_finalize(st);
	reader_put(b, c);
	return r != ERR_OK ? r : map_rc(rc);
}

/* ---- backup ---------------------------------------------------------------------------- */

static int count_of(struct conn *c, const char *sql, uint64_t *out)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		*out = (uint64_t)sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

static int conn_counts(struct conn *c, struct store_counts *out)
{
	memset(out, 0, sizeof(*out));
	int rc = count_of(c, "SELECT count(*) FROM objects", &out->objects);
	if (rc == SQLITE_OK)
		rc = count_of(c, "SELECT count(*) FROM attributes", &out->attrs);
	if (rc == SQLITE_OK)
		rc = count_of(c, "SELECT count(*) FROM material", &out->sealed);
	if (rc == SQLITE_OK)
		rc = count_of(c, "SELECT count(*) FROM access_log", &out->access);
	if (rc == SQLITE_OK)
		rc = count_of(c, "SELECT count(*) FROM names", &out->names);
	return rc;
}

static err_t sq_counts(struct store_backend *b, struct store_counts *out)
{
	struct conn *c = reader_get(b);
	/* one snapshot for the five counts */
	int rc = run(c, S_BEGIN);
	if (rc == SQLITE_OK)
		rc = conn_counts(c, out);
	if (!sqlite3_get_autocommit(c->db))
		(void)run(c, S_COMMIT);
	reader_put(b, c);
	return map_rc(rc);
}

/* dump_attrs streams |id|'s attributes to fns->attr, one row at a time */
static err_t dump_attrs(sqlite3_stmt *st, const char *id, const struct store_dump_fns *fns, void *ctx,
			int *rc_out)
{
	err_t r = ERR_OK;
	int rc = SQLITE_OK;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	while (r == ERR_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_attr a;
		memset(&a, 0, sizeof(a));
		a.name = (const char *)sqlite3_column_text(st, 0);
		a.index = (uint32_t)sqlite3_column_int64(st, 1);
		a.type = (uint8_t)sqlite3_column_int(st, 2);
		a.value = sqlite3_column_blob(st, 3);
		a.value_len = (size_t)sqlite3_column_bytes(st, 3);
		a.search = (const char *)sqlite3_column_text(st, 4);
		if (a.name == NULL)
			a.name = "";
		r = fns->attr(ctx, &a);
	}
	if (r == ERR_OK && rc != SQLITE_DONE)
		*rc_out = rc;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

static err_t sq_dump(struct store_backend *b, const struct store_dump_fns *fns, void *ctx)
{
	struct conn *c = reader_get(b);
	sqlite3_stmt *objs = NULL, *attrs = NULL, *log = NULL;
	struct store_counts counts;
	err_t r = ERR_OK;
	/* a read transaction: every statement below sees one snapshot of the
	 * database (WAL), however long the dump takes and whatever the writer
	 * commits meanwhile */
	int rc = run(c, S_BEGIN);
	if (rc == SQLITE_OK)
		rc = conn_counts(c, &counts);
	if (rc == SQLITE_OK)
		r = fns->counts(ctx, &counts);
	if (rc == SQLITE_OK && r == ERR_OK)
		rc = sqlite3_prepare_v2(c->db,
					"SELECT o.id, o.tenant, o.type, o.state, o.alg, o.length, o.usage_mask,"
					" o.key_format, o.revocation_reason, o.initial_date, o.activation_date,"
					" o.deactivation_date, o.destroy_date, o.compromise_date,"
					" o.compromise_occurrence_date, o.last_change_date,"
					" o.original_creation_date, o.created_ns, o.digest, o.data_type, o.protection,"
					" m.sealed, m.id IS NOT NULL"
					" FROM objects o LEFT JOIN material m ON m.id = o.id ORDER BY o.created_ns, o.id",
					-1, &objs, NULL);
	if (rc == SQLITE_OK && r == ERR_OK)
		rc = sqlite3_prepare_v2(c->db,
					"SELECT name, idx, type, value, search FROM attributes WHERE id = ?1"
					" ORDER BY name, idx",
					-1, &attrs, NULL);
	while (rc == SQLITE_OK && r == ERR_OK && (rc = sqlite3_step(objs)) == SQLITE_ROW) {
		struct store_row row;
		read_row(objs, &row);
		bool has = sqlite3_column_int(objs, 22) != 0;
		const uint8_t *sealed = has ? sqlite3_column_blob(objs, 21) : NULL;
		size_t len = has ? (size_t)sqlite3_column_bytes(objs, 21) : 0;
		static const uint8_t empty[1];
		r = fns->object(ctx, &row, has && sealed == NULL ? empty : sealed, len);
		rc = SQLITE_OK;
		if (r == ERR_OK)
			r = dump_attrs(attrs, row.id, fns, ctx, &rc);
	}
	if (rc == SQLITE_DONE)
		rc = SQLITE_OK;
	if (rc == SQLITE_OK && r == ERR_OK)
		rc = sqlite3_prepare_v2(c->db,
					"SELECT id, tenant, fingerprint, operation, time, lease_end FROM access_log"
					" ORDER BY seq",
					-1, &log, NULL);
	while (rc == SQLITE_OK && r == ERR_OK && (rc = sqlite3_step(log)) == SQLITE_ROW) {
		struct store_access a;
		a.id = (const char *)sqlite3_column_text(log, 0);
		a.tenant = (const char *)sqlite3_column_text(log, 1);
		a.fp = sqlite3_column_blob(log, 2);
		a.fp_len = (size_t)sqlite3_column_bytes(log, 2);
		a.op = (const char *)sqlite3_column_text(log, 3);
		a.time = sqlite3_column_int64(log, 4);
		a.lease_end = sqlite3_column_int64(log, 5);
		a.id = a.id ? a.id : "";
		a.tenant = a.tenant ? a.tenant : "";
		a.op = a.op ? a.op : "";
		r = fns->access(ctx, &a);
		rc = SQLITE_OK;
	}
	if (rc == SQLITE_DONE)
		rc = SQLITE_OK;
	sqlite3_finalize(objs);
	sqlite3_finalize(attrs);
	sqlite3_finalize(log);
	if (!sqlite3_get_autocommit(c->db))
		(void)run(c, S_COMMIT); /* a read: nothing to keep or lose */
	reader_put(b, c);
	return r != ERR_OK ? r : map_rc(rc);
}

/* sq_quick_check: PRAGMA quick_check, O(N) in the database's size, finds
 * damaged pages and b-trees but not a flipped bit inside a value (the
 * seals' tags find those: store-ha.md §1.3) */
/* sq_ping: the embedded database is always there; what can stop writes
 * is the disk, as the last batch found it (headroom) */
static err_t sq_ping(struct store_backend *b)
{
	return atomic_load(&b->low) ? ERR_STORE_FULL : ERR_OK;
}

static err_t sq_quick_check(struct store_backend *b, char *msg, size_t len)
{
	struct conn *c = reader_get(b);
	sqlite3_stmt *st = NULL;
	err_t r = ERR_OK;
	int rc = sqlite3_prepare_v2(c->db, "PRAGMA quick_check", -1, &st, NULL);
	if (len)
		msg[0] = '\0';
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *m = (const char *)sqlite3_column_text(st, 0);
		if (m == NULL || strcmp(m, "ok") != 0) {
			r = ERR_STORE_CORRUPT;
			if (len)
				snprintf(msg, len, "%s", m ? m : "(no answer)");
		}
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_OK && len)
		snprintf(msg, len, "%s", sqlite3_errmsg(c->db));
	reader_put(b, c);
	return r != ERR_OK ? r : map_rc(rc);
}

static void sq_stats(struct store_backend *b, struct store_stats *out)
{
	pthread_mutex_lock(&b->q.mu);
	*out = b->stats;
	out->requests = b->q.requests;
	pthread_mutex_unlock(&b->q.mu);
	pthread_mutex_lock(&b->ck_mu);
	out->checkpoints_beside = b->ck_beside;
	out->checkpoints_writer = b->ck_writer;
	pthread_mutex_unlock(&b->ck_mu);
	/* the main file and its -wal: what the store takes on disk now */
	char wal[sizeof b->path + 8];
	struct stat st;
	out->db_bytes = stat(b->path, &st) == 0 ? (uint64_t)st.st_size : 0;
	snprintf(wal, sizeof wal, "%s-wal", b->path);
	if (stat(wal, &st) == 0)
		out->db_bytes += (uint64_t)st.st_size;
}

static const char *sq_where(const struct store_backend *b)
{
	return b->path;
}

const struct store_backend_ops store_sqlite_ops = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.where = sq_where,
	.submit = sq_submit,
	.txn_row_get = txn_row_get,
	.txn_row_insert = txn_row_insert,
	.txn_row_update = txn_row_update,
	.txn_attr_insert = txn_attr_insert,
	.txn_attr_update = txn_attr_update,
	.txn_attr_delete = txn_attr_delete,
	.txn_attr_count = txn_attr_count,
	.txn_material_put = txn_material_put,
	.txn_material_wipe = txn_material_wipe,
	.txn_access_insert = txn_access_insert,
	.txn_event_insert = txn_event_insert,
	.txn_events_lock = txn_events_lock,
	.txn_leases_fold = txn_leases_fold,
	.txn_leases_ended = txn_leases_ended,
	.txn_lease_done = txn_lease_done,
	.txn_meta_put = txn_meta_put,
	.txn_name_claim = txn_name_claim,
	.txn_name_release = txn_name_release,
	.txn_material_get = txn_material_get,
	.row_get = sq_row_get,
	.attrs_get = sq_attrs_get,
	.material_get = sq_material_get,
	.object_get = sq_object_get,
	.find = sq_find,
	.meta_get = sq_meta_get,
	.each_sealed = sq_each_sealed,
	.access_count = sq_access_count,
	.holders = sq_holders,
	.events = sq_events,
	.events_latest = sq_events_latest,
	.leases_status = sq_leases_status,
	.commit_lag = sq_commit_lag,
	.stats = sq_stats,
	.counts = sq_counts,
	.dump = sq_dump,
	.quick_check = sq_quick_check,
	.ping = sq_ping,
};
