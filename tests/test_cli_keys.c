/* tests/test_cli_keys.c — fount keygen / wrap / unwrap end to end: files
 * and their modes, refusal to overwrite, wrap/unwrap round trips through
 * files, wrong KEKs and bad arguments. RSA-4096 is left to the keygen
 * suite (the only place the test run makes one). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keygen/keygen.h"
#include "tests/helpers.h"

static char tmpdir[64];
static struct run_result res;

static int suite_init(void)
{
	return testlib_tmpdir_create(tmpdir, "keys");
}

static int suite_clean(void)
{
	return testlib_tmpdir_remove(tmpdir);
}

/* fount runs the binary with up to 11 arguments (NULL-terminated). */
#define fount(...) fount_argv((const char *const[]){testlib_fount_bin(), __VA_ARGS__, NULL})
static int fount_argv(const char *const argv[])
{
	CU_ASSERT_EQUAL_FATAL(testlib_run(argv, NULL, NULL, &res), 0);
	return res.status;
}

static const char *tmp(const char *name)
{
	return testlib_file(tmpdir, name);
}

static long mode_of(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long)(st.st_mode & 0777) : -1;
}

static long size_of(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static bool same_file(const char *a, const char *b)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "cmp -s '%s' '%s'", a, b);
	return system(cmd) == 0;
}

static bool one_line(const char *s)
{
	const char *nl = strchr(s, '\n');
	return nl != NULL && nl[1] == '\0';
}

static void test_keygen_every_type_to_files(void)
{
	const struct keygen_type *all;
	size_t n = keygen_types(&all);
	for (size_t i = 0; i < n; i++) {
		const struct keygen_type *t = &all[i];
		char name[64], pub[64];
		if (t->bits == 4096)
			continue; /* made once, in the keygen suite */
		snprintf(name, sizeof(name), "%s.key", t->name);
		snprintf(pub, sizeof(pub), "%s.pub", t->name);
		if (t->kind == KEYGEN_KIND_SYM) {
			CU_ASSERT_EQUAL(fount("keygen", "--type", t->name, "--out", tmp(name)), 0);
			CU_ASSERT_EQUAL(size_of(tmp(name)), (long)t->sym_len);
		} else {
			const char *fmt = i % 2 ? "der" : "pem";
			CU_ASSERT_EQUAL(fount("keygen", "--type", t->name, "--out", tmp(name), "--pub",
					      tmp(pub), "--format", fmt), 0);
			CU_ASSERT_EQUAL(mode_of(tmp(pub)), 0644);
			/* openssl reads both files as the right kind of key */
			char cmd[512];
			snprintf(cmd, sizeof(cmd), "openssl pkey -inform %s -in '%s' -noout 2>/dev/null && "
				 "openssl pkey -pubin -inform %s -in '%s' -noout 2>/dev/null",
				 fmt, tmp(name), fmt, tmp(pub));
			CU_ASSERT_EQUAL(system(cmd), 0);
		}
		if (res.status != 0)
			fprintf(stderr, "\n  keygen %s: %s", t->name, res.err);
		CU_ASSERT_EQUAL(mode_of(tmp(name)), 0600);
	}
	/* two symmetric keys differ */
	CU_ASSERT_FALSE(same_file(tmp("aes-256.key"), tmp("hmac-sha256.key")));
}

static void test_keygen_hex_and_refusals(void)
{
	CU_ASSERT_EQUAL(fount("keygen", "--type", "aes-128"), 0);
	CU_ASSERT_EQUAL(strlen(res.out), 33);
	for (size_t i = 0; i < 32; i++)
		CU_ASSERT(isxdigit((unsigned char)res.out[i]));
	/* never overwrite: the old file is untouched */
	char p[128];
	snprintf(p, sizeof(p), "%s", tmp("kept.key"));
	CU_ASSERT_EQUAL(fount("keygen", "--type", "aes-256", "--out", p), 0);
	CU_ASSERT_EQUAL(fount("keygen", "--type", "aes-128", "--out", p), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "never overwrites"));
	CU_ASSERT(one_line(res.err));
	CU_ASSERT_EQUAL(size_of(p), 32);
	/* an existing --pub: the private key file is not left behind either */
	CU_ASSERT_EQUAL(fount("keygen", "--type", "ec-p256", "--out", tmp("lone.key"), "--pub", p), 1);
	CU_ASSERT_FALSE(exists(tmp("lone.key")));
}

static void test_keygen_wrapped_and_unwrap(void)
{
	char kek[128]; /* tmp() reuses its buffers */
	snprintf(kek, sizeof(kek), "%s", tmp("kek256"));
	CU_ASSERT_EQUAL(fount("keygen", "--type", "aes-256", "--out", kek), 0);
	/* a symmetric key wrapped with kw, then unwrapped: 32 bytes back */
	CU_ASSERT_EQUAL(fount("keygen", "--type", "hmac-sha512", "--out", tmp("h.kw"), "--wrap-with",
			      kek, "--wrap-alg", "kw"), 0);
	CU_ASSERT_EQUAL(size_of(tmp("h.kw")), 72);
	CU_ASSERT_EQUAL(fount("unwrap", "--kek", kek, "--alg", "kw", "--in", tmp("h.kw"), "--out",
			      tmp("h.key")), 0);
	CU_ASSERT_EQUAL(size_of(tmp("h.key")), 64);
	CU_ASSERT_EQUAL(mode_of(tmp("h.key")), 0600);
	/* a key pair wrapped with kwp; the unwrapped PKCS#8 is a key */
	CU_ASSERT_EQUAL(fount("keygen", "--type", "ec-p384", "--format", "der", "--out",
			      tmp("ec.kwp"), "--wrap-with", kek, "--wrap-alg", "kwp"), 0);
	CU_ASSERT_EQUAL(fount("unwrap", "--kek", kek, "--alg", "kwp", "--in", tmp("ec.kwp"), "--out",
			      tmp("ec.der")), 0);
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "openssl pkey -inform der -in '%s' -noout", tmp("ec.der"));
	CU_ASSERT_EQUAL(system(cmd), 0);
	/* the wrong KEK: exit 1, one line, no output file */
	char other[128];
	snprintf(other, sizeof(other), "%s", tmp("kek128"));
	CU_ASSERT_EQUAL(fount("keygen", "--type", "aes-128", "--out", other), 0);
	CU_ASSERT_EQUAL(fount("unwrap", "--kek", other, "--alg", "kwp", "--in", tmp("ec.kwp"), "--out",
			      tmp("bad.der")), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "unwrap failed: wrong key or corrupted data"));
	CU_ASSERT(one_line(res.err));
	CU_ASSERT_FALSE(exists(tmp("bad.der")));
	/* kw with a key pair is a usage error */
	CU_ASSERT_EQUAL(fount("keygen", "--type", "ec-p256", "--out", tmp("no.kw"), "--wrap-with",
			      kek, "--wrap-alg", "kw"), 2);
	CU_ASSERT_FALSE(exists(tmp("no.kw")));
}

static void test_wrap_unwrap_files(void)
{
	char kek[128], key[128]; /* tmp() reuses its buffers */
	snprintf(kek, sizeof(kek), "%s", tmp("wkek"));
	snprintf(key, sizeof(key), "%s", tmp("wkey"));
	CU_ASSERT_EQUAL(fount("keygen", "--type", "aes-192", "--out", kek), 0);
	CU_ASSERT_EQUAL(fount("keygen", "--type", "aes-256", "--out", key), 0);
	static const char *const algs[] = {"kw", "kwp"};
	for (size_t i = 0; i < ARRAY_SIZE(algs); i++) {
		char w[32], u[32];
		snprintf(w, sizeof(w), "wrapped.%s", algs[i]);
		snprintf(u, sizeof(u), "unwrapped.%s", algs[i]);
		CU_ASSERT_EQUAL(fount("wrap", "--kek", kek, "--alg", algs[i], "--in", key, "--out", tmp(w)), 0);
		CU_ASSERT_EQUAL(mode_of(tmp(w)), 0600);
		CU_ASSERT_EQUAL(size_of(tmp(w)), 40);
		CU_ASSERT_EQUAL(fount("unwrap", "--kek", kek, "--alg", algs[i], "--in", tmp(w), "--out", tmp(u)), 0);
		CU_ASSERT(same_file(key, tmp(u)));
		/* refuses to overwrite its output */
		CU_ASSERT_EQUAL(fount("unwrap", "--kek", kek, "--alg", algs[i], "--in", tmp(w), "--out", tmp(u)), 1);
	}
	/* a tampered wrap: exit 1, nothing written */
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "printf '\\377' | dd of='%s' bs=1 seek=9 conv=notrunc status=none",
		 tmp("wrapped.kw"));
	CU_ASSERT_EQUAL(system(cmd), 0);
	CU_ASSERT_EQUAL(fount("unwrap", "--kek", kek, "--alg", "kw", "--in", tmp("wrapped.kw"), "--out",
			      tmp("t.out")), 1);
	CU_ASSERT_FALSE(exists(tmp("t.out")));
	/* RSA-OAEP: public key to wrap, private to unwrap */
	CU_ASSERT_EQUAL(fount("keygen", "--type", "rsa-2048", "--out", tmp("rsa.key"), "--pub",
			      tmp("rsa.pub")), 0);
	CU_ASSERT_EQUAL(fount("wrap", "--kek", tmp("rsa.pub"), "--alg", "rsa-oaep", "--in", key,
			      "--out", tmp("k.oaep")), 0);
	CU_ASSERT_EQUAL(size_of(tmp("k.oaep")), 256);
	CU_ASSERT_EQUAL(fount("unwrap", "--kek", tmp("rsa.key"), "--alg", "rsa-oaep", "--in",
			      tmp("k.oaep"), "--out", tmp("k.back")), 0);
	CU_ASSERT(same_file(key, tmp("k.back")));
	/* a symmetric key wrapped straight from keygen under RSA-OAEP */
	CU_ASSERT_EQUAL(fount("keygen", "--type", "aes-128", "--out", tmp("k2.oaep"), "--wrap-with",
			      tmp("rsa.pub"), "--wrap-alg", "rsa-oaep"), 0);
	CU_ASSERT_EQUAL(fount("unwrap", "--kek", tmp("rsa.key"), "--alg", "rsa-oaep", "--in",
			      tmp("k2.oaep"), "--out", tmp("k2.key")), 0);
	CU_ASSERT_EQUAL(size_of(tmp("k2.key")), 16);
	/* the public key cannot unwrap; a private key is not a wrap KEK */
	CU_ASSERT_EQUAL(fount("unwrap", "--kek", tmp("rsa.pub"), "--alg", "rsa-oaep", "--in",
			      tmp("k.oaep"), "--out", tmp("k.none")), 1);
	CU_ASSERT(one_line(res.err));
	CU_ASSERT_FALSE(exists(tmp("k.none")));
	/* an AES KEK of the wrong size, a non-key KEK file, a missing input */
	CU_ASSERT_EQUAL(fount("wrap", "--kek", tmp("rsa.pub"), "--alg", "kw", "--in", key, "--out",
			      tmp("x1")), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "KEK"));
	CU_ASSERT_EQUAL(fount("wrap", "--kek", key, "--alg", "rsa-oaep", "--in", key, "--out", tmp("x2")), 1);
	CU_ASSERT_EQUAL(fount("wrap", "--kek", kek, "--alg", "kw", "--in", tmp("nope"), "--out", tmp("x3")), 1);
	/* kw cannot wrap a 7-byte file */
	FILE *f = fopen(tmp("seven"), "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("1234567", f);
	fclose(f);
	CU_ASSERT_EQUAL(fount("wrap", "--kek", kek, "--alg", "kw", "--in", tmp("seven"), "--out", tmp("x4")), 1);
	CU_ASSERT(one_line(res.err));
	CU_ASSERT(!exists(tmp("x1")) && !exists(tmp("x2")) && !exists(tmp("x3")) && !exists(tmp("x4")));
}

static void test_bad_usage_exit_2(void)
{
	CU_ASSERT_EQUAL(fount("keygen"), 2);
	CU_ASSERT_EQUAL(fount("keygen", "--type", "aes-512"), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "unknown key type"));
	CU_ASSERT(one_line(res.err));
	CU_ASSERT_EQUAL(fount("keygen", "--type", "rsa-2048"), 2); /* key pairs need --out */
	CU_ASSERT_EQUAL(fount("keygen", "--type", "aes-128", "--pub", tmp("p")), 2);
	CU_ASSERT_EQUAL(fount("keygen", "--type", "aes-128", "--format", "der"), 2);
	CU_ASSERT_EQUAL(fount("keygen", "--type", "ec-p256", "--out", tmp("q"), "--format", "xml"), 2);
	CU_ASSERT_EQUAL(fount("keygen", "--type", "aes-128", "--wrap-with", tmp("kek256")), 2);
	CU_ASSERT_EQUAL(fount("keygen", "--type", "aes-128", "--wrap-with", tmp("kek256"),
			      "--wrap-alg", "des"), 2);
	CU_ASSERT_EQUAL(fount("keygen", "--type", "aes-128", "--bogus"), 2);
	CU_ASSERT_EQUAL(fount("wrap", "--kek", tmp("kek256")), 2);
	CU_ASSERT_EQUAL(fount("unwrap", "--kek", "a", "--alg", "rot13", "--in", "b", "--out", "c"), 2);
	CU_ASSERT(one_line(res.err));
	CU_ASSERT_FALSE(exists(tmp("q")));
	static const char *const cmds[] = {"keygen", "wrap", "unwrap"};
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++) {
		CU_ASSERT_EQUAL(fount(cmds[i], "--help"), 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "usage: fount"));
	}
}

/* A broken self-test: no key comes out, and no file is created. */
static void test_broken_selftest_refuses_keys(void)
{
	const char *env[] = {"FOUNT_SELFTEST_BREAK=rsa-sign", NULL};
	const char *argv[] = {testlib_fount_bin(), "keygen", "--type", "aes-256", "--out",
			      tmp("never"), NULL};
	CU_ASSERT_EQUAL_FATAL(testlib_run(argv, env, NULL, &res), 0);
	CU_ASSERT_EQUAL(res.status, 1);
	CU_ASSERT_FALSE(exists(tmp("never")));
	/* a PCT break: the key pair fails its PCT, nothing is written */
	const char *env2[] = {"FOUNT_SELFTEST_BREAK=pct-ec", NULL};
	const char *argv2[] = {testlib_fount_bin(), "keygen", "--type", "ec-p256", "--out",
			       tmp("never2"), NULL};
	CU_ASSERT_EQUAL_FATAL(testlib_run(argv2, env2, NULL, &res), 0);
	CU_ASSERT_EQUAL(res.status, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "pairwise-consistency"));
	CU_ASSERT_FALSE(exists(tmp("never2")));
}

/* `fount selftest` says who runs each PCT: in FIPS mode the module tests
 * RSA and EC keys, fount the rest; on the default provider fount all. */
static void test_selftest_names_pct_owners(void)
{
	const char *off = getenv("FOUNT_CRYPTO_FIPS");
	bool fips = off == NULL || strcmp(off, "off") != 0;
	CU_ASSERT_EQUAL(fount("selftest"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, fips ? "\npct:      rsa, ec by the FIPS module; eddsa, x25519 by fount\n"
						  : "\npct:      rsa, ec, eddsa, x25519 by fount\n"));
	CU_ASSERT_EQUAL(fount("selftest", "--json"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, fips ? "\"ec\": \"fips-module\"" : "\"ec\": \"fount\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "\"x25519\": \"fount\""));
}

TEST_SUITE(cli_keys, suite_init, suite_clean, TEST(test_keygen_every_type_to_files),
	   TEST(test_keygen_hex_and_refusals), TEST(test_keygen_wrapped_and_unwrap),
	   TEST(test_wrap_unwrap_files), TEST(test_bad_usage_exit_2),
	   TEST(test_broken_selftest_refuses_keys), TEST(test_selftest_names_pct_owners))
