/* tests/test_ctr_drbg.c — keygen/ctr_drbg.c: CAVP and BoringSSL known
 * answers, every error code, zeroization, and a differential test against
 * OpenSSL 3's own EVP_RAND "CTR-DRBG" fed through "TEST-RAND". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keygen/internal.h"
#include "tests/helpers.h"

static int suite_init(void)
{
	struct config cfg;
	testlib_config(&cfg);
	return keygen_init(&cfg) == ERR_OK ? 0 : -1;
}

static int suite_clean(void)
{
	return 0;
}

static struct ctr_drbg *new_drbg(void)
{
	struct ctr_drbg *d = NULL;
	EXPECT_OK(ctr_drbg_new(&d));
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	return d;
}

static void expect_bytes(const uint8_t *got, const char *want_hex, size_t len)
{
	size_t n = 0;
	uint8_t *want = testlib_hex(want_hex, &n);
	CU_ASSERT_EQUAL_FATAL(n, len);
	if (memcmp(got, want, len) != 0) {
		char *h = malloc(2 * len + 1);
		hex_encode(h, got, len);
		fprintf(stderr, "\n  got  %s\n  want %s\n", h, want_hex);
		free(h);
	}
	CU_ASSERT_EQUAL(memcmp(got, want, len), 0);
	free(want);
}

/* NIST CAVP drbgvectors_pr_false CTR_DRBG.rsp, [AES-256 use df]
 * [PredictionResistance = False], COUNT = 0 (also in mbedtls
 * library/ctr_drbg.c) */
static void test_cavp_pr_false(void)
{
	size_t el, nl, pl, rl;
	uint8_t *e = testlib_hex("4cfb218673346d9d50c922e49b0dfcd090adf04f5c3ba47327dfcd6fa63a785c", &el);
	uint8_t *n = testlib_hex("016962a7fd2787a24bf6be47ef3783f1", &nl);
	uint8_t *p = testlib_hex("88eeb8e0e83bf3294bdacd6099ebe4bf55ecd9113f71e5ebcb4575f3d6a68a6b", &pl);
	uint8_t *er = testlib_hex("b7ec46072363834a1b0133f2c23891db4f11a68651f23e3a8b1fdc03b192c7e7", &rl);
	uint8_t out[64];
	struct ctr_drbg *d = new_drbg();
	EXPECT_OK(ctr_drbg_instantiate(d, e, el, n, nl, p, pl));
	EXPECT_OK(ctr_drbg_reseed(d, er, rl, NULL, 0));
	EXPECT_OK(ctr_drbg_generate(d, out, sizeof(out), NULL, 0));
	EXPECT_OK(ctr_drbg_generate(d, out, sizeof(out), NULL, 0));
	expect_bytes(out, "a55180a190bef3adaf28f6b795e9f1f3d6dfa1b27dd0467b0c75f5fa931e9714"
			  "75b27cae03a29654e2f40966ea33643040d1400fe677873af8097c1fe9f00298",
		     sizeof(out));
	CU_ASSERT_EQUAL(ctr_drbg_reseed_counter(d), 3);
	ctr_drbg_free(d);
	free(e); free(n); free(p); free(er);
}

/* §6.3: CAVP drbgvectors_pr_true, AES-256 use df, COUNT = 0 */
static void test_cavp_pr_true(void)
{
	size_t el, nl, pl, l1, l2;
	uint8_t *e = testlib_hex("ca58fdf2b977cb49d4e05be23950d98a6ab3c52fdf74d5858fd1ba64547bdb1e", &el);
	uint8_t *n = testlib_hex("c5ea24c0fa0c90150920924232364545", &nl);
	uint8_t *p = testlib_hex("5a7095e98140523391537e75d6199d1ead0dc6a7de6c1fe0ea1833a87e0620e9", &pl);
	uint8_t *pr1 = testlib_hex("7d20766bcfa215c82f9fbc883f80d12cb716d1809ee1c9b3881b2145efa17fce", &l1);
	uint8_t *pr2 = testlib_hex("c89235552ad91d8e1238ac014e3818769cf2b6d413b62c77c0e7e60c474495be", &l2);
	uint8_t out[64];
	struct ctr_drbg *d = new_drbg();
	EXPECT_OK(ctr_drbg_instantiate(d, e, el, n, nl, p, pl));
	EXPECT_OK(ctr_drbg_generate_pr(d, out, sizeof(out), pr1, l1, NULL, 0));
	EXPECT_OK(ctr_drbg_generate_pr(d, out, sizeof(out), pr2, l2, NULL, 0));
	expect_bytes(out, "ce2fdbb6d9b7398504c5c042c231c61d9b5a59f87e0dcc627b65115510eb9e3d"
			  "a4fb1c6a18c074dbdde702236321d039f9a7c452843b4940722bb06c9cdbc343",
		     sizeof(out));
	ctr_drbg_free(d);
	free(e); free(n); free(p); free(pr1); free(pr2);
}

/* §6.4: BoringSSL's power-on DRBG KAT (self_check.cc.inc), with
 * personalization and additional input, then the clear check */
static void test_boringssl_kat(void)
{
	size_t el, nl, e2l;
	uint8_t *e = testlib_hex("c4da0740d505f1ee280b95e58c4931ac6de846a0152fbb4a3f174cf4787a4f1a", &el);
	uint8_t *n = testlib_hex("40c2b50babe14aae530be5886d910a27", &nl);
	uint8_t *e2 = testlib_hex("c7161ca36c2309b716e9859bb96c6d49bdc8352103a18cd24ef42ec97ef46bf4"
				  "46eb1a4576c186e9351803763a7912fe", &e2l);
	static const char pers[] = "BCMPersonalization";
	static const char ad[] = "BCM DRBG KAT AD ";
	uint8_t out[64];
	struct ctr_drbg *d = new_drbg();
	EXPECT_OK(ctr_drbg_instantiate(d, e, el, n, nl, (const uint8_t *)pers, strlen(pers)));
	EXPECT_OK(ctr_drbg_generate(d, out, sizeof(out), (const uint8_t *)ad, strlen(ad)));
	expect_bytes(out, "55888188164968d823c818575d06c35f603ae8fe7c7e1c4a6aa89107c00d1f70"
			  "4abb2042d33f19f1b1fcefa171fdf7afc5127a98ad42bc01e6a283bc73b5ba84",
		     sizeof(out));
	EXPECT_OK(ctr_drbg_reseed(d, e2, e2l, (const uint8_t *)ad, strlen(ad)));
	EXPECT_OK(ctr_drbg_generate(d, out, sizeof(out), (const uint8_t *)ad, strlen(ad)));
	expect_bytes(out, "da49a101317177def68db54f860dc8d63caabc720a9c8b68a970f12113cec6bc"
			  "ffafa8d5267626cc0d8966abc211a82ff136a32b52cd1a2de482ac3cbba91790",
		     sizeof(out));
	CU_ASSERT_FALSE(ctr_drbg_is_zero(d));
	ctr_drbg_uninstantiate(d);
	CU_ASSERT_TRUE(ctr_drbg_is_zero(d)); /* "DRBG Clear KAT" */
	ctr_drbg_free(d);
	free(e); free(n); free(e2);
}

static uint8_t big[CTR_DRBG_MAX_REQUEST + 1];
static const uint8_t ent[CTR_DRBG_MAX_INPUT_LEN + 1] = {1, 2, 3};

static void test_errors(void)
{
	struct ctr_drbg *d = new_drbg();
	uint8_t out[32];

	CU_ASSERT_TRUE(ctr_drbg_is_zero(d));
	EXPECT_ERR(ctr_drbg_generate(d, out, sizeof(out), NULL, 0), ERR_DRBG_UNINSTANTIATED);
	EXPECT_ERR(ctr_drbg_reseed(d, ent, 32, NULL, 0), ERR_DRBG_UNINSTANTIATED);
	EXPECT_ERR(ctr_drbg_generate_pr(d, out, sizeof(out), ent, 32, NULL, 0),
		   ERR_DRBG_UNINSTANTIATED);
	EXPECT_ERR(ctr_drbg_instantiate(d, ent, 31, ent, 16, NULL, 0), ERR_DRBG_ENTROPY_TOO_SHORT);
	EXPECT_ERR(ctr_drbg_instantiate(d, ent, 32, ent, 15, NULL, 0), ERR_INVALID_ARG);
	EXPECT_ERR(ctr_drbg_instantiate(d, ent, CTR_DRBG_MAX_INPUT_LEN + 1, ent, 16, NULL, 0),
		   ERR_DRBG_INPUT_TOO_LONG);
	EXPECT_ERR(ctr_drbg_instantiate(d, ent, 32, ent, CTR_DRBG_MAX_INPUT_LEN + 1, NULL, 0),
		   ERR_DRBG_INPUT_TOO_LONG);
	EXPECT_ERR(ctr_drbg_instantiate(d, ent, 32, ent, 16, ent, CTR_DRBG_MAX_INPUT_LEN + 1),
		   ERR_DRBG_INPUT_TOO_LONG);
	EXPECT_ERR(ctr_drbg_instantiate(d, NULL, 32, ent, 16, NULL, 0), ERR_INVALID_ARG);
	EXPECT_ERR(ctr_drbg_instantiate(d, ent, 32, ent, 16, NULL, 5), ERR_INVALID_ARG);

	EXPECT_OK(ctr_drbg_instantiate(d, ent, CTR_DRBG_MAX_INPUT_LEN, ent, CTR_DRBG_MAX_INPUT_LEN,
				       ent, CTR_DRBG_MAX_INPUT_LEN));
	EXPECT_ERR(ctr_drbg_generate(d, big, CTR_DRBG_MAX_REQUEST + 1, NULL, 0),
		   ERR_DRBG_REQUEST_TOO_LARGE);
	EXPECT_OK(ctr_drbg_generate(d, big, CTR_DRBG_MAX_REQUEST, NULL, 0));
	EXPECT_ERR(ctr_drbg_generate(d, out, sizeof(out), ent, CTR_DRBG_MAX_INPUT_LEN + 1),
		   ERR_DRBG_INPUT_TOO_LONG);
	EXPECT_OK(ctr_drbg_generate(d, out, sizeof(out), ent, CTR_DRBG_MAX_INPUT_LEN));
	EXPECT_ERR(ctr_drbg_reseed(d, ent, 31, NULL, 0), ERR_DRBG_ENTROPY_TOO_SHORT);
	EXPECT_ERR(ctr_drbg_reseed(d, ent, 32, ent, CTR_DRBG_MAX_INPUT_LEN + 1),
		   ERR_DRBG_INPUT_TOO_LONG);
	EXPECT_ERR(ctr_drbg_generate_pr(d, out, sizeof(out), ent, 31, NULL, 0),
		   ERR_DRBG_ENTROPY_TOO_SHORT);
	EXPECT_ERR(ctr_drbg_generate_pr(d, big, CTR_DRBG_MAX_REQUEST + 1, ent, 32, NULL, 0),
		   ERR_DRBG_REQUEST_TOO_LARGE);
	/* the errors above left the DRBG usable */
	EXPECT_OK(ctr_drbg_generate(d, out, sizeof(out), NULL, 0));

	/* SP 800-90A 10.2.1.5.2 step 1: 2^48 generates, then a reseed */
	ctr_drbg_set_reseed_counter_for_test(d, CTR_DRBG_MAX_RESEED_COUNT);
	EXPECT_OK(ctr_drbg_generate(d, out, sizeof(out), NULL, 0));
	EXPECT_ERR(ctr_drbg_generate(d, out, sizeof(out), NULL, 0), ERR_DRBG_RESEED_REQUIRED);
	EXPECT_ERR(ctr_drbg_generate(d, out, sizeof(out), NULL, 0), ERR_DRBG_RESEED_REQUIRED);
	EXPECT_OK(ctr_drbg_reseed(d, ent, 32, NULL, 0));
	CU_ASSERT_EQUAL(ctr_drbg_reseed_counter(d), 1);
	EXPECT_OK(ctr_drbg_generate(d, out, sizeof(out), NULL, 0));
	/* generate_pr reseeds, so the counter limit does not stop it */
	ctr_drbg_set_reseed_counter_for_test(d, CTR_DRBG_MAX_RESEED_COUNT + 1);
	EXPECT_OK(ctr_drbg_generate_pr(d, out, sizeof(out), ent, 32, NULL, 0));
	EXPECT_ERR(ctr_drbg_new(NULL), ERR_INVALID_ARG);
	ctr_drbg_free(d);
	ctr_drbg_free(NULL);
}

static void test_zeroize(void)
{
	struct ctr_drbg *d = new_drbg();
	uint8_t out[100];
	CU_ASSERT_TRUE(ctr_drbg_is_zero(d));
	EXPECT_OK(ctr_drbg_instantiate(d, ent, 32, ent, 16, NULL, 0));
	CU_ASSERT_FALSE(ctr_drbg_is_zero(d));
	EXPECT_OK(ctr_drbg_generate(d, out, sizeof(out), ent, 7));
	ctr_drbg_uninstantiate(d);
	CU_ASSERT_TRUE(ctr_drbg_is_zero(d)); /* no key, V, counter or cipher context left */
	EXPECT_ERR(ctr_drbg_generate(d, out, sizeof(out), NULL, 0), ERR_DRBG_UNINSTANTIATED);
	/* re-instantiation after a wipe works and is deterministic */
	uint8_t a[100], b[100];
	EXPECT_OK(ctr_drbg_instantiate(d, ent, 32, ent, 16, NULL, 0));
	EXPECT_OK(ctr_drbg_generate(d, a, sizeof(a), NULL, 0));
	EXPECT_OK(ctr_drbg_instantiate(d, ent, 32, ent, 16, NULL, 0));
	EXPECT_OK(ctr_drbg_generate(d, b, sizeof(b), NULL, 0));
	CU_ASSERT_EQUAL(memcmp(a, b, sizeof(a)), 0);
	EXPECT_OK(ctr_drbg_generate(d, b, sizeof(b), NULL, 0));
	CU_ASSERT_NOT_EQUAL(memcmp(a, b, sizeof(a)), 0);
	ctr_drbg_free(d);
}

/* ---- differential test against OpenSSL's CTR-DRBG --------------------------*/
static uint64_t rng_state;
static uint64_t rnd(void) /* splitmix64: reproducible test inputs */
{
	uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}
static size_t rnd_in(size_t lo, size_t hi)
{
	return lo + (size_t)(rnd() % (hi - lo + 1));
}
static void rnd_fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rnd();
}
/* input lengths: often 0, sometimes around block edges, else 1..300 */
static size_t rnd_len(void)
{
	switch (rnd() % 4) {
	case 0:
		return 0;
	case 1:
		return rnd_in(14, 18);
	default:
		return rnd_in(1, 300);
	}
}

struct ossl_ref {
	EVP_RAND_CTX *parent, *drbg;
};

static int ref_set_entropy(struct ossl_ref *o, const uint8_t *e, size_t el,
			   const uint8_t *n, size_t nl)
{
	OSSL_PARAM p[3], *q = p;
	*q++ = OSSL_PARAM_construct_octet_string(OSSL_RAND_PARAM_TEST_ENTROPY, (void *)(uintptr_t)e, el);
	if (n != NULL)
		*q++ = OSSL_PARAM_construct_octet_string(OSSL_RAND_PARAM_TEST_NONCE, (void *)(uintptr_t)n, nl);
	*q = OSSL_PARAM_construct_end();
	return EVP_RAND_CTX_set_params(o->parent, p);
}

static int ref_new(struct ossl_ref *o)
{
	unsigned strength = 256;
	int use_df = 1;
	unsigned zero = 0;
	char cipher[] = "AES-256-CTR";
	EVP_RAND *tr = EVP_RAND_fetch(NULL, "TEST-RAND", NULL);
	EVP_RAND *cr = EVP_RAND_fetch(NULL, "CTR-DRBG", NULL);
	int ok = 0;
	memset(o, 0, sizeof(*o));
	if (tr == NULL || cr == NULL)
		goto out;
	o->parent = EVP_RAND_CTX_new(tr, NULL);
	if (o->parent == NULL)
		goto out;
	OSSL_PARAM pp[] = {OSSL_PARAM_construct_uint(OSSL_RAND_PARAM_STRENGTH, &strength),
			   OSSL_PARAM_construct_end()};
	if (EVP_RAND_CTX_set_params(o->parent, pp) != 1 ||
	    EVP_RAND_instantiate(o->parent, 256, 0, NULL, 0, NULL) != 1)
		goto out;
	o->drbg = EVP_RAND_CTX_new(cr, o->parent);
	if (o->drbg == NULL)
		goto out;
	OSSL_PARAM dp[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_DRBG_PARAM_CIPHER, cipher, 0),
		OSSL_PARAM_construct_int(OSSL_DRBG_PARAM_USE_DF, &use_df),
		OSSL_PARAM_construct_uint(OSSL_DRBG_PARAM_RESEED_REQUESTS, &zero),
		OSSL_PARAM_construct_end(),
	};
	ok = EVP_RAND_CTX_set_params(o->drbg, dp) == 1;
out:
	EVP_RAND_free(tr);
	EVP_RAND_free(cr);
	return ok;
}

static void ref_free(struct ossl_ref *o)
{
	EVP_RAND_CTX_free(o->drbg);
	EVP_RAND_CTX_free(o->parent);
}

#define DIFF_CASES 1000

static void test_differential_openssl(void)
{
	static uint8_t e[80], n[32], in[300], mine[5000], theirs[5000];
	static const uint8_t empty[1];
	struct ctr_drbg *d = new_drbg();
	unsigned mismatches = 0, ops = 0;
	rng_state = 0x666f756e74; /* fixed: a failure can be replayed */

	for (unsigned c = 0; c < DIFF_CASES && mismatches < 5; c++) {
		struct ossl_ref o;
		CU_ASSERT_TRUE_FATAL(ref_new(&o));
		size_t el = rnd_in(32, 64), nl = rnd_in(16, 32), pl = rnd_len();
		rnd_fill(e, el);
		rnd_fill(n, nl);
		rnd_fill(in, pl);
		EXPECT_OK(ctr_drbg_instantiate(d, e, el, n, nl, in, pl));
		CU_ASSERT_FATAL(ref_set_entropy(&o, e, el, n, nl) == 1);
		/* a non-NULL pointer: OpenSSL uses its own string for NULL */
		CU_ASSERT_FATAL(EVP_RAND_instantiate(o.drbg, 256, 0, pl ? in : empty, pl, NULL) == 1);

		unsigned steps = (unsigned)rnd_in(1, 4);
		for (unsigned s = 0; s < steps; s++) {
			size_t al = rnd_len(), ol = rnd_in(1, 5000);
			unsigned kind = (unsigned)(rnd() % 4);
			rnd_fill(in, al);
			if (kind == 0) { /* reseed */
				el = rnd_in(32, 64);
				rnd_fill(e, el);
				EXPECT_OK(ctr_drbg_reseed(d, e, el, in, al));
				CU_ASSERT_FATAL(ref_set_entropy(&o, e, el, NULL, 0) == 1);
				CU_ASSERT_FATAL(EVP_RAND_reseed(o.drbg, 0, NULL, 0, al ? in : empty, al) == 1);
				continue;
			}
			if (kind == 1) { /* prediction resistance */
				el = rnd_in(32, 64);
				rnd_fill(e, el);
				EXPECT_OK(ctr_drbg_generate_pr(d, mine, ol, e, el, in, al));
				CU_ASSERT_FATAL(ref_set_entropy(&o, e, el, NULL, 0) == 1);
				CU_ASSERT_FATAL(EVP_RAND_generate(o.drbg, theirs, ol, 256, 1,
								  al ? in : empty, al) == 1);
			} else {
				EXPECT_OK(ctr_drbg_generate(d, mine, ol, in, al));
				CU_ASSERT_FATAL(EVP_RAND_generate(o.drbg, theirs, ol, 256, 0,
								  al ? in : empty, al) == 1);
			}
			ops++;
			if (memcmp(mine, theirs, ol) != 0) {
				mismatches++;
				fprintf(stderr, "\n  case %u step %u (kind %u, out %zu, adin %zu): differs from OpenSSL\n",
					c, s, kind, ol, al);
			}
		}
		ref_free(&o);
	}
	CU_ASSERT_EQUAL(mismatches, 0);
	CU_ASSERT(ops >= DIFF_CASES);
	ctr_drbg_free(d);
}

/* The same comparison must fail when the bytes differ: a self-check of the
 * harness (one flipped personalization byte). */
static void test_differential_can_fail(void)
{
	static const uint8_t empty[1];
	uint8_t e[32] = {7}, n[16] = {9}, p[20] = {1}, mine[48], theirs[48];
	struct ossl_ref o;
	struct ctr_drbg *d = new_drbg();
	CU_ASSERT_TRUE_FATAL(ref_new(&o));
	EXPECT_OK(ctr_drbg_instantiate(d, e, sizeof(e), n, sizeof(n), p, sizeof(p)));
	CU_ASSERT_FATAL(ref_set_entropy(&o, e, sizeof(e), n, sizeof(n)) == 1);
	CU_ASSERT_FATAL(EVP_RAND_instantiate(o.drbg, 256, 0, p, sizeof(p), NULL) == 1);
	EXPECT_OK(ctr_drbg_generate(d, mine, sizeof(mine), NULL, 0));
	CU_ASSERT_FATAL(EVP_RAND_generate(o.drbg, theirs, sizeof(theirs), 256, 0, empty, 0) == 1);
	CU_ASSERT_EQUAL(memcmp(mine, theirs, sizeof(mine)), 0);
	p[19] ^= 1;
	EXPECT_OK(ctr_drbg_instantiate(d, e, sizeof(e), n, sizeof(n), p, sizeof(p)));
	EXPECT_OK(ctr_drbg_generate(d, mine, sizeof(mine), NULL, 0));
	EXPECT_OK(ctr_drbg_generate(d, mine, sizeof(mine), NULL, 0));
	CU_ASSERT_FATAL(EVP_RAND_generate(o.drbg, theirs, sizeof(theirs), 256, 0, empty, 0) == 1);
	CU_ASSERT_NOT_EQUAL(memcmp(mine, theirs, sizeof(mine)), 0);
	ref_free(&o);
	ctr_drbg_free(d);
}

static void test_provider_name(void)
{
	CU_ASSERT_PTR_NOT_NULL(keygen_libctx());
	struct config cfg;
	testlib_config(&cfg);
	CU_ASSERT_PTR_NOT_NULL(strstr(keygen_provider_name(),
				      cfg.crypto_fips ? "OpenSSL FIPS Provider 3.0." :
				      "OpenSSL Default Provider 3.0."));
	CU_ASSERT_EQUAL(keygen_fips_mode(), cfg.crypto_fips);
	EXPECT_OK(keygen_init(&cfg)); /* idempotent */
}

TEST_SUITE(ctr_drbg, suite_init, suite_clean,
	   TEST(test_cavp_pr_false), TEST(test_cavp_pr_true), TEST(test_boringssl_kat),
	   TEST(test_errors), TEST(test_zeroize), TEST(test_differential_openssl),
	   TEST(test_differential_can_fail), TEST(test_provider_name))
