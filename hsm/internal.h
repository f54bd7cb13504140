/* hsm/internal.h — private to hsm/: the provider and session pool, the
 * CK_RV mapping, and the retry-once operation runner. */
#ifndef FOUNT_HSM_INTERNAL_H
#define FOUNT_HSM_INTERNAL_H

#include <pkcs11-helper-1.0/pkcs11h-core.h>
#include <pthread.h>

#include "hsm/hsm.h"

#define HSM_POOL_MAX 16
#define HSM_PIN_MAX 256

/* fount-private results an operation can return through its CK_RV: they
 * sit in the vendor-defined range (PKCS#11 v2.40 §3.6 CKR_VENDOR_DEFINED)
 * and never come from a token, because fount's own operations make them. */
#define HSM_RV_NOT_FOUND (CKR_VENDOR_DEFINED + 0x0f0e0001UL)
#define HSM_RV_DUPLICATE (CKR_VENDOR_DEFINED + 0x0f0e0002UL)
#define HSM_RV_TOO_SMALL (CKR_VENDOR_DEFINED + 0x0f0e0003UL)
/* an imported private key failed its pairwise-consistency test against
 * the public half it came with: they are not one key pair */
#define HSM_RV_MISMATCH (CKR_VENDOR_DEFINED + 0x0f0e0004UL)
/* an object fount created could not be removed after a later step failed
 * (the session went away between them): never retried, the log names it */
#define HSM_RV_ORPHAN (CKR_VENDOR_DEFINED + 0x0f0e0005UL)

/* One loaded PKCS#11 module, shared by every struct hsm that names it: a
 * module is initialized once per process (PKCS#11 v2.40 §5.4: a second
 * C_Initialize is CKR_CRYPTOKI_ALREADY_INITIALIZED, and one C_Finalize ends
 * every session of the process). */
struct hsm_module {
	char path[256];
	char reference[48];         /* pkcs11-helper provider reference */
	unsigned refs;
	unsigned gen;               /* bumped by every reload */
	bool loaded;
	void *dl;                   /* our reference on it (RTLD_NOLOAD) */
	CK_FUNCTION_LIST_PTR fn;
};

struct hsm {
	char name[CONFIG_HSM_NAME_MAX];
	char module[256];
	char token[64];
	char pin_file[256];
	char rng_name[48];          /* entropy source name: "hsm" or "hsm.NAME" */
	unsigned pool_size;

	pthread_mutex_t lock;       /* guards everything below */
	pthread_cond_t idle;        /* a session was returned */
	bool connected;
	struct hsm_module *mod;     /* shared; NULL until first connect */
	unsigned mod_gen;           /* mod->gen when this connection was made */
	CK_FUNCTION_LIST_PTR fn;    /* mod->fn, valid while mod_gen == mod->gen */
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE pool[HSM_POOL_MAX];
	bool busy[HSM_POOL_MAX];
	unsigned nbusy;
	unsigned generation;        /* bumped by every reconnect */
	unsigned reconnects;
	/* a PIN given in the environment, moved into secure memory at the first
	 * read (and wiped out of the environment) for logins after reconnects */
	char *env_pin;
	size_t env_pin_len;
};

/* An operation on one session. It returns a CK_RV (or an HSM_RV_*). */
typedef CK_RV (*hsm_op_fn)(struct hsm *h, CK_SESSION_HANDLE s, void *arg);

/* hsm_run borrows a session, runs |op|, returns the session and maps the
 * result to an err_t. If the token went away, it reconnects and runs |op|
 * once more. |what| names the operation in the log.
 *
 * It is hsm/'s one entry gate: unless keygen_service_allowed() (the module
 * is in SELF_TEST or OPERATIONAL, never ERROR) it returns
 * ERR_NOT_OPERATIONAL before it touches the token. Every operation on a
 * session goes through it or through hsm_run_inventory, so a new entry
 * point cannot skip the check by accident. */
err_t hsm_run(struct hsm *h, hsm_op_fn op, void *arg, const char *what) MUST_CHECK;

/* hsm_run_inventory is hsm_run without the gate, for the two operations
 * that neither use nor hand out key material or random bytes: listing the
 * objects (`fount hsm objects` runs without the power-on self-tests) and
 * destroying them. Everything else uses hsm_run. */
err_t hsm_run_inventory(struct hsm *h, hsm_op_fn op, void *arg, const char *what) MUST_CHECK;

/* hsm_rv_to_err maps a CK_RV (or HSM_RV_*) to fount's error code;
 * hsm_rv_name returns its CKR_ name. Both are total. */
err_t hsm_rv_to_err(CK_RV rv);
const char *hsm_rv_name(CK_RV rv);
/* hsm_rv_is_gone is true for the answers that mean the token, session or
 * login is gone and reconnecting may help. */
bool hsm_rv_is_gone(CK_RV rv);
/* hsm_log_rv logs |what| failing with |rv| (its name and pkcs11-helper's
 * text) and returns hsm_rv_to_err(rv). */
err_t hsm_log_rv(const struct hsm *h, const char *what, CK_RV rv);

/* hsm_find_one finds the single object of |cls| (or any class when
 * |cls| is (CK_ULONG)-1) labelled |label|. HSM_RV_NOT_FOUND / HSM_RV_DUPLICATE. */
CK_RV hsm_find_one(struct hsm *h, CK_SESSION_HANDLE s, const char *label,
		   CK_OBJECT_CLASS cls, CK_OBJECT_HANDLE *out);

/* ---- key pairs (hsm/keypair.c) --------------------------------------------- */

/* A named curve: its OpenSSL/NIST name, field size and DER OID (the value
 * of CKA_EC_PARAMS). */
struct hsm_curve {
	const char *group;
	unsigned bits;
	size_t oid_len;
	uint8_t oid[10];
};

/* hsm_curve_by_oid returns the curve whose CKA_EC_PARAMS is |oid|, or NULL. */
const struct hsm_curve *hsm_curve_by_oid(const uint8_t *oid, size_t len);

#define HSM_KEYPAIR_ID_LEN 20 /* SHA-1 */

/* The public half of a key pair as PKCS#11 attribute values. */
struct hsm_pub {
	const struct keygen_type *type;
	CK_KEY_TYPE kt;                  /* CKK_RSA or CKK_EC */
	uint8_t id[HSM_KEYPAIR_ID_LEN];  /* CKA_ID of both halves */
	uint8_t modulus[512];            /* RSA: CKA_MODULUS */
	size_t modulus_len;
	uint8_t exponent[16];            /* RSA: CKA_PUBLIC_EXPONENT */
	size_t exponent_len;
	const struct hsm_curve *curve;   /* EC: CKA_EC_PARAMS is curve->oid */
	uint8_t ec_point[3 + 1 + 2 * 66];/* EC: CKA_EC_POINT, DER OCTET STRING */
	size_t ec_point_len;
};

/* hsm_pub_from_pkey reads the public half of |pkey| into |p|.
 * ERR_UNSUPPORTED for a type fount does not import (Ed25519, X25519, RSA
 * outside 2048..4096, curves other than P-256/384/521); ERR_KEY_FORMAT for
 * a key it cannot read; ERR_CRYPTO if OpenSSL fails. */
err_t hsm_pub_from_pkey(const struct evp_pkey_st *pkey, struct hsm_pub *p) MUST_CHECK;

/* hsm_global_get / hsm_global_put reference-count pkcs11h_initialize. */
err_t hsm_global_get(void) MUST_CHECK;
void hsm_global_put(void);
/* hsm_module_get returns the shared, loaded module at |path| (loading it
 * through pkcs11-helper on first use); hsm_module_put drops a reference
 * and unloads it with the last. hsm_module_reload unloads and loads it
 * again unless someone already did since generation |seen|. All take the
 * global lock. */
err_t hsm_module_get(const char *path, struct hsm_module **out) MUST_CHECK;
void hsm_module_put(struct hsm_module *m);
err_t hsm_module_reload(struct hsm_module *m, unsigned seen) MUST_CHECK;

#endif /* FOUNT_HSM_INTERNAL_H */
