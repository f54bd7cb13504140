/* keygen/convert.c — the key encodings a key manager exchanges with its
 * clients (KMIP 1.4 §2.1.7 Key Format Types): PKCS#8 and SubjectPublicKeyInfo
 * (fount's stored forms), PKCS#1 RSAPrivateKey / RSAPublicKey, RFC 5915
 * ECPrivateKey, all DER; the numbers of a key (the Transparent formats);
 * and the check that a byte string is one DER X.509 certificate. Every
 * decode runs in keygen_libctx(), so the FIPS provider's rules apply. */
#include <openssl/bn.h>
#include <openssl/buffer.h>
#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <string.h>

#include "keygen/internal.h"

CSP_USE("Private keys", "DER/PEM and Raw/Transparent encodings of keys being converted, in locked buffers");

/* der_form maps |form| to OpenSSL's selection, structure and key type
 * (NULL: any). */
static bool der_form(enum keygen_der form, int *selection, const char **structure, const char **keytype)
{
	switch (form) {
	case KEYGEN_DER_PKCS8:
		*selection = EVP_PKEY_KEYPAIR;
		*structure = "PrivateKeyInfo";
		*keytype = NULL;
		return true;
	case KEYGEN_DER_SPKI:
		*selection = EVP_PKEY_PUBLIC_KEY;
		*structure = "SubjectPublicKeyInfo";
		*keytype = NULL;
		return true;
	case KEYGEN_DER_RSA_PRIVATE:
		*selection = EVP_PKEY_KEYPAIR;
		*structure = "type-specific";
		*keytype = "RSA";
		return true;
	case KEYGEN_DER_RSA_PUBLIC:
		*selection = EVP_PKEY_PUBLIC_KEY;
		*structure = "type-specific";
		*keytype = "RSA";
		return true;
	case KEYGEN_DER_EC_PRIVATE:
		*selection = EVP_PKEY_KEYPAIR;
		*structure = "type-specific";
		*keytype = "EC";
		return true;
	default:
		return false;
	}
}

/* der_tlv reads one DER tag and definite length at |*p| (|left| bytes),
 * moving past the header; false when it does not fit */
static bool der_tlv(const uint8_t **p, size_t *left, uint8_t *tag, size_t *len)
{
	if (*left < 2)
		return false;
	*tag = (*p)[0];
	size_t l = (*p)[1];
	size_t hdr = 2;
	if (l & 0x80) {
		size_t nb = l & 0x7f;
		if (nb == 0 || nb > 4 || *left < 2 + nb)
			return false;
		l = 0;
		for (size_t i = 0; i < nb; i++)
			l = (l << 8) | (*p)[2 + i];
		hdr += nb;
	}
	if (l > *left - hdr)
		return false;
	*p += hdr;
	*left -= hdr;
	*len = l;
	return true;
}

/* der_shape_ok checks the first two elements of the outer SEQUENCE, which
 * tell the forms apart (OpenSSL's decoders take the structure name as a
 * hint and accept the others too):
 *   PrivateKeyInfo       INTEGER version, SEQUENCE algorithm   (RFC 5208)
 *   SubjectPublicKeyInfo SEQUENCE algorithm, BIT STRING        (RFC 5280)
 *   RSAPrivateKey        INTEGER version 0, INTEGER modulus    (RFC 8017)
 *   RSAPublicKey         INTEGER modulus, INTEGER exponent     (RFC 8017)
 *   ECPrivateKey         INTEGER version 1, OCTET STRING       (RFC 5915) */
static bool der_shape_ok(const uint8_t *in, size_t len, enum keygen_der form)
{
	const uint8_t *p = in;
	size_t left = len, l1 = 0, l2 = 0;
	uint8_t t0, t1, t2;
	if (!der_tlv(&p, &left, &t0, &l1) || t0 != 0x30)
		return false;
	left = l1;
	if (!der_tlv(&p, &left, &t1, &l1))
		return false;
	const uint8_t *v1 = p;
	p += l1;
	left -= l1;
	if (!der_tlv(&p, &left, &t2, &l2))
		return false;
	bool small0 = t1 == 0x02 && l1 == 1 && v1[0] == 0;
	switch (form) {
	case KEYGEN_DER_PKCS8: return t1 == 0x02 && l1 == 1 && v1[0] <= 1 && t2 == 0x30;
	case KEYGEN_DER_SPKI: return t1 == 0x30 && t2 == 0x03;
	case KEYGEN_DER_RSA_PRIVATE: return small0 && t2 == 0x02;
	case KEYGEN_DER_RSA_PUBLIC: return t1 == 0x02 && l1 > 1 && t2 == 0x02;
	case KEYGEN_DER_EC_PRIVATE: return t1 == 0x02 && l1 == 1 && v1[0] == 1 && t2 == 0x04;
	default: return false;
	}
}

err_t keygen_pkey_from_der(const uint8_t *in, size_t in_len, enum keygen_der form, EVP_PKEY **out)
{
	err_t r = ERR_KEY_FORMAT;
	OSSL_DECODER_CTX *dctx = NULL;
	EVP_PKEY *pkey = NULL;
	int selection;
	const char *structure, *keytype;

	ENSURE(in != NULL && out != NULL, ERR_INVALID_ARG);
	ENSURE(keygen_libctx() != NULL, ERR_CRYPTO);
	*out = NULL;
	ENSURE(in_len > 0, ERR_KEY_FORMAT);
	ENSURE(in_len <= KEYGEN_MAX_KEY_FILE, ERR_TOO_LARGE);
	ENSURE(der_form(form, &selection, &structure, &keytype), ERR_INVALID_ARG);
	/* DER of this form: anything else (PEM, base64, another form) is not */
	ENSURE(der_shape_ok(in, in_len, form), ERR_KEY_FORMAT);
	const unsigned char *p = in;
	size_t left = in_len;
	dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, "DER", structure, keytype, selection, keygen_libctx(),
					     NULL);
	ENSURE_GOTO(dctx != NULL && OSSL_DECODER_CTX_get_num_decoders(dctx) > 0, ERR_UNSUPPORTED);
	if (OSSL_DECODER_from_data(dctx, &p, &left) != 1 || pkey == NULL)
		goto out;
	/* exactly one structure, nothing after it; and a key fount knows */
	ENSURE_GOTO(left == 0, ERR_KEY_FORMAT);
	ENSURE_GOTO(keygen_pkey_type(pkey) != NULL, ERR_KEY_FORMAT);
	/* a type-specific form names its algorithm: PKCS#1 is RSA only,
	 * ECPrivateKey EC only */
	ENSURE_GOTO(keytype == NULL || EVP_PKEY_is_a(pkey, keytype), ERR_KEY_FORMAT);
	*out = pkey;
	pkey = NULL; /* transferred */
	r = ERR_OK;
out:
	EVP_PKEY_free(pkey);
	OSSL_DECODER_CTX_free(dctx);
	return r;
}

err_t keygen_pkey_to_der(const EVP_PKEY *pkey, enum keygen_der form, uint8_t **out, size_t *out_len)
{
	err_t r = ERR_CRYPTO;
	OSSL_ENCODER_CTX *ectx = NULL;
	BIO *bio = NULL;
	BUF_MEM *mem = NULL;
	int selection;
	const char *structure, *keytype;

	ENSURE(pkey != NULL && out != NULL && out_len != NULL, ERR_INVALID_ARG);
	*out = NULL;
	*out_len = 0;
	ENSURE(der_form(form, &selection, &structure, &keytype), ERR_INVALID_ARG);
	ENSURE(keytype == NULL || EVP_PKEY_is_a(pkey, keytype), ERR_KEY_FORMAT);
	ectx = OSSL_ENCODER_CTX_new_for_pkey(pkey, selection, "DER", structure, NULL);
	ENSURE_GOTO(ectx != NULL && OSSL_ENCODER_CTX_get_num_encoders(ectx) > 0, ERR_UNSUPPORTED);
	/* the memory BIO grows with BUF_MEM_grow_clean and frees with
	 * OPENSSL_clear_free: no copy of a private key stays in the heap */
	bio = BIO_new(BIO_s_mem());
	ENSURE_GOTO(bio != NULL, ERR_NOMEM);
	if (OSSL_ENCODER_to_bio(ectx, bio) != 1 || BIO_get_mem_ptr(bio, &mem) <= 0 || mem == NULL ||
	    mem->length == 0)
		goto out;
	uint8_t *buf = secmem_alloc(mem->length, &r);
	if (buf == NULL)
		goto out;
	memcpy(buf, mem->data, mem->length);
	*out = buf;
	*out_len = mem->length;
	r = ERR_OK;
out:
	BIO_free(bio);
	OSSL_ENCODER_CTX_free(ectx);
	return r;
}

/* bn_param names the OpenSSL parameter of each number (RFC 8017 §3.2's
 * names for RSA; SEC 1 for EC). */
static const char *bn_param(enum keygen_pkey_num which, const char **keytype)
{
	*keytype = "RSA";
	switch (which) {
	case KEYGEN_NUM_RSA_N: return OSSL_PKEY_PARAM_RSA_N;
	case KEYGEN_NUM_RSA_E: return OSSL_PKEY_PARAM_RSA_E;
	case KEYGEN_NUM_RSA_D: return OSSL_PKEY_PARAM_RSA_D;
	case KEYGEN_NUM_RSA_P: return OSSL_PKEY_PARAM_RSA_FACTOR1;
	case KEYGEN_NUM_RSA_Q: return OSSL_PKEY_PARAM_RSA_FACTOR2;
	case KEYGEN_NUM_RSA_DP: return OSSL_PKEY_PARAM_RSA_EXPONENT1;
	case KEYGEN_NUM_RSA_DQ: return OSSL_PKEY_PARAM_RSA_EXPONENT2;
	case KEYGEN_NUM_RSA_QINV: return OSSL_PKEY_PARAM_RSA_COEFFICIENT1;
	case KEYGEN_NUM_EC_D: *keytype = "EC"; return OSSL_PKEY_PARAM_PRIV_KEY;
	case KEYGEN_NUM_EC_Q: *keytype = "EC"; return OSSL_PKEY_PARAM_PUB_KEY;
	default: return NULL;
	}
}

err_t keygen_pkey_number(const EVP_PKEY *pkey, enum keygen_pkey_num which, uint8_t **out, size_t *out_len)
{
	ENSURE(pkey != NULL && out != NULL && out_len != NULL, ERR_INVALID_ARG);
	*out = NULL;
	*out_len = 0;
	const char *keytype;
	const char *param = bn_param(which, &keytype);
	ENSURE(param != NULL, ERR_INVALID_ARG);
	ENSURE(EVP_PKEY_is_a(pkey, keytype), ERR_KEY_FORMAT);
	err_t r = ERR_OK;
	if (which == KEYGEN_NUM_EC_Q) {
		/* the encoded point (SEC 1 §2.3.3), as the key keeps it:
		 * uncompressed unless it was given compressed */
		size_t len = 0;
		ENSURE(EVP_PKEY_get_octet_string_param(pkey, param, NULL, 0, &len) == 1 && len > 0,
		       ERR_KEY_FORMAT);
		uint8_t *buf = secmem_alloc(len, &r);
		ENSURE(buf != NULL, r);
		if (EVP_PKEY_get_octet_string_param(pkey, param, buf, len, out_len) != 1) {
			secmem_free(buf, len);
			*out_len = 0;
			return ERR_CRYPTO;
		}
		*out = buf;
		return ERR_OK;
	}
	BIGNUM *bn = NULL;
	ENSURE(EVP_PKEY_get_bn_param(pkey, param, &bn) == 1 && bn != NULL, ERR_KEY_FORMAT);
	size_t len = (size_t)BN_num_bytes(bn);
	uint8_t *buf = secmem_alloc(len > 0 ? len : 1, &r);
	if (buf == NULL) {
		BN_clear_free(bn);
		return r;
	}
	if (len > 0 && BN_bn2bin(bn, buf) != (int)len) {
		BN_clear_free(bn);
		secmem_free(buf, len);
		return ERR_CRYPTO;
	}
	BN_clear_free(bn); /* private numbers too: cleared before free */
	*out = buf;
	*out_len = len > 0 ? len : 1; /* zero is one zero byte */
	return ERR_OK;
}

err_t keygen_cert_check_der(const uint8_t *in, size_t in_len)
{
	ENSURE(in != NULL, ERR_INVALID_ARG);
	ENSURE(in_len > 0 && in[0] == 0x30, ERR_KEY_FORMAT);
	ENSURE(in_len <= KEYGEN_MAX_KEY_FILE, ERR_TOO_LARGE);
	X509 *x = X509_new_ex(keygen_libctx(), NULL);
	ENSURE(x != NULL, ERR_NOMEM);
	const unsigned char *p = in;
	X509 *got = d2i_X509(&x, &p, (long)in_len);
	/* one certificate, nothing after it, with a public key OpenSSL reads */
	bool ok = got != NULL && (size_t)(p - in) == in_len && X509_get0_pubkey(got) != NULL;
	X509_free(x);
	return ok ? ERR_OK : ERR_KEY_FORMAT;
}
