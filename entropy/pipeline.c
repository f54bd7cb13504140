/* entropy/pipeline.c — the source registry, start-up tests, conditioning
 * into full-entropy seeds, failure handling and status. One mutex guards
 * all of it: seeds are drawn rarely (DRBG instantiate/reseed), so a lock on
 * this path costs nothing that matters. */
#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/provider.h>

#include "entropy/internal.h"

CSP_DEFINE("Entropy input", "CSP",
	   "raw noise samples and each conditioned 256-bit block, on the stack of the thread drawing a seed",
	   "read from the credited noise sources (RDSEED, jitter) through the SP 800-90B health tests and HMAC-SHA-256",
	   "never: only into the DRBG's instantiate and reseed",
	   "secure_zero on every buffer as soon as the block is conditioned or discarded");
CSP_DEFINE("Conditioning key", "PSP",
	   "a constant in the code (32 bytes)",
	   "compiled in (SP 800-90B 3.1.5.1.1 allows a fixed key)",
	   "public: it is in the source",
	   "not needed (public)");

#define PIPE_NAME_MAX 32       /* = sizeof(struct entropy_status.name) */
#define PIPE_CHUNK 256         /* raw samples read and tested per step */
#define PIPE_DEFAULT_ALPHA_LOG2 20
#define PIPE_DEFAULT_MAX_RETRIES 8
#define PIPE_ALPHA_LOG2_MAX 64
#define PIPE_BLOCK 32          /* HMAC-SHA-256 output bytes */

STATIC_ASSERT(PIPE_BLOCK * 8 == ENTROPY_COND_OUT_BITS, "one HMAC-SHA-256 block per 256 bits");

struct slot {
	struct entropy_source src; /* src.name points at name[] below */
	char name[PIPE_NAME_MAX];
	bool enabled;
	struct entropy_health health; /* credited only; runs across blocks */
	unsigned intermittent_run;    /* consecutive intermittent failures */
	uint64_t bytes_delivered;
	err_t last_error;
};

static pthread_mutex_t pipe_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	struct slot slots[ENTROPY_MAX_SOURCES];
	size_t n;
	unsigned alpha_log2;
	unsigned max_retries;
	bool inited;      /* entropy_init has run since the last shutdown */
	bool fatal_fired; /* the fatal handler has been called */
	void (*fatal)(err_t why);
	EVP_MAC_CTX *mac; /* keyed HMAC-SHA-256 template, dup'ed per block */
	OSSL_LIB_CTX *libctx; /* where the HMAC comes from (entropy_set_libctx) */
} pipe = {
	.alpha_log2 = PIPE_DEFAULT_ALPHA_LOG2,
	.max_retries = PIPE_DEFAULT_MAX_RETRIES,
};

/* The conditioning key. SP 800-90B §3.1.5.1.1 lets the HMAC key be any
 * fixed value; it is public and carries no entropy, it only makes fount's
 * conditioner its own function. */
static const uint8_t cond_key[32] = "fount entropy conditioner v1....";

static bool is_intermittent(err_t r)
{
	return r == ERR_HEALTH_RCT || r == ERR_HEALTH_APT;
}

static bool is_permanent(err_t r)
{
	return r == ERR_HEALTH_RCT_PERMANENT || r == ERR_HEALTH_APT_PERMANENT;
}

static struct slot *find_slot(const char *name)
{
	for (size_t i = 0; i < pipe.n; i++)
		if (strcmp(pipe.slots[i].name, name) == 0)
			return &pipe.slots[i];
	return NULL;
}

static err_t mac_template(void)
{
	err_t r = ERR_CRYPTO;
	EVP_MAC *mac = NULL;
	EVP_MAC_CTX *ctx = NULL;
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
		OSSL_PARAM_construct_end(),
	};

	if (pipe.mac != NULL)
		return ERR_OK;
	/* keygen's library context once it has registered it (the FIPS
	 * provider's HMAC in FIPS mode); OpenSSL's default one before that */
	mac = EVP_MAC_fetch(pipe.libctx, "HMAC", NULL);
	ENSURE_GOTO(mac != NULL, ERR_CRYPTO);
	ctx = EVP_MAC_CTX_new(mac);
	ENSURE_GOTO(ctx != NULL, ERR_CRYPTO);
	ENSURE_GOTO(EVP_MAC_init(ctx, cond_key, sizeof(cond_key), params) == 1, ERR_CRYPTO);
	pipe.mac = ctx;
	ctx = NULL; /* transferred */
	r = ERR_OK;
out:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac); /* the context holds its own reference */
	return r;
}

/* start_up_once runs one SP 800-90B §4.3 start-up test:
 * ENTROPY_STARTUP_SAMPLES consecutive samples through the continuous
 * tests, none of them used. */
static err_t start_up_once(struct slot *s)
{
	err_t r = ERR_INTERNAL;
	uint8_t buf[PIPE_CHUNK];
	err_t worst = ERR_OK;

	STATIC_ASSERT(ENTROPY_STARTUP_SAMPLES % PIPE_CHUNK == 0, "whole chunks");
	for (size_t done = 0; done < ENTROPY_STARTUP_SAMPLES; done += PIPE_CHUNK) {
		GUARD_GOTO(s->src.read(s->src.ctx, buf, sizeof(buf)));
		const err_t h = entropy_health_insert_block(&s->health, buf, sizeof(buf));
		if (h != ERR_OK && (worst == ERR_OK || is_permanent(h)))
			worst = h;
	}
	r = worst;
out:
	secure_zero(buf, sizeof(buf)); /* raw noise is seed material */
	return r;
}

/* start_up runs the start-up test, and treats an intermittent failure as
 * the pipeline does everywhere else: the samples are discarded (they are
 * never used anyway) and the test runs again on fresh ones, up to
 * max_retries times in a row. A permanent failure (the alpha^2 cutoffs, a
 * source that is really stuck) fails at once. Without the retry one
 * statistical event at start-up disabled the only credited source of a
 * host without RDSEED: on the loaded 2-vCPU dev host that was about one
 * `fount random` in 700, each refusing to run. The failures still count
 * in the source's status. */
static err_t start_up(struct slot *s)
{
	err_t r = ERR_INTERNAL;
	for (unsigned attempt = 1;; attempt++) {
		r = start_up_once(s);
		if (!is_intermittent(r) || attempt >= pipe.max_retries)
			return r;
		log_debug("%s: start-up test: %s; discarded, testing fresh samples (%u of %u)",
			  s->name, err_str(r), attempt, pipe.max_retries);
		entropy_health_restart(&s->health);
	}
}

/* register_locked adds |src| (validated) and, for a credited source, runs
 * the start-up test. A source that is present but fails its probe or the
 * start-up test stays in the table, disabled, so entropy_status shows why. */
static err_t register_locked(const struct entropy_source *src)
{
	err_t r = ERR_INTERNAL;
	struct slot *s = NULL;

	ENSURE_REF(src);
	ENSURE(src->name != NULL && src->read != NULL, ERR_INVALID_ARG);
	ENSURE(src->name[0] != '\0' && strlen(src->name) < PIPE_NAME_MAX, ERR_INVALID_ARG);
	ENSURE(src->bits >= 1 && src->bits <= 8, ERR_INVALID_ARG);
	ENSURE(find_slot(src->name) == NULL, ERR_INVALID_ARG);
	ENSURE(pipe.n < ENTROPY_MAX_SOURCES, ERR_TOO_LARGE);

	s = &pipe.slots[pipe.n];
	*s = (struct slot){0};
	s->src = *src;
	memcpy(s->name, src->name, strlen(src->name) + 1);
	s->src.name = s->name; /* the caller's string need not outlive us */
	if (src->credited) {
		struct entropy_health_cutoffs c;
		GUARD_GOTO(entropy_health_cutoffs(&c, src->bits, src->h, pipe.alpha_log2));
		entropy_health_init(&s->health, &c);
	}
	if (src->probe != NULL) {
		r = src->probe(src->ctx);
		/* absent: not added at all */
		if (r == ERR_ENTROPY_NO_SOURCE)
			goto out;
		if (r != ERR_OK) {
			s->last_error = r;
			pipe.n++; /* present but broken: kept, disabled */
			log_error("%s: probe failed: %s", s->name, err_str(r));
			r = ERR_ENTROPY_STARTUP;
			goto out;
		}
	}
	pipe.n++;
	if (src->credited) {
		r = start_up(s);
		if (r != ERR_OK) {
			s->last_error = r;
			log_error("%s: start-up test failed: %s", s->name, err_str(r));
			r = ERR_ENTROPY_STARTUP;
			goto out;
		}
	}
	s->enabled = true;
	log_debug("%s: registered (%s)", s->name, src->credited ? "credited" : "additional input");
	r = ERR_OK;
out:
	return r;
}

/* draw_block computes one 32-byte conditioned block from fresh raw samples
 * of |s| crediting >= 320 bits (SP 800-90B §3.1.5.1.1 vetted conditioning,
 * h_in >= n_out + 64 for full entropy). Returns a health result or
 * ERR_ENTROPY_READ for the source's failures, ERR_CRYPTO for our own. */
static err_t draw_block(struct slot *s, uint8_t out[PIPE_BLOCK])
{
	err_t r = ERR_INTERNAL;
	uint8_t buf[PIPE_CHUNK];
	EVP_MAC_CTX *ctx = NULL;
	size_t need = entropy_samples_per_block(s->src.h);
	size_t outl = 0;

	GUARD_GOTO(mac_template());
	ctx = EVP_MAC_CTX_dup(pipe.mac);
	/* an allocation failure, not a broken conditioner: ERR_CRYPTO would
	 * latch the module's ERROR state */
	ENSURE_GOTO(ctx != NULL, ERR_NOMEM);
	while (need > 0) {
		const size_t take = need < sizeof(buf) ? need : sizeof(buf);

		/* Every source error counts as a (retryable) read failure: the
		 * retry budget bounds it either way. */
		ENSURE_GOTO(s->src.read(s->src.ctx, buf, take) == ERR_OK, ERR_ENTROPY_READ);
		/* Any health failure discards the whole block: no sample of it
		 * reaches the output. After an intermittent one the tests start
		 * afresh (entropy_health_restart): the retry budget, not a
		 * window that already failed, decides whether the source goes. */
		r = entropy_health_insert_block(&s->health, buf, take);
		if (is_intermittent(r))
			entropy_health_restart(&s->health);
		GUARD_GOTO(r);
		ENSURE_GOTO(EVP_MAC_update(ctx, buf, take) == 1, ERR_CRYPTO);
		need -= take;
	}
	ENSURE_GOTO(EVP_MAC_final(ctx, out, &outl, PIPE_BLOCK) == 1 && outl == PIPE_BLOCK,
		    ERR_CRYPTO);
	r = ERR_OK;
out:
	secure_zero(buf, sizeof(buf));
	EVP_MAC_CTX_free(ctx); /* frees (and cleanses) the HMAC state */
	return r;
}

static struct slot *first_credited(void)
{
	for (size_t i = 0; i < pipe.n; i++)
		if (pipe.slots[i].enabled && pipe.slots[i].src.credited)
			return &pipe.slots[i];
	return NULL;
}

static void disable(struct slot *s, err_t why)
{
	s->enabled = false;
	s->last_error = why;
	log_error("%s: disabled: %s", s->name, err_str(why));
}

err_t entropy_get_seed(uint8_t *out, size_t len)
{
	err_t r = ERR_INTERNAL;
	uint8_t block[PIPE_BLOCK];
	void (*fire)(err_t) = NULL;

	ENSURE_REF(out);
	ENSURE(len <= ENTROPY_SEED_MAX, ERR_TOO_LARGE);
	(void)pthread_mutex_lock(&pipe_lock);
	for (size_t off = 0; off < len;) {
		struct slot *s = first_credited();

		if (s == NULL) {
			/* No credited source left: the module must enter its
			 * error state. Tell selftest/ once, outside the lock. */
			if (!pipe.fatal_fired) {
				pipe.fatal_fired = true;
				fire = pipe.fatal;
			}
			r = ERR_ENTROPY_EXHAUSTED;
			goto out;
		}
		const err_t d = draw_block(s, block);
		if (d == ERR_OK) {
			const size_t take = len - off < PIPE_BLOCK ? len - off : PIPE_BLOCK;
			memcpy(out + off, block, take);
			off += take;
			s->intermittent_run = 0;
			s->bytes_delivered += take;
			continue;
		}
		if (is_intermittent(d) || d == ERR_ENTROPY_READ) {
			/* discard and retry, a bounded number of times in a row */
			s->last_error = d;
			if (++s->intermittent_run >= pipe.max_retries)
				disable(s, d);
			else
				log_warn("%s: intermittent failure %u/%u: %s", s->name,
					 s->intermittent_run, pipe.max_retries, err_str(d));
			continue;
		}
		if (is_permanent(d)) {
			disable(s, d); /* SP 800-90B §4.3: the source must not be used */
			continue;
		}
		r = d; /* our own failure (OpenSSL): not the source's fault */
		goto out;
	}
	r = ERR_OK;
out:
	secure_zero(block, sizeof(block));
	if (r != ERR_OK)
		secure_zero(out, len); /* never hand out a partial seed */
	(void)pthread_mutex_unlock(&pipe_lock);
	if (fire != NULL)
		fire(r);
	return r;
}

err_t entropy_get_additional(uint8_t *out, size_t len)
{
	err_t r = ERR_INTERNAL;
	uint8_t buf[PIPE_CHUNK];
	bool any = false, tried = false;

	ENSURE_REF(out);
	memset(out, 0, len);
	(void)pthread_mutex_lock(&pipe_lock);
	/* XOR of every additional-input source that delivers: one bad source
	 * (RDRAND stuck at all-ones) cannot make the result worse than the
	 * others. */
	for (size_t i = 0; i < pipe.n; i++) {
		struct slot *s = &pipe.slots[i];
		err_t e = ERR_OK;

		if (!s->enabled || s->src.credited)
			continue;
		tried = true;
		for (size_t off = 0; off < len && e == ERR_OK;) {
			const size_t take = len - off < sizeof(buf) ? len - off : sizeof(buf);

			e = s->src.read(s->src.ctx, buf, take);
			if (e != ERR_OK)
				break;
			for (size_t j = 0; j < take; j++)
				out[off + j] ^= buf[j];
			off += take;
		}
		if (e != ERR_OK) {
			s->last_error = e;
			continue;
		}
		s->bytes_delivered += len;
		any = true;
	}
	ENSURE_GOTO(tried, ERR_ENTROPY_NO_SOURCE);
	ENSURE_GOTO(any, ERR_ENTROPY_READ);
	r = ERR_OK;
out:
	secure_zero(buf, sizeof(buf));
	if (r != ERR_OK)
		secure_zero(out, len);
	(void)pthread_mutex_unlock(&pipe_lock);
	return r;
}

err_t entropy_register(const struct entropy_source *src)
{
	(void)pthread_mutex_lock(&pipe_lock);
	const err_t r = register_locked(src);
	(void)pthread_mutex_unlock(&pipe_lock);
	return r;
}

static void reset_locked(void)
{
	secure_zero(pipe.slots, sizeof(pipe.slots)); /* health state included */
	pipe.n = 0;
	pipe.alpha_log2 = PIPE_DEFAULT_ALPHA_LOG2;
	pipe.max_retries = PIPE_DEFAULT_MAX_RETRIES;
	pipe.inited = false;
	pipe.fatal_fired = false;
	EVP_MAC_CTX_free(pipe.mac);
	pipe.mac = NULL;
}

void entropy_set_libctx(struct ossl_lib_ctx_st *libctx)
{
	(void)pthread_mutex_lock(&pipe_lock);
	EVP_MAC_CTX_free(pipe.mac); /* it belongs to the old context */
	pipe.mac = NULL;
	pipe.libctx = libctx;
	/* fetch now, not inside a FIPS module's get_entropy upcall */
	if (libctx != NULL && mac_template() != ERR_OK)
		log_warn("HMAC-SHA-256 unavailable in the registered library context");
	(void)pthread_mutex_unlock(&pipe_lock);
}

const char *entropy_conditioner_provider(void)
{
	const char *name = "none";
	(void)pthread_mutex_lock(&pipe_lock);
	if (pipe.mac != NULL) {
		const OSSL_PROVIDER *p = EVP_MAC_get0_provider(EVP_MAC_CTX_get0_mac(pipe.mac));
		if (p != NULL)
			name = OSSL_PROVIDER_get0_name(p); /* static for the provider's life */
	}
	(void)pthread_mutex_unlock(&pipe_lock);
	return name;
}

void entropy_shutdown(void)
{
	(void)pthread_mutex_lock(&pipe_lock);
	reset_locked();
	(void)pthread_mutex_unlock(&pipe_lock);
}

static const struct entropy_source *const all_builtin[] = {
	&entropy_source_rdseed, &entropy_source_jitter,
	&entropy_source_rdrand, &entropy_source_getrandom,
};

size_t entropy_credited_names(const char *const **out)
{
	static const char *names[ARRAY_SIZE(all_builtin)];
	size_t n = 0;
	for (size_t i = 0; i < ARRAY_SIZE(all_builtin); i++)
		if (all_builtin[i]->credited)
			names[n++] = all_builtin[i]->name;
	*out = names;
	return n;
}

static const struct entropy_source *builtin(const char *name, bool credited_only)
{
	const struct entropy_source *const *all = all_builtin;
	for (size_t i = 0; i < ARRAY_SIZE(all_builtin); i++)
		if (strcmp(all[i]->name, name) == 0 && (all[i]->credited || !credited_only))
			return all[i];
	return NULL;
}

const struct entropy_source *entropy_source_info(const char *name)
{
	return name != NULL ? builtin(name, false) : NULL;
}

err_t entropy_conditioned(const char *source, uint8_t *out, size_t n)
{
	ENSURE(source != NULL && out != NULL, ERR_INVALID_ARG);
	uint8_t block[PIPE_BLOCK];
	err_t r = ERR_OK;
	(void)pthread_mutex_lock(&pipe_lock);
	struct slot *s = find_slot(source);
	if (s == NULL || !s->enabled || !s->src.credited)
		r = ERR_ENTROPY_NO_SOURCE;
	for (size_t done = 0; r == ERR_OK && done < n;) {
		r = draw_block(s, block);
		if (r == ERR_OK) {
			size_t take = n - done < PIPE_BLOCK ? n - done : PIPE_BLOCK;
			memcpy(out + done, block, take);
			done += take;
		}
	}
	(void)pthread_mutex_unlock(&pipe_lock);
	secure_zero(block, sizeof block);
	return r;
}

/* parse_sources splits "rdseed, jitter" into |names| (pointers into |buf|).
 * ERR_CONFIG for an unknown or repeated name, or too many. */
static err_t parse_sources(char *buf, const char *names[], size_t *count)
{
	char *save = NULL;

	*count = 0;
	for (char *tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ' || *tok == '\t')
			tok++;
		size_t l = strlen(tok);
		while (l > 0 && (tok[l - 1] == ' ' || tok[l - 1] == '\t'))
			tok[--l] = '\0';
		if (l == 0)
			continue;
		if (builtin(tok, true) == NULL) {
			log_error("[entropy] sources: unknown source \"%s\"", tok);
			return ERR_CONFIG;
		}
		for (size_t i = 0; i < *count; i++)
			if (strcmp(names[i], tok) == 0)
				return ERR_CONFIG;
		if (*count == ENTROPY_MAX_SOURCES)
			return ERR_CONFIG;
		names[(*count)++] = tok;
	}
	return ERR_OK;
}

void entropy_fork_prepare(void)
{
	(void)pthread_mutex_lock(&pipe_lock);
}

void entropy_fork_release(void)
{
	(void)pthread_mutex_unlock(&pipe_lock);
}

err_t entropy_init(const struct config *cfg)
{
	err_t r = ERR_INTERNAL;
	char buf[sizeof(cfg->entropy_sources) + 1];
	const char *names[ENTROPY_MAX_SOURCES] = {0}; /* -fanalyzer cannot see count bounds it */
	size_t count = 0;

	ENSURE_REF(cfg);
	(void)pthread_mutex_lock(&pipe_lock);
	ENSURE_GOTO(!pipe.inited, ERR_USAGE);
	ENSURE_GOTO(cfg->entropy_alpha_log2 >= 1 && cfg->entropy_alpha_log2 <= PIPE_ALPHA_LOG2_MAX,
		    ERR_CONFIG);
	ENSURE_GOTO(cfg->entropy_max_retries >= 1, ERR_CONFIG);
	memcpy(buf, cfg->entropy_sources, sizeof(cfg->entropy_sources));
	buf[sizeof(buf) - 1] = '\0';
	/* all names checked before any source is touched */
	GUARD_GOTO(parse_sources(buf, names, &count));
	pipe.alpha_log2 = cfg->entropy_alpha_log2;
	pipe.max_retries = cfg->entropy_max_retries;
	/* the conditioner is fetched here, not later inside a FIPS module's
	 * get_entropy upcall (entropy_shutdown dropped it, not the context) */
	if (pipe.libctx != NULL)
		GUARD_GOTO(mac_template());

	for (size_t i = 0; i < count; i++) {
		const struct entropy_source *b = builtin(names[i], true);
		ENSURE_GOTO(b != NULL, ERR_CONFIG); /* parse_sources checked it */
		struct entropy_source src = *b;

		src.h = strcmp(src.name, "rdseed") == 0 ? cfg->entropy_rdseed_h : cfg->entropy_jitter_h;
		const err_t e = register_locked(&src);
		switch (e) {
		case ERR_OK:
			break;
		case ERR_ENTROPY_NO_SOURCE:
			log_warn("%s: configured but absent on this host; skipped", src.name);
			break;
		case ERR_ENTROPY_STARTUP:
			break; /* logged, kept disabled; the next one may do */
		default:
			r = e == ERR_INVALID_ARG ? ERR_CONFIG : e; /* e.g. h > bits */
			goto out;
		}
	}
	/* additional input, never credited */
	if (register_locked(&entropy_source_rdrand) != ERR_OK)
		log_info("rdrand: not available; additional input from getrandom only");
	if (register_locked(&entropy_source_getrandom) != ERR_OK)
		log_warn("getrandom: not available");
	ENSURE_GOTO(first_credited() != NULL, ERR_ENTROPY_EXHAUSTED);
	pipe.inited = true;
	r = ERR_OK;
out:
	if (r != ERR_OK && r != ERR_USAGE)
		reset_locked();
	(void)pthread_mutex_unlock(&pipe_lock);
	return r;
}

void entropy_set_fatal_handler(void (*fn)(err_t why))
{
	(void)pthread_mutex_lock(&pipe_lock);
	pipe.fatal = fn;
	(void)pthread_mutex_unlock(&pipe_lock);
}

err_t entropy_raw(const char *source, uint8_t *out, size_t n)
{
	err_t r = ERR_INTERNAL;
	const struct entropy_source *b = NULL;

	ENSURE(source != NULL && out != NULL, ERR_INVALID_ARG);
	(void)pthread_mutex_lock(&pipe_lock);
	struct slot *s = find_slot(source);
	if (s != NULL) {
		/* raw samples for offline assessment: no tests, no conditioning */
		r = s->src.read(s->src.ctx, out, n);
		(void)pthread_mutex_unlock(&pipe_lock);
		return r;
	}
	(void)pthread_mutex_unlock(&pipe_lock);
	b = builtin(source, false);
	ENSURE_GOTO(b != NULL, ERR_ENTROPY_NO_SOURCE);
	GUARD_GOTO(b->probe(b->ctx));
	GUARD_GOTO(b->read(b->ctx, out, n));
	r = ERR_OK;
out:
	return r;
}

size_t entropy_status(struct entropy_status *out, size_t max)
{
	(void)pthread_mutex_lock(&pipe_lock);
	const size_t n = pipe.n;
	for (size_t i = 0; i < n && i < max && out != NULL; i++) {
		const struct slot *s = &pipe.slots[i];
		struct entropy_status *st = &out[i];

		*st = (struct entropy_status){0};
		memcpy(st->name, s->name, sizeof(st->name));
		st->credited = s->src.credited;
		st->enabled = s->enabled;
		st->bits = s->src.bits;
		st->h = s->src.credited ? s->src.h : 0.0;
		if (s->src.credited)
			st->cutoffs = s->health.c;
		st->samples_tested = s->health.samples;
		st->rct_failures = s->health.rct_failures;
		st->apt_failures = s->health.apt_failures;
		st->bytes_delivered = s->bytes_delivered;
		st->last_error = s->last_error;
	}
	(void)pthread_mutex_unlock(&pipe_lock);
	return n;
}
