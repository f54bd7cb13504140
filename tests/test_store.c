/* tests/test_store.c — store/: put/get round trips, tenants, the KMIP 1.4
 * lifecycle, attributes, find, sealing and the KEK, migrations, the group
 * commit, kill -9 crash safety and a full disk; and keygen/aead.c's
 * AES-GCM against the GCM specification's test vectors. */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hsm/hsm.h"
#include "keygen/keygen.h"
#include "selftest/selftest.h"
#include "store/internal.h"
#include "store/store.h"
#include "tests/helpers.h"
#include "tests/lib/pgtest.h"

static struct config cfg;
static char tmp[64];
static unsigned seq;

static int suite_init(void)
{
	testlib_config(&cfg);
	selftest_reset_for_testing();
	if (selftest_power_on(&cfg, NULL, 0, NULL) != ERR_OK)
		return -1;
	return testlib_tmpdir_create(tmp, "store");
}

static int suite_clean(void)
{
	selftest_reset_for_testing();
	/* test_disk_full's tmpfs, should it have stopped before its umount */
	char mnt[128];
	snprintf(mnt, sizeof(mnt), "%s/small", tmp);
	(void)umount(mnt);
	return testlib_tmpdir_remove(tmp);
}

/* The store_pg suite runs the same tests on a real PostgreSQL server
 * (tests/lib/pgtest.c), one database per test; NULL in the store suite. */
static struct pgtest pg_server, *pg;
static char pg_parent[64];

static int suite_init_pg(void)
{
	if (!pgtest_available()) {
		fprintf(stderr, "\n  store_pg: PostgreSQL is not installed: run make deps\n");
		return -1;
	}
	if (suite_init() != 0 || pgtest_parent(pg_parent, "store") != 0 ||
	    pgtest_primary(&pg_server, pg_parent, "p1", NULL) != 0)
		return -1;
	pg = &pg_server;
	return 0;
}

static int suite_clean_pg(void)
{
	pgtest_remove(&pg_server);
	testlib_tmpdir_remove(pg_parent);
	pg = NULL;
	return suite_clean();
}

/* A fresh folder per test: its database (or PostgreSQL database) and KEK file. */
struct tdb {
	char dir[200], db[256], kek[260];
	char url[256]; /* "" on SQLite */
	char dbname[32];
};

#define TDB_URL(t) ((t)->url[0] != '\0' ? (t)->url : NULL)

static void tdb_new(struct tdb *t, const char *tag)
{
	unsigned n = seq++;
	snprintf(t->dir, sizeof(t->dir), "%s/%s-%u", tmp, tag, n);
	CU_ASSERT_EQUAL(mkdir(t->dir, 0700), 0);
	snprintf(t->db, sizeof(t->db), "%s/fount.db", t->dir);
	snprintf(t->kek, sizeof(t->kek), "file:%s/store.kek", t->dir);
	t->url[0] = t->dbname[0] = '\0';
	if (pg != NULL) {
		char sql[64];
		snprintf(t->dbname, sizeof(t->dbname), "t%u", n);
		snprintf(sql, sizeof(sql), "CREATE DATABASE %s", t->dbname);
		CU_ASSERT_EQUAL_FATAL(pgtest_sql(pg, NULL, sql, NULL, 0), 0);
		pgtest_url(pg, t->dbname, t->url, sizeof(t->url));
	}
}

/* sql_exec runs |sql| on the test's database, either backend: 0 (SQLITE_OK) on success */
static int sql_exec(const struct tdb *t, const char *sql)
{
	if (t->url[0] != '\0')
		return pgtest_sql(pg, t->dbname, sql, NULL, 0) == 0 ? SQLITE_OK : SQLITE_ERROR;
	sqlite3 *h = NULL;
	int rc = sqlite3_open_v2(t->db, &h, SQLITE_OPEN_READWRITE, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(h, sql, NULL, NULL, NULL);
	sqlite3_close(h);
	return rc;
}

/* sql_int: the first column of the first row as a number, -1 on error */
static int64_t sql_int(const struct tdb *t, const char *sql)
{
	int64_t n = -1;
	if (t->url[0] != '\0') {
		char out[32];
		if (pgtest_sql(pg, t->dbname, sql, out, sizeof(out)) == 0)
			n = strtoll(out, NULL, 10);
		return n;
	}
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	if (sqlite3_open_v2(t->db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return n;
}

static struct store *tdb_open(const struct tdb *t)
{
	struct store_options o = {.path = t->db, .kek = t->kek, .url = TDB_URL(t)};
	struct store *s = NULL;
	char eb[512];
	err_t r = store_open(&o, &s, eb, sizeof(eb));
	if (r != ERR_OK)
		fprintf(stderr, "\n  store_open: %s (%s)\n", err_str(r), eb);
	CU_ASSERT_EQUAL_FATAL(r, ERR_OK);
	return s;
}

static err_t put_key(struct store *s, const char *tenant, const uint8_t *key, size_t len,
		     char id[STORE_ID_MAX + 1])
{
	struct store_new_object n = {0};
	n.tenant = tenant;
	n.type = STORE_OBJ_SYMMETRIC_KEY;
	n.alg = STORE_ALG_AES;
	n.length = (uint32_t)len * 8;
	n.usage_mask = 12;
	n.key_format = STORE_FMT_RAW;
	n.material = key;
	n.material_len = len;
	return store_put(s, &n, id);
}

static const struct store_attr *find_attr(const struct store_object *o, const char *name,
					  uint32_t index)
{
	for (size_t i = 0; i < o->n_attrs; i++)
		if (strcmp(o->attrs[i].name, name) == 0 && o->attrs[i].index == index)
			return &o->attrs[i];
	return NULL;
}

/* ---- keygen/aead.c ------------------------------------------------------------ */

struct gcm_vector {
	const char *where, *key, *iv, *aad, *pt, *ct, *tag;
};

/* McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)", test
 * cases 13, 14, 15 and 16 (AES-256), as used by NIST's GCM validation */
#define TC_KEY "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"
#define TC_PT "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" \
	      "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"
static const struct gcm_vector gcm_vectors[] = {
	{"GCM test case 13", "0000000000000000000000000000000000000000000000000000000000000000",
	 "000000000000000000000000", "", "", "", "530f8afbc74536b9a963b4f1c4cb738b"},
	{"GCM test case 14", "0000000000000000000000000000000000000000000000000000000000000000",
	 "000000000000000000000000", "", "00000000000000000000000000000000",
	 "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919"},
	{"GCM test case 16", TC_KEY, "cafebabefacedbaddecaf888",
	 "feedfacedeadbeeffeedfacedeadbeefabaddad2", TC_PT,
	 "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
	 "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
	 "76fc6ece0f4e1768cddf8853bb2d551b"},
};

static void test_aead_vectors(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(gcm_vectors); i++) {
		const struct gcm_vector *v = &gcm_vectors[i];
		size_t kl, il, al, pl, cl, tl;
		uint8_t *k = testlib_hex(v->key, &kl), *iv = testlib_hex(v->iv, &il);
		uint8_t *a = testlib_hex(v->aad, &al), *p = testlib_hex(v->pt, &pl);
		uint8_t *c = testlib_hex(v->ct, &cl), *t = testlib_hex(v->tag, &tl);
		uint8_t out[128], tag[16];
		EXPECT_OK(keygen_aes_gcm_encrypt(k, kl, iv, il, a, al, p, pl, out, tag, 16));
		if (memcmp(tag, t, 16) != 0 || (cl && memcmp(out, c, cl) != 0))
			fprintf(stderr, "\n  %s: differs\n", v->where);
		CU_ASSERT(memcmp(tag, t, 16) == 0);
		CU_ASSERT(cl == 0 || memcmp(out, c, cl) == 0);
		EXPECT_OK(keygen_aes_gcm_decrypt(k, kl, iv, il, a, al, c, cl, out, t, 16));
		CU_ASSERT(pl == 0 || memcmp(out, p, pl) == 0);
		t[0] ^= 1;
		EXPECT_ERR(keygen_aes_gcm_decrypt(k, kl, iv, il, a, al, c, cl, out, t, 16), ERR_UNWRAP);
		free(k), free(iv), free(a), free(p), free(c), free(t);
	}
	/* SHA-256("abc"), FIPS 180-4 example */
	uint8_t d[32];
	size_t n;
	uint8_t *want = testlib_hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", &n);
	EXPECT_OK(keygen_sha256((const uint8_t *)"abc", 3, d));
	CU_ASSERT(memcmp(d, want, 32) == 0);
	free(want);
}

static void test_aead_seal_open(void)
{
	uint8_t key[32] = {7}, msg[40] = {1, 2, 3}, sealed[128], sealed2[128], out[64];
	size_t n = 0, n2 = 0, m = 0;
	EXPECT_OK(keygen_aead_seal(key, 32, (const uint8_t *)"ad", 2, msg, sizeof(msg), sealed,
				   sizeof(sealed), &n));
	CU_ASSERT_EQUAL(n, sizeof(msg) + KEYGEN_AEAD_OVERHEAD);
	EXPECT_OK(keygen_aead_seal(key, 32, (const uint8_t *)"ad", 2, msg, sizeof(msg), sealed2,
				   sizeof(sealed2), &n2));
	CU_ASSERT(memcmp(sealed, sealed2, KEYGEN_AEAD_IV_LEN) != 0); /* fresh IVs */
	EXPECT_OK(keygen_aead_open(key, 32, (const uint8_t *)"ad", 2, sealed, n, out, sizeof(out), &m));
	CU_ASSERT(m == sizeof(msg) && memcmp(out, msg, m) == 0);
	EXPECT_ERR(keygen_aead_open(key, 32, (const uint8_t *)"ae", 2, sealed, n, out, sizeof(out), &m),
		   ERR_UNWRAP);
	CU_ASSERT_EQUAL(m, 0);
	for (size_t i = 0; i < n; i += 7) {
		sealed[i] ^= 0x80;
		EXPECT_ERR(keygen_aead_open(key, 32, (const uint8_t *)"ad", 2, sealed, n, out,
					    sizeof(out), &m), ERR_UNWRAP);
		sealed[i] ^= 0x80;
	}
	EXPECT_ERR(keygen_aead_open(key, 32, NULL, 0, sealed, 10, out, sizeof(out), &m), ERR_UNWRAP);
	EXPECT_ERR(keygen_aead_seal(key, 31, NULL, 0, msg, 1, sealed, sizeof(sealed), &n),
		   ERR_INVALID_ARG);
}

/* ---- put / get ------------------------------------------------------------------ */

static void test_put_get_roundtrip(void)
{
	struct tdb t = {0};
	tdb_new(&t, "rt");
	struct store *s = tdb_open(&t);
	static const uint8_t name_ttlv[] = {0x42, 0x00, 0x53, 0x01, 0, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8};
	static const uint8_t big[] = {0x00, 0xff, 0x01};
	static const uint8_t bytes[] = {0, 1, 2, 0, 3};
	struct store_attr a[11];
	memset(a, 0, sizeof(a));
	a[0] = (struct store_attr){.name = "Name", .index = 0, .type = STORE_V_STRUCTURE,
				   .value = name_ttlv, .value_len = sizeof(name_ttlv),
				   .search = "my-key"};
	store_attr_int(&a[1], "x-int", 0, STORE_V_INTEGER, -5);
	store_attr_int(&a[2], "x-long", 0, STORE_V_LONG_INTEGER, INT64_C(1) << 40);
	a[3] = (struct store_attr){.name = "x-big", .type = STORE_V_BIG_INTEGER, .value = big,
				   .value_len = sizeof(big)};
	store_attr_int(&a[4], "x-enum", 0, STORE_V_ENUMERATION, 7);
	store_attr_int(&a[5], "x-bool", 0, STORE_V_BOOLEAN, 1);
	store_attr_text(&a[6], "Object Group", 0, "group-a");
	a[7] = (struct store_attr){.name = "x-bytes", .type = STORE_V_BYTES, .value = bytes,
				   .value_len = sizeof(bytes)};
	store_attr_int(&a[8], "x-date", 0, STORE_V_DATE_TIME, 1700000000);
	store_attr_int(&a[9], "x-interval", 0, STORE_V_INTERVAL, 3600);
	store_attr_text(&a[10], "Name", 1, "second-name");
	uint8_t key[32];
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 7 + 1);
	struct store_new_object n = {0};
	n.tenant = "alice";
	n.type = STORE_OBJ_SYMMETRIC_KEY;
	n.alg = STORE_ALG_AES;
	n.length = 256;
	n.usage_mask = 0;
	n.key_format = STORE_FMT_RAW;
	n.attrs = a;
	n.n_attrs = ARRAY_SIZE(a);
	n.material = key;
	n.material_len = sizeof(key);
	char id[STORE_ID_MAX + 1];
	time_t before = time(NULL);
	EXPECT_OK(store_put(s, &n, id));
	CU_ASSERT_EQUAL(strlen(id), 36);
	CU_ASSERT_EQUAL(id[14], '4'); /* UUID v4 */

	struct store_object o;
	EXPECT_OK(store_get(s, id, "alice", 0, &o));
	CU_ASSERT_STRING_EQUAL(o.id, id);
	CU_ASSERT_STRING_EQUAL(o.tenant, "alice");
	CU_ASSERT_EQUAL(o.type, STORE_OBJ_SYMMETRIC_KEY);
	CU_ASSERT_EQUAL(o.state, STORE_STATE_PRE_ACTIVE);
	CU_ASSERT_EQUAL(o.alg, STORE_ALG_AES);
	CU_ASSERT_EQUAL(o.length, 256);
	CU_ASSERT_EQUAL(o.usage_mask, 0);
	CU_ASSERT_EQUAL(o.key_format, STORE_FMT_RAW);
	CU_ASSERT(o.initial_date >= before && o.initial_date <= time(NULL));
	CU_ASSERT_EQUAL(o.last_change_date, o.initial_date);
	CU_ASSERT_EQUAL(o.original_creation_date, o.initial_date);
	CU_ASSERT_EQUAL(o.activation_date, 0);
	CU_ASSERT(o.has_material && o.has_digest);
	uint8_t d[32];
	EXPECT_OK(keygen_sha256(key, sizeof(key), d));
	CU_ASSERT(memcmp(o.digest, d, 32) == 0);
	CU_ASSERT_EQUAL(o.n_attrs, ARRAY_SIZE(a));
	for (size_t i = 0; i < ARRAY_SIZE(a); i++) {
		const struct store_attr *g = find_attr(&o, a[i].name, a[i].index);
		CU_ASSERT_PTR_NOT_NULL(g);
		if (g == NULL)
			continue;
		CU_ASSERT_EQUAL(g->type, a[i].type);
		CU_ASSERT_EQUAL(g->value_len, a[i].value_len);
		CU_ASSERT(memcmp(g->value, a[i].value, a[i].value_len) == 0);
	}
	int64_t v = 0;
	EXPECT_OK(store_attr_get_int(find_attr(&o, "x-int", 0), &v));
	CU_ASSERT_EQUAL(v, -5);
	store_object_free(&o);

	uint8_t *m = NULL;
	size_t ml = 0;
	EXPECT_OK(store_get_material(s, id, "alice", 0, &m, &ml));
	CU_ASSERT(ml == sizeof(key) && m != NULL && memcmp(m, key, ml) == 0);
	secmem_free(m, ml);

	/* an object without material */
	n.material = NULL;
	n.material_len = 0;
	n.n_attrs = 0;
	n.type = STORE_OBJ_OPAQUE;
	EXPECT_OK(store_put(s, &n, id));
	EXPECT_OK(store_get_material(s, id, "alice", 0, &m, &ml));
	CU_ASSERT(m == NULL && ml == 0);
	/* bad input */
	n.type = 9;
	EXPECT_ERR(store_put(s, &n, id), ERR_INVALID_ARG);
	n.type = STORE_OBJ_SECRET_DATA;
	struct store_attr dup[2];
	store_attr_text(&dup[0], "x-a", 0, "1");
	store_attr_text(&dup[1], "x-a", 0, "2");
	n.attrs = dup;
	n.n_attrs = 2;
	EXPECT_ERR(store_put(s, &n, id), ERR_INVALID_ARG);
	store_attr_int(&dup[0], "State", 0, STORE_V_ENUMERATION, 2);
	n.n_attrs = 1;
	EXPECT_ERR(store_put(s, &n, id), ERR_STORE_MANAGED_ATTR);
	EXPECT_ERR(store_get(s, "no-such-id", "alice", 0, &o), ERR_STORE_NOT_FOUND);
	store_close(s);
}

static void test_tenant_isolation(void)
{
	struct tdb t = {0};
	tdb_new(&t, "tenant");
	struct store *s = tdb_open(&t);
	uint8_t key[16] = {1};
	char id[STORE_ID_MAX + 1];
	EXPECT_OK(put_key(s, "A", key, sizeof(key), id));
	struct store_object o;
	uint8_t *m = NULL;
	size_t ml = 0;
	struct store_attr a;
	store_attr_text(&a, "x-note", 0, "hi");

	EXPECT_ERR(store_get(s, id, "B", 0, &o), ERR_STORE_NOT_FOUND);
	EXPECT_ERR(store_get_material(s, id, "B", 0, &m, &ml), ERR_STORE_NOT_FOUND);
	EXPECT_ERR(store_attr_add(s, id, "B", 0, &a, NULL), ERR_STORE_NOT_FOUND);
	EXPECT_ERR(store_attr_modify(s, id, "B", 0, &a), ERR_STORE_NOT_FOUND);
	EXPECT_ERR(store_attr_delete(s, id, "B", 0, "x-note", 0), ERR_STORE_NOT_FOUND);
	EXPECT_ERR(store_activate(s, id, "B", 0), ERR_STORE_NOT_FOUND);
	EXPECT_ERR(store_revoke(s, id, "B", 0, STORE_REVOKE_KEY_COMPROMISE, 0), ERR_STORE_NOT_FOUND);
	EXPECT_ERR(store_destroy(s, id, "B", 0), ERR_STORE_NOT_FOUND);
	struct store_query q = {0};
	struct store_found f;
	q.tenant = "B";
	EXPECT_OK(store_find(s, &q, &f));
	CU_ASSERT(f.n == 0 && f.total == 0);
	store_found_free(&f);
	/* the same answers as for an identifier nobody has */
	EXPECT_ERR(store_get(s, "8a1e2f9c-0000-4000-8000-000000000000", "A", 0, &o),
		   ERR_STORE_NOT_FOUND);

	/* nothing changed for A */
	EXPECT_OK(store_get(s, id, "A", 0, &o));
	CU_ASSERT_EQUAL(o.state, STORE_STATE_PRE_ACTIVE);
	CU_ASSERT_EQUAL(o.n_attrs, 0);
	store_object_free(&o);

	/* the admin flag sees and manages it */
	EXPECT_OK(store_get(s, id, "B", STORE_F_ADMIN, &o));
	store_object_free(&o);
	EXPECT_OK(store_get_material(s, id, "admin", STORE_F_ADMIN, &m, &ml));
	secmem_free(m, ml);
	EXPECT_OK(store_attr_add(s, id, "admin", STORE_F_ADMIN, &a, NULL));
	EXPECT_OK(store_activate(s, id, "admin", STORE_F_ADMIN));
	q.tenant = NULL;
	q.flags = STORE_F_ADMIN;
	EXPECT_OK(store_find(s, &q, &f));
	CU_ASSERT(f.n == 1 && strcmp(f.ids[0], id) == 0);
	store_found_free(&f);
	store_close(s);
}

/* ---- lifecycle ------------------------------------------------------------------- */

static uint32_t state_of(struct store *s, const char *id)
{
	struct store_object o;
	if (store_get(s, id, "T", 0, &o) != ERR_OK)
		return 0;
	uint32_t st = o.state;
	store_object_free(&o);
	return st;
}

static void test_lifecycle_allowed(void)
{
	struct tdb t = {0};
	tdb_new(&t, "life");
	struct store *s = tdb_open(&t);
	uint8_t key[16] = {2};
	char id[STORE_ID_MAX + 1];
	struct store_object o;

	/* Pre-Active -> Active -> Deactivated -> Compromised -> Destroyed Compromised */
	EXPECT_OK(put_key(s, "T", key, sizeof(key), id));
	EXPECT_OK(store_activate(s, id, "T", 0));
	EXPECT_OK(store_get(s, id, "T", 0, &o));
	CU_ASSERT_EQUAL(o.state, STORE_STATE_ACTIVE);
	CU_ASSERT(o.activation_date > 0);
	store_object_free(&o);
	EXPECT_OK(store_revoke(s, id, "T", 0, STORE_REVOKE_CESSATION_OF_OPERATION, 0));
	EXPECT_OK(store_get(s, id, "T", 0, &o));
	CU_ASSERT_EQUAL(o.state, STORE_STATE_DEACTIVATED);
	CU_ASSERT(o.deactivation_date > 0);
	CU_ASSERT_EQUAL(o.revocation_reason, STORE_REVOKE_CESSATION_OF_OPERATION);
	store_object_free(&o);
	EXPECT_OK(store_revoke(s, id, "T", 0, STORE_REVOKE_KEY_COMPROMISE, 1600000000));
	EXPECT_OK(store_get(s, id, "T", 0, &o));
	CU_ASSERT_EQUAL(o.state, STORE_STATE_COMPROMISED);
	CU_ASSERT(o.compromise_date > 0);
	CU_ASSERT_EQUAL(o.compromise_occurrence_date, 1600000000);
	store_object_free(&o);
	EXPECT_OK(store_destroy(s, id, "T", 0));
	CU_ASSERT_EQUAL(state_of(s, id), STORE_STATE_DESTROYED_COMPROMISED);

	/* Pre-Active -> Destroyed -> Destroyed Compromised */
	EXPECT_OK(put_key(s, "T", key, sizeof(key), id));
	EXPECT_OK(store_destroy(s, id, "T", 0));
	EXPECT_OK(store_get(s, id, "T", 0, &o));
	CU_ASSERT_EQUAL(o.state, STORE_STATE_DESTROYED);
	CU_ASSERT(o.destroy_date > 0);
	store_object_free(&o);
	EXPECT_OK(store_revoke(s, id, "T", 0, STORE_REVOKE_CA_COMPROMISE, 0));
	CU_ASSERT_EQUAL(state_of(s, id), STORE_STATE_DESTROYED_COMPROMISED);

	/* Pre-Active -> Deactivated -> Destroyed */
	EXPECT_OK(put_key(s, "T", key, sizeof(key), id));
	EXPECT_OK(store_revoke(s, id, "T", 0, STORE_REVOKE_SUPERSEDED, 0));
	CU_ASSERT_EQUAL(state_of(s, id), STORE_STATE_DEACTIVATED);
	EXPECT_OK(store_destroy(s, id, "T", 0));
	CU_ASSERT_EQUAL(state_of(s, id), STORE_STATE_DESTROYED);

	/* Pre-Active -> Compromised; Active -> Compromised */
	EXPECT_OK(put_key(s, "T", key, sizeof(key), id));
	EXPECT_OK(store_revoke(s, id, "T", 0, STORE_REVOKE_KEY_COMPROMISE, 0));
	CU_ASSERT_EQUAL(state_of(s, id), STORE_STATE_COMPROMISED);
	EXPECT_OK(put_key(s, "T", key, sizeof(key), id));
	EXPECT_OK(store_activate(s, id, "T", 0));
	EXPECT_OK(store_revoke(s, id, "T", 0, STORE_REVOKE_KEY_COMPROMISE, 0));
	CU_ASSERT_EQUAL(state_of(s, id), STORE_STATE_COMPROMISED);

	/* an Activation Date in the past or now starts Active; in the future Pre-Active */
	struct store_new_object n = {0};
	n.tenant = "T";
	n.type = STORE_OBJ_SECRET_DATA;
	n.activation_date = time(NULL) - 10;
	EXPECT_OK(store_put(s, &n, id));
	CU_ASSERT_EQUAL(state_of(s, id), STORE_STATE_ACTIVE);
	n.activation_date = time(NULL);
	EXPECT_OK(store_put(s, &n, id));
	CU_ASSERT_EQUAL(state_of(s, id), STORE_STATE_ACTIVE);
	n.activation_date = time(NULL) + 3600;
	EXPECT_OK(store_put(s, &n, id));
	CU_ASSERT_EQUAL(state_of(s, id), STORE_STATE_PRE_ACTIVE);
	store_close(s);
}

static void test_lifecycle_refused(void)
{
	struct tdb t = {0};
	tdb_new(&t, "refuse");
	struct store *s = tdb_open(&t);
	uint8_t key[16] = {3};
	char id[STORE_ID_MAX + 1];

	EXPECT_OK(put_key(s, "T", key, sizeof(key), id));
	EXPECT_OK(store_activate(s, id, "T", 0));
	EXPECT_ERR(store_activate(s, id, "T", 0), ERR_STORE_STATE);
	/* SKLC-M-2-14: Destroy of an Active object */
	EXPECT_ERR(store_destroy(s, id, "T", 0), ERR_STORE_ACTIVE);
	CU_ASSERT_EQUAL(state_of(s, id), STORE_STATE_ACTIVE);
	EXPECT_ERR(store_revoke(s, id, "T", 0, 99, 0), ERR_INVALID_ARG);
	EXPECT_OK(store_revoke(s, id, "T", 0, STORE_REVOKE_UNSPECIFIED, 0));
	/* Deactivated: no activate, no second non-compromise revoke */
	EXPECT_ERR(store_activate(s, id, "T", 0), ERR_STORE_STATE);
	EXPECT_ERR(store_revoke(s, id, "T", 0, STORE_REVOKE_UNSPECIFIED, 0), ERR_STORE_STATE);
	EXPECT_OK(store_revoke(s, id, "T", 0, STORE_REVOKE_KEY_COMPROMISE, 0));
	/* Compromised: no activate, no revoke of either kind */
	EXPECT_ERR(store_activate(s, id, "T", 0), ERR_STORE_STATE);
	EXPECT_ERR(store_revoke(s, id, "T", 0, STORE_REVOKE_UNSPECIFIED, 0), ERR_STORE_STATE);
	EXPECT_ERR(store_revoke(s, id, "T", 0, STORE_REVOKE_KEY_COMPROMISE, 0), ERR_STORE_STATE);
	EXPECT_OK(store_destroy(s, id, "T", 0));
	/* Destroyed Compromised: nothing */
	EXPECT_ERR(store_activate(s, id, "T", 0), ERR_STORE_STATE);
	EXPECT_ERR(store_destroy(s, id, "T", 0), ERR_STORE_DESTROYED);
	EXPECT_ERR(store_revoke(s, id, "T", 0, STORE_REVOKE_KEY_COMPROMISE, 0), ERR_STORE_STATE);
	EXPECT_ERR(store_revoke(s, id, "T", 0, STORE_REVOKE_UNSPECIFIED, 0), ERR_STORE_STATE);
	CU_ASSERT_EQUAL(state_of(s, id), STORE_STATE_DESTROYED_COMPROMISED);

	/* Destroyed: no activate, revoke (non-compromise) or destroy */
	EXPECT_OK(put_key(s, "T", key, sizeof(key), id));
	EXPECT_OK(store_destroy(s, id, "T", 0));
	EXPECT_ERR(store_activate(s, id, "T", 0), ERR_STORE_STATE);
	EXPECT_ERR(store_revoke(s, id, "T", 0, STORE_REVOKE_UNSPECIFIED, 0), ERR_STORE_STATE);
	EXPECT_ERR(store_destroy(s, id, "T", 0), ERR_STORE_DESTROYED);
	store_close(s);
}

static int64_t material_rows(const struct tdb *t, const char *id)
{
	char sql[128];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM material WHERE id = '%s'", id);
	return sql_int(t, sql);
}

static void test_destroy_wipes_material(void)
{
	struct tdb t = {0};
	tdb_new(&t, "wipe");
	struct store *s = tdb_open(&t);
	uint8_t key[32];
	memset(key, 0x5a, sizeof(key));
	char id[STORE_ID_MAX + 1];
	struct store_attr a;
	store_attr_text(&a, "Name", 0, "to-destroy");
	struct store_new_object n = {0};
	n.tenant = "T";
	n.type = STORE_OBJ_SYMMETRIC_KEY;
	n.attrs = &a;
	n.n_attrs = 1;
	n.material = key;
	n.material_len = sizeof(key);
	EXPECT_OK(store_put(s, &n, id));
	CU_ASSERT_EQUAL(material_rows(&t, id), 1);
	EXPECT_OK(store_destroy(s, id, "T", 0));
	CU_ASSERT_EQUAL(material_rows(&t, id), 0);
	uint8_t *m = NULL;
	size_t ml = 0;
	EXPECT_ERR(store_get_material(s, id, "T", 0, &m, &ml), ERR_STORE_DESTROYED);
	CU_ASSERT_PTR_NULL(m);
	struct store_object o;
	EXPECT_OK(store_get(s, id, "T", 0, &o));
	CU_ASSERT(!o.has_material);
	CU_ASSERT(o.has_digest); /* the attributes stay, the Digest among them */
	CU_ASSERT_PTR_NOT_NULL(find_attr(&o, "Name", 0));
	store_object_free(&o);
	store_close(s);
}

/* ---- attributes -------------------------------------------------------------------- */

static void test_managed_attrs_refused(void)
{
	struct tdb t = {0};
	tdb_new(&t, "managed");
	struct store *s = tdb_open(&t);
	uint8_t key[16] = {4};
	char id[STORE_ID_MAX + 1];
	EXPECT_OK(put_key(s, "T", key, sizeof(key), id));
	static const char *const names[] = {"Unique Identifier", "Object Type", "State",
					    "Initial Date", "Last Change Date", "Digest",
					    "Destroy Date", "Cryptographic Algorithm"};
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		struct store_attr a;
		store_attr_int(&a, names[i], 0, STORE_V_INTEGER, 1);
		CU_ASSERT(store_attr_is_managed(names[i]));
		EXPECT_ERR(store_attr_add(s, id, "T", 0, &a, NULL), ERR_STORE_MANAGED_ATTR);
		EXPECT_ERR(store_attr_modify(s, id, "T", 0, &a), ERR_STORE_MANAGED_ATTR);
		EXPECT_ERR(store_attr_delete(s, id, "T", 0, names[i], 0), ERR_STORE_MANAGED_ATTR);
	}
	CU_ASSERT(!store_attr_is_managed("Name"));
	CU_ASSERT(!store_attr_is_managed("x-anything"));
	store_close(s);
}

static void test_attr_add_modify_delete(void)
{
	struct tdb t = {0};
	tdb_new(&t, "attrs");
	struct store *s = tdb_open(&t);
	uint8_t key[16] = {5};
	char id[STORE_ID_MAX + 1];
	EXPECT_OK(put_key(s, "T", key, sizeof(key), id));
	struct store_object o;
	EXPECT_OK(store_get(s, id, "T", 0, &o));
	int64_t lc0 = o.last_change_date;
	store_object_free(&o);
	sleep(1); /* Last Change Date has one-second resolution */

	struct store_attr a;
	uint32_t idx = 99;
	store_attr_text(&a, "x-tag", 0, "one");
	EXPECT_OK(store_attr_add(s, id, "T", 0, &a, &idx));
	CU_ASSERT_EQUAL(idx, 0);
	store_attr_text(&a, "x-tag", 0, "two");
	EXPECT_OK(store_attr_add(s, id, "T", 0, &a, &idx));
	CU_ASSERT_EQUAL(idx, 1);
	store_attr_text(&a, "x-tag", 0, "three");
	EXPECT_OK(store_attr_add(s, id, "T", 0, &a, &idx));
	CU_ASSERT_EQUAL(idx, 2);
	/* a single-valued attribute once only */
	store_attr_text(&a, "Contact Information", 0, "ops@example.com");
	EXPECT_OK(store_attr_add(s, id, "T", 0, &a, &idx));
	CU_ASSERT_EQUAL(idx, 0);
	EXPECT_ERR(store_attr_add(s, id, "T", 0, &a, &idx), ERR_STORE_ATTR_EXISTS);

	/* modify by name and index */
	store_attr_text(&a, "x-tag", 1, "TWO");
	EXPECT_OK(store_attr_modify(s, id, "T", 0, &a));
	store_attr_text(&a, "x-tag", 7, "none");
	EXPECT_ERR(store_attr_modify(s, id, "T", 0, &a), ERR_STORE_ATTR_NOT_FOUND);
	store_attr_int(&a, "x-tag", 2, STORE_V_INTEGER, 3); /* the type may change */
	EXPECT_OK(store_attr_modify(s, id, "T", 0, &a));

	EXPECT_OK(store_get(s, id, "T", 0, &o));
	CU_ASSERT(o.last_change_date > lc0);
	const struct store_attr *g = find_attr(&o, "x-tag", 1);
	CU_ASSERT(g != NULL && g->value_len == 3 && memcmp(g->value, "TWO", 3) == 0);
	g = find_attr(&o, "x-tag", 2);
	CU_ASSERT(g != NULL && g->type == STORE_V_INTEGER);
	store_object_free(&o);

	/* delete one index, then all; the next add takes the next free index */
	EXPECT_OK(store_attr_delete(s, id, "T", 0, "x-tag", 0));
	EXPECT_ERR(store_attr_delete(s, id, "T", 0, "x-tag", 0), ERR_STORE_ATTR_NOT_FOUND);
	store_attr_text(&a, "x-tag", 0, "four");
	EXPECT_OK(store_attr_add(s, id, "T", 0, &a, &idx));
	CU_ASSERT_EQUAL(idx, 3);
	EXPECT_OK(store_attr_delete(s, id, "T", 0, "x-tag", STORE_ALL_INDEXES));
	EXPECT_ERR(store_attr_delete(s, id, "T", 0, "x-tag", STORE_ALL_INDEXES),
		   ERR_STORE_ATTR_NOT_FOUND);
	EXPECT_OK(store_get(s, id, "T", 0, &o));
	CU_ASSERT_EQUAL(o.n_attrs, 1); /* Contact Information */
	store_object_free(&o);
	EXPECT_ERR(store_attr_add(s, "nope", "T", 0, &a, &idx), ERR_STORE_NOT_FOUND);
	store_close(s);
}

/* ---- find --------------------------------------------------------------------------- */

static void test_find_filters(void)
{
	struct tdb t = {0};
	tdb_new(&t, "find");
	struct store *s = tdb_open(&t);
	char ids[6][STORE_ID_MAX + 1];
	uint8_t key[32] = {6};
	/* 0: AES-128 "k0" group g1; 1: AES-256 "k1" g1 x-color=red; 2: AES-256 secret data
	 * "k2"; 3: RSA private "k3" g2 Active; 4: AES-256 "k4" destroyed; 5: other tenant */
	for (int i = 0; i < 6; i++) {
		struct store_attr a[3];
		char name[8];
		snprintf(name, sizeof(name), "k%u", (unsigned)i % 10u);
		size_t na = 0;
		store_attr_text(&a[na++], "Name", 0, name);
		if (i == 0 || i == 1)
			store_attr_text(&a[na++], "Object Group", 0, "g1");
		if (i == 3)
			store_attr_text(&a[na++], "Object Group", 0, "g2");
		if (i == 1)
			store_attr_text(&a[na++], "x-color", 0, "red");
		struct store_new_object n = {0};
		n.tenant = i == 5 ? "other" : "T";
		n.type = i == 2 ? STORE_OBJ_SECRET_DATA : i == 3 ? STORE_OBJ_PRIVATE_KEY
								 : STORE_OBJ_SYMMETRIC_KEY;
		n.alg = i == 3 ? STORE_ALG_RSA : STORE_ALG_AES;
		n.length = i == 0 ? 128 : i == 3 ? 2048 : 256;
		n.attrs = a;
		n.n_attrs = na;
		n.material = key;
		n.material_len = sizeof(key);
		if (i == 3)
			n.activation_date = 1000;
		EXPECT_OK(store_put(s, &n, ids[i]));
	}
	EXPECT_OK(store_destroy(s, ids[4], "T", 0));

	struct store_query q = {0};
	struct store_found f;
	q.tenant = "T";
	/* destroyed hidden by default; creation order */
	EXPECT_OK(store_find(s, &q, &f));
	CU_ASSERT_EQUAL(f.total, 4);
	CU_ASSERT_EQUAL_FATAL(f.n, 4);
	CU_ASSERT_STRING_EQUAL(f.ids[0], ids[0]);
	CU_ASSERT_STRING_EQUAL(f.ids[1], ids[1]);
	CU_ASSERT_STRING_EQUAL(f.ids[2], ids[2]);
	CU_ASSERT_STRING_EQUAL(f.ids[3], ids[3]);
	store_found_free(&f);
	/* offset and max, total unchanged */
	q.offset = 1;
	q.max_items = 2;
	EXPECT_OK(store_find(s, &q, &f));
	CU_ASSERT_EQUAL(f.total, 4);
	CU_ASSERT_EQUAL_FATAL(f.n, 2);
	CU_ASSERT_STRING_EQUAL(f.ids[0], ids[1]);
	CU_ASSERT_STRING_EQUAL(f.ids[1], ids[2]);
	store_found_free(&f);
	q.offset = 10;
	q.max_items = 0;
	EXPECT_OK(store_find(s, &q, &f));
	CU_ASSERT(f.total == 4 && f.n == 0);
	store_found_free(&f);
	q.offset = 0;

#define FIND1(setup, want_id)                                                      \
	do {                                                                       \
		struct store_query q1 = {0};                                       \
		q1.tenant = "T";                                                   \
		setup;                                                             \
		EXPECT_OK(store_find(s, &q1, &f));                                 \
		CU_ASSERT_EQUAL(f.total, 1);                                       \
		CU_ASSERT(f.n == 1 && strcmp(f.ids[0], (want_id)) == 0);           \
		store_found_free(&f);                                              \
	} while (0)
	FIND1(q1.type = STORE_OBJ_SECRET_DATA, ids[2]);
	FIND1(q1.state = STORE_STATE_ACTIVE, ids[3]);
	FIND1(q1.state = STORE_STATE_DESTROYED, ids[4]);
	FIND1(q1.alg = STORE_ALG_RSA, ids[3]);
	FIND1(q1.length = 128, ids[0]);
	FIND1(q1.name = "k1", ids[1]);
	FIND1(q1.group = "g2", ids[3]);
	FIND1((q1.group = "g1", q1.length = 256), ids[1]);
	FIND1((q1.activation_from = 1, q1.activation_to = 2000), ids[3]);
	struct store_attr red;
	store_attr_text(&red, "x-color", 0, "red");
	FIND1((q1.custom = &red, q1.n_custom = 1), ids[1]);

	/* no match */
	q.name = "k5"; /* the other tenant's */
	EXPECT_OK(store_find(s, &q, &f));
	CU_ASSERT(f.total == 0 && f.n == 0);
	store_found_free(&f);
	q.name = NULL;
	store_attr_text(&red, "x-color", 0, "blue");
	q.custom = &red;
	q.n_custom = 1;
	EXPECT_OK(store_find(s, &q, &f));
	CU_ASSERT(f.total == 0);
	store_found_free(&f);
	q.custom = NULL;
	q.n_custom = 0;
	/* Initial Date range */
	q.initial_from = time(NULL) - 100;
	q.initial_to = time(NULL) + 100;
	EXPECT_OK(store_find(s, &q, &f));
	CU_ASSERT_EQUAL(f.total, 4);
	store_found_free(&f);
	q.initial_to = 1000;
	EXPECT_OK(store_find(s, &q, &f));
	CU_ASSERT_EQUAL(f.total, 0);
	store_found_free(&f);
	store_close(s);
}

/* A Locate by an attribute (Name, Object Group, a custom one) starts from
 * the attributes' index and reads each object by its key: its cost does
 * not grow with the tenant's objects. Before, SQLite walked the tenant's
 * whole objects_tenant_order index and probed the attributes once per
 * object (a soak fell from 2,200 to 470 operations a second as its store
 * grew). The plans SQLite makes for store_where_build's clause, on a
 * store with objects in it. */
static void test_find_plan(void)
{
	struct tdb t = {0};
	tdb_new(&t, "findplan");
	struct store *s = tdb_open(&t);
	uint8_t key[32] = {6};
	char id[STORE_ID_MAX + 1];
	for (int i = 0; i < 50; i++) {
		struct store_attr a;
		char name[16];
		snprintf(name, sizeof(name), "n%d", i);
		store_attr_text(&a, "Name", 0, name);
		struct store_new_object n = {.tenant = "T", .type = STORE_OBJ_SYMMETRIC_KEY, .alg = STORE_ALG_AES,
					     .length = 256, .attrs = &a, .n_attrs = 1, .material = key,
					     .material_len = sizeof(key)};
		EXPECT_OK(store_put(s, &n, id));
	}
	store_close(s);
	struct store_attr red;
	store_attr_text(&red, "x-color", 0, "red");
	struct store_query qs[3] = {{.tenant = "T", .name = "n7"}, {.tenant = "T", .group = "g"},
				    {.tenant = "T", .custom = &red, .n_custom = 1}};
	sqlite3 *h = NULL;
	CU_ASSERT_EQUAL_FATAL(sqlite3_open_v2(t.db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	for (size_t i = 0; i < ARRAY_SIZE(qs); i++) {
		struct store_where w;
		store_where_build(&w, &qs[i], '?');
		char sql[4400];
		snprintf(sql, sizeof(sql), "EXPLAIN QUERY PLAN SELECT o.id%s ORDER BY o.created_ns, o.id", w.sql);
		sqlite3_stmt *st = NULL;
		CU_ASSERT_EQUAL_FATAL(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
		bool by_key = false, walks = false;
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *d = (const char *)sqlite3_column_text(st, 3);
			if (d == NULL)
				continue;
			by_key |= strstr(d, "SEARCH o USING PRIMARY KEY") != NULL;
			if (strstr(d, "objects_tenant_order") != NULL || strncmp(d, "SCAN o", 6) == 0) {
				walks = true;
				fprintf(stderr, "\n  query %zu walks the objects: %s\n", i, d);
			}
		}
		sqlite3_finalize(st);
		CU_ASSERT_TRUE(by_key);
		CU_ASSERT_FALSE(walks);
	}
	sqlite3_close(h);
}

/* ---- sealing and the KEK --------------------------------------------------------------- */

static void test_seal_tamper(void)
{
	struct tdb t = {0};
	tdb_new(&t, "tamper");
	struct store *s = tdb_open(&t);
	uint8_t key[32] = {9, 9, 9};
	char id[STORE_ID_MAX + 1], id2[STORE_ID_MAX + 1];
	EXPECT_OK(put_key(s, "T", key, sizeof(key), id));
	EXPECT_OK(put_key(s, "T", key, sizeof(key), id2));
	store_close(s);

	/* flip one byte of |id|'s sealed blob (in its ciphertext) */
	if (t.url[0] != '\0') {
		char sql[200];
		snprintf(sql, sizeof(sql),
			 "UPDATE material SET sealed = set_byte(sealed, 20, get_byte(sealed, 20) # 1) WHERE id = '%s'", id);
		CU_ASSERT_EQUAL(sql_exec(&t, sql), SQLITE_OK);
	} else {
		sqlite3 *h = NULL;
		sqlite3_stmt *st = NULL;
		uint8_t blob[256];
		int bl = 0;
		CU_ASSERT_EQUAL_FATAL(sqlite3_open(t.db, &h), SQLITE_OK);
		CU_ASSERT_EQUAL(sqlite3_prepare_v2(h, "SELECT sealed FROM material WHERE id = ?", -1, &st, NULL), SQLITE_OK);
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		CU_ASSERT_EQUAL(sqlite3_step(st), SQLITE_ROW);
		bl = sqlite3_column_bytes(st, 0);
		CU_ASSERT_FATAL(bl > 30 && bl <= (int)sizeof(blob));
		memcpy(blob, sqlite3_column_blob(st, 0), (size_t)bl);
		sqlite3_finalize(st);
		blob[20] ^= 0x01;
		CU_ASSERT_EQUAL(sqlite3_prepare_v2(h, "UPDATE material SET sealed = ? WHERE id = ?", -1, &st, NULL), SQLITE_OK);
		sqlite3_bind_blob(st, 1, blob, bl, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
		CU_ASSERT_EQUAL(sqlite3_step(st), SQLITE_DONE);
		sqlite3_finalize(st);
		sqlite3_close(h);
	}

	s = tdb_open(&t);
	uint8_t *m = NULL;
	size_t ml = 0;
	EXPECT_ERR(store_get_material(s, id, "T", 0, &m, &ml), ERR_STORE_SEAL);
	CU_ASSERT(m == NULL && ml == 0);
	EXPECT_OK(store_get_material(s, id2, "T", 0, &m, &ml));
	secmem_free(m, ml);
	struct store_verify_result v;
	EXPECT_OK(store_verify(s, &v));
	CU_ASSERT_EQUAL(v.checked, 2);
	CU_ASSERT_EQUAL(v.failed, 1);
	CU_ASSERT(v.n_failed_ids == 1 && strcmp(v.failed_ids[0], id) == 0);
	store_verify_free(&v);
	store_close(s);
}

static void test_seal_moved_record(void)
{
	struct tdb t = {0};
	tdb_new(&t, "moved");
	struct store *s = tdb_open(&t);
	uint8_t k1[32] = {1}, k2[32] = {2};
	char a[STORE_ID_MAX + 1], b[STORE_ID_MAX + 1];
	EXPECT_OK(put_key(s, "T", k1, sizeof(k1), a));
	EXPECT_OK(put_key(s, "T", k2, sizeof(k2), b));
	store_close(s);
	char sql[512];
	snprintf(sql, sizeof(sql),
		 "UPDATE material SET sealed = (SELECT sealed FROM material WHERE id = '%s') WHERE id = '%s'",
		 a, b);
	CU_ASSERT_EQUAL(sql_exec(&t, sql), SQLITE_OK);
	/* and an object relabelled with another type */
	snprintf(sql, sizeof(sql), "UPDATE objects SET type = 7 WHERE id = '%s'", a);
	CU_ASSERT_EQUAL(sql_exec(&t, sql), SQLITE_OK);
	s = tdb_open(&t);
	uint8_t *m = NULL;
	size_t ml = 0;
	EXPECT_ERR(store_get_material(s, b, "T", 0, &m, &ml), ERR_STORE_SEAL);
	EXPECT_ERR(store_get_material(s, a, "T", 0, &m, &ml), ERR_STORE_SEAL);
	struct store_verify_result v;
	EXPECT_OK(store_verify(s, &v));
	CU_ASSERT(v.checked == 2 && v.failed == 2);
	store_verify_free(&v);
	store_close(s);
}

static void test_other_kek_refused(void)
{
	struct tdb t = {0};
	tdb_new(&t, "kek");
	struct store *s = tdb_open(&t);
	char path[300];
	snprintf(path, sizeof(path), "%s/store.kek", t.dir);
	struct stat st;
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	CU_ASSERT_EQUAL(st.st_size, 32);
	uint8_t key[16] = {1};
	char id[STORE_ID_MAX + 1];
	EXPECT_OK(put_key(s, "T", key, sizeof(key), id));
	store_close(s);

	/* another KEK file: refused at open, with one clear line */
	char other[300], spec[310], eb[512];
	snprintf(other, sizeof(other), "%s/other.kek", t.dir);
	int fd = open(other, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	uint8_t k2[32];
	memset(k2, 0x42, sizeof(k2));
	CU_ASSERT_EQUAL(write(fd, k2, sizeof(k2)), 32);
	close(fd);
	snprintf(spec, sizeof(spec), "file:%s", other);
	struct store_options o = {.path = t.db, .kek = spec, .url = TDB_URL(&t)};
	EXPECT_ERR(store_open(&o, &s, eb, sizeof(eb)), ERR_STORE_KEK);
	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT_PTR_NOT_NULL(strstr(eb, "different key-encryption key"));
	CU_ASSERT_PTR_NULL(strchr(eb, '\n'));

	/* the original KEK gone: refused, and no new one is made */
	char moved[320];
	snprintf(moved, sizeof(moved), "%s.bak", path);
	CU_ASSERT_EQUAL(rename(path, moved), 0);
	o.kek = t.kek;
	EXPECT_ERR(store_open(&o, &s, eb, sizeof(eb)), ERR_STORE_KEK);
	CU_ASSERT_NOT_EQUAL(access(path, F_OK), 0);
	CU_ASSERT_EQUAL(rename(moved, path), 0);

	/* mode wider than 0600, and the wrong size */
	CU_ASSERT_EQUAL(chmod(path, 0640), 0);
	EXPECT_ERR(store_open(&o, &s, eb, sizeof(eb)), ERR_STORE_KEK);
	CU_ASSERT_PTR_NOT_NULL(strstr(eb, "wider than 0600"));
	CU_ASSERT_EQUAL(chmod(path, 0600), 0);
	CU_ASSERT_EQUAL(truncate(path, 31), 0);
	EXPECT_ERR(store_open(&o, &s, eb, sizeof(eb)), ERR_STORE_KEK);
	CU_ASSERT_PTR_NOT_NULL(strstr(eb, "31 bytes"));
	CU_ASSERT_EQUAL(truncate(other, 33), 0);
	o.kek = spec;
	EXPECT_ERR(store_open(&o, &s, eb, sizeof(eb)), ERR_STORE_KEK);
	o.kek = "nonsense";
	EXPECT_ERR(store_open(&o, &s, eb, sizeof(eb)), ERR_CONFIG);
	o.kek = "hsm:label"; /* no HSM given */
	EXPECT_ERR(store_open(&o, &s, eb, sizeof(eb)), ERR_CONFIG);
}

static void test_hsm_kek(void)
{
	struct config c = cfg;
	struct hsm *h = NULL;
	CU_ASSERT_EQUAL_FATAL(testlib_softhsm_setup(), 0);
	CU_ASSERT_EQUAL_FATAL(testlib_softhsm_token("store-test", "store-pin-1"), 0);
	snprintf(c.hsm[0].module, sizeof(c.hsm[0].module), "%s", TESTLIB_SOFTHSM_MODULE);
	snprintf(c.hsm[0].token, sizeof(c.hsm[0].token), "store-test");
	c.hsm[0].pool_size = 2;
	setenv("FOUNT_HSM_PIN", "store-pin-1", 1);
	err_t r = hsm_open(&c.hsm[0], &h);
	unsetenv("FOUNT_HSM_PIN");
	EXPECT_OK(r);
	if (r != ERR_OK) {
		testlib_softhsm_cleanup();
		return;
	}
	uint8_t kek[32];
	EXPECT_OK(drbg_generate(kek, sizeof(kek)));
	EXPECT_OK(hsm_kek_install(h, "store-kek", kek, sizeof(kek), 0));
	EXPECT_OK(hsm_kek_install(h, "other-kek", kek + 1, 16, 0));

	struct tdb t = {0};
	tdb_new(&t, "hsmkek");
	struct store_options o = {.path = t.db, .kek = "hsm:store-kek", .hsm = h, .url = TDB_URL(&t)};
	struct store *s = NULL;
	char eb[512], id[STORE_ID_MAX + 1];
	uint8_t key[32] = {0x11};
	EXPECT_OK(store_open(&o, &s, eb, sizeof(eb)));
	if (s != NULL) {
		EXPECT_OK(put_key(s, "T", key, sizeof(key), id));
		store_close(s);
		s = NULL;
	}
	EXPECT_OK(store_open(&o, &s, eb, sizeof(eb)));
	if (s != NULL) {
		uint8_t *m = NULL;
		size_t ml = 0;
		EXPECT_OK(store_get_material(s, id, "T", 0, &m, &ml));
		CU_ASSERT(ml == sizeof(key) && m && memcmp(m, key, ml) == 0);
		secmem_free(m, ml);
		store_close(s);
		s = NULL;
	}
	o.kek = "hsm:other-kek";
	EXPECT_ERR(store_open(&o, &s, eb, sizeof(eb)), ERR_STORE_KEK);
	o.kek = t.kek; /* a key file for a database made under the HSM */
	EXPECT_ERR(store_open(&o, &s, eb, sizeof(eb)), ERR_STORE_KEK);
	hsm_close(h);
	testlib_softhsm_cleanup();
}

/* KMIP 1.4 §3.2: Names are unique within a key management domain (a
 * tenant): a second live object of the tenant cannot take a Name, by put,
 * add or modify; another tenant can; destroying an object releases its
 * Names; deleting or renaming the instance releases the old one. */
static void test_names_unique(void)
{
	struct tdb t = {0};
	tdb_new(&t, "names");
	struct store *s = tdb_open(&t);
	uint8_t key[16] = {9};
	char a_id[STORE_ID_MAX + 1], b_id[STORE_ID_MAX + 1], c_id[STORE_ID_MAX + 1], id[STORE_ID_MAX + 1];
	struct store_attr nm;
	store_attr_text(&nm, "Name", 0, "k");
	struct store_new_object n = {.tenant = "T", .type = STORE_OBJ_SYMMETRIC_KEY, .alg = STORE_ALG_AES,
				     .length = 128, .key_format = STORE_FMT_RAW, .attrs = &nm, .n_attrs = 1,
				     .material = key, .material_len = sizeof(key)};
	EXPECT_OK(store_put(s, &n, a_id));
	EXPECT_ERR(store_put(s, &n, id), ERR_STORE_NAME_TAKEN);
	CU_ASSERT_EQUAL(id[0], '\0');
	/* the search text of a Name structure counts the same */
	struct store_attr st_nm = {.name = "Name", .type = STORE_V_STRUCTURE, .value = key, .value_len = 8,
				   .search = "k"};
	n.attrs = &st_nm;
	EXPECT_ERR(store_put(s, &n, id), ERR_STORE_NAME_TAKEN);
	n.tenant = "U";
	EXPECT_OK(store_put(s, &n, c_id));
	/* add and modify refuse a taken name; a free one works */
	n.tenant = "T";
	n.n_attrs = 0;
	EXPECT_OK(store_put(s, &n, b_id));
	EXPECT_ERR(store_attr_add(s, b_id, "T", 0, &nm, NULL), ERR_STORE_NAME_TAKEN);
	struct store_attr other;
	store_attr_text(&other, "Name", 0, "other");
	EXPECT_OK(store_attr_add(s, b_id, "T", 0, &other, NULL));
	EXPECT_ERR(store_attr_modify(s, b_id, "T", 0, &nm), ERR_STORE_NAME_TAKEN);
	/* renaming a's "k" frees it, then b can take it by modify */
	struct store_attr renamed;
	store_attr_text(&renamed, "Name", 0, "k-old");
	EXPECT_OK(store_attr_modify(s, a_id, "T", 0, &renamed));
	EXPECT_OK(store_attr_modify(s, b_id, "T", 0, &nm));
	/* deleting b's Name frees "k"; destroying a frees "k-old" */
	EXPECT_OK(store_attr_delete(s, b_id, "T", 0, "Name", 0));
	n.attrs = &nm;
	n.n_attrs = 1;
	EXPECT_OK(store_put(s, &n, id));
	n.attrs = &renamed;
	EXPECT_ERR(store_put(s, &n, id), ERR_STORE_NAME_TAKEN);
	EXPECT_OK(store_destroy(s, a_id, "T", 0));
	EXPECT_OK(store_put(s, &n, id));
	store_close(s);
}

/* ---- migrations -------------------------------------------------------------------------- */

static void test_migrations(void)
{
	struct tdb t = {0};
	tdb_new(&t, "migrate");
	store_testing_extra_migration(NULL);
	/* the versions relative to what this code knows (base), so that a
	 * new migration needs no change here */
	const unsigned base = store_schema_version();
	CU_ASSERT(base >= 3);
	struct store *s = tdb_open(&t);
	struct store_stats st;
	store_stats(s, &st);
	CU_ASSERT_EQUAL(st.schema_version, base);
	uint8_t key[16] = {7};
	char id[STORE_ID_MAX + 1];
	EXPECT_OK(put_key(s, "T", key, sizeof(key), id));
	store_close(s);

	/* a database made by migration base opened by code that knows base + 1 */
	store_testing_extra_migration("CREATE TABLE migration_two(x INTEGER);"
				      "ALTER TABLE objects ADD COLUMN extra INTEGER NOT NULL DEFAULT 0;");
	CU_ASSERT_EQUAL(store_schema_version(), base + 1);
	s = tdb_open(&t);
	store_stats(s, &st);
	CU_ASSERT_EQUAL(st.schema_version, base + 1);
	uint8_t *m = NULL;
	size_t ml = 0;
	EXPECT_OK(store_get_material(s, id, "T", 0, &m, &ml));
	CU_ASSERT(ml == sizeof(key) && memcmp(m, key, ml) == 0);
	secmem_free(m, ml);
	EXPECT_OK(put_key(s, "T", key, sizeof(key), id));
	store_close(s);
	CU_ASSERT_EQUAL(sql_exec(&t, "INSERT INTO migration_two VALUES (1)"), SQLITE_OK);

	/* and back on code that knows only base: refused, naming both versions */
	store_testing_extra_migration(NULL);
	struct store_options o = {.path = t.db, .kek = t.kek, .url = TDB_URL(&t)};
	char eb[512], newer[32], known[16];
	snprintf(newer, sizeof(newer), "schema version %u", base + 1);
	snprintf(known, sizeof(known), "(%u)", base);
	s = NULL;
	EXPECT_ERR(store_open(&o, &s, eb, sizeof(eb)), ERR_STORE_SCHEMA);
	CU_ASSERT_PTR_NOT_NULL(strstr(eb, newer));
	CU_ASSERT_PTR_NOT_NULL(strstr(eb, known));
}

/* Migration 2 on a database of schema 1 whose tenant has a Name twice
 * (allowed then): the oldest object keeps the name, the other keeps its
 * attribute, and the name is enforced from then on. */
static void test_names_migration(void)
{
	struct tdb t = {0};
	tdb_new(&t, "names-mig");
	struct store *s = tdb_open(&t);
	uint8_t key[16] = {3};
	char a_id[STORE_ID_MAX + 1], b_id[STORE_ID_MAX + 1], id[STORE_ID_MAX + 1];
	struct store_attr nm;
	store_attr_text(&nm, "Name", 0, "dup");
	struct store_new_object n = {.tenant = "T", .type = STORE_OBJ_SYMMETRIC_KEY, .alg = STORE_ALG_AES,
				     .length = 128, .key_format = STORE_FMT_RAW, .attrs = &nm, .n_attrs = 1,
				     .material = key, .material_len = sizeof(key)};
	EXPECT_OK(store_put(s, &n, a_id));
	store_attr_text(&nm, "Name", 0, "dup2");
	EXPECT_OK(store_put(s, &n, b_id));
	store_close(s);
	/* back to schema 1, with both objects named "dup" */
	CU_ASSERT_EQUAL(sql_exec(&t, "DROP TABLE names; ALTER TABLE objects DROP COLUMN data_type;"
				       " ALTER TABLE objects DROP COLUMN protection;"
				       " ALTER TABLE access_log DROP COLUMN lease_end; DROP TABLE events; DROP TABLE leases; DROP TABLE lease_fold;"
				       " UPDATE attributes SET value = CAST('dup' AS BLOB), search = 'dup'"
				       " WHERE name = 'Name' AND search = 'dup2';"
				       " UPDATE meta SET value = 1 WHERE key = 'schema_version';"),
			SQLITE_OK);
	s = tdb_open(&t);
	struct store_stats sst;
	store_stats(s, &sst);
	CU_ASSERT_EQUAL(sst.schema_version, store_schema_version());
	struct store_object o;
	EXPECT_OK(store_get(s, b_id, "T", 0, &o));
	const struct store_attr *a = find_attr(&o, "Name", 0);
	CU_ASSERT(a != NULL && a->value_len == 3 && memcmp(a->value, "dup", 3) == 0);
	CU_ASSERT_EQUAL(o.data_type, 0);
	store_object_free(&o);
	store_attr_text(&nm, "Name", 0, "dup");
	EXPECT_ERR(store_put(s, &n, id), ERR_STORE_NAME_TAKEN);
	/* a held it: destroying b frees nothing, destroying a frees "dup" */
	EXPECT_OK(store_destroy(s, b_id, "T", 0));
	EXPECT_ERR(store_put(s, &n, id), ERR_STORE_NAME_TAKEN);
	EXPECT_OK(store_destroy(s, a_id, "T", 0));
	EXPECT_OK(store_put(s, &n, id));
	store_close(s);
}

/* ---- group commit ------------------------------------------------------------------------ */

#define GC_THREADS 16
#define GC_PUTS 200

struct gc_arg {
	struct store *s;
	int n;
	char (*ids)[STORE_ID_MAX + 1];
	int failed;
};

static void *gc_thread(void *p)
{
	struct gc_arg *a = p;
	uint8_t key[32];
	for (int i = 0; i < a->n; i++) {
		memset(key, i & 0xff, sizeof(key));
		if (put_key(a->s, "T", key, sizeof(key), a->ids[i]) != ERR_OK)
			a->failed++;
	}
	return NULL;
}

/* gc_round runs GC_THREADS writers of |per| puts each at once; each
 * thread's ids go to ids[thread] (room for |per|) when ids is not NULL */
static void gc_round(struct store *s, int per, char (*ids)[STORE_ID_MAX + 1])
{
	pthread_t th[GC_THREADS];
	struct gc_arg args[GC_THREADS];
	for (int i = 0; i < GC_THREADS; i++) {
		args[i] = (struct gc_arg){s, per, calloc((size_t)per, STORE_ID_MAX + 1), 0};
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, gc_thread, &args[i]), 0);
	}
	for (int i = 0; i < GC_THREADS; i++) {
		pthread_join(th[i], NULL);
		CU_ASSERT_EQUAL(args[i].failed, 0);
		if (ids != NULL)
			memcpy(ids + (size_t)i * per, args[i].ids, (size_t)per * (STORE_ID_MAX + 1));
		free(args[i].ids);
	}
}

static void test_group_commit(void)
{
	struct tdb t = {0};
	tdb_new(&t, "group");
	struct store *s = tdb_open(&t);
	struct store_stats st0, st1;
	store_stats(s, &st0);
	pthread_t th[GC_THREADS];
	struct gc_arg args[GC_THREADS];
	for (int i = 0; i < GC_THREADS; i++) {
		args[i] = (struct gc_arg){s, GC_PUTS, calloc(GC_PUTS, STORE_ID_MAX + 1), 0};
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, gc_thread, &args[i]), 0);
	}
	for (int i = 0; i < GC_THREADS; i++)
		pthread_join(th[i], NULL);
	store_stats(s, &st1);
	uint64_t commits = st1.commits - st0.commits, reqs = st1.requests - st0.requests;
	fprintf(stderr, "\n  group commit: %llu puts in %llu commits (largest batch %llu) ",
		(unsigned long long)reqs, (unsigned long long)commits,
		(unsigned long long)st1.max_batch);
	CU_ASSERT_EQUAL(reqs, GC_THREADS * GC_PUTS);
	CU_ASSERT(commits < reqs);
	for (int i = 0; i < GC_THREADS; i++) {
		CU_ASSERT_EQUAL(args[i].failed, 0);
		for (int j = 0; j < GC_PUTS; j++) {
			uint8_t *m = NULL;
			size_t ml = 0;
			EXPECT_OK(store_get_material(s, args[i].ids[j], "T", 0, &m, &ml));
			CU_ASSERT(ml == 32 && m != NULL && m[0] == (uint8_t)(j & 0xff));
			secmem_free(m, ml);
		}
		free(args[i].ids);
	}
	struct store_query q = {0};
	struct store_found f;
	q.tenant = "T";
	q.max_items = 1;
	EXPECT_OK(store_find(s, &q, &f));
	CU_ASSERT_EQUAL(f.total, GC_THREADS * GC_PUTS);
	store_found_free(&f);
	/* a find returns at most STORE_FIND_MAX identifiers, asked for all or
	 * for more; the total counts them all and an offset pages on */
	_Static_assert(GC_THREADS * GC_PUTS > STORE_FIND_MAX + 100, "more objects than one find returns");
	static const uint32_t asked[] = {0, STORE_FIND_MAX + 1, UINT32_MAX};
	for (size_t i = 0; i < ARRAY_SIZE(asked); i++) {
		q.max_items = asked[i];
		EXPECT_OK(store_find(s, &q, &f));
		CU_ASSERT_EQUAL(f.total, GC_THREADS * GC_PUTS);
		CU_ASSERT_EQUAL(f.n, STORE_FIND_MAX);
		store_found_free(&f);
	}
	q.max_items = 0;
	q.offset = GC_THREADS * GC_PUTS - 100;
	EXPECT_OK(store_find(s, &q, &f));
	CU_ASSERT_EQUAL(f.n, 100);
	store_found_free(&f);
	store_close(s);
}

/* A read that lasts (a backup's snapshot) keeps SQLite from starting the
 * WAL over, and the -wal file grows past its usual few MiB; once the read
 * has ended and a checkpoint has copied everything, the next commit
 * starts it over and cuts the file back to STORE_SQLITE_WAL_KEEP_BYTES
 * (before, it stayed at its largest for good: 141 MB after a soak whose
 * Locates starved the checkpoint). */
static void test_wal_cut_back(void)
{
	struct tdb t = {0};
	tdb_new(&t, "walcut");
	struct store *s = tdb_open(&t);
	char wal[300];
	snprintf(wal, sizeof(wal), "%s-wal", t.db);
	/* a reader's snapshot, held open */
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	CU_ASSERT_EQUAL_FATAL(sqlite3_open_v2(t.db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	CU_ASSERT_EQUAL_FATAL(sqlite3_exec(h, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	CU_ASSERT_EQUAL_FATAL(sqlite3_prepare_v2(h, "SELECT count(*) FROM objects", -1, &st, NULL), SQLITE_OK);
	CU_ASSERT_EQUAL(sqlite3_step(st), SQLITE_ROW);
	struct stat sb = {0};
	unsigned rounds = 0;
	while (stat(wal, &sb) == 0 && (uint64_t)sb.st_size < STORE_SQLITE_WAL_KEEP_BYTES + (4u << 20) && rounds < 40) {
		gc_round(s, 20, NULL);
		rounds++;
	}
	off_t grown = sb.st_size;
	fprintf(stderr, "\n  -wal: %lld bytes after %u rounds of puts under a held read; ", (long long)grown, rounds);
	CU_ASSERT((uint64_t)grown > STORE_SQLITE_WAL_KEEP_BYTES);
	sqlite3_finalize(st);
	CU_ASSERT_EQUAL(sqlite3_exec(h, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	/* a checkpoint runs after a commit (every 1000 pages); the commit
	 * after the one that finds it all copied starts the WAL over */
	uint8_t key[32] = {1};
	char id[STORE_ID_MAX + 1];
	for (int i = 0; i < 3; i++)
		EXPECT_OK(put_key(s, "T", key, sizeof(key), id));
	CU_ASSERT_EQUAL(stat(wal, &sb), 0);
	fprintf(stderr, "%lld bytes after 3 more ", (long long)sb.st_size);
	CU_ASSERT((uint64_t)sb.st_size <= STORE_SQLITE_WAL_KEEP_BYTES);
	store_close(s);
}

/* Under writes that never pause, the checkpointer thread copies the WAL
 * back beside the commits (a checkpoint inside a commit held its callers
 * 10-25 ms) and the writer copies only the last frames, after which the
 * WAL starts over: the -wal file stays within STORE_SQLITE_WAL_KEEP_BYTES
 * (a checkpoint beside the commits alone never catches up with them, and
 * the WAL would grow for good), and every key is still there after a
 * reopen. */
static void test_checkpoint_beside(void)
{
	struct tdb t = {0};
	tdb_new(&t, "ckpt");
	struct store *s = tdb_open(&t);
	char wal[300];
	snprintf(wal, sizeof(wal), "%s-wal", t.db);
	struct store_stats st = {0};
	struct stat sb = {0};
	off_t largest = 0;
	enum { PER = 25, ROUNDS_MAX = 60 };
	static char ids[ROUNDS_MAX][GC_THREADS][PER][STORE_ID_MAX + 1];
	unsigned rounds = 0;
	while (rounds < ROUNDS_MAX && (st.checkpoints_beside < 4 || st.checkpoints_writer < 4)) {
		gc_round(s, PER, ids[rounds][0]);
		if (stat(wal, &sb) == 0 && sb.st_size > largest)
			largest = sb.st_size;
		store_stats(s, &st);
		rounds++;
	}
	fprintf(stderr, "\n  %u rounds: %llu checkpoints beside the commits, %llu by the writer; -wal at most %lld bytes ",
		(unsigned)rounds, (unsigned long long)st.checkpoints_beside, (unsigned long long)st.checkpoints_writer,
		(long long)largest);
	CU_ASSERT(st.checkpoints_beside >= 4);
	CU_ASSERT(st.checkpoints_writer >= 4);
	CU_ASSERT((uint64_t)largest <= STORE_SQLITE_WAL_KEEP_BYTES);
	store_close(s);
	s = tdb_open(&t);
	size_t missing = 0;
	for (unsigned r = 0; r < rounds; r++)
		for (int i = 0; i < GC_THREADS; i++)
			for (int k = 0; k < PER; k++) {
				struct store_object o;
				if (store_get(s, ids[r][i][k], "T", 0, &o) != ERR_OK) {
					missing++;
					continue;
				}
				missing += !o.has_material;
				store_object_free(&o);
			}
	CU_ASSERT_EQUAL(missing, 0);
	store_close(s);
}

/* one request's error does not fail the others in its batch */
struct mixed_arg {
	struct store *s;
	const char *id;
	int bad;
	int ok;
};

static void *mixed_thread(void *p)
{
	struct mixed_arg *a = p;
	for (int i = 0; i < 100; i++) {
		struct store_attr at;
		store_attr_text(&at, "Contact Information", 0, "x");
		if (a->bad) {
			/* a single-valued attribute that exists: fails every time */
			if (store_attr_add(a->s, a->id, "T", 0, &at, NULL) == ERR_STORE_ATTR_EXISTS)
				a->ok++;
		} else {
			uint8_t key[16] = {1};
			char id[STORE_ID_MAX + 1];
			if (put_key(a->s, "T", key, sizeof(key), id) == ERR_OK)
				a->ok++;
		}
	}
	return NULL;
}

static void test_group_commit_isolated_errors(void)
{
	struct tdb t = {0};
	tdb_new(&t, "mixed");
	struct store_options o = {.path = t.db, .kek = t.kek, .max_wait_us = 500, .url = TDB_URL(&t)};
	struct store *s = NULL;
	char eb[256], id[STORE_ID_MAX + 1];
	EXPECT_OK(store_open(&o, &s, eb, sizeof(eb)));
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	uint8_t key[16] = {1};
	EXPECT_OK(put_key(s, "T", key, sizeof(key), id));
	struct store_attr at;
	store_attr_text(&at, "Contact Information", 0, "x");
	EXPECT_OK(store_attr_add(s, id, "T", 0, &at, NULL));
	pthread_t th[8];
	struct mixed_arg a[8];
	for (int i = 0; i < 8; i++) {
		a[i] = (struct mixed_arg){s, id, i % 2, 0};
		pthread_create(&th[i], NULL, mixed_thread, &a[i]);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		CU_ASSERT_EQUAL(a[i].ok, 100);
	}
	struct store_query q = {0};
	struct store_found f;
	q.tenant = "T";
	EXPECT_OK(store_find(s, &q, &f));
	CU_ASSERT_EQUAL(f.total, 1 + 4 * 100);
	store_found_free(&f);
	store_close(s);
}

static void test_record_access(void)
{
	struct tdb t = {0};
	tdb_new(&t, "access");
	struct store *s = tdb_open(&t);
	uint8_t key[16] = {1}, fp[32] = {0xab};
	char id[STORE_ID_MAX + 1];
	EXPECT_OK(put_key(s, "T", key, sizeof(key), id));
	for (int i = 0; i < 5; i++)
		EXPECT_OK(store_record_access(s, id, "T", fp, "Get", 0));
	EXPECT_OK(store_record_access(s, id, "T", fp, "Encrypt", 1700000000));
	uint64_t n = 0;
	EXPECT_OK(store_access_count(s, id, &n));
	CU_ASSERT_EQUAL(n, 6);
	EXPECT_ERR(store_record_access(s, id, "T", fp, "", 0), ERR_INVALID_ARG);
	store_close(s);
}

/* store_take_material: the material read and the access recorded in one
 * transaction, nothing recorded when the row check fails; and store_get
 * with STORE_F_ROW_ONLY, the row a KMIP Get reads. */
static void test_take_material(void)
{
	struct tdb t = {0};
	tdb_new(&t, "take");
	struct store *s = tdb_open(&t);
	uint8_t key[32], fp[32] = {0xcd};
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(0x40 + i);
	struct store_attr nm;
	store_attr_text(&nm, "Name", 0, "take-me");
	struct store_new_object n = {.tenant = "T", .type = STORE_OBJ_SYMMETRIC_KEY, .alg = STORE_ALG_AES,
				     .length = 256, .usage_mask = 12, .key_format = STORE_FMT_RAW, .attrs = &nm,
				     .n_attrs = 1, .material = key, .material_len = sizeof(key)};
	char id[STORE_ID_MAX + 1];
	EXPECT_OK(store_put(s, &n, id));

	uint8_t *m = NULL;
	size_t ml = 0;
	uint64_t count = 0;
	EXPECT_OK(store_take_material(s, id, "T", 0, fp, "kmip get", &m, &ml));
	CU_ASSERT(m != NULL && ml == sizeof(key) && memcmp(m, key, sizeof(key)) == 0);
	secmem_free(m, ml);
	EXPECT_OK(store_access_count(s, id, &count));
	CU_ASSERT_EQUAL(count, 1);

	/* another tenant's key is not found, and its failed try not recorded */
	m = (uint8_t *)1;
	EXPECT_ERR(store_take_material(s, id, "U", 0, fp, "kmip get", &m, &ml), ERR_STORE_NOT_FOUND);
	CU_ASSERT_PTR_NULL(m);
	CU_ASSERT_EQUAL(ml, 0);
	EXPECT_ERR(store_take_material(s, "00000000-0000-4000-8000-000000000000", "T", 0, fp, "kmip get", &m, &ml),
		   ERR_STORE_NOT_FOUND);
	EXPECT_ERR(store_take_material(s, id, "T", 0, fp, "", &m, &ml), ERR_INVALID_ARG);
	EXPECT_OK(store_access_count(s, id, &count));
	CU_ASSERT_EQUAL(count, 1);
	/* an administrator's (STORE_F_ADMIN) read is recorded under its own tenant */
	EXPECT_OK(store_take_material(s, id, "U", STORE_F_ADMIN, fp, "kmip get", &m, &ml));
	CU_ASSERT(ml == sizeof(key) && memcmp(m, key, sizeof(key)) == 0);
	secmem_free(m, ml);
	EXPECT_OK(store_access_count(s, id, &count));
	CU_ASSERT_EQUAL(count, 2);

	/* the row without the attributes, its columns as store_get has them */
	struct store_object full, row;
	EXPECT_OK(store_get(s, id, "T", 0, &full));
	EXPECT_OK(store_get(s, id, "T", STORE_F_ROW_ONLY, &row));
	CU_ASSERT(full.n_attrs > 0 && find_attr(&full, "Name", 0) != NULL);
	CU_ASSERT_EQUAL(row.n_attrs, 0);
	CU_ASSERT_PTR_NULL(row.attrs);
	CU_ASSERT_STRING_EQUAL(row.id, id);
	CU_ASSERT_STRING_EQUAL(row.tenant, "T");
	CU_ASSERT(row.type == STORE_OBJ_SYMMETRIC_KEY && row.alg == STORE_ALG_AES && row.length == 256 &&
		  row.usage_mask == 12 && row.key_format == STORE_FMT_RAW && row.state == full.state &&
		  row.initial_date == full.initial_date && row.has_digest);
	CU_ASSERT(full.has_material && !row.has_material); /* not looked up */
	store_object_free(&full);
	store_object_free(&row);
	EXPECT_ERR(store_get(s, id, "U", STORE_F_ROW_ONLY, &row), ERR_STORE_NOT_FOUND);

	/* a destroyed key: nothing to take, nothing recorded */
	EXPECT_OK(store_destroy(s, id, "T", 0));
	EXPECT_ERR(store_take_material(s, id, "T", 0, fp, "kmip get", &m, &ml), ERR_STORE_DESTROYED);
	CU_ASSERT_PTR_NULL(m);
	EXPECT_OK(store_access_count(s, id, &count));
	CU_ASSERT_EQUAL(count, 2);
	store_close(s);
}

/* Holders and leases: who got a key's material (Get over KMIP and HTTP,
 * wrapped or not, an administrator under its own tenant), first and last
 * time and how often, per certificate; Encrypt and a renewal alone make
 * no holder; a renewal extends the lease; a revoked key's leases end and
 * it grants none; a destroyed key keeps its holders; another tenant sees
 * none of it. */
static void test_holders_and_leases(void)
{
	struct tdb t = {0};
	tdb_new(&t, "holders");
	struct store *s = tdb_open(&t);
	uint8_t key[16] = {7}, fa[32] = {0xa1}, fb[32] = {0xb2}, fc[32] = {0xc3}, fd[32] = {0xd4};
	char id[STORE_ID_MAX + 1], other[STORE_ID_MAX + 1];
	EXPECT_OK(put_key(s, "T", key, sizeof key, id));
	EXPECT_OK(put_key(s, "T", key, sizeof key, other));
	struct store_holders hs;
	EXPECT_OK(store_holders_of(s, id, "T", 0, &hs));
	CU_ASSERT(hs.n == 0 && !hs.truncated);
	store_holders_free(&hs);

	uint8_t *m = NULL;
	size_t ml = 0;
	int64_t le = -1, le2 = -1, lc = -1;
	int64_t t0 = time(NULL);
	EXPECT_OK(store_serve_material(s, id, "T", 0, fa, "kmip get", STORE_SERVE_PLAIN, 3600, &m, &ml, &le));
	secmem_free(m, ml);
	CU_ASSERT(le >= t0 + 3600 && le <= time(NULL) + 3600);
	EXPECT_OK(store_serve_material(s, id, "T", 0, fa, "kmip get wrapped", STORE_SERVE_WRAPPED, 3600, &m, &ml, NULL));
	secmem_free(m, ml);
	/* an administrator's Get is its own tenant's holding */
	EXPECT_OK(store_serve_material(s, id, "U", STORE_F_ADMIN, fb, "http get", STORE_SERVE_PLAIN, 60, &m, &ml, &le));
	secmem_free(m, ml);
	CU_ASSERT(le >= t0 + 60 && le <= time(NULL) + 60);
	/* Encrypt uses the key in the server: no holder */
	EXPECT_OK(store_record_access(s, id, "T", fc, "kmip encrypt", 0));
	/* a renewal by a certificate that never got the key: no holder either */
	EXPECT_OK(store_obtain_lease(s, id, "T", 0, fd, "kmip obtain lease", 60, &le2, &lc));
	/* the holder's renewal: a longer lease, the Last Change Date it has */
	EXPECT_OK(store_obtain_lease(s, id, "T", 0, fa, "kmip obtain lease", 7200, &le2, &lc));
	CU_ASSERT(le2 >= t0 + 7200 && le2 <= time(NULL) + 7200);
	struct store_object o;
	EXPECT_OK(store_get(s, id, "T", STORE_F_ROW_ONLY, &o));
	CU_ASSERT_EQUAL(lc, o.last_change_date);
	store_object_free(&o);
	EXPECT_ERR(store_obtain_lease(s, id, "U", 0, fb, "kmip obtain lease", 60, &le, &lc), ERR_STORE_NOT_FOUND);
	EXPECT_ERR(store_obtain_lease(s, id, "T", 0, fa, "kmip obtain lease", 0, &le, &lc), ERR_INVALID_ARG);

	EXPECT_OK(store_holders_of(s, id, "T", 0, &hs));
	CU_ASSERT_EQUAL_FATAL(hs.n, 2);
	CU_ASSERT_FALSE(hs.truncated);
	/* by first access: T's certificate, then the administrator's */
	CU_ASSERT_STRING_EQUAL(hs.h[0].tenant, "T");
	CU_ASSERT_STRING_EQUAL(hs.h[0].id, id);
	CU_ASSERT(memcmp(hs.h[0].fingerprint, fa, 32) == 0);
	CU_ASSERT_EQUAL(hs.h[0].count, 2);
	CU_ASSERT(hs.h[0].first >= t0 && hs.h[0].first <= hs.h[0].last && hs.h[0].last <= time(NULL));
	CU_ASSERT_EQUAL(hs.h[0].lease_end, le2);
	CU_ASSERT(hs.h[0].leased);
	CU_ASSERT_STRING_EQUAL(hs.h[1].tenant, "U");
	CU_ASSERT(memcmp(hs.h[1].fingerprint, fb, 32) == 0);
	CU_ASSERT_EQUAL(hs.h[1].count, 1);
	CU_ASSERT(hs.h[1].leased);
	CU_ASSERT_EQUAL(hs.h[1].state, STORE_STATE_PRE_ACTIVE);
	store_holders_free(&hs);
	/* another tenant: not found; an administrator (STORE_F_ADMIN): all */
	EXPECT_ERR(store_holders_of(s, id, "U", 0, &hs), ERR_STORE_NOT_FOUND);
	CU_ASSERT(hs.h == NULL && hs.n == 0);
	EXPECT_ERR(store_holders_of(s, "00000000-0000-4000-8000-000000000000", "T", STORE_F_ADMIN, &hs),
		   ERR_STORE_NOT_FOUND);
	EXPECT_OK(store_holders_of(s, id, "U", STORE_F_ADMIN, &hs));
	CU_ASSERT_EQUAL(hs.n, 2);
	store_holders_free(&hs);
	EXPECT_OK(store_holders_of(s, other, "T", 0, &hs));
	CU_ASSERT_EQUAL(hs.n, 0);
	store_holders_free(&hs);

	/* the reverse: what a tenant's certificates hold */
	EXPECT_OK(store_held_by(s, "U", &hs));
	CU_ASSERT_EQUAL_FATAL(hs.n, 1);
	CU_ASSERT_STRING_EQUAL(hs.h[0].id, id);
	CU_ASSERT_STRING_EQUAL(hs.h[0].tenant, "U");
	store_holders_free(&hs);
	EXPECT_OK(store_serve_material(s, other, "T", 0, fa, "kmip get", STORE_SERVE_PLAIN, 3600, &m, &ml, NULL));
	secmem_free(m, ml);
	EXPECT_OK(store_held_by(s, "T", &hs));
	CU_ASSERT_EQUAL_FATAL(hs.n, 2);
	/* by first access, then identifier: both may be of one second */
	CU_ASSERT((strcmp(hs.h[0].id, id) == 0 && strcmp(hs.h[1].id, other) == 0) ||
		  (strcmp(hs.h[0].id, other) == 0 && strcmp(hs.h[1].id, id) == 0 && hs.h[0].first == hs.h[1].first));
	store_holders_free(&hs);
	EXPECT_OK(store_held_by(s, "nobody", &hs));
	CU_ASSERT_EQUAL(hs.n, 0);
	store_holders_free(&hs);
	EXPECT_ERR(store_held_by(s, "", &hs), ERR_INVALID_ARG);

	/* revoked: every lease ends, none is granted, the holders stay */
	EXPECT_OK(store_revoke(s, id, "T", 0, STORE_REVOKE_CESSATION_OF_OPERATION, 0));
	EXPECT_ERR(store_obtain_lease(s, id, "T", 0, fa, "kmip obtain lease", 60, &le, &lc), ERR_STORE_STATE);
	EXPECT_OK(store_serve_material(s, id, "T", 0, fa, "kmip get", STORE_SERVE_PLAIN, 3600, &m, &ml, &le));
	secmem_free(m, ml);
	CU_ASSERT_EQUAL(le, 0);
	EXPECT_OK(store_holders_of(s, id, "T", 0, &hs));
	CU_ASSERT_EQUAL_FATAL(hs.n, 2);
	CU_ASSERT(!hs.h[0].leased && !hs.h[1].leased);
	CU_ASSERT_EQUAL(hs.h[0].count, 3);
	CU_ASSERT_EQUAL(hs.h[0].lease_end, le2); /* what it had been granted */
	CU_ASSERT_EQUAL(hs.h[0].state, STORE_STATE_DEACTIVATED);
	store_holders_free(&hs);
	/* destroyed: no lease, and who had it is still known */
	EXPECT_OK(store_destroy(s, id, "T", 0));
	EXPECT_ERR(store_obtain_lease(s, id, "T", 0, fa, "kmip obtain lease", 60, &le, &lc), ERR_STORE_DESTROYED);
	EXPECT_OK(store_holders_of(s, id, "T", 0, &hs));
	CU_ASSERT_EQUAL(hs.n, 2);
	store_holders_free(&hs);
	store_close(s);
}

/* Events: every state change and re-key, in the change's transaction and
 * in commit order; a tenant sees its own objects' and those it holds, an
 * administrator all; a refused change makes none; they survive a restart. */
static void test_events(void)
{
	struct tdb t = {0};
	tdb_new(&t, "events");
	struct store *s = tdb_open(&t);
	uint8_t key[16] = {9}, fp[32] = {0x11};
	char a[STORE_ID_MAX + 1], b[STORE_ID_MAX + 1], o[STORE_ID_MAX + 1], other[STORE_ID_MAX + 1];
	EXPECT_OK(put_key(s, "T", key, sizeof key, a));
	EXPECT_OK(put_key(s, "T", key, sizeof key, b));
	EXPECT_OK(put_key(s, "O", key, sizeof key, o));
	EXPECT_OK(put_key(s, "O", key, sizeof key, other));
	struct store_events ev;
	EXPECT_OK(store_events_after(s, "T", 0, 0, STORE_EVENTS_MAX, &ev));
	CU_ASSERT(ev.n == 0 && !ev.more);
	store_events_free(&ev);

	EXPECT_OK(store_activate(s, a, "T", 0));
	EXPECT_ERR(store_destroy(s, a, "T", 0), ERR_STORE_ACTIVE); /* refused: no event */
	EXPECT_OK(store_revoke(s, a, "T", 0, STORE_REVOKE_CESSATION_OF_OPERATION, 0));
	EXPECT_OK(store_revoke(s, b, "T", 0, STORE_REVOKE_KEY_COMPROMISE, 0));
	EXPECT_OK(store_destroy(s, a, "T", 0));
	/* T holds O's key o (an administrator's Get is its own tenant's) */
	uint8_t *m = NULL;
	size_t ml = 0;
	EXPECT_OK(store_serve_material(s, o, "T", STORE_F_ADMIN, fp, "kmip get", STORE_SERVE_PLAIN, 60, &m, &ml, NULL));
	secmem_free(m, ml);
	EXPECT_OK(store_activate(s, o, "O", 0));
	EXPECT_OK(store_activate(s, other, "O", 0));
	/* a re-key of o: the replacement and the event in one transaction */
	char nid[STORE_ID_MAX + 1];
	EXPECT_OK(store_new_id(nid));
	struct store_new_object n = {.id = nid, .tenant = "O", .type = STORE_OBJ_SYMMETRIC_KEY, .alg = STORE_ALG_AES,
				     .length = 128, .usage_mask = 12, .key_format = STORE_FMT_RAW, .material = key,
				     .material_len = sizeof key};
	struct store_put_change ch = {.id = o, .tenant = "O", .replaced_by = nid};
	char ids[1][STORE_ID_MAX + 1];
	EXPECT_OK(store_put_many(s, &n, 1, &ch, 1, ids));
	CU_ASSERT_STRING_EQUAL(ids[0], nid);

	static const char *const want_t[] = {"activate", "revoke", "compromise", "destroy", "activate", "rekey"};
	const char *const ids_t[] = {a, a, b, a, o, o};
	EXPECT_OK(store_events_after(s, "T", 0, 0, STORE_EVENTS_MAX, &ev));
	CU_ASSERT_EQUAL_FATAL(ev.n, ARRAY_SIZE(want_t));
	for (size_t i = 0; i < ev.n; i++) {
		CU_ASSERT_STRING_EQUAL(ev.e[i].kind, want_t[i]);
		CU_ASSERT_STRING_EQUAL(ev.e[i].id, ids_t[i]);
		CU_ASSERT(i == 0 || ev.e[i].seq > ev.e[i - 1].seq);
		CU_ASSERT(ev.e[i].time > 0);
	}
	CU_ASSERT_EQUAL(ev.e[1].state, STORE_STATE_DEACTIVATED);
	CU_ASSERT_EQUAL(ev.e[2].state, STORE_STATE_COMPROMISED);
	CU_ASSERT_EQUAL(ev.e[3].state, STORE_STATE_DESTROYED);
	CU_ASSERT_STRING_EQUAL(ev.e[4].tenant, "O");
	CU_ASSERT_STRING_EQUAL(ev.e[5].new_id, nid);
	CU_ASSERT_STRING_EQUAL(ev.e[0].new_id, "");
	uint64_t second = ev.e[1].seq, last = ev.e[ev.n - 1].seq;
	store_events_free(&ev);
	/* resumed after an event; a page of one says there is more */
	EXPECT_OK(store_events_after(s, "T", 0, second, STORE_EVENTS_MAX, &ev));
	CU_ASSERT(ev.n == ARRAY_SIZE(want_t) - 2 && strcmp(ev.e[0].kind, "compromise") == 0);
	store_events_free(&ev);
	EXPECT_OK(store_events_after(s, "T", 0, 0, 1, &ev));
	CU_ASSERT(ev.n == 1 && ev.more);
	store_events_free(&ev);
	EXPECT_OK(store_events_after(s, "T", 0, last, STORE_EVENTS_MAX, &ev));
	CU_ASSERT(ev.n == 0 && !ev.more);
	store_events_free(&ev);
	/* O: its own three; U: nothing; an administrator: all seven */
	EXPECT_OK(store_events_after(s, "O", 0, 0, STORE_EVENTS_MAX, &ev));
	CU_ASSERT_EQUAL(ev.n, 3);
	store_events_free(&ev);
	EXPECT_OK(store_events_after(s, "U", 0, 0, STORE_EVENTS_MAX, &ev));
	CU_ASSERT_EQUAL(ev.n, 0);
	store_events_free(&ev);
	EXPECT_OK(store_events_after(s, "", STORE_F_ADMIN, 0, STORE_EVENTS_MAX, &ev));
	CU_ASSERT_EQUAL(ev.n, 7);
	store_events_free(&ev);
	EXPECT_ERR(store_events_after(s, "", 0, 0, 10, &ev), ERR_INVALID_ARG);
	EXPECT_ERR(store_events_after(s, "T", 0, 0, 0, &ev), ERR_INVALID_ARG);
	EXPECT_ERR(store_events_after(s, "T", 0, 0, STORE_EVENTS_MAX + 1, &ev), ERR_INVALID_ARG);
	/* after a restart */
	store_close(s);
	s = tdb_open(&t);
	EXPECT_OK(store_events_after(s, "T", 0, 0, STORE_EVENTS_MAX, &ev));
	CU_ASSERT(ev.n == ARRAY_SIZE(want_t) && ev.e[ev.n - 1].seq == last);
	store_events_free(&ev);
	store_close(s);
}

/* count_kind: how many of |ev|'s events are of |kind| */
static size_t count_kind(const struct store_events *ev, const char *kind)
{
	size_t n = 0;
	for (size_t i = 0; i < ev->n; i++)
		n += strcmp(ev->e[i].kind, kind) == 0;
	return n;
}

/* The end of each lease as an event: per object, tenant and certificate,
 * once, at the latest lease's end (a renewal moves it), none for a key
 * revoked while leased; two nodes sweeping record each end once; the
 * holder and the key's owner see it, another holder and tenant do not; the
 * sweep's place survives a restart. Times are passed to the sweep, so the
 * test runs "an hour later" at once. */
static void test_lease_ends(void)
{
	struct tdb t = {0};
	tdb_new(&t, "leases");
	struct store *s = tdb_open(&t), *s2 = tdb_open(&t);
	unsigned lag = store_leases_lag(s);
	CU_ASSERT(pg != NULL ? lag >= 2 : lag == 0);
	uint8_t key[16] = {5}, fa[32] = {0xa1}, fb[32] = {0xb2};
	char id[STORE_ID_MAX + 1], id2[STORE_ID_MAX + 1];
	EXPECT_OK(put_key(s, "T", key, sizeof key, id));
	EXPECT_OK(put_key(s, "T", key, sizeof key, id2));
	size_t n = 99;
	int64_t t0 = time(NULL);
	EXPECT_OK(store_leases_sweep(s, t0, &n)); /* nothing leased yet */
	CU_ASSERT_EQUAL(n, 0);

	uint8_t *m = NULL;
	size_t ml = 0;
	int64_t le_a = 0, le_b = 0, le_c = 0, le_r = 0, lc = 0;
	EXPECT_OK(store_serve_material(s, id, "T", 0, fa, "kmip get", STORE_SERVE_PLAIN, 60, &m, &ml, &le_a));
	secmem_free(m, ml);
	/* an administrator's Get: U's own holding, its own lease */
	EXPECT_OK(store_serve_material(s, id, "U", STORE_F_ADMIN, fb, "http get", STORE_SERVE_PLAIN, 30, &m, &ml, &le_b));
	secmem_free(m, ml);
	EXPECT_OK(store_serve_material(s2, id2, "T", 0, fa, "kmip get", STORE_SERVE_PLAIN, 60, &m, &ml, &le_c));
	secmem_free(m, ml);
	/* id2 revoked while leased: its revoke is the event, not its lease */
	EXPECT_OK(store_revoke(s, id2, "T", 0, STORE_REVOKE_CESSATION_OF_OPERATION, 0));
	/* T renews id before its lease ends (on the other node) */
	EXPECT_OK(store_obtain_lease(s2, id, "T", 0, fa, "kmip obtain lease", 7200, &le_r, &lc));
	CU_ASSERT(le_a > 0 && le_b > 0 && le_c > 0 && le_r > le_a);
	EXPECT_OK(store_leases_sweep(s, t0 + 1, &n)); /* none ended */
	CU_ASSERT_EQUAL(n, 0);
	EXPECT_OK(store_leases_sweep(s2, t0 + 1, &n));
	CU_ASSERT_EQUAL(n, 0);

	/* past U's end (and the lag, and the end's slack: at most 1/15 of the
	 * lease, store.h): U's lease ended, recorded once though both nodes
	 * sweep */
	int64_t when = le_b + 30 / 15 + lag + 1;
	size_t n2 = 99;
	EXPECT_OK(store_leases_sweep(s2, when, &n2));
	EXPECT_OK(store_leases_sweep(s, when, &n));
	CU_ASSERT_EQUAL(n + n2, 1);
	EXPECT_OK(store_leases_sweep(s, when + 1, &n));
	CU_ASSERT_EQUAL(n, 0);
	/* past T's first lease and id2's: T renewed, id2 was revoked */
	when = (le_a > le_c ? le_a : le_c) + lag + 1;
	EXPECT_OK(store_leases_sweep(s, when, &n));
	CU_ASSERT_EQUAL(n, 0);
	EXPECT_OK(store_leases_sweep(s2, when, &n2));
	CU_ASSERT_EQUAL(n2, 0);

	struct store_events ev;
	EXPECT_OK(store_events_after(s, "U", 0, 0, STORE_EVENTS_MAX, &ev));
	CU_ASSERT_EQUAL_FATAL(ev.n, 1);
	CU_ASSERT_STRING_EQUAL(ev.e[0].kind, "lease_end");
	CU_ASSERT_STRING_EQUAL(ev.e[0].id, id);
	CU_ASSERT_STRING_EQUAL(ev.e[0].tenant, "T");
	CU_ASSERT_STRING_EQUAL(ev.e[0].holder, "U");
	CU_ASSERT(memcmp(ev.e[0].holder_fp, fb, 32) == 0);
	CU_ASSERT_EQUAL(ev.e[0].time, le_b);
	CU_ASSERT_EQUAL(ev.e[0].state, STORE_STATE_PRE_ACTIVE);
	store_events_free(&ev);

	/* restart both nodes; then past T's renewed lease */
	store_close(s2);
	store_close(s);
	s = tdb_open(&t);
	s2 = tdb_open(&t);
	EXPECT_OK(store_leases_sweep(s, when + 2, &n));
	CU_ASSERT_EQUAL(n, 0);
	when = le_r + 7200 / 15 + lag + 1;
	EXPECT_OK(store_leases_sweep(s2, when, &n2));
	EXPECT_OK(store_leases_sweep(s, when, &n));
	CU_ASSERT_EQUAL(n + n2, 1);
	/* T (owner and holder): the revoke, both leases' ends; U: its own
	 * end only, not T's; V: nothing; an administrator: all */
	EXPECT_OK(store_events_after(s, "T", 0, 0, STORE_EVENTS_MAX, &ev));
	CU_ASSERT_EQUAL(ev.n, 3);
	CU_ASSERT_EQUAL(count_kind(&ev, "lease_end"), 2);
	CU_ASSERT_EQUAL(count_kind(&ev, "revoke"), 1);
	CU_ASSERT(ev.n == 3 && strcmp(ev.e[2].holder, "T") == 0 && ev.e[2].time == le_r &&
		  memcmp(ev.e[2].holder_fp, fa, 32) == 0);
	store_events_free(&ev);
	EXPECT_OK(store_events_after(s, "U", 0, 0, STORE_EVENTS_MAX, &ev));
	CU_ASSERT_EQUAL(ev.n, 1);
	store_events_free(&ev);
	EXPECT_OK(store_events_after(s, "V", 0, 0, STORE_EVENTS_MAX, &ev));
	CU_ASSERT_EQUAL(ev.n, 0);
	store_events_free(&ev);
	EXPECT_OK(store_events_after(s, "", STORE_F_ADMIN, 0, STORE_EVENTS_MAX, &ev));
	CU_ASSERT_EQUAL(count_kind(&ev, "lease_end"), 2);
	store_events_free(&ev);
	/* a lease granted again after its end starts a new one */
	EXPECT_OK(store_serve_material(s, id, "U", STORE_F_ADMIN, fb, "http get", STORE_SERVE_PLAIN, 3600, &m, &ml, &le_b));
	secmem_free(m, ml);
	EXPECT_OK(store_leases_sweep(s, when + 1, &n));
	EXPECT_OK(store_leases_sweep(s, when + 3600 / 15 + lag + 2, &n2));
	CU_ASSERT_EQUAL(n + n2, 1);
	EXPECT_OK(store_leases_sweep(s, when + 3600 / 15 + lag + 3, &n));
	CU_ASSERT_EQUAL(n, 0);
	store_close(s2);
	store_close(s);
}

/* sweep2 sweeps at |t| and again a commit lag later (PostgreSQL folds what
 * it saw that long ago): the events recorded by both */
static size_t sweep2(struct store *s, int64_t t)
{
	size_t a = 0, b = 0;
	EXPECT_OK(store_leases_sweep(s, t, &a));
	EXPECT_OK(store_leases_sweep(s, t + store_leases_lag(s) + 1, &b));
	return a + b;
}

/* A key fetched again with a lease that moves its end by less than 1/16
 * of the new lease: its row is not rewritten (the write a busy key would
 * make at every fold), the end is never told early (not at the recorded
 * end, not before the true one), and it is told within the slack. */
static void test_lease_slack(void)
{
	struct tdb t = {0};
	tdb_new(&t, "slack");
	struct store *s = tdb_open(&t);
	uint8_t key[16] = {8}, fa[32] = {0xa1};
	char id[STORE_ID_MAX + 1];
	EXPECT_OK(put_key(s, "T", key, sizeof key, id));
	int64_t t0 = time(NULL), l1 = 0, l2 = 0, lc = 0;
	CU_ASSERT_EQUAL(sweep2(s, t0), 0);
	uint8_t *m = NULL;
	size_t ml = 0;
	EXPECT_OK(store_serve_material(s, id, "T", 0, fa, "kmip get", STORE_SERVE_PLAIN, 1500, &m, &ml, &l1));
	secmem_free(m, ml);
	int64_t at = t0 + 3 * (int64_t)store_leases_lag(s) + 3;
	CU_ASSERT_EQUAL(sweep2(s, at), 0);
	char sql[160];
	snprintf(sql, sizeof sql, "SELECT lease_end FROM leases WHERE id = '%s'", id);
	CU_ASSERT_EQUAL(sql_int(&t, sql), l1);
	/* 50 s more: less than (l2 - now) / 16 */
	EXPECT_OK(store_obtain_lease(s, id, "T", 0, fa, "kmip obtain lease", 1550, &l2, &lc));
	CU_ASSERT(l2 > l1 && l2 - l1 <= 60);
	at += 2 * (int64_t)store_leases_lag(s) + 2;
	CU_ASSERT_EQUAL(sweep2(s, at), 0);
	CU_ASSERT_EQUAL(sql_int(&t, sql), l1); /* not rewritten */
	/* past the recorded end, and past the true one: not yet */
	CU_ASSERT_EQUAL(sweep2(s, l1 + 1), 0);
	CU_ASSERT_EQUAL(sweep2(s, l2 + 1), 0);
	/* past the end's slack: told, once */
	CU_ASSERT_EQUAL(sweep2(s, l1 + 1500 / 15 + 1), 1);
	CU_ASSERT_EQUAL(sweep2(s, l1 + 1500 / 15 + 30), 0);
	struct store_events ev;
	EXPECT_OK(store_events_after(s, "T", 0, 0, STORE_EVENTS_MAX, &ev));
	CU_ASSERT(ev.n == 1 && strcmp(ev.e[0].kind, "lease_end") == 0 && ev.e[0].time >= l1 && ev.e[0].time <= l2);
	store_events_free(&ev);
	store_close(s);
}

/* Schema 8 from 7: the leases table is built from the log; a lease over
 * before the upgrade is the past (no event), one running ends with one. */
static void test_lease_migration(void)
{
	struct tdb t = {0};
	tdb_new(&t, "leasemig");
	struct store *s = tdb_open(&t);
	uint8_t key[16] = {6}, fa[32] = {0xa1}, fb[32] = {0xb2};
	char id[STORE_ID_MAX + 1];
	EXPECT_OK(put_key(s, "T", key, sizeof key, id));
	uint8_t *m = NULL;
	size_t ml = 0;
	int64_t le = 0;
	EXPECT_OK(store_serve_material(s, id, "T", 0, fa, "kmip get", STORE_SERVE_PLAIN, 3600, &m, &ml, &le));
	secmem_free(m, ml);
	EXPECT_OK(store_serve_material(s, id, "U", STORE_F_ADMIN, fb, "http get", STORE_SERVE_PLAIN, 60, &m, &ml, NULL));
	secmem_free(m, ml);
	store_close(s);
	char sql[512];
	snprintf(sql, sizeof sql,
		 "DROP TABLE leases; DROP TABLE lease_fold; ALTER TABLE events DROP COLUMN holder;"
		 " ALTER TABLE events DROP COLUMN holder_fp; UPDATE access_log SET lease_end = 1000 WHERE tenant = 'U';"
		 " UPDATE meta SET value = %s WHERE key = 'schema_version';",
		 pg != NULL ? "convert_to('7', 'UTF8')" : "7");
	CU_ASSERT_EQUAL_FATAL(sql_exec(&t, sql), SQLITE_OK);
	s = tdb_open(&t);
	struct store_stats st;
	store_stats(s, &st);
	CU_ASSERT_EQUAL(st.schema_version, 8);
	CU_ASSERT_EQUAL(sql_int(&t, "SELECT count(*) FROM leases"), 2);
	CU_ASSERT_EQUAL(sql_int(&t, "SELECT count(*) FROM leases WHERE ended = 0"), 1);
	unsigned lag = store_leases_lag(s);
	size_t n = 99, total = 0;
	int64_t now = time(NULL);
	EXPECT_OK(store_leases_sweep(s, now, &n));
	CU_ASSERT_EQUAL(n, 0);
	EXPECT_OK(store_leases_sweep(s, le + lag + 1, &n));
	total += n;
	EXPECT_OK(store_leases_sweep(s, le + lag + 2, &n));
	total += n;
	CU_ASSERT_EQUAL(total, 1);
	struct store_events ev;
	EXPECT_OK(store_events_after(s, "U", 0, 0, STORE_EVENTS_MAX, &ev));
	CU_ASSERT_EQUAL(ev.n, 0);
	store_events_free(&ev);
	EXPECT_OK(store_events_after(s, "T", 0, 0, STORE_EVENTS_MAX, &ev));
	CU_ASSERT(ev.n == 1 && strcmp(ev.e[0].holder, "T") == 0 && ev.e[0].time == le);
	store_events_free(&ev);
	store_close(s);
}

/* schema2_tables turns objects and material of |db| back into the rowid
 * tables of schema 2 (their rows kept) and sets the version to 2, with
 * |extra| run last (NULL: nothing). */
static int schema2_tables(const struct tdb *t, const char *extra)
{
	char sql[4096];
	snprintf(sql, sizeof(sql),
		 "CREATE TABLE o2(id TEXT PRIMARY KEY, tenant TEXT NOT NULL, type INTEGER NOT NULL,"
		 " state INTEGER NOT NULL, alg INTEGER NOT NULL, length INTEGER NOT NULL,"
		 " usage_mask INTEGER NOT NULL, key_format INTEGER NOT NULL,"
		 " revocation_reason INTEGER NOT NULL, initial_date INTEGER NOT NULL,"
		 " activation_date INTEGER NOT NULL, deactivation_date INTEGER NOT NULL,"
		 " destroy_date INTEGER NOT NULL, compromise_date INTEGER NOT NULL,"
		 " compromise_occurrence_date INTEGER NOT NULL, last_change_date INTEGER NOT NULL,"
		 " original_creation_date INTEGER NOT NULL, created_ns INTEGER NOT NULL, digest BLOB,"
		 " data_type INTEGER NOT NULL DEFAULT 0);"
		 "INSERT INTO o2 SELECT id, tenant, type, state, alg, length, usage_mask, key_format,"
		 " revocation_reason, initial_date, activation_date, deactivation_date, destroy_date,"
		 " compromise_date, compromise_occurrence_date, last_change_date, original_creation_date,"
		 " created_ns, digest, data_type FROM objects;"
		 "DROP TABLE objects; ALTER TABLE o2 RENAME TO objects;"
		 "CREATE INDEX objects_tenant_order ON objects(tenant, created_ns, id);"
		 "CREATE INDEX objects_order ON objects(created_ns, id);"
		 "CREATE TABLE m2(id TEXT PRIMARY KEY REFERENCES objects(id), sealed BLOB NOT NULL);"
		 "INSERT INTO m2 SELECT id, sealed FROM material;"
		 "DROP TABLE material; ALTER TABLE m2 RENAME TO material;"
		 "CREATE INDEX IF NOT EXISTS access_log_id ON access_log(id);"
		 "ALTER TABLE access_log DROP COLUMN lease_end; DROP TABLE events; DROP TABLE leases; DROP TABLE lease_fold;"
		 "UPDATE meta SET value = 2 WHERE key = 'schema_version';%s",
		 extra != NULL ? extra : "");
	return sql_exec(t, sql);
}

/* table_sql: the CREATE statement sqlite_master keeps for |name| */
static void table_sql(const char *db, const char *name, char *out, size_t cap)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	out[0] = '\0';
	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(h, "SELECT sql FROM sqlite_master WHERE name = ?", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL)
			snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
	sqlite3_close(h);
}

/* Migration 3 rebuilds objects and material as WITHOUT ROWID tables of a
 * schema-2 database: every row, attribute, name, access record and index
 * kept, foreign keys still declared; a database whose rows break a
 * foreign key is refused and left as it was. Migration 4 drops the access
 * log's index on the object. */
static void test_rowid_migration(void)
{
	struct tdb t = {0};
	tdb_new(&t, "rowid");
	struct store *s = tdb_open(&t);
	uint8_t key[16] = {0x5a, 1, 2, 3}, fp[32] = {1};
	struct store_attr nm;
	store_attr_text(&nm, "Name", 0, "kept");
	struct store_new_object n = {.tenant = "T", .type = STORE_OBJ_SYMMETRIC_KEY, .alg = STORE_ALG_AES,
				     .length = 128, .key_format = STORE_FMT_RAW, .attrs = &nm, .n_attrs = 1,
				     .material = key, .material_len = sizeof(key)};
	char id[STORE_ID_MAX + 1], id2[STORE_ID_MAX + 1];
	EXPECT_OK(store_put(s, &n, id));
	EXPECT_OK(store_record_access(s, id, "T", fp, "Get", 0));
	store_close(s);
	char sql[2048];
	table_sql(t.db, "objects", sql, sizeof(sql));
	CU_ASSERT_PTR_NOT_NULL(strstr(sql, "WITHOUT ROWID")); /* a new database has it */

	CU_ASSERT_EQUAL_FATAL(schema2_tables(&t, NULL), SQLITE_OK);
	table_sql(t.db, "objects", sql, sizeof(sql));
	CU_ASSERT_PTR_NULL(strstr(sql, "WITHOUT ROWID"));
	table_sql(t.db, "access_log_id", sql, sizeof(sql));
	CU_ASSERT_PTR_NOT_NULL(strstr(sql, "access_log(id)"));
	s = tdb_open(&t);
	struct store_stats st;
	store_stats(s, &st);
	CU_ASSERT_EQUAL(st.schema_version, store_schema_version());
	uint8_t *m = NULL;
	size_t ml = 0;
	EXPECT_OK(store_get_material(s, id, "T", 0, &m, &ml));
	CU_ASSERT(ml == sizeof(key) && memcmp(m, key, sizeof(key)) == 0);
	secmem_free(m, ml);
	struct store_object o;
	EXPECT_OK(store_get(s, id, "T", 0, &o));
	const struct store_attr *a = find_attr(&o, "Name", 0);
	CU_ASSERT(a != NULL && a->value_len == 4 && memcmp(a->value, "kept", 4) == 0);
	CU_ASSERT(o.length == 128 && o.has_digest);
	store_object_free(&o);
	uint64_t count = 0;
	EXPECT_OK(store_access_count(s, id, &count));
	CU_ASSERT_EQUAL(count, 1);
	/* the name still claimed, Locate by tenant still ordered by its index */
	EXPECT_ERR(store_put(s, &n, id2), ERR_STORE_NAME_TAKEN);
	store_attr_text(&nm, "Name", 0, "second");
	EXPECT_OK(store_put(s, &n, id2));
	struct store_query q = {.tenant = "T"};
	struct store_found f;
	EXPECT_OK(store_find(s, &q, &f));
	CU_ASSERT(f.total == 2 && f.n == 2 && strcmp(f.ids[0], id) == 0 && strcmp(f.ids[1], id2) == 0);
	store_found_free(&f);
	store_close(s);
	table_sql(t.db, "objects", sql, sizeof(sql));
	CU_ASSERT_PTR_NOT_NULL(strstr(sql, "WITHOUT ROWID"));
	table_sql(t.db, "material", sql, sizeof(sql));
	CU_ASSERT_PTR_NOT_NULL(strstr(sql, "WITHOUT ROWID"));
	CU_ASSERT_PTR_NOT_NULL(strstr(sql, "REFERENCES objects(id)"));
	table_sql(t.db, "objects_tenant_order", sql, sizeof(sql));
	CU_ASSERT_PTR_NOT_NULL(strstr(sql, "objects(tenant, created_ns, id)"));
	table_sql(t.db, "objects_order", sql, sizeof(sql));
	CU_ASSERT_PTR_NOT_NULL(strstr(sql, "objects(created_ns, id)"));
	/* migration 4: the access log has no index on the object's identifier
	 * (a random page per record), and is still counted per object */
	table_sql(t.db, "access_log_id", sql, sizeof(sql));
	CU_ASSERT_STRING_EQUAL(sql, "");
	table_sql(t.db, "access_log", sql, sizeof(sql));
	CU_ASSERT_PTR_NOT_NULL(strstr(sql, "seq INTEGER PRIMARY KEY"));

	/* material of no object (written with foreign keys off): refused */
	struct tdb t2 = {0};
	tdb_new(&t2, "rowid-orphan");
	s = tdb_open(&t2);
	EXPECT_OK(store_put(s, &n, id));
	store_close(s);
	CU_ASSERT_EQUAL_FATAL(schema2_tables(&t2, "INSERT INTO material VALUES ('no-such-object', x'00');"),
			      SQLITE_OK);
	struct store_options so = {.path = t2.db, .kek = t2.kek};
	char eb[512];
	s = NULL;
	CU_ASSERT_NOT_EQUAL(store_open(&so, &s, eb, sizeof(eb)), ERR_OK);
	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT_PTR_NOT_NULL(strstr(eb, "schema version 3"));
	CU_ASSERT_PTR_NOT_NULL(strstr(eb, "foreign key"));
	table_sql(t2.db, "objects", sql, sizeof(sql));
	CU_ASSERT_PTR_NULL(strstr(sql, "WITHOUT ROWID")); /* rolled back */
}

/* ---- crash safety: kill -9 at random moments ----------------------------------------------- */

static void crash_child(const struct tdb *t, int wfd)
{
	struct store_options o = {.path = t->db, .kek = t->kek, .url = TDB_URL(t)};
	struct store *s = NULL;
	char eb[256];
	if (store_open(&o, &s, eb, sizeof(eb)) != ERR_OK)
		_exit(3);
	for (unsigned i = 0;; i++) {
		uint8_t key[32];
		char id[STORE_ID_MAX + 1], line[160], hex[65];
		if (drbg_generate(key, sizeof(key)) != ERR_OK)
			_exit(4);
		if (put_key(s, "T", key, sizeof(key), id) != ERR_OK)
			_exit(5);
		hex_encode(hex, key, sizeof(key));
		int n = snprintf(line, sizeof(line), "%s %s\n", id, hex);
		if (write(wfd, line, (size_t)n) != n)
			_exit(6);
	}
}

static void test_crash_safety(void)
{
	struct tdb t = {0};
	tdb_new(&t, "crash");
	struct store *s = tdb_open(&t); /* make the database and KEK first */
	store_close(s);
	size_t total = 0;
	srand((unsigned)time(NULL));
	for (int round = 0; round < 10; round++) {
		int pfd[2];
		CU_ASSERT_EQUAL_FATAL(pipe(pfd), 0);
		pid_t pid = fork();
		CU_ASSERT_FATAL(pid >= 0);
		if (pid == 0) {
			close(pfd[0]);
			crash_child(&t, pfd[1]);
		}
		close(pfd[1]);
		static char buf[1 << 20];
		size_t len = 0;
		uint64_t deadline = now_ns() + (uint64_t)(30 + rand() % 300) * 1000000u;
		while (now_ns() < deadline) {
			struct pollfd p = {pfd[0], POLLIN, 0};
			if (poll(&p, 1, 5) > 0 && len < sizeof(buf) - 1) {
				ssize_t n = read(pfd[0], buf + len, sizeof(buf) - 1 - len);
				if (n <= 0)
					break;
				len += (size_t)n;
			}
		}
		kill(pid, SIGKILL);
		int status = 0;
		waitpid(pid, &status, 0);
		for (;;) { /* what was written before the kill */
			ssize_t n = read(pfd[0], buf + len, sizeof(buf) - 1 - len);
			if (n <= 0)
				break;
			len += (size_t)n;
		}
		close(pfd[0]);
		CU_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		buf[len] = '\0';

		s = tdb_open(&t);
		size_t acked = 0, ok = 0;
		for (char *line = buf, *nl; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
			*nl = '\0';
			char id[STORE_ID_MAX + 1], hex[65];
			if (sscanf(line, "%64s %64s", id, hex) != 2)
				continue;
			acked++;
			uint8_t want[32], *m = NULL;
			size_t wl = 0, ml = 0;
			if (hex_decode(want, sizeof(want), &wl, hex) != ERR_OK)
				continue;
			if (store_get_material(s, id, "T", 0, &m, &ml) == ERR_OK && ml == 32 &&
			    memcmp(m, want, 32) == 0)
				ok++;
			secmem_free(m, ml);
		}
		CU_ASSERT_EQUAL(ok, acked);
		total += acked;
		struct store_verify_result v;
		EXPECT_OK(store_verify(s, &v));
		CU_ASSERT_EQUAL(v.failed, 0);
		store_verify_free(&v);
		store_close(s);
	}
	fprintf(stderr, "\n  crash safety: %zu acknowledged puts over 10 kill -9 rounds, all present ",
		total);
	CU_ASSERT(total > 0);
}

/* ---- a full disk ---------------------------------------------------------------------------- */

/* avail_bytes: what the file system of |dir| has free for fount */
static int64_t avail_bytes(const char *dir)
{
	struct statvfs sv;
	return statvfs(dir, &sv) == 0 ? (int64_t)sv.f_bavail * (int64_t)sv.f_frsize : -1;
}

/* A small tmpfs filled by ballast: puts are refused with ERR_STORE_FULL
 * while megabytes are still free (the reserve store/sqlite.c keeps, so
 * SQLite never runs out), and keep being refused; reads, a Get with its
 * access record and a state change go on, until the last megabyte (then
 * only reads); once space is given back, puts work again in the same
 * store, and every record opens. */
static void test_disk_full(void)
{
	char mnt[128];
	snprintf(mnt, sizeof(mnt), "%s/small", tmp);
	CU_ASSERT_EQUAL_FATAL(mkdir(mnt, 0700), 0);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=16m,mode=0700") != 0) {
		fprintf(stderr, "\n  SKIPPED disk-full test: cannot mount a tmpfs (%s; needs root) ",
			strerror(errno));
		return;
	}
	struct tdb t = {0};
	snprintf(t.dir, sizeof(t.dir), "%s", mnt);
	snprintf(t.db, sizeof(t.db), "%s/fount.db", mnt);
	snprintf(t.kek, sizeof(t.kek), "file:%s/store.kek", mnt);
	struct store *s = tdb_open(&t);
	char first[STORE_ID_MAX + 1], id[STORE_ID_MAX + 1];
	static uint8_t key[60000];
	memset(key, 0x33, sizeof(key));
	EXPECT_OK(put_key(s, "T", key, 32, first));
	/* 8 MiB left free: 4 MiB of it a ballast file to give back later */
	char cmd[400];
	int64_t keep = avail_bytes(mnt) - (12 << 20);
	CU_ASSERT_FATAL(keep > 0);
	snprintf(cmd, sizeof(cmd), "dd if=/dev/zero of=%s/keep bs=64k count=%lld 2>/dev/null && "
		 "dd if=/dev/zero of=%s/spare bs=64k count=64 2>/dev/null", mnt, (long long)(keep >> 16), mnt);
	CU_ASSERT_EQUAL(testlib_sh(cmd), 0);
	err_t r = ERR_OK;
	int puts = 0;
	for (; puts < 400 && r == ERR_OK; puts++)
		r = put_key(s, "T", key, sizeof(key), id);
	int64_t left = avail_bytes(mnt);
	fprintf(stderr, "\n  disk full after %d puts, %lld KiB free: %s ", puts, (long long)(left >> 10), err_str(r));
	EXPECT_ERR(r, ERR_STORE_FULL);
	CU_ASSERT(puts > 1);
	CU_ASSERT_EQUAL(id[0], '\0'); /* no identifier handed out */
	/* refused from the reserve, not by ENOSPC: megabytes are left */
	CU_ASSERT(left > (2 << 20));
	/* reads, a Get's access record and a state change still work */
	struct store_object o;
	EXPECT_OK(store_get(s, first, "T", 0, &o));
	store_object_free(&o);
	uint8_t *m = NULL;
	size_t ml = 0;
	static const uint8_t fp[STORE_FINGERPRINT_LEN] = {1};
	EXPECT_OK(store_take_material(s, first, "T", 0, fp, "test get", &m, &ml));
	CU_ASSERT(ml == 32 && m && m[0] == 0x33);
	secmem_free(m, ml);
	EXPECT_OK(store_activate(s, first, "T", 0));
	/* ... what adds data does not, however small */
	struct store_attr a;
	store_attr_text(&a, "Object Group", 0, "g");
	EXPECT_ERR(store_attr_add(s, first, "T", 0, &a, NULL), ERR_STORE_FULL);
	EXPECT_ERR(put_key(s, "T", key, 32, id), ERR_STORE_FULL);
	/* under the reserve's last megabyte not even a Get's access record is
	 * written (refused before it starts); a plain read still works */
	int64_t rest = avail_bytes(mnt) - (512 << 10);
	CU_ASSERT_FATAL(rest > 0);
	snprintf(cmd, sizeof(cmd), "dd if=/dev/zero of=%s/floor bs=4k count=%lld 2>/dev/null", mnt,
		 (long long)(rest >> 12));
	CU_ASSERT_EQUAL(testlib_sh(cmd), 0);
	EXPECT_ERR(store_take_material(s, first, "T", 0, fp, "test get", &m, &ml), ERR_STORE_FULL);
	CU_ASSERT_PTR_NULL(m);
	EXPECT_OK(store_get(s, first, "T", 0, &o));
	store_object_free(&o);
	/* space back: writes work again, in the same store */
	snprintf(cmd, sizeof(cmd), "%s/floor", mnt);
	CU_ASSERT_EQUAL(unlink(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s/spare", mnt);
	CU_ASSERT_EQUAL(unlink(cmd), 0);
	EXPECT_OK(put_key(s, "T", key, 32, id));
	EXPECT_OK(store_get_material(s, id, "T", 0, &m, &ml));
	secmem_free(m, ml);
	EXPECT_OK(store_attr_add(s, first, "T", 0, &a, NULL));
	struct store_verify_result v;
	EXPECT_OK(store_verify(s, &v));
	CU_ASSERT_EQUAL(v.failed, 0);
	CU_ASSERT_EQUAL(v.checked, (uint64_t)puts + 1);
	store_verify_free(&v);
	store_close(s);
	CU_ASSERT_EQUAL(umount(mnt), 0);
}

/* ---- configuration ---------------------------------------------------------------------------- */

static void test_config_keys(void)
{
	struct config c;
	char eb[256];
	config_defaults(&c);
	CU_ASSERT(c.service_state_dir[0] != '\0');
	if (geteuid() == 0)
		CU_ASSERT_STRING_EQUAL(c.service_state_dir, "/var/lib/fount");
	char want[600];
	snprintf(want, sizeof(want), "%s/fount.db", c.service_state_dir);
	CU_ASSERT_STRING_EQUAL(c.store_path, want);
	snprintf(want, sizeof(want), "file:%s/store.kek", c.service_state_dir);
	CU_ASSERT_STRING_EQUAL(c.store_kek, want);

	setenv("FOUNT_SERVICE_STATE_DIR", "/srv/fount-state", 1);
	EXPECT_OK(config_load(&c, NULL, false, eb, sizeof(eb)));
	CU_ASSERT_STRING_EQUAL(c.store_path, "/srv/fount-state/fount.db");
	CU_ASSERT_STRING_EQUAL(c.store_kek, "file:/srv/fount-state/store.kek");
	setenv("FOUNT_STORE_PATH", "/data/keys.db", 1);
	setenv("FOUNT_STORE_KEK", "hsm:store-kek", 1);
	EXPECT_OK(config_load(&c, NULL, false, eb, sizeof(eb)));
	CU_ASSERT_STRING_EQUAL(c.store_path, "/data/keys.db");
	CU_ASSERT_STRING_EQUAL(c.store_kek, "hsm:store-kek");
	unsetenv("FOUNT_SERVICE_STATE_DIR");
	unsetenv("FOUNT_STORE_PATH");
	unsetenv("FOUNT_STORE_KEK");

	/* the state dir is created 0700 */
	char dir[200];
	snprintf(dir, sizeof(dir), "%s/state/a/b", tmp);
	EXPECT_OK(store_state_dir_ensure(dir, eb, sizeof(eb)));
	struct stat st;
	CU_ASSERT_EQUAL(stat(dir, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0700);
	EXPECT_OK(store_state_dir_ensure(dir, eb, sizeof(eb)));

	/* store_open makes the database's folder 0700 */
	char db[256], kek[280];
	snprintf(db, sizeof(db), "%s/state/new/fount.db", tmp);
	snprintf(kek, sizeof(kek), "file:%s/state/new/store.kek", tmp);
	struct store_options o = {.path = db, .kek = kek};
	struct store *s = NULL;
	EXPECT_OK(store_open(&o, &s, eb, sizeof(eb)));
	store_close(s);
	snprintf(dir, sizeof(dir), "%s/state/new", tmp);
	CU_ASSERT_EQUAL(stat(dir, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0700);
}

/* store_serve_material (KMIP 1.4 §3.34, §3.48, §3.50): the protection
 * checked, the access recorded and Fresh cleared in one write; another
 * tenant's object is not found and changes nothing; store_set_protection
 * moves only the safe way; migration 3 makes an object served before it
 * not Fresh (from the access log) and every old object Extractable. */
static void test_serve_and_protection(void)
{
	struct tdb t = {0};
	tdb_new(&t, "serve");
	struct store *s = tdb_open(&t);
	uint8_t key[16] = {9}, fp[STORE_FINGERPRINT_LEN] = {1};
	char id[STORE_ID_MAX + 1], sid[STORE_ID_MAX + 1], served[STORE_ID_MAX + 1];
	EXPECT_OK(put_key(s, "T", key, sizeof(key), id));
	struct store_object o;
	EXPECT_OK(store_get(s, id, "T", 0, &o));
	CU_ASSERT_EQUAL(o.protection, STORE_P_FRESH | STORE_P_EXTRACTABLE);
	store_object_free(&o);
	uint8_t *m = NULL;
	size_t ml = 0;
	uint64_t n = 0;
	EXPECT_ERR(store_serve_material(s, id, "U", 0, fp, "get", STORE_SERVE_PLAIN, 0, &m, &ml, NULL), ERR_STORE_NOT_FOUND);
	EXPECT_OK(store_access_count(s, id, &n));
	CU_ASSERT_EQUAL(n, 0);
	EXPECT_OK(store_serve_material(s, id, "T", 0, fp, "get", STORE_SERVE_PLAIN, 0, &m, &ml, NULL));
	CU_ASSERT(ml == sizeof(key) && m != NULL && memcmp(m, key, ml) == 0);
	secmem_free(m, ml);
	EXPECT_OK(store_access_count(s, id, &n));
	CU_ASSERT_EQUAL(n, 1);
	EXPECT_OK(store_get(s, id, "T", 0, &o));
	CU_ASSERT_EQUAL(o.protection, STORE_P_EXTRACTABLE);
	store_object_free(&o);
	/* Sensitive: wrapped only; then not Extractable: not at all */
	EXPECT_ERR(store_set_protection(s, id, "U", 0, true, false), ERR_STORE_NOT_FOUND);
	EXPECT_OK(store_set_protection(s, id, "T", 0, true, false));
	EXPECT_ERR(store_serve_material(s, id, "T", 0, fp, "get", STORE_SERVE_PLAIN, 0, &m, &ml, NULL), ERR_STORE_PROTECTED);
	CU_ASSERT_PTR_NULL(m);
	EXPECT_OK(store_serve_material(s, id, "T", 0, fp, "get wrapped", STORE_SERVE_WRAPPED, 0, &m, &ml, NULL));
	secmem_free(m, ml);
	EXPECT_OK(store_set_protection(s, id, "T", 0, false, true));
	EXPECT_ERR(store_serve_material(s, id, "T", 0, fp, "get wrapped", STORE_SERVE_WRAPPED, 0, &m, &ml, NULL),
		   ERR_STORE_PROTECTED);
	EXPECT_OK(store_access_count(s, id, &n));
	CU_ASSERT_EQUAL(n, 2);
	EXPECT_OK(store_get(s, id, "T", 0, &o));
	CU_ASSERT_EQUAL(o.protection, STORE_P_SENSITIVE); /* never Always Sensitive, never Never Extractable */
	store_object_free(&o);
	/* made Sensitive and not Extractable: so it always was */
	struct store_new_object nn = {.tenant = "T", .type = STORE_OBJ_SYMMETRIC_KEY, .alg = STORE_ALG_AES,
				      .length = 128, .key_format = STORE_FMT_RAW, .material = key,
				      .material_len = sizeof(key), .sensitive = true, .not_extractable = true};
	EXPECT_OK(store_put(s, &nn, sid));
	EXPECT_OK(store_get(s, sid, "T", 0, &o));
	CU_ASSERT_EQUAL(o.protection, STORE_P_FRESH | STORE_P_SENSITIVE | STORE_P_ALWAYS_SENSITIVE |
					      STORE_P_NEVER_EXTRACTABLE);
	store_object_free(&o);
	/* but its material is still there for the server's own use */
	EXPECT_OK(store_get_material(s, sid, "T", 0, &m, &ml));
	secmem_free(m, ml);
	if (pg != NULL) { /* the rest rewrites an SQLite schema */
		store_close(s);
		return;
	}
	/* migration 3 on a schema-2 database: Fresh from the access log */
	EXPECT_OK(put_key(s, "T", key, sizeof(key), served));
	EXPECT_OK(store_serve_material(s, served, "T", 0, fp, "kmip get", STORE_SERVE_PLAIN, 0, &m, &ml, NULL));
	secmem_free(m, ml);
	char fresh_id[STORE_ID_MAX + 1];
	EXPECT_OK(put_key(s, "T", key, sizeof(key), fresh_id));
	store_close(s);
	CU_ASSERT_EQUAL(sql_exec(&t, "ALTER TABLE objects DROP COLUMN protection;"
				       " ALTER TABLE access_log DROP COLUMN lease_end; DROP TABLE events; DROP TABLE leases; DROP TABLE lease_fold;"
				       " UPDATE meta SET value = 2 WHERE key = 'schema_version';"),
			SQLITE_OK);
	s = tdb_open(&t);
	EXPECT_OK(store_get(s, served, "T", 0, &o));
	CU_ASSERT_EQUAL(o.protection, STORE_P_EXTRACTABLE);
	store_object_free(&o);
	EXPECT_OK(store_get(s, fresh_id, "T", 0, &o));
	CU_ASSERT_EQUAL(o.protection, STORE_P_FRESH | STORE_P_EXTRACTABLE);
	store_object_free(&o);
	store_close(s);
}

TEST_SUITE(store, suite_init, suite_clean,
	   TEST(test_aead_vectors),
	   TEST(test_aead_seal_open),
	   TEST(test_put_get_roundtrip),
	   TEST(test_tenant_isolation),
	   TEST(test_lifecycle_allowed),
	   TEST(test_lifecycle_refused),
	   TEST(test_destroy_wipes_material),
	   TEST(test_managed_attrs_refused),
	   TEST(test_attr_add_modify_delete),
	   TEST(test_find_filters),
	   TEST(test_find_plan),
	   TEST(test_seal_tamper),
	   TEST(test_seal_moved_record),
	   TEST(test_other_kek_refused),
	   TEST(test_hsm_kek),
	   TEST(test_migrations),
	   TEST(test_names_unique),
	   TEST(test_names_migration),
	   TEST(test_group_commit),
	   TEST(test_wal_cut_back),
	   TEST(test_checkpoint_beside),
	   TEST(test_group_commit_isolated_errors),
	   TEST(test_record_access),
	   TEST(test_take_material),
	   TEST(test_holders_and_leases),
	   TEST(test_events),
	   TEST(test_lease_ends),
	   TEST(test_lease_migration),
	   TEST(test_lease_slack),
	   TEST(test_rowid_migration),
	   TEST(test_serve_and_protection),
	   TEST(test_crash_safety),
	   TEST(test_disk_full),
	   TEST(test_config_keys))

/* PostgreSQL down and back: a write fails at once, definite (nothing
 * written) and without hanging; a read fails the same way; once the server
 * is back, the node reconnects by itself and every acknowledged key is
 * there */
static void test_pg_server_down(void)
{
	struct tdb t = {0};
	tdb_new(&t, "down");
	/* the KEK file's folder is made, as the database's is on SQLite
	 * (fount serve on PostgreSQL once failed on a new state_dir) */
	snprintf(t.kek, sizeof(t.kek), "file:%s/state/store.kek", t.dir);
	struct store *s = tdb_open(&t);
	struct stat sd;
	CU_ASSERT(stat(t.kek + 5, &sd) == 0 && S_ISREG(sd.st_mode));
	uint8_t key[32] = {7};
	char id[STORE_ID_MAX + 1], id2[STORE_ID_MAX + 1];
	EXPECT_OK(put_key(s, "T", key, sizeof(key), id));
	CU_ASSERT_EQUAL_FATAL(pgtest_stop(pg, "immediate"), 0);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	EXPECT_ERR(put_key(s, "T", key, sizeof(key), id2), ERR_STORE_UNAVAILABLE);
	struct store_object o;
	EXPECT_ERR(store_get(s, id, "T", 0, &o), ERR_STORE_UNAVAILABLE);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CU_ASSERT(t1.tv_sec - t0.tv_sec < 10); /* bounded: connect_timeout, never a hang */
	struct store_stats st;
	store_stats(s, &st);
	CU_ASSERT_TRUE(st.unavailable);
	CU_ASSERT_STRING_EQUAL(st.backend, "postgresql");
	CU_ASSERT_EQUAL_FATAL(pgtest_start(pg), 0);
	err_t r = ERR_STORE_UNAVAILABLE;
	for (int i = 0; i < 50 && r == ERR_STORE_UNAVAILABLE; i++) { /* the back-off is at most 2 s */
		r = put_key(s, "T", key, sizeof(key), id2);
		if (r == ERR_STORE_UNAVAILABLE)
			usleep(100000);
	}
	EXPECT_OK(r);
	EXPECT_OK(store_get(s, id, "T", 0, &o));
	store_object_free(&o);
	EXPECT_OK(store_get(s, id2, "T", 0, &o));
	store_object_free(&o);
	store_stats(s, &st);
	CU_ASSERT_FALSE(st.unavailable);
	store_close(s);
}

/* the same tests on PostgreSQL, but for those of SQLite's own schema
 * history, file and disk (migrations of SQLite databases, the WAL on a
 * full tmpfs) and of the configuration */
TEST_SUITE(store_pg, suite_init_pg, suite_clean_pg,
	   TEST(test_put_get_roundtrip),
	   TEST(test_tenant_isolation),
	   TEST(test_lifecycle_allowed),
	   TEST(test_lifecycle_refused),
	   TEST(test_destroy_wipes_material),
	   TEST(test_managed_attrs_refused),
	   TEST(test_attr_add_modify_delete),
	   TEST(test_find_filters),
	   TEST(test_seal_tamper),
	   TEST(test_seal_moved_record),
	   TEST(test_other_kek_refused),
	   TEST(test_hsm_kek),
	   TEST(test_names_unique),
	   TEST(test_group_commit),
	   TEST(test_group_commit_isolated_errors),
	   TEST(test_record_access),
	   TEST(test_take_material),
	   TEST(test_holders_and_leases),
	   TEST(test_events),
	   TEST(test_lease_ends),
	   TEST(test_lease_migration),
	   TEST(test_lease_slack),
	   TEST(test_serve_and_protection),
	   TEST(test_crash_safety),
	   TEST(test_pg_server_down))
