/* cli/common.c — helpers shared by the sub-commands. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "hsm/hsm.h"
#include "keygen/keygen.h"
#include "selftest/selftest.h"

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	/* NULL: the options before the command */
	fprintf(stderr, "fount%s%s: ", cmd ? " " : "", cmd ? cmd : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'fount%s%s --help')\n", cmd ? " " : "", cmd ? cmd : "");
	return EXIT_USAGE;
}

/* The option getopt_long stopped at. For a long option it advanced optind
 * past it, so argv[optind - 1] is "--name" (or "--name=value"); a short
 * option is optopt, which is 0 for an unknown long option. A short option
 * in the middle of a group ("-zx") does not advance optind: argv[optind - 1]
 * is then an earlier word, so it counts as the long option only if its name
 * is in |opts| with that val (or optopt is 0). See getopt(3). */
static bool long_option_at(char *const argv[], int argc, const struct option *opts,
			   char *name, size_t name_len)
{
	if (optind < 1 || optind > argc || argv[optind - 1] == NULL)
		return false;
	const char *w = argv[optind - 1];
	if (strncmp(w, "--", 2) != 0 || w[2] == '\0')
		return false;
	size_t n = strcspn(w + 2, "=");
	snprintf(name, name_len, "--%.*s", (int)n, w + 2);
	if (optopt == 0)
		return true;
	for (const struct option *o = opts; o != NULL && o->name != NULL; o++)
		if (strlen(o->name) == n && strncmp(o->name, w + 2, n) == 0 && o->val == optopt)
			return true;
	return false;
}

int cli_option_error(const char *cmd, int c, int argc, char *const argv[],
		     const struct option *opts)
{
	char name[64];
	if (long_option_at(argv, argc, opts, name, sizeof(name))) {
		if (optopt == 0)
			return cli_usage_error(cmd, "unknown option '%s'", name);
		if (c == ':')
			return cli_usage_error(cmd, "option '%s' requires an argument", name);
		return cli_usage_error(cmd, "option '%s' takes no argument", name);
	}
	if (c == ':')
		return cli_usage_error(cmd, "option '-%c' requires an argument", optopt);
	if (optopt > ' ' && optopt < 127)
		return cli_usage_error(cmd, "unknown option '-%c'", optopt);
	return cli_usage_error(cmd, "unknown option");
}

void cli_mlock_error(const char *what)
{
	char limit[32];
	memlock_limit_text(limit, sizeof(limit));
	fprintf(stderr, "fount: %s: cannot lock memory in RAM (mlock: RLIMIT_MEMLOCK is %s); "
		"raise the limit (ulimit -l, LimitMEMLOCK=infinity in a systemd unit) or set "
		"[security] mlock = off\n", what, limit);
}

struct store_options cli_store_options(const struct config *cfg, struct hsm *hsm)
{
	return (struct store_options){.path = cfg->store_path,
				      .kek = cfg->store_kek,
				      .hsm = hsm,
				      .url = cfg->store_url,
				      .password_file = cfg->store_password_file,
				      .timeout_ms = cfg->store_timeout_ms};
}

struct store *cli_store_open_existing(const struct config *cfg, struct hsm *hsm, const char *prog)
{
	/* a missing SQLite file is refused: opening it would make a new,
	 * empty store (and a new KEK file) and report it fine; on PostgreSQL
	 * the database is the server's, and store_open says when it is not
	 * there */
	if (cfg->store_url[0] == '\0' && access(cfg->store_path, F_OK) != 0) {
		fprintf(stderr, "%s: no key store at %s ([store] path)\n", prog, cfg->store_path);
		return NULL;
	}
	struct store *st = NULL;
	char why[512] = "";
	struct store_options so = cli_store_options(cfg, hsm);
	if (store_open(&so, &st, why, sizeof why) != ERR_OK) {
		fprintf(stderr, "%s: %s\n", prog, why);
		return NULL;
	}
	return st;
}

void cli_utc(time_t t, char *out, size_t len)
{
	struct tm tm;
	if (gmtime_r(&t, &tm) == NULL || strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, len, "?");
}

int cli_store_hsm(const struct config *cfg, const char *prog, struct hsm **out)
{
	*out = NULL;
	if (strncmp(cfg->store_kek, "hsm:", 4) != 0)
		return EXIT_OK;
	if (cfg->hsm[0].module[0] == '\0') {
		fprintf(stderr, "%s: kek = %s needs an HSM: set [hsm] module and token\n", prog, cfg->store_kek);
		return EXIT_FAIL;
	}
	err_t r = hsm_open(&cfg->hsm[0], out);
	if (r != ERR_OK) {
		fprintf(stderr, "%s: cannot open the HSM of [hsm] for the KEK: %s\n", prog, err_str(r));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

err_t cli_power_on(const struct config *cfg)
{
	struct selftest_result res[SELFTEST_MAX_RESULTS];
	size_t n = 0;
	return cli_power_on_results(cfg, res, ARRAY_SIZE(res), &n);
}

err_t cli_power_on_results(const struct config *cfg, struct selftest_result *res, size_t max, size_t *out_n)
{
	size_t n = 0;
	err_t r = selftest_power_on(cfg, res, max, &n);
	*out_n = n < max ? n : max;
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
	/* a digit first: strtoull would take " 5", "+5" and "-5" (as 2^64-5) */
	if (s == NULL || *s < '0' || *s > '9')
		return ERR_PARSE;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return ERR_TOO_LARGE; /* strtoull clamps to ULLONG_MAX */
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

/* ---- output files: util/file.c does the work, these print why ---------- */

int cli_create_file(const char *cmd, const char *path, unsigned mode)
{
	return cli_open_output(cmd, path, mode, 0);
}

int cli_open_output(const char *cmd, const char *path, unsigned mode, unsigned flags)
{
	int fd = outfile_open(path, mode, flags);
	if (fd >= 0)
		return fd;
	switch (errno) {
	case EEXIST:
		fprintf(stderr, "fount %s: cannot create %s: %s (remove it first; fount never "
			"overwrites)\n", cmd, path, strerror(EEXIST));
		break;
	case EISDIR:
		fprintf(stderr, "fount %s: cannot write to %s: it is a directory (name a file in "
			"it)\n", cmd, path);
		break;
	case ENOTSUP:
		fprintf(stderr, "fount %s: cannot write to %s: it exists and is not a regular file, "
			"a character device or a FIFO\n", cmd, path);
		break;
	default:
		fprintf(stderr, "fount %s: cannot create %s: %s\n", cmd, path, strerror(errno));
		break;
	}
	return -1;
}

bool cli_replace_file(const char *path, unsigned mode, const char *text, size_t len)
{
	int fd = outfile_open(path, mode, OUTFILE_REPLACE);
	if (fd < 0)
		return false;
	if (!cli_write_all(fd, text, len)) {
		int e = errno;
		outfile_abort(fd);
		errno = e;
		return false;
	}
	return outfile_commit(fd) == ERR_OK;
}

bool cli_write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

bool cli_finish_file(const char *path, int fd, bool ok)
{
	if (fd < 0)
		return ok;
	if (!ok) {
		outfile_abort(fd); /* nothing half-written is left behind */
		return false;
	}
	/* fsync, then the name: a key file that claims success is on disk */
	if (outfile_commit(fd) != ERR_OK) {
		fprintf(stderr, "fount: cannot finish %s: %s%s\n", path, strerror(errno),
			errno == EEXIST ? " (it appeared while fount was writing; fount never "
					  "overwrites)" : "");
		return false;
	}
	return true;
}

bool cli_output_dir(const char *cmd, const char *dir)
{
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "fount %s: cannot make %s: %s\n", cmd, dir, strerror(errno));
		return false;
	}
	struct stat st;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "fount %s: %s is not a folder\n", cmd, dir);
		return false;
	}
	return true;
}
