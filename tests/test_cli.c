/* tests/test_cli.c — the fount program end to end: output formats, files,
 * usage errors, self-test breaks, the integrity check, entropy commands. */
#include <ctype.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "selftest/selftest.h"
#include "tests/helpers.h"

static char tmpdir[64];
static struct run_result res;

static int cli_init(void)
{
	return testlib_tmpdir_create(tmpdir, "cli");
}

static int cli_clean(void)
{
	return testlib_tmpdir_remove(tmpdir);
}

/* fount runs the binary with up to 8 arguments and optional environment. */
static int fount(const char *const env[], const char *a1, const char *a2,
		 const char *a3, const char *a4, const char *a5, const char *a6)
{
	const char *argv[8] = {testlib_fount_bin(), a1, a2, a3, a4, a5, a6, NULL};
	CU_ASSERT_EQUAL_FATAL(testlib_run(argv, env, NULL, &res), 0);
	return res.status;
}

static const char *tmp(const char *name)
{
	return testlib_file(tmpdir, name);
}

static long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void test_random_hex(void)
{
	CU_ASSERT_EQUAL(fount(NULL, "random", "-n", "32", "--hex", NULL, NULL), 0);
	CU_ASSERT_EQUAL(strlen(res.out), 65);
	for (size_t i = 0; i < 64; i++)
		CU_ASSERT(isxdigit((unsigned char)res.out[i]) && !isupper((unsigned char)res.out[i]));
	CU_ASSERT_EQUAL(res.out[64], '\n');
	char first[65];
	memcpy(first, res.out, 65);
	first[64] = '\0';
	/* two runs never print the same bytes */
	CU_ASSERT_EQUAL(fount(NULL, "random", "-n", "32", NULL, NULL, NULL), 0);
	CU_ASSERT_NOT_EQUAL(strncmp(first, res.out, 64), 0);
}

static void test_random_base64_and_sizes(void)
{
	CU_ASSERT_EQUAL(fount(NULL, "random", "-n", "1000", "--base64", NULL, NULL), 0);
	CU_ASSERT_EQUAL(strlen(res.out), 4 * ((1000 + 2) / 3) + 1);
	CU_ASSERT_EQUAL(fount(NULL, "random", "-n", "0", NULL, NULL, NULL), 0);
	CU_ASSERT_STRING_EQUAL(res.out, "\n");
	/* more than one 64 KiB generate and more than one output chunk */
	const char *p = tmp("big.bin");
	CU_ASSERT_EQUAL(fount(NULL, "random", "-n", "200K", "--raw", "-o", p), 0);
	CU_ASSERT_EQUAL(file_size(p), 200 * 1024);
}

static void test_random_file_private_and_never_overwritten(void)
{
	const char *p = tmp("key.bin");
	CU_ASSERT_EQUAL(fount(NULL, "random", "-n", "64", "--raw", "-o", p), 0);
	struct stat st;
	CU_ASSERT_EQUAL_FATAL(stat(p, &st), 0);
	CU_ASSERT_EQUAL(st.st_size, 64);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	CU_ASSERT_EQUAL(fount(NULL, "random", "-n", "16", "--raw", "-o", p), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "never overwrites"));
	CU_ASSERT_EQUAL(file_size(p), 64);
}

static void test_usage_errors_exit_2(void)
{
	CU_ASSERT_EQUAL(fount(NULL, NULL, NULL, NULL, NULL, NULL, NULL), 2);
	CU_ASSERT_EQUAL(fount(NULL, "bogus", NULL, NULL, NULL, NULL, NULL), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "unknown command 'bogus'"));
	CU_ASSERT_EQUAL(fount(NULL, "random", NULL, NULL, NULL, NULL, NULL), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "-n BYTES is required"));
	CU_ASSERT_EQUAL(fount(NULL, "random", "-n", "lots", NULL, NULL, NULL), 2);
	CU_ASSERT_EQUAL(fount(NULL, "random", "-n", "8", "--hex", "--raw", NULL), 2);
	CU_ASSERT_EQUAL(fount(NULL, "random", "-n", "8", "--frobnicate", NULL, NULL), 2);
	CU_ASSERT_EQUAL(fount(NULL, "selftest", "extra", NULL, NULL, NULL, NULL), 2);
	CU_ASSERT_EQUAL(fount(NULL, "entropy", "raw", "--source", "moon", "-o", tmp("x")), 2);
	CU_ASSERT_EQUAL(fount(NULL, "entropy", "raw", "--source", "jitter", "-o", tmp("x")), 2);
	CU_ASSERT_EQUAL(fount(NULL, "entropy", "frob", NULL, NULL, NULL, NULL), 2);
	/* each error is one line */
	CU_ASSERT_EQUAL(strchr(res.err, '\n'), res.err + strlen(res.err) - 1);
}

static void test_help_everywhere(void)
{
	static const char *const cmds[] = {"serve", "random", "selftest", "entropy",
					   "acvp", "config", "version"};
	CU_ASSERT_EQUAL(fount(NULL, "--help", NULL, NULL, NULL, NULL, NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "usage: fount"));
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++) {
		CU_ASSERT_EQUAL(fount(NULL, cmds[i], "--help", NULL, NULL, NULL, NULL), 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "usage: fount"));
	}
}

static void test_selftest_table_and_json(void)
{
	CU_ASSERT_EQUAL(fount(NULL, "selftest", NULL, NULL, NULL, NULL, NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "OPERATIONAL"));
	CU_ASSERT_PTR_NULL(strstr(res.out, "FAIL"));
	CU_ASSERT_EQUAL(fount(NULL, "selftest", "--json", NULL, NULL, NULL, NULL), 0);
	json_error_t jerr;
	json_t *j = json_loads(res.out, 0, &jerr);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_TRUE(json_is_true(json_object_get(j, "passed")));
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "state")), "OPERATIONAL");
	const char *const *names;
	CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "tests")), selftest_names(&names));
	json_decref(j);
}

/* FOUNT_SELFTEST_BREAK=<name> for every test: `selftest` exits 1 naming
 * the test, and `random` refuses to emit a single byte. */
static void test_every_break_refuses_output(void)
{
	const char *const *names;
	size_t total = selftest_names(&names);
	for (size_t i = 0; i < total; i++) {
		char envvar[64];
		snprintf(envvar, sizeof(envvar), "FOUNT_SELFTEST_BREAK=%s", names[i]);
		const char *env[] = {envvar, NULL};
		CU_ASSERT_EQUAL(fount(env, "selftest", NULL, NULL, NULL, NULL, NULL), 1);
		char want[64];
		snprintf(want, sizeof(want), "failed:   %s", names[i]);
		if (strstr(res.out, want) == NULL)
			fprintf(stderr, "\n  break %s: output lacks '%s'\n", names[i], want);
		CU_ASSERT_PTR_NOT_NULL(strstr(res.out, want));
		CU_ASSERT_EQUAL(fount(env, "random", "-n", "32", NULL, NULL, NULL), 1);
		CU_ASSERT_STRING_EQUAL(res.out, "");
		snprintf(want, sizeof(want), "'%s' failed", names[i]);
		CU_ASSERT_PTR_NOT_NULL(strstr(res.err, want));
	}
}

static void copy_file(const char *from, const char *to)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", from, to);
	CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
}

static void test_integrity_check_catches_tampering(void)
{
	char bin[256], mac[256], src_mac[1024];
	snprintf(bin, sizeof(bin), "%s/fount", tmpdir);
	snprintf(mac, sizeof(mac), "%s/fount.hmac", tmpdir);
	snprintf(src_mac, sizeof(src_mac), "%s.hmac", testlib_fount_bin());
	copy_file(testlib_fount_bin(), bin);
	const char *argv[] = {bin, "selftest", NULL};
	/* the copy is away from build/fips: point it there */
	const char *env[] = {testlib_fips_dir_env(), NULL};

	/* no integrity file: refuse */
	unlink(mac);
	CU_ASSERT_EQUAL_FATAL(testlib_run(argv, env, NULL, &res), 0);
	CU_ASSERT_EQUAL(res.status, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "integrity"));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "fount.hmac"));

	/* the genuine pair passes */
	copy_file(src_mac, mac);
	CU_ASSERT_EQUAL_FATAL(testlib_run(argv, env, NULL, &res), 0);
	CU_ASSERT_EQUAL(res.status, 0);

	/* one byte appended to the binary: refuse */
	FILE *fp = fopen(bin, "ab");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	fputc(0, fp);
	fclose(fp);
	CU_ASSERT_EQUAL_FATAL(testlib_run(argv, env, NULL, &res), 0);
	CU_ASSERT_EQUAL(res.status, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "failed:   integrity"));
}

static void test_config_errors(void)
{
	const char *p = tmp("bad.conf");
	FILE *fp = fopen(p, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	fputs("[drbg]\nreseed_seconds = never\n", fp);
	fclose(fp);
	CU_ASSERT_EQUAL(fount(NULL, "-c", p, "config", NULL, NULL, NULL), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "bad.conf:2"));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "reseed_seconds"));
	CU_ASSERT_EQUAL(fount(NULL, "-c", tmp("missing.conf"), "config", NULL, NULL, NULL), 2);
	const char *env[] = {"FOUNT_DRBG_RESEED_SECONDS=42", NULL};
	CU_ASSERT_EQUAL(fount(env, "config", NULL, NULL, NULL, NULL, NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "reseed_seconds = 42"));
}

static void test_entropy_commands(void)
{
	CU_ASSERT_EQUAL(fount(NULL, "entropy", "status", NULL, NULL, NULL, NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "jitter"));
	/* in FIPS mode the vetted conditioning runs in the FIPS module */
	const char *fips = getenv("FOUNT_CRYPTO_FIPS");
	bool fips_mode = fips == NULL || strcmp(fips, "off") != 0;
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, fips_mode ? "from the \"fips\" provider"
							 : "from the \"default\" provider"));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "getrandom"));

	const char *p = tmp("jitter.raw");
	CU_ASSERT_EQUAL(fount(NULL, "entropy", "raw", "--source", "jitter", "--samples", "5000"), 2);
	/* -o is required: the call above had none */
	const char *argv[] = {testlib_fount_bin(), "entropy", "raw", "--source", "jitter",
			      "--samples", "5000", "--bits", "2", "-o", p, NULL};
	CU_ASSERT_EQUAL_FATAL(testlib_run(argv, NULL, NULL, &res), 0);
	CU_ASSERT_EQUAL(res.status, 0);
	CU_ASSERT_EQUAL(file_size(p), 5000);
	FILE *fp = fopen(p, "rb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	int c, max = 0, distinct[4] = {0};
	while ((c = fgetc(fp)) != EOF) {
		if (c > max)
			max = c;
		if (c < 4)
			distinct[c] = 1;
	}
	fclose(fp);
	CU_ASSERT(max <= 3);
	CU_ASSERT(distinct[0] + distinct[1] + distinct[2] + distinct[3] >= 2);
}

static void test_version(void)
{
	CU_ASSERT_EQUAL(fount(NULL, "version", NULL, NULL, NULL, NULL, NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "fount "));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "OpenSSL 3"));
}

/* serve: comes up OPERATIONAL, logs status, answers SIGHUP (reseed all)
 * and SIGUSR1 (self-tests now), and stops cleanly on SIGTERM. */
static void test_serve_lifecycle(void)
{
	const char *log = tmp("serve.log");
	const char *argv[] = {testlib_fount_bin(), "serve", "--status-seconds", "1", NULL};
	pid_t pid = testlib_spawn(log, argv, NULL);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_TRUE(testlib_wait_for_log(log, "operational"));
	CU_ASSERT_TRUE(testlib_wait_for_log(log, "state=OPERATIONAL"));
	kill(pid, SIGHUP);
	CU_ASSERT_TRUE(testlib_wait_for_log(log, "SIGHUP: every DRBG reseeds"));
	kill(pid, SIGUSR1);
	CU_ASSERT_TRUE(testlib_wait_for_log(log, "on-demand self-tests passed"));
	/* the status line after the heartbeat shows the primary reseeded */
	CU_ASSERT_TRUE(testlib_wait_for_log(log, "primary_reseeds=1"));
	kill(pid, SIGTERM);
	int st = 0;
	CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
	CU_ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(testlib_slurp(log), "stopping on signal"));
}

/* An upgrade renames a new binary over the running one: the on-demand
 * integrity test must still check the code that runs (/proc/self/exe,
 * against the value read at power-on), not the new file. */
static void test_serve_integrity_survives_binary_replacement(void)
{
	char bin[256], mac[256], src_mac[1024], fresh[256], cmd[1200];
	const char *log = tmp("serve-upgrade.log");
	snprintf(bin, sizeof(bin), "%s/fount-upgrade", tmpdir);
	snprintf(mac, sizeof(mac), "%s/fount-upgrade.hmac", tmpdir);
	snprintf(fresh, sizeof(fresh), "%s/fount-upgrade.new", tmpdir);
	snprintf(src_mac, sizeof(src_mac), "%s.hmac", testlib_fount_bin());
	copy_file(testlib_fount_bin(), bin);
	copy_file(src_mac, mac);

	const char *argv[] = {bin, "serve", NULL};
	const char *env[] = {testlib_fips_dir_env(), NULL};
	pid_t pid = testlib_spawn(log, argv, env);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_TRUE(testlib_wait_for_log(log, "operational"));
	/* the "upgrade": a different file renamed over the path, no .hmac */
	copy_file(testlib_fount_bin(), fresh);
	snprintf(cmd, sizeof(cmd), "printf x >> '%s' && mv '%s' '%s' && rm -f '%s'", fresh,
		 fresh, bin, mac);
	CU_ASSERT_EQUAL(system(cmd), 0);
	kill(pid, SIGUSR1);
	CU_ASSERT_TRUE(testlib_wait_for_log(log, "on-demand self-tests passed"));
	kill(pid, SIGTERM);
	int st = 0;
	CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
	CU_ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CU_ASSERT_PTR_NULL(strstr(testlib_slurp(log), "ERROR"));
}

static void test_serve_refuses_to_start_on_a_failed_selftest(void)
{
	const char *env[] = {"FOUNT_SELFTEST_BREAK=aes256-dec", NULL};
	CU_ASSERT_EQUAL(fount(env, "serve", NULL, NULL, NULL, NULL, NULL), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "'aes256-dec' failed"));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "refusing to run"));
}

/* fount acvp over the shared sample: every answer matches. */
static void test_acvp_command(void)
{
	char *req = testlib_slurp(testlib_path("tests/vectors/acvp/ctrDRBG-AES256-df-request.json"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(req);
	char *request = strdup(req);
	const char *argv[] = {testlib_fount_bin(), "acvp", NULL};
	CU_ASSERT_EQUAL_FATAL(testlib_run(argv, NULL, request, &res), 0);
	free(request);
	CU_ASSERT_EQUAL(res.status, 0);
	json_error_t jerr;
	json_t *got = json_loads(res.out, 0, &jerr);
	json_t *want = json_load_file(testlib_path("tests/vectors/acvp/ctrDRBG-AES256-df-expected.json"),
				      0, &jerr);
	CU_ASSERT_PTR_NOT_NULL_FATAL(got);
	CU_ASSERT_PTR_NOT_NULL_FATAL(want);
	size_t checked = 0;
	json_t *wg, *gg;
	size_t i, j;
	json_array_foreach(json_object_get(want, "testGroups"), i, wg) {
		gg = json_array_get(json_object_get(got, "testGroups"), i);
		json_t *wt;
		json_array_foreach(json_object_get(wg, "tests"), j, wt) {
			json_t *gt = json_array_get(json_object_get(gg, "tests"), j);
			const char *a = json_string_value(json_object_get(wt, "returnedBits"));
			const char *b = json_string_value(json_object_get(gt, "returnedBits"));
			CU_ASSERT_FATAL(a != NULL && b != NULL);
			CU_ASSERT_EQUAL(strcasecmp(a, b), 0);
			checked++;
		}
	}
	CU_ASSERT_EQUAL(checked, 8);
	json_decref(got);
	json_decref(want);
	/* not JSON at all: a clear error, exit 1, nothing on stdout */
	CU_ASSERT_EQUAL_FATAL(testlib_run(argv, NULL, "{\"testGroups\": [", &res), 0);
	CU_ASSERT_EQUAL(res.status, 1);
	CU_ASSERT_STRING_EQUAL(res.out, "");
}

TEST_SUITE(cli, cli_init, cli_clean,
	   TEST(test_serve_lifecycle), TEST(test_serve_refuses_to_start_on_a_failed_selftest),
	   TEST(test_serve_integrity_survives_binary_replacement),
	   TEST(test_acvp_command),
	   TEST(test_random_hex), TEST(test_random_base64_and_sizes),
	   TEST(test_random_file_private_and_never_overwritten),
	   TEST(test_usage_errors_exit_2), TEST(test_help_everywhere),
	   TEST(test_selftest_table_and_json), TEST(test_every_break_refuses_output),
	   TEST(test_integrity_check_catches_tampering), TEST(test_config_errors),
	   TEST(test_entropy_commands), TEST(test_version))
