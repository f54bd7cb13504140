/* cli/cli.h — the sub-commands of the fount program that other code (tests,
 * fuzz targets) calls directly. */
#ifndef FOUNT_CLI_CLI_H
#define FOUNT_CLI_CLI_H

#include <stdio.h>

#include "util/util.h"

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

#endif /* FOUNT_CLI_CLI_H */
