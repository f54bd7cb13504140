/* cli/cmd_entropy.c — `fount entropy status` and `fount entropy raw`;
 * `fount entropy esv` is cli/cmd_esv.c. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "entropy/entropy.h"
#include "selftest/selftest.h"

static const char usage[] =
	"usage: fount entropy status\n"
	"       fount entropy raw --source rdseed|jitter --samples N [--bits B] -o FILE\n"
	"       fount entropy raw --source rdseed|jitter --restart [--bits B] -o FILE\n"
	"       fount entropy esv --source rdseed|jitter -o DIR [--samples N] [--assess TOOLS_DIR]\n"
	"\n"
	"status   runs the power-on self-tests, then shows each noise source: whether\n"
	"         it is credited and enabled, its claimed min-entropy H per sample,\n"
	"         its SP 800-90B health-test cutoffs, samples tested and failures.\n"
	"raw      writes raw noise samples, before health tests and conditioning,\n"
	"         one sample per byte: the input format of NIST's SP800-90B\n"
	"         EntropyAssessment tool (ea_non_iid FILE B; ea_restart FILE B H).\n"
	"esv      writes an SP 800-90B Entropy Source Validation package into DIR:\n"
	"         raw, restart and conditioned data, the claim and parameters, the\n"
	"         exact NIST tool commands, a draft public use document (esv --help).\n"
	"\n"
	"  -s, --source NAME   rdseed or jitter\n"
	"  -n, --samples N     how many samples (K, M suffixes; 1M is the tool's minimum)\n"
	"  -b, --bits B        keep the low B bits of each sample (1..8; default 8)\n"
	"      --restart       SP 800-90B §3.1.4 restart data: 1000 restarts x 1000\n"
	"                      samples, the source re-initialised before each row\n"
	"  -o, --out FILE      where to write the samples\n"
	"  -h, --help          this text\n";

static int entropy_status_cmd(const struct config *cfg)
{
	err_t r = cli_power_on(cfg);
	struct entropy_status st[ENTROPY_MAX_SOURCES];
	size_t n = entropy_status(st, ARRAY_SIZE(st));
	if (n > ARRAY_SIZE(st))
		n = ARRAY_SIZE(st);

	printf("%-10s %-8s %-8s %4s %5s %9s %13s %12s %6s %6s  %s\n", "source", "credited",
	       "enabled", "bits", "H", "RCT C", "APT W/C", "tested", "RCT!", "APT!", "last");
	for (size_t i = 0; i < n; i++) {
		char rct[24] = "-", apt[32] = "-";
		if (st[i].credited) {
			snprintf(rct, sizeof(rct), "%u/%u", st[i].cutoffs.rct_intermittent,
				 st[i].cutoffs.rct_permanent);
			snprintf(apt, sizeof(apt), "%u:%u/%u", st[i].cutoffs.apt_window,
				 st[i].cutoffs.apt_intermittent, st[i].cutoffs.apt_permanent);
		}
		printf("%-10s %-8s %-8s %4u %5.2f %9s %13s %12llu %6llu %6llu  %s\n", st[i].name,
		       st[i].credited ? "yes" : "no (AI)", st[i].enabled ? "yes" : "NO",
		       st[i].bits, st[i].credited ? st[i].h : 0.0, rct, apt,
		       (unsigned long long)st[i].samples_tested,
		       (unsigned long long)st[i].rct_failures,
		       (unsigned long long)st[i].apt_failures,
		       st[i].last_error ? err_str(st[i].last_error) : "ok");
	}
	printf("\nRCT C: intermittent/permanent cutoff; APT W:C: window and cutoffs;\n"
	       "AI: additional input only, never credited.\n"
	       "conditioner: HMAC-SHA-256 from the \"%s\" provider; state: %s\n",
	       entropy_conditioner_provider(), selftest_state_name(selftest_state()));
	return r == ERR_OK ? EXIT_OK : EXIT_FAIL;
}

static int entropy_raw_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		{"source", required_argument, NULL, 's'},
		{"samples", required_argument, NULL, 'n'},
		{"bits", required_argument, NULL, 'b'},
		{"restart", no_argument, NULL, 'R'},
		{"out", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *source = NULL, *path = NULL;
	uint64_t samples = 0;
	unsigned bits = 8;
	bool restart = false;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, ":s:n:b:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 's': source = optarg; break;
		case 'n':
			if (cli_parse_size(optarg, &samples) != ERR_OK || samples == 0)
				return cli_usage_error("entropy raw", "--samples wants a positive count, not '%s'", optarg);
			break;
		case 'b': {
			char *end = NULL;
			long b = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || b < 1 || b > 8)
				return cli_usage_error("entropy raw", "--bits wants 1 to 8, not '%s'", optarg);
			bits = (unsigned)b;
			break;
		}
		case 'R': restart = true; break;
		case 'o': path = optarg; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return cli_option_error("entropy raw", c, argc, argv, opts);
		}
	}
	if (optind < argc)
		return cli_usage_error("entropy raw", "unexpected argument '%s'", argv[optind]);
	if (source == NULL)
		return cli_usage_error("entropy raw", "--source is required (rdseed or jitter)");
	if (strcmp(source, "rdseed") != 0 && strcmp(source, "jitter") != 0)
		return cli_usage_error("entropy raw", "unknown source '%s' (rdseed or jitter)", source);
	if (path == NULL)
		return cli_usage_error("entropy raw", "-o FILE is required");
	if (restart && samples)
		return cli_usage_error("entropy raw", "--restart takes 1000 x 1000 samples; drop --samples");
	if (!restart && samples == 0)
		return cli_usage_error("entropy raw", "--samples N (or --restart) is required");

	enum { ROWS = 1000, ROW_LEN = 1000, CHUNK = 65536 };
	uint64_t total = restart ? (uint64_t)ROWS * ROW_LEN : samples;
	size_t chunk = restart ? ROW_LEN : CHUNK;
	uint8_t mask = (uint8_t)((1u << bits) - 1);
	int rc = EXIT_FAIL;
	uint8_t *buf = malloc(chunk);
	/* raw samples are not secret, and re-capturing is routine: an existing
	 * regular file is replaced, whole and only once the capture is
	 * complete (a symbolic link is replaced, never followed) */
	int fd = buf == NULL ? -1 : cli_open_output("entropy raw", path, 0644, OUTFILE_REPLACE);
	if (fd < 0) {
		if (buf == NULL)
			fprintf(stderr, "fount entropy raw: %s\n", err_str(ERR_NOMEM));
		goto out;
	}
	struct progress prog;
	progress_start(&prog, source, total);
	for (uint64_t done = 0; done < total;) {
		size_t n = total - done < chunk ? (size_t)(total - done) : chunk;
		/* each entropy_raw call probes the source afresh: in restart mode
		 * every row of 1000 starts from a re-initialised source */
		err_t r = entropy_raw(source, buf, n);
		if (r != ERR_OK) {
			fprintf(stderr, "\nfount entropy raw: %s: %s\n", source, err_str(r));
			goto out;
		}
		for (size_t i = 0; i < n; i++)
			buf[i] &= mask;
		if (!cli_write_all(fd, buf, n)) {
			fprintf(stderr, "\nfount entropy raw: write to %s failed: %s\n", path, strerror(errno));
			goto out;
		}
		done += n;
		progress_update(&prog, done);
	}
	progress_finish(&prog);
	rc = EXIT_OK;
out:
	if (!cli_finish_file(path, fd, rc == EXIT_OK))
		rc = EXIT_FAIL;
	if (rc == EXIT_OK)
		fprintf(stderr, "wrote %llu %u-bit samples from %s to %s\n",
			(unsigned long long)total, bits, source, path);
	free(buf);
	return rc;
}

int cmd_entropy(int argc, char **argv, const struct config *cfg)
{
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (strcmp(argv[1], "status") == 0) {
		if (argc > 2 && (strcmp(argv[2], "-h") == 0 || strcmp(argv[2], "--help") == 0)) {
			fputs(usage, stdout);
			return EXIT_OK;
		}
		if (argc > 2)
			return cli_usage_error("entropy status", "unexpected argument '%s'", argv[2]);
		return entropy_status_cmd(cfg);
	}
	if (strcmp(argv[1], "raw") == 0)
		return entropy_raw_cmd(argc - 1, argv + 1);
	if (strcmp(argv[1], "esv") == 0)
		return cmd_entropy_esv(argc - 1, argv + 1, cfg);
	return cli_usage_error("entropy", "unknown sub-command '%s' (status, raw or esv)", argv[1]);
}
