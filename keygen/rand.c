/* keygen/rand.c — where the randomness of OpenSSL's own key generation
 * comes from, in both modes.
 *
 * Default mode (`[crypto] fips = off`): fount registers a built-in provider,
 * "fount", offering one EVP_RAND, "FOUNT-DRBG", whose generate is
 * drbg_generate (drbg_generate_pr when prediction resistance is asked), and
 * makes it the DRBG *and* the seed source of fount's library context
 * (RAND_set_DRBG_type, RAND_set_seed_source_type; rand_lib.c creates the
 * primary/public/private DRBGs lazily from those names). We chose "the
 * DRBG" over "the seed source" because with fount only as the seed source
 * OpenSSL's own CTR-DRBG would sit between the health-tested pipeline and
 * the key (reseeding only every 2^16 requests or 7 minutes); as the DRBG,
 * every byte EVP_PKEY_generate draws (RAND_priv_bytes_ex on the library
 * context) is a drbg_generate output at the moment of the request. The
 * test source (keygen_rand_set_test_seed) proves it: same seed, same key.
 *
 * FIPS mode (`fips = required`): OpenSSL 3.0's FIPS provider never uses the
 * library context's DRBGs for its own operations. It keeps a private
 * library context inside the module (providers/fips/fipsprov.c,
 * OSSL_provider_init) whose DRBG tree has no parent: the primary takes its
 * entropy through the continuous RNG test (providers/implementations/rands/
 * crngt.c) from the core's get_entropy upcall (providers/common/
 * provider_seeding.c), which libcrypto 3.0 answers from the operating
 * system (crypto/rand/prov_seed.c, ossl_rand_get_entropy). Neither
 * RAND_set_seed_source_type, RAND_add nor EVP_RAND_reseed on fount's
 * library context reaches those DRBGs in 3.0. So fount loads the unmodified
 * fips.so as a built-in provider whose init function is the module's own
 * OSSL_provider_init, called with the core's dispatch table except for
 * OSSL_FUNC_GET_ENTROPY/CLEANUP_ENTROPY, which fount answers with
 * full-entropy seeds from its SP 800-90B health-tested pipeline
 * (entropy_get_seed), and OSSL_FUNC_CORE_GET_PARAMS, which adds the module's
 * file name so the module's own integrity check still runs. The get_entropy
 * upcall is the interface the FIPS module defines for entropy from outside
 * its boundary; the module's DRBG, its CRNG test and its self-tests are
 * untouched. */
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include <openssl/core.h>
#include <openssl/crypto.h>

#include "entropy/entropy.h"
#include "keygen/internal.h"

/* ---- the source: fount's DRBG tree, or a test source --------------------*/

static pthread_mutex_t test_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool test_active;      /* the hot path reads only this */
static struct ctr_drbg *test_drbg;   /* under test_lock */
static bool test_fail;               /* under test_lock */
static atomic_uint_fast64_t fips_upcalls;

static err_t test_generate(uint8_t *out, size_t len)
{
	err_t r = ERR_ENTROPY_READ;
	pthread_mutex_lock(&test_lock);
	if (test_fail || test_drbg == NULL)
		goto out;
	for (size_t off = 0; off < len;) {
		size_t n = len - off > CTR_DRBG_MAX_REQUEST ? CTR_DRBG_MAX_REQUEST : len - off;
		GUARD_GOTO(ctr_drbg_generate(test_drbg, out + off, n, NULL, 0));
		off += n;
	}
	r = ERR_OK;
out:
	pthread_mutex_unlock(&test_lock);
	return r;
}

/* source_generate is the one place OpenSSL's randomness is drawn from. */
static err_t source_generate(uint8_t *out, size_t len, bool prediction_resistance)
{
	if (atomic_load(&test_active))
		return test_generate(out, len);
	return prediction_resistance ? drbg_generate_pr(out, len) : drbg_generate(out, len);
}

err_t keygen_rand_set_test_seed(const uint8_t seed[static 32])
{
	static const uint8_t nonce[16] = "fount-test-seed";
	err_t r = ERR_INTERNAL;
	struct ctr_drbg *d = NULL;

	GUARD_GOTO(ctr_drbg_new(&d));
	GUARD_GOTO(ctr_drbg_instantiate(d, seed, 32, nonce, sizeof(nonce), NULL, 0));
	pthread_mutex_lock(&test_lock);
	ctr_drbg_free(test_drbg);
	test_drbg = d;
	d = NULL; /* transferred */
	test_fail = false;
	atomic_store(&test_active, true);
	pthread_mutex_unlock(&test_lock);
	r = ERR_OK;
out:
	ctr_drbg_free(d);
	return r;
}

void keygen_rand_set_test_failure(void)
{
	pthread_mutex_lock(&test_lock);
	ctr_drbg_free(test_drbg);
	test_drbg = NULL;
	test_fail = true;
	atomic_store(&test_active, true);
	pthread_mutex_unlock(&test_lock);
}

void keygen_rand_clear_test_source(void)
{
	pthread_mutex_lock(&test_lock);
	atomic_store(&test_active, false);
	ctr_drbg_free(test_drbg);
	test_drbg = NULL;
	test_fail = false;
	pthread_mutex_unlock(&test_lock);
}

err_t keygen_rand_kat_begin(void)
{
	/* a fixed, public seed: the KATs check algorithms, not randomness */
	static const uint8_t kat_seed[32] = "fount power-on KAT randomness";
	if (keygen_fips_mode())
		return ERR_OK;
	return keygen_rand_set_test_seed(kat_seed);
}

void keygen_rand_kat_end(void)
{
	if (!keygen_fips_mode())
		keygen_rand_clear_test_source();
}

uint64_t keygen_rand_fips_upcalls_for_test(void)
{
	return atomic_load(&fips_upcalls);
}

/* ---- default mode: the "fount" provider and its EVP_RAND ----------------
 * The EVP_RAND interface is provider-rand(7). Every instance (OpenSSL makes
 * a primary, and a public and a private per thread) is a stateless window
 * onto fount's DRBG tree, which does its own reseeding and locking. */

struct fount_rand {
	int state; /* EVP_RAND_STATE_* */
};

static OSSL_FUNC_rand_newctx_fn fr_newctx;
static OSSL_FUNC_rand_freectx_fn fr_freectx;
static OSSL_FUNC_rand_instantiate_fn fr_instantiate;
static OSSL_FUNC_rand_uninstantiate_fn fr_uninstantiate;
static OSSL_FUNC_rand_generate_fn fr_generate;
static OSSL_FUNC_rand_reseed_fn fr_reseed;
static OSSL_FUNC_rand_enable_locking_fn fr_enable_locking;
static OSSL_FUNC_rand_lock_fn fr_lock;
static OSSL_FUNC_rand_unlock_fn fr_unlock;
static OSSL_FUNC_rand_gettable_ctx_params_fn fr_gettable_ctx_params;
static OSSL_FUNC_rand_get_ctx_params_fn fr_get_ctx_params;

static void *fr_newctx(void *provctx, void *parent, const OSSL_DISPATCH *parent_calls)
{
	/* the parent OpenSSL passes (the primary, or a seed source) is not
	 * used: every instance draws from fount's tree directly */
	UNUSED(provctx);
	UNUSED(parent);
	UNUSED(parent_calls);
	struct fount_rand *fr = OPENSSL_zalloc(sizeof(*fr));
	if (fr != NULL)
		fr->state = EVP_RAND_STATE_UNINITIALISED;
	return fr;
}

static void fr_freectx(void *vctx)
{
	OPENSSL_free(vctx);
}

static int fr_instantiate(void *vctx, unsigned int strength, int prediction_resistance,
			  const unsigned char *pstr, size_t pstr_len,
			  const OSSL_PARAM params[])
{
	struct fount_rand *fr = vctx;
	UNUSED(prediction_resistance);
	UNUSED(pstr);
	UNUSED(pstr_len);
	UNUSED(params);
	if (strength > 256)
		return 0;
	fr->state = EVP_RAND_STATE_READY;
	return 1;
}

static int fr_uninstantiate(void *vctx)
{
	struct fount_rand *fr = vctx;
	fr->state = EVP_RAND_STATE_UNINITIALISED;
	return 1;
}

static int fr_generate(void *vctx, unsigned char *out, size_t outlen,
		       unsigned int strength, int prediction_resistance,
		       const unsigned char *adin, size_t adin_len)
{
	struct fount_rand *fr = vctx;
	/* OpenSSL's key generation passes no additional input; fount's DRBG
	 * takes its own (RDRAND/getrandom) on every reseed */
	UNUSED(adin);
	UNUSED(adin_len);
	if (fr->state != EVP_RAND_STATE_READY || strength > 256)
		return 0;
	return source_generate(out, outlen, prediction_resistance != 0) == ERR_OK;
}

static int fr_reseed(void *vctx, int prediction_resistance, const unsigned char *ent,
		     size_t ent_len, const unsigned char *adin, size_t adin_len)
{
	/* fount's tree reseeds on its own schedule and for every
	 * prediction-resistant generate; a caller's reseed request is granted
	 * by the next drbg_generate_pr */
	UNUSED(vctx);
	UNUSED(prediction_resistance);
	UNUSED(ent);
	UNUSED(ent_len);
	UNUSED(adin);
	UNUSED(adin_len);
	return 1;
}

static int fr_enable_locking(void *vctx)
{
	UNUSED(vctx);
	return 1; /* the tree has its own locking */
}

static int fr_lock(void *vctx)
{
	UNUSED(vctx);
	return 1;
}

static void fr_unlock(void *vctx)
{
	UNUSED(vctx);
}

static const OSSL_PARAM *fr_gettable_ctx_params(void *vctx, void *provctx)
{
	static const OSSL_PARAM gettable[] = {
		OSSL_PARAM_int(OSSL_RAND_PARAM_STATE, NULL),
		OSSL_PARAM_uint(OSSL_RAND_PARAM_STRENGTH, NULL),
		OSSL_PARAM_size_t(OSSL_RAND_PARAM_MAX_REQUEST, NULL),
		OSSL_PARAM_END,
	};
	UNUSED(vctx);
	UNUSED(provctx);
	return gettable;
}

static int fr_get_ctx_params(void *vctx, OSSL_PARAM params[])
{
	struct fount_rand *fr = vctx;
	OSSL_PARAM *p;

	p = OSSL_PARAM_locate(params, OSSL_RAND_PARAM_STATE);
	if (p != NULL && !OSSL_PARAM_set_int(p, fr->state))
		return 0;
	/* AES-256 CTR_DRBG: 256-bit security strength (SP 800-90A Table 3) */
	p = OSSL_PARAM_locate(params, OSSL_RAND_PARAM_STRENGTH);
	if (p != NULL && !OSSL_PARAM_set_uint(p, 256))
		return 0;
	/* drbg_generate chunks by itself; EVP splits requests at this size */
	p = OSSL_PARAM_locate(params, OSSL_RAND_PARAM_MAX_REQUEST);
	if (p != NULL && !OSSL_PARAM_set_size_t(p, CTR_DRBG_MAX_REQUEST))
		return 0;
	return 1;
}

static const OSSL_DISPATCH fount_rand_functions[] = {
	{OSSL_FUNC_RAND_NEWCTX, (void (*)(void))fr_newctx},
	{OSSL_FUNC_RAND_FREECTX, (void (*)(void))fr_freectx},
	{OSSL_FUNC_RAND_INSTANTIATE, (void (*)(void))fr_instantiate},
	{OSSL_FUNC_RAND_UNINSTANTIATE, (void (*)(void))fr_uninstantiate},
	{OSSL_FUNC_RAND_GENERATE, (void (*)(void))fr_generate},
	{OSSL_FUNC_RAND_RESEED, (void (*)(void))fr_reseed},
	{OSSL_FUNC_RAND_ENABLE_LOCKING, (void (*)(void))fr_enable_locking},
	{OSSL_FUNC_RAND_LOCK, (void (*)(void))fr_lock},
	{OSSL_FUNC_RAND_UNLOCK, (void (*)(void))fr_unlock},
	{OSSL_FUNC_RAND_GETTABLE_CTX_PARAMS, (void (*)(void))fr_gettable_ctx_params},
	{OSSL_FUNC_RAND_GET_CTX_PARAMS, (void (*)(void))fr_get_ctx_params},
	{0, NULL},
};

static const OSSL_ALGORITHM fount_rands[] = {
	{KEYGEN_RAND_NAME, "provider=fount", fount_rand_functions,
	 "fount's health-tested CTR_DRBG tree"},
	{NULL, NULL, NULL, NULL},
};

static const OSSL_ALGORITHM *fount_query(void *provctx, int operation_id, int *no_cache)
{
	UNUSED(provctx);
	*no_cache = 0;
	return operation_id == OSSL_OP_RAND ? fount_rands : NULL;
}

static const OSSL_DISPATCH fount_provider_functions[] = {
	{OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))fount_query},
	{0, NULL},
};

static int fount_provider_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
			       const OSSL_DISPATCH **out, void **provctx)
{
	static int fount_provctx; /* no per-instance state */
	UNUSED(handle);
	UNUSED(in);
	*out = fount_provider_functions;
	*provctx = &fount_provctx;
	return 1;
}

err_t keygen_rand_install_default(OSSL_LIB_CTX *libctx, OSSL_PROVIDER **out)
{
	err_t r = ERR_CRYPTO;
	OSSL_PROVIDER *p = NULL;

	*out = NULL;
	ENSURE_GOTO(OSSL_PROVIDER_add_builtin(libctx, "fount", fount_provider_init) == 1,
		    ERR_CRYPTO);
	p = OSSL_PROVIDER_load(libctx, "fount");
	ENSURE_GOTO(p != NULL, ERR_CRYPTO);
	/* Both must come before the context's first random byte: rand_lib.c
	 * reads them when it creates the primary (RAND_set_DRBG_type(3)). The
	 * seed source too, so OpenSSL's RAND in this context never reads the
	 * operating system's pool behind fount's back. */
	ENSURE_GOTO(RAND_set_DRBG_type(libctx, KEYGEN_RAND_NAME, "provider=fount", NULL, NULL) == 1,
		    ERR_CRYPTO);
	ENSURE_GOTO(RAND_set_seed_source_type(libctx, KEYGEN_RAND_NAME, "provider=fount") == 1,
		    ERR_CRYPTO);
	*out = p;
	p = NULL; /* transferred: unloading it would deactivate it */
	r = ERR_OK;
out:
	if (p != NULL)
		(void)OSSL_PROVIDER_unload(p);
	if (r != ERR_OK)
		log_error("cannot register fount's DRBG with OpenSSL");
	return r;
}

/* ---- FIPS mode: fount answers the FIPS module's get_entropy upcall -------*/

static pthread_mutex_t fips_lock = PTHREAD_MUTEX_INITIALIZER;
static void *fips_dso;                       /* never closed: see below */
static OSSL_provider_init_fn *fips_module_init;
static OSSL_FUNC_core_get_params_fn *core_get_params;
static char fips_module_path[PATH_MAX];
static OSSL_DISPATCH fips_in[128];           /* the core's table, amended */

/* fips_source fills |out| with full-entropy seed material straight from
 * the entropy pipeline: HMAC-SHA-256 over SP 800-90B health-tested samples
 * (entropy_get_seed), the same input fount's own primary DRBG gets. Seed
 * material is not output, so it is not behind the DRBG tree's gate: the
 * FIPS module's DRBG can seed while the power-on KATs run, and every
 * output path (key generation, wrapping, random bytes) checks the gate
 * itself. Only the failure test hook is honoured here; a test seed never
 * reaches the module's DRBG, which would keep it. */
static err_t fips_source(uint8_t *out, size_t len)
{
	if (atomic_load(&test_active)) {
		pthread_mutex_lock(&test_lock);
		bool fail = test_fail;
		pthread_mutex_unlock(&test_lock);
		if (fail)
			return ERR_ENTROPY_READ;
	}
	for (size_t off = 0; off < len;) {
		size_t n = len - off < ENTROPY_SEED_MAX ? len - off : ENTROPY_SEED_MAX;
		GUARD(entropy_get_seed(out + off, n));
		off += n;
	}
	return ERR_OK;
}

/* fips_get_entropy answers OSSL_FUNC_GET_ENTROPY (provider-base(7)):
 * |entropy| bits in |min_len|..|max_len| bytes, from fips_source. */
static size_t fips_get_entropy(const OSSL_CORE_HANDLE *handle, unsigned char **pout,
			       int entropy, size_t min_len, size_t max_len)
{
	size_t n = entropy > 0 ? ((size_t)entropy + 7) / 8 : 0;
	uint8_t *buf;

	UNUSED(handle);
	if (n < min_len)
		n = min_len;
	if (n == 0 || n > max_len || n > CTR_DRBG_MAX_REQUEST)
		return 0;
	/* seed material: locked, guard-paged, wiped (OpenSSL's secure heap is
	 * ordinary heap unless CRYPTO_secure_malloc_init ran) */
	buf = secmem_alloc(n, NULL);
	if (buf == NULL)
		return 0;
	if (fips_source(buf, n) != ERR_OK) {
		/* fail closed: the FIPS DRBG cannot (re)seed, so no key is made */
		secmem_free(buf, n);
		return 0;
	}
	atomic_fetch_add(&fips_upcalls, 1);
	*pout = buf;
	return n;
}

static void fips_cleanup_entropy(const OSSL_CORE_HANDLE *handle, unsigned char *buf,
				 size_t len)
{
	UNUSED(handle);
	secmem_free(buf, len); /* len is what fips_get_entropy returned */
}

/* fips_core_get_params passes the core's answer through and adds the
 * module's file name, which libcrypto gives only for modules it loaded
 * itself (crypto/provider_core.c, core_get_params). The FIPS module
 * HMACs that file against fipsmodule.cnf's module-mac at every load. */
static int fips_core_get_params(const OSSL_CORE_HANDLE *handle, OSSL_PARAM params[])
{
	OSSL_PARAM *p;

	if (core_get_params(handle, params) != 1)
		return 0;
	p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_CORE_MODULE_FILENAME);
	if (p != NULL && OSSL_PARAM_set_utf8_ptr(p, fips_module_path) != 1)
		return 0;
	return 1;
}

static int fips_provider_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
			      const OSSL_DISPATCH **out, void **provctx)
{
	size_t n = 0;
	int ok = 0;

	pthread_mutex_lock(&fips_lock);
	for (; in->function_id != 0; in++) {
		if (n + 1 >= ARRAY_SIZE(fips_in))
			goto out;
		fips_in[n] = *in;
		switch (in->function_id) {
		case OSSL_FUNC_GET_ENTROPY:
			fips_in[n].function = (void (*)(void))fips_get_entropy;
			break;
		case OSSL_FUNC_CLEANUP_ENTROPY:
			fips_in[n].function = (void (*)(void))fips_cleanup_entropy;
			break;
		case OSSL_FUNC_CORE_GET_PARAMS:
			core_get_params = OSSL_FUNC_core_get_params(in);
			fips_in[n].function = (void (*)(void))fips_core_get_params;
			break;
		default:
			break;
		}
		n++;
	}
	fips_in[n] = (OSSL_DISPATCH){0, NULL};
	ok = core_get_params != NULL && fips_module_init(handle, fips_in, out, provctx);
out:
	pthread_mutex_unlock(&fips_lock);
	return ok;
}

err_t keygen_rand_install_fips(OSSL_LIB_CTX *libctx, const char *module_path)
{
	err_t r = ERR_FIPS_UNAVAILABLE;

	pthread_mutex_lock(&fips_lock);
	if (fips_dso == NULL) {
		/* Kept open for the life of the process: the module keeps the
		 * upcalls of its first initialisation in statics and accepts
		 * only the same ones later (provider_seeding.c, set_func). */
		fips_dso = dlopen(module_path, RTLD_NOW | RTLD_LOCAL);
		if (fips_dso == NULL) {
			log_error("cannot load %s: %s", module_path, dlerror());
			goto out;
		}
		/* POSIX dlsym returns an object pointer; the cast is the
		 * documented way to get a function pointer from it */
		*(void **)&fips_module_init = dlsym(fips_dso, "OSSL_provider_init");
		ENSURE_GOTO(fips_module_init != NULL, ERR_FIPS_UNAVAILABLE);
		snprintf(fips_module_path, sizeof(fips_module_path), "%s", module_path);
	} else if (strcmp(fips_module_path, module_path) != 0) {
		log_error("the FIPS provider is already loaded from %s", fips_module_path);
		goto out;
	}
	ENSURE_GOTO(OSSL_PROVIDER_add_builtin(libctx, "fips", fips_provider_init) == 1,
		    ERR_CRYPTO);
	r = ERR_OK;
out:
	pthread_mutex_unlock(&fips_lock);
	return r;
}

/* ---- before each key generation ------------------------------------------*/

err_t keygen_rand_mix(void)
{
	uint8_t probe[32];
	ENSURE(keygen_libctx() != NULL, ERR_NOT_OPERATIONAL);
	/* Fails while fount's pipeline cannot deliver (gate shut, DRBG or
	 * sources failed): then no key generation starts. In default mode
	 * OpenSSL draws every byte of the key from fount at generation; in
	 * FIPS mode the module's own DRBGs, which EVP_PKEY_generate uses, take
	 * their entropy from fips_get_entropy whenever they (re)seed. (The
	 * library context's RAND_get0_primary/public/private DRBGs are not in
	 * the path of any key, so reseeding them would only cost time.) */
	err_t r = source_generate(probe, sizeof(probe), false);
	secure_zero(probe, sizeof(probe));
	return r;
}
