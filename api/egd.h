/* api/egd.h — private to api/ (and the tests and the fuzzer): the EGD
 * protocol as pure functions over byte streams, with no sockets, so that
 * the server (api/egd.c), the unit tests and fuzz/fuzz_egd.c drive the same
 * code.
 *
 * The protocol (egd 0.9's egc.pl, libgcrypt random/rndegd.c; fount's
 * reference: shared/reference/vm-entropy.md §1.1). Integers are unsigned
 * big-endian; there is no framing and no error reply:
 *   00            get entropy level -> 4 bytes, a bit count
 *   01 NN         non-blocking read -> MM, then MM bytes (MM <= NN; 0 allowed)
 *   02 NN         blocking read     -> exactly NN bytes, no count byte; may wait
 *   03 BB BB LL   write entropy, then LL bytes; no reply (BBBB = bits the
 *                 writer claims: fount mixes the bytes in as DRBG additional
 *                 input and credits nothing)
 *   04            get PID           -> LL, then LL ASCII digits
 * Any other opcode: the server closes the connection. */
#ifndef FOUNT_API_EGD_H
#define FOUNT_API_EGD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

enum {
	EGD_OP_LEVEL = 0x00,
	EGD_OP_READ = 0x01,     /* non-blocking */
	EGD_OP_READ_BLOCK = 0x02,
	EGD_OP_WRITE = 0x03,
	EGD_OP_PID = 0x04,
	EGD_OPS = 5,
};

/* The longest command: 03 BB BB LL and 255 bytes. */
#define EGD_MAX_CMD (4u + 255u)
/* What 00 answers while fount is OPERATIONAL: the security strength, in
 * bits, of the CTR_DRBG every reply comes from (AES-256, seeded with 256
 * bits of full entropy). Outside OPERATIONAL it answers 0: nothing can be
 * read then. */
#define EGD_LEVEL_BITS 256u

/* ---- the parser ---------------------------------------------------------- */

struct egd_parser {
	uint8_t buf[EGD_MAX_CMD]; /* a command split across inputs, so far */
	uint16_t have;
};

struct egd_cmd {
	uint8_t op;
	uint8_t count;        /* 01, 02: bytes asked for; 03: LL */
	uint16_t bits;        /* 03: BBBB, the writer's claim (never credited) */
	const uint8_t *data;  /* 03: the LL bytes (into the input or the parser) */
};

enum egd_step {
	EGD_MORE = 0, /* all of |in| was taken; the command is not complete yet */
	EGD_CMD,      /* *cmd is a whole command; valid until the next call */
	EGD_BAD,      /* an unknown opcode: close the connection */
};

/* egd_parse takes bytes of |in| (|len|) until one command is complete and
 * sets *used to how many it took. A command split across calls is kept in
 * |p|; several commands in one |in| come out one per call. After EGD_BAD
 * the stream cannot be resynchronised: the caller must stop. */
enum egd_step egd_parse(struct egd_parser *p, const uint8_t *in, size_t len, size_t *used,
			struct egd_cmd *cmd) NONNULL(1, 4, 5);

/* ---- a session: one connection's commands and replies ---------------------
 * Commands are queued in arrival order; their replies are made (from the
 * DRBG, through |env|) into the caller's output buffer in the same order,
 * as room, the rate limit and the module state allow. A 02 that cannot be
 * answered (fount not OPERATIONAL) waits at the head of the queue, and so
 * does every reply behind it: EGD has no framing, so no later reply may
 * overtake it. Nothing is ever sent that is not DRBG output or a count. */

/* Commands queued (replies owed) per connection, and reply bytes owed: past
 * either, egd_session_input takes no more input until replies go out. */
#define EGD_QUEUE 256u
#define EGD_MAX_OWED 65536u

struct egd_env {
	/* fill |out| with |len| DRBG bytes; anything but ERR_OK: not now */
	err_t (*generate)(void *ctx, uint8_t *out, size_t len);
	/* take the bytes of a 03 (additional input, never credited) */
	void (*mix)(void *ctx, const uint8_t *in, size_t len);
	/* whether fount is OPERATIONAL (what 00 reports) */
	bool (*operational)(void *ctx);
	void *ctx;
	uint32_t pid;         /* what 04 reports */
	uint64_t rate;        /* bytes per second (replies and 03 data); 0 = unlimited */
};

struct egd_queued {
	uint64_t since_ns; /* when it arrived (02's wait is measured from here) */
	uint8_t op, count;
};

struct egd_session_stats {
	uint64_t commands[EGD_OPS];
	uint64_t bytes_served;     /* DRBG bytes sent in 01 and 02 replies */
	uint64_t bytes_written;    /* 03 data bytes received */
	uint64_t longest_wait_ns;  /* of a 02, from arrival to its reply */
};

struct egd_session {
	const struct egd_env *env;
	struct egd_parser parser;
	struct egd_queued q[EGD_QUEUE];
	unsigned head, count;
	size_t owed;          /* reply bytes the queued commands need, at most */
	uint8_t *out;         /* the caller's output buffer */
	size_t out_cap, out_start, out_end;
	double tokens;        /* the rate limit's bucket, bytes */
	uint64_t refilled_ns;
	bool bad;             /* an unknown opcode arrived: no more input */
	bool waiting;         /* the head is a read that the module state holds up */
	struct egd_session_stats st;
};

/* egd_session_init starts a session over |out| (|out_cap| bytes, at least
 * EGD_MAX_CMD) at time |now_ns|. |env| must outlive it. */
void egd_session_init(struct egd_session *s, const struct egd_env *env, uint8_t *out, size_t out_cap,
		      uint64_t now_ns) NONNULL(1, 2, 3);

/* egd_session_input parses commands from |in| and queues them, mixing 03
 * data through env->mix at once, and returns how many bytes it took: fewer
 * than |len| when the queue is full, the rate limit is exhausted or an
 * unknown opcode arrived (s->bad; the rest is ignored). |now_ns| stamps the
 * commands. */
size_t egd_session_input(struct egd_session *s, const uint8_t *in, size_t len, uint64_t now_ns) NONNULL(1);

/* egd_session_produce makes the replies of queued commands, oldest first,
 * into the output buffer while there is room, tokens and (for reads) DRBG
 * output; consecutive 02s share one generate. Sets s->waiting when the head
 * is a read fount cannot answer now. */
void egd_session_produce(struct egd_session *s, uint64_t now_ns) NONNULL(1);

/* egd_session_output points *p at the bytes ready to send and returns how
 * many; egd_session_sent says |n| of them went (they are wiped). */
size_t egd_session_output(const struct egd_session *s, const uint8_t **p) NONNULL(1, 2);
void egd_session_sent(struct egd_session *s, size_t n) NONNULL(1);

/* egd_session_can_input: the queue has room and the rate limit tokens
 * (input would be taken). egd_session_idle: nothing queued, nothing to
 * send. egd_session_wake_ns: when the rate limit next allows output (0 if
 * it does now). */
bool egd_session_can_input(const struct egd_session *s) NONNULL(1);
bool egd_session_idle(const struct egd_session *s) NONNULL(1);
uint64_t egd_session_wake_ns(const struct egd_session *s) NONNULL(1);

/* egd_session_wipe wipes the output buffer and the parser (03 data may sit
 * there). */
void egd_session_wipe(struct egd_session *s) NONNULL(1);

#endif /* FOUNT_API_EGD_H */
