/* fuzz/fuzz_acvp.c — feeds arbitrary bytes to the ACVP harness
 * (selftest/acvp.c, acvp_algs.c) as a request. Built with FOUNT_LIBFUZZER (clang
 * -fsanitize=fuzzer) it is a libFuzzer target; otherwise main() replays the
 * files named on the command line (`make fuzz` replays
 * fuzz/corpus/fuzz_acvp/). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "selftest/selftest.h"

static FILE *sink;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* the default provider, no FIPS module needed: the harness's own
	 * keygen_init is then a no-op and the DRBG code is reachable */
	fuzz_keygen_once();
	sink = fopen("/dev/null", "w");
	FUZZ_CHECK(sink != NULL);
	/* reachability: a minimal valid request must be answered */
	static const char ok[] =
		"{\"vsId\":1,\"algorithm\":\"ctrDRBG\",\"revision\":\"1.0\",\"testGroups\":[{"
		"\"tgId\":1,\"testType\":\"AFT\",\"derFunc\":true,\"reSeed\":false,"
		"\"predResistance\":false,\"entropyInputLen\":256,\"nonceLen\":128,"
		"\"persoStringLen\":0,\"additionalInputLen\":0,\"returnedBitsLen\":512,"
		"\"mode\":\"AES-256\",\"tests\":[{\"tcId\":1,"
		"\"entropyInput\":\"000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F\","
		"\"nonce\":\"000102030405060708090A0B0C0D0E0F\",\"persoString\":\"\","
		"\"otherInput\":[{\"intendedUse\":\"generate\",\"additionalInput\":\"\","
		"\"entropyInput\":\"\"},{\"intendedUse\":\"generate\",\"additionalInput\":\"\","
		"\"entropyInput\":\"\"}]}]}]}";
	FILE *in = fmemopen((void *)(uintptr_t)ok, strlen(ok), "r");
	FUZZ_CHECK(in != NULL);
	FUZZ_CHECK(acvp_run(in, sink, sink) == ERR_OK);
	fclose(in);
	/* and the other algorithms (selftest/acvp_algs.c) */
	static const char sha[] = "{\"vsId\":2,\"algorithm\":\"SHA2-256\",\"revision\":\"1.0\",\"testGroups\":[{"
				  "\"tgId\":1,\"testType\":\"AFT\",\"tests\":[{\"tcId\":1,\"msg\":\"616263\",\"len\":24}]}]}";
	in = fmemopen((void *)(uintptr_t)sha, strlen(sha), "r");
	FUZZ_CHECK(in != NULL);
	FUZZ_CHECK(acvp_run(in, sink, sink) == ERR_OK);
	fclose(in);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	FILE *in = fmemopen((void *)(uintptr_t)data, size, "r");
	if (in == NULL)
		return 0;
	(void)!acvp_run(in, sink, sink); /* any result is fine; crashes are not */
	fclose(in);
	return 0;
}

FUZZ_REPLAY_MAIN("fuzz_acvp")
