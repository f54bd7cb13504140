/* store/seal.c — the store's key-encryption key and the sealing of key
 * material at rest: the only file of store/ that sees plaintext keys.
 *
 * A sealed record is version (1 byte) || IV (12) || AES-256-GCM ciphertext
 * || tag (16) (keygen_aead_seal, SP 800-38D), with associated data
 * "fount-store" 0x00 || version || object type (4 bytes, big-endian) ||
 * identifier: a record copied to another identifier, or relabelled with
 * another type, fails its tag check. SQLite has no page checksums, and a
 * bit flipped inside a BLOB passes integrity_check, so this tag is what
 * finds damage (store-ha.md §1.3).
 *
 * The KEK: file:PATH (32 bytes, 0600, made on first start from
 * drbg_generate_pr) or hsm:LABEL (a data key made here once, kept in the
 * database wrapped by the HSM's KEK LABEL). The database keeps a check
 * value, a known block sealed under the KEK, so a database opened with
 * another KEK is refused at open rather than at the first Get. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hsm/hsm.h"
#include "keygen/keygen.h"
#include "store/internal.h"

struct store_seal {
	uint8_t kek[STORE_KEK_LEN];
};

#define META_CHECK "kek_check"
#define META_WRAPPED "kek_hsm_wrapped"
#define META_SOURCE "kek_source"
static const char check_aad[] = "fount-store-kek-check";

/* ---- the KEK file ---------------------------------------------------------- */

static err_t fsync_dir_of(const char *path)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return ERR_IO;
	int rc = fsync(fd);
	close(fd);
	return rc == 0 ? ERR_OK : ERR_IO;
}

/* kek_file_create writes a new KEK to |path| (O_EXCL, 0600, synced). */
static err_t kek_file_create(const char *path, uint8_t *kek, char *errbuf, size_t errlen)
{
	err_t r = drbg_generate_pr(kek, STORE_KEK_LEN);
	if (r != ERR_OK) {
		snprintf(errbuf, errlen, "store: cannot draw a new KEK for %s: %s", path, err_str(r));
		return r;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(errbuf, errlen, "store: cannot create KEK file %s: %s", path, strerror(errno));
		return ERR_IO;
	}
	ssize_t n = write(fd, kek, STORE_KEK_LEN);
	int ok = n == (ssize_t)STORE_KEK_LEN && fsync(fd) == 0;
	int e = errno;
	close(fd);
	if (!ok || fsync_dir_of(path) != ERR_OK) {
		unlink(path);
		snprintf(errbuf, errlen, "store: cannot write KEK file %s: %s", path,
			 strerror(ok ? errno : e));
		return ERR_IO;
	}
	log_info("created the key store's KEK file %s (0600)", path);
	return ERR_OK;
}

/* kek_file_load reads |path|, refusing a mode wider than 0600 or a size
 * other than 32; creates it when missing and |may_create|. */
static err_t kek_file_load(const char *path, bool may_create, uint8_t *kek, char *errbuf,
			   size_t errlen)
{
	struct stat st;
	if (lstat(path, &st) != 0) {
		if (errno == ENOENT && may_create)
			return kek_file_create(path, kek, errbuf, errlen);
		snprintf(errbuf, errlen, "store: KEK file %s: %s%s", path, strerror(errno),
			 errno == ENOENT ? " (the database was sealed under it: restore it)" : "");
		return ERR_STORE_KEK;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(errbuf, errlen, "store: KEK file %s is not a regular file", path);
		return ERR_STORE_KEK;
	}
	if ((st.st_mode & 0077) != 0) {
		snprintf(errbuf, errlen, "store: KEK file %s has mode %04o, wider than 0600 (chmod 600 %s)",
			 path, (unsigned)(st.st_mode & 07777), path);
		return ERR_STORE_KEK;
	}
	if (st.st_size != STORE_KEK_LEN) {
		snprintf(errbuf, errlen, "store: KEK file %s holds %lld bytes, not %d", path,
			 (long long)st.st_size, STORE_KEK_LEN);
		return ERR_STORE_KEK;
	}
	size_t n = 0;
	err_t r = file_read_bounded(path, kek, STORE_KEK_LEN, &n, NULL);
	if (r != ERR_OK || n != STORE_KEK_LEN) {
		snprintf(errbuf, errlen, "store: cannot read KEK file %s: %s", path,
			 r != ERR_OK ? err_str(r) : "short read");
		return ERR_STORE_KEK;
	}
	return ERR_OK;
}

/* ---- metadata writes through the group commit ------------------------------ */

struct meta_write {
	const struct store_backend_ops *ops;
	const char *k1, *k2, *k3;
	const uint8_t *v1, *v2, *v3;
	size_t l1, l2, l3;
};

static err_t apply_meta(struct store_txn *t, void *ctx)
{
	const struct meta_write *m = ctx;
	GUARD(m->ops->txn_meta_put(t, m->k1, m->v1, m->l1));
	GUARD(m->ops->txn_meta_put(t, m->k2, m->v2, m->l2));
	if (m->k3 != NULL)
		GUARD(m->ops->txn_meta_put(t, m->k3, m->v3, m->l3));
	return ERR_OK;
}

err_t seal_open(const char *spec, struct hsm *hsm, const struct store_backend_ops *ops,
		struct store_backend *b, const char *db_path, struct store_seal **out,
		char *errbuf, size_t errlen)
{
	err_t r;
	uint8_t check[128], wrapped[HSM_WRAPPED_MAX];
	size_t check_len = 0, wrapped_len = 0;
	bool have_check, have_wrapped;
	struct store_seal *s = secmem_alloc(sizeof(*s), &r);
	*out = NULL;
	if (s == NULL) {
		snprintf(errbuf, errlen, "store: no secure memory for the KEK: %s", err_str(r));
		return r;
	}

	r = ops->meta_get(b, META_CHECK, check, sizeof(check), &check_len);
	if (r != ERR_OK && r != ERR_STORE_NOT_FOUND)
		goto db_fail;
	have_check = r == ERR_OK;
	r = ops->meta_get(b, META_WRAPPED, wrapped, sizeof(wrapped), &wrapped_len);
	if (r != ERR_OK && r != ERR_STORE_NOT_FOUND)
		goto db_fail;
	have_wrapped = r == ERR_OK;

	if (strncmp(spec, "file:", 5) == 0 && spec[5] != '\0') {
		if (have_wrapped) {
			snprintf(errbuf, errlen, "store: %s was sealed under an HSM KEK (hsm:LABEL), not %s",
				 db_path, spec);
			r = ERR_STORE_KEK;
			goto out;
		}
		GUARD_GOTO(kek_file_load(spec + 5, !have_check, s->kek, errbuf, errlen));
	} else if (strncmp(spec, "hsm:", 4) == 0 && spec[4] != '\0') {
		const char *label = spec + 4;
		if (hsm == NULL) {
			snprintf(errbuf, errlen, "store: kek = %s needs an HSM ([hsm] module)", spec);
			r = ERR_CONFIG;
			goto out;
		}
		if (have_wrapped) {
			size_t n = 0;
			r = hsm_kek_unwrap(hsm, label, wrapped, wrapped_len, s->kek, sizeof(s->kek), &n);
			if (r != ERR_OK || n != STORE_KEK_LEN) {
				snprintf(errbuf, errlen,
					 "store: the HSM KEK %s cannot unwrap %s's data key: %s", label,
					 db_path, r != ERR_OK ? err_str(r) : "wrong length");
				r = ERR_STORE_KEK;
				goto out;
			}
		} else if (have_check) {
			snprintf(errbuf, errlen, "store: %s was sealed under a KEK file, not %s",
				 db_path, spec);
			r = ERR_STORE_KEK;
			goto out;
		} else {
			r = drbg_generate_pr(s->kek, sizeof(s->kek));
			if (r == ERR_OK)
				r = hsm_kek_wrap(hsm, label, s->kek, sizeof(s->kek), wrapped,
						 sizeof(wrapped), &wrapped_len);
			if (r != ERR_OK) {
				snprintf(errbuf, errlen, "store: cannot wrap a new data key under HSM KEK %s: %s",
					 label, err_str(r));
				goto out;
			}
		}
	} else {
		snprintf(errbuf, errlen, "store: kek = '%s': want file:PATH or hsm:LABEL", spec);
		r = ERR_CONFIG;
		goto out;
	}

	static const uint8_t zero[32];
	if (have_check) {
		uint8_t plain[sizeof(check)];
		size_t n = 0;
		r = keygen_aead_open(s->kek, sizeof(s->kek), (const uint8_t *)check_aad,
				     sizeof(check_aad) - 1, check, check_len, plain, sizeof(plain), &n);
		bool ok = r == ERR_OK && n == sizeof(zero) && ct_memeq(plain, zero, n);
		secure_zero(plain, sizeof(plain));
		if (!ok) {
			uint8_t src[600];
			size_t sl = 0;
			if (ops->meta_get(b, META_SOURCE, src, sizeof(src) - 1, &sl) != ERR_OK)
				sl = 0;
			src[sl] = '\0';
			snprintf(errbuf, errlen,
				 "store: %s was sealed under a different key-encryption key than kek = %s%s%s%s",
				 db_path, spec, sl ? " (it was made with kek = " : "", (char *)src,
				 sl ? ")" : "");
			r = r == ERR_NOT_OPERATIONAL ? r : ERR_STORE_KEK;
			goto out;
		}
	} else {
		r = keygen_aead_seal(s->kek, sizeof(s->kek), (const uint8_t *)check_aad,
				     sizeof(check_aad) - 1, zero, sizeof(zero), check, sizeof(check),
				     &check_len);
		if (r != ERR_OK) {
			snprintf(errbuf, errlen, "store: cannot seal the KEK check value: %s", err_str(r));
			goto out;
		}
		struct meta_write m = {ops, META_CHECK, META_SOURCE, NULL, check,
				       (const uint8_t *)spec, NULL, check_len, strlen(spec), 0};
		if (!have_wrapped && strncmp(spec, "hsm:", 4) == 0) {
			m.k3 = META_WRAPPED;
			m.v3 = wrapped;
			m.l3 = wrapped_len;
		}
		r = ops->submit(b, apply_meta, &m);
		if (r != ERR_OK)
			goto db_fail;
	}
	*out = s;
	return ERR_OK;

db_fail:
	snprintf(errbuf, errlen, "store: %s: cannot read or write the KEK metadata: %s", db_path,
		 err_str(r));
out:
	secmem_free(s, sizeof(*s));
	return r;
}

void seal_close(struct store_seal *s)
{
	if (s != NULL)
		secmem_free(s, sizeof(*s));
}

/* ---- records --------------------------------------------------------------- */

#define AAD_MAX (12 + 1 + 4 + STORE_ID_MAX)

static size_t make_aad(uint8_t *aad, const char *id, uint32_t type)
{
	static const char tag[12] = "fount-store"; /* with its NUL */
	size_t idl = strnlen(id, STORE_ID_MAX);
	memcpy(aad, tag, sizeof(tag));
	aad[12] = STORE_SEAL_VERSION;
	aad[13] = (uint8_t)(type >> 24);
	aad[14] = (uint8_t)(type >> 16);
	aad[15] = (uint8_t)(type >> 8);
	aad[16] = (uint8_t)type;
	memcpy(aad + 17, id, idl);
	return 17 + idl;
}

err_t seal_material(const struct store_seal *s, const char *id, uint32_t type,
		    const uint8_t *in, size_t in_len, uint8_t *out, size_t cap, size_t *out_len,
		    uint8_t digest[STORE_DIGEST_LEN])
{
	uint8_t aad[AAD_MAX];
	size_t n = 0;
	*out_len = 0;
	ENSURE(in_len <= STORE_MATERIAL_MAX, ERR_TOO_LARGE);
	ENSURE(cap >= in_len + STORE_SEAL_OVERHEAD, ERR_TOO_LARGE);
	GUARD(keygen_sha256(in, in_len, digest));
	size_t al = make_aad(aad, id, type);
	out[0] = STORE_SEAL_VERSION;
	GUARD(keygen_aead_seal(s->kek, sizeof(s->kek), aad, al, in, in_len, out + 1, cap - 1, &n));
	*out_len = n + 1;
	return ERR_OK;
}

err_t seal_unseal(const struct store_seal *s, const char *id, uint32_t type,
		  const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len)
{
	uint8_t aad[AAD_MAX];
	err_t r;
	*out = NULL;
	*out_len = 0;
	ENSURE(in_len >= STORE_SEAL_OVERHEAD && in[0] == STORE_SEAL_VERSION, ERR_STORE_SEAL);
	size_t cap = in_len - STORE_SEAL_OVERHEAD, n = 0;
	uint8_t *p = secmem_alloc(cap ? cap : 1, &r);
	if (p == NULL)
		return r;
	size_t al = make_aad(aad, id, type);
	r = keygen_aead_open(s->kek, sizeof(s->kek), aad, al, in + 1, in_len - 1, p, cap ? cap : 1,
			     &n);
	if (r != ERR_OK) {
		secmem_free(p, cap ? cap : 1);
		return r == ERR_NOT_OPERATIONAL ? r : ERR_STORE_SEAL;
	}
	if (n == 0) { /* empty material: nothing to hand out */
		secmem_free(p, 1);
		return ERR_OK;
	}
	*out = p;
	*out_len = n;
	return ERR_OK;
}

err_t seal_check(const struct store_seal *s, const struct store_row *row, const uint8_t *in,
		 size_t in_len)
{
	uint8_t *p = NULL, d[STORE_DIGEST_LEN];
	size_t n = 0;
	GUARD(seal_unseal(s, row->id, row->type, in, in_len, &p, &n));
	err_t r = keygen_sha256(p, n, d);
	secmem_free(p, n);
	GUARD(r);
	ENSURE(row->has_digest && ct_memeq(d, row->digest, sizeof(d)), ERR_STORE_SEAL);
	return ERR_OK;
}

/* ---- backups ------------------------------------------------------------------ */

const char *const seal_meta_names[] = {META_CHECK, META_WRAPPED, META_SOURCE, NULL};

static const struct seal_meta *meta_find(const struct seal_meta *m, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(m[i].key, key) == 0)
			return &m[i];
	return NULL;
}

err_t seal_open_backup(const char *spec, struct hsm *hsm, const struct seal_meta *m, size_t n,
		       struct store_seal **out, char *errbuf, size_t errlen)
{
	err_t r;
	*out = NULL;
	const struct seal_meta *check = meta_find(m, n, META_CHECK);
	const struct seal_meta *wrapped = meta_find(m, n, META_WRAPPED);
	const struct seal_meta *src = meta_find(m, n, META_SOURCE);
	char made[96] = "";
	/* the spec the backup's store was made with, for the messages: printable
	 * bytes only (it comes from the file) */
	if (src != NULL) {
		size_t k = 0;
		for (size_t i = 0; i < src->len && k + 1 < sizeof(made); i++)
			made[k++] = src->value[i] >= 0x20 && src->value[i] < 0x7f ? (char)src->value[i] : '?';
		made[k] = '\0';
	}
	if (check == NULL) {
		snprintf(errbuf, errlen, "store: the backup has no KEK check value");
		return ERR_STORE_BACKUP;
	}
	struct store_seal *s = secmem_alloc(sizeof(*s), &r);
	if (s == NULL) {
		snprintf(errbuf, errlen, "store: no secure memory for the KEK: %s", err_str(r));
		return r;
	}
	if (strncmp(spec, "file:", 5) == 0 && spec[5] != '\0') {
		if (wrapped != NULL) {
			snprintf(errbuf, errlen, "store: the backup was sealed under an HSM KEK (kek = %s), not %s",
				 made[0] ? made : "hsm:LABEL", spec);
			r = ERR_STORE_KEK;
			goto out;
		}
		/* never created here: a new KEK could not open the backup */
		GUARD_GOTO(kek_file_load(spec + 5, false, s->kek, errbuf, errlen));
	} else if (strncmp(spec, "hsm:", 4) == 0 && spec[4] != '\0') {
		if (hsm == NULL) {
			snprintf(errbuf, errlen, "store: kek = %s needs an HSM ([hsm] module)", spec);
			r = ERR_CONFIG;
			goto out;
		}
		if (wrapped == NULL) {
			snprintf(errbuf, errlen, "store: the backup was sealed under a KEK file (kek = %s), not %s",
				 made[0] ? made : "file:PATH", spec);
			r = ERR_STORE_KEK;
			goto out;
		}
		size_t kl = 0;
		r = hsm_kek_unwrap(hsm, spec + 4, wrapped->value, wrapped->len, s->kek, sizeof(s->kek), &kl);
		if (r != ERR_OK || kl != STORE_KEK_LEN) {
			snprintf(errbuf, errlen, "store: the HSM KEK %s cannot unwrap the backup's data key: %s",
				 spec + 4, r != ERR_OK ? err_str(r) : "wrong length");
			r = ERR_STORE_KEK;
			goto out;
		}
	} else {
		snprintf(errbuf, errlen, "store: kek = '%s': want file:PATH or hsm:LABEL", spec);
		r = ERR_CONFIG;
		goto out;
	}
	static const uint8_t zero[32];
	uint8_t plain[128];
	size_t pl = 0;
	r = check->len <= sizeof(plain) + KEYGEN_AEAD_OVERHEAD
		    ? keygen_aead_open(s->kek, sizeof(s->kek), (const uint8_t *)check_aad, sizeof(check_aad) - 1,
				       check->value, check->len, plain, sizeof(plain), &pl)
		    : ERR_UNWRAP;
	bool ok = r == ERR_OK && pl == sizeof(zero) && ct_memeq(plain, zero, pl);
	secure_zero(plain, sizeof(plain));
	if (!ok) {
		snprintf(errbuf, errlen,
			 "store: the backup was sealed under a different key-encryption key than kek = %s%s%s%s",
			 spec, made[0] ? " (it was made with kek = " : "", made, made[0] ? ")" : "");
		r = r == ERR_NOT_OPERATIONAL ? r : ERR_STORE_KEK;
		goto out;
	}
	*out = s;
	return ERR_OK;
out:
	secmem_free(s, sizeof(*s));
	return r;
}

err_t seal_backup_mac(const struct store_seal *s, const uint8_t nonce[SEAL_BACKUP_NONCE_LEN],
		      struct keygen_hmac **out)
{
	/* SP 800-108r1 §4.1: K_out = PRF(K_in, [i]_32 || Label || 0x00 ||
	 * Context || [L]_32) with i = 1 and L = 256 (one HMAC-SHA-256 block) */
	static const char label[] = "fount-store-backup-mac";
	uint8_t in[4 + sizeof(label) + SEAL_BACKUP_NONCE_LEN + 4], key[KEYGEN_SHA256_LEN];
	size_t n = 0;
	struct keygen_hmac *prf = NULL;
	*out = NULL;
	in[n++] = 0, in[n++] = 0, in[n++] = 0, in[n++] = 1;
	memcpy(in + n, label, sizeof(label)); /* with its NUL: the 0x00 separator */
	n += sizeof(label);
	memcpy(in + n, nonce, SEAL_BACKUP_NONCE_LEN);
	n += SEAL_BACKUP_NONCE_LEN;
	in[n++] = 0, in[n++] = 0, in[n++] = 1, in[n++] = 0;
	err_t r = keygen_hmac_new(s->kek, sizeof(s->kek), &prf);
	if (r == ERR_OK)
		r = keygen_hmac_update(prf, in, n);
	if (r == ERR_OK)
		r = keygen_hmac_final(prf, key);
	keygen_hmac_free(prf);
	if (r == ERR_OK)
		r = keygen_hmac_new(key, sizeof(key), out);
	secure_zero(key, sizeof(key));
	return r;
}
