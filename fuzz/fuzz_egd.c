/* fuzz/fuzz_egd.c — the EGD parser and session (api/egd_proto.c) over
 * arbitrary byte streams, fed in arbitrary pieces, with the DRBG gate
 * opening and shutting, the rate limit on or off, and output buffers from
 * the smallest allowed to 64 KiB, as the server (api/egd.c) drives them.
 *
 * Input: byte 0: bits 0-1 the output buffer (259, 1024, 4096 or 65536
 * bytes), bit 2 the gate follows byte 1's bits (one per round; else always
 * open; it opens at least every ninth round), bit 3 a rate limit of 1000
 * bytes/s on a clock that advances 100 ms a round, bits 4-7 the piece
 * size - 1 (1..16). Byte 1: the gate pattern. The rest: the stream.
 *
 * Checked against a model of the protocol written here independently (one
 * byte at a time): every reply comes whole, in command order, with the
 * right shape (00: 0 or 256 big-endian; 01: a count of 0 or NN, then that
 * many DRBG bytes; 02: exactly NN DRBG bytes; 04: the PID's digits); the
 * DRBG bytes are the generator's, in order, none lost or repeated; nothing
 * comes after the last reply; the session takes every byte up to an
 * unknown opcode and stops there; its counters agree with the model. */
#include <stdio.h>
#include <string.h>

#include "api/egd.h"
#include "fuzz/fuzz.h"

#define EGD_FUZZ_MAX (1u << 16)
#define PID 31337u

struct gen {
	bool open;
	uint8_t next;
	uint64_t mixed;
};

static err_t gen_generate(void *ctx, uint8_t *out, size_t len)
{
	struct gen *g = ctx;
	if (!g->open)
		return ERR_NOT_OPERATIONAL;
	for (size_t i = 0; i < len; i++)
		out[i] = g->next++;
	return ERR_OK;
}

static void gen_mix(void *ctx, const uint8_t *in, size_t len)
{
	(void)in;
	((struct gen *)ctx)->mixed += len;
}

static bool gen_operational(void *ctx)
{
	return ((struct gen *)ctx)->open;
}

/* the model: expected replies, from a byte-at-a-time reading of the stream */
struct reply {
	uint8_t op, count;
};

struct model {
	struct reply r[EGD_FUZZ_MAX];
	size_t n;
	size_t good_bytes;          /* stream bytes up to (not into) an unknown opcode */
	bool bad;
	uint64_t commands[EGD_OPS], written;
};

static void model_build(struct model *m, const uint8_t *in, size_t len)
{
	size_t i = 0;
	memset(m, 0, sizeof *m);
	while (i < len) {
		uint8_t op = in[i];
		size_t need = op == 0 || op == 4 ? 1 : op == 1 || op == 2 ? 2 : op == 3 ? 4 : 0;
		if (need == 0) {
			m->bad = true;
			break;
		}
		if (op == 3 && i + 4 <= len)
			need += in[i + 3];
		if (i + need > len)
			break; /* an incomplete last command */
		m->commands[op]++;
		if (op == 3)
			m->written += in[i + 3];
		else if (!(op == 2 && in[i + 1] == 0))
			m->r[m->n++] = (struct reply){op, op == 1 || op == 2 ? in[i + 1] : 0};
		i += need;
	}
	m->good_bytes = m->bad ? i : len;
}

/* the checker: the output stream, byte by byte */
struct checker {
	const struct model *m;
	size_t at, pos, total;
	uint8_t drbg;       /* the next DRBG byte expected */
	uint64_t served;
	char pid[16];
	size_t pid_len;
};

static void check_byte(struct checker *c, uint8_t b)
{
	FUZZ_CHECK(c->at < c->m->n); /* no byte nobody asked for */
	const struct reply *r = &c->m->r[c->at];
	bool drbg = false;
	switch (r->op) {
	case EGD_OP_LEVEL:
		c->total = 4;
		FUZZ_CHECK(c->pos == 2 ? (b == 0 || b == 1) : b == 0);
		break;
	case EGD_OP_READ:
		if (c->pos == 0) {
			FUZZ_CHECK(b == 0 || b == r->count);
			c->total = 1u + b;
		} else {
			drbg = true;
		}
		break;
	case EGD_OP_READ_BLOCK:
		c->total = r->count;
		drbg = true;
		break;
	case EGD_OP_PID:
		c->total = 1 + c->pid_len;
		FUZZ_CHECK(c->pos == 0 ? b == c->pid_len : b == (uint8_t)c->pid[c->pos - 1]);
		break;
	default:
		FUZZ_CHECK(false);
	}
	if (drbg) {
		FUZZ_CHECK(b == c->drbg); /* in order, none lost or repeated */
		c->drbg++;
		c->served++;
	}
	if (++c->pos == c->total) {
		c->at++;
		c->pos = 0;
	}
}

static void drain(struct egd_session *s, struct checker *c)
{
	const uint8_t *p;
	size_t k;
	while ((k = egd_session_output(s, &p)) > 0) {
		/* a partial write, as a socket may take */
		size_t take = k > 1000 ? k / 2 : k;
		for (size_t i = 0; i < take; i++)
			check_byte(c, p[i]);
		egd_session_sent(s, take);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t caps[4] = {EGD_MAX_CMD, 1024, 4096, 65536};
	static uint8_t out[65536];
	static struct model m;
	if (size < 2 || size - 2 > EGD_FUZZ_MAX)
		return 0;
	const uint8_t flags = data[0], pattern = data[1];
	const uint8_t *in = data + 2;
	const size_t len = size - 2;
	const size_t piece = 1u + (flags >> 4);
	const bool toggle = (flags & 4) != 0, rated = (flags & 8) != 0;

	model_build(&m, in, len);
	struct gen g = {.open = true};
	struct egd_env env = {gen_generate, gen_mix, gen_operational, &g, PID, rated ? 1000 : 0};
	struct egd_session s;
	uint64_t now = 1000000000ull;
	egd_session_init(&s, &env, out, caps[flags & 3], now);
	struct checker c = {.m = &m};
	c.pid_len = (size_t)snprintf(c.pid, sizeof c.pid, "%u", PID);

	size_t off = 0, pending_end = 0;
	unsigned round = 0;
	/* the server's loop: a piece arrives, commands are taken while the
	 * queue has room, replies are made and (partly) sent */
	while (off < len && !s.bad) {
		if (pending_end == off)
			pending_end = off + piece < len ? off + piece : len;
		g.open = !toggle || ((pattern >> (round % 8)) & 1) || round % 9 == 8;
		off += egd_session_input(&s, in + off, pending_end - off, now);
		egd_session_produce(&s, now);
		drain(&s, &c);
		now += 100000000ull;
		/* the input stops only for a full queue, the rate limit, or a bad
		 * opcode: never for good while replies can go out */
		FUZZ_CHECK(++round < 2000000u);
	}
	/* the rest, with the gate open and the clock running */
	g.open = true;
	for (unsigned i = 0; i < 100000 && !egd_session_idle(&s); i++) {
		egd_session_produce(&s, now);
		drain(&s, &c);
		now += 1000000000ull;
	}
	FUZZ_CHECK(egd_session_idle(&s));
	FUZZ_CHECK(c.at == m.n && c.pos == 0); /* every reply, whole */
	FUZZ_CHECK(s.bad == m.bad);
	if (m.bad)
		FUZZ_CHECK(off == m.good_bytes + 1);
	else
		FUZZ_CHECK(off == len);
	for (unsigned op = 0; op < EGD_OPS; op++)
		FUZZ_CHECK(s.st.commands[op] == m.commands[op]);
	FUZZ_CHECK(s.st.bytes_written == m.written && g.mixed == m.written);
	FUZZ_CHECK(s.st.bytes_served == c.served);
	egd_session_wipe(&s);
	return 0;
}

FUZZ_REPLAY_MAIN("fuzz_egd")
