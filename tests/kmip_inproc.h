/* tests/kmip_inproc.h — the fixture of the in-process KMIP suites (the
 * ones that call kmip_process directly, without TLS): the suite set-up
 * (keygen, entropy, the DRBG tree and a store in a temporary folder), the
 * peers, a request builder and the decoded response with its accessors.
 * Everything is prefixed kt_ so a suite's own static helpers never clash.
 *
 * A suite's life:
 *	static int suite_init(void) { return kt_init(&(struct kt_suite){.tag = "kmipobj"}); }
 *	static int suite_clean(void) { return kt_clean(); }
 * and a test:
 *	struct kt_req q; struct kt_resp r;
 *	kt_begin(&q, 4, 1);
 *	kt_uid_item(&q, KMIP_OPERATION_GET, uid);
 *	kt_run(&q, &kt_alice, &r);
 *	... kt_status(kt_nth(&r, 0)) ...
 *	kt_resp_free(&r); */
#ifndef FOUNT_TESTS_KMIP_INPROC_H
#define FOUNT_TESTS_KMIP_INPROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/internal.h"
#include "api/ops.h" /* struct store, STORE_ID_MAX */

/* ---- the suite ------------------------------------------------------------- */
struct kt_suite {
	/* the temporary folder's tag (/tmp/fount-<tag>-XXXXXX) holding the
	 * store; NULL: a message-level suite with no store and no keygen
	 * service gate, only keygen, entropy and the DRBG tree */
	const char *tag;
	/* kmip_process's response cap in kt_run; 0: 1 MiB */
	size_t response_max;
	/* kt_one asserts that a failed item carries a Result Message */
	bool check_messages;
};

/* kt_init sets the suite up (and kt_gate_open to true); kt_clean takes it
 * down. Both return 0 on success, as CUnit init/clean functions do. */
int kt_init(const struct kt_suite *s);
int kt_clean(void);

/* the DRBG gate (and, with a store, the keygen service gate) the fixture
 * installs answers kt_gate_open: a test may shut it and must reopen it */
extern bool kt_gate_open;
/* the store kt_init opened (NULL without a tag) and its folder */
extern struct store *kt_store;
extern char kt_dir[64];

/* alice and bob are ordinary tenants; admin (tenant "ops") is an admin */
extern const struct kmip_peer kt_alice, kt_bob, kt_admin;

/* ---- requests -------------------------------------------------------------- */
struct kt_req {
	struct ttlv_enc e; /* up to 4 MiB */
};

/* The Request Header (KMIP 1.4 §7.2), its fields in the spec's order. */
struct kt_header {
	int minor, count;     /* Protocol Version 1.|minor|, Batch Count */
	int32_t max_response; /* Maximum Response Size; 0: none */
	uint32_t beco;        /* Batch Error Continuation Option; 0: none */
	bool time_stamp;      /* a Time Stamp of now (PSMDB sends one) */
};

/* kt_begin_h opens a Request Message with the header |h|; kt_begin with
 * only version and batch count. */
void kt_begin_h(struct kt_req *q, const struct kt_header *h);
void kt_begin(struct kt_req *q, int minor, int count);

/* kt_item opens a Batch Item for |op| and its Request Payload;
 * kt_item_end closes both. */
void kt_item(struct kt_req *q, uint32_t op);
void kt_item_end(struct kt_req *q);

/* Attributes (§2.1.1): |name| with a value of one type; kt_attr_name a
 * Name of type Uninterpreted Text String. */
void kt_attr_enum(struct kt_req *q, const char *name, uint32_t v);
void kt_attr_int(struct kt_req *q, const char *name, int32_t v);
void kt_attr_text(struct kt_req *q, const char *name, const char *v);
void kt_attr_date(struct kt_req *q, const char *name, int64_t v);
void kt_attr_name(struct kt_req *q, const char *v);

/* kt_create_begin opens a Create (§4.1) of an AES-|bits| Symmetric Key,
 * its Template-Attribute left open after Algorithm and Length for more
 * attributes; kt_create_end closes the template and the item.
 * kt_create_item is the whole item, with Usage Mask |mask| (< 0: none)
 * and, when not NULL, a Name. */
void kt_create_begin(struct kt_req *q, int bits);
void kt_create_end(struct kt_req *q);
void kt_create_item(struct kt_req *q, int bits, int32_t mask, const char *name);

/* kt_revoke_item: a Revoke (§4.20) of |uid| with Revocation Reason Code
 * |code| */
void kt_revoke_item(struct kt_req *q, const char *uid, uint32_t code);

/* kt_uid_item: an item |op| whose payload is a Unique Identifier (none
 * when |uid| is NULL: the ID Placeholder) */
void kt_uid_item(struct kt_req *q, uint32_t op, const char *uid);

/* ---- responses ------------------------------------------------------------- */
struct kt_resp {
	struct ttlv_enc raw;
	struct ttlv_doc doc;
};

/* kt_run closes |q|, runs it through kmip_process as |p| and decodes the
 * answer into |r| (asserting each step; the decode is fatal); frees |q|. */
void kt_run(struct kt_req *q, const struct kmip_peer *p, struct kt_resp *r);
void kt_resp_free(struct kt_resp *r);

/* kt_nth is the |n|-th response Batch Item (from 0), kt_first the first */
const struct ttlv_item *kt_nth(const struct kt_resp *r, int n);
const struct ttlv_item *kt_first(const struct kt_resp *r);

/* of a Batch Item: its Result Status (0xFFFFFFFF when absent), Result
 * Reason (0 when absent), Response Payload; kt_has_message: a non-empty
 * text Result Message (libkmip and mongod need one with every failure) */
uint32_t kt_status(const struct ttlv_item *it);
uint32_t kt_reason(const struct ttlv_item *it);
const struct ttlv_item *kt_payload(const struct ttlv_item *it);
bool kt_has_message(const struct ttlv_item *it);

/* ---- one-item exchanges ---------------------------------------------------- */
/* kt_create_one creates an AES-256 key with |mask| and |name| for |p| at
 * 1.|minor| and copies its identifier to |uid|; false if it failed. */
bool kt_create_one(const struct kmip_peer *p, int minor, int32_t mask, const char *name,
		   char uid[STORE_ID_MAX + 1]);

/* kt_one runs |op| on |uid| (kt_uid_item) at 1.4 and returns its Result
 * Status, and its Result Reason in |out_reason| when not NULL. */
uint32_t kt_one(const struct kmip_peer *p, uint32_t op, const char *uid, uint32_t *out_reason);

#endif
