/* util/file.c — output files that appear whole or not at all.
 *
 * A new file is written under no name, or under a temporary one in the
 * same folder, and linked to its final name only when it is complete, so a
 * crash, a full disk or a Ctrl-C never leaves a truncated key or a partial
 * capture behind under the name the user asked for (and a rerun does not
 * trip over it).
 *
 * - Where the file system has it, open(2) O_TMPFILE makes an unnamed inode
 *   in the folder; linkat(2) gives it its name on commit (AT_EMPTY_PATH,
 *   or "/proc/self/fd/N" with AT_SYMLINK_FOLLOW, as open(2) documents). A
 *   process that dies before that leaves nothing at all.
 * - Elsewhere a ".NAME.XXXXXX" file is created with O_EXCL in the folder
 *   and renamed on commit with renameat2(2) RENAME_NOREPLACE (or link(2)
 *   and unlink(2) where the file system lacks it). A SIGINT, SIGTERM or
 *   SIGHUP handler unlinks it; it calls only unlink(2), signal(2) and
 *   raise(3), which POSIX lists as async-signal-safe (signal-safety(7)),
 *   on paths kept in static storage.
 *
 * linkat and RENAME_NOREPLACE both fail with EEXIST rather than replace:
 * the final name is never overwritten (OUTFILE_REPLACE asks for that on
 * purpose, with rename(2)). The file is fsync'ed before it gets its name
 * and the folder after, so a name that exists after a crash has its data
 * (rename(2) and fsync(2) give no ordering between the two otherwise).
 *
 * Files committed while others are still open are part of one output: a
 * signal that arrives before the last of them is committed removes them
 * too, so a key and its public half are both there or neither. Commits run
 * with the three signals blocked, so the handler never sees a half-updated
 * table. */
/* O_TMPFILE, AT_EMPTY_PATH, renameat2 and RENAME_NOREPLACE need _GNU_SOURCE,
 * which the Makefile defines for every file. */
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

enum slot_state {
	SLOT_FREE = 0,
	SLOT_UNNAMED,    /* O_TMPFILE: nothing to clean up */
	SLOT_NAMED,      /* |temp| exists and must go on failure or signal */
	SLOT_DIRECT,     /* a character device or FIFO, written in place */
	SLOT_COMMITTED,  /* |final| exists; removed on a signal while others are open */
};

struct slot {
	volatile sig_atomic_t state;
	int fd;
	unsigned flags;
	char final[PATH_MAX];
	char temp[2 * PATH_MAX + 32]; /* folder, "/.", name, "." suffix */
};

static struct slot slots[OUTFILE_MAX];
static bool handlers_on;
static struct sigaction saved[3];
static const int cleanup_signals[3] = {SIGINT, SIGTERM, SIGHUP};
static bool force_named; /* outfile_test_force_named */

void outfile_test_force_named(bool on)
{
	force_named = on;
}

static void on_signal(int sig)
{
	int saved_errno = errno;
	for (size_t i = 0; i < OUTFILE_MAX; i++) {
		if (slots[i].state == SLOT_NAMED)
			(void)unlink(slots[i].temp);
		else if (slots[i].state == SLOT_COMMITTED)
			(void)unlink(slots[i].final);
	}
	errno = saved_errno;
	/* die of the signal, as without the handler */
	(void)signal(sig, SIG_DFL);
	(void)raise(sig);
}

static void block_signals(sigset_t *old)
{
	sigset_t set;
	sigemptyset(&set);
	for (size_t i = 0; i < ARRAY_SIZE(cleanup_signals); i++)
		sigaddset(&set, cleanup_signals[i]);
	(void)sigprocmask(SIG_BLOCK, &set, old);
}

static void restore_signals(const sigset_t *old)
{
	(void)sigprocmask(SIG_SETMASK, old, NULL);
}

/* install_handlers runs with the signals blocked. A signal the caller
 * ignores (nohup) stays ignored. */
static void install_handlers(void)
{
	if (handlers_on)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(cleanup_signals); i++) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		for (size_t j = 0; j < ARRAY_SIZE(cleanup_signals); j++)
			sigaddset(&sa.sa_mask, cleanup_signals[j]);
		(void)sigaction(cleanup_signals[i], NULL, &saved[i]);
		if (saved[i].sa_handler == SIG_IGN)
			continue;
		(void)sigaction(cleanup_signals[i], &sa, NULL);
	}
	handlers_on = true;
}

/* settle_locked: once no file is open any more, the committed ones are
 * final and the handlers go. Runs with the signals blocked. */
static void settle_locked(void)
{
	for (size_t i = 0; i < OUTFILE_MAX; i++) {
		int st = slots[i].state;
		if (st == SLOT_UNNAMED || st == SLOT_NAMED || st == SLOT_DIRECT)
			return;
	}
	for (size_t i = 0; i < OUTFILE_MAX; i++)
		slots[i].state = SLOT_FREE;
	if (!handlers_on)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(cleanup_signals); i++)
		if (saved[i].sa_handler != SIG_IGN)
			(void)sigaction(cleanup_signals[i], &saved[i], NULL);
	handlers_on = false;
}

static struct slot *find_slot(int fd)
{
	for (size_t i = 0; i < OUTFILE_MAX; i++) {
		int st = slots[i].state;
		if ((st == SLOT_UNNAMED || st == SLOT_NAMED || st == SLOT_DIRECT) && slots[i].fd == fd)
			return &slots[i];
	}
	return NULL;
}

static struct slot *free_slot(void)
{
	for (size_t i = 0; i < OUTFILE_MAX; i++)
		if (slots[i].state == SLOT_FREE)
			return &slots[i];
	return NULL;
}

/* split_path writes the folder of |path| to |dir| and returns its last
 * component, or NULL (errno set) if it has none or is too long. */
static const char *split_path(const char *path, char dir[PATH_MAX])
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	if (*base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
		errno = EISDIR;
		return NULL;
	}
	if (strlen(path) + 16 >= PATH_MAX) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	if (slash == NULL)
		snprintf(dir, PATH_MAX, ".");
	else if (slash == path)
		snprintf(dir, PATH_MAX, "/");
	else
		snprintf(dir, PATH_MAX, "%.*s", (int)(slash - path), path);
	return base;
}

/* open_named creates |dir|/.|base|.XXXXXX with O_EXCL into |s|. The name
 * needs to be unguessable only so that two runs do not collide; O_EXCL
 * and O_NOFOLLOW keep anything planted there from being used. */
static int open_named(struct slot *s, const char *dir, const char *base, unsigned mode)
{
	static const char digits[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	for (int attempt = 0; attempt < 16; attempt++) {
		uint8_t rnd[6];
		char suffix[7];
		if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd)) {
			uint64_t t = now_ns() ^ ((uint64_t)getpid() << 20) ^ (uint64_t)attempt;
			memcpy(rnd, &t, sizeof(rnd));
		}
		for (size_t i = 0; i < 6; i++)
			suffix[i] = digits[rnd[i] % (sizeof(digits) - 1)];
		suffix[6] = '\0';
		snprintf(s->temp, sizeof(s->temp), "%s/.%s.%s", dir, base, suffix);
		s->state = SLOT_NAMED; /* before the file exists: a signal removes it */
		int fd = open(s->temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
			      (mode_t)mode);
		if (fd >= 0)
			return fd;
		s->state = SLOT_FREE;
		if (errno != EEXIST)
			return -1;
	}
	return -1;
}

int outfile_open(const char *path, unsigned mode, unsigned flags)
{
	struct stat st;
	char dir[PATH_MAX];
	sigset_t old;
	int fd = -1;

	if (path == NULL || *path == '\0') {
		errno = ENOENT;
		return -1;
	}
	/* what is there already decides: a device or FIFO (through a link,
	 * as /dev/stdout) is written in place, a folder is a mistake, and
	 * anything else is not overwritten */
	bool exists = lstat(path, &st) == 0;
	bool target = exists && stat(path, &st) == 0;
	if (target && S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		return -1;
	}
	bool direct = target && (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode));
	if (exists && !direct) {
		bool replaceable = (flags & OUTFILE_REPLACE) && (!target || S_ISREG(st.st_mode));
		if (!replaceable) {
			errno = target && !S_ISREG(st.st_mode) ? ENOTSUP : EEXIST;
			return -1;
		}
	}
	const char *base = split_path(path, dir);
	if (base == NULL)
		return -1;

	block_signals(&old);
	struct slot *s = free_slot();
	if (s == NULL) {
		errno = EMFILE;
		goto out;
	}
	memset(s->temp, 0, sizeof(s->temp));
	snprintf(s->final, sizeof(s->final), "%s", path);
	s->flags = flags;
	if (direct) {
		/* O_NONBLOCK would fail at once on a FIFO nobody reads yet: wait
		 * for the reader, as a shell redirection does */
		fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
		if (fd >= 0 && (fstat(fd, &st) != 0 || !(S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)))) {
			/* swapped for something else since the lstat */
			close(fd);
			fd = -1;
			errno = EEXIST;
		}
		if (fd >= 0)
			s->state = SLOT_DIRECT;
		goto out;
	}
	if (!force_named) {
		fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, (mode_t)mode);
		if (fd >= 0) {
			s->state = SLOT_UNNAMED;
			goto out;
		}
		/* EOPNOTSUPP: the file system has no O_TMPFILE; EISDIR or
		 * EINVAL: the kernel predates it (open(2)). Anything else
		 * (ENOENT, EACCES) is the caller's. */
		if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
			goto out;
	}
	fd = open_named(s, dir, base, mode);
	if (fd < 0)
		s->state = SLOT_FREE;
out:
	if (fd >= 0) {
		s->fd = fd;
		install_handlers();
	}
	{
		int e = errno;
		restore_signals(&old);
		errno = e;
	}
	return fd;
}

static void sync_dir(const char *path)
{
	char dir[PATH_MAX];
	if (split_path(path, dir) == NULL)
		return;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return;
	(void)fsync(dfd); /* best effort: some file systems refuse it */
	close(dfd);
}

/* link_into_place gives the file of |s| its final name. */
static int link_into_place(struct slot *s)
{
	if (s->state == SLOT_UNNAMED) {
		if (s->flags & OUTFILE_REPLACE) {
			/* linkat cannot replace: a temporary name, then rename */
			char dir[PATH_MAX];
			const char *base = split_path(s->final, dir);
			if (base == NULL)
				return -1;
			for (int attempt = 0; attempt < 16; attempt++) {
				snprintf(s->temp, sizeof(s->temp), "%s/.%s.%lx%x", dir, base,
					 (unsigned long)getpid(), (unsigned)attempt);
				s->state = SLOT_NAMED;
				char proc[64];
				snprintf(proc, sizeof(proc), "/proc/self/fd/%d", s->fd);
				if (linkat(s->fd, "", AT_FDCWD, s->temp, AT_EMPTY_PATH) == 0 ||
				    linkat(AT_FDCWD, proc, AT_FDCWD, s->temp, AT_SYMLINK_FOLLOW) == 0)
					break;
				s->state = SLOT_UNNAMED;
				if (errno != EEXIST)
					return -1;
			}
			if (s->state != SLOT_NAMED)
				return -1;
			return rename(s->temp, s->final);
		}
		if (linkat(s->fd, "", AT_FDCWD, s->final, AT_EMPTY_PATH) == 0)
			return 0;
		if (errno == EEXIST)
			return -1;
		/* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; /proc does not */
		char proc[64];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", s->fd);
		return linkat(AT_FDCWD, proc, AT_FDCWD, s->final, AT_SYMLINK_FOLLOW);
	}
	if (s->flags & OUTFILE_REPLACE)
		return rename(s->temp, s->final);
	if (renameat2(AT_FDCWD, s->temp, AT_FDCWD, s->final, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/* no RENAME_NOREPLACE here: link(2) fails with EEXIST just the same */
	if (link(s->temp, s->final) != 0)
		return -1;
	(void)unlink(s->temp);
	return 0;
}

err_t outfile_commit(int fd)
{
	err_t r = ERR_IO;
	sigset_t old;
	int e = 0;

	block_signals(&old);
	struct slot *s = find_slot(fd);
	if (s == NULL) {
		restore_signals(&old);
		errno = EBADF;
		return ERR_INVALID_ARG;
	}
	if (s->state == SLOT_DIRECT) {
		/* a device or FIFO has no name to give and may not fsync */
		r = close(fd) == 0 ? ERR_OK : ERR_IO;
		e = errno;
		s->state = SLOT_FREE;
		goto out;
	}
	if (fsync(fd) != 0) {
		e = errno;
		goto fail;
	}
	if (link_into_place(s) != 0) {
		e = errno;
		goto fail;
	}
	s->state = SLOT_COMMITTED;
	if (close(fd) != 0) {
		/* the data went out with fsync; a late error still counts */
		e = errno;
		(void)unlink(s->final);
		s->state = SLOT_FREE;
		goto out;
	}
	sync_dir(s->final);
	r = ERR_OK;
	goto out;
fail:
	if (s->state == SLOT_NAMED)
		(void)unlink(s->temp);
	(void)close(fd);
	s->state = SLOT_FREE;
out:
	settle_locked();
	restore_signals(&old);
	errno = e;
	return r;
}

void outfile_abort(int fd)
{
	sigset_t old;
	int e = errno;

	block_signals(&old);
	struct slot *s = find_slot(fd);
	if (s != NULL) {
		if (s->state == SLOT_NAMED)
			(void)unlink(s->temp);
		(void)close(fd);
		s->state = SLOT_FREE;
		settle_locked();
	}
	restore_signals(&old);
	errno = e;
}
