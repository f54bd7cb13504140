/* tests/lib/kmip_xml.c — support code (tested by tests/test_kmip_xml.c):
 * the OASIS test cases' XML form to TTLV, and the
 * comparator of a server's response with the expected one (see
 * kmip_xml.h). The mapping is tests/vectors/kmip/README.md, "How the XML
 * maps onto TTLV" (KMIP Additional Message Encodings v1.0 §6; KMIP 1.4
 * §9.1 for the TTLV side). */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/kmip.h"
#include "tests/lib/kmip_xml.h"

/* ---- tables ------------------------------------------------------------ */

struct tag_row {
	uint32_t tag;
	char xml[64];
};
struct enum_row {
	char enumeration[48]; /* normalised: letters and digits, lower case */
	uint32_t value;
	char xml[72];
};

static struct tag_row *tags;
static size_t n_tags;
static struct enum_row *enums;
static size_t n_enums;

static void fmt(char *why, size_t n, const char *f, ...) PRINTF_LIKE(3, 4);
static void fmt(char *why, size_t n, const char *f, ...)
{
	if (why == NULL || n == 0)
		return;
	va_list ap;
	va_start(ap, f);
	vsnprintf(why, n, f, ap);
	va_end(ap);
}

/* norm copies |s| keeping letters and digits, lower-cased: "Result Reason"
 * and "ResultReason" both become "resultreason". */
static void norm(const char *s, char *out, size_t n)
{
	size_t k = 0;
	for (; *s != '\0' && k + 1 < n; s++)
		if (isalnum((unsigned char)*s))
			out[k++] = (char)tolower((unsigned char)*s);
	out[k] = '\0';
}

/* split_tabs cuts |line| at tabs into at most |max| fields */
static size_t split_tabs(char *line, char **f, size_t max)
{
	size_t n = 0;
	line[strcspn(line, "\r\n")] = '\0';
	while (n < max) {
		f[n++] = line;
		char *t = strchr(line, '\t');
		if (t == NULL)
			break;
		*t = '\0';
		line = t + 1;
	}
	return n;
}

int kx_tables_load(const char *tags_tsv, const char *enums_tsv, char *why, size_t why_len)
{
	if (tags != NULL && enums != NULL)
		return 0;
	FILE *ft = fopen(tags_tsv, "r"), *fe = fopen(enums_tsv, "r");
	if (ft == NULL || fe == NULL) {
		fmt(why, why_len, "cannot open %s: %s", ft == NULL ? tags_tsv : enums_tsv, strerror(errno));
		if (ft)
			fclose(ft);
		if (fe)
			fclose(fe);
		return -1;
	}
	char line[512];
	char *f[6];
	size_t cap = 0;
	while (fgets(line, sizeof line, ft) != NULL) {
		if (line[0] != '0' || split_tabs(line, f, 6) < 2)
			continue; /* comments and the column header */
		if (n_tags == cap) {
			cap = cap ? 2 * cap : 512;
			struct tag_row *p = realloc(tags, cap * sizeof *p);
			if (p == NULL)
				break;
			tags = p;
		}
		tags[n_tags].tag = (uint32_t)strtoul(f[0], NULL, 16);
		snprintf(tags[n_tags].xml, sizeof tags[n_tags].xml, "%s", f[1]);
		n_tags++;
	}
	cap = 0;
	while (fgets(line, sizeof line, fe) != NULL) {
		if (!isdigit((unsigned char)line[0]) || split_tabs(line, f, 6) < 4)
			continue;
		if (n_enums == cap) {
			cap = cap ? 2 * cap : 1024;
			struct enum_row *p = realloc(enums, cap * sizeof *p);
			if (p == NULL)
				break;
			enums = p;
		}
		norm(f[1], enums[n_enums].enumeration, sizeof enums[n_enums].enumeration);
		enums[n_enums].value = (uint32_t)strtoul(f[2], NULL, 16);
		snprintf(enums[n_enums].xml, sizeof enums[n_enums].xml, "%s", f[3]);
		n_enums++;
	}
	fclose(ft);
	fclose(fe);
	if (n_tags < 200 || n_enums < 500) {
		fmt(why, why_len, "the tables are short: %zu tags, %zu enumeration values", n_tags, n_enums);
		return -1;
	}
	return 0;
}

uint32_t kx_tag(const char *xml_name)
{
	for (size_t i = 0; i < n_tags; i++)
		if (strcmp(tags[i].xml, xml_name) == 0)
			return tags[i].tag;
	return 0;
}

const char *kx_tag_xml(uint32_t tag)
{
	for (size_t i = 0; i < n_tags; i++)
		if (tags[i].tag == tag)
			return tags[i].xml;
	return NULL;
}

int kx_enum(const char *enumeration, const char *name, uint32_t *out)
{
	char e[48];
	norm(enumeration, e, sizeof e);
	for (size_t i = 0; i < n_enums; i++)
		if (strcmp(enums[i].enumeration, e) == 0 && strcasecmp(enums[i].xml, name) == 0) {
			*out = enums[i].value;
			return 0;
		}
	return -1;
}

const char *kx_enum_name(const char *enumeration, uint32_t v)
{
	char e[48];
	norm(enumeration, e, sizeof e);
	for (size_t i = 0; i < n_enums; i++)
		if (enums[i].value == v && strcmp(enums[i].enumeration, e) == 0)
			return enums[i].xml;
	return NULL;
}

/* ---- the XML subset ------------------------------------------------------ */

struct px {
	const char *s, *end;
	int line;
	char *why;
	size_t wl;
};

static void node_free(struct kx_node *n)
{
	while (n != NULL) {
		struct kx_node *next = n->next;
		node_free(n->child);
		free(n->name);
		free(n->value);
		free(n);
		n = next;
	}
}

void kx_case_free(struct kx_case *c)
{
	node_free(c->all);
	memset(c, 0, sizeof *c);
}

static void adv(struct px *p, size_t n)
{
	for (size_t i = 0; i < n && p->s < p->end; i++, p->s++)
		if (*p->s == '\n')
			p->line++;
}

static bool at(const struct px *p, const char *lit)
{
	size_t n = strlen(lit);
	return (size_t)(p->end - p->s) >= n && memcmp(p->s, lit, n) == 0;
}

/* skip_misc skips white space, text, comments and <? ?> until the next
 * element tag or end tag */
static int skip_misc(struct px *p)
{
	while (p->s < p->end) {
		if (at(p, "<!--")) {
			const char *e = p->s + 4;
			while (e + 3 <= p->end && memcmp(e, "-->", 3) != 0)
				e++;
			if (e + 3 > p->end) {
				fmt(p->why, p->wl, "line %d: unterminated comment", p->line);
				return -1;
			}
			adv(p, (size_t)(e + 3 - p->s));
		} else if (at(p, "<?")) {
			const char *e = p->s + 2;
			while (e + 2 <= p->end && memcmp(e, "?>", 2) != 0)
				e++;
			if (e + 2 > p->end) {
				fmt(p->why, p->wl, "line %d: unterminated <?", p->line);
				return -1;
			}
			adv(p, (size_t)(e + 2 - p->s));
		} else if (*p->s == '<') {
			return 0;
		} else {
			adv(p, 1);
		}
	}
	return 0;
}

static bool name_char(char ch)
{
	return isalnum((unsigned char)ch) || ch == '_' || ch == '-' || ch == '.' || ch == ':';
}

static char *read_name(struct px *p)
{
	const char *b = p->s;
	while (p->s < p->end && name_char(*p->s))
		p->s++;
	if (p->s == b)
		return NULL;
	return strndup(b, (size_t)(p->s - b));
}

static void skip_ws(struct px *p)
{
	while (p->s < p->end && isspace((unsigned char)*p->s))
		adv(p, 1);
}

/* unescape decodes the five predefined XML entities in place */
static int unescape(char *s)
{
	static const struct {
		const char *ent;
		char ch;
	} tab[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
	char *w = s;
	for (const char *r = s; *r != '\0';) {
		if (*r != '&') {
			*w++ = *r++;
			continue;
		}
		size_t i = 0;
		for (; i < ARRAY_SIZE(tab); i++)
			if (strncmp(r, tab[i].ent, strlen(tab[i].ent)) == 0)
				break;
		if (i == ARRAY_SIZE(tab))
			return -1;
		*w++ = tab[i].ch;
		r += strlen(tab[i].ent);
	}
	*w = '\0';
	return 0;
}

static int type_code(const char *t, uint8_t *out)
{
	static const struct {
		const char *name;
		uint8_t type;
	} tab[] = {{"Structure", TTLV_STRUCTURE}, {"Integer", TTLV_INTEGER},   {"LongInteger", TTLV_LONG},
		   {"BigInteger", TTLV_BIGINT},   {"Enumeration", TTLV_ENUM},  {"Boolean", TTLV_BOOL},
		   {"TextString", TTLV_TEXT},     {"ByteString", TTLV_BYTES},  {"DateTime", TTLV_DATETIME},
		   {"Interval", TTLV_INTERVAL}};
	for (size_t i = 0; i < ARRAY_SIZE(tab); i++)
		if (strcmp(t, tab[i].name) == 0) {
			*out = tab[i].type;
			return 0;
		}
	return -1;
}

static int parse_element(struct px *p, struct kx_node *parent, struct kx_node **out, int depth);

static int parse_content(struct px *p, struct kx_node *n, int depth)
{
	struct kx_node **tail = &n->child;
	for (;;) {
		if (skip_misc(p) != 0)
			return -1;
		if (p->s >= p->end) {
			fmt(p->why, p->wl, "line %d: <%s> is not closed", n->line, n->name);
			return -1;
		}
		if (at(p, "</")) {
			adv(p, 2);
			char *nm = read_name(p);
			skip_ws(p);
			bool ok = nm != NULL && strcmp(nm, n->name) == 0 && p->s < p->end && *p->s == '>';
			free(nm);
			if (!ok) {
				fmt(p->why, p->wl, "line %d: bad end tag for <%s>", p->line, n->name);
				return -1;
			}
			adv(p, 1);
			return 0;
		}
		struct kx_node *c = NULL;
		int rc = parse_element(p, n, &c, depth + 1);
		if (c != NULL) { /* linked even when it failed, so it is freed */
			*tail = c;
			tail = &c->next;
		}
		if (rc != 0)
			return -1;
	}
}

static int parse_element(struct px *p, struct kx_node *parent, struct kx_node **out, int depth)
{
	if (depth > TTLV_MAX_DEPTH) {
		fmt(p->why, p->wl, "line %d: nested too deep", p->line);
		return -1;
	}
	if (p->s >= p->end || *p->s != '<') {
		fmt(p->why, p->wl, "line %d: expected an element", p->line);
		return -1;
	}
	adv(p, 1);
	struct kx_node *n = calloc(1, sizeof *n);
	if (n == NULL) {
		fmt(p->why, p->wl, "out of memory");
		return -1;
	}
	n->parent = parent;
	n->line = p->line;
	n->type = TTLV_STRUCTURE;
	*out = n; /* the caller links it, so a failure below still frees it */
	n->name = read_name(p);
	if (n->name == NULL) {
		fmt(p->why, p->wl, "line %d: expected an element name", p->line);
		return -1;
	}
	char *type = NULL, *tag = NULL;
	int rc = -1;
	for (;;) {
		skip_ws(p);
		if (at(p, "/>")) {
			adv(p, 2);
			rc = 0;
			break;
		}
		if (at(p, ">")) {
			adv(p, 1);
			rc = 1;
			break;
		}
		char *an = read_name(p);
		skip_ws(p);
		if (an == NULL || p->s >= p->end || *p->s != '=') {
			free(an);
			fmt(p->why, p->wl, "line %d: bad attribute in <%s>", p->line, n->name);
			goto out;
		}
		adv(p, 1);
		skip_ws(p);
		char q = p->s < p->end ? *p->s : 0;
		const char *e = q == '"' || q == '\'' ? memchr(p->s + 1, q, (size_t)(p->end - p->s - 1)) : NULL;
		if (e == NULL) {
			free(an);
			fmt(p->why, p->wl, "line %d: unquoted attribute in <%s>", p->line, n->name);
			goto out;
		}
		char *val = strndup(p->s + 1, (size_t)(e - p->s - 1));
		adv(p, (size_t)(e + 1 - p->s));
		if (val == NULL || unescape(val) != 0) {
			free(an);
			free(val);
			fmt(p->why, p->wl, "line %d: bad entity in <%s>", p->line, n->name);
			goto out;
		}
		char **slot = strcmp(an, "type") == 0 ? &type : strcmp(an, "value") == 0 ? &n->value
			      : strcmp(an, "tag") == 0	  ? &tag
							  : NULL;
		free(an);
		if (slot == NULL) {
			free(val);
			continue; /* other attributes carry nothing for TTLV */
		}
		free(*slot);
		*slot = val;
	}
	if (type != NULL && type_code(type, &n->type) != 0) {
		fmt(p->why, p->wl, "line %d: unknown type \"%s\"", n->line, type);
		rc = -1;
		goto out;
	}
	if (strcmp(n->name, "TTLV") == 0)
		n->tag = tag != NULL ? (uint32_t)strtoul(tag, NULL, 16) : 0;
	else
		n->tag = kx_tag(n->name);
	if (n->tag == 0 && strcmp(n->name, "KMIP") != 0) {
		fmt(p->why, p->wl, "line %d: unknown element <%s>", n->line, n->name);
		rc = -1;
		goto out;
	}
	if (n->type != TTLV_STRUCTURE && n->value == NULL) {
		fmt(p->why, p->wl, "line %d: <%s> has a type and no value", n->line, n->name);
		rc = -1;
		goto out;
	}
	if (rc == 1)
		rc = parse_content(p, n, depth);
out:
	free(type);
	free(tag);
	return rc;
}

int kx_parse(const char *path, struct kx_case *c, char *why, size_t why_len)
{
	memset(c, 0, sizeof *c);
	const char *base = strrchr(path, '/');
	base = base != NULL ? base + 1 : path;
	snprintf(c->name, sizeof c->name, "%.*s", (int)strcspn(base, "."), base);
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		fmt(why, why_len, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	char *text = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len + 4096 > cap) {
			cap = cap ? 2 * cap : 65536;
			char *t = realloc(text, cap);
			if (t == NULL || cap > (16u << 20)) {
				free(t == NULL ? text : t);
				fclose(f);
				fmt(why, why_len, "%s: too large", path);
				return -1;
			}
			text = t;
		}
		size_t k = fread(text + len, 1, cap - len, f);
		len += k;
		if (k == 0)
			break;
	}
	fclose(f);
	char name[64];
	memcpy(name, c->name, sizeof name);
	int rc = kx_parse_text(text, len, name, c, why, why_len);
	free(text);
	return rc;
}

int kx_parse_text(const char *text, size_t len, const char *name, struct kx_case *c, char *why, size_t why_len)
{
	memset(c, 0, sizeof *c);
	snprintf(c->name, sizeof c->name, "%s", name);
	struct px p = {.s = text, .end = text + len, .line = 1, .why = why, .wl = why_len};
	int rc = skip_misc(&p);
	if (rc == 0)
		rc = parse_element(&p, NULL, &c->all, 0);
	if (rc == 0 && skip_misc(&p) == 0 && p.s != p.end) {
		fmt(why, why_len, "line %d: more than one top element", p.line);
		rc = -1;
	}
	if (rc != 0) {
		kx_case_free(c);
		return -1;
	}
	struct kx_node *m = strcmp(c->all->name, "KMIP") == 0 ? c->all->child : c->all;
	for (; m != NULL; m = m == c->all ? NULL : m->next) {
		if (m->tag != KMIP_TAG_REQUEST_MESSAGE && m->tag != KMIP_TAG_RESPONSE_MESSAGE) {
			fmt(why, why_len, "line %d: <%s> is not a message", m->line, m->name);
			kx_case_free(c);
			return -1;
		}
		if (c->n_msgs == KX_MAX_MSGS) {
			fmt(why, why_len, "more than %d messages", KX_MAX_MSGS);
			kx_case_free(c);
			return -1;
		}
		c->msg[c->n_msgs++] = m;
	}
	return 0;
}

bool kx_is_request(const struct kx_node *msg)
{
	return msg->tag == KMIP_TAG_REQUEST_MESSAGE;
}

/* ---- values ---------------------------------------------------------------- */

static const struct kx_node *child(const struct kx_node *n, uint32_t tag)
{
	for (const struct kx_node *c = n != NULL ? n->child : NULL; c != NULL; c = c->next)
		if (c->tag == tag)
			return c;
	return NULL;
}

/* the enumeration an element's value= names: its own name, or for an
 * Attribute Value, its Attribute Name (KMIP 1.4 §2.1.1) */
static const char *enum_of(const struct kx_node *n)
{
	if (n->tag == KMIP_TAG_ATTRIBUTE_VALUE && n->parent != NULL) {
		const struct kx_node *an = child(n->parent, KMIP_TAG_ATTRIBUTE_NAME);
		if (an != NULL && an->value != NULL)
			return an->value;
	}
	return n->name;
}

static bool is_mask(const struct kx_node *n)
{
	char e[48];
	norm(enum_of(n), e, sizeof e);
	return strcmp(e, "cryptographicusagemask") == 0 || strcmp(e, "storagestatusmask") == 0;
}

static int parse_u32(const char *s, uint32_t *out)
{
	char *end = NULL;
	errno = 0;
	unsigned long long v = strncmp(s, "0x", 2) == 0 ? strtoull(s + 2, &end, 16) : strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int int_value(const struct kx_node *n, uint32_t *out, char *why, size_t wl)
{
	if (n->value[0] == '-' && !is_mask(n)) {
		char *end = NULL;
		long v = strtol(n->value, &end, 10);
		if (*end != '\0' || v < INT32_MIN) {
			fmt(why, wl, "line %d: bad Integer \"%s\"", n->line, n->value);
			return -1;
		}
		*out = (uint32_t)(int32_t)v;
		return 0;
	}
	if (parse_u32(n->value, out) == 0)
		return 0;
	if (!is_mask(n)) {
		fmt(why, wl, "line %d: bad Integer \"%s\"", n->line, n->value);
		return -1;
	}
	/* a mask: names and hex, separated by spaces (README, "Masks") */
	uint32_t m = 0;
	char buf[512];
	snprintf(buf, sizeof buf, "%s", n->value);
	char *save = NULL;
	for (char *t = strtok_r(buf, " |", &save); t != NULL; t = strtok_r(NULL, " |", &save)) {
		uint32_t bit = 0;
		if (parse_u32(t, &bit) != 0 && kx_enum(enum_of(n), t, &bit) != 0) {
			fmt(why, wl, "line %d: unknown mask bit \"%s\"", n->line, t);
			return -1;
		}
		m |= bit;
	}
	*out = m;
	return 0;
}

static int enum_value(const struct kx_node *n, uint32_t *out, char *why, size_t wl)
{
	if (parse_u32(n->value, out) == 0 && strncmp(n->value, "0x", 2) == 0)
		return 0;
	if (kx_enum(enum_of(n), n->value, out) == 0)
		return 0;
	fmt(why, wl, "line %d: \"%s\" is not a value of %s", n->line, n->value, enum_of(n));
	return -1;
}

/* days_from_civil: days since 1970-01-01 of a proleptic Gregorian date */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int datetime_value(const struct kx_node *n, const struct kx_vars *v, int64_t *out, char *why,
			  size_t wl)
{
	if (strcmp(n->value, "$NOW") == 0) {
		*out = v != NULL ? v->now : 0;
		return 0;
	}
	if (strncmp(n->value, "0x", 2) == 0) {
		*out = (int64_t)strtoull(n->value + 2, NULL, 16);
		return 0;
	}
	int y, mo, d, h, mi, s, k = 0;
	if (sscanf(n->value, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &k) != 6 || mo < 1 ||
	    mo > 12 || d < 1 || d > 31) {
		fmt(why, wl, "line %d: bad DateTime \"%s\"", n->line, n->value);
		return -1;
	}
	const char *z = n->value + k;
	if (*z == '.')
		for (z++; isdigit((unsigned char)*z); z++)
			;
	int off = 0;
	if (*z == '+' || *z == '-') {
		int oh, om;
		if (sscanf(z + 1, "%2d:%2d", &oh, &om) != 2) {
			fmt(why, wl, "line %d: bad offset in \"%s\"", n->line, n->value);
			return -1;
		}
		off = (oh * 60 + om) * 60 * (*z == '-' ? -1 : 1);
	} else if (*z != 'Z' && *z != '\0') {
		fmt(why, wl, "line %d: bad DateTime \"%s\"", n->line, n->value);
		return -1;
	}
	*out = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + s - off;
	return 0;
}

/* hex_value decodes value= (optionally 0x-prefixed) into malloc'd bytes */
static uint8_t *hex_value(const struct kx_node *n, size_t *len, char *why, size_t wl)
{
	const char *h = n->value;
	if (strncmp(h, "0x", 2) == 0)
		h += 2;
	size_t l = strlen(h);
	uint8_t *b = malloc(l / 2 + 1);
	if (b == NULL || l % 2 != 0) {
		free(b);
		fmt(why, wl, "line %d: odd hex in <%s>", n->line, n->name);
		return NULL;
	}
	for (size_t i = 0; i < l / 2; i++) {
		unsigned x;
		if (!isxdigit((unsigned char)h[2 * i]) || !isxdigit((unsigned char)h[2 * i + 1]) ||
		    sscanf(h + 2 * i, "%2x", &x) != 1) {
			free(b);
			fmt(why, wl, "line %d: bad hex in <%s>", n->line, n->name);
			return NULL;
		}
		b[i] = (uint8_t)x;
	}
	*len = l / 2;
	return b;
}

/* uid_var returns n for "$UNIQUE_IDENTIFIER_n", else -1 */
static int uid_var(const char *s)
{
	static const char pre[] = "$UNIQUE_IDENTIFIER_";
	if (strncmp(s, pre, sizeof pre - 1) != 0)
		return -1;
	char *end = NULL;
	long k = strtol(s + sizeof pre - 1, &end, 10);
	return *end == '\0' && k >= 0 && k < KX_MAX_UIDS ? (int)k : -1;
}

static int enc_node(const struct kx_node *n, const struct kx_vars *v, struct ttlv_enc *e, char *why,
		    size_t wl)
{
	uint32_t u = 0;
	switch ((enum ttlv_type)n->type) {
	case TTLV_STRUCTURE:
		ttlv_enc_begin(e, n->tag);
		for (const struct kx_node *c = n->child; c != NULL; c = c->next)
			if (enc_node(c, v, e, why, wl) != 0)
				return -1;
		ttlv_enc_end(e);
		return 0;
	case TTLV_INTEGER:
		if (int_value(n, &u, why, wl) != 0)
			return -1;
		ttlv_enc_int(e, n->tag, (int32_t)u);
		return 0;
	case TTLV_INTERVAL:
		if (parse_u32(n->value, &u) != 0) {
			fmt(why, wl, "line %d: bad Interval", n->line);
			return -1;
		}
		ttlv_enc_interval(e, n->tag, u);
		return 0;
	case TTLV_ENUM:
		if (enum_value(n, &u, why, wl) != 0)
			return -1;
		ttlv_enc_enum(e, n->tag, u);
		return 0;
	case TTLV_LONG: {
		char *end = NULL;
		long long x = strncmp(n->value, "0x", 2) == 0 ? (long long)strtoull(n->value + 2, &end, 16)
							      : strtoll(n->value, &end, 10);
		if (*end != '\0') {
			fmt(why, wl, "line %d: bad LongInteger", n->line);
			return -1;
		}
		ttlv_enc_long(e, n->tag, (int64_t)x);
		return 0;
	}
	case TTLV_BOOL:
		if (strcmp(n->value, "true") != 0 && strcmp(n->value, "false") != 0 &&
		    strcmp(n->value, "1") != 0 && strcmp(n->value, "0") != 0) {
			fmt(why, wl, "line %d: bad Boolean", n->line);
			return -1;
		}
		ttlv_enc_bool(e, n->tag, n->value[0] == 't' || n->value[0] == '1');
		return 0;
	case TTLV_DATETIME: {
		int64_t t = 0;
		if (datetime_value(n, v, &t, why, wl) != 0)
			return -1;
		ttlv_enc_datetime(e, n->tag, t);
		return 0;
	}
	case TTLV_TEXT: {
		int k = uid_var(n->value);
		if (k < 0) {
			ttlv_enc_cstr(e, n->tag, n->value);
			return 0;
		}
		if (v == NULL || !v->have_uid[k]) {
			fmt(why, wl, "line %d: %s was not returned earlier", n->line, n->value);
			return -1;
		}
		ttlv_enc_cstr(e, n->tag, v->uid[k]);
		return 0;
	}
	case TTLV_BYTES: {
		size_t l = 0;
		uint8_t *b = hex_value(n, &l, why, wl);
		if (b == NULL)
			return -1;
		ttlv_enc_bytes(e, n->tag, b, l);
		free(b);
		return 0;
	}
	case TTLV_BIGINT: {
		/* two's complement, sign-extended on the left to a multiple of 8
		 * bytes; the padding is part of the length (KMIP 1.4 §9.1.1.4) */
		size_t l = 0;
		uint8_t *b = hex_value(n, &l, why, wl);
		if (b == NULL)
			return -1;
		size_t full = l == 0 ? 8 : (l + 7) / 8 * 8;
		uint8_t fill = l > 0 && (b[0] & 0x80) ? 0xFF : 0x00;
		uint8_t hdr[8] = {(uint8_t)(n->tag >> 16), (uint8_t)(n->tag >> 8), (uint8_t)n->tag, TTLV_BIGINT,
				  (uint8_t)(full >> 24), (uint8_t)(full >> 16), (uint8_t)(full >> 8), (uint8_t)full};
		ttlv_enc_raw(e, hdr, sizeof hdr);
		for (size_t i = l; i < full; i++)
			ttlv_enc_raw(e, &fill, 1);
		ttlv_enc_raw(e, b, l);
		free(b);
		return 0;
	}
	default:
		break;
	}
	fmt(why, wl, "line %d: <%s> has an unknown type", n->line, n->name);
	return -1;
}

int kx_encode(const struct kx_node *msg, const struct kx_vars *v, struct ttlv_enc *e, char *why, size_t why_len)
{
	if (enc_node(msg, v, e, why, why_len) != 0)
		return -1;
	if (ttlv_enc_finish(e) != ERR_OK) {
		fmt(why, why_len, "the encoder failed");
		return -1;
	}
	return 0;
}

/* ---- the comparator ----------------------------------------------------- */

struct cmp {
	struct kx_vars *v;
	bool dv_listed_none; /* a Discover Versions request listed no version */
	char *why;
	size_t wl;
};

static const struct ttlv_item *gchild(const struct ttlv_item *s, uint32_t tag)
{
	return s != NULL && s->type == TTLV_STRUCTURE ? ttlv_find(s, tag) : NULL;
}

static const char *tname(uint32_t tag, char buf[16])
{
	const char *x = kx_tag_xml(tag);
	if (x != NULL)
		return x;
	snprintf(buf, 16, "0x%06" PRIx32, tag);
	return buf;
}

/* the operation of the batch item |n| is inside */
static uint32_t item_operation(const struct kx_node *n)
{
	for (; n != NULL; n = n->parent)
		if (n->tag == KMIP_TAG_BATCH_ITEM) {
			const struct kx_node *op = child(n, KMIP_TAG_OPERATION);
			uint32_t u = 0;
			if (op != NULL && op->value != NULL && enum_value(op, &u, NULL, 0) == 0)
				return u;
			return 0;
		}
	return 0;
}

static bool cmp_node(const struct kx_node *w, const struct ttlv_item *g, struct cmp *c, const char *path);

static bool skippable(const struct kx_node *parent, const struct ttlv_item *g, const struct cmp *c)
{
	if (g->tag == KMIP_TAG_RESULT_MESSAGE && parent->tag == KMIP_TAG_BATCH_ITEM)
		return true;
	if (parent->tag != KMIP_TAG_RESPONSE_PAYLOAD)
		return false;
	if (g->tag == KMIP_TAG_ATTRIBUTE)
		return true;
	return g->tag == KMIP_TAG_PROTOCOL_VERSION && c->dv_listed_none &&
	       item_operation(parent) == KMIP_OPERATION_DISCOVER_VERSIONS;
}

/* same_attribute_name_w: two expected Attributes of one name */
static bool same_attribute_name_w(const struct kx_node *a, const struct kx_node *b)
{
	const struct kx_node *an = child(a, KMIP_TAG_ATTRIBUTE_NAME);
	const struct kx_node *bn = child(b, KMIP_TAG_ATTRIBUTE_NAME);
	return an != NULL && bn != NULL && an->value != NULL && bn->value != NULL && strcmp(an->value, bn->value) == 0;
}

static bool same_attribute_name(const struct kx_node *w, const struct ttlv_item *g)
{
	const struct kx_node *wn = child(w, KMIP_TAG_ATTRIBUTE_NAME);
	const struct ttlv_item *gn = gchild(g, KMIP_TAG_ATTRIBUTE_NAME);
	return wn != NULL && gn != NULL && gn->type == TTLV_TEXT && wn->value != NULL &&
	       strlen(wn->value) == gn->len && memcmp(wn->value, gn->val, gn->len) == 0;
}

/* cmp_attribute_by_name compares the expected Attribute |wc| of payload
 * |w| with the got Attribute of |g| of the same name and rank among
 * those of that name */
static bool cmp_attribute_by_name(const struct kx_node *w, const struct kx_node *wc, const struct ttlv_item *g,
				  struct cmp *c, const char *p)
{
	size_t rank = 0;
	for (const struct kx_node *x = w->child; x != wc; x = x->next)
		rank += x->tag == KMIP_TAG_ATTRIBUTE && same_attribute_name_w(x, wc);
	for (const struct ttlv_item *gc = g->child; gc != NULL; gc = gc->next) {
		if (gc->tag != KMIP_TAG_ATTRIBUTE || !same_attribute_name(wc, gc))
			continue;
		if (rank-- == 0)
			return cmp_node(wc, gc, c, p);
	}
	fmt(c->why, c->wl, "%s: missing", p);
	return false;
}

static bool cmp_struct(const struct kx_node *w, const struct ttlv_item *g, struct cmp *c, const char *path)
{
	char p[320], b[16];
	/* a Query answer lists what the server supports: each kind of item
	 * the file shows must be there, whatever the values and counts */
	if (w->tag == KMIP_TAG_RESPONSE_PAYLOAD && item_operation(w) == KMIP_OPERATION_QUERY) {
		for (const struct kx_node *wc = w->child; wc != NULL; wc = wc->next) {
			const struct ttlv_item *gc = gchild(g, wc->tag);
			if (gc == NULL || gc->type != wc->type) {
				fmt(c->why, c->wl, "%s: the Query answer has no %s", path, wc->name);
				return false;
			}
		}
		return true;
	}
	/* a differing Result Status says more with the reason and message */
	if (w->tag == KMIP_TAG_BATCH_ITEM) {
		const struct kx_node *ws = child(w, KMIP_TAG_RESULT_STATUS);
		const struct ttlv_item *gs = gchild(g, KMIP_TAG_RESULT_STATUS);
		uint32_t want = 0;
		if (ws != NULL && gs != NULL && enum_value(ws, &want, NULL, 0) == 0 && gs->type == TTLV_ENUM &&
		    gs->u != want) {
			const struct ttlv_item *gr = gchild(g, KMIP_TAG_RESULT_REASON);
			const struct ttlv_item *gm = gchild(g, KMIP_TAG_RESULT_MESSAGE);
			const char *rs = kx_enum_name("Result Status", (uint32_t)gs->u);
			const char *rr = gr != NULL ? kx_enum_name("Result Reason", (uint32_t)gr->u) : NULL;
			fmt(c->why, c->wl, "%s/ResultStatus: want %s, got %s/%s (%.*s)", path, ws->value,
			    rs ? rs : "?", rr ? rr : "-", gm != NULL && gm->type == TTLV_TEXT ? (int)gm->len : 0,
			    gm != NULL ? (const char *)gm->val : "");
			return false;
		}
	}
	const struct ttlv_item *gc = g->child;
	for (const struct kx_node *wc = w->child; wc != NULL; wc = wc->next) {
		const struct kx_node *an = wc->tag == KMIP_TAG_ATTRIBUTE ? child(wc, KMIP_TAG_ATTRIBUTE_NAME) : NULL;
		if (an != NULL && an->value != NULL)
			snprintf(p, sizeof p, "%.200s/Attribute[%.64s]", path, an->value);
		else
			snprintf(p, sizeof p, "%.200s/%s", path, wc->name);
		if (an != NULL && w->tag == KMIP_TAG_RESPONSE_PAYLOAD) {
			/* KMIP 1.4 §4.12 does not order the attributes of an answer:
			 * matched by name, the n-th instance of a name to the n-th */
			if (!cmp_attribute_by_name(w, wc, g, c, p))
				return false;
			continue;
		}
		for (;;) {
			if (gc == NULL) {
				fmt(c->why, c->wl, "%s: missing", p);
				return false;
			}
			bool skip = skippable(w, gc, c), matched = false;
			if (gc->tag == wc->tag) {
				if (wc->tag == KMIP_TAG_ATTRIBUTE && skip) {
					/* the expected attribute, by name; others are extra */
					if (same_attribute_name(wc, gc)) {
						if (!cmp_node(wc, gc, c, p))
							return false;
						matched = true;
					}
				} else if (!skip) {
					if (!cmp_node(wc, gc, c, p))
						return false;
					matched = true;
				} else {
					matched = cmp_node(wc, gc, c, p); /* else an extra one */
				}
			}
			if (matched) {
				gc = gc->next;
				break;
			}
			if (!skip) {
				fmt(c->why, c->wl, "%s: got %s instead", p, tname(gc->tag, b));
				return false;
			}
			gc = gc->next;
		}
	}
	for (; gc != NULL; gc = gc->next)
		if (!skippable(w, gc, c)) {
			fmt(c->why, c->wl, "%s/%s: not in the expected response", path, tname(gc->tag, b));
			return false;
		}
	return true;
}

/* variable Byte Strings (§8.4.1): server-made key material, digests and
 * random output */
static bool variable_bytes(uint32_t tag)
{
	return tag == KMIP_TAG_KEY_MATERIAL || tag == KMIP_TAG_DIGEST_VALUE || tag == KMIP_TAG_DATA;
}

static bool cmp_node(const struct kx_node *w, const struct ttlv_item *g, struct cmp *c, const char *path)
{
	char b[16];
	if (g->tag != w->tag) {
		fmt(c->why, c->wl, "%s: got %s", path, tname(g->tag, b));
		return false;
	}
	if (g->type != w->type) {
		fmt(c->why, c->wl, "%s: a %s, want a %s", path, ttlv_type_name(g->type), ttlv_type_name(w->type));
		return false;
	}
	uint32_t u = 0;
	char why[160] = "";
	switch ((enum ttlv_type)w->type) {
	case TTLV_STRUCTURE:
		return cmp_struct(w, g, c, path);
	case TTLV_INTEGER:
	case TTLV_ENUM:
	case TTLV_INTERVAL: {
		int rc = w->type == TTLV_INTEGER ? int_value(w, &u, why, sizeof why)
			 : w->type == TTLV_ENUM	 ? enum_value(w, &u, why, sizeof why)
						 : parse_u32(w->value, &u);
		if (rc != 0) {
			fmt(c->why, c->wl, "%s: %s", path, why[0] ? why : "bad expected value");
			return false;
		}
		if ((uint32_t)g->u == u)
			return true;
		const char *gn = w->type == TTLV_ENUM ? kx_enum_name(enum_of(w), (uint32_t)g->u) : NULL;
		fmt(c->why, c->wl, "%s: want %s, got %s (0x%08" PRIx32 ")", path, w->value, gn ? gn : "-",
		    (uint32_t)g->u);
		return false;
	}
	case TTLV_LONG:
	case TTLV_BOOL: {
		long long want = w->type == TTLV_BOOL ? (w->value[0] == 't' || w->value[0] == '1')
						      : strtoll(w->value, NULL, 0);
		if ((long long)g->u == want)
			return true;
		fmt(c->why, c->wl, "%s: want %s, got %lld", path, w->value, (long long)g->u);
		return false;
	}
	case TTLV_DATETIME: {
		int64_t t = 0;
		if (datetime_value(w, c->v, &t, why, sizeof why) != 0) {
			fmt(c->why, c->wl, "%s: %s", path, why);
			return false;
		}
		int64_t got = (int64_t)g->u, slack = strcmp(w->value, "$NOW") == 0 ? c->v->now_slack : 0;
		if (got >= t - slack && got <= t + slack)
			return true;
		fmt(c->why, c->wl, "%s: want %s (%" PRId64 "), got %" PRId64, path, w->value, t, got);
		return false;
	}
	case TTLV_TEXT: {
		int k = uid_var(w->value);
		if (k >= 0 && !c->v->have_uid[k]) {
			if (g->len == 0 || g->len >= sizeof c->v->uid[k]) {
				fmt(c->why, c->wl, "%s: an identifier of %" PRIu32 " bytes", path, g->len);
				return false;
			}
			memcpy(c->v->uid[k], g->val, g->len);
			c->v->uid[k][g->len] = '\0';
			c->v->have_uid[k] = true;
			return true;
		}
		if (w->tag == KMIP_TAG_RESULT_MESSAGE || w->tag == KMIP_TAG_VENDOR_IDENTIFICATION)
			return true;
		const char *want = k >= 0 ? c->v->uid[k] : w->value;
		if (strlen(want) == g->len && memcmp(want, g->val, g->len) == 0)
			return true;
		fmt(c->why, c->wl, "%s: want \"%s\", got \"%.*s\"", path, want, (int)(g->len > 80 ? 80 : g->len),
		    (const char *)g->val);
		return false;
	}
	case TTLV_BYTES:
	case TTLV_BIGINT: {
		size_t l = 0;
		uint8_t *x = hex_value(w, &l, why, sizeof why);
		if (x == NULL) {
			fmt(c->why, c->wl, "%s: %s", path, why);
			return false;
		}
		bool ok = l == g->len && (variable_bytes(w->tag) || memcmp(x, g->val, l) == 0);
		if (w->type == TTLV_BIGINT && !ok) {
			/* the same number with other sign padding is the same */
			size_t full = (l + 7) / 8 * 8;
			ok = full == g->len && memcmp(g->val + (full - l), x, l) == 0;
		}
		free(x);
		if (!ok)
			fmt(c->why, c->wl, "%s: %" PRIu32 " bytes that differ from the %zu expected", path, g->len, l);
		return ok;
	}
	default:
		break;
	}
	fmt(c->why, c->wl, "%s: unknown type", path);
	return false;
}

bool kx_compare(const struct kx_node *want, const struct ttlv_item *got, const struct kx_node *req,
		struct kx_vars *v, char *why, size_t why_len)
{
	struct cmp c = {.v = v, .why = why, .wl = why_len};
	for (const struct kx_node *bi = req != NULL ? req->child : NULL; bi != NULL; bi = bi->next)
		if (bi->tag == KMIP_TAG_BATCH_ITEM && item_operation(child(bi, KMIP_TAG_OPERATION)) ==
							      KMIP_OPERATION_DISCOVER_VERSIONS) {
			const struct kx_node *pl = child(bi, KMIP_TAG_REQUEST_PAYLOAD);
			c.dv_listed_none = child(pl, KMIP_TAG_PROTOCOL_VERSION) == NULL;
		}
	if (why != NULL && why_len > 0)
		why[0] = '\0';
	return cmp_node(want, got, &c, want->name);
}

void kx_result_summary(const struct ttlv_item *got, char *out, size_t n)
{
	size_t k = 0;
	out[0] = '\0';
	for (const struct ttlv_item *bi = gchild(got, KMIP_TAG_BATCH_ITEM); bi != NULL; bi = ttlv_find_next(bi)) {
		const struct ttlv_item *rs = gchild(bi, KMIP_TAG_RESULT_STATUS);
		const struct ttlv_item *rr = gchild(bi, KMIP_TAG_RESULT_REASON);
		const char *s = rs != NULL ? kx_enum_name("Result Status", (uint32_t)rs->u) : NULL;
		const char *r = rr != NULL ? kx_enum_name("Result Reason", (uint32_t)rr->u) : NULL;
		int w = snprintf(out + k, n - k, "%s%s%s%s", k ? "," : "", s ? s : "?", r ? "/" : "", r ? r : "");
		if (w < 0 || (size_t)w >= n - k)
			return;
		k += (size_t)w;
	}
}
