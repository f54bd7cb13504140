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
 * |res| (kmip_fail); whatever it wrote to |out| is dropped. */
typedef void (*kmip_handler)(struct kmip_request *rq, const struct ttlv_item *payload,
			     struct ttlv_enc *out, struct kmip_result *res);

struct kmip_operation {
	uint32_t operation;        /* KMIP_OPERATION_* */
	int32_t since_minor;       /* first KMIP 1.x minor version that defines it */
	kmip_handler handler;
};

/* The operations on managed objects (api/kmip_objects.c). */
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
};
/* kmip_profiles returns the profile table (api/kmip_ops.c). */
size_t kmip_profiles(const struct kmip_profile **out);
/* kmip_profile_claimed says whether Query Profiles at |minor| claims the
 * version |minor| of |p|: it has a name there, lacks nothing, and every
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

#endif
