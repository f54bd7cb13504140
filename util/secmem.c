/* util/secmem.c — locked, guarded, wiped memory for keys and DRBG state. */
#include "util/util.h"

#include <errno.h>
#include <stdatomic.h>
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

/* data_span rounds |len| up to whole pages: the readable, writable, locked
 * part of a secure mapping. The two PROT_NONE guard pages around it are not
 * included; secmem_alloc and secmem_free add 2 * page_size() for them. */
static size_t data_span(size_t len)
{
	size_t pg = page_size();
	return (len + pg - 1) / pg * pg;
}

void *secmem_alloc(size_t len, err_t *out_err)
{
	err_t r = ERR_NOMEM;
	size_t pg = page_size();
	uint8_t *base = NULL;

	if (len == 0 || len > SIZE_MAX / 2) {
		r = ERR_INVALID_ARG;
		goto out;
	}
	size_t span = data_span(len);
	base = mmap(NULL, span + 2 * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED) {
		base = NULL;
		goto out;
	}
	uint8_t *data = base + pg;
	if (mprotect(data, span, PROT_READ | PROT_WRITE) != 0) {
		r = ERR_SYSTEM;
		goto out;
	}
	(void)madvise(data, span, MADV_DONTDUMP); /* keep secrets out of cores */
	if (atomic_load(&mlock_on) && mlock(data, span) != 0) {
		r = ERR_MLOCK; /* never swap a secret to disk */
		goto out;
	}
#ifdef SECMEM_LSAN
	__lsan_register_root_region(data, span);
#endif
	if (out_err)
		*out_err = ERR_OK;
	return data;
out:
	if (base)
		munmap(base, data_span(len) + 2 * pg);
	if (out_err)
		*out_err = r;
	return NULL;
}

void secmem_free(void *p, size_t len)
{
	if (p == NULL)
		return;
	size_t pg = page_size();
	size_t span = data_span(len);
	secure_zero(p, span);
#ifdef SECMEM_LSAN
	__lsan_unregister_root_region(p, span);
#endif
	if (atomic_load(&mlock_on))
		(void)munlock(p, span);
	munmap((uint8_t *)p - pg, span + 2 * pg);
}

err_t secmem_wipe_on_fork(void *p, size_t len)
{
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
