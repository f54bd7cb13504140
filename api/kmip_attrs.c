/* api/kmip_attrs.c — every KMIP attribute operation in one place: the
 * table of KMIP 1.0-1.4 attributes (which version defines each, whether
 * the server keeps it, whether it may have several instances), Get
 * Attributes, Get Attribute List, Add, Modify and Delete Attribute, Check
 * (KMIP 1.4 §4.12, §4.13, §4.14, §4.15, §4.16, §4.10), and the Random
 * Number Generator value (§2.1.18, §3.44) Query RNGs and new keys share.
 *
 * A request at KMIP 1.x never receives an attribute 1.x does not define
 * and cannot set one (kmip-clients §5: PyKMIP, libkmip and PSMDB fail to
 * parse an attribute name they do not know). The rules (tenants, what the
 * store keeps) are in api/ops.c and store/. */
#include <stdio.h>
#include <string.h>

#include "api/internal.h"
#include "api/ops.h"

/* ---- the attribute table ------------------------------------------------------
 * KMIP 1.4 §3.1-§3.51, with the version that first defines each: 1.0 has
 * §3.1-§3.39 less what 1.1 added (Certificate Length, X.509 Certificate
 * Identifier/Subject/Issuer, Digital Signature Algorithm, Fresh); 1.2 added
 * Alternative Name, Key Value Present, Key Value Location and Original
 * Creation Date (KMIP 1.2 §3.40-§3.43); 1.3 the Random Number Generator
 * (§3.44); 1.4 PKCS#12 Friendly Name, Description, Comment, Sensitive,
 * Always Sensitive, Extractable and Never Extractable (§3.45-§3.51). The
 * 1.0/1.1 split agrees with PyKMIP's server policy (kmip/services/server/
 * policy.py, version_added).
 *
 * SERVER: the spec's "Modifiable by client: No", and what fount keeps
 * itself (the store's columns, store_attr_is_managed): the Activation Date
 * is set through Create's template, Activate, or Add/Modify Attribute while
 * Pre-Active (its own path below), the Deactivation Date by Revoke only.
 * Sensitive and Extractable (§3.48, §3.50) the client gives at Create or
 * Register and changes with Modify Attribute in the safe direction only
 * (their own path below); Always Sensitive, Never Extractable, Fresh and
 * Key Value Present the server keeps (store/: STORE_P_*, has_material).
 * CREATE: the client may give it when the object is made (Create,
 * Register templates). KEEP: "Deletable by client: No". */
#define S KMIP_ATTR_SERVER
#define M KMIP_ATTR_MULTI
#define C KMIP_ATTR_CREATE
#define K KMIP_ATTR_KEEP
static const struct kmip_attr_rule rules[] = {
	{"Unique Identifier", 0, TTLV_TEXT, S | K},                    /* §3.1 */
	{"Name", 0, TTLV_STRUCTURE, M | C},                            /* §3.2 */
	{"Object Type", 0, TTLV_ENUM, S | K},                          /* §3.3 */
	{"Cryptographic Algorithm", 0, TTLV_ENUM, S | C | K},          /* §3.4 */
	{"Cryptographic Length", 0, TTLV_INTEGER, S | C | K},          /* §3.5 */
	{"Cryptographic Parameters", 0, TTLV_STRUCTURE, M | C},        /* §3.6 */
	{"Cryptographic Domain Parameters", 0, TTLV_STRUCTURE, S | C | K}, /* §3.7 */
	{"Certificate Type", 0, TTLV_ENUM, S | K},                     /* §3.8 */
	{"Certificate Length", 1, TTLV_INTEGER, S | K},                /* §3.9 */
	{"X.509 Certificate Identifier", 1, TTLV_STRUCTURE, S | K},    /* §3.10 */
	{"X.509 Certificate Subject", 1, TTLV_STRUCTURE, S | K},       /* §3.11 */
	{"X.509 Certificate Issuer", 1, TTLV_STRUCTURE, S | K},        /* §3.12 */
	{"Certificate Identifier", 0, TTLV_STRUCTURE, S | K},          /* §3.13, deprecated in 1.1 */
	{"Certificate Subject", 0, TTLV_STRUCTURE, S | K},             /* §3.14, deprecated in 1.1 */
	{"Certificate Issuer", 0, TTLV_STRUCTURE, S | K},              /* §3.15, deprecated in 1.1 */
	{"Digital Signature Algorithm", 1, TTLV_ENUM, S | K},          /* §3.16 */
	{"Digest", 0, TTLV_STRUCTURE, S | M | K},                      /* §3.17 */
	{"Operation Policy Name", 0, TTLV_TEXT, S | C | K},            /* §3.18 */
	{"Cryptographic Usage Mask", 0, TTLV_INTEGER, S | C | K},      /* §3.19 */
	{"Lease Time", 0, TTLV_INTERVAL, S | K},                       /* §3.20 */
	{"Usage Limits", 0, TTLV_STRUCTURE, C},                        /* §3.21 */
	{"State", 0, TTLV_ENUM, S | K},                                /* §3.22 */
	{"Initial Date", 0, TTLV_DATETIME, S | K},                     /* §3.23 */
	{"Activation Date", 0, TTLV_DATETIME, S | C | K},              /* §3.24 */
	{"Process Start Date", 0, TTLV_DATETIME, C | K},               /* §3.25 */
	{"Protect Stop Date", 0, TTLV_DATETIME, C | K},                /* §3.26 */
	{"Deactivation Date", 0, TTLV_DATETIME, S | K},                /* §3.27 */
	{"Destroy Date", 0, TTLV_DATETIME, S | K},                     /* §3.28 */
	{"Compromise Occurrence Date", 0, TTLV_DATETIME, S | K},       /* §3.29 */
	{"Compromise Date", 0, TTLV_DATETIME, S | K},                  /* §3.30 */
	{"Revocation Reason", 0, TTLV_STRUCTURE, S | K},               /* §3.31 */
	{"Archive Date", 0, TTLV_DATETIME, S | K},                     /* §3.32 */
	{"Object Group", 0, TTLV_TEXT, M | C},                         /* §3.33 */
	{"Fresh", 1, TTLV_BOOL, S | K},                                /* §3.34 */
	{"Link", 0, TTLV_STRUCTURE, M | C},                            /* §3.35 */
	{"Application Specific Information", 0, TTLV_STRUCTURE, M | C}, /* §3.36 */
	{"Contact Information", 0, TTLV_TEXT, C},                      /* §3.37 */
	{"Last Change Date", 0, TTLV_DATETIME, S | K},                 /* §3.38 */
	{"Alternative Name", 2, TTLV_STRUCTURE, M | C},                /* §3.40 */
	{"Key Value Present", 2, TTLV_BOOL, S | K},                    /* §3.41 */
	{"Key Value Location", 2, TTLV_STRUCTURE, M | C},              /* §3.42 */
	{"Original Creation Date", 2, TTLV_DATETIME, S | K},           /* §3.43 */
	{"Random Number Generator", 3, TTLV_STRUCTURE, S | C | K},     /* §3.44 */
	{"PKCS#12 Friendly Name", 4, TTLV_TEXT, C},                    /* §3.45 */
	{"Description", 4, TTLV_TEXT, C},                              /* §3.46 */
	{"Comment", 4, TTLV_TEXT, C},                                  /* §3.47 */
	{"Sensitive", 4, TTLV_BOOL, S | C | K},                            /* §3.48 */
	{"Always Sensitive", 4, TTLV_BOOL, S | K},                     /* §3.49 */
	{"Extractable", 4, TTLV_BOOL, S | C | K},                          /* §3.50 */
	{"Never Extractable", 4, TTLV_BOOL, S | K},                    /* §3.51 */
};
/* §3.39 Custom Attribute: "x-" names are the client's, "y-" the server's;
 * any type, a structure without sub-structures. fount lets clients keep
 * both (vCenter tags keys with x- names) and gives them several instances,
 * as the store does. */
static const struct kmip_attr_rule custom = {"Custom Attribute", 0, 0, M | C};
#undef S
#undef M
#undef C
#undef K

static bool is_custom(const char *name)
{
	return strncmp(name, "x-", 2) == 0 || strncmp(name, "y-", 2) == 0;
}

const struct kmip_attr_rule *kmip_attr_rule(const char *name)
{
	if (is_custom(name))
		return name[2] != '\0' ? &custom : NULL;
	for (size_t i = 0; i < ARRAY_SIZE(rules); i++)
		if (strcmp(rules[i].name, name) == 0)
			return &rules[i];
	return NULL;
}

bool kmip_attr_defined(const char *name, int32_t minor)
{
	const struct kmip_attr_rule *r = kmip_attr_rule(name);
	return r != NULL && minor >= r->since;
}

size_t kmip_attr_rules(const struct kmip_attr_rule **out)
{
	*out = rules;
	return ARRAY_SIZE(rules);
}

/* ---- the Random Number Generator (§2.1.18, §3.44) --------------------------------
 * What serves RNG Retrieve and makes every key: SP 800-90A CTR_DRBG with
 * AES-256 and the derivation function, reseeded from SP 800-90B
 * health-tested sources; keys are drawn with prediction resistance. */
void kmip_rng_encode(struct ttlv_enc *e, uint32_t tag)
{
	ttlv_enc_begin(e, tag);
	ttlv_enc_enum(e, KMIP_TAG_RNG_ALGORITHM, KMIP_RNG_ALGORITHM_DRBG);
	ttlv_enc_enum(e, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM, KMIP_CRYPTOGRAPHIC_ALGORITHM_AES);
	ttlv_enc_int(e, KMIP_TAG_CRYPTOGRAPHIC_LENGTH, 256);
	ttlv_enc_enum(e, KMIP_TAG_DRBG_ALGORITHM, KMIP_DRBG_ALGORITHM_CTR);
	ttlv_enc_bool(e, KMIP_TAG_PREDICTION_RESISTANCE, true);
	ttlv_enc_end(e);
}

bool kmip_rng_matches(const struct ttlv_item *v)
{
	if (v == NULL || v->type != TTLV_STRUCTURE)
		return false;
	for (const struct ttlv_item *c = v->child; c != NULL; c = c->next) {
		bool ok;
		switch (c->tag) {
		case KMIP_TAG_RNG_ALGORITHM: ok = c->type == TTLV_ENUM && c->u == KMIP_RNG_ALGORITHM_DRBG; break;
		case KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM:
			ok = c->type == TTLV_ENUM && c->u == KMIP_CRYPTOGRAPHIC_ALGORITHM_AES;
			break;
		case KMIP_TAG_CRYPTOGRAPHIC_LENGTH: ok = c->type == TTLV_INTEGER && ttlv_int(c) == 256; break;
		case KMIP_TAG_DRBG_ALGORITHM: ok = c->type == TTLV_ENUM && c->u == KMIP_DRBG_ALGORITHM_CTR; break;
		/* keys are always drawn with prediction resistance: asking for
		 * less is still honoured */
		case KMIP_TAG_PREDICTION_RESISTANCE: ok = c->type == TTLV_BOOL; break;
		default: ok = false; break; /* a hashing algorithm, a curve, FIPS 186 */
		}
		if (!ok)
			return false;
	}
	return ttlv_find(v, KMIP_TAG_RNG_ALGORITHM) != NULL;
}

err_t kmip_rng_attr(struct ttlv_enc *e, struct store_attr *a)
{
	ttlv_enc_init(e, 256);
	kmip_rng_encode(e, KMIP_TAG_ATTRIBUTE_VALUE);
	GUARD(ttlv_enc_finish(e));
	*a = (struct store_attr){.name = "Random Number Generator", .type = STORE_V_STRUCTURE, .value = e->buf,
				 .value_len = e->len};
	return ERR_OK;
}

/* ---- reading an Attribute from a request ----------------------------------------- */

/* One attribute value from a request, as the store takes it. */
struct attr_in {
	char name[STORE_ATTR_NAME_MAX + 1];
	char search[256];
	struct ttlv_enc enc; /* a structure value's encoding */
	struct store_attr a;
	const struct ttlv_item *value;
	bool has_index;
	uint32_t index;
};

static void attr_in_free(struct attr_in *in)
{
	ttlv_enc_free(&in->enc);
}

/* text_name copies Attribute Name |n| into |out|, or fails |res| */
static bool text_name(const struct ttlv_item *n, char out[STORE_ATTR_NAME_MAX + 1], struct kmip_result *res)
{
	if (n == NULL || n->type != TTLV_TEXT || n->len == 0 || n->len > STORE_ATTR_NAME_MAX ||
	    memchr(n->val, '\0', n->len) != NULL) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "Attribute Name must be text of 1 to %d bytes",
			  STORE_ATTR_NAME_MAX);
		return false;
	}
	memcpy(out, n->val, n->len);
	out[n->len] = '\0';
	return true;
}

/* read_index reads an optional Attribute Index of |s| */
static bool read_index(const struct ttlv_item *s, struct attr_in *in, struct kmip_result *res)
{
	const struct ttlv_item *ix = ttlv_find(s, KMIP_TAG_ATTRIBUTE_INDEX);
	if (ix == NULL)
		return true;
	if (ix->type != TTLV_INTEGER || ttlv_int(ix) < 0) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "Attribute Index must be a non-negative Integer");
		return false;
	}
	in->has_index = true;
	in->index = (uint32_t)ttlv_int(ix);
	return true;
}

/* check_value checks |v| against |rule| (its type; a Name's Name Value; a
 * custom structure has no sub-structure, §3.39) */
static bool check_value(const struct kmip_attr_rule *rule, const char *name, const struct ttlv_item *v,
			struct kmip_result *res)
{
	if (rule->type != 0 && v->type != rule->type) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "attribute %s is a %s, not a %s", name,
			  ttlv_type_name(rule->type), ttlv_type_name(v->type));
		return false;
	}
	if (strcmp(name, "Name") == 0) {
		const struct ttlv_item *nv = ttlv_find(v, KMIP_TAG_NAME_VALUE);
		if (nv == NULL || nv->type != TTLV_TEXT || nv->len == 0) {
			kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "a Name needs a Name Value");
			return false;
		}
	}
	if (rule->type == 0 && v->type == TTLV_STRUCTURE) {
		for (const struct ttlv_item *c = v->child; c != NULL; c = c->next) {
			if (c->type == TTLV_STRUCTURE) {
				kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD,
					  "a custom attribute's structure holds no structures (KMIP 1.4 §3.39)");
				return false;
			}
		}
	}
	return true;
}

/* to_store makes in->a from the value |v| of attribute in->name */
static bool to_store(struct attr_in *in, const struct ttlv_item *v, struct kmip_result *res)
{
	struct store_attr *a = &in->a;
	in->value = v;
	switch (v->type) {
	case TTLV_INTEGER:
	case TTLV_LONG:
	case TTLV_ENUM:
	case TTLV_BOOL:
	case TTLV_DATETIME:
	case TTLV_INTERVAL:
		store_attr_int(a, in->name, in->index, v->type,
			       v->type == TTLV_INTEGER ? (int64_t)ttlv_int(v) : (int64_t)v->u);
		return true;
	case TTLV_TEXT:
	case TTLV_BYTES:
	case TTLV_BIGINT:
		if (v->len > STORE_ATTR_VALUE_MAX || (v->type == TTLV_TEXT && memchr(v->val, '\0', v->len) != NULL))
			break;
		*a = (struct store_attr){.name = in->name, .index = in->index, .type = v->type, .value = v->val,
					 .value_len = v->len};
		if (v->type == TTLV_TEXT && v->len < sizeof in->search) {
			memcpy(in->search, v->val, v->len);
			in->search[v->len] = '\0';
			a->search = in->search;
		}
		return true;
	case TTLV_STRUCTURE: {
		/* kept as the TTLV of its Attribute Value (as Create's template) */
		ttlv_enc_item(&in->enc, v);
		if (ttlv_enc_finish(&in->enc) != ERR_OK)
			break;
		*a = (struct store_attr){.name = in->name, .index = in->index, .type = v->type,
					 .value = in->enc.buf, .value_len = in->enc.len};
		const struct ttlv_item *nv = ttlv_find(v, KMIP_TAG_NAME_VALUE);
		if (strcmp(in->name, "Name") == 0 && (nv == NULL || nv->type != TTLV_TEXT || nv->len >= sizeof in->search)) {
			kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "a Name needs a Name Value of at most %zu bytes",
				  sizeof in->search - 1);
			return false;
		}
		if (nv != NULL && nv->type == TTLV_TEXT && nv->len < sizeof in->search) {
			memcpy(in->search, nv->val, nv->len);
			in->search[nv->len] = '\0';
			a->search = in->search;
		}
		return true;
	}
	default:
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "attribute %s has an unknown type", in->name);
		return false;
	}
	kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "attribute %s is not a valid value of at most %d bytes",
		  in->name, STORE_ATTR_VALUE_MAX);
	return false;
}

/* read_attribute reads the one Attribute of |p| (Add and Modify) and checks
 * it against the table at |minor|: a name 1.|minor| does not define is
 * Invalid Field (§11.15: "Attribute Name is not known"), one the server
 * keeps Permission Denied ("read-only attribute"). */
static const struct kmip_attr_rule *read_attribute(const struct ttlv_item *p, int32_t minor, struct attr_in *in,
						   struct kmip_result *res)
{
	memset(in, 0, sizeof *in);
	ttlv_enc_init(&in->enc, STORE_ATTR_VALUE_MAX);
	const struct ttlv_item *at = ttlv_find(p, KMIP_TAG_ATTRIBUTE);
	if (at == NULL || at->type != TTLV_STRUCTURE || ttlv_find_next(at) != NULL) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "the request needs one Attribute");
		return NULL;
	}
	const struct ttlv_item *v = ttlv_find(at, KMIP_TAG_ATTRIBUTE_VALUE);
	if (!text_name(ttlv_find(at, KMIP_TAG_ATTRIBUTE_NAME), in->name, res) || !read_index(at, in, res))
		return NULL;
	if (v == NULL) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "attribute %s has no Attribute Value", in->name);
		return NULL;
	}
	const struct kmip_attr_rule *rule = kmip_attr_rule(in->name);
	if (rule == NULL || minor < rule->since) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "%s is not an attribute of KMIP 1.%d", in->name,
			  (int)minor);
		return NULL;
	}
	if (rule->flags & KMIP_ATTR_SERVER) {
		kmip_fail(res, KMIP_RESULT_REASON_PERMISSION_DENIED, "attribute %s is read-only: the server sets it",
			  in->name);
		return NULL;
	}
	if (!check_value(rule, in->name, v, res) || !to_store(in, v, res))
		return NULL;
	return rule;
}

/* ---- writing attributes -------------------------------------------------------------- */

static void put_attr_header(struct ttlv_enc *e, const char *name, uint32_t index)
{
	ttlv_enc_begin(e, KMIP_TAG_ATTRIBUTE);
	ttlv_enc_cstr(e, KMIP_TAG_ATTRIBUTE_NAME, name);
	if (index != 0)
		ttlv_enc_int(e, KMIP_TAG_ATTRIBUTE_INDEX, (int32_t)index);
}

/* put_managed writes the server-kept attribute |name| of |o|; false when
 * the object has no such attribute or KMIP 1.|minor| does not define it. */
static bool put_managed(struct ttlv_enc *e, const struct store_object *o, const char *name, int32_t minor)
{
	struct {
		const char *name;
		int64_t v;
		uint8_t type;
	} fixed[] = {
		{"Object Type", o->type, TTLV_ENUM},
		{"Cryptographic Algorithm", o->alg, TTLV_ENUM},
		{"Cryptographic Length", o->length, TTLV_INTEGER},
		{"Cryptographic Usage Mask", o->usage_mask, TTLV_INTEGER},
		{"State", o->state, TTLV_ENUM},
		{"Initial Date", o->initial_date, TTLV_DATETIME},
		{"Activation Date", o->activation_date, TTLV_DATETIME},
		{"Deactivation Date", o->deactivation_date, TTLV_DATETIME},
		{"Destroy Date", o->destroy_date, TTLV_DATETIME},
		{"Compromise Date", o->compromise_date, TTLV_DATETIME},
		{"Compromise Occurrence Date", o->compromise_occurrence_date, TTLV_DATETIME},
		{"Last Change Date", o->last_change_date, TTLV_DATETIME},
		{"Original Creation Date", o->original_creation_date, TTLV_DATETIME},
	};
	if (!kmip_attr_defined(name, minor))
		return false;
	if (strcmp(name, "Unique Identifier") == 0) {
		put_attr_header(e, name, 0);
		ttlv_enc_cstr(e, KMIP_TAG_ATTRIBUTE_VALUE, o->id);
		ttlv_enc_end(e);
		return true;
	}
	if (strcmp(name, "Digest") == 0) {
		if (!o->has_digest)
			return false;
		put_attr_header(e, name, 0);
		ttlv_enc_begin(e, KMIP_TAG_ATTRIBUTE_VALUE);
		ttlv_enc_enum(e, KMIP_TAG_HASHING_ALGORITHM, KMIP_HASHING_ALGORITHM_SHA_256);
		ttlv_enc_bytes(e, KMIP_TAG_DIGEST_VALUE, o->digest, sizeof o->digest);
		if (o->key_format != 0)
			ttlv_enc_enum(e, KMIP_TAG_KEY_FORMAT_TYPE, o->key_format);
		ttlv_enc_end(e);
		ttlv_enc_end(e);
		return true;
	}
	if (strcmp(name, "Revocation Reason") == 0) {
		if (o->revocation_reason == 0)
			return false;
		put_attr_header(e, name, 0);
		ttlv_enc_begin(e, KMIP_TAG_ATTRIBUTE_VALUE);
		ttlv_enc_enum(e, KMIP_TAG_REVOCATION_REASON_CODE, o->revocation_reason);
		ttlv_enc_end(e);
		ttlv_enc_end(e);
		return true;
	}
	/* §3.34, §3.48-§3.51: every object has them, from store/'s bits */
	static const struct {
		const char *name;
		uint32_t bit;
	} bits[] = {
		{"Fresh", STORE_P_FRESH},
		{"Sensitive", STORE_P_SENSITIVE},
		{"Always Sensitive", STORE_P_ALWAYS_SENSITIVE},
		{"Extractable", STORE_P_EXTRACTABLE},
		{"Never Extractable", STORE_P_NEVER_EXTRACTABLE},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bits); i++) {
		if (strcmp(name, bits[i].name) != 0)
			continue;
		put_attr_header(e, name, 0);
		ttlv_enc_bool(e, KMIP_TAG_ATTRIBUTE_VALUE, (o->protection & bits[i].bit) != 0);
		ttlv_enc_end(e);
		return true;
	}
	/* Lease Time (§3.20): the lease a Get grants, the server's one policy
	 * ([keys] default_lease), on every object it applies to: a destroyed
	 * key keeps it as the OASIS reference server's does (SKLC-O-1-14) */
	if (strcmp(name, "Lease Time") == 0) {
		if (!ops_type_leases(o->type))
			return false;
		put_attr_header(e, name, 0);
		ttlv_enc_interval(e, KMIP_TAG_ATTRIBUTE_VALUE, ops_lease_seconds());
		ttlv_enc_end(e);
		return true;
	}
	/* Key Value Present (§3.41): "created by the server when a Register
	 * operation lacks the Key Value" and never changed; fount registers no
	 * object without its Key Value, so no object has it (the OASIS
	 * reference server sends none either: SKLC-O-1-14) */
	if (strcmp(name, "Key Value Present") == 0)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++) {
		if (strcmp(name, fixed[i].name) != 0)
			continue;
		/* 0 is "not set" for dates, algorithm and length; a usage mask of
		 * 0 is a real value (libmongocrypt registers with mask 0) */
		bool set = fixed[i].v != 0 || strcmp(name, "Cryptographic Usage Mask") == 0;
		if (!set)
			return false;
		put_attr_header(e, name, 0);
		if (fixed[i].type == TTLV_ENUM)
			ttlv_enc_enum(e, KMIP_TAG_ATTRIBUTE_VALUE, (uint32_t)fixed[i].v);
		else if (fixed[i].type == TTLV_INTEGER)
			ttlv_enc_int(e, KMIP_TAG_ATTRIBUTE_VALUE, (int32_t)fixed[i].v);
		else
			ttlv_enc_datetime(e, KMIP_TAG_ATTRIBUTE_VALUE, fixed[i].v);
		ttlv_enc_end(e);
		return true;
	}
	return false;
}

/* put_value writes a stored attribute value under Attribute Value */
static void put_value(struct ttlv_enc *e, const struct store_attr *a)
{
	int64_t v = 0;
	switch (a->type) {
	case TTLV_STRUCTURE: {
		/* kept as its TTLV encoding: write it back under Attribute Value */
		struct ttlv_doc d;
		if (ttlv_decode(&d, a->value, a->value_len) == ERR_OK) {
			const struct ttlv_item *root = ttlv_root(&d);
			ttlv_enc_begin(e, KMIP_TAG_ATTRIBUTE_VALUE);
			for (const struct ttlv_item *c = root->child; c != NULL; c = c->next)
				ttlv_enc_item(e, c);
			ttlv_enc_end(e);
			ttlv_doc_free(&d);
		}
		break;
	}
	case TTLV_TEXT: ttlv_enc_text(e, KMIP_TAG_ATTRIBUTE_VALUE, (const char *)a->value, a->value_len); break;
	case TTLV_BYTES: ttlv_enc_bytes(e, KMIP_TAG_ATTRIBUTE_VALUE, a->value, a->value_len); break;
	case TTLV_BIGINT: {
		const struct ttlv_item it = {.tag = KMIP_TAG_ATTRIBUTE_VALUE, .type = TTLV_BIGINT,
					     .len = (uint32_t)a->value_len, .val = a->value};
		ttlv_enc_item(e, &it);
		break;
	}
	case TTLV_INTEGER:
		if (store_attr_get_int(a, &v) == ERR_OK)
			ttlv_enc_int(e, KMIP_TAG_ATTRIBUTE_VALUE, (int32_t)v);
		break;
	case TTLV_ENUM:
		if (store_attr_get_int(a, &v) == ERR_OK)
			ttlv_enc_enum(e, KMIP_TAG_ATTRIBUTE_VALUE, (uint32_t)v);
		break;
	case TTLV_LONG:
		if (store_attr_get_int(a, &v) == ERR_OK)
			ttlv_enc_long(e, KMIP_TAG_ATTRIBUTE_VALUE, v);
		break;
	case TTLV_BOOL:
		if (store_attr_get_int(a, &v) == ERR_OK)
			ttlv_enc_bool(e, KMIP_TAG_ATTRIBUTE_VALUE, v != 0);
		break;
	case TTLV_DATETIME:
		if (store_attr_get_int(a, &v) == ERR_OK)
			ttlv_enc_datetime(e, KMIP_TAG_ATTRIBUTE_VALUE, v);
		break;
	case TTLV_INTERVAL:
		if (store_attr_get_int(a, &v) == ERR_OK)
			ttlv_enc_interval(e, KMIP_TAG_ATTRIBUTE_VALUE, (uint32_t)v);
		break;
	default:
		break;
	}
}

/* put_stored writes the instances of stored attribute |name| (every one
 * with STORE_ALL_INDEXES, else only |index|) that 1.|minor| defines;
 * returns how many it wrote. */
static size_t put_stored(struct ttlv_enc *e, const struct store_object *o, const char *name, uint32_t index,
			 int32_t minor)
{
	if (!kmip_attr_defined(name, minor))
		return 0;
	size_t n = 0;
	for (size_t i = 0; i < o->n_attrs; i++) {
		const struct store_attr *a = &o->attrs[i];
		if (strcmp(a->name, name) != 0 || (index != STORE_ALL_INDEXES && a->index != index))
			continue;
		put_attr_header(e, a->name, a->index);
		put_value(e, a);
		ttlv_enc_end(e);
		n++;
	}
	return n;
}

/* The attributes the server keeps, in the order Get Attributes and Get
 * Attribute List give them. */
static const char *const all_managed[] = {
	"Unique Identifier", "Object Type", "Cryptographic Algorithm", "Cryptographic Length",
	"Cryptographic Usage Mask", "Lease Time", "Digest", "State", "Initial Date", "Activation Date",
	"Deactivation Date", "Destroy Date", "Compromise Date", "Compromise Occurrence Date",
	"Revocation Reason", "Last Change Date", "Original Creation Date",
	"Fresh", "Key Value Present", "Sensitive", "Always Sensitive", "Extractable", "Never Extractable",
};

/* get_object reads the object the request names into |o| */
static bool get_object(struct kmip_request *rq, const struct ttlv_item *p, char id[STORE_ID_MAX + 1],
		       struct store_object *o, struct kmip_result *res)
{
	if (!kmip_uid_of(rq, p, id, res))
		return false;
	err_t r = ops_get(rq->peer, id, o);
	if (r != ERR_OK) {
		kmip_fail_err(res, r, id);
		return false;
	}
	return true;
}

/* ---- Get Attributes (§4.12) ----------------------------------------------------
 * Only the names asked, in request order; an absent one is omitted (vCenter
 * probes x- names; SKLC-M-1-14 asks an Activation Date a new key lacks);
 * none asked: all fount keeps. Only what the request's version defines. */
#define GET_NAMES_MAX 128

void kmip_op_get_attributes(struct kmip_request *rq, const struct ttlv_item *p, struct ttlv_enc *out,
			    struct kmip_result *res)
{
	const struct ttlv_item *names[GET_NAMES_MAX];
	size_t n_names = 0;
	for (const struct ttlv_item *n = ttlv_find(p, KMIP_TAG_ATTRIBUTE_NAME); n != NULL; n = ttlv_find_next(n)) {
		char name[STORE_ATTR_NAME_MAX + 1];
		if (!text_name(n, name, res))
			return;
		if (n_names == GET_NAMES_MAX) {
			kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "more than %d Attribute Names", GET_NAMES_MAX);
			return;
		}
		for (size_t i = 0; i < n_names; i++) {
			if (names[i]->len == n->len && memcmp(names[i]->val, n->val, n->len) == 0) {
				/* KMIP 1.4 §11.13 */
				kmip_fail(res, KMIP_RESULT_REASON_INVALID_MESSAGE, "Attribute Name %s is asked twice", name);
				return;
			}
		}
		names[n_names++] = n;
	}
	char id[STORE_ID_MAX + 1];
	struct store_object o;
	if (!get_object(rq, p, id, &o, res))
		return;
	int32_t minor = rq->version.minor;
	ttlv_enc_begin(out, KMIP_TAG_RESPONSE_PAYLOAD);
	ttlv_enc_cstr(out, KMIP_TAG_UNIQUE_IDENTIFIER, id);
	if (n_names == 0) {
		for (size_t i = 0; i < ARRAY_SIZE(all_managed); i++)
			(void)put_managed(out, &o, all_managed[i], minor);
		const char *last = NULL;
		for (size_t i = 0; i < o.n_attrs; i++) {
			if (last == NULL || strcmp(last, o.attrs[i].name) != 0)
				(void)put_stored(out, &o, o.attrs[i].name, STORE_ALL_INDEXES, minor);
			last = o.attrs[i].name;
		}
	}
	for (size_t i = 0; i < n_names; i++) {
		char name[STORE_ATTR_NAME_MAX + 1];
		memcpy(name, names[i]->val, names[i]->len);
		name[names[i]->len] = '\0';
		if (!put_managed(out, &o, name, minor))
			(void)put_stored(out, &o, name, STORE_ALL_INDEXES, minor);
	}
	ttlv_enc_end(out);
	snprintf(rq->id_placeholder, sizeof rq->id_placeholder, "%s", id);
	store_object_free(&o);
}

/* ---- Get Attribute List (§4.13) -------------------------------------------------
 * The names of the attributes the object has, each once, that the
 * request's version defines. */
void kmip_op_get_attribute_list(struct kmip_request *rq, const struct ttlv_item *p, struct ttlv_enc *out,
				struct kmip_result *res)
{
	char id[STORE_ID_MAX + 1];
	struct store_object o;
	if (!get_object(rq, p, id, &o, res))
		return;
	int32_t minor = rq->version.minor;
	struct ttlv_enc scratch;
	ttlv_enc_init(&scratch, 1 << 16);
	ttlv_enc_begin(out, KMIP_TAG_RESPONSE_PAYLOAD);
	ttlv_enc_cstr(out, KMIP_TAG_UNIQUE_IDENTIFIER, id);
	for (size_t i = 0; i < ARRAY_SIZE(all_managed); i++) {
		/* has it? the same test Get Attributes makes */
		struct ttlv_mark m = ttlv_enc_mark(&scratch);
		if (put_managed(&scratch, &o, all_managed[i], minor))
			ttlv_enc_cstr(out, KMIP_TAG_ATTRIBUTE_NAME, all_managed[i]);
		ttlv_enc_rewind(&scratch, m);
	}
	const char *last = NULL;
	for (size_t i = 0; i < o.n_attrs; i++) {
		const char *name = o.attrs[i].name;
		if ((last == NULL || strcmp(last, name) != 0) && kmip_attr_defined(name, minor))
			ttlv_enc_cstr(out, KMIP_TAG_ATTRIBUTE_NAME, name);
		last = name;
	}
	ttlv_enc_end(out);
	ttlv_enc_free(&scratch);
	snprintf(rq->id_placeholder, sizeof rq->id_placeholder, "%s", id);
	store_object_free(&o);
}

/* answer_attr writes the payload Add, Modify and Delete answer with: the
 * identifier and the attribute (its index when not 0, §4.14-4.16) */
static void answer_attr(struct kmip_request *rq, struct ttlv_enc *out, const char *id, const char *name,
			uint32_t index, const struct ttlv_item *value, const struct store_attr *stored)
{
	ttlv_enc_begin(out, KMIP_TAG_RESPONSE_PAYLOAD);
	ttlv_enc_cstr(out, KMIP_TAG_UNIQUE_IDENTIFIER, id);
	put_attr_header(out, name, index);
	if (value != NULL)
		ttlv_enc_item(out, value);
	else
		put_value(out, stored);
	ttlv_enc_end(out);
	ttlv_enc_end(out);
	snprintf(rq->id_placeholder, sizeof rq->id_placeholder, "%s", id);
}

/* not_found_first: a read-only attribute named on another tenant's object
 * (or on none) is Item Not Found, as everything else is: only the owner
 * (or an admin) learns that the attribute is read-only. */
static void not_found_first(struct kmip_request *rq, const char *id, struct kmip_result *res)
{
	if (res->reason != KMIP_RESULT_REASON_PERMISSION_DENIED)
		return;
	struct store_object o;
	err_t r = ops_get(rq->peer, id, &o);
	if (r != ERR_OK)
		kmip_fail_err(res, r, id);
	else
		store_object_free(&o);
}

/* name_taken says whether another object of the caller's has the Name
 * |in| gives (§11.15, §11.16: Illegal Operation); only the caller's
 * objects are looked at, so nothing of another tenant's shows. */
static bool name_taken(struct kmip_request *rq, const char *id, const struct attr_in *in, struct kmip_result *res)
{
	if (strcmp(in->name, "Name") != 0 || in->a.search == NULL)
		return false;
	struct store_query q;
	memset(&q, 0, sizeof q);
	q.name = in->a.search;
	q.max_items = 2;
	struct store_found f;
	err_t r = ops_find(rq->peer, &q, &f);
	if (r != ERR_OK) {
		kmip_fail_err(res, r, id);
		return true;
	}
	bool taken = false;
	for (size_t i = 0; i < f.n; i++)
		taken = taken || strcmp(f.ids[i], id) != 0;
	store_found_free(&f);
	if (taken)
		kmip_fail(res, KMIP_RESULT_REASON_ILLEGAL_OPERATION, "another object already has the Name %s",
			  in->a.search);
	return taken;
}

/* activation_date answers an Add (|add|) or Modify of the Activation Date
 * (§3.24: client-modifiable only while Pre-Active; SKLC-M-3-14 and
 * AKLC-M-3-14 expect Permission Denied for an Active key). A date now or
 * past activates the key. Returns false when the request is about another
 * attribute. Add sets a date the key lacks, Modify changes one it has. */
static bool activation_date(struct kmip_request *rq, const struct ttlv_item *p, const char *id, bool add,
			    struct ttlv_enc *out, struct kmip_result *res)
{
	const struct ttlv_item *at = ttlv_find(p, KMIP_TAG_ATTRIBUTE);
	const struct ttlv_item *n = ttlv_find(at, KMIP_TAG_ATTRIBUTE_NAME);
	const struct ttlv_item *v = ttlv_find(at, KMIP_TAG_ATTRIBUTE_VALUE);
	const struct ttlv_item *ix = ttlv_find(at, KMIP_TAG_ATTRIBUTE_INDEX);
	static const char name[] = "Activation Date";
	if (n == NULL || n->type != TTLV_TEXT || n->len != sizeof name - 1 || memcmp(n->val, name, n->len) != 0 ||
	    ttlv_find_next(at) != NULL)
		return false;
	struct store_object o;
	err_t r = ops_get(rq->peer, id, &o);
	if (r != ERR_OK) {
		kmip_fail_err(res, r, id);
		return true;
	}
	uint32_t state = o.state;
	int64_t had = o.activation_date;
	store_object_free(&o);
	if (v == NULL || v->type != TTLV_DATETIME || (int64_t)v->u <= 0 || (ix != NULL && ttlv_int(ix) != 0)) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "an Activation Date is one Date-Time after 1970");
		return true;
	}
	if (state != STORE_STATE_PRE_ACTIVE) {
		kmip_fail(res, KMIP_RESULT_REASON_PERMISSION_DENIED,
			  "the Activation Date changes only while Pre-Active (KMIP 1.4 §3.24)");
		return true;
	}
	if (add && had != 0) {
		kmip_fail(res, KMIP_RESULT_REASON_ILLEGAL_OPERATION, "%s is already set: use Modify Attribute", name);
		return true;
	}
	if (!add && had == 0) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "object %s has no %s: use Add Attribute", id, name);
		return true;
	}
	r = ops_set_activation_date(rq->peer, id, (int64_t)v->u);
	if (r == ERR_STORE_STATE) /* activated meanwhile */
		kmip_fail(res, KMIP_RESULT_REASON_PERMISSION_DENIED, "the Activation Date changes only while Pre-Active");
	else if (r != ERR_OK)
		kmip_fail_err(res, r, id);
	else
		answer_attr(rq, out, id, name, 0, v, NULL);
	return true;
}

/* protection_attr answers an Add (|add|) or Modify of Sensitive or
 * Extractable (KMIP 1.4 §3.48, §3.50: "SHALL always have a value", so Add
 * finds it set, as for any single-valued attribute, §11.15). Modify moves
 * them only the safe way (Sensitive false -> true, Extractable true ->
 * false); the other way is Permission Denied, the reason §11.16 gives for
 * an attribute the client may not change so. Returns false when the
 * request is about another attribute. */
static bool protection_attr(struct kmip_request *rq, const struct ttlv_item *p, const char *id, bool add,
			    struct ttlv_enc *out, struct kmip_result *res)
{
	const struct ttlv_item *at = ttlv_find(p, KMIP_TAG_ATTRIBUTE);
	const struct ttlv_item *n = ttlv_find(at, KMIP_TAG_ATTRIBUTE_NAME);
	const struct ttlv_item *v = ttlv_find(at, KMIP_TAG_ATTRIBUTE_VALUE);
	const struct ttlv_item *ix = ttlv_find(at, KMIP_TAG_ATTRIBUTE_INDEX);
	if (n == NULL || n->type != TTLV_TEXT || ttlv_find_next(at) != NULL || rq->version.minor < 4)
		return false;
	bool sens = n->len == 9 && memcmp(n->val, "Sensitive", 9) == 0;
	bool extr = n->len == 11 && memcmp(n->val, "Extractable", 11) == 0;
	if (!sens && !extr)
		return false;
	const char *name = sens ? "Sensitive" : "Extractable";
	struct store_object o;
	err_t r = ops_get(rq->peer, id, &o); /* another tenant's: not found first */
	if (r != ERR_OK) {
		kmip_fail_err(res, r, id);
		return true;
	}
	store_object_free(&o);
	if (v == NULL || v->type != TTLV_BOOL || (ix != NULL && (ix->type != TTLV_INTEGER || ttlv_int(ix) != 0))) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "%s is one Boolean (KMIP 1.4 §3.%s)", name,
			  sens ? "48" : "50");
		return true;
	}
	if (add) {
		kmip_fail(res, KMIP_RESULT_REASON_ILLEGAL_OPERATION,
			  "%s always has a value: use Modify Attribute (KMIP 1.4 §3.%s)", name, sens ? "48" : "50");
		return true;
	}
	int want = v->u != 0;
	r = ops_set_protection(rq->peer, id, sens ? want : -1, extr ? want : -1);
	if (r == ERR_STORE_PROTECTED)
		kmip_fail(res, KMIP_RESULT_REASON_PERMISSION_DENIED,
			  sens ? "a Sensitive object stays Sensitive (KMIP 1.4 §3.49: Always Sensitive)"
			       : "a non-Extractable object stays so (KMIP 1.4 §3.51: Never Extractable)");
	else if (r != ERR_OK)
		kmip_fail_err(res, r, id);
	else
		answer_attr(rq, out, id, name, 0, v, NULL);
	return true;
}

/* ---- Add Attribute (§4.14) -----------------------------------------------------
 * §11.15: a read-only attribute is Permission Denied; one that exists
 * (single-valued), or a Name another of the caller's objects has, Illegal
 * Operation — KMIP 2.1's BL-M-5-21 answers
 * Attribute Single Valued, which 1.x does not have; an Attribute Index in
 * the request Invalid Field (0 is let through: it names nothing new). */
void kmip_op_add_attribute(struct kmip_request *rq, const struct ttlv_item *p, struct ttlv_enc *out,
			   struct kmip_result *res)
{
	char id[STORE_ID_MAX + 1];
	struct attr_in in;
	if (!kmip_uid_of(rq, p, id, res) || activation_date(rq, p, id, true, out, res) ||
	    protection_attr(rq, p, id, true, out, res))
		return;
	if (read_attribute(p, rq->version.minor, &in, res) == NULL) {
		not_found_first(rq, id, res);
		goto out;
	}
	if (in.has_index && in.index != 0) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "Add Attribute takes no Attribute Index (§4.14)");
		goto out;
	}
	if (name_taken(rq, id, &in, res))
		goto out;
	uint32_t index = 0;
	err_t r = ops_attr_add(rq->peer, id, &in.a, &index);
	if (r == ERR_STORE_ATTR_EXISTS) {
		kmip_fail(res, KMIP_RESULT_REASON_ILLEGAL_OPERATION,
			  "%s is single-valued and already set: use Modify Attribute", in.name);
		goto out;
	}
	if (r != ERR_OK) {
		kmip_fail_err(res, r, id);
		goto out;
	}
	answer_attr(rq, out, id, in.name, index, in.value, NULL);
out:
	attr_in_free(&in);
}

/* ---- Modify Attribute (§4.15) ---------------------------------------------------
 * Replaces one instance (index 0 unless given) and answers with the new
 * value; key material is never touched. §11.16: an attribute the object
 * does not have is Invalid Field, a missing instance Item Not Found, a
 * Name another of the caller's objects has Illegal Operation, a
 * read-only one Permission Denied (an Active key's Activation Date:
 * SKLC-M-3-14, AKLC-M-3-14). */
void kmip_op_modify_attribute(struct kmip_request *rq, const struct ttlv_item *p, struct ttlv_enc *out,
			      struct kmip_result *res)
{
	char id[STORE_ID_MAX + 1];
	struct attr_in in;
	if (!kmip_uid_of(rq, p, id, res) || activation_date(rq, p, id, false, out, res) ||
	    protection_attr(rq, p, id, false, out, res))
		return;
	if (read_attribute(p, rq->version.minor, &in, res) == NULL) {
		not_found_first(rq, id, res);
		goto out;
	}
	if (name_taken(rq, id, &in, res))
		goto out;
	bool exists = false;
	err_t r = ops_attr_modify(rq->peer, id, &in.a, &exists);
	if (r == ERR_STORE_ATTR_NOT_FOUND && !exists) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "object %s has no %s: use Add Attribute", id, in.name);
		goto out;
	}
	if (r == ERR_STORE_ATTR_NOT_FOUND) {
		kmip_fail(res, KMIP_RESULT_REASON_ITEM_NOT_FOUND, "object %s has no %s with index %u", id, in.name,
			  (unsigned)in.index);
		goto out;
	}
	if (r != ERR_OK) {
		kmip_fail_err(res, r, id);
		goto out;
	}
	answer_attr(rq, out, id, in.name, in.index, in.value, NULL);
out:
	attr_in_free(&in);
}

/* ---- Delete Attribute (§4.16) ---------------------------------------------------
 * Removes (name, index 0 unless given) and answers with what was deleted.
 * §11.17: a read-only or required attribute is Permission Denied; no such
 * attribute or instance Item Not Found. */
void kmip_op_delete_attribute(struct kmip_request *rq, const struct ttlv_item *p, struct ttlv_enc *out,
			      struct kmip_result *res)
{
	char id[STORE_ID_MAX + 1];
	struct attr_in in;
	memset(&in, 0, sizeof in);
	if (!kmip_uid_of(rq, p, id, res) || !text_name(ttlv_find(p, KMIP_TAG_ATTRIBUTE_NAME), in.name, res) ||
	    !read_index(p, &in, res))
		return;
	struct store_object o;
	const struct kmip_attr_rule *rule = kmip_attr_rule(in.name);
	if (rule != NULL && rq->version.minor >= rule->since && (rule->flags & (KMIP_ATTR_SERVER | KMIP_ATTR_KEEP))) {
		err_t r = ops_get(rq->peer, id, &o); /* another tenant's: not found */
		if (r != ERR_OK) {
			kmip_fail_err(res, r, id);
			return;
		}
		store_object_free(&o);
		kmip_fail(res, KMIP_RESULT_REASON_PERMISSION_DENIED, "attribute %s cannot be deleted", in.name);
		return;
	}
	if (rule == NULL || rq->version.minor < rule->since) {
		/* nothing of that name can exist at this version */
		err_t r = ops_get(rq->peer, id, &o);
		if (r != ERR_OK) {
			kmip_fail_err(res, r, id);
			return;
		}
		store_object_free(&o);
		kmip_fail(res, KMIP_RESULT_REASON_ITEM_NOT_FOUND, "object %s has no attribute %s", id, in.name);
		return;
	}
	err_t r = ops_attr_delete(rq->peer, id, in.name, in.index, &o);
	if (r == ERR_STORE_ATTR_NOT_FOUND) {
		kmip_fail(res, KMIP_RESULT_REASON_ITEM_NOT_FOUND, "object %s has no %s with index %u", id, in.name,
			  (unsigned)in.index);
	} else if (r != ERR_OK) {
		kmip_fail_err(res, r, id);
	} else {
		for (size_t i = 0; i < o.n_attrs; i++) {
			if (o.attrs[i].index == in.index && strcmp(o.attrs[i].name, in.name) == 0) {
				answer_attr(rq, out, id, in.name, in.index, NULL, &o.attrs[i]);
				break;
			}
		}
	}
	store_object_free(&o);
}

/* ---- Check (§4.10) ---------------------------------------------------------------
 * Usage Limits Count, Cryptographic Usage Mask and Lease Time come as
 * themselves, not in Attribute structures. Allowed: the identifier (and
 * the ID Placeholder). Refused (§11.11: Permission Denied): no identifier,
 * the ID Placeholder emptied, and the fields that caused the refusal in the
 * payload, so a batch's later items fail and the client sees why. */
static const struct ttlv_item *check_field(const struct ttlv_item *p, uint32_t tag, uint8_t type,
					   struct kmip_result *res)
{
	const struct ttlv_item *it = ttlv_find(p, tag);
	if (it != NULL && (it->type != type || ttlv_find_next(it) != NULL)) {
		kmip_fail(res, KMIP_RESULT_REASON_INVALID_FIELD, "%s must be one %s", kmip_tag_name(tag),
			  ttlv_type_name(type));
		return NULL;
	}
	return it;
}

void kmip_op_check(struct kmip_request *rq, const struct ttlv_item *p, struct ttlv_enc *out,
		   struct kmip_result *res)
{
	char id[STORE_ID_MAX + 1];
	if (!kmip_uid_of(rq, p, id, res))
		return;
	const struct ttlv_item *count = check_field(p, KMIP_TAG_USAGE_LIMITS_COUNT, TTLV_LONG, res);
	const struct ttlv_item *mask = check_field(p, KMIP_TAG_CRYPTOGRAPHIC_USAGE_MASK, TTLV_INTEGER, res);
	const struct ttlv_item *lease = check_field(p, KMIP_TAG_LEASE_TIME, TTLV_INTERVAL, res);
	if (res->status != KMIP_RESULT_STATUS_SUCCESS)
		return;
	struct ops_check want = {
		.has_count = count != NULL,
		.has_mask = mask != NULL,
		.has_lease = lease != NULL,
		.usage_count = count != NULL ? ttlv_long(count) : 0,
		.usage_mask = mask != NULL ? (uint32_t)ttlv_int(mask) : 0,
		.lease_time = lease != NULL ? (uint32_t)lease->u : 0,
	};
	unsigned denied = 0;
	err_t r = ops_check(rq->peer, id, &want, &denied);
	if (r == ERR_STORE_DESTROYED) {
		kmip_fail(res, KMIP_RESULT_REASON_ILLEGAL_OPERATION, "object %s is destroyed: nothing to check", id);
		return;
	}
	if (r != ERR_OK) {
		kmip_fail_err(res, r, id);
		return;
	}
	ttlv_enc_begin(out, KMIP_TAG_RESPONSE_PAYLOAD);
	if (denied == 0) {
		ttlv_enc_cstr(out, KMIP_TAG_UNIQUE_IDENTIFIER, id);
		ttlv_enc_end(out);
		snprintf(rq->id_placeholder, sizeof rq->id_placeholder, "%s", id);
		return;
	}
	/* ops_check refuses only what was asked */
	if ((denied & OPS_CHECK_COUNT) && count != NULL)
		ttlv_enc_item(out, count);
	if ((denied & OPS_CHECK_MASK) && mask != NULL)
		ttlv_enc_item(out, mask);
	if ((denied & OPS_CHECK_LEASE) && lease != NULL)
		ttlv_enc_item(out, lease);
	ttlv_enc_end(out);
	rq->id_placeholder[0] = '\0';
	kmip_fail(res, KMIP_RESULT_REASON_PERMISSION_DENIED, "object %s may not be used so: %s%s%s", id,
		  denied & OPS_CHECK_MASK ? "usage mask not permitted; " : "",
		  denied & OPS_CHECK_COUNT ? "usage limit exceeded; " : "",
		  denied & OPS_CHECK_LEASE ? "lease too long; " : "");
	res->payload_on_failure = true;
}

/* ---- Obtain Lease (§4.20) -------------------------------------------------------
 * A new lease of the object for the caller: Lease Time seconds from now,
 * recorded with the caller's certificate (the holders' view shows it), and
 * the object's Last Change Date so the client knows whether its cached
 * attributes are stale. A key that is not Pre-Active or Active grants no
 * lease: "the server SHALL respond to the Obtain Lease request with an
 * error" (§4.20), Permission Denied. */
void kmip_op_obtain_lease(struct kmip_request *rq, const struct ttlv_item *p, struct ttlv_enc *out,
			  struct kmip_result *res)
{
	char id[STORE_ID_MAX + 1];
	if (!kmip_uid_of(rq, p, id, res))
		return;
	int64_t lease_end = 0, last_change = 0;
	err_t r = ops_obtain_lease(rq->peer, id, "kmip obtain lease", &lease_end, &last_change);
	if (r == ERR_STORE_STATE) {
		kmip_fail(res, KMIP_RESULT_REASON_PERMISSION_DENIED,
			  "object %s is not Pre-Active or Active (or is an Opaque Object): no lease is granted", id);
		return;
	}
	if (r != ERR_OK) {
		kmip_fail_err(res, r, id);
		return;
	}
	ttlv_enc_begin(out, KMIP_TAG_RESPONSE_PAYLOAD);
	ttlv_enc_cstr(out, KMIP_TAG_UNIQUE_IDENTIFIER, id);
	ttlv_enc_interval(out, KMIP_TAG_LEASE_TIME, ops_lease_seconds());
	ttlv_enc_datetime(out, KMIP_TAG_LAST_CHANGE_DATE, last_change);
	ttlv_enc_end(out);
	snprintf(rq->id_placeholder, sizeof rq->id_placeholder, "%s", id);
}
