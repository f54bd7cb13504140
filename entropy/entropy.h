/* entropy/entropy.h — the one public header of entropy/: noise sources,
 * SP 800-90B health tests, conditioning and raw-sample capture.
 *
 * Every raw sample is one byte holding `bits` (1..8) significant bits, the
 * input format of NIST's SP800-90B_EntropyAssessment tool. Credited sources
 * (RDSEED, jitter) run the Repetition Count and Adaptive Proportion Tests on
 * every raw sample and a 1024-sample start-up test before their first use.
 * Additional-input sources (RDRAND, getrandom, later an HSM) are never
 * credited: their bytes only ever enter a DRBG as additional input.
 *
 * entropy/ never talks to the network and never calls key generation. */
#ifndef FOUNT_ENTROPY_ENTROPY_H
#define FOUNT_ENTROPY_ENTROPY_H

#include "util/util.h"

/* SP 800-90B §4.3 (start-up testing): at least 1024 consecutive samples
 * through the continuous tests before the first output. */
#define ENTROPY_STARTUP_SAMPLES 1024
/* Largest seed entropy_get_seed delivers in one call. */
#define ENTROPY_SEED_MAX 64
/* Full-entropy output: each 256-bit conditioned block is computed from raw
 * samples crediting at least 256 + 64 bits (SP 800-90C §3.3, IG D.K res. 19). */
#define ENTROPY_COND_OUT_BITS 256
#define ENTROPY_COND_EXTRA_BITS 64
#define ENTROPY_MAX_SOURCES 8

/* ---- sources -------------------------------------------------------------
 * A noise source is a table of function pointers, as libsodium's
 * randombytes_implementation. Higher modules (hsm/) register their own with
 * entropy_register; entropy/ never includes them. */
struct entropy_source {
	const char *name;  /* "rdseed", "jitter", "rdrand", "getrandom", ... */
	bool credited;     /* health-tested and counted toward seeds */
	unsigned bits;     /* significant bits per raw sample, 1..8 */
	double h;          /* claimed min-entropy per raw sample (credited only) */
	/* For the SP 800-90B documents (`fount entropy esv`): what the noise
	 * is and where it comes from, the conditions it is meant to run in,
	 * and how the default H was chosen. NULL: not described. */
	const char *noise, *conditions, *h_basis;
	/* probe checks the source works on this host, including a sanity check
	 * on a few outputs (stuck, all-zero, all-one). ERR_ENTROPY_NO_SOURCE if
	 * absent, ERR_ENTROPY_STARTUP if present but broken. */
	err_t (*probe)(void *ctx);
	/* read writes |n| raw samples, one per byte, to |out|. For an
	 * additional-input source, |out| is simply |n| bytes of its output. */
	err_t (*read)(void *ctx, uint8_t *out, size_t n);
	void *ctx;
};

/* The built-in sources. Their `h` is a default; entropy_init sets it from
 * the configuration. */
extern const struct entropy_source entropy_source_rdseed;
extern const struct entropy_source entropy_source_jitter;
extern const struct entropy_source entropy_source_rdrand;
extern const struct entropy_source entropy_source_getrandom;

/* ---- SP 800-90B §4.4 health tests ----------------------------------------*/
struct entropy_health_cutoffs {
	unsigned rct_intermittent; /* §4.4.1: C = 1 + ceil(-log2(alpha) / H) */
	unsigned rct_permanent;    /* the same with alpha^2 */
	unsigned apt_window;       /* §4.4.2: W = 1024 binary, 512 otherwise */
	unsigned apt_intermittent; /* C = 1 + CRITBINOM(W, 2^-H, 1 - alpha) */
	unsigned apt_permanent;    /* the same with alpha^2 */
};

/* entropy_health_cutoffs computes the cutoffs for samples of |bits| bits with
 * claimed min-entropy |h| and intermittent alpha = 2^-|alpha_log2|.
 * ERR_INVALID_ARG if h is not in (0, bits], bits not in 1..8, alpha_log2 not
 * in 1..64, or the RCT cutoff would exceed 10^6 (h absurdly small). An APT
 * cutoff above W (a test that could never fail) is clamped to W. */
err_t entropy_health_cutoffs(struct entropy_health_cutoffs *out, unsigned bits,
			     double h, unsigned alpha_log2) MUST_CHECK;

struct entropy_health {
	struct entropy_health_cutoffs c;
	uint8_t rct_last;
	unsigned rct_count;
	uint8_t apt_first;
	unsigned apt_count;
	unsigned apt_index; /* 0 means the next sample opens a new window */
	uint64_t samples;   /* samples tested since init */
	uint64_t rct_failures, apt_failures; /* intermittent + permanent events */
};

/* entropy_health_init resets |t| to test with cutoffs |c|. */
void entropy_health_init(struct entropy_health *t, const struct entropy_health_cutoffs *c);

/* entropy_health_restart starts a new RCT run and a new APT window at the
 * next sample, keeping the cutoffs and counters. The pipeline calls it
 * after an intermittent failure, once the failing block is discarded: a
 * window that reached its cutoff would otherwise keep failing the fresh
 * samples after it, turning one statistical event (expected once in 2^20
 * windows at alpha = 2^-20) into a run of failures that disables the
 * source. A source that stays bad fails again at once and runs into the
 * retry limit; one that is stuck within a block still reaches the
 * permanent cutoff there. */
void entropy_health_restart(struct entropy_health *t);

/* entropy_health_insert runs both tests on one sample. It returns ERR_OK,
 * ERR_HEALTH_RCT / ERR_HEALTH_APT when an intermittent cutoff is reached, or
 * ERR_HEALTH_RCT_PERMANENT / ERR_HEALTH_APT_PERMANENT when a permanent one
 * is. A run or window that has reached a cutoff keeps reporting it until it
 * ends. */
err_t entropy_health_insert(struct entropy_health *t, uint8_t sample) MUST_CHECK;

/* entropy_health_insert_block tests |n| samples and returns the most severe
 * result (permanent over intermittent over OK). */
err_t entropy_health_insert_block(struct entropy_health *t, const uint8_t *s,
				  size_t n) MUST_CHECK;

/* ---- the pipeline ---------------------------------------------------------*/
/* entropy_init sets up the built-in sources from |cfg|: the credited ones
 * named in [entropy] sources, in that order, then RDRAND and getrandom as
 * additional input. Each credited source is probed and must pass the
 * 1024-sample start-up test. Returns ERR_ENTROPY_EXHAUSTED if no credited
 * source is usable, ERR_CONFIG for an unknown source name. */
err_t entropy_init(const struct config *cfg) MUST_CHECK;

/* entropy_register adds |src| (copied) to the pipeline, after the sources
 * already there. A credited source is probed and start-up tested first. */
err_t entropy_register(const struct entropy_source *src) MUST_CHECK;

/* entropy_shutdown forgets every source and wipes pipeline state. */
void entropy_shutdown(void);

/* entropy_get_seed fills |out| with |len| (<= ENTROPY_SEED_MAX) bytes of
 * full-entropy seed: HMAC-SHA-256 over health-tested raw samples, each
 * 32-byte block crediting >= 320 bits. Draws from the first enabled
 * credited source; an intermittent failure discards the block and retries,
 * a permanent one (or too many intermittent ones in a row) disables the
 * source and moves on to the next. Returns ERR_ENTROPY_EXHAUSTED, and calls
 * the fatal handler, when none is left. Thread-safe. */
err_t entropy_get_seed(uint8_t *out, size_t len) MUST_CHECK;

/* entropy_get_additional fills |out| with |len| bytes from the additional-
 * input sources (RDRAND, getrandom, ...) in turn: the XOR of every one that
 * delivers, so one stuck source cannot spoil the result. Never credited.
 * Fails only if no additional-input source delivers (ERR_ENTROPY_READ), or
 * none is registered (ERR_ENTROPY_NO_SOURCE). */
err_t entropy_get_additional(uint8_t *out, size_t len) MUST_CHECK;

/* entropy_set_fatal_handler registers |fn|, called (once) when the last
 * credited source is disabled. selftest/ uses it to latch the ERROR state. */
void entropy_set_fatal_handler(void (*fn)(err_t why));

/* entropy_raw reads |n| raw samples from the named source (built-in or
 * registered) for offline assessment: no health tests, no conditioning.
 * ERR_ENTROPY_NO_SOURCE if the source is unknown or absent. */
err_t entropy_raw(const char *source, uint8_t *out, size_t n) MUST_CHECK;

/* entropy_conditioned fills |out| with |n| bytes of conditioned output of
 * the registered credited source |source|, block by block through the
 * pipeline's own chain (health tests, HMAC-SHA-256 over
 * entropy_esv_chain's samples per block), for SP 800-90B §3.1.5 data:
 * ERR_ENTROPY_NO_SOURCE when the source is not registered and enabled,
 * else a health or read error as entropy_get_seed would meet it. */
err_t entropy_conditioned(const char *source, uint8_t *out, size_t n) MUST_CHECK;

/* The conditioning chain of a source with |bits| bits and claimed |h| per
 * sample, as the pipeline runs it, and its SP 800-90B §3.1.5.1.2 entropy
 * accounting (vetted HMAC-SHA-256: nw = n_out = 256). */
struct entropy_esv_chain {
	size_t samples;   /* raw samples per conditioned block: ceil((n_out + 64) / h) */
	unsigned n_in;    /* their bits: samples x bits */
	unsigned n_out;   /* 256 */
	unsigned nw;      /* narrowest internal width: 256 */
	double h_in;      /* samples x h */
	long double h_out; /* Output_Entropy(n_in, n_out, nw, h_in) */
	/* how close h_out is to n_out: h_out = (1 - 2^-eps_log2) n_out
	 * (0 when it is not within 0.999 n_out) */
	long double eps_log2;
	bool full_entropy; /* h_in >= n_out + 64 and h_out > 0.999 n_out (IG D.K res. 19) */
};
err_t entropy_esv_chain(unsigned bits, double h, struct entropy_esv_chain *out) MUST_CHECK NONNULL(3);

/* entropy_output_entropy: SP 800-90B §3.1.5.1.2 Output_Entropy(n_in,
 * n_out, nw, h_in), computed from its terms' logarithms (2^n_in is far past
 * a long double); *eps_log2 as in entropy_esv_chain. */
long double entropy_output_entropy(unsigned n_in, unsigned n_out, unsigned nw, double h_in, long double *eps_log2);

/* The health tests as the SP 800-90B documents describe them (section
 * number, what it does, what a failure does); entropy/esv.c. */
struct entropy_health_doc {
	const char *name, *section, *what, *on_failure;
};
extern const struct entropy_health_doc entropy_health_docs[];
extern const size_t entropy_health_docs_n;

/* entropy_source_info: the built-in source |name| (credited or not), NULL
 * for an unknown name */
const struct entropy_source *entropy_source_info(const char *name);

/* entropy_credited_names returns the names [entropy] sources may hold (the
 * built-in credited sources) and sets *out to them. */
size_t entropy_credited_names(const char *const **out) NONNULL(1);

struct ossl_lib_ctx_st; /* OSSL_LIB_CTX */

/* entropy_set_libctx makes the conditioner's HMAC-SHA-256 come from
 * |libctx| (NULL: OpenSSL's default context). keygen_init registers its
 * own context, so in FIPS mode the vetted conditioning function runs in the
 * FIPS module; keygen_shutdown registers NULL before freeing it. */
void entropy_set_libctx(struct ossl_lib_ctx_st *libctx);

/* entropy_conditioner_provider returns the name of the OpenSSL provider
 * whose HMAC-SHA-256 conditions the seeds ("fips", "default", ...), or
 * "none" before the conditioner is set up. */
const char *entropy_conditioner_provider(void);

/* entropy_fork_prepare takes the pipeline lock and entropy_fork_release
 * drops it; keygen's pthread_atfork handlers call them around fork(), after
 * taking the DRBG tree's lock, so a child never inherits the pipeline
 * locked mid-seed. Lock order everywhere: keygen's tree lock (or its
 * library-context lock), then this pipeline lock, then an HSM handle's
 * lock (its RNG as additional input), then hsm/'s module lock. */
void entropy_fork_prepare(void);
void entropy_fork_release(void);

struct entropy_status {
	char name[32];
	bool credited;
	bool enabled;
	unsigned bits;
	double h;
	struct entropy_health_cutoffs cutoffs; /* zero for uncredited sources */
	uint64_t samples_tested;
	uint64_t rct_failures, apt_failures;
	uint64_t bytes_delivered;
	err_t last_error;
};

/* entropy_status writes up to |max| source descriptions to |out| and
 * returns how many sources there are. */
size_t entropy_status(struct entropy_status *out, size_t max);

#endif /* FOUNT_ENTROPY_ENTROPY_H */
