/* api/kmip_objects.h — what the KMIP object operations share across files
 * (api/kmip_objects.c defines them; api/kmip_register.c uses them): the
 * Template-Attribute parser, the Unique Identifier (or ID Placeholder) of a
 * request, and the KMIP answer to an operation-layer error. Private to
 * api/. */
#ifndef FOUNT_API_KMIP_OBJECTS_H
#define FOUNT_API_KMIP_OBJECTS_H

#include "api/internal.h"
#include "api/ops.h"

#define KMIP_TEMPLATE_MAX_ATTRS 64

/* The attributes of a Create or Register, as the operation layer takes
 * them: k.attrs points into attrs[]. */
struct kmip_template {
	struct ops_new_key k;
	struct store_attr attrs[KMIP_TEMPLATE_MAX_ATTRS];
	size_t n;
	struct ttlv_enc enc[KMIP_TEMPLATE_MAX_ATTRS]; /* the encodings of structure values */
	size_t n_enc;
	char names[KMIP_TEMPLATE_MAX_ATTRS][STORE_ATTR_NAME_MAX + 1];
	char search[KMIP_TEMPLATE_MAX_ATTRS][256];
};

/* kmip_template_parse reads the Attributes of |p|'s Template-Attribute (and
 * of |p| itself, as FortiOS sends them) into |t| (zeroed by the caller);
 * false with |res| set on a bad one. kmip_template_free releases |t|. */
bool kmip_template_parse(const struct ttlv_item *p, struct kmip_template *t, struct kmip_result *res);
void kmip_template_free(struct kmip_template *t);

/* kmip_uid_of reads |p|'s Unique Identifier, or takes the ID Placeholder. */
bool kmip_uid_of(struct kmip_request *rq, const struct ttlv_item *p, char out[STORE_ID_MAX + 1],
		 struct kmip_result *res);

/* kmip_fail_err answers a failed operation-layer call |r| on object |id|. */
void kmip_fail_err(struct kmip_request *rq, struct kmip_result *res, err_t r, const char *id);

#endif
