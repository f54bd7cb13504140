/* keygen/ossl.c — fount's own OpenSSL library context. Every OpenSSL object
 * keygen/ uses is fetched from this context, so switching to the FIPS
 * provider later changes one place: provider_choose(). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "keygen/internal.h"

static pthread_mutex_t ossl_lock = PTHREAD_MUTEX_INITIALIZER;
static OSSL_LIB_CTX *libctx;
static OSSL_PROVIDER *provider;
static EVP_CIPHER *aes256_ctr_evp, *aes256_cbc_evp;
static struct keygen_cipher aes256_ctr, aes256_cbc;
static bool ciphers_ready;
static char provider_name[128] = "(keygen not initialised)";

/* provider_choose names the provider the whole of fount runs on: the one
 * place to change for the FIPS provider (issue 3). */
static const char *provider_choose(const struct config *cfg)
{
	UNUSED(cfg);
	return "default";
}

static void release_locked(void)
{
	ciphers_ready = false;
	memset(&aes256_ctr, 0, sizeof(aes256_ctr));
	memset(&aes256_cbc, 0, sizeof(aes256_cbc));
	EVP_CIPHER_free(aes256_ctr_evp);
	aes256_ctr_evp = NULL;
	EVP_CIPHER_free(aes256_cbc_evp);
	aes256_cbc_evp = NULL;
	if (provider != NULL)
		(void)OSSL_PROVIDER_unload(provider);
	provider = NULL;
	OSSL_LIB_CTX_free(libctx);
	libctx = NULL;
	snprintf(provider_name, sizeof(provider_name), "(keygen not initialised)");
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

/* describe_provider fills provider_name with "<name> <version>". */
static err_t describe_provider(void)
{
	const char *name = NULL, *version = NULL;
	OSSL_PARAM params[] = {
		OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_NAME, &name, 0),
		OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_VERSION, &version, 0),
		OSSL_PARAM_END,
	};
	if (OSSL_PROVIDER_get_params(provider, params) != 1 || name == NULL)
		return ERR_CRYPTO;
	snprintf(provider_name, sizeof(provider_name), "%s %s", name,
		 version != NULL ? version : "(unknown version)");
	return ERR_OK;
}

err_t keygen_init(const struct config *cfg)
{
	err_t r = ERR_INTERNAL;
	const char *pname = provider_choose(cfg);

	pthread_mutex_lock(&ossl_lock);
	if (libctx != NULL) {
		r = ERR_OK; /* idempotent */
		goto out;
	}
	libctx = OSSL_LIB_CTX_new();
	ENSURE_GOTO(libctx != NULL, ERR_NOMEM);
	provider = OSSL_PROVIDER_load(libctx, pname);
	if (provider == NULL) {
		log_error("cannot load the OpenSSL \"%s\" provider", pname);
		r = ERR_CRYPTO;
		goto out;
	}
	aes256_ctr_evp = EVP_CIPHER_fetch(libctx, "AES-256-CTR", NULL);
	aes256_cbc_evp = EVP_CIPHER_fetch(libctx, "AES-256-CBC", NULL);
	if (aes256_ctr_evp == NULL || aes256_cbc_evp == NULL ||
	    resolve_cipher(aes256_ctr_evp, "AES-256-CTR", &aes256_ctr) != ERR_OK ||
	    resolve_cipher(aes256_cbc_evp, "AES-256-CBC", &aes256_cbc) != ERR_OK) {
		log_error("the \"%s\" provider lacks AES-256-CTR/CBC", pname);
		r = ERR_CRYPTO;
		goto out;
	}
	ciphers_ready = true;
	GUARD_GOTO(describe_provider());
	log_debug("OpenSSL provider: %s", provider_name);
	r = ERR_OK;
out:
	if (r != ERR_OK)
		release_locked();
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

const struct keygen_cipher *keygen_aes256_ctr(void)
{
	return ciphers_ready ? &aes256_ctr : NULL;
}

const struct keygen_cipher *keygen_aes256_cbc(void)
{
	return ciphers_ready ? &aes256_cbc : NULL;
}
