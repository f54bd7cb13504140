/* tests/test_pykmip.c — interoperability with a real KMIP client:
 * python3-pykmip's KMIPProxy and ProxyKmipClient (Debian's /usr/bin/python3)
 * against `fount serve` over mutual TLS, with the PKI and the pykmip.conf
 * fount makes on its first start, at KMIP 1.2 (PyKMIP's default) and 1.4:
 * discovery, Query, and a key's whole lifecycle; the attribute operations
 * and Check; Register and Get of every object type. */
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/helpers.h"

static char dir[64];
static int serve_pid = -1;
static char conf[160];

static int suite_init(void)
{
	if (access("/usr/bin/python3", X_OK) != 0 ||
	    testlib_sh("/usr/bin/python3 -c 'import kmip' 2>/dev/null") != 0) {
		fprintf(stderr, "pykmip: python3-pykmip is missing (make deps installs it)\n");
		return -1;
	}
	if (testlib_tmpdir_create(dir, "pykmip") != 0)
		return -1;
	static char env_state[128], env_listen[64];
	snprintf(env_state, sizeof env_state, "FOUNT_SERVICE_STATE_DIR=%s/state", dir);
	snprintf(env_listen, sizeof env_listen, "FOUNT_KMIP_LISTEN=127.0.0.1:%u", testlib_free_port());
	/* a key-pair pool, so Create Key Pair is served from it too */
	const char *env[] = {env_state, env_listen, testlib_fips_dir_env(), "FOUNT_KMIP_KEYPAIR_POOL=rsa-2048:1", NULL};
	const char *argv[] = {testlib_fount_bin(), "serve", NULL};
	const char *log = testlib_file(dir, "serve.log");
	serve_pid = testlib_spawn(log, argv, env);
	if (serve_pid < 0 || !testlib_wait_for_log(log, "KMIP listening on")) {
		fprintf(stderr, "pykmip: fount serve did not start: %s\n", testlib_slurp(log));
		return -1;
	}
	snprintf(conf, sizeof conf, "%s/state/pki/clients/pykmip.conf", dir);
	return access(conf, R_OK) == 0 ? 0 : -1;
}

static int suite_clean(void)
{
	if (serve_pid > 0) {
		kill(serve_pid, SIGTERM);
		waitpid(serve_pid, NULL, 0);
	}
	testlib_tmpdir_remove(dir);
	return 0;
}

static void run_client(const char *version)
{
	struct run_result *res = calloc(1, sizeof *res);
	CU_ASSERT_PTR_NOT_NULL_FATAL(res);
	const char *argv[] = {"/usr/bin/python3", testlib_path("tests/interop/pykmip_basic.py"), conf,
			      version, NULL};
	CU_ASSERT_EQUAL_FATAL(testlib_run(argv, NULL, NULL, res), 0);
	if (res->status != 0)
		fprintf(stderr, "\n  pykmip %s: %s%s\n", version, res->out, res->err);
	CU_ASSERT_EQUAL(res->status, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res->out, "\"discover_status\": \"SUCCESS\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(res->out, "\"versions\": [\"1.4\", \"1.3\", \"1.2\", \"1.1\", \"1.0\"]"));
	CU_ASSERT_PTR_NOT_NULL(strstr(res->out, "\"RNG_RETRIEVE\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(res->out, "\"vendor\": \"fount\""));
	/* a key's whole life: create, get, attributes, activate, locate, the
	 * refusals for destroying an Active key and getting a destroyed one */
	CU_ASSERT_PTR_NOT_NULL(strstr(res->out, "\"lifecycle\": \"ok\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(res->out, "\"CREATE\""));
	free(res);
}

static void test_pykmip_1_2(void)
{
	run_client("1.2");
}

static void test_pykmip_1_4(void)
{
	run_client("1.4");
}

/* create_key_pair (RSA-2048), rekey and rekey_key_pair through PyKMIP
 * (tests/interop/pykmip_keypair.py), and the pool serve started */
static void run_keypair(const char *version)
{
	struct run_result *res = calloc(1, sizeof *res);
	CU_ASSERT_PTR_NOT_NULL_FATAL(res);
	const char *argv[] = {"/usr/bin/python3", testlib_path("tests/interop/pykmip_keypair.py"), conf,
			      version, NULL};
	CU_ASSERT_EQUAL_FATAL(testlib_run(argv, NULL, NULL, res), 0);
	if (res->status != 0)
		fprintf(stderr, "\n  pykmip keypair %s: %s%s\n", version, res->out, res->err);
	CU_ASSERT_EQUAL(res->status, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res->out, "\"keypair\": \"ok\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(res->out, "\"Object Type\": \"PRIVATE_KEY\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(res->out, "\"name_moved\": true"));
	free(res);
	const char *log = testlib_slurp(testlib_file(dir, "serve.log"));
	CU_ASSERT(log != NULL && strstr(log, "key-pair pool: rsa-2048 x1") != NULL);
}

static void test_pykmip_keypair_1_2(void)
{
	run_keypair("1.2");
}

static void test_pykmip_keypair_1_4(void)
{
	run_keypair("1.4");
}

/* The attribute operations ProxyKmipClient 0.10 has (get_attribute_list,
 * modify_attribute, delete_attribute; no Add) and Check
 * (tests/interop/pykmip_attrs.py): a Get Attributes of everything at
 * KMIP 1.1 decodes in PyKMIP, because nothing newer than 1.1 is sent (its
 * decoder fails on Original Creation Date, 1.2, and the Random Number
 * Generator, 1.3); Get Attribute List names the RNG at 1.4 only. */
static void run_attrs(const char *version)
{
	struct run_result *res = calloc(1, sizeof *res);
	CU_ASSERT_PTR_NOT_NULL_FATAL(res);
	const char *argv[] = {"/usr/bin/python3", testlib_path("tests/interop/pykmip_attrs.py"), conf,
			      version, NULL};
	CU_ASSERT_EQUAL_FATAL(testlib_run(argv, NULL, NULL, res), 0);
	if (res->status != 0)
		fprintf(stderr, "\n  pykmip attrs %s: %s%s\n", version, res->out, res->err);
	CU_ASSERT_EQUAL(res->status, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res->out, "\"attrs\": \"ok\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(res->out, "\"check_sign\": \"refused\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(res->out, "\"delete_state\": \"refused\""));
	free(res);
}

static void test_pykmip_attrs_1_2(void)
{
	run_attrs("1.2");
}

static void test_pykmip_attrs_1_4(void)
{
	run_attrs("1.4");
}

/* Register of every object type fount keeps, each got back equal
 * (tests/interop/pykmip_objects.py), with a certificate and an RSA key made
 * by `openssl req -x509` here. */
static void run_objects(const char *version)
{
	char cmd[1024];
	snprintf(cmd, sizeof cmd,
		 "cd %s && [ -f cert.der ] || (openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem"
		 " -subj /CN=pykmip-objects -days 2 -outform DER -out cert.der"
		 " && openssl pkcs8 -topk8 -nocrypt -in key.pem -outform DER -out key8.der"
		 " && openssl pkey -in key.pem -pubout -outform DER -out pub.der) >/dev/null 2>&1",
		 dir);
	CU_ASSERT_EQUAL_FATAL(testlib_sh(cmd), 0);
	struct run_result *res = calloc(1, sizeof *res);
	CU_ASSERT_PTR_NOT_NULL_FATAL(res);
	const char *argv[] = {"/usr/bin/python3", testlib_path("tests/interop/pykmip_objects.py"), conf,
			      version, dir, NULL};
	CU_ASSERT_EQUAL_FATAL(testlib_run(argv, NULL, NULL, res), 0);
	if (res->status != 0)
		fprintf(stderr, "\n  pykmip objects %s: %s%s\n", version, res->out, res->err);
	CU_ASSERT_EQUAL(res->status, 0);
	static const char *const each[] = {"\"certificate\": \"equal\"", "\"opaque\": \"equal\"",
					   "\"password\": \"equal\"", "\"private\": \"equal\"",
					   "\"public\": \"equal\"", "\"seed\": \"equal\"",
					   "\"symmetric\": \"equal\""};
	for (size_t i = 0; i < ARRAY_SIZE(each); i++)
		CU_ASSERT_PTR_NOT_NULL(strstr(res->out, each[i]));
	free(res);
}

static void test_pykmip_objects_1_2(void)
{
	run_objects("1.2");
}

static void test_pykmip_objects_1_4(void)
{
	run_objects("1.4");
}

/* Encrypt and Decrypt through ProxyKmipClient (tests/interop/
 * pykmip_crypto.py): libmongocrypt's delegated CBC with a 16-byte IV,
 * mongod's parameter-less Encrypt, a known answer against pyca's AES-CBC,
 * a Pre-Active key refused, and a Query of every function that parses. */
static void run_crypto(const char *version)
{
	struct run_result *res = calloc(1, sizeof *res);
	CU_ASSERT_PTR_NOT_NULL_FATAL(res);
	const char *argv[] = {"/usr/bin/python3", testlib_path("tests/interop/pykmip_crypto.py"), conf, version,
			      NULL};
	CU_ASSERT_EQUAL_FATAL(testlib_run(argv, NULL, NULL, res), 0);
	if (res->status != 0)
		fprintf(stderr, "\n  pykmip crypto %s: %s%s\n", version, res->out, res->err);
	CU_ASSERT_EQUAL(res->status, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res->out, "\"delegated_iv_len\": 16"));
	CU_ASSERT_PTR_NOT_NULL(strstr(res->out, "\"mongod_iv_len\": 16"));
	CU_ASSERT_PTR_NOT_NULL(strstr(res->out, "\"given_iv_known_answer\": true"));
	CU_ASSERT_PTR_NOT_NULL(strstr(res->out, "\"pre_active\": \"refused\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(res->out, "\"query_all\": \"SUCCESS\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(res->out, "\"crypto\": \"ok\""));
	free(res);
}

static void test_pykmip_crypto_1_2(void)
{
	run_crypto("1.2");
}

static void test_pykmip_crypto_1_4(void)
{
	run_crypto("1.4");
}

TEST_SUITE(pykmip, suite_init, suite_clean, TEST(test_pykmip_1_2), TEST(test_pykmip_1_4),
	   TEST(test_pykmip_keypair_1_2), TEST(test_pykmip_keypair_1_4), TEST(test_pykmip_attrs_1_2),
	   TEST(test_pykmip_attrs_1_4), TEST(test_pykmip_objects_1_2), TEST(test_pykmip_objects_1_4),
	   TEST(test_pykmip_crypto_1_2), TEST(test_pykmip_crypto_1_4))
