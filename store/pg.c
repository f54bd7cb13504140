/* store/pg.c — the PostgreSQL backend, through libpq, behind the same
 * table as store/sqlite.c: the same schema versions, the group commit of
 * store/queue.c, reader connections beside one writer connection.
 *
 * What an acknowledged write means here (store-ha.md §2-§3): the batch's
 * COMMIT returned COMMIT. Whether that is on one machine or two is the
 * server's synchronous_commit and synchronous_standby_names (README
 * "Running several nodes").
 *
 * Rules this file keeps:
 * - Every statement has a deadline ([store] timeout_ms): the socket is
 *   polled (PQsocket, non-blocking libpq), because libpq's own timeouts
 *   miss a peer that hangs after connecting (store-ha.md §2.2). A request
 *   past its deadline fails; its connection is closed, never reused.
 * - A write whose COMMIT was sent and whose answer never came has an
 *   unknown outcome: ERR_STORE_COMMIT_UNKNOWN, never "not stored"
 *   (§2.3). A COMMIT is never cancelled.
 * - A lost connection before COMMIT means nothing was written: the batch
 *   fails with ERR_STORE_UNAVAILABLE, definite.
 * - Reconnects follow libpq's multi-host list with target_session_attrs
 *   (read-write unless the URL says otherwise), so after a failover a node
 *   finds the new primary by itself; failed attempts back off (100 ms
 *   doubling to 2 s) and requests in between fail at once.
 * - Conflicts another node may cause are no errors: Names and attribute
 *   instances are claimed with INSERT ... ON CONFLICT DO NOTHING (0 rows:
 *   taken), and the row a write reads before changing it is locked (FOR
 *   UPDATE), so two nodes' state changes of one object serialize instead of
 *   one overwriting the other (READ COMMITTED otherwise).
 * - Reads run on the primary too: an object created on one node is seen at
 *   once on every other (no standby lag, no Long Fork: store-ha.md §4).
 * - The password comes from [store] password_file (or libpq's passfile),
 *   never from the URL, and nothing logged carries it.
 *
 * libpq facts used (postgresql.org/docs/15/libpq-*.html): PQconnectdbParams
 * with expand_dbname (later keywords override earlier ones, so fount's
 * defaults come first and the URL's own values win); PQsetnonblocking,
 * PQflush, PQconsumeInput, PQisBusy, PQgetResult for the polled path;
 * binary parameters and results (int8 big-endian, bytea and text raw);
 * PQsetSingleRowMode to stream a whole table. */
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/internal.h"

CSP_DEFINE("PostgreSQL password", "CSP",
	   "[store] password_file (0600), read into locked memory",
	   "entered by the operator into the file",
	   "to the PostgreSQL server in its authentication (SCRAM over TLS where configured); never in the URL or a log",
	   "wiped when the backend closes");

/* ---- schema and migrations ------------------------------------------------ */

/* The same versions as store/sqlite.c's list, each in PostgreSQL's words.
 * Integer columns are BIGINT (every value fits, and one binary width to
 * read); blobs are BYTEA. */
static const char *const migrations[] = {
	/* 1 */
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value BYTEA NOT NULL);"
	"CREATE TABLE objects("
	" id TEXT PRIMARY KEY, tenant TEXT NOT NULL, type BIGINT NOT NULL,"
	" state BIGINT NOT NULL, alg BIGINT NOT NULL, length BIGINT NOT NULL,"
	" usage_mask BIGINT NOT NULL, key_format BIGINT NOT NULL,"
	" revocation_reason BIGINT NOT NULL, initial_date BIGINT NOT NULL,"
	" activation_date BIGINT NOT NULL, deactivation_date BIGINT NOT NULL,"
	" destroy_date BIGINT NOT NULL, compromise_date BIGINT NOT NULL,"
	" compromise_occurrence_date BIGINT NOT NULL, last_change_date BIGINT NOT NULL,"
	" original_creation_date BIGINT NOT NULL, created_ns BIGINT NOT NULL, digest BYTEA);"
	"CREATE INDEX objects_tenant_order ON objects(tenant, created_ns, id);"
	"CREATE INDEX objects_order ON objects(created_ns, id);"
	"CREATE TABLE attributes("
	" id TEXT NOT NULL REFERENCES objects(id), name TEXT NOT NULL, idx BIGINT NOT NULL,"
	" type BIGINT NOT NULL, value BYTEA NOT NULL, search TEXT,"
	" PRIMARY KEY(id, name, idx));"
	"CREATE INDEX attributes_search ON attributes(name, search) WHERE search IS NOT NULL;"
	/* a hash index: a B-tree entry is limited to about a third of a
	 * page, and a custom attribute's value may be larger */
	"CREATE INDEX attributes_value ON attributes USING hash (value);"
	"CREATE TABLE material(id TEXT PRIMARY KEY REFERENCES objects(id), sealed BYTEA NOT NULL);"
	"CREATE TABLE access_log(seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	" id TEXT NOT NULL, tenant TEXT NOT NULL, fingerprint BYTEA NOT NULL,"
	" operation TEXT NOT NULL, time BIGINT NOT NULL);"
	"CREATE INDEX access_log_id ON access_log(id);",
	/* 2: Names unique per tenant, and data_type (see sqlite.c) */
	"CREATE TABLE names(tenant TEXT NOT NULL, name TEXT NOT NULL,"
	" id TEXT NOT NULL REFERENCES objects(id), idx BIGINT NOT NULL,"
	" PRIMARY KEY(tenant, name));"
	"CREATE INDEX names_id ON names(id, idx);"
	"INSERT INTO names(tenant, name, id, idx)"
	" SELECT o.tenant, a.search, a.id, a.idx FROM attributes a JOIN objects o ON o.id = a.id"
	" WHERE a.name = 'Name' AND a.search IS NOT NULL AND o.state NOT IN (5, 6)"
	" ORDER BY o.created_ns, a.id, a.idx ON CONFLICT DO NOTHING;"
	"ALTER TABLE objects ADD COLUMN data_type BIGINT NOT NULL DEFAULT 0;",
	/* 3: the protection bits (see sqlite.c) */
	"ALTER TABLE objects ADD COLUMN protection BIGINT NOT NULL DEFAULT 8;"
	"UPDATE objects SET protection = protection + 1 WHERE id NOT IN"
	" (SELECT id FROM access_log WHERE operation IN ('kmip get', 'kmip get wrapped', 'get wrapped'));",
	/* 4: SQLite's tables without rowid; PostgreSQL's heap has no such
	 * kind: nothing to change */
	"SELECT 1;",
	/* 5: the access log without its index on the object (see sqlite.c) */
	"DROP INDEX IF EXISTS access_log_id;",
	/* 6: the end of the lease each access granted (see sqlite.c) */
	"ALTER TABLE access_log ADD COLUMN lease_end BIGINT NOT NULL DEFAULT 0;",
	/* 7: events (see sqlite.c) */
	("CREATE TABLE events(seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, time BIGINT NOT NULL,"
	 " kind TEXT NOT NULL, id TEXT NOT NULL, new_id TEXT NOT NULL, tenant TEXT NOT NULL, state BIGINT NOT NULL);"),
	/* 8: the leases table and the events' holder (see sqlite.c) */
	("CREATE TABLE leases(id TEXT NOT NULL, tenant TEXT NOT NULL, fingerprint BYTEA NOT NULL,"
	 " lease_end BIGINT NOT NULL, ended BIGINT NOT NULL, slack BIGINT NOT NULL,"
	 " PRIMARY KEY (id, tenant, fingerprint));"
	 "CREATE INDEX leases_open ON leases(lease_end) WHERE ended = 0;"
	 "CREATE TABLE lease_fold(seq BIGINT NOT NULL);"
	 "INSERT INTO lease_fold VALUES (0);"
	 STORE_LEASES_FOLD_SQL("0", "9223372036854775807", "extract(epoch FROM now())::bigint",
			       "9223372036854775807") ";"
	 STORE_LEASES_MARK_SQL("9223372036854775807") ";"
	 "ALTER TABLE events ADD COLUMN holder TEXT NOT NULL DEFAULT '';"
	 "ALTER TABLE events ADD COLUMN holder_fp BYTEA;"),
};
_Static_assert(ARRAY_SIZE(migrations) == STORE_SCHEMA_VERSION, "a migration for each schema version");

/* the key of the advisory lock that serializes nodes migrating at once */
#define MIGRATE_LOCK "439956631156" /* 0x666f756e74, "fount" */
/* the key of the advisory lock that orders event writers */
#define EVENTS_LOCK "439956631157"

/* ---- statements ------------------------------------------------------------------- */

#define ROW_COLS                                                                        \
	"id, tenant, type, state, alg, length, usage_mask, key_format, revocation_reason," \
	" initial_date, activation_date, deactivation_date, destroy_date, compromise_date," \
	" compromise_occurrence_date, last_change_date, original_creation_date, created_ns," \
	" digest, data_type, protection"
#define ROW_NCOLS 21

enum stmt_id {
	S_ROW_GET, S_ROW_LOCK, S_ROW_INSERT, S_ROW_UPDATE, S_ATTR_INSERT, S_ATTR_UPDATE, S_ATTR_DEL_ONE,
	S_ATTR_DEL_ALL, S_ATTR_COUNT, S_MAT_PUT, S_MAT_DEL, S_ACCESS_INSERT, S_META_PUT, S_META_GET,
	S_ATTRS_GET, S_MAT_GET, S_ACCESS_COUNT, S_HOLDERS_OF, S_HELD_BY, S_EVENT_LOCK, S_EVENT_INSERT, S_EVENTS_OF, S_EVENTS_ALL, S_EVENTS_LATEST,
	S_LEASES_FOLD, S_LEASES_MARK, S_LEASES_ENDED, S_LEASE_DONE, S_LEASES_STATUS, S_NAME_CLAIM, S_NAME_RELEASE_ONE, S_NAME_RELEASE_ALL,
	S_OBJ_MAT, S_OBJ_HAS, S_COUNT_
};

static const char *const stmt_sql[S_COUNT_] = {
	[S_ROW_GET] = "SELECT " ROW_COLS " FROM objects WHERE id = $1",
	/* inside a write: the row stays locked until the commit, so another
	 * node's change of the same object waits and then reads this one's */
	[S_ROW_LOCK] = "SELECT " ROW_COLS " FROM objects WHERE id = $1 FOR UPDATE",
	[S_ROW_INSERT] = "INSERT INTO objects(" ROW_COLS ") VALUES"
			 " ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21)",
	[S_ROW_UPDATE] = "UPDATE objects SET tenant=$2, type=$3, state=$4, alg=$5, length=$6,"
			 " usage_mask=$7, key_format=$8, revocation_reason=$9, initial_date=$10,"
			 " activation_date=$11, deactivation_date=$12, destroy_date=$13,"
			 " compromise_date=$14, compromise_occurrence_date=$15,"
			 " last_change_date=$16, original_creation_date=$17, created_ns=$18,"
			 " digest=$19, data_type=$20, protection=$21 WHERE id=$1",
	[S_ATTR_INSERT] = "INSERT INTO attributes(id, name, idx, type, value, search)"
			  " VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT DO NOTHING",
	[S_ATTR_UPDATE] = "UPDATE attributes SET type=$4, value=$5, search=$6"
			  " WHERE id=$1 AND name=$2 AND idx=$3",
	[S_ATTR_DEL_ONE] = "DELETE FROM attributes WHERE id=$1 AND name=$2 AND idx=$3",
	[S_ATTR_DEL_ALL] = "DELETE FROM attributes WHERE id=$1 AND name=$2",
	[S_ATTR_COUNT] = "SELECT count(*), coalesce(max(idx) + 1, 0) FROM attributes"
			 " WHERE id=$1 AND name=$2",
	[S_MAT_PUT] = "INSERT INTO material(id, sealed) VALUES ($1, $2)"
		      " ON CONFLICT (id) DO UPDATE SET sealed = EXCLUDED.sealed",
	[S_MAT_DEL] = "DELETE FROM material WHERE id=$1",
	[S_ACCESS_INSERT] = "INSERT INTO access_log(id, tenant, fingerprint, operation, time, lease_end)"
			    " VALUES ($1,$2,$3,$4,$5,$6)",
	[S_META_PUT] = "INSERT INTO meta(key, value) VALUES ($1, $2)"
		       " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
	[S_META_GET] = "SELECT value FROM meta WHERE key=$1",
	/* COLLATE "C": byte order, as SQLite sorts TEXT; the database's
	 * own collation (e.g. en_US.UTF-8) would order names otherwise */
	[S_ATTRS_GET] = "SELECT name, idx, type, value, search FROM attributes WHERE id=$1"
			" ORDER BY name COLLATE \"C\", idx",
	[S_MAT_GET] = "SELECT sealed FROM material WHERE id=$1",
	[S_ACCESS_COUNT] = "SELECT count(*) FROM access_log WHERE id=$1",
	/* the holders: one scan of the log (no index by object since
	 * migration 5, none by tenant) */
	[S_HOLDERS_OF] = STORE_HOLDERS_SQL("a.id", "$1", "$2", "a.tenant COLLATE \"C\", a.fingerprint"),
	[S_HELD_BY] = STORE_HOLDERS_SQL("a.tenant", "$1", "$2", "a.id COLLATE \"C\", a.fingerprint"),
	/* events in commit order: a transaction that writes one holds this
	 * lock from before it draws its seq until it commits, so no event
	 * becomes visible before one with a smaller seq (a reader that has
	 * seen seq N never misses one below it on any node) */
	[S_EVENT_LOCK] = "SELECT pg_advisory_xact_lock(" EVENTS_LOCK ")",
	[S_EVENT_INSERT] = "INSERT INTO events(time, kind, id, new_id, tenant, state, holder, holder_fp)"
			   " VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
	[S_EVENTS_OF] = STORE_EVENTS_OF_SQL("$1", "$2", "$3"),
	[S_EVENTS_ALL] = STORE_EVENTS_ALL_SQL("$1", "$2"),
	[S_EVENTS_LATEST] = "SELECT coalesce(max(seq), 0) FROM events",
	/* the leases' fold and sweep (store/lease.c), under S_EVENT_LOCK */
	[S_LEASES_FOLD] = STORE_LEASES_FOLD_SQL("(SELECT seq FROM lease_fold)", "$1", "$2", "$3"),
	[S_LEASES_MARK] = STORE_LEASES_MARK_SQL("$1"),
	[S_LEASES_ENDED] = STORE_LEASES_ENDED_SQL("$1", "$2"),
	[S_LEASE_DONE] = STORE_LEASE_DONE_SQL("$1", "$2", "$3"),
	[S_LEASES_STATUS] = STORE_LEASES_STATUS_SQL("$1"),
	[S_NAME_CLAIM] = "INSERT INTO names(tenant, name, id, idx) VALUES ($1,$2,$3,$4)"
			 " ON CONFLICT DO NOTHING",
	[S_NAME_RELEASE_ONE] = "DELETE FROM names WHERE id=$1 AND idx=$2",
	[S_NAME_RELEASE_ALL] = "DELETE FROM names WHERE id=$1",
	/* an object's row and its material, or whether it has any: one
	 * statement, so one snapshot */
	[S_OBJ_MAT] = "SELECT " ROW_COLS ", (SELECT m.sealed FROM material m WHERE m.id = o.id)"
		      " FROM objects o WHERE o.id = $1",
	[S_OBJ_HAS] = "SELECT " ROW_COLS ", EXISTS (SELECT 1 FROM material m WHERE m.id = o.id)"
		      " FROM objects o WHERE o.id = $1",
};

/* ---- connections ---------------------------------------------------------------------- */

struct conn {
	PGconn *pg;
	bool prepared[S_COUNT_];
	bool busy; /* readers: lent out */
};

struct store_txn {
	struct store_backend *b;
	struct conn *c;
	int64_t deadline;
	err_t fatal; /* the connection is lost or past its deadline: the batch fails */
};

#define KW_MAX 16

struct store_backend {
	char where[512]; /* host, port, dbname, user: what logs and errors name */
	const char *kw[KW_MAX + 1], *val[KW_MAX + 1];
	char *url;
	char *password; /* secure memory, or NULL */
	size_t password_len;
	struct store_backend_params p;
	unsigned timeout_ms;

	struct conn w; /* the writer's, owned by the queue's thread */
	struct conn *readers;
	pthread_mutex_t rmu; /* readers, and the reconnect back-off */
	pthread_cond_t rcv;
	int64_t retry_at_ms; /* no connection attempt before this (monotonic) */
	unsigned backoff_ms;
	int64_t down_since_ms, logged_ms; /* the outage's start, its last log line */
	atomic_bool reachable;

	struct store_queue q; /* the group commit; its lock guards stats */
	struct store_stats stats;
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* first_line copies libpq's message up to its first newline. */
static void first_line(char *dst, size_t cap, const char *msg)
{
	size_t n = strcspn(msg ? msg : "", "\n");
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, msg ? msg : "", n);
	dst[n] = '\0';
}

static void conn_close(struct conn *c)
{
	if (c->pg != NULL)
		PQfinish(c->pg);
	c->pg = NULL;
	memset(c->prepared, 0, sizeof(c->prepared));
}

/* backoff_failed / backoff_ok keep the reconnect back-off, and the log
 * of it: the first failure, then at most one line per 10 s while it lasts
 * (an outage under load is thousands of failed attempts), then one line
 * when the database answers again */
static void backoff_failed(struct store_backend *b, const char *why)
{
	pthread_mutex_lock(&b->rmu);
	int64_t now = mono_ms();
	b->backoff_ms = b->backoff_ms == 0 ? 100 : b->backoff_ms * 2 > 2000 ? 2000 : b->backoff_ms * 2;
	b->retry_at_ms = now + b->backoff_ms;
	if (b->down_since_ms == 0)
		b->down_since_ms = now;
	bool say = b->logged_ms == 0 || now - b->logged_ms >= 10000;
	if (say)
		b->logged_ms = now;
	pthread_mutex_unlock(&b->rmu);
	atomic_store(&b->reachable, false);
	if (say)
		log_warn("%s; retrying (every 0.1 to 2 s, as requests come)", why);
}

static void backoff_ok(struct store_backend *b)
{
	pthread_mutex_lock(&b->rmu);
	int64_t down = b->down_since_ms != 0 ? mono_ms() - b->down_since_ms : -1;
	b->backoff_ms = 0;
	b->retry_at_ms = 0;
	b->down_since_ms = 0;
	b->logged_ms = 0;
	pthread_mutex_unlock(&b->rmu);
	atomic_store(&b->reachable, true);
	if (down >= 0)
		log_info("store: PostgreSQL (%s) answers again, after %.1f s", b->where, (double)down / 1000);
}

/* notice: the server's notices and warnings (e.g. "terminating connection
 * due to immediate shutdown") go to fount's log, not to stderr */
static void notice(void *arg, const char *msg)
{
	(void)arg;
	char line[256];
	first_line(line, sizeof(line), msg);
	log_warn("PostgreSQL: %s", line);
}

/* conn_open connects |c|: libpq's blocking connect, bounded by
 * connect_timeout per host (fount sets 2 s unless the URL says). While a
 * back-off runs it fails at once (|force| ignores it: start-up). */
static err_t conn_open(struct store_backend *b, struct conn *c, bool force, char *errbuf, size_t errlen)
{
	conn_close(c);
	if (!force) {
		pthread_mutex_lock(&b->rmu);
		bool wait = b->retry_at_ms != 0 && mono_ms() < b->retry_at_ms;
		pthread_mutex_unlock(&b->rmu);
		if (wait) {
			snprintf(errbuf, errlen, "store: PostgreSQL (%s) unreachable; retrying", b->where);
			return ERR_STORE_UNAVAILABLE;
		}
	}
	c->pg = PQconnectdbParams(b->kw, b->val, 1);
	if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK) {
		char why[256];
		first_line(why, sizeof(why), c->pg ? PQerrorMessage(c->pg) : "out of memory");
		snprintf(errbuf, errlen, "store: cannot connect to PostgreSQL (%s): %s", b->where, why);
		conn_close(c);
		if (!force) /* at start-up, the caller says it */
			backoff_failed(b, errbuf);
		return ERR_STORE_UNAVAILABLE;
	}
	(void)PQsetNoticeProcessor(c->pg, notice, NULL);
	if (PQsetnonblocking(c->pg, 1) != 0) {
		snprintf(errbuf, errlen, "store: PostgreSQL (%s): cannot make the connection non-blocking", b->where);
		conn_close(c);
		return ERR_STORE;
	}
	backoff_ok(b);
	return ERR_OK;
}

/* ---- the polled path ---------------------------------------------------------------------- */

/* map_state turns a failed result's SQLSTATE into fount's error */
static err_t map_state(const char *st)
{
	if (st == NULL)
		return ERR_STORE;
	if (strncmp(st, "08", 2) == 0 || strncmp(st, "57P", 3) == 0 || strcmp(st, "25006") == 0)
		return ERR_STORE_UNAVAILABLE; /* connection, shutdown, or a standby's read-only */
	if (strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0 || strcmp(st, "55P03") == 0)
		return ERR_STORE_BUSY; /* serialization, deadlock, lock not available */
	if (strcmp(st, "53100") == 0)
		return ERR_STORE_FULL;
	if (strcmp(st, "53200") == 0)
		return ERR_NOMEM;
	if (strncmp(st, "54", 2) == 0)
		return ERR_TOO_LARGE; /* e.g. an index row too large */
	if (strncmp(st, "23", 2) == 0 || strncmp(st, "22", 2) == 0)
		return ERR_INVALID_ARG; /* constraint, or data (e.g. a NUL in text) */
	if (strcmp(st, "XX001") == 0 || strcmp(st, "XX002") == 0)
		return ERR_STORE_CORRUPT;
	if (strcmp(st, "58030") == 0)
		return ERR_STORE_IO;
	return ERR_STORE;
}

/* next_result waits (until |deadline|, monotonic ms) for the next result
 * of the command in flight: *out is NULL at its end. ERR_STORE_UNAVAILABLE
 * when the connection is lost or the deadline passed (the connection is
 * then unusable: the caller closes it). */
static err_t next_result(struct conn *c, int64_t deadline, PGresult **out)
{
	*out = NULL;
	for (;;) {
		int f = PQflush(c->pg);
		if (f < 0)
			return ERR_STORE_UNAVAILABLE;
		if (f == 0 && !PQisBusy(c->pg))
			break;
		int64_t left = deadline - mono_ms();
		if (left <= 0)
			return ERR_STORE_UNAVAILABLE;
		struct pollfd pfd = {PQsocket(c->pg), (short)(POLLIN | (f == 1 ? POLLOUT : 0)), 0};
		if (pfd.fd < 0)
			return ERR_STORE_UNAVAILABLE;
		int n = poll(&pfd, 1, left > 1000 ? 1000 : (int)left);
		if (n < 0 && errno != EINTR)
			return ERR_STORE_UNAVAILABLE;
		if (n > 0 && (pfd.revents & (POLLIN | POLLERR | POLLHUP)) && PQconsumeInput(c->pg) == 0)
			return ERR_STORE_UNAVAILABLE;
	}
	*out = PQgetResult(c->pg);
	if (*out == NULL && PQstatus(c->pg) != CONNECTION_OK)
		return ERR_STORE_UNAVAILABLE;
	return ERR_OK;
}

/* finish reads the rest of a command's results: its one result that
 * matters in *res (the first error, else the last), or an error. The
 * connection error comes back as ERR_STORE_UNAVAILABLE with *res NULL. */
static err_t finish(struct conn *c, int64_t deadline, PGresult **res)
{
	*res = NULL;
	for (;;) {
		PGresult *r = NULL;
		err_t e = next_result(c, deadline, &r);
		if (e != ERR_OK) {
			PQclear(*res);
			*res = NULL;
			return e;
		}
		if (r == NULL)
			break;
		ExecStatusType st = PQresultStatus(r);
		bool err = st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE || st == PGRES_NONFATAL_ERROR;
		bool have_err = *res != NULL && PQresultStatus(*res) == PGRES_FATAL_ERROR;
		if (have_err && !err) {
			PQclear(r);
			continue;
		}
		PQclear(*res);
		*res = r;
	}
	if (*res == NULL)
		return ERR_STORE;
	ExecStatusType st = PQresultStatus(*res);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return ERR_OK;
	if (PQstatus(c->pg) != CONNECTION_OK)
		return ERR_STORE_UNAVAILABLE;
	return map_state(PQresultErrorField(*res, PG_DIAG_SQLSTATE));
}

/* a statement's parameters: text and bytea as binary (raw bytes with a
 * length, so a text need not end in NUL), integers as text (typed by the
 * server from the statement) */
struct args {
	int n;
	const char *v[ROW_NCOLS];
	int len[ROW_NCOLS];
	int fmt[ROW_NCOLS];
	char num[ROW_NCOLS][24];
};

static void a_textn(struct args *a, const char *s, size_t n)
{
	a->v[a->n] = s != NULL ? (n ? s : "") : NULL;
	a->len[a->n] = (int)n;
	a->fmt[a->n] = 1;
	a->n++;
}

static void a_text(struct args *a, const char *s)
{
	a_textn(a, s, s != NULL ? strlen(s) : 0);
}

static void a_blob(struct args *a, const void *p, size_t n)
{
	a_textn(a, p != NULL ? (const char *)p : "", n);
}

static void a_null(struct args *a)
{
	a->v[a->n] = NULL;
	a->len[a->n] = 0;
	a->fmt[a->n] = 0;
	a->n++;
}

static void a_int(struct args *a, int64_t v)
{
	snprintf(a->num[a->n], sizeof(a->num[0]), "%lld", (long long)v);
	a->v[a->n] = a->num[a->n];
	a->len[a->n] = 0;
	a->fmt[a->n] = 0;
	a->n++;
}

/* run sends prepared statement |id| (preparing it first on this
 * connection) and waits for its result (binary columns). */
static err_t run(struct conn *c, enum stmt_id id, const struct args *a, int64_t deadline, PGresult **res)
{
	*res = NULL;
	if (c->pg == NULL)
		return ERR_STORE_UNAVAILABLE;
	char name[8];
	snprintf(name, sizeof(name), "s%d", (int)id);
	if (!c->prepared[id]) {
		if (!PQsendPrepare(c->pg, name, stmt_sql[id], 0, NULL))
			return ERR_STORE_UNAVAILABLE;
		PGresult *pr = NULL;
		err_t e = finish(c, deadline, &pr);
		if (e != ERR_OK && pr != NULL) {
			const char *m = PQresultErrorField(pr, PG_DIAG_MESSAGE_PRIMARY);
			log_error("store: PostgreSQL cannot prepare a statement: %s", m != NULL ? m : "");
		}
		PQclear(pr);
		GUARD(e);
		c->prepared[id] = true;
	}
	if (!PQsendQueryPrepared(c->pg, name, a->n, a->v, a->len, a->fmt, 1))
		return ERR_STORE_UNAVAILABLE;
	return finish(c, deadline, res);
}

/* simple runs one command without parameters (BEGIN, SAVEPOINT...) */
static err_t simple(struct conn *c, const char *sql, int64_t deadline, PGresult **res_out)
{
	PGresult *res = NULL;
	if (c->pg == NULL)
		return ERR_STORE_UNAVAILABLE;
	if (!PQsendQuery(c->pg, sql))
		return ERR_STORE_UNAVAILABLE;
	err_t r = finish(c, deadline, &res);
	if (res_out != NULL)
		*res_out = res;
	else
		PQclear(res);
	return r;
}

/* ---- columns ---------------------------------------------------------------------------- */

static int64_t col_int(const PGresult *res, int row, int col)
{
	const uint8_t *p = (const uint8_t *)PQgetvalue(res, row, col);
	int n = PQgetlength(res, row, col);
	if (PQgetisnull(res, row, col) || (n != 2 && n != 4 && n != 8))
		return 0;
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	if (n < 8 && (p[0] & 0x80)) /* sign-extend int2, int4 */
		v |= ~0ull << (8 * n);
	return (int64_t)v;
}

static bool col_bool(const PGresult *res, int row, int col)
{
	return PQgetlength(res, row, col) == 1 && PQgetvalue(res, row, col)[0] != 0;
}

static void col_text(char *dst, size_t cap, const PGresult *res, int row, int col)
{
	size_t n = (size_t)PQgetlength(res, row, col);
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, PQgetvalue(res, row, col), n);
	dst[n] = '\0';
}

static void read_row(const PGresult *res, int i, struct store_row *r)
{
	memset(r, 0, sizeof(*r));
	col_text(r->id, sizeof(r->id), res, i, 0);
	col_text(r->tenant, sizeof(r->tenant), res, i, 1);
	r->type = (uint32_t)col_int(res, i, 2);
	r->state = (uint32_t)col_int(res, i, 3);
	r->alg = (uint32_t)col_int(res, i, 4);
	r->length = (uint32_t)col_int(res, i, 5);
	r->usage_mask = (uint32_t)col_int(res, i, 6);
	r->key_format = (uint32_t)col_int(res, i, 7);
	r->revocation_reason = (uint32_t)col_int(res, i, 8);
	r->initial_date = col_int(res, i, 9);
	r->activation_date = col_int(res, i, 10);
	r->deactivation_date = col_int(res, i, 11);
	r->destroy_date = col_int(res, i, 12);
	r->compromise_date = col_int(res, i, 13);
	r->compromise_occurrence_date = col_int(res, i, 14);
	r->last_change_date = col_int(res, i, 15);
	r->original_creation_date = col_int(res, i, 16);
	r->created_ns = col_int(res, i, 17);
	if (!PQgetisnull(res, i, 18) && PQgetlength(res, i, 18) == STORE_DIGEST_LEN) {
		memcpy(r->digest, PQgetvalue(res, i, 18), STORE_DIGEST_LEN);
		r->has_digest = true;
	}
	r->data_type = (uint32_t)col_int(res, i, 19);
	r->protection = (uint32_t)col_int(res, i, 20);
}

static void args_row(struct args *a, const struct store_row *r)
{
	a->n = 0;
	a_text(a, r->id);
	a_text(a, r->tenant);
	const int64_t v[] = {r->type, r->state, r->alg, r->length, r->usage_mask, r->key_format,
			     r->revocation_reason, r->initial_date, r->activation_date,
			     r->deactivation_date, r->destroy_date, r->compromise_date,
			     r->compromise_occurrence_date, r->last_change_date,
			     r->original_creation_date, r->created_ns};
	for (size_t i = 0; i < ARRAY_SIZE(v); i++)
		a_int(a, v[i]);
	if (r->has_digest)
		a_blob(a, r->digest, STORE_DIGEST_LEN);
	else
		a_null(a);
	a_int(a, r->data_type);
	a_int(a, r->protection);
}

static int64_t affected(PGresult *res)
{
	const char *s = PQcmdTuples(res);
	return s != NULL && *s ? strtoll(s, NULL, 10) : 0;
}

/* ---- readers -------------------------------------------------------------------------------- */

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

/* a read: |fn| on a reader connection, connected first if need be; a
 * read that lost its connection is run once more on a new one (a read
 * changes nothing), which is how the first read after a failover reaches
 * the new primary */
typedef err_t (*read_fn)(struct conn *c, int64_t deadline, void *ctx);
/* a row of a streamed result (single-row mode) */
typedef err_t (*row_fn)(const PGresult *res, void *ctx);

static err_t with_reader_within(struct store_backend *b, unsigned timeout_ms, read_fn fn, void *ctx)
{
	struct conn *c = reader_get(b);
	err_t r = ERR_STORE_UNAVAILABLE;
	for (int attempt = 0; attempt < 2; attempt++) {
		bool fresh = false;
		if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK) {
			char eb[384];
			r = conn_open(b, c, false, eb, sizeof(eb));
			if (r != ERR_OK) {
				if (r != ERR_STORE_UNAVAILABLE) /* conn_open logs an outage */
					log_warn("%s", eb);
				break;
			}
			fresh = true;
		}
		r = fn(c, mono_ms() + timeout_ms, ctx);
		if (r != ERR_STORE_UNAVAILABLE)
			break;
		conn_close(c);
		if (fresh)
			break;
	}
	reader_put(b, c);
	return r;
}

static err_t with_reader(struct store_backend *b, read_fn fn, void *ctx)
{
	return with_reader_within(b, b->timeout_ms, fn, ctx);
}

/* ---- reads ------------------------------------------------------------------------------------ */

struct row_ctx {
	const char *id;
	struct store_row *out;
};

static err_t read_row_fn(struct conn *c, int64_t deadline, void *vctx)
{
	struct row_ctx *x = vctx;
	struct args a = {0};
	PGresult *res;
	a_text(&a, x->id);
	err_t r = run(c, S_ROW_GET, &a, deadline, &res);
	if (r == ERR_OK)
		r = PQntuples(res) == 1 ? (read_row(res, 0, x->out), ERR_OK) : ERR_STORE_NOT_FOUND;
	PQclear(res);
	return r;
}

static err_t pg_row_get(struct store_backend *b, const char *id, struct store_row *out)
{
	struct row_ctx x = {id, out};
	return with_reader(b, read_row_fn, &x);
}

/* attrs_from copies a result of S_ATTRS_GET into one allocation */
static err_t attrs_from(const PGresult *res, struct store_attr **out, size_t *n_out, void **mem)
{
	int n = PQntuples(res);
	*out = NULL;
	*n_out = 0;
	*mem = NULL;
	if (n <= 0)
		return ERR_OK;
	size_t bytes = 0;
	for (int i = 0; i < n; i++)
		bytes += (size_t)PQgetlength(res, i, 0) + (size_t)PQgetlength(res, i, 3) +
			 (size_t)PQgetlength(res, i, 4) + 3;
	struct store_attr *a = calloc((size_t)n, sizeof(*a));
	uint8_t *buf = malloc(bytes ? bytes : 1);
	if (a == NULL || buf == NULL) {
		free(a);
		free(buf);
		return ERR_NOMEM;
	}
	size_t off = 0;
	for (int i = 0; i < n; i++) {
		size_t l = (size_t)PQgetlength(res, i, 0);
		memcpy(buf + off, PQgetvalue(res, i, 0), l);
		buf[off + l] = '\0';
		a[i].name = (const char *)buf + off;
		off += l + 1;
		a[i].index = (uint32_t)col_int(res, i, 1);
		a[i].type = (uint8_t)col_int(res, i, 2);
		l = (size_t)PQgetlength(res, i, 3);
		memcpy(buf + off, PQgetvalue(res, i, 3), l);
		buf[off + l] = '\0';
		a[i].value = buf + off;
		a[i].value_len = l;
		off += l + 1;
		if (!PQgetisnull(res, i, 4)) {
			l = (size_t)PQgetlength(res, i, 4);
			memcpy(buf + off, PQgetvalue(res, i, 4), l);
			buf[off + l] = '\0';
			a[i].search = (const char *)buf + off;
			off += l + 1;
		}
	}
	*out = a;
	*n_out = (size_t)n;
	*mem = buf;
	return ERR_OK;
}

struct attrs_ctx {
	const char *id;
	struct store_attr **out;
	size_t *n;
	void **mem;
};

static err_t read_attrs_fn(struct conn *c, int64_t deadline, void *vctx)
{
	struct attrs_ctx *x = vctx;
	struct args a = {0};
	PGresult *res;
	a_text(&a, x->id);
	err_t r = run(c, S_ATTRS_GET, &a, deadline, &res);
	if (r == ERR_OK)
		r = attrs_from(res, x->out, x->n, x->mem);
	PQclear(res);
	return r;
}

static err_t pg_attrs_get(struct store_backend *b, const char *id, struct store_attr **out, size_t *n,
			  void **mem)
{
	struct attrs_ctx x = {id, out, n, mem};
	*out = NULL;
	*n = 0;
	*mem = NULL;
	return with_reader(b, read_attrs_fn, &x);
}

/* blob_out copies column |col| of row 0 into |out| (NULL: the length only) */
static err_t blob_out(const PGresult *res, int col, uint8_t *out, size_t cap, size_t *len)
{
	size_t n = (size_t)PQgetlength(res, 0, col);
	*len = n;
	if (out == NULL)
		return ERR_OK;
	if (n > cap)
		return ERR_TOO_LARGE;
	if (n)
		memcpy(out, PQgetvalue(res, 0, col), n);
	return ERR_OK;
}

struct blob_ctx {
	enum stmt_id st;
	const char *key;
	uint8_t *out;
	size_t cap, *len;
};

static err_t read_blob_fn(struct conn *c, int64_t deadline, void *vctx)
{
	struct blob_ctx *x = vctx;
	struct args a = {0};
	PGresult *res;
	a_text(&a, x->key);
	*x->len = 0;
	err_t r = run(c, x->st, &a, deadline, &res);
	if (r == ERR_OK)
		r = PQntuples(res) == 1 ? blob_out(res, 0, x->out, x->cap, x->len) : ERR_STORE_NOT_FOUND;
	PQclear(res);
	return r;
}

static err_t pg_material_get(struct store_backend *b, const char *id, uint8_t *out, size_t cap, size_t *len)
{
	struct blob_ctx x = {S_MAT_GET, id, out, cap, len};
	return with_reader(b, read_blob_fn, &x);
}

static err_t pg_meta_get(struct store_backend *b, const char *key, uint8_t *out, size_t cap, size_t *len)
{
	struct blob_ctx x = {S_META_GET, key, out, cap, len};
	return with_reader(b, read_blob_fn, &x);
}

struct obj_ctx {
	const char *id;
	struct store_row *row;
	bool *has_material;
	uint8_t *sealed;
	size_t cap, *sealed_len;
	struct store_attr **attrs;
	size_t *n_attrs;
	void **mem;
};

static err_t read_obj_fn(struct conn *c, int64_t deadline, void *vctx)
{
	struct obj_ctx *x = vctx;
	struct args a = {0};
	PGresult *res = NULL;
	bool txn = x->attrs != NULL;
	a_text(&a, x->id);
	*x->has_material = false;
	if (x->sealed_len != NULL)
		*x->sealed_len = 0;
	/* with the attributes, two statements: one REPEATABLE READ snapshot */
	err_t r = txn ? simple(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", deadline, NULL) : ERR_OK;
	if (r == ERR_OK)
		r = run(c, x->sealed != NULL ? S_OBJ_MAT : S_OBJ_HAS, &a, deadline, &res);
	if (r == ERR_OK && PQntuples(res) != 1)
		r = ERR_STORE_NOT_FOUND;
	if (r == ERR_OK) {
		read_row(res, 0, x->row);
		if (x->sealed != NULL) {
			*x->has_material = !PQgetisnull(res, 0, ROW_NCOLS);
			size_t n = 0;
			if (*x->has_material)
				r = blob_out(res, ROW_NCOLS, x->sealed, x->cap, &n);
			if (x->sealed_len != NULL)
				*x->sealed_len = n;
		} else {
			*x->has_material = col_bool(res, 0, ROW_NCOLS);
		}
	}
	PQclear(res);
	res = NULL;
	if (r == ERR_OK && txn) {
		r = run(c, S_ATTRS_GET, &a, deadline, &res);
		if (r == ERR_OK)
			r = attrs_from(res, x->attrs, x->n_attrs, x->mem);
		PQclear(res);
	}
	if (txn && r != ERR_STORE_UNAVAILABLE) {
		err_t e = simple(c, "COMMIT", deadline, NULL); /* a read: nothing to keep or lose */
		if (r == ERR_OK && e == ERR_STORE_UNAVAILABLE)
			r = e;
	}
	return r;
}

static err_t pg_object_get(struct store_backend *b, const char *id, struct store_row *row, bool *has_material,
			   uint8_t *sealed, size_t cap, size_t *sealed_len, struct store_attr **attrs, size_t *n_attrs,
			   void **mem)
{
	struct obj_ctx x = {id, row, has_material, sealed, cap, sealed_len, attrs, n_attrs, mem};
	if (attrs != NULL) {
		*attrs = NULL;
		*n_attrs = 0;
		*mem = NULL;
	}
	return with_reader(b, read_obj_fn, &x);
}

struct count_ctx {
	const char *id;
	uint64_t *out;
};

static err_t read_count_fn(struct conn *c, int64_t deadline, void *vctx)
{
	struct count_ctx *x = vctx;
	struct args a = {0};
	PGresult *res;
	a_text(&a, x->id);
	err_t r = run(c, S_ACCESS_COUNT, &a, deadline, &res);
	if (r == ERR_OK)
		*x->out = PQntuples(res) == 1 ? (uint64_t)col_int(res, 0, 0) : 0;
	PQclear(res);
	return r;
}

static err_t pg_access_count(struct store_backend *b, const char *id, uint64_t *out)
{
	struct count_ctx x = {id, out};
	*out = 0;
	return with_reader(b, read_count_fn, &x);
}

struct events_ctx {
	const char *tenant;
	uint64_t after;
	size_t max;
	struct store_events *out;
};

static err_t read_events_fn(struct conn *c, int64_t deadline, void *vctx)
{
	struct events_ctx *x = vctx;
	struct store_events *out = x->out;
	out->n = 0;
	out->more = false;
	struct args a = {0};
	PGresult *res;
	a_int(&a, (int64_t)x->after);
	if (x->tenant != NULL)
		a_text(&a, x->tenant);
	a_int(&a, (int64_t)x->max + 1); /* one more: more? */
	err_t r = run(c, x->tenant != NULL ? S_EVENTS_OF : S_EVENTS_ALL, &a, deadline, &res);
	if (r == ERR_OK) {
		int rows = PQntuples(res);
		for (int i = 0; i < rows; i++) {
			if (out->n == x->max) {
				out->more = true;
				break;
			}
			struct store_event *e = &out->e[out->n++];
			e->seq = (uint64_t)col_int(res, i, 0);
			e->time = col_int(res, i, 1);
			col_text(e->kind, sizeof e->kind, res, i, 2);
			col_text(e->id, sizeof e->id, res, i, 3);
			col_text(e->new_id, sizeof e->new_id, res, i, 4);
			col_text(e->tenant, sizeof e->tenant, res, i, 5);
			e->state = (uint32_t)col_int(res, i, 6);
			col_text(e->holder, sizeof e->holder, res, i, 7);
			if (PQgetlength(res, i, 8) == STORE_FINGERPRINT_LEN)
				memcpy(e->holder_fp, PQgetvalue(res, i, 8), STORE_FINGERPRINT_LEN);
		}
	}
	PQclear(res);
	return r;
}

static err_t read_latest_fn(struct conn *c, int64_t deadline, void *vctx)
{
	uint64_t *out = vctx;
	struct args a = {0};
	PGresult *res;
	err_t r = run(c, S_EVENTS_LATEST, &a, deadline, &res);
	if (r == ERR_OK)
		*out = PQntuples(res) == 1 ? (uint64_t)col_int(res, 0, 0) : 0;
	PQclear(res);
	return r;
}

static err_t pg_events_latest(struct store_backend *b, uint64_t *out)
{
	return with_reader(b, read_latest_fn, out);
}

struct leases_status_ctx {
	int64_t by;
	uint64_t *folded, *latest;
	bool *due;
};

static err_t read_leases_status_fn(struct conn *c, int64_t deadline, void *vctx)
{
	struct leases_status_ctx *x = vctx;
	struct args a = {0};
	PGresult *res;
	a_int(&a, x->by);
	err_t r = run(c, S_LEASES_STATUS, &a, deadline, &res);
	if (r == ERR_OK && PQntuples(res) == 1) {
		*x->folded = (uint64_t)col_int(res, 0, 0);
		*x->latest = (uint64_t)col_int(res, 0, 1);
		*x->due = col_int(res, 0, 2) != 0;
	}
	PQclear(res);
	return r;
}

static err_t pg_leases_status(struct store_backend *b, int64_t by, uint64_t *folded, uint64_t *latest, bool *due)
{
	*folded = *latest = 0;
	*due = false;
	struct leases_status_ctx x = {by, folded, latest, due};
	return with_reader(b, read_leases_status_fn, &x);
}

/* a transaction that drew its seqs runs at most a request's deadline,
 * then commits or is gone; 2 s for the clocks of two nodes */
static unsigned pg_commit_lag(const struct store_backend *b)
{
	unsigned lag = b->timeout_ms / 1000 + 2;
	return lag > 60 ? 60 : lag;
}

static err_t pg_events(struct store_backend *b, const char *tenant, uint64_t after, size_t max,
		       struct store_events *out)
{
	struct events_ctx x = {tenant, after, max, out};
	return with_reader(b, read_events_fn, &x);
}

struct holders_ctx {
	bool by_tenant;
	const char *key;
	size_t max;
	struct store_holders *out;
};

static err_t read_holders_fn(struct conn *c, int64_t deadline, void *vctx)
{
	struct holders_ctx *x = vctx;
	struct store_holders *out = x->out;
	out->n = 0;
	out->truncated = false;
	struct args a = {0};
	PGresult *res;
	a_text(&a, x->key);
	a_int(&a, (int64_t)x->max + 1); /* one more: truncated? */
	err_t r = run(c, x->by_tenant ? S_HELD_BY : S_HOLDERS_OF, &a, deadline, &res);
	if (r == ERR_OK) {
		int rows = PQntuples(res);
		for (int i = 0; i < rows; i++) {
			if (out->n == x->max) {
				out->truncated = true;
				break;
			}
			struct store_holder *h = &out->h[out->n++];
			memset(h, 0, sizeof *h);
			col_text(h->id, sizeof h->id, res, i, 0);
			col_text(h->tenant, sizeof h->tenant, res, i, 1);
			if (PQgetlength(res, i, 2) == STORE_FINGERPRINT_LEN)
				memcpy(h->fingerprint, PQgetvalue(res, i, 2), STORE_FINGERPRINT_LEN);
			h->first = col_int(res, i, 3);
			h->last = col_int(res, i, 4);
			h->count = (uint64_t)col_int(res, i, 5);
			h->lease_end = col_int(res, i, 6);
			h->state = (uint32_t)col_int(res, i, 7);
		}
	}
	PQclear(res);
	return r;
}

static err_t pg_holders(struct store_backend *b, bool by_tenant, const char *key, size_t max,
			struct store_holders *out)
{
	struct holders_ctx x = {by_tenant, key, max, out};
	return with_reader(b, read_holders_fn, &x);
}

/* ---- find ----------------------------------------------------------------------------------- */

struct find_ctx {
	const struct store_query *q;
	const struct store_where *w;
	struct store_found *out;
};

static err_t query_where(struct conn *c, const char *sql, const struct store_where *w, int64_t deadline,
			 PGresult **res)
{
	const char *v[STORE_WHERE_MAX_BINDS];
	int len[STORE_WHERE_MAX_BINDS], fmt[STORE_WHERE_MAX_BINDS];
	char num[STORE_WHERE_MAX_BINDS][24];
	for (int i = 0; i < w->n; i++) {
		const struct store_bindv *b = &w->v[i];
		if (b->is_int) {
			snprintf(num[i], sizeof(num[i]), "%lld", (long long)b->i);
			v[i] = num[i];
			len[i] = 0;
			fmt[i] = 0;
		} else {
			v[i] = b->n ? b->p : "";
			len[i] = (int)b->n;
			fmt[i] = 1;
		}
	}
	*res = NULL;
	if (!PQsendQueryParams(c->pg, sql, w->n, NULL, v, len, fmt, 1))
		return ERR_STORE_UNAVAILABLE;
	return finish(c, deadline, res);
}

static err_t find_fn(struct conn *c, int64_t deadline, void *vctx)
{
	struct find_ctx *x = vctx;
	char sql[sizeof(x->w->sql) + 160];
	PGresult *res = NULL;
	store_found_free(x->out);
	memset(x->out, 0, sizeof(*x->out));
	/* the count and the page from one snapshot */
	err_t r = simple(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", deadline, NULL);
	if (r == ERR_OK) {
		snprintf(sql, sizeof(sql), "SELECT count(*)%s", x->w->sql);
		r = query_where(c, sql, x->w, deadline, &res);
	}
	if (r == ERR_OK)
		x->out->total = PQntuples(res) == 1 ? (uint64_t)col_int(res, 0, 0) : 0;
	PQclear(res);
	res = NULL;
	uint64_t want = x->out->total > x->q->offset ? x->out->total - x->q->offset : 0;
	if (x->q->max_items && want > x->q->max_items)
		want = x->q->max_items;
	if (r == ERR_OK && want > 0) {
		snprintf(sql, sizeof(sql), "SELECT o.id%s ORDER BY o.created_ns, o.id COLLATE \"C\" LIMIT %llu OFFSET %llu",
			 x->w->sql, (unsigned long long)want, (unsigned long long)x->q->offset);
		r = query_where(c, sql, x->w, deadline, &res);
		if (r == ERR_OK) {
			int n = PQntuples(res);
			x->out->ids = calloc(n > 0 ? (size_t)n : 1, sizeof(*x->out->ids));
			if (x->out->ids == NULL)
				r = ERR_NOMEM;
			for (int i = 0; r == ERR_OK && i < n && (uint64_t)i < want; i++) {
				col_text(x->out->ids[x->out->n], sizeof(x->out->ids[0]), res, i, 0);
				x->out->n++;
			}
		}
		PQclear(res);
	}
	if (r != ERR_STORE_UNAVAILABLE) {
		err_t e = simple(c, "COMMIT", deadline, NULL);
		if (r == ERR_OK && e == ERR_STORE_UNAVAILABLE)
			r = e;
	}
	return r;
}

static err_t pg_find(struct store_backend *b, const struct store_query *q, struct store_found *out)
{
	struct store_where *w = malloc(sizeof(*w));
	memset(out, 0, sizeof(*out));
	if (w == NULL)
		return ERR_NOMEM;
	store_where_build(w, q, '$');
	if (w->overflow) {
		free(w);
		return ERR_TOO_LARGE;
	}
	struct find_ctx x = {q, w, out};
	err_t r = with_reader(b, find_fn, &x);
	free(w);
	if (r != ERR_OK)
		store_found_free(out);
	return r;
}

struct each_ctx {
	store_sealed_fn fn;
	void *ctx;
	unsigned timeout_ms;
};

static err_t each_row(const PGresult *res, void *vctx)
{
	struct each_ctx *x = vctx;
	struct store_row row;
	read_row(res, 0, &row);
	return x->fn(x->ctx, &row, (const uint8_t *)PQgetvalue(res, 0, ROW_NCOLS),
		     (size_t)PQgetlength(res, 0, ROW_NCOLS));
}

static err_t stream(struct conn *c, const char *sql, unsigned timeout_ms, row_fn row, void *ctx);

/* each_fn streams every sealed record, one row at a time: a deadline per
 * row, not for the whole table */
static err_t each_fn(struct conn *c, int64_t deadline, void *vctx)
{
	struct each_ctx *x = vctx;
	(void)deadline;
	return stream(c,
		      "SELECT o.id, o.tenant, o.type, o.state, o.alg, o.length, o.usage_mask,"
		      " o.key_format, o.revocation_reason, o.initial_date, o.activation_date,"
		      " o.deactivation_date, o.destroy_date, o.compromise_date,"
		      " o.compromise_occurrence_date, o.last_change_date,"
		      " o.original_creation_date, o.created_ns, o.digest, o.data_type, o.protection,"
		      " m.sealed FROM material m JOIN objects o ON o.id = m.id"
		      " ORDER BY o.created_ns, o.id COLLATE \"C\"",
		      x->timeout_ms, each_row, x);
}

static err_t pg_each_sealed(struct store_backend *b, store_sealed_fn fn, void *ctx)
{
	struct each_ctx x = {fn, ctx, b->timeout_ms};
	return with_reader(b, each_fn, &x);
}

static err_t size_fn(struct conn *c, int64_t deadline, void *vctx)
{
	PGresult *res = NULL;
	err_t r = simple(c, "SELECT pg_database_size(current_database())", deadline, &res);
	if (r == ERR_OK && PQntuples(res) == 1) {
		/* a simple query answers in text */
		*(uint64_t *)vctx = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
	}
	PQclear(res);
	return r;
}

static void pg_stats(struct store_backend *b, struct store_stats *out)
{
	pthread_mutex_lock(&b->q.mu);
	*out = b->stats;
	out->requests = b->q.requests;
	pthread_mutex_unlock(&b->q.mu);
	uint64_t size = 0;
	if (with_reader(b, size_fn, &size) == ERR_OK)
		out->db_bytes = size;
	out->unavailable = !atomic_load(&b->reachable);
}

static err_t ping_fn(struct conn *c, int64_t deadline, void *vctx)
{
	(void)vctx;
	return simple(c, "SELECT 1", deadline, NULL);
}

/* pg_ping: a round trip on a reader connection, within a second (or
 * timeout_ms if shorter): what /v1/health shows. While a reconnect
 * back-off runs it fails at once, without a connection attempt. */
static err_t pg_ping(struct store_backend *b)
{
	return with_reader_within(b, b->timeout_ms < 1000 ? b->timeout_ms : 1000, ping_fn, NULL);
}

/* ---- counts and the dump (store/backup.c) ------------------------------------------------------ */

#define COUNTS_SQL                                                                              \
	"SELECT (SELECT count(*) FROM objects), (SELECT count(*) FROM attributes),"              \
	" (SELECT count(*) FROM material), (SELECT count(*) FROM access_log),"                   \
	" (SELECT count(*) FROM names)"

static err_t counts_query(struct conn *c, int64_t deadline, struct store_counts *out)
{
	PGresult *res = NULL;
	memset(out, 0, sizeof(*out));
	if (!PQsendQueryParams(c->pg, COUNTS_SQL, 0, NULL, NULL, NULL, NULL, 1))
		return ERR_STORE_UNAVAILABLE;
	err_t r = finish(c, deadline, &res);
	if (r == ERR_OK && PQntuples(res) == 1) {
		out->objects = (uint64_t)col_int(res, 0, 0);
		out->attrs = (uint64_t)col_int(res, 0, 1);
		out->sealed = (uint64_t)col_int(res, 0, 2);
		out->access = (uint64_t)col_int(res, 0, 3);
		out->names = (uint64_t)col_int(res, 0, 4);
	}
	PQclear(res);
	return r;
}

static err_t counts_fn(struct conn *c, int64_t deadline, void *vctx)
{
	/* one statement: one snapshot for the five counts */
	return counts_query(c, deadline, vctx);
}

static err_t pg_counts(struct store_backend *b, struct store_counts *out)
{
	return with_reader(b, counts_fn, out);
}

struct dump_ctx {
	const struct store_dump_fns *fns;
	void *ctx;
	unsigned timeout_ms;
};

/* stream runs |sql| in single-row mode and hands each row to |row| (whose
 * error stops the rows but not the reading of what the server sends) */
static err_t stream(struct conn *c, const char *sql, unsigned timeout_ms, row_fn row, void *ctx)
{
	if (!PQsendQueryParams(c->pg, sql, 0, NULL, NULL, NULL, NULL, 1))
		return ERR_STORE_UNAVAILABLE;
	(void)PQsetSingleRowMode(c->pg);
	err_t r = ERR_OK, cb = ERR_OK;
	for (;;) {
		PGresult *res = NULL;
		GUARD(next_result(c, mono_ms() + timeout_ms, &res));
		if (res == NULL)
			break;
		ExecStatusType st = PQresultStatus(res);
		if (st == PGRES_SINGLE_TUPLE && cb == ERR_OK)
			cb = row(res, ctx);
		else if (st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK && r == ERR_OK)
			r = map_state(PQresultErrorField(res, PG_DIAG_SQLSTATE));
		PQclear(res);
	}
	return cb != ERR_OK ? cb : r;
}

/* one row per (object, attribute): the object is handed on at its first
 * row, then each attribute; an object without attributes has one row with
 * a NULL name */
struct dump_rows {
	const struct dump_ctx *d;
	char last[STORE_ID_MAX + 1];
};

#define DUMP_ATTR_COL (ROW_NCOLS + 2)

static err_t dump_object_row(const PGresult *res, void *vctx)
{
	struct dump_rows *x = vctx;
	struct store_row row;
	read_row(res, 0, &row);
	if (strcmp(row.id, x->last) != 0) {
		static const uint8_t empty[1];
		bool has = col_bool(res, 0, ROW_NCOLS + 1);
		size_t len = has ? (size_t)PQgetlength(res, 0, ROW_NCOLS) : 0;
		const uint8_t *sealed = has ? (len ? (const uint8_t *)PQgetvalue(res, 0, ROW_NCOLS) : empty) : NULL;
		GUARD(x->d->fns->object(x->d->ctx, &row, sealed, len));
		snprintf(x->last, sizeof(x->last), "%s", row.id);
	}
	if (PQgetisnull(res, 0, DUMP_ATTR_COL))
		return ERR_OK;
	/* the attribute's five columns, as S_ATTRS_GET has them */
	struct store_attr one = {0};
	one.name = PQgetvalue(res, 0, DUMP_ATTR_COL);
	one.index = (uint32_t)col_int(res, 0, DUMP_ATTR_COL + 1);
	one.type = (uint8_t)col_int(res, 0, DUMP_ATTR_COL + 2);
	one.value = (const uint8_t *)PQgetvalue(res, 0, DUMP_ATTR_COL + 3);
	one.value_len = (size_t)PQgetlength(res, 0, DUMP_ATTR_COL + 3);
	one.search = PQgetisnull(res, 0, DUMP_ATTR_COL + 4) ? NULL : PQgetvalue(res, 0, DUMP_ATTR_COL + 4);
	return x->d->fns->attr(x->d->ctx, &one);
}

static err_t dump_access_row(const PGresult *res, void *vctx)
{
	const struct dump_ctx *d = vctx;
	struct store_access a;
	a.id = PQgetvalue(res, 0, 0);
	a.tenant = PQgetvalue(res, 0, 1);
	a.fp = (const uint8_t *)PQgetvalue(res, 0, 2);
	a.fp_len = (size_t)PQgetlength(res, 0, 2);
	a.op = PQgetvalue(res, 0, 3);
	a.time = col_int(res, 0, 4);
	a.lease_end = col_int(res, 0, 5);
	return d->fns->access(d->ctx, &a);
}

static err_t dump_fn(struct conn *c, int64_t deadline, void *vctx)
{
	struct dump_ctx *d = vctx;
	struct store_counts counts;
	/* one REPEATABLE READ snapshot for all of it, however long it takes
	 * and whatever the writers commit meanwhile */
	err_t r = simple(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", deadline, NULL);
	if (r == ERR_OK)
		r = counts_query(c, deadline, &counts);
	if (r == ERR_OK)
		r = d->fns->counts(d->ctx, &counts);
	struct dump_rows rows = {d, ""};
	if (r == ERR_OK)
		r = stream(c,
			   "SELECT o.id, o.tenant, o.type, o.state, o.alg, o.length, o.usage_mask,"
			   " o.key_format, o.revocation_reason, o.initial_date, o.activation_date,"
			   " o.deactivation_date, o.destroy_date, o.compromise_date,"
			   " o.compromise_occurrence_date, o.last_change_date,"
			   " o.original_creation_date, o.created_ns, o.digest, o.data_type, o.protection,"
			   " m.sealed, m.id IS NOT NULL, a.name, a.idx, a.type, a.value, a.search"
			   " FROM objects o LEFT JOIN material m ON m.id = o.id LEFT JOIN attributes a ON a.id = o.id"
			   " ORDER BY o.created_ns, o.id COLLATE \"C\", a.name COLLATE \"C\", a.idx",
			   d->timeout_ms, dump_object_row, &rows);
	if (r == ERR_OK)
		r = stream(c, "SELECT id, tenant, fingerprint, operation, time, lease_end FROM access_log ORDER BY seq",
			   d->timeout_ms, dump_access_row, d);
	if (r != ERR_STORE_UNAVAILABLE) {
		err_t e = simple(c, "COMMIT", mono_ms() + d->timeout_ms, NULL); /* a read */
		if (r == ERR_OK && e == ERR_STORE_UNAVAILABLE)
			r = e;
	}
	return r;
}

static err_t pg_dump(struct store_backend *b, const struct store_dump_fns *fns, void *ctx)
{
	struct dump_ctx d = {fns, ctx, b->timeout_ms};
	return with_reader(b, dump_fn, &d);
}

/* ---- the writer's primitives --------------------------------------------------------------------- */

/* txn_run runs |id| inside the request's transaction; a lost connection
 * or a passed deadline is fatal for the batch */
static err_t txn_run(struct store_txn *t, enum stmt_id id, const struct args *a, PGresult **res)
{
	if (t->fatal != ERR_OK) {
		*res = NULL;
		return t->fatal;
	}
	err_t r = run(t->c, id, a, t->deadline, res);
	if (r == ERR_STORE_UNAVAILABLE)
		t->fatal = r;
	return r;
}

static err_t txn_exec(struct store_txn *t, enum stmt_id id, const struct args *a, int64_t *n)
{
	PGresult *res;
	err_t r = txn_run(t, id, a, &res);
	if (r == ERR_OK && n != NULL)
		*n = affected(res);
	PQclear(res);
	return r;
}

static err_t txn_row_get(struct store_txn *t, const char *id, struct store_row *out)
{
	struct args a = {0};
	PGresult *res;
	a_text(&a, id);
	err_t r = txn_run(t, S_ROW_LOCK, &a, &res);
	if (r == ERR_OK)
		r = PQntuples(res) == 1 ? (read_row(res, 0, out), ERR_OK) : ERR_STORE_NOT_FOUND;
	PQclear(res);
	return r;
}

static err_t txn_row_insert(struct store_txn *t, const struct store_row *row)
{
	struct args a;
	args_row(&a, row);
	return txn_exec(t, S_ROW_INSERT, &a, NULL);
}

static err_t txn_row_update(struct store_txn *t, const struct store_row *row)
{
	struct args a;
	int64_t n = 0;
	args_row(&a, row);
	GUARD(txn_exec(t, S_ROW_UPDATE, &a, &n));
	return n == 1 ? ERR_OK : ERR_STORE_NOT_FOUND;
}

static void args_attr(struct args *a, const char *id, const struct store_attr *at)
{
	a->n = 0;
	a_text(a, id);
	a_text(a, at->name);
	a_int(a, at->index);
	a_int(a, at->type);
	a_blob(a, at->value, at->value_len);
	if (at->search != NULL)
		a_text(a, at->search);
	else if (at->type == STORE_V_TEXT)
		a_textn(a, at->value_len ? (const char *)at->value : "", at->value_len);
	else
		a_null(a);
}

static err_t txn_attr_insert(struct store_txn *t, const char *id, const struct store_attr *at)
{
	struct args a;
	int64_t n = 0;
	args_attr(&a, id, at);
	GUARD(txn_exec(t, S_ATTR_INSERT, &a, &n));
	return n == 1 ? ERR_OK : ERR_STORE_ATTR_EXISTS;
}

static err_t txn_attr_update(struct store_txn *t, const char *id, const struct store_attr *at)
{
	struct args a;
	int64_t n = 0;
	args_attr(&a, id, at);
	GUARD(txn_exec(t, S_ATTR_UPDATE, &a, &n));
	return n > 0 ? ERR_OK : ERR_STORE_ATTR_NOT_FOUND;
}

static err_t txn_attr_delete(struct store_txn *t, const char *id, const char *name, uint32_t index,
			     uint64_t *n_deleted)
{
	bool all = index == STORE_ALL_INDEXES;
	struct args a = {0};
	int64_t n = 0;
	a_text(&a, id);
	a_text(&a, name);
	if (!all)
		a_int(&a, index);
	GUARD(txn_exec(t, all ? S_ATTR_DEL_ALL : S_ATTR_DEL_ONE, &a, &n));
	*n_deleted = (uint64_t)n;
	return ERR_OK;
}

static err_t txn_attr_count(struct store_txn *t, const char *id, const char *name, uint64_t *count,
			    uint32_t *next)
{
	struct args a = {0};
	PGresult *res;
	a_text(&a, id);
	a_text(&a, name);
	err_t r = txn_run(t, S_ATTR_COUNT, &a, &res);
	if (r == ERR_OK && PQntuples(res) == 1) {
		*count = (uint64_t)col_int(res, 0, 0);
		int64_t nx = col_int(res, 0, 1);
		*next = nx > (int64_t)(UINT32_MAX - 1) || nx < 0 ? UINT32_MAX : (uint32_t)nx;
	} else if (r == ERR_OK) {
		r = ERR_STORE;
	}
	PQclear(res);
	GUARD(r);
	return *next == UINT32_MAX ? ERR_TOO_LARGE : ERR_OK;
}

static err_t txn_material_put(struct store_txn *t, const char *id, const uint8_t *sealed, size_t len)
{
	struct args a = {0};
	a_text(&a, id);
	a_blob(&a, sealed, len);
	return txn_exec(t, S_MAT_PUT, &a, NULL);
}

/* txn_material_wipe deletes the sealed record. SQLite overwrites it in
 * place first; under PostgreSQL's MVCC an UPDATE writes a new row version
 * and leaves the old one until VACUUM, so an overwrite would only add a
 * copy: the record is ciphertext under the KEK, and the DELETE is what
 * makes it unreachable (autovacuum reclaims the space). */
static err_t txn_material_wipe(struct store_txn *t, const char *id)
{
	struct args a = {0};
	a_text(&a, id);
	return txn_exec(t, S_MAT_DEL, &a, NULL);
}

static err_t txn_access_insert(struct store_txn *t, const char *id, const char *tenant, const uint8_t *fp,
			       const char *op, int64_t time_s, int64_t lease_end)
{
	struct args a = {0};
	a_text(&a, id);
	a_text(&a, tenant);
	a_blob(&a, fp, STORE_FINGERPRINT_LEN);
	a_text(&a, op);
	a_int(&a, time_s);
	a_int(&a, lease_end);
	return txn_exec(t, S_ACCESS_INSERT, &a, NULL);
}

static err_t txn_events_lock(struct store_txn *t)
{
	struct args none = {0};
	return txn_exec(t, S_EVENT_LOCK, &none, NULL);
}

static err_t txn_event_insert(struct store_txn *t, const struct store_event *e)
{
	GUARD(txn_events_lock(t));
	struct args a = {0};
	a_int(&a, e->time);
	a_text(&a, e->kind);
	a_text(&a, e->id);
	a_text(&a, e->new_id);
	a_text(&a, e->tenant);
	a_int(&a, e->state);
	a_text(&a, e->holder);
	if (e->holder[0] != '\0')
		a_blob(&a, e->holder_fp, STORE_FINGERPRINT_LEN);
	else
		a_null(&a);
	return txn_exec(t, S_EVENT_INSERT, &a, NULL);
}

static err_t txn_leases_fold(struct store_txn *t, uint64_t upto, int64_t ended_by, int64_t now)
{
	struct args a = {0};
	a_int(&a, upto > INT64_MAX ? INT64_MAX : (int64_t)upto);
	a_int(&a, ended_by);
	a_int(&a, now);
	GUARD(txn_exec(t, S_LEASES_FOLD, &a, NULL));
	struct args m = {0};
	a_int(&m, upto > INT64_MAX ? INT64_MAX : (int64_t)upto);
	return txn_exec(t, S_LEASES_MARK, &m, NULL);
}

static err_t txn_leases_ended(struct store_txn *t, int64_t by, size_t max, struct store_lease *out, size_t *n)
{
	struct args a = {0};
	PGresult *res;
	*n = 0;
	a_int(&a, by);
	a_int(&a, (int64_t)max);
	err_t r = txn_run(t, S_LEASES_ENDED, &a, &res);
	if (r == ERR_OK) {
		int rows = PQntuples(res);
		for (int i = 0; i < rows && *n < max; i++) {
			struct store_lease *l = &out[(*n)++];
			memset(l, 0, sizeof *l);
			col_text(l->id, sizeof l->id, res, i, 0);
			col_text(l->tenant, sizeof l->tenant, res, i, 1);
			if (PQgetlength(res, i, 2) == STORE_FINGERPRINT_LEN)
				memcpy(l->fp, PQgetvalue(res, i, 2), STORE_FINGERPRINT_LEN);
			l->lease_end = col_int(res, i, 3);
			col_text(l->owner, sizeof l->owner, res, i, 4);
			l->state = (uint32_t)col_int(res, i, 5);
		}
	}
	PQclear(res);
	return r;
}

static err_t txn_lease_done(struct store_txn *t, const struct store_lease *l)
{
	struct args a = {0};
	a_text(&a, l->id);
	a_text(&a, l->tenant);
	a_blob(&a, l->fp, STORE_FINGERPRINT_LEN);
	return txn_exec(t, S_LEASE_DONE, &a, NULL);
}

static err_t txn_meta_put(struct store_txn *t, const char *key, const uint8_t *v, size_t len)
{
	struct args a = {0};
	a_text(&a, key);
	a_blob(&a, v, len);
	return txn_exec(t, S_META_PUT, &a, NULL);
}

static err_t txn_name_claim(struct store_txn *t, const char *tenant, const char *name, size_t name_len,
			    const char *id, uint32_t index)
{
	struct args a = {0};
	int64_t n = 0;
	a_text(&a, tenant);
	a_textn(&a, name_len ? name : "", name_len);
	a_text(&a, id);
	a_int(&a, index);
	GUARD(txn_exec(t, S_NAME_CLAIM, &a, &n));
	return n == 1 ? ERR_OK : ERR_STORE_NAME_TAKEN;
}

static err_t txn_name_release(struct store_txn *t, const char *id, uint32_t index)
{
	bool all = index == STORE_ALL_INDEXES;
	struct args a = {0};
	a_text(&a, id);
	if (!all)
		a_int(&a, index);
	return txn_exec(t, all ? S_NAME_RELEASE_ALL : S_NAME_RELEASE_ONE, &a, NULL);
}

static err_t txn_material_get(struct store_txn *t, const char *id, uint8_t *out, size_t cap, size_t *len)
{
	struct args a = {0};
	PGresult *res;
	a_text(&a, id);
	*len = 0;
	err_t r = txn_run(t, S_MAT_GET, &a, &res);
	if (r == ERR_OK)
		r = PQntuples(res) == 1 ? blob_out(res, 0, out, cap, len) : ERR_STORE_NOT_FOUND;
	PQclear(res);
	return r;
}

/* ---- group commit --------------------------------------------------------------------------------- */

static void fail_all(struct store_req *list, err_t r)
{
	for (struct store_req *q = list; q != NULL; q = q->next)
		q->result = r;
}

/* writer_begin opens the batch's transaction, reconnecting first when the
 * writer has no connection, and once more when the one it had turns out
 * dead (a failover since the last batch): nothing has run yet */
static err_t writer_begin(struct store_backend *b, int64_t deadline)
{
	struct conn *c = &b->w;
	char eb[384];
	for (int attempt = 0; attempt < 2; attempt++) {
		bool fresh = false;
		if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK) {
			err_t r = conn_open(b, c, false, eb, sizeof(eb));
			if (r != ERR_OK) {
				if (r != ERR_STORE_UNAVAILABLE) /* conn_open logs an outage */
					log_warn("%s", eb);
				return r;
			}
			fresh = true;
		}
		err_t r = simple(c, "BEGIN", deadline, NULL);
		if (r != ERR_STORE_UNAVAILABLE)
			return r;
		conn_close(c);
		if (fresh)
			return r;
	}
	return ERR_STORE_UNAVAILABLE;
}

static void run_batch(void *arg, struct store_req *list, size_t n)
{
	struct store_backend *b = arg;
	struct conn *c = &b->w;
	int64_t deadline = mono_ms() + b->timeout_ms;
	err_t r = writer_begin(b, deadline);
	if (r != ERR_OK) {
		fail_all(list, r);
		pthread_mutex_lock(&b->q.mu);
		b->stats.failed_commits++;
		pthread_mutex_unlock(&b->q.mu);
		return;
	}
	/* Each request of a batch runs under a savepoint, so one that fails
	 * is rolled back alone; a savepoint is released together with the
	 * next one's start, and the last with the COMMIT, in one round trip
	 * each. A batch of one needs none: if it fails, the whole transaction
	 * is rolled back. */
	bool single = n == 1, savepoint = false;
	err_t fatal = ERR_OK;
	for (struct store_req *q = list; q != NULL; q = q->next) {
		if (fatal != ERR_OK) {
			q->result = fatal;
			continue;
		}
		struct store_txn t = {b, c, deadline, ERR_OK};
		err_t e = single ? ERR_OK
				 : simple(c, savepoint ? "RELEASE SAVEPOINT r; SAVEPOINT r" : "SAVEPOINT r", deadline, NULL);
		if (e != ERR_OK) {
			t.fatal = e;
			q->result = e;
		} else {
			savepoint = !single;
			q->result = q->fn(&t, q->ctx);
			/* a statement's error leaves the transaction aborted up
			 * to the savepoint: roll back to it, and go on */
			if (t.fatal == ERR_OK && q->result != ERR_OK && !single)
				t.fatal = simple(c, "ROLLBACK TO SAVEPOINT r", deadline, NULL);
			if (t.fatal == ERR_OK && q->result != ERR_OK && single) {
				/* nothing of the batch to keep */
				if (simple(c, "ROLLBACK", deadline, NULL) != ERR_OK)
					conn_close(c);
				return;
			}
		}
		if (t.fatal != ERR_OK) {
			/* the connection is gone (or the transaction with it):
			 * nothing of this batch is written */
			fatal = t.fatal == ERR_STORE_UNAVAILABLE ? ERR_STORE_UNAVAILABLE : ERR_STORE;
			if (q->result == ERR_OK)
				q->result = fatal;
			store_reqs_fail_ok(list, fatal);
		}
	}
	if (fatal != ERR_OK) {
		pthread_mutex_lock(&b->q.mu);
		b->stats.failed_commits++;
		pthread_mutex_unlock(&b->q.mu);
		conn_close(c);
		return;
	}
	struct timespec t0;
	PGresult *res = NULL;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* the COMMIT has its own deadline: it may wait for a standby */
	r = simple(c, savepoint ? "RELEASE SAVEPOINT r; COMMIT" : "COMMIT", mono_ms() + b->timeout_ms, &res);
	/* an aborted transaction's COMMIT answers ROLLBACK, without an error */
	if (r == ERR_OK && strcmp(PQcmdStatus(res), "COMMIT") != 0)
		r = ERR_STORE;
	PQclear(res);
	store_commit_timed(&b->q, &b->stats, &t0, r == ERR_OK, n);
	if (r == ERR_OK)
		return;
	/* the COMMIT went out and no answer came back: it may have landed
	 * (store-ha.md §2.3); the connection is closed, never cancelled */
	bool unknown = r == ERR_STORE_UNAVAILABLE;
	log_error("store: COMMIT of %zu requests on PostgreSQL (%s) failed: %s", n, b->where,
		  unknown ? "no answer (outcome unknown)" : err_str(r));
	store_reqs_fail_ok(list, unknown ? ERR_STORE_COMMIT_UNKNOWN : r);
	if (unknown)
		conn_close(c);
	else
		(void)simple(c, "ROLLBACK", mono_ms() + b->timeout_ms, NULL);
}

static err_t pg_submit(struct store_backend *b, store_apply_fn fn, void *ctx)
{
	return store_queue_submit(&b->q, fn, ctx);
}

/* ---- migrations ------------------------------------------------------------------------------------- */

/* say_durability logs, at start, what an acknowledged key survives with
 * the server's settings (README "Running several nodes"): a COMMIT fount
 * acknowledges is flushed on the primary (synchronous_commit on), and
 * with synchronous_standby_names also on a standby's disk (on,
 * remote_apply) or in its memory (remote_write). fsync or
 * synchronous_commit off loses acknowledged keys in a crash: a warning. */
static void say_durability(struct store_backend *b)
{
	PGresult *res = NULL;
	if (simple(&b->w,
		   "SELECT current_setting('fsync'), current_setting('synchronous_commit'),"
		   " current_setting('synchronous_standby_names')",
		   mono_ms() + b->timeout_ms, &res) != ERR_OK ||
	    PQntuples(res) != 1) {
		PQclear(res);
		return;
	}
	const char *fsync = PQgetvalue(res, 0, 0), *sc = PQgetvalue(res, 0, 1), *names = PQgetvalue(res, 0, 2);
	if (strcmp(fsync, "on") != 0 || strcmp(sc, "off") == 0)
		log_warn("PostgreSQL (%s) runs with fsync=%s, synchronous_commit=%s: a key fount acknowledged can be "
			 "lost in a crash; set both on",
			 b->where, fsync, sc);
	else if (names[0] == '\0' || strcmp(sc, "local") == 0)
		log_info("PostgreSQL (%s): no synchronous standby (synchronous_commit=%s, synchronous_standby_names "
			 "'%s'): an acknowledged key is on the primary's disk only",
			 b->where, sc, names);
	else
		log_info("PostgreSQL (%s): synchronous_commit=%s with synchronous standby '%s': an acknowledged key "
			 "is on the primary's disk and %s",
			 b->where, sc, names,
			 strcmp(sc, "remote_write") == 0 ? "in a standby's memory (not yet its disk)"
							 : "a standby's disk");
	PQclear(res);
}

static err_t migrate(struct store_backend *b, unsigned *version, char *errbuf, size_t errlen)
{
	struct conn *c = &b->w;
	int64_t deadline = mono_ms() + 60000; /* a migration may rewrite tables */
	PGresult *res = NULL;
	unsigned have = 0, want = STORE_SCHEMA_VERSION;
	char why[256] = "";
	err_t r = simple(c, "BEGIN", deadline, NULL);
	/* two nodes started at once: the second waits, then finds it done */
	if (r == ERR_OK)
		r = simple(c, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK ")", deadline, NULL);
	if (r == ERR_OK)
		r = simple(c, "SELECT to_regclass('meta') IS NOT NULL", deadline, &res);
	bool have_meta = r == ERR_OK && PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	res = NULL;
	if (r == ERR_OK && have_meta) {
		r = simple(c, "SELECT convert_from(value, 'UTF8') FROM meta WHERE key = 'schema_version'", deadline,
			   &res);
		if (r == ERR_OK && PQntuples(res) == 1) {
			long v = strtol(PQgetvalue(res, 0, 0), NULL, 10);
			have = v > 0 && v < 100000 ? (unsigned)v : 0;
		}
		PQclear(res);
		res = NULL;
	}
	if (r == ERR_OK && have > want) {
		snprintf(errbuf, errlen,
			 "store: PostgreSQL (%s) has schema version %u, newer than this fount knows (%u): use a newer fount",
			 b->where, have, want);
		(void)simple(c, "ROLLBACK", deadline, NULL);
		return ERR_STORE_SCHEMA;
	}
	for (unsigned v = have + 1; r == ERR_OK && v <= want; v++) {
		char set[160];
		r = simple(c, migrations[v - 1], deadline, &res);
		if (r != ERR_OK && res != NULL)
			first_line(why, sizeof(why), PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
		PQclear(res);
		res = NULL;
		snprintf(set, sizeof(set),
			 "INSERT INTO meta(key, value) VALUES ('schema_version', convert_to('%u', 'UTF8'))"
			 " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
			 v);
		if (r == ERR_OK)
			r = simple(c, set, deadline, NULL);
		if (r == ERR_OK && have > 0)
			log_info("PostgreSQL (%s): migrated the schema to version %u", b->where, v);
	}
	if (r == ERR_OK)
		r = simple(c, "COMMIT", deadline, NULL);
	if (r != ERR_OK) {
		snprintf(errbuf, errlen, "store: PostgreSQL (%s): cannot read or migrate the schema: %s%s%s", b->where,
			 err_str(r), why[0] ? ": " : "", why);
		if (c->pg != NULL && PQstatus(c->pg) == CONNECTION_OK)
			(void)simple(c, "ROLLBACK", deadline, NULL);
		return r;
	}
	*version = want;
	return ERR_OK;
}

/* ---- open and close --------------------------------------------------------------------------------- */

/* password_load reads [store] password_file into secure memory: a
 * regular file, not readable by group or others, at most 1 KiB, one line */
static err_t password_load(struct store_backend *b, const char *path, char *errbuf, size_t errlen)
{
	struct stat st;
	if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(errbuf, errlen, "store: password_file %s: %s", path,
			 errno ? strerror(errno) : "not a regular file");
		return ERR_CONFIG;
	}
	if (st.st_mode & 077) {
		snprintf(errbuf, errlen, "store: password_file %s has mode %04o: run chmod 600 %s", path,
			 (unsigned)(st.st_mode & 07777), path);
		return ERR_CONFIG;
	}
	b->password_len = 1024;
	err_t r = ERR_OK;
	b->password = secmem_alloc(b->password_len + 1, &r);
	if (b->password == NULL)
		return r;
	size_t n = 0;
	r = file_read_bounded(path, (uint8_t *)b->password, b->password_len, &n, NULL);
	if (r != ERR_OK) {
		snprintf(errbuf, errlen, "store: cannot read password_file %s: %s (at most 1 KiB)", path, err_str(r));
		return r;
	}
	while (n > 0 && (b->password[n - 1] == '\n' || b->password[n - 1] == '\r'))
		n--;
	b->password[n] = '\0';
	if (n == 0 || memchr(b->password, '\n', n) != NULL) {
		snprintf(errbuf, errlen, "store: password_file %s must hold the password on one line", path);
		return ERR_CONFIG;
	}
	return ERR_OK;
}

/* params_build checks |url| (no password in it), keeps a printable
 * location, and lays out libpq's keywords: fount's defaults, then the URL
 * (expanded; its values win), then the password from the file. */
static err_t params_build(struct store_backend *b, const char *url, char *errbuf, size_t errlen)
{
	char *perr = NULL;
	PQconninfoOption *opts = PQconninfoParse(url, &perr);
	if (opts == NULL) {
		/* not libpq's message: it quotes the string, and a malformed
		 * URL may hold a password */
		PQfreemem(perr);
		snprintf(errbuf, errlen,
			 "store: [store] url is not a libpq connection string: write postgresql://HOST[,HOST2]/DB?... or key=value pairs");
		return ERR_CONFIG;
	}
	const char *host = "", *port = "", *db = "", *user = "";
	bool password = false;
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
		if (o->val == NULL)
			continue;
		if (strcmp(o->keyword, "password") == 0)
			password = true;
		else if (strcmp(o->keyword, "host") == 0 || (strcmp(o->keyword, "hostaddr") == 0 && !*host))
			host = o->val;
		else if (strcmp(o->keyword, "port") == 0)
			port = o->val;
		else if (strcmp(o->keyword, "dbname") == 0)
			db = o->val;
		else if (strcmp(o->keyword, "user") == 0)
			user = o->val;
	}
	snprintf(b->where, sizeof(b->where), "host=%s%s%s dbname=%s%s%s", *host ? host : "(default)",
		 *port ? " port=" : "", port, *db ? db : "(default)", *user ? " user=" : "", user);
	PQconninfoFree(opts);
	if (password) {
		snprintf(errbuf, errlen,
			 "store: [store] url holds a password: move it to [store] password_file (mode 0600) or a libpq passfile");
		return ERR_CONFIG;
	}
	b->url = strdup(url);
	if (b->url == NULL)
		return ERR_NOMEM;
	/* store-ha.md §2.2: a bounded connect per host, keepalives and a TCP
	 * user timeout, and the primary only */
	static const char *const defaults[][2] = {
		{"connect_timeout", "2"},      {"keepalives", "1"},
		{"keepalives_idle", "5"},      {"keepalives_interval", "2"},
		{"keepalives_count", "3"},     {"tcp_user_timeout", "10000"},
		{"target_session_attrs", "read-write"}, {"application_name", "fount"},
	};
	size_t k = 0;
	for (size_t i = 0; i < ARRAY_SIZE(defaults); i++, k++) {
		b->kw[k] = defaults[i][0];
		b->val[k] = defaults[i][1];
	}
	b->kw[k] = "dbname";
	b->val[k++] = b->url;
	if (b->password != NULL) {
		b->kw[k] = "password";
		b->val[k++] = b->password;
	}
	b->kw[k] = NULL;
	b->val[k] = NULL;
	return ERR_OK;
}

static void pg_close(struct store_backend *b)
{
	if (b == NULL)
		return;
	store_queue_stop(&b->q);
	if (b->readers != NULL) {
		for (unsigned i = 0; i < b->p.readers; i++)
			conn_close(&b->readers[i]);
		free(b->readers);
	}
	conn_close(&b->w);
	pthread_mutex_destroy(&b->rmu);
	pthread_cond_destroy(&b->rcv);
	if (b->password != NULL)
		secmem_free(b->password, b->password_len + 1);
	free(b->url);
	free(b);
}

static err_t pg_open(const char *url, const struct store_backend_params *p, struct store_backend **out,
		     char *errbuf, size_t errlen)
{
	struct store_backend *b = calloc(1, sizeof(*b));
	if (b == NULL)
		return ERR_NOMEM;
	b->p = *p;
	b->timeout_ms = p->timeout_ms ? p->timeout_ms : 5000;
	store_queue_init(&b->q, p, run_batch, b);
	pthread_mutex_init(&b->rmu, NULL);
	pthread_cond_init(&b->rcv, NULL);
	err_t r = ERR_OK;
	if (p->password_file != NULL && p->password_file[0] != '\0')
		r = password_load(b, p->password_file, errbuf, errlen);
	if (r == ERR_OK)
		r = params_build(b, url, errbuf, errlen);
	if (r == ERR_OK)
		r = conn_open(b, &b->w, true, errbuf, errlen);
	if (r == ERR_OK)
		r = migrate(b, &b->stats.schema_version, errbuf, errlen);
	if (r == ERR_OK)
		say_durability(b);
	if (r == ERR_OK) {
		b->readers = calloc(b->p.readers, sizeof(*b->readers));
		r = b->readers != NULL ? ERR_OK : ERR_NOMEM;
	}
	if (r == ERR_OK) {
		r = store_queue_start(&b->q);
		if (r != ERR_OK)
			snprintf(errbuf, errlen, "store: cannot start the writer thread");
	}
	if (r != ERR_OK) {
		if (b->readers == NULL)
			b->p.readers = 0;
		pg_close(b);
		return r;
	}
	log_info("key store on PostgreSQL (%s), schema version %u", b->where, b->stats.schema_version);
	*out = b;
	return ERR_OK;
}

static const char *pg_where(const struct store_backend *b)
{
	return b->where;
}

const struct store_backend_ops store_pg_ops = {
	.name = "postgresql",
	.open = pg_open,
	.close = pg_close,
	.where = pg_where,
	.submit = pg_submit,
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
	.row_get = pg_row_get,
	.attrs_get = pg_attrs_get,
	.material_get = pg_material_get,
	.object_get = pg_object_get,
	.find = pg_find,
	.meta_get = pg_meta_get,
	.each_sealed = pg_each_sealed,
	.access_count = pg_access_count,
	.holders = pg_holders,
	.events = pg_events,
	.events_latest = pg_events_latest,
	.leases_status = pg_leases_status,
	.commit_lag = pg_commit_lag,
	.stats = pg_stats,
	.counts = pg_counts,
	.dump = pg_dump,
	.quick_check = NULL, /* PostgreSQL checks its pages itself (initdb --data-checksums) */
	.ping = pg_ping,
};
