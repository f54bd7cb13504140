/* cli/cmd_token.c — `fount token add --tenant NAME [--admin]`: a bearer
 * token for the HTTP API, printed once (api_http_token_add keeps only its
 * SHA-256 in [http] tokens). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "cli/cli.h"
#include "keygen/keygen.h"

static const char usage[] =
	"usage: fount token add --tenant NAME [--admin]\n"
	"       fount token list\n"
	"\n"
	"add makes a bearer token for the HTTP API and prints it once, on stdout;\n"
	"the token file ([http] tokens, default <state_dir>/http-tokens) keeps only\n"
	"its SHA-256. A running `fount serve` takes it at the next request. Use it as\n"
	"  curl -H 'Authorization: Bearer TOKEN' https://HOST:8443/v1/keys\n"
	"list prints the token file (hashes and tenants, no tokens).\n"
	"\n"
	"      --tenant NAME   the tenant the token acts for (as a client certificate's CN)\n"
	"      --admin         the token may also run POST /v1/selftest and manage every\n"
	"                      tenant's keys' lifecycle\n"
	"  -h, --help          this text\n";

int cmd_token(int argc, char **argv, const struct config *cfg)
{
	static const struct option opts[] = {
		{"tenant", required_argument, NULL, 't'},
		{"admin", no_argument, NULL, 'a'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *tenant = NULL;
	bool admin = false;
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 't': tenant = optarg; break;
		case 'a': admin = true; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return cli_option_error("token", c, argc, argv, opts);
		}
	}
	if (optind >= argc)
		return cli_usage_error("token", "add or list?");
	const char *verb = argv[optind++];
	if (optind != argc)
		return cli_usage_error("token", "unexpected argument '%s'", argv[optind]);
	if (strcmp(verb, "list") == 0) {
		FILE *f = fopen(cfg->http_tokens, "re");
		if (f == NULL) {
			printf("no tokens (%s)\n", cfg->http_tokens);
			return EXIT_OK;
		}
		char line[512];
		while (fgets(line, sizeof line, f) != NULL)
			fputs(line, stdout);
		fclose(f);
		return EXIT_OK;
	}
	if (strcmp(verb, "add") != 0)
		return cli_usage_error("token", "unknown subcommand '%s' (add, list)", verb);
	if (tenant == NULL)
		return cli_usage_error("token", "--tenant NAME is required");
	/* the token is drawn from the DRBG after the self-tests */
	if (cli_power_on(cfg) != ERR_OK)
		return EXIT_FAIL;
	char token[API_HTTP_TOKEN_LEN + 1], why[512] = "";
	err_t r = api_http_token_add(cfg->http_tokens, tenant, admin, token, sizeof token, why, sizeof why);
	drbg_tree_shutdown();
	if (r != ERR_OK) {
		fprintf(stderr, "fount token: %s\n", why[0] ? why : err_str(r));
		return r == ERR_INVALID_ARG ? EXIT_USAGE : EXIT_FAIL;
	}
	printf("%s\n", token);
	fflush(stdout);
	secure_zero(token, sizeof token);
	fprintf(stderr, "fount token: a token for tenant %s%s (shown once; its SHA-256 is in %s)\n", tenant,
		admin ? " (admin)" : "", cfg->http_tokens);
	return EXIT_OK;
}
