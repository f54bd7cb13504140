/* store/query.c — the WHERE clause of a Locate, in the SQL both backends
 * speak (SQLite >= 3.23 and PostgreSQL: TRUE, numbered placeholders,
 * integer '&', IN subqueries), with its values to bind in order. */
#include <stdio.h>

#include "store/internal.h"

/* w_add appends |frag|, its '?' (at most one) written as the backend's
 * placeholder for the value bound next: ?N for SQLite, $N for
 * PostgreSQL (both number from 1) */
static void w_add(struct store_where *w, const char *frag)
{
	for (const char *f = frag; *f != '\0'; f++) {
		char num[16];
		size_t l = 1;
		const char *src = f;
		if (*f == '?') {
			l = (size_t)snprintf(num, sizeof(num), "%c%d", w->ph, w->n + 1);
			src = num;
		}
		if (w->len + l + 1 > sizeof(w->sql)) {
			w->overflow = true;
			return;
		}
		memcpy(w->sql + w->len, src, l);
		w->len += l;
		w->sql[w->len] = '\0';
	}
}

static void w_int(struct store_where *w, const char *frag, int64_t v)
{
	if (w->n == STORE_WHERE_MAX_BINDS) {
		w->overflow = true;
		return;
	}
	w_add(w, frag);
	w->v[w->n++] = (struct store_bindv){true, false, v, NULL, 0};
}

static void w_text(struct store_where *w, const char *frag, const char *s)
{
	if (w->n == STORE_WHERE_MAX_BINDS) {
		w->overflow = true;
		return;
	}
	w_add(w, frag);
	w->v[w->n++] = (struct store_bindv){false, false, 0, s, strlen(s)};
}

static void w_blob(struct store_where *w, const void *p, size_t n)
{
	if (w->n == STORE_WHERE_MAX_BINDS) {
		w->overflow = true;
		return;
	}
	static const uint8_t empty[1];
	w->v[w->n++] = (struct store_bindv){false, true, 0, n ? p : empty, n};
}

void store_where_build(struct store_where *w, const struct store_query *q, char ph)
{
	w->ph = ph;
	w->len = 0;
	w->n = 0;
	w->overflow = false;
	w->sql[0] = '\0';
	/* With an attribute filter (Name, Object Group, a custom attribute)
	 * the attributes' indexes find the few objects that match, each then
	 * read by its key. SQLite, which has no statistics here (no ANALYZE),
	 * would rather walk the tenant's whole objects_tenant_order index (it
	 * gives the ORDER BY for free) and probe the attributes once per
	 * object: a Locate by Name cost O(objects), and a soak of 16 clients
	 * fell from 2,200 to 470 operations a second in 45 s as the store
	 * grew. "|| ''" keeps the tenant's test off that index, as a unary +
	 * does for a number (sqlite.org/optoverview.html, "Disqualifying WHERE
	 * clause terms"; PostgreSQL has no unary + for text), and IN (...)
	 * rather than a correlated EXISTS lets the planner start from the
	 * subquery. */
	bool by_attr = q->name != NULL || q->group != NULL || q->n_custom > 0;
	w_add(w, " FROM objects o WHERE TRUE");
	if (!(q->flags & STORE_F_ADMIN) || q->tenant != NULL)
		w_text(w, by_attr ? " AND o.tenant || '' = ?" : " AND o.tenant = ?", q->tenant ? q->tenant : "");
	if (q->type)
		w_int(w, " AND o.type = ?", q->type);
	if (q->state)
		w_int(w, " AND o.state = ?", q->state);
	else
		w_add(w, " AND o.state NOT IN (5, 6)");
	if (q->alg)
		w_int(w, " AND o.alg = ?", q->alg);
	if (q->length)
		w_int(w, " AND o.length = ?", q->length);
	if (q->usage_mask) {
		/* every bit asked is set (KMIP 1.4 §4.9) */
		w_int(w, " AND (o.usage_mask & ?)", q->usage_mask);
		w_int(w, " = ?", q->usage_mask);
	}
	if (q->name != NULL)
		w_text(w, " AND o.id IN (SELECT a.id FROM attributes a WHERE a.name = 'Name' AND a.search = ?)",
		       q->name);
	if (q->group != NULL)
		w_text(w, " AND o.id IN (SELECT a.id FROM attributes a WHERE a.name = 'Object Group'"
			  " AND a.search = ?)", q->group);
	for (size_t i = 0; i < q->n_custom; i++) {
		const struct store_attr *a = &q->custom[i];
		w_text(w, " AND o.id IN (SELECT a.id FROM attributes a WHERE a.name = ?", a->name ? a->name : "");
		w_int(w, " AND a.type = ?", a->type);
		w_add(w, " AND a.value = ?)");
		w_blob(w, a->value, a->value_len);
	}
	if (q->initial_from)
		w_int(w, " AND o.initial_date >= ?", q->initial_from);
	if (q->initial_to)
		w_int(w, " AND o.initial_date <= ?", q->initial_to);
	if (q->activation_from || q->activation_to)
		w_add(w, " AND o.activation_date != 0");
	if (q->activation_from)
		w_int(w, " AND o.activation_date >= ?", q->activation_from);
	if (q->activation_to)
		w_int(w, " AND o.activation_date <= ?", q->activation_to);
}

