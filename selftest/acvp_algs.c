/* selftest/acvp_algs.c — the ACVP answers for the algorithms fount calls
 * through keygen/ beside ctrDRBG (selftest/acvp.c): SHA2-256 (the digest
 * of KMIP objects and of fount's files), HMAC-SHA2-256 (the conditioner's
 * MAC, the integrity test's and the backups'), and ACVP-AES-KW and
 * ACVP-AES-KWP (wrapped Get and export), each revision 1.0.
 *
 * Shapes, from NIST's ACVP specifications (usnistgov/ACVP, src/sha,
 * src/mac, src/symmetric):
 *   SHA2-256: groups {tgId, testType AFT|MCT|LDT, [mctVersion]}, tests
 *     {tcId, msg, len (bits)}; answers {tcId, md}, MCT {tcId, resultsArray:
 *     [{md} x 100]} (standard: MSG = A || B || C; alternate: MSG cut or
 *     zero-padded to the seed's length). LDT (a message of gigabytes in one
 *     call) is not offered: its group is answered unsupported.
 *   HMAC-SHA2-256: groups {tgId, testType AFT, keyLen, msgLen, macLen},
 *     tests {tcId, key, msg}; answers {tcId, mac} (the leftmost macLen bits).
 *   ACVP-AES-KW, ACVP-AES-KWP: groups {tgId, testType AFT, direction
 *     encrypt|decrypt, kwCipher cipher|inverse, keyLen, payloadLen}, tests
 *     {tcId, key, pt | ct}; answers {tcId, ct} / {tcId, pt}, or {tcId,
 *     testPassed: false} when the unwrap's integrity check fails. Only the
 *     forward cipher ("cipher") is fount's: "inverse" groups are answered
 *     unsupported.
 * Hex out is upper case, as ACVP writes it. */
#include <string.h>

#include <jansson.h>

#include "keygen/keygen.h"
#include "selftest/internal.h"

#define MCT_OUTER 100
#define MCT_INNER 1000
/* a message's bits at most: what a request of ACVP_MAX_INPUT bytes can
 * carry in hex (the DRBG's smaller input limit is not these algorithms') */
#define ALG_MAX_BITS ((json_int_t)ACVP_MAX_INPUT * 4)
/* HMAC keys keygen takes (1..64 bytes: SHA-256's block) */
#define HMAC_KEY_MAX 64

enum alg { A_SHA256, A_HMAC, A_KW, A_KWP };
enum ttype { T_AFT, T_MCT };

struct alg_group {
	enum alg alg;
	enum ttype type;
	bool mct_alternate, encrypt;
	json_int_t key_bits, msg_bits, mac_bits, payload_bits;
};

static const struct {
	const char *name;
	enum alg alg;
} algs[] = {
	{"SHA2-256", A_SHA256},
	{"HMAC-SHA2-256", A_HMAC},
	{"ACVP-AES-KW", A_KW},
	{"ACVP-AES-KWP", A_KWP},
};

bool acvp_alg_known(const char *algorithm)
{
	for (size_t i = 0; i < ARRAY_SIZE(algs); i++)
		if (strcmp(algs[i].name, algorithm) == 0)
			return true;
	return false;
}

static err_t str_field(const json_t *o, const char *key, const char **out, char *msg)
{
	const json_t *v = json_object_get(o, key);
	if (!json_is_string(v)) {
		snprintf(msg, ACVP_MSG_LEN, "\"%s\" missing or not a string", key);
		return ERR_PARSE;
	}
	*out = json_string_value(v);
	return ERR_OK;
}

static err_t parse_alg_group(enum alg alg, const json_t *jg, struct alg_group *g, char *msg)
{
	const char *tt = NULL;
	*g = (struct alg_group){.alg = alg};
	GUARD(str_field(jg, "testType", &tt, msg));
	if (!json_is_array(json_object_get(jg, "tests"))) {
		snprintf(msg, ACVP_MSG_LEN, "\"tests\" missing or not an array");
		return ERR_PARSE;
	}
	if (alg == A_SHA256) {
		if (strcmp(tt, "LDT") == 0) {
			snprintf(msg, ACVP_MSG_LEN, "unsupported: LDT (fount hashes at most %u bytes in one call)",
				 ACVP_MAX_INPUT);
			return ERR_UNSUPPORTED;
		}
		if (strcmp(tt, "AFT") != 0 && strcmp(tt, "MCT") != 0) {
			snprintf(msg, ACVP_MSG_LEN, "unknown testType \"%.16s\" (AFT, MCT or LDT)", tt);
			return ERR_PARSE;
		}
		g->type = strcmp(tt, "MCT") == 0 ? T_MCT : T_AFT;
		const json_t *mv = json_object_get(jg, "mctVersion");
		if (g->type == T_MCT && mv != NULL) {
			if (!json_is_string(mv) || (strcmp(json_string_value(mv), "standard") != 0 &&
						    strcmp(json_string_value(mv), "alternate") != 0)) {
				snprintf(msg, ACVP_MSG_LEN, "\"mctVersion\" is neither standard nor alternate");
				return ERR_PARSE;
			}
			g->mct_alternate = strcmp(json_string_value(mv), "alternate") == 0;
		}
		return ERR_OK;
	}
	if (strcmp(tt, "AFT") != 0) {
		snprintf(msg, ACVP_MSG_LEN, "unknown testType \"%.16s\" (AFT)", tt);
		return ERR_PARSE;
	}
	if (alg == A_HMAC) {
		GUARD(acvp_get_int(jg, "keyLen", ALG_MAX_BITS, &g->key_bits, msg));
		GUARD(acvp_get_int(jg, "msgLen", ALG_MAX_BITS, &g->msg_bits, msg));
		GUARD(acvp_get_int(jg, "macLen", 256, &g->mac_bits, msg));
		if (g->key_bits % 8 != 0 || g->msg_bits % 8 != 0 || g->mac_bits % 8 != 0 || g->mac_bits < 32) {
			snprintf(msg, ACVP_MSG_LEN, "unsupported: keyLen, msgLen and macLen must be whole bytes, macLen 32..256");
			return ERR_UNSUPPORTED;
		}
		if (g->key_bits == 0 || g->key_bits > HMAC_KEY_MAX * 8) {
			snprintf(msg, ACVP_MSG_LEN, "unsupported: keyLen %lld (fount's HMAC keys are 8..%d bits)",
				 (long long)g->key_bits, HMAC_KEY_MAX * 8);
			return ERR_UNSUPPORTED;
		}
		return ERR_OK;
	}
	const char *dir = NULL, *kwc = NULL;
	GUARD(str_field(jg, "direction", &dir, msg));
	GUARD(str_field(jg, "kwCipher", &kwc, msg));
	GUARD(acvp_get_int(jg, "keyLen", 256, &g->key_bits, msg));
	GUARD(acvp_get_int(jg, "payloadLen", (json_int_t)KEYGEN_WRAP_MAX_INPUT * 8, &g->payload_bits, msg));
	if (strcmp(dir, "encrypt") != 0 && strcmp(dir, "decrypt") != 0) {
		snprintf(msg, ACVP_MSG_LEN, "\"direction\" is neither encrypt nor decrypt");
		return ERR_PARSE;
	}
	g->encrypt = strcmp(dir, "encrypt") == 0;
	if (strcmp(kwc, "cipher") != 0) {
		snprintf(msg, ACVP_MSG_LEN, "unsupported: kwCipher %.16s (fount wraps with the forward cipher)", kwc);
		return strcmp(kwc, "inverse") == 0 ? ERR_UNSUPPORTED : ERR_PARSE;
	}
	if (g->key_bits != 128 && g->key_bits != 192 && g->key_bits != 256) {
		snprintf(msg, ACVP_MSG_LEN, "\"keyLen\" is not 128, 192 or 256");
		return ERR_PARSE;
	}
	if (g->payload_bits % 8 != 0 ||
	    keygen_aes_wrap_len(alg == A_KW ? KEYGEN_WRAP_KW : KEYGEN_WRAP_KWP, (size_t)g->payload_bits / 8) == 0) {
		snprintf(msg, ACVP_MSG_LEN, "unsupported: payloadLen %lld", (long long)g->payload_bits);
		return ERR_UNSUPPORTED;
	}
	return ERR_OK;
}

/* the hex member |key| of any even length up to ALG_MAX_BITS,
 * which must be |bits| long when |bits| >= 0 */
static err_t get_hex(const json_t *o, const char *key, json_int_t bits, uint8_t **out, size_t *len, char *msg)
{
	const json_t *v = json_object_get(o, key);
	if (!json_is_string(v)) {
		snprintf(msg, ACVP_MSG_LEN, "\"%s\" missing or not a string", key);
		return ERR_PARSE;
	}
	size_t hl = json_string_length(v);
	if (bits < 0)
		bits = (json_int_t)hl * 4;
	if (hl % 2 != 0 || bits > ALG_MAX_BITS) {
		snprintf(msg, ACVP_MSG_LEN, "\"%s\" is not whole bytes of hex", key);
		return ERR_PARSE;
	}
	return acvp_get_bits(o, key, bits, out, len, msg);
}

static err_t sha_mct(const struct alg_group *g, const uint8_t *seed_in, size_t seed_len, json_t *answer, char *msg)
{
	if (seed_len == 0 || seed_len > ACVP_MAX_INPUT / 4) {
		snprintf(msg, ACVP_MSG_LEN, "the MCT seed is empty or too long");
		return ERR_PARSE;
	}
	if (!g->mct_alternate && seed_len != KEYGEN_SHA256_LEN) {
		snprintf(msg, ACVP_MSG_LEN, "a standard MCT seed is the digest's 256 bits");
		return ERR_PARSE;
	}
	/* A || B || C, each a digest or (at first) the seed */
	size_t cap = 3 * (seed_len > KEYGEN_SHA256_LEN ? seed_len : KEYGEN_SHA256_LEN);
	uint8_t *abc = malloc(cap), *m = malloc(cap > seed_len ? cap : seed_len);
	uint8_t *seed = malloc(seed_len > KEYGEN_SHA256_LEN ? seed_len : KEYGEN_SHA256_LEN);
	json_t *results = json_array();
	err_t r = ERR_NOMEM;
	if (abc == NULL || m == NULL || seed == NULL || results == NULL)
		goto out;
	memcpy(seed, seed_in, seed_len);
	size_t cur = seed_len; /* the seed's length now: the input, then a digest */
	for (int j = 0; j < MCT_OUTER; j++) {
		size_t la = cur, lb = cur, lc = cur;
		memcpy(abc, seed, cur);
		memcpy(abc + cur, seed, cur);
		memcpy(abc + 2 * cur, seed, cur);
		uint8_t md[KEYGEN_SHA256_LEN];
		for (int i = 0; i < MCT_INNER; i++) {
			size_t ml = la + lb + lc;
			const uint8_t *in = abc;
			if (g->mct_alternate) {
				/* leftmost INITIAL_SEED_LENGTH bits, or zero-padded to it */
				if (ml >= seed_len) {
					ml = seed_len;
				} else {
					memcpy(m, abc, ml);
					memset(m + ml, 0, seed_len - ml);
					ml = seed_len;
					in = m;
				}
			}
			r = keygen_sha256(in, ml, md);
			if (r != ERR_OK) {
				snprintf(msg, ACVP_MSG_LEN, "SHA-256 failed: %s", err_str(r));
				goto out;
			}
			/* A = B, B = C, C = MD */
			memmove(abc, abc + la, lb + lc);
			memcpy(abc + lb + lc, md, sizeof md);
			la = lb;
			lb = lc;
			lc = sizeof md;
		}
		json_t *h = acvp_hex(md, sizeof md);
		if (h == NULL || json_array_append_new(results, json_pack("{s:o}", "md", h)) != 0) {
			r = ERR_NOMEM;
			goto out;
		}
		memcpy(seed, md, sizeof md);
		cur = sizeof md;
	}
	r = json_object_set(answer, "resultsArray", results) == 0 ? ERR_OK : ERR_NOMEM;
out:
	json_decref(results);
	free(abc);
	free(m);
	free(seed);
	return r;
}

static err_t run_alg_test(const struct alg_group *g, const json_t *jt, json_t *answer, char *msg)
{
	err_t r = ERR_OK;
	uint8_t *a = NULL, *b = NULL, *out = NULL;
	size_t al = 0, bl = 0, ol = 0, cap = 0;
	switch (g->alg) {
	case A_SHA256: {
		json_int_t len = 0;
		GUARD(acvp_get_int(jt, "len", ALG_MAX_BITS, &len, msg));
		if (len % 8 != 0) {
			snprintf(msg, ACVP_MSG_LEN, "unsupported: len %lld is not whole bytes", (long long)len);
			return ERR_UNSUPPORTED;
		}
		/* an empty message may come as "" or as "00" with len 0 */
		const json_t *m = json_object_get(jt, "msg");
		json_int_t want = len == 0 && json_is_string(m) && json_string_length(m) == 2 ? 8 : len;
		GUARD(get_hex(jt, "msg", want, &a, &al, msg));
		if (len == 0)
			al = 0;
		if (g->type == T_MCT) {
			r = sha_mct(g, a, al, answer, msg);
			break;
		}
		uint8_t md[KEYGEN_SHA256_LEN];
		r = keygen_sha256(a != NULL ? a : (const uint8_t *)"", al, md);
		if (r == ERR_OK)
			r = json_object_set_new(answer, "md", acvp_hex(md, sizeof md)) == 0 ? ERR_OK : ERR_NOMEM;
		else
			snprintf(msg, ACVP_MSG_LEN, "SHA-256 failed: %s", err_str(r));
		break;
	}
	case A_HMAC: {
		GUARD(get_hex(jt, "key", g->key_bits, &a, &al, msg));
		r = get_hex(jt, "msg", g->msg_bits, &b, &bl, msg);
		struct keygen_hmac *h = NULL;
		uint8_t mac[KEYGEN_SHA256_LEN];
		if (r == ERR_OK)
			r = keygen_hmac_new(a, al, &h);
		if (r == ERR_OK && bl > 0)
			r = keygen_hmac_update(h, b, bl);
		if (r == ERR_OK)
			r = keygen_hmac_final(h, mac);
		keygen_hmac_free(h);
		if (r == ERR_OK)
			r = json_object_set_new(answer, "mac", acvp_hex(mac, (size_t)g->mac_bits / 8)) == 0 ? ERR_OK : ERR_NOMEM;
		else if (msg[0] == '\0')
			snprintf(msg, ACVP_MSG_LEN, "HMAC-SHA-256 failed: %s", err_str(r));
		secure_zero(mac, sizeof mac);
		break;
	}
	case A_KW:
	case A_KWP: {
		enum keygen_wrap_alg wa = g->alg == A_KW ? KEYGEN_WRAP_KW : KEYGEN_WRAP_KWP;
		size_t pl = (size_t)g->payload_bits / 8, wl = keygen_aes_wrap_len(wa, pl);
		GUARD(get_hex(jt, "key", g->key_bits, &a, &al, msg));
		r = get_hex(jt, g->encrypt ? "pt" : "ct", (json_int_t)(g->encrypt ? pl : wl) * 8, &b, &bl, msg);
		cap = wl;
		out = r == ERR_OK ? malloc(cap) : NULL;
		if (r == ERR_OK && out == NULL)
			r = ERR_NOMEM;
		if (r == ERR_OK && g->encrypt) {
			r = keygen_aes_wrap(wa, a, al, b, bl, out, cap, &ol);
			if (r == ERR_OK)
				r = json_object_set_new(answer, "ct", acvp_hex(out, ol)) == 0 ? ERR_OK : ERR_NOMEM;
		} else if (r == ERR_OK) {
			r = keygen_aes_unwrap(wa, a, al, b, bl, out, cap, &ol);
			if (r == ERR_UNWRAP)
				r = json_object_set_new(answer, "testPassed", json_false()) == 0 ? ERR_OK : ERR_NOMEM;
			else if (r == ERR_OK)
				r = json_object_set_new(answer, "pt", acvp_hex(out, ol)) == 0 ? ERR_OK : ERR_NOMEM;
		}
		if (r != ERR_OK && r != ERR_NOMEM && msg[0] == '\0')
			snprintf(msg, ACVP_MSG_LEN, "key wrap failed: %s", err_str(r));
		break;
	}
	}
	acvp_free_secret(a, al);
	acvp_free_secret(b, bl);
	acvp_free_secret(out, cap);
	return r;
}

err_t acvp_run_alg_group(const char *algorithm, const json_t *jg, json_t *groups, FILE *err)
{
	enum alg alg = A_SHA256;
	for (size_t i = 0; i < ARRAY_SIZE(algs); i++)
		if (strcmp(algs[i].name, algorithm) == 0)
			alg = algs[i].alg;
	char msg[ACVP_MSG_LEN] = "group is not an object";
	json_int_t tg_id = -1;
	struct alg_group g;
	err_t r = json_is_object(jg) ? acvp_get_int(jg, "tgId", INT32_MAX, &tg_id, msg) : ERR_PARSE;
	if (r == ERR_OK)
		r = parse_alg_group(alg, jg, &g, msg);
	if (r != ERR_OK) {
		fprintf(err, "acvp: tgId %lld: %s\n", (long long)tg_id, msg);
		json_t *e = json_pack("{s:I,s:s}", "tgId", tg_id, "error", msg);
		return e != NULL && json_array_append_new(groups, e) == 0 ? r : ERR_NOMEM;
	}
	json_t *tests = json_array();
	if (tests == NULL)
		return ERR_NOMEM;
	err_t worst = ERR_OK;
	const json_t *jtests = json_object_get(jg, "tests");
	for (size_t i = 0; i < json_array_size(jtests); i++) {
		const json_t *jt = json_array_get(jtests, i);
		json_int_t tc_id = -1;
		msg[0] = '\0';
		r = json_is_object(jt) ? acvp_get_int(jt, "tcId", INT32_MAX, &tc_id, msg) : ERR_PARSE;
		json_t *answer = r == ERR_OK ? json_pack("{s:I}", "tcId", tc_id) : NULL;
		if (r == ERR_OK && answer == NULL)
			r = ERR_NOMEM;
		if (r == ERR_OK)
			r = run_alg_test(&g, jt, answer, msg);
		if (r == ERR_NOMEM) {
			json_decref(answer);
			json_decref(tests);
			return ERR_NOMEM;
		}
		if (r != ERR_OK) {
			if (msg[0] == '\0')
				snprintf(msg, ACVP_MSG_LEN, "test case is not an object with a tcId");
			fprintf(err, "acvp: tgId %lld tcId %lld: %s\n", (long long)tg_id, (long long)tc_id, msg);
			json_decref(answer);
			answer = json_pack("{s:I,s:s}", "tcId", tc_id, "error", msg);
			worst = acvp_worse(worst, r == ERR_UNSUPPORTED ? r : ERR_PARSE);
		}
		if (answer == NULL || json_array_append_new(tests, answer) != 0) {
			json_decref(tests);
			return ERR_NOMEM;
		}
	}
	json_t *grp = json_pack("{s:I,s:o}", "tgId", tg_id, "tests", tests);
	if (grp == NULL || json_array_append_new(groups, grp) != 0)
		return ERR_NOMEM;
	return worst;
}
