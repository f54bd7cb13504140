/* util/util.h — the one public header of util/: error codes, guard macros,
 * secure memory, constant-time helpers, logging, hex, configuration.
 *
 * util/ depends on nothing else in fount. It knows nothing of entropy, keys
 * or protocols. */
#ifndef FOUNT_UTIL_UTIL_H
#define FOUNT_UTIL_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- compiler helpers ------------------------------------------------- */

/* fount's version: `fount --version`, the logs, KMIP Query Server Information */
#define FOUNT_VERSION "0.1.0"

#define MUST_CHECK __attribute__((warn_unused_result))
#define NONNULL(...) __attribute__((nonnull(__VA_ARGS__)))
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define STATIC_ASSERT(c, msg) _Static_assert(c, msg)
#define UNUSED(x) ((void)(x))

/* ---- errors ------------------------------------------------------------
 * Every fallible function returns err_t: ERR_OK (0) or a negative code.
 * Codes are grouped by category in blocks of 100 so that a protocol layer
 * can map a category to a KMIP Result Reason or an HTTP status. The text of
 * each is in one table in util/err.c; err_str() returns it. */
typedef int err_t;

enum err_category {
	ERRCAT_NONE = 0,
	ERRCAT_USAGE = 1,    /* the caller asked for something invalid */
	ERRCAT_RESOURCE = 2, /* memory, files, system calls */
	ERRCAT_ENTROPY = 3,  /* noise sources and health tests */
	ERRCAT_CRYPTO = 4,   /* DRBG and the OpenSSL library context */
	ERRCAT_SELFTEST = 5, /* self-tests and the module state */
	ERRCAT_HSM = 6,      /* PKCS#11 hardware security modules */
	ERRCAT_STORE = 7,    /* the managed-object store (store/) */
	ERRCAT_INTERNAL = 9,
};

enum {
	ERR_OK = 0,

	ERR_USAGE = -100,         /* bad arguments */
	ERR_INVALID_ARG = -101,   /* an argument is out of range */
	ERR_CONFIG = -102,        /* the configuration is invalid */
	ERR_TOO_LARGE = -103,     /* a size exceeds a fixed limit */
	ERR_PARSE = -104,         /* malformed input */
	ERR_UNSUPPORTED = -105,   /* valid, but not implemented by fount */

	ERR_NOMEM = -200,         /* out of memory */
	ERR_MLOCK = -201,         /* mlock failed (RLIMIT_MEMLOCK too low?) */
	ERR_IO = -202,            /* read/write/open failed */
	ERR_SYSTEM = -203,        /* another system call failed */

	ERR_ENTROPY_NO_SOURCE = -300,      /* the source is absent on this host */
	ERR_ENTROPY_READ = -301,           /* the source failed to deliver */
	ERR_HEALTH_RCT = -302,             /* intermittent Repetition Count Test failure */
	ERR_HEALTH_APT = -303,             /* intermittent Adaptive Proportion Test failure */
	ERR_HEALTH_RCT_PERMANENT = -304,   /* permanent RCT failure: source disabled */
	ERR_HEALTH_APT_PERMANENT = -305,   /* permanent APT failure: source disabled */
	ERR_ENTROPY_STARTUP = -306,        /* start-up test or sanity check failed */
	ERR_ENTROPY_DISABLED = -307,       /* the source was disabled after failures */
	ERR_ENTROPY_EXHAUSTED = -308,      /* no credited source is left */

	ERR_CRYPTO = -400,                 /* an OpenSSL call failed */
	ERR_DRBG_UNINSTANTIATED = -401,    /* the DRBG has no state */
	ERR_DRBG_RESEED_REQUIRED = -402,   /* SP 800-90A reseed counter exhausted */
	ERR_DRBG_REQUEST_TOO_LARGE = -403, /* more than 64 KiB in one generate */
	ERR_DRBG_INPUT_TOO_LONG = -404,    /* entropy/nonce/personalization/adin too long */
	ERR_DRBG_ENTROPY_TOO_SHORT = -405, /* entropy input below the security strength */
	ERR_FIPS_UNAVAILABLE = -406,       /* fips = required, but the FIPS provider cannot be loaded */
	ERR_UNWRAP = -407,                 /* key unwrap integrity check failed */
	ERR_KEY_FORMAT = -408,             /* a key file is not a usable key of that kind */
	ERR_KEY_USAGE = -409,              /* the key's usage mask or kind forbids the operation */

	ERR_SELFTEST = -500,               /* a power-on or on-demand self-test failed */
	ERR_NOT_OPERATIONAL = -501,                  /* the module is not OPERATIONAL */
	ERR_INTEGRITY = -502,              /* the software integrity check failed */
	ERR_PCT = -503,                    /* a new key pair failed its pairwise-consistency test */

	ERR_HSM = -600,                    /* a PKCS#11 call failed (see the log) */
	ERR_HSM_MODULE = -601,             /* the PKCS#11 module cannot be loaded */
	ERR_HSM_TOKEN_ABSENT = -602,       /* no such token, or it went away */
	ERR_HSM_PIN_INCORRECT = -603,      /* the token rejected the PIN */
	ERR_HSM_PIN_LOCKED = -604,         /* the PIN is locked or expired */
	ERR_HSM_PIN_MISSING = -605,        /* no PIN configured (pin_file or FOUNT_HSM_PIN) */
	ERR_HSM_MECHANISM = -606,          /* the token does not support the mechanism */
	ERR_HSM_NOT_SUPPORTED = -607,      /* the token does not support the function */
	ERR_HSM_OBJECT_NOT_FOUND = -608,   /* no object with that label */
	ERR_HSM_DUPLICATE = -609,          /* more than one object, or the label is taken */
	ERR_HSM_UNWRAP = -610,             /* the wrapped key is invalid (wrong KEK?) */
	ERR_HSM_KEY_POLICY = -611,         /* the key's attributes forbid the operation */
	ERR_HSM_SESSION = -612,            /* the session or login was lost */
	ERR_HSM_TOKEN_FULL = -613,         /* the token has no room or memory left */
	ERR_HSM_TEMPLATE = -614,           /* the token rejected an attribute template */

	/* store/: the managed-object store */
	ERR_STORE = -700,                  /* the database failed (see the log) */
	ERR_STORE_NOT_FOUND = -701,        /* no such object (or another tenant's) */
	ERR_STORE_DESTROYED = -702,        /* the object is destroyed: no key material */
	ERR_STORE_STATE = -703,            /* the object's state does not allow the change */
	ERR_STORE_ACTIVE = -704,           /* an Active object cannot be destroyed */
	ERR_STORE_MANAGED_ATTR = -705,     /* the attribute is managed by the server */
	ERR_STORE_ATTR_EXISTS = -706,      /* a single-valued attribute is already set */
	ERR_STORE_ATTR_NOT_FOUND = -707,   /* no attribute with that name and index */
	ERR_STORE_FULL = -708,             /* the disk is full: nothing was written */
	ERR_STORE_COMMIT_UNKNOWN = -709,   /* I/O error at commit: the write may or may not be durable */
	ERR_STORE_KEK = -710,              /* the database was sealed under another KEK */
	ERR_STORE_SEAL = -711,             /* a sealed record fails to open (tampered or moved) */
	ERR_STORE_SCHEMA = -712,           /* the database schema is newer than this fount */
	ERR_STORE_CORRUPT = -713,          /* the database file is damaged */
	ERR_STORE_BUSY = -714,             /* the database is locked by another process */
	ERR_STORE_IO = -715,               /* an I/O error: nothing was written */
	ERR_STORE_NAME_TAKEN = -716,       /* the tenant has an object with that Name */
	ERR_STORE_PROTECTED = -719,        /* Sensitive / Extractable forbid it (KMIP 1.4 §3.48, §3.50) */
	ERR_STORE_BACKUP = -720,           /* a backup file is damaged, truncated or not fount's */
	ERR_STORE_NOT_EMPTY = -721,        /* import restores into an empty store only */
	ERR_STORE_UNAVAILABLE = -722,      /* the database cannot be reached: nothing was written */
	ERR_STORE_FOREIGN = -723,          /* another tenant's: only an admin may see it */

	ERR_INTERNAL = -900,
};

/* err_str returns a fixed, human-readable description of |r|. It never
 * returns NULL and never contains secret data. */
const char *err_str(err_t r);

/* err_category returns the category of |r|. */
enum err_category err_category(err_t r);

/* Guard macros for functions returning err_t. Each takes effect through a
 * `goto out` only where the function has an `err_t r` and an `out:` label
 * (ENSURE_GOTO, GUARD_GOTO), or returns directly (ENSURE, GUARD). */
#define ENSURE(cond, err)                                                      \
	do {                                                                   \
		if (!(cond))                                                   \
			return (err);                                          \
	} while (0)
#define ENSURE_REF(p) ENSURE((p) != NULL, ERR_INVALID_ARG)
#define GUARD(call)                                                            \
	do {                                                                   \
		err_t guard_r_ = (call);                                       \
		if (guard_r_ != ERR_OK)                                        \
			return guard_r_;                                       \
	} while (0)
#define GUARD_GOTO(call)                                                       \
	do {                                                                   \
		if ((r = (call)) != ERR_OK)                                    \
			goto out;                                              \
	} while (0)
#define ENSURE_GOTO(cond, err)                                                 \
	do {                                                                   \
		if (!(cond)) {                                                 \
			r = (err);                                             \
			goto out;                                              \
		}                                                              \
	} while (0)

/* ---- a growing text ----------------------------------------------------------------
 * strbuf_printf appends to |b|, growing it; a failed allocation or format
 * sets b->failed and the text stays what it was (later calls do nothing).
 * strbuf_free frees it and empties |b|. */
struct strbuf {
	char *buf;
	size_t len, cap;
	bool failed;
};
void strbuf_printf(struct strbuf *b, const char *fmt, ...) PRINTF_LIKE(2, 3);
void strbuf_free(struct strbuf *b);

/* ---- the CSP table (`fount policy`) --------------------------------------------
 * Every secret fount holds is declared beside its definition with
 * CSP_DEFINE (what it is, where it lives, how it enters, leaves and is
 * zeroized: the security policy's SSP table, FIPS 140-3 / SP 800-140B
 * section 9), and every other file that handles it (a buffer in locked
 * memory, a copy in transit) with CSP_USE, naming it and saying what it
 * does there. The entries land in one linker section (fount_csp), which
 * csp_entries reads, so the table is whatever the linked code declares:
 * a test fails when a file that allocates locked memory declares none. */
struct csp_entry {
	const char *name;        /* "DRBG internal state (V, Key)" */
	const char *type;        /* CSP_DEFINE: "CSP" (secret) or "PSP" (public); CSP_USE: NULL */
	const char *storage;     /* where it lives, or (CSP_USE) what this file does with it */
	const char *entry;       /* how it is generated or enters */
	const char *output;      /* whether and how it leaves */
	const char *zeroization; /* how and when it is wiped */
	const char *file;        /* __FILE__ of the declaration */
};
#define CSP_CAT_(a, b) a##b
#define CSP_CAT(a, b) CSP_CAT_(a, b)
#define CSP_PUT_(...)                                                                                     \
	static const struct csp_entry CSP_CAT(csp_e_, __LINE__) = {__VA_ARGS__};                              \
	static const struct csp_entry *const CSP_CAT(csp_p_, __LINE__)                                     \
		__attribute__((used, section("fount_csp"), aligned(sizeof(void *)))) = &CSP_CAT(csp_e_, __LINE__)
#define CSP_DEFINE(NAME, TYPE, STORAGE, ENTRY, OUTPUT, ZEROIZATION) \
	CSP_PUT_(NAME, TYPE, STORAGE, ENTRY, OUTPUT, ZEROIZATION, __FILE__)
#define CSP_USE(NAME, WHAT) CSP_PUT_(NAME, NULL, WHAT, NULL, NULL, NULL, __FILE__)
/* csp_entries: every entry the linked code declares, in link order */
size_t csp_entries(const struct csp_entry *const **out);

/* ---- secure memory -----------------------------------------------------
 * secmem_alloc returns |len| zeroed bytes excluded from core dumps
 * (MADV_DONTDUMP) and locked in RAM (mlock). Up to 512 bytes, the bytes are
 * a slot of a locked arena (a run of pages with an inaccessible guard page
 * before and after the run); larger requests get pages of their own with a
 * guard page on each side. Locking can be turned off
 * with secmem_set_mlock(false) (config `[security] mlock = off`, or
 * FOUNT_SECURITY_MLOCK=off) where RLIMIT_MEMLOCK is too low, as on some CI
 * hosts. Returns NULL and sets *out_err (if not NULL) on failure. */
void *secmem_alloc(size_t len, err_t *out_err) MUST_CHECK;

/* secmem_alloc_pages is secmem_alloc with pages of the secret's own at any
 * size, for memory that needs page attributes (secmem_wipe_on_fork). */
void *secmem_alloc_pages(size_t len, err_t *out_err) MUST_CHECK;

/* secmem_free wipes |len| bytes at |p| (a slot: the whole slot) and gives
 * them back. |len| must be the length given to secmem_alloc. Does nothing
 * on NULL; a pointer secmem_alloc did not return, or one freed twice,
 * aborts the process with a message. */
void secmem_free(void *p, size_t len);

/* secmem_wipe_on_fork asks the kernel to zero the pages holding |p| in a
 * child process (MADV_WIPEONFORK). Returns ERR_SYSTEM where unsupported,
 * ERR_INVALID_ARG for an arena slot (its pages hold other secrets too):
 * allocate |p| with secmem_alloc_pages. */
err_t secmem_wipe_on_fork(void *p, size_t len) MUST_CHECK;

void secmem_set_mlock(bool on);
bool secmem_mlock_enabled(void);

/* secure_zero wipes memory in a way the compiler may not remove. */
void secure_zero(void *p, size_t len);

/* ct_memeq compares in time independent of the contents; true if equal. */
bool ct_memeq(const void *a, const void *b, size_t len);

/* ---- logging -----------------------------------------------------------
 * Logs go to stderr as `fount[pid]: level: func: message`. Never pass key
 * material, DRBG state or PINs: the logger cannot tell them apart. */
enum log_level { LOG_SILENT = -1, LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
void log_msg(enum log_level level, const char *func, const char *fmt, ...)
	PRINTF_LIKE(3, 4);
#define log_error(...) log_msg(LOG_ERROR, __func__, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __func__, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __func__, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __func__, __VA_ARGS__)

/* ---- hex ----------------------------------------------------------------*/
/* hex_encode writes 2*len lowercase hex digits and a NUL to |out|, which
 * must hold 2*len+1 bytes. */
void hex_encode(char *out, const uint8_t *in, size_t len);

/* hex_decode decodes |hex| (upper or lower case, even length) into |out|
 * of |out_cap| bytes and sets *out_len. ERR_PARSE on a bad digit or odd
 * length, ERR_TOO_LARGE if it does not fit. */
/* hex_digit is the value of one hex digit (either case), or -1. */
int hex_digit(int c);
err_t hex_decode(uint8_t *out, size_t out_cap, size_t *out_len,
		 const char *hex) MUST_CHECK;

/* ---- files --------------------------------------------------------------*/
/* file_read_bounded reads the whole regular file |path| into |out| (|cap|
 * bytes; secure memory when the file holds a secret) and sets *out_len.
 * It never follows a symbolic link and checks the size before reading.
 * ERR_IO if it cannot be opened, ERR_SYSTEM if it cannot be read (errno
 * set for both), ERR_INVALID_ARG if it is not a regular file,
 * ERR_TOO_LARGE if it holds more than |cap| bytes. *out_mode (may be NULL)
 * gets its permission bits. On failure |out| is wiped. */
err_t file_read_bounded(const char *path, uint8_t *out, size_t cap, size_t *out_len,
			unsigned *out_mode) MUST_CHECK NONNULL(1, 2, 4);

/* ---- output files -------------------------------------------------------
 * outfile_open starts writing |path| (mode |mode|, less the umask) so that
 * it appears only complete: under no name (O_TMPFILE) or a temporary
 * ".NAME.XXXXXX" in the same folder until outfile_commit links it into
 * place; outfile_abort, any failure, and SIGINT/SIGTERM/SIGHUP before the
 * commit leave nothing behind. An existing name is never overwritten (not
 * at open, not at commit: EEXIST) unless |flags| has OUTFILE_REPLACE (a
 * regular file or symbolic link is then replaced whole). A character
 * device or a FIFO (also through a link, such as /dev/stdout) is written
 * in place. Returns the descriptor, or -1 with errno set: EEXIST, EISDIR
 * (a folder), ENOTSUP (a socket or block device), or open(2)'s. Files
 * committed while others are still open count as one output: a signal
 * before the last commit removes them all. At most OUTFILE_MAX at once;
 * not thread-safe (the CLI opens and commits from its one thread). */
#define OUTFILE_MAX 8
#define OUTFILE_REPLACE 1u
int outfile_open(const char *path, unsigned mode, unsigned flags) MUST_CHECK;
/* outfile_commit fsyncs, names and closes |fd| and fsyncs the folder.
 * ERR_IO (errno set) if any step fails; nothing is left behind then.
 * ERR_INVALID_ARG if |fd| is not from outfile_open. */
err_t outfile_commit(int fd) MUST_CHECK;
/* outfile_abort closes |fd| and removes what outfile_open made. */
void outfile_abort(int fd);
/* outfile_test_force_named makes outfile_open skip O_TMPFILE, for the
 * tests of the temporary-name path. */
void outfile_test_force_named(bool on);

/* ---- process hardening ----------------------------------------------------
 * memlock_all locks every page the process has and will have in RAM
 * (mlockall(2) MCL_CURRENT | MCL_FUTURE, with MCL_ONFAULT where the kernel
 * has it, Linux 4.4+, so reserved but untouched mappings are not made
 * resident), so that copies of secrets outside secure memory (OpenSSL's
 * own key schedules and buffers) cannot reach swap either. ERR_MLOCK with
 * errno set if the kernel refuses (RLIMIT_MEMLOCK below the process's
 * size without CAP_IPC_LOCK). */
err_t memlock_all(void) MUST_CHECK;

/* memlock_limit_text writes RLIMIT_MEMLOCK in words ("0 bytes",
 * "8192 KiB", "unlimited") to |out| for messages. */
void memlock_limit_text(char *out, size_t len);

/* process_notify sends |state| ("READY=1", "STOPPING=1", "STATUS=...",
 * several joined by newlines) to the service manager, as sd_notify(3)
 * does: a datagram to the AF_UNIX socket $NOTIFY_SOCKET names (a path, or
 * '@' for an abstract name). ERR_OK when $NOTIFY_SOCKET is unset (not run
 * by a manager that listens, or Type= is not notify); ERR_SYSTEM with errno
 * set when the variable is malformed or the datagram cannot be sent. */
err_t process_notify(const char *state) MUST_CHECK;

/* ---- time ---------------------------------------------------------------*/
/* now_ns returns CLOCK_MONOTONIC in nanoseconds. */
uint64_t now_ns(void);

/* ---- configuration -----------------------------------------------------
 * One INI file (libinih); every key can also be set from the environment
 * as FOUNT_<SECTION>_<KEY> (upper case), which wins over the file. The
 * defaults work with no file at all. */
#define CONFIG_DEFAULT_PATH "/etc/fount/fount.conf"
/* Where `make install` puts fount's own files (the FIPS provider in fips/,
 * the integrity file fount.hmac), relative to the folder of the executable:
 * $(PREFIX)/bin/fount finds $(PREFIX)/lib/fount, with any PREFIX or
 * DESTDIR, and no path is compiled in. */
#define FOUNT_LIBDIR_NAME "lib/fount"
#define FOUNT_LIBDIR_REL "../" FOUNT_LIBDIR_NAME
/* The largest configuration file config_load reads, in bytes. */
#define CONFIG_MAX_FILE (1024u * 1024u)
#define CONFIG_MAX_SOURCES 8
/* [hsm] plus up to three [hsm.NAME] sections. */
#define CONFIG_MAX_HSMS 4
#define CONFIG_HSM_NAME_MAX 32

/* One configured PKCS#11 provider. hsm[0] of struct config is the [hsm]
 * section (name ""); [hsm.NAME] sections take the next free entries in the
 * order they first appear. The PIN is never part of the configuration:
 * hsm/ reads it from |pin_file| (or FOUNT_HSM_PIN) into secure memory. */
struct config_hsm {
	bool used;                       /* the section appeared (or is [hsm]) */
	char name[CONFIG_HSM_NAME_MAX];  /* "" for [hsm], NAME for [hsm.NAME] */
	char module[256];                /* provider path; "" = not configured */
	char token[64];                  /* token label, or "serial:SERIAL" */
	char pin_file[256];              /* file holding the user PIN */
	bool rng_input;                  /* register C_GenerateRandom as additional input */
	unsigned pool_size;              /* sessions kept open for concurrent callers */
};

/* One key `fount agent` manages: the [agent.NAME] section. NAME is the
 * local name: the crypttab volume served on the agent's socket and the
 * keyring description fount:NAME. */
#define CONFIG_MAX_AGENT_KEYS 16
#define CONFIG_AGENT_NAME_MAX 64
struct config_agent_key {
	bool used;
	char name[CONFIG_AGENT_NAME_MAX];
	char key[128];  /* the server's key id, or the key's name there */
	char hook[512]; /* command run on revoke, destroy, compromise, rekey, lease end; "" = none */
};

struct config {
	/* [entropy] */
	char entropy_sources[128];   /* credited sources in order, e.g. "rdseed,jitter" */
	double entropy_rdseed_h;     /* claimed min-entropy per 8-bit RDSEED sample */
	double entropy_jitter_h;     /* claimed min-entropy per 8-bit jitter sample */
	unsigned entropy_alpha_log2; /* intermittent alpha = 2^-N (permanent: 2^-2N) */
	unsigned entropy_max_retries; /* intermittent failures before a source is disabled */
	/* [drbg] */
	uint64_t drbg_reseed_interval;    /* worker generates between reseeds */
	unsigned drbg_reseed_seconds;     /* worker reseed age limit */
	uint64_t drbg_primary_reseed_interval;
	unsigned drbg_primary_reseed_seconds;
	/* [selftest] */
	unsigned selftest_period_seconds; /* 0 = no periodic re-run */
	/* [security] */
	bool security_mlock;
	/* [log] */
	enum log_level log_level;
	/* [crypto] */
	bool crypto_fips;               /* true: "required" (the default), false: "off" */
	char crypto_fips_module_dir[256]; /* holds fips.so and fipsmodule.cnf; "" = beside the executable */
	/* [service] */
	char service_state_dir[256];    /* CA, certificates, KEK file and database */
	/* [kmip] */
	char kmip_listen[128];          /* HOST:PORT, or "off" */
	unsigned kmip_max_message;      /* largest request, bytes */
	unsigned kmip_max_connections;
	unsigned kmip_tls_sessions;     /* TLS sessions cached for resumption */
	char kmip_admins[512];          /* tenants with admin rights, ',' separated */
	bool kmip_tls_compat;           /* also the TLS 1.2 AES-CBC-SHA256 suites */
	char kmip_cert[256];            /* server certificate; "" = <state_dir>/pki/server.pem */
	char kmip_key[256];             /* its key; "" = <state_dir>/pki/server.key */
	char kmip_client_ca[256];       /* client CAs; "" = <state_dir>/pki/ca.pem */
	char kmip_pins[1024];           /* SHA-256 fingerprints of trusted self-signed clients */
	char kmip_hostnames[512];       /* more SANs for the server certificate fount makes */
	/* [kmip] keypair_pool: ready key pairs per type, "rsa-3072:4,ec-p256:64"; "" = off */
	char kmip_keypair_pool[256];
	bool kmip_admin_key_access;     /* admins may read other tenants' key material */
	/* [keys]: what the KMS grants the holders of a key */
	unsigned keys_default_lease;    /* seconds a Get's lease lasts (KMIP Lease Time) */
	/* [egd]: the EGD socket for QEMU's rng-egd (api/egd.c) */
	char egd_socket[512];           /* Unix socket; default <state_dir>/egd.sock; "" = none */
	char egd_tcp_listen[128];       /* loopback HOST:PORT; "" = none (the default) */
	unsigned egd_max_connections;
	unsigned egd_rate;              /* bytes/s per connection; 0 = unlimited */
	/* [http] */
	char http_listen[128];          /* HTTPS HOST:PORT; "" or "off" = none */
	char http_plain_listen[256];    /* plain HTTP: loopback HOST:PORT or unix:PATH; "" = none */
	char http_tokens[512];          /* bearer token file; "" = <state_dir>/http-tokens */
	unsigned http_random_max;       /* largest GET /v1/random, bytes */
	uint64_t http_rate_bytes;       /* /v1/random bytes/s per tenant; 0 = no limit */
	bool http_plaintext_material;   /* plaintext key material over mutual TLS */
	unsigned http_max_connections;
	unsigned http_threads;          /* pump threads; 0 = one per CPU */
	/* [hsm], [hsm.NAME] */
	struct config_hsm hsm[CONFIG_MAX_HSMS];
	/* [store] path and kek (store/). The defaults: path
	 * <state_dir>/fount.db; kek file:<state_dir>/store.kek (config_load
	 * derives them from the state_dir in effect when they are not set). */
	char store_path[512];
	char store_kek[512];
	/* [store] url: PostgreSQL (libpq URI or keywords) instead of path */
	char store_url[1024];
	char store_password_file[512];
	unsigned store_timeout_ms; /* per request, PostgreSQL; default 5000 */
	/* [feed]: `fount feed`, a client of another fount server */
	char feed_server[256];          /* https://HOST[:PORT] */
	char feed_ca[256];              /* the CA the server's certificate must chain to */
	char feed_cert[256], feed_key[256]; /* client certificate and key, or "" */
	char feed_token_file[256];      /* bearer token file, or "" */
	unsigned feed_bytes;            /* per feed */
	unsigned feed_interval_seconds; /* --daemon: between feeds */
	unsigned feed_timeout_seconds;  /* one whole exchange */
	bool feed_credit;               /* credit before the CRNG is ready */
	bool feed_reseed;               /* RNDRESEEDCRNG after mixing */
	char feed_device[256];          /* "" = /dev/urandom */
	char feed_metrics_file[256];    /* Prometheus text file, or "" */
	/* [agent]: `fount agent`, a host that keeps keys of a fount server */
	char agent_servers[512];        /* https://HOST[:PORT],... tried in order */
	char agent_ca[256];
	char agent_cert[256], agent_key[256];
	char agent_socket[256];         /* crypttab AF_UNIX key file socket; "" = none */
	bool agent_keyring;             /* logon keys in the user keyring */
	bool agent_keep_after_lease;    /* server unreachable: keep keys past their lease */
	unsigned agent_timeout_seconds; /* one request (connect, TLS, answer) */
	char agent_metrics_file[256];   /* Prometheus text file, or "" */
	struct config_agent_key agent_keys[CONFIG_MAX_AGENT_KEYS];
};

/* config_hsm_find returns the HSM configured under |name| ("" or NULL for
 * [hsm]), or NULL if there is none. */
const struct config_hsm *config_hsm_find(const struct config *cfg,
					 const char *name) NONNULL(1);

/* config_default_state_dir writes the default [service] state_dir:
 * /var/lib/fount for root, else $XDG_STATE_HOME/fount, else
 * ~/.local/state/fount. */
void config_default_state_dir(char *out, size_t len) NONNULL(1);

/* config_defaults fills |cfg| with the built-in defaults. */
void config_defaults(struct config *cfg) NONNULL(1);

/* config_load loads defaults, then |path| (if not NULL), then the
 * environment. A missing file is an error only when |required|; a file
 * that exists but cannot be read, is not a regular file, is larger than
 * CONFIG_MAX_FILE or holds a NUL byte is always one. On error
 * it writes a one-line message naming the file, line and key to |errbuf|
 * and returns ERR_CONFIG. */
err_t config_load(struct config *cfg, const char *path, bool required,
		  char *errbuf, size_t errlen) MUST_CHECK NONNULL(1, 4);

/* config_set_source_names gives config_load the |n| names that [entropy]
 * sources may hold (|names| must outlive every later config_load). util/
 * cannot ask entropy/ itself; cli/main.c passes entropy_credited_names().
 * Without it only the list's syntax and duplicates are checked. */
void config_set_source_names(const char *const *names, size_t n);

/* config_set_pool_check gives config_load the check of [kmip]
 * keypair_pool's value (util/ cannot ask keygen/ for its key types;
 * cli/main.c passes one built on keygen_pool_parse): |check| returns false
 * with the reason, naming the accepted types, in |why|. Without one only
 * the length is checked. */
void config_set_pool_check(bool (*check)(const char *value, char *why, size_t whylen));

/* config_print writes the effective configuration as INI to |fp| (FILE*),
 * with any secret values masked. */
void config_print(const struct config *cfg, void *fp) NONNULL(1, 2);

/* CONFIG_SERVICE_STATE_DIR is the state folder of fount as a system
 * service (root's default state_dir, systemd's StateDirectory=fount); the
 * installed configuration names it, so the service's user and an admin's
 * CLI commands share one state. */
#define CONFIG_SERVICE_STATE_DIR "/var/lib/fount"

/* config_print_template writes the configuration file `make install`
 * installs as CONFIG_DEFAULT_PATH to |fp| (FILE*): a header, then every
 * key of config_keys with its meaning, its FOUNT_<SECTION>_<KEY> name and
 * its built-in default as a commented-out line, except [service]
 * state_dir, set to CONFIG_SERVICE_STATE_DIR. [store] path and kek stay
 * empty (derived from state_dir). Its output parses with config_load. */
void config_print_template(void *fp) NONNULL(1);

#endif /* FOUNT_UTIL_UTIL_H */
