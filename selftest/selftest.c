/* selftest/selftest.c — the module state machine, the self-test table,
 * the break hook and the power-on sequence. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "entropy/entropy.h"
#include "keygen/keygen.h"
#include "selftest/internal.h"

struct selftest_entry {
	const char *name;
	selftest_fn fn;
	const char *what; /* its security policy entry (`fount policy`) */
};

/* Run order: the integrity test first (IG 10.3.A), then the algorithms the
 * integrity test itself uses, then the rest. */
static const struct selftest_entry algo_tests[] = {
	{"integrity", selftest_integrity, "HMAC-SHA-256 over fount's own executable, compared with the value made at build time"},
	{"sha256", selftest_kat_sha256, "SHA2-256 known-answer test (FIPS 180-4)"},
	{"hmac-sha256", selftest_kat_hmac_sha256, "HMAC-SHA2-256 known-answer test (FIPS 198-1), the conditioner's and the integrity test's MAC"},
	{"sha512", selftest_kat_sha512, "SHA2-512 known-answer test (FIPS 180-4)"},
	{"aes256-enc", selftest_kat_aes256_enc, "AES-256 encryption known-answer test (FIPS 197)"},
	{"aes256-dec", selftest_kat_aes256_dec, "AES-256 decryption known-answer test (FIPS 197)"},
	{"aes-kw", selftest_kat_aes_kw, "AES key wrap known-answer test (SP 800-38F KW)"},
	{"ctr-drbg", selftest_kat_ctr_drbg, "CTR_DRBG (AES-256) instantiate, reseed and generate known-answer test (SP 800-90A §11.3)"},
	{"ctr-drbg-zeroize", selftest_kat_ctr_drbg_zeroize, "the DRBG's state is all zero after uninstantiate (SP 800-90A §11.3 health testing of uninstantiate)"},
	{"health-rct", selftest_health_rct, "the Repetition Count Test fails a stuck sample stream at its cutoff (SP 800-90B §4.4.1)"},
	{"health-apt", selftest_health_apt, "the Adaptive Proportion Test fails a biased window at its cutoff (SP 800-90B §4.4.2)"},
};

/* The KATs in which OpenSSL draws randomness (RSA blinding): at power-on
 * they run after the noise sources' start-up test, inside
 * keygen_rand_kat_begin/end, because the DRBG gate is still shut. */
static const struct selftest_entry pkey_tests[] = {
	{"rsa-sign", selftest_kat_rsa_sign, "RSA PKCS#1 v1.5 SHA-256 signature known-answer test (FIPS 186-5)"},
	{"ecdsa-verify", selftest_kat_ecdsa_verify, "ECDSA P-256 SHA-256 signature verification known-answer test (FIPS 186-5)"},
	{"eddsa-sign", selftest_kat_eddsa_sign, "Ed25519 signature known-answer test (FIPS 186-5)"},
};
STATIC_ASSERT(ARRAY_SIZE(algo_tests) + ARRAY_SIZE(pkey_tests) + 3 <= SELFTEST_MAX_RESULTS,
	      "result table too small");

/* The steps of the power-on sequence that are not KATs: the library
 * context (FIPS provider loaded, its own power-on self-tests passed), the
 * noise sources' start-up tests, and the primary DRBG's instantiation. */
#define STEP_PROVIDER "provider"
#define STEP_ENTROPY "entropy-startup"
#define STEP_DRBG "drbg-instantiate"
static const struct {
	const char *name, *what;
} step_docs[] = {
	{STEP_PROVIDER, "the OpenSSL provider loads; the FIPS provider runs its own power-on self-tests (its integrity check and KATs) first"},
	{STEP_ENTROPY, "the noise sources' start-up test (SP 800-90B §4.3): 1024 samples of each credited source through both health tests"},
	{STEP_DRBG, "the primary DRBG is instantiated from a full-entropy seed"},
};
/* the conditional tests keygen/'s key-type table names */
static const struct {
	const char *name, *what;
} pct_docs[] = {
	{"pct-rsa", "pairwise-consistency test of each new RSA key pair: sign and verify (FIPS 140-3 IG 10.3.A, SP 800-56B)"},
	{"pct-ec", "pairwise-consistency test of each new EC key pair: ECDSA sign and verify (IG 10.3.A)"},
	{"pct-eddsa", "pairwise-consistency test of each new Ed25519 key pair: sign and verify (IG 10.3.A)"},
	{"pct-x25519", "pairwise-consistency test of each new X25519 key pair: the public key derived again from the private key (IG 10.3.A)"},
};

/* The names of every power-on test in run order, and of the conditional
 * ones (keygen/'s pairwise-consistency tests, from its key-type table):
 * derived from the tables, once, so a test added there is named here. */
enum { NUM_NAMES = ARRAY_SIZE(algo_tests) + ARRAY_SIZE(pkey_tests) + 3, MAX_CONDITIONAL = 16 };
static const char *names[NUM_NAMES];
static const char *conditional_names[MAX_CONDITIONAL];
static size_t num_conditional;
static pthread_once_t names_once = PTHREAD_ONCE_INIT;

static void build_names(void)
{
	size_t n = 0;
	names[n++] = STEP_PROVIDER;
	for (size_t i = 0; i < ARRAY_SIZE(algo_tests); i++)
		names[n++] = algo_tests[i].name;
	names[n++] = STEP_ENTROPY;
	for (size_t i = 0; i < ARRAY_SIZE(pkey_tests); i++)
		names[n++] = pkey_tests[i].name;
	names[n++] = STEP_DRBG;

	const struct keygen_type *types;
	size_t num_types = keygen_types(&types);
	for (size_t i = 0; i < num_types; i++) {
		const char *pct = types[i].pct_name;
		bool seen = pct == NULL;
		for (size_t j = 0; j < num_conditional && !seen; j++)
			seen = strcmp(conditional_names[j], pct) == 0;
		if (!seen && num_conditional < MAX_CONDITIONAL)
			conditional_names[num_conditional++] = pct;
	}
}

static atomic_int state = SELFTEST_POWER_ON;
static pthread_mutex_t run_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *error_cause;   /* set once, under run_lock or before threads */
static char break_name[32];        /* "" = no test broken */
static bool powered_on;
static err_t power_on_verdict = ERR_NOT_OPERATIONAL;

enum selftest_state selftest_state(void)
{
	return (enum selftest_state)atomic_load(&state);
}

const char *selftest_state_name(enum selftest_state s)
{
	switch (s) {
	case SELFTEST_POWER_ON: return "POWER_ON";
	case SELFTEST_SELF_TEST: return "SELF_TEST";
	case SELFTEST_OPERATIONAL: return "OPERATIONAL";
	case SELFTEST_ERROR: return "ERROR";
	default: return "?";
	}
}

/* services_allowed is keygen's service gate: the power-on KATs run in
 * SELF_TEST, callers in OPERATIONAL; nothing in POWER_ON or ERROR. */
static bool services_allowed(void)
{
	int st = atomic_load_explicit(&state, memory_order_acquire);
	return st == SELFTEST_SELF_TEST || st == SELFTEST_OPERATIONAL;
}

bool selftest_operational(void)
{
	return atomic_load_explicit(&state, memory_order_acquire) == SELFTEST_OPERATIONAL;
}

void selftest_enter_error(err_t why, const char *what)
{
	/* latch: once in ERROR, nothing moves the module out of it */
	int prev = atomic_exchange(&state, SELFTEST_ERROR);
	if (prev != SELFTEST_ERROR) {
		error_cause = what;
		log_error("module enters ERROR state: %s: %s", what, err_str(why));
	}
}

const char *selftest_error_cause(void)
{
	return selftest_state() == SELFTEST_ERROR ? error_cause : NULL;
}

static bool known_name(const char *name)
{
	pthread_once(&names_once, build_names);
	for (size_t i = 0; i < NUM_NAMES; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	for (size_t i = 0; i < num_conditional; i++)
		if (strcmp(conditional_names[i], name) == 0)
			return true;
	return false;
}

size_t selftest_conditional_names(const char *const **out)
{
	pthread_once(&names_once, build_names);
	*out = conditional_names;
	return num_conditional;
}

err_t selftest_set_break(const char *name)
{
	if (name == NULL || *name == '\0') {
		break_name[0] = '\0';
		return ERR_OK;
	}
	ENSURE(known_name(name), ERR_INVALID_ARG);
	snprintf(break_name, sizeof(break_name), "%s", name);
	return ERR_OK;
}

static const char *doc_of(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(algo_tests); i++)
		if (strcmp(algo_tests[i].name, name) == 0)
			return algo_tests[i].what;
	for (size_t i = 0; i < ARRAY_SIZE(pkey_tests); i++)
		if (strcmp(pkey_tests[i].name, name) == 0)
			return pkey_tests[i].what;
	for (size_t i = 0; i < ARRAY_SIZE(step_docs); i++)
		if (strcmp(step_docs[i].name, name) == 0)
			return step_docs[i].what;
	for (size_t i = 0; i < ARRAY_SIZE(pct_docs); i++)
		if (strcmp(pct_docs[i].name, name) == 0)
			return pct_docs[i].what;
	return NULL;
}

size_t selftest_docs(struct selftest_doc *out, size_t max)
{
	pthread_once(&names_once, build_names);
	size_t n = 0;
	for (size_t i = 0; i < NUM_NAMES; i++, n++)
		if (n < max)
			out[n] = (struct selftest_doc){names[i], true, doc_of(names[i])};
	for (size_t i = 0; i < num_conditional; i++, n++)
		if (n < max)
			out[n] = (struct selftest_doc){conditional_names[i], false, doc_of(conditional_names[i])};
	return n;
}

size_t selftest_names(const char *const **out)
{
	pthread_once(&names_once, build_names);
	*out = names;
	return NUM_NAMES;
}

void selftest_note(char *detail, size_t detail_len, const char *what)
{
	if (detail_len)
		snprintf(detail, detail_len, "%s", what);
}

static bool is_broken(const char *name)
{
	return break_name[0] != '\0' && strcmp(break_name, name) == 0;
}

bool selftest_is_broken(const char *name)
{
	return is_broken(name);
}

static void log_hex(const char *label, const uint8_t *p, size_t len)
{
	char hex[2 * 64 + 1];
	size_t n = len > 64 ? 64 : len;
	hex_encode(hex, p, n);
	log_error("  %s: %s%s", label, hex, len > n ? "..." : "");
}

err_t selftest_check(const char *name, const uint8_t *expected,
		     const uint8_t *actual, size_t len)
{
	uint8_t copy[512];
	const uint8_t *got = actual;
	if (is_broken(name) && len > 0 && len <= sizeof(copy)) {
		/* FOUNT_SELFTEST_BREAK: corrupt the computed value, as OpenSSL's
		 * fipsinstall -corrupt_desc does, so the failure path runs */
		memcpy(copy, actual, len);
		copy[0] ^= 0x01;
		got = copy;
	}
	if (ct_memeq(expected, got, len))
		return ERR_OK;
	log_error("self-test %s: computed value differs from the known answer", name);
	log_hex("expected", expected, len);
	log_hex("computed", got, len);
	return ERR_SELFTEST;
}

static bool record(struct selftest_result *out, size_t max, size_t *n,
		   const char *name, err_t r, uint64_t ns, const char *detail)
{
	if (out == NULL || *n >= max)
		return false;
	out[*n].name = name;
	out[*n].r = r;
	out[*n].ns = ns;
	snprintf(out[*n].detail, sizeof(out[*n].detail), "%s", detail ? detail : "");
	out[*n].skipped = false;
	(*n)++;
	return true;
}

/* run_tests runs the table; on the first failure it latches ERROR, names
 * the test, and stops: nothing after a failed test can be trusted. */
static err_t run_tests(const struct selftest_entry *tests, size_t num_tests,
		       struct selftest_result *out, size_t max, size_t *n)
{
	for (size_t i = 0; i < num_tests; i++) {
		char detail[96] = "";
		uint64_t t0 = now_ns();
		err_t r = tests[i].fn(detail, sizeof(detail));
		if (r == SELFTEST_SKIPPED) {
			/* the provider lacks the algorithm, so fount does not offer it */
			if (record(out, max, n, tests[i].name, ERR_OK, now_ns() - t0, detail))
				out[*n - 1].skipped = true;
			log_warn("self-test %s skipped: %s", tests[i].name, detail);
			continue;
		}
		record(out, max, n, tests[i].name, r, now_ns() - t0, r ? detail : "");
		if (r != ERR_OK) {
			log_error("self-test %s failed: %s%s%s", tests[i].name, err_str(r),
				  detail[0] ? ": " : "", detail);
			selftest_enter_error(r, tests[i].name);
			return ERR_SELFTEST;
		}
	}
	return ERR_OK;
}

/* step records one of the STEP_* parts of the power-on sequence: its
 * result |e| (|broken| instead, when FOUNT_SELFTEST_BREAK names it), with
 * |why| as the detail on failure, which latches ERROR. */
static err_t step(const char *name, err_t e, uint64_t t0, err_t broken, const char *why,
		  struct selftest_result *out, size_t max, size_t *n)
{
	if (e == ERR_OK && is_broken(name))
		e = broken;
	record(out, max, n, name, e, now_ns() - t0, e ? why : "");
	if (e != ERR_OK)
		selftest_enter_error(e, name);
	return e;
}

static void on_entropy_fatal(err_t why)
{
	selftest_enter_error(why, "entropy");
}

/* A failed pairwise-consistency test is a self-test failure (FIPS 140-3
 * §7.10.3.3), and a DRBG that failed cannot be trusted: latch ERROR, named
 * after what failed. */
static void on_keygen_failure(err_t why, const char *what)
{
	selftest_enter_error(why, what);
}

err_t selftest_power_on(const struct config *cfg, struct selftest_result *out,
			size_t max, size_t *out_n)
{
	size_t n = 0;
	err_t r = ERR_SELFTEST;

	pthread_mutex_lock(&run_lock);
	if (out_n)
		*out_n = 0;
	if (powered_on) {
		r = power_on_verdict;
		goto out_unlock;
	}
	powered_on = true;
	atomic_store(&state, SELFTEST_SELF_TEST); /* all output is inhibited */

	const char *env = getenv("FOUNT_SELFTEST_BREAK");
	if (env && *env && selftest_set_break(env) != ERR_OK)
		log_warn("FOUNT_SELFTEST_BREAK=%s names no self-test; ignored", env);

	/* the gate and the fatal handler go in before anything can emit */
	drbg_set_gate(selftest_operational);
	keygen_set_service_gate(services_allowed);
	entropy_set_fatal_handler(on_entropy_fatal);
	keygen_set_failure_handler(on_keygen_failure);
	keygen_set_pct_break_hook(selftest_is_broken);

	uint64_t t0 = now_ns();
	if (step(STEP_PROVIDER, keygen_init(cfg), t0, ERR_SELFTEST,
		 "cannot set up the OpenSSL library context", out, max, &n) != ERR_OK)
		goto out;
	if (run_tests(algo_tests, ARRAY_SIZE(algo_tests), out, max, &n) != ERR_OK)
		goto out;

	/* SP 800-90B §4.3: the noise sources' 1024-sample start-up tests */
	t0 = now_ns();
	if (step(STEP_ENTROPY, entropy_init(cfg), t0, ERR_ENTROPY_STARTUP,
		 "no credited entropy source passed its start-up test", out, max, &n) != ERR_OK)
		goto out;
	err_t e = keygen_rand_kat_begin();
	if (e != ERR_OK) {
		record(out, max, &n, pkey_tests[0].name, e, 0, "cannot set up the KAT randomness");
		selftest_enter_error(e, pkey_tests[0].name);
		goto out;
	}
	e = run_tests(pkey_tests, ARRAY_SIZE(pkey_tests), out, max, &n);
	keygen_rand_kat_end();
	if (e != ERR_OK)
		goto out;
	t0 = now_ns();
	if (step(STEP_DRBG, drbg_tree_init(cfg), t0, ERR_SELFTEST,
		 "cannot instantiate the primary DRBG", out, max, &n) != ERR_OK)
		goto out;

	int expect = SELFTEST_SELF_TEST;
	/* a source may have failed meanwhile: only SELF_TEST moves on */
	if (!atomic_compare_exchange_strong(&state, &expect, SELFTEST_OPERATIONAL))
		goto out;
	r = ERR_OK;
out:
	power_on_verdict = r;
	if (out_n)
		*out_n = n;
out_unlock:
	pthread_mutex_unlock(&run_lock);
	return r;
}

err_t selftest_run(struct selftest_result *out, size_t max, size_t *out_n)
{
	size_t n = 0;
	err_t r;

	pthread_mutex_lock(&run_lock);
	if (out_n)
		*out_n = 0;
	if (selftest_state() != SELFTEST_OPERATIONAL) {
		r = ERR_NOT_OPERATIONAL;
		goto out;
	}
	/* On-demand tests keep serving callers: FIPS 140-3 lets a module run
	 * them while operational, and a failure still latches ERROR. */
	r = run_tests(algo_tests, ARRAY_SIZE(algo_tests), out, max, &n);
	if (r == ERR_OK) /* operational: OpenSSL draws from fount's DRBG as always */
		r = run_tests(pkey_tests, ARRAY_SIZE(pkey_tests), out, max, &n);
	if (out_n)
		*out_n = n;
out:
	pthread_mutex_unlock(&run_lock);
	return r;
}

void selftest_reset_for_testing(void)
{
	pthread_mutex_lock(&run_lock);
	drbg_tree_shutdown();
	entropy_shutdown();
	atomic_store(&state, SELFTEST_POWER_ON);
	error_cause = NULL;
	break_name[0] = '\0';
	powered_on = false;
	selftest_integrity_forget();
	power_on_verdict = ERR_NOT_OPERATIONAL;
	pthread_mutex_unlock(&run_lock);
}
