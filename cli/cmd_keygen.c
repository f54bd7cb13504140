/* cli/cmd_keygen.c — `fount keygen`: a new key of any type in the table,
 * written to private files (or, for a symmetric key without --out, as hex
 * on stdout), optionally wrapped under a KEK first. The key itself comes
 * from keygen_export; this file parses the arguments and writes files. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "keygen/keygen.h"

CSP_USE("Symmetric keys", "fount keygen's output (hex or a wrapped key) before it is written");

static const char usage[] =
	"usage: fount keygen --type TYPE [--out FILE] [--pub FILE] [--format pem|der]\n"
	"                    [--wrap-with KEK_FILE --wrap-alg kw|kwp|rsa-oaep]\n"
	"\n"
	"Generates a key after the power-on self-tests pass. Symmetric keys come\n"
	"from fount's CTR_DRBG with prediction resistance (a fresh reseed from the\n"
	"noise sources); key pairs from the crypto provider, each checked by a\n"
	"pairwise-consistency test before it is written.\n"
	"\n"
	"  -t, --type TYPE       aes-128 aes-192 aes-256 hmac-sha256 hmac-sha384\n"
	"                        hmac-sha512 rsa-2048 rsa-3072 rsa-4096 ec-p256\n"
	"                        ec-p384 ec-p521 ed25519 x25519\n"
	"  -o, --out FILE        the key: raw bytes (symmetric) or PKCS#8 (key pairs),\n"
	"                        created with mode 0600, never overwritten. Required\n"
	"                        for key pairs; a symmetric key without it is printed\n"
	"                        as one line of hex\n"
	"      --pub FILE        the public key, SubjectPublicKeyInfo (key pairs)\n"
	"      --format pem|der  encoding of key-pair files (default pem)\n"
	"      --wrap-with FILE  write the key wrapped under this KEK instead: a raw\n"
	"                        16/24/32-byte AES key (kw, kwp) or an RSA public key,\n"
	"                        PEM or DER SubjectPublicKeyInfo (rsa-oaep)\n"
	"      --wrap-alg ALG    kw (RFC 3394; symmetric keys only), kwp (RFC 5649),\n"
	"                        rsa-oaep (SHA-256, MGF1-SHA-256)\n"
	"  -h, --help            this text\n";

int cmd_keygen(int argc, char **argv, const struct config *cfg)
{
	static const struct option opts[] = {
		{"type", required_argument, NULL, 't'},
		{"out", required_argument, NULL, 'o'},
		{"pub", required_argument, NULL, 'p'},
		{"format", required_argument, NULL, 'f'},
		{"wrap-with", required_argument, NULL, 'w'},
		{"wrap-alg", required_argument, NULL, 'a'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *type_name = NULL, *out_path = NULL, *pub_path = NULL, *fmt_name = NULL;
	const char *kek_path = NULL, *alg_name = NULL;
	struct keygen_kek kek = {0};
	enum keygen_wrap_alg alg = KEYGEN_WRAP_KWP;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, ":t:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 't': type_name = optarg; break;
		case 'o': out_path = optarg; break;
		case 'p': pub_path = optarg; break;
		case 'f': fmt_name = optarg; break;
		case 'w': kek_path = optarg; break;
		case 'a': alg_name = optarg; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return cli_option_error("keygen", c, argc, argv, opts);
		}
	}
	if (optind < argc)
		return cli_usage_error("keygen", "unexpected argument '%s'", argv[optind]);
	if (type_name == NULL)
		return cli_usage_error("keygen", "--type TYPE is required");
	const struct keygen_type *t = keygen_type_find(type_name);
	if (t == NULL)
		return cli_usage_error("keygen", "unknown key type '%s'", type_name);
	bool sym = t->kind == KEYGEN_KIND_SYM;
	enum keygen_format fmt = KEYGEN_FMT_PEM;
	if (fmt_name != NULL) {
		if (sym)
			return cli_usage_error("keygen", "--format applies to key pairs; symmetric keys are raw bytes");
		if (strcmp(fmt_name, "pem") == 0)
			fmt = KEYGEN_FMT_PEM;
		else if (strcmp(fmt_name, "der") == 0)
			fmt = KEYGEN_FMT_DER;
		else
			return cli_usage_error("keygen", "--format is pem or der, not '%s'", fmt_name);
	}
	if (sym && pub_path != NULL)
		return cli_usage_error("keygen", "--pub applies to key pairs; %s is symmetric", t->name);
	if (!sym && out_path == NULL)
		return cli_usage_error("keygen", "key pairs need --out FILE for the private key");
	if ((kek_path == NULL) != (alg_name == NULL))
		return cli_usage_error("keygen", "--wrap-with and --wrap-alg go together");
	if (alg_name != NULL && keygen_wrap_alg_find(alg_name, &alg) != ERR_OK)
		return cli_usage_error("keygen", "--wrap-alg is kw, kwp or rsa-oaep, not '%s'", alg_name);
	if (alg_name != NULL && alg == KEYGEN_WRAP_KW && !sym)
		return cli_usage_error("keygen", "kw wraps whole 8-byte blocks only (symmetric keys); use --wrap-alg kwp");
	if (out_path != NULL && pub_path != NULL && strcmp(out_path, pub_path) == 0)
		return cli_usage_error("keygen", "--out and --pub name the same file");

	int rc = EXIT_FAIL, fd = -1, pub_fd = -1;
	err_t r = ERR_OK;
	struct keygen_export e = {0};
	char *hex = NULL;
	size_t hex_cap = 0;

	/* power-on first: the KEK is decoded in fount's library context (the
	 * FIPS provider), which exists only after it */
	if (cli_power_on(cfg) != ERR_OK)
		goto out;
	if (kek_path != NULL && cli_kek_load("keygen", kek_path, alg, false, &kek) != ERR_OK)
		goto out;
	/* create the files first: refuse to overwrite before any work */
	if (out_path != NULL && (fd = cli_create_file("keygen", out_path, 0600)) < 0)
		goto out;
	if (pub_path != NULL && (pub_fd = cli_create_file("keygen", pub_path, 0644)) < 0)
		goto out;

	/* a long-term key: prediction resistance (SP 800-90A §9.3.1) */
	r = keygen_export(t, fmt, KEYGEN_F_PR | (pub_path != NULL ? KEYGEN_EXPORT_PUB : 0),
			  kek_path != NULL ? &kek : NULL, &e);
	if (r != ERR_OK && e.plain_len != 0) {
		cli_wrap_error("keygen", alg, e.plain_len, r);
		goto out;
	}
	if (r != ERR_OK) {
		fprintf(stderr, "fount keygen: cannot generate a %s key: %s\n", t->name, err_str(r));
		goto out;
	}
	if (fd >= 0) {
		if (!cli_write_all(fd, e.key.p, e.key.len)) {
			perror("fount keygen: write");
			goto out;
		}
	} else {
		/* a symmetric key (or its wrap) as one line of hex on stdout */
		hex_cap = 2 * e.key.len + 2;
		hex = secmem_alloc(hex_cap, &r);
		if (hex == NULL) {
			fprintf(stderr, "fount keygen: %s\n", err_str(r));
			goto out;
		}
		hex_encode(hex, e.key.p, e.key.len);
		hex[2 * e.key.len] = '\n';
		if (!cli_write_all(STDOUT_FILENO, hex, 2 * e.key.len + 1)) {
			perror("fount keygen: write");
			goto out;
		}
	}
	if (pub_fd >= 0 && !cli_write_all(pub_fd, e.pub.p, e.pub.len)) {
		perror("fount keygen: write");
		goto out;
	}
	rc = EXIT_OK;
out:
	{
		bool kept = cli_finish_file(out_path, fd, rc == EXIT_OK);
		if (!cli_finish_file(pub_path, pub_fd, kept) && kept) {
			/* the public half failed late: drop the private one too */
			if (fd >= 0)
				unlink(out_path);
			kept = false;
		}
		if (!kept)
			rc = EXIT_FAIL;
	}
	keygen_export_free(&e);
	secmem_free(hex, hex_cap);
	keygen_kek_free(&kek);
	return rc;
}
