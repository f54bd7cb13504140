/* fuzz/fuzz_kmip_objects.c — the KMIP object operations (Create, Create Key
 * Pair, Register, Get in every format and wrapped, the attribute operations,
 * Check, Locate, the lifecycle, Re-key, Encrypt/Decrypt) through
 * kmip_process on a real store, from a hostile tenant.
 *
 * Set-up, once: a store in a fresh folder ($TMPDIR, else /dev/shm (tmpfs),
 * else /tmp; removed at a normal exit, left behind by a crash) with a KEK
 * file, and for each of two tenants "fuzz-a" and "fuzz-b" the seed objects
 * below, so that Get, Locate, wrapping and
 * Encrypt have something real to hit. The seeded database is kept in memory
 * and copied back before every input, so every input runs on the same store
 * (a finding replays alone, and the store cannot grow without bound).
 *
 * Input: one flags byte (bit 0: the peer is an administrator; bit 1:
 * administrators may read key material, [kmip] admin_key_access), then one
 * request message from tenant A. The 36-byte text
 * "00000000-0000-0000-0000-0000000000" followed by 'a' or 'b' and a digit
 * (an enum seed: "...a0" is A's AES key, "...b1" B's private key) is
 * replaced, in place, by the Unique Identifier of that seed: the seeds'
 * identifiers are random UUIDs, different in every run, and this lets an
 * input name them (no real identifier has version nibble 0).
 *
 * Checked for every input: the response invariants of fuzz/kmip_check.h;
 * and, unless the peer is an administrator who may read keys, that no
 * byte of tenant B's seed material is in the response (the AES key, the
 * secret data, the top of the RSA private exponent and modulus, the
 * certificate's signature); and, unless the peer is an administrator, that
 * no successful batch item's payload names one of B's seeds; and that no
 * Result Message holds a seed's material, A's or B's.
 *
 * Key pairs: a Create Key Pair that may make an RSA key of 3072 or 4096
 * bits (an Integer 3072 or 4096 anywhere in such a request) is skipped: one
 * such key takes seconds under ASan. RSA-2048 and EC pairs are made. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "api/internal.h"
#include "api/ops.h"
#include "entropy/entropy.h"
#include "fuzz/fuzz.h"
#include "fuzz/kmip_check.h"

enum seed {
	SEED_AES,        /* AES-256, Active, Encrypt Decrypt Wrap Unwrap */
	SEED_PRIV,       /* RSA-2048 private key, Active */
	SEED_PUB,        /* its public key, Active */
	SEED_SECRET,     /* Secret Data (a password), Active */
	SEED_CERT,       /* a self-signed certificate (EC P-256) */
	SEED_PRE_ACTIVE, /* AES-128, Pre-Active */
	SEED_N,
};

#define TOKEN_PREFIX "00000000-0000-0000-0000-0000000000"
#define TOKEN_LEN 36
#define MARK_LEN 32
#define MAX_RESPONSE (1u << 18)

struct tenant {
	struct kmip_peer peer;
	char id[SEED_N][STORE_ID_MAX + 1];
	uint8_t mark[SEED_N][MARK_LEN]; /* bytes only its material has */
	bool has_mark[SEED_N];
};
static struct tenant tenants[2];
/* batch items answered Success and failed, printed at exit when
 * FUZZ_STATS is set (to see that a corpus reaches the operations) */
static unsigned long items_ok[64], items_failed[64]; /* by Operation */

static char dir[256], db_path[300], kek_path[300];
static struct store *st;
static uint8_t *golden;
static size_t golden_len;

static bool gate_open(void)
{
	return true;
}

static void die(const char *what, err_t r, const char *why)
{
	fprintf(stderr, "fuzz_kmip_objects: %s: %s %s\n", what, err_str(r), why != NULL ? why : "");
	abort();
}

/* ---- the store ------------------------------------------------------------ */

static void store_up(void)
{
	char why[256] = "";
	struct store_options o = {.path = db_path, .kek = kek_path, .readers = 1};
	err_t r = store_open(&o, &st, why, sizeof why);
	if (r != ERR_OK)
		die("store_open", r, why);
	ops_set_store(st, false);
}

static void store_down(void)
{
	ops_set_store(NULL, false);
	store_close(st);
	st = NULL;
}

static void unlink_db(void)
{
	char p[320];
	(void)unlink(db_path);
	snprintf(p, sizeof p, "%s-wal", db_path);
	(void)unlink(p);
	snprintf(p, sizeof p, "%s-shm", db_path);
	(void)unlink(p);
	snprintf(p, sizeof p, "%s-journal", db_path);
	(void)unlink(p);
}

static uint8_t *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		die("read the seeded store", ERR_IO, path);
	uint8_t *buf = NULL;
	size_t n = 0, cap = 0;
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 1u << 16;
			buf = realloc(buf, cap);
			if (buf == NULL)
				die("read the seeded store", ERR_NOMEM, path);
		}
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	fclose(f);
	*len = n;
	return buf;
}

/* store_reset puts the seeded database back and reopens the store */
static void store_reset(void)
{
	store_down();
	unlink_db();
	int fd = open(db_path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, golden, golden_len) != (ssize_t)golden_len)
		die("restore the seeded store", ERR_IO, strerror(errno));
	close(fd);
	store_up();
}

/* ---- seeds ------------------------------------------------------------------- */

static struct store_attr group_attr = {
	.name = "Object Group",
	.type = STORE_V_TEXT,
	.value = (const uint8_t *)"fuzz",
	.value_len = 4,
};

static void mark_bn(struct tenant *t, enum seed s, EVP_PKEY *pk, const char *param)
{
	BIGNUM *bn = NULL;
	uint8_t buf[1024];
	if (EVP_PKEY_get_bn_param(pk, param, &bn) != 1 || BN_num_bytes(bn) < MARK_LEN ||
	    BN_bn2bin(bn, buf) < MARK_LEN)
		die("seed mark", ERR_CRYPTO, param);
	memcpy(t->mark[s], buf, MARK_LEN);
	t->has_mark[s] = true;
	BN_clear_free(bn);
	OPENSSL_cleanse(buf, sizeof buf);
}

/* open_pkey decodes seed |s|'s key material in the format it is stored in
 * (RSA pairs fount makes are kept as PKCS#1) */
static EVP_PKEY *open_pkey(struct tenant *t, enum seed s, const uint8_t *m, size_t n)
{
	struct store_object o;
	if (ops_get(&t->peer, t->id[s], &o) != ERR_OK)
		return NULL;
	EVP_PKEY *pk = NULL;
	if (ops_pkey_open(o.type, o.key_format, m, n, &pk) != ERR_OK)
		pk = NULL;
	store_object_free(&o);
	return pk;
}

/* mark takes the bytes of seed |s|'s stored material that identify it */
static void mark(struct tenant *t, enum seed s)
{
	uint8_t *m = NULL;
	size_t n = 0;
	err_t r = ops_get_material(&t->peer, t->id[s], "fuzz seed", &m, &n);
	if (r != ERR_OK || (n < MARK_LEN && s != SEED_PRE_ACTIVE))
		die("read a seed", r, t->id[s]);
	switch (s) {
	case SEED_PRIV: {
		EVP_PKEY *pk = open_pkey(t, s, m, n);
		if (pk == NULL)
			die("parse the seed private key", ERR_CRYPTO, "");
		mark_bn(t, s, pk, OSSL_PKEY_PARAM_RSA_D);
		EVP_PKEY_free(pk);
		break;
	}
	case SEED_PUB: {
		EVP_PKEY *pk = open_pkey(t, s, m, n);
		if (pk == NULL)
			die("parse the seed public key", ERR_CRYPTO, "");
		mark_bn(t, s, pk, OSSL_PKEY_PARAM_RSA_N);
		EVP_PKEY_free(pk);
		break;
	}
	case SEED_CERT: /* the end of the signature */
		memcpy(t->mark[s], m + n - MARK_LEN, MARK_LEN);
		t->has_mark[s] = true;
		break;
	case SEED_AES:
	case SEED_SECRET:
		memcpy(t->mark[s], m, MARK_LEN);
		t->has_mark[s] = true;
		break;
	case SEED_PRE_ACTIVE: /* 16 bytes: shorter than a mark, not checked */
	case SEED_N:
		break;
	}
	secmem_free(m, n);
}

/* self_signed makes a DER certificate for |cn| (OpenSSL's default library
 * context: a test object, not a key fount makes) */
static uint8_t *self_signed(const char *cn, int *len)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new();
	if (k == NULL || x == NULL)
		die("make a seed certificate", ERR_CRYPTO, "");
	X509_NAME *nm = X509_get_subject_name(x);
	if (X509_set_version(x, X509_VERSION_3) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), 1) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 365) == NULL ||
	    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, nm) != 1 || X509_set_pubkey(x, k) != 1 || X509_sign(x, k, EVP_sha256()) == 0)
		die("make a seed certificate", ERR_CRYPTO, "");
	uint8_t *der = NULL;
	*len = i2d_X509(x, &der);
	if (*len <= MARK_LEN)
		die("make a seed certificate", ERR_CRYPTO, "");
	X509_free(x);
	EVP_PKEY_free(k);
	return der;
}

static void seed_tenant(struct tenant *t, const char *name)
{
	char why[OPS_WHY_MAX] = "";
	int64_t now = (int64_t)time(NULL);
	snprintf(t->peer.tenant, sizeof t->peer.tenant, "%s", name);
	const uint32_t crypt = KMIP_CRYPTOGRAPHIC_USAGE_MASK_ENCRYPT | KMIP_CRYPTOGRAPHIC_USAGE_MASK_DECRYPT;
	const uint32_t wrap = KMIP_CRYPTOGRAPHIC_USAGE_MASK_WRAP_KEY | KMIP_CRYPTOGRAPHIC_USAGE_MASK_UNWRAP_KEY;

	struct ops_new_key aes = {.alg = STORE_ALG_AES, .length = 256, .usage_mask = crypt | wrap,
				  .activation_date = now, .attrs = &group_attr, .n_attrs = 1};
	err_t r = ops_create_symmetric(&t->peer, &aes, t->id[SEED_AES]);
	if (r != ERR_OK)
		die("seed AES key", r, "");

	struct ops_new_pair pair = {
		.alg = STORE_ALG_RSA,
		.length = 2048,
		.priv = {.usage_mask = KMIP_CRYPTOGRAPHIC_USAGE_MASK_SIGN | KMIP_CRYPTOGRAPHIC_USAGE_MASK_DECRYPT,
			 .activation_date = now, .attrs = &group_attr, .n_attrs = 1},
		.pub = {.usage_mask = KMIP_CRYPTOGRAPHIC_USAGE_MASK_VERIFY | KMIP_CRYPTOGRAPHIC_USAGE_MASK_ENCRYPT,
			.activation_date = now, .attrs = &group_attr, .n_attrs = 1},
	};
	r = ops_create_keypair(&t->peer, &pair, t->id[SEED_PRIV], t->id[SEED_PUB]);
	if (r != ERR_OK)
		die("seed key pair", r, "");

	uint8_t secret[MARK_LEN];
	if (RAND_bytes(secret, sizeof secret) != 1)
		die("seed secret", ERR_CRYPTO, "");
	struct ops_new_key sd = {.data_type = KMIP_SECRET_DATA_TYPE_PASSWORD, .activation_date = now,
				 .attrs = &group_attr, .n_attrs = 1};
	r = ops_register_object(&t->peer, &sd, STORE_OBJ_SECRET_DATA, STORE_FMT_OPAQUE, secret, sizeof secret,
				t->id[SEED_SECRET], why);
	if (r != ERR_OK)
		die("seed secret data", r, why);
	OPENSSL_cleanse(secret, sizeof secret);

	int der_len = 0;
	uint8_t *der = self_signed(name, &der_len);
	struct ops_new_key cert = {.data_type = KMIP_CERTIFICATE_TYPE_X_509, .attrs = &group_attr, .n_attrs = 1};
	r = ops_register_object(&t->peer, &cert, STORE_OBJ_CERTIFICATE, 0, der, (size_t)der_len, t->id[SEED_CERT],
				why);
	if (r != ERR_OK)
		die("seed certificate", r, why);
	OPENSSL_free(der);

	struct ops_new_key pre = {.alg = STORE_ALG_AES, .length = 128, .usage_mask = crypt,
				  .attrs = &group_attr, .n_attrs = 1};
	r = ops_create_symmetric(&t->peer, &pre, t->id[SEED_PRE_ACTIVE]);
	if (r != ERR_OK)
		die("seed Pre-Active key", r, "");

	for (int s = 0; s < SEED_N; s++)
		mark(t, (enum seed)s);
}

/* in_message says whether a Result Message of |root| holds a mark of a
 * seed of either tenant (nothing secret in a message) */
static bool in_message(const struct ttlv_item *root)
{
	for (const struct ttlv_item *it = ttlv_find(root, KMIP_TAG_BATCH_ITEM); it != NULL; it = ttlv_find_next(it)) {
		const struct ttlv_item *m = ttlv_find(it, KMIP_TAG_RESULT_MESSAGE);
		for (int t = 0; m != NULL && t < 2; t++)
			for (int s = 0; s < SEED_N; s++)
				if (tenants[t].has_mark[s] && memmem(m->val, m->len, tenants[t].mark[s], MARK_LEN) != NULL)
					return true;
	}
	return false;
}

/* leaks says whether |r| holds a mark of one of B's seeds */
static bool leaks(const struct ttlv_enc *r)
{
	for (int s = 0; s < SEED_N; s++)
		if (tenants[1].has_mark[s] && memmem(r->buf, r->len, tenants[1].mark[s], MARK_LEN) != NULL)
			return true;
	return false;
}

/* self_check shows that the checks can fire: an administrator who may
 * read keys gets B's AES key (its mark is in the answer), tenant A does
 * not (Item Not Found, no mark). */
static void self_check(void)
{
	for (int as_admin = 0; as_admin < 2; as_admin++) {
		struct ttlv_enc q, r;
		ttlv_enc_init(&q, 1 << 12);
		ttlv_enc_begin(&q, KMIP_TAG_REQUEST_MESSAGE);
		ttlv_enc_begin(&q, KMIP_TAG_REQUEST_HEADER);
		ttlv_enc_begin(&q, KMIP_TAG_PROTOCOL_VERSION);
		ttlv_enc_int(&q, KMIP_TAG_PROTOCOL_VERSION_MAJOR, 1);
		ttlv_enc_int(&q, KMIP_TAG_PROTOCOL_VERSION_MINOR, 4);
		ttlv_enc_end(&q);
		ttlv_enc_int(&q, KMIP_TAG_BATCH_COUNT, 1);
		ttlv_enc_end(&q);
		ttlv_enc_begin(&q, KMIP_TAG_BATCH_ITEM);
		ttlv_enc_enum(&q, KMIP_TAG_OPERATION, KMIP_OPERATION_GET);
		ttlv_enc_begin(&q, KMIP_TAG_REQUEST_PAYLOAD);
		ttlv_enc_cstr(&q, KMIP_TAG_UNIQUE_IDENTIFIER, tenants[1].id[SEED_AES]);
		ttlv_enc_end(&q);
		ttlv_enc_end(&q);
		ttlv_enc_end(&q);
		FUZZ_CHECK(q.err == ERR_OK);
		struct kmip_peer peer = tenants[0].peer;
		peer.admin = as_admin != 0;
		ops_set_store(st, as_admin != 0);
		FUZZ_CHECK(kmip_process(q.buf, q.len, &peer, 1 << 16, &r) == ERR_OK);
		FUZZ_CHECK(leaks(&r) == (as_admin != 0));
		ttlv_enc_free(&r);
		ttlv_enc_free(&q);
	}
	ops_set_store(st, false);
}

/* ---- set-up and tear-down -------------------------------------------------------- */

static void release(void)
{
	drbg_tree_shutdown();
	entropy_shutdown();
}

static void remove_dir(void)
{
	for (unsigned op = 0; getenv("FUZZ_STATS") != NULL && op < 64; op++)
		if (items_ok[op] + items_failed[op] > 0)
			fprintf(stderr, "fuzz_kmip_objects: operation 0x%02x: %lu succeeded, %lu failed\n", op,
				items_ok[op], items_failed[op]);
	if (st != NULL)
		store_down();
	unlink_db();
	(void)unlink(kek_path + 5);
	(void)rmdir(dir);
	free(golden);
	golden = NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_keygen_once();
	struct config cfg;
	char err[256] = "";
	if (config_load(&cfg, NULL, false, err, sizeof err) != ERR_OK || entropy_init(&cfg) != ERR_OK)
		die("start the entropy pipeline", ERR_USAGE, err);
	drbg_set_gate(gate_open);
	if (drbg_tree_init(&cfg) != ERR_OK)
		die("start the DRBG tree", ERR_USAGE, "");
	atexit(release);

	const char *tmp = getenv("TMPDIR");
	if (tmp == NULL || tmp[0] == '\0')
		tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(dir, sizeof dir, "%s/fuzz_kmip_objects.XXXXXX", tmp);
	if (mkdtemp(dir) == NULL)
		die("make a folder", ERR_IO, dir);
	snprintf(db_path, sizeof db_path, "%s/fount.db", dir);
	snprintf(kek_path, sizeof kek_path, "file:%s/store.kek", dir);
	atexit(remove_dir);

	store_up();
	seed_tenant(&tenants[0], "fuzz-a");
	seed_tenant(&tenants[1], "fuzz-b");
	self_check();
	store_down();
	golden = read_all(db_path, &golden_len);
	store_up();
	return 0;
}

/* ---- one input ------------------------------------------------------------------- */

/* subst replaces each seed token in |p| by the identifier it names */
static void subst(uint8_t *p, size_t n)
{
	const size_t pl = sizeof TOKEN_PREFIX - 1;
	for (size_t i = 0; i + TOKEN_LEN <= n; i++) {
		if (p[i] != '0' || memcmp(p + i, TOKEN_PREFIX, pl) != 0)
			continue;
		uint8_t who = p[i + pl], which = p[i + pl + 1];
		if ((who != 'a' && who != 'b') || which < '0' || which >= '0' + SEED_N)
			continue;
		memcpy(p + i, tenants[who - 'a'].id[which - '0'], TOKEN_LEN);
		i += TOKEN_LEN - 1;
	}
}

/* has_rsa_big_pair looks under |it| for a Create Key Pair and an Integer
 * of 3072 or 4096 */
static bool has_rsa_big_pair(const struct ttlv_item *it, bool *pair, bool *big)
{
	for (; it != NULL; it = it->next) {
		if (it->tag == KMIP_TAG_OPERATION && it->type == TTLV_ENUM &&
		    it->u == KMIP_OPERATION_CREATE_KEY_PAIR)
			*pair = true;
		if (it->type == TTLV_INTEGER && (it->u == 3072 || it->u == 4096))
			*big = true;
		if (it->type == TTLV_STRUCTURE)
			(void)has_rsa_big_pair(it->child, pair, big);
	}
	return *pair && *big;
}

/* slow says whether the request may make an RSA-3072/4096 pair */
static bool slow(const uint8_t *p, size_t n)
{
	struct ttlv_doc d;
	bool pair = false, big = false;
	if (ttlv_decode(&d, p, n) == ERR_OK)
		(void)has_rsa_big_pair(ttlv_root(&d), &pair, &big);
	ttlv_doc_free(&d);
	return pair && big;
}

/* names_b says whether a Text String under |it| holds one of B's seed ids */
static bool names_b(const struct ttlv_item *it)
{
	for (; it != NULL; it = it->next) {
		if (it->type == TTLV_STRUCTURE && names_b(it->child))
			return true;
		if (it->type != TTLV_TEXT)
			continue;
		for (int s = 0; s < SEED_N; s++)
			if (memmem(it->val, it->len, tenants[1].id[s], strlen(tenants[1].id[s])) != NULL)
				return true;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const bool admin = (data[0] & 1) != 0, admin_keys = admin && (data[0] & 2) != 0;
	size_t n = size - 1;
	uint8_t *req = malloc(n > 0 ? n : 1);
	FUZZ_CHECK(req != NULL);
	memcpy(req, data + 1, n);
	subst(req, n);
	if (slow(req, n)) {
		free(req);
		return 0;
	}

	struct kmip_peer peer = tenants[0].peer;
	peer.admin = admin;
	ops_set_store(st, admin_keys);
	struct ttlv_enc resp;
	FUZZ_CHECK(kmip_process(req, n, &peer, MAX_RESPONSE, &resp) == ERR_OK);
	struct ttlv_doc d;
	fuzz_kmip_check(&resp, MAX_RESPONSE, &d);

	if (!admin_keys)
		FUZZ_CHECK(!leaks(&resp));
	FUZZ_CHECK(!in_message(ttlv_root(&d)));
	if (!admin)
		for (const struct ttlv_item *it = ttlv_find(ttlv_root(&d), KMIP_TAG_BATCH_ITEM); it != NULL;
		     it = ttlv_find_next(it)) {
			const struct ttlv_item *rs = ttlv_find(it, KMIP_TAG_RESULT_STATUS);
			const struct ttlv_item *pl = ttlv_find(it, KMIP_TAG_RESPONSE_PAYLOAD);
			if (rs->u != KMIP_RESULT_STATUS_SUCCESS || pl == NULL)
				continue;
			FUZZ_CHECK(!names_b(pl->child));
		}
	for (const struct ttlv_item *it = ttlv_find(ttlv_root(&d), KMIP_TAG_BATCH_ITEM); it != NULL;
	     it = ttlv_find_next(it)) {
		const struct ttlv_item *op = ttlv_find(it, KMIP_TAG_OPERATION);
		unsigned o = op != NULL && op->u < 64 ? (unsigned)op->u : 0;
		if (ttlv_find(it, KMIP_TAG_RESULT_STATUS)->u == KMIP_RESULT_STATUS_SUCCESS)
			items_ok[o]++;
		else
			items_failed[o]++;
	}
	ttlv_doc_free(&d);
	ttlv_enc_free(&resp);
	free(req);
	store_reset();
	return 0;
}

FUZZ_REPLAY_MAIN("fuzz_kmip_objects")
