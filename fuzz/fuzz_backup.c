/* fuzz/fuzz_backup.c — the parser of `fount store import`: the first pass
 * of store_import (store/backup.c) over a hostile file, with no database:
 * the header, the KEK's meta rows (the check value is opened under a real
 * KEK file through seal_open_backup), every record with its bounds and
 * order, the counts and the MAC.
 *
 * Set-up, once: a KEK file of 32 bytes 0x5a in a fresh folder ($TMPDIR,
 * else /dev/shm, else /tmp; removed at a normal exit). The corpus holds
 * real backups exported from stores sealed under that KEK (made with
 * `fount store export`, FOUNT_STORE_KEK=file:<such a file>), so inputs
 * get past the check value and into the records; a mutation then fails at
 * the latest at the MAC.
 *
 * Input: the whole file. Checked for every input: the parser returns one
 * of the errors a damaged file may give, never another (no ERR_INTERNAL,
 * no I/O error on an in-memory file), and never reads more records than
 * its header announced. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz/fuzz.h"
#include "store/internal.h"

static char dir[256], kek_path[300], kek_spec[310];
/* inputs the parser accepted whole, printed at exit when FUZZ_STATS is
 * set (the corpus's real backups must be among them) */
static unsigned long n_ok, n_inputs;

static void print_stats(void)
{
	if (getenv("FUZZ_STATS") != NULL)
		fprintf(stderr, "fuzz_backup: %lu of %lu inputs accepted whole\n", n_ok, n_inputs);
}

static void remove_dir(void)
{
	unlink(kek_path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_keygen_once();
	const char *tmp = getenv("TMPDIR");
	if (tmp == NULL || tmp[0] == '\0')
		tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(dir, sizeof dir, "%s/fuzz_backup.XXXXXX", tmp);
	if (mkdtemp(dir) == NULL) {
		perror("fuzz_backup: mkdtemp");
		abort();
	}
	snprintf(kek_path, sizeof kek_path, "%s/store.kek", dir);
	snprintf(kek_spec, sizeof kek_spec, "file:%s", kek_path);
	uint8_t kek[32];
	memset(kek, 0x5a, sizeof kek);
	int fd = open(kek_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, kek, sizeof kek) != (ssize_t)sizeof kek) {
		perror("fuzz_backup: the KEK file");
		abort();
	}
	close(fd);
	atexit(remove_dir);
	atexit(print_stats);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* the parser reads a descriptor: an in-memory file */
	int fd = memfd_create("fuzz_backup", MFD_CLOEXEC);
	FUZZ_CHECK(fd >= 0);
	size_t off = 0;
	while (off < size) {
		ssize_t n = write(fd, data + off, size - off);
		FUZZ_CHECK(n > 0);
		off += (size_t)n;
	}
	FUZZ_CHECK(lseek(fd, 0, SEEK_SET) == 0);
	uint64_t objects = 0, attrs = 0, access_n = 0;
	err_t e = store_backup_parse_for_fuzzing(fd, kek_spec, &objects, &attrs, &access_n);
	close(fd);
	n_inputs++;
	n_ok += e == ERR_OK;
	FUZZ_CHECK(e == ERR_OK || e == ERR_STORE_BACKUP || e == ERR_STORE_KEK || e == ERR_STORE_SCHEMA ||
		   e == ERR_NOMEM);
	if (size >= 88 && e != ERR_OK) {
		/* what was read never exceeds what the header announced */
		uint64_t h_objects = 0, h_attrs = 0, h_access = 0;
		for (int i = 0; i < 8; i++) {
			h_objects = h_objects << 8 | data[48 + i];
			h_attrs = h_attrs << 8 | data[56 + i];
			h_access = h_access << 8 | data[72 + i];
		}
		FUZZ_CHECK(objects <= h_objects && attrs <= h_attrs && access_n <= h_access);
	}
	return 0;
}

FUZZ_REPLAY_MAIN("fuzz_backup")
