/* keygen/x509.c — X.509 certificates for fount's own PKI: a CA that signs
 * server and client certificates, and CSRs signed by it (the trust modes
 * vCenter's KMS set-up offers: a KMS-issued certificate and key, or a
 * client CSR signed by the KMS). Everything runs in keygen_libctx(), so in
 * FIPS mode the signatures (RSA PKCS#1 v1.5 with SHA-256) are made in the
 * FIPS provider; serial numbers come from fount's DRBG.
 *
 * Profiles follow RFC 5280: a CA gets basicConstraints CA:TRUE (critical)
 * and keyUsage keyCertSign, cRLSign (critical); a leaf gets keyUsage
 * digitalSignature, keyEncipherment (critical) and the extendedKeyUsage it
 * asks for, subjectAltName for every DNS name and IP address, and both get
 * subject and authority key identifiers (§4.2.1.1, §4.2.1.2). */
#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "keygen/internal.h"
#include "keygen/keygen.h"

/* add_ext adds one extension in OpenSSL's configuration syntax
 * (x509v3_config(5)). */
static bool add_ext(X509 *cert, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	if (ext == NULL)
		return false;
	bool ok = X509_add_ext(cert, ext, -1) == 1;
	X509_EXTENSION_free(ext);
	return ok;
}

/* san_value writes "DNS:a,DNS:b,IP:1.2.3.4" for the spec's names into |out|. */
static err_t san_value(const struct keygen_cert_spec *spec, char *out, size_t cap)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; i < spec->n_dns + spec->n_ips; i++) {
		bool dns = i < spec->n_dns;
		const char *v = dns ? spec->dns[i] : spec->ips[i - spec->n_dns];
		/* names and addresses go into a configuration string: keep them
		 * to the characters they may hold */
		for (const char *c = v; *c != '\0'; c++)
			ENSURE((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
				       (*c >= '0' && *c <= '9') || *c == '.' || *c == '-' || *c == ':' ||
				       (dns && *c == '*'),
			       ERR_INVALID_ARG);
		if (!dns) {
			unsigned char a[16];
			ENSURE(inet_pton(AF_INET, v, a) == 1 || inet_pton(AF_INET6, v, a) == 1,
			       ERR_INVALID_ARG);
		}
		int k = snprintf(out + used, cap - used, "%s%s:%s", used ? "," : "", dns ? "DNS" : "IP", v);
		ENSURE(k > 0 && (size_t)k < cap - used, ERR_TOO_LARGE);
		used += (size_t)k;
	}
	return ERR_OK;
}

static err_t set_serial(X509 *cert)
{
	uint8_t b[16];
	GUARD(drbg_generate(b, sizeof b));
	b[0] &= 0x7F; /* RFC 5280 §4.1.2.2: positive, at most 20 octets */
	b[0] |= 0x01; /* and never shorter than 16 */
	BIGNUM *bn = BN_bin2bn(b, sizeof b, NULL);
	bool ok = bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL;
	BN_free(bn);
	return ok ? ERR_OK : ERR_CRYPTO;
}

err_t keygen_cert_issue(const struct keygen_cert_spec *spec, struct evp_pkey_st *subject_key,
			struct evp_pkey_st *issuer_key, struct x509_st *issuer, struct x509_st **out)
{
	err_t r = ERR_CRYPTO;
	X509 *cert = NULL;
	EVP_MD *md = NULL;
	char san[2048];

	ENSURE(spec != NULL && subject_key != NULL && issuer_key != NULL && out != NULL, ERR_INVALID_ARG);
	ENSURE(spec->cn != NULL && spec->cn[0] != '\0' && strlen(spec->cn) <= 64, ERR_INVALID_ARG);
	ENSURE(spec->days > 0 && spec->days <= 36500, ERR_INVALID_ARG);
	*out = NULL;
	GUARD(keygen_gate());
	GUARD(san_value(spec, san, sizeof san));

	cert = X509_new_ex(keygen_libctx(), NULL);
	ENSURE_GOTO(cert != NULL, ERR_NOMEM);
	ENSURE_GOTO(X509_set_version(cert, X509_VERSION_3) == 1, ERR_CRYPTO);
	GUARD_GOTO(set_serial(cert));
	/* an hour of slack for clocks behind ours */
	ENSURE_GOTO(X509_gmtime_adj(X509_getm_notBefore(cert), -3600) != NULL, ERR_CRYPTO);
	ENSURE_GOTO(X509_gmtime_adj(X509_getm_notAfter(cert), (long)spec->days * 86400) != NULL,
		    ERR_CRYPTO);
	X509_NAME *name = X509_get_subject_name(cert);
	ENSURE_GOTO(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)spec->cn,
					       -1, -1, 0) == 1,
		    ERR_INVALID_ARG);
	if (spec->org != NULL)
		ENSURE_GOTO(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
						       (const unsigned char *)spec->org, -1, -1, 0) == 1,
			    ERR_INVALID_ARG);
	ENSURE_GOTO(X509_set_issuer_name(cert, issuer != NULL ? X509_get_subject_name(issuer) : name) == 1,
		    ERR_CRYPTO);
	ENSURE_GOTO(X509_set_pubkey(cert, subject_key) == 1, ERR_CRYPTO);

	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, issuer != NULL ? issuer : cert, cert, NULL, NULL, 0);
	ENSURE_GOTO(add_ext(cert, &ctx, NID_subject_key_identifier, "hash"), ERR_CRYPTO);
	ENSURE_GOTO(add_ext(cert, &ctx, NID_authority_key_identifier, "keyid:always"), ERR_CRYPTO);
	if (spec->ca) {
		ENSURE_GOTO(add_ext(cert, &ctx, NID_basic_constraints, "critical,CA:TRUE,pathlen:0"), ERR_CRYPTO);
		ENSURE_GOTO(add_ext(cert, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign"), ERR_CRYPTO);
	} else {
		ENSURE_GOTO(add_ext(cert, &ctx, NID_basic_constraints, "critical,CA:FALSE"), ERR_CRYPTO);
		ENSURE_GOTO(add_ext(cert, &ctx, NID_key_usage, "critical,digitalSignature,keyEncipherment"),
			    ERR_CRYPTO);
		const char *eku = spec->server_auth && spec->client_auth ? "serverAuth,clientAuth"
				  : spec->server_auth			  ? "serverAuth"
				  : spec->client_auth			  ? "clientAuth"
									  : NULL;
		if (eku != NULL)
			ENSURE_GOTO(add_ext(cert, &ctx, NID_ext_key_usage, eku), ERR_CRYPTO);
	}
	if (san[0] != '\0')
		ENSURE_GOTO(add_ext(cert, &ctx, NID_subject_alt_name, san), ERR_INVALID_ARG);

	md = EVP_MD_fetch(keygen_libctx(), "SHA2-256", NULL);
	ENSURE_GOTO(md != NULL, ERR_CRYPTO);
	ENSURE_GOTO(X509_sign(cert, issuer_key, md) > 0, ERR_CRYPTO);
	*out = cert;
	cert = NULL;
	r = ERR_OK;
out:
	EVP_MD_free(md);
	X509_free(cert);
	return r;
}

err_t keygen_csr_sign(const uint8_t *csr, size_t csr_len, const struct keygen_cert_spec *spec,
		      struct evp_pkey_st *issuer_key, struct x509_st *issuer, struct x509_st **out)
{
	err_t r = ERR_KEY_FORMAT;
	X509_REQ *req = NULL;
	EVP_PKEY *pub = NULL;

	ENSURE(csr != NULL && spec != NULL && out != NULL && issuer != NULL, ERR_INVALID_ARG);
	ENSURE(csr_len > 0 && csr_len <= 64 * 1024 && csr_len <= INT_MAX, ERR_TOO_LARGE);
	*out = NULL;
	BIO *bio = BIO_new_mem_buf(csr, (int)csr_len);
	ENSURE(bio != NULL, ERR_NOMEM);
	req = X509_REQ_new_ex(keygen_libctx(), NULL);
	if (req != NULL && PEM_read_bio_X509_REQ(bio, &req, NULL, NULL) == NULL) {
		/* not PEM: DER */
		(void)BIO_reset(bio);
		X509_REQ_free(req);
		req = X509_REQ_new_ex(keygen_libctx(), NULL);
		if (req != NULL && d2i_X509_REQ_bio(bio, &req) == NULL) {
			X509_REQ_free(req);
			req = NULL;
		}
	}
	BIO_free(bio);
	ENSURE_GOTO(req != NULL, ERR_KEY_FORMAT);
	pub = X509_REQ_get_pubkey(req);
	ENSURE_GOTO(pub != NULL, ERR_KEY_FORMAT);
	/* the requester holds the private key (PKCS#10 §3: the signature
	 * proves possession); the key must be one fount would make itself */
	ENSURE_GOTO(X509_REQ_verify_ex(req, pub, keygen_libctx(), NULL) == 1, ERR_KEY_FORMAT);
	ENSURE_GOTO(keygen_pkey_type(pub) != NULL, ERR_KEY_FORMAT);
	/* the subject is fount's choice (spec->cn, the tenant's name): the
	 * CSR contributes only its key */
	r = keygen_cert_issue(spec, pub, issuer_key, issuer, out);
out:
	EVP_PKEY_free(pub);
	X509_REQ_free(req);
	return r;
}

err_t keygen_cert_encode(const struct x509_st *cert, uint8_t **out, size_t *out_len)
{
	ENSURE(cert != NULL && out != NULL && out_len != NULL, ERR_INVALID_ARG);
	*out = NULL;
	*out_len = 0;
	BIO *bio = BIO_new(BIO_s_mem());
	ENSURE(bio != NULL, ERR_NOMEM);
	err_t r = ERR_CRYPTO;
	char *data = NULL;
	if (PEM_write_bio_X509(bio, cert) == 1) {
		long n = BIO_get_mem_data(bio, &data);
		if (n > 0 && (*out = malloc((size_t)n)) != NULL) {
			memcpy(*out, data, (size_t)n);
			*out_len = (size_t)n;
			r = ERR_OK;
		} else {
			r = ERR_NOMEM;
		}
	}
	BIO_free(bio);
	return r;
}

err_t keygen_cert_decode(const uint8_t *in, size_t in_len, struct x509_st **out)
{
	ENSURE(in != NULL && out != NULL, ERR_INVALID_ARG);
	ENSURE(in_len > 0 && in_len <= 1024 * 1024, ERR_TOO_LARGE);
	*out = NULL;
	BIO *bio = BIO_new_mem_buf(in, (int)in_len);
	ENSURE(bio != NULL, ERR_NOMEM);
	X509 *x = X509_new_ex(keygen_libctx(), NULL);
	if (x != NULL && PEM_read_bio_X509(bio, &x, NULL, NULL) == NULL) {
		(void)BIO_reset(bio);
		X509_free(x);
		x = X509_new_ex(keygen_libctx(), NULL);
		if (x != NULL && d2i_X509_bio(bio, &x) == NULL) {
			X509_free(x);
			x = NULL;
		}
	}
	BIO_free(bio);
	ENSURE(x != NULL, ERR_KEY_FORMAT);
	*out = x;
	return ERR_OK;
}

err_t keygen_cert_sha256(const struct x509_st *cert, uint8_t out[32])
{
	ENSURE(cert != NULL, ERR_INVALID_ARG);
	unsigned len = 0;
	EVP_MD *md = EVP_MD_fetch(keygen_libctx(), "SHA2-256", NULL);
	ENSURE(md != NULL, ERR_CRYPTO);
	int ok = X509_digest(cert, md, out, &len);
	EVP_MD_free(md);
	ENSURE(ok == 1 && len == 32, ERR_CRYPTO);
	return ERR_OK;
}
