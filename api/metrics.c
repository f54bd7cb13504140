/* api/metrics.c — the counters behind GET /metrics and their rendering in
 * the Prometheus text exposition format 0.0.4
 * (prometheus.io/docs/instrumenting/exposition_formats/): a # HELP and a
 * # TYPE line once per family before its samples, label values escaped
 * (\\, \", \n), cumulative histogram buckets ending in le="+Inf" with _sum
 * and _count, every line ending in \n. Names follow the naming practices
 * (prometheus.io/docs/practices/naming/): one fount_ prefix, base units
 * (seconds, bytes), _total on counters, low label cardinality.
 *
 * The KMIP counters are relaxed atomics bumped on every batch item; the
 * rest is read from the modules (entropy_status, drbg_stats, store_stats,
 * the listeners' stats) when rendered. */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/kmip.h"
#include "api/metrics.h"
#include "api/ops.h"
#include "entropy/entropy.h"
#include "keygen/keygen.h"

/* ---- the text ------------------------------------------------------------------ */

void metrics_family(struct strbuf *t, const char *name, const char *type, const char *help)
{
	/* the help texts are fount's own: no backslash or newline to escape */
	strbuf_printf(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* label_escape copies |s| into |out| escaped for a label value. */
static void label_escape(const char *s, char *out, size_t cap)
{
	size_t o = 0;
	for (; *s != '\0' && o + 3 < cap; s++) {
		if (*s == '\\' || *s == '"') {
			out[o++] = '\\';
			out[o++] = *s;
		} else if (*s == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = *s;
		}
	}
	out[o] = '\0';
}

/* ---- KMIP batch items ------------------------------------------------------------ */

#define OPS 64     /* KMIP 1.4 operations are 0x01..0x31; the rest counts as 0 */
#define RESULTS 4  /* Success, Operation Failed, Operation Pending, Operation Undone */
#define LAT_BUCKETS 16
/* seconds: from an RNG Retrieve's tens of microseconds to a Create Key
 * Pair of RSA-4096 without the pool */
static const double lat_bounds[LAT_BUCKETS] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
					       0.05,   0.1,     0.25,   0.5,   1.0,    2.5,   5.0,  10.0};

static struct {
	_Atomic uint64_t count[OPS][RESULTS];
	_Atomic uint64_t bucket[OPS][LAT_BUCKETS + 1]; /* not cumulative */
	_Atomic uint64_t ns[OPS];
} kmip;

void metrics_kmip_item(uint32_t operation, uint32_t result_status, uint64_t ns)
{
	size_t op = operation < OPS ? operation : 0, r = result_status < RESULTS ? result_status : 1;
	size_t k = 0;
	while (k < LAT_BUCKETS && (double)ns > lat_bounds[k] * 1e9)
		k++;
	atomic_fetch_add_explicit(&kmip.count[op][r], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&kmip.bucket[op][k], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&kmip.ns[op], ns, memory_order_relaxed);
}

/* the operation names, from the one table of KMIP enumerations */
static const struct {
	const char *enumeration, *name;
	uint32_t value;
} enums[] = {
#define X(enumeration, name, value, spec) {#enumeration, #name, value},
	KMIP_ENUMS(X)
#undef X
};

/* op_label writes the label of |op|: "create_key_pair", "unknown" for 0. */
static void op_label(uint32_t op, char out[64])
{
	snprintf(out, 64, "unknown");
	if (op == 0)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(enums); i++) {
		if (enums[i].value != op || strcmp(enums[i].enumeration, "OPERATION") != 0)
			continue;
		size_t j = 0;
		for (; enums[i].name[j] != '\0' && j + 1 < 64; j++) {
			char c = enums[i].name[j];
			out[j] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
		}
		out[j] = '\0';
		return;
	}
	snprintf(out, 64, "0x%02x", op);
}

static const char *const result_labels[RESULTS] = {"success", "operation_failed", "operation_pending",
						   "operation_undone"};

/* histogram writes the buckets (|n| bounds, counts not cumulative, the
 * last one above every bound), _sum and _count of one series. */
static void histogram(struct strbuf *t, const char *name, const char *labels, const double *bounds,
		      size_t n, const uint64_t *counts, double sum)
{
	uint64_t cum = 0;
	const char *sep = labels[0] != '\0' ? "," : "";
	for (size_t k = 0; k < n; k++) {
		cum += counts[k];
		strbuf_printf(t, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, bounds[k],
			       (unsigned long long)cum);
	}
	cum += counts[n];
	strbuf_printf(t, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep, (unsigned long long)cum);
	strbuf_printf(t, "%s_sum%s%s%s %.9f\n", name, labels[0] ? "{" : "", labels, labels[0] ? "}" : "", sum);
	strbuf_printf(t, "%s_count%s%s%s %llu\n", name, labels[0] ? "{" : "", labels, labels[0] ? "}" : "",
		       (unsigned long long)cum);
}

static void render_kmip(struct strbuf *t)
{
	metrics_family(t, "fount_kmip_operations_total", "counter", "KMIP batch items answered, by operation and result.");
	for (uint32_t op = 0; op < OPS; op++) {
		char label[64];
		bool named = false;
		for (size_t r = 0; r < RESULTS; r++) {
			uint64_t v = atomic_load_explicit(&kmip.count[op][r], memory_order_relaxed);
			if (v == 0)
				continue; /* only what happened: the label set stays small */
			if (!named)
				op_label(op, label);
			named = true;
			strbuf_printf(t, "fount_kmip_operations_total{operation=\"%s\",result=\"%s\"} %llu\n", label,
				       result_labels[r], (unsigned long long)v);
		}
	}
	metrics_family(t, "fount_kmip_operation_duration_seconds", "histogram",
		       "Time to answer one KMIP batch item, by operation.");
	for (uint32_t op = 0; op < OPS; op++) {
		uint64_t counts[LAT_BUCKETS + 1], total = 0;
		for (size_t k = 0; k <= LAT_BUCKETS; k++)
			total += counts[k] = atomic_load_explicit(&kmip.bucket[op][k], memory_order_relaxed);
		if (total == 0)
			continue;
		char label[64], labels[96];
		op_label(op, label);
		snprintf(labels, sizeof labels, "operation=\"%s\"", label);
		histogram(t, "fount_kmip_operation_duration_seconds", labels, lat_bounds, LAT_BUCKETS, counts,
			  (double)atomic_load_explicit(&kmip.ns[op], memory_order_relaxed) / 1e9);
	}
}

/* ---- the listeners ------------------------------------------------------------------ */

/* The listeners registered, per kind, the newest last: the text shows the
 * newest that still runs (a process runs one of each; tests may stack
 * more). Guarded by listeners_lock, which a render holds while it reads a
 * listener's stats, so a listener is never read after it unregistered. */
#define MAX_LISTENERS 16
struct registry {
	void *l[MAX_LISTENERS];
	size_t n;
};
static pthread_mutex_t listeners_lock = PTHREAD_MUTEX_INITIALIZER;
static struct registry kmips, egds, https;

static void reg_set(struct registry *r, void *s, bool on)
{
	pthread_mutex_lock(&listeners_lock);
	for (size_t i = 0; i < r->n; i++)
		if (r->l[i] == s) {
			memmove(&r->l[i], &r->l[i + 1], (r->n - i - 1) * sizeof r->l[0]);
			r->n--;
			break;
		}
	if (on && r->n < MAX_LISTENERS)
		r->l[r->n++] = s;
	pthread_mutex_unlock(&listeners_lock);
}

/* reg_newest: with listeners_lock held */
static void *reg_newest(const struct registry *r)
{
	return r->n > 0 ? r->l[r->n - 1] : NULL;
}

void metrics_register_http(struct api_http *s, bool on)
{
	reg_set(&https, s, on);
}

static void render_http(struct strbuf *t)
{
	static struct api_http_stats st; /* large: not on a pump thread's stack */
	static pthread_mutex_t st_lock = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_lock(&st_lock);
	pthread_mutex_lock(&listeners_lock);
	struct api_http *hl = reg_newest(&https);
	bool have = hl != NULL;
	if (have)
		api_http_stats(hl, &st);
	pthread_mutex_unlock(&listeners_lock);
	if (have) {
		metrics_family(t, "fount_http_requests_total", "counter", "HTTP requests answered, by endpoint and status.");
		for (unsigned e = 0; e < API_HTTP_EP_COUNT; e++)
			for (unsigned k = 0; k < API_HTTP_STATUSES; k++) {
				if (st.requests[e][k] == 0)
					continue;
				unsigned code = api_http_status_of(k);
				char status[16];
				if (code != 0)
					snprintf(status, sizeof status, "%u", code);
				else
					snprintf(status, sizeof status, "other");
				strbuf_printf(t, "fount_http_requests_total{endpoint=\"%s\",status=\"%s\"} %llu\n",
					       api_http_endpoint_name(e), status, (unsigned long long)st.requests[e][k]);
			}
		metrics_family(t, "fount_http_random_bytes_total", "counter", "DRBG bytes GET /v1/random served (before hex or base64).");
		strbuf_printf(t, "fount_http_random_bytes_total %llu\n", (unsigned long long)st.random_bytes);
		metrics_family(t, "fount_http_response_body_bytes_total", "counter", "HTTP response body bytes sent.");
		strbuf_printf(t, "fount_http_response_body_bytes_total %llu\n", (unsigned long long)st.body_bytes);
		metrics_family(t, "fount_http_connections_total", "counter", "TCP and Unix connections the HTTP API accepted.");
		strbuf_printf(t, "fount_http_connections_total %llu\n", (unsigned long long)st.connections);
		metrics_family(t, "fount_http_handshake_failures_total", "counter", "HTTPS connections that failed the TLS handshake.");
		strbuf_printf(t, "fount_http_handshake_failures_total %llu\n", (unsigned long long)st.handshakes_failed);
		metrics_family(t, "fount_http_connections_refused_total", "counter",
			       "HTTP connections closed at once: max_connections reached.");
		strbuf_printf(t, "fount_http_connections_refused_total %llu\n", (unsigned long long)st.refused_busy);
		metrics_family(t, "fount_http_timeouts_total", "counter", "HTTPS handshakes not done in time.");
		strbuf_printf(t, "fount_http_timeouts_total %llu\n", (unsigned long long)st.timeouts);
		metrics_family(t, "fount_http_connections_open", "gauge", "HTTP connections open now.");
		strbuf_printf(t, "fount_http_connections_open %u\n", st.active);
	}
	pthread_mutex_unlock(&st_lock);
}

void metrics_register_egd(struct api_egd *s, bool on)
{
	reg_set(&egds, s, on);
}

static void render_egd(struct strbuf *t)
{
	struct api_egd_stats st;
	pthread_mutex_lock(&listeners_lock);
	struct api_egd *el = reg_newest(&egds);
	bool have = el != NULL;
	if (have)
		api_egd_stats(el, &st);
	pthread_mutex_unlock(&listeners_lock);
	if (!have)
		return;
	metrics_family(t, "fount_egd_connections_total", "counter", "EGD connections accepted (QEMU rng-egd and others).");
	strbuf_printf(t, "fount_egd_connections_total %llu\n", (unsigned long long)st.connections);
	metrics_family(t, "fount_egd_connections_refused_total", "counter",
		       "EGD connections closed at once: max_connections reached.");
	strbuf_printf(t, "fount_egd_connections_refused_total %llu\n", (unsigned long long)st.refused_busy);
	metrics_family(t, "fount_egd_connections_open", "gauge", "EGD connections open now.");
	strbuf_printf(t, "fount_egd_connections_open %u\n", st.open);
	metrics_family(t, "fount_egd_commands_total", "counter", "EGD commands received, by opcode.");
	static const char *const ops[5] = {"get_level", "read_nonblocking", "read_blocking", "write", "get_pid"};
	for (size_t i = 0; i < 5; i++)
		strbuf_printf(t, "fount_egd_commands_total{command=\"%s\"} %llu\n", ops[i],
			       (unsigned long long)st.commands[i]);
	strbuf_printf(t, "fount_egd_commands_total{command=\"unknown\"} %llu\n", (unsigned long long)st.bad_commands);
	metrics_family(t, "fount_egd_bytes_served_total", "counter", "DRBG bytes served in EGD read replies.");
	strbuf_printf(t, "fount_egd_bytes_served_total %llu\n", (unsigned long long)st.bytes_served);
	metrics_family(t, "fount_egd_bytes_written_total", "counter",
		       "Bytes EGD clients wrote (command 03), mixed in as additional input, never credited.");
	strbuf_printf(t, "fount_egd_bytes_written_total %llu\n", (unsigned long long)st.bytes_written);
	metrics_family(t, "fount_egd_longest_wait_seconds", "gauge", "The longest a blocking EGD read waited for its reply.");
	strbuf_printf(t, "fount_egd_longest_wait_seconds %.6f\n", (double)st.longest_wait_ns / 1e9);
	metrics_family(t, "fount_egd_reads_waiting", "gauge", "EGD connections whose blocking read waits for the module now.");
	strbuf_printf(t, "fount_egd_reads_waiting %llu\n", (unsigned long long)st.waiting);
}

void metrics_register_kmip(struct api_kmip *s, bool on)
{
	reg_set(&kmips, s, on);
}

static void render_kmip_listener(struct strbuf *t)
{
	struct api_kmip_stats st;
	pthread_mutex_lock(&listeners_lock);
	struct api_kmip *kl = reg_newest(&kmips);
	bool have = kl != NULL;
	if (have)
		api_kmip_stats(kl, &st);
	pthread_mutex_unlock(&listeners_lock);
	if (!have)
		return;
	static const struct {
		const char *name, *help;
		size_t off;
	} counters[] = {
		{"fount_kmip_connections_total", "TCP connections the KMIP listener accepted.",
		 offsetof(struct api_kmip_stats, connections)},
		{"fount_kmip_handshake_failures_total", "KMIP connections refused in the TLS handshake or by client certificate.",
		 offsetof(struct api_kmip_stats, handshakes_failed)},
		{"fount_kmip_connections_refused_total", "KMIP connections closed at once: max_connections reached.",
		 offsetof(struct api_kmip_stats, refused_busy)},
		{"fount_kmip_messages_total", "KMIP request messages answered.", offsetof(struct api_kmip_stats, requests)},
		{"fount_kmip_timeouts_total", "KMIP connections closed on a handshake, idle or message timeout.",
		 offsetof(struct api_kmip_stats, timeouts)},
	};
	for (size_t i = 0; i < ARRAY_SIZE(counters); i++) {
		uint64_t v;
		memcpy(&v, (const char *)&st + counters[i].off, sizeof v);
		metrics_family(t, counters[i].name, "counter", counters[i].help);
		strbuf_printf(t, "%s %llu\n", counters[i].name, (unsigned long long)v);
	}
	metrics_family(t, "fount_kmip_connections_open", "gauge", "KMIP connections open now.");
	strbuf_printf(t, "fount_kmip_connections_open %u\n", st.active);
	metrics_family(t, "fount_kmip_tls_sessions", "gauge",
		       "TLS sessions the KMIP listener keeps for resumption now (at most [kmip] tls_sessions).");
	strbuf_printf(t, "fount_kmip_tls_sessions %lu\n", st.tls_sessions);
}

/* ---- the modules ---------------------------------------------------------------------- */

static void render_state(struct strbuf *t, const char *state)
{
	static const char *const states[] = {"POWER_ON", "SELF_TEST", "OPERATIONAL", "ERROR"};
	metrics_family(t, "fount_module_state", "gauge",
		       "The FIPS module state: 1 for the state fount is in, 0 for the others.");
	for (size_t i = 0; i < ARRAY_SIZE(states); i++)
		strbuf_printf(t, "fount_module_state{state=\"%s\"} %d\n", states[i],
			       state != NULL && strcmp(state, states[i]) == 0);
	char name[128];
	label_escape(keygen_provider_name(), name, sizeof name);
	metrics_family(t, "fount_build_info", "gauge", "fount's version and the crypto provider it runs on.");
	strbuf_printf(t, "fount_build_info{version=\"%s\",provider=\"%s\",fips=\"%s\"} 1\n", FOUNT_VERSION, name,
		       keygen_fips_mode() ? "true" : "false");
}

static void render_entropy(struct strbuf *t)
{
	struct entropy_status es[ENTROPY_MAX_SOURCES];
	size_t n = entropy_status(es, ARRAY_SIZE(es));
	if (n > ARRAY_SIZE(es))
		n = ARRAY_SIZE(es);
	char src[ENTROPY_MAX_SOURCES][80];
	for (size_t i = 0; i < n; i++)
		label_escape(es[i].name, src[i], sizeof src[i]);
	metrics_family(t, "fount_entropy_source_enabled", "gauge",
		       "1 while a noise source is in use, 0 once disabled (or absent).");
	for (size_t i = 0; i < n; i++)
		strbuf_printf(t, "fount_entropy_source_enabled{source=\"%s\",credited=\"%s\"} %d\n", src[i],
			       es[i].credited ? "true" : "false", es[i].enabled);
	metrics_family(t, "fount_entropy_min_entropy_bits", "gauge",
		       "Claimed min-entropy per raw sample (H), which sets the health-test cutoffs.");
	for (size_t i = 0; i < n; i++)
		if (es[i].credited)
			strbuf_printf(t, "fount_entropy_min_entropy_bits{source=\"%s\"} %g\n", src[i], es[i].h);
	metrics_family(t, "fount_entropy_samples_tested_total", "counter",
		       "Raw samples through the SP 800-90B health tests.");
	for (size_t i = 0; i < n; i++)
		strbuf_printf(t, "fount_entropy_samples_tested_total{source=\"%s\"} %llu\n", src[i],
			       (unsigned long long)es[i].samples_tested);
	metrics_family(t, "fount_entropy_health_failures_total", "counter",
		       "Health-test failures (repetition count, adaptive proportion).");
	for (size_t i = 0; i < n; i++) {
		strbuf_printf(t, "fount_entropy_health_failures_total{source=\"%s\",test=\"rct\"} %llu\n", src[i],
			       (unsigned long long)es[i].rct_failures);
		strbuf_printf(t, "fount_entropy_health_failures_total{source=\"%s\",test=\"apt\"} %llu\n", src[i],
			       (unsigned long long)es[i].apt_failures);
	}
	metrics_family(t, "fount_entropy_bytes_delivered_total", "counter",
		       "Conditioned seed bytes a source delivered.");
	for (size_t i = 0; i < n; i++)
		strbuf_printf(t, "fount_entropy_bytes_delivered_total{source=\"%s\"} %llu\n", src[i],
			       (unsigned long long)es[i].bytes_delivered);
}

static void render_drbg(struct strbuf *t)
{
	struct drbg_stats d;
	drbg_stats(&d);
	metrics_family(t, "fount_drbg_primary_reseeds_total", "counter",
		       "Reseeds of the primary CTR_DRBG from the noise sources.");
	strbuf_printf(t, "fount_drbg_primary_reseeds_total %llu\n", (unsigned long long)d.primary_reseeds);
	metrics_family(t, "fount_drbg_worker_reseeds_total", "counter", "Reseeds of per-thread CTR_DRBGs.");
	strbuf_printf(t, "fount_drbg_worker_reseeds_total %llu\n", (unsigned long long)d.worker_reseeds);
	metrics_family(t, "fount_drbg_prediction_resistance_requests_total", "counter",
		       "Generates with prediction resistance (each after a reseed that began after it asked).");
	strbuf_printf(t, "fount_drbg_prediction_resistance_requests_total %llu\n",
		       (unsigned long long)d.pr_requests);
	metrics_family(t, "fount_drbg_fork_events_total", "counter", "Forks after which the DRBG tree reseeded.");
	strbuf_printf(t, "fount_drbg_fork_events_total %llu\n", (unsigned long long)d.fork_events);
	metrics_family(t, "fount_drbg_workers", "gauge", "Per-thread CTR_DRBGs alive.");
	strbuf_printf(t, "fount_drbg_workers %llu\n", (unsigned long long)d.workers);
}

static void render_store(struct strbuf *t)
{
	struct store *s = ops_store();
	if (s == NULL)
		return;
	struct store_stats st;
	store_stats(s, &st);
	metrics_family(t, "fount_store_write_requests_total", "counter", "Writes to the key store answered.");
	strbuf_printf(t, "fount_store_write_requests_total %llu\n", (unsigned long long)st.requests);
	metrics_family(t, "fount_store_commits_total", "counter",
		       "Key-store commits, by result (one fsync each; concurrent writes share one).");
	strbuf_printf(t, "fount_store_commits_total{result=\"ok\"} %llu\n", (unsigned long long)st.commits);
	strbuf_printf(t, "fount_store_commits_total{result=\"failed\"} %llu\n",
		       (unsigned long long)st.failed_commits);
	metrics_family(t, "fount_store_commit_duration_seconds", "histogram", "Time of one key-store commit.");
	histogram(t, "fount_store_commit_duration_seconds", "", store_latency_bounds, STORE_LATENCY_BUCKETS,
		  st.commit_buckets, (double)st.commit_ns / 1e9);
	if (strcmp(st.backend, "sqlite") == 0) {
		metrics_family(t, "fount_store_checkpoints_total", "counter",
			       "SQLite WAL checkpoints, by who ran them: the checkpointer thread beside the commits, "
			       "or the writer after a commit (its callers wait for it).");
		strbuf_printf(t, "fount_store_checkpoints_total{by=\"checkpointer\"} %llu\n",
			       (unsigned long long)st.checkpoints_beside);
		strbuf_printf(t, "fount_store_checkpoints_total{by=\"writer\"} %llu\n",
			       (unsigned long long)st.checkpoints_writer);
	}
	metrics_family(t, "fount_store_size_bytes", "gauge", "The key store's files on disk.");
	strbuf_printf(t, "fount_store_size_bytes %llu\n", (unsigned long long)st.db_bytes);
	metrics_family(t, "fount_store_schema_version", "gauge", "The key store's schema version.");
	strbuf_printf(t, "fount_store_schema_version %u\n", st.schema_version);
}

err_t metrics_render(struct strbuf *t, const char *state)
{
	render_state(t, state);
	render_entropy(t);
	render_drbg(t);
	render_kmip(t);
	render_kmip_listener(t);
	render_egd(t);
	render_http(t);
	render_store(t);
	return t->failed ? ERR_NOMEM : ERR_OK;
}
