/* tests/test_esv.c — `fount entropy esv` (cli/cmd_esv.c, entropy/esv.c):
 * the SP 800-90B §3.1.5.1.2 accounting against NIST's own tool's answers,
 * the package a real run writes (its files, hashes and parameters equal to
 * what the code computes), and --assess with stand-ins for NIST's tools that
 * print the real tools' output lines (the tools are not a Debian package):
 * a claim that holds, one too high, a failed restart test, no tools. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "entropy/entropy.h"
#include "tests/helpers.h"

static char dir[64], tools[128], empty[128];
static const char *src; /* rdseed where the CPU has it, else jitter */
static double src_h;     /* its default claim */
static struct run_result *res;

/* The stand-ins log each call (argv) to tools/calls and print the lines
 * the real tools print (usnistgov/SP800-90B_EntropyAssessment cpp/
 * *_main.cpp, as a real run of v1.1.x printed them on this package).
 * STUB_H sets ea_non_iid's estimate; STUB_RESTART=fail fails the restart
 * validation as the real tool does (its message, exit status 255). */
static const char *const stubs[][2] = {
	{"ea_non_iid", "#!/bin/sh\necho \"ea_non_iid $*\" >> \"$(dirname \"$0\")/calls\"\n"
		       "env | grep '^FOUNT_' >> \"$(dirname \"$0\")/calls\"\n"
		       "case \" $* \" in *\" -c \"*) printf \"Opening file: 'conditioned.bin'\\n\\nh': 0.903006\\n\"; exit 0;; esac\n"
		       "h=${STUB_H:-6.638383}\n"
		       "printf \"Opening file: 'raw.bin'\\n\\nRunning non-IID tests...\\n\\nRunning Most Common Value Estimate...\\n"
		       "\\nH_original: %s\\nH_bitstring: 0.878020\\nmin(H_original, 8 X H_bitstring): %s\\n\" \"$h\" \"$h\"\n"},
	{"ea_iid", "#!/bin/sh\necho \"ea_iid $*\" >> \"$(dirname \"$0\")/calls\"\n"
		   "printf \"Calculating baseline statistics...\\nH_original: 7.954869\\nH_bitstring: 0.984172\\n"
		   "min(H_original, 8 X H_bitstring): 7.873375\\n** Passed chi square tests\\n\\n"
		   "** Passed length of longest repeated substring test\\n\\n** Passed IID permutation tests\\n\\n\"\n"},
	{"ea_restart", "#!/bin/sh\necho \"ea_restart $*\" >> \"$(dirname \"$0\")/calls\"\n"
		       "for a; do hi=$a; done\n"
		       "if [ \"$STUB_RESTART\" = fail ]; then printf \"H_I: %s\\n\\nH_r: 1.000000\\nH_c: 1.100000\\nH_I: %s\\n\\n"
		       "*** min(H_r, H_c) < H_I/2, Validation Testing Failed ***\\n\" \"$hi\" \"$hi\"; exit 255; fi\n"
		       "printf \"H_I: %s\\n\\nH_r: 7.900000\\nH_c: 7.910000\\nH_I: %s\\n\\nValidation Test Passed...\\n\\n"
		       "min(H_r, H_c, H_I): %s\\n\\n\" \"$hi\" \"$hi\" \"$hi\"\n"},
	{"ea_conditioning", "#!/bin/sh\necho \"ea_conditioning $*\" >> \"$(dirname \"$0\")/calls\"\n"
			    "printf \"n_in = %s\\nn_out = %s\\nnw = %s\\nh_in = %s\\n\" \"$2\" \"$3\" \"$4\" \"$5\"\n"
			    "if [ -n \"$STUB_H\" ]; then printf \"(Vetted) h_out = 159.9999999999999999861\\n\"; exit 0; fi\n"
			    "printf \"Output_Entropy(*) = 256; Close to n_out (epsilon = 2^(-71.47123362705510238312))\\n"
			    "(Vetted) h_out = 256\\nepsilon = 2^(-71.47123362705510238312): FIPS 140-3 IG D.K Resolution 19 "
			    "Full Entropy if the conditioning component security strength is >= 256\\n\"\n"},
};

static int suite_init(void)
{
	res = calloc(1, sizeof *res);
	if (res == NULL || testlib_tmpdir_create(dir, "esv") != 0)
		return -1;
	src = testlib_sh("grep -qw rdseed /proc/cpuinfo") == 0 ? "rdseed" : "jitter";
	src_h = entropy_source_info(src)->h;
	snprintf(tools, sizeof tools, "%s/tools", dir);
	snprintf(empty, sizeof empty, "%s/none", dir);
	if (mkdir(tools, 0755) != 0 || mkdir(empty, 0755) != 0)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(stubs); i++) {
		FILE *f = fopen(testlib_file(tools, stubs[i][0]), "w");
		if (f == NULL || fputs(stubs[i][1], f) < 0 || fclose(f) != 0 ||
		    chmod(testlib_file(tools, stubs[i][0]), 0755) != 0)
			return -1;
	}
	return 0;
}

static int suite_clean(void)
{
	free(res);
	return testlib_tmpdir_remove(dir);
}

/* esv runs `fount entropy esv` with |args| (after "esv") and |env| */
static int esv(const char *const *args, const char *const *env)
{
	const char *argv[16] = {testlib_fount_bin(), "entropy", "esv"};
	size_t n = 3;
	for (size_t i = 0; args[i] != NULL && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	const char *e[8] = {testlib_fips_dir_env()};
	for (size_t i = 0; env != NULL && env[i] != NULL && i < 6; i++)
		e[i + 1] = env[i];
	if (testlib_run(argv, e, NULL, res) != 0)
		return -1;
	return res->status;
}

static off_t size_of(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_size : -1;
}

/* Output_Entropy (SP 800-90B §3.1.5.1.2) equals what NIST's ea_conditioning
 * -v printed for the same arguments (its MPFR computation; the digits
 * below are its output) */
static void test_output_entropy(void)
{
	static const struct {
		unsigned n_in, n_out, nw;
		double h_in;
		long double want, eps;
	} cases[] = {
		{640, 256, 256, 320, 256.0L, 71.47123362705510238312L},
		{2560, 256, 256, 320, 256.0L, 71.47123362705510238312L},
		{300, 256, 256, 299, 255.999993520203453487L, 25.23562005342703710476L},
		{512, 256, 256, 200, 199.9999999999999999861L, 0},
		{256, 256, 256, 250, 249.977632186971545497L, 0},
		{1000, 128, 256, 120, 119.9943754508061218924L, 0},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		long double eps = -1;
		long double h = entropy_output_entropy(cases[i].n_in, cases[i].n_out, cases[i].nw, cases[i].h_in, &eps);
		CU_ASSERT(fabsl(h - cases[i].want) < 1e-12L);
		CU_ASSERT(fabsl(eps - cases[i].eps) < 1e-9L);
	}
	/* out of the domain: no entropy claimed */
	CU_ASSERT(entropy_output_entropy(0, 256, 256, 1, NULL) == 0);
	CU_ASSERT(entropy_output_entropy(100, 256, 256, 50, NULL) == 0); /* n > n_in */
	CU_ASSERT(entropy_output_entropy(640, 256, 256, 641, NULL) == 0);
	CU_ASSERT(entropy_output_entropy(640, 256, 256, 0, NULL) == 0);
	/* the pipeline's chain for both built-in claims: full entropy */
	struct entropy_esv_chain c;
	CU_ASSERT_EQUAL(entropy_esv_chain(8, 4.0, &c), ERR_OK);
	CU_ASSERT(c.samples == 80 && c.n_in == 640 && c.n_out == 256 && c.nw == 256 && c.h_in == 320 && c.full_entropy);
	CU_ASSERT_EQUAL(entropy_esv_chain(8, 0.5, &c), ERR_OK);
	CU_ASSERT(c.samples == 640 && c.n_in == 5120 && c.full_entropy);
	CU_ASSERT_EQUAL(entropy_esv_chain(8, 0, &c), ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(entropy_esv_chain(8, 9, &c), ERR_INVALID_ARG);
}

static void test_usage(void)
{
	char out[128];
	snprintf(out, sizeof out, "%s/u", dir);
	CU_ASSERT_EQUAL(esv((const char *const[]){"-o", out, NULL}, NULL), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(res->err, "--source is required"));
	CU_ASSERT_EQUAL(esv((const char *const[]){"--source", "rdrand", "-o", out, NULL}, NULL), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(res->err, "unknown source 'rdrand'"));
	CU_ASSERT_EQUAL(esv((const char *const[]){"--source", src, NULL}, NULL), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(res->err, "-o DIR is required"));
	CU_ASSERT_EQUAL(esv((const char *const[]){"--source", src, "-o", out, "--samples", "10", NULL}, NULL), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(res->err, "--samples wants"));
	CU_ASSERT_EQUAL(esv((const char *const[]){"--source", src, "-o", out, "--assess", "/nonexistent", NULL}, NULL), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(res->err, "is not a folder"));
	CU_ASSERT_EQUAL(esv((const char *const[]){"--help", NULL}, NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res->out, "public-use.md"));
	CU_ASSERT(access(out, F_OK) != 0); /* nothing made on a usage error */
}

/* a full-size package, no tools: the files, their hashes, and parameters
 * equal to the code's own */
static void test_package(void)
{
	char out[128]; /* testlib_file's buffers rotate */
	snprintf(out, sizeof out, "%s/full", dir);
	int st = esv((const char *const[]){"--source", src, "-o", out, NULL}, NULL);
	if (st != 0)
		fprintf(stderr, "\n  %s", res->err);
	CU_ASSERT_EQUAL_FATAL(st, 0);
	CU_ASSERT_EQUAL(size_of(testlib_file(out, "raw.bin")), 1000000);
	CU_ASSERT_EQUAL(size_of(testlib_file(out, "restart.bin")), 1000000);
	CU_ASSERT_EQUAL(size_of(testlib_file(out, "conditioned.bin")), 1000000);
	char cmd[512];
	snprintf(cmd, sizeof cmd, "cd %s && sha256sum raw.bin restart.bin conditioned.bin > sums", out);
	CU_ASSERT_EQUAL_FATAL(testlib_sh(cmd), 0);
	char sums[1024];
	snprintf(sums, sizeof sums, "%s", testlib_slurp(testlib_file(out, "sums")));
	const char *report = testlib_slurp(testlib_file(out, "report.md"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(report);
	for (const char *l = sums; *l != '\0'; l = strchr(l, '\n') + 1) {
		char hash[65];
		snprintf(hash, sizeof hash, "%.64s", l);
		CU_ASSERT_PTR_NOT_NULL(strstr(report, hash));
		if (strchr(l, '\n') == NULL)
			break;
	}
	CU_ASSERT_PTR_NULL(strstr(report, "Fewer than"));
	CU_ASSERT_PTR_NOT_NULL(strstr(report, "Not run here"));

	json_error_t je;
	json_t *p = json_load_file(testlib_file(out, "parameters.json"), 0, &je);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	struct entropy_health_cutoffs cut;
	struct entropy_esv_chain chain;
	CU_ASSERT_EQUAL_FATAL(entropy_health_cutoffs(&cut, 8, src_h, 20), ERR_OK);
	CU_ASSERT_EQUAL_FATAL(entropy_esv_chain(8, src_h, &chain), ERR_OK);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(p, "source")), src);
	CU_ASSERT(json_real_value(json_object_get(p, "h")) == src_h);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(p, "startup_samples")), ENTROPY_STARTUP_SAMPLES);
	json_t *h = json_object_get(p, "health"), *c = json_object_get(p, "conditioning");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(h, "rct_cutoff")), cut.rct_intermittent);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(h, "apt_cutoff_permanent")), cut.apt_permanent);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(h, "apt_window")), cut.apt_window);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(c, "samples_per_block")), (json_int_t)chain.samples);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(c, "n_in")), chain.n_in);
	CU_ASSERT(json_is_true(json_object_get(c, "full_entropy")));
	json_decref(p);
	/* the commands carry the chain's numbers */
	char want[128];
	snprintf(want, sizeof want, "ea_conditioning -v %u 256 256 %.6f", chain.n_in, chain.h_in);
	CU_ASSERT_PTR_NOT_NULL(strstr(testlib_slurp(testlib_file(out, "README.md")), want));
	CU_ASSERT_PTR_NOT_NULL(strstr(testlib_slurp(testlib_file(out, "README.md")), "ea_restart -n -v restart.bin 8 H_I"));
	const char *pu = testlib_slurp(testlib_file(out, "public-use.md"));
	CU_ASSERT(pu != NULL && strstr(pu, "## 4. Health tests") != NULL && strstr(pu, "§4.4.2") != NULL &&
		  strstr(pu, "## 6. Failure behaviour") != NULL);
}

/* the jitter source (the fallback where RDSEED is missing): a package;
 * and one not among [entropy] sources: refused with the fix */
static void test_jitter_and_unconfigured(void)
{
	char out[128];
	snprintf(out, sizeof out, "%s/jitter", dir);
	int st = esv((const char *const[]){"--source", "jitter", "-o", out, "--samples", "20000", NULL}, NULL);
	if (st != 0)
		fprintf(stderr, "\n  %s", res->err);
	CU_ASSERT_EQUAL_FATAL(st, 0);
	CU_ASSERT_EQUAL(size_of(testlib_file(out, "conditioned.bin")), 20000);
	CU_ASSERT_EQUAL(size_of(testlib_file(out, "restart.bin")), 1000000);
	CU_ASSERT_PTR_NOT_NULL(strstr(testlib_slurp(testlib_file(out, "README.md")), "ea_conditioning -v 5120 256 256 320.000000"));
	if (strcmp(src, "rdseed") != 0)
		return; /* the power-on self-tests need a credited source left */
	snprintf(out, sizeof out, "%s/unconfigured", dir);
	st = esv((const char *const[]){"--source", "jitter", "-o", out, "--samples", "20000", NULL},
		 (const char *const[]){"FOUNT_ENTROPY_SOURCES=rdseed", NULL});
	CU_ASSERT_EQUAL(st, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(res->err, "jitter is not among [entropy] sources (rdseed): add it"));
	CU_ASSERT(access(testlib_file(out, "report.md"), F_OK) != 0);
}

static const char *assess_run(const char *name, const char *const *env, int *status)
{
	static char out[128]; /* testlib_file's buffers rotate */
	snprintf(out, sizeof out, "%s/%s", dir, name);
	(void)unlink(testlib_file(tools, "calls"));
	*status = esv((const char *const[]){"--source", src, "-o", out, "--samples", "20000", "--assess", tools, NULL}, env);
	if (*status != 0)
		fprintf(stderr, "\n  %s", res->err);
	return out;
}

static void test_assess_holds(void)
{
	int st;
	/* fount's own settings (a PIN among them) do not reach the tools */
	const char *out = assess_run("holds", (const char *const[]){"FOUNT_HSM_PIN=1234", NULL}, &st);
	CU_ASSERT_EQUAL_FATAL(st, 0);
	const char *calls = testlib_slurp(testlib_file(tools, "calls"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(calls);
	char want[160];
	/* H_I = min(claim, the tool's 6.638383); IID passed: -i */
	snprintf(want, sizeof want, "ea_restart -i -v restart.bin 8 %.6f\n", src_h < 6.638383 ? src_h : 6.638383);
	CU_ASSERT_PTR_NOT_NULL(strstr(calls, want));
	CU_ASSERT_PTR_NOT_NULL(strstr(calls, "ea_non_iid -i -a -v raw.bin 8\n"));
	CU_ASSERT_PTR_NULL(strstr(calls, "FOUNT_"));
	CU_ASSERT_PTR_NOT_NULL(strstr(calls, "ea_non_iid -c -a -v conditioned.bin 8\n"));
	struct entropy_esv_chain chain;
	CU_ASSERT_EQUAL_FATAL(entropy_esv_chain(8, src_h, &chain), ERR_OK);
	snprintf(want, sizeof want, "ea_conditioning -v %u 256 256 %.6f\n", chain.n_in, chain.h_in);
	CU_ASSERT_PTR_NOT_NULL(strstr(calls, want));
	const char *r = testlib_slurp(testlib_file(out, "report.md"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_PTR_NOT_NULL(strstr(r, "**The claim holds**"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r, "| 6.638383 bits/sample |"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r, "h_out = 256.000000 bits"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r, "h' = 0.903006 bits/bit"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r, "Fewer than the 1,000,000 samples"));
	CU_ASSERT(size_of(testlib_file(out, "assess/ea_restart.txt")) > 0);
	json_error_t je;
	json_t *p = json_load_file(testlib_file(out, "parameters.json"), 0, &je);
	json_t *a = json_object_get(p, "assessment");
	CU_ASSERT(json_is_true(json_object_get(json_object_get(a, "iid"), "passed")));
	CU_ASSERT(json_is_true(json_object_get(json_object_get(a, "restart"), "passed")));
	CU_ASSERT(json_real_value(json_object_get(a, "h_validated")) == src_h);
	json_decref(p);
}

static void test_assess_too_high(void)
{
	char h[32], env[48], want[96];
	snprintf(h, sizeof h, "%.6f", src_h / 2);
	snprintf(env, sizeof env, "STUB_H=%s", h);
	int st;
	const char *out = assess_run("low", (const char *const[]){env, NULL}, &st);
	CU_ASSERT_EQUAL_FATAL(st, 0);
	snprintf(want, sizeof want, "ea_restart -i -v restart.bin 8 %s\n", h);
	CU_ASSERT_PTR_NOT_NULL(strstr(testlib_slurp(testlib_file(tools, "calls")), want));
	const char *r = testlib_slurp(testlib_file(out, "report.md"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	snprintf(want, sizeof want, "set `[entropy] %s_h = %.2f`", src, floor(src_h / 2 * 100) / 100);
	CU_ASSERT_PTR_NOT_NULL(strstr(r, "**The claim is too high**"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r, want));
	/* half the entropy per sample: the chain is no longer full entropy */
	const char *with = strstr(r, "With the validated entropy");
	CU_ASSERT(with != NULL && strstr(with, "resolution 19): **no**") != NULL);
}

static void test_assess_restart_fails(void)
{
	int st;
	const char *out = assess_run("restart", (const char *const[]){"STUB_RESTART=fail", NULL}, &st);
	CU_ASSERT_EQUAL_FATAL(st, 0);
	const char *r = testlib_slurp(testlib_file(out, "report.md"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_PTR_NOT_NULL(strstr(r, "**The restart tests failed**"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r, "exited with status 255"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r, "not run: no validated input entropy"));
	CU_ASSERT_PTR_NULL(strstr(testlib_slurp(testlib_file(tools, "calls")), "ea_conditioning"));
}

static void test_assess_no_tools(void)
{
	char out[128];
	snprintf(out, sizeof out, "%s/none-out", dir);
	int st = esv((const char *const[]){"--source", src, "-o", out, "--samples", "20000", "--assess", empty, NULL}, NULL);
	CU_ASSERT_EQUAL_FATAL(st, 0);
	const char *r = testlib_slurp(testlib_file(out, "report.md"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_PTR_NOT_NULL(strstr(r, "ea_non_iid is not there (build the tools: README.md)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r, "**Not assessed in full**"));
}

TEST_SUITE(esv, suite_init, suite_clean, TEST(test_output_entropy), TEST(test_usage), TEST(test_package), TEST(test_jitter_and_unconfigured),
	   TEST(test_assess_holds), TEST(test_assess_too_high), TEST(test_assess_restart_fails),
	   TEST(test_assess_no_tools))
