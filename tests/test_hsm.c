/* tests/test_hsm.c — hsm/ against throw-away SoftHSMv2 tokens, cross-checked
 * with OpenSC's pkcs11-tool and OpenSSL. */
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "entropy/entropy.h"
#include "hsm/hsm.h"
#include "keygen/keygen.h"
#include "tests/testlib.h"

#define LABEL "fount-test"
#define PIN "user-pin-5678"

static struct config cfg;
static struct hsm *h;
static uint8_t kek[32]; /* fount's copy of the transport KEK "kek" */

static bool gate(void)
{
	return true;
}

static const char *tfile(const char *name)
{
	static char path[4][160];
	static int k;
	k = (k + 1) % 4;
	snprintf(path[k], sizeof(path[k]), "%s/%s", testlib_softhsm_dir(), name);
	return path[k];
}

static int write_file(const char *path, const void *p, size_t len)
{
	FILE *fp = fopen(path, "wb");
	if (fp == NULL)
		return -1;
	size_t n = fwrite(p, 1, len, fp);
	return fclose(fp) == 0 && n == len ? 0 : -1;
}

static int suite_init(void)
{
	config_defaults(&cfg);
	secmem_set_mlock(false);
	if (testlib_softhsm_setup() != 0 || testlib_softhsm_token(LABEL, PIN) != 0 ||
	    testlib_softhsm_token("second", "second-pin") != 0)
		return -1;
	snprintf(cfg.hsm[0].module, sizeof(cfg.hsm[0].module), "%s", TESTLIB_SOFTHSM_MODULE);
	snprintf(cfg.hsm[0].token, sizeof(cfg.hsm[0].token), "%s", LABEL);
	snprintf(cfg.hsm[0].pin_file, sizeof(cfg.hsm[0].pin_file), "%s", tfile("pin"));
	cfg.hsm[0].pool_size = 2;
	if (write_file(cfg.hsm[0].pin_file, PIN "\n", strlen(PIN) + 1) != 0 ||
	    chmod(cfg.hsm[0].pin_file, 0600) != 0)
		return -1;
	unsetenv("FOUNT_HSM_PIN");
	if (keygen_init(&cfg) != ERR_OK)
		return -1;
	err_t r = entropy_init(&cfg);
	if (r != ERR_OK && r != ERR_USAGE)
		return -1;
	drbg_set_gate(gate);
	keygen_set_service_gate(gate);
	if (drbg_tree_init(&cfg) != ERR_OK || drbg_generate(kek, sizeof(kek)) != ERR_OK)
		return -1;
	return hsm_open(&cfg.hsm[0], &h) == ERR_OK ? 0 : -1;
}

static int suite_clean(void)
{
	/* the registered HSM source points at h: the pipeline goes first */
	drbg_tree_shutdown();
	drbg_set_gate(NULL);
	keygen_set_service_gate(NULL);
	entropy_shutdown();
	hsm_close(h);
	h = NULL;
	testlib_softhsm_cleanup();
	return 0;
}

static int p11(const char *args)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 "pkcs11-tool --module " TESTLIB_SOFTHSM_MODULE " --token-label " LABEL
		 " --login --pin " PIN " %s 2>/dev/null", args);
	return testlib_sh(cmd);
}

static void test_tokens(void)
{
	struct hsm_token_info t[8];
	size_t n = 0;
	EXPECT_OK(hsm_list_tokens(&cfg.hsm[0], t, 8, &n));
	bool found = false;
	for (size_t i = 0; i < n && i < 8; i++)
		if (strcmp(t[i].label, LABEL) == 0 && strcmp(t[i].model, "SoftHSM v2") == 0)
			found = true;
	CU_ASSERT(found);
}

static const struct hsm_object_info *find(const struct hsm_object_info *o, size_t n,
					  const char *label, const char *cls)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(o[i].label, label) == 0 && strcmp(o[i].class_name, cls) == 0)
			return &o[i];
	return NULL;
}

static void test_generate_and_list(void)
{
	static struct hsm_object_info o[64];
	size_t n = 0;
	EXPECT_OK(hsm_generate(h, HSM_KEY_AES_256, "g-aes", 0));
	EXPECT_OK(hsm_generate(h, HSM_KEY_RSA_3072, "g-rsa", 0));
	EXPECT_OK(hsm_generate(h, HSM_KEY_EC_P256, "g-ec", HSM_KEY_EXTRACTABLE));
	EXPECT_ERR(hsm_generate(h, HSM_KEY_AES_128, "g-aes", 0), ERR_HSM_DUPLICATE);
	EXPECT_ERR(hsm_generate(h, HSM_KEY_RSA_3072, "k", HSM_KEY_KEK), ERR_INVALID_ARG);
	EXPECT_OK(hsm_list_objects(h, o, 64, &n));
	const struct hsm_object_info *a = find(o, n, "g-aes", "secret-key");
	CU_ASSERT_PTR_NOT_NULL(a);
	if (a == NULL)
		return;
	CU_ASSERT_STRING_EQUAL(a->key_type, "aes");
	CU_ASSERT_EQUAL(a->bits, 256);
	CU_ASSERT_EQUAL(a->sensitive, 1);
	CU_ASSERT_EQUAL(a->extractable, 0);
	const struct hsm_object_info *r = find(o, n, "g-rsa", "private-key");
	CU_ASSERT_PTR_NOT_NULL(r);
	if (r == NULL)
		return;
	CU_ASSERT_EQUAL(r->sensitive, 1);
	CU_ASSERT_EQUAL(r->extractable, 0);
	const struct hsm_object_info *rp = find(o, n, "g-rsa", "public-key");
	CU_ASSERT_PTR_NOT_NULL(rp);
	if (rp == NULL)
		return;
	CU_ASSERT_EQUAL(rp->bits, 3072);
	CU_ASSERT_STRING_EQUAL(rp->id_hex, r->id_hex); /* one CKA_ID for the pair */
	const struct hsm_object_info *e = find(o, n, "g-ec", "private-key");
	CU_ASSERT_PTR_NOT_NULL(e);
	if (e == NULL)
		return;
	CU_ASSERT_EQUAL(e->extractable, 1);
	CU_ASSERT_EQUAL(e->sensitive, 1);
	/* OpenSC sees the same objects with the same attributes */
	CU_ASSERT_EQUAL(p11("-O --type secrkey --label g-aes | grep -q 'Access:.*sensitive, always sensitive, never extractable'"), 0);
	CU_ASSERT_EQUAL(p11("-O --type privkey --label g-rsa | grep -q 'never extractable'"), 0);
	CU_ASSERT_EQUAL(p11("-O --type pubkey --label g-rsa | grep -q 'RSA 3072 bits'"), 0);
	CU_ASSERT_EQUAL(p11("-O --type pubkey --label g-ec | grep -q 'EC_PARAMS:  06082a8648ce3d030107'"), 0);
	EXPECT_OK(hsm_destroy(h, "g-ec"));
	EXPECT_ERR(hsm_destroy(h, "g-ec"), ERR_HSM_OBJECT_NOT_FOUND);
}

/* aes_cbc runs AES-256-CBC (zero IV, no padding) in OpenSSL. */
static void aes_cbc(bool enc, const uint8_t key[32], const uint8_t *in, uint8_t *out, int len)
{
	uint8_t iv[16] = {0};
	int n = 0, m = 0;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	CU_ASSERT_FATAL(c != NULL);
	CU_ASSERT(EVP_CipherInit_ex(c, EVP_aes_256_cbc(), NULL, key, iv, enc) == 1);
	EVP_CIPHER_CTX_set_padding(c, 0);
	CU_ASSERT(EVP_CipherUpdate(c, out, &n, in, len) == 1);
	CU_ASSERT(EVP_CipherFinal_ex(c, out + n, &m) == 1);
	CU_ASSERT_EQUAL(n + m, len);
	EVP_CIPHER_CTX_free(c);
}

static int read_file(const char *path, uint8_t *buf, size_t cap)
{
	FILE *fp = fopen(path, "rb");
	if (fp == NULL)
		return -1;
	size_t n = fread(buf, 1, cap, fp);
	fclose(fp);
	return (int)n;
}

static void test_import_by_unwrap(void)
{
	uint8_t key[32], wrapped[64], pt[64], ct[64], back[64];
	size_t wlen = 0;
	char args[512];
	EXPECT_OK(hsm_kek_install(h, "kek", kek, sizeof(kek), 0));
	EXPECT_ERR(hsm_kek_install(h, "kek", kek, sizeof(kek), 0), ERR_HSM_DUPLICATE);
	EXPECT_OK(drbg_generate(key, sizeof(key)));
	EXPECT_OK(keygen_aes_wrap(KEYGEN_WRAP_KWP, kek, sizeof(kek), key, sizeof(key), wrapped,
				  sizeof(wrapped), &wlen));
	EXPECT_OK(hsm_import_wrapped(h, "kek", wrapped, wlen, HSM_KEY_AES_256, "imported", 0));
	/* pkcs11-tool 0.23 picks the key for --encrypt/--decrypt by --id only
	 * (without one it takes the first secret key): look the ID up */
	static struct hsm_object_info o[64];
	size_t n = 0;
	const char *id = NULL;
	EXPECT_OK(hsm_list_objects(h, o, 64, &n));
	for (size_t i = 0; i < n && i < 64; i++)
		if (strcmp(o[i].label, "imported") == 0)
			id = o[i].id_hex;
	CU_ASSERT_PTR_NOT_NULL(id);
	if (id == NULL)
		return;
	/* HSM encrypts (pkcs11-tool), fount's copy decrypts (OpenSSL) */
	EXPECT_OK(drbg_generate(pt, sizeof(pt)));
	CU_ASSERT_EQUAL_FATAL(write_file(tfile("pt"), pt, sizeof(pt)), 0);
	snprintf(args, sizeof(args), "--encrypt --id %s -m AES-CBC --iv 00000000000000000000000000000000 --input-file %s --output-file %s",
		 id, tfile("pt"), tfile("ct"));
	CU_ASSERT_EQUAL_FATAL(p11(args), 0);
	CU_ASSERT_EQUAL_FATAL(read_file(tfile("ct"), ct, sizeof(ct)), 64);
	aes_cbc(false, key, ct, back, 64);
	CU_ASSERT_EQUAL(memcmp(back, pt, 64), 0);
	/* and the other way: OpenSSL encrypts, the HSM decrypts */
	aes_cbc(true, key, pt, ct, 64);
	CU_ASSERT_EQUAL_FATAL(write_file(tfile("ct2"), ct, 64), 0);
	snprintf(args, sizeof(args), "--decrypt --id %s -m AES-CBC --iv 00000000000000000000000000000000 --input-file %s --output-file %s",
		 id, tfile("ct2"), tfile("pt2"));
	CU_ASSERT_EQUAL_FATAL(p11(args), 0);
	CU_ASSERT_EQUAL(read_file(tfile("pt2"), back, sizeof(back)), 64);
	CU_ASSERT_EQUAL(memcmp(back, pt, 64), 0);
	CU_ASSERT_EQUAL(p11("-O --type secrkey --label imported | grep -q 'sensitive'"), 0);
	secure_zero(key, sizeof(key));
}

static void test_unwrap_failures(void)
{
	uint8_t other[32], key[16], wrapped[64];
	size_t wlen = 0;
	EXPECT_OK(drbg_generate(other, sizeof(other)));
	EXPECT_OK(drbg_generate(key, sizeof(key)));
	/* wrapped under a KEK the HSM does not hold */
	EXPECT_OK(keygen_aes_wrap(KEYGEN_WRAP_KWP, other, sizeof(other), key, sizeof(key), wrapped,
				  sizeof(wrapped), &wlen));
	EXPECT_ERR(hsm_import_wrapped(h, "kek", wrapped, wlen, HSM_KEY_AES_128, "bad", 0), ERR_HSM_UNWRAP);
	EXPECT_ERR(hsm_import_wrapped(h, "no-such-kek", wrapped, wlen, HSM_KEY_AES_128, "bad", 0),
		   ERR_HSM_OBJECT_NOT_FOUND);
	/* a right blob of the wrong size is not the key asked for */
	EXPECT_OK(keygen_aes_wrap(KEYGEN_WRAP_KWP, kek, sizeof(kek), key, sizeof(key), wrapped,
				  sizeof(wrapped), &wlen));
	EXPECT_ERR(hsm_import_wrapped(h, "kek", wrapped, 7, HSM_KEY_AES_128, "bad", 0), ERR_INVALID_ARG);
	EXPECT_ERR(hsm_import_wrapped(h, "kek", wrapped, wlen, HSM_KEY_RSA_3072, "bad", 0), ERR_UNSUPPORTED);
	/* nothing half-made is left */
	EXPECT_ERR(hsm_destroy(h, "bad"), ERR_HSM_OBJECT_NOT_FOUND);
}

static void test_export_wrapped(void)
{
	uint8_t wrapped[HSM_WRAPPED_MAX], key[64];
	size_t wlen = 0, klen = 0;
	EXPECT_OK(hsm_generate(h, HSM_KEY_AES_256, "exportable", HSM_KEY_EXTRACTABLE));
	EXPECT_OK(hsm_export_wrapped(h, "kek", "exportable", wrapped, sizeof(wrapped), &wlen));
	CU_ASSERT_EQUAL(wlen, 40);
	/* fount opens it with its copy of the KEK */
	EXPECT_OK(keygen_aes_unwrap(KEYGEN_WRAP_KWP, kek, sizeof(kek), wrapped, wlen, key,
				    sizeof(key), &klen));
	CU_ASSERT_EQUAL(klen, 32);
	EXPECT_ERR(hsm_export_wrapped(h, "kek", "g-aes", wrapped, sizeof(wrapped), &wlen),
		   ERR_HSM_KEY_POLICY);
	EXPECT_ERR(hsm_export_wrapped(h, "kek", "nothing", wrapped, sizeof(wrapped), &wlen),
		   ERR_HSM_OBJECT_NOT_FOUND);
	secure_zero(key, sizeof(key));
}

static void test_kek_wrap_unwrap(void)
{
	uint8_t key[48], wrapped[HSM_WRAPPED_MAX], back[64], other[32];
	size_t wlen = 0, blen = 0;
	EXPECT_OK(drbg_generate(key, sizeof(key)));
	EXPECT_OK(hsm_kek_wrap(h, "kek", key, sizeof(key), wrapped, sizeof(wrapped), &wlen));
	CU_ASSERT_EQUAL(wlen, 56);
	/* RFC 5649 in the HSM and in fount agree */
	EXPECT_OK(keygen_aes_unwrap(KEYGEN_WRAP_KWP, kek, sizeof(kek), wrapped, wlen, back,
				    sizeof(back), &blen));
	CU_ASSERT(blen == sizeof(key) && memcmp(back, key, blen) == 0);
	memset(back, 0, sizeof(back));
	EXPECT_OK(hsm_kek_unwrap(h, "kek", wrapped, wlen, back, sizeof(back), &blen));
	CU_ASSERT(blen == sizeof(key) && memcmp(back, key, blen) == 0);
	/* the wrong KEK: another HSM-resident AES key */
	EXPECT_OK(drbg_generate(other, sizeof(other)));
	EXPECT_OK(hsm_kek_install(h, "kek2", other, sizeof(other), 0));
	EXPECT_ERR(hsm_kek_unwrap(h, "kek2", wrapped, wlen, back, sizeof(back), &blen), ERR_HSM_UNWRAP);
	CU_ASSERT_EQUAL(blen, 0);
	wrapped[5] ^= 1;
	EXPECT_ERR(hsm_kek_unwrap(h, "kek", wrapped, wlen, back, sizeof(back), &blen), ERR_HSM_UNWRAP);
	EXPECT_ERR(hsm_kek_wrap(h, "missing", key, sizeof(key), wrapped, sizeof(wrapped), &wlen),
		   ERR_HSM_OBJECT_NOT_FOUND);
	secure_zero(key, sizeof(key));
	secure_zero(back, sizeof(back));
}

static void test_rng(void)
{
	uint8_t a[64], b[64];
	EXPECT_OK(hsm_random(h, a, sizeof(a)));
	EXPECT_OK(hsm_random(h, b, sizeof(b)));
	CU_ASSERT_NOT_EQUAL(memcmp(a, b, sizeof(a)), 0);
	EXPECT_ERR(hsm_random(h, a, HSM_RANDOM_MAX + 1), ERR_INVALID_ARG);
	/* SoftHSM 2.6.1 accepts seed material */
	EXPECT_OK(hsm_seed(h, a, sizeof(a)));
	EXPECT_OK(hsm_seed_from_drbg(h, 10000));
	EXPECT_ERR(hsm_seed(h, a, 0), ERR_INVALID_ARG);
}

static void test_rng_entropy_source(void)
{
	struct entropy_status st[ENTROPY_MAX_SOURCES];
	uint8_t adin[32];
	EXPECT_OK(hsm_register_rng(h));
	size_t n = entropy_status(st, ENTROPY_MAX_SOURCES);
	bool found = false;
	for (size_t i = 0; i < n && i < ENTROPY_MAX_SOURCES; i++) {
		if (strcmp(st[i].name, "hsm") == 0) {
			found = true;
			CU_ASSERT_FALSE(st[i].credited); /* never credited */
		}
	}
	CU_ASSERT(found);
	EXPECT_OK(entropy_get_additional(adin, sizeof(adin)));
	EXPECT_OK(entropy_raw("hsm", adin, sizeof(adin)));
}

struct thr {
	err_t r;
};

static void *worker(void *arg)
{
	struct thr *t = arg;
	uint8_t buf[256];
	for (int i = 0; i < 200 && t->r == ERR_OK; i++)
		t->r = hsm_random(h, buf, sizeof(buf));
	return NULL;
}

static void test_pool_concurrency(void)
{
	pthread_t th[6];
	struct thr t[6] = {{0}};
	for (int i = 0; i < 6; i++)
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, worker, &t[i]), 0);
	for (int i = 0; i < 6; i++) {
		pthread_join(th[i], NULL);
		EXPECT_OK(t[i].r);
	}
}

static void test_open_failures(void)
{
	struct config_hsm c = cfg.hsm[0];
	struct hsm *x = NULL;
	c.pool_size = 1;
	/* wrong PIN, on a token this process is not logged in to (the login
	 * state is per process, PKCS#11 v2.40 §5.6); from the environment,
	 * which overrides the file */
	snprintf(c.token, sizeof(c.token), "second");
	setenv("FOUNT_HSM_PIN", "wrong-pin", 1);
	EXPECT_ERR(hsm_open(&c, &x), ERR_HSM_PIN_INCORRECT);
	CU_ASSERT_PTR_NULL(x);
	setenv("FOUNT_HSM_PIN", "second-pin", 1);
	EXPECT_OK(hsm_open(&c, &x));
	hsm_close(x);
	x = NULL;
	unsetenv("FOUNT_HSM_PIN");
	/* no PIN at all */
	c.pin_file[0] = '\0';
	EXPECT_ERR(hsm_open(&c, &x), ERR_HSM_PIN_MISSING);
	snprintf(c.pin_file, sizeof(c.pin_file), "%s", tfile("no-such-pin"));
	EXPECT_ERR(hsm_open(&c, &x), ERR_HSM_PIN_MISSING);
	c = cfg.hsm[0];
	snprintf(c.module, sizeof(c.module), "/nonexistent/libpkcs11.so");
	EXPECT_ERR(hsm_open(&c, &x), ERR_HSM_MODULE);
	EXPECT_ERR(hsm_list_tokens(&c, NULL, 0, &(size_t){0}), ERR_HSM_MODULE);
	c = cfg.hsm[0];
	snprintf(c.token, sizeof(c.token), "no-such-token");
	EXPECT_ERR(hsm_open(&c, &x), ERR_HSM_TOKEN_ABSENT);
	snprintf(c.token, sizeof(c.token), "serial:0000000000000000");
	EXPECT_ERR(hsm_open(&c, &x), ERR_HSM_TOKEN_ABSENT);
	c = cfg.hsm[0];
	c.module[0] = '\0';
	EXPECT_ERR(hsm_open(&c, &x), ERR_CONFIG);
	CU_ASSERT_PTR_NULL(x);
	/* by serial */
	struct hsm_token_info t[8];
	size_t n = 0;
	EXPECT_OK(hsm_list_tokens(&cfg.hsm[0], t, 8, &n));
	for (size_t i = 0; i < n && i < 8; i++) {
		if (strcmp(t[i].label, LABEL) != 0)
			continue;
		c = cfg.hsm[0];
		snprintf(c.token, sizeof(c.token), "serial:%s", t[i].serial);
		EXPECT_OK(hsm_open(&c, &x));
		hsm_close(x);
		x = NULL;
	}
}

/* Last: pulls every token out. */
static void test_token_removed_and_back(void)
{
	uint8_t buf[32];
	struct hsm_object_info o[8];
	size_t n = 0;
	unsigned before = hsm_reconnects(h);
	EXPECT_OK(hsm_list_objects(h, o, 8, &n));
	CU_ASSERT_EQUAL_FATAL(testlib_softhsm_wipe(), 0);
	/* SoftHSM keeps serving reads from memory; the first write fails, fount
	 * reloads the module and finds no token */
	EXPECT_ERR(hsm_generate(h, HSM_KEY_AES_128, "while-gone", 0), ERR_HSM_TOKEN_ABSENT);
	/* the token comes back (same label, new serial, empty) */
	CU_ASSERT_EQUAL_FATAL(testlib_softhsm_token(LABEL, PIN), 0);
	EXPECT_OK(hsm_random(h, buf, sizeof(buf)));
	EXPECT_OK(hsm_generate(h, HSM_KEY_AES_128, "after-return", 0));
	EXPECT_OK(hsm_list_objects(h, o, 8, &n));
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT(hsm_reconnects(h) > before);
}

TEST_SUITE(hsm, suite_init, suite_clean,
	   TEST(test_tokens), TEST(test_generate_and_list), TEST(test_import_by_unwrap),
	   TEST(test_unwrap_failures), TEST(test_export_wrapped), TEST(test_kek_wrap_unwrap),
	   TEST(test_rng), TEST(test_rng_entropy_source), TEST(test_pool_concurrency),
	   TEST(test_open_failures), TEST(test_token_removed_and_back))
