/* api/kmip.h — KMIP's vocabulary as C constants, private to api/: every tag
 * as KMIP_TAG_<NAME> and every enumeration value as KMIP_<ENUMERATION>_<NAME>
 * (KMIP Specification v1.4, §9.1.3), from the one table in api/kmip_tags.h,
 * and lookups of their spec names. */
#ifndef FOUNT_API_KMIP_H
#define FOUNT_API_KMIP_H

#include <stdint.h>

#include "api/kmip_tags.h"

enum kmip_tag {
#define X(name, value, spec) KMIP_TAG_##name = value,
	KMIP_TAGS(X)
#undef X
};

enum kmip_enum_value {
#define X(enumeration, name, value, spec) KMIP_##enumeration##_##name = value,
	KMIP_ENUMS(X)
#undef X
};

/* kmip_tag_name returns the spec name of |tag| ("Protocol Version"), or
 * NULL for a tag KMIP 1.4 does not define. */
const char *kmip_tag_name(uint32_t tag);

/* kmip_tag_by_name returns the tag whose spec name is |name| (|len| bytes,
 * as an Attribute Name carries it), or 0. */
uint32_t kmip_tag_by_name(const char *name, size_t len);

#endif
