/* api/kmip_objects.h — what the KMIP object operations share across files
 * besides the template parser (api/ops.h): the Unique Identifier (or ID
 * Placeholder) of a request and the version-aware answer to an
 * operation-layer error (api/kmip_objects.c defines them). Private to api/. */
#ifndef FOUNT_API_KMIP_OBJECTS_H
#define FOUNT_API_KMIP_OBJECTS_H

#include "api/internal.h"
#include "api/ops.h"

/* kmip_uid_of reads |p|'s Unique Identifier, or takes the ID Placeholder. */
bool kmip_uid_of(struct kmip_request *rq, const struct ttlv_item *p, char out[STORE_ID_MAX + 1],
		 struct kmip_result *res);

/* kmip_fail_err_rq is kmip_fail_err (api/ops.h) with the request's
 * version: a taken Name is Object Already Exists at KMIP 1.4. */
void kmip_fail_err_rq(struct kmip_request *rq, struct kmip_result *res, err_t r, const char *id);

#endif
