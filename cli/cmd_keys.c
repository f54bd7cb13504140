/* cli/cmd_keys.c — `fount keys holders ID | held TENANT`: who got a key's
 * material (each tenant and client certificate, first and last time, how
 * often, its lease), and the reverse, what a tenant's certificates hold.
 * The operator's view of every tenant (the HTTP API gives each tenant its
 * own: GET /v1/keys/{id}/holders, GET /v1/holders/{tenant}/keys). The work
 * is store/'s (store_holders_of, store_held_by); this file prints. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "hsm/hsm.h"
#include "store/store.h"

static const char usage[] =
	"usage: fount keys holders ID\n"
	"       fount keys held TENANT\n"
	"\n"
	"holders lists who got key ID's material (KMIP Get, wrapped or not, and the\n"
	"HTTP API's GET /v1/keys/ID/material): one line per tenant and client\n"
	"certificate (SHA-256 of its DER; zeros for a bearer token), the first and the\n"
	"last time, how many times, and the lease: 'until TIME' while it runs, 'ended\n"
	"TIME' after it or once the key is revoked or destroyed, 'none' if no lease\n"
	"was granted. Encrypt and Decrypt use a key inside fount: they make no holder.\n"
	"held lists the same for every key TENANT's certificates got.\n"
	"At most " "10000" " lines; more are counted, not shown.\n"
	"It reads the key store of [store] path (or url) while `fount serve` runs.\n"
	"\n"
	"  -h, --help   this text\n";

_Static_assert(STORE_HOLDERS_MAX == 10000, "the usage text says 10000");

static void print_holders(const struct store_holders *hs, bool by_tenant)
{
	printf("%-36s  %-64s  %-20s  %-20s  %8s  %s\n", by_tenant ? "KEY" : "TENANT", "CERTIFICATE (SHA-256)",
	       "FIRST", "LAST", "GETS", "LEASE");
	for (size_t i = 0; i < hs->n; i++) {
		const struct store_holder *h = &hs->h[i];
		char fp[2 * STORE_FINGERPRINT_LEN + 1], first[32], last[32], lease[48], end[32];
		hex_encode(fp, h->fingerprint, sizeof h->fingerprint);
		cli_utc((time_t)h->first, first, sizeof first);
		cli_utc((time_t)h->last, last, sizeof last);
		cli_utc((time_t)h->lease_end, end, sizeof end);
		if (h->lease_end == 0)
			snprintf(lease, sizeof lease, "none");
		else
			snprintf(lease, sizeof lease, "%s %s", h->leased ? "until" : "ended", end);
		printf("%-36s  %-64s  %-20s  %-20s  %8llu  %s\n", by_tenant ? h->id : h->tenant, fp, first, last,
		       (unsigned long long)h->count, lease);
	}
	if (hs->truncated)
		printf("(more than %u: the first %zu shown)\n", STORE_HOLDERS_MAX, hs->n);
}

int cmd_keys(int argc, char **argv, const struct config *cfg)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return cli_option_error("keys", c, argc, argv, opts);
		}
	}
	if (optind >= argc)
		return cli_usage_error("keys", "holders ID or held TENANT?");
	const char *verb = argv[optind++];
	bool by_tenant = strcmp(verb, "held") == 0;
	if (!by_tenant && strcmp(verb, "holders") != 0)
		return cli_usage_error("keys", "unknown subcommand '%s' (holders, held)", verb);
	if (optind >= argc)
		return cli_usage_error("keys", "%s needs %s", verb, by_tenant ? "a TENANT" : "a key ID");
	const char *what = argv[optind++];
	if (optind != argc)
		return cli_usage_error("keys", "unexpected argument '%s'", argv[optind]);
	/* opening the store unseals its KEK check: after the self-tests */
	if (cli_power_on(cfg) != ERR_OK)
		return EXIT_FAIL;
	struct hsm *hsm = NULL;
	int rc = cli_store_hsm(cfg, "fount keys", &hsm);
	struct store *st = rc == EXIT_OK ? cli_store_open_existing(cfg, hsm, "fount keys") : NULL;
	if (st == NULL) {
		hsm_close(hsm);
		return EXIT_FAIL;
	}
	struct store_holders hs;
	/* the operator sees every tenant's (STORE_F_ADMIN) */
	err_t r = by_tenant ? store_held_by(st, what, &hs) : store_holders_of(st, what, "", STORE_F_ADMIN, &hs);
	store_close(st);
	hsm_close(hsm);
	if (r == ERR_STORE_NOT_FOUND) {
		fprintf(stderr, "fount keys: no key %s ('fount keys held TENANT' lists a tenant's)\n", what);
		return EXIT_FAIL;
	}
	if (r == ERR_INVALID_ARG) {
		fprintf(stderr, "fount keys: '%s' is not a tenant name (1 to %d bytes)\n", what, STORE_TENANT_MAX);
		return EXIT_FAIL;
	}
	if (r != ERR_OK) {
		fprintf(stderr, "fount keys: %s\n", err_str(r));
		return EXIT_FAIL;
	}
	print_holders(&hs, by_tenant);
	store_holders_free(&hs);
	return EXIT_OK;
}
