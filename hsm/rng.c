/* hsm/rng.c — the HSM's random number generator: seeding it from fount's
 * DRBG (C_SeedRandom) and drawing from it (C_GenerateRandom) as an
 * additional-input entropy source (PKCS#11 v2.40 base §5.15). */
#include <stdio.h>
#include <string.h>

#include "entropy/entropy.h"
#include "hsm/internal.h"
#include "keygen/keygen.h"

CSP_USE("Entropy input", "the HSM's C_GenerateRandom bytes, mixed into the DRBGs as additional input only (never credited)");

struct buf_args {
	uint8_t *p;
	size_t len;
};

static CK_RV op_seed(struct hsm *h, CK_SESSION_HANDLE s, void *arg)
{
	struct buf_args *b = arg;
	return h->fn->C_SeedRandom(s, b->p, (CK_ULONG)b->len);
}

static CK_RV op_random(struct hsm *h, CK_SESSION_HANDLE s, void *arg)
{
	struct buf_args *b = arg;
	return h->fn->C_GenerateRandom(s, b->p, (CK_ULONG)b->len);
}

err_t hsm_seed(struct hsm *h, const uint8_t *seed, size_t len)
{
	ENSURE(len >= 1 && len <= HSM_RANDOM_MAX, ERR_INVALID_ARG);
	struct buf_args b = {(uint8_t *)(uintptr_t)seed, len};
	err_t r = hsm_run(h, op_seed, &b, "C_SeedRandom");
	/* CKR_RANDOM_SEED_NOT_SUPPORTED and CKR_FUNCTION_NOT_SUPPORTED both
	 * map to ERR_HSM_NOT_SUPPORTED: the token's answer, not a fault */
	return r;
}

err_t hsm_seed_from_drbg(struct hsm *h, size_t len)
{
	enum { CHUNK = 4096 };
	err_t r = ERR_INTERNAL;
	uint8_t *buf = secmem_alloc(CHUNK, &r);
	if (buf == NULL)
		return r;
	for (size_t done = 0; done < len;) {
		size_t n = len - done < CHUNK ? len - done : CHUNK;
		GUARD_GOTO(drbg_generate(buf, n));
		GUARD_GOTO(hsm_seed(h, buf, n));
		done += n;
	}
	r = ERR_OK;
out:
	secmem_free(buf, CHUNK); /* the seed was fount's DRBG output: wipe it */
	return r;
}

err_t hsm_random(struct hsm *h, uint8_t *out, size_t len)
{
	ENSURE(len <= HSM_RANDOM_MAX, ERR_INVALID_ARG);
	if (len == 0)
		return ERR_OK;
	struct buf_args b = {out, len};
	return hsm_run(h, op_random, &b, "C_GenerateRandom");
}

/* ---- entropy source -------------------------------------------------------- */

static err_t rng_probe(void *ctx)
{
	uint8_t a[32], b[32];
	struct hsm *h = ctx;
	err_t r = hsm_random(h, a, sizeof(a));
	if (r == ERR_OK)
		r = hsm_random(h, b, sizeof(b));
	if (r != ERR_OK)
		return ERR_ENTROPY_NO_SOURCE;
	/* a stuck generator repeats itself */
	r = ct_memeq(a, b, sizeof(a)) ? ERR_ENTROPY_STARTUP : ERR_OK;
	secure_zero(a, sizeof(a));
	secure_zero(b, sizeof(b));
	return r;
}

static err_t rng_read(void *ctx, uint8_t *out, size_t n)
{
	struct hsm *h = ctx;
	/* This runs under the DRBG tree's and the entropy pipeline's locks,
	 * and additional input is optional: when every session is busy, skip
	 * the HSM this time rather than hold every reseed behind it. (A single
	 * C_GenerateRandom that hangs still would: PKCS#11 has no timeout.) */
	pthread_mutex_lock(&h->lock);
	bool busy = h->connected && h->nbusy >= h->pool_size;
	pthread_mutex_unlock(&h->lock);
	if (busy)
		return ERR_ENTROPY_READ;
	while (n > 0) {
		size_t k = n < HSM_RANDOM_MAX ? n : HSM_RANDOM_MAX;
		if (hsm_random(h, out, k) != ERR_OK)
			return ERR_ENTROPY_READ;
		out += k;
		n -= k;
	}
	return ERR_OK;
}

err_t hsm_register_rng(struct hsm *h)
{
	snprintf(h->rng_name, sizeof(h->rng_name), "hsm%s%s", h->name[0] ? "." : "", h->name);
	const struct entropy_source src = {
		.name = h->rng_name,
		.credited = false, /* an HSM's RNG is not health-tested by fount */
		.bits = 8,
		.h = 0,
		.probe = rng_probe,
		.read = rng_read,
		.ctx = h,
	};
	GUARD(rng_probe(h));
	return entropy_register(&src);
}
