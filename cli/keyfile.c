/* cli/keyfile.c — files of key material for keygen, wrap and unwrap:
 * bounded reads into secure memory, private files created 0600 with
 * O_EXCL (never overwritten), and removal of anything half-written. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include <openssl/evp.h>

#include "keygen/keygen.h"

err_t cli_read_file(const char *cmd, const char *what, const char *path, size_t max,
		    struct cli_buf *out)
{
	err_t r = ERR_NOMEM;

	memset(out, 0, sizeof(*out));
	out->p = secmem_alloc(max, &r);
	if (out->p == NULL) {
		fprintf(stderr, "fount %s: %s\n", cmd, err_str(r));
		return r;
	}
	out->cap = max;
	r = file_read_bounded(path, out->p, out->cap, &out->len, NULL);
	switch (r) {
	case ERR_OK:
		if (out->len > 0)
			return ERR_OK;
		fprintf(stderr, "fount %s: %s %s is empty\n", cmd, what, path);
		r = ERR_TOO_LARGE;
		break;
	case ERR_IO:
		fprintf(stderr, "fount %s: cannot open %s %s: %s\n", cmd, what, path, strerror(errno));
		break;
	case ERR_INVALID_ARG:
		fprintf(stderr, "fount %s: %s %s is not a regular file\n", cmd, what, path);
		break;
	case ERR_TOO_LARGE:
		fprintf(stderr, "fount %s: %s %s is larger than %zu bytes\n", cmd, what, path, max);
		break;
	default:
		fprintf(stderr, "fount %s: cannot read %s %s: %s\n", cmd, what, path, strerror(errno));
		break;
	}
	cli_buf_free(out);
	return r;
}

void cli_buf_free(struct cli_buf *b)
{
	secmem_free(b->p, b->cap);
	memset(b, 0, sizeof(*b));
}

void cli_kek_free(struct cli_kek *k)
{
	cli_buf_free(&k->aes);
	EVP_PKEY_free(k->rsa);
	k->rsa = NULL;
}

err_t cli_kek_load(const char *cmd, const char *path, int alg, bool private_key,
		   struct cli_kek *k)
{
	struct cli_buf b;
	err_t r;

	memset(k, 0, sizeof(*k));
	k->alg = alg;
	if (alg != KEYGEN_WRAP_RSA_OAEP) {
		GUARD(cli_read_file(cmd, "KEK", path, 32, &k->aes));
		if (k->aes.len != 16 && k->aes.len != 24 && k->aes.len != 32) {
			fprintf(stderr, "fount %s: KEK %s must be a raw 16, 24 or 32-byte AES key, "
				"not %zu bytes\n", cmd, path, k->aes.len);
			cli_kek_free(k);
			return ERR_KEY_FORMAT;
		}
		return ERR_OK;
	}
	GUARD(cli_read_file(cmd, "KEK", path, KEYGEN_MAX_KEY_FILE, &b));
	r = keygen_pkey_decode(b.p, b.len, private_key ? KEYGEN_PART_PRIVATE : KEYGEN_PART_PUBLIC,
			       &k->rsa);
	cli_buf_free(&b);
	if (r == ERR_OK && !EVP_PKEY_is_a(k->rsa, "RSA"))
		r = ERR_KEY_FORMAT;
	if (r != ERR_OK) {
		fprintf(stderr, "fount %s: KEK %s is not an RSA %s key (%s, PEM or DER)\n", cmd, path,
			private_key ? "private" : "public",
			private_key ? "PKCS#8" : "SubjectPublicKeyInfo");
		cli_kek_free(k);
	}
	return r;
}

err_t cli_wrap(const char *cmd, const struct cli_kek *k, const uint8_t *key, size_t key_len,
	       uint8_t **out, size_t *out_len)
{
	err_t r;
	*out = NULL;
	*out_len = 0;
	if (k->alg == KEYGEN_WRAP_RSA_OAEP) {
		r = keygen_rsa_oaep_wrap(k->rsa, key, key_len, out, out_len);
		if (r == ERR_TOO_LARGE)
			fprintf(stderr, "fount %s: a %zu-byte key is too large for RSA-OAEP "
				"under this KEK; use kwp\n", cmd, key_len);
		else if (r != ERR_OK)
			fprintf(stderr, "fount %s: wrap failed: %s\n", cmd, err_str(r));
		return r;
	}
	size_t cap = keygen_aes_wrap_len((enum keygen_wrap_alg)k->alg, key_len);
	if (cap == 0) {
		fprintf(stderr, "fount %s: %s cannot wrap a %zu-byte key%s\n", cmd,
			k->alg == KEYGEN_WRAP_KW ? "kw" : "kwp", key_len,
			k->alg == KEYGEN_WRAP_KW ? " (it needs a multiple of 8 bytes, at least 16; use kwp)"
						 : " (too large)");
		return ERR_INVALID_ARG;
	}
	*out = malloc(cap);
	if (*out == NULL) {
		fprintf(stderr, "fount %s: %s\n", cmd, err_str(ERR_NOMEM));
		return ERR_NOMEM;
	}
	r = keygen_aes_wrap((enum keygen_wrap_alg)k->alg, k->aes.p, k->aes.len, key, key_len,
			    *out, cap, out_len);
	if (r != ERR_OK) {
		fprintf(stderr, "fount %s: wrap failed: %s\n", cmd, err_str(r));
		free(*out);
		*out = NULL;
	}
	return r;
}
