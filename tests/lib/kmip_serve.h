/* tests/lib/kmip_serve.h — a `fount serve` for the suites that talk KMIP to
 * the real TLS server: a throw-away state folder, KMIP on a free loopback
 * port, and the client certificate fount issues on first start (found
 * through the pykmip.conf it writes beside it). */
#ifndef FOUNT_TESTS_KMIP_SERVE_H
#define FOUNT_TESTS_KMIP_SERVE_H

#include "tests/lib/kmipc.h"

struct kmip_serve {
	char dir[64];
	int pid;
	unsigned port;
	char ca[256], cert[256], key[256];
};

/* kmip_serve_start starts the server (tag names the temporary folder);
 * 0 on success, else it says why on stderr. */
int kmip_serve_start(struct kmip_serve *s, const char *tag);
/* kmip_serve_stop stops it and removes the folder. */
void kmip_serve_stop(struct kmip_serve *s);
/* kmip_serve_issue has `fount ca issue` make a client certificate for
 * |tenant| in the server's PKI; its paths in |cert| and |key| (256 bytes). */
int kmip_serve_issue(const struct kmip_serve *s, const char *tenant, char cert[256], char key[256]);
/* kmip_serve_client_as connects with that certificate. */
struct kmipc *kmip_serve_client_as(const struct kmip_serve *s, const char *cert, const char *key);
/* kmip_serve_client connects a new kmipc client with the first client
 * certificate; NULL (and a message on stderr) when it cannot. */
struct kmipc *kmip_serve_client(const struct kmip_serve *s);

#endif
