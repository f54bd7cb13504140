/* tests/test_store_backup.c — store/backup.c: export and import round
 * trips (every column, attribute, sealed record and access record, Names
 * still unique), refusal of a non-empty target, of a damaged, truncated
 * or extended file and of another KEK with nothing imported, the hsm:
 * KEK, and `fount store verify | export | import` end to end. */
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hsm/hsm.h"
#include "keygen/keygen.h"
#include "selftest/selftest.h"
#include "store/store.h"
#include "tests/helpers.h"

static struct config cfg;
static char tmp[64];
static unsigned seq;
static struct run_result res;

static int suite_init(void)
{
	testlib_config(&cfg);
	selftest_reset_for_testing();
	if (selftest_power_on(&cfg, NULL, 0, NULL) != ERR_OK)
		return -1;
	return testlib_tmpdir_create(tmp, "backup");
}

static int suite_clean(void)
{
	selftest_reset_for_testing();
	return testlib_tmpdir_remove(tmp);
}

/* A fresh folder: its database and KEK file. */
struct tdb {
	char dir[200], db[256], kek[270], kek_path[256];
};

static void tdb_new(struct tdb *t, const char *tag)
{
	snprintf(t->dir, sizeof(t->dir), "%s/%s-%u", tmp, tag, seq++);
	CU_ASSERT_EQUAL(mkdir(t->dir, 0700), 0);
	snprintf(t->db, sizeof(t->db), "%s/fount.db", t->dir);
	snprintf(t->kek_path, sizeof(t->kek_path), "%s/store.kek", t->dir);
	snprintf(t->kek, sizeof(t->kek), "file:%s", t->kek_path);
}

/* tdb_share makes |to| use |from|'s KEK file */
static void tdb_share(struct tdb *to, const struct tdb *from)
{
	snprintf(to->kek, sizeof(to->kek), "%s", from->kek);
	snprintf(to->kek_path, sizeof(to->kek_path), "%s", from->kek_path);
}

static struct store *tdb_open(const struct tdb *t)
{
	struct store_options o = {.path = t->db, .kek = t->kek};
	struct store *s = NULL;
	char eb[512];
	err_t r = store_open(&o, &s, eb, sizeof(eb));
	if (r != ERR_OK)
		fprintf(stderr, "\n  store_open: %s (%s)\n", err_str(r), eb);
	CU_ASSERT_EQUAL_FATAL(r, ERR_OK);
	return s;
}

static err_t put_named(struct store *s, const char *tenant, const char *name, const uint8_t *key, size_t len,
		       char id[STORE_ID_MAX + 1])
{
	struct store_attr a[3];
	size_t n = 0;
	if (name != NULL)
		store_attr_text(&a[n++], "Name", 0, name);
	store_attr_text(&a[n++], "x-note", 0, "a custom text");
	store_attr_int(&a[n++], "x-count", 3, STORE_V_INTEGER, -42);
	struct store_new_object o = {0};
	o.tenant = tenant;
	o.type = key != NULL ? STORE_OBJ_SYMMETRIC_KEY : STORE_OBJ_OPAQUE;
	o.alg = STORE_ALG_AES;
	o.length = (uint32_t)len * 8;
	o.usage_mask = 12;
	o.key_format = STORE_FMT_RAW;
	o.material = key;
	o.material_len = len;
	o.attrs = a;
	o.n_attrs = n;
	o.sensitive = len == 16;
	return store_put(s, &o, id);
}

/* The source store of the round trips: four objects of two tenants (one
 * with a Name structure, one destroyed, one without material) and access
 * records. */
struct source {
	struct tdb t;
	char id[5][STORE_ID_MAX + 1];
	uint8_t key[5][32];
};

static void source_make(struct source *src)
{
	tdb_new(&src->t, "src");
	struct store *s = tdb_open(&src->t);
	for (int i = 0; i < 5; i++)
		memset(src->key[i], 0x30 + i, sizeof(src->key[i]));
	EXPECT_OK(put_named(s, "alpha", "key-one", src->key[0], 32, src->id[0]));
	EXPECT_OK(put_named(s, "alpha", "key-two", src->key[1], 16, src->id[1]));
	EXPECT_OK(put_named(s, "beta", "key-one", src->key[2], 32, src->id[2]));
	EXPECT_OK(put_named(s, "alpha", "gone", src->key[3], 32, src->id[3]));
	EXPECT_OK(put_named(s, "beta", NULL, NULL, 0, src->id[4]));
	/* a Name as a structure with its search text, and an Object Group */
	static const uint8_t name_struct[] = {0x42, 0x00, 0x53, 0x01, 0, 0, 0, 0};
	struct store_attr a = {.name = "Name", .index = 1, .type = STORE_V_STRUCTURE, .value = name_struct,
			       .value_len = sizeof(name_struct), .search = "key-one-alias"};
	EXPECT_OK(store_attr_add(s, src->id[0], "alpha", 0, &a, NULL));
	struct store_attr g;
	store_attr_text(&g, "Object Group", 0, "group-x");
	EXPECT_OK(store_attr_add(s, src->id[2], "beta", 0, &g, NULL));
	EXPECT_OK(store_activate(s, src->id[0], "alpha", 0));
	EXPECT_OK(store_destroy(s, src->id[3], "alpha", 0));
	uint8_t fp[STORE_FINGERPRINT_LEN];
	memset(fp, 0xab, sizeof(fp));
	EXPECT_OK(store_record_access(s, src->id[0], "alpha", fp, "kmip get", 1700000000));
	EXPECT_OK(store_record_access(s, src->id[2], "beta", fp, "get wrapped", 1700000001));
	EXPECT_OK(store_record_access(s, src->id[0], "alpha", fp, "kmip get", 1700000002));
	store_close(s);
}

static err_t export_to(const struct tdb *t, const char *path, struct store_backup_info *info)
{
	struct store *s = tdb_open(t);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	char eb[512];
	err_t r = store_export(s, fd, info, eb, sizeof(eb));
	if (r != ERR_OK)
		fprintf(stderr, "\n  store_export: %s\n", eb);
	close(fd);
	store_close(s);
	return r;
}

static err_t import_from(const struct tdb *t, const char *path, struct store_backup_info *info, char *eb,
			 size_t ebl)
{
	struct store_options o = {.path = t->db, .kek = t->kek};
	int fd = open(path, O_RDONLY);
	CU_ASSERT_FATAL(fd >= 0);
	err_t r = store_import(&o, fd, info, eb, ebl);
	close(fd);
	return r;
}

/* db_count: rows of |table| in the SQLite file (0 when it has none) */
static long db_count(const char *db, const char *table)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	char sql[128];
	long n = -1;
	if (access(db, F_OK) != 0)
		return 0;
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return n;
}

static bool db_empty(const char *db)
{
	return db_count(db, "objects") == 0 && db_count(db, "attributes") == 0 && db_count(db, "material") == 0 &&
	       db_count(db, "access_log") == 0 && db_count(db, "names") == 0;
}

static void expect_same_object(struct store *a, struct store *b, const char *id)
{
	struct store_object x, y;
	EXPECT_OK(store_get(a, id, "", STORE_F_ADMIN, &x));
	EXPECT_OK(store_get(b, id, "", STORE_F_ADMIN, &y));
	CU_ASSERT_STRING_EQUAL(x.id, y.id);
	CU_ASSERT_STRING_EQUAL(x.tenant, y.tenant);
	CU_ASSERT(x.type == y.type && x.state == y.state && x.alg == y.alg && x.length == y.length);
	CU_ASSERT(x.usage_mask == y.usage_mask && x.key_format == y.key_format && x.data_type == y.data_type);
	CU_ASSERT(x.revocation_reason == y.revocation_reason && x.protection == y.protection);
	CU_ASSERT(x.initial_date == y.initial_date && x.activation_date == y.activation_date);
	CU_ASSERT(x.deactivation_date == y.deactivation_date && x.destroy_date == y.destroy_date);
	CU_ASSERT(x.compromise_date == y.compromise_date && x.last_change_date == y.last_change_date);
	CU_ASSERT(x.compromise_occurrence_date == y.compromise_occurrence_date);
	CU_ASSERT(x.original_creation_date == y.original_creation_date);
	CU_ASSERT(x.has_digest == y.has_digest && memcmp(x.digest, y.digest, sizeof(x.digest)) == 0);
	CU_ASSERT(x.has_material == y.has_material);
	CU_ASSERT_EQUAL_FATAL(x.n_attrs, y.n_attrs);
	for (size_t i = 0; i < x.n_attrs; i++) {
		const struct store_attr *p = &x.attrs[i], *q = &y.attrs[i];
		CU_ASSERT_STRING_EQUAL(p->name, q->name);
		CU_ASSERT(p->index == q->index && p->type == q->type && p->value_len == q->value_len);
		CU_ASSERT(p->value_len == 0 || memcmp(p->value, q->value, p->value_len) == 0);
		CU_ASSERT((p->search == NULL) == (q->search == NULL));
		if (p->search != NULL && q->search != NULL)
			CU_ASSERT_STRING_EQUAL(p->search, q->search);
	}
	uint64_t ca = 0, cb = 0;
	EXPECT_OK(store_access_count(a, id, &ca));
	EXPECT_OK(store_access_count(b, id, &cb));
	CU_ASSERT_EQUAL(ca, cb);
	store_object_free(&x);
	store_object_free(&y);
}

static void test_roundtrip(void)
{
	struct source src;
	source_make(&src);
	const char *file = testlib_file(src.t.dir, "backup");
	struct store_backup_info ei, ii;
	EXPECT_OK(export_to(&src.t, file, &ei));
	CU_ASSERT(ei.objects == 5 && ei.sealed == 3 && ei.access == 3 && ei.unopenable == 0);
	if (ei.attrs != 4 + 5 * 2 + 1 + 1)
		fprintf(stderr, "\n  %llu attributes\n", (unsigned long long)ei.attrs);
	CU_ASSERT_EQUAL(ei.attrs, 4 + 5 * 2 + 1 + 1); /* Names of 4, x-note and x-count of 5, alias, group */

	/* into a fresh store under the same KEK file */
	struct tdb dst;
	tdb_new(&dst, "dst");
	tdb_share(&dst, &src.t);
	char eb[512] = "";
	err_t r = import_from(&dst, file, &ii, eb, sizeof(eb));
	if (r != ERR_OK)
		fprintf(stderr, "\n  store_import: %s\n", eb);
	EXPECT_OK(r);
	CU_ASSERT(ii.objects == ei.objects && ii.attrs == ei.attrs && ii.sealed == ei.sealed &&
		  ii.access == ei.access);
	CU_ASSERT(ii.verified == 3 && ii.verify_failed == 0);
	CU_ASSERT_EQUAL(ii.names, 4); /* key-one x2 tenants, alias, key-two; "gone" released */
	CU_ASSERT_EQUAL(ii.names_dup, 0);
	CU_ASSERT_EQUAL(db_count(dst.db, "names"), 4);

	struct store *a = tdb_open(&src.t), *b = tdb_open(&dst);
	for (int i = 0; i < 5; i++)
		expect_same_object(a, b, src.id[i]);
	/* the material opens, as it was */
	for (int i = 0; i < 3; i++) {
		uint8_t *m = NULL;
		size_t ml = 0;
		EXPECT_OK(store_get_material(b, src.id[i], "", STORE_F_ADMIN, &m, &ml));
		CU_ASSERT(m != NULL && ml == (i == 1 ? 16u : 32u) && memcmp(m, src.key[i], ml) == 0);
		secmem_free(m, ml);
	}
	/* the access log in its order */
	CU_ASSERT_EQUAL(db_count(dst.db, "access_log"), 3);
	/* Names are still unique per tenant; a destroyed object's is free */
	char id[STORE_ID_MAX + 1];
	uint8_t k[32] = {7};
	EXPECT_ERR(put_named(b, "alpha", "key-one", k, 32, id), ERR_STORE_NAME_TAKEN);
	EXPECT_ERR(put_named(b, "alpha", "key-one-alias", k, 32, id), ERR_STORE_NAME_TAKEN);
	EXPECT_ERR(put_named(b, "beta", "key-one", k, 32, id), ERR_STORE_NAME_TAKEN);
	EXPECT_OK(put_named(b, "alpha", "gone", k, 32, id));
	/* Locate finds the imported objects by Name and group */
	struct store_query q = {.tenant = "beta", .group = "group-x"};
	struct store_found f;
	EXPECT_OK(store_find(b, &q, &f));
	CU_ASSERT(f.n == 1 && strcmp(f.ids[0], src.id[2]) == 0);
	store_found_free(&f);
	struct store_verify_result v;
	EXPECT_OK(store_verify(b, &v));
	CU_ASSERT(v.checked == 4 && v.failed == 0);
	store_verify_free(&v);
	char msg[128];
	EXPECT_OK(store_quick_check(b, msg, sizeof(msg)));
	store_close(a);
	store_close(b);

	/* and the imported store exports again to the same rows */
	const char *file2 = testlib_file(dst.dir, "backup2");
	struct store_backup_info e2;
	EXPECT_OK(export_to(&dst, file2, &e2));
	CU_ASSERT(e2.objects == 6 && e2.access == 3);
}

static void test_not_empty_refused(void)
{
	struct source src;
	source_make(&src);
	const char *file = testlib_file(src.t.dir, "backup");
	struct store_backup_info info;
	EXPECT_OK(export_to(&src.t, file, &info));
	char eb[512] = "";
	/* into the store it came from */
	EXPECT_ERR(import_from(&src.t, file, &info, eb, sizeof(eb)), ERR_STORE_NOT_EMPTY);
	CU_ASSERT_PTR_NOT_NULL(strstr(eb, "empty store"));
	CU_ASSERT_PTR_NOT_NULL(strstr(eb, "[store] path"));
	CU_ASSERT_PTR_NULL(strchr(eb, '\n'));
	CU_ASSERT_EQUAL(db_count(src.t.db, "objects"), 5);
	/* a store with only an access record is not empty either */
	struct tdb t;
	tdb_new(&t, "log");
	tdb_share(&t, &src.t);
	struct store *s = tdb_open(&t);
	uint8_t fp[STORE_FINGERPRINT_LEN] = {1};
	EXPECT_OK(store_record_access(s, "some-id", "alpha", fp, "kmip get", 0));
	store_close(s);
	EXPECT_ERR(import_from(&t, file, &info, eb, sizeof(eb)), ERR_STORE_NOT_EMPTY);
	CU_ASSERT_EQUAL(db_count(t.db, "access_log"), 1);
	CU_ASSERT_EQUAL(db_count(t.db, "objects"), 0);
	/* an empty store that was opened once (its KEK check made) is fine */
	struct tdb e;
	tdb_new(&e, "opened");
	tdb_share(&e, &src.t);
	store_close(tdb_open(&e));
	EXPECT_OK(import_from(&e, file, &info, eb, sizeof(eb)));
	CU_ASSERT_EQUAL(db_count(e.db, "objects"), 5);
}

static uint8_t *slurp(const char *path, size_t *len)
{
	struct stat st;
	CU_ASSERT_FATAL(stat(path, &st) == 0);
	uint8_t *p = malloc((size_t)st.st_size + 1);
	CU_ASSERT_FATAL(p != NULL);
	FILE *f = fopen(path, "rb");
	CU_ASSERT_FATAL(f != NULL);
	*len = fread(p, 1, (size_t)st.st_size, f);
	fclose(f);
	return p;
}

static void spit(const char *path, const uint8_t *p, size_t len)
{
	FILE *f = fopen(path, "wb");
	CU_ASSERT_FATAL(f != NULL);
	CU_ASSERT_EQUAL(fwrite(p, 1, len, f), len);
	fclose(f);
}

/* every damaged copy is refused with one line, and the target stays empty */
static void expect_refused(const struct tdb *dst, const char *bad, const char *what, size_t at)
{
	struct store_backup_info info;
	char eb[512] = "";
	err_t r = import_from(dst, bad, &info, eb, sizeof(eb));
	if (r == ERR_OK || !db_empty(dst->db))
		fprintf(stderr, "\n  %s at %zu: imported (%s)\n", what, at, err_str(r));
	CU_ASSERT(r == ERR_STORE_BACKUP || r == ERR_STORE_KEK || r == ERR_STORE_SCHEMA);
	CU_ASSERT(eb[0] != '\0' && strchr(eb, '\n') == NULL);
	CU_ASSERT(db_empty(dst->db));
}

static void test_damage_refused(void)
{
	struct source src;
	source_make(&src);
	const char *file = testlib_file(src.t.dir, "backup");
	const char *bad = testlib_file(src.t.dir, "bad");
	struct store_backup_info info;
	EXPECT_OK(export_to(&src.t, file, &info));
	size_t len = 0;
	uint8_t *orig = slurp(file, &len);
	uint8_t *p = malloc(len + 1);
	CU_ASSERT_FATAL(p != NULL && len > 400);
	struct tdb dst;
	tdb_new(&dst, "dmg");
	tdb_share(&dst, &src.t);
	/* one flipped bit: every byte of the header, the meta rows and the
	 * last record and MAC, and every 11th byte between */
	for (size_t i = 0; i < len; i++) {
		if (!(i < 240 || i % 11 == 0 || i + 60 >= len))
			continue;
		memcpy(p, orig, len);
		p[i] ^= (uint8_t)(1u << (i % 8));
		spit(bad, p, len);
		expect_refused(&dst, bad, "flipped bit", i);
	}
	/* truncated anywhere */
	const size_t cuts[] = {0, 1, 8, 87, 88, 89, 200, len / 2, len - 33, len - 32, len - 1};
	for (size_t i = 0; i < ARRAY_SIZE(cuts); i++) {
		spit(bad, orig, cuts[i]);
		expect_refused(&dst, bad, "truncated", cuts[i]);
	}
	/* a byte after the MAC */
	memcpy(p, orig, len);
	p[len] = 0;
	spit(bad, p, len + 1);
	expect_refused(&dst, bad, "extended", len);
	/* reordered: the first and the last access record swapped (both
	 * (id[0], "alpha", "kmip get"), 102 bytes; the middle one, of "beta"
	 * and "get wrapped", 104): every record parses, the MAC does not match */
	size_t rec = 1 + 1 + 36 + 2 + 5 + 32 + 1 + 8 + 8 + 8, mid = 1 + 1 + 36 + 2 + 4 + 32 + 1 + 11 + 8 + 8;
	size_t end = len - 33, last = end - rec, first = last - mid - rec;
	memcpy(p, orig, len);
	CU_ASSERT(p[end] == 'E' && p[last] == 'L' && p[last - mid] == 'L' && p[first] == 'L');
	CU_ASSERT(memcmp(p + first, p + last, rec) != 0);
	uint8_t save[102];
	memcpy(save, p + first, rec);
	memcpy(p + first, p + last, rec);
	memcpy(p + last, save, rec);
	spit(bad, p, len);
	expect_refused(&dst, bad, "reordered", first);
	/* and the untouched file still imports */
	char eb[512];
	EXPECT_OK(import_from(&dst, file, &info, eb, sizeof(eb)));
	free(p);
	free(orig);
}

/* The leases of the access log survive a backup: a holder's lease end is
 * the same after the import (schema 6 adds it to each 'L' record), and
 * its lease_end event comes at that end; a lease over by then makes none */
static void test_leases_kept(void)
{
	struct source src;
	source_make(&src);
	struct store *s = tdb_open(&src.t);
	uint8_t fp[STORE_FINGERPRINT_LEN];
	memset(fp, 0x5a, sizeof fp);
	uint8_t *m = NULL;
	size_t ml = 0;
	int64_t le = 0, lc = 0;
	EXPECT_OK(store_serve_material(s, src.id[0], "alpha", 0, fp, "kmip get", STORE_SERVE_PLAIN, 600, &m, &ml, NULL));
	secmem_free(m, ml);
	EXPECT_OK(store_obtain_lease(s, src.id[0], "alpha", 0, fp, "kmip obtain lease", 900, &le, &lc));
	CU_ASSERT(le > 0);
	/* and a lease over before the backup */
	uint8_t fp2[STORE_FINGERPRINT_LEN];
	memset(fp2, 0x6b, sizeof fp2);
	int64_t le2 = 0;
	EXPECT_OK(store_serve_material(s, src.id[2], "beta", 0, fp2, "kmip get", STORE_SERVE_PLAIN, 1, &m, &ml, &le2));
	secmem_free(m, ml);
	while (time(NULL) <= le2)
		usleep(100 * 1000);
	store_close(s);
	const char *file = testlib_file(src.t.dir, "backup-leases");
	struct store_backup_info ei, ii;
	EXPECT_OK(export_to(&src.t, file, &ei));
	CU_ASSERT_EQUAL(ei.access, 6);
	struct tdb dst;
	tdb_new(&dst, "dst-leases");
	tdb_share(&dst, &src.t);
	char eb[512] = "";
	EXPECT_OK(import_from(&dst, file, &ii, eb, sizeof(eb)));
	CU_ASSERT_EQUAL(ii.access, 6);
	struct store *b = tdb_open(&dst);
	/* the lease over before the backup is the past: no lease_end event;
	 * the one still running gets one at its end */
	size_t n = 99, n2 = 99;
	EXPECT_OK(store_leases_sweep(b, time(NULL), &n));
	CU_ASSERT_EQUAL(n, 0);
	EXPECT_OK(store_leases_sweep(b, le + store_leases_lag(b) + 1, &n2));
	CU_ASSERT_EQUAL(n2, 1);
	struct store_holders hs;
	EXPECT_OK(store_holders_of(b, src.id[0], "alpha", 0, &hs));
	/* the two records of source_make (no lease) and this Get, one certificate each */
	CU_ASSERT_EQUAL_FATAL(hs.n, 2);
	size_t k = memcmp(hs.h[0].fingerprint, fp, sizeof fp) == 0 ? 0 : 1;
	CU_ASSERT(memcmp(hs.h[k].fingerprint, fp, sizeof fp) == 0);
	CU_ASSERT_EQUAL(hs.h[k].lease_end, le);
	CU_ASSERT(hs.h[k].leased);
	CU_ASSERT_EQUAL(hs.h[1 - k].lease_end, 0);
	CU_ASSERT_EQUAL(hs.h[1 - k].count, 2);
	store_holders_free(&hs);
	store_close(b);
}

static void test_wrong_kek_refused(void)
{
	struct source src;
	source_make(&src);
	const char *file = testlib_file(src.t.dir, "backup");
	struct store_backup_info info;
	EXPECT_OK(export_to(&src.t, file, &info));
	/* another KEK file */
	struct tdb dst;
	tdb_new(&dst, "kek");
	store_close(tdb_open(&dst)); /* makes its own KEK file */
	char eb[512] = "";
	EXPECT_ERR(import_from(&dst, file, &info, eb, sizeof(eb)), ERR_STORE_KEK);
	CU_ASSERT_PTR_NOT_NULL(strstr(eb, "different key-encryption key"));
	CU_ASSERT_PTR_NOT_NULL(strstr(eb, src.t.kek)); /* the kek it was made with */
	CU_ASSERT(db_empty(dst.db));
	/* a KEK file that does not exist is not made */
	struct tdb none;
	tdb_new(&none, "nokek");
	EXPECT_ERR(import_from(&none, file, &info, eb, sizeof(eb)), ERR_STORE_KEK);
	CU_ASSERT_NOT_EQUAL(access(none.kek_path, F_OK), 0);
	CU_ASSERT(db_empty(none.db));
	/* not a backup at all: refused before a database is made */
	struct tdb junk;
	tdb_new(&junk, "junk");
	tdb_share(&junk, &src.t);
	const char *bad = testlib_file(src.t.dir, "junk");
	spit(bad, (const uint8_t *)"hello, world\n", 13);
	EXPECT_ERR(import_from(&junk, bad, &info, eb, sizeof(eb)), ERR_STORE_BACKUP);
	CU_ASSERT_PTR_NOT_NULL(strstr(eb, "not a fount store backup"));
	CU_ASSERT_NOT_EQUAL(access(junk.db, F_OK), 0);
}

/* a record that does not open (flipped in the database) is exported as
 * stored and named; the import commits it and its verification pass
 * reports it */
static void test_unopenable_record(void)
{
	struct source src;
	source_make(&src);
	sqlite3 *h = NULL;
	CU_ASSERT_EQUAL_FATAL(sqlite3_open(src.t.db, &h), SQLITE_OK);
	char sql[512];
	snprintf(sql, sizeof(sql),
		 /* byte 21 changed whatever it was (setting it to 00 left one
		  * record in 256 intact: a flaky test) */
		 "UPDATE material SET sealed = substr(sealed, 1, 20) || CASE WHEN substr(sealed, 21, 1) = x'00'"
		 " THEN x'01' ELSE x'00' END || substr(sealed, 22) WHERE id = '%s'",
		 src.id[2]);
	CU_ASSERT_EQUAL(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	const char *file = testlib_file(src.t.dir, "backup");
	struct store_backup_info info;
	EXPECT_OK(export_to(&src.t, file, &info));
	CU_ASSERT_EQUAL(info.unopenable, 1);
	CU_ASSERT_STRING_EQUAL(info.first_unopenable, src.id[2]);
	struct tdb dst;
	tdb_new(&dst, "unopen");
	tdb_share(&dst, &src.t);
	char eb[512] = "";
	EXPECT_ERR(import_from(&dst, file, &info, eb, sizeof(eb)), ERR_STORE_SEAL);
	CU_ASSERT(info.verified == 3 && info.verify_failed == 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(eb, src.id[2]));
}

static void test_hsm_kek(void)
{
	struct config c = cfg;
	struct hsm *h = NULL;
	CU_ASSERT_EQUAL_FATAL(testlib_softhsm_setup(), 0);
	CU_ASSERT_EQUAL_FATAL(testlib_softhsm_token("backup-test", "backup-pin-1"), 0);
	snprintf(c.hsm[0].module, sizeof(c.hsm[0].module), "%s", TESTLIB_SOFTHSM_MODULE);
	snprintf(c.hsm[0].token, sizeof(c.hsm[0].token), "backup-test");
	c.hsm[0].pool_size = 2;
	setenv("FOUNT_HSM_PIN", "backup-pin-1", 1);
	err_t r = hsm_open(&c.hsm[0], &h);
	unsetenv("FOUNT_HSM_PIN");
	EXPECT_OK(r);
	if (r != ERR_OK) {
		testlib_softhsm_cleanup();
		return;
	}
	uint8_t kek[32];
	EXPECT_OK(drbg_generate(kek, sizeof(kek)));
	EXPECT_OK(hsm_kek_install(h, "backup-kek", kek, sizeof(kek), 0));
	EXPECT_OK(hsm_kek_install(h, "other-kek", kek + 1, 16, 0));

	struct tdb t, d, d2, d3;
	tdb_new(&t, "hsm");
	tdb_new(&d, "hsmdst");
	tdb_new(&d2, "hsmother");
	tdb_new(&d3, "hsmfile");
	struct store_options o = {.path = t.db, .kek = "hsm:backup-kek", .hsm = h};
	struct store *s = NULL;
	char eb[512] = "", id[STORE_ID_MAX + 1];
	uint8_t key[32] = {0x5a, 1, 2};
	EXPECT_OK(store_open(&o, &s, eb, sizeof(eb)));
	CU_ASSERT_FATAL(s != NULL);
	EXPECT_OK(put_named(s, "T", "hsm-key", key, sizeof(key), id));
	const char *file = testlib_file(t.dir, "backup");
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	struct store_backup_info info;
	EXPECT_OK(store_export(s, fd, &info, eb, sizeof(eb)));
	close(fd);
	store_close(s);

	/* a new database under the same HSM key: the backup's data key comes
	 * with it (wrapped), the HSM unwraps it */
	fd = open(file, O_RDONLY);
	o.path = d.db;
	EXPECT_OK(store_import(&o, fd, &info, eb, sizeof(eb)));
	CU_ASSERT(info.objects == 1 && info.verified == 1);
	close(fd);
	s = NULL;
	EXPECT_OK(store_open(&o, &s, eb, sizeof(eb)));
	if (s != NULL) {
		uint8_t *m = NULL;
		size_t ml = 0;
		EXPECT_OK(store_get_material(s, id, "T", 0, &m, &ml));
		CU_ASSERT(ml == sizeof(key) && m != NULL && memcmp(m, key, ml) == 0);
		secmem_free(m, ml);
		store_close(s);
	}
	/* another HSM key, or a KEK file: refused, nothing imported */
	fd = open(file, O_RDONLY);
	o.path = d2.db;
	o.kek = "hsm:other-kek";
	EXPECT_ERR(store_import(&o, fd, &info, eb, sizeof(eb)), ERR_STORE_KEK);
	CU_ASSERT(db_empty(d2.db));
	o.path = d3.db;
	o.kek = d3.kek;
	EXPECT_ERR(store_import(&o, fd, &info, eb, sizeof(eb)), ERR_STORE_KEK);
	CU_ASSERT_PTR_NOT_NULL(strstr(eb, "HSM KEK"));
	CU_ASSERT(db_empty(d3.db));
	close(fd);
	hsm_close(h);
	testlib_softhsm_cleanup();
}

/* ---- the CLI ------------------------------------------------------------------ */

static int fount_store(const struct tdb *t, const char *a1, const char *a2, const char *a3)
{
	static char e1[300], e2[300];
	snprintf(e1, sizeof(e1), "FOUNT_STORE_PATH=%s", t->db);
	snprintf(e2, sizeof(e2), "FOUNT_STORE_KEK=%s", t->kek);
	const char *env[] = {e1, e2, NULL};
	const char *argv[] = {testlib_fount_bin(), "store", a1, a2, a3, NULL};
	CU_ASSERT_EQUAL_FATAL(testlib_run(argv, env, NULL, &res), 0);
	return res.status;
}

static int fount_keys(const struct tdb *t, const char *a1, const char *a2)
{
	static char e1[300], e2[300];
	snprintf(e1, sizeof(e1), "FOUNT_STORE_PATH=%s", t->db);
	snprintf(e2, sizeof(e2), "FOUNT_STORE_KEK=%s", t->kek);
	const char *env[] = {e1, e2, NULL};
	const char *argv[] = {testlib_fount_bin(), "keys", a1, a2, NULL};
	CU_ASSERT_EQUAL_FATAL(testlib_run(argv, env, NULL, &res), 0);
	return res.status;
}

/* `fount keys holders ID` and `fount keys held TENANT`: the operator's
 * view of every tenant, one line per tenant and certificate */
static void test_cli_keys(void)
{
	struct source src;
	source_make(&src);
	CU_ASSERT_EQUAL(fount_keys(&src.t, "holders", src.id[0]), 0);
	char ab[65];
	memset(ab, 'a', 64);
	for (int i = 1; i < 64; i += 2)
		ab[i] = 'b';
	ab[64] = '\0';
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "TENANT"));
	const char *line = strstr(res.out, "alpha");
	CU_ASSERT_PTR_NOT_NULL_FATAL(line);
	CU_ASSERT_PTR_NOT_NULL(strstr(line, ab));
	CU_ASSERT_PTR_NOT_NULL(strstr(line, "2023-11-14T22:13:20Z  2023-11-14T22:13:22Z         2  none"));
	/* a Get with a lease, by another certificate */
	struct store *s = tdb_open(&src.t);
	uint8_t fp[STORE_FINGERPRINT_LEN];
	memset(fp, 0x5a, sizeof fp);
	uint8_t *m = NULL;
	size_t ml = 0;
	EXPECT_OK(store_serve_material(s, src.id[0], "alpha", 0, fp, "kmip get", STORE_SERVE_PLAIN, 600, &m, &ml, NULL));
	secmem_free(m, ml);
	store_close(s);
	CU_ASSERT_EQUAL(fount_keys(&src.t, "holders", src.id[0]), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "5a5a5a5a"));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "  until 20"));
	/* the reverse */
	CU_ASSERT_EQUAL(fount_keys(&src.t, "held", "beta"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "KEY"));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, src.id[2]));
	CU_ASSERT_PTR_NULL(strstr(res.out, src.id[0]));
	CU_ASSERT_EQUAL(fount_keys(&src.t, "held", "nobody"), 0);
	CU_ASSERT_PTR_NULL(strstr(res.out, src.id[0]));
	/* one-line errors */
	CU_ASSERT_EQUAL(fount_keys(&src.t, "holders", "00000000-0000-4000-8000-000000000000"), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "no key 00000000-0000-4000-8000-000000000000"));
	CU_ASSERT_EQUAL(fount_keys(&src.t, "held", ""), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "not a tenant name"));
	CU_ASSERT_EQUAL(fount_keys(&src.t, "holders", NULL), 2);
	CU_ASSERT_EQUAL(fount_keys(&src.t, "--help", NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "fount keys held TENANT"));
	/* no store there: said, not made */
	struct tdb none;
	tdb_new(&none, "keys-none");
	CU_ASSERT_EQUAL(fount_keys(&none, "held", "alpha"), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "no key store at"));
	CU_ASSERT_NOT_EQUAL(access(none.db, F_OK), 0);
}

static void test_cli(void)
{
	struct source src;
	source_make(&src);
	CU_ASSERT_EQUAL(fount_store(&src.t, "verify", NULL, NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "3 sealed records checked, 3 open, 0 fail"));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "database check: ok"));

	const char *file = testlib_file(src.t.dir, "cli.bak");
	CU_ASSERT_EQUAL(fount_store(&src.t, "export", "-o", file), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "exported 5 objects"));
	struct stat st;
	CU_ASSERT_EQUAL(stat(file, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	/* never overwritten */
	CU_ASSERT_EQUAL(fount_store(&src.t, "export", "-o", file), 1);

	struct tdb dst;
	tdb_new(&dst, "clidst");
	tdb_share(&dst, &src.t);
	CU_ASSERT_EQUAL(fount_store(&dst, "import", file, NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "imported 5 objects"));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "3 sealed records open, counts match"));
	CU_ASSERT_EQUAL(fount_store(&dst, "verify", NULL, NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "3 sealed records checked, 3 open"));
	/* a second import: refused, one line naming the fix */
	CU_ASSERT_EQUAL(fount_store(&dst, "import", file, NULL), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "empty store"));

	/* a damaged copy */
	size_t len = 0;
	uint8_t *p = slurp(file, &len);
	p[len / 2] ^= 0x10;
	const char *bad = testlib_file(src.t.dir, "cli-bad.bak");
	spit(bad, p, len);
	free(p);
	struct tdb d2;
	tdb_new(&d2, "clibad");
	tdb_share(&d2, &src.t);
	CU_ASSERT_EQUAL(fount_store(&d2, "import", bad, NULL), 1);
	CU_ASSERT(strstr(res.err, "damaged") != NULL || strstr(res.err, "MAC") != NULL);
	CU_ASSERT(db_empty(d2.db));

	/* verify names a record that does not open, and fails */
	sqlite3 *h = NULL;
	CU_ASSERT_EQUAL_FATAL(sqlite3_open(dst.db, &h), SQLITE_OK);
	char sql[256];
	snprintf(sql, sizeof(sql),
		 "UPDATE material SET sealed = substr(sealed, 1, 20) || x'00' || substr(sealed, 22) WHERE id = '%s'",
		 src.id[1]);
	CU_ASSERT_EQUAL(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	CU_ASSERT_EQUAL(fount_store(&dst, "verify", NULL, NULL), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "1 fail"));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, src.id[1]));

	/* usage */
	CU_ASSERT_EQUAL(fount_store(&dst, "--help", NULL, NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "fount store export -o FILE"));
	CU_ASSERT_EQUAL(fount_store(&dst, "export", NULL, NULL), 2);
	CU_ASSERT_EQUAL(fount_store(&dst, "import", NULL, NULL), 2);
	CU_ASSERT_EQUAL(fount_store(&dst, "frobnicate", NULL, NULL), 2);
	CU_ASSERT_EQUAL(fount_store(&dst, "verify", "extra", NULL), 2);
	CU_ASSERT_EQUAL(fount_store(&dst, "import", "/nonexistent/file", NULL), 1);
	/* verify and export of a store that is not there make none */
	struct tdb none;
	tdb_new(&none, "clinone");
	CU_ASSERT_EQUAL(fount_store(&none, "verify", NULL, NULL), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "no key store at"));
	CU_ASSERT_EQUAL(fount_store(&none, "export", "-o", testlib_file(none.dir, "x.bak")), 1);
	CU_ASSERT_NOT_EQUAL(access(none.db, F_OK), 0);
	CU_ASSERT_NOT_EQUAL(access(none.kek_path, F_OK), 0);
	CU_ASSERT_NOT_EQUAL(access(testlib_file(none.dir, "x.bak"), F_OK), 0);
}

TEST_SUITE(store_backup, suite_init, suite_clean,
	   TEST(test_roundtrip),
	   TEST(test_not_empty_refused),
	   TEST(test_damage_refused),
	   TEST(test_leases_kept),
	   TEST(test_wrong_kek_refused),
	   TEST(test_unopenable_record),
	   TEST(test_hsm_kek),
	   TEST(test_cli),
	   TEST(test_cli_keys))
