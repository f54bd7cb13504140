/* keygen/fips_status.c — which OpenSSL FIPS provider versions are validated
 * modules: the one table fount reports `validated: yes|no` from.
 *
 * Sources (checked 2026-12-01):
 * - OpenSSL's downloads page, https://www.openssl.org/source/ (openssl/web
 *   source/index.md.tt as of 2024-06): "The following OpenSSL version(s) are
 *   FIPS validated": 3.0.9 and 3.0.8 on CMVP certificate #4282
 *   (https://csrc.nist.gov/projects/cryptographic-module-validation-program/certificate/4282),
 *   3.0.0 "historic": "previously validated, but ... no longer listed on the
 *   current certificate", so it is not in the table.
 * - 3.1.2 under FIPS 140-3, certificate #4985:
 *   https://openssl-library.org/post/2025-03-11-fips-140-3/ and
 *   https://csrc.nist.gov/projects/cryptographic-module-validation-program/certificate/4985.
 * - Certificate #4811 is also named for the 3.0 provider under FIPS 140-2
 *   (e.g. NGINX's FIPS documentation), but no OpenSSL page found says which
 *   3.0.x version it lists, so the table does not claim it.
 * - FIPS 140-2 end: the CMVP project page
 *   (https://csrc.nist.gov/projects/cryptographic-module-validation-program)
 *   says FIPS 140-2 modules are accepted "through September 22, 2026. After
 *   that time CMVP will place the FIPS 140-2 validated modules on the
 *   Historical List, allowing agencies to continue using these modules for
 *   existing applications only"; the 140-2 certificates' sunset date is
 *   2026-09-21. So today the 3.0.8/3.0.9 modules are historical: fit for
 *   systems that already use them, not for new ones.
 *
 * A version match says the loaded provider reports a validated version. It
 * cannot show that the module was built as its Security Policy requires
 * (`make fips FIPS_TARBALL=...` does that for the tarballs it knows). */
#include <stdio.h>
#include <string.h>

#include "keygen/keygen.h"

struct fips_validated {
	const char *version;  /* the provider's "version" parameter */
	const char *standard; /* "FIPS 140-2" or "FIPS 140-3" */
	const char *cert;     /* the CMVP certificate */
	const char *status;   /* NULL: active */
};

static const struct fips_validated validated_versions[] = {
	{"3.1.2", "FIPS 140-3", "#4985", NULL},
	{"3.0.9", "FIPS 140-2", "#4282", "historical since 2026-09-21: existing systems only"},
	{"3.0.8", "FIPS 140-2", "#4282", "historical since 2026-09-21: existing systems only"},
};

/* The name OpenSSL's own FIPS provider reports (providers/fips/fipsprov.c,
 * fips_get_params: OSSL_PROV_PARAM_NAME). */
#define OPENSSL_FIPS_NAME "OpenSSL FIPS Provider"

bool keygen_fips_validation(bool fips, const char *name, const char *version,
			    char *out, size_t outlen)
{
	if (!fips) {
		snprintf(out, outlen, "no (the %s is not a FIPS module; set [crypto] fips = required)",
			 name != NULL && name[0] != '\0' ? name : "provider");
		return false;
	}
	if (name == NULL || strcmp(name, OPENSSL_FIPS_NAME) != 0) {
		snprintf(out, outlen,
			 "unknown (%s %s is not OpenSSL's own provider: check its CMVP certificate; see README \"FIPS mode\")",
			 name != NULL ? name : "?", version != NULL ? version : "?");
		return false;
	}
	for (size_t i = 0; version != NULL && i < ARRAY_SIZE(validated_versions); i++) {
		const struct fips_validated *v = &validated_versions[i];
		if (strcmp(version, v->version) != 0)
			continue;
		if (v->status != NULL)
			snprintf(out, outlen, "yes (%s %s; %s)", v->standard, v->cert, v->status);
		else
			snprintf(out, outlen, "yes (%s %s)", v->standard, v->cert);
		return true;
	}
	snprintf(out, outlen, "no (OpenSSL %s is not a validated version; see README \"FIPS mode\")",
		 version != NULL ? version : "(unknown version)");
	return false;
}
