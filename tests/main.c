/* tests/main.c — the CUnit runner. `run` runs every suite; `run NAME...`
 * (make check SUITE="a b") runs those. Exits non-zero if any test failed
 * or a named suite does not exist. */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/helpers.h"

#define MAX_SUITES 64

struct suite_entry {
	const char *name;
	int (*init)(void);
	int (*clean)(void);
	const struct test_case *cases;
	size_t n;
};

static struct suite_entry suites[MAX_SUITES];
static size_t num_suites;

void testlib_register(const char *suite, int (*init)(void), int (*clean)(void),
		      const struct test_case *cases, size_t n)
{
	if (num_suites == MAX_SUITES) {
		fprintf(stderr, "tests: too many suites\n");
		abort();
	}
	suites[num_suites++] = (struct suite_entry){suite, init, clean, cases, n};
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct suite_entry *)a)->name,
		      ((const struct suite_entry *)b)->name);
}

int main(int argc, char **argv)
{
	char *const *only = argv + 1;
	int n_only = argc - 1;
	/* a break request in the caller's environment must not leak into the
	 * tests that expect a healthy module */
	unsetenv("FOUNT_SELFTEST_BREAK");
	/* a `fount serve` a test starts listens for KMIP only when that test
	 * asks (FOUNT_KMIP_LISTEN, FOUNT_HTTP_LISTEN in its own environment), and keeps its state
	 * in a throw-away folder, never /var/lib/fount */
	setenv("FOUNT_KMIP_LISTEN", "off", 0);
	/* and its EGD socket likewise (FOUNT_EGD_SOCKET=PATH) */
	setenv("FOUNT_EGD_SOCKET", "", 0);
	setenv("FOUNT_HTTP_LISTEN", "off", 0);
	char state[64] = "";
	if (getenv("FOUNT_SERVICE_STATE_DIR") == NULL && testlib_tmpdir_create(state, "state") == 0)
		setenv("FOUNT_SERVICE_STATE_DIR", state, 1);
	/* tests drive error paths on purpose: keep their logs out of the
	 * report unless asked for (FOUNT_TEST_LOG=1) */
	if (getenv("FOUNT_TEST_LOG") == NULL)
		log_set_level(LOG_SILENT);
	qsort(suites, num_suites, sizeof(suites[0]), by_name);

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	for (int k = 0; k < n_only; k++) {
		bool found = false;
		for (size_t i = 0; i < num_suites; i++)
			found = found || strcmp(only[k], suites[i].name) == 0;
		if (!found) {
			fprintf(stderr, "tests: no suite named '%s'; suites:", only[k]);
			for (size_t i = 0; i < num_suites; i++)
				fprintf(stderr, " %s", suites[i].name);
			fprintf(stderr, "\n");
			CU_cleanup_registry();
			return 2;
		}
	}
	size_t added = 0;
	for (size_t i = 0; i < num_suites; i++) {
		bool wanted = n_only == 0;
		for (int k = 0; k < n_only; k++)
			wanted = wanted || strcmp(only[k], suites[i].name) == 0;
		if (!wanted)
			continue;
		CU_pSuite s = CU_add_suite(suites[i].name, suites[i].init, suites[i].clean);
		if (s == NULL)
			return 2;
		for (size_t j = 0; j < suites[i].n; j++)
			if (CU_add_test(s, suites[i].cases[j].name, suites[i].cases[j].fn) == NULL)
				return 2;
		added++;
	}
	if (added == 0) {
		fprintf(stderr, "tests: no suites\n");
		CU_cleanup_registry();
		return 2;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
	unsigned ran = CU_get_number_of_tests_run();
	unsigned tfailed = CU_get_number_of_tests_failed();
	printf("\n%u passed, %u failed\n", ran - tfailed, tfailed);
	CU_cleanup_registry();
	if (state[0] != '\0')
		(void)testlib_tmpdir_remove(state);
	return failed ? 1 : 0;
}
