/* tests/test_layers.c — mk/check-layers.sh, the include-layering check of
 * `make check-layers`: run on small fake trees, each with one kind of
 * violation (it must fail and name the file and line) or none (it must
 * pass), and on the real tree (which must pass). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/helpers.h"

static char tmpdir[64];
static struct run_result res;

static int suite_init(void)
{
	return testlib_tmpdir_create(tmpdir, "layers");
}

static int suite_clean(void)
{
	return testlib_tmpdir_remove(tmpdir);
}

/* put writes |text| to |root|/|rel|, making the folder. */
static void put(const char *root, const char *rel, const char *text)
{
	char path[256], dir[256];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	CU_ASSERT_PTR_NOT_NULL_FATAL(slash);
	*slash = '\0';
	(void)mkdir(dir, 0700);
	FILE *fp = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	fputs(text, fp);
	CU_ASSERT_EQUAL_FATAL(fclose(fp), 0);
}

/* check runs the checker on |root|; returns its exit status. */
static int check(const char *root)
{
	char dir[512], script[512];
	/* testlib_path returns a static buffer, which |root| may be */
	snprintf(dir, sizeof(dir), "%s", root);
	snprintf(script, sizeof(script), "%s", testlib_path("mk/check-layers.sh"));
	const char *argv[] = {"/bin/sh", script, dir, NULL};
	CU_ASSERT_EQUAL_FATAL(testlib_run(argv, NULL, NULL, &res), 0);
	return res.status;
}

/* A tree in which every include is allowed: each module its own headers
 * and the public headers below it, selftest/ and cli/ every public header,
 * tests/ anything. */
static void clean_tree(const char *root)
{
	CU_ASSERT_EQUAL_FATAL(mkdir(root, 0700), 0);
	put(root, "util/util.h", "#include <stdint.h>\n");
	put(root, "util/a.c", "#include \"util/util.h\"\n");
	put(root, "entropy/entropy.h", "#include \"util/util.h\"\n");
	put(root, "entropy/internal.h", "#include \"entropy/entropy.h\"\n");
	put(root, "entropy/e.c", "#include \"entropy/internal.h\"\n#include \"util/util.h\"\n");
	put(root, "keygen/keygen.h", "#include \"util/util.h\"\n");
	put(root, "keygen/internal.h", "#include \"keygen/keygen.h\"\n");
	put(root, "keygen/k.c", "#include <openssl/evp.h>\n#include \"keygen/internal.h\"\n"
				"#include \"entropy/entropy.h\"\n");
	put(root, "hsm/hsm.h", "#include \"util/util.h\"\n");
	put(root, "hsm/h.c", "#include \"hsm/hsm.h\"\n#include \"keygen/keygen.h\"\n"
			     "#include \"entropy/entropy.h\"\n");
	put(root, "selftest/selftest.h", "#include \"util/util.h\"\n");
	put(root, "selftest/s.c", "#include \"selftest/selftest.h\"\n#include \"hsm/hsm.h\"\n");
	put(root, "cli/cli.h", "#include \"keygen/keygen.h\"\n");
	put(root, "cli/c.c", "#include \"cli/cli.h\"\n#include \"hsm/hsm.h\"\n"
			     "#include \"selftest/selftest.h\"\n");
	put(root, "tests/t.c", "#include \"keygen/internal.h\"\n#include \"cli/cli.h\"\n");
}

static void test_clean_tree_passes(void)
{
	const char *root = testlib_file(tmpdir, "clean");
	clean_tree(root);
	CU_ASSERT_EQUAL(check(root), 0);
	CU_ASSERT_STRING_EQUAL(res.out, "");
	CU_ASSERT_STRING_EQUAL(res.err, "");
}

/* Each violation on its own tree: the checker fails and prints
 * "FILE:LINE: ..." naming it. */
static void test_violations_fail_and_name_the_line(void)
{
	static const struct {
		const char *name, *file, *text, *want, *why;
	} cases[] = {
		{"up", "entropy/e.c", "#include \"util/util.h\"\n\n#include \"keygen/keygen.h\"\n",
		 "entropy/e.c:3: ", "keygen/ is above entropy/"},
		{"up2", "keygen/k.c", "#include \"hsm/hsm.h\"\n", "keygen/k.c:1: ",
		 "hsm/ is above keygen/"},
		{"private", "hsm/h.c", "#include \"hsm/hsm.h\"\n#include \"keygen/internal.h\"\n",
		 "hsm/h.c:2: ", "private header of keygen/"},
		{"cli-private", "cli/c.c", "#include \"cli/cli.h\"\n  #  include \"entropy/internal.h\"\n",
		 "cli/c.c:2: ", "private header of entropy/"},
		{"selftest-private", "selftest/s.c", "#include \"keygen/internal.h\"\n",
		 "selftest/s.c:1: ", "private header of keygen/"},
		{"module-cli", "hsm/h.c", "#include \"cli/cli.h\"\n", "hsm/h.c:1: ",
		 "module headers only, not cli/"},
		{"module-selftest", "keygen/k.c", "#include \"selftest/selftest.h\"\n",
		 "keygen/k.c:1: ", "below selftest/"},
		{"bare", "util/a.c", "#include \"util.h\"\n", "util/a.c:1: ", "by their folder"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *root = testlib_file(tmpdir, cases[i].name);
		clean_tree(root);
		put(root, cases[i].file, cases[i].text);
		CU_ASSERT_EQUAL(check(root), 1);
		char *line = strstr(res.out, cases[i].want);
		CU_ASSERT_PTR_NOT_NULL(line);
		CU_ASSERT_PTR_NOT_NULL(strstr(res.out, cases[i].why));
		/* that one line, and no other */
		CU_ASSERT(line == res.out && strchr(res.out, '\n') == res.out + strlen(res.out) - 1);
		CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "check-layers"));
		if (line == NULL)
			fprintf(stderr, "\n  %s: %s%s", cases[i].name, res.out, res.err);
	}
}

/* fount's own tree keeps the layering. */
static void test_real_tree_passes(void)
{
	CU_ASSERT_EQUAL(check(testlib_path(".")), 0);
	if (res.status != 0)
		fprintf(stderr, "\n%s", res.out);
}

TEST_SUITE(layers, suite_init, suite_clean, TEST(test_clean_tree_passes),
	   TEST(test_violations_fail_and_name_the_line), TEST(test_real_tree_passes))
