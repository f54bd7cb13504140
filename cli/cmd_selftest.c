/* cli/cmd_selftest.c — `fount selftest`: run the power-on self-tests and
 * show each result. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "keygen/keygen.h"
#include "selftest/selftest.h"

static const char usage[] =
	"usage: fount selftest [--json]\n"
	"\n"
	"Runs the power-on self-tests (the OpenSSL provider: in FIPS mode the FIPS\n"
	"provider loads and passes its own self-tests; software integrity, known-answer tests of\n"
	"AES-256, SHA-256, SHA-512, HMAC-SHA-256 and CTR_DRBG, the zeroization\n"
	"check, the health-test self-checks, the noise sources' start-up tests)\n"
	"and prints a table of test, result and time. Exits 0 only if all pass.\n"
	"FOUNT_SELFTEST_BREAK=<test> corrupts one test to show its failure.\n"
	"\n"
	"Below the table: the provider's name, version and folder as it reports\n"
	"them, and whether that version is a validated FIPS module.\n"
	"\n"
	"      --json   one JSON object instead of the table\n"
	"  -h, --help   this text\n";

/* fips_mode_name: "on" (running on the FIPS provider), "off" (configured
 * off), or "unavailable" (required, but it did not load). */
static const char *fips_mode_name(const struct config *cfg)
{
	if (keygen_fips_mode())
		return "on";
	return cfg->crypto_fips ? "unavailable" : "off";
}

/* ---- who runs each pairwise-consistency test ----
 * pct_owners lists each PCT once ("rsa", "ec", ...), with whether the FIPS
 * module runs it (keygen_pct_by_module) or fount does. */
#define PCT_MAX 8
struct pct_owner {
	const char *name; /* without "pct-" */
	bool by_module;
};

static size_t pct_owners(struct pct_owner out[PCT_MAX])
{
	const struct keygen_type *all;
	size_t n = keygen_types(&all), k = 0;
	for (size_t i = 0; i < n; i++) {
		const char *name = all[i].pct_name;
		if (name == NULL)
			continue;
		if (strncmp(name, "pct-", 4) == 0)
			name += 4;
		bool seen = false;
		for (size_t j = 0; j < k && !seen; j++)
			seen = strcmp(out[j].name, name) == 0;
		if (!seen && k < PCT_MAX)
			out[k++] = (struct pct_owner){name, keygen_pct_by_module(&all[i])};
	}
	return k;
}

/* print_pct_line: "pct:      rsa, ec by the FIPS module; eddsa, x25519 by fount" */
static void print_pct_line(void)
{
	struct pct_owner o[PCT_MAX];
	size_t n = pct_owners(o);
	const char *sep = "";
	printf("pct:      ");
	for (int pass = 0; pass < 2; pass++) {
		bool module = pass == 0, any = false;
		for (size_t i = 0; i < n; i++) {
			if (o[i].by_module != module)
				continue;
			printf("%s%s", any ? ", " : sep, o[i].name);
			any = true;
		}
		if (any) {
			printf(" by %s", module ? "the FIPS module" : "fount");
			sep = "; ";
		}
	}
	putchar('\n');
}

static json_t *pct_json(void)
{
	struct pct_owner o[PCT_MAX];
	size_t n = pct_owners(o);
	json_t *obj = json_object();
	for (size_t i = 0; i < n; i++)
		json_object_set_new(obj, o[i].name, json_string(o[i].by_module ? "fips-module" : "fount"));
	return obj;
}

static int print_json(const struct selftest_result *res, size_t n, err_t verdict,
		      const struct config *cfg)
{
	json_t *root = json_object(), *arr = json_array();
	json_object_set_new(root, "state", json_string(selftest_state_name(selftest_state())));
	json_object_set_new(root, "provider", json_string(keygen_provider_name()));
	json_object_set_new(root, "fips_mode", json_string(fips_mode_name(cfg)));
	if (keygen_provider_info()->name[0] != '\0')
		json_object_set_new(root, "provider_info", cli_provider_json());
	if (keygen_init_error()[0] != '\0')
		json_object_set_new(root, "why", json_string(keygen_init_error()));
	json_object_set_new(root, "passed", json_boolean(verdict == ERR_OK));
	if (keygen_libctx() != NULL)
		json_object_set_new(root, "pct", pct_json());
	for (size_t i = 0; i < n; i++) {
		json_t *t = json_object();
		json_object_set_new(t, "test", json_string(res[i].name));
		json_object_set_new(t, "result", json_string(res[i].r != ERR_OK ? "FAIL" :
							     res[i].skipped ? "skip" : "pass"));
		if (res[i].skipped)
			json_object_set_new(t, "detail", json_string(res[i].detail));
		json_object_set_new(t, "ms", json_real((double)res[i].ns / 1e6));
		if (res[i].r != ERR_OK) {
			json_object_set_new(t, "error", json_string(err_str(res[i].r)));
			json_object_set_new(t, "detail", json_string(res[i].detail));
		}
		json_array_append_new(arr, t);
	}
	json_object_set_new(root, "tests", arr);
	json_dumpf(root, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
	json_decref(root);
	return verdict == ERR_OK ? EXIT_OK : EXIT_FAIL;
}

int cmd_selftest(int argc, char **argv, const struct config *cfg)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool json = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return cli_option_error("selftest", c, argc, argv, opts);
		}
	}
	if (optind < argc)
		return cli_usage_error("selftest", "unexpected argument '%s'", argv[optind]);

	struct selftest_result res[SELFTEST_MAX_RESULTS];
	size_t n = 0;
	err_t verdict = selftest_power_on(cfg, res, ARRAY_SIZE(res), &n);
	if (json)
		return print_json(res, n, verdict, cfg);

	printf("%-20s %-6s %10s\n", "test", "result", "time");
	for (size_t i = 0; i < n; i++) {
		printf("%-20s %-6s %8.3f ms", res[i].name,
		       res[i].r != ERR_OK ? "FAIL" : res[i].skipped ? "skip" : "pass",
		       (double)res[i].ns / 1e6);
		if (res[i].skipped)
			printf("  skipped: %s", res[i].detail);
		else if (res[i].r != ERR_OK)
			printf("  %s%s%s", err_str(res[i].r), res[i].detail[0] ? ": " : "",
			       res[i].detail);
		putchar('\n');
	}
	const char *const *names;
	size_t total = selftest_names(&names);
	for (size_t i = n; i < total; i++)
		printf("%-20s %-6s %10s\n", names[i], "skip", "-");
	printf("\nprovider: %s\n", keygen_provider_name());
	if (keygen_provider_info()->name[0] != '\0')
		cli_provider_print(9);
	printf("fips:     %s\nstate:    %s\n", fips_mode_name(cfg),
	       selftest_state_name(selftest_state()));
	if (keygen_init_error()[0] != '\0')
		printf("why:      %s\n", keygen_init_error());
	if (keygen_libctx() != NULL)
		print_pct_line();
	if (verdict != ERR_OK) {
		const char *cause = selftest_error_cause();
		printf("failed:   %s\n", cause ? cause : "?");
	}
	return verdict == ERR_OK ? EXIT_OK : EXIT_FAIL;
}
