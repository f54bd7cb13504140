/* keygen/keygen_asym.c — key pairs: RSA, EC, Ed25519, X25519, each made in
 * fount's library context and checked by a pairwise-consistency test (the
 * FIPS module's or fount's) before anyone sees it; PKCS#8 /
 * SubjectPublicKeyInfo in PEM or DER. */
#include <openssl/buffer.h>
#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/proverr.h>
#include <openssl/self_test.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "keygen/internal.h"

typedef bool (*pct_break_fn)(const char *name);

static _Atomic pct_break_fn pct_break_hook;

void keygen_set_pct_break_hook(bool (*fn)(const char *name))
{
	atomic_store(&pct_break_hook, fn);
}

/* pct_broken asks selftest/ (through the registered hook) whether the PCT
 * |name| is the one FOUNT_SELFTEST_BREAK names. */
static bool pct_broken(const char *name)
{
	pct_break_fn fn = atomic_load(&pct_break_hook);
	return fn != NULL && name != NULL && fn(name);
}

/* The PCT message: any fixed message will do (FIPS 140-3 IG 10.3.A). */
static const uint8_t kPctMsg[] = "fount pairwise-consistency test";

/* pct_sign_verify signs kPctMsg with |pkey| and verifies the signature with
 * the same key: RSA PKCS#1 v1.5 and ECDSA over SHA-256, pure Ed25519
 * (RFC 8032 §5.1, no pre-hash). A break request flips a bit of the
 * signature between the two, so verify must fail. */
static err_t pct_sign_verify(const struct keygen_type *t, EVP_PKEY *pkey)
{
	err_t r = ERR_PCT;
	OSSL_LIB_CTX *libctx = keygen_libctx();
	const char *md = t->kind == KEYGEN_KIND_ED25519 ? NULL : "SHA2-256";
	EVP_MD_CTX *mctx = EVP_MD_CTX_new();
	uint8_t *sig = NULL;
	size_t sig_cap = 0, sig_len = 0;

	ENSURE_GOTO(mctx != NULL, ERR_NOMEM);
	if (EVP_DigestSignInit_ex(mctx, NULL, md, libctx, NULL, pkey, NULL) != 1 ||
	    EVP_DigestSign(mctx, NULL, &sig_cap, kPctMsg, sizeof(kPctMsg)) != 1 ||
	    sig_cap == 0)
		goto out;
	sig = OPENSSL_malloc(sig_cap);
	ENSURE_GOTO(sig != NULL, ERR_NOMEM);
	sig_len = sig_cap;
	if (EVP_DigestSign(mctx, sig, &sig_len, kPctMsg, sizeof(kPctMsg)) != 1 || sig_len == 0)
		goto out;
	if (pct_broken(t->pct_name))
		sig[sig_len / 2] ^= 0x01; /* FOUNT_SELFTEST_BREAK */
	EVP_MD_CTX_free(mctx);
	mctx = EVP_MD_CTX_new();
	ENSURE_GOTO(mctx != NULL, ERR_NOMEM);
	/* EVP_DigestVerify: 1 valid, 0 invalid, < 0 error; only 1 passes */
	if (EVP_DigestVerifyInit_ex(mctx, NULL, md, libctx, NULL, pkey, NULL) != 1 ||
	    EVP_DigestVerify(mctx, sig, sig_len, kPctMsg, sizeof(kPctMsg)) != 1)
		goto out;
	r = ERR_OK;
out:
	OPENSSL_free(sig);
	EVP_MD_CTX_free(mctx);
	return r;
}

/* pct_x25519: a key-agreement key cannot sign. SP 800-56A r3 §5.6.2.1.4
 * lets the owner recompute the public key from the private key and compare
 * it with the one it holds; that is one scalar multiplication, where an
 * agreement with a fresh peer both ways would be three (and the peer's
 * randomness adds nothing to the check). The private scalar goes through
 * a fresh key object, so the recomputation is independent of the cached
 * public value. Public values: compared with ct_memeq all the same. */
static err_t pct_x25519(const struct keygen_type *t, EVP_PKEY *pkey)
{
	err_t r = ERR_PCT;
	EVP_PKEY *again = NULL;
	uint8_t priv[32], pub[32], pub2[32];
	size_t priv_len = sizeof(priv), pub_len = sizeof(pub), pub2_len = sizeof(pub2);

	if (EVP_PKEY_get_raw_private_key(pkey, priv, &priv_len) != 1 || priv_len != 32 ||
	    EVP_PKEY_get_raw_public_key(pkey, pub, &pub_len) != 1 || pub_len != 32)
		goto out;
	again = EVP_PKEY_new_raw_private_key_ex(keygen_libctx(), t->ossl_name, NULL, priv, priv_len);
	if (again == NULL || EVP_PKEY_get_raw_public_key(again, pub2, &pub2_len) != 1 ||
	    pub2_len != 32)
		goto out;
	if (pct_broken(t->pct_name))
		pub2[0] ^= 0x01; /* FOUNT_SELFTEST_BREAK */
	ENSURE_GOTO(ct_memeq(pub, pub2, sizeof(pub)), ERR_PCT);
	r = ERR_OK;
out:
	secure_zero(priv, sizeof(priv));
	EVP_PKEY_free(again);
	return r;
}

/* pct_failed logs a failed PCT and reports it: a PCT failure is a
 * self-test failure, selftest/ latches ERROR. */
static err_t pct_failed(const struct keygen_type *t, const char *by)
{
	log_error("pairwise-consistency test %s failed for a new %s key (%s)", t->pct_name, t->name, by);
	keygen_report_failure(ERR_PCT, t->pct_name);
	return ERR_PCT;
}

err_t keygen_pkey_pct(const struct keygen_type *t, EVP_PKEY *pkey)
{
	err_t r;
	ENSURE(t != NULL && pkey != NULL, ERR_INVALID_ARG);
	switch (t->kind) {
	case KEYGEN_KIND_RSA:
	case KEYGEN_KIND_EC:
	case KEYGEN_KIND_ED25519:
		r = pct_sign_verify(t, pkey);
		break;
	case KEYGEN_KIND_X25519:
		r = pct_x25519(t, pkey);
		break;
	case KEYGEN_KIND_SYM:
	default:
		return ERR_INVALID_ARG;
	}
	if (r != ERR_OK)
		r = pct_failed(t, "fount's test");
	return r;
}

/* ---- the FIPS module's own PCT --------------------------------------------
 * The OpenSSL 3.0 FIPS module tests every RSA and EC key pair it makes and
 * enters its error state when the test fails: crypto/rsa/rsa_gen.c,
 * rsa_keygen (pairwise_test = 1 under FIPS_MODULE: PKCS#1 v1.5 encrypt,
 * then decrypt) and crypto/ec/ec_key.c, ec_generate_key (the same: ECDSA
 * sign, then verify). Its Ed25519 and X25519 generation has no such test
 * (providers/implementations/keymgmt/ecx_kmgmt.c, ecx_gen), nor has any
 * key the default provider makes. FIPS 140-3 IG 10.3.A asks for one PCT
 * per key, so fount runs its own only where the module ran none. */
bool keygen_pct_by_module(const struct keygen_type *t)
{
	return t != NULL && keygen_fips_mode() &&
	       (t->kind == KEYGEN_KIND_RSA || t->kind == KEYGEN_KIND_EC);
}

/* made_by_fips_module: the key generator of |ctx| is the FIPS provider
 * (and not, say, a provider configured beside it). */
static bool made_by_fips_module(const EVP_PKEY_CTX *ctx)
{
	const OSSL_PROVIDER *prov = EVP_PKEY_CTX_get0_provider(ctx);
	return prov != NULL && strcmp(OSSL_PROVIDER_get0_name(prov), "fips") == 0;
}

/* module_failed: after a failed EVP_PKEY_generate, did the module's PCT
 * fail? Then the module has left its running state, or (configured with
 * conditional-errors = 0) it has queued PROV_R_FIPS_MODULE_CONDITIONAL_ERROR
 * (providers/fips/self_test.c, ossl_set_error_state). */
static bool module_failed(const EVP_PKEY_CTX *ctx)
{
	int running = 1;
	OSSL_PARAM params[] = {OSSL_PARAM_int(OSSL_PROV_PARAM_STATUS, &running), OSSL_PARAM_END};
	const OSSL_PROVIDER *prov = EVP_PKEY_CTX_get0_provider(ctx);
	unsigned long first = ERR_peek_error(), last = ERR_peek_last_error();
	if (prov != NULL && OSSL_PROVIDER_get_params(prov, params) == 1 && running == 0)
		return true;
	for (int i = 0; i < 2; i++) {
		unsigned long e = i == 0 ? first : last;
		if (ERR_GET_LIB(e) == ERR_LIB_PROV &&
		    (ERR_GET_REASON(e) == PROV_R_FIPS_MODULE_CONDITIONAL_ERROR ||
		     ERR_GET_REASON(e) == PROV_R_FIPS_MODULE_ENTERING_ERROR_STATE))
			return true;
	}
	return false;
}

/* FOUNT_SELFTEST_BREAK=pct-rsa|pct-ec in FIPS mode corrupts the module's
 * own PCT, through the self-test callback of fount's library context: the
 * module calls it with phase "Corrupt" between the sign (or encrypt) and
 * the verify, and flips a byte when it returns 0 (crypto/self_test_core.c,
 * OSSL_SELF_TEST_oncorrupt_byte). The callback is installed only once a
 * break is asked for, acts only for the thread that asked, and passes
 * every event on to a callback that was installed before it. */
static _Thread_local bool corrupt_module_pct;
static pthread_mutex_t cb_lock = PTHREAD_MUTEX_INITIALIZER;
static OSSL_CALLBACK *prev_cb;
static void *prev_cbarg;

static int module_pct_cb(const OSSL_PARAM params[], void *arg)
{
	const OSSL_PARAM *ph = OSSL_PARAM_locate_const(params, OSSL_PROV_PARAM_SELF_TEST_PHASE);
	const OSSL_PARAM *ty = OSSL_PARAM_locate_const(params, OSSL_PROV_PARAM_SELF_TEST_TYPE);
	const char *phase = NULL, *type = NULL;
	UNUSED(arg);
	if (corrupt_module_pct && ph != NULL && ty != NULL &&
	    OSSL_PARAM_get_utf8_string_ptr(ph, &phase) == 1 &&
	    OSSL_PARAM_get_utf8_string_ptr(ty, &type) == 1 &&
	    strcmp(phase, OSSL_SELF_TEST_PHASE_CORRUPT) == 0 &&
	    strcmp(type, OSSL_SELF_TEST_TYPE_PCT) == 0)
		return 0; /* corrupt it */
	pthread_mutex_lock(&cb_lock);
	OSSL_CALLBACK *next = prev_cb;
	void *next_arg = prev_cbarg;
	pthread_mutex_unlock(&cb_lock);
	return next != NULL ? next(params, next_arg) : 1;
}

static void module_pct_cb_install(OSSL_LIB_CTX *libctx)
{
	OSSL_CALLBACK *cb = NULL;
	void *cbarg = NULL;
	pthread_mutex_lock(&cb_lock);
	OSSL_SELF_TEST_get_callback(libctx, &cb, &cbarg);
	if (cb != module_pct_cb) {
		prev_cb = cb;
		prev_cbarg = cbarg;
		OSSL_SELF_TEST_set_callback(libctx, module_pct_cb, NULL);
	}
	pthread_mutex_unlock(&cb_lock);
}

/* keygen_params sets RSA's modulus size and e = 65537 (FIPS 186-5 §A.1.1
 * allows 2^16 < e < 2^256), or the EC group. */
static err_t keygen_params(const struct keygen_type *t, EVP_PKEY_CTX *ctx)
{
	unsigned bits = t->bits;
	unsigned e = 65537;
	OSSL_PARAM params[3];
	size_t n = 0;

	switch (t->kind) {
	case KEYGEN_KIND_RSA:
		params[n++] = OSSL_PARAM_construct_uint(OSSL_PKEY_PARAM_RSA_BITS, &bits);
		params[n++] = OSSL_PARAM_construct_uint(OSSL_PKEY_PARAM_RSA_E, &e);
		break;
	case KEYGEN_KIND_EC:
		params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
							       (char *)(uintptr_t)t->group, 0);
		break;
	case KEYGEN_KIND_ED25519:
	case KEYGEN_KIND_X25519:
		break;
	case KEYGEN_KIND_SYM:
	default:
		return ERR_INVALID_ARG;
	}
	params[n] = OSSL_PARAM_construct_end();
	if (n > 0 && EVP_PKEY_CTX_set_params(ctx, params) <= 0)
		return ERR_CRYPTO;
	return ERR_OK;
}

err_t keygen_pkey_generate(const struct keygen_type *t, EVP_PKEY **out)
{
	err_t r = ERR_CRYPTO;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;

	ENSURE(t != NULL && out != NULL, ERR_INVALID_ARG);
	ENSURE(t->kind != KEYGEN_KIND_SYM && t->ossl_name != NULL, ERR_INVALID_ARG);
	*out = NULL;
	/* OpenSSL draws the randomness itself: check the gate first */
	ENSURE(drbg_gate_open(), ERR_NOT_OPERATIONAL);
	ctx = EVP_PKEY_CTX_new_from_name(keygen_libctx(), t->ossl_name, NULL);
	if (ctx == NULL || EVP_PKEY_keygen_init(ctx) <= 0) {
		log_error("%s keys are not available in this provider (%s)", t->name,
			  keygen_provider_name());
		r = ERR_UNSUPPORTED;
		goto out;
	}
	GUARD_GOTO(keygen_params(t, ctx));
	/* fount's DRBG must be able to deliver before OpenSSL draws: see
	 * keygen_rand_mix in keygen/internal.h */
	GUARD_GOTO(keygen_rand_mix());
	bool by_module = keygen_pct_by_module(t) && made_by_fips_module(ctx);
	if (by_module && pct_broken(t->pct_name)) {
		module_pct_cb_install(keygen_libctx());
		corrupt_module_pct = true; /* FOUNT_SELFTEST_BREAK */
	}
	int ok = EVP_PKEY_generate(ctx, &pkey);
	corrupt_module_pct = false;
	if (ok <= 0 || pkey == NULL) {
		r = by_module && module_failed(ctx) ? pct_failed(t, "the FIPS module's test")
						    : ERR_CRYPTO;
		goto out;
	}
	/* one PCT per key: the module's, or else fount's */
	if (!by_module)
		GUARD_GOTO(keygen_pkey_pct(t, pkey));
	*out = pkey;
	pkey = NULL; /* transferred */
	r = ERR_OK;
out:
	EVP_PKEY_free(pkey); /* frees (and clears) a key that failed its PCT */
	EVP_PKEY_CTX_free(ctx);
	return r;
}

/* ---- encodings ----------------------------------------------------------------*/

/* part_structure maps |part| to the OSSL_ENCODER/DECODER selection and
 * structure: PKCS#8 PrivateKeyInfo or SubjectPublicKeyInfo. */
static bool part_structure(enum keygen_part part, int *selection, const char **structure)
{
	switch (part) {
	case KEYGEN_PART_PRIVATE:
		*selection = EVP_PKEY_KEYPAIR;
		*structure = "PrivateKeyInfo";
		return true;
	case KEYGEN_PART_PUBLIC:
		*selection = EVP_PKEY_PUBLIC_KEY;
		*structure = "SubjectPublicKeyInfo";
		return true;
	default:
		return false;
	}
}

err_t keygen_pkey_encode(const EVP_PKEY *pkey, enum keygen_part part,
			 enum keygen_format fmt, uint8_t **out, size_t *out_len)
{
	err_t r = ERR_CRYPTO;
	OSSL_ENCODER_CTX *ectx = NULL;
	BIO *bio = NULL;
	BUF_MEM *mem = NULL;
	uint8_t *buf = NULL;
	int selection;
	const char *structure;

	ENSURE(pkey != NULL && out != NULL && out_len != NULL, ERR_INVALID_ARG);
	*out = NULL;
	*out_len = 0;
	ENSURE(part_structure(part, &selection, &structure), ERR_INVALID_ARG);
	ENSURE(fmt == KEYGEN_FMT_PEM || fmt == KEYGEN_FMT_DER, ERR_INVALID_ARG);
	ectx = OSSL_ENCODER_CTX_new_for_pkey(pkey, selection,
					     fmt == KEYGEN_FMT_PEM ? "PEM" : "DER", structure, NULL);
	ENSURE_GOTO(ectx != NULL && OSSL_ENCODER_CTX_get_num_encoders(ectx) > 0, ERR_UNSUPPORTED);
	/* a memory BIO grows with BUF_MEM_grow_clean and frees with
	 * OPENSSL_clear_free: no copy of the key is left in the heap */
	bio = BIO_new(BIO_s_mem());
	ENSURE_GOTO(bio != NULL, ERR_NOMEM);
	if (OSSL_ENCODER_to_bio(ectx, bio) != 1 || BIO_get_mem_ptr(bio, &mem) <= 0 ||
	    mem == NULL || mem->length == 0)
		goto out;
	buf = secmem_alloc(mem->length, &r);
	if (buf == NULL)
		goto out;
	memcpy(buf, mem->data, mem->length);
	*out = buf;
	*out_len = mem->length;
	buf = NULL; /* transferred */
	r = ERR_OK;
out:
	BIO_free(bio);
	OSSL_ENCODER_CTX_free(ectx);
	return r;
}

static bool looks_like_pem(const uint8_t *in, size_t len)
{
	static const char begin[] = "-----BEGIN ";
	while (len > 0 && (*in == ' ' || *in == '\t' || *in == '\r' || *in == '\n')) {
		in++;
		len--;
	}
	return len >= sizeof(begin) - 1 && memcmp(in, begin, sizeof(begin) - 1) == 0;
}

err_t keygen_pkey_decode(const uint8_t *in, size_t in_len, enum keygen_part part,
			 EVP_PKEY **out)
{
	err_t r = ERR_KEY_FORMAT;
	OSSL_DECODER_CTX *dctx = NULL;
	EVP_PKEY *pkey = NULL;
	const unsigned char *p = in;
	size_t left = in_len;
	int selection;
	const char *structure;
	bool pem;

	ENSURE(in != NULL && out != NULL, ERR_INVALID_ARG);
	/* never OpenSSL's default context: that would bypass fips=yes */
	ENSURE(keygen_libctx() != NULL, ERR_CRYPTO);
	*out = NULL;
	ENSURE(in_len > 0, ERR_KEY_FORMAT);
	ENSURE(in_len <= KEYGEN_MAX_KEY_FILE, ERR_TOO_LARGE);
	ENSURE(part_structure(part, &selection, &structure), ERR_INVALID_ARG);
	pem = looks_like_pem(in, in_len);
	dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, pem ? "PEM" : "DER", structure, NULL,
					     selection, keygen_libctx(), NULL);
	ENSURE_GOTO(dctx != NULL && OSSL_DECODER_CTX_get_num_decoders(dctx) > 0, ERR_UNSUPPORTED);
	if (OSSL_DECODER_from_data(dctx, &p, &left) != 1 || pkey == NULL)
		goto out;
	/* DER: exactly one structure, nothing after it */
	ENSURE_GOTO(pem || left == 0, ERR_KEY_FORMAT);
	ENSURE_GOTO(keygen_pkey_type(pkey) != NULL, ERR_KEY_FORMAT);
	*out = pkey;
	pkey = NULL; /* transferred */
	r = ERR_OK;
out:
	EVP_PKEY_free(pkey);
	OSSL_DECODER_CTX_free(dctx);
	return r;
}

/* same_curve compares the key's group name with the table's NIST name,
 * whichever alias OpenSSL reports ("prime256v1", "P-256", ...). */
static bool same_curve(const EVP_PKEY *pkey, const char *nist_name)
{
	char name[64];
	size_t len = 0;
	if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, name,
					   sizeof(name), &len) != 1)
		return false;
	int nid = EC_curve_nist2nid(name);
	if (nid == NID_undef)
		nid = OBJ_txt2nid(name);
	return nid != NID_undef && nid == EC_curve_nist2nid(nist_name);
}

const struct keygen_type *keygen_pkey_type(const EVP_PKEY *pkey)
{
	const struct keygen_type *all;
	size_t n = keygen_types(&all);
	if (pkey == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const struct keygen_type *t = &all[i];
		if (t->kind == KEYGEN_KIND_SYM || !EVP_PKEY_is_a(pkey, t->ossl_name))
			continue;
		switch (t->kind) {
		case KEYGEN_KIND_RSA:
			if (EVP_PKEY_get_bits(pkey) == (int)t->bits)
				return t;
			break;
		case KEYGEN_KIND_EC:
			if (same_curve(pkey, t->group))
				return t;
			break;
		case KEYGEN_KIND_ED25519:
		case KEYGEN_KIND_X25519:
			return t;
		case KEYGEN_KIND_SYM:
		default:
			break;
		}
	}
	return NULL;
}
