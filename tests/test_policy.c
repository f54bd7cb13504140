/* tests/test_policy.c — `fount policy` (cli/cmd_policy.c) and the tables it
 * is made from: every self-test, KMIP operation and HTTP route has its
 * policy entry (a new one without fails here), every source file that
 * allocates locked memory declares the secrets it handles (CSP_DEFINE or
 * CSP_USE), and the policy a real run writes has SP 800-140B's sections in
 * order with every service, test and secret in it. */
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "selftest/selftest.h"
#include "tests/helpers.h"

static char dir[64];
static struct run_result *res;
static json_t *pj;         /* policy.json of the run */
static char *md;           /* security-policy.md */

static int suite_init(void)
{
	res = calloc(1, sizeof *res);
	if (res == NULL || testlib_tmpdir_create(dir, "policy") != 0)
		return -1;
	char out[128];
	snprintf(out, sizeof out, "%s/p", dir);
	const char *argv[] = {testlib_fount_bin(), "policy", "-o", out, NULL};
	const char *env[] = {testlib_fips_dir_env(), NULL};
	if (testlib_run(argv, env, NULL, res) != 0 || res->status != 0) {
		fprintf(stderr, "policy: fount policy failed: %s\n", res->err);
		return -1;
	}
	json_error_t je;
	pj = json_load_file(testlib_file(out, "policy.json"), 0, &je);
	const char *t = testlib_slurp(testlib_file(out, "security-policy.md"));
	md = t != NULL ? strdup(t) : NULL;
	return pj != NULL && md != NULL ? 0 : -1;
}

static int suite_clean(void)
{
	json_decref(pj);
	free(md);
	free(res);
	return testlib_tmpdir_remove(dir);
}

/* in the policy.json array |key|, an entry whose |field| is |value| (and
 * whose "interface" is |iface|, unless NULL) */
static bool listed(const char *key, const char *field, const char *value, const char *iface)
{
	json_t *a = json_object_get(pj, key), *e;
	size_t i;
	json_array_foreach(a, i, e)
	{
		const char *v = json_string_value(json_object_get(e, field));
		const char *f = json_string_value(json_object_get(e, "interface"));
		if (v != NULL && strcmp(v, value) == 0 && (iface == NULL || (f != NULL && strcmp(f, iface) == 0)))
			return true;
	}
	return false;
}

/* the tables themselves: no entry without its policy text */
static void test_tables_complete(void)
{
	struct api_service sv[64];
	size_t n = api_kmip_services(sv, 64);
	CU_ASSERT(n >= 20 && n <= 64);
	for (size_t i = 0; i < n && i < 64; i++) {
		if (sv[i].summary == NULL)
			fprintf(stderr, "\n  KMIP %s has no policy entry (api/kmip_ops.c op_docs)", sv[i].name);
		CU_ASSERT(sv[i].summary != NULL && sv[i].role != NULL && sv[i].approved != NULL);
		CU_ASSERT(listed("services", "name", sv[i].name, "kmip"));
	}
	n = api_http_services(sv, 64);
	CU_ASSERT(n >= 15 && n <= 64);
	for (size_t i = 0; i < n && i < 64; i++) {
		if (sv[i].summary == NULL)
			fprintf(stderr, "\n  HTTP %s has no policy entry (api/http_routes.c route_docs)", sv[i].name);
		CU_ASSERT(sv[i].summary != NULL && sv[i].role != NULL && sv[i].approved != NULL);
		CU_ASSERT(listed("services", "name", sv[i].name, "http"));
	}
	struct selftest_doc t[48];
	n = selftest_docs(t, 48);
	CU_ASSERT(n > 10 && n <= 48);
	const char *const *names = NULL;
	size_t nn = selftest_names(&names), nc = 0;
	const char *const *cond = NULL;
	nc = selftest_conditional_names(&cond);
	CU_ASSERT_EQUAL(n, nn + nc);
	for (size_t i = 0; i < n && i < 48; i++) {
		if (t[i].what == NULL)
			fprintf(stderr, "\n  self-test %s has no policy entry (selftest/selftest.c)", t[i].name);
		CU_ASSERT_PTR_NOT_NULL(t[i].what);
		CU_ASSERT(listed("self_tests", "name", t[i].name, NULL));
		CU_ASSERT(strstr(md, t[i].name) != NULL);
	}
}

/* every command --help lists is a service of the policy */
static void test_commands_listed(void)
{
	const char *argv[] = {testlib_fount_bin(), "--help", NULL};
	CU_ASSERT_EQUAL_FATAL(testlib_run(argv, NULL, NULL, res), 0);
	const char *p = strstr(res->out, "commands:\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	size_t seen = 0;
	for (p = strchr(p, '\n') + 1; strncmp(p, "  ", 2) == 0; p = strchr(p, '\n') + 1) {
		char name[32];
		if (sscanf(p, " %31s", name) != 1)
			break;
		CU_ASSERT(listed("services", "name", name, "cli"));
		char want[48];
		snprintf(want, sizeof want, "| fount %s |", name);
		CU_ASSERT_PTR_NOT_NULL(strstr(md, want));
		seen++;
	}
	CU_ASSERT(seen >= 20);
	CU_ASSERT(listed("services", "name", "policy", "cli"));
}

/* a source file with locked memory declares its secrets */
static void scan(const char *module, unsigned *files, unsigned *bad)
{
	char path[512];
	snprintf(path, sizeof path, "%s", testlib_path(module));
	DIR *d = opendir(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		if (l < 3 || strcmp(de->d_name + l - 2, ".c") != 0)
			continue;
		char rel[300], full[900];
		snprintf(rel, sizeof rel, "%s/%s", module, de->d_name);
		snprintf(full, sizeof full, "%s/%s", path, de->d_name);
		const char *src = testlib_slurp(full);
		if (src == NULL || strstr(src, "secmem_alloc(") == NULL || strcmp(rel, "util/secmem.c") == 0)
			continue;
		(*files)++;
		if (!listed("csps", "file", rel, NULL)) {
			fprintf(stderr, "\n  %s allocates locked memory but declares no CSP (CSP_DEFINE or CSP_USE, util/util.h)",
				rel);
			(*bad)++;
		}
	}
	closedir(d);
}

static void test_every_secret_declared(void)
{
	static const char *const modules[] = {"util", "entropy", "keygen", "hsm", "store", "api", "selftest", "cli"};
	unsigned files = 0, bad = 0;
	for (size_t i = 0; i < ARRAY_SIZE(modules); i++)
		scan(modules[i], &files, &bad);
	CU_ASSERT(files >= 20);
	CU_ASSERT_EQUAL(bad, 0);
	/* and every secret the code defines is in the policy's table, with
	 * the key store's KEK and the DRBG state among them */
	json_t *a = json_object_get(pj, "csps"), *e;
	size_t i, defined = 0;
	json_array_foreach(a, i, e)
	{
		if (!json_is_true(json_object_get(e, "defined")))
			continue;
		defined++;
		char want[128];
		snprintf(want, sizeof want, "| %s | ", json_string_value(json_object_get(e, "name")));
		CU_ASSERT_PTR_NOT_NULL(strstr(md, want));
	}
	CU_ASSERT(defined >= 10);
	CU_ASSERT(listed("csps", "name", "Key store KEK", NULL) && listed("csps", "name", "DRBG internal state", NULL));
}

/* SP 800-140B's sections, in order */
static void test_sections(void)
{
	static const char *const sections[] = {
		"## 1. General", "## 2. Cryptographic module specification", "## 3. Cryptographic module interfaces",
		"## 4. Roles, services, and authentication", "## 5. Software/firmware security",
		"## 6. Operational environment", "## 7. Physical security", "## 8. Non-invasive security",
		"## 9. Sensitive security parameter management", "## 10. Self-tests", "## 11. Life-cycle assurance",
		"## 12. Mitigation of other attacks"};
	const char *at = md;
	for (size_t i = 0; i < ARRAY_SIZE(sections); i++) {
		const char *p = strstr(at, sections[i]);
		CU_ASSERT_PTR_NOT_NULL(p);
		if (p != NULL)
			at = p;
	}
	/* the provider as it loaded, the states, the entropy source */
	CU_ASSERT_PTR_NOT_NULL(strstr(md, "OpenSSL"));
	CU_ASSERT_PTR_NOT_NULL(strstr(md, "| OPERATIONAL |"));
	CU_ASSERT_PTR_NOT_NULL(strstr(md, "| ERROR |"));
	CU_ASSERT_PTR_NOT_NULL(strstr(md, "### Entropy source (SP 800-90B)"));
	/* usage errors */
	const char *argv[] = {testlib_fount_bin(), "policy", NULL};
	CU_ASSERT_EQUAL_FATAL(testlib_run(argv, NULL, NULL, res), 0);
	CU_ASSERT_EQUAL(res->status, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(res->err, "-o DIR is required"));
}

TEST_SUITE(policy, suite_init, suite_clean, TEST(test_tables_complete), TEST(test_commands_listed),
	   TEST(test_every_secret_declared), TEST(test_sections))
