/* cli/cmd_misc.c — `fount version`, `fount config`, `fount acvp`. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "keygen/keygen.h"

static bool wants_help(int argc, char **argv)
{
	return argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0);
}

int cmd_version(int argc, char **argv, const struct config *cfg)
{
	if (wants_help(argc, argv)) {
		puts("usage: fount version\n\nPrints fount's version, the OpenSSL library and the provider in use.");
		return EXIT_OK;
	}
	if (argc > 1)
		return cli_usage_error("version", "unexpected argument '%s'", argv[1]);
	printf("fount %s\n", FOUNT_VERSION);
	printf("openssl: %s\n", OpenSSL_version(OPENSSL_VERSION));
	if (keygen_init(cfg) != ERR_OK) {
		printf("provider: unavailable (FIPS mode: %s): %s\n",
		       cfg->crypto_fips ? "required" : "off", keygen_init_error());
		return EXIT_FAIL;
	}
	printf("provider: %s (FIPS mode: %s)\n", keygen_provider_name(),
	       keygen_fips_mode() ? "on" : "off");
	return EXIT_OK;
}

int cmd_config(int argc, char **argv, const struct config *cfg)
{
	if (wants_help(argc, argv)) {
		puts("usage: fount [-c FILE] config\n\n"
		     "Prints the effective configuration (built-in defaults, then the file,\n"
		     "then FOUNT_<SECTION>_<KEY> environment variables) as an INI file.");
		return EXIT_OK;
	}
	if (argc > 1)
		return cli_usage_error("config", "unexpected argument '%s'", argv[1]);
	config_print(cfg, stdout);
	return EXIT_OK;
}

int cmd_acvp(int argc, char **argv, const struct config *cfg)
{
	if (wants_help(argc, argv)) {
		puts("usage: fount acvp < request.json > response.json\n\n"
		     "Answers a NIST ACVP ctrDRBG (revision 1.0) vector set: AES-256 with the\n"
		     "derivation function, with or without prediction resistance and reseed.\n"
		     "Groups fount does not implement get an error entry, not a crash.\n"
		     "The power-on self-tests run first.");
		return EXIT_OK;
	}
	if (argc > 1)
		return cli_usage_error("acvp", "unexpected argument '%s' (the request comes on stdin)", argv[1]);
	if (cli_power_on(cfg) != ERR_OK)
		return EXIT_FAIL;
	err_t r = acvp_run(stdin, stdout, stderr);
	if (r != ERR_OK) {
		fprintf(stderr, "fount acvp: %s\n", err_str(r));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}
