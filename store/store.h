/* store/store.h — the one public header of store/: the durable, sealed
 * store of managed objects (keys, certificates, secret data) that the
 * KMIP and HTTP operation layer (api/) works on.
 *
 * A managed object has a unique identifier the store assigns (a UUID v4
 * drawn from the DRBG), an owner tenant, the fixed KMIP attributes kept as
 * columns (object type, state, algorithm, length, usage mask, key format,
 * the lifecycle dates, the SHA-256 digest of its key material) and any
 * number of other attributes, each (name, index, TTLV type, value bytes),
 * multi-instance by index. The numbers of enum store_* are KMIP's (KMIP
 * 1.4 §9.1.3.2), so api/ passes them through unchanged.
 *
 * Durability: every write (put, attribute and state changes, access
 * records) returns only after its transaction committed with
 * synchronous=FULL. Writers from many threads share one transaction and
 * one fsync (group commit); each still gets its own result. Reads never
 * wait for the writer.
 *
 * Key material is sealed with AES-256-GCM under the store's KEK before it
 * reaches the database, with the identifier and object type as associated
 * data; get_material opens it into secure memory. Nothing else in the API
 * returns plaintext key material.
 *
 * Tenants: every call names the caller's tenant; another tenant's object
 * is ERR_STORE_NOT_FOUND, exactly as an unknown identifier is, unless the
 * call carries STORE_F_ADMIN. Dates are seconds since the Unix epoch
 * (KMIP Date-Time); 0 means "not set". */
#ifndef FOUNT_STORE_STORE_H
#define FOUNT_STORE_STORE_H

#include "util/util.h"

struct hsm; /* hsm/hsm.h */
struct store;

#define STORE_ID_MAX 64        /* identifier bytes, without the NUL */
#define STORE_TENANT_MAX 255   /* tenant name bytes */
#define STORE_ATTR_NAME_MAX 255
#define STORE_ATTR_VALUE_MAX 65536
#define STORE_ATTRS_MAX 1024   /* attributes per object */
#define STORE_MATERIAL_MAX 65536
#define STORE_DIGEST_LEN 32
#define STORE_FINGERPRINT_LEN 32
#define STORE_ALL_INDEXES UINT32_MAX /* store_attr_delete: every instance */

/* KMIP Object Type (1.4 §9.1.3.2.12) */
enum store_object_type {
	STORE_OBJ_CERTIFICATE = 1,
	STORE_OBJ_SYMMETRIC_KEY = 2,
	STORE_OBJ_PUBLIC_KEY = 3,
	STORE_OBJ_PRIVATE_KEY = 4,
	STORE_OBJ_SPLIT_KEY = 5,
	STORE_OBJ_TEMPLATE = 6,
	STORE_OBJ_SECRET_DATA = 7,
	STORE_OBJ_OPAQUE = 8,
};

/* KMIP State (1.4 §3.22, §9.1.3.2.17) */
enum store_state {
	STORE_STATE_PRE_ACTIVE = 1,
	STORE_STATE_ACTIVE = 2,
	STORE_STATE_DEACTIVATED = 3,
	STORE_STATE_COMPROMISED = 4,
	STORE_STATE_DESTROYED = 5,
	STORE_STATE_DESTROYED_COMPROMISED = 6,
};

/* KMIP Cryptographic Algorithm (1.4 §9.1.3.2.13), the ones fount makes */
enum store_alg {
	STORE_ALG_DES = 1,
	STORE_ALG_3DES = 2,
	STORE_ALG_AES = 3,
	STORE_ALG_RSA = 4,
	STORE_ALG_DSA = 5,
	STORE_ALG_ECDSA = 6,
	STORE_ALG_HMAC_SHA1 = 7,
	STORE_ALG_HMAC_SHA224 = 8,
	STORE_ALG_HMAC_SHA256 = 9,
	STORE_ALG_HMAC_SHA384 = 10,
	STORE_ALG_HMAC_SHA512 = 11,
	STORE_ALG_HMAC_MD5 = 12,
	STORE_ALG_DH = 13,
	STORE_ALG_ECDH = 14,
	STORE_ALG_EC = 26,
};

/* KMIP Key Format Type (1.4 §9.1.3.2.3), the common ones */
enum store_key_format {
	STORE_FMT_RAW = 1,
	STORE_FMT_OPAQUE = 2,
	STORE_FMT_PKCS1 = 3,
	STORE_FMT_PKCS8 = 4,
	STORE_FMT_X509 = 5,
	STORE_FMT_EC_PRIVATE_KEY = 6,
	STORE_FMT_TRANSPARENT_SYMMETRIC = 7,
};

/* KMIP Revocation Reason Code (1.4 §9.1.3.2.19) */
enum store_revocation_reason {
	STORE_REVOKE_UNSPECIFIED = 1,
	STORE_REVOKE_KEY_COMPROMISE = 2,
	STORE_REVOKE_CA_COMPROMISE = 3,
	STORE_REVOKE_AFFILIATION_CHANGED = 4,
	STORE_REVOKE_SUPERSEDED = 5,
	STORE_REVOKE_CESSATION_OF_OPERATION = 6,
	STORE_REVOKE_PRIVILEGE_WITHDRAWN = 7,
};

/* TTLV item types (KMIP 1.4 §9.1.1.2): an attribute value's type.
 * Integer, Long Integer, Enumeration, Boolean, Date-Time and Interval
 * values are 8 bytes big-endian (store_attr_int / store_attr_get_int);
 * Text String and Byte String are their bytes; Big Integer its
 * two's-complement big-endian bytes; a Structure its TTLV encoding, as the
 * caller gives it. */
enum store_value_type {
	STORE_V_STRUCTURE = 1,
	STORE_V_INTEGER = 2,
	STORE_V_LONG_INTEGER = 3,
	STORE_V_BIG_INTEGER = 4,
	STORE_V_ENUMERATION = 5,
	STORE_V_BOOLEAN = 6,
	STORE_V_TEXT = 7,
	STORE_V_BYTES = 8,
	STORE_V_DATE_TIME = 9,
	STORE_V_INTERVAL = 10,
};

/* One attribute instance. |search| is the text find() matches for Name
 * and Object Group: for a Text String value leave it NULL (the value is
 * the text); for a Name structure give its Name Value. */
struct store_attr {
	const char *name;
	uint32_t index;
	uint8_t type;           /* enum store_value_type */
	const uint8_t *value;
	size_t value_len;
	const char *search;     /* may be NULL */
	uint8_t int_buf_[8];    /* store_attr_int keeps the encoding here */
};

/* store_attr_int fills |a| with an 8-byte big-endian integer value of
 * |type| (|a| must not move afterwards: value points into it). */
void store_attr_int(struct store_attr *a, const char *name, uint32_t index, uint8_t type,
		    int64_t v) NONNULL(1, 2);
/* store_attr_text fills |a| with a Text String value (the search text). */
void store_attr_text(struct store_attr *a, const char *name, uint32_t index,
		     const char *text) NONNULL(1, 2, 4);
/* store_attr_get_int decodes an 8-byte integer value; ERR_PARSE otherwise. */
err_t store_attr_get_int(const struct store_attr *a, int64_t *out) MUST_CHECK NONNULL(1, 2);

/* Attribute names the server manages (the fixed columns and what the
 * lifecycle sets): changing them through the attribute calls is
 * ERR_STORE_MANAGED_ATTR. store_attr_is_managed says whether |name| is one;
 * store_attr_is_multi whether it may have several instances (Name, Object
 * Group, Link, Application Specific Information, Alternative Name,
 * Cryptographic Parameters, Key Value Location, x-* and y-*). */
bool store_attr_is_managed(const char *name) NONNULL(1);
bool store_attr_is_multi(const char *name) NONNULL(1);

/* Protection bits of an object (KMIP 1.4 §3.34 Fresh, §3.48 Sensitive,
 * §3.49 Always Sensitive, §3.50 Extractable, §3.51 Never Extractable).
 * Fresh is set at put and cleared by the first store_serve_material.
 * Sensitive only goes false -> true and Extractable only true -> false
 * (store_set_protection), so Always Sensitive and Never Extractable are
 * what the object was made with and never change. */
#define STORE_P_FRESH 0x1u
#define STORE_P_SENSITIVE 0x2u
#define STORE_P_ALWAYS_SENSITIVE 0x4u
#define STORE_P_EXTRACTABLE 0x8u
#define STORE_P_NEVER_EXTRACTABLE 0x10u

/* A managed object as get() returns it. */
struct store_object {
	char id[STORE_ID_MAX + 1];
	char tenant[STORE_TENANT_MAX + 1];
	uint32_t type;          /* enum store_object_type */
	uint32_t state;         /* enum store_state */
	uint32_t alg;           /* enum store_alg, 0 = none */
	uint32_t length;        /* bits, 0 = none */
	uint32_t usage_mask;    /* KMIP Cryptographic Usage Mask, may be 0 */
	uint32_t key_format;    /* enum store_key_format, 0 = none */
	uint32_t data_type;     /* Secret Data Type, Opaque Data Type or Certificate Type
				 * (KMIP 1.4 §2.2.3-2.2.8), 0 = none */
	uint32_t revocation_reason; /* enum store_revocation_reason, 0 = not revoked */
	int64_t initial_date, activation_date, deactivation_date, destroy_date,
		compromise_date, compromise_occurrence_date, last_change_date,
		original_creation_date;
	bool has_material;      /* false once destroyed, or if none was put */
	uint32_t protection;    /* STORE_P_* */
	bool has_digest;
	uint8_t digest[STORE_DIGEST_LEN]; /* SHA-256 of the key material as put */
	struct store_attr *attrs; /* by name, then index */
	size_t n_attrs;
	void *mem_;             /* owns attrs' strings; store_object_free */
};
/* store_object_free frees |o|'s attributes (not |o|). */
void store_object_free(struct store_object *o);

/* ---- open and close ----------------------------------------------------- */

struct store_options {
	const char *path;      /* database file, e.g. cfg->store_path */
	const char *kek;       /* "file:PATH" or "hsm:LABEL", e.g. cfg->store_kek */
	struct hsm *hsm;       /* the open HSM for hsm:LABEL, else NULL */
	unsigned max_batch;    /* requests per group commit; 0 = 128 */
	unsigned max_wait_us;  /* how long a batch waits for company; 0 = only when
				* the last batch had 4 or more requests, for as
				* many, up to 200 us */
	unsigned readers;      /* reader connections; 0 = STORE_READERS_DEFAULT */
	/* PostgreSQL instead of SQLite (path is then not used): a libpq
	 * connection URI or keyword string, without a password */
	const char *url;           /* e.g. cfg->store_url; NULL or "" = SQLite */
	const char *password_file; /* e.g. cfg->store_password_file, or NULL */
	unsigned timeout_ms;       /* PostgreSQL: a request's deadline; 0 = 5000 */
	/* run the database's structural check (store_quick_check) before
	 * store_open returns, and refuse a damaged one: `fount serve` */
	bool check;
};

#define STORE_READERS_DEFAULT 4

/* What the SQLite backend keeps in memory, whatever the store's size: a
 * page cache of at most STORE_SQLITE_CACHE_KIB per connection (the writer,
 * the checkpointer and each reader), nothing memory-mapped (mmap_size 0: the database's
 * pages are read into those caches, never mapped into the process). A
 * reader's cache is emptied whenever another connection has committed, so
 * in practice the writer's fills and the readers' hold what a read needs.
 * The -wal file goes back to at most STORE_SQLITE_WAL_KEEP_BYTES each time
 * SQLite starts it over, however far a long read (a backup) let it grow. */
#define STORE_SQLITE_CACHE_KIB 2048u
#define STORE_SQLITE_WAL_KEEP_BYTES (16u << 20)

/* store_state_dir_ensure creates |dir| (and missing parents) with mode
 * 0700 when missing. ERR_IO (message in |errbuf|) if it cannot. */
err_t store_state_dir_ensure(const char *dir, char *errbuf, size_t errlen) MUST_CHECK
	NONNULL(1);

/* store_open opens (creating, or migrating to the current schema) the
 * database |o->path| (its folder made 0700 when missing) and loads the KEK: for file:PATH the 32-byte file,
 * created 0600 from drbg_generate_pr when missing and refused when its
 * mode is wider than 0600 or its size is not 32; for hsm:LABEL a 256-bit
 * data key created once, kept in the database wrapped by the HSM's KEK
 * LABEL (hsm_kek_wrap) and unwrapped into secure memory here. A database
 * sealed under another KEK is ERR_STORE_KEK; one whose schema is newer
 * than this code ERR_STORE_SCHEMA. With o->check, a database that fails
 * store_quick_check is ERR_STORE_CORRUPT. A damaged database (found by
 * the check or by reading it) gets one line that names the remedy:
 * `fount store verify`, then `fount store import` of a backup. On failure
 * |errbuf| gets one line that says what and where. Requires keygen_init
 * and an OPERATIONAL module.
 * Never fork() with a store open. */
err_t store_open(const struct store_options *o, struct store **out, char *errbuf,
		 size_t errlen) MUST_CHECK NONNULL(1, 2);
/* store_close finishes pending writes, stops the writer, closes the
 * database and wipes the KEK. Does nothing on NULL. */
void store_close(struct store *s);
/* store_location names where the objects are: the database file, or the
 * PostgreSQL host and database (never a password) */
const char *store_location(const struct store *s) NONNULL(1);

/* ---- objects --------------------------------------------------------------- */

#define STORE_F_ADMIN 0x1u /* skip the tenant check (administrators) */
/* store_get: the object's row alone, no attributes (n_attrs 0) and
 * has_material not looked up (false): a KMIP Get needs only the fixed
 * columns, and the attribute rows are most of what a read costs */
#define STORE_F_ROW_ONLY 0x2u

struct store_new_object {
	const char *tenant;
	uint32_t type, alg, length, usage_mask, key_format;
	uint32_t data_type;             /* Secret Data / Opaque Data / Certificate Type, or 0 */
	int64_t activation_date;        /* 0: start Pre-Active; <= now: start Active */
	int64_t original_creation_date; /* 0: now (Register may give the original) */
	int64_t deactivation_date;      /* 0: none (Re-key carries the old key's over) */
	bool sensitive;                 /* KMIP 1.4 §3.48; default false */
	bool not_extractable;           /* KMIP 1.4 §3.50 Extractable false; default extractable */
	const struct store_attr *attrs; /* other attributes; unmanaged names only, and
					 * the Random Number Generator (kept, never changed) */
	size_t n_attrs;
	const uint8_t *material;        /* key material (plaintext), may be NULL */
	size_t material_len;
	/* the identifier to use, from store_new_id (store_put_many, where the
	 * objects link to each other); NULL: store_put draws a new one */
	const char *id;
};

/* store_put creates an object with its attributes and sealed key material
 * in one transaction and writes its new identifier to |id_out| once the
 * commit is durable. ERR_STORE_MANAGED_ATTR for a managed attribute name,
 * ERR_INVALID_ARG for a duplicate (name, index), an unknown type or
 * oversized input; ERR_STORE_NAME_TAKEN when a Name (its search text) is
 * already another live object's of the tenant (KMIP 1.4 §3.2: Names are
 * unique within a key management domain; store_attr_add and _modify
 * refuse the same way, and destroying an object releases its Names); ERR_STORE_FULL, ERR_STORE_IO, ERR_STORE_COMMIT_UNKNOWN
 * from the database. */
err_t store_put(struct store *s, const struct store_new_object *n,
		char id_out[STORE_ID_MAX + 1]) MUST_CHECK NONNULL(1, 2, 3);

/* store_new_id writes a fresh identifier (a UUID v4 from the DRBG) for a
 * store_new_object's |id|: objects that name each other in their Links
 * need their identifiers before they are put. */
err_t store_new_id(char out[STORE_ID_MAX + 1]) MUST_CHECK NONNULL(1);

/* A change to an existing object made in the same transaction as
 * store_put_many's new objects: add |add| (a multi-instance attribute gets
 * the next free index), then delete every instance of |delete_name|
 * (none is fine). Either may be NULL. The object must be visible to
 * |tenant| (or |flags| has STORE_F_ADMIN) and not destroyed. */
struct store_put_change {
	const char *id;
	const char *tenant;
	unsigned flags;
	const struct store_attr *add;
	const char *delete_name;
	const char *replaced_by; /* a re-key: the new object's id (a "rekey" event); NULL: none */
};

/* store_put_many puts |n_objs| new objects and makes |n_changes| changes
 * to existing ones in one transaction: all of it is durable, or nothing
 * is (a key pair is never half stored; a replacement key and the Link on
 * the key it replaces come together). Objects with an |id| keep it (from
 * store_new_id); the others get a new one. ids_out[i] is objs[i]'s
 * identifier once the commit is durable. The errors of store_put, and
 * for a change those of store_attr_add/delete plus ERR_STORE_DESTROYED. */
#define STORE_PUT_MANY_MAX 8
err_t store_put_many(struct store *s, const struct store_new_object *objs, size_t n_objs,
		     const struct store_put_change *changes, size_t n_changes,
		     char (*ids_out)[STORE_ID_MAX + 1]) MUST_CHECK NONNULL(1, 2, 6);

/* store_get fills |out| (free with store_object_free). */
err_t store_get(struct store *s, const char *id, const char *tenant, unsigned flags,
		struct store_object *out) MUST_CHECK NONNULL(1, 2, 3, 5);

/* store_get_material opens the object's key material into secure memory:
 * *out (free with secmem_free(*out, *out_len)). ERR_STORE_DESTROYED for a
 * destroyed object, ERR_STORE_SEAL if the sealed record fails to open
 * (tampered, or copied from another identifier). An object put without
 * material gives ERR_OK with *out NULL and *out_len 0. */
err_t store_get_material(struct store *s, const char *id, const char *tenant, unsigned flags,
			 uint8_t **out, size_t *out_len) MUST_CHECK NONNULL(1, 2, 3, 5, 6);

/* How store_serve_material hands material out. */
enum store_serve {
	STORE_SERVE_PLAIN = 1,   /* to the client in plaintext: needs Extractable and not Sensitive */
	STORE_SERVE_WRAPPED = 2, /* to the client wrapped under another key: needs Extractable */
};

/* store_serve_material is store_get_material for material that leaves
 * the server: in one transaction it checks the object's protection
 * against |how| (ERR_STORE_PROTECTED, nothing returned), appends the
 * access record (as store_record_access) with the lease it grants, and
 * clears Fresh (KMIP 1.4 §3.34); the material is returned only once that
 * is durable. The lease: |lease| seconds from now for an object that
 * store_state_leases (Pre-Active, Active), none otherwise; *lease_end
 * (may be NULL) gets its end, 0 for none. */
err_t store_serve_material(struct store *s, const char *id, const char *tenant, unsigned flags,
			   const uint8_t fingerprint[STORE_FINGERPRINT_LEN], const char *operation,
			   enum store_serve how, uint32_t lease, uint8_t **out, size_t *out_len,
			   int64_t *lease_end) MUST_CHECK NONNULL(1, 2, 3, 5, 6, 9, 10);

/* store_state_leases: an object in |state| may be leased (Pre-Active and
 * Active; a revoked, compromised or destroyed key grants no lease). */
bool store_state_leases(uint32_t state);

/* store_obtain_lease renews |tenant|'s lease of |id| (KMIP 1.4 §4.20
 * Obtain Lease): an access record |operation| with a lease of |lease|
 * seconds from now, durable before it returns; *lease_end gets its end and
 * *last_change the object's Last Change Date. ERR_STORE_NOT_FOUND as
 * store_get, ERR_STORE_DESTROYED, ERR_STORE_STATE when the object's state
 * grants none (nothing recorded then). */
err_t store_obtain_lease(struct store *s, const char *id, const char *tenant, unsigned flags,
			 const uint8_t fingerprint[STORE_FINGERPRINT_LEN], const char *operation, uint32_t lease,
			 int64_t *lease_end, int64_t *last_change) MUST_CHECK NONNULL(1, 2, 3, 5, 6, 8, 9);

/* store_set_protection makes an object Sensitive (|sensitive|) and/or not
 * Extractable (|not_extractable|); false leaves that bit as it is: neither
 * can be undone (KMIP 1.4 §3.49, §3.51 stay true only for an object that
 * was always so). Last Change Date updated. */
err_t store_set_protection(struct store *s, const char *id, const char *tenant, unsigned flags,
			   bool sensitive, bool not_extractable) MUST_CHECK NONNULL(1, 2, 3);

/* ---- attributes (each durable before return, Last Change Date updated) ---- */

/* store_attr_add adds |a| (a->index ignored): a multi-instance attribute
 * gets the next free index, written to *index_out (may be NULL); a
 * single-valued one that exists is ERR_STORE_ATTR_EXISTS. */
err_t store_attr_add(struct store *s, const char *id, const char *tenant, unsigned flags,
		     const struct store_attr *a, uint32_t *index_out) MUST_CHECK NONNULL(1, 2, 3, 5);
/* store_attr_modify replaces the value (and type) of (a->name, a->index).
 * ERR_STORE_ATTR_NOT_FOUND if there is no such instance. */
err_t store_attr_modify(struct store *s, const char *id, const char *tenant, unsigned flags,
			const struct store_attr *a) MUST_CHECK NONNULL(1, 2, 3, 5);
/* store_attr_delete removes (name, index), or every instance with
 * STORE_ALL_INDEXES. ERR_STORE_ATTR_NOT_FOUND if nothing matched. */
err_t store_attr_delete(struct store *s, const char *id, const char *tenant, unsigned flags,
			const char *name, uint32_t index) MUST_CHECK NONNULL(1, 2, 3, 5);

/* ---- lifecycle (KMIP 1.4 §3.22) -------------------------------------------
 * Wrong transitions are ERR_STORE_STATE; all are durable before return. */

/* store_activate: Pre-Active -> Active, sets the Activation Date. */
err_t store_activate(struct store *s, const char *id, const char *tenant,
		     unsigned flags) MUST_CHECK NONNULL(1, 2, 3);
/* store_revoke: with Key Compromise or CA Compromise, any state ->
 * Compromised (Destroyed -> Destroyed Compromised), Compromise Date now,
 * Compromise Occurrence Date |occurred| (0: now); with any other reason
 * Pre-Active or Active -> Deactivated (Deactivation Date now). */
err_t store_revoke(struct store *s, const char *id, const char *tenant, unsigned flags,
		   uint32_t reason, int64_t occurred) MUST_CHECK NONNULL(1, 2, 3);
/* store_destroy: Pre-Active or Deactivated -> Destroyed, Compromised ->
 * Destroyed Compromised, Destroy Date now; the sealed key material is
 * overwritten and deleted (secure_delete), the attributes stay.
 * ERR_STORE_ACTIVE for an Active object, ERR_STORE_DESTROYED for one
 * already destroyed. */
err_t store_destroy(struct store *s, const char *id, const char *tenant,
		    unsigned flags) MUST_CHECK NONNULL(1, 2, 3);

/* store_set_activation_date sets a Pre-Active object's Activation Date
 * (KMIP 1.4 §3.24: changeable only while Pre-Active); a date now or past
 * makes it Active. ERR_STORE_STATE in any other state. */
err_t store_set_activation_date(struct store *s, const char *id, const char *tenant, unsigned flags,
				int64_t date) MUST_CHECK NONNULL(1, 2, 3);

/* ---- find (KMIP Locate) ------------------------------------------------------ */

struct store_query {
	const char *tenant;          /* required unless flags has STORE_F_ADMIN */
	unsigned flags;
	uint32_t type, state, alg, length; /* 0 = any; state 0 hides destroyed objects */
	uint32_t usage_mask;         /* objects whose mask has all these bits; 0 = any */
	const char *name;            /* exact Name (its search text), or NULL */
	const char *group;           /* exact Object Group, or NULL */
	const struct store_attr *custom; /* attributes that must be equal (name, type, value) */
	size_t n_custom;
	int64_t initial_from, initial_to;       /* inclusive, 0 = open */
	int64_t activation_from, activation_to; /* inclusive, 0 = open */
	uint64_t offset;             /* skip this many matches */
	uint32_t max_items;          /* 0 (or above STORE_FIND_MAX) = STORE_FIND_MAX */
};

/* The most identifiers one find returns, whatever max_items asks: a Locate
 * with no filter matches the whole store, and its answer (and the list
 * the backend builds for it) must not grow with it. total still counts
 * every match, so a client pages with an offset (KMIP Located Items). As
 * Cosmian KMS caps a Locate (1000) and HTTP's GET /v1/keys a page. */
#define STORE_FIND_MAX 1000u

struct store_found {
	char (*ids)[STORE_ID_MAX + 1];
	size_t n;                    /* identifiers returned */
	uint64_t total;              /* matches before offset and max_items */
};
/* store_find returns the matching identifiers ordered by creation time,
 * then identifier. Free |out| with store_found_free. */
err_t store_find(struct store *s, const struct store_query *q, struct store_found *out)
	MUST_CHECK NONNULL(1, 2, 3);
void store_found_free(struct store_found *f);

/* ---- key-material access log ---------------------------------------------------- */

/* store_record_access appends (id, tenant, certificate fingerprint,
 * operation, time (0: now)) to the append-only access log, sharing the
 * group commit. */
err_t store_record_access(struct store *s, const char *id, const char *tenant,
			  const uint8_t fingerprint[STORE_FINGERPRINT_LEN], const char *operation,
			  int64_t time) MUST_CHECK NONNULL(1, 2, 3, 4, 5);
/* store_take_material is store_get_material and store_record_access in
 * one write transaction of the group commit: the row is checked (tenant,
 * not destroyed), the sealed material read and the access appended
 * together, on the writer's connection (whose page cache the commits of
 * others do not drop, so a Get re-reads no page), and the material is
 * opened only once that commit is durable. The errors of both; nothing
 * is recorded when the row check fails. */
err_t store_take_material(struct store *s, const char *id, const char *tenant, unsigned flags,
			  const uint8_t fingerprint[STORE_FINGERPRINT_LEN], const char *operation,
			  uint8_t **out, size_t *out_len) MUST_CHECK NONNULL(1, 2, 3, 5, 6, 7, 8);
/* Holders: who got an object's key material (Get, wrapped Get over KMIP
 * and HTTP: STORE_HOLDER_OPERATIONS; Encrypt/Decrypt use a key without it
 * leaving), one entry per (object, tenant, certificate) from the access
 * log: the first and the last time (Unix seconds), how many times, the
 * end of the latest lease (a Get's or a renewal's) and whether it still
 * runs: not yet ended, and the object in a state that leases. */
#define STORE_HOLDERS_MAX 10000 /* entries one answer holds at most */
struct store_holder {
	char id[STORE_ID_MAX + 1];
	char tenant[STORE_TENANT_MAX + 1];
	uint8_t fingerprint[STORE_FINGERPRINT_LEN];
	int64_t first, last;
	uint64_t count;
	int64_t lease_end; /* 0: never leased */
	uint32_t state;    /* the object's, now */
	bool leased;
};
struct store_holders {
	struct store_holder *h; /* by first access, then tenant, certificate */
	size_t n;
	bool truncated; /* more than STORE_HOLDERS_MAX matched */
};
/* store_holders_of lists the holders of |id|, an object |tenant| owns (any,
 * with STORE_F_ADMIN): ERR_STORE_NOT_FOUND otherwise. A destroyed object
 * keeps its holders (they may still have the key). It reads the access
 * log, which has no index by object (schema 5, sqlite.c): one scan. */
err_t store_holders_of(struct store *s, const char *id, const char *tenant, unsigned flags,
		       struct store_holders *out) MUST_CHECK NONNULL(1, 2, 3, 5);
/* store_held_by lists the objects whose material |tenant|'s certificates
 * got, one entry per (object, certificate). */
err_t store_held_by(struct store *s, const char *tenant, struct store_holders *out) MUST_CHECK NONNULL(1, 2, 3);
void store_holders_free(struct store_holders *h);

/* Events: every state change of an object (activate, revoke, compromise,
 * destroy) and every re-key (old id -> new id), stored in the transaction
 * that makes the change, numbered in commit order (seq, from 1, gaps
 * allowed), so they survive a restart and every node of a PostgreSQL set-up
 * reads the same sequence; and the end of each lease (store_leases_sweep).
 * A tenant sees the events of the objects it owns and of those its
 * certificates got the material of (the holders), but a lease's end only
 * when the key or the lease is its own. */
#define STORE_EVENTS_MAX 1000 /* events one read returns at most */
struct store_event {
	uint64_t seq;
	int64_t time;
	char kind[16]; /* "activate", "revoke", "compromise", "destroy", "rekey", "lease_end" */
	char id[STORE_ID_MAX + 1];
	char new_id[STORE_ID_MAX + 1]; /* rekey: the replacement; else "" */
	char tenant[STORE_TENANT_MAX + 1]; /* the object's owner */
	uint32_t state; /* the object's state after the change */
	/* lease_end: whose lease ended (tenant and certificate); else "" */
	char holder[STORE_TENANT_MAX + 1];
	uint8_t holder_fp[STORE_FINGERPRINT_LEN];
};
struct store_events {
	struct store_event *e;
	size_t n;
	bool more; /* more than max followed */
};
/* store_events_after reads the events after |after| that |tenant| may see
 * (every one with STORE_F_ADMIN), at most |max| (<= STORE_EVENTS_MAX), by
 * seq. Free with store_events_free. */
err_t store_events_after(struct store *s, const char *tenant, unsigned flags, uint64_t after, size_t max,
			 struct store_events *out) MUST_CHECK NONNULL(1, 2, 6);
void store_events_free(struct store_events *e);
/* store_events_latest: the seq of the last committed event (0: none): one
 * lookup of the table's key, for those that wait for a new event */
err_t store_events_latest(struct store *s, uint64_t *out) MUST_CHECK NONNULL(1, 2);

/* store_leases_sweep records a "lease_end" event (time: the lease's end)
 * for every lease that has run out by |now| since the last sweep: per
 * object, tenant and certificate, the latest lease any Get or renewal
 * granted, unless the object has left the states that lease (its revoke,
 * compromise or destroy event said so already). Each end is recorded once,
 * also when several nodes sweep: their sweeps serialize. The access log is
 * folded into the leases table here, not by each Get (whose one write
 * stays an append): a lease granted on another node is seen once its
 * commit is surely visible, up to store_leases_lag seconds late, and a
 * lease is called ended only that long after its end. An open lease's
 * recorded end moves only when a new one passes it by more than 1/16 of
 * the new lease (a busy key is not rewritten at every sweep), so an end
 * may be told up to 1/15 of the lease's length late, never early, and the
 * event's time is the recorded end (the lease ran at least until then). A
 * sweep with nothing to do costs one read. *n: the events recorded. */
err_t store_leases_sweep(struct store *s, int64_t now, size_t *n) MUST_CHECK NONNULL(1, 3);
/* store_leases_lag: how long after a lease's end its event comes at the
 * latest, less the sweeps' period (0: SQLite; PostgreSQL: the longest a
 * request may run, [store] timeout_ms, and 2 s) */
unsigned store_leases_lag(const struct store *s) NONNULL(1);

/* store_access_count returns how many access records name |id| (tests). */
err_t store_access_count(struct store *s, const char *id, uint64_t *out) MUST_CHECK NONNULL(1, 2, 3);

/* ---- checks and numbers ------------------------------------------------------------ */

struct store_verify_result {
	uint64_t checked;            /* sealed records opened */
	uint64_t failed;
	char (*failed_ids)[STORE_ID_MAX + 1]; /* the first up to 1024 that failed */
	size_t n_failed_ids;
};
/* store_verify opens every sealed record and checks its digest. Free
 * |out| with store_verify_free. */
err_t store_verify(struct store *s, struct store_verify_result *out) MUST_CHECK NONNULL(1, 2);
void store_verify_free(struct store_verify_result *r);

/* ---- backup and restore (store/backup.c) ------------------------------------------------ */

struct store_backup_info {
	unsigned schema_version;     /* the file's */
	uint64_t objects, attrs, sealed, access; /* records in the file */
	/* export: sealed records that do not open under the KEK (exported
	 * as stored all the same) and the first of them */
	uint64_t unopenable;
	char first_unopenable[STORE_ID_MAX + 1];
	/* import: Name instances claimed; those left unclaimed because an
	 * older live object of the tenant has the name (as schema migration 2
	 * decides); and the result of the verification pass */
	uint64_t names, names_dup;
	uint64_t verified, verify_failed;
};

/* store_export writes a sealed backup of the whole store to |fd|: every
 * object row, its attributes and its sealed material exactly as stored
 * (still sealed under the KEK), the access log and the KEK's meta rows,
 * from one snapshot of the database, streamed (one row in memory at a
 * time), with an HMAC-SHA-256 over the whole file under a key derived
 * from the KEK. The format is described at the top of store/backup.c. The
 * caller makes the file (0600, atomically). ERR_IO when a write fails;
 * |errbuf| gets one line. */
err_t store_export(struct store *s, int fd, struct store_backup_info *out, char *errbuf,
		   size_t errlen) MUST_CHECK NONNULL(1, 3, 4);

/* store_import restores the backup in |fd| (a regular file: it is read
 * twice) into the empty store |o| names, opening it as store_open does
 * but loading the KEK against the backup's check value (the KEK o->kek
 * names must be the one the backup was made under; it is never created
 * here). The first pass checks the whole file (every length bounded
 * before use, record counts, the MAC) and writes nothing; the second
 * writes it in ONE transaction, checking the MAC again, and rolls it all
 * back if anything differs: a store gets the whole backup or nothing.
 * Then every sealed record is opened (store_verify) and the row counts
 * are compared with the file's. ERR_STORE_NOT_EMPTY when the store holds
 * objects or access records, ERR_STORE_BACKUP for a damaged, truncated
 * or foreign file, ERR_STORE_KEK for another KEK, ERR_STORE_SEAL when the
 * verification pass finds a record that does not open (the import is
 * committed then: *out says how many). */
err_t store_import(const struct store_options *o, int fd, struct store_backup_info *out, char *errbuf,
		   size_t errlen) MUST_CHECK NONNULL(1, 3, 4);

/* store_quick_check runs the backend's structural check of its database
 * (SQLite: PRAGMA quick_check). ERR_STORE_CORRUPT with the first finding
 * in |msg|; ERR_UNSUPPORTED when the backend has none. */
err_t store_quick_check(struct store *s, char *msg, size_t len) MUST_CHECK NONNULL(1, 2);

/* The upper bounds (seconds) of the commit latency histogram's buckets;
 * a last bucket counts the commits slower than the last bound. */
#define STORE_LATENCY_BUCKETS 12
extern const double store_latency_bounds[STORE_LATENCY_BUCKETS];

struct store_stats {
	uint64_t requests;   /* write requests answered */
	uint64_t commits;    /* COMMITs that succeeded (one fsync each) */
	uint64_t failed_commits;
	uint64_t max_batch;  /* largest batch committed */
	unsigned schema_version;
	/* how long each successful COMMIT took (its fsync), per bucket
	 * (not cumulative; [STORE_LATENCY_BUCKETS]: slower than the last
	 * bound), and their sum */
	uint64_t commit_buckets[STORE_LATENCY_BUCKETS + 1];
	uint64_t commit_ns;
	uint64_t db_bytes;   /* the database files on disk (with the WAL) */
	/* SQLite: WAL checkpoints that copied frames back, by the checkpointer
	 * thread beside the commits, and by the writer after a commit (the
	 * last few frames, or all of them while the disk is short of room) */
	uint64_t checkpoints_beside, checkpoints_writer;
	bool unavailable;    /* PostgreSQL: the last connection attempt failed */
	const char *backend; /* "sqlite" or "postgresql" */
};
void store_stats(struct store *s, struct store_stats *out) NONNULL(1, 2);

/* store_ping: whether the store can serve now. PostgreSQL: one round trip
 * on a reader connection, bounded by a second (ERR_STORE_UNAVAILABLE at
 * once while the reconnect back-off runs); SQLite: ERR_STORE_FULL while the
 * disk is under the store's reserve (reads go on), else ERR_OK. For health
 * checks; a caller polled by load balancers should not call it more than
 * about once a second. */
err_t store_ping(struct store *s) NONNULL(1);
/* store_backend_name: "sqlite" or "postgresql" */
const char *store_backend_name(const struct store *s) NONNULL(1);

/* store_schema_version is the schema this code writes. */
unsigned store_schema_version(void);

/* store_testing_extra_migration registers |sql| as a migration after the
 * last built-in one (NULL removes it): tests of the migration path only. */
void store_testing_extra_migration(const char *sql);

#endif /* FOUNT_STORE_STORE_H */
