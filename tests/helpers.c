/* tests/helpers.c — shared test helpers. */
#include "tests/helpers.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

void testlib_config(struct config *cfg)
{
	char why[256];
	if (config_load(cfg, NULL, false, why, sizeof(why)) != ERR_OK) {
		fprintf(stderr, "testlib_config: %s\n", why);
		abort();
	}
}

uint8_t *testlib_hex(const char *hex, size_t *out_len)
{
	size_t cap = strlen(hex) / 2;
	*out_len = 0;
	if (cap == 0)
		return NULL;
	uint8_t *buf = malloc(cap);
	if (buf == NULL || hex_decode(buf, cap, out_len, hex) != ERR_OK) {
		fprintf(stderr, "testlib_hex: bad hex '%s'\n", hex);
		abort();
	}
	return buf;
}

const char *testlib_path(const char *rel)
{
	static char path[4096];
	const char *dir = getenv("FOUNT_SRCDIR");
	snprintf(path, sizeof(path), "%s/%s", dir ? dir : ".", rel);
	return path;
}

const char *testlib_fount_bin(void)
{
	const char *bin = getenv("FOUNT_BIN");
	return bin ? bin : "build/fount";
}

const char *testlib_fips_dir_env(void)
{
	static char env[4200];
	char dir[4096];
	if (realpath(testlib_fount_bin(), dir) == NULL)
		snprintf(dir, sizeof(dir), "%s", testlib_fount_bin());
	char *slash = strrchr(dir, '/');
	if (slash != NULL)
		*slash = '\0';
	snprintf(env, sizeof(env), "FOUNT_CRYPTO_FIPS_MODULE_DIR=%s/fips", dir);
	return env;
}

int testlib_run(const char *const argv[], const char *const env[],
		const char *input, struct run_result *res)
{
	int in[2], out[2], err[2];
	memset(res, 0, sizeof(*res));
	if (pipe(in) || pipe(out) || pipe(err))
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		close(in[1]); close(out[0]); close(err[0]);
		for (size_t i = 0; env && env[i]; i++)
			putenv((char *)(uintptr_t)env[i]);
		execv(argv[0], (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	close(in[0]); close(out[1]); close(err[1]);
	if (input)
		(void)!write(in[1], input, strlen(input));
	close(in[1]);
	size_t no = 0, ne = 0;
	struct pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
	int open_fds = 2;
	while (open_fds > 0 && poll(fds, 2, 60000) > 0) {
		for (int i = 0; i < 2; i++) {
			if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP)))
				continue;
			char *buf = i == 0 ? res->out : res->err;
			size_t *used = i == 0 ? &no : &ne;
			char tmp[4096];
			ssize_t k = read(fds[i].fd, tmp, sizeof(tmp));
			if (k <= 0) {
				close(fds[i].fd);
				fds[i].fd = -1;
				open_fds--;
				continue;
			}
			size_t room = sizeof(res->out) - 1 - *used;
			size_t take = (size_t)k < room ? (size_t)k : room;
			memcpy(buf + *used, tmp, take);
			*used += take;
		}
	}
	for (int i = 0; i < 2; i++)
		if (fds[i].fd >= 0)
			close(fds[i].fd);
	int st = 0;
	waitpid(pid, &st, 0);
	res->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return 0;
}

/* ---- SoftHSMv2 ------------------------------------------------------------ */

static char softhsm_dir[64];

int testlib_sh(const char *cmd)
{
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

const char *testlib_softhsm_dir(void)
{
	return softhsm_dir;
}

int testlib_softhsm_setup(void)
{
	char path[160];
	if (access(TESTLIB_SOFTHSM_MODULE, R_OK) != 0 ||
	    testlib_sh("command -v softhsm2-util >/dev/null && command -v pkcs11-tool >/dev/null") != 0) {
		fprintf(stderr, "\n  SoftHSMv2 or OpenSC missing: run 'make deps' (softhsm2, opensc)\n");
		return -1;
	}
	if (softhsm_dir[0] != '\0')
		return 0;
	snprintf(softhsm_dir, sizeof(softhsm_dir), "/tmp/fount-softhsm-XXXXXX");
	if (mkdtemp(softhsm_dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/tokens", softhsm_dir);
	if (mkdir(path, 0700) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/softhsm2.conf", softhsm_dir);
	FILE *fp = fopen(path, "w");
	if (fp == NULL)
		return -1;
	fprintf(fp, "directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n",
		softhsm_dir);
	fclose(fp);
	return setenv("SOFTHSM2_CONF", path, 1);
}

int testlib_softhsm_token(const char *label, const char *pin)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd),
		 "softhsm2-util --init-token --free --label '%s' --so-pin so-pin-1234 --pin '%s' >/dev/null",
		 label, pin);
	return testlib_sh(cmd);
}

int testlib_softhsm_wipe(void)
{
	char cmd[256];
	if (softhsm_dir[0] == '\0')
		return -1;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/tokens' && mkdir -m 700 '%s/tokens'", softhsm_dir,
		 softhsm_dir);
	return testlib_sh(cmd);
}

void testlib_softhsm_cleanup(void)
{
	char cmd[128];
	if (softhsm_dir[0] == '\0')
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", softhsm_dir);
	(void)testlib_sh(cmd);
	softhsm_dir[0] = '\0';
	unsetenv("SOFTHSM2_CONF");
}

int testlib_spawn(const char *log, const char *const argv[], const char *const env[])
{
	pid_t pid = fork();
	if (pid != 0)
		return (int)pid;
	int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		_exit(127);
	dup2(fd, 2);
	for (size_t i = 0; env && env[i]; i++)
		putenv((char *)(uintptr_t)env[i]);
	execv(argv[0], (char *const *)(uintptr_t)argv);
	_exit(127);
}

char *testlib_slurp(const char *path)
{
	FILE *fp = fopen(path, "rb");
	if (fp == NULL)
		return NULL;
	static char buf[1 << 16];
	size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	return buf;
}

bool testlib_wait_for_log(const char *path, const char *what)
{
	for (int i = 0; i < 200; i++) {
		const char *log = testlib_slurp(path);
		if (log != NULL && strstr(log, what) != NULL)
			return true;
		struct timespec ts = {0, 50 * 1000000L};
		nanosleep(&ts, NULL);
	}
	return false;
}

int testlib_tmpdir_create(char dir[64], const char *tag)
{
	snprintf(dir, 64, "/tmp/fount-%s-XXXXXX", tag);
	return mkdtemp(dir) != NULL ? 0 : -1;
}

int testlib_tmpdir_remove(const char *dir)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return testlib_sh(cmd) == 0 ? 0 : -1;
}

const char *testlib_file(const char *dir, const char *name)
{
	static char path[8][256];
	static int k;
	k = (k + 1) % 8;
	snprintf(path[k], sizeof(path[k]), "%s/%s", dir, name);
	return path[k];
}


bool testlib_cert_sha256(const char *path, uint8_t out[32])
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return false;
	X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	unsigned n = 0;
	bool ok = x != NULL && X509_digest(x, EVP_sha256(), out, &n) == 1 && n == 32;
	X509_free(x);
	return ok;
}
