/* tests/test_util.c — util/: errors, secure memory, hex, configuration. */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/helpers.h"

static void test_err_table(void)
{
	CU_ASSERT_STRING_EQUAL(err_str(ERR_OK), "success");
	CU_ASSERT_STRING_EQUAL(err_str(12345), "unknown error");
	CU_ASSERT_EQUAL(err_category(ERR_HEALTH_RCT), ERRCAT_ENTROPY);
	CU_ASSERT_EQUAL(err_category(ERR_NOT_OPERATIONAL), ERRCAT_SELFTEST);
	CU_ASSERT_EQUAL(err_category(ERR_CONFIG), ERRCAT_USAGE);
	CU_ASSERT_EQUAL(err_category(ERR_OK), ERRCAT_NONE);
	CU_ASSERT_EQUAL(err_category(ERR_HSM_PIN_INCORRECT), ERRCAT_HSM);
	CU_ASSERT_STRING_EQUAL(err_str(ERR_HSM_UNWRAP), "HSM rejected the wrapped key (wrong KEK or corrupted data)");
	/* every code has its own text */
	const err_t codes[] = {ERR_HEALTH_RCT, ERR_HEALTH_APT, ERR_HEALTH_RCT_PERMANENT,
			       ERR_HEALTH_APT_PERMANENT, ERR_ENTROPY_EXHAUSTED, ERR_NOT_OPERATIONAL};
	for (size_t i = 0; i < ARRAY_SIZE(codes); i++)
		for (size_t j = i + 1; j < ARRAY_SIZE(codes); j++)
			CU_ASSERT_STRING_NOT_EQUAL(err_str(codes[i]), err_str(codes[j]));
}

static void test_hex(void)
{
	uint8_t buf[4];
	size_t n = 0;
	char s[9];
	EXPECT_OK(hex_decode(buf, sizeof(buf), &n, "00fFa5"));
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT(buf[0] == 0 && buf[1] == 0xff && buf[2] == 0xa5);
	hex_encode(s, buf, 3);
	CU_ASSERT_STRING_EQUAL(s, "00ffa5");
	EXPECT_ERR(hex_decode(buf, sizeof(buf), &n, "abc"), ERR_PARSE);
	EXPECT_ERR(hex_decode(buf, sizeof(buf), &n, "zz"), ERR_PARSE);
	EXPECT_ERR(hex_decode(buf, sizeof(buf), &n, "0011223344"), ERR_TOO_LARGE);
}

static void test_ct_memeq(void)
{
	uint8_t a[32] = {0}, b[32] = {0};
	CU_ASSERT_TRUE(ct_memeq(a, b, sizeof(a)));
	b[31] = 0x80;
	CU_ASSERT_FALSE(ct_memeq(a, b, sizeof(a)));
	b[31] = 0;
	b[0] = 1;
	CU_ASSERT_FALSE(ct_memeq(a, b, sizeof(a)));
	CU_ASSERT_TRUE(ct_memeq(a, b, 0));
}

static sigjmp_buf guard_jmp;
static void on_segv(int sig)
{
	UNUSED(sig);
	siglongjmp(guard_jmp, 1);
}

static void test_secmem_guard_and_wipe(void)
{
	err_t r = ERR_INTERNAL;
	uint8_t *p = secmem_alloc(100, &r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	EXPECT_OK(r);
	for (size_t i = 0; i < 100; i++)
		CU_ASSERT_EQUAL(p[i], 0);
	memset(p, 0xa5, 100);

	/* the page after the data is a guard page: touching it faults */
	long pg = sysconf(_SC_PAGESIZE);
	struct sigaction sa = {0}, old_segv, old_bus;
	sa.sa_handler = on_segv;
	sigaction(SIGSEGV, &sa, &old_segv);
	sigaction(SIGBUS, &sa, &old_bus);
	volatile int faulted = 0;
	if (sigsetjmp(guard_jmp, 1) == 0) {
		volatile uint8_t *beyond = p + pg;
		(void)*beyond;
	} else {
		faulted = 1;
	}
	sigaction(SIGSEGV, &old_segv, NULL);
	sigaction(SIGBUS, &old_bus, NULL);
	CU_ASSERT_EQUAL(faulted, 1);

	/* secure_zero really clears (the call is not elided) */
	secure_zero(p, 100);
	for (size_t i = 0; i < 100; i++)
		CU_ASSERT_EQUAL(p[i], 0);
	secmem_free(p, 100);
	secmem_free(NULL, 0);

	EXPECT_ERR((secmem_alloc(0, &r) == NULL ? r : ERR_OK), ERR_INVALID_ARG);
}

/* In the style of OpenBSD's explicit_bzero regress: put a secret in a stack
 * frame, wipe it, and scan the dead frame for the secret. */
static const uint8_t secret_pattern[16] = {0x73, 0x65, 0x63, 0x72, 0x65, 0x74,
					  0x21, 0x9a, 0x5c, 0x11, 0xe3, 0x42,
					  0x7f, 0x08, 0xbd, 0x66};

static __attribute__((noinline)) uintptr_t frame_with_secret(bool wipe)
{
	volatile uint8_t buf[256];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = secret_pattern[i % 16];
	if (wipe)
		secure_zero((void *)(uintptr_t)buf, sizeof(buf));
	return (uintptr_t)buf;
}

static __attribute__((noinline)) bool stack_has_secret(uintptr_t where)
{
	/* the dead frame lies below our frame: scan a window around it */
	const uint8_t *p = (const uint8_t *)where;
	for (size_t i = 0; i + 16 <= 256; i++)
		if (memcmp(p + i, secret_pattern, 16) == 0)
			return true;
	return false;
}

static void test_secure_zero_stack(void)
{
	/* without the wipe the secret is still there: the test can fail */
	uintptr_t at = frame_with_secret(false);
	bool seen_unwiped = stack_has_secret(at);
	at = frame_with_secret(true);
	bool seen_wiped = stack_has_secret(at);
	CU_ASSERT_TRUE(seen_unwiped);
	CU_ASSERT_FALSE(seen_wiped);
}

static char tmpdir[64];

static const char *write_conf(const char *name, const char *text)
{
	static char path[128];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	FILE *fp = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	fputs(text, fp);
	fclose(fp);
	return path;
}

static int config_init(void)
{
	return testlib_tmpdir_create(tmpdir, "test");
}

static int config_clean(void)
{
	return testlib_tmpdir_remove(tmpdir);
}

static void test_file_read_bounded(void)
{
	uint8_t buf[8];
	size_t n = 99;
	unsigned mode = 0;
	char link[160], dir[160];
	const char *p = write_conf("eight.bin", "12345678");
	chmod(p, 0640);
	EXPECT_OK(file_read_bounded(p, buf, sizeof(buf), &n, &mode));
	CU_ASSERT(n == 8 && memcmp(buf, "12345678", 8) == 0);
	CU_ASSERT_EQUAL(mode, 0640);
	/* one byte too many: refused, and nothing of it is left in |buf| */
	p = write_conf("nine.bin", "123456789");
	memset(buf, 0, sizeof(buf));
	EXPECT_ERR(file_read_bounded(p, buf, sizeof(buf), &n, NULL), ERR_TOO_LARGE);
	CU_ASSERT_EQUAL(n, 0);
	/* never through a symbolic link; never a directory */
	snprintf(link, sizeof(link), "%s/link.bin", tmpdir);
	CU_ASSERT_EQUAL_FATAL(symlink(p, link), 0);
	EXPECT_ERR(file_read_bounded(link, buf, sizeof(buf), &n, NULL), ERR_IO);
	snprintf(dir, sizeof(dir), "%s", tmpdir);
	EXPECT_ERR(file_read_bounded(dir, buf, sizeof(buf), &n, NULL), ERR_INVALID_ARG);
	EXPECT_ERR(file_read_bounded("/nonexistent/x", buf, sizeof(buf), &n, NULL), ERR_IO);
}

static void test_config_defaults_no_file(void)
{
	struct config c;
	char err[256];
	EXPECT_OK(config_load(&c, "/nonexistent/fount.conf", false, err, sizeof(err)));
	CU_ASSERT_STRING_EQUAL(c.entropy_sources, "rdseed,jitter");
	CU_ASSERT_EQUAL(c.drbg_reseed_interval, 4096);
	EXPECT_ERR(config_load(&c, "/nonexistent/fount.conf", true, err, sizeof(err)), ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/fount.conf"));
}

static void test_config_file_and_env(void)
{
	struct config c;
	char err[256];
	const char *p = write_conf("ok.conf",
				   "; comment\n[entropy]\nsources = jitter\njitter_h = 0.25\n"
				   "[drbg]\nreseed_interval = 100\n[security]\nmlock = off\n"
				   "[log]\nlevel = debug\n");
	EXPECT_OK(config_load(&c, p, true, err, sizeof(err)));
	CU_ASSERT_STRING_EQUAL(c.entropy_sources, "jitter");
	CU_ASSERT_DOUBLE_EQUAL(c.entropy_jitter_h, 0.25, 1e-12);
	CU_ASSERT_EQUAL(c.drbg_reseed_interval, 100);
	CU_ASSERT_FALSE(c.security_mlock);
	CU_ASSERT_EQUAL(c.log_level, LOG_DEBUG);

	setenv("FOUNT_DRBG_RESEED_INTERVAL", "200", 1);
	EXPECT_OK(config_load(&c, p, true, err, sizeof(err)));
	CU_ASSERT_EQUAL(c.drbg_reseed_interval, 200); /* environment wins */
	setenv("FOUNT_DRBG_RESEED_INTERVAL", "-5", 1);
	EXPECT_ERR(config_load(&c, p, true, err, sizeof(err)), ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "FOUNT_DRBG_RESEED_INTERVAL"));
	unsetenv("FOUNT_DRBG_RESEED_INTERVAL");
}

static void test_config_errors_name_line_and_key(void)
{
	struct config c;
	char err[256];
	const char *p = write_conf("unknown.conf", "[entropy]\nsources = jitter\n\nbogus = 1\n");
	EXPECT_ERR(config_load(&c, p, true, err, sizeof(err)), ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "unknown.conf:4"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "bogus"));

	p = write_conf("range.conf", "[entropy]\njitter_h = 9\n");
	EXPECT_ERR(config_load(&c, p, true, err, sizeof(err)), ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "range.conf:2"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "jitter_h"));

	p = write_conf("bool.conf", "[security]\nmlock = maybe\n");
	EXPECT_ERR(config_load(&c, p, true, err, sizeof(err)), ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "mlock"));

	/* a line past libinih's limit is named, not split into two */
	char longline[400];
	snprintf(longline, sizeof(longline), "[entropy]\n# fine\nsources = %0250d\n", 0);
	p = write_conf("long.conf", longline);
	EXPECT_ERR(config_load(&c, p, true, err, sizeof(err)), ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "long.conf:3: line longer than"));

	p = write_conf("syntax.conf", "[drbg\nreseed_interval = 5\n");
	EXPECT_ERR(config_load(&c, p, true, err, sizeof(err)), ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "syntax.conf:1"));
}

static void test_config_print_roundtrip(void)
{
	struct config c, d;
	char err[256];
	config_defaults(&c);
	c.drbg_reseed_seconds = 77;
	char path[128];
	snprintf(path, sizeof(path), "%s/printed.conf", tmpdir);
	FILE *fp = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	config_print(&c, fp);
	fclose(fp);
	EXPECT_OK(config_load(&d, path, true, err, sizeof(err)));
	CU_ASSERT_EQUAL(d.drbg_reseed_seconds, 77);
	CU_ASSERT_STRING_EQUAL(d.entropy_sources, c.entropy_sources);
}

TEST_SUITE(util, NULL, NULL,
	   TEST(test_err_table), TEST(test_hex), TEST(test_ct_memeq),
	   TEST(test_secmem_guard_and_wipe), TEST(test_secure_zero_stack))

TEST_SUITE(config, config_init, config_clean,
	   TEST(test_file_read_bounded), TEST(test_config_defaults_no_file), TEST(test_config_file_and_env),
	   TEST(test_config_errors_name_line_and_key), TEST(test_config_print_roundtrip))
