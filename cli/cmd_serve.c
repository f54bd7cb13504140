/* cli/cmd_serve.c — `fount serve`: the EGD socket (listening first, so
 * that QEMU can connect while the rest starts), the power-on self-tests,
 * the KMIP and HTTP listeners (api/), then keep the DRBG tree and the noise
 * sources exercised and report status. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "cli/cli.h"
#include "entropy/entropy.h"
#include "hsm/hsm.h"
#include "keygen/keygen.h"
#include "selftest/selftest.h"
#include "store/store.h"

static const char usage[] =
	"usage: fount [-c FILE] serve [--status-seconds N]\n"
	"\n"
	"Listens on the EGD socket ([egd] socket, for QEMU virtio-rng; reads wait\n"
	"until fount is OPERATIONAL), runs the power-on self-tests, starts KMIP\n"
	"([kmip] listen) and the HTTP API ([http] listen, HTTPS; [http] plain_listen,\n"
	"loopback or unix: only) and prints the status page's URL, then stays up:\n"
	"reseeds on schedule, re-runs the self-tests every [selftest]\n"
	"period_seconds, and logs a status line.\n"
	"Signals: SIGTERM/SIGINT stop (wiping all DRBG state), SIGHUP reseeds every\n"
	"DRBG from the noise sources, SIGUSR1 runs the self-tests now.\n"
	"It keeps [service] state_dir/status.json (for `fount status`) up to date\n"
	"with every status line and module state change, and removes it at exit.\n"
	"Under systemd (Type=notify) it sends READY=1 once the self-tests passed\n"
	"and the listeners are open.\n"
	"\n"
	"      --status-seconds N   log a status line every N seconds (default 60)\n"
	"  -h, --help               this text\n";

static void log_status(void)
{
	struct drbg_stats ds;
	struct entropy_status es[ENTROPY_MAX_SOURCES];
	size_t n = entropy_status(es, ARRAY_SIZE(es));
	char sources[256] = "";
	size_t used = 0;
	drbg_stats(&ds);
	for (size_t i = 0; i < n && i < ARRAY_SIZE(es) && used < sizeof(sources); i++) {
		int k = snprintf(sources + used, sizeof(sources) - used, "%s%s=%s", i ? " " : "",
				 es[i].name, es[i].enabled ? "ok" : "disabled");
		if (k < 0)
			break;
		used += (size_t)k;
	}
	log_info("state=%s primary_reseeds=%llu worker_reseeds=%llu workers=%llu sources: %s",
		 selftest_state_name(selftest_state()),
		 (unsigned long long)ds.primary_reseeds, (unsigned long long)ds.worker_reseeds,
		 (unsigned long long)ds.workers, sources);
}

/* notify tells the service manager (systemd, Type=notify) about a state
 * change; without $NOTIFY_SOCKET it does nothing. */
static void notify(const char *state)
{
	if (process_notify(state) != ERR_OK)
		log_warn("cannot notify the service manager ($NOTIFY_SOCKET): %s", strerror(errno));
}

/* the last self-test run, for /v1/health and the status page */
static struct {
	pthread_mutex_t lock;
	struct selftest_result res[SELFTEST_MAX_RESULTS];
	size_t n;
	err_t verdict;
	int64_t at;
} last = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void last_keep(const struct selftest_result *res, size_t n, err_t verdict)
{
	pthread_mutex_lock(&last.lock);
	last.n = n < ARRAY_SIZE(last.res) ? n : ARRAY_SIZE(last.res);
	memcpy(last.res, res, last.n * sizeof res[0]);
	last.verdict = verdict;
	last.at = (int64_t)time(NULL);
	pthread_mutex_unlock(&last.lock);
}

static size_t hook_last_selftest(struct api_selftest_row *rows, size_t cap, err_t *verdict, int64_t *at)
{
	pthread_mutex_lock(&last.lock);
	size_t n = last.n < cap ? last.n : cap;
	for (size_t i = 0; i < n; i++) {
		rows[i] = (struct api_selftest_row){.name = last.res[i].name, .r = last.res[i].r,
						    .ns = last.res[i].ns, .skipped = last.res[i].skipped};
		snprintf(rows[i].detail, sizeof rows[i].detail, "%s", last.res[i].detail);
	}
	*verdict = last.verdict;
	*at = last.at;
	pthread_mutex_unlock(&last.lock);
	return n;
}

static void run_selftests(void)
{
	struct selftest_result res[SELFTEST_MAX_RESULTS];
	size_t n = 0;
	err_t r = selftest_run(res, ARRAY_SIZE(res), &n);
	last_keep(res, n, r);
	if (r == ERR_OK)
		log_info("on-demand self-tests passed (%zu tests)", n);
	else
		log_error("on-demand self-tests failed: %s", err_str(r));
}

/* write_pykmip_conf writes a PyKMIP client configuration for the first
 * client certificate beside it, once. */
static void write_pykmip_conf(const struct api_pki *pki, const char *cert, const char *key, unsigned port)
{
	char path[API_PKI_PATH + 16], text[4 * API_PKI_PATH + 256];
	snprintf(path, sizeof path, "%s/pykmip.conf", pki->clients);
	int n = snprintf(text, sizeof text,
			 "[client]\nhost=127.0.0.1\nport=%u\ncertfile=%s\nkeyfile=%s\nca_certs=%s\n"
			 "cert_reqs=CERT_REQUIRED\nssl_version=PROTOCOL_SSLv23\n"
			 "do_handshake_on_connect=True\nsuppress_ragged_eofs=True\n",
			 port, cert, key, pki->ca_cert);
	int fd = outfile_open(path, 0644, 0);
	if (fd < 0 || n <= 0 || (size_t)n >= sizeof text || !cli_write_all(fd, text, (size_t)n) ||
	    outfile_commit(fd) != ERR_OK) {
		if (fd >= 0 && errno != EEXIST)
			log_warn("cannot write %s: %s", path, strerror(errno));
		return;
	}
	log_info("PyKMIP client configuration: %s (copy it to ~/.pykmip/pykmip.conf)", path);
}

/* The TLS identity the KMIP and HTTPS listeners share: the configured
 * certificate, key and client CAs, or fount's own PKI in the state folder
 * (made on first start), and the tenant bindings file. */
struct serve_tls {
	struct api_pki pki;
	bool own, created;
	const char *cert, *key, *ca;
	char bindings[sizeof(((struct config *)0)->service_state_dir) + 16];
};

static err_t serve_tls_load(const struct config *cfg, struct serve_tls *t, char *why, size_t why_len)
{
	memset(t, 0, sizeof *t);
	t->own = cfg->kmip_cert[0] == '\0' || cfg->kmip_key[0] == '\0' || cfg->kmip_client_ca[0] == '\0';
	if (t->own) {
		char buf[sizeof cfg->kmip_hostnames + 512];
		const char *names[API_PKI_MAX_NAMES];
		size_t n = api_pki_names(cfg->kmip_hostnames, buf, sizeof buf, names, API_PKI_MAX_NAMES);
		err_t r = api_pki_init(cfg->service_state_dir, names, n, &t->pki, &t->created, why, why_len);
		if (r != ERR_OK)
			return r;
	}
	t->cert = cfg->kmip_cert[0] ? cfg->kmip_cert : t->pki.server_cert;
	t->key = cfg->kmip_key[0] ? cfg->kmip_key : t->pki.server_key;
	t->ca = cfg->kmip_client_ca[0] ? cfg->kmip_client_ca : t->pki.ca_cert;
	snprintf(t->bindings, sizeof t->bindings, "%s/tenants", cfg->service_state_dir);
	return ERR_OK;
}

/* start_kmip starts the KMIP listener unless [kmip] listen = off. With no
 * certificates configured it uses fount's own PKI in the state directory,
 * made on first start, with a first client certificate "default". */
static err_t start_kmip(const struct config *cfg, struct api_kmip **out)
{
	*out = NULL;
	if (cfg->kmip_listen[0] == '\0' || strcmp(cfg->kmip_listen, "off") == 0) {
		log_info("KMIP: off ([kmip] listen = off)");
		return ERR_OK;
	}
	char why[512] = "";
	struct serve_tls t;
	err_t r = serve_tls_load(cfg, &t, why, sizeof why);
	if (r != ERR_OK) {
		fprintf(stderr, "fount serve: %s\n", why);
		return r;
	}
	if (t.own) {
		const struct api_pki *pki = &t.pki;
		if (t.created) {
			log_info("made fount's CA: %s (key %s)", pki->ca_cert, pki->ca_key);
			log_info("made the KMIP server certificate: %s (key %s)", pki->server_cert, pki->server_key);
		}
		char cert[API_PKI_PATH + 128], key[API_PKI_PATH + 128];
		r = api_pki_issue(pki, "default", pki->clients, cert, key, sizeof cert, why, sizeof why);
		if (r == ERR_OK)
			log_info("made a client certificate for tenant \"default\": %s (key %s)", cert, key);
		else if (r != ERR_IO) /* ERR_IO: it exists already */
			log_warn("no first client certificate: %s", why);
		if (r == ERR_OK) {
			const char *colon = strrchr(cfg->kmip_listen, ':');
			write_pykmip_conf(pki, cert, key, colon != NULL ? (unsigned)atoi(colon + 1) : 5696);
		}
	}
	struct api_kmip_options o = {
		.listen = cfg->kmip_listen,
		.cert_file = t.cert,
		.key_file = t.key,
		.client_ca = t.ca,
		.pins = cfg->kmip_pins,
		.bindings = t.bindings,
		.admins = cfg->kmip_admins,
		.tls_compat = cfg->kmip_tls_compat,
		.max_message = cfg->kmip_max_message,
		.max_connections = cfg->kmip_max_connections,
		.tls_sessions = cfg->kmip_tls_sessions,
	};
	r = api_kmip_start(&o, out, why, sizeof why);
	if (r != ERR_OK) {
		fprintf(stderr, "fount serve: %s\n", why);
		return r;
	}
	log_info("KMIP listening on %s (port %u): certificate %s, client CAs %s, tenant bindings %s",
		 cfg->kmip_listen, api_kmip_port(*out), o.cert_file, o.client_ca, t.bindings);
	return ERR_OK;
}

/* start_egd starts the EGD socket unless [egd] socket and tcp_listen are
 * both empty. It runs before the power-on self-tests: the socket is there
 * at once (a QEMU started with fount connects instead of failing), and
 * reads wait until the module is OPERATIONAL. */
static err_t start_egd(const struct config *cfg, struct api_egd **out)
{
	*out = NULL;
	if (cfg->egd_socket[0] == '\0' && cfg->egd_tcp_listen[0] == '\0') {
		log_info("EGD: off ([egd] socket and tcp_listen are empty)");
		return ERR_OK;
	}
	/* the default socket lives in the state folder, which the first start
	 * has not made yet */
	char def[sizeof cfg->service_state_dir + 16];
	snprintf(def, sizeof def, "%s/egd.sock", cfg->service_state_dir);
	if (strcmp(cfg->egd_socket, def) == 0 && mkdir(cfg->service_state_dir, 0700) != 0 && errno != EEXIST)
		log_warn("cannot make %s: %s", cfg->service_state_dir, strerror(errno));
	struct api_egd_options o = {
		.socket = cfg->egd_socket,
		.tcp_listen = cfg->egd_tcp_listen,
		.max_connections = cfg->egd_max_connections,
		.rate = cfg->egd_rate,
	};
	char why[512] = "";
	err_t r = api_egd_start(&o, out, why, sizeof why);
	if (r != ERR_OK) {
		fprintf(stderr, "fount serve: %s\n", why);
		return r;
	}
	char rate[32] = "unlimited";
	if (cfg->egd_rate != 0)
		snprintf(rate, sizeof rate, "%u bytes/s", cfg->egd_rate);
	if (o.socket[0] != '\0')
		log_info("EGD listening on %s (QEMU: -chardev socket,id=egd0,path=%s,reconnect=1 "
			 "-object rng-egd,id=rng0,chardev=egd0 -device virtio-rng-pci,rng=rng0)",
			 api_egd_socket_path(*out), api_egd_socket_path(*out));
	if (o.tcp_listen[0] != '\0')
		log_info("EGD listening on %s (port %u)", o.tcp_listen, api_egd_tcp_port(*out));
	log_info("EGD: at most %u connections, %s each", o.max_connections, rate);
	return ERR_OK;
}

/* the module state and the self-tests, for the HTTP API (api/ sits below
 * selftest/ and cannot ask it) */
static const char *hook_state(void)
{
	return selftest_state_name(selftest_state());
}

static err_t hook_selftest(struct api_selftest_row *rows, size_t cap, size_t *n)
{
	*n = 0;
	struct selftest_result res[SELFTEST_MAX_RESULTS];
	size_t got = 0;
	err_t r = selftest_run(res, ARRAY_SIZE(res), &got);
	last_keep(res, got, r);
	for (size_t i = 0; i < got && i < ARRAY_SIZE(res) && i < cap; i++) {
		rows[i] = (struct api_selftest_row){.name = res[i].name, .r = res[i].r, .ns = res[i].ns,
						    .skipped = res[i].skipped};
		snprintf(rows[i].detail, sizeof rows[i].detail, "%s", res[i].detail);
		(*n)++;
	}
	if (r == ERR_OK)
		log_info("on-demand self-tests passed (%zu tests, POST /v1/selftest)", got);
	else
		log_error("on-demand self-tests failed: %s (POST /v1/selftest)", err_str(r));
	return r;
}

static const struct api_http_hooks http_hooks = {
	.state_name = hook_state,
	.operational = selftest_operational,
	.error_cause = selftest_error_cause,
	.selftest = hook_selftest,
	.last_selftest = hook_last_selftest,
};

/* start_http starts the HTTP API unless both [http] listen and
 * plain_listen are empty or off: HTTPS with the KMIP server's certificate,
 * client CAs and tenant bindings (fount's own PKI when none is set). */
static err_t start_http(const struct config *cfg, struct api_http **out)
{
	*out = NULL;
	bool tls = cfg->http_listen[0] != '\0' && strcmp(cfg->http_listen, "off") != 0;
	bool plain = cfg->http_plain_listen[0] != '\0' && strcmp(cfg->http_plain_listen, "off") != 0;
	if (!tls && !plain) {
		log_info("HTTP: off ([http] listen and plain_listen are empty)");
		return ERR_OK;
	}
	char why[512] = "";
	struct serve_tls t;
	memset(&t, 0, sizeof t);
	if (tls && serve_tls_load(cfg, &t, why, sizeof why) != ERR_OK) {
		fprintf(stderr, "fount serve: %s\n", why);
		return ERR_CONFIG;
	}
	struct api_http_options o = {
		.listen = tls ? cfg->http_listen : NULL,
		.plain_listen = plain ? cfg->http_plain_listen : NULL,
		.cert_file = t.cert,
		.key_file = t.key,
		.client_ca = t.ca,
		.pins = cfg->kmip_pins,
		.bindings = t.bindings,
		.admins = cfg->kmip_admins,
		.tls_compat = cfg->kmip_tls_compat,
		.tokens = cfg->http_tokens,
		.random_max = cfg->http_random_max,
		.rate_bytes = cfg->http_rate_bytes,
		.plaintext_material = cfg->http_plaintext_material,
		.max_connections = cfg->http_max_connections,
		.threads = cfg->http_threads,
		.hooks = &http_hooks,
	};
	err_t r = api_http_start(&o, out, why, sizeof why);
	if (r != ERR_OK) {
		fprintf(stderr, "fount serve: %s\n", why);
		return r;
	}
	if (tls) {
		/* the status page's URL: the host as configured, or this host's
		 * loopback name for a wildcard address */
		char host[160];
		const char *l = cfg->http_listen;
		const char *colon = strrchr(l, ':');
		size_t hl = colon != NULL ? (size_t)(colon - l) : 0;
		if (hl == 0 || (hl == 7 && strncmp(l, "0.0.0.0", 7) == 0) || (hl == 4 && strncmp(l, "[::]", 4) == 0))
			snprintf(host, sizeof host, "localhost");
		else
			snprintf(host, sizeof host, "%.*s", (int)hl, l);
		log_info("HTTP API listening on %s (HTTPS): status page https://%s:%u/ ; CA %s, tokens %s", l, host,
			 api_http_port(*out), o.client_ca, cfg->http_tokens);
	}
	if (plain)
		log_info("HTTP API listening on %s (plain HTTP, port %u)", cfg->http_plain_listen, api_http_plain_port(*out));
	return ERR_OK;
}

/* start_pool starts the key-pair pool [kmip] keypair_pool asks for and
 * says what it started. */
static err_t start_pool(const struct config *cfg)
{
	struct keygen_pool_spec specs[KEYGEN_POOL_MAX_TYPES];
	size_t n = 0;
	char why[256];
	if (keygen_pool_parse(cfg->kmip_keypair_pool, specs, &n, why, sizeof why) != ERR_OK) {
		fprintf(stderr, "fount serve: [kmip] keypair_pool: %s\n", why);
		return ERR_CONFIG;
	}
	if (n == 0) {
		log_info("key-pair pool: off ([kmip] keypair_pool is empty)");
		return ERR_OK;
	}
	err_t r = keygen_pool_start(specs, n);
	if (r != ERR_OK) {
		fprintf(stderr, "fount serve: cannot start the key-pair pool: %s\n", err_str(r));
		return r;
	}
	char text[256] = "";
	size_t used = 0;
	for (size_t i = 0; i < n && used < sizeof text; i++) {
		int k = snprintf(text + used, sizeof text - used, "%s%s x%u", i ? ", " : "", specs[i].type->name,
				 specs[i].target);
		if (k < 0)
			break;
		used += (size_t)k;
	}
	log_info("key-pair pool: %s (filled in the background at idle priority)", text);
	return ERR_OK;
}

int cmd_serve(int argc, char **argv, const struct config *cfg)
{
	unsigned status_seconds = 60;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(usage, stdout);
			return EXIT_OK;
		}
		if (strcmp(argv[i], "--status-seconds") == 0 && i + 1 < argc) {
			uint64_t v = 0;
			if (cli_parse_size(argv[++i], &v) != ERR_OK || v == 0 || v > 86400)
				return cli_usage_error("serve", "--status-seconds wants 1 to 86400");
			status_seconds = (unsigned)v;
			continue;
		}
		if (strcmp(argv[i], "--status-seconds") == 0)
			return cli_usage_error("serve", "option '--status-seconds' requires an argument");
		if (argv[i][0] == '-')
			return cli_usage_error("serve", "unknown option '%s'", argv[i]);
		return cli_usage_error("serve", "unexpected argument '%s'", argv[i]);
	}

	time_t started = time(NULL);
	/* signals are taken synchronously in the loop below */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	struct api_egd *egd = NULL;
	if (start_egd(cfg, &egd) != ERR_OK)
		return EXIT_FAIL;
	struct selftest_result pres[SELFTEST_MAX_RESULTS];
	size_t pn = 0;
	err_t pr = cli_power_on_results(cfg, pres, ARRAY_SIZE(pres), &pn);
	last_keep(pres, pn, pr);
	if (pr != ERR_OK) {
		api_egd_stop(egd);
		return EXIT_FAIL;
	}
	/* [hsm] rng_input = on: the HSM's C_GenerateRandom joins the DRBGs'
	 * additional input (never credited); a missing HSM is logged, not fatal */
	struct hsm *hsms[CONFIG_MAX_HSMS] = {NULL};
	for (size_t i = 0; i < CONFIG_MAX_HSMS; i++) {
		const struct config_hsm *hc = &cfg->hsm[i];
		if (!hc->used || !hc->rng_input || hc->module[0] == '\0')
			continue;
		err_t hr = hsm_open(hc, &hsms[i]);
		if (hr == ERR_OK)
			hr = hsm_register_rng(hsms[i]);
		if (hr != ERR_OK)
			log_warn("hsm%s%s: RNG not used as additional input: %s", hc->name[0] ? "." : "",
				 hc->name, err_str(hr));
	}
	log_info("fount %s operational; provider %s", FOUNT_VERSION, keygen_provider_name());
	/* the store: durable, sealed; the KMIP object operations use it */
	struct store *st = NULL;
	char why[512] = "";
	/* kek = hsm:LABEL: the [hsm] section's HSM, the one already open for
	 * its RNG if it is (one pkcs11-helper provider per module) */
	if (hsms[0] == NULL && cli_store_hsm(cfg, "fount serve", &hsms[0]) != EXIT_OK) {
		api_egd_stop(egd);
		drbg_tree_shutdown();
		entropy_shutdown();
		return EXIT_FAIL;
	}
	struct store_options so = cli_store_options(cfg, strncmp(cfg->store_kek, "hsm:", 4) == 0 ? hsms[0] : NULL);
	/* a damaged database is refused here, with the remedy, rather than
	 * found by the first request that reads the damaged page (its cost:
	 * store/object.c) */
	so.check = true;
	if (store_open(&so, &st, why, sizeof why) != ERR_OK) {
		fprintf(stderr, "fount serve: %s\n", why);
		api_egd_stop(egd);
		drbg_tree_shutdown();
		entropy_shutdown();
		for (size_t i = 0; i < CONFIG_MAX_HSMS; i++)
			hsm_close(hsms[i]);
		return EXIT_FAIL;
	}
	log_info("key store %s (KEK %s)", store_location(st), cfg->store_kek);
	api_set_store(st, cfg->kmip_admin_key_access);
	api_set_lease(cfg->keys_default_lease);
	struct api_kmip *kmip = NULL;
	struct api_http *http = NULL;
	if (start_pool(cfg) != ERR_OK || start_kmip(cfg, &kmip) != ERR_OK || start_http(cfg, &http) != ERR_OK) {
		api_kmip_stop(kmip);
		keygen_pool_stop();
		api_egd_stop(egd);
		api_set_store(NULL, false);
		store_close(st);
		drbg_tree_shutdown();
		entropy_shutdown();
		for (size_t i = 0; i < CONFIG_MAX_HSMS; i++)
			hsm_close(hsms[i]);
		return EXIT_FAIL;
	}
	log_status();
	struct cli_status_serve status = {
		.started = started,
		.status_seconds = status_seconds,
		.kmip_listen = cfg->kmip_listen,
		.kmip_port = kmip != NULL ? api_kmip_port(kmip) : 0,
		.http_listen = cfg->http_listen,
		.http_port = http != NULL ? api_http_port(http) : 0,
		.http_plain_listen = cfg->http_plain_listen,
		.http_plain_port = http != NULL ? api_http_plain_port(http) : 0,
		.egd_socket = egd != NULL ? api_egd_socket_path(egd) : NULL,
		.egd_tcp_listen = cfg->egd_tcp_listen,
		.egd_tcp_port = egd != NULL ? api_egd_tcp_port(egd) : 0,
		.store_path = cfg->store_path,
		.store = st,
	};
	(void)cli_status_write(cfg, &status);
	/* Type=notify: the self-tests passed and every listener is open */
	notify("READY=1\nSTATUS=OPERATIONAL");

	uint64_t next_status = now_ns() + (uint64_t)status_seconds * 1000000000u;
	uint64_t period = (uint64_t)cfg->selftest_period_seconds * 1000000000u;
	uint64_t next_selftest = period ? now_ns() + period : UINT64_MAX;
	bool reported_error = false, sweep_failed = false;
	for (;;) {
		struct timespec tick = {1, 0};
		int sig = sigtimedwait(&set, NULL, &tick);
		if (sig == SIGTERM || sig == SIGINT) {
			log_info("stopping on signal %d; wiping DRBG state", sig);
			notify("STOPPING=1");
			break;
		}
		if (sig == SIGHUP) {
			drbg_reseed_all();
			log_info("SIGHUP: every DRBG reseeds before its next output");
		}
		if (sig == SIGUSR1)
			run_selftests();

		/* each lease's end, as an event for its holder and the key's
		 * owner (once a second; nothing to do costs one read) */
		size_t ended = 0;
		err_t lr = store_leases_sweep(st, (int64_t)time(NULL), &ended);
		if (lr != ERR_OK && !sweep_failed)
			log_warn("cannot record the leases that ended: %s (tried again every second)", err_str(lr));
		else if (lr == ERR_OK && sweep_failed)
			log_info("the leases that ended are recorded again");
		sweep_failed = lr != ERR_OK;
		if (ended > 0)
			log_info("%zu lease%s ended (events recorded)", ended, ended == 1 ? "" : "s");

		uint64_t now = now_ns();
		if (now >= next_selftest) {
			run_selftests();
			next_selftest = now + period;
		}
		if (now >= next_status) {
			/* a one-byte draw exercises the age-based reseeds, and with
			 * them the noise sources' continuous health tests */
			uint8_t b;
			err_t r = drbg_generate(&b, 1);
			secure_zero(&b, 1);
			if (r != ERR_OK && selftest_state() == SELFTEST_OPERATIONAL)
				log_error("DRBG heartbeat failed: %s", err_str(r));
			log_status();
			(void)cli_status_write(cfg, &status);
			next_status = now + (uint64_t)status_seconds * 1000000000u;
		}
		if (selftest_state() == SELFTEST_ERROR && !reported_error) {
			const char *cause = selftest_error_cause();
			log_error("module is in the ERROR state (%s): no output until restart",
				  cause ? cause : "?");
			/* no key made before the ERROR leaves after it */
			keygen_pool_drop();
			reported_error = true;
			/* `fount status` says ERROR now, not at the next tick */
			(void)cli_status_write(cfg, &status);
			notify("STATUS=ERROR: no output until restart");
		}
	}
	/* a clean exit: `fount status` says "not running" from here on */
	cli_status_remove(cfg);
	/* no request may be in flight when the store closes and the DRBG
	 * state is wiped */
	api_http_stop(http);
	api_kmip_stop(kmip);
	/* the EGD socket answers the reads it has (for a short while), then
	 * closes: a guest whose read is cut off stalls (README, "Entropy for
	 * VMs"); its thread draws from the DRBG tree, so it stops first */
	api_egd_stop(egd);
	/* the pool's thread draws from the DRBG tree: it stops (and the
	 * ready pairs are wiped) before the tree goes */
	keygen_pool_stop();
	api_set_store(NULL, false);
	store_close(st);
	/* the registered HSM sources point into hsms[]: the pipeline goes first */
	drbg_tree_shutdown();
	entropy_shutdown();
	for (size_t i = 0; i < CONFIG_MAX_HSMS; i++)
		hsm_close(hsms[i]);
	/* a supervisor sees that the service ended in ERROR */
	return selftest_state() == SELFTEST_ERROR ? EXIT_FAIL : EXIT_OK;
}
