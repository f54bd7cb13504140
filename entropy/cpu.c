/* entropy/cpu.c — CPUID detection of RDSEED/RDRAND and the 64-bit
 * instruction wrappers. The one place in fount that executes CPUID. */
#include <pthread.h>

#include "entropy/internal.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif

static pthread_once_t cpu_once = PTHREAD_ONCE_INIT;
static bool cpu_rdseed, cpu_rdrand;

static void cpu_probe(void)
{
#if defined(__x86_64__)
	unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;

	/* RDRAND: CPUID.01H:ECX bit 30 (Intel SDM vol. 2A, CPUID). */
	if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) != 0)
		cpu_rdrand = (ecx & (1u << 30)) != 0;
	/* RDSEED: CPUID.(EAX=07H, ECX=0):EBX bit 18. __get_cpuid_count checks
	 * the maximum leaf first, so old CPUs without leaf 7 report "no". */
	if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) != 0)
		cpu_rdseed = (ebx & (1u << 18)) != 0;
#endif
}

bool entropy_cpu_has_rdseed(void)
{
	(void)pthread_once(&cpu_once, cpu_probe);
	return cpu_rdseed;
}

bool entropy_cpu_has_rdrand(void)
{
	(void)pthread_once(&cpu_once, cpu_probe);
	return cpu_rdrand;
}

/* Only the 64-bit forms: the 16- and 32-bit RDSEED forms return 0 with CF=1
 * on AMD Zen 5 (AMD-SB-7055, CVE-2025-62626). */
bool entropy_cpu_rdseed64(uint64_t *out)
{
#if defined(__x86_64__)
	uint64_t v = 0;
	unsigned char ok = 0;
	__asm__ __volatile__("rdseed %0; setc %1" : "=r"(v), "=qm"(ok) : : "cc");
	*out = v;
	return ok != 0;
#else
	*out = 0;
	return false;
#endif
}

bool entropy_cpu_rdrand64(uint64_t *out)
{
#if defined(__x86_64__)
	uint64_t v = 0;
	unsigned char ok = 0;
	__asm__ __volatile__("rdrand %0; setc %1" : "=r"(v), "=qm"(ok) : : "cc");
	*out = v;
	return ok != 0;
#else
	*out = 0;
	return false;
#endif
}

err_t entropy_sanity_check64(err_t (*draw)(uint64_t *out))
{
	err_t r = ERR_INTERNAL;
	uint64_t prev = 0, v = 0;

	for (unsigned i = 0; i < ENTROPY_SANITY_SAMPLES; i++) {
		GUARD_GOTO(draw(&v));
		/* Stuck hardware: AMD 15h/16h RDRAND returns all-ones after
		 * resume, Zen 2 before its AGESA fix; Zen 5 RDSEED returns 0. */
		ENSURE_GOTO(v != 0 && v != UINT64_MAX, ERR_ENTROPY_STARTUP);
		/* A repeat of a 64-bit value has probability 2^-64 for a working
		 * source; treat it as stuck, as Linux does. */
		ENSURE_GOTO(i == 0 || v != prev, ERR_ENTROPY_STARTUP);
		prev = v;
	}
	r = ERR_OK;
out:
	secure_zero(&v, sizeof(v));
	secure_zero(&prev, sizeof(prev));
	return r;
}
