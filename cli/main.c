/* cli/main.c — the fount program: harden the process, read the
 * configuration, dispatch to a sub-command. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli/cli.h"
#include "entropy/entropy.h"
#include "keygen/keygen.h"

static const char usage_head[] =
	"usage: fount [-c FILE] [-v | -q] COMMAND [ARGS]\n"
	"\n"
	"fount: a health-tested entropy and key-generation service.\n"
	"\n"
	"commands:\n";
static const char usage_tail[] =
	"\n"
	"options:\n"
	"  -c, --config FILE   configuration file (default $FOUNT_CONFIG, else\n"
	"                      " CONFIG_DEFAULT_PATH ", if present)\n"
	"  -v, --verbose       log debug messages\n"
	"  -q, --quiet         log errors only\n"
	"  -h, --help          this text; 'fount COMMAND --help' for a command\n";

/* The commands, as --help lists them, each with its security policy
 * entry (`fount policy`): who runs it and whether it is an approved
 * service. The operator is whoever has a shell with the configuration and
 * [service] state_dir (root, or the service user). */
#define OP "operator"
const struct cli_command cli_commands[] = {
	{"serve", cmd_serve, "run the service: self-tests, then KMIP on [kmip] listen (5696), HTTPS on [http] listen (8443)", OP,
	 "approved"},
	{"random", cmd_random, "write random bytes from the DRBG (random -n 32 --hex)", OP, "approved"},
	{"keygen", cmd_keygen, "generate a key: AES, HMAC, RSA, EC, Ed25519, X25519 (keygen --type aes-256)", OP,
	 "approved, but X25519 (not an approved key type)"},
	{"wrap", cmd_wrap, "wrap a key file under a KEK (AES-KW, AES-KWP, RSA-OAEP)", OP, "approved"},
	{"unwrap", cmd_unwrap, "unwrap a wrapped key file", OP, "approved"},
	{"selftest", cmd_selftest, "run the power-on self-tests and show the results", OP, "approved (self-test)"},
	{"entropy", cmd_entropy, "noise-source status, raw-sample capture and the SP 800-90B ESV package", OP,
	 "non-approved (raw noise output, for entropy assessment only)"},
	{"hsm", cmd_hsm, "PKCS#11 HSMs: tokens, objects, keygen, import, seed", OP, "approved"},
	{"ca", cmd_ca, "fount's CA for KMIP clients: init, issue a client certificate, sign a CSR", OP, "approved"},
	{"tenant", cmd_tenant, "bind a client certificate to a tenant (tenant bind NAME --cert FILE)", OP,
	 "approved (no cryptography)"},
	{"token", cmd_token, "a bearer token for the HTTP API (token add --tenant NAME [--admin])", OP, "approved"},
	{"store", cmd_store, "the key store: verify, export a sealed backup, import one into an empty store", OP, "approved"},
	{"keys", cmd_keys, "who holds a key (keys holders ID), what a tenant holds (keys held TENANT)", OP,
	 "approved (no cryptography)"},
	{"acvp", cmd_acvp, "answer a NIST ACVP request: ctrDRBG, SHA2-256, HMAC-SHA2-256, AES-KW/KWP (acvp < req.json)", OP,
	 "approved (algorithm testing)"},
	{"policy", cmd_policy, "write the security policy (FIPS 140-3, SP 800-140B order) from the code's tables", OP,
	 "approved (no cryptography)"},
	{"config", cmd_config, "print the effective configuration", OP, "approved (no cryptography)"},
	{"version", cmd_version, "print version and crypto provider", OP, "approved (no cryptography)"},
	{"status", cmd_status, "is `fount serve` running here, and how is it doing", OP, "approved (no cryptography)"},
	{"feed", cmd_feed, "mix random bytes from a fount server into this host's kernel pool", OP, "approved"},
	{"agent", cmd_agent, "keep this host's keys from a fount server: keyring, crypttab socket, hooks on revoke", OP,
	 "approved"},
};
const size_t cli_commands_n = ARRAY_SIZE(cli_commands);

static void print_usage(FILE *f)
{
	fputs(usage_head, f);
	for (size_t i = 0; i < cli_commands_n; i++)
		fprintf(f, "  %-10s %s\n", cli_commands[i].name, cli_commands[i].summary);
	fputs(usage_tail, f);
}

/* harden runs before anything reads a secret: no core dumps, and no
 * ptrace attach by other processes of the same user. */
/* check_pool is [kmip] keypair_pool's check: keygen/'s own parser. */
static bool check_pool(const char *value, char *why, size_t whylen)
{
	struct keygen_pool_spec specs[KEYGEN_POOL_MAX_TYPES];
	size_t n = 0;
	return keygen_pool_parse(value, specs, &n, why, whylen) == ERR_OK;
}

static void harden(void)
{
	struct rlimit no_core = {0, 0};
	if (setrlimit(RLIMIT_CORE, &no_core) != 0)
		perror("fount: setrlimit(RLIMIT_CORE)");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		perror("fount: prctl(PR_SET_DUMPABLE)");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"verbose", no_argument, NULL, 'v'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *cfg_path = NULL;
	int verbosity = 0, c;

	harden();

	/* getopt prints nothing: each command reports an option error in one
	 * line of its own (cli_option_error), for every getopt_long after this */
	opterr = 0;
	/* '+': stop at the command, whose options are its own */
	while ((c = getopt_long(argc, argv, "+:c:vqh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': cfg_path = optarg; break;
		case 'v': verbosity = 1; break;
		case 'q': verbosity = -1; break;
		case 'h': print_usage(stdout); return EXIT_OK;
		case 'V': printf("fount %s\n", FOUNT_VERSION); return EXIT_OK;
		default: return cli_option_error(NULL, c, argc, argv, opts);
		}
	}
	if (optind >= argc) {
		print_usage(stderr);
		return EXIT_USAGE;
	}
	const char *name = argv[optind];
	const struct cli_command *cmd = NULL;
	for (size_t i = 0; i < cli_commands_n; i++)
		if (strcmp(cli_commands[i].name, name) == 0)
			cmd = &cli_commands[i];
	if (cmd == NULL) {
		fprintf(stderr, "fount: unknown command '%s' (see 'fount --help')\n", name);
		return EXIT_USAGE;
	}

	struct config cfg;
	char err[512];
	bool required = cfg_path != NULL;
	/* FOUNT_CONFIG moves the default file (which, like the default, may
	 * be absent), for a test or a second instance; -c wins */
	if (cfg_path == NULL && (cfg_path = getenv("FOUNT_CONFIG")) != NULL && *cfg_path == '\0')
		cfg_path = NULL;
	if (cfg_path == NULL)
		cfg_path = CONFIG_DEFAULT_PATH;
	const char *const *sources;
	size_t num_sources = entropy_credited_names(&sources);
	config_set_source_names(sources, num_sources);
	config_set_pool_check(check_pool);
	if (config_load(&cfg, cfg_path, required, err, sizeof(err)) != ERR_OK) {
		fprintf(stderr, "fount: %s\n", err);
		return EXIT_USAGE;
	}
	secmem_set_mlock(cfg.security_mlock);
	log_set_level(verbosity > 0 ? LOG_DEBUG : verbosity < 0 ? LOG_ERROR : cfg.log_level);
	/* before any secret exists: with mlock on, every page is locked, so
	 * the copies OpenSSL keeps in its own heap (the AES key schedule of
	 * each DRBG) cannot be swapped out either; secure memory keeps its
	 * guard pages and wiping on top */
	if (cfg.security_mlock && memlock_all() != ERR_OK) {
		cli_mlock_error("[security] mlock = on");
		return EXIT_FAIL;
	}

	int rc = cmd->fn(argc - optind, argv + optind, &cfg);
	/* zeroize every DRBG and seed buffer before the process ends */
	drbg_tree_shutdown();
	entropy_shutdown();
	keygen_shutdown();
	return rc;
}
