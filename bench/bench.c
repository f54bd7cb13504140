/* bench/bench.c — fount's DRBG tree against its peers in one run: OpenSSL 3
 * RAND_bytes, getrandom(2), and raw AES-256-CTR through EVP (the ceiling:
 * the CTR_DRBG's keystream is exactly that). Then the entropy sources
 * (bench_entropy) and key generation (bench_keys). Usage: bench [seconds_per_case
 * [section]], default 0.3 s and every section; a section is drbg, keys,
 * sym (keys without the key pairs), entropy, hsm, kmip, store, ha, egd or http
 * (`make bench BENCH_ARGS="0.3 keys"`).
 * Timing lives here only, never in the unit tests. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "bench/bench.h"
#include "entropy/entropy.h"
#include "keygen/internal.h"

#define MAX_THREADS 2
#define CHECK_EVERY 16 /* calls between clock reads */

typedef err_t (*gen_fn)(void *state, uint8_t *out, size_t len);

struct impl {
	const char *name;
	gen_fn fn;
	void *(*state_new)(void);
	void (*state_free)(void *);
};

static err_t gen_fount(void *st, uint8_t *out, size_t len)
{
	UNUSED(st);
	return drbg_generate(out, len);
}

static err_t gen_rand_bytes(void *st, uint8_t *out, size_t len)
{
	UNUSED(st);
	return RAND_bytes(out, (int)len) == 1 ? ERR_OK : ERR_CRYPTO;
}

static err_t gen_getrandom(void *st, uint8_t *out, size_t len)
{
	UNUSED(st);
	while (len > 0) {
		ssize_t n = getrandom(out, len, 0);
		if (n <= 0)
			return ERR_SYSTEM;
		out += n;
		len -= (size_t)n;
	}
	return ERR_OK;
}

static void *ctr_new(void)
{
	static const uint8_t key[32] = {1}, iv[16] = {2};
	/* the same provider the DRBG uses, through EVP as an application would */
	EVP_CIPHER *cipher = EVP_CIPHER_fetch(keygen_libctx(), "AES-256-CTR", NULL);
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	if (cipher == NULL || c == NULL || EVP_EncryptInit_ex2(c, cipher, key, iv, NULL) != 1) {
		EVP_CIPHER_CTX_free(c);
		c = NULL;
	}
	EVP_CIPHER_free(cipher); /* the context keeps its own reference */
	return c;
}

static void ctr_free(void *c)
{
	EVP_CIPHER_CTX_free(c);
}

static err_t gen_aes_ctr(void *st, uint8_t *out, size_t len)
{
	int n = 0;
	return EVP_EncryptUpdate(st, out, &n, out, (int)len) == 1 ? ERR_OK : ERR_CRYPTO;
}

static const struct impl impls[] = {
	{"fount drbg_generate", gen_fount, NULL, NULL},
	{"OpenSSL RAND_bytes", gen_rand_bytes, NULL, NULL},
	{"getrandom()", gen_getrandom, NULL, NULL},
	{"AES-256-CTR (EVP)", gen_aes_ctr, ctr_new, ctr_free},
};

struct job {
	const struct impl *im;
	size_t len;
	double seconds;
	pthread_barrier_t *start;
	uint64_t calls;
	uint64_t ns;
	err_t r;
};

static void *job_main(void *arg)
{
	struct job *j = arg;
	uint8_t *buf = calloc(1, j->len);
	void *st = j->im->state_new != NULL ? j->im->state_new() : NULL;
	j->r = buf != NULL && (j->im->state_new == NULL || st != NULL) ? ERR_OK : ERR_NOMEM;
	pthread_barrier_wait(j->start);
	if (j->r == ERR_OK) {
		const uint64_t budget = (uint64_t)(j->seconds * 1e9), t0 = now_ns();
		uint64_t t = t0;
		do {
			for (int i = 0; i < CHECK_EVERY && j->r == ERR_OK; i++)
				j->r = j->im->fn(st, buf, j->len);
			j->calls += CHECK_EVERY;
			t = now_ns();
		} while (t - t0 < budget && j->r == ERR_OK);
		j->ns = t - t0;
	}
	if (st != NULL)
		j->im->state_free(st);
	free(buf);
	return NULL;
}

/* measure returns total calls per second over |threads| threads. */
static double measure(const struct impl *im, size_t len, int threads, double seconds)
{
	pthread_t th[MAX_THREADS];
	struct job jobs[MAX_THREADS];
	pthread_barrier_t start;
	double rate = 0;
	pthread_barrier_init(&start, NULL, (unsigned)threads);
	for (int t = 0; t < threads; t++) {
		jobs[t] = (struct job){.im = im, .len = len, .seconds = seconds, .start = &start};
		if (pthread_create(&th[t], NULL, job_main, &jobs[t]) != 0) {
			fprintf(stderr, "bench: pthread_create failed\n");
			exit(1);
		}
	}
	for (int t = 0; t < threads; t++) {
		pthread_join(th[t], NULL);
		if (jobs[t].r != ERR_OK) {
			fprintf(stderr, "bench: %s failed: %s\n", im->name, err_str(jobs[t].r));
			exit(1);
		}
		rate += (double)jobs[t].calls * 1e9 / (double)jobs[t].ns;
	}
	pthread_barrier_destroy(&start);
	return rate;
}

static bool gate_open(void)
{
	return true;
}

/* want: no section named runs every section */
static bool want(const char *only, const char *section)
{
	return only == NULL || strcmp(only, section) == 0;
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = {32, 4096, 65536, 1 << 20};
	static const char *const size_names[] = {"32 B", "4 KiB", "64 KiB", "1 MiB"};
	double seconds = argc > 1 ? atof(argv[1]) : 0.3;
	const char *only = argc > 2 ? argv[2] : NULL;
	struct config cfg;
	if (seconds <= 0 || seconds > 10)
		seconds = 0.3;
	config_defaults(&cfg);
	{ /* FOUNT_* environment, e.g. FOUNT_CRYPTO_FIPS=off */
		char eb[256];
		if (config_load(&cfg, NULL, false, eb, sizeof(eb)) != ERR_OK) {
			fprintf(stderr, "bench: %s\n", eb);
			return 1;
		}
	}
	secmem_set_mlock(cfg.security_mlock);
	err_t r = keygen_init(&cfg);
	if (r == ERR_OK)
		r = entropy_init(&cfg);
	if (r == ERR_OK)
		r = drbg_tree_init(&cfg);
	if (r != ERR_OK) {
		fprintf(stderr, "bench: setup failed: %s\n", err_str(r));
		return 1;
	}
	drbg_set_gate(gate_open);
	keygen_set_service_gate(gate_open); /* wrapping in the key bench */

	printf("fount DRBG benchmark (%.2f s per case; %s; %s)\n", seconds, keygen_provider_name(),
	       OpenSSL_version(OPENSSL_VERSION));
	printf("NOTE: self-tests are not run in the bench; the DRBG and key-service gates are forced open.\n\n");
	if (want(only, "drbg"))
		printf("%-7s %-3s %-22s %14s %11s\n", "size", "thr", "implementation", "calls/s",
		       "MB/s");
	for (size_t s = 0; s < ARRAY_SIZE(sizes) && want(only, "drbg"); s++) {
		for (int threads = 1; threads <= MAX_THREADS; threads++) {
			double rate[ARRAY_SIZE(impls)];
			for (size_t i = 0; i < ARRAY_SIZE(impls); i++) {
				rate[i] = measure(&impls[i], sizes[s], threads, seconds);
				printf("%-7s %-3d %-22s %14.0f %11.1f\n", size_names[s], threads,
				       impls[i].name, rate[i], rate[i] * (double)sizes[s] / 1e6);
			}
			printf("%-7s %-3d   fount/RAND_bytes = %.2fx   fount/AES-CTR = %.0f%%\n\n",
			       size_names[s], threads, rate[0] / rate[1], 100.0 * rate[0] / rate[3]);
		}
	}
	struct drbg_stats st;
	drbg_stats(&st);
	printf("DRBG tree: %llu primary reseeds, %llu worker reseeds, %llu live workers\n\n",
	       (unsigned long long)st.primary_reseeds, (unsigned long long)st.worker_reseeds,
	       (unsigned long long)st.workers);

	if (want(only, "keys"))
		bench_keys(seconds);
	else if (only != NULL && strcmp(only, "sym") == 0)
		bench_keys_sym(seconds);
	if (want(only, "entropy"))
		bench_entropy(seconds);
	if (want(only, "hsm"))
		bench_hsm(seconds);
	if (want(only, "kmip"))
		bench_kmip(seconds);
	if (want(only, "store"))
		bench_store(seconds);
	if (want(only, "ha"))
		bench_ha(seconds);
	if (want(only, "egd"))
		bench_egd(seconds);
	if (want(only, "http"))
		bench_http(seconds);

	drbg_tree_shutdown();
	entropy_shutdown();
	keygen_shutdown();
	return 0;
}
