/* util/secmem.c — locked, guarded, wiped memory for keys and DRBG state.
 *
 * Two paths. Secrets of up to SLAB_MAX bytes (keys, PINs, DRBG states) get
 * a fixed-size slot in an arena: a run of pages mapped once, with one
 * inaccessible guard page before and one after the run, excluded from
 * core dumps and locked as a whole, so a key costs a bitmap update, not an
 * mmap/mprotect/mlock/munlock/munmap of its own. Larger requests keep one
 * mapping each between their own guard pages. Either way the memory is
 * wiped when freed. The arena layout follows the idea of OpenSSL's secure
 * heap (crypto/mem_sec.c: one locked, guarded, dump-excluded region carved
 * into small blocks, a bad free aborts); the code is fount's own. */
#include "util/util.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Under AddressSanitizer, LeakSanitizer does not scan memory the program
 * mmaps itself, so an OpenSSL object referenced only from secure memory
 * (a CTR_DRBG's cipher contexts) looks leaked. Each secure region is
 * registered as a root region while it is mapped. */
#if defined(__SANITIZE_ADDRESS__)
#define SECMEM_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SECMEM_LSAN 1
#endif
#endif
#ifdef SECMEM_LSAN
#include <sanitizer/lsan_interface.h>
#endif

static atomic_bool mlock_on = true;

void secmem_set_mlock(bool on) { atomic_store(&mlock_on, on); }
bool secmem_mlock_enabled(void) { return atomic_load(&mlock_on); }

static size_t page_size(void)
{
	long p = sysconf(_SC_PAGESIZE);
	return p > 0 ? (size_t)p : 4096;
}

/* data_span is |len| rounded up to whole pages: the accessible part of a
 * mapping. The mapping adds one guard page on each side of it. */
static size_t data_span(size_t len)
{
	size_t pg = page_size();
	return (len + pg - 1) / pg * pg;
}

/* secmem_die: a free that does not match an allocation means the heap's
 * bookkeeping can no longer be trusted; stop, as OpenSSL's secure heap
 * does (crypto/mem_sec.c, OPENSSL_assert in sh_free). */
static _Noreturn void secmem_die(const char *why)
{
	static const char head[] = "fount: secmem_free: ";
	(void)!write(STDERR_FILENO, head, sizeof(head) - 1);
	(void)!write(STDERR_FILENO, why, strlen(why));
	(void)!write(STDERR_FILENO, "\n", 1);
	abort();
}

/* ---- one mapping per secret --------------------------------------------*/

/* map_guarded maps |span| bytes (whole pages) of read-write memory between
 * two PROT_NONE guard pages, excluded from core dumps, and locks it when
 * |lock|. Returns the first data byte, or NULL with *out_err set. */
static uint8_t *map_guarded(size_t span, bool lock, err_t *out_err)
{
	size_t pg = page_size();
	uint8_t *base = mmap(NULL, span + 2 * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED) {
		*out_err = ERR_NOMEM;
		return NULL;
	}
	uint8_t *data = base + pg;
	if (mprotect(data, span, PROT_READ | PROT_WRITE) != 0) {
		*out_err = ERR_SYSTEM;
		goto fail;
	}
	(void)madvise(data, span, MADV_DONTDUMP); /* keep secrets out of cores */
	if (lock && mlock(data, span) != 0) {
		*out_err = ERR_MLOCK; /* never swap a secret to disk */
		goto fail;
	}
#ifdef SECMEM_LSAN
	__lsan_register_root_region(data, span);
#endif
	return data;
fail:
	munmap(base, span + 2 * pg);
	return NULL;
}

static void unmap_guarded(uint8_t *data, size_t span, bool locked)
{
	size_t pg = page_size();
#ifdef SECMEM_LSAN
	__lsan_unregister_root_region(data, span);
#endif
	if (locked)
		(void)munlock(data, span);
	munmap(data - pg, span + 2 * pg);
}

/* ---- arenas of fixed-size slots ----------------------------------------*/

#define SLAB_MAX 512         /* larger requests get their own mapping */
#define NUM_CLASSES 5        /* slots of 32, 64, 128, 256 and 512 bytes */
#define ARENA_MAX_PAGES 16   /* arenas double from 1 page up to 64 KiB */

struct arena {
	uint8_t *data;     /* the first slot; guard pages at data - pg and data + span */
	size_t span;       /* bytes of slots, whole pages */
	size_t num_slots;
	size_t used;
	size_t next_word;  /* where the search for a free slot starts */
	bool locked;
	uint64_t bits[];   /* 1 = slot in use */
};

struct size_class {
	pthread_mutex_t lock;
	size_t slot;          /* slot size in bytes */
	struct arena **arenas; /* sorted by address, for secmem_free's search */
	size_t num_arenas, cap_arenas;
	size_t free_slots;    /* over every arena of the class */
	size_t empty_arenas;  /* arenas with no slot in use: one is kept */
	size_t hint;          /* the arena that last had room */
	size_t next_pages;    /* pages of the next arena */
};

static struct size_class classes[NUM_CLASSES] = {
	{PTHREAD_MUTEX_INITIALIZER, 32, NULL, 0, 0, 0, 0, 0, 1},
	{PTHREAD_MUTEX_INITIALIZER, 64, NULL, 0, 0, 0, 0, 0, 1},
	{PTHREAD_MUTEX_INITIALIZER, 128, NULL, 0, 0, 0, 0, 0, 1},
	{PTHREAD_MUTEX_INITIALIZER, 256, NULL, 0, 0, 0, 0, 0, 1},
	{PTHREAD_MUTEX_INITIALIZER, 512, NULL, 0, 0, 0, 0, 0, 1},
};

/* Small secrets that must have pages of their own (secmem_alloc_pages):
 * remembered so secmem_free can tell them from a bad pointer. */
struct own_pages {
	uint8_t *data;
	size_t span;
	bool locked;
	struct own_pages *next;
};
static pthread_mutex_t own_lock = PTHREAD_MUTEX_INITIALIZER;
static struct own_pages *own_list;

/* A fork while another thread holds a class lock would leave the lock
 * held forever in the child: hold every lock across fork(). */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void fork_prepare(void)
{
	for (size_t i = 0; i < NUM_CLASSES; i++)
		pthread_mutex_lock(&classes[i].lock);
	pthread_mutex_lock(&own_lock);
}

static void fork_release(void)
{
	pthread_mutex_unlock(&own_lock);
	for (size_t i = NUM_CLASSES; i-- > 0;)
		pthread_mutex_unlock(&classes[i].lock);
}

static void atfork_install(void)
{
	(void)pthread_atfork(fork_prepare, fork_release, fork_release);
}

static struct size_class *class_for(size_t len)
{
	for (size_t i = 0; i < NUM_CLASSES; i++)
		if (len <= classes[i].slot)
			return &classes[i];
	return NULL;
}

/* meta_span: the bytes of an arena's bookkeeping with |words| bitmap words */
static size_t meta_span(size_t words)
{
	return data_span(sizeof(struct arena) + words * sizeof(uint64_t));
}

/* arena_new maps an arena of |pages| pages for |c| and files it in
 * address order. Called with c->lock held. */
static err_t arena_new(struct size_class *c, size_t pages)
{
	err_t r = ERR_OK;
	size_t span = pages * page_size();
	size_t num_slots = span / c->slot;
	size_t words = (num_slots + 63) / 64;
	struct arena *a = NULL;
	bool lock = atomic_load(&mlock_on);

	if (c->num_arenas == c->cap_arenas) {
		/* the index grows by doubling, in pages of its own */
		size_t cap = c->cap_arenas ? 2 * c->cap_arenas : 512;
		void *grown = mmap(NULL, cap * sizeof(c->arenas[0]), PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (grown == MAP_FAILED)
			return ERR_NOMEM;
		if (c->num_arenas > 0)
			memcpy(grown, c->arenas, c->num_arenas * sizeof(c->arenas[0]));
		if (c->arenas != NULL)
			munmap(c->arenas, c->cap_arenas * sizeof(c->arenas[0]));
		c->arenas = grown;
		c->cap_arenas = cap;
	}
	/* the bookkeeping (not secret) on a page of its own, away from the
	 * slots; anonymous memory starts zeroed */
	void *meta = mmap(NULL, meta_span(words), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);
	if (meta == MAP_FAILED)
		return ERR_NOMEM;
	a = meta;
	a->data = map_guarded(span, lock, &r);
	if (a->data == NULL) {
		munmap(meta, meta_span(words));
		return r;
	}
	a->span = span;
	a->num_slots = num_slots;
	a->locked = lock;
	size_t at = c->num_arenas;
	for (; at > 0 && c->arenas[at - 1]->data > a->data; at--)
		c->arenas[at] = c->arenas[at - 1];
	c->arenas[at] = a;
	c->num_arenas++;
	c->free_slots += num_slots;
	c->empty_arenas++;
	c->hint = at;
	return ERR_OK;
}

/* arena_find returns the index of the arena holding |p|, or SIZE_MAX. */
static size_t arena_find(const struct size_class *c, const uint8_t *p)
{
	size_t lo = 0, hi = c->num_arenas;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct arena *a = c->arenas[mid];
		if (p < a->data)
			hi = mid;
		else if (p >= a->data + a->span)
			lo = mid + 1;
		else
			return mid;
	}
	return SIZE_MAX;
}

/* arena_take marks a free slot of |a| used and returns it; NULL if full. */
static uint8_t *arena_take(struct arena *a, size_t slot)
{
	size_t words = (a->num_slots + 63) / 64;
	for (size_t k = 0; k < words; k++) {
		size_t w = (a->next_word + k) % words;
		uint64_t free_bits = ~a->bits[w];
		if (w == words - 1 && a->num_slots % 64 != 0)
			free_bits &= (UINT64_C(1) << (a->num_slots % 64)) - 1;
		if (free_bits == 0)
			continue;
		unsigned bit = (unsigned)__builtin_ctzll(free_bits);
		a->bits[w] |= UINT64_C(1) << bit;
		a->next_word = w;
		a->used++;
		return a->data + (w * 64 + bit) * slot;
	}
	return NULL;
}

static void *slab_alloc(struct size_class *c, err_t *out_err)
{
	uint8_t *p = NULL;
	bool lock = atomic_load(&mlock_on);

	pthread_once(&atfork_once, atfork_install);
	pthread_mutex_lock(&c->lock);
	if (c->free_slots == 0) {
		size_t pages = c->next_pages;
		*out_err = arena_new(c, pages);
		if (*out_err != ERR_OK)
			goto out;
		if (c->next_pages < ARENA_MAX_PAGES)
			c->next_pages *= 2;
	}
	for (size_t k = 0; k < c->num_arenas; k++) {
		size_t i = (c->hint + k) % c->num_arenas;
		struct arena *a = c->arenas[i];
		if (a->used == a->num_slots)
			continue;
		/* locking was turned on after this arena was mapped */
		if (lock && !a->locked) {
			if (mlock(a->data, a->span) != 0) {
				*out_err = ERR_MLOCK;
				goto out;
			}
			a->locked = true;
		}
		if (a->used == 0)
			c->empty_arenas--;
		p = arena_take(a, c->slot);
		c->free_slots--;
		c->hint = i;
		break;
	}
	if (p == NULL && *out_err == ERR_OK)
		*out_err = ERR_INTERNAL; /* free_slots disagreed with the bitmaps */
out:
	pthread_mutex_unlock(&c->lock);
	return p;
}

/* slab_free returns true if |p| was a slot of |c| and is now free; false
 * if no arena of |c| holds it. A slot freed twice, or a pointer into the
 * middle of a slot, aborts. */
static bool slab_free(struct size_class *c, uint8_t *p)
{
	pthread_mutex_lock(&c->lock);
	size_t i = arena_find(c, p);
	if (i == SIZE_MAX) {
		pthread_mutex_unlock(&c->lock);
		return false;
	}
	struct arena *a = c->arenas[i];
	size_t off = (size_t)(p - a->data);
	size_t n = off / c->slot;
	if (off % c->slot != 0) {
		pthread_mutex_unlock(&c->lock);
		secmem_die("pointer into the middle of a slot (not from secmem_alloc)");
	}
	uint64_t mask = UINT64_C(1) << (n % 64);
	if ((a->bits[n / 64] & mask) == 0) {
		pthread_mutex_unlock(&c->lock);
		secmem_die("double free (the slot is not in use)");
	}
	secure_zero(p, c->slot); /* the whole slot: nothing of the secret stays */
	a->bits[n / 64] &= ~mask;
	a->used--;
	c->free_slots++;
	if (a->used == 0 && ++c->empty_arenas > 1) {
		/* keep one empty arena, so a caller at an arena boundary does not
		 * map and unmap one per key; give the others back */
		unmap_guarded(a->data, a->span, a->locked);
		c->free_slots -= a->num_slots;
		c->empty_arenas--;
		memmove(&c->arenas[i], &c->arenas[i + 1], (c->num_arenas - i - 1) * sizeof(c->arenas[0]));
		c->num_arenas--;
		c->hint = 0;
		munmap(a, meta_span((a->num_slots + 63) / 64));
	}
	pthread_mutex_unlock(&c->lock);
	return true;
}

/* ---- the public functions ----------------------------------------------*/

void *secmem_alloc(size_t len, err_t *out_err)
{
	err_t r = ERR_OK;
	void *p = NULL;

	if (len == 0 || len > SIZE_MAX / 2) {
		r = ERR_INVALID_ARG;
		goto out;
	}
	struct size_class *c = class_for(len);
	if (c != NULL)
		p = slab_alloc(c, &r);
	else
		p = map_guarded(data_span(len), atomic_load(&mlock_on), &r);
out:
	if (out_err)
		*out_err = p != NULL ? ERR_OK : r;
	return p;
}

void *secmem_alloc_pages(size_t len, err_t *out_err)
{
	err_t r = ERR_OK;
	uint8_t *p = NULL;
	struct own_pages *o = NULL;

	if (len == 0 || len > SIZE_MAX / 2) {
		r = ERR_INVALID_ARG;
		goto out;
	}
	if (class_for(len) == NULL) {
		p = map_guarded(data_span(len), atomic_load(&mlock_on), &r);
		goto out;
	}
	/* small: remember it, or secmem_free would take it for a slot */
	o = calloc(1, sizeof(*o));
	if (o == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	o->span = data_span(len);
	o->locked = atomic_load(&mlock_on);
	p = o->data = map_guarded(o->span, o->locked, &r);
	if (p == NULL) {
		free(o);
		goto out;
	}
	pthread_once(&atfork_once, atfork_install);
	pthread_mutex_lock(&own_lock);
	o->next = own_list;
	own_list = o;
	pthread_mutex_unlock(&own_lock);
out:
	if (out_err)
		*out_err = p != NULL ? ERR_OK : r;
	return p;
}

/* own_pages_take unlinks the small own-pages allocation at |p|, if any. */
static struct own_pages *own_pages_take(const uint8_t *p)
{
	struct own_pages *o = NULL;
	pthread_mutex_lock(&own_lock);
	for (struct own_pages **pp = &own_list; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->data == p) {
			o = *pp;
			*pp = o->next;
			break;
		}
	}
	pthread_mutex_unlock(&own_lock);
	return o;
}

void secmem_free(void *p, size_t len)
{
	if (p == NULL)
		return;
	struct size_class *c = class_for(len);
	if (c != NULL) {
		if (slab_free(c, p))
			return;
		struct own_pages *o = own_pages_take(p);
		if (o == NULL)
			secmem_die("pointer not from secmem_alloc with this length, or freed twice");
		secure_zero(o->data, o->span);
		unmap_guarded(o->data, o->span, o->locked);
		free(o);
		return;
	}
	if ((uintptr_t)p % page_size() != 0)
		secmem_die("pointer not from secmem_alloc (not page-aligned)");
	size_t span = data_span(len);
	secure_zero(p, span);
	unmap_guarded(p, span, atomic_load(&mlock_on));
}

err_t secmem_wipe_on_fork(void *p, size_t len)
{
	struct size_class *c = class_for(len);
	if (c != NULL) {
		/* a slot shares its pages with other secrets: the kernel would
		 * wipe them too. Only secmem_alloc_pages memory qualifies. */
		pthread_mutex_lock(&c->lock);
		bool in_arena = arena_find(c, p) != SIZE_MAX;
		pthread_mutex_unlock(&c->lock);
		if (in_arena)
			return ERR_INVALID_ARG;
	}
#ifdef MADV_WIPEONFORK
	if (madvise(p, data_span(len), MADV_WIPEONFORK) == 0)
		return ERR_OK;
#else
	UNUSED(p);
	UNUSED(len);
#endif
	return ERR_SYSTEM;
}

void secure_zero(void *p, size_t len)
{
	if (len)
		explicit_bzero(p, len);
}

bool ct_memeq(const void *a, const void *b, size_t len)
{
	const volatile uint8_t *x = a, *y = b;
	uint8_t acc = 0;
	for (size_t i = 0; i < len; i++)
		acc |= (uint8_t)(x[i] ^ y[i]);
	/* 0 -> 1, anything else -> 0, without a data-dependent branch */
	return (bool)(1 & ((uint32_t)(acc - 1) >> 8));
}

/* ---- the CSP table (util.h) ---- */

/* GNU ld and lld define these for a section whose name is a C identifier;
 * weak, so a binary with no entry links (and csp_entries says none).
 * Sanitizers leave globals in such sections unpadded. */
extern const struct csp_entry *const __start_fount_csp[] __attribute__((weak));
extern const struct csp_entry *const __stop_fount_csp[] __attribute__((weak));

size_t csp_entries(const struct csp_entry *const **out)
{
	*out = __start_fount_csp;
	if (__start_fount_csp == NULL || __stop_fount_csp == NULL)
		return 0;
	return (size_t)(__stop_fount_csp - __start_fount_csp);
}
