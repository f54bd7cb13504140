/* cli/common.c — helpers shared by the sub-commands. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "keygen/keygen.h"
#include "selftest/selftest.h"

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "fount %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'fount %s --help')\n", cmd);
	return EXIT_USAGE;
}

err_t cli_power_on(const struct config *cfg)
{
	struct selftest_result res[SELFTEST_MAX_RESULTS];
	size_t n = 0;
	err_t r = selftest_power_on(cfg, res, ARRAY_SIZE(res), &n);
	if (r == ERR_OK)
		return ERR_OK;
	for (size_t i = 0; i < n; i++) {
		if (res[i].r == ERR_OK)
			continue;
		if (keygen_init_error()[0] != '\0') {
			/* the provider: its message names the folder and the fix */
			fprintf(stderr, "fount: %s; refusing to run\n", keygen_init_error());
			return r;
		}
		fprintf(stderr, "fount: power-on self-test '%s' failed: %s%s%s; refusing to run\n",
			res[i].name, err_str(res[i].r), res[i].detail[0] ? " — " : "",
			res[i].detail);
		return r;
	}
	const char *cause = selftest_error_cause();
	fprintf(stderr, "fount: power-on self-tests failed (%s); refusing to run\n",
		cause ? cause : "unknown cause");
	return r;
}

err_t cli_parse_size(const char *s, uint64_t *out)
{
	char *end = NULL;
	if (s == NULL || *s < '0' || *s > '9')
		return ERR_PARSE;
	unsigned long long v = strtoull(s, &end, 10);
	unsigned shift = 0;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	default: return ERR_PARSE;
	}
	if (*end != '\0')
		return ERR_PARSE;
	if (v > (UINT64_MAX >> shift))
		return ERR_TOO_LARGE;
	*out = (uint64_t)v << shift;
	return ERR_OK;
}

void progress_start(struct progress *p, const char *label, uint64_t total)
{
	memset(p, 0, sizeof(*p));
	p->label = label;
	p->total = total;
	p->active = isatty(STDERR_FILENO) == 1 && total > 0;
}

static void progress_draw(struct progress *p)
{
	enum { WIDTH = 30 };
	unsigned pct = (unsigned)(p->total ? p->done * 100 / p->total : 100);
	unsigned fill = pct * WIDTH / 100;
	char bar[WIDTH + 1];
	memset(bar, '#', fill);
	memset(bar + fill, ' ', WIDTH - fill);
	bar[WIDTH] = '\0';
	fprintf(stderr, "\r%s [%s] %3u%% %llu/%llu", p->label, bar, pct,
		(unsigned long long)p->done, (unsigned long long)p->total);
	fflush(stderr);
}

void progress_update(struct progress *p, uint64_t done)
{
	p->done = done;
	if (!p->active)
		return;
	uint64_t now = now_ns();
	if (now - p->last_draw_ns < 100000000u) /* at most ten redraws a second */
		return;
	p->last_draw_ns = now;
	progress_draw(p);
}

void progress_finish(struct progress *p)
{
	if (!p->active)
		return;
	p->done = p->total;
	progress_draw(p);
	fputc('\n', stderr);
}
