/* tests/lib/kmip_serve.h — a `fount serve` for the suites that talk KMIP to
 * the real TLS server: a throw-away state folder, KMIP on a free loopback
 * port, and the client certificate fount issues on first start (found
 * through the pykmip.conf it writes beside it). */
#ifndef FOUNT_TESTS_KMIP_SERVE_H
#define FOUNT_TESTS_KMIP_SERVE_H

#include <stdbool.h>

#include "tests/lib/kmipc.h"

#define KMIP_SERVE_ENV_MAX 12

struct kmip_serve {
	char dir[64];
	int pid;
	unsigned port;
	unsigned http_port; /* plain HTTP on loopback (kmip_serve_options.http), else 0 */
	char ca[256], cert[256], key[256];
	/* what each (re)start passes: the options' environment, copied */
	char env[KMIP_SERVE_ENV_MAX][512];
	unsigned spawns;
	char log[160]; /* the current run's log */
};

struct kmip_serve_options {
	/* more environment for `fount serve` ("FOUNT_STORE_URL=..."),
	 * NULL-terminated; at most KMIP_SERVE_ENV_MAX - 6 */
	const char *const *env;
	/* a node of a cluster: its state folder starts with a copy of this
	 * other node's PKI and KEK file, as an operator provisions a second
	 * node */
	const struct kmip_serve *like;
	bool http; /* also plain HTTP on a free loopback port */
};

/* kmip_serve_start starts the server (tag names the temporary folder);
 * 0 on success, else it says why on stderr. kmip_serve_start_with with
 * options (NULL: none). */
int kmip_serve_start(struct kmip_serve *s, const char *tag);
int kmip_serve_start_with(struct kmip_serve *s, const char *tag, const struct kmip_serve_options *o);
/* kmip_serve_kill sends |sig| and reaps the server (SIGKILL: a crash);
 * kmip_serve_restart starts it again on the same folder, ports and
 * environment (each run logs to a new file, serve-N.log). */
void kmip_serve_kill(struct kmip_serve *s, int sig);
int kmip_serve_restart(struct kmip_serve *s);
/* kmip_serve_opts: client options for this server with its first client
 * certificate, and |timeout_ms| per connect/send/receive */
struct kmipc_options kmip_serve_opts(const struct kmip_serve *s, int timeout_ms);
/* kmip_serve_health asks GET /v1/health on a plain HTTP listener on
 * loopback (|http_port|; kmip_serve_options.http): its status (-1 when no
 * answer came) in the return value and out->status, and the store's state
 * from the body: reachable and writable, 1 or 0 (-1 when absent) */
struct kmip_serve_health {
	int status, reachable, writable;
};
int kmip_serve_health(unsigned http_port, struct kmip_serve_health *out);
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
