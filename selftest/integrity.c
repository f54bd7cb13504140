/* selftest/integrity.c — the software integrity test (FIPS 140-3
 * §7.10.2): HMAC-SHA-256 over the running executable, compared with the
 * value the build wrote beside it (<binary>.hmac). The key is fixed and
 * public, as OpenSSL's FIPS module key is: the check detects corruption
 * and tampering of the file, it authenticates nobody. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "keygen/keygen.h"
#include "selftest/internal.h"

CSP_DEFINE("Integrity test key", "PSP",
	   "a constant in the code",
	   "compiled in",
	   "public",
	   "not needed (public)");

#ifndef FOUNT_INTEGRITY_KEY
#error "FOUNT_INTEGRITY_KEY comes from the Makefile"
#endif

static err_t hmac_file(int fd, uint8_t mac[32])
{
	err_t r = ERR_CRYPTO;
	uint8_t key[64];
	size_t key_len = 0;
	EVP_MAC *m = NULL;
	EVP_MAC_CTX *ctx = NULL;
	static uint8_t buf[65536];
	char digest[] = "SHA2-256";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
		OSSL_PARAM_construct_end(),
	};
	size_t out_len = 0;

	if (hex_decode(key, sizeof(key), &key_len, FOUNT_INTEGRITY_KEY) != ERR_OK)
		return ERR_INTERNAL;
	m = EVP_MAC_fetch(keygen_libctx(), "HMAC", NULL);
	if (m == NULL || (ctx = EVP_MAC_CTX_new(m)) == NULL ||
	    EVP_MAC_init(ctx, key, key_len, params) != 1)
		goto out;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = ERR_IO;
			goto out;
		}
		if (n == 0)
			break;
		if (EVP_MAC_update(ctx, buf, (size_t)n) != 1)
			goto out;
	}
	if (EVP_MAC_final(ctx, mac, &out_len, 32) != 1 || out_len != 32)
		goto out;
	r = ERR_OK;
out:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(m);
	return r;
}

/* The expected value, read from <binary>.hmac at the first run. Later
 * (on-demand, periodic) runs compare against it: after an upgrade replaces
 * the file, the running code is still the old one, and so is its value. */
static uint8_t expected[32];
static bool have_expected;

static err_t read_expected(char *detail, size_t len)
{
	err_t r = ERR_INTEGRITY;
	char exe[PATH_MAX], path[PATH_MAX + 48], hex[80];
	size_t n_read = 0;
	FILE *fp = NULL;

	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		snprintf(detail, len, "cannot find own executable");
		goto out;
	}
	exe[n] = '\0';
	/* beside the binary (the build tree), else where `make install` puts
	 * it: <exe dir>/../lib/fount/<name>.hmac, so $(PREFIX)/bin holds
	 * programs only */
	const char *slash = strrchr(exe, '/');
	const char *name = slash != NULL ? slash + 1 : exe;
	snprintf(path, sizeof(path), "%s.hmac", exe);
	fp = fopen(path, "r");
	if (fp == NULL && errno == ENOENT && slash != NULL) {
		snprintf(path, sizeof(path), "%.*s/" FOUNT_LIBDIR_REL "/%s.hmac",
			 (int)(slash - exe), exe, name);
		fp = fopen(path, "r");
	}
	if (fp == NULL || fgets(hex, sizeof(hex), fp) == NULL) {
		snprintf(detail, len, "no %s.hmac beside it or in " FOUNT_LIBDIR_REL
			 " (make; or make install)", name);
		goto out;
	}
	hex[strcspn(hex, "\r\n")] = '\0';
	if (hex_decode(expected, sizeof(expected), &n_read, hex) != ERR_OK || n_read != 32) {
		snprintf(detail, len, "malformed integrity file");
		goto out;
	}
	have_expected = true;
	r = ERR_OK;
out:
	if (fp)
		fclose(fp);
	return r;
}

err_t selftest_integrity(char *detail, size_t len)
{
	err_t r = ERR_INTEGRITY;
	uint8_t got[32];
	int fd = -1;

	if (!have_expected && (r = read_expected(detail, len)) != ERR_OK)
		goto out;
	/* /proc/self/exe opens the file this process runs, even when a newer
	 * one has been renamed over its path since */
	fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || hmac_file(fd, got) != ERR_OK) {
		snprintf(detail, len, "cannot read own executable");
		r = ERR_INTEGRITY;
		goto out;
	}
	r = selftest_check("integrity", expected, got, sizeof(got));
	if (r != ERR_OK) {
		snprintf(detail, len, "HMAC-SHA-256 of the binary does not match");
		r = ERR_INTEGRITY;
	}
out:
	if (fd >= 0)
		close(fd);
	return r;
}

void selftest_integrity_forget(void)
{
	have_expected = false;
	secure_zero(expected, sizeof(expected));
}
