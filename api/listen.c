/* api/listen.c — the one parser of a listener's address, for the KMIP,
 * HTTP and EGD listeners. */
#include <stdio.h>
#include <string.h>

#include "api/internal.h"

err_t api_listen_split(const char *l, char *host, size_t host_len, char *port, size_t port_len)
{
	const char *colon;
	if (l[0] == '[') {
		const char *end = strchr(l, ']');
		ENSURE(end != NULL && end[1] == ':' && (size_t)(end - l - 1) < host_len, ERR_CONFIG);
		memcpy(host, l + 1, (size_t)(end - l - 1));
		host[end - l - 1] = '\0';
		colon = end + 1;
	} else {
		colon = strrchr(l, ':');
		ENSURE(colon != NULL && (size_t)(colon - l) < host_len, ERR_CONFIG);
		memcpy(host, l, (size_t)(colon - l));
		host[colon - l] = '\0';
	}
	size_t pl = strlen(colon + 1);
	ENSURE(pl > 0 && pl < port_len && strspn(colon + 1, "0123456789") == pl, ERR_CONFIG);
	memcpy(port, colon + 1, pl + 1);
	return ERR_OK;
}
