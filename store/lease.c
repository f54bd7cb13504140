/* store/lease.c — the end of each lease, as an event (store.h,
 * store_leases_sweep).
 *
 * Every Get of key material appends an access record with the lease it
 * granted (object.c); that append is the Get's only write, and stays so:
 * the leases table (one row per object, tenant and certificate) is built
 * here, by folding the log's new records into it once per sweep, in the
 * sweep's own transaction. A Get that kept a table row up to date would
 * dirty a page of it (and of its index) in every commit; and so would the
 * fold for a key fetched again and again, were an open lease's end moved
 * by every small extension (the slack of STORE_LEASES_FOLD_SQL).
 *
 * The fold reads the log by seq. SQLite numbers records in commit order
 * (one writer), so the last seq a sweep reads has nothing uncommitted
 * below it. PostgreSQL's identity numbers are drawn before the commit, so
 * a record with a smaller seq may become visible after a larger one: the
 * fold goes only as far as the last seq seen a commit lag ago (every
 * transaction that drew a number before then has committed or failed by
 * now), and a lease counts as ended only that lag after its end, so a
 * renewal made before the end is always folded before the end is told. */
#include <stdio.h>
#include <stdlib.h>

#include "store/internal.h"

#define LEASES_PER_SWEEP 1000 /* events one sweep writes at most; the next goes on */

unsigned store_leases_lag(const struct store *s)
{
	return s->ops->commit_lag(s->b);
}

/* saw notes the log's last seq at |now| (once a second at most) and
 * returns the fold's limit: the last seq seen |lag| seconds ago or more
 * (0: none seen that long ago yet), or |latest| itself without a lag */
static uint64_t saw(struct store *s, int64_t now, uint64_t latest, unsigned lag)
{
	if (lag == 0)
		return latest;
	pthread_mutex_lock(&s->lease_mu);
	unsigned last = (s->next_seen + STORE_LEASE_SIGHTINGS - 1) % STORE_LEASE_SIGHTINGS;
	if (s->n_seen == 0 || s->seen[last].time < now) {
		s->seen[s->next_seen].time = now;
		s->seen[s->next_seen].seq = latest;
		s->next_seen = (s->next_seen + 1) % STORE_LEASE_SIGHTINGS;
		if (s->n_seen < STORE_LEASE_SIGHTINGS)
			s->n_seen++;
	}
	uint64_t upto = 0;
	for (unsigned i = 0; i < s->n_seen; i++) {
		unsigned k = (s->next_seen + STORE_LEASE_SIGHTINGS - 1 - i) % STORE_LEASE_SIGHTINGS;
		if (s->seen[k].time <= now - (int64_t)lag) {
			upto = s->seen[k].seq;
			break;
		}
	}
	pthread_mutex_unlock(&s->lease_mu);
	return upto;
}

struct sweep_ctx {
	const struct store_backend_ops *ops;
	uint64_t upto;
	int64_t now, by;
	struct store_lease *ls;
	size_t n; /* events written */
};

static err_t apply_sweep(struct store_txn *t, void *vctx)
{
	struct sweep_ctx *c = vctx;
	const struct store_backend_ops *ops = c->ops;
	c->n = 0;
	GUARD(ops->txn_events_lock(t));
	GUARD(ops->txn_leases_fold(t, c->upto, INT64_MIN, c->now));
	size_t n = 0;
	GUARD(ops->txn_leases_ended(t, c->by, LEASES_PER_SWEEP, c->ls, &n));
	for (size_t i = 0; i < n; i++) {
		const struct store_lease *l = &c->ls[i];
		/* a key revoked, compromised or destroyed while leased: its own
		 * event told the holders, and the lease ended with it */
		if (store_state_leases(l->state)) {
			struct store_event e = {.time = l->lease_end, .state = l->state};
			snprintf(e.kind, sizeof e.kind, "lease_end");
			snprintf(e.id, sizeof e.id, "%s", l->id);
			snprintf(e.tenant, sizeof e.tenant, "%s", l->owner);
			snprintf(e.holder, sizeof e.holder, "%s", l->tenant);
			memcpy(e.holder_fp, l->fp, sizeof e.holder_fp);
			GUARD(ops->txn_event_insert(t, &e));
			c->n++;
		}
		GUARD(ops->txn_lease_done(t, l));
	}
	return ERR_OK;
}

err_t store_leases_sweep(struct store *s, int64_t now, size_t *n)
{
	*n = 0;
	unsigned lag = s->ops->commit_lag(s->b);
	int64_t by = now - (int64_t)lag;
	uint64_t folded = 0, latest = 0;
	bool due = false;
	GUARD(s->ops->leases_status(s->b, by, &folded, &latest, &due));
	uint64_t upto = saw(s, now, latest, lag);
	if (upto <= folded && !due)
		return ERR_OK;
	struct store_lease *ls = calloc(LEASES_PER_SWEEP, sizeof *ls);
	if (ls == NULL)
		return ERR_NOMEM;
	struct sweep_ctx c = {.upto = upto, .now = now, .by = by, .ls = ls, .ops = s->ops};
	err_t r = s->ops->submit(s->b, apply_sweep, &c);
	free(ls);
	if (r == ERR_OK)
		*n = c.n;
	return r;
}
