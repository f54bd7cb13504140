/* tests/test_install.c — fount as a system service: `make install
 * DESTDIR=...` lays out the expected tree with the expected modes, the
 * installed fount passes its self-tests on its installed FIPS provider,
 * integrity file and configuration (and names the installed folder when one
 * is missing), a re-install keeps an edited configuration, `make uninstall`
 * removes what install put, systemd-analyze verify accepts the units and
 * rejects a broken one, `make deb` carries the same files, and the sd_notify
 * protocol (process_notify, READY=1 from a real `fount serve`). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/helpers.h"

static char dir[64];
static char root[128];  /* the DESTDIR */
static char make_cmd[512];
static struct run_result res;

#define PFX "/usr/local"

static const char *in_root(const char *rel)
{
	static char paths[4][512];
	static int next;
	char *p = paths[next++ % 4];
	snprintf(p, sizeof paths[0], "%s%s", root, rel);
	return p;
}

/* make_install runs `make |target| DESTDIR=root PREFIX=/usr/local` in the
 * source tree, for the build variant under test (build-san/ under SAN=1),
 * its output to dir/make.log; returns its exit status. */
static int make_target(const char *target)
{
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "%s %s DESTDIR=%s PREFIX=" PFX " > %s/make.log 2>&1", make_cmd, target,
		 root, dir);
	return testlib_sh(cmd);
}

static int install_init(void)
{
	if (testlib_tmpdir_create(dir, "install") != 0)
		return -1;
	snprintf(root, sizeof root, "%s/root", dir);
	/* the variant of the fount under test: build/ or build-san/ */
	char bin[4096];
	snprintf(bin, sizeof bin, "%s", testlib_fount_bin());
	char *slash = strrchr(bin, '/');
	bool san = slash != NULL && slash - bin >= 9 && strncmp(slash - 9, "build-san", 9) == 0;
	/* the make that runs this suite has its own jobserver: not ours */
	snprintf(make_cmd, sizeof make_cmd,
		 "cd '%s' && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory%s",
		 getenv("FOUNT_SRCDIR") ? getenv("FOUNT_SRCDIR") : ".", san ? " SAN=1" : "");
	return 0;
}

static int install_clean(void)
{
	return testlib_tmpdir_remove(dir);
}

static void expect_mode(const char *rel, mode_t mode)
{
	struct stat st;
	int r = stat(in_root(rel), &st);
	if (r != 0 || (st.st_mode & 07777) != mode)
		fprintf(stderr, "\n  %s: %s, want mode %04o\n", rel,
			r != 0 ? strerror(errno) : "wrong mode", (unsigned)mode);
	CU_ASSERT_EQUAL(r, 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, mode);
}

static void test_install_tree(void)
{
	CU_ASSERT_EQUAL_FATAL(make_target("install"), 0);
	expect_mode(PFX "/bin/fount", 0755);
	expect_mode(PFX "/lib/fount", 0755);
	expect_mode(PFX "/lib/fount/fount.hmac", 0644);
	expect_mode(PFX "/lib/fount/fips/fips.so", 0644);
	expect_mode(PFX "/lib/fount/fips/fipsmodule.cnf", 0644);
	expect_mode(PFX "/lib/systemd/system/fount.service", 0644);
	expect_mode(PFX "/lib/systemd/system/fount-feed.service", 0644);
	expect_mode(PFX "/lib/systemd/system/fount-feed.timer", 0644);
	expect_mode(PFX "/lib/systemd/system/fount-agent.service", 0644);
	expect_mode(PFX "/lib/systemd/system/fount-agent.socket", 0644);
	expect_mode(PFX "/lib/sysusers.d/fount.conf", 0644);
	expect_mode(PFX "/share/doc/fount/README.md", 0644);
	expect_mode("/etc/fount", 0750);
	expect_mode("/etc/fount/fount.conf", 0640);
	/* byte for byte: not stripped, so the HMAC still matches */
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", testlib_fount_bin(), in_root(PFX "/bin/fount"));
	CU_ASSERT_EQUAL(testlib_sh(cmd), 0);
	/* the units name the installed program */
	const char *unit = testlib_slurp(in_root(PFX "/lib/systemd/system/fount.service"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(unit);
	CU_ASSERT_PTR_NOT_NULL(strstr(unit, "\nExecStart=" PFX "/bin/fount serve\n"));
	CU_ASSERT_PTR_NULL(strstr(unit, "@BINDIR@"));
	CU_ASSERT_PTR_NULL(strstr(unit, "@DOCDIR@"));
	unit = testlib_slurp(in_root(PFX "/lib/systemd/system/fount-feed.service"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(unit);
	CU_ASSERT_PTR_NOT_NULL(strstr(unit, "\nExecStart=" PFX "/bin/fount feed --once\n"));
	unit = testlib_slurp(in_root(PFX "/lib/systemd/system/fount-agent.service"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(unit);
	CU_ASSERT_PTR_NOT_NULL(strstr(unit, "\nExecStart=" PFX "/bin/fount agent\n"));
	/* nothing beside the program in bin/ */
	snprintf(cmd, sizeof cmd, "[ \"$(ls '%s')\" = fount ]", in_root(PFX "/bin"));
	CU_ASSERT_EQUAL(testlib_sh(cmd), 0);
}

/* The installed fount runs on what was installed with it: the FIPS
 * provider in lib/fount/fips, the integrity file lib/fount/fount.hmac and
 * the installed configuration. */
static void test_install_selftest(void)
{
	char conf[512], dir_line[600];
	snprintf(conf, sizeof conf, "%s", in_root("/etc/fount/fount.conf"));
	const char *argv[] = {in_root(PFX "/bin/fount"), "-c", conf, "selftest", NULL};
	CU_ASSERT_EQUAL_FATAL(testlib_run(argv, NULL, NULL, &res), 0);
	if (res.status != 0)
		fprintf(stderr, "\n  installed fount selftest: %s%s\n", res.out, res.err);
	CU_ASSERT_EQUAL(res.status, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "integrity            pass"));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "state:    OPERATIONAL"));
	snprintf(dir_line, sizeof dir_line, "dir:      %s", in_root(PFX "/lib/fount/fips"));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, dir_line));
}

/* Each installed part missing is caught, and the message names the
 * installed place and the fix. */
static void test_install_missing_parts(void)
{
	char conf[512], from[512], to[600];
	snprintf(conf, sizeof conf, "%s", in_root("/etc/fount/fount.conf"));
	const char *argv[] = {in_root(PFX "/bin/fount"), "-c", conf, "selftest", NULL};

	snprintf(from, sizeof from, "%s", in_root(PFX "/lib/fount/fount.hmac"));
	snprintf(to, sizeof to, "%s.away", from);
	CU_ASSERT_EQUAL_FATAL(rename(from, to), 0);
	CU_ASSERT_EQUAL(testlib_run(argv, NULL, NULL, &res), 0);
	CU_ASSERT_EQUAL(res.status, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "integrity            FAIL"));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "in ../lib/fount (make; or make install)"));
	CU_ASSERT_EQUAL(rename(to, from), 0);

	snprintf(from, sizeof from, "%s", in_root(PFX "/lib/fount/fips"));
	snprintf(to, sizeof to, "%s.away", from);
	CU_ASSERT_EQUAL_FATAL(rename(from, to), 0);
	const char *argv2[] = {in_root(PFX "/bin/fount"), "-c", conf, "random", "-n", "8", "--hex", NULL};
	CU_ASSERT_EQUAL(testlib_run(argv2, NULL, NULL, &res), 0);
	CU_ASSERT_EQUAL(res.status, 1);
	char want[700];
	snprintf(want, sizeof want, "no FIPS provider in %s", from);
	if (strstr(res.err, want) == NULL)
		fprintf(stderr, "\n  got: %s\n", res.err);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, want));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.err, "reinstall fount ('make install' puts it there)"));
	CU_ASSERT_EQUAL(rename(to, from), 0);
}

/* The installed configuration is `fount config --template`: it parses,
 * sets state_dir to the service's folder, and has every key of the table,
 * commented out with its default. */
static void test_install_config(void)
{
	char conf[512];
	snprintf(conf, sizeof conf, "%s", in_root("/etc/fount/fount.conf"));
	const char *argv[] = {testlib_fount_bin(), "-c", conf, "config", NULL};
	/* tests/main.c points every fount at a temporary state folder: not this one */
	char *state = strdup(getenv("FOUNT_SERVICE_STATE_DIR") ? getenv("FOUNT_SERVICE_STATE_DIR") : "");
	CU_ASSERT_PTR_NOT_NULL_FATAL(state);
	unsetenv("FOUNT_SERVICE_STATE_DIR");
	int rr = testlib_run(argv, NULL, NULL, &res);
	if (state[0] != '\0')
		setenv("FOUNT_SERVICE_STATE_DIR", state, 1);
	free(state);
	CU_ASSERT_EQUAL_FATAL(rr, 0);
	CU_ASSERT_EQUAL_FATAL(res.status, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "\nstate_dir = /var/lib/fount\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(res.out, "\npath = /var/lib/fount/fount.db\n"));
	const char *text = testlib_slurp(conf);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	char *tmpl = strdup(text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(tmpl);
	/* every "key = value" line of the effective configuration is in the
	 * template as "#key = " (or, for state_dir and [egd] socket, set) */
	size_t keys = 0;
	char *save = NULL;
	for (char *line = strtok_r(res.out, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#' || line[0] == '[' || strstr(line, " = ") == NULL)
			continue;
		char want[256];
		size_t klen = strcspn(line, " ");
		snprintf(want, sizeof want, "\n#%.*s = ", (int)klen, line);
		if (strncmp(line, "state_dir", klen) == 0)
			snprintf(want, sizeof want, "\nstate_dir = /var/lib/fount\n");
		if (klen == 6 && strncmp(line, "socket", klen) == 0) /* [egd] socket: set, in /run/fount */
			snprintf(want, sizeof want, "\nsocket = /run/fount/egd.sock\n");
		if (strstr(tmpl, want) == NULL)
			fprintf(stderr, "\n  not in the installed fount.conf: %s\n", want + 1);
		CU_ASSERT_PTR_NOT_NULL(strstr(tmpl, want));
		keys++;
	}
	CU_ASSERT(keys >= 30);
	CU_ASSERT_PTR_NOT_NULL(strstr(tmpl, "#sources = rdseed,jitter\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(tmpl, "# (environment: FOUNT_KMIP_LISTEN)\n#listen = 0.0.0.0:5696\n"));
	free(tmpl);
}

/* A re-install keeps an edited configuration and says so. */
static void test_install_keeps_edited_config(void)
{
	const char *conf = in_root("/etc/fount/fount.conf");
	FILE *fp = fopen(conf, "a");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	fputs("[log]\nlevel = debug\n", fp);
	CU_ASSERT_EQUAL_FATAL(fclose(fp), 0);
	CU_ASSERT_EQUAL_FATAL(make_target("install"), 0);
	const char *text = testlib_slurp(conf);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "[log]\nlevel = debug\n"));
	const char *log = testlib_slurp(testlib_file(dir, "make.log"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(log);
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "KEEP    /etc/fount/fount.conf"));
	expect_mode("/etc/fount/fount.conf", 0640);
}

/* systemd itself accepts the installed units (mk/check-units.sh, which
 * `make check-units` runs), and rejects a unit with a mistyped directive. */
static void test_install_units_verify(void)
{
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "cd '%s' && sh mk/check-units.sh '%s' " PFX " > %s/verify.log 2>&1",
		 getenv("FOUNT_SRCDIR") ? getenv("FOUNT_SRCDIR") : ".", root, dir);
	int r = testlib_sh(cmd);
	if (r != 0)
		fprintf(stderr, "\n  %s\n", testlib_slurp(testlib_file(dir, "verify.log")));
	CU_ASSERT_EQUAL(r, 0);
	/* the same check fails on a typo: a unit it would let through is not verified */
	snprintf(cmd, sizeof cmd,
		 "u='%s'; cp \"$u\" \"$u.good\" && sed -i 's/^ProtectSystem=strict$/ProtectSytem=strict/' \"$u\" && "
		 "grep -q ProtectSytem \"$u\"", in_root(PFX "/lib/systemd/system/fount.service"));
	CU_ASSERT_EQUAL_FATAL(testlib_sh(cmd), 0);
	snprintf(cmd, sizeof cmd, "cd '%s' && sh mk/check-units.sh '%s' " PFX " > %s/verify.log 2>&1",
		 getenv("FOUNT_SRCDIR") ? getenv("FOUNT_SRCDIR") : ".", root, dir);
	CU_ASSERT_NOT_EQUAL(testlib_sh(cmd), 0);
	const char *log = testlib_slurp(testlib_file(dir, "verify.log"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(log);
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "ProtectSytem"));
	snprintf(cmd, sizeof cmd, "u='%s'; mv \"$u.good\" \"$u\"", in_root(PFX "/lib/systemd/system/fount.service"));
	CU_ASSERT_EQUAL(testlib_sh(cmd), 0);
}

/* make uninstall removes every file install put; an edited configuration
 * stays until it is as installed again. */
static void test_uninstall(void)
{
	char cmd[1024];
	/* check-units copied systemd's own units into the tree: not install's */
	snprintf(cmd, sizeof cmd, "rm -rf '%s/lib'", root);
	CU_ASSERT_EQUAL_FATAL(testlib_sh(cmd), 0);
	CU_ASSERT_EQUAL_FATAL(make_target("uninstall"), 0);
	snprintf(cmd, sizeof cmd, "[ \"$(cd '%s' && find . -type f -o -type l)\" = ./etc/fount/fount.conf ]", root);
	CU_ASSERT_EQUAL(testlib_sh(cmd), 0);
	const char *log = testlib_slurp(testlib_file(dir, "make.log"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(log);
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "KEEP    /etc/fount/fount.conf"));
	/* as installed again: uninstall removes it and its folder */
	char tmpl[512];
	snprintf(tmpl, sizeof tmpl, "%s/%s/fount.conf", getenv("FOUNT_SRCDIR") ? getenv("FOUNT_SRCDIR") : ".",
		 strstr(make_cmd, "SAN=1") ? "build-san" : "build");
	snprintf(cmd, sizeof cmd, "cp '%s' '%s'", tmpl, in_root("/etc/fount/fount.conf"));
	CU_ASSERT_EQUAL_FATAL(testlib_sh(cmd), 0);
	CU_ASSERT_EQUAL_FATAL(make_target("uninstall"), 0);
	snprintf(cmd, sizeof cmd, "[ -z \"$(cd '%s' && find . -type f -o -type l)\" ] && [ ! -e '%s' ]", root,
		 in_root("/etc/fount"));
	CU_ASSERT_EQUAL(testlib_sh(cmd), 0);
}

/* make deb: the same files under /usr, the configuration a conffile, the
 * maintainer scripts enable and start nothing. */
static void test_deb(void)
{
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "%s deb > %s/make.log 2>&1", make_cmd, dir);
	CU_ASSERT_EQUAL_FATAL(testlib_sh(cmd), 0);
	const char *b = strstr(make_cmd, "SAN=1") ? "build-san" : "build";
	const char *src = getenv("FOUNT_SRCDIR") ? getenv("FOUNT_SRCDIR") : ".";
	snprintf(cmd, sizeof cmd, "dpkg-deb -c %s/%s/fount_*_$(dpkg --print-architecture).deb > %s/deb.txt && "
		 "dpkg-deb -I %s/%s/fount_*_$(dpkg --print-architecture).deb >> %s/deb.txt && "
		 "dpkg-deb -e %s/%s/fount_*_$(dpkg --print-architecture).deb %s/DEBIAN",
		 src, b, dir, src, b, dir, src, b, dir);
	CU_ASSERT_EQUAL_FATAL(testlib_sh(cmd), 0);
	const char *t = testlib_slurp(testlib_file(dir, "deb.txt"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	static const char *const want[] = {
		"-rwxr-xr-x root/root", " ./usr/bin/fount\n", " ./usr/lib/fount/fount.hmac\n",
		" ./usr/lib/fount/fips/fips.so\n", " ./usr/lib/fount/fips/fipsmodule.cnf\n",
		"-rw-r----- root/root", " ./etc/fount/fount.conf\n", " ./lib/systemd/system/fount.service\n",
		" ./lib/systemd/system/fount-feed.timer\n", " ./lib/systemd/system/fount-agent.socket\n",
		" ./usr/lib/sysusers.d/fount.conf\n",
		"Package: fount\n", "libssl3 (>= ", "libsqlite3-0",
	};
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		if (strstr(t, want[i]) == NULL)
			fprintf(stderr, "\n  not in the package: %s\n", want[i]);
		CU_ASSERT_PTR_NOT_NULL(strstr(t, want[i]));
	}
	const char *conffiles = testlib_slurp(testlib_file(dir, "DEBIAN/conffiles"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(conffiles);
	CU_ASSERT_STRING_EQUAL(conffiles, "/etc/fount/fount.conf\n");
	snprintf(cmd, sizeof cmd, "! grep -E 'systemctl (enable|start)|deb-systemd-invoke' %s/DEBIAN/postinst", dir);
	CU_ASSERT_EQUAL(testlib_sh(cmd), 0);
	snprintf(cmd, sizeof cmd, "grep -q 'systemd-sysusers /usr/lib/sysusers.d/fount.conf' %s/DEBIAN/postinst", dir);
	CU_ASSERT_EQUAL(testlib_sh(cmd), 0);
}

/* ---- sd_notify ----------------------------------------------------------*/

/* notify_socket binds a datagram socket at |path| (a leading '@': abstract)
 * with a receive timeout of |secs|. */
static int notify_socket(const char *path, int secs)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t n = strlen(path);
	memcpy(sa.sun_path, path, n);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] != '@'));
	struct timeval tv = {secs, 0};
	if (bind(fd, (struct sockaddr *)&sa, len) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void test_notify_protocol(void)
{
	char buf[128], path[128], abs[64];
	snprintf(path, sizeof path, "%s/notify.sock", dir);
	snprintf(abs, sizeof abs, "@fount-test-notify-%d", (int)getpid());
	const char *old = getenv("NOTIFY_SOCKET");
	char *saved = old != NULL ? strdup(old) : NULL;

	unsetenv("NOTIFY_SOCKET");
	EXPECT_OK(process_notify("READY=1")); /* nobody listens: nothing to do */

	const char *const names[] = {path, abs};
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		int fd = notify_socket(names[i], 2);
		CU_ASSERT_FATAL(fd >= 0);
		setenv("NOTIFY_SOCKET", names[i], 1);
		EXPECT_OK(process_notify("READY=1\nSTATUS=OPERATIONAL"));
		ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
		CU_ASSERT_EQUAL(n, 26);
		buf[n > 0 ? n : 0] = '\0';
		CU_ASSERT_STRING_EQUAL(buf, "READY=1\nSTATUS=OPERATIONAL");
		close(fd);
	}
	/* nobody bound there, a relative name, a name too long: errors */
	setenv("NOTIFY_SOCKET", testlib_file(dir, "nobody.sock"), 1);
	EXPECT_ERR(process_notify("READY=1"), ERR_SYSTEM);
	setenv("NOTIFY_SOCKET", "relative.sock", 1);
	EXPECT_ERR(process_notify("READY=1"), ERR_SYSTEM);
	char longname[200];
	memset(longname, 'x', sizeof longname - 1);
	longname[0] = '/';
	longname[sizeof longname - 1] = '\0';
	setenv("NOTIFY_SOCKET", longname, 1);
	EXPECT_ERR(process_notify("READY=1"), ERR_SYSTEM);
	if (saved != NULL)
		setenv("NOTIFY_SOCKET", saved, 1);
	else
		unsetenv("NOTIFY_SOCKET");
	free(saved);
}

/* A real `fount serve` sends READY=1 once it listens, and STOPPING=1 on
 * SIGTERM, as Type=notify expects. */
static void test_serve_notifies(void)
{
	char path[128], env_notify[160], env_state[128], env_listen[64], buf[128];
	snprintf(path, sizeof path, "%s/serve-notify.sock", dir);
	int fd = notify_socket(path, 60);
	CU_ASSERT_FATAL(fd >= 0);
	snprintf(env_notify, sizeof env_notify, "NOTIFY_SOCKET=%s", path);
	snprintf(env_state, sizeof env_state, "FOUNT_SERVICE_STATE_DIR=%s/state", dir);
	unsigned port = testlib_free_port();
	CU_ASSERT_FATAL(port != 0);
	snprintf(env_listen, sizeof env_listen, "FOUNT_KMIP_LISTEN=127.0.0.1:%u", port);
	const char *env[] = {env_notify, env_state, env_listen, testlib_fips_dir_env(), NULL};
	const char *argv[] = {testlib_fount_bin(), "serve", NULL};
	int pid = testlib_spawn(testlib_file(dir, "serve.log"), argv, env);
	CU_ASSERT_FATAL(pid > 0);
	ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	CU_ASSERT_STRING_EQUAL(buf, "READY=1\nSTATUS=OPERATIONAL");
	/* READY comes after the listener is open */
	const char *log = testlib_slurp(testlib_file(dir, "serve.log"));
	CU_ASSERT_PTR_NOT_NULL(log != NULL ? strstr(log, "KMIP listening on") : NULL);
	kill(pid, SIGTERM);
	n = recv(fd, buf, sizeof buf - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	CU_ASSERT_STRING_EQUAL(buf, "STOPPING=1");
	int st = 0;
	CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(fd);
}

TEST_SUITE(install, install_init, install_clean,
	   TEST(test_install_tree), TEST(test_install_selftest), TEST(test_install_missing_parts),
	   TEST(test_install_config), TEST(test_install_keeps_edited_config),
	   TEST(test_install_units_verify), TEST(test_uninstall), TEST(test_deb),
	   TEST(test_notify_protocol), TEST(test_serve_notifies))
