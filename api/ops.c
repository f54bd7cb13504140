/* api/ops.c — the operation layer every protocol shares (KMIP today, HTTP
 * next): creating keys, reading them, changing their state, with the
 * tenant rules in one place. It calls keygen/ (the key), store/ (durable,
 * sealed, the lifecycle rules) and records every key-material access. It
 * knows nothing of TTLV or JSON.
 *
 * Who may do what: a tenant sees only its own objects (another tenant's is
 * "not found", never a hint that it exists). An administrator manages the
 * lifecycle and attributes of every object but reads key material only
 * where the configuration allows (admin_key_access), so an administrator
 * is not a way around the owner. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "api/ops.h"
#include "api/ttlv.h"
#include "keygen/keygen.h"

static struct store *the_store;
static bool admin_key_access;

void ops_set_store(struct store *s, bool admins_read_keys)
{
	the_store = s;
	admin_key_access = admins_read_keys;
}

void api_set_store(struct store *s, bool admins_read_keys)
{
	ops_set_store(s, admins_read_keys);
}

bool ops_have_store(void)
{
	return the_store != NULL;
}

static unsigned flags_for(const struct kmip_peer *p)
{
	return p->admin ? STORE_F_ADMIN : 0;
}

/* sym_type maps a KMIP algorithm and length to fount's key type. */
static const struct keygen_type *sym_type(uint32_t alg, uint32_t bits)
{
	char name[32];
	switch (alg) {
	case STORE_ALG_AES:
		if (bits != 128 && bits != 192 && bits != 256)
			return NULL;
		snprintf(name, sizeof name, "aes-%u", bits);
		return keygen_type_find(name);
	case STORE_ALG_HMAC_SHA256:
	case STORE_ALG_HMAC_SHA384:
	case STORE_ALG_HMAC_SHA512: {
		/* SP 800-107 r1 §5.2: a key at least as long as the hash output */
		unsigned hash = alg == STORE_ALG_HMAC_SHA256 ? 256 : alg == STORE_ALG_HMAC_SHA384 ? 384 : 512;
		if (bits != 0 && bits != hash)
			return NULL;
		snprintf(name, sizeof name, "hmac-sha%u", hash);
		return keygen_type_find(name);
	}
	default:
		return NULL;
	}
}

err_t ops_create_symmetric(const struct kmip_peer *p, const struct ops_new_key *k, char id_out[STORE_ID_MAX + 1])
{
	ENSURE(the_store != NULL, ERR_UNSUPPORTED);
	const struct keygen_type *t = sym_type(k->alg, k->length);
	ENSURE(t != NULL, ERR_UNSUPPORTED);
	uint8_t *key = NULL;
	size_t key_len = 0;
	/* a long-term key: prediction resistance, a fresh draw from the
	 * noise sources (SP 800-90A §8.8) */
	GUARD(keygen_sym_generate(t, KEYGEN_F_PR, &key, &key_len));
	struct store_new_object n = {
		.tenant = p->tenant,
		.type = STORE_OBJ_SYMMETRIC_KEY,
		.alg = k->alg,
		.length = (uint32_t)(key_len * 8),
		.usage_mask = k->usage_mask,
		.key_format = STORE_FMT_RAW,
		.activation_date = k->activation_date,
		.attrs = k->attrs,
		.n_attrs = k->n_attrs,
		.material = key,
		.material_len = key_len,
	};
	err_t r = store_put(the_store, &n, id_out);
	secmem_free(key, key_len);
	return r;
}

err_t ops_register(const struct kmip_peer *p, const struct ops_new_key *k, uint32_t type, uint32_t format,
		   const uint8_t *material, size_t len, char id_out[STORE_ID_MAX + 1])
{
	ENSURE(the_store != NULL, ERR_UNSUPPORTED);
	struct store_new_object n = {
		.tenant = p->tenant,
		.type = type,
		.alg = k->alg,
		.length = k->length,
		.usage_mask = k->usage_mask,
		.key_format = format,
		.activation_date = k->activation_date,
		.attrs = k->attrs,
		.n_attrs = k->n_attrs,
		.material = material,
		.material_len = len,
	};
	return store_put(the_store, &n, id_out);
}

err_t ops_get(const struct kmip_peer *p, const char *id, struct store_object *out)
{
	ENSURE(the_store != NULL, ERR_UNSUPPORTED);
	return store_get(the_store, id, p->tenant, flags_for(p), out);
}

err_t ops_get_material(const struct kmip_peer *p, const char *id, const char *operation, uint8_t **out,
		       size_t *out_len)
{
	ENSURE(the_store != NULL, ERR_UNSUPPORTED);
	*out = NULL;
	*out_len = 0;
	unsigned flags = 0;
	if (p->admin && admin_key_access)
		flags = STORE_F_ADMIN;
	/* an administrator without key access reads its own tenant's keys
	 * only: any other object's material is "not found" to it */
	GUARD(store_get_material(the_store, id, p->tenant, flags, out, out_len));
	err_t r = store_record_access(the_store, id, p->tenant, p->cert_sha256, operation, 0);
	if (r != ERR_OK) {
		/* no key leaves unrecorded */
		secmem_free(*out, *out_len);
		*out = NULL;
		*out_len = 0;
	}
	return r;
}

err_t ops_activate(const struct kmip_peer *p, const char *id)
{
	ENSURE(the_store != NULL, ERR_UNSUPPORTED);
	struct store_object o;
	GUARD(store_get(the_store, id, p->tenant, flags_for(p), &o));
	uint32_t state = o.state;
	store_object_free(&o);
	/* mongod, Percona and libmongocrypt call Activate right after Create
	 * and treat a failure as fatal: activating an Active object again is
	 * a no-op success */
	if (state == STORE_STATE_ACTIVE)
		return ERR_OK;
	return store_activate(the_store, id, p->tenant, flags_for(p));
}

err_t ops_revoke(const struct kmip_peer *p, const char *id, uint32_t reason, int64_t occurred)
{
	ENSURE(the_store != NULL, ERR_UNSUPPORTED);
	return store_revoke(the_store, id, p->tenant, flags_for(p), reason, occurred);
}

err_t ops_destroy(const struct kmip_peer *p, const char *id)
{
	ENSURE(the_store != NULL, ERR_UNSUPPORTED);
	return store_destroy(the_store, id, p->tenant, flags_for(p));
}

err_t ops_find(const struct kmip_peer *p, struct store_query *q, struct store_found *out)
{
	ENSURE(the_store != NULL, ERR_UNSUPPORTED);
	q->tenant = p->tenant;
	q->flags = flags_for(p);
	return store_find(the_store, q, out);
}

/* ---- key pairs and replacement keys -------------------------------------------
 * Links are Structure attributes, which the store keeps as the TTLV
 * encoding of their Attribute Value (store.h): that is the one place this
 * layer writes TTLV, so every protocol reads the same Link. */

/* KMIP 1.4 §9.1.3.2.20 Link Type; §9.1.3.2.5 Recommended Curve */
enum {
	LINK_PUBLIC_KEY = 0x102,
	LINK_PRIVATE_KEY = 0x103,
	LINK_REPLACEMENT = 0x106,
	LINK_REPLACED = 0x107,
	CURVE_P_256 = 7,
	CURVE_P_384 = 10,
	CURVE_P_521 = 13,
};

/* A Link attribute: its encoding and the store_attr that points at it. */
struct link_attr {
	struct ttlv_enc e;
	struct store_attr a;
};

static err_t link_make(struct link_attr *l, uint32_t type, const char *target)
{
	ttlv_enc_init(&l->e, 256);
	ttlv_enc_begin(&l->e, KMIP_TAG_ATTRIBUTE_VALUE);
	ttlv_enc_enum(&l->e, KMIP_TAG_LINK_TYPE, type);
	ttlv_enc_cstr(&l->e, KMIP_TAG_LINKED_OBJECT_IDENTIFIER, target);
	ttlv_enc_end(&l->e);
	err_t r = ttlv_enc_finish(&l->e);
	if (r != ERR_OK) {
		ttlv_enc_free(&l->e);
		return r;
	}
	l->a = (struct store_attr){.name = "Link", .type = STORE_V_STRUCTURE, .value = l->e.buf,
				   .value_len = l->e.len};
	return ERR_OK;
}

bool ops_link_target(const struct store_object *o, uint32_t type, char out[STORE_ID_MAX + 1])
{
	for (size_t i = 0; i < o->n_attrs; i++) {
		const struct store_attr *a = &o->attrs[i];
		if (strcmp(a->name, "Link") != 0 || a->type != STORE_V_STRUCTURE)
			continue;
		struct ttlv_doc d;
		if (ttlv_decode(&d, a->value, a->value_len) != ERR_OK)
			continue;
		const struct ttlv_item *root = ttlv_root(&d);
		const struct ttlv_item *lt = ttlv_find(root, KMIP_TAG_LINK_TYPE);
		const struct ttlv_item *id = ttlv_find(root, KMIP_TAG_LINKED_OBJECT_IDENTIFIER);
		bool found = lt != NULL && lt->type == TTLV_ENUM && lt->u == type && id != NULL &&
			     id->type == TTLV_TEXT && id->len > 0 && id->len <= STORE_ID_MAX;
		if (found) {
			memcpy(out, id->val, id->len);
			out[id->len] = '\0';
		}
		ttlv_doc_free(&d);
		if (found)
			return true;
	}
	return false;
}

const struct keygen_type *ops_pair_type(uint32_t alg, uint32_t length, uint32_t curve)
{
	switch (alg) {
	case STORE_ALG_RSA:
		if (curve != 0)
			return NULL;
		switch (length) {
		case 2048: return keygen_type_find("rsa-2048");
		case 3072: return keygen_type_find("rsa-3072");
		case 4096: return keygen_type_find("rsa-4096");
		default: return NULL;
		}
	case STORE_ALG_EC:
	case STORE_ALG_ECDSA:
	case STORE_ALG_ECDH: {
		/* the curve, or a length that names one of the three */
		uint32_t bits = curve == CURVE_P_256 ? 256 : curve == CURVE_P_384 ? 384 : curve == CURVE_P_521 ? 521 : 0;
		if (curve != 0 && bits == 0)
			return NULL;
		if (bits == 0)
			bits = length;
		else if (length != 0 && length != bits)
			return NULL;
		switch (bits) {
		case 256: return keygen_type_find("ec-p256");
		case 384: return keygen_type_find("ec-p384");
		case 521: return keygen_type_find("ec-p521");
		default: return NULL;
		}
	}
	default:
		return NULL;
	}
}

/* A part of a pair, or a replacement key, on its way to store_put_many:
 * its attributes (the caller's plus the server's Links). */
#define PART_ATTRS (STORE_ATTRS_MAX)
struct part {
	struct store_new_object n;
	char id[STORE_ID_MAX + 1];
	struct store_attr *attrs; /* malloc'd: up to PART_ATTRS */
	size_t n_attrs;
	struct link_attr links[2];
	size_t n_links;
};

static err_t part_init(struct part *pt)
{
	memset(pt, 0, sizeof(*pt));
	pt->attrs = calloc(PART_ATTRS, sizeof(*pt->attrs));
	return pt->attrs != NULL ? store_new_id(pt->id) : ERR_NOMEM;
}

static void part_free(struct part *pt)
{
	for (size_t i = 0; i < pt->n_links; i++)
		ttlv_enc_free(&pt->links[i].e);
	free(pt->attrs);
	memset(pt, 0, sizeof(*pt));
}

/* part_add appends |a| (an integer value's bytes are copied with it: a
 * store_attr's value may point into itself). */
static err_t part_add(struct part *pt, const struct store_attr *a)
{
	ENSURE(pt->n_attrs < PART_ATTRS, ERR_TOO_LARGE);
	struct store_attr *d = &pt->attrs[pt->n_attrs++];
	*d = *a;
	if (a->value == a->int_buf_)
		d->value = d->int_buf_;
	return ERR_OK;
}

/* part_link adds a Link of |type| to |target|. */
static err_t part_link(struct part *pt, uint32_t type, const char *target)
{
	ENSURE(pt->n_links < ARRAY_SIZE(pt->links), ERR_INTERNAL);
	struct link_attr *l = &pt->links[pt->n_links];
	GUARD(link_make(l, type, target));
	pt->n_links++;
	/* each instance gets its own index: Link is multi-instance */
	uint32_t index = 0;
	for (size_t i = 0; i < pt->n_attrs; i++)
		if (strcmp(pt->attrs[i].name, "Link") == 0 && pt->attrs[i].index >= index)
			index = pt->attrs[i].index + 1;
	l->a.index = index;
	return part_add(pt, &l->a);
}

/* part_fix_indexes gives every multi-instance name distinct indexes, in
 * order (a template may give two Names without an index each). */
static void part_fix_indexes(struct part *pt)
{
	for (size_t i = 0; i < pt->n_attrs; i++) {
		if (!store_attr_is_multi(pt->attrs[i].name))
			continue;
		uint32_t next = 0;
		for (size_t j = 0; j < i; j++)
			if (strcmp(pt->attrs[j].name, pt->attrs[i].name) == 0 && pt->attrs[j].index >= next)
				next = pt->attrs[j].index + 1;
		bool clash = false;
		for (size_t j = 0; j < i; j++)
			clash = clash || (strcmp(pt->attrs[j].name, pt->attrs[i].name) == 0 &&
					  pt->attrs[j].index == pt->attrs[i].index);
		if (clash)
			pt->attrs[i].index = next;
	}
}

static void part_object(struct part *pt, const char *tenant, uint32_t type, uint32_t alg, uint32_t length,
			uint32_t mask, uint32_t format, int64_t activation, int64_t deactivation,
			const struct keygen_buf *material)
{
	part_fix_indexes(pt);
	pt->n = (struct store_new_object){
		.tenant = tenant,
		.type = type,
		.alg = alg,
		.length = length,
		.usage_mask = mask,
		.key_format = format,
		.activation_date = activation,
		.deactivation_date = deactivation,
		.attrs = pt->attrs,
		.n_attrs = pt->n_attrs,
		.material = material->p,
		.material_len = material->len,
		.id = pt->id,
	};
}

err_t ops_create_keypair(const struct kmip_peer *p, const struct ops_new_pair *k, char priv_id[STORE_ID_MAX + 1],
			 char pub_id[STORE_ID_MAX + 1])
{
	ENSURE(the_store != NULL, ERR_UNSUPPORTED);
	priv_id[0] = pub_id[0] = '\0';
	const struct keygen_type *t = ops_pair_type(k->alg, k->length, k->curve);
	ENSURE(t != NULL, ERR_UNSUPPORTED);
	struct part pv, pb;
	struct keygen_pair pair;
	memset(&pair, 0, sizeof pair);
	err_t r = part_init(&pv);
	if (r == ERR_OK)
		r = part_init(&pb);
	else
		memset(&pb, 0, sizeof pb);
	for (size_t i = 0; r == ERR_OK && i < k->priv.n_attrs; i++)
		r = part_add(&pv, &k->priv.attrs[i]);
	for (size_t i = 0; r == ERR_OK && i < k->pub.n_attrs; i++)
		r = part_add(&pb, &k->pub.attrs[i]);
	/* KMIP 1.4 §3.35: each part names the other */
	if (r == ERR_OK)
		r = part_link(&pv, LINK_PUBLIC_KEY, pb.id);
	if (r == ERR_OK)
		r = part_link(&pb, LINK_PRIVATE_KEY, pv.id);
	/* the key last: nothing above can waste a pooled pair */
	if (r == ERR_OK)
		r = keygen_pair_new(t, &pair);
	if (r == ERR_OK) {
		part_object(&pv, p->tenant, STORE_OBJ_PRIVATE_KEY, k->alg, t->bits, k->priv.usage_mask,
			    STORE_FMT_PKCS8, k->priv.activation_date, 0, &pair.priv);
		part_object(&pb, p->tenant, STORE_OBJ_PUBLIC_KEY, k->alg, t->bits, k->pub.usage_mask,
			    STORE_FMT_X509, k->pub.activation_date, 0, &pair.pub);
		struct store_new_object objs[2] = {pv.n, pb.n};
		char ids[2][STORE_ID_MAX + 1];
		r = store_put_many(the_store, objs, 2, NULL, 0, ids);
		if (r == ERR_OK) {
			memcpy(priv_id, ids[0], sizeof ids[0]);
			memcpy(pub_id, ids[1], sizeof ids[1]);
			log_info("key pair %s made (%s) for tenant %s: private %s, public %s", t->name,
				 pair.pooled ? "from the pool" : "generated now", p->tenant, priv_id, pub_id);
		}
	}
	keygen_pair_free(&pair);
	part_free(&pv);
	part_free(&pb);
	return r;
}

/* ---- Re-key ---------------------------------------------------------------------- */

/* rekey_dates applies KMIP 1.4 §4.4's Offset rule: without an Offset the
 * Activation and Deactivation Dates are copied; with one, the new
 * Activation Date is the new Initial Date (now) + Offset and the
 * Deactivation Date keeps its distance from the Activation Date. */
static void rekey_dates(const struct store_object *old, const struct ops_rekey *rk, int64_t now, int64_t *act,
			int64_t *deact)
{
	if (!rk->has_offset) {
		*act = old->activation_date;
		*deact = old->deactivation_date;
		return;
	}
	*act = now + rk->offset;
	*deact = old->deactivation_date != 0 && old->activation_date != 0
			 ? *act + (old->deactivation_date - old->activation_date)
			 : 0;
}

/* named_in says whether |set| gives an attribute called |name|. */
static bool named_in(const struct ops_new_key *set, const char *name)
{
	for (size_t i = 0; set != NULL && i < set->n_attrs; i++)
		if (strcmp(set->attrs[i].name, name) == 0)
			return true;
	return false;
}

/* rekey_part fills |pt| from the existing object |old|: its attributes
 * but its Links (and the names |set| gives anew), then |set|'s, then a
 * Replaced Object Link to |old|. */
static err_t rekey_part(struct part *pt, const struct store_object *old, const struct ops_new_key *set)
{
	for (size_t i = 0; i < old->n_attrs; i++) {
		const struct store_attr *a = &old->attrs[i];
		if (strcmp(a->name, "Link") == 0 || named_in(set, a->name))
			continue;
		GUARD(part_add(pt, a));
	}
	for (size_t i = 0; set != NULL && i < set->n_attrs; i++)
		GUARD(part_add(pt, &set->attrs[i]));
	return part_link(pt, LINK_REPLACED, old->id);
}

static int64_t wall_now(void)
{
	return (int64_t)time(NULL);
}

/* usable_old loads |id| for a Re-key by |p|: visible, not destroyed. */
static err_t load_old(const struct kmip_peer *p, const char *id, struct store_object *o)
{
	GUARD(store_get(the_store, id, p->tenant, flags_for(p), o));
	if (o->state == STORE_STATE_DESTROYED || o->state == STORE_STATE_DESTROYED_COMPROMISED) {
		store_object_free(o);
		return ERR_STORE_DESTROYED;
	}
	return ERR_OK;
}

err_t ops_rekey(const struct kmip_peer *p, const char *id, const struct ops_rekey *rk,
		char new_id[STORE_ID_MAX + 1])
{
	ENSURE(the_store != NULL, ERR_UNSUPPORTED);
	new_id[0] = '\0';
	struct store_object old;
	GUARD(load_old(p, id, &old));
	err_t r = ERR_INVALID_ARG;
	const struct keygen_type *t = old.type == STORE_OBJ_SYMMETRIC_KEY ? sym_type(old.alg, old.length) : NULL;
	struct part pt;
	memset(&pt, 0, sizeof pt);
	struct keygen_buf key = {0};
	if (t == NULL)
		goto out;
	GUARD_GOTO(part_init(&pt));
	GUARD_GOTO(rekey_part(&pt, &old, rk->set));
	GUARD_GOTO(keygen_sym_generate(t, KEYGEN_F_PR, &key.p, &key.len));
	key.cap = key.len;
	int64_t act, deact;
	rekey_dates(&old, rk, wall_now(), &act, &deact);
	if (rk->set != NULL && rk->set->activation_date != 0)
		act = rk->set->activation_date;
	uint32_t mask = rk->set != NULL && rk->set->usage_mask != 0 ? rk->set->usage_mask : old.usage_mask;
	part_object(&pt, old.tenant, STORE_OBJ_SYMMETRIC_KEY, old.alg, (uint32_t)(key.len * 8), mask, STORE_FMT_RAW,
		    act, deact, &key);
	/* the old key: a Replacement Object Link, its Names moved (§4.4);
	 * nothing else of it changes */
	struct link_attr back;
	GUARD_GOTO(link_make(&back, LINK_REPLACEMENT, pt.id));
	struct store_put_change ch = {.id = old.id, .tenant = p->tenant, .flags = flags_for(p), .add = &back.a,
				      .delete_name = named_in(rk->set, "Name") ? NULL : "Name"};
	char ids[1][STORE_ID_MAX + 1];
	r = store_put_many(the_store, &pt.n, 1, &ch, 1, ids);
	ttlv_enc_free(&back.e);
	if (r == ERR_OK) {
		memcpy(new_id, ids[0], sizeof ids[0]);
		log_info("key %s re-keyed for tenant %s: replacement %s", old.id, old.tenant, new_id);
	}
out:
	keygen_buf_free(&key);
	part_free(&pt);
	store_object_free(&old);
	return r;
}

err_t ops_rekey_keypair(const struct kmip_peer *p, const char *priv_id, const struct ops_rekey *rk,
			char new_priv[STORE_ID_MAX + 1], char new_pub[STORE_ID_MAX + 1])
{
	ENSURE(the_store != NULL, ERR_UNSUPPORTED);
	new_priv[0] = new_pub[0] = '\0';
	struct store_object opv, opb;
	GUARD(load_old(p, priv_id, &opv));
	memset(&opb, 0, sizeof opb);
	struct part pv, pb;
	memset(&pv, 0, sizeof pv);
	memset(&pb, 0, sizeof pb);
	struct keygen_pair pair;
	memset(&pair, 0, sizeof pair);
	struct link_attr back[2];
	size_t n_back = 0;
	err_t r = ERR_INVALID_ARG;
	char pub_id[STORE_ID_MAX + 1];
	const struct keygen_type *t = NULL;
	if (opv.type != STORE_OBJ_PRIVATE_KEY || !ops_link_target(&opv, LINK_PUBLIC_KEY, pub_id))
		goto out;
	/* the public key the private one names, visible to |p| too */
	GUARD_GOTO(load_old(p, pub_id, &opb));
	if (opb.type != STORE_OBJ_PUBLIC_KEY)
		goto out;
	t = ops_pair_type(opv.alg, opv.length, 0);
	if (t == NULL)
		goto out;
	GUARD_GOTO(part_init(&pv));
	GUARD_GOTO(part_init(&pb));
	GUARD_GOTO(rekey_part(&pv, &opv, rk->set));
	GUARD_GOTO(rekey_part(&pb, &opb, rk->set_pub));
	GUARD_GOTO(part_link(&pv, LINK_PUBLIC_KEY, pb.id));
	GUARD_GOTO(part_link(&pb, LINK_PRIVATE_KEY, pv.id));
	GUARD_GOTO(keygen_pair_new(t, &pair));
	int64_t now = wall_now(), act, deact, pact, pdeact;
	rekey_dates(&opv, rk, now, &act, &deact);
	rekey_dates(&opb, rk, now, &pact, &pdeact);
	if (rk->set != NULL && rk->set->activation_date != 0)
		act = rk->set->activation_date;
	if (rk->set_pub != NULL && rk->set_pub->activation_date != 0)
		pact = rk->set_pub->activation_date;
	uint32_t mask = rk->set != NULL && rk->set->usage_mask != 0 ? rk->set->usage_mask : opv.usage_mask;
	uint32_t pmask = rk->set_pub != NULL && rk->set_pub->usage_mask != 0 ? rk->set_pub->usage_mask : opb.usage_mask;
	part_object(&pv, opv.tenant, STORE_OBJ_PRIVATE_KEY, opv.alg, t->bits, mask, STORE_FMT_PKCS8, act, deact,
		    &pair.priv);
	part_object(&pb, opv.tenant, STORE_OBJ_PUBLIC_KEY, opb.alg, t->bits, pmask, STORE_FMT_X509, pact, pdeact,
		    &pair.pub);
	GUARD_GOTO(link_make(&back[0], LINK_REPLACEMENT, pv.id));
	n_back = 1;
	GUARD_GOTO(link_make(&back[1], LINK_REPLACEMENT, pb.id));
	n_back = 2;
	struct store_put_change ch[2] = {
		{.id = opv.id, .tenant = p->tenant, .flags = flags_for(p), .add = &back[0].a,
		 .delete_name = named_in(rk->set, "Name") ? NULL : "Name"},
		{.id = opb.id, .tenant = p->tenant, .flags = flags_for(p), .add = &back[1].a,
		 .delete_name = named_in(rk->set_pub, "Name") ? NULL : "Name"},
	};
	struct store_new_object objs[2] = {pv.n, pb.n};
	char ids[2][STORE_ID_MAX + 1];
	r = store_put_many(the_store, objs, 2, ch, 2, ids);
	if (r == ERR_OK) {
		memcpy(new_priv, ids[0], sizeof ids[0]);
		memcpy(new_pub, ids[1], sizeof ids[1]);
		log_info("key pair %s/%s re-keyed for tenant %s: replacements %s/%s", opv.id, opb.id, opv.tenant,
			 new_priv, new_pub);
	}
out:
	for (size_t i = 0; i < n_back; i++)
		ttlv_enc_free(&back[i].e);
	keygen_pair_free(&pair);
	part_free(&pv);
	part_free(&pb);
	store_object_free(&opv);
	store_object_free(&opb);
	return r;
}

/* ---- attributes and Check ---------------------------------------------------- */

err_t ops_attr_add(const struct kmip_peer *p, const char *id, const struct store_attr *a, uint32_t *index_out)
{
	ENSURE(the_store != NULL, ERR_UNSUPPORTED);
	return store_attr_add(the_store, id, p->tenant, flags_for(p), a, index_out);
}

err_t ops_set_activation_date(const struct kmip_peer *p, const char *id, int64_t date)
{
	ENSURE(the_store != NULL, ERR_UNSUPPORTED);
	return store_set_activation_date(the_store, id, p->tenant, flags_for(p), date);
}

/* find_attr returns |o|'s instance (name, index), or NULL */
static const struct store_attr *find_attr(const struct store_object *o, const char *name, uint32_t index)
{
	for (size_t i = 0; i < o->n_attrs; i++)
		if (o->attrs[i].index == index && strcmp(o->attrs[i].name, name) == 0)
			return &o->attrs[i];
	return NULL;
}

err_t ops_attr_modify(const struct kmip_peer *p, const char *id, const struct store_attr *a, bool *name_exists)
{
	ENSURE(the_store != NULL, ERR_UNSUPPORTED);
	*name_exists = false;
	err_t r = store_attr_modify(the_store, id, p->tenant, flags_for(p), a);
	if (r != ERR_STORE_ATTR_NOT_FOUND)
		return r;
	/* which of §11.16's two errors: no such attribute, or no such index */
	struct store_object o;
	GUARD(store_get(the_store, id, p->tenant, flags_for(p), &o));
	for (size_t i = 0; i < o.n_attrs && !*name_exists; i++)
		*name_exists = strcmp(o.attrs[i].name, a->name) == 0;
	store_object_free(&o);
	return ERR_STORE_ATTR_NOT_FOUND;
}

err_t ops_attr_delete(const struct kmip_peer *p, const char *id, const char *name, uint32_t index,
		      struct store_object *before)
{
	memset(before, 0, sizeof *before);
	ENSURE(the_store != NULL, ERR_UNSUPPORTED);
	GUARD(store_get(the_store, id, p->tenant, flags_for(p), before));
	ENSURE(find_attr(before, name, index) != NULL, ERR_STORE_ATTR_NOT_FOUND);
	return store_attr_delete(the_store, id, p->tenant, flags_for(p), name, index);
}

/* usage_count reads the Usage Limits Count of |o|'s Usage Limits (KMIP 1.4
 * §3.21; the store keeps a structure as its TTLV encoding). False when the
 * object has none: then it has no usage limit. */
static bool usage_count(const struct store_object *o, int64_t *out)
{
	const struct store_attr *a = find_attr(o, "Usage Limits", 0);
	if (a == NULL || a->type != STORE_V_STRUCTURE)
		return false;
	struct ttlv_doc d;
	if (ttlv_decode(&d, a->value, a->value_len) != ERR_OK)
		return false;
	const struct ttlv_item *c = ttlv_find(ttlv_root(&d), KMIP_TAG_USAGE_LIMITS_COUNT);
	bool ok = c != NULL && c->type == TTLV_LONG;
	if (ok)
		*out = (int64_t)c->u;
	ttlv_doc_free(&d);
	return ok;
}

err_t ops_check(const struct kmip_peer *p, const char *id, const struct ops_check *want, unsigned *denied)
{
	ENSURE(the_store != NULL, ERR_UNSUPPORTED);
	*denied = 0;
	struct store_object o;
	GUARD(store_get(the_store, id, p->tenant, flags_for(p), &o));
	err_t r = ERR_OK;
	if (o.state == STORE_STATE_DESTROYED || o.state == STORE_STATE_DESTROYED_COMPROMISED) {
		r = ERR_STORE_DESTROYED;
		goto out;
	}
	/* §4.10: the mask the client means to use must be within the object's */
	if (want->has_mask && (want->usage_mask & ~o.usage_mask) != 0)
		*denied |= OPS_CHECK_MASK;
	int64_t left = 0;
	if (want->has_count && (want->usage_count < 0 || (usage_count(&o, &left) && want->usage_count > left)))
		*denied |= OPS_CHECK_COUNT;
	/* no lease is ever refused: fount sets no Lease Time (§3.20) */
out:
	store_object_free(&o);
	return r;
}
