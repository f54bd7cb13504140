/* api/listen.c — listener addresses and TCP listening sockets, one way
 * for the KMIP, HTTP and EGD listeners. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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

static bool is_loopback(const struct sockaddr *a)
{
	if (a->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)(const void *)a)->sin_addr.s_addr) >> 24) == 127;
	if (a->sa_family == AF_INET6) {
		const struct in6_addr *v6 = &((const struct sockaddr_in6 *)(const void *)a)->sin6_addr;
		return IN6_IS_ADDR_LOOPBACK(v6) || (IN6_IS_ADDR_V4MAPPED(v6) && v6->s6_addr[12] == 127);
	}
	return false;
}

err_t api_listen_tcp(const struct api_listen_opts *o, const char *l, int *fd_out, uint16_t *port_out, char *why,
		     size_t why_len)
{
	const char *fix = o->loopback_fix;
	char host[256], port[8];
	if (api_listen_split(l, host, sizeof host, port, sizeof port) != ERR_OK || atoi(port) > 65535) {
		snprintf(why, why_len, "%s = %s: want HOST:PORT, [IPV6]:PORT or :PORT%s%s", o->key, l, fix ? "; " : "",
			 fix ? fix : "");
		return ERR_CONFIG;
	}
	/* loopback only: numeric addresses, or the name localhost */
	bool numeric = fix != NULL && strcmp(host, "localhost") != 0;
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | (numeric ? AI_NUMERICHOST : 0)};
	struct addrinfo *res = NULL;
	int g = fix != NULL && host[0] == '\0' ? EAI_NONAME
					       : getaddrinfo(host[0] != '\0' ? host : NULL, port, &hints, &res);
	bool refused = fix != NULL && (g != 0 || res == NULL);
	for (struct addrinfo *ai = res; fix != NULL && !refused && ai != NULL; ai = ai->ai_next)
		refused = !is_loopback(ai->ai_addr);
	if (refused) {
		if (res != NULL)
			freeaddrinfo(res);
		snprintf(why, why_len, "%s = %s: not a loopback address; %s", o->key, l, fix);
		return ERR_CONFIG;
	}
	if (g != 0) {
		snprintf(why, why_len, "%s = %s: %s", o->key, l, gai_strerror(g));
		return ERR_CONFIG;
	}
	int fd = -1, saved = 0;
	for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | (o->nonblock ? SOCK_NONBLOCK : 0),
			    ai->ai_protocol);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		int one = 1;
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, o->backlog) != 0) {
			saved = errno;
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(why, why_len, "cannot listen on %s (%s): %s%s%s%s", l, o->key, strerror(saved),
			 saved == EADDRINUSE ? " (another server has the port: stop it or change " : "",
			 saved == EADDRINUSE ? o->key : "",
			 saved == EADDRINUSE ? ")"
			 : saved == EACCES   ? " (ports below 1024 need root or CAP_NET_BIND_SERVICE)"
					     : "");
		return ERR_IO;
	}
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	*port_out = 0;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		*port_out = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)(void *)&ss)->sin6_port
							   : ((struct sockaddr_in *)(void *)&ss)->sin_port);
	*fd_out = fd;
	return ERR_OK;
}
