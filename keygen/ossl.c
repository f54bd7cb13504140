/* keygen/ossl.c — fount's own OpenSSL library context. Every OpenSSL object
 * keygen/ uses is fetched from this context, so switching to the FIPS
 * provider later changes one place: provider_choose(). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "keygen/internal.h"

static pthread_mutex_t ossl_lock = PTHREAD_MUTEX_INITIALIZER;
static OSSL_LIB_CTX *libctx;
static OSSL_PROVIDER *provider;
static EVP_CIPHER *aes256_ctr;
static EVP_CIPHER *aes256_cbc;
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
	EVP_CIPHER_free(aes256_ctr);
	aes256_ctr = NULL;
	EVP_CIPHER_free(aes256_cbc);
	aes256_cbc = NULL;
	if (provider != NULL)
		(void)OSSL_PROVIDER_unload(provider);
	provider = NULL;
	OSSL_LIB_CTX_free(libctx);
	libctx = NULL;
	snprintf(provider_name, sizeof(provider_name), "(keygen not initialised)");
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
	aes256_ctr = EVP_CIPHER_fetch(libctx, "AES-256-CTR", NULL);
	aes256_cbc = EVP_CIPHER_fetch(libctx, "AES-256-CBC", NULL);
	if (aes256_ctr == NULL || aes256_cbc == NULL) {
		log_error("the \"%s\" provider lacks AES-256-CTR/CBC", pname);
		r = ERR_CRYPTO;
		goto out;
	}
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

const EVP_CIPHER *keygen_aes256_ctr(void)
{
	return aes256_ctr;
}

const EVP_CIPHER *keygen_aes256_cbc(void)
{
	return aes256_cbc;
}
