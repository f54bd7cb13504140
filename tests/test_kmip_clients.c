/* tests/test_kmip_clients.c — real KMIP clients' request shapes, rebuilt
 * field by field from /work/shared/reference/kmip-clients.md (its sources:
 * vCenter 7.0.3 wire traces, mongod's kmip_request.cpp, libmongocrypt's
 * kms_kmip_request.c, PSMDB's kmip_exchange.cpp, Percona-Lab/libkmip and
 * kmippp, pg_tde's keyring_kmip.cpp, Cosmian's keyring_okv and FortiOS
 * notes), sent over mutual TLS with kmipc to `fount serve`.
 *
 * Every response goes through one strict validator (libkmip's
 * kmip_decode_response_header / _batch_item / _attribute_name and mongod's
 * kmip_response.cpp, kmip-clients.md §2 and §5). A step fount cannot
 * serve yet is a known gap in the table below: it must still fail as
 * recorded (and its failure response must pass the validator), so the
 * table cannot rot silently. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/ssl.h>

#include "api/internal.h"
#include "api/kmip.h"
#include "api/ttlv.h"
#include "tests/helpers.h"
#include "tests/lib/kmip_serve.h"
#include "tests/lib/kmipc.h"

#define NEEDS(op) "needs " op ", which another helper is adding"
#define NOT_SUPPORTED "OperationFailed/OperationNotSupported"

/* {shape, step, a piece of the step's message, reason}; the table ends with
 * an all-NULL row, so that it may hold no gap at all */
struct gap {
	const char *shape, *step, *how, *reason;
};
static const struct gap gaps[] = {
	{NULL, NULL, NULL, NULL},
};

static struct kmip_serve srv;

static int suite_init(void)
{
	return kmip_serve_start(&srv, "kmipclients");
}

static int suite_clean(void)
{
	kmip_serve_stop(&srv);
	return 0;
}

/* ---- building requests ------------------------------------------------------- */

#define MAX_ITEMS 8
#define MAX_ASKED 16

struct sent_item {
	uint32_t op;
	uint8_t ubi[16];
	size_t ubi_len;
	char asked[MAX_ASKED][48]; /* attribute names asked for by name */
	size_t n_asked;
};

struct msg {
	struct ttlv_enc e;
	int32_t minor;
	size_t n;
	struct sent_item it[MAX_ITEMS];
};

struct hdr {
	bool timestamp;
	int32_t max_response; /* 0: none */
	bool auth;            /* FortiOS: Authentication { Credential { ... } } */
};

static void msg_begin(struct msg *m, int32_t minor, const struct hdr *h, int32_t batch_count)
{
	memset(m, 0, sizeof *m);
	m->minor = minor;
	ttlv_enc_init(&m->e, 1 << 20);
	ttlv_enc_begin(&m->e, KMIP_TAG_REQUEST_MESSAGE);
	ttlv_enc_begin(&m->e, KMIP_TAG_REQUEST_HEADER);
	ttlv_enc_begin(&m->e, KMIP_TAG_PROTOCOL_VERSION);
	ttlv_enc_int(&m->e, KMIP_TAG_PROTOCOL_VERSION_MAJOR, 1);
	ttlv_enc_int(&m->e, KMIP_TAG_PROTOCOL_VERSION_MINOR, minor);
	ttlv_enc_end(&m->e);
	if (h != NULL && h->max_response > 0)
		ttlv_enc_int(&m->e, KMIP_TAG_MAXIMUM_RESPONSE_SIZE, h->max_response);
	if (h != NULL && h->timestamp)
		ttlv_enc_datetime(&m->e, KMIP_TAG_TIME_STAMP, (int64_t)time(NULL));
	if (h != NULL && h->auth) {
		/* KMIP 1.4 §2.1.2: Credential { Type, Value { Username, Password } } */
		ttlv_enc_begin(&m->e, KMIP_TAG_AUTHENTICATION);
		ttlv_enc_begin(&m->e, KMIP_TAG_CREDENTIAL);
		ttlv_enc_enum(&m->e, KMIP_TAG_CREDENTIAL_TYPE, KMIP_CREDENTIAL_TYPE_USERNAME_AND_PASSWORD);
		ttlv_enc_begin(&m->e, KMIP_TAG_CREDENTIAL_VALUE);
		ttlv_enc_cstr(&m->e, KMIP_TAG_USERNAME, "fortigate");
		ttlv_enc_cstr(&m->e, KMIP_TAG_PASSWORD, "not-a-secret");
		ttlv_enc_end(&m->e);
		ttlv_enc_end(&m->e);
		ttlv_enc_end(&m->e);
	}
	ttlv_enc_int(&m->e, KMIP_TAG_BATCH_COUNT, batch_count);
	ttlv_enc_end(&m->e);
}

static struct ttlv_enc *item_begin(struct msg *m, uint32_t op, const void *ubi, size_t ubi_len)
{
	CU_ASSERT_FATAL(m->n < MAX_ITEMS && ubi_len <= sizeof m->it[0].ubi);
	struct sent_item *it = &m->it[m->n++];
	it->op = op;
	it->ubi_len = ubi_len;
	if (ubi_len > 0)
		memcpy(it->ubi, ubi, ubi_len);
	ttlv_enc_begin(&m->e, KMIP_TAG_BATCH_ITEM);
	ttlv_enc_enum(&m->e, KMIP_TAG_OPERATION, op);
	if (ubi_len > 0)
		ttlv_enc_bytes(&m->e, KMIP_TAG_UNIQUE_BATCH_ITEM_ID, ubi, ubi_len);
	ttlv_enc_begin(&m->e, KMIP_TAG_REQUEST_PAYLOAD);
	return &m->e;
}

static void item_end(struct msg *m)
{
	ttlv_enc_end(&m->e);
	ttlv_enc_end(&m->e);
}

static void msg_end(struct msg *m)
{
	ttlv_enc_end(&m->e);
	EXPECT_OK(ttlv_enc_finish(&m->e));
}

/* ask encodes an Attribute Name of a Get Attributes and notes it */
static void ask(struct msg *m, const char *name)
{
	struct sent_item *it = &m->it[m->n - 1];
	CU_ASSERT_FATAL(it->n_asked < MAX_ASKED);
	snprintf(it->asked[it->n_asked++], sizeof it->asked[0], "%s", name);
	ttlv_enc_cstr(&m->e, KMIP_TAG_ATTRIBUTE_NAME, name);
}

/* note_asked notes a name the request names in an attribute it sends (Add
 * Attribute echoes it) */
static void note_asked(struct msg *m, const char *name)
{
	struct sent_item *it = &m->it[m->n - 1];
	CU_ASSERT_FATAL(it->n_asked < MAX_ASKED);
	snprintf(it->asked[it->n_asked++], sizeof it->asked[0], "%s", name);
}

/* attr_begin opens Attribute { Name, [Index] }: the value follows */
static void attr_begin(struct ttlv_enc *e, const char *name, int32_t index)
{
	ttlv_enc_begin(e, KMIP_TAG_ATTRIBUTE);
	ttlv_enc_cstr(e, KMIP_TAG_ATTRIBUTE_NAME, name);
	if (index >= 0)
		ttlv_enc_int(e, KMIP_TAG_ATTRIBUTE_INDEX, index);
}

static void a_enum(struct ttlv_enc *e, const char *name, uint32_t v, int32_t index)
{
	attr_begin(e, name, index);
	ttlv_enc_enum(e, KMIP_TAG_ATTRIBUTE_VALUE, v);
	ttlv_enc_end(e);
}

static void a_int(struct ttlv_enc *e, const char *name, int32_t v, int32_t index)
{
	attr_begin(e, name, index);
	ttlv_enc_int(e, KMIP_TAG_ATTRIBUTE_VALUE, v);
	ttlv_enc_end(e);
}

static void a_text(struct ttlv_enc *e, const char *name, const char *v, int32_t index)
{
	attr_begin(e, name, index);
	ttlv_enc_cstr(e, KMIP_TAG_ATTRIBUTE_VALUE, v);
	ttlv_enc_end(e);
}

static void a_name(struct ttlv_enc *e, const char *v, int32_t index)
{
	attr_begin(e, "Name", index);
	ttlv_enc_begin(e, KMIP_TAG_ATTRIBUTE_VALUE);
	ttlv_enc_cstr(e, KMIP_TAG_NAME_VALUE, v);
	ttlv_enc_enum(e, KMIP_TAG_NAME_TYPE, KMIP_NAME_TYPE_UNINTERPRETED_TEXT_STRING);
	ttlv_enc_end(e);
	ttlv_enc_end(e);
}

#define MASK_ED (KMIP_CRYPTOGRAPHIC_USAGE_MASK_ENCRYPT | KMIP_CRYPTOGRAPHIC_USAGE_MASK_DECRYPT)

/* aes_template writes TemplateAttribute { AES, 256, mask, [Name] } */
static void aes_template(struct ttlv_enc *e, int32_t mask, const char *name, int32_t index)
{
	ttlv_enc_begin(e, KMIP_TAG_TEMPLATE_ATTRIBUTE);
	a_enum(e, "Cryptographic Algorithm", KMIP_CRYPTOGRAPHIC_ALGORITHM_AES, index);
	a_int(e, "Cryptographic Length", 256, index);
	a_int(e, "Cryptographic Usage Mask", mask, index);
	if (name != NULL)
		a_name(e, name, index);
	ttlv_enc_end(e);
}

/* ---- the strict validator ------------------------------------------------------ */

/* libkmip's kmip_decode_attribute_name accepts these 15 names and no
 * other (Percona-Lab/libkmip src/kmip.c; kmip-clients.md §5) */
static const char *const libkmip_names[] = {
	"Application Specific Information", "Unique Identifier", "Name", "Object Type",
	"Cryptographic Algorithm", "Cryptographic Length", "Cryptographic Usage Mask",
	"Cryptographic Parameters", "Operation Policy Name", "State", "Object Group",
	"Activation Date", "Deactivation Date", "Process Start Date", "Protect Stop Date",
};

/* the first KMIP 1.x minor version that defines an attribute (KMIP 1.0-1.4
 * §3); names not listed are 1.0's, custom x-/y- names are 1.0's (§3.39) */
static const struct {
	const char *name;
	int32_t minor;
} attr_since[] = {
	{"Certificate Length", 1},	  {"X.509 Certificate Identifier", 1}, {"X.509 Certificate Subject", 1},
	{"X.509 Certificate Issuer", 1},  {"Digital Signature Algorithm", 1},  {"Fresh", 1},
	{"Alternative Name", 2},	  {"Key Value Present", 2},	       {"Key Value Location", 2},
	{"Original Creation Date", 2},	  {"Random Number Generator", 3},      {"PKCS#12 Friendly Name", 4},
	{"Description", 4},		  {"Comment", 4},		       {"Sensitive", 4},
	{"Always Sensitive", 4},	  {"Extractable", 4},		       {"Never Extractable", 4},
};

static bool text_is(const struct ttlv_item *it, const char *s)
{
	return it != NULL && it->type == TTLV_TEXT && it->len == strlen(s) && memcmp(it->val, s, it->len) == 0;
}

static void vfail(char *why, size_t wl, const char *f, ...) PRINTF_LIKE(3, 4);
static void vfail(char *why, size_t wl, const char *f, ...)
{
	if (why[0] != '\0')
		return; /* keep the first */
	va_list ap;
	va_start(ap, f);
	vsnprintf(why, wl, f, ap);
	va_end(ap);
}

/* check_attributes walks |s| for Attribute structures (GetAttributes
 * answers, and inside KeyValue, where there must be none at all) */
static void check_attributes(const struct ttlv_item *s, const struct sent_item *si, int32_t minor, bool in_key_value,
			     char *why, size_t wl)
{
	for (const struct ttlv_item *c = s->type == TTLV_STRUCTURE ? s->child : NULL; c != NULL; c = c->next) {
		if (c->type != TTLV_STRUCTURE)
			continue;
		if (c->tag != KMIP_TAG_ATTRIBUTE) {
			check_attributes(c, si, minor, in_key_value || c->tag == KMIP_TAG_KEY_VALUE, why, wl);
			continue;
		}
		const struct ttlv_item *n = ttlv_find(c, KMIP_TAG_ATTRIBUTE_NAME);
		if (n == NULL || n->type != TTLV_TEXT || c->child != n) {
			vfail(why, wl, "an Attribute without its Attribute Name first");
			continue;
		}
		char name[64];
		snprintf(name, sizeof name, "%.*s", (int)(n->len < 63 ? n->len : 63), (const char *)n->val);
		if (in_key_value)
			vfail(why, wl, "attribute \"%s\" inside KeyValue (libkmip, PSMDB: Cosmian/kms #687)", name);
		/* a Get Attributes naming none asks for all (KMIP 1.4 §4.13) */
		bool asked = si != NULL && si->op == KMIP_OPERATION_GET_ATTRIBUTES && si->n_asked == 0;
		bool listed = false;
		for (size_t i = 0; si != NULL && i < si->n_asked; i++)
			asked = asked || strcmp(si->asked[i], name) == 0;
		for (size_t i = 0; i < ARRAY_SIZE(libkmip_names); i++)
			listed = listed || strcmp(libkmip_names[i], name) == 0;
		if (!asked && !listed)
			vfail(why, wl, "attribute \"%s\" is not one of libkmip's 15 and was not asked for", name);
		for (size_t i = 0; i < ARRAY_SIZE(attr_since); i++)
			if (strcmp(attr_since[i].name, name) == 0 && attr_since[i].minor > minor)
				vfail(why, wl, "attribute \"%s\" is not defined in KMIP 1.%d", name, minor);
	}
}

/* validate checks |root| (the decoded response to |m|; m == NULL: a
 * request that could not be read, then any 1.x version and no Operation
 * are allowed) against libkmip's and mongod's rules; true when it passes,
 * else |why| says the first breach. */
static bool validate(const struct msg *m, const struct ttlv_item *root, char *why, size_t wl)
{
	why[0] = '\0';
	if (root->tag != KMIP_TAG_RESPONSE_MESSAGE || root->type != TTLV_STRUCTURE) {
		vfail(why, wl, "not a Response Message");
		return false;
	}
	/* header: exactly ProtocolVersion (the request's), TimeStamp, BatchCount */
	const struct ttlv_item *h = root->child;
	if (h == NULL || h->tag != KMIP_TAG_RESPONSE_HEADER || h->type != TTLV_STRUCTURE) {
		vfail(why, wl, "the Response Header is not first");
		return false;
	}
	const struct ttlv_item *pv = h->child;
	const struct ttlv_item *ts = pv != NULL ? pv->next : NULL;
	const struct ttlv_item *bc = ts != NULL ? ts->next : NULL;
	if (pv == NULL || pv->tag != KMIP_TAG_PROTOCOL_VERSION || ts == NULL || ts->tag != KMIP_TAG_TIME_STAMP ||
	    ts->type != TTLV_DATETIME || bc == NULL || bc->tag != KMIP_TAG_BATCH_COUNT || bc->type != TTLV_INTEGER ||
	    bc->next != NULL) {
		vfail(why, wl, "the header is not exactly ProtocolVersion, TimeStamp, BatchCount");
		return false;
	}
	const struct ttlv_item *maj = ttlv_find(pv, KMIP_TAG_PROTOCOL_VERSION_MAJOR);
	const struct ttlv_item *min = ttlv_find(pv, KMIP_TAG_PROTOCOL_VERSION_MINOR);
	if (maj == NULL || min == NULL || ttlv_int(maj) != 1 ||
	    (m != NULL ? ttlv_int(min) != m->minor : (ttlv_int(min) < 0 || ttlv_int(min) > 4))) {
		vfail(why, wl, "the response's version is not the request's");
		return false;
	}
	int32_t minor = ttlv_int(min);
	int64_t skew = ttlv_long(ts) - (int64_t)time(NULL);
	if (skew < -300 || skew > 300)
		vfail(why, wl, "the TimeStamp is %lld s off", (long long)skew);
	size_t n = 0;
	bool last_failed = false;
	for (const struct ttlv_item *bi = h->next; bi != NULL; bi = bi->next, n++) {
		if (bi->tag != KMIP_TAG_BATCH_ITEM || bi->type != TTLV_STRUCTURE) {
			vfail(why, wl, "something other than a Batch Item after the header");
			return false;
		}
		const struct sent_item *si = m != NULL && n < m->n ? &m->it[n] : NULL;
		const struct ttlv_item *c = bi->child;
		/* Operation first (libkmip picks the payload decoder by it;
		 * mongod requires it before ResultStatus) */
		if (c != NULL && c->tag == KMIP_TAG_OPERATION) {
			if (si != NULL && (c->type != TTLV_ENUM || c->u != si->op))
				vfail(why, wl, "item %zu: Operation 0x%02x is not the request's 0x%02x", n, (unsigned)c->u,
				      (unsigned)si->op);
			c = c->next;
		} else if (si != NULL) {
			vfail(why, wl, "item %zu: Operation is not first", n);
			return false;
		}
		if (si != NULL && si->ubi_len > 0) {
			if (c == NULL || c->tag != KMIP_TAG_UNIQUE_BATCH_ITEM_ID || c->type != TTLV_BYTES ||
			    c->len != si->ubi_len || memcmp(c->val, si->ubi, si->ubi_len) != 0) {
				vfail(why, wl, "item %zu: the Unique Batch Item ID is not echoed after Operation", n);
				return false;
			}
			c = c->next;
		} else if (c != NULL && c->tag == KMIP_TAG_UNIQUE_BATCH_ITEM_ID) {
			vfail(why, wl, "item %zu: a Unique Batch Item ID the request did not send", n);
		}
		if (c == NULL || c->tag != KMIP_TAG_RESULT_STATUS || c->type != TTLV_ENUM) {
			vfail(why, wl, "item %zu: no Result Status where it belongs", n);
			return false;
		}
		last_failed = c->u != KMIP_RESULT_STATUS_SUCCESS;
		if (c->u != KMIP_RESULT_STATUS_SUCCESS) {
			const struct ttlv_item *rr = c->next;
			const struct ttlv_item *rm = rr != NULL ? rr->next : NULL;
			if (rr == NULL || rr->tag != KMIP_TAG_RESULT_REASON || rr->type != TTLV_ENUM || rm == NULL ||
			    rm->tag != KMIP_TAG_RESULT_MESSAGE || rm->type != TTLV_TEXT || rm->len == 0)
				vfail(why, wl, "item %zu: a failure without Result Reason and Result Message", n);
			continue;
		}
		const struct ttlv_item *p = ttlv_find(bi, KMIP_TAG_RESPONSE_PAYLOAD);
		if (p == NULL)
			continue;
		check_attributes(p, si, minor, false, why, wl);
		if (si != NULL && si->op == KMIP_OPERATION_CREATE &&
		    (p->child == NULL || p->child->tag != KMIP_TAG_OBJECT_TYPE || p->child->next == NULL ||
		     p->child->next->tag != KMIP_TAG_UNIQUE_IDENTIFIER))
			vfail(why, wl, "item %zu: Create does not answer Object Type then Unique Identifier", n);
		if (si != NULL && si->op == KMIP_OPERATION_GET_ATTRIBUTES) {
			/* libkmip and mongod: UID first; "State" alone comes back alone */
			if (p->child == NULL || p->child->tag != KMIP_TAG_UNIQUE_IDENTIFIER)
				vfail(why, wl, "item %zu: Get Attributes does not answer the Unique Identifier first", n);
			size_t k = 0;
			for (const struct ttlv_item *a = ttlv_find(p, KMIP_TAG_ATTRIBUTE); a != NULL; a = ttlv_find_next(a), k++) {
				const struct ttlv_item *an = ttlv_find(a, KMIP_TAG_ATTRIBUTE_NAME);
				bool asked = false;
				for (size_t i = 0; i < si->n_asked; i++)
					asked = asked || text_is(an, si->asked[i]);
				if (si->n_asked > 0 && !asked)
					vfail(why, wl, "item %zu: Get Attributes answers an attribute not asked for", n);
			}
			if (si->n_asked == 1 && strcmp(si->asked[0], "State") == 0 && k != 1)
				vfail(why, wl, "item %zu: Get Attributes(State) answers %zu attributes", n, k);
		}
	}
	if ((size_t)ttlv_int(bc) != n)
		vfail(why, wl, "BatchCount %d for %zu items", ttlv_int(bc), n);
	/* with the default Batch Error Continuation Option, Stop (KMIP 1.4
	 * §6.14), the server answers the items up to the first failure only */
	if (m != NULL && m->n > 0 && n != m->n && !(n > 0 && n < m->n && last_failed))
		vfail(why, wl, "%zu items for the request's %zu", n, m->n);
	return why[0] == '\0';
}

/* ---- exchanging and reading responses ------------------------------------------ */

struct shape {
	const char *name;
	struct kmipc *k;
	uint32_t counter; /* vCenter's Unique Batch Item ID counter */
	unsigned steps, gaps;
};

struct resp {
	uint8_t *buf; /* a copy: kmipc's buffer is reused */
	size_t len;
	struct ttlv_doc d;
	const struct ttlv_item *root;
};

static void resp_free(struct resp *r)
{
	ttlv_doc_free(&r->d);
	if (r->buf != NULL)
		ttlv_buf_put(r->buf, r->len, r->len);
	memset(r, 0, sizeof *r);
}

/* exchange sends |m| (and frees its encoder), reads the response into |r|,
 * and asserts it passes the validator; false (asserted) when there was no
 * decodable response */
static bool exchange(struct shape *s, struct msg *m, struct resp *r)
{
	memset(r, 0, sizeof *r);
	const uint8_t *p = NULL;
	size_t n = 0;
	err_t e = kmipc_roundtrip(s->k, m->e.buf, m->e.len, &p, &n);
	ttlv_enc_free(&m->e);
	EXPECT_OK(e);
	if (e != ERR_OK)
		return false;
	size_t cap = 0;
	r->buf = ttlv_buf_get(n, &cap, &e);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r->buf);
	memcpy(r->buf, p, n);
	r->len = cap;
	if (ttlv_decode(&r->d, r->buf, n) != ERR_OK) {
		fprintf(stderr, "\n    %s: the response does not decode: %s\n", s->name, r->d.why);
		CU_FAIL("undecodable response");
		return false;
	}
	r->root = ttlv_root(&r->d);
	char why[300];
	bool ok = validate(m, r->root, why, sizeof why);
	if (!ok)
		fprintf(stderr, "\n    %s: validator: %s\n", s->name, why);
	CU_ASSERT(ok);
	return true;
}

static const struct ttlv_item *item(const struct resp *r, size_t i)
{
	const struct ttlv_item *bi = r->root != NULL ? ttlv_find(r->root, KMIP_TAG_BATCH_ITEM) : NULL;
	for (; bi != NULL && i > 0; i--)
		bi = ttlv_find_next(bi);
	return bi;
}

static const struct ttlv_item *payload(const struct resp *r, size_t i)
{
	return ttlv_find(item(r, i), KMIP_TAG_RESPONSE_PAYLOAD);
}

static bool success(const struct resp *r, size_t i)
{
	const struct ttlv_item *rs = ttlv_find(item(r, i), KMIP_TAG_RESULT_STATUS);
	return rs != NULL && rs->u == KMIP_RESULT_STATUS_SUCCESS;
}

static uint32_t reason(const struct resp *r, size_t i)
{
	const struct ttlv_item *rr = ttlv_find(item(r, i), KMIP_TAG_RESULT_REASON);
	return rr != NULL ? (uint32_t)rr->u : 0;
}

/* summary: "Success" or "OperationFailed/Reason: message" of item i */
static void summary(const struct resp *r, size_t i, char *out, size_t n)
{
	static const struct {
		uint32_t v;
		const char *s;
	} reasons[] = {
		{KMIP_RESULT_REASON_ITEM_NOT_FOUND, "ItemNotFound"},
		{KMIP_RESULT_REASON_RESPONSE_TOO_LARGE, "ResponseTooLarge"},
		{KMIP_RESULT_REASON_INVALID_MESSAGE, "InvalidMessage"},
		{KMIP_RESULT_REASON_OPERATION_NOT_SUPPORTED, "OperationNotSupported"},
		{KMIP_RESULT_REASON_INVALID_FIELD, "InvalidField"},
		{KMIP_RESULT_REASON_FEATURE_NOT_SUPPORTED, "FeatureNotSupported"},
		{KMIP_RESULT_REASON_PERMISSION_DENIED, "PermissionDenied"},
		{KMIP_RESULT_REASON_GENERAL_FAILURE, "GeneralFailure"},
	};
	if (item(r, i) == NULL) {
		snprintf(out, n, "no item %zu", i);
		return;
	}
	if (success(r, i)) {
		snprintf(out, n, "Success");
		return;
	}
	const char *rs = "?";
	for (size_t k = 0; k < ARRAY_SIZE(reasons); k++)
		if (reasons[k].v == reason(r, i))
			rs = reasons[k].s;
	const struct ttlv_item *rm = ttlv_find(item(r, i), KMIP_TAG_RESULT_MESSAGE);
	snprintf(out, n, "OperationFailed/%s: %.*s", rs, rm != NULL ? (int)rm->len : 0,
		 rm != NULL ? (const char *)rm->val : "");
}

/* text copies the Text String |tag| of |s| */
static bool text(const struct ttlv_item *s, uint32_t tag, char *out, size_t n)
{
	const struct ttlv_item *t = ttlv_find(s, tag);
	if (t == NULL || t->type != TTLV_TEXT || t->len >= n)
		return false;
	memcpy(out, t->val, t->len);
	out[t->len] = '\0';
	return true;
}

/* attr returns the value of the attribute |name| in a Get Attributes answer */
static const struct ttlv_item *attr(const struct ttlv_item *p, const char *name)
{
	for (const struct ttlv_item *a = ttlv_find(p, KMIP_TAG_ATTRIBUTE); a != NULL; a = ttlv_find_next(a))
		if (text_is(ttlv_find(a, KMIP_TAG_ATTRIBUTE_NAME), name))
			return ttlv_find(a, KMIP_TAG_ATTRIBUTE_VALUE);
	return NULL;
}

static bool gap_seen[ARRAY_SIZE(gaps)];

static const struct gap *gap_of(const char *shape, const char *step)
{
	for (const struct gap *g = gaps; g->shape != NULL; g++)
		if (strcmp(g->shape, shape) == 0 && strcmp(g->step, step) == 0)
			return g;
	return NULL;
}

/* step records one step: |ok| with its message. A step in the gap table
 * must fail with the recorded text in its message; any other must pass. */
static bool step(struct shape *s, const char *label, bool ok, const char *f, ...) PRINTF_LIKE(4, 5);
static bool step(struct shape *s, const char *label, bool ok, const char *f, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, f);
	vsnprintf(msg, sizeof msg, f, ap);
	va_end(ap);
	s->steps++;
	const struct gap *g = gap_of(s->name, label);
	if (g == NULL) {
		fprintf(stderr, "    %-14s %-46s %s%s%s\n", s->name, label, ok ? "pass" : "FAIL", ok ? "" : ": ",
			ok ? "" : msg);
		CU_ASSERT(ok);
		return ok;
	}
	s->gaps++;
	gap_seen[g - gaps] = true;
	bool as_recorded = !ok && strstr(msg, g->how) != NULL;
	fprintf(stderr, "    %-14s %-46s %s: %s (%s)\n", s->name, label, as_recorded ? "known gap" : "GAP CHANGED", msg,
		g->reason);
	CU_ASSERT(as_recorded);
	return false;
}

static bool shape_open(struct shape *s, const char *name)
{
	memset(s, 0, sizeof *s);
	s->name = name;
	s->k = kmip_serve_client(&srv);
	CU_ASSERT_PTR_NOT_NULL(s->k);
	return s->k != NULL;
}

static void shape_close(struct shape *s)
{
	kmipc_free(s->k);
	s->k = NULL;
}

/* ---- operations as the clients send them ---------------------------------------------- */

/* create_aes sends Create { SymmetricKey, AES-256, mask, [Name] } alone */
static bool create_aes(struct shape *s, const char *label, int32_t minor, const struct hdr *h, const void *ubi,
		       size_t ubi_len, int32_t mask, const char *name, int32_t index, char uid[KMIP_UID_MAX + 1])
{
	struct msg m;
	msg_begin(&m, minor, h, 1);
	struct ttlv_enc *e = item_begin(&m, KMIP_OPERATION_CREATE, ubi, ubi_len);
	ttlv_enc_enum(e, KMIP_TAG_OBJECT_TYPE, KMIP_OBJECT_TYPE_SYMMETRIC_KEY);
	aes_template(e, mask, name, index);
	item_end(&m);
	msg_end(&m);
	struct resp r;
	char sum[300] = "no response";
	bool ok = exchange(s, &m, &r);
	if (ok)
		summary(&r, 0, sum, sizeof sum);
	ok = ok && success(&r, 0) && text(payload(&r, 0), KMIP_TAG_UNIQUE_IDENTIFIER, uid, KMIP_UID_MAX + 1);
	resp_free(&r);
	return step(s, label, ok, "%s", sum);
}

/* simple sends one item {op, UID} (Activate, Destroy, Get) and checks that
 * it succeeds and answers the same UID */
static bool simple(struct shape *s, const char *label, int32_t minor, const struct hdr *h, uint32_t op,
		   const char *uid, const void *ubi, size_t ubi_len, struct resp *keep)
{
	struct msg m;
	msg_begin(&m, minor, h, 1);
	struct ttlv_enc *e = item_begin(&m, op, ubi, ubi_len);
	ttlv_enc_cstr(e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
	item_end(&m);
	msg_end(&m);
	struct resp r;
	char sum[300] = "no response", got[KMIP_UID_MAX + 1] = "";
	bool ok = exchange(s, &m, &r);
	if (ok)
		summary(&r, 0, sum, sizeof sum);
	ok = ok && success(&r, 0) && text(payload(&r, 0), KMIP_TAG_UNIQUE_IDENTIFIER, got, sizeof got) &&
	     strcmp(got, uid) == 0;
	bool done = step(s, label, ok, "%s (UID \"%s\")", sum, got);
	if (keep != NULL)
		*keep = r;
	else
		resp_free(&r);
	return done;
}

/* get_attrs sends Get Attributes {UID, names...} and keeps the response */
static bool get_attrs(struct shape *s, int32_t minor, const struct hdr *h, const char *uid, const char *const *names,
		      size_t n, const void *ubi, size_t ubi_len, struct resp *r)
{
	struct msg m;
	msg_begin(&m, minor, h, 1);
	struct ttlv_enc *e = item_begin(&m, KMIP_OPERATION_GET_ATTRIBUTES, ubi, ubi_len);
	ttlv_enc_cstr(e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
	for (size_t i = 0; i < n; i++)
		ask(&m, names[i]);
	item_end(&m);
	msg_end(&m);
	return exchange(s, &m, r);
}

/* state_is runs Get Attributes(State) as mongod and PSMDB poll it: UID,
 * then exactly one attribute, State, with |want| */
static bool state_is(struct shape *s, const char *label, int32_t minor, const struct hdr *h, const char *uid,
		     uint32_t want, const void *ubi, size_t ubi_len)
{
	static const char *const st[] = {"State"};
	struct resp r;
	char sum[300] = "no response", got[KMIP_UID_MAX + 1] = "";
	bool ok = get_attrs(s, minor, h, uid, st, 1, ubi, ubi_len, &r);
	if (ok)
		summary(&r, 0, sum, sizeof sum);
	const struct ttlv_item *v = ok ? attr(payload(&r, 0), "State") : NULL;
	unsigned got_state = v != NULL && v->type == TTLV_ENUM ? (unsigned)v->u : 0u;
	ok = ok && success(&r, 0) && text(payload(&r, 0), KMIP_TAG_UNIQUE_IDENTIFIER, got, sizeof got) &&
	     strcmp(got, uid) == 0 && v != NULL && got_state == want;
	resp_free(&r);
	return step(s, label, ok, "%s, State %u, want %u", sum, got_state, (unsigned)want);
}

/* key_block checks a Get answer as mongod reads it (kmip_response.cpp):
 * ObjectType SymmetricKey, UID, SymmetricKey > KeyBlock > KeyFormatType
 * Raw, KeyValue > KeyMaterial a Byte String of |len| bytes (equal to |want|
 * when given), then Cryptographic Algorithm and Length; no wrapping. */
static bool key_block(const struct resp *r, const char *uid, size_t len, const uint8_t *want, char *why, size_t wl)
{
	const struct ttlv_item *p = payload(r, 0);
	const struct ttlv_item *ot = p != NULL ? p->child : NULL;
	const struct ttlv_item *id = ot != NULL ? ot->next : NULL;
	const struct ttlv_item *sk = id != NULL ? id->next : NULL;
	const struct ttlv_item *kb = ttlv_find(sk, KMIP_TAG_KEY_BLOCK);
	const struct ttlv_item *kf = ttlv_find(kb, KMIP_TAG_KEY_FORMAT_TYPE);
	const struct ttlv_item *km = ttlv_find(ttlv_find(kb, KMIP_TAG_KEY_VALUE), KMIP_TAG_KEY_MATERIAL);
	const struct ttlv_item *al = ttlv_find(kb, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM);
	const struct ttlv_item *ln = ttlv_find(kb, KMIP_TAG_CRYPTOGRAPHIC_LENGTH);
	if (ot == NULL || ot->tag != KMIP_TAG_OBJECT_TYPE || ot->u != KMIP_OBJECT_TYPE_SYMMETRIC_KEY)
		snprintf(why, wl, "Object Type is not first, or not Symmetric Key");
	else if (!text_is(id, uid) || id->tag != KMIP_TAG_UNIQUE_IDENTIFIER)
		snprintf(why, wl, "the Unique Identifier is not second, or not the key's");
	else if (sk == NULL || sk->tag != KMIP_TAG_SYMMETRIC_KEY || kf == NULL || kf->u != KMIP_KEY_FORMAT_TYPE_RAW)
		snprintf(why, wl, "no Symmetric Key > Key Block with Key Format Type Raw");
	else if (km == NULL || km->type != TTLV_BYTES || km->len != len || (want != NULL && memcmp(km->val, want, len) != 0))
		snprintf(why, wl, "Key Material is not a Byte String of %zu bytes%s", len, want ? " equal to the key" : "");
	else if (al == NULL || al->u != KMIP_CRYPTOGRAPHIC_ALGORITHM_AES || ln == NULL || ttlv_int(ln) != (int32_t)(8 * len))
		snprintf(why, wl, "the Key Block lacks Cryptographic Algorithm AES and Length %zu", 8 * len);
	else if (ttlv_find(kb, KMIP_TAG_KEY_WRAPPING_DATA) != NULL)
		snprintf(why, wl, "the key is wrapped");
	else
		return true;
	return false;
}

static bool get_key(struct shape *s, const char *label, int32_t minor, const struct hdr *h, const char *uid,
		    const void *ubi, size_t ubi_len, const uint8_t *want)
{
	struct resp r;
	bool ok = simple(s, label, minor, h, KMIP_OPERATION_GET, uid, ubi, ubi_len, &r);
	char why[200] = "";
	if (ok)
		ok = step(s, "  Key Block as mongod reads it", key_block(&r, uid, 32, want, why, sizeof why), "%s", why);
	resp_free(&r);
	return ok;
}

/* register_aes sends PSMDB's / kmippp's Register of a Raw AES-256 key;
 * the UID in |uid| on success */
static bool register_aes(struct shape *s, const char *label, int32_t minor, const struct hdr *h, const uint8_t key[32],
			 const char *name, const char *group, char uid[KMIP_UID_MAX + 1])
{
	struct msg m;
	msg_begin(&m, minor, h, 1);
	struct ttlv_enc *e = item_begin(&m, KMIP_OPERATION_REGISTER, NULL, 0);
	ttlv_enc_enum(e, KMIP_TAG_OBJECT_TYPE, KMIP_OBJECT_TYPE_SYMMETRIC_KEY);
	ttlv_enc_begin(e, KMIP_TAG_TEMPLATE_ATTRIBUTE);
	a_int(e, "Cryptographic Usage Mask", MASK_ED, -1);
	if (name != NULL)
		a_name(e, name, -1);
	if (group != NULL)
		a_text(e, "Object Group", group, -1);
	ttlv_enc_end(e);
	ttlv_enc_begin(e, KMIP_TAG_SYMMETRIC_KEY);
	ttlv_enc_begin(e, KMIP_TAG_KEY_BLOCK);
	ttlv_enc_enum(e, KMIP_TAG_KEY_FORMAT_TYPE, KMIP_KEY_FORMAT_TYPE_RAW);
	ttlv_enc_begin(e, KMIP_TAG_KEY_VALUE);
	ttlv_enc_bytes(e, KMIP_TAG_KEY_MATERIAL, key, 32);
	ttlv_enc_end(e);
	ttlv_enc_enum(e, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM, KMIP_CRYPTOGRAPHIC_ALGORITHM_AES);
	ttlv_enc_int(e, KMIP_TAG_CRYPTOGRAPHIC_LENGTH, 256);
	ttlv_enc_end(e);
	ttlv_enc_end(e);
	item_end(&m);
	msg_end(&m);
	struct resp r;
	char sum[300] = "no response";
	bool ok = exchange(s, &m, &r);
	if (ok)
		summary(&r, 0, sum, sizeof sum);
	ok = ok && success(&r, 0) && text(payload(&r, 0), KMIP_TAG_UNIQUE_IDENTIFIER, uid, KMIP_UID_MAX + 1);
	resp_free(&r);
	return step(s, label, ok, "%s", sum);
}

/* a test key, fixed (no secret) */
static void test_key(uint8_t k[32], uint8_t seed)
{
	for (size_t i = 0; i < 32; i++)
		k[i] = (uint8_t)(seed + 7 * i);
}

/* ---- the shapes ------------------------------------------------------------------------- */

/* vCenter's Unique Batch Item ID: "QLKC" and a little-endian counter */
static const uint8_t *vc_ubi(struct shape *s, uint8_t out[8])
{
	uint32_t c = ++s->counter;
	memcpy(out, "QLKC", 4);
	out[4] = (uint8_t)c;
	out[5] = (uint8_t)(c >> 8);
	out[6] = (uint8_t)(c >> 16);
	out[7] = (uint8_t)(c >> 24);
	return out;
}

/* vCenter 7.0.3's Standard Key Provider at KMIP 1.1 (vmware-2.log): header
 * with no TimeStamp; Discover Versions (the first without a UBI) → Query
 * Server Information → Create AES-256 mask 12 → Get Attributes of one x-
 * name each ×3 → 3× Add Attribute in one message → Get → Get Attributes
 * (State) → Activate; and its idle health check, two Discover Versions on a
 * new connection. */
static void test_vcenter(void)
{
	struct shape s;
	if (!shape_open(&s, "vcenter"))
		return;
	uint8_t ubi[8];
	for (int i = 0; i < 2; i++) {
		struct msg m;
		msg_begin(&m, 1, NULL, 1);
		if (i == 0)
			(void)item_begin(&m, KMIP_OPERATION_DISCOVER_VERSIONS, NULL, 0);
		else
			(void)item_begin(&m, KMIP_OPERATION_DISCOVER_VERSIONS, vc_ubi(&s, ubi), 8);
		item_end(&m);
		msg_end(&m);
		struct resp r;
		bool ok = exchange(&s, &m, &r) && success(&r, 0);
		/* with no list, every version fount speaks: 1.4 first (§4.26) */
		const struct ttlv_item *pv = ok ? ttlv_find(payload(&r, 0), KMIP_TAG_PROTOCOL_VERSION) : NULL;
		ok = ok && pv != NULL && ttlv_int(ttlv_find(pv, KMIP_TAG_PROTOCOL_VERSION_MINOR)) == 4;
		resp_free(&r);
		step(&s, i == 0 ? "Discover Versions (no UBI)" : "Discover Versions (UBI)", ok, "no 1.4 first");
	}
	{
		struct msg m;
		msg_begin(&m, 1, NULL, 1);
		struct ttlv_enc *e = item_begin(&m, KMIP_OPERATION_QUERY, vc_ubi(&s, ubi), 8);
		ttlv_enc_enum(e, KMIP_TAG_QUERY_FUNCTION, KMIP_QUERY_FUNCTION_QUERY_SERVER_INFORMATION);
		item_end(&m);
		msg_end(&m);
		struct resp r;
		char vendor[64] = "";
		bool ok = exchange(&s, &m, &r) && success(&r, 0) &&
			  text(payload(&r, 0), KMIP_TAG_VENDOR_IDENTIFICATION, vendor, sizeof vendor);
		resp_free(&r);
		step(&s, "Query Server Information", ok && strcmp(vendor, "fount") == 0, "vendor \"%s\"", vendor);
	}
	char uid[KMIP_UID_MAX + 1] = "";
	if (!create_aes(&s, "Create AES-256 mask 12", 1, NULL, vc_ubi(&s, ubi), 8, 12, NULL, -1, uid))
		goto out;
	/* one x- name per Get Attributes: none is set, so success carrying only
	 * the UID (PyKMIP's answer, which vCenter accepts) */
	static const char *const probes[] = {"x-Product_Version", "x-Vendor", "x-Product"};
	for (size_t i = 0; i < ARRAY_SIZE(probes); i++) {
		struct resp r;
		char got[KMIP_UID_MAX + 1] = "", label[64];
		bool ok = get_attrs(&s, 1, NULL, uid, &probes[i], 1, vc_ubi(&s, ubi), 8, &r) && success(&r, 0) &&
			  text(payload(&r, 0), KMIP_TAG_UNIQUE_IDENTIFIER, got, sizeof got) && strcmp(got, uid) == 0 &&
			  ttlv_find(payload(&r, 0), KMIP_TAG_ATTRIBUTE) == NULL;
		resp_free(&r);
		snprintf(label, sizeof label, "Get Attributes(%s) unset", probes[i]);
		step(&s, label, ok, "not success with the UID alone");
	}
	/* BatchCount 3 of Add Attribute (operation 13), as PyKMIP #661 shows */
	static const char *const tags[][2] = {{"x-Product_Version", "7.0.3 build-19480866"},
					      {"x-Vendor", "VMware, Inc."},
					      {"x-Product", "VMware vSphere"}};
	bool added = false;
	{
		struct msg m;
		msg_begin(&m, 1, NULL, 3);
		for (size_t i = 0; i < 3; i++) {
			struct ttlv_enc *e = item_begin(&m, KMIP_OPERATION_ADD_ATTRIBUTE, vc_ubi(&s, ubi), 8);
			ttlv_enc_cstr(e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
			note_asked(&m, tags[i][0]);
			a_text(e, tags[i][0], tags[i][1], -1);
			item_end(&m);
		}
		msg_end(&m);
		struct resp r;
		char sum[300] = "no response";
		bool ok = exchange(&s, &m, &r);
		if (ok)
			summary(&r, 0, sum, sizeof sum);
		for (size_t i = 0; ok && i < 3; i++) {
			/* KMIP 1.4 §4.13: the answer echoes the attribute with its value */
			const struct ttlv_item *v = attr(payload(&r, i), tags[i][0]);
			ok = success(&r, i) && text_is(v, tags[i][1]);
			if (!ok)
				summary(&r, i, sum, sizeof sum);
		}
		resp_free(&r);
		added = step(&s, "3x AddAttribute", ok, "%s", sum);
	}
	if (added) {
		struct resp r;
		bool ok = get_attrs(&s, 1, NULL, uid, &probes[1], 1, vc_ubi(&s, ubi), 8, &r) && success(&r, 0) &&
			  text_is(attr(payload(&r, 0), "x-Vendor"), "VMware, Inc.");
		resp_free(&r);
		step(&s, "Get Attributes(x-Vendor) after Add", ok, "x-Vendor is not \"VMware, Inc.\"");
	}
	get_key(&s, "Get (UID only)", 1, NULL, uid, vc_ubi(&s, ubi), 8, NULL);
	state_is(&s, "Get Attributes(State) Pre-Active", 1, NULL, uid, KMIP_STATE_PRE_ACTIVE, vc_ubi(&s, ubi), 8);
	simple(&s, "Activate", 1, NULL, KMIP_OPERATION_ACTIVATE, uid, vc_ubi(&s, ubi), 8, NULL);
	state_is(&s, "Get Attributes(State) Active", 1, NULL, uid, KMIP_STATE_ACTIVE, vc_ubi(&s, ubi), 8);
	/* the idle health check: a new, short session of two Discover Versions */
	char why[256] = "";
	EXPECT_OK(kmipc_connect(s.k, why, sizeof why));
	s.counter = 0;
	for (int i = 0; i < 2; i++) {
		struct msg m;
		msg_begin(&m, 1, NULL, 1);
		(void)item_begin(&m, KMIP_OPERATION_DISCOVER_VERSIONS, i == 0 ? NULL : vc_ubi(&s, ubi), i == 0 ? 0 : 8);
		item_end(&m);
		msg_end(&m);
		struct resp r;
		bool ok = exchange(&s, &m, &r) && success(&r, 0);
		resp_free(&r);
		step(&s, i == 0 ? "health check Discover Versions 1" : "health check Discover Versions 2", ok, "failed");
	}
out:
	shape_close(&s);
}

/* mongod Enterprise encryption at rest at KMIP 1.2 (kmip_request.cpp):
 * header ProtocolVersion and BatchCount only, one item per message:
 * Create {AES, 256, Encrypt|Decrypt} → Get → Activate → Get Attributes
 * (State), then the poll on a new connection; the audit log's Encrypt
 * with UID + Data and no Cryptographic Parameters, and Decrypt with the
 * IV it got back. */
static void test_mongod(void)
{
	struct shape s;
	if (!shape_open(&s, "mongod"))
		return;
	char uid[KMIP_UID_MAX + 1] = "";
	if (!create_aes(&s, "Create AES-256 Encrypt|Decrypt", 2, NULL, NULL, 0, MASK_ED, NULL, -1, uid))
		goto out;
	get_key(&s, "Get", 2, NULL, uid, NULL, 0, NULL);
	simple(&s, "Activate", 2, NULL, KMIP_OPERATION_ACTIVATE, uid, NULL, 0, NULL);
	state_is(&s, "Get Attributes(State) Active", 2, NULL, uid, KMIP_STATE_ACTIVE, NULL, 0);
	char why[256] = "";
	EXPECT_OK(kmipc_connect(s.k, why, sizeof why));
	state_is(&s, "poll Get Attributes(State) on a new connection", 2, NULL, uid, KMIP_STATE_ACTIVE, NULL, 0);
	/* the audit log: Encrypt with no Cryptographic Parameters */
	static const uint8_t plain[32] = "mongod audit log record, 32 B..";
	uint8_t iv[16], ct[128];
	size_t iv_len = 0, ct_len = 0;
	{
		struct msg m;
		msg_begin(&m, 2, NULL, 1);
		struct ttlv_enc *e = item_begin(&m, KMIP_OPERATION_ENCRYPT, NULL, 0);
		ttlv_enc_cstr(e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
		ttlv_enc_bytes(e, KMIP_TAG_DATA, plain, sizeof plain);
		item_end(&m);
		msg_end(&m);
		struct resp r;
		char sum[300] = "no response";
		bool ok = exchange(&s, &m, &r);
		if (ok)
			summary(&r, 0, sum, sizeof sum);
		const struct ttlv_item *d = ok ? ttlv_find(payload(&r, 0), KMIP_TAG_DATA) : NULL;
		const struct ttlv_item *v = ok ? ttlv_find(payload(&r, 0), KMIP_TAG_IV_COUNTER_NONCE) : NULL;
		ok = ok && success(&r, 0) && d != NULL && d->type == TTLV_BYTES && d->len >= sizeof plain &&
		     d->len <= sizeof ct && (v == NULL || (v->type == TTLV_BYTES && v->len <= sizeof iv));
		if (ok) {
			memcpy(ct, d->val, d->len);
			ct_len = d->len;
			if (v != NULL) {
				memcpy(iv, v->val, v->len);
				iv_len = v->len;
			}
		}
		resp_free(&r);
		if (!step(&s, "Encrypt without Cryptographic Parameters", ok, "%s", sum))
			goto out;
	}
	{
		struct msg m;
		msg_begin(&m, 2, NULL, 1);
		struct ttlv_enc *e = item_begin(&m, KMIP_OPERATION_DECRYPT, NULL, 0);
		ttlv_enc_cstr(e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
		ttlv_enc_bytes(e, KMIP_TAG_DATA, ct, ct_len);
		if (iv_len > 0)
			ttlv_enc_bytes(e, KMIP_TAG_IV_COUNTER_NONCE, iv, iv_len);
		item_end(&m);
		msg_end(&m);
		struct resp r;
		char sum[300] = "no response";
		bool ok = exchange(&s, &m, &r);
		if (ok)
			summary(&r, 0, sum, sizeof sum);
		const struct ttlv_item *d = ok ? ttlv_find(payload(&r, 0), KMIP_TAG_DATA) : NULL;
		ok = ok && success(&r, 0) && d != NULL && d->len == sizeof plain && memcmp(d->val, plain, d->len) == 0;
		resp_free(&r);
		step(&s, "Decrypt with the IV it got", ok, "%s", sum);
	}
out:
	shape_close(&s);
}

/* libmongocrypt (kms_kmip_request.c, mongocrypt-ctx-datakey.c): KMIP 1.0
 * Register of a 96-byte SecretData, type Seed, format Opaque, mask 0 →
 * Activate (the UID read from its answer) → Get; and `delegated` at 1.2:
 * Create AES-256 mask 12 → Activate → Encrypt {CBC, PKCS5, AES, Random IV}
 * (the answer needs a 16-byte IV) → Decrypt with that IV. */
static void test_libmongocrypt(void)
{
	struct shape s;
	if (!shape_open(&s, "libmongocrypt"))
		return;
	uint8_t seed[96];
	for (size_t i = 0; i < sizeof seed; i++)
		seed[i] = (uint8_t)(0xA5 ^ i);
	char uid[KMIP_UID_MAX + 1] = "";
	{
		struct msg m;
		msg_begin(&m, 0, NULL, 1);
		struct ttlv_enc *e = item_begin(&m, KMIP_OPERATION_REGISTER, NULL, 0);
		ttlv_enc_enum(e, KMIP_TAG_OBJECT_TYPE, KMIP_OBJECT_TYPE_SECRET_DATA);
		ttlv_enc_begin(e, KMIP_TAG_TEMPLATE_ATTRIBUTE);
		a_int(e, "Cryptographic Usage Mask", 0, -1);
		ttlv_enc_end(e);
		ttlv_enc_begin(e, KMIP_TAG_SECRET_DATA);
		ttlv_enc_enum(e, KMIP_TAG_SECRET_DATA_TYPE, KMIP_SECRET_DATA_TYPE_SEED);
		ttlv_enc_begin(e, KMIP_TAG_KEY_BLOCK);
		ttlv_enc_enum(e, KMIP_TAG_KEY_FORMAT_TYPE, KMIP_KEY_FORMAT_TYPE_OPAQUE);
		ttlv_enc_begin(e, KMIP_TAG_KEY_VALUE);
		ttlv_enc_bytes(e, KMIP_TAG_KEY_MATERIAL, seed, sizeof seed);
		ttlv_enc_end(e);
		ttlv_enc_end(e);
		ttlv_enc_end(e);
		item_end(&m);
		msg_end(&m);
		struct resp r;
		char sum[300] = "no response";
		bool ok = exchange(&s, &m, &r);
		if (ok)
			summary(&r, 0, sum, sizeof sum);
		ok = ok && success(&r, 0) && text(payload(&r, 0), KMIP_TAG_UNIQUE_IDENTIFIER, uid, sizeof uid);
		resp_free(&r);
		ok = step(&s, "Register SecretData Seed Opaque mask 0", ok, "%s", sum);
		if (ok && simple(&s, "Activate (UID from its answer)", 0, NULL, KMIP_OPERATION_ACTIVATE, uid, NULL, 0, NULL)) {
			struct resp g;
			ok = simple(&s, "Get", 0, NULL, KMIP_OPERATION_GET, uid, NULL, 0, &g);
			const struct ttlv_item *km = ttlv_find(
				ttlv_find(ttlv_find(ttlv_find(payload(&g, 0), KMIP_TAG_SECRET_DATA), KMIP_TAG_KEY_BLOCK),
					  KMIP_TAG_KEY_VALUE),
				KMIP_TAG_KEY_MATERIAL);
			if (ok)
				step(&s, "  SecretData > KeyBlock > KeyValue > KeyMaterial", km != NULL && km->type == TTLV_BYTES &&
				     km->len == sizeof seed && memcmp(km->val, seed, sizeof seed) == 0, "not the 96 bytes");
			resp_free(&g);
		}
	}
	/* delegated */
	if (!create_aes(&s, "delegated Create AES-256 mask 12", 2, NULL, NULL, 0, 12, NULL, -1, uid) ||
	    !simple(&s, "delegated Activate", 2, NULL, KMIP_OPERATION_ACTIVATE, uid, NULL, 0, NULL))
		goto out;
	static const uint8_t plain[32] = "a data key to wrap, 32 bytes...";
	uint8_t iv[16], ct[128];
	size_t ct_len = 0;
	for (int dec = 0; dec < 2; dec++) {
		struct msg m;
		msg_begin(&m, 2, NULL, 1);
		struct ttlv_enc *e = item_begin(&m, dec ? KMIP_OPERATION_DECRYPT : KMIP_OPERATION_ENCRYPT, NULL, 0);
		ttlv_enc_cstr(e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
		ttlv_enc_begin(e, KMIP_TAG_CRYPTOGRAPHIC_PARAMETERS);
		ttlv_enc_enum(e, KMIP_TAG_BLOCK_CIPHER_MODE, KMIP_BLOCK_CIPHER_MODE_CBC);
		ttlv_enc_enum(e, KMIP_TAG_PADDING_METHOD, KMIP_PADDING_METHOD_PKCS5);
		ttlv_enc_enum(e, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM, KMIP_CRYPTOGRAPHIC_ALGORITHM_AES);
		if (!dec)
			ttlv_enc_bool(e, KMIP_TAG_RANDOM_IV, true);
		ttlv_enc_end(e);
		ttlv_enc_bytes(e, KMIP_TAG_DATA, dec ? ct : plain, dec ? ct_len : sizeof plain);
		if (dec)
			ttlv_enc_bytes(e, KMIP_TAG_IV_COUNTER_NONCE, iv, sizeof iv);
		item_end(&m);
		msg_end(&m);
		struct resp r;
		char sum[300] = "no response";
		bool ok = exchange(&s, &m, &r);
		if (ok)
			summary(&r, 0, sum, sizeof sum);
		const struct ttlv_item *d = ok ? ttlv_find(payload(&r, 0), KMIP_TAG_DATA) : NULL;
		const struct ttlv_item *v = ok ? ttlv_find(payload(&r, 0), KMIP_TAG_IV_COUNTER_NONCE) : NULL;
		if (!dec) {
			/* mongocrypt-kms-ctx.c: an IV of exactly 16 bytes; CBC-PKCS5 of 32 bytes is 48 */
			ok = ok && success(&r, 0) && d != NULL && d->len == 48 && v != NULL && v->len == 16;
			if (ok) {
				memcpy(ct, d->val, d->len);
				ct_len = d->len;
				memcpy(iv, v->val, 16);
			}
		} else {
			ok = ok && success(&r, 0) && d != NULL && d->len == sizeof plain && memcmp(d->val, plain, d->len) == 0;
		}
		resp_free(&r);
		if (!step(&s, dec ? "delegated Decrypt with the IV" : "delegated Encrypt CBC PKCS5 RandomIV", ok, "%s", sum))
			break;
	}
out:
	shape_close(&s);
}

/* Percona Server for MongoDB (kmip_exchange.cpp): KMIP 1.0 with Maximum
 * Response Size and TimeStamp in the header; Get of an unknown id is Item
 * Not Found ("no key"); Register a Raw AES key → Activate (same UID) →
 * Get (the same bytes, unwrapped) → Get Attributes(State). */
static void test_psmdb(void)
{
	struct shape s;
	if (!shape_open(&s, "psmdb"))
		return;
	const struct hdr h = {.timestamp = true, .max_response = 8192};
	{
		struct msg m;
		msg_begin(&m, 0, &h, 1);
		struct ttlv_enc *e = item_begin(&m, KMIP_OPERATION_GET, NULL, 0);
		ttlv_enc_cstr(e, KMIP_TAG_UNIQUE_IDENTIFIER, "no-such-key-0000");
		item_end(&m);
		msg_end(&m);
		struct resp r;
		char sum[300] = "no response";
		bool ok = exchange(&s, &m, &r);
		if (ok)
			summary(&r, 0, sum, sizeof sum);
		ok = ok && !success(&r, 0) && reason(&r, 0) == KMIP_RESULT_REASON_ITEM_NOT_FOUND;
		resp_free(&r);
		step(&s, "Get of an unknown id: Item Not Found", ok, "%s", sum);
	}
	uint8_t key[32];
	test_key(key, 0x31);
	char uid[KMIP_UID_MAX + 1] = "";
	const uint8_t *want = key;
	if (!register_aes(&s, "Register SymmetricKey Raw", 0, &h, key, NULL, NULL, uid))
		goto out;
	state_is(&s, "Get Attributes(State) Pre-Active", 0, &h, uid, KMIP_STATE_PRE_ACTIVE, NULL, 0);
	simple(&s, "Activate (same UID)", 0, &h, KMIP_OPERATION_ACTIVATE, uid, NULL, 0, NULL);
	get_key(&s, "Get", 0, &h, uid, NULL, 0, want);
	state_is(&s, "Get Attributes(State) Active", 0, &h, uid, KMIP_STATE_ACTIVE, NULL, 0);
	/* all attributes at 1.0: the validator refuses any 1.0 does not define */
	{
		struct resp r;
		bool ok = get_attrs(&s, 0, &h, uid, NULL, 0, NULL, 0, &r) && success(&r, 0);
		const struct ttlv_item *st = ok ? attr(payload(&r, 0), "State") : NULL;
		const struct ttlv_item *ln = ok ? attr(payload(&r, 0), "Cryptographic Length") : NULL;
		ok = ok && st != NULL && st->u == KMIP_STATE_ACTIVE && ln != NULL && ttlv_int(ln) == 256;
		resp_free(&r);
		step(&s, "Get Attributes (all) at 1.0", ok, "no State Active and Length 256");
	}
out:
	shape_close(&s);
}

/* locate_page sends kmippp's Locate {Maximum Items 16, Offset Items, [filters]} */
static bool locate_page(struct shape *s, int32_t minor, int32_t offset, const char *group, const char *name,
			bool in_template, struct resp *r)
{
	struct msg m;
	msg_begin(&m, minor, NULL, 1);
	struct ttlv_enc *e = item_begin(&m, KMIP_OPERATION_LOCATE, NULL, 0);
	if (offset >= 0) {
		ttlv_enc_int(e, KMIP_TAG_MAXIMUM_ITEMS, 16);
		ttlv_enc_int(e, KMIP_TAG_OFFSET_ITEMS, offset); /* libkmip sends it even at 1.0 */
	}
	if (in_template)
		ttlv_enc_begin(e, KMIP_TAG_TEMPLATE_ATTRIBUTE);
	a_enum(e, "Object Type", KMIP_OBJECT_TYPE_SYMMETRIC_KEY, -1);
	if (group != NULL)
		a_text(e, "Object Group", group, -1);
	if (name != NULL)
		a_name(e, name, -1);
	if (in_template)
		ttlv_enc_end(e);
	item_end(&m);
	msg_end(&m);
	return exchange(s, &m, r) && success(r, 0);
}

#define MYSQL_KEYS 20

/* kmippp / Percona Server for MySQL component_keyring_kmip (kmippp.cpp,
 * backend.cc; libkmip's kmip_bio.c picks 1.0 or 1.4 per call, so one
 * connection mixes them): Locate in pages of 16 with Offset Items until a
 * page is empty (no Located Items at 1.0) — it must end; Get (1.0) and Get
 * Attributes(Name) (1.4) of each; Register with Name and an empty Object
 * Group (1.4) → Activate (1.0); Revoke reason 1 → Destroy (1.0), after
 * which Locate no longer shows it. */
static void test_kmippp(void)
{
	struct shape s;
	if (!shape_open(&s, "kmippp"))
		return;
	/* keys of one group, so paging over exactly them can be checked */
	char group[48], ids[MYSQL_KEYS][KMIP_UID_MAX + 1];
	snprintf(group, sizeof group, "mysql-%ld", (long)time(NULL));
	bool made = true;
	for (int i = 0; i < MYSQL_KEYS && made; i++) {
		struct msg m;
		char name[64];
		snprintf(name, sizeof name, "%s-key-%02d", group, i);
		msg_begin(&m, 0, NULL, 1);
		struct ttlv_enc *e = item_begin(&m, KMIP_OPERATION_CREATE, NULL, 0);
		ttlv_enc_enum(e, KMIP_TAG_OBJECT_TYPE, KMIP_OBJECT_TYPE_SYMMETRIC_KEY);
		ttlv_enc_begin(e, KMIP_TAG_TEMPLATE_ATTRIBUTE);
		a_enum(e, "Cryptographic Algorithm", KMIP_CRYPTOGRAPHIC_ALGORITHM_AES, -1);
		a_int(e, "Cryptographic Length", 256, -1);
		a_int(e, "Cryptographic Usage Mask", MASK_ED, -1);
		a_name(e, name, -1);
		a_text(e, "Object Group", group, -1);
		ttlv_enc_end(e);
		item_end(&m);
		msg_end(&m);
		struct resp r;
		made = exchange(&s, &m, &r) && success(&r, 0) &&
		       text(payload(&r, 0), KMIP_TAG_UNIQUE_IDENTIFIER, ids[i], sizeof ids[i]);
		resp_free(&r);
	}
	if (!step(&s, "setup: 20 keys of one Object Group (1.0 Create)", made, "a Create failed"))
		goto out;
	/* the paging loop of op_all, at 1.0 and at 1.4 */
	for (int32_t minor = 0; minor <= 4; minor += 4) {
		char seen[MYSQL_KEYS + 16][KMIP_UID_MAX + 1];
		size_t n_seen = 0;
		int pages = 0;
		bool ok = true, dup = false, big = false;
		int32_t located = -1;
		for (; ok && pages < 6; pages++) {
			struct resp r;
			ok = locate_page(&s, minor, (int32_t)n_seen, group, NULL, false, &r);
			const struct ttlv_item *li = ok ? ttlv_find(payload(&r, 0), KMIP_TAG_LOCATED_ITEMS) : NULL;
			if (li != NULL)
				located = ttlv_int(li);
			size_t k = 0;
			for (const struct ttlv_item *u = ok ? ttlv_find(payload(&r, 0), KMIP_TAG_UNIQUE_IDENTIFIER) : NULL;
			     u != NULL; u = ttlv_find_next(u), k++) {
				if (n_seen >= ARRAY_SIZE(seen) || u->len > KMIP_UID_MAX) {
					big = true;
					break;
				}
				memcpy(seen[n_seen], u->val, u->len);
				seen[n_seen][u->len] = '\0';
				for (size_t j = 0; j < n_seen; j++)
					dup = dup || strcmp(seen[j], seen[n_seen]) == 0;
				n_seen++;
			}
			resp_free(&r);
			big = big || k > 16;
			if (k == 0)
				break;
		}
		bool all = true;
		for (int i = 0; i < MYSQL_KEYS; i++) {
			bool found = false;
			for (size_t j = 0; j < n_seen; j++)
				found = found || strcmp(seen[j], ids[i]) == 0;
			all = all && found;
		}
		/* 16 + 4 + an empty page; Located Items only where 1.3+ defines it */
		ok = ok && !dup && !big && all && n_seen == MYSQL_KEYS && pages == 2 &&
		     (minor >= 3 ? located == MYSQL_KEYS : located == -1);
		step(&s, minor == 0 ? "Locate pages of 16 with Offset Items (1.0)" : "Locate pages of 16 with Offset Items (1.4)",
		     ok, "%zu ids in %d pages, duplicates %d, Located Items %d", n_seen, pages + 1, dup, located);
	}
	/* start-up: Get (1.0), then Get Attributes(Name) (1.4), for one key */
	{
		struct resp r;
		bool ok = simple(&s, "Get (1.0)", 0, NULL, KMIP_OPERATION_GET, ids[3], NULL, 0, &r);
		resp_free(&r);
		static const char *const nm[] = {"Name"};
		char want[64];
		snprintf(want, sizeof want, "%s-key-03", group);
		ok = ok && get_attrs(&s, 4, NULL, ids[3], nm, 1, NULL, 0, &r) && success(&r, 0) &&
		     text_is(ttlv_find(attr(payload(&r, 0), "Name"), KMIP_TAG_NAME_VALUE), want);
		resp_free(&r);
		step(&s, "Get Attributes(Name) (1.4)", ok, "the Name is not %s", want);
	}
	/* store: Register {Name, Object Group ""} at 1.4 → Activate at 1.0 */
	uint8_t key[32];
	test_key(key, 0x51);
	char uid[KMIP_UID_MAX + 1] = "", name[64];
	snprintf(name, sizeof name, "%s-stored", group);
	if (!register_aes(&s, "Register with Name and empty Object Group", 4, NULL, key, name, "", uid))
		goto out;
	simple(&s, "Activate (1.0)", 0, NULL, KMIP_OPERATION_ACTIVATE, uid, NULL, 0, NULL);
	/* erase: Revoke (reason 1, Unspecified) → Destroy, both 1.0 */
	{
		struct msg m;
		msg_begin(&m, 0, NULL, 1);
		struct ttlv_enc *e = item_begin(&m, KMIP_OPERATION_REVOKE, NULL, 0);
		ttlv_enc_cstr(e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
		ttlv_enc_begin(e, KMIP_TAG_REVOCATION_REASON);
		ttlv_enc_enum(e, KMIP_TAG_REVOCATION_REASON_CODE, KMIP_REVOCATION_REASON_CODE_UNSPECIFIED);
		ttlv_enc_end(e);
		item_end(&m);
		msg_end(&m);
		struct resp r;
		char sum[300] = "no response";
		bool ok = exchange(&s, &m, &r);
		if (ok)
			summary(&r, 0, sum, sizeof sum);
		ok = ok && success(&r, 0);
		resp_free(&r);
		step(&s, "Revoke reason 1 (1.0)", ok, "%s", sum);
	}
	simple(&s, "Destroy (1.0)", 0, NULL, KMIP_OPERATION_DESTROY, uid, NULL, 0, NULL);
	{
		struct resp r;
		bool ok = locate_page(&s, 0, -1, NULL, name, false, &r) &&
			  ttlv_find(payload(&r, 0), KMIP_TAG_UNIQUE_IDENTIFIER) == NULL;
		resp_free(&r);
		step(&s, "Locate(Name) of the destroyed key: none", ok, "Locate still shows it");
	}
out:
	shape_close(&s);
}

/* pg_tde (keyring_kmip.cpp) at KMIP 1.4: Register(Name) → Locate(Name,
 * SymmetricKey) = exactly one → the kmipclient op_get_key batch: Get +
 * Get Attributes(State, Name, Operation Policy Name, Cryptographic
 * Algorithm, Length, Usage Mask), matched by Unique Batch Item ID, State
 * required. */
static void test_pg_tde(void)
{
	struct shape s;
	if (!shape_open(&s, "pg_tde"))
		return;
	char name[64], uid[KMIP_UID_MAX + 1] = "";
	snprintf(name, sizeof name, "pg_tde-principal-%ld", (long)time(NULL));
	uint8_t key[32];
	test_key(key, 0x77);
	const uint8_t *want = key;
	if (!register_aes(&s, "Register with Name", 4, NULL, key, name, NULL, uid))
		goto out;
	{
		struct resp r;
		char got[KMIP_UID_MAX + 1] = "";
		bool ok = locate_page(&s, 4, -1, NULL, name, false, &r);
		const struct ttlv_item *u = ok ? ttlv_find(payload(&r, 0), KMIP_TAG_UNIQUE_IDENTIFIER) : NULL;
		ok = ok && u != NULL && ttlv_find_next(u) == NULL && text(payload(&r, 0), KMIP_TAG_UNIQUE_IDENTIFIER, got, sizeof got) &&
		     strcmp(got, uid) == 0;
		resp_free(&r);
		step(&s, "Locate(Name) exactly one", ok, "not exactly the registered key");
	}
	{
		struct msg m;
		msg_begin(&m, 4, NULL, 2);
		struct ttlv_enc *e = item_begin(&m, KMIP_OPERATION_GET, "\x01", 1);
		ttlv_enc_cstr(e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
		item_end(&m);
		e = item_begin(&m, KMIP_OPERATION_GET_ATTRIBUTES, "\x02", 1);
		ttlv_enc_cstr(e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
		static const char *const names[] = {"State", "Name", "Operation Policy Name", "Cryptographic Algorithm",
						    "Cryptographic Length", "Cryptographic Usage Mask"};
		for (size_t i = 0; i < ARRAY_SIZE(names); i++)
			ask(&m, names[i]);
		item_end(&m);
		msg_end(&m);
		struct resp r;
		char sum[300] = "no response", why[200] = "";
		bool ok = exchange(&s, &m, &r);
		if (ok)
			summary(&r, 1, sum, sizeof sum);
		ok = ok && success(&r, 0) && success(&r, 1) && key_block(&r, uid, 32, want, why, sizeof why);
		const struct ttlv_item *st = ok ? attr(payload(&r, 1), "State") : NULL;
		const struct ttlv_item *nv = ok ? ttlv_find(attr(payload(&r, 1), "Name"), KMIP_TAG_NAME_VALUE) : NULL;
		const struct ttlv_item *al = ok ? attr(payload(&r, 1), "Cryptographic Algorithm") : NULL;
		ok = ok && st != NULL && st->u == KMIP_STATE_PRE_ACTIVE && text_is(nv, name) && al != NULL &&
		     al->u == KMIP_CRYPTOGRAPHIC_ALGORITHM_AES;
		resp_free(&r);
		step(&s, "batched Get + Get Attributes(State, Name, ...)", ok, "%s %s", sum, why);
	}
out:
	shape_close(&s);
}

/* MySQL Enterprise keyring_okv (Cosmian mysql.rs): KMIP 1.1, header
 * Maximum Response Size 280000, attributes carrying Attribute Index 0
 * (before the value), a Locate with a Storage Status Mask. */
static void test_keyring_okv(void)
{
	struct shape s;
	if (!shape_open(&s, "keyring_okv"))
		return;
	const struct hdr h = {.max_response = 280000};
	char name[64], uid[KMIP_UID_MAX + 1] = "";
	snprintf(name, sizeof name, "okv-%ld", (long)time(NULL));
	if (!create_aes(&s, "Create, attributes with Attribute Index 0", 1, &h, NULL, 0, MASK_ED, name, 0, uid))
		goto out;
	{
		struct msg m;
		msg_begin(&m, 1, &h, 1);
		struct ttlv_enc *e = item_begin(&m, KMIP_OPERATION_LOCATE, NULL, 0);
		ttlv_enc_int(e, KMIP_TAG_STORAGE_STATUS_MASK, KMIP_STORAGE_STATUS_MASK_ON_LINE_STORAGE);
		a_name(e, name, 0);
		item_end(&m);
		msg_end(&m);
		struct resp r;
		char got[KMIP_UID_MAX + 1] = "", sum[300] = "no response";
		bool ok = exchange(&s, &m, &r);
		if (ok)
			summary(&r, 0, sum, sizeof sum);
		ok = ok && success(&r, 0) && text(payload(&r, 0), KMIP_TAG_UNIQUE_IDENTIFIER, got, sizeof got) &&
		     strcmp(got, uid) == 0;
		resp_free(&r);
		step(&s, "Locate with Storage Status Mask, Name index 0", ok, "%s", sum);
	}
	get_key(&s, "Get", 1, &h, uid, NULL, 0, NULL);
	{
		static const char *const nm[] = {"Name"};
		struct resp r;
		bool ok = get_attrs(&s, 1, &h, uid, nm, 1, NULL, 0, &r) && success(&r, 0);
		/* KMIP 1.4 §2.1.1: an answer's attribute carries its index when not 0, or always */
		const struct ttlv_item *a = ok ? ttlv_find(payload(&r, 0), KMIP_TAG_ATTRIBUTE) : NULL;
		const struct ttlv_item *ix = ttlv_find(a, KMIP_TAG_ATTRIBUTE_INDEX);
		ok = ok && a != NULL && (ix == NULL || ttlv_int(ix) == 0) &&
		     text_is(ttlv_find(ttlv_find(a, KMIP_TAG_ATTRIBUTE_VALUE), KMIP_TAG_NAME_VALUE), name);
		resp_free(&r);
		step(&s, "Get Attributes(Name)", ok, "no Name %s at index 0", name);
	}
out:
	shape_close(&s);
}

/* FortiOS 7.4 (Cosmian fortigate.md, #824): Authentication { Credential }
 * nested in the header; Create → Locate with its filters inside a
 * Template Attribute → Get → Destroy. */
static void test_fortios(void)
{
	struct shape s;
	if (!shape_open(&s, "fortios"))
		return;
	const struct hdr h = {.auth = true};
	char name[64], uid[KMIP_UID_MAX + 1] = "";
	snprintf(name, sizeof name, "fortigate-%ld", (long)time(NULL));
	if (!create_aes(&s, "Create (Authentication in the header)", 4, &h, NULL, 0, MASK_ED, name, -1, uid))
		goto out;
	{
		struct resp r;
		char got[KMIP_UID_MAX + 1] = "";
		bool ok = locate_page(&s, 4, -1, NULL, name, true, &r);
		const struct ttlv_item *u = ok ? ttlv_find(payload(&r, 0), KMIP_TAG_UNIQUE_IDENTIFIER) : NULL;
		ok = ok && u != NULL && ttlv_find_next(u) == NULL &&
		     text(payload(&r, 0), KMIP_TAG_UNIQUE_IDENTIFIER, got, sizeof got) && strcmp(got, uid) == 0;
		resp_free(&r);
		step(&s, "Locate, filters inside Template Attribute", ok, "not exactly the created key");
	}
	get_key(&s, "Get", 4, &h, uid, NULL, 0, NULL);
	simple(&s, "Destroy (Pre-Active)", 4, &h, KMIP_OPERATION_DESTROY, uid, NULL, 0, NULL);
out:
	shape_close(&s);
}

/* get_failure sends Get(|uid|) and copies its Result Message with the id
 * taken out; the Result Reason is returned */
static uint32_t get_failure(struct shape *s, const char *uid, char *msg, size_t n)
{
	struct msg m;
	msg_begin(&m, 4, NULL, 1);
	struct ttlv_enc *e = item_begin(&m, KMIP_OPERATION_GET, NULL, 0);
	ttlv_enc_cstr(e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
	item_end(&m);
	msg_end(&m);
	struct resp r;
	msg[0] = '\0';
	if (!exchange(s, &m, &r))
		return 0;
	uint32_t why = success(&r, 0) ? 0 : reason(&r, 0);
	char full[KMIP_MESSAGE_MAX + 1] = "";
	(void)text(item(&r, 0), KMIP_TAG_RESULT_MESSAGE, full, sizeof full);
	resp_free(&r);
	char *at = strstr(full, uid);
	if (at != NULL)
		memmove(at, at + strlen(uid), strlen(at + strlen(uid)) + 1);
	snprintf(msg, n, "%s", full);
	return why;
}

/* Tenancy as Percona MySQL's start-up needs it (kmip-clients.md §6): a
 * second tenant (its own certificate from `fount ca issue`) does not see
 * the first one's key in Locate, by Name or Object Group, and Get,
 * Activate and Destroy of it answer exactly what an unknown id gets. */
static void test_tenancy(void)
{
	struct shape a, b;
	if (!shape_open(&a, "tenancy"))
		return;
	char cert[256], key[256];
	CU_ASSERT_EQUAL_FATAL(kmip_serve_issue(&srv, "other-tenant", cert, key), 0);
	memset(&b, 0, sizeof b);
	b.name = "tenancy";
	b.k = kmip_serve_client_as(&srv, cert, key);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b.k);
	char name[64], uid[KMIP_UID_MAX + 1] = "";
	snprintf(name, sizeof name, "tenant-a-%ld", (long)time(NULL));
	if (!create_aes(&a, "tenant A: Create with Name", 4, NULL, NULL, 0, MASK_ED, name, -1, uid))
		goto out;
	struct resp r;
	bool ok = locate_page(&b, 4, -1, NULL, name, false, &r) && ttlv_find(payload(&r, 0), KMIP_TAG_UNIQUE_IDENTIFIER) == NULL;
	resp_free(&r);
	step(&b, "tenant B: Locate(Name) of A's key: none", ok, "B sees A's key");
	/* B owns nothing: the other shapes' keys (all tenant "default") stay hidden too */
	ok = locate_page(&b, 0, -1, NULL, NULL, false, &r) && ttlv_find(payload(&r, 0), KMIP_TAG_UNIQUE_IDENTIFIER) == NULL;
	resp_free(&r);
	step(&b, "tenant B: Locate(all Symmetric Keys) finds none", ok, "B's Locate lists another tenant's keys");
	/* an unknown id of the same length, so the two messages can be compared */
	char unknown[KMIP_UID_MAX + 1];
	snprintf(unknown, sizeof unknown, "%s", uid);
	unknown[strlen(unknown) - 1] = unknown[strlen(unknown) - 1] == '0' ? '1' : '0';
	char m1[KMIP_MESSAGE_MAX + 1], m2[KMIP_MESSAGE_MAX + 1];
	uint32_t r1 = get_failure(&b, uid, m1, sizeof m1), r2 = get_failure(&b, unknown, m2, sizeof m2);
	step(&b, "tenant B: Get of A's key = Get of an unknown id",
	     r1 == KMIP_RESULT_REASON_ITEM_NOT_FOUND && r2 == r1 && strcmp(m1, m2) == 0, "reasons %u/%u, \"%s\" / \"%s\"",
	     (unsigned)r1, (unsigned)r2, m1, m2);
	static const uint32_t ops[] = {KMIP_OPERATION_ACTIVATE, KMIP_OPERATION_DESTROY};
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {
		struct msg m;
		msg_begin(&m, 4, NULL, 1);
		struct ttlv_enc *e = item_begin(&m, ops[i], NULL, 0);
		ttlv_enc_cstr(e, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
		item_end(&m);
		msg_end(&m);
		ok = exchange(&b, &m, &r) && !success(&r, 0) && reason(&r, 0) == KMIP_RESULT_REASON_ITEM_NOT_FOUND;
		resp_free(&r);
		step(&b, i == 0 ? "tenant B: Activate of A's key: Item Not Found" : "tenant B: Destroy of A's key: Item Not Found",
		     ok, "not Item Not Found");
	}
	state_is(&a, "tenant A: its key is untouched (Pre-Active)", 4, NULL, uid, KMIP_STATE_PRE_ACTIVE, NULL, 0);
out:
	shape_close(&a);
	shape_close(&b);
}

/* raw_exchange sends bytes that are not a good request and reads the
 * answer, which must be a failure the validator accepts, Invalid Message */
static void bad_request(const char *label, const uint8_t *p, size_t n, int32_t minor)
{
	struct shape s;
	if (!shape_open(&s, "garbage"))
		return;
	EXPECT_OK(kmipc_send(s.k, p, n));
	const uint8_t *resp = NULL;
	size_t len = 0;
	err_t e = kmipc_recv(s.k, &resp, &len);
	EXPECT_OK(e);
	struct ttlv_doc d = {0};
	bool ok = e == ERR_OK && ttlv_decode(&d, resp, len) == ERR_OK;
	char why[300] = "not decodable";
	if (ok) {
		struct msg m = {.minor = minor};
		const struct ttlv_item *root = ttlv_root(&d);
		/* a readable version must come back; nothing is known of the items */
		ok = validate(minor >= 0 ? &m : NULL, root, why, sizeof why);
		const struct ttlv_item *bi = ttlv_find(root, KMIP_TAG_BATCH_ITEM);
		const struct ttlv_item *rs = ttlv_find(bi, KMIP_TAG_RESULT_STATUS);
		const struct ttlv_item *rr = ttlv_find(bi, KMIP_TAG_RESULT_REASON);
		if (ok && (rs == NULL || rs->u != KMIP_RESULT_STATUS_OPERATION_FAILED || rr == NULL ||
			   rr->u != KMIP_RESULT_REASON_INVALID_MESSAGE)) {
			ok = false;
			snprintf(why, sizeof why, "not Operation Failed / Invalid Message");
		}
	}
	ttlv_doc_free(&d);
	step(&s, label, ok, "%s", why);
	shape_close(&s);
}

/* Garbage and truncated requests get an Invalid Message answer libkmip can
 * read (KMIP 1.4 §11: Result Reason and Message even when nothing parsed) */
static void test_garbage(void)
{
	/* a well-framed Structure whose content is not TTLV */
	uint8_t junk[8 + 24] = {0x42, 0x00, 0x78, 0x01, 0, 0, 0, 24};
	for (size_t i = 8; i < sizeof junk; i++)
		junk[i] = (uint8_t)(0xC3 ^ (i * 29));
	bad_request("framed garbage: Invalid Message", junk, sizeof junk, -1);
	/* a real request (1.2 Discover Versions) whose last item claims more
	 * bytes than the message holds: the version is still readable */
	struct msg m;
	msg_begin(&m, 2, NULL, 1);
	(void)item_begin(&m, KMIP_OPERATION_DISCOVER_VERSIONS, NULL, 0);
	item_end(&m);
	msg_end(&m);
	uint8_t *t = malloc(m.e.len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	memcpy(t, m.e.buf, m.e.len);
	size_t n = m.e.len;
	ttlv_enc_free(&m.e);
	/* the Request Payload is the last item: 8 bytes of header, length 0 */
	CU_ASSERT_EQUAL_FATAL(memcmp(t + n - 8, "\x42\x00\x79\x01\x00\x00\x00\x00", 8), 0);
	t[n - 1] = 0x40;
	bad_request("truncated item: Invalid Message at the request's version", t, n, 2);
	/* a batch item with no Operation */
	msg_begin(&m, 4, NULL, 1);
	ttlv_enc_begin(&m.e, KMIP_TAG_BATCH_ITEM);
	ttlv_enc_begin(&m.e, KMIP_TAG_REQUEST_PAYLOAD);
	ttlv_enc_end(&m.e);
	ttlv_enc_end(&m.e);
	msg_end(&m);
	bad_request("batch item without Operation: Invalid Message", m.e.buf, m.e.len, 4);
	ttlv_enc_free(&m.e);
	free(t);
}

/* The validator itself catches each rule it stands for: responses built by
 * hand that break one rule each are refused. */
static void test_validator_rejects(void)
{
	struct msg q;
	msg_begin(&q, 1, NULL, 1);
	(void)item_begin(&q, KMIP_OPERATION_GET_ATTRIBUTES, "QLKC\x01\0\0\0", 8);
	ask(&q, "State");
	item_end(&q);
	msg_end(&q);
	ttlv_enc_free(&q.e);
	enum { GOOD, NO_TS, EXTRA_HDR, NO_OP, NO_UBI, NO_MSG, ALIEN_ATTR, TWO_ATTRS, V14_ATTR, WRONG_VER, N_CASES };
	static const char *const expect[N_CASES] = {
		"", "exactly ProtocolVersion, TimeStamp", "exactly ProtocolVersion, TimeStamp", "Operation is not first",
		"Unique Batch Item ID is not echoed", "without Result Reason and Result Message",
		"not one of libkmip's 15", "answers 2 attributes", "not defined in KMIP 1.1", "not the request's"};
	for (int c = 0; c < N_CASES; c++) {
		struct ttlv_enc e;
		ttlv_enc_init(&e, 4096);
		ttlv_enc_begin(&e, KMIP_TAG_RESPONSE_MESSAGE);
		ttlv_enc_begin(&e, KMIP_TAG_RESPONSE_HEADER);
		ttlv_enc_begin(&e, KMIP_TAG_PROTOCOL_VERSION);
		ttlv_enc_int(&e, KMIP_TAG_PROTOCOL_VERSION_MAJOR, 1);
		ttlv_enc_int(&e, KMIP_TAG_PROTOCOL_VERSION_MINOR, c == WRONG_VER ? 4 : 1);
		ttlv_enc_end(&e);
		if (c != NO_TS)
			ttlv_enc_datetime(&e, KMIP_TAG_TIME_STAMP, (int64_t)time(NULL));
		if (c == EXTRA_HDR)
			ttlv_enc_bytes(&e, KMIP_TAG_NONCE, (const uint8_t *)"n", 1);
		ttlv_enc_int(&e, KMIP_TAG_BATCH_COUNT, 1);
		ttlv_enc_end(&e);
		ttlv_enc_begin(&e, KMIP_TAG_BATCH_ITEM);
		if (c != NO_OP)
			ttlv_enc_enum(&e, KMIP_TAG_OPERATION, KMIP_OPERATION_GET_ATTRIBUTES);
		if (c != NO_UBI)
			ttlv_enc_bytes(&e, KMIP_TAG_UNIQUE_BATCH_ITEM_ID, (const uint8_t *)"QLKC\x01\0\0\0", 8);
		if (c == NO_MSG) {
			ttlv_enc_enum(&e, KMIP_TAG_RESULT_STATUS, KMIP_RESULT_STATUS_OPERATION_FAILED);
			ttlv_enc_enum(&e, KMIP_TAG_RESULT_REASON, KMIP_RESULT_REASON_ITEM_NOT_FOUND);
		} else {
			ttlv_enc_enum(&e, KMIP_TAG_RESULT_STATUS, KMIP_RESULT_STATUS_SUCCESS);
			ttlv_enc_begin(&e, KMIP_TAG_RESPONSE_PAYLOAD);
			ttlv_enc_cstr(&e, KMIP_TAG_UNIQUE_IDENTIFIER, "k1");
			a_enum(&e, "State", KMIP_STATE_ACTIVE, -1);
			if (c == ALIEN_ATTR || c == TWO_ATTRS)
				a_text(&e, c == ALIEN_ATTR ? "Contact Information" : "State", "x", -1);
			if (c == V14_ATTR) {
				attr_begin(&e, "Sensitive", -1);
				ttlv_enc_bool(&e, KMIP_TAG_ATTRIBUTE_VALUE, false);
				ttlv_enc_end(&e);
			}
			ttlv_enc_end(&e);
		}
		ttlv_enc_end(&e);
		ttlv_enc_end(&e);
		EXPECT_OK(ttlv_enc_finish(&e));
		struct ttlv_doc d = {0};
		EXPECT_OK(ttlv_decode(&d, e.buf, e.len));
		char why[300];
		/* Sensitive asked by name, but 1.4's */
		size_t asked = q.it[0].n_asked;
		if (c == V14_ATTR)
			snprintf(q.it[0].asked[q.it[0].n_asked++], sizeof q.it[0].asked[0], "Sensitive");
		bool ok = validate(&q, ttlv_root(&d), why, sizeof why);
		q.it[0].n_asked = asked;
		if (c == GOOD) {
			if (!ok)
				fprintf(stderr, "\n  validator refused a good response: %s\n", why);
			CU_ASSERT(ok);
		} else {
			if (ok || strstr(why, expect[c]) == NULL)
				fprintf(stderr, "\n  validator case %d: %s\n", c, ok ? "accepted" : why);
			CU_ASSERT(!ok && strstr(why, expect[c]) != NULL);
		}
		ttlv_doc_free(&d);
		ttlv_enc_free(&e);
	}
}

/* build_response writes a one-item response at 1.|minor| for |op|, its
 * payload from |fill| */
static void build_response(struct ttlv_enc *e, int32_t minor, uint32_t op, uint32_t status,
			   void (*fill)(struct ttlv_enc *), struct ttlv_doc *d)
{
	ttlv_enc_init(e, 4096);
	ttlv_enc_begin(e, KMIP_TAG_RESPONSE_MESSAGE);
	ttlv_enc_begin(e, KMIP_TAG_RESPONSE_HEADER);
	ttlv_enc_begin(e, KMIP_TAG_PROTOCOL_VERSION);
	ttlv_enc_int(e, KMIP_TAG_PROTOCOL_VERSION_MAJOR, 1);
	ttlv_enc_int(e, KMIP_TAG_PROTOCOL_VERSION_MINOR, minor);
	ttlv_enc_end(e);
	ttlv_enc_datetime(e, KMIP_TAG_TIME_STAMP, (int64_t)time(NULL));
	ttlv_enc_int(e, KMIP_TAG_BATCH_COUNT, 1);
	ttlv_enc_end(e);
	ttlv_enc_begin(e, KMIP_TAG_BATCH_ITEM);
	ttlv_enc_enum(e, KMIP_TAG_OPERATION, op);
	ttlv_enc_enum(e, KMIP_TAG_RESULT_STATUS, status);
	if (status != KMIP_RESULT_STATUS_SUCCESS) {
		ttlv_enc_enum(e, KMIP_TAG_RESULT_REASON, KMIP_RESULT_REASON_OPERATION_NOT_SUPPORTED);
		ttlv_enc_cstr(e, KMIP_TAG_RESULT_MESSAGE, "no");
	} else {
		ttlv_enc_begin(e, KMIP_TAG_RESPONSE_PAYLOAD);
		fill(e);
		ttlv_enc_end(e);
	}
	ttlv_enc_end(e);
	ttlv_enc_end(e);
	EXPECT_OK(ttlv_enc_finish(e));
	memset(d, 0, sizeof *d);
	EXPECT_OK(ttlv_decode(d, e->buf, e->len));
}

static void fill_create(struct ttlv_enc *e)
{
	ttlv_enc_enum(e, KMIP_TAG_OBJECT_TYPE, KMIP_OBJECT_TYPE_SYMMETRIC_KEY);
	ttlv_enc_cstr(e, KMIP_TAG_UNIQUE_IDENTIFIER, "k1");
}

static void fill_create_reversed(struct ttlv_enc *e)
{
	ttlv_enc_cstr(e, KMIP_TAG_UNIQUE_IDENTIFIER, "k1");
	ttlv_enc_enum(e, KMIP_TAG_OBJECT_TYPE, KMIP_OBJECT_TYPE_SYMMETRIC_KEY);
}

static void fill_get_with_kv_attribute(struct ttlv_enc *e)
{
	ttlv_enc_enum(e, KMIP_TAG_OBJECT_TYPE, KMIP_OBJECT_TYPE_SYMMETRIC_KEY);
	ttlv_enc_cstr(e, KMIP_TAG_UNIQUE_IDENTIFIER, "k1");
	ttlv_enc_begin(e, KMIP_TAG_SYMMETRIC_KEY);
	ttlv_enc_begin(e, KMIP_TAG_KEY_BLOCK);
	ttlv_enc_enum(e, KMIP_TAG_KEY_FORMAT_TYPE, KMIP_KEY_FORMAT_TYPE_RAW);
	ttlv_enc_begin(e, KMIP_TAG_KEY_VALUE);
	ttlv_enc_bytes(e, KMIP_TAG_KEY_MATERIAL, (const uint8_t *)"0123456789abcdef0123456789abcdef", 32);
	a_enum(e, "State", KMIP_STATE_ACTIVE, -1); /* what broke PSMDB (Cosmian/kms #687) */
	ttlv_enc_end(e);
	ttlv_enc_end(e);
	ttlv_enc_end(e);
}

static void fill_all_attributes_1_4(struct ttlv_enc *e)
{
	ttlv_enc_cstr(e, KMIP_TAG_UNIQUE_IDENTIFIER, "k1");
	a_enum(e, "State", KMIP_STATE_ACTIVE, -1);
	attr_begin(e, "Original Creation Date", -1); /* KMIP 1.2 §3.? */
	ttlv_enc_datetime(e, KMIP_TAG_ATTRIBUTE_VALUE, 1);
	ttlv_enc_end(e);
}

/* More of the validator's rules: Create's order, attributes in KeyValue,
 * a Get Attributes of all at 1.0 with a 1.2 attribute, and two items
 * answered with one when none failed. */
static void test_validator_rejects_more(void)
{
	struct {
		uint32_t op;
		int32_t minor;
		void (*fill)(struct ttlv_enc *);
		const char *expect;
	} cases[] = {
		{KMIP_OPERATION_CREATE, 1, fill_create_reversed, "Object Type then Unique Identifier"},
		{KMIP_OPERATION_GET, 0, fill_get_with_kv_attribute, "inside KeyValue"},
		{KMIP_OPERATION_GET_ATTRIBUTES, 0, fill_all_attributes_1_4, "not defined in KMIP 1.0"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct msg q;
		msg_begin(&q, cases[i].minor, NULL, 1);
		(void)item_begin(&q, cases[i].op, NULL, 0);
		item_end(&q);
		msg_end(&q);
		ttlv_enc_free(&q.e);
		struct ttlv_enc e;
		struct ttlv_doc d;
		build_response(&e, cases[i].minor, cases[i].op, KMIP_RESULT_STATUS_SUCCESS, cases[i].fill, &d);
		char why[300];
		bool ok = validate(&q, ttlv_root(&d), why, sizeof why);
		if (ok || strstr(why, cases[i].expect) == NULL)
			fprintf(stderr, "\n  validator case %zu: %s\n", i, ok ? "accepted" : why);
		CU_ASSERT(!ok && strstr(why, cases[i].expect) != NULL);
		ttlv_doc_free(&d);
		ttlv_enc_free(&e);
	}
	/* two requested, one answered: fine after a failure (Stop), not after a success */
	for (int failed = 0; failed < 2; failed++) {
		struct msg q;
		msg_begin(&q, 1, NULL, 2);
		for (int k = 0; k < 2; k++) {
			(void)item_begin(&q, KMIP_OPERATION_CREATE, NULL, 0);
			item_end(&q);
		}
		msg_end(&q);
		ttlv_enc_free(&q.e);
		struct ttlv_enc e;
		struct ttlv_doc d;
		build_response(&e, 1, KMIP_OPERATION_CREATE,
			       failed ? KMIP_RESULT_STATUS_OPERATION_FAILED : KMIP_RESULT_STATUS_SUCCESS,
			       fill_create, &d);
		char why[300];
		bool ok = validate(&q, ttlv_root(&d), why, sizeof why);
		CU_ASSERT(failed ? ok : !ok && strstr(why, "1 items for the request's 2") != NULL);
		ttlv_doc_free(&d);
		ttlv_enc_free(&e);
	}
}

/* one Discover Versions on |k|; true when it answers Success */
static bool discover(struct kmipc *k, int32_t minor)
{
	struct msg m;
	msg_begin(&m, minor, NULL, 1);
	(void)item_begin(&m, KMIP_OPERATION_DISCOVER_VERSIONS, NULL, 0);
	item_end(&m);
	msg_end(&m);
	struct shape s = {.name = "kmipc", .k = k};
	struct resp r;
	bool ok = exchange(&s, &m, &r) && success(&r, 0);
	resp_free(&r);
	return ok;
}

/* discover_quiet is discover without assertions: false when no answer */
static bool discover_quiet(struct kmipc *k)
{
	struct msg m;
	msg_begin(&m, 4, NULL, 1);
	(void)item_begin(&m, KMIP_OPERATION_DISCOVER_VERSIONS, NULL, 0);
	item_end(&m);
	msg_end(&m);
	const uint8_t *p = NULL;
	size_t n = 0;
	err_t r = kmipc_roundtrip(k, m.e.buf, m.e.len, &p, &n);
	ttlv_enc_free(&m.e);
	return r == ERR_OK;
}

/* discover_raw is a Discover Versions whose answer is read with kmipc_read
 * in pieces (the header, then the body in two): true when those bytes are
 * one whole Response Message whose batch item succeeded */
static bool discover_raw(struct kmipc *k)
{
	struct msg m;
	msg_begin(&m, 4, NULL, 1);
	(void)item_begin(&m, KMIP_OPERATION_DISCOVER_VERSIONS, NULL, 0);
	item_end(&m);
	msg_end(&m);
	err_t r = kmipc_send(k, m.e.buf, m.e.len);
	ttlv_enc_free(&m.e);
	uint8_t b[4096];
	size_t len = 0;
	if (r != ERR_OK || kmipc_read(k, b, TTLV_HEADER_LEN) != ERR_OK ||
	    ttlv_frame_len(b, sizeof b, &len) != ERR_OK || len < TTLV_HEADER_LEN + 16 ||
	    kmipc_read(k, b + TTLV_HEADER_LEN, 8) != ERR_OK ||
	    kmipc_read(k, b + TTLV_HEADER_LEN + 8, len - TTLV_HEADER_LEN - 8) != ERR_OK)
		return false;
	struct ttlv_doc d;
	if (ttlv_decode(&d, b, len) != ERR_OK)
		return false;
	const struct ttlv_item *root = ttlv_root(&d);
	const struct ttlv_item *st = ttlv_find(ttlv_find(root, KMIP_TAG_BATCH_ITEM), KMIP_TAG_RESULT_STATUS);
	bool ok = root->tag == KMIP_TAG_RESPONSE_MESSAGE && st != NULL && st->type == TTLV_ENUM &&
		  st->u == KMIP_RESULT_STATUS_SUCCESS;
	ttlv_doc_free(&d);
	return ok;
}

/* kmipc itself: TLS 1.2 and 1.3 pinned, session resumption (Veeam resumes,
 * kmip-clients.md §7), the raw reads, the response size cap, the receive
 * timeout, and a client without a certificate refused. */
static void test_kmipc_transport(void)
{
	char why[512] = "";
	for (int v = 0; v < 2; v++) {
		int tls = v == 0 ? TLS1_2_VERSION : TLS1_3_VERSION;
		struct kmipc_options o = {.port = srv.port, .ca_file = srv.ca, .cert_file = srv.cert, .key_file = srv.key,
					  .min_tls = tls, .max_tls = tls, .resume = true, .timeout_ms = 5000};
		struct kmipc *k = kmipc_new(&o, why, sizeof why);
		CU_ASSERT_PTR_NOT_NULL_FATAL(k);
		CU_ASSERT(!kmipc_can_resume(k)); /* no session before a first connection */
		EXPECT_OK(kmipc_connect(k, why, sizeof why));
		CU_ASSERT(!kmipc_resumed(k));
		CU_ASSERT_EQUAL(kmipc_tls_version(k), tls);
		CU_ASSERT(discover(k, 4));
		/* a TLS 1.3 ticket arrives after the handshake: a round trip reads it */
		kmipc_close(k);
		CU_ASSERT_EQUAL(kmipc_tls_version(k), 0);
		CU_ASSERT(kmipc_can_resume(k));
		EXPECT_OK(kmipc_connect(k, why, sizeof why));
		if (!kmipc_resumed(k))
			fprintf(stderr, "\n  TLS 1.%d: the session was not resumed\n", v == 0 ? 2 : 3);
		CU_ASSERT(kmipc_resumed(k));
		CU_ASSERT_EQUAL(kmipc_tls_version(k), tls);
		CU_ASSERT(discover(k, 4));
		CU_ASSERT(discover_raw(k));
		CU_ASSERT(discover(k, 4)); /* the raw reads left the stream at a message boundary */
		kmipc_close(k);
		uint8_t b[1];
		EXPECT_ERR(kmipc_read(k, b, sizeof b), ERR_USAGE); /* not connected */
		kmipc_free(k);
	}
	/* a 1.4 Discover Versions answer (5 versions) is over 64 bytes */
	struct kmipc_options o = {.port = srv.port, .ca_file = srv.ca, .cert_file = srv.cert, .key_file = srv.key,
				  .max_response = 64, .timeout_ms = 300};
	struct kmipc *k = kmipc_new(&o, why, sizeof why);
	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	EXPECT_OK(kmipc_connect(k, why, sizeof why));
	struct msg m;
	msg_begin(&m, 4, NULL, 1);
	(void)item_begin(&m, KMIP_OPERATION_DISCOVER_VERSIONS, NULL, 0);
	item_end(&m);
	msg_end(&m);
	const uint8_t *p = NULL;
	size_t n = 0;
	EXPECT_ERR(kmipc_roundtrip(k, m.e.buf, m.e.len, &p, &n), ERR_TOO_LARGE);
	CU_ASSERT_PTR_NULL(p);
	ttlv_enc_free(&m.e);
	/* nothing sent, nothing comes: the receive times out */
	EXPECT_OK(kmipc_connect(k, why, sizeof why));
	EXPECT_ERR(kmipc_recv(k, &p, &n), ERR_IO);
	kmipc_free(k);
	/* mongod's one PEM with the certificate and the key */
	{
		char pem[300];
		snprintf(pem, sizeof pem, "%s/both.pem", srv.dir);
		char cmd[1200];
		snprintf(cmd, sizeof cmd, "cat '%s' '%s' > '%s'", srv.cert, srv.key, pem);
		CU_ASSERT_EQUAL_FATAL(testlib_sh(cmd), 0);
		struct kmipc_options one = {.port = srv.port, .ca_file = srv.ca, .cert_file = pem, .timeout_ms = 5000};
		k = kmipc_new(&one, why, sizeof why);
		CU_ASSERT_PTR_NOT_NULL_FATAL(k);
		EXPECT_OK(kmipc_connect(k, why, sizeof why));
		CU_ASSERT(discover(k, 2));
		kmipc_free(k);
	}
	/* no client certificate: the server refuses the handshake or the session */
	struct kmipc_options anon = {.port = srv.port, .ca_file = srv.ca, .timeout_ms = 5000};
	k = kmipc_new(&anon, why, sizeof why);
	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	err_t r = kmipc_connect(k, why, sizeof why);
	if (r == ERR_OK) /* TLS 1.3: the refusal comes after the client's Finished */
		CU_ASSERT(!discover_quiet(k));
	kmipc_free(k);
}

/* every gap row is unique and was reached by its shape (runs last): a row
 * whose step was renamed or never reached would otherwise check nothing */
static void test_gap_rows(void)
{
	CU_ASSERT(gaps[ARRAY_SIZE(gaps) - 1].shape == NULL);
	for (size_t i = 0; gaps[i].shape != NULL; i++) {
		CU_ASSERT(gaps[i].how != NULL && gaps[i].reason != NULL);
		for (size_t j = 0; j < i; j++)
			CU_ASSERT(strcmp(gaps[i].shape, gaps[j].shape) != 0 || strcmp(gaps[i].step, gaps[j].step) != 0);
		if (!gap_seen[i])
			fprintf(stderr, "\n  gap row %s / %s was never reached\n", gaps[i].shape, gaps[i].step);
		CU_ASSERT(gap_seen[i]);
	}
}

TEST_SUITE(kmip_clients, suite_init, suite_clean, TEST(test_validator_rejects),
	   TEST(test_validator_rejects_more), TEST(test_kmipc_transport), TEST(test_vcenter), TEST(test_mongod), TEST(test_libmongocrypt), TEST(test_psmdb), TEST(test_kmippp),
	   TEST(test_pg_tde), TEST(test_keyring_okv), TEST(test_fortios), TEST(test_tenancy), TEST(test_garbage),
	   TEST(test_gap_rows))
