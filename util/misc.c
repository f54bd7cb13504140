/* util/misc.c — logging, hex and time helpers. */
#include "util/util.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int log_level = LOG_INFO;

void log_set_level(enum log_level level) { atomic_store(&log_level, (int)level); }
enum log_level log_get_level(void) { return (enum log_level)atomic_load(&log_level); }

void log_msg(enum log_level level, const char *func, const char *fmt, ...)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};
	if ((int)level > atomic_load(&log_level))
		return;
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* one write per line so that concurrent threads do not interleave */
	fprintf(stderr, "fount[%ld]: %s: %s: %s\n", (long)getpid(),
		names[level], func, line);
}

void hex_encode(char *out, const uint8_t *in, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

err_t hex_decode(uint8_t *out, size_t out_cap, size_t *out_len, const char *hex)
{
	ENSURE_REF(hex);
	ENSURE_REF(out_len);
	size_t n = strlen(hex);
	ENSURE(n % 2 == 0, ERR_PARSE);
	ENSURE(n / 2 <= out_cap, ERR_TOO_LARGE);
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
		ENSURE(hi >= 0 && lo >= 0, ERR_PARSE);
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*out_len = n / 2;
	return ERR_OK;
}

uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
