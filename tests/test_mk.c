/* tests/test_mk.c — the set-up scripts in mk/ against fake dpkg-query,
 * apt-cache, apt-get and id on PATH: which openssl source the FIPS provider
 * is built from (mk/openssl-version.sh), what `make deps` upgrades
 * (mk/deps.sh), when mk/fips.sh rebuilds, and its refusal of a release
 * tarball whose SHA-256 is not the published one. Nothing here touches apt,
 * dpkg or the network. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/helpers.h"

static char tmpdir[64];
static struct run_result res;
static char env_path[512], env_fake[128], env_apt[160];

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *fp = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	fputs(text, fp);
	CU_ASSERT_EQUAL_FATAL(fclose(fp), 0);
	CU_ASSERT_EQUAL_FATAL(chmod(path, mode), 0);
}

static const char *tmp(const char *name)
{
	return testlib_file(tmpdir, name);
}

/* The fakes read the scenario from $FAKE: libssl3 ("VERSION ARCH", absent
 * when not installed), sources (one openssl source version a line),
 * binaries ("package version" lines), uid; apt-get logs its arguments and
 * fails only `apt-get source` (it downloads nothing). */
static const char fake_dpkg_query[] =
	"#!/bin/sh\n"
	"fmt=; for a; do case $a in -f=*) fmt=${a#-f=};; esac; done\n"
	"[ -f \"$FAKE/libssl3\" ] || { echo 'dpkg-query: no packages found' >&2; exit 1; }\n"
	"read -r ver arch < \"$FAKE/libssl3\"\n"
	"printf '%s' \"$fmt\" | sed -e 's/${Status}/install ok installed/' "
	"-e \"s/\\${Version}/$ver/\" -e \"s/\\${Architecture}/$arch/\"\n";
/* the output formats of apt-cache(8) showsrc and madison */
static const char fake_apt_cache[] =
	"#!/bin/sh\n"
	"case $1 in\n"
	"showsrc)\n"
	"  [ -s \"$FAKE/sources\" ] || { echo 'E: Unable to find a source package for openssl' >&2; exit 100; }\n"
	"  while read -r v; do printf 'Package: openssl\\nBinary: openssl, libssl3, libssl-dev\\n"
	"Version: %s\\nStandards-Version: 4.6.2\\n\\n' \"$v\"; done < \"$FAKE/sources\" ;;\n"
	"madison)\n"
	"  shift\n"
	"  for p; do\n"
	"    while read -r pkg v; do [ \"$pkg\" = \"$p\" ] &&\n"
	"      printf '%10s | %s | http://deb.debian.org/debian bookworm/main amd64 Packages\\n' \"$pkg\" \"$v\"; done < \"$FAKE/binaries\"\n"
	"    while read -r v; do printf '%10s | %s | http://deb.debian.org/debian bookworm/main Sources\\n' openssl \"$v\"; done < \"$FAKE/sources\"\n"
	"  done ;;\n"
	"*) exit 100 ;;\n"
	"esac\n";
static const char fake_apt_get[] =
	"#!/bin/sh\necho \"$*\" >> \"$FAKE/apt-get.log\"\n"
	"case $1 in source) exit 1 ;; esac\n";
static const char fake_id[] = "#!/bin/sh\ncat \"$FAKE/uid\"\n";

static int mk_init(void)
{
	if (testlib_tmpdir_create(tmpdir, "mk") != 0)
		return -1;
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "mkdir -p %s/bin %s/apt/sources.list.d", tmpdir, tmpdir);
	if (testlib_sh(cmd) != 0)
		return -1;
	snprintf(env_path, sizeof(env_path), "PATH=%s/bin:/usr/sbin:/usr/bin:/sbin:/bin", tmpdir);
	snprintf(env_fake, sizeof(env_fake), "FAKE=%s", tmpdir);
	snprintf(env_apt, sizeof(env_apt), "APT_DIR=%s/apt", tmpdir);
	return 0;
}

static int mk_clean(void)
{
	return testlib_tmpdir_remove(tmpdir);
}

static void fakes(void)
{
	write_file(tmp("bin/dpkg-query"), fake_dpkg_query, 0755);
	write_file(tmp("bin/apt-cache"), fake_apt_cache, 0755);
	write_file(tmp("bin/apt-get"), fake_apt_get, 0755);
	write_file(tmp("bin/id"), fake_id, 0755);
	write_file(tmp("uid"), "0\n", 0644);
	write_file(tmp("apt/sources.list.d/debian.sources"),
		   "Types: deb deb-src\nURIs: http://deb.debian.org/debian\n", 0644);
	unlink(tmp("apt-get.log"));
}

/* scenario: |installed| NULL = libssl3 not installed; |sources| and
 * |binaries| newline-separated. */
static void scenario(const char *installed, const char *sources, const char *binaries)
{
	fakes();
	if (installed != NULL) {
		char line[128];
		snprintf(line, sizeof(line), "%s amd64\n", installed);
		write_file(tmp("libssl3"), line, 0644);
	} else {
		unlink(tmp("libssl3"));
	}
	write_file(tmp("sources"), sources, 0644);
	write_file(tmp("binaries"), binaries, 0644);
}

/* all three binary packages at each version */
#define BIN3(v) "libssl3 " v "\nlibssl-dev " v "\nopenssl " v "\n"
#define V17 "3.0.17-1~deb12u2"
#define V19 "3.0.19-1~deb12u2"
#define V20 "3.0.20-1~deb12u2"
#define V22 "3.0.22-1~deb12u2"

static int run_sh(const char *script, const char *extra)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s", testlib_path(script));
	const char *argv[] = {"/bin/sh", path, extra, NULL};
	const char *env[] = {env_path, env_fake, env_apt, NULL};
	CU_ASSERT_EQUAL_FATAL(testlib_run(argv, env, NULL, &res), 0);
	return res.status;
}

static int select_version(void)
{
	return run_sh("mk/openssl-version.sh", NULL);
}

static bool one_line(const char *s)
{
	const char *nl = strchr(s, '\n');
	return s[0] != '\0' && nl != NULL && nl[1] == '\0';
}

/* the fresh machine: 3.0.19 installed, the mirror has sources for
 * 3.0.20 and 3.0.22 only: upgrade to the newest */
static void test_select_fresh_machine_upgrades(void)
{
	scenario(V19, V20 "\n" V22 "\n", BIN3(V20) BIN3(V22));
	CU_ASSERT_EQUAL(select_version(), 0);
	CU_ASSERT_STRING_EQUAL(res.out, "upgrade " V22 "\n");
	CU_ASSERT_STRING_EQUAL(res.err, "");
}

static void test_select_keeps_installed(void)
{
	scenario(V22, V17 "\n" V20 "\n" V22 "\n", BIN3(V17) BIN3(V20) BIN3(V22));
	CU_ASSERT_EQUAL(select_version(), 0);
	CU_ASSERT_STRING_EQUAL(res.out, "keep " V22 "\n");
	/* an older installed version whose source is there: kept, no upgrade */
	scenario(V20, V20 "\n" V22 "\n", BIN3(V20) BIN3(V22));
	CU_ASSERT_EQUAL(select_version(), 0);
	CU_ASSERT_STRING_EQUAL(res.out, "keep " V20 "\n");
}

static void test_select_older_source_warns(void)
{
	scenario("3.0.23-1~deb12u1", V17 "\n" V20 "\n" V22 "\n", BIN3(V20) BIN3(V22));
	CU_ASSERT_EQUAL(select_version(), 0);
	CU_ASSERT_STRING_EQUAL(res.out, "older " V22 "\n");
	CU_ASSERT(one_line(res.err));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "warning"));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "3.0.23-1~deb12u1"));
}

/* 3.0.22's source is on the mirror but libssl-dev 3.0.22 is not: the
 * newest version with the source and all three binaries wins */
static void test_select_skips_version_without_binaries(void)
{
	scenario(V19, V20 "\n" V22 "\n", BIN3(V20) "libssl3 " V22 "\nopenssl " V22 "\n");
	CU_ASSERT_EQUAL(select_version(), 0);
	CU_ASSERT_STRING_EQUAL(res.out, "upgrade " V20 "\n");
	/* no newer version has all three, and none is older: an error */
	scenario(V19, V22 "\n", "libssl3 " V22 "\n");
	CU_ASSERT_EQUAL(select_version(), 1);
	CU_ASSERT(one_line(res.err));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "apt-get update"));
}

static void test_select_errors(void)
{
	/* no 3.0.x source at all (no deb-src, or only other series) */
	scenario(V19, "", BIN3(V22));
	CU_ASSERT_EQUAL(select_version(), 1);
	CU_ASSERT_STRING_EQUAL(res.out, "");
	CU_ASSERT(one_line(res.err));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "make deps"));
	scenario(V19, "1.1.1w-0+deb11u1\n3.1.4-1\n", BIN3(V22));
	CU_ASSERT_EQUAL(select_version(), 1);
	CU_ASSERT(one_line(res.err));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "deb-src"));
	/* libssl3 is not 3.0.x */
	scenario("3.1.4-1", V22 "\n", BIN3(V22));
	CU_ASSERT_EQUAL(select_version(), 1);
	CU_ASSERT_STRING_EQUAL(res.out, "");
	CU_ASSERT(one_line(res.err));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "not OpenSSL 3.0.x"));
	/* not installed */
	scenario(NULL, V22 "\n", BIN3(V22));
	CU_ASSERT_EQUAL(select_version(), 1);
	CU_ASSERT(one_line(res.err));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "make deps"));
}

/* make deps: as root it upgrades exactly the three packages to the
 * selected version; as another user it says what to run and runs nothing;
 * with nothing to change it runs no apt-get at all */
static void test_deps_upgrades_the_three_packages(void)
{
	scenario(V19, V20 "\n" V22 "\n", BIN3(V20) BIN3(V22));
	CU_ASSERT_EQUAL(run_sh("mk/deps.sh", NULL), 0);
	char *log = testlib_slurp(tmp("apt-get.log"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(log);
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "update"));
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "install -y -qq --no-install-recommends libssl3=" V22
					   " libssl-dev=" V22 " openssl=" V22 "\n"));

	scenario(V19, V20 "\n" V22 "\n", BIN3(V20) BIN3(V22));
	write_file(tmp("uid"), "1000\n", 0644);
	CU_ASSERT_EQUAL(run_sh("mk/deps.sh", NULL), 1);
	CU_ASSERT(one_line(res.err));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "make deps' as root"));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "apt-get install libssl3=" V22 " libssl-dev=" V22
					       " openssl=" V22));
	CU_ASSERT_PTR_NULL(testlib_slurp(tmp("apt-get.log")));

	scenario(V22, V20 "\n" V22 "\n", BIN3(V20) BIN3(V22));
	CU_ASSERT_EQUAL(run_sh("mk/deps.sh", NULL), 0);
	CU_ASSERT_STRING_EQUAL(res.err, "");
	CU_ASSERT_PTR_NULL(testlib_slurp(tmp("apt-get.log")));
}

/* make deps as another user on an image without deb-src: says so, exits 1 */
static void test_deps_needs_deb_src(void)
{
	scenario(V22, V22 "\n", BIN3(V22));
	write_file(tmp("apt/sources.list.d/debian.sources"),
		   "Types: deb\nURIs: http://deb.debian.org/debian\n", 0644);
	write_file(tmp("uid"), "1000\n", 0644);
	CU_ASSERT_EQUAL(run_sh("mk/deps.sh", NULL), 1);
	CU_ASSERT(one_line(res.err));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "deb-src"));
	CU_ASSERT_PTR_NULL(testlib_slurp(tmp("apt-get.log")));
}

/* a module folder with a stamp; the files are stand-ins (never loaded) */
static void module_dir(const char *stamp)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf %s/fips && mkdir -p %s/fips", tmpdir, tmpdir);
	CU_ASSERT_EQUAL_FATAL(testlib_sh(cmd), 0);
	write_file(tmp("fips/fips.so"), "stand-in\n", 0644);
	write_file(tmp("fips/fipsmodule.cnf"), "[fips_sect]\n", 0644);
	if (stamp != NULL)
		write_file(tmp("fips/VERSION"), stamp, 0644);
}

/* mk/fips.sh: a second run is a no-op; a libssl3 upgrade (a new installed
 * version) selects again and rebuilds; an upgrade it cannot do itself names
 * `make deps` */
static void test_fips_stamp(void)
{
	char dir[128];
	snprintf(dir, sizeof(dir), "%s/fips", tmpdir);

	scenario(V22, V20 "\n" V22 "\n", BIN3(V20) BIN3(V22));
	module_dir("debian " V22 " libssl3 " V22 "\n");
	CU_ASSERT_EQUAL(run_sh("mk/fips.sh", dir), 0);
	CU_ASSERT_STRING_EQUAL(res.err, "");
	CU_ASSERT_PTR_NULL(testlib_slurp(tmp("apt-get.log")));
	CU_ASSERT_STRING_EQUAL(testlib_slurp(tmp("fips/fips.so")), "stand-in\n");

	/* libssl3 moved on to a version the mirror has no source for: rebuild
	 * from the newest older source (the fake apt-get source fails) */
	scenario("3.0.23-1~deb12u1", V20 "\n" V22 "\n", BIN3(V20) BIN3(V22));
	CU_ASSERT_EQUAL(run_sh("mk/fips.sh", dir), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "warning"));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "apt-get source openssl=" V22));
	char *log = testlib_slurp(tmp("apt-get.log"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(log);
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "source --download-only -qq openssl=" V22));

	/* the old stamp format (the Debian version alone) is rebuilt too */
	scenario(V22, V22 "\n", BIN3(V22));
	module_dir(V22 "\n");
	CU_ASSERT_EQUAL(run_sh("mk/fips.sh", dir), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "apt-get source openssl=" V22));

	/* an upgrade is make deps' job */
	scenario(V19, V20 "\n" V22 "\n", BIN3(V20) BIN3(V22));
	module_dir("debian " V22 " libssl3 " V22 "\n");
	CU_ASSERT_EQUAL(run_sh("mk/fips.sh", dir), 1);
	CU_ASSERT(one_line(res.err));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "make deps' as root"));
	CU_ASSERT_PTR_NULL(testlib_slurp(tmp("apt-get.log")));

	/* a provider built from an operator's tarball stays */
	scenario(V19, V20 "\n", BIN3(V20));
	module_dir("tarball openssl-3.1.2.tar.gz a0ce\n");
	CU_ASSERT_EQUAL(run_sh("mk/fips.sh", dir), 0);
	CU_ASSERT_STRING_EQUAL(res.err, "");
}

static int run_tarball(const char *tarball)
{
	char dir[128], env_tar[256];
	snprintf(dir, sizeof(dir), "%s/fips", tmpdir);
	snprintf(env_tar, sizeof(env_tar), "FIPS_TARBALL=%s", tarball);
	char path[1024];
	snprintf(path, sizeof(path), "%s", testlib_path("mk/fips.sh"));
	const char *argv[] = {"/bin/sh", path, dir, NULL};
	const char *env[] = {env_path, env_fake, env_apt, env_tar, NULL};
	CU_ASSERT_EQUAL_FATAL(testlib_run(argv, env, NULL, &res), 0);
	return res.status;
}

/* nothing is unpacked or built, and the folder keeps what it had */
static void expect_untouched(void)
{
	struct stat st;
	CU_ASSERT_NOT_EQUAL(stat(tmp("fips/src-openssl-3.1.2"), &st), 0);
	CU_ASSERT_NOT_EQUAL(stat(tmp("fips/src-openssl-3.0.22"), &st), 0);
	CU_ASSERT_STRING_EQUAL(testlib_slurp(tmp("fips/VERSION")), "debian " V22 " libssl3 " V22 "\n");
	CU_ASSERT_STRING_EQUAL(testlib_slurp(tmp("fips/fips.so")), "stand-in\n");
}

/* make fips FIPS_TARBALL=...: only a validated release's tarball with the
 * SHA-256 OpenSSL published is built */
static void test_fips_tarball_refused(void)
{
	scenario(V22, V22 "\n", BIN3(V22));
	module_dir("debian " V22 " libssl3 " V22 "\n");

	/* a name not in the table (a release without a validated provider) */
	write_file(tmp("openssl-3.0.22.tar.gz"), "not a tarball\n", 0644);
	CU_ASSERT_EQUAL(run_tarball(tmp("openssl-3.0.22.tar.gz")), 1);
	CU_ASSERT(one_line(res.err));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "openssl-3.0.22.tar.gz is not a validated"));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "openssl-3.1.2.tar.gz"));
	expect_untouched();

	/* a known name whose content is not the published release */
	write_file(tmp("openssl-3.1.2.tar.gz"), "not the release\n", 0644);
	CU_ASSERT_EQUAL(run_tarball(tmp("openssl-3.1.2.tar.gz")), 1);
	CU_ASSERT(one_line(res.err));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "a0ce69b8b97ea6a35b96875235aa453b966ba3cba8af2de23657d8b6767d6539"));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "download it again"));
	expect_untouched();

	/* a missing file */
	CU_ASSERT_EQUAL(run_tarball(tmp("openssl-3.0.9.tar.gz")), 1);
	CU_ASSERT(one_line(res.err));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "no such file"));
	expect_untouched();
}

TEST_SUITE(mk, mk_init, mk_clean,
	   TEST(test_select_fresh_machine_upgrades), TEST(test_select_keeps_installed),
	   TEST(test_select_older_source_warns), TEST(test_select_skips_version_without_binaries),
	   TEST(test_select_errors), TEST(test_deps_upgrades_the_three_packages),
	   TEST(test_deps_needs_deb_src), TEST(test_fips_stamp), TEST(test_fips_tarball_refused))
