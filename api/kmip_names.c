/* api/kmip_names.c — spec names of KMIP tags, from api/kmip_tags.h. */
#include <stddef.h>
#include <string.h>

#include "api/kmip.h"

static const struct {
	uint32_t tag;
	const char *name;
} tags[] = {
#define X(name, value, spec) {value, spec},
	KMIP_TAGS(X)
#undef X
};

const char *kmip_tag_name(uint32_t tag)
{
	/* the table is in tag order (Table 288): binary search */
	size_t lo = 0, hi = sizeof tags / sizeof tags[0];
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (tags[mid].tag == tag)
			return tags[mid].name;
		if (tags[mid].tag < tag)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

uint32_t kmip_tag_by_name(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++)
		if (strlen(tags[i].name) == len && memcmp(tags[i].name, name, len) == 0)
			return tags[i].tag;
	return 0;
}
