/* util/process.c — process-wide hardening (memory locking) and the
 * service manager's readiness notification. */
#include "util/util.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

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

/* The service manager's readiness protocol (sd_notify(3)): one datagram of
 * newline-separated VARIABLE=value lines to the AF_UNIX socket named by
 * $NOTIFY_SOCKET, a path or, with a leading '@', an abstract name. What
 * libsystemd does in sd_notify, without linking it. */
err_t process_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	if (path == NULL || path[0] == '\0')
		return ERR_OK; /* not started by a service manager that listens */
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t n = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || n >= sizeof(sa.sun_path))
		return ERR_SYSTEM;
	memcpy(sa.sun_path, path, n);
	if (path[0] == '@')
		sa.sun_path[0] = '\0'; /* abstract namespace */
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ERR_SYSTEM;
	socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '/'));
	ssize_t sent = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (const struct sockaddr *)&sa, salen);
	int e = errno;
	close(fd);
	errno = e;
	return sent == (ssize_t)strlen(state) ? ERR_OK : ERR_SYSTEM;
}
