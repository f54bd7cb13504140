/* bench/bench_ha.c — `fount serve` as deployed (its own process, KMIP over
 * mutual TLS on loopback) on each key store layout, under 1 and 16 clients
 * creating AES-256 keys and then getting them: ops/s, p50 and p99.
 *   sqlite          the embedded default (WAL, synchronous=FULL)
 *   pg              one node on a PostgreSQL primary (synchronous_commit on)
 *   pg, 2 nodes     two nodes on that primary, the clients split between them
 *   pg + sync sb    one node, the primary waiting for a synchronous standby
 *                   at every COMMIT (an acknowledged key is on two machines)
 *   ... 2 nodes
 * Ratios against the one-node PostgreSQL row say what a second node and a
 * synchronous standby cost or give. Every server, the PostgreSQL ones too,
 * shares the machine's cores with the clients. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench.h"
#include "tests/helpers.h"
#include "tests/lib/kmip_serve.h"
#include "tests/lib/kmipload.h"
#include "tests/lib/pgtest.h"

#define CLIENTS_MAX 16
#define IDS_MAX 200000
#define LAT_MAX 200000

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* the keys the Create runs made, for the Get runs */
static char (*ids)[STORE_ID_MAX + 1];
static size_t n_ids;
static pthread_mutex_t ids_mu = PTHREAD_MUTEX_INITIALIZER;

struct job {
	const struct kmipc_options *o;
	bool get;
	unsigned index, clients;
	double seconds;
	const char *tag;
	uint64_t ops, errors;
	struct kl_why why; /* the first refusal */
	double *lat;
	size_t n_lat;
};

static void *job_main(void *arg)
{
	struct job *j = arg;
	struct kmipc *c = kl_connect(j->o);
	if (c == NULL) {
		j->errors++;
		return NULL;
	}
	size_t next = j->index;
	double end = now_s() + j->seconds;
	for (unsigned i = 0;; i++) {
		double t0 = now_s();
		if (t0 >= end)
			break;
		enum kl_outcome o;
		struct kl_why why = {0};
		if (j->get) {
			uint8_t k[32];
			if (n_ids == 0)
				break;
			o = kl_get(c, ids[next % n_ids], k, &why);
			next += j->clients;
		} else {
			char name[KL_NAME_MAX], id[STORE_ID_MAX + 1];
			snprintf(name, sizeof name, "%s-%u-%u", j->tag, j->index, i);
			o = kl_create(c, name, id, &why);
			if (o == KL_OK) {
				pthread_mutex_lock(&ids_mu);
				if (n_ids < IDS_MAX)
					memcpy(ids[n_ids++], id, sizeof id);
				pthread_mutex_unlock(&ids_mu);
			}
		}
		if (o != KL_OK) {
			if (j->errors++ == 0)
				j->why = why;
			if (o == KL_BROKEN)
				break;
			continue;
		}
		j->ops++;
		if (j->n_lat < LAT_MAX)
			j->lat[j->n_lat++] = (now_s() - t0) * 1e3;
	}
	kl_close(c);
	return NULL;
}

struct result {
	double ops_s, p50_ms, p99_ms;
	uint64_t errors;
};

/* run: |clients| clients spread over |n_nodes| nodes, Create or Get */
static struct result run(const struct kmipc_options *nodes, unsigned n_nodes, bool get, unsigned clients,
			 double seconds, const char *tag)
{
	struct job jobs[CLIENTS_MAX];
	pthread_t th[CLIENTS_MAX];
	struct result r = {0};
	bool said = false;
	double *all = malloc(sizeof(double) * LAT_MAX * clients);
	if (all == NULL)
		return r;
	for (unsigned i = 0; i < clients; i++) {
		jobs[i] = (struct job){.o = &nodes[i % n_nodes], .get = get, .index = i, .clients = clients,
				       .seconds = seconds, .tag = tag, .lat = all + (size_t)i * LAT_MAX};
		pthread_create(&th[i], NULL, job_main, &jobs[i]);
	}
	size_t n = 0;
	uint64_t ops = 0;
	for (unsigned i = 0; i < clients; i++) {
		pthread_join(th[i], NULL);
		ops += jobs[i].ops;
		r.errors += jobs[i].errors;
		if (jobs[i].errors > 0 && !said) {
			char b[300];
			printf("  (%llu errors; the first: %s)\n", (unsigned long long)jobs[i].errors,
			       jobs[i].why.status != 0 ? kl_why_str(&jobs[i].why, b, sizeof b) : "the connection broke");
			said = true;
		}
		memmove(all + n, jobs[i].lat, jobs[i].n_lat * sizeof(double));
		n += jobs[i].n_lat;
	}
	qsort(all, n, sizeof(double), cmp_double);
	r.ops_s = (double)ops / seconds;
	r.p50_ms = n > 0 ? all[n / 2] : 0;
	r.p99_ms = n > 0 ? all[(n * 99) / 100] : 0;
	free(all);
	return r;
}

enum { CASES = 4 }; /* Create 1, Create 16, Get 1, Get 16 */
static const char *const case_names[CASES] = {"Create AES-256", "Create AES-256", "Get", "Get"};
static const unsigned case_clients[CASES] = {1, 16, 1, 16};

/* layout: start the nodes (on a new database of |pg| when not NULL: each
 * layout's first node makes a new KEK), run the four cases, print them;
 * ops/s in |out| */
static void layout(const char *name, unsigned n_nodes, const struct pgtest *pg, double seconds, double out[CASES])
{
	static unsigned dbs;
	struct kmip_serve nodes[2];
	struct kmipc_options o[2];
	char env_url[400] = "", db[32], sql[64], url[300];
	const char *env[] = {env_url, NULL};
	if (pg != NULL) {
		snprintf(db, sizeof db, "fount%u", dbs++);
		snprintf(sql, sizeof sql, "CREATE DATABASE %s", db);
		pgtest_url(pg, db, url, sizeof url);
		snprintf(env_url, sizeof env_url, "FOUNT_STORE_URL=%s", url);
		if (pgtest_sql(pg, NULL, sql, NULL, 0) != 0) {
			printf("%-16s (cannot make database %s)\n", name, db);
			return;
		}
	}
	memset(out, 0, sizeof(double) * CASES);
	for (unsigned i = 0; i < n_nodes; i++) {
		struct kmip_serve_options so = {.env = pg != NULL ? env : NULL, .like = i > 0 ? &nodes[0] : NULL};
		if (kmip_serve_start_with(&nodes[i], "bench-ha", &so) != 0) {
			printf("%-16s (fount serve did not start)\n", name);
			for (unsigned k = 0; k < i; k++)
				kmip_serve_stop(&nodes[k]);
			return;
		}
		o[i] = kmip_serve_opts(&nodes[i], 20000);
		o[i].max_response = KL_MESSAGE;
	}
	n_ids = 0;
	for (unsigned c = 0; c < CASES; c++) {
		char tag[32]; /* the Names unique to the case */
		snprintf(tag, sizeof tag, "bench-%u", c);
		struct result r = run(o, n_nodes, c >= 2, case_clients[c], seconds, tag);
		printf("%-16s %-16s %7u %10.0f %9.2f %9.2f%s\n", name, case_names[c], case_clients[c], r.ops_s, r.p50_ms,
		       r.p99_ms, r.errors ? "  (errors)" : "");
		out[c] = r.errors ? 0 : r.ops_s;
	}
	for (unsigned i = 0; i < n_nodes; i++)
		kmip_serve_stop(&nodes[i]);
}

static void ratio(const char *what, const double a[CASES], const double b[CASES])
{
	printf("%-32s", what);
	for (unsigned c = 0; c < CASES; c++)
		if (a[c] > 0 && b[c] > 0)
			printf(" %9.2fx", a[c] / b[c]);
		else
			printf(" %10s", "-");
	printf("\n");
}

void bench_ha(double seconds)
{
	double s = seconds < 2.0 ? 2.0 : seconds; /* enough requests for a p99 */
	signal(SIGPIPE, SIG_IGN);
	ids = calloc(IDS_MAX, sizeof *ids);
	if (ids == NULL)
		return;
	printf("fount serve (KMIP, mutual TLS, loopback) on each store layout, %.1f s per case\n", s);
	printf("%-16s %-16s %7s %10s %9s %9s\n", "store", "operation", "clients", "ops/s", "p50 ms", "p99 ms");
	double sq[CASES] = {0}, one[CASES] = {0}, two[CASES] = {0}, sync1[CASES] = {0}, sync2[CASES] = {0};
	layout("sqlite", 1, NULL, s, sq);

	struct pgtest p1 = {0}, sb = {0};
	char parent[64] = "";
	if (!pgtest_available() || pgtest_parent(parent, "bench-ha") != 0 || pgtest_primary(&p1, parent, "p1", NULL) != 0) {
		printf("(PostgreSQL rows not run: no PostgreSQL server; make deps installs it)\n\n");
		goto out;
	}
	layout("pg", 1, &p1, s, one);
	layout("pg, 2 nodes", 2, &p1, s, two);
	/* the same primary, now waiting for a synchronous standby */
	if (pgtest_standby(&sb, &p1, parent, "s1") != 0 ||
	    pgtest_sql(&p1, NULL, "ALTER SYSTEM SET synchronous_standby_names = 'ANY 1 (s1)'", NULL, 0) != 0 ||
	    pgtest_sql(&p1, NULL, "SELECT pg_reload_conf()", NULL, 0) != 0) {
		printf("(synchronous standby rows not run: the standby did not start)\n");
	} else {
		layout("pg + sync sb", 1, &p1, s, sync1);
		layout("... 2 nodes", 2, &p1, s, sync2);
	}
	printf("\n%-32s %10s %10s %10s %10s\n", "ratio of ops/s", "Create 1", "Create 16", "Get 1", "Get 16");
	ratio("PostgreSQL / SQLite, one node", one, sq);
	ratio("two nodes / one node", two, one);
	ratio("sync standby / none, one node", sync1, one);
	ratio("sync standby / none, 2 nodes", sync2, two);
	printf("\n");
out:
	pgtest_remove(&sb);
	pgtest_remove(&p1);
	if (parent[0] != '\0')
		testlib_tmpdir_remove(parent);
	free(ids);
	ids = NULL;
}
