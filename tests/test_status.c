/* tests/test_status.c — `fount status` against a real `fount serve`: the
 * status file it keeps in its state folder (<state_dir>/status.json, 0600),
 * the summary and --json, "not running" (exit 3) after kill -9, for a pid
 * that is not the writer and with no file, "stale" (exit 4), and the file
 * gone after a clean exit. */
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/helpers.h"

static char dir[64];
static int serve_pid = -1;
static unsigned port, http_port;
static struct run_result res;

/* spawn_env starts `fount serve --status-seconds |every|` with its state
 * in |state|, a KMIP listener on |kmip_port| (0: [kmip] listen = off), the key-pair pool |pool|
 * (NULL: none) and one more environment entry |extra| (may be NULL), and
 * waits until it listens and has written its first status file. */
static int spawn_env(const char *state, unsigned kmip_port, const char *pool, const char *log,
		     const char *every, const char *extra)
{
	static char env_state[128], env_listen[64], env_pool[64];
	snprintf(env_state, sizeof env_state, "FOUNT_SERVICE_STATE_DIR=%s", state);
	if (kmip_port != 0)
		snprintf(env_listen, sizeof env_listen, "FOUNT_KMIP_LISTEN=127.0.0.1:%u", kmip_port);
	else
		snprintf(env_listen, sizeof env_listen, "FOUNT_KMIP_LISTEN=off");
	snprintf(env_pool, sizeof env_pool, "FOUNT_KMIP_KEYPAIR_POOL=%s", pool != NULL ? pool : "");
	const char *env[] = {env_state, env_listen, env_pool, testlib_fips_dir_env(), extra, NULL};
	const char *argv[] = {testlib_fount_bin(), "serve", "--status-seconds", every, NULL};
	int pid = testlib_spawn(log, argv, env);
	if (pid < 0 || !testlib_wait_for_log(log, kmip_port != 0 ? "KMIP listening on" : "KMIP: off")) {
		fprintf(stderr, "status: fount serve did not start: %s\n", testlib_slurp(log));
		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
		return -1;
	}
	/* the first status file follows the "KMIP listening" line */
	const char *file = testlib_file(state, "status.json");
	for (int i = 0; i < 100 && access(file, F_OK) != 0; i++)
		usleep(100000);
	return pid;
}

static int spawn(const char *state, unsigned kmip_port, const char *pool, const char *log)
{
	return spawn_env(state, kmip_port, pool, log, "1", NULL);
}

static int suite_init(void)
{
	if (testlib_tmpdir_create(dir, "status") != 0)
		return -1;
	port = testlib_free_port();
	/* the pool of the brief: two P-256 pairs, made in the background */
	/* and a plain HTTP listener, which `fount status` lists too */
	static char env_plain[64];
	http_port = testlib_free_port();
	snprintf(env_plain, sizeof env_plain, "FOUNT_HTTP_PLAIN_LISTEN=127.0.0.1:%u", http_port);
	serve_pid = spawn_env(testlib_file(dir, "state"), port, "ec-p256:2", testlib_file(dir, "serve.log"), "1",
			      env_plain);
	return serve_pid > 0 ? 0 : -1;
}

static int suite_clean(void)
{
	if (serve_pid > 0) {
		kill(serve_pid, SIGTERM);
		waitpid(serve_pid, NULL, 0);
	}
	serve_pid = -1;
	testlib_tmpdir_remove(dir);
	return 0;
}

/* status runs `fount status [ARG]` on the state folder |state|. */
static int status(const char *state, const char *arg)
{
	char env_state[128];
	snprintf(env_state, sizeof env_state, "FOUNT_SERVICE_STATE_DIR=%s", state);
	const char *env[] = {env_state, testlib_fips_dir_env(), NULL};
	const char *argv[] = {testlib_fount_bin(), "status", arg, NULL};
	CU_ASSERT_EQUAL_FATAL(testlib_run(argv, env, NULL, &res), 0);
	return res.status;
}

static bool has(const char *text, const char *what)
{
	if (strstr(text, what) != NULL)
		return true;
	fprintf(stderr, "\n  wanted \"%s\" in:\n%s\n", what, text);
	return false;
}

/* The summary of a running service: every line the brief asks for, and the
 * pool "ec-p256 2/2" once the refill thread has made both pairs (the file
 * is rewritten every second). */
static void test_status_running_summary(void)
{
	const char *state = testlib_file(dir, "state");
	bool filled = false;
	for (int i = 0; i < 300 && !filled; i++) {
		CU_ASSERT_EQUAL_FATAL(status(state, NULL), 0);
		filled = strstr(res.out, "pool:      ec-p256 2/2\n") != NULL;
		if (!filled)
			usleep(100000);
	}
	CU_ASSERT_TRUE(has(res.out, "pool:      ec-p256 2/2\n"));
	char want[256];
	snprintf(want, sizeof want, "fount %s: running (pid %d), up ", FOUNT_VERSION, serve_pid);
	CU_ASSERT_TRUE(has(res.out, want));
	CU_ASSERT_TRUE(has(res.out, "module OPERATIONAL\n"));
	snprintf(want, sizeof want, "listening: kmip 127.0.0.1:%u, http 127.0.0.1:%u\n", port, http_port);
	CU_ASSERT_TRUE(has(res.out, want));
	snprintf(want, sizeof want, "store:     %s/state/fount.db: ", dir);
	CU_ASSERT_TRUE(has(res.out, want));
	CU_ASSERT_TRUE(has(res.out, "provider:  OpenSSL "));
	CU_ASSERT_TRUE(has(res.out, "entropy:   "));
	CU_ASSERT_TRUE(has(res.out, "drbg:      "));
	CU_ASSERT_TRUE(has(res.out, "(every 1s)\n"));
	CU_ASSERT_STRING_EQUAL(res.err, "");

	/* private to the service's user, like everything in the state folder */
	struct stat sb;
	CU_ASSERT_EQUAL_FATAL(stat(testlib_file(dir, "state/status.json"), &sb), 0);
	CU_ASSERT_EQUAL(sb.st_mode & 0777, 0600);
	CU_ASSERT_TRUE(S_ISREG(sb.st_mode));
}

/* --json prints the file as it is: one JSON object with the fields. */
static void test_status_json_fields(void)
{
	CU_ASSERT_EQUAL_FATAL(status(testlib_file(dir, "state"), "--json"), 0);
	json_error_t jerr;
	json_t *j = json_loads(res.out, 0, &jerr);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	/* as is: byte for byte the file */
	const char *file = testlib_slurp(testlib_file(dir, "state/status.json"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(file);
	json_t *jf = json_loads(file, 0, &jerr);
	CU_ASSERT_PTR_NOT_NULL(jf);
	json_decref(jf);

	CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "pid")), serve_pid);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "format")), 1);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "version")), FOUNT_VERSION);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "state")), "OPERATIONAL");
	CU_ASSERT_TRUE(json_is_null(json_object_get(j, "error_cause")));
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "status_seconds")), 1);
	json_int_t started = json_integer_value(json_object_get(j, "started_unix"));
	json_int_t written = json_integer_value(json_object_get(j, "written_unix"));
	json_int_t now = (json_int_t)time(NULL);
	CU_ASSERT_TRUE(started > 0 && started <= written && written <= now && now - written < 60);
	const char *iso = json_string_value(json_object_get(j, "written"));
	CU_ASSERT_TRUE(iso != NULL && strlen(iso) == 20 && iso[19] == 'Z');

	json_t *prov = json_object_get(j, "provider");
	CU_ASSERT_TRUE(json_is_string(json_object_get(prov, "name")));
	CU_ASSERT_TRUE(json_is_string(json_object_get(prov, "version")));
	CU_ASSERT_TRUE(json_is_boolean(json_object_get(prov, "fips")));

	json_t *ent = json_object_get(j, "entropy");
	CU_ASSERT_TRUE(json_array_size(ent) > 0);
	size_t i;
	json_t *v;
	bool credited_ok = false;
	json_array_foreach(ent, i, v) {
		CU_ASSERT_TRUE(json_is_string(json_object_get(v, "name")));
		if (json_is_true(json_object_get(v, "credited")) &&
		    strcmp(json_string_value(json_object_get(v, "state")), "ok") == 0)
			credited_ok = true;
	}
	CU_ASSERT_TRUE(credited_ok);

	/* the instantiation counts as the primary's first reseed */
	json_t *drbg = json_object_get(j, "drbg");
	CU_ASSERT_TRUE(json_integer_value(json_object_get(drbg, "primary_reseeds")) >= 1);
	CU_ASSERT_TRUE(json_is_integer(json_object_get(drbg, "worker_reseeds")));

	json_t *l = json_array_get(json_object_get(j, "listeners"), 0);
	CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "listeners")), 2);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(l, "protocol")), "kmip");
	char addr[64];
	snprintf(addr, sizeof addr, "127.0.0.1:%u", port);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(l, "address")), addr);
	l = json_array_get(json_object_get(j, "listeners"), 1);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(l, "protocol")), "http");
	snprintf(addr, sizeof addr, "127.0.0.1:%u", http_port);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(l, "address")), addr);

	json_t *st = json_object_get(j, "store");
	char path[128];
	snprintf(path, sizeof path, "%s/state/fount.db", dir);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(st, "path")), path);
	CU_ASSERT_TRUE(json_integer_value(json_object_get(st, "schema_version")) >= 1);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(st, "failed_commits")), 0);

	json_t *pool = json_object_get(j, "keypair_pool");
	CU_ASSERT_EQUAL_FATAL(json_array_size(pool), 1);
	json_t *p0 = json_array_get(pool, 0);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(p0, "type")), "ec-p256");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(p0, "target")), 2);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(p0, "ready")), 2);
	CU_ASSERT_TRUE(json_integer_value(json_object_get(p0, "made")) >= 2);
	json_decref(j);

	/* nothing of the KEK: not its file, not the word */
	CU_ASSERT_PTR_NULL(strstr(res.out, "kek"));
	CU_ASSERT_PTR_NULL(strstr(res.out, "KEK"));
	CU_ASSERT_PTR_NULL(strstr(res.out, "store.kek"));
}

/* write_status hand-makes a status file in the folder |state|. */
static void write_status(const char *state, long long pid, long long proc_start, long long written,
			 const char *module)
{
	mkdir(state, 0700);
	char path[160];
	snprintf(path, sizeof path, "%s/status.json", state);
	FILE *f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fprintf(f, "{\"format\": 1, \"pid\": %lld, %s%lld%s \"version\": \"%s\", "
		   "\"started_unix\": %lld, \"written_unix\": %lld, \"status_seconds\": 10, "
		   "\"state\": \"%s\", \"keypair_pool\": [{\"type\": \"rsa-3072\", \"ready\": 1, "
		   "\"target\": 4}]}\n",
		pid, proc_start >= 0 ? "\"proc_start\": " : "\"x\": ", proc_start >= 0 ? proc_start : 0,
		",", FOUNT_VERSION, written - 5, written, module);
	fclose(f);
}

/* field 22 of /proc/PID/stat: when the process started (proc(5)) */
static long long start_of(int pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	const char *s = testlib_slurp(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	const char *p = strrchr(s, ')');
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	for (int field = 2; field < 22 && p != NULL; field++)
		p = strchr(p + 1, ' ');
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	return atoll(p + 1);
}

/* A file that names the live service, by hand: fresh is running (0); in
 * ERROR it is running but failing (1); older than three intervals of 10 s
 * is stale (4), printed as such, with the file still shown by --json. */
static void test_status_stale_and_error(void)
{
	const char *state = testlib_file(dir, "hand");
	long long now = (long long)time(NULL), start = start_of(serve_pid);
	write_status(state, serve_pid, start, now, "OPERATIONAL");
	CU_ASSERT_EQUAL(status(state, NULL), 0);
	CU_ASSERT_TRUE(has(res.out, "running (pid "));
	CU_ASSERT_TRUE(has(res.out, "pool:      rsa-3072 1/4\n"));

	write_status(state, serve_pid, start, now, "ERROR");
	CU_ASSERT_EQUAL(status(state, NULL), 1);
	CU_ASSERT_TRUE(has(res.out, "module ERROR"));

	/* 31 s > 3 x 10 s: stale; 25 s is not */
	write_status(state, serve_pid, start, now - 25, "OPERATIONAL");
	CU_ASSERT_EQUAL(status(state, NULL), 0);
	write_status(state, serve_pid, start, now - 31, "OPERATIONAL");
	CU_ASSERT_EQUAL(status(state, NULL), 4);
	CU_ASSERT_TRUE(has(res.out, ": stale (pid "));
	CU_ASSERT_TRUE(has(res.err, "stale"));
	CU_ASSERT_EQUAL(status(state, "--json"), 4);
	json_error_t jerr;
	json_t *j = json_loads(res.out, 0, &jerr);
	CU_ASSERT_PTR_NOT_NULL(j);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "written_unix")), now - 31);
	json_decref(j);

	/* no start time in the file: the process must be named fount */
	write_status(state, serve_pid, -1, now, "OPERATIONAL");
	CU_ASSERT_EQUAL(status(state, NULL), 0);
}

/* Not running: no file; a pid that is not the writer (the same pid with
 * another start time, as after a pid is reused; this test program, which
 * is not fount; no process at all); and a file that is not a status file
 * is "unknown" (4), never "running". */
static void test_status_not_running(void)
{
	const char *state = testlib_file(dir, "none");
	mkdir(state, 0700);
	CU_ASSERT_EQUAL(status(state, NULL), 3);
	CU_ASSERT_TRUE(has(res.out, "not running (no "));
	/* --json: stdout is JSON or nothing; the reason goes to stderr */
	CU_ASSERT_EQUAL(status(state, "--json"), 3);
	CU_ASSERT_STRING_EQUAL(res.out, "");
	CU_ASSERT_TRUE(has(res.err, "not running (no "));

	long long now = (long long)time(NULL), start = start_of(serve_pid);
	write_status(state, serve_pid, start + 1, now, "OPERATIONAL");
	CU_ASSERT_EQUAL(status(state, NULL), 3);
	CU_ASSERT_TRUE(has(res.out, "is not a live fount process"));
	write_status(state, getpid(), -1, now, "OPERATIONAL");
	CU_ASSERT_EQUAL(status(state, NULL), 3);
	write_status(state, 0, -1, now, "OPERATIONAL");
	CU_ASSERT_EQUAL(status(state, NULL), 3);

	char path[160];
	snprintf(path, sizeof path, "%s/status.json", state);
	FILE *f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("not json\n", f);
	fclose(f);
	CU_ASSERT_EQUAL(status(state, NULL), 4);
	CU_ASSERT_TRUE(has(res.err, "is not a fount status file"));
	CU_ASSERT_PTR_NULL(strstr(res.out, "running"));
}

/* kill -9: the file outlives the process, and `fount status` sees that its
 * pid is gone. */
static void test_status_after_kill_9(void)
{
	char state[128];
	snprintf(state, sizeof state, "%s/state9", dir);
	int pid = spawn(state, testlib_free_port(), NULL, testlib_file(dir, "serve9.log"));
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(status(state, NULL), 0);
	CU_ASSERT_TRUE(has(res.out, "pool:      off\n"));
	kill(pid, SIGKILL);
	CU_ASSERT_EQUAL(waitpid(pid, NULL, 0), pid);
	CU_ASSERT_EQUAL(access(testlib_file(state, "status.json"), F_OK), 0);
	CU_ASSERT_EQUAL(status(state, NULL), 3);
	char want[96];
	snprintf(want, sizeof want, "not running (pid %d ", pid);
	CU_ASSERT_TRUE(has(res.out, want));
}

/* The module in ERROR: a broken EC pairwise-consistency test makes the
 * pool's first P-256 pair fail its PCT, which latches ERROR (selftest.h,
 * selftest_conditional_names). The service stays up and says so at once,
 * not at the next hourly status line: running, module ERROR and its
 * cause, exit 1. KMIP is off: a first start would make its PKI's keys,
 * and fail, once the module is in ERROR. */
static void test_status_error_state(void)
{
	char state[128];
	snprintf(state, sizeof state, "%s/state-error", dir);
	int pid = spawn_env(state, 0, "ec-p256:1", testlib_file(dir, "serve-error.log"), "3600",
			    "FOUNT_SELFTEST_BREAK=pct-ec");
	CU_ASSERT_FATAL(pid > 0);
	int rc = -1;
	for (int i = 0; i < 300 && (rc = status(state, NULL)) == 0; i++)
		usleep(100000);
	CU_ASSERT_EQUAL(rc, 1);
	CU_ASSERT_TRUE(has(res.out, "running (pid "));
	CU_ASSERT_TRUE(has(res.out, "module ERROR (pct-ec"));
	CU_ASSERT_EQUAL(status(state, "--json"), 1);
	json_error_t jerr;
	json_t *j = json_loads(res.out, 0, &jerr);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "state")), "ERROR");
	CU_ASSERT_TRUE(json_is_string(json_object_get(j, "error_cause")));
	/* no pair made before the ERROR is left in the pool */
	json_t *p0 = json_array_get(json_object_get(j, "keypair_pool"), 0);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(p0, "ready")), 0);
	json_decref(j);
	kill(pid, SIGTERM);
	int st = 0;
	CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
	/* a supervisor sees that the service ended in ERROR; the file goes */
	CU_ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	CU_ASSERT_NOT_EQUAL(access(testlib_file(state, "status.json"), F_OK), 0);
}

/* A clean exit (SIGTERM) removes the file. */
static void test_status_clean_exit_removes_file(void)
{
	const char *state = testlib_file(dir, "state");
	CU_ASSERT_EQUAL(access(testlib_file(state, "status.json"), F_OK), 0);
	kill(serve_pid, SIGTERM);
	int st = 0;
	CU_ASSERT_EQUAL(waitpid(serve_pid, &st, 0), serve_pid);
	serve_pid = -1;
	CU_ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CU_ASSERT_NOT_EQUAL(access(testlib_file(state, "status.json"), F_OK), 0);
	CU_ASSERT_EQUAL(status(state, NULL), 3);
	CU_ASSERT_TRUE(has(res.out, "not running (no "));
}

static void test_status_usage(void)
{
	const char *state = testlib_file(dir, "none");
	CU_ASSERT_EQUAL(status(state, "--help"), 0);
	CU_ASSERT_TRUE(has(res.out, "usage: fount [-c FILE] status [--json]"));
	CU_ASSERT_TRUE(has(res.out, "3 not running"));
	CU_ASSERT_EQUAL(status(state, "--bogus"), 2);
	CU_ASSERT_TRUE(has(res.err, "unknown option '--bogus'"));
	CU_ASSERT_EQUAL(status(state, "extra"), 2);
	const char *argv[] = {testlib_fount_bin(), "--help", NULL};
	CU_ASSERT_EQUAL_FATAL(testlib_run(argv, NULL, NULL, &res), 0);
	CU_ASSERT_TRUE(has(res.out, "  status "));
}

TEST_SUITE(status, suite_init, suite_clean, TEST(test_status_running_summary),
	   TEST(test_status_json_fields), TEST(test_status_stale_and_error),
	   TEST(test_status_not_running), TEST(test_status_after_kill_9),
	   TEST(test_status_error_state), TEST(test_status_usage), TEST(test_status_clean_exit_removes_file))
