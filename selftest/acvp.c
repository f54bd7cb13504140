/* selftest/acvp.c — the ACVP harness: the vector set, and ctrDRBG
 * revision 1.0 (AES-256, df); SHA2-256, HMAC-SHA2-256 and AES-KW/KWP are
 * selftest/acvp_algs.c.
 *
 * How a test runs (NIST's ACVP DRBG JSON specification, usnistgov/ACVP
 * draft-vassilev-acvp-drbg, and SP 800-90A r1 §9; a sample request with
 * its answers is in tests/vectors/acvp/): instantiate with entropyInput,
 * nonce and persoString; walk otherInput in order — "reSeed" reseeds with
 * its entropyInput and additionalInput, "generate" generates
 * returnedBitsLen bits with its additionalInput, and with predResistance
 * first reseeds with its entropyInput (§9.3.1); the answer is the output
 * of the last generate.
 *
 * Every size in the request is checked against its *Len field and against
 * fount's limits before anything is allocated. */
#include <string.h>

#include <jansson.h>

#include "keygen/keygen.h"
#include "selftest/internal.h"

/* SP 800-90A Table 3: at most 2^19 bits per generate. */
#define ACVP_MAX_RETURNED_BITS (CTR_DRBG_MAX_REQUEST * 8)
#define ACVP_MAX_OTHER_INPUTS 64

struct group {
	json_int_t tg_id;
	bool pr;
	json_int_t entropy_bits, nonce_bits, pers_bits, adin_bits, returned_bits;
};

/* worse keeps the more severe of two results: PARSE over UNSUPPORTED over OK. */
err_t acvp_worse(err_t a, err_t b)
{
	if (a == ERR_PARSE || b == ERR_PARSE)
		return ERR_PARSE;
	if (a != ERR_OK)
		return a;
	return b;
}

/* read_all reads |in| into a NUL-terminated heap buffer, at most
 * ACVP_MAX_INPUT bytes. */
static err_t read_all(FILE *in, char **out, size_t *out_len)
{
	err_t r = ERR_INTERNAL;
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	ENSURE_GOTO(buf != NULL, ERR_NOMEM);
	for (;;) {
		if (len + 1 == cap) {
			ENSURE_GOTO(cap <= ACVP_MAX_INPUT, ERR_TOO_LARGE);
			char *nb = realloc(buf, cap * 2);
			ENSURE_GOTO(nb != NULL, ERR_NOMEM);
			buf = nb;
			cap *= 2;
		}
		size_t n = fread(buf + len, 1, cap - 1 - len, in);
		len += n;
		if (n == 0)
			break;
	}
	ENSURE_GOTO(!ferror(in), ERR_IO);
	ENSURE_GOTO(len <= ACVP_MAX_INPUT, ERR_TOO_LARGE);
	buf[len] = '\0';
	*out = buf;
	*out_len = len;
	buf = NULL; /* transferred */
	r = ERR_OK;
out:
	free(buf);
	return r;
}

/* get_int reads a non-negative integer member no larger than |max|. */
err_t acvp_get_int(const json_t *obj, const char *key, json_int_t max, json_int_t *out, char *msg)
{
	const json_t *v = json_object_get(obj, key);
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max) {
		snprintf(msg, ACVP_MSG_LEN, "\"%s\" missing, not an integer, or out of range", key);
		return ERR_PARSE;
	}
	*out = json_integer_value(v);
	return ERR_OK;
}

static err_t get_bool(const json_t *obj, const char *key, bool *out, char *msg)
{
	const json_t *v = json_object_get(obj, key);
	if (!json_is_boolean(v)) {
		snprintf(msg, ACVP_MSG_LEN, "\"%s\" missing or not a boolean", key);
		return ERR_PARSE;
	}
	*out = json_is_true(v);
	return ERR_OK;
}

/* get_bits reads the hex member |key|, which must hold exactly |bits| bits
 * (a multiple of 8, checked by the caller), into a new buffer (NULL when
 * empty). */
err_t acvp_get_bits(const json_t *obj, const char *key, json_int_t bits, uint8_t **out, size_t *out_len,
		    char *msg)
{
	const json_t *v = json_object_get(obj, key);
	*out = NULL;
	*out_len = 0;
	if (!json_is_string(v)) {
		snprintf(msg, ACVP_MSG_LEN, "\"%s\" missing or not a string", key);
		return ERR_PARSE;
	}
	size_t hex_len = json_string_length(v);
	if (hex_len != (size_t)bits / 4) {
		snprintf(msg, ACVP_MSG_LEN, "\"%s\" has %zu hex digits, its length field says %lld",
			 key, hex_len, (long long)bits / 4);
		return ERR_PARSE;
	}
	if (hex_len == 0)
		return ERR_OK;
	uint8_t *buf = malloc(hex_len / 2);
	if (buf == NULL)
		return ERR_NOMEM;
	size_t n = 0;
	/* json strings may hold NUL: hex_decode would stop early, so the
	 * decoded length is checked too */
	if (hex_decode(buf, hex_len / 2, &n, json_string_value(v)) != ERR_OK || n != hex_len / 2) {
		free(buf);
		snprintf(msg, ACVP_MSG_LEN, "\"%s\" is not valid hex", key);
		return ERR_PARSE;
	}
	*out = buf;
	*out_len = n;
	return ERR_OK;
}

json_t *acvp_hex(const uint8_t *p, size_t n)
{
	char *h = malloc(2 * n + 1);
	if (h == NULL)
		return NULL;
	hex_encode(h, p, n);
	for (char *c = h; *c; c++)
		if (*c >= 'a' && *c <= 'f')
			*c = (char)(*c - 'a' + 'A');
	json_t *s = json_string(h);
	free(h);
	return s;
}

void acvp_free_secret(uint8_t *p, size_t len)
{
	if (p != NULL)
		secure_zero(p, len);
	free(p);
}

static bool bits_ok(json_int_t bits)
{
	return bits % 8 == 0 && bits <= ACVP_MAX_INPUT_BITS;
}

/* parse_group checks the group's fields. ERR_UNSUPPORTED or ERR_PARSE with
 * a message in |msg|. */
static err_t parse_group(const json_t *jg, struct group *g, char *msg)
{
	bool df = false;
	const json_t *mode = json_object_get(jg, "mode");
	GUARD(acvp_get_int(jg, "tgId", INT32_MAX, &g->tg_id, msg));
	if (!json_is_string(mode)) {
		snprintf(msg, ACVP_MSG_LEN, "\"mode\" missing or not a string");
		return ERR_PARSE;
	}
	GUARD(get_bool(jg, "derFunc", &df, msg));
	GUARD(get_bool(jg, "predResistance", &g->pr, msg));
	if (strcmp(json_string_value(mode), "AES-256") != 0) {
		snprintf(msg, ACVP_MSG_LEN, "unsupported: mode %.40s (fount implements AES-256 only)",
			 json_string_value(mode));
		return ERR_UNSUPPORTED;
	}
	if (!df) {
		snprintf(msg, ACVP_MSG_LEN, "unsupported: derFunc false (fount always uses the df)");
		return ERR_UNSUPPORTED;
	}
	GUARD(acvp_get_int(jg, "entropyInputLen", ACVP_MAX_INPUT_BITS, &g->entropy_bits, msg));
	GUARD(acvp_get_int(jg, "nonceLen", ACVP_MAX_INPUT_BITS, &g->nonce_bits, msg));
	GUARD(acvp_get_int(jg, "persoStringLen", ACVP_MAX_INPUT_BITS, &g->pers_bits, msg));
	GUARD(acvp_get_int(jg, "additionalInputLen", ACVP_MAX_INPUT_BITS, &g->adin_bits, msg));
	GUARD(acvp_get_int(jg, "returnedBitsLen", ACVP_MAX_RETURNED_BITS, &g->returned_bits, msg));
	if (!bits_ok(g->entropy_bits) || !bits_ok(g->nonce_bits) || !bits_ok(g->pers_bits) ||
	    !bits_ok(g->adin_bits) || g->returned_bits % 8 != 0 || g->returned_bits == 0) {
		snprintf(msg, ACVP_MSG_LEN, "a length field is not a positive multiple of 8 bits");
		return ERR_PARSE;
	}
	if (!json_is_array(json_object_get(jg, "tests"))) {
		snprintf(msg, ACVP_MSG_LEN, "\"tests\" missing or not an array");
		return ERR_PARSE;
	}
	return ERR_OK;
}

/* run_other runs one otherInput step. */
static err_t run_other(struct ctr_drbg *d, const struct group *g, const json_t *jo,
		       uint8_t *out, size_t out_len, bool *generated, char *msg)
{
	err_t r = ERR_INTERNAL;
	uint8_t *adin = NULL, *ent = NULL;
	size_t adin_len = 0, ent_len = 0;
	const json_t *use = json_object_get(jo, "intendedUse");

	ENSURE_GOTO(json_is_object(jo) && json_is_string(use), ERR_PARSE);
	const char *u = json_string_value(use);
	bool reseed = strcmp(u, "reSeed") == 0;
	if (!reseed && strcmp(u, "generate") != 0) {
		snprintf(msg, ACVP_MSG_LEN, "unknown intendedUse \"%.32s\"", u);
		r = ERR_PARSE;
		goto out;
	}
	GUARD_GOTO(acvp_get_bits(jo, "additionalInput", g->adin_bits, &adin, &adin_len, msg));
	/* entropy input is used by reseeds and by prediction resistance only */
	GUARD_GOTO(acvp_get_bits(jo, "entropyInput", reseed || g->pr ? g->entropy_bits : 0, &ent,
			    &ent_len, msg));
	if (reseed) {
		r = ctr_drbg_reseed(d, ent, ent_len, adin, adin_len);
	} else if (g->pr) {
		r = ctr_drbg_generate_pr(d, out, out_len, ent, ent_len, adin, adin_len);
		*generated = true;
	} else {
		r = ctr_drbg_generate(d, out, out_len, adin, adin_len);
		*generated = true;
	}
	if (r != ERR_OK)
		snprintf(msg, ACVP_MSG_LEN, "%s failed: %s", u, err_str(r));
out:
	if (r == ERR_PARSE && msg[0] == '\0')
		snprintf(msg, ACVP_MSG_LEN, "an otherInput entry is not an object with intendedUse");
	acvp_free_secret(adin, adin_len);
	acvp_free_secret(ent, ent_len);
	return r;
}

/* run_test runs one test case and appends its answer (or error) to |tests|. */
static err_t run_test(struct ctr_drbg *d, const struct group *g, const json_t *jt,
		      json_t *tests, FILE *err)
{
	err_t r = ERR_INTERNAL;
	char msg[ACVP_MSG_LEN] = "";
	uint8_t *ent = NULL, *nonce = NULL, *pers = NULL, *out = NULL;
	size_t ent_len = 0, nonce_len = 0, pers_len = 0;
	size_t out_len = (size_t)g->returned_bits / 8;
	json_int_t tc_id = -1;
	bool generated = false;

	ENSURE_GOTO(json_is_object(jt), ERR_PARSE);
	GUARD_GOTO(acvp_get_int(jt, "tcId", INT32_MAX, &tc_id, msg));
	GUARD_GOTO(acvp_get_bits(jt, "entropyInput", g->entropy_bits, &ent, &ent_len, msg));
	GUARD_GOTO(acvp_get_bits(jt, "nonce", g->nonce_bits, &nonce, &nonce_len, msg));
	GUARD_GOTO(acvp_get_bits(jt, "persoString", g->pers_bits, &pers, &pers_len, msg));
	const json_t *other = json_object_get(jt, "otherInput");
	if (!json_is_array(other) || json_array_size(other) == 0 ||
	    json_array_size(other) > ACVP_MAX_OTHER_INPUTS) {
		snprintf(msg, ACVP_MSG_LEN, "\"otherInput\" missing, empty or longer than %d",
			 ACVP_MAX_OTHER_INPUTS);
		r = ERR_PARSE;
		goto out;
	}
	out = malloc(out_len);
	ENSURE_GOTO(out != NULL, ERR_NOMEM);

	r = ctr_drbg_instantiate(d, ent, ent_len, nonce, nonce_len, pers, pers_len);
	if (r != ERR_OK) {
		snprintf(msg, ACVP_MSG_LEN, "instantiate failed: %s", err_str(r));
		goto out;
	}
	for (size_t i = 0; i < json_array_size(other); i++)
		GUARD_GOTO(run_other(d, g, json_array_get(other, i), out, out_len, &generated, msg));
	if (!generated) {
		snprintf(msg, ACVP_MSG_LEN, "no generate step");
		r = ERR_PARSE;
		goto out;
	}
	ENSURE_GOTO(json_array_append_new(tests, json_pack("{s:I,s:o}", "tcId", tc_id, "returnedBits",
							   acvp_hex(out, out_len))) == 0,
		    ERR_NOMEM);
	r = ERR_OK;
out:
	ctr_drbg_uninstantiate(d);
	if (r != ERR_OK && r != ERR_NOMEM) {
		if (msg[0] == '\0')
			snprintf(msg, ACVP_MSG_LEN, "test case is not an object");
		fprintf(err, "acvp: tgId %lld tcId %lld: %s\n", (long long)g->tg_id,
			(long long)tc_id, msg);
		json_t *e = json_pack("{s:I,s:s}", "tcId", tc_id, "error", msg);
		if (e == NULL || json_array_append_new(tests, e) != 0)
			r = ERR_NOMEM;
		else if (r != ERR_UNSUPPORTED)
			r = ERR_PARSE; /* reported in the response */
	}
	acvp_free_secret(ent, ent_len);
	acvp_free_secret(nonce, nonce_len);
	acvp_free_secret(pers, pers_len);
	acvp_free_secret(out, out_len);
	return r;
}

/* run_group runs the tests of one group and appends its response. */
static err_t run_group(struct ctr_drbg *d, const json_t *jg, json_t *groups, FILE *err)
{
	err_t r = ERR_INTERNAL, worst = ERR_OK;
	char msg[ACVP_MSG_LEN] = "group is not an object";
	struct group g = {.tg_id = -1};
	json_t *tests = NULL;

	if (!json_is_object(jg)) {
		r = ERR_PARSE;
		goto out;
	}
	GUARD_GOTO(parse_group(jg, &g, msg));
	tests = json_array();
	ENSURE_GOTO(tests != NULL, ERR_NOMEM);
	const json_t *jtests = json_object_get(jg, "tests");
	for (size_t i = 0; i < json_array_size(jtests); i++) {
		err_t t = run_test(d, &g, json_array_get(jtests, i), tests, err);
		ENSURE_GOTO(t != ERR_NOMEM, ERR_NOMEM);
		worst = acvp_worse(worst, t);
	}
	ENSURE_GOTO(json_array_append_new(groups, json_pack("{s:I,s:o}", "tgId", g.tg_id,
							    "tests", tests)) == 0,
		    ERR_NOMEM);
	tests = NULL; /* transferred */
	r = worst;
out:
	json_decref(tests);
	if (r != ERR_OK && r != ERR_NOMEM && worst == ERR_OK) {
		/* the group itself is unsupported or malformed */
		fprintf(err, "acvp: tgId %lld: %s\n", (long long)g.tg_id, msg);
		json_t *e = json_pack("{s:I,s:s}", "tgId", g.tg_id, "error", msg);
		if (e == NULL || json_array_append_new(groups, e) != 0)
			r = ERR_NOMEM;
	}
	return r;
}

err_t acvp_run(FILE *in, FILE *out, FILE *err)
{
	err_t r = ERR_INTERNAL, worst = ERR_OK;
	char *text = NULL;
	size_t text_len = 0;
	json_t *root = NULL, *resp = NULL, *groups = NULL, *doc = NULL;
	struct ctr_drbg *d = NULL;
	json_error_t jerr;

	ENSURE(in != NULL && out != NULL && err != NULL, ERR_INVALID_ARG);
	if (keygen_libctx() == NULL) {
		struct config cfg;
		char why[256];
		/* defaults and FOUNT_* environment (FOUNT_CRYPTO_FIPS=off) */
		GUARD_GOTO(config_load(&cfg, NULL, false, why, sizeof(why)));
		GUARD_GOTO(keygen_init(&cfg));
	}
	r = read_all(in, &text, &text_len);
	if (r != ERR_OK) {
		fprintf(err, "acvp: cannot read the request: %s\n", err_str(r));
		goto out;
	}
	root = json_loadb(text, text_len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		fprintf(err, "acvp: not JSON: line %d: %s\n", jerr.line, jerr.text);
		r = ERR_PARSE;
		goto out;
	}
	/* the vector set: the root object, or the array element with testGroups */
	const json_t *vs = root, *version = NULL;
	if (json_is_array(root)) {
		vs = NULL;
		for (size_t i = 0; i < json_array_size(root); i++) {
			const json_t *e = json_array_get(root, i);
			if (json_object_get(e, "acvVersion") != NULL)
				version = json_object_get(e, "acvVersion");
			else if (vs == NULL && json_object_get(e, "testGroups") != NULL)
				vs = e;
		}
	}
	const json_t *vs_id = json_object_get(vs, "vsId");
	const json_t *alg = json_object_get(vs, "algorithm");
	const json_t *rev = json_object_get(vs, "revision");
	const json_t *jgroups = json_object_get(vs, "testGroups");
	if (!json_is_object(vs) || !json_is_integer(vs_id) || !json_is_array(jgroups)) {
		fprintf(err, "acvp: no vector set with vsId and testGroups\n");
		r = ERR_PARSE;
		goto out;
	}
	const char *a = json_is_string(alg) ? json_string_value(alg) : "";
	bool drbg = strcmp(a, "ctrDRBG") == 0;
	if ((!drbg && !acvp_alg_known(a)) || !json_is_string(rev) || strcmp(json_string_value(rev), "1.0") != 0) {
		fprintf(err, "acvp: unsupported: algorithm %.40s revision %.8s (fount answers ctrDRBG, SHA2-256, "
			     "HMAC-SHA2-256, ACVP-AES-KW and ACVP-AES-KWP, revision 1.0)\n",
			a, json_is_string(rev) ? json_string_value(rev) : "?");
		r = ERR_UNSUPPORTED;
		goto out;
	}

	if (drbg)
		GUARD_GOTO(ctr_drbg_new(&d));
	groups = json_array();
	ENSURE_GOTO(groups != NULL, ERR_NOMEM);
	for (size_t i = 0; i < json_array_size(jgroups); i++) {
		const json_t *jg = json_array_get(jgroups, i);
		err_t g = drbg ? run_group(d, jg, groups, err) : acvp_run_alg_group(a, jg, groups, err);
		ENSURE_GOTO(g != ERR_NOMEM, ERR_NOMEM);
		worst = acvp_worse(worst, g);
	}
	resp = json_pack("{s:I,s:s,s:s,s:O}", "vsId", json_integer_value(vs_id), "algorithm", a, "revision", "1.0",
			 "testGroups", groups);
	ENSURE_GOTO(resp != NULL, ERR_NOMEM);
	if (json_is_array(root)) {
		doc = json_pack("[{s:O?}, O]", "acvVersion", version, resp);
		ENSURE_GOTO(doc != NULL, ERR_NOMEM);
	}
	if (json_dumpf(doc != NULL ? doc : resp, out, JSON_INDENT(2)) != 0 || fputc('\n', out) == EOF) {
		r = ERR_IO;
		goto out;
	}
	r = worst;
out:
	ctr_drbg_free(d);
	json_decref(doc);
	json_decref(resp);
	json_decref(groups);
	json_decref(root);
	if (text != NULL)
		secure_zero(text, text_len); /* it held entropy inputs */
	free(text);
	return r;
}
