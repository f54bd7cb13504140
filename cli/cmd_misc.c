/* cli/cmd_misc.c — `fount version`, `fount config`, `fount acvp`. */
#include <getopt.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "keygen/keygen.h"

static bool wants_help(int argc, char **argv)
{
	return argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0);
}

json_t *cli_provider_json(void)
{
	const struct keygen_provider_info *pi = keygen_provider_info();
	json_t *o = json_object();
	json_object_set_new(o, "name", json_string(pi->name));
	json_object_set_new(o, "version", json_string(pi->version));
	json_object_set_new(o, "buildinfo", json_string(pi->buildinfo));
	json_object_set_new(o, "dir", pi->dir[0] != '\0' ? json_string(pi->dir) : json_null());
	json_object_set_new(o, "validated", json_boolean(pi->validated));
	json_object_set_new(o, "validation", json_string(pi->validation));
	return o;
}

void cli_provider_print(int width)
{
	const struct keygen_provider_info *pi = keygen_provider_info();
	printf("%-*s %s\n", width, "name:", pi->name);
	printf("%-*s %s\n", width, "version:", pi->version);
	printf("%-*s %s\n", width, "dir:", pi->dir[0] != '\0' ? pi->dir : "(built into libcrypto)");
	printf("%-*s %s\n", width, "validated:", pi->validation);
}

static const char version_usage[] =
	"usage: fount version [--json]\n"
	"\n"
	"Prints fount's version, the OpenSSL library, and the provider in use as\n"
	"the provider itself reports it: its name and version, the folder it was\n"
	"loaded from, and whether that version is a validated FIPS module\n"
	"(validated: yes (FIPS 140-3 #4985) / no (...); README, \"FIPS mode\").\n"
	"\n"
	"      --json   one JSON object\n"
	"  -h, --help   this text\n";

int cmd_version(int argc, char **argv, const struct config *cfg)
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
		case 'h': fputs(version_usage, stdout); return EXIT_OK;
		default: return cli_option_error("version", c, argc, argv, opts);
		}
	}
	if (optind < argc)
		return cli_usage_error("version", "unexpected argument '%s'", argv[optind]);
	bool ok = keygen_init(cfg) == ERR_OK;
	const char *mode = !ok ? (cfg->crypto_fips ? "required" : "off") : keygen_fips_mode() ? "on" : "off";
	if (json) {
		json_t *root = json_object();
		json_object_set_new(root, "fount", json_string(FOUNT_VERSION));
		json_object_set_new(root, "openssl", json_string(OpenSSL_version(OPENSSL_VERSION)));
		json_object_set_new(root, "fips_mode", json_string(ok ? mode : "unavailable"));
		if (ok)
			json_object_set_new(root, "provider", cli_provider_json());
		else
			json_object_set_new(root, "why", json_string(keygen_init_error()));
		json_dumpf(root, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(root);
		return ok ? EXIT_OK : EXIT_FAIL;
	}
	printf("fount %s\n", FOUNT_VERSION);
	printf("openssl: %s\n", OpenSSL_version(OPENSSL_VERSION));
	if (!ok) {
		printf("provider: unavailable (FIPS mode: %s): %s\n", mode, keygen_init_error());
		return EXIT_FAIL;
	}
	printf("provider: %s (FIPS mode: %s)\n", keygen_provider_name(), mode);
	cli_provider_print(9);
	return EXIT_OK;
}

int cmd_config(int argc, char **argv, const struct config *cfg)
{
	if (wants_help(argc, argv)) {
		puts("usage: fount [-c FILE] config [--template]\n\n"
		     "Prints the effective configuration (built-in defaults, then the file,\n"
		     "then FOUNT_<SECTION>_<KEY> environment variables) as an INI file.\n\n"
		     "      --template   print the documented " CONFIG_DEFAULT_PATH " that\n"
		     "                   `make install` installs instead: every key with its\n"
		     "                   meaning and built-in default, commented out, and\n"
		     "                   [service] state_dir = " CONFIG_SERVICE_STATE_DIR "\n"
		     "  -h, --help       this text");
		return EXIT_OK;
	}
	bool template = argc > 1 && strcmp(argv[1], "--template") == 0;
	int first = template ? 2 : 1; /* the first argument not taken */
	if (argc > first)
		return cli_usage_error("config", "%s '%s'", argv[first][0] == '-' ? "unknown option" :
				       "unexpected argument", argv[first]);
	if (template) {
		config_print_template(stdout);
		return fflush(stdout) == 0 && !ferror(stdout) ? EXIT_OK : EXIT_FAIL;
	}
	config_print(cfg, stdout);
	return EXIT_OK;
}

int cmd_acvp(int argc, char **argv, const struct config *cfg)
{
	if (wants_help(argc, argv)) {
		puts("usage: fount acvp < request.json > response.json\n\n"
		     "Answers a NIST ACVP vector set (revision 1.0) for the algorithms fount\n"
		     "runs or composes itself:\n"
		     "  ctrDRBG        AES-256 with the derivation function, with or without\n"
		     "                 prediction resistance and reseed\n"
		     "  SHA2-256       AFT and MCT (standard and alternate); not LDT\n"
		     "  HMAC-SHA2-256  AFT, keys of 8..512 bits, MACs of 32..256 bits\n"
		     "  ACVP-AES-KW, ACVP-AES-KWP  encrypt and decrypt, kwCipher cipher\n"
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
