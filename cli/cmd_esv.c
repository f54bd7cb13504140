/* cli/cmd_esv.c — `fount entropy esv`: an SP 800-90B Entropy Source
 * Validation package for one noise source, in one folder: the raw samples,
 * the restart matrix and the conditioned outputs a lab feeds NIST's
 * SP800-90B_EntropyAssessment tools, the claim and every parameter the
 * code runs with (from entropy/'s own tables and functions, so the package
 * never drifts from the code), the exact commands, a draft public use
 * document, and with --assess the tools' verdicts.
 *
 * The tools' command lines and output lines parsed here are those of
 * usnistgov/SP800-90B_EntropyAssessment (cpp/<tool>_main.cpp, v1.1.x):
 *   ea_non_iid -v: "min(H_original, 8 X H_bitstring): X" (one "H_original: X" for binary data)
 *   ea_iid -v:     "** Passed chi square tests", "** Passed length of longest repeated substring
 *                  test", "** Passed IID permutation tests" (or "** Failed ...")
 *   ea_restart -v: "Validation Test Passed..." then "min(H_r, H_c, H_I): X", or
 *                  "*** min(H_r, H_c) < H_I/2, Validation Testing Failed ***" / "Restart Sanity Check Failed"
 *   ea_conditioning -v: "(Vetted) h_out = X", "epsilon = 2^(-X)"
 *   ea_non_iid -c -v: "h': X" */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "entropy/entropy.h"
#include "keygen/keygen.h"
#include "selftest/selftest.h"

#define ESV_SAMPLES 1000000u /* SP 800-90B §3.1.1: at least 1,000,000 samples */
#define ESV_ROWS 1000u       /* §3.1.4.1: 1000 restarts of 1000 samples */
#define ESV_ROW_LEN 1000u
#define ESV_CHUNK 65536u

static const char esv_usage[] =
	"usage: fount entropy esv --source rdseed|jitter -o DIR [--samples N] [--assess TOOLS_DIR]\n"
	"\n"
	"Writes an SP 800-90B Entropy Source Validation package for one noise source\n"
	"into DIR (made if missing; fount's files in it are replaced):\n"
	"  raw.bin          N raw samples, one per byte (default 1000000)\n"
	"  restart.bin      1000 restarts x 1000 samples, the source re-initialised per row\n"
	"  conditioned.bin  N bytes of conditioned output through the pipeline's own chain\n"
	"  report.md        the claim, health-test parameters, conditioning accounting,\n"
	"                   data hashes and (with --assess) the tools' verdicts\n"
	"  parameters.json  the same, for scripts\n"
	"  README.md        the exact NIST SP800-90B_EntropyAssessment commands to run\n"
	"  public-use.md    a draft public use document\n"
	"\n"
	"  -s, --source NAME     rdseed or jitter\n"
	"  -o, --out DIR         the package's folder\n"
	"  -n, --samples N       raw samples and conditioned bytes (1000000: the tools' minimum)\n"
	"      --assess DIR      run ea_non_iid, ea_iid, ea_restart and ea_conditioning from DIR\n"
	"                        and record their verdicts (their output in DIR/assess/)\n"
	"  -h, --help            this text\n";

/* what --assess found */
struct tool_result {
	bool ran;        /* the tool ran and its verdict line was found */
	char note[256];  /* why not, or what it said */
	double value;    /* its entropy figure */
	int pass;        /* 1 passed, 0 failed, -1 not a pass/fail tool or not run */
	double eps_log2; /* ea_conditioning: epsilon = 2^-eps_log2 (0: none) */
};

struct esv {
	const char *source, *dir, *tools;
	const struct entropy_source *info;
	const struct config *cfg;
	double h, h_default;
	const char *h_key;
	unsigned bits;
	struct entropy_health_cutoffs cut;
	struct entropy_esv_chain chain;
	uint64_t samples;
	uint8_t *raw, *restart, *cond;
	char sha_raw[65], sha_restart[65], sha_cond[65];
	char when[32], cpu[128], kernel[160];
	struct tool_result non_iid, iid, restart_r, cond_tool, cond_data;
	double h_validated; /* min(claim, the tools' estimates) */
	struct entropy_esv_chain chain_validated;
	bool assessed;
};

/* ---- capture ---------------------------------------------------------------------- */

static bool capture(struct esv *e, const char *what, uint8_t *buf, uint64_t n, size_t chunk)
{
	struct progress prog;
	uint8_t mask = (uint8_t)((1u << e->bits) - 1u);
	progress_start(&prog, what, n);
	for (uint64_t done = 0; done < n;) {
		size_t take = n - done < chunk ? (size_t)(n - done) : chunk;
		/* each entropy_raw call probes the source afresh (it is not
		 * registered yet): a restart row starts from a new source */
		err_t r = entropy_raw(e->source, buf + done, take);
		if (r != ERR_OK) {
			progress_finish(&prog);
			fprintf(stderr, "fount entropy esv: %s: %s: %s\n", e->source, what, err_str(r));
			return false;
		}
		for (size_t i = 0; i < take; i++)
			buf[done + i] &= mask;
		done += take;
		progress_update(&prog, done);
	}
	progress_finish(&prog);
	return true;
}

static bool capture_conditioned(struct esv *e)
{
	struct progress prog;
	progress_start(&prog, "conditioned", e->samples);
	for (uint64_t done = 0; done < e->samples;) {
		size_t take = e->samples - done < 32768 ? (size_t)(e->samples - done) : 32768;
		err_t r = entropy_conditioned(e->source, e->cond + done, take);
		if (r != ERR_OK) {
			progress_finish(&prog);
			if (r == ERR_ENTROPY_NO_SOURCE)
				fprintf(stderr, "fount entropy esv: %s is not among [entropy] sources (%s): add it\n",
					e->source, e->cfg->entropy_sources);
			else
				fprintf(stderr, "fount entropy esv: %s: conditioned output: %s\n", e->source, err_str(r));
			return false;
		}
		done += take;
		progress_update(&prog, done);
	}
	progress_finish(&prog);
	return true;
}

static bool sha256_hex(const uint8_t *buf, size_t n, char out[65])
{
	uint8_t d[KEYGEN_SHA256_LEN];
	if (keygen_sha256(buf, n, d) != ERR_OK)
		return false;
	hex_encode(out, d, sizeof d);
	return true;
}

static bool write_file(const struct esv *e, const char *name, const void *buf, size_t n)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/%s", e->dir, name);
	if (!cli_replace_file(path, 0644, buf, n)) {
		fprintf(stderr, "fount entropy esv: cannot write %s: %s\n", path, strerror(errno));
		return false;
	}
	return true;
}

/* ---- the tools (--assess) ---------------------------------------------------------- */

/* line_value finds a line of |text| that starts with |prefix| and reads the
 * number after it */
static bool line_value(const char *text, const char *prefix, double *out)
{
	size_t pl = strlen(prefix);
	for (const char *p = text; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, prefix, pl) != 0)
			continue;
		char *end = NULL;
		errno = 0;
		double v = strtod(p + pl, &end);
		if (end != p + pl && errno == 0 && isfinite(v)) {
			*out = v;
			return true;
		}
	}
	return false;
}

static bool has_line(const char *text, const char *start)
{
	size_t l = strlen(start);
	for (const char *p = text; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, start, l) == 0)
			return true;
	return false;
}

/* run_tool runs TOOLS/|tool| with |args| in the package's folder, its
 * output (stdout and stderr) into DIR/assess/|out|; the output read back
 * into *text (malloc'd), or NULL with r->note saying why */
static void run_tool(const struct esv *e, const char *tool, const char *const *args, const char *out,
		     struct tool_result *r, char **text)
{
	*text = NULL;
	r->pass = -1;
	char exe[4200], log[4300];
	snprintf(exe, sizeof exe, "%s/%s", e->tools, tool);
	snprintf(log, sizeof log, "%s/assess/%s", e->dir, out);
	if (access(exe, X_OK) != 0) {
		snprintf(r->note, sizeof r->note, "not run: %.180s is not there (build the tools: README.md)", exe);
		return;
	}
	/* execv's argv is not const: the arguments copied, before the fork */
	char held[10][64];
	char *argv[12] = {exe};
	size_t n = 1;
	for (; args[n - 1] != NULL && n < 11; n++) {
		snprintf(held[n - 1], sizeof held[n - 1], "%s", args[n - 1]);
		argv[n] = held[n - 1];
	}
	argv[n] = NULL;
	fprintf(stderr, "running %s (it can take minutes)...\n", tool);
	/* the operator's environment less fount's own FOUNT_* settings
	 * (FOUNT_HSM_PIN is a secret): made before the fork */
	extern char **environ;
	size_t ne = 0;
	while (environ[ne] != NULL)
		ne++;
	char **envp = calloc(ne + 1, sizeof *envp);
	if (envp == NULL) {
		snprintf(r->note, sizeof r->note, "not run: %s", err_str(ERR_NOMEM));
		return;
	}
	for (size_t i = 0, k = 0; i < ne; i++)
		if (strncmp(environ[i], "FOUNT_", 6) != 0)
			envp[k++] = environ[i];
	pid_t pid = fork();
	if (pid == 0) {
		FILE *f = freopen(log, "w", stdout);
		if (f == NULL || dup2(STDOUT_FILENO, STDERR_FILENO) < 0 || chdir(e->dir) != 0)
			_exit(127);
		execve(exe, argv, envp);
		_exit(127);
	}
	free(envp);
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) != pid) {
		snprintf(r->note, sizeof r->note, "not run: cannot start %.160s: %s", exe, strerror(errno));
		return;
	}
	size_t len = 0;
	FILE *f = fopen(log, "r");
	char *t = NULL;
	if (f != NULL) {
		t = malloc(1u << 20);
		len = t != NULL ? fread(t, 1, (1u << 20) - 1, f) : 0;
		fclose(f);
	}
	if (t == NULL) {
		snprintf(r->note, sizeof r->note, "ran, but its output %.180s cannot be read", log);
		return;
	}
	t[len] = '\0';
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127 && len == 0) {
		snprintf(r->note, sizeof r->note, "not run: %.180s could not be executed", exe);
		free(t);
		return;
	}
	*text = t;
	snprintf(r->note, sizeof r->note, "%s exited %s %d (output: assess/%s)", tool,
		 WIFEXITED(st) ? "with status" : "on signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), out);
}

static void assess(struct esv *e)
{
	char dir[4200], bits[4], hi[32], n_in[16], n_out[16], nw[16], h_in[48];
	snprintf(dir, sizeof dir, "%s/assess", e->dir);
	if (!cli_output_dir("entropy esv", dir))
		return;
	e->assessed = true;
	snprintf(bits, sizeof bits, "%u", e->bits);
	char *t = NULL;

	/* §3.1.3 initial entropy estimate */
	run_tool(e, "ea_non_iid", (const char *const[]){"-i", "-a", "-v", "raw.bin", bits, NULL}, "ea_non_iid.txt",
		 &e->non_iid, &t);
	if (t != NULL) {
		char pre[48];
		snprintf(pre, sizeof pre, "min(H_original, %u X H_bitstring): ", e->bits);
		e->non_iid.ran = line_value(t, pre, &e->non_iid.value) || line_value(t, "H_original: ", &e->non_iid.value);
		if (!e->non_iid.ran)
			snprintf(e->non_iid.note, sizeof e->non_iid.note, "ran, but printed no H_original (assess/ea_non_iid.txt)");
		free(t);
	}
	run_tool(e, "ea_iid", (const char *const[]){"-i", "-a", "-v", "raw.bin", bits, NULL}, "ea_iid.txt", &e->iid, &t);
	if (t != NULL) {
		bool failed = strstr(t, "** Failed") != NULL;
		bool passed = has_line(t, "** Passed chi square tests") &&
			      has_line(t, "** Passed length of longest repeated substring test") &&
			      has_line(t, "** Passed IID permutation tests");
		e->iid.ran = failed || passed;
		e->iid.pass = failed ? 0 : passed ? 1 : -1;
		(void)(line_value(t, "min(H_original, ", &e->iid.value) || line_value(t, "H_original: ", &e->iid.value));
		char pre[48];
		snprintf(pre, sizeof pre, "min(H_original, %u X H_bitstring): ", e->bits);
		(void)line_value(t, pre, &e->iid.value);
		if (!e->iid.ran)
			snprintf(e->iid.note, sizeof e->iid.note, "ran, but printed no verdict (assess/ea_iid.txt)");
		free(t);
	}
	/* H_I = min(H_submitter, the tool's estimate) */
	double h_i = e->h;
	if (e->non_iid.ran && e->non_iid.value < h_i)
		h_i = e->non_iid.value;
	snprintf(hi, sizeof hi, "%.6f", h_i);
	bool iid = e->iid.pass == 1;
	run_tool(e, "ea_restart", (const char *const[]){iid ? "-i" : "-n", "-v", "restart.bin", bits, hi, NULL},
		 "ea_restart.txt", &e->restart_r, &t);
	if (t != NULL) {
		if (has_line(t, "Validation Test Passed")) {
			e->restart_r.pass = 1;
			e->restart_r.ran = line_value(t, "min(H_r, H_c, H_I): ", &e->restart_r.value);
		} else if (strstr(t, "Validation Testing Failed") != NULL || strstr(t, "Sanity Check Failed") != NULL) {
			e->restart_r.pass = 0;
			e->restart_r.ran = true;
			e->restart_r.value = 0;
		}
		if (!e->restart_r.ran)
			snprintf(e->restart_r.note, sizeof e->restart_r.note, "ran, but printed no verdict (assess/ea_restart.txt)");
		free(t);
	}
	/* the validated entropy per sample, and the chain with it */
	e->h_validated = h_i;
	if (e->restart_r.ran)
		e->h_validated = e->restart_r.pass == 1 && e->restart_r.value < h_i ? e->restart_r.value
				 : e->restart_r.pass == 1				      ? h_i
											      : 0;
	e->chain_validated = e->chain;
	e->chain_validated.h_in = (double)e->chain.samples * e->h_validated;
	e->chain_validated.h_out = entropy_output_entropy(e->chain.n_in, e->chain.n_out, e->chain.nw,
							  e->chain_validated.h_in, &e->chain_validated.eps_log2);
	e->chain_validated.full_entropy =
		e->chain_validated.h_in >= (double)(e->chain.n_out + ENTROPY_COND_EXTRA_BITS) - 1e-9 &&
		e->chain_validated.h_out > 0.999L * (long double)e->chain.n_out;
	snprintf(n_in, sizeof n_in, "%u", e->chain.n_in);
	snprintf(n_out, sizeof n_out, "%u", e->chain.n_out);
	snprintf(nw, sizeof nw, "%u", e->chain.nw);
	snprintf(h_in, sizeof h_in, "%.6f", e->chain_validated.h_in);
	if (e->h_validated > 0) {
		run_tool(e, "ea_conditioning", (const char *const[]){"-v", n_in, n_out, nw, h_in, NULL}, "ea_conditioning.txt",
			 &e->cond_tool, &t);
		if (t != NULL) {
			e->cond_tool.ran = line_value(t, "(Vetted) h_out = ", &e->cond_tool.value);
			(void)line_value(t, "epsilon = 2^(-", &e->cond_tool.eps_log2);
			if (!e->cond_tool.ran)
				snprintf(e->cond_tool.note, sizeof e->cond_tool.note,
					 "ran, but printed no h_out (assess/ea_conditioning.txt)");
			free(t);
		}
	} else {
		snprintf(e->cond_tool.note, sizeof e->cond_tool.note, "not run: no validated input entropy");
		e->cond_tool.pass = -1;
	}
	run_tool(e, "ea_non_iid", (const char *const[]){"-c", "-a", "-v", "conditioned.bin", "8", NULL},
		 "ea_non_iid_conditioned.txt", &e->cond_data, &t);
	if (t != NULL) {
		e->cond_data.ran = line_value(t, "h': ", &e->cond_data.value);
		if (!e->cond_data.ran)
			snprintf(e->cond_data.note, sizeof e->cond_data.note,
				 "ran, but printed no h' (assess/ea_non_iid_conditioned.txt)");
		free(t);
	}
}

/* ---- the documents ------------------------------------------------------------------- */

static bool bp_write(const struct esv *e, const char *name, struct strbuf *b)
{
	bool ok = !b->failed && write_file(e, name, b->buf, b->len);
	strbuf_free(b);
	return ok;
}

static void health_table(struct strbuf *b, const struct esv *e)
{
	strbuf_printf(b, "| Test | SP 800-90B | Parameters | Detects | On failure |\n|---|---|---|---|---|\n");
	for (size_t i = 0; i < entropy_health_docs_n; i++) {
		const struct entropy_health_doc *d = &entropy_health_docs[i];
		char par[160];
		if (strcmp(d->section, "4.3") == 0)
			snprintf(par, sizeof par, "%u samples", ENTROPY_STARTUP_SAMPLES);
		else if (strcmp(d->section, "4.4.1") == 0)
			snprintf(par, sizeof par, "C = %u (alpha = 2^-%u), permanent C = %u (alpha^2)", e->cut.rct_intermittent,
				 e->cfg->entropy_alpha_log2, e->cut.rct_permanent);
		else
			snprintf(par, sizeof par, "W = %u, C = %u (alpha = 2^-%u), permanent C = %u (alpha^2)", e->cut.apt_window,
				 e->cut.apt_intermittent, e->cfg->entropy_alpha_log2, e->cut.apt_permanent);
		strbuf_printf(b, "| %s | §%s | %s | %s | %s |\n", d->name, d->section, par, d->what, d->on_failure);
	}
	strbuf_printf(b, "\nmax_retries = %u consecutive intermittent failures before a source is disabled; "
	      "when the last credited source is disabled the module enters its ERROR state (no output until "
	      "restart).\n",
	   e->cfg->entropy_max_retries);
}

static void chain_lines(struct strbuf *b, const struct entropy_esv_chain *c, double h)
{
	strbuf_printf(b, "- Raw samples per conditioned block: %zu (ceil((n_out + %u) / H) with H = %g)\n", c->samples,
	   ENTROPY_COND_EXTRA_BITS, h);
	strbuf_printf(b, "- n_in = %u bits, n_out = %u bits, nw = %u bits, h_in = %.6g bits\n", c->n_in, c->n_out, c->nw, c->h_in);
	strbuf_printf(b, "- Output_Entropy(n_in, n_out, nw, h_in) = %.22Lg bits", c->h_out);
	if (c->eps_log2 > 0)
		strbuf_printf(b, " = (1 - epsilon) n_out with epsilon = 2^-%.4Lg", c->eps_log2);
	strbuf_printf(b, "\n- Full entropy (h_in >= n_out + 64, FIPS 140-3 IG D.K resolution 19): %s\n",
	   c->full_entropy ? "yes" : "**no**");
}

static const char *pass_word(int p)
{
	return p == 1 ? "passed" : p == 0 ? "**failed**" : "-";
}

static void result_row(struct strbuf *b, const char *what, const char *cmd, const struct tool_result *r, const char *name,
		       const char *unit)
{
	char v[96] = "-";
	if (r->ran)
		snprintf(v, sizeof v, "%s%.6f %s", name, r->value, unit);
	strbuf_printf(b, "| %s | `%s` | %s | %s | %s |\n", what, cmd, r->ran ? v : "-", pass_word(r->pass), r->note);
}

static bool write_report(struct esv *e)
{
	struct strbuf b = {0};
	const struct keygen_provider_info *pi = keygen_provider_info();
	strbuf_printf(&b, "# SP 800-90B entropy source validation package: %s\n\n", e->source);
	strbuf_printf(&b, "Written by fount %s (`fount entropy esv`) on %s; CPU: %s; Linux %s. Every parameter below is "
	       "the one the code runs with, read from its own tables and functions.\n\n",
	   FOUNT_VERSION, e->when, e->cpu, e->kernel);
	strbuf_printf(&b, "## Noise source\n\n%s\n\nOperating conditions: %s\n\n", e->info->noise, e->info->conditions);
	strbuf_printf(&b, "## Claimed min-entropy\n\nH = %g bits per %u-bit sample (`[entropy] %s`; the default %g). %s\n\n", e->h, e->bits,
	   e->h_key, e->h_default, e->info->h_basis);
	strbuf_printf(&b, "## Health tests\n\n");
	health_table(&b, e);
	strbuf_printf(&b, "\n## Conditioning chain (SP 800-90B §3.1.5)\n\n"
	       "HMAC-SHA-256 (a vetted conditioning function, §3.1.5.1.1) keyed with a fixed public 32-byte key, "
	       "over each block's raw samples after they passed the health tests; the HMAC comes from the %s "
	       "(%s; validated: %s). Entropy accounting by §3.1.5.1.2 with the claimed H:\n\n",
	   pi->name[0] ? pi->name : "OpenSSL provider", pi->version[0] ? pi->version : "?",
	   pi->validation[0] ? pi->validation : "?");
	chain_lines(&b, &e->chain, e->h);
	strbuf_printf(&b, "\nEach 256-bit block seeds the SP 800-90A CTR_DRBG (AES-256, with prediction resistance requests "
	       "drawing fresh blocks).\n\n");
	strbuf_printf(&b, "## Data\n\n| File | What | Samples | SHA-256 |\n|---|---|---|---|\n");
	strbuf_printf(&b, "| raw.bin | raw samples, one per byte, low %u bits | %llu | %s |\n", e->bits, (unsigned long long)e->samples,
	   e->sha_raw);
	strbuf_printf(&b, "| restart.bin | %u restarts x %u samples, row by row (§3.1.4.1) | %u | %s |\n", ESV_ROWS, ESV_ROW_LEN,
	   ESV_ROWS * ESV_ROW_LEN, e->sha_restart);
	strbuf_printf(&b, "| conditioned.bin | conditioned output bytes | %llu | %s |\n\n", (unsigned long long)e->samples, e->sha_cond);
	if (e->samples < ESV_SAMPLES)
		strbuf_printf(&b, "**Fewer than the 1,000,000 samples SP 800-90B §3.1.1 asks for**: run again without --samples.\n\n");
	strbuf_printf(&b, "## Assessment\n\n");
	if (!e->assessed) {
		strbuf_printf(&b, "Not run here. Run the commands in README.md, or `fount entropy esv --assess TOOLS_DIR` where "
		       "the tools are built.\n\n");
	} else {
		strbuf_printf(&b, "NIST SP800-90B_EntropyAssessment from `%s`:\n\n| Step | Command | Result | Verdict | Note |\n"
		       "|---|---|---|---|---|\n",
		   e->tools);
		char c[160];
		snprintf(c, sizeof c, "ea_non_iid -i -a -v raw.bin %u", e->bits);
		result_row(&b, "Initial estimate (§3.1.3)", c, &e->non_iid, "", "bits/sample");
		snprintf(c, sizeof c, "ea_iid -i -a -v raw.bin %u", e->bits);
		result_row(&b, "IID tests (§5)", c, &e->iid, "", "bits/sample");
		snprintf(c, sizeof c, "ea_restart %s -v restart.bin %u H_I", e->iid.pass == 1 ? "-i" : "-n", e->bits);
		result_row(&b, "Restart tests (§3.1.4)", c, &e->restart_r, "", "bits/sample");
		snprintf(c, sizeof c, "ea_conditioning -v %u %u %u %.6f", e->chain.n_in, e->chain.n_out, e->chain.nw,
			 e->chain_validated.h_in);
		result_row(&b, "Conditioning (§3.1.5.1.2)", c, &e->cond_tool, "h_out = ", "bits");
		result_row(&b, "Conditioned data (informative)", "ea_non_iid -c -a -v conditioned.bin 8", &e->cond_data, "h' = ",
			   "bits/bit");
		strbuf_printf(&b, "\nValidated entropy per sample: %.6g bits (the claim %g", e->h_validated, e->h);
		if (e->non_iid.ran)
			strbuf_printf(&b, ", ea_non_iid %.6f", e->non_iid.value);
		if (e->restart_r.ran)
			strbuf_printf(&b, ", restart %s", e->restart_r.pass == 1 ? "passed" : "FAILED");
		strbuf_printf(&b, ").\n\n");
		bool holds = e->non_iid.ran && e->restart_r.pass == 1 && e->h_validated >= e->h - 1e-9;
		if (holds)
			strbuf_printf(&b, "**The claim holds**: the tools' estimates are at or above H = %g.\n\n", e->h);
		else if (e->non_iid.ran && e->h_validated < e->h - 1e-9 && e->h_validated > 0)
			strbuf_printf(&b, "**The claim is too high**: set `[entropy] %s = %.2f` (or lower) and build the package "
			       "again.\n\n",
			   e->h_key, floor(e->h_validated * 100) / 100);
		else if (e->restart_r.pass == 0)
			strbuf_printf(&b, "**The restart tests failed**: the source does not give the same entropy after a restart; "
			       "it cannot be credited as is.\n\n");
		else
			strbuf_printf(&b, "**Not assessed in full**: see the notes above.\n\n");
		strbuf_printf(&b, "With the validated entropy the chain gives:\n\n");
		chain_lines(&b, &e->chain_validated, e->h_validated);
		strbuf_printf(&b, "\n");
	}
	strbuf_printf(&b, "## What a lab still does\n\n"
	       "- Runs the tools on this data itself (or checks their output in assess/) and judges the claim and "
	       "its basis above.\n"
	       "- Judges the noise source's description and its restart method (`restart.bin` re-probes "
	       "fount's source before each row, as a restart of fount does; the CPU's own entropy source "
	       "behind RDSEED is not restarted by software, and its validation is the CPU vendor's).\n"
	       "- Collects data on the operating conditions it covers (each CPU model, host or VM type).\n"
	       "- Submits the ESV: the data, this report and public-use.md completed.\n");
	return bp_write(e, "report.md", &b);
}

static bool write_readme(const struct esv *e)
{
	struct strbuf b = {0};
	strbuf_printf(&b, "# Running NIST's SP 800-90B tools on this package\n\n"
	       "The tools are NIST's SP800-90B_EntropyAssessment (github.com/usnistgov/SP800-90B_EntropyAssessment), "
	       "not a Debian package. Build them once (Debian 12):\n\n```sh\n"
	       "apt-get install -y g++ make libbz2-dev libdivsufsort-dev libjsoncpp-dev libssl-dev libmpfr-dev libgmp-dev\n"
	       "git clone https://github.com/usnistgov/SP800-90B_EntropyAssessment\n"
	       "make -C SP800-90B_EntropyAssessment/cpp\n```\n\n"
	       "Then, in this folder (or `fount entropy esv --source %s -o DIR --assess "
	       "SP800-90B_EntropyAssessment/cpp`, which runs them and records the verdicts in report.md):\n\n```sh\n",
	   e->source);
	strbuf_printf(&b, "# 1. the initial entropy estimate H_I (SP 800-90B §3.1.3): take the last line,\n"
	       "#    min(H_original, %u X H_bitstring); H_I = min(%g, that)\n"
	       "ea_non_iid -i -a -v raw.bin %u\n\n",
	   e->bits, e->h, e->bits);
	strbuf_printf(&b, "# 2. whether the samples are IID (§5); if all three tests pass, use -i below\n"
	       "ea_iid -i -a -v raw.bin %u\n\n",
	   e->bits);
	strbuf_printf(&b, "# 3. the restart tests (§3.1.4), with H_I from step 1: \"Validation Test Passed\"\n"
	       "ea_restart -n -v restart.bin %u H_I\n\n",
	   e->bits);
	strbuf_printf(&b, "# 4. the conditioning (§3.1.5.1.2, vetted HMAC-SHA-256): h_in = %zu samples x the validated H\n"
	       "#    (with the claim: %.6g)\n"
	       "ea_conditioning -v %u %u %u %.6f\n\n",
	   e->chain.samples, e->chain.h_in, e->chain.n_in, e->chain.n_out, e->chain.nw, e->chain.h_in);
	strbuf_printf(&b, "# 5. informative: the conditioned output's entropy per bit h' (§3.1.5.2 form)\n"
	       "ea_non_iid -c -a -v conditioned.bin 8\n```\n\n");
	strbuf_printf(&b, "The SHA-256 of each file (the tools print it as they open it) is in report.md. "
	       "The parameters are in parameters.json.\n");
	return bp_write(e, "README.md", &b);
}

static bool write_public_use(const struct esv *e)
{
	struct strbuf b = {0};
	strbuf_printf(&b, "# Public use document (draft): fount's %s noise source\n\n"
	       "A draft for the ESV submission, written by fount %s from the code's own tables "
	       "(`fount entropy esv`). Sections a lab or vendor completes are marked TO COMPLETE.\n\n",
	   e->source, FOUNT_VERSION);
	strbuf_printf(&b, "## 1. Noise source\n\n%s\n\n", e->info->noise);
	strbuf_printf(&b, "## 2. Operating conditions\n\n%s\n\nTested here on: %s, Linux %s. TO COMPLETE: the platforms the "
	       "validation covers.\n\n",
	   e->info->conditions, e->cpu, e->kernel);
	strbuf_printf(&b, "## 3. Entropy claim\n\n%g bits of min-entropy per %u-bit raw sample. %s\n\n", e->h, e->bits, e->info->h_basis);
	strbuf_printf(&b, "## 4. Health tests (SP 800-90B §4)\n\nEvery raw sample goes through the continuous tests before it "
	       "is conditioned; none is skipped, and a failing block never reaches the output.\n\n");
	health_table(&b, e);
	strbuf_printf(&b, "\n## 5. Conditioning (SP 800-90B §3.1.5)\n\nHMAC-SHA-256, vetted, with a fixed public key:\n\n");
	chain_lines(&b, &e->chain, e->h);
	strbuf_printf(&b, "\n## 6. Failure behaviour\n\n");
	for (size_t i = 0; i < entropy_health_docs_n; i++)
		strbuf_printf(&b, "- %s (§%s): %s.\n", entropy_health_docs[i].name, entropy_health_docs[i].section,
		   entropy_health_docs[i].on_failure);
	strbuf_printf(&b, "- The last credited source disabled: the module enters its ERROR state; no random output and no key "
	       "leaves it until it is restarted, and its status says so.\n\n");
	strbuf_printf(&b, "## 7. Data collection\n\nRaw samples are read below the health tests and the conditioner (`fount "
	       "entropy raw`, the same read the pipeline makes), the low %u bits of each kept, one per byte. The "
	       "restart data re-probes the source before each of %u rows of %u samples, as a restart of fount "
	       "does.\n",
	   e->bits, ESV_ROWS, ESV_ROW_LEN);
	return bp_write(e, "public-use.md", &b);
}

static json_t *result_json(const struct tool_result *r)
{
	json_t *j = json_pack("{s:b,s:s}", "ran", r->ran, "note", r->note);
	if (j != NULL && r->ran)
		json_object_set_new(j, "value", json_real(r->value));
	if (j != NULL && r->pass >= 0)
		json_object_set_new(j, "passed", json_boolean(r->pass == 1));
	return j;
}

static json_t *chain_json(const struct entropy_esv_chain *c)
{
	return json_pack("{s:I,s:i,s:i,s:i,s:f,s:f,s:f,s:b}", "samples_per_block", (json_int_t)c->samples, "n_in",
			 (int)c->n_in, "n_out", (int)c->n_out, "nw", (int)c->nw, "h_in", c->h_in, "h_out",
			 (double)c->h_out, "epsilon_log2", (double)c->eps_log2, "full_entropy", c->full_entropy);
}

static bool write_parameters(const struct esv *e)
{
	json_t *j = json_pack("{s:s,s:s,s:s,s:i,s:f,s:f,s:s,s:i,s:i,s:i,s:o,s:o}", "fount", FOUNT_VERSION, "written",
			      e->when, "source", e->source, "bits", (int)e->bits, "h", e->h, "h_default", e->h_default,
			      "h_config", e->h_key, "alpha_log2", (int)e->cfg->entropy_alpha_log2, "max_retries",
			      (int)e->cfg->entropy_max_retries, "startup_samples", ENTROPY_STARTUP_SAMPLES, "health",
			      json_pack("{s:i,s:i,s:i,s:i,s:i}", "rct_cutoff", (int)e->cut.rct_intermittent,
					"rct_cutoff_permanent", (int)e->cut.rct_permanent, "apt_window", (int)e->cut.apt_window,
					"apt_cutoff", (int)e->cut.apt_intermittent, "apt_cutoff_permanent",
					(int)e->cut.apt_permanent),
			      "conditioning", chain_json(&e->chain));
	if (j == NULL)
		return false;
	json_object_set_new(j, "files",
			    json_pack("{s:{s:I,s:s},s:{s:i,s:s},s:{s:I,s:s}}", "raw.bin", "samples", (json_int_t)e->samples,
				      "sha256", e->sha_raw, "restart.bin", "samples", (int)(ESV_ROWS * ESV_ROW_LEN), "sha256",
				      e->sha_restart, "conditioned.bin", "bytes", (json_int_t)e->samples, "sha256", e->sha_cond));
	if (e->assessed) {
		json_t *a = json_pack("{s:s,s:o,s:o,s:o,s:o,s:o,s:f,s:o}", "tools", e->tools, "non_iid", result_json(&e->non_iid),
				      "iid", result_json(&e->iid), "restart", result_json(&e->restart_r), "conditioning",
				      result_json(&e->cond_tool), "conditioned_data", result_json(&e->cond_data), "h_validated",
				      e->h_validated, "conditioning_validated", chain_json(&e->chain_validated));
		json_object_set_new(j, "assessment", a);
	}
	char *t = json_dumps(j, JSON_INDENT(2));
	json_decref(j);
	if (t == NULL)
		return false;
	size_t n = strlen(t);
	char *t2 = realloc(t, n + 2);
	if (t2 == NULL) {
		free(t);
		return false;
	}
	t2[n] = '\n';
	t2[n + 1] = '\0';
	bool ok = write_file(e, "parameters.json", t2, n + 1);
	free(t2);
	return ok;
}

static void platform(struct esv *e)
{
	cli_utc(time(NULL), e->when, sizeof e->when);
	snprintf(e->cpu, sizeof e->cpu, "unknown CPU");
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];
	while (f != NULL && fgets(line, sizeof line, f) != NULL) {
		if (strncmp(line, "model name", 10) == 0) {
			const char *c = strchr(line, ':');
			if (c != NULL) {
				c += strspn(c + 1, " \t") + 1;
				snprintf(e->cpu, sizeof e->cpu, "%.*s", (int)strcspn(c, "\n|"), c);
			}
			break;
		}
	}
	if (f != NULL)
		fclose(f);
	struct utsname u;
	if (uname(&u) == 0)
		snprintf(e->kernel, sizeof e->kernel, "%s %s", u.release, u.machine);
	else
		snprintf(e->kernel, sizeof e->kernel, "?");
}

/* ---- the command ------------------------------------------------------------------------ */

int cmd_entropy_esv(int argc, char **argv, const struct config *cfg)
{
	static const struct option opts[] = {
		{"source", required_argument, NULL, 's'}, {"out", required_argument, NULL, 'o'},
		{"samples", required_argument, NULL, 'n'}, {"assess", required_argument, NULL, 'A'},
		{"help", no_argument, NULL, 'h'},	    {NULL, 0, NULL, 0},
	};
	struct esv e = {.cfg = cfg, .samples = ESV_SAMPLES};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":s:o:n:h", opts, NULL)) != -1) {
		switch (c) {
		case 's': e.source = optarg; break;
		case 'o': e.dir = optarg; break;
		case 'n':
			if (cli_parse_size(optarg, &e.samples) != ERR_OK || e.samples < 1000 || e.samples > 100000000)
				return cli_usage_error("entropy esv", "--samples wants 1000 to 100000000, not '%s'", optarg);
			break;
		case 'A': e.tools = optarg; break;
		case 'h': fputs(esv_usage, stdout); return EXIT_OK;
		default: return cli_option_error("entropy esv", c, argc, argv, opts);
		}
	}
	if (optind < argc)
		return cli_usage_error("entropy esv", "unexpected argument '%s'", argv[optind]);
	if (e.source == NULL)
		return cli_usage_error("entropy esv", "--source is required (rdseed or jitter)");
	if (strcmp(e.source, "rdseed") == 0) {
		e.h = cfg->entropy_rdseed_h;
		e.h_key = "rdseed_h";
	} else if (strcmp(e.source, "jitter") == 0) {
		e.h = cfg->entropy_jitter_h;
		e.h_key = "jitter_h";
	} else {
		return cli_usage_error("entropy esv", "unknown source '%s' (rdseed or jitter)", e.source);
	}
	if (e.dir == NULL)
		return cli_usage_error("entropy esv", "-o DIR is required");
	struct stat st;
	if (e.tools != NULL && (stat(e.tools, &st) != 0 || !S_ISDIR(st.st_mode)))
		return cli_usage_error("entropy esv", "--assess %s is not a folder (the built tools: see --help)", e.tools);
	e.info = entropy_source_info(e.source);
	if (e.info == NULL || e.info->noise == NULL)
		return cli_usage_error("entropy esv", "source '%s' has no description", e.source);
	e.bits = e.info->bits;
	e.h_default = e.info->h;
	if (entropy_health_cutoffs(&e.cut, e.bits, e.h, cfg->entropy_alpha_log2) != ERR_OK ||
	    entropy_esv_chain(e.bits, e.h, &e.chain) != ERR_OK) {
		fprintf(stderr, "fount entropy esv: [entropy] %s = %g gives no usable health tests: raise it\n", e.h_key, e.h);
		return EXIT_FAIL;
	}
	if (!cli_output_dir("entropy esv", e.dir))
		return EXIT_FAIL;
	platform(&e);
	int rc = EXIT_FAIL;
	e.raw = malloc(e.samples);
	e.restart = malloc((size_t)ESV_ROWS * ESV_ROW_LEN);
	e.cond = malloc(e.samples);
	if (e.raw == NULL || e.restart == NULL || e.cond == NULL) {
		fprintf(stderr, "fount entropy esv: %s\n", err_str(ERR_NOMEM));
		goto out;
	}
	/* raw data first, from the unregistered source (so each restart row
	 * probes it anew), then the power-on self-tests register it, and the
	 * conditioned output comes through the pipeline */
	if (!capture(&e, "raw", e.raw, e.samples, ESV_CHUNK) ||
	    !capture(&e, "restart", e.restart, (uint64_t)ESV_ROWS * ESV_ROW_LEN, ESV_ROW_LEN))
		goto out;
	if (cli_power_on(cfg) != ERR_OK)
		goto out;
	if (!capture_conditioned(&e))
		goto out;
	if (!sha256_hex(e.raw, e.samples, e.sha_raw) ||
	    !sha256_hex(e.restart, (size_t)ESV_ROWS * ESV_ROW_LEN, e.sha_restart) ||
	    !sha256_hex(e.cond, e.samples, e.sha_cond)) {
		fprintf(stderr, "fount entropy esv: SHA-256 failed\n");
		goto out;
	}
	if (!write_file(&e, "raw.bin", e.raw, e.samples) ||
	    !write_file(&e, "restart.bin", e.restart, (size_t)ESV_ROWS * ESV_ROW_LEN) ||
	    !write_file(&e, "conditioned.bin", e.cond, e.samples))
		goto out;
	if (e.tools != NULL)
		assess(&e);
	if (!write_report(&e) || !write_readme(&e) || !write_public_use(&e) || !write_parameters(&e)) {
		fprintf(stderr, "fount entropy esv: cannot write the documents in %s\n", e.dir);
		goto out;
	}
	fprintf(stderr, "wrote the SP 800-90B package for %s in %s (report.md, README.md, public-use.md)\n", e.source,
		e.dir);
	rc = EXIT_OK;
out:
	free(e.raw);
	free(e.restart);
	free(e.cond);
	return rc;
}
