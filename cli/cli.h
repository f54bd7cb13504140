/* cli/cli.h — the fount command line: one entry point per sub-command
 * and the helpers they share (argument parsing, files, printing). */
#ifndef FOUNT_CLI_CLI_H
#define FOUNT_CLI_CLI_H

#include <stdio.h>
#include <time.h>

#include "keygen/keygen.h"     /* struct keygen_kek, enum keygen_wrap_alg */
#include "selftest/selftest.h" /* acvp_run, for `fount acvp` */
#include "store/store.h"       /* struct store_options */
#include "util/util.h"

/* Exit codes: 0 success, 1 the operation failed, 2 bad usage. */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

int cmd_random(int argc, char **argv, const struct config *cfg);
int cmd_selftest(int argc, char **argv, const struct config *cfg);
int cmd_entropy(int argc, char **argv, const struct config *cfg);
int cmd_policy(int argc, char **argv, const struct config *cfg);

/* The command table (cli/main.c): --help's list and the security policy's
 * CLI services. */
struct cli_command {
	const char *name;
	int (*fn)(int argc, char **argv, const struct config *cfg);
	const char *summary;  /* --help's line */
	const char *role;     /* who runs it */
	const char *approved; /* "approved", "non-approved (...)" */
};
extern const struct cli_command cli_commands[];
extern const size_t cli_commands_n;
/* `fount entropy esv` (cli/cmd_esv.c) */
int cmd_entropy_esv(int argc, char **argv, const struct config *cfg);
int cmd_acvp(int argc, char **argv, const struct config *cfg);
int cmd_serve(int argc, char **argv, const struct config *cfg);
int cmd_version(int argc, char **argv, const struct config *cfg);
/* cli_provider_json returns a new JSON object describing the loaded
 * provider (name, version, buildinfo, dir, validated, validation), for
 * `fount version --json` and `fount selftest --json`. */
struct json_t;
struct json_t *cli_provider_json(void);
/* cli_provider_print prints the provider's name, version, folder and validation
 * as "key: value" lines, the keys padded to |width| columns. */
void cli_provider_print(int width);
int cmd_config(int argc, char **argv, const struct config *cfg);
int cmd_keygen(int argc, char **argv, const struct config *cfg);
int cmd_wrap(int argc, char **argv, const struct config *cfg);
int cmd_unwrap(int argc, char **argv, const struct config *cfg);

/* A buffer in secure memory: |len| bytes used of |cap| allocated. */
struct cli_buf {
	uint8_t *p;
	size_t len, cap;
};
void cli_buf_free(struct cli_buf *b);

/* cli_read_file reads the regular file |path| (at most |max| bytes, not
 * empty, size checked before allocation) into secure memory. On failure
 * it prints "fount CMD: ..." naming |what| and |path|. */
err_t cli_read_file(const char *cmd, const char *what, const char *path, size_t max,
		    struct cli_buf *out) MUST_CHECK;
/* cli_create_file starts the new file |path| with |mode| (outfile_open:
 * it appears under its name only when cli_finish_file commits it; never
 * overwrites a file; a character device or FIFO such as /dev/null or
 * /dev/stdout is written in place); prints why and returns -1 on failure.
 * cli_open_output is the same with outfile_open's |flags|. */
int cli_create_file(const char *cmd, const char *path, unsigned mode);
int cli_open_output(const char *cmd, const char *path, unsigned mode, unsigned flags);
bool cli_write_all(int fd, const void *buf, size_t len) MUST_CHECK;
/* cli_finish_file commits |fd| (fsync, name, folder fsync) if |ok|, or
 * drops it; if the commit fails (ENOSPC, EIO, the name taken meanwhile)
 * nothing is left either. Returns whether the file is kept; for fd < 0 it
 * does nothing and returns |ok|. */
bool cli_finish_file(const char *path, int fd, bool ok) MUST_CHECK;
/* cli_output_dir makes the folder |dir| (0755) unless it is there, and
 * checks it is a folder; false after a line on stderr that starts with
 * "fount |cmd|:" */
bool cli_output_dir(const char *cmd, const char *dir);
/* cli_replace_file replaces |path| whole with |len| bytes of |text|
 * (outfile_open with OUTFILE_REPLACE, |mode|): a reader sees the old file
 * or the new one, never a part. false with errno set on failure. */
bool cli_replace_file(const char *path, unsigned mode, const char *text, size_t len) MUST_CHECK;

/* cli_mlock_error prints the one line for a failed mlock or mlockall in
 * |what|: the RLIMIT_MEMLOCK in force and the two fixes. */
void cli_mlock_error(const char *what);

/* cli_kek_load reads |path| as the KEK for |alg| (keygen_kek_load: a raw
 * 16/24/32-byte AES key, or an RSA key, public SPKI to wrap, private
 * PKCS#8 to unwrap when |private_key|, PEM or DER). Prints a one-line
 * reason on failure. */
err_t cli_kek_load(const char *cmd, const char *path, enum keygen_wrap_alg alg,
		   bool private_key, struct keygen_kek *out) MUST_CHECK;
/* cli_wrap_error prints why a |key_len|-byte key could not be wrapped
 * with |alg| (keygen_kek_wrap's |r|), naming the fix where there is one. */
void cli_wrap_error(const char *cmd, enum keygen_wrap_alg alg, size_t key_len, err_t r);
int cmd_hsm(int argc, char **argv, const struct config *cfg);
int cmd_ca(int argc, char **argv, const struct config *cfg);
int cmd_tenant(int argc, char **argv, const struct config *cfg);
int cmd_feed(int argc, char **argv, const struct config *cfg);
int cmd_agent(int argc, char **argv, const struct config *cfg);
int cmd_token(int argc, char **argv, const struct config *cfg);
int cmd_store(int argc, char **argv, const struct config *cfg);
int cmd_keys(int argc, char **argv, const struct config *cfg);

/* ---- the status file (cli/cmd_status.c) ------------------------------------
 * `fount serve` keeps <state_dir>/status.json (0600, written whole): pid,
 * start and write times, module state, version, provider, noise sources,
 * DRBG reseeds, listeners, the store's counters and the key-pair pool; no
 * secret. `fount status` reads it. */
struct store;
struct cli_status_serve {
	time_t started;          /* when `fount serve` started (wall clock) */
	unsigned status_seconds; /* how often it rewrites the file */
	const char *kmip_listen; /* [kmip] listen, HOST:PORT */
	unsigned kmip_port;      /* the port it listens on; 0 = KMIP off */
	const char *http_listen, *http_plain_listen; /* [http] listen, plain_listen */
	unsigned http_port, http_plain_port;         /* 0 = off */
	const char *egd_socket;  /* the EGD socket's path, or NULL */
	const char *egd_tcp_listen;
	unsigned egd_tcp_port;   /* 0 = off */
	const char *store_path;
	struct store *store;     /* for store_stats; may be NULL */
};
/* cli_status_path writes <state_dir>/status.json into |out|. */
void cli_status_path(const struct config *cfg, char *out, size_t len);
/* cli_status_write replaces the status file with the service's state now;
 * a failure is logged once per failure streak and returns false. */
bool cli_status_write(const struct config *cfg, const struct cli_status_serve *s);
/* cli_status_remove removes the status file (at a clean exit). */
void cli_status_remove(const struct config *cfg);
int cmd_status(int argc, char **argv, const struct config *cfg);

/* cli_usage_error prints "fount CMD: MESSAGE" and a pointer to --help on
 * stderr and returns EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) PRINTF_LIKE(2, 3);

/* cli_option_error reports what getopt_long returned |c| for (':' for a
 * missing argument, '?' for anything else) in one line, "option '-n'
 * requires an argument" or "unknown option '--foo'", and returns
 * EXIT_USAGE. The option string must start with ':' (after any '+') and
 * opterr be 0, so that getopt prints nothing itself. |opts| is the table
 * given to getopt_long. */
struct option;
int cli_option_error(const char *cmd, int c, int argc, char *const argv[],
		     const struct option *opts);

/* cli_power_on runs the power-on self-tests quietly and prints a one-line
 * reason on failure. Returns ERR_OK when the module is OPERATIONAL. */
/* cli_store_options: the key store [store] configures (SQLite at path, or
 * PostgreSQL at url), its KEK possibly in |hsm| */
struct store_options cli_store_options(const struct config *cfg, struct hsm *hsm);
/* cli_store_hsm opens the [hsm] section's HSM when [store] kek is
 * hsm:LABEL (else *out is NULL): EXIT_OK, or EXIT_FAIL with a line on
 * stderr that starts with |prog| */
int cli_store_hsm(const struct config *cfg, const char *prog, struct hsm **out);
/* cli_store_open_existing opens the store [store] configures for a
 * command that reads it (NULL, said on stderr after |prog|, when it
 * cannot): a missing SQLite file is refused, never made */
struct store *cli_store_open_existing(const struct config *cfg, struct hsm *hsm, const char *prog);
/* cli_utc writes |t| as "2026-12-02T01:59:23Z" */
void cli_utc(time_t t, char *out, size_t len);
err_t cli_power_on(const struct config *cfg) MUST_CHECK;
/* cli_power_on_results is cli_power_on keeping the results in |res|. */
err_t cli_power_on_results(const struct config *cfg, struct selftest_result *res, size_t max, size_t *out_n)
	MUST_CHECK;

/* cli_parse_size parses "N", "NK", "NM", "NG" (powers of 1024). */
err_t cli_parse_size(const char *s, uint64_t *out) MUST_CHECK;

/* A progress bar on stderr, drawn only when stderr is a terminal. */
struct progress {
	const char *label;
	uint64_t total, done;
	uint64_t last_draw_ns;
	bool active;
};
void progress_start(struct progress *p, const char *label, uint64_t total);
void progress_update(struct progress *p, uint64_t done);
void progress_finish(struct progress *p);

#endif
