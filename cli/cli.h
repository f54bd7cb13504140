/* cli/cli.h — the fount command line: one entry point per sub-command,
 * shared helpers, and the ACVP harness. */
#ifndef FOUNT_CLI_CLI_H
#define FOUNT_CLI_CLI_H

#include <stdio.h>

#include "util/util.h"

#define FOUNT_VERSION "0.1.0"

/* Exit codes: 0 success, 1 the operation failed, 2 bad usage. */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

int cmd_random(int argc, char **argv, const struct config *cfg);
int cmd_selftest(int argc, char **argv, const struct config *cfg);
int cmd_entropy(int argc, char **argv, const struct config *cfg);
int cmd_acvp(int argc, char **argv, const struct config *cfg);
int cmd_serve(int argc, char **argv, const struct config *cfg);
int cmd_version(int argc, char **argv, const struct config *cfg);
int cmd_config(int argc, char **argv, const struct config *cfg);
int cmd_hsm(int argc, char **argv, const struct config *cfg);

/* cli_usage_error prints "fount CMD: MESSAGE" and a pointer to --help on
 * stderr and returns EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) PRINTF_LIKE(2, 3);

/* cli_power_on runs the power-on self-tests quietly and prints a one-line
 * reason on failure. Returns ERR_OK when the module is OPERATIONAL. */
err_t cli_power_on(const struct config *cfg) MUST_CHECK;

/* cli_parse_size parses "N", "NK", "NM", "NG" (powers of 1024). */
err_t cli_parse_size(const char *s, uint64_t *out) MUST_CHECK;

/* A progress bar on stderr, drawn only when stderr is a terminal. */
struct progress {
	const char *label;
	uint64_t total, done;
	uint64_t last_draw_ns;
	bool active;
};
void progress_start(struct progress *p, const char *label, uint64_t total);
void progress_update(struct progress *p, uint64_t done);
void progress_finish(struct progress *p);

/* Largest ACVP request acvp_run reads, in bytes. */
#define ACVP_MAX_INPUT (16u << 20)

/* acvp_run reads an ACVP ctrDRBG revision 1.0 request (a bare vector set,
 * or the ACVP array form [{"acvVersion":...}, {vector set}]) from |in|,
 * runs every test on the CTR_DRBG primitives directly (no gate), and
 * writes the response vector set to |out| in the same form. Groups fount
 * does not support (mode other than AES-256, derFunc false) and malformed
 * groups or tests get an "error" member in the response and a line on
 * |err|. Returns ERR_OK if every test ran, ERR_UNSUPPORTED if some group was
 * unsupported, ERR_PARSE if the request or some group or test was malformed
 * (for a request that is not a vector set at all, nothing is written to
 * |out|), ERR_TOO_LARGE if it exceeds ACVP_MAX_INPUT. */
err_t acvp_run(FILE *in, FILE *out, FILE *err) MUST_CHECK;

#endif
