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

typedef err_t (*store_apply_fn)(struct store_txn *t, void *ctx);
typedef err_t (*store_sealed_fn)(void *ctx, const struct store_row *row,
				 const uint8_t *sealed, size_t len);

/* the schema version both backends' migration lists reach */
#define STORE_SCHEMA_VERSION 5

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
				   const uint8_t *fp, const char *op, int64_t time);
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
	void (*stats)(struct store_backend *b, struct store_stats *out);
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

/* ---- shared helpers (store/object.c) ---- */
int64_t store_now(void);

#endif /* FOUNT_STORE_INTERNAL_H */
