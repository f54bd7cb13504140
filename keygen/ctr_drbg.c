/* keygen/ctr_drbg.c — SP 800-90A r1 CTR_DRBG with AES-256 and the
 * derivation function (Block_Cipher_df, §10.3.2).
 *
 * Speed: ctr_len = blocklen = 128 (§10.2.1), so the generate loop of
 * §10.2.1.5.2 step 4 ("V = V + 1; output_block = Block_Encrypt(Key, V)") is
 * exactly an AES-256-CTR keystream that starts at V + 1 with a full 128-bit
 * big-endian counter, and the Update (§10.2.1.2) that follows is the next
 * three blocks of the same keystream. Both come out of one AES-256-CTR
 * context per DRBG, which always holds the current Key (and so never an old
 * one: backtracking resistance holds for the key schedule too). With no
 * additional input the df is skipped: additional_input is then 0^seedlen
 * (§10.2.1.5.2 step 2.2) and XOR with zero is the identity. */
#include <string.h>

#include "keygen/internal.h"

CSP_DEFINE("DRBG internal state", "CSP",
	   "V and Key of each SP 800-90A CTR_DRBG (AES-256), in locked memory (secmem: mlock, MADV_DONTDUMP, wiped on fork)",
	   "instantiated and reseeded from Entropy input (with a nonce and personalization string), additional input from RDRAND, getrandom or an HSM",
	   "never",
	   "ctr_drbg_free overwrites it (secure_zero) before the memory is unlocked; ctr-drbg-zeroize self-test checks it");

struct ctr_drbg {
	uint8_t key[CTR_DRBG_KEY_LEN];
	uint8_t v[CTR_DRBG_BLOCK_LEN];
	uint64_t reseed_counter;
	void *ctr; /* provider AES-256-CTR, keyed with key: keystream and Update */
	void *cbc; /* provider AES-256-CBC: BCC and the final encryptions of the df */
	bool instantiated;
};

/* The df key, 0x00 0x01 ... 0x1f (SP 800-90A 10.3.2 step 8). */
static const uint8_t df_key[CTR_DRBG_KEY_LEN] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
	0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
	0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
};
static const uint8_t zero_block[CTR_DRBG_BLOCK_LEN];
/* Keystream = AES-CTR over zeros; reading one small shared zero buffer
 * (it stays in L1/L2) keeps the output to a single write pass, with no
 * memset of |out| first. */
#define ZEROS_LEN 16384
static const uint8_t zeros[ZEROS_LEN];

struct piece {
	const uint8_t *p;
	size_t len;
};

/* ---- provider cipher calls, in one convention --------------------------------
 * |c| is the context, |ctr| or |cbc|; which cipher it belongs to follows from
 * which field it is, so the calls take the cipher explicitly. */
static err_t aes_init(const struct keygen_cipher *k, void *c, const uint8_t *key,
		      const uint8_t *iv)
{
	return k->einit(c, key, CTR_DRBG_KEY_LEN, iv, CTR_DRBG_BLOCK_LEN, NULL) == 1
		       ? ERR_OK
		       : ERR_CRYPTO;
}

/* aes_update encrypts |in_len| bytes into |out|, which holds at least
 * |in_len| + one block (CBC may release a buffered block). */
static err_t aes_update(const struct keygen_cipher *k, void *c, uint8_t *out,
			size_t *out_len, const uint8_t *in, size_t in_len)
{
	return k->update(c, out, out_len, in_len + CTR_DRBG_BLOCK_LEN, in, in_len) == 1
		       ? ERR_OK
		       : ERR_CRYPTO;
}

#define CTR keygen_aes256_ctr()
#define CBC keygen_aes256_cbc()

/* ---- helpers ---------------------------------------------------------------*/
static void be128_inc(uint8_t v[CTR_DRBG_BLOCK_LEN])
{
	for (int i = CTR_DRBG_BLOCK_LEN - 1; i >= 0; i--)
		if (++v[i] != 0)
			break;
}

static void put_be32(uint8_t *p, uint32_t x)
{
	p[0] = (uint8_t)(x >> 24);
	p[1] = (uint8_t)(x >> 16);
	p[2] = (uint8_t)(x >> 8);
	p[3] = (uint8_t)x;
}

/* cbc_feed runs |len| bytes through the CBC context and keeps the last
 * ciphertext block in |last| (BCC's chaining value, SP 800-90A 10.3.3). */
static err_t cbc_feed(void *c, const uint8_t *in, size_t len,
		      uint8_t last[CTR_DRBG_BLOCK_LEN])
{
	err_t r = ERR_INTERNAL;
	uint8_t buf[256 + CTR_DRBG_BLOCK_LEN];
	while (len > 0) {
		size_t n = len < 256 ? len : 256, got = 0;
		GUARD_GOTO(aes_update(CBC, c, buf, &got, in, n));
		if (got >= CTR_DRBG_BLOCK_LEN)
			memcpy(last, buf + got - CTR_DRBG_BLOCK_LEN, CTR_DRBG_BLOCK_LEN);
		in += n;
		len -= n;
	}
	r = ERR_OK;
out:
	secure_zero(buf, sizeof(buf));
	return r;
}

/* block_cipher_df is Block_Cipher_df (SP 800-90A 10.3.2) with
 * no_of_bits_to_return = seedlen, over the concatenation of |pieces|. */
static err_t block_cipher_df(struct ctr_drbg *d, uint8_t out[CTR_DRBG_SEED_LEN],
			     const struct piece *pieces, size_t num_pieces)
{
	err_t r = ERR_INTERNAL;
	uint8_t temp[CTR_DRBG_SEED_LEN]; /* K || X, 10.3.2 steps 9-10 */
	uint8_t head[CTR_DRBG_BLOCK_LEN + 8];
	uint8_t pad[CTR_DRBG_BLOCK_LEN] = {0x80}; /* 10.3.2 step 4: 0x80, then 0s */
	size_t total = 0;

	for (size_t i = 0; i < num_pieces; i++)
		total += pieces[i].len;
	ENSURE_GOTO(total <= 3 * CTR_DRBG_MAX_INPUT_LEN, ERR_DRBG_INPUT_TOO_LONG);
	/* S = L || N || input_string || 0x80 || 0^k, a whole number of blocks */
	size_t s_len = 8 + total + 1;
	size_t pad_len = 1 + (CTR_DRBG_BLOCK_LEN - s_len % CTR_DRBG_BLOCK_LEN) % CTR_DRBG_BLOCK_LEN;

	/* 10.3.2 step 9: temp = BCC(K, IV_i || S) for i = 0, 1, 2; BCC is a
	 * CBC-MAC, here CBC with a zero IV over IV_i || S, keeping the last
	 * block. */
	for (uint32_t i = 0; i < CTR_DRBG_SEED_LEN / CTR_DRBG_BLOCK_LEN; i++) {
		uint8_t *chain = temp + i * CTR_DRBG_BLOCK_LEN;
		memset(head, 0, sizeof(head));
		put_be32(head, i);                                  /* IV_i */
		put_be32(head + CTR_DRBG_BLOCK_LEN, (uint32_t)total); /* L */
		put_be32(head + CTR_DRBG_BLOCK_LEN + 4, CTR_DRBG_SEED_LEN); /* N */
		GUARD_GOTO(aes_init(CBC, d->cbc, df_key, zero_block));
		GUARD_GOTO(cbc_feed(d->cbc, head, sizeof(head), chain));
		for (size_t j = 0; j < num_pieces; j++)
			GUARD_GOTO(cbc_feed(d->cbc, pieces[j].p, pieces[j].len, chain));
		GUARD_GOTO(cbc_feed(d->cbc, pad, pad_len, chain));
	}
	/* 10.3.2 steps 10-13: X = Block_Encrypt(K, X) three times, which is
	 * CBC under K with IV = X over three zero blocks. */
	size_t got = 0;
	GUARD_GOTO(aes_init(CBC, d->cbc, temp, temp + CTR_DRBG_KEY_LEN));
	GUARD_GOTO(aes_update(CBC, d->cbc, out, &got, zeros, CTR_DRBG_SEED_LEN));
	ENSURE_GOTO(got == CTR_DRBG_SEED_LEN, ERR_CRYPTO);
	r = ERR_OK;
out:
	/* leave only the public df key in the context */
	if (d->cbc != NULL && aes_init(CBC, d->cbc, df_key, zero_block) != ERR_OK)
		r = ERR_CRYPTO;
	secure_zero(temp, sizeof(temp));
	return r;
}

/* keystream writes |out_len| bytes of generate output (may be 0) and the
 * next seedlen bytes of keystream, from V + 1 under Key (SP 800-90A
 * 10.2.1.5.2 step 4 and 10.2.1.2 steps 2-3). The context is already keyed
 * with Key and positioned at V + 1 (finish_update leaves it so), so this is
 * only update calls: one for small requests. */
#define SMALL_REQUEST 256
static err_t keystream(struct ctr_drbg *d, uint8_t *out, size_t out_len,
		       uint8_t next[CTR_DRBG_SEED_LEN])
{
	err_t r = ERR_INTERNAL;
	uint8_t tail[SMALL_REQUEST + CTR_DRBG_SEED_LEN];
	size_t full = out_len & ~(size_t)(CTR_DRBG_BLOCK_LEN - 1);
	size_t rem = out_len - full, got = 0;

	if (out_len <= SMALL_REQUEST) {
		/* output blocks and the Update blocks in one call */
		size_t blocks = full + (rem ? CTR_DRBG_BLOCK_LEN : 0);
		GUARD_GOTO(aes_update(CTR, d->ctr, tail, &got, zeros, blocks + CTR_DRBG_SEED_LEN));
		ENSURE_GOTO(got == blocks + CTR_DRBG_SEED_LEN, ERR_CRYPTO);
		if (out_len > 0)
			memcpy(out, tail, out_len); /* leftmost bits (step 5) */
		memcpy(next, tail + blocks, CTR_DRBG_SEED_LEN);
		r = ERR_OK;
		goto out;
	}
	for (size_t off = 0; off < full; off += got) {
		size_t n = full - off < ZEROS_LEN ? full - off : ZEROS_LEN;
		GUARD_GOTO(aes_update(CTR, d->ctr, out + off, &got, zeros, n));
		ENSURE_GOTO(got == n, ERR_CRYPTO);
	}
	/* the partial last block (leftmost bits, step 5) and the Update blocks */
	size_t tail_off = rem ? CTR_DRBG_BLOCK_LEN : 0;
	GUARD_GOTO(aes_update(CTR, d->ctr, tail, &got, zeros, tail_off + CTR_DRBG_SEED_LEN));
	ENSURE_GOTO(got == tail_off + CTR_DRBG_SEED_LEN, ERR_CRYPTO);
	if (rem)
		memcpy(out + full, tail, rem);
	memcpy(next, tail + tail_off, CTR_DRBG_SEED_LEN);
	r = ERR_OK;
out:
	secure_zero(tail, sizeof(tail));
	return r;
}

/* finish_update ends CTR_DRBG_Update (SP 800-90A 10.2.1.2 steps 4-6):
 * temp ^= provided_data; Key, V = temp; then re-keys the context, at
 * counter V + 1, so it holds no earlier Key and the next keystream call
 * needs no set-up. |provided| NULL stands for 0^seedlen. */
static err_t finish_update(struct ctr_drbg *d, uint8_t temp[CTR_DRBG_SEED_LEN],
			   const uint8_t *provided)
{
	if (provided != NULL)
		for (size_t i = 0; i < CTR_DRBG_SEED_LEN; i++)
			temp[i] ^= provided[i];
	memcpy(d->key, temp, CTR_DRBG_KEY_LEN);
	memcpy(d->v, temp + CTR_DRBG_KEY_LEN, CTR_DRBG_BLOCK_LEN);
	/* temp's V part becomes the first counter block, V + 1 */
	be128_inc(temp + CTR_DRBG_KEY_LEN);
	err_t r = aes_init(CTR, d->ctr, d->key, temp + CTR_DRBG_KEY_LEN);
	secure_zero(temp, CTR_DRBG_SEED_LEN);
	return r;
}

/* update is CTR_DRBG_Update (SP 800-90A 10.2.1.2). */
static err_t update(struct ctr_drbg *d, const uint8_t provided[CTR_DRBG_SEED_LEN])
{
	err_t r = ERR_INTERNAL;
	uint8_t temp[CTR_DRBG_SEED_LEN];
	GUARD_GOTO(keystream(d, NULL, 0, temp));
	GUARD_GOTO(finish_update(d, temp, provided));
	r = ERR_OK;
out:
	secure_zero(temp, sizeof(temp));
	return r;
}

/* ---- the public functions ----------------------------------------------------*/
err_t ctr_drbg_new(struct ctr_drbg **out)
{
	err_t r = ERR_INTERNAL;
	ENSURE_REF(out);
	*out = NULL;
	if (keygen_aes256_ctr() == NULL) {
		log_error("keygen_init has not run");
		return ERR_CRYPTO;
	}
	struct ctr_drbg *d = secmem_alloc(sizeof(*d), &r);
	if (d == NULL)
		return r;
	*out = d; /* zeroed: uninstantiated */
	return ERR_OK;
}

void ctr_drbg_free(struct ctr_drbg *d)
{
	if (d == NULL)
		return;
	ctr_drbg_uninstantiate(d);
	secmem_free(d, sizeof(*d));
}

void ctr_drbg_uninstantiate(struct ctr_drbg *d)
{
	if (d == NULL)
		return;
	/* the providers' freectx cleanses the key schedules */
	if (d->ctr != NULL)
		CTR->freectx(d->ctr);
	if (d->cbc != NULL)
		CBC->freectx(d->cbc);
	secure_zero(d, sizeof(*d)); /* SP 800-90A 9.4 */
}

bool ctr_drbg_is_zero(const struct ctr_drbg *d)
{
	const volatile uint8_t *p = (const volatile uint8_t *)d;
	uint8_t acc = 0;
	for (size_t i = 0; i < sizeof(*d); i++)
		acc |= p[i];
	return acc == 0;
}

uint64_t ctr_drbg_reseed_counter(const struct ctr_drbg *d)
{
	return d != NULL ? d->reseed_counter : 0;
}

void ctr_drbg_set_reseed_counter_for_test(struct ctr_drbg *d, uint64_t n)
{
	d->reseed_counter = n;
}

/* make_contexts creates the two cipher contexts on first instantiate. */
static err_t make_contexts(struct ctr_drbg *d)
{
	static const uint8_t zero_key[CTR_DRBG_KEY_LEN];
	static const uint8_t one[CTR_DRBG_BLOCK_LEN] = {[CTR_DRBG_BLOCK_LEN - 1] = 1};
	if (d->ctr == NULL && (d->ctr = CTR->newctx(CTR->provctx)) == NULL)
		return ERR_NOMEM;
	if (d->cbc == NULL && (d->cbc = CBC->newctx(CBC->provctx)) == NULL)
		return ERR_NOMEM;
	/* SP 800-90A 10.2.1.3.2 steps 4-5: Key = 0^keylen, V = 0^blocklen, so
	 * the keystream starts at counter V + 1 = 1 */
	GUARD(aes_init(CTR, d->ctr, zero_key, one));
	/* only whole blocks pass through BCC, so CBC padding never applies */
	GUARD(aes_init(CBC, d->cbc, df_key, zero_block));
	return ERR_OK;
}

err_t ctr_drbg_instantiate(struct ctr_drbg *d, const uint8_t *entropy,
			   size_t entropy_len, const uint8_t *nonce,
			   size_t nonce_len, const uint8_t *pers, size_t pers_len)
{
	err_t r = ERR_INTERNAL;
	uint8_t seed[CTR_DRBG_SEED_LEN];

	ENSURE_REF(d);
	ENSURE(entropy != NULL && nonce != NULL, ERR_INVALID_ARG);
	ENSURE(pers != NULL || pers_len == 0, ERR_INVALID_ARG);
	/* SP 800-90A 8.4 and Table 3: entropy >= security strength */
	ENSURE(entropy_len >= CTR_DRBG_MIN_ENTROPY_LEN, ERR_DRBG_ENTROPY_TOO_SHORT);
	/* SP 800-90A 8.6.7: nonce >= half the security strength */
	ENSURE(nonce_len >= CTR_DRBG_MIN_NONCE_LEN, ERR_INVALID_ARG);
	/* SP 800-90A 10.2.1.3.2 step 1 (lengths within max_length) */
	ENSURE(entropy_len <= CTR_DRBG_MAX_INPUT_LEN && nonce_len <= CTR_DRBG_MAX_INPUT_LEN &&
		       pers_len <= CTR_DRBG_MAX_INPUT_LEN,
	       ERR_DRBG_INPUT_TOO_LONG);
	ENSURE(keygen_aes256_ctr() != NULL, ERR_CRYPTO);

	/* a new instantiation starts from a clean state */
	void *keep_ctr = d->ctr, *keep_cbc = d->cbc;
	secure_zero(d, sizeof(*d)); /* Key = 0, V = 0 (10.2.1.3.2 steps 4-5) */
	d->ctr = keep_ctr;
	d->cbc = keep_cbc;
	GUARD_GOTO(make_contexts(d));

	/* 10.2.1.3.2 steps 1-2: seed_material = df(entropy || nonce || pers) */
	const struct piece in[] = {{entropy, entropy_len}, {nonce, nonce_len}, {pers, pers_len}};
	GUARD_GOTO(block_cipher_df(d, seed, in, ARRAY_SIZE(in)));
	GUARD_GOTO(update(d, seed)); /* step 6 */
	d->reseed_counter = 1;       /* step 7 */
	d->instantiated = true;
	r = ERR_OK;
out:
	secure_zero(seed, sizeof(seed));
	if (r != ERR_OK)
		ctr_drbg_uninstantiate(d);
	return r;
}

err_t ctr_drbg_reseed(struct ctr_drbg *d, const uint8_t *entropy,
		      size_t entropy_len, const uint8_t *adin, size_t adin_len)
{
	err_t r = ERR_INTERNAL;
	uint8_t seed[CTR_DRBG_SEED_LEN];

	ENSURE_REF(d);
	ENSURE(d->instantiated, ERR_DRBG_UNINSTANTIATED); /* SP 800-90A 9.2 step 2 */
	ENSURE(entropy != NULL, ERR_INVALID_ARG);
	ENSURE(adin != NULL || adin_len == 0, ERR_INVALID_ARG);
	ENSURE(entropy_len >= CTR_DRBG_MIN_ENTROPY_LEN, ERR_DRBG_ENTROPY_TOO_SHORT); /* 9.2 step 6 */
	ENSURE(entropy_len <= CTR_DRBG_MAX_INPUT_LEN && adin_len <= CTR_DRBG_MAX_INPUT_LEN,
	       ERR_DRBG_INPUT_TOO_LONG); /* 9.2 step 4 */

	/* SP 800-90A 10.2.1.4.2 steps 1-2: seed = df(entropy || adin) */
	const struct piece in[] = {{entropy, entropy_len}, {adin, adin_len}};
	GUARD_GOTO(block_cipher_df(d, seed, in, ARRAY_SIZE(in)));
	GUARD_GOTO(update(d, seed)); /* step 3 */
	d->reseed_counter = 1;       /* step 4 */
	r = ERR_OK;
out:
	secure_zero(seed, sizeof(seed));
	if (r != ERR_OK && r != ERR_DRBG_INPUT_TOO_LONG)
		ctr_drbg_uninstantiate(d); /* fail closed: the state is suspect */
	return r;
}

err_t ctr_drbg_generate(struct ctr_drbg *d, uint8_t *out, size_t out_len,
			const uint8_t *adin, size_t adin_len)
{
	err_t r = ERR_INTERNAL;
	uint8_t add[CTR_DRBG_SEED_LEN];
	uint8_t temp[CTR_DRBG_SEED_LEN];
	const uint8_t *provided = NULL;

	ENSURE_REF(d);
	ENSURE(d->instantiated, ERR_DRBG_UNINSTANTIATED); /* SP 800-90A 9.3.1 step 2 */
	ENSURE(out != NULL || out_len == 0, ERR_INVALID_ARG);
	ENSURE(adin != NULL || adin_len == 0, ERR_INVALID_ARG);
	ENSURE(out_len <= CTR_DRBG_MAX_REQUEST, ERR_DRBG_REQUEST_TOO_LARGE); /* 9.3.1 step 3 */
	ENSURE(adin_len <= CTR_DRBG_MAX_INPUT_LEN, ERR_DRBG_INPUT_TOO_LONG);  /* 9.3.1 step 5 */
	/* SP 800-90A 10.2.1.5.2 step 1 */
	ENSURE(d->reseed_counter <= CTR_DRBG_MAX_RESEED_COUNT, ERR_DRBG_RESEED_REQUIRED);

	if (adin_len > 0) {
		/* 10.2.1.5.2 step 2: additional_input = df(adin); Update */
		const struct piece in[] = {{adin, adin_len}};
		GUARD_GOTO(block_cipher_df(d, add, in, ARRAY_SIZE(in)));
		GUARD_GOTO(update(d, add));
		provided = add;
	} /* else step 2.2: additional_input = 0^seedlen, a no-op below */

	GUARD_GOTO(keystream(d, out, out_len, temp)); /* steps 3-5 */
	GUARD_GOTO(finish_update(d, temp, provided)); /* step 6 */
	d->reseed_counter++;                           /* step 7 */
	r = ERR_OK;
out:
	secure_zero(add, sizeof(add));
	secure_zero(temp, sizeof(temp));
	if (r != ERR_OK) {
		if (out != NULL && out_len > 0)
			secure_zero(out, out_len); /* nothing half-made leaves */
		ctr_drbg_uninstantiate(d); /* fail closed */
	}
	return r;
}

err_t ctr_drbg_generate_pr(struct ctr_drbg *d, uint8_t *out, size_t out_len,
			   const uint8_t *entropy, size_t entropy_len,
			   const uint8_t *adin, size_t adin_len)
{
	ENSURE_REF(d);
	ENSURE(d->instantiated, ERR_DRBG_UNINSTANTIATED);
	ENSURE(out_len <= CTR_DRBG_MAX_REQUEST, ERR_DRBG_REQUEST_TOO_LARGE);
	/* SP 800-90A 9.3.1 step 7: reseed with the additional input, then
	 * generate with additional_input = Null (step 7.4) */
	GUARD(ctr_drbg_reseed(d, entropy, entropy_len, adin, adin_len));
	return ctr_drbg_generate(d, out, out_len, NULL, 0);
}
