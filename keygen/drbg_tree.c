/* keygen/drbg_tree.c — the DRBG tree: one primary CTR_DRBG seeded from the
 * entropy pipeline, one worker CTR_DRBG per thread seeded from the primary
 * (an RBGC chain, SP 800-90C; the layout of OpenSSL's tree, a locked
 * <primary> with per-thread <public> and <private> DRBGs chained to it,
 * doc/man7/EVP_RAND.pod, and of BoringSSL's per-thread CTR-DRBGs,
 * crypto/fipsmodule/rand/rand.cc.inc).
 *
 * Hot path (drbg_generate on a thread whose worker is current): the gate,
 * one atomic load of the reseed epoch, one load of the fork marker, a coarse
 * clock read, then ctr_drbg_generate. No lock. Everything else — first use,
 * reseeds, fork recovery — takes tree_lock, which also guards the primary
 * and the registry of workers. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "entropy/entropy.h"
#include "keygen/internal.h"

CSP_USE("DRBG internal state", "the primary and per-thread worker DRBGs of the tree, each in its own locked page");

#define SEED_LEN CTR_DRBG_SEED_LEN /* 32 entropy input + 16 nonce */
#define PRIMARY_ADIN_LEN 32

struct worker {
	struct ctr_drbg *drbg;
	uint64_t generates; /* since its last reseed */
	uint64_t seeded_at; /* coarse monotonic seconds */
	pthread_t owner;
	struct worker *next, *prev; /* the registry */
};

typedef bool (*gate_fn)(void);

static pthread_mutex_t tree_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t tree_once = PTHREAD_ONCE_INIT;
static pthread_key_t worker_key;
static bool worker_key_ok;

/* guarded by tree_lock */
static struct {
	bool ready;
	uint64_t instance; /* bumped by init and shutdown: stale TLS detection */
	struct ctr_drbg *primary;
	uint64_t primary_generates;
	uint64_t primary_seeded_at;
	bool primary_reseed_pending;
	struct worker *workers;
	uint64_t num_workers;
	uint64_t reseed_interval, reseed_seconds;
	uint64_t primary_interval, primary_seconds;
	/* prediction-resistance reseeds of the primary (pr_reseed_locked):
	 * how many have started and finished, whether one is gathering now,
	 * and how many requests wait for one */
	uint64_t pr_started, pr_done;
	bool pr_running;
	unsigned pr_waiting;
} tree;
static pthread_cond_t pr_cond = PTHREAD_COND_INITIALIZER;
static void (*_Atomic pr_gather_hook)(void);

/* A page that MADV_WIPEONFORK zeroes in a child; non-zero means "this
 * process seeded the tree". The pthread_atfork child handler zeroes it too,
 * for kernels without MADV_WIPEONFORK. */
static volatile uint64_t *fork_marker;

static _Atomic uint64_t epoch = 1; /* bumped to make every worker reseed */
static _Atomic gate_fn gate;
static _Atomic uint64_t stat_primary_reseeds, stat_worker_reseeds, stat_fork_events, stat_pr_requests;

static _Thread_local struct worker *tls_worker;
static _Thread_local uint64_t tls_epoch;    /* epoch the worker last matched */
static _Thread_local uint64_t tls_instance; /* tree instance tls_worker is of */

static uint64_t coarse_seconds(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec;
}

static void registry_unlink_locked(struct worker *w)
{
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		tree.workers = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	tree.num_workers--;
}

static void worker_free(struct worker *w)
{
	ctr_drbg_free(w->drbg);
	secmem_free(w, sizeof(*w));
}

/* worker_destructor runs at thread exit. After drbg_tree_shutdown, or if
 * another thread's worker now lives at the same address, it does nothing. */
static void worker_destructor(void *arg)
{
	struct worker *w = arg;
	pthread_mutex_lock(&tree_lock);
	for (struct worker *p = tree.workers; p != NULL; p = p->next) {
		if (p == w && pthread_equal(p->owner, pthread_self())) {
			registry_unlink_locked(p);
			worker_free(p);
			break;
		}
	}
	pthread_mutex_unlock(&tree_lock);
	tls_worker = NULL;
}

/* Fork handling: the forking thread holds tree_lock (and the entropy
 * pipeline's lock) across fork() so the child never inherits a primary in
 * mid-update or a pipeline lock held by a thread that no longer exists. */
static void atfork_prepare(void)
{
	pthread_mutex_lock(&tree_lock);
	entropy_fork_prepare(); /* lock order: tree, then entropy pipeline */
}

static void atfork_parent(void)
{
	entropy_fork_release();
	pthread_mutex_unlock(&tree_lock);
}

static void atfork_child(void)
{
	if (fork_marker != NULL)
		*fork_marker = 0; /* fallback for MADV_WIPEONFORK */
	/* a thread of the parent gathering a PR reseed, and those waiting for
	 * it, do not exist here */
	tree.pr_running = false;
	tree.pr_waiting = 0;
	(void)pthread_cond_init(&pr_cond, NULL);
	entropy_fork_release();
	pthread_mutex_unlock(&tree_lock);
}

static void tree_once_init(void)
{
	worker_key_ok = pthread_key_create(&worker_key, worker_destructor) == 0;
	if (pthread_atfork(atfork_prepare, atfork_parent, atfork_child) != 0)
		log_warn("pthread_atfork failed; fork detection relies on MADV_WIPEONFORK");
}

/* primary_reseed_locked reseeds the primary from the live entropy sources,
 * with RDRAND/getrandom bytes as additional input (never credited). */
static err_t primary_reseed_locked(void)
{
	err_t r = ERR_INTERNAL;
	uint8_t seed[SEED_LEN], adin[PRIMARY_ADIN_LEN];
	size_t adin_len = sizeof(adin);

	GUARD_GOTO(entropy_get_seed(seed, sizeof(seed)));
	if (entropy_get_additional(adin, sizeof(adin)) != ERR_OK)
		adin_len = 0; /* additional input is optional: nothing is credited */
	GUARD_GOTO(ctr_drbg_reseed(tree.primary, seed, sizeof(seed), adin, adin_len));
	tree.primary_reseed_pending = false;
	tree.primary_generates = 0;
	tree.primary_seeded_at = coarse_seconds();
	atomic_fetch_add(&stat_primary_reseeds, 1);
	r = ERR_OK;
out:
	secure_zero(seed, sizeof(seed));
	secure_zero(adin, sizeof(adin));
	return r;
}

/* primary_draw_locked writes SEED_LEN bytes of primary output for a worker,
 * reseeding the primary first when it is due (count, age, demand, fork). */
static err_t primary_draw_locked(uint8_t out[SEED_LEN])
{
	if (tree.primary_reseed_pending ||
	    tree.primary_generates >= tree.primary_interval ||
	    coarse_seconds() - tree.primary_seeded_at >= tree.primary_seconds)
		GUARD(primary_reseed_locked());
	GUARD(ctr_drbg_generate(tree.primary, out, SEED_LEN, NULL, 0));
	tree.primary_generates++;
	return ERR_OK;
}

/* pr_draw_locked is primary_draw_locked for a prediction-resistance
 * request (SP 800-90A 9.3.1): the SEED_LEN bytes come from the primary
 * after a reseed from the live entropy sources that began after this call
 * did. Concurrent requests share that reseed, as concurrent writers share
 * a commit: a request arriving while one gathers waits for the next, which
 * starts when that one ends and serves every request waiting by then. So
 * each request still gets entropy gathered after it asked, and the
 * gathering (the slow part: raw samples, health tests, conditioning) runs
 * without tree_lock, so other threads' draws and reseeds go on meanwhile.
 * Called and returns with tree_lock held. */
static err_t pr_draw_locked(uint8_t out[SEED_LEN])
{
	const uint64_t need = tree.pr_started + 1, instance = tree.instance;
	atomic_fetch_add(&stat_pr_requests, 1);
	while (tree.pr_done < need) {
		ENSURE(tree.ready && tree.instance == instance, ERR_DRBG_UNINSTANTIATED);
		if (tree.pr_running) {
			tree.pr_waiting++;
			pthread_cond_wait(&pr_cond, &tree_lock);
			tree.pr_waiting--;
			continue;
		}
		const uint64_t mine = ++tree.pr_started;
		tree.pr_running = true;
		pthread_mutex_unlock(&tree_lock);

		uint8_t seed[SEED_LEN], adin[PRIMARY_ADIN_LEN];
		size_t adin_len = sizeof(adin);
		void (*hook)(void) = atomic_load(&pr_gather_hook);
		if (hook != NULL)
			hook();
		err_t r = entropy_get_seed(seed, sizeof(seed));
		if (r == ERR_OK && entropy_get_additional(adin, sizeof(adin)) != ERR_OK)
			adin_len = 0; /* additional input is optional: nothing is credited */

		pthread_mutex_lock(&tree_lock);
		if (r == ERR_OK && !(tree.ready && tree.instance == instance))
			r = ERR_DRBG_UNINSTANTIATED; /* shut down meanwhile */
		if (r == ERR_OK)
			r = ctr_drbg_reseed(tree.primary, seed, sizeof(seed), adin, adin_len);
		secure_zero(seed, sizeof(seed));
		secure_zero(adin, sizeof(adin));
		tree.pr_running = false;
		if (r == ERR_OK) {
			tree.pr_done = mine;
			tree.primary_reseed_pending = false;
			tree.primary_generates = 0;
			tree.primary_seeded_at = coarse_seconds();
			atomic_fetch_add(&stat_primary_reseeds, 1);
		}
		/* the waiters take the next reseed, or run it themselves after
		 * this one failed */
		pthread_cond_broadcast(&pr_cond);
		GUARD(r);
	}
	ENSURE(tree.ready && tree.instance == instance, ERR_DRBG_UNINSTANTIATED);
	GUARD(ctr_drbg_generate(tree.primary, out, SEED_LEN, NULL, 0));
	tree.primary_generates++;
	return ERR_OK;
}

void drbg_tree_set_pr_gather_hook_for_test(void (*fn)(void))
{
	atomic_store(&pr_gather_hook, fn);
}

/* handle_fork_locked runs in a child before its first output: the primary
 * reseeds from the entropy sources, and every worker is made to reseed. */
static err_t handle_fork_locked(void)
{
	GUARD(primary_reseed_locked()); /* the marker stays 0 on failure: retried */
	*fork_marker = 1;
	atomic_fetch_add(&stat_fork_events, 1);
	atomic_fetch_add(&epoch, 1);
	return ERR_OK;
}

static err_t worker_reseed_locked(struct worker *w)
{
	err_t r = ERR_INTERNAL;
	uint8_t seed[SEED_LEN];
	GUARD_GOTO(primary_draw_locked(seed));
	GUARD_GOTO(ctr_drbg_reseed(w->drbg, seed, sizeof(seed), NULL, 0));
	w->generates = 0;
	w->seeded_at = coarse_seconds();
	atomic_fetch_add(&stat_worker_reseeds, 1);
	r = ERR_OK;
out:
	secure_zero(seed, sizeof(seed));
	return r;
}

static err_t worker_new_locked(struct worker **out)
{
	err_t r = ERR_INTERNAL;
	uint8_t seed[SEED_LEN];
	char pers[96];
	struct worker *w = secmem_alloc(sizeof(*w), &r);
	if (w == NULL)
		return r;
	GUARD_GOTO(ctr_drbg_new(&w->drbg));
	GUARD_GOTO(primary_draw_locked(seed));
	int n = snprintf(pers, sizeof(pers), "fount worker tid=%ld t=%llu", (long)gettid(),
			 (unsigned long long)now_ns());
	ENSURE_GOTO(n > 0 && (size_t)n < sizeof(pers), ERR_INTERNAL);
	GUARD_GOTO(ctr_drbg_instantiate(w->drbg, seed, CTR_DRBG_MIN_ENTROPY_LEN,
					seed + CTR_DRBG_MIN_ENTROPY_LEN,
					SEED_LEN - CTR_DRBG_MIN_ENTROPY_LEN,
					(const uint8_t *)pers, (size_t)n));
	w->owner = pthread_self();
	w->seeded_at = coarse_seconds();
	w->next = tree.workers;
	if (tree.workers != NULL)
		tree.workers->prev = w;
	tree.workers = w;
	tree.num_workers++;
	if (worker_key_ok)
		(void)pthread_setspecific(worker_key, w);
	*out = w;
	w = NULL; /* transferred to the registry */
	r = ERR_OK;
out:
	secure_zero(seed, sizeof(seed));
	if (w != NULL)
		worker_free(w);
	return r;
}

/* worker_refresh is the slow path: first use on this thread, a reseed
 * epoch change, or a fork. On return *out is this thread's current worker. */
static err_t worker_refresh(struct worker **out)
{
	err_t r = ERR_INTERNAL;
	pthread_mutex_lock(&tree_lock);
	ENSURE_GOTO(tree.ready, ERR_DRBG_UNINSTANTIATED);
	if (*fork_marker == 0)
		GUARD_GOTO(handle_fork_locked());
	if (tls_instance != tree.instance)
		tls_worker = NULL; /* freed by a shutdown since */
	uint64_t e = atomic_load(&epoch);
	if (tls_worker == NULL)
		GUARD_GOTO(worker_new_locked(&tls_worker));
	else if (tls_epoch != e)
		GUARD_GOTO(worker_reseed_locked(tls_worker));
	tls_epoch = e;
	tls_instance = tree.instance;
	*out = tls_worker;
	r = ERR_OK;
out:
	pthread_mutex_unlock(&tree_lock);
	return r;
}

/* worker_drop discards this thread's worker after a failed generate (its
 * DRBG uninstantiated itself); the next call builds a fresh one. */
static void worker_drop(struct worker *w)
{
	pthread_mutex_lock(&tree_lock);
	if (tls_instance == tree.instance && tree.ready) {
		registry_unlink_locked(w);
		worker_free(w);
	}
	tls_worker = NULL;
	pthread_mutex_unlock(&tree_lock);
}

static err_t generate(uint8_t *out, size_t len, bool pr)
{
	err_t r = ERR_INTERNAL;
	uint8_t seed[SEED_LEN];
	struct worker *w = tls_worker;
	size_t done = 0;

	gate_fn g = atomic_load_explicit(&gate, memory_order_acquire);
	if (g == NULL || !g())
		return ERR_NOT_OPERATIONAL; /* fail closed: no output outside OPERATIONAL */
	ENSURE(out != NULL || len == 0, ERR_INVALID_ARG);
	/* one atomic load; the marker is read only for a current worker */
	if (w == NULL || atomic_load_explicit(&epoch, memory_order_acquire) != tls_epoch ||
	    *fork_marker == 0)
		GUARD(worker_refresh(&w));

	while (done < len) {
		size_t n = len - done < CTR_DRBG_MAX_REQUEST ? len - done : CTR_DRBG_MAX_REQUEST;
		/* a long request stops at the next chunk once ERROR latches */
		ENSURE_GOTO(done == 0 || drbg_gate_open(), ERR_NOT_OPERATIONAL);
		if (pr) {
			/* SP 800-90A 9.3.1 through the tree: the primary reseeds from
			 * live entropy, the worker reseeds from it, then generates */
			pthread_mutex_lock(&tree_lock);
			r = pr_draw_locked(seed);
			pthread_mutex_unlock(&tree_lock);
			GUARD_GOTO(r);
			GUARD_GOTO(ctr_drbg_generate_pr(w->drbg, out + done, n, seed, sizeof(seed),
							NULL, 0));
			w->generates = 0;
			w->seeded_at = coarse_seconds();
			atomic_fetch_add(&stat_worker_reseeds, 1);
		} else {
			if (w->generates >= tree.reseed_interval ||
			    coarse_seconds() - w->seeded_at >= tree.reseed_seconds) {
				pthread_mutex_lock(&tree_lock);
				r = worker_reseed_locked(w);
				pthread_mutex_unlock(&tree_lock);
				GUARD_GOTO(r);
			}
			/* each chunk is a full SP 800-90A generate */
			GUARD_GOTO(ctr_drbg_generate(w->drbg, out + done, n, NULL, 0));
		}
		w->generates++;
		done += n;
	}
	r = ERR_OK;
out:
	secure_zero(seed, sizeof(seed));
	if (r != ERR_OK) {
		secure_zero(out, len); /* nothing partial leaves */
		if (ctr_drbg_reseed_counter(w->drbg) == 0)
			worker_drop(w);
	}
	return r;
}

/* checked reports a failure that means a DRBG of the tree (or the seed
 * conditioning) malfunctioned: an OpenSSL error inside a CTR_DRBG, which
 * uninstantiates it, or a reseed counter past its limit. The module must
 * stop: every later request would fail anyway, and the state must say
 * why. (A dead noise source is reported by entropy/ itself.) */
static err_t checked(err_t r)
{
	if (r == ERR_CRYPTO || r == ERR_DRBG_RESEED_REQUIRED)
		keygen_report_failure(r, "drbg");
	return r;
}

err_t drbg_generate(uint8_t *out, size_t len)
{
	return checked(generate(out, len, false));
}

err_t drbg_generate_pr(uint8_t *out, size_t len)
{
	return checked(generate(out, len, true));
}

bool drbg_gate_open(void)
{
	gate_fn g = atomic_load_explicit(&gate, memory_order_acquire);
	return g != NULL && g();
}

void drbg_set_gate(bool (*operational)(void))
{
	atomic_store_explicit(&gate, operational, memory_order_release);
}

static _Atomic gate_fn service_gate;

typedef void (*failure_fn)(err_t why, const char *what);
static _Atomic failure_fn failure_handler;

void keygen_set_failure_handler(void (*fn)(err_t why, const char *what))
{
	atomic_store(&failure_handler, fn);
}

void keygen_report_failure(err_t why, const char *what)
{
	failure_fn fn = atomic_load(&failure_handler);
	log_error("%s failed: %s", what, err_str(why));
	if (fn != NULL)
		fn(why, what);
}

struct ctr_drbg *drbg_tree_primary_for_test(void)
{
	return tree.primary;
}

void keygen_set_service_gate(bool (*allowed)(void))
{
	atomic_store_explicit(&service_gate, allowed, memory_order_release);
}

bool keygen_service_allowed(void)
{
	gate_fn g = atomic_load_explicit(&service_gate, memory_order_acquire);
	return g != NULL && g(); /* fail closed */
}

err_t keygen_gate(void)
{
	/* no key service outside SELF_TEST (its KATs) and OPERATIONAL */
	return keygen_service_allowed() ? ERR_OK : ERR_NOT_OPERATIONAL;
}

void drbg_reseed_all(void)
{
	pthread_mutex_lock(&tree_lock);
	tree.primary_reseed_pending = true;
	atomic_fetch_add(&epoch, 1);
	pthread_mutex_unlock(&tree_lock);
}

void drbg_stats(struct drbg_stats *out)
{
	if (out == NULL)
		return;
	out->primary_reseeds = atomic_load(&stat_primary_reseeds);
	out->worker_reseeds = atomic_load(&stat_worker_reseeds);
	out->fork_events = atomic_load(&stat_fork_events);
	out->pr_requests = atomic_load(&stat_pr_requests);
	pthread_mutex_lock(&tree_lock);
	out->workers = tree.num_workers;
	out->pr_waiting = tree.pr_waiting;
	pthread_mutex_unlock(&tree_lock);
}

static void shutdown_locked(void)
{
	while (tree.workers != NULL) {
		struct worker *w = tree.workers;
		registry_unlink_locked(w);
		worker_free(w);
	}
	ctr_drbg_free(tree.primary);
	tree.primary = NULL;
	if (fork_marker != NULL)
		secmem_free((void *)(uintptr_t)fork_marker, sizeof(*fork_marker));
	fork_marker = NULL;
	tree.ready = false;
	tree.instance++;
	atomic_fetch_add(&epoch, 1); /* every thread takes the slow path */
}

err_t drbg_tree_init(const struct config *cfg)
{
	err_t r = ERR_INTERNAL;
	uint8_t seed[SEED_LEN];
	char pers[96];

	ENSURE_REF(cfg);
	ENSURE(cfg->drbg_reseed_interval >= 1 && cfg->drbg_reseed_interval <= CTR_DRBG_MAX_RESEED_COUNT &&
		       cfg->drbg_primary_reseed_interval >= 1 &&
		       cfg->drbg_primary_reseed_interval <= CTR_DRBG_MAX_RESEED_COUNT,
	       ERR_CONFIG); /* SP 800-90A Table 3: reseed_interval <= 2^48 */
	pthread_once(&tree_once, tree_once_init);
	pthread_mutex_lock(&tree_lock);
	if (tree.ready) {
		r = ERR_OK; /* idempotent */
		goto out;
	}
	tree.reseed_interval = cfg->drbg_reseed_interval;
	tree.reseed_seconds = cfg->drbg_reseed_seconds;
	tree.primary_interval = cfg->drbg_primary_reseed_interval;
	tree.primary_seconds = cfg->drbg_primary_reseed_seconds;

	uint64_t *marker = secmem_alloc_pages(sizeof(*marker), &r); /* wiped on fork */
	ENSURE_GOTO(marker != NULL, r);
	fork_marker = marker;
	if (secmem_wipe_on_fork(marker, sizeof(*marker)) != ERR_OK)
		log_warn("MADV_WIPEONFORK unavailable; fork detection uses pthread_atfork only");

	GUARD_GOTO(ctr_drbg_new(&tree.primary));
	/* 48 bytes of full entropy: 32 entropy input + 16 nonce (SP 800-90A 8.6.7) */
	GUARD_GOTO(entropy_get_seed(seed, sizeof(seed)));
	struct timespec ts;
	(void)clock_gettime(CLOCK_REALTIME, &ts);
	int n = snprintf(pers, sizeof(pers), "fount primary pid=%ld t=%lld.%09ld",
			 (long)getpid(), (long long)ts.tv_sec, ts.tv_nsec);
	ENSURE_GOTO(n > 0 && (size_t)n < sizeof(pers), ERR_INTERNAL);
	GUARD_GOTO(ctr_drbg_instantiate(tree.primary, seed, CTR_DRBG_MIN_ENTROPY_LEN,
					seed + CTR_DRBG_MIN_ENTROPY_LEN,
					SEED_LEN - CTR_DRBG_MIN_ENTROPY_LEN,
					(const uint8_t *)pers, (size_t)n));
	tree.primary_generates = 0;
	tree.primary_seeded_at = coarse_seconds();
	tree.primary_reseed_pending = false;
	atomic_store(&stat_primary_reseeds, 0);
	atomic_store(&stat_worker_reseeds, 0);
	atomic_store(&stat_fork_events, 0);
	atomic_store(&stat_pr_requests, 0);
	*fork_marker = 1;
	tree.ready = true;
	tree.instance++;
	atomic_fetch_add(&epoch, 1);
	r = ERR_OK;
out:
	secure_zero(seed, sizeof(seed));
	if (r != ERR_OK)
		shutdown_locked();
	pthread_mutex_unlock(&tree_lock);
	return r;
}

void drbg_tree_shutdown(void)
{
	pthread_mutex_lock(&tree_lock);
	shutdown_locked();
	pthread_mutex_unlock(&tree_lock);
	tls_worker = NULL;
}

uint64_t drbg_tree_worker_generates_for_test(void)
{
	return tls_worker != NULL ? tls_worker->generates : 0;
}

err_t drbg_add_input(const uint8_t *in, size_t len, size_t *out_used)
{
	uint8_t scratch[16];
	*out_used = 0;
	gate_fn g = atomic_load_explicit(&gate, memory_order_acquire);
	if (g == NULL || !g())
		return ERR_NOT_OPERATIONAL;
	ENSURE(in != NULL || len == 0, ERR_INVALID_ARG);
	size_t n = len < CTR_DRBG_MAX_INPUT_LEN ? len : CTR_DRBG_MAX_INPUT_LEN;
	if (n == 0)
		return ERR_OK;
	/* SP 800-90A 10.2.1.5.2 step 2: a generate's additional input is
	 * mixed into the state through CTR_DRBG_Update before any output;
	 * nothing about it is credited, and the 16 output bytes are dropped */
	pthread_mutex_lock(&tree_lock);
	err_t r = tree.primary != NULL
			  ? ctr_drbg_generate(tree.primary, scratch, sizeof(scratch), in, n)
			  : ERR_DRBG_UNINSTANTIATED;
	if (r == ERR_OK) {
		tree.primary_generates++;
		atomic_fetch_add(&epoch, 1); /* every worker reseeds from it */
	}
	pthread_mutex_unlock(&tree_lock);
	secure_zero(scratch, sizeof(scratch));
	if (r == ERR_OK)
		*out_used = n;
	return r;
}
