/* hsm/errors.c — the one place a CK_RV becomes a fount error.
 *
 * Return values are those of PKCS#11 v2.40 base §11.1 and §5.1 (current
 * spec sections for each function list which it may return). fount keeps
 * the exact CKR_ name and pkcs11-helper's text for the log; callers see a
 * fount code with a fixed message, which never holds a PIN or key byte. */
#include <pkcs11-helper-1.0/pkcs11h-core.h>

#include "hsm/internal.h"

struct rv_entry {
	CK_RV rv;
	const char *name;
	err_t err;
	bool gone; /* the token, session or login went away: reconnect may help */
};

#define RV(r, e, g) {r, #r, e, g}

static const struct rv_entry rv_table[] = {
	RV(CKR_OK, ERR_OK, false),
	RV(CKR_CANCEL, ERR_HSM, false),
	RV(CKR_HOST_MEMORY, ERR_NOMEM, false),
	RV(CKR_SLOT_ID_INVALID, ERR_HSM_TOKEN_ABSENT, true),
	/* SoftHSM answers a write to a token whose storage went away with
	 * CKR_GENERAL_ERROR: one reload tells a gone token from a real fault */
	RV(CKR_GENERAL_ERROR, ERR_HSM, true),
	RV(CKR_FUNCTION_FAILED, ERR_HSM, false),
	RV(CKR_ARGUMENTS_BAD, ERR_INTERNAL, false),
	RV(CKR_ATTRIBUTE_READ_ONLY, ERR_HSM_TEMPLATE, false),
	RV(CKR_ATTRIBUTE_SENSITIVE, ERR_HSM_KEY_POLICY, false),
	RV(CKR_ATTRIBUTE_TYPE_INVALID, ERR_HSM_TEMPLATE, false),
	RV(CKR_ATTRIBUTE_VALUE_INVALID, ERR_HSM_TEMPLATE, false),
	RV(CKR_DATA_INVALID, ERR_INVALID_ARG, false),
	RV(CKR_DATA_LEN_RANGE, ERR_INVALID_ARG, false),
	RV(CKR_DEVICE_ERROR, ERR_HSM_TOKEN_ABSENT, true),
	RV(CKR_DEVICE_MEMORY, ERR_HSM_TOKEN_FULL, false),
	RV(CKR_DEVICE_REMOVED, ERR_HSM_TOKEN_ABSENT, true),
	RV(CKR_FUNCTION_NOT_SUPPORTED, ERR_HSM_NOT_SUPPORTED, false),
	RV(CKR_KEY_HANDLE_INVALID, ERR_HSM_OBJECT_NOT_FOUND, false),
	RV(CKR_KEY_SIZE_RANGE, ERR_HSM_MECHANISM, false),
	RV(CKR_KEY_TYPE_INCONSISTENT, ERR_HSM_KEY_POLICY, false),
	RV(CKR_KEY_FUNCTION_NOT_PERMITTED, ERR_HSM_KEY_POLICY, false),
	RV(CKR_KEY_NOT_WRAPPABLE, ERR_HSM_KEY_POLICY, false),
	RV(CKR_KEY_UNEXTRACTABLE, ERR_HSM_KEY_POLICY, false),
	RV(CKR_MECHANISM_INVALID, ERR_HSM_MECHANISM, false),
	RV(CKR_MECHANISM_PARAM_INVALID, ERR_HSM_MECHANISM, false),
	RV(CKR_OBJECT_HANDLE_INVALID, ERR_HSM_OBJECT_NOT_FOUND, false),
	RV(CKR_OPERATION_ACTIVE, ERR_HSM, false),
	RV(CKR_OPERATION_NOT_INITIALIZED, ERR_HSM, false),
	RV(CKR_PIN_INCORRECT, ERR_HSM_PIN_INCORRECT, false),
	RV(CKR_PIN_INVALID, ERR_HSM_PIN_INCORRECT, false),
	RV(CKR_PIN_LEN_RANGE, ERR_HSM_PIN_INCORRECT, false),
	RV(CKR_PIN_EXPIRED, ERR_HSM_PIN_LOCKED, false),
	RV(CKR_PIN_LOCKED, ERR_HSM_PIN_LOCKED, false),
	RV(CKR_SESSION_CLOSED, ERR_HSM_SESSION, true),
	RV(CKR_SESSION_COUNT, ERR_HSM, false),
	RV(CKR_SESSION_HANDLE_INVALID, ERR_HSM_SESSION, true),
	RV(CKR_SESSION_READ_ONLY, ERR_HSM, false),
	RV(CKR_TEMPLATE_INCOMPLETE, ERR_HSM_TEMPLATE, false),
	RV(CKR_TEMPLATE_INCONSISTENT, ERR_HSM_TEMPLATE, false),
	RV(CKR_TOKEN_NOT_PRESENT, ERR_HSM_TOKEN_ABSENT, true),
	RV(CKR_TOKEN_NOT_RECOGNIZED, ERR_HSM_TOKEN_ABSENT, true),
	RV(CKR_TOKEN_WRITE_PROTECTED, ERR_HSM_KEY_POLICY, false),
	RV(CKR_UNWRAPPING_KEY_HANDLE_INVALID, ERR_HSM_OBJECT_NOT_FOUND, false),
	RV(CKR_UNWRAPPING_KEY_SIZE_RANGE, ERR_HSM_UNWRAP, false),
	RV(CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT, ERR_HSM_KEY_POLICY, false),
	RV(CKR_USER_ALREADY_LOGGED_IN, ERR_OK, false),
	RV(CKR_USER_NOT_LOGGED_IN, ERR_HSM_SESSION, true),
	RV(CKR_USER_PIN_NOT_INITIALIZED, ERR_HSM_PIN_LOCKED, false),
	RV(CKR_USER_TYPE_INVALID, ERR_INTERNAL, false),
	RV(CKR_WRAPPED_KEY_INVALID, ERR_HSM_UNWRAP, false),
	RV(CKR_WRAPPED_KEY_LEN_RANGE, ERR_HSM_UNWRAP, false),
	RV(CKR_WRAPPING_KEY_HANDLE_INVALID, ERR_HSM_OBJECT_NOT_FOUND, false),
	RV(CKR_WRAPPING_KEY_SIZE_RANGE, ERR_HSM_KEY_POLICY, false),
	RV(CKR_WRAPPING_KEY_TYPE_INCONSISTENT, ERR_HSM_KEY_POLICY, false),
	RV(CKR_RANDOM_SEED_NOT_SUPPORTED, ERR_HSM_NOT_SUPPORTED, false),
	RV(CKR_RANDOM_NO_RNG, ERR_HSM_NOT_SUPPORTED, false),
	RV(CKR_DOMAIN_PARAMS_INVALID, ERR_HSM_MECHANISM, false),
	RV(CKR_BUFFER_TOO_SMALL, ERR_TOO_LARGE, false),
	RV(CKR_CRYPTOKI_NOT_INITIALIZED, ERR_HSM_SESSION, true),
	RV(CKR_CRYPTOKI_ALREADY_INITIALIZED, ERR_HSM_MODULE, false),
	RV(HSM_RV_NOT_FOUND, ERR_HSM_OBJECT_NOT_FOUND, false),
	RV(HSM_RV_DUPLICATE, ERR_HSM_DUPLICATE, false),
	RV(HSM_RV_TOO_SMALL, ERR_TOO_LARGE, false),
	RV(HSM_RV_MISMATCH, ERR_KEY_FORMAT, false),
	RV(HSM_RV_ORPHAN, ERR_HSM, false),
	RV(CKR_SIGNATURE_INVALID, ERR_HSM, false),
};

static const struct rv_entry *lookup(CK_RV rv)
{
	for (size_t i = 0; i < ARRAY_SIZE(rv_table); i++) {
		if (rv_table[i].rv == rv)
			return &rv_table[i];
	}
	return NULL;
}

err_t hsm_rv_to_err(CK_RV rv)
{
	const struct rv_entry *e = lookup(rv);
	return e ? e->err : ERR_HSM;
}

const char *hsm_rv_name(CK_RV rv)
{
	const struct rv_entry *e = lookup(rv);
	return e ? e->name : "CKR_(unlisted)";
}

bool hsm_rv_is_gone(CK_RV rv)
{
	const struct rv_entry *e = lookup(rv);
	return e ? e->gone : false;
}

err_t hsm_log_rv(const struct hsm *h, const char *what, CK_RV rv)
{
	err_t r = hsm_rv_to_err(rv);
	/* the CK_RV and pkcs11-helper's text only: never arguments, which may
	 * be PINs or keys */
	log_warn("hsm%s%s: %s: %s (0x%lx, %s): %s", h && h->name[0] ? "." : "",
		 h ? h->name : "", what, hsm_rv_name(rv), (unsigned long)rv,
		 pkcs11h_getMessage(rv), err_str(r));
	return r;
}
