/* store/object.c — managed objects: identifiers, tenants, attributes, the
 * KMIP 1.4 lifecycle (§3.22 and its transition table), and the public API
 * of store.h on top of a backend (store/internal.h).
 *
 * Every rule lives here, backend-neutral: a write is a function run inside
 * the backend's group-committed transaction, which loads the row, checks
 * the tenant and the state, and writes, so two writers never interleave
 * between the check and the write. Key material is sealed (seal.c) on the
 * caller's thread before the request is queued. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "keygen/keygen.h"
#include "store/internal.h"

int64_t store_now(void)
{
	return (int64_t)time(NULL);
}

static int64_t now_realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- attributes ------------------------------------------------------------ */

/* The attributes the server manages: the fixed columns and what the
 * lifecycle sets (KMIP 1.4 §3: "Modifiable by client: No"). */
static const char *const managed_attrs[] = {
	"Unique Identifier",
	"Object Type",
	"State",
	"Initial Date",
	"Last Change Date",
	"Digest",
	"Destroy Date",
	"Activation Date",
	"Deactivation Date",
	"Compromise Date",
	"Compromise Occurrence Date",
	"Revocation Reason",
	"Original Creation Date",
	"Cryptographic Algorithm",
	"Cryptographic Length",
	"Cryptographic Usage Mask",
	"Key Format Type",
	"Fresh",
	"Key Value Present",
	"Sensitive",
	"Always Sensitive",
	"Extractable",
	"Never Extractable",
	"Random Number Generator",
	"Lease Time",
};

static const char *const multi_attrs[] = {
	"Name", "Object Group", "Link", "Application Specific Information",
	"Alternative Name", "Cryptographic Parameters", "Key Value Location",
};

bool store_attr_is_managed(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(managed_attrs); i++)
		if (strcmp(name, managed_attrs[i]) == 0)
			return true;
	return false;
}

bool store_attr_is_multi(const char *name)
{
	if (strncmp(name, "x-", 2) == 0 || strncmp(name, "y-", 2) == 0)
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(multi_attrs); i++)
		if (strcmp(name, multi_attrs[i]) == 0)
			return true;
	return false;
}

void store_attr_int(struct store_attr *a, const char *name, uint32_t index, uint8_t type,
		    int64_t v)
{
	memset(a, 0, sizeof(*a));
	a->name = name;
	a->index = index;
	a->type = type;
	uint64_t u = (uint64_t)v;
	for (int i = 7; i >= 0; i--) {
		a->int_buf_[i] = (uint8_t)u;
		u >>= 8;
	}
	a->value = a->int_buf_;
	a->value_len = 8;
}

void store_attr_text(struct store_attr *a, const char *name, uint32_t index, const char *text)
{
	memset(a, 0, sizeof(*a));
	a->name = name;
	a->index = index;
	a->type = STORE_V_TEXT;
	a->value = (const uint8_t *)text;
	a->value_len = strlen(text);
}

err_t store_attr_get_int(const struct store_attr *a, int64_t *out)
{
	ENSURE(a->value_len == 8 && a->value != NULL, ERR_PARSE);
	uint64_t u = 0;
	for (int i = 0; i < 8; i++)
		u = u << 8 | a->value[i];
	*out = (int64_t)u;
	return ERR_OK;
}

static bool is_int_type(uint8_t t)
{
	return t == STORE_V_INTEGER || t == STORE_V_LONG_INTEGER || t == STORE_V_ENUMERATION ||
	       t == STORE_V_BOOLEAN || t == STORE_V_DATE_TIME || t == STORE_V_INTERVAL;
}

err_t store_attr_valid(const struct store_attr *a)
{
	ENSURE(a->name != NULL, ERR_INVALID_ARG);
	size_t nl = strlen(a->name);
	ENSURE(nl > 0 && nl <= STORE_ATTR_NAME_MAX, ERR_INVALID_ARG);
	ENSURE(a->type >= STORE_V_STRUCTURE && a->type <= STORE_V_INTERVAL, ERR_INVALID_ARG);
	ENSURE(a->value_len <= STORE_ATTR_VALUE_MAX, ERR_TOO_LARGE);
	ENSURE(a->value != NULL || a->value_len == 0, ERR_INVALID_ARG);
	ENSURE(!is_int_type(a->type) || a->value_len == 8, ERR_INVALID_ARG);
	if (a->type == STORE_V_TEXT)
		ENSURE(memchr(a->value, '\0', a->value_len) == NULL, ERR_INVALID_ARG);
	ENSURE(a->search == NULL || strnlen(a->search, STORE_ATTR_VALUE_MAX + 1) <= STORE_ATTR_VALUE_MAX,
	       ERR_TOO_LARGE);
	return ERR_OK;
}

/* attr_check validates an attribute from a caller (not its index). */
static err_t attr_check(const struct store_attr *a)
{
	GUARD(store_attr_valid(a));
	/* a Name is unique per tenant by its text: one the caller gave no
	 * search text for could not be claimed (KMIP 1.4 §3.2) */
	ENSURE(strcmp(a->name, "Name") != 0 || a->type == STORE_V_TEXT || a->search != NULL, ERR_INVALID_ARG);
	ENSURE(!store_attr_is_managed(a->name), ERR_STORE_MANAGED_ATTR);
	return ERR_OK;
}

static bool id_ok(const char *id)
{
	size_t n = strnlen(id, STORE_ID_MAX + 1);
	return n > 0 && n <= STORE_ID_MAX;
}

static bool tenant_ok(const char *t)
{
	size_t n = strnlen(t, STORE_TENANT_MAX + 1);
	return n > 0 && n <= STORE_TENANT_MAX;
}

/* visible: the tenant check. A foreign object is "not found". */
static err_t visible(const struct store_row *row, const char *tenant, unsigned flags)
{
	if (flags & STORE_F_ADMIN)
		return ERR_OK;
	return strcmp(row->tenant, tenant) == 0 ? ERR_OK : ERR_STORE_NOT_FOUND;
}

static bool is_destroyed(uint32_t state)
{
	return state == STORE_STATE_DESTROYED || state == STORE_STATE_DESTROYED_COMPROMISED;
}

/* ---- identifiers -------------------------------------------------------------- */

/* new_id writes a random UUID v4 (RFC 9562 §5.4) from the DRBG. */
static err_t new_id(char out[STORE_ID_MAX + 1])
{
	uint8_t u[16];
	GUARD(drbg_generate(u, sizeof(u)));
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
	char hex[33];
	hex_encode(hex, u, sizeof(u));
	snprintf(out, STORE_ID_MAX + 1, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12,
		 hex + 16, hex + 20);
	return ERR_OK;
}

/* ---- open and close -------------------------------------------------------------- */

err_t store_state_dir_ensure(const char *dir, char *errbuf, size_t errlen)
{
	char p[4096];
	size_t n = strlen(dir);
	ENSURE(n > 0 && n < sizeof(p), ERR_INVALID_ARG);
	memcpy(p, dir, n + 1);
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST) {
			if (errbuf != NULL && errlen)
				snprintf(errbuf, errlen, "store: cannot create %s: %s", p, strerror(errno));
			return ERR_IO;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	struct stat st;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		if (errbuf != NULL && errlen)
			snprintf(errbuf, errlen, "store: %s is not a directory", dir);
		return ERR_IO;
	}
	return ERR_OK;
}

/* parent_dir_ensure makes |path|'s folder (0700) when it is missing */
static err_t parent_dir_ensure(const char *path, char *errbuf, size_t errlen)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return ERR_OK;
	*slash = '\0';
	return store_state_dir_ensure(dir, errbuf, errlen);
}

err_t store_open(const struct store_options *o, struct store **out, char *errbuf, size_t errlen)
{
	char dummy[8];
	if (errbuf == NULL || errlen == 0) {
		errbuf = dummy;
		errlen = sizeof(dummy);
	}
	errbuf[0] = '\0';
	*out = NULL;
	bool pg = o->url != NULL && o->url[0] != '\0';
	if ((!pg && (o->path == NULL || o->path[0] == '\0')) || o->kek == NULL || o->kek[0] == '\0') {
		snprintf(errbuf, errlen, "store: [store] path (or url) and kek must be set");
		return ERR_CONFIG;
	}
	/* a KEK file's folder (normally [service] state_dir, which on SQLite
	 * also holds the database) is made 0700: on PostgreSQL it is the only
	 * file the store keeps */
	if (strncmp(o->kek, "file:", 5) == 0)
		GUARD(parent_dir_ensure(o->kek + 5, errbuf, errlen));
	struct store *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return ERR_NOMEM;
	pthread_mutex_init(&s->lease_mu, NULL);
	err_t r = store_backend_open(o, &s->ops, &s->b, errbuf, errlen);
	if (r == ERR_OK)
		r = seal_open(o->kek, o->hsm, s->ops, s->b, s->ops->where(s->b), &s->seal, errbuf, errlen);
	if (r == ERR_OK && o->check) {
		/* O(N) in the file: measured on a store of 100,000 objects (71 MB),
		 * 0.3 to 0.45 s with the file in the page cache, 1.6 s (with the
		 * open) read from disk after drop_caches; about the cost of reading
		 * the file once, paid at a start, where a damaged page found later
		 * would fail requests one by one */
		char finding[256];
		r = store_quick_check(s, finding, sizeof finding);
		if (r == ERR_UNSUPPORTED) /* PostgreSQL checks its own pages */
			r = ERR_OK;
		if (r == ERR_STORE_CORRUPT)
			snprintf(errbuf, errlen, "store: %s is damaged (PRAGMA quick_check: %s)", s->ops->where(s->b),
				 finding[0] ? finding : err_str(r));
		else if (r != ERR_OK)
			snprintf(errbuf, errlen, "store: cannot check %s: %s", s->ops->where(s->b),
				 finding[0] ? finding : err_str(r));
	}
	if (r == ERR_STORE_CORRUPT) {
		/* one line, and what to do: a finding of SQLite's check may
		 * span lines ("*** in database main ***\nPage 5: ...") */
		if (errbuf[0] == '\0')
			snprintf(errbuf, errlen, "store: cannot open %s: %s", pg ? "the PostgreSQL store" : o->path,
				 err_str(r));
		for (char *p = errbuf; *p != '\0'; p++)
			if (*p == '\n' || *p == '\r')
				*p = ' ';
		size_t l = strlen(errbuf);
		snprintf(errbuf + l, errlen - l,
			 ": run `fount store verify` to see what is damaged, and restore the store from a backup "
			 "(`fount store export`) with `fount store import` into an empty one");
	}
	if (r != ERR_OK) {
		if (errbuf[0] == '\0')
			snprintf(errbuf, errlen, "store: cannot open %s: %s",
				 o->url != NULL && o->url[0] ? "the PostgreSQL store" : o->path, err_str(r));
		store_close(s);
		return r;
	}
	*out = s;
	return ERR_OK;
}

err_t store_backend_open(const struct store_options *o, const struct store_backend_ops **ops,
			 struct store_backend **out, char *errbuf, size_t errlen)
{
	bool pg = o->url != NULL && o->url[0] != '\0';
	*ops = pg ? &store_pg_ops : &store_sqlite_ops;
	*out = NULL;
	if (!pg) /* the database's folder (normally [service] state_dir) is made 0700 */
		GUARD(parent_dir_ensure(o->path, errbuf, errlen));
	struct store_backend_params p = {
		o->max_batch ? o->max_batch : 128,
		o->max_wait_us,
		o->readers ? o->readers : STORE_READERS_DEFAULT,
		o->password_file,
		o->timeout_ms ? o->timeout_ms : 5000,
	};
	if (p.max_batch > 4096)
		p.max_batch = 4096;
	if (p.readers > 64)
		p.readers = 64;
	if (p.max_wait_us > 100000)
		p.max_wait_us = 100000;
	return (*ops)->open(pg ? o->url : o->path, &p, out, errbuf, errlen);
}

const char *store_location(const struct store *s)
{
	return s->ops->where(s->b);
}

void store_close(struct store *s)
{
	if (s == NULL)
		return;
	if (s->b != NULL)
		s->ops->close(s->b);
	seal_close(s->seal);
	pthread_mutex_destroy(&s->lease_mu);
	free(s);
}

void store_object_free(struct store_object *o)
{
	if (o == NULL)
		return;
	free(o->attrs);
	free(o->mem_);
	o->attrs = NULL;
	o->mem_ = NULL;
	o->n_attrs = 0;
}

/* ---- put ---------------------------------------------------------------------------- */

struct put_ctx {
	const struct store_backend_ops *ops;
	struct store_row row;
	const struct store_new_object *n;
	const uint8_t *sealed;
	size_t sealed_len;
};

/* is_name says whether |a| is a Name instance that claims its search text
 * (KMIP 1.4 §3.2: Names are unique within a key management domain, which
 * for fount is a tenant). */
static bool is_name(const struct store_attr *a)
{
	return strcmp(a->name, "Name") == 0 && (a->search != NULL || a->type == STORE_V_TEXT);
}

/* claim_name claims Name instance |a| of object |id| for |tenant|: its
 * search text (a Name structure's Name Value), or a Text String's value */
static err_t claim_name(const struct store_backend_ops *ops, struct store_txn *t, const char *tenant,
			const char *id, const struct store_attr *a)
{
	if (a->search != NULL)
		return ops->txn_name_claim(t, tenant, a->search, strlen(a->search), id, a->index);
	return ops->txn_name_claim(t, tenant, (const char *)a->value, a->value_len, id, a->index);
}

err_t store_name_claim(const struct store_backend_ops *ops, struct store_txn *t, const char *tenant,
		       const char *id, const struct store_attr *a)
{
	return is_name(a) ? claim_name(ops, t, tenant, id, a) : ERR_OK;
}

static err_t apply_put(struct store_txn *t, void *vctx)
{
	const struct put_ctx *c = vctx;
	GUARD(c->ops->txn_row_insert(t, &c->row));
	for (size_t i = 0; i < c->n->n_attrs; i++) {
		err_t r = c->ops->txn_attr_insert(t, c->row.id, &c->n->attrs[i]);
		if (r == ERR_STORE_ATTR_EXISTS)
			return ERR_INVALID_ARG; /* a duplicate (name, index) in the request */
		GUARD(r);
		if (is_name(&c->n->attrs[i]))
			GUARD(claim_name(c->ops, t, c->row.tenant, c->row.id, &c->n->attrs[i]));
	}
	if (c->sealed != NULL)
		GUARD(c->ops->txn_material_put(t, c->row.id, c->sealed, c->sealed_len));
	return ERR_OK;
}

static bool type_ok(uint32_t t)
{
	return t >= STORE_OBJ_CERTIFICATE && t <= STORE_OBJ_OPAQUE;
}

/* put_prepare checks |n|, fills c's row (identifier, dates, state) and
 * seals the material into c->sealed (malloc'd: free it). */
static err_t put_prepare(struct store *s, const struct store_new_object *n, struct put_ctx *c)
{
	ENSURE(n->tenant != NULL && tenant_ok(n->tenant), ERR_INVALID_ARG);
	ENSURE(type_ok(n->type), ERR_INVALID_ARG);
	ENSURE(n->n_attrs <= STORE_ATTRS_MAX, ERR_TOO_LARGE);
	ENSURE(n->attrs != NULL || n->n_attrs == 0, ERR_INVALID_ARG);
	ENSURE(n->material != NULL || n->material_len == 0, ERR_INVALID_ARG);
	ENSURE(n->material_len <= STORE_MATERIAL_MAX, ERR_TOO_LARGE);
	ENSURE(n->id == NULL || id_ok(n->id), ERR_INVALID_ARG);
	for (size_t i = 0; i < n->n_attrs; i++) {
		err_t r = attr_check(&n->attrs[i]);
		/* set when the object is made, never changed (KMIP 1.4 §3.44) */
		if (r == ERR_STORE_MANAGED_ATTR && strcmp(n->attrs[i].name, "Random Number Generator") == 0)
			r = ERR_OK;
		GUARD(r);
		if (n->attrs[i].index != 0 && !store_attr_is_multi(n->attrs[i].name))
			return ERR_INVALID_ARG;
	}

	memset(c, 0, sizeof(*c));
	c->ops = s->ops;
	c->n = n;
	struct store_row *row = &c->row;
	int64_t now = store_now();
	if (n->id != NULL)
		snprintf(row->id, sizeof(row->id), "%s", n->id);
	else
		GUARD(new_id(row->id));
	snprintf(row->tenant, sizeof(row->tenant), "%s", n->tenant);
	row->type = n->type;
	row->alg = n->alg;
	row->length = n->length;
	row->usage_mask = n->usage_mask;
	row->key_format = n->key_format;
	row->data_type = n->data_type;
	row->initial_date = now;
	row->last_change_date = now;
	row->original_creation_date = n->original_creation_date ? n->original_creation_date : now;
	row->created_ns = now_realtime_ns();
	row->activation_date = n->activation_date;
	row->deactivation_date = n->deactivation_date;
	/* KMIP 1.4 §3.34: Fresh on every new object; §3.48-§3.51: what it is
	 * made with, it has always been */
	row->protection = STORE_P_FRESH;
	row->protection |= n->sensitive ? STORE_P_SENSITIVE | STORE_P_ALWAYS_SENSITIVE : 0;
	row->protection |= n->not_extractable ? STORE_P_NEVER_EXTRACTABLE : STORE_P_EXTRACTABLE;
	/* KMIP 1.4 §3.22: an Activation Date in the past or now starts the
	 * object Active */
	row->state = n->activation_date != 0 && n->activation_date <= now ? STORE_STATE_ACTIVE
									 : STORE_STATE_PRE_ACTIVE;
	if (n->material != NULL) {
		size_t cap = n->material_len + STORE_SEAL_OVERHEAD;
		uint8_t *sealed = malloc(cap);
		if (sealed == NULL)
			return ERR_NOMEM;
		err_t r = seal_material(s->seal, row->id, row->type, n->material, n->material_len,
					sealed, cap, &c->sealed_len, row->digest);
		if (r != ERR_OK) {
			free(sealed);
			return r;
		}
		row->has_digest = true;
		c->sealed = sealed;
	}
	return ERR_OK;
}

err_t store_put(struct store *s, const struct store_new_object *n, char id_out[STORE_ID_MAX + 1])
{
	id_out[0] = '\0';
	struct put_ctx c;
	GUARD(put_prepare(s, n, &c));
	err_t r = s->ops->submit(s->b, apply_put, &c);
	free((void *)(uintptr_t)c.sealed);
	if (r == ERR_OK)
		memcpy(id_out, c.row.id, sizeof(c.row.id));
	return r;
}

/* ---- get ------------------------------------------------------------------------------- */

err_t store_get(struct store *s, const char *id, const char *tenant, unsigned flags,
		struct store_object *out)
{
	struct store_row row;
	memset(out, 0, sizeof(*out));
	ENSURE(id_ok(id), ERR_STORE_NOT_FOUND);
	bool has_material = false;
	if (flags & STORE_F_ROW_ONLY)
		GUARD(s->ops->row_get(s->b, id, &row));
	else
		GUARD(s->ops->object_get(s->b, id, &row, &has_material, NULL, 0, NULL, &out->attrs, &out->n_attrs,
					 &out->mem_));
	err_t r = visible(&row, tenant, flags);
	if (r != ERR_OK) {
		store_object_free(out);
		return r;
	}
	memcpy(out->id, row.id, sizeof(out->id));
	memcpy(out->tenant, row.tenant, sizeof(out->tenant));
	out->type = row.type;
	out->state = row.state;
	out->alg = row.alg;
	out->length = row.length;
	out->usage_mask = row.usage_mask;
	out->key_format = row.key_format;
	out->data_type = row.data_type;
	out->revocation_reason = row.revocation_reason;
	out->initial_date = row.initial_date;
	out->activation_date = row.activation_date;
	out->deactivation_date = row.deactivation_date;
	out->destroy_date = row.destroy_date;
	out->compromise_date = row.compromise_date;
	out->compromise_occurrence_date = row.compromise_occurrence_date;
	out->last_change_date = row.last_change_date;
	out->original_creation_date = row.original_creation_date;
	out->has_digest = row.has_digest;
	memcpy(out->digest, row.digest, sizeof(out->digest));
	out->has_material = has_material;
	out->protection = row.protection;
	return ERR_OK;
}

/* unsealed passes |r| on, logging a sealed record that does not open: an
 * integrity fault the operator must see (the identifier only, never a
 * byte of the record) */
static err_t unsealed(err_t r, const char *id)
{
	if (r == ERR_STORE_SEAL)
		log_error("object %s: its sealed key material does not open (damaged, moved or under another KEK); "
			  "`fount store verify` lists every such record",
			  id);
	return r;
}

err_t store_get_material(struct store *s, const char *id, const char *tenant, unsigned flags,
			 uint8_t **out, size_t *out_len)
{
	struct store_row row;
	*out = NULL;
	*out_len = 0;
	ENSURE(id_ok(id), ERR_STORE_NOT_FOUND);
	uint8_t *sealed = malloc(STORE_SEALED_MAX);
	size_t n = 0;
	bool has_material = false;
	if (sealed == NULL)
		return ERR_NOMEM;
	/* the row and the sealed material from one snapshot */
	err_t r = s->ops->object_get(s->b, id, &row, &has_material, sealed, STORE_SEALED_MAX, &n, NULL, NULL, NULL);
	if (r == ERR_OK)
		r = visible(&row, tenant, flags);
	if (r == ERR_OK && is_destroyed(row.state))
		r = ERR_STORE_DESTROYED;
	if (r == ERR_OK && !has_material)
		r = row.has_digest ? ERR_STORE_SEAL : ERR_OK; /* put without material */
	else if (r == ERR_OK)
		r = seal_unseal(s->seal, row.id, row.type, sealed, n, out, out_len);
	free(sealed);
	return unsealed(r, id);
}

/* protection_allows: may material of an object with |protection| leave
 * the server as |how| says? (KMIP 1.4 §3.48: a Sensitive object only
 * wrapped; §3.50: a non-Extractable one not at all) */
static err_t protection_allows(uint32_t protection, enum store_serve how)
{
	if (!(protection & STORE_P_EXTRACTABLE))
		return ERR_STORE_PROTECTED;
	if (how == STORE_SERVE_PLAIN && (protection & STORE_P_SENSITIVE))
		return ERR_STORE_PROTECTED;
	return how == STORE_SERVE_PLAIN || how == STORE_SERVE_WRAPPED ? ERR_OK : ERR_INVALID_ARG;
}

struct serve_ctx {
	const struct store_backend_ops *ops;
	const char *id, *tenant, *op;
	unsigned flags;
	const uint8_t *fp;
	enum store_serve how;
	int64_t time;
	uint32_t lease;    /* seconds it grants where the state leases */
	int64_t lease_end; /* out: the end of the lease granted, 0: none */
	/* out: the row and the sealed material as the transaction read them */
	struct store_row row;
	uint8_t *sealed; /* STORE_SEALED_MAX */
	size_t sealed_len;
	bool has_material;
};

/* txn_sealed reads |c->row|'s sealed material into c->sealed inside the
 * transaction; a row put without material has none (ERR_OK,
 * has_material false) unless it has a digest (then its material is
 * missing: ERR_STORE_SEAL) */
static err_t txn_sealed(struct store_txn *t, struct serve_ctx *c)
{
	err_t r = c->ops->txn_material_get(t, c->id, c->sealed, STORE_SEALED_MAX, &c->sealed_len);
	c->has_material = r == ERR_OK;
	if (r == ERR_STORE_NOT_FOUND)
		r = c->row.has_digest ? ERR_STORE_SEAL : ERR_OK;
	return r;
}

/* serve_run submits |fn| with c->sealed allocated and, once the commit is
 * durable, opens the material into secure memory */
static err_t serve_run(struct store *s, store_apply_fn fn, struct serve_ctx *c, uint8_t **out, size_t *out_len)
{
	/* sealed, not secret (AES-GCM under the KEK): ordinary memory */
	c->sealed = malloc(STORE_SEALED_MAX);
	if (c->sealed == NULL)
		return ERR_NOMEM;
	err_t r = s->ops->submit(s->b, fn, c);
	if (r == ERR_OK && c->has_material)
		r = seal_unseal(s->seal, c->row.id, c->row.type, c->sealed, c->sealed_len, out, out_len);
	free(c->sealed);
	c->sealed = NULL;
	return unsealed(r, c->id);
}

/* apply_serve: the access record and the end of Fresh in one write; the
 * protection is checked again inside the transaction, so a Sensitive or
 * Extractable change that committed first wins */
static err_t apply_serve(struct store_txn *t, void *vctx)
{
	struct serve_ctx *c = vctx;
	GUARD(c->ops->txn_row_get(t, c->id, &c->row));
	GUARD(visible(&c->row, c->tenant, c->flags));
	ENSURE(!is_destroyed(c->row.state), ERR_STORE_DESTROYED);
	GUARD(protection_allows(c->row.protection, c->how));
	/* the sealed material from the same snapshot, on the writer's
	 * connection: its page cache survives the commits, a reader's does
	 * not */
	GUARD(txn_sealed(t, c));
	c->lease_end = c->lease != 0 && store_state_leases(c->row.state) ? c->time + c->lease : 0;
	GUARD(c->ops->txn_access_insert(t, c->id, c->tenant, c->fp, c->op, c->time, c->lease_end));
	if (c->row.protection & STORE_P_FRESH) {
		/* not an attribute change of the client's: Last Change Date stays */
		struct store_row row = c->row;
		row.protection &= ~STORE_P_FRESH;
		GUARD(c->ops->txn_row_update(t, &row));
	}
	return ERR_OK;
}

err_t store_serve_material(struct store *s, const char *id, const char *tenant, unsigned flags,
			   const uint8_t fingerprint[STORE_FINGERPRINT_LEN], const char *operation,
			   enum store_serve how, uint32_t lease, uint8_t **out, size_t *out_len,
			   int64_t *lease_end)
{
	*out = NULL;
	*out_len = 0;
	if (lease_end != NULL)
		*lease_end = 0;
	ENSURE(id_ok(id), ERR_STORE_NOT_FOUND);
	ENSURE(tenant_ok(tenant), ERR_INVALID_ARG);
	ENSURE(operation[0] != '\0' && strlen(operation) <= 64, ERR_INVALID_ARG);
	/* checked, read, recorded and Fresh cleared in one transaction; opened
	 * once it is durable: nothing leaves unrecorded, or against its
	 * protection */
	struct serve_ctx c = {.ops = s->ops, .id = id, .tenant = tenant, .op = operation, .flags = flags,
			      .fp = fingerprint, .how = how, .time = store_now(), .lease = lease};
	err_t r = serve_run(s, apply_serve, &c, out, out_len);
	if (r == ERR_OK && lease_end != NULL)
		*lease_end = c.lease_end;
	return r;
}

bool store_state_leases(uint32_t state)
{
	return state == STORE_STATE_PRE_ACTIVE || state == STORE_STATE_ACTIVE;
}

struct lease_ctx {
	const struct store_backend_ops *ops;
	const char *id, *tenant, *op;
	unsigned flags;
	const uint8_t *fp;
	int64_t time, lease_end, last_change;
};

static err_t apply_lease(struct store_txn *t, void *vctx)
{
	struct lease_ctx *c = vctx;
	struct store_row row;
	GUARD(c->ops->txn_row_get(t, c->id, &row));
	GUARD(visible(&row, c->tenant, c->flags));
	ENSURE(!is_destroyed(row.state), ERR_STORE_DESTROYED);
	ENSURE(store_state_leases(row.state), ERR_STORE_STATE);
	c->last_change = row.last_change_date;
	return c->ops->txn_access_insert(t, c->id, c->tenant, c->fp, c->op, c->time, c->lease_end);
}

err_t store_obtain_lease(struct store *s, const char *id, const char *tenant, unsigned flags,
			 const uint8_t fingerprint[STORE_FINGERPRINT_LEN], const char *operation, uint32_t lease,
			 int64_t *lease_end, int64_t *last_change)
{
	*lease_end = 0;
	*last_change = 0;
	ENSURE(id_ok(id), ERR_STORE_NOT_FOUND);
	ENSURE(tenant_ok(tenant), (flags & STORE_F_ADMIN) ? ERR_INVALID_ARG : ERR_STORE_NOT_FOUND);
	ENSURE(operation[0] != '\0' && strlen(operation) <= 64, ERR_INVALID_ARG);
	ENSURE(lease != 0, ERR_INVALID_ARG);
	int64_t now = store_now();
	struct lease_ctx c = {s->ops, id, tenant, operation, flags, fingerprint, now, now + lease, 0};
	GUARD(s->ops->submit(s->b, apply_lease, &c));
	*lease_end = c.lease_end;
	*last_change = c.last_change;
	return ERR_OK;
}

struct protect_ctx {
	const struct store_backend_ops *ops;
	const char *id, *tenant;
	unsigned flags;
	bool sensitive, not_extractable;
	int64_t now;
};

static err_t apply_protection(struct store_txn *t, void *vctx)
{
	const struct protect_ctx *c = vctx;
	struct store_row row;
	GUARD(c->ops->txn_row_get(t, c->id, &row));
	GUARD(visible(&row, c->tenant, c->flags));
	if (c->sensitive)
		row.protection |= STORE_P_SENSITIVE;
	if (c->not_extractable)
		row.protection &= ~STORE_P_EXTRACTABLE;
	row.last_change_date = c->now;
	return c->ops->txn_row_update(t, &row);
}

err_t store_set_protection(struct store *s, const char *id, const char *tenant, unsigned flags, bool sensitive,
			   bool not_extractable)
{
	ENSURE(id_ok(id), ERR_STORE_NOT_FOUND);
	ENSURE((flags & STORE_F_ADMIN) || tenant_ok(tenant), ERR_STORE_NOT_FOUND);
	struct protect_ctx c = {s->ops, id, tenant, flags, sensitive, not_extractable, store_now()};
	return s->ops->submit(s->b, apply_protection, &c);
}

/* ---- writes on an existing object ----------------------------------------------------- */

struct change_ctx {
	const struct store_backend_ops *ops;
	const char *id, *tenant;
	unsigned flags;
	int64_t now;
	/* attributes */
	const struct store_attr *attr;
	const char *name;
	uint32_t index;
	uint32_t index_out;
	/* lifecycle */
	enum { CH_ACTIVATE, CH_REVOKE, CH_DESTROY } op;
	uint32_t reason;
	int64_t occurred;
};

static err_t change_begin(struct store_txn *t, struct change_ctx *c, struct store_row *row)
{
	GUARD(c->ops->txn_row_get(t, c->id, row));
	return visible(row, c->tenant, c->flags);
}

static err_t change_end(struct store_txn *t, struct change_ctx *c, struct store_row *row)
{
	row->last_change_date = c->now;
	return c->ops->txn_row_update(t, row);
}

/* event_put records event |kind| of |row| (its state after the change)
 * in the change's transaction; |new_id| for a re-key, else NULL */
static err_t event_put(const struct store_backend_ops *ops, struct store_txn *t, const char *kind,
		       const struct store_row *row, const char *new_id, int64_t now)
{
	struct store_event e = {.time = now, .state = row->state};
	snprintf(e.kind, sizeof e.kind, "%s", kind);
	snprintf(e.id, sizeof e.id, "%s", row->id);
	snprintf(e.new_id, sizeof e.new_id, "%s", new_id != NULL ? new_id : "");
	snprintf(e.tenant, sizeof e.tenant, "%s", row->tenant);
	return ops->txn_event_insert(t, &e);
}

static err_t apply_attr_add(struct store_txn *t, void *vctx)
{
	struct change_ctx *c = vctx;
	struct store_row row;
	uint64_t count = 0;
	uint32_t next = 0;
	GUARD(change_begin(t, c, &row));
	GUARD(c->ops->txn_attr_count(t, c->id, c->attr->name, &count, &next));
	struct store_attr a = *c->attr;
	if (store_attr_is_multi(a.name)) {
		a.index = next;
	} else {
		ENSURE(count == 0, ERR_STORE_ATTR_EXISTS);
		a.index = 0;
	}
	GUARD(c->ops->txn_attr_insert(t, c->id, &a));
	if (is_name(&a) && !is_destroyed(row.state))
		GUARD(claim_name(c->ops, t, row.tenant, c->id, &a));
	c->index_out = a.index;
	return change_end(t, c, &row);
}

static err_t apply_attr_modify(struct store_txn *t, void *vctx)
{
	struct change_ctx *c = vctx;
	struct store_row row;
	GUARD(change_begin(t, c, &row));
	GUARD(c->ops->txn_attr_update(t, c->id, c->attr));
	if (strcmp(c->attr->name, "Name") == 0) {
		GUARD(c->ops->txn_name_release(t, c->id, c->attr->index));
		if (is_name(c->attr) && !is_destroyed(row.state))
			GUARD(claim_name(c->ops, t, row.tenant, c->id, c->attr));
	}
	return change_end(t, c, &row);
}

static err_t apply_attr_delete(struct store_txn *t, void *vctx)
{
	struct change_ctx *c = vctx;
	struct store_row row;
	uint64_t n = 0;
	GUARD(change_begin(t, c, &row));
	GUARD(c->ops->txn_attr_delete(t, c->id, c->name, c->index, &n));
	ENSURE(n > 0, ERR_STORE_ATTR_NOT_FOUND);
	if (strcmp(c->name, "Name") == 0)
		GUARD(c->ops->txn_name_release(t, c->id, c->index));
	return change_end(t, c, &row);
}

static err_t change_prepare(struct store *s, struct change_ctx *c, const char *id,
			    const char *tenant, unsigned flags)
{
	memset(c, 0, sizeof(*c));
	ENSURE(id_ok(id), ERR_STORE_NOT_FOUND);
	ENSURE((flags & STORE_F_ADMIN) || tenant_ok(tenant), ERR_STORE_NOT_FOUND);
	c->ops = s->ops;
	c->id = id;
	c->tenant = tenant;
	c->flags = flags;
	c->now = store_now();
	return ERR_OK;
}

err_t store_attr_add(struct store *s, const char *id, const char *tenant, unsigned flags,
		     const struct store_attr *a, uint32_t *index_out)
{
	struct change_ctx c;
	GUARD(change_prepare(s, &c, id, tenant, flags));
	GUARD(attr_check(a));
	c.attr = a;
	GUARD(s->ops->submit(s->b, apply_attr_add, &c));
	if (index_out != NULL)
		*index_out = c.index_out;
	return ERR_OK;
}

err_t store_attr_modify(struct store *s, const char *id, const char *tenant, unsigned flags,
			const struct store_attr *a)
{
	struct change_ctx c;
	GUARD(change_prepare(s, &c, id, tenant, flags));
	GUARD(attr_check(a));
	c.attr = a;
	return s->ops->submit(s->b, apply_attr_modify, &c);
}

err_t store_attr_delete(struct store *s, const char *id, const char *tenant, unsigned flags,
			const char *name, uint32_t index)
{
	struct change_ctx c;
	GUARD(change_prepare(s, &c, id, tenant, flags));
	ENSURE(name[0] != '\0' && strlen(name) <= STORE_ATTR_NAME_MAX, ERR_INVALID_ARG);
	ENSURE(!store_attr_is_managed(name), ERR_STORE_MANAGED_ATTR);
	c.name = name;
	c.index = index;
	return s->ops->submit(s->b, apply_attr_delete, &c);
}

/* ---- several objects in one transaction ---------------------------------------------- */

err_t store_new_id(char out[STORE_ID_MAX + 1])
{
	return new_id(out);
}

struct put_many_ctx {
	const struct store_backend_ops *ops;
	struct put_ctx puts[STORE_PUT_MANY_MAX];
	size_t n_puts;
	const struct store_put_change *changes;
	size_t n_changes;
	int64_t now;
};

/* apply_put_many: the new objects first, so a change may name one of
 * them; any failure rolls the whole request back (the backend's savepoint
 * per request). */
static err_t apply_put_many(struct store_txn *t, void *vctx)
{
	struct put_many_ctx *m = vctx;
	/* Names a change deletes are released first: a Re-key moves the old
	 * key's Names to its replacement, which claims them below (a failed
	 * check later rolls the whole transaction back) */
	for (size_t i = 0; i < m->n_changes; i++)
		if (m->changes[i].delete_name != NULL && strcmp(m->changes[i].delete_name, "Name") == 0)
			GUARD(m->ops->txn_name_release(t, m->changes[i].id, STORE_ALL_INDEXES));
	for (size_t i = 0; i < m->n_puts; i++)
		GUARD(apply_put(t, &m->puts[i]));
	for (size_t i = 0; i < m->n_changes; i++) {
		const struct store_put_change *ch = &m->changes[i];
		struct change_ctx c;
		memset(&c, 0, sizeof(c));
		c.ops = m->ops;
		c.id = ch->id;
		c.tenant = ch->tenant;
		c.flags = ch->flags;
		c.now = m->now;
		struct store_row row;
		GUARD(change_begin(t, &c, &row));
		ENSURE(!is_destroyed(row.state), ERR_STORE_DESTROYED);
		if (ch->add != NULL) {
			c.attr = ch->add;
			GUARD(apply_attr_add(t, &c));
		}
		if (ch->delete_name != NULL) {
			uint64_t n = 0;
			GUARD(m->ops->txn_attr_delete(t, ch->id, ch->delete_name, STORE_ALL_INDEXES, &n));
			GUARD(change_begin(t, &c, &row));
			GUARD(change_end(t, &c, &row));
		}
		if (ch->replaced_by != NULL)
			GUARD(event_put(m->ops, t, "rekey", &row, ch->replaced_by, m->now));
	}
	return ERR_OK;
}

err_t store_put_many(struct store *s, const struct store_new_object *objs, size_t n_objs,
		     const struct store_put_change *changes, size_t n_changes,
		     char (*ids_out)[STORE_ID_MAX + 1])
{
	ENSURE(n_objs >= 1 && n_objs <= STORE_PUT_MANY_MAX, ERR_INVALID_ARG);
	ENSURE(n_changes <= STORE_PUT_MANY_MAX, ERR_INVALID_ARG);
	ENSURE(changes != NULL || n_changes == 0, ERR_INVALID_ARG);
	for (size_t i = 0; i < n_objs; i++)
		ids_out[i][0] = '\0';
	for (size_t i = 0; i < n_changes; i++) {
		const struct store_put_change *ch = &changes[i];
		ENSURE(ch->id != NULL && id_ok(ch->id), ERR_STORE_NOT_FOUND);
		ENSURE((ch->flags & STORE_F_ADMIN) || (ch->tenant != NULL && tenant_ok(ch->tenant)),
		       ERR_STORE_NOT_FOUND);
		if (ch->add != NULL)
			GUARD(attr_check(ch->add));
		if (ch->delete_name != NULL) {
			size_t nl = strlen(ch->delete_name);
			ENSURE(nl > 0 && nl <= STORE_ATTR_NAME_MAX, ERR_INVALID_ARG);
			ENSURE(!store_attr_is_managed(ch->delete_name), ERR_STORE_MANAGED_ATTR);
		}
	}
	struct put_many_ctx *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return ERR_NOMEM;
	m->ops = s->ops;
	m->changes = changes;
	m->n_changes = n_changes;
	m->now = store_now();
	err_t r = ERR_OK;
	for (size_t i = 0; i < n_objs && r == ERR_OK; i++) {
		r = put_prepare(s, &objs[i], &m->puts[i]);
		if (r == ERR_OK)
			m->n_puts++;
	}
	if (r == ERR_OK)
		r = s->ops->submit(s->b, apply_put_many, m);
	if (r == ERR_OK)
		for (size_t i = 0; i < n_objs; i++)
			memcpy(ids_out[i], m->puts[i].row.id, sizeof(m->puts[i].row.id));
	for (size_t i = 0; i < m->n_puts; i++)
		free((void *)(uintptr_t)m->puts[i].sealed);
	free(m);
	return r;
}

/* ---- lifecycle ------------------------------------------------------------------------ */

/* apply_lifecycle: the KMIP 1.4 §3.22 transitions fount performs.
 *   Activate:  Pre-Active -> Active (transition 2)
 *   Revoke, not compromise: Pre-Active / Active -> Deactivated (3, 6)
 *   Revoke, compromise: Pre-Active / Active / Deactivated -> Compromised
 *     (4, 7, 10), Destroyed -> Destroyed Compromised (9)
 *   Destroy:   Pre-Active / Deactivated -> Destroyed (5, 8),
 *              Compromised -> Destroyed Compromised (11); Active refused */
static err_t apply_lifecycle(struct store_txn *t, void *vctx)
{
	struct change_ctx *c = vctx;
	struct store_row row;
	GUARD(change_begin(t, c, &row));
	switch (c->op) {
	case CH_ACTIVATE:
		ENSURE(row.state == STORE_STATE_PRE_ACTIVE, ERR_STORE_STATE);
		row.state = STORE_STATE_ACTIVE;
		row.activation_date = c->now;
		break;
	case CH_REVOKE:
		if (c->reason == STORE_REVOKE_KEY_COMPROMISE || c->reason == STORE_REVOKE_CA_COMPROMISE) {
			if (row.state == STORE_STATE_DESTROYED)
				row.state = STORE_STATE_DESTROYED_COMPROMISED;
			else if (row.state == STORE_STATE_PRE_ACTIVE || row.state == STORE_STATE_ACTIVE ||
				 row.state == STORE_STATE_DEACTIVATED)
				row.state = STORE_STATE_COMPROMISED;
			else
				return ERR_STORE_STATE;
			row.compromise_date = c->now;
			row.compromise_occurrence_date = c->occurred ? c->occurred : c->now;
		} else {
			ENSURE(row.state == STORE_STATE_PRE_ACTIVE || row.state == STORE_STATE_ACTIVE,
			       ERR_STORE_STATE);
			row.state = STORE_STATE_DEACTIVATED;
			row.deactivation_date = c->now;
		}
		row.revocation_reason = c->reason;
		break;
	case CH_DESTROY:
		ENSURE(row.state != STORE_STATE_ACTIVE, ERR_STORE_ACTIVE);
		ENSURE(!is_destroyed(row.state), ERR_STORE_DESTROYED);
		row.state = row.state == STORE_STATE_COMPROMISED ? STORE_STATE_DESTROYED_COMPROMISED
								 : STORE_STATE_DESTROYED;
		row.destroy_date = c->now;
		GUARD(c->ops->txn_material_wipe(t, c->id));
		/* a destroyed object's Names may be taken again (its
		 * attributes stay; Locate hides it unless State asks) */
		GUARD(c->ops->txn_name_release(t, c->id, STORE_ALL_INDEXES));
		break;
	default:
		return ERR_INTERNAL;
	}
	GUARD(change_end(t, c, &row));
	const char *kind = c->op == CH_ACTIVATE ? "activate"
			   : c->op == CH_DESTROY ? "destroy"
			   : row.state == STORE_STATE_COMPROMISED || row.state == STORE_STATE_DESTROYED_COMPROMISED
				   ? "compromise"
				   : "revoke";
	return event_put(c->ops, t, kind, &row, NULL, c->now);
}

err_t store_activate(struct store *s, const char *id, const char *tenant, unsigned flags)
{
	struct change_ctx c;
	GUARD(change_prepare(s, &c, id, tenant, flags));
	c.op = CH_ACTIVATE;
	return s->ops->submit(s->b, apply_lifecycle, &c);
}

err_t store_revoke(struct store *s, const char *id, const char *tenant, unsigned flags,
		   uint32_t reason, int64_t occurred)
{
	struct change_ctx c;
	GUARD(change_prepare(s, &c, id, tenant, flags));
	ENSURE(reason >= STORE_REVOKE_UNSPECIFIED && reason <= STORE_REVOKE_PRIVILEGE_WITHDRAWN,
	       ERR_INVALID_ARG);
	c.op = CH_REVOKE;
	c.reason = reason;
	c.occurred = occurred;
	return s->ops->submit(s->b, apply_lifecycle, &c);
}

err_t store_destroy(struct store *s, const char *id, const char *tenant, unsigned flags)
{
	struct change_ctx c;
	GUARD(change_prepare(s, &c, id, tenant, flags));
	c.op = CH_DESTROY;
	return s->ops->submit(s->b, apply_lifecycle, &c);
}

/* apply_activation_date: KMIP 1.4 §3.24, the Activation Date changes only
 * while Pre-Active; a date now or past makes the object Active (§3.22
 * transition 2), a future one leaves it Pre-Active. */
static err_t apply_activation_date(struct store_txn *t, void *vctx)
{
	struct change_ctx *c = vctx;
	struct store_row row;
	GUARD(change_begin(t, c, &row));
	ENSURE(row.state == STORE_STATE_PRE_ACTIVE, ERR_STORE_STATE);
	row.activation_date = c->occurred;
	if (c->occurred <= c->now)
		row.state = STORE_STATE_ACTIVE;
	GUARD(change_end(t, c, &row));
	return row.state == STORE_STATE_ACTIVE ? event_put(c->ops, t, "activate", &row, NULL, c->now) : ERR_OK;
}

err_t store_set_activation_date(struct store *s, const char *id, const char *tenant, unsigned flags,
				int64_t date)
{
	struct change_ctx c;
	GUARD(change_prepare(s, &c, id, tenant, flags));
	ENSURE(date > 0, ERR_INVALID_ARG);
	c.occurred = date;
	return s->ops->submit(s->b, apply_activation_date, &c);
}

/* ---- find ------------------------------------------------------------------------------ */

err_t store_find(struct store *s, const struct store_query *q, struct store_found *out)
{
	memset(out, 0, sizeof(*out));
	if (!(q->flags & STORE_F_ADMIN))
		ENSURE(q->tenant != NULL && tenant_ok(q->tenant), ERR_INVALID_ARG);
	ENSURE(q->custom != NULL || q->n_custom == 0, ERR_INVALID_ARG);
	ENSURE(q->n_custom <= 16, ERR_TOO_LARGE);
	for (size_t i = 0; i < q->n_custom; i++) {
		ENSURE(q->custom[i].name != NULL, ERR_INVALID_ARG);
		ENSURE(q->custom[i].value != NULL || q->custom[i].value_len == 0, ERR_INVALID_ARG);
	}
	struct store_query capped = *q;
	if (capped.max_items == 0 || capped.max_items > STORE_FIND_MAX)
		capped.max_items = STORE_FIND_MAX;
	return s->ops->find(s->b, &capped, out);
}

void store_found_free(struct store_found *f)
{
	if (f == NULL)
		return;
	free(f->ids);
	f->ids = NULL;
	f->n = 0;
}

/* ---- access log ------------------------------------------------------------------------- */

struct access_ctx {
	const struct store_backend_ops *ops;
	const char *id, *tenant, *op;
	const uint8_t *fp;
	int64_t time;
};

static err_t apply_access(struct store_txn *t, void *vctx)
{
	const struct access_ctx *c = vctx;
	return c->ops->txn_access_insert(t, c->id, c->tenant, c->fp, c->op, c->time, 0);
}

err_t store_record_access(struct store *s, const char *id, const char *tenant,
			  const uint8_t fingerprint[STORE_FINGERPRINT_LEN], const char *operation,
			  int64_t time_s)
{
	ENSURE(id_ok(id) && tenant_ok(tenant), ERR_INVALID_ARG);
	ENSURE(operation[0] != '\0' && strlen(operation) <= 64, ERR_INVALID_ARG);
	struct access_ctx c = {s->ops, id, tenant, operation, fingerprint,
			       time_s ? time_s : store_now()};
	return s->ops->submit(s->b, apply_access, &c);
}

static err_t apply_take(struct store_txn *t, void *vctx)
{
	struct serve_ctx *c = vctx;
	GUARD(c->ops->txn_row_get(t, c->id, &c->row));
	GUARD(visible(&c->row, c->tenant, c->flags));
	ENSURE(!is_destroyed(c->row.state), ERR_STORE_DESTROYED);
	GUARD(txn_sealed(t, c));
	return c->ops->txn_access_insert(t, c->id, c->tenant, c->fp, c->op, c->time, 0);
}

err_t store_take_material(struct store *s, const char *id, const char *tenant, unsigned flags,
			  const uint8_t fingerprint[STORE_FINGERPRINT_LEN], const char *operation,
			  uint8_t **out, size_t *out_len)
{
	*out = NULL;
	*out_len = 0;
	ENSURE(id_ok(id), ERR_STORE_NOT_FOUND);
	/* as store_get_material then store_record_access: a tenant that
	 * owns nothing finds nothing */
	ENSURE(tenant_ok(tenant), (flags & STORE_F_ADMIN) ? ERR_INVALID_ARG : ERR_STORE_NOT_FOUND);
	ENSURE(operation[0] != '\0' && strlen(operation) <= 64, ERR_INVALID_ARG);
	struct serve_ctx c = {.ops = s->ops, .id = id, .tenant = tenant, .op = operation, .flags = flags,
			      .fp = fingerprint, .time = store_now()};
	return serve_run(s, apply_take, &c, out, out_len);
}

/* holders_read reads the holders of object or tenant |key| into |out|
 * (room for STORE_HOLDERS_MAX: calloc'd, so what a short answer leaves
 * untouched is never paged in) and says which leases still run */
static err_t holders_read(struct store *s, bool by_tenant, const char *key, struct store_holders *out)
{
	out->h = calloc(STORE_HOLDERS_MAX, sizeof *out->h);
	if (out->h == NULL)
		return ERR_NOMEM;
	err_t r = s->ops->holders(s->b, by_tenant, key, STORE_HOLDERS_MAX, out);
	if (r != ERR_OK) {
		store_holders_free(out);
		return r;
	}
	int64_t now = store_now();
	for (size_t i = 0; i < out->n; i++)
		out->h[i].leased = out->h[i].lease_end > now && store_state_leases(out->h[i].state);
	return ERR_OK;
}

err_t store_holders_of(struct store *s, const char *id, const char *tenant, unsigned flags,
		       struct store_holders *out)
{
	memset(out, 0, sizeof *out);
	ENSURE(id_ok(id), ERR_STORE_NOT_FOUND);
	struct store_row row;
	GUARD(s->ops->row_get(s->b, id, &row));
	GUARD(visible(&row, tenant, flags));
	return holders_read(s, false, id, out);
}

err_t store_held_by(struct store *s, const char *tenant, struct store_holders *out)
{
	memset(out, 0, sizeof *out);
	ENSURE(tenant_ok(tenant), ERR_INVALID_ARG);
	return holders_read(s, true, tenant, out);
}

void store_holders_free(struct store_holders *h)
{
	if (h == NULL)
		return;
	free(h->h);
	memset(h, 0, sizeof *h);
}

err_t store_access_count(struct store *s, const char *id, uint64_t *out)
{
	return s->ops->access_count(s->b, id, out);
}

/* ---- verify and stats ------------------------------------------------------------------- */

#define VERIFY_MAX_IDS 1024

struct verify_ctx {
	struct store *s;
	struct store_verify_result *r;
};

static err_t verify_one(void *vctx, const struct store_row *row, const uint8_t *sealed, size_t len)
{
	struct verify_ctx *c = vctx;
	c->r->checked++;
	err_t e = seal_check(c->s->seal, row, sealed, len);
	if (e == ERR_NOT_OPERATIONAL)
		return e;
	if (e == ERR_OK)
		return ERR_OK;
	c->r->failed++;
	if (c->r->n_failed_ids < VERIFY_MAX_IDS) {
		if (c->r->failed_ids == NULL) {
			char(*ids)[STORE_ID_MAX + 1] = calloc(VERIFY_MAX_IDS, sizeof(*ids));
			if (ids == NULL)
				return ERR_NOMEM;
			c->r->failed_ids = ids; /* store_verify_free frees it */
		}
		memcpy(c->r->failed_ids[c->r->n_failed_ids++], row->id, sizeof(row->id));
	}
	return ERR_OK;
}

err_t store_verify(struct store *s, struct store_verify_result *out)
{
	memset(out, 0, sizeof(*out));
	struct verify_ctx c = {s, out};
	err_t r = s->ops->each_sealed(s->b, verify_one, &c);
	if (r != ERR_OK)
		store_verify_free(out);
	return r;
}

void store_verify_free(struct store_verify_result *r)
{
	if (r == NULL)
		return;
	free(r->failed_ids);
	r->failed_ids = NULL;
	r->n_failed_ids = 0;
}

/* 100 us to 10 s: a commit is one fdatasync, from a fast NVMe's tens of
 * microseconds to a struggling network disk's seconds */
const double store_latency_bounds[STORE_LATENCY_BUCKETS] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
							     0.01,   0.025,   0.05,   0.1,   0.5,    10.0};

const char *store_backend_name(const struct store *s)
{
	return s->ops->name;
}

err_t store_ping(struct store *s)
{
	return s->ops->ping != NULL ? s->ops->ping(s->b) : ERR_OK;
}

void store_stats(struct store *s, struct store_stats *out)
{
	s->ops->stats(s->b, out);
	out->backend = s->ops->name;
}

/* ---- events ------------------------------------------------------------------------------ */

err_t store_events_after(struct store *s, const char *tenant, unsigned flags, uint64_t after, size_t max,
			 struct store_events *out)
{
	memset(out, 0, sizeof *out);
	ENSURE(max >= 1 && max <= STORE_EVENTS_MAX, ERR_INVALID_ARG);
	ENSURE((flags & STORE_F_ADMIN) || tenant_ok(tenant), ERR_INVALID_ARG);
	ENSURE(after <= INT64_MAX, ERR_INVALID_ARG);
	out->e = calloc(max + 1, sizeof *out->e);
	if (out->e == NULL)
		return ERR_NOMEM;
	err_t r = s->ops->events(s->b, (flags & STORE_F_ADMIN) ? NULL : tenant, after, max, out);
	if (r != ERR_OK)
		store_events_free(out);
	return r;
}

void store_events_free(struct store_events *e)
{
	if (e == NULL)
		return;
	free(e->e);
	memset(e, 0, sizeof *e);
}

err_t store_events_latest(struct store *s, uint64_t *out)
{
	*out = 0;
	return s->ops->events_latest(s->b, out);
}
