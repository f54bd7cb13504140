/* tests/test_agent.c — `fount agent` against a real `fount serve`: keys
 * fetched over mutual TLS, served to a peer that does what
 * systemd-cryptsetup does (abstract socket name, shutdown, read to EOF),
 * kept as logon keys in the real kernel keyring (read back from
 * /proc/keys), a revoke by a real KMIP client (python3-pykmip) reaching the
 * hook within 2 s, rekey, the lease ending while the server is down, and
 * restarts of the agent and of the server with no event lost. Also the
 * agent's parsers (SSE, the peer's socket name, the material answer). */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/keyctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api/agent.h"
#include "tests/helpers.h"
#include "tests/lib/promtext.h"

#define CURL "/usr/bin/curl"
#define LEASE_S 6

static char dir[64], state[80], pki[96], sock[96], conf[96], pykmip_conf[128], agent_state[80];
static unsigned port, kmip_port;
static int serve_pid = -1, agent_pid = -1;
static unsigned serve_runs, agent_runs;
static char vol_a[32], vol_b[32], vol_c[32];
static struct run_result *res;

static int start_serve(void)
{
	static char env_state[256], env_listen[64], env_kmip[64];
	snprintf(env_state, sizeof env_state, "FOUNT_SERVICE_STATE_DIR=%s", state);
	snprintf(env_listen, sizeof env_listen, "FOUNT_HTTP_LISTEN=127.0.0.1:%u", port);
	snprintf(env_kmip, sizeof env_kmip, "FOUNT_KMIP_LISTEN=127.0.0.1:%u", kmip_port);
	const char *env[] = {env_state, env_listen, env_kmip, "FOUNT_HTTP_PLAINTEXT_MATERIAL=on",
			     "FOUNT_KEYS_DEFAULT_LEASE=" "6s", testlib_fips_dir_env(), NULL};
	const char *argv[] = {testlib_fount_bin(), "serve", NULL};
	char name[32];
	snprintf(name, sizeof name, "serve%u.log", ++serve_runs);
	const char *log = testlib_file(dir, name);
	serve_pid = testlib_spawn(log, argv, env);
	if (serve_pid <= 0 || !testlib_wait_for_log(log, "HTTP API listening on")) {
		fprintf(stderr, "agent: fount serve did not start:\n%s\n", testlib_slurp(log));
		return -1;
	}
	return 0;
}

static void stop(int *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGTERM);
		waitpid(*pid, NULL, 0);
	}
	*pid = -1;
}

/* agent_log is the current agent run's log */
static const char *agent_log(void)
{
	static char name[32];
	snprintf(name, sizeof name, "agent%u.log", agent_runs);
	return testlib_file(dir, name);
}

static int start_agent(void)
{
	static char env_state[256];
	snprintf(env_state, sizeof env_state, "FOUNT_SERVICE_STATE_DIR=%s", agent_state);
	const char *env[] = {env_state, testlib_fips_dir_env(), NULL};
	const char *argv[] = {testlib_fount_bin(), "-c", conf, "agent", NULL};
	agent_runs++;
	agent_pid = testlib_spawn(agent_log(), argv, env);
	if (agent_pid <= 0 || !testlib_wait_for_log(agent_log(), " key(s) from ")) {
		fprintf(stderr, "agent: fount agent did not start:\n%s\n", testlib_slurp(agent_log()));
		return -1;
	}
	return 0;
}

/* http sends |method| |path| with fount's client certificate; the body
 * goes to res->out, the status code is returned */
static unsigned http(const char *method, const char *path, const char *body)
{
	char url[256], cacert[200], cert[200], key[200];
	snprintf(url, sizeof url, "https://localhost:%u%s", port, path);
	snprintf(cacert, sizeof cacert, "%s/ca.pem", pki);
	snprintf(cert, sizeof cert, "%s/clients/default.pem", pki);
	snprintf(key, sizeof key, "%s/clients/default.key", pki);
	const char *argv[] = {CURL, "-sS", "--max-time", "30", "--cacert", cacert, "--cert", cert, "--key", key,
			      "-X", method, "-d", body != NULL ? body : "", "-w", "\n%{http_code}", url, NULL};
	const char *argv_get[] = {CURL, "-sS", "--max-time", "30", "--cacert", cacert, "--cert", cert, "--key", key,
				  "-w", "\n%{http_code}", url, NULL};
	if (testlib_run(strcmp(method, "GET") == 0 ? argv_get : argv, NULL, NULL, res) != 0 || res->status != 0)
		return 0;
	char *nl = strrchr(res->out, '\n');
	if (nl == NULL)
		return 0;
	*nl = '\0';
	return (unsigned)strtoul(nl + 1, NULL, 10);
}

/* json_str copies "|field|":"..." from res->out */
static bool json_str(const char *field, char *out, size_t cap)
{
	char pat[64];
	snprintf(pat, sizeof pat, "\"%s\":\"", field);
	const char *p = strstr(res->out, pat);
	if (p == NULL)
		return false;
	p += strlen(pat);
	size_t n = strcspn(p, "\"");
	if (n >= cap)
		return false;
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

static bool create_key(const char *name, char id[80])
{
	char body[160];
	snprintf(body, sizeof body, "{\"type\":\"aes-256\",\"name\":\"%s\",\"activate\":true}", name);
	return http("POST", "/v1/keys", body) == 201 && json_str("id", id, 80);
}

/* material reads the key's base64 material as the server has it */
static bool material(const char *id, char *b64, size_t cap)
{
	char path[160];
	snprintf(path, sizeof path, "/v1/keys/%s/material", id);
	return http("GET", path, NULL) == 200 && json_str("material", b64, cap);
}

static void b64(const uint8_t *in, size_t n, char *out)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
		out[o++] = t[v >> 18 & 63];
		out[o++] = t[v >> 12 & 63];
		out[o++] = i + 1 < n ? t[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? t[v & 63] : '=';
	}
	out[o] = '\0';
}

/* cryptsetup_read does what systemd-cryptsetup does with an AF_UNIX key
 * file: binds "\0<hex>/cryptsetup/<volume>" (|name| instead when given),
 * connects, shuts its write side, reads to EOF. Returns the bytes read
 * (-1 when it could not connect). */
static ssize_t cryptsetup_read_at(const char *at, const char *volume, const char *name, uint8_t *buf, size_t cap);

static ssize_t cryptsetup_read(const char *volume, const char *name, uint8_t *buf, size_t cap)
{
	return cryptsetup_read_at(sock, volume, name, buf, cap);
}

/* cryptsetup_read_at is cryptsetup_read on the socket |at| */
static ssize_t cryptsetup_read_at(const char *at, const char *volume, const char *name, uint8_t *buf, size_t cap)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_un me = {.sun_family = AF_UNIX};
	char path[100];
	int n = name != NULL ? snprintf(path, sizeof path, "%s", name)
			     : snprintf(path, sizeof path, "%llx/cryptsetup/%s", (unsigned long long)getpid() * 7919u + (unsigned long long)time(NULL), volume);
	memcpy(me.sun_path + 1, path, (size_t)n); /* abstract: sun_path[0] = 0 */
	struct sockaddr_un to = {.sun_family = AF_UNIX};
	if (strlen(at) >= sizeof to.sun_path) {
		close(fd);
		return -1;
	}
	memcpy(to.sun_path, at, strlen(at) + 1);
	if (bind(fd, (struct sockaddr *)&me, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n)) != 0 ||
	    connect(fd, (struct sockaddr *)&to, sizeof to) != 0) {
		close(fd);
		return -1;
	}
	(void)shutdown(fd, SHUT_WR);
	size_t got = 0;
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 40000) <= 0)
			break;
		ssize_t k = read(fd, buf + got, cap - got);
		if (k <= 0)
			break;
		got += (size_t)k;
		if (got == cap)
			break;
	}
	close(fd);
	return (ssize_t)got;
}

/* keyring_line finds fount:|volume|'s logon key in /proc/keys: its timeout
 * column into |timeout| ("perm", "5s", "expd"); false when there is none
 * (or it is invalidated) */
static bool keyring_line(const char *volume, char timeout[16])
{
	FILE *f = fopen("/proc/keys", "r");
	if (f == NULL)
		return false;
	char line[512], want[64];
	snprintf(want, sizeof want, " fount:%s: ", volume);
	bool found = false;
	while (fgets(line, sizeof line, f) != NULL) {
		char serial[16], flags[16], usage[16], perm[16], uid[16], gid[16], type[32];
		if (strstr(line, want) == NULL ||
		    sscanf(line, "%15s %15s %15s %15s %15s %15s %15s %31s", serial, flags, usage, timeout, perm, uid, gid,
			   type) != 8)
			continue;
		if (strcmp(type, "logon") == 0 && flags[0] == 'I' && strchr(flags, 'i') == NULL && strchr(flags, 'R') == NULL) {
			found = true;
			break;
		}
	}
	fclose(f);
	return found;
}

static const char *hook_file(const char *volume)
{
	static char p[200];
	snprintf(p, sizeof p, "%s/hook-%s.out", dir, volume);
	return p;
}

/* wait_for_file waits up to |s| seconds for |path| to hold |what| */
static bool wait_for_file(const char *path, const char *what, double s)
{
	for (int i = 0; i < (int)(s * 20); i++) {
		const char *t = testlib_slurp(path);
		if (t != NULL && strstr(t, what) != NULL)
			return true;
		struct timespec ts = {0, 50 * 1000000L};
		nanosleep(&ts, NULL);
	}
	return false;
}

/* have_keyring: this machine lets a process add a logon key to its user
 * keyring and list it (container seccomp profiles often refuse add_key) */
static bool have_keyring(void)
{
	static int known = -1;
	if (known >= 0)
		return known == 1;
	char desc[64];
	snprintf(desc, sizeof desc, "fount:probe%d", (int)getpid());
	long id = syscall(SYS_add_key, "logon", desc, "probe", (size_t)5, KEY_SPEC_USER_KEYRING);
	known = id > 0 && access("/proc/keys", R_OK) == 0;
	if (id <= 0)
		fprintf(stderr, "\n  agent: add_key refused (%s): this machine has no usable kernel keyring, so the keyring "
				"is not checked ", strerror(errno));
	if (id > 0)
		(void)syscall(SYS_keyctl, KEYCTL_INVALIDATE, id);
	return known == 1;
}

static int suite_init(void)
{
	res = calloc(1, sizeof *res);
	if (res == NULL || testlib_tmpdir_create(dir, "agent") != 0)
		return -1;
	port = testlib_free_port();
	kmip_port = testlib_free_port();
	snprintf(state, sizeof state, "%s/state", dir);
	snprintf(agent_state, sizeof agent_state, "%s/agent", dir);
	snprintf(pki, sizeof pki, "%s/pki", state);
	snprintf(sock, sizeof sock, "%s/keys.sock", dir);
	snprintf(pykmip_conf, sizeof pykmip_conf, "%s/clients/pykmip.conf", pki);
	snprintf(vol_a, sizeof vol_a, "ta%d", (int)getpid());
	snprintf(vol_b, sizeof vol_b, "tb%d", (int)getpid());
	snprintf(vol_c, sizeof vol_c, "tc%d", (int)getpid());
	if (start_serve() != 0)
		return -1;
	/* three keys: one by id, two by name */
	char id_a[80], id_b[80], id_c[80];
	if (!create_key(vol_a, id_a) || !create_key(vol_b, id_b) || !create_key(vol_c, id_c)) {
		fprintf(stderr, "agent: cannot create the keys: %s\n", res->out);
		return -1;
	}
	snprintf(conf, sizeof conf, "%s/agent.conf", dir);
	FILE *f = fopen(conf, "w");
	if (f == NULL)
		return -1;
	fprintf(f,
		"[agent]\nservers = https://127.0.0.1:%u, https://localhost:%u\nca = %s/ca.pem\n"
		"cert = %s/clients/default.pem\nkey = %s/clients/default.key\nsocket = %s\nmetrics_file = %s/agent.prom\n",
		testlib_free_port() /* nobody: the agent goes on to the next */, port, pki, pki, pki, sock, dir);
	const char *names[] = {vol_a, vol_b, vol_c};
	const char *keys[] = {id_a, vol_b, vol_c};
	for (int i = 0; i < 3; i++)
		fprintf(f, "[agent.%s]\nkey = %s\nhook = { cat; echo; date +%%s.%%N; } >> %s\n", names[i], keys[i],
			hook_file(names[i]));
	fclose(f);
	return start_agent();
}

static int suite_clean(void)
{
	stop(&agent_pid);
	stop(&serve_pid);
	free(res);
	return testlib_tmpdir_remove(dir);
}

static void test_parsers(void)
{
	const char *sse = "retry: 1000\n\nid: 7\nevent: revoke\ndata: {\"seq\":7,\"time\":5,\"kind\":\"revoke\","
			  "\"id\":\"k1\",\"tenant\":\"t\",\"state\":\"deactivated\"}\n\n: a comment\nid: 9\n\n"
			  "id: 10\nevent: rekey\ndata: {\"kind\":\"rekey\",\"id\":\"k1\",\"new_id\":\"k2\"}\r\n\r\n"
			  "id: x\n\nbogus: 1\n\ndata: [1]\n\n";
	size_t off = 0, len = strlen(sse);
	struct agent_event e;
	CU_ASSERT_EQUAL(agent_sse_next(sse, len, &off, &e), 1); /* retry only */
	CU_ASSERT(!e.has_data && e.seq == 0);
	CU_ASSERT_EQUAL(agent_sse_next(sse, len, &off, &e), 1);
	CU_ASSERT(e.has_data && e.seq == 7 && strcmp(e.kind, "revoke") == 0 && strcmp(e.id, "k1") == 0 &&
		  strcmp(e.state, "deactivated") == 0 && e.time == 5);
	CU_ASSERT_EQUAL(agent_sse_next(sse, len, &off, &e), 1); /* the cursor moved, no event */
	CU_ASSERT(!e.has_data && e.seq == 9);
	CU_ASSERT_EQUAL(agent_sse_next(sse, len, &off, &e), 1);
	CU_ASSERT(e.has_data && e.seq == 10 && strcmp(e.new_id, "k2") == 0);
	CU_ASSERT_EQUAL(agent_sse_next(sse, len, &off, &e), -1); /* id: x */
	CU_ASSERT_EQUAL(agent_sse_next(sse, len, &off, &e), -1); /* an unknown field */
	CU_ASSERT_EQUAL(agent_sse_next(sse, len, &off, &e), -1); /* data that is not an event */
	CU_ASSERT_EQUAL(agent_sse_next(sse, len, &off, &e), 0);
	CU_ASSERT_EQUAL(off, len);
	char big[6000];
	memset(big, 'a', sizeof big);
	memcpy(big, "data: ", 6);
	off = 0;
	CU_ASSERT_EQUAL(agent_sse_next(big, sizeof big, &off, &e), -1);
	CU_ASSERT_EQUAL(off, sizeof big);

	char vol[AGENT_NAME_MAX];
	CU_ASSERT(agent_peer_volume("\0003bbee328ca30c758/cryptsetup/fountvol", 37, vol) && strcmp(vol, "fountvol") == 0);
	CU_ASSERT(!agent_peer_volume("\0003bbee328ca30c758/cryptsetup/", 30, vol));
	CU_ASSERT(!agent_peer_volume("/tmp/x/cryptsetup/fountvol", 26, vol));      /* not abstract */
	CU_ASSERT(!agent_peer_volume("\0003BBE/cryptsetup/v", 19, vol));            /* upper-case hex */
	CU_ASSERT(!agent_peer_volume("\0003bbe/cryptsetup-tpm2/v", 24, vol));       /* another token type */
	CU_ASSERT(!agent_peer_volume("\00012345678901234567/cryptsetup/v", 32, vol)); /* 17 digits */
	CU_ASSERT(!agent_peer_volume("\0003bbe/cryptsetup/a/b", 21, vol));
	CU_ASSERT(!agent_peer_volume("\0003bbe/cryptsetup/v\0", 20, vol));

	char body[256], id[AGENT_ID_MAX + 1];
	uint8_t m[64];
	size_t ml;
	int64_t le;
	unsigned ls;
	snprintf(body, sizeof body, "{\"id\":\"k1\",\"format\":\"raw\",\"lease_seconds\":60,\"lease_expires\":99,"
				    "\"material\":\"AAECAwQ=\"}");
	CU_ASSERT_EQUAL(agent_material(body, strlen(body), id, &le, &ls, m, sizeof m, &ml), ERR_OK);
	CU_ASSERT(ml == 5 && m[4] == 4 && le == 99 && ls == 60 && strcmp(id, "k1") == 0);
	CU_ASSERT_PTR_NULL(strstr(body, "AAECAwQ=")); /* wiped */
	snprintf(body, sizeof body, "{\"id\":\"k1\",\"material\":\"AAECAw==\"}");
	CU_ASSERT_EQUAL(agent_material(body, strlen(body), id, &le, &ls, m, sizeof m, &ml), ERR_OK);
	CU_ASSERT(ml == 4 && le == 0);
	const char *bad[] = {"{\"id\":\"k1\",\"material\":\"AAECAw=\"}", "{\"id\":\"k1\",\"material\":\"AA=CAw==\"}",
			     "{\"id\":\"k1\",\"material\":\"\"}", "{\"material\":\"AAECAw==\"}",
			     "{\"id\":\"k1\",\"lease_expires\":\"x\",\"material\":\"AAECAw==\"}",
			     "{\"id\":\"k1\",\"material\":\"AAEC*w==\"}", "{\"id\":\"k1\"}"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(body, sizeof body, "%s", bad[i]);
		CU_ASSERT_EQUAL(agent_material(body, strlen(body), id, &le, &ls, m, sizeof m, &ml), ERR_PARSE);
		CU_ASSERT_EQUAL(ml, 0);
	}
	/* more material than room */
	snprintf(body, sizeof body, "{\"id\":\"k1\",\"material\":\"AAECAwQFBgcICQoL\"}");
	CU_ASSERT_EQUAL(agent_material(body, strlen(body), id, &le, &ls, m, 8, &ml), ERR_PARSE);
}

/* one-line errors that name the fix, exit 2 */
static void test_usage_errors(void)
{
	char empty[200], bad[200];
	snprintf(empty, sizeof empty, "%s/empty.conf", dir);
	snprintf(bad, sizeof bad, "%s/bad.conf", dir);
	FILE *f = fopen(empty, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("[agent]\nservers = https://127.0.0.1:1\n", f);
	fclose(f);
	f = fopen(bad, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("[agent]\nservers = http://127.0.0.1:1\nca = /nonexistent\ncert = /nonexistent\n[agent.v]\nkey = k\n", f);
	fclose(f);
	struct {
		const char *conf, *extra, *want;
	} cases[] = {
		{empty, NULL, "no keys to keep: add an [agent.NAME] section"},
		{bad, NULL, "is not https://HOST[:PORT]"},
		{bad, "--server", "no server"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *argv[] = {testlib_fount_bin(), "-c", cases[i].conf, "agent", cases[i].extra, "", NULL};
		CU_ASSERT_EQUAL_FATAL(testlib_run(argv, NULL, NULL, res), 0);
		CU_ASSERT_EQUAL(res->status, 2);
		if (strstr(res->err, cases[i].want) == NULL)
			fprintf(stderr, "\n  agent: want '%s', got '%s'\n", cases[i].want, res->err);
		CU_ASSERT_PTR_NOT_NULL(strstr(res->err, cases[i].want));
		CU_ASSERT_PTR_NULL(strchr(res->err, '\n') != NULL ? strchr(strchr(res->err, '\n') + 1, '\n') : NULL);
	}
	const char *help[] = {testlib_fount_bin(), "agent", "--help", NULL};
	CU_ASSERT_EQUAL_FATAL(testlib_run(help, NULL, NULL, res), 0);
	CU_ASSERT(res->status == 0 && strstr(res->out, "usage: fount [-c FILE] agent") != NULL);
}

/* the keys as cryptsetup gets them, and in the keyring */
static void test_socket_and_keyring(void)
{
	const char *vols[] = {vol_a, vol_b, vol_c};
	for (int i = 0; i < 3; i++) {
		char want[64], key_id[80];
		/* the agent's log names the id it holds */
		char pat[64];
		snprintf(pat, sizeof pat, "%s: holding key ", vols[i]);
		CU_ASSERT_FATAL(testlib_wait_for_log(agent_log(), pat));
		const char *p = strstr(testlib_slurp(agent_log()), pat);
		CU_ASSERT_FATAL(p != NULL && sscanf(p + strlen(pat), "%79s", key_id) == 1);
		CU_ASSERT_FATAL(material(key_id, want, sizeof want));
		uint8_t got[128];
		ssize_t n = cryptsetup_read(vols[i], NULL, got, sizeof got);
		CU_ASSERT_EQUAL(n, 32);
		char gb[64];
		b64(got, n > 0 ? (size_t)n : 0, gb);
		CU_ASSERT_STRING_EQUAL(gb, want);
		if (have_keyring()) {
			char t[16];
			CU_ASSERT(keyring_line(vols[i], t));
			/* a timeout (seconds left), not "perm" */
			CU_ASSERT(t[0] >= '1' && t[0] <= '9' && t[strlen(t) - 1] == 's' && atoi(t) <= LEASE_S);
		}
	}
	/* not cryptsetup's name, an unknown volume: nothing */
	uint8_t got[64];
	CU_ASSERT_EQUAL(cryptsetup_read(NULL, "some-other-client", got, sizeof got), 0);
	CU_ASSERT_EQUAL(cryptsetup_read("nosuchvolume", NULL, got, sizeof got), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(testlib_slurp(agent_log()), "volume nosuchvolume is no [agent.NAME] key"));
	/* the first server of the list is down: the agent went on to the next */
	CU_ASSERT_PTR_NOT_NULL(strstr(testlib_slurp(agent_log()), "connected to https://localhost:"));
}

/* leases are renewed: past the first lease the key is still there */
static const char *held_id(const char *vol);

/* lease_end_of: whether res->out (an events answer) has a lease_end event
 * of |id| */
static bool lease_end_of(const char *id)
{
	char pat[160];
	snprintf(pat, sizeof pat, "\"kind\":\"lease_end\",\"id\":\"%s\"", id);
	return strstr(res->out, pat) != NULL;
}

/* The agent renews its leases: its keys outlive the lease. Meanwhile a
 * key fetched once (curl) and never renewed: the server records its
 * lease's end as an event (holder and certificate), within a second or two
 * of the end; the agent's renewed keys have none. */
static void test_lease_renewed(void)
{
	char id[80], path[160], pos[32] = "";
	CU_ASSERT_FATAL(create_key("once", id));
	CU_ASSERT_EQUAL(http("GET", "/v1/events?after=now", NULL), 200);
	const char *p = strstr(res->out, "id: ");
	if (p != NULL)
		snprintf(pos, sizeof pos, "%llu", strtoull(p + 4, NULL, 10));
	CU_ASSERT(pos[0] != '\0');
	char m[64];
	CU_ASSERT(material(id, m, sizeof m));
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* held until the next event: the lease's end (renewals make none) */
	snprintf(path, sizeof path, "/v1/events?after=%s&wait=20", pos);
	bool seen = false;
	for (int i = 0; i < 3 && !seen; i++)
		seen = http("GET", path, NULL) == 200 && lease_end_of(id);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	fprintf(stderr, "\n  lease_end event %.2f s after the Get (lease %d s) ", took, LEASE_S);
	CU_ASSERT(seen);
	if (took < LEASE_S + 2)
		usleep((useconds_t)((LEASE_S + 2 - took) * 1e6));
	uint8_t got[64];
	CU_ASSERT_EQUAL(cryptsetup_read(vol_a, NULL, got, sizeof got), 32);
	char t[16];
	if (have_keyring())
		CU_ASSERT(keyring_line(vol_a, t) && strcmp(t, "expd") != 0);
	CU_ASSERT_PTR_NULL(strstr(testlib_slurp(agent_log()), "lease renewal answered"));
	if (seen) {
		CU_ASSERT(took >= LEASE_S - 1 && took <= LEASE_S + 3);
		CU_ASSERT_PTR_NOT_NULL(strstr(res->out, "event: lease_end\n"));
		CU_ASSERT_PTR_NOT_NULL(strstr(res->out, "\"holder\":\""));
		const char *fp = strstr(res->out, "\"certificate_sha256\":\"");
		CU_ASSERT(fp != NULL && strspn(fp + 22, "0123456789abcdef") == 64);
		CU_ASSERT_FALSE(lease_end_of(held_id(vol_a)));
	}
}

static const char *held_id(const char *vol)
{
	static char id[80];
	char pat[64];
	snprintf(pat, sizeof pat, "%s: holding key ", vol);
	const char *log = testlib_slurp(agent_log()), *p = NULL;
	for (const char *q = log; q != NULL && (q = strstr(q, pat)) != NULL; q++)
		p = q; /* the last one */
	id[0] = '\0';
	if (p != NULL && sscanf(p + strlen(pat), "%79s", id) != 1)
		id[0] = '\0';
	return id;
}

/* holds counts the agent's "holding key" lines for |vol| */
static unsigned holds(const char *vol)
{
	char pat[64];
	snprintf(pat, sizeof pat, "%s: holding key ", vol);
	unsigned n = 0;
	for (const char *q = testlib_slurp(agent_log()); q != NULL && (q = strstr(q, pat)) != NULL; q++)
		n++;
	return n;
}

/* a KMIP Revoke (python3-pykmip): the hook runs within 2 s, the key is
 * gone from the keyring and the socket */
static void test_kmip_revoke(void)
{
	char id[80];
	snprintf(id, sizeof id, "%s", held_id(vol_a));
	CU_ASSERT_FATAL(id[0] != '\0');
	const char *argv[] = {"/usr/bin/python3", testlib_path("tests/interop/pykmip_revoke.py"), pykmip_conf, id, NULL};
	CU_ASSERT_EQUAL_FATAL(testlib_run(argv, NULL, NULL, res), 0);
	if (res->status != 0)
		fprintf(stderr, "\n  pykmip revoke: %s%s\n", res->out, res->err);
	CU_ASSERT_EQUAL_FATAL(res->status, 0);
	double revoked = strtod(res->out, NULL);
	CU_ASSERT_FATAL(wait_for_file(hook_file(vol_a), "\"event\":\"revoke\"", 10));
	/* the hook's stdin, then the time it ran */
	const char *h = testlib_slurp(hook_file(vol_a));
	char want[160];
	snprintf(want, sizeof want, "\"id\":\"%s\"", id);
	CU_ASSERT_PTR_NOT_NULL(strstr(h, want));
	CU_ASSERT_PTR_NOT_NULL(strstr(h, "\"state\":\"deactivated\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(h, "\"name\":"));
	const char *nl = strstr(h, "}\n");
	CU_ASSERT_FATAL(nl != NULL);
	double ran = 0;
	for (int i = 0; i < 40 && ran == 0; i++) {
		h = testlib_slurp(hook_file(vol_a));
		nl = strstr(h, "}\n\n");
		if (nl != NULL)
			ran = strtod(nl + 3, NULL);
		else
			usleep(50 * 1000);
	}
	CU_ASSERT(ran > 0 && ran - revoked < 2.0);
	fprintf(stderr, "\n  hook ran %.2f s after the KMIP Revoke was answered ", ran - revoked);
	/* no key material in the hook's input */
	CU_ASSERT_PTR_NULL(strstr(h, "material"));
	if (have_keyring()) {
		char t[16];
		CU_ASSERT(!keyring_line(vol_a, t));
	}
	uint8_t got[64];
	CU_ASSERT_EQUAL(cryptsetup_read(vol_a, NULL, got, sizeof got), 0);
}

/* rekey: the new key is served, the hook gets both ids */
static void test_rekey(void)
{
	char old[80], path[160], nid[80], want[64];
	snprintf(old, sizeof old, "%s", held_id(vol_b));
	CU_ASSERT_FATAL(old[0] != '\0');
	snprintf(path, sizeof path, "/v1/keys/%s/rekey", old);
	CU_ASSERT_EQUAL_FATAL(http("POST", path, "{}"), 201);
	CU_ASSERT_FATAL(json_str("id", nid, sizeof nid));
	CU_ASSERT_FATAL(wait_for_file(hook_file(vol_b), "\"event\":\"rekey\"", 10));
	const char *h = testlib_slurp(hook_file(vol_b));
	char a[160], b[160];
	snprintf(a, sizeof a, "\"id\":\"%s\"", old);
	snprintf(b, sizeof b, "\"new_id\":\"%s\"", nid);
	CU_ASSERT(strstr(h, a) != NULL && strstr(h, b) != NULL);
	CU_ASSERT_FATAL(material(nid, want, sizeof want));
	uint8_t got[64];
	char gb[64];
	ssize_t n = cryptsetup_read(vol_b, NULL, got, sizeof got);
	CU_ASSERT_EQUAL(n, 32);
	b64(got, n > 0 ? (size_t)n : 0, gb);
	CU_ASSERT_STRING_EQUAL(gb, want);
}

/* a LUKS2 volume on a loop file whose passphrase is the key the agent
 * serves: the socket's bytes unlock its keyslot (cryptsetup
 * --test-passphrase; a wrong key does not), and systemd-cryptsetup itself
 * reads them from the socket. Activation needs device-mapper: where the
 * machine has none, that step is reported, not claimed. */
#define CRYPTSETUP "/sbin/cryptsetup"
#define SYSTEMD_CRYPTSETUP "/lib/systemd/systemd-cryptsetup"
static void test_luks_volume(void)
{
	if (access(CRYPTSETUP, X_OK) != 0) {
		fprintf(stderr, "\n  agent: no %s (Debian package cryptsetup-bin; make deps installs it) ", CRYPTSETUP);
		CU_FAIL("cryptsetup is missing");
		return;
	}
	uint8_t key[64];
	ssize_t n = cryptsetup_read(vol_b, NULL, key, sizeof key);
	CU_ASSERT_EQUAL_FATAL(n, 32);
	char kf[200], wrong[200], img[200];
	snprintf(kf, sizeof kf, "%s/luks.key", dir);
	snprintf(wrong, sizeof wrong, "%s/wrong.key", dir);
	snprintf(img, sizeof img, "%s/luks.img", dir);
	FILE *f = fopen(kf, "w");
	CU_ASSERT_FATAL(f != NULL && fwrite(key, 1, 32, f) == 32);
	fclose(f);
	key[0] ^= 1;
	f = fopen(wrong, "w");
	CU_ASSERT_FATAL(f != NULL && fwrite(key, 1, 32, f) == 32);
	fclose(f);
	secure_zero(key, sizeof key);
	char cmd[1024];
	snprintf(cmd, sizeof cmd,
		 "truncate -s 20M '%s' && " CRYPTSETUP " luksFormat --type luks2 --batch-mode --pbkdf pbkdf2 "
		 "--pbkdf-force-iterations 1000 --key-file '%s' '%s' 2>>'%s/luks.log'",
		 img, kf, img, dir);
	CU_ASSERT_EQUAL_FATAL(testlib_sh(cmd), 0);
	snprintf(cmd, sizeof cmd, CRYPTSETUP " open --test-passphrase --key-file '%s' '%s' 2>>'%s/luks.log'", kf, img, dir);
	CU_ASSERT_EQUAL(testlib_sh(cmd), 0);
	snprintf(cmd, sizeof cmd, CRYPTSETUP " open --test-passphrase --key-file '%s' '%s' 2>>'%s/luks.log'", wrong, img, dir);
	CU_ASSERT_NOT_EQUAL(testlib_sh(cmd), 0);
	if (access(SYSTEMD_CRYPTSETUP, X_OK) != 0) {
		fprintf(stderr, "\n  agent: no %s: the real client not run ", SYSTEMD_CRYPTSETUP);
		return;
	}
	/* the real client, with the crypttab line's fields */
	unsigned before = 0;
	char pat[80];
	snprintf(pat, sizeof pat, "socket: volume %s: key ", vol_b);
	for (const char *q = testlib_slurp(agent_log()); q != NULL && (q = strstr(q, pat)) != NULL; q++)
		before++;
	const char *argv[] = {SYSTEMD_CRYPTSETUP, "attach", vol_b, img, sock, "luks", NULL};
	CU_ASSERT_EQUAL_FATAL(testlib_run(argv, NULL, NULL, res), 0);
	unsigned after = 0;
	for (const char *q = testlib_slurp(agent_log()); q != NULL && (q = strstr(q, pat)) != NULL; q++)
		after++;
	CU_ASSERT_EQUAL(after, before + 1); /* systemd-cryptsetup's peer name named the volume */
	if (res->status == 0) {
		char mapper[128];
		snprintf(mapper, sizeof mapper, "/dev/mapper/%s", vol_b);
		CU_ASSERT_EQUAL(access(mapper, F_OK), 0);
		const char *detach[] = {SYSTEMD_CRYPTSETUP, "detach", vol_b, NULL};
		CU_ASSERT_EQUAL(testlib_run(detach, NULL, NULL, res), 0);
		fprintf(stderr, "\n  agent: systemd-cryptsetup opened the LUKS2 volume with the key from the socket ");
	} else {
		CU_ASSERT_PTR_NOT_NULL(strstr(res->err, "device-mapper"));
		fprintf(stderr, "\n  agent: systemd-cryptsetup read the key from the socket; no device-mapper here, so "
				"the volume was not activated (keyslot unlocked by cryptsetup --test-passphrase) ");
	}
}

/* the agent stops; a key is revoked meanwhile; the restarted agent runs
 * the hook (the last event handled was kept) */
static void test_agent_restart(void)
{
	char id[80], path[160];
	snprintf(id, sizeof id, "%s", held_id(vol_c));
	CU_ASSERT_FATAL(id[0] != '\0');
	stop(&agent_pid);
	snprintf(path, sizeof path, "/v1/keys/%s/revoke", id);
	CU_ASSERT_EQUAL(http("POST", path, "{\"reason\":\"superseded\"}"), 200);
	CU_ASSERT_EQUAL_FATAL(start_agent(), 0);
	CU_ASSERT(wait_for_file(hook_file(vol_c), "\"event\":\"revoke\"", 10));
	CU_ASSERT_PTR_NOT_NULL(strstr(testlib_slurp(agent_log()), "resuming events after"));
	/* the revoked key is not served */
	uint8_t got[64];
	CU_ASSERT_EQUAL(cryptsetup_read(vol_c, NULL, got, sizeof got), 0);
	/* and the earlier events were not replayed: one rekey hook only */
	const char *h = testlib_slurp(hook_file(vol_b));
	const char *first = strstr(h, "\"event\":\"rekey\"");
	CU_ASSERT(first != NULL && strstr(first + 1, "\"event\":\"rekey\"") == NULL);
}

/* the server stops mid-stream: the key is kept while its lease lasts,
 * dropped when it ends (hook "lease_end"); the server comes back, the key
 * is fetched again and a revoke made then still reaches the hook */
static void test_server_loss(void)
{
	uint8_t got[64];
	unsigned before = holds(vol_b);
	/* beside it, a second agent with keep_after_lease = on, no keyring and
	 * a hook that fails */
	char vol_d[32], id_d[80], kconf[128], ksock[128], kstate[128], klog[128];
	snprintf(vol_d, sizeof vol_d, "td%d", (int)getpid());
	snprintf(kconf, sizeof kconf, "%s/keeper.conf", dir);
	snprintf(ksock, sizeof ksock, "%s/keeper.sock", dir);
	snprintf(kstate, sizeof kstate, "%s/keeper", dir);
	snprintf(klog, sizeof klog, "%s/keeper.log", dir);
	CU_ASSERT_FATAL(create_key(vol_d, id_d));
	FILE *f = fopen(kconf, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fprintf(f,
		"[agent]\nservers = https://localhost:%u\nca = %s/ca.pem\ncert = %s/clients/default.pem\n"
		"key = %s/clients/default.key\nsocket = %s\nkeyring = off\nkeep_after_lease = on\n"
		"[agent.%s]\nkey = %s\nhook = exit 3\n",
		port, pki, pki, pki, ksock, vol_d, vol_d);
	fclose(f);
	static char env_state[256];
	snprintf(env_state, sizeof env_state, "FOUNT_SERVICE_STATE_DIR=%s", kstate);
	const char *env[] = {env_state, testlib_fips_dir_env(), NULL};
	const char *argv[] = {testlib_fount_bin(), "-c", kconf, "agent", NULL};
	int keeper = testlib_spawn(klog, argv, env);
	char pat[160];
	snprintf(pat, sizeof pat, "%s: holding key %s", vol_d, id_d);
	CU_ASSERT(keeper > 0 && testlib_wait_for_log(klog, pat));
	CU_ASSERT_PTR_NULL(strstr(testlib_slurp(klog), "in the user keyring"));
	stop(&serve_pid);
	CU_ASSERT(testlib_wait_for_log(agent_log(), "no server reachable"));
	CU_ASSERT_EQUAL(cryptsetup_read(vol_b, NULL, got, sizeof got), 32); /* leased: still served */
	CU_ASSERT(wait_for_file(hook_file(vol_b), "\"event\":\"lease_end\"", LEASE_S + 4));
	CU_ASSERT_PTR_NOT_NULL(strstr(testlib_slurp(agent_log()), "ended with no server reachable: dropped"));
	CU_ASSERT_EQUAL(cryptsetup_read(vol_b, NULL, got, sizeof got) > 0, false);
	if (have_keyring()) {
		char t[16];
		CU_ASSERT(!keyring_line(vol_b, t));
	}
	/* the keeper kept its key past the lease */
	CU_ASSERT(testlib_wait_for_log(klog, "ended with no server reachable: kept (keep_after_lease = on)"));
	CU_ASSERT_EQUAL(cryptsetup_read_at(ksock, vol_d, NULL, got, sizeof got), 32);
	CU_ASSERT_EQUAL_FATAL(start_serve(), 0);
	CU_ASSERT(testlib_wait_for_log(agent_log(), "connected to https://"));
	/* a revoke reaches the keeper too; its hook fails, and it says so */
	char kpath[160];
	snprintf(kpath, sizeof kpath, "/v1/keys/%s/revoke", id_d);
	CU_ASSERT_EQUAL(http("POST", kpath, "{\"reason\":\"superseded\"}"), 200);
	snprintf(pat, sizeof pat, "hook for %s (revoke) failed: exit status 3", vol_d);
	CU_ASSERT(testlib_wait_for_log(klog, pat));
	CU_ASSERT_EQUAL(cryptsetup_read_at(ksock, vol_d, NULL, got, sizeof got), 0);
	stop(&keeper);
	for (int i = 0; i < 100 && holds(vol_b) < before + 1; i++)
		usleep(100 * 1000);
	CU_ASSERT_EQUAL(holds(vol_b), before + 1);
	CU_ASSERT_EQUAL(cryptsetup_read(vol_b, NULL, got, sizeof got), 32);
	/* a revoke after the restart reaches the hook */
	char id[80], path[160];
	snprintf(id, sizeof id, "%s", held_id(vol_b));
	snprintf(path, sizeof path, "/v1/keys/%s/revoke", id);
	CU_ASSERT_EQUAL(http("POST", path, "{\"reason\":\"superseded\"}"), 200);
	CU_ASSERT(wait_for_file(hook_file(vol_b), "\"event\":\"revoke\"", 10));
}

/* the Prometheus text file of the agent run since test_agent_restart */
static void test_metrics_file(void)
{
	char path[128], why[256];
	snprintf(path, sizeof path, "%s/agent.prom", dir);
	const char *t = NULL;
	double v = 0;
	/* written after the agent's next round */
	for (int i = 0; i < 100; i++) {
		t = testlib_slurp(path);
		if (t != NULL && promtext_value(t, "fount_agent_hooks_total{result=\"ok\"}", &v) && v >= 3)
			break;
		usleep(100 * 1000);
	}
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	bool ok = promtext_check(t, why, sizeof why);
	if (!ok)
		fprintf(stderr, "\n  %s\n", why);
	CU_ASSERT(ok);
	/* the revoke replayed on start, the lease end, the revoke after the server came back */
	CU_ASSERT(promtext_value(t, "fount_agent_hooks_total{result=\"ok\"}", &v) && v >= 3);
	CU_ASSERT(promtext_value(t, "fount_agent_requests_total{result=\"sent\"}", &v) && v >= 2);
	CU_ASSERT(promtext_value(t, "fount_agent_keys_dropped_total{reason=\"lease_end\"}", &v) && v == 1);
	CU_ASSERT(promtext_value(t, "fount_agent_keys_dropped_total{reason=\"event\"}", &v) && v == 1);
	CU_ASSERT(promtext_value(t, "fount_agent_keys{state=\"configured\"}", &v) && v == 3);
	CU_ASSERT(promtext_value(t, "fount_agent_keys{state=\"held\"}", &v) && v == 0);
	CU_ASSERT(promtext_value(t, "fount_agent_server_up", &v) && v == 1);
	CU_ASSERT(promtext_value(t, "fount_agent_last_event", &v) && v > 0);
}

TEST_SUITE(agent, suite_init, suite_clean, TEST(test_parsers), TEST(test_usage_errors), TEST(test_socket_and_keyring),
	   TEST(test_lease_renewed), TEST(test_kmip_revoke), TEST(test_rekey), TEST(test_luks_volume), TEST(test_agent_restart),
	   TEST(test_server_loss), TEST(test_metrics_file))
