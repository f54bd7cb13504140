/* keygen/ossl.c — fount's own OpenSSL library context. Every OpenSSL object
 * keygen/ uses is fetched from this context; provider_choose() is the one
 * place the provider is chosen. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/conf.h>

#include "entropy/entropy.h"
#include "keygen/internal.h"

static pthread_mutex_t ossl_lock = PTHREAD_MUTEX_INITIALIZER;
static OSSL_LIB_CTX *libctx;
static OSSL_PROVIDER *provider;
static OSSL_PROVIDER *fount_provider; /* default mode: FOUNT-DRBG */
static EVP_CIPHER *aes256_ctr_evp, *aes256_cbc_evp;
/* AES-{128,192,256}-WRAP and -WRAP-PAD, fetched once: [pad][kek size] */
static EVP_CIPHER *wrap_ciphers[2][3];
/* AES-128/192/256-GCM and -CBC and SHA2-256, fetched once per library
 * context (an EVP_*_fetch is a locked lookup by name: keygen/aead.c ran
 * one per seal, open and digest) */
static EVP_CIPHER *gcm_ciphers[3], *cbc_ciphers[3];
static EVP_MD *sha256_md;
static struct keygen_cipher aes256_ctr, aes256_cbc;
static bool ciphers_ready;
static char provider_name[128] = "(keygen not initialised)";
static struct keygen_provider_info provider_info;
static bool fips_mode;
static char init_error[PATH_MAX + 512];

/* The FIPS module's configuration written by `openssl fipsinstall` is at
 * most a few hundred bytes; anything much larger is not one. */
#define FIPS_CNF_MAX 16384

/* provider_choose names the provider the whole of fount runs on. */
static const char *provider_choose(const struct config *cfg)
{
	return cfg->crypto_fips ? "fips" : "default";
}

static bool is_file(const char *path)
{
	return access(path, R_OK) == 0;
}

/* fips_dir_find resolves the folder holding fips.so and fipsmodule.cnf:
 * the configured one, else <exe dir>/fips, then <exe dir>/../fips (so both
 * build/fount and build/tests/run find build/fips), then where `make
 * install` puts it, <exe dir>/../lib/fount/fips ($(PREFIX)/lib/fount/fips
 * for $(PREFIX)/bin/fount: relative, so a DESTDIR tree or another PREFIX
 * finds its own module without a configured path). */
static bool installed_layout; /* the folder found is <exe dir>/../lib/fount/fips */

static err_t fips_dir_find(const struct config *cfg, char *out, size_t outlen)
{
	char exe[PATH_MAX], cand[PATH_MAX + 32], real[PATH_MAX];
	static const char *const rel[] = {"fips", "../fips", FOUNT_LIBDIR_REL "/fips"};

	installed_layout = false;

	if (cfg->crypto_fips_module_dir[0] != '\0') {
		snprintf(out, outlen, "%s", cfg->crypto_fips_module_dir);
		return ERR_OK;
	}
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return ERR_SYSTEM;
	exe[n] = '\0';
	const char *dir = dirname(exe);
	for (size_t i = 0; i < ARRAY_SIZE(rel); i++) {
		snprintf(cand, sizeof(cand), "%s/%s/fipsmodule.cnf", dir, rel[i]);
		if (!is_file(cand))
			continue;
		snprintf(cand, sizeof(cand), "%s/%s", dir, rel[i]);
		if (realpath(cand, real) == NULL)
			continue;
		snprintf(out, outlen, "%s", real);
		installed_layout = i == ARRAY_SIZE(rel) - 1;
		return ERR_OK;
	}
	/* named in the error message: for an installed fount ($(PREFIX)/bin)
	 * the folder `make install` fills, else the build tree's */
	const char *base = strrchr(dir, '/');
	installed_layout = base != NULL && strcmp(base + 1, "bin") == 0;
	if (installed_layout)
		snprintf(out, outlen, "%.*s/" FOUNT_LIBDIR_NAME "/fips", (int)(base - dir), dir);
	else
		snprintf(out, outlen, "%s/fips", dir);
	return ERR_OK;
}

static err_t read_small_file(const char *path, char *buf, size_t cap, size_t *out_len)
{
	err_t r = ERR_IO;
	FILE *fp = fopen(path, "r");
	if (fp == NULL)
		return ERR_IO;
	size_t n = fread(buf, 1, cap - 1, fp);
	ENSURE_GOTO(!ferror(fp), ERR_IO);
	ENSURE_GOTO(n < cap - 1, ERR_TOO_LARGE);
	buf[n] = '\0';
	*out_len = n;
	r = ERR_OK;
out:
	fclose(fp);
	return r;
}

/* load_fips loads the FIPS provider and base into |libctx| through an
 * in-memory configuration (config(5)): fipsmodule.cnf's [fips_sect] gives
 * the module its install-time MACs and options, which a provider gets only
 * from configuration in 3.0 (OSSL_PROVIDER_load takes no parameters). */
static err_t load_fips(OSSL_LIB_CTX *ctx, const char *dir, bool configured)
{
	/* a folder the operator configured holds their own (e.g. a vendor's)
	 * module: `make fips` is not the fix there */
	const char *fix = configured
		? "reinstall it there (openssl fipsinstall -module fips.so -out fipsmodule.cnf) or correct [crypto] fips_module_dir"
		: installed_layout ? "reinstall fount ('make install' puts it there)" : "rebuild it with 'make fips'";
	const char *build = configured || !installed_layout ? "build one with 'make fips'"
							      : "reinstall fount ('make install' puts it there)";
	static const char head[] =
		"openssl_conf = fount_conf\n"
		"[fount_conf]\n"
		"providers = fount_providers\n"
		"[fount_providers]\n"
		"fips = fips_sect\n"
		"base = fount_base_sect\n"
		"[fount_base_sect]\n"
		"activate = 1\n";
	err_t r = ERR_FIPS_UNAVAILABLE;
	char so[PATH_MAX + 16], cnf[PATH_MAX + 32];
	char *text = NULL;
	size_t len = 0;
	CONF *conf = NULL;
	BIO *bio = NULL;
	long eline = -1;

	snprintf(so, sizeof(so), "%s/fips.so", dir);
	snprintf(cnf, sizeof(cnf), "%s/fipsmodule.cnf", dir);
	if (!is_file(so) || !is_file(cnf)) {
		snprintf(init_error, sizeof(init_error),
			 "no FIPS provider in %s (fips.so, fipsmodule.cnf): %s%s, or set [crypto] fips = off",
			 dir, build, configured ? " or correct [crypto] fips_module_dir" : "");
		goto out;
	}
	text = malloc(sizeof(head) + FIPS_CNF_MAX);
	ENSURE_GOTO(text != NULL, ERR_NOMEM);
	memcpy(text, head, sizeof(head) - 1);
	if (read_small_file(cnf, text + sizeof(head) - 1, FIPS_CNF_MAX, &len) != ERR_OK ||
	    strstr(text, "[fips_sect]") == NULL) {
		snprintf(init_error, sizeof(init_error),
			 "%s is not a fipsmodule.cnf with a [fips_sect]: %s", cnf, fix);
		goto out;
	}
	len += sizeof(head) - 1;
	if (keygen_rand_install_fips(ctx, so) != ERR_OK) {
		snprintf(init_error, sizeof(init_error),
			 "cannot load %s: %s", so, fix);
		goto out;
	}
	OPENSSL_load_builtin_modules(); /* the "providers" configuration module */
	conf = NCONF_new_ex(ctx, NULL);
	bio = BIO_new_mem_buf(text, (int)len);
	ENSURE_GOTO(conf != NULL && bio != NULL, ERR_NOMEM);
	if (NCONF_load_bio(conf, bio, &eline) <= 0 || CONF_modules_load(conf, NULL, 0) <= 0 ||
	    !OSSL_PROVIDER_available(ctx, "fips")) {
		/* e.g. the module's self-tests or its integrity check failed */
		unsigned long e = ERR_peek_last_error();
		snprintf(init_error, sizeof(init_error),
			 "the FIPS provider in %s does not load (%s): %s",
			 dir, e != 0 ? ERR_reason_error_string(e) : "its integrity check or self-tests failed", fix);
		goto out;
	}
	/* every fetch without its own query gets a FIPS-approved algorithm */
	ENSURE_GOTO(EVP_set_default_properties(ctx, "fips=yes") == 1, ERR_CRYPTO);
	r = ERR_OK;
out:
	BIO_free(bio);
	NCONF_free(conf);
	free(text);
	return r;
}

static void release_locked(void)
{
	entropy_set_libctx(NULL); /* the conditioner's HMAC lives in libctx */
	ciphers_ready = false;
	memset(&aes256_ctr, 0, sizeof(aes256_ctr));
	memset(&aes256_cbc, 0, sizeof(aes256_cbc));
	EVP_CIPHER_free(aes256_ctr_evp);
	aes256_ctr_evp = NULL;
	EVP_CIPHER_free(aes256_cbc_evp);
	aes256_cbc_evp = NULL;
	for (size_t p = 0; p < 2; p++) {
		for (size_t k = 0; k < 3; k++) {
			EVP_CIPHER_free(wrap_ciphers[p][k]);
			wrap_ciphers[p][k] = NULL;
		}
	}
	for (size_t k = 0; k < 3; k++) {
		EVP_CIPHER_free(gcm_ciphers[k]);
		gcm_ciphers[k] = NULL;
		EVP_CIPHER_free(cbc_ciphers[k]);
		cbc_ciphers[k] = NULL;
	}
	EVP_MD_free(sha256_md);
	sha256_md = NULL;
	if (provider != NULL)
		(void)OSSL_PROVIDER_unload(provider);
	provider = NULL;
	if (fount_provider != NULL)
		(void)OSSL_PROVIDER_unload(fount_provider);
	fount_provider = NULL;
	OSSL_LIB_CTX_free(libctx);
	libctx = NULL;
	fips_mode = false;
	snprintf(provider_name, sizeof(provider_name), "(keygen not initialised)");
	memset(&provider_info, 0, sizeof(provider_info));
}

/* has_name reports whether the colon-separated |names| include |name|. */
static bool has_name(const char *names, const char *name)
{
	size_t len = strlen(name);
	for (const char *p = names; p != NULL && *p != '\0';) {
		const char *end = strchr(p, ':');
		size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
		if (n == len && strncasecmp(p, name, len) == 0)
			return true;
		p = end != NULL ? end + 1 : NULL;
	}
	return false;
}

/* resolve_cipher finds |name| in the dispatch tables of the provider that
 * EVP_CIPHER_fetch chose for it (so property queries stay honoured) and
 * keeps the four functions the DRBG calls. */
static err_t resolve_cipher(const EVP_CIPHER *fetched, const char *name,
			    struct keygen_cipher *out)
{
	err_t r = ERR_CRYPTO;
	const OSSL_PROVIDER *prov = EVP_CIPHER_get0_provider(fetched);
	int no_cache = 0;
	const OSSL_ALGORITHM *algs = OSSL_PROVIDER_query_operation(prov, OSSL_OP_CIPHER, &no_cache);
	struct keygen_cipher c = {0};

	for (const OSSL_ALGORITHM *a = algs; a != NULL && a->algorithm_names != NULL; a++) {
		if (!has_name(a->algorithm_names, name))
			continue;
		for (const OSSL_DISPATCH *f = a->implementation; f->function_id != 0; f++) {
			switch (f->function_id) {
			case OSSL_FUNC_CIPHER_NEWCTX: c.newctx = OSSL_FUNC_cipher_newctx(f); break;
			case OSSL_FUNC_CIPHER_FREECTX: c.freectx = OSSL_FUNC_cipher_freectx(f); break;
			case OSSL_FUNC_CIPHER_ENCRYPT_INIT: c.einit = OSSL_FUNC_cipher_encrypt_init(f); break;
			case OSSL_FUNC_CIPHER_UPDATE: c.update = OSSL_FUNC_cipher_update(f); break;
			default: break;
			}
		}
		break;
	}
	if (algs != NULL)
		OSSL_PROVIDER_unquery_operation(prov, OSSL_OP_CIPHER, algs);
	c.provctx = OSSL_PROVIDER_get0_provider_ctx(prov);
	ENSURE_GOTO(c.newctx != NULL && c.freectx != NULL && c.einit != NULL && c.update != NULL,
		    ERR_CRYPTO);
	*out = c;
	r = ERR_OK;
out:
	return r;
}

/* describe_provider fills provider_name with "<name> <version>" and
 * provider_info from the loaded provider's own parameters (the FIPS
 * module answers them in providers/fips/fipsprov.c, fips_get_params), so
 * a provider from fips_module_dir reports its own version, not libcrypto's.
 * |dir| is where fips.so came from ("" for the default provider). */
static err_t describe_provider(const char *dir)
{
	const char *name = NULL, *version = NULL, *build = NULL;
	OSSL_PARAM params[] = {
		OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_NAME, &name, 0),
		OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_VERSION, &version, 0),
		OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_BUILDINFO, &build, 0),
		OSSL_PARAM_END,
	};
	if (OSSL_PROVIDER_get_params(provider, params) != 1 || name == NULL)
		return ERR_CRYPTO;
	snprintf(provider_name, sizeof(provider_name), "%s %s", name,
		 version != NULL ? version : "(unknown version)");
	struct keygen_provider_info *pi = &provider_info;
	snprintf(pi->name, sizeof(pi->name), "%s", name);
	snprintf(pi->version, sizeof(pi->version), "%s", version != NULL ? version : "");
	snprintf(pi->buildinfo, sizeof(pi->buildinfo), "%s", build != NULL ? build : "");
	snprintf(pi->dir, sizeof(pi->dir), "%s", dir);
	pi->validated = keygen_fips_validation(fips_mode, pi->name, pi->version,
					       pi->validation, sizeof(pi->validation));
	return ERR_OK;
}

err_t keygen_init(const struct config *cfg)
{
	err_t r = ERR_INTERNAL;
	const char *pname = provider_choose(cfg);
	char dir[PATH_MAX] = "";

	pthread_mutex_lock(&ossl_lock);
	if (libctx != NULL) {
		r = ERR_OK; /* idempotent */
		goto out;
	}
	init_error[0] = '\0';
	libctx = OSSL_LIB_CTX_new();
	ENSURE_GOTO(libctx != NULL, ERR_NOMEM);
	if (cfg->crypto_fips) {
		GUARD_GOTO(fips_dir_find(cfg, dir, sizeof(dir)));
		GUARD_GOTO(load_fips(libctx, dir, cfg->crypto_fips_module_dir[0] != '\0'));
		fips_mode = true;
	} else {
		GUARD_GOTO(keygen_rand_install_default(libctx, &fount_provider));
	}
	provider = OSSL_PROVIDER_load(libctx, pname);
	if (provider == NULL) {
		snprintf(init_error, sizeof(init_error), "cannot load the OpenSSL \"%s\" provider", pname);
		r = cfg->crypto_fips ? ERR_FIPS_UNAVAILABLE : ERR_CRYPTO;
		goto out;
	}
	aes256_ctr_evp = EVP_CIPHER_fetch(libctx, "AES-256-CTR", NULL);
	aes256_cbc_evp = EVP_CIPHER_fetch(libctx, "AES-256-CBC", NULL);
	if (aes256_ctr_evp == NULL || aes256_cbc_evp == NULL ||
	    resolve_cipher(aes256_ctr_evp, "AES-256-CTR", &aes256_ctr) != ERR_OK ||
	    resolve_cipher(aes256_cbc_evp, "AES-256-CBC", &aes256_cbc) != ERR_OK) {
		snprintf(init_error, sizeof(init_error), "the \"%s\" provider lacks AES-256-CTR/CBC", pname);
		r = ERR_CRYPTO;
		goto out;
	}
	for (size_t p = 0; p < 2; p++) {
		for (size_t k = 0; k < 3; k++) {
			char name[32];
			snprintf(name, sizeof(name), "AES-%zu-WRAP%s", 128 + 64 * k, p ? "-PAD" : "");
			/* a provider without key wrap leaves NULL: wrapping then
			 * fails with ERR_UNSUPPORTED, nothing else does */
			wrap_ciphers[p][k] = EVP_CIPHER_fetch(libctx, name, NULL);
		}
	}
	for (size_t k = 0; k < 3; k++) {
		char name[32];
		/* NULL when the provider lacks one: only that call fails */
		snprintf(name, sizeof(name), "AES-%zu-GCM", 128 + 64 * k);
		gcm_ciphers[k] = EVP_CIPHER_fetch(libctx, name, NULL);
		snprintf(name, sizeof(name), "AES-%zu-CBC", 128 + 64 * k);
		cbc_ciphers[k] = EVP_CIPHER_fetch(libctx, name, NULL);
	}
	sha256_md = EVP_MD_fetch(libctx, "SHA2-256", NULL);
	ciphers_ready = true;
	GUARD_GOTO(describe_provider(fips_mode ? dir : ""));
	log_debug("OpenSSL provider: %s", provider_name);
	/* the entropy conditioner's HMAC-SHA-256 comes from this context too */
	entropy_set_libctx(libctx);
	r = ERR_OK;
out:
	if (r != ERR_OK) {
		if (init_error[0] == '\0')
			snprintf(init_error, sizeof(init_error), "cannot set up the OpenSSL library context: %s",
				 err_str(r));
		log_error("%s", init_error);
		release_locked();
	}
	pthread_mutex_unlock(&ossl_lock);
	return r;
}

void keygen_shutdown(void)
{
	pthread_mutex_lock(&ossl_lock);
	release_locked();
	pthread_mutex_unlock(&ossl_lock);
}

struct ossl_lib_ctx_st *keygen_libctx(void)
{
	return libctx;
}

const char *keygen_provider_name(void)
{
	return provider_name;
}

const struct keygen_provider_info *keygen_provider_info(void)
{
	return &provider_info;
}

bool keygen_fips_mode(void)
{
	return fips_mode;
}

const char *keygen_init_error(void)
{
	return init_error;
}

const struct keygen_cipher *keygen_aes256_ctr(void)
{
	return ciphers_ready ? &aes256_ctr : NULL;
}

const struct keygen_cipher *keygen_aes256_cbc(void)
{
	return ciphers_ready ? &aes256_cbc : NULL;
}

const EVP_CIPHER *keygen_wrap_cipher(bool pad, size_t kek_len)
{
	if (!ciphers_ready || (kek_len != 16 && kek_len != 24 && kek_len != 32))
		return NULL;
	return wrap_ciphers[pad ? 1 : 0][(kek_len - 16) / 8];
}

const EVP_CIPHER *keygen_aes_cipher(bool gcm, size_t key_len)
{
	if (!ciphers_ready || (key_len != 16 && key_len != 24 && key_len != 32))
		return NULL;
	return (gcm ? gcm_ciphers : cbc_ciphers)[(key_len - 16) / 8];
}

const EVP_MD *keygen_sha256_md(void)
{
	return ciphers_ready ? sha256_md : NULL;
}
