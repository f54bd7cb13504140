/* tests/lib/pgtest.c — see pgtest.h. Commands follow store-ha.md §2.4. */
#include <glob.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/lib/pgtest.h"
#include "tests/lib/port.h"

static char bindir[256];

bool pgtest_available(void)
{
	if (bindir[0] != '\0')
		return true;
	glob_t g;
	if (glob("/usr/lib/postgresql/*/bin/initdb", 0, NULL, &g) != 0 || g.gl_pathc == 0) {
		globfree(&g);
		return false;
	}
	/* the newest major version */
	snprintf(bindir, sizeof(bindir), "%s", g.gl_pathv[g.gl_pathc - 1]);
	globfree(&g);
	*strrchr(bindir, '/') = '\0';
	return true;
}

/* sh runs |cmd| as the postgres user when we are root */
static int sh(const char *cmd)
{
	char full[4096];
	if (geteuid() == 0)
		snprintf(full, sizeof(full), "cd / && runuser -u postgres -- sh -c '%s' >/dev/null 2>&1", cmd);
	else
		snprintf(full, sizeof(full), "cd / && sh -c '%s' >/dev/null 2>&1", cmd);
	int rc = system(full);
	return rc == 0 ? 0 : -1;
}

static void give(const char *path)
{
	if (geteuid() != 0)
		return;
	struct passwd *pw = getpwnam("postgres");
	if (pw != NULL && chown(path, pw->pw_uid, pw->pw_gid) != 0)
		perror(path);
}

int pgtest_parent(char dir[64], const char *tag)
{
	snprintf(dir, 64, "/tmp/fount-pg-%s-XXXXXX", tag);
	if (mkdtemp(dir) == NULL || chmod(dir, 0755) != 0)
		return -1;
	give(dir);
	return 0;
}

static int ctl_start(struct pgtest *pg)
{
	char cmd[1024];
	/* per-node settings on the command line: pg_rewind and pg_basebackup
	 * copy postgresql.conf from the source (store-ha.md §2.4) */
	snprintf(cmd, sizeof(cmd), "%s/pg_ctl -D %s -l %s -w -t 60 -o \"-p %u -c cluster_name=%s\" start", bindir,
		 pg->dir, pg->log, pg->port, pg->name);
	if (sh(cmd) != 0) {
		fprintf(stderr, "\n  pgtest: %s did not start (log %s)\n", pg->name, pg->log);
		return -1;
	}
	pg->running = true;
	return 0;
}

int pgtest_start(struct pgtest *pg)
{
	return ctl_start(pg);
}

/* node_init names a new server |name| in |parent| on a free port */
static void node_init(struct pgtest *pg, const char *parent, const char *name)
{
	memset(pg, 0, sizeof(*pg));
	snprintf(pg->dir, sizeof(pg->dir), "%s/%s", parent, name);
	snprintf(pg->log, sizeof(pg->log), "%s/%s.log", parent, name);
	snprintf(pg->name, sizeof(pg->name), "%s", name);
	pg->port = testlib_free_port();
}

int pgtest_primary(struct pgtest *pg, const char *parent, const char *name, const char *sync_names)
{
	if (!pgtest_available())
		return -1;
	node_init(pg, parent, name);
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "%s/initdb -D %s -U postgres -A trust -E UTF8 --data-checksums --no-sync", bindir,
		 pg->dir);
	if (pg->port == 0 || sh(cmd) != 0)
		return -1;
	char conf[256];
	snprintf(conf, sizeof(conf), "%s/postgresql.conf", pg->dir);
	FILE *f = fopen(conf, "a");
	if (f == NULL)
		return -1;
	fprintf(f,
		"listen_addresses = '127.0.0.1'\n"
		"unix_socket_directories = '%s'\n"
		"wal_level = replica\nmax_wal_senders = 8\nmax_replication_slots = 8\n"
		"wal_log_hints = on\nshared_buffers = 32MB\nmax_connections = 200\n"
		"synchronous_standby_names = '%s'\n"
		"fsync = on\nsynchronous_commit = on\n",
		parent, sync_names != NULL ? sync_names : "");
	fclose(f);
	return ctl_start(pg);
}

int pgtest_standby(struct pgtest *sb, const struct pgtest *primary, const char *parent, const char *name)
{
	node_init(sb, parent, name);
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 "%s/pg_basebackup -h 127.0.0.1 -p %u -U postgres -D %s -R -X stream -C -S %s -c fast", bindir,
		 primary->port, sb->dir, name);
	if (sb->port == 0 || sh(cmd) != 0)
		return -1;
	return ctl_start(sb);
}

int pgtest_promote(struct pgtest *pg)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "%s/pg_ctl -D %s -w -t 60 promote", bindir, pg->dir);
	return sh(cmd);
}

int pgtest_stop(struct pgtest *pg, const char *mode)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "%s/pg_ctl -D %s -w -t 60 -m %s stop", bindir, pg->dir, mode);
	int rc = sh(cmd);
	if (rc == 0)
		pg->running = false;
	return rc;
}

void pgtest_url(const struct pgtest *pg, const char *db, char *out, unsigned cap)
{
	snprintf(out, cap, "postgresql://postgres@127.0.0.1:%u/%s", pg->port, db != NULL ? db : "postgres");
}

int pgtest_sql(const struct pgtest *pg, const char *db, const char *sql, char *out, unsigned cap)
{
	char url[256];
	pgtest_url(pg, db, url, sizeof(url));
	PGconn *c = PQconnectdb(url);
	int rc = -1;
	if (PQstatus(c) == CONNECTION_OK) {
		PGresult *r = PQexec(c, sql);
		ExecStatusType st = PQresultStatus(r);
		if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
			rc = 0;
			if (out != NULL && cap > 0)
				snprintf(out, cap, "%s", PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "");
		} else {
			fprintf(stderr, "\n  pgtest: %s: %s", sql, PQresultErrorMessage(r));
		}
		PQclear(r);
	} else {
		fprintf(stderr, "\n  pgtest: %s", PQerrorMessage(c));
	}
	PQfinish(c);
	return rc;
}

void pgtest_remove(struct pgtest *pg)
{
	if (pg->running)
		(void)pgtest_stop(pg, "immediate");
	if (pg->dir[0] != '\0') {
		char cmd[512];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", pg->dir, pg->log);
		if (system(cmd) != 0)
			fprintf(stderr, "\n  pgtest: cannot remove %s\n", pg->dir);
	}
}
