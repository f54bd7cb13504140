/* util/process.c — process-wide hardening: memory locking. */
#include "util/util.h"

#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/resource.h>

/* MCL_ONFAULT (Linux 4.4, mlockall(2)): lock pages as they are touched,
 * not all at once. Without it MCL_CURRENT would make every reserved page
 * resident, among them AddressSanitizer's terabytes of shadow memory and
 * the unused part of every thread stack. */
#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif

err_t memlock_all(void)
{
	if (mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) == 0)
		return ERR_OK;
	/* EINVAL: a kernel before 4.4, which knows no MCL_ONFAULT */
	if (errno == EINVAL && mlockall(MCL_CURRENT | MCL_FUTURE) == 0)
		return ERR_OK;
	return ERR_MLOCK;
}

void memlock_limit_text(char *out, size_t len)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_MEMLOCK, &rl) != 0)
		snprintf(out, len, "unknown");
	else if (rl.rlim_cur == RLIM_INFINITY)
		snprintf(out, len, "unlimited");
	else if (rl.rlim_cur % 1024 == 0 && rl.rlim_cur > 0)
		snprintf(out, len, "%llu KiB", (unsigned long long)rl.rlim_cur / 1024);
	else
		snprintf(out, len, "%llu bytes", (unsigned long long)rl.rlim_cur);
}
