/* tests/test_hsm.c — hsm/ against throw-away SoftHSMv2 tokens, cross-checked
 * with OpenSC's pkcs11-tool and OpenSSL. */
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "entropy/entropy.h"
#include "hsm/hsm.h"
#include "keygen/keygen.h"
#include "tests/helpers.h"

#define LABEL "fount-test"
#define PIN "user-pin-5678"

static struct config cfg;
static struct hsm *h;
static uint8_t kek[32]; /* fount's copy of the transport KEK "kek" */

static bool service_open = true; /* what the service gate answers */

static bool gate(void)
{
	return true;
}

static bool service_gate(void)
{
	return service_open;
}

static const char *tfile(const char *name)
{
	return testlib_file(testlib_softhsm_dir(), name);
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
	keygen_set_service_gate(service_gate);
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

/* ---- key pairs ------------------------------------------------------------ */

static EVP_PKEY *make_pair(const char *type)
{
	EVP_PKEY *k = NULL;
	EXPECT_OK(keygen_pkey_generate(keygen_type_find(type), &k));
	return k;
}

/* wrap_pkcs8 wraps |k|'s PKCS#8 DER under the 32-byte |kk| (KWP), as
 * `fount hsm import` does. */
static size_t wrap_pkcs8(EVP_PKEY *k, const uint8_t *kk, uint8_t *out, size_t cap)
{
	uint8_t *der = NULL;
	size_t der_len = 0, wlen = 0;
	EXPECT_OK(keygen_pkey_encode(k, KEYGEN_PART_PRIVATE, KEYGEN_FMT_DER, &der, &der_len));
	EXPECT_OK(keygen_aes_wrap(KEYGEN_WRAP_KWP, kk, 32, der, der_len, out, cap, &wlen));
	secmem_free(der, der_len);
	return wlen;
}

/* check_pair checks both halves of |label| in hsm_list_objects and with
 * pkcs11-tool, and copies their (common) CKA_ID in hex to |id|. */
static void check_pair(const char *label, const char *type, unsigned long bits, int extractable,
		       char id[65])
{
	static struct hsm_object_info o[64];
	size_t n = 0;
	char cmd[512];
	id[0] = '\0';
	EXPECT_OK(hsm_list_objects(h, o, 64, &n));
	const struct hsm_object_info *pv = find(o, n, label, "private-key");
	const struct hsm_object_info *pb = find(o, n, label, "public-key");
	CU_ASSERT_PTR_NOT_NULL(pv);
	CU_ASSERT_PTR_NOT_NULL(pb);
	if (pv == NULL || pb == NULL)
		return;
	CU_ASSERT_STRING_EQUAL(pv->key_type, type);
	CU_ASSERT_STRING_EQUAL(pb->key_type, type);
	CU_ASSERT_EQUAL(pv->bits, bits);
	CU_ASSERT_EQUAL(pb->bits, bits);
	CU_ASSERT_EQUAL(pv->sensitive, 1);
	CU_ASSERT_EQUAL(pv->extractable, extractable);
	CU_ASSERT_EQUAL(strlen(pv->id_hex), 40); /* SHA-1 */
	CU_ASSERT_STRING_EQUAL(pv->id_hex, pb->id_hex);
	snprintf(id, 65, "%s", pv->id_hex);
	/* OpenSC agrees: the label's private key block has the same ID and is
	 * sensitive and (unless asked) not extractable. An unwrapped key is
	 * neither "always sensitive" nor "never extractable" (PKCS#11 v2.40
	 * §4.10: CKA_ALWAYS_SENSITIVE / CKA_NEVER_EXTRACTABLE are false for a
	 * key that existed outside the token) */
	snprintf(cmd, sizeof(cmd), "-O --type privkey | grep -A3 'label: *%s$' > %s", label,
		 tfile("p11-priv"));
	CU_ASSERT_EQUAL(p11(cmd), 0);
	snprintf(cmd, sizeof(cmd), "grep -q 'ID: *%s$' %s && grep -Eq 'Usage: +%s$' %s && "
		 "grep -Eq 'Access: +sensitive%s$' %s", id, tfile("p11-priv"),
		 strcmp(type, "rsa") == 0 ? "decrypt, sign" : "sign", tfile("p11-priv"),
		 extractable ? ", extractable" : "", tfile("p11-priv"));
	CU_ASSERT_EQUAL(testlib_sh(cmd), 0);
	snprintf(cmd, sizeof(cmd), "-O --type pubkey | grep -B4 -A3 'label: *%s$' | grep -q 'ID: *%s$'",
		 label, id);
	CU_ASSERT_EQUAL(p11(cmd), 0);
}

static void test_import_keypair_rsa(void)
{
	static uint8_t w[HSM_WRAPPED_MAX];
	uint8_t data[100], sig[512], ct[512], back[512];
	char id[65], args[512];
	EVP_PKEY *k = make_pair("rsa-3072");
	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	size_t wlen = wrap_pkcs8(k, kek, w, sizeof(w));
	EXPECT_OK(hsm_import_keypair(h, "kek", w, wlen, k, "kp-rsa", 0));
	check_pair("kp-rsa", "rsa", 3072, 0, id);
	CU_ASSERT_EQUAL(p11("-O --type pubkey | grep -q 'RSA 3072 bits'"), 0);

	/* the HSM signs with the imported key; fount's copy verifies */
	EXPECT_OK(drbg_generate(data, sizeof(data)));
	CU_ASSERT_EQUAL_FATAL(write_file(tfile("data"), data, sizeof(data)), 0);
	snprintf(args, sizeof(args), "--sign --id %s -m SHA256-RSA-PKCS --input-file %s --output-file %s",
		 id, tfile("data"), tfile("sig"));
	CU_ASSERT_EQUAL_FATAL(p11(args), 0);
	int sig_len = read_file(tfile("sig"), sig, sizeof(sig));
	CU_ASSERT_EQUAL_FATAL(sig_len, 384);
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	CU_ASSERT(EVP_DigestVerifyInit_ex(m, NULL, "SHA2-256", keygen_libctx(), NULL, k, NULL) == 1);
	CU_ASSERT(EVP_DigestVerify(m, sig, (size_t)sig_len, data, sizeof(data)) == 1);
	EVP_MD_CTX_free(m);

	/* OpenSSL encrypts to the public key; the HSM decrypts. SoftHSM 2.6.1
	 * does OAEP with SHA-1 only (CKR_ARGUMENTS_BAD for SHA-256) */
	size_t ct_len = sizeof(ct);
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(keygen_libctx(), k, NULL);
	CU_ASSERT_FATAL(c != NULL);
	CU_ASSERT(EVP_PKEY_encrypt_init(c) == 1);
	CU_ASSERT(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) == 1);
	CU_ASSERT(EVP_PKEY_CTX_set_rsa_oaep_md_name(c, "SHA1", NULL) == 1);
	CU_ASSERT(EVP_PKEY_encrypt(c, ct, &ct_len, data, 32) == 1);
	EVP_PKEY_CTX_free(c);
	CU_ASSERT_EQUAL_FATAL(write_file(tfile("ct"), ct, ct_len), 0);
	snprintf(args, sizeof(args), "--decrypt --id %s -m RSA-PKCS-OAEP --hash-algorithm SHA-1 "
		 "--mgf MGF1-SHA1 --input-file %s --output-file %s", id, tfile("ct"), tfile("pt"));
	CU_ASSERT_EQUAL_FATAL(p11(args), 0);
	CU_ASSERT_EQUAL(read_file(tfile("pt"), back, sizeof(back)), 32);
	CU_ASSERT_EQUAL(memcmp(back, data, 32), 0);
	EVP_PKEY_free(k);
}

static void test_import_keypair_ec(void)
{
	static uint8_t w[HSM_WRAPPED_MAX];
	uint8_t data[100], dgst[32], sig[160];
	unsigned dlen = 0;
	char id[65], args[512];
	EVP_PKEY *k = make_pair("ec-p256");
	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	size_t wlen = wrap_pkcs8(k, kek, w, sizeof(w));
	EXPECT_OK(hsm_import_keypair(h, "kek", w, wlen, k, "kp-ec", 0));
	check_pair("kp-ec", "ec", 256, 0, id);
	/* CKA_EC_PARAMS is the P-256 OID; CKA_EC_POINT the DER OCTET STRING
	 * (04 41) around the uncompressed point (04 X Y) */
	snprintf(args, sizeof(args), "-O --type pubkey | grep -A2 'EC_POINT 256 bits' | "
		 "grep -A1 'EC_POINT: *044104' | grep -q 'EC_PARAMS: *06082a8648ce3d030107'");
	CU_ASSERT_EQUAL(p11(args), 0);

	/* SoftHSM 2.6.1 has CKM_ECDSA but no CKM_ECDSA_SHA256: the HSM signs
	 * a SHA-256 digest made here; OpenSSL verifies the DER signature */
	EXPECT_OK(drbg_generate(data, sizeof(data)));
	CU_ASSERT(EVP_Digest(data, sizeof(data), dgst, &dlen, EVP_sha256(), NULL) == 1);
	CU_ASSERT_EQUAL_FATAL(write_file(tfile("dgst"), dgst, sizeof(dgst)), 0);
	snprintf(args, sizeof(args), "--sign --id %s -m ECDSA --signature-format openssl "
		 "--input-file %s --output-file %s", id, tfile("dgst"), tfile("esig"));
	CU_ASSERT_EQUAL_FATAL(p11(args), 0);
	int sig_len = read_file(tfile("esig"), sig, sizeof(sig));
	CU_ASSERT_FATAL(sig_len > 0);
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(keygen_libctx(), k, NULL);
	CU_ASSERT_FATAL(c != NULL);
	CU_ASSERT(EVP_PKEY_verify_init(c) == 1);
	CU_ASSERT(EVP_PKEY_verify(c, sig, (size_t)sig_len, dgst, sizeof(dgst)) == 1);
	dgst[0] ^= 1;
	CU_ASSERT(EVP_PKEY_verify(c, sig, (size_t)sig_len, dgst, sizeof(dgst)) != 1);
	EVP_PKEY_CTX_free(c);
	EVP_PKEY_free(k);
}

/* P-384 and P-521 too; extractable on request, and then C_WrapKey gives
 * back the very PKCS#8 fount put in. */
static void test_import_keypair_other_curves_and_export(void)
{
	static uint8_t w[HSM_WRAPPED_MAX], der[HSM_WRAPPED_MAX];
	char id[65];
	size_t der_len = 0;
	EVP_PKEY *k384 = make_pair("ec-p384"), *k521 = make_pair("ec-p521"), *back = NULL;
	CU_ASSERT_FATAL(k384 != NULL && k521 != NULL);
	size_t wlen = wrap_pkcs8(k384, kek, w, sizeof(w));
	EXPECT_OK(hsm_import_keypair(h, "kek", w, wlen, k384, "kp-p384", 0));
	check_pair("kp-p384", "ec", 384, 0, id);
	wlen = wrap_pkcs8(k521, kek, w, sizeof(w));
	EXPECT_OK(hsm_import_keypair(h, "kek", w, wlen, k521, "kp-p521", HSM_KEY_EXTRACTABLE));
	check_pair("kp-p521", "ec", 521, 1, id);
	EXPECT_ERR(hsm_export_wrapped(h, "kek", "kp-p384", w, sizeof(w), &wlen), ERR_HSM_KEY_POLICY);
	EXPECT_OK(hsm_export_wrapped(h, "kek", "kp-p521", w, sizeof(w), &wlen));
	EXPECT_OK(keygen_aes_unwrap(KEYGEN_WRAP_KWP, kek, sizeof(kek), w, wlen, der, sizeof(der),
				    &der_len));
	/* SoftHSM 2.6.1 quirk: the PKCS#8 it wraps may carry trailing zero
	 * bytes after the DER (seen: 98 bytes of P-521 PKCS#8 + 00 00), so
	 * take the outer SEQUENCE only (X.690 §8.1.3 length) */
	CU_ASSERT_FATAL(der_len > 4 && der[0] == 0x30);
	size_t seq_len = der[1] < 0x80 ? 2u + der[1]
			 : der[1] == 0x81 ? 3u + der[2] : 4u + ((size_t)der[2] << 8 | der[3]);
	CU_ASSERT_FATAL(seq_len <= der_len);
	for (size_t i = seq_len; i < der_len; i++)
		CU_ASSERT_EQUAL(der[i], 0);
	EXPECT_OK(keygen_pkey_decode(der, seq_len, KEYGEN_PART_PRIVATE, &back));
	CU_ASSERT(back != NULL && EVP_PKEY_eq(back, k521) == 1);
	secure_zero(der, sizeof(der));
	EVP_PKEY_free(back);
	EVP_PKEY_free(k384);
	EVP_PKEY_free(k521);
}

static void test_import_keypair_failures(void)
{
	static uint8_t w[HSM_WRAPPED_MAX];
	uint8_t other[32], junk[64];
	size_t wlen = 0;
	EVP_PKEY *a = make_pair("ec-p256"), *b = make_pair("ec-p256"), *r = make_pair("rsa-2048");
	EVP_PKEY *ed = make_pair("ed25519");
	CU_ASSERT_FATAL(a != NULL && b != NULL && r != NULL && ed != NULL);
	EXPECT_OK(drbg_generate(other, sizeof(other)));
	/* wrapped under a KEK the HSM does not hold */
	wlen = wrap_pkcs8(a, other, w, sizeof(w));
	EXPECT_ERR(hsm_import_keypair(h, "kek", w, wlen, a, "bad", 0), ERR_HSM_UNWRAP);
	/* corrupted in transit: RFC 5649's integrity check fails in the HSM */
	wlen = wrap_pkcs8(a, kek, w, sizeof(w));
	w[wlen / 2] ^= 0x01;
	EXPECT_ERR(hsm_import_keypair(h, "kek", w, wlen, a, "bad", 0), ERR_HSM_UNWRAP);
	/* well wrapped, but not PKCS#8 */
	EXPECT_OK(drbg_generate(junk, sizeof(junk)));
	EXPECT_OK(keygen_aes_wrap(KEYGEN_WRAP_KWP, kek, sizeof(kek), junk, sizeof(junk), w,
				  sizeof(w), &wlen));
	EXPECT_ERR(hsm_import_keypair(h, "kek", w, wlen, a, "bad", 0), ERR_HSM_UNWRAP);
	/* the private key of one pair with the public key of another: the
	 * in-HSM pairwise test catches it */
	wlen = wrap_pkcs8(a, kek, w, sizeof(w));
	EXPECT_ERR(hsm_import_keypair(h, "kek", w, wlen, b, "bad", 0), ERR_KEY_FORMAT);
	/* an EC private key said to be RSA: SoftHSM cannot decode it as RSA */
	EXPECT_ERR(hsm_import_keypair(h, "kek", w, wlen, r, "bad", 0), ERR_HSM_UNWRAP);
	/* no KEK, a label already taken, a KEK flag, Ed25519 */
	EXPECT_ERR(hsm_import_keypair(h, "no-such-kek", w, wlen, a, "bad", 0), ERR_HSM_OBJECT_NOT_FOUND);
	EXPECT_ERR(hsm_import_keypair(h, "kek", w, wlen, a, "kp-ec", 0), ERR_HSM_DUPLICATE);
	EXPECT_ERR(hsm_import_keypair(h, "kek", w, wlen, a, "kek", 0), ERR_HSM_DUPLICATE);
	EXPECT_ERR(hsm_import_keypair(h, "kek", w, wlen, a, "bad", HSM_KEY_KEK), ERR_INVALID_ARG);
	EXPECT_ERR(hsm_import_keypair(h, "kek", w, 7, a, "bad", 0), ERR_INVALID_ARG);
	EXPECT_ERR(hsm_import_keypair(h, "kek", w, wlen, ed, "bad", 0), ERR_UNSUPPORTED);
	/* nothing half-made is left, and the good pair is still whole */
	EXPECT_ERR(hsm_destroy(h, "bad"), ERR_HSM_OBJECT_NOT_FOUND);
	char id[65];
	check_pair("kp-ec", "ec", 256, 0, id);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	EVP_PKEY_free(r);
	EVP_PKEY_free(ed);
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

/* hsm_aes_key_parse and hsm_import_key_parse: what a key file may hold. */
static void test_import_key_parse(void)
{
	uint8_t out[HSM_AES_KEY_MAX], raw[33];
	size_t n = 0;
	struct hsm_import_key *k = NULL;
	static const char hex128[] = "00112233445566778899aabbccddeeff";
	static const char hex256[] = "00112233445566778899AABBCCDDEEFF"
				     "00112233445566778899aabbccddeeff\n";
	/* hex first: 32 digits are an AES-128 key, not 32 ASCII bytes */
	EXPECT_OK(hsm_aes_key_parse((const uint8_t *)hex128, 32, out, sizeof(out), &n));
	CU_ASSERT(n == 16 && out[0] == 0x00 && out[15] == 0xff);
	EXPECT_OK(hsm_aes_key_parse((const uint8_t *)hex256, sizeof(hex256) - 1, out, sizeof(out), &n));
	CU_ASSERT(n == 32 && out[10] == 0xaa && out[26] == 0xaa);
	/* raw bytes, 16 or 32 */
	EXPECT_OK(drbg_generate(raw, sizeof(raw)));
	raw[0] = 0xff; /* not a hex digit */
	EXPECT_OK(hsm_aes_key_parse(raw, 32, out, sizeof(out), &n));
	CU_ASSERT(n == 32 && memcmp(out, raw, 32) == 0);
	EXPECT_OK(hsm_aes_key_parse(raw, 16, out, sizeof(out), &n));
	CU_ASSERT_EQUAL(n, 16);
	EXPECT_ERR(hsm_aes_key_parse(raw, 24, out, sizeof(out), &n), ERR_KEY_FORMAT);
	EXPECT_ERR(hsm_aes_key_parse(raw, 33, out, sizeof(out), &n), ERR_KEY_FORMAT);
	CU_ASSERT_EQUAL(n, 0);
	EXPECT_ERR(hsm_aes_key_parse(raw, 16, out, 16, &n), ERR_INVALID_ARG);
	/* raw keys with a NUL byte are raw, not a short hex string: a key
	 * that begins with 0x00 (1 in 256 random keys) or with two hex
	 * digits and 0x00 keeps all its bytes */
	raw[0] = 0x00;
	EXPECT_OK(hsm_aes_key_parse(raw, 32, out, sizeof(out), &n));
	CU_ASSERT(n == 32 && memcmp(out, raw, 32) == 0);
	EXPECT_OK(hsm_aes_key_parse(raw, 16, out, sizeof(out), &n));
	CU_ASSERT(n == 16 && memcmp(out, raw, 16) == 0);
	memcpy(raw, "ab", 3);
	EXPECT_OK(hsm_aes_key_parse(raw, 32, out, sizeof(out), &n));
	CU_ASSERT(n == 32 && memcmp(out, raw, 32) == 0);
	memcpy(raw, hex128, 32);
	raw[31] = 0x00; /* 31 hex digits and a NUL: raw AES-256 */
	EXPECT_OK(hsm_aes_key_parse(raw, 32, out, sizeof(out), &n));
	CU_ASSERT(n == 32 && memcmp(out, raw, 32) == 0);
	raw[0] = 0xff;
	/* the import parser: AES keys and PKCS#8 private keys, nothing else */
	EXPECT_OK(hsm_import_key_parse((const uint8_t *)hex128, 32, &k));
	CU_ASSERT_STRING_EQUAL(hsm_import_key_type(k)->name, "aes-128");
	hsm_import_key_free(k);
	EVP_PKEY *pk = make_pair("ec-p384");
	CU_ASSERT_PTR_NOT_NULL_FATAL(pk);
	uint8_t *pem = NULL, *spki = NULL;
	size_t pem_len = 0, spki_len = 0;
	EXPECT_OK(keygen_pkey_encode(pk, KEYGEN_PART_PRIVATE, KEYGEN_FMT_PEM, &pem, &pem_len));
	EXPECT_OK(keygen_pkey_encode(pk, KEYGEN_PART_PUBLIC, KEYGEN_FMT_PEM, &spki, &spki_len));
	EXPECT_OK(hsm_import_key_parse(pem, pem_len, &k));
	CU_ASSERT_STRING_EQUAL(hsm_import_key_type(k)->name, "ec-p384");
	hsm_import_key_free(k);
	k = NULL;
	EXPECT_ERR(hsm_import_key_parse(spki, spki_len, &k), ERR_KEY_FORMAT);
	EXPECT_ERR(hsm_import_key_parse(raw, 20, &k), ERR_KEY_FORMAT);
	CU_ASSERT_PTR_NULL(k);
	hsm_import_key_free(NULL);
	secmem_free(pem, pem_len);
	secmem_free(spki, spki_len);
	EVP_PKEY_free(pk);
}

/* hsm_import: an AES key and a key pair, wrapped in fount and unwrapped in
 * the HSM under "kek"; the wrong KEK copy, a type HSMs do not take. */
static void test_import(void)
{
	uint8_t aes[32], other[32];
	struct hsm_import_key *k = NULL;
	char id[65];
	EXPECT_OK(drbg_generate(aes, sizeof(aes)));
	EXPECT_OK(drbg_generate(other, sizeof(other)));
	EXPECT_OK(hsm_import_key_parse(aes, sizeof(aes), &k));
	EXPECT_OK(hsm_import(h, "kek", kek, sizeof(kek), k, "imp-aes", 0));
	EXPECT_ERR(hsm_import(h, "kek", other, sizeof(other), k, "imp-aes2", 0), ERR_HSM_UNWRAP);
	EXPECT_ERR(hsm_import(h, "kek", kek, sizeof(kek), k, "imp-aes", 0), ERR_HSM_DUPLICATE);
	EXPECT_ERR(hsm_import(h, "kek", kek, 24, k, "imp-aes3", 0), ERR_INVALID_ARG);
	EXPECT_ERR(hsm_import(h, "kek", kek, sizeof(kek), k, "", 0), ERR_INVALID_ARG);
	hsm_import_key_free(k);
	/* a raw key that begins with 0x00 imports as the 32 bytes it is */
	aes[0] = 0x00;
	EXPECT_OK(hsm_import_key_parse(aes, sizeof(aes), &k));
	EXPECT_OK(hsm_import(h, "kek", kek, sizeof(kek), k, "imp-aes0", 0));
	hsm_import_key_free(k);
	EXPECT_OK(hsm_destroy(h, "imp-aes0"));
	static const char *const types[] = {"ec-p256", "ed25519"};
	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		EVP_PKEY *pk = make_pair(types[i]);
		uint8_t *der = NULL;
		size_t der_len = 0;
		CU_ASSERT_PTR_NOT_NULL_FATAL(pk);
		EXPECT_OK(keygen_pkey_encode(pk, KEYGEN_PART_PRIVATE, KEYGEN_FMT_DER, &der, &der_len));
		EXPECT_OK(hsm_import_key_parse(der, der_len, &k));
		if (i == 0) {
			EXPECT_OK(hsm_import(h, "kek", kek, sizeof(kek), k, "imp-ec", 0));
			check_pair("imp-ec", "ec", 256, 0, id);
		} else {
			EXPECT_ERR(hsm_import(h, "kek", kek, sizeof(kek), k, "imp-ed", 0), ERR_UNSUPPORTED);
			EXPECT_ERR(hsm_destroy(h, "imp-ed"), ERR_HSM_OBJECT_NOT_FOUND);
		}
		hsm_import_key_free(k);
		secmem_free(der, der_len);
		EVP_PKEY_free(pk);
	}
	EXPECT_ERR(hsm_destroy(h, "imp-aes2"), ERR_HSM_OBJECT_NOT_FOUND);
	secure_zero(aes, sizeof(aes));
}

/* A copy store for hsm_kek_create that records what happened. */
struct copy_log {
	uint8_t kek[32];
	size_t len;
	int kept, discarded;
	err_t fail_with; /* keep's answer */
};

static err_t copy_keep(void *ctx, const uint8_t *k, size_t len)
{
	struct copy_log *c = ctx;
	if (c->fail_with != ERR_OK)
		return c->fail_with;
	CU_ASSERT_FATAL(len <= sizeof(c->kek));
	memcpy(c->kek, k, len);
	c->len = len;
	c->kept++;
	return ERR_OK;
}

static void copy_discard(void *ctx)
{
	struct copy_log *c = ctx;
	c->discarded++;
}

/* The KEK ceremony: fount's copy first, then the HSM; the copy is the
 * HSM's KEK; a failed install discards the copy; a failed copy installs
 * nothing. */
static void test_kek_create(void)
{
	struct copy_log log = {0};
	const struct hsm_kek_copy copy = {copy_keep, copy_discard, &log};
	uint8_t key[32], w[40];
	size_t wlen = 0;
	EXPECT_OK(hsm_kek_create(h, "ceremony", &copy));
	CU_ASSERT(log.kept == 1 && log.discarded == 0 && log.len == 32);
	/* a key wrapped under fount's copy unwraps inside the HSM */
	EXPECT_OK(drbg_generate(key, sizeof(key)));
	EXPECT_OK(keygen_aes_wrap(KEYGEN_WRAP_KWP, log.kek, log.len, key, sizeof(key), w, sizeof(w),
				  &wlen));
	EXPECT_OK(hsm_import_wrapped(h, "ceremony", w, wlen, HSM_KEY_AES_256, "ceremony-key", 0));
	/* the label is taken: the HSM refuses, and the copy goes */
	EXPECT_ERR(hsm_kek_create(h, "ceremony", &copy), ERR_HSM_DUPLICATE);
	CU_ASSERT(log.kept == 2 && log.discarded == 1);
	/* the copy cannot be kept: nothing reaches the HSM */
	log.fail_with = ERR_IO;
	EXPECT_ERR(hsm_kek_create(h, "ceremony-2", &copy), ERR_IO);
	EXPECT_ERR(hsm_destroy(h, "ceremony-2"), ERR_HSM_OBJECT_NOT_FOUND);
	CU_ASSERT(log.kept == 2 && log.discarded == 1);
	/* a bad label is refused before anything is drawn or kept */
	log.fail_with = ERR_OK;
	EXPECT_ERR(hsm_kek_create(h, "", &copy), ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(log.kept, 2);
	secure_zero(&log, sizeof(log));
	secure_zero(key, sizeof(key));
}

/* Outside SELF_TEST and OPERATIONAL (the service gate shut) every key
 * service and every use of the token's RNG is refused, and nothing reaches
 * the token; listing and destroying objects still work. */
static void test_gate_refuses_key_services(void)
{
	static uint8_t w[HSM_WRAPPED_MAX];
	static struct hsm_object_info o[128];
	uint8_t key[32], wk[40], buf[64], out[64];
	size_t wlen = 0, wklen = 0, n = 0, before = 0, got = 0;
	struct hsm_import_key *ik = NULL;
	struct copy_log log = {0};
	const struct hsm_kek_copy copy = {copy_keep, copy_discard, &log};
	/* everything prepared while the gate is open */
	EVP_PKEY *pk = make_pair("ec-p256");
	CU_ASSERT_PTR_NOT_NULL_FATAL(pk);
	wlen = wrap_pkcs8(pk, kek, w, sizeof(w));
	EXPECT_OK(drbg_generate(key, sizeof(key)));
	EXPECT_OK(keygen_aes_wrap(KEYGEN_WRAP_KWP, kek, sizeof(kek), key, sizeof(key), wk,
				  sizeof(wk), &wklen));
	EXPECT_OK(hsm_import_key_parse(key, sizeof(key), &ik));
	EXPECT_OK(hsm_list_objects(h, o, ARRAY_SIZE(o), &before));

	service_open = false;
	EXPECT_ERR(hsm_generate(h, HSM_KEY_AES_256, "gate-gen", 0), ERR_NOT_OPERATIONAL);
	EXPECT_ERR(hsm_kek_install(h, "gate-kek", kek, sizeof(kek), 0), ERR_NOT_OPERATIONAL);
	EXPECT_ERR(hsm_import_wrapped(h, "kek", wk, wklen, HSM_KEY_AES_256, "gate-imp", 0),
		   ERR_NOT_OPERATIONAL);
	EXPECT_ERR(hsm_import_keypair(h, "kek", w, wlen, pk, "gate-pair", 0), ERR_NOT_OPERATIONAL);
	EXPECT_ERR(hsm_import(h, "kek", kek, sizeof(kek), ik, "gate-imp2", 0), ERR_NOT_OPERATIONAL);
	EXPECT_ERR(hsm_export_wrapped(h, "kek", "exportable", buf, sizeof(buf), &got),
		   ERR_NOT_OPERATIONAL);
	EXPECT_ERR(hsm_kek_wrap(h, "kek", key, sizeof(key), buf, sizeof(buf), &got),
		   ERR_NOT_OPERATIONAL);
	CU_ASSERT_EQUAL(got, 0);
	EXPECT_ERR(hsm_kek_unwrap(h, "kek", wk, wklen, out, sizeof(out), &got), ERR_NOT_OPERATIONAL);
	CU_ASSERT_EQUAL(got, 0);
	EXPECT_ERR(hsm_seed(h, key, sizeof(key)), ERR_NOT_OPERATIONAL);
	EXPECT_ERR(hsm_seed_from_drbg(h, 48), ERR_NOT_OPERATIONAL);
	EXPECT_ERR(hsm_random(h, buf, sizeof(buf)), ERR_NOT_OPERATIONAL);
	/* the ceremony: the HSM refuses the KEK, so fount's copy is discarded */
	EXPECT_ERR(hsm_kek_create(h, "gate-ceremony", &copy), ERR_NOT_OPERATIONAL);
	CU_ASSERT_EQUAL(log.kept, log.discarded);
	/* inventory works, and shows that nothing was added */
	EXPECT_OK(hsm_list_objects(h, o, ARRAY_SIZE(o), &n));
	CU_ASSERT_EQUAL(n, before);
	EXPECT_ERR(hsm_destroy(h, "gate-gen"), ERR_HSM_OBJECT_NOT_FOUND);
	service_open = true;

	EXPECT_OK(hsm_random(h, buf, sizeof(buf)));
	hsm_import_key_free(ik);
	EVP_PKEY_free(pk);
	secure_zero(key, sizeof(key));
	secure_zero(&log, sizeof(log));
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
	   TEST(test_unwrap_failures), TEST(test_import_keypair_rsa), TEST(test_import_keypair_ec),
	   TEST(test_import_keypair_other_curves_and_export), TEST(test_import_keypair_failures),
	   TEST(test_export_wrapped), TEST(test_kek_wrap_unwrap), TEST(test_import_key_parse),
	   TEST(test_import), TEST(test_kek_create), TEST(test_gate_refuses_key_services),
	   TEST(test_rng), TEST(test_rng_entropy_source), TEST(test_pool_concurrency),
	   TEST(test_open_failures), TEST(test_token_removed_and_back))
