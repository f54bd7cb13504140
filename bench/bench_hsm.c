/* bench/bench_hsm.c — fount's HSM path against pkcs11-tool on a throw-away
 * SoftHSMv2 token: RNG draws, seeding, and key imports. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench.h"
#include "hsm/hsm.h"
#include "keygen/keygen.h"

#define MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define PIN "bench-pin-1357"
#define P11 "pkcs11-tool --module " MODULE " --token-label fount-bench --login --pin " PIN

static double now_s(void)
{
	return (double)now_ns() / 1e9;
}

static int sh(const char *cmd)
{
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* p11_rate runs |cmd| (one pkcs11-tool process per call) for about
 * |seconds| and returns calls per second, or 0 if it fails. */
static double p11_rate(const char *cmd, double seconds)
{
	double t0 = now_s(), t;
	unsigned n = 0;
	do {
		if (sh(cmd) != 0)
			return 0;
		n++;
		t = now_s() - t0;
	} while (t < seconds || n < 3);
	return n / t;
}

void bench_hsm(double seconds)
{
	char dir[] = "/tmp/fount-bench-hsm-XXXXXX", path[256], cmd[768];
	struct config cfg;
	struct hsm *h = NULL;
	uint8_t buf[4096], kek[32], key[32], wrapped[48];
	size_t wlen = 0;

	printf("HSM (PKCS#11, SoftHSMv2 %s)\n", MODULE);
	if (access(MODULE, R_OK) != 0 || sh("command -v softhsm2-util >/dev/null && command -v pkcs11-tool >/dev/null") != 0) {
		printf("  skipped: SoftHSMv2 or OpenSC not installed (make deps)\n\n");
		return;
	}
	if (mkdtemp(dir) == NULL)
		return;
	snprintf(path, sizeof(path), "%s/softhsm2.conf", dir);
	FILE *fp = fopen(path, "w");
	if (fp == NULL)
		goto out;
	fprintf(fp, "directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n", dir);
	fclose(fp);
	setenv("SOFTHSM2_CONF", path, 1);
	setenv("FOUNT_HSM_PIN", PIN, 1);
	if (sh("softhsm2-util --init-token --free --label fount-bench --so-pin 0000 --pin " PIN " >/dev/null") != 0)
		goto out;
	config_defaults(&cfg);
	snprintf(cfg.hsm[0].module, sizeof(cfg.hsm[0].module), "%s", MODULE);
	snprintf(cfg.hsm[0].token, sizeof(cfg.hsm[0].token), "fount-bench");
	err_t r = hsm_open(&cfg.hsm[0], &h);
	if (r == ERR_OK && (r = drbg_generate(kek, sizeof(kek))) == ERR_OK)
		r = hsm_kek_install(h, "bench-kek", kek, sizeof(kek), 0);
	if (r != ERR_OK) {
		printf("  skipped: %s\n\n", err_str(r));
		goto out;
	}

	printf("%-34s %12s %12s %12s\n", "operation", "fount/s", "pkcs11-tool/s", "ratio");
	/* RNG draws of 4 KiB */
	double t0 = now_s(), t;
	unsigned n = 0;
	do {
		if (hsm_random(h, buf, sizeof(buf)) != ERR_OK)
			goto out;
		n++;
		t = now_s() - t0;
	} while (t < seconds);
	double f = n / t;
	double p = p11_rate(P11 " --generate-random 4096 >/dev/null 2>&1", seconds);
	printf("%-34s %12.0f %12.1f %11.0fx   (%.1f MB/s)\n", "C_GenerateRandom 4 KiB", f, p,
	       p > 0 ? f / p : 0, f * 4096 / 1e6);

	/* seeding with 4 KiB of DRBG output */
	t0 = now_s();
	n = 0;
	do {
		if (hsm_seed_from_drbg(h, sizeof(buf)) != ERR_OK)
			goto out;
		n++;
		t = now_s() - t0;
	} while (t < seconds);
	f = n / t;
	printf("%-34s %12.0f %12s %12s   (%.1f MB/s; pkcs11-tool has no C_SeedRandom)\n",
	       "C_SeedRandom 4 KiB (from DRBG)", f, "n/a", "-", f * 4096 / 1e6);

	/* imports: fount wraps (AES-KWP) and the HSM unwraps, vs pkcs11-tool
	 * writing the plaintext key (--write-object: pkcs11-tool 0.23 cannot
	 * unwrap into SoftHSM 2.6.1, which refuses its CKA_VALUE_LEN) */
	t0 = now_s();
	n = 0;
	do {
		char label[32];
		snprintf(label, sizeof(label), "imp-%u", n);
		if (drbg_generate(key, sizeof(key)) != ERR_OK ||
		    keygen_aes_wrap(KEYGEN_WRAP_KWP, kek, sizeof(kek), key, sizeof(key), wrapped,
				    sizeof(wrapped), &wlen) != ERR_OK ||
		    hsm_import_wrapped(h, "bench-kek", wrapped, wlen, HSM_KEY_AES_256, label, 0) != ERR_OK)
			goto out;
		n++;
		t = now_s() - t0;
	} while (t < seconds);
	f = n / t;
	snprintf(path, sizeof(path), "%s/key.bin", dir);
	if (drbg_generate(key, sizeof(key)) != ERR_OK || (fp = fopen(path, "wb")) == NULL)
		goto out;
	(void)!fwrite(key, 1, sizeof(key), fp);
	fclose(fp);
	snprintf(cmd, sizeof(cmd), P11 " --write-object %s --type secrkey --key-type AES:32 --label p11 >/dev/null 2>&1", path);
	p = p11_rate(cmd, seconds);
	printf("%-34s %12.0f %12.1f %11.0fx\n", "import AES-256 (wrap+unwrap)", f, p, p > 0 ? f / p : 0);
	printf("  pkcs11-tool runs one process per operation (load, C_Initialize, login), as a\n"
	       "  shell loop does; fount keeps its sessions open. SoftHSMv2 does the work on both sides.\n\n");
out:
	hsm_close(h);
	secure_zero(kek, sizeof(kek));
	secure_zero(key, sizeof(key));
	unsetenv("FOUNT_HSM_PIN");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)sh(cmd);
}
