/* api/agent.c — `fount agent`: the keys a host got from a fount server stay
 * under the server's control.
 *
 * One thread talks to the server (HTTPS, the host's client certificate,
 * the servers tried in order): it fetches each managed key
 * (GET /v1/keys/{id}/material), renews its lease at half time
 * (POST /v1/keys/{id}/lease), and follows GET /v1/events (long-poll SSE,
 * resumed from the last event it handled, kept in a state file across
 * restarts). Revoke, compromise and destroy of a managed key drop it (from
 * memory and the keyring) and run its hook; rekey fetches the replacement
 * and runs the hook with both ids. With no server reachable a key is kept
 * until its lease ends, then dropped (the hook runs with "lease_end"),
 * unless keep_after_lease.
 *
 * A second thread accepts systemd-cryptsetup's connections, each served on
 * a thread of its own (at most 16 at once) (vm-entropy.md §3.1): crypttab's
 * key file may be an AF_UNIX stream socket; the client binds the abstract
 * name "\0<hex>/cryptsetup/<volume>", connects, shuts its write side and
 * reads to EOF. The agent answers a root peer (SO_PEERCRED) whose volume
 * is a managed key it holds with the key's bytes, exactly, and closes;
 * anything else is closed with nothing sent. It never reads a request.
 *
 * Keys live in secure memory; with keyring on, also as logon keys
 * "fount:NAME" in the user keyring (not readable from user space; kernel
 * consumers only) with a timeout at the lease's end (keyrings(7)). Hooks
 * get the event as JSON on stdin, never the key; argv is the hook command
 * and the environment only PATH. */
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "api/agent.h"
#include "api/api.h"
#include "api/https_client.h"
#include "api/internal.h"

CSP_USE("Symmetric keys", "keys fount agent holds for its host: locked memory and logon keys in the kernel keyring, dropped at revoke or lease end");

#define WHY(...) (void)snprintf(why, why_len, __VA_ARGS__)
#define AGENT_MATERIAL_MAX 8192u          /* the largest key kept (an RSA-4096 private key in DER is ~2.4 KiB) */
#define AGENT_BODY_MAX (256u * 1024u)     /* the largest answer read (an events page: 100 events) */
#define AGENT_EVENTS_WAIT 25u             /* s, a held GET /v1/events */
#define AGENT_HOOK_TIMEOUT_S 60           /* a hook still running then is killed */
#define AGENT_SOCKET_WAIT_S 30            /* a cryptsetup request waits this long for a key still being fetched */
#define AGENT_SSE_LINE_MAX 4096u

/* ---- the pure parsers (fuzzed: fuzz/fuzz_agent.c) -------------------------------- */

static bool parse_u64(const char *s, size_t n, uint64_t *out)
{
	if (n == 0 || n > 19)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return true;
}

static void copy_field(char *dst, size_t cap, const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;
	if (n >= cap)
		n = 0; /* longer than any fount writes: none */
	memcpy(dst, s != NULL ? s : "", n);
	dst[n] = '\0';
}

static bool event_data(const char *d, size_t n, struct agent_event *e)
{
	json_error_t je;
	json_t *j = json_loadb(d, n, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(j)) {
		json_decref(j);
		return false;
	}
	const char *kind = json_string_value(json_object_get(j, "kind"));
	const char *id = json_string_value(json_object_get(j, "id"));
	bool ok = kind != NULL && id != NULL && strlen(kind) < sizeof e->kind && strlen(id) <= AGENT_ID_MAX && id[0] != '\0';
	if (ok) {
		copy_field(e->kind, sizeof e->kind, kind);
		copy_field(e->id, sizeof e->id, id);
		copy_field(e->new_id, sizeof e->new_id, json_string_value(json_object_get(j, "new_id")));
		copy_field(e->state, sizeof e->state, json_string_value(json_object_get(j, "state")));
		json_t *t = json_object_get(j, "time");
		e->time = json_is_integer(t) ? (int64_t)json_integer_value(t) : 0;
		e->has_data = true;
	}
	json_decref(j);
	return ok;
}

int agent_sse_next(const char *b, size_t len, size_t *off, struct agent_event *e)
{
	memset(e, 0, sizeof *e);
	bool any = false, bad = false;
	size_t i = *off;
	while (i < len) {
		const char *nl = memchr(b + i, '\n', len - i);
		size_t end = nl != NULL ? (size_t)(nl - b) : len;
		size_t n = end - i;
		const char *line = b + i;
		i = nl != NULL ? end + 1 : len;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if (n == 0) {
			if (any)
				break; /* the blank line ends the block */
			continue;
		}
		any = true;
		if (n > AGENT_SSE_LINE_MAX || line[0] == ':') {
			bad = bad || n > AGENT_SSE_LINE_MAX;
			continue;
		}
		const char *colon = memchr(line, ':', n);
		size_t fn = colon != NULL ? (size_t)(colon - line) : n;
		const char *v = colon != NULL ? colon + 1 : line + n;
		size_t vn = colon != NULL ? n - fn - 1 : 0;
		if (vn > 0 && v[0] == ' ')
			v++, vn--;
		if (fn == 2 && memcmp(line, "id", 2) == 0)
			bad = bad || !parse_u64(v, vn, &e->seq);
		else if (fn == 4 && memcmp(line, "data", 4) == 0)
			bad = bad || !event_data(v, vn, e);
		else if (fn == 5 && memcmp(line, "event", 5) == 0) {
			if (vn >= sizeof e->kind)
				bad = true;
		} else if (!(fn == 5 && memcmp(line, "retry", 5) == 0))
			bad = true;
	}
	*off = i;
	if (!any)
		return 0;
	return bad ? -1 : 1;
}

bool agent_peer_volume(const char *path, size_t len, char volume[AGENT_NAME_MAX])
{
	volume[0] = '\0';
	/* "\0" + 1..16 lower-case hex digits + "/cryptsetup/" + the volume */
	if (len < 2 || path[0] != '\0')
		return false;
	size_t i = 1, h = 0;
	while (i < len && ((path[i] >= '0' && path[i] <= '9') || (path[i] >= 'a' && path[i] <= 'f')))
		i++, h++;
	static const char mid[] = "/cryptsetup/";
	if (h == 0 || h > 16 || len - i <= sizeof mid - 1 || memcmp(path + i, mid, sizeof mid - 1) != 0)
		return false;
	i += sizeof mid - 1;
	size_t vn = len - i;
	if (vn >= AGENT_NAME_MAX)
		return false;
	for (size_t k = 0; k < vn; k++) {
		char c = path[i + k];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '.'))
			return false;
	}
	memcpy(volume, path + i, vn);
	volume[vn] = '\0';
	return true;
}

err_t agent_material(char *body, size_t len, char id[AGENT_ID_MAX + 1], int64_t *lease_end, unsigned *lease_s,
		     uint8_t *m, size_t cap, size_t *m_len)
{
	static const char tag[] = "\"material\":\"";
	id[0] = '\0';
	*lease_end = 0;
	*lease_s = 0;
	*m_len = 0;
	char *p = memmem(body, len, tag, sizeof tag - 1);
	if (p == NULL)
		return ERR_PARSE;
	char *s = p + sizeof tag - 1;
	char *q = memchr(s, '"', len - (size_t)(s - body));
	if (q == NULL)
		return ERR_PARSE;
	size_t bn = (size_t)(q - s);
	if (bn == 0 || bn % 4 != 0 || bn / 4 * 3 > cap)
		return ERR_PARSE;
	for (size_t i = 0; i < bn; i++) {
		char c = s[i];
		bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
			  c == '/' || (c == '=' && i >= bn - 2);
		if (!ok || (c != '=' && i > 0 && s[i - 1] == '='))
			return ERR_PARSE;
	}
	int k = EVP_DecodeBlock(m, (const unsigned char *)s, (int)bn);
	size_t pad = (size_t)(s[bn - 1] == '=') + (size_t)(s[bn - 2] == '=');
	memset(s, 'A', bn); /* the key's base64 goes no further */
	if (k < 0 || (size_t)k < pad) {
		secure_zero(m, cap);
		return ERR_PARSE;
	}
	*m_len = (size_t)k - pad;
	json_error_t je;
	json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	const char *jid = json_is_object(j) ? json_string_value(json_object_get(j, "id")) : NULL;
	json_t *le = json_is_object(j) ? json_object_get(j, "lease_expires") : NULL;
	json_t *ls = json_is_object(j) ? json_object_get(j, "lease_seconds") : NULL;
	err_t r = ERR_OK;
	if (jid == NULL || jid[0] == '\0' || strlen(jid) > AGENT_ID_MAX || (le != NULL && !json_is_integer(le)) ||
	    (ls != NULL && (!json_is_integer(ls) || json_integer_value(ls) < 0 || json_integer_value(ls) > 31536000)))
		r = ERR_PARSE;
	else {
		copy_field(id, AGENT_ID_MAX + 1, jid);
		*lease_end = le != NULL ? (int64_t)json_integer_value(le) : 0;
		*lease_s = ls != NULL ? (unsigned)json_integer_value(ls) : 0;
	}
	json_decref(j);
	if (r != ERR_OK) {
		secure_zero(m, cap);
		*m_len = 0;
	}
	return r;
}

/* ---- the agent's state --------------------------------------------------------------- */

enum akey_state {
	AK_WANTED, /* not held: fetch it */
	AK_HELD,   /* in memory (and the keyring) */
	AK_GONE,   /* revoked, compromised or destroyed on the server: never fetched again */
};

struct akey {
	const struct api_agent_key *conf;
	char id[AGENT_ID_MAX + 1]; /* the server's id ("" until the first fetch names it) */
	enum akey_state st;
	uint8_t *mat; /* AGENT_MATERIAL_MAX bytes of secure memory */
	size_t mat_len;
	int64_t lease_end; /* unix time */
	unsigned lease_s;
	int32_t serial; /* the keyring key, 0 = none */
	time_t next_try; /* AK_WANTED: not before */
};

struct agent {
	const struct api_agent_options *o;
	volatile sig_atomic_t *stop;
	pthread_mutex_t mu; /* keys[].st, mat, mat_len */
	pthread_cond_t cv;  /* a key became held */
	struct akey *keys;
	uint64_t seq;     /* the last event handled */
	bool have_seq;
	bool saved; /* a->seq is in the state file */
	struct https_conn c;
	bool connected;
	size_t server;    /* index into the list of the one in use */
	bool unreachable; /* said so in the log */
	uint8_t *body;    /* AGENT_BODY_MAX, secure (material answers) */
	int listen_fd;
	struct api_agent_stats st; /* under mu */
	unsigned serving;          /* socket connections being served, under mu */
};

#define COUNT(a, field)                                                        \
	do {                                                                   \
		pthread_mutex_lock(&(a)->mu);                                  \
		(a)->st.field++;                                               \
		pthread_mutex_unlock(&(a)->mu);                                \
	} while (0)

/* ---- the kernel keyring ---------------------------------------------------------------- */

static int32_t keyring_put(const char *name, const uint8_t *m, size_t n, int64_t lease_end)
{
	char desc[AGENT_NAME_MAX + 8];
	snprintf(desc, sizeof desc, "fount:%s", name);
	/* the same description in the same keyring updates the payload */
	long id = syscall(SYS_add_key, "logon", desc, m, n, KEY_SPEC_USER_KEYRING);
	if (id < 0) {
		log_warn("keyring: cannot add %s: %s (the key stays in the agent's locked memory only)", desc,
			 strerror(errno));
		return 0;
	}
	int64_t left = lease_end - (int64_t)time(NULL);
	if (lease_end != 0 && syscall(SYS_keyctl, KEYCTL_SET_TIMEOUT, id, (unsigned)(left > 1 ? left : 1)) != 0)
		log_warn("keyring: cannot set the timeout of %s: %s", desc, strerror(errno));
	return (int32_t)id;
}

static void keyring_timeout(int32_t serial, int64_t lease_end)
{
	int64_t left = lease_end - (int64_t)time(NULL);
	if (serial != 0)
		(void)syscall(SYS_keyctl, KEYCTL_SET_TIMEOUT, serial, (unsigned)(left > 1 ? left : 1));
}

static void keyring_drop(int32_t serial)
{
	if (serial == 0)
		return;
	/* invalidated keys are collected at once; an expired one cannot be
	 * invalidated (EKEYEXPIRED) but can be unlinked, which frees it too */
	if (syscall(SYS_keyctl, KEYCTL_INVALIDATE, serial) != 0 &&
	    syscall(SYS_keyctl, KEYCTL_UNLINK, serial, KEY_SPEC_USER_KEYRING) != 0 && errno != ENOKEY)
		log_warn("keyring: cannot remove key %d: %s", (int)serial, strerror(errno));
}

/* ---- hooks ---------------------------------------------------------------------------- */

/* run_hook runs |k|'s hook with |event| as JSON on stdin and waits for it
 * (at most AGENT_HOOK_TIMEOUT_S). */
static void run_hook(struct agent *a, const struct akey *k, json_t *event)
{
	char *text = json_dumps(event, JSON_COMPACT);
	const char *hook = k->conf->hook;
	const char *kind = json_string_value(json_object_get(event, "event"));
	if (hook == NULL || hook[0] == '\0' || text == NULL) {
		free(text);
		return;
	}
	/* argv and the environment made before fork: the child only execs */
	char sh[] = "sh", dash_c[] = "-c", path_env[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	char cmd[1024];
	if (strlen(hook) >= sizeof cmd) {
		log_error("hook for %s: the command is longer than %zu bytes", k->conf->name, sizeof cmd - 1);
		free(text);
		return;
	}
	memcpy(cmd, hook, strlen(hook) + 1);
	char *const argv[] = {sh, dash_c, cmd, NULL};
	char *const envp[] = {path_env, NULL};
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0) {
		log_error("hook for %s: pipe: %s", k->conf->name, strerror(errno));
		free(text);
		return;
	}
	pid_t pid = fork();
	if (pid < 0) {
		log_error("hook for %s: fork: %s", k->conf->name, strerror(errno));
		close(p[0]);
		close(p[1]);
		free(text);
		return;
	}
	if (pid == 0) {
		/* the child: stdin from the pipe, stdout and stderr the agent's */
		if (dup2(p[0], 0) < 0)
			_exit(127);
		sigset_t none;
		sigemptyset(&none);
		(void)sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		execve("/bin/sh", argv, envp);
		_exit(127);
	}
	close(p[0]);
	size_t n = strlen(text), done = 0;
	while (done < n) {
		ssize_t w = write(p[1], text + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break; /* the hook does not read its stdin: fine */
		done += (size_t)w;
	}
	if (done == n && write(p[1], "\n", 1) != 1)
		log_debug("hook for %s: it did not read its stdin", k->conf->name);
	close(p[1]);
	free(text);
	int status = 0;
	for (int t = 0; t < AGENT_HOOK_TIMEOUT_S * 10; t++) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid) {
			bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
			if (ok)
				COUNT(a, hooks_ok);
			else
				COUNT(a, hooks_failed);
			if (ok)
				log_info("hook for %s (%s) done", k->conf->name, kind != NULL ? kind : "?");
			else
				log_warn("hook for %s (%s) failed: %s %d", k->conf->name, kind != NULL ? kind : "?",
					 WIFEXITED(status) ? "exit status" : "signal",
					 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
			return;
		}
		struct timespec ts = {0, 100 * 1000000L};
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	(void)waitpid(pid, &status, 0);
	COUNT(a, hooks_failed);
	log_error("hook for %s (%s) ran past %d s: killed", k->conf->name, kind != NULL ? kind : "?",
		  AGENT_HOOK_TIMEOUT_S);
}

static json_t *hook_event(const char *what, const struct akey *k, const struct agent_event *e)
{
	json_t *j = json_pack("{s:s,s:s,s:s}", "event", what, "name", k->conf->name, "id", k->id);
	if (j == NULL)
		return NULL;
	if (e != NULL) {
		json_object_set_new(j, "seq", json_integer((json_int_t)e->seq));
		json_object_set_new(j, "time", json_integer((json_int_t)e->time));
		if (e->state[0] != '\0')
			json_object_set_new(j, "state", json_string(e->state));
		if (e->new_id[0] != '\0')
			json_object_set_new(j, "new_id", json_string(e->new_id));
	}
	return j;
}

/* ---- keys ------------------------------------------------------------------------------- */

/* drop forgets |k|'s material (memory and keyring); |st| is what it becomes. */
static void drop(struct agent *a, struct akey *k, enum akey_state st)
{
	pthread_mutex_lock(&a->mu);
	secure_zero(k->mat, AGENT_MATERIAL_MAX);
	k->mat_len = 0;
	k->st = st;
	keyring_drop(k->serial);
	k->serial = 0;
	k->lease_end = 0;
	pthread_mutex_unlock(&a->mu);
}

static void close_conn(struct agent *a)
{
	if (a->connected)
		https_close(&a->c);
	a->connected = false;
}

static unsigned timeout_ms(const struct agent *a)
{
	return a->o->timeout_ms != 0 ? a->o->timeout_ms : 10000u;
}

/* call sends one request on the open connection; false (connection
 * closed) on a transport failure. */
static bool call(struct agent *a, const char *method, const char *path, unsigned extra_ms, struct feed_http *h)
{
	char why[256];
	https_deadline(&a->c, timeout_ms(a) + extra_ms);
	err_t r = https_request(&a->c, method, path, NULL, a->body, AGENT_BODY_MAX - 1, h, why, sizeof why);
	if (r == ERR_OK && h->body_len < AGENT_BODY_MAX)
		a->body[h->body_len] = '\0';
	if (r == ERR_OK && h->keep_alive)
		return true;
	if (r != ERR_OK)
		log_warn("server %s: %s", a->c.host, why);
	close_conn(a);
	return r == ERR_OK;
}

/* server_n returns the |i|th URL of the list into |out|; false past its end. */
static bool server_n(const char *list, size_t i, char *out, size_t cap)
{
	const char *p = list;
	for (size_t k = 0;; k++) {
		while (*p == ' ' || *p == ',')
			p++;
		if (*p == '\0')
			return false;
		size_t n = strcspn(p, ", ");
		if (k == i) {
			if (n >= cap)
				return false;
			memcpy(out, p, n);
			out[n] = '\0';
			return true;
		}
		p += n;
	}
}

/* connect_any opens a connection to the first server of the list that
 * answers, starting with the one in use. */
static bool connect_any(struct agent *a)
{
	size_t n = 0;
	char url[256], why[256] = "";
	while (server_n(a->o->servers, n, url, sizeof url))
		n++;
	const struct https_tls tls = {.ca_file = a->o->ca_file, .cert_file = a->o->cert_file, .key_file = a->o->key_file,
				      .section = "agent", .refusing = "not using that server"};
	for (size_t t = 0; t < n; t++) {
		size_t i = (a->server + t) % n;
		if (!server_n(a->o->servers, i, url, sizeof url))
			continue;
		if (https_open(&a->c, url, &tls, FEED_HEAD_MAX + AGENT_BODY_MAX, timeout_ms(a), why, sizeof why) == ERR_OK) {
			a->connected = true;
			if (a->unreachable || i != a->server)
				log_info("connected to %s", url);
			a->server = i;
			a->unreachable = false;
			return true;
		}
		log_debug("%s: %s", url, why);
	}
	if (!a->unreachable)
		log_warn("no server reachable (%s): keeping leased keys until their leases end%s", why,
			 a->o->keep_after_lease ? ", and after (keep_after_lease = on)" : ", then dropping them");
	a->unreachable = true;
	return false;
}


static void url_encode(const char *s, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (; *s != '\0' && o + 4 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("-._~", c)) {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
}

/* resolve_name finds the Pre-Active or Active key named |k->conf->key| */
static bool resolve_name(struct agent *a, struct akey *k, char id[AGENT_ID_MAX + 1])
{
	char enc[3 * 256 + 1], path[sizeof enc + 64];
	url_encode(k->conf->key, enc, sizeof enc);
	snprintf(path, sizeof path, "/v1/keys?name=%s&limit=100", enc);
	struct feed_http h;
	if (!call(a, "GET", path, 0, &h))
		return false;
	id[0] = '\0';
	json_error_t je;
	json_t *j = h.status == 200 ? json_loadb((const char *)a->body, h.body_len, 0, &je) : NULL;
	json_t *arr = json_object_get(j, "keys");
	for (size_t i = 0; json_is_array(arr) && i < json_array_size(arr); i++) {
		json_t *e = json_array_get(arr, i);
		const char *st = json_string_value(json_object_get(e, "state"));
		const char *kid = json_string_value(json_object_get(e, "id"));
		if (st != NULL && kid != NULL && api_key_id_ok(kid) && (strcmp(st, "active") == 0 || strcmp(st, "pre-active") == 0)) {
			copy_field(id, AGENT_ID_MAX + 1, kid);
			if (strcmp(st, "active") == 0)
				break; /* an Active one before a Pre-Active one */
		}
	}
	json_decref(j);
	return true;
}

/* What one GET /v1/keys/{id}/material gave. */
struct got {
	enum { GOT_KEY, GOT_NO_LEASE, GOT_DESTROYED, GOT_REFUSED } what;
	char id[AGENT_ID_MAX + 1];
	int64_t lease_end;
	unsigned lease_s;
	uint8_t *m; /* AGENT_MATERIAL_MAX, secure; the caller frees it */
	size_t m_len;
};

/* get_material asks for |id|'s material; false only when the connection
 * failed (g->what says the rest; g->m is allocated in any case, or NULL
 * with GOT_REFUSED when there is no locked memory). */
static bool get_material(struct agent *a, const struct akey *k, const char *id, bool quiet_404, struct got *g)
{
	memset(g, 0, sizeof *g);
	g->what = GOT_REFUSED;
	err_t me = ERR_OK;
	g->m = secmem_alloc(AGENT_MATERIAL_MAX, &me);
	if (g->m == NULL) {
		log_error("%s: no locked memory for the key: %s", k->conf->name, err_str(me));
		return true;
	}
	char path[AGENT_ID_MAX + 32];
	snprintf(path, sizeof path, "/v1/keys/%s/material", id);
	struct feed_http h;
	if (!call(a, "GET", path, 0, &h))
		return false;
	if (h.status != 200) {
		json_error_t je;
		json_t *j = json_loadb((const char *)a->body, h.body_len, 0, &je);
		const char *code = json_string_value(json_object_get(j, "error"));
		const char *msg = json_string_value(json_object_get(j, "message"));
		log_msg(h.status == 404 && quiet_404 ? LOG_DEBUG : LOG_WARN, __func__, "%s: GET %s answered %u %s: %s%s",
			k->conf->name, path, h.status, code != NULL ? code : "",
			 msg != NULL ? msg : "",
			 h.status == 403 && code != NULL && strcmp(code, "plaintext_refused") == 0
				 ? " (the server needs [http] plaintext_material = on)"
				 : "");
		if (h.status == 409 && code != NULL && strcmp(code, "destroyed") == 0) {
			copy_field(g->id, sizeof g->id, id);
			g->what = GOT_DESTROYED;
		}
		json_decref(j);
		return true;
	}
	err_t r = agent_material((char *)a->body, h.body_len, g->id, &g->lease_end, &g->lease_s, g->m,
				 AGENT_MATERIAL_MAX, &g->m_len);
	secure_zero(a->body, h.body_len);
	if (r != ERR_OK)
		log_warn("%s: the answer to GET %s is not key material (%s)", k->conf->name, path, err_str(r));
	else
		/* a key that is not Pre-Active or Active grants no lease: not kept */
		g->what = g->lease_end != 0 ? GOT_KEY : GOT_NO_LEASE;
	return true;
}

/* install makes |g|'s key |k|'s (memory, keyring) */
static void install(struct agent *a, struct akey *k, const struct got *g)
{
	pthread_mutex_lock(&a->mu);
	memcpy(k->mat, g->m, g->m_len);
	if (g->m_len < k->mat_len)
		secure_zero(k->mat + g->m_len, k->mat_len - g->m_len);
	k->mat_len = g->m_len;
	copy_field(k->id, sizeof k->id, g->id);
	k->lease_end = g->lease_end;
	k->lease_s = g->lease_s;
	if (a->o->keyring)
		k->serial = keyring_put(k->conf->name, k->mat, k->mat_len, k->lease_end);
	k->st = AK_HELD;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	a->saved = false; /* the id goes into the state file */
}

/* fetch gets |id| for |k|; false only when the connection failed */
static bool fetch(struct agent *a, struct akey *k, const char *id, bool quiet_404)
{
	struct got g;
	bool up = get_material(a, k, id, quiet_404, &g);
	if (g.what == GOT_KEY) {
		install(a, k, &g);
		COUNT(a, fetched);
		log_info("%s: holding key %s (%zu bytes), lease %u s%s", k->conf->name, k->id, k->mat_len, k->lease_s,
			 k->serial != 0 ? ", in the user keyring" : "");
	} else if (g.what == GOT_NO_LEASE || g.what == GOT_DESTROYED) {
		copy_field(k->id, sizeof k->id, g.id);
		a->saved = false;
		drop(a, k, AK_GONE);
		log_warn("%s: key %s is no longer Pre-Active or Active on the server (no lease granted): not kept",
			 k->conf->name, k->id);
	}
	secmem_free(g.m, AGENT_MATERIAL_MAX);
	return up;
}

/* fetch_wanted fetches every key not held yet; false when the connection failed */
static bool fetch_wanted(struct agent *a)
{
	time_t now = time(NULL);
	for (size_t i = 0; i < a->o->n_keys; i++) {
		struct akey *k = &a->keys[i];
		if (k->st != AK_WANTED || k->next_try > now)
			continue;
		k->next_try = now + 30;
		if (k->id[0] != '\0') { /* known: a re-fetch after a lease ended */
			if (!fetch(a, k, k->id, false))
				return false;
			continue;
		}
		/* key = an id, else a name (an id-like name is tried as an id first) */
		bool idlike = api_key_id_ok(k->conf->key);
		if (idlike && !fetch(a, k, k->conf->key, true))
			return false;
		if (k->st != AK_WANTED || k->id[0] != '\0')
			continue;
		char id[AGENT_ID_MAX + 1];
		if (!resolve_name(a, k, id))
			return false;
		if (id[0] == '\0') {
			log_warn("%s: the server has no Pre-Active or Active key %s \"%s\" this host may get", k->conf->name,
				 idlike ? "with the id or name" : "named", k->conf->key);
			continue;
		}
		if (!fetch(a, k, id, false))
			return false;
	}
	return true;
}

/* renew renews leases past half their time; false when the connection failed */
static bool renew(struct agent *a)
{
	int64_t now = (int64_t)time(NULL);
	for (size_t i = 0; i < a->o->n_keys; i++) {
		struct akey *k = &a->keys[i];
		if (k->st != AK_HELD || k->lease_end - now > (int64_t)k->lease_s / 2)
			continue;
		char path[AGENT_ID_MAX + 32];
		snprintf(path, sizeof path, "/v1/keys/%s/lease", k->id);
		struct feed_http h;
		if (!call(a, "POST", path, 0, &h))
			return false;
		json_error_t je;
		json_t *j = json_loadb((const char *)a->body, h.body_len, 0, &je);
		json_t *le = json_object_get(j, "lease_expires"), *ls = json_object_get(j, "lease_seconds");
		if (h.status == 200 && json_is_integer(le) && json_is_integer(ls)) {
			k->lease_end = (int64_t)json_integer_value(le);
			k->lease_s = (unsigned)json_integer_value(ls);
			keyring_timeout(k->serial, k->lease_end);
			COUNT(a, renewed);
			log_debug("%s: lease renewed to %lld", k->conf->name, (long long)k->lease_end);
		} else {
			const char *code = json_string_value(json_object_get(j, "error"));
			log_warn("%s: lease renewal answered %u %s", k->conf->name, h.status, code != NULL ? code : "");
			/* wrong_state: revoked meanwhile (its event follows and runs
			 * the hook); not_found: no longer this host's */
			if (h.status == 409 || h.status == 404) {
				drop(a, k, h.status == 409 ? AK_GONE : AK_WANTED);
				k->next_try = time(NULL) + 30;
			}
		}
		json_decref(j);
	}
	return true;
}

/* leases_check drops keys whose lease ended while no server renewed it */
static void leases_check(struct agent *a)
{
	int64_t now = (int64_t)time(NULL);
	for (size_t i = 0; i < a->o->n_keys; i++) {
		struct akey *k = &a->keys[i];
		if (k->st != AK_HELD || k->lease_end > now)
			continue;
		if (a->o->keep_after_lease) {
			k->lease_end = now + (k->lease_s != 0 ? k->lease_s : 60);
			keyring_timeout(k->serial, k->lease_end);
			log_warn("%s: lease of key %s ended with no server reachable: kept (keep_after_lease = on)",
				 k->conf->name, k->id);
			continue;
		}
		drop(a, k, AK_WANTED);
		COUNT(a, dropped_lease);
		k->next_try = 0;
		log_warn("%s: lease of key %s ended with no server reachable: dropped", k->conf->name, k->id);
		json_t *ev = hook_event("lease_end", k, NULL);
		run_hook(a, k, ev);
		json_decref(ev);
	}
}

/* ---- the agent's state file ---------------------------------------------------------------
 * "SEQ\n" (the last event handled), then "NAME ID KEY\n" for each key whose
 * server id is known (KEY: the configured key, so an edited section does
 * not inherit another key's id): a restarted agent matches the events it
 * missed to the keys it held, also those configured by a name that is
 * gone with the key. */
#define AGENT_STATE_MAX (CONFIG_MAX_AGENT_KEYS * 512u + 32u)

static void state_load(struct agent *a)
{
	const char *p = a->o->state_file;
	if (p == NULL || p[0] == '\0')
		return;
	char *buf = malloc(AGENT_STATE_MAX + 1);
	size_t n = 0;
	if (buf == NULL || file_read_bounded(p, (uint8_t *)buf, AGENT_STATE_MAX, &n, NULL) != ERR_OK) {
		free(buf);
		return;
	}
	buf[n] = '\0';
	char *save = NULL, *line = strtok_r(buf, "\n", &save);
	uint64_t v;
	if (line == NULL || !parse_u64(line, strlen(line), &v)) {
		log_warn("%s does not hold an event id: following from now", p);
		free(buf);
		return;
	}
	a->seq = v;
	a->have_seq = a->saved = true;
	while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
		char *sp1 = strchr(line, ' '), *sp2 = sp1 != NULL ? strchr(sp1 + 1, ' ') : NULL;
		if (sp2 == NULL)
			continue;
		*sp1 = *sp2 = '\0';
		for (size_t i = 0; i < a->o->n_keys; i++) {
			struct akey *k = &a->keys[i];
			if (strcmp(k->conf->name, line) == 0 && strcmp(k->conf->key, sp2 + 1) == 0 && api_key_id_ok(sp1 + 1))
				copy_field(k->id, sizeof k->id, sp1 + 1);
		}
	}
	free(buf);
	log_info("resuming events after %llu (%s)", (unsigned long long)a->seq, p);
}

static void state_save(struct agent *a)
{
	const char *p = a->o->state_file;
	if (p == NULL || p[0] == '\0')
		return;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	bool ok = f != NULL && fprintf(f, "%llu\n", (unsigned long long)a->seq) > 0;
	for (size_t i = 0; ok && i < a->o->n_keys; i++)
		if (a->keys[i].id[0] != '\0')
			ok = fprintf(f, "%s %s %s\n", a->keys[i].conf->name, a->keys[i].id, a->keys[i].conf->key) > 0;
	if (f != NULL)
		ok = fclose(f) == 0 && ok;
	/* whole or not at all: a crash leaves the previous state */
	int fd = ok ? outfile_open(p, 0600, OUTFILE_REPLACE) : -1;
	ok = fd >= 0;
	size_t done = 0;
	while (ok && done < len) {
		ssize_t w = write(fd, text + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		ok = w > 0;
		done += ok ? (size_t)w : 0;
	}
	if (fd >= 0 && !ok)
		outfile_abort(fd);
	a->saved = ok && outfile_commit(fd) == ERR_OK;
	free(text);
	if (!a->saved)
		log_error("cannot keep the agent's state in %s: %s (a restart would replay events)", p, strerror(errno));
}

/* ---- events ---------------------------------------------------------------------------- */

static void on_event(struct agent *a, const struct agent_event *e)
{
	for (size_t i = 0; i < a->o->n_keys; i++) {
		struct akey *k = &a->keys[i];
		if (k->id[0] == '\0' || strcmp(k->id, e->id) != 0)
			continue;
		if (strcmp(e->kind, "revoke") == 0 || strcmp(e->kind, "destroy") == 0 || strcmp(e->kind, "compromise") == 0) {
			bool held = k->st == AK_HELD;
			drop(a, k, AK_GONE);
			if (held)
				COUNT(a, dropped_event);
			log_warn("%s: key %s: %s on the server (event %llu): %s", k->conf->name, k->id, e->kind,
				 (unsigned long long)e->seq, held ? "dropped" : "was not held");
			json_t *ev = hook_event(e->kind, k, e);
			run_hook(a, k, ev);
			json_decref(ev);
		} else if (strcmp(e->kind, "rekey") == 0 && api_key_id_ok(e->new_id)) {
			char old[AGENT_ID_MAX + 1];
			copy_field(old, sizeof old, k->id);
			/* the replacement is fetched beside the old key, which stays
			 * in use until the new one is here */
			struct got g;
			bool up = get_material(a, k, e->new_id, false, &g);
			if (g.what != GOT_KEY) {
				secmem_free(g.m, AGENT_MATERIAL_MAX);
				log_error("%s: rekeyed to %s, but the new key could not be fetched%s; keeping %s", k->conf->name,
					  e->new_id, up ? "" : " (server lost)", old);
				return;
			}
			install(a, k, &g);
			COUNT(a, fetched);
			COUNT(a, rekeyed);
			secmem_free(g.m, AGENT_MATERIAL_MAX);
			log_warn("%s: rekeyed on the server (event %llu): now holding %s instead of %s", k->conf->name,
				 (unsigned long long)e->seq, k->id, old);
			json_t *ev = hook_event("rekey", k, e);
			json_object_set_new(ev, "id", json_string(old));
			run_hook(a, k, ev);
			json_decref(ev);
		}
		return;
	}
}

/* follow reads one answer of GET /v1/events and handles it; false when
 * the connection failed */
static bool follow(struct agent *a)
{
	char path[96];
	int64_t now = (int64_t)time(NULL);
	unsigned wait = AGENT_EVENTS_WAIT;
	for (size_t i = 0; i < a->o->n_keys; i++) {
		const struct akey *k = &a->keys[i];
		int64_t renew_at = k->lease_end - (int64_t)k->lease_s / 2;
		if (k->st == AK_HELD && renew_at - now < (int64_t)wait)
			wait = renew_at - now > 1 ? (unsigned)(renew_at - now) : 1;
		if (k->st == AK_WANTED && k->next_try - now < (int64_t)wait)
			wait = k->next_try - now > 1 ? (unsigned)(k->next_try - now) : 1;
	}
	if (!a->have_seq)
		snprintf(path, sizeof path, "/v1/events?after=now");
	else
		snprintf(path, sizeof path, "/v1/events?after=%llu&wait=%u", (unsigned long long)a->seq, wait);
	struct feed_http h;
	if (!call(a, "GET", path, wait * 1000u, &h))
		return false;
	if (h.status != 200) {
		log_warn("GET %s answered %u", path, h.status);
		close_conn(a);
		return false;
	}
	size_t off = 0;
	struct agent_event e;
	int r;
	uint64_t last = a->seq;
	while ((r = agent_sse_next((const char *)a->body, h.body_len, &off, &e)) != 0) {
		if (r < 0) {
			log_warn("an event the agent does not read: skipped");
			continue;
		}
		if (e.seq != 0 && a->have_seq && e.seq <= a->seq)
			continue; /* handled already */
		if (e.has_data && a->have_seq)
			on_event(a, &e);
		if (e.seq != 0)
			a->seq = e.seq;
	}
	if (!a->have_seq) {
		/* the after=now answer: its id (0 before any event) is where
		 * following starts */
		a->have_seq = true;
		log_info("following events after %llu", (unsigned long long)a->seq);
	}
	if (a->seq != last || !a->saved)
		state_save(a);
	return a->connected;
}

/* ---- the crypttab socket ------------------------------------------------------------------- */

static void serve_one(struct agent *a, int fd)
{
	struct ucred cr;
	socklen_t cl = sizeof cr;
	struct sockaddr_un peer;
	socklen_t pl = sizeof peer;
	char vol[AGENT_NAME_MAX];
	memset(&peer, 0, sizeof peer);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) != 0 || (cr.uid != 0 && cr.uid != geteuid())) {
		log_warn("socket: a peer of uid %d refused (root only)", cl == sizeof cr ? (int)cr.uid : -1);
		COUNT(a, socket_refused);
		return;
	}
	if (getpeername(fd, (struct sockaddr *)&peer, &pl) != 0 || pl <= offsetof(struct sockaddr_un, sun_path) ||
	    !agent_peer_volume(peer.sun_path, pl - offsetof(struct sockaddr_un, sun_path), vol)) {
		log_warn("socket: a peer that is not systemd-cryptsetup (its socket name names no volume) refused");
		COUNT(a, socket_refused);
		return;
	}
	struct akey *k = NULL;
	for (size_t i = 0; i < a->o->n_keys; i++)
		if (strcmp(a->o->keys[i].name, vol) == 0)
			k = &a->keys[i];
	if (k == NULL) {
		log_warn("socket: volume %s is no [agent.NAME] key: nothing sent", vol);
		COUNT(a, socket_refused);
		return;
	}
	pthread_mutex_lock(&a->mu);
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += AGENT_SOCKET_WAIT_S;
	while (k->st == AK_WANTED && !*a->stop && pthread_cond_timedwait(&a->cv, &a->mu, &until) == 0)
		;
	bool held = k->st == AK_HELD;
	size_t done = 0;
	while (held && done < k->mat_len) {
		ssize_t w = send(fd, k->mat + done, k->mat_len - done, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		done += (size_t)w;
	}
	size_t len = k->mat_len;
	if (held && done == len)
		a->st.socket_sent++;
	else if (!held)
		a->st.socket_not_held++;
	pthread_mutex_unlock(&a->mu);
	if (!held)
		log_warn("socket: volume %s: key %s not held (%s): nothing sent", vol, k->conf->key,
			 k->st == AK_GONE ? "revoked, compromised or destroyed" : "not fetched yet");
	else
		log_info("socket: volume %s: key %s sent%s", vol, k->id, done == len ? "" : " in part (the peer left)");
}

/* one connection on its own thread, so a volume whose key is still being
 * fetched does not hold up the next; at most AGENT_SOCKET_THREADS at once */
#define AGENT_SOCKET_THREADS 16
struct conn_job {
	struct agent *a;
	int fd;
};

static void *conn_main(void *arg)
{
	struct conn_job *j = arg;
	struct agent *a = j->a;
	serve_one(a, j->fd);
	close(j->fd);
	free(j);
	pthread_mutex_lock(&a->mu);
	a->serving--;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

static void *socket_main(void *arg)
{
	struct agent *a = arg;
	while (!*a->stop) {
		struct pollfd p = {.fd = a->listen_fd, .events = POLLIN};
		if (poll(&p, 1, 250) <= 0)
			continue;
		int fd = accept4(a->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		struct timeval tv = {5, 0};
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		struct conn_job *j = malloc(sizeof *j);
		pthread_mutex_lock(&a->mu);
		bool room = j != NULL && a->serving < AGENT_SOCKET_THREADS;
		if (room)
			a->serving++;
		pthread_mutex_unlock(&a->mu);
		pthread_t th;
		pthread_attr_t at;
		if (room) {
			*j = (struct conn_job){a, fd};
			pthread_attr_init(&at);
			pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
			room = pthread_create(&th, &at, conn_main, j) == 0;
			pthread_attr_destroy(&at);
			if (!room) {
				pthread_mutex_lock(&a->mu);
				a->serving--;
				pthread_mutex_unlock(&a->mu);
			}
		}
		if (!room) {
			log_warn("socket: %d requests are being served already: one refused", AGENT_SOCKET_THREADS);
			COUNT(a, socket_refused);
			free(j);
			close(fd);
		}
	}
	/* the connections still waiting for a key see *stop and end */
	pthread_mutex_lock(&a->mu);
	while (a->serving > 0) {
		pthread_cond_broadcast(&a->cv);
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 100 * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		(void)pthread_cond_timedwait(&a->cv, &a->mu, &until);
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

/* open_socket listens on |path| (0600), or takes the socket systemd passes
 * (a fount-agent.socket unit: LISTEN_FDS) */
static int open_socket(const char *path, bool *passed, char *why, size_t why_len)
{
	const char *lp = getenv("LISTEN_PID"), *lf = getenv("LISTEN_FDS");
	*passed = false;
	if (lp != NULL && lf != NULL && strtol(lp, NULL, 10) == (long)getpid() && strtol(lf, NULL, 10) >= 1) {
		struct stat st;
		if (fstat(3, &st) != 0 || !S_ISSOCK(st.st_mode)) {
			WHY("LISTEN_FDS is set but descriptor 3 is not a socket");
			return -1;
		}
		(void)fcntl(3, F_SETFD, FD_CLOEXEC);
		unsetenv("LISTEN_PID");
		unsetenv("LISTEN_FDS");
		*passed = true; /* systemd's: its path is not the agent's to remove */
		return 3;
	}
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (path == NULL || path[0] == '\0') {
		WHY("LISTEN_FDS is set for another process: set [agent] socket, or start fount agent from fount-agent.socket");
		return -1;
	}
	if (strlen(path) >= sizeof sa.sun_path) {
		WHY("[agent] socket %s: a Unix socket path is at most %zu bytes", path, sizeof sa.sun_path - 1);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			WHY("[agent] socket %s exists and is not a socket: remove it or choose another path", path);
			return -1;
		}
		(void)unlink(path); /* a stale socket of an earlier run */
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	mode_t old = umask(0177);
	int b = fd >= 0 ? bind(fd, (struct sockaddr *)&sa, sizeof sa) : -1;
	umask(old);
	if (fd < 0 || b != 0 || listen(fd, 16) != 0) {
		WHY("[agent] socket %s: cannot listen: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* report hands the counters to the caller's on_stats */
static void report(struct agent *a)
{
	if (a->o->on_stats == NULL)
		return;
	pthread_mutex_lock(&a->mu);
	a->st.keys_total = (unsigned)a->o->n_keys;
	a->st.keys_held = 0;
	for (size_t i = 0; i < a->o->n_keys; i++)
		a->st.keys_held += a->keys[i].st == AK_HELD;
	a->st.server_up = a->connected;
	a->st.last_event = a->seq;
	struct api_agent_stats copy = a->st;
	pthread_mutex_unlock(&a->mu);
	a->o->on_stats(&copy, a->o->stats_arg);
}

/* ---- the run ------------------------------------------------------------------------------- */

static void sleep_s(volatile sig_atomic_t *stop, unsigned s)
{
	for (unsigned i = 0; i < s * 10 && !*stop; i++) {
		struct timespec ts = {0, 100 * 1000000L};
		nanosleep(&ts, NULL);
	}
}

err_t api_agent_run(const struct api_agent_options *o, volatile sig_atomic_t *stop, char *why, size_t why_len)
{
	char url[256];
	if (o->n_keys == 0 || o->keys == NULL) {
		WHY("no keys to keep: add an [agent.NAME] section with key = ID for each");
		return ERR_CONFIG;
	}
	if (o->servers == NULL || !server_n(o->servers, 0, url, sizeof url)) {
		WHY("no server: set [agent] servers = https://HOST:8443");
		return ERR_CONFIG;
	}
	char host[FEED_HOST_MAX], port[8];
	for (size_t i = 0; server_n(o->servers, i, url, sizeof url); i++)
		if (feed_url_parse(url, host, port) != ERR_OK) {
			WHY("[agent] servers: \"%s\" is not https://HOST[:PORT]", url);
			return ERR_CONFIG;
		}
	if (o->ca_file == NULL || o->ca_file[0] == '\0' || o->cert_file == NULL || o->cert_file[0] == '\0') {
		WHY("set [agent] ca (the server's pki/ca.pem) and [agent] cert (this host's client certificate)");
		return ERR_CONFIG;
	}
	for (size_t i = 0; i < o->n_keys; i++)
		if (o->keys[i].key == NULL || o->keys[i].key[0] == '\0') {
			WHY("[agent.%s] has no key = (the key's id or name on the server)", o->keys[i].name);
			return ERR_CONFIG;
		}
	struct agent a = {.o = o, .stop = stop, .listen_fd = -1};
	err_t r = ERR_OK, me = ERR_OK;
	bool thread = false, passed = false;
	pthread_mutex_init(&a.mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_cond_init(&a.cv, &ca);
	a.keys = calloc(o->n_keys, sizeof *a.keys);
	a.body = secmem_alloc(AGENT_BODY_MAX, &me);
	if (a.keys == NULL || a.body == NULL) {
		WHY("no memory: %s", err_str(me));
		r = me != ERR_OK ? me : ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < o->n_keys; i++) {
		a.keys[i].conf = &o->keys[i];
		a.keys[i].mat = secmem_alloc(AGENT_MATERIAL_MAX, &me);
		if (a.keys[i].mat == NULL) {
			WHY("no locked memory for the keys: %s", err_str(me));
			r = me;
			goto out;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	pthread_t th;
	/* [agent] socket, or the one fount-agent.socket passes */
	if ((o->socket_path != NULL && o->socket_path[0] != '\0') || getenv("LISTEN_FDS") != NULL) {
		if ((a.listen_fd = open_socket(o->socket_path, &passed, why, why_len)) < 0) {
			r = ERR_CONFIG;
			goto out;
		}
		if (pthread_create(&th, NULL, socket_main, &a) != 0) {
			WHY("cannot start the socket thread");
			r = ERR_SYSTEM;
			goto out;
		}
		thread = true;
		log_info("serving keys to systemd-cryptsetup on %s", passed ? "the socket systemd passed" : o->socket_path);
	}
	state_load(&a);
	log_info("keeping %zu key(s) from %s", o->n_keys, o->servers);
	if (process_notify("READY=1") != ERR_OK)
		log_debug("no service manager to tell READY=1");
	unsigned backoff = 1;
	while (!*stop) {
		if (!a.connected && !connect_any(&a)) {
			leases_check(&a);
			report(&a);
			/* retry within 1, 2, 4, 8 s, and be awake when a lease ends */
			unsigned nap = backoff;
			int64_t now = (int64_t)time(NULL);
			for (size_t i = 0; i < o->n_keys; i++)
				if (a.keys[i].st == AK_HELD && a.keys[i].lease_end - now < (int64_t)nap)
					nap = a.keys[i].lease_end - now > 1 ? (unsigned)(a.keys[i].lease_end - now) : 1;
			sleep_s(stop, nap);
			backoff = backoff < 8 ? backoff * 2 : 8;
			continue;
		}
		/* the position first (on a first start), then the keys, then
		 * what changed after that position: nothing falls between */
		bool ok = (a.have_seq || follow(&a)) && fetch_wanted(&a) && renew(&a) && follow(&a);
		leases_check(&a);
		report(&a);
		if (ok) {
			backoff = 1;
		} else {
			/* a server that fails requests (or closes) is asked again
			 * 1, 2, 4, 8 s later, not at once */
			sleep_s(stop, backoff);
			backoff = backoff < 8 ? backoff * 2 : 8;
		}
	}
	if (thread)
		pthread_join(th, NULL);
	log_info("stopping: wiping the keys%s", o->keyring ? " (the keyring's stay until their lease ends)" : "");
out:
	close_conn(&a);
	if (a.listen_fd >= 0) {
		close(a.listen_fd);
		if (!passed)
			(void)unlink(o->socket_path);
	}
	for (size_t i = 0; a.keys != NULL && i < o->n_keys; i++)
		secmem_free(a.keys[i].mat, AGENT_MATERIAL_MAX);
	free(a.keys);
	secmem_free(a.body, AGENT_BODY_MAX);
	pthread_cond_destroy(&a.cv);
	pthread_condattr_destroy(&ca);
	pthread_mutex_destroy(&a.mu);
	return r;
}
