/* cli/cmd_status.c — the status file `fount serve` keeps in its state
 * folder (<state_dir>/status.json), and `fount status`, which reads it.
 *
 * The file is how an operator (or a supervisor's health check) learns, on
 * this machine, whether the service is up and how it is doing, until the
 * HTTP API's /v1/health arrives. It is written whole or not at all
 * (outfile_open/outfile_commit, mode 0600) and holds counters and names
 * only: never a key, a PIN, the KEK or where the KEK lives. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "entropy/entropy.h"
#include "keygen/keygen.h"
#include "selftest/selftest.h"
#include "store/store.h"

/* The format of the file; a reader refuses a newer one. */
#define STATUS_FORMAT 1
/* The largest status file `fount status` reads. */
#define STATUS_MAX_FILE (256u * 1024u)

void cli_status_path(const struct config *cfg, char *out, size_t len)
{
	snprintf(out, len, "%s/status.json", cfg->service_state_dir);
}

/* proc_stat reads /proc/PID/stat, "PID (COMM) STATE f4 ... f22 ..." (proc(5)):
 * the command name, the state letter and field 22, the time the process
 * started after boot in clock ticks. false if there is no such process. */
static bool proc_stat(long long pid, char *comm, size_t comm_len, char *state,
		      unsigned long long *start)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%lld/stat", pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return false;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* COMM may hold ')' and spaces: it runs to the last ')' */
	char *open = strchr(buf, '('), *close = strrchr(buf, ')');
	if (open == NULL || close == NULL || close < open || close[1] != ' ' || close[2] == '\0')
		return false;
	*close = '\0';
	snprintf(comm, comm_len, "%s", open + 1);
	*state = close[2];
	/* close + 3 is the space before field 4; walk to the one before 22 */
	char *p = close + 3;
	for (int field = 4; field < 22 && p != NULL; field++)
		p = strchr(p + 1, ' ');
	if (p == NULL)
		return false;
	char *endp;
	errno = 0;
	*start = strtoull(p + 1, &endp, 10);
	return errno == 0 && endp != p + 1;
}

/* self_start is this process's start time (proc_stat), which
 * the status file carries so that `fount status` knows the process that
 * wrote it from another one given the same pid later; 0 if unknown. */
static unsigned long long self_start(void)
{
	char comm[64], state;
	unsigned long long start = 0;
	return proc_stat((long long)getpid(), comm, sizeof comm, &state, &start) ? start : 0;
}

/* fount_alive tells whether |pid| is the live (not zombie) process that
 * wrote the file: the same start time when the file has one
 * ("proc_start"), else a process named "fount". A pid reused by another
 * program is not the service. */
static bool fount_alive(json_int_t pid, json_int_t proc_start)
{
	if (pid <= 1 || pid > (json_int_t)0x7fffffff)
		return false;
	if (kill((pid_t)pid, 0) != 0 && errno != EPERM)
		return false;
	char comm[64], state;
	unsigned long long start = 0;
	if (!proc_stat((long long)pid, comm, sizeof comm, &state, &start))
		return false;
	if (state == 'Z' || state == 'X' || state == 'x')
		return false;
	if (proc_start > 0)
		return start == (unsigned long long)proc_start;
	return strcmp(comm, "fount") == 0;
}

static json_t *time_json(time_t t)
{
	char text[32];
	cli_utc(t, text, sizeof text);
	return json_string(text);
}

static json_t *entropy_json(void)
{
	struct entropy_status es[ENTROPY_MAX_SOURCES];
	size_t n = entropy_status(es, ARRAY_SIZE(es));
	json_t *arr = json_array();
	for (size_t i = 0; i < n && i < ARRAY_SIZE(es); i++) {
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(es[i].name));
		json_object_set_new(o, "state", json_string(es[i].enabled ? "ok" : "disabled"));
		json_object_set_new(o, "credited", json_boolean(es[i].credited));
		json_object_set_new(o, "samples_tested", json_integer((json_int_t)es[i].samples_tested));
		json_object_set_new(o, "rct_failures", json_integer((json_int_t)es[i].rct_failures));
		json_object_set_new(o, "apt_failures", json_integer((json_int_t)es[i].apt_failures));
		json_object_set_new(o, "bytes_delivered", json_integer((json_int_t)es[i].bytes_delivered));
		json_object_set_new(o, "last_error",
				    es[i].last_error != ERR_OK ? json_string(err_str(es[i].last_error)) : json_null());
		json_array_append_new(arr, o);
	}
	return arr;
}

static json_t *pool_json(void)
{
	struct keygen_pool_stat ps[KEYGEN_POOL_MAX_TYPES];
	size_t n = keygen_pool_stats(ps, ARRAY_SIZE(ps));
	json_t *arr = json_array();
	for (size_t i = 0; i < n && i < ARRAY_SIZE(ps); i++) {
		json_t *o = json_object();
		json_object_set_new(o, "type", json_string(ps[i].type->name));
		json_object_set_new(o, "ready", json_integer(ps[i].ready));
		json_object_set_new(o, "target", json_integer(ps[i].target));
		json_object_set_new(o, "made", json_integer((json_int_t)ps[i].made));
		json_object_set_new(o, "taken", json_integer((json_int_t)ps[i].taken));
		json_object_set_new(o, "dropped", json_integer((json_int_t)ps[i].dropped));
		json_array_append_new(arr, o);
	}
	return arr;
}

/* add_listener adds {protocol, address} for a TCP listener on |port| (0:
 * none). |listen| is HOST:PORT as configured; the port may be 0 (any), so
 * the one the socket has is the one reported; "unix:PATH" stays as it is. */
static void add_listener(json_t *listeners, const char *protocol, const char *listen, unsigned port)
{
	if (listen == NULL || listen[0] == '\0')
		return;
	char addr[200];
	if (strncmp(listen, "unix:", 5) == 0) {
		snprintf(addr, sizeof addr, "%s", listen);
	} else {
		if (port == 0)
			return;
		char host[160];
		snprintf(host, sizeof host, "%s", listen);
		char *colon = strrchr(host, ':');
		if (colon != NULL)
			*colon = '\0';
		snprintf(addr, sizeof addr, "%s:%u", host, port);
	}
	json_t *l = json_object();
	json_object_set_new(l, "protocol", json_string(protocol));
	json_object_set_new(l, "address", json_string(addr));
	json_array_append_new(listeners, l);
}


static json_t *status_json(const struct cli_status_serve *s)
{
	json_t *root = json_object();
	json_object_set_new(root, "format", json_integer(STATUS_FORMAT));
	json_object_set_new(root, "pid", json_integer((json_int_t)getpid()));
	static unsigned long long start;
	if (start == 0)
		start = self_start();
	json_object_set_new(root, "proc_start", json_integer((json_int_t)start));
	json_object_set_new(root, "version", json_string(FOUNT_VERSION));
	time_t now = time(NULL);
	json_object_set_new(root, "started", time_json(s->started));
	json_object_set_new(root, "started_unix", json_integer((json_int_t)s->started));
	json_object_set_new(root, "written", time_json(now));
	json_object_set_new(root, "written_unix", json_integer((json_int_t)now));
	json_object_set_new(root, "status_seconds", json_integer(s->status_seconds));

	enum selftest_state state = selftest_state();
	json_object_set_new(root, "state", json_string(selftest_state_name(state)));
	const char *cause = selftest_error_cause();
	json_object_set_new(root, "error_cause",
			    state == SELFTEST_ERROR && cause != NULL ? json_string(cause) : json_null());

	json_t *prov = cli_provider_json();
	json_object_set_new(prov, "fips", json_boolean(keygen_fips_mode()));
	json_object_set_new(root, "provider", prov);

	json_object_set_new(root, "entropy", entropy_json());

	struct drbg_stats ds;
	drbg_stats(&ds);
	json_t *drbg = json_object();
	json_object_set_new(drbg, "primary_reseeds", json_integer((json_int_t)ds.primary_reseeds));
	json_object_set_new(drbg, "worker_reseeds", json_integer((json_int_t)ds.worker_reseeds));
	json_object_set_new(drbg, "workers", json_integer((json_int_t)ds.workers));
	json_object_set_new(drbg, "fork_events", json_integer((json_int_t)ds.fork_events));
	json_object_set_new(root, "drbg", drbg);

	json_t *listeners = json_array();
	add_listener(listeners, "kmip", s->kmip_listen, s->kmip_port);
	add_listener(listeners, "https", s->http_listen, s->http_port);
	add_listener(listeners, "http", s->http_plain_listen, s->http_plain_port);
	if (s->egd_socket != NULL && s->egd_socket[0] != '\0') {
		json_t *l = json_object();
		json_object_set_new(l, "protocol", json_string("egd"));
		json_object_set_new(l, "address", json_string(s->egd_socket));
		json_array_append_new(listeners, l);
	}
	add_listener(listeners, "egd", s->egd_tcp_listen, s->egd_tcp_port);
	json_object_set_new(root, "listeners", listeners);

	json_t *store = json_object();
	json_object_set_new(store, "path", json_string(s->store_path != NULL ? s->store_path : ""));
	if (s->store != NULL) {
		struct store_stats ss;
		store_stats(s->store, &ss);
		json_object_set_new(store, "schema_version", json_integer(ss.schema_version));
		json_object_set_new(store, "requests", json_integer((json_int_t)ss.requests));
		json_object_set_new(store, "commits", json_integer((json_int_t)ss.commits));
		json_object_set_new(store, "failed_commits", json_integer((json_int_t)ss.failed_commits));
		json_object_set_new(store, "max_batch", json_integer((json_int_t)ss.max_batch));
	}
	json_object_set_new(root, "store", store);

	json_object_set_new(root, "keypair_pool", pool_json());
	return root;
}

bool cli_status_write(const struct config *cfg, const struct cli_status_serve *s)
{
	static bool warned;
	char path[sizeof cfg->service_state_dir + 16];
	cli_status_path(cfg, path, sizeof path);
	json_t *root = status_json(s);
	char *text = json_dumps(root, JSON_INDENT(2));
	json_decref(root);
	bool ok = false;
	int fd = -1;
	if (text != NULL && (fd = outfile_open(path, 0600, OUTFILE_REPLACE)) >= 0) {
		size_t len = strlen(text);
		ok = cli_write_all(fd, text, len) && cli_write_all(fd, "\n", 1);
		if (ok)
			ok = outfile_commit(fd) == ERR_OK;
		else
			outfile_abort(fd);
	}
	int saved = errno;
	free(text);
	/* once per failure streak: a full disk must not flood the log */
	if (!ok && !warned)
		log_warn("cannot write the status file %s: %s", path,
			 text == NULL ? "out of memory" : strerror(saved));
	else if (ok && warned)
		log_info("status file %s written again", path);
	warned = !ok;
	return ok;
}

void cli_status_remove(const struct config *cfg)
{
	char path[sizeof cfg->service_state_dir + 16];
	cli_status_path(cfg, path, sizeof path);
	if (unlink(path) != 0 && errno != ENOENT)
		log_warn("cannot remove the status file %s: %s", path, strerror(errno));
}

/* ---- fount status ------------------------------------------------------- */

static const char usage[] =
	"usage: fount [-c FILE] status [--json]\n"
	"\n"
	"Says whether `fount serve` is running on this machine and how it is doing,\n"
	"from the status file it keeps in its state folder ([service] state_dir,\n"
	"status.json; rewritten at every status line and on a module state change,\n"
	"removed at a clean exit): module state, provider, noise sources, DRBG\n"
	"reseeds, listeners, the store's counters and the key-pair pool.\n"
	"\n"
	"Exit status: 0 running and OPERATIONAL; 1 running, but the module is not\n"
	"OPERATIONAL (ERROR: no output until restart); 3 not running (no status\n"
	"file, or its process is not a live fount); 4 status unknown (the file is\n"
	"older than three status intervals, or unreadable).\n"
	"\n"
	"      --json   print the status file as it is (nothing when not running)\n"
	"  -h, --help   this text\n";

enum { EXIT_NOT_RUNNING = 3, EXIT_UNKNOWN = 4 };

static json_int_t int_of(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	return json_is_integer(v) ? json_integer_value(v) : -1;
}

static const char *str_of(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s != NULL ? s : "?";
}

/* duration writes |s| seconds as "3d 4h", "2h 5m", "5m 3s" or "42s". */
static void duration(long long s, char *out, size_t len)
{
	if (s < 0)
		s = 0;
	if (s >= 86400)
		snprintf(out, len, "%lldd %lldh", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(out, len, "%lldh %lldm", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(out, len, "%lldm %llds", s / 60, s % 60);
	else
		snprintf(out, len, "%llds", s);
}

static void print_summary(const json_t *root, long long age, bool stale)
{
	time_t now = time(NULL);
	char up[32], ago[32];
	duration((long long)now - (long long)int_of(root, "started_unix"), up, sizeof up);
	duration(age, ago, sizeof ago);
	const char *state = str_of(root, "state");
	printf("fount %s: %s (pid %lld), up %s, module %s", str_of(root, "version"),
	       stale ? "stale" : "running", (long long)int_of(root, "pid"), up, state);
	const char *cause = json_string_value(json_object_get(root, "error_cause"));
	if (cause != NULL)
		printf(" (%s)", cause);
	printf("\n");

	const json_t *prov = json_object_get(root, "provider");
	printf("%-10s %s %s%s\n", "provider:", str_of(prov, "name"), str_of(prov, "version"),
	       json_is_true(json_object_get(prov, "fips")) ? " (FIPS)" : " (not FIPS)");

	const json_t *arr = json_object_get(root, "listeners"), *v;
	size_t i;
	printf("%-10s", "listening:");
	if (json_array_size(arr) == 0)
		printf(" nothing");
	json_array_foreach(arr, i, v)
		printf("%s %s %s", i ? "," : "", str_of(v, "protocol"), str_of(v, "address"));
	printf("\n");

	arr = json_object_get(root, "entropy");
	printf("%-10s", "entropy:");
	json_array_foreach(arr, i, v)
		printf("%s %s %s", i ? "," : "", str_of(v, "name"), str_of(v, "state"));
	printf("\n");

	const json_t *d = json_object_get(root, "drbg");
	printf("%-10s %lld primary reseeds, %lld worker reseeds, %lld workers\n", "drbg:",
	       (long long)int_of(d, "primary_reseeds"), (long long)int_of(d, "worker_reseeds"),
	       (long long)int_of(d, "workers"));

	const json_t *st = json_object_get(root, "store");
	printf("%-10s %s: %lld requests, %lld commits, %lld failed\n", "store:", str_of(st, "path"),
	       (long long)int_of(st, "requests"), (long long)int_of(st, "commits"),
	       (long long)int_of(st, "failed_commits"));

	/* keygen_pool_text's form: "rsa-3072 3/4, ec-p256 64/64" */
	arr = json_object_get(root, "keypair_pool");
	printf("%-10s", "pool:");
	if (json_array_size(arr) == 0)
		printf(" off");
	json_array_foreach(arr, i, v)
		printf("%s %s %lld/%lld", i ? "," : "", str_of(v, "type"), (long long)int_of(v, "ready"),
		       (long long)int_of(v, "target"));
	printf("\n");
	printf("%-10s %s ago (every %llds)\n", "updated:", ago, (long long)int_of(root, "status_seconds"));
}

int cmd_status(int argc, char **argv, const struct config *cfg)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool as_json = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': as_json = true; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: return cli_option_error("status", c, argc, argv, opts);
		}
	}
	if (optind < argc)
		return cli_usage_error("status", "unexpected argument '%s'", argv[optind]);

	char path[sizeof cfg->service_state_dir + 16];
	cli_status_path(cfg, path, sizeof path);
	/* no secret in it: ordinary memory */
	struct {
		uint8_t *p;
		size_t len;
	} b = {malloc(STATUS_MAX_FILE), 0};
	err_t r = b.p != NULL ? file_read_bounded(path, b.p, STATUS_MAX_FILE, &b.len, NULL) : ERR_NOMEM;
	if (r != ERR_OK) {
		bool missing = r == ERR_IO && errno == ENOENT;
		free(b.p);
		if (missing) {
			/* --json: stdout holds JSON or nothing */
			fprintf(as_json ? stderr : stdout, "fount: not running (no %s)\n", path);
			return EXIT_NOT_RUNNING;
		}
		fprintf(stderr, "fount status: cannot read %s: %s\n", path, err_str(r));
		return EXIT_UNKNOWN;
	}
	json_error_t jerr;
	json_t *root = json_loadb((const char *)b.p, b.len, 0, &jerr);
	int rc = EXIT_UNKNOWN;
	if (!json_is_object(root) || int_of(root, "format") < 1) {
		fprintf(stderr, "fount status: %s is not a fount status file (%s)\n", path,
			root == NULL ? jerr.text : "no format");
		goto out;
	}
	if (int_of(root, "format") > STATUS_FORMAT) {
		fprintf(stderr, "fount status: %s has format %lld, newer than this fount's %d\n", path,
			(long long)int_of(root, "format"), STATUS_FORMAT);
		goto out;
	}
	json_int_t pid = int_of(root, "pid");
	if (!fount_alive(pid, int_of(root, "proc_start"))) {
		/* kill -9, a crash or a reboot: the file outlived its process */
		fprintf(as_json ? stderr : stdout,
			"fount: not running (pid %lld in %s is not a live fount process)\n", (long long)pid,
			path);
		rc = EXIT_NOT_RUNNING;
		goto out;
	}
	json_int_t written = int_of(root, "written_unix"), every = int_of(root, "status_seconds");
	long long age = (long long)time(NULL) - (long long)written;
	bool stale = written < 0 || every <= 0 || age > 3 * (long long)every;
	if (as_json)
		fwrite(b.p, 1, b.len, stdout);
	else
		print_summary(root, age, stale);
	if (stale) {
		fprintf(stderr, "fount status: stale: %s was last written %llds ago (every %llds); "
				"the service is alive but not reporting\n",
			path, age, (long long)every);
		rc = EXIT_UNKNOWN;
	} else {
		rc = strcmp(str_of(root, "state"), "OPERATIONAL") == 0 ? EXIT_OK : EXIT_FAIL;
	}
out:
	json_decref(root);
	free(b.p);
	return rc;
}
