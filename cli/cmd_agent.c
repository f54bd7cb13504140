/* cli/cmd_agent.c — `fount agent`: keep this host's keys from a fount
 * server under the server's control (api_agent_run). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
