/* cli/cmd_policy.c — `fount policy -o DIR`: the module's security policy,
 * in the section order of FIPS 140-3's SP 800-140B, generated from the
 * code's own tables so it cannot drift from the code: the self-test table
 * (selftest_docs), the key-type table (keygen_types), the services (the
 * command table, the KMIP operation table, the HTTP route table: api.h),
 * the CSP table (CSP_DEFINE and CSP_USE beside each secret, util.h), the
 * state machine (selftest's states) and the entropy source (entropy/'s
 * tables). A table entry without its policy text is refused: the policy
 * is not written, and the command names what is missing and where. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "cli/cli.h"
#include "entropy/entropy.h"
#include "keygen/keygen.h"
#include "selftest/selftest.h"

static const char policy_usage[] =
	"usage: fount policy -o DIR\n"
	"\n"
	"Writes DIR/security-policy.md, a FIPS 140-3 security policy in SP 800-140B's\n"
	"section order, and DIR/policy.json (the same tables), from the code's own\n"
	"tables: services (commands, KMIP operations, HTTP routes), self-tests, key\n"
	"types, secrets (CSPs), the state machine and the entropy source. Runs the\n"
	"power-on self-tests first (the provider's name and version come from them).\n"
	"Refuses, naming it, a table entry that has no policy text.\n"
	"\n"
	"  -o, --out DIR   the folder (made if missing)\n"
	"  -h, --help      this text\n";

#define MAX_SERVICES 64
#define MAX_TESTS 48

/* missing reports one table entry without its policy text */
static unsigned missing(const char *what, const char *name, const char *where)
{
	fprintf(stderr, "fount policy: %s '%s' has no policy entry (add it in %s)\n", what, name, where);
	return 1;
}

/* the CSP_DEFINE entry called |name| */
static const struct csp_entry *csp_defined(const struct csp_entry *const *all, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (all[i]->type != NULL && strcmp(all[i]->name, name) == 0)
			return all[i];
	return NULL;
}

static unsigned check_tables(const struct api_service *kmip, size_t nk, const struct api_service *http, size_t nh,
			     const struct selftest_doc *tests, size_t nt, const struct csp_entry *const *csp, size_t nc)
{
	unsigned bad = 0;
	for (size_t i = 0; i < cli_commands_n; i++)
		if (cli_commands[i].summary == NULL || cli_commands[i].role == NULL || cli_commands[i].approved == NULL)
			bad += missing("command", cli_commands[i].name, "cli/main.c, cli_commands");
	for (size_t i = 0; i < nk; i++)
		if (kmip[i].summary == NULL)
			bad += missing("KMIP operation", kmip[i].name, "api/kmip_ops.c, op_docs");
	for (size_t i = 0; i < nh; i++)
		if (http[i].summary == NULL)
			bad += missing("HTTP route", http[i].name, "api/http_routes.c, route_docs");
	for (size_t i = 0; i < nt; i++)
		if (tests[i].what == NULL)
			bad += missing("self-test", tests[i].name, "selftest/selftest.c");
	for (size_t i = 0; i < nc; i++) {
		const struct csp_entry *e = csp[i];
		if (e->type == NULL && csp_defined(csp, nc, e->name) == NULL)
			bad += missing("CSP", e->name, "a CSP_DEFINE beside the secret's definition (it is used in)");
		if (e->type != NULL && (e->storage == NULL || e->entry == NULL || e->output == NULL || e->zeroization == NULL))
			bad += missing("CSP", e->name, e->file);
		for (size_t k = 0; k < i && e->type != NULL; k++)
			if (csp[k]->type != NULL && strcmp(csp[k]->name, e->name) == 0) {
				fprintf(stderr, "fount policy: CSP '%s' is defined twice (%s, %s)\n", e->name, csp[k]->file, e->file);
				bad++;
			}
	}
	return bad;
}

static void services_table(struct strbuf *d, const char *title, const struct api_service *sv, size_t n)
{
	strbuf_printf(d, "\n**%s**\n\n| Service | What it does | Role | Approved |\n|---|---|---|---|\n", title);
	for (size_t i = 0; i < n; i++)
		strbuf_printf(d, "| %s | %s | %s | %s |\n", sv[i].name, sv[i].summary, sv[i].role, sv[i].approved);
}

static const char *kind_name(enum keygen_kind k)
{
	switch (k) {
	case KEYGEN_KIND_SYM: return "symmetric";
	case KEYGEN_KIND_RSA: return "RSA";
	case KEYGEN_KIND_EC: return "EC";
	case KEYGEN_KIND_ED25519: return "EdDSA";
	case KEYGEN_KIND_X25519: return "X25519";
	default: return "?";
	}
}

/* the approval of a key type, by its kind (SP 800-131A Rev. 2, FIPS 186-5,
 * SP 800-56A Rev. 3, which names no X25519) */
static const char *type_approval(const struct keygen_type *t)
{
	switch (t->kind) {
	case KEYGEN_KIND_SYM: return "approved (SP 800-133 Rev. 2 §6.1: the DRBG's output)";
	case KEYGEN_KIND_RSA: return t->bits >= 2048 ? "approved (FIPS 186-5 §A.1.3)" : "non-approved (< 2048 bits)";
	case KEYGEN_KIND_EC: return "approved (FIPS 186-5 §A.2, SP 800-186 curves)";
	case KEYGEN_KIND_ED25519: return "approved (FIPS 186-5 EdDSA)";
	case KEYGEN_KIND_X25519: return "non-approved (SP 800-56A Rev. 3 has no X25519)";
	default: return "?";
	}
}

static bool write_policy(const char *dir, const struct config *cfg)
{
	struct api_service kmip[MAX_SERVICES], http[MAX_SERVICES];
	struct selftest_doc tests[MAX_TESTS];
	size_t nk = api_kmip_services(kmip, MAX_SERVICES), nh = api_http_services(http, MAX_SERVICES);
	size_t nt = selftest_docs(tests, MAX_TESTS);
	if (nk > MAX_SERVICES || nh > MAX_SERVICES || nt > MAX_TESTS) {
		fprintf(stderr, "fount policy: more services or self-tests than cli/cmd_policy.c has room for\n");
		return false;
	}
	const struct csp_entry *const *csp = NULL;
	size_t nc = csp_entries(&csp);
	if (nc == 0) {
		fprintf(stderr, "fount policy: the CSP table is empty (a build without the fount_csp section)\n");
		return false;
	}
	if (check_tables(kmip, nk, http, nh, tests, nt, csp, nc) != 0)
		return false;

	const struct keygen_provider_info *pi = keygen_provider_info();
	char when[32];
	cli_utc(time(NULL), when, sizeof when);
	struct strbuf d = {0};
	strbuf_printf(&d, "# fount %s — security policy (FIPS 140-3, draft)\n\n", FOUNT_VERSION);
	strbuf_printf(&d, "Generated by `fount policy` on %s from fount's own tables (services, self-tests, key types, secrets, "
	       "states). Sections follow NIST SP 800-140B. A lab's and the vendor's parts are marked TO COMPLETE.\n\n",
	   when);

	strbuf_printf(&d, "## 1. General\n\nfount is a software cryptographic module (overall security level 1 sought): an entropy "
	       "and key-generation service with a KMIP server, an HTTP API and a host agent, on Linux. TO COMPLETE: "
	       "the vendor, the tested configurations.\n\n");

	strbuf_printf(&d, "## 2. Cryptographic module specification\n\n**Boundary.** The fount executable (`%s` and its "
	       "integrity value `.hmac`) and the OpenSSL provider it runs on, which performs every approved "
	       "algorithm: %s %s (build %s), loaded from `%s`. Validated: %s. fount implements no cryptographic "
	       "algorithm itself: it composes the provider's (the SP 800-90B conditioning chain, the DRBG tree, "
	       "key wrapping) and adds its own noise-source health tests.\n\n",
	   "fount", pi->name[0] ? pi->name : "?", pi->version, pi->buildinfo, pi->dir[0] ? pi->dir : "(default)",
	   pi->validation[0] ? pi->validation : "?");
	strbuf_printf(&d, "**Approved algorithms used** (all from the provider): AES-256 CTR_DRBG (SP 800-90A), HMAC-SHA2-256 "
	       "(conditioning, integrity; FIPS 198-1), SHA2-256/512 (FIPS 180-4), AES-KW and AES-KWP (SP 800-38F), "
	       "AES-CBC and AES-GCM (SP 800-38A/D), AES-256-GCM sealing of the key store, RSA, ECDSA and EdDSA "
	       "signatures and key generation (FIPS 186-5), RSA-OAEP key transport (SP 800-56B), TLS 1.2/1.3 key "
	       "agreement by ECDH on P-256, P-384 and P-521 or FFDHE (SP 800-56A Rev. 3: in FIPS mode the TLS "
	       "listeners and clients offer no X25519 or X448, FIPS 140-3 IG C.K) and key derivation (SP 800-135, "
	       "SP 800-52 Rev. 2).\n\n**Key types** (keygen's table):\n\n"
	       "| Type | Kind | Bits | Pairwise-consistency test | Status |\n|---|---|---|---|---|\n");
	const struct keygen_type *types = NULL;
	size_t ntypes = keygen_types(&types);
	for (size_t i = 0; i < ntypes; i++)
		strbuf_printf(&d, "| %s | %s | %u | %s | %s |\n", types[i].name, kind_name(types[i].kind), types[i].bits,
		   types[i].pct_name != NULL ? types[i].pct_name : "-", type_approval(&types[i]));
	strbuf_printf(&d, "\n**Modes.** With `[crypto] fips = required` (the default) fount runs only on the FIPS provider "
	       "(default properties fips=yes) and refuses to start without it; `fips = off` runs on OpenSSL's default "
	       "provider and is not an approved mode. This policy was generated in %s mode.\n\n",
	   keygen_fips_mode() ? "FIPS" : "the non-approved (default provider)");

	strbuf_printf(&d, "## 3. Cryptographic module interfaces\n\n| Interface | Data in | Data out | Control in | Status out |\n"
	       "|---|---|---|---|---|\n"
	       "| KMIP over mutual TLS (`[kmip] listen`, 5696) | requests, registered keys | keys, random bytes | "
	       "operations | results, Query |\n"
	       "| HTTPS API (`[http] listen`, 8443), mutual TLS or bearer token | key requests | keys, random bytes, "
	       "events | routes | /v1/health, /metrics, the status page |\n"
	       "| EGD socket and virtio-rng (`[egd]`) | additional input | random bytes | EGD commands | entropy count |\n"
	       "| Command line (the operator) | configuration, key files | key files, random bytes | commands | exit "
	       "status, messages |\n"
	       "| Files under `[service] state_dir` | sealed store, certificates | the same | configuration | the status "
	       "file |\n\n");

	strbuf_printf(&d, "## 4. Roles, services, and authentication\n\n| Role | Who | Authentication |\n|---|---|---|\n"
	       "| tenant (User) | a KMIP or HTTP client | a TLS client certificate of a trusted CA or pinned, mapped "
	       "to a tenant (fingerprint, CA + CN, or CN), or an HTTP bearer token (256 bits, kept as SHA-256) |\n"
	       "| admin (Crypto Officer, remote) | a tenant listed in `[kmip] admins`, or a token made with `--admin` | "
	       "as tenant |\n"
	       "| operator (Crypto Officer, local) | a shell with the configuration and the state folder | the "
	       "operating system's (file permissions, 0600/0700) |\n"
	       "| anyone | any peer of the HTTP listener | none: only services without secrets (health, metrics, "
	       "random bytes rate-limited) |\n\n"
	       "A tenant reaches only its own objects; another tenant's are Item Not Found. An admin manages every "
	       "object but gets key material only with `admin_key_access = on` (this configuration: %s).\n",
	   cfg->kmip_admin_key_access ? "on" : "off");
	struct api_service cli[MAX_SERVICES];
	size_t ncli = cli_commands_n < MAX_SERVICES ? cli_commands_n : MAX_SERVICES;
	for (size_t i = 0; i < ncli; i++) {
		memset(&cli[i], 0, sizeof cli[i]);
		snprintf(cli[i].name, sizeof cli[i].name, "fount %s", cli_commands[i].name);
		cli[i].summary = cli_commands[i].summary;
		cli[i].role = cli_commands[i].role;
		cli[i].approved = cli_commands[i].approved;
	}
	services_table(&d, "Command line", cli, ncli);
	services_table(&d, "KMIP operations (KMIP 1.0-1.4)", kmip, nk);
	services_table(&d, "HTTP API", http, nh);

	strbuf_printf(&d, "\n## 5. Software/firmware security\n\nThe integrity test (self-test `integrity`, below) checks "
	       "HMAC-SHA-256 over the executable against the value the build wrote beside it before any other test; "
	       "the FIPS provider checks its own module the same way (`fipsmodule.cnf`).\n\n");
	strbuf_printf(&d, "## 6. Operational environment\n\nA modifiable operational environment: Linux on x86-64 (Debian 12 "
	       "tested). The process disables core dumps and ptrace attach (RLIMIT_CORE 0, PR_SET_DUMPABLE 0) before "
	       "it reads a secret; secrets live in locked memory (mlock, MADV_DONTDUMP, wiped on fork). TO COMPLETE: "
	       "the tested operating systems and processors.\n\n");
	strbuf_printf(&d, "## 7. Physical security\n\nNot applicable: a software module.\n\n");
	strbuf_printf(&d, "## 8. Non-invasive security\n\nNot applicable (no claims); comparisons of secrets are constant-time.\n\n");

	strbuf_printf(&d, "## 9. Sensitive security parameter management\n\nEvery secret (CSP) and public security parameter "
	       "(PSP), as the code declares it beside its definition:\n\n"
	       "| SSP | Type | Storage | Generation / entry | Output | Zeroization |\n|---|---|---|---|---|---|\n");
	for (size_t i = 0; i < nc; i++)
		if (csp[i]->type != NULL)
			strbuf_printf(&d, "| %s | %s | %s | %s | %s | %s |\n", csp[i]->name, csp[i]->type, csp[i]->storage, csp[i]->entry,
			   csp[i]->output, csp[i]->zeroization);
	strbuf_printf(&d, "\nWhere each is handled:\n\n| SSP | File | Use |\n|---|---|---|\n");
	for (size_t i = 0; i < nc; i++)
		strbuf_printf(&d, "| %s | `%s` | %s |\n", csp[i]->name, csp[i]->file, csp[i]->type != NULL ? "defined here" : csp[i]->storage);

	const struct entropy_source *src = entropy_source_info("rdseed");
	const struct entropy_source *jit = entropy_source_info("jitter");
	struct entropy_esv_chain cr = {0}, cj = {0};
	if (entropy_esv_chain(8, cfg->entropy_rdseed_h, &cr) != ERR_OK || entropy_esv_chain(8, cfg->entropy_jitter_h, &cj) != ERR_OK) {
		fprintf(stderr, "fount policy: [entropy] rdseed_h or jitter_h gives no conditioning chain\n");
		strbuf_free(&d);
		return false;
	}
	strbuf_printf(&d, "\n### Entropy source (SP 800-90B)\n\nCredited sources, in `[entropy] sources` order (%s); RDRAND, "
	       "getrandom and an HSM's RNG are additional input only, never credited.\n\n"
	       "| Source | Claimed H per 8-bit sample | Samples per 256-bit block | h_in | Output entropy |\n|---|---|---|---|---|\n"
	       "| rdseed | %g | %zu | %g | %.4Lg (full entropy: %s) |\n| jitter | %g | %zu | %g | %.4Lg (full entropy: %s) |\n\n",
	   cfg->entropy_sources, cfg->entropy_rdseed_h, cr.samples, cr.h_in, cr.h_out, cr.full_entropy ? "yes" : "no",
	   cfg->entropy_jitter_h, cj.samples, cj.h_in, cj.h_out, cj.full_entropy ? "yes" : "no");
	strbuf_printf(&d, "Noise: %s %s Health tests: the Repetition Count and Adaptive Proportion Tests on every sample, alpha "
	       "= 2^-%u, and the start-up test of %u samples. Conditioning: HMAC-SHA-256 (vetted). `fount entropy esv` "
	       "writes the validation package (data, parameters, public use document).\n\n",
	   src != NULL ? src->noise : "", jit != NULL ? jit->noise : "", cfg->entropy_alpha_log2, ENTROPY_STARTUP_SAMPLES);

	strbuf_printf(&d, "## 10. Self-tests\n\nPre-operational and conditional self-tests, in the order they run (the "
	       "module's own table); any failure enters the ERROR state.\n\n| Test | When | What |\n|---|---|---|\n");
	for (size_t i = 0; i < nt; i++)
		strbuf_printf(&d, "| %s | %s | %s |\n", tests[i].name,
		   tests[i].power_on ? "power-on, on demand, periodic" : "conditional: each new key pair", tests[i].what);
	strbuf_printf(&d, "| health tests | conditional: every noise sample | SP 800-90B §4.4 (section 9 above) |\n\n"
	       "On demand: `fount selftest`, SIGUSR1 to `fount serve`, `POST /v1/selftest` (admin). Periodic: "
	       "`[selftest] period_seconds` (this configuration: %u, 0 = off).\n\n",
	   cfg->selftest_period_seconds);
	strbuf_printf(&d, "**States.**\n\n| State | Services | Entered |\n|---|---|---|\n");
	static const struct {
		enum selftest_state s;
		const char *services, *entered;
	} states[] = {
		{SELFTEST_POWER_ON, "none", "at start"},
		{SELFTEST_SELF_TEST, "the self-tests only", "when the power-on self-tests begin"},
		{SELFTEST_OPERATIONAL, "every service", "when every power-on self-test passed"},
		{SELFTEST_ERROR, "status only: no key, no random byte leaves", "on any self-test failure, a failed PCT, or "
									      "the last credited noise source disabled; left "
									      "only by a restart"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(states); i++)
		strbuf_printf(&d, "| %s | %s | %s |\n", selftest_state_name(states[i].s), states[i].services, states[i].entered);

	strbuf_printf(&d, "\n## 11. Life-cycle assurance\n\nBuilt from source (`make`; `make fips` builds the FIPS provider "
	       "from OpenSSL's sources); installed by `make install` or the Debian package; configured by "
	       "`/etc/fount/fount.conf`. This document is regenerated with `fount policy -o DIR` and changes only "
	       "when the code does. TO COMPLETE: the vendor's configuration management and delivery.\n\n");
	strbuf_printf(&d, "## 12. Mitigation of other attacks\n\nNone claimed.\n");

	char path[4200];
	snprintf(path, sizeof path, "%s/security-policy.md", dir);
	bool ok = !d.failed && cli_replace_file(path, 0644, d.buf, d.len);
	if (!ok)
		fprintf(stderr, "fount policy: cannot write %s: %s\n", path, strerror(errno));
	strbuf_free(&d);
	if (!ok)
		return false;

	/* the same tables for scripts (and the tests) */
	json_t *j = json_pack("{s:s,s:[],s:[],s:[]}", "fount", FOUNT_VERSION, "services", "self_tests", "csps");
	json_t *sv = json_object_get(j, "services"), *st = json_object_get(j, "self_tests"), *cs = json_object_get(j, "csps");
	for (size_t i = 0; i < ncli; i++)
		json_array_append_new(sv, json_pack("{s:s,s:s}", "interface", "cli", "name", cli_commands[i].name));
	for (size_t i = 0; i < nk; i++)
		json_array_append_new(sv, json_pack("{s:s,s:s}", "interface", "kmip", "name", kmip[i].name));
	for (size_t i = 0; i < nh; i++)
		json_array_append_new(sv, json_pack("{s:s,s:s}", "interface", "http", "name", http[i].name));
	for (size_t i = 0; i < nt; i++)
		json_array_append_new(st, json_pack("{s:s,s:b}", "name", tests[i].name, "power_on", tests[i].power_on));
	for (size_t i = 0; i < nc; i++)
		json_array_append_new(cs, json_pack("{s:s,s:s,s:b}", "name", csp[i]->name, "file", csp[i]->file, "defined",
						    csp[i]->type != NULL));
	char *t = json_dumps(j, JSON_INDENT(1));
	json_decref(j);
	snprintf(path, sizeof path, "%s/policy.json", dir);
	ok = t != NULL && cli_replace_file(path, 0644, t, strlen(t));
	if (!ok)
		fprintf(stderr, "fount policy: cannot write %s\n", path);
	free(t);
	return ok;
}

int cmd_policy(int argc, char **argv, const struct config *cfg)
{
	static const struct option opts[] = {
		{"out", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': dir = optarg; break;
		case 'h': fputs(policy_usage, stdout); return EXIT_OK;
		default: return cli_option_error("policy", c, argc, argv, opts);
		}
	}
	if (optind < argc)
		return cli_usage_error("policy", "unexpected argument '%s'", argv[optind]);
	if (dir == NULL)
		return cli_usage_error("policy", "-o DIR is required");
	if (!cli_output_dir("policy", dir))
		return EXIT_FAIL;
	if (cli_power_on(cfg) != ERR_OK)
		return EXIT_FAIL;
	if (!write_policy(dir, cfg))
		return EXIT_FAIL;
	fprintf(stderr, "wrote %s/security-policy.md and policy.json\n", dir);
	return EXIT_OK;
}
