/* api/pki.c — fount's own PKI in the state directory, for the trust modes
 * KMIP clients offer (vCenter: "KMS certificate and key" and "KMS-signed
 * CSR"; PyKMIP, mongod and libkmip: a client certificate from a CA they
 * are given):
 *
 *   <state_dir>/pki/ca.pem, ca.key          the CA (RSA-2048, 10 years)
 *   <state_dir>/pki/server.pem, server.key  the KMIP server (RSA-2048, SANs
 *                                           for every name and address given)
 *   <state_dir>/pki/clients/NAME.pem, .key  client certificates it issued
 *
 * Keys are PKCS#8 PEM, 0600, in a 0700 folder, written whole or not at all
 * (util's outfile); nothing is ever overwritten. RSA-2048 with
 * digitalSignature + keyEncipherment and EKU serverAuth + clientAuth is
 * what the most clients accept (vCenter, ESXi, mongod). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "api/api.h"
#include "keygen/keygen.h"

#define CA_DAYS 3650
#define LEAF_DAYS 825
#define MAX_FILE (64 * 1024)

static err_t path_in(char *out, size_t cap, const char *dir, const char *name)
{
	int k = snprintf(out, cap, "%s/%s", dir, name);
	return k > 0 && (size_t)k < cap ? ERR_OK : ERR_TOO_LARGE;
}

size_t api_pki_names(const char *extra, char *buf, size_t buf_len, const char **names, size_t cap)
{
	size_t n = 0;
	/* buf: the host name, then a copy of |extra| to cut into words */
	size_t host_len = 0;
	buf[0] = '\0';
	if (cap > 0)
		names[n++] = "localhost";
	if (buf_len > 1 && gethostname(buf, buf_len / 2) == 0) {
		buf[buf_len / 2 - 1] = '\0';
		host_len = strlen(buf);
		if (host_len > 0 && strcmp(buf, "localhost") != 0 && n < cap)
			names[n++] = buf;
	}
	if (n < cap)
		names[n++] = "127.0.0.1";
	if (n < cap)
		names[n++] = "::1";
	char *words = buf + host_len + 1;
	size_t room = buf_len - host_len - 1;
	if (extra != NULL && room > 1) {
		snprintf(words, room, "%s", extra);
		for (char *save = NULL, *w = strtok_r(words, ", ", &save); w != NULL && n < cap;
		     w = strtok_r(NULL, ", ", &save))
			names[n++] = w;
	}
	return n;
}

err_t api_pki_paths(const char *state_dir, struct api_pki *out)
{
	memset(out, 0, sizeof *out);
	GUARD(path_in(out->dir, sizeof out->dir, state_dir, "pki"));
	GUARD(path_in(out->ca_cert, sizeof out->ca_cert, out->dir, "ca.pem"));
	GUARD(path_in(out->ca_key, sizeof out->ca_key, out->dir, "ca.key"));
	GUARD(path_in(out->server_cert, sizeof out->server_cert, out->dir, "server.pem"));
	GUARD(path_in(out->server_key, sizeof out->server_key, out->dir, "server.key"));
	GUARD(path_in(out->clients, sizeof out->clients, out->dir, "clients"));
	return ERR_OK;
}

static bool exists(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0;
}

/* half_pair says (in |why|) when one file of a certificate and its key
 * exists without the other: neither is made nor used then, so a pair is
 * never silently half replaced. */
static bool half_pair(const char *cert, const char *key, char *why, size_t why_len)
{
	if (exists(cert) == exists(key))
		return false;
	snprintf(why, why_len, "%s exists but %s does not: remove the other one too to make a new pair",
		 exists(cert) ? cert : key, exists(cert) ? key : cert);
	return true;
}

static err_t mkdir_private(const char *d, char *why, size_t why_len)
{
	if (mkdir(d, 0700) == 0 || errno == EEXIST) {
		struct stat st;
		if (stat(d, &st) == 0 && S_ISDIR(st.st_mode))
			return ERR_OK;
	}
	snprintf(why, why_len, "cannot create %s: %s", d, strerror(errno));
	return ERR_IO;
}

/* write_new writes |len| bytes as a new file |path| of |mode|. */
static err_t write_new(const char *path, const uint8_t *buf, size_t len, unsigned mode, char *why, size_t why_len)
{
	int fd = outfile_open(path, mode, 0);
	if (fd < 0) {
		snprintf(why, why_len, "cannot create %s: %s", path, strerror(errno));
		return ERR_IO;
	}
	size_t done = 0;
	while (done < len) {
		ssize_t k = write(fd, buf + done, len - done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			snprintf(why, why_len, "cannot write %s: %s", path, strerror(errno));
			outfile_abort(fd);
			return ERR_IO;
		}
		done += (size_t)k;
	}
	if (outfile_commit(fd) != ERR_OK) {
		snprintf(why, why_len, "cannot write %s: %s", path, strerror(errno));
		return ERR_IO;
	}
	return ERR_OK;
}

static err_t write_key(const char *path, const EVP_PKEY *k, char *why, size_t why_len)
{
	uint8_t *pem = NULL;
	size_t len = 0;
	err_t r = keygen_pkey_encode(k, KEYGEN_PART_PRIVATE, KEYGEN_FMT_PEM, &pem, &len);
	if (r != ERR_OK) {
		snprintf(why, why_len, "cannot encode the key for %s: %s", path, err_str(r));
		return r;
	}
	r = write_new(path, pem, len, 0600, why, why_len);
	secmem_free(pem, len);
	return r;
}

static err_t write_cert(const char *path, const X509 *c, char *why, size_t why_len)
{
	uint8_t *pem = NULL;
	size_t len = 0;
	err_t r = keygen_cert_encode(c, &pem, &len);
	if (r == ERR_OK)
		r = write_new(path, pem, len, 0644, why, why_len);
	else
		snprintf(why, why_len, "cannot encode the certificate for %s: %s", path, err_str(r));
	free(pem);
	return r;
}

/* load_ca reads the CA's certificate and key. */
static err_t load_ca(const struct api_pki *p, X509 **cert, EVP_PKEY **key, char *why, size_t why_len)
{
	*cert = NULL;
	*key = NULL;
	err_t r = ERR_NOMEM;
	uint8_t *buf = secmem_alloc(MAX_FILE, &r);
	if (buf == NULL)
		return r;
	size_t len = 0;
	r = file_read_bounded(p->ca_cert, buf, MAX_FILE, &len, NULL);
	if (r == ERR_OK)
		r = keygen_cert_decode(buf, len, cert);
	if (r != ERR_OK) {
		snprintf(why, why_len, "cannot read the CA certificate %s: %s (run 'fount ca init')", p->ca_cert,
			 err_str(r));
		goto out;
	}
	unsigned mode = 0;
	r = file_read_bounded(p->ca_key, buf, MAX_FILE, &len, &mode);
	if (r == ERR_OK && (mode & 077) != 0) {
		snprintf(why, why_len, "%s is readable by others (mode %03o): chmod 600 it", p->ca_key, mode & 0777);
		r = ERR_CONFIG;
		goto out;
	}
	if (r == ERR_OK)
		r = keygen_pkey_decode(buf, len, KEYGEN_PART_PRIVATE, key);
	if (r != ERR_OK) {
		snprintf(why, why_len, "cannot read the CA key %s: %s", p->ca_key, err_str(r));
		goto out;
	}
	if (X509_check_private_key(*cert, *key) != 1) {
		snprintf(why, why_len, "%s is not the key of %s", p->ca_key, p->ca_cert);
		r = ERR_KEY_FORMAT;
	}
out:
	secmem_free(buf, MAX_FILE);
	if (r != ERR_OK) {
		X509_free(*cert);
		EVP_PKEY_free(*key);
		*cert = NULL;
		*key = NULL;
	}
	return r;
}

/* issue makes a key and a certificate signed by the CA and writes both. */
static err_t issue(X509 *ca, EVP_PKEY *ca_key, const struct keygen_cert_spec *spec, const char *cert_path,
		   const char *key_path, char *why, size_t why_len)
{
	EVP_PKEY *k = NULL;
	X509 *c = NULL;
	err_t r = keygen_pkey_generate(keygen_type_find("rsa-2048"), &k);
	if (r == ERR_OK)
		r = keygen_cert_issue(spec, k, ca_key, ca, &c);
	if (r != ERR_OK) {
		snprintf(why, why_len, "cannot issue a certificate for %s: %s", spec->cn, err_str(r));
		goto out;
	}
	if ((r = write_key(key_path, k, why, why_len)) != ERR_OK)
		goto out;
	if ((r = write_cert(cert_path, c, why, why_len)) != ERR_OK)
		unlink(key_path);
out:
	EVP_PKEY_free(k);
	X509_free(c);
	return r;
}

err_t api_pki_init(const char *state_dir, const char *const *names, size_t n_names, struct api_pki *out,
		   bool *created, char *why, size_t why_len)
{
	*created = false;
	if (api_pki_paths(state_dir, out) != ERR_OK) {
		snprintf(why, why_len, "state_dir %s: path too long", state_dir);
		return ERR_TOO_LARGE;
	}
	GUARD(mkdir_private(state_dir, why, why_len));
	GUARD(mkdir_private(out->dir, why, why_len));
	GUARD(mkdir_private(out->clients, why, why_len));
	if (half_pair(out->ca_cert, out->ca_key, why, why_len) ||
	    half_pair(out->server_cert, out->server_key, why, why_len))
		return ERR_IO;
	X509 *ca = NULL;
	EVP_PKEY *ca_key = NULL;
	err_t r;
	if (!exists(out->ca_cert) && !exists(out->ca_key)) {
		struct keygen_cert_spec spec = {.cn = "fount development CA", .org = "fount", .ca = true, .days = CA_DAYS};
		r = keygen_pkey_generate(keygen_type_find("rsa-2048"), &ca_key);
		if (r == ERR_OK)
			r = keygen_cert_issue(&spec, ca_key, ca_key, NULL, &ca);
		if (r != ERR_OK) {
			snprintf(why, why_len, "cannot make the CA: %s", err_str(r));
			goto out;
		}
		if ((r = write_key(out->ca_key, ca_key, why, why_len)) != ERR_OK)
			goto out;
		if ((r = write_cert(out->ca_cert, ca, why, why_len)) != ERR_OK) {
			unlink(out->ca_key);
			goto out;
		}
		*created = true;
	} else if ((r = load_ca(out, &ca, &ca_key, why, why_len)) != ERR_OK) {
		goto out;
	}
	r = ERR_OK;
	if (!exists(out->server_cert) && !exists(out->server_key)) {
		/* names: DNS names and IP addresses, told apart here */
		const char *dns[API_PKI_MAX_NAMES], *ips[API_PKI_MAX_NAMES];
		size_t nd = 0, ni = 0;
		for (size_t i = 0; i < n_names && i < API_PKI_MAX_NAMES; i++) {
			bool ip = strchr(names[i], ':') != NULL || strspn(names[i], "0123456789.") == strlen(names[i]);
			if (ip)
				ips[ni++] = names[i];
			else
				dns[nd++] = names[i];
		}
		struct keygen_cert_spec spec = {.cn = nd > 0 ? dns[0] : "fount", .org = "fount", .dns = dns, .n_dns = nd,
						.ips = ips, .n_ips = ni, .server_auth = true, .client_auth = true,
						.days = LEAF_DAYS};
		r = issue(ca, ca_key, &spec, out->server_cert, out->server_key, why, why_len);
		*created = *created || r == ERR_OK;
	}
out:
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	return r;
}

err_t api_pki_issue(const struct api_pki *p, const char *tenant, const char *dir, char *cert_path, char *key_path,
		    size_t path_len, char *why, size_t why_len)
{
	X509 *ca = NULL;
	EVP_PKEY *ca_key = NULL;
	char name[128];
	if (snprintf(name, sizeof name, "%s.pem", tenant) >= (int)sizeof name ||
	    path_in(cert_path, path_len, dir, name) != ERR_OK ||
	    snprintf(name, sizeof name, "%s.key", tenant) >= (int)sizeof name ||
	    path_in(key_path, path_len, dir, name) != ERR_OK || strchr(tenant, '/') != NULL) {
		snprintf(why, why_len, "tenant name %s cannot name a file", tenant);
		return ERR_INVALID_ARG;
	}
	if (exists(cert_path) || exists(key_path)) {
		snprintf(why, why_len, "%s already exists: remove it first, or issue into another folder", cert_path);
		return ERR_IO;
	}
	GUARD(load_ca(p, &ca, &ca_key, why, why_len));
	struct keygen_cert_spec spec = {.cn = tenant, .org = "fount", .client_auth = true, .days = LEAF_DAYS};
	err_t r = issue(ca, ca_key, &spec, cert_path, key_path, why, why_len);
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	return r;
}

err_t api_pki_sign(const struct api_pki *p, const char *tenant, const uint8_t *csr, size_t csr_len, uint8_t **pem,
		   size_t *pem_len, char *why, size_t why_len)
{
	X509 *ca = NULL, *c = NULL;
	EVP_PKEY *ca_key = NULL;
	*pem = NULL;
	*pem_len = 0;
	GUARD(load_ca(p, &ca, &ca_key, why, why_len));
	struct keygen_cert_spec spec = {.cn = tenant, .org = "fount", .client_auth = true, .days = LEAF_DAYS};
	err_t r = keygen_csr_sign(csr, csr_len, &spec, ca_key, ca, &c);
	if (r == ERR_OK)
		r = keygen_cert_encode(c, pem, pem_len);
	else
		snprintf(why, why_len, "the CSR is not a PKCS#10 request whose signature verifies, for an RSA or EC key");
	X509_free(c);
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	return r;
}
