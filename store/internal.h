/* store/internal.h — store/'s private header: the backend table and the
 * sealing layer.
 *
 * object.c holds the rules (tenants, lifecycle, managed attributes) and
 * talks to a database only through struct store_backend_ops, so a
 * PostgreSQL backend can follow behind the same table. A write is a
 * function object.c hands to ops->submit: the backend runs it inside a
 * transaction it shares with other writers (group commit), on a handle
 * (struct store_txn) whose primitives are the ops' txn_* entries, and
 * returns only after the commit, with the function's own result. Reads go
 * straight to ops' read entries on the backend's reader connections. */
#ifndef FOUNT_STORE_INTERNAL_H
#define FOUNT_STORE_INTERNAL_H

#include <pthread.h>
#include <semaphore.h>
#include <string.h>
#include <time.h>

#include "store/store.h"

struct store_backend;
struct store_txn;

/* The columns of one object row, as the backends keep them. */
struct store_row {
	char id[STORE_ID_MAX + 1];
	char tenant[STORE_TENANT_MAX + 1];
	uint32_t type, state, alg, length, usage_mask, key_format, revocation_reason;
	int64_t initial_date, activation_date, deactivation_date, destroy_date,
		compromise_date, compromise_occurrence_date, last_change_date,
		original_creation_date;
	int64_t created_ns; /* creation order (realtime ns) */
	bool has_digest;
	uint8_t digest[STORE_DIGEST_LEN];
	uint32_t data_type; /* Secret Data / Opaque Data / Certificate Type, 0 = none */
	uint32_t protection; /* STORE_P_* */
};

/* One access-log record (the fingerprint's bytes as stored: 32 unless the
 * database is damaged). */
struct store_access {
	const char *id, *tenant, *op;
	const uint8_t *fp;
	size_t fp_len;
	int64_t time;
	int64_t lease_end; /* the lease granted runs to then (Unix seconds); 0: none */
};

/* One lease of the leases table, as the sweep reads it. */
struct store_lease {
	char id[STORE_ID_MAX + 1];
	char tenant[STORE_TENANT_MAX + 1]; /* the holder */
	uint8_t fp[STORE_FINGERPRINT_LEN];
	int64_t lease_end;
	char owner[STORE_TENANT_MAX + 1];
	uint32_t state; /* the object's, now */
};

/* How many rows a store holds, table by table. */
struct store_counts {
	uint64_t objects, attrs, sealed, access, names;
};

/* The callbacks of ops->dump, in the order the dump makes them. Every
 * pointer is valid during the call only; an error stops the dump and is
 * what dump returns. */
struct store_dump_fns {
	/* once, first: the counts of the snapshot the rest comes from */
	err_t (*counts)(void *ctx, const struct store_counts *c);
	/* every object, by (created_ns, id); |sealed| its material as stored
	 * (NULL, 0 when it has none) */
	err_t (*object)(void *ctx, const struct store_row *row, const uint8_t *sealed, size_t len);
	/* after each object, its attributes by (name, index) */
	err_t (*attr)(void *ctx, const struct store_attr *a);
	/* last, the access log in the order it was written */
	err_t (*access)(void *ctx, const struct store_access *a);
};

typedef err_t (*store_apply_fn)(struct store_txn *t, void *ctx);
typedef err_t (*store_sealed_fn)(void *ctx, const struct store_row *row,
				 const uint8_t *sealed, size_t len);

/* The operations whose access record means the material left the server
 * (api/: Get and wrapped Get over KMIP, HTTP), and those that only renew
 * a lease (store_obtain_lease): the holders' SQL, portable. */
#define STORE_HOLDER_OPERATIONS "'kmip get', 'kmip get wrapped', 'get wrapped', 'http get'"
#define STORE_LEASE_OPERATIONS "'kmip obtain lease', 'http lease'"
/* The holders' query of both backends, |P1| and |P2| their placeholders,
 * |KEY| the column matched (a.id or a.tenant), |ORDER| the tie-breaks:
 * per (object, tenant, certificate) the first and last time the material
 * left, how often, the end of the latest lease (a renewal counts) and the
 * object's state. */
/* The events a tenant sees (|P1| after, |P2| the tenant, |P3| the limit):
 * its own objects' and those its certificates got the material of */
#define STORE_EVENTS_COLS "e.seq, e.time, e.kind, e.id, e.new_id, e.tenant, e.state, e.holder, e.holder_fp"
#define STORE_EVENTS_OF_SQL(P1, P2, P3)                                                           \
	"SELECT " STORE_EVENTS_COLS " FROM events e WHERE e.seq > " P1 " AND (e.tenant = " P2         \
	" OR e.holder = " P2 " OR (e.holder = '' AND EXISTS (SELECT 1 FROM access_log a"              \
	" WHERE a.id = e.id AND a.tenant = " P2 " AND a.operation IN (" STORE_HOLDER_OPERATIONS "))))" \
	" ORDER BY e.seq LIMIT " P3
#define STORE_EVENTS_ALL_SQL(P1, P3)                                                               \
	"SELECT " STORE_EVENTS_COLS " FROM events e WHERE e.seq > " P1 " ORDER BY e.seq LIMIT " P3
#define STORE_HOLDERS_SQL(KEY, P1, P2, ORDER)                                                    \
	"SELECT a.id, a.tenant, a.fingerprint,"                                                   \
	" min(CASE WHEN a.operation IN (" STORE_HOLDER_OPERATIONS ") THEN a.time END),"           \
	" max(CASE WHEN a.operation IN (" STORE_HOLDER_OPERATIONS ") THEN a.time END),"           \
	" sum(CASE WHEN a.operation IN (" STORE_HOLDER_OPERATIONS ") THEN 1 ELSE 0 END),"         \
	" max(a.lease_end), min(o.state)"                                                         \
	" FROM access_log a JOIN objects o ON o.id = a.id"                                        \
	" WHERE " KEY " = " P1 " AND a.operation IN (" STORE_HOLDER_OPERATIONS ", " STORE_LEASE_OPERATIONS ")" \
	" GROUP BY a.id, a.tenant, a.fingerprint"                                                 \
	" HAVING sum(CASE WHEN a.operation IN (" STORE_HOLDER_OPERATIONS ") THEN 1 ELSE 0 END) > 0" \
	" ORDER BY 4, " ORDER " LIMIT " P2

/* The leases table (schema 8): per object, tenant and certificate the
 * end of the latest lease the access log granted, and whether its
 * lease_end event is out (ended = 1). The sweep (store/lease.c) folds the
 * log's records (P1, P2] into it by seq, a lease that ended by P3 marked
 * ended without an event (a restored log's past), P4 being now; then
 * moves the fold's mark, lease_fold.seq, to the last record folded.
 *
 * A key fetched again and again would rewrite its row at every fold (a
 * random page of the table and of its index each): an open lease's end is
 * moved only when the new end passes it by more than 1/16 of the time the
 * new lease still runs. Its row keeps the bound of what was skipped since,
 * slack = (end - now) / 15 at the write (a skipped end E at fold time t
 * has E - end <= (E - t) / 16, so E <= end + (end - t) / 15 <= end +
 * slack), and the lease counts as ended only once end + slack has passed:
 * never early, at most slack late (1/15 of the lease's length). Portable
 * SQL (SQLite 3.24's upsert; the WHERE before ON CONFLICT keeps SQLite's
 * parser from reading ON as a join's; integer division in both). */
#define STORE_LEASES_FOLD_SQL(P1, P2, P3, P4)                                                    \
	"INSERT INTO leases(id, tenant, fingerprint, lease_end, ended, slack)"                       \
	" SELECT id, tenant, fingerprint, max(lease_end),"                                           \
	" CASE WHEN max(lease_end) <= " P3 " THEN 1 ELSE 0 END,"                                     \
	" CASE WHEN max(lease_end) > " P4 " THEN (max(lease_end) - " P4 ") / 15 ELSE 0 END"          \
	" FROM access_log"                                                                           \
	" WHERE seq > " P1 " AND seq <= " P2 " AND lease_end > 0 GROUP BY id, tenant, fingerprint"   \
	" ON CONFLICT (id, tenant, fingerprint) DO UPDATE"                                           \
	" SET lease_end = excluded.lease_end, ended = excluded.ended, slack = excluded.slack"        \
	" WHERE excluded.lease_end > leases.lease_end AND (leases.ended = 1"                         \
	" OR excluded.lease_end - leases.lease_end > (excluded.lease_end - " P4 ") / 16)"
/* the mark only moves forward: a node whose fold limit lags another's
 * (its commit lag counts from its own sightings) leaves it where it is */
#define STORE_LEASES_MARK_SQL(P2)                                                                \
	"UPDATE lease_fold SET seq = (SELECT coalesce(max(seq), 0) FROM access_log WHERE seq <= " P2 ")" \
	" WHERE seq < (SELECT coalesce(max(seq), 0) FROM access_log WHERE seq <= " P2 ")"
/* the leases that ended by P1 (end + slack) without their event yet (the
 * partial index leases_open), with their object's owner and state, by
 * end; at most P2 */
#define STORE_LEASES_ENDED_SQL(P1, P2)                                                           \
	"SELECT l.id, l.tenant, l.fingerprint, l.lease_end, o.tenant, o.state FROM leases l"        \
	" JOIN objects o ON o.id = l.id WHERE l.ended = 0 AND l.lease_end <= " P1                   \
	" AND l.lease_end + l.slack <= " P1                                                          \
	" ORDER BY l.lease_end, l.id, l.tenant, l.fingerprint LIMIT " P2
#define STORE_LEASE_DONE_SQL(P1, P2, P3)                                                         \
	"UPDATE leases SET ended = 1 WHERE id = " P1 " AND tenant = " P2 " AND fingerprint = " P3
/* a sweep's one read: the fold's mark, the log's last seq, and whether a
 * lease ended by P1 waits for its event */
#define STORE_LEASES_STATUS_SQL(P1)                                                              \
	"SELECT (SELECT seq FROM lease_fold), (SELECT coalesce(max(seq), 0) FROM access_log),"      \
	" (SELECT count(*) FROM (SELECT 1 FROM leases WHERE ended = 0 AND lease_end <= " P1        \
	" AND lease_end + slack <= " P1 " LIMIT 1) x)"

/* the schema version both backends' migration lists reach */
#define STORE_SCHEMA_VERSION 8

struct store_backend_params {
	unsigned max_batch, max_wait_us, readers;
	const char *password_file; /* PostgreSQL: [store] password_file, or NULL */
	unsigned timeout_ms;       /* PostgreSQL: a request's deadline */
};

struct store_backend_ops {
	const char *name;
	err_t (*open)(const char *path, const struct store_backend_params *p,
		      struct store_backend **out, char *errbuf, size_t errlen);
	void (*close)(struct store_backend *b);
	/* where the objects are, for logs and errors: a path, or a
	 * PostgreSQL host and database (never a password) */
	const char *(*where)(const struct store_backend *b);
	/* runs |fn| inside a group-committed transaction; its result, or the
	 * commit's error */
	err_t (*submit)(struct store_backend *b, store_apply_fn fn, void *ctx);

	/* ---- inside submit's function ---- */
	err_t (*txn_row_get)(struct store_txn *t, const char *id, struct store_row *out);
	err_t (*txn_row_insert)(struct store_txn *t, const struct store_row *row);
	err_t (*txn_row_update)(struct store_txn *t, const struct store_row *row);
	err_t (*txn_attr_insert)(struct store_txn *t, const char *id, const struct store_attr *a);
	/* ERR_STORE_ATTR_NOT_FOUND when no row matched */
	err_t (*txn_attr_update)(struct store_txn *t, const char *id, const struct store_attr *a);
	err_t (*txn_attr_delete)(struct store_txn *t, const char *id, const char *name,
				 uint32_t index, uint64_t *n_deleted);
	/* *count instances of |name|, *next the first index above all of them */
	err_t (*txn_attr_count)(struct store_txn *t, const char *id, const char *name,
				uint64_t *count, uint32_t *next);
	err_t (*txn_material_put)(struct store_txn *t, const char *id, const uint8_t *sealed,
				  size_t len);
	/* overwrites the sealed blob, then deletes it */
	err_t (*txn_material_wipe)(struct store_txn *t, const char *id);
	err_t (*txn_access_insert)(struct store_txn *t, const char *id, const char *tenant,
				   const uint8_t *fp, const char *op, int64_t time, int64_t lease_end);
	/* an event (store.h), its seq the next in commit order */
	err_t (*txn_event_insert)(struct store_txn *t, const struct store_event *e);
	/* orders this transaction with every node's event writers before it
	 * reads what it decides its events from (PostgreSQL: the events'
	 * advisory lock; SQLite has one writer) */
	err_t (*txn_events_lock)(struct store_txn *t);
	/* the leases' fold (STORE_LEASES_FOLD_SQL): the log's records after
	 * the fold's mark up to |upto| into the leases table at time |now|,
	 * those ended by |ended_by| marked ended; the mark moved */
	err_t (*txn_leases_fold)(struct store_txn *t, uint64_t upto, int64_t ended_by, int64_t now);
	/* at most |max| leases ended by |by| whose event is not out
	 * (STORE_LEASES_ENDED_SQL) into |out|, *n of them; lease_done marks one
	 * out */
	err_t (*txn_leases_ended)(struct store_txn *t, int64_t by, size_t max, struct store_lease *out,
				  size_t *n);
	err_t (*txn_lease_done)(struct store_txn *t, const struct store_lease *l);
	err_t (*txn_meta_put)(struct store_txn *t, const char *key, const uint8_t *v, size_t len);
	/* a Name (its search text) for |tenant|: ERR_STORE_NAME_TAKEN when the
	 * tenant has it already; release drops |id|'s instance |index| (every
	 * one with STORE_ALL_INDEXES) */
	err_t (*txn_name_claim)(struct store_txn *t, const char *tenant, const char *name,
				size_t name_len, const char *id, uint32_t index);
	err_t (*txn_name_release)(struct store_txn *t, const char *id, uint32_t index);
	/* the sealed material, as material_get, read inside the transaction:
	 * the writer's connection keeps its page cache across its own
	 * commits, where a reader's is dropped at every commit */
	err_t (*txn_material_get)(struct store_txn *t, const char *id, uint8_t *out, size_t cap,
				  size_t *len);

	/* ---- reads ---- */
	err_t (*row_get)(struct store_backend *b, const char *id, struct store_row *out);
	/* every attribute of |id|, by name then index, into one allocation */
	err_t (*attrs_get)(struct store_backend *b, const char *id, struct store_attr **out,
			   size_t *n, void **mem);
	/* ERR_STORE_NOT_FOUND when there is none; |out| may be NULL to ask the length */
	err_t (*material_get)(struct store_backend *b, const char *id, uint8_t *out, size_t cap,
			      size_t *len);
	/* row, material (into |sealed| unless NULL; *has_material either way)
	 * and, unless |attrs| is NULL, attributes, from one snapshot */
	err_t (*object_get)(struct store_backend *b, const char *id, struct store_row *row, bool *has_material,
			    uint8_t *sealed, size_t cap, size_t *sealed_len, struct store_attr **attrs,
			    size_t *n_attrs, void **mem);
	err_t (*find)(struct store_backend *b, const struct store_query *q, struct store_found *out);
	err_t (*meta_get)(struct store_backend *b, const char *key, uint8_t *out, size_t cap,
			  size_t *len);
	err_t (*each_sealed)(struct store_backend *b, store_sealed_fn fn, void *ctx);
	err_t (*access_count)(struct store_backend *b, const char *id, uint64_t *out);
	/* the holders of the object |key| (by_tenant false) or of the tenant
	 * |key|: at most |max| entries into out->h (room for |max|), in the
	 * order store.h gives, out->n of them; out->truncated when there were
	 * more */
	err_t (*holders)(struct store_backend *b, bool by_tenant, const char *key, size_t max,
			 struct store_holders *out);
	/* the events after |after| that |tenant| sees (NULL: all), at most
	 * |max| into out->e (room for max + 1: the one more says out->more) */
	err_t (*events)(struct store_backend *b, const char *tenant, uint64_t after, size_t max,
			struct store_events *out);
	/* the last committed event's seq (0: none) */
	err_t (*events_latest)(struct store_backend *b, uint64_t *out);
	/* STORE_LEASES_STATUS_SQL: the fold's mark, the access log's last
	 * seq, whether a lease ended by |by| waits for its event */
	err_t (*leases_status)(struct store_backend *b, int64_t by, uint64_t *folded, uint64_t *latest, bool *due);
	/* seconds after which a commit is surely visible to every reader
	 * (store_leases_lag) */
	unsigned (*commit_lag)(const struct store_backend *b);
	void (*stats)(struct store_backend *b, struct store_stats *out);

	/* ---- backup and restore (store/backup.c) ---- */
	/* the row counts of every table (import's "is it empty" and its check
	 * after the commit) */
	err_t (*counts)(struct store_backend *b, struct store_counts *out);
	/* every object row with its sealed material and attributes, then the
	 * access log, from ONE read snapshot (a consistent backup while
	 * writers go on), through |fns|; counts first. Rows are streamed, one
	 * at a time: nothing holds the whole store in memory. */
	err_t (*dump)(struct store_backend *b, const struct store_dump_fns *fns, void *ctx);
	/* optional (NULL when the backend has none): the database's own quick
	 * structural check (SQLite: PRAGMA quick_check). ERR_STORE_CORRUPT with
	 * its first finding in |msg| when it fails. */
	err_t (*quick_check)(struct store_backend *b, char *msg, size_t len);
	/* optional (NULL: always ERR_OK): whether the store can take writes
	 * now — one round trip to a database server within at most a second
	 * (ERR_STORE_UNAVAILABLE), or the disk's state (ERR_STORE_FULL) */
	err_t (*ping)(struct store_backend *b);
};

extern const struct store_backend_ops store_sqlite_ops; /* store/sqlite.c */
extern const struct store_backend_ops store_pg_ops;     /* store/pg.c */

/* ---- group commit (store/queue.c), shared by the backends ---- */

struct store_req {
	store_apply_fn fn;
	void *ctx;
	err_t result;
	sem_t done; /* posted once |result| is final; its caller waits on it */
	struct store_req *next;
};

/* a backend's batch: runs the |n| requests of |list| in one transaction
 * and sets each one's result, success only after the commit */
typedef void (*store_batch_fn)(void *arg, struct store_req *list, size_t n);

struct store_queue {
	pthread_mutex_t mu; /* the queue, and the backend's stats beside it */
	pthread_cond_t work;
	struct store_req *head, *tail;
	size_t queued;
	size_t last_batch; /* requests in the last batch */
	size_t want;       /* a waiting batch's size, 0 when none waits */
	unsigned max_batch, max_wait_us;
	bool stopping, started;
	pthread_t thread;
	store_batch_fn run;
	void *arg;
	uint64_t requests; /* requests run, under mu */
};

void store_queue_init(struct store_queue *q, const struct store_backend_params *p, store_batch_fn run,
		      void *arg);
err_t store_queue_start(struct store_queue *q) MUST_CHECK;
/* store_queue_submit queues |fn| and waits for its batch's commit */
err_t store_queue_submit(struct store_queue *q, store_apply_fn fn, void *ctx);
/* store_queue_stop runs what is queued, stops the thread, frees the locks */
void store_queue_stop(struct store_queue *q);
/* store_commit_timed counts a batch's COMMIT in |st| (under the queue's
 * lock): its latency since |t0| (monotonic) when |ok|, a failure if not */
void store_commit_timed(struct store_queue *q, struct store_stats *st, const struct timespec *t0, bool ok,
			size_t n);
/* store_reqs_fail_ok gives every request of |list| that has not failed on
 * its own the error |r| */
void store_reqs_fail_ok(struct store_req *list, err_t r);

/* ---- Locate's WHERE clause (store/query.c), shared by the backends ---- */

struct store_bindv {
	bool is_int, is_blob; /* else text */
	int64_t i;
	const void *p;
	size_t n;
};

#define STORE_WHERE_MAX_BINDS 64

struct store_where {
	char sql[4096]; /* " FROM objects o WHERE ..." */
	size_t len;
	struct store_bindv v[STORE_WHERE_MAX_BINDS]; /* placeholder i + 1 is v[i] */
	int n;
	bool overflow; /* too many filters: ERR_TOO_LARGE */
	char ph;       /* '?' (SQLite) or '$' (PostgreSQL) */
};

void store_where_build(struct store_where *w, const struct store_query *q, char ph);

/* ---- sealing (store/seal.c: the only file that sees plaintext at rest) ---- */

#define STORE_KEK_LEN 32
#define STORE_SEAL_VERSION 1
#define STORE_SEALED_MAX (STORE_MATERIAL_MAX + 64)

struct store_seal; /* the KEK, in secure memory */

/* seal_open loads the KEK named by |spec| ("file:PATH" or "hsm:LABEL")
 * and checks it against the database's check value (creating both on a
 * new database). */
err_t seal_open(const char *spec, struct hsm *hsm, const struct store_backend_ops *ops,
		struct store_backend *b, const char *db_path, struct store_seal **out,
		char *errbuf, size_t errlen);
void seal_close(struct store_seal *s);

/* seal_material seals |in| for object |id| of |type| into |out| (at least
 * in_len + STORE_SEAL_OVERHEAD) and writes its SHA-256 to |digest|. */
#define STORE_SEAL_OVERHEAD (1 + 28)
err_t seal_material(const struct store_seal *s, const char *id, uint32_t type,
		    const uint8_t *in, size_t in_len, uint8_t *out, size_t cap, size_t *out_len,
		    uint8_t digest[STORE_DIGEST_LEN]);
/* seal_unseal opens a sealed record into new secure memory (*out,
 * *out_len; secmem_free(*out, *out_len)). ERR_STORE_SEAL on any failure. */
err_t seal_unseal(const struct store_seal *s, const char *id, uint32_t type,
		  const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len);
/* seal_check opens a sealed record and compares its digest. */
err_t seal_check(const struct store_seal *s, const struct store_row *row, const uint8_t *in,
		 size_t in_len);

/* ---- backups (seal.c: the KEK's part of them) ---- */

/* The meta rows a backup carries: what loading the KEK needs (its check
 * value; for hsm:LABEL the wrapped data key; the kek spec it was made
 * with, for messages). NULL-terminated. */
extern const char *const seal_meta_names[];

struct seal_meta {
	const char *key;
	const uint8_t *value;
	size_t len;
};

/* seal_open_backup loads the KEK |spec| names the way seal_open does, but
 * checks it against a backup's meta rows |m| (|n| of them) instead of a
 * database's, and never creates a KEK file or data key: file:PATH must
 * exist; for hsm:LABEL the backup's wrapped data key is unwrapped by the
 * HSM's key LABEL. ERR_STORE_KEK (|errbuf| says which kek the backup was
 * made with) when the backup's check value does not open under it,
 * ERR_STORE_BACKUP when the meta rows lack a check value. */
err_t seal_open_backup(const char *spec, struct hsm *hsm, const struct seal_meta *m, size_t n,
		       struct store_seal **out, char *errbuf, size_t errlen) MUST_CHECK;

/* seal_backup_mac starts the HMAC-SHA-256 over a backup file: its key is
 * derived from the KEK and the file's |nonce| (SP 800-108r1 §4.1, KDF in
 * counter mode, HMAC-SHA-256 as the PRF, one block: a different MAC key
 * for every file, and never the KEK itself). */
#define SEAL_BACKUP_NONCE_LEN 32
struct keygen_hmac;
err_t seal_backup_mac(const struct store_seal *s, const uint8_t nonce[SEAL_BACKUP_NONCE_LEN],
		      struct keygen_hmac **out) MUST_CHECK;

/* store_backup_parse_for_fuzzing runs import's first pass (every check,
 * the MAC; no database) over |fd| with the KEK |kek| (file:PATH) and
 * says how many records it read before it stopped (fuzz/fuzz_backup.c). */
err_t store_backup_parse_for_fuzzing(int fd, const char *kek, uint64_t *objects, uint64_t *attrs,
				     uint64_t *access) MUST_CHECK;

/* ---- shared helpers (store/object.c) ---- */
int64_t store_now(void);

/* the access log's last seq as sweeps saw it, one a second at most
 * (store/lease.c): the fold goes as far as the one seen a commit lag ago */
#define STORE_LEASE_SIGHTINGS 64
struct store {
	const struct store_backend_ops *ops;
	struct store_backend *b;
	struct store_seal *seal;
	pthread_mutex_t lease_mu;
	struct {
		int64_t time;
		uint64_t seq;
	} seen[STORE_LEASE_SIGHTINGS];
	unsigned n_seen, next_seen;
};

/* store_backend_open opens the backend |o| names (the table's ->open with
 * |o|'s batch and reader settings), as store_open does before it loads the
 * KEK. */
err_t store_backend_open(const struct store_options *o, const struct store_backend_ops **ops,
			 struct store_backend **out, char *errbuf, size_t errlen) MUST_CHECK;

/* store_name_claim claims the Name instance |a| of object |id| for
 * |tenant| (KMIP 1.4 §3.2) when |a| is one; ERR_OK and nothing done
 * otherwise. ERR_STORE_NAME_TAKEN as txn_name_claim. */
err_t store_name_claim(const struct store_backend_ops *ops, struct store_txn *t, const char *tenant,
		       const char *id, const struct store_attr *a) MUST_CHECK;
/* store_attr_valid checks an attribute as stored (name, type, value and
 * search text within bounds; integers 8 bytes; text without NUL); managed
 * names are allowed. */
err_t store_attr_valid(const struct store_attr *a) MUST_CHECK;

#endif /* FOUNT_STORE_INTERNAL_H */
