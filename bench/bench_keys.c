/* bench/bench_keys.c — key generation through fount against OpenSSL's own
 * EVP keygen in the same process and library context (the same
 * EVP_PKEY_generate without fount's gate check, rand mixing and PCT), and
 * AES key wrapping and unwrapping against EVP's. */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "keygen/internal.h"

/* openssl_keygen is the baseline: EVP_PKEY_generate with the same
 * parameters in the same library context, nothing else. */
static EVP_PKEY *openssl_keygen(const struct keygen_type *t)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(keygen_libctx(), t->ossl_name, NULL);
	EVP_PKEY *pkey = NULL;
	unsigned bits = t->bits, e = 65537;
	OSSL_PARAM params[3];
	size_t n = 0;
	if (ctx == NULL || EVP_PKEY_keygen_init(ctx) <= 0)
		goto out;
	if (t->kind == KEYGEN_KIND_RSA) {
		params[n++] = OSSL_PARAM_construct_uint(OSSL_PKEY_PARAM_RSA_BITS, &bits);
		params[n++] = OSSL_PARAM_construct_uint(OSSL_PKEY_PARAM_RSA_E, &e);
	} else if (t->kind == KEYGEN_KIND_EC) {
		params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
							       (char *)(uintptr_t)t->group, 0);
	}
	params[n] = OSSL_PARAM_construct_end();
	if (n > 0 && EVP_PKEY_CTX_set_params(ctx, params) <= 0)
		goto out;
	if (EVP_PKEY_generate(ctx, &pkey) <= 0)
		pkey = NULL;
out:
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

/* budget_for: prime search makes RSA slow and its time per key highly
 * variable; the two sides alternate key by key so drift hits both. */
static double budget_for(const struct keygen_type *t, double seconds)
{
	switch (t->kind) {
	case KEYGEN_KIND_RSA:
		return t->bits >= 4096 ? 6.0 : t->bits >= 3072 ? 5.0 : 4.0;
	case KEYGEN_KIND_EC:
	case KEYGEN_KIND_ED25519:
	case KEYGEN_KIND_X25519:
	case KEYGEN_KIND_SYM:
	default:
		return seconds * 2;
	}
}

static void bench_pairs(double seconds)
{
	const struct keygen_type *all;
	size_t n = keygen_types(&all);
	printf("%-10s %7s %12s %7s %12s %8s %10s %9s\n", "type", "keys", "fount/s", "keys",
	       "OpenSSL/s", "ratio", "PCT us", "PCT/key");
	for (size_t i = 0; i < n; i++) {
		const struct keygen_type *t = &all[i];
		if (t->kind == KEYGEN_KIND_SYM)
			continue;
		uint64_t ns_f = 0, ns_o = 0, keys_f = 0, keys_o = 0;
		const uint64_t budget = (uint64_t)(budget_for(t, seconds) * 1e9);
		EVP_PKEY *keep = NULL;
		err_t r = ERR_OK;
		/* at least 2 keys each; RSA-4096 stops at 8 each */
		while ((ns_f + ns_o < budget || keys_f < 2) && !(t->bits >= 4096 && keys_f >= 8)) {
			EVP_PKEY *p = NULL;
			uint64_t t0 = now_ns();
			r = keygen_pkey_generate(t, &p);
			uint64_t t1 = now_ns();
			EVP_PKEY *q = openssl_keygen(t);
			uint64_t t2 = now_ns();
			if (r != ERR_OK || q == NULL) {
				EVP_PKEY_free(p);
				EVP_PKEY_free(q);
				break;
			}
			ns_f += t1 - t0;
			ns_o += t2 - t1;
			keys_f++;
			keys_o++;
			if (keep == NULL)
				keep = p;
			else
				EVP_PKEY_free(p);
			EVP_PKEY_free(q);
		}
		if (keys_f == 0) {
			printf("%-10s %s\n", t->name, r != ERR_OK ? err_str(r) : "OpenSSL keygen failed");
			continue;
		}
		/* the PCT alone, on one key, many times: fount's cost per key
		 * without prime-search noise; none where the FIPS module runs
		 * its own (keygen_pct_by_module) */
		bool by_module = keygen_pct_by_module(t);
		uint64_t pct_n = 0, t0 = now_ns(), t1 = t0;
		while (t1 - t0 < 200000000ull && keep != NULL && !by_module) {
			if (keygen_pkey_pct(t, keep) != ERR_OK)
				break;
			pct_n++;
			t1 = now_ns();
		}
		double pct_us = pct_n ? (double)(t1 - t0) / (double)pct_n / 1e3 : 0;
		double rate_f = (double)keys_f * 1e9 / (double)ns_f;
		double rate_o = (double)keys_o * 1e9 / (double)ns_o;
		double per_key_o_us = (double)ns_o / (double)keys_o / 1e3;
		printf("%-10s %7llu %12.1f %7llu %12.1f %7.3fx", t->name, (unsigned long long)keys_f,
		       rate_f, (unsigned long long)keys_o, rate_o, rate_f / rate_o);
		if (by_module)
			printf(" %10s %9s\n", "module", "-");
		else
			printf(" %10.1f %8.2f%%\n", pct_us, 100.0 * pct_us / per_key_o_us);
		EVP_PKEY_free(keep);
	}
	printf("ratio: fount keys/s over OpenSSL's (>= 0.95 is the target); RSA's ratio is\n"
	       "noisy with few keys (prime search), PCT/key is fount's added cost measured\n"
	       "directly: its PCT time over OpenSSL's mean time per key; \"module\": the FIPS\n"
	       "module's own PCT (in both columns), fount runs none on that key.\n\n");
}

/* rate_of runs |fn| until |seconds| pass; calls per second. */
static double rate_of(err_t (*fn)(void *), void *arg, double seconds, err_t *r)
{
	const uint64_t budget = (uint64_t)(seconds * 1e9), t0 = now_ns();
	uint64_t calls = 0, t = t0;
	*r = ERR_OK;
	do {
		for (int i = 0; i < 16 && *r == ERR_OK; i++)
			*r = fn(arg);
		calls += 16;
		t = now_ns();
	} while (t - t0 < budget && *r == ERR_OK);
	return (double)calls * 1e9 / (double)(t - t0);
}

static uint8_t *keybuf; /* secure memory, one AES-256 key */

static err_t sym_fill(void *arg)
{
	return keygen_sym_fill(arg, 0, keybuf, 32);
}

static err_t sym_fill_pr(void *arg)
{
	return keygen_sym_fill(arg, KEYGEN_F_PR, keybuf, 32);
}

static err_t sym_alloc(void *arg)
{
	uint8_t *k = NULL;
	size_t len = 0;
	err_t r = keygen_sym_generate(arg, 0, &k, &len);
	secmem_free(k, len);
	return r;
}

static err_t rand_bytes(void *arg)
{
	UNUSED(arg);
	return RAND_priv_bytes_ex(keygen_libctx(), keybuf, 32, 256) == 1 ? ERR_OK : ERR_CRYPTO;
}

static const uint8_t kek[32] = {7};
static uint8_t wrapped[40];

static err_t fount_kw(void *arg)
{
	size_t n;
	UNUSED(arg);
	return keygen_aes_wrap(KEYGEN_WRAP_KW, kek, 32, keybuf, 32, wrapped, sizeof(wrapped), &n);
}

static err_t fount_kw_unwrap(void *arg)
{
	size_t n;
	UNUSED(arg);
	return keygen_aes_unwrap(KEYGEN_WRAP_KW, kek, 32, wrapped, sizeof(wrapped), keybuf, 32, &n);
}

/* fount_kw_unwrap_new: what the CLI and a KMIP Get with a wrapped key do:
 * a fresh secure buffer per key, unwrap into it, free it. */
static err_t fount_kw_unwrap_new(void *arg)
{
	size_t n;
	err_t r;
	UNUSED(arg);
	uint8_t *k = secmem_alloc(sizeof(wrapped) - 8, &r);
	if (k == NULL)
		return r;
	r = keygen_aes_unwrap(KEYGEN_WRAP_KW, kek, 32, wrapped, sizeof(wrapped), k,
			      sizeof(wrapped) - 8, &n);
	secmem_free(k, sizeof(wrapped) - 8);
	return r;
}

/* evp_kw_run: the wrap (enc) or unwrap an application would write with a
 * cipher it fetched once: a new context per call, as each call has its
 * own key. */
static err_t evp_kw_run(EVP_CIPHER *c, int enc)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	uint8_t out[48];
	int n = 0, m = 0;
	err_t r = ERR_CRYPTO;
	if (ctx == NULL)
		return ERR_NOMEM;
	EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	if (EVP_CipherInit_ex2(ctx, c, kek, NULL, enc, NULL) == 1 &&
	    EVP_CipherUpdate(ctx, enc ? wrapped : out, &n, enc ? keybuf : wrapped,
			     enc ? 32 : (int)sizeof(wrapped)) == 1 &&
	    EVP_CipherFinal_ex(ctx, (enc ? wrapped : out) + n, &m) == 1)
		r = ERR_OK;
	secure_zero(out, sizeof(out));
	EVP_CIPHER_CTX_free(ctx);
	return r;
}

static err_t evp_kw(void *arg)
{
	return evp_kw_run(arg, 1);
}

static err_t evp_kw_unwrap(void *arg)
{
	return evp_kw_run(arg, 0);
}

static void bench_sym_and_wrap(double seconds)
{
	const struct keygen_type *aes = keygen_type_find("aes-256");
	err_t r1, r2, r3, r4;
	keybuf = secmem_alloc(32, &r1);
	if (keybuf == NULL) {
		printf("secmem_alloc: %s\n", err_str(r1));
		return;
	}
	double fill = rate_of(sym_fill, (void *)(uintptr_t)aes, seconds, &r1);
	double alloc = rate_of(sym_alloc, (void *)(uintptr_t)aes, seconds, &r2);
	double pr = rate_of(sym_fill_pr, (void *)(uintptr_t)aes, seconds, &r3);
	double rb = rate_of(rand_bytes, NULL, seconds, &r4);
	printf("%-46s %14s\n", "AES-256 key generation (32 B, one core)", "keys/s");
	printf("%-46s %14.0f%s\n", "fount keygen_sym_fill (worker DRBG)", fill, r1 ? " (failed)" : "");
	printf("%-46s %14.0f%s\n", "fount keygen_sym_generate (a key in secmem)", alloc,
	       r2 ? " (failed)" : "");
	printf("%-46s %14.0f%s\n", "fount keygen_sym_fill, prediction resistance", pr,
	       r3 ? " (failed)" : "");
	printf("%-46s %14.0f%s\n", "OpenSSL RAND_priv_bytes_ex (same libctx)", rb, r4 ? " (failed)" : "");
	printf("target >= 1,000,000/s: keygen_sym_fill %s (%.2fx RAND_priv_bytes), "
	       "keygen_sym_generate %s (%.2fx keygen_sym_fill)\n\n",
	       fill >= 1e6 ? "met" : "NOT met", fill / rb, alloc >= 1e6 ? "met" : "NOT met",
	       alloc / fill);

	EVP_CIPHER *c = EVP_CIPHER_fetch(keygen_libctx(), "AES-256-WRAP", NULL);
	err_t r5 = ERR_OK, r6 = ERR_OK;
	double w = rate_of(fount_kw, NULL, seconds, &r1);
	double e = c != NULL ? rate_of(evp_kw, c, seconds, &r3) : 0;
	double u = rate_of(fount_kw_unwrap, NULL, seconds, &r2);
	double un = rate_of(fount_kw_unwrap_new, NULL, seconds, &r5);
	double eu = c != NULL ? rate_of(evp_kw_unwrap, c, seconds, &r6) : 0;
	printf("%-46s %14s\n", "AES-256 KW of a 32-byte key", "calls/s");
	printf("%-46s %14.0f%s\n", "fount keygen_aes_wrap", w, r1 ? " (failed)" : "");
	printf("%-46s %14.0f%s\n", "EVP AES-256-WRAP wrap (cipher fetched once)", e,
	       r3 ? " (failed)" : "");
	printf("%-46s %14.0f%s\n", "fount keygen_aes_unwrap (32-byte buffer)", u,
	       r2 ? " (failed)" : "");
	printf("%-46s %14.0f%s\n", "fount unwrap into a new secmem buffer", un,
	       r5 ? " (failed)" : "");
	printf("%-46s %14.0f%s\n", "EVP AES-256-WRAP unwrap (cipher fetched once)", eu,
	       r6 ? " (failed)" : "");
	printf("fount / EVP: wrap %.2fx, unwrap %.2fx, unwrap into new secmem %.2fx\n\n",
	       e > 0 ? w / e : 0, eu > 0 ? u / eu : 0, eu > 0 ? un / eu : 0);
	EVP_CIPHER_free(c);
	secmem_free(keybuf, 32);
	keybuf = NULL;
}

void bench_keys_sym(double seconds)
{
	printf("key generation: fount vs OpenSSL (%s)\n", keygen_provider_name());
	bench_sym_and_wrap(seconds);
}

void bench_keys(double seconds)
{
	printf("key generation: fount vs OpenSSL EVP_PKEY_generate (%s)\n", keygen_provider_name());
	bench_sym_and_wrap(seconds);
	bench_pairs(seconds);
}
