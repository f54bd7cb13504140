/* tests/test_provider.c — what fount says about its OpenSSL provider: the
 * table of validated FIPS provider versions (keygen/fips_status.c), the
 * name, version, folder and validation `fount version` and `fount selftest`
 * report from the loaded provider, and that [crypto] fips_module_dir loads
 * the provider in that folder and no other. */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keygen/keygen.h"
#include "tests/helpers.h"

static char tmpdir[64];
static struct run_result res;

static int provider_init(void)
{
	return testlib_tmpdir_create(tmpdir, "provider");
}

static int provider_clean(void)
{
	return testlib_tmpdir_remove(tmpdir);
}

static bool lookup(const char *version, char *out, size_t n)
{
	return keygen_fips_validation(true, "OpenSSL FIPS Provider", version, out, n);
}

static void test_validation_table(void)
{
	char s[192];
	CU_ASSERT_TRUE(lookup("3.1.2", s, sizeof(s)));
	CU_ASSERT_STRING_EQUAL(s, "yes (FIPS 140-3 #4985)");
	CU_ASSERT_TRUE(lookup("3.0.9", s, sizeof(s)));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "yes (FIPS 140-2 #4282; historical"));
	CU_ASSERT_TRUE(lookup("3.0.8", s, sizeof(s)));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "yes (FIPS 140-2 #4282"));
	/* Debian's 3.0.22 and releases between the validated ones are not */
	CU_ASSERT_FALSE(lookup("3.0.22", s, sizeof(s)));
	CU_ASSERT_STRING_EQUAL(s, "no (OpenSSL 3.0.22 is not a validated version; see README \"FIPS mode\")");
	CU_ASSERT_FALSE(lookup("3.0.10", s, sizeof(s)));
	CU_ASSERT_FALSE(lookup("3.1.20", s, sizeof(s)));
	CU_ASSERT_FALSE(lookup("3.0.0", s, sizeof(s))); /* no longer on #4282 */
	CU_ASSERT_FALSE(lookup(NULL, s, sizeof(s)));
	/* the default provider is never a validated module, whatever its version */
	CU_ASSERT_FALSE(keygen_fips_validation(false, "OpenSSL Default Provider", "3.1.2", s, sizeof(s)));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "no (the OpenSSL Default Provider is not a FIPS module"));
	/* a vendor's provider is not judged by OpenSSL's version numbers */
	CU_ASSERT_FALSE(keygen_fips_validation(true, "Vendor FIPS Provider", "3.1.2", s, sizeof(s)));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "unknown (Vendor FIPS Provider 3.1.2"));
}

static int run(const char *dir_env, const char *a1, const char *a2)
{
	const char *argv[] = {testlib_fount_bin(), a1, a2, NULL};
	const char *env[] = {"FOUNT_CRYPTO_FIPS=required", dir_env, NULL};
	CU_ASSERT_EQUAL_FATAL(testlib_run(argv, env, NULL, &res), 0);
	return res.status;
}

/* the folder fount finds by default: <exe dir>/fips, resolved */
static const char *default_dir(void)
{
	static char real[PATH_MAX];
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", strchr(testlib_fips_dir_env(), '=') + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(realpath(dir, real));
	return real;
}

/* `fount version --json`'s provider object; checks it against the table */
static json_t *version_json(const char *dir_env, const char *want_dir)
{
	CU_ASSERT_EQUAL(run(dir_env, "version", "--json"), 0);
	json_error_t jerr;
	json_t *root = json_loads(res.out, 0, &jerr);
	CU_ASSERT_PTR_NOT_NULL_FATAL(root);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(root, "fips_mode")), "on");
	json_t *p = json_object_get(root, "provider");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	const char *name = json_string_value(json_object_get(p, "name"));
	const char *version = json_string_value(json_object_get(p, "version"));
	CU_ASSERT_FATAL(name != NULL && version != NULL);
	CU_ASSERT_STRING_EQUAL(name, "OpenSSL FIPS Provider");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(p, "dir")), want_dir);
	char want[192];
	bool yes = keygen_fips_validation(true, name, version, want, sizeof(want));
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(p, "validation")), want);
	CU_ASSERT_EQUAL(json_is_true(json_object_get(p, "validated")), yes);
	return root;
}

static void test_version_and_selftest_report_the_provider(void)
{
	const char *dir = default_dir();
	json_t *root = version_json(NULL, dir);
	json_t *p = json_object_get(root, "provider");
	const char *version = json_string_value(json_object_get(p, "version"));
	char line[PATH_MAX + 64];

	/* the text forms carry the same fields */
	CU_ASSERT_EQUAL(run(NULL, "version", NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "name:     OpenSSL FIPS Provider\n"));
	snprintf(line, sizeof(line), "version:  %s\n", version);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, line));
	snprintf(line, sizeof(line), "dir:      %s\n", dir);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, line));
	snprintf(line, sizeof(line), "validated: %s\n",
		 json_string_value(json_object_get(p, "validation")));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, line));
	/* Debian's provider (what `make fips` builds by default) says no */
	if (strcmp(version, "3.1.2") != 0 && strcmp(version, "3.0.9") != 0 &&
	    strcmp(version, "3.0.8") != 0)
		CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "validated: no (OpenSSL "));

	CU_ASSERT_EQUAL(run(NULL, "selftest", NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, line));
	snprintf(line, sizeof(line), "dir:      %s\n", dir);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, line));

	CU_ASSERT_EQUAL(run(NULL, "selftest", "--json"), 0);
	json_error_t jerr;
	json_t *st = json_loads(res.out, 0, &jerr);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_TRUE(json_equal(json_object_get(st, "provider_info"), p));
	json_decref(st);
	json_decref(root);
}

/* a copy of the provider in another folder, installed there with
 * `openssl fipsinstall`, is the one loaded; once its fipsmodule.cnf no
 * longer matches, fount refuses, although build/fips is intact */
static void test_module_dir_is_the_one_loaded(void)
{
	char dir[128], env[200], cmd[1024];
	snprintf(dir, sizeof(dir), "%s/vendor", tmpdir);
	snprintf(env, sizeof(env), "FOUNT_CRYPTO_FIPS_MODULE_DIR=%s", dir);
	snprintf(cmd, sizeof(cmd),
		 "mkdir -p '%s' && cp '%s/fips.so' '%s/fips.so' && "
		 "openssl fipsinstall -module '%s/fips.so' -out '%s/fipsmodule.cnf' -provider_name fips -quiet",
		 dir, default_dir(), dir, dir, dir);
	CU_ASSERT_EQUAL_FATAL(testlib_sh(cmd), 0);

	json_decref(version_json(env, dir));
	CU_ASSERT_EQUAL(run(env, "version", NULL), 0);
	char line[256];
	snprintf(line, sizeof(line), "dir:      %s\n", dir);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, line));

	/* one hex digit of the module's recorded HMAC changed */
	char cnf[160];
	snprintf(cnf, sizeof(cnf), "%s/fipsmodule.cnf", dir);
	char *text = testlib_slurp(cnf);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	char *mac = strstr(text, "module-mac = ");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mac);
	mac += strlen("module-mac = ");
	*mac = *mac == '0' ? '1' : '0';
	FILE *fp = fopen(cnf, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	fputs(text, fp);
	CU_ASSERT_EQUAL_FATAL(fclose(fp), 0);
	CU_ASSERT_EQUAL(run(env, "version", NULL), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "provider: unavailable"));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, dir));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "does not load"));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "fips_module_dir"));
	CU_ASSERT_EQUAL(run(env, "selftest", NULL), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "failed:   provider"));
	const char *argv[] = {testlib_fount_bin(), "random", "-n", "8", NULL};
	const char *envs[] = {"FOUNT_CRYPTO_FIPS=required", env, NULL};
	CU_ASSERT_EQUAL_FATAL(testlib_run(argv, envs, NULL, &res), 0);
	CU_ASSERT_EQUAL(res.status, 1);
	CU_ASSERT_STRING_EQUAL(res.out, "");

	/* the default folder still loads: the refusal was the copy's */
	CU_ASSERT_EQUAL(run(NULL, "version", NULL), 0);
}

TEST_SUITE(provider, provider_init, provider_clean, TEST(test_validation_table),
	   TEST(test_version_and_selftest_report_the_provider),
	   TEST(test_module_dir_is_the_one_loaded))
