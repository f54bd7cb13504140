/* fuzz/fuzz.h — shared by the fuzz targets: the replay main() that gcc
 * builds run over a corpus (`make fuzz`), and the one-time library setup
 * of the targets that need keygen_init.
 *
 * Each target defines LLVMFuzzerTestOneInput and ends with FUZZ_REPLAY_MAIN
 * ("name"); with FOUNT_LIBFUZZER (clang -fsanitize=fuzzer) libFuzzer
 * supplies main() instead. */
#ifndef FOUNT_FUZZ_FUZZ_H
#define FOUNT_FUZZ_FUZZ_H

#include <stdio.h>
#include <stdlib.h>

#include <openssl/err.h>

#include "keygen/keygen.h"
#include "util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional, as in libFuzzer: run once before the first input. One-time
 * setup belongs here rather than in the first input, where libFuzzer's
 * leak check would see it as that input's allocations. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* FUZZ_CHECK aborts (a crash libFuzzer reports, with the input saved) when
 * a property of the code under test does not hold. Not assert(): it must
 * also fire in -DNDEBUG builds. */
#define FUZZ_CHECK(cond)                                                          \
	do {                                                                      \
		if (!(cond)) {                                                    \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,    \
				__LINE__, #cond);                                 \
			abort();                                                  \
		}                                                                 \
	} while (0)

static inline void fuzz_keygen_release(void)
{
	keygen_rand_kat_end();
	keygen_shutdown();
}

/* fuzz_keygen_once sets up fount's library context on OpenSSL's default
 * provider (FOUNT_CRYPTO_FIPS=off, so no FIPS module is needed), once per
 * process, and releases it at exit: objects that are only referenced from
 * fount's secure memory (mmap'd, which LeakSanitizer does not scan, e.g.
 * a CTR_DRBG's cipher contexts) would otherwise be reported as leaks. A
 * failure aborts: a fuzzer that cannot reach the code under test must not
 * look green. */
static inline bool fuzz_gate_open(void)
{
	return true;
}

static inline void fuzz_keygen_once(void)
{
	static bool done;
	char err[512] = "";
	struct config cfg;

	if (done)
		return;
	log_set_level(LOG_SILENT);
	if (setenv("FOUNT_CRYPTO_FIPS", "off", 1) != 0 ||
	    config_load(&cfg, NULL, false, err, sizeof(err)) != ERR_OK ||
	    keygen_init(&cfg) != ERR_OK) {
		fprintf(stderr, "fuzz: cannot set up keygen: %s %s\n", err, keygen_init_error());
		abort();
	}
	/* the key services are gated on the module state; a fuzzer runs
	 * them without the power-on sequence, so it opens the gate itself */
	keygen_set_service_gate(fuzz_gate_open);
	done = true;
	atexit(fuzz_keygen_release);
}

#ifdef FOUNT_LIBFUZZER
#define FUZZ_REPLAY_MAIN(name)
#else
/* Replays every file named on the command line; exit 1 if one cannot be
 * read. Inputs are read whole, up to 1 MiB. */
#define FUZZ_REPLAY_MAIN(name)                                                    \
	int main(int argc, char **argv)                                           \
	{                                                                         \
		static uint8_t buf[1u << 20];                                     \
		int failed = 0;                                                   \
		if (LLVMFuzzerInitialize != NULL)                                 \
			(void)LLVMFuzzerInitialize(&argc, &argv);                 \
		for (int i = 1; i < argc; i++) {                                  \
			FILE *fp = fopen(argv[i], "rb");                          \
			if (fp == NULL) {                                         \
				perror(argv[i]);                                  \
				failed = 1;                                       \
				continue;                                         \
			}                                                         \
			size_t n = fread(buf, 1, sizeof(buf), fp);                \
			fclose(fp);                                               \
			(void)LLVMFuzzerTestOneInput(buf, n);                     \
		}                                                                 \
		printf("%s: replayed %d input(s)\n", name, argc - 1);             \
		return failed;                                                    \
	}
#endif

#endif /* FOUNT_FUZZ_FUZZ_H */
