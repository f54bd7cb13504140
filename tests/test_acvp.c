/* tests/test_acvp.c — selftest/acvp.c and acvp_algs.c: the ACVP ctrDRBG
 * sample answers, the array form, malformed or unsupported requests of
 * every algorithm, and SHA2-256, HMAC-SHA2-256, AES-KW and AES-KWP answers
 * checked against independent implementations (tests/interop/acvp_check.py:
 * CPython's hashlib and hmac, python3-cryptography's key wrap in Python,
 * RFC 3394, 5649 and 4231 vectors). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "selftest/selftest.h"
#include "tests/helpers.h"

#define REQUEST "tests/vectors/acvp/ctrDRBG-AES256-df-request.json"
#define EXPECTED "tests/vectors/acvp/ctrDRBG-AES256-df-expected.json"

struct run {
	err_t r;
	char *out, *err;
	size_t out_len, err_len;
};

static void run_stream(FILE *in, struct run *res)
{
	FILE *out = open_memstream(&res->out, &res->out_len);
	FILE *err = open_memstream(&res->err, &res->err_len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_PTR_NOT_NULL_FATAL(err);
	res->r = acvp_run(in, out, err);
	fclose(out);
	fclose(err);
}

static void run_text(const char *text, struct run *res)
{
	FILE *in = fmemopen((void *)(uintptr_t)text, strlen(text), "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(in);
	run_stream(in, res);
	fclose(in);
}

static void run_free(struct run *res)
{
	free(res->out);
	free(res->err);
}

/* find_bits returns the returnedBits of |tc| in a response vector set. */
static const char *find_bits(const json_t *vs, json_int_t tg, json_int_t tc)
{
	const json_t *groups = json_object_get(vs, "testGroups");
	for (size_t i = 0; i < json_array_size(groups); i++) {
		const json_t *g = json_array_get(groups, i);
		if (json_integer_value(json_object_get(g, "tgId")) != tg)
			continue;
		const json_t *tests = json_object_get(g, "tests");
		for (size_t j = 0; j < json_array_size(tests); j++) {
			const json_t *t = json_array_get(tests, j);
			if (json_integer_value(json_object_get(t, "tcId")) == tc)
				return json_string_value(json_object_get(t, "returnedBits"));
		}
	}
	return NULL;
}

/* compare_to_expected checks every answer in the expected file. */
static void compare_to_expected(const json_t *got)
{
	json_error_t je;
	json_t *want = json_load_file(testlib_path(EXPECTED), 0, &je);
	CU_ASSERT_PTR_NOT_NULL_FATAL(want);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(got, "vsId")), 4242);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(got, "algorithm")), "ctrDRBG");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(got, "revision")), "1.0");
	size_t checked = 0;
	const json_t *groups = json_object_get(want, "testGroups");
	for (size_t i = 0; i < json_array_size(groups); i++) {
		const json_t *g = json_array_get(groups, i);
		json_int_t tg = json_integer_value(json_object_get(g, "tgId"));
		const json_t *tests = json_object_get(g, "tests");
		for (size_t j = 0; j < json_array_size(tests); j++) {
			const json_t *t = json_array_get(tests, j);
			json_int_t tc = json_integer_value(json_object_get(t, "tcId"));
			const char *w = json_string_value(json_object_get(t, "returnedBits"));
			const char *h = find_bits(got, tg, tc);
			CU_ASSERT_PTR_NOT_NULL(h);
			if (h != NULL && w != NULL) {
				if (strcasecmp(h, w) != 0)
					fprintf(stderr, "\n  tg %lld tc %lld: got %s want %s\n",
						(long long)tg, (long long)tc, h, w);
				CU_ASSERT_EQUAL(strcasecmp(h, w), 0);
				checked++;
			}
		}
	}
	CU_ASSERT_EQUAL(checked, 8);
	json_decref(want);
}

static void test_sample_answers(void)
{
	struct run res = {0};
	FILE *in = fopen(testlib_path(REQUEST), "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(in);
	run_stream(in, &res);
	fclose(in);
	EXPECT_OK(res.r);
	CU_ASSERT_EQUAL(res.err_len, 0);
	json_error_t je;
	json_t *got = json_loadb(res.out, res.out_len, 0, &je);
	CU_ASSERT_PTR_NOT_NULL_FATAL(got);
	compare_to_expected(got);
	json_decref(got);
	run_free(&res);
}

/* The ACVP array form: [{"acvVersion": ...}, {vector set}] in and out. */
static void test_array_form(void)
{
	json_error_t je;
	json_t *vs = json_load_file(testlib_path(REQUEST), 0, &je);
	CU_ASSERT_PTR_NOT_NULL_FATAL(vs);
	json_t *arr = json_pack("[{s:s}, o]", "acvVersion", "1.0", vs);
	char *text = json_dumps(arr, 0);
	struct run res = {0};
	run_text(text, &res);
	EXPECT_OK(res.r);
	json_t *got = json_loadb(res.out, res.out_len, 0, &je);
	CU_ASSERT_FATAL(json_is_array(got) && json_array_size(got) == 2);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(got, 0), "acvVersion")), "1.0");
	compare_to_expected(json_array_get(got, 1));
	json_decref(got);
	json_decref(arr);
	free(text);
	run_free(&res);
}

/* One group built from the pieces below; each malformed case changes one. */
#define E64 "0102030405060708091011121314151617181920212223242526272829303132"
#define GROUP(mode, df, elen, tests)                                           \
	"{\"vsId\":1,\"algorithm\":\"ctrDRBG\",\"revision\":\"1.0\",\"testGroups\":[{" \
	"\"tgId\":7,\"testType\":\"AFT\",\"derFunc\":" df ",\"reSeed\":false,"  \
	"\"predResistance\":false,\"entropyInputLen\":" elen ",\"nonceLen\":128," \
	"\"persoStringLen\":0,\"additionalInputLen\":0,\"returnedBitsLen\":512," \
	"\"mode\":\"" mode "\",\"tests\":[" tests "]}]}"
#define TEST_CASE(ent, nonce, other)                                           \
	"{\"tcId\":9,\"entropyInput\":\"" ent "\",\"nonce\":\"" nonce "\","      \
	"\"persoString\":\"\",\"otherInput\":[" other "]}"
#define GEN "{\"intendedUse\":\"generate\",\"additionalInput\":\"\",\"entropyInput\":\"\"}"
#define N32 "000102030405060708090a0b0c0d0e0f"

/* expect_error runs |text| and checks the code and that |needle| is in the
 * response (NULL: nothing must be written) and that err says something. */
static void expect_error(const char *text, err_t code, const char *needle)
{
	struct run res = {0};
	run_text(text, &res);
	EXPECT_ERR(res.r, code);
	CU_ASSERT(res.err_len > 0);
	if (needle == NULL) {
		CU_ASSERT_EQUAL(res.out_len, 0);
	} else {
		CU_ASSERT_PTR_NOT_NULL(res.out);
		if (res.out != NULL && strstr(res.out, needle) == NULL)
			fprintf(stderr, "\n  response lacks \"%s\":\n%s\n", needle, res.out);
		CU_ASSERT_PTR_NOT_NULL(res.out != NULL ? strstr(res.out, needle) : NULL);
	}
	run_free(&res);
}

static void test_good_minimal(void)
{
	struct run res = {0};
	run_text(GROUP("AES-256", "true", "256", TEST_CASE(E64, N32, GEN "," GEN)), &res);
	EXPECT_OK(res.r);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "\"returnedBits\""));
	run_free(&res);
}

static void test_unsupported_groups(void)
{
	expect_error(GROUP("AES-128", "true", "256", TEST_CASE(E64, N32, GEN)), ERR_UNSUPPORTED,
		     "unsupported: mode AES-128");
	expect_error(GROUP("AES-256", "false", "256", TEST_CASE(E64, N32, GEN)), ERR_UNSUPPORTED,
		     "unsupported: derFunc false");
	expect_error("{\"vsId\":1,\"algorithm\":\"hashDRBG\",\"revision\":\"1.0\",\"testGroups\":[]}",
		     ERR_UNSUPPORTED, NULL);
}

static void test_malformed(void)
{
	/* not JSON, not a vector set */
	expect_error("{\"vsId\":", ERR_PARSE, NULL);
	expect_error("[1,2,3]", ERR_PARSE, NULL);
	expect_error("{\"vsId\":1,\"algorithm\":\"ctrDRBG\",\"revision\":\"1.0\"}", ERR_PARSE, NULL);
	expect_error("", ERR_PARSE, NULL);
	/* bad hex, wrong lengths */
	expect_error(GROUP("AES-256", "true", "256",
			   TEST_CASE("zz02030405060708091011121314151617181920212223242526272829303132",
				     N32, GEN)),
		     ERR_PARSE, "not valid hex");
	expect_error(GROUP("AES-256", "true", "256", TEST_CASE("0102", N32, GEN)), ERR_PARSE,
		     "hex digits");
	expect_error(GROUP("AES-256", "true", "256", TEST_CASE(E64, "0011", GEN)), ERR_PARSE,
		     "has 4 hex digits");
	expect_error(GROUP("AES-256", "true", "255", TEST_CASE(E64, N32, GEN)), ERR_PARSE,
		     "multiple of 8");
	expect_error(GROUP("AES-256", "true", "99999999", TEST_CASE(E64, N32, GEN)), ERR_PARSE,
		     "entropyInputLen");
	/* entropy shorter than the security strength */
	expect_error(GROUP("AES-256", "true", "128",
			   TEST_CASE("01020304050607080910111213141516", N32, GEN)),
		     ERR_PARSE, "instantiate failed");
	/* missing fields */
	expect_error(GROUP("AES-256", "true", "256",
			   "{\"tcId\":9,\"nonce\":\"" N32 "\",\"persoString\":\"\",\"otherInput\":[" GEN "]}"),
		     ERR_PARSE, "missing or not a string");
	expect_error(GROUP("AES-256", "true", "256", TEST_CASE(E64, N32, "")), ERR_PARSE,
		     "otherInput");
	expect_error(GROUP("AES-256", "true", "256",
			   TEST_CASE(E64, N32, "{\"intendedUse\":\"explode\",\"additionalInput\":\"\"}")),
		     ERR_PARSE, "unknown intendedUse");
	expect_error(GROUP("AES-256", "true", "256",
			   TEST_CASE(E64, N32, "{\"intendedUse\":\"reSeed\",\"additionalInput\":\"\","
					       "\"entropyInput\":\"" E64 "\"}")),
		     ERR_PARSE, "no generate step");
	expect_error(GROUP("AES-256", "true", "256", "17"), ERR_PARSE, "not an object");
	expect_error("{\"vsId\":1,\"algorithm\":\"ctrDRBG\",\"revision\":\"1.0\",\"testGroups\":[{\"tgId\":3}]}",
		     ERR_PARSE, "\"error\"");
	/* returnedBitsLen: not a multiple of 8, or above 2^19 */
	const char *odd = "{\"vsId\":1,\"algorithm\":\"ctrDRBG\",\"revision\":\"1.0\",\"testGroups\":[{"
			  "\"tgId\":7,\"derFunc\":true,\"predResistance\":false,\"mode\":\"AES-256\","
			  "\"entropyInputLen\":256,\"nonceLen\":128,\"persoStringLen\":0,"
			  "\"additionalInputLen\":0,\"returnedBitsLen\":511,\"tests\":[]}]}";
	expect_error(odd, ERR_PARSE, "multiple of 8");
	const char *huge = "{\"vsId\":1,\"algorithm\":\"ctrDRBG\",\"revision\":\"1.0\",\"testGroups\":[{"
			   "\"tgId\":7,\"derFunc\":true,\"predResistance\":false,\"mode\":\"AES-256\","
			   "\"entropyInputLen\":256,\"nonceLen\":128,\"persoStringLen\":0,"
			   "\"additionalInputLen\":0,\"returnedBitsLen\":8000000000,\"tests\":[]}]}";
	expect_error(huge, ERR_PARSE, "returnedBitsLen");
}

#define VS(ALG, GROUP) "{\"vsId\":5,\"algorithm\":\"" ALG "\",\"revision\":\"1.0\",\"testGroups\":[" GROUP "]}"

/* the other algorithms' refusals: found before any cryptography runs */
static void test_other_algorithms_malformed(void)
{
	expect_error(VS("SHA2-512", ""), ERR_UNSUPPORTED, NULL);
	expect_error(VS("SHA2-256", "{\"tgId\":1,\"testType\":\"XYZ\",\"tests\":[]}"), ERR_PARSE,
		     "unknown testType");
	expect_error(VS("SHA2-256", "{\"tgId\":1,\"testType\":\"LDT\",\"tests\":[]}"), ERR_UNSUPPORTED,
		     "unsupported: LDT");
	expect_error(VS("SHA2-256", "{\"tgId\":1,\"testType\":\"MCT\",\"tests\":[{\"tcId\":1,\"len\":128,"
				    "\"msg\":\"00112233445566778899AABBCCDDEEFF\"}]}"),
		     ERR_PARSE, "a standard MCT seed");
	expect_error(VS("SHA2-256", "{\"tgId\":1,\"testType\":\"AFT\",\"tests\":[{\"tcId\":1,\"len\":12,\"msg\":\"AB\"}]}"),
		     ERR_UNSUPPORTED, "not whole bytes");
	expect_error(VS("SHA2-256", "{\"tgId\":1,\"testType\":\"AFT\",\"tests\":[{\"tcId\":1,\"len\":16,\"msg\":\"AB\"}]}"),
		     ERR_PARSE, "hex digits");
	expect_error(VS("HMAC-SHA2-256", "{\"tgId\":2,\"testType\":\"AFT\",\"keyLen\":128,\"msgLen\":0,\"macLen\":12,"
					 "\"tests\":[]}"),
		     ERR_UNSUPPORTED, "macLen");
	expect_error(VS("HMAC-SHA2-256", "{\"tgId\":2,\"testType\":\"AFT\",\"keyLen\":128,\"msgLen\":0,\"tests\":[]}"),
		     ERR_PARSE, "\\\"macLen\\\" missing");
	expect_error(VS("ACVP-AES-KW", "{\"tgId\":3,\"testType\":\"AFT\",\"direction\":\"sideways\",\"kwCipher\":\"cipher\","
				       "\"keyLen\":128,\"payloadLen\":128,\"tests\":[]}"),
		     ERR_PARSE, "direction");
	expect_error(VS("ACVP-AES-KW", "{\"tgId\":3,\"testType\":\"AFT\",\"direction\":\"encrypt\",\"kwCipher\":\"inverse\","
				       "\"keyLen\":128,\"payloadLen\":128,\"tests\":[]}"),
		     ERR_UNSUPPORTED, "kwCipher inverse");
	expect_error(VS("ACVP-AES-KW", "{\"tgId\":3,\"testType\":\"AFT\",\"direction\":\"encrypt\",\"kwCipher\":\"cipher\","
				       "\"keyLen\":100,\"payloadLen\":128,\"tests\":[]}"),
		     ERR_PARSE, "keyLen");
	expect_error(VS("ACVP-AES-KW", "{\"tgId\":3,\"testType\":\"AFT\",\"direction\":\"encrypt\",\"kwCipher\":\"cipher\","
				       "\"keyLen\":128,\"payloadLen\":72,\"tests\":[]}"),
		     ERR_UNSUPPORTED, "payloadLen 72");
	expect_error(VS("ACVP-AES-KWP", "{\"tgId\":3,\"testType\":\"AFT\",\"direction\":\"decrypt\",\"kwCipher\":\"cipher\","
					"\"keyLen\":128,\"payloadLen\":64,\"tests\":[{\"tcId\":4,\"key\":"
					"\"000102030405060708090A0B0C0D0E0F\",\"ct\":\"0011\"}]}"),
		     ERR_PARSE, "hex digits");
}

/* every answer of the other algorithms against independent code */
static void test_other_algorithms_independent(void)
{
	struct run_result *r = calloc(1, sizeof *r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	const char *argv[] = {"/usr/bin/python3", testlib_path("tests/interop/acvp_check.py"), testlib_fount_bin(), NULL};
	const char *env[] = {testlib_fips_dir_env(), NULL};
	CU_ASSERT_EQUAL_FATAL(testlib_run(argv, env, NULL, r), 0);
	if (r->status != 0)
		fprintf(stderr, "\n%s%s", r->out, r->err);
	CU_ASSERT_EQUAL(r->status, 0);
	unsigned passed = 0, failed = 1;
	const char *line = strstr(r->out, " passed, ");
	while (line != NULL && line > r->out && line[-1] >= '0' && line[-1] <= '9')
		line--;
	CU_ASSERT(line != NULL && sscanf(line, "%u passed, %u failed", &passed, &failed) == 2);
	CU_ASSERT(passed >= 200);
	CU_ASSERT_EQUAL(failed, 0);
	free(r);
}

TEST_SUITE(acvp, NULL, NULL, TEST(test_sample_answers), TEST(test_array_form),
	   TEST(test_good_minimal), TEST(test_unsupported_groups), TEST(test_malformed),
	   TEST(test_other_algorithms_malformed), TEST(test_other_algorithms_independent))
