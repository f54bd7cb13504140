/* cli/cmd_hsm.c — `fount hsm`: tokens, objects, keygen, import, seed and
 * kek-create against a PKCS#11 HSM ([hsm] or [hsm.NAME] in the config).
 * The import and the KEK ceremony are hsm/import.c's (hsm_import,
 * hsm_kek_create); this file parses, reads and writes files, and prints. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "hsm/hsm.h"
#include "keygen/keygen.h"

CSP_USE("Symmetric keys", "the wrapping key of fount hsm import, in locked memory");

static const char usage[] =
	"usage: fount hsm [--hsm NAME] COMMAND [OPTIONS]\n"
	"\n"
	"Works with the PKCS#11 token configured in [hsm] (or [hsm.NAME]): module,\n"
	"token (label or serial:SERIAL) and pin_file; FOUNT_HSM_PIN overrides the\n"
	"PIN file. The PIN is never taken from the command line.\n"
	"\n"
	"commands:\n"
	"  tokens                            list the tokens the module offers\n"
	"  objects                           list the objects on the token\n"
	"  keygen --type T --label L         generate a key inside the HSM\n"
	"         T: aes-128, aes-256, rsa-3072, ec-p256\n"
	"  kek-create --label L --out FILE   make a transport KEK (fount's DRBG), install it\n"
	"                                    in the HSM, and keep fount's copy in FILE (0600)\n"
	"  import --key FILE --kek-label L --kek-file F --label L2\n"
	"                                    wrap the key in FILE under the KEK (AES-KWP, in\n"
	"                                    fount) and unwrap it inside the HSM. FILE is an\n"
	"                                    AES key (16 or 32 bytes, raw or hex) or a PKCS#8\n"
	"                                    private key, PEM or DER, as 'fount keygen' writes\n"
	"                                    it (rsa-2048/3072/4096, ec-p256/p384/p521): the\n"
	"                                    private half is unwrapped, the public half is\n"
	"                                    created beside it with the same label and id\n"
	"  seed [--bytes N]                  seed the HSM's RNG from fount's DRBG (default 48)\n"
	"\n"
	"  --hsm NAME       use [hsm.NAME] instead of [hsm]\n"
	"  --extractable    (keygen, import) the key may later leave the HSM wrapped\n"
	"  --wrap           (keygen, AES) a key that wraps and unwraps other keys and\n"
	"                   does nothing else: [store] kek = hsm:LABEL on every node\n"
	"  -h, --help       this text ('fount hsm COMMAND --help' too)\n";

enum sub { SUB_TOKENS, SUB_OBJECTS, SUB_KEYGEN, SUB_KEK_CREATE, SUB_IMPORT, SUB_SEED };

static const struct { const char *name; enum sub sub; } subs[] = {
	{"tokens", SUB_TOKENS}, {"objects", SUB_OBJECTS}, {"keygen", SUB_KEYGEN},
	{"kek-create", SUB_KEK_CREATE}, {"import", SUB_IMPORT}, {"seed", SUB_SEED},
};

static int fail(const char *what, err_t r)
{
	fprintf(stderr, "fount hsm %s: %s\n", what, err_str(r));
	return EXIT_FAIL;
}

/* read_key reads a 16- or 32-byte AES key (raw or hex) from |path| into
 * |key| (secure memory, HSM_AES_KEY_MAX bytes); on failure one line names
 * |what|. */
static err_t read_key(const char *what, const char *path, uint8_t *key, size_t *key_len)
{
	struct cli_buf b;
	err_t r = cli_read_file("hsm import", what, path, 160, &b);
	if (r != ERR_OK)
		return r;
	if ((r = hsm_aes_key_parse(b.p, b.len, key, HSM_AES_KEY_MAX, key_len)) != ERR_OK)
		fprintf(stderr, "fount hsm import: %s: not a 16- or 32-byte %s (raw or hex)\n", path, what);
	cli_buf_free(&b);
	return r;
}

static int sub_tokens(const struct config_hsm *hc)
{
	struct hsm_token_info t[32];
	size_t n = 0;
	err_t r = hsm_list_tokens(hc, t, ARRAY_SIZE(t), &n);
	if (r != ERR_OK)
		return fail("tokens", r);
	printf("%-32s  %-16s  %-24s  %s\n", "label", "serial", "manufacturer", "model");
	for (size_t i = 0; i < n && i < ARRAY_SIZE(t); i++)
		printf("%-32s  %-16s  %-24s  %s\n", t[i].label, t[i].serial, t[i].manufacturer,
		       t[i].model);
	return EXIT_OK;
}

static const char *tri(int v)
{
	return v < 0 ? "-" : v ? "yes" : "no";
}

static int sub_objects(struct hsm *h)
{
	enum { MAX = 256 };
	struct hsm_object_info *o = calloc(MAX, sizeof(*o));
	size_t n = 0;
	if (o == NULL)
		return fail("objects", ERR_NOMEM);
	err_t r = hsm_list_objects(h, o, MAX, &n);
	if (r != ERR_OK) {
		free(o);
		return fail("objects", r);
	}
	printf("%-24s  %-40s  %-11s  %-7s  %5s  %-9s  %s\n", "label", "id", "class", "type",
	       "bits", "sensitive", "extractable");
	for (size_t i = 0; i < n && i < MAX; i++)
		printf("%-24s  %-40s  %-11s  %-7s  %5lu  %-9s  %s\n", o[i].label, o[i].id_hex,
		       o[i].class_name, o[i].key_type[0] ? o[i].key_type : "-", o[i].bits,
		       tri(o[i].sensitive), tri(o[i].extractable));
	free(o);
	return EXIT_OK;
}

/* fount's copy of a new KEK: a file created 0600 (never overwritten) and
 * synced before the HSM gets the KEK; removed again if it does not. */
struct kek_file {
	const char *path;
	bool reported; /* keep printed why it failed */
};

static err_t kek_file_keep(void *ctx, const uint8_t *kek, size_t len)
{
	struct kek_file *f = ctx;
	int fd = cli_create_file("hsm kek-create", f->path, 0600);
	f->reported = true;
	if (fd < 0)
		return ERR_IO;
	bool wrote = cli_write_all(fd, kek, len);
	if (!wrote)
		fprintf(stderr, "fount hsm kek-create: cannot write %s: %s\n", f->path, strerror(errno));
	if (!cli_finish_file(f->path, fd, wrote))
		return ERR_IO;
	f->reported = false;
	return ERR_OK;
}

static void kek_file_discard(void *ctx)
{
	struct kek_file *f = ctx;
	unlink(f->path);
}

static int sub_kek_create(struct hsm *h, const char *label, const char *out)
{
	struct kek_file f = {out, false};
	const struct hsm_kek_copy copy = {kek_file_keep, kek_file_discard, &f};
	err_t r = hsm_kek_create(h, label, &copy);
	if (r != ERR_OK)
		return f.reported ? EXIT_FAIL : fail("kek-create", r);
	printf("KEK '%s' installed (AES-256, wrap/unwrap only); fount's copy: %s\n", label, out);
	return EXIT_OK;
}

static int sub_import(struct hsm *h, const char *key_path, const char *kek_path,
		      const char *kek_label, const char *label, unsigned flags)
{
	err_t r = ERR_INTERNAL;
	int rc = EXIT_FAIL;
	uint8_t *kek = secmem_alloc(HSM_AES_KEY_MAX, &r);
	size_t kek_len = 0;
	struct cli_buf kf = {0};
	struct hsm_import_key *key = NULL;
	if (kek == NULL) {
		rc = fail("import", r);
		goto out;
	}
	/* the key file decides: a raw (or hex) AES key, or a PKCS#8 private
	 * key as `fount keygen` writes it (PEM or DER) */
	if (cli_read_file("hsm import", "key file", key_path, KEYGEN_MAX_KEY_FILE, &kf) != ERR_OK)
		goto out;
	if (hsm_import_key_parse(kf.p, kf.len, &key) != ERR_OK) {
		fprintf(stderr, "fount hsm import: %s: neither an AES key (16 or 32 bytes, raw or hex) "
			"nor a PKCS#8 private key (PEM or DER)\n", key_path);
		goto out;
	}
	cli_buf_free(&kf);
	if (read_key("KEK", kek_path, kek, &kek_len) != ERR_OK)
		goto out;
	const struct keygen_type *t = hsm_import_key_type(key);
	r = hsm_import(h, kek_label, kek, kek_len, key, label, flags);
	if (r == ERR_UNSUPPORTED && t->kind != KEYGEN_KIND_SYM) {
		fprintf(stderr, "fount hsm import: %s keys cannot be imported into an HSM "
			"(rsa-2048/3072/4096 and ec-p256/p384/p521 can)\n", t->name);
		goto out;
	}
	if (r != ERR_OK) {
		rc = fail("import", r);
		goto out;
	}
	if (t->kind == KEYGEN_KIND_SYM)
		printf("imported AES-%u key '%s' (unwrapped inside the HSM under '%s')\n", t->bits,
		       label, kek_label);
	else
		printf("imported %s key pair '%s' (private key unwrapped inside the HSM under '%s')\n",
		       t->name, label, kek_label);
	rc = EXIT_OK;
out:
	cli_buf_free(&kf);
	hsm_import_key_free(key);
	secmem_free(kek, HSM_AES_KEY_MAX);
	return rc;
}

int cmd_hsm(int argc, char **argv, const struct config *cfg)
{
	static const struct option opts[] = {
		{"hsm", required_argument, NULL, 'H'},
		{"type", required_argument, NULL, 't'},
		{"label", required_argument, NULL, 'l'},
		{"key", required_argument, NULL, 'k'},
		{"kek-label", required_argument, NULL, 'K'},
		{"kek-file", required_argument, NULL, 'F'},
		{"out", required_argument, NULL, 'o'},
		{"bytes", required_argument, NULL, 'n'},
		{"extractable", no_argument, NULL, 'x'},
		{"wrap", no_argument, NULL, 'w'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *name = NULL, *type_s = NULL, *label = NULL, *key = NULL;
	const char *kek_label = NULL, *kek_file = NULL, *out = NULL;
	uint64_t bytes = 48;
	unsigned flags = 0;
	const char *sub_name = NULL;
	enum sub sub = SUB_TOKENS;
	int c;

	/* optind 0 re-initializes glibc's getopt, so it permutes again after
	 * main's "+" scan: the sub-command may come before or after options */
	optind = 0;
	while ((c = getopt_long(argc, argv, ":n:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'H': name = optarg; break;
		case 't': type_s = optarg; break;
		case 'l': label = optarg; break;
		case 'k': key = optarg; break;
		case 'K': kek_label = optarg; break;
		case 'F': kek_file = optarg; break;
		case 'o': out = optarg; break;
		case 'n':
			if (cli_parse_size(optarg, &bytes) != ERR_OK || bytes == 0 || bytes > (16u << 20))
				return cli_usage_error("hsm", "--bytes wants 1 to 16M, not '%s'", optarg);
			break;
		case 'x': flags |= HSM_KEY_EXTRACTABLE; break;
		case 'w': flags |= HSM_KEY_KEK; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return cli_option_error("hsm", c, argc, argv, opts);
		}
	}
	if (optind >= argc)
		return cli_usage_error("hsm", "a command is required (tokens, objects, keygen, kek-create, import, seed)");
	sub_name = argv[optind];
	bool found = false;
	for (size_t i = 0; i < ARRAY_SIZE(subs); i++) {
		if (strcmp(subs[i].name, sub_name) == 0) {
			sub = subs[i].sub;
			found = true;
		}
	}
	if (!found)
		return cli_usage_error("hsm", "unknown command '%s'", sub_name);
	if (optind + 1 < argc)
		return cli_usage_error("hsm", "unexpected argument '%s'", argv[optind + 1]);

	enum hsm_key_type type = HSM_KEY_AES_256;
	switch (sub) {
	case SUB_KEYGEN:
		if (type_s == NULL || label == NULL)
			return cli_usage_error("hsm", "keygen needs --type and --label");
		if (hsm_key_type_parse(type_s, &type) != ERR_OK)
			return cli_usage_error("hsm", "--type wants aes-128, aes-256, rsa-3072 or ec-p256, not '%s'", type_s);
		break;
	case SUB_KEK_CREATE:
		if (label == NULL || out == NULL)
			return cli_usage_error("hsm", "kek-create needs --label and --out");
		break;
	case SUB_IMPORT:
		if (key == NULL || kek_label == NULL || kek_file == NULL || label == NULL)
			return cli_usage_error("hsm", "import needs --key, --kek-label, --kek-file and --label");
		break;
	case SUB_TOKENS:
	case SUB_OBJECTS:
	case SUB_SEED:
	default:
		break;
	}

	const struct config_hsm *hc = config_hsm_find(cfg, name);
	if (hc == NULL)
		return cli_usage_error("hsm", "no [hsm.%s] section in the configuration", name);
	if (hc->module[0] == '\0') {
		fprintf(stderr, "fount hsm %s: no HSM configured (set [hsm%s%s] module or FOUNT_HSM_MODULE)\n",
			sub_name, name ? "." : "", name ? name : "");
		return EXIT_FAIL;
	}
	if (sub == SUB_TOKENS)
		return sub_tokens(hc);

	/* everything that uses fount's DRBG or key wrapping gates on the
	 * power-on self-tests */
	if (sub != SUB_OBJECTS && cli_power_on(cfg) != ERR_OK)
		return EXIT_FAIL;

	struct hsm *h = NULL;
	err_t r = hsm_open(hc, &h);
	if (r != ERR_OK)
		return fail(sub_name, r);
	int rc = EXIT_FAIL;
	switch (sub) {
	case SUB_OBJECTS:
		rc = sub_objects(h);
		break;
	case SUB_KEYGEN:
		r = hsm_generate(h, type, label, flags);
		if (r != ERR_OK) {
			rc = fail("keygen", r);
			break;
		}
		printf("generated %s '%s' inside the HSM (sensitive, %s%s)\n", type_s, label,
		       flags & HSM_KEY_EXTRACTABLE ? "extractable wrapped" : "non-extractable",
		       flags & HSM_KEY_KEK ? ", wrap and unwrap only" : "");
		rc = EXIT_OK;
		break;
	case SUB_KEK_CREATE:
		rc = sub_kek_create(h, label, out);
		break;
	case SUB_IMPORT:
		rc = sub_import(h, key, kek_file, kek_label, label, flags);
		break;
	case SUB_SEED:
		r = hsm_seed_from_drbg(h, (size_t)bytes);
		if (r == ERR_HSM_NOT_SUPPORTED) {
			/* the token's answer, not a fault (PKCS#11 v2.40 §5.15) */
			printf("the token does not accept seed material (C_SeedRandom not supported)\n");
			rc = EXIT_OK;
		} else if (r != ERR_OK) {
			rc = fail("seed", r);
		} else {
			printf("seeded the HSM's RNG with %llu bytes from fount's DRBG\n",
			       (unsigned long long)bytes);
			rc = EXIT_OK;
		}
		break;
	case SUB_TOKENS:
	default:
		break;
	}
	hsm_close(h);
	return rc;
}
