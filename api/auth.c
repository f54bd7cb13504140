/* api/auth.c — who a client is: its verified TLS client certificate mapped
 * to a tenant, and whether that tenant is an administrator.
 *
 * The mapping, first match wins:
 *   1. a binding of the certificate itself, by SHA-256 fingerprint;
 *   2. a binding of the issuing CA (by its certificate's SHA-256) and CN;
 *   3. a binding of the CN alone;
 *   4. the CN itself (the default: a tenant per client name).
 * Bindings let a client whose certificate is regenerated keep its keys:
 * vCenter's self-signed client certificate gets a new CN ("kmipClient"
 * plus a time stamp) every time, so `fount tenant bind` re-binds the new
 * certificate to the old tenant.
 *
 * The bindings file, one binding a line ('#' starts a comment):
 *   fingerprint <64 hex> <tenant>
 *   issuer-cn <64 hex of the CA certificate> <CN> <tenant>
 *   cn <CN> <tenant>
 * It is re-read when its modification time changes, so a new binding
 * takes effect at the next connection. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "api/api.h"
#include "api/auth.h"
#include "keygen/keygen.h"

#define MAX_BINDINGS 4096

enum kind { BIND_FP, BIND_ISSUER_CN, BIND_CN };

struct binding {
	enum kind kind;
	uint8_t fp[32]; /* the certificate (BIND_FP) or its issuer (BIND_ISSUER_CN) */
	char cn[65];
	char tenant[AUTH_TENANT_MAX + 1];
};

struct auth {
	pthread_rwlock_t lock;
	char path[4096];
	struct timespec mtime;
	off_t size;
	struct binding *b;
	size_t n;
	char admins[1024];
};

bool auth_tenant_valid(const char *t, size_t len)
{
	if (len == 0 || len > AUTH_TENANT_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)t[i] < 0x20 || t[i] == 0x7F)
			return false;
	return true;
}

/* parse_line reads one binding; false for a malformed line */
static bool parse_line(char *line, struct binding *out)
{
	char *save = NULL;
	char *kw = strtok_r(line, " \t", &save);
	char *a = strtok_r(NULL, " \t", &save);
	char *rest = strtok_r(NULL, "", &save);
	if (kw == NULL || a == NULL || rest == NULL)
		return false;
	/* the tenant is the last word; for issuer-cn the CN is between */
	while (*rest == ' ' || *rest == '\t')
		rest++;
	char *end = rest + strlen(rest);
	while (end > rest && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	memset(out, 0, sizeof *out);
	size_t got = 0;
	if (strcmp(kw, "fingerprint") == 0 || strcmp(kw, "issuer-cn") == 0) {
		if (strlen(a) != 64 || hex_decode(out->fp, 32, &got, a) != ERR_OK || got != 32)
			return false;
	}
	char *tenant = rest;
	if (strcmp(kw, "issuer-cn") == 0 || strcmp(kw, "cn") == 0) {
		char *cn = strcmp(kw, "cn") == 0 ? a : rest;
		char *sp = strrchr(rest, ' ');
		char *tab = strrchr(rest, '\t');
		if (tab != NULL && (sp == NULL || tab > sp))
			sp = tab;
		if (strcmp(kw, "issuer-cn") == 0) {
			if (sp == NULL)
				return false;
			*sp = '\0';
			tenant = sp + 1;
		}
		if (strlen(cn) > 64)
			return false;
		snprintf(out->cn, sizeof out->cn, "%s", cn);
	}
	if (!auth_tenant_valid(tenant, strlen(tenant)))
		return false;
	snprintf(out->tenant, sizeof out->tenant, "%s", tenant);
	if (strcmp(kw, "fingerprint") == 0)
		out->kind = BIND_FP;
	else if (strcmp(kw, "issuer-cn") == 0)
		out->kind = BIND_ISSUER_CN;
	else if (strcmp(kw, "cn") == 0)
		out->kind = BIND_CN;
	else
		return false;
	return true;
}

/* load_locked reads the bindings file into |a| (replacing what it had). */
static err_t load_locked(struct auth *a, char *why, size_t why_len)
{
	struct stat st;
	if (stat(a->path, &st) != 0) {
		if (errno == ENOENT) { /* no file yet: no bindings */
			free(a->b);
			a->b = NULL;
			a->n = 0;
			memset(&a->mtime, 0, sizeof a->mtime);
			return ERR_OK;
		}
		snprintf(why, why_len, "cannot read the tenant bindings %s: %s", a->path, strerror(errno));
		return ERR_IO;
	}
	FILE *f = fopen(a->path, "re");
	if (f == NULL) {
		snprintf(why, why_len, "cannot read the tenant bindings %s: %s", a->path, strerror(errno));
		return ERR_IO;
	}
	struct binding *b = calloc(MAX_BINDINGS, sizeof *b);
	size_t n = 0;
	unsigned lineno = 0;
	char line[512];
	err_t r = b != NULL ? ERR_OK : ERR_NOMEM;
	while (r == ERR_OK && fgets(line, sizeof line, f) != NULL) {
		lineno++;
		size_t len = strcspn(line, "\r\n");
		if (line[len] == '\0' && !feof(f)) {
			snprintf(why, why_len, "%s:%u: line too long", a->path, lineno);
			r = ERR_CONFIG;
			break;
		}
		line[len] = '\0';
		char *hash = strchr(line, '#');
		if (hash != NULL)
			*hash = '\0';
		char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			continue;
		if (n == MAX_BINDINGS) {
			snprintf(why, why_len, "%s: more than %d bindings", a->path, MAX_BINDINGS);
			r = ERR_TOO_LARGE;
		} else if (!parse_line(p, &b[n])) {
			snprintf(why, why_len,
				 "%s:%u: not a binding (fingerprint HEX TENANT | issuer-cn HEX CN TENANT | cn CN TENANT)",
				 a->path, lineno);
			r = ERR_CONFIG;
		} else {
			n++;
		}
	}
	fclose(f);
	if (r != ERR_OK) {
		free(b);
		return r;
	}
	free(a->b);
	a->b = b;
	a->n = n;
	a->mtime = st.st_mtim;
	a->size = st.st_size;
	return ERR_OK;
}

err_t auth_new(const char *bindings, const char *admins, struct auth **out, char *why, size_t why_len)
{
	*out = NULL;
	struct auth *a = calloc(1, sizeof *a);
	ENSURE(a != NULL, ERR_NOMEM);
	pthread_rwlock_init(&a->lock, NULL);
	snprintf(a->admins, sizeof a->admins, "%s", admins != NULL ? admins : "");
	if (bindings != NULL && bindings[0] != '\0') {
		if (strlen(bindings) >= sizeof a->path) {
			auth_free(a);
			return ERR_TOO_LARGE;
		}
		snprintf(a->path, sizeof a->path, "%s", bindings);
		err_t r = load_locked(a, why, why_len);
		if (r != ERR_OK) {
			auth_free(a);
			return r;
		}
	}
	*out = a;
	return ERR_OK;
}

void auth_free(struct auth *a)
{
	if (a == NULL)
		return;
	free(a->b);
	pthread_rwlock_destroy(&a->lock);
	free(a);
}

/* refresh re-reads the bindings when the file changed; a file that became
 * unreadable or malformed keeps the bindings loaded before (logged). */
static void refresh(struct auth *a)
{
	struct stat st;
	if (a->path[0] == '\0')
		return;
	bool gone = stat(a->path, &st) != 0;
	pthread_rwlock_rdlock(&a->lock);
	bool same = gone ? a->mtime.tv_sec == 0 && a->mtime.tv_nsec == 0
			 : st.st_mtim.tv_sec == a->mtime.tv_sec && st.st_mtim.tv_nsec == a->mtime.tv_nsec &&
				   st.st_size == a->size;
	pthread_rwlock_unlock(&a->lock);
	if (same)
		return;
	char why[256] = "";
	pthread_rwlock_wrlock(&a->lock);
	if (load_locked(a, why, sizeof why) != ERR_OK)
		log_warn("%s; keeping the bindings read before", why);
	pthread_rwlock_unlock(&a->lock);
}

static bool is_admin(const struct auth *a, const char *tenant)
{
	size_t tl = strlen(tenant);
	for (const char *p = a->admins; *p != '\0';) {
		while (*p == ',' || *p == ' ')
			p++;
		size_t n = strcspn(p, ",");
		size_t m = n;
		while (m > 0 && p[m - 1] == ' ')
			m--;
		if (m == tl && m > 0 && memcmp(p, tenant, m) == 0)
			return true;
		p += n;
	}
	return false;
}

err_t auth_identify(struct auth *a, struct x509_st *leaf, struct x509_st *issuer, struct kmip_peer *out)
{
	ENSURE(leaf != NULL, ERR_INVALID_ARG);
	uint8_t fp[32], issuer_fp[32];
	GUARD(keygen_cert_sha256(leaf, fp));
	bool have_issuer = issuer != NULL && keygen_cert_sha256(issuer, issuer_fp) == ERR_OK;
	return auth_identify_fp(a, leaf, fp, have_issuer ? issuer_fp : NULL, out);
}

err_t auth_identify_fp(struct auth *a, struct x509_st *leaf, const uint8_t leaf_fp[32], const uint8_t *issuer_fp,
		       struct kmip_peer *out)
{
	memset(out, 0, sizeof *out);
	ENSURE(leaf != NULL && leaf_fp != NULL, ERR_INVALID_ARG);
	memcpy(out->cert_sha256, leaf_fp, 32);
	bool have_issuer = issuer_fp != NULL;
	char cn[65] = "";
	int cn_len = X509_NAME_get_text_by_NID(X509_get_subject_name(leaf), NID_commonName, cn, sizeof cn);

	refresh(a);
	const char *tenant = NULL;
	pthread_rwlock_rdlock(&a->lock);
	for (int pass = 0; pass < 3 && tenant == NULL; pass++) {
		for (size_t i = 0; i < a->n && tenant == NULL; i++) {
			const struct binding *b = &a->b[i];
			if (pass == 0 && b->kind == BIND_FP && memcmp(b->fp, out->cert_sha256, 32) == 0)
				tenant = b->tenant;
			else if (pass == 1 && b->kind == BIND_ISSUER_CN && have_issuer &&
				 memcmp(b->fp, issuer_fp, 32) == 0 && cn_len > 0 && strcmp(b->cn, cn) == 0)
				tenant = b->tenant;
			else if (pass == 2 && b->kind == BIND_CN && cn_len > 0 && strcmp(b->cn, cn) == 0)
				tenant = b->tenant;
		}
	}
	if (tenant != NULL)
		snprintf(out->tenant, sizeof out->tenant, "%s", tenant);
	pthread_rwlock_unlock(&a->lock);
	if (tenant == NULL) {
		/* no CN, or one that cannot name a tenant: only a binding will do */
		if (cn_len <= 0 || !auth_tenant_valid(cn, (size_t)cn_len))
			return ERR_USAGE;
		/* auth_tenant_valid bounds cn_len by AUTH_TENANT_MAX */
		memcpy(out->tenant, cn, (size_t)cn_len);
		out->tenant[cn_len] = '\0';
	}
	out->admin = is_admin(a, out->tenant);
	return ERR_OK;
}

err_t api_tenant_binding_line(const char *kind, const uint8_t fp[32], const char *cn, const char *tenant,
			char *out, size_t out_len)
{
	char hex[65];
	ENSURE(tenant != NULL && auth_tenant_valid(tenant, strlen(tenant)) && strchr(tenant, ' ') == NULL &&
		       strchr(tenant, '#') == NULL,
	       ERR_INVALID_ARG);
	int k;
	if (strcmp(kind, "fingerprint") == 0 && fp != NULL) {
		hex_encode(hex, fp, 32);
		k = snprintf(out, out_len, "fingerprint %s %s\n", hex, tenant);
	} else if (strcmp(kind, "issuer-cn") == 0 && fp != NULL && cn != NULL && strchr(cn, '#') == NULL) {
		hex_encode(hex, fp, 32);
		k = snprintf(out, out_len, "issuer-cn %s %s %s\n", hex, cn, tenant);
	} else if (strcmp(kind, "cn") == 0 && cn != NULL && strchr(cn, ' ') == NULL && strchr(cn, '#') == NULL) {
		k = snprintf(out, out_len, "cn %s %s\n", cn, tenant);
	} else {
		return ERR_INVALID_ARG;
	}
	ENSURE(k > 0 && (size_t)k < out_len, ERR_TOO_LARGE);
	return ERR_OK;
}
