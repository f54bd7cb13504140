/* tests/lib/promtext.c — support code (tested by tests/test_metrics.c):
 * the exposition-format checker of promtext.h, after
 * prometheus.io/docs/instrumenting/exposition_formats/ ("Text format
 * details") and prometheus.io/docs/practices/naming/. */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/promtext.h"

#define MAX_FAMILIES 512
#define MAX_SERIES 8192

struct family {
	char name[128], type[16];
	bool help, typed, sampled;
};

struct state {
	struct family fam[MAX_FAMILIES];
	size_t n_fam;
	char *series[MAX_SERIES];
	size_t n_series;
	/* the histogram series being read: its labels without le, last bucket */
	char hist_key[700];
	double hist_last;
	bool hist_inf;
	double hist_inf_value;
};

static bool fail(char *why, size_t n, int line, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(why, n, "line %d: %s", line, msg);
	return false;
}

static bool name_ok(const char *s, size_t n, bool label)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ok = isalpha((unsigned char)c) || c == '_' || (!label && c == ':') || (i > 0 && isdigit((unsigned char)c));
		if (!ok)
			return false;
	}
	return !(label && n >= 2 && s[0] == '_' && s[1] == '_');
}

static struct family *family_of(struct state *st, const char *name, bool create)
{
	for (size_t i = 0; i < st->n_fam; i++)
		if (strcmp(st->fam[i].name, name) == 0)
			return &st->fam[i];
	if (!create || st->n_fam == MAX_FAMILIES || strlen(name) >= sizeof st->fam[0].name)
		return NULL;
	struct family *f = &st->fam[st->n_fam++];
	memset(f, 0, sizeof *f);
	snprintf(f->name, sizeof f->name, "%s", name);
	return f;
}

/* family_for_sample maps a sample name to its family: a histogram's
 * _bucket/_sum/_count belong to the base name */
static struct family *family_for_sample(struct state *st, const char *name, const char **suffix)
{
	*suffix = "";
	struct family *f = family_of(st, name, false);
	if (f != NULL)
		return f;
	static const char *const sfx[] = {"_bucket", "_sum", "_count"};
	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(name), k = strlen(sfx[i]);
		if (n > k && strcmp(name + n - k, sfx[i]) == 0) {
			char base[128];
			if (n - k >= sizeof base)
				return NULL;
			memcpy(base, name, n - k);
			base[n - k] = '\0';
			f = family_of(st, base, false);
			if (f != NULL && (strcmp(f->type, "histogram") == 0 || strcmp(f->type, "summary") == 0)) {
				*suffix = sfx[i];
				return f;
			}
		}
	}
	return NULL;
}

static bool parse_value(const char *s, double *out)
{
	if (strcmp(s, "+Inf") == 0) {
		*out = INFINITY;
		return true;
	}
	if (strcmp(s, "-Inf") == 0) {
		*out = -INFINITY;
		return true;
	}
	if (strcmp(s, "NaN") == 0) {
		*out = NAN;
		return true;
	}
	char *end = NULL;
	*out = strtod(s, &end);
	return end != s && *end == '\0';
}

/* sample checks one sample line (NUL-terminated, no \n). */
static bool sample(struct state *st, char *line, int ln, char *why, size_t wn)
{
	size_t nl = strcspn(line, "{ ");
	if (!name_ok(line, nl, false))
		return fail(why, wn, ln, "bad metric name");
	char name[128];
	if (nl >= sizeof name)
		return fail(why, wn, ln, "name too long");
	memcpy(name, line, nl);
	name[nl] = '\0';
	const char *suffix;
	struct family *f = family_for_sample(st, name, &suffix);
	if (f == NULL || !f->typed)
		return fail(why, wn, ln, "sample %s before its # TYPE", name);
	f->sampled = true;
	char *p = line + nl;
	char labels[512] = "", le[256] = "";
	if (*p == '{') {
		p++;
		size_t lo = 0;
		bool first = true;
		while (*p != '}') {
			if (!first) {
				if (*p != ',')
					return fail(why, wn, ln, "labels not separated by ','");
				p++;
			}
			first = false;
			size_t ln2 = strcspn(p, "=");
			if (!name_ok(p, ln2, true) || p[ln2] != '=' || p[ln2 + 1] != '"')
				return fail(why, wn, ln, "bad label");
			char lname[64];
			snprintf(lname, sizeof lname, "%.*s", (int)ln2, p);
			p += ln2 + 2;
			char val[256];
			size_t v = 0;
			while (*p != '"') {
				if (*p == '\0' || *p == '\n')
					return fail(why, wn, ln, "unterminated label value");
				if (*p == '\\') {
					if (p[1] != '\\' && p[1] != '"' && p[1] != 'n')
						return fail(why, wn, ln, "bad escape in a label value");
					p++;
				}
				if (v + 1 < sizeof val)
					val[v++] = *p;
				p++;
			}
			val[v] = '\0';
			p++;
			if (strcmp(lname, "le") == 0 && strcmp(suffix, "_bucket") == 0)
				snprintf(le, sizeof le, "%s", val);
			else
				lo += (size_t)snprintf(labels + lo, sizeof labels - lo, "%s=%s;", lname, val);
			if (lo >= sizeof labels)
				return fail(why, wn, ln, "too many labels");
		}
		p++;
	}
	if (*p != ' ')
		return fail(why, wn, ln, "no space before the value");
	p++;
	char *ts = strchr(p, ' ');
	if (ts != NULL)
		*ts = '\0'; /* a timestamp: fount sends none, but it is allowed */
	double value;
	if (!parse_value(p, &value))
		return fail(why, wn, ln, "bad value '%s'", p);
	/* no series twice */
	char key[1100];
	snprintf(key, sizeof key, "%s|%s|%s", name, labels, le);
	for (size_t i = 0; i < st->n_series; i++)
		if (strcmp(st->series[i], key) == 0)
			return fail(why, wn, ln, "series %s twice", name);
	if (st->n_series == MAX_SERIES)
		return fail(why, wn, ln, "too many series");
	st->series[st->n_series++] = strdup(key);
	if (strcmp(f->type, "counter") == 0 && value < 0)
		return fail(why, wn, ln, "negative counter");
	if (strcmp(f->type, "histogram") == 0) {
		char hk[700];
		snprintf(hk, sizeof hk, "%s|%s", f->name, labels);
		if (strcmp(suffix, "_bucket") == 0) {
			if (le[0] == '\0')
				return fail(why, wn, ln, "a bucket without le");
			if (strcmp(hk, st->hist_key) != 0) {
				snprintf(st->hist_key, sizeof st->hist_key, "%s", hk);
				st->hist_last = 0;
				st->hist_inf = false;
			} else if (st->hist_inf) {
				return fail(why, wn, ln, "a bucket after le=\"+Inf\"");
			}
			if (value < st->hist_last)
				return fail(why, wn, ln, "buckets not cumulative");
			st->hist_last = value;
			if (strcmp(le, "+Inf") == 0) {
				st->hist_inf = true;
				st->hist_inf_value = value;
			}
		} else if (strcmp(suffix, "_count") == 0) {
			if (strcmp(hk, st->hist_key) != 0 || !st->hist_inf)
				return fail(why, wn, ln, "_count without buckets ending in le=\"+Inf\"");
			if (value != st->hist_inf_value)
				return fail(why, wn, ln, "_count differs from the +Inf bucket");
		} else if (suffix[0] == '\0') {
			return fail(why, wn, ln, "a histogram sample that is not _bucket, _sum or _count");
		}
	}
	return true;
}

bool promtext_check(const char *text, char *why, size_t why_len)
{
	struct state *st = calloc(1, sizeof *st);
	if (st == NULL)
		return fail(why, why_len, 0, "out of memory");
	bool ok = true;
	size_t len = strlen(text);
	if (len == 0 || text[len - 1] != '\n')
		ok = fail(why, why_len, 0, "the text does not end in a newline");
	int ln = 0;
	for (const char *p = text; ok && *p != '\0';) {
		const char *e = strchr(p, '\n');
		if (e == NULL)
			break;
		ln++;
		char line[2048];
		size_t n = (size_t)(e - p);
		if (n >= sizeof line) {
			ok = fail(why, why_len, ln, "line too long");
			break;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		p = e + 1;
		if (n == 0)
			continue;
		if (strncmp(line, "# HELP ", 7) == 0 || strncmp(line, "# TYPE ", 7) == 0) {
			bool help = line[2] == 'H';
			char *nm = line + 7, *sp = strchr(nm, ' ');
			if (sp == NULL) {
				ok = fail(why, why_len, ln, "# %s without text", help ? "HELP" : "TYPE");
				break;
			}
			*sp = '\0';
			if (!name_ok(nm, strlen(nm), false)) {
				ok = fail(why, why_len, ln, "bad metric name in a comment");
				break;
			}
			struct family *f = family_of(st, nm, true);
			if (f == NULL || f->sampled) {
				ok = fail(why, why_len, ln, "# %s of %s after its samples", help ? "HELP" : "TYPE", nm);
				break;
			}
			if (help) {
				if (f->help)
					ok = fail(why, why_len, ln, "second # HELP of %s", nm);
				f->help = true;
			} else {
				const char *t = sp + 1;
				if (f->typed)
					ok = fail(why, why_len, ln, "second # TYPE of %s", nm);
				else if (strcmp(t, "counter") && strcmp(t, "gauge") && strcmp(t, "histogram") &&
					 strcmp(t, "summary") && strcmp(t, "untyped"))
					ok = fail(why, why_len, ln, "unknown type %s", t);
				else if (strcmp(t, "counter") == 0 &&
					 (strlen(nm) < 6 || strcmp(nm + strlen(nm) - 6, "_total") != 0))
					ok = fail(why, why_len, ln, "counter %s does not end in _total", nm);
				snprintf(f->type, sizeof f->type, "%s", t);
				f->typed = true;
			}
			continue;
		}
		if (line[0] == '#')
			continue; /* another comment */
		ok = sample(st, line, ln, why, why_len);
	}
	for (size_t i = 0; i < st->n_series; i++)
		free(st->series[i]);
	free(st);
	return ok;
}

bool promtext_value(const char *text, const char *series, double *out)
{
	size_t n = strlen(series);
	for (const char *p = text; p != NULL && *p != '\0';) {
		if (strncmp(p, series, n) == 0 && p[n] == ' ') {
			char *end = NULL;
			*out = strtod(p + n + 1, &end);
			return end != p + n + 1;
		}
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return false;
}
