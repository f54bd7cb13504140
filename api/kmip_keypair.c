/* api/kmip_keypair.c — Create Key Pair, Re-key and Re-key Key Pair (KMIP
 * 1.4 §4.2, §4.4, §4.5). They decode TTLV, call the operation layer
 * (ops_create_keypair, ops_rekey, ops_rekey_keypair in api/ops.c: the
 * key, the Links, the dates, one store transaction) and encode the answer.
 *
 * Create Key Pair takes the algorithm as the OASIS AKLC cases send it
 * (Cryptographic Algorithm RSA with Cryptographic Length 2048 in the
 * Common Template-Attribute) and EC keys as Cryptographic Algorithm EC,
 * ECDSA or ECDH with Cryptographic Domain Parameters {Recommended Curve
 * P-256/P-384/P-521}, or a Cryptographic Length of 256/384/521 (what
 * PyKMIP and several clients send instead of a curve). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "api/ops.h"
#include "keygen/keygen.h"

/* uid_field reads the single Text String |tag| of |p| (1..STORE_ID_MAX
 * bytes) into |out|, or takes the ID Placeholder when there is none. */
static bool uid_field(struct kmip_request *rq, const struct ttlv_item *p, uint32_t tag,
		      char out[STORE_ID_MAX + 1], struct kmip_result *res)
{
	const struct ttlv_item *u = ttlv_find(p, tag);
	if (u == NULL) {
		if (rq->id_placeholder[0] == '\0') {
			kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD,
				  "no %s, and no earlier item of this batch set the ID Placeholder", kmip_tag_name(tag));
			return false;
		}
		snprintf(out, STORE_ID_MAX + 1, "%s", rq->id_placeholder);
		return true;
	}
	if (u->type != TTLV_TEXT || u->len == 0 || u->len > STORE_ID_MAX || ttlv_find_next(u) != NULL) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "%s must be one text of 1 to %d bytes",
			  kmip_tag_name(tag), STORE_ID_MAX);
		return false;
	}
	memcpy(out, u->val, u->len);
	out[u->len] = '\0';
	return true;
}

/* one_struct finds the single structure |tag| of |p| (absent: NULL, no
 * failure). */
static bool one_struct(const struct ttlv_item *p, uint32_t tag, const struct ttlv_item **out,
		       struct kmip_result *res)
{
	const struct ttlv_item *it = ttlv_find(p, tag);
	*out = it;
	if (it == NULL)
		return true;
	if (it->type != TTLV_STRUCTURE || ttlv_find_next(it) != NULL) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "%s must be one Structure", kmip_tag_name(tag));
		return false;
	}
	return true;
}

/* parse_part reads one part's attributes: the Common Template-Attribute
 * first, then the part's own, which takes precedence for single-valued
 * attributes (§4.2); multi-instance ones (Name, Object Group, x-...) are
 * the union. */
static bool parse_part(const struct ttlv_item *common, const struct ttlv_item *own, int32_t minor, struct kmip_template *t,
		       struct kmip_result *res)
{
	return kmip_parse_attributes(common, 0, minor, t, res) && kmip_parse_attributes(own, 1, minor, t, res);
}

/* The two parts' templates of Create Key Pair and Re-key Key Pair (§4.2,
 * §4.5), each with the server's Random Number Generator. */
struct pair_templates {
	struct kmip_template t[2]; /* private, public */
	struct ttlv_enc rng[2];
};

static void pair_templates_free(struct pair_templates *pt)
{
	if (pt == NULL)
		return;
	for (size_t i = 0; i < 2; i++) {
		ttlv_enc_free(&pt->rng[i]);
		kmip_template_free(&pt->t[i]);
	}
	free(pt);
}

/* pair_templates reads the Common, Private Key and Public Key
 * Template-Attributes of |p| (each at most once) into a new pair of
 * templates; NULL (|res| failed) otherwise */
static struct pair_templates *pair_templates(struct kmip_request *rq, const struct ttlv_item *p,
					     struct kmip_result *res)
{
	const struct ttlv_item *common, *priv, *pub;
	if (!one_struct(p, KMIP_TAG_COMMON_TEMPLATE_ATTRIBUTE, &common, res) ||
	    !one_struct(p, KMIP_TAG_PRIVATE_KEY_TEMPLATE_ATTRIBUTE, &priv, res) ||
	    !one_struct(p, KMIP_TAG_PUBLIC_KEY_TEMPLATE_ATTRIBUTE, &pub, res))
		return NULL;
	struct pair_templates *pt = calloc(1, sizeof *pt);
	if (pt == NULL) {
		kmip_fail(res, KMIP_RESULT_REASON_GENERAL_FAILURE, "%s", err_str(ERR_NOMEM));
		return NULL;
	}
	if (!parse_part(common, priv, rq->version.minor, &pt->t[0], res) ||
	    !parse_part(common, pub, rq->version.minor, &pt->t[1], res) ||
	    !kmip_server_rng(&pt->t[0], &pt->rng[0], res) || !kmip_server_rng(&pt->t[1], &pt->rng[1], res)) {
		pair_templates_free(pt);
		return NULL;
	}
	return pt;
}


/* answer_pair writes §4.2/§4.5's response: Private Key Unique Identifier,
 * then Public Key Unique Identifier; the ID Placeholder is the private
 * key's. */
static void answer_pair(struct kmip_request *rq, struct ttlv_enc *out, const char *priv, const char *pub)
{
	snprintf(rq->id_placeholder, sizeof rq->id_placeholder, "%s", priv);
	ttlv_enc_begin(out, KMIP_TAG_RESPONSE_PAYLOAD);
	ttlv_enc_cstr(out, KMIP_TAG_PRIVATE_KEY_UNIQUE_IDENTIFIER, priv);
	ttlv_enc_cstr(out, KMIP_TAG_PUBLIC_KEY_UNIQUE_IDENTIFIER, pub);
	ttlv_enc_end(out);
}

/* fail_keygen answers a failure of making a key: what fount does not make
 * is Invalid Field (§11: incorrect attribute values), a module that is not
 * operational or a failed generation Cryptographic Failure. */
static void fail_keygen(struct kmip_result *res, err_t r, uint32_t alg, uint32_t length, uint32_t curve)
{
	switch (r) {
	case ERR_UNSUPPORTED:
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD,
			  "fount makes RSA 2048/3072/4096 and EC P-256/P-384/P-521 key pairs, not algorithm %u "
			  "length %u curve %u",
			  (unsigned)alg, (unsigned)length, (unsigned)curve);
		return;
	case ERR_NOT_OPERATIONAL:
	case ERR_PCT:
	case ERR_CRYPTO:
		kmip_fail(res, KMIP_RESULT_REASON_CRYPTOGRAPHIC_FAILURE, "no key pair could be made: %s", err_str(r));
		return;
	default:
		kmip_fail_err(res, r, "");
		return;
	}
}

/* ---- Create Key Pair (§4.2) ------------------------------------------------------ */
void kmip_op_create_key_pair(struct kmip_request *rq, const struct ttlv_item *p, struct ttlv_enc *out,
			     struct kmip_result *res)
{
	if (p == NULL) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_MESSAGE, "the Request Payload is missing");
		return;
	}
	struct pair_templates *pt = pair_templates(rq, p, res);
	if (pt == NULL)
		return;
	struct kmip_template *tv = &pt->t[0], *tb = &pt->t[1];
	/* the algorithm and size are the pair's: given in one part's own
	 * template only, they hold for both; given differently, refused */
	if (tv->k.alg == 0)
		tv->k.alg = tb->k.alg;
	if (tb->k.alg == 0)
		tb->k.alg = tv->k.alg;
	if (tv->k.length == 0)
		tv->k.length = tb->k.length;
	if (tb->k.length == 0)
		tb->k.length = tv->k.length;
	if (!tv->has_curve && tb->has_curve) {
		tv->has_curve = true;
		tv->curve = tb->curve;
	}
	if (!tb->has_curve && tv->has_curve) {
		tb->has_curve = true;
		tb->curve = tv->curve;
	}
	if (tv->k.alg != tb->k.alg || tv->k.length != tb->k.length || tv->has_curve != tb->has_curve ||
	    tv->curve != tb->curve) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD,
			  "the private and public key templates disagree on the algorithm, length or curve");
		goto out;
	}
	if (tv->k.alg == 0) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "Create Key Pair needs a Cryptographic Algorithm");
		goto out;
	}
	struct ops_new_pair k = {
		.alg = tv->k.alg,
		.length = tv->k.length,
		.curve = tv->has_curve ? tv->curve : 0,
		.priv = tv->k,
		.pub = tb->k,
	};
	char priv_id[STORE_ID_MAX + 1], pub_id[STORE_ID_MAX + 1];
	err_t r = ops_create_keypair(rq->peer, &k, priv_id, pub_id);
	if (r != ERR_OK) {
		if (r == ERR_STORE_NAME_TAKEN) /* a Name the tenant has (KMIP 1.4 §3.2) */
			kmip_fail_err_rq(rq, res, r, "");
		else
			fail_keygen(res, r, k.alg, k.length, k.curve);
		goto out;
	}
	answer_pair(rq, out, priv_id, pub_id);
out:
	pair_templates_free(pt);
}

/* offset_of reads the optional Offset (an Interval, seconds; §4.4). */
static bool offset_of(const struct ttlv_item *p, struct ops_rekey *rk, struct kmip_result *res)
{
	const struct ttlv_item *o = ttlv_find(p, KMIP_TAG_OFFSET);
	if (o == NULL)
		return true;
	if (o->type != TTLV_INTERVAL || ttlv_find_next(o) != NULL) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "Offset must be one Interval");
		return false;
	}
	rk->has_offset = true;
	rk->offset = (int64_t)(uint32_t)o->u;
	return true;
}

/* fail_rekey answers a failed Re-key of |id|. */
static void fail_rekey(struct kmip_result *res, err_t r, const char *id, const char *what)
{
	if (r == ERR_INVALID_ARG) {
		kmip_fail(res, KMIP_RESULT_REASON_ILLEGAL_OPERATION, "object %s is not %s fount can re-key", id, what);
		return;
	}
	if (r == ERR_STORE_DESTROYED) {
		kmip_fail(res, KMIP_RESULT_REASON_PERMISSION_DENIED, "object %s is destroyed: nothing to re-key", id);
		return;
	}
	if (r == ERR_UNSUPPORTED || r == ERR_NOT_OPERATIONAL || r == ERR_PCT || r == ERR_CRYPTO) {
		fail_keygen(res, r, 0, 0, 0);
		return;
	}
	kmip_fail_err(res, r, id);
}

/* ---- Re-key (§4.4) ------------------------------------------------------------------
 * Request: Unique Identifier (or the ID Placeholder), Offset, Template-
 * Attribute (attributes for the replacement); response: the replacement's
 * Unique Identifier, which also becomes the ID Placeholder. */
void kmip_op_rekey(struct kmip_request *rq, const struct ttlv_item *p, struct ttlv_enc *out,
		   struct kmip_result *res)
{
	char id[STORE_ID_MAX + 1];
	if (!uid_field(rq, p, KMIP_TAG_UNIQUE_IDENTIFIER, id, res))
		return;
	struct ops_rekey rk = {0};
	const struct ttlv_item *ta;
	if (!offset_of(p, &rk, res) || !one_struct(p, KMIP_TAG_TEMPLATE_ATTRIBUTE, &ta, res))
		return;
	struct kmip_template *t = calloc(1, sizeof(*t));
	if (t == NULL) {
		kmip_fail(res, KMIP_RESULT_REASON_GENERAL_FAILURE, "%s", err_str(ERR_NOMEM));
		return;
	}
	struct ttlv_enc rng;
	ttlv_enc_init(&rng, 0);
	/* the replacement is a key the server generates: its RNG is the
	 * server's, not the one the old key was registered with */
	if (!kmip_parse_attributes(ta, 0, rq->version.minor, t, res) || !kmip_server_rng(t, &rng, res))
		goto out;
	if (t->k.alg != 0 || t->k.length != 0) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD,
			  "a replacement key keeps the algorithm and length of the key it replaces");
		goto out;
	}
	rk.set = &t->k;
	char new_id[STORE_ID_MAX + 1];
	err_t r = ops_rekey(rq->peer, id, &rk, new_id);
	if (r != ERR_OK) {
		if (r == ERR_STORE_NAME_TAKEN) /* a Name the tenant has (KMIP 1.4 §3.2) */
			kmip_fail_err_rq(rq, res, r, "");
		else
			fail_rekey(res, r, id, "a symmetric key");
		goto out;
	}
	snprintf(rq->id_placeholder, sizeof rq->id_placeholder, "%s", new_id);
	ttlv_enc_begin(out, KMIP_TAG_RESPONSE_PAYLOAD);
	ttlv_enc_cstr(out, KMIP_TAG_UNIQUE_IDENTIFIER, new_id);
	ttlv_enc_end(out);
out:
	ttlv_enc_free(&rng);
	kmip_template_free(t);
	free(t);
}

/* ---- Re-key Key Pair (§4.5) -------------------------------------------------------
 * Request: Private Key Unique Identifier (or the ID Placeholder), Offset,
 * Common / Private Key / Public Key Template-Attribute; the public key is
 * the one the private key's Public Key Link names. Response: the
 * replacement Private Key Unique Identifier, then Public Key Unique
 * Identifier. */
void kmip_op_rekey_key_pair(struct kmip_request *rq, const struct ttlv_item *p, struct ttlv_enc *out,
			    struct kmip_result *res)
{
	char id[STORE_ID_MAX + 1];
	if (!uid_field(rq, p, KMIP_TAG_PRIVATE_KEY_UNIQUE_IDENTIFIER, id, res))
		return;
	struct ops_rekey rk = {0};
	if (!offset_of(p, &rk, res))
		return;
	struct pair_templates *pt = pair_templates(rq, p, res);
	if (pt == NULL)
		return;
	struct kmip_template *tv = &pt->t[0], *tb = &pt->t[1];
	if (tv->k.alg != 0 || tv->k.length != 0 || tb->k.alg != 0 || tb->k.length != 0 || tv->has_curve ||
	    tb->has_curve) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD,
			  "a replacement key pair keeps the algorithm and size of the pair it replaces");
		goto out;
	}
	rk.set = &tv->k;
	rk.set_pub = &tb->k;
	char new_priv[STORE_ID_MAX + 1], new_pub[STORE_ID_MAX + 1];
	err_t r = ops_rekey_keypair(rq->peer, id, &rk, new_priv, new_pub);
	if (r != ERR_OK) {
		if (r == ERR_STORE_NAME_TAKEN) /* a Name the tenant has (KMIP 1.4 §3.2) */
			kmip_fail_err_rq(rq, res, r, "");
		else
			fail_rekey(res, r, id, "a private key with a Public Key Link");
		goto out;
	}
	answer_pair(rq, out, new_priv, new_pub);
out:
	pair_templates_free(pt);
}
