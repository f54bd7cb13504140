/* cli/cmd_agent.c — `fount agent`: keep this host's keys from a fount
 * server under the server's control (api_agent_run). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdint.h>

#include "api/api.h"
#include "cli/cli.h"

static const char usage[] =
	"usage: fount [-c FILE] agent [--server URL]\n"
	"\n"
	"Runs on a host that gets keys from a fount server: fetches each key of an\n"
	"[agent.NAME] section (by id or name) over HTTPS with [agent] cert, keeps it\n"
	"in locked memory and, with [agent] keyring = on, as a logon key fount:NAME\n"
	"in the user keyring that times out with its lease; renews the leases;\n"
	"serves the keys to systemd-cryptsetup on [agent] socket (crypttab:\n"
	"'NAME UUID=... /run/fount/keys.sock luks'); follows the server's events.\n"
	"On revoke, destroy or compromise of a key it drops the key and runs its\n"
	"hook (the event as JSON on stdin); on rekey it takes the new key and runs\n"
	"the hook with both ids. With no server reachable it keeps each key until\n"
	"its lease ends, then drops it (keep_after_lease = on keeps it). The last\n"
	"event handled is kept in <state_dir>/agent.events, so a restart misses\n"
	"none. The server needs [http] plaintext_material = on. SIGTERM stops.\n"
	"Settings: the [agent] and [agent.NAME] sections ('fount config').\n"
	"\n"
	"      --server URL     https://HOST[:PORT][,URL...] (overrides [agent] servers)\n"
	"  -h, --help           this text\n";

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* write_metrics replaces the [agent] metrics_file with |st| in Prometheus
 * text format (exposition format 0.0.4; node_exporter's textfile
 * collector reads it), when it changed. */
static void write_metrics(const struct api_agent_stats *st, void *arg)
{
	const char *path = arg;
	static struct api_agent_stats last;
	static bool written;
	if (written && memcmp(&last, st, sizeof last) == 0)
		return;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (f == NULL) {
		log_warn("cannot write %s: %s", path, strerror(errno));
		return;
	}
	fprintf(f,
		"# HELP fount_agent_requests_total Key requests on the crypttab socket, by result.\n"
		"# TYPE fount_agent_requests_total counter\n"
		"fount_agent_requests_total{result=\"sent\"} %llu\n"
		"fount_agent_requests_total{result=\"refused\"} %llu\n"
		"fount_agent_requests_total{result=\"not_held\"} %llu\n"
		"# HELP fount_agent_keys_fetched_total Keys fetched from the server (a rekey's replacement too).\n"
		"# TYPE fount_agent_keys_fetched_total counter\n"
		"fount_agent_keys_fetched_total %llu\n"
		"# HELP fount_agent_leases_renewed_total Leases renewed.\n"
		"# TYPE fount_agent_leases_renewed_total counter\n"
		"fount_agent_leases_renewed_total %llu\n"
		"# HELP fount_agent_keys_dropped_total Keys dropped, by reason.\n"
		"# TYPE fount_agent_keys_dropped_total counter\n"
		"fount_agent_keys_dropped_total{reason=\"event\"} %llu\n"
		"fount_agent_keys_dropped_total{reason=\"lease_end\"} %llu\n"
		"# HELP fount_agent_rekeys_total Keys replaced after a rekey on the server.\n"
		"# TYPE fount_agent_rekeys_total counter\n"
		"fount_agent_rekeys_total %llu\n"
		"# HELP fount_agent_hooks_total Hook runs, by result.\n"
		"# TYPE fount_agent_hooks_total counter\n"
		"fount_agent_hooks_total{result=\"ok\"} %llu\n"
		"fount_agent_hooks_total{result=\"failed\"} %llu\n"
		"# HELP fount_agent_keys Keys configured, and held now.\n"
		"# TYPE fount_agent_keys gauge\n"
		"fount_agent_keys{state=\"configured\"} %u\n"
		"fount_agent_keys{state=\"held\"} %u\n"
		"# HELP fount_agent_server_up Whether a server is connected.\n"
		"# TYPE fount_agent_server_up gauge\n"
		"fount_agent_server_up %d\n"
		"# HELP fount_agent_last_event The id of the last event handled.\n"
		"# TYPE fount_agent_last_event gauge\n"
		"fount_agent_last_event %llu\n",
		(unsigned long long)st->socket_sent, (unsigned long long)st->socket_refused,
		(unsigned long long)st->socket_not_held, (unsigned long long)st->fetched, (unsigned long long)st->renewed,
		(unsigned long long)st->dropped_event, (unsigned long long)st->dropped_lease,
		(unsigned long long)st->rekeyed, (unsigned long long)st->hooks_ok, (unsigned long long)st->hooks_failed,
		st->keys_total, st->keys_held, st->server_up ? 1 : 0, (unsigned long long)st->last_event);
	/* 0644: node_exporter, another user, reads it */
	bool ok = fclose(f) == 0 && cli_replace_file(path, 0644, text, len);
	free(text);
	if (!ok) {
		log_warn("cannot write %s: %s", path, strerror(errno));
		return;
	}
	last = *st;
	written = true;
}

int cmd_agent(int argc, char **argv, const struct config *cfg)
{
	static const struct option opts[] = {
		{"server", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *servers = cfg->agent_servers;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 's': servers = optarg; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return cli_option_error("agent", c, argc, argv, opts);
		}
	}
	if (optind < argc)
		return cli_usage_error("agent", "unexpected argument '%s'", argv[optind]);
	if (servers[0] == '\0')
		return cli_usage_error("agent", "no server: set [agent] servers or pass --server https://HOST:8443");
	struct api_agent_key keys[CONFIG_MAX_AGENT_KEYS];
	size_t n = 0;
	for (size_t i = 0; i < CONFIG_MAX_AGENT_KEYS; i++) {
		const struct config_agent_key *k = &cfg->agent_keys[i];
		if (k->used)
			keys[n++] = (struct api_agent_key){.name = k->name, .key = k->key, .hook = k->hook};
	}
	if (n == 0)
		return cli_usage_error("agent", "no keys to keep: add an [agent.NAME] section with key = ID (or the "
						"key's name) for each");
	/* TLS draws its randomness from fount's DRBG: the power-on self-tests
	 * gate it as every other output */
	if (cli_power_on(cfg) != ERR_OK)
		return EXIT_FAIL;
	char state[600];
	snprintf(state, sizeof state, "%s/agent.events", cfg->service_state_dir);
	if (mkdir(cfg->service_state_dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "fount: agent: cannot make the state folder %s: %s (set [service] state_dir)\n",
			cfg->service_state_dir, strerror(errno));
		return EXIT_FAIL;
	}
	struct api_agent_options o = {
		.servers = servers, .ca_file = cfg->agent_ca, .cert_file = cfg->agent_cert, .key_file = cfg->agent_key,
		.socket_path = cfg->agent_socket, .state_file = state, .keyring = cfg->agent_keyring,
		.keep_after_lease = cfg->agent_keep_after_lease, .timeout_ms = cfg->agent_timeout_seconds * 1000u,
		.keys = keys, .n_keys = n,
		.on_stats = cfg->agent_metrics_file[0] != '\0' ? write_metrics : NULL,
		.stats_arg = (void *)(uintptr_t)cfg->agent_metrics_file,
	};
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	char why[512] = "";
	err_t r = api_agent_run(&o, &stop, why, sizeof why);
	if (r != ERR_OK) {
		fprintf(stderr, "fount: agent: %s\n", why[0] != '\0' ? why : err_str(r));
		return r == ERR_CONFIG ? EXIT_USAGE : EXIT_FAIL;
	}
	return EXIT_OK;
}
