/* fuzz/fuzz_config.c — the INI configuration parser (util/config.c).
 * LLVMFuzzerTestOneInput for libFuzzer (make fuzz-libfuzzer), and a replay
 * main() so gcc builds run the corpus as a regression test (make fuzz). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], err[512];
	struct config cfg;
	int fd = memfd_create("fuzz-config", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (size == 0 || write(fd, data, size) == (ssize_t)size) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		err_t r = config_load(&cfg, path, true, err, sizeof(err));
		/* an error always comes with a message naming the file */
		if (r != ERR_OK && err[0] == '\0')
			abort();
		if (r == ERR_OK && (cfg.entropy_alpha_log2 < 20 || cfg.entropy_alpha_log2 > 40))
			abort(); /* a value outside its range got through */
	}
	close(fd);
	return 0;
}

#ifndef FOUNT_LIBFUZZER
int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		FILE *fp = fopen(argv[i], "rb");
		if (fp == NULL) {
			perror(argv[i]);
			return 1;
		}
		static uint8_t buf[1 << 20];
		size_t n = fread(buf, 1, sizeof(buf), fp);
		fclose(fp);
		LLVMFuzzerTestOneInput(buf, n);
		printf("fuzz_config: %s (%zu bytes) survived\n", argv[i], n);
	}
	return 0;
}
#endif
