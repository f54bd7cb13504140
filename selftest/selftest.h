/* selftest/selftest.h — the one public header of selftest/: power-on and
 * on-demand self-tests and the module state machine.
 *
 * The module is in exactly one state: POWER_ON, SELF_TEST, OPERATIONAL or
 * ERROR. Only OPERATIONAL lets random bits or keys out; ERROR is latched
 * until the process restarts. Every known-answer test can be broken on
 * purpose with FOUNT_SELFTEST_BREAK=<name> (or selftest_set_break), which
 * flips a bit of that test's computed value, to prove its failure is caught
 * and latched. */
#ifndef FOUNT_SELFTEST_SELFTEST_H
#define FOUNT_SELFTEST_SELFTEST_H

#include <stdio.h>

#include "util/util.h"

enum selftest_state {
	SELFTEST_POWER_ON = 0,
	SELFTEST_SELF_TEST,
	SELFTEST_OPERATIONAL,
	SELFTEST_ERROR,
};

#define SELFTEST_MAX_RESULTS 24

struct selftest_result {
	const char *name;  /* stable test name, also the break-hook name */
	err_t r;           /* ERR_OK, or why it failed */
	uint64_t ns;       /* how long it took */
	char detail[96];   /* a short note: the failing step, or "" */
	bool skipped;      /* not run: the provider lacks the algorithm (r is ERR_OK) */
};

/* selftest_power_on runs the power-on sequence: POWER_ON -> SELF_TEST, then
 * the software integrity check, the KATs and the health-test self-checks,
 * then the pipeline start-up (keygen_init, entropy_init with its 1024-sample
 * start-up tests, drbg_tree_init). All pass -> OPERATIONAL; any failure ->
 * ERROR, latched, and the failing test named in the results and the log.
 * Writes up to |max| results to |out| and their count to *out_n (either may
 * be NULL/0). Returns ERR_OK or ERR_SELFTEST. It runs once per process; a
 * second call returns the first call's verdict. */
err_t selftest_power_on(const struct config *cfg, struct selftest_result *out,
			size_t max, size_t *out_n) MUST_CHECK;

/* selftest_run runs the self-tests on demand (the KATs and health checks;
 * not the pipeline start-up). A failure latches ERROR. Requires a prior
 * successful selftest_power_on; in ERROR it runs nothing and returns
 * ERR_NOT_OPERATIONAL. */
err_t selftest_run(struct selftest_result *out, size_t max, size_t *out_n) MUST_CHECK;

enum selftest_state selftest_state(void);
const char *selftest_state_name(enum selftest_state s);
/* selftest_operational is the gate every output path checks. */
bool selftest_operational(void);

/* selftest_enter_error latches ERROR, naming |what| as the cause. */
void selftest_enter_error(err_t why, const char *what);
/* selftest_error_cause returns the name of what latched ERROR, or NULL. */
const char *selftest_error_cause(void);

/* selftest_set_break selects the test to corrupt (NULL: none). The
 * environment variable FOUNT_SELFTEST_BREAK sets it at power-on. An unknown
 * name is ERR_INVALID_ARG. */
err_t selftest_set_break(const char *name) MUST_CHECK;

/* selftest_names lists the names of every self-test in run order; returns
 * the count. */
size_t selftest_names(const char *const **out);

/* selftest_conditional_names lists the conditional self-tests that
 * FOUNT_SELFTEST_BREAK also accepts: the pairwise-consistency tests run on
 * every new key pair ("pct-rsa", "pct-ec", "pct-eddsa", "pct-x25519"). They
 * do not run at power-on; breaking one makes the next key pair of that
 * kind fail its PCT, which latches ERROR. Returns the count. */
size_t selftest_conditional_names(const char *const **out);

/* The security policy's self-test table (`fount policy`): every power-on
 * test in run order (power_on), then every conditional one, with what it
 * tests; what is NULL for a test that has no policy entry (fount policy
 * refuses to write a policy then). Returns the count (entries past |max|
 * are not written). */
struct selftest_doc {
	const char *name;
	bool power_on;
	const char *what;
};
size_t selftest_docs(struct selftest_doc *out, size_t max);

/* selftest_check compares |actual| with |expected|; on a mismatch (or when
 * |name| is the broken test, after flipping a bit of a copy of |actual|) it
 * logs the name and both values in hex and returns ERR_SELFTEST. Only for
 * known-answer values: never pass secrets. */
err_t selftest_check(const char *name, const uint8_t *expected,
		     const uint8_t *actual, size_t len) MUST_CHECK;

/* selftest_reset_for_testing returns the module to POWER_ON and shuts the
 * pipeline down. Unit tests only. */
void selftest_reset_for_testing(void);

/* ---- the ACVP harness (selftest/acvp.c, acvp_algs.c) ------------------------ */

/* Largest ACVP request acvp_run reads, in bytes. */
#define ACVP_MAX_INPUT (16u << 20)

/* acvp_run reads an ACVP revision 1.0 request for ctrDRBG, SHA2-256,
 * HMAC-SHA2-256, ACVP-AES-KW or ACVP-AES-KWP (a bare vector set, or the
 * ACVP array form [{"acvVersion":...}, {vector set}]) from |in|, runs every
 * test (ctrDRBG on the CTR_DRBG primitives directly, no gate: the inputs
 * are the request's; the others through keygen/, which needs the module
 * OPERATIONAL), and writes the response vector set to |out| in the same
 * form. Groups fount does not support (a DRBG mode other than AES-256,
 * derFunc false, SHA LDT, kwCipher inverse, HMAC keys over 64 bytes) and malformed
 * groups or tests get an "error" member in the response and a line on
 * |err|. Returns ERR_OK if every test ran, ERR_UNSUPPORTED if some group was
 * unsupported, ERR_PARSE if the request or some group or test was malformed
 * (for a request that is not a vector set at all, nothing is written to
 * |out|), ERR_TOO_LARGE if it exceeds ACVP_MAX_INPUT. Without a library
 * context it first makes one (keygen_init on the defaults and FOUNT_*). */
err_t acvp_run(FILE *in, FILE *out, FILE *err) MUST_CHECK;

#endif /* FOUNT_SELFTEST_SELFTEST_H */
