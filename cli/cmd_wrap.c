/* cli/cmd_wrap.c — `fount wrap` and `fount unwrap`: an existing key file
 * wrapped under, or unwrapped from, a KEK. The output is created 0600 with
 * O_EXCL and removed again if anything fails. The wrapping is
 * keygen_kek_wrap / keygen_kek_unwrap; this file parses and writes. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "keygen/keygen.h"

static const char wrap_usage[] =
	"usage: fount wrap --kek FILE --alg kw|kwp|rsa-oaep --in KEYFILE --out FILE\n"
	"\n"
	"Wraps the bytes of KEYFILE (a raw key, or a PKCS#8 file) for transport.\n"
	"\n"
	"  -k, --kek FILE   kw, kwp: a raw 16, 24 or 32-byte AES key;\n"
	"                   rsa-oaep: an RSA public key, SubjectPublicKeyInfo PEM or DER\n"
	"  -a, --alg ALG    kw (RFC 3394: multiples of 8 bytes, at least 16),\n"
	"                   kwp (RFC 5649: any length), rsa-oaep (SHA-256, MGF1-SHA-256)\n"
	"  -i, --in FILE    the key to wrap\n"
	"  -o, --out FILE   the wrapped key (mode 0600, never overwritten)\n"
	"  -h, --help       this text\n";

static const char unwrap_usage[] =
	"usage: fount unwrap --kek FILE --alg kw|kwp|rsa-oaep --in WRAPPED --out FILE\n"
	"\n"
	"Unwraps a key; a wrong KEK or damaged input is refused and nothing is written.\n"
	"\n"
	"  -k, --kek FILE   kw, kwp: the raw AES key it was wrapped under;\n"
	"                   rsa-oaep: the RSA private key, PKCS#8 PEM or DER\n"
	"  -a, --alg ALG    kw, kwp or rsa-oaep\n"
	"  -i, --in FILE    the wrapped key\n"
	"  -o, --out FILE   the key (mode 0600, never overwritten)\n"
	"  -h, --help       this text\n";

static int run(int argc, char **argv, const struct config *cfg, bool unwrap)
{
	static const struct option opts[] = {
		{"kek", required_argument, NULL, 'k'},
		{"alg", required_argument, NULL, 'a'},
		{"in", required_argument, NULL, 'i'},
		{"out", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *cmd = unwrap ? "unwrap" : "wrap";
	const char *kek_path = NULL, *alg_name = NULL, *in_path = NULL, *out_path = NULL;
	enum keygen_wrap_alg alg = KEYGEN_WRAP_KWP;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, ":k:a:i:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'k': kek_path = optarg; break;
		case 'a': alg_name = optarg; break;
		case 'i': in_path = optarg; break;
		case 'o': out_path = optarg; break;
		case 'h': fputs(unwrap ? unwrap_usage : wrap_usage, stdout); return EXIT_OK;
		default: return cli_option_error(cmd, c, argc, argv, opts);
		}
	}
	if (optind < argc)
		return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if (kek_path == NULL || alg_name == NULL || in_path == NULL || out_path == NULL)
		return cli_usage_error(cmd, "--kek, --alg, --in and --out are required");
	if (keygen_wrap_alg_find(alg_name, &alg) != ERR_OK)
		return cli_usage_error(cmd, "--alg is kw, kwp or rsa-oaep, not '%s'", alg_name);
	if (strcmp(in_path, out_path) == 0 || strcmp(kek_path, out_path) == 0)
		return cli_usage_error(cmd, "--out must be a new file");

	int rc = EXIT_FAIL, fd = -1;
	struct keygen_kek kek = {0};
	struct cli_buf in = {0};
	struct keygen_buf res = {0};
	err_t r;

	/* power-on first: the KEK is decoded in fount's library context (the
	 * FIPS provider), which exists only after it */
	if (cli_power_on(cfg) != ERR_OK)
		goto out;
	if (cli_kek_load(cmd, kek_path, alg, unwrap, &kek) != ERR_OK)
		goto out;
	/* a wrapped key is at most 16 bytes longer (KW, KWP) or k bytes (OAEP) */
	if (cli_read_file(cmd, unwrap ? "wrapped key" : "key", in_path,
			  KEYGEN_WRAP_MAX_INPUT + (unwrap ? 16 : 0), &in) != ERR_OK)
		goto out;
	if ((fd = cli_create_file(cmd, out_path, 0600)) < 0)
		goto out;
	if (!unwrap) {
		r = keygen_kek_wrap(&kek, in.p, in.len, &res);
		if (r != ERR_OK) {
			cli_wrap_error(cmd, alg, in.len, r);
			goto out;
		}
	} else {
		r = keygen_kek_unwrap(&kek, in.p, in.len, &res);
		if (r != ERR_OK) {
			fprintf(stderr, "fount %s: %s\n", cmd, err_str(r));
			goto out;
		}
	}
	if (!cli_write_all(fd, res.p, res.len)) {
		fprintf(stderr, "fount %s: cannot write %s\n", cmd, out_path);
		goto out;
	}
	rc = EXIT_OK;
out:
	if (!cli_finish_file(out_path, fd, rc == EXIT_OK))
		rc = EXIT_FAIL;
	keygen_buf_free(&res);
	cli_buf_free(&in);
	keygen_kek_free(&kek);
	return rc;
}

int cmd_wrap(int argc, char **argv, const struct config *cfg)
{
	return run(argc, argv, cfg, false);
}

int cmd_unwrap(int argc, char **argv, const struct config *cfg)
{
	return run(argc, argv, cfg, true);
}
