/* tests/lib/pgtest.h — real PostgreSQL servers for the suites: a primary
 * made with initdb (checksums on), a streaming standby made with
 * pg_basebackup, promotion and stops, each on a free loopback port in a
 * folder of its own. As root the servers run as the postgres user
 * (PostgreSQL refuses root). Debian's postgresql package provides the
 * binaries (/usr/lib/postgresql/N/bin). */
#ifndef FOUNT_TESTS_LIB_PGTEST_H
#define FOUNT_TESTS_LIB_PGTEST_H

#include <stdbool.h>

struct pgtest {
	char dir[200];  /* the data directory */
	char log[220];
	char name[32];  /* cluster_name, which a standby's application_name is */
	unsigned port;
	bool running;
};

/* pgtest_available says whether the binaries are there (and names them) */
bool pgtest_available(void);

/* pgtest_primary makes and starts a new primary in |parent|/|name|;
 * |sync_names| (e.g. "ANY 1 (s1)") sets synchronous_standby_names, NULL
 * or "" none. 0 on success. */
int pgtest_primary(struct pgtest *pg, const char *parent, const char *name, const char *sync_names);
/* pgtest_standby makes a streaming standby of |primary| by pg_basebackup
 * (its own replication slot) and starts it. */
int pgtest_standby(struct pgtest *sb, const struct pgtest *primary, const char *parent, const char *name);
int pgtest_promote(struct pgtest *pg);
/* pgtest_stop: "fast", or "immediate" (a crash, store-ha.md §2.4) */
int pgtest_stop(struct pgtest *pg, const char *mode);
int pgtest_start(struct pgtest *pg);
/* pgtest_sql runs |sql| as postgres on database |db| (NULL: postgres);
 * with |out|, the first column of the first row. 0 on success. */
int pgtest_sql(const struct pgtest *pg, const char *db, const char *sql, char *out, unsigned cap);
/* pgtest_url writes a libpq URL for database |db| on |pg| */
void pgtest_url(const struct pgtest *pg, const char *db, char *out, unsigned cap);
/* pgtest_remove stops |pg| (immediate) if it runs and removes its folder */
void pgtest_remove(struct pgtest *pg);
/* pgtest_parent makes a folder the postgres user can use: 0 on success */
int pgtest_parent(char dir[64], const char *tag);

#endif
