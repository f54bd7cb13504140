/* tests/lib/kmipload.c — support code, no test cases: KMIP operations, the
 * ledger of acknowledged and in-flight Creates and its checks, and a client
 * loop, for the suites that load a real `fount serve` (kmipload.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/internal.h" /* the KMIP tag and enum table */
#include "tests/lib/kmipload.h"

struct kmipc *kl_connect(const struct kmipc_options *o)
{
	char why[512] = "";
	struct kmipc *c = kmipc_new(o, why, sizeof why);
	if (c != NULL && kmipc_connect(c, why, sizeof why) == ERR_OK)
		return c;
	fprintf(stderr, "\n  kmipload: port %u: %s\n", o->port, why);
	kmipc_free(c);
	return NULL;
}

/* A session closed without a close_notify is not resumable (OpenSSL's
 * ssl_clear_bad_session), so kmipc_close sends one. */
void kl_close(struct kmipc *c)
{
	if (c == NULL)
		return;
	kmipc_close(c);
	kmipc_free(c);
}

/* ---- messages -------------------------------------------------------------- */

static void begin(struct ttlv_enc *e, uint32_t op)
{
	ttlv_enc_init(e, KL_MESSAGE);
	ttlv_enc_begin(e, KMIP_TAG_REQUEST_MESSAGE);
	ttlv_enc_begin(e, KMIP_TAG_REQUEST_HEADER);
	ttlv_enc_begin(e, KMIP_TAG_PROTOCOL_VERSION);
	ttlv_enc_int(e, KMIP_TAG_PROTOCOL_VERSION_MAJOR, 1);
	ttlv_enc_int(e, KMIP_TAG_PROTOCOL_VERSION_MINOR, 4);
	ttlv_enc_end(e);
	ttlv_enc_int(e, KMIP_TAG_BATCH_COUNT, 1);
	ttlv_enc_end(e);
	ttlv_enc_begin(e, KMIP_TAG_BATCH_ITEM);
	ttlv_enc_enum(e, KMIP_TAG_OPERATION, op);
	ttlv_enc_begin(e, KMIP_TAG_REQUEST_PAYLOAD);
}

static void end(struct ttlv_enc *e)
{
	ttlv_enc_end(e); /* payload */
	ttlv_enc_end(e); /* batch item */
	ttlv_enc_end(e); /* message */
}

/* call sends the request in |e| (freed) and decodes the response into |d|
 * (pointing into the client's buffer until its next call); false when the
 * connection failed before a whole, decodable response arrived */
static bool call(struct kmipc *c, struct ttlv_enc *e, struct ttlv_doc *d)
{
	const uint8_t *resp = NULL;
	size_t len = 0;
	bool ok = ttlv_enc_finish(e) == ERR_OK && kmipc_roundtrip(c, e->buf, e->len, &resp, &len) == ERR_OK;
	ttlv_enc_free(e);
	return ok && ttlv_decode(d, resp, len) == ERR_OK;
}

static bool text_of(const struct ttlv_item *it, char *out, size_t cap)
{
	if (it == NULL || it->type != TTLV_TEXT || it->len == 0 || it->len >= cap)
		return false;
	memcpy(out, it->val, it->len);
	out[it->len] = '\0';
	return true;
}

/* name_attr: the Attribute Name of type Uninterpreted Text String (§3.2) */
static void name_attr(struct ttlv_enc *e, const char *name)
{
	ttlv_enc_begin(e, KMIP_TAG_ATTRIBUTE);
	ttlv_enc_cstr(e, KMIP_TAG_ATTRIBUTE_NAME, "Name");
	ttlv_enc_begin(e, KMIP_TAG_ATTRIBUTE_VALUE);
	ttlv_enc_cstr(e, KMIP_TAG_NAME_VALUE, name);
	ttlv_enc_enum(e, KMIP_TAG_NAME_TYPE, KMIP_NAME_TYPE_UNINTERPRETED_TEXT_STRING);
	ttlv_enc_end(e);
	ttlv_enc_end(e);
}

const struct ttlv_item *kl_payload(const struct ttlv_doc *d, struct kl_why *why)
{
	const struct ttlv_item *bi = ttlv_find(ttlv_root(d), KMIP_TAG_BATCH_ITEM);
	const struct ttlv_item *st = ttlv_find(bi, KMIP_TAG_RESULT_STATUS);
	if (st != NULL && st->type == TTLV_ENUM && st->u == KMIP_RESULT_STATUS_SUCCESS)
		return ttlv_find(bi, KMIP_TAG_RESPONSE_PAYLOAD);
	if (why != NULL) {
		const struct ttlv_item *rr = ttlv_find(bi, KMIP_TAG_RESULT_REASON);
		why->status = st != NULL && st->type == TTLV_ENUM ? (uint32_t)st->u : 0;
		why->reason = rr != NULL && rr->type == TTLV_ENUM ? (uint32_t)rr->u : 0;
		if (!text_of(ttlv_find(bi, KMIP_TAG_RESULT_MESSAGE), why->message, sizeof why->message))
			why->message[0] = '\0';
	}
	return NULL;
}

/* a refusal whose payload was there but not what was asked for */
static void malformed(struct kl_why *why)
{
	if (why != NULL)
		*why = (struct kl_why){.message = "a Success without the expected payload"};
}

const char *kl_why_str(const struct kl_why *w, char *buf, size_t cap)
{
	snprintf(buf, cap, "status %u reason 0x%x: %s", w->status, w->reason,
		 w->message[0] != '\0' ? w->message : "(no Result Message)");
	return buf;
}

enum kl_outcome kl_create(struct kmipc *c, const char *name, char id[STORE_ID_MAX + 1], struct kl_why *why)
{
	struct ttlv_enc e;
	begin(&e, KMIP_OPERATION_CREATE);
	ttlv_enc_enum(&e, KMIP_TAG_OBJECT_TYPE, KMIP_OBJECT_TYPE_SYMMETRIC_KEY);
	ttlv_enc_begin(&e, KMIP_TAG_TEMPLATE_ATTRIBUTE);
	ttlv_enc_begin(&e, KMIP_TAG_ATTRIBUTE);
	ttlv_enc_cstr(&e, KMIP_TAG_ATTRIBUTE_NAME, "Cryptographic Algorithm");
	ttlv_enc_enum(&e, KMIP_TAG_ATTRIBUTE_VALUE, KMIP_CRYPTOGRAPHIC_ALGORITHM_AES);
	ttlv_enc_end(&e);
	ttlv_enc_begin(&e, KMIP_TAG_ATTRIBUTE);
	ttlv_enc_cstr(&e, KMIP_TAG_ATTRIBUTE_NAME, "Cryptographic Length");
	ttlv_enc_int(&e, KMIP_TAG_ATTRIBUTE_VALUE, 256);
	ttlv_enc_end(&e);
	name_attr(&e, name);
	ttlv_enc_end(&e);
	end(&e);
	struct ttlv_doc d;
	if (!call(c, &e, &d))
		return KL_BROKEN;
	const struct ttlv_item *p = kl_payload(&d, why);
	enum kl_outcome o = KL_REFUSED;
	if (p != NULL && text_of(ttlv_find(p, KMIP_TAG_UNIQUE_IDENTIFIER), id, STORE_ID_MAX + 1))
		o = KL_OK;
	else if (p != NULL)
		malformed(why);
	ttlv_doc_free(&d);
	return o;
}

enum kl_outcome kl_get(struct kmipc *c, const char *id, uint8_t key[32], struct kl_why *why)
{
	struct ttlv_enc e;
	begin(&e, KMIP_OPERATION_GET);
	ttlv_enc_cstr(&e, KMIP_TAG_UNIQUE_IDENTIFIER, id);
	end(&e);
	struct ttlv_doc d;
	if (!call(c, &e, &d))
		return KL_BROKEN;
	const struct ttlv_item *p = kl_payload(&d, why);
	const struct ttlv_item *kb = ttlv_find(ttlv_find(p, KMIP_TAG_SYMMETRIC_KEY), KMIP_TAG_KEY_BLOCK);
	const struct ttlv_item *alg = ttlv_find(kb, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM);
	const struct ttlv_item *km = ttlv_find(ttlv_find(kb, KMIP_TAG_KEY_VALUE), KMIP_TAG_KEY_MATERIAL);
	enum kl_outcome o = KL_REFUSED;
	if (km != NULL && km->type == TTLV_BYTES && km->len == 32 && alg != NULL &&
	    alg->u == KMIP_CRYPTOGRAPHIC_ALGORITHM_AES) {
		memcpy(key, km->val, 32);
		o = KL_OK;
	} else if (p != NULL) {
		malformed(why);
	}
	ttlv_doc_free(&d);
	return o;
}

int kl_locate_name(struct kmipc *c, const char *name, char id[STORE_ID_MAX + 1])
{
	int n = -1;
	return kl_locate(c, name, 4, &n, id, NULL) == KL_OK ? n : -1;
}

enum kl_outcome kl_locate(struct kmipc *c, const char *name, int32_t max_items, int *n, char id[STORE_ID_MAX + 1],
			  struct kl_why *why)
{
	struct ttlv_enc e;
	*n = -1;
	begin(&e, KMIP_OPERATION_LOCATE);
	ttlv_enc_int(&e, KMIP_TAG_MAXIMUM_ITEMS, max_items);
	name_attr(&e, name);
	end(&e);
	struct ttlv_doc d;
	if (!call(c, &e, &d))
		return KL_BROKEN;
	const struct ttlv_item *p = kl_payload(&d, why);
	enum kl_outcome o = KL_REFUSED;
	if (p != NULL) {
		int k = (int)ttlv_count(p, KMIP_TAG_UNIQUE_IDENTIFIER);
		if (k == 0 || text_of(ttlv_find(p, KMIP_TAG_UNIQUE_IDENTIFIER), id, STORE_ID_MAX + 1)) {
			*n = k;
			o = KL_OK;
		} else {
			malformed(why);
		}
	}
	ttlv_doc_free(&d);
	return o;
}

err_t kl_rng_request(struct ttlv_enc *e, size_t n)
{
	begin(e, KMIP_OPERATION_RNG_RETRIEVE);
	ttlv_enc_int(e, KMIP_TAG_DATA_LENGTH, (int32_t)n);
	end(e);
	return ttlv_enc_finish(e);
}

enum kl_outcome kl_rng(struct kmipc *c, size_t n, struct kl_why *why)
{
	struct ttlv_enc e;
	struct ttlv_doc d;
	if (kl_rng_request(&e, n) != ERR_OK) {
		ttlv_enc_free(&e);
		return KL_BROKEN;
	}
	if (!call(c, &e, &d)) /* frees |e| */
		return KL_BROKEN;
	const struct ttlv_item *p = kl_payload(&d, why);
	const struct ttlv_item *data = ttlv_find(p, KMIP_TAG_DATA);
	enum kl_outcome o = KL_REFUSED;
	if (data != NULL && data->type == TTLV_BYTES && data->len == n)
		o = KL_OK;
	else if (p != NULL)
		malformed(why);
	ttlv_doc_free(&d);
	return o;
}

/* ---- the ledger ------------------------------------------------------------ */

int kl_ledger_init(struct kl_ledger *l, size_t max_acked, size_t max_inflight)
{
	memset(l, 0, sizeof *l);
	pthread_mutex_init(&l->mu, NULL);
	l->acked = calloc(max_acked, sizeof *l->acked);
	l->inflight = calloc(max_inflight, sizeof *l->inflight);
	l->max_acked = max_acked;
	l->max_inflight = max_inflight;
	return l->acked != NULL && l->inflight != NULL ? 0 : -1;
}

void kl_ledger_free(struct kl_ledger *l)
{
	free(l->acked);
	free(l->inflight);
	pthread_mutex_destroy(&l->mu);
	memset(l, 0, sizeof *l);
}

struct kl_key *kl_ledger_ack(struct kl_ledger *l, const char *id, const char *name)
{
	pthread_mutex_lock(&l->mu);
	struct kl_key *k = l->n_acked < l->max_acked ? &l->acked[l->n_acked++] : NULL;
	if (k != NULL) {
		snprintf(k->id, sizeof k->id, "%s", id);
		snprintf(k->name, sizeof k->name, "%s", name);
	} else {
		l->dropped++;
	}
	pthread_mutex_unlock(&l->mu);
	return k;
}

void kl_ledger_key(struct kl_ledger *l, struct kl_key *k, const uint8_t key[32])
{
	pthread_mutex_lock(&l->mu);
	memcpy(k->key, key, 32);
	k->have_key = true;
	pthread_mutex_unlock(&l->mu);
}

void kl_ledger_inflight(struct kl_ledger *l, const char *name)
{
	pthread_mutex_lock(&l->mu);
	if (l->n_inflight < l->max_inflight)
		snprintf(l->inflight[l->n_inflight++].name, sizeof l->inflight[0].name, "%s", name);
	else
		l->dropped++;
	pthread_mutex_unlock(&l->mu);
}

void kl_ledger_refused(struct kl_ledger *l, const char *name)
{
	pthread_mutex_lock(&l->mu);
	if (l->n_inflight < l->max_inflight) {
		struct kl_pending *f = &l->inflight[l->n_inflight++];
		snprintf(f->name, sizeof f->name, "%s", name);
		f->must_be_absent = true;
	} else {
		l->dropped++;
	}
	pthread_mutex_unlock(&l->mu);
}

size_t kl_ledger_acked(struct kl_ledger *l)
{
	pthread_mutex_lock(&l->mu);
	size_t n = l->n_acked;
	pthread_mutex_unlock(&l->mu);
	return n;
}

struct checker {
	struct kl_ledger *l;
	const struct kmipc_options *o;
	const char *tag;
	size_t from, to, step;
	unsigned failures;
};

static void *checker_main(void *arg)
{
	struct checker *k = arg;
	struct kmipc *c = kl_connect(k->o);
	if (c == NULL) {
		fprintf(stderr, "%s: cannot connect to check the acknowledged keys\n", k->tag);
		k->failures++;
		return NULL;
	}
	for (size_t i = k->from; i < k->to; i += k->step) {
		struct kl_key *a = &k->l->acked[i];
		uint8_t kv[32];
		struct kl_why why = {0};
		enum kl_outcome o = kl_get(c, a->id, kv, &why);
		if (o != KL_OK) {
			char b[300];
			fprintf(stderr, "%s: acknowledged %s (%s) is gone: %s\n", k->tag, a->id, a->name,
				o == KL_BROKEN ? "the connection broke" : kl_why_str(&why, b, sizeof b));
			k->failures++;
			if (o == KL_BROKEN)
				break;
			continue;
		}
		pthread_mutex_lock(&k->l->mu);
		if (a->have_key && memcmp(kv, a->key, 32) != 0) {
			fprintf(stderr, "%s: %s came back with another key\n", k->tag, a->id);
			k->failures++;
		}
		memcpy(a->key, kv, 32);
		a->have_key = true;
		pthread_mutex_unlock(&k->l->mu);
	}
	kl_close(c);
	return NULL;
}

unsigned kl_check_acked(struct kl_ledger *l, size_t from, size_t to, const struct kmipc_options *o,
			unsigned clients, const char *tag)
{
	struct checker k[16];
	pthread_t th[16];
	unsigned failures = 0, n = clients < 1 ? 1 : clients > 16 ? 16 : clients;
	for (unsigned i = 0; i < n; i++) {
		k[i] = (struct checker){.l = l, .o = o, .tag = tag, .from = from + i, .to = to, .step = n};
		if (pthread_create(&th[i], NULL, checker_main, &k[i]) != 0) {
			n = i;
			failures++;
			break;
		}
	}
	for (unsigned i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		failures += k[i].failures;
	}
	return failures;
}

unsigned kl_check_inflight(struct kl_ledger *l, const struct kmipc_options *o, const char *tag)
{
	struct kmipc *c = kl_connect(o);
	if (c == NULL)
		return 1;
	unsigned failures = 0;
	if (l->dropped > 0) { /* what cannot be checked is a failure too */
		fprintf(stderr, "%s: the ledger was full: %zu outcomes not recorded\n", tag, l->dropped);
		failures++;
	}
	for (size_t i = 0; i < l->n_inflight; i++) {
		struct kl_pending *f = &l->inflight[i];
		char id[STORE_ID_MAX + 1];
		uint8_t kv[32];
		int n = kl_locate_name(c, f->name, id);
		enum kl_seen now = n == 0 ? KL_ABSENT : KL_WHOLE;
		if (n < 0 || n > 1) {
			fprintf(stderr, "%s: in-flight %s: Locate found %d\n", tag, f->name, n);
			failures++;
			continue;
		}
		if (n == 1 && kl_get(c, id, kv, NULL) != KL_OK) {
			/* the object is there: its key must be too */
			fprintf(stderr, "%s: in-flight %s is %s but has no key\n", tag, f->name, id);
			failures++;
			continue;
		}
		if (f->must_be_absent && now != KL_ABSENT) {
			fprintf(stderr, "%s: %s was refused with \"nothing was written\", yet it is there as %s\n", tag,
				f->name, id);
			failures++;
			continue;
		}
		if (f->seen == KL_UNSEEN) {
			f->seen = now;
			if (now == KL_WHOLE) {
				snprintf(f->id, sizeof f->id, "%s", id);
				memcpy(f->key, kv, 32);
			}
		} else if (f->seen != now ||
			   (now == KL_WHOLE && (strcmp(f->id, id) != 0 || memcmp(f->key, kv, 32) != 0))) {
			fprintf(stderr, "%s: in-flight %s changed after a restart\n", tag, f->name);
			failures++;
		}
	}
	kl_close(c);
	return failures;
}

/* ---- the client loop ----------------------------------------------------------- */

static bool stopped(const struct kl_worker *w)
{
	return w->stop != NULL && __atomic_load_n(w->stop, __ATOMIC_ACQUIRE);
}

/* refused: counts a refusal (of the Create of |name|, or NULL); true when
 * the loop must end */
static bool refused(struct kl_worker *w, const struct kl_why *why, const char *name)
{
	w->refused++;
	enum kl_refusal k = w->classify != NULL ? w->classify(why) : KL_UNEXPECTED;
	if (k == KL_UNEXPECTED) {
		if (w->unexpected++ == 0)
			w->first_unexpected = *why;
		return true;
	}
	if (name != NULL && k == KL_NOTHING_WRITTEN)
		kl_ledger_refused(w->ledger, name);
	else if (name != NULL)
		kl_ledger_inflight(w->ledger, name);
	/* as a real client backs off before it retries */
	struct timespec ts = {0, 20 * 1000000L};
	nanosleep(&ts, NULL);
	return false;
}

/* reconnect: after a broken connection, a new one (or the end of the loop
 * without |stop|) */
static struct kmipc *reconnect(struct kl_worker *w, struct kmipc *c, const struct kmipc_options *o)
{
	kl_close(c);
	if (w->stop == NULL)
		return NULL;
	while (!stopped(w)) {
		struct timespec ts = {0, 50 * 1000000L};
		nanosleep(&ts, NULL);
		char why[256];
		c = kmipc_new(o, why, sizeof why);
		if (c != NULL && kmipc_connect(c, why, sizeof why) == ERR_OK) {
			w->reconnects++;
			return c;
		}
		kmipc_free(c);
	}
	return NULL;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void took(struct kl_worker *w, uint64_t since)
{
	uint64_t ms = mono_ms() - since;
	if (ms > w->max_ms)
		w->max_ms = (unsigned)ms;
}

void *kl_worker_main(void *arg)
{
	struct kl_worker *w = arg;
	struct kmipc *c = kl_connect(w->create_on), *g = NULL;
	if (c == NULL)
		return NULL;
	if (w->get_on != NULL && (g = kl_connect(w->get_on)) == NULL) {
		kl_close(c);
		return NULL;
	}
	for (unsigned i = 0; c != NULL && !stopped(w); i++) {
		char name[KL_NAME_MAX], id[STORE_ID_MAX + 1];
		struct kl_why why = {0};
		snprintf(name, sizeof name, "%s-%u-%u", w->tag, w->index, i);
		uint64_t t0 = mono_ms();
		enum kl_outcome o = kl_create(c, name, id, &why);
		took(w, t0);
		if (o == KL_BROKEN) {
			w->broken++;
			kl_ledger_inflight(w->ledger, name);
			c = reconnect(w, c, w->create_on);
			continue;
		}
		if (o == KL_REFUSED) {
			if (refused(w, &why, name))
				break;
			continue;
		}
		struct kl_key *k = kl_ledger_ack(w->ledger, id, name);
		w->created++;
		if (k == NULL)
			break; /* the ledger is full */
		/* the new key, at once, from this node or the other */
		uint8_t kv[32];
		struct kmipc **gc = g != NULL ? &g : &c;
		t0 = mono_ms();
		o = kl_get(*gc, id, kv, &why);
		took(w, t0);
		if (o == KL_BROKEN) {
			w->broken++;
			*gc = reconnect(w, *gc, g != NULL ? w->get_on : w->create_on);
			if (*gc == NULL)
				break;
			continue;
		}
		if (o == KL_REFUSED) {
			if (refused(w, &why, NULL))
				break;
			continue;
		}
		w->got++;
		kl_ledger_key(w->ledger, k, kv);
	}
	kl_close(c);
	kl_close(g);
	return NULL;
}
