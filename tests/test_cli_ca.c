/* tests/test_cli_ca.c — `fount ca` and `fount tenant` from outside: the
 * files they make (modes, what openssl verifies), refusals, and a CSR
 * signed for a tenant. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/helpers.h"

static char dir[64];
static char env_state[128];
static struct run_result res;

static int suite_init(void)
{
	if (testlib_tmpdir_create(dir, "cli-ca") != 0)
		return -1;
	snprintf(env_state, sizeof env_state, "FOUNT_SERVICE_STATE_DIR=%s/state", dir);
	return 0;
}

static int suite_clean(void)
{
	return testlib_tmpdir_remove(dir);
}

/* fount runs `fount ARGS...` in the suite's state folder */
static int fount7(const char *a1, const char *a2, const char *a3, const char *a4, const char *a5, const char *a6,
		  const char *a7)
{
	const char *argv[] = {testlib_fount_bin(), a1, a2, a3, a4, a5, a6, a7, NULL};
	const char *env[] = {env_state, testlib_fips_dir_env(), NULL};
	CU_ASSERT_EQUAL_FATAL(testlib_run(argv, env, NULL, &res), 0);
	return res.status;
}
#define fount(a1, a2, a3, a4, a5, a6) fount7(a1, a2, a3, a4, a5, a6, NULL)

static const char *path(const char *rel)
{
	static char p[4][256];
	static int k;
	k = (k + 1) % 4;
	snprintf(p[k], sizeof p[k], "%s/state/%s", dir, rel);
	return p[k];
}

static long mode_of(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 ? (long)(st.st_mode & 0777) : -1;
}

static bool one_line(const char *s)
{
	const char *nl = strchr(s, '\n');
	return nl != NULL && nl[1] == '\0';
}

static int sh(const char *fmt, ...) PRINTF_LIKE(1, 2);
static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	return testlib_sh(cmd);
}

static void test_init_issue_verify(void)
{
	CU_ASSERT_EQUAL(fount("ca", "init", "--host", "kms.example.com", "--host", "10.9.8.7"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "made fount's CA"));
	CU_ASSERT_EQUAL(mode_of(path("pki/ca.key")), 0600);
	CU_ASSERT_EQUAL(mode_of(path("pki/server.key")), 0600);
	CU_ASSERT_EQUAL(mode_of(path("pki")), 0700);
	/* the server certificate: RSA-2048, SANs for every name and address,
	 * EKU serverAuth+clientAuth, chained to the CA */
	CU_ASSERT_EQUAL(sh("openssl verify -purpose sslserver -CAfile '%s' '%s' >/dev/null", path("pki/ca.pem"),
			   path("pki/server.pem")),
			0);
	CU_ASSERT_EQUAL(sh("openssl x509 -in '%s' -noout -ext subjectAltName | grep -q 'DNS:kms.example.com' && "
			   "openssl x509 -in '%s' -noout -ext subjectAltName | grep -q 'IP Address:10.9.8.7' && "
			   "openssl x509 -in '%s' -noout -text | grep -q 'Public-Key: (2048 bit)'",
			   path("pki/server.pem"), path("pki/server.pem"), path("pki/server.pem")),
			0);
	/* a second init keeps what is there */
	CU_ASSERT_EQUAL(fount("ca", "init", NULL, NULL, NULL, NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "kept"));

	CU_ASSERT_EQUAL(fount("ca", "issue", "--tenant", "vcenter", NULL, NULL), 0);
	CU_ASSERT_EQUAL(mode_of(path("pki/clients/vcenter.key")), 0600);
	CU_ASSERT_EQUAL(sh("openssl verify -purpose sslclient -CAfile '%s' '%s' >/dev/null", path("pki/ca.pem"),
			   path("pki/clients/vcenter.pem")),
			0);
	CU_ASSERT_EQUAL(sh("openssl x509 -in '%s' -noout -subject | grep -q 'CN = vcenter'",
			   path("pki/clients/vcenter.pem")),
			0);
	/* never overwritten */
	CU_ASSERT_EQUAL(fount("ca", "issue", "--tenant", "vcenter", NULL, NULL), 1);
	CU_ASSERT(one_line(res.err));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "already exists"));
}

static void test_sign_csr(void)
{
	char csr[160], key[160], out[160];
	snprintf(csr, sizeof csr, "%s/req.csr", dir);
	snprintf(key, sizeof key, "%s/req.key", dir);
	snprintf(out, sizeof out, "%s/signed.pem", dir);
	CU_ASSERT_EQUAL_FATAL(sh("openssl req -new -newkey rsa:2048 -nodes -subj /CN=chosen-by-client "
				 "-keyout '%s' -out '%s' 2>/dev/null",
				 key, csr),
			      0);
	CU_ASSERT_EQUAL(fount("ca", "sign", "--tenant", "mongodb", "-o", out), 2); /* no CSR */
	const char *argv[] = {testlib_fount_bin(), "ca", "sign", "--tenant", "mongodb", "-o", out, csr, NULL};
	const char *env[] = {env_state, testlib_fips_dir_env(), NULL};
	CU_ASSERT_EQUAL_FATAL(testlib_run(argv, env, NULL, &res), 0);
	CU_ASSERT_EQUAL(res.status, 0);
	/* fount's subject, the client's key */
	CU_ASSERT_EQUAL(sh("openssl x509 -in '%s' -noout -subject | grep -q 'CN = mongodb'", out), 0);
	CU_ASSERT_EQUAL(sh("[ \"$(openssl x509 -in '%s' -noout -pubkey)\" = \"$(openssl pkey -in '%s' -pubout)\" ]",
			   out, key),
			0);
	CU_ASSERT_EQUAL(sh("openssl verify -purpose sslclient -CAfile '%s' '%s' >/dev/null", path("pki/ca.pem"), out),
			0);
	/* not a CSR */
	const char *bad[] = {testlib_fount_bin(), "ca", "sign", "--tenant", "x", key, NULL};
	CU_ASSERT_EQUAL_FATAL(testlib_run(bad, env, NULL, &res), 0);
	CU_ASSERT_EQUAL(res.status, 1);
	CU_ASSERT(one_line(res.err));
}

static void test_tenant_bind_and_list(void)
{
	CU_ASSERT_EQUAL(fount("tenant", "list", NULL, NULL, NULL, NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "no bindings"));
	CU_ASSERT_EQUAL(fount("tenant", "bind", "vmware", "--cert", path("pki/clients/vcenter.pem"), NULL), 0);
	CU_ASSERT_EQUAL(fount("tenant", "bind", "vmware", "--cert", path("pki/clients/vcenter.pem"), NULL), 0);
	CU_ASSERT_EQUAL(fount7("tenant", "bind", "ops", "--by", "cn", "--cert", path("pki/clients/vcenter.pem")), 0);
	CU_ASSERT_EQUAL(mode_of(path("tenants")), 0600);
	CU_ASSERT_EQUAL(fount("tenant", "list", NULL, NULL, NULL, NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "fingerprint "));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "cn vcenter ops"));
	/* refusals: a bad tenant name, a missing certificate, --by unknown */
	CU_ASSERT_EQUAL(fount("tenant", "bind", "two words", "--cert", path("pki/clients/vcenter.pem"), NULL), 1);
	CU_ASSERT(one_line(res.err));
	CU_ASSERT_EQUAL(fount("tenant", "bind", "x", "--cert", "/nonexistent.pem", NULL), 1);
	CU_ASSERT(one_line(res.err));
	CU_ASSERT_EQUAL(fount7("tenant", "bind", "x", "--by", "magic", "--cert", path("pki/clients/vcenter.pem")), 2);
	CU_ASSERT_EQUAL(fount("tenant", "bind", "x", NULL, NULL, NULL), 2);
}

static void test_usage(void)
{
	CU_ASSERT_EQUAL(fount("ca", "--help", NULL, NULL, NULL, NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "fount ca sign"));
	CU_ASSERT_EQUAL(fount("tenant", "--help", NULL, NULL, NULL, NULL), 0);
	CU_ASSERT_EQUAL(fount("ca", NULL, NULL, NULL, NULL, NULL), 2);
	CU_ASSERT(one_line(res.err));
	CU_ASSERT_EQUAL(fount("ca", "bogus", NULL, NULL, NULL, NULL), 2);
	CU_ASSERT(one_line(res.err));
	CU_ASSERT_EQUAL(fount("ca", "issue", NULL, NULL, NULL, NULL), 2);
	CU_ASSERT_EQUAL(fount("ca", "issue", "--tenant", "../escape", NULL, NULL), 2);
	CU_ASSERT_EQUAL(fount("ca", "issue", "--frob", NULL, NULL, NULL), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "unknown option '--frob'"));
	CU_ASSERT_EQUAL(fount("tenant", "frob", NULL, NULL, NULL, NULL), 2);
}

/* A server certificate without its key (or the reverse) is neither used
 * nor silently replaced: init names both files; removing both remakes the
 * pair with the new names (README: adding a name vCenter dials). */
static void test_half_pair(void)
{
	CU_ASSERT_EQUAL_FATAL(unlink(path("pki/server.pem")), 0);
	CU_ASSERT_EQUAL(fount("ca", "init", "--host", "new.example.com", NULL, NULL), 1);
	CU_ASSERT(one_line(res.err));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "server.key exists but"));
	CU_ASSERT_EQUAL(mode_of(path("pki/server.pem")), -1);
	CU_ASSERT_EQUAL_FATAL(unlink(path("pki/server.key")), 0);
	CU_ASSERT_EQUAL(fount("ca", "init", "--host", "new.example.com", NULL, NULL), 0);
	CU_ASSERT_EQUAL(sh("openssl x509 -in '%s' -noout -ext subjectAltName | grep -q 'DNS:new.example.com' && "
			   "openssl verify -purpose sslserver -CAfile '%s' '%s' >/dev/null",
			   path("pki/server.pem"), path("pki/ca.pem"), path("pki/server.pem")),
			0);
}

TEST_SUITE(cli_ca, suite_init, suite_clean, TEST(test_init_issue_verify), TEST(test_sign_csr),
	   TEST(test_tenant_bind_and_list), TEST(test_usage), TEST(test_half_pair))
