/* api/agent.h — the parts of api/agent.c (`fount agent`) that tests and
 * the fuzz target drive without a server. Private to api/. */
#ifndef FOUNT_API_AGENT_H
#define FOUNT_API_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

#define AGENT_ID_MAX 64   /* a server's key id (STORE_ID_MAX) */
#define AGENT_NAME_MAX 64 /* a local name (CONFIG_AGENT_NAME_MAX) */

/* One Server-Sent Event of GET /v1/events. */
struct agent_event {
	uint64_t seq;  /* its id: line; 0 when it had none */
	char kind[16]; /* event: activate, revoke, compromise, destroy, rekey */
	char id[AGENT_ID_MAX + 1];
	char new_id[AGENT_ID_MAX + 1]; /* rekey: the replacement */
	char state[24];
	int64_t time;
	bool has_data; /* a data: line with the JSON above; else only an id: (the cursor moved) */
};

/* agent_sse_next reads the next event block from |b| (|len| bytes) at
 * *off, advancing it. 1: |e| filled; 0: no more blocks; -1: a block
 * fount does not write (skip it: *off still advances). Lines: "id: N", "event: K", "data: JSON", "retry: N",
 * ":comment"; an over-long line or a bad number is ERR_PARSE. */
int agent_sse_next(const char *b, size_t len, size_t *off, struct agent_event *e) MUST_CHECK NONNULL(1, 3, 4);

/* agent_peer_volume reads the volume from systemd-cryptsetup's socket
 * name (abstract: "\0<hex>/cryptsetup/<volume>"; |len| bytes of
 * sun_path); false for any other name. */
bool agent_peer_volume(const char *path, size_t len, char volume[AGENT_NAME_MAX]) NONNULL(1, 3);

/* agent_material reads a GET /v1/keys/{id}/material answer: the key's id,
 * its lease (0 when none is granted) and the material, base64-decoded
 * into |m| (|cap| bytes, secure memory: the caller's). The base64 text in
 * |body| is overwritten. ERR_PARSE when it is not such an answer. */
err_t agent_material(char *body, size_t len, char id[AGENT_ID_MAX + 1], int64_t *lease_end, unsigned *lease_s,
		     uint8_t *m, size_t cap, size_t *m_len) MUST_CHECK NONNULL(1, 3, 4, 5, 6, 8);

#endif
