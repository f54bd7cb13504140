/* tests/test_status_page.c — a real `fount serve` seen from outside: the
 * status page in headless Chromium (Debian's chromium) and `fount feed`
 * against the server's HTTPS API, both while it is OPERATIONAL and after a
 * self-test failure has latched ERROR.
 *
 * The server starts with FOUNT_SELFTEST_BREAK=pct-ec: the power-on tests
 * pass (a pairwise-consistency test runs only on a new key pair), and the
 * first EC key pair asked for over HTTP fails its PCT, which latches ERROR.
 * Chromium loads the page over the plain loopback listener, runs its
 * script (--virtual-time-budget) and hands back the DOM and a screenshot;
 * tests/interop/png_check.py fails a blank or single-colour screenshot.
 * In ERROR the HTTPS listener cannot even finish a handshake (the server's
 * TLS randomness comes from the closed DRBG); the plain loopback listener
 * still shows the page, which is what it is for. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api/api.h"
#include "tests/helpers.h"

#define CHROMIUM "/usr/bin/chromium"
#define CURL "/usr/bin/curl"

static char dir[64];
static int pid = -1;
static unsigned https_port, plain_port;
static char state[128], ca[160];
static struct run_result *res;

static int suite_init(void)
{
	res = calloc(1, sizeof *res);
	if (res == NULL || testlib_tmpdir_create(dir, "statuspage") != 0)
		return -1;
	https_port = testlib_free_port();
	plain_port = testlib_free_port();
	snprintf(state, sizeof state, "%s/state", dir);
	snprintf(ca, sizeof ca, "%s/pki/ca.pem", state);
	static char env_state[160], env_listen[64], env_plain[64];
	snprintf(env_state, sizeof env_state, "FOUNT_SERVICE_STATE_DIR=%s", state);
	snprintf(env_listen, sizeof env_listen, "FOUNT_HTTP_LISTEN=127.0.0.1:%u", https_port);
	snprintf(env_plain, sizeof env_plain, "FOUNT_HTTP_PLAIN_LISTEN=127.0.0.1:%u", plain_port);
	const char *env[] = {env_state, env_listen, env_plain, "FOUNT_KMIP_LISTEN=127.0.0.1:0", "FOUNT_SELFTEST_BREAK=pct-ec",
			     testlib_fips_dir_env(), NULL};
	const char *argv[] = {testlib_fount_bin(), "serve", NULL};
	pid = testlib_spawn(testlib_file(dir, "serve.log"), argv, env);
	if (pid <= 0 || !testlib_wait_for_log(testlib_file(dir, "serve.log"), "HTTP API listening on 127.0.0.1:") ||
	    !testlib_wait_for_log(testlib_file(dir, "serve.log"), "(plain HTTP, port")) {
		fprintf(stderr, "status_page: fount serve did not start:\n%s\n", testlib_slurp(testlib_file(dir, "serve.log")));
		return -1;
	}
	return 0;
}

static int suite_clean(void)
{
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
	free(res);
	return testlib_tmpdir_remove(dir);
}

/* page loads the status page in Chromium; returns its DOM (static buffer)
 * and writes a screenshot to |png| */
static const char *page(const char *png)
{
	char url[64], shot[200];
	snprintf(url, sizeof url, "http://127.0.0.1:%u/", plain_port);
	snprintf(shot, sizeof shot, "--screenshot=%s", png);
	/* its own profile folder: nothing shared with another run */
	char profile[200];
	snprintf(profile, sizeof profile, "--user-data-dir=%s/chromium", dir);
	const char *common[] = {"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
				"--disable-background-networking", "--virtual-time-budget=5000", profile};
	const char *argv1[] = {CHROMIUM, common[0], common[1], common[2], common[3], common[4], common[5], common[6],
			       "--window-size=1280,1000", shot, url, NULL};
	CU_ASSERT_EQUAL_FATAL(testlib_run(argv1, NULL, NULL, res), 0);
	CU_ASSERT_EQUAL(res->status, 0);
	const char *argv2[] = {CHROMIUM, common[0], common[1], common[2], common[3], common[4], common[5], common[6],
			       "--dump-dom", url, NULL};
	CU_ASSERT_EQUAL_FATAL(testlib_run(argv2, NULL, NULL, res), 0);
	CU_ASSERT_EQUAL(res->status, 0);
	return res->out;
}

static void expect_not_blank(const char *png)
{
	static struct run_result r;
	const char *argv[] = {"/usr/bin/python3", testlib_path("tests/interop/png_check.py"), png, NULL};
	CU_ASSERT_EQUAL_FATAL(testlib_run(argv, NULL, NULL, &r), 0);
	if (r.status != 0)
		fprintf(stderr, "\n  %s: %s%s\n", png, r.out, r.err);
	CU_ASSERT_EQUAL(r.status, 0);
}

/* feed runs `fount feed --once` against the server into a fresh file */
static int feed(const char *device, char *out, size_t out_len)
{
	char url[64], env_dev[300];
	snprintf(url, sizeof url, "https://localhost:%u", https_port);
	(void)unlink(device);
	FILE *f = fopen(device, "w");
	if (f != NULL)
		fclose(f);
	snprintf(env_dev, sizeof env_dev, "FOUNT_FEED_DEVICE=%s", device);
	const char *env[] = {env_dev, testlib_fips_dir_env(), NULL};
	const char *argv[] = {testlib_fount_bin(), "feed", "--once", "--server", url, "--ca", ca, "--bytes", "48", NULL};
	CU_ASSERT_EQUAL_FATAL(testlib_run(argv, env, NULL, res), 0);
	snprintf(out, out_len, "%.500s%.500s", res->out, res->err);
	return res->status;
}

static long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void test_operational(void)
{
	const char *png = testlib_file(dir, "operational.png");
	const char *dom = page(png);
	CU_ASSERT_PTR_NOT_NULL(strstr(dom, "id=\"state\" class=\"OPERATIONAL\">OPERATIONAL<"));
	/* the script filled the tables from /v1/health and /metrics */
	CU_ASSERT(strstr(dom, "<td>rdseed</td>") != NULL || strstr(dom, "<td>jitter</td>") != NULL);
	CU_ASSERT_PTR_NOT_NULL(strstr(dom, "<td>ctr-drbg</td>"));
	CU_ASSERT_PTR_NOT_NULL(strstr(dom, "updated "));
	expect_not_blank(png);
	/* fount feed, as a host short of entropy would run it */
	char msg[1024];
	const char *dev = testlib_file(dir, "feed-device");
	int rc = feed(dev, msg, sizeof msg);
	if (rc != 0)
		fprintf(stderr, "\n  fount feed: %s\n", msg);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "mixed 48 bytes from https://localhost:"));
	CU_ASSERT_EQUAL(file_size(dev), 48);
}

static void test_error(void)
{
	/* an EC key pair over HTTP: its PCT is broken, the module latches ERROR */
	const char *argv_tok[] = {testlib_fount_bin(), "token", "add", "--tenant", "alice", NULL};
	char env_state[160];
	snprintf(env_state, sizeof env_state, "FOUNT_SERVICE_STATE_DIR=%s", state);
	const char *env[] = {env_state, testlib_fips_dir_env(), NULL};
	CU_ASSERT_EQUAL_FATAL(testlib_run(argv_tok, env, NULL, res), 0);
	CU_ASSERT_EQUAL_FATAL(res->status, 0);
	char auth[160], url[64];
	snprintf(auth, sizeof auth, "Authorization: Bearer %.*s", API_HTTP_TOKEN_LEN, res->out);
	snprintf(url, sizeof url, "http://127.0.0.1:%u/v1/keys", plain_port);
	const char *argv_key[] = {CURL, "-sS", "--max-time", "30", "-H", auth, "-d", "{\"type\":\"ec-p256\"}",
				  "-w", " %{http_code}", url, NULL};
	CU_ASSERT_EQUAL_FATAL(testlib_run(argv_key, NULL, NULL, res), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res->out, " 503"));

	const char *png = testlib_file(dir, "error.png");
	const char *dom = page(png);
	CU_ASSERT_PTR_NOT_NULL(strstr(dom, "id=\"state\" class=\"ERROR\">ERROR<"));
	CU_ASSERT_PTR_NOT_NULL(strstr(dom, "The module is ERROR (pct-ec)"));
	expect_not_blank(png);
	/* and fount feed refuses it, feeding nothing */
	char msg[1024];
	const char *dev = testlib_file(dir, "feed-device-2");
	CU_ASSERT_EQUAL(feed(dev, msg, sizeof msg), 1);
	/* a module in ERROR draws no random bytes, so it cannot run TLS at all:
	 * the handshake fails, and fount feed says what that likely means */
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "cannot run TLS"));
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "refusing to feed"));
	CU_ASSERT_EQUAL(file_size(dev), 0);
}

TEST_SUITE(status_page, suite_init, suite_clean, TEST(test_operational), TEST(test_error))
