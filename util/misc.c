/* util/misc.c — logging, hex, bounded file reads and time. */
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static atomic_int log_level = LOG_INFO;

void log_set_level(enum log_level level) { atomic_store(&log_level, (int)level); }
enum log_level log_get_level(void) { return (enum log_level)atomic_load(&log_level); }

/* to_journal: stderr is journald's stream (systemd sets JOURNAL_STREAM to
 * its "device:inode", systemd.exec(5)); journald then adds the program
 * name and pid itself, and reads a "<N>" syslog priority at the start of
 * a line (sd-daemon(3)). */
static bool to_journal(void)
{
	static atomic_int known = -1;
	int k = atomic_load(&known);
	if (k >= 0)
		return k == 1;
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev = 0, ino = 0;
	struct stat st;
	k = js != NULL && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
	    (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
	atomic_store(&known, k);
	return k == 1;
}

void log_msg(enum log_level level, const char *func, const char *fmt, ...)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};
	static const int priorities[] = {3, 4, 6, 7}; /* LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG */
	if ((int)level > atomic_load(&log_level))
		return;
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* one write per line so that concurrent threads do not interleave */
	if (to_journal())
		fprintf(stderr, "<%d>%s: %s: %s\n", priorities[level], names[level], func, line);
	else
		fprintf(stderr, "fount[%ld]: %s: %s: %s\n", (long)getpid(), names[level], func, line);
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

int hex_digit(int c)
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

err_t file_read_bounded(const char *path, uint8_t *out, size_t cap, size_t *out_len,
			unsigned *out_mode)
{
	err_t r = ERR_SYSTEM;
	struct stat st;
	size_t len = 0;

	*out_len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return ERR_IO;
	if (fstat(fd, &st) != 0)
		goto out;
	ENSURE_GOTO(S_ISREG(st.st_mode), ERR_INVALID_ARG);
	/* the size is checked before anything is read */
	ENSURE_GOTO(st.st_size >= 0 && (uint64_t)st.st_size <= cap, ERR_TOO_LARGE);
	for (;;) {
		/* one byte more than |cap| is asked for: a file that grew is seen */
		uint8_t extra;
		ssize_t n = len < cap ? read(fd, out + len, cap - len) : read(fd, &extra, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		ENSURE_GOTO(len < cap, ERR_TOO_LARGE);
		len += (size_t)n;
	}
	if (out_mode != NULL)
		*out_mode = (unsigned)(st.st_mode & 07777);
	*out_len = len;
	r = ERR_OK;
out:
	{
		int saved = errno; /* for the caller's message */
		close(fd);
		if (r != ERR_OK)
			secure_zero(out, len);
		errno = saved;
	}
	return r;
}

uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void strbuf_printf(struct strbuf *b, const char *fmt, ...)
{
	if (b->failed)
		return;
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		size_t room = b->cap - b->len;
		int n = vsnprintf(b->buf != NULL ? b->buf + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = true;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap != 0 ? b->cap * 2 : 16384;
		while (cap - b->len <= (size_t)n)
			cap *= 2;
		char *nb = realloc(b->buf, cap);
		if (nb == NULL) {
			b->failed = true;
			return;
		}
		b->buf = nb;
		b->cap = cap;
	}
}

void strbuf_free(struct strbuf *b)
{
	free(b->buf);
	memset(b, 0, sizeof *b);
}
