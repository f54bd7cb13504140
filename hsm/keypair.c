/* hsm/keypair.c — the public half of a key pair fount imports, in the
 * attribute forms PKCS#11 wants, read from the EVP_PKEY (never from the
 * private half):
 *   RSA: CKA_MODULUS, CKA_PUBLIC_EXPONENT as big-endian unsigned integers
 *        (PKCS#11 v2.40 base §2.1 "Big integer"; current mechanisms §2.1.2);
 *   EC:  CKA_EC_PARAMS as the DER OID of the named curve and CKA_EC_POINT
 *        as the DER OCTET STRING of the uncompressed point (current
 *        mechanisms §2.3.3).
 * CKA_ID is SHA-1 over the subjectPublicKey bits, RFC 5280 §4.2.1.2 method
 * (1): the subject key identifier a certificate for this key would carry,
 * so a certificate stored later can be tied to the pair by CKA_ID. */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <string.h>

#include "hsm/internal.h"
#include "keygen/keygen.h"

/* The named curves both fount and SoftHSM 2.6.1 handle, with their DER
 * OIDs (SEC 2 §A.2 / RFC 5480 §2.1.1.1). */
static const struct hsm_curve curves[] = {
	{"P-256", 256, 10, {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}},
	{"P-384", 384, 7, {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22}},
	{"P-521", 521, 7, {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23}},
};

const struct hsm_curve *hsm_curve_by_oid(const uint8_t *oid, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(curves); i++)
		if (curves[i].oid_len == len && memcmp(curves[i].oid, oid, len) == 0)
			return &curves[i];
	return NULL;
}

static const struct hsm_curve *curve_by_name(const char *group)
{
	for (size_t i = 0; i < ARRAY_SIZE(curves); i++)
		if (strcmp(curves[i].group, group) == 0)
			return &curves[i];
	return NULL;
}

/* bn_param copies the BIGNUM parameter |name| of |pkey| big-endian into
 * |out| (no leading zeros, as PKCS#11 big integers are). */
static err_t bn_param(const EVP_PKEY *pkey, const char *name, uint8_t *out, size_t cap,
		      size_t *out_len)
{
	BIGNUM *bn = NULL;
	err_t r = ERR_KEY_FORMAT;
	if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1 || bn == NULL)
		goto out;
	int n = BN_num_bytes(bn);
	ENSURE_GOTO(n > 0 && (size_t)n <= cap, ERR_KEY_FORMAT);
	ENSURE_GOTO(BN_bn2bin(bn, out) == n, ERR_CRYPTO);
	*out_len = (size_t)n;
	r = ERR_OK;
out:
	BN_free(bn); /* public values: no need to clear */
	return r;
}

/* ec_point encodes the public point as a DER OCTET STRING (X.690 §8.7)
 * around the uncompressed point 04 || X || Y (SEC 1 §2.3.3). */
static err_t ec_point(const EVP_PKEY *pkey, const struct hsm_curve *c, struct hsm_pub *p)
{
	uint8_t pt[1 + 2 * 66];
	size_t len = 0, field = (c->bits + 7) / 8;
	if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt),
					    &len) != 1)
		return ERR_KEY_FORMAT;
	/* fount writes uncompressed points; a compressed one (02/03) would
	 * need decompressing first, which nothing fount makes needs */
	ENSURE(len == 1 + 2 * field && pt[0] == 0x04, ERR_KEY_FORMAT);
	size_t k = 0;
	p->ec_point[k++] = 0x04; /* OCTET STRING */
	if (len > 127)
		p->ec_point[k++] = 0x81; /* long form, one length byte (P-521: 133) */
	p->ec_point[k++] = (uint8_t)len;
	memcpy(p->ec_point + k, pt, len);
	p->ec_point_len = k + len;
	return ERR_OK;
}

/* key_id is SHA-1 over i2d_PublicKey: the RSAPublicKey DER for RSA, the
 * point octets for EC — the subjectPublicKey bits of RFC 5280 §4.2.1.2. */
static err_t key_id(const EVP_PKEY *pkey, uint8_t id[HSM_KEYPAIR_ID_LEN])
{
	err_t r = ERR_CRYPTO;
	unsigned char *der = NULL;
	unsigned int md_len = 0;
	EVP_MD *sha1 = EVP_MD_fetch(keygen_libctx(), "SHA1", NULL);
	int n = i2d_PublicKey(pkey, &der);
	ENSURE_GOTO(sha1 != NULL && n > 0, ERR_CRYPTO);
	ENSURE_GOTO(EVP_Digest(der, (size_t)n, id, &md_len, sha1, NULL) == 1 &&
			    md_len == HSM_KEYPAIR_ID_LEN,
		    ERR_CRYPTO);
	r = ERR_OK;
out:
	OPENSSL_free(der);
	EVP_MD_free(sha1);
	return r;
}

err_t hsm_pub_from_pkey(const struct evp_pkey_st *pkey, struct hsm_pub *p)
{
	const struct keygen_type *t = keygen_pkey_type(pkey);
	memset(p, 0, sizeof(*p));
	ENSURE(t != NULL, ERR_KEY_FORMAT);
	switch (t->kind) {
	case KEYGEN_KIND_RSA:
		/* the sizes keygen makes and SoftHSM takes (512 to 16384) */
		ENSURE(t->bits >= 2048 && t->bits <= 4096, ERR_UNSUPPORTED);
		p->kt = CKK_RSA;
		GUARD(bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, p->modulus, sizeof(p->modulus),
			       &p->modulus_len));
		GUARD(bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, p->exponent, sizeof(p->exponent),
			       &p->exponent_len));
		break;
	case KEYGEN_KIND_EC:
		p->kt = CKK_EC;
		p->curve = curve_by_name(t->group);
		ENSURE(p->curve != NULL, ERR_UNSUPPORTED);
		GUARD(ec_point(pkey, p->curve, p));
		break;
	case KEYGEN_KIND_ED25519:
	case KEYGEN_KIND_X25519:
	case KEYGEN_KIND_SYM:
	default:
		/* Ed25519/X25519 need CKK_EC_EDWARDS/CKK_EC_MONTGOMERY (PKCS#11
		 * v3.0), which fount does not speak to HSMs */
		return ERR_UNSUPPORTED;
	}
	p->type = t;
	return key_id(pkey, p->id);
}
