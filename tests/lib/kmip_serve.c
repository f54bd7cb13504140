/* tests/lib/kmip_serve.c — support code, no test cases: `fount serve` for
 * the KMIP suites (kmip_serve.h),
 * spawned as tests/test_pykmip.c does. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "tests/helpers.h"
#include "tests/lib/kmip_serve.h"

/* conf_get copies the value of "key=" in the pykmip.conf text */
static int conf_get(const char *text, const char *key, char *out, size_t n)
{
	char pat[32];
	snprintf(pat, sizeof pat, "\n%s=", key);
	const char *p = strstr(text, pat);
	if (p == NULL)
		return -1;
	p += strlen(pat);
	size_t l = strcspn(p, "\r\n");
	if (l == 0 || l >= n)
		return -1;
	memcpy(out, p, l);
	out[l] = '\0';
	return 0;
}

/* spawn runs `fount serve` with the server's environment and waits for
 * its KMIP listener */
static int spawn(struct kmip_serve *s, const char *tag)
{
	const char *env[KMIP_SERVE_ENV_MAX + 1] = {0};
	size_t n = 0;
	for (; n < KMIP_SERVE_ENV_MAX && s->env[n][0] != '\0'; n++)
		env[n] = s->env[n];
	const char *argv[] = {testlib_fount_bin(), "serve", NULL};
	snprintf(s->log, sizeof s->log, "%s/serve-%u.log", s->dir, s->spawns++);
	s->pid = testlib_spawn(s->log, argv, env);
	if (s->pid < 0 || !testlib_wait_for_log(s->log, "KMIP listening on")) {
		fprintf(stderr, "%s: fount serve did not start: %s\n", tag, testlib_slurp(s->log));
		return -1;
	}
	return 0;
}

int kmip_serve_start(struct kmip_serve *s, const char *tag)
{
	return kmip_serve_start_with(s, tag, NULL);
}

int kmip_serve_start_with(struct kmip_serve *s, const char *tag, const struct kmip_serve_options *o)
{
	memset(s, 0, sizeof *s);
	s->pid = -1;
	if (testlib_tmpdir_create(s->dir, tag) != 0)
		return -1;
	s->port = testlib_free_port();
	size_t n = 0;
	snprintf(s->env[n++], sizeof s->env[0], "FOUNT_SERVICE_STATE_DIR=%s/state", s->dir);
	snprintf(s->env[n++], sizeof s->env[0], "FOUNT_KMIP_LISTEN=127.0.0.1:%u", s->port);
	snprintf(s->env[n++], sizeof s->env[0], "%s", testlib_fips_dir_env());
	/* no HTTPS on 0.0.0.0:8443 nor EGD socket (the defaults), which two
	 * servers, or a test and an installed fount, would fight over; tests/
	 * main.c sets the same, the benchmark does not */
	snprintf(s->env[n++], sizeof s->env[0], "FOUNT_HTTP_LISTEN=off");
	snprintf(s->env[n++], sizeof s->env[0], "FOUNT_EGD_SOCKET=");
	if (o != NULL && o->http) {
		s->http_port = testlib_free_port();
		snprintf(s->env[n++], sizeof s->env[0], "FOUNT_HTTP_PLAIN_LISTEN=127.0.0.1:%u", s->http_port);
	}
	for (size_t i = 0; o != NULL && o->env != NULL && o->env[i] != NULL; i++) {
		if (n == KMIP_SERVE_ENV_MAX) {
			fprintf(stderr, "%s: too much environment for fount serve\n", tag);
			return -1;
		}
		snprintf(s->env[n++], sizeof s->env[0], "%s", o->env[i]);
	}
	if (o != NULL && o->like != NULL) {
		/* the other node's PKI and KEK, as README's "Running several
		 * nodes" has an operator copy them */
		char cmd[400];
		snprintf(cmd, sizeof cmd, "mkdir -m 0700 %s/state && cp -a %s/state/pki %s/state/store.kek %s/state/",
			 s->dir, o->like->dir, o->like->dir, s->dir);
		if (testlib_sh(cmd) != 0) {
			fprintf(stderr, "%s: cannot copy %s/state\n", tag, o->like->dir);
			return -1;
		}
	}
	if (spawn(s, tag) != 0)
		return -1;
	char conf[160];
	snprintf(conf, sizeof conf, "%s/state/pki/clients/pykmip.conf", s->dir);
	const char *text = testlib_slurp(conf);
	if (text == NULL || conf_get(text, "certfile", s->cert, sizeof s->cert) != 0 ||
	    conf_get(text, "keyfile", s->key, sizeof s->key) != 0 ||
	    conf_get(text, "ca_certs", s->ca, sizeof s->ca) != 0) {
		fprintf(stderr, "%s: no client certificate in %s\n", tag, conf);
		return -1;
	}
	return 0;
}

void kmip_serve_kill(struct kmip_serve *s, int sig)
{
	if (s->pid > 0) {
		kill(s->pid, sig);
		waitpid(s->pid, NULL, 0);
	}
	s->pid = -1;
}

int kmip_serve_restart(struct kmip_serve *s)
{
	kmip_serve_kill(s, SIGTERM);
	return spawn(s, s->dir);
}

struct kmipc_options kmip_serve_opts(const struct kmip_serve *s, int timeout_ms)
{
	return (struct kmipc_options){.port = s->port, .ca_file = s->ca, .cert_file = s->cert, .key_file = s->key,
				      .timeout_ms = timeout_ms};
}

void kmip_serve_stop(struct kmip_serve *s)
{
	kmip_serve_kill(s, SIGTERM);
	if (s->dir[0] != '\0')
		testlib_tmpdir_remove(s->dir);
	s->dir[0] = '\0';
}

int kmip_serve_issue(const struct kmip_serve *s, const char *tenant, char cert[256], char key[256])
{
	char env_state[128];
	snprintf(env_state, sizeof env_state, "FOUNT_SERVICE_STATE_DIR=%s/state", s->dir);
	const char *env[] = {env_state, testlib_fips_dir_env(), NULL};
	const char *argv[] = {testlib_fount_bin(), "ca", "issue", "--tenant", tenant, NULL};
	struct run_result *res = calloc(1, sizeof *res);
	if (res == NULL)
		return -1;
	int rc = testlib_run(argv, env, NULL, res) == 0 && res->status == 0 ? 0 : -1;
	if (rc != 0)
		fprintf(stderr, "fount ca issue --tenant %s: %s%s\n", tenant, res->out, res->err);
	free(res);
	snprintf(cert, 256, "%s/state/pki/clients/%s.pem", s->dir, tenant);
	snprintf(key, 256, "%s/state/pki/clients/%s.key", s->dir, tenant);
	return rc;
}

struct kmipc *kmip_serve_client(const struct kmip_serve *s)
{
	return kmip_serve_client_as(s, s->cert, s->key);
}

struct kmipc *kmip_serve_client_as(const struct kmip_serve *s, const char *cert, const char *key)
{
	struct kmipc_options o = {.port = s->port, .ca_file = s->ca, .cert_file = cert, .key_file = key,
				  .timeout_ms = 10000};
	char why[512] = "";
	struct kmipc *c = kmipc_new(&o, why, sizeof why);
	if (c != NULL && kmipc_connect(c, why, sizeof why) == ERR_OK)
		return c;
	fprintf(stderr, "\n  kmipc: %s\n", why);
	kmipc_free(c);
	return NULL;
}

/* flag reads a JSON boolean as 1 or 0, -1 when it is not one */
static int flag(const json_t *v)
{
	return json_is_boolean(v) ? json_is_true(v) : -1;
}

int kmip_serve_health(unsigned http_port, struct kmip_serve_health *out)
{
	*out = (struct kmip_serve_health){-1, -1, -1};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)http_port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	struct timeval tv = {5, 0};
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	static const char rq[] = "GET /v1/health HTTP/1.1\r\nHost: fount\r\nConnection: close\r\n\r\n";
	char *buf = malloc(1 << 16);
	size_t len = 0;
	if (buf == NULL || connect(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    write(fd, rq, sizeof rq - 1) != (ssize_t)(sizeof rq - 1)) {
		free(buf);
		close(fd);
		return -1;
	}
	for (ssize_t n; len < (1 << 16) - 1 && (n = read(fd, buf + len, (1 << 16) - 1 - len)) > 0;)
		len += (size_t)n;
	close(fd);
	buf[len] = '\0';
	int status = -1;
	if (sscanf(buf, "HTTP/1.1 %d", &status) == 1) {
		const char *body = strstr(buf, "\r\n\r\n");
		json_t *j = body != NULL ? json_loads(body + 4, 0, NULL) : NULL;
		const json_t *st = json_object_get(j, "store");
		out->reachable = flag(json_object_get(st, "reachable"));
		out->writable = flag(json_object_get(st, "writable"));
		json_decref(j);
	}
	free(buf);
	out->status = status;
	return status;
}
