/* tests/helpers.h — shared test code: suite registration, error-code
 * assertions, hex, vector files, and running the fount binary. */
#ifndef FOUNT_TESTS_HELPERS_H
#define FOUNT_TESTS_HELPERS_H

#include <CUnit/CUnit.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

struct test_case {
	const char *name;
	void (*fn)(void);
};

void testlib_register(const char *suite, int (*init)(void), int (*clean)(void),
		      const struct test_case *cases, size_t n);

/* TEST_SUITE(name, init, clean, TEST(a), TEST(b), ...) registers a CUnit
 * suite from a constructor, so tests/main.c needs no list of suites. */
#define TEST(fn) {#fn, fn}
#define TEST_SUITE(sname, init, clean, ...)                                    \
	static const struct test_case sname##_cases_[] = {__VA_ARGS__};        \
	__attribute__((constructor)) static void sname##_register_(void)       \
	{                                                                      \
		testlib_register(#sname, init, clean, sname##_cases_,          \
				 ARRAY_SIZE(sname##_cases_));                  \
	}

/* EXPECT_ERR checks that |call| returns exactly the error code |code| and
 * prints both codes' texts when it does not. */
#define EXPECT_ERR(call, code)                                                 \
	do {                                                                   \
		err_t e_got_ = (call);                                         \
		if (e_got_ != (code))                                          \
			fprintf(stderr, "\n  %s:%d: %s -> %d (%s), want %d (%s)\n", \
				__FILE__, __LINE__, #call, e_got_,             \
				err_str(e_got_), (code), err_str(code));       \
		CU_ASSERT_EQUAL(e_got_, (code));                               \
	} while (0)
#define EXPECT_OK(call) EXPECT_ERR(call, ERR_OK)

/* testlib_config fills |cfg| with the defaults and the FOUNT_<SECTION>_<KEY>
 * environment (so FOUNT_CRYPTO_FIPS=off runs a suite on the default
 * provider); aborts on a bad environment. */
void testlib_config(struct config *cfg);

/* testlib_hex decodes |hex| into a malloc'd buffer (NULL for ""), sets
 * *out_len, and aborts the test run on bad hex. */
uint8_t *testlib_hex(const char *hex, size_t *out_len);

/* testlib_path returns $FOUNT_SRCDIR/|rel| (or ./|rel|) in a static buffer. */
const char *testlib_path(const char *rel);

/* testlib_cert_sha256: the SHA-256 of the PEM certificate |path|'s DER
 * (what TLS peers and tenant bindings are known by); false if unreadable */
bool testlib_cert_sha256(const char *path, uint8_t out[32]);

/* testlib_fount_bin returns the path of the fount binary under test. */
const char *testlib_fount_bin(void);

/* testlib_fips_dir_env returns "FOUNT_CRYPTO_FIPS_MODULE_DIR=<the folder
 * of the fount binary under test>/fips" (absolute), for a copy of the
 * binary run from elsewhere. */
const char *testlib_fips_dir_env(void);

struct run_result {
	int status;      /* exit code, or 128+signal */
	char out[65536]; /* stdout, NUL-terminated (truncated) */
	char err[65536]; /* stderr, NUL-terminated (truncated) */
};

/* testlib_run runs argv[0] (a path) with |argv|, extra environment entries
 * |env| ("K=V", NULL-terminated, may be NULL) and stdin from |input|
 * (may be NULL), and captures its output. Returns 0 if it could run it. */
int testlib_run(const char *const argv[], const char *const env[],
		const char *input, struct run_result *res);

/* testlib_slurp returns the first 64 KiB of |path| as a string in a static
 * buffer, or NULL. testlib_wait_for_log polls |path| until it contains
 * |what| (up to ~10 s): for following a daemon's log. */
char *testlib_slurp(const char *path);

/* testlib_spawn starts argv[0] (a path) with |argv| and extra environment
 * entries |env| ("K=V", NULL-terminated, may be NULL) in the background,
 * its stderr to the new file |log|; returns the pid, or -1. */
int testlib_spawn(const char *log, const char *const argv[], const char *const env[]);
bool testlib_wait_for_log(const char *path, const char *what);

/* ---- throw-away SoftHSMv2 tokens ------------------------------------------
 * testlib_softhsm_setup makes a temporary folder with its own softhsm2.conf
 * and token directory and points SOFTHSM2_CONF (in this process, and so in
 * every child) at it: never $HOME, never /var/lib/softhsm. Returns 0 on
 * success; fails (never skips) when SoftHSM or pkcs11-tool is missing. */
#define TESTLIB_SOFTHSM_MODULE "/usr/lib/softhsm/libsofthsm2.so"
int testlib_softhsm_setup(void);
/* testlib_softhsm_token initializes a token |label| with user PIN |pin|
 * (SO PIN "so-pin-1234") in the first free slot. */
int testlib_softhsm_token(const char *label, const char *pin);
/* testlib_softhsm_wipe deletes every token (the token directory's
 * contents), as if the token had been pulled out. */
int testlib_softhsm_wipe(void);
/* testlib_softhsm_dir returns the temporary folder (for PIN and key files). */
const char *testlib_softhsm_dir(void);
/* testlib_softhsm_cleanup removes the folder. */
void testlib_softhsm_cleanup(void);
/* testlib_tmpdir_create makes a fresh /tmp/fount-|tag|-XXXXXX folder into
 * |dir| (64 bytes); testlib_tmpdir_remove deletes it and everything in it.
 * Both return 0 on success, as CUnit suite init/clean functions do. */
int testlib_tmpdir_create(char dir[64], const char *tag);
int testlib_tmpdir_remove(const char *dir);
/* testlib_file returns |dir|/|name| in one of 8 rotating static buffers,
 * so up to 8 paths can be used in one expression. */
const char *testlib_file(const char *dir, const char *name);

/* testlib_sh runs |cmd| with /bin/sh and returns its exit status. */
int testlib_sh(const char *cmd);

/* testlib_free_port (tests/lib/port.h): a free loopback TCP port */
#include "tests/lib/port.h"

#endif
