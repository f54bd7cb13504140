/* util/config.c — the INI configuration (libinih) with environment overrides.
 *
 * One table, config_keys[], describes every key: its section, name, type,
 * range and where it lives in struct config. The file parser, the
 * environment overrides and `fount config` all walk that table, so a key
 * added there is everywhere at once. */
#include "util/util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum key_type { KT_STRING, KT_DOUBLE, KT_UINT, KT_U64, KT_BOOL, KT_LOGLEVEL, KT_REQUIRED, KT_SOURCES,
		KT_POOL, KT_DURATION };

struct config_key {
	const char *section;
	const char *name;
	enum key_type type;
	size_t offset;
	size_t size;       /* KT_STRING: buffer size */
	double min, max;   /* numeric range, inclusive */
	bool secret;       /* masked by config_print */
	const char *help;
	enum { PER_MAIN, PER_HSM, PER_AGENT } per; /* offset into struct config, config_hsm ([hsm], [hsm.NAME]) or config_agent_key ([agent.NAME]) */
};

#define K(sec, nm, ty, field, lo, hi, doc)                                     \
	{sec, nm, ty, offsetof(struct config, field),                          \
	 sizeof(((struct config *)0)->field), lo, hi, false, doc, PER_MAIN}
/* H: a key of every HSM section; the field is in struct config_hsm. */
#define H(nm, ty, field, lo, hi, doc)                                          \
	{"hsm", nm, ty, offsetof(struct config_hsm, field),                    \
	 sizeof(((struct config_hsm *)0)->field), lo, hi, false, doc, PER_HSM}
/* A: a key of every [agent.NAME] section; the field is in struct config_agent_key. */
#define A(nm, ty, field, doc)                                                  \
	{"agent.", nm, ty, offsetof(struct config_agent_key, field),           \
	 sizeof(((struct config_agent_key *)0)->field), 0, 0, false, doc, PER_AGENT}

static const struct config_key config_keys[] = {
	K("entropy", "sources", KT_SOURCES, entropy_sources, 0, 0,
	  "credited noise sources, tried in order (rdseed, jitter)"),
	K("entropy", "rdseed_h", KT_DOUBLE, entropy_rdseed_h, 0.01, 8,
	  "claimed min-entropy (bits) per 8-bit RDSEED sample"),
	K("entropy", "jitter_h", KT_DOUBLE, entropy_jitter_h, 0.01, 8,
	  "claimed min-entropy (bits) per 8-bit jitter sample"),
	K("entropy", "alpha_log2", KT_UINT, entropy_alpha_log2, 20, 40,
	  "health-test false-positive rate 2^-N (permanent cutoffs use 2^-2N)"),
	K("entropy", "max_retries", KT_UINT, entropy_max_retries, 1, 1000,
	  "intermittent health failures in a row before a source is disabled"),
	K("drbg", "reseed_interval", KT_U64, drbg_reseed_interval, 1, 281474976710656.0,
	  "per-worker DRBG generates between reseeds (SP 800-90A max 2^48)"),
	K("drbg", "reseed_seconds", KT_UINT, drbg_reseed_seconds, 1, 86400,
	  "per-worker DRBG reseed age limit in seconds"),
	K("drbg", "primary_reseed_interval", KT_U64, drbg_primary_reseed_interval, 1, 281474976710656.0,
	  "primary DRBG generates between reseeds from the entropy sources"),
	K("drbg", "primary_reseed_seconds", KT_UINT, drbg_primary_reseed_seconds, 1, 86400,
	  "primary DRBG reseed age limit in seconds"),
	K("selftest", "period_seconds", KT_UINT, selftest_period_seconds, 0, 604800,
	  "re-run the self-tests this often while serving (0 = never)"),
	K("security", "mlock", KT_BOOL, security_mlock, 0, 1,
	  "lock secret memory in RAM (turn off only where RLIMIT_MEMLOCK is too low)"),
	K("log", "level", KT_LOGLEVEL, log_level, 0, 3,
	  "error, warning, info or debug"),
	K("crypto", "fips", KT_REQUIRED, crypto_fips, 0, 1,
	  "required: run on the OpenSSL FIPS provider (built by 'make fips'), or refuse to start; off: OpenSSL's default provider"),
	K("crypto", "fips_module_dir", KT_STRING, crypto_fips_module_dir, 0, 0,
	  "folder with fips.so and fipsmodule.cnf (empty: <exe dir>/fips, then <exe dir>/../fips, then <exe dir>/../lib/fount/fips)"),
	K("service", "state_dir", KT_STRING, service_state_dir, 0, 0,
	  "fount's state: CA and certificates (pki/), tenant bindings, KEK file, database"),
	K("kmip", "listen", KT_STRING, kmip_listen, 0, 0,
	  "KMIP over mutual TLS: HOST:PORT, [IPV6]:PORT or :PORT; off: no KMIP listener"),
	K("kmip", "max_message", KT_UINT, kmip_max_message, 1024, 67108864,
	  "largest KMIP request accepted, in bytes (checked from its header)"),
	K("kmip", "max_connections", KT_UINT, kmip_max_connections, 1, 65536,
	  "KMIP connections open at once; more are closed at once"),
	K("kmip", "tls_sessions", KT_UINT, kmip_tls_sessions, 1, 1048576,
	  "TLS sessions kept for resumption, about 9 KiB each (the client's certificate); when full the oldest goes"),
	K("kmip", "admins", KT_STRING, kmip_admins, 0, 0,
	  "tenants that manage every object's lifecycle and attributes (',' separated)"),
	K("kmip", "tls_compat", KT_BOOL, kmip_tls_compat, 0, 1,
	  "also offer the TLS 1.2 AES-CBC-SHA256 suites older KMIP clients use"),
	K("kmip", "cert", KT_STRING, kmip_cert, 0, 0,
	  "server certificate chain, PEM (empty: <state_dir>/pki/server.pem, made on first start)"),
	K("kmip", "key", KT_STRING, kmip_key, 0, 0,
	  "server private key, PEM, mode 0600 (empty: <state_dir>/pki/server.key)"),
	K("kmip", "client_ca", KT_STRING, kmip_client_ca, 0, 0,
	  "CA certificates client certificates must chain to (empty: <state_dir>/pki/ca.pem)"),
	K("kmip", "pins", KT_STRING, kmip_pins, 0, 0,
	  "SHA-256 fingerprints of self-signed client certificates trusted as they are"),
	K("kmip", "hostnames", KT_STRING, kmip_hostnames, 0, 0,
	  "more DNS names and IP addresses for the server certificate fount makes (',' separated)"),
	K("kmip", "keypair_pool", KT_POOL, kmip_keypair_pool, 0, 0,
	  "ready key pairs kept per type for Create Key Pair, TYPE:COUNT,... (e.g. rsa-3072:4,ec-p256:64); empty = off"),
	K("kmip", "admin_key_access", KT_BOOL, kmip_admin_key_access, 0, 1,
	  "on: admins may also Get other tenants' key material; off: only their lifecycle and attributes"),
	K("keys", "default_lease", KT_DURATION, keys_default_lease, 1, 31536000,
	  "how long a host may keep a key it got (KMIP Lease Time, Obtain Lease): seconds, or 90s, 30m, 1h, 7d"),
	/* [egd]: the EGD socket (api/egd.c) */
	K("egd", "socket", KT_STRING, egd_socket, 0, 0,
	  "EGD Unix socket for QEMU rng-egd (virtio-rng), mode 0660 (default <state_dir>/egd.sock; empty: none)"),
	K("egd", "tcp_listen", KT_STRING, egd_tcp_listen, 0, 0,
	  "EGD also on TCP: 127.0.0.1:PORT or [::1]:PORT only, EGD has no authentication (empty: none)"),
	K("egd", "max_connections", KT_UINT, egd_max_connections, 1, 65536,
	  "EGD connections open at once; more are closed at once"),
	K("egd", "rate", KT_UINT, egd_rate, 0, 4294967295.0,
	  "bytes per second each EGD connection may read (and write with 03); 0 = unlimited"),
	K("http", "listen", KT_STRING, http_listen, 0, 0,
	  "the HTTP API over HTTPS (fount's TLS, the KMIP certificates): HOST:PORT, [IPV6]:PORT or :PORT; empty or off: none"),
	K("http", "plain_listen", KT_STRING, http_plain_listen, 0, 0,
	  "plain HTTP, loopback or a Unix socket only: 127.0.0.1:PORT, [::1]:PORT or unix:PATH; empty: none"),
	K("http", "tokens", KT_STRING, http_tokens, 0, 0,
	  "bearer token file, SHA-256 of each token (default <state_dir>/http-tokens; 'fount token add' writes it)"),
	K("http", "random_max", KT_UINT, http_random_max, 1, 1073741824,
	  "largest GET /v1/random, in bytes"),
	K("http", "rate_bytes", KT_U64, http_rate_bytes, 0, 1e15,
	  "GET /v1/random bytes per second per tenant (or client address without one); 0: no limit"),
	K("http", "plaintext_material", KT_BOOL, http_plaintext_material, 0, 1,
	  "on: GET /v1/keys/ID/material may answer in plaintext to a client certificate; off: wrapped only"),
	K("http", "max_connections", KT_UINT, http_max_connections, 1, 65536,
	  "HTTP connections open at once (both listeners); more are closed at once"),
	K("http", "threads", KT_UINT, http_threads, 0, 8,
	  "HTTP pump threads (TLS and HTTP of a connection on one); 0: one per CPU"),
	H("module", KT_STRING, module, 0, 0,
	  "PKCS#11 module (e.g. /usr/lib/softhsm/libsofthsm2.so); empty = no HSM"),
	H("token", KT_STRING, token, 0, 0,
	  "token label, or serial:SERIAL"),
	H("pin_file", KT_STRING, pin_file, 0, 0,
	  "file holding the user PIN (mode 0600); FOUNT_HSM_PIN overrides"),
	H("rng_input", KT_BOOL, rng_input, 0, 1,
	  "mix C_GenerateRandom into the DRBGs as additional input (never credited)"),
	H("pool_size", KT_UINT, pool_size, 1, 16,
	  "PKCS#11 sessions kept open for concurrent callers"),
	/* [store]: the key store (store/) */
	K("store", "path", KT_STRING, store_path, 0, 0,
	  "SQLite database of managed objects (default <state_dir>/fount.db)"),
	K("store", "kek", KT_STRING, store_kek, 0, 0,
	  "key-encryption key sealing stored keys: file:PATH (32 bytes, mode 0600, created on first start) or hsm:LABEL"),
	K("store", "url", KT_STRING, store_url, 0, 0,
	  "PostgreSQL instead of SQLite: postgresql://HOST1,HOST2/DB?target_session_attrs=read-write (libpq's form; no password in it)"),
	K("store", "password_file", KT_STRING, store_password_file, 0, 0,
	  "file holding the PostgreSQL password (mode 0600); or libpq's passfile; empty = none"),
	K("store", "timeout_ms", KT_UINT, store_timeout_ms, 100, 600000,
	  "PostgreSQL: longest a request waits for the database before it fails"),
	/* [feed]: `fount feed` (api/feed.c) */
	K("feed", "server", KT_STRING, feed_server, 0, 0,
	  "the fount server to fetch from: https://HOST[:PORT] (port 8443 by default)"),
	K("feed", "ca", KT_STRING, feed_ca, 0, 0,
	  "PEM CA (or certificate) the server's certificate must chain to: its <state_dir>/pki/ca.pem"),
	K("feed", "cert", KT_STRING, feed_cert, 0, 0,
	  "client certificate (PEM) when the server wants one; empty = none"),
	K("feed", "key", KT_STRING, feed_key, 0, 0,
	  "its private key (PEM, mode 0600); empty = in the cert file"),
	K("feed", "token_file", KT_STRING, feed_token_file, 0, 0,
	  "file (mode 0600) with a bearer token from 'fount token add'; empty = none"),
	K("feed", "bytes", KT_UINT, feed_bytes, 1, 4096,
	  "bytes fetched and mixed per feed"),
	K("feed", "interval_seconds", KT_UINT, feed_interval_seconds, 1, 86400,
	  "--daemon: seconds between feeds (60 matches the kernel's reseed interval)"),
	K("feed", "timeout_seconds", KT_UINT, feed_timeout_seconds, 1, 300,
	  "give up on one exchange (connect, TLS, both requests) after this long"),
	K("feed", "credit", KT_BOOL, feed_credit, 0, 1,
	  "credit the bytes (RNDADDENTROPY, needs CAP_SYS_ADMIN) while the kernel's CRNG is not ready: trusts the server"),
	K("feed", "reseed", KT_BOOL, feed_reseed, 0, 1,
	  "reseed the kernel's CRNG right after mixing (RNDRESEEDCRNG; skipped without CAP_SYS_ADMIN)"),
	K("feed", "device", KT_STRING, feed_device, 0, 0,
	  "where the bytes go (empty = /dev/urandom)"),
	K("feed", "metrics_file", KT_STRING, feed_metrics_file, 0, 0,
	  "write fount_feed_* metrics here in Prometheus text format (node_exporter textfile); empty = none"),
	/* [agent]: `fount agent` (api/agent.c) */
	K("agent", "servers", KT_STRING, agent_servers, 0, 0,
	  "the fount servers' HTTPS API, tried in order: https://HOST[:PORT],... (port 8443 by default)"),
	K("agent", "ca", KT_STRING, agent_ca, 0, 0,
	  "PEM CA (or certificate) the servers' certificates must chain to: their <state_dir>/pki/ca.pem"),
	K("agent", "cert", KT_STRING, agent_cert, 0, 0,
	  "this host's client certificate (PEM): its tenant must own or be given the keys"),
	K("agent", "key", KT_STRING, agent_key, 0, 0,
	  "its private key (PEM, mode 0600); empty = in the cert file"),
	K("agent", "socket", KT_STRING, agent_socket, 0, 0,
	  "Unix socket serving the keys to systemd-cryptsetup (crypttab key file; volume = [agent.NAME]); empty = none"),
	K("agent", "keyring", KT_BOOL, agent_keyring, 0, 1,
	  "also keep each key as a logon key fount:NAME in the user keyring, timing out with its lease"),
	K("agent", "keep_after_lease", KT_BOOL, agent_keep_after_lease, 0, 1,
	  "server unreachable: on = keep keys past their lease; off = drop each when its lease ends"),
	K("agent", "timeout_seconds", KT_UINT, agent_timeout_seconds, 1, 300,
	  "give up on one request to a server (connect, TLS, answer) after this long"),
	K("agent", "metrics_file", KT_STRING, agent_metrics_file, 0, 0,
	  "write fount_agent_* metrics here in Prometheus text format (node_exporter textfile); empty = none"),
	A("key", KT_STRING, key,
	  "[agent.NAME]: the key on the server, by id or by name"),
	A("hook", KT_STRING, hook,
	  "[agent.NAME]: command run (by /bin/sh) on revoke, destroy, compromise, rekey and lease end; the event as JSON on stdin"),
};

void config_default_state_dir(char *out, size_t len)
{
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	if (geteuid() == 0)
		snprintf(out, len, "%s", CONFIG_SERVICE_STATE_DIR);
	else if (xdg != NULL && xdg[0] == '/')
		snprintf(out, len, "%s/fount", xdg);
	else if (home != NULL && home[0] == '/')
		snprintf(out, len, "%s/.local/state/fount", home);
	else
		snprintf(out, len, "./fount-state");
}

/* [egd] socket before the file and the environment: set to "" it means
 * none, so "not set" needs a value of its own */
static const char egd_socket_unset[] = "\001";

/* store_keys_derive fills an empty [store] path or kek, and an unset [egd]
 * socket, from state_dir. */
static void store_keys_derive(struct config *cfg)
{
	if (strcmp(cfg->egd_socket, egd_socket_unset) == 0)
		snprintf(cfg->egd_socket, sizeof(cfg->egd_socket), "%s/egd.sock", cfg->service_state_dir);
	if (cfg->store_path[0] == '\0')
		snprintf(cfg->store_path, sizeof(cfg->store_path), "%s/fount.db",
			 cfg->service_state_dir);
	if (cfg->store_kek[0] == '\0')
		snprintf(cfg->store_kek, sizeof(cfg->store_kek), "file:%s/store.kek",
			 cfg->service_state_dir);
	if (cfg->http_tokens[0] == '\0')
		snprintf(cfg->http_tokens, sizeof(cfg->http_tokens), "%s/http-tokens",
			 cfg->service_state_dir);
}

void config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->entropy_sources, sizeof(cfg->entropy_sources), "rdseed,jitter");
	cfg->entropy_rdseed_h = 4.0;  /* half the byte: RDSEED's own claim is not taken on faith */
	cfg->entropy_jitter_h = 0.5;  /* one bit per two timing deltas */
	cfg->entropy_alpha_log2 = 20; /* SP 800-90B recommends 2^-20..2^-40 */
	cfg->entropy_max_retries = 8;
	cfg->drbg_reseed_interval = 4096;
	cfg->drbg_reseed_seconds = 600;
	cfg->drbg_primary_reseed_interval = 1024;
	cfg->drbg_primary_reseed_seconds = 3600;
	cfg->selftest_period_seconds = 86400;
	cfg->security_mlock = true;
	cfg->log_level = LOG_INFO;
	cfg->crypto_fips = true; /* fount is a FIPS appliance */
	cfg->crypto_fips_module_dir[0] = '\0';
	config_default_state_dir(cfg->service_state_dir, sizeof(cfg->service_state_dir));
	snprintf(cfg->kmip_listen, sizeof(cfg->kmip_listen), "0.0.0.0:5696");
	cfg->kmip_max_message = 1u << 20;
	cfg->kmip_max_connections = 256;
	cfg->kmip_tls_sessions = 2048;
	snprintf(cfg->http_listen, sizeof(cfg->http_listen), "0.0.0.0:8443");
	cfg->http_random_max = 1u << 20;
	/* /v1/random needs no identity: one address must not take the DRBG
	 * threads from everyone (64 MiB/s each is still ~1M feeds a second) */
	cfg->http_rate_bytes = 64u << 20;
	cfg->keys_default_lease = 3600;
	cfg->http_max_connections = 1024;
	for (size_t i = 0; i < CONFIG_MAX_HSMS; i++)
		cfg->hsm[i].pool_size = 4;
	cfg->hsm[0].used = true; /* [hsm] always exists; its module may be empty */
	cfg->egd_max_connections = 256;
	cfg->store_timeout_ms = 5000;
	cfg->egd_rate = 1u << 20; /* a guest asks ~64 bytes a minute; 1 MiB/s leaves room for guests reading /dev/hwrng */
	cfg->store_path[0] = cfg->store_kek[0] = cfg->http_tokens[0] = '\0';
	snprintf(cfg->egd_socket, sizeof(cfg->egd_socket), "%s", egd_socket_unset);
	store_keys_derive(cfg);
	cfg->feed_bytes = 64;
	cfg->feed_interval_seconds = 60;
	cfg->feed_timeout_seconds = 10;
	cfg->feed_reseed = true;
	cfg->agent_keyring = true;
	cfg->agent_timeout_seconds = 10;
}

const struct config_hsm *config_hsm_find(const struct config *cfg, const char *name)
{
	if (name == NULL)
		name = "";
	for (size_t i = 0; i < CONFIG_MAX_HSMS; i++) {
		if (cfg->hsm[i].used && strcmp(cfg->hsm[i].name, name) == 0)
			return &cfg->hsm[i];
	}
	return NULL;
}

/* hsm_section returns the struct config_hsm for |section| ("hsm" or
 * "hsm.NAME"), taking a free entry for a new NAME; NULL with a reason in
 * |why| if the name is bad or every entry is taken. */
static struct config_hsm *hsm_section(struct config *cfg, const char *section,
				      char *why, size_t whylen)
{
	if (strcmp(section, "hsm") == 0)
		return &cfg->hsm[0];
	const char *name = section + 4; /* after "hsm." */
	size_t len = strlen(name);
	if (len == 0 || len >= CONFIG_HSM_NAME_MAX) {
		snprintf(why, whylen, "HSM name must be 1 to %d characters", CONFIG_HSM_NAME_MAX - 1);
		return NULL;
	}
	for (const char *p = name; *p; p++) {
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-') {
			snprintf(why, whylen, "HSM name may hold only letters, digits, '-' and '_'");
			return NULL;
		}
	}
	for (size_t i = 1; i < CONFIG_MAX_HSMS; i++) {
		if (cfg->hsm[i].used && strcmp(cfg->hsm[i].name, name) == 0)
			return &cfg->hsm[i];
	}
	for (size_t i = 1; i < CONFIG_MAX_HSMS; i++) {
		if (!cfg->hsm[i].used) {
			cfg->hsm[i].used = true;
			memcpy(cfg->hsm[i].name, name, len + 1);
			return &cfg->hsm[i];
		}
	}
	snprintf(why, whylen, "at most %d [hsm.NAME] sections", CONFIG_MAX_HSMS - 1);
	return NULL;
}

/* agent_section returns the struct config_agent_key for "agent.NAME". */
static struct config_agent_key *agent_section(struct config *cfg, const char *section, char *why, size_t whylen)
{
	const char *name = section + 6; /* after "agent." */
	size_t len = strlen(name);
	if (len == 0 || len >= CONFIG_AGENT_NAME_MAX) {
		snprintf(why, whylen, "the key's name must be 1 to %d characters", CONFIG_AGENT_NAME_MAX - 1);
		return NULL;
	}
	for (const char *p = name; *p; p++) {
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '.') {
			snprintf(why, whylen, "a key's name may hold only letters, digits, '-', '_' and '.'");
			return NULL;
		}
	}
	for (size_t i = 0; i < CONFIG_MAX_AGENT_KEYS; i++)
		if (cfg->agent_keys[i].used && strcmp(cfg->agent_keys[i].name, name) == 0)
			return &cfg->agent_keys[i];
	for (size_t i = 0; i < CONFIG_MAX_AGENT_KEYS; i++) {
		if (!cfg->agent_keys[i].used) {
			cfg->agent_keys[i].used = true;
			memcpy(cfg->agent_keys[i].name, name, len + 1);
			return &cfg->agent_keys[i];
		}
	}
	snprintf(why, whylen, "at most %d [agent.NAME] sections", CONFIG_MAX_AGENT_KEYS);
	return NULL;
}

static bool is_hsm_section(const char *section)
{
	return strcmp(section, "hsm") == 0 || strncmp(section, "hsm.", 4) == 0;
}

static const char *const level_names[] = {"error", "warning", "info", "debug"};

/* The names [entropy] sources may hold. util/ knows nothing of entropy/
 * (dependencies point one way), so the list is the caller's to give
 * (config_set_source_names, from entropy_credited_names). Without one
 * the syntax and duplicates are still checked, the names at entropy_init. */
static const char *const *source_names;
static size_t num_source_names;

void config_set_source_names(const char *const *names, size_t n)
{
	source_names = names;
	num_source_names = names != NULL ? n : 0;
}

/* check_sources validates a comma-separated list of source names: at
 * least one, none empty, none twice, each one of source_names (exactly,
 * case included, as entropy_init matches them). */
static bool check_sources(const char *v, char *why, size_t whylen)
{
	char names[CONFIG_MAX_SOURCES][32];
	size_t count = 0;
	const char *p = v;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		size_t n = strcspn(p, ",");
		size_t len = n;
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == 0) {
			snprintf(why, whylen, "%s", count == 0 && p[n] == '\0' ?
				 "at least one noise source is needed" :
				 "an empty name in the list (two commas, or one at an end)");
			return false;
		}
		if (len >= sizeof(names[0]) || count == CONFIG_MAX_SOURCES) {
			snprintf(why, whylen, "at most %d names of up to %zu characters",
				 CONFIG_MAX_SOURCES, sizeof(names[0]) - 1);
			return false;
		}
		memcpy(names[count], p, len);
		names[count][len] = '\0';
		bool known = num_source_names == 0;
		for (size_t i = 0; i < num_source_names && !known; i++)
			known = strcmp(source_names[i], names[count]) == 0;
		if (!known) {
			char list[128] = "";
			for (size_t i = 0; i < num_source_names; i++) {
				size_t used = strlen(list);
				snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "",
					 source_names[i]);
			}
			snprintf(why, whylen, "unknown source '%s' (known: %s)", names[count], list);
			return false;
		}
		for (size_t i = 0; i < count; i++) {
			if (strcmp(names[i], names[count]) == 0) {
				snprintf(why, whylen, "source '%s' listed twice", names[count]);
				return false;
			}
		}
		count++;
		if (p[n] == '\0')
			return true;
		p += n + 1;
	}
}

/* The check of [kmip] keypair_pool (config_set_pool_check). */
static bool (*pool_check)(const char *value, char *why, size_t whylen);

void config_set_pool_check(bool (*check)(const char *value, char *why, size_t whylen))
{
	pool_check = check;
}

static bool parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = {"1", "on", "yes", "true"};
	static const char *const no[] = {"0", "off", "no", "false"};
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcasecmp(v, yes[i]) == 0) { *out = true; return true; }
		if (strcasecmp(v, no[i]) == 0) { *out = false; return true; }
	}
	return false;
}

/* set_value parses |v| into the field of |k|; on error writes why to |why|. */
static bool set_value(void *base, const struct config_key *k,
		      const char *v, char *why, size_t whylen)
{
	uint8_t *field = (uint8_t *)base + k->offset;
	char *end = NULL;

	switch (k->type) {
	case KT_SOURCES:
		if (!check_sources(v, why, whylen))
			return false;
		/* stored as the string it is */
		__attribute__((fallthrough));
	case KT_POOL:
		if (k->type == KT_POOL && pool_check != NULL && !pool_check(v, why, whylen))
			return false;
		__attribute__((fallthrough));
	case KT_STRING:
		if (strlen(v) >= k->size) {
			snprintf(why, whylen, "value longer than %zu characters", k->size - 1);
			return false;
		}
		memcpy(field, v, strlen(v) + 1);
		return true;
	case KT_DOUBLE: {
		errno = 0;
		double d = strtod(v, &end);
		if (errno || end == v || *end || !isfinite(d) || d < k->min || d > k->max) {
			snprintf(why, whylen, "expected a number from %g to %g", k->min, k->max);
			return false;
		}
		memcpy(field, &d, sizeof(d));
		return true;
	}
	case KT_UINT:
	case KT_U64: {
		errno = 0;
		if (*v == '-' || *v == '\0')
			goto bad_int;
		unsigned long long u = strtoull(v, &end, 10);
		if (errno || *end || (double)u < k->min || (double)u > k->max)
			goto bad_int;
		if (k->type == KT_UINT) {
			unsigned x = (unsigned)u;
			memcpy(field, &x, sizeof(x));
		} else {
			uint64_t x = u;
			memcpy(field, &x, sizeof(x));
		}
		return true;
bad_int:
		snprintf(why, whylen, "expected a whole number from %.0f to %.0f", k->min, k->max);
		return false;
	}
	case KT_DURATION: {
		/* seconds, or a number with one unit: s, m, h, d */
		errno = 0;
		if (*v < '0' || *v > '9')
			goto bad_duration;
		unsigned long long u = strtoull(v, &end, 10);
		static const struct {
			char unit;
			unsigned long long mult;
		} units[] = {{'\0', 1}, {'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}};
		size_t ui = 0;
		while (ui < ARRAY_SIZE(units) && units[ui].unit != *end)
			ui++;
		if (errno || ui == ARRAY_SIZE(units) || (*end != '\0' && end[1] != '\0') ||
		    u > (unsigned long long)k->max || (double)(u * units[ui].mult) < k->min ||
		    (double)(u * units[ui].mult) > k->max)
			goto bad_duration;
		unsigned x = (unsigned)(u * units[ui].mult);
		memcpy(field, &x, sizeof(x));
		return true;
bad_duration:
		snprintf(why, whylen, "expected a duration from %.0f s to %.0f s: seconds, or a number and s, m, h or d",
			 k->min, k->max);
		return false;
	}
	case KT_BOOL: {
		bool b;
		if (!parse_bool(v, &b)) {
			snprintf(why, whylen, "expected on or off");
			return false;
		}
		memcpy(field, &b, sizeof(b));
		return true;
	}
	case KT_LOGLEVEL:
		for (size_t i = 0; i < ARRAY_SIZE(level_names); i++) {
			if (strcasecmp(v, level_names[i]) == 0) {
				enum log_level l = (enum log_level)i;
				memcpy(field, &l, sizeof(l));
				return true;
			}
		}
		snprintf(why, whylen, "expected error, warning, info or debug");
		return false;
	case KT_REQUIRED: {
		bool b;
		if (strcasecmp(v, "required") == 0) {
			b = true;
		} else if (strcasecmp(v, "off") == 0) {
			b = false;
		} else {
			snprintf(why, whylen, "expected required or off");
			return false;
		}
		memcpy(field, &b, sizeof(b));
		return true;
	}
	default:
		snprintf(why, whylen, "internal: unknown key type");
		return false;
	}
}

static const struct config_key *find_key(const char *section, const char *name)
{
	if (is_hsm_section(section))
		section = "hsm"; /* [hsm.NAME] has the keys of [hsm] */
	else if (strncmp(section, "agent.", 6) == 0)
		section = "agent."; /* every [agent.NAME] has the same keys */
	for (size_t i = 0; i < ARRAY_SIZE(config_keys); i++) {
		if (strcmp(config_keys[i].section, section) == 0 &&
		    strcmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
	}
	return NULL;
}

struct parse_ctx {
	struct config *cfg;
	FILE *fp;
	int lineno; /* Debian's libinih passes no line number: count them here */
	const char *path;
	char *errbuf;
	size_t errlen;
	bool failed;
	int failed_line;
};

/* line_reader is libinih's fgets-like reader, counting lines as it goes.
 * Debian's libinih reads at most INI_MAX_LINE - 1 (199) characters a line
 * and would take the rest for a line of its own: a longer line stops the
 * parse with an error that says so. */
static char *line_reader(char *str, int num, void *stream)
{
	struct parse_ctx *pc = stream;
	if (pc->failed)
		return NULL;
	char *line = fgets(str, num, pc->fp);
	if (line == NULL)
		return NULL;
	pc->lineno++;
	size_t len = strlen(line);
	if (len == (size_t)num - 1 && line[len - 1] != '\n' && !feof(pc->fp)) {
		snprintf(pc->errbuf, pc->errlen, "%s:%d: line longer than %d characters",
			 pc->path, pc->lineno, num - 2);
		pc->failed = true;
		pc->failed_line = pc->lineno;
		return NULL;
	}
	return line;
}

static int on_key(void *user, const char *section, const char *name,
		  const char *value)
{
	struct parse_ctx *pc = user;
	int lineno = pc->lineno;
	if (pc->failed)
		return 0;
	const struct config_key *k = find_key(section, name);
	if (k == NULL) {
		snprintf(pc->errbuf, pc->errlen, "%s:%d: unknown key '%s' in section [%s]",
			 pc->path, lineno, name, section);
		pc->failed = true;
		pc->failed_line = lineno;
		return 0;
	}
	char why[128];
	void *base = pc->cfg;
	if ((k->per == PER_HSM && (base = hsm_section(pc->cfg, section, why, sizeof(why))) == NULL) ||
	    (k->per == PER_AGENT && (base = agent_section(pc->cfg, section, why, sizeof(why))) == NULL)) {
		snprintf(pc->errbuf, pc->errlen, "%s:%d: bad section [%s]: %s",
			 pc->path, lineno, section, why);
		pc->failed = true;
		pc->failed_line = lineno;
		return 0;
	}
	if (!set_value(base, k, value, why, sizeof(why))) {
		snprintf(pc->errbuf, pc->errlen, "%s:%d: bad value for [%s] %s: %s",
			 pc->path, lineno, section, name, why);
		pc->failed = true;
		pc->failed_line = lineno;
		return 0;
	}
	return 1;
}

/* read_config_file reads the whole of |path| into a new NUL-terminated
 * heap buffer (*out, *out_len; NULL when an optional file is absent).
 * Only a missing file (ENOENT, and not a dangling symbolic link) counts as
 * absent, and only when not |required|: a file that exists but cannot be
 * read (EACCES, EIO, ...) is an error, as is a directory, a device or a
 * FIFO. The file is opened O_NONBLOCK, so a FIFO is refused without
 * waiting for a writer, and read to at most CONFIG_MAX_FILE bytes, so
 * /proc-style files whose st_size is 0 are bounded too. */
static err_t read_config_file(const char *path, bool required, char **out, size_t *out_len,
			      char *errbuf, size_t errlen)
{
	err_t r = ERR_CONFIG;
	struct stat st;
	char *buf = NULL;
	size_t len = 0;

	*out = NULL;
	*out_len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT && lstat(path, &st) == 0) {
			snprintf(errbuf, errlen, "%s: cannot open: it is a symbolic link to a missing file",
				 path);
			return ERR_CONFIG;
		}
		if (e == ENOENT && !required)
			return ERR_OK;
		snprintf(errbuf, errlen, "%s: cannot open: %s", path, strerror(e));
		return ERR_CONFIG;
	}
	if (fstat(fd, &st) != 0) {
		snprintf(errbuf, errlen, "%s: cannot read: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(errbuf, errlen, "%s: not a regular file (%s); give the path of a file",
			 path, S_ISDIR(st.st_mode) ? "a directory" : S_ISFIFO(st.st_mode) ? "a FIFO" :
			 S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device" : "a special file");
		goto out;
	}
	if ((uint64_t)st.st_size > CONFIG_MAX_FILE)
		goto too_large;
	buf = malloc(CONFIG_MAX_FILE + 2);
	if (buf == NULL) {
		snprintf(errbuf, errlen, "%s: %s", path, err_str(ERR_NOMEM));
		goto out;
	}
	for (;;) {
		/* one byte past the cap is asked for, so a file that grew is seen */
		ssize_t n = read(fd, buf + len, CONFIG_MAX_FILE + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(errbuf, errlen, "%s: cannot read: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > CONFIG_MAX_FILE)
			goto too_large;
	}
	buf[len] = '\0';
	*out = buf;
	*out_len = len;
	buf = NULL;
	r = ERR_OK;
	goto out;
too_large:
	snprintf(errbuf, errlen, "%s: larger than %u KiB; is it the configuration file?", path,
		 CONFIG_MAX_FILE / 1024);
out:
	free(buf);
	close(fd);
	return r;
}

/* parse_config_text parses |len| bytes of |text| (NUL-terminated) read
 * from |path|. A NUL byte inside the text is an error at its line: libinih
 * reads lines as C strings and would silently drop the rest of the line
 * ("sources = jitter\0,rdseed" would mean "jitter"). */
static err_t parse_config_text(struct config *cfg, const char *path, char *text, size_t len,
			       char *errbuf, size_t errlen)
{
	const char *nul = memchr(text, '\0', len);
	if (nul != NULL) {
		int line = 1;
		for (const char *p = text; p < nul; p++)
			line += *p == '\n';
		snprintf(errbuf, errlen, "%s:%d: NUL byte in the file (is it a text file?)", path, line);
		return ERR_CONFIG;
	}
	if (len == 0)
		return ERR_OK;
	FILE *fp = fmemopen(text, len, "r");
	if (fp == NULL) {
		snprintf(errbuf, errlen, "%s: %s", path, err_str(ERR_NOMEM));
		return ERR_CONFIG;
	}
	struct parse_ctx pc = {cfg, fp, 0, path, errbuf, errlen, false, 0};
	int line = ini_parse_stream(line_reader, &pc, on_key, &pc);
	fclose(fp);
	/* report whichever problem comes first in the file */
	if (pc.failed && (line == 0 || pc.failed_line <= line))
		return ERR_CONFIG;
	if (line != 0) {
		snprintf(errbuf, errlen, "%s:%d: syntax error (expected [section] or key = value)",
			 path, line);
		return ERR_CONFIG;
	}
	return ERR_OK;
}

static void env_name(char *out, size_t outlen, const struct config_key *k)
{
	snprintf(out, outlen, "FOUNT_%s_%s", k->section, k->name);
	for (char *p = out; *p; p++)
		*p = (char)toupper((unsigned char)*p);
}

err_t config_load(struct config *cfg, const char *path, bool required,
		  char *errbuf, size_t errlen)
{
	config_defaults(cfg);
	cfg->store_path[0] = cfg->store_kek[0] = cfg->http_tokens[0] = '\0'; /* derived below, after the file and environment */
	snprintf(cfg->egd_socket, sizeof(cfg->egd_socket), "%s", egd_socket_unset);
	if (errlen)
		errbuf[0] = '\0';

	if (path != NULL) {
		char *text = NULL;
		size_t len = 0;
		err_t r = read_config_file(path, required, &text, &len, errbuf, errlen);
		if (r != ERR_OK)
			return r;
		if (text != NULL) {
			r = parse_config_text(cfg, path, text, len, errbuf, errlen);
			free(text);
			if (r != ERR_OK)
				return r;
		}
	}

	for (size_t i = 0; i < ARRAY_SIZE(config_keys); i++) {
		char name[96], why[128];
		env_name(name, sizeof(name), &config_keys[i]);
		const char *v = getenv(name);
		if (v == NULL)
			continue;
		/* FOUNT_HSM_<KEY> sets [hsm]; named sections come from the file only */
		if (config_keys[i].per == PER_AGENT)
			continue;
		void *base = config_keys[i].per == PER_HSM ? (void *)&cfg->hsm[0] : (void *)cfg;
		if (!set_value(base, &config_keys[i], v, why, sizeof(why))) {
			snprintf(errbuf, errlen, "environment %s: %s", name, why);
			return ERR_CONFIG;
		}
	}
	store_keys_derive(cfg);
	return ERR_OK;
}

/* print_key writes |k|'s meaning and value; |template| adds its
 * environment name and comments the key line out. */
static void print_key(FILE *fp, const struct config_key *k, const void *base, bool template)
{
	const uint8_t *field = (const uint8_t *)base + k->offset;
	fprintf(fp, "# %s\n", k->help);
	if (template) {
		char env[96];
		env_name(env, sizeof(env), k);
		fprintf(fp, "# (environment: %s)\n#", env);
	}
	fprintf(fp, "%s = ", k->name);
	if (k->secret) {
		fputs("********\n", fp);
		return;
	}
	switch (k->type) {
	case KT_SOURCES:
	case KT_POOL:
	case KT_STRING: fprintf(fp, "%s\n", (const char *)field); break;
	case KT_DOUBLE: { double d; memcpy(&d, field, sizeof(d)); fprintf(fp, "%g\n", d); break; }
	case KT_UINT: { unsigned u; memcpy(&u, field, sizeof(u)); fprintf(fp, "%u\n", u); break; }
	case KT_DURATION: {
		/* in the largest unit it is a whole number of */
		unsigned u;
		memcpy(&u, field, sizeof(u));
		if (u % 86400 == 0) fprintf(fp, "%ud\n", u / 86400);
		else if (u % 3600 == 0) fprintf(fp, "%uh\n", u / 3600);
		else if (u % 60 == 0) fprintf(fp, "%um\n", u / 60);
		else fprintf(fp, "%us\n", u);
		break;
	}
	case KT_U64: { uint64_t u; memcpy(&u, field, sizeof(u)); fprintf(fp, "%llu\n", (unsigned long long)u); break; }
	case KT_BOOL: { bool b; memcpy(&b, field, sizeof(b)); fprintf(fp, "%s\n", b ? "on" : "off"); break; }
	case KT_LOGLEVEL: { enum log_level l; memcpy(&l, field, sizeof(l)); fprintf(fp, "%s\n", level_names[l]); break; }
	case KT_REQUIRED: { bool b; memcpy(&b, field, sizeof(b)); fprintf(fp, "%s\n", b ? "required" : "off"); break; }
	default: fputs("?\n", fp); break;
	}
}

static void print_all(const struct config *cfg, FILE *fp, bool template)
{
	const char *section = "";
	for (size_t i = 0; i < ARRAY_SIZE(config_keys); i++) {
		const struct config_key *k = &config_keys[i];
		if (k->per != PER_MAIN)
			continue;
		if (strcmp(section, k->section) != 0) {
			fprintf(fp, "%s[%s]\n", i ? "\n" : "", k->section);
			section = k->section;
		}
		if (template && k->offset == offsetof(struct config, service_state_dir)) {
			/* the one key set: the service's user and root share it */
			fprintf(fp, "# %s\n# (environment: FOUNT_SERVICE_STATE_DIR; built-in default: %s as\n"
				"# root, else $XDG_STATE_HOME/fount or ~/.local/state/fount)\n"
				"state_dir = %s\n", k->help, CONFIG_SERVICE_STATE_DIR, CONFIG_SERVICE_STATE_DIR);
			continue;
		}
		if (template && k->offset == offsetof(struct config, egd_socket)) {
			/* the service's runtime folder (RuntimeDirectory=fount, 0750):
			 * QEMU, in group fount, reaches it; the state folder is 0700 */
			fprintf(fp, "# %s\n# (environment: FOUNT_EGD_SOCKET; for QEMU as another user, add that user to\n"
				"# group fount: the socket is 0660 in /run/fount, 0750)\nsocket = /run/fount/egd.sock\n",
				k->help);
			continue;
		}
		print_key(fp, k, cfg, template);
	}
	for (size_t h = 0; h < CONFIG_MAX_HSMS; h++) {
		const struct config_hsm *hc = &cfg->hsm[h];
		if (!hc->used)
			continue;
		fprintf(fp, "\n[hsm%s%s]\n", hc->name[0] ? "." : "", hc->name);
		for (size_t i = 0; i < ARRAY_SIZE(config_keys); i++)
			if (config_keys[i].per == PER_HSM)
				print_key(fp, &config_keys[i], hc, template);
		/* the PIN itself is never part of the configuration: only say
		 * where it comes from */
		if (h == 0 && !template && getenv("FOUNT_HSM_PIN") != NULL)
			fputs("# user PIN: from FOUNT_HSM_PIN (overrides pin_file)\n# pin = ********\n", fp);
	}
	bool any = false;
	for (size_t a = 0; a < CONFIG_MAX_AGENT_KEYS; a++) {
		const struct config_agent_key *ak = &cfg->agent_keys[a];
		if (!ak->used)
			continue;
		any = true;
		fprintf(fp, "\n[agent.%s]\n", ak->name);
		for (size_t i = 0; i < ARRAY_SIZE(config_keys); i++)
			if (config_keys[i].per == PER_AGENT)
				print_key(fp, &config_keys[i], ak, false);
	}
	if (template && !any)
		fputs("\n# [agent.NAME]: one section per key fount agent keeps (NAME: the crypttab volume)\n"
		      "#[agent.data]\n#key = 7f3a...\n#hook = /usr/local/sbin/fount-hook-data\n",
		      fp);
}

void config_print(const struct config *cfg, void *fp)
{
	print_all(cfg, fp, false);
}

void config_print_template(void *vfp)
{
	FILE *fp = vfp;
	struct config cfg;
	config_defaults(&cfg);
	cfg.store_path[0] = cfg.store_kek[0] = '\0'; /* derived from state_dir */
	fprintf(fp,
		"# %s: the configuration of fount %s as a system service.\n"
		"#\n"
		"# Every key fount knows is below with its meaning and its built-in\n"
		"# default, commented out: remove the '#' before a key to change it. Each\n"
		"# can also be set from the environment as FOUNT_<SECTION>_<KEY>, which wins\n"
		"# over this file. `fount config` prints the effective values.\n"
		"# Written by `make install` (or the package) only when absent: a\n"
		"# re-install keeps your edits. Mode 0640, group fount.\n"
		"# [hsm.NAME] sections (more HSMs) take the keys of [hsm].\n\n",
		CONFIG_DEFAULT_PATH, FOUNT_VERSION);
	print_all(&cfg, fp, true);
}
