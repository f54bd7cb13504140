/* store/queue.c — the group commit both backends share: a queue of write
 * requests drained by one writer thread, which hands each batch to its
 * backend's run function (one transaction, one commit, store-ha.md §1.2
 * and §3) and only then wakes the batch's callers, one by one.
 *
 * A batch waits for company: max_wait_us when it is set; otherwise, when
 * the last batch had at least COMPANY_MIN requests, for as many as it had
 * (up to COMPANY_WAIT_US), so that many concurrent writers share one
 * commit instead of each paying its own (PostgreSQL's commit_delay with
 * commit_siblings is the same idea). One, two or three writers never
 * wait: a third that is not coming would cost each of them the wait. */
#include <errno.h>
#include <time.h>

#include "store/internal.h"

/* about two more requests at 10,000 a second, well under what a Get
 * takes at that load */
#define COMPANY_WAIT_US 200u
#define COMPANY_MIN 4u

void store_reqs_fail_ok(struct store_req *list, err_t r)
{
	for (struct store_req *q = list; q != NULL; q = q->next)
		if (q->result == ERR_OK)
			q->result = r;
}

void store_commit_timed(struct store_queue *q, struct store_stats *st, const struct timespec *t0, bool ok,
			size_t n)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	uint64_t ns = (uint64_t)(t1.tv_sec - t0->tv_sec) * 1000000000u + (uint64_t)t1.tv_nsec - (uint64_t)t0->tv_nsec;
	size_t k = 0;
	while (k < STORE_LATENCY_BUCKETS && (double)ns > store_latency_bounds[k] * 1e9)
		k++;
	pthread_mutex_lock(&q->mu);
	if (ok) {
		st->commits++;
		st->commit_buckets[k]++;
		st->commit_ns += ns;
		if (n > st->max_batch)
			st->max_batch = n;
	} else {
		st->failed_commits++;
	}
	pthread_mutex_unlock(&q->mu);
}

static void *writer_main(void *arg)
{
	struct store_queue *b = arg;
	(void)pthread_setname_np(pthread_self(), "fount-store-w");
	pthread_mutex_lock(&b->mu);
	for (;;) {
		while (b->head == NULL && !b->stopping)
			pthread_cond_wait(&b->work, &b->mu);
		if (b->head == NULL)
			break;
		unsigned wait_us = b->max_wait_us;
		size_t want = b->max_batch;
		if (wait_us == 0 && b->last_batch >= COMPANY_MIN) {
			wait_us = COMPANY_WAIT_US;
			want = b->last_batch < b->max_batch ? b->last_batch : b->max_batch;
		}
		if (wait_us > 0 && b->queued < want) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += (long)wait_us * 1000;
			ts.tv_sec += ts.tv_nsec / 1000000000;
			ts.tv_nsec %= 1000000000;
			b->want = want;
			while (b->queued < want && !b->stopping &&
			       pthread_cond_timedwait(&b->work, &b->mu, &ts) == 0)
				;
			b->want = 0;
		}
		struct store_req *list = b->head, *last = list;
		size_t n = 1;
		while (n < b->max_batch && last->next != NULL) {
			last = last->next;
			n++;
		}
		b->head = last->next;
		if (b->head == NULL)
			b->tail = NULL;
		last->next = NULL;
		b->queued -= n;
		b->last_batch = n;
		pthread_mutex_unlock(&b->mu);

		b->run(b->arg, list, n);
		pthread_mutex_lock(&b->mu);
		b->requests += n; /* counted before any caller returns */
		pthread_mutex_unlock(&b->mu);

		/* each caller is woken alone, and without the queue's lock
		 * held (a caller woken under it would at once sleep on it
		 * again): one wake per request. q may be gone once posted
		 * (glibc's sem_post does not touch the semaphore after the
		 * waiter can return, sourceware bug 12674) */
		for (struct store_req *q = list; q != NULL;) {
			struct store_req *nx = q->next;
			sem_post(&q->done);
			q = nx;
		}
		pthread_mutex_lock(&b->mu);
	}
	pthread_mutex_unlock(&b->mu);
	return NULL;
}

void store_queue_init(struct store_queue *q, const struct store_backend_params *p, store_batch_fn run,
		      void *arg)
{
	memset(q, 0, sizeof(*q));
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->work, NULL);
	q->max_batch = p->max_batch ? p->max_batch : 1;
	q->max_wait_us = p->max_wait_us;
	q->run = run;
	q->arg = arg;
}

err_t store_queue_start(struct store_queue *q)
{
	if (pthread_create(&q->thread, NULL, writer_main, q) != 0)
		return ERR_SYSTEM;
	q->started = true;
	return ERR_OK;
}

void store_queue_stop(struct store_queue *q)
{
	if (q->started) {
		pthread_mutex_lock(&q->mu);
		q->stopping = true;
		pthread_cond_broadcast(&q->work);
		pthread_mutex_unlock(&q->mu);
		pthread_join(q->thread, NULL);
		q->started = false;
	}
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->work);
}

err_t store_queue_submit(struct store_queue *b, store_apply_fn fn, void *ctx)
{
	struct store_req q = {.fn = fn, .ctx = ctx, .result = ERR_INTERNAL};
	if (sem_init(&q.done, 0, 0) != 0)
		return ERR_SYSTEM;
	pthread_mutex_lock(&b->mu);
	if (b->stopping || !b->started) {
		pthread_mutex_unlock(&b->mu);
		sem_destroy(&q.done);
		return ERR_USAGE;
	}
	if (b->tail != NULL)
		b->tail->next = &q;
	else
		b->head = &q;
	b->tail = &q;
	b->queued++;
	/* the writer sleeps only with an empty queue, or while a batch waits
	 * for |want| requests: wake it then, and not at every request */
	if (b->queued == 1 || (b->want > 0 && b->queued >= b->want))
		pthread_cond_signal(&b->work);
	pthread_mutex_unlock(&b->mu);
	while (sem_wait(&q.done) != 0) /* EINTR */
		;
	sem_destroy(&q.done);
	return q.result;
}
