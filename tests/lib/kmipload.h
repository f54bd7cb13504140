/* tests/lib/kmipload.h — KMIP operations over a real mutual-TLS connection
 * (tests/lib/kmipc.h) for the suites that load a running `fount serve` and
 * then prove what survived: Create, Get, Locate by Name, RNG Retrieve, each
 * telling a server's answer (success, or a refusal with its Result Reason
 * and Message) from a connection that broke before an answer came; and a
 * ledger of what the clients learnt, in Jepsen's terms (store-ha.md §5):
 * every acknowledged Create (ok) with its key, and every Create whose answer
 * never came (info), with the checks run after a fault:
 *   - every ok identifier can be got, with the key first seen;
 *   - every info Create is whole (one object of its Name, with a key) or
 *     absent, and stays what it was first seen to be.
 * Every object the clients make is an AES-256 key with a Name unique to
 * the run, so an info Create can be found by its Name. */
#ifndef FOUNT_TESTS_LIB_KMIPLOAD_H
#define FOUNT_TESTS_LIB_KMIPLOAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/ttlv.h"
#include "store/store.h" /* STORE_ID_MAX */
#include "tests/lib/kmipc.h"

#define KL_NAME_MAX 48
#define KL_MESSAGE (1u << 16) /* the largest request or response kl_ makes or takes */

enum kl_outcome {
	KL_OK,      /* the server answered Success */
	KL_REFUSED, /* the server answered a failure (kl_why says which) */
	KL_BROKEN,  /* no whole answer: the connection failed or timed out */
};

/* what the server said when it refused */
struct kl_why {
	uint32_t status, reason; /* Result Status and Reason; 0 when absent */
	char message[200];       /* Result Message, "" when absent */
};

/* kl_connect makes a client with |o| and connects it; NULL, saying why on
 * stderr, when it cannot. kl_close ends it with a close_notify and frees it. */
struct kmipc *kl_connect(const struct kmipc_options *o);
void kl_close(struct kmipc *c);

/* kl_create: Create AES-256 with the Name |name| (KMIP 1.4 §4.1, §3.2);
 * its identifier in |id| on KL_OK. |why| may be NULL. */
enum kl_outcome kl_create(struct kmipc *c, const char *name, char id[STORE_ID_MAX + 1], struct kl_why *why);
/* kl_get: the Raw 32-byte AES key of |id| (§4.11) */
enum kl_outcome kl_get(struct kmipc *c, const char *id, uint8_t key[32], struct kl_why *why);
/* kl_locate_name: how many objects have the Name |name| (up to 4), the
 * first one's identifier in |id| (§4.9); -1 when refused or broken */
int kl_locate_name(struct kmipc *c, const char *name, char id[STORE_ID_MAX + 1]);
/* kl_locate: Locate by the Name |name| with Maximum Items |max_items|; on
 * KL_OK how many identifiers came in *n, the first one in |id| */
enum kl_outcome kl_locate(struct kmipc *c, const char *name, int32_t max_items, int *n, char id[STORE_ID_MAX + 1],
			  struct kl_why *why);
/* kl_rng: RNG Retrieve of |n| bytes (§4.35; n < KL_MESSAGE - 256), KL_OK
 * only when exactly |n| came */
enum kl_outcome kl_rng(struct kmipc *c, size_t n, struct kl_why *why);
/* kl_rng_request builds a whole RNG Retrieve request of |n| bytes in |e|
 * (initialised here, to free after sending): for a test that sends
 * several before reading */
err_t kl_rng_request(struct ttlv_enc *e, size_t n);
/* kl_payload is the Response Payload of a decoded successful single-item
 * response, or NULL, the refusal then in |why| (when not NULL) */
const struct ttlv_item *kl_payload(const struct ttlv_doc *d, struct kl_why *why);
/* kl_why_str formats |w| for a failure message */
const char *kl_why_str(const struct kl_why *w, char *buf, size_t cap);

/* ---- the ledger ------------------------------------------------------------ */

struct kl_key {
	char id[STORE_ID_MAX + 1];
	char name[KL_NAME_MAX];
	uint8_t key[32];
	bool have_key;
};

enum kl_seen { KL_UNSEEN, KL_ABSENT, KL_WHOLE };

struct kl_pending {
	char name[KL_NAME_MAX];
	bool must_be_absent; /* refused with "nothing was written" */
	enum kl_seen seen;
	char id[STORE_ID_MAX + 1];
	uint8_t key[32];
};

struct kl_ledger {
	pthread_mutex_t mu;
	struct kl_key *acked;
	size_t n_acked, max_acked;
	struct kl_pending *inflight;
	size_t n_inflight, max_inflight;
	size_t dropped; /* outcomes not recorded: the ledger was full */
};

/* kl_ledger_init: room for |max_acked| and |max_inflight| entries; 0 on success */
int kl_ledger_init(struct kl_ledger *l, size_t max_acked, size_t max_inflight);
void kl_ledger_free(struct kl_ledger *l);
/* kl_ledger_ack records an acknowledged Create; its entry (NULL when full) */
struct kl_key *kl_ledger_ack(struct kl_ledger *l, const char *id, const char *name);
/* kl_ledger_key records the key a Get of |k| returned */
void kl_ledger_key(struct kl_ledger *l, struct kl_key *k, const uint8_t key[32]);
/* kl_ledger_inflight records a Create whose answer never came, or whose
 * outcome the server said is unknown; kl_ledger_refused one the server
 * refused saying nothing was written (it must stay absent) */
void kl_ledger_inflight(struct kl_ledger *l, const char *name);
void kl_ledger_refused(struct kl_ledger *l, const char *name);
/* kl_ledger_acked is the number of acknowledged Creates so far */
size_t kl_ledger_acked(struct kl_ledger *l);

/* kl_check_acked: on |clients| connections made with |o| at once, every
 * acknowledged key in [from, to) is there with the key first returned (or,
 * if none was read yet, a 32-byte AES key, which becomes the one to compare
 * next time). The number of failures, each named on stderr (|tag| first). */
unsigned kl_check_acked(struct kl_ledger *l, size_t from, size_t to, const struct kmipc_options *o,
			unsigned clients, const char *tag);
/* kl_check_inflight: every in-flight Create is whole or absent, and what it
 * was when first seen; every refused one is absent */
unsigned kl_check_inflight(struct kl_ledger *l, const struct kmipc_options *o, const char *tag);

/* ---- a client loop ----------------------------------------------------------- */

/* One client thread: Create on |create_on|, then Get the new key on
 * |get_on| (the same connection when NULL, another node's when set: it must
 * be there at once), until *stop (or, with stop NULL, until the first
 * refusal or broken connection). A broken connection records the Create in
 * flight; with |stop| set the client reconnects (pausing 50 ms) and goes on.
 * A refusal is counted; with |classify| NULL every refusal is unexpected,
 * else classify(why) says whether it is one the fault allows (a store
 * outage) and what it says of a Create: nothing written (recorded with
 * kl_ledger_refused), or the outcome unknown (kl_ledger_inflight); the
 * client then waits 20 ms, as a real one backs off. An unexpected one is
 * kept in first_unexpected and ends the loop. */
enum kl_refusal { KL_UNEXPECTED, KL_NOTHING_WRITTEN, KL_OUTCOME_UNKNOWN };

struct kl_worker {
	struct kl_ledger *ledger;
	const struct kmipc_options *create_on, *get_on;
	const volatile bool *stop;
	enum kl_refusal (*classify)(const struct kl_why *why);
	const char *tag; /* in the Names: "<tag>-<index>-<n>" */
	unsigned index;
	/* results */
	unsigned created, got, refused, unexpected, broken, reconnects;
	unsigned max_ms; /* the longest Create or Get, answered or not */
	struct kl_why first_unexpected;
};

void *kl_worker_main(void *arg);

#endif
