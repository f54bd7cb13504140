/* tests/test_metrics.c — GET /metrics' text (api/metrics.c): the
 * exposition-format checker of tests/lib/promtext.c on good and bad texts,
 * then fount's own text through it, and its counters moving with the KMIP
 * items, the store and the KMIP listener. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/api.h"
#include "api/metrics.h"
#include "tests/helpers.h"
#include "tests/kmip_inproc.h"
#include "tests/lib/promtext.h"

static int suite_init(void)
{
	return kt_init(&(struct kt_suite){.tag = "metrics"});
}

static int suite_clean(void)
{
	return kt_clean();
}

static void test_checker(void)
{
	char why[256];
	const char *good = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"q\\\"\\\\\\n\"} 3\n"
			   "# TYPE h histogram\nh_bucket{le=\"0.1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 0.5\nh_count 2\n";
	CU_ASSERT(promtext_check(good, why, sizeof why));
	static const char *const bad[] = {
		"# TYPE a_total counter\na_total 1",                             /* no final newline */
		"a_total 1\n",                                                    /* no TYPE */
		"# TYPE a_total counter\n# TYPE a_total counter\na_total 1\n",   /* TYPE twice */
		"# TYPE a counter\na 1\n",                                        /* counter without _total */
		"# TYPE a_total counter\na_total{x=\"\\q\"} 1\n",                 /* bad escape */
		"# TYPE a_total counter\na_total 1\na_total 2\n",                 /* series twice */
		"# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n", /* not cumulative */
		"# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count 3\n",                       /* count differs */
		"# TYPE g gauge\ng{__x=\"1\"} 1\n",                               /* reserved label */
		"# TYPE g gauge\n9g 1\n",                                         /* bad name */
		"# TYPE g gauge\ng one\n",                                        /* bad value */
		"# TYPE g gauge\ng 1\n# HELP g late\n",                           /* HELP after samples */
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		bool ok = promtext_check(bad[i], why, sizeof why);
		if (ok)
			fprintf(stderr, "\n  accepted bad text %zu\n", i);
		CU_ASSERT(!ok);
	}
	double v = 0;
	CU_ASSERT(promtext_value(good, "h_count", &v) && v == 2);
	CU_ASSERT(!promtext_value(good, "h_coun", &v));
}

static char *render(const char *state)
{
	struct strbuf t = {0};
	EXPECT_OK(metrics_render(&t, state));
	char why[256];
	bool ok = promtext_check(t.buf, why, sizeof why);
	if (!ok)
		fprintf(stderr, "\n  /metrics text: %s\n", why);
	CU_ASSERT(ok);
	return t.buf;
}

static double value(const char *text, const char *series)
{
	double v = -1;
	if (!promtext_value(text, series, &v))
		v = 0; /* a counter never bumped is not shown */
	return v;
}

#define RNG_OK "fount_kmip_operations_total{operation=\"rng_retrieve\",result=\"success\"}"
#define GET_FAILED "fount_kmip_operations_total{operation=\"get\",result=\"operation_failed\"}"
#define RNG_COUNT "fount_kmip_operation_duration_seconds_count{operation=\"rng_retrieve\"}"

static void test_kmip_items(void)
{
	char *a = render("OPERATIONAL");
	double rng0 = value(a, RNG_OK), get0 = value(a, GET_FAILED), cnt0 = value(a, RNG_COUNT);
	struct kt_req q;
	struct kt_resp r;
	kt_begin(&q, 4, 2);
	kt_item(&q, KMIP_OPERATION_RNG_RETRIEVE);
	ttlv_enc_int(&q.e, KMIP_TAG_DATA_LENGTH, 32);
	kt_item_end(&q);
	kt_uid_item(&q, KMIP_OPERATION_GET, "no-such-object");
	kt_run(&q, &kt_alice, &r);
	CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 0)), KMIP_RESULT_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(kt_status(kt_nth(&r, 1)), KMIP_RESULT_STATUS_OPERATION_FAILED);
	kt_resp_free(&r);
	char *b = render("OPERATIONAL");
	CU_ASSERT_EQUAL(value(b, RNG_OK), rng0 + 1);
	CU_ASSERT_EQUAL(value(b, GET_FAILED), get0 + 1);
	CU_ASSERT_EQUAL(value(b, RNG_COUNT), cnt0 + 1);
	CU_ASSERT(strstr(b, "fount_kmip_operation_duration_seconds_bucket{operation=\"rng_retrieve\",le=\"+Inf\"}") != NULL);
	free(a);
	free(b);
}

static void test_modules(void)
{
	char uid[STORE_ID_MAX + 1];
	char *a = render("OPERATIONAL");
	double commits0 = value(a, "fount_store_commits_total{result=\"ok\"}");
	CU_ASSERT(kt_create_one(&kt_alice, 4, 12, NULL, uid));
	char *b = render("ERROR");
	CU_ASSERT(value(b, "fount_store_commits_total{result=\"ok\"}") >= commits0 + 1);
	CU_ASSERT(value(b, "fount_store_commit_duration_seconds_count") >= 1);
	CU_ASSERT(value(b, "fount_store_size_bytes") > 0);
	double v = -1;
	CU_ASSERT(promtext_value(b, "fount_store_checkpoints_total{by=\"checkpointer\"}", &v) && v >= 0);
	CU_ASSERT(promtext_value(b, "fount_store_checkpoints_total{by=\"writer\"}", &v) && v >= 0);
	CU_ASSERT_EQUAL(value(b, "fount_module_state{state=\"ERROR\"}"), 1);
	CU_ASSERT_EQUAL(value(b, "fount_module_state{state=\"OPERATIONAL\"}"), 0);
	CU_ASSERT(value(b, "fount_drbg_primary_reseeds_total") >= 1); /* the Create's prediction resistance */
	CU_ASSERT(value(b, "fount_drbg_prediction_resistance_requests_total") >= 1);
	CU_ASSERT(strstr(b, "fount_entropy_samples_tested_total{source=\"") != NULL);
	CU_ASSERT(strstr(b, "fount_entropy_health_failures_total{source=\"") != NULL);
	CU_ASSERT(strstr(b, "fount_build_info{version=\"" FOUNT_VERSION "\"") != NULL);
	free(a);
	free(b);
}

static void test_kmip_listener(void)
{
	char dir[] = "/tmp/fount-metrics-pki-XXXXXX", why[256];
	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	const char *names[] = {"localhost", "127.0.0.1"};
	struct api_pki pki;
	bool created;
	EXPECT_OK(api_pki_init(dir, names, 2, &pki, &created, why, sizeof why));
	struct api_kmip_options o = {.listen = "127.0.0.1:0", .cert_file = pki.server_cert,
				     .key_file = pki.server_key, .client_ca = pki.ca_cert};
	struct api_kmip *srv = NULL;
	EXPECT_OK(api_kmip_start(&o, &srv, why, sizeof why));
	char *a = render("OPERATIONAL");
	CU_ASSERT(strstr(a, "\nfount_kmip_connections_open 0\n") != NULL);
	CU_ASSERT(strstr(a, "\nfount_kmip_connections_total 0\n") != NULL);
	api_kmip_stop(srv);
	char *b = render("OPERATIONAL");
	CU_ASSERT(strstr(b, "fount_kmip_connections_open") == NULL);
	free(a);
	free(b);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	CU_ASSERT(system(cmd) == 0);
}

/* the EGD listener's counters, while it runs: one 02 command served */
static void test_egd_listener(void)
{
	char path[96], why[256];
	snprintf(path, sizeof path, "%.80s/egd.sock", kt_dir);
	struct api_egd_options o = {.socket = path};
	struct api_egd *e = NULL;
	EXPECT_OK(api_egd_start(&o, &e, why, sizeof why));
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
	CU_ASSERT_FATAL(fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0);
	uint8_t cmd[2] = {0x02, 16}, got[16];
	CU_ASSERT(write(fd, cmd, 2) == 2);
	size_t n = 0;
	while (n < sizeof got) {
		ssize_t k = read(fd, got + n, sizeof got - n);
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	CU_ASSERT_EQUAL(n, 16);
	char *t = render("OPERATIONAL");
	CU_ASSERT_EQUAL(value(t, "fount_egd_commands_total{command=\"read_blocking\"}"), 1);
	CU_ASSERT_EQUAL(value(t, "fount_egd_bytes_served_total"), 16);
	CU_ASSERT_EQUAL(value(t, "fount_egd_connections_open"), 1);
	free(t);
	close(fd);
	api_egd_stop(e);
	t = render("OPERATIONAL");
	CU_ASSERT(strstr(t, "fount_egd_") == NULL);
	free(t);
}

TEST_SUITE(metrics, suite_init, suite_clean, TEST(test_checker), TEST(test_kmip_items), TEST(test_modules),
	   TEST(test_kmip_listener), TEST(test_egd_listener))
