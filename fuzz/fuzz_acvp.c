/* fuzz/fuzz_acvp.c — feeds arbitrary bytes to the ACVP harness as a request.
 * Built with FOUNT_LIBFUZZER (clang -fsanitize=fuzzer) it is a libFuzzer
 * target; otherwise main() replays the files named on the command line
 * (`make fuzz` replays fuzz/corpus/fuzz_acvp/). */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *sink;
	if (sink == NULL)
		sink = fopen("/dev/null", "w");
	if (sink == NULL || size == 0)
		return 0;
	FILE *in = fmemopen((void *)(uintptr_t)data, size, "r");
	if (in == NULL)
		return 0;
	(void)!acvp_run(in, sink, sink); /* any result is fine; crashes are not */
	fclose(in);
	return 0;
}

#ifndef FOUNT_LIBFUZZER
int main(int argc, char **argv)
{
	int failed = 0;
	for (int i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		if (f == NULL) {
			perror(argv[i]);
			failed = 1;
			continue;
		}
		uint8_t *buf = malloc(ACVP_MAX_INPUT);
		size_t n = buf != NULL ? fread(buf, 1, ACVP_MAX_INPUT, f) : 0;
		fclose(f);
		if (buf != NULL)
			(void)LLVMFuzzerTestOneInput(buf, n);
		free(buf);
	}
	printf("fuzz_acvp: replayed %d input(s)\n", argc - 1);
	return failed;
}
#endif
