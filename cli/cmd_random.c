/* cli/cmd_random.c — `fount random`: bytes from the DRBG tree. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "keygen/keygen.h"

CSP_USE("Random output", "fount random's output buffer (raw or text) in locked memory");

static const char usage[] =
	"usage: fount random -n BYTES [--hex | --base64 | --raw] [-o FILE] [--pr]\n"
	"\n"
	"Writes BYTES random bytes from fount's health-tested CTR_DRBG, after the\n"
	"power-on self-tests pass. BYTES may end in K, M or G (powers of 1024).\n"
	"\n"
	"  -n, --bytes BYTES   how many bytes (required)\n"
	"      --hex           lowercase hex, one line (the default)\n"
	"      --base64        base64, one line\n"
	"      --raw           the bytes themselves\n"
	"  -o, --out FILE      write to FILE (created with mode 0600; never overwritten)\n"
	"      --pr            prediction resistance: reseed from the noise sources first\n"
	"  -h, --help          this text\n";

enum format { FMT_HEX, FMT_BASE64, FMT_RAW };

/* 48 KiB: a multiple of 3 so base64 chunks concatenate without padding. */
#define CHUNK (48 * 1024)

int cmd_random(int argc, char **argv, const struct config *cfg)
{
	static const struct option opts[] = {
		{"bytes", required_argument, NULL, 'n'},
		{"hex", no_argument, NULL, 'x'},
		{"base64", no_argument, NULL, 'b'},
		{"raw", no_argument, NULL, 'r'},
		{"out", required_argument, NULL, 'o'},
		{"pr", no_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	uint64_t total = 0;
	bool have_n = false, pr = false;
	int nformats = 0;
	enum format fmt = FMT_HEX;
	const char *path = NULL;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, ":n:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (cli_parse_size(optarg, &total) != ERR_OK)
				return cli_usage_error("random", "-n wants a byte count such as 32 or 4K, not '%s'", optarg);
			have_n = true;
			break;
		case 'x': fmt = FMT_HEX; nformats++; break;
		case 'b': fmt = FMT_BASE64; nformats++; break;
		case 'r': fmt = FMT_RAW; nformats++; break;
		case 'o': path = optarg; break;
		case 'p': pr = true; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return cli_option_error("random", c, argc, argv, opts);
		}
	}
	if (optind < argc)
		return cli_usage_error("random", "unexpected argument '%s'", argv[optind]);
	if (!have_n)
		return cli_usage_error("random", "-n BYTES is required");
	if (nformats > 1)
		return cli_usage_error("random", "choose one of --hex, --base64, --raw");
	if (fmt == FMT_RAW && path == NULL && isatty(STDOUT_FILENO))
		return cli_usage_error("random", "refusing to write raw bytes to a terminal; use -o FILE or --hex");

	if (cli_power_on(cfg) != ERR_OK)
		return EXIT_FAIL;

	int fd = STDOUT_FILENO;
	/* random bytes are often keys: private, and never clobber a file */
	if (path && (fd = cli_create_file("random", path, 0600)) < 0)
		return EXIT_FAIL;

	int rc = EXIT_FAIL;
	err_t r = ERR_OK;
	uint8_t *buf = secmem_alloc(CHUNK, &r);
	char *text = NULL;
	size_t text_len = fmt == FMT_RAW ? 0 : 2 * CHUNK + 2;
	if (buf == NULL) {
		fprintf(stderr, "fount random: %s\n", err_str(r));
		goto out;
	}
	if (text_len && (text = secmem_alloc(text_len, &r)) == NULL) {
		fprintf(stderr, "fount random: %s\n", err_str(r));
		goto out;
	}
	struct progress prog;
	progress_start(&prog, "random", total >= (64u << 20) ? total : 0);
	for (uint64_t done = 0; done < total;) {
		size_t n = total - done < CHUNK ? (size_t)(total - done) : CHUNK;
		r = pr && done == 0 ? drbg_generate_pr(buf, n) : drbg_generate(buf, n);
		if (r != ERR_OK) {
			fprintf(stderr, "\nfount random: %s\n", err_str(r));
			goto out;
		}
		bool ok;
		switch (fmt) {
		case FMT_HEX:
			hex_encode(text, buf, n);
			ok = cli_write_all(fd, text, 2 * n);
			break;
		case FMT_BASE64: {
			int len = EVP_EncodeBlock((unsigned char *)text, buf, (int)n);
			ok = len >= 0 && cli_write_all(fd, text, (size_t)len);
			break;
		}
		case FMT_RAW:
			ok = cli_write_all(fd, buf, n);
			break;
		default:
			ok = false;
			break;
		}
		if (!ok) {
			fprintf(stderr, "\nfount random: write failed: %s\n", strerror(errno));
			goto out;
		}
		done += n;
		progress_update(&prog, done);
	}
	progress_finish(&prog);
	if (fmt != FMT_RAW && !cli_write_all(fd, "\n", 1))
		goto out;
	rc = EXIT_OK;
out:
	secmem_free(buf, CHUNK);
	secmem_free(text, text_len);
	if (path)
		if (!cli_finish_file(path, fd, rc == EXIT_OK))
			rc = EXIT_FAIL;
	return rc;
}
