/* entropy/source_getrandom.c — the kernel's getrandom(2) as additional
 * input, the portable fallback. Never credited: the kernel's own health
 * testing is not visible to fount. */
#include <errno.h>
#include <sys/random.h>

#include "entropy/internal.h"

static err_t getrandom_read(void *ctx, uint8_t *out, size_t n)
{
	UNUSED(ctx);
	while (n > 0) {
		/* Blocking mode (flags 0): never return bytes from an
		 * unseeded kernel pool. */
		const ssize_t got = getrandom(out, n, 0);

		if (got < 0) {
			if (errno == EINTR)
				continue; /* a signal before any byte: retry */
			return ERR_ENTROPY_READ;
		}
		/* Reads above 256 bytes may be cut short by a signal. */
		out += (size_t)got;
		n -= (size_t)got;
	}
	return ERR_OK;
}

static err_t getrandom_probe(void *ctx)
{
	uint8_t b[16];
	err_t r = getrandom_read(ctx, b, sizeof(b));

	secure_zero(b, sizeof(b));
	/* ENOSYS (kernels before 3.17) means the source is absent. */
	if (r != ERR_OK)
		return ERR_ENTROPY_NO_SOURCE;
	return ERR_OK;
}

const struct entropy_source entropy_source_getrandom = {
	.name = "getrandom",
	.credited = false,
	.bits = 8,
	.h = 0.0,
	.probe = getrandom_probe,
	.read = getrandom_read,
	.ctx = NULL,
};
