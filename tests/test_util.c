/* tests/test_util.c — util/: errors, secure memory, hex, configuration. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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
	long pg = sysconf(_SC_PAGESIZE);
	/* more than an arena slot holds: pages of its own */
	uint8_t *p = secmem_alloc((size_t)pg, &r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	EXPECT_OK(r);
	for (long i = 0; i < pg; i++)
		CU_ASSERT_EQUAL(p[i], 0);
	memset(p, 0xa5, 100);

	/* the page after the data is a guard page: touching it faults */
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
	secmem_free(p, (size_t)pg);
	secmem_free(NULL, 0);

	EXPECT_ERR((secmem_alloc(0, &r) == NULL ? r : ERR_OK), ERR_INVALID_ARG);
}

/* ---- the arenas of small secrets ---- */

#if defined(__SANITIZE_ADDRESS__)
#define SECMEM_TEST_ASAN 1
#endif

/* run_child runs |fn| in a child process with stderr on /dev/null and
 * returns its wait status (-1 if fork failed). */
static int run_child(void (*fn)(void *), void *arg)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0)
			dup2(fd, 2);
		fn(arg);
		_exit(0);
	}
	int st = 0;
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return st;
}

static bool killed_by(int st, int sig)
{
	return st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == sig;
}

/* vma_of finds the mapping holding |p| in /proc/self/smaps: its bounds,
 * its VmFlags line and its Locked: size in kB. */
static bool vma_of(const void *p, uintptr_t *start, uintptr_t *end, char *flags,
		   size_t flags_cap, long *locked_kb)
{
	FILE *fp = fopen("/proc/self/smaps", "r");
	char line[512];
	bool in = false, found = false;
	if (fp == NULL)
		return false;
	*locked_kb = -1;
	flags[0] = '\0';
	while (fgets(line, sizeof(line), fp) != NULL) {
		unsigned long a, b;
		if (sscanf(line, "%lx-%lx ", &a, &b) == 2 && strchr(line, '-') < strchr(line, ' ')) {
			if (found)
				break; /* the next mapping starts */
			in = (uintptr_t)p >= a && (uintptr_t)p < b;
			if (in) {
				*start = a;
				*end = b;
				found = true;
			}
			continue;
		}
		if (in && strncmp(line, "Locked:", 7) == 0)
			*locked_kb = strtol(line + 7, NULL, 10);
		if (in && strncmp(line, "VmFlags:", 8) == 0)
			snprintf(flags, flags_cap, "%s", line + 8);
	}
	fclose(fp);
	return found;
}

static bool has_flag(const char *flags, const char *f)
{
	char want[8];
	snprintf(want, sizeof(want), " %s", f);
	const char *at = strstr(flags, want);
	return at != NULL && (at[3] == ' ' || at[3] == '\n' || at[3] == '\0');
}

struct ptr_len {
	uint8_t *p;
	size_t len;
};

static int by_address(const void *a, const void *b)
{
	const struct ptr_len *x = a, *y = b;
	return x->p < y->p ? -1 : x->p > y->p;
}

/* Slots of every size never overlap, and each keeps what was written. */
static void test_secmem_slots_disjoint(void)
{
	static const size_t sizes[] = {1, 31, 32, 33, 64, 100, 128, 200, 256, 500, 512, 513};
	enum { PER_SIZE = 300 };
	static struct ptr_len all[ARRAY_SIZE(sizes) * PER_SIZE];
	size_t n = 0;
	for (size_t s = 0; s < ARRAY_SIZE(sizes); s++) {
		for (size_t i = 0; i < PER_SIZE; i++) {
			err_t r = ERR_INTERNAL;
			uint8_t *p = secmem_alloc(sizes[s], &r);
			CU_ASSERT_PTR_NOT_NULL_FATAL(p);
			EXPECT_OK(r);
			for (size_t k = 0; k < sizes[s]; k++)
				CU_ASSERT_EQUAL_FATAL(p[k], 0);
			memset(p, (int)(n & 0xff), sizes[s]);
			all[n++] = (struct ptr_len){p, sizes[s]};
		}
	}
	qsort(all, n, sizeof(all[0]), by_address);
	size_t bad = 0;
	for (size_t i = 0; i + 1 < n; i++)
		if (all[i].p + all[i].len > all[i + 1].p)
			bad++;
	CU_ASSERT_EQUAL(bad, 0);
	/* every pattern intact, then free in address order */
	for (size_t i = 0; i < n; i++) {
		uint8_t v = all[i].p[0];
		for (size_t k = 0; k < all[i].len; k++)
			if (all[i].p[k] != v)
				bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
	for (size_t i = 0; i < n; i++)
		secmem_free(all[i].p, all[i].len);
}

/* A freed slot is wiped at once (not only when it is handed out again). */
static void test_secmem_free_wipes_slot(void)
{
	err_t r;
	uint8_t *p = secmem_alloc(64, &r), *held[128] = {0};
	size_t nh = 0;
	bool neighbour = false;
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	/* hold a neighbouring slot, so the arena stays mapped after the free */
	while (nh < ARRAY_SIZE(held) && !neighbour) {
		held[nh] = secmem_alloc(64, &r);
		CU_ASSERT_PTR_NOT_NULL_FATAL(held[nh]);
		neighbour = held[nh] == p + 64 || held[nh] == p - 64;
		nh++;
	}
	CU_ASSERT_TRUE_FATAL(neighbour);
	memset(p, 0xa5, 64);
	secmem_free(p, 64);
	size_t nonzero = 0;
	for (size_t i = 0; i < 64; i++)
		nonzero += ((volatile uint8_t *)p)[i] != 0;
	CU_ASSERT_EQUAL(nonzero, 0);
	for (size_t i = 0; i < nh; i++)
		secmem_free(held[i], 64);
}

static void child_double_free(void *arg)
{
	UNUSED(arg);
	err_t r;
	uint8_t *p = secmem_alloc(32, &r);
	secmem_free(p, 32);
	secmem_free(p, 32);
}

static void child_foreign_free(void *arg)
{
	UNUSED(arg);
	uint8_t *heap = malloc(32);
	secmem_free(heap, 32);
}

static void child_interior_free(void *arg)
{
	UNUSED(arg);
	err_t r;
	uint8_t *p = secmem_alloc(100, &r);
	secmem_free(p + 8, 100);
}

static void child_wrong_length_free(void *arg)
{
	UNUSED(arg);
	err_t r;
	uint8_t *p = secmem_alloc(100, &r); /* a 128-byte slot */
	secmem_free(p, 20);                 /* says it is a 32-byte one */
}

static void child_large_foreign_free(void *arg)
{
	UNUSED(arg);
	static uint8_t not_ours[8192];
	secmem_free(not_ours + 1, 5000);
}

/* A bad free stops the process with a message, as OpenSSL's secure heap
 * does, instead of corrupting the bookkeeping. */
static void test_secmem_bad_free_aborts(void)
{
	CU_ASSERT_TRUE(killed_by(run_child(child_double_free, NULL), SIGABRT));
	CU_ASSERT_TRUE(killed_by(run_child(child_foreign_free, NULL), SIGABRT));
	CU_ASSERT_TRUE(killed_by(run_child(child_interior_free, NULL), SIGABRT));
	CU_ASSERT_TRUE(killed_by(run_child(child_wrong_length_free, NULL), SIGABRT));
	CU_ASSERT_TRUE(killed_by(run_child(child_large_foreign_free, NULL), SIGABRT));
}

static void child_touch(void *arg)
{
	volatile uint8_t *at = arg;
	signal(SIGSEGV, SIG_DFL); /* the kernel's verdict, not a sanitizer's report */
	*at = 1;
}

/* The arena has a guard page before and after it: a write just past
 * either end faults. The arena is excluded from core dumps and locked. */
static void test_secmem_arena_guarded_locked(void)
{
	bool was = secmem_mlock_enabled();
	secmem_set_mlock(true);
	err_t r;
	uint8_t *p = secmem_alloc(48, &r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	EXPECT_OK(r);
	uintptr_t start = 0, end = 0;
	char flags[512];
	long locked_kb = -1;
	CU_ASSERT_TRUE_FATAL(vma_of(p, &start, &end, flags, sizeof(flags), &locked_kb));
	CU_ASSERT_TRUE(has_flag(flags, "rd") && has_flag(flags, "wr"));
	CU_ASSERT_TRUE(has_flag(flags, "dd")); /* MADV_DONTDUMP */
#ifndef SECMEM_TEST_ASAN /* AddressSanitizer's mlock interceptor does nothing */
	CU_ASSERT_TRUE(has_flag(flags, "lo")); /* mlock */
	CU_ASSERT_EQUAL(locked_kb * 1024, (long)(end - start));
#endif
	/* the last byte of the arena is writable, the next one is not */
	CU_ASSERT_EQUAL(run_child(child_touch, (void *)(end - 1)), 0);
	CU_ASSERT_TRUE(killed_by(run_child(child_touch, (void *)end), SIGSEGV));
	CU_ASSERT_TRUE(killed_by(run_child(child_touch, (void *)(start - 1)), SIGSEGV));
	secmem_free(p, 48);
	secmem_set_mlock(was);
}

/* Wipe-on-fork needs pages of the secret's own; an arena slot is refused
 * (the kernel would wipe its neighbours too). */
static void test_secmem_wipe_on_fork(void)
{
	err_t r;
	uint64_t *slot = secmem_alloc(sizeof(*slot), &r);
	uint64_t *own = secmem_alloc_pages(sizeof(*own), &r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(slot);
	CU_ASSERT_PTR_NOT_NULL_FATAL(own);
	EXPECT_ERR(secmem_wipe_on_fork(slot, sizeof(*slot)), ERR_INVALID_ARG);
	*own = 42;
	EXPECT_OK(secmem_wipe_on_fork(own, sizeof(*own)));
	pid_t pid = fork();
	if (pid == 0)
		_exit(*(volatile uint64_t *)own == 0 ? 0 : 1);
	int st = -1;
	CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
	CU_ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CU_ASSERT_EQUAL(*own, 42);
	secmem_free(own, sizeof(*own));
	secmem_free(slot, sizeof(*slot));
}

/* Sizes at the edges behave as before the arenas. */
static void test_secmem_odd_sizes(void)
{
	err_t r = ERR_OK;
	CU_ASSERT_PTR_NULL(secmem_alloc(0, &r));
	EXPECT_ERR(r, ERR_INVALID_ARG);
	CU_ASSERT_PTR_NULL(secmem_alloc(SIZE_MAX / 2 + 1, &r));
	EXPECT_ERR(r, ERR_INVALID_ARG);
	CU_ASSERT_PTR_NULL(secmem_alloc(SIZE_MAX / 4, &r)); /* no such address space */
	EXPECT_ERR(r, ERR_NOMEM);
	CU_ASSERT_PTR_NULL(secmem_alloc_pages(0, &r));
	EXPECT_ERR(r, ERR_INVALID_ARG);
	uint8_t *big = secmem_alloc(1 << 20, &r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	big[(1 << 20) - 1] = 1;
	secmem_free(big, 1 << 20);
}

#define SECMEM_THREADS 4
#define SECMEM_ROUNDS 20000

static void *secmem_thread(void *arg)
{
	uintptr_t id = (uintptr_t)arg, bad = 0;
	struct ptr_len live[16] = {{0}};
	uint32_t x = (uint32_t)id * 2654435761u + 1;
	for (size_t i = 0; i < SECMEM_ROUNDS; i++) {
		struct ptr_len *s = &live[i % ARRAY_SIZE(live)];
		if (s->p != NULL) {
			for (size_t k = 0; k < s->len; k++)
				bad += s->p[k] != (uint8_t)(id + s->len);
			secmem_free(s->p, s->len);
		}
		x = x * 1103515245u + 12345u;
		s->len = i % 97 == 0 ? 2000 : 1 + (x >> 8) % 512;
		err_t r;
		s->p = secmem_alloc(s->len, &r);
		if (s->p == NULL) {
			bad++;
			continue;
		}
		memset(s->p, (int)(uint8_t)(id + s->len), s->len);
	}
	for (size_t j = 0; j < ARRAY_SIZE(live); j++)
		secmem_free(live[j].p, live[j].len);
	return (void *)bad;
}

/* Threads allocating and freeing at once never see each other's bytes. */
static void test_secmem_threads(void)
{
	pthread_t th[SECMEM_THREADS];
	for (uintptr_t t = 0; t < SECMEM_THREADS; t++)
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[t], NULL, secmem_thread, (void *)(t + 1)), 0);
	for (size_t t = 0; t < SECMEM_THREADS; t++) {
		void *bad = (void *)1;
		CU_ASSERT_EQUAL(pthread_join(th[t], &bad), 0);
		CU_ASSERT_PTR_NULL(bad);
	}
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

/* [keys] default_lease: seconds or one unit (s, m, h, d), 1 s to a year;
 * printed in its largest whole unit */
static void test_config_duration(void)
{
	struct config c;
	char err[256];
	static const struct {
		const char *v;
		unsigned want; /* 0: refused */
	} cases[] = {
		{"3600", 3600}, {"90s", 90}, {"30m", 1800}, {"1h", 3600}, {"7d", 604800}, {"365d", 31536000},
		{"0", 0}, {"366d", 0}, {"1w", 0}, {"1hh", 0}, {"h", 0}, {"-1h", 0}, {"", 0}, {" 1h", 0},
		{"99999999999999999999", 0}, {"18446744073709551615s", 0},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		setenv("FOUNT_KEYS_DEFAULT_LEASE", cases[i].v, 1);
		err_t r = config_load(&c, "/nonexistent/fount.conf", false, err, sizeof(err));
		if (cases[i].want != 0) {
			CU_ASSERT_EQUAL(r, ERR_OK);
			CU_ASSERT_EQUAL(c.keys_default_lease, cases[i].want);
		} else {
			CU_ASSERT_EQUAL(r, ERR_CONFIG);
			CU_ASSERT_PTR_NOT_NULL(strstr(err, "FOUNT_KEYS_DEFAULT_LEASE"));
		}
	}
	unsetenv("FOUNT_KEYS_DEFAULT_LEASE");
	EXPECT_OK(config_load(&c, "/nonexistent/fount.conf", false, err, sizeof(err)));
	CU_ASSERT_EQUAL(c.keys_default_lease, 3600);
	static const struct {
		unsigned v;
		const char *printed;
	} out[] = {{3600, "default_lease = 1h\n"}, {90, "default_lease = 90s\n"}, {1800, "default_lease = 30m\n"},
		   {172800, "default_lease = 2d\n"}};
	for (size_t i = 0; i < ARRAY_SIZE(out); i++) {
		c.keys_default_lease = out[i].v;
		char *buf = NULL;
		size_t len = 0;
		FILE *fp = open_memstream(&buf, &len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
		config_print(&c, fp);
		fclose(fp);
		CU_ASSERT_PTR_NOT_NULL(strstr(buf, out[i].printed));
		free(buf);
	}
}

static void test_config_print_roundtrip(void)
{
	struct config c, d;
	char err[256];
	config_defaults(&c);
	c.drbg_reseed_seconds = 77;
	c.keys_default_lease = 5400;
	char path[128];
	snprintf(path, sizeof(path), "%s/printed.conf", tmpdir);
	FILE *fp = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	config_print(&c, fp);
	fclose(fp);
	EXPECT_OK(config_load(&d, path, true, err, sizeof(err)));
	CU_ASSERT_EQUAL(d.drbg_reseed_seconds, 77);
	CU_ASSERT_EQUAL(d.keys_default_lease, 5400);
	CU_ASSERT_STRING_EQUAL(d.entropy_sources, c.entropy_sources);
}


/* Files that exist but cannot be used are errors, never "no file"; the
 * read is bounded; a NUL byte is an error at its line. */
static void test_config_unusable_files(void)
{
	struct config c;
	char err[512], path[160];

	EXPECT_ERR(config_load(&c, tmpdir, false, err, sizeof(err)), ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, tmpdir));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "a directory"));
	snprintf(path, sizeof(path), "%s/fifo.conf", tmpdir);
	CU_ASSERT_EQUAL_FATAL(mkfifo(path, 0600), 0);
	/* O_NONBLOCK: no writer, yet no wait */
	EXPECT_ERR(config_load(&c, path, false, err, sizeof(err)), ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "a FIFO"));
	EXPECT_ERR(config_load(&c, "/dev/zero", true, err, sizeof(err)), ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "a device"));
	snprintf(path, sizeof(path), "%s/dangling.conf", tmpdir);
	CU_ASSERT_EQUAL_FATAL(symlink("/nonexistent/fount.conf", path), 0);
	EXPECT_ERR(config_load(&c, path, false, err, sizeof(err)), ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "symbolic link"));
	/* a link to a good file is fine */
	const char *good = write_conf("good.conf", "[drbg]\nreseed_seconds = 9\n");
	snprintf(path, sizeof(path), "%s/link.conf", tmpdir);
	CU_ASSERT_EQUAL_FATAL(symlink(good, path), 0);
	EXPECT_OK(config_load(&c, path, true, err, sizeof(err)));
	CU_ASSERT_EQUAL(c.drbg_reseed_seconds, 9);
	/* empty is the defaults */
	EXPECT_OK(config_load(&c, write_conf("empty.conf", ""), true, err, sizeof(err)));

	snprintf(path, sizeof(path), "%s/nul.conf", tmpdir);
	FILE *fp = fopen(path, "wb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	fwrite("[entropy]\nsources = jitter\0,rdseed\n", 1, 35, fp);
	fclose(fp);
	EXPECT_ERR(config_load(&c, path, true, err, sizeof(err)), ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "nul.conf:2: NUL byte"));

	/* exactly the cap is read; one byte more is refused */
	snprintf(path, sizeof(path), "%s/cap.conf", tmpdir);
	fp = fopen(path, "wb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	for (unsigned i = 0; i < CONFIG_MAX_FILE / 16; i++)
		fputs("# fifteen chars\n", fp);
	fclose(fp);
	EXPECT_OK(config_load(&c, path, true, err, sizeof(err)));
	fp = fopen(path, "ab");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	fputc('\n', fp);
	fclose(fp);
	EXPECT_ERR(config_load(&c, path, true, err, sizeof(err)), ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "larger than 1024 KiB"));
}

/* [entropy] sources: syntax and duplicates always, names against the
 * list the caller gives (util/ cannot ask entropy/). */
static void test_config_sources_checked(void)
{
	static const char *const known[] = {"alpha", "beta"};
	struct config c;
	char err[512];

	config_set_source_names(known, ARRAY_SIZE(known));
	EXPECT_OK(config_load(&c, write_conf("s1.conf", "[entropy]\nsources = beta , alpha\n"), true,
			      err, sizeof(err)));
	CU_ASSERT_STRING_EQUAL(c.entropy_sources, "beta , alpha");
	static const struct { const char *v, *why; } bad[] = {
		{"gamma", "unknown source 'gamma' (known: alpha, beta)"},
		{"ALPHA", "unknown source 'ALPHA'"},
		{"alpha,alpha", "listed twice"},
		{"", "at least one"},
		{",,,", "empty name"},
		{"alpha,", "empty name"},
		{" , beta", "empty name"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char text[96];
		snprintf(text, sizeof(text), "[entropy]\n\nsources = %s\n", bad[i].v);
		EXPECT_ERR(config_load(&c, write_conf("s2.conf", text), true, err, sizeof(err)),
			   ERR_CONFIG);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "s2.conf:3"));
		CU_ASSERT_PTR_NOT_NULL(strstr(err, bad[i].why));
	}
	setenv("FOUNT_ENTROPY_SOURCES", "alpha,gamma", 1);
	EXPECT_ERR(config_load(&c, NULL, false, err, sizeof(err)), ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "FOUNT_ENTROPY_SOURCES"));
	unsetenv("FOUNT_ENTROPY_SOURCES");
	/* no list: any name, still no duplicates */
	config_set_source_names(NULL, 0);
	EXPECT_OK(config_load(&c, write_conf("s3.conf", "[entropy]\nsources = gamma\n"), true,
			      err, sizeof(err)));
	EXPECT_ERR(config_load(&c, write_conf("s3.conf", "[entropy]\nsources = g,g\n"), true, err,
			       sizeof(err)), ERR_CONFIG);
}

/* ---- output files ------------------------------------------------------ */

static char outdir[64];

static int outfile_init(void)
{
	return testlib_tmpdir_create(outdir, "outfile");
}

static int outfile_clean(void)
{
	outfile_test_force_named(false);
	return testlib_tmpdir_remove(outdir);
}

/* entries counts what is in outdir; *hidden the dot-files among them. */
static int entries(int *hidden)
{
	DIR *d = opendir(outdir);
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

static void clear_outdir(void)
{
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'/* '%s'/.[!.]*", outdir, outdir);
	CU_ASSERT_EQUAL(testlib_sh(cmd), 0);
}

static const char *out_path(const char *name)
{
	return testlib_file(outdir, name);
}

/* Both ways (O_TMPFILE and the temporary name): the file has no name until
 * the commit, keeps its mode, and an existing name is never replaced, not
 * even one that appears while the file is written. */
static void test_outfile_commit_never_overwrites(void)
{
	for (int named = 0; named <= 1; named++) {
		int hidden = 0;
		char f[128];
		clear_outdir();
		outfile_test_force_named(named);
		snprintf(f, sizeof(f), "%s", out_path("key.bin"));
		int fd = outfile_open(f, 0600, 0);
		CU_ASSERT_FATAL(fd >= 0);
		CU_ASSERT_EQUAL(write(fd, "secret", 6), 6);
		CU_ASSERT_EQUAL(access(f, F_OK), -1); /* no name yet */
		CU_ASSERT_EQUAL(entries(&hidden), named);
		CU_ASSERT_EQUAL(hidden, named);
		EXPECT_OK(outfile_commit(fd));
		struct stat st;
		CU_ASSERT_EQUAL_FATAL(stat(f, &st), 0);
		CU_ASSERT_EQUAL(st.st_size, 6);
		CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
		CU_ASSERT_EQUAL(entries(&hidden), 1);
		CU_ASSERT_EQUAL(hidden, 0);
		/* there now: refused at open */
		errno = 0;
		CU_ASSERT_EQUAL(outfile_open(f, 0600, 0), -1);
		CU_ASSERT_EQUAL(errno, EEXIST);
		/* appears meanwhile: refused at commit, and nothing is left */
		char g[128];
		snprintf(g, sizeof(g), "%s", out_path("late.bin"));
		fd = outfile_open(g, 0644, 0);
		CU_ASSERT_FATAL(fd >= 0);
		CU_ASSERT_EQUAL(write(fd, "mine", 4), 4);
		FILE *fp = fopen(g, "w");
		CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
		fputs("theirs!", fp);
		fclose(fp);
		EXPECT_ERR(outfile_commit(fd), ERR_IO);
		CU_ASSERT_EQUAL(errno, EEXIST);
		CU_ASSERT_EQUAL(stat(g, &st), 0);
		CU_ASSERT_EQUAL(st.st_size, 7);
		CU_ASSERT_EQUAL(entries(&hidden), 2);
		CU_ASSERT_EQUAL(hidden, 0);
		/* abort: nothing */
		fd = outfile_open(out_path("dropped.bin"), 0600, 0);
		CU_ASSERT_FATAL(fd >= 0);
		outfile_abort(fd);
		CU_ASSERT_EQUAL(entries(&hidden), 2);
		/* OUTFILE_REPLACE replaces a regular file whole */
		fd = outfile_open(g, 0644, OUTFILE_REPLACE);
		CU_ASSERT_FATAL(fd >= 0);
		CU_ASSERT_EQUAL(write(fd, "new", 3), 3);
		CU_ASSERT_EQUAL(stat(g, &st), 0);
		CU_ASSERT_EQUAL(st.st_size, 7); /* the old one until the commit */
		EXPECT_OK(outfile_commit(fd));
		CU_ASSERT_EQUAL(stat(g, &st), 0);
		CU_ASSERT_EQUAL(st.st_size, 3);
		CU_ASSERT_EQUAL(entries(&hidden), 2);
		CU_ASSERT_EQUAL(hidden, 0);
	}
	outfile_test_force_named(false);
}

static void test_outfile_devices_fifos_dirs(void)
{
	int fd = outfile_open("/dev/null", 0600, 0);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, "x", 1), 1);
	EXPECT_OK(outfile_commit(fd));
	errno = 0;
	CU_ASSERT_EQUAL(outfile_open(outdir, 0600, 0), -1);
	CU_ASSERT_EQUAL(errno, EISDIR);
	errno = 0;
	CU_ASSERT_EQUAL(outfile_open(outdir, 0600, OUTFILE_REPLACE), -1);
	CU_ASSERT_EQUAL(errno, EISDIR);
	/* a link to a device is written through; a link to a file is not */
	char link[128];
	snprintf(link, sizeof(link), "%s", out_path("null.link"));
	CU_ASSERT_EQUAL_FATAL(symlink("/dev/null", link), 0);
	fd = outfile_open(link, 0600, 0);
	CU_ASSERT_FATAL(fd >= 0);
	EXPECT_OK(outfile_commit(fd));
	struct stat st;
	CU_ASSERT_EQUAL(lstat(link, &st), 0);
	CU_ASSERT_TRUE(S_ISLNK(st.st_mode));
	unlink(link);
	CU_ASSERT_EQUAL_FATAL(symlink("/nonexistent/target", link), 0);
	errno = 0;
	CU_ASSERT_EQUAL(outfile_open(link, 0600, 0), -1);
	CU_ASSERT_EQUAL(errno, EEXIST);
	unlink(link);
}

/* The temporary-name way under a signal: the handler removes the
 * temporary file, and a file already committed while another of the same
 * output is still open (a key before its public half) goes too. */
static void test_outfile_signal_removes_everything(void)
{
	static const int sigs[] = {SIGTERM, SIGINT, SIGHUP};
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++) {
		int hidden = 0;
		clear_outdir();
		pid_t pid = fork();
		CU_ASSERT_FATAL(pid >= 0);
		if (pid == 0) {
			outfile_test_force_named(true);
			int a = outfile_open(out_path("key.pem"), 0600, 0);
			int b = outfile_open(out_path("key.pub"), 0644, 0);
			if (a < 0 || b < 0 || write(a, "k", 1) != 1 || write(b, "p", 1) != 1)
				_exit(3);
			if (outfile_commit(a) != ERR_OK || access(out_path("key.pem"), F_OK) != 0)
				_exit(4);
			raise(sigs[i]);
			_exit(5);
		}
		int st = 0;
		CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
		CU_ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == sigs[i]);
		CU_ASSERT_EQUAL(entries(&hidden), 0);
	}
	/* after the last commit the pair is final: a signal removes nothing */
	clear_outdir();
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		outfile_test_force_named(true);
		int a = outfile_open(out_path("key.pem"), 0600, 0);
		int b = outfile_open(out_path("key.pub"), 0644, 0);
		if (a < 0 || b < 0 || outfile_commit(a) != ERR_OK || outfile_commit(b) != ERR_OK)
			_exit(3);
		raise(SIGTERM);
		_exit(5);
	}
	int st = 0, hidden = 0;
	CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
	CU_ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
	CU_ASSERT_EQUAL(entries(&hidden), 2);
	CU_ASSERT_EQUAL(hidden, 0);
}

/* memlock_all locks what the process has (checked in a child, so the test
 * runner itself stays unlocked). */
static void test_memlock_all(void)
{
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		if (memlock_all() != ERR_OK)
			_exit(2);
		FILE *fp = fopen("/proc/self/status", "r");
		char line[256];
		long lck = -1, rss = -1;
		while (fp != NULL && fgets(line, sizeof(line), fp) != NULL) {
			if (strncmp(line, "VmLck:", 6) == 0)
				lck = strtol(line + 6, NULL, 10);
			if (strncmp(line, "VmRSS:", 6) == 0)
				rss = strtol(line + 6, NULL, 10);
		}
		_exit(!MLOCK_IS_REAL || (lck > 0 && lck >= rss * 9 / 10) ? 0 : 1);
	}
	int st = 0;
	CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
	CU_ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	char limit[32];
	memlock_limit_text(limit, sizeof(limit));
	CU_ASSERT(strlen(limit) > 0);
}

TEST_SUITE(util, NULL, NULL,
	   TEST(test_err_table), TEST(test_hex), TEST(test_ct_memeq),
	   TEST(test_secmem_guard_and_wipe), TEST(test_secmem_slots_disjoint),
	   TEST(test_secmem_free_wipes_slot), TEST(test_secmem_bad_free_aborts),
	   TEST(test_secmem_arena_guarded_locked), TEST(test_secmem_wipe_on_fork),
	   TEST(test_secmem_odd_sizes), TEST(test_secmem_threads), TEST(test_secure_zero_stack))

TEST_SUITE(config, config_init, config_clean,
	   TEST(test_file_read_bounded), TEST(test_config_defaults_no_file), TEST(test_config_file_and_env),
	   TEST(test_config_errors_name_line_and_key), TEST(test_config_duration), TEST(test_config_print_roundtrip),
	   TEST(test_config_unusable_files), TEST(test_config_sources_checked))

TEST_SUITE(outfile, outfile_init, outfile_clean,
	   TEST(test_outfile_commit_never_overwrites), TEST(test_outfile_devices_fifos_dirs),
	   TEST(test_outfile_signal_removes_everything), TEST(test_memlock_all))
