/* api/internal.h — what the files of api/ share: the KMIP request context,
 * results, and the operation table. Private to api/. */
#ifndef FOUNT_API_INTERNAL_H
#define FOUNT_API_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/kmip.h"
#include "api/ttlv.h"
#include "util/util.h"

/* api_key_id_ok: |s| is a key id as fount writes them and routes take them
 * (1..64 of [A-Za-z0-9._~:-]; api/http_routes.c) */
bool api_key_id_ok(const char *s);

struct store_attr; /* store/store.h */

/* KMIP protocol versions fount speaks, newest first (KMIP 1.4 §6.1: a
 * server SHALL accept every earlier minor version of its major version). */
struct kmip_version {
	int32_t major, minor;
};
#define KMIP_MINOR_MAX 4

/* The longest Unique Identifier fount accepts or issues, in bytes. */
#define KMIP_UID_MAX 64
/* The longest Result Message fount writes. */
#define KMIP_MESSAGE_MAX 200

/* Who sent a request: filled by the transport from the TLS session. */
struct kmip_peer {
	char tenant[64];      /* the tenant the client certificate maps to */
	uint8_t cert_sha256[32];
	bool admin;
};

/* The outcome of one batch item (KMIP 1.4 §6.10-6.12). */
struct kmip_result {
	uint32_t status; /* KMIP_RESULT_STATUS_* */
	uint32_t reason; /* KMIP_RESULT_REASON_*, when not Success */
	char message[KMIP_MESSAGE_MAX];
	/* a failure that still carries the handler's Response Payload (Check,
	 * KMIP 1.4 §4.10: the attributes that caused the denial) */
	bool payload_on_failure;
};

/* One request message as its operations see it. */
struct kmip_request {
	struct kmip_version version; /* from this message's header */
	const struct kmip_peer *peer;
	size_t max_response;         /* what this response may take, in bytes */
	/* The ID Placeholder (KMIP 1.4 §2.2? and §6.4 of the Usage Guide): the
	 * Unique Identifier the last operation of this batch returned, used by
	 * a later item that names none. */
	char id_placeholder[KMIP_UID_MAX + 1];
};

/* kmip_fail sets |res| to Operation Failed with |reason| and a formatted
 * message (never secret: it goes to the client and the log). */
void kmip_fail(struct kmip_result *res, uint32_t reason, const char *fmt, ...) PRINTF_LIKE(3, 4);

/* An operation handler reads |payload| (the Request Payload, or NULL when
 * the item had none) and, on success, writes one Response Payload
 * structure into |out| and leaves |res| at Success. On failure it sets
 * |res| (kmip_fail); whatever it wrote to |out| is dropped, unless it
 * also sets res->payload_on_failure (Check). */
typedef void (*kmip_handler)(struct kmip_request *rq, const struct ttlv_item *payload,
			     struct ttlv_enc *out, struct kmip_result *res);

struct kmip_operation {
	uint32_t operation;        /* KMIP_OPERATION_* */
	int32_t since_minor;       /* first KMIP 1.x minor version that defines it */
	kmip_handler handler;
};

/* The operations on managed objects (api/kmip_objects.c; Get Attributes
 * is in api/kmip_attrs.c with the other attribute operations). */
void kmip_op_create(struct kmip_request *rq, const struct ttlv_item *p, struct ttlv_enc *out,
		    struct kmip_result *res);
void kmip_op_locate(struct kmip_request *rq, const struct ttlv_item *p, struct ttlv_enc *out,
		    struct kmip_result *res);
void kmip_op_get(struct kmip_request *rq, const struct ttlv_item *p, struct ttlv_enc *out,
		 struct kmip_result *res);
void kmip_op_get_attributes(struct kmip_request *rq, const struct ttlv_item *p, struct ttlv_enc *out,
			    struct kmip_result *res);
void kmip_op_activate(struct kmip_request *rq, const struct ttlv_item *p, struct ttlv_enc *out,
		      struct kmip_result *res);
void kmip_op_revoke(struct kmip_request *rq, const struct ttlv_item *p, struct ttlv_enc *out,
		    struct kmip_result *res);
void kmip_op_destroy(struct kmip_request *rq, const struct ttlv_item *p, struct ttlv_enc *out,
		     struct kmip_result *res);

/* Key pairs and replacement keys (api/kmip_keypair.c). */
void kmip_op_create_key_pair(struct kmip_request *rq, const struct ttlv_item *p, struct ttlv_enc *out,
			     struct kmip_result *res);
void kmip_op_rekey(struct kmip_request *rq, const struct ttlv_item *p, struct ttlv_enc *out,
		   struct kmip_result *res);
void kmip_op_rekey_key_pair(struct kmip_request *rq, const struct ttlv_item *p, struct ttlv_enc *out,
			    struct kmip_result *res);
/* ---- attributes (api/kmip_attrs.c) --------------------------------------- */

/* What the KMIP 1.x attribute table says of one attribute (KMIP 1.4 §3). */
enum {
	KMIP_ATTR_SERVER = 1u << 0,   /* the client may not add, modify or delete it */
	KMIP_ATTR_MULTI = 1u << 1,    /* multiple instances permitted */
	KMIP_ATTR_CREATE = 1u << 2,   /* the client may give it when the object is made */
	KMIP_ATTR_KEEP = 1u << 3,     /* never deleted by a client (required, or the spec says so) */
};
struct kmip_attr_rule {
	const char *name;
	int32_t since;  /* first KMIP 1.x minor version that defines it */
	uint8_t type;   /* the TTLV type of its value; 0 for a custom attribute (any) */
	unsigned flags; /* KMIP_ATTR_* */
};

/* kmip_attr_rule finds |name|'s rule: a KMIP 1.x attribute, or the rule of
 * custom "x-"/"y-" attributes (1.0, any type, multi-instance); NULL for a
 * name that is neither. */
const struct kmip_attr_rule *kmip_attr_rule(const char *name);
/* kmip_attr_defined says whether KMIP 1.|minor| defines |name|: what a
 * request at that version may send and be sent (kmip-clients §5). */
bool kmip_attr_defined(const char *name, int32_t minor);
/* kmip_attr_rules returns the whole table (tests). */
size_t kmip_attr_rules(const struct kmip_attr_rule **out);

/* kmip_rng_encode writes, as a structure tagged |tag|, the RNG Parameters
 * of the generator behind every key fount makes and RNG Retrieve (KMIP 1.4
 * §2.1.18): CTR_DRBG, AES-256, prediction resistance. Query RNGs writes it
 * under RNG Parameters, the Random Number Generator attribute (§3.44) under
 * Attribute Value. */
void kmip_rng_encode(struct ttlv_enc *e, uint32_t tag);
/* kmip_rng_matches says whether the Random Number Generator value |v| (an
 * RNG Parameters structure, e.g. from a Create template) describes what
 * kmip_rng_encode writes: every field it gives agrees (§3.44: a server
 * that cannot honour a requested RNG SHALL fail the request). */
bool kmip_rng_matches(const struct ttlv_item *v);
/* kmip_rng_attr fills |a| with the server's Random Number Generator
 * attribute for a new object that the server generates (Create, Create Key
 * Pair), encoded in |e| (initialised here; free with ttlv_enc_free after
 * the store_put). A Register keeps the client's value as given instead. */
err_t kmip_rng_attr(struct ttlv_enc *e, struct store_attr *a) MUST_CHECK;

/* kmip_uid_of reads |p|'s Unique Identifier into |out|, or takes the ID
 * Placeholder when there is none (KMIP 1.4 §4: "If omitted, then the ID
 * Placeholder value is used"); false (|res| set) otherwise. */
bool kmip_uid_of(struct kmip_request *rq, const struct ttlv_item *p, char out[KMIP_UID_MAX + 1],
		 struct kmip_result *res);
/* kmip_fail_err answers a failed operation-layer call |r| on object |id|
 * in KMIP's terms (api/kmip_objects.c). */
void kmip_fail_err(struct kmip_result *res, err_t r, const char *id);
/* kmip_fail_err_rq is kmip_fail_err with the request's version: a taken
 * Name is Object Already Exists at KMIP 1.4. */
void kmip_fail_err_rq(struct kmip_request *rq, struct kmip_result *res, err_t r, const char *id);

/* The attribute operations (api/kmip_attrs.c). */
void kmip_op_get_attribute_list(struct kmip_request *rq, const struct ttlv_item *p, struct ttlv_enc *out,
				struct kmip_result *res);
void kmip_op_add_attribute(struct kmip_request *rq, const struct ttlv_item *p, struct ttlv_enc *out,
			   struct kmip_result *res);
void kmip_op_modify_attribute(struct kmip_request *rq, const struct ttlv_item *p, struct ttlv_enc *out,
			      struct kmip_result *res);
void kmip_op_delete_attribute(struct kmip_request *rq, const struct ttlv_item *p, struct ttlv_enc *out,
			      struct kmip_result *res);
void kmip_op_check(struct kmip_request *rq, const struct ttlv_item *p, struct ttlv_enc *out,
		   struct kmip_result *res);
void kmip_op_obtain_lease(struct kmip_request *rq, const struct ttlv_item *p, struct ttlv_enc *out,
			  struct kmip_result *res);

/* Register (api/kmip_register.c, KMIP 1.4 §4.3). */
void kmip_op_register(struct kmip_request *rq, const struct ttlv_item *p, struct ttlv_enc *out,
		      struct kmip_result *res);
/* Encrypt and Decrypt (api/kmip_crypto.c). */
void kmip_op_encrypt(struct kmip_request *rq, const struct ttlv_item *p, struct ttlv_enc *out,
		     struct kmip_result *res);
void kmip_op_decrypt(struct kmip_request *rq, const struct ttlv_item *p, struct ttlv_enc *out,
		     struct kmip_result *res);

/* kmip_operations returns the table of operations fount implements, in the
 * order Query Operations lists them: the object operations only when the
 * server has a store (ops_set_store). */
size_t kmip_operations(const struct kmip_operation **out);

/* kmip_object_types returns the object types Query Objects lists (none
 * without a store). */
size_t kmip_object_types(const uint32_t **out);

/* A KMIP server profile (KMIP Profiles 1.4 §5) Query Profiles may claim:
 * its Profile Name for each KMIP 1.x minor version (0: none), the
 * operations (Baseline's included) and object types it needs, and what
 * else it needs that fount is known to lack (NULL: nothing). */
struct kmip_profile {
	const char *family;
	uint32_t names[KMIP_MINOR_MAX + 1];
	const uint32_t *ops;
	size_t n_ops;
	const uint32_t *objects;
	size_t n_objects;
	const char *lacks;
	/* a service the profile needs that this process may not offer
	 * (3DES outside FIPS mode); NULL: nothing */
	bool (*available)(void);
};
/* kmip_profiles returns the profile table (api/kmip_ops.c). */
size_t kmip_profiles(const struct kmip_profile **out);
/* kmip_profile_claimed says whether Query Profiles at |minor| claims the
 * version |minor| of |p|: it has a name there, lacks nothing, its
 * |available| service (if any) is offered, and every
 * one of its operations is in kmip_operations() at that version and every
 * object type in kmip_object_types(). */
bool kmip_profile_claimed(const struct kmip_profile *p, int32_t minor);

/* kmip_process answers one request message: |req| (|req_len| bytes, one
 * whole TTLV message) from |peer|. It always produces a response in |resp|
 * (initialised here, capped at |max_response| bytes unless the request asks
 * for less), also for a request it cannot decode: then with what could be
 * read of it and Invalid Message. Returns ERR_OK, or ERR_NOMEM when not even
 * an error response could be built. */
err_t kmip_process(const uint8_t *req, size_t req_len, const struct kmip_peer *peer,
		   size_t max_response, struct ttlv_enc *resp) MUST_CHECK;

/* api_listen_split splits a listener's address "HOST:PORT", "[V6]:PORT" or
 * ":PORT" (api/listen.c); ERR_CONFIG when it is none of them or the parts
 * do not fit. */
err_t api_listen_split(const char *l, char *host, size_t host_len, char *port, size_t port_len) MUST_CHECK;

/* api_listen_tcp binds and listens on |l| (port 0: any; *port_out gets the
 * port the socket has). |key| names the setting in messages ("[kmip]
 * listen"); with |loopback_fix| only loopback addresses (numeric, or
 * localhost) are taken and a refusal ends with that text. ERR_CONFIG for
 * an address it cannot use, ERR_IO when it cannot listen (the port taken,
 * or privileged). */
struct api_listen_opts {
	const char *key;
	const char *loopback_fix; /* NULL: any address */
	int backlog;
	bool nonblock;            /* a non-blocking listening socket */
};
err_t api_listen_tcp(const struct api_listen_opts *o, const char *l, int *fd_out, uint16_t *port_out, char *why,
		     size_t why_len) MUST_CHECK;

#endif
