/* tests/test_cli_hsm.c — `fount hsm` end to end against a throw-away
 * SoftHSMv2 token, checked with OpenSC's pkcs11-tool. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/testlib.h"

#define LABEL "fount-cli"
#define PIN "cli-pin-2468"

static struct run_result res;
static char env_module[128], env_token[64], env_pin_file[200];

static const char *tfile(const char *name)
{
	static char path[4][160];
	static int k;
	k = (k + 1) % 4;
	snprintf(path[k], sizeof(path[k]), "%s/%s", testlib_softhsm_dir(), name);
	return path[k];
}

static int cli_init(void)
{
	if (testlib_softhsm_setup() != 0 || testlib_softhsm_token(LABEL, PIN) != 0)
		return -1;
	FILE *fp = fopen(tfile("pin"), "w");
	if (fp == NULL)
		return -1;
	fputs(PIN "\n", fp);
	fclose(fp);
	chmod(tfile("pin"), 0600);
	snprintf(env_module, sizeof(env_module), "FOUNT_HSM_MODULE=%s", TESTLIB_SOFTHSM_MODULE);
	snprintf(env_token, sizeof(env_token), "FOUNT_HSM_TOKEN=%s", LABEL);
	snprintf(env_pin_file, sizeof(env_pin_file), "FOUNT_HSM_PIN_FILE=%s", tfile("pin"));
	return 0;
}

static int cli_clean(void)
{
	testlib_softhsm_cleanup();
	return 0;
}

/* run_hsm runs `fount hsm ARGS...` (|args| NULL-terminated) with the
 * token's environment plus |extra| ("K=V" or NULL). */
static int run_hsm(const char *extra, const char *const *args)
{
	const char *argv[16] = {testlib_fount_bin(), "hsm"};
	size_t n = 2;
	for (size_t i = 0; args[i] != NULL && n < ARRAY_SIZE(argv) - 1; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	const char *env[] = {env_module, env_token, env_pin_file, "FOUNT_SECURITY_MLOCK=off",
			     extra, NULL};
	CU_ASSERT_EQUAL_FATAL(testlib_run(argv, env, NULL, &res), 0);
	return res.status;
}
#define fount(...) run_hsm(NULL, (const char *[]){__VA_ARGS__, NULL})
#define fount_env(e, ...) run_hsm((e), (const char *[]){__VA_ARGS__, NULL})

static void test_help_and_usage(void)
{
	CU_ASSERT_EQUAL(fount("--help", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "kek-create"));
	CU_ASSERT_EQUAL(fount(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL), 2);
	CU_ASSERT_EQUAL(fount("bogus", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL), 2);
	CU_ASSERT_EQUAL(fount("keygen", "--type", "aes-512", "--label", "x", NULL, NULL, NULL, NULL), 2);
	CU_ASSERT_EQUAL(fount("keygen", "--label", "x", NULL, NULL, NULL, NULL, NULL, NULL), 2);
	CU_ASSERT_EQUAL(fount("import", "--key", "k", NULL, NULL, NULL, NULL, NULL, NULL), 2);
	CU_ASSERT_EQUAL(fount("--hsm", "nope", "objects", NULL, NULL, NULL, NULL, NULL, NULL), 2);
}

static void test_tokens_objects_keygen(void)
{
	CU_ASSERT_EQUAL(fount("tokens", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, LABEL));
	CU_ASSERT_EQUAL(fount("keygen", "--type", "aes-256", "--label", "cli-aes", NULL, NULL, NULL, NULL), 0);
	CU_ASSERT_EQUAL(fount("keygen", "--type", "ec-p256", "--label", "cli-ec", NULL, NULL, NULL, NULL), 0);
	CU_ASSERT_EQUAL(fount("keygen", "--type", "aes-256", "--label", "cli-aes", NULL, NULL, NULL, NULL), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "already taken"));
	CU_ASSERT_EQUAL(fount("objects", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "cli-aes"));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "cli-ec"));
	CU_ASSERT_EQUAL(testlib_sh("pkcs11-tool --module " TESTLIB_SOFTHSM_MODULE " --token-label " LABEL
				   " --login --pin " PIN " -O --type secrkey --label cli-aes 2>/dev/null"
				   " | grep -q 'never extractable'"), 0);
}

static void test_kek_import_seed(void)
{
	char cmd[512];
	CU_ASSERT_EQUAL(fount("kek-create", "--label", "cli-kek", "--out", tfile("kek"), NULL, NULL, NULL, NULL), 0);
	snprintf(cmd, sizeof(cmd), "head -c 32 /dev/urandom > %s", tfile("key"));
	CU_ASSERT_EQUAL_FATAL(testlib_sh(cmd), 0);
	CU_ASSERT_EQUAL(fount("import", "--key", tfile("key"), "--kek-label", "cli-kek", "--kek-file",
			      tfile("kek"), "--label", "cli-imported", NULL), 0);
	/* a KEK file that is not the HSM's KEK: the HSM refuses the blob */
	snprintf(cmd, sizeof(cmd), "head -c 32 /dev/urandom > %s", tfile("otherkek"));
	CU_ASSERT_EQUAL_FATAL(testlib_sh(cmd), 0);
	CU_ASSERT_EQUAL(fount("import", "--key", tfile("key"), "--kek-label", "cli-kek", "--kek-file",
			      tfile("otherkek"), "--label", "cli-bad", NULL), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "wrong KEK"));
	CU_ASSERT_EQUAL(fount("seed", "--bytes", "4096", NULL, NULL, NULL, NULL, NULL, NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "seeded"));
}

static void test_failures(void)
{
	CU_ASSERT_EQUAL(fount_env("FOUNT_HSM_PIN=not-the-pin", "objects", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "rejected the PIN"));
	/* the PIN never shows up in any output */
	CU_ASSERT_PTR_NULL(strstr(res.err, "not-the-pin"));
	CU_ASSERT_EQUAL(fount_env("FOUNT_HSM_MODULE=/nonexistent/p11.so", "objects", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "module cannot be loaded"));
	CU_ASSERT_EQUAL(fount_env("FOUNT_HSM_TOKEN=absent", "objects", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "not present"));
}

static void test_config_masks_pin(void)
{
	const char *argv[] = {testlib_fount_bin(), "config", NULL};
	const char *env[] = {env_module, "FOUNT_HSM_PIN=secret-pin-9999", NULL};
	CU_ASSERT_EQUAL_FATAL(testlib_run(argv, env, NULL, &res), 0);
	CU_ASSERT_EQUAL(res.status, 0);
	CU_ASSERT_PTR_NULL(strstr(res.out, "secret-pin-9999"));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "pin = ********"));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "[hsm]"));
	/* [hsm.NAME] sections, and unknown keys in them name file:line:key */
	FILE *fp = fopen(tfile("fount.conf"), "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	fprintf(fp, "[hsm.backup]\nmodule = /x.so\ntoken = serial:1234\nrng_input = on\n[hsm.other]\nbogus = 1\n");
	fclose(fp);
	const char *argv2[] = {testlib_fount_bin(), "-c", tfile("fount.conf"), "config", NULL};
	CU_ASSERT_EQUAL_FATAL(testlib_run(argv2, NULL, NULL, &res), 0);
	CU_ASSERT_EQUAL(res.status, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, ":6: unknown key 'bogus' in section [hsm.other]"));
	fp = fopen(tfile("fount.conf"), "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	fprintf(fp, "[hsm.backup]\nmodule = /x.so\ntoken = serial:1234\nrng_input = on\n");
	fclose(fp);
	CU_ASSERT_EQUAL_FATAL(testlib_run(argv2, NULL, NULL, &res), 0);
	CU_ASSERT_EQUAL(res.status, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "[hsm.backup]"));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "token = serial:1234"));
}

TEST_SUITE(cli_hsm, cli_init, cli_clean, TEST(test_help_and_usage),
	   TEST(test_tokens_objects_keygen), TEST(test_kek_import_seed), TEST(test_failures),
	   TEST(test_config_masks_pin))
