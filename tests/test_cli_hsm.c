/* tests/test_cli_hsm.c — `fount hsm` end to end against a throw-away
 * SoftHSMv2 token, checked with OpenSC's pkcs11-tool. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/helpers.h"
#include "tests/lib/kmip_serve.h"
#include "tests/lib/kmipload.h"

#define LABEL "fount-cli"
#define PIN "cli-pin-2468"

static struct run_result res;
static char env_module[128], env_token[64], env_pin_file[200];

static const char *tfile(const char *name)
{
	return testlib_file(testlib_softhsm_dir(), name);
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

#define P11 "pkcs11-tool --module " TESTLIB_SOFTHSM_MODULE " --token-label " LABEL \
	" --login --pin " PIN

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
	/* 32 hex digits without a newline (echo -n) are an AES-128 key in hex,
	 * not a 32-byte raw key made of ASCII */
	snprintf(cmd, sizeof(cmd), "printf %%s 00112233445566778899aabbccddeeff > %s",
		 tfile("hexkey"));
	CU_ASSERT_EQUAL_FATAL(testlib_sh(cmd), 0);
	CU_ASSERT_EQUAL(fount("import", "--key", tfile("hexkey"), "--kek-label", "cli-kek",
			      "--kek-file", tfile("kek"), "--label", "cli-hex128", NULL), 0);
	/* SoftHSM reports no size for unwrapped keys (CKA_VALUE_LEN 0), so
	 * prove the key by use: the HSM's AES-CBC of a block with it equals
	 * OpenSSL's AES-128-CBC under 00112233...eeff */
	CU_ASSERT_EQUAL(fount("objects", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL), 0);
	const char *row = strstr(res.out, "cli-hex128");
	CU_ASSERT_PTR_NOT_NULL_FATAL(row);
	char id[41] = "";
	CU_ASSERT_EQUAL_FATAL(sscanf(row, "%*s %40s", id), 1);
	snprintf(cmd, sizeof(cmd),
		 "printf 0123456789abcdef > %s && " P11 " --encrypt --id %s -m AES-CBC"
		 " --iv 00000000000000000000000000000000 --input-file %s --output-file %s"
		 " >/dev/null 2>&1 && openssl enc -aes-128-cbc -nopad -K 00112233445566778899aabbccddeeff"
		 " -iv 00000000000000000000000000000000 -in %s -out %s && cmp %s %s",
		 tfile("block"), id, tfile("block"), tfile("hsm.ct"), tfile("block"),
		 tfile("ossl.ct"), tfile("hsm.ct"), tfile("ossl.ct"));
	CU_ASSERT_EQUAL(testlib_sh(cmd), 0);
	CU_ASSERT_EQUAL(fount("seed", "--bytes", "4096", NULL, NULL, NULL, NULL, NULL, NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "seeded"));
}

/* fount_keygen runs `fount keygen --type T -o PRIV --pub PUB`. */
static int fount_keygen(const char *type, const char *priv, const char *pub)
{
	const char *argv[] = {testlib_fount_bin(), "keygen", "--type", type, "-o", priv,
			      "--pub", pub, NULL};
	const char *env[] = {"FOUNT_SECURITY_MLOCK=off", NULL};
	CU_ASSERT_EQUAL_FATAL(testlib_run(argv, env, NULL, &res), 0);
	return res.status;
}

/* fount_lines counts the lines of |s| that fount's CLI wrote ("fount ..."),
 * leaving out log lines ("fount[PID]: warn: ..."): a failure is one line. */
static int fount_lines(const char *s)
{
	int n = 0;
	for (const char *line = s; *line; ) {
		n += strncmp(line, "fount ", 6) == 0;
		const char *nl = strchr(line, '\n');
		if (nl == NULL)
			break;
		line = nl + 1;
	}
	return n;
}

/* A key pair from `fount keygen` goes into the HSM in one command; the
 * HSM signs with it and OpenSSL verifies with the public key file. */
static void test_import_keypair(void)
{
	char cmd[1024];
	CU_ASSERT_EQUAL_FATAL(fount_keygen("rsa-3072", tfile("rsa.pem"), tfile("rsa.pub.pem")), 0);
	CU_ASSERT_EQUAL_FATAL(fount_keygen("ec-p256", tfile("ec.pem"), tfile("ec.pub.pem")), 0);
	CU_ASSERT_EQUAL(fount("import", "--key", tfile("rsa.pem"), "--kek-label", "cli-kek",
			      "--kek-file", tfile("kek"), "--label", "cli-rsa-pair", NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "imported rsa-3072 key pair 'cli-rsa-pair'"));
	/* DER works as well as PEM */
	snprintf(cmd, sizeof(cmd), "openssl pkey -in %s -outform DER -out %s", tfile("ec.pem"),
		 tfile("ec.der"));
	CU_ASSERT_EQUAL_FATAL(testlib_sh(cmd), 0);
	CU_ASSERT_EQUAL(fount("import", "--key", tfile("ec.der"), "--kek-label", "cli-kek",
			      "--kek-file", tfile("kek"), "--label", "cli-ec-pair", NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "imported ec-p256 key pair 'cli-ec-pair'"));
	CU_ASSERT_EQUAL(fount("objects", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "private-key  rsa       3072  yes        no"));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "public-key   ec         256  -          -"));
	/* the label taken: exit 1, one line */
	CU_ASSERT_EQUAL(fount("import", "--key", tfile("ec.pem"), "--kek-label", "cli-kek",
			      "--kek-file", tfile("kek"), "--label", "cli-ec-pair", NULL), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "already taken"));
	CU_ASSERT_EQUAL(fount_lines(res.err), 1);
	/* sign in the HSM by label's id, verify with fount's public key file */
	snprintf(cmd, sizeof(cmd),
		 "cd %s && id=$(" P11 " -O --type privkey 2>/dev/null | grep -A1 'label: *cli-rsa-pair$' | "
		 "sed -n 's/.*ID: *//p') && [ -n \"$id\" ] && echo fount > msg && "
		 P11 " --sign --id $id -m SHA256-RSA-PKCS --input-file msg --output-file sig "
		 ">/dev/null 2>&1 && openssl dgst -sha256 -verify rsa.pub.pem -signature sig msg >/dev/null",
		 testlib_softhsm_dir());
	CU_ASSERT_EQUAL(testlib_sh(cmd), 0);
}

static void test_import_bad_files(void)
{
	char cmd[512];
	/* not a key at all */
	snprintf(cmd, sizeof(cmd), "head -c 100 /dev/urandom > %s", tfile("junk"));
	CU_ASSERT_EQUAL_FATAL(testlib_sh(cmd), 0);
	CU_ASSERT_EQUAL(fount("import", "--key", tfile("junk"), "--kek-label", "cli-kek",
			      "--kek-file", tfile("kek"), "--label", "x", NULL), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "neither an AES key"));
	CU_ASSERT_EQUAL(fount_lines(res.err), 1);
	/* a public key is not something to import */
	CU_ASSERT_EQUAL(fount("import", "--key", tfile("ec.pub.pem"), "--kek-label", "cli-kek",
			      "--kek-file", tfile("kek"), "--label", "x", NULL), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "nor a PKCS#8 private key"));
	CU_ASSERT_EQUAL(fount_lines(res.err), 1);
	/* missing file */
	CU_ASSERT_EQUAL(fount("import", "--key", tfile("absent"), "--kek-label", "cli-kek",
			      "--kek-file", tfile("kek"), "--label", "x", NULL), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "cannot open key file"));
	CU_ASSERT_EQUAL(fount_lines(res.err), 1);
	/* a key type fount does not put into HSMs */
	CU_ASSERT_EQUAL_FATAL(fount_keygen("ed25519", tfile("ed.pem"), tfile("ed.pub.pem")), 0);
	CU_ASSERT_EQUAL(fount("import", "--key", tfile("ed.pem"), "--kek-label", "cli-kek",
			      "--kek-file", tfile("kek"), "--label", "x", NULL), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "ed25519 keys cannot be imported"));
	CU_ASSERT_EQUAL(fount_lines(res.err), 1);
	/* the wrong KEK file for a key pair */
	CU_ASSERT_EQUAL(fount("import", "--key", tfile("ec.pem"), "--kek-label", "cli-kek",
			      "--kek-file", tfile("otherkek"), "--label", "x", NULL), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "wrong KEK"));
	CU_ASSERT_EQUAL(fount_lines(res.err), 1);
	/* no --label: a usage error */
	CU_ASSERT_EQUAL(fount("import", "--key", tfile("ec.pem"), "--kek-label", "cli-kek",
			      "--kek-file", tfile("kek"), NULL, NULL), 2);
	CU_ASSERT_EQUAL(fount("import", "--help", NULL, NULL, NULL, NULL, NULL, NULL, NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "PKCS#8"));
}

/* serve with [hsm] rng_input = on: the HSM's RNG joins as an
 * additional-input source (hsm=ok in the status line) and serve stops
 * cleanly on SIGTERM. */
static void test_serve_with_hsm_rng(void)
{
	const char *log = tfile("serve.log");
	const char *argv[] = {testlib_fount_bin(), "serve", "--status-seconds", "1", NULL};
	const char *env[] = {env_module, env_token, env_pin_file, "FOUNT_HSM_RNG_INPUT=on",
			     "FOUNT_SECURITY_MLOCK=off", NULL};
	pid_t pid = testlib_spawn(log, argv, env);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_TRUE(testlib_wait_for_log(log, "operational"));
	CU_ASSERT_TRUE(testlib_wait_for_log(log, " hsm=ok"));
	/* SIGHUP: the primary reseeds, drawing additional input through it */
	kill(pid, SIGHUP);
	CU_ASSERT_TRUE(testlib_wait_for_log(log, "primary_reseeds=1"));
	kill(pid, SIGTERM);
	int st = 0;
	CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
	CU_ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	const char *text = testlib_slurp(log);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "stopping on signal"));
	CU_ASSERT_PTR_NULL(strstr(text, "RNG not used as additional input"));
	CU_ASSERT_PTR_NULL(strstr(text, PIN));
}

/* serve with [store] kek = hsm:LABEL: the store's data key is wrapped
 * by an AES key inside the HSM (store.h, store_open); keys made over KMIP
 * come back after a restart, which unwraps the data key again. */
static void test_serve_hsm_kek(void)
{
	static const char *const keygen[] = {"keygen", "--type", "aes-256", "--label", "serve-kek", "--wrap", NULL};
	CU_ASSERT_EQUAL_FATAL(run_hsm(NULL, keygen), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "wrap and unwrap only"));
	const char *env[] = {env_module, env_token, env_pin_file, "FOUNT_STORE_KEK=hsm:serve-kek",
			     "FOUNT_SECURITY_MLOCK=off", NULL};
	struct kmip_serve srv;
	int started = kmip_serve_start_with(&srv, "hsmkek", &(struct kmip_serve_options){.env = env});
	CU_ASSERT_EQUAL(started, 0);
	struct kmipc_options o = kmip_serve_opts(&srv, 10000);
	struct kmipc *c = started == 0 ? kl_connect(&o) : NULL;
	char id[STORE_ID_MAX + 1];
	uint8_t k1[32], k2[32];
	CU_ASSERT_EQUAL(c != NULL ? kl_create(c, "hsm-kek-1", id, NULL) : KL_BROKEN, KL_OK);
	CU_ASSERT_EQUAL(c != NULL ? kl_get(c, id, k1, NULL) : KL_BROKEN, KL_OK);
	kl_close(c);
	CU_ASSERT_EQUAL(started == 0 ? kmip_serve_restart(&srv) : -1, 0);
	c = started == 0 ? kl_connect(&o) : NULL;
	CU_ASSERT_EQUAL(c != NULL ? kl_get(c, id, k2, NULL) : KL_BROKEN, KL_OK);
	CU_ASSERT_EQUAL(memcmp(k1, k2, 32), 0);
	kl_close(c);
	const char *text = testlib_slurp(srv.log);
	CU_ASSERT_PTR_NOT_NULL(text != NULL ? strstr(text, "KEK hsm:serve-kek") : NULL);
	CU_ASSERT_PTR_NULL(text != NULL ? strstr(text, PIN) : "?");
	kmip_serve_stop(&srv);
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
	   TEST(test_tokens_objects_keygen), TEST(test_kek_import_seed), TEST(test_import_keypair),
	   TEST(test_import_bad_files), TEST(test_serve_with_hsm_rng), TEST(test_serve_hsm_kek), TEST(test_failures),
	   TEST(test_config_masks_pin))
