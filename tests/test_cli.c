/* tests/test_cli.c — the fount program end to end: output formats, files,
 * usage errors, self-test breaks, the integrity check, entropy commands. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
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

/* AddressSanitizer intercepts mlock and mlockall and makes them succeed
 * without doing anything (compiler-rt, sanitizer_common_interceptors.inc:
 * MlockIsUnsupported), so in a SAN=1 build no page is ever locked and an
 * RLIMIT_MEMLOCK of 0 cannot fail: the memory-locking checks run in the
 * plain build only. */
#if defined(__SANITIZE_ADDRESS__)
#define MLOCK_IS_REAL 0
#else
#define MLOCK_IS_REAL 1
#endif

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
	/* every command of cli/main.c's table */
	static const char *const cmds[] = {"serve",  "random", "selftest", "entropy", "acvp",
					   "config", "version", "keygen",  "wrap",    "unwrap",
					   "hsm",    "ca",      "tenant",  "status"};
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


/* ---- defects found by testing the CLI from outside (issue 7) ---------- */

static bool one_line(const char *s)
{
	const char *nl = strchr(s, '\n');
	return nl != NULL && nl[1] == '\0';
}

static int run_argv(const char *const argv[], const char *const env[])
{
	CU_ASSERT_EQUAL_FATAL(testlib_run(argv, env, NULL, &res), 0);
	return res.status;
}

static void write_file(const char *path, const char *data, size_t len)
{
	FILE *fp = fopen(path, "wb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	CU_ASSERT_EQUAL(fwrite(data, 1, len, fp), len);
	fclose(fp);
}

/* as_root says whether the tests that need root can run (setpriv to
 * another user or without a capability, an unlimited RLIMIT_MEMLOCK);
 * CI runs as root. Any other user gets a note instead. */
static bool as_root(const char *what)
{
	if (geteuid() == 0)
		return true;
	fprintf(stderr, "\n  not root: %s not checked", what);
	return false;
}

/* dir_entries counts the entries of |dir| other than . and .., and those
 * whose name starts with a dot (fount's temporary names) in *hidden. */
static int dir_entries(const char *dir, int *hidden)
{
	DIR *d = opendir(dir);
	int n = 0;
	*hidden = 0;
	if (d == NULL)
		return -1;
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		n++;
		*hidden += e->d_name[0] == '.';
	}
	closedir(d);
	return n;
}

/* 1: a configuration file that exists is read or refused, never skipped.
 * FOUNT_CONFIG stands in for the default path (absent is fine there). */
static void test_config_file_exists_but_unusable(void)
{
	char env[300];
	const char *envp[] = {env, NULL};
	/* -c DIRECTORY is not an empty configuration */
	CU_ASSERT_EQUAL(fount(NULL, "-c", tmpdir, "config", NULL, NULL, NULL), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, tmpdir));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "directory"));
	CU_ASSERT(one_line(res.err));
	/* the default path: absent is the defaults ... */
	snprintf(env, sizeof(env), "FOUNT_CONFIG=%s", tmp("absent.conf"));
	CU_ASSERT_EQUAL(fount(envp, "config", NULL, NULL, NULL, NULL, NULL), 0);
	/* ... but a directory, a FIFO or a dangling link there is an error */
	const char *cdir = tmp("conf.d");
	CU_ASSERT_EQUAL_FATAL(mkdir(cdir, 0755), 0);
	snprintf(env, sizeof(env), "FOUNT_CONFIG=%s", cdir);
	CU_ASSERT_EQUAL(fount(envp, "config", NULL, NULL, NULL, NULL, NULL), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, cdir));
	const char *fifo = tmp("conf.fifo");
	CU_ASSERT_EQUAL_FATAL(mkfifo(fifo, 0644), 0);
	snprintf(env, sizeof(env), "FOUNT_CONFIG=%s", fifo);
	CU_ASSERT_EQUAL(fount(envp, "config", NULL, NULL, NULL, NULL, NULL), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "FIFO"));
	const char *dangling = tmp("conf.link");
	CU_ASSERT_EQUAL_FATAL(symlink(tmp("nowhere.conf"), dangling), 0);
	snprintf(env, sizeof(env), "FOUNT_CONFIG=%s", dangling);
	CU_ASSERT_EQUAL(fount(envp, "config", NULL, NULL, NULL, NULL, NULL), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "conf.link"));

	/* unreadable: root reads anything, so the reader is nobody (setpriv,
	 * util-linux), and the file is root's, mode 0600, in a folder nobody
	 * may enter */
	if (!as_root("an unreadable configuration file"))
		return;
	char dir[64];
	snprintf(dir, sizeof(dir), "/tmp/fount-cfg-XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	CU_ASSERT_EQUAL(chmod(dir, 0711), 0);
	char secret[128];
	snprintf(secret, sizeof(secret), "%s/fount.conf", dir);
	write_file(secret, "[drbg]\nreseed_seconds = 42\n", 27);
	CU_ASSERT_EQUAL(chmod(secret, 0600), 0);
	snprintf(env, sizeof(env), "FOUNT_CONFIG=%s", secret);
	const char *nobody[] = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
				"--clear-groups", testlib_fount_bin(), "config", NULL};
	CU_ASSERT_EQUAL(run_argv(nobody, envp), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, secret));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "Permission denied"));
	const char *nobody_c[] = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
				  "--clear-groups", testlib_fount_bin(), "-c", secret, "config", NULL};
	CU_ASSERT_EQUAL(run_argv(nobody_c, NULL), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "Permission denied"));
	unlink(secret);
	rmdir(dir);
}

/* 2: the read is bounded and a NUL byte is an error at its line. */
static void test_config_read_bounded_no_nul(void)
{
	/* /dev/zero: refused at once (it used to spin forever) */
	const char *zero[] = {"/usr/bin/timeout", "20", testlib_fount_bin(), "-c", "/dev/zero",
			      "config", NULL};
	CU_ASSERT_EQUAL(run_argv(zero, NULL), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "/dev/zero"));
	CU_ASSERT(one_line(res.err));
	/* "jitter\0,rdseed" is not "jitter" */
	const char *p = tmp("nul.conf");
	static const char nul[] = "[entropy]\n# two sources\nsources = jitter\0,rdseed\n";
	write_file(p, nul, sizeof(nul) - 1);
	CU_ASSERT_EQUAL(fount(NULL, "-c", p, "config", NULL, NULL, NULL), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "nul.conf:3"));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "NUL"));
	/* more than 1 MiB of (valid) comments: too large */
	const char *big = tmp("big.conf");
	FILE *fp = fopen(big, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	for (int i = 0; i < 70000; i++)
		fputs("# a comment line\n", fp);
	fclose(fp);
	CU_ASSERT(file_size(big) > (1 << 20));
	CU_ASSERT_EQUAL(fount(NULL, "-c", big, "config", NULL, NULL, NULL), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "big.conf"));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "larger than"));
}

/* 3: an interrupted `random -o` leaves nothing, and a rerun works. */
/* wait_written waits (up to 20 s) until process |pid| has written |n|
 * bytes (wchar of /proc/PID/io) */
static bool wait_written(pid_t pid, unsigned long long n)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/io", (int)pid);
	for (int i = 0; i < 20000; i++) {
		FILE *io = fopen(path, "r");
		unsigned long long w = 0;
		char line[128];
		while (io != NULL && fgets(line, sizeof line, io) != NULL)
			if (sscanf(line, "wchar: %llu", &w) == 1)
				break;
		if (io != NULL)
			fclose(io);
		if (w >= n)
			return true;
		struct timespec ts = {0, 1000000L};
		nanosleep(&ts, NULL);
	}
	return false;
}

static void test_interrupted_random_leaves_nothing(void)
{
	static const int sigs[] = {SIGTERM, SIGINT, SIGHUP};
	char dir[64];
	CU_ASSERT_EQUAL_FATAL(testlib_tmpdir_create(dir, "sig"), 0);
	char f[128];
	snprintf(f, sizeof(f), "%s/F", dir);
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++) {
		const char *argv[] = {testlib_fount_bin(), "random", "-n", "64G", "--raw", "-o", f, NULL};
		pid_t pid = testlib_spawn(tmp("sig.log"), argv, NULL);
		CU_ASSERT_FATAL(pid > 0);
		/* the output is being written: 16 MiB of it (a fixed sleep was
		 * either too short or, on a fast DRBG, past the end of 1 GiB) */
		CU_ASSERT(wait_written(pid, 16u << 20));
		CU_ASSERT_EQUAL(kill(pid, sigs[i]), 0);
		int st = 0;
		CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
		CU_ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == sigs[i]);
		int hidden = 0;
		CU_ASSERT_EQUAL(dir_entries(dir, &hidden), 0);
		CU_ASSERT_EQUAL(hidden, 0);
	}
	CU_ASSERT_EQUAL(fount(NULL, "random", "-n", "32", "--raw", "-o", f), 0);
	CU_ASSERT_EQUAL(file_size(f), 32);
	testlib_tmpdir_remove(dir);
}

/* 3: an interrupted keygen of a pair leaves both files or neither, never
 * an empty one, and nothing temporary; a rerun works. */
static void test_interrupted_keygen_pair(void)
{
	static const long delays_ms[] = {20, 60, 120, 200, 300, 450, 700};
	char dir[64];
	CU_ASSERT_EQUAL_FATAL(testlib_tmpdir_create(dir, "sigkey"), 0);
	char key[128], pub[128]; /* testlib_file's buffers rotate */
	snprintf(key, sizeof(key), "%s/k.pem", dir);
	snprintf(pub, sizeof(pub), "%s/k.pub", dir);
	int interrupted = 0;
	for (size_t i = 0; i < ARRAY_SIZE(delays_ms); i++) {
		unlink(key);
		unlink(pub);
		const char *argv[] = {testlib_fount_bin(), "keygen", "--type", "rsa-4096", "--out", key,
				      "--pub", pub, NULL};
		pid_t pid = testlib_spawn(tmp("sigkey.log"), argv, NULL);
		CU_ASSERT_FATAL(pid > 0);
		struct timespec ts = {0, delays_ms[i] * 1000000L};
		nanosleep(&ts, NULL);
		kill(pid, i % 2 ? SIGINT : SIGTERM);
		int st = 0;
		CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
		int hidden = 0, n = dir_entries(dir, &hidden);
		CU_ASSERT_EQUAL(hidden, 0);
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
			/* it finished first: both, whole */
			CU_ASSERT_EQUAL(n, 2);
			CU_ASSERT(file_size(key) > 3000 && file_size(pub) > 700);
		} else {
			if (!WIFSIGNALED(st))
				fprintf(stderr, "\n  keygen after %ld ms: status %#x, log: %s", delays_ms[i],
					st, testlib_slurp(tmp("sigkey.log")));
			CU_ASSERT_TRUE(WIFSIGNALED(st));
			CU_ASSERT_EQUAL(n, 0);
			interrupted++;
		}
	}
	CU_ASSERT(interrupted > 0);
	unlink(key);
	unlink(pub);
	const char *argv[] = {testlib_fount_bin(), "keygen", "--type", "ec-p256", "--out", key,
			      "--pub", pub, NULL};
	CU_ASSERT_EQUAL(run_argv(argv, NULL), 0);
	CU_ASSERT(file_size(key) > 0 && file_size(pub) > 0);
	testlib_tmpdir_remove(dir);
}

/* 4 and 9: an mlock failure is named with its fix, not taken for a
 * failed self-test. Root has CAP_IPC_LOCK, which ignores RLIMIT_MEMLOCK:
 * setpriv drops it from the bounding set, so the child is root without it. */
static void test_mlock_failure_names_the_fix(void)
{
	if (!MLOCK_IS_REAL) {
		fprintf(stderr, "\n  ASan build: mlock is a no-op, checked in the plain build");
		return;
	}
	if (!as_root("mlock failure without CAP_IPC_LOCK"))
		return;
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 "ulimit -l 0 && exec /usr/bin/setpriv --bounding-set=-ipc_lock --inh-caps=-ipc_lock "
		 "'%s' random -n 16", testlib_fount_bin());
	const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
	CU_ASSERT_EQUAL(run_argv(argv, NULL), 1);
	CU_ASSERT(one_line(res.err));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "mlock"));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "RLIMIT_MEMLOCK is 0 bytes"));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "[security] mlock = off"));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "LimitMEMLOCK"));
	CU_ASSERT_PTR_NULL(strstr(res.err, "self-test"));
	CU_ASSERT_STRING_EQUAL(res.out, "");
	/* and the fix works */
	const char *env[] = {"FOUNT_SECURITY_MLOCK=off", NULL};
	CU_ASSERT_EQUAL(run_argv(argv, env), 0);
	CU_ASSERT_EQUAL(strlen(res.out), 33);
}

/* 5: numbers that do not fit are refused, not clamped to 2^64-1. */
static void test_numbers_overflow_exit_2(void)
{
	static const char *const bad[] = {"99999999999999999999", "18446744073709551616",
					  "-1", "17179869184G", " 5", "+5"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		/* -o in a missing folder: a clamped count would fail there, not run */
		CU_ASSERT_EQUAL(fount(NULL, "random", "-n", bad[i], "-o", "/nonexistent/x", NULL), 2);
		CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "-n wants a byte count"));
		CU_ASSERT(one_line(res.err));
	}
	CU_ASSERT_EQUAL(fount(NULL, "entropy", "raw", "--source", "jitter", "--samples",
			      "99999999999999999999"), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "--samples wants a positive count"));
	CU_ASSERT_EQUAL(fount(NULL, "serve", "--status-seconds", "99999999999999999999", NULL, NULL,
			      NULL), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "--status-seconds wants"));
}

/* 6: [entropy] sources is checked when it is read. */
static void test_config_entropy_sources_checked(void)
{
	static const char *const bad[] = {"bogus", "jitter,jitter", "", ",,,", "JITTER",
					  "jitter,", "rdseed,,jitter"};
	const char *p = tmp("sources.conf");
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char text[128];
		int n = snprintf(text, sizeof(text), "[entropy]\nsources = %s\n", bad[i]);
		write_file(p, text, (size_t)n);
		CU_ASSERT_EQUAL(fount(NULL, "-c", p, "config", NULL, NULL, NULL), 2);
		if (res.status != 2)
			fprintf(stderr, "\n  sources = '%s' was accepted\n", bad[i]);
		CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "sources.conf:2"));
		CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "sources"));
		CU_ASSERT(one_line(res.err));
	}
	write_file(p, "[entropy]\nsources = jitter , rdseed\n", 36);
	CU_ASSERT_EQUAL(fount(NULL, "-c", p, "config", NULL, NULL, NULL), 0);
	const char *env[] = {"FOUNT_ENTROPY_SOURCES=moon", NULL};
	CU_ASSERT_EQUAL(fount(env, "config", NULL, NULL, NULL, NULL, NULL), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "FOUNT_ENTROPY_SOURCES"));
}

/* 7: character devices and FIFOs are written to; a directory is named. */
static void test_output_to_devices_fifos_and_dirs(void)
{
	CU_ASSERT_EQUAL(fount(NULL, "random", "-n", "16", "-o", "/dev/null", NULL), 0);
	CU_ASSERT_STRING_EQUAL(res.err, "");
	/* /dev/stdout is a link to our pipe */
	CU_ASSERT_EQUAL(fount(NULL, "random", "-n", "16", "-o", "/dev/stdout", NULL), 0);
	CU_ASSERT_EQUAL(strlen(res.out), 33);
	CU_ASSERT_EQUAL(fount(NULL, "keygen", "--type", "aes-128", "--out", "/dev/null", NULL), 0);
	CU_ASSERT_EQUAL(fount(NULL, "random", "-n", "16", "-o", tmpdir, NULL), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "is a directory"));
	CU_ASSERT_PTR_NULL(strstr(res.err, "remove it"));
	CU_ASSERT(one_line(res.err));
	const char *fifo = tmp("out.fifo"), *got = tmp("from-fifo");
	CU_ASSERT_EQUAL_FATAL(mkfifo(fifo, 0600), 0);
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "timeout 20 cat '%s' > '%s' & '%s' random -n 16 -o '%s'; "
		 "r=$?; wait; exit $r", fifo, got, testlib_fount_bin(), fifo);
	CU_ASSERT_EQUAL(testlib_sh(cmd), 0);
	CU_ASSERT_EQUAL(file_size(got), 33);
	/* entropy raw replaces a regular file, but also writes to a device */
	CU_ASSERT_EQUAL(fount(NULL, "entropy", "raw", "--source", "jitter", "--samples", "100"), 2);
	const char *raw[] = {testlib_fount_bin(), "entropy", "raw", "--source", "jitter",
			     "--samples", "100", "-o", "/dev/null", NULL};
	CU_ASSERT_EQUAL(run_argv(raw, NULL), 0);
	if (res.status != 0)
		fprintf(stderr, "\n  entropy raw -o /dev/null: %s", res.err);
	char capture[128];
	snprintf(capture, sizeof(capture), "%s", tmp("again.raw"));
	write_file(capture, "old", 3);
	raw[8] = capture;
	CU_ASSERT_EQUAL(run_argv(raw, NULL), 0);
	CU_ASSERT_EQUAL(file_size(capture), 100);
	/* a regular file is still never overwritten */
	const char *f = tmp("kept.bin");
	write_file(f, "x", 1);
	CU_ASSERT_EQUAL(fount(NULL, "random", "-n", "16", "-o", f, NULL), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "never overwrites"));
	CU_ASSERT_EQUAL(file_size(f), 1);
}

/* 8: every command reports an option error in one line that names it. */
static void test_option_errors_one_line_every_command(void)
{
	static const struct {
		const char *argv[6];
		const char *want;
	} cases[] = {
		{{"-c", NULL}, "option '-c' requires an argument"},
		{{"--config", NULL}, "option '--config' requires an argument"},
		{{"--frob", "version", NULL}, "unknown option '--frob'"},
		{{"-Z", "version", NULL}, "unknown option '-Z'"},
		{{"random", "-n", NULL}, "option '-n' requires an argument"},
		{{"random", "--bytes", NULL}, "option '--bytes' requires an argument"},
		{{"random", "-n", "8", "--foo", NULL}, "unknown option '--foo'"},
		{{"random", "-n", "8", "-z", NULL}, "unknown option '-z'"},
		{{"random", "-n", "8", "--hex=1", NULL}, "option '--hex' takes no argument"},
		{{"keygen", "-t", NULL}, "option '-t' requires an argument"},
		{{"keygen", "--type", "aes-128", "--pub", NULL}, "option '--pub' requires an argument"},
		{{"keygen", "--foo", NULL}, "unknown option '--foo'"},
		{{"wrap", "--kek", NULL}, "option '--kek' requires an argument"},
		{{"wrap", "--foo", NULL}, "unknown option '--foo'"},
		{{"unwrap", "-o", NULL}, "option '-o' requires an argument"},
		{{"unwrap", "--foo", NULL}, "unknown option '--foo'"},
		{{"entropy", "raw", "--source", NULL}, "option '--source' requires an argument"},
		{{"entropy", "raw", "--foo", NULL}, "unknown option '--foo'"},
		{{"hsm", "seed", "--bytes", NULL}, "option '--bytes' requires an argument"},
		{{"hsm", "--foo", NULL}, "unknown option '--foo'"},
		{{"selftest", "--foo", NULL}, "unknown option '--foo'"},
		{{"selftest", "-x", NULL}, "unknown option '-x'"},
		{{"serve", "--status-seconds", NULL}, "option '--status-seconds' requires an argument"},
		{{"serve", "--foo", NULL}, "unknown option '--foo'"},
		{{"version", "--foo", NULL}, "'--foo'"},
		{{"config", "--foo", NULL}, "'--foo'"},
		{{"acvp", "--foo", NULL}, "'--foo'"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *argv[8] = {testlib_fount_bin()};
		for (size_t j = 0; j < 6 && cases[i].argv[j] != NULL; j++)
			argv[j + 1] = cases[i].argv[j];
		CU_ASSERT_EQUAL(run_argv(argv, NULL), 2);
		bool ok = one_line(res.err) && strstr(res.err, cases[i].want) != NULL;
		if (!ok)
			fprintf(stderr, "\n  case %zu (%s %s): want one line with \"%s\", got: %s", i,
				cases[i].argv[0], cases[i].argv[1] ? cases[i].argv[1] : "",
				cases[i].want, res.err);
		CU_ASSERT(ok);
	}
}

/* vm_kb returns the |field| ("VmLck:") of /proc/PID/status in KiB, or -1. */
static long vm_kb(pid_t pid, const char *field)
{
	char path[64], line[256];
	long kb = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *fp = fopen(path, "r");
	if (fp == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, field, strlen(field)) == 0)
			kb = strtol(line + strlen(field), NULL, 10);
	fclose(fp);
	return kb;
}

/* 9: with mlock = on the whole service is locked (OpenSSL's heap copies
 * of DRBG keys too), with mlock = off nothing is. */
static void test_serve_locks_all_memory(void)
{
	for (int on = as_root("mlockall of the service") ? 1 : 0; on >= 0; on--) {
		const char *log = tmp(on ? "lock-on.log" : "lock-off.log");
		const char *argv[] = {testlib_fount_bin(), "serve", NULL};
		const char *env[] = {on ? "FOUNT_SECURITY_MLOCK=on" : "FOUNT_SECURITY_MLOCK=off", NULL};
		pid_t pid = testlib_spawn(log, argv, env);
		CU_ASSERT_FATAL(pid > 0);
		CU_ASSERT_TRUE(testlib_wait_for_log(log, "operational"));
		long lck = vm_kb(pid, "VmLck:"), rss = vm_kb(pid, "VmRSS:");
		kill(pid, SIGTERM);
		int st = 0;
		CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
		CU_ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		fprintf(stderr, "\n  mlock=%s: VmLck %ld kB, VmRSS %ld kB", on ? "on" : "off", lck, rss);
		CU_ASSERT(rss > 0);
		if (on && MLOCK_IS_REAL) {
			CU_ASSERT(lck >= rss * 9 / 10); /* every resident page, not a few secure ones */
		} else if (on) {
			fprintf(stderr, " (ASan build: mlock is a no-op, checked in the plain build)");
		} else {
			CU_ASSERT_EQUAL(lck, 0);
		}
	}
}

/* Under systemd, stderr is journald's stream (JOURNAL_STREAM names its
 * device:inode): lines then carry a <N> syslog priority instead of
 * fount's own "fount[pid]:" prefix, which journald adds itself. */
static void test_log_to_journald(void)
{
	char script[512];
	snprintf(script, sizeof script,
		 "JOURNAL_STREAM=$(stat -L -c %%d:%%i /proc/self/fd/2) exec '%s' -v selftest", testlib_fount_bin());
	const char *argv[] = {"/bin/sh", "-c", script, NULL};
	CU_ASSERT_EQUAL_FATAL(testlib_run(argv, NULL, NULL, &res), 0);
	CU_ASSERT_EQUAL(res.status, 0);
	CU_ASSERT(strncmp(res.err, "<7>debug: ", 10) == 0);
	CU_ASSERT(strstr(res.err, "fount[") == NULL);
	/* another stream's JOURNAL_STREAM (inherited through a pipe): the usual prefix */
	const char *env[] = {"JOURNAL_STREAM=1:2", NULL};
	const char *argv2[] = {testlib_fount_bin(), "-v", "selftest", NULL};
	CU_ASSERT_EQUAL_FATAL(testlib_run(argv2, env, NULL, &res), 0);
	CU_ASSERT(strncmp(res.err, "fount[", 6) == 0);
	CU_ASSERT(strstr(res.err, "<7>") == NULL);
}

TEST_SUITE(cli, cli_init, cli_clean,
	   TEST(test_serve_lifecycle), TEST(test_serve_refuses_to_start_on_a_failed_selftest), TEST(test_log_to_journald),
	   TEST(test_serve_integrity_survives_binary_replacement),
	   TEST(test_acvp_command),
	   TEST(test_random_hex), TEST(test_random_base64_and_sizes),
	   TEST(test_random_file_private_and_never_overwritten),
	   TEST(test_usage_errors_exit_2), TEST(test_help_everywhere),
	   TEST(test_selftest_table_and_json), TEST(test_every_break_refuses_output),
	   TEST(test_integrity_check_catches_tampering), TEST(test_config_errors),
	   TEST(test_entropy_commands), TEST(test_version),
	   TEST(test_config_file_exists_but_unusable), TEST(test_config_read_bounded_no_nul),
	   TEST(test_interrupted_random_leaves_nothing), TEST(test_interrupted_keygen_pair),
	   TEST(test_mlock_failure_names_the_fix), TEST(test_numbers_overflow_exit_2),
	   TEST(test_config_entropy_sources_checked), TEST(test_output_to_devices_fifos_and_dirs),
	   TEST(test_option_errors_one_line_every_command), TEST(test_serve_locks_all_memory))
