/* api/egd_proto.c — the EGD protocol without sockets: the command parser
 * and one connection's queue of owed replies (api/egd.h). The server
 * (api/egd.c), the tests and fuzz/fuzz_egd.c all drive these functions. */
#include <stdio.h>
#include <string.h>

#include "api/egd.h"

/* cmd_need returns the length of the command whose first |have| bytes are
 * at |b| (have >= 1), as far as they tell: a 03 whose header is not yet
 * complete needs at least its 4-byte header. 0: not an EGD opcode. */
static size_t cmd_need(const uint8_t *b, size_t have)
{
	switch (b[0]) {
	case EGD_OP_LEVEL:
	case EGD_OP_PID:
		return 1;
	case EGD_OP_READ:
	case EGD_OP_READ_BLOCK:
		return 2;
	case EGD_OP_WRITE:
		return have >= 4 ? 4u + b[3] : 4u;
	default:
		return 0;
	}
}

static void cmd_from(struct egd_cmd *cmd, const uint8_t *b)
{
	memset(cmd, 0, sizeof *cmd);
	cmd->op = b[0];
	if (b[0] == EGD_OP_READ || b[0] == EGD_OP_READ_BLOCK) {
		cmd->count = b[1];
	} else if (b[0] == EGD_OP_WRITE) {
		cmd->bits = (uint16_t)((unsigned)b[1] << 8 | b[2]);
		cmd->count = b[3];
		cmd->data = b + 4;
	}
}

enum egd_step egd_parse(struct egd_parser *p, const uint8_t *in, size_t len, size_t *used,
			struct egd_cmd *cmd)
{
	size_t taken = 0;
	*used = 0;
	if (len == 0)
		return EGD_MORE;
	if (p->have == 0) {
		/* the common case: the whole command is in |in|; no copy */
		size_t need = cmd_need(in, len);
		if (need == 0) {
			*used = 1;
			return EGD_BAD;
		}
		if (need <= len && (in[0] != EGD_OP_WRITE || len >= 4)) {
			cmd_from(cmd, in);
			*used = need;
			return EGD_CMD;
		}
	}
	while (taken < len) {
		if (p->have == 0)
			p->buf[p->have++] = in[taken++];
		size_t need = cmd_need(p->buf, p->have);
		if (need == 0) {
			p->have = 0;
			*used = taken;
			return EGD_BAD;
		}
		size_t k = need - p->have < len - taken ? need - p->have : len - taken;
		memcpy(p->buf + p->have, in + taken, k);
		p->have = (uint16_t)(p->have + k);
		taken += k;
		/* a 03 learns its length once its header is complete */
		need = cmd_need(p->buf, p->have);
		if (p->have == need) {
			cmd_from(cmd, p->buf);
			p->have = 0; /* cmd->data stays valid until the next call */
			*used = taken;
			return EGD_CMD;
		}
	}
	*used = taken;
	return EGD_MORE;
}

/* ---- the session ------------------------------------------------------------ */

static size_t pid_text(uint32_t pid, char digits[16])
{
	int n = snprintf(digits, 16, "%u", (unsigned)pid);
	return n > 0 && n < 16 ? (size_t)n : 0;
}

/* reply_max: the most bytes a command's reply takes */
static size_t reply_max(const struct egd_session *s, const struct egd_queued *q)
{
	char d[16];
	switch (q->op) {
	case EGD_OP_LEVEL:
		return 4;
	case EGD_OP_READ:
		return 1u + q->count;
	case EGD_OP_READ_BLOCK:
		return q->count;
	case EGD_OP_PID:
		return 1u + pid_text(s->env->pid, d);
	default:
		return 0;
	}
}

static double burst(const struct egd_session *s)
{
	/* one second's worth, and at least the largest reply */
	return s->env->rate > 256 ? (double)s->env->rate : 256.0;
}

static void refill(struct egd_session *s, uint64_t now)
{
	if (s->env->rate == 0 || now <= s->refilled_ns)
		return;
	s->tokens += (double)(now - s->refilled_ns) * (double)s->env->rate / 1e9;
	if (s->tokens > burst(s))
		s->tokens = burst(s);
	s->refilled_ns = now;
}

static bool limited(const struct egd_session *s)
{
	return s->env->rate != 0 && s->tokens <= 0;
}

void egd_session_init(struct egd_session *s, const struct egd_env *env, uint8_t *out, size_t out_cap,
		      uint64_t now_ns)
{
	memset(s, 0, sizeof *s);
	s->env = env;
	s->out = out;
	s->out_cap = out_cap;
	s->refilled_ns = now_ns;
	s->tokens = burst(s);
}

bool egd_session_can_input(const struct egd_session *s)
{
	return !s->bad && s->count < EGD_QUEUE && s->owed < EGD_MAX_OWED && !limited(s);
}

bool egd_session_idle(const struct egd_session *s)
{
	return s->count == 0 && s->out_start == s->out_end;
}

uint64_t egd_session_wake_ns(const struct egd_session *s)
{
	if (!limited(s))
		return 0;
	double ns = (1.0 - s->tokens) * 1e9 / (double)s->env->rate;
	return s->refilled_ns + (uint64_t)ns + 1;
}

size_t egd_session_input(struct egd_session *s, const uint8_t *in, size_t len, uint64_t now_ns)
{
	size_t off = 0;
	refill(s, now_ns);
	while (off < len && egd_session_can_input(s)) {
		struct egd_cmd c;
		size_t used = 0;
		enum egd_step step = egd_parse(&s->parser, in + off, len - off, &used, &c);
		off += used;
		if (step == EGD_MORE)
			break;
		if (step == EGD_BAD) {
			s->bad = true; /* no resynchronising an unframed stream */
			break;
		}
		s->st.commands[c.op]++;
		if (c.op == EGD_OP_WRITE) {
			/* additional input at once (no reply to order); the claimed
			 * bits are ignored: nothing a client writes is credited */
			if (c.count > 0)
				s->env->mix(s->env->ctx, c.data, c.count);
			s->st.bytes_written += c.count;
			if (s->env->rate != 0)
				s->tokens -= c.count;
			continue;
		}
		if (c.op == EGD_OP_READ_BLOCK && c.count == 0)
			continue; /* exactly 0 bytes: nothing to send */
		struct egd_queued *q = &s->q[(s->head + s->count) % EGD_QUEUE];
		q->since_ns = now_ns;
		q->op = c.op;
		q->count = c.count;
		s->count++;
		s->owed += reply_max(s, q);
	}
	return off;
}

static void pop(struct egd_session *s)
{
	s->owed -= reply_max(s, &s->q[s->head]);
	s->head = (s->head + 1) % EGD_QUEUE;
	s->count--;
}

/* a run of 02 replies being made: the first |items| popped commands, whose
 * |len| bytes start at |off| in the output buffer */
struct span {
	size_t off, len;
	unsigned items;
};

/* flush generates the span's bytes in one call. On failure it puts its
 * commands back at the head of the queue, gives back their tokens and
 * returns false: they wait. */
static bool flush(struct egd_session *s, struct span *sp, uint64_t now)
{
	if (sp->items == 0)
		return true;
	err_t r = s->env->generate(s->env->ctx, s->out + sp->off, sp->len);
	if (r != ERR_OK) {
		secure_zero(s->out + sp->off, sp->len); /* nothing partial leaves */
		s->head = (s->head + EGD_QUEUE - sp->items) % EGD_QUEUE;
		s->count += sp->items;
		s->owed += sp->len;
		if (s->env->rate != 0)
			s->tokens += (double)sp->len;
		s->out_end = sp->off;
		*sp = (struct span){0, 0, 0};
		return false;
	}
	for (unsigned i = 0; i < sp->items; i++) {
		const struct egd_queued *q = &s->q[(s->head + EGD_QUEUE - 1 - i) % EGD_QUEUE];
		uint64_t w = now > q->since_ns ? now - q->since_ns : 0;
		if (w > s->st.longest_wait_ns)
			s->st.longest_wait_ns = w;
	}
	s->st.bytes_served += sp->len;
	*sp = (struct span){0, 0, 0};
	return true;
}

/* compact moves the unsent bytes to the start of the buffer and wipes the
 * copies left behind */
static void compact(struct egd_session *s)
{
	size_t n = s->out_end - s->out_start;
	if (s->out_start == 0)
		return;
	memmove(s->out, s->out + s->out_start, n);
	size_t stale_from = n > s->out_start ? n : s->out_start;
	secure_zero(s->out + stale_from, s->out_end - stale_from);
	s->out_start = 0;
	s->out_end = n;
}

void egd_session_produce(struct egd_session *s, uint64_t now_ns)
{
	struct span sp = {0, 0, 0};
	refill(s, now_ns);
	s->waiting = false;
	if (s->out_start == s->out_end)
		s->out_start = s->out_end = 0;
	while (s->count > 0 && !limited(s)) {
		const struct egd_queued *q = &s->q[s->head];
		size_t need = reply_max(s, q);
		if (s->out_cap - s->out_end < need) {
			if (!flush(s, &sp, now_ns)) {
				s->waiting = true;
				return;
			}
			compact(s);
			if (s->out_cap - s->out_end < need)
				break; /* full: the rest after a write */
		}
		if (q->op == EGD_OP_READ_BLOCK) {
			if (sp.items == 0)
				sp.off = s->out_end;
			sp.len += need;
			sp.items++;
			s->out_end += need;
			if (s->env->rate != 0)
				s->tokens -= (double)need;
			pop(s);
			continue;
		}
		/* any other reply comes after the 02s before it */
		if (!flush(s, &sp, now_ns)) {
			s->waiting = true;
			return;
		}
		uint8_t *o = s->out + s->out_end;
		size_t put = 0;
		switch (q->op) {
		case EGD_OP_LEVEL: {
			uint32_t bits = s->env->operational(s->env->ctx) ? EGD_LEVEL_BITS : 0;
			o[0] = (uint8_t)(bits >> 24);
			o[1] = (uint8_t)(bits >> 16);
			o[2] = (uint8_t)(bits >> 8);
			o[3] = (uint8_t)bits;
			put = 4;
			break;
		}
		case EGD_OP_READ:
			/* non-blocking: what the DRBG gives now, or nothing */
			if (q->count > 0 && s->env->generate(s->env->ctx, o + 1, q->count) == ERR_OK) {
				o[0] = q->count;
				put = 1u + q->count;
				s->st.bytes_served += q->count;
			} else {
				secure_zero(o + 1, q->count);
				o[0] = 0;
				put = 1;
			}
			break;
		case EGD_OP_PID: {
			char d[16];
			size_t n = pid_text(s->env->pid, d);
			o[0] = (uint8_t)n;
			memcpy(o + 1, d, n);
			put = 1 + n;
			break;
		}
		default:
			break; /* nothing else is ever queued */
		}
		s->out_end += put;
		if (s->env->rate != 0)
			s->tokens -= (double)put;
		pop(s);
	}
	if (!flush(s, &sp, now_ns))
		s->waiting = true;
}

size_t egd_session_output(const struct egd_session *s, const uint8_t **p)
{
	*p = s->out + s->out_start;
	return s->out_end - s->out_start;
}

void egd_session_sent(struct egd_session *s, size_t n)
{
	if (n > s->out_end - s->out_start)
		n = s->out_end - s->out_start;
	secure_zero(s->out + s->out_start, n); /* a client's bytes do not linger */
	s->out_start += n;
	if (s->out_start == s->out_end)
		s->out_start = s->out_end = 0;
}

void egd_session_wipe(struct egd_session *s)
{
	secure_zero(s->out, s->out_cap);
	secure_zero(&s->parser, sizeof s->parser);
	s->out_start = s->out_end = 0;
}
