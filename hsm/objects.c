/* hsm/objects.c — objects on the token: listing, generation inside the
 * HSM, import by unwrap, export by wrap, and the key store's KEK.
 *
 * Attribute semantics are PKCS#11 v2.40 base §4 (object classes: §4.4
 * common storage, §4.9 secret keys — CKA_SENSITIVE, CKA_EXTRACTABLE,
 * CKA_WRAP/CKA_UNWRAP); mechanisms are PKCS#11 v2.40 current mechanisms
 * §2.1 (RSA), §2.3 (EC), §2.8 (AES) and §2.14 (AES key wrap:
 * CKM_AES_KEY_WRAP_PAD is RFC 5649). */
#include <stdio.h>
#include <string.h>

#include "hsm/internal.h"

static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;

/* templates are in-only for these calls, but CK_ATTRIBUTE has a non-const
 * pointer (PKCS#11 v2.40 §3.4) */
#define ATTR(t, p, l) {(t), (void *)(uintptr_t)(p), (CK_ULONG)(l)}
#define ATTR_BOOL(t, b) {(t), (b) ? &yes : &no, sizeof(CK_BBOOL)}

err_t hsm_key_type_parse(const char *s, enum hsm_key_type *out)
{
	static const struct { const char *name; enum hsm_key_type t; } types[] = {
		{"aes-128", HSM_KEY_AES_128}, {"aes-256", HSM_KEY_AES_256},
		{"rsa-3072", HSM_KEY_RSA_3072}, {"ec-p256", HSM_KEY_EC_P256},
	};
	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		if (strcmp(s, types[i].name) == 0) {
			*out = types[i].t;
			return ERR_OK;
		}
	}
	return ERR_INVALID_ARG;
}

static CK_ULONG aes_len(enum hsm_key_type t)
{
	switch (t) {
	case HSM_KEY_AES_128: return 16;
	case HSM_KEY_AES_256: return 32;
	case HSM_KEY_RSA_3072:
	case HSM_KEY_EC_P256:
	default: return 0;
	}
}

CK_RV hsm_find_one(struct hsm *h, CK_SESSION_HANDLE s, const char *label,
		   CK_OBJECT_CLASS cls, CK_OBJECT_HANDLE *out)
{
	CK_ATTRIBUTE tmpl[2] = {
		ATTR(CKA_LABEL, label, strlen(label)),
		ATTR(CKA_CLASS, &cls, sizeof(cls)),
	};
	CK_OBJECT_HANDLE found[2];
	CK_ULONG n = 0;
	CK_RV rv = h->fn->C_FindObjectsInit(s, tmpl, cls == (CK_ULONG)-1 ? 1 : 2);
	if (rv != CKR_OK)
		return rv;
	rv = h->fn->C_FindObjects(s, found, ARRAY_SIZE(found), &n);
	CK_RV rv2 = h->fn->C_FindObjectsFinal(s);
	if (rv == CKR_OK)
		rv = rv2;
	if (rv != CKR_OK)
		return rv;
	if (n == 0)
		return HSM_RV_NOT_FOUND;
	if (n > 1)
		return HSM_RV_DUPLICATE;
	*out = found[0];
	return CKR_OK;
}

/* label_free is CKR_OK when nothing is labelled |label| yet. */
static CK_RV label_free(struct hsm *h, CK_SESSION_HANDLE s, const char *label)
{
	CK_OBJECT_HANDLE o;
	CK_RV rv = hsm_find_one(h, s, label, (CK_ULONG)-1, &o);
	if (rv == HSM_RV_NOT_FOUND)
		return CKR_OK;
	return rv == CKR_OK ? HSM_RV_DUPLICATE : rv;
}

/* ---- listing ---------------------------------------------------------- */

struct list_args {
	struct hsm_object_info *out;
	size_t max, n;
};

static const char *class_name(CK_OBJECT_CLASS c)
{
	switch (c) {
	case CKO_DATA: return "data";
	case CKO_CERTIFICATE: return "certificate";
	case CKO_PUBLIC_KEY: return "public-key";
	case CKO_PRIVATE_KEY: return "private-key";
	case CKO_SECRET_KEY: return "secret-key";
	default: return "other";
	}
}

static const char *key_type_name(CK_KEY_TYPE k)
{
	switch (k) {
	case CKK_AES: return "aes";
	case CKK_RSA: return "rsa";
	case CKK_EC: return "ec";
	case CKK_GENERIC_SECRET: return "generic";
	case CKK_DES3: return "des3";
	default: return "other";
	}
}

static int tri(const CK_ATTRIBUTE *a, CK_BBOOL v)
{
	return a->ulValueLen == sizeof(CK_BBOOL) ? (v ? 1 : 0) : -1;
}

static void describe(struct hsm *h, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
		     struct hsm_object_info *info)
{
	char label[64] = {0};
	uint8_t id[32] = {0};
	CK_OBJECT_CLASS cls = (CK_ULONG)-1;
	CK_KEY_TYPE kt = (CK_ULONG)-1;
	CK_BBOOL sens = CK_FALSE, extr = CK_FALSE;
	CK_ULONG value_len = 0, modulus_bits = 0;
	uint8_t ec_params[64];
	CK_ATTRIBUTE a[] = {
		ATTR(CKA_LABEL, label, sizeof(label)),
		ATTR(CKA_ID, id, sizeof(id)),
		ATTR(CKA_CLASS, &cls, sizeof(cls)),
		ATTR(CKA_KEY_TYPE, &kt, sizeof(kt)),
		ATTR(CKA_SENSITIVE, &sens, sizeof(sens)),
		ATTR(CKA_EXTRACTABLE, &extr, sizeof(extr)),
		ATTR(CKA_VALUE_LEN, &value_len, sizeof(value_len)),
		ATTR(CKA_MODULUS_BITS, &modulus_bits, sizeof(modulus_bits)),
		ATTR(CKA_EC_PARAMS, ec_params, sizeof(ec_params)),
		ATTR(CKA_MODULUS, NULL, 0), /* length only */
	};
	/* PKCS#11 v2.40 §5.7 C_GetAttributeValue: an attribute that does not
	 * apply (or is too long) gets CK_UNAVAILABLE_INFORMATION and the call
	 * still fills the others, returning CKR_ATTRIBUTE_TYPE_INVALID /
	 * _SENSITIVE / CKR_BUFFER_TOO_SMALL */
	(void)h->fn->C_GetAttributeValue(s, o, a, ARRAY_SIZE(a));
	memset(info, 0, sizeof(*info));
	if (a[0].ulValueLen != CK_UNAVAILABLE_INFORMATION && a[0].ulValueLen < sizeof(label))
		memcpy(info->label, label, a[0].ulValueLen);
	if (a[1].ulValueLen != CK_UNAVAILABLE_INFORMATION && a[1].ulValueLen <= sizeof(id))
		hex_encode(info->id_hex, id, a[1].ulValueLen);
	info->class_name = a[2].ulValueLen == sizeof(cls) ? class_name(cls) : "other";
	info->key_type = a[3].ulValueLen == sizeof(kt) ? key_type_name(kt) : "";
	info->sensitive = tri(&a[4], sens);
	info->extractable = tri(&a[5], extr);
	if (a[6].ulValueLen == sizeof(value_len))
		info->bits = value_len * 8;
	else if (a[7].ulValueLen == sizeof(modulus_bits))
		info->bits = modulus_bits;
	else if (a[9].ulValueLen != CK_UNAVAILABLE_INFORMATION && a[9].ulValueLen > 0)
		info->bits = a[9].ulValueLen * 8; /* SoftHSM 2.6.1 sets no CKA_MODULUS_BITS on private keys */
	else if (a[8].ulValueLen != CK_UNAVAILABLE_INFORMATION &&
		 hsm_curve_by_oid(ec_params, a[8].ulValueLen) != NULL)
		info->bits = hsm_curve_by_oid(ec_params, a[8].ulValueLen)->bits;
}

static CK_RV op_list(struct hsm *h, CK_SESSION_HANDLE s, void *arg)
{
	struct list_args *la = arg;
	CK_OBJECT_HANDLE batch[32];
	CK_ULONG k = 0;
	la->n = 0;
	CK_RV rv = h->fn->C_FindObjectsInit(s, NULL, 0);
	if (rv != CKR_OK)
		return rv;
	while ((rv = h->fn->C_FindObjects(s, batch, ARRAY_SIZE(batch), &k)) == CKR_OK && k > 0) {
		for (CK_ULONG i = 0; i < k; i++, la->n++)
			if (la->out != NULL && la->n < la->max)
				describe(h, s, batch[i], &la->out[la->n]);
	}
	CK_RV rv2 = h->fn->C_FindObjectsFinal(s);
	return rv != CKR_OK ? rv : rv2;
}

err_t hsm_list_objects(struct hsm *h, struct hsm_object_info *out, size_t max, size_t *n)
{
	struct list_args la = {out, max, 0};
	err_t r = hsm_run_inventory(h, op_list, &la, "list objects");
	*n = la.n;
	return r;
}

/* ---- generation ---------------------------------------------------------- */

struct gen_args {
	enum hsm_key_type type;
	const char *label;
	unsigned flags;
};

/* EC P-256 as the DER OID prime256v1 (1.2.840.10045.3.1.7), the form of
 * CKA_EC_PARAMS in PKCS#11 v2.40 current mechanisms §2.3.3. */
static const uint8_t p256_oid[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
static const uint8_t f4[] = {0x01, 0x00, 0x01}; /* RSA public exponent 65537 */

static CK_RV op_generate(struct hsm *h, CK_SESSION_HANDLE s, void *arg)
{
	struct gen_args *g = arg;
	uint8_t id[8];
	CK_OBJECT_HANDLE pub, priv, key;
	bool extractable = g->flags & HSM_KEY_EXTRACTABLE, kek = g->flags & HSM_KEY_KEK;
	CK_RV rv = label_free(h, s, g->label);
	if (rv != CKR_OK)
		return rv;
	/* a random CKA_ID ties the halves of a pair together, as tools expect */
	if ((rv = h->fn->C_GenerateRandom(s, id, sizeof(id))) != CKR_OK)
		return rv;

	switch (g->type) {
	case HSM_KEY_AES_128:
	case HSM_KEY_AES_256: {
		CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
		CK_KEY_TYPE kt = CKK_AES;
		CK_ULONG len = aes_len(g->type);
		CK_MECHANISM mech = {CKM_AES_KEY_GEN, NULL, 0};
		CK_ATTRIBUTE t[] = {
			ATTR(CKA_CLASS, &cls, sizeof(cls)), ATTR(CKA_KEY_TYPE, &kt, sizeof(kt)),
			ATTR(CKA_VALUE_LEN, &len, sizeof(len)), ATTR(CKA_LABEL, g->label, strlen(g->label)),
			ATTR(CKA_ID, id, sizeof(id)), ATTR_BOOL(CKA_TOKEN, true),
			ATTR_BOOL(CKA_PRIVATE, true), ATTR_BOOL(CKA_SENSITIVE, true),
			ATTR_BOOL(CKA_EXTRACTABLE, extractable), ATTR_BOOL(CKA_ENCRYPT, !kek),
			ATTR_BOOL(CKA_DECRYPT, !kek), ATTR_BOOL(CKA_WRAP, kek), ATTR_BOOL(CKA_UNWRAP, kek),
		};
		return h->fn->C_GenerateKey(s, &mech, t, ARRAY_SIZE(t), &key);
	}
	case HSM_KEY_RSA_3072:
	case HSM_KEY_EC_P256: {
		bool rsa = g->type == HSM_KEY_RSA_3072;
		CK_ULONG bits = 3072;
		CK_MECHANISM mech = {rsa ? CKM_RSA_PKCS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN, NULL, 0};
		CK_ATTRIBUTE pt[] = {
			ATTR(CKA_LABEL, g->label, strlen(g->label)), ATTR(CKA_ID, id, sizeof(id)),
			ATTR_BOOL(CKA_TOKEN, true), ATTR_BOOL(CKA_VERIFY, true),
			rsa ? (CK_ATTRIBUTE)ATTR(CKA_MODULUS_BITS, &bits, sizeof(bits))
			    : (CK_ATTRIBUTE)ATTR(CKA_EC_PARAMS, p256_oid, sizeof(p256_oid)),
			rsa ? (CK_ATTRIBUTE)ATTR(CKA_PUBLIC_EXPONENT, f4, sizeof(f4))
			    : (CK_ATTRIBUTE)ATTR_BOOL(CKA_PRIVATE, false),
		};
		CK_ATTRIBUTE st[] = {
			ATTR(CKA_LABEL, g->label, strlen(g->label)), ATTR(CKA_ID, id, sizeof(id)),
			ATTR_BOOL(CKA_TOKEN, true), ATTR_BOOL(CKA_PRIVATE, true),
			ATTR_BOOL(CKA_SENSITIVE, true), ATTR_BOOL(CKA_EXTRACTABLE, extractable),
			ATTR_BOOL(CKA_SIGN, true),
		};
		return h->fn->C_GenerateKeyPair(s, &mech, pt, ARRAY_SIZE(pt), st, ARRAY_SIZE(st),
						&pub, &priv);
	}
	default:
		return CKR_MECHANISM_INVALID;
	}
}

err_t hsm_generate(struct hsm *h, enum hsm_key_type type, const char *label, unsigned flags)
{
	ENSURE(label[0] != '\0' && strlen(label) < 64, ERR_INVALID_ARG);
	ENSURE(!(flags & HSM_KEY_KEK) || aes_len(type) != 0, ERR_INVALID_ARG);
	struct gen_args g = {type, label, flags};
	return hsm_run(h, op_generate, &g, "generate key");
}

static CK_RV op_destroy(struct hsm *h, CK_SESSION_HANDLE s, void *arg)
{
	const char *label = arg;
	CK_ATTRIBUTE t[] = {ATTR(CKA_LABEL, label, strlen(label))};
	CK_OBJECT_HANDLE found[16];
	CK_ULONG n = 0;
	CK_RV rv = h->fn->C_FindObjectsInit(s, t, 1);
	if (rv != CKR_OK)
		return rv;
	rv = h->fn->C_FindObjects(s, found, ARRAY_SIZE(found), &n);
	CK_RV rv2 = h->fn->C_FindObjectsFinal(s);
	if (rv == CKR_OK)
		rv = rv2;
	if (rv != CKR_OK)
		return rv;
	if (n == 0)
		return HSM_RV_NOT_FOUND;
	for (CK_ULONG i = 0; i < n && rv == CKR_OK; i++)
		rv = h->fn->C_DestroyObject(s, found[i]);
	return rv;
}

err_t hsm_destroy(struct hsm *h, const char *label)
{
	return hsm_run_inventory(h, op_destroy, (void *)(uintptr_t)label, "destroy");
}

/* ---- wrapping ---------------------------------------------------------------- */

struct wrap_args {
	const char *kek_label, *label;
	unsigned flags;
	const uint8_t *in;
	size_t in_len;
	uint8_t *out;
	size_t cap, out_len;
};

static CK_MECHANISM kwp = {CKM_AES_KEY_WRAP_PAD, NULL, 0}; /* RFC 5649, default IV */

static CK_RV op_kek_install(struct hsm *h, CK_SESSION_HANDLE s, void *arg)
{
	struct wrap_args *w = arg;
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_AES;
	CK_OBJECT_HANDLE o;
	uint8_t id[8];
	CK_RV rv = label_free(h, s, w->label);
	if (rv != CKR_OK)
		return rv;
	if ((rv = h->fn->C_GenerateRandom(s, id, sizeof(id))) != CKR_OK)
		return rv;
	CK_ATTRIBUTE t[] = {
		ATTR(CKA_CLASS, &cls, sizeof(cls)), ATTR(CKA_KEY_TYPE, &kt, sizeof(kt)),
		ATTR(CKA_VALUE, w->in, w->in_len), ATTR(CKA_LABEL, w->label, strlen(w->label)),
		ATTR(CKA_ID, id, sizeof(id)), ATTR_BOOL(CKA_TOKEN, true),
		ATTR_BOOL(CKA_PRIVATE, true), ATTR_BOOL(CKA_SENSITIVE, true),
		ATTR_BOOL(CKA_EXTRACTABLE, false), ATTR_BOOL(CKA_WRAP, true),
		ATTR_BOOL(CKA_UNWRAP, true), ATTR_BOOL(CKA_ENCRYPT, false),
		ATTR_BOOL(CKA_DECRYPT, false),
	};
	return h->fn->C_CreateObject(s, t, ARRAY_SIZE(t), &o);
}

err_t hsm_kek_install(struct hsm *h, const char *label, const uint8_t *kek, size_t kek_len,
		      unsigned flags)
{
	ENSURE(kek_len == 16 || kek_len == 32, ERR_INVALID_ARG);
	ENSURE(label[0] != '\0' && strlen(label) < 64, ERR_INVALID_ARG);
	struct wrap_args w = {.label = label, .in = kek, .in_len = kek_len, .flags = flags};
	return hsm_run(h, op_kek_install, &w, "install KEK");
}

/* unwrap_rv: SoftHSM 2.6.1 answers a failed RFC 5649 integrity check
 * (wrong KEK, corrupted blob) to C_UnwrapKey with CKR_GENERAL_ERROR rather
 * than CKR_WRAPPED_KEY_INVALID (PKCS#11 v2.40 §5.14). With a KEK handle and
 * mechanism already known good, that is what it means. */
static CK_RV unwrap_rv(CK_RV rv)
{
	if (rv == CKR_GENERAL_ERROR || rv == CKR_FUNCTION_FAILED) {
		log_debug("hsm: C_UnwrapKey: %s taken as CKR_WRAPPED_KEY_INVALID", hsm_rv_name(rv));
		return CKR_WRAPPED_KEY_INVALID;
	}
	return rv;
}

/* What an import unwraps into. */
struct import_args {
	const char *kek_label, *label;
	unsigned flags;
	const uint8_t *in;
	size_t in_len;
	CK_OBJECT_CLASS cls;       /* CKO_SECRET_KEY or CKO_PRIVATE_KEY */
	CK_KEY_TYPE kt;            /* CKK_AES, CKK_RSA or CKK_EC */
	CK_ULONG want_len;         /* AES: the key size asked for */
	const struct hsm_pub *pub; /* key pairs: the public half; else NULL */
};

/* check_aes_len: SoftHSM 2.6.1 leaves CKA_VALUE_LEN at 0 on unwrapped
 * keys; a token that reports a length must report the one asked for (an
 * unwrapped key of the wrong size is not the key asked for). */
static CK_RV check_aes_len(struct hsm *h, CK_SESSION_HANDLE s, const struct import_args *a,
			   CK_OBJECT_HANDLE key)
{
	CK_ULONG value_len = 0;
	CK_ATTRIBUTE vl = ATTR(CKA_VALUE_LEN, &value_len, sizeof(value_len));
	CK_RV rv = h->fn->C_GetAttributeValue(s, key, &vl, 1);
	if (rv != CKR_OK)
		return rv;
	return value_len != 0 && value_len != a->want_len ? CKR_WRAPPED_KEY_INVALID : CKR_OK;
}

/* pair_pct signs a fixed 32-byte value with the new private key and
 * verifies it with the new public key, both inside the HSM: the
 * pairwise-consistency test of FIPS 140-3 IG 10.3.A, here proving that the
 * public object describes the private key the HSM unwrapped. SoftHSM 2.6.1
 * has no CKM_ECDSA_SHA256, so EC signs the value as a digest (CKM_ECDSA,
 * current mechanisms §2.3.6); RSA uses CKM_SHA256_RSA_PKCS (§2.1.12). */
static CK_RV pair_pct(struct hsm *h, CK_SESSION_HANDLE s, bool rsa, CK_OBJECT_HANDLE priv,
		      CK_OBJECT_HANDLE pub)
{
	static const uint8_t msg[32] = "fount HSM import pairwise test";
	CK_MECHANISM m = {rsa ? CKM_SHA256_RSA_PKCS : CKM_ECDSA, NULL, 0};
	uint8_t sig[512];
	CK_ULONG sig_len = sizeof(sig);
	CK_RV rv = h->fn->C_SignInit(s, &m, priv);
	if (rv == CKR_OK)
		rv = h->fn->C_Sign(s, (CK_BYTE_PTR)(uintptr_t)msg, sizeof(msg), sig, &sig_len);
	if (rv == CKR_OK)
		rv = h->fn->C_VerifyInit(s, &m, pub);
	if (rv == CKR_OK)
		rv = h->fn->C_Verify(s, (CK_BYTE_PTR)(uintptr_t)msg, sizeof(msg), sig, sig_len);
	if (rv == CKR_SIGNATURE_INVALID || rv == CKR_SIGNATURE_LEN_RANGE)
		return HSM_RV_MISMATCH;
	return rv;
}

/* add_public creates the public half of an imported pair (PKCS#11 v2.40
 * base §4.8, current mechanisms §2.1.2 RSA / §2.3.3 EC public key objects)
 * and checks it against the private half. */
static CK_RV add_public(struct hsm *h, CK_SESSION_HANDLE s, const struct import_args *a,
			CK_OBJECT_HANDLE priv)
{
	const struct hsm_pub *p = a->pub;
	bool rsa = p->kt == CKK_RSA;
	CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
	CK_OBJECT_HANDLE pub;
	CK_ATTRIBUTE t[] = {
		ATTR(CKA_CLASS, &cls, sizeof(cls)), ATTR(CKA_KEY_TYPE, &p->kt, sizeof(p->kt)),
		ATTR(CKA_LABEL, a->label, strlen(a->label)), ATTR(CKA_ID, p->id, sizeof(p->id)),
		ATTR_BOOL(CKA_TOKEN, true), ATTR_BOOL(CKA_PRIVATE, false),
		ATTR_BOOL(CKA_VERIFY, true), ATTR_BOOL(CKA_ENCRYPT, rsa), ATTR_BOOL(CKA_WRAP, false),
		rsa ? (CK_ATTRIBUTE)ATTR(CKA_MODULUS, p->modulus, p->modulus_len)
		    : (CK_ATTRIBUTE)ATTR(CKA_EC_PARAMS, p->curve->oid, p->curve->oid_len),
		rsa ? (CK_ATTRIBUTE)ATTR(CKA_PUBLIC_EXPONENT, p->exponent, p->exponent_len)
		    : (CK_ATTRIBUTE)ATTR(CKA_EC_POINT, p->ec_point, p->ec_point_len),
	};
	CK_RV rv = h->fn->C_CreateObject(s, t, ARRAY_SIZE(t), &pub);
	if (rv != CKR_OK)
		return rv;
	if ((rv = pair_pct(h, s, rsa, priv, pub)) != CKR_OK)
		(void)h->fn->C_DestroyObject(s, pub); /* no half pair is left */
	return rv;
}

/* op_import: the one unwrap-into-the-HSM path, for AES keys and for the
 * private halves of key pairs. */
static CK_RV op_import(struct hsm *h, CK_SESSION_HANDLE s, void *arg)
{
	struct import_args *a = arg;
	CK_OBJECT_HANDLE kek, key;
	uint8_t rid[8];
	const uint8_t *id = rid;
	size_t id_len = sizeof(rid);
	bool pair = a->pub != NULL, rsa = a->kt == CKK_RSA;
	bool extractable = a->flags & HSM_KEY_EXTRACTABLE;
	CK_RV rv = hsm_find_one(h, s, a->kek_label, CKO_SECRET_KEY, &kek);
	if (rv != CKR_OK)
		return rv;
	if ((rv = label_free(h, s, a->label)) != CKR_OK)
		return rv;
	if (pair) {
		id = a->pub->id; /* one CKA_ID for both halves */
		id_len = sizeof(a->pub->id);
	} else if ((rv = h->fn->C_GenerateRandom(s, rid, sizeof(rid))) != CKR_OK) {
		return rv;
	}
	CK_ATTRIBUTE t[] = {
		ATTR(CKA_CLASS, &a->cls, sizeof(a->cls)), ATTR(CKA_KEY_TYPE, &a->kt, sizeof(a->kt)),
		ATTR(CKA_LABEL, a->label, strlen(a->label)), ATTR(CKA_ID, id, id_len),
		ATTR_BOOL(CKA_TOKEN, true), ATTR_BOOL(CKA_PRIVATE, true),
		ATTR_BOOL(CKA_SENSITIVE, true), ATTR_BOOL(CKA_EXTRACTABLE, extractable),
		/* AES: encrypt/decrypt; RSA: sign/decrypt; EC: sign. Never a KEK:
		 * SoftHSM 2.6.1 defaults CKA_UNWRAP (and CKA_WRAP) to true */
		ATTR_BOOL(CKA_DECRYPT, !pair || rsa), ATTR_BOOL(CKA_UNWRAP, false),
		pair ? (CK_ATTRIBUTE)ATTR_BOOL(CKA_SIGN, true) : (CK_ATTRIBUTE)ATTR_BOOL(CKA_ENCRYPT, true),
		/* CKA_WRAP belongs to secret and public keys only (§4.8-4.10) */
		pair ? (CK_ATTRIBUTE)ATTR_BOOL(CKA_SIGN_RECOVER, false) : (CK_ATTRIBUTE)ATTR_BOOL(CKA_WRAP, false),
	};
	/* PKCS#11 v2.40 §5.14 C_UnwrapKey: the HSM decrypts inside itself and
	 * makes the object from |t|; the plaintext never comes back. For a
	 * private key the plaintext is PKCS#8 PrivateKeyInfo, which SoftHSM
	 * 2.6.1 decodes itself (its key material fills CKA_MODULUS etc. or
	 * CKA_EC_PARAMS/CKA_VALUE; the template must not carry them) */
	rv = h->fn->C_UnwrapKey(s, &kwp, kek, (CK_BYTE_PTR)(uintptr_t)a->in, a->in_len, t,
				ARRAY_SIZE(t), &key);
	if (rv != CKR_OK)
		return unwrap_rv(rv);
	rv = pair ? add_public(h, s, a, key) : check_aes_len(h, s, a, key);
	if (rv != CKR_OK && h->fn->C_DestroyObject(s, key) != CKR_OK) {
		/* not the key asked for, and it stays: a retry (hsm_run retries
		 * when the session went away) would only meet it as a duplicate
		 * label, so stop here and say what is on the token */
		log_error("hsm%s%s: import of '%s' failed and its half-made object could not "
			  "be removed; check 'fount hsm objects' and destroy it",
			  h->name[0] ? "." : "", h->name, a->label);
		return HSM_RV_ORPHAN;
	}
	return rv;
}

static err_t import(struct hsm *h, struct import_args *a)
{
	ENSURE(a->label[0] != '\0' && strlen(a->label) < 64, ERR_INVALID_ARG);
	ENSURE(a->in_len >= 16 && a->in_len <= HSM_WRAPPED_MAX && a->in_len % 8 == 0,
	       ERR_INVALID_ARG);
	return hsm_run(h, op_import, a, "import (unwrap)");
}

err_t hsm_import_wrapped(struct hsm *h, const char *kek_label, const uint8_t *wrapped,
			 size_t wrapped_len, enum hsm_key_type type, const char *label,
			 unsigned flags)
{
	ENSURE(aes_len(type) != 0, ERR_UNSUPPORTED);
	struct import_args a = {.kek_label = kek_label, .label = label, .flags = flags,
				.in = wrapped, .in_len = wrapped_len, .cls = CKO_SECRET_KEY,
				.kt = CKK_AES, .want_len = aes_len(type)};
	return import(h, &a);
}

err_t hsm_import_keypair(struct hsm *h, const char *kek_label, const uint8_t *wrapped,
			 size_t wrapped_len, const struct evp_pkey_st *pub, const char *label,
			 unsigned flags)
{
	struct hsm_pub p;
	ENSURE(!(flags & HSM_KEY_KEK), ERR_INVALID_ARG);
	GUARD(hsm_pub_from_pkey(pub, &p));
	struct import_args a = {.kek_label = kek_label, .label = label, .flags = flags,
				.in = wrapped, .in_len = wrapped_len, .cls = CKO_PRIVATE_KEY,
				.kt = p.kt, .pub = &p};
	return import(h, &a);
}

static CK_RV wrap_object(struct hsm *h, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE kek,
			 CK_OBJECT_HANDLE key, struct wrap_args *w)
{
	CK_ULONG len = (CK_ULONG)w->cap;
	CK_RV rv = h->fn->C_WrapKey(s, &kwp, kek, key, w->out, &len);
	if (rv == CKR_OK)
		w->out_len = len;
	return rv;
}

static CK_RV op_export(struct hsm *h, CK_SESSION_HANDLE s, void *arg)
{
	struct wrap_args *w = arg;
	CK_OBJECT_HANDLE kek, key;
	CK_RV rv = hsm_find_one(h, s, w->kek_label, CKO_SECRET_KEY, &kek);
	if (rv == CKR_OK)
		rv = hsm_find_one(h, s, w->label, CKO_SECRET_KEY, &key);
	if (rv == HSM_RV_NOT_FOUND)
		rv = hsm_find_one(h, s, w->label, CKO_PRIVATE_KEY, &key);
	if (rv != CKR_OK)
		return rv;
	return wrap_object(h, s, kek, key, w);
}

err_t hsm_export_wrapped(struct hsm *h, const char *kek_label, const char *label,
			 uint8_t *out, size_t cap, size_t *out_len)
{
	struct wrap_args w = {.kek_label = kek_label, .label = label, .out = out, .cap = cap};
	*out_len = 0;
	GUARD(hsm_run(h, op_export, &w, "export (wrap)"));
	*out_len = w.out_len;
	return ERR_OK;
}

/* ---- the key store's KEK ------------------------------------------------------- */

static CK_RV op_kek_wrap(struct hsm *h, CK_SESSION_HANDLE s, void *arg)
{
	struct wrap_args *w = arg;
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_GENERIC_SECRET;
	CK_OBJECT_HANDLE kek, tmp;
	CK_RV rv = hsm_find_one(h, s, w->kek_label, CKO_SECRET_KEY, &kek);
	if (rv != CKR_OK)
		return rv;
	/* a session object (CKA_TOKEN false) lives only in this session and is
	 * destroyed right after the wrap (PKCS#11 v2.40 §4.4) */
	CK_ATTRIBUTE t[] = {
		ATTR(CKA_CLASS, &cls, sizeof(cls)), ATTR(CKA_KEY_TYPE, &kt, sizeof(kt)),
		ATTR(CKA_VALUE, w->in, w->in_len), ATTR_BOOL(CKA_TOKEN, false),
		ATTR_BOOL(CKA_SENSITIVE, true), ATTR_BOOL(CKA_EXTRACTABLE, true),
	};
	if ((rv = h->fn->C_CreateObject(s, t, ARRAY_SIZE(t), &tmp)) != CKR_OK)
		return rv;
	rv = wrap_object(h, s, kek, tmp, w);
	CK_RV rv2 = h->fn->C_DestroyObject(s, tmp);
	return rv != CKR_OK ? rv : rv2;
}

err_t hsm_kek_wrap(struct hsm *h, const char *kek_label, const uint8_t *key, size_t key_len,
		   uint8_t *out, size_t cap, size_t *out_len)
{
	ENSURE(key_len >= 1 && key_len <= HSM_KEY_MAX, ERR_INVALID_ARG);
	struct wrap_args w = {.kek_label = kek_label, .in = key, .in_len = key_len,
			      .out = out, .cap = cap};
	*out_len = 0;
	GUARD(hsm_run(h, op_kek_wrap, &w, "KEK wrap"));
	*out_len = w.out_len;
	return ERR_OK;
}

static CK_RV op_kek_unwrap(struct hsm *h, CK_SESSION_HANDLE s, void *arg)
{
	struct wrap_args *w = arg;
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_GENERIC_SECRET;
	CK_OBJECT_HANDLE kek, tmp;
	CK_RV rv = hsm_find_one(h, s, w->kek_label, CKO_SECRET_KEY, &kek);
	if (rv != CKR_OK)
		return rv;
	CK_ATTRIBUTE t[] = {
		ATTR(CKA_CLASS, &cls, sizeof(cls)), ATTR(CKA_KEY_TYPE, &kt, sizeof(kt)),
		ATTR_BOOL(CKA_TOKEN, false), ATTR_BOOL(CKA_SENSITIVE, false),
		ATTR_BOOL(CKA_EXTRACTABLE, true),
	};
	rv = h->fn->C_UnwrapKey(s, &kwp, kek, (CK_BYTE_PTR)(uintptr_t)w->in, w->in_len, t,
				ARRAY_SIZE(t), &tmp);
	if (rv != CKR_OK)
		return unwrap_rv(rv);
	CK_ATTRIBUTE v = ATTR(CKA_VALUE, NULL, 0);
	rv = h->fn->C_GetAttributeValue(s, tmp, &v, 1);
	if (rv == CKR_OK && v.ulValueLen > w->cap)
		rv = HSM_RV_TOO_SMALL;
	if (rv == CKR_OK) {
		v.pValue = w->out;
		rv = h->fn->C_GetAttributeValue(s, tmp, &v, 1);
		if (rv == CKR_OK)
			w->out_len = v.ulValueLen;
	}
	CK_RV rv2 = h->fn->C_DestroyObject(s, tmp);
	return rv != CKR_OK ? rv : rv2;
}

err_t hsm_kek_unwrap(struct hsm *h, const char *kek_label, const uint8_t *wrapped,
		     size_t wrapped_len, uint8_t *out, size_t cap, size_t *out_len)
{
	ENSURE(wrapped_len >= 16 && wrapped_len <= HSM_WRAPPED_MAX && wrapped_len % 8 == 0,
	       ERR_INVALID_ARG);
	struct wrap_args w = {.kek_label = kek_label, .in = wrapped, .in_len = wrapped_len,
			      .out = out, .cap = cap};
	*out_len = 0;
	err_t r = hsm_run(h, op_kek_unwrap, &w, "KEK unwrap");
	if (r != ERR_OK) {
		secure_zero(out, cap);
		return r;
	}
	*out_len = w.out_len;
	return ERR_OK;
}
