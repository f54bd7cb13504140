/* cli/cmd_store.c — `fount store verify | export | import`: check that
 * every sealed record opens, write a sealed backup of the whole store,
 * restore one into an empty store (also the SQLite -> PostgreSQL
 * migration: export under one [store] configuration, import under the
 * other). The work is store/'s (store_verify, store_export, store_import);
 * this file parses arguments and prints. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "hsm/hsm.h"
#include "keygen/keygen.h"
#include "store/store.h"

static const char usage[] =
	"usage: fount store verify\n"
	"       fount store export -o FILE\n"
	"       fount store import FILE\n"
	"\n"
	"The key store of [store] path, sealed under [store] kek (file:PATH, or\n"
	"hsm:LABEL with the [hsm] section's module and token).\n"
	"\n"
	"verify opens every sealed record and checks its digest, and runs the\n"
	"database's own quick structural check (SQLite: PRAGMA quick_check); it\n"
	"prints the counts and every record that fails, and exits 0 only if all open.\n"
	"export writes a backup of the whole store to FILE (0600, complete or not at\n"
	"all): every object with its attributes, its key material still sealed under\n"
	"the KEK, the access log, and the KEK's check value (and, for hsm:LABEL, the\n"
	"HSM-wrapped data key), with a MAC over the whole file under a key derived from\n"
	"the KEK. It reads one snapshot, so it may run while `fount serve` does.\n"
	"import restores FILE into an empty store (refused otherwise), under the KEK the\n"
	"backup was made with: it checks the whole file first, writes it in one\n"
	"transaction, then opens every record and compares the counts.\n"
	"\n"
	"  -o, --output FILE   export: the backup file (never overwritten)\n"
	"  -h, --help          this text\n";

static int do_verify(const struct config *cfg, struct hsm *hsm)
{
	struct store *st = cli_store_open_existing(cfg, hsm, "fount store");
	if (st == NULL)
		return EXIT_FAIL;
	struct store_verify_result v;
	err_t r = store_verify(st, &v);
	char msg[256], where[512];
	/* the structural check runs also when the walk over the records
	 * stopped (a damaged page): it says where the damage is */
	err_t q = store_quick_check(st, msg, sizeof msg);
	snprintf(where, sizeof where, "%s", store_location(st));
	store_close(st);
	if (r != ERR_OK)
		fprintf(stderr, "fount store: verify of %s failed: %s\n", where, err_str(r));
	else
		printf("%s: %llu sealed records checked, %llu open, %llu fail\n", where,
		       (unsigned long long)v.checked, (unsigned long long)(v.checked - v.failed),
		       (unsigned long long)v.failed);
	for (size_t i = 0; i < v.n_failed_ids; i++)
		printf("fails: %s\n", v.failed_ids[i]);
	if (v.failed > v.n_failed_ids)
		printf("(and %llu more)\n", (unsigned long long)(v.failed - v.n_failed_ids));
	if (q == ERR_OK)
		printf("database check: ok\n");
	else if (q == ERR_UNSUPPORTED)
		printf("database check: none for this backend\n");
	else
		printf("database check: FAILED: %s\n", msg[0] ? msg : err_str(q));
	bool ok = r == ERR_OK && v.failed == 0 && (q == ERR_OK || q == ERR_UNSUPPORTED);
	store_verify_free(&v);
	return ok ? EXIT_OK : EXIT_FAIL;
}

static int do_export(const struct config *cfg, struct hsm *hsm, const char *path)
{
	struct store *st = cli_store_open_existing(cfg, hsm, "fount store");
	if (st == NULL)
		return EXIT_FAIL;
	char why[512] = "";
	/* 0600: the records are sealed, but the file is the whole store */
	int fd = cli_create_file("store", path, 0600);
	if (fd < 0) {
		store_close(st);
		return EXIT_FAIL;
	}
	struct store_backup_info info;
	err_t r = store_export(st, fd, &info, why, sizeof why);
	store_close(st);
	if (!cli_finish_file(path, fd, r == ERR_OK)) {
		if (r != ERR_OK)
			fprintf(stderr, "fount store: %s\n", why);
		else
			fprintf(stderr, "fount store: cannot write %s: %s\n", path, strerror(errno));
		return EXIT_FAIL;
	}
	fprintf(stderr,
		"fount store: exported %llu objects, %llu attributes, %llu sealed records, %llu access records "
		"(schema %u) to %s\n",
		(unsigned long long)info.objects, (unsigned long long)info.attrs, (unsigned long long)info.sealed,
		(unsigned long long)info.access, info.schema_version, path);
	if (info.unopenable != 0)
		fprintf(stderr,
			"fount store: warning: %llu sealed records do not open under the KEK (the first: %s); they "
			"are in the backup as stored\n",
			(unsigned long long)info.unopenable, info.first_unopenable);
	return EXIT_OK;
}

static int do_import(const struct config *cfg, struct hsm *hsm, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "fount store: cannot open %s: %s\n", path, strerror(errno));
		return EXIT_FAIL;
	}
	char why[512] = "";
	struct store_backup_info info;
	struct store_options so = cli_store_options(cfg, hsm);
	err_t r = store_import(&so, fd, &info, why, sizeof why);
	close(fd);
	if (r != ERR_OK) {
		fprintf(stderr, "fount store: %s\n", why);
		return EXIT_FAIL;
	}
	printf("%s: imported %llu objects, %llu attributes, %llu sealed records, %llu access records from %s\n",
	       cfg->store_url[0] != '\0' ? "the PostgreSQL store" : cfg->store_path, (unsigned long long)info.objects, (unsigned long long)info.attrs,
	       (unsigned long long)info.sealed, (unsigned long long)info.access, path);
	printf("verified: %llu sealed records open, counts match; %llu names\n", (unsigned long long)info.verified,
	       (unsigned long long)info.names);
	if (info.names_dup != 0)
		printf("warning: %llu Name instances not claimed: an older live object of the tenant has the name\n",
		       (unsigned long long)info.names_dup);
	return EXIT_OK;
}

int cmd_store(int argc, char **argv, const struct config *cfg)
{
	static const struct option opts[] = {
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *output = NULL;
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': output = optarg; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return cli_option_error("store", c, argc, argv, opts);
		}
	}
	if (optind >= argc)
		return cli_usage_error("store", "verify, export or import?");
	const char *verb = argv[optind++];
	const char *file = NULL;
	if (strcmp(verb, "import") == 0) {
		if (optind >= argc)
			return cli_usage_error("store", "import needs the backup FILE");
		file = argv[optind++];
	} else if (strcmp(verb, "export") == 0) {
		if (output == NULL)
			return cli_usage_error("store", "export needs -o FILE");
	} else if (strcmp(verb, "verify") != 0) {
		return cli_usage_error("store", "unknown subcommand '%s' (verify, export, import)", verb);
	}
	if (optind != argc)
		return cli_usage_error("store", "unexpected argument '%s'", argv[optind]);
	if (output != NULL && strcmp(verb, "export") != 0)
		return cli_usage_error("store", "-o is for export");
	/* the KEK's services (AES-GCM, HMAC) and the backup's nonce run after
	 * the self-tests */
	if (cli_power_on(cfg) != ERR_OK)
		return EXIT_FAIL;
	struct hsm *hsm = NULL;
	int rc = cli_store_hsm(cfg, "fount store", &hsm);
	if (rc == EXIT_OK) {
		if (file != NULL)
			rc = do_import(cfg, hsm, file);
		else if (output != NULL)
			rc = do_export(cfg, hsm, output);
		else
			rc = do_verify(cfg, hsm);
	}
	hsm_close(hsm);
	return rc;
}
