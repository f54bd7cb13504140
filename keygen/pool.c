/* keygen/pool.c — new key pairs for the key service, and the pool of ready
 * ones (keygen.h, "new key pairs").
 *
 * One refill thread serves every pooled type: it picks the type furthest
 * below its target, makes a pair with keygen_pkey_generate (which runs the
 * pairwise-consistency test, the FIPS module's or fount's) outside the
 * lock, encodes both parts as DER into secure memory, frees the EVP_PKEY
 * (OpenSSL clears it) and files the pair. It runs at SCHED_IDLE and nice
 * 19, so it takes only CPU nothing else wants; when every type is full it
 * sleeps until a take wakes it. A take moves the pair out (the slot is
 * emptied, never copied), so no pair is handed out twice.
 *
 * The gate: a pair made while OPERATIONAL must not leave once the module
 * is in ERROR. keygen_pool_take checks drbg_gate_open first and, shut,
 * wipes the whole pool; the refill thread checks it after each generation
 * and on every wake-up (at least once a second) and wipes the pool too. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "keygen/internal.h"

CSP_USE("Private keys", "ready, PCT-checked key pairs of the key-pair pool, never reused, wiped at exit");

void keygen_pair_free(struct keygen_pair *p)
{
	if (p == NULL)
		return;
	keygen_buf_free(&p->priv);
	keygen_buf_free(&p->pub);
	memset(p, 0, sizeof(*p));
}

err_t keygen_pair_generate(const struct keygen_type *t, struct keygen_pair *out)
{
	ENSURE(t != NULL && out != NULL, ERR_INVALID_ARG);
	memset(out, 0, sizeof(*out));
	ENSURE(t->kind != KEYGEN_KIND_SYM, ERR_INVALID_ARG);
	EVP_PKEY *pkey = NULL;
	GUARD(keygen_pkey_generate(t, &pkey));
	uint8_t *der = NULL;
	size_t len = 0;
	err_t r = keygen_pkey_encode(pkey, KEYGEN_PART_PRIVATE, KEYGEN_FMT_DER, &der, &len);
	if (r == ERR_OK) {
		out->priv = (struct keygen_buf){.p = der, .len = len, .cap = len};
		r = keygen_pkey_encode(pkey, KEYGEN_PART_PUBLIC, KEYGEN_FMT_DER, &der, &len);
		if (r == ERR_OK)
			out->pub = (struct keygen_buf){.p = der, .len = len, .cap = len};
	}
	EVP_PKEY_free(pkey); /* clears the private key */
	if (r != ERR_OK) {
		keygen_pair_free(out);
		return r;
	}
	out->type = t;
	return ERR_OK;
}

/* ---- the pool -------------------------------------------------------------------*/

struct pool_slotset {
	const struct keygen_type *type;
	unsigned target, ready;
	struct keygen_pair *pairs; /* [target]; the first |ready| are full */
	uint64_t made, taken, dropped;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static struct pool_slotset sets[KEYGEN_POOL_MAX_TYPES];
static size_t n_sets;
static bool running, stopping;
static bool paused; /* keygen_pool_pause_for_test */
static pthread_t refill_thread;

/* wipe_locked wipes every ready pair (lock held). */
static void wipe_locked(void)
{
	for (size_t i = 0; i < n_sets; i++) {
		for (unsigned j = 0; j < sets[i].ready; j++)
			keygen_pair_free(&sets[i].pairs[j]);
		sets[i].dropped += sets[i].ready;
		sets[i].ready = 0;
	}
}

void keygen_pool_drop(void)
{
	pthread_mutex_lock(&lock);
	wipe_locked();
	pthread_mutex_unlock(&lock);
}

/* neediest_locked returns the set furthest below its target (by share), or
 * NULL when all are full. */
static struct pool_slotset *neediest_locked(void)
{
	struct pool_slotset *best = NULL;
	double best_fill = 1.0;
	for (size_t i = 0; i < n_sets; i++) {
		double fill = (double)sets[i].ready / (double)sets[i].target;
		if (fill < best_fill) {
			best_fill = fill;
			best = &sets[i];
		}
	}
	return best;
}

/* lower_priority makes the calling thread take only idle CPU: SCHED_IDLE
 * (sched(7)) and nice 19 for this thread (setpriority on its TID, which
 * Linux applies per thread). Failures only cost latency: logged, not fatal. */
static void lower_priority(void)
{
	struct sched_param sp = {.sched_priority = 0};
	int e = pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp);
	if (e != 0)
		log_debug("key-pair pool: SCHED_IDLE refused: %s", strerror(e));
	pid_t tid = (pid_t)syscall(SYS_gettid);
	if (setpriority(PRIO_PROCESS, (id_t)tid, 19) != 0)
		log_debug("key-pair pool: nice 19 refused: %s", strerror(errno));
}

static void *refill_main(void *arg)
{
	UNUSED(arg);
	lower_priority();
	unsigned backoff = 0;          /* seconds, after a failed generation */
	uint64_t retry_at = 0;         /* now_ns() before which none is tried */
	pthread_mutex_lock(&lock);
	while (!stopping) {
		bool open = drbg_gate_open();
		if (!open)
			wipe_locked();
		struct pool_slotset *set = open && !paused && now_ns() >= retry_at ? neediest_locked() : NULL;
		if (set == NULL) {
			/* full, shut or backing off: wait for a take, a stop, or
			 * the next second (the gate is polled) */
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += 1;
			(void)pthread_cond_timedwait(&wake, &lock, &until);
			continue;
		}
		const struct keygen_type *t = set->type;
		pthread_mutex_unlock(&lock);
		struct keygen_pair p;
		err_t r = keygen_pair_generate(t, &p);
		pthread_mutex_lock(&lock);
		if (r != ERR_OK) {
			/* ERR_NOT_OPERATIONAL is the gate: the loop wipes and waits */
			if (r != ERR_NOT_OPERATIONAL)
				log_warn("key-pair pool: cannot make a %s key pair: %s", t->name, err_str(r));
			backoff = backoff == 0 ? 1 : backoff >= 30 ? 30 : backoff * 2;
			retry_at = now_ns() + (uint64_t)backoff * 1000000000u;
			continue;
		}
		backoff = 0;
		/* filed only if no stop came, the gate is still open and there
		 * is room */
		if (stopping || !drbg_gate_open() || set->ready >= set->target) {
			keygen_pair_free(&p);
			continue;
		}
		p.pooled = true;
		set->pairs[set->ready++] = p;
		set->made++;
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

err_t keygen_pool_start(const struct keygen_pool_spec *specs, size_t n)
{
	if (n == 0)
		return ERR_OK;
	ENSURE(specs != NULL && n <= KEYGEN_POOL_MAX_TYPES, ERR_INVALID_ARG);
	for (size_t i = 0; i < n; i++) {
		ENSURE(specs[i].type != NULL && specs[i].type->kind != KEYGEN_KIND_SYM, ERR_INVALID_ARG);
		ENSURE(specs[i].target >= 1 && specs[i].target <= KEYGEN_POOL_MAX_TARGET, ERR_INVALID_ARG);
		for (size_t j = 0; j < i; j++)
			ENSURE(specs[j].type != specs[i].type, ERR_INVALID_ARG);
	}
	pthread_mutex_lock(&lock);
	if (running) {
		pthread_mutex_unlock(&lock);
		return ERR_INVALID_ARG;
	}
	err_t r = ERR_OK;
	memset(sets, 0, sizeof(sets));
	for (size_t i = 0; i < n; i++) {
		/* the slots hold only pointers to secure memory */
		sets[i].pairs = calloc(specs[i].target, sizeof(struct keygen_pair));
		if (sets[i].pairs == NULL) {
			r = ERR_NOMEM;
			break;
		}
		sets[i].type = specs[i].type;
		sets[i].target = specs[i].target;
	}
	n_sets = n;
	stopping = false;
	if (r == ERR_OK && pthread_create(&refill_thread, NULL, refill_main, NULL) != 0)
		r = ERR_SYSTEM;
	if (r != ERR_OK) {
		for (size_t i = 0; i < n; i++)
			free(sets[i].pairs);
		memset(sets, 0, sizeof(sets));
		n_sets = 0;
	} else {
		running = true;
	}
	pthread_mutex_unlock(&lock);
	return r;
}

void keygen_pool_stop(void)
{
	pthread_mutex_lock(&lock);
	if (!running) {
		pthread_mutex_unlock(&lock);
		return;
	}
	stopping = true;
	pthread_cond_broadcast(&wake);
	pthread_mutex_unlock(&lock);
	/* the thread finishes the pair it is making (at most one), files
	 * nothing and exits */
	pthread_join(refill_thread, NULL);
	pthread_mutex_lock(&lock);
	wipe_locked();
	for (size_t i = 0; i < n_sets; i++)
		free(sets[i].pairs);
	memset(sets, 0, sizeof(sets));
	n_sets = 0;
	running = false;
	stopping = false;
	paused = false;
	pthread_mutex_unlock(&lock);
}

err_t keygen_pool_take(const struct keygen_type *t, struct keygen_pair *out)
{
	ENSURE(t != NULL && out != NULL, ERR_INVALID_ARG);
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&lock);
	if (!drbg_gate_open()) {
		/* the module left OPERATIONAL: nothing made before leaves now */
		wipe_locked();
		pthread_mutex_unlock(&lock);
		return ERR_NOT_OPERATIONAL;
	}
	err_t r = ERR_UNSUPPORTED;
	for (size_t i = 0; i < n_sets; i++) {
		struct pool_slotset *set = &sets[i];
		if (set->type != t || set->ready == 0)
			continue;
		/* the last one out: moved, and the slot emptied */
		*out = set->pairs[--set->ready];
		memset(&set->pairs[set->ready], 0, sizeof(set->pairs[set->ready]));
		set->taken++;
		pthread_cond_signal(&wake);
		r = ERR_OK;
		break;
	}
	pthread_mutex_unlock(&lock);
	return r;
}

err_t keygen_pair_new(const struct keygen_type *t, struct keygen_pair *out)
{
	err_t r = keygen_pool_take(t, out);
	if (r != ERR_UNSUPPORTED)
		return r;
	return keygen_pair_generate(t, out);
}

size_t keygen_pool_stats(struct keygen_pool_stat *out, size_t cap)
{
	pthread_mutex_lock(&lock);
	size_t n = n_sets;
	for (size_t i = 0; i < n && i < cap && out != NULL; i++)
		out[i] = (struct keygen_pool_stat){sets[i].type, sets[i].ready, sets[i].target,
						   sets[i].made, sets[i].taken, sets[i].dropped};
	pthread_mutex_unlock(&lock);
	return n;
}

void keygen_pool_text(char *out, size_t len)
{
	struct keygen_pool_stat st[KEYGEN_POOL_MAX_TYPES];
	size_t n = keygen_pool_stats(st, ARRAY_SIZE(st));
	if (len == 0)
		return;
	out[0] = '\0';
	if (n == 0) {
		snprintf(out, len, "off");
		return;
	}
	size_t used = 0;
	for (size_t i = 0; i < n && used < len; i++) {
		int k = snprintf(out + used, len - used, "%s%s %u/%u", i ? ", " : "", st[i].type->name,
				 st[i].ready, st[i].target);
		if (k < 0)
			break;
		used += (size_t)k;
	}
}

bool keygen_pool_wait_ready_for_test(unsigned ms)
{
	for (unsigned waited = 0;; waited += 10) {
		bool full = true;
		pthread_mutex_lock(&lock);
		for (size_t i = 0; i < n_sets; i++)
			full = full && sets[i].ready == sets[i].target;
		pthread_mutex_unlock(&lock);
		if (full)
			return true;
		if (waited >= ms)
			return false;
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

void keygen_pool_pause_for_test(bool pause)
{
	pthread_mutex_lock(&lock);
	paused = pause;
	pthread_cond_broadcast(&wake);
	pthread_mutex_unlock(&lock);
}

size_t keygen_pool_secmem_for_test(void)
{
	size_t total = 0;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < n_sets; i++)
		for (unsigned j = 0; j < sets[i].ready; j++)
			total += sets[i].pairs[j].priv.cap + sets[i].pairs[j].pub.cap;
	pthread_mutex_unlock(&lock);
	return total;
}

/* ---- the configuration's form ---------------------------------------------------*/

void keygen_pool_types_text(char *out, size_t len)
{
	const struct keygen_type *all;
	size_t n = keygen_types(&all), used = 0;
	if (len == 0)
		return;
	out[0] = '\0';
	for (size_t i = 0; i < n && used < len; i++) {
		if (all[i].kind == KEYGEN_KIND_SYM)
			continue;
		int k = snprintf(out + used, len - used, "%s%s", used ? ", " : "", all[i].name);
		if (k < 0)
			break;
		used += (size_t)k;
	}
}

err_t keygen_pool_parse(const char *text, struct keygen_pool_spec out[KEYGEN_POOL_MAX_TYPES], size_t *n,
			char *why, size_t whylen)
{
	*n = 0;
	const char *p = text;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0')
		return ERR_OK; /* no pool */
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		size_t len = strcspn(p, ",");
		char item[64];
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == 0 || len >= sizeof(item)) {
			snprintf(why, whylen, "expected TYPE:COUNT[,TYPE:COUNT...], e.g. rsa-3072:4,ec-p256:64");
			return ERR_CONFIG;
		}
		memcpy(item, p, len);
		item[len] = '\0';
		char *colon = strchr(item, ':');
		char *end = NULL;
		unsigned long count = 0;
		if (colon != NULL) {
			*colon = '\0';
			errno = 0;
			count = strtoul(colon + 1, &end, 10);
		}
		if (colon == NULL || colon[1] == '\0' || colon[1] == '-' || errno != 0 || *end != '\0' ||
		    count < 1 || count > KEYGEN_POOL_MAX_TARGET) {
			snprintf(why, whylen, "'%s': expected TYPE:COUNT with COUNT 1 to %u", item,
				 KEYGEN_POOL_MAX_TARGET);
			return ERR_CONFIG;
		}
		const struct keygen_type *t = keygen_type_find(item);
		if (t == NULL || t->kind == KEYGEN_KIND_SYM) {
			char types[256];
			keygen_pool_types_text(types, sizeof types);
			snprintf(why, whylen, "unknown key-pair type '%s' (accepted: %s)", item, types);
			return ERR_CONFIG;
		}
		for (size_t i = 0; i < *n; i++) {
			if (out[i].type == t) {
				snprintf(why, whylen, "type '%s' listed twice", item);
				return ERR_CONFIG;
			}
		}
		if (*n == KEYGEN_POOL_MAX_TYPES) {
			snprintf(why, whylen, "at most %d types", KEYGEN_POOL_MAX_TYPES);
			return ERR_CONFIG;
		}
		out[*n].type = t;
		out[*n].target = (unsigned)count;
		(*n)++;
		p += strcspn(p, ",");
		if (*p == '\0')
			return ERR_OK;
		p++;
	}
}
