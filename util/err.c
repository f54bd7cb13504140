/* util/err.c — the one table of error texts. */
#include "util/util.h"

struct err_entry {
	err_t code;
	const char *text;
};

static const struct err_entry err_table[] = {
	{ERR_OK, "success"},
	{ERR_USAGE, "invalid usage"},
	{ERR_INVALID_ARG, "invalid argument"},
	{ERR_CONFIG, "invalid configuration"},
	{ERR_TOO_LARGE, "size exceeds a fixed limit"},
	{ERR_PARSE, "malformed input"},
	{ERR_UNSUPPORTED, "not supported"},
	{ERR_NOMEM, "out of memory"},
	{ERR_MLOCK, "cannot lock memory (raise RLIMIT_MEMLOCK with ulimit -l, or set [security] mlock = off)"},
	{ERR_IO, "input/output error"},
	{ERR_SYSTEM, "system call failed"},
	{ERR_ENTROPY_NO_SOURCE, "entropy source not available on this host"},
	{ERR_ENTROPY_READ, "entropy source failed to deliver samples"},
	{ERR_HEALTH_RCT, "repetition count test failed (intermittent)"},
	{ERR_HEALTH_APT, "adaptive proportion test failed (intermittent)"},
	{ERR_HEALTH_RCT_PERMANENT, "repetition count test failed (permanent): source disabled"},
	{ERR_HEALTH_APT_PERMANENT, "adaptive proportion test failed (permanent): source disabled"},
	{ERR_ENTROPY_STARTUP, "entropy source failed its start-up test"},
	{ERR_ENTROPY_DISABLED, "entropy source disabled after repeated failures"},
	{ERR_ENTROPY_EXHAUSTED, "no credited entropy source is left"},
	{ERR_CRYPTO, "cryptographic library call failed"},
	{ERR_DRBG_UNINSTANTIATED, "DRBG is not instantiated"},
	{ERR_DRBG_RESEED_REQUIRED, "DRBG reseed required"},
	{ERR_DRBG_REQUEST_TOO_LARGE, "DRBG request larger than 65536 bytes"},
	{ERR_DRBG_INPUT_TOO_LONG, "DRBG input too long"},
	{ERR_DRBG_ENTROPY_TOO_SHORT, "DRBG entropy input shorter than the security strength"},
	{ERR_FIPS_UNAVAILABLE, "the OpenSSL FIPS provider is not available (build it with 'make fips' as root, or set [crypto] fips = off)"},
	{ERR_UNWRAP, "unwrap failed: wrong key or corrupted data"},
	{ERR_KEY_FORMAT, "not a usable key (wrong type, size or encoding)"},
	{ERR_KEY_USAGE, "the key's usage mask or kind does not allow this operation"},
	{ERR_SELFTEST, "self-test failed"},
	{ERR_NOT_OPERATIONAL, "module is not operational (self-tests failed or not yet run)"},
	{ERR_INTEGRITY, "software integrity check failed"},
	{ERR_PCT, "pairwise-consistency test of a new key pair failed"},
	{ERR_HSM, "HSM operation failed"},
	{ERR_HSM_MODULE, "PKCS#11 module cannot be loaded (check [hsm] module)"},
	{ERR_HSM_TOKEN_ABSENT, "HSM token not present (check [hsm] token)"},
	{ERR_HSM_PIN_INCORRECT, "HSM rejected the PIN"},
	{ERR_HSM_PIN_LOCKED, "HSM PIN is locked or expired"},
	{ERR_HSM_PIN_MISSING, "no HSM PIN configured (set [hsm] pin_file or FOUNT_HSM_PIN)"},
	{ERR_HSM_MECHANISM, "HSM does not support the mechanism"},
	{ERR_HSM_NOT_SUPPORTED, "HSM does not support the function"},
	{ERR_HSM_OBJECT_NOT_FOUND, "no such object on the HSM token"},
	{ERR_HSM_DUPLICATE, "HSM object label is ambiguous or already taken"},
	{ERR_HSM_UNWRAP, "HSM rejected the wrapped key (wrong KEK or corrupted data)"},
	{ERR_HSM_KEY_POLICY, "HSM key attributes forbid the operation"},
	{ERR_HSM_SESSION, "HSM session or login lost"},
	{ERR_HSM_TOKEN_FULL, "HSM token is out of memory or space"},
	{ERR_HSM_TEMPLATE, "HSM rejected the key attributes"},
	{ERR_STORE, "key store database error"},
	{ERR_STORE_NOT_FOUND, "no such object"},
	{ERR_STORE_DESTROYED, "object destroyed: its key material is gone"},
	{ERR_STORE_STATE, "the object's state does not allow this change"},
	{ERR_STORE_ACTIVE, "an active object cannot be destroyed (revoke it first)"},
	{ERR_STORE_MANAGED_ATTR, "the attribute is managed by the server and cannot be changed"},
	{ERR_STORE_ATTR_EXISTS, "the single-valued attribute is already set"},
	{ERR_STORE_ATTR_NOT_FOUND, "no such attribute"},
	{ERR_STORE_FULL, "key store disk full: nothing was written"},
	{ERR_STORE_COMMIT_UNKNOWN, "key store I/O error at commit: the outcome is unknown (the write may be durable)"},
	{ERR_STORE_KEK, "the key store was sealed under a different key-encryption key"},
	{ERR_STORE_SEAL, "sealed key material fails to open (tampered, moved or wrong key)"},
	{ERR_STORE_SCHEMA, "the key store database schema is newer than this fount"},
	{ERR_STORE_CORRUPT, "the key store database is damaged"},
	{ERR_STORE_BUSY, "the key store database is locked by another process"},
	{ERR_STORE_IO, "key store I/O error: nothing was written"},
	{ERR_STORE_NAME_TAKEN, "another object of the tenant has that Name"},
	{ERR_STORE_PROTECTED, "the object's Sensitive or Extractable attribute forbids it"},
	{ERR_STORE_FOREIGN, "another tenant's: only an administrator may see it"},
	{ERR_STORE_BACKUP, "the backup file is damaged, truncated, or not a fount store backup"},
	{ERR_STORE_NOT_EMPTY, "the key store is not empty: a backup is imported into an empty store only"},
	{ERR_STORE_UNAVAILABLE, "the key store database cannot be reached (retrying): nothing was written"},
	{ERR_INTERNAL, "internal error"},
};

const char *err_str(err_t r)
{
	for (size_t i = 0; i < ARRAY_SIZE(err_table); i++) {
		if (err_table[i].code == r)
			return err_table[i].text;
	}
	return "unknown error";
}

enum err_category err_category(err_t r)
{
	if (r >= 0)
		return ERRCAT_NONE;
	switch (-r / 100) {
	case 1: return ERRCAT_USAGE;
	case 2: return ERRCAT_RESOURCE;
	case 3: return ERRCAT_ENTROPY;
	case 4: return ERRCAT_CRYPTO;
	case 5: return ERRCAT_SELFTEST;
	case 6: return ERRCAT_HSM;
	case 7: return ERRCAT_STORE;
	default: return ERRCAT_INTERNAL;
	}
}
