/* cli/cmd_feed.c — `fount feed`: mix random bytes from a fount server into
 * this machine's kernel pool (api_feed_once), once or as a daemon. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "cli/cli.h"
#include "keygen/keygen.h"

static const char usage[] =
	"usage: fount [-c FILE] feed [--once | --daemon] [--server URL] [--ca FILE] [--bytes N]\n"
	"\n"
	"Fetches random bytes from a fount server over HTTPS and mixes them into\n"
	"this machine's kernel pool, for hosts and guests short of entropy. The\n"
	"server's certificate must chain to [feed] ca and name the host in the URL,\n"
	"and the server must report OPERATIONAL, or nothing is fed.\n"
	"The bytes are written to /dev/urandom (mixed, not credited). With\n"
	"[feed] credit = on and CAP_SYS_ADMIN they are credited (RNDADDENTROPY, at\n"
	"most 256 bits) while the kernel's CRNG is not yet ready, as at early boot:\n"
	"that trusts the server. Settings: the [feed] section ('fount config').\n"
	"\n"
	"      --once           feed once and exit (the default): 0 fed, 1 refused\n"
	"      --daemon         feed now, then every [feed] interval_seconds; after a\n"
	"                       failure retry sooner (5 s, doubling); SIGTERM stops\n"
	"      --server URL     https://HOST[:PORT] (overrides [feed] server)\n"
	"      --ca FILE        the server's CA certificate (overrides [feed] ca)\n"
	"      --bytes N        bytes per feed, 1 to 4096 (overrides [feed] bytes)\n"
	"  -h, --help           this text\n";

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct totals {
	uint64_t ok, failed, bytes, bits;
	int crng_ready_first; /* -1 unknown */
	time_t last_ok;
	double last_seconds;
};

/* write_metrics replaces |path| with the totals in Prometheus text format
 * (exposition format 0.0.4, node_exporter's textfile collector reads it). */
static void write_metrics(const char *path, const struct totals *t)
{
	if (path == NULL || path[0] == '\0')
		return;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (f == NULL) {
		log_warn("cannot write %s: %s", path, strerror(errno));
		return;
	}
	fprintf(f,
		"# HELP fount_feed_fetches_total Feeds attempted, by result.\n"
		"# TYPE fount_feed_fetches_total counter\n"
		"fount_feed_fetches_total{result=\"ok\"} %llu\n"
		"fount_feed_fetches_total{result=\"failed\"} %llu\n"
		"# HELP fount_feed_bytes_mixed_total Bytes mixed into the kernel pool.\n"
		"# TYPE fount_feed_bytes_mixed_total counter\n"
		"fount_feed_bytes_mixed_total %llu\n"
		"# HELP fount_feed_bits_credited_total Bits credited to the kernel pool (RNDADDENTROPY).\n"
		"# TYPE fount_feed_bits_credited_total counter\n"
		"fount_feed_bits_credited_total %llu\n",
		(unsigned long long)t->ok, (unsigned long long)t->failed, (unsigned long long)t->bytes,
		(unsigned long long)t->bits);
	if (t->crng_ready_first >= 0)
		fprintf(f,
			"# HELP fount_feed_crng_ready_at_first_feed Whether the kernel's CRNG was ready before the first feed.\n"
			"# TYPE fount_feed_crng_ready_at_first_feed gauge\n"
			"fount_feed_crng_ready_at_first_feed %d\n",
			t->crng_ready_first);
	fprintf(f,
		"# HELP fount_feed_last_success_timestamp_seconds When the last feed succeeded (0: never).\n"
		"# TYPE fount_feed_last_success_timestamp_seconds gauge\n"
		"fount_feed_last_success_timestamp_seconds %lld\n"
		"# HELP fount_feed_last_duration_seconds How long the last feed took.\n"
		"# TYPE fount_feed_last_duration_seconds gauge\n"
		"fount_feed_last_duration_seconds %.6f\n",
		(long long)t->last_ok, t->last_seconds);
	/* 0644: node_exporter, another user, reads it */
	bool ok = fclose(f) == 0 && cli_replace_file(path, 0644, text, len);
	if (!ok)
		log_warn("cannot write %s: %s", path, strerror(errno));
	free(text);
}

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* feed runs one feed and prints or logs its outcome. */
static bool feed(const struct api_feed_options *o, struct totals *t, bool daemon)
{
	struct api_feed_result res;
	char why[512] = "";
	double t0 = mono();
	err_t r = api_feed_once(o, &res, why, sizeof why);
	t->last_seconds = mono() - t0;
	if (t->crng_ready_first < 0)
		t->crng_ready_first = res.crng_ready_before ? 1 : 0;
	if (r != ERR_OK) {
		t->failed++;
		if (daemon)
			log_warn("feed from %s failed: %s", o->server, why);
		else
			fprintf(stderr, "fount feed: %s\n", why);
		return false;
	}
	t->ok++;
	t->bytes += res.bytes_mixed;
	t->bits += res.bits_credited;
	t->last_ok = time(NULL);
	char credit[64];
	if (res.bits_credited > 0)
		snprintf(credit, sizeof credit, "credited %u bits", res.bits_credited);
	else
		snprintf(credit, sizeof credit, "not credited");
	const char *dev = o->device != NULL && o->device[0] != '\0' ? o->device : "/dev/urandom";
	if (daemon)
		log_info("mixed %zu bytes from %s into %s (%s; CRNG %s; %s)", res.bytes_mixed, o->server, dev, credit,
			 res.crng_ready_before ? "was ready" : "was not ready", res.reseeded ? "reseeded" : "not reseeded");
	else
		printf("mixed %zu bytes from %s into %s (%s; the kernel's CRNG %s; %s)\n", res.bytes_mixed, o->server,
		       dev, credit, res.crng_ready_before ? "was ready" : "was not ready yet",
		       res.reseeded ? "reseeded at once" : "not reseeded: reaches the output within 60 s");
	return true;
}

int cmd_feed(int argc, char **argv, const struct config *cfg)
{
	static const struct option opts[] = {
		{"once", no_argument, NULL, 'O'},
		{"daemon", no_argument, NULL, 'D'},
		{"server", required_argument, NULL, 's'},
		{"ca", required_argument, NULL, 'a'},
		{"bytes", required_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool once = false, daemon = false;
	const char *server = cfg->feed_server, *ca = cfg->feed_ca;
	uint64_t bytes = cfg->feed_bytes;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'O': once = true; break;
		case 'D': daemon = true; break;
		case 's': server = optarg; break;
		case 'a': ca = optarg; break;
		case 'n':
			if (cli_parse_size(optarg, &bytes) != ERR_OK || bytes == 0 || bytes > FEED_MAX_BYTES)
				return cli_usage_error("feed", "--bytes wants 1 to %u, not '%s'", FEED_MAX_BYTES, optarg);
			break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return cli_option_error("feed", c, argc, argv, opts);
		}
	}
	if (optind < argc)
		return cli_usage_error("feed", "unexpected argument '%s'", argv[optind]);
	if (once && daemon)
		return cli_usage_error("feed", "choose one of --once and --daemon");
	if (server[0] == '\0')
		return cli_usage_error("feed", "no server: set [feed] server or pass --server https://HOST:8443");
	if (ca[0] == '\0')
		return cli_usage_error("feed", "no CA to check the server against: set [feed] ca or pass --ca FILE "
					       "(the server's <state_dir>/pki/ca.pem)");
	/* TLS runs in fount's library context and draws its randomness
	 * (client random, ECDHE keys) from fount's DRBG: the power-on
	 * self-tests gate it as every other output */
	if (cli_power_on(cfg) != ERR_OK)
		return EXIT_FAIL;
	struct api_feed_options o = {
		.server = server, .ca_file = ca, .cert_file = cfg->feed_cert, .key_file = cfg->feed_key,
		.token_file = cfg->feed_token_file, .bytes = (size_t)bytes, .credit = cfg->feed_credit,
		.reseed = cfg->feed_reseed, .device = cfg->feed_device,
		.timeout_ms = cfg->feed_timeout_seconds * 1000u,
	};
	struct totals t = {.crng_ready_first = -1};
	if (!daemon) {
		bool ok = feed(&o, &t, false);
		write_metrics(cfg->feed_metrics_file, &t);
		return ok ? EXIT_OK : EXIT_FAIL;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	log_info("feeding from %s every %u s", server, cfg->feed_interval_seconds);
	unsigned backoff = 5;
	while (!stop) {
		unsigned wait = cfg->feed_interval_seconds;
		if (feed(&o, &t, true)) {
			backoff = 5;
		} else {
			wait = backoff < wait ? backoff : wait;
			backoff = backoff < 3600 ? backoff * 2 : backoff;
		}
		write_metrics(cfg->feed_metrics_file, &t);
		for (unsigned s = 0; s < wait && !stop; s++)
			sleep(1);
	}
	log_info("stopped after %llu feeds (%llu failed)", (unsigned long long)(t.ok + t.failed),
		 (unsigned long long)t.failed);
	return EXIT_OK;
}
