/* api/auth.h — client certificates to tenants (api/auth.c). Private to api/. */
#ifndef FOUNT_API_AUTH_H
#define FOUNT_API_AUTH_H

#include "api/internal.h"

struct x509_st;
struct auth;

#define AUTH_TENANT_MAX 63

/* auth_new loads the bindings file |bindings| (NULL or "": none; a missing
 * file is no bindings yet) and the admin list |admins| (',' separated
 * tenant names). On a malformed file, |why| names file and line. */
err_t auth_new(const char *bindings, const char *admins, struct auth **out, char *why,
	       size_t why_len) MUST_CHECK;
void auth_free(struct auth *a);

/* auth_identify maps a verified client certificate (and the CA certificate
 * that issued it, or NULL for a pinned self-signed one) to |out|: tenant,
 * fingerprint, admin. ERR_USAGE when no binding matches and the CN cannot
 * name a tenant. */
err_t auth_identify(struct auth *a, struct x509_st *leaf, struct x509_st *issuer,
		    struct kmip_peer *out) MUST_CHECK;

/* auth_identify_fp is auth_identify with the fingerprints already known:
 * |leaf_fp| the SHA-256 of |leaf| (which gives the CN), |issuer_fp| that of
 * the issuing CA certificate or NULL. A resumed TLS session carries no
 * chain: the listener keeps both fingerprints in the session. */
err_t auth_identify_fp(struct auth *a, struct x509_st *leaf, const uint8_t leaf_fp[32], const uint8_t *issuer_fp,
		       struct kmip_peer *out) MUST_CHECK;

/* auth_tenant_valid: 1 to AUTH_TENANT_MAX bytes, no control characters. */
bool auth_tenant_valid(const char *t, size_t len);

#endif
